#!/usr/bin/python3
"""PyTorch reference for the losses, used by tests/nn/loss_test.cpp.

Usage: /usr/bin/python3 torch_loss_reference.py OUT.json   (Debian python3-torch)

For every loss and reduction: float64 inputs, an upstream gradient (for reduction "none"), torch's
value and the gradient of every floating input. The C++ test rebuilds each case in nabla.
hinge_loss has no torch.nn.functional twin; its reference is clamp(1 - y x, min=0) reduced, with
inputs kept away from the kink at y x = 1. smooth_l1_loss runs with beta 0.5, huber_loss with delta 1.5,
kl_div with both inputs requiring grad (targets kept positive), also with log_target.
"""
import json
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def as_json(t):
    return {"shape": list(t.shape), "values": t.detach().reshape(-1).tolist()}


def reduce(per, reduction):
    return {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]


def hinge(x, y, reduction):
    return reduce(torch.clamp(1 - y * x, min=0), reduction)


def make_inputs(loss, g):
    """(floating inputs that require grad, other inputs) for one loss, on random data."""
    if loss == "mse_loss":
        return [torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)], []
    if loss == "binary_cross_entropy_with_logits":
        return [3 * torch.randn(6, 4, generator=g), torch.rand(6, 4, generator=g)], []
    if loss == "cross_entropy":
        return [2 * torch.randn(6, 5, generator=g)], [torch.randint(0, 5, (6,), generator=g)]
    if loss == "nll_loss":
        return [torch.log_softmax(torch.randn(6, 5, generator=g), 1)], [torch.randint(0, 5, (6,), generator=g)]
    if loss == "hinge_loss":
        x = 2 * torch.randn(9, generator=g)
        y = torch.where(torch.rand(9, generator=g) < 0.5, -1.0, 1.0)
        margin = 1 - y * x
        x = torch.where(margin.abs() < 0.05, x + 0.2, x)  # away from the kink
        return [x], [y]
    if loss in ("l1_loss", "smooth_l1_loss", "huber_loss"):
        return [torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)], []
    if loss == "binary_cross_entropy":
        return [0.02 + 0.96 * torch.rand(6, 4, generator=g), torch.rand(6, 4, generator=g)], []
    if loss == "kl_div":
        return [torch.log_softmax(torch.randn(4, 5, generator=g), 1), torch.softmax(torch.randn(4, 5, generator=g), 1)], []
    if loss == "kl_div_log_target":
        return [torch.log_softmax(torch.randn(4, 5, generator=g), 1), torch.log_softmax(torch.randn(4, 5, generator=g), 1)], []
    raise ValueError(loss)


def call(loss, floats, others, reduction):
    if loss == "mse_loss":
        return F.mse_loss(floats[0], floats[1], reduction=reduction)
    if loss == "binary_cross_entropy_with_logits":
        return F.binary_cross_entropy_with_logits(floats[0], floats[1], reduction=reduction)
    if loss == "cross_entropy":
        return F.cross_entropy(floats[0], others[0], reduction=reduction)
    if loss == "nll_loss":
        return F.nll_loss(floats[0], others[0], reduction=reduction)
    if loss == "hinge_loss":
        return hinge(floats[0], others[0], reduction)
    if loss == "l1_loss":
        return F.l1_loss(floats[0], floats[1], reduction=reduction)
    if loss == "smooth_l1_loss":
        return F.smooth_l1_loss(floats[0], floats[1], reduction=reduction, beta=0.5)
    if loss == "huber_loss":
        return F.huber_loss(floats[0], floats[1], reduction=reduction, delta=1.5)
    if loss == "binary_cross_entropy":
        return F.binary_cross_entropy(floats[0], floats[1], reduction=reduction)
    if loss == "kl_div":
        return F.kl_div(floats[0], floats[1], reduction=reduction)
    if loss == "kl_div_log_target":
        return F.kl_div(floats[0], floats[1], reduction=reduction, log_target=True)
    raise ValueError(loss)


def main():
    g = torch.Generator().manual_seed(2024)
    cases = []
    for loss in ("mse_loss", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "hinge_loss", "l1_loss",
                 "smooth_l1_loss", "huber_loss", "binary_cross_entropy", "kl_div", "kl_div_log_target"):
        for reduction in ("mean", "sum", "none"):
            floats, others = make_inputs(loss, g)
            floats = [t.clone().requires_grad_() for t in floats]
            out = call(loss, floats, others, reduction)
            upstream = torch.randn(out.shape, generator=g) if out.dim() > 0 else torch.tensor(1.0)
            out.backward(upstream)
            cases.append({
                "loss": loss, "reduction": reduction,
                "inputs": [as_json(t) for t in floats],
                "others": [dict(as_json(t), dtype=str(t.dtype).replace("torch.", "")) for t in others],
                "upstream": as_json(upstream),
                "value": as_json(out),
                "grads": [as_json(t.grad) for t in floats],
            })
    with open(sys.argv[1], "w") as f:
        json.dump({"torch_version": torch.__version__, "cases": cases}, f)


if __name__ == "__main__":
    main()
