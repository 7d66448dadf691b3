// Optimizers with PyTorch 1.13's update rules, written as one fused loop per parameter over raw
// memory (no graph, no temporaries), and the learning-rate schedules.
#include <nabla/optim/optim.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nabla/autograd/grad_mode.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/reduction.h>

#include "core/parallel.h"

namespace nabla::optim {
namespace {
// Calls f(T*) with T float or double for a floating tensor.
template <class F>
void with_type(const Tensor& t, F&& f) {
  if (t.dtype() == kFloat32) f.template operator()<float>();
  else if (t.dtype() == kFloat64) f.template operator()<double>();
  else throw Error(fmt::format("optimizer: parameters must be float32 or float64, got {}", dtype_name(t.dtype())));
}
}  // namespace

Optimizer::Optimizer(std::vector<Tensor> params, double lr, const char* name)
    : params_(std::move(params)), lr_(lr), name_(name) {
  if (!(lr >= 0.0)) throw Error(fmt::format("{}: learning rate must be non-negative, got {}", name, lr));
  if (params_.empty()) throw Error(fmt::format("{}: got an empty parameter list (nothing to optimise)", name));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    if (!p.defined() || !p.requires_grad() || !p.is_leaf() || !p.is_contiguous())
      throw Error(fmt::format("{}: parameter {} must be a contiguous leaf tensor that requires grad", name, i));
    if (!is_floating(p.dtype()))
      throw Error(fmt::format("{}: parameter {} has dtype {}; only float32 and float64 can be optimised", name, i,
                              dtype_name(p.dtype())));
  }
  steps_.assign(params_.size(), 0);
}

void Optimizer::set_lr(double lr) {
  if (!(lr >= 0.0)) throw Error(fmt::format("{}: learning rate must be non-negative, got {}", name_, lr));
  lr_ = lr;
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.reset_grad();
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Tensor grad = params_[i].grad();
    if (!grad.defined()) continue;
    ++steps_[i];
    Tensor g = grad.contiguous();
    update(i, params_[i], g);
    params_[i].bump_version();  // written through data_ptr: saved copies in old graphs are now stale
  }
}

Tensor& Optimizer::slot(const char* name, std::size_t i) {
  for (auto& [n, tensors] : slots_)
    if (n == name) {
      if (!tensors[i].defined()) tensors[i] = zeros_like(params_[i]);
      return tensors[i];
    }
  slots_.emplace_back(name, std::vector<Tensor>(params_.size()));
  auto& t = slots_.back().second[i];
  t = zeros_like(params_[i]);
  return t;
}

nn::NamedTensors Optimizer::state() const {
  nn::NamedTensors out;
  out.emplace_back("step", tensor(std::vector<std::int64_t>(steps_.begin(), steps_.end()),
                                  {static_cast<std::int64_t>(steps_.size())}));
  for (const auto& [n, tensors] : slots_)
    for (std::size_t i = 0; i < tensors.size(); ++i)
      if (tensors[i].defined()) out.emplace_back(fmt::format("{}.{}", n, i), tensors[i]);
  return out;
}

void Optimizer::load_state(const nn::NamedTensors& state) {
  for (const auto& [name, t] : state) {
    if (name == "step") {
      if (t.dtype() != kInt64 || t.numel() != static_cast<std::int64_t>(steps_.size()))
        throw Error(fmt::format("{}: state 'step' must be int64 with {} entries, got {} {}", name_, steps_.size(),
                                dtype_name(t.dtype()), t.shape_string()));
      const auto v = t.to_vector<std::int64_t>();
      steps_.assign(v.begin(), v.end());
      continue;
    }
    const auto dot = name.rfind('.');
    std::size_t index = 0;
    if (dot == std::string::npos || std::sscanf(name.c_str() + dot + 1, "%zu", &index) != 1 || index >= params_.size())
      throw Error(fmt::format("{}: unexpected state entry '{}'", name_, name));
    const std::string slot_name = name.substr(0, dot);
    if (t.shape() != params_[index].shape() || t.dtype() != params_[index].dtype())
      throw Error(fmt::format("{}: state '{}' is {} {} but parameter {} is {} {}", name_, name, dtype_name(t.dtype()),
                              t.shape_string(), index, dtype_name(params_[index].dtype()), params_[index].shape_string()));
    bool found = false;
    for (auto& [n, tensors] : slots_)
      if (n == slot_name) {
        tensors[index] = t.clone().detach();
        found = true;
      }
    if (!found) {
      slots_.emplace_back(slot_name, std::vector<Tensor>(params_.size()));
      slots_.back().second[index] = t.clone().detach();
    }
  }
}

