#pragma once
/// Anomaly detection: find the first op whose forward or backward makes NaN or Inf.
#include <string>

namespace nabla::autograd {

/// True while a DetectAnomalyGuard is alive on this thread.
bool is_anomaly_enabled();

/// RAII: while alive, every recorded op checks its output, and every backward step its gradients,
/// for NaN and Inf; the first one found throws nabla::Error naming the op, its input shapes and
/// the call stack where the op was created. Costs a scan of each value; without the guard, nothing.
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard();
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace nabla::autograd
