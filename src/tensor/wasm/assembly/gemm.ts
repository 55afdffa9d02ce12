// C = alpha * op(A) * op(B) + beta * C on packed panels with a 4x8 f32x4 register block.
//
// Every element of C is accumulated in one f32 register lane as acc = acc + a[kk] * b[kk] for kk = 0..k-1 in
// order, then alpha and beta are applied once (separate multiply and add). That order depends on nothing but
// k, so the result is the same bits whichever thread computes which tile, and whether a tile is a full one
// or an edge one.
//
// Steps where an operand is zero are skipped, with the same bits: packing lists, for every panel of A and B,
// the steps k where it holds a nonzero value and whether all its values are finite. A tile then runs over
// the shorter of its two panels' lists when the other panel is all finite: a skipped step adds a * b with a
// zero factor and a finite other one, a signed zero, and adding a zero to an accumulator changes nothing
// unless the accumulator is -0. It starts at +0, and becomes -0 only when every step so far gave a zero or
// a product that underflowed float32 (below 2^-149) on the negative side; so the one difference is the
// sign of a zero result of such products. The steps kept are in the same order. MNIST's pixels are about
// 80% zeros, so the first layer's two big products skip about 60% of their steps.
//
// Built twice (see `build:wasm`): without relaxed SIMD each step is a multiply then an add; with
// `--enable relaxed-simd` it is f32x4.relaxed_madd, which the engine fuses where the CPU has FMA (one
// rounding per step) and leaves unfused where not. Either way every instance on one machine compiles it to the
// same instruction (one shared module), so the bits still do not depend on the thread count.
import { LIST_HEAD, listStride, MR, NR, packA, packB } from './pack';
import { awaitShared, claim, claimShared, sharedPacked } from './sync';
import { TILE_BYTES, TILES, paramF, paramI } from './layout';

/** Packed A a thread keeps hot in its L2 while it sweeps the B panels of one block. */
const A_BLOCK_BYTES: i32 = 256 * 1024;

// How C is written: acc, alpha * acc, or alpha * acc + beta * C.
export const MODE_STORE: i32 = 0;
export const MODE_SCALE: i32 = 1;
export const MODE_ACCUMULATE: i32 = 2;

