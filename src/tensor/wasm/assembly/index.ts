// gradpipe's WebAssembly kernels: the entry points the calling thread and the workers use. Every instance
// (the calling thread's and each worker's) shares one imported memory; a job's parameters sit in the control
// block, so a worker needs nothing but its thread index.
import {
  CTRL_BYTES, GEN, MAX_THREADS, OP_ACT_BACKWARD, OP_BIAS_ACT, OP_EXIT, OP_GEMM, OP_UPDATE, P_NT, P_OP, P_SPIN,
  setParamD, setParamF, setParamI,
} from './layout';
import { close, finish, isOpen, joinedWorkers, open, tryJoin, waitWhileEquals } from './sync';
import { G_A, G_ALPHA, G_B, G_BETA, G_C, G_K, G_LA, G_LB, G_M, G_MODE, G_N, G_PA, G_PB, G_TRANS_A, G_TRANS_B, gemmPart } from './gemm';
import {
  D_B1, D_B2, D_C1, D_C2, D_CLIP, D_DECAY, D_EPS, D_LR, D_MU, KIND_ADAM, U_G, U_KIND, U_N, U_PARTS, U_S, U_S2, U_V, U_V2, U_W, U_W2, UPDATE_BLOCK, updatePart,
} from './optimizer';
import { E_ACT, E_COLS, E_N, E_OUT, E_ROWS, E_X, E_Y, activationBackwardPart, biasActivationPart } from './elementwise';

/** Where the control block starts (after the module's static data). */
export function ctrlBase(): usize {
  return (__heap_base + 63) & ~63;
}

/** Where the operand arena starts; the JS side lays out each job's buffers from here. */
export function arenaBase(): usize {
  return ctrlBase() + CTRL_BYTES;
}

export function maxThreads(): i32 {
  return MAX_THREADS;
}

/** Workers that took part in the last job (for tests and diagnostics). */
export function lastJoined(): i32 {
  return joinedWorkers(ctrlBase());
}

/** 1 while a worker could still join the current job: must be 0 whenever no call is running. */
export function jobOpen(): i32 {
  return isOpen(ctrlBase()) ? 1 : 0;
}

function runPart(ctrl: usize, tid: i32, nt: i32): void {
  const op = load<i32>(ctrl + P_OP);
  if (op == OP_GEMM) gemmPart(ctrl, tid, nt);
  else if (op == OP_BIAS_ACT) biasActivationPart(ctrl, tid, nt);
  else if (op == OP_ACT_BACKWARD) activationBackwardPart(ctrl, tid, nt);
  else if (op == OP_UPDATE) updatePart(ctrl, tid, nt);
}

/** Runs the job in place on up to `nt` threads (see sync.ts); returns when it is complete. */
function run(ctrl: usize, op: i32, nt: i32, spin: i32): void {
  store<i32>(ctrl + P_OP, op);
  store<i32>(ctrl + P_NT, nt);
  store<i32>(ctrl + P_SPIN, spin);
  open(ctrl);
  runPart(ctrl, 0, nt);
  close(ctrl);
}

/**
 * C = alpha * op(A) * op(B) + beta * C with A, B, C (contiguous, row-major) and the packing buffers pa, pb in
 * this memory; la, lb room for the panels' lists of nonzero steps (gemm.ts; both 0: every step of every
 * tile). mode: 0 stores the product, 1 scales it by alpha, 2 also adds beta * C.
 * nt is 1 (the calling thread alone) or the number of threads the pool was started with (workers join as
 * they wake up).
 */
export function gemm(
  nt: i32, spin: i32, transA: i32, transB: i32, m: i32, n: i32, k: i32, mode: i32, alpha: f32, beta: f32,
  a: usize, b: usize, c: usize, pa: usize, pb: usize, la: usize, lb: usize,
): void {
  const ctrl = ctrlBase();
  setParamI(ctrl, G_TRANS_A, transA); setParamI(ctrl, G_TRANS_B, transB);
  setParamI(ctrl, G_M, m); setParamI(ctrl, G_N, n); setParamI(ctrl, G_K, k); setParamI(ctrl, G_MODE, mode);
  setParamI(ctrl, G_A, <i32>a); setParamI(ctrl, G_B, <i32>b); setParamI(ctrl, G_C, <i32>c);
  setParamI(ctrl, G_PA, <i32>pa); setParamI(ctrl, G_PB, <i32>pb);
  // lists for both operands or for neither
  setParamI(ctrl, G_LA, la != 0 && lb != 0 ? <i32>la : 0); setParamI(ctrl, G_LB, la != 0 && lb != 0 ? <i32>lb : 0);
  setParamF(ctrl, G_ALPHA, alpha); setParamF(ctrl, G_BETA, beta);
  run(ctrl, OP_GEMM, nt, spin);
}

