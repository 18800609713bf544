/*
 * api_alerts.c -- /api/v1/alerts: the listing (filters, cursor paging),
 * the counts, one alert, its log, and the actions (D2), single and bulk.
 *
 *	GET  /api/v1/alerts		state, search, assignee, escalated,
 *					priority, tag, from, to, q, limit,
 *					cursor; state, search and priority
 *					may be repeated: either value
 *					(state=new&state=in_progress)
 *	GET  /api/v1/alerts/counts	by state and by priority (counters)
 *	GET  /api/v1/alerts/{id}	one alert
 *	GET  /api/v1/alerts/{id}/log	its log, oldest first, paged
 *	POST /api/v1/alerts/actions	{"ids", "action", ...}
 *
 * An action request is checked whole first (the body, every field, every
 * id, the searches a whitelist writes), then every alert changes in one
 * write transaction through the group commit: its log entry and its event
 * (alert.resolved for resolve, alert.updated otherwise; a delivery job
 * for send) go with it, so one bad id changes nothing.  A whitelist writes
 * the searches' hash filters first (each search its own new version, as
 * any search change), then the alerts.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "alert.h"
#include "api.h"
#include "api_int.h"
#include "buf.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "outbox.h"
#include "run.h"
#include "search.h"
#include "searches.h"
#include "store.h"
#include "users.h"
#include "util.h"
#include "xmalloc.h"

#define API_ALERT_IDS_MAX	1000	/* ids in one action */
#define API_ALERT_NOTE_MAX	4096	/* bytes of a note */
#define API_ALERT_NAME_MAX	200	/* assignee, target, tag, priority */
#define API_ALERT_Q_MAX		256	/* bytes of q */
#define API_ALERT_SCAN		100000	/* alerts one listing examines */
#define API_WHITELIST_DEFAULT	"30d"
#define API_WHITELIST_COMMENT	"whitelist (alert actions)"

enum api_act {
	ACT_ACKNOWLEDGE,
	ACT_RESOLVE,
	ACT_UNRESOLVE,
	ACT_ESCALATE,
	ACT_DEESCALATE,
	ACT_ASSIGN,
	ACT_UNASSIGN,
	ACT_NOTE,
	ACT_WHITELIST,
	ACT_SEND,
	ACT_N
};

/* Each action: its name and the fields it takes beyond ids, action, note. */
static const struct {
	const char	*name;
	const char	*field;		/* or NULL */
	int		 required;
} api_acts[ACT_N] = {
	{ "acknowledge", NULL, 0 },
	{ "resolve", "resolution", 1 },
	{ "unresolve", NULL, 0 },
	{ "escalate", NULL, 0 },
	{ "deescalate", NULL, 0 },
	{ "assign", "assignee", 1 },
	{ "unassign", NULL, 0 },
	{ "note", NULL, 0 },
	{ "whitelist", "lifetime", 0 },
	{ "send", "target", 1 }
};

/* An action being committed. */
struct api_act_job {
	struct api		*j_api;
	struct evhttp_request	*j_req;
	struct run_env		*j_env;
	struct searches		*j_searches;
	enum api_act		 j_act;
	uint64_t		*j_ids;
	size_t			 j_nids;
	char			*j_actor;
	char			*j_note;	/* or NULL */
	char			*j_assignee;	/* assign */
	enum alert_resolution	 j_res;		/* resolve */
	char			*j_target;	/* send */
	char			*j_ttype;
	int64_t			 j_now;
	struct buf		 j_items;	/* the alerts after, JSON */
	size_t			 j_changed;
	int			 j_gone;	/* an alert vanished meanwhile */
};

static void	api_alerts_list(struct api_call *);
static void	api_alerts_counts(struct api_call *);
static void	api_alert_get(struct api_call *, uint64_t);
static void	api_alert_log(struct api_call *, uint64_t);
static void	api_alerts_actions(struct api_call *);

/* /api/v1/alerts[/...] */
void
api_alerts(struct api_call *c, const char *rest)
{
	const char	*slash;
	uint64_t	 id;

	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (c->c_method == EVHTTP_REQ_GET)
			api_alerts_list(c);
		else
			api_bad_method(c, "GET");
		return;
	}
	if (strcmp(rest, "/actions") == 0) {
		if (c->c_method == EVHTTP_REQ_POST)
			api_alerts_actions(c);
		else
			api_bad_method(c, "POST");
		return;
	}
	if (strcmp(rest, "/counts") == 0) {
		if (c->c_method == EVHTTP_REQ_GET)
			api_alerts_counts(c);
		else
			api_bad_method(c, "GET");
		return;
	}
	if ((id = api_path_split(c, rest, "alert", &slash)) == 0)
		return;
	if (slash == NULL)
		api_alert_get(c, id);
	else if (strcmp(slash, "/log") == 0) {
		if (c->c_method == EVHTTP_REQ_GET)
			api_alert_log(c, id);
		else
			api_bad_method(c, "GET");
	} else
		api_error(c->c_api, c->c_req, 404, NULL, "no route %s",
		    c->c_path);
}

