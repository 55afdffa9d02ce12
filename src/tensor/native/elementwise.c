/*
 * The element-wise kernels around GEMM, on the calling thread. They compute in double and round once to
 * float, exactly like the TypeScript reference (src/tensor/kernels.ts) does on Float32Arrays, so
 * identity/relu/leaky-relu agree bit for bit and sigmoid/tanh agree up to the last bit of the libm in use.
 * Both arms of every select are computed before choosing, so the compiler (with -fno-trapping-math, which
 * changes no value) turns the loops into SIMD.
 */
#include "elementwise.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LEAKY_SLOPE 0.01 /* must equal LEAKY_SLOPE in src/tensor/kernels.ts */

enum activation { ACT_IDENTITY = 0, ACT_RELU = 1, ACT_LEAKY_RELU = 2, ACT_SIGMOID = 3, ACT_TANH = 4 };


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

/*
 * Loops built for AVX-512, AVX2 and the baseline, the loader picking one for the CPU (GNU ifunc, x86-64 Linux
 * only): vector IEEE operations round exactly like scalar ones, and the build forbids contraction.
 */
#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) && (defined(__GNUC__) || defined(__clang__))
#define WIDE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WIDE_CLONES
#endif

#define INF_BITS 0x7f800000u

/*
 * The running absRange (src/tensor/reduce.ts) of a row just written, on its bit patterns: with the sign
 * cleared, the order of the patterns is the order of the magnitudes (NaNs above Infinity), and
 * (m - 1) & 0x7fffffff sends 0 to the largest pattern, so the smallest of it is the smallest nonzero one.
 * Branch-free, so it vectorises; the row is still in L1.
 */
WIDE_CLONES static void range_scan(const float *o, int cols, uint32_t *max, uint32_t *min) {
  uint32_t mx = *max, mn = *min;
  for (int j = 0; j < cols; j++) {
    uint32_t m;
    memcpy(&m, &o[j], sizeof m);
    m &= 0x7fffffffu;
    const uint32_t q = (m - 1) & 0x7fffffffu;
    mx = m > mx ? m : mx;
    mn = q < mn ? q : mn;
  }
  *max = mx, *min = mn;
}