/** acc + a * b: fused (relaxed SIMD build) or a multiply then an add (plain SIMD build). */
@inline function madd(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/**
 * One MR x NR tile of C (row stride ldc floats) from a packed A panel and a packed B panel: every step of k,
 * or with `list` (a panel list, see listPanel) only the steps it names.
 */
function kernel(pa: usize, pb: usize, k: i32, list: usize, c: usize, ldc: i32, mode: i32, alpha: f32, beta: f32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (list == 0) {
    // Bounded by the end of the A panel, not a counter: one instruction fewer per step, which is what this
    // loop is limited by (the CPU's dispatch width, not its multipliers): ~36 -> ~40 GFLOP/s of a 41 peak.
    const end = pa + (<usize>k << 4);
    while (pa < end) {
      const b0 = v128.load(pb);
      const b1 = v128.load(pb, 16);
      const a0 = v128.load32_splat(pa);
      c00 = madd(c00, a0, b0);
      c01 = madd(c01, a0, b1);
      const a1 = v128.load32_splat(pa, 4);
      c10 = madd(c10, a1, b0);
      c11 = madd(c11, a1, b1);
      const a2 = v128.load32_splat(pa, 8);
      c20 = madd(c20, a2, b0);
      c21 = madd(c21, a2, b1);
      const a3 = v128.load32_splat(pa, 12);
      c30 = madd(c30, a3, b0);
      c31 = madd(c31, a3, b1);
      pa += 16;
      pb += 32;
    }
  } else {
    // the listed steps' offsets into the A panel (16 bytes a step; the B panel's are twice those)
    let at = list + LIST_HEAD;
    const end = at + (<usize>load<i32>(list) << 2);
    while (at < end) {
      const o = <usize>load<i32>(at);
      const pbo = pb + (o << 1);
      const pao = pa + o;
      const b0 = v128.load(pbo);
      const b1 = v128.load(pbo, 16);
      const a0 = v128.load32_splat(pao);
      c00 = madd(c00, a0, b0);
      c01 = madd(c01, a0, b1);
      const a1 = v128.load32_splat(pao, 4);
      c10 = madd(c10, a1, b0);
      c11 = madd(c11, a1, b1);
      const a2 = v128.load32_splat(pao, 8);
      c20 = madd(c20, a2, b0);
      c21 = madd(c21, a2, b1);
      const a3 = v128.load32_splat(pao, 12);
      c30 = madd(c30, a3, b0);
      c31 = madd(c31, a3, b1);
      at += 4;
    }
  }
  const row = <usize>ldc << 2;
  const c1 = c + row;
  const c2 = c1 + row;
  const c3 = c2 + row;
  if (mode != MODE_STORE) {
    const al = f32x4.splat(alpha);
    c00 = f32x4.mul(al, c00); c01 = f32x4.mul(al, c01);
    c10 = f32x4.mul(al, c10); c11 = f32x4.mul(al, c11);
    c20 = f32x4.mul(al, c20); c21 = f32x4.mul(al, c21);
    c30 = f32x4.mul(al, c30); c31 = f32x4.mul(al, c31);
    if (mode == MODE_ACCUMULATE) {
      const be = f32x4.splat(beta);
      c00 = f32x4.add(c00, f32x4.mul(be, v128.load(c))); c01 = f32x4.add(c01, f32x4.mul(be, v128.load(c, 16)));
      c10 = f32x4.add(c10, f32x4.mul(be, v128.load(c1))); c11 = f32x4.add(c11, f32x4.mul(be, v128.load(c1, 16)));
      c20 = f32x4.add(c20, f32x4.mul(be, v128.load(c2))); c21 = f32x4.add(c21, f32x4.mul(be, v128.load(c2, 16)));
      c30 = f32x4.add(c30, f32x4.mul(be, v128.load(c3))); c31 = f32x4.add(c31, f32x4.mul(be, v128.load(c3, 16)));
    }
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c1, c10); v128.store(c1, c11, 16);
  v128.store(c2, c20); v128.store(c2, c21, 16);
  v128.store(c3, c30); v128.store(c3, c31, 16);
}

/** An edge tile: the kernel writes the whole tile to scratch, then the valid rows x cols reach C. */
function edgeTile(
  pa: usize, pb: usize, k: i32, list: usize, c: usize, ldc: i32, rows: i32, cols: i32,
  mode: i32, alpha: f32, beta: f32, tile: usize,
): void {
  kernel(pa, pb, k, list, tile, NR, MODE_STORE, 1, 0);
  for (let r = 0; r < rows; r++) {
    for (let s = 0; s < cols; s++) {
      const dst = c + (<usize>(r * ldc + s) << 2);
      let v = load<f32>(tile + (<usize>(r * NR + s) << 2));
      // The same operations, in the same order, as the kernel's epilogue lanes.
      if (mode != MODE_STORE) {
        v = alpha * v;
        if (mode == MODE_ACCUMULATE) v = v + beta * load<f32>(dst);
      }
      store<f32>(dst, v);
    }
  }
}

/**
 * Which steps a tile runs: the shorter list of its A panel's (la) and B panel's (lb), when the other panel is
 * all finite and the list is short enough to pay for its indirection; 0 for every step.
 */
@inline function tileList(la: usize, lb: usize, k: i32): usize {
  if (la == 0) return 0;
  const na = load<i32>(la), nb = load<i32>(lb);
  const worth = k - (k >> 3);
  if (na <= nb) {
    if (na <= worth && load<i32>(lb, 4) != 0) return la;
    if (nb <= worth && load<i32>(la, 4) != 0) return lb;
  } else {
    if (nb <= worth && load<i32>(la, 4) != 0) return lb;
    if (na <= worth && load<i32>(lb, 4) != 0) return la;
  }
  return 0;
}

/** The tiles of C in row panels [p0, p1) x column panels [q0, q1); la, lb the panels' lists (or 0: none). */
function computeBlock(
  m: i32, n: i32, k: i32, pa: usize, pb: usize, la: usize, lb: usize, c: usize,
  p0: i32, p1: i32, q0: i32, q1: i32, mode: i32, alpha: f32, beta: f32, tile: usize,
): void {
  const panelA = <usize>(MR * k) << 2;
  const panelB = <usize>(NR * k) << 2;
  const listBytes = listStride(k);
  // A block of A panels stays in L2 while every B panel (in L1 while in use) sweeps over it.
  const block = max(1, A_BLOCK_BYTES / max(1, MR * k * 4));
  for (let pb0 = p0; pb0 < p1; pb0 += block) {
    const pb1 = min(p1, pb0 + block);
    for (let q = q0; q < q1; q++) {
      const j = q * NR;
      const cols = min(NR, n - j);
      const bPanel = pb + <usize>q * panelB;
      const bList: usize = lb == 0 ? 0 : lb + <usize>q * listBytes;
      for (let p = pb0; p < pb1; p++) {
        const i = p * MR;
        const rows = min(MR, m - i);
        const cTile = c + (<usize>(i * n + j) << 2);
        const list = tileList(la == 0 ? <usize>0 : la + <usize>p * listBytes, bList, k);
        if (rows == MR && cols == NR) kernel(pa + <usize>p * panelA, bPanel, k, list, cTile, n, mode, alpha, beta);
        else edgeTile(pa + <usize>p * panelA, bPanel, k, list, cTile, n, rows, cols, mode, alpha, beta, tile);
      }
    }
  }
}

/** GEMM parameter slots (see gemm in index.ts). */
export const G_TRANS_A = 0, G_TRANS_B = 1, G_M = 2, G_N = 3, G_K = 4, G_MODE = 5;
export const G_A = 6, G_B = 7, G_C = 8, G_PA = 9, G_PB = 10, G_LA = 11, G_LB = 12;
export const G_ALPHA = 0, G_BETA = 1;

/** Panels of the shared operand per claim. */
const SHARED_CHUNK = 4;
/** Blocks of the split dimension per thread: enough for a late or preempted thread to be made up for. */
const BLOCKS_PER_THREAD = 4;
/** Panels per block at least, so that each panel of the shared operand is reused over a few tiles. */
const MIN_BLOCK = 4;

/**
 * A thread's part of the current GEMM job. C is split along its longer side (in panels), never along k:
 * the other operand (shared by every block) is packed first, chunk by chunk, by whoever is there; then
 * each thread claims blocks of the split side, packs that block's panels and computes its tiles of C.
 */
export function gemmPart(ctrl: usize, tid: i32, nt: i32): void {
  const transA = paramI(ctrl, G_TRANS_A) != 0;
  const transB = paramI(ctrl, G_TRANS_B) != 0;
  const m = paramI(ctrl, G_M), n = paramI(ctrl, G_N), k = paramI(ctrl, G_K), mode = paramI(ctrl, G_MODE);
  const a = <usize>paramI(ctrl, G_A), b = <usize>paramI(ctrl, G_B), c = <usize>paramI(ctrl, G_C);
  const pa = <usize>paramI(ctrl, G_PA), pb = <usize>paramI(ctrl, G_PB);
  const la = <usize>paramI(ctrl, G_LA), lb = <usize>paramI(ctrl, G_LB);
  const alpha = paramF(ctrl, G_ALPHA), beta = paramF(ctrl, G_BETA);
  const tile = ctrl + TILES + <usize>tid * TILE_BYTES;
  const mp = (m + MR - 1) / MR;
  const np = (n + NR - 1) / NR;
  const splitRows = mp >= np;
  const shared = splitRows ? np : mp;
  const split = splitRows ? mp : np;

  const chunks = (shared + SHARED_CHUNK - 1) / SHARED_CHUNK;
  for (let ch = claimShared(ctrl); ch < chunks; ch = claimShared(ctrl)) {
    const s0 = ch * SHARED_CHUNK, s1 = min(shared, s0 + SHARED_CHUNK);
    if (splitRows) packB(transB, n, k, b, pb, lb, s0, s1);
    else packA(transA, m, k, a, pa, la, s0, s1);
    sharedPacked(ctrl, chunks);
  }
  awaitShared(ctrl, chunks);

  const per = max(MIN_BLOCK, (split + BLOCKS_PER_THREAD * nt - 1) / (BLOCKS_PER_THREAD * nt));
  const blocks = (split + per - 1) / per;
  for (let blk = claim(ctrl); blk < blocks; blk = claim(ctrl)) {
    const s0 = blk * per, s1 = min(split, s0 + per);
    if (splitRows) {
      packA(transA, m, k, a, pa, la, s0, s1);
      computeBlock(m, n, k, pa, pb, la, lb, c, s0, s1, 0, np, mode, alpha, beta, tile);
    } else {
      packB(transB, n, k, b, pb, lb, s0, s1);
      computeBlock(m, n, k, pa, pb, la, lb, c, 0, mp, s0, s1, mode, alpha, beta, tile);
    }
  }
}
