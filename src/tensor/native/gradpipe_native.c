/*
 * gradpipe's native backend: a Node-API addon over the system's oneDNN or OpenBLAS (gemm.c).
 *
 * Every function works in place on the Float32Arrays it is given (zero copy: the typed arrays' own data
 * pointers go to BLAS and to the loops). Argument errors are programmer errors and throw TypeError or
 * RangeError.
 *
 * The GEMM library runs single-threaded (OpenBLAS set once when the addon loads, oneDNN's OpenMP per calling
 * thread, gemm.c): its own threading splits the reduction, so its bits depend on the thread count. A backend
 * handle (createBackend) names the library it calls; it owns a pool of threads that share
 * out blocks of C (gemm.c) and chunks of the optimiser updates (update.c), both cut by the shape alone.
 * The pool is stopped by dispose(), when the handle is collected, or when Node tears the environment down;
 * a process that does none of these still exits (pool.c).
 */
#include "elementwise.h"
#include "gemm.h"
#include "napi_args.h"
#include "pool.h"
#include "zgemm.h"
#include "update.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 256

typedef struct {
  np_pool *pool;
  np_gemm_tuning gemm;
  np_gemm_library library;
  size_t update_chunk;
  double zero_skip_density; /* zgemm.h: the share of steps kept below which zeros are skipped (0: never) */
  int zero_skip_lanes;      /* zgemm.h: 8 for AVX2 tiles, 0 or 16 for AVX-512 ones where the CPU has them */
  np_zgemm_scratch zscratch;
  bool disposed;
  bool hooked; /* the environment cleanup hook is registered */
} native_backend;

/* Marks handles made by createBackend, so another external passed by mistake is refused. */
static const napi_type_tag BACKEND_TAG = {0x6772616470697065ULL, 0x6e61746976650002ULL};

static void single_threaded_blas(void) {
  if (np_gemm_libraries() & NP_OPENBLAS) np_gemm_single_threaded(NP_OPENBLAS);
}
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void backend_cleanup(void *arg) {
  native_backend *nb = arg;
  nb->hooked = false;
  nb->disposed = true;
  np_pool_stop(nb->pool);
}

static void backend_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  native_backend *nb = data;
  if (nb->hooked) napi_remove_env_cleanup_hook(env, backend_cleanup, nb);
  np_pool_free(nb->pool);
  np_zgemm_free(&nb->zscratch);
  free(nb);
}

/* Reads a handle made by createBackend, disposed or not. */
static bool get_handle(napi_env env, napi_value v, const char *fn, native_backend **out) {
  napi_valuetype type;
  bool tagged = false;
  void *data = NULL;
  if (napi_typeof(env, v, &type) == napi_ok && type == napi_external &&
      napi_check_object_type_tag(env, v, &BACKEND_TAG, &tagged) == napi_ok && tagged &&
      napi_get_value_external(env, v, &data) == napi_ok) {
    *out = data;
    return true;
  }
  char msg[160];
  snprintf(msg, sizeof msg, "%s: the first argument must be a handle made by createBackend", fn);
  napi_throw_type_error(env, NULL, msg);
  return false;
}

/* Reads a handle that has not been disposed. */
static bool get_backend(napi_env env, napi_value v, const char *fn, native_backend **out) {
  if (!get_handle(env, v, fn, out)) return false;
  if (!(*out)->disposed) return true;
  napi_throw_error(env, NULL, "native backend: used after dispose()");
  return false;
}

static bool get_tuning_field(napi_env env, napi_value obj, const char *name, double lo, double hi, double *out) {
  napi_value v;
  if (napi_get_named_property(env, obj, name, &v) == napi_ok && napi_get_value_double(env, v, out) == napi_ok &&
      *out >= lo && *out <= hi)
    return true;
  char msg[160];
  snprintf(msg, sizeof msg, "createBackend: tuning.%s must be a number from %g to %g", name, lo, hi);
  napi_throw_range_error(env, NULL, msg);
  return false;
}

