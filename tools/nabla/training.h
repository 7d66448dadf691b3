#pragma once
// Pieces of `nabla train` and `nabla eval`: evaluation, progress display, metrics and plots, and
// cleaning up after a killed run (outputs themselves are written with io::write_file_atomically).
#include <cstdint>
#include <string>
#include <vector>

#include <nabla/core/tensor.h>
#include <nabla/nn/module.h>

namespace nabla::cli {

/// One epoch's figures, as written to --metrics.
struct EpochMetrics {
  std::int64_t epoch = 0;
  double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0, epoch_seconds = 0;
};

/// Loss and accuracy of `model` on (images, labels) in eval mode, in batches; fills `confusion`
/// (classes x classes, row = true class) when given.
struct Evaluation {
  double loss = 0, accuracy = 0;
};
Evaluation evaluate(nn::Module& model, const Tensor& images, const Tensor& labels, std::int64_t batch,
                    std::vector<std::int64_t>* confusion = nullptr, std::int64_t classes = 10);

/// Removes the temporary files (".NAME.tmp-XXXXXX" beside `path`) that an atomic write of `path`
/// leaves when the process is killed mid-write (SIGKILL, power loss); returns how many were removed.
int remove_stale_temporaries(const std::string& path);
/// The --metrics CSV: header epoch,train_loss,train_acc,test_loss,test_acc,epoch_seconds.
std::string metrics_csv(const std::vector<EpochMetrics>& rows);
/// Parses metrics_csv output back (for --resume).
std::vector<EpochMetrics> parse_metrics_csv(const std::string& text);
/// An SVG picture with loss and accuracy per epoch (train and test).
std::string metrics_svg(const std::vector<EpochMetrics>& rows);

/// A progress display for one epoch: a bar redrawn in place on a terminal, a few plain lines otherwise.
class Progress {
 public:
  Progress(std::int64_t epoch, std::int64_t epochs, std::int64_t batches, bool terminal);
  /// After batch `done` (1-based) with the running loss and the samples processed so far.
  void update(std::int64_t done, double loss, std::int64_t samples, double seconds);
  /// Ends the display (clears the bar on a terminal).
  void finish();

 private:
  std::int64_t epoch_, epochs_, batches_;
  bool terminal_;
  std::int64_t next_plain_ = 1;
  double last_draw_ = -1;
};

}  // namespace nabla::cli
