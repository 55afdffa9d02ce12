/*
 * The optimiser updates of src/optim/kernels.ts, with the same arithmetic: every value is read as a double,
 * the expressions are evaluated in the same order in double precision (the build passes -ffp-contract=off,
 * so no multiply-add is fused), and each result is rounded once when stored as a float, as a Float32Array
 * store rounds. The parameters and moments are therefore bit-identical to the TypeScript loops.
 *
 * The check is NaN when some new parameter is not finite, else kernels.ts's sumSquares(g): blocks of
 * CHECK_BLOCK elements, eight running sums (lanes) per block, the lanes combined in a fixed tree and the
 * blocks' sums added in block order. That order depends on the length alone, so a chunk (a whole number of
 * blocks) sums its own blocks, on whichever thread updates it, and the caller adds the blocks' sums in order:
 * the same bits as the TypeScript function for every length, thread count and chunk size.
 */
#include "update.h"

#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

/* finiteness of the value as stored: a double beyond the float32 range becomes infinite there */
#define NOT_FINITE(x) (!((float)(x) - (float)(x) == 0))

/*
 * The loops are built twice, for AVX2 and for the baseline, and the loader picks one for the CPU (GNU ifunc):
 * without AVX2 the flag's reduction does not vectorise. AVX2 brings no fused multiply-add (and the build
 * forbids contraction anyway), and vector IEEE operations round exactly like scalar ones.
 */
#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) && (defined(__GNUC__) || defined(__clang__))
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VECTOR_CLONES
#endif

VECTOR_CLONES static int sgd(const np_update *u, size_t lo, size_t hi) {
  const float *w = u->w, *g = u->g;
  float *w2 = u->w2;
  const double clip = u->clip, decay = u->decay, lr = u->lr;
  int bad = 0;
  for (size_t i = lo; i < hi; i++) {
    const double wi = w[i], gi = g[i];
    const double n = wi - lr * (clip * gi + decay * wi);
    w2[i] = (float)n;
    bad |= NOT_FINITE(n);
  }
  return bad;
}

VECTOR_CLONES static int momentum(const np_update *u, size_t lo, size_t hi) {
  const float *w = u->w, *g = u->g, *v = u->v;
  float *w2 = u->w2, *v2 = u->v2;
  const double clip = u->clip, decay = u->decay, lr = u->lr, mu = u->mu;
  int bad = 0;
  for (size_t i = lo; i < hi; i++) {
    const double wi = w[i], raw = g[i];
    const double vi = mu * (double)v[i] + clip * raw + decay * wi;
    v2[i] = (float)vi;
    const double n = wi - lr * vi;
    w2[i] = (float)n;
    bad |= NOT_FINITE(n);
  }
  return bad;
}

VECTOR_CLONES static int nesterov(const np_update *u, size_t lo, size_t hi) {
  const float *w = u->w, *g = u->g, *v = u->v;
  float *w2 = u->w2, *v2 = u->v2;
  const double clip = u->clip, decay = u->decay, lr = u->lr, mu = u->mu;
  int bad = 0;
  for (size_t i = lo; i < hi; i++) {
    const double wi = w[i], raw = g[i];
    const double gi = clip * raw + decay * wi;
    const double vi = mu * (double)v[i] + gi;
    v2[i] = (float)vi;
    const double n = wi - lr * (gi + mu * vi);
    w2[i] = (float)n;
    bad |= NOT_FINITE(n);
  }
  return bad;
}

VECTOR_CLONES static int adam(const np_update *u, size_t lo, size_t hi) {
  const float *w = u->w, *g = u->g, *m = u->v, *s = u->s;
  float *w2 = u->w2, *m2 = u->v2, *s2 = u->s2;
  const double clip = u->clip, decay = u->decay, lr = u->lr, b1 = u->b1, b2 = u->b2, c1 = u->c1, c2 = u->c2,
               eps = u->eps;
  int bad = 0;
  for (size_t i = lo; i < hi; i++) {
    const double wi = w[i], raw = g[i];
    const double gi = clip * raw + decay * wi;
    const double mi = b1 * (double)m[i] + (1 - b1) * gi;
    const double si = b2 * (double)s[i] + (1 - b2) * gi * gi;
    m2[i] = (float)mi;
    s2[i] = (float)si;
    const double n = wi - (lr * (mi / c1)) / (sqrt(si / c2) + eps);
    w2[i] = (float)n;
    bad |= NOT_FINITE(n);
  }
  return bad;
}

static int update_range(const np_update *u, size_t lo, size_t hi) {
  switch (u->rule) {
    case NP_SGD: return sgd(u, lo, hi);
    case NP_MOMENTUM: return momentum(u, lo, hi);
    case NP_NESTEROV: return nesterov(u, lo, hi);
    case NP_ADAM: return adam(u, lo, hi);
  }
  return 1;
}

#define CHECK_BLOCK 16384 /* kernels.ts CHECK_BLOCK */

/* The sum of squares of one block (at most CHECK_BLOCK elements), lane by lane as kernels.ts sumSquares. */
VECTOR_CLONES static double block_sum(const float *g, size_t n) {
  double l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) {
      const double gi = g[i + j];
      l[j] += gi * gi;
    }
  for (int j = 0; i < n; i++, j++) {
    const double gi = g[i];
    l[j] += gi * gi;
  }
  return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
}