/* The names gemmLibraries() and createBackend use. */
static const char *library_name(np_gemm_library lib) { return lib == NP_ONEDNN ? "onednn" : "openblas"; }

/* Reads a library name that this build linked. */
static bool get_library(napi_env env, napi_value v, const char *fn, np_gemm_library *out) {
  char name[16] = "";
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, name, sizeof name, &len) == napi_ok)
    for (int lib = NP_OPENBLAS; lib <= NP_ONEDNN; lib <<= 1)
      if ((np_gemm_libraries() & lib) && strcmp(name, library_name(lib)) == 0) {
        *out = lib;
        return true;
      }
  char msg[200];
  snprintf(msg, sizeof msg, "%s: library must be one of the linked GEMM libraries (see gemmLibraries())", fn);
  napi_throw_type_error(env, NULL, msg);
  return false;
}

/*
 * createBackend(threads, tuning, library): a handle owning a pool of `threads` threads (the caller
 * included) computing GEMMs with `library` ("onednn" or "openblas", one that gemmLibraries() lists);
 * tuning = { gemmBlockFlops, maxBlocks, rowUnit, colUnit, smallBlockFlops, smallMinK, serialFlops,
 * updateChunk, spinMicroseconds, zeroSkipDensity, zeroSkipLanes }.
 */
static napi_value create_backend(napi_env env, napi_callback_info info) {
  static const char *fn = "createBackend";
  napi_value argv[3];
  int threads;
  np_gemm_library library;
  double block_flops, max_blocks, row_unit, col_unit, small_block_flops, small_min_k, serial_flops, chunk,
      spin_us, zero_skip, lanes;
  if (!get_args(env, info, 3, argv, "createBackend: expects 3 arguments (threads, tuning, library)") ||
      !get_int(env, argv[0], fn, "threads", 1, MAX_THREADS, &threads) ||
      !get_tuning_field(env, argv[1], "gemmBlockFlops", 0, 1e18, &block_flops) ||
      !get_tuning_field(env, argv[1], "maxBlocks", 1, 4096, &max_blocks) ||
      !get_tuning_field(env, argv[1], "rowUnit", 1, 4096, &row_unit) ||
      !get_tuning_field(env, argv[1], "colUnit", 1, 4096, &col_unit) ||
      !get_tuning_field(env, argv[1], "smallBlockFlops", 0, 1e18, &small_block_flops) ||
      !get_tuning_field(env, argv[1], "smallMinK", 0, 1e9, &small_min_k) ||
      !get_tuning_field(env, argv[1], "serialFlops", 0, 1e18, &serial_flops) ||
      !get_tuning_field(env, argv[1], "updateChunk", 1, 1e15, &chunk) ||
      !get_tuning_field(env, argv[1], "spinMicroseconds", 0, 1e6, &spin_us) ||
      !get_tuning_field(env, argv[1], "zeroSkipDensity", 0, 1, &zero_skip) ||
      !get_tuning_field(env, argv[1], "zeroSkipLanes", 0, 16, &lanes) ||
      !get_library(env, argv[2], fn, &library))
    return NULL;
  pthread_once(&blas_once, single_threaded_blas);
  native_backend *nb = calloc(1, sizeof *nb);
  if (nb == NULL || (nb->pool = np_pool_create(threads, (long)(spin_us * 1000))) == NULL) {
    free(nb);
    napi_throw_error(env, NULL, "createBackend: could not start the worker threads");
    return NULL;
  }
  nb->gemm = (np_gemm_tuning){.block_flops = block_flops, .max_blocks = (int)max_blocks, .row_unit = (int)row_unit,
                              .col_unit = (int)col_unit, .small_block_flops = small_block_flops,
                              .small_min_k = (int)small_min_k, .serial_flops = serial_flops};
  nb->library = library;
  nb->update_chunk = (size_t)chunk;
  nb->zero_skip_density = zero_skip;
  nb->zero_skip_lanes = (int)lanes;
  napi_value handle;
  if (napi_create_external(env, nb, backend_finalize, NULL, &handle) != napi_ok) {
    np_pool_free(nb->pool);
    free(nb);
    napi_throw_error(env, NULL, "createBackend: could not create the handle");
    return NULL;
  }
  CHECK(env, napi_type_tag_object(env, handle, &BACKEND_TAG));
  nb->hooked = napi_add_env_cleanup_hook(env, backend_cleanup, nb) == napi_ok;
  return handle;
}