/* The store of the API. */
static struct store *
api_store(struct api_call *c)
{
	return (c->c_api->a_env->ae_run->re_store);
}

/* One alert into the listing. */
static void
api_alert_one(void *arg, const struct alert *a)
{
	alert_gen(arg, a);
}

/* A query time: RFC 3339 or epoch seconds, in ms.  0 or -1. */
static int
api_query_time(const char *p, int64_t *ms)
{
	uint64_t	 v;

	if (util_parse_uint(p, (uint64_t)INT64_MAX / 1000, &v) == 0) {
		*ms = (int64_t)v * 1000;
		return (0);
	}
	return (util_parse_time_ms(p, strlen(p), ms));
}

/*
 * The tests of a listing beyond alert_query's (aq_match): the search's
 * tag, and a parameter given more than once (any of its values; one
 * value goes in the query, whose index is then used).
 */
#define API_PRIOS	4
static const char *const api_prios[API_PRIOS] = {
	"low", "medium", "high", "critical"
};

struct api_tag_match {
	struct searches	*t_searches;
	const char	*t_tag;		/* or NULL */
	unsigned	 t_states;	/* bit per state, or 0 */
	unsigned	 t_prios;	/* bit per api_prios, or 0 */
	uint64_t	*t_search;	/* t_nsearch ids, or 0 of them */
	size_t		 t_nsearch;
};

static int
api_alert_has_tag(void *arg, const struct alert *a)
{
	struct api_tag_match	*t = arg;
	struct search		*s;
	size_t			 i;

	if (t->t_states != 0 && !(t->t_states & (1U << a->a_state)))
		return (0);
	if (t->t_prios != 0) {
		for (i = 0; i < API_PRIOS; i++)
			if ((t->t_prios & (1U << i)) && a->a_priority != NULL &&
			    strcmp(a->a_priority, api_prios[i]) == 0)
				break;
		if (i == API_PRIOS)
			return (0);
	}
	if (t->t_nsearch > 0) {
		for (i = 0; i < t->t_nsearch; i++)
			if (t->t_search[i] == a->a_search_id)
				break;
		if (i == t->t_nsearch)
			return (0);
	}
	if (t->t_tag == NULL)
		return (1);
	if ((s = searches_get(t->t_searches, a->a_search_id)) == NULL)
		return (0);
	for (i = 0; i < s->s_ntags; i++)
		if (strcmp(s->s_tags[i], t->t_tag) == 0)
			return (1);
	return (0);
}

/* How many times a query parameter is given. */
static size_t
api_param_count(struct api_call *c, const char *name)
{
	struct evkeyval	*kv;
	size_t		 n = 0;

	TAILQ_FOREACH(kv, &c->c_query, next)
		if (strcmp(kv->key, name) == 0)
			n++;
	return (n);
}

/*
 * state, priority and search given more than once: check each value and
 * note it in t.  Returns 0, or -1 after answering 400.
 */
static int
api_alerts_multi(struct api_call *c, struct api_tag_match *t)
{
	struct evkeyval		*kv;
	enum alert_state	 st;
	uint64_t		 v;
	size_t			 i, ns = api_param_count(c, "search");

	if (ns > 1)
		t->t_search = xcalloc(ns, sizeof *t->t_search);
	TAILQ_FOREACH(kv, &c->c_query, next) {
		if (strcmp(kv->key, "state") == 0 &&
		    api_param_count(c, "state") > 1) {
			if (alert_state_parse(kv->value, &st) == -1) {
				api_error(c->c_api, c->c_req, 400, "state",
				    "state must be new, in_progress or "
				    "resolved");
				return (-1);
			}
			t->t_states |= 1U << st;
		} else if (strcmp(kv->key, "priority") == 0 &&
		    api_param_count(c, "priority") > 1) {
			for (i = 0; i < API_PRIOS; i++)
				if (strcmp(kv->value, api_prios[i]) == 0)
					break;
			if (i == API_PRIOS) {
				api_error(c->c_api, c->c_req, 400, "priority",
				    "priority must be low, medium, high or "
				    "critical");
				return (-1);
			}
			t->t_prios |= 1U << i;
		} else if (strcmp(kv->key, "search") == 0 && ns > 1) {
			if (util_parse_uint(kv->value, UINT64_MAX, &v) == -1 ||
			    v == 0) {
				api_error(c->c_api, c->c_req, 400, "search",
				    "search must be a search id");
				return (-1);
			}
			t->t_search[t->t_nsearch++] = v;
		}
	}
	return (0);
}

/* A short, printable name parameter (priority, assignee, tag). */
static int
api_name_ok(const char *p, size_t max)
{
	size_t	 i, n = strlen(p);

	if (n > max)
		return (0);
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return (0);
	return (1);
}

