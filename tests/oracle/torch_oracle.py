#!/usr/bin/python3
"""PyTorch oracle for nabla: writes, for a fixed seed, many float64 cases of every op.

Usage: /usr/bin/python3 torch_oracle.py OUT.json   (Debian's python3-torch)

Each case names an op, its inputs (leaf data, row-major, plus the views applied to each leaf
before the op, so that the op sees non-contiguous tensors), the op's non-tensor arguments, a
random upstream gradient, and what torch.autograd computes: the forward value and the gradient
of every leaf. Order-2 cases instead record the gradient of sum_i <grad_i, probe_i> (the first
gradients built with create_graph=True), i.e. Hessian-vector products.

tests/oracle/oracle_test.cpp rebuilds every case in nabla and compares to 1e-10 relative.
"""
import json
import math
import sys

import torch

SEED = 20261127
torch.manual_seed(SEED)
DT = torch.float64

# ---------------------------------------------------------------------------------------------
# Inputs


class In:
    """One input of a case: a leaf tensor plus the views applied to it before the op."""

    def __init__(self, leaf, grad=True, views=(), alias=None):
        self.leaf = leaf
        self.grad = grad and leaf is not None and leaf.dtype == DT
        self.views = list(views)
        self.alias = alias  # index of an earlier input whose leaf this one reuses (fan-out)

    def build(self):
        x = self.leaf.detach().clone()
        if self.grad:
            x.requires_grad_(True)
        return x

    def apply_views(self, x):
        for v in self.views:
            kind = v[0]
            if kind == "transpose":
                x = x.transpose(v[1], v[2])
            elif kind == "permute":
                x = x.permute(*v[1])
            elif kind == "slice":
                _, dim, start, end, step = v
                idx = [slice(None)] * x.dim()
                idx[dim] = slice(start, end, step)
                x = x[tuple(idx)]
            elif kind == "expand":
                x = x.expand(*v[1])
            else:
                raise ValueError(kind)
        return x

    def to_json(self):
        if self.alias is not None:
            return {"alias": self.alias, "grad": False, "views": self.views}
        if self.leaf.dtype == torch.int64:
            data = [int(v) for v in self.leaf.reshape(-1).tolist()]
            dtype = "int64"
        else:
            data = [float(v) for v in self.leaf.reshape(-1).tolist()]
            dtype = "float64"
        return {"shape": list(self.leaf.shape), "dtype": dtype, "data": data, "grad": self.grad,
                "views": self.views}


def randn(*shape):
    return torch.randn(shape, dtype=DT)


def positive(*shape, lo=0.5, hi=2.0):
    return torch.rand(shape, dtype=DT) * (hi - lo) + lo


def away_from_zero(*shape):
    """|x| in [0.5, 2), random sign: safe denominators."""
    s = torch.where(torch.rand(shape) < 0.5, -1.0, 1.0).to(DT)
    return s * positive(*shape)


def same_leaf(k, views=()):
    """The leaf of input k again (its gradients sum), seen through `views`."""
    return In(None, False, views, alias=k)


def plain(t, grad=True):
    return In(t, grad)


def transposed(t_fn, shape, d0=-1, d1=-2):
    """An input of `shape` that is a transpose view of a contiguous leaf."""
    shape = list(shape)
    nd = len(shape)
    a, b = d0 % nd, d1 % nd
    leaf_shape = list(shape)
    leaf_shape[a], leaf_shape[b] = leaf_shape[b], leaf_shape[a]
    return In(t_fn(*leaf_shape), True, [["transpose", a, b]])


def strided(t_fn, shape, dim=0):
    """An input of `shape` that is every second entry (along dim) of a leaf twice as long."""
    shape = list(shape)
    leaf_shape = list(shape)
    leaf_shape[dim] = 2 * shape[dim]
    return In(t_fn(*leaf_shape), True, [["slice", dim, 1, leaf_shape[dim], 2]])


def expanded(t_fn, small_shape, big_shape):
    """An input of big_shape that is a stride-0 expand of a leaf of small_shape."""
    return In(t_fn(*small_shape), True, [["expand", list(big_shape)]])


def permuted(t_fn, shape, perm):
    """An input of `shape` that is permute(perm) of a contiguous leaf."""
    leaf_shape = [0] * len(shape)
    for i, p in enumerate(perm):
        leaf_shape[p] = shape[i]
    return In(t_fn(*leaf_shape), True, [["permute", list(perm)]])


# ---------------------------------------------------------------------------------------------
# The ops, as torch computes them (args: the case's non-tensor arguments).


def _slice(xs, a):
    x = xs[0]
    idx = [slice(None)] * x.dim()
    idx[a["dim"]] = slice(a["start"], a["end"], a["step"])
    return x[tuple(idx)]


def _to(xs, a):
    x = xs[0]
    if a["dtype"] == "float32":
        return x.to(torch.float32).to(DT)  # rounds to float32 and back; the gradient does too
    return x.to(DT)