/* dispose(handle): stops and joins the pool's threads; the handle must not be used again. Idempotent. */
static napi_value dispose(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  native_backend *nb;
  if (!get_args(env, info, 1, argv, "dispose: expects 1 argument (handle)") || !get_handle(env, argv[0], "dispose", &nb))
    return NULL;
  np_pool_stop(nb->pool);
  nb->disposed = true;
  return NULL;
}

typedef struct {
  bool ta, tb;
  int m, n, k;
  double alpha, beta;
  f32view a, b, c;
} gemm_args;

/* Reads (transA, transB, m, n, k, alpha, a, b, beta, c) from argv and checks the buffers. */
static bool get_gemm_args(napi_env env, napi_value *argv, const char *fn, gemm_args *g) {
  if (!get_bool(env, argv[0], fn, "transA", &g->ta) || !get_bool(env, argv[1], fn, "transB", &g->tb) ||
      !get_dim(env, argv[2], fn, "m", &g->m) || !get_dim(env, argv[3], fn, "n", &g->n) ||
      !get_dim(env, argv[4], fn, "k", &g->k) || !get_num(env, argv[5], fn, "alpha", &g->alpha) ||
      !get_f32(env, argv[6], fn, "a", &g->a) || !get_f32(env, argv[7], fn, "b", &g->b) ||
      !get_num(env, argv[8], fn, "beta", &g->beta) || !get_f32(env, argv[9], fn, "c", &g->c))
    return false;
  const size_t mk = (size_t)g->m * (size_t)g->k, kn = (size_t)g->k * (size_t)g->n, mn = (size_t)g->m * (size_t)g->n;
  if (g->a.length < mk || g->b.length < kn || g->c.length < mn) {
    char msg[200];
    snprintf(msg, sizeof msg, "%s: buffers too small for m=%d n=%d k=%d (a=%zu b=%zu c=%zu)", fn, g->m, g->n, g->k,
             g->a.length, g->b.length, g->c.length);
    napi_throw_range_error(env, NULL, msg);
    return false;
  }
  if (overlaps(g->c.data, mn, g->a.data, mk) || overlaps(g->c.data, mn, g->b.data, kn))
    return throw_range(env, fn, "c must not share memory with a or b");
  return true;
}

/*
 * The cases BLAS does not take: nothing to compute, or only C's beta pass (BLAS rejects lda = 0 and some
 * builds skip the beta pass when k = 0). True when it handled the call.
 */
static bool gemm_degenerate(const gemm_args *g) {
  const size_t mn = (size_t)g->m * (size_t)g->n;
  if (mn == 0) return true;
  if (g->k != 0 && g->alpha != 0) return false;
  if (g->beta == 0) memset(g->c.data, 0, mn * sizeof(float));
  else if (g->beta != 1)
    for (size_t i = 0; i < mn; i++) g->c.data[i] = (float)(g->beta * g->c.data[i]);
  return true;
}

