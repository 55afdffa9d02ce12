/*
 * A persistent pool of worker threads for the native backend: the calling thread and its workers claim the
 * blocks of one job as they come, so a worker that wakes late or is preempted delays at most the block it
 * holds (the caller takes the blocks nobody has claimed). Which thread computes a block never changes what
 * the block computes.
 */
#ifndef GRADPIPE_NATIVE_POOL_H
#define GRADPIPE_NATIVE_POOL_H

typedef void (*np_task)(void *ctx, int block);

typedef struct np_pool np_pool;

/*
 * A pool computing on `threads` threads, the caller included (threads - 1 workers are started now).
 * A worker that finishes a job polls for the next one for `spin_ns` nanoseconds before it sleeps, so the
 * back-to-back calls of a training step find it awake. NULL when a thread cannot be started.
 */
np_pool *np_pool_create(int threads, long spin_ns);

/*
 * Runs fn(ctx, b) for every b in [0, blocks), each exactly once, and returns when all are done. The caller
 * runs block 0 itself, so a job's longest block (put first) is never held up by a worker that is not
 * scheduled; the other blocks go to whichever thread claims them first.
 */
void np_pool_run(np_pool *p, np_task fn, void *ctx, int blocks);

/* Stops and joins the workers (idempotent); np_pool_run then runs every block on the caller. */
void np_pool_stop(np_pool *p);

/* Stops the pool and frees it. */
void np_pool_free(np_pool *p);

/* Threads computing, the caller included (1 once stopped). */
int np_pool_threads(const np_pool *p);

#endif
