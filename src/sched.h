/*
 * sched.h -- when each search runs.
 *
 * Each enabled search has a grid of window ends E(k) = k * every + jitter
 * (jitter fixed per search, in [0, every)).  The run for E(k) starts at
 * E(k) + delay and covers [E(k) - range, E(k)).  The last E that committed
 * is the search's checkpoint (in STORE_SEARCH_STATE); the next run is
 * always the one after it, so windows are never skipped or repeated, and
 * after downtime the missed ones are run oldest first, up to the catch-up
 * limit (beyond it the gap is recorded and announced).  A search has at
 * most one run in flight.  A min-heap of due times drives one libevent
 * timer; runs wait for a slot under the global limit and their source's.
 */
#ifndef PROG_SCHED_H
#define PROG_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>

#include "run.h"		/* enum run_mode */

struct run;
struct run_env;
struct search;
struct sched;

/* The scheduler for runs built on env. */
struct sched	*sched_new(struct run_env *);
/* Free; runs still in flight are aborted.  Accepts NULL. */
void		 sched_free(struct sched *);

/*
 * Add or replace a search (a reference is taken).  A replaced search keeps
 * its checkpoint; a run in flight finishes under the old definition.
 * Disabled searches are known but not scheduled.
 */
void		 sched_put(struct sched *, struct search *);
/* Forget a search; a run in flight finishes and is discarded. */
void		 sched_remove(struct sched *, uint64_t);
/* The search with id (borrowed), or NULL. */
struct search	*sched_get(struct sched *, uint64_t);
/* When the search runs next (ms), or 0. */
int64_t		 sched_next_run(struct sched *, uint64_t);

/*
 * Run a search now, outside its schedule (RUN_MANUAL, RUN_DRY or RUN_PUSH)
 * over [from, to).  input, when not NULL, is handed to the driver as its
 * state before it starts (what a push brought; the driver owns it).  done
 * gets the run when it is over and frees it.  Counts toward the limits.
 * Returns 0, or -1 with err when it cannot start.
 */
typedef void (*sched_run_cb)(struct run *, void *);
int		 sched_run_now(struct sched *, struct search *, int64_t, int64_t,
		    enum run_mode, void *, sched_run_cb, void *, char *,
		    size_t);

/*
 * Stop scheduling; calls done once no run is in flight.  Runs still going
 * after grace ms are aborted (they commit their failure, and the window
 * runs again after a restart).
 */
void		 sched_drain(struct sched *, int64_t, void (*)(void *), void *);

/* Figures for /metrics and /healthz. */
size_t		 sched_inflight(const struct sched *);
size_t		 sched_waiting(const struct sched *);
size_t		 sched_searches(const struct sched *);
/* How late the most overdue run is, ms (0 when none is due). */
int64_t		 sched_lag(const struct sched *);

/*
 * Window arithmetic, pure (exposed for the unit tests).
 *
 * sched_grid: the last grid point of the search at or before t (ms): the
 * grid is k * every + jitter, or the fire times of a cron search.
 *
 * sched_window: the end of the next window to run, given the checkpoint
 * (end of the last committed window, 0 for a new search), now, and the
 * catch-up limit.  Returns 0 with *end set, or 1 when the gap past the
 * checkpoint is longer than catch_up: windows up to *skipto are skipped
 * (*skipto becomes the checkpoint) and *end is the first to run.
 *
 * sched_backoff: the retry delay (ms) after n failures in a row, the
 * last of class fail (enum source_fail): 1 s (a quarter of the interval
 * when that is shorter, at least 250 ms: the retry comes within the
 * search's own interval) doubling up to the cap,
 * min(5 min, max(60 s, every)), for every class but SOURCE_FAIL_FINAL,
 * which waits the cap (the window must still run once the search or the
 * index is mended); jitter 80% to 120%; Retry-After (seconds) is honoured
 * up to SCHED_RETRY_AFTER_MAX_MS.  Never the search's next schedule: the
 * same window is retried, the next waits for it.
 */
#define SCHED_RETRY_MIN_MS	1000
#define SCHED_RETRY_FLOOR_MS	250
#define SCHED_RETRY_MAX_MS	(5 * 60 * 1000)
#define SCHED_RETRY_AFTER_MAX_MS (60 * 60 * 1000)

int64_t		 sched_grid(const struct search *, int64_t);
int		 sched_window(const struct search *, int64_t, int64_t, int64_t,
		    int64_t *, int64_t *);
int64_t		 sched_backoff(const struct search *, int, int, const char *);

#endif