/** out[i, j] = act(z[i, j] + bias[j]); out may be z. */
export function biasActivation(nt: i32, spin: i32, z: usize, bias: usize, rows: i32, cols: i32, act: i32, out: usize): void {
  const ctrl = ctrlBase();
  setParamI(ctrl, E_ROWS, rows); setParamI(ctrl, E_COLS, cols); setParamI(ctrl, E_ACT, act);
  setParamI(ctrl, E_X, <i32>z); setParamI(ctrl, E_Y, <i32>bias); setParamI(ctrl, E_OUT, <i32>out);
  run(ctrl, OP_BIAS_ACT, nt, spin);
}

/**
 * absRange (src/tensor/reduce.ts) of n float32 values at x, on their bit patterns as the TypeScript does: the
 * largest of |bits| in the high word, the smallest of (|bits| - 1) & 0x7fffffff in the low one. Exact integer
 * operations, so the order of the lanes changes nothing; on the calling thread.
 */
export function absRangeBits(x: usize, n: i32): i64 {
  const mask = i32x4.splat(0x7fffffff);
  const ones = i32x4.splat(1);
  let vmax = i32x4.splat(0);
  let vmin = mask;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const m = v128.and(v128.load(x + (<usize>i << 2)), mask);
    vmax = i32x4.max_s(vmax, m);
    vmin = i32x4.min_s(vmin, v128.and(i32x4.sub(m, ones), mask));
  }
  let hi = max(max(i32x4.extract_lane(vmax, 0), i32x4.extract_lane(vmax, 1)), max(i32x4.extract_lane(vmax, 2), i32x4.extract_lane(vmax, 3)));
  let lo = min(min(i32x4.extract_lane(vmin, 0), i32x4.extract_lane(vmin, 1)), min(i32x4.extract_lane(vmin, 2), i32x4.extract_lane(vmin, 3)));
  for (; i < n; i++) {
    const m = load<i32>(x + (<usize>i << 2)) & 0x7fffffff;
    hi = max(hi, m);
    lo = min(lo, (m - 1) & 0x7fffffff);
  }
  return (<i64>hi << 32) | <i64>(<u32>lo);
}

/**
 * out[j] = sum_i x[i, j] for a rows x cols float32 matrix, with the bits of columnSumsInto
 * (src/tensor/kernels.ts): each column added row after row in double precision, rounded once to float32.
 * Eight columns at a time in four f64x2 sums (the rows in order in each lane), then the rest one by one; on
 * the calling thread. out may not overlap x.
 */
export function columnSums(x: usize, rows: i32, cols: i32, out: usize): void {
  const row = <usize>cols << 2;
  let j = 0;
  for (; j + 8 <= cols; j += 8) {
    let s0 = f64x2.splat(0), s1 = s0, s2 = s0, s3 = s0;
    let p = x + (<usize>j << 2);
    for (let i = 0; i < rows; i++, p += row) {
      const lo = v128.load(p), hi = v128.load(p, 16);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(lo));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(i32x4.shuffle(lo, lo, 2, 3, 0, 1)));
      s2 = f64x2.add(s2, f64x2.promote_low_f32x4(hi));
      s3 = f64x2.add(s3, f64x2.promote_low_f32x4(i32x4.shuffle(hi, hi, 2, 3, 0, 1)));
    }
    const o = out + (<usize>j << 2);
    v128.store64_lane(o, f32x4.demote_f64x2_zero(s0), 0);
    v128.store64_lane(o, f32x4.demote_f64x2_zero(s1), 0, 8);
    v128.store64_lane(o, f32x4.demote_f64x2_zero(s2), 0, 16);
    v128.store64_lane(o, f32x4.demote_f64x2_zero(s3), 0, 24);
  }
  for (; j < cols; j++) {
    let s: f64 = 0;
    let p = x + (<usize>j << 2);
    for (let i = 0; i < rows; i++, p += row) s += <f64>load<f32>(p);
    store<f32>(out + (<usize>j << 2), <f32>s);
  }
}

/**
 * out[i] = src[i] / 255 for n bytes at src, into float32 at out, with the bits of scaleBytes
 * (src/data/pixels.ts), which multiplies by 1/255 in double precision and rounds once to float32: for every
 * byte value that equals the float32 quotient b / 255, correctly rounded (all 256 are checked by a test), so
 * sixteen bytes a step are widened exactly and divided in float32 lanes; on the calling thread.
 */
