#pragma once
/// The whole of nabla: include this one header.
#include <nabla/autograd/engine.h>
#include <nabla/autograd/function.h>
#include <nabla/autograd/grad_mode.h>
#include <nabla/autograd/gradcheck.h>
#include <nabla/autograd/node.h>
#include <nabla/core/dtype.h>
#include <nabla/core/error.h>
#include <nabla/core/generator.h>
#include <nabla/core/tensor.h>
#include <nabla/core/threads.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/linalg.h>
#include <nabla/ops/reduction.h>
#include <nabla/ops/shape.h>
#include <nabla/ops/unary.h>
