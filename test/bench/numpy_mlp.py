"""Reference MLP in numpy for the training benchmark (test/bench/train.ts runs it; not a test).

Trains 784-H-10 (ReLU, softmax cross-entropy on logits, plain SGD, float32) from the initial weights and on
the batches that the benchmark gives it, and times the training loop alone (MNIST is read and decoded
before the clock starts). Each batch is gathered and scaled from the uint8 images inside the loop, as
gradpipe's pipeline does.

    python3 numpy_mlp.py JOB.json

JOB.json: {"images": gz, "labels": gz, "weights": f32 file (W1 HxI row-major, b1, W2 10xH, b2),
"indices": u32 file (the examples of every batch, in order), "hidden": H, "batch": B, "warmup": steps
not timed, "lr": rate, "out": f32 file for the final weights}. Prints one JSON line: the seconds of the
timed steps, their sample count, the mean loss of the last ten batches, the seconds spent in the
parameter updates, numpy's version.

With "mode": "to98" (and "testImages", "testLabels", "epochs", "momentum", "seed") it trains instead as
gradpipe's default pipeline does (momentum, the learning rate on a cosine schedule over the epochs, a new
shuffle every epoch from numpy's own seeded generator, full batches), evaluates the test set at every epoch
end (inside the clock) and stops at the first epoch end with >= 98% test accuracy; it prints the seconds
to that point and, per epoch, the cumulative seconds and the test accuracy.
"""
import gzip
import json
import sys
import time

try:
    import numpy as np
except ImportError:  # the caller reports numpy as skipped
    print(json.dumps({"skipped": "numpy is not installed for " + sys.executable}))
    sys.exit(0)


def idx(path, header):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


def forward_backward(x, t, w1, b1, w2, b2, bsz):
    """The batch's mean loss and the gradients (dW1, db1, dW2, db2)."""
    z1 = x @ w1.T + b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ w2.T + b2
    m = z2.max(axis=1, keepdims=True)
    e = np.exp(z2 - m)
    se = e.sum(axis=1, keepdims=True)
    lse = m + np.log(se)
    loss = float((lse[:, 0] - (z2 * t).sum(axis=1)).mean())
    d2 = (e / se - t) * np.float32(1 / bsz)
    dw2 = d2.T @ a1
    db2 = d2.sum(axis=0)
    d1 = d2 @ w2
    d1 *= a1 > 0
    return loss, (d1.T @ x, d1.sum(axis=0), dw2, db2)


def to98(job, images, labels, params):
    test_x = idx(job["testImages"], 16).reshape(-1, 784).astype(np.float32) * np.float32(1 / 255)
    test_y = idx(job["testLabels"], 8)
    bsz, base, mu, epochs = job["batch"], job["lr"], np.float32(job["momentum"]), job["epochs"]
    rng = np.random.default_rng(job["seed"])
    eye = np.eye(10, dtype=np.float32)
    scale = np.float32(1 / 255)
    vel = [np.zeros_like(p) for p in params]
    per_epoch = len(labels) // bsz
    out, reached = [], None
    start = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(len(labels))
        for s in range(per_epoch):
            progress = min(1.0, (epoch + s / per_epoch) / epochs)
            lr = np.float32(base * (1 + np.cos(np.pi * progress)) / 2)
            sel = order[s * bsz:(s + 1) * bsz]
            _, grads = forward_backward(images[sel].astype(np.float32) * scale, eye[labels[sel]], *params, bsz)
            for p, v, g in zip(params, vel, grads):
                v *= mu
                v += g
                p -= lr * v
        w1, b1, w2, b2 = params
        acc = float(((np.maximum(test_x @ w1.T + b1, 0) @ w2.T + b2).argmax(axis=1) == test_y).mean())
        out.append({"epoch": epoch + 1, "seconds": time.perf_counter() - start, "testAccuracy": acc})
        if acc >= 0.98:
            reached = out[-1]["seconds"]
            break
    print(json.dumps({"to98Seconds": reached, "epochs": out, "numpy": np.__version__}))


def main():
    job = json.load(open(sys.argv[1]))
    images = idx(job["images"], 16).reshape(-1, 784)
    labels = idx(job["labels"], 8)
    h = job["hidden"]
    w = np.fromfile(job["weights"], dtype=np.float32)
    sizes = [h * 784, h, 10 * h, 10]
    parts = np.split(w, np.cumsum(sizes)[:-1])
    w1, b1, w2, b2 = parts[0].reshape(h, 784).copy(), parts[1].copy(), parts[2].reshape(10, h).copy(), parts[3].copy()
    if job.get("mode") == "to98":
        return to98(job, images, labels, [w1, b1, w2, b2])
    order = np.fromfile(job["indices"], dtype=np.uint32)
    bsz, lr, warm = job["batch"], np.float32(job["lr"]), job["warmup"]
    steps = len(order) // bsz
    eye = np.eye(10, dtype=np.float32)
    scale = np.float32(1 / 255)
    losses = []
    start = None
    update = 0.0
    for s in range(steps):
        if s == warm:
            start = time.perf_counter()
        sel = order[s * bsz:(s + 1) * bsz]
        x = images[sel].astype(np.float32) * scale
        t = eye[labels[sel]]
        loss, (dw1, db1, dw2, db2) = forward_backward(x, t, w1, b1, w2, b2, bsz)
        losses.append(loss)
        u = time.perf_counter()
        w1 -= lr * dw1
        b1 -= lr * db1
        w2 -= lr * dw2
        b2 -= lr * db2
        if start is not None:
            update += time.perf_counter() - u
    seconds = time.perf_counter() - (start if start is not None else time.perf_counter())
    np.concatenate([w1.ravel(), b1, w2.ravel(), b2]).astype(np.float32).tofile(job["out"])
    tail = losses[-10:]
    print(json.dumps({
        "seconds": seconds,
        "samples": (steps - warm) * bsz,
        "tailLoss": sum(tail) / max(len(tail), 1),
        "updateSeconds": update,
        "numpy": np.__version__,
    }))


main()
