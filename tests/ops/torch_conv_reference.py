#!/usr/bin/python3
"""PyTorch reference for conv2d, pooling, batch_norm, layer_norm and pad, used by tests/ops/conv_test.cpp.

Usage: /usr/bin/python3 torch_conv_reference.py OUT.json   (Debian python3-torch)

Every case: float64 inputs (seeded), an upstream gradient gy, torch's output y and the gradient of
every floating input (autograd.grad(y, inputs, gy)). batch_norm cases also carry the running
statistics after the call. The C++ test rebuilds each case in nabla from the same values.
"""
import json
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
gen = torch.Generator().manual_seed(1234)


def as_json(t):
    return {"shape": list(t.shape), "values": t.detach().reshape(-1).tolist()}


def rnd(*shape):
    return torch.randn(*shape, generator=gen)


def finish(case, fn, inputs, extra_after=None):
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items() if v is not None}
    y = fn(**leaves)
    gy = rnd(*y.shape)
    names = list(leaves)
    grads = torch.autograd.grad(y, [leaves[n] for n in names], gy)
    case["inputs"] = {k: as_json(v) for k, v in inputs.items() if v is not None}
    case["gy"] = as_json(gy)
    case["y"] = as_json(y)
    case["grads"] = {n: as_json(g) for n, g in zip(names, grads)}
    if extra_after is not None:
        case.update(extra_after())
    return case


cases = []