/* GET /api/v1/alerts */
static void
api_alerts_list(struct api_call *c)
{
	static const char *const params[] = { "+state", "+search",
	    "assignee", "escalated", "+priority", "tag", "from", "to", "q",
	    "limit", "cursor", NULL };
	struct alert_query	 q;
	struct api_tag_match	 tm;
	struct store_txn	*txn;
	enum alert_state	 st;
	const char		*p;
	uint64_t		 next, v;
	yajl_gen		 g;
	int			 n;

	if (!api_params_ok(c, params))
		return;
	memset(&q, 0, sizeof q);
	memset(&tm, 0, sizeof tm);
	tm.t_searches = c->c_api->a_env->ae_searches;
	q.aq_state = -1;
	q.aq_max_scan = API_ALERT_SCAN;
	if (api_paging(c, &q.aq_limit, &q.aq_before) == -1)
		return;
	if (api_alerts_multi(c, &tm) == -1)
		goto done;
	if (tm.t_states != 0 || tm.t_prios != 0 || tm.t_nsearch > 0) {
		q.aq_match = api_alert_has_tag;
		q.aq_match_arg = &tm;
	}
	if (tm.t_states == 0 &&
	    (p = evhttp_find_header(&c->c_query, "state")) != NULL) {
		if (alert_state_parse(p, &st) == -1) {
			api_error(c->c_api, c->c_req, 400, "state",
			    "state must be new, in_progress or resolved");
			goto done;
		}
		q.aq_state = (int)st;
	}
	if (tm.t_nsearch == 0 &&
	    (p = evhttp_find_header(&c->c_query, "search")) != NULL) {
		if (util_parse_uint(p, UINT64_MAX, &v) == -1 || v == 0) {
			api_error(c->c_api, c->c_req, 400, "search",
			    "search must be a search id");
			goto done;
		}
		q.aq_search = v;
	}
	if ((p = evhttp_find_header(&c->c_query, "assignee")) != NULL) {
		if (!api_name_ok(p, API_ALERT_NAME_MAX)) {
			api_error(c->c_api, c->c_req, 400, "assignee",
			    "assignee must be a name of at most %d bytes "
			    "(empty: unassigned)", API_ALERT_NAME_MAX);
			goto done;
		}
		q.aq_assignee = p;
	}
	if ((p = evhttp_find_header(&c->c_query, "escalated")) != NULL) {
		if (strcmp(p, "true") == 0)
			q.aq_escalated = ALERT_ESC_YES;
		else if (strcmp(p, "false") == 0)
			q.aq_escalated = ALERT_ESC_NO;
		else {
			api_error(c->c_api, c->c_req, 400, "escalated",
			    "escalated must be true or false");
			goto done;
		}
	}
	if (tm.t_prios == 0 &&
	    (p = evhttp_find_header(&c->c_query, "priority")) != NULL) {
		if (strcmp(p, "low") != 0 && strcmp(p, "medium") != 0 &&
		    strcmp(p, "high") != 0 && strcmp(p, "critical") != 0) {
			api_error(c->c_api, c->c_req, 400, "priority",
			    "priority must be low, medium, high or critical");
			goto done;
		}
		q.aq_priority = p;
	}
	if ((p = evhttp_find_header(&c->c_query, "tag")) != NULL) {
		if (*p == '\0' || !api_name_ok(p, API_ALERT_NAME_MAX)) {
			api_error(c->c_api, c->c_req, 400, "tag",
			    "tag must be a tag of at most %d bytes",
			    API_ALERT_NAME_MAX);
			goto done;
		}
		tm.t_tag = p;
		q.aq_match = api_alert_has_tag;
		q.aq_match_arg = &tm;
	}
	if ((p = evhttp_find_header(&c->c_query, "from")) != NULL &&
	    api_query_time(p, &q.aq_from) == -1) {
		api_error(c->c_api, c->c_req, 400, "from", "from must be a "
		    "time: RFC 3339 (2026-11-23T19:30:00Z) or epoch seconds");
		goto done;
	}
	if ((p = evhttp_find_header(&c->c_query, "to")) != NULL &&
	    api_query_time(p, &q.aq_to) == -1) {
		api_error(c->c_api, c->c_req, 400, "to", "to must be a "
		    "time: RFC 3339 (2026-11-23T19:30:00Z) or epoch seconds");
		goto done;
	}
	if ((p = evhttp_find_header(&c->c_query, "q")) != NULL) {
		if (strlen(p) > API_ALERT_Q_MAX) {
			api_error(c->c_api, c->c_req, 400, "q",
			    "q must be at most %d bytes", API_ALERT_Q_MAX);
			goto done;
		}
		q.aq_text = p;
	}
	if ((txn = store_read(api_store(c))) == NULL) {
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		goto done;
	}
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_str(g, "items");
	yajl_gen_array_open(g);
	n = alert_list(txn, &q, api_alert_one, g, &next);
	store_done(txn);
	if (n == -1) {
		yajl_gen_free(g);
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		goto done;
	}
	yajl_gen_array_close(g);
	api_gen_next(g, next);
	/* Stopped by the examination bound: go on with next. */
	jgen_kbool(g, "partial", next != 0 && (size_t)n < q.aq_limit);
	yajl_gen_map_close(g);
	api_send_gen(c->c_api, c->c_req, 200, g);
done:
	free(tm.t_search);
}

