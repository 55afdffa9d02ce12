/*
 * GEMM that skips zeros, for the native backend (see zgemm.h).
 *
 * The smaller operand (a batch of inputs, next to a layer's weights) is made the left one: C = op(A) op(B)
 * is computed as it is when that is A, else as C^T = op(B)^T op(A)^T, written back transposed. The left
 * operand is packed into panels of ZMR rows, the right one into panels of 16 or 32 columns, each stored
 * step by step (k-major), as the wasm kernels do (src/tensor/wasm/assembly/gemm.ts). The left one comes
 * first, with, per panel, the list of the steps where it holds a nonzero value (narrow panels: more steps
 * are all zero). When those lists keep more than `density` of all its steps, or fewer than MIN_STEPS a
 * panel on average, the call is left to the library. Otherwise every tile is one micro-kernel call: 12 accumulators of
 * 8 floats (AVX2) or of 16 (AVX-512, where the CPU has it), one fused multiply-add per step kept, in order.
 * Each element of C is the same chain of operations with either width, so both give the same bits. A tile
 * runs the listed steps only when the right operand's panel is all finite (a skipped step would add a zero
 * times a finite number, a signed zero; a NaN or an infinity there would have made the element NaN), else
 * every step. The tiles are shared out among the pool's threads in blocks (of right panels, each packed by
 * the task that uses it, when there are more of them), but a tile is the same computation whichever thread
 * runs it: the bits depend on the operands alone.
 */
#include "zgemm.h"

#include <stdlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define ZMR 6
#define ZNR_MAX 32 /* columns of a right panel: 16 with AVX2 (two vectors of 8), 32 with AVX-512 (two of 16) */
#define MIN_FLOPS 4e6 /* smaller products stay with the library: the scan and packing would not pay */
/*
 * Nor does a tile with fewer steps than this on average: its epilogue (writing 6 x 32 values, transposed
 * when C^T is computed) outweighs them. test/bench/zeros.js, weight gradient dZ^T X / B (k = the batch,
 * 40-44% of steps kept): this kernel x0.70-0.90 of oneDNN at batch 32-64 (13-28 steps), x1.01-1.04 at
 * 96-128 (41-55 steps); the forward product (k = 784, ~330 steps) x1.12-1.45 at every batch.
 */
#define MIN_STEPS 48
#define PANELS_PER_TASK 4

typedef struct {
  bool ta, tb;
  int m, n, k;
  float alpha, beta;
  int mode; /* 0: store, 1: scale by alpha, 2: also add beta C */
  const float *a, *b;
  float *c;        /* element (i, j) of the product at c + i * rs + j * cs */
  size_t rs, cs;
  int nr;          /* columns of a right panel: 16 or 32 (a tile's two vectors) */
  bool wide;       /* AVX-512 tiles (nr 32) */
  int mp, np;      /* panels of op(A), of op(B) */
  float *pa, *pb;  /* packed panels */
  int *lists;      /* per panel of op(A): k ints */
  int *counts;     /* per panel of op(A): the steps listed */
  int *finite_b;   /* per panel of op(B): all its values finite */
  bool by_rows;
  int per_task;
} zjob;

static inline float op_a(const zjob *j, int i, int kk) {
  return j->ta ? j->a[(size_t)kk * (size_t)j->m + (size_t)i] : j->a[(size_t)i * (size_t)j->k + (size_t)kk];
}
static inline float op_b(const zjob *j, int kk, int col) {
  return j->tb ? j->b[(size_t)col * (size_t)j->k + (size_t)kk] : j->b[(size_t)kk * (size_t)j->n + (size_t)col];
}

/* Not finite (x - x is NaN for an infinity or a NaN); -fno-trapping-math lets this vectorise. */
#define NOT_FINITE(x) (!((x) - (x) == 0))

/* Transposes the 8x8 block whose rows are r[0..7], in place. */
__attribute__((target("avx2,fma"))) static inline void transpose8(__m256 r[8]) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/*
 * Packs panel p of op(A) (ZMR rows, zero past m) and lists the steps where it holds a nonzero value (a NaN
 * counts); returns their count.
 */