OPS = {
    "add": lambda x, a: x[0] + x[1],
    "sub": lambda x, a: x[0] - x[1],
    "mul": lambda x, a: x[0] * x[1],
    "div": lambda x, a: x[0] / x[1],
    "add_scalar": lambda x, a: x[0] + a["scalar"],
    "radd_scalar": lambda x, a: a["scalar"] + x[0],
    "sub_scalar": lambda x, a: x[0] - a["scalar"],
    "rsub_scalar": lambda x, a: a["scalar"] - x[0],
    "mul_scalar": lambda x, a: x[0] * a["scalar"],
    "rmul_scalar": lambda x, a: a["scalar"] * x[0],
    "div_scalar": lambda x, a: x[0] / a["scalar"],
    "rdiv_scalar": lambda x, a: a["scalar"] / x[0],
    "neg": lambda x, a: -x[0],
    "pow_scalar": lambda x, a: torch.pow(x[0], a["exponent"]),
    "pow": lambda x, a: torch.pow(x[0], x[1]),
    "rpow": lambda x, a: torch.pow(a["base"], x[0]),
    "exp": lambda x, a: torch.exp(x[0]),
    "log": lambda x, a: torch.log(x[0]),
    "sqrt": lambda x, a: torch.sqrt(x[0]),
    "abs": lambda x, a: torch.abs(x[0]),
    "sin": lambda x, a: torch.sin(x[0]),
    "cos": lambda x, a: torch.cos(x[0]),
    "tanh": lambda x, a: torch.tanh(x[0]),
    "sigmoid": lambda x, a: torch.sigmoid(x[0]),
    "relu": lambda x, a: torch.relu(x[0]),
    "clamp": lambda x, a: torch.clamp(x[0], a["min"], a["max"]),
    "tan": lambda x, a: torch.tan(x[0]),
    "asin": lambda x, a: torch.asin(x[0]),
    "acos": lambda x, a: torch.acos(x[0]),
    "atan": lambda x, a: torch.atan(x[0]),
    "sinh": lambda x, a: torch.sinh(x[0]),
    "cosh": lambda x, a: torch.cosh(x[0]),
    "asinh": lambda x, a: torch.asinh(x[0]),
    "acosh": lambda x, a: torch.acosh(x[0]),
    "atanh": lambda x, a: torch.atanh(x[0]),
    "log1p": lambda x, a: torch.log1p(x[0]),
    "expm1": lambda x, a: torch.expm1(x[0]),
    "log2": lambda x, a: torch.log2(x[0]),
    "log10": lambda x, a: torch.log10(x[0]),
    "reciprocal": lambda x, a: torch.reciprocal(x[0]),
    "rsqrt": lambda x, a: torch.rsqrt(x[0]),
    "square": lambda x, a: torch.square(x[0]),
    "silu": lambda x, a: torch.nn.functional.silu(x[0]),
    "erf": lambda x, a: torch.erf(x[0]),
    "erfc": lambda x, a: torch.erfc(x[0]),
    "exp2": lambda x, a: torch.exp2(x[0]),
    "cbrt": lambda x, a: torch.sign(x[0]) * torch.abs(x[0]).pow(1.0 / 3.0),  # torch 1.13 has no cbrt
    "floor": lambda x, a: torch.floor(x[0]),
    "ceil": lambda x, a: torch.ceil(x[0]),
    "round": lambda x, a: torch.round(x[0]),
    "trunc": lambda x, a: torch.trunc(x[0]),
    "atan2": lambda x, a: torch.atan2(x[0], x[1]),
    "hypot": lambda x, a: torch.hypot(x[0], x[1]),
    "gelu": lambda x, a: torch.nn.functional.gelu(x[0]),
    "log_sigmoid": lambda x, a: torch.nn.functional.logsigmoid(x[0]),
    "hardtanh": lambda x, a: torch.nn.functional.hardtanh(x[0], a["min"], a["max"]),
    "relu6": lambda x, a: torch.nn.functional.relu6(x[0]),
    # torch's own hardsigmoid backward multiplies by 1/6 rounded to float32 (3e-8 relative in
    # float64); hardtanh(x + 3, 0, 6) / 6 is the same function with the same kinks, computed exactly.
    "hardsigmoid": lambda x, a: torch.nn.functional.hardtanh(x[0] + 3, 0.0, 6.0) / 6,
    "hardswish": lambda x, a: torch.nn.functional.hardswish(x[0]),
    "selu": lambda x, a: torch.nn.functional.selu(x[0]),
    "mish": lambda x, a: torch.nn.functional.mish(x[0]),
    "softsign": lambda x, a: torch.nn.functional.softsign(x[0]),
    "leaky_relu": lambda x, a: torch.nn.functional.leaky_relu(x[0], a["slope"]),
    "elu": lambda x, a: torch.nn.functional.elu(x[0], a["alpha"]),
    "softplus": lambda x, a: torch.nn.functional.softplus(x[0], a["beta"], a["threshold"]),
    "maximum": lambda x, a: torch.maximum(x[0], x[1]),
    "minimum": lambda x, a: torch.minimum(x[0], x[1]),
    "where": lambda x, a: torch.where(x[0] != 0, x[1], x[2]),
    "sum_all": lambda x, a: torch.sum(x[0]),
    "sum_dim": lambda x, a: torch.sum(x[0], a["dim"], keepdim=a["keepdim"]),
    "sum_dims": lambda x, a: torch.sum(x[0], a["dims"], keepdim=a["keepdim"]),
    "mean_all": lambda x, a: torch.mean(x[0]),
    "mean_dim": lambda x, a: torch.mean(x[0], a["dim"], keepdim=a["keepdim"]),
    "max_all": lambda x, a: torch.max(x[0]),
    "max_dim": lambda x, a: torch.max(x[0], a["dim"], keepdim=a["keepdim"]).values,
    "min_all": lambda x, a: torch.min(x[0]),
    "min_dim": lambda x, a: torch.min(x[0], a["dim"], keepdim=a["keepdim"]).values,
    "logsumexp": lambda x, a: torch.logsumexp(x[0], a["dim"], keepdim=a["keepdim"]),
    "var_dim": lambda x, a: torch.var(x[0], a["dim"], correction=a["correction"], keepdim=a["keepdim"]),
    "var_all": lambda x, a: torch.var(x[0]),
    "std_dim": lambda x, a: torch.std(x[0], a["dim"], correction=a["correction"], keepdim=a["keepdim"]),
    "std_all": lambda x, a: torch.std(x[0]),
    "norm_dim": lambda x, a: torch.linalg.vector_norm(x[0], float(a["p"]), a["dim"], keepdim=a["keepdim"]),
    "norm_all": lambda x, a: torch.linalg.vector_norm(x[0], float(a["p"])),
    "cumsum": lambda x, a: torch.cumsum(x[0], a["dim"]),
    "cumprod": lambda x, a: torch.cumprod(x[0], a["dim"]),
    "prod_all": lambda x, a: torch.prod(x[0]),
    "prod_dim": lambda x, a: torch.prod(x[0], a["dim"], keepdim=a["keepdim"]),
    "mean_dims": lambda x, a: torch.mean(x[0], a["dims"], keepdim=a["keepdim"]),
    "var_dims": lambda x, a: torch.var(x[0], a["dims"], correction=a["correction"], keepdim=a["keepdim"]),
    "std_dims": lambda x, a: torch.std(x[0], a["dims"], correction=a["correction"], keepdim=a["keepdim"]),
    "norm_dims": lambda x, a: torch.linalg.vector_norm(x[0], float(a["p"]), a["dims"], keepdim=a["keepdim"]),
    "amax": lambda x, a: torch.amax(x[0], a["dims"], keepdim=a["keepdim"]),
    "amin": lambda x, a: torch.amin(x[0], a["dims"], keepdim=a["keepdim"]),
    "softmax": lambda x, a: torch.softmax(x[0], a["dim"]),
    "log_softmax": lambda x, a: torch.log_softmax(x[0], a["dim"]),
    "matmul": lambda x, a: torch.matmul(x[0], x[1]),
    "linear": lambda x, a: torch.nn.functional.linear(*x),
    "linear_relu": lambda x, a: torch.relu(torch.nn.functional.linear(*x)),
    "reshape": lambda x, a: x[0].reshape(a["shape"]),
    "flip": lambda x, a: torch.flip(x[0], a["dims"]),
    "roll": lambda x, a: torch.roll(x[0], a["shifts"], a["dims"]),
    "repeat": lambda x, a: x[0].repeat(*a["repeats"]),
    "tril": lambda x, a: torch.tril(x[0], a["diagonal"]),
    "triu": lambda x, a: torch.triu(x[0], a["diagonal"]),
    "split_piece": lambda x, a: torch.split(x[0], a["size"], a["dim"])[a["piece"]],
    "chunk_piece": lambda x, a: torch.chunk(x[0], a["chunks"], a["dim"])[a["piece"]],
    "transpose": lambda x, a: x[0].transpose(a["dim0"], a["dim1"]),
    "permute": lambda x, a: x[0].permute(*a["dims"]),
    "slice": _slice,
    "narrow": lambda x, a: x[0].narrow(a["dim"], a["start"], a["length"]),
    "select": lambda x, a: x[0].select(a["dim"], a["index"]),
    "expand": lambda x, a: x[0].expand(*a["shape"]),
    "unsqueeze": lambda x, a: x[0].unsqueeze(a["dim"]),
    "squeeze": lambda x, a: x[0].squeeze(a["dim"]),
    "flatten": lambda x, a: x[0].flatten(a["start_dim"], a["end_dim"]),
    "cat": lambda x, a: torch.cat(x, a["dim"]),
    "stack": lambda x, a: torch.stack(x, a["dim"]),
    "index_select": lambda x, a: torch.index_select(x[0], a["dim"], x[1]),
    "gather": lambda x, a: torch.gather(x[0], a["dim"], x[1]),
    "scatter_add": lambda x, a: torch.scatter_add(x[0], a["dim"], x[1], x[2]),
    "to": _to,
    "clone": lambda x, a: x[0].clone(),
}