/* GET /api/v1/alerts/counts */
static void
api_alerts_counts(struct api_call *c)
{
	static const char *const params[] = { NULL };
	static const char *const prios[] = { "low", "medium", "high",
	    "critical", NULL };
	struct store_txn	*txn;
	yajl_gen		 g;
	size_t			 i;

	if (!api_params_ok(c, params))
		return;
	if ((txn = store_read(api_store(c))) == NULL) {
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		return;
	}
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_kint(g, "total", (int64_t)store_count(txn, STORE_ALERTS));
	jgen_str(g, "state");
	yajl_gen_map_open(g);
	for (i = 0; i < ALERT_NSTATES; i++)
		jgen_kint(g, alert_state_name((enum alert_state)i),
		    (int64_t)alert_count(txn, ALERT_COUNT_STATE,
		    alert_state_name((enum alert_state)i)));
	yajl_gen_map_close(g);
	jgen_str(g, "priority");
	yajl_gen_map_open(g);
	for (i = 0; prios[i] != NULL; i++)
		jgen_kint(g, prios[i], (int64_t)alert_count(txn,
		    ALERT_COUNT_PRIORITY, prios[i]));
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	store_done(txn);
	api_send_gen(c->c_api, c->c_req, 200, g);
}

/* GET /api/v1/alerts/{id} */
static void
api_alert_get(struct api_call *c, uint64_t id)
{
	struct store_txn	*txn;
	struct alert		*a;
	yajl_gen		 g;
	int			 rc;

	if (c->c_method != EVHTTP_REQ_GET) {
		api_bad_method(c, "GET");
		return;
	}
	if ((txn = store_read(api_store(c))) == NULL) {
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		return;
	}
	rc = alert_get(txn, id, &a);
	store_done(txn);
	if (rc == 1) {
		api_error(c->c_api, c->c_req, 404, NULL, "no alert %llu",
		    (unsigned long long)id);
		return;
	}
	if (rc == -1) {
		api_error(c->c_api, c->c_req, 500, NULL,
		    "alert %llu could not be read", (unsigned long long)id);
		return;
	}
	g = jgen_new();
	alert_gen(g, a);
	alert_free(a);
	api_send_gen(c->c_api, c->c_req, 200, g);
}

/* One log entry into the listing. */
static void
api_log_one(void *arg, const char *text, size_t len)
{
	jgen_raw(arg, text, len);
}

/* GET /api/v1/alerts/{id}/log */
static void
api_alert_log(struct api_call *c, uint64_t id)
{
	static const char *const params[] = { "limit", "cursor", NULL };
	struct store_txn	*txn;
	struct alert		*a = NULL;
	size_t			 limit;
	uint64_t		 cursor, next;
	yajl_gen		 g;
	int			 rc, n;

	if (!api_params_ok(c, params) ||
	    api_paging(c, &limit, &cursor) == -1)
		return;
	if ((txn = store_read(api_store(c))) == NULL) {
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		return;
	}
	if ((rc = alert_get(txn, id, &a)) != 0) {
		store_done(txn);
		if (rc == 1)
			api_error(c->c_api, c->c_req, 404, NULL,
			    "no alert %llu", (unsigned long long)id);
		else
			api_error(c->c_api, c->c_req, 500, NULL,
			    "the store failed");
		return;
	}
	alert_free(a);
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_str(g, "items");
	yajl_gen_array_open(g);
	n = alert_log_list(txn, id, cursor, limit, api_log_one, g, &next);
	store_done(txn);
	if (n == -1) {
		yajl_gen_free(g);
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		return;
	}
	yajl_gen_array_close(g);
	api_gen_next(g, next);
	yajl_gen_map_close(g);
	api_send_gen(c->c_api, c->c_req, 200, g);
}

/* Free an action job. */
static void
api_act_free(struct api_act_job *j)
{
	free(j->j_ids);
	free(j->j_actor);
	free(j->j_note);
	free(j->j_assignee);
	free(j->j_target);
	free(j->j_ttype);
	buf_free(&j->j_items);
	free(j);
}

/*
 * The search of alert a, for its event; when the search was deleted, gone
 * is filled to stand for it: the id, and the alert's priority (the event
 * then names no search, tags or owner).
 */
static const struct search *
api_act_search(struct api_act_job *j, const struct alert *a,
    struct search *gone)
{
	struct search	*s;

	if ((s = searches_get(j->j_searches, a->a_search_id)) != NULL)
		return (s);
	memset(gone, 0, sizeof *gone);
	gone->s_id = a->a_search_id;
	gone->s_priority = a->a_priority;
	return (gone);
}

/* Change one alert as the action says. */
static void
api_act_change(struct api_act_job *j, struct alert *a)
{
	switch (j->j_act) {
	case ACT_ACKNOWLEDGE:
		a->a_state = ALERT_IN_PROGRESS;
		a->a_resolution = RESOLUTION_NONE;
		break;
	case ACT_RESOLVE:
		a->a_state = ALERT_RESOLVED;
		a->a_resolution = j->j_res;
		break;
	case ACT_UNRESOLVE:
		a->a_state = ALERT_NEW;
		a->a_resolution = RESOLUTION_NONE;
		break;
	case ACT_ESCALATE:
	case ACT_DEESCALATE:
		a->a_escalated = j->j_act == ACT_ESCALATE;
		break;
	case ACT_ASSIGN:
		free(a->a_assignee);
		a->a_assignee = xstrdup(j->j_assignee);
		break;
	case ACT_UNASSIGN:
		free(a->a_assignee);
		a->a_assignee = NULL;
		break;
	default:
		break;
	}
}

