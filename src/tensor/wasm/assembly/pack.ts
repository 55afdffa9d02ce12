// Packing of GEMM operands into the panel layouts the micro-kernel streams through:
// op(A) (m x k) as panels of MR rows, each stored k-major ([kk][r], MR floats per step),
// op(B) (k x n) as panels of NR columns, each stored k-major ([kk][c], NR floats per step).
// Rows or columns past the edge of the matrix are zero, so every panel is full and the kernel has no edges
// in k; zero padding does not change any valid element of C.

export const MR: i32 = 4;
export const NR: i32 = 8; // twice MR: a step's offset into a B panel is twice its offset into an A panel

// A panel's list (gemm.ts): its count of listed steps, 1 if all its values are finite (else 0), then the
// offsets into an A panel (16 bytes a step) of the steps where it holds a nonzero value, in order.
export const LIST_HEAD: usize = 8;
/** Bytes of one panel's list for k steps. */
@inline export function listStride(k: i32): usize {
  return LIST_HEAD + (<usize>k << 2);
}

/** Lists the packed panel at `panel` (`width` floats a step, MR or NR, over k steps) into `list`. */
function listPanel(panel: usize, k: i32, width: i32, list: usize): void {
  const zero = f32x4.splat(0);
  let bad = zero;
  let count = 0;
  const at = list + LIST_HEAD;
  for (let kk = 0; kk < k; kk++) {
    let v = v128.load(panel + (<usize>(kk * width) << 2));
    let nonzero = f32x4.ne(v, zero); // NaN counts as nonzero, -0 as zero
    bad = v128.or(bad, f32x4.ne(f32x4.sub(v, v), zero)); // NaN where v is not finite
    if (width == NR) {
      v = v128.load(panel + (<usize>(kk * width) << 2), 16);
      nonzero = v128.or(nonzero, f32x4.ne(v, zero));
      bad = v128.or(bad, f32x4.ne(f32x4.sub(v, v), zero));
    }
    store<i32>(at + (<usize>count << 2), kk << 4); // written always, kept only when counted
    count += <i32>v128.any_true(nonzero);
  }
  store<i32>(list, count);
  store<i32>(list, v128.any_true(bad) ? 0 : 1, 4);
}

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
 * Panel p starts at pa + p * MR * k floats; with la, its list at la + p * listStride(k).
 */
export function packA(transA: bool, m: i32, k: i32, a: usize, pa: usize, la: usize, p0: i32, p1: i32): void {
  for (let p = p0; p < p1; p++) {
    packPanelA(transA, m, k, a, pa, p);
    if (la != 0) listPanel(pa + (<usize>(p * MR) * <usize>k << 2), k, MR, la + <usize>p * listStride(k));
  }
}

/** Packs row panel p of op(A) (see packA). */
@inline function packPanelA(transA: bool, m: i32, k: i32, a: usize, pa: usize, p: i32): void {
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

/**
 * Packs column panels [q0, q1) of op(B), a k x n matrix; `b` holds B (n x k when transB, else k x n).
 * Panel q starts at pb + q * NR * k floats; with lb, its list at lb + q * listStride(k).
 */
export function packB(transB: bool, n: i32, k: i32, b: usize, pb: usize, lb: usize, q0: i32, q1: i32): void {
  for (let q = q0; q < q1; q++) {
    packPanelB(transB, n, k, b, pb, q);
    if (lb != 0) listPanel(pb + (<usize>(q * NR) * <usize>k << 2), k, NR, lb + <usize>q * listStride(k));
  }
}

/** Packs column panel q of op(B) (see packB). */
@inline function packPanelB(transB: bool, n: i32, k: i32, b: usize, pb: usize, q: i32): void {
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