__attribute__((target("avx2,fma"))) static int pack_a(const zjob *j, int p) {
  const int k = j->k;
  float *dst = j->pa + (size_t)p * ZMR * (size_t)k;
  int *list = j->lists + (size_t)p * (size_t)k;
  const int i0 = p * ZMR, rows = j->m - i0 < ZMR ? j->m - i0 : ZMR;
  int count = 0, kk = 0;
  if (rows == ZMR && !j->ta) {
    /* 6 rows of A, 8 steps at a time: transposed 8x8 (two zero rows), 6 floats stored a step */
    const float *src = j->a + (size_t)i0 * (size_t)k;
    for (; kk + 8 <= k; kk += 8) {
      __m256 r[8];
      for (int t = 0; t < ZMR; t++) r[t] = _mm256_loadu_ps(src + (size_t)t * (size_t)k + (size_t)kk);
      r[6] = r[7] = _mm256_setzero_ps();
      transpose8(r);
      for (int t = 0; t < 8; t++) {
        float *at = dst + (size_t)(kk + t) * ZMR;
        _mm_storeu_ps(at, _mm256_castps256_ps128(r[t]));
        _mm_storel_pi((__m64 *)(at + 4), _mm256_extractf128_ps(r[t], 1));
        list[count] = kk + t;
        count += (_mm256_movemask_ps(_mm256_cmp_ps(r[t], _mm256_setzero_ps(), _CMP_NEQ_UQ)) & 0x3f) != 0;
      }
    }
  } else if (rows == ZMR) {
    /* op(A) = A^T: each step is 6 consecutive floats of a row of A */
    for (; kk < k; kk++) {
      const float *src = j->a + (size_t)kk * (size_t)j->m + (size_t)i0;
      float *at = dst + (size_t)kk * ZMR;
      const __m128 lo = _mm_loadu_ps(src), hi = _mm_castpd_ps(_mm_load_sd((const double *)(src + 4)));
      _mm_storeu_ps(at, lo);
      _mm_storel_pi((__m64 *)(at + 4), hi);
      const int nz = _mm_movemask_ps(_mm_cmp_ps(lo, _mm_setzero_ps(), _CMP_NEQ_UQ)) |
                     (_mm_movemask_ps(_mm_cmp_ps(hi, _mm_setzero_ps(), _CMP_NEQ_UQ)) & 3);
      list[count] = kk;
      count += nz != 0;
    }
  }
  for (; kk < k; kk++) {
    int nonzero = 0;
    for (int r = 0; r < ZMR; r++) {
      const float v = r < rows ? op_a(j, i0 + r, kk) : 0.0f;
      dst[(size_t)kk * ZMR + r] = v;
      nonzero |= v != 0.0f;
    }
    list[count] = kk;
    count += nonzero;
  }
  return count;
}

/* Packs panel q of op(B) (nr columns, zero past n); returns whether its values are all finite. */
__attribute__((target("avx2,fma"))) static int pack_b(const zjob *j, int q) {
  const int nr = j->nr;
  float *dst = j->pb + (size_t)q * (size_t)nr * (size_t)j->k;
  const int j0 = q * nr, cols = j->n - j0 < nr ? j->n - j0 : nr;
  const int k = j->k;
  int bad = 0;
  int kk = 0;
  if (j->tb && cols == nr) {
    /* B is n x k: nr rows of it, transposed 8x8 at a time */
    __m256 nf = _mm256_setzero_ps();
    for (; kk + 8 <= k; kk += 8)
      for (int h = 0; h < nr / 8; h++) {
        __m256 r[8];
        for (int t = 0; t < 8; t++) {
          r[t] = _mm256_loadu_ps(j->b + (size_t)(j0 + h * 8 + t) * (size_t)k + (size_t)kk);
          nf = _mm256_or_ps(nf, _mm256_cmp_ps(_mm256_sub_ps(r[t], r[t]), _mm256_setzero_ps(), _CMP_NEQ_UQ));
        }
        transpose8(r);
        for (int t = 0; t < 8; t++) _mm256_storeu_ps(dst + (size_t)(kk + t) * (size_t)nr + h * 8, r[t]);
      }
    bad |= _mm256_movemask_ps(nf) != 0;
  } else if (!j->tb && cols == nr) {
    for (; kk < k; kk++) {
      const float *src = j->b + (size_t)kk * (size_t)j->n + (size_t)j0;
      for (int col = 0; col < nr; col++) {
        dst[(size_t)kk * (size_t)nr + col] = src[col];
        bad |= NOT_FINITE(src[col]);
      }
    }
  }
  for (; kk < k; kk++)
    for (int col = 0; col < nr; col++) {
      const float v = col < cols ? op_b(j, kk, j0 + col) : 0.0f;
      dst[(size_t)kk * (size_t)nr + col] = v;
      bad |= NOT_FINITE(v);
    }
  return !bad;
}