# ---------------------------------------------------------------------------------------------
# Case generation

CASES = []
NAMES = set()


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def add_case(op, inputs, args=None, desc="", order=1):
    args = args or {}
    name = f"{op}_{desc}" if desc else op
    base, k = name, 1
    while name in NAMES:
        k += 1
        name = f"{base}_{k}"
    NAMES.add(name)

    leaves = []
    for i in inputs:
        leaves.append(leaves[i.alias] if i.alias is not None else i.build())
    xs = [i.apply_views(l) for i, l in zip(inputs, leaves)]
    y = OPS[op](xs, args)
    assert y.dtype == DT, (name, y.dtype)
    g_out = randn(*y.shape)
    owns = [i.alias is None and l.requires_grad for i, l in zip(inputs, leaves)]
    req = [l for l, o in zip(leaves, owns) if o]
    case = {"name": name, "op": op, "args": args, "inputs": [i.to_json() for i in inputs],
            "out_shape": list(y.shape), "out": flat(y), "grad_out": flat(g_out), "order": order}
    if order == 1:
        gs = torch.autograd.grad(y, req, g_out, allow_unused=True)
    else:
        first = torch.autograd.grad(y, req, g_out, create_graph=True, allow_unused=True)
        probes = [randn(*l.shape) for l in req]
        s = sum((g * p).sum() for g, p in zip(first, probes) if g is not None)
        gs = torch.autograd.grad(s, req, allow_unused=True)
        it = iter(probes)
        case["probes"] = [flat(next(it)) if o else None for o in owns]
    it = iter(gs)
    grads = []
    for l, o in zip(leaves, owns):
        if not o:
            grads.append(None)
            continue
        g = next(it)
        grads.append(flat(torch.zeros_like(l) if g is None else g))
    case["grads"] = grads
    for v in case["out"] + [x for g in grads if g for x in g]:
        assert math.isfinite(v), name
    CASES.append(case)


def rshape(nd, lo=1, hi=5):
    return [int(torch.randint(lo, hi + 1, ()).item()) for _ in range(nd)]


def bshape(shape, drop_lead=True):
    """A shape that broadcasts to `shape`: some dims set to 1, maybe leading dims dropped."""
    s = [d if torch.rand(()) < 0.6 else 1 for d in shape]
    if drop_lead and len(s) > 0 and torch.rand(()) < 0.5:
        s = s[int(torch.randint(1, len(s) + 1, ()).item()):]
    return s


def gen_binary():
    for op in ["add", "sub", "mul", "div", "maximum", "minimum"]:
        rhs = away_from_zero if op == "div" else randn
        add_case(op, [plain(randn(3, 4)), plain(rhs(3, 4))], desc="same")
        add_case(op, [plain(randn(2, 3, 4)), plain(rhs(4))], desc="bcast_row")
        add_case(op, [plain(randn(3, 1)), plain(rhs(1, 4))], desc="bcast_outer")
        for k in range(2):
            s = rshape(4, 1, 4)
            add_case(op, [plain(randn(*bshape(s))), plain(rhs(*s))], desc=f"bcast_random{k}")
        add_case(op, [plain(randn()), plain(rhs(2, 3))], desc="scalar_lhs")
        add_case(op, [plain(randn(2, 3)), plain(rhs())], desc="scalar_rhs")
        add_case(op, [plain(randn()), plain(rhs())], desc="both_0d")
        add_case(op, [transposed(randn, [4, 3]), strided(rhs, [4, 3], 1)], desc="noncontig")
        add_case(op, [expanded(randn, [1, 3], [4, 3]), plain(rhs(4, 1))], desc="expanded")
        add_case(op, [plain(randn(3, 4)), plain(rhs(3, 4), grad=False)], desc="rhs_const")
        add_case(op, [plain(randn(0, 3)), plain(rhs(3))], desc="empty")
    # Ties: the gradient is split in half (as torch 1.13).
    a = randn(3, 4)
    b = randn(3, 4)
    b[0] = a[0]
    b[2, 1] = a[2, 1]
    add_case("maximum", [plain(a.clone()), plain(b.clone())], desc="ties")
    add_case("minimum", [plain(a.clone()), plain(b.clone())], desc="ties")
    add_case("maximum", [plain(a.clone()), plain(a.clone())], desc="all_tied")
    # Same tensor on both sides is a fan-out; nabla sees two leaves, so use a broadcast tie instead.
    add_case("maximum", [plain(torch.tensor([[0.5], [-1.0]], dtype=DT)),
                         plain(torch.tensor([0.5, -1.0, 2.0], dtype=DT))], desc="bcast_ties")

    scalars = [2.5, -1.75, 0.3]
    for op in ["add_scalar", "radd_scalar", "sub_scalar", "rsub_scalar", "mul_scalar", "rmul_scalar",
               "div_scalar", "rdiv_scalar"]:
        fn = away_from_zero if op == "rdiv_scalar" else randn
        for k, s in enumerate(scalars):
            add_case(op, [plain(fn(*rshape(k + 1)))], {"scalar": s}, desc=f"r{k + 1}")
        add_case(op, [plain(fn())], {"scalar": 1.25}, desc="0d")
        add_case(op, [transposed(fn, [3, 5])], {"scalar": -0.6}, desc="noncontig")

    add_case("neg", [plain(randn(3, 4))], desc="2d")
    add_case("neg", [plain(randn())], desc="0d")
    add_case("neg", [transposed(randn, [2, 3, 4], 0, 2)], desc="noncontig")
    add_case("neg", [plain(randn(2, 0))], desc="empty")


def gen_pow():
    for k, p in enumerate([2.0, 3.0, -1.0, 0.5, -2.5, 1.0, 0.0]):
        fn = positive if p != int(p) else randn
        if p < 0:
            fn = positive if p != int(p) else away_from_zero
        add_case("pow_scalar", [plain(fn(*rshape(2)))], {"exponent": p}, desc=f"p{k}")
    add_case("pow_scalar", [transposed(positive, [3, 4])], {"exponent": 1.5}, desc="noncontig")
    add_case("pow_scalar", [plain(positive())], {"exponent": 3.5}, desc="0d")
    add_case("pow", [plain(positive(3, 4)), plain(randn(3, 4))], desc="same")
    add_case("pow", [plain(positive(2, 3, 4)), plain(randn(4))], desc="bcast_exp")
    add_case("pow", [plain(positive(3, 1)), plain(randn(2, 1, 4))], desc="bcast_both")
    add_case("pow", [plain(positive()), plain(randn(3))], desc="scalar_base")
    add_case("pow", [transposed(positive, [4, 3]), strided(randn, [4, 3], 0)], desc="noncontig")
    add_case("pow", [plain(positive(3, 4)), plain(randn(3, 4), grad=False)], desc="exp_const")
    add_case("pow", [plain(positive(3, 4), grad=False), plain(randn(3, 4))], desc="base_const")
    for k, base in enumerate([2.5, 0.7, math.e]):
        add_case("rpow", [plain(randn(*rshape(k + 1)))], {"base": base}, desc=f"b{k}")
    add_case("rpow", [transposed(randn, [3, 4])], {"base": 1.3}, desc="noncontig")
    add_case("rpow", [plain(randn())], {"base": 3.0}, desc="0d")


