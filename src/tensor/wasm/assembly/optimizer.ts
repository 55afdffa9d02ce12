// The optimisers' element-wise updates (src/optim/kernels.ts), two lanes of f64 at a time: each float32
// operand is widened to double, every expression is evaluated in double in the order the TypeScript loops
// write it (wasm has no fused multiply-add and Binaryen does not reassociate floats), and each result is
// rounded once when narrowed back to float32, so the stored bits are those of the TypeScript loops.
//
// The outputs go to their own pointers (w2, v2, s2), which may equal the inputs' (w' over w, ...): every
// element's inputs are loaded before its outputs are stored.
//
// Blocks have kernels.ts's CHECK_BLOCK size, whatever the thread count, and each writes its part of the
// check (NaN when a new parameter is not finite, else the block's sum of squares in sumSquares's lane
// order) to its own slot, which the calling thread adds in block order: the check has the TypeScript
// function's bits, whatever the threads.
import { paramD, paramI } from './layout';
import { claim } from './sync';

export const U_KIND = 0, U_N = 1, U_W = 2, U_G = 3, U_V = 4, U_S = 5, U_PARTS = 6, U_W2 = 7, U_V2 = 8, U_S2 = 9;
// Double parameters: eight slots, so adam's eps shares the slot of mu, which adam does not use.
export const D_CLIP = 0, D_DECAY = 1, D_LR = 2, D_MU = 3, D_B1 = 4, D_B2 = 5, D_C1 = 6, D_C2 = 7, D_EPS = 3;
export const KIND_SGD = 0, KIND_MOMENTUM = 1, KIND_NESTEROV = 2, KIND_ADAM = 3;

/** Elements per block: kernels.ts CHECK_BLOCK (a multiple of 8, and big enough to amortise a claim). */
export const UPDATE_BLOCK: i32 = 16384;

@inline function ld(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}
@inline function st(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0);
}
/** All ones in a lane whose value is not finite (x - x is NaN there, +0 elsewhere). */
@inline function nonFinite(x: v128): v128 {
  return f64x2.ne(f64x2.sub(x, x), f64x2.splat(0));
}

/**
 * sum(g^2) over [i0, i1) (i0 a multiple of 8), as kernels.ts sumSquares sums a block: lane j of the eight
 * (a0 = 0, 1; a1 = 2, 3; a2 = 4, 5; a3 = 6, 7) adds the squares at offsets j, j + 8, ...; then
 * ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)).
 */
function blockSquares(g: usize, i0: i32, i1: i32): f64 {
  let a0 = f64x2.splat(0), a1 = a0, a2 = a0, a3 = a0;
  const groups = i0 + ((i1 - i0) & ~7);
  for (let o = <usize>i0 << 2, end = <usize>groups << 2; o < end; o += 32) {
    const x0 = ld(g + o), x1 = ld(g + o + 8), x2 = ld(g + o + 16), x3 = ld(g + o + 24);
    a0 = f64x2.add(a0, f64x2.mul(x0, x0));
    a1 = f64x2.add(a1, f64x2.mul(x1, x1));
    a2 = f64x2.add(a2, f64x2.mul(x2, x2));
    a3 = f64x2.add(a3, f64x2.mul(x3, x3));
  }
  // the last group's pairs go to their lanes, then a last odd element to the first lane of its pair
  const rest = i1 - groups;
  const o = <usize>groups << 2;
  if (rest >= 2) { const x = ld(g + o); a0 = f64x2.add(a0, f64x2.mul(x, x)); }
  if (rest >= 4) { const x = ld(g + o + 8); a1 = f64x2.add(a1, f64x2.mul(x, x)); }
  if (rest >= 6) { const x = ld(g + o + 16); a2 = f64x2.add(a2, f64x2.mul(x, x)); }
  if (rest & 1) {
    const x = <f64>load<f32>(g + (<usize>(i1 - 1) << 2));
    const sq = f64x2.replace_lane(f64x2.splat(0), 0, x * x);
    if (rest == 1) a0 = f64x2.add(a0, sq);
    else if (rest == 3) a1 = f64x2.add(a1, sq);
    else if (rest == 5) a2 = f64x2.add(a2, sq);
    else a3 = f64x2.add(a3, sq);
  }
  const s = f64x2.add(f64x2.add(a0, a2), f64x2.add(a1, a3));
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

/** The block's check: NaN when a lane of `bad` is set, else its sum of squares. */
@inline function blockCheck(bad: v128, g: usize, i0: i32, i1: i32): f64 {
  return v128.any_true(bad) ? NaN : blockSquares(g, i0, i1);
}

// For each rule: elements [i0, i1) (i0 a multiple of 8) in pairs, then a last odd element in scalar double
// (the same IEEE operations), returning the block's check.

function sgdBlock(w: usize, g: usize, w2: usize, i0: i32, i1: i32, clip: f64, decay: f64, lr: f64): f64 {
  const vclip = f64x2.splat(clip), vdecay = f64x2.splat(decay), vlr = f64x2.splat(lr);
  let bad = f64x2.splat(0);
  const pairs = i0 + ((i1 - i0) & ~1);
  for (let o = <usize>i0 << 2, end = <usize>pairs << 2; o < end; o += 8) {
    const wi = ld(w + o), gi = ld(g + o);
    const n = f64x2.sub(wi, f64x2.mul(vlr, f64x2.add(f64x2.mul(vclip, gi), f64x2.mul(vdecay, wi))));
    st(w2 + o, n);
    bad = v128.or(bad, nonFinite(f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(n))));
  }
  if (pairs < i1) {
    const o = <usize>pairs << 2;
    const wi = <f64>load<f32>(w + o), gi = <f64>load<f32>(g + o);
    const n = wi - lr * (clip * gi + decay * wi);
    store<f32>(w2 + o, <f32>n);
    bad = v128.or(bad, nonFinite(f64x2.splat(<f64>(<f32>n))));
  }
  return blockCheck(bad, g, i0, i1);
}

