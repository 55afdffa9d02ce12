/* The element-wise kernels' Node-API entry points (see elementwise.c). */
#ifndef GRADPIPE_NATIVE_ELEMENTWISE_H
#define GRADPIPE_NATIVE_ELEMENTWISE_H

#include "napi_args.h"

/*
 * biasActivation(z, bias, rows, cols, act, out[, range]): out[i, j] = act(z[i, j] + bias[j]); out may alias
 * z; with a Float64Array range, absRange(out) too.
 */
napi_value np_bias_activation(napi_env env, napi_callback_info info);

/* activationBackward(delta, a, act, out): out = delta * act'(z) through a = act(z); out may alias delta. */
napi_value np_activation_backward(napi_env env, napi_callback_info info);

/* columnSums(x, rows, cols, out): out[j] = sum_i x[i, j] in double, rows in order (columnSumsInto's bits). */
napi_value np_column_sums(napi_env env, napi_callback_info info);

/* scaledGather(src, offsets, size, out): uint8 rows gathered and scaled by 1/255 (toBatch's bits). */
napi_value np_scaled_gather(napi_env env, napi_callback_info info);

#endif