def gen_unary():
    dom = {"log": positive, "sqrt": positive}
    for op in ["exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu"]:
        fn = dom.get(op, randn)
        add_case(op, [plain(fn(*rshape(1)))], desc="1d")
        add_case(op, [plain(fn(*rshape(3)))], desc="3d")
        add_case(op, [plain(fn())], desc="0d")
        add_case(op, [transposed(fn, [3, 5])], desc="transposed")
        add_case(op, [strided(fn, [2, 3, 2], 2)], desc="strided")
        add_case(op, [expanded(fn, [3, 1], [3, 4])], desc="expanded")
        add_case(op, [plain(fn(0, 4))], desc="empty")
    # Kinks: |x| and relu have gradient 0 at 0 (as torch).
    kink = torch.tensor([-1.0, 0.0, 1.0, -0.0, 2.5, -3.0], dtype=DT)
    add_case("abs", [plain(kink.clone())], desc="kinks")
    add_case("relu", [plain(kink.clone())], desc="kinks")
    add_case("sigmoid", [plain(torch.tensor([-30.0, -5.0, 0.0, 5.0, 30.0], dtype=DT))], desc="wide")
    add_case("tanh", [plain(torch.tensor([-20.0, -1.0, 0.0, 1.0, 20.0], dtype=DT))], desc="wide")
    add_case("exp", [plain(torch.tensor([-50.0, 0.0, 10.0], dtype=DT))], desc="wide")

    # The rest of <cmath> and the smooth activations, each on its domain.
    def inside(lo, hi):
        return lambda *shape: positive(*shape, lo=lo, hi=hi)

    more = {"tan": inside(-1.2, 1.2), "asin": inside(-0.9, 0.9), "acos": inside(-0.9, 0.9), "atan": randn,
            "sinh": randn, "cosh": randn, "asinh": randn, "acosh": inside(1.1, 3.0), "atanh": inside(-0.9, 0.9),
            "log1p": inside(-0.5, 3.0), "expm1": randn, "log2": positive, "log10": positive,
            "reciprocal": away_from_zero, "rsqrt": positive, "square": randn, "silu": randn, "erf": randn,
            "gelu": randn, "erfc": randn, "exp2": randn, "cbrt": away_from_zero}
    for op, fn in more.items():
        add_case(op, [plain(fn(*rshape(2)))], desc="2d")
        add_case(op, [plain(fn())], desc="0d")
        add_case(op, [transposed(fn, [3, 4])], desc="transposed")
    halves = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.7, 1.2], dtype=DT)
    for op in ["floor", "ceil", "round", "trunc"]:
        add_case(op, [plain(randn(3, 4) * 3)], desc="2d")
        add_case(op, [plain(halves.clone())], desc="halves")
    for op in ["atan2", "hypot"]:
        add_case(op, [plain(randn(3, 4)), plain(randn(3, 4))], desc="same")
        add_case(op, [plain(randn(3, 1)), plain(randn(4))], desc="bcast")
        add_case(op, [transposed(randn, [3, 4]), plain(randn(3, 4), grad=False)], desc="noncontig")
        add_case(op, [plain(randn(2, 3)), plain(randn(2, 3))], desc="hvp", order=2)
    for slope in [0.01, 0.3]:
        add_case("leaky_relu", [plain(randn(*rshape(2)))], {"slope": slope}, desc=f"s{slope}".replace(".", "_"))
    add_case("gelu", [plain(randn(2, 3))], desc="hvp", order=2)
    add_case("erf", [plain(randn(2, 3))], desc="hvp", order=2)
    for alpha in [1.0, 0.5]:
        add_case("elu", [plain(randn(*rshape(2)))], {"alpha": alpha}, desc=f"a{alpha}")
    add_case("elu", [plain(torch.tensor([-30.0, -1.0, 0.0, 1.0], dtype=DT))], {"alpha": 1.3}, desc="edges")
    for beta, threshold in [(1.0, 20.0), (2.0, 5.0)]:
        add_case("softplus", [plain(randn(*rshape(2)) * 4)], {"beta": beta, "threshold": threshold},
                 desc=f"b{beta}")
    add_case("softplus", [plain(torch.tensor([-40.0, 0.0, 2.4, 2.6, 40.0], dtype=DT))],
             {"beta": 2.0, "threshold": 5.0}, desc="threshold")
    add_case("silu", [plain(torch.tensor([-40.0, 0.0, 40.0], dtype=DT))], desc="wide")
    for op in ["tan", "atanh", "rsqrt", "silu"]:
        add_case(op, [plain(more[op](2, 3))], desc="hvp", order=2)
    add_case("elu", [plain(randn(2, 3))], {"alpha": 0.7}, desc="hvp", order=2)
    add_case("softplus", [plain(randn(2, 3))], {"beta": 1.5, "threshold": 20.0}, desc="hvp", order=2)
    # More activations: random inputs spread over their pieces, and the kinks themselves (PyTorch's
    # gradient at each end: hardtanh/relu6/hardsigmoid 0; hardswish -1/2 at -3 and 1 at 3).
    for op in ["log_sigmoid", "relu6", "hardsigmoid", "hardswish", "selu", "mish", "softsign"]:
        add_case(op, [plain(randn(*rshape(2)) * 4)], desc="2d")
        add_case(op, [transposed(randn, [3, 4])], desc="transposed")
    kinks = torch.tensor([-6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 7.0, -30.0, 30.0], dtype=DT)
    for op in ["log_sigmoid", "relu6", "hardsigmoid", "hardswish", "selu", "mish", "softsign"]:
        add_case(op, [plain(kinks.clone())], desc="kinks")
    add_case("hardtanh", [plain(randn(3, 4) * 2)], {"min": -1.0, "max": 1.0}, desc="2d")
    add_case("hardtanh", [plain(torch.tensor([-2.0, -0.5, 0.5, 2.0, -0.5, 2.5], dtype=DT))], {"min": -0.5, "max": 2.0},
             desc="ends")
    for op in ["log_sigmoid", "selu", "mish", "softsign", "hardswish"]:
        add_case(op, [plain(randn(2, 3))], desc="hvp", order=2)

    add_case("clamp", [plain(randn(3, 4))], {"min": -0.5, "max": 0.5}, desc="2d")
    add_case("clamp", [plain(randn(2, 3, 4))], {"min": -1.0, "max": 0.25}, desc="3d")
    add_case("clamp", [plain(randn())], {"min": -0.1, "max": 0.1}, desc="0d")
    add_case("clamp", [transposed(randn, [4, 3])], {"min": 0.0, "max": 1.0}, desc="noncontig")
    # On the bounds the gradient is 1 (torch 1.13).
    add_case("clamp", [plain(torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0], dtype=DT))],
             {"min": -1.0, "max": 1.0}, desc="bounds")

    cond = (torch.rand(3, 4) < 0.5).to(DT)
    add_case("where", [plain(cond, False), plain(randn(3, 4)), plain(randn(3, 4))], desc="same")
    cond = (torch.rand(3, 1) < 0.5).to(DT)
    add_case("where", [plain(cond, False), plain(randn(1, 4)), plain(randn(2, 3, 4))], desc="bcast")
    cond = (torch.rand(2, 3, 4) < 0.5).to(DT)
    add_case("where", [plain(cond, False), plain(randn()), plain(randn(4))], desc="bcast_cond")
    cond = (torch.rand(4, 3) < 0.5).to(DT)
    add_case("where", [plain(cond, False), transposed(randn, [4, 3]), strided(randn, [4, 3], 0)],
             desc="noncontig")
    cond = (torch.rand(3) < 0.5).to(DT)
    add_case("where", [plain(cond, False), plain(randn(3)), plain(randn(3), False)], desc="b_const")