/* The commit: every alert, its log entry, its event. */
static int
api_act_apply(struct store_txn *txn, void *arg)
{
	struct api_act_job	*j = arg;
	struct outbox		*ob = j->j_env->re_outbox;
	const struct search	*s;
	struct search		 gone;
	struct alert		*old, *a;
	yajl_gen		 g;
	size_t			 i;
	int			 rc = -1;

	j->j_gone = 0;
	j->j_changed = 0;
	buf_reset(&j->j_items);
	g = jgen_new();
	yajl_gen_array_open(g);
	for (i = 0; i < j->j_nids; i++) {
		old = a = NULL;
		if (alert_get(txn, j->j_ids[i], &old) != 0 ||
		    alert_get(txn, j->j_ids[i], &a) != 0) {
			alert_free(old);
			j->j_gone = 1;
			store_fail(txn, "alert %llu could not be read",
			    (unsigned long long)j->j_ids[i]);
			goto out;
		}
		s = api_act_search(j, a, &gone);
		if (j->j_act != ACT_SEND) {
			api_act_change(j, a);
			a->a_updated = j->j_now;
			if (alert_update(txn, a, old->a_state) == -1)
				goto fail;
		}
		if (alert_log_add(txn, old, a, j->j_now, j->j_actor,
		    api_acts[j->j_act].name, j->j_note,
		    j->j_act == ACT_SEND ? "target" : j->j_act ==
		    ACT_WHITELIST ? "hash" : NULL, j->j_act == ACT_SEND ?
		    j->j_target : a->a_hash) == -1)
			goto fail;
		if (ob != NULL && j->j_act == ACT_SEND) {
			if (outbox_alert_job(ob, txn, "alert.updated", s, a,
			    j->j_target, j->j_ttype, NULL) == -1)
				goto fail;
		} else if (ob != NULL && outbox_alert_event(ob, txn,
		    j->j_act == ACT_RESOLVE ? "alert.resolved" :
		    "alert.updated", s, a) == -1)
			goto fail;
		alert_gen(g, a);
		alert_free(old);
		alert_free(a);
		j->j_changed++;
		continue;
fail:
		alert_free(old);
		alert_free(a);
		goto out;
	}
	rc = 0;
out:
	yajl_gen_array_close(g);
	if (rc == 0)
		jgen_take(g, &j->j_items);
	yajl_gen_free(g);
	return (rc);
}

/* The commit is over: answer. */
static void
api_act_done(void *arg, int ok, const char *err)
{
	struct api_act_job	*j = arg;
	struct buf		 b = BUF_INIT;

	if (!ok) {
		if (j->j_gone)
			api_error(j->j_api, j->j_req, 409, "ids", "%s; "
			    "nothing was changed", err != NULL ? err :
			    "an alert vanished");
		else
			api_error(j->j_api, j->j_req, 500, NULL,
			    "could not store the action: %s; nothing was "
			    "changed", err != NULL ? err : "unknown error");
		api_act_free(j);
		return;
	}
	if (j->j_env->re_outbox != NULL)
		outbox_kick(j->j_env->re_outbox);
	log_info("alerts: %s of %zu alert%s by %s", api_acts[j->j_act].name,
	    j->j_changed, j->j_changed == 1 ? "" : "s", j->j_actor);
	buf_printf(&b, "{\"action\":\"%s\",\"count\":%zu,\"items\":",
	    api_acts[j->j_act].name, j->j_changed);
	buf_add(&b, j->j_items.b_data, j->j_items.b_len);
	buf_addc(&b, '}');
	api_send(j->j_api, j->j_req, 200, b.b_data, b.b_len);
	buf_free(&b);
	api_act_free(j);
}

/* The ids of the body: positive, distinct (duplicates dropped). */
static int
api_act_ids(struct api_call *c, const struct json *v, struct api_act_job *j)
{
	size_t		 i, k, n;
	int64_t		 id;

	if (v == NULL) {
		api_error(c->c_api, c->c_req, 422, "ids",
		    "ids is required: an array of alert ids");
		return (-1);
	}
	if (v->j_type != JSON_ARRAY || (n = json_len(v)) == 0) {
		api_error(c->c_api, c->c_req, 422, "ids",
		    "ids must be a non-empty array of alert ids");
		return (-1);
	}
	if (n > API_ALERT_IDS_MAX) {
		api_error(c->c_api, c->c_req, 422, "ids",
		    "at most %d ids in one request (got %zu)",
		    API_ALERT_IDS_MAX, n);
		return (-1);
	}
	j->j_ids = xcalloc(n, sizeof *j->j_ids);
	for (i = 0; i < n; i++) {
		if (!json_int(json_at(v, i), &id) || id <= 0) {
			api_error(c->c_api, c->c_req, 422, "ids",
			    "ids[%zu] is not an alert id (a positive integer)",
			    i);
			return (-1);
		}
		for (k = 0; k < j->j_nids; k++)
			if (j->j_ids[k] == (uint64_t)id)
				break;
		if (k == j->j_nids)
			j->j_ids[j->j_nids++] = (uint64_t)id;
	}
	return (0);
}

