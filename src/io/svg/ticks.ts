/**
 * "Nice" axis ticks (after Heckbert, Graphics Gems 1990): steps of 1, 2 or 5 times a power of ten, covering
 * the data range with about `target` ticks. Its laws are stated on `niceTicks` below.
 */
export interface Ticks {
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly ticks: readonly number[];
}

/** The nice number (1, 2 or 5 times a power of ten) nearest `x`. */
const niceNumber = (x: number): number => {
  const exp = Math.floor(Math.log10(x));
  const f = x / 10 ** exp;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * 10 ** exp;
};

const decimalsOf = (step: number): number => Math.max(0, -Math.floor(Math.log10(step) + 1e-9));

/**
 * Ticks covering [min, max] (finite numbers). A single value gets a small range around it.
 *
 * Laws:
 * - ticks[0] <= min and ticks[last] >= max
 * - consecutive ticks differ by step
 * - step = m * 10^k with m in {1, 2, 5}
 * - integer data (integers) gets integer ticks
 */
export const niceTicks = (min: number, max: number, target = 5, integers = false): Ticks => {
  if (!Number.isFinite(min) || !Number.isFinite(max)) throw new RangeError(`niceTicks: range [${min}, ${max}] is not finite`);
  let lo = Math.min(min, max);
  let hi = Math.max(min, max);
  const scale = Math.max(Math.abs(lo), Math.abs(hi));
  // a span too small for the step to be representable counts as a single value
  if (hi - lo <= scale * 1e-9 || hi - lo < 1e-290) {
    const pad = scale > 1e-280 ? scale * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  let step = niceNumber((hi - lo) / Math.max(1, target - 1));
  if (integers) step = Math.max(1, Math.round(step));
  // 15 significant digits turn 0.30000000000000004 into 0.3 at any magnitude
  const at = (k: number): number => Number((k * step).toPrecision(15));
  let first = Math.floor(lo / step + 1e-9);
  let last = Math.ceil(hi / step - 1e-9);
  // the rounding above (and lo / step rounding to -0 for a subnormal lo) must not uncover the range
  while (at(first) > lo) first -= 1;
  while (at(last) < hi) last += 1;
  const ticks = Array.from({ length: last - first + 1 }, (_x, i) => at(first + i));
  return { min: ticks[0]!, max: ticks[ticks.length - 1]!, step, ticks };
};

/** A tick label with as many decimals as the step needs. */
export const formatTick = (value: number, step: number): string => {
  if (value === 0) return '0';
  if (Math.abs(value) >= 1e6 || step < 1e-4) {
    const digits = Math.floor(Math.log10(Math.abs(value)) + 1e-9) - Math.floor(Math.log10(step) + 1e-9);
    return value.toExponential(Math.max(0, Math.min(15, digits)));
  }
  return value.toFixed(Math.min(decimalsOf(step), 20));
};
