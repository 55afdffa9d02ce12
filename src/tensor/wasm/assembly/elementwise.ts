// The element-wise kernels around a GEMM, four lanes at a time: bias + activation (a layer's epilogue) and the
// activation derivative written through the activation's output. A ragged end goes through a four-lane
// scratch, so every element is computed by the same lane code wherever it sits and whichever thread has it.
import { TILE_BYTES, TILES, paramI } from './layout';
import { claim } from './sync';

export const ACT_IDENTITY = 0, ACT_RELU = 1, ACT_LEAKY_RELU = 2, ACT_SIGMOID = 3, ACT_TANH = 4;
const LEAKY_SLOPE: f32 = 0.01;

/**
 * e^x to about 2 ulp (Cephes expf): x = n ln2 + r with n = round(x log2 e), e^r by a degree-6 polynomial, 2^n
 * built in the exponent bits. n is rounded by adding 1.5 * 2^23, which leaves it in the low mantissa bits;
 * pmin/pmax (one instruction each, and NaN still propagates as x is their first operand) clamp x.
 */
@inline function exp4(x: v128): v128 {
  const under = f32x4.lt(x, f32x4.splat(-87.33654));
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87.33654)), f32x4.splat(88.37626));
  const shifted = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(12582912.0));
  const fx = f32x4.sub(shifted, f32x4.splat(12582912.0));
  x = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(0.693359375)));
  x = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(-2.12194440e-4)));
  const z = f32x4.mul(x, x);
  let y = f32x4.splat(1.9875691500e-4);
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(5.0000001201e-1));
  y = f32x4.add(f32x4.add(f32x4.mul(y, z), x), f32x4.splat(1));
  // n + 127 in the exponent field: the bits of `shifted` are those of 1.5 * 2^23 plus n.
  const pow2 = i32x4.shl(i32x4.add(i32x4.sub(shifted, i32x4.splat(0x4b400000)), i32x4.splat(127)), 23);
  // Below the normal range the result flushes to 0 (the true value is under 1.2e-38).
  return v128.andnot(f32x4.mul(y, pow2), under);
}

/** Logistic function: 1 / (1 + e^-|v|) for v >= 0, e^-|v| / (1 + e^-|v|) below (no overflow anywhere). */
@inline function sigmoid4(v: v128): v128 {
  const e = exp4(f32x4.neg(f32x4.abs(v)));
  const pos = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), e));
  return v128.bitselect(pos, f32x4.mul(e, pos), f32x4.ge(v, f32x4.splat(0)));
}

/** tanh (Cephes tanhf): an odd polynomial below |v| = 0.625, (1 - e^-2|v|) / (1 + e^-2|v|) with v's sign above. */
@inline function tanh4(v: v128): v128 {
  const ax = f32x4.abs(v);
  const e = exp4(f32x4.mul(ax, f32x4.splat(-2)));
  const big = f32x4.div(f32x4.sub(f32x4.splat(1), e), f32x4.add(f32x4.splat(1), e));
  const z = f32x4.mul(v, v);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), v), v);
  const signed = v128.or(big, v128.and(v, i32x4.splat(0x80000000)));
  return v128.bitselect(small, signed, f32x4.lt(ax, f32x4.splat(0.625)));
}

@inline function activate4(v: v128, act: i32): v128 {
  const zero = f32x4.splat(0);
  switch (act) {
    case ACT_RELU: return v128.and(v, f32x4.gt(v, zero)); // NaN -> 0, as in the reference
    case ACT_LEAKY_RELU: return v128.bitselect(v, f32x4.mul(f32x4.splat(LEAKY_SLOPE), v), f32x4.gt(v, zero));
    case ACT_SIGMOID: return sigmoid4(v);
    case ACT_TANH: return tanh4(v);
    default: return v;
  }
}

@inline function derivative4(delta: v128, a: v128, act: i32): v128 {
  const zero = f32x4.splat(0);
  switch (act) {
    case ACT_RELU: return v128.and(delta, f32x4.gt(a, zero));
    case ACT_LEAKY_RELU: return v128.bitselect(delta, f32x4.mul(f32x4.splat(LEAKY_SLOPE), delta), f32x4.gt(a, zero));
    case ACT_SIGMOID: return f32x4.mul(f32x4.mul(delta, a), f32x4.sub(f32x4.splat(1), a));
    // (1 - a)(1 + a), not 1 - a * a: exact where a is near +-1, where 1 - a * a would cancel.
    case ACT_TANH: return f32x4.mul(delta, f32x4.mul(f32x4.sub(f32x4.splat(1), a), f32x4.add(f32x4.splat(1), a)));
    default: return delta;
  }
}

