/*
 * src_alert.c -- the "alert" search type (A8): a search over 411's own
 * alerts, e.g. "more than 10 high alerts left new for an hour".
 *
 *   {"type": "alert", "alerts": {"state": "new", "priority": ["high"],
 *    "search": [3, 4], "older_than": "1h"}, "result": "count",
 *    "threshold": [11, null], "schedule": {"every": "5m"}}
 *
 * Each matching alert becomes one record (alert_id, search_id, state,
 * priority, assignee, escalated, age_s, time, content) that goes through
 * the search's filters like any hit.  The alerts of the search itself are
 * never matched (no alerts about alerts about alerts).  At most
 * ALERTSRC_SCAN_MAX alerts are looked at per run, newest first, through
 * the state or search index when the query names exactly one.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "alert.h"
#include "json.h"
#include "record.h"
#include "run.h"
#include "search.h"
#include "src.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define ALERTSRC_SCAN_MAX	100000
#define ALERTSRC_LIST_MAX	64	/* values in one list */

struct alertsrc {
	struct run	 *as_run;
	struct event	 *as_ev;
	uint64_t	  as_self;
	int		  as_states[ALERT_NSTATES];	/* 1 = wanted */
	int		  as_anystate;
	const struct json *as_prio;	/* NULL: any (borrowed from s_def) */
	uint64_t	  as_search[ALERTSRC_LIST_MAX];
	size_t		  as_nsearch;
	int64_t		  as_older_ms;	/* 0: any age */
	int64_t		  as_now;
	struct record	**as_recs;
	size_t		  as_n;
	size_t		  as_cap;
	size_t		  as_scanned;
};

static int	alertsrc_validate(const struct json *, const struct config *,
		    struct search_err *);
static int	alertsrc_start(struct run *, char *, size_t);
static void	alertsrc_cancel(struct run *);

const struct src_ops src_alert_ops = {
	SEARCH_ALERT, alertsrc_validate, alertsrc_start, alertsrc_cancel
};

static const char *const alertsrc_foreign[] = {
	"source", "query", "query_dsl", "index", "host", "port", "url",
	"method", "expect_status", "match", "max_latency", "cert_expiry_days",
	"ca_file", "above", "below", NULL
};

static int
alertsrc_fail(struct search_err *err, const char *field, const char *msg)
{
	snprintf(err->se_field, sizeof err->se_field, "%s", field);
	snprintf(err->se_message, sizeof err->se_message, "%s", msg);
	return (-1);
}

/*
 * Check (and, with as != NULL, load) the "alerts" object.  Values may be
 * one or a list.
 */
static int
alertsrc_parse(const struct json *def, struct alertsrc *as,
    struct search_err *err)
{
	const struct json	*q, *v, *x;
	enum alert_state	 st;
	const char		*e;
	int64_t			 n;
	size_t			 i, cnt;