# conv2d: (x shape, w shape, bias, stride, padding, dilation, groups)
conv_configs = [
    ([2, 3, 7, 6], [4, 3, 3, 3], True, (1, 1), (0, 0), (1, 1), 1),
    ([2, 3, 8, 7], [5, 3, 3, 2], True, (2, 2), (1, 1), (1, 1), 1),
    ([1, 2, 9, 9], [3, 2, 3, 3], True, (1, 1), (2, 2), (2, 2), 1),
    ([2, 4, 6, 5], [6, 2, 3, 3], False, (2, 1), (1, 0), (1, 1), 2),
    ([3, 2, 10, 7], [4, 1, 2, 4], True, (1, 2), (0, 2), (2, 1), 2),
    ([2, 5, 4, 4], [3, 5, 1, 1], True, (1, 1), (0, 0), (1, 1), 1),
    ([2, 4, 5, 5], [4, 1, 3, 3], False, (1, 1), (1, 1), (1, 1), 4),
    ([2, 3, 9, 8], [2, 3, 4, 3], True, (3, 2), (1, 2), (1, 1), 1),
    # small K = (c / groups) * kh * kw (nabla's direct path), rows wider than its register blocks
    ([3, 1, 12, 28], [10, 1, 3, 3], True, (1, 1), (0, 0), (1, 1), 1),
    ([2, 2, 9, 35], [10, 1, 3, 3], False, (2, 1), (1, 2), (1, 2), 2),
]
for xs, ws, has_b, stride, padding, dilation, groups in conv_configs:
    case = {"op": "conv2d", "stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    inputs = {"x": rnd(*xs), "w": rnd(*ws), "b": rnd(ws[0]) if has_b else None}

    def fn(x, w, b=None, stride=stride, padding=padding, dilation=dilation, groups=groups):
        return F.conv2d(x, w, b, stride, padding, dilation, groups)

    cases.append(finish(case, fn, inputs))

# max_pool2d: (x shape, kernel, stride or None, padding, dilation)
for xs, k, s, p, d in [
    ([2, 3, 6, 6], (2, 2), None, (0, 0), (1, 1)),
    ([2, 2, 7, 8], (3, 3), (2, 2), (1, 1), (1, 1)),
    ([1, 3, 7, 9], (2, 3), (1, 2), (1, 1), (1, 1)),
    ([1, 2, 9, 9], (3, 3), (1, 1), (1, 1), (2, 2)),
    ([3, 5, 5], (2, 2), (1, 1), (0, 0), (1, 1)),
]:
    case = {"op": "max_pool2d", "kernel": k, "stride": s, "padding": p, "dilation": d}
    cases.append(finish(case, lambda x, k=k, s=s, p=p, d=d: F.max_pool2d(x, k, s, p, d), {"x": rnd(*xs)}))

# avg_pool2d: (x shape, kernel, stride or None, padding, count_include_pad)
for xs, k, s, p, cip in [
    ([2, 3, 6, 6], (2, 2), None, (0, 0), True),
    ([2, 2, 7, 8], (3, 3), (2, 2), (1, 1), True),
    ([2, 2, 7, 8], (3, 3), (2, 2), (1, 1), False),
    ([1, 3, 7, 9], (2, 3), (2, 1), (1, 1), True),
    ([1, 2, 5, 6], (4, 2), (1, 3), (2, 1), False),
]:
    case = {"op": "avg_pool2d", "kernel": k, "stride": s, "padding": p, "count_include_pad": cip}
    cases.append(finish(case, lambda x, k=k, s=s, p=p, c=cip: F.avg_pool2d(x, k, s, p, count_include_pad=c),
                        {"x": rnd(*xs)}))

# adaptive_avg_pool2d: (x shape, output size)
for xs, o in [([2, 3, 7, 9], (3, 4)), ([2, 3, 6, 6], (1, 1)), ([1, 2, 5, 5], (7, 3)), ([1, 2, 10, 10], (4, 5))]:
    case = {"op": "adaptive_avg_pool2d", "output_size": o}
    cases.append(finish(case, lambda x, o=o: F.adaptive_avg_pool2d(x, o), {"x": rnd(*xs)}))

# batch_norm: (x shape, affine, training)
for xs, affine, training in [
    ([4, 3, 5, 6], True, True),
    ([6, 4], True, True),
    ([5, 3, 7], False, True),
    ([4, 3, 5, 6], True, False),
    ([6, 4], False, False),
]:
    c = xs[1]
    rm0, rv0 = rnd(c), torch.rand(c, generator=gen) + 0.5
    case = {"op": "batch_norm", "affine": affine, "training": training, "momentum": 0.1, "eps": 1e-5,
            "running_mean": as_json(rm0), "running_var": as_json(rv0)}
    rm, rv = rm0.clone(), rv0.clone()
    inputs = {"x": 3 * rnd(*xs) + 1, "w": rnd(c) if affine else None, "b": rnd(c) if affine else None}

    def fn(x, w=None, b=None, rm=rm, rv=rv, training=training):
        return F.batch_norm(x, rm, rv, w, b, training, 0.1, 1e-5)

    cases.append(finish(case, fn, inputs, lambda rm=rm, rv=rv: {"running_mean_after": as_json(rm),
                                                                 "running_var_after": as_json(rv)}))

# layer_norm: (x shape, normalized shape, affine)
for xs, ns, affine in [([3, 4, 5], [5], True), ([3, 4, 5], [4, 5], True), ([2, 6], [6], False), ([2, 3, 4, 4], [3, 4, 4], True)]:
    case = {"op": "layer_norm", "normalized_shape": ns, "eps": 1e-5}
    inputs = {"x": 2 * rnd(*xs) - 1, "w": rnd(*ns) if affine else None, "b": rnd(*ns) if affine else None}
    cases.append(finish(case, lambda x, w=None, b=None, ns=ns: F.layer_norm(x, ns, w, b, 1e-5), inputs))

# pad: (x shape, pads, value)
for xs, pads, value in [([2, 3, 4], [1, 2], 0.0), ([2, 3, 4], [1, 0, 2, 1], 0.5), ([2, 3, 4, 5], [-1, 2, 0, 1, 1, 1], -2.0),
                        ([3, 4], [0, 0, -1, -2], 0.0)]:
    case = {"op": "pad", "pads": pads, "value": value}
    cases.append(finish(case, lambda x, p=pads, v=value: F.pad(x, p, "constant", v), {"x": rnd(*xs)}))

with open(sys.argv[1], "w") as f:
    json.dump({"torch_version": torch.__version__, "cases": cases}, f)