/** Copies `count` (< 4) floats to a zeroed four-lane scratch. */
@inline function gather(src: usize, count: i32, scratch: usize): v128 {
  v128.store(scratch, f32x4.splat(0));
  memory.copy(scratch, src, <usize>count << 2);
  return v128.load(scratch);
}

@inline function scatter(v: v128, dst: usize, count: i32, scratch: usize): void {
  v128.store(scratch, v);
  memory.copy(dst, scratch, <usize>count << 2);
}

export const E_ROWS = 0, E_COLS = 1, E_ACT = 2, E_X = 3, E_Y = 4, E_OUT = 5, E_N = 6;

/** Blocks per thread of an element-wise job (claimed one at a time, see sync.ts). */
const BLOCKS_PER_THREAD = 8;

/** Items per block when `count` items are shared by up to `nt` threads. */
@inline function perBlock(count: i32, nt: i32): i32 {
  return max(1, (count + BLOCKS_PER_THREAD * nt - 1) / (BLOCKS_PER_THREAD * nt));
}

/** Rows [i0, i1) of out = act(z + bias); `act` is a constant at every call site, so each loop is specialised. */
@inline function biasRows(
  z: usize, bias: usize, out: usize, cols: i32, i0: i32, i1: i32, act: i32, scratch: usize,
): void {
  const whole = cols & ~3;
  const rest = cols - whole;
  for (let i = i0; i < i1; i++) {
    const zr = z + (<usize>(i * cols) << 2);
    const or = out + (<usize>(i * cols) << 2);
    for (let j = 0; j < whole; j += 4) {
      const o = <usize>j << 2;
      v128.store(or + o, activate4(f32x4.add(v128.load(zr + o), v128.load(bias + o)), act));
    }
    if (rest > 0) {
      const o = <usize>whole << 2;
      const bv = gather(bias + o, rest, scratch);
      const v = activate4(f32x4.add(gather(zr + o, rest, scratch + 16), bv), act);
      scatter(v, or + o, rest, scratch);
    }
  }
}

// One function per activation, each with its loop specialised: a switch on the activation inside the loop,
// or one per activation in a single function (which the optimizer folds back into one loop), keeps every
// activation's constants live and spilled, and runs several times slower.
function biasIdentity(z: usize, bias: usize, out: usize, cols: i32, i0: i32, i1: i32, scratch: usize): void {
  biasRows(z, bias, out, cols, i0, i1, ACT_IDENTITY, scratch);
}
function biasRelu(z: usize, bias: usize, out: usize, cols: i32, i0: i32, i1: i32, scratch: usize): void {
  biasRows(z, bias, out, cols, i0, i1, ACT_RELU, scratch);
}
function biasLeakyRelu(z: usize, bias: usize, out: usize, cols: i32, i0: i32, i1: i32, scratch: usize): void {
  biasRows(z, bias, out, cols, i0, i1, ACT_LEAKY_RELU, scratch);
}
function biasSigmoid(z: usize, bias: usize, out: usize, cols: i32, i0: i32, i1: i32, scratch: usize): void {
  biasRows(z, bias, out, cols, i0, i1, ACT_SIGMOID, scratch);
}
function biasTanh(z: usize, bias: usize, out: usize, cols: i32, i0: i32, i1: i32, scratch: usize): void {
  biasRows(z, bias, out, cols, i0, i1, ACT_TANH, scratch);
}

/** A thread's part of out[i, j] = act(z[i, j] + bias[j]) (x = z, y = bias): the row blocks it claims. */
export function biasActivationPart(ctrl: usize, tid: i32, nt: i32): void {
  const rows = paramI(ctrl, E_ROWS), cols = paramI(ctrl, E_COLS), act = paramI(ctrl, E_ACT);
  const z = <usize>paramI(ctrl, E_X), bias = <usize>paramI(ctrl, E_Y), out = <usize>paramI(ctrl, E_OUT);
  const scratch = ctrl + TILES + <usize>tid * TILE_BYTES;
  const per = perBlock(rows, nt);
  for (let blk = claim(ctrl); blk * per < rows; blk = claim(ctrl)) {
    biasBlock(z, bias, out, cols, blk * per, min(rows, blk * per + per), act, scratch);
  }
}

