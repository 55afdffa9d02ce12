/*
 * The native GEMM: C cut into blocks of whole rows (when m >= n) or of whole columns, each block one
 * single-threaded call of the library (oneDNN's dnnl_sgemm, or OpenBLAS's cblas_sgemm where oneDNN is
 * absent or not chosen), the blocks shared out among the pool's threads.
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
 *
 * oneDNN (dnnl_sgemm, preferred when the build found it): a single-threaded call is deterministic too, and
 * gives the same bits whether M or N of a product is cut into blocks, so the same blocks serve (whether the
 * bits of the blocks equal those of one whole call does not matter: the blocks are what every thread count
 * computes). Debian's libdnnl runs on OpenMP: a call computes on omp_get_max_threads() threads of the
 * calling thread, and that count is per thread, so every thread that calls it (the pool's and Node's) first
 * sets its own count to 1, and no OpenMP team is ever started.
 *
 * oneDNN's calls run with the asynchronous signals blocked on the calling thread. Debian's oneDNN 2.6.3 JIT
 * sgemm does not survive a signal handled on its thread during a call: the handler's frame corrupts what the
 * kernel keeps on its stack, and the call returns wrong values or writes outside C (glibc then aborts with
 * "corrupted size vs. prev_size"; seen under the CLI's SIGINT/SIGTERM handling, in 7 of 105 runs of
 * test/cli/signals.test.ts). Measured in C (a thread sending SIGUSR1 to one calling dnnl_sgemm in a loop):
 * (16x1000)(1000x10) NT, (128x1000)(1000x10) NT, (10x128)(128x1000) TN and (1000x128)(128x784) TN corrupt
 * within 800 calls; with the signals blocked around each call, none in 4,500. The pool's workers block every
 * signal from their start (pool.c); the calling thread (Node's main thread) blocks them here, a pair of
 * system calls per GEMM, and a signal that comes meanwhile is handled by another thread or when the call
 * returns. OpenBLAS's kernels are not JIT code and are called as before.
 */
#include "gemm.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#ifdef GP_HAVE_OPENBLAS
#include <cblas.h>
/* Declared here too because a generic cblas.h (netlib's) lacks OpenBLAS's extensions; we link -lopenblas. */
void openblas_set_num_threads(int num_threads);
char *openblas_get_config(void);
char *openblas_get_corename(void);
#endif
#ifdef GP_HAVE_ONEDNN
#include <dnnl.h>
#if DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP
/* OpenMP's, declared rather than included: the addon is not compiled with -fopenmp, only linked to libgomp. */
void omp_set_num_threads(int n);
#define SET_ONEDNN_THREADS(n) omp_set_num_threads(n)
#elif DNNL_CPU_RUNTIME == DNNL_RUNTIME_SEQ
#define SET_ONEDNN_THREADS(n) ((void)(n))
#else
#error "gradpipe's native backend needs oneDNN built with the OpenMP or the sequential CPU runtime"
#endif
#endif

static int max1(int x) { return x > 1 ? x : 1; }

int np_gemm_libraries(void) {
  int mask = 0;
#ifdef GP_HAVE_OPENBLAS
  mask |= NP_OPENBLAS;
#endif
#ifdef GP_HAVE_ONEDNN
  mask |= NP_ONEDNN;
#endif
  return mask;
}

np_gemm_library np_gemm_default_library(void) { return (np_gemm_libraries() & NP_ONEDNN) ? NP_ONEDNN : NP_OPENBLAS; }

#ifdef GP_HAVE_ONEDNN
/* This thread's OpenMP thread count is 1 (the count is per thread: a new pool thread starts at the default). */
static __thread bool onednn_single;
#endif

void np_gemm_single_threaded(np_gemm_library lib) {
#ifdef GP_HAVE_ONEDNN
  if (lib == NP_ONEDNN && !onednn_single) {
    SET_ONEDNN_THREADS(1);
    onednn_single = true;
  }
#endif
#ifdef GP_HAVE_OPENBLAS
  if (lib == NP_OPENBLAS) openblas_set_num_threads(1); /* process-wide in OpenBLAS */
#endif
  (void)lib;
}

#ifdef GP_HAVE_ONEDNN
static const char *isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    default: return "other";
  }
}
#endif

