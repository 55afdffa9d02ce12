// Thread coordination over the shared memory: start a job, wait for it, and a barrier between the packing and
// the compute phase of a GEMM. Waiting polls a little first (a wake-up through the OS costs tens of
// microseconds, more than a small GEMM), then sleeps.
import { BAR_COUNT, BAR_GEN, DONE, GEN, P_NT, P_SPIN } from './layout';

// Sleeping and waking go through the embedder (Atomics.wait / Atomics.notify on the same memory) rather than
// wasm's memory.atomic.wait32 / notify: under Node 20 (V8 11.3) a thread's live values were seen corrupted
// after returning from memory.atomic.wait32 (whole GEMM shares computed with k or beta lost), which an
// ordinary call to an import cannot do.
@external("env", "wait") declare function hostWait(ptr: usize, value: i32): void;
@external("env", "notify") declare function hostNotify(ptr: usize, count: i32): void;

/** Returns once the i32 at `ptr` differs from `value`. */
export function waitWhileEquals(ptr: usize, value: i32, spin: i32): void {
  for (let i = 0; i < spin; i++) {
    if (atomic.load<i32>(ptr) != value) return;
  }
  while (atomic.load<i32>(ptr) == value) hostWait(ptr, value);
}

/** All `nt` participants of the current job meet here. */
export function barrier(ctrl: usize): void {
  const nt = load<i32>(ctrl + P_NT);
  if (nt <= 1) return;
  const gen = atomic.load<i32>(ctrl + BAR_GEN);
  if (atomic.add<i32>(ctrl + BAR_COUNT, 1) == nt - 1) {
    // Reset before releasing: nobody can arrive at the next barrier until BAR_GEN moves.
    atomic.store<i32>(ctrl + BAR_COUNT, 0);
    atomic.add<i32>(ctrl + BAR_GEN, 1);
    hostNotify(ctrl + BAR_GEN, nt - 1);
  } else {
    waitWhileEquals(ctrl + BAR_GEN, gen, load<i32>(ctrl + P_SPIN));
  }
}

/** Starts the job whose parameters are in place: every worker takes part. */
export function dispatch(ctrl: usize): void {
  atomic.add<i32>(ctrl + GEN, 1);
  hostNotify(ctrl + GEN, -1);
}

/** Called by a worker when its share is done. */
export function finish(ctrl: usize): void {
  const nt = load<i32>(ctrl + P_NT);
  if (atomic.add<i32>(ctrl + DONE, 1) == nt - 2) hostNotify(ctrl + DONE, 1);
}

/** Called by the calling thread after its own share: returns when every worker has finished. */
export function join(ctrl: usize): void {
  const nt = load<i32>(ctrl + P_NT);
  const spin = load<i32>(ctrl + P_SPIN);
  for (;;) {
    const done = atomic.load<i32>(ctrl + DONE);
    if (done == nt - 1) break;
    waitWhileEquals(ctrl + DONE, done, spin);
  }
  atomic.store<i32>(ctrl + DONE, 0);
}
