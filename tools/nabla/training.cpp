#include "training.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include <nabla/autograd/grad_mode.h>
#include <nabla/io/atomic_file.h>
#include <nabla/ops/nn.h>
#include <nabla/ops/reduction.h>

namespace nabla::cli {

Evaluation evaluate(nn::Module& model, const Tensor& images, const Tensor& labels, std::int64_t batch,
                    std::vector<std::int64_t>* confusion, std::int64_t classes) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const std::int64_t n = images.shape()[0];
  double loss_sum = 0;
  std::int64_t correct = 0;
  if (confusion) confusion->assign(static_cast<std::size_t>(classes * classes), 0);
  for (std::int64_t start = 0; start < n; start += batch) {
    const std::int64_t len = std::min(batch, n - start);
    const Tensor x = images.narrow(0, start, len), y = labels.narrow(0, start, len);
    const Tensor logits = model(x);
    loss_sum += cross_entropy(logits, y, Reduction::Sum).item<double>();
    const auto predicted = argmax(logits, 1).to_vector<std::int64_t>();
    const auto truth = y.to_vector<std::int64_t>();
    for (std::size_t i = 0; i < truth.size(); ++i) {
      correct += predicted[i] == truth[i];
      if (confusion) (*confusion)[static_cast<std::size_t>(truth[i] * classes + predicted[i])] += 1;
    }
  }
  model.train(was_training);
  return {n ? loss_sum / static_cast<double>(n) : 0.0, n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0};
}

int remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  // The names io::AtomicFile (behind --metrics, --plot and --save) gives its temporary files.
  const std::string prefix = io::temporary_prefix(path);
  std::vector<fs::path> stale;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() == prefix.size() + 6 && name.compare(0, prefix.size(), prefix) == 0 && it->is_regular_file(ec))
      stale.push_back(it->path());
  }
  int removed = 0;
  for (const auto& p : stale) removed += fs::remove(p, ec) ? 1 : 0;
  return removed;
}

std::string metrics_csv(const std::vector<EpochMetrics>& rows) {
  std::string out = "epoch,train_loss,train_acc,test_loss,test_acc,epoch_seconds\n";
  for (const auto& r : rows)
    out += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.3f}\n", r.epoch, r.train_loss, r.train_acc, r.test_loss,
                       r.test_acc, r.epoch_seconds);
  return out;
}

std::vector<EpochMetrics> parse_metrics_csv(const std::string& text) {
  std::vector<EpochMetrics> rows;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    EpochMetrics m;
    long long epoch = 0;
    if (std::sscanf(line.c_str(), "%lld,%lf,%lf,%lf,%lf,%lf", &epoch, &m.train_loss, &m.train_acc, &m.test_loss,
                    &m.test_acc, &m.epoch_seconds) != 6)
      throw Error(fmt::format("checkpoint: malformed metrics line \"{}\"", line));
    m.epoch = epoch;
    rows.push_back(m);
  }
  return rows;
}

