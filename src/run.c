/*
 * run.c -- one run of a search over one window.
 *
 * The data path of a run: the driver hands records to run_record(); each
 * goes through the filter chain at once and, if kept, becomes an alert
 * held by the run (at most the search's max_alerts; past that the run only
 * counts).  run_finish() applies the threshold and makes the count alert
 * of "count" and "no_results" searches, then the run commits through the
 * store's group commit: alerts, filter state, outbox events, the job
 * record and the search state (checkpoint) in one transaction.  The done
 * callback runs after the commit, from the loop, never from run_start.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "alert.h"
#include "buf.h"
#include "config.h"
#include "filter.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "record.h"
#include "run.h"
#include "search.h"
#include "silence.h"
#include "sources.h"
#include "src.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define RUN_TRACE_MAX	1000	/* trace entries kept by a dry run */
#define RUN_WARN_MAX	8

struct run {
	struct run_env		*r_env;
	struct search		*r_search;
	struct source_state	*r_source;
	int64_t			 r_from;
	int64_t			 r_to;
	enum run_mode		 r_mode;
	enum run_state		 r_state;
	const struct src_ops	*r_ops;
	void			*r_driver;
	struct filter_chain	*r_chain;
	struct fstate		*r_fstate;

	struct alert		**r_alerts;
	size_t			 r_nalerts;
	size_t			 r_alerts_cap;
	uint64_t		 r_hits;	/* records from the source */
	uint64_t		 r_dropped;	/* dropped by filters */
	uint64_t		 r_total;	/* the source's count */
	int			 r_total_known;
	int			 r_total_exact;
	uint64_t		 r_not_alerted;	/* kept, past the cap */
	int			 r_truncated;
	int			 r_threshold_met;

	char			*r_error;
	int			 r_retryable;
	char			*r_retry_after;
	char			*r_warnings[RUN_WARN_MAX];
	size_t			 r_nwarnings;

	int64_t			 r_started;	/* ms */
	int64_t			 r_finished;	/* ms */
	int64_t			 r_now;		/* ms, the run's clock */
	uint64_t		 r_job_id;
	int			 r_finish_called;
	int			 r_discarded;	/* search gone at commit */

	struct event		*r_timeout;
	struct event		*r_defer;
	run_done_cb		 r_done;
	void			*r_arg;

	struct buf		 r_trace;	/* dry run: JSON entries */
	size_t			 r_ntrace;
	size_t			 r_trace_dropped;
};

static void	run_timeout_cb(evutil_socket_t, short, void *);
static void	run_abort_class(struct run *, const char *, int);
static void	run_defer_cb(evutil_socket_t, short, void *);
static void	run_trace_cb(void *, long, size_t, const char *,
		    const char *, const char *);
static void	run_batch_done(void *, struct filter_batch *);
static void	run_conclude(struct run *);
static void	run_alert_record(struct run *, struct record *);
static int	run_apply(struct store_txn *, void *);
static void	run_committed(void *, int, const char *);
static void	run_complete(struct run *);
static void	run_keep(struct run *, struct alert *);
static void	run_set_url(struct run *, struct alert *);

/* A run of s over [from, to) ms. */
struct run *
run_new(struct run_env *env, struct search *s, int64_t from, int64_t to,
    enum run_mode mode)
{
	struct run	*r;

	r = xcalloc(1, sizeof *r);
	r->r_env = env;
	r->r_search = search_ref(s);
	r->r_from = from;
	r->r_to = to;
	r->r_mode = mode;
	r->r_state = RUN_PENDING;
	if (env->re_sources != NULL)
		r->r_source = sources_get(env->re_sources, s->s_source);
	return (r);
}

/* Free a run that is over (or never started); accepts NULL. */
void
run_free(struct run *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	if (r->r_state == RUN_RUNNING && !r->r_finish_called &&
	    r->r_ops != NULL && r->r_ops->so_cancel != NULL)
		r->r_ops->so_cancel(r);
	if (r->r_timeout != NULL)
		event_free(r->r_timeout);
	if (r->r_defer != NULL)
		event_free(r->r_defer);
	for (i = 0; i < r->r_nalerts; i++)
		alert_free(r->r_alerts[i]);
	free(r->r_alerts);
	for (i = 0; i < r->r_nwarnings; i++)
		free(r->r_warnings[i]);
	filter_chain_free(r->r_chain);
	fstate_free(r->r_fstate);
	free(r->r_error);
	free(r->r_retry_after);
	buf_free(&r->r_trace);
	search_unref(r->r_search);
	free(r);
}

