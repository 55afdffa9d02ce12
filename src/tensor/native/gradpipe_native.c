/*
 * gradpipe's native backend: a Node-API addon over the system's OpenBLAS.
 *
 * Every function works in place on the Float32Arrays it is given (zero copy: the typed arrays' own data
 * pointers go to BLAS). Argument errors are programmer errors and throw TypeError/RangeError; the TypeScript
 * side validates shapes before calling.
 *
 * The element-wise kernels compute in double and round once to float, exactly like the TypeScript reference
 * (src/tensor/kernels.ts) does on Float32Arrays, so identity/relu/leaky-relu agree bit for bit and
 * sigmoid/tanh agree up to the last bit of the libm in use. Both arms of every select are computed before
 * choosing, so the compiler (with -fno-trapping-math, which changes no value) turns the loops into SIMD.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Declared here too because a generic cblas.h (netlib's) lacks OpenBLAS's extensions; we link -lopenblas. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);

#define LEAKY_SLOPE 0.01 /* must equal LEAKY_SLOPE in src/tensor/kernels.ts */

enum activation { ACT_IDENTITY = 0, ACT_RELU = 1, ACT_LEAKY_RELU = 2, ACT_SIGMOID = 3, ACT_TANH = 4 };

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

/* Reads argv[i] as a Float32Array; throws a TypeError naming `what` otherwise. */
static bool get_f32(napi_env env, napi_value v, const char *fn, const char *what, f32view *out) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) goto bad;
  napi_typedarray_type type;
  size_t length;
  void *data;
  /* `data` is already adjusted by the view's byte offset. */
  if (napi_get_typedarray_info(env, v, &type, &length, &data, NULL, NULL) != napi_ok) goto bad;
  if (type != napi_float32_array) goto bad;
  out->data = (float *)data;
  out->length = length;
  return true;
bad:;
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s must be a Float32Array", fn, what);
  napi_throw_type_error(env, NULL, msg);
  return false;
}

/* Reads a non-negative integer below INT_MAX (BLAS dimensions are C ints). */
static bool get_dim(napi_env env, napi_value v, const char *fn, const char *what, int *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > INT_MAX || d != floor(d)) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s: %s must be a non-negative integer below 2^31", fn, what);
    napi_throw_range_error(env, NULL, msg);
    return false;
  }
  *out = (int)d;
  return true;
}

static bool get_num(napi_env env, napi_value v, const char *fn, const char *what, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s: %s must be a number", fn, what);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  return true;
}

static bool get_bool(napi_env env, napi_value v, const char *fn, const char *what, bool *out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s: %s must be a boolean", fn, what);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  return true;
}

static bool overlaps(const float *p, size_t np, const float *q, size_t nq) {
  return np > 0 && nq > 0 && p < q + nq && q < p + np;
}

static int max1(int x) { return x > 1 ? x : 1; }

