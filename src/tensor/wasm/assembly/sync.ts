// Thread coordination over the shared memory. A job is a pool of blocks that threads claim one at a time
// from an atomic counter, so no thread ever waits for another to wake up:
// 1. the calling thread opens the job and wakes the workers;
// 2. every thread, the calling one first, claims and computes blocks until none are left; a worker joins
//    (counts itself in STATE) only while the job is open, and reports in DONE when it has finished;
// 3. the calling thread, out of blocks, closes the job and waits only for the workers that joined.
// Which thread computes a block changes nothing in it, so the result does not depend on who joined.
// Waiting polls a little first (an OS wake-up costs tens of microseconds), then sleeps.
import { CLOSED, DONE, GEN, NEXT, P_NT, P_SPIN, SHARED_DONE, SHARED_NEXT, STATE } from './layout';

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

/** Returns once the i32 at `ptr` has reached `target` (it only grows). */
export function waitUntilReaches(ptr: usize, target: i32, spin: i32): void {
  for (;;) {
    const v = atomic.load<i32>(ptr);
    if (v >= target) return;
    waitWhileEquals(ptr, v, spin);
  }
}

/** Claims the next block of the job: its index, or a number >= the block count when none is left. */
@inline export function claim(ctrl: usize): i32 {
  return atomic.add<i32>(ctrl + NEXT, 1);
}

/** Claims the next chunk of a GEMM's shared operand. */
@inline export function claimShared(ctrl: usize): i32 {
  return atomic.add<i32>(ctrl + SHARED_NEXT, 1);
}

/** Reports a chunk of the shared operand packed; the last one wakes whoever waits for them all. */
export function sharedPacked(ctrl: usize, chunks: i32): void {
  if (atomic.add<i32>(ctrl + SHARED_DONE, 1) == chunks - 1) hostNotify(ctrl + SHARED_DONE, -1);
}

/** Waits until all `chunks` chunks of the shared operand are packed. */
export function awaitShared(ctrl: usize, chunks: i32): void {
  waitUntilReaches(ctrl + SHARED_DONE, chunks, load<i32>(ctrl + P_SPIN));
}

/**
 * Opens a job whose parameters are in place and, when it may use workers, wakes them. A job for the calling
 * thread alone starts closed: a worker woken by an earlier job and arriving only now must stay out, as the
 * calling thread will not wait for it.
 */
export function open(ctrl: usize): void {
  const parallel = load<i32>(ctrl + P_NT) > 1;
  atomic.store<i32>(ctrl + NEXT, 0);
  atomic.store<i32>(ctrl + SHARED_NEXT, 0);
  atomic.store<i32>(ctrl + SHARED_DONE, 0);
  atomic.store<i32>(ctrl + DONE, 0);
  atomic.store<i32>(ctrl + STATE, parallel ? 0 : CLOSED);
  if (parallel) {
    atomic.add<i32>(ctrl + GEN, 1);
    hostNotify(ctrl + GEN, -1);
  }
}

/** Workers that joined the last job (0 for a job on the calling thread alone). */
export function joinedWorkers(ctrl: usize): i32 {
  return atomic.load<i32>(ctrl + STATE) & (CLOSED - 1);
}

/** Whether a worker could join now (never once a job has returned). */
export function isOpen(ctrl: usize): bool {
  return (atomic.load<i32>(ctrl + STATE) & CLOSED) == 0;
}

/** A worker's attempt to join the open job; false when it is closed already. */
export function tryJoin(ctrl: usize): bool {
  let s = atomic.load<i32>(ctrl + STATE);
  while (!(s & CLOSED)) {
    const seen = atomic.cmpxchg<i32>(ctrl + STATE, s, s + 1);
    if (seen == s) return true;
    s = seen;
  }
  return false;
}

/** Called by a worker that joined, when it has claimed its last block and finished it. */
export function finish(ctrl: usize): void {
  atomic.add<i32>(ctrl + DONE, 1);
  hostNotify(ctrl + DONE, 1);
}

/** Called by the calling thread once it finds no block left: closes the job, waits for those who joined. */
export function close(ctrl: usize): void {
  if (load<i32>(ctrl + P_NT) <= 1) return;
  const joined = atomic.or<i32>(ctrl + STATE, CLOSED) & (CLOSED - 1);
  waitUntilReaches(ctrl + DONE, joined, load<i32>(ctrl + P_SPIN));
}
