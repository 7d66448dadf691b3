#pragma once
/// nabla::optim: optimizers with PyTorch's update rules, learning-rate schedules, gradient clipping.
#include <cstdint>
#include <memory>
#include <vector>

#include <nabla/core/tensor.h>
#include <nabla/nn/module.h>

namespace nabla::optim {

/// Base of the optimizers: holds the parameters, the learning rate and per-parameter state.
class Optimizer {
 public:
  Optimizer(std::vector<Tensor> params, double lr, const char* name);
  virtual ~Optimizer() = default;
  /// One update of every parameter that has a gradient (under NoGradGuard).
  void step();
  /// Drops the parameters' gradients (grad() becomes undefined), as PyTorch's set_to_none.
  void zero_grad();
  /// The current learning rate.
  double lr() const { return lr_; }
  /// Sets the learning rate (schedulers call this).
  void set_lr(double lr);
  /// The parameters being optimised.
  const std::vector<Tensor>& params() const { return params_; }
  /// The optimizer's state as named tensors ("<slot>.<param index>"), for checkpoints.
  nn::NamedTensors state() const;
  /// Restores state() output; names, shapes and dtypes must match.
  void load_state(const nn::NamedTensors& state);

 protected:
  /// Updates parameter i (contiguous) from its gradient g.
  virtual void update(std::size_t i, Tensor& param, const Tensor& grad) = 0;
  /// Per-parameter state tensor `slot` (created as zeros like the parameter on first use).
  Tensor& slot(const char* name, std::size_t i);
  /// Per-parameter step counts (as PyTorch, a parameter without gradient does not step).
  std::vector<std::int64_t> steps_;

 private:
  std::vector<Tensor> params_;
  double lr_;
  const char* name_;
  std::vector<std::pair<std::string, std::vector<Tensor>>> slots_;
};

/// Options of SGD, set fluently: SGDOptions(0.01).momentum(0.9).nesterov(true).
struct SGDOptions {
  explicit SGDOptions(double lr = 0.01) : lr_(lr) {}
  SGDOptions& momentum(double v) { momentum_ = v; return *this; }
  SGDOptions& dampening(double v) { dampening_ = v; return *this; }
  SGDOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  SGDOptions& nesterov(bool v) { nesterov_ = v; return *this; }
  double lr_, momentum_ = 0, dampening_ = 0, weight_decay_ = 0;
  bool nesterov_ = false;
};

/// Stochastic gradient descent with momentum, dampening, Nesterov and (L2) weight decay.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options);
  const SGDOptions& options() const { return options_; }

 protected:
  void update(std::size_t i, Tensor& param, const Tensor& grad) override;

 private:
  SGDOptions options_;
};

/// Options of Adam and AdamW.
struct AdamOptions {
  explicit AdamOptions(double lr = 1e-3) : lr_(lr) {}
  AdamOptions& betas(double b1, double b2) { beta1_ = b1; beta2_ = b2; return *this; }
  AdamOptions& eps(double v) { eps_ = v; return *this; }
  AdamOptions& weight_decay(double v) { weight_decay_ = v; weight_decay_set_ = true; return *this; }
  double lr_, beta1_ = 0.9, beta2_ = 0.999, eps_ = 1e-8, weight_decay_ = 0;
  bool weight_decay_set_ = false;
};

/// Adam (weight decay as L2 added to the gradient).
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options);

 protected:
  void update(std::size_t i, Tensor& param, const Tensor& grad) override;
  AdamOptions options_;
  bool decoupled_ = false;
};

/// AdamW: Adam with decoupled weight decay (default 0.01, as PyTorch).
class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, AdamOptions options);
};

/// Options of RMSprop.
struct RMSpropOptions {
  explicit RMSpropOptions(double lr = 0.01) : lr_(lr) {}
  RMSpropOptions& alpha(double v) { alpha_ = v; return *this; }
  RMSpropOptions& eps(double v) { eps_ = v; return *this; }
  RMSpropOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  RMSpropOptions& momentum(double v) { momentum_ = v; return *this; }
  RMSpropOptions& centered(bool v) { centered_ = v; return *this; }
  double lr_, alpha_ = 0.99, eps_ = 1e-8, weight_decay_ = 0, momentum_ = 0;
  bool centered_ = false;
};

/// RMSprop (optionally centered, with momentum).
class RMSprop : public Optimizer {
 public:
  RMSprop(std::vector<Tensor> params, RMSpropOptions options);

 protected:
  void update(std::size_t i, Tensor& param, const Tensor& grad) override;

 private:
  RMSpropOptions options_;
};

/// Options of Adagrad.
struct AdagradOptions {
  explicit AdagradOptions(double lr = 0.01) : lr_(lr) {}
  AdagradOptions& lr_decay(double v) { lr_decay_ = v; return *this; }
  AdagradOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  AdagradOptions& initial_accumulator_value(double v) { initial_accumulator_value_ = v; return *this; }
  AdagradOptions& eps(double v) { eps_ = v; return *this; }
  double lr_, lr_decay_ = 0, weight_decay_ = 0, initial_accumulator_value_ = 0, eps_ = 1e-10;
};

/// Adagrad, as torch.optim.Adagrad: sum += g², p -= lr / (1 + (t - 1) lr_decay) · g / (sqrt(sum) + eps).
class Adagrad : public Optimizer {
 public:
  Adagrad(std::vector<Tensor> params, AdagradOptions options);

 protected:
  void update(std::size_t i, Tensor& param, const Tensor& grad) override;

 private:
  AdagradOptions options_;
};

/// A learning-rate schedule: call step() once per epoch (or per iteration, as you define the unit);
/// it sets the optimizer's lr to lr_at(steps taken).
class LRScheduler {
 public:
  explicit LRScheduler(Optimizer& optimizer);
  virtual ~LRScheduler() = default;
  /// Advances one unit and applies the new learning rate.
  void step();
  /// The learning rate after `count` steps.
  virtual double lr_at(std::int64_t count) const = 0;
  /// Steps taken so far.
  std::int64_t count() const { return count_; }

 protected:
  Optimizer& optimizer_;
  double base_lr_;
  std::int64_t count_ = 0;
};

/// lr = base · gamma^(floor(count / step_size)).
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);
  double lr_at(std::int64_t count) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// lr = eta_min + (base - eta_min) (1 + cos(pi · count / t_max)) / 2.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min = 0.0);
  double lr_at(std::int64_t count) const override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

/// Linear warm-up from start_factor · base to base over `warmup` steps, then constant.
class LinearWarmup : public LRScheduler {
 public:
  LinearWarmup(Optimizer& optimizer, std::int64_t warmup, double start_factor = 0.0);
  double lr_at(std::int64_t count) const override;

 private:
  std::int64_t warmup_;
  double start_factor_;
};

/// lr = base · gamma^count.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);
  double lr_at(std::int64_t count) const override;

 private:
  double gamma_;
};

/// lr = base · gamma^(number of milestones <= count); milestones increasing, positive.
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1);
  double lr_at(std::int64_t count) const override;

 private:
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

/// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm before.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm);

}  // namespace nabla::optim