/* Start it; done is called exactly once, from a later loop turn. */
void
run_start(struct run *r, run_done_cb done, void *arg)
{
	const struct config_source	*cs;
	struct filter_env		 fe;
	struct timeval			 tv;
	int64_t				 timeout;
	char				 err[256];

	r->r_done = done;
	r->r_arg = arg;
	r->r_state = RUN_RUNNING;
	r->r_started = r->r_now = util_now_ms();
	r->r_defer = evtimer_new(r->r_env->re_base, run_defer_cb, r);
	memset(&fe, 0, sizeof fe);
	fe.fe_base = r->r_env->re_base;
	fe.fe_dns = r->r_env->re_dns;
	fe.fe_now = r->r_now;
	fe.fe_search = r->r_search->s_id;
	fe.fe_created = r->r_search->s_created;
	fe.fe_updated = r->r_search->s_updated;
	fe.fe_from = r->r_from;
	fe.fe_to = r->r_to;
	fe.fe_dry = r->r_mode == RUN_DRY;
	r->r_chain = filter_chain_new(r->r_search, &fe);
	r->r_fstate = fstate_new(r->r_env->re_store, r->r_search->s_id);

	timeout = r->r_search->s_timeout;
	if (timeout == 0) {
		cs = r->r_source != NULL ? r->r_source->ss_cfg : NULL;
		timeout = cs != NULL ? cs->cs_timeout : CONFIG_SRC_TIMEOUT;
	}
	r->r_timeout = evtimer_new(r->r_env->re_base, run_timeout_cb, r);
	tv.tv_sec = timeout;
	tv.tv_usec = 0;
	evtimer_add(r->r_timeout, &tv);

	if ((r->r_ops = src_find(r->r_search->s_type)) == NULL) {
		snprintf(err, sizeof err, "search type %s has no driver",
		    search_type_name(r->r_search->s_type));
		goto fail;
	}
	if (r->r_ops->so_start(r, err, sizeof err) == -1)
		goto fail;
	return;
fail:
	/* run_finish commits through the store: done comes later. */
	r->r_ops = NULL;
	run_finish(r, err, SOURCE_FAIL_FINAL, NULL);
}

/* The run took longer than its timeout. */
static void
run_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct run	*r = arg;
	char		 msg[64];

	snprintf(msg, sizeof msg, "timed out after %llds",
	    (long long)((util_now_ms() - r->r_started + 500) / 1000));
	/* A source that does not answer may answer the next time. */
	run_abort_class(r, msg, SOURCE_FAIL_SLOW);
}

/* Stop it now, the failure of class fail (enum source_fail). */
static void
run_abort_class(struct run *r, const char *reason, int fail)
{
	if (r->r_finish_called || r->r_state != RUN_RUNNING)
		return;
	if (r->r_ops != NULL && r->r_ops->so_cancel != NULL)
		r->r_ops->so_cancel(r);
	run_finish(r, reason, fail, NULL);
}

/* Stop it now: the driver is cancelled and the run fails with reason. */
void
run_abort(struct run *r, const char *reason)
{
	run_abort_class(r, reason, SOURCE_FAIL_RETRY);
}

/* Dry-run trace: one JSON entry per filter decision. */
static void
run_trace_cb(void *arg, long rec, size_t pos, const char *type,
    const char *action, const char *why)
{
	struct run	*r = arg;
	yajl_gen	 g;

	if (r->r_ntrace >= RUN_TRACE_MAX) {
		r->r_trace_dropped++;
		return;
	}
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_str(g, "record");
	if (rec >= 0)
		jgen_int(g, rec);
	else
		jgen_null(g);
	jgen_kint(g, "filter", (int64_t)pos);
	jgen_kstr(g, "type", type);
	jgen_kstr(g, "action", action);
	jgen_kstr(g, "reason", why);
	yajl_gen_map_close(g);
	if (r->r_ntrace > 0)
		buf_addc(&r->r_trace, ',');
	jgen_take(g, &r->r_trace);
	yajl_gen_free(g);
	r->r_ntrace++;
}

/* Keep an alert. */
static void
run_keep(struct run *r, struct alert *a)
{
	if (r->r_nalerts == r->r_alerts_cap) {
		r->r_alerts_cap = r->r_alerts_cap == 0 ? 16 :
		    r->r_alerts_cap * 2;
		r->r_alerts = xreallocarray(r->r_alerts, r->r_alerts_cap,
		    sizeof *r->r_alerts);
	}
	run_set_url(r, a);
	r->r_alerts[r->r_nalerts++] = a;
}

/*
 * A link to the document in Kibana / OpenSearch Dashboards, if set up and
 * the driver gave none.
 */