/* A string member: absent (NULL), or checked; -1 after answering. */
static int
api_act_str(struct api_call *c, const struct json *body, const char *name,
    size_t max, int empty_ok, const char **out)
{
	const struct json	*v;
	const char		*s;
	size_t			 i, n;

	*out = NULL;
	if ((v = json_get(body, name)) == NULL)
		return (0);
	if ((s = json_str(v)) == NULL) {
		api_error(c->c_api, c->c_req, 422, name,
		    "%s must be a string", name);
		return (-1);
	}
	n = strlen(s);
	if ((n == 0 && !empty_ok) || n > max) {
		api_error(c->c_api, c->c_req, 422, name,
		    "%s must have 1 to %zu bytes", name, max);
		return (-1);
	}
	/* Names: no control characters (a note may have newlines, tabs). */
	for (i = 0; max != API_ALERT_NOTE_MAX && i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			api_error(c->c_api, c->c_req, 422, name,
			    "%s must not hold control characters", name);
			return (-1);
		}
	}
	*out = s;
	return (0);
}

/* One search a whitelist writes, and the hashes it adds. */
struct api_wl {
	struct search	 *w_search;
	const char	**w_hashes;
	size_t		  w_n;
};

/* Whether the array arr has the string s. */
static int
api_json_has_str(const struct json *arr, const char *s)
{
	size_t		 i;
	const char	*v;

	for (i = 0; i < json_len(arr); i++)
		if ((v = json_str(json_at(arr, i))) != NULL &&
		    strcmp(v, s) == 0)
			return (1);
	return (0);
}

/*
 * Write the hashes into the search's whitelist hash filter (the hash
 * filter with API_WHITELIST_COMMENT, appended at the end of the chain
 * when there is none), with the lifetime as a fixed end (the later of
 * the old one and now + life; life -1: none).  A filter whose lifetime
 * is over starts again empty.  Returns the HTTP status (200 when done).
 */
static int
api_whitelist(struct api_call *c, struct api_wl *w, int64_t life,
    int64_t now, struct search_err *err)
{
	struct search		*s = w->w_search, *out = NULL;
	struct searches_who	 who;
	struct json		*def, *filters, *f = NULL, *hashes, *fields;
	const char		*t, *cm, *lt;
	char			 when[64], *note;
	int64_t			 end = -1, old;
	size_t			 i;
	int			 status;

	def = json_dup(s->s_def);
	if ((filters = json_get(def, "filters")) == NULL ||
	    filters->j_type != JSON_ARRAY) {
		filters = json_new(JSON_ARRAY);
		json_set(def, "filters", filters);
	}
	for (i = 0; i < json_len(filters); i++) {
		t = json_str(json_get(json_at(filters, i), "type"));
		cm = json_str(json_get(json_at(filters, i), "comment"));
		if (t != NULL && strcmp(t, "hash") == 0 && cm != NULL &&
		    strcmp(cm, API_WHITELIST_COMMENT) == 0) {
			f = json_at(filters, i);
			break;
		}
	}
	if (f == NULL) {
		f = json_new(JSON_OBJECT);
		json_set(f, "type", json_new_str("hash", 4));
		json_set(f, "comment", json_new_str(API_WHITELIST_COMMENT,
		    strlen(API_WHITELIST_COMMENT)));
		json_set(f, "hashes", json_new(JSON_ARRAY));
		/* The hashes agree only over the same fields. */
		if ((fields = json_get(def, "fields")) != NULL)
			json_set(f, "fields", json_dup(fields));
		json_push(filters, f);
	}
	old = -1;
	if ((lt = json_str(json_get(f, "lifetime"))) != NULL &&
	    util_parse_time_ms(lt, strlen(lt), &old) == 0 && old <= now) {
		/* Over: what it held no longer counts. */
		json_set(f, "hashes", json_new(JSON_ARRAY));
	}
	if ((hashes = json_get(f, "hashes")) == NULL ||
	    hashes->j_type != JSON_ARRAY) {
		hashes = json_new(JSON_ARRAY);
		json_set(f, "hashes", hashes);
	}
	for (i = 0; i < w->w_n; i++)
		if (!api_json_has_str(hashes, w->w_hashes[i]))
			json_push(hashes, json_new_str(w->w_hashes[i],
			    strlen(w->w_hashes[i])));
	if (life < 0)
		json_del(f, "lifetime");
	else {
		end = now + life;
		if (old > end)
			end = old;
		util_fmt_time(end, when, sizeof when);
		json_set(f, "lifetime", json_new_str(when, strlen(when)));
	}
	note = xprintf("whitelist of %zu alert hash%s (alert actions)",
	    w->w_n, w->w_n == 1 ? "" : "es");
	who.sw_actor = c->c_actor;
	who.sw_note = note;
	status = searches_update(c->c_api->a_env->ae_searches, s->s_id, def,
	    0, &out, err, &who);
	free(note);
	json_free(def);
	search_unref(out);
	return (status);
}

