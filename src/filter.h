/*
 * filter.h -- the filter chain of a search, and the per-run overlay of
 * filter state.
 *
 * Filters run in the order the search gives, on each record as it streams
 * in.  Stateful filters (dedupe, throttle, ...) read their state through
 * a struct fstate: an in-memory overlay on top of STORE_FILTER_STATE.  A
 * run's changes stay in the overlay and are written by fstate_apply in the
 * run's commit transaction, so a run that fails or is a dry run changes
 * nothing, and a crash before the commit repeats the same decisions.
 */
#ifndef PROG_FILTER_H
#define PROG_FILTER_H

#include <stddef.h>
#include <stdint.h>

struct evdns_base;
struct event_base;
struct json;
struct record;
struct search;
struct search_err;
struct store;
struct store_txn;

struct filter_chain;
struct fstate;

enum filter_verdict {
	FILTER_KEEP,
	FILTER_DROP,
	FILTER_ERROR,	/* the filter could not decide: its on_error says */
	FILTER_HELD	/* (chain only) kept for a batch filter at the end */
};

/* What a chain and its filters know of the run they serve. */
struct filter_env {
	struct event_base	*fe_base;	/* NULL: no loop (unit tests) */
	struct evdns_base	*fe_dns;	/* NULL: no resolver */
	int64_t			 fe_now;	/* ms, the run's clock */
	uint64_t		 fe_search;	/* search id */
	int64_t			 fe_created;	/* ms, the search's */
	int64_t			 fe_updated;	/* ms, the search version's */
	int64_t			 fe_from;	/* ms, the run's window */
	int64_t			 fe_to;
	int			 fe_dry;	/* a dry run */
};

/*
 * Called for each filter decision worth telling in a dry run: the record's
 * number in the run (-1 for a decision on the whole batch or on a record a
 * batch filter made), the filter's position and type, what it did
 * ("dropped", "changed", "error", "held", "batch") and why.
 */
typedef void (*filter_trace_cb)(void *, long, size_t, const char *,
    const char *, const char *);

/* Records held for the batch filters of a chain. */
struct filter_batch {
	struct record	**fb_recs;
	size_t		  fb_n;
	size_t		  fb_cap;
};

/*
 * The end of a chain's batch phase: the records that passed every filter
 * (the callee owns them and the batch's array), or none.
 */
typedef void (*filter_finish_cb)(void *, struct filter_batch *);

/*
 * Check a search's "filters" array.  Returns 0, or -1 with err naming the
 * field ("filters[1].within") and the problem.
 */
int		 filter_validate(const struct json *, struct search_err *);

/*
 * The chain of s (validated) for one run.  Filters whose lifetime is over
 * at env->fe_now are left out.
 */
struct filter_chain *filter_chain_new(const struct search *,
		    const struct filter_env *);
void		 filter_chain_free(struct filter_chain *);
/*
 * Pass one record through the streaming part of the chain.  Filters may
 * change the record.  Returns FILTER_KEEP, FILTER_DROP, or FILTER_HELD
 * when the chain took the record (ownership) for a batch filter; the
 * caller frees the record otherwise.  trace may be NULL.
 */
enum filter_verdict filter_chain_record(struct filter_chain *, struct fstate *,
		    struct record *, filter_trace_cb, void *);
/* Whether the chain has a filter that works on the whole run. */
int		 filter_chain_has_batch(const struct filter_chain *);
/*
 * The end of the run: run the batch filters over the held records, each
 * followed by the streaming filters after it, then call done once with
 * what passed (possibly before returning).
 */
void		 filter_chain_finish(struct filter_chain *, struct fstate *,
		    filter_trace_cb, void *, filter_finish_cb, void *);
/*
 * Errors seen (filters that could not decide, batch filters that
 * failed), and the first one as "filters[2] (script): why"; NULL if none.
 */
uint64_t	 filter_chain_errors(const struct filter_chain *,
		    const char **);
/* Records dropped because a batch filter's hold was full. */
uint64_t	 filter_chain_overflow(const struct filter_chain *);

