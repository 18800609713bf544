/*
 * alert.h -- alerts: made from records, stored with their indexes, read
 * back and listed, written as the JSON of CONTRACT.md 4.
 */
#ifndef PROG_ALERT_H
#define PROG_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>

struct record;
struct search;
struct store_txn;

enum alert_state {
	ALERT_NEW,
	ALERT_IN_PROGRESS,
	ALERT_RESOLVED,
	ALERT_NSTATES
};

enum alert_resolution {
	RESOLUTION_NONE,
	RESOLUTION_NOT_AN_ISSUE,
	RESOLUTION_ACTION_TAKEN,
	RESOLUTION_TOO_OLD
};

#define ALERT_HASH_LEN	(7 + 64 + 1)	/* "sha256:" + hex + NUL */

struct alert {
	uint64_t		 a_id;		/* 0 until stored */
	uint64_t		 a_search_id;
	int64_t			 a_time;	/* event time, ms */
	int64_t			 a_created;	/* ms */
	int64_t			 a_updated;	/* ms */
	enum alert_state	 a_state;
	enum alert_resolution	 a_resolution;
	int			 a_escalated;
	char			*a_assignee;	/* or NULL */
	char			*a_priority;
	char			*a_content;	/* JSON object text */
	size_t			 a_content_len;
	char			 a_hash[ALERT_HASH_LEN];
	char			*a_source_id;	/* or NULL */
	char			*a_source_url;	/* or NULL */
	uint64_t		 a_count;
	uint64_t		 a_silenced;	/* silence id, 0 = not */
};

/*
 * An alert from a record of search s at time now (ms): the content is the
 * record's fields (all of them, or those named by the search's "fields").
 * The hash (a_hash) is left empty: call alert_hash() on the alerts kept.
 * The record is not changed.
 */
struct alert	*alert_from_record(const struct search *, const struct record *,
		    int64_t);
/* Free; accepts NULL. */
void		 alert_free(struct alert *);
/* Compute a_hash from a_content. */
void		 alert_hash(struct alert *);

/* Write the alert JSON (CONTRACT.md 4). */
void		 alert_gen(yajl_gen, const struct alert *);
/* Parse the alert JSON back (as stored).  NULL on bad input. */
struct alert	*alert_parse(const char *, size_t);

/*
 * Store a new alert in a write transaction: takes the next id from the
 * "alert" counter, sets a_id, writes the alert and its indexes.
 * Returns 0 or -1.
 */
int		 alert_insert(struct store_txn *, struct alert *);
/*
 * Rewrite an existing alert (same id), moving every index entry and
 * counter that changed (state, assignee, priority, escalation, idle
 * order).  old is the state it had (used when the stored copy cannot be
 * read).
 */
int		 alert_update(struct store_txn *, const struct alert *,
		    enum alert_state);
/* Read alert id; returns 0 and a new alert, 1 if absent, -1 on error. */
int		 alert_get(struct store_txn *, uint64_t, struct alert **);

/* aq_escalated */
#define ALERT_ESC_ANY	0
#define ALERT_ESC_YES	1
#define ALERT_ESC_NO	2

/*
 * Which alerts a listing wants.  Zeroed means "any" for every member
 * except aq_state (-1 for any).
 */
struct alert_query {
	int		 aq_state;	/* enum alert_state, or -1 for any */
	uint64_t	 aq_search;	/* 0 for any */
	uint64_t	 aq_before;	/* cursor: ids below this; 0 = newest */
	size_t		 aq_limit;
	const char	*aq_assignee;	/* NULL any, "" unassigned */
	const char	*aq_priority;	/* NULL any */
	int		 aq_escalated;	/* ALERT_ESC_* */
	int64_t		 aq_from;	/* alert time >= from (ms), 0 any */
	int64_t		 aq_to;		/* alert time < to (ms), 0 any */
	const char	*aq_text;	/* case-insensitive substring of the
					   content text, or NULL */
	/* Another test (the search's tags...): nonzero keeps the alert. */
	int		(*aq_match)(void *, const struct alert *);
	void		*aq_match_arg;
	size_t		 aq_max_scan;	/* alerts examined at most, 0 = no
					   bound */
};

/*
 * List alerts newest first (descending id), calling cb for each (borrowed
 * alert).  The walk goes down the most selective index that the query
 * names (the one with the fewest entries, from the index counters) and
 * checks the other conditions on each alert.  Sets *next to the cursor for
 * the next page (0 when there is none).  With aq_max_scan, the walk stops
 * after examining that many alerts: *next is then set even when fewer
 * than aq_limit were listed (a partial page; the caller says so).
 * Returns the number listed, or -1.
 */
typedef void (*alert_list_cb)(void *, const struct alert *);
int		 alert_list(struct store_txn *, const struct alert_query *,
		    alert_list_cb, void *, uint64_t *);

/*
 * Counters kept with the indexes, in the same transactions: the number of
 * alerts by state (ALERT_COUNT_STATE, key the state name), by priority
 * (ALERT_COUNT_PRIORITY, the priority), by assignee (ALERT_COUNT_ASSIGNEE,
 * "" for none).
 */
#define ALERT_COUNT_STATE	's'
#define ALERT_COUNT_PRIORITY	'p'
#define ALERT_COUNT_ASSIGNEE	'a'
uint64_t	 alert_count(struct store_txn *, int, const char *);
/* Call cb for every key of one counter kind with a nonzero count. */
int		 alert_counts(struct store_txn *, int,
		    void (*)(void *, const char *, uint64_t), void *);

/*
 * Unresolved alerts of search whose a_updated is below before (ms),
 * oldest first, at most max: their ids into ids.  Returns how many, or
 * -1.  (Autoclose; an index, not a scan.)
 */
int		 alert_idle(struct store_txn *, uint64_t, int64_t, uint64_t *,
		    size_t);

/*
 * Rebuild every secondary index and counter from STORE_ALERTS when the
 * store has none of the current layout (a datadir from before them).
 * Returns the number of alerts indexed (0 when nothing was to do), or -1.
 */
long		 alert_reindex(struct store_txn *);

/*
 * The alert log (D3), STORE_ALERT_LOG: one entry per change.  from and to
 * are the alert before and after (the changed members are recorded as
 * {"from", "to"}); to may equal from.  note, xkey/xval (one more string
 * member, e.g. "target") may be NULL.  Returns 0 or -1.
 */
int		 alert_log_add(struct store_txn *, const struct alert *,
		    const struct alert *, int64_t, const char *, const char *,
		    const char *, const char *, const char *);
/*
 * The log of alert id, oldest first, entries after the cursor (a log
 * sequence number, 0 from the start), at most limit: cb gets each entry's
 * JSON text (borrowed).  *next is the cursor of the next page, or 0.
 * Returns the number listed, or -1.
 */
int		 alert_log_list(struct store_txn *, uint64_t, uint64_t, size_t,
		    void (*)(void *, const char *, size_t), void *,
		    uint64_t *);

const char	*alert_state_name(enum alert_state);
int		 alert_state_parse(const char *, enum alert_state *);
const char	*alert_resolution_name(enum alert_resolution);

#endif