// ---- SGD ----
SGD::SGD(std::vector<Tensor> params, SGDOptions options) : Optimizer(std::move(params), options.lr_, "SGD"), options_(options) {
  if (options.momentum_ < 0 || options.weight_decay_ < 0)
    throw Error(fmt::format("SGD: momentum and weight_decay must be non-negative, got {} and {}", options.momentum_,
                            options.weight_decay_));
  if (options.nesterov_ && (options.momentum_ <= 0 || options.dampening_ != 0))
    throw Error("SGD: Nesterov momentum needs momentum > 0 and dampening 0");
}

namespace {
// buf ← momentum·buf + (1 − dampening)·d (buf ← d on the first step), then p ← p − lr·(d + momentum·buf)
// with Nesterov, else p ← p − lr·buf; d = g + weight_decay·p. One pass over memory, operands by value
// and restrict-qualified so that the loop vectorises.
template <bool Nesterov, class T>
void sgd_momentum(T* __restrict p, const T* __restrict g, T* __restrict b, std::int64_t n, T lr, T wd, T mom, T keep,
                  bool first) {
  const T decay = first ? T(0) : mom, gain = first ? T(1) : keep;
  for (std::int64_t k = 0; k < n; ++k) {
    const T d = g[k] + wd * p[k];
    const T v = decay * b[k] + gain * d;
    b[k] = v;
    if constexpr (Nesterov) p[k] -= lr * (d + mom * v);
    else p[k] -= lr * v;
  }
}
}  // namespace

void SGD::update(std::size_t i, Tensor& param, const Tensor& grad) {
  const auto& o = options_;
  const double lr = this->lr();
  const bool first = steps_[i] == 1;
  Tensor* buf = o.momentum_ != 0 ? &slot("momentum_buffer", i) : nullptr;
  with_type(param, [&]<class T>() {
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    T* b = buf != nullptr ? buf->data_ptr<T>() : nullptr;
    const T wd = static_cast<T>(o.weight_decay_), mom = static_cast<T>(o.momentum_), lr_t = static_cast<T>(lr);
    const T keep = static_cast<T>(1 - o.dampening_);
    const bool nesterov = o.nesterov_;
    // Large tensors are split over the pool.
    detail::parallel_for(param.numel(), detail::kParallelGrain, [=](std::int64_t k0, std::int64_t k1) {
      if (b == nullptr) {
        T* __restrict pk = p + k0;
        const T* __restrict gk = g + k0;
        for (std::int64_t k = 0; k < k1 - k0; ++k) pk[k] -= lr_t * (gk[k] + wd * pk[k]);
      } else {
        if (nesterov) sgd_momentum<true>(p + k0, g + k0, b + k0, k1 - k0, lr_t, wd, mom, keep, first);
        else sgd_momentum<false>(p + k0, g + k0, b + k0, k1 - k0, lr_t, wd, mom, keep, first);
      }
    });
  });
}

// ---- Adam / AdamW ----
Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Optimizer(std::move(params), options.lr_, "Adam"), options_(options) {
  if (!(options.beta1_ >= 0 && options.beta1_ < 1 && options.beta2_ >= 0 && options.beta2_ < 1))
    throw Error(fmt::format("Adam: betas must be in [0, 1), got ({}, {})", options.beta1_, options.beta2_));
  if (!(options.eps_ >= 0) || !(options.weight_decay_ >= 0))
    throw Error(fmt::format("Adam: eps and weight_decay must be non-negative, got {} and {}", options.eps_, options.weight_decay_));
}

