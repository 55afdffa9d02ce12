/*
 * The optimiser updates of src/optim/kernels.ts, with the same arithmetic: every value is read as a double,
 * the expressions are evaluated in the same order in double precision (the build passes -ffp-contract=off,
 * so no multiply-add is fused), and each result is rounded once when stored as a float, as a Float32Array
 * store rounds. The parameters and moments are therefore bit-identical to the TypeScript loops.
 *
 * The check. TypeScript adds g^2 + 0 * n for every element, n the new parameter in double precision. For a
 * finite n the term is exactly g^2 (adding a zero changes no sum of squares); for a non-finite n it is NaN,
 * and so is the sum from there on. So the check is NaN if some n is not finite, else sum(g^2) added in
 * index order, which depends on g alone. Its roundings follow the order, so no thread count can share it
 * out: one block computes it over the whole tensor (by runs that get the bits of the chain of additions
 * without waiting on it, sum_on_grid) while the other threads update chunks (loops the compiler can
 * vectorise, each only recording whether some n is not finite): the check is bit-identical to the
 * TypeScript loop's for every length and every thread count.
 */
#include "update.h"

#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>

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

/* sum + g^2 over a run, one addition after another, as the TypeScript loop adds. */
static double sum_in_order(const float *g, size_t n, double sum) {
  for (size_t i = 0; i < n; i++) {
    const double gi = g[i];
    sum += gi * gi;
  }
  return sum;
}

#define RUN 512 /* elements per run of sum_on_grid: a multiple of 64 */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#include <stdint.h>
#define HAVE_GRID_SUM 1

/*
 * The same sum over a run of at most RUN elements (n a multiple of 8), with the bits of sum_in_order
 * but without its chain of dependent additions (3-4 cycles each: 0.64 ms for the 784,000 weights of a
 * 784-1000-10 network, which the caller's thread spends while the others update).
 *
 * Why it is exact: every g^2 is exact in double and >= 0, so the partial sums only grow. While they stay in
 * the binade [2^(e-1), 2^e) of `sum`, every partial sum is an integer S times the binade's ulp u =
 * 2^(e-53), and round(S u + x) = (S + round(x / u)) u: the run adds integers, exact in double below 2^53,
 * in any order. Except for a tie, x / u = k + 1/2, which rounds to the even one of S + k and S + k + 1 and
 * so depends on the parity of S at that point. The parity is even after a tie, and between ties flips
 * with every odd increment. So one pass adds rint(x / u) (which rounds a tie to the even k) in vector
 * lanes and records, per element, whether it is a tie and the parity of its increment (of k for a tie) as
 * bits; when there were ties a second pass walks those bits and adds one where the tie went the other way.
 * A run that leaves the binade (the total reaches 2^53), or meets anything not finite, returns false and
 * the caller adds it in order.
 */
