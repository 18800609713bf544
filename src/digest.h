/*
 * digest.h -- hourly and daily digests of a search's new alerts for email
 * targets that ask for them ({"target": "mail", "digest": "hourly"}), and
 * the weekly summary (weekly_summary TARGET in 411d.conf).
 *
 * When a search's alert is created, outbox_alert_event records it as
 * pending for each digest target (digest_pending_add) instead of writing
 * a delivery job.  A periodic task, after each hour boundary (UTC), turns
 * the pending alerts of each (search, target) whose period has ended into
 * one "digest" job, deleting them in the same transaction; every Monday
 * 00:00 UTC it writes the weekly summary jobs.
 */
#ifndef PROG_DIGEST_H
#define PROG_DIGEST_H

#include <stdint.h>

#include "search.h"

struct run_env;
struct searches;
struct store_txn;
struct digest;

#define DIGEST_EVERY		60	/* seconds between checks */
#define DIGEST_FIRST		1	/* seconds after start to the first */
#define DIGEST_MAX_ALERTS	500	/* alerts listed in one digest */
#define DIGEST_JOBS		200	/* digests written in one commit */
#define DIGEST_SUMMARY_SEARCHES	200	/* searches in a weekly summary */
#define DIGEST_SUMMARY_SCAN	5000	/* alerts examined per search */

#define DIGEST_HOUR_MS		(3600 * (int64_t)1000)
#define DIGEST_DAY_MS		(24 * DIGEST_HOUR_MS)
#define DIGEST_WEEK_MS		(7 * DIGEST_DAY_MS)

/* "hourly", "daily" ("none" for SEARCH_DIGEST_NONE). */
const char	*digest_name(enum search_digest);
/*
 * The start of the period of kind that holds t (ms, UTC): the hour, or
 * the day at 00:00.  Alerts recorded before it are due.  For
 * SEARCH_DIGEST_NONE, t itself.
 */
int64_t		 digest_period_start(int64_t, enum search_digest);
/* Monday 00:00 UTC at or before t (ms). */
int64_t		 digest_week_start(int64_t);

/*
 * Inside a write transaction: alert id of search sid waits for the next
 * digest to target (recorded at ms now).  Returns 0 or -1.
 */
int		 digest_pending_add(struct store_txn *, uint64_t, const char *,
		    uint64_t, int64_t);

/*
 * Start the task: the first check DIGEST_FIRST seconds after start, then
 * every DIGEST_EVERY; a pass runs when the hour has changed since the
 * last one.
 */
struct digest	*digest_new(struct run_env *, struct searches *);
/* Stop; accepts NULL.  A pass being committed finishes first. */
void		 digest_free(struct digest *);
/* Digest and summary jobs written since start (tests, metrics). */
uint64_t	 digest_count(const struct digest *);

#endif