AdamW::AdamW(std::vector<Tensor> params, AdamOptions options) : Adam(std::move(params), options) {
  if (!options.weight_decay_set_) options_.weight_decay_ = 1e-2;
  decoupled_ = true;
}

void Adam::update(std::size_t i, Tensor& param, const Tensor& grad) {
  const auto& o = options_;
  const double lr = this->lr();
  const auto t = static_cast<double>(steps_[i]);
  const double bias1 = 1 - std::pow(o.beta1_, t), bias2 = 1 - std::pow(o.beta2_, t);
  const double step_size = lr / bias1, bias2_sqrt = std::sqrt(bias2);
  Tensor& m = slot("exp_avg", i);
  Tensor& v = slot("exp_avg_sq", i);
  with_type(param, [&]<class T>() {
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    T* pm = m.data_ptr<T>();
    T* pv = v.data_ptr<T>();
    const auto n = param.numel();
    const T b1 = static_cast<T>(o.beta1_), b2 = static_cast<T>(o.beta2_);
    for (std::int64_t k = 0; k < n; ++k) {
      T d = g[k];
      if (decoupled_) p[k] *= static_cast<T>(1 - lr * o.weight_decay_);
      else d += static_cast<T>(o.weight_decay_) * p[k];
      pm[k] = b1 * pm[k] + (T(1) - b1) * d;
      pv[k] = b2 * pv[k] + (T(1) - b2) * d * d;
      const T denom = std::sqrt(pv[k]) / static_cast<T>(bias2_sqrt) + static_cast<T>(o.eps_);
      p[k] -= static_cast<T>(step_size) * pm[k] / denom;
    }
  });
}

// ---- RMSprop ----
RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions options)
    : Optimizer(std::move(params), options.lr_, "RMSprop"), options_(options) {
  if (!(options.alpha_ >= 0) || !(options.eps_ >= 0) || !(options.momentum_ >= 0) || !(options.weight_decay_ >= 0))
    throw Error("RMSprop: alpha, eps, momentum and weight_decay must be non-negative");
}

void RMSprop::update(std::size_t i, Tensor& param, const Tensor& grad) {
  const auto& o = options_;
  const double lr = this->lr();
  Tensor& sq = slot("square_avg", i);
  Tensor* buf = o.momentum_ > 0 ? &slot("momentum_buffer", i) : nullptr;
  Tensor* gavg = o.centered_ ? &slot("grad_avg", i) : nullptr;
  with_type(param, [&]<class T>() {
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    T* s = sq.data_ptr<T>();
    T* b = buf ? buf->data_ptr<T>() : nullptr;
    T* ga = gavg ? gavg->data_ptr<T>() : nullptr;
    const T alpha = static_cast<T>(o.alpha_);
    const auto n = param.numel();
    for (std::int64_t k = 0; k < n; ++k) {
      const T d = g[k] + static_cast<T>(o.weight_decay_) * p[k];
      s[k] = alpha * s[k] + (T(1) - alpha) * d * d;
      T avg;
      if (ga) {
        ga[k] = alpha * ga[k] + (T(1) - alpha) * d;
        avg = std::sqrt(s[k] - ga[k] * ga[k]) + static_cast<T>(o.eps_);
      } else {
        avg = std::sqrt(s[k]) + static_cast<T>(o.eps_);
      }
      if (b) {
        b[k] = static_cast<T>(o.momentum_) * b[k] + d / avg;
        p[k] -= static_cast<T>(lr) * b[k];
      } else {
        p[k] -= static_cast<T>(lr) * d / avg;
      }
    }
  });
}

// ---- Adagrad ----
Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions options)
    : Optimizer(std::move(params), options.lr_, "Adagrad"), options_(options) {
  if (!(options.lr_decay_ >= 0) || !(options.weight_decay_ >= 0) || !(options.initial_accumulator_value_ >= 0) ||
      !(options.eps_ >= 0))
    throw Error(fmt::format("Adagrad: lr_decay, weight_decay, initial_accumulator_value and eps must be non-negative, "
                            "got {}, {}, {} and {}",
                            options.lr_decay_, options.weight_decay_, options.initial_accumulator_value_, options.eps_));
}