__attribute__((target("avx2"))) static bool sum_on_grid(const float *g, size_t n, double *sum) {
  int e;
  (void)frexp(*sum, &e); /* *sum = f 2^e, 0.5 <= f < 1 */
  const double scale = ldexp(1.0, 53 - e); /* 1 / u: *sum * scale is an integer in [2^52, 2^53) */
  /* t + 2^52 rounds t (< 2^51, checked) to an integer, ties to even, and holds its parity in the last bit */
  const __m256d vscale = _mm256_set1_pd(scale), magic = _mm256_set1_pd(0x1p52), big = _mm256_set1_pd(0x1p51),
                half = _mm256_set1_pd(0.5), minus_half = _mm256_set1_pd(-0.5);
  __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd(), large = _mm256_setzero_pd();
  uint64_t ties[RUN / 64], odd[RUN / 64];
  uint64_t any = 0;
  for (size_t w = 0; w * 64 < n; w++) { /* the bits of a word gathered in registers, stored once */
    uint64_t tw = 0, ow = 0;
    for (size_t i = w * 64; i < n && i < w * 64 + 64; i += 8) {
      __m256d t[2], r[2];
      int tie = 0, up = 0, par = 0;
      for (int h = 0; h < 2; h++) {
        const __m256d x = _mm256_cvtps_pd(_mm_loadu_ps(g + i + 4 * h));
        t[h] = _mm256_mul_pd(_mm256_mul_pd(x, x), vscale); /* exact: a square times a power of two */
        large = _mm256_or_pd(large, _mm256_cmp_pd(t[h], big, _CMP_NLT_UQ)); /* NaN counts too */
        const __m256d y = _mm256_add_pd(t[h], magic);
        r[h] = _mm256_sub_pd(y, magic);
        const __m256d d = _mm256_sub_pd(t[h], r[h]); /* -1/2 or 1/2 for a tie: rint went up, or down */
        const int dn = _mm256_movemask_pd(_mm256_cmp_pd(d, half, _CMP_EQ_OQ));
        const int u = _mm256_movemask_pd(_mm256_cmp_pd(d, minus_half, _CMP_EQ_OQ));
        tie |= (dn | u) << (4 * h);
        up |= u << (4 * h);
        par |= _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(y), 63))) << (4 * h);
      }
      acc0 = _mm256_add_pd(acc0, r[0]);
      acc1 = _mm256_add_pd(acc1, r[1]);
      const unsigned sh = (unsigned)(i % 64);
      tw |= (uint64_t)tie << sh;
      /* the increment's parity; for a tie, k's: rint gave the even one of k, k + 1, so k is odd iff it went up */
      ow |= (uint64_t)(par | up) << sh;
    }
    ties[w] = tw;
    odd[w] = ow;
    any |= tw;
  }
  if (_mm256_movemask_pd(large)) return false;
  double lanes[8];
  _mm256_storeu_pd(lanes, acc0);
  _mm256_storeu_pd(lanes + 4, acc1);
  double total = *sum * scale;
  for (int l = 0; l < 8; l++) total += lanes[l];
  if (!(total < 0x1p53)) return false; /* left the binade, or not finite */
  if (any) {
    const double s0 = *sum * scale;
    uint64_t p = s0 - 2 * floor(s0 * 0.5) == 1; /* the parity of S before the word */
    double fix = 0;
    for (size_t w = 0; w < (n + 63) / 64; w++) {
      const uint64_t t = ties[w], k = odd[w] & t;
      /* q bit j: the parity of S after element j were there no tie in the word (p, then each odd increment) */
      uint64_t q = odd[w] & ~t;
      for (int sh = 1; sh < 64; sh *= 2) q ^= q << sh;
      /* v bit j: q at the last tie at or before j (0 before the first), m: there is one; filled in 6 doubling
         steps. Both are computed for p = 0 and then flipped where p reaches, so that the chain from one word
         to the next is a few instructions, not the fill. */
      uint64_t v = q & t, m = t;
      for (int sh = 1; sh < 64; sh *= 2) {
        v |= (v << sh) & ~m;
        m |= m << sh;
      }
      q ^= -p;
      v ^= -p & m;
      /* at a tie, S before it has the parity of the odd increments since the last tie (q ^ q there); the tie
         makes S + k even: one more than rint's k + (k odd) when that parity differs from k's */
      const uint64_t before = (q ^ (v << 1)) & t;
      fix += (double)__builtin_popcountll(before ^ k) - (double)__builtin_popcountll(k);
      p = (q ^ (m >> 63 ? v : 0)) >> 63; /* the parity after the word: since its last tie, if any */
    }
    total += fix;
    if (!(total < 0x1p53)) return false;
  }
  *sum = total / scale;
  return true;
}
#endif

/* sum(g^2) in index order, bit for bit: by runs on the grid of their binade where the CPU can (sum_on_grid). */
static double sum_squares(const float *g, size_t length) {
#ifdef HAVE_GRID_SUM
  if (__builtin_cpu_supports("avx2")) {
    double sum = 0;
    for (size_t i = 0; i < length; i += RUN) {
      const size_t n = length - i < RUN ? length - i : RUN;
      /* 0 (at the start), tiny, huge or not finite sums and a short last run are added in order */
      if (!(sum >= 0x1p-900 && sum < 0x1p900) || n % 8 != 0 || !sum_on_grid(g + i, n, &sum))
        sum = sum_in_order(g + i, n, sum);
    }
    return sum;
  }
#endif
  return sum_in_order(g, length, 0);
}

typedef struct {
  const np_update *u;
  size_t chunk;
  double sum;
  atomic_int bad;
} update_job;

/* Block 0, the caller's, is the sum of squares (the longest block); block b > 0 updates chunk b - 1. */
static void update_block(void *ctx, int b) {
  update_job *j = ctx;
  if (b == 0) {
    j->sum = sum_squares(j->u->g, j->u->length);
    return;
  }
  const size_t lo = (size_t)(b - 1) * j->chunk;
  const size_t hi = j->u->length - lo > j->chunk ? lo + j->chunk : j->u->length;
  if (update_range(j->u, lo, hi)) atomic_store_explicit(&j->bad, 1, memory_order_relaxed);
}

double np_update_run(np_pool *pool, const np_update *u, size_t chunk) {
  if (chunk == 0) chunk = 1;
  if (u->length / chunk >= INT_MAX - 1) chunk = u->length / (INT_MAX - 2) + 1; /* block numbers are ints */
  if (np_pool_threads(pool) == 1 || u->length <= chunk) {
    const int bad = update_range(u, 0, u->length);
    return bad ? NAN : sum_squares(u->g, u->length);
  }
  update_job job = {.u = u, .chunk = chunk, .sum = 0};
  atomic_init(&job.bad, 0);
  const size_t chunks = (u->length + chunk - 1) / chunk;
  np_pool_run(pool, update_block, &job, (int)chunks + 1);
  return atomic_load(&job.bad) ? NAN : job.sum;
}