def gen_reductions():
    for k in range(3):
        add_case("sum_all", [plain(randn(*rshape(k + 1)))], desc=f"r{k + 1}")
    add_case("sum_all", [plain(randn())], desc="0d")
    add_case("sum_all", [transposed(randn, [3, 4])], desc="noncontig")
    add_case("sum_all", [plain(randn(0, 3))], desc="empty")
    add_case("mean_all", [plain(randn(3, 4))], desc="2d")
    add_case("mean_all", [plain(randn())], desc="0d")
    add_case("mean_all", [strided(randn, [3, 4], 1)], desc="noncontig")

    for op in ["sum_dim", "mean_dim"]:
        for dim in [0, 1, 2, -1, -3]:
            for keepdim in [False, True]:
                add_case(op, [plain(randn(2, 3, 4))], {"dim": dim, "keepdim": keepdim},
                         desc=f"d{dim}_k{int(keepdim)}".replace("-", "m"))
        add_case(op, [transposed(randn, [3, 5])], {"dim": 1, "keepdim": False}, desc="noncontig")
        add_case(op, [plain(randn(5))], {"dim": 0, "keepdim": False}, desc="1d")
        add_case(op, [plain(randn(5))], {"dim": -1, "keepdim": True}, desc="1d_keep")
    for dims, keepdim in [([0, 2], False), ([0, 2], True), ([-1, 1], False), ([0, 1, 2], False),
                          ([1], True), ([2, 0], True)]:
        add_case("sum_dims", [plain(randn(2, 3, 4))], {"dims": dims, "keepdim": keepdim},
                 desc=("d" + "_".join(map(str, dims)) + f"_k{int(keepdim)}").replace("-", "m"))
    add_case("sum_dims", [permuted(randn, [2, 3, 4], [2, 0, 1])], {"dims": [0, 1], "keepdim": False},
             desc="noncontig")

    for op in ["max_dim", "min_dim", "logsumexp"]:
        for dim in [0, 1, -1]:
            for keepdim in [False, True]:
                add_case(op, [plain(randn(3, 4, 5))], {"dim": dim, "keepdim": keepdim},
                         desc=f"d{dim}_k{int(keepdim)}".replace("-", "m"))
        add_case(op, [transposed(randn, [4, 3])], {"dim": 0, "keepdim": False}, desc="noncontig")
        add_case(op, [plain(randn(6))], {"dim": 0, "keepdim": False}, desc="1d")
    add_case("logsumexp", [plain(torch.tensor([[1000.0, 1000.5, 999.0], [-1000.0, -1001.0, -999.5]],
                                              dtype=DT))], {"dim": 1, "keepdim": False}, desc="large")
    for op in ["var_dim", "std_dim"]:
        for dim, correction, keepdim in [(0, 1, False), (1, 0, True), (-1, 2, False), (1, 1, True)]:
            add_case(op, [plain(randn(3, 4, 5))], {"dim": dim, "correction": correction, "keepdim": keepdim},
                     desc=f"d{dim}_c{correction}_k{int(keepdim)}".replace("-", "m"))
        add_case(op, [transposed(randn, [4, 3])], {"dim": 0, "correction": 1, "keepdim": False}, desc="noncontig")
    for op in ["var_all", "std_all"]:
        add_case(op, [plain(randn(3, 4))], desc="2d")
        add_case(op, [strided(randn, [3, 4], 1)], desc="noncontig")
    for p in [1.0, 2.0, 3.0, 0.5, "inf", -1.5, "-inf"]:  # JSON has no infinity: "inf" is read back as a number
        tag = str(p).replace(".", "_").replace("-", "m")
        add_case("norm_all", [plain(randn(3, 4))], {"p": p}, desc=f"p{tag}")
        for dim, keepdim in [(0, False), (-1, True)]:
            add_case("norm_dim", [plain(randn(3, 4, 2))], {"p": p, "dim": dim, "keepdim": keepdim},
                     desc=f"p{tag}_d{dim}_k{int(keepdim)}".replace("-", "m"))
    # Zero rows (gradient 0, as torch) and inf-norm ties (shared evenly).
    add_case("norm_dim", [plain(torch.tensor([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0]], dtype=DT))],
             {"p": 2.0, "dim": 1, "keepdim": False}, desc="zero_row")
    add_case("norm_all", [plain(torch.tensor([[3.0, -3.0], [1.0, 3.0]], dtype=DT))], {"p": "inf"}, desc="ties")
    add_case("norm_all", [transposed(randn, [3, 4])], {"p": 2.0}, desc="noncontig")
    for dim in [0, 1, -1]:
        add_case("cumsum", [plain(randn(3, 4, 2))], {"dim": dim}, desc=f"d{dim}".replace("-", "m"))
    add_case("cumsum", [transposed(randn, [4, 5])], {"dim": 1}, desc="noncontig")
    add_case("cumsum", [plain(randn())], {"dim": 0}, desc="0d")
    # Reductions over dim lists (unsorted and negative dims too).
    for dims, keepdim in [([0, 2], False), ([-1, 0], True), ([1], False)]:
        tag = "_".join(str(d) for d in dims).replace("-", "m") + f"_k{int(keepdim)}"
        add_case("mean_dims", [plain(randn(3, 4, 2))], {"dims": dims, "keepdim": keepdim}, desc=tag)
        add_case("var_dims", [plain(randn(3, 4, 2))], {"dims": dims, "correction": 1, "keepdim": keepdim}, desc=tag)
        add_case("std_dims", [plain(randn(3, 4, 2))], {"dims": dims, "correction": 0, "keepdim": keepdim}, desc=tag)
        add_case("amax", [plain(randn(3, 4, 2))], {"dims": dims, "keepdim": keepdim}, desc=tag)
        add_case("amin", [plain(randn(3, 4, 2))], {"dims": dims, "keepdim": keepdim}, desc=tag)
        for p in [2.0, 3.0, "inf"]:
            add_case("norm_dims", [plain(randn(3, 4, 2))], {"p": p, "dims": dims, "keepdim": keepdim},
                     desc=f"p{str(p).replace('.', '_')}_{tag}")
    add_case("var_dims", [permuted(randn, [2, 3, 4], [2, 0, 1])], {"dims": [0, 1], "correction": 1, "keepdim": False},
             desc="noncontig")
    # amax/amin split the gradient between ties (torch.max over a dim gives it to one).
    add_case("amax", [plain(torch.tensor([[3.0, 1.0], [3.0, 2.0]], dtype=DT))], {"dims": [0, 1], "keepdim": False},
             desc="ties")
    add_case("amin", [plain(torch.tensor([[-1.0, -1.0, 2.0], [0.5, 4.0, 0.5]], dtype=DT))], {"dims": [1], "keepdim": True},
             desc="ties")
    add_case("var_dims", [plain(randn(3, 4))], {"dims": [0, 1], "correction": 1, "keepdim": False}, desc="hvp", order=2)
    # Products, also with zeros (one and two in a row: PyTorch's gradients there are exact too).
    with_zeros = torch.tensor([[0.5, 0.0, -1.5, 2.0], [0.0, 1.2, 0.0, -0.7], [0.9, -1.1, 1.3, 0.8]], dtype=DT)
    for dim in [0, 1, -1]:
        add_case("cumprod", [plain(randn(3, 4, 2))], {"dim": dim}, desc=f"d{dim}".replace("-", "m"))
        add_case("prod_dim", [plain(randn(3, 4, 2))], {"dim": dim, "keepdim": dim == 1}, desc=f"d{dim}".replace("-", "m"))
    add_case("cumprod", [plain(with_zeros)], {"dim": 1}, desc="zeros")
    add_case("prod_dim", [plain(with_zeros)], {"dim": 1, "keepdim": False}, desc="zeros")
    add_case("prod_dim", [plain(with_zeros)], {"dim": 0, "keepdim": True}, desc="zeros_d0")
    add_case("prod_all", [plain(randn(2, 3))], desc="2d")
    add_case("cumprod", [transposed(randn, [4, 3])], {"dim": 1}, desc="noncontig")
    add_case("cumprod", [plain(randn(3, 4))], {"dim": 1}, desc="hvp", order=2)
    add_case("prod_dim", [plain(with_zeros)], {"dim": 1, "keepdim": False}, desc="zeros_hvp", order=2)
    # Rearranging copies and views.
    add_case("flip", [plain(randn(2, 3, 4))], {"dims": [0, 2]}, desc="d0_2")
    add_case("flip", [transposed(randn, [3, 4])], {"dims": [-1]}, desc="noncontig")
    add_case("roll", [plain(randn(3, 4))], {"shifts": [1, -3], "dims": [0, 1]}, desc="2d")
    add_case("roll", [plain(randn(5))], {"shifts": [7], "dims": [0]}, desc="wrap")
    add_case("repeat", [plain(randn(2, 3))], {"repeats": [2, 1, 3]}, desc="lead")
    add_case("repeat", [transposed(randn, [3, 2])], {"repeats": [1, 2]}, desc="noncontig")
    for op in ["tril", "triu"]:
        for diagonal in [0, 1, -2]:
            add_case(op, [plain(randn(2, 4, 5))], {"diagonal": diagonal}, desc=f"g{diagonal}".replace("-", "m"))
    add_case("split_piece", [plain(randn(3, 7))], {"size": 3, "dim": 1, "piece": 2}, desc="last")
    add_case("chunk_piece", [plain(randn(5, 2))], {"chunks": 3, "dim": 0, "piece": 1}, desc="middle")
    add_case("std_dims", [plain(randn(2, 3, 2))], {"dims": [0, 2], "correction": 1, "keepdim": True}, desc="hvp", order=2)
    add_case("var_dim", [plain(randn(3, 4))], {"dim": 1, "correction": 1, "keepdim": False}, desc="hvp", order=2)
    add_case("std_dim", [plain(randn(3, 4))], {"dim": 0, "correction": 0, "keepdim": True}, desc="hvp", order=2)
    add_case("norm_dim", [plain(randn(3, 4))], {"p": 2.0, "dim": 1, "keepdim": False}, desc="hvp", order=2)
    add_case("norm_all", [plain(randn(3, 4))], {"p": 3.0}, desc="hvp", order=2)

    for op in ["max_all", "min_all"]:
        add_case(op, [plain(randn(3, 4))], desc="2d")
        add_case(op, [plain(randn(2, 3, 2))], desc="3d")
        add_case(op, [plain(randn())], desc="0d")
        add_case(op, [transposed(randn, [4, 3])], desc="noncontig")
    # Ties over all elements share the gradient evenly (torch 1.13).
    t = randn(3, 4)
    t[0, 1] = t[2, 3] = t[1, 0] = 5.0
    add_case("max_all", [plain(t.clone())], desc="ties")
    # Ties over a dim: the whole gradient goes to the first arg-max (torch 1.13 on the CPU).
    tied = torch.tensor([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 0.5, -1.0, -1.0]], dtype=DT)
    for op in ["max_dim", "min_dim"]:
        add_case(op, [plain(tied.clone())], {"dim": 1, "keepdim": False}, desc="ties_d1")
        add_case(op, [plain(tied.clone())], {"dim": 0, "keepdim": True}, desc="ties_d0")
    add_case("min_all", [plain(-t)], desc="ties")

    for op in ["softmax", "log_softmax"]:
        for dim in [0, 1, -1]:
            add_case(op, [plain(randn(3, 4, 5))], {"dim": dim}, desc=f"d{dim}".replace("-", "m"))
        add_case(op, [plain(randn(7))], {"dim": 0}, desc="1d")
        add_case(op, [transposed(randn, [4, 6])], {"dim": 1}, desc="noncontig")
        add_case(op, [plain(randn(2, 3) * 30)], {"dim": 1}, desc="wide")


