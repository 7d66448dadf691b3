#pragma once
/// The scalar layer in one include: Var and Tape (reverse mode), Dual and jvp (forward mode),
/// hessian_vector, numeric_gradient, scalar programs and graph export.
#include <nabla/scalar/dual.h>
#include <nabla/scalar/graph_export.h>
#include <nabla/scalar/hessian.h>
#include <nabla/scalar/numeric.h>
#include <nabla/scalar/program.h>
#include <nabla/scalar/var.h>
