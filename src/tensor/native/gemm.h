/*
 * GEMM over blocks of C: each block is one single-threaded library call (oneDNN's dnnl_sgemm or OpenBLAS's
 * cblas_sgemm, whichever the build linked and the backend chose) on sub-matrix pointers, the blocks are
 * claimed by the threads of a pool, and the blocks depend on the shape alone (see gemm.c for why).
 */
#ifndef GRADPIPE_NATIVE_GEMM_H
#define GRADPIPE_NATIVE_GEMM_H

#include <stdbool.h>

#include "pool.h"

#include <stddef.h>

/* The GEMM libraries an addon can be linked with (build.mjs defines GP_HAVE_ONEDNN / GP_HAVE_OPENBLAS). */
typedef enum { NP_OPENBLAS = 1, NP_ONEDNN = 2 } np_gemm_library;

/* The libraries this build linked, as a mask of np_gemm_library bits. */
int np_gemm_libraries(void);

/* The best linked library: oneDNN when linked, else OpenBLAS. */
np_gemm_library np_gemm_default_library(void);

/* Makes `lib` compute single-threaded on the calling thread's calls (done once per thread and library). */
void np_gemm_single_threaded(np_gemm_library lib);

/* "oneDNN 2.6.3 (OpenMP runtime, ISA avx2)" or "OpenBLAS 0.3.21 ... (core Haswell)", into buf. */
void np_gemm_describe(np_gemm_library lib, char *buf, size_t size);

/*
 * One whole call with the library's own threading at `threads`, then back to one thread on this thread.
 * For benchmarks: its bits depend on the thread count.
 */
void np_gemm_whole(np_gemm_library lib, int threads, bool ta, bool tb, int m, int n, int k, float alpha,
                   const float *a, const float *b, float beta, float *c);

typedef struct {
  double block_flops;       /* a GEMM is cut into blocks of at least this many flops (2 m n k) each */
  int max_blocks;           /* and into at most this many */
  int row_unit;             /* block edges fall on multiples of this many rows of C ... */
  int col_unit;             /* ... or of this many columns */
  double small_block_flops; /* a GEMM of at most max_blocks times this is cut into ceil(2 m n k / this) blocks (0: never) */
  int small_min_k;          /* ... when k is at least this */
  double serial_flops;      /* a GEMM of at most this many flops runs all its blocks on the calling thread */
} np_gemm_tuning;

/* Blocks of rows of C (by_rows) or of columns: block b covers [np_gemm_edge(plan, b), np_gemm_edge(plan, b + 1)). */
typedef struct {
  bool by_rows;
  bool serial; /* every block on the calling thread (the hand-off would cost more than it saves) */
  int blocks;
  int unit;
  int extent; /* m when by_rows, else n */
} np_gemm_plan;

/* The blocks of an m x n x k product; a function of the shape and the tuning only. */
np_gemm_plan np_gemm_plan_for(int m, int n, int k, const np_gemm_tuning *t);

/* First row (or column) of block b; np_gemm_edge(plan, plan.blocks) is the extent. */
int np_gemm_edge(const np_gemm_plan *plan, int b);

/*
 * Row-major C = alpha op(A) op(B) + beta C (dimensions already checked, m n > 0, k > 0, alpha != 0), the
 * blocks of np_gemm_plan_for computed by the threads of `pool`, each one single-threaded call of `lib`
 * (which must be linked).
 */
void np_sgemm(np_pool *pool, const np_gemm_tuning *t, np_gemm_library lib, bool ta, bool tb, int m, int n, int k, float alpha,
              const float *a, const float *b, float beta, float *c);

#endif