/* Each block's sum of squares in [lo, hi) (lo a multiple of CHECK_BLOCK) into sums[block]. */
static void block_sums(const float *g, size_t lo, size_t hi, double *sums) {
  for (size_t b = lo; b < hi; b += CHECK_BLOCK) sums[b / CHECK_BLOCK] = block_sum(g + b, hi - b < CHECK_BLOCK ? hi - b : CHECK_BLOCK);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_FUSED_SGD 1
/*
 * SGD over one check block [lo, hi) (lo at a block's start) with the block's sum of squares in the same
 * pass: the arithmetic of sgd() and block_sum() on AVX2, four doubles a vector (the same IEEE operations in
 * the same order, each result rounded once to float), the eight lanes in two vectors. Returns not-finite.
 */
__attribute__((target("avx2"))) static int sgd_block(const np_update *u, size_t lo, size_t hi, double *sum) {
  const float *w = u->w, *g = u->g;
  float *w2 = u->w2;
  const __m256d clip = _mm256_set1_pd(u->clip), decay = _mm256_set1_pd(u->decay), lr = _mm256_set1_pd(u->lr);
  __m256d l0 = _mm256_setzero_pd(), l1 = _mm256_setzero_pd();
  __m256 bad = _mm256_setzero_ps();
  size_t i = lo;
  for (; i + 8 <= hi; i += 8) {
    const __m256 wv = _mm256_loadu_ps(w + i), gv = _mm256_loadu_ps(g + i);
    const __m256d w0 = _mm256_cvtps_pd(_mm256_castps256_ps128(wv)), w1 = _mm256_cvtps_pd(_mm256_extractf128_ps(wv, 1));
    const __m256d g0 = _mm256_cvtps_pd(_mm256_castps256_ps128(gv)), g1 = _mm256_cvtps_pd(_mm256_extractf128_ps(gv, 1));
    const __m256d n0 = _mm256_sub_pd(w0, _mm256_mul_pd(lr, _mm256_add_pd(_mm256_mul_pd(clip, g0), _mm256_mul_pd(decay, w0))));
    const __m256d n1 = _mm256_sub_pd(w1, _mm256_mul_pd(lr, _mm256_add_pd(_mm256_mul_pd(clip, g1), _mm256_mul_pd(decay, w1))));
    const __m256 f = _mm256_set_m128(_mm256_cvtpd_ps(n1), _mm256_cvtpd_ps(n0));
    _mm256_storeu_ps(w2 + i, f);
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(_mm256_sub_ps(f, f), _mm256_setzero_ps(), _CMP_NEQ_UQ));
    l0 = _mm256_add_pd(l0, _mm256_mul_pd(g0, g0));
    l1 = _mm256_add_pd(l1, _mm256_mul_pd(g1, g1));
  }
  double l[8];
  _mm256_storeu_pd(l, l0);
  _mm256_storeu_pd(l + 4, l1);
  int scalar_bad = 0;
  for (int j = 0; i < hi; i++, j++) {
    const double wi = w[i], gi = g[i];
    const double n = wi - u->lr * (u->clip * gi + u->decay * wi);
    w2[i] = (float)n;
    scalar_bad |= NOT_FINITE(n);
    l[j] += gi * gi;
  }
  *sum = ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
  return scalar_bad | (_mm256_movemask_ps(bad) != 0);
}
#endif

/* The update and the check of [lo, hi) (lo a multiple of CHECK_BLOCK): SGD in one pass where it can. */
static int update_and_sum(const np_update *u, size_t lo, size_t hi, double *sums) {
#ifdef HAVE_FUSED_SGD
  if (u->rule == NP_SGD && __builtin_cpu_supports("avx2")) {
    int bad = 0;
    for (size_t b = lo; b < hi; b += CHECK_BLOCK) bad |= sgd_block(u, b, hi - b < CHECK_BLOCK ? hi : b + CHECK_BLOCK, sums + b / CHECK_BLOCK);
    return bad;
  }
#endif
  const int bad = update_range(u, lo, hi);
  block_sums(u->g, lo, hi, sums);
  return bad;
}

/* The blocks' sums added in block order. */
static double total(const double *sums, size_t blocks) {
  double t = 0;
  for (size_t b = 0; b < blocks; b++) t += sums[b];
  return t;
}

typedef struct {
  const np_update *u;
  size_t chunk;
  double *sums;
  atomic_int bad;
} update_job;

/* Block b updates chunk b and sums its blocks of the check. */
static void update_block(void *ctx, int b) {
  update_job *j = ctx;
  const size_t lo = (size_t)b * j->chunk;
  const size_t hi = j->u->length - lo > j->chunk ? lo + j->chunk : j->u->length;
  if (update_and_sum(j->u, lo, hi, j->sums)) atomic_store_explicit(&j->bad, 1, memory_order_relaxed);
}

double np_update_run(np_pool *pool, const np_update *u, size_t chunk) {
  const size_t blocks = (u->length + CHECK_BLOCK - 1) / CHECK_BLOCK;
  /* the blocks' sums on the stack up to 4Mi elements (a 784-1000-10 network's largest tensor has 48 blocks) */
  double stack[256];
  double *sums = blocks <= 256 ? stack : malloc(blocks * sizeof *sums);
  if (!sums) return NAN; /* out of memory: reported as a failed check rather than a wrong one */
  /* a whole number of check blocks per chunk (so chunk numbers fit an int: a typed array has < 2^33 elements) */
  chunk = chunk < CHECK_BLOCK ? CHECK_BLOCK : (chunk + CHECK_BLOCK - 1) / CHECK_BLOCK * CHECK_BLOCK;
  int bad;
  if (np_pool_threads(pool) == 1 || u->length <= chunk) {
    bad = update_and_sum(u, 0, u->length, sums);
  } else {
    update_job job = {.u = u, .chunk = chunk, .sums = sums};
    atomic_init(&job.bad, 0);
    np_pool_run(pool, update_block, &job, (int)((u->length + chunk - 1) / chunk));
    bad = atomic_load(&job.bad);
  }
  const double check = bad ? NAN : total(sums, blocks);
  if (sums != stack) free(sums);
  return check;
}