def gen_matmul():
    shapes = [([4], [4], "dot"), ([3, 4], [4, 5], "mm"), ([4], [4, 5], "vm"), ([3, 4], [4], "mv"),
              ([2, 3, 4], [2, 4, 5], "bmm"), ([2, 3, 4], [4, 5], "b_m"), ([3, 4], [2, 4, 5], "m_b"),
              ([2, 1, 3, 4], [5, 4, 2], "bcast_batch"), ([4], [2, 4, 3], "v_b"), ([2, 3, 4], [4], "b_v"),
              ([1, 1], [1, 1], "tiny")]
    for a, b, d in shapes:
        add_case("matmul", [plain(randn(*a)), plain(randn(*b))], desc=d)
    add_case("matmul", [transposed(randn, [3, 4]), transposed(randn, [4, 5])], desc="both_T")
    add_case("matmul", [transposed(randn, [2, 3, 4]), plain(randn(4, 2))], desc="batched_T")
    add_case("matmul", [strided(randn, [3, 4], 1), strided(randn, [4, 2], 0)], desc="strided")
    add_case("matmul", [plain(randn(3, 4)), plain(randn(4, 5), False)], desc="b_const")
    add_case("matmul", [plain(randn(3, 0)), plain(randn(0, 2))], desc="empty_inner")
    for op in ["linear", "linear_relu"]:
        add_case(op, [plain(randn(5, 4)), plain(randn(3, 4)), plain(randn(3))])
        add_case(op, [plain(randn(2, 5, 4)), transposed(randn, [3, 4])], desc="batched_no_bias_wT")
        add_case(op, [plain(randn(5, 4)), plain(randn(3, 4)), plain(randn(3))], desc="hvp", order=2)


