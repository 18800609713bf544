/*
 * run.h -- one run of a search over one window.
 *
 * A run owns everything of one evaluation: the driver's requests, the
 * filter chain and its state overlay, the alerts it keeps, and the job
 * record.  Records from the driver pass through the filter chain as they
 * arrive; kept ones become alerts (up to the search's cap, past which the
 * run counts what it did not alert and says so).  When the driver
 * finishes, the run applies the threshold, then commits in one write
 * transaction (batched with other runs by the store): alerts, filter
 * state, outbox events, the job record and the new checkpoint.  A dry
 * run commits nothing and keeps a trace of the filters' decisions.
 */
#ifndef PROG_RUN_H
#define PROG_RUN_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>

struct config;
struct event_base;
struct httpc;
struct metrics;
struct outbox;
struct record;
struct sched;
struct search;
struct source_state;
struct sources;
struct store;

struct run;

enum run_mode {
	RUN_SCHEDULED,		/* from the scheduler: advances the checkpoint */
	RUN_MANUAL,		/* "run now": alerts, no checkpoint change */
	RUN_DRY,		/* test: nothing stored or sent */
	RUN_PUSH		/* alerts pushed through the API */
};

enum run_state {
	RUN_PENDING,
	RUN_RUNNING,
	RUN_SUCCEEDED,
	RUN_FAILED
};

/* What every run needs; owned by main, borrowed by runs. */
struct run_env {
	struct event_base	*re_base;
	const struct config	*re_cfg;
	struct store		*re_store;
	struct httpc		*re_httpc;
	struct outbox		*re_outbox;
	struct metrics		*re_metrics;
	struct sources		*re_sources;
	struct sched		*re_sched;
	struct evdns_base	*re_dns;	/* for filters; may be NULL */
	struct silences		*re_silences;	/* may be NULL */
};

/* The run is over (committed, or failed to commit); the callee frees it. */
typedef void (*run_done_cb)(struct run *, void *);

/* A run of s (a reference is taken) over [from, to) ms. */
struct run	*run_new(struct run_env *, struct search *, int64_t, int64_t,
		    enum run_mode);
/* Free a run that is over (or never started); accepts NULL. */
void		 run_free(struct run *);
/* Start it; done is called exactly once, from a later loop turn. */
void		 run_start(struct run *, run_done_cb, void *);
/* Stop it now: the driver is cancelled and the run fails with reason. */
void		 run_abort(struct run *, const char *);

/*
 * Record windows that will never run (a gap past catch_up) for search s:
 * a job record saying so, a search.failed event with the gap's bounds,
 * and the checkpoint moved to to.  Committed through the group commit.
 */
void		 run_gap(struct run_env *, struct search *, int64_t, int64_t);
/*
 * Delete job records that finished before cutoff (ms), at most max, in
 * one short write.  Returns how many went, or -1 (logged); *more says
 * whether older ones are left.
 */
long		 run_prune_jobs(struct run_env *, int64_t, size_t, int *);

/* Accessors. */
struct search	*run_search(const struct run *);
struct run_env	*run_env(const struct run *);
/* The runtime state of the search's source, or NULL. */
struct source_state *run_source(const struct run *);
int64_t		 run_from(const struct run *);
int64_t		 run_to(const struct run *);
enum run_mode	 run_mode(const struct run *);
enum run_state	 run_state(const struct run *);
const char	*run_error(const struct run *);	/* or NULL */
uint64_t	 run_hits(const struct run *);
size_t		 run_nalerts(const struct run *);
uint64_t	 run_job_id(const struct run *);	/* after commit */
/* A failed run's class (enum source_fail in sources.h). */
int		 run_retryable(const struct run *);
const char	*run_retry_after(const struct run *);	/* header, or NULL */
/* The job record JSON object (CONTRACT.md 5, jobs). */
void		 run_gen_job(yajl_gen, const struct run *);
/* A dry run's answer: alerts it would make, with the filter trace. */
void		 run_gen_dry(yajl_gen, const struct run *);

/* For drivers: the driver's private state. */
void		*run_driver(const struct run *);
void		 run_set_driver(struct run *, void *);
/*
 * A record from the source (takes ownership).  Returns 0 to go on, or 1
 * when the run has all it will use (cap reached with the total known):
 * the driver may stop fetching.
 */
int		 run_record(struct run *, struct record *);
/* The source's count of matches for the window; exact or a lower bound. */
void		 run_total(struct run *, uint64_t, int);
/* A warning worth keeping in the job (partial results...). */
void		 run_warn(struct run *, const char *);
/*
 * The driver is done: error NULL for success, else the source's own reason.
 * fail is the failure's class, enum source_fail (sources.h: 0 final, 1
 * retry soon, overload, slow; sources_fail_http classifies an answer);
 * it chooses the back-off and adapts the source's concurrency.
 * retry_after is the header, or NULL.
 */
void		 run_finish(struct run *, const char *, int, const char *);

#endif
