/*
 * The optimisers' fused element-wise updates (src/optim/kernels.ts in C), over chunks of the index range
 * shared out among a pool's threads.
 */
#ifndef GRADPIPE_NATIVE_UPDATE_H
#define GRADPIPE_NATIVE_UPDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "pool.h"

typedef enum { NP_SGD, NP_MOMENTUM, NP_NESTEROV, NP_ADAM } np_rule;

/* One update: inputs w, g (and v for momentum/nesterov, m = v and s for adam), outputs w2 (v2, s2). */
typedef struct {
  np_rule rule;
  size_t length;
  const float *w, *g, *v, *s;
  float *w2, *v2, *s2;
  double clip, decay, lr, mu, b1, b2, c1, c2, eps;
} np_update;

/*
 * Applies the update and returns its check (src/optim/kernels.ts): NaN when a new parameter is not finite,
 * else sumSquares(g). The stored values and the check are those of the TypeScript loops, bit for bit. Tensors
 * longer than `chunk` (rounded up to whole blocks of the check) are updated in chunks of that many elements,
 * shared among the pool's threads.
 */
double np_update_run(np_pool *pool, const np_update *u, size_t chunk);

#endif
