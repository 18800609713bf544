/*
 * digest.c -- hourly and daily digests of new alerts for email targets,
 * and the weekly summary.
 *
 * STORE_DIGEST_PENDING holds, per (search, target), the alerts that wait
 * for a digest: key be64 search id | target name | NUL | be64 alert id,
 * value be64 ms when recorded.  Keys sort by search, then target, then
 * alert, so one cursor walk meets each (search, target) as one run.
 *
 * The timer fires every DIGEST_EVERY seconds; a pass runs when the UTC
 * hour has changed since the last full pass (and once after start, for
 * what came due while 411d was down).  A pass is one store_write: for each
 * (search, target) the entries recorded before the start of the current
 * period (hour or day) are deleted and become one "digest" job, listing at
 * most DIGEST_MAX_ALERTS alerts as they are now.  The job's event id is
 * made of the search, the target and the end of the period, so a second
 * digest for the same period cannot be mistaken for a new one; deletes and
 * job share the transaction, so a crash leaves either both or neither.
 * Entries of a search or target that is gone are dropped.
 *
 * The weekly summary goes to each weekly_summary target once per week
 * (STORE_META "digest_weekly:" TARGET holds the Monday it was last sent
 * for; the first pass that sees a new target only records the week).
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "alert.h"
#include "buf.h"
#include "config.h"
#include "digest.h"
#include "json.h"
#include "log.h"
#include "outbox.h"
#include "run.h"
#include "search.h"
#include "searches.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

struct digest {
	struct run_env	*dg_env;
	struct searches	*dg_searches;
	struct event	*dg_ev;
	int		 dg_busy;	/* a pass is being committed */
	int		 dg_freeing;	/* freed while busy */
	int64_t		 dg_checked;	/* hour of the last full pass */
	int64_t		 dg_now;	/* of the pass being committed */
	int		 dg_more;	/* it stopped at DIGEST_JOBS */
	size_t		 dg_jobs;	/* jobs it wrote */
	size_t		 dg_dropped;	/* entries of gone searches */
	uint64_t	 dg_count;
};

/* One (search, target) run of pending entries. */
struct digest_group {
	uint8_t			 g_prefix[8 + 256];
	size_t			 g_plen;
	const struct search	*g_search;	/* NULL: drop the entries */
	const struct search_target *g_target;
	int64_t			 g_end;		/* due: recorded before */
	int64_t			 g_first;	/* oldest due entry, ms */
	uint64_t		 g_ids[DIGEST_MAX_ALERTS];
	size_t			 g_nids;
	size_t			 g_count;
};

static void	digest_tick(evutil_socket_t, short, void *);

const char *
digest_name(enum search_digest k)
{
	switch (k) {
	case SEARCH_DIGEST_HOURLY:
		return ("hourly");
	case SEARCH_DIGEST_DAILY:
		return ("daily");
	default:
		return ("none");
	}
}

/* Floor of t to a multiple of unit (t may be negative). */
static int64_t
digest_floor(int64_t t, int64_t unit)
{
	int64_t	 r = t % unit;

	return (r < 0 ? t - r - unit : t - r);
}

int64_t
digest_period_start(int64_t t, enum search_digest k)
{
	switch (k) {
	case SEARCH_DIGEST_HOURLY:
		return (digest_floor(t, DIGEST_HOUR_MS));
	case SEARCH_DIGEST_DAILY:
		return (digest_floor(t, DIGEST_DAY_MS));
	default:
		return (t);
	}
}

/* 1970-01-01 was a Thursday: Mondays are 4 days past a week multiple. */
int64_t
digest_week_start(int64_t t)
{
	return (digest_floor(t - 4 * DIGEST_DAY_MS, DIGEST_WEEK_MS) +
	    4 * DIGEST_DAY_MS);
}

/* Build the key of a pending entry; returns its length, 0 if too long. */
static size_t
digest_key(uint8_t *key, size_t cap, uint64_t sid, const char *target,
    uint64_t aid)
{
	size_t	 n = strlen(target);

	if (n == 0 || 8 + n + 1 + 8 > cap)
		return (0);
	util_be64_put(key, sid);
	memcpy(key + 8, target, n);
	key[8 + n] = '\0';
	util_be64_put(key + 8 + n + 1, aid);
	return (8 + n + 1 + 8);
}

int
digest_pending_add(struct store_txn *txn, uint64_t sid, const char *target,
    uint64_t aid, int64_t now)
{
	uint8_t	 key[8 + 256 + 8], v[8];
	size_t	 klen;

	if ((klen = digest_key(key, sizeof key, sid, target, aid)) == 0) {
		store_fail(txn, "digest: a target name of %zu bytes is too "
		    "long", strlen(target));
		return (-1);
	}
	util_be64_put(v, (uint64_t)now);
	return (store_put(txn, STORE_DIGEST_PENDING, key, klen, v, sizeof v));
}

