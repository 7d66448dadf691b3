#pragma once
// The nn tests share the op tests' helpers (random leaves, gradcheck assertions, error-message
// assertions, value comparisons): one copy, in tests/ops/op_test_util.h.
#include "ops/op_test_util.h"

namespace nabla::nntest {
using namespace nabla::test;  // NOLINT: test-only header, the helpers are the point
}  // namespace nabla::nntest