static void
run_set_url(struct run *r, struct alert *a)
{
	const struct config_source	*cs;
	const char			*slash, *pattern;
	struct buf			 b = BUF_INIT;

	if (a->a_source_url != NULL || a->a_source_id == NULL ||
	    r->r_source == NULL)
		return;
	cs = r->r_source->ss_cfg;
	if (cs->cs_link_url == NULL ||
	    (slash = strchr(a->a_source_id, '/')) == NULL)
		return;
	/* <link_url>/app/discover#/doc/<pattern>/<index>?id=<id> */
	pattern = r->r_search->s_index != NULL ? r->r_search->s_index :
	    cs->cs_index;
	buf_printf(&b, "%s/app/discover#/doc/", cs->cs_link_url);
	util_urlencode(&b, pattern, strlen(pattern), "*");
	buf_addc(&b, '/');
	util_urlencode(&b, a->a_source_id, slash - a->a_source_id, "*");
	buf_adds(&b, "?id=");
	util_urlencode(&b, slash + 1, strlen(slash + 1), "*");
	a->a_source_url = buf_steal(&b, NULL);
}

/* A record from the source (takes ownership). */
int
run_record(struct run *r, struct record *rec)
{
	struct alert	*a;

	if (r->r_finish_called) {
		record_free(rec);
		return (1);
	}
	r->r_hits++;
	if (r->r_env->re_metrics != NULL)
		r->r_env->re_metrics->m_hits++;
	if (r->r_search->s_result != RESULT_FIELDS) {
		record_free(rec);
		return (0);
	}
	if (r->r_nalerts >= (size_t)r->r_search->s_max_alerts) {
		r->r_truncated = 1;
		r->r_not_alerted++;
		record_free(rec);
		/* Keep reading: the window is processed whole and counted. */
		return (0);
	}
	/* What filters add later is theirs, outside "fields". */
	rec->r_nsrc = record_count(rec);
	switch (filter_chain_record(r->r_chain, r->r_fstate, rec,
	    r->r_mode == RUN_DRY ? run_trace_cb : NULL, r)) {
	case FILTER_HELD:
		/* The chain has it, for a filter on the whole run. */
		return (0);
	case FILTER_KEEP:
		break;
	default:
		r->r_dropped++;
		if (r->r_env->re_metrics != NULL)
			r->r_env->re_metrics->m_dropped++;
		record_free(rec);
		return (0);
	}
	a = alert_from_record(r->r_search, rec, r->r_now);
	record_free(rec);
	run_keep(r, a);
	return (0);
}

/* The source's count of matches for the window. */
void
run_total(struct run *r, uint64_t total, int exact)
{
	r->r_total = total;
	r->r_total_known = 1;
	r->r_total_exact = exact;
}

/* A warning worth keeping in the job. */
void
run_warn(struct run *r, const char *msg)
{
	if (r->r_nwarnings < RUN_WARN_MAX)
		r->r_warnings[r->r_nwarnings++] = xstrdup(msg);
}

/* The count alert of "count" and "no_results" searches. */
static void
run_count_alert(struct run *r, uint64_t count)
{
	struct record	*rec;

	rec = record_new();
	record_add_int(rec, "count", (int64_t)count);
	rec->r_time = r->r_to;
	switch (filter_chain_record(r->r_chain, r->r_fstate, rec,
	    r->r_mode == RUN_DRY ? run_trace_cb : NULL, r)) {
	case FILTER_HELD:
		return;
	case FILTER_KEEP:
		run_alert_record(r, rec);
		break;
	default:
		r->r_dropped++;
		break;
	}
	record_free(rec);
}

/*
 * The alert of a record that passed the whole chain (not taken); the cap
 * applies.  A count search's alert carries the count alone.
 */
static void
run_alert_record(struct run *r, struct record *rec)
{
	struct alert	*a;
	char		 content[64];
	uint64_t	 count;

	if (r->r_nalerts >= (size_t)r->r_search->s_max_alerts) {
		r->r_truncated = 1;
		r->r_not_alerted++;
		return;
	}
	a = alert_from_record(r->r_search, rec, r->r_now);
	if (r->r_search->s_result != RESULT_FIELDS) {
		count = r->r_total_known ? r->r_total : r->r_hits;
		free(a->a_content);
		a->a_content_len = snprintf(content, sizeof content,
		    "{\"count\":%llu}", (unsigned long long)count);
		a->a_content = xstrdup(content);
		a->a_count = count;
	}
	run_keep(r, a);
}

