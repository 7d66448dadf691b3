#!/usr/bin/python3
"""PyTorch side of the training benchmark: the same model, data, optimizer and batch as `nabla train`.

Usage: torch_train.py --model mlp|cnn --epochs N --threads T [--data DIR] [--seed S] [--augment none|flip]
                      [--schedule constant|cosine]
Prints one line per epoch: `epoch E train_loss L train_acc A test_loss L test_acc A epoch_seconds S`,
where epoch_seconds counts the training steps only (data loading excluded), as nabla does.
"""
import argparse
import gzip
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data[4 + 4 * ndim:], dtype=np.uint8).reshape(dims)


def find(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            return path
    raise SystemExit(f"{directory}: no {name} or {name}.gz")


def moments(x, rows=1000):
    """Mean and population std of every element, accumulated in float64 a slice at a time (no float64
    copy of the whole data set)."""
    n, total = x.numel(), 0.0
    for i in range(0, x.shape[0], rows):
        total += x[i:i + rows].double().sum().item()
    mean, squares = total / n, 0.0
    for i in range(0, x.shape[0], rows):
        squares += ((x[i:i + rows].double() - mean) ** 2).sum().item()
    return mean, (squares / n) ** 0.5


def build(model, hidden):
    if model == "mlp":
        layers, width = [], 784
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, 10))
        return nn.Sequential(nn.Flatten(), *layers)
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="mlp")
    p.add_argument("--hidden", default="256,128")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--raw-pixels", action="store_true", help="pixels in [0, 1], not standardised")
    p.add_argument("--augment", choices=["none", "flip"],
                   help="training-batch augmentation, as nabla train's")
    p.add_argument("--schedule", choices=["constant", "cosine"],
                   help="learning rate per step, as nabla train's (default: cosine for cnn, constant for mlp)")
    a = p.parse_args()
    augment = a.augment or "none"
    schedule = a.schedule or ("cosine" if a.model == "cnn" else "constant")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr = torch.from_numpy(read_idx(find(a.data, "train-images-idx3-ubyte")).astype(np.float32) / 255.0).unsqueeze(1)
    ytr = torch.from_numpy(read_idx(find(a.data, "train-labels-idx1-ubyte")).astype(np.int64))
    xte = torch.from_numpy(read_idx(find(a.data, "t10k-images-idx3-ubyte")).astype(np.float32) / 255.0).unsqueeze(1)
    yte = torch.from_numpy(read_idx(find(a.data, "t10k-labels-idx1-ubyte")).astype(np.int64))
    if not a.raw_pixels:  # as nabla train: standardised with the training images' mean and population std
        mean, std = moments(xtr)
        for x in (xtr, xte):  # in place, in float32: no second copy of the data set (peak memory is measured)
            x.sub_(mean).div_(std)
    model = build(a.model, [int(h) for h in a.hidden.split(",")])
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(a.seed)
    flips = torch.Generator().manual_seed(a.seed + 1)  # apart from the shuffle, as nabla's (on or off, same orders)
    n = xtr.shape[0]
    steps = a.epochs * ((n + a.batch - 1) // a.batch)
    # cosine: annealed from --lr to 0 over every step of the run, stepped after each batch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if schedule == "cosine" else None
    for epoch in range(1, a.epochs + 1):
        order = torch.randperm(n, generator=gen)
        model.train()
        seconds, loss_sum, correct = 0.0, 0.0, 0
        for start in range(0, n, a.batch):
            idx = order[start:start + a.batch]
            x, y = xtr[idx], ytr[idx]  # copies: flipping them leaves the data set alone
            if augment == "flip":  # each image mirrored left to right with probability 1/2, as nabla train
                mirrored = torch.rand(len(idx), generator=flips) < 0.5
                x[mirrored] = x[mirrored].flip(-1)
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            out = model(x)
            loss = loss_fn(out, y)
            loss.backward()
            opt.step()
            seconds += time.perf_counter() - t0
            if sched is not None:
                sched.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == y).sum().item()
        model.eval()
        with torch.no_grad():
            out = torch.cat([model(xte[i:i + 1000]) for i in range(0, xte.shape[0], 1000)])
            test_loss = loss_fn(out, yte).item()
            test_acc = (out.argmax(1) == yte).float().mean().item()
        print(f"epoch {epoch} train_loss {loss_sum / n:.4f} train_acc {correct / n:.4f} "
              f"test_loss {test_loss:.4f} test_acc {test_acc:.4f} epoch_seconds {seconds:.3f}", flush=True)


if __name__ == "__main__":
    main()
