/**
 * JSON that keeps non-finite numbers: a diverged loss is `NaN`, and plain `JSON.stringify` would turn it
 * into `null`, losing the very fact a metrics file or checkpoint should record. `NaN`, `Infinity` and
 * `-Infinity` are written as those strings and read back as numbers.
 * Its law is stated on `parseJson` below.
 */
const NON_FINITE: ReadonlyMap<string, number> = new Map([
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
]);

/** `JSON.stringify` with non-finite numbers kept as strings. Throws if `value` has no JSON form. */
export const toJson = (value: unknown, space?: number): string => {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), space);
  if (text === undefined) throw new TypeError(`toJson: ${typeof value} has no JSON form`);
  return text;
};

/**
 * `JSON.parse`, reading "NaN", "Infinity" and "-Infinity" back as numbers. Throws on invalid JSON.
 *
 * Law: parseJson(toJson(v)) = v for JSON values with any numbers, as long as no string in v is exactly
 * "NaN", "Infinity" or "-Infinity" (such strings come back as numbers).
 */
export const parseJson = (text: string): unknown =>
  JSON.parse(text, (_key, v: unknown) => (typeof v === 'string' && NON_FINITE.has(v) ? NON_FINITE.get(v) : v));