/* sgemm(handle, transA, transB, m, n, k, alpha, a, b, beta, c): row-major C = alpha op(A) op(B) + beta C. */
static napi_value sgemm(napi_env env, napi_callback_info info) {
  static const char *fn = "sgemm";
  napi_value argv[11];
  native_backend *nb;
  gemm_args g;
  if (!get_args(env, info, 11, argv, "sgemm: expects 11 arguments (handle, transA, transB, m, n, k, alpha, a, b, beta, c)") ||
      !get_backend(env, argv[0], fn, &nb) || !get_gemm_args(env, argv + 1, fn, &g) || gemm_degenerate(&g))
    return NULL;
  if (!np_zgemm(nb->pool, &nb->zscratch, nb->zero_skip_density, nb->zero_skip_lanes, g.ta, g.tb, g.m, g.n, g.k, (float)g.alpha, g.a.data,
                g.b.data, (float)g.beta, g.c.data))
    np_sgemm(nb->pool, &nb->gemm, nb->library, g.ta, g.tb, g.m, g.n, g.k, (float)g.alpha, g.a.data, g.b.data,
             (float)g.beta, g.c.data);
  return NULL;
}

/*
 * wholeSgemm(library, threads, transA, transB, m, n, k, alpha, a, b, beta, c): one whole call of `library`
 * with its own threading at `threads`, then back to one thread. For benchmarks and for measuring the
 * library itself; its bits depend on the thread count. Not to be called while a backend computes on other
 * threads.
 */
static napi_value whole_sgemm(napi_env env, napi_callback_info info) {
  static const char *fn = "wholeSgemm";
  napi_value argv[12];
  np_gemm_library library;
  int threads;
  gemm_args g;
  if (!get_args(env, info, 12, argv, "wholeSgemm: expects 12 arguments (library, threads, transA, transB, m, n, k, alpha, a, b, beta, c)") ||
      !get_library(env, argv[0], fn, &library) || !get_int(env, argv[1], fn, "threads", 1, MAX_THREADS, &threads) ||
      !get_gemm_args(env, argv + 2, fn, &g) || gemm_degenerate(&g))
    return NULL;
  pthread_once(&blas_once, single_threaded_blas);
  np_gemm_whole(library, threads, g.ta, g.tb, g.m, g.n, g.k, (float)g.alpha, g.a.data, g.b.data, (float)g.beta, g.c.data);
  return NULL;
}

/* gemmBlocks(handle, m, n, k): { byRows, blocks, serial }, how sgemm cuts an m x n x k product. */
static napi_value gemm_blocks(napi_env env, napi_callback_info info) {
  static const char *fn = "gemmBlocks";
  napi_value argv[4], r, by_rows, blocks, serial;
  native_backend *nb;
  int m, n, k;
  if (!get_args(env, info, 4, argv, "gemmBlocks: expects 4 arguments (handle, m, n, k)") ||
      !get_backend(env, argv[0], fn, &nb) || !get_dim(env, argv[1], fn, "m", &m) ||
      !get_dim(env, argv[2], fn, "n", &n) || !get_dim(env, argv[3], fn, "k", &k))
    return NULL;
  const np_gemm_plan plan = np_gemm_plan_for(m, n, k, &nb->gemm);
  CHECK(env, napi_create_object(env, &r));
  CHECK(env, napi_get_boolean(env, plan.by_rows, &by_rows));
  CHECK(env, napi_create_int32(env, plan.blocks, &blocks));
  CHECK(env, napi_set_named_property(env, r, "byRows", by_rows));
  CHECK(env, napi_set_named_property(env, r, "blocks", blocks));
  CHECK(env, napi_get_boolean(env, plan.serial, &serial));
  CHECK(env, napi_set_named_property(env, r, "serial", serial));
  return r;
}

/* Reads `count` Float32Arrays from argv (named by `names`), each needing at least `length` values. */
static bool get_tensors(napi_env env, napi_value *argv, const char *fn, const char *const *names, int count,
                        size_t length, f32view *out) {
  for (int i = 0; i < count; i++) {
    if (!get_f32(env, argv[i], fn, names[i], &out[i])) return false;
    if (out[i].length < length) {
      char msg[160];
      snprintf(msg, sizeof msg, "%s has %zu values, needs %zu (the length of w)", names[i], out[i].length, length);
      return throw_range(env, fn, msg);
    }
  }
  return true;
}