/* Pack task b of op(A): its panels, their lists and counts. */
static void pack_left(void *ctx, int b) {
  zjob *j = ctx;
  for (int p = b * PANELS_PER_TASK; p < j->mp && p < (b + 1) * PANELS_PER_TASK; p++) {
    j->counts[p] = pack_a(j, p);
  }
}

/* Pack task b of op(B): its panels, and whether each is all finite. */
static void pack_right(void *ctx, int b) {
  zjob *j = ctx;
  for (int q = b * PANELS_PER_TASK; q < j->np && q < (b + 1) * PANELS_PER_TASK; q++) j->finite_b[q] = pack_b(j, q);
}

/*
 * The epilogue of a tile whose accumulators are v[h][r] (row r, columns 8h..8h+7 of the tile; r < ZMR, the
 * two rows past it zero), `halves` of 8 columns: alpha and beta applied and stored into C (rows x cols of it
 * valid). The same IEEE operations, vector or scalar (the build forbids contracting them), for every tile
 * width: the bits do not depend on it.
 */
__attribute__((target("avx2,fma"))) static void epilogue(const zjob *j, __m256 v[][8], int halves, float *c, int rows,
                                                          int cols) {
  if (rows == ZMR && cols == halves * 8) {
    /* a whole tile, the epilogue in vector operations */
    const __m256 al = _mm256_set1_ps(j->alpha), be = _mm256_set1_ps(j->beta);
    if (j->cs == 1) { /* rows of the product are rows of C */
      for (int r = 0; r < ZMR; r++)
        for (int h = 0; h < halves; h++) {
          float *at = c + (size_t)r * j->rs + (size_t)h * 8;
          __m256 x = v[h][r];
          if (j->mode != 0) {
            x = _mm256_mul_ps(al, x);
            if (j->mode == 2) x = _mm256_add_ps(x, _mm256_mul_ps(be, _mm256_loadu_ps(at)));
          }
          _mm256_storeu_ps(at, x);
        }
    } else { /* rows of the product are columns of C: 6 floats of each of 8 * halves rows of C */
      for (int h = 0; h < halves; h++) {
        transpose8(v[h]);
        for (int col = 0; col < 8; col++) {
          float *at = c + (size_t)(h * 8 + col) * j->cs;
          __m256 x = v[h][col];
          if (j->mode != 0) {
            x = _mm256_mul_ps(al, x);
            if (j->mode == 2) {
              /* 4 + 2 floats loaded and stored (masked moves are slow on some CPUs) */
              const __m256 old = _mm256_set_m128(_mm_castpd_ps(_mm_load_sd((const double *)(at + 4))), _mm_loadu_ps(at));
              x = _mm256_add_ps(x, _mm256_mul_ps(be, old));
            }
          }
          _mm_storeu_ps(at, _mm256_castps256_ps128(x));
          _mm_store_sd((double *)(at + 4), _mm_castps_pd(_mm256_extractf128_ps(x, 1)));
        }
      }
    }
    return;
  }
  float acc[ZMR][ZNR_MAX];
  for (int r = 0; r < ZMR; r++)
    for (int h = 0; h < halves; h++) _mm256_storeu_ps(acc[r] + h * 8, v[h][r]);
  /* an edge tile, the epilogue in scalar operations */
  for (int r = 0; r < rows; r++)
    for (int col = 0; col < cols; col++) {
      float *at = c + (size_t)r * j->rs + (size_t)col * j->cs;
      float x = acc[r][col];
      if (j->mode != 0) {
        x = j->alpha * x;
        if (j->mode == 2) x = x + j->beta * *at;
      }
      *at = x;
    }
}

/*
 * The tile loop: accumulators c<r><h> of type V (row r, the h-th vector of NR / 2 columns) gain a[r] b[c]
 * for every step (list NULL) or the `count` steps of `list`, one fused multiply-add a step, in order.
 */