static float from_bits(uint32_t b) {
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

/*
 * One row of biasActivation, the sum in double as the TypeScript kernels compute it (WIDE_CLONES: each
 * element is the same IEEE operations in any build).
 */
WIDE_CLONES static void bias_act_row(const float *zr, const float *bv, float *o, int cols, int act) {
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

/*
 * biasActivation(z, bias, rows, cols, act, out[, range]): out[i, j] = act(z[i, j] + bias[j]); out may alias
 * z. With a Float64Array `range`, also writes absRange(out) into it ([largest |x|, NaN if any is NaN;
 * smallest nonzero |x|, Infinity if none]), scanned row by row as the rows are written.
 */
napi_value np_bias_activation(napi_env env, napi_callback_info info) {
  static const char *fn = "biasActivation";
  size_t argc = 7;
  napi_value argv[7];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 6 && argc != 7) {
    napi_throw_type_error(env, NULL, "biasActivation: expects 6 or 7 arguments (z, bias, rows, cols, act, out[, range])");
    return NULL;
  }
  double *range = NULL;
  if (argc == 7) {
    bool is_ta = false;
    napi_typedarray_type type;
    size_t length = 0;
    void *data = NULL;
    if (napi_is_typedarray(env, argv[6], &is_ta) != napi_ok || !is_ta ||
        napi_get_typedarray_info(env, argv[6], &type, &length, &data, NULL, NULL) != napi_ok ||
        type != napi_float64_array || length < 2) {
      napi_throw_type_error(env, NULL, "biasActivation: range must be a Float64Array of at least 2 values");
      return NULL;
    }
    range = data;
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
  uint32_t max_bits = 0, min_bits = 0x7fffffffu;
  for (size_t i = 0; i < (size_t)rows; i++) {
    float *o = out.data + i * cols;
    bias_act_row(z.data + i * cols, bias.data, o, cols, act);
    if (range != NULL) range_scan(o, cols, &max_bits, &min_bits);
  }
  if (range != NULL) {
    range[0] = max_bits > INF_BITS ? NAN : (double)from_bits(max_bits);
    range[1] = min_bits + 1 >= INF_BITS ? INFINITY : (double)from_bits(min_bits + 1);
  }
  return NULL;
}

/* activationBackward(delta, a, act, out): out = delta * act'(z) through a = act(z); out may alias delta. */
napi_value np_activation_backward(napi_env env, napi_callback_info info) {
  static const char *fn = "activationBackward";
  napi_value argv[4];
  if (!get_exact_args(env, info, 4, argv, "activationBackward: expects 4 arguments (delta, a, act, out)")) return NULL;
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

/* columnSums' loops (out[j] = the double sum of column j, rows in order), compiled as bias_act_row is. */
WIDE_CLONES static void column_sums(const float *x, int rows, int cols, double *acc, float *out) {
  for (int j = 0; j < cols; j++) acc[j] = 0.0;
  for (int i = 0; i < rows; i++) {
    const float *r = x + (size_t)i * (size_t)cols;
    for (int j = 0; j < cols; j++) acc[j] += (double)r[j];
  }
  for (int j = 0; j < cols; j++) out[j] = (float)acc[j];
}

/* One row of scaledGather, compiled as bias_act_row is. */
WIDE_CLONES static void scale_row(const uint8_t *r, float *w, int size) {
  const double scale = 1.0 / 255.0;
  for (int k = 0; k < size; k++) w[k] = (float)((double)r[k] * scale);
}

/*
 * columnSums(x, rows, cols, out): out[j] = sum_i x[i, j], accumulated in double over the rows in order and
 * rounded once: the additions of columnSumsInto (src/tensor/kernels.ts) in its order, so the same bits (the
 * build keeps every addition: no -ffast-math, no reassociation). The bias gradient of a layer.
 */
napi_value np_column_sums(napi_env env, napi_callback_info info) {
  static const char *fn = "columnSums";
  napi_value argv[4];
  if (!get_exact_args(env, info, 4, argv, "columnSums: expects 4 arguments (x, rows, cols, out)")) return NULL;
  f32view x, out;
  int32_t rows, cols;
  if (!get_f32(env, argv[0], fn, "x", &x) || napi_get_value_int32(env, argv[1], &rows) != napi_ok ||
      napi_get_value_int32(env, argv[2], &cols) != napi_ok || !get_f32(env, argv[3], fn, "out", &out))
    return NULL;
  if (rows < 0 || cols < 0 || x.length < (size_t)rows * (size_t)cols || out.length < (size_t)cols) {
    napi_throw_range_error(env, NULL, "columnSums: x needs rows*cols values and out cols values");
    return NULL;
  }
  double stack[1024];
  double *acc = cols <= 1024 ? stack : malloc((size_t)cols * sizeof(double));
  if (acc == NULL) {
    napi_throw_error(env, NULL, "columnSums: out of memory");
    return NULL;
  }
  column_sums(x.data, rows, cols, acc, out.data);
  if (acc != stack) free(acc);
  return NULL;
}

/*
 * scaledGather(src, offsets, size, out): row j of out is src[offsets[j] .. offsets[j] + size) as network
 * inputs, each byte v becoming (float)(v * (1.0 / 255)): what toBatch (src/stages/batch.ts) makes of uint8
 * pixels (an exact float, one rounding multiply), so the same bits.
 */
napi_value np_scaled_gather(napi_env env, napi_callback_info info) {
  static const char *fn = "scaledGather";
  napi_value argv[4];
  if (!get_exact_args(env, info, 4, argv, "scaledGather: expects 4 arguments (src, offsets, size, out)")) return NULL;
  void *src, *offs;
  size_t src_len, n;
  f32view out;
  int32_t size;
  if (!get_typed(env, argv[0], napi_uint8_array, fn, "src", "Uint8Array", &src, &src_len) ||
      !get_typed(env, argv[1], napi_uint32_array, fn, "offsets", "Uint32Array", &offs, &n) ||
      napi_get_value_int32(env, argv[2], &size) != napi_ok || !get_f32(env, argv[3], fn, "out", &out))
    return NULL;
  const uint8_t *s = src;
  const uint32_t *o = offs;
  if (size < 0 || out.length < n * (size_t)size) {
    napi_throw_range_error(env, NULL, "scaledGather: out needs offsets.length * size values");
    return NULL;
  }
  for (size_t j = 0; j < n; j++) {
    if ((size_t)o[j] + (size_t)size > src_len) {
      napi_throw_range_error(env, NULL, "scaledGather: an offset plus size lies past the end of src");
      return NULL;
    }
  }
  /* the rows lie at random places of a large array: each one's lines are asked for a few rows ahead */
  enum { AHEAD = 8 };
  for (size_t j = 0; j < n && j < AHEAD; j++)
    for (int k = 0; k < size; k += 64) __builtin_prefetch(s + o[j] + k);
  for (size_t j = 0; j < n; j++) {
    if (j + AHEAD < n)
      for (int k = 0; k < size; k += 64) __builtin_prefetch(s + o[j + AHEAD] + k);
    scale_row(s + o[j], out.data + j * (size_t)size, size);
  }
  return NULL;
}
