/*
 * Reading Node-API arguments. Wrong arguments are programmer errors (the TypeScript side checks shapes
 * first): each reader throws a TypeError or RangeError naming the function and the argument, and returns
 * false so the caller returns at once.
 */
#ifndef GRADPIPE_NATIVE_NAPI_ARGS_H
#define GRADPIPE_NATIVE_NAPI_ARGS_H

#define NAPI_VERSION 8
#include <node_api.h>

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CHECK(env, call)                                                                                         \
  do {                                                                                                           \
    if ((call) != napi_ok) {                                                                                     \
      napi_throw_error((env), NULL, "gradpipe_native: Node-API call failed: " #call);                          \
      return NULL;                                                                                               \
    }                                                                                                            \
  } while (0)

typedef struct {
  float *data;
  size_t length;
} f32view;

static inline bool throw_range(napi_env env, const char *fn, const char *what) {
  char msg[200];
  snprintf(msg, sizeof msg, "%s: %s", fn, what);
  napi_throw_range_error(env, NULL, msg);
  return false;
}

/* Reads exactly `n` arguments into argv; otherwise throws a TypeError with `usage` ("fn: expects ..."). */
static inline bool get_exact_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *usage) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "gradpipe_native: Node-API call failed: napi_get_cb_info");
    return false;
  }
  if (argc != n) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return true;
}

/*
 * Reads a typed array of type `want` (its data pointer already includes the view's byte offset); otherwise
 * throws a TypeError saying `what` must be a `type_name`.
 */
static inline bool get_typed(napi_env env, napi_value v, napi_typedarray_type want, const char *fn, const char *what, const char *type_name,
                             void **data, size_t *length) {
  bool is_ta = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is_ta) == napi_ok && is_ta &&
      napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) == napi_ok && type == want)
    return true;
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s must be a %s", fn, what, type_name);
  napi_throw_type_error(env, NULL, msg);
  return false;
}

/* Reads a Float32Array. */
static inline bool get_f32(napi_env env, napi_value v, const char *fn, const char *what, f32view *out) {
  void *data;
  if (!get_typed(env, v, napi_float32_array, fn, what, "Float32Array", &data, &out->length)) return false;
  out->data = (float *)data;
  return true;
}

/* Reads an integer in [lo, hi]. */
static inline bool get_int(napi_env env, napi_value v, const char *fn, const char *what, double lo, double hi, int *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= lo && d <= hi) || d != floor(d)) {
    char msg[200];
    snprintf(msg, sizeof msg, "%s: %s must be an integer from %.0f to %.0f", fn, what, lo, hi);
    napi_throw_range_error(env, NULL, msg);
    return false;
  }
  *out = (int)d;
  return true;
}

/* Reads a non-negative integer below 2^31 (BLAS dimensions are C ints). */
static inline bool get_dim(napi_env env, napi_value v, const char *fn, const char *what, int *out) {
  return get_int(env, v, fn, what, 0, INT_MAX, out);
}

static inline bool get_num(napi_env env, napi_value v, const char *fn, const char *what, double *out) {
  if (napi_get_value_double(env, v, out) == napi_ok) return true;
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s must be a number", fn, what);
  napi_throw_type_error(env, NULL, msg);
  return false;
}

static inline bool get_bool(napi_env env, napi_value v, const char *fn, const char *what, bool *out) {
  if (napi_get_value_bool(env, v, out) == napi_ok) return true;
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s must be a boolean", fn, what);
  napi_throw_type_error(env, NULL, msg);
  return false;
}

/* Reads exactly `count` arguments into argv. */
static inline bool get_args(napi_env env, napi_callback_info info, size_t count, napi_value *argv, const char *usage) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != count) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return true;
}

static inline bool overlaps(const float *p, size_t np, const float *q, size_t nq) {
  return np > 0 && nq > 0 && p < q + nq && q < p + np;
}

#endif
