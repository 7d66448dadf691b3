#pragma once
/// Switching gradient recording on and off for the current thread.
namespace nabla {

/// Whether ops record the graph on this thread (true by default).
bool is_grad_enabled();
/// Sets whether ops record the graph on this thread.
void set_grad_enabled(bool enabled);

/// RAII: no graph is recorded while it lives (e.g. for optimizer updates and evaluation).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(is_grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// RAII: sets grad mode to `enabled` while it lives.
class AutoGradMode {
 public:
  explicit AutoGradMode(bool enabled) : previous_(is_grad_enabled()) { set_grad_enabled(enabled); }
  ~AutoGradMode() { set_grad_enabled(previous_); }
  AutoGradMode(const AutoGradMode&) = delete;
  AutoGradMode& operator=(const AutoGradMode&) = delete;

 private:
  bool previous_;
};

}  // namespace nabla