/* Arm the timer for secs seconds. */
static void
digest_arm(struct digest *dg, int secs)
{
	struct timeval	 tv;

	tv.tv_sec = secs;
	tv.tv_usec = 0;
	evtimer_add(dg->dg_ev, &tv);
}

struct digest *
digest_new(struct run_env *env, struct searches *ss)
{
	struct digest	*dg;

	dg = xcalloc(1, sizeof *dg);
	dg->dg_env = env;
	dg->dg_searches = ss;
	dg->dg_checked = INT64_MIN;
	dg->dg_ev = evtimer_new(env->re_base, digest_tick, dg);
	digest_arm(dg, DIGEST_FIRST);
	return (dg);
}

static void
digest_destroy(struct digest *dg)
{
	event_free(dg->dg_ev);
	free(dg);
}

void
digest_free(struct digest *dg)
{
	if (dg == NULL)
		return;
	if (dg->dg_busy) {
		evtimer_del(dg->dg_ev);
		dg->dg_freeing = 1;	/* the done callback frees */
		return;
	}
	digest_destroy(dg);
}

uint64_t
digest_count(const struct digest *dg)
{
	return (dg != NULL ? dg->dg_count : 0);
}

/* Start a group for the entry key k (search | target | NUL | alert). */
static void
digest_group_start(struct digest *dg, struct digest_group *g,
    const uint8_t *k, size_t klen)
{
	const struct search	*s;
	const char		*name = (const char *)k + 8;
	size_t			 i;

	memset(g, 0, offsetof(struct digest_group, g_ids));
	g->g_plen = klen - 8;
	memcpy(g->g_prefix, k, g->g_plen);
	/* Borrowed: nothing else runs during the commit. */
	if ((s = searches_get(dg->dg_searches, util_be64_get(k))) == NULL)
		return;
	for (i = 0; i < s->s_ntargets; i++) {
		if (strcmp(s->s_targets[i].st_name, name) == 0 &&
		    strcmp(s->s_targets[i].st_type, "email") == 0) {
			g->g_search = s;
			g->g_target = &s->s_targets[i];
			/* No longer a digest target: send what waits now. */
			g->g_end = digest_period_start(dg->dg_now,
			    g->g_target->st_digest);
			break;
		}
	}
}

/* Write the digest job of a finished group. */
static int
digest_group_end(struct digest *dg, struct store_txn *txn,
    struct digest_group *g)
{
	struct outbox_digest	 od;
	enum search_digest	 k;
	char			*eid;
	int			 rc;

	if (g->g_search == NULL || g->g_count == 0 ||
	    dg->dg_env->re_outbox == NULL)
		return (0);
	k = g->g_target->st_digest;
	if (k == SEARCH_DIGEST_NONE)
		k = SEARCH_DIGEST_HOURLY;
	memset(&od, 0, sizeof od);
	eid = xprintf("%s-digest-%llu-%s-%lld",
	    store_instance(dg->dg_env->re_store),
	    (unsigned long long)g->g_search->s_id, g->g_target->st_name,
	    (long long)(g->g_end / 1000));
	od.od_event_id = eid;
	od.od_period = digest_name(k);
	od.od_to = g->g_end;
	od.od_from = digest_period_start(g->g_end - 1, k);
	if (g->g_first < od.od_from)
		od.od_from = digest_period_start(g->g_first, k);
	od.od_count = g->g_count;
	od.od_ids = g->g_ids;
	od.od_nids = g->g_nids;
	rc = outbox_digest_job(dg->dg_env->re_outbox, txn, g->g_search,
	    g->g_target, &od);
	free(eid);
	if (rc == 0)
		dg->dg_jobs++;
	return (rc);
}