function momentumBlock(w: usize, g: usize, v: usize, w2: usize, v2: usize, i0: i32, i1: i32, clip: f64, decay: f64, lr: f64, mu: f64): f64 {
  const vclip = f64x2.splat(clip), vdecay = f64x2.splat(decay), vlr = f64x2.splat(lr), vmu = f64x2.splat(mu);
  let bad = f64x2.splat(0);
  const pairs = i0 + ((i1 - i0) & ~1);
  for (let o = <usize>i0 << 2, end = <usize>pairs << 2; o < end; o += 8) {
    const wi = ld(w + o), raw = ld(g + o), vo = ld(v + o);
    // mu v + clip raw + decay w, left to right
    const vi = f64x2.add(f64x2.add(f64x2.mul(vmu, vo), f64x2.mul(vclip, raw)), f64x2.mul(vdecay, wi));
    st(v2 + o, vi);
    const n = f64x2.sub(wi, f64x2.mul(vlr, vi));
    st(w2 + o, n);
    bad = v128.or(bad, nonFinite(f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(n))));
  }
  if (pairs < i1) {
    const o = <usize>pairs << 2;
    const wi = <f64>load<f32>(w + o), raw = <f64>load<f32>(g + o), vo = <f64>load<f32>(v + o);
    const vi = mu * vo + clip * raw + decay * wi;
    store<f32>(v2 + o, <f32>vi);
    const n = wi - lr * vi;
    store<f32>(w2 + o, <f32>n);
    bad = v128.or(bad, nonFinite(f64x2.splat(<f64>(<f32>n))));
  }
  return blockCheck(bad, g, i0, i1);
}

function nesterovBlock(w: usize, g: usize, v: usize, w2: usize, v2: usize, i0: i32, i1: i32, clip: f64, decay: f64, lr: f64, mu: f64): f64 {
  const vclip = f64x2.splat(clip), vdecay = f64x2.splat(decay), vlr = f64x2.splat(lr), vmu = f64x2.splat(mu);
  let bad = f64x2.splat(0);
  const pairs = i0 + ((i1 - i0) & ~1);
  for (let o = <usize>i0 << 2, end = <usize>pairs << 2; o < end; o += 8) {
    const wi = ld(w + o), raw = ld(g + o), vo = ld(v + o);
    const gi = f64x2.add(f64x2.mul(vclip, raw), f64x2.mul(vdecay, wi));
    const vi = f64x2.add(f64x2.mul(vmu, vo), gi);
    st(v2 + o, vi);
    const n = f64x2.sub(wi, f64x2.mul(vlr, f64x2.add(gi, f64x2.mul(vmu, vi))));
    st(w2 + o, n);
    bad = v128.or(bad, nonFinite(f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(n))));
  }
  if (pairs < i1) {
    const o = <usize>pairs << 2;
    const wi = <f64>load<f32>(w + o), raw = <f64>load<f32>(g + o), vo = <f64>load<f32>(v + o);
    const gi = clip * raw + decay * wi;
    const vi = mu * vo + gi;
    store<f32>(v2 + o, <f32>vi);
    const n = wi - lr * (gi + mu * vi);
    store<f32>(w2 + o, <f32>n);
    bad = v128.or(bad, nonFinite(f64x2.splat(<f64>(<f32>n))));
  }
  return blockCheck(bad, g, i0, i1);
}

