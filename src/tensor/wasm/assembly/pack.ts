// Packing of GEMM operands into the panel layouts the micro-kernel streams through:
// op(A) (m x k) as panels of MR rows, each stored k-major ([kk][r], MR floats per step),
// op(B) (k x n) as panels of NR columns, each stored k-major ([kk][c], NR floats per step).
// Rows or columns past the edge of the matrix are zero, so every panel is full and the kernel has no edges
// in k; zero padding does not change any valid element of C.

export const MR: i32 = 4;
export const NR: i32 = 8;

/** Transposes the 4x4 block whose rows are v0..v3 and stores its columns at dst, dst+16, dst+32, dst+48. */
@inline function transposeStore4(v0: v128, v1: v128, v2: v128, v3: v128, dst: usize, stride: usize): void {
  const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
  const t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
  v128.store(dst, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst + stride, i32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, i32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, i32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

/**
 * Packs row panels [p0, p1) of op(A), an m x k matrix; `a` holds A (k x m when transA, else m x k).
 * Panel p starts at pa + p * MR * k floats.
 */
export function packA(transA: bool, m: i32, k: i32, a: usize, pa: usize, p0: i32, p1: i32): void {
  for (let p = p0; p < p1; p++) {
    const i0 = p * MR;
    const rows = min(MR, m - i0);
    const dst = pa + (<usize>(p * MR) * <usize>k << 2);
    if (transA) {
      // Element (i, kk) of op(A) is a[kk * m + i]: MR neighbours per step.
      if (rows == MR) {
        for (let kk = 0; kk < k; kk++) {
          v128.store(dst + (<usize>kk << 4), v128.load(a + (<usize>(kk * m + i0) << 2)));
        }
      } else {
        for (let kk = 0; kk < k; kk++) {
          for (let r = 0; r < MR; r++) {
            const v: f32 = r < rows ? load<f32>(a + (<usize>(kk * m + i0 + r) << 2)) : 0;
            store<f32>(dst + (<usize>(kk * MR + r) << 2), v);
          }
        }
      }
    } else {
      // Element (i, kk) is a[i * k + kk]: MR rows read side by side, transposed 4x4 at a time.
      let kk = 0;
      if (rows == MR) {
        const r0 = a + (<usize>(i0 * k) << 2);
        const r1 = r0 + (<usize>k << 2);
        const r2 = r1 + (<usize>k << 2);
        const r3 = r2 + (<usize>k << 2);
        for (; kk + 4 <= k; kk += 4) {
          const o = <usize>kk << 2;
          transposeStore4(v128.load(r0 + o), v128.load(r1 + o), v128.load(r2 + o), v128.load(r3 + o), dst + (o << 2), 16);
        }
      }
      for (; kk < k; kk++) {
        for (let r = 0; r < MR; r++) {
          const v: f32 = r < rows ? load<f32>(a + (<usize>((i0 + r) * k + kk) << 2)) : 0;
          store<f32>(dst + (<usize>(kk * MR + r) << 2), v);
        }
      }
    }
  }
}

/**
 * Packs column panels [q0, q1) of op(B), a k x n matrix; `b` holds B (n x k when transB, else k x n).
 * Panel q starts at pb + q * NR * k floats.
 */
export function packB(transB: bool, n: i32, k: i32, b: usize, pb: usize, q0: i32, q1: i32): void {
  for (let q = q0; q < q1; q++) {
    const j0 = q * NR;
    const cols = min(NR, n - j0);
    const dst = pb + (<usize>(q * NR) * <usize>k << 2);
    if (!transB) {
      // Element (kk, j) of op(B) is b[kk * n + j]: NR neighbours per step.
      if (cols == NR) {
        for (let kk = 0; kk < k; kk++) {
          const src = b + (<usize>(kk * n + j0) << 2);
          const d = dst + (<usize>kk << 5);
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
        }
      } else {
        for (let kk = 0; kk < k; kk++) {
          for (let c = 0; c < NR; c++) {
            const v: f32 = c < cols ? load<f32>(b + (<usize>(kk * n + j0 + c) << 2)) : 0;
            store<f32>(dst + (<usize>(kk * NR + c) << 2), v);
          }
        }
      }
    } else {
      // Element (kk, j) is b[j * k + kk]: NR rows of B read side by side, transposed 4x4 at a time.
      let kk = 0;
      if (cols == NR) {
        const row = <usize>k << 2;
        const r0 = b + (<usize>(j0 * k) << 2);
        for (; kk + 4 <= k; kk += 4) {
          const o = <usize>kk << 2;
          const d = dst + (o << 3);
          transposeStore4(v128.load(r0 + o), v128.load(r0 + row + o), v128.load(r0 + 2 * row + o), v128.load(r0 + 3 * row + o), d, 32);
          const r4 = r0 + 4 * row;
          transposeStore4(v128.load(r4 + o), v128.load(r4 + row + o), v128.load(r4 + 2 * row + o), v128.load(r4 + 3 * row + o), d + 16, 32);
        }
      }
      for (; kk < k; kk++) {
        for (let c = 0; c < NR; c++) {
          const v: f32 = c < cols ? load<f32>(b + (<usize>((j0 + c) * k + kk) << 2)) : 0;
          store<f32>(dst + (<usize>(kk * NR + c) << 2), v);
        }
      }
    }
  }
}
