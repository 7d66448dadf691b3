#!/usr/bin/python3
"""safetensors interop with PyTorch 1.13, which has no safetensors package: the format is parsed and
written by hand with json and struct only.

  safetensors_interop.py check FILE   verify a file written by nabla's interop test
  safetensors_interop.py write FILE   write a file for nabla's interop test to verify

Both sides build the same tensors from the same formulas (exact in float32, float64 and int64).
"""
import json
import struct
import sys

import torch

DTYPES = {"F32": (torch.float32, "f", 4), "F64": (torch.float64, "d", 8), "I64": (torch.int64, "q", 8)}


def float_values(n, salt):
    return [((i * 37 + salt) % 101) / 7.0 - 3.0 for i in range(n)]


def int_values(n, salt):
    return [i * 1234567891 - 5000000000 + salt for i in range(n)]


def make(shape, dtype, salt):
    n = 1
    for d in shape:
        n *= d
    if dtype == torch.int64:
        return torch.tensor(int_values(n, salt), dtype=torch.int64).reshape(shape)
    return torch.tensor(float_values(n, salt), dtype=torch.float64).to(dtype).reshape(shape)


# What nabla writes (name, shape, dtype, salt), in its order; mirrored in safetensors_interop_test.cpp.
NABLA_TENSORS = [
    ("layer1.weight", [3, 4], torch.float32, 1),
    ("layer1.bias", [4], torch.float32, 2),
    ("stats.double", [2, 3, 2], torch.float64, 3),
    ("counts", [5], torch.int64, 4),
    ("scalar", [], torch.float64, 5),
    ("empty", [0, 3], torch.float32, 6),
]
NABLA_METADATA = {"format": "pt", "epoch": "3", "note": "written by nabla"}


def parse(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    data = blob[8 + n :]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    spans = []
    for name, entry in header.items():
        dtype, code, size = DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        shape = entry["shape"]
        count = 1
        for d in shape:
            count *= d
        assert end - begin == count * size, (name, begin, end, count)
        values = struct.unpack("<%d%s" % (count, code), data[begin:end])
        tensors[name] = torch.tensor(values, dtype=dtype).reshape(shape)
        spans.append((begin, end))
    spans.sort()
    pos = 0
    for begin, end in spans:
        assert begin == pos, "hole or overlap at %d" % begin
        pos = end
    assert pos == len(data), "data not covered"
    assert (8 + n) % 8 == 0, "data not 8-byte aligned"
    return tensors, metadata, list(header.keys())


def check(path):
    tensors, metadata, order = parse(path)
    assert metadata == NABLA_METADATA, metadata
    assert order == [t[0] for t in NABLA_TENSORS], order
    for name, shape, dtype, salt in NABLA_TENSORS:
        t = tensors[name]
        want = make(shape, dtype, salt)
        assert t.dtype == dtype, (name, t.dtype)
        assert list(t.shape) == shape, (name, t.shape)
        assert torch.equal(t, want), (name, t, want)
    print("OK %d tensors" % len(tensors))


def write(path):
    # Written in an order different from the header's key order, with a padded header, a tensor made
    # contiguous from a transpose, and metadata in the middle of the header.
    w = make([4, 3], torch.float32, 11).t().contiguous()  # [3, 4]
    tensors = [
        ("b.big_ints", make([2, 2], torch.int64, 12)),
        ("a.weight_t", w),
        ("c.f64", make([3], torch.float64, 13)),
        ("d.scalar", make([], torch.float32, 14)),
    ]
    codes = {torch.float32: ("F32", "f"), torch.float64: ("F64", "d"), torch.int64: ("I64", "q")}
    blobs, header, offset = [], {}, 0
    for name, t in reversed(tensors):
        tag, code = codes[t.dtype]
        flat = t.reshape(-1).tolist()
        b = struct.pack("<%d%s" % (len(flat), code), *flat)
        header[name] = {"dtype": tag, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    ordered = {}
    for i, (name, _) in enumerate(tensors):
        ordered[name] = header[name]
        if i == 1:
            ordered["__metadata__"] = {"framework": "torch " + torch.__version__.split("+")[0], "kind": "python"}
    text = json.dumps(ordered).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    print("wrote", path)


if __name__ == "__main__":
    {"check": check, "write": write}[sys.argv[1]](sys.argv[2])