#define TILE_LOOP(V, LOADU, SET1, FMADD, NR)                                              \
  do {                                                                                    \
    for (int t = 0; t < (list == NULL ? j->k : count); t++) {                             \
      const int kk = list == NULL ? t : list[t];                                          \
      const float *ap = pa + (size_t)kk * ZMR;                                            \
      const V b0 = LOADU(pb + (size_t)kk * (NR)), b1 = LOADU(pb + (size_t)kk * (NR) + (NR) / 2); \
      V av = SET1(ap[0]);                                                                 \
      c00 = FMADD(av, b0, c00), c01 = FMADD(av, b1, c01);                                 \
      av = SET1(ap[1]);                                                                   \
      c10 = FMADD(av, b0, c10), c11 = FMADD(av, b1, c11);                                 \
      av = SET1(ap[2]);                                                                   \
      c20 = FMADD(av, b0, c20), c21 = FMADD(av, b1, c21);                                 \
      av = SET1(ap[3]);                                                                   \
      c30 = FMADD(av, b0, c30), c31 = FMADD(av, b1, c31);                                 \
      av = SET1(ap[4]);                                                                   \
      c40 = FMADD(av, b0, c40), c41 = FMADD(av, b1, c41);                                 \
      av = SET1(ap[5]);                                                                   \
      c50 = FMADD(av, b0, c50), c51 = FMADD(av, b1, c51);                                 \
    }                                                                                     \
  } while (0)

/* One ZMR x 16 tile (AVX2): TILE_LOOP, then the epilogue. */
__attribute__((target("avx2,fma"))) static void tile8(const zjob *j, const float *pa, const float *pb, const int *list,
                                                       int count, float *c, int rows, int cols) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  TILE_LOOP(__m256, _mm256_loadu_ps, _mm256_set1_ps, _mm256_fmadd_ps, 16);
  const __m256 z = _mm256_setzero_ps();
  __m256 v[2][8] = {{c00, c10, c20, c30, c40, c50, z, z}, {c01, c11, c21, c31, c41, c51, z, z}};
  epilogue(j, v, 2, c, rows, cols);
}

/* One ZMR x 32 tile (AVX-512): the same sums as tile8's, element by element, so the same bits. */
__attribute__((target("avx512f,avx512dq,avx2,fma"))) static void tile16(const zjob *j, const float *pa,
                                                                         const float *pb, const int *list, int count,
                                                                         float *c, int rows, int cols) {
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  TILE_LOOP(__m512, _mm512_loadu_ps, _mm512_set1_ps, _mm512_fmadd_ps, 32);
  const __m256 z = _mm256_setzero_ps();
#define LO(x) _mm512_castps512_ps256(x)
#define HI(x) _mm512_extractf32x8_ps(x, 1)
  __m256 v[4][8] = {{LO(c00), LO(c10), LO(c20), LO(c30), LO(c40), LO(c50), z, z},
                    {HI(c00), HI(c10), HI(c20), HI(c30), HI(c40), HI(c50), z, z},
                    {LO(c01), LO(c11), LO(c21), LO(c31), LO(c41), LO(c51), z, z},
                    {HI(c01), HI(c11), HI(c21), HI(c31), HI(c41), HI(c51), z, z}};
#undef LO
#undef HI
  epilogue(j, v, 4, c, rows, cols);
}

/* Compute task b: the tiles of a block of A panels (by rows) or of B panels, against every panel of the other. */
static void compute(void *ctx, int b) {
  const zjob *j = ctx;
  const int outer = j->by_rows ? j->mp : j->np;
  const int lo = b * j->per_task, hi = lo + j->per_task < outer ? lo + j->per_task : outer;
  for (int s = lo; s < hi; s++) {
    if (!j->by_rows) j->finite_b[s] = pack_b(j, s); /* packed here, while it stays in this core's cache */
    for (int t = 0; t < (j->by_rows ? j->np : j->mp); t++) {
      const int p = j->by_rows ? s : t, q = j->by_rows ? t : s;
      const int *list = j->finite_b[q] ? j->lists + (size_t)p * (size_t)j->k : NULL;
      const int i0 = p * ZMR, j0 = q * j->nr;
      const float *pa = j->pa + (size_t)p * ZMR * (size_t)j->k, *pb = j->pb + (size_t)q * (size_t)j->nr * (size_t)j->k;
      float *at = j->c + (size_t)i0 * j->rs + (size_t)j0 * j->cs;
      const int rows = j->m - i0 < ZMR ? j->m - i0 : ZMR, cols = j->n - j0 < j->nr ? j->n - j0 : j->nr;
      if (j->wide)
        tile16(j, pa, pb, list, j->counts[p], at, rows, cols);
      else
        tile8(j, pa, pb, list, j->counts[p], at, rows, cols);
    }
  }
}