void Adagrad::update(std::size_t i, Tensor& param, const Tensor& grad) {
  const auto& o = options_;
  Tensor& sum_sq = slot("sum", i);
  if (steps_[i] == 1 && o.initial_accumulator_value_ != 0) sum_sq.fill_(o.initial_accumulator_value_);
  const double clr = lr() / (1 + static_cast<double>(steps_[i] - 1) * o.lr_decay_);
  with_type(param, [&]<class T>() {
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    T* acc = sum_sq.data_ptr<T>();
    const T wd = static_cast<T>(o.weight_decay_), eps = static_cast<T>(o.eps_), lr_t = static_cast<T>(clr);
    for (std::int64_t k = 0; k < param.numel(); ++k) {
      const T d = g[k] + wd * p[k];
      acc[k] += d * d;
      p[k] -= lr_t * d / (std::sqrt(acc[k]) + eps);
    }
  });
}

// ---- schedules ----
LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer), base_lr_(optimizer.lr()) {}

void LRScheduler::step() {
  ++count_;
  optimizer_.set_lr(lr_at(count_));
}

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size <= 0) throw Error(fmt::format("StepLR: step_size must be positive, got {}", step_size));
}
double StepLR::lr_at(std::int64_t count) const {
  return base_lr_ * std::pow(gamma_, static_cast<double>(count / step_size_));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  if (t_max <= 0) throw Error(fmt::format("CosineAnnealingLR: t_max must be positive, got {}", t_max));
}
double CosineAnnealingLR::lr_at(std::int64_t count) const {
  // Not held at eta_min after t_max: like PyTorch's CosineAnnealingLR the cosine goes on (the lr
  // rises again over the next t_max steps), so a schedule run past t_max matches PyTorch's.
  const double c = static_cast<double>(count);
  return eta_min_ + (base_lr_ - eta_min_) * (1 + std::cos(M_PI * c / static_cast<double>(t_max_))) / 2;
}

LinearWarmup::LinearWarmup(Optimizer& optimizer, std::int64_t warmup, double start_factor)
    : LRScheduler(optimizer), warmup_(warmup), start_factor_(start_factor) {
  if (warmup <= 0) throw Error(fmt::format("LinearWarmup: warmup must be positive, got {}", warmup));
  optimizer.set_lr(base_lr_ * start_factor);
}
double LinearWarmup::lr_at(std::int64_t count) const {
  if (count >= warmup_) return base_lr_;
  return base_lr_ * (start_factor_ + (1 - start_factor_) * static_cast<double>(count) / static_cast<double>(warmup_));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
  if (!(gamma > 0) || !std::isfinite(gamma)) throw Error(fmt::format("ExponentialLR: gamma must be finite and positive, got {}", gamma));
}
double ExponentialLR::lr_at(std::int64_t count) const { return base_lr_ * std::pow(gamma_, static_cast<double>(count)); }

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  for (std::size_t k = 0; k < milestones_.size(); ++k)
    if (milestones_[k] <= 0 || (k > 0 && milestones_[k] <= milestones_[k - 1]))
      throw Error(fmt::format("MultiStepLR: milestones must be positive and increasing, got [{}]", fmt::join(milestones_, ", ")));
}
double MultiStepLR::lr_at(std::int64_t count) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), count) - milestones_.begin();
  return base_lr_ * std::pow(gamma_, static_cast<double>(passed));
}

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm) {
  if (!(max_norm > 0)) throw Error(fmt::format("clip_grad_norm_: max_norm must be positive, got {}", max_norm));
  NoGradGuard no_grad;
  double total = 0;
  for (const auto& p : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    const double s = sum(g * g).item<double>();
    total += s;
  }
  const double norm = std::sqrt(total);
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1)
    for (const auto& p : params) {
      Tensor g = p.grad();
      if (g.defined()) g.mul_(coef);
    }
  return norm;
}

}  // namespace nabla::optim