/* The alert that says a run hit its cap. */
static void
run_truncation_alert(struct run *r)
{
	struct alert	*a;
	struct buf	 b = BUF_INIT;
	char		 from[UTIL_TIMELEN], to[UTIL_TIMELEN];

	util_fmt_time(r->r_from, from, sizeof from);
	util_fmt_time(r->r_to, to, sizeof to);
	a = xcalloc(1, sizeof *a);
	a->a_search_id = r->r_search->s_id;
	a->a_time = r->r_to;
	a->a_created = a->a_updated = r->r_now;
	a->a_state = ALERT_NEW;
	a->a_priority = xstrdup(r->r_search->s_priority);
	if (r->r_search->s_assignee != NULL)
		a->a_assignee = xstrdup(r->r_search->s_assignee);
	a->a_count = r->r_not_alerted;
	buf_printf(&b, "{\"truncated\":true,\"max_alerts\":%d,"
	    "\"hits_not_alerted\":%llu,\"window_from\":\"%s\","
	    "\"window_to\":\"%s\",\"message\":\"this run found more than "
	    "max_alerts alerts; the rest were not alerted\"}",
	    r->r_search->s_max_alerts, (unsigned long long)r->r_not_alerted,
	    from, to);
	a->a_content = buf_steal(&b, &a->a_content_len);
	alert_hash(a);
	run_keep(r, a);
}

/* The driver is done. */
void
run_finish(struct run *r, const char *error, int retryable,
    const char *retry_after)
{
	uint64_t	 count;
	size_t		 i;

	if (r->r_finish_called)
		return;
	r->r_finish_called = 1;
	r->r_finished = util_now_ms();
	if (r->r_timeout != NULL)
		evtimer_del(r->r_timeout);
	if (r->r_source != NULL)
		sources_result(r->r_source, error == NULL, retryable, error,
		    (r->r_finished - r->r_started) * 1000);
	if (error != NULL) {
		r->r_state = RUN_FAILED;
		free(r->r_error);
		r->r_error = xstrdup(error);
		r->r_retryable = retryable;
		if (retry_after != NULL)
			r->r_retry_after = xstrdup(retry_after);
		for (i = 0; i < r->r_nalerts; i++)
			alert_free(r->r_alerts[i]);
		r->r_nalerts = 0;
		run_conclude(r);
		return;
	}
	r->r_state = RUN_SUCCEEDED;
	count = r->r_total_known ? r->r_total : r->r_hits;
	r->r_threshold_met = search_threshold_ok(r->r_search, (double)count);
	if (!r->r_threshold_met) {
		for (i = 0; i < r->r_nalerts; i++)
			alert_free(r->r_alerts[i]);
		r->r_nalerts = 0;
		r->r_truncated = 0;
		run_conclude(r);
		return;
	}
	if (r->r_search->s_result != RESULT_FIELDS)
		run_count_alert(r, count);
	if (filter_chain_has_batch(r->r_chain)) {
		/* The filters on the whole run; then run_batch_done. */
		filter_chain_finish(r->r_chain, r->r_fstate,
		    r->r_mode == RUN_DRY ? run_trace_cb : NULL, r,
		    run_batch_done, r);
		return;
	}
	run_conclude(r);
}

/* The batch filters are done: what passed them becomes alerts. */
static void
run_batch_done(void *arg, struct filter_batch *b)
{
	struct run	*r = arg;
	size_t		 i;

	for (i = 0; i < b->fb_n; i++)
		run_alert_record(r, b->fb_recs[i]);
	filter_batch_clear(b);
	run_conclude(r);
}

/* The end of a run's work: warnings, hashes, then the commit. */
static void
run_conclude(struct run *r)
{
	const char	*first;
	uint64_t	 n;
	size_t		 i;
	char		 msg[640];

	r->r_finished = util_now_ms();
	if (r->r_state == RUN_SUCCEEDED) {
		if ((n = filter_chain_errors(r->r_chain, &first)) > 0) {
			snprintf(msg, sizeof msg, "%llu filter error%s; the "
			    "first: %s", (unsigned long long)n,
			    n == 1 ? "" : "s", first);
			run_warn(r, msg);
		}
		if ((n = filter_chain_overflow(r->r_chain)) > 0) {
			snprintf(msg, sizeof msg, "%llu records past the "
			    "batch filters' limit were dropped",
			    (unsigned long long)n);
			run_warn(r, msg);
		}
		/* Hashed only now: most runs keep no alert. */
		for (i = 0; i < r->r_nalerts; i++)
			alert_hash(r->r_alerts[i]);
		if (r->r_truncated)
			run_truncation_alert(r);
	}
	if (r->r_mode == RUN_DRY) {
		event_active(r->r_defer, EV_TIMEOUT, 0);
		return;
	}
	store_write(r->r_env->re_store, run_apply, run_committed, r);
}

/* Done from a later loop turn (dry runs). */
static void
run_defer_cb(evutil_socket_t fd, short ev, void *arg)
{
	run_complete(arg);
}

