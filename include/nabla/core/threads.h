#pragma once
/// nabla's one threading model: a small pool for its own loops, and OpenBLAS set to the same count.
namespace nabla {

/// Sets the threads used by nabla's kernels and by OpenBLAS (n >= 1).
void set_num_threads(int n);
/// The threads nabla's kernels use (default: the hardware's cores).
int get_num_threads();

}  // namespace nabla
