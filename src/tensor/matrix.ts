/**
 * A dense row-major matrix over Float32Array (training) or Float64Array (checks and references).
 *
 * Read-only by contract: functions that take a `Matrix` never write into it, and functions that return one
 * hand over a buffer nobody else holds. Kernels may write into buffers they just allocated.
 */
export type Float = Float32Array | Float64Array;

/** A rows x cols matrix stored row-major in `data` (read-only by contract). */
export interface Matrix<F extends Float = Float32Array> {
  readonly rows: number;
  readonly cols: number;
  readonly data: F;
}

/** A float64 matrix, for checks and references. */
export type Matrix64 = Matrix<Float64Array>;

/** A matrix over `data`; throws (a programmer error) when the length does not match the shape. */
export const matrix = <F extends Float>(rows: number, cols: number, data: F): Matrix<F> => {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new RangeError(`matrix: invalid shape ${rows}x${cols}`);
  }
  if (data.length !== rows * cols) {
    throw new RangeError(`matrix: shape ${rows}x${cols} needs ${rows * cols} values, got ${data.length}`);
  }
  return { rows, cols, data };
};

/** A float32 matrix of zeros. */
export const zeros = (rows: number, cols: number): Matrix<Float32Array> =>
  matrix(rows, cols, new Float32Array(rows * cols));
/** A float64 matrix of zeros. */
export const zeros64 = (rows: number, cols: number): Matrix<Float64Array> =>
  matrix(rows, cols, new Float64Array(rows * cols));

/** A new zero buffer of the same element type as `like`. */
export const allocLike = <F extends Float>(like: F, length: number): F =>
  (like instanceof Float64Array ? new Float64Array(length) : new Float32Array(length)) as F;

/** A float32 matrix from an array of equally long rows. */
export const fromRows = (rows: readonly (readonly number[])[]): Matrix<Float32Array> => {
  const r = rows.length;
  const c = r === 0 ? 0 : rows[0]!.length;
  const data = new Float32Array(r * c);
  rows.forEach((row, i) => {
    if (row.length !== c) throw new RangeError(`fromRows: row ${i} has ${row.length} values, expected ${c}`);
    data.set(row, i * c);
  });
  return matrix(r, c, data);
};

export const toFloat64 = (m: Matrix<Float>): Matrix<Float64Array> => matrix(m.rows, m.cols, Float64Array.from(m.data));
export const toFloat32 = (m: Matrix<Float>): Matrix<Float32Array> => matrix(m.rows, m.cols, Float32Array.from(m.data));

export const copy = <F extends Float>(m: Matrix<F>): Matrix<F> => matrix(m.rows, m.cols, m.data.slice() as F);

export const get = (m: Matrix<Float>, i: number, j: number): number => m.data[i * m.cols + j]!;

export const row = <F extends Float>(m: Matrix<F>, i: number): F =>
  m.data.subarray(i * m.cols, (i + 1) * m.cols) as F;

/** Rows `start` (inclusive) to `end` (exclusive) as a view sharing the buffer (read-only by contract). */
export const sliceRows = <F extends Float>(m: Matrix<F>, start: number, end: number): Matrix<F> =>
  matrix(end - start, m.cols, m.data.subarray(start * m.cols, end * m.cols) as F);

export const map = <F extends Float>(m: Matrix<F>, f: (x: number, index: number) => number): Matrix<F> => {
  const out = allocLike(m.data, m.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(m.data[i]!, i);
  return matrix(m.rows, m.cols, out);
};

/** Sums over rows: a vector of length `cols`. */
export const columnSums = <F extends Float>(m: Matrix<F>): F => {
  const out = allocLike(m.data, m.cols);
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.cols;
    for (let j = 0; j < m.cols; j++) out[j] = out[j]! + m.data[o + j]!;
  }
  return out;
};

/** Sums over columns: a vector of length `rows`. */
export const rowSums = <F extends Float>(m: Matrix<F>): F => {
  const out = allocLike(m.data, m.rows);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    const o = i * m.cols;
    for (let j = 0; j < m.cols; j++) s += m.data[o + j]!;
    out[i] = s;
  }
  return out;
};

/** Index of the largest value of each row (the first one on ties). */
export const argmaxRows = (m: Matrix<Float>): Int32Array => {
  const out = new Int32Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.cols;
    let best = 0;
    let bv = m.data[o]!;
    for (let j = 1; j < m.cols; j++) {
      const v = m.data[o + j]!;
      if (v > bv) {
        bv = v;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
};

/** Adds `bias` (length `cols`) to every row. */
export const addRowVector = <F extends Float>(m: Matrix<F>, bias: Float): Matrix<F> => {
  if (bias.length !== m.cols) throw new RangeError(`addRowVector: bias has ${bias.length} values, matrix has ${m.cols} columns`);
  return map(m, (x, idx) => x + bias[idx % m.cols]!);
};

export const transpose = <F extends Float>(m: Matrix<F>): Matrix<F> => {
  const out = allocLike(m.data, m.data.length);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) out[j * m.rows + i] = m.data[i * m.cols + j]!;
  return matrix(m.cols, m.rows, out);
};

export const shapeOf = (m: Matrix<Float>): string => `${m.rows}x${m.cols}`;
