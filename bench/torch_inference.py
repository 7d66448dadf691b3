#!/usr/bin/python3
"""PyTorch side of the inference benchmark: the same trained MLP checkpoint (safetensors written by
`nabla train --save`), gradients off; latency of one sample and throughput of batches of 1,000.

Usage: torch_inference.py CHECKPOINT THREADS   → prints `latency_us L throughput_per_s T`
"""
import json
import struct
import sys
import time

import torch
import torch.nn as nn


def load(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    data = blob[8 + n:]
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            continue
        begin, end = entry["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32).reshape(entry["shape"])
    return tensors


def main():
    path, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    t = load(path)
    layers = []
    for i in (0, 2, 4):
        w = t[f"model.{i}.weight"]
        lin = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(t[f"model.{i}.bias"])
        layers += [lin, nn.ReLU()] if i < 4 else [lin]
    model = nn.Sequential(*layers).eval()
    torch.manual_seed(0)
    one, batch = torch.rand(1, 784), torch.rand(1000, 784)

    def seconds_each(x, runs):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t0)
        return sorted(times)

    with torch.no_grad():
        seconds_each(one, 1000)  # warm-up
        latency = seconds_each(one, 20000)
        seconds_each(batch, 5)
        throughput = sorted(1000 / t for t in seconds_each(batch, 100))
    print(f"latency_us {latency[len(latency) // 2] * 1e6:.2f} throughput_per_s {throughput[len(throughput) // 2]:.0f}")


if __name__ == "__main__":
    main()