/* Append a record to a batch (ownership); free a batch's records. */
void		 filter_batch_add(struct filter_batch *, struct record *);
void		 filter_batch_clear(struct filter_batch *);

/* The overlay for one run of search id over store. */
struct fstate	*fstate_new(struct store *, uint64_t);
void		 fstate_free(struct fstate *);
/*
 * Look up filter pos's key: the overlay first, then the store.  Returns 0
 * with a borrowed value (valid until the next fstate call), 1 if absent,
 * -1 on a store error.
 */
int		 fstate_get(struct fstate *, uint16_t, const void *, size_t,
		    const void **, size_t *);
/*
 * Set filter pos's key in the overlay (value copied).  It counts only if
 * the record being decided passes the whole chain.
 */
void		 fstate_put(struct fstate *, uint16_t, const void *, size_t,
		    const void *, size_t);
/*
 * The same for a fact about the data rather than a decision (a term seen,
 * a field's last value): it counts whatever becomes of the record, and
 * still only when the run commits.
 */
void		 fstate_put_seen(struct fstate *, uint16_t, const void *,
		    size_t, const void *, size_t);
/* Write the overlay in a write transaction.  Returns 0 or -1. */
int		 fstate_apply(struct fstate *, struct store_txn *);
/* Entries in the overlay. */
size_t		 fstate_count(const struct fstate *);

/* For the filter_*.c files: one filter type. */

/*
 * A batch filter's work is over: error is NULL (the batch was changed as
 * the filter decided) or says why it failed (the batch must then be as it
 * was given); summary (may be NULL) tells a dry run what it did.
 */
typedef void (*filter_batch_cb)(void *, const char *, const char *);

struct filter_ops {
	const char	*fo_name;
	/*
	 * Check the filter's own options; field is its path ("filters[2]").
	 * The common options (type, lifetime, on_error, comment) are checked
	 * by the chain: see filter_check_options.
	 */
	int		(*fo_validate)(const struct json *, const char *,
			    struct search_err *);
	/* Build an instance from validated options for one run. */
	void		*(*fo_new)(const struct json *,
			    const struct filter_env *);
	/*
	 * Decide on one record; pos keys the filter's state.  On FILTER_DROP,
	 * FILTER_ERROR (or a change) *why may point to a reason (static or
	 * kept by the instance until the next call).  For a batch filter
	 * fo_record is optional: it sees each record reaching the filter
	 * during the run, and FILTER_KEEP holds it for fo_batch while
	 * FILTER_DROP consumes it (e.g. counted, not needed).
	 */
	enum filter_verdict (*fo_record)(void *, struct fstate *, uint16_t,
			    struct record *, const char **);
	/*
	 * NULL for a streaming filter.  At the end of the run: work on the
	 * held records (drop, rewrite or add records), then call done exactly
	 * once, possibly before returning.  Freeing the instance cancels the
	 * work (done is then not called).
	 */
	void		(*fo_batch)(void *, struct fstate *, uint16_t,
			    struct filter_batch *, filter_batch_cb, void *);
	/*
	 * Optional, for a type with fo_batch: whether this instance works on
	 * the whole run (1) or streams like any other filter (0), its
	 * fo_batch then never called.  Without it, fo_batch decides.
	 */
	int		(*fo_is_batch)(void *);
	void		(*fo_free)(void *);
};

/*
 * For fo_validate: refuse an option not in allowed (NULL-terminated) nor
 * common to every filter, naming it in err as "TYPE: unknown option
 * (options: ...)".  Returns 0 or -1.
 */
int		 filter_check_options(const struct json *, const char *,
		    const char *, const char *const *, struct search_err *);
/* Fill err with "field.sub" and "TYPE: msg"; returns -1. */
int		 filter_fail(struct search_err *, const char *, const char *,
		    const char *, const char *);

/* The filter types, NULL-terminated (filters.c). */
extern const struct filter_ops *const filter_types[];
/* Helpers for filters: the event time of a record (or now), in ms. */
int64_t		 filter_record_time(const struct record *, int64_t);

#endif
