"""Philox4x32-10 exactly as adx's Generator (engine/random.cpp), in NumPy.

Used by the fixture scripts to generate, from a tensor's name alone, the same
values that the C++ tests generate: fixtures then need no weight files.
"""
import numpy as np

M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
K0, K1 = 0x9E3779B9, 0xBB67AE85
MASK = np.uint64(0xFFFFFFFF)


def blocks(seed, count):
    """Raw Philox output for counters 0..count-1: an array (count, 4) of uint32."""
    ctr = np.arange(count, dtype=np.uint64)
    c0, c1 = ctr & MASK, ctr >> np.uint64(32)
    c2 = np.zeros_like(c0)
    c3 = np.zeros_like(c0)
    k0, k1 = seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF
    for _ in range(10):
        p0, p1 = M0 * c0, M1 * c2
        hi0, lo0 = p0 >> np.uint64(32), p0 & MASK
        hi1, lo1 = p1 >> np.uint64(32), p1 & MASK
        c0, c1, c2, c3 = hi1 ^ c1 ^ np.uint64(k0), lo1, hi0 ^ c3 ^ np.uint64(k1), lo0
        k0, k1 = (k0 + K0) & 0xFFFFFFFF, (k1 + K1) & 0xFFFFFFFF
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


def uniform(seed, n):
    """n floats in [0, 1), as Generator::uniform() draws them in order."""
    words = blocks(seed, (n + 3) // 4).reshape(-1)[:n]
    return (words >> np.uint32(8)).astype(np.float32) * np.float32(1.0 / 16777216.0)


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def named_tensor(name, shape):
    """The deterministic test value of the tensor called `name` (see
    tests/parity_util.h for the same rule in C++)."""
    n = int(np.prod(shape)) if len(shape) else 1
    u = uniform(fnv1a64(name), n).astype(np.float64)
    if name.endswith("running_var"):
        v = 0.5 + u
    elif name.endswith("running_mean") or name.endswith("bias"):
        v = 0.2 * (u - 0.5)
    elif len(shape) == 1:  # batch-norm scale
        v = 0.5 + u
    else:  # conv / linear weight: uniform with variance 1/fan_in
        fan_in = n // shape[0]
        v = (2 * u - 1) * np.sqrt(3.0 / fan_in)
    return v.astype(np.float32).reshape(shape)
