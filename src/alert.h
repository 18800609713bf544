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
/* Rewrite an existing alert (same id), moving its state index. */
int		 alert_update(struct store_txn *, const struct alert *,
		    enum alert_state);
/* Read alert id; returns 0 and a new alert, 1 if absent, -1 on error. */
int		 alert_get(struct store_txn *, uint64_t, struct alert **);

/* Which alerts a listing wants. */
struct alert_query {
	int		 aq_state;	/* enum alert_state, or -1 for any */
	uint64_t	 aq_search;	/* 0 for any */
	uint64_t	 aq_before;	/* cursor: ids below this; 0 = newest */
	size_t		 aq_limit;
};

/*
 * List alerts newest first (descending id), through indexes, calling cb
 * for each (borrowed alert).  Sets *next to the cursor for the next page
 * (0 when there is none).  Returns the number listed, or -1.
 */
typedef void (*alert_list_cb)(void *, const struct alert *);
int		 alert_list(struct store_txn *, const struct alert_query *,
		    alert_list_cb, void *, uint64_t *);

const char	*alert_state_name(enum alert_state);
int		 alert_state_parse(const char *, enum alert_state *);
const char	*alert_resolution_name(enum alert_resolution);

#endif