/* Write the job record of r in txn. */
static int
run_put_job(struct store_txn *txn, struct run *r)
{
	uint8_t		 key[16];
	yajl_gen	 g;
	struct buf	 b = BUF_INIT;
	int		 rc;

	if ((r->r_job_id = store_next_id(txn, "job")) == 0)
		return (-1);
	g = jgen_new();
	run_gen_job(g, r);
	jgen_take(g, &b);
	yajl_gen_free(g);
	util_be64_put(key, r->r_search->s_id);
	util_be64_put(key + 8, r->r_job_id);
	rc = store_put(txn, STORE_JOBS, key, sizeof key, b.b_data, b.b_len);
	buf_free(&b);
	return (rc);
}

/*
 * search.failed and search.recovered (B7), decided after each scheduled
 * run: what was announced is brought in line with the search's state,
 * except while it flaps (its recent runs change state too often: nothing
 * is said until it settles) and at most one search.failed per
 * failure_event_every.  A failure never announced is never "recovered".
 */
static int
run_announce(struct run *r, struct store_txn *txn, struct outbox *ob,
    struct search_state *st)
{
	struct outbox_search_error	 se;
	int64_t				 every;
	double				 rate;

	st->ss_history = ((st->ss_history << 1) | (st->ss_failing ? 1 : 0)) &
	    ((1u << SEARCH_FLAP_RUNS) - 1);
	if (st->ss_nhistory < SEARCH_FLAP_RUNS)
		st->ss_nhistory++;
	rate = search_flap_rate(st->ss_history, st->ss_nhistory);
	if (!st->ss_flapping && st->ss_nhistory >= 5 &&
	    rate > SEARCH_FLAP_START) {
		st->ss_flapping = 1;
		log_warnx("search %llu is flapping (%.0f%% state changes): "
		    "its events wait until it settles",
		    (unsigned long long)r->r_search->s_id, rate * 100);
	} else if (st->ss_flapping && rate < SEARCH_FLAP_STOP)
		st->ss_flapping = 0;
	if (st->ss_flapping || ob == NULL)
		goto out;
	memset(&se, 0, sizeof se);
	se.se_from = r->r_from;
	se.se_to = r->r_to;
	se.se_since = st->ss_failing_since;
	if (st->ss_failing && !st->ss_announced) {
		every = r->r_env->re_cfg->c_failure_every * 1000;
		if (st->ss_failed_event_at != 0 &&
		    r->r_finished - st->ss_failed_event_at < every)
			goto out;	/* said recently: not again yet */
		se.se_message = st->ss_last_error;
		if (outbox_search_event(ob, txn, "search.failed", r->r_search,
		    &se) == -1)
			return (-1);
		st->ss_announced = 1;
		st->ss_failed_event_at = r->r_finished;
	} else if (!st->ss_failing && st->ss_announced) {
		se.se_message = "the search runs again";
		if (outbox_search_event(ob, txn, "search.recovered",
		    r->r_search, &se) == -1)
			return (-1);
		st->ss_announced = 0;
	}
out:
	if (!st->ss_failing)
		st->ss_failing_since = 0;
	return (0);
}

/* The commit: everything the run changes, in one transaction. */
static int
run_apply(struct store_txn *txn, void *arg)
{
	struct run			*r = arg;
	struct search_state		 st;
	struct outbox			*ob = r->r_env->re_outbox;
	uint8_t				 key[8];
	const void			*v;
	size_t				 vlen, i;
	int				 rc = -1;

	r->r_discarded = 0;
	util_be64_put(key, r->r_search->s_id);
	switch (store_get(txn, STORE_SEARCHES, key, sizeof key, &v, &vlen)) {
	case 1:
		/* Deleted while it ran: nothing to record. */
		r->r_discarded = 1;
		return (0);
	case -1:
		return (-1);
	}
	if (search_state_load(txn, r->r_search->s_id, &st) == -1)
		return (-1);
	st.ss_last_run = r->r_started;
	if (r->r_state == RUN_SUCCEEDED) {
		for (i = 0; i < r->r_nalerts; i++) {
			/*
			 * D6: an alert an active silence matches is stored,
			 * marked with the silence, and not announced.
			 */
			r->r_alerts[i]->a_silenced = r->r_env->re_silences !=
			    NULL ? silences_match(r->r_env->re_silences,
			    r->r_search, r->r_alerts[i], util_now_ms()) : 0;
			if (alert_insert(txn, r->r_alerts[i]) == -1)
				goto done;
			if (r->r_alerts[i]->a_silenced != 0)
				continue;
			if (ob != NULL && outbox_alert_event(ob, txn,
			    "alert.created", r->r_search, r->r_alerts[i]) == -1)
				goto done;
		}
		/* Filter state follows the alerts it decided. */
		if (r->r_threshold_met && fstate_apply(r->r_fstate, txn) == -1)
			goto done;
		if (r->r_mode == RUN_SCHEDULED) {
			st.ss_last_success = r->r_finished;
			if (r->r_to > st.ss_checkpoint)
				st.ss_checkpoint = r->r_to;
			free(st.ss_last_error);
			st.ss_last_error = NULL;
			st.ss_failing = 0;	/* failing_since: run_announce */
		}
	} else if (r->r_mode == RUN_SCHEDULED) {
		st.ss_last_failure = r->r_finished;
		free(st.ss_last_error);
		st.ss_last_error = xstrdup(r->r_error);
		if (!st.ss_failing) {
			st.ss_failing = 1;
			st.ss_failing_since = r->r_finished;
		}
	}
	if (r->r_mode == RUN_SCHEDULED && run_announce(r, txn, ob, &st) == -1)
		goto done;
	if (run_put_job(txn, r) == -1)
		goto done;
	st.ss_last_job = r->r_job_id;
	if (search_state_save(txn, r->r_search->s_id, &st) == -1)
		goto done;
	rc = 0;
done:
	search_state_clear(&st);
	return (rc);
}