	if ((q = json_get(def, "alerts")) == NULL || q->j_type == JSON_NULL) {
		if (as != NULL)
			as->as_anystate = 1;
		return (0);
	}
	if (q->j_type != JSON_OBJECT)
		return (alertsrc_fail(err, "alerts", "must be an object: "
		    "{\"state\", \"priority\", \"search\", \"older_than\"}"));
	for (i = 0; i < q->j_u.obj.n; i++) {
		const char *k = q->j_u.obj.m[i].m_key;

		if (strcmp(k, "state") != 0 && strcmp(k, "priority") != 0 &&
		    strcmp(k, "search") != 0 && strcmp(k, "older_than") != 0) {
			snprintf(err->se_field, sizeof err->se_field,
			    "alerts.%s", k);
			snprintf(err->se_message, sizeof err->se_message,
			    "unknown field");
			return (-1);
		}
	}
	/* state */
	if ((v = json_get(q, "state")) == NULL) {
		if (as != NULL)
			as->as_anystate = 1;
	} else {
		cnt = v->j_type == JSON_ARRAY ? v->j_u.arr.n : 1;
		if (cnt == 0 || cnt > ALERTSRC_LIST_MAX)
			return (alertsrc_fail(err, "alerts.state", "give 1 "
			    "to 64 states"));
		for (i = 0; i < cnt; i++) {
			x = v->j_type == JSON_ARRAY ? v->j_u.arr.v[i] : v;
			if (json_str(x) == NULL ||
			    alert_state_parse(json_str(x), &st) == -1)
				return (alertsrc_fail(err, "alerts.state",
				    "not a state: new, in_progress or "
				    "resolved"));
			if (as != NULL)
				as->as_states[st] = 1;
		}
	}
	/* priority */
	if ((v = json_get(q, "priority")) != NULL) {
		cnt = v->j_type == JSON_ARRAY ? v->j_u.arr.n : 1;
		if (cnt == 0 || cnt > ALERTSRC_LIST_MAX)
			return (alertsrc_fail(err, "alerts.priority", "give 1 "
			    "to 64 priorities"));
		for (i = 0; i < cnt; i++) {
			x = v->j_type == JSON_ARRAY ? v->j_u.arr.v[i] : v;
			if (json_str(x) == NULL ||
			    (strcmp(json_str(x), "low") != 0 &&
			    strcmp(json_str(x), "medium") != 0 &&
			    strcmp(json_str(x), "high") != 0 &&
			    strcmp(json_str(x), "critical") != 0))
				return (alertsrc_fail(err, "alerts.priority",
				    "not a priority: low, medium, high or "
				    "critical"));
		}
		if (as != NULL)
			as->as_prio = v;
	}
	/* search */
	if ((v = json_get(q, "search")) != NULL) {
		cnt = v->j_type == JSON_ARRAY ? v->j_u.arr.n : 1;
		if (cnt == 0 || cnt > ALERTSRC_LIST_MAX)
			return (alertsrc_fail(err, "alerts.search", "give 1 "
			    "to 64 search ids"));
		for (i = 0; i < cnt; i++) {
			x = v->j_type == JSON_ARRAY ? v->j_u.arr.v[i] : v;
			if (!json_int(x, &n) || n <= 0)
				return (alertsrc_fail(err, "alerts.search",
				    "not a search id"));
			if (as != NULL)
				as->as_search[as->as_nsearch++] = (uint64_t)n;
		}
	}
	/* older_than */
	if ((v = json_get(q, "older_than")) != NULL) {
		if (json_str(v) != NULL) {
			if (util_parse_duration_ms(json_str(v), &n, &e) == -1)
				return (alertsrc_fail(err, "alerts.older_than",
				    e));
		} else if (json_int(v, &n) && n >= 0)
			n *= 1000;
		else
			return (alertsrc_fail(err, "alerts.older_than",
			    "must be a duration such as \"1h\""));
		if (as != NULL)
			as->as_older_ms = n;
	}
	return (0);
}

static int
alertsrc_validate(const struct json *def, const struct config *cfg,
    struct search_err *err)
{
	if (src_refuse_keys(def, alertsrc_foreign, "alert", err) == -1)
		return (-1);
	return (alertsrc_parse(def, NULL, err));
}

/* Does a match the query (other than the index used)? */
static int
alertsrc_match(const struct alertsrc *as, const struct alert *a)
{
	size_t	 i, cnt;
	const struct json *x;

	if (a->a_search_id == as->as_self)
		return (0);
	if (!as->as_anystate && !as->as_states[a->a_state])
		return (0);
	if (as->as_nsearch > 0) {
		for (i = 0; i < as->as_nsearch; i++)
			if (as->as_search[i] == a->a_search_id)
				break;
		if (i == as->as_nsearch)
			return (0);
	}
	if (as->as_prio != NULL) {
		cnt = as->as_prio->j_type == JSON_ARRAY ?
		    as->as_prio->j_u.arr.n : 1;
		for (i = 0; i < cnt; i++) {
			x = as->as_prio->j_type == JSON_ARRAY ?
			    as->as_prio->j_u.arr.v[i] : as->as_prio;
			if (strcmp(json_str(x), a->a_priority) == 0)
				break;
		}
		if (i == cnt)
			return (0);
	}
	if (as->as_older_ms > 0 && as->as_now - a->a_created < as->as_older_ms)
		return (0);
	return (1);
}