@inline function biasBlock(z: usize, bias: usize, out: usize, cols: i32, i0: i32, i1: i32, act: i32, scratch: usize): void {
  switch (act) {
    case ACT_RELU: biasRelu(z, bias, out, cols, i0, i1, scratch); break;
    case ACT_LEAKY_RELU: biasLeakyRelu(z, bias, out, cols, i0, i1, scratch); break;
    case ACT_SIGMOID: biasSigmoid(z, bias, out, cols, i0, i1, scratch); break;
    case ACT_TANH: biasTanh(z, bias, out, cols, i0, i1, scratch); break;
    default: biasIdentity(z, bias, out, cols, i0, i1, scratch);
  }
}

/** Groups of four [g0, g1) of out = delta * act'(a); `act` is a constant at every call site. */
@inline function backwardGroups(delta: usize, a: usize, out: usize, n: i32, g0: i32, g1: i32, act: i32, scratch: usize): void {
  // Whole groups in a tight loop; a ragged last group (only ever the final one) through the scratch.
  const whole = min(g1, n >> 2);
  const end = <usize>max(whole, g0) << 4;
  for (let o = <usize>g0 << 4; o < end; o += 16) {
    v128.store(out + o, derivative4(v128.load(delta + o), v128.load(a + o), act));
  }
  if (g1 > whole && g1 > g0) {
    const o = <usize>(g1 - 1) << 4;
    const count = n - ((g1 - 1) << 2);
    const av = gather(a + o, count, scratch);
    scatter(derivative4(gather(delta + o, count, scratch + 16), av, act), out + o, count, scratch);
  }
}

function backIdentity(delta: usize, a: usize, out: usize, n: i32, g0: i32, g1: i32, scratch: usize): void {
  backwardGroups(delta, a, out, n, g0, g1, ACT_IDENTITY, scratch);
}
function backRelu(delta: usize, a: usize, out: usize, n: i32, g0: i32, g1: i32, scratch: usize): void {
  backwardGroups(delta, a, out, n, g0, g1, ACT_RELU, scratch);
}
function backLeakyRelu(delta: usize, a: usize, out: usize, n: i32, g0: i32, g1: i32, scratch: usize): void {
  backwardGroups(delta, a, out, n, g0, g1, ACT_LEAKY_RELU, scratch);
}
function backSigmoid(delta: usize, a: usize, out: usize, n: i32, g0: i32, g1: i32, scratch: usize): void {
  backwardGroups(delta, a, out, n, g0, g1, ACT_SIGMOID, scratch);
}
function backTanh(delta: usize, a: usize, out: usize, n: i32, g0: i32, g1: i32, scratch: usize): void {
  backwardGroups(delta, a, out, n, g0, g1, ACT_TANH, scratch);
}

/** A thread's part of out = delta * act'(z) written through a = act(z) (x = delta, y = a): blocks of groups of 4. */
export function activationBackwardPart(ctrl: usize, tid: i32, nt: i32): void {
  const n = paramI(ctrl, E_N), act = paramI(ctrl, E_ACT);
  const delta = <usize>paramI(ctrl, E_X), a = <usize>paramI(ctrl, E_Y), out = <usize>paramI(ctrl, E_OUT);
  const scratch = ctrl + TILES + <usize>tid * TILE_BYTES;
  const groups = (n + 3) >> 2;
  const per = perBlock(groups, nt);
  for (let blk = claim(ctrl); blk * per < groups; blk = claim(ctrl)) {
    backwardBlock(delta, a, out, n, blk * per, min(groups, blk * per + per), act, scratch);
  }
}

@inline function backwardBlock(delta: usize, a: usize, out: usize, n: i32, g0: i32, g1: i32, act: i32, scratch: usize): void {
  switch (act) {
    case ACT_RELU: backRelu(delta, a, out, n, g0, g1, scratch); break;
    case ACT_LEAKY_RELU: backLeakyRelu(delta, a, out, n, g0, g1, scratch); break;
    case ACT_SIGMOID: backSigmoid(delta, a, out, n, g0, g1, scratch); break;
    case ACT_TANH: backTanh(delta, a, out, n, g0, g1, scratch); break;
    default: backIdentity(delta, a, out, n, g0, g1, scratch);
  }
}
