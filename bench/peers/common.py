"""Shared helpers for the peer benchmarks: the same data as sgdlab, timing."""
import gzip
import os
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def mnist_parity(n):
    """First n MNIST training images in [0,1] and +1 (even) / -1 (odd) labels, as sgdlab's mnist:parity:N."""
    with gzip.open(os.path.join(ROOT, "data", "mnist", "train-images-idx3-ubyte.gz")) as f:
        f.read(16)
        x = np.frombuffer(f.read(n * 784), dtype=np.uint8).reshape(n, 784).astype(np.float64) / 255.0
    with gzip.open(os.path.join(ROOT, "data", "mnist", "train-labels-idx1-ubyte.gz")) as f:
        f.read(8)
        lab = np.frombuffer(f.read(n), dtype=np.uint8)
    y = np.where(lab % 2 == 0, 1.0, -1.0)
    return x, y


def best_of(fn, repeat=3, min_time=0.5):
    """Best wall time of fn() over repeats (each repeat runs fn at least once)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = 0
        while True:
            fn()
            n += 1
            el = time.perf_counter() - t0
            if el >= min_time or n >= 1000:
                break
        best = min(best, el / n)
    return best