void np_gemm_describe(np_gemm_library lib, char *buf, size_t size) {
  snprintf(buf, size, "not linked");
#ifdef GP_HAVE_ONEDNN
  if (lib == NP_ONEDNN) {
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, size, "oneDNN %d.%d.%d dnnl_sgemm (%s runtime, ISA %s)", v->major, v->minor, v->patch,
             v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "sequential", isa_name(dnnl_get_effective_cpu_isa()));
  }
#endif
#ifdef GP_HAVE_OPENBLAS
  if (lib == NP_OPENBLAS) {
    const char *cfg = openblas_get_config(), *core = openblas_get_corename();
    char name[32] = "OpenBLAS", version[32] = ""; /* the config string starts "OpenBLAS 0.3.21 ..." */
    if (cfg != NULL) sscanf(cfg, "%31s %31s", name, version);
    snprintf(buf, size, "%s %s cblas_sgemm (%score %s)", name, version,
             cfg != NULL && strstr(cfg, "DYNAMIC_ARCH") ? "DYNAMIC_ARCH, " : "", core != NULL ? core : "unknown");
  }
#endif
  (void)lib;
}

/* One single-threaded call of `lib` on row-major operands with the given leading dimensions. */
static void call(np_gemm_library lib, bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc) {
#ifdef GP_HAVE_ONEDNN
  if (lib == NP_ONEDNN) {
    np_gemm_single_threaded(NP_ONEDNN);
    dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
#endif
#ifdef GP_HAVE_OPENBLAS
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
              ldb, beta, c, ldc);
#endif
  (void)lib, (void)ta, (void)tb, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b, (void)ldb,
      (void)beta, (void)c, (void)ldc;
}

#ifdef GP_HAVE_ONEDNN
/* Blocks every signal that can be blocked and is not raised by the thread's own faults; *old gets the mask. */
static void block_async_signals(sigset_t *old) {
  sigset_t all;
  sigfillset(&all);
  static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};
  for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) sigdelset(&all, faults[i]);
  pthread_sigmask(SIG_BLOCK, &all, old);
}
#endif

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
  np_gemm_library lib;
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
  call(j->lib, j->ta, j->tb, m, n, j->k, j->alpha, a, lda, b, ldb, j->beta, c, ldc);
}

void np_sgemm(np_pool *pool, const np_gemm_tuning *t, np_gemm_library lib, bool ta, bool tb, int m, int n, int k,
              float alpha, const float *a, const float *b, float beta, float *c) {
  gemm_job job = {.plan = np_gemm_plan_for(m, n, k, t), .lib = lib, .ta = ta, .tb = tb, .m = m, .n = n, .k = k,
                  .alpha = alpha, .beta = beta, .a = a, .b = b, .c = c};
#ifdef GP_HAVE_ONEDNN
  sigset_t old;
  if (lib == NP_ONEDNN) block_async_signals(&old);
#endif
  if (job.plan.serial)
    for (int b = 0; b < job.plan.blocks; b++) gemm_block(&job, b);
  else
    np_pool_run(pool, gemm_block, &job, job.plan.blocks);
#ifdef GP_HAVE_ONEDNN
  if (lib == NP_ONEDNN) pthread_sigmask(SIG_SETMASK, &old, NULL);
#endif
}

void np_gemm_whole(np_gemm_library lib, int threads, bool ta, bool tb, int m, int n, int k, float alpha,
                   const float *a, const float *b, float beta, float *c) {
  const int lda = max1(ta ? m : k), ldb = max1(tb ? k : n), ldc = max1(n);
#ifdef GP_HAVE_ONEDNN
  if (lib == NP_ONEDNN) {
    /* OpenMP's team threads start with the mask of the thread that first needs them: this one, blocked */
    sigset_t old;
    block_async_signals(&old);
    SET_ONEDNN_THREADS(threads);
    dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    SET_ONEDNN_THREADS(1);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    onednn_single = true;
    return;
  }
#endif
#ifdef GP_HAVE_OPENBLAS
  openblas_set_num_threads(threads);
  call(NP_OPENBLAS, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  openblas_set_num_threads(1);
#endif
  (void)lib, (void)threads, (void)lda, (void)ldb, (void)ldc;
}
