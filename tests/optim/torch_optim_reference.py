#!/usr/bin/python3
"""PyTorch reference for tests/optim/optim_test.cpp.

Usage: /usr/bin/python3 torch_optim_reference.py OUT.json   (Debian python3-torch)

Writes, all in float64:
  problem:    a fixed 2-layer regression net y ~ w2 . tanh(W1 x + b1) + b2 (data, initial parameters)
  optimizers: for each configuration, the parameters after 20 steps of torch.optim on that problem
  schedules:  the learning rate after 0, 1, ... scheduler steps (StepLR, ExponentialLR, MultiStepLR, CosineAnnealingLR, LinearLR)
  clipping:   gradients before/after torch.nn.utils.clip_grad_norm_ and the norm it returned
The C++ test rebuilds each computation in nabla and compares.
"""
import json
import sys

import torch

torch.set_default_dtype(torch.float64)
STEPS = 20


def as_json(t):
    return {"shape": list(t.shape), "values": t.detach().reshape(-1).tolist()}


def make_problem():
    g = torch.Generator().manual_seed(1234)
    x = torch.randn(16, 3, generator=g)
    y = torch.sin(x.sum(1, keepdim=True)) + 0.1 * torch.randn(16, 1, generator=g)
    params = {
        "w1": torch.randn(5, 3, generator=g) * 0.7,
        "b1": torch.randn(5, generator=g) * 0.1,
        "w2": torch.randn(1, 5, generator=g) * 0.5,
        "b2": torch.randn(1, generator=g) * 0.1,
    }
    return x, y, params


def loss_fn(x, y, p):
    h = torch.tanh(torch.nn.functional.linear(x, p["w1"], p["b1"]))
    out = torch.nn.functional.linear(h, p["w2"], p["b2"])
    return torch.nn.functional.mse_loss(out, y)


# name -> (torch class, kwargs). The C++ test holds the same table with nabla's options.
CONFIGS = {
    "sgd": (torch.optim.SGD, dict(lr=0.1)),
    "sgd_momentum": (torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    "sgd_nesterov": (torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    "sgd_weight_decay": (torch.optim.SGD, dict(lr=0.1, weight_decay=0.05)),
    "sgd_dampening": (torch.optim.SGD, dict(lr=0.05, momentum=0.8, dampening=0.3)),
    "sgd_all": (torch.optim.SGD, dict(lr=0.05, momentum=0.7, weight_decay=0.02, nesterov=True)),
    "adam": (torch.optim.Adam, dict(lr=0.01)),
    "adam_betas_eps": (torch.optim.Adam, dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6)),
    "adam_weight_decay": (torch.optim.Adam, dict(lr=0.01, weight_decay=0.1)),
    "adamw": (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
    "adamw_default_decay": (torch.optim.AdamW, dict(lr=0.01)),
    "rmsprop": (torch.optim.RMSprop, dict(lr=0.01)),
    "rmsprop_momentum": (torch.optim.RMSprop, dict(lr=0.01, momentum=0.9)),
    "rmsprop_centered": (torch.optim.RMSprop, dict(lr=0.01, centered=True)),
    "rmsprop_weight_decay": (torch.optim.RMSprop, dict(lr=0.01, weight_decay=0.1)),
    "rmsprop_all": (torch.optim.RMSprop, dict(lr=0.005, alpha=0.9, eps=1e-6, momentum=0.5, centered=True,
                                               weight_decay=0.05)),
    "adagrad": (torch.optim.Adagrad, dict(lr=0.05)),
    "adagrad_all": (torch.optim.Adagrad, dict(lr=0.05, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1,
                                              eps=1e-8)),
}


def run_optimizers(x, y, init):
    out = {}
    for name, (cls, kwargs) in CONFIGS.items():
        p = {k: v.clone().requires_grad_() for k, v in init.items()}
        opt = cls(list(p.values()), **kwargs)
        losses = []
        for _ in range(STEPS):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(x, y, p)
            losses.append(loss.item())
            loss.backward()
            opt.step()
        out[name] = {"params": {k: as_json(v) for k, v in p.items()}, "losses": losses}
    return out


def lr_trace(make_scheduler, steps, base_lr=0.1):
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=base_lr)
    sched = make_scheduler(opt)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        opt.step()  # no grad: a no-op, but keeps torch from warning about the call order
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


def run_schedules():
    S = torch.optim.lr_scheduler
    return {
        "step_lr": lr_trace(lambda o: S.StepLR(o, step_size=3, gamma=0.5), 12),
        "exponential_lr": lr_trace(lambda o: S.ExponentialLR(o, gamma=0.8), 10),
        "multistep_lr": lr_trace(lambda o: S.MultiStepLR(o, milestones=[2, 5, 6], gamma=0.3), 10),
        "cosine": lr_trace(lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 10),
        # Past T_max PyTorch's cosine rises again (it is periodic); recorded for the report.
        "cosine_past_t_max": lr_trace(lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 15),
        "linear_warmup": lr_trace(lambda o: S.LinearLR(o, start_factor=0.25, total_iters=4), 8),
        "linear_warmup_small": lr_trace(lambda o: S.LinearLR(o, start_factor=1e-3, total_iters=5), 7),
    }


def run_clipping():
    g = torch.Generator().manual_seed(99)
    grads = [torch.randn(3, 4, generator=g), torch.randn(5, generator=g) * 2, torch.randn(2, 2, 2, generator=g)]
    out = {"grads": [as_json(t) for t in grads], "cases": []}
    for max_norm in (1.0, 2.5, 1000.0):
        params = [torch.zeros_like(t, requires_grad=True) for t in grads]
        for p, t in zip(params, grads):
            p.grad = t.clone()
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        out["cases"].append({"max_norm": max_norm, "norm": norm.item(),
                             "clipped": [as_json(p.grad) for p in params]})
    return out


def main():
    x, y, init = make_problem()
    result = {
        "torch_version": torch.__version__,
        "steps": STEPS,
        "problem": {"x": as_json(x), "y": as_json(y), "init": {k: as_json(v) for k, v in init.items()}},
        "optimizers": run_optimizers(x, y, init),
        "schedules": run_schedules(),
        "clipping": run_clipping(),
    }
    with open(sys.argv[1], "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
