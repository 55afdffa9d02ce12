"""numpy's side of test/bench/native-shapes.ts (a benchmark script, not a test).

Times the five GEMMs of a 784-1000-10 training step at batch B as numpy computes them (float32, the same
row-major operand layouts as gradpipe's Backend.gemm calls), on the thread count OpenBLAS was given by
OPENBLAS_NUM_THREADS. Prints one JSON line: {"blas": config, "core": corename, "shapes": {label: [seconds
per call of each round]}}.

    OPENBLAS_NUM_THREADS=2 python3 numpy_gemm.py BATCH ROUNDS MIN_SECONDS
"""
import ctypes
import glob
import json
import os
import sys
import time

import numpy as np


def blas_info():
    """OpenBLAS's config and core name from the library numpy loaded (scipy-openblas names its symbols)."""
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*"))
    for path in libs:
        lib = ctypes.CDLL(path)
        for suffix in ("64_", "", "_64"):
            for prefix in ("scipy_", ""):
                try:
                    cfg = getattr(lib, prefix + "openblas_get_config" + suffix)
                    core = getattr(lib, prefix + "openblas_get_corename" + suffix)
                except AttributeError:
                    continue
                cfg.restype = core.restype = ctypes.c_char_p
                return cfg().decode(), core().decode()
    return "unknown", "unknown"


def timed(f, rounds, min_seconds):
    for _ in range(3):
        f()
    out = []
    for _ in range(rounds):
        calls, t0 = 0, time.perf_counter()
        while True:
            f()
            calls += 1
            dt = time.perf_counter() - t0
            if dt >= min_seconds:
                break
        out.append(dt / calls)
    return out


def main():
    bsz, rounds, min_seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    rng = np.random.default_rng(7)
    f = lambda *s: rng.uniform(-1, 1, s).astype(np.float32)
    x, w1, a1, w2, d2, d1 = f(bsz, 784), f(1000, 784), f(bsz, 1000), f(10, 1000), f(bsz, 10), f(bsz, 1000)
    z1, z2, dw2, da, dw1 = (np.empty(s, np.float32) for s in [(bsz, 1000), (bsz, 10), (10, 1000), (bsz, 1000), (1000, 784)])
    tiny_a, tiny_b, tiny_c = f(4, 4), f(4, 4), np.empty((4, 4), np.float32)
    shapes = {
        "fwd1 NT": lambda: np.matmul(x, w1.T, out=z1),
        "fwd2 NT": lambda: np.matmul(a1, w2.T, out=z2),
        "dW2 TN": lambda: np.matmul(d2.T, a1, out=dw2),
        "dA NN": lambda: np.matmul(d2, w2, out=da),
        "dW1 TN": lambda: np.matmul(d1.T, x, out=dw1),
        "tiny 4x4x4": lambda: np.matmul(tiny_a, tiny_b, out=tiny_c),
    }
    cfg, core = blas_info()
    print(json.dumps({"blas": cfg, "core": core, "numpy": np.__version__,
                      "shapes": {k: timed(v, rounds, min_seconds) for k, v in shapes.items()}}))


main()