/* The commit is over. */
static void
run_committed(void *arg, int ok, const char *err)
{
	struct run	*r = arg;
	char		 msg[512];

	if (!ok) {
		snprintf(msg, sizeof msg, "could not store the run: %s",
		    err != NULL ? err : "unknown error");
		log_warnx("search %llu: %s",
		    (unsigned long long)r->r_search->s_id, msg);
		free(r->r_error);
		r->r_error = xstrdup(msg);
		r->r_state = RUN_FAILED;
		r->r_retryable = SOURCE_FAIL_RETRY;
		if (r->r_env->re_metrics != NULL)
			r->r_env->re_metrics->m_commit_failures++;
	} else if (r->r_env->re_outbox != NULL)
		outbox_kick(r->r_env->re_outbox);
	run_complete(r);
}

/* Count and report. */
static void
run_complete(struct run *r)
{
	struct metrics	*m = r->r_env->re_metrics;

	if (m != NULL && r->r_mode != RUN_DRY) {
		if (r->r_state == RUN_SUCCEEDED) {
			m->m_runs_ok++;
			if (!r->r_discarded)
				m->m_alerts += r->r_nalerts;
		} else
			m->m_runs_failed++;
		if (r->r_truncated)
			m->m_runs_truncated++;
		m->m_run_us_sum += (r->r_finished - r->r_started) * 1000;
	}
	if (r->r_state == RUN_FAILED)
		log_debug("search %llu: run failed: %s",
		    (unsigned long long)r->r_search->s_id, r->r_error);
	r->r_done(r, r->r_arg);
}

/* A gap to record. */
struct run_gap {
	struct run_env	*g_env;
	struct search	*g_search;
	int64_t		 g_from;
	int64_t		 g_to;
};

/* Commit a gap: job record, event, checkpoint. */
static int
run_gap_apply(struct store_txn *txn, void *arg)
{
	struct run_gap			*gp = arg;
	struct search_state		 st;
	struct outbox_search_error	 se;
	uint8_t				 key[16];
	yajl_gen			 g;
	struct buf			 b = BUF_INIT, msg = BUF_INIT;
	char				 from[UTIL_TIMELEN], to[UTIL_TIMELEN];
	int				 rc = -1;

	util_be64_put(key, gp->g_search->s_id);
	if (store_get(txn, STORE_SEARCHES, key, 8, &(const void *){ NULL },
	    &(size_t){ 0 }) != 0)
		return (0);
	if (search_state_load(txn, gp->g_search->s_id, &st) == -1)
		return (-1);
	util_fmt_time(gp->g_from, from, sizeof from);
	util_fmt_time(gp->g_to, to, sizeof to);
	buf_printf(&msg, "windows from %s to %s were not run: the gap is "
	    "longer than catch_up", from, to);
	g = jgen_new();
	yajl_gen_map_open(g);
	if ((st.ss_last_job = store_next_id(txn, "job")) == 0)
		goto done;
	jgen_kint(g, "id", (int64_t)st.ss_last_job);
	jgen_kint(g, "search_id", (int64_t)gp->g_search->s_id);
	jgen_kstr(g, "mode", "scheduled");
	jgen_str(g, "window");
	yajl_gen_map_open(g);
	jgen_ktime(g, "from", gp->g_from);
	jgen_ktime(g, "to", gp->g_to);
	yajl_gen_map_close(g);
	jgen_ktime(g, "started", util_now_ms());
	jgen_ktime(g, "finished", util_now_ms());
	jgen_kint(g, "duration_ms", 0);
	jgen_kstr(g, "state", "skipped");
	jgen_kint(g, "hits", 0);
	jgen_kint(g, "alerts", 0);
	jgen_kstr(g, "error", msg.b_data);
	yajl_gen_map_close(g);
	jgen_take(g, &b);
	util_be64_put(key + 8, st.ss_last_job);
	if (store_put(txn, STORE_JOBS, key, sizeof key, b.b_data,
	    b.b_len) == -1)
		goto done;
	if (gp->g_to > st.ss_checkpoint)
		st.ss_checkpoint = gp->g_to;
	memset(&se, 0, sizeof se);
	se.se_message = msg.b_data;
	se.se_from = gp->g_from;
	se.se_to = gp->g_to;
	se.se_since = util_now_ms();
	se.se_gap = 1;
	if (gp->g_env->re_outbox != NULL && outbox_search_event(
	    gp->g_env->re_outbox, txn, "search.failed", gp->g_search,
	    &se) == -1)
		goto done;
	if (search_state_save(txn, gp->g_search->s_id, &st) == -1)
		goto done;
	rc = 0;
done:
	yajl_gen_free(g);
	buf_free(&b);
	buf_free(&msg);
	search_state_clear(&st);
	return (rc);
}