/* sgemm(transA, transB, m, n, k, alpha, a, b, beta, c): row-major C = alpha op(A) op(B) + beta C. */
static napi_value sgemm(napi_env env, napi_callback_info info) {
  static const char *fn = "sgemm";
  size_t argc = 10;
  napi_value argv[10];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 10) {
    napi_throw_type_error(env, NULL, "sgemm: expects 10 arguments (transA, transB, m, n, k, alpha, a, b, beta, c)");
    return NULL;
  }
  bool ta, tb;
  int m, n, k;
  double alpha, beta;
  f32view a, b, c;
  if (!get_bool(env, argv[0], fn, "transA", &ta) || !get_bool(env, argv[1], fn, "transB", &tb) ||
      !get_dim(env, argv[2], fn, "m", &m) || !get_dim(env, argv[3], fn, "n", &n) ||
      !get_dim(env, argv[4], fn, "k", &k) || !get_num(env, argv[5], fn, "alpha", &alpha) ||
      !get_f32(env, argv[6], fn, "a", &a) || !get_f32(env, argv[7], fn, "b", &b) ||
      !get_num(env, argv[8], fn, "beta", &beta) || !get_f32(env, argv[9], fn, "c", &c))
    return NULL;
  const size_t mk = (size_t)m * (size_t)k, kn = (size_t)k * (size_t)n, mn = (size_t)m * (size_t)n;
  if (a.length < mk || b.length < kn || c.length < mn) {
    char msg[200];
    snprintf(msg, sizeof msg, "sgemm: buffers too small for m=%d n=%d k=%d (a=%zu b=%zu c=%zu)", m, n, k, a.length,
             b.length, c.length);
    napi_throw_range_error(env, NULL, msg);
    return NULL;
  }
  if (overlaps(c.data, mn, a.data, mk) || overlaps(c.data, mn, b.data, kn)) {
    napi_throw_range_error(env, NULL, "sgemm: c must not share memory with a or b");
    return NULL;
  }
  if (mn == 0) return NULL;
  if (k == 0 || alpha == 0) {
    /* BLAS rejects lda = 0 and some builds skip the beta pass on k = 0; do the beta pass ourselves. */
    if (beta == 0) memset(c.data, 0, mn * sizeof(float));
    else if (beta != 1) for (size_t i = 0; i < mn; i++) c.data[i] = (float)(beta * c.data[i]);
    return NULL;
  }
  const int lda = max1(ta ? m : k), ldb = max1(tb ? k : n), ldc = max1(n);
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, (float)alpha,
              a.data, lda, b.data, ldb, (float)beta, c.data, ldc);
  return NULL;
}

static bool get_act(napi_env env, napi_value v, const char *fn, int *out) {
  int32_t code;
  if (napi_get_value_int32(env, v, &code) != napi_ok || code < ACT_IDENTITY || code > ACT_TANH) {
    char msg[120];
    snprintf(msg, sizeof msg, "%s: act must be an activation code 0..4", fn);
    napi_throw_range_error(env, NULL, msg);
    return false;
  }
  *out = code;
  return true;
}

static inline double sigmoid(double z) {
  if (z >= 0) return 1 / (1 + exp(-z));
  const double e = exp(z);
  return e / (1 + e);
}

/* biasActivation(z, bias, rows, cols, act, out): out[i, j] = act(z[i, j] + bias[j]); out may alias z. */
static napi_value bias_activation(napi_env env, napi_callback_info info) {
  static const char *fn = "biasActivation";
  size_t argc = 6;
  napi_value argv[6];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 6) {
    napi_throw_type_error(env, NULL, "biasActivation: expects 6 arguments (z, bias, rows, cols, act, out)");
    return NULL;
  }
  f32view z, bias, out;
  int rows, cols, act;
  if (!get_f32(env, argv[0], fn, "z", &z) || !get_f32(env, argv[1], fn, "bias", &bias) ||
      !get_dim(env, argv[2], fn, "rows", &rows) || !get_dim(env, argv[3], fn, "cols", &cols) ||
      !get_act(env, argv[4], fn, &act) || !get_f32(env, argv[5], fn, "out", &out))
    return NULL;
  const size_t len = (size_t)rows * (size_t)cols;
  if (z.length < len || out.length < len || bias.length < (size_t)cols) {
    napi_throw_range_error(env, NULL, "biasActivation: z and out need rows*cols values and bias cols values");
    return NULL;
  }
  for (size_t i = 0; i < (size_t)rows; i++) {
    const float *zr = z.data + i * cols;
    float *o = out.data + i * cols;
    const float *bv = bias.data;
    switch (act) {
      case ACT_IDENTITY:
        for (int j = 0; j < cols; j++) o[j] = (float)((double)zr[j] + (double)bv[j]);
        break;
      case ACT_RELU:
        for (int j = 0; j < cols; j++) {
          const double v = (double)zr[j] + (double)bv[j];
          o[j] = (float)(v > 0 ? v : 0);
        }
        break;
      case ACT_LEAKY_RELU:
        for (int j = 0; j < cols; j++) {
          const double v = (double)zr[j] + (double)bv[j];
          const float leak = (float)(LEAKY_SLOPE * v);
          o[j] = v > 0 ? (float)v : leak;
        }
        break;
      case ACT_SIGMOID:
        for (int j = 0; j < cols; j++) o[j] = (float)sigmoid((double)zr[j] + (double)bv[j]);
        break;
      case ACT_TANH:
        for (int j = 0; j < cols; j++) o[j] = (float)tanh((double)zr[j] + (double)bv[j]);
        break;
    }
  }
  return NULL;
}

