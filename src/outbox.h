/*
 * outbox.h -- events committed with the runs, and the pump that moves them
 * to Redis.
 *
 * An event is written into the STORE_OUTBOX database inside the same
 * transaction as the change it announces (DESIGN.md 3): one entry for the
 * events stream (and its pub/sub channel) and one per target for the
 * target type's delivery stream, numbered by a sequence (seq) that is
 * never reused in a datadir.  The pump sends entries in seq order through
 * one Lua script that checks and sets a high-water mark of seqs per
 * datadir and stream in Redis atomically with the XADD (an id Redis
 * picks) and the PUBLISH, so an entry resent after a crash or a lost
 * reply is never added twice, and whatever else writes to the streams
 * cannot make 411 skip an entry (details in outbox.c).  An entry is
 * deleted from the outbox only once Redis has answered for it.
 */
#ifndef PROG_OUTBOX_H
#define PROG_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct alert;
struct config;
struct event_base;
struct queue;
struct search;
struct search_target;
struct store;
struct store_txn;

struct outbox;

#define OUTBOX_BATCH	256	/* entries in flight to Redis at once */

/* Facts about this 411d that go into every event. */
struct outbox_opts {
	const char	*oo_prefix;	/* key prefix, "411:" */
	const char	*oo_instance;	/* producer.instance (NULL: the
					   datadir's id, store_instance) */
	const char	*oo_base_url;	/* for links.alert, or NULL */
	const struct config *oo_cfg;	/* to resolve target types */
};

/* What a search.failed / search.recovered event says. */
struct outbox_search_error {
	const char	*se_message;
	int64_t		 se_from;	/* window, ms */
	int64_t		 se_to;
	int64_t		 se_since;	/* failing since, ms */
	int		 se_gap;	/* windows skipped: to 411:events
					   only, no delivery jobs */
};

/* What a digest or weekly summary job says (event type "digest"). */
struct outbox_digest {
	const char	*od_event_id;	/* derived from what it covers */
	const char	*od_period;	/* "hourly", "daily", "weekly" */
	int64_t		 od_from;	/* ms, the period it covers */
	int64_t		 od_to;
	size_t		 od_count;	/* alerts of the period in all */
	const uint64_t	*od_ids;	/* the alerts to list */
	size_t		 od_nids;
};

/* A pump for store, sending through q (which may be down). */
struct outbox	*outbox_new(struct event_base *, struct store *, struct queue *,
		    const struct outbox_opts *);
/* Free; accepts NULL.  Entries not yet sent stay in the store. */
void		 outbox_free(struct outbox *);

/*
 * Inside a write transaction: record an alert event (type is
 * "alert.created", "alert.updated" or "alert.resolved") and, for
 * "alert.created", one delivery job per target of the search (for
 * "alert.resolved" to its pagerduty and webhook targets).
 * Returns 0 or -1.
 */
int		 outbox_alert_event(struct outbox *, struct store_txn *,
		    const char *, const struct search *, const struct alert *);
/*
 * Inside a write transaction: one delivery job for alert a to one target
 * (name and type; params a JSON object text, or NULL for {}), outside the
 * search's own targets (the "send" action).  The job's type is type; the
 * payload has "action": "send".  Returns 0 or -1.
 */
int		 outbox_alert_job(struct outbox *, struct store_txn *,
		    const char *, const struct search *, const struct alert *,
		    const char *, const char *, const char *);
/*
 * Inside a write transaction: one "digest" job for target st of search s
 * to the target type's stream, listing the alerts od_ids as they are now
 * ("alerts": [...], "alert_links": [...]) with "digest": {period, from,
 * to, count, listed, more}.  Returns 0 or -1.
 */
int		 outbox_digest_job(struct outbox *, struct store_txn *,
		    const struct search *, const struct search_target *,
		    const struct outbox_digest *);
/*
 * Inside a write transaction: the weekly summary to target st: a "digest"
 * job without "search", with "digest" (period "weekly") and "summary", a
 * JSON array text.  Returns 0 or -1.
 */
int		 outbox_summary_job(struct outbox *, struct store_txn *,
		    const struct search_target *, const struct outbox_digest *,
		    const char *);
/*
 * Inside a write transaction: a search.failed / search.recovered event
 * and, unless se_gap, one delivery job per target of the search.
 */
int		 outbox_search_event(struct outbox *, struct store_txn *,
		    const char *, const struct search *,
		    const struct outbox_search_error *);
/*
 * Switch to a new config and base URL after a reload; the config's
 * instance (or the datadir's id) becomes producer.instance.
 */
void		 outbox_reload(struct outbox *, const struct config *,
		    const char *);
/* After a commit that added entries: wake the pump. */
void		 outbox_kick(struct outbox *);
/* The queue came up or went down. */
void		 outbox_queue_state(struct outbox *, int);
/* Entries committed and not yet acknowledged by Redis. */
uint64_t	 outbox_depth(struct outbox *);
/* Entries Redis added to a stream since start (not the duplicates). */
uint64_t	 outbox_sent(const struct outbox *);
/* Entries resent since start that Redis had already (skipped). */
uint64_t	 outbox_duplicates(const struct outbox *);

#endif
