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
	FILTER_DROP
};

/*
 * Called for each filter decision worth telling in a dry run: the filter's
 * position and type, what it did ("dropped", "changed") and why.
 */
typedef void (*filter_trace_cb)(void *, size_t, const char *, const char *,
    const char *);

/*
 * Check a search's "filters" array.  Returns 0, or -1 with err naming the
 * field ("filters[1].within") and the problem.
 */
int		 filter_validate(const struct json *, struct search_err *);

/* The chain of s (validated) for one run at time now (ms). */
struct filter_chain *filter_chain_new(const struct search *, int64_t);
void		 filter_chain_free(struct filter_chain *);
/*
 * Pass one record through the chain.  Filters may change the record.
 * Returns FILTER_KEEP or FILTER_DROP.  trace may be NULL.
 */
enum filter_verdict filter_chain_record(struct filter_chain *, struct fstate *,
		    struct record *, filter_trace_cb, void *);

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
/* Set filter pos's key in the overlay (value copied). */
void		 fstate_put(struct fstate *, uint16_t, const void *, size_t,
		    const void *, size_t);
/* Write the overlay in a write transaction.  Returns 0 or -1. */
int		 fstate_apply(struct fstate *, struct store_txn *);
/* Entries in the overlay. */
size_t		 fstate_count(const struct fstate *);

#endif

/* For the filter_*.c files: one filter type. */
struct filter_ops {
	const char	*fo_name;
	/* Check the filter's options; field is its path ("filters[2]"). */
	int		(*fo_validate)(const struct json *, const char *,
			    struct search_err *);
	/* Build an instance from validated options for a run at now (ms). */
	void		*(*fo_new)(const struct json *, int64_t);
	/*
	 * Decide on one record; pos keys the filter's state.  On FILTER_DROP
	 * (or a change) *why may point to a reason (static or kept by the
	 * instance until the next call).
	 */
	enum filter_verdict (*fo_record)(void *, struct fstate *, uint16_t,
			    struct record *, const char **);
	void		(*fo_free)(void *);
};

extern const struct filter_ops filter_dedupe_ops;
extern const struct filter_ops filter_throttle_ops;

/* Helpers for filters: the event time of a record (or now), in ms. */
int64_t		 filter_record_time(const struct record *, int64_t);
