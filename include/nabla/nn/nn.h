#pragma once
/// nabla::nn: modules, layers and initialisers (losses live in <nabla/ops/nn.h>).
#include <nabla/nn/conv.h>
#include <nabla/nn/init.h>
#include <nabla/nn/layers.h>
#include <nabla/nn/module.h>
#include <nabla/ops/nn.h>
