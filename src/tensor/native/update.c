/*
 * The optimiser updates of src/optim/kernels.ts, with the same arithmetic: every value is read as a double,
 * the expressions are evaluated in the same order in double precision (the build passes -ffp-contract=off,
 * so no multiply-add is fused), and each result is rounded once when stored as a float, as a Float32Array
 * store rounds. The parameters and moments are therefore bit-identical to the TypeScript loops.
 *
 * The check. TypeScript adds g^2 + 0 * n for every element, n the new parameter in double precision. For a
 * finite n the term is exactly g^2 (adding a zero changes no sum of squares); for a non-finite n it is NaN,
 * and so is the sum from there on. So the check is NaN if some n is not finite, else sum(g^2) added in
 * index order, which depends on g alone. Its additions are a chain no thread count can shorten, so one
 * block computes it over the whole tensor while the other threads update chunks (loops the compiler can
 * vectorise, each only recording whether some n is not finite): the check is bit-identical to the
 * TypeScript loop's for every length and every thread count.
 */
#include "update.h"

#include <limits.h>
#include <math.h>
#include <stdatomic.h>

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

/* sum(g^2) in index order: one addition after another, as the TypeScript loop adds. */
static double sum_squares(const float *g, size_t length) {
  double sum = 0;
  for (size_t i = 0; i < length; i++) {
    const double gi = g[i];
    sum += gi * gi;
  }
  return sum;
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