/* activationBackward(delta, a, act, out): out = delta * act'(z) through a = act(z); out may alias delta. */
static napi_value activation_backward(napi_env env, napi_callback_info info) {
  static const char *fn = "activationBackward";
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 4) {
    napi_throw_type_error(env, NULL, "activationBackward: expects 4 arguments (delta, a, act, out)");
    return NULL;
  }
  f32view delta, a, out;
  int act;
  if (!get_f32(env, argv[0], fn, "delta", &delta) || !get_f32(env, argv[1], fn, "a", &a) ||
      !get_act(env, argv[2], fn, &act) || !get_f32(env, argv[3], fn, "out", &out))
    return NULL;
  const size_t n = delta.length;
  if (a.length < n || out.length < n) {
    napi_throw_range_error(env, NULL, "activationBackward: a and out need as many values as delta");
    return NULL;
  }
  const float *d = delta.data, *y = a.data;
  float *o = out.data;
  switch (act) {
    case ACT_IDENTITY:
      if (o != d) memmove(o, d, n * sizeof(float));
      break;
    case ACT_RELU:
      for (size_t i = 0; i < n; i++) {
        const float dv = d[i];
        o[i] = y[i] > 0 ? dv : 0.0f;
      }
      break;
    case ACT_LEAKY_RELU:
      for (size_t i = 0; i < n; i++) {
        const float dv = d[i], leak = (float)(LEAKY_SLOPE * (double)dv);
        o[i] = y[i] > 0 ? dv : leak;
      }
      break;
    case ACT_SIGMOID:
      for (size_t i = 0; i < n; i++) {
        const double s = y[i];
        o[i] = (float)((double)d[i] * s * (1 - s));
      }
      break;
    case ACT_TANH:
      for (size_t i = 0; i < n; i++) {
        const double t = y[i];
        o[i] = (float)((double)d[i] * (1 - t * t));
      }
      break;
  }
  return NULL;
}

/* setThreads(n): OpenBLAS's thread count for the whole process; returns the count now in effect. */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t t;
  if (argc != 1 || napi_get_value_int32(env, argv[0], &t) != napi_ok || t < 1) {
    napi_throw_range_error(env, NULL, "setThreads: expects one integer >= 1");
    return NULL;
  }
  openblas_set_num_threads(t);
  napi_value r;
  CHECK(env, napi_create_int32(env, openblas_get_num_threads(), &r));
  return r;
}

static napi_value get_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  CHECK(env, napi_create_int32(env, openblas_get_num_threads(), &r));
  return r;
}

/* blasInfo(): { config, corename } from OpenBLAS, for descriptions and `gradpipe info`. */
static napi_value blas_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r, config, core;
  const char *cfg = openblas_get_config();
  const char *cn = openblas_get_corename();
  CHECK(env, napi_create_object(env, &r));
  CHECK(env, napi_create_string_utf8(env, cfg ? cfg : "", NAPI_AUTO_LENGTH, &config));
  CHECK(env, napi_create_string_utf8(env, cn ? cn : "", NAPI_AUTO_LENGTH, &core));
  CHECK(env, napi_set_named_property(env, r, "config", config));
  CHECK(env, napi_set_named_property(env, r, "corename", core));
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"sgemm", NULL, sgemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"biasActivation", NULL, bias_activation, NULL, NULL, NULL, napi_enumerable, NULL},
      {"activationBackward", NULL, activation_backward, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getThreads", NULL, get_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"blasInfo", NULL, blas_info, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(gradpipe_native, init)