/* The gap is recorded (or not). */
static void
run_gap_done(void *arg, int ok, const char *err)
{
	struct run_gap	*gp = arg;

	if (!ok)
		log_warnx("search %llu: could not record a gap: %s",
		    (unsigned long long)gp->g_search->s_id, err);
	else if (gp->g_env->re_outbox != NULL)
		outbox_kick(gp->g_env->re_outbox);
	search_unref(gp->g_search);
	free(gp);
}

/* Record windows that will never run. */
void
run_gap(struct run_env *env, struct search *s, int64_t from, int64_t to)
{
	struct run_gap	*gp;

	if (env->re_store == NULL)
		return;
	gp = xcalloc(1, sizeof *gp);
	gp->g_env = env;
	gp->g_search = search_ref(s);
	gp->g_from = from;
	gp->g_to = to;
	store_write(env->re_store, run_gap_apply, run_gap_done, gp);
}

/* Accessors. */
struct search *
run_search(const struct run *r)
{
	return (r->r_search);
}

struct run_env *
run_env(const struct run *r)
{
	return (r->r_env);
}

struct source_state *
run_source(const struct run *r)
{
	return (r->r_source);
}

int64_t
run_from(const struct run *r)
{
	return (r->r_from);
}

int64_t
run_to(const struct run *r)
{
	return (r->r_to);
}

enum run_mode
run_mode(const struct run *r)
{
	return (r->r_mode);
}

enum run_state
run_state(const struct run *r)
{
	return (r->r_state);
}

const char *
run_error(const struct run *r)
{
	return (r->r_error);
}

uint64_t
run_hits(const struct run *r)
{
	return (r->r_hits);
}

size_t
run_nalerts(const struct run *r)
{
	return (r->r_nalerts);
}

uint64_t
run_job_id(const struct run *r)
{
	return (r->r_job_id);
}

int
run_retryable(const struct run *r)
{
	return (r->r_retryable);
}

const char *
run_retry_after(const struct run *r)
{
	return (r->r_retry_after);
}

void *
run_driver(const struct run *r)
{
	return (r->r_driver);
}

void
run_set_driver(struct run *r, void *d)
{
	r->r_driver = d;
}

/* Name of a mode. */
static const char *
run_mode_name(enum run_mode m)
{
	switch (m) {
	case RUN_SCHEDULED:
		return ("scheduled");
	case RUN_MANUAL:
		return ("manual");
	case RUN_DRY:
		return ("dry_run");
	case RUN_PUSH:
		return ("push");
	}
	return ("?");
}

/* The window and counts, shared by the job and dry-run forms. */
static void
run_gen_common(yajl_gen g, const struct run *r)
{
	size_t	 i;

	jgen_kint(g, "search_id", (int64_t)r->r_search->s_id);
	jgen_kstr(g, "mode", run_mode_name(r->r_mode));
	jgen_str(g, "window");
	yajl_gen_map_open(g);
	jgen_ktime(g, "from", r->r_from);
	jgen_ktime(g, "to", r->r_to);
	yajl_gen_map_close(g);
	jgen_ktime(g, "started", r->r_started);
	jgen_ktime(g, "finished", r->r_finished);
	jgen_kint(g, "duration_ms", r->r_finished - r->r_started);
	jgen_kstr(g, "state", r->r_state == RUN_SUCCEEDED ? "success" :
	    r->r_state == RUN_FAILED ? "failed" : "running");
	jgen_kint(g, "hits", (int64_t)r->r_hits);
	jgen_str(g, "total");
	if (r->r_total_known)
		jgen_int(g, (int64_t)r->r_total);
	else
		jgen_null(g);
	jgen_kint(g, "alerts", (int64_t)r->r_nalerts);
	jgen_kint(g, "dropped", (int64_t)r->r_dropped);
	jgen_kbool(g, "truncated", r->r_truncated);
	jgen_kint(g, "not_alerted", (int64_t)r->r_not_alerted);
	jgen_kstr(g, "error", r->r_error);
	jgen_str(g, "warnings");
	yajl_gen_array_open(g);
	for (i = 0; i < r->r_nwarnings; i++)
		jgen_str(g, r->r_warnings[i]);
	yajl_gen_array_close(g);
}