def gen_shape():
    add_case("reshape", [plain(randn(2, 3, 4))], {"shape": [6, 4]}, desc="merge")
    add_case("reshape", [plain(randn(2, 3, 4))], {"shape": [4, -1]}, desc="infer")
    add_case("reshape", [plain(randn(6))], {"shape": [1, 2, 1, 3]}, desc="split")
    add_case("reshape", [plain(randn())], {"shape": [1, 1]}, desc="from_0d")
    add_case("reshape", [plain(randn(1, 1))], {"shape": []}, desc="to_0d")
    add_case("reshape", [transposed(randn, [3, 4])], {"shape": [12]}, desc="noncontig")
    add_case("transpose", [plain(randn(3, 4))], {"dim0": 0, "dim1": 1}, desc="2d")
    add_case("transpose", [plain(randn(2, 3, 4))], {"dim0": -1, "dim1": 0}, desc="neg")
    add_case("transpose", [plain(randn(2, 3))], {"dim0": 1, "dim1": 1}, desc="same_dim")
    add_case("transpose", [strided(randn, [3, 4], 0)], {"dim0": 0, "dim1": 1}, desc="noncontig")
    add_case("permute", [plain(randn(2, 3, 4))], {"dims": [2, 0, 1]}, desc="3d")
    add_case("permute", [plain(randn(2, 3, 4, 5))], {"dims": [3, 1, 0, 2]}, desc="4d")
    add_case("permute", [plain(randn(2, 3, 4))], {"dims": [-1, 0, -2]}, desc="neg")
    add_case("permute", [transposed(randn, [3, 4])], {"dims": [1, 0]}, desc="noncontig")
    add_case("slice", [plain(randn(5, 4))], {"dim": 0, "start": 1, "end": 4, "step": 1}, desc="rows")
    add_case("slice", [plain(randn(3, 7))], {"dim": 1, "start": 0, "end": 7, "step": 3}, desc="step3")
    add_case("slice", [plain(randn(2, 3, 6))], {"dim": -1, "start": -4, "end": -1, "step": 2}, desc="neg")
    add_case("slice", [transposed(randn, [5, 4])], {"dim": 1, "start": 1, "end": 3, "step": 1},
             desc="noncontig")
    add_case("narrow", [plain(randn(5, 4))], {"dim": 0, "start": 2, "length": 3}, desc="rows")
    add_case("narrow", [plain(randn(2, 6))], {"dim": -1, "start": 0, "length": 2}, desc="neg_dim")
    add_case("narrow", [transposed(randn, [4, 5])], {"dim": 1, "start": 1, "length": 3}, desc="noncontig")
    add_case("select", [plain(randn(3, 4))], {"dim": 0, "index": 1}, desc="row")
    add_case("select", [plain(randn(2, 3, 4))], {"dim": -1, "index": 3}, desc="neg_dim")
    add_case("select", [plain(randn(2, 3, 4))], {"dim": 1, "index": -1}, desc="neg_index")
    add_case("select", [plain(randn(4))], {"dim": 0, "index": 2}, desc="to_0d")
    add_case("select", [transposed(randn, [3, 4])], {"dim": 1, "index": 2}, desc="noncontig")
    add_case("expand", [plain(randn(3, 1))], {"shape": [3, 4]}, desc="col")
    add_case("expand", [plain(randn(4))], {"shape": [2, 3, 4]}, desc="new_dims")
    add_case("expand", [plain(randn(1, 3, 1))], {"shape": [2, -1, 5]}, desc="keep")
    add_case("expand", [plain(randn())], {"shape": [2, 3]}, desc="from_0d")
    add_case("expand", [transposed(randn, [1, 3, 2], 0, 2)], {"shape": [4, 3, 2]}, desc="noncontig")
    add_case("unsqueeze", [plain(randn(3, 4))], {"dim": 0}, desc="front")
    add_case("unsqueeze", [plain(randn(3, 4))], {"dim": 2}, desc="back")
    add_case("unsqueeze", [plain(randn(3, 4))], {"dim": -1}, desc="neg")
    add_case("unsqueeze", [plain(randn())], {"dim": 0}, desc="0d")
    add_case("unsqueeze", [transposed(randn, [3, 4])], {"dim": 1}, desc="noncontig")
    add_case("squeeze", [plain(randn(3, 1, 4))], {"dim": 1}, desc="mid")
    add_case("squeeze", [plain(randn(3, 4, 1))], {"dim": -1}, desc="neg")
    add_case("squeeze", [plain(randn(1))], {"dim": 0}, desc="to_0d")
    add_case("squeeze", [transposed(randn, [1, 4, 3], 1, 2)], {"dim": 0}, desc="noncontig")
    add_case("flatten", [plain(randn(2, 3, 4))], {"start_dim": 0, "end_dim": -1}, desc="all")
    add_case("flatten", [plain(randn(2, 3, 4, 5))], {"start_dim": 1, "end_dim": 2}, desc="mid")
    add_case("flatten", [plain(randn(2, 3, 4))], {"start_dim": -2, "end_dim": -1}, desc="neg")
    add_case("flatten", [transposed(randn, [2, 3, 4], 0, 2)], {"start_dim": 0, "end_dim": 1},
             desc="noncontig")
    add_case("flatten", [plain(randn())], {"start_dim": 0, "end_dim": -1}, desc="0d")

    add_case("cat", [plain(randn(2, 3)), plain(randn(4, 3))], {"dim": 0}, desc="rows")
    add_case("cat", [plain(randn(2, 3)), plain(randn(2, 1)), plain(randn(2, 5))], {"dim": 1}, desc="three")
    add_case("cat", [plain(randn(2, 3, 4)), plain(randn(2, 3, 2))], {"dim": -1}, desc="neg")
    add_case("cat", [transposed(randn, [3, 4]), plain(randn(3, 2))], {"dim": 1}, desc="noncontig")
    add_case("cat", [plain(randn(3)), plain(randn(3), False)], {"dim": 0}, desc="one_const")
    add_case("cat", [plain(randn(2, 3))], {"dim": 0}, desc="single")
    add_case("stack", [plain(randn(2, 3)), plain(randn(2, 3))], {"dim": 0}, desc="front")
    add_case("stack", [plain(randn(2, 3)), plain(randn(2, 3)), plain(randn(2, 3))], {"dim": 2}, desc="back")
    add_case("stack", [plain(randn(2, 3)), plain(randn(2, 3))], {"dim": -2}, desc="neg")
    add_case("stack", [plain(randn()), plain(randn())], {"dim": 0}, desc="0d")
    add_case("stack", [transposed(randn, [3, 4]), strided(randn, [3, 4], 1)], {"dim": 1}, desc="noncontig")

    idx = lambda *v: In(torch.tensor(list(v), dtype=torch.int64), False)
    add_case("index_select", [plain(randn(5, 3)), idx(4, 0, 2)], {"dim": 0}, desc="rows")
    add_case("index_select", [plain(randn(2, 5)), idx(1, 1, 3, 1)], {"dim": 1}, desc="dups")
    add_case("index_select", [plain(randn(2, 3, 4)), idx(3, 0)], {"dim": -1}, desc="neg_dim")
    add_case("index_select", [transposed(randn, [4, 3]), idx(0, 3, 3)], {"dim": 0}, desc="noncontig")
    add_case("index_select", [plain(randn(4)), idx(2)], {"dim": 0}, desc="1d")

    def rindex(shape, hi):
        return In(torch.randint(0, hi, shape, dtype=torch.int64), False)

    add_case("gather", [plain(randn(3, 4)), rindex([3, 6], 4)], {"dim": 1}, desc="d1")
    add_case("gather", [plain(randn(5, 3)), rindex([2, 3], 5)], {"dim": 0}, desc="d0")
    add_case("gather", [plain(randn(2, 3, 4)), rindex([2, 2, 4], 3)], {"dim": -2}, desc="neg_dim")
    add_case("gather", [transposed(randn, [4, 3]), rindex([4, 2], 3)], {"dim": 1}, desc="noncontig")
    add_case("gather", [plain(randn(4, 5)), rindex([2, 3], 5)], {"dim": 1}, desc="small_index")
    add_case("scatter_add", [plain(randn(3, 5)), rindex([3, 4], 5), plain(randn(3, 4))], {"dim": 1},
             desc="d1")
    add_case("scatter_add", [plain(randn(4, 3)), rindex([6, 3], 4), plain(randn(6, 3))], {"dim": 0},
             desc="d0_dups")
    add_case("scatter_add", [plain(randn(2, 4, 3)), rindex([2, 5, 2], 4), plain(randn(2, 5, 2))],
             {"dim": -2}, desc="neg_dim_small")
    add_case("scatter_add", [transposed(randn, [3, 4]), rindex([3, 4], 4), strided(randn, [3, 4], 0)],
             {"dim": 1}, desc="noncontig")
    add_case("scatter_add", [plain(randn(3, 4), False), rindex([3, 4], 4), plain(randn(3, 4))],
             {"dim": 1}, desc="self_const")

    add_case("to", [plain(randn(3, 4))], {"dtype": "float32"}, desc="f32")
    add_case("to", [transposed(randn, [3, 4])], {"dtype": "float32"}, desc="f32_noncontig")
    add_case("to", [plain(randn(3, 4))], {"dtype": "float64"}, desc="f64_same")
    add_case("to", [plain(randn())], {"dtype": "float32"}, desc="0d")
    add_case("clone", [plain(randn(3, 4))], desc="2d")
    add_case("clone", [transposed(randn, [3, 4])], desc="noncontig")
    add_case("clone", [plain(randn())], desc="0d")


