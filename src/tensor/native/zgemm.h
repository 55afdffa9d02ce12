/*
 * A GEMM that skips the steps where an operand is zero (zgemm.c): for products whose smaller operand is
 * mostly zeros (a batch of MNIST pixels is about 80% zeros), in place of the library's call.
 */
#ifndef GRADPIPE_NATIVE_ZGEMM_H
#define GRADPIPE_NATIVE_ZGEMM_H

#include <stdbool.h>
#include <stddef.h>

#include "pool.h"

/* Packed panels and lists, kept by a backend between calls (grown as needed, freed by np_zgemm_free). */
typedef struct {
  float *packed;
  size_t packed_floats;
  int *lists;
  size_t list_ints;
} np_zgemm_scratch;

/*
 * Row-major C = alpha op(A) op(B) + beta C (m n k > 0, alpha != 0), when the smaller operand's panels hold a
 * nonzero value in at most `density` of their steps, in 48 steps or more a panel on average (density 1:
 * always), and the CPU has AVX2 and FMA: returns true once C is
 * computed. Otherwise returns false and touches nothing. Every element of C is one chain of fused
 * multiply-adds over the steps kept, in order, then alpha and beta as separate roundings: the bits depend
 * on the operands alone, never on the threads, nor on `lanes`: 8 asks for AVX2 tiles, anything else for
 * AVX-512 ones where the CPU has them. false also when scratch memory cannot be had.
 */
bool np_zgemm(np_pool *pool, np_zgemm_scratch *scratch, double density, int lanes, bool ta, bool tb, int m, int n,
              int k, float alpha, const float *a, const float *b, float beta, float *c);

void np_zgemm_free(np_zgemm_scratch *scratch);

#endif