function adamBlock(
  w: usize, g: usize, m: usize, s: usize, w2: usize, m2: usize, s2: usize, i0: i32, i1: i32,
  clip: f64, decay: f64, lr: f64, b1: f64, b2: f64, c1: f64, c2: f64, eps: f64,
): f64 {
  const vclip = f64x2.splat(clip), vdecay = f64x2.splat(decay), vlr = f64x2.splat(lr);
  const vb1 = f64x2.splat(b1), vb2 = f64x2.splat(b2), vc1 = f64x2.splat(c1), vc2 = f64x2.splat(c2), veps = f64x2.splat(eps);
  const vb1c = f64x2.splat(1 - b1), vb2c = f64x2.splat(1 - b2);
  let bad = f64x2.splat(0);
  const pairs = i0 + ((i1 - i0) & ~1);
  for (let o = <usize>i0 << 2, end = <usize>pairs << 2; o < end; o += 8) {
    const wi = ld(w + o), raw = ld(g + o), mo = ld(m + o), so = ld(s + o);
    const gi = f64x2.add(f64x2.mul(vclip, raw), f64x2.mul(vdecay, wi));
    const mi = f64x2.add(f64x2.mul(vb1, mo), f64x2.mul(vb1c, gi));
    // (1 - b2) * gi * gi is ((1 - b2) * gi) * gi
    const si = f64x2.add(f64x2.mul(vb2, so), f64x2.mul(f64x2.mul(vb2c, gi), gi));
    st(m2 + o, mi);
    st(s2 + o, si);
    const step = f64x2.div(f64x2.mul(vlr, f64x2.div(mi, vc1)), f64x2.add(f64x2.sqrt(f64x2.div(si, vc2)), veps));
    const n = f64x2.sub(wi, step);
    st(w2 + o, n);
    bad = v128.or(bad, nonFinite(f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(n))));
  }
  if (pairs < i1) {
    const o = <usize>pairs << 2;
    const wi = <f64>load<f32>(w + o), raw = <f64>load<f32>(g + o), mo = <f64>load<f32>(m + o), so = <f64>load<f32>(s + o);
    const gi = clip * raw + decay * wi;
    const mi = b1 * mo + (1 - b1) * gi;
    const si = b2 * so + (1 - b2) * gi * gi;
    store<f32>(m2 + o, <f32>mi);
    store<f32>(s2 + o, <f32>si);
    const n = wi - (lr * (mi / c1)) / (Math.sqrt(si / c2) + eps);
    store<f32>(w2 + o, <f32>n);
    bad = v128.or(bad, nonFinite(f64x2.splat(<f64>(<f32>n))));
  }
  return blockCheck(bad, g, i0, i1);
}

/** A thread's part of an update job: the blocks it claims, each writing its check to parts[block]. */
export function updatePart(ctrl: usize, tid: i32, nt: i32): void {
  const kind = paramI(ctrl, U_KIND), n = paramI(ctrl, U_N);
  const w = <usize>paramI(ctrl, U_W), g = <usize>paramI(ctrl, U_G), v = <usize>paramI(ctrl, U_V), s = <usize>paramI(ctrl, U_S);
  const w2 = <usize>paramI(ctrl, U_W2), v2 = <usize>paramI(ctrl, U_V2), s2 = <usize>paramI(ctrl, U_S2);
  const parts = <usize>paramI(ctrl, U_PARTS);
  const clip = paramD(ctrl, D_CLIP), decay = paramD(ctrl, D_DECAY), lr = paramD(ctrl, D_LR);
  for (let blk = claim(ctrl); blk * UPDATE_BLOCK < n; blk = claim(ctrl)) {
    const i0 = blk * UPDATE_BLOCK, i1 = min(n, i0 + UPDATE_BLOCK);
    let check: f64;
    if (kind == KIND_SGD) check = sgdBlock(w, g, w2, i0, i1, clip, decay, lr);
    else if (kind == KIND_MOMENTUM) check = momentumBlock(w, g, v, w2, v2, i0, i1, clip, decay, lr, paramD(ctrl, D_MU));
    else if (kind == KIND_NESTEROV) check = nesterovBlock(w, g, v, w2, v2, i0, i1, clip, decay, lr, paramD(ctrl, D_MU));
    else {
      check = adamBlock(
        w, g, v, s, w2, v2, s2, i0, i1, clip, decay, lr,
        paramD(ctrl, D_B1), paramD(ctrl, D_B2), paramD(ctrl, D_C1), paramD(ctrl, D_C2), paramD(ctrl, D_EPS),
      );
    }
    store<f64>(parts + (<usize>blk << 3), check);
  }
}
