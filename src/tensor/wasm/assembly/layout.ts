// The control block shared by the calling thread and the workers: sync words on their own cache lines (so a
// spinning thread does not slow the line another thread writes), then the parameters of the current job, then
// one small scratch tile per thread. The arena for operands starts after it; the JS side lays that out.

/** Job generation: bumped by the calling thread to start a job; workers wait on it. */
export const GEN: usize = 0;
/** Workers that finished the current job; the calling thread waits on it. */
export const DONE: usize = 64;
/** Threads arrived at the current barrier. */
export const BAR_COUNT: usize = 128;
/** Barrier generation: bumped by the last thread to arrive; the others wait on it. */
export const BAR_GEN: usize = 192;

// Job parameters (written by the calling thread before GEN is bumped, read by every participant).
export const P_OP: usize = 256;
export const P_NT: usize = 260; // threads taking part (all of them whenever a job is dispatched)
export const P_SPIN: usize = 264; // polls of a sync word before sleeping on it
export const P_I0: usize = 268; // integer parameters P_I0 + 4 * i
export const P_F0: usize = 320; // float parameters P_F0 + 4 * i

export const OP_GEMM: i32 = 1;
export const OP_BIAS_ACT: i32 = 2;
export const OP_ACT_BACKWARD: i32 = 3;
export const OP_EXIT: i32 = 4;

/** Per-thread scratch: one MR x NR tile of f32 for the edges of C. */
export const TILES: usize = 512;
export const TILE_BYTES: usize = 128;
export const MAX_THREADS: i32 = 64;
export const CTRL_BYTES: usize = 16384;

@inline export function paramI(ctrl: usize, i: usize): i32 {
  return load<i32>(ctrl + P_I0 + (i << 2));
}
@inline export function paramF(ctrl: usize, i: usize): f32 {
  return load<f32>(ctrl + P_F0 + (i << 2));
}
@inline export function setParamI(ctrl: usize, i: usize, v: i32): void {
  store<i32>(ctrl + P_I0 + (i << 2), v);
}
@inline export function setParamF(ctrl: usize, i: usize, v: f32): void {
  store<f32>(ctrl + P_F0 + (i << 2), v);
}
