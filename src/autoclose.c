/*
 * autoclose.c -- D5: resolve as too_old the alerts idle longer than their
 * search's "autoclose".
 *
 * A pass collects the searches that have an autoclose and queues one
 * write (store_write): for each search, the unresolved alerts whose last
 * change (a_updated) is older than the autoclose, oldest first, read
 * through the 'u' index of alert.c (no scan), up to AUTOCLOSE_BATCH in
 * all.  Each is resolved as too_old, logged (actor "411", action
 * "autoclose") and announced with alert.resolved in the same transaction.
 * A pass that filled its batch asks for the next one a second later.
 * One pass at a time; time is util_now_ms(), which tests can move.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "alert.h"
#include "autoclose.h"
#include "log.h"
#include "outbox.h"
#include "run.h"
#include "search.h"
#include "searches.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

struct autoclose {
	struct run_env	*ac_env;
	struct searches	*ac_searches;
	struct event	*ac_ev;
	int		 ac_busy;	/* a pass is being committed */
	int		 ac_freeing;	/* freed while busy */
	uint64_t	 ac_count;
	/* The pass being committed. */
	uint64_t	*ac_ids;	/* searches with an autoclose */
	size_t		 ac_nids;
	size_t		 ac_cap;
	size_t		 ac_done;	/* resolved by this pass */
};

static void	autoclose_tick(evutil_socket_t, short, void *);

/* Arm the timer for secs seconds. */
static void
autoclose_arm(struct autoclose *ac, int secs)
{
	struct timeval	 tv;

	tv.tv_sec = secs;
	tv.tv_usec = 0;
	evtimer_add(ac->ac_ev, &tv);
}

/* Bring the alert indexes up to date. */
static int
autoclose_reindex(struct store_txn *txn, void *arg)
{
	long	*n = arg;

	if ((*n = alert_reindex(txn)) == -1) {
		store_fail(txn, "could not rebuild the alert indexes");
		return (-1);
	}
	return (0);
}

/* Start the task. */
struct autoclose *
autoclose_new(struct run_env *env, struct searches *ss)
{
	struct autoclose	*ac;
	char			 err[256];
	long			 n = 0;

	if (store_update(env->re_store, autoclose_reindex, &n, err,
	    sizeof err) == -1) {
		log_warnx("alert indexes: %s", err);
		return (NULL);
	}
	if (n > 0)
		log_info("alert indexes rebuilt for %ld alerts", n);
	ac = xcalloc(1, sizeof *ac);
	ac->ac_env = env;
	ac->ac_searches = ss;
	ac->ac_ev = evtimer_new(env->re_base, autoclose_tick, ac);
	autoclose_arm(ac, AUTOCLOSE_FIRST);
	return (ac);
}

/* Free now (no pass in flight). */
static void
autoclose_destroy(struct autoclose *ac)
{
	event_free(ac->ac_ev);
	free(ac->ac_ids);
	free(ac);
}

/* Stop. */
void
autoclose_free(struct autoclose *ac)
{
	if (ac == NULL)
		return;
	if (ac->ac_busy) {
		evtimer_del(ac->ac_ev);
		ac->ac_freeing = 1;	/* the done callback frees */
		return;
	}
	autoclose_destroy(ac);
}

/* Alerts resolved since start. */
uint64_t
autoclose_count(const struct autoclose *ac)
{
	return (ac != NULL ? ac->ac_count : 0);
}

/* Collect the searches that have an autoclose. */
static int
autoclose_collect(void *arg, struct search *s)
{
	struct autoclose	*ac = arg;

	if (s->s_autoclose <= 0)
		return (0);
	if (ac->ac_nids == ac->ac_cap) {
		ac->ac_cap = ac->ac_cap == 0 ? 16 : ac->ac_cap * 2;
		ac->ac_ids = xreallocarray(ac->ac_ids, ac->ac_cap,
		    sizeof *ac->ac_ids);
	}
	ac->ac_ids[ac->ac_nids++] = s->s_id;
	return (0);
}