/* One listed alert: a record when it matches. */
static void
alertsrc_one(void *arg, const struct alert *a)
{
	struct alertsrc	*as = arg;
	struct record	*rec;
	char		 t[40];

	as->as_scanned++;
	if (!alertsrc_match(as, a))
		return;
	rec = record_new();
	record_add_int(rec, "alert_id", (int64_t)a->a_id);
	record_add_int(rec, "search_id", (int64_t)a->a_search_id);
	record_add_str(rec, "state", alert_state_name(a->a_state),
	    strlen(alert_state_name(a->a_state)));
	record_add_str(rec, "priority", a->a_priority, strlen(a->a_priority));
	if (a->a_assignee != NULL)
		record_add_str(rec, "assignee", a->a_assignee,
		    strlen(a->a_assignee));
	record_add(rec, "escalated", 9, a->a_escalated ? "true" : "false",
	    a->a_escalated ? 4 : 5);
	record_add_int(rec, "age_s", (as->as_now - a->a_created) / 1000);
	util_fmt_time(a->a_time, t, sizeof t);
	record_add_str(rec, "time", t, strlen(t));
	record_add(rec, "content", 7, a->a_content, a->a_content_len);
	rec->r_time = a->a_created;
	if (as->as_n == as->as_cap) {
		as->as_cap = as->as_cap == 0 ? 64 : as->as_cap * 2;
		as->as_recs = xreallocarray(as->as_recs, as->as_cap,
		    sizeof *as->as_recs);
	}
	as->as_recs[as->as_n++] = rec;
}

static void
alertsrc_free(struct alertsrc *as)
{
	size_t	 i;

	if (as == NULL)
		return;
	for (i = 0; i < as->as_n; i++)
		record_free(as->as_recs[i]);
	free(as->as_recs);
	if (as->as_ev != NULL)
		event_free(as->as_ev);
	free(as);
}

/* From the loop: read the alerts (one short read), then hand them over. */
static void
alertsrc_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct alertsrc		*as = arg;
	struct run		*r = as->as_run;
	struct alert_query	 q;
	struct store_txn	*txn;
	uint64_t		 next;
	size_t			 i, nstates = 0;
	int			 st = -1, rc;

	for (i = 0; i < ALERT_NSTATES; i++) {
		if (as->as_states[i]) {
			nstates++;
			st = (int)i;
		}
	}
	memset(&q, 0, sizeof q);
	q.aq_state = !as->as_anystate && nstates == 1 ? st : -1;
	q.aq_search = as->as_nsearch == 1 ? as->as_search[0] : 0;
	q.aq_limit = ALERTSRC_SCAN_MAX;
	if ((txn = store_read(run_env(r)->re_store)) == NULL)
		rc = -1;
	else {
		rc = alert_list(txn, &q, alertsrc_one, as, &next);
		store_done(txn);
	}
	if (rc == -1) {
		run_set_driver(r, NULL);
		alertsrc_free(as);
		run_finish(r, "could not read the alerts", 1, NULL);
		return;
	}
	if (next != 0)
		run_warn(r, "looked at the newest 100000 alerts only");
	for (i = 0; i < as->as_n; i++) {
		(void)run_record(r, as->as_recs[i]);
		as->as_recs[i] = NULL;
	}
	as->as_n = 0;
	run_set_driver(r, NULL);
	alertsrc_free(as);
	run_finish(r, NULL, 0, NULL);
}

static int
alertsrc_start(struct run *r, char *err, size_t errlen)
{
	const struct search	*s = run_search(r);
	struct alertsrc		*as;
	struct search_err	 serr;

	as = xcalloc(1, sizeof *as);
	memset(&serr, 0, sizeof serr);
	if (alertsrc_parse(s->s_def, as, &serr) == -1) {
		snprintf(err, errlen, "%s: %s", serr.se_field,
		    serr.se_message);
		alertsrc_free(as);
		return (-1);
	}
	as->as_run = r;
	as->as_self = s->s_id;
	as->as_now = util_now_ms();
	as->as_ev = event_new(run_env(r)->re_base, -1, 0, alertsrc_cb, as);
	run_set_driver(r, as);
	event_active(as->as_ev, EV_TIMEOUT, 0);
	return (0);
}

static void
alertsrc_cancel(struct run *r)
{
	alertsrc_free(run_driver(r));
	run_set_driver(r, NULL);
}
