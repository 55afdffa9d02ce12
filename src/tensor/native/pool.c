/*
 * The native backend's thread pool (see pool.h). One mutex guards the job; a worker polls the job's
 * generation counter without the lock for a while after each job (no OS wake-up for back-to-back calls),
 * then sleeps on a condition variable. The caller claims blocks like any worker, then polls and sleeps
 * likewise until the workers' blocks are done.
 *
 * Workers block every signal (they belong to Node's threads) and hold no resource between jobs, so a
 * process that never stops its pools still exits: exit() ends threads that sleep on our condition variable.
 */
#define _GNU_SOURCE
#include "pool.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define cpu_relax() ((void)0)
#endif

struct np_pool {
  int workers; /* started and not yet joined */
  pthread_t *tids;
  long spin_ns;
  pthread_mutex_t mu;
  pthread_cond_t work; /* a new job, or stop */
  pthread_cond_t done; /* the job's last block finished */
  /* The job; written and read under mu. */
  np_task fn;
  void *ctx;
  int blocks;
  int next; /* the next block to claim */
  bool stopping;
  /* Changed under mu, also polled without it. */
  atomic_ulong generation; /* bumped for every job and for stop */
  atomic_int remaining;    /* blocks of the job not finished */
};

static long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Polls while busy(p, arg), for at most spin_ns; the clock is read every 64 polls (a read costs ~20 ns). */
static void poll_while(const np_pool *p, bool (*busy)(const np_pool *, unsigned long), unsigned long arg) {
  if (p->spin_ns <= 0) return;
  const long start = now_ns();
  for (unsigned i = 1; busy(p, arg); i++) {
    cpu_relax();
    if ((i & 63) == 0 && now_ns() - start > p->spin_ns) return;
  }
}

static bool no_new_job(const np_pool *p, unsigned long seen) {
  return atomic_load_explicit(&p->generation, memory_order_acquire) == seen;
}

static bool blocks_left(const np_pool *p, unsigned long unused) {
  (void)unused;
  return atomic_load_explicit(&p->remaining, memory_order_acquire) > 0;
}

/* Claims and runs blocks of the current job until none is left to claim. Called, and returns, with mu held. */
static void claim_and_run(np_pool *p) {
  while (p->next < p->blocks) {
    const int b = p->next++;
    const np_task fn = p->fn;
    void *const ctx = p->ctx;
    pthread_mutex_unlock(&p->mu);
    fn(ctx, b);
    pthread_mutex_lock(&p->mu);
    if (atomic_fetch_sub_explicit(&p->remaining, 1, memory_order_acq_rel) == 1) pthread_cond_signal(&p->done);
  }
}

static void *worker_main(void *arg) {
  np_pool *p = arg;
  unsigned long seen = 0;
  for (;;) {
    poll_while(p, no_new_job, seen);
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->generation, memory_order_relaxed) == seen && !p->stopping)
      pthread_cond_wait(&p->work, &p->mu);
    if (p->stopping) {
      pthread_mutex_unlock(&p->mu);
      return NULL;
    }
    /* A worker that slept through whole jobs joins the current one; finished jobs have nothing to claim. */
    seen = atomic_load_explicit(&p->generation, memory_order_relaxed);
    claim_and_run(p);
    pthread_mutex_unlock(&p->mu);
  }
}

np_pool *np_pool_create(int threads, long spin_ns) {
  if (threads < 1) return NULL;
  np_pool *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  p->spin_ns = spin_ns;
  atomic_init(&p->generation, 0);
  atomic_init(&p->remaining, 0);
  if (threads > 1 && (p->tids = calloc((size_t)threads - 1, sizeof *p->tids)) == NULL) {
    free(p);
    return NULL;
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->done, NULL);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); /* inherited by the workers */
  bool ok = true;
  for (int i = 0; i < threads - 1 && ok; i++) {
    ok = pthread_create(&p->tids[i], NULL, worker_main, p) == 0;
    if (ok) p->workers++;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (!ok) {
    np_pool_free(p);
    return NULL;
  }
  return p;
}

void np_pool_run(np_pool *p, np_task fn, void *ctx, int blocks) {
  if (p->workers == 0 || blocks <= 1) {
    for (int b = 0; b < blocks; b++) fn(ctx, b);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->ctx = ctx;
  p->blocks = blocks;
  p->next = 1; /* block 0 is the caller's */
  atomic_store_explicit(&p->remaining, blocks, memory_order_relaxed);
  atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
  pthread_cond_broadcast(&p->work); /* no system call when every worker is still polling */
  pthread_mutex_unlock(&p->mu);
  fn(ctx, 0);
  pthread_mutex_lock(&p->mu);
  atomic_fetch_sub_explicit(&p->remaining, 1, memory_order_acq_rel);
  claim_and_run(p);
  if (atomic_load_explicit(&p->remaining, memory_order_acquire) > 0) {
    pthread_mutex_unlock(&p->mu);
    poll_while(p, blocks_left, 0);
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->remaining, memory_order_acquire) > 0) pthread_cond_wait(&p->done, &p->mu);
  }
  pthread_mutex_unlock(&p->mu);
}

void np_pool_stop(np_pool *p) {
  if (p->workers == 0) return;
  pthread_mutex_lock(&p->mu);
  p->stopping = true;
  atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->workers; i++) pthread_join(p->tids[i], NULL);
  p->workers = 0;
}

void np_pool_free(np_pool *p) {
  if (p == NULL) return;
  np_pool_stop(p);
  pthread_cond_destroy(&p->done);
  pthread_cond_destroy(&p->work);
  pthread_mutex_destroy(&p->mu);
  free(p->tids);
  free(p);
}

int np_pool_threads(const np_pool *p) { return p->workers + 1; }