export function scaleBytes(src: usize, n: i32, out: usize): void {
  const d = f32x4.splat(255);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const b = v128.load(src + <usize>i);
    const lo = i16x8.extend_low_i8x16_u(b), hi = i16x8.extend_high_i8x16_u(b);
    const o = out + (<usize>i << 2);
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(lo)), d));
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(lo)), d), 16);
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(hi)), d), 32);
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(hi)), d), 48);
  }
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>load<u8>(src + <usize>i) / <f32>255);
}

/** out = delta * act'(z) written through a = act(z), over n elements; out may be delta. */
export function activationBackward(nt: i32, spin: i32, delta: usize, a: usize, n: i32, act: i32, out: usize): void {
  const ctrl = ctrlBase();
  setParamI(ctrl, E_N, n); setParamI(ctrl, E_ACT, act);
  setParamI(ctrl, E_X, <i32>delta); setParamI(ctrl, E_Y, <i32>a); setParamI(ctrl, E_OUT, <i32>out);
  run(ctrl, OP_ACT_BACKWARD, nt, spin);
}

/** Elements per block of an optimiser update (the JS side sizes the per-block check buffer with it). */
export function updateBlock(): i32 {
  return UPDATE_BLOCK;
}

/**
 * One optimiser rule (optimizer.ts: 0 sgd, 1 momentum, 2 nesterov, 3 adam) over n float32 values: w' to w2,
 * the first moment from v to v2, the second from s to s2 (each output either apart from every input or the
 * same place as its own input). parts has room for one f64 per block. Returns the check, the blocks' parts
 * summed in block order. mu is unused by adam, the adam-only values by the others.
 */
export function optimizerUpdate(
  nt: i32, spin: i32, kind: i32, n: i32, w: usize, g: usize, v: usize, s: usize, w2: usize, v2: usize, s2: usize, parts: usize,
  clip: f64, decay: f64, lr: f64, mu: f64, b1: f64, b2: f64, c1: f64, c2: f64, eps: f64,
): f64 {
  const ctrl = ctrlBase();
  setParamI(ctrl, U_KIND, kind); setParamI(ctrl, U_N, n);
  setParamI(ctrl, U_W, <i32>w); setParamI(ctrl, U_G, <i32>g); setParamI(ctrl, U_V, <i32>v); setParamI(ctrl, U_S, <i32>s);
  setParamI(ctrl, U_W2, <i32>w2); setParamI(ctrl, U_V2, <i32>v2); setParamI(ctrl, U_S2, <i32>s2);
  setParamI(ctrl, U_PARTS, <i32>parts);
  setParamD(ctrl, D_CLIP, clip); setParamD(ctrl, D_DECAY, decay); setParamD(ctrl, D_LR, lr);
  if (kind == KIND_ADAM) {
    setParamD(ctrl, D_B1, b1); setParamD(ctrl, D_B2, b2); setParamD(ctrl, D_C1, c1); setParamD(ctrl, D_C2, c2);
    setParamD(ctrl, D_EPS, eps);
  } else {
    setParamD(ctrl, D_MU, mu);
  }
  run(ctrl, OP_UPDATE, nt, spin);
  let check: f64 = 0;
  const blocks = (n + UPDATE_BLOCK - 1) / UPDATE_BLOCK;
  for (let b = 0; b < blocks; b++) check += load<f64>(parts + (<usize>b << 3));
  return check;
}

/** Asks the workers to leave workerLoop (dispose also terminates them). */
export function stopWorkers(nt: i32): void {
  const ctrl = ctrlBase();
  store<i32>(ctrl + P_OP, OP_EXIT);
  store<i32>(ctrl + P_NT, nt);
  open(ctrl);
}

/**
 * A worker's life: wait for a job, join it if still open, claim blocks until none is left, report; until
 * told to stop. `gen` is the job generation when the worker was started (the pool opens no job before every
 * worker is ready, but a worker may read GEN only after the first job was opened).
 */
export function workerLoop(tid: i32, gen: i32): void {
  const ctrl = ctrlBase();
  let seen = gen;
  for (;;) {
    waitWhileEquals(ctrl + GEN, seen, load<i32>(ctrl + P_SPIN));
    seen = atomic.load<i32>(ctrl + GEN);
    if (load<i32>(ctrl + P_OP) == OP_EXIT) return;
    if (tryJoin(ctrl)) {
      runPart(ctrl, tid, load<i32>(ctrl + P_NT));
      finish(ctrl);
    }
  }
}