namespace {
// One chart panel: series of (epoch, value) as polylines with axes and a legend.
std::string panel(const std::vector<EpochMetrics>& rows, double x0, const std::string& title,
                  double EpochMetrics::*train, double EpochMetrics::*test) {
  const double w = 380, h = 260, left = x0 + 50, top = 40, right = x0 + w - 10, bottom = top + h - 50;
  double lo = 1e300, hi = -1e300;
  for (const auto& r : rows) {
    lo = std::min({lo, r.*train, r.*test});
    hi = std::max({hi, r.*train, r.*test});
  }
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const double pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const auto n = static_cast<double>(std::max<std::size_t>(rows.size(), 2) - 1);
  auto px = [&](std::size_t i) { return left + (right - left) * static_cast<double>(i) / n; };
  auto py = [&](double v) { return bottom - (bottom - top) * (v - lo) / (hi - lo); };
  std::string s = fmt::format("<text x='{}' y='24' font-size='15' font-weight='bold'>{}</text>\n", left, title);
  s += fmt::format("<rect x='{}' y='{}' width='{}' height='{}' fill='none' stroke='#888'/>\n", left, top, right - left, bottom - top);
  for (int k = 0; k <= 4; ++k) {
    const double v = lo + (hi - lo) * k / 4.0;
    s += fmt::format("<text x='{}' y='{}' font-size='10' text-anchor='end'>{:.3f}</text>\n", left - 4, py(v) + 3, v);
  }
  for (std::size_t i = 0; i < rows.size(); ++i)
    s += fmt::format("<text x='{}' y='{}' font-size='10' text-anchor='middle'>{}</text>\n", px(i), bottom + 14, rows[i].epoch);
  s += fmt::format("<text x='{}' y='{}' font-size='11' text-anchor='middle'>epoch</text>\n", (left + right) / 2, bottom + 30);
  const std::pair<double EpochMetrics::*, const char*> series[] = {{train, "#1f77b4"}, {test, "#d62728"}};
  for (const auto& [member, color] : series) {
    std::string points;
    for (std::size_t i = 0; i < rows.size(); ++i) points += fmt::format("{:.1f},{:.1f} ", px(i), py(rows[i].*member));
    s += fmt::format("<polyline fill='none' stroke='{}' stroke-width='2' points='{}'/>\n", color, points);
    for (std::size_t i = 0; i < rows.size(); ++i)
      s += fmt::format("<circle cx='{:.1f}' cy='{:.1f}' r='3' fill='{}'/>\n", px(i), py(rows[i].*member), color);
  }
  s += fmt::format("<text x='{}' y='{}' font-size='11' fill='#1f77b4'>train</text>", right - 80, top + 14);
  s += fmt::format("<text x='{}' y='{}' font-size='11' fill='#d62728'>test</text>\n", right - 40, top + 14);
  return s;
}
}  // namespace

std::string metrics_svg(const std::vector<EpochMetrics>& rows) {
  std::string s = "<svg xmlns='http://www.w3.org/2000/svg' width='780' height='270' font-family='sans-serif'>\n";
  s += "<rect width='100%' height='100%' fill='white'/>\n";
  s += panel(rows, 0, "loss", &EpochMetrics::train_loss, &EpochMetrics::test_loss);
  s += panel(rows, 390, "accuracy", &EpochMetrics::train_acc, &EpochMetrics::test_acc);
  return s + "</svg>\n";
}

Progress::Progress(std::int64_t epoch, std::int64_t epochs, std::int64_t batches, bool terminal)
    : epoch_(epoch), epochs_(epochs), batches_(batches), terminal_(terminal) {}

void Progress::update(std::int64_t done, double loss, std::int64_t samples, double seconds) {
  const double rate = seconds > 0 ? static_cast<double>(samples) / seconds : 0.0;
  const double eta = done > 0 ? seconds * static_cast<double>(batches_ - done) / static_cast<double>(done) : 0.0;
  if (terminal_) {
    if (seconds - last_draw_ < 0.1 && done != batches_) return;
    last_draw_ = seconds;
    const int width = 30;
    const int filled = static_cast<int>(width * done / std::max<std::int64_t>(batches_, 1));
    std::string bar(static_cast<std::size_t>(filled), '=');
    if (filled < width) bar += '>' + std::string(static_cast<std::size_t>(width - filled - 1), ' ');
    fmt::print("\repoch {}/{} [{}] {:3d}% loss {:.4f} {:.0f} samples/s ETA {:.0f}s ", epoch_, epochs_, bar,
               100 * done / std::max<std::int64_t>(batches_, 1), loss, rate, eta);
    std::fflush(stdout);
    return;
  }
  // Not a terminal: a plain line at every tenth of the epoch.
  if (done * 10 < next_plain_ * batches_) return;
  while (done * 10 >= next_plain_ * batches_) ++next_plain_;
  fmt::print("epoch {}/{} batch {}/{} loss {:.4f} {:.0f} samples/s ETA {:.0f}s\n", epoch_, epochs_, done, batches_, loss,
             rate, eta);
  std::fflush(stdout);
}

void Progress::finish() {
  if (terminal_) fmt::print("\r{}\r", std::string(100, ' '));
}

}  // namespace nabla::cli