/* The pending digests: one job per (search, target) that is due. */
static int
digest_pending(struct digest *dg, struct store_txn *txn)
{
	struct store_cursor	*c;
	struct digest_group	*g;
	struct buf		 del = BUF_INIT;
	const void		*k, *v;
	const uint8_t		*kb, *p, *end;
	size_t			 klen, vlen, n;
	int64_t			 at;
	int			 rc, ret = -1, open = 0;

	if ((c = store_cursor(txn, STORE_DIGEST_PENDING)) == NULL)
		return (-1);
	g = xcalloc(1, sizeof *g);
	for (rc = store_cursor_seek(c, NULL, 0, &k, &klen, &v, &vlen);
	    rc == 0; rc = store_cursor_next(c, &k, &klen, &v, &vlen)) {
		kb = k;
		if (klen < 8 + 2 + 8 || kb[klen - 9] != '\0' ||
		    klen - 8 > sizeof g->g_prefix)
			continue;
		if (!open || g->g_plen != klen - 8 ||
		    memcmp(g->g_prefix, kb, g->g_plen) != 0) {
			if (open && digest_group_end(dg, txn, g) == -1)
				goto out;
			if (dg->dg_jobs >= DIGEST_JOBS) {
				dg->dg_more = 1;
				break;
			}
			digest_group_start(dg, g, kb, klen);
			open = 1;
		}
		at = vlen == 8 ? (int64_t)util_be64_get(v) : 0;
		if (g->g_search != NULL) {
			if (at >= g->g_end)
				continue;	/* its period is not over */
			if (g->g_count == 0 || at < g->g_first)
				g->g_first = at;
			if (g->g_nids < DIGEST_MAX_ALERTS)
				g->g_ids[g->g_nids++] =
				    util_be64_get(kb + klen - 8);
			g->g_count++;
		} else
			dg->dg_dropped++;
		/* To delete after the walk: be16 length, key. */
		buf_addc(&del, (char)(klen >> 8));
		buf_addc(&del, (char)(klen & 0xff));
		buf_add(&del, kb, klen);
	}
	if (rc == -1)
		goto out;
	if (open && !dg->dg_more && digest_group_end(dg, txn, g) == -1)
		goto out;
	store_cursor_free(c);
	c = NULL;
	p = (const uint8_t *)del.b_data;
	end = p + del.b_len;
	while (p != NULL && p + 2 <= end) {
		n = (size_t)p[0] << 8 | p[1];
		if (store_del(txn, STORE_DIGEST_PENDING, p + 2, n) == -1)
			goto out;
		p += 2 + n;
	}
	ret = 0;
out:
	store_cursor_free(c);
	buf_free(&del);
	free(g);
	return (ret);
}

/* Counts of one search for the weekly summary. */
struct digest_week {
	int64_t		 w_from;
	int64_t		 w_to;
	uint64_t	 w_created;
	uint64_t	 w_open;
};

static void
digest_week_cb(void *arg, const struct alert *a)
{
	struct digest_week	*w = arg;

	if (a->a_created >= w->w_from && a->a_created < w->w_to)
		w->w_created++;
	if (a->a_state != ALERT_RESOLVED)
		w->w_open++;
}

struct digest_summary {
	struct store_txn	*su_txn;
	yajl_gen		 su_gen;
	int64_t			 su_from;
	int64_t			 su_to;
	size_t			 su_n;
	size_t			 su_alerts;
	int			 su_fail;
};

/* One search's row of the summary (only searches with something to say). */
static int
digest_summary_one(void *arg, struct search *s)
{
	struct digest_summary	*su = arg;
	struct alert_query	 q;
	struct digest_week	 w;
	struct search_state	 st;
	uint64_t		 next;
	int			 failed;

	if (su->su_n >= DIGEST_SUMMARY_SEARCHES)
		return (0);
	memset(&q, 0, sizeof q);
	q.aq_state = -1;
	q.aq_search = s->s_id;
	q.aq_limit = DIGEST_SUMMARY_SCAN;
	q.aq_max_scan = DIGEST_SUMMARY_SCAN;
	memset(&w, 0, sizeof w);
	w.w_from = su->su_from;
	w.w_to = su->su_to;
	if (alert_list(su->su_txn, &q, digest_week_cb, &w, &next) == -1 ||
	    search_state_load(su->su_txn, s->s_id, &st) == -1) {
		su->su_fail = 1;
		return (0);
	}
	failed = st.ss_last_failure >= su->su_from;
	if (w.w_created > 0 || w.w_open > 0 || failed) {
		yajl_gen_map_open(su->su_gen);
		jgen_kint(su->su_gen, "id", (int64_t)s->s_id);
		jgen_kstr(su->su_gen, "name", s->s_name);
		jgen_kstr(su->su_gen, "priority", s->s_priority);
		jgen_kint(su->su_gen, "alerts", (int64_t)w.w_created);
		jgen_kint(su->su_gen, "open", (int64_t)w.w_open);
		jgen_str(su->su_gen, "partial");
		yajl_gen_bool(su->su_gen, next != 0);
		jgen_str(su->su_gen, "failing");
		yajl_gen_bool(su->su_gen, st.ss_failing != 0);
		jgen_str(su->su_gen, "last_failure");
		if (failed)
			jgen_time(su->su_gen, st.ss_last_failure);
		else
			jgen_null(su->su_gen);
		yajl_gen_map_close(su->su_gen);
		su->su_n++;
		su->su_alerts += (size_t)w.w_created;
	}
	search_state_clear(&st);
	return (0);
}

