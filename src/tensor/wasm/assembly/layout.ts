// The control block shared by the calling thread and the workers: sync words on their own cache lines (so a
// spinning thread does not slow the line another thread writes), then the parameters of the current job, then
// one small scratch tile per thread. The arena for operands starts after it; the JS side lays that out.

/** Job generation: bumped by the calling thread to start a job; workers wait on it. */
export const GEN: usize = 0;
/** Workers that joined the current job and finished their part of it. */
export const DONE: usize = 64;
/** Workers that joined the current job, plus CLOSED once the calling thread has closed it to late-comers. */
export const STATE: usize = 128;
export const CLOSED: i32 = 1 << 30;
/** The next unclaimed block of the job's split dimension. */
export const NEXT: usize = 192;
/** The next unclaimed chunk of a GEMM's shared operand, and how many chunks are packed. */
export const SHARED_NEXT: usize = 256;
export const SHARED_DONE: usize = 320;

// Job parameters (written by the calling thread before the job opens, read by every participant).
export const P_OP: usize = 384;
export const P_NT: usize = 388; // threads that may take part (the workers join as they wake up)
export const P_SPIN: usize = 392; // polls of a sync word before sleeping on it
export const P_I0: usize = 396; // integer parameters P_I0 + 4 * i
export const P_F0: usize = 448; // float parameters P_F0 + 4 * i, or double ones P_F0 + 8 * i (i < 8)

export const OP_GEMM: i32 = 1;
export const OP_BIAS_ACT: i32 = 2;
export const OP_ACT_BACKWARD: i32 = 3;
export const OP_EXIT: i32 = 4;
export const OP_UPDATE: i32 = 5;

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
@inline export function paramD(ctrl: usize, i: usize): f64 {
  return load<f64>(ctrl + P_F0 + (i << 3));
}
@inline export function setParamD(ctrl: usize, i: usize, v: f64): void {
  store<f64>(ctrl + P_F0 + (i << 3), v);
}