/* Outputs (the last `outputs` tensors) must not share memory with any other tensor. */
static bool distinct(napi_env env, const char *fn, const f32view *t, int count, int outputs, size_t length) {
  for (int i = count - outputs; i < count; i++)
    for (int j = 0; j < count; j++)
      if (j != i && overlaps(t[i].data, length, t[j].data, length))
        return throw_range(env, fn, "the new parameters and moments must not share memory with any other argument");
  return true;
}

static napi_value check_value(napi_env env, native_backend *nb, np_update *u) {
  napi_value r;
  CHECK(env, napi_create_double(env, np_update_run(nb->pool, u, nb->update_chunk), &r));
  return r;
}

/* sgdUpdate(handle, w, g, clip, decay, lr, w2): src/optim/kernels.ts sgdUpdate. */
static napi_value sgd_update(napi_env env, napi_callback_info info) {
  static const char *fn = "sgdUpdate";
  static const char *const names[] = {"w", "g", "w2"};
  napi_value argv[7];
  native_backend *nb;
  f32view w, t[3];
  np_update u = {.rule = NP_SGD};
  if (!get_args(env, info, 7, argv, "sgdUpdate: expects 7 arguments (handle, w, g, clip, decay, lr, w2)") ||
      !get_backend(env, argv[0], fn, &nb) || !get_f32(env, argv[1], fn, "w", &w))
    return NULL;
  napi_value tv[3] = {argv[1], argv[2], argv[6]};
  if (!get_tensors(env, tv, fn, names, 3, w.length, t) || !distinct(env, fn, t, 3, 1, w.length) ||
      !get_num(env, argv[3], fn, "clip", &u.clip) || !get_num(env, argv[4], fn, "decay", &u.decay) ||
      !get_num(env, argv[5], fn, "lr", &u.lr))
    return NULL;
  u.length = w.length;
  u.w = t[0].data, u.g = t[1].data, u.w2 = t[2].data;
  return check_value(env, nb, &u);
}

/* momentumUpdate(handle, w, g, v, clip, decay, lr, mu, nesterov, w2, v2): src/optim/kernels.ts momentumUpdate. */
static napi_value momentum_update(napi_env env, napi_callback_info info) {
  static const char *fn = "momentumUpdate";
  static const char *const names[] = {"w", "g", "v", "w2", "v2"};
  napi_value argv[11];
  native_backend *nb;
  f32view w, t[5];
  bool nesterov;
  np_update u = {.rule = NP_MOMENTUM};
  if (!get_args(env, info, 11, argv, "momentumUpdate: expects 11 arguments (handle, w, g, v, clip, decay, lr, mu, nesterov, w2, v2)") ||
      !get_backend(env, argv[0], fn, &nb) || !get_f32(env, argv[1], fn, "w", &w))
    return NULL;
  napi_value tv[5] = {argv[1], argv[2], argv[3], argv[9], argv[10]};
  if (!get_tensors(env, tv, fn, names, 5, w.length, t) || !distinct(env, fn, t, 5, 2, w.length) ||
      !get_num(env, argv[4], fn, "clip", &u.clip) || !get_num(env, argv[5], fn, "decay", &u.decay) ||
      !get_num(env, argv[6], fn, "lr", &u.lr) || !get_num(env, argv[7], fn, "mu", &u.mu) ||
      !get_bool(env, argv[8], fn, "nesterov", &nesterov))
    return NULL;
  u.rule = nesterov ? NP_NESTEROV : NP_MOMENTUM;
  u.length = w.length;
  u.w = t[0].data, u.g = t[1].data, u.v = t[2].data, u.w2 = t[3].data, u.v2 = t[4].data;
  return check_value(env, nb, &u);
}

/*
 * adamUpdate(handle, w, g, m, s, clip, decay, lr, b1, b2, c1, c2, eps, w2, m2, s2): src/optim/kernels.ts
 * adamUpdate.
 */