/* Free what a whitelist collected. */
static void
api_wl_free(struct api_wl *wl, size_t nwl, char **hs, size_t n)
{
	size_t	 i;

	for (i = 0; wl != NULL && i < nwl; i++)
		free(wl[i].w_hashes);
	free(wl);
	for (i = 0; hs != NULL && i < n; i++)
		free(hs[i]);
	free(hs);
}

/* POST /api/v1/alerts/actions */
static void
api_alerts_actions(struct api_call *c)
{
	static const char *const keys[] = { "ids", "action", "resolution",
	    "assignee", "note", "lifetime", "target", NULL };
	struct api_act_job		*j;
	struct json			*body;
	const struct json		*v;
	const struct config_target	*ct;
	struct store_txn		*txn;
	struct alert			*a;
	struct search			*s;
	struct search_err		 serr;
	struct api_wl			*wl = NULL;
	char				**hs = NULL;
	const char			*str, *note, *lifetime = NULL, *e;
	char				 who[API_ALERT_NAME_MAX + 64];
	size_t				 i, k, nwl = 0;
	int64_t				 life = -1;
	int				 answered, rc, act, status;

	if ((body = api_body(c, 0, &answered)) == NULL)
		return;
	j = xcalloc(1, sizeof *j);
	j->j_api = c->c_api;
	j->j_req = c->c_req;
	j->j_env = c->c_api->a_env->ae_run;
	j->j_searches = c->c_api->a_env->ae_searches;
	j->j_actor = xstrdup(c->c_actor != NULL ? c->c_actor : "unknown");
	j->j_now = util_now_ms();
	if (api_only_keys(c, body, keys, "(ids, action, resolution, "
	    "assignee, note, lifetime, target)") == -1)
		goto fail;
	/* The action first: it says which fields belong. */
	if ((v = json_get(body, "action")) == NULL ||
	    (str = json_str(v)) == NULL) {
		api_error(c->c_api, c->c_req, 422, "action", "action is "
		    "required: acknowledge, resolve, unresolve, escalate, "
		    "deescalate, assign, unassign, note, whitelist or send");
		goto fail;
	}
	for (act = 0; act < ACT_N; act++)
		if (strcmp(str, api_acts[act].name) == 0)
			break;
	if (act == ACT_N) {
		api_error(c->c_api, c->c_req, 422, "action", "unknown action "
		    "\"%.64s\": acknowledge, resolve, unresolve, escalate, "
		    "deescalate, assign, unassign, note, whitelist or send",
		    str);
		goto fail;
	}
	j->j_act = (enum api_act)act;
	for (k = 2; keys[k] != NULL; k++) {
		if (strcmp(keys[k], "note") == 0 ||
		    json_get(body, keys[k]) == NULL)
			continue;
		if (api_acts[act].field == NULL ||
		    strcmp(api_acts[act].field, keys[k]) != 0) {
			api_error(c->c_api, c->c_req, 422, keys[k],
			    "%s does not go with the action %s", keys[k],
			    api_acts[act].name);
			goto fail;
		}
	}
	if (api_acts[act].required && api_acts[act].field != NULL &&
	    json_get(body, api_acts[act].field) == NULL) {
		api_error(c->c_api, c->c_req, 422, api_acts[act].field,
		    "the action %s needs %s", api_acts[act].name,
		    api_acts[act].field);
		goto fail;
	}
	if (api_act_ids(c, json_get(body, "ids"), j) == -1)
		goto fail;
	if (api_act_str(c, body, "note", API_ALERT_NOTE_MAX, 0, &note) == -1)
		goto fail;
	if (note == NULL && j->j_act == ACT_NOTE) {
		api_error(c->c_api, c->c_req, 422, "note",
		    "the action note needs a note");
		goto fail;
	}
	if (note != NULL)
		j->j_note = xstrdup(note);
	switch (j->j_act) {
	case ACT_RESOLVE:
		if (api_act_str(c, body, "resolution", 32, 0, &str) == -1)
			goto fail;
		if (strcmp(str, "not_an_issue") == 0)
			j->j_res = RESOLUTION_NOT_AN_ISSUE;
		else if (strcmp(str, "action_taken") == 0)
			j->j_res = RESOLUTION_ACTION_TAKEN;
		else if (strcmp(str, "too_old") == 0)
			j->j_res = RESOLUTION_TOO_OLD;
		else {
			api_error(c->c_api, c->c_req, 422, "resolution",
			    "resolution must be not_an_issue, action_taken "
			    "or too_old");
			goto fail;
		}
		break;
	case ACT_ASSIGN:
		if (api_act_str(c, body, "assignee", API_ALERT_NAME_MAX, 0,
		    &str) == -1)
			goto fail;
		if (strcmp(str, "group:") == 0) {
			api_error(c->c_api, c->c_req, 422, "assignee",
			    "group: needs a group name");
			goto fail;
		}
		j->j_assignee = xstrdup(str);
		break;
	case ACT_WHITELIST:
		v = json_get(body, "lifetime");
		if (v != NULL && v->j_type == JSON_NULL)
			life = -1;	/* for good */
		else {
			if (v != NULL && (lifetime = json_str(v)) == NULL) {
				api_error(c->c_api, c->c_req, 422, "lifetime",
				    "lifetime must be a duration (\"30d\") or "
				    "null (no end)");
				goto fail;
			}
			if (lifetime == NULL)
				lifetime = API_WHITELIST_DEFAULT;
			if (util_parse_duration_ms(lifetime, &life, &e) ==
			    -1 || life < 1000) {
				api_error(c->c_api, c->c_req, 422, "lifetime",
				    "lifetime must be a duration of at least "
				    "1s (\"30d\") or null (no end)");
				goto fail;
			}
		}
		break;
	case ACT_SEND:
		if (api_act_str(c, body, "target", API_ALERT_NAME_MAX, 0,
		    &str) == -1)
			goto fail;
		if ((ct = config_target(j->j_env->re_cfg, str)) == NULL) {
			api_error(c->c_api, c->c_req, 422, "target",
			    "no target \"%s\" in the configuration", str);
			goto fail;
		}
		j->j_target = xstrdup(ct->ct_name);
		j->j_ttype = xstrdup(ct->ct_type);
		break;
	default:
		break;
	}

	/* Every id must be an alert; assignees resolved now. */
	if ((txn = store_read(api_store(c))) == NULL) {
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		goto fail;
	}
	if (j->j_act == ACT_WHITELIST) {
		wl = xcalloc(j->j_nids, sizeof *wl);
		hs = xcalloc(j->j_nids, sizeof *hs);
	}
	for (i = 0; i < j->j_nids; i++) {
		if ((rc = alert_get(txn, j->j_ids[i], &a)) != 0) {
			store_done(txn);
			if (rc == 1)
				api_error(c->c_api, c->c_req, 404, "ids",
				    "no alert %llu; nothing was changed",
				    (unsigned long long)j->j_ids[i]);
			else
				api_error(c->c_api, c->c_req, 500, NULL,
				    "alert %llu could not be read",
				    (unsigned long long)j->j_ids[i]);
			goto fail;
		}
		if (wl != NULL) {
			s = searches_get(j->j_searches, a->a_search_id);
			if (s == NULL || s->s_origin == ORIGIN_FILE ||
			    a->a_hash[0] == '\0') {
				store_done(txn);
				api_error(c->c_api, c->c_req, 409, "ids",
				    s == NULL ? "alert %llu: its search %llu "
				    "is gone; nothing was changed" :
				    s->s_origin == ORIGIN_FILE ? "alert %llu: "
				    "search %llu is defined in a file (read-"
				    "only through the API): add the hash "
				    "filter to the file; nothing was changed" :
				    "alert %llu has no content hash (search "
				    "%llu); nothing was changed",
				    (unsigned long long)a->a_id,
				    (unsigned long long)a->a_search_id);
				alert_free(a);
				goto fail;
			}
			for (k = 0; k < nwl; k++)
				if (wl[k].w_search == s)
					break;
			if (k == nwl) {
				wl[nwl].w_search = s;
				wl[nwl].w_hashes = xcalloc(j->j_nids,
				    sizeof *wl[nwl].w_hashes);
				nwl++;
			}
			hs[i] = xstrdup(a->a_hash);
			wl[k].w_hashes[wl[k].w_n++] = hs[i];
		}
		alert_free(a);
	}
	if (j->j_act == ACT_ASSIGN) {
		rc = users_resolve_assignee(txn, j->j_assignee, j->j_now, who,
		    sizeof who);
		if (rc == -1) {
			store_done(txn);
			api_error(c->c_api, c->c_req, 500, NULL,
			    "the store failed");
			goto fail;
		}
		free(j->j_assignee);
		j->j_assignee = xstrdup(who);
	}
	store_done(txn);

	if (wl != NULL) {
		status = 200;
		for (k = 0; k < nwl && status == 200; k++) {
			memset(&serr, 0, sizeof serr);
			status = api_whitelist(c, &wl[k], life, j->j_now,
			    &serr);
		}
		if (status != 200) {
			api_error(c->c_api, c->c_req, status == 404 ? 409 :
			    status, status == 422 ? "lifetime" : NULL,
			    "the whitelist could not be written to search "
			    "%llu: %s: %s", (unsigned long long)
			    wl[k - 1].w_search->s_id, serr.se_field,
			    serr.se_message);
			goto fail;
		}
	}
	api_wl_free(wl, nwl, hs, j->j_nids);
	json_free(body);
	store_write(api_store(c), api_act_apply, api_act_done, j);
	return;
fail:
	api_wl_free(wl, nwl, hs, j->j_nids);
	json_free(body);
	api_act_free(j);
}