/* The job record JSON object. */
void
run_gen_job(yajl_gen g, const struct run *r)
{
	yajl_gen_map_open(g);
	jgen_kint(g, "id", (int64_t)r->r_job_id);
	run_gen_common(g, r);
	yajl_gen_map_close(g);
}

/* A dry run's answer. */
void
run_gen_dry(yajl_gen g, const struct run *r)
{
	size_t	 i;

	yajl_gen_map_open(g);
	jgen_kbool(g, "dry_run", r->r_mode == RUN_DRY);
	run_gen_common(g, r);
	jgen_str(g, "results");
	yajl_gen_array_open(g);
	for (i = 0; i < r->r_nalerts; i++)
		alert_gen(g, r->r_alerts[i]);
	yajl_gen_array_close(g);
	jgen_str(g, "trace");
	yajl_gen_array_open(g);
	if (r->r_trace.b_len > 0)
		jgen_raw(g, r->r_trace.b_data, r->r_trace.b_len);
	yajl_gen_array_close(g);
	jgen_kint(g, "trace_omitted", (int64_t)r->r_trace_dropped);
	yajl_gen_map_close(g);
}

/* Job pruning (job_retention). */
struct run_prune {
	int64_t		 p_cutoff;
	size_t		 p_max;
	size_t		 p_deleted;
	int		 p_more;
};

/* When a job record says it finished (ms), or -1. */
static int64_t
run_job_finished(const char *v, size_t vlen)
{
	static const char	 key[] = "\"finished\":\"";
	const char		*p, *end = v + vlen, *q;
	int64_t			 ms;

	for (p = v; p + sizeof key - 1 < end; p++) {
		if (memcmp(p, key, sizeof key - 1) != 0)
			continue;
		p += sizeof key - 1;
		if ((q = memchr(p, '"', end - p)) == NULL ||
		    util_parse_time_ms(p, q - p, &ms) == -1)
			return (-1);
		return (ms);
	}
	return (-1);
}

/*
 * Walk the jobs search by search; a search's jobs are in id order, which
 * is time order, so the walk leaves a search at its first young job.
 */
static int
run_prune_apply(struct store_txn *txn, void *arg)
{
	struct run_prune	*p = arg;
	struct store_cursor	*c;
	const void		*k, *v;
	size_t			 klen, vlen;
	uint8_t			 next[16];
	uint64_t		 search;
	int64_t			 fin;
	int			 rc;

	p->p_deleted = 0;
	p->p_more = 0;
	if ((c = store_cursor(txn, STORE_JOBS)) == NULL)
		return (-1);
	rc = store_cursor_seek(c, NULL, 0, &k, &klen, &v, &vlen);
	while (rc == 0) {
		if (klen != 16) {
			rc = store_cursor_next(c, &k, &klen, &v, &vlen);
			continue;
		}
		search = util_be64_get(k);
		fin = run_job_finished(v, vlen);
		if (fin != -1 && fin < p->p_cutoff) {
			if (p->p_deleted == p->p_max) {
				p->p_more = 1;
				break;
			}
			memcpy(next, k, sizeof next);	/* k dies with the entry */
			if (store_cursor_del(c) == -1) {
				store_cursor_free(c);
				return (-1);
			}
			p->p_deleted++;
			rc = store_cursor_seek(c, next, sizeof next, &k, &klen,
			    &v, &vlen);
			continue;
		}
		if (search == UINT64_MAX)
			break;
		util_be64_put(next, search + 1);
		memset(next + 8, 0, 8);
		rc = store_cursor_seek(c, next, sizeof next, &k, &klen, &v,
		    &vlen);
	}
	store_cursor_free(c);
	return (rc == -1 ? -1 : 0);
}

long
run_prune_jobs(struct run_env *env, int64_t cutoff, size_t max, int *more)
{
	struct run_prune	 p;
	char			 err[256];

	memset(&p, 0, sizeof p);
	p.p_cutoff = cutoff;
	p.p_max = max;
	*more = 0;
	if (store_update(env->re_store, run_prune_apply, &p, err,
	    sizeof err) == -1) {
		log_warnx("pruning old jobs: %s", err);
		return (-1);
	}
	*more = p.p_more;
	return ((long)p.p_deleted);
}