static napi_value adam_update(napi_env env, napi_callback_info info) {
  static const char *fn = "adamUpdate";
  static const char *const names[] = {"w", "g", "m", "s", "w2", "m2", "s2"};
  napi_value argv[16];
  native_backend *nb;
  f32view w, t[7];
  np_update u = {.rule = NP_ADAM};
  if (!get_args(env, info, 16, argv, "adamUpdate: expects 16 arguments (handle, w, g, m, s, clip, decay, lr, b1, b2, c1, c2, eps, w2, m2, s2)") ||
      !get_backend(env, argv[0], fn, &nb) || !get_f32(env, argv[1], fn, "w", &w))
    return NULL;
  napi_value tv[7] = {argv[1], argv[2], argv[3], argv[4], argv[13], argv[14], argv[15]};
  if (!get_tensors(env, tv, fn, names, 7, w.length, t) || !distinct(env, fn, t, 7, 3, w.length) ||
      !get_num(env, argv[5], fn, "clip", &u.clip) || !get_num(env, argv[6], fn, "decay", &u.decay) ||
      !get_num(env, argv[7], fn, "lr", &u.lr) || !get_num(env, argv[8], fn, "b1", &u.b1) ||
      !get_num(env, argv[9], fn, "b2", &u.b2) || !get_num(env, argv[10], fn, "c1", &u.c1) ||
      !get_num(env, argv[11], fn, "c2", &u.c2) || !get_num(env, argv[12], fn, "eps", &u.eps))
    return NULL;
  u.length = w.length;
  u.w = t[0].data, u.g = t[1].data, u.v = t[2].data, u.s = t[3].data;
  u.w2 = t[4].data, u.v2 = t[5].data, u.s2 = t[6].data;
  return check_value(env, nb, &u);
}

/* gemmLibraries(): the linked GEMM libraries, best first ("onednn", then "openblas"). */
static napi_value gemm_libraries(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r, name;
  uint32_t i = 0;
  CHECK(env, napi_create_array(env, &r));
  for (int lib = NP_ONEDNN; lib >= NP_OPENBLAS; lib >>= 1)
    if (np_gemm_libraries() & lib) {
      CHECK(env, napi_create_string_utf8(env, library_name(lib), NAPI_AUTO_LENGTH, &name));
      CHECK(env, napi_set_element(env, r, i++, name));
    }
  return r;
}

/* gemmInfo(library): "oneDNN 2.6.3 dnnl_sgemm (...)" or "OpenBLAS 0.3.21 cblas_sgemm (...)", for descriptions. */
static napi_value gemm_info(napi_env env, napi_callback_info info) {
  napi_value argv[1], r;
  np_gemm_library library;
  char text[200];
  if (!get_args(env, info, 1, argv, "gemmInfo: expects 1 argument (library)") || !get_library(env, argv[0], "gemmInfo", &library))
    return NULL;
  np_gemm_describe(library, text, sizeof text);
  CHECK(env, napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &r));
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  pthread_once(&blas_once, single_threaded_blas);
#define EXPORT(name, f) {name, NULL, f, NULL, NULL, NULL, napi_enumerable, NULL}
  const napi_property_descriptor props[] = {
      EXPORT("createBackend", create_backend),
      EXPORT("dispose", dispose),
      EXPORT("sgemm", sgemm),
      EXPORT("gemmBlocks", gemm_blocks),
      EXPORT("wholeSgemm", whole_sgemm),
      EXPORT("sgdUpdate", sgd_update),
      EXPORT("momentumUpdate", momentum_update),
      EXPORT("adamUpdate", adam_update),
      EXPORT("biasActivation", np_bias_activation),
      EXPORT("activationBackward", np_activation_backward),
      EXPORT("columnSums", np_column_sums),
      EXPORT("scaledGather", np_scaled_gather),
      EXPORT("gemmLibraries", gemm_libraries),
      EXPORT("gemmInfo", gemm_info),
  };
#undef EXPORT
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(gradpipe_native, init)