/* The weekly summaries that are due. */
static int
digest_weekly(struct digest *dg, struct store_txn *txn)
{
	const struct config		*cfg = dg->dg_env->re_cfg;
	const struct config_target	*ct;
	struct search_target		 st;
	struct outbox_digest		 od;
	struct digest_summary		 su;
	struct buf			 key = BUF_INIT, sum = BUF_INIT;
	const void			*v;
	size_t				 i, vlen;
	int64_t				 week = digest_week_start(dg->dg_now);
	uint8_t				 be[8];
	char				*eid;
	int				 rc, ret = -1;

	for (i = 0; i < cfg->c_nweekly; i++) {
		if ((ct = config_target(cfg, cfg->c_weekly[i])) == NULL)
			continue;
		buf_reset(&key);
		buf_printf(&key, "digest_weekly:%s", cfg->c_weekly[i]);
		rc = store_get(txn, STORE_META, key.b_data, key.b_len, &v,
		    &vlen);
		if (rc == -1)
			goto out;
		if (rc == 0 && vlen == 8 &&
		    (int64_t)util_be64_get(v) >= week)
			continue;	/* sent for this week */
		util_be64_put(be, (uint64_t)week);
		if (store_put(txn, STORE_META, key.b_data, key.b_len, be,
		    sizeof be) == -1)
			goto out;
		if (rc == 1 || dg->dg_env->re_outbox == NULL)
			continue;	/* new target: from next week on */
		memset(&su, 0, sizeof su);
		su.su_txn = txn;
		su.su_gen = jgen_new();
		su.su_from = week - DIGEST_WEEK_MS;
		su.su_to = week;
		yajl_gen_array_open(su.su_gen);
		searches_each(dg->dg_searches, 0, digest_summary_one, &su);
		yajl_gen_array_close(su.su_gen);
		buf_reset(&sum);
		jgen_take(su.su_gen, &sum);
		yajl_gen_free(su.su_gen);
		if (su.su_fail)
			goto out;
		memset(&st, 0, sizeof st);
		st.st_name = ct->ct_name;
		st.st_type = ct->ct_type;
		st.st_params = json_new(JSON_OBJECT);
		memset(&od, 0, sizeof od);
		eid = xprintf("%s-summary-%s-%lld",
		    store_instance(dg->dg_env->re_store), ct->ct_name,
		    (long long)(week / 1000));
		od.od_event_id = eid;
		od.od_period = "weekly";
		od.od_from = su.su_from;
		od.od_to = su.su_to;
		od.od_count = su.su_alerts;
		rc = outbox_summary_job(dg->dg_env->re_outbox, txn, &st, &od,
		    sum.b_data);
		free(eid);
		json_free(st.st_params);
		if (rc == -1)
			goto out;
		dg->dg_jobs++;
	}
	ret = 0;
out:
	buf_free(&key);
	buf_free(&sum);
	return (ret);
}

/* The pass. */
static int
digest_apply(struct store_txn *txn, void *arg)
{
	struct digest	*dg = arg;

	dg->dg_jobs = 0;
	dg->dg_dropped = 0;
	dg->dg_more = 0;
	if (dg->dg_freeing)
		return (0);	/* stopped: the searches may be gone */
	if (digest_pending(dg, txn) == -1 || digest_weekly(dg, txn) == -1) {
		store_fail(txn, "digest: could not write the digests");
		return (-1);
	}
	return (0);
}

/* The pass is committed (or failed). */
static void
digest_done(void *arg, int ok, const char *err)
{
	struct digest	*dg = arg;

	dg->dg_busy = 0;
	if (dg->dg_freeing) {
		digest_destroy(dg);
		return;
	}
	if (!ok) {
		log_warnx("%s", err != NULL ? err : "digest: failed");
		digest_arm(dg, DIGEST_EVERY);
		return;
	}
	if (dg->dg_dropped > 0)
		log_info("digest: %zu pending alert%s of gone searches or "
		    "targets dropped", dg->dg_dropped,
		    dg->dg_dropped == 1 ? "" : "s");
	if (dg->dg_jobs > 0) {
		dg->dg_count += dg->dg_jobs;
		log_info("digest: %zu digest%s written", dg->dg_jobs,
		    dg->dg_jobs == 1 ? "" : "s");
		if (dg->dg_env->re_outbox != NULL)
			outbox_kick(dg->dg_env->re_outbox);
	}
	if (!dg->dg_more)
		dg->dg_checked = digest_period_start(dg->dg_now,
		    SEARCH_DIGEST_HOURLY);
	digest_arm(dg, dg->dg_more ? 1 : DIGEST_EVERY);
}

/* Timer: start a pass when the hour has changed. */
static void
digest_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct digest	*dg = arg;

	(void)fd;
	(void)ev;
	if (dg->dg_busy)
		return;
	dg->dg_now = util_now_ms();
	if (digest_period_start(dg->dg_now, SEARCH_DIGEST_HOURLY) ==
	    dg->dg_checked) {
		digest_arm(dg, DIGEST_EVERY);
		return;
	}
	dg->dg_busy = 1;
	store_write(dg->dg_env->re_store, digest_apply, digest_done, dg);
}
