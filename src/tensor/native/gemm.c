/*
 * The native GEMM: C cut into blocks of whole rows (when m >= n) or of whole columns, each block one
 * cblas_sgemm call with OpenBLAS single-threaded, the blocks shared out among the pool's threads.
 *
 * Why the bits do not depend on the thread count: the blocks are a function of (m, n, k) and the tuning,
 * never of the threads; a block is always the same call on the same sub-matrix pointers, and a
 * single-threaded OpenBLAS call is deterministic. Which thread runs a block, or how many threads there are,
 * changes nothing. One thread runs the same blocks one after the other.
 *
 * Why not "one part per thread, and one whole call on one thread": that needs OpenBLAS to give an element
 * the same bits whatever sub-matrix it is computed in, and OpenBLAS 0.3.21 does not (measured with
 * test/bench/native-gemm.ts and a C harness, every x86 kernel this CPU runs). Its Haswell/Zen sgemm kernel
 * (AVX2 CPUs, or OPENBLAS_CORETYPE=Haswell) computes the last 8 columns of each of its column panels by
 * other code than the rest: no column split gives the bits of the whole call, and rows only at multiples
 * of 12 (48 for the older kernels). And on every kernel the size of a call picks the code: a small-matrix
 * kernel below m n k = 1e6, a "direct" one for NN with alpha 1 and beta 0 below ~7e6. The SkylakeX,
 * Cooperlake and Sandybridge kernels are split-invariant on the packed path, and there the blocks below
 * also give the bits of one whole call; elsewhere they give their own bits, the same on any thread count.
 *
 * Block edges fall on multiples of row_unit rows or col_unit columns so that every block but the last
 * holds whole register tiles; splitting the larger of m and n duplicates the packing of the smaller
 * operand only (each row block packs all of op(B), each column block all of op(A)).
 *
 * Small products are cut finer, on purpose even on one thread: OpenBLAS (0.3.17 on, SMALL_MATRIX_OPT,
 * which DYNAMIC_ARCH x86 builds have) sends a call with m n k <= 1e6 to kernels that do not pack, and on
 * the skinny products of a training step those beat its packed path by far. Measured on Zen 4 (Cooperlake
 * kernels), one thread: (128x1000)(1000x10) NT 67 -> 30 us cut into 2 blocks, (10x128)(128x1000) TN
 * 56 -> 39, (256x1000)(1000x10) NT 130 -> 66 in 4. Not when k is short: (128x10)(10x1000) NN, bound by
 * writing C, gained alone (46 -> 37 us) but lost inside training steps (61 -> 68). Such a product is
 * over in tens of microseconds, less than a sleeping worker takes to wake, so below serial_flops its
 * blocks all run on the calling thread; the blocks, hence the bits, are the same either way.
 */
#include "gemm.h"

#include <cblas.h>
#include <math.h>
#include <stddef.h>

static int max1(int x) { return x > 1 ? x : 1; }

np_gemm_plan np_gemm_plan_for(int m, int n, int k, const np_gemm_tuning *t) {
  const bool by_rows = m >= n;
  const int extent = by_rows ? m : n;
  const int unit = max1(by_rows ? t->row_unit : t->col_unit);
  const double flops = 2.0 * (double)m * (double)n * (double)k;
  double blocks;
  if (t->small_block_flops > 0 && k >= t->small_min_k && flops <= t->small_block_flops * t->max_blocks)
    blocks = ceil(flops / t->small_block_flops); /* blocks under OpenBLAS's small-matrix bound */
  else
    blocks = t->block_flops > 0 ? flops / t->block_flops : (double)extent;
  if (blocks > t->max_blocks) blocks = t->max_blocks;
  if (blocks > extent / unit) blocks = extent / unit;
  return (np_gemm_plan){.by_rows = by_rows, .serial = flops <= t->serial_flops, .blocks = blocks >= 2 ? (int)blocks : 1,
                        .unit = unit, .extent = extent};
}

/* b / blocks of the way, rounded to the nearest unit: blocks differ by at most one unit (plus the remainder). */
int np_gemm_edge(const np_gemm_plan *plan, int b) {
  if (b >= plan->blocks) return plan->extent;
  const long target = (long)plan->extent * b / plan->blocks;
  return (int)((target + plan->unit / 2) / plan->unit) * plan->unit;
}

typedef struct {
  np_gemm_plan plan;
  bool ta, tb;
  int m, n, k;
  float alpha, beta;
  const float *a, *b;
  float *c;
} gemm_job;

static void gemm_block(void *ctx, int blk) {
  const gemm_job *j = ctx;
  const int lda = max1(j->ta ? j->m : j->k), ldb = max1(j->tb ? j->k : j->n), ldc = max1(j->n);
  const int from = np_gemm_edge(&j->plan, blk), to = np_gemm_edge(&j->plan, blk + 1);
  const float *a = j->a, *b = j->b;
  float *c = j->c;
  int m = j->m, n = j->n;
  if (j->plan.by_rows) { /* rows from..to of op(A) and of C */
    a += j->ta ? (size_t)from : (size_t)from * (size_t)lda;
    c += (size_t)from * (size_t)ldc;
    m = to - from;
  } else { /* columns from..to of op(B) and of C */
    b += j->tb ? (size_t)from * (size_t)ldb : (size_t)from;
    c += (size_t)from;
    n = to - from;
  }
  cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans, m, n, j->k,
              j->alpha, a, lda, b, ldb, j->beta, c, ldc);
}

void np_sgemm(np_pool *pool, const np_gemm_tuning *t, bool ta, bool tb, int m, int n, int k, float alpha,
              const float *a, const float *b, float beta, float *c) {
  gemm_job job = {.plan = np_gemm_plan_for(m, n, k, t), .ta = ta, .tb = tb, .m = m, .n = n, .k = k,
                  .alpha = alpha, .beta = beta, .a = a, .b = b, .c = c};
  if (job.plan.serial)
    for (int b = 0; b < job.plan.blocks; b++) gemm_block(&job, b);
  else
    np_pool_run(pool, gemm_block, &job, job.plan.blocks);
}