def gen_edges():
    """Fan-out (one leaf used twice), domain edges torch defines specially, and 0-d reductions."""
    add_case("mul", [plain(randn(3, 4)), same_leaf(0)], desc="fanout_square")
    add_case("add", [plain(randn(4, 4)), same_leaf(0, [["transpose", 0, 1]])], desc="fanout_transposed")
    add_case("matmul", [plain(randn(3, 4)), same_leaf(0, [["transpose", 0, 1]])], desc="fanout_gram")
    add_case("maximum", [plain(randn(3, 4)), same_leaf(0)], desc="fanout_self_tie")
    add_case("cat", [plain(randn(2, 3)), same_leaf(0), same_leaf(0, [["slice", 1, 0, 3, 2]])], {"dim": 1},
             desc="fanout")
    add_case("div", [plain(away_from_zero(3, 1)), same_leaf(0, [["transpose", 0, 1]])], desc="fanout_hvp",
             order=2)
    add_case("mul", [plain(randn(3, 4)), same_leaf(0)], desc="fanout_square_hvp", order=2)
    # torch: d(a^b)/da = 0 where b == 0 (even at a == 0), d(a^b)/db = 0 where a == 0 and b >= 0.
    add_case("pow", [plain(torch.tensor([0.0, 0.0, 0.0, 1.5, 2.0], dtype=DT)),
                     plain(torch.tensor([0.0, 2.5, 1.0, 0.0, 3.0], dtype=DT))], desc="zero_base")
    add_case("rpow", [plain(torch.tensor([0.0, 0.5, 2.0, 3.0], dtype=DT))], {"base": 0.0}, desc="zero_base")
    add_case("pow_scalar", [plain(torch.tensor([0.0, -1.5, 2.0], dtype=DT))], {"exponent": 2.0}, desc="at_zero")
    add_case("pow_scalar", [plain(torch.tensor([0.0, -1.5, 2.0], dtype=DT))], {"exponent": 3.0}, desc="at_zero")
    add_case("pow_scalar", [plain(torch.tensor([0.0, -1.5, 2.0], dtype=DT))], {"exponent": 0.0}, desc="at_zero")
    # Python-style slice bounds: out-of-range ends are clipped.
    add_case("slice", [plain(randn(4, 3))], {"dim": 0, "start": 1, "end": 100, "step": 2}, desc="end_clipped")
    add_case("slice", [plain(randn(4, 3))], {"dim": 0, "start": -100, "end": 2, "step": 1}, desc="start_clipped")
    add_case("slice", [plain(randn(4, 3))], {"dim": 1, "start": 2, "end": 1, "step": 1}, desc="empty")
    # Reductions over dim 0 / -1 of a 0-d tensor (torch allows them).
    for op in ["sum_dim", "mean_dim", "max_dim", "min_dim", "logsumexp"]:
        add_case(op, [plain(randn())], {"dim": 0, "keepdim": False}, desc="0d")
        add_case(op, [plain(randn())], {"dim": -1, "keepdim": True}, desc="0d_keep")
    for op in ["softmax", "log_softmax"]:
        add_case(op, [plain(randn())], {"dim": 0}, desc="0d")
    add_case("softmax", [plain(randn(3, 1))], {"dim": 1}, desc="size1")
    add_case("matmul", [expanded(randn, [1, 4], [3, 4]), expanded(randn, [4, 1], [4, 2])], desc="expanded")
    add_case("index_select", [plain(randn(3, 4)), In(torch.tensor([], dtype=torch.int64), False)], {"dim": 0},
             desc="empty_index")


def gen_large():
    """Above nabla's parallel grain (32768 elements), so the threaded kernels are compared too."""
    add_case("add", [plain(randn(200, 200)), plain(randn(200))], desc="large")
    add_case("exp", [transposed(randn, [200, 200])], desc="large")
    add_case("sum_all", [plain(randn(200, 200))], desc="large")
    add_case("sum_dim", [plain(randn(200, 200))], {"dim": 0, "keepdim": False}, desc="large")
    add_case("softmax", [plain(randn(200, 200))], {"dim": 1}, desc="large")
    add_case("max_dim", [plain(randn(200, 200))], {"dim": 1, "keepdim": True}, desc="large")


def gen_second_order():
    """Hessian-vector products: grad of <grad(y), probe>, first gradients built with create_graph."""
    add_case("mul", [plain(randn(3, 4)), plain(randn(4))], desc="hvp", order=2)
    add_case("div", [plain(randn(3, 4)), plain(away_from_zero(3, 1))], desc="hvp", order=2)
    add_case("pow_scalar", [plain(positive(3, 4))], {"exponent": 2.5}, desc="hvp", order=2)
    add_case("pow", [plain(positive(3, 4)), plain(randn(3, 4))], desc="hvp", order=2)
    add_case("rpow", [plain(randn(5))], {"base": 1.7}, desc="hvp", order=2)
    for op in ["exp", "sin", "cos", "tanh", "sigmoid"]:
        add_case(op, [plain(randn(3, 4))], desc="hvp", order=2)
    for op in ["log", "sqrt"]:
        add_case(op, [plain(positive(3, 4))], desc="hvp", order=2)
    add_case("rdiv_scalar", [plain(away_from_zero(4))], {"scalar": 2.0}, desc="hvp", order=2)
    add_case("softmax", [plain(randn(3, 5))], {"dim": 1}, desc="hvp", order=2)
    add_case("log_softmax", [plain(randn(3, 5))], {"dim": -1}, desc="hvp", order=2)
    add_case("logsumexp", [plain(randn(3, 5))], {"dim": 1, "keepdim": False}, desc="hvp", order=2)
    add_case("matmul", [plain(randn(3, 4)), plain(randn(4, 2))], desc="hvp", order=2)
    add_case("matmul", [transposed(randn, [2, 3, 4]), plain(randn(4, 2))], desc="hvp_batched", order=2)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: torch_oracle.py OUT.json")
    torch.set_default_dtype(DT)
    gen_binary()
    gen_pow()
    gen_unary()
    gen_reductions()
    gen_matmul()
    gen_shape()
    gen_edges()
    gen_large()
    gen_second_order()
    covered = {c["op"] for c in CASES}
    missing = set(OPS) - covered
    assert not missing, f"ops without a case: {sorted(missing)}"
    doc = {"torch_version": torch.__version__, "seed": SEED, "ops": sorted(OPS), "cases": CASES}
    with open(sys.argv[1], "w") as f:
        json.dump(doc, f, allow_nan=False)
    print(f"wrote {len(CASES)} cases of {len(covered)} ops to {sys.argv[1]}")


if __name__ == "__main__":
    main()