/* Grows the scratch to hold `floats` and `ints`; false when memory cannot be had. */
static bool reserve(np_zgemm_scratch *s, size_t floats, size_t ints) {
  if (s->packed_floats < floats) {
    float *p = realloc(s->packed, floats * sizeof(float));
    if (p == NULL) return false;
    s->packed = p, s->packed_floats = floats;
  }
  if (s->list_ints < ints) {
    int *l = realloc(s->lists, ints * sizeof(int));
    if (l == NULL) return false;
    s->lists = l, s->list_ints = ints;
  }
  return true;
}

bool np_zgemm(np_pool *pool, np_zgemm_scratch *scratch, double density, int lanes, bool ta, bool tb, int m, int n,
              int k, float alpha, const float *a, const float *b, float beta, float *c) {
  if (!(density > 0) || 2.0 * m * (double)n * k < MIN_FLOPS) return false;
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return false;
  zjob j = {.k = k, .alpha = alpha, .beta = beta, .c = c, .mode = beta == 0 ? (alpha == 1 ? 0 : 1) : 2};
  if ((double)m * k <= (double)k * n) /* op(A) is the smaller: C as it is */
    j.ta = ta, j.tb = tb, j.m = m, j.n = n, j.a = a, j.b = b, j.rs = (size_t)n, j.cs = 1;
  else /* C^T = op(B)^T op(A)^T: op(B)^T is B read with the other transpose flag, and so is op(A)^T */
    j.ta = !tb, j.tb = !ta, j.m = n, j.n = m, j.a = b, j.b = a, j.rs = 1, j.cs = (size_t)n;
  j.wide = lanes != 8 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  j.nr = j.wide ? 32 : 16;
  j.mp = (j.m + ZMR - 1) / ZMR, j.np = (j.n + j.nr - 1) / j.nr;
  const size_t fa = (size_t)j.mp * ZMR * (size_t)k, fb = (size_t)j.np * (size_t)j.nr * (size_t)k;
  if (!reserve(scratch, fa + fb, (size_t)j.mp * (size_t)k + (size_t)j.mp + (size_t)j.np)) return false;
  j.pa = scratch->packed, j.pb = scratch->packed + fa;
  j.lists = scratch->lists;
  j.counts = j.lists + (size_t)j.mp * (size_t)k;
  j.finite_b = j.counts + j.mp;

  np_pool_run(pool, pack_left, &j, (j.mp + PANELS_PER_TASK - 1) / PANELS_PER_TASK);
  size_t kept = 0;
  for (int p = 0; p < j.mp; p++) kept += (size_t)j.counts[p];
  /* too few zeros, or too few steps kept per tile to pay for its epilogue: the library's turn (density 1: never) */
  if (density < 1 && ((double)kept > density * (double)j.mp * (double)k || kept < (size_t)MIN_STEPS * (size_t)j.mp))
    return false;

  j.by_rows = j.mp >= j.np;
  if (j.by_rows) np_pool_run(pool, pack_right, &j, (j.np + PANELS_PER_TASK - 1) / PANELS_PER_TASK);
  const int outer = j.by_rows ? j.mp : j.np;
  const int tasks = 4 * np_pool_threads(pool);
  j.per_task = (outer + tasks - 1) / tasks;
  np_pool_run(pool, compute, &j, (outer + j.per_task - 1) / j.per_task);
  return true;
}

void np_zgemm_free(np_zgemm_scratch *scratch) {
  free(scratch->packed);
  free(scratch->lists);
  *scratch = (np_zgemm_scratch){0};
}

#else

bool np_zgemm(np_pool *pool, np_zgemm_scratch *scratch, double density, int lanes, bool ta, bool tb, int m, int n,
              int k, float alpha, const float *a, const float *b, float beta, float *c) {
  (void)pool, (void)scratch, (void)density, (void)lanes, (void)ta, (void)tb, (void)m, (void)n, (void)k, (void)alpha, (void)a,
      (void)b, (void)beta, (void)c;
  return false;
}

void np_zgemm_free(np_zgemm_scratch *scratch) { (void)scratch; }

#endif