/* Resolve one idle alert. */
static int
autoclose_one(struct autoclose *ac, struct store_txn *txn,
    const struct search *s, uint64_t id, int64_t now)
{
	struct alert	*old = NULL, *a = NULL;
	struct outbox	*ob = ac->ac_env->re_outbox;
	char		 note[128], d[32];
	int		 rc = -1;

	if (alert_get(txn, id, &old) != 0 || alert_get(txn, id, &a) != 0) {
		alert_free(old);
		return (0);	/* damaged: leave it */
	}
	a->a_state = ALERT_RESOLVED;
	a->a_resolution = RESOLUTION_TOO_OLD;
	a->a_updated = now;
	util_fmt_duration(s->s_autoclose, d, sizeof d);
	snprintf(note, sizeof note, "no change for %s (autoclose)", d);
	if (alert_update(txn, a, old->a_state) == -1 ||
	    alert_log_add(txn, old, a, now, "411", "autoclose", note, NULL,
	    NULL) == -1)
		goto out;
	if (ob != NULL && a->a_silenced == 0 &&
	    outbox_alert_event(ob, txn, "alert.resolved", s, a) == -1)
		goto out;
	rc = 0;
out:
	alert_free(old);
	alert_free(a);
	return (rc);
}

/* The pass: every search with an autoclose, one batch in all. */
static int
autoclose_apply(struct store_txn *txn, void *arg)
{
	struct autoclose	*ac = arg;
	struct search		*s;
	uint64_t		*ids;
	int64_t			 now = util_now_ms();
	size_t			 i, k;
	int			 n;

	ac->ac_done = 0;
	if (ac->ac_freeing)
		return (0);	/* stopped: the searches may be gone */
	ids = xcalloc(AUTOCLOSE_BATCH, sizeof *ids);
	for (i = 0; i < ac->ac_nids && ac->ac_done < AUTOCLOSE_BATCH; i++) {
		/* Borrowed: nothing else runs during the commit. */
		if ((s = searches_get(ac->ac_searches, ac->ac_ids[i])) ==
		    NULL || s->s_autoclose <= 0)
			continue;
		n = alert_idle(txn, s->s_id, now - s->s_autoclose * 1000, ids,
		    AUTOCLOSE_BATCH - ac->ac_done);
		if (n == -1)
			goto fail;
		for (k = 0; k < (size_t)n; k++)
			if (autoclose_one(ac, txn, s, ids[k], now) == -1)
				goto fail;
		ac->ac_done += (size_t)n;
	}
	free(ids);
	return (0);
fail:
	free(ids);
	store_fail(txn, "autoclose could not resolve the idle alerts");
	return (-1);
}

/* The pass is committed (or failed). */
static void
autoclose_done(void *arg, int ok, const char *err)
{
	struct autoclose	*ac = arg;

	ac->ac_busy = 0;
	if (ac->ac_freeing) {
		autoclose_destroy(ac);
		return;
	}
	if (!ok) {
		log_warnx("autoclose: %s", err != NULL ? err : "failed");
		autoclose_arm(ac, AUTOCLOSE_EVERY);
		return;
	}
	if (ac->ac_done > 0) {
		ac->ac_count += ac->ac_done;
		log_info("autoclose: %zu idle alert%s resolved as too_old",
		    ac->ac_done, ac->ac_done == 1 ? "" : "s");
		if (ac->ac_env->re_outbox != NULL)
			outbox_kick(ac->ac_env->re_outbox);
	}
	autoclose_arm(ac, ac->ac_done == AUTOCLOSE_BATCH ? 1 :
	    AUTOCLOSE_EVERY);
}

/* Timer: start a pass. */
static void
autoclose_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct autoclose	*ac = arg;

	(void)fd;
	(void)ev;
	if (ac->ac_busy)
		return;
	ac->ac_nids = 0;
	searches_each(ac->ac_searches, 0, autoclose_collect, ac);
	if (ac->ac_nids == 0) {
		autoclose_arm(ac, AUTOCLOSE_EVERY);
		return;
	}
	ac->ac_busy = 1;
	store_write(ac->ac_env->re_store, autoclose_apply, autoclose_done, ac);
}
