/*
 * src_es.c -- the Elasticsearch / OpenSearch search type.
 *
 * One run: learn the cluster's flavour and version from GET / (cached per
 * source for ES_IDENTITY_TTL_MS), then query the window:
 *
 *   count, no_results	one _search with size 0 and an exact total;
 *   fields		every hit, streamed: point in time + search_after on
 *			Elasticsearch 7.12+ (whose PIT adds the _shard_doc
 *			tie-break), a scroll on every other version and on
 *			OpenSearch; the PIT or scroll is always released.
 *
 * The query is a bool with the search's query (a Lucene query string or a
 * full query object) in "must" and a range on the source's date field in
 * "filter", [from, to) in epoch milliseconds.  Each hit becomes a record
 * (the _source fields, flattened; "fields" values unwrapped when single)
 * with its event time taken from the date field, and goes to the run at
 * once.  In a query string, @NAME is replaced by the values of the named
 * list (lists.h) when the run starts.  Errors keep the cluster's own words: the root cause's reason of
 * an error object, the string of a 406, the reason of a failed shard.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "hmap.h"
#include "httpc.h"
#include "json.h"
#include "jstream.h"
#include "lists.h"
#include "log.h"
#include "record.h"
#include "run.h"
#include "search.h"
#include "sources.h"
#include "src.h"
#include "util.h"
#include "xmalloc.h"

#define ES_PAGE_SIZE		10000
#define ES_IDENTITY_TTL_MS	(10 * 60 * 1000)
#define ES_BODY_MAX		(64 * 1024)	/* kept of small/error bodies */
#define ES_KEEP_ALIVE		"2m"
#define ES_DATED_MAX		400	/* names a dated pattern expands to */
#define ES_DATED_STEPS		100000	/* hours or days walked at most */
#define ES_AGG_SIZE_MAX		10000	/* terms buckets asked at most */

enum es_phase {
	ES_IDENTITY,
	ES_PIT_OPEN,
	ES_SEARCH,
	ES_SCROLL_NEXT
};

struct es_run {
	struct run			*e_run;
	const struct search		*e_s;
	struct source_state		*e_ss;
	const struct config_source	*e_cs;
	struct httpc			*e_httpc;
	enum es_phase			 e_phase;
	struct httpc_req		*e_req;
	struct jstream			*e_js;
	int				 e_use_pit;
	int				 e_count_only;
	char				*e_index;	/* dated pattern expanded */
	char				*e_query;	/* @lists expanded */

	/* "aggregation": terms (nested terms), a metric; borrowed */
	const char			*e_agg_terms;	/* NULL: no aggregation */
	int64_t				 e_agg_size;
	const char			*e_agg_terms2;	/* or NULL */
	int64_t				 e_agg_size2;
	const char			*e_agg_metric;	/* "avg"..., or NULL */
	const char			*e_agg_mfield;
	int				 e_agg_passed;	/* a bucket alerted */
	int64_t				 e_agg_count;	/* its count */

	/* the response under way */
	long				 e_status;
	char				*e_ctype;
	struct buf			 e_body;	/* first ES_BODY_MAX */
	int				 e_parse_failed;
	size_t				 e_page;	/* hits in this page */
	int				 e_timed_out;
	int64_t				 e_shards_failed;
	char				*e_shard_type;
	char				*e_shard_reason;
	char				*e_err_string;
	char				*e_err_type;
	char				*e_err_reason;
	char				*e_root_type;
	char				*e_root_reason;
	char				*e_durability;
	uint64_t			 e_total_value;

	/* paging */
	int				 e_pages;
	char				*e_pit;
	char				*e_scroll;
	char				*e_after;	/* sort of the last hit */
	int				 e_enough;	/* the run has all */
	/*
	 * The first page is a plain search: most windows fit in it, and then
	 * one request is all the run costs.  Only when it comes back full is
	 * a point in time (or a scroll) opened, over the window from the
	 * date of its last hit on ("resuming"); the hits of that date that
	 * the first page had are recognised by their ids and skipped.
	 */
	int				 e_resuming;
	int64_t				 e_resume_ms;	/* the new "gte" */
	int64_t				 e_last_ms;	/* sort date of the last hit */
	struct buf			 e_bound;	/* ids at e_last_ms, NUL after each */
	struct hmap			*e_boundary;	/* the same, when resuming */

	/* runs waiting for the one that asks GET / (the source's list) */
	struct es_run			*e_wait_next;
	int				 e_waiting;
	struct buf			 e_text;
};

static int	es_validate(const struct json *, const struct config *,
		    struct search_err *);
static int	es_start(struct run *, char *, size_t);
static void	es_cancel(struct run *);
static void	es_request(struct es_run *, const char *, const char *,
		    char *, size_t);
static int	es_head_cb(void *, long, const char *);
static int	es_data_cb(void *, const char *, size_t);
static void	es_done_cb(void *, const struct httpc_result *);
static int	es_record_cb(void *, int, struct record *);
static int	es_scalar_cb(void *, const char *, enum json_type,
		    const char *, size_t);
static void	es_search_page(struct es_run *);
static void	es_end(struct es_run *, const char *, int, const char *);
static void	es_release(struct es_run *);
static void	es_free(struct es_run *);
static void	es_boundary_clear(struct es_run *);
static void	es_begin(struct es_run *);
static void	es_identity_release(struct es_run *);
static void	es_unwait(struct es_run *);
static int	es_boundary(struct es_run *, const struct record *);

const struct src_ops src_es_ops = {
	SEARCH_ES, es_validate, es_start, es_cancel
};

static const char *const es_patterns[] = { "hits.hits[]",
    "aggregations.a.buckets[]", NULL };
static const char *const es_metrics[] = { "cardinality", "min", "max",
    "avg", "sum", NULL };

/* Fill err about field; returns -1. */
static int
es_fail(struct search_err *err, const char *field, const char *msg)
{
	snprintf(err->se_field, sizeof err->se_field, "%s", field);
	snprintf(err->se_message, sizeof err->se_message, "%s", msg);
	return (-1);
}

/* Check one level {"terms": FIELD, "size": N} of an aggregation. */
static int
es_validate_terms(const struct json *a, const char *field, int top,
    struct search_err *err)
{
	const struct json	*v;
	const char		*k;
	int64_t			 n;
	size_t			 i;

	if (a->j_type != JSON_OBJECT)
		return (es_fail(err, field, "must be an object {\"terms\": "
		    "FIELD, \"size\": N}"));
	for (i = 0; i < a->j_u.obj.n; i++) {
		k = a->j_u.obj.m[i].m_key;
		if (strcmp(k, "terms") != 0 && strcmp(k, "size") != 0 &&
		    (!top || (strcmp(k, "nested") != 0 &&
		    strcmp(k, "metric") != 0))) {
			snprintf(err->se_field, sizeof err->se_field, "%s.%s",
			    field, k);
			snprintf(err->se_message, sizeof err->se_message,
			    "unknown key (terms, size%s)", top ?
			    ", nested, metric" : "");
			return (-1);
		}
	}
	if ((k = json_str(json_get(a, "terms"))) == NULL || *k == '\0')
		return (es_fail(err, field, "needs \"terms\": the field to "
		    "group by"));
	if ((v = json_get(a, "size")) != NULL && (!json_int(v, &n) ||
	    n < 1 || n > ES_AGG_SIZE_MAX))
		return (es_fail(err, field, "size must be an integer from 1 "
		    "to 10000"));
	return (0);
}

/* Check the "aggregation" key. */
static int
es_validate_agg(const struct json *def, struct search_err *err)
{
	const struct json	*a, *m, *v;
	const char		*r;
	size_t			 i;

	if ((a = json_get(def, "aggregation")) == NULL ||
	    a->j_type == JSON_NULL)
		return (0);
	if (es_validate_terms(a, "aggregation", 1, err) == -1)
		return (-1);
	if ((v = json_get(a, "nested")) != NULL &&
	    es_validate_terms(v, "aggregation.nested", 0, err) == -1)
		return (-1);
	if ((m = json_get(a, "metric")) != NULL) {
		if (m->j_type != JSON_OBJECT || m->j_u.obj.n != 1 ||
		    json_str(m->j_u.obj.m[0].m_val) == NULL)
			return (es_fail(err, "aggregation.metric", "must be "
			    "{\"cardinality\"|\"min\"|\"max\"|\"avg\"|"
			    "\"sum\": FIELD}"));
		for (i = 0; es_metrics[i] != NULL; i++)
			if (strcmp(es_metrics[i], m->j_u.obj.m[0].m_key) == 0)
				break;
		if (es_metrics[i] == NULL)
			return (es_fail(err, "aggregation.metric", "unknown "
			    "metric (cardinality, min, max, avg, sum)"));
	}
	r = json_str(json_get(def, "result"));
	if (r != NULL && strcmp(r, "fields") != 0)
		return (es_fail(err, "aggregation", "needs result \"fields\" "
		    "(one alert per bucket)"));
	if (json_get(def, "fields") != NULL)
		return (es_fail(err, "fields", "does not apply with an "
		    "aggregation (an alert holds the bucket keys and count)"));
	return (0);
}

/* Take the aggregation of the search, if any (validated). */
static void
es_agg_setup(struct es_run *e)
{
	const struct json	*a, *n, *m;

	if (e->e_s->s_def == NULL ||
	    (a = json_get(e->e_s->s_def, "aggregation")) == NULL ||
	    json_str(json_get(a, "terms")) == NULL)
		return;
	e->e_agg_terms = json_str(json_get(a, "terms"));
	e->e_agg_size = 10;
	(void)json_int(json_get(a, "size"), &e->e_agg_size);
	if ((n = json_get(a, "nested")) != NULL &&
	    json_str(json_get(n, "terms")) != NULL) {
		e->e_agg_terms2 = json_str(json_get(n, "terms"));
		e->e_agg_size2 = 10;
		(void)json_int(json_get(n, "size"), &e->e_agg_size2);
	}
	if ((m = json_get(a, "metric")) != NULL && m->j_type == JSON_OBJECT &&
	    m->j_u.obj.n == 1 && json_str(m->j_u.obj.m[0].m_val) != NULL) {
		e->e_agg_metric = m->j_u.obj.m[0].m_key;
		e->e_agg_mfield = json_str(m->j_u.obj.m[0].m_val);
	}
}

/* Check the es keys of a definition. */
static int
es_validate(const struct json *def, const struct config *cfg,
    struct search_err *err)
{
	static const char *const	 foreign[] = { "host", "port", "url",
	    "method", "expect_status", "match", "max_latency",
	    "cert_expiry_days", "ca_file", "alerts", "above", "below", NULL };

	/* Keys of other types are refused, not silently ignored. */
	if (src_refuse_keys(def, foreign, "es", err) == -1)
		return (-1);
	if (src_check_source(def, cfg, SOURCE_ES, "es", err) == -1)
		return (-1);
	if (json_get(def, "query") != NULL &&
	    json_get(def, "query_dsl") != NULL) {
		snprintf(err->se_field, sizeof err->se_field, "query_dsl");
		snprintf(err->se_message, sizeof err->se_message,
		    "give either query or query_dsl, not both");
		return (-1);
	}
	if (json_get(def, "query") == NULL &&
	    json_get(def, "query_dsl") == NULL) {
		snprintf(err->se_field, sizeof err->se_field, "query");
		snprintf(err->se_message, sizeof err->se_message,
		    "is required for type es (a Lucene query string, or give "
		    "query_dsl)");
		return (-1);
	}
	if (json_str(json_get(def, "query")) != NULL &&
	    *json_str(json_get(def, "query")) == '\0') {
		snprintf(err->se_field, sizeof err->se_field, "query");
		snprintf(err->se_message, sizeof err->se_message,
		    "is empty (use \"*\" to match everything)");
		return (-1);
	}
	if (cfg != NULL && json_str(json_get(def, "query")) != NULL &&
	    lists_check(cfg, json_str(json_get(def, "query")),
	    err->se_message, sizeof err->se_message) == -1) {
		snprintf(err->se_field, sizeof err->se_field, "query");
		return (-1);
	}
	return (es_validate_agg(def, err));
}

/* The index pattern of the run, as given. */
static const char *
es_index_given(const struct es_run *e)
{
	return (e->e_s->s_index != NULL ? e->e_s->s_index :
	    e->e_cs->cs_index);
}

/* The indices the run searches (a dated pattern expanded). */
static const char *
es_index(const struct es_run *e)
{
	return (e->e_index != NULL ? e->e_index : es_index_given(e));
}

/*
 * A pattern (with '*') may match no index yet (tomorrow's daily index):
 * that is no hits, not an error; so may a day of a dated pattern.  A name
 * without either must exist: a typo fails the run in Elasticsearch's
 * words instead of finding nothing.
 */
static int
es_lenient(const struct es_run *e)
{
	return (e->e_index != NULL || strchr(es_index(e), '*') != NULL);
}

/* Whether part (n bytes) has a date conversion (%Y %m %d %H). */
static int
es_dated(const char *part, size_t n)
{
	size_t	 i;

	for (i = 0; i + 1 < n; i++)
		if (part[i] == '%' && strchr("YmdH", part[i + 1]) != NULL)
			return (1);
	return (0);
}

/*
 * Write part with its date conversions for tm (or '*' when tm is NULL);
 * "%%" is a '%', any other '%' stays as it is.
 */
static void
es_date_format(struct buf *b, const char *part, size_t n, const struct tm *tm)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (part[i] != '%' || i + 1 == n) {
			buf_addc(b, part[i]);
			continue;
		}
		switch (part[++i]) {
		case 'Y':
			if (tm == NULL)
				buf_addc(b, '*');
			else
				buf_printf(b, "%04d", tm->tm_year + 1900);
			break;
		case 'm':
		case 'd':
		case 'H':
			if (tm == NULL)
				buf_addc(b, '*');
			else
				buf_printf(b, "%02d", part[i] == 'm' ?
				    tm->tm_mon + 1 : part[i] == 'd' ?
				    tm->tm_mday : tm->tm_hour);
			break;
		case '%':
			buf_addc(b, '%');
			break;
		default:
			buf_addc(b, '%');
			buf_addc(b, part[i]);
			break;
		}
	}
}

/*
 * Expand one dated part over [from, to) in UTC, by the hour when it has
 * %H, else by the day: the names the window touches, in order, each once.
 * Past ES_DATED_MAX names the date parts become '*'.
 */
static void
es_date_expand(struct buf *out, const char *part, size_t n, int64_t from,
    int64_t to)
{
	struct buf	 names = BUF_INIT, one = BUF_INIT, last = BUF_INIT;
	struct tm	 tm;
	int64_t		 step, t;
	time_t		 sec;
	size_t		 count = 0, walked = 0;
	int		 hourly = 0, first = 1;
	size_t		 i;

	for (i = 0; i + 1 < n; i++)
		if (part[i] == '%' && part[i + 1] == 'H')
			hourly = 1;
	step = hourly ? 3600000 : 86400000;
	if (to <= from)
		to = from + 1;
	t = from - (from % step + step) % step;
	for (; t < to; t += step) {
		if (++walked > ES_DATED_STEPS || count > ES_DATED_MAX)
			break;
		sec = (time_t)(t / 1000);
		if (gmtime_r(&sec, &tm) == NULL)
			break;
		buf_reset(&one);
		es_date_format(&one, part, n, &tm);
		if (!first && one.b_len == last.b_len &&
		    memcmp(one.b_data, last.b_data, one.b_len) == 0)
			continue;
		if (!first)
			buf_addc(&names, ',');
		buf_add(&names, one.b_data, one.b_len);
		buf_reset(&last);
		buf_add(&last, one.b_data, one.b_len);
		first = 0;
		count++;
	}
	if (t < to || count > ES_DATED_MAX || count == 0)
		es_date_format(out, part, n, NULL);
	else
		buf_add(out, names.b_data, names.b_len);
	buf_free(&names);
	buf_free(&one);
	buf_free(&last);
}

/*
 * An index with date conversions ("logs-%Y.%m.%d", by comma-separated
 * part) becomes the list of the indices the run's window touches.
 */
static void
es_expand_index(struct es_run *e)
{
	struct buf	 b = BUF_INIT;
	const char	*p = es_index_given(e), *c;
	size_t		 n;
	int		 dated = 0;

	for (;;) {
		c = strchr(p, ',');
		n = c != NULL ? (size_t)(c - p) : strlen(p);
		if (es_dated(p, n)) {
			dated = 1;
			es_date_expand(&b, p, n, run_from(e->e_run),
			    run_to(e->e_run));
		} else
			buf_add(&b, p, n);
		if (c == NULL)
			break;
		buf_addc(&b, ',');
		p = c + 1;
	}
	if (dated)
		e->e_index = buf_steal(&b, NULL);
	else
		buf_free(&b);
}

/* True when the cluster's PIT adds a tie-break we can page on. */
static int
es_pit_ok(const struct source_state *ss)
{
	return (ss->ss_flavour == ES_FLAVOUR_ELASTIC &&
	    (ss->ss_major > 7 || (ss->ss_major == 7 && ss->ss_minor >= 12)));
}

/* True when the cluster takes track_total_hits. */
static int
es_tth_ok(const struct source_state *ss)
{
	return (ss->ss_flavour == ES_FLAVOUR_OPENSEARCH || ss->ss_major >= 6);
}

/* Begin the run. */
static int
es_start(struct run *r, char *err, size_t errlen)
{
	struct es_run	*e;

	e = xcalloc(1, sizeof *e);
	e->e_run = r;
	e->e_s = run_search(r);
	e->e_ss = run_source(r);
	e->e_httpc = run_env(r)->re_httpc;
	if (e->e_ss == NULL) {
		snprintf(err, errlen, "source \"%s\" is not in the config",
		    e->e_s->s_source != NULL ? e->e_s->s_source : "");
		free(e);
		return (-1);
	}
	e->e_cs = e->e_ss->ss_cfg;
	if (e->e_s->s_query != NULL) {
		struct buf	 qb = BUF_INIT;

		if (lists_expand(lists_current(), e->e_s->s_query, &qb, err,
		    errlen) == -1) {
			buf_free(&qb);
			free(e);
			return (-1);
		}
		e->e_query = buf_steal(&qb, NULL);
	}
	e->e_count_only = e->e_s->s_result != RESULT_FIELDS;
	es_expand_index(e);
	es_agg_setup(e);
	if (e->e_agg_terms != NULL)
		e->e_count_only = 1;	/* buckets, not hits */
	run_set_driver(r, e);
	es_begin(e);
	return (0);
}

/*
 * Ask GET / when the source's identity is unknown or old -- one run at a
 * time per source: while it asks, the other runs wait for its answer when
 * nothing is known yet, or go on with the identity known so far.
 */
static void
es_begin(struct es_run *e)
{
	struct source_state	*ss = e->e_ss;

	if (ss->ss_identity_at != 0 &&
	    util_now_ms() - ss->ss_identity_at <= ES_IDENTITY_TTL_MS) {
		es_search_page(e);
		return;
	}
	if (ss->ss_identity_owner == NULL) {
		ss->ss_identity_owner = e;
		e->e_phase = ES_IDENTITY;
		es_request(e, "GET", "/", NULL, 0);
	} else if (ss->ss_identity_at != 0)
		es_search_page(e);
	else {
		e->e_waiting = 1;
		e->e_wait_next = ss->ss_identity_waiters;
		ss->ss_identity_waiters = e;
	}
}

/*
 * The run that asked GET / has its answer (ok), or gave up: wake the runs
 * that waited.  They go on, or (no identity) begin again.
 */
static void
es_identity_release(struct es_run *e)
{
	struct source_state	*ss = e->e_ss;
	struct es_run		*w, *next;

	if (ss->ss_identity_owner != e)
		return;
	ss->ss_identity_owner = NULL;
	w = ss->ss_identity_waiters;
	ss->ss_identity_waiters = NULL;
	for (; w != NULL; w = next) {
		next = w->e_wait_next;
		w->e_waiting = 0;
		w->e_wait_next = NULL;
		es_begin(w);
	}
}

/* Leave the source's list of waiting runs. */
static void
es_unwait(struct es_run *e)
{
	struct es_run	**pp;

	if (!e->e_waiting)
		return;
	for (pp = (struct es_run **)&e->e_ss->ss_identity_waiters;
	    *pp != NULL; pp = &(*pp)->e_wait_next) {
		if (*pp == e) {
			*pp = e->e_wait_next;
			break;
		}
	}
	e->e_waiting = 0;
}

/* Stop everything now. */
static void
es_cancel(struct run *r)
{
	struct es_run	*e = run_driver(r);

	if (e == NULL)
		return;
	if (e->e_req != NULL) {
		httpc_req_cancel(e->e_req);
		e->e_req = NULL;
	}
	es_release(e);
	es_free(e);
	run_set_driver(r, NULL);
}

/* Forget what the last response said. */
static void
es_reset_response(struct es_run *e)
{
	jstream_free(e->e_js);
	e->e_js = NULL;
	e->e_status = 0;
	free(e->e_ctype);
	e->e_ctype = NULL;
	buf_reset(&e->e_body);
	e->e_parse_failed = 0;
	e->e_page = 0;
	e->e_timed_out = 0;
	e->e_shards_failed = 0;
	free(e->e_shard_type);
	free(e->e_shard_reason);
	free(e->e_err_string);
	free(e->e_err_type);
	free(e->e_err_reason);
	free(e->e_root_type);
	free(e->e_root_reason);
	free(e->e_durability);
	e->e_shard_type = e->e_shard_reason = e->e_err_string = NULL;
	e->e_err_type = e->e_err_reason = e->e_root_type = NULL;
	e->e_root_reason = e->e_durability = NULL;
}

/* Options for a request to this source. */
static void
es_opts(const struct es_run *e, struct httpc_opts *o)
{
	memset(o, 0, sizeof *o);
	o->ho_timeout_ms = e->e_cs->cs_timeout * 1000;
	o->ho_user = e->e_cs->cs_user;
	o->ho_password = e->e_cs->cs_password;
	o->ho_ca_file = e->e_cs->cs_ca_file;
	o->ho_cert_file = e->e_cs->cs_cert_file;
	o->ho_key_file = e->e_cs->cs_key_file;
	o->ho_insecure = e->e_cs->cs_insecure;
}

/* Send one request; body (may be NULL) is taken. */
static void
es_request(struct es_run *e, const char *method, const char *path,
    char *body, size_t len)
{
	struct httpc_opts	 o;
	char			*url, *auth;

	es_reset_response(e);
	url = xprintf("%s%s", e->e_cs->cs_url, path);
	log_debug("es: %s %s (%zu bytes)", method, url, body != NULL ? len : 0);
	e->e_req = httpc_req_new(e->e_httpc, method, url);
	free(url);
	es_opts(e, &o);
	httpc_req_opts(e->e_req, &o);
	httpc_req_header(e->e_req, "Accept: application/json");
	if (e->e_cs->cs_api_key != NULL) {
		auth = xprintf("Authorization: ApiKey %s", e->e_cs->cs_api_key);
		httpc_req_header(e->e_req, auth);
		free(auth);
	}
	if (body != NULL) {
		httpc_req_header(e->e_req, "Content-Type: application/json");
		httpc_req_body(e->e_req, body, len);
	}
	if (httpc_req_start(e->e_req, es_head_cb, es_data_cb, es_done_cb,
	    e) == -1) {
		e->e_req = NULL;
		/* Report from the loop: es_end defers through the run. */
		es_end(e, "could not start the request", SOURCE_FAIL_RETRY,
		    NULL);
	}
}

/* A request that lives on its own: releasing a PIT or a scroll. */
static void
es_detached_done(void *arg, const struct httpc_result *res)
{
	if (!res->hr_ok || res->hr_status >= 300)
		log_debug("es: releasing a search context failed: %s",
		    res->hr_error != NULL ? res->hr_error : "bad status");
}

/* Release the PIT or scroll of the run, if any (best effort). */
static void
es_release(struct es_run *e)
{
	struct httpc_req	*req;
	struct httpc_opts	 o;
	struct buf		 b = BUF_INIT;
	const char		*path;
	char			*url, *body;
	size_t			 len;

	if (e->e_pit != NULL) {
		if (e->e_ss->ss_flavour == ES_FLAVOUR_OPENSEARCH) {
			path = "/_search/point_in_time";
			buf_adds(&b, "{\"pit_id\":[");
			json_append_string(&b, e->e_pit, strlen(e->e_pit));
			buf_adds(&b, "]}");
		} else {
			path = "/_pit";
			buf_adds(&b, "{\"id\":");
			json_append_string(&b, e->e_pit, strlen(e->e_pit));
			buf_adds(&b, "}");
		}
	} else if (e->e_scroll != NULL) {
		path = "/_search/scroll";
		buf_adds(&b, "{\"scroll_id\":[");
		json_append_string(&b, e->e_scroll, strlen(e->e_scroll));
		buf_adds(&b, "]}");
	} else
		return;
	url = xprintf("%s%s", e->e_cs->cs_url, path);
	req = httpc_req_new(e->e_httpc, "DELETE", url);
	free(url);
	es_opts(e, &o);
	httpc_req_opts(req, &o);
	httpc_req_header(req, "Content-Type: application/json");
	if (e->e_cs->cs_api_key != NULL) {
		url = xprintf("Authorization: ApiKey %s", e->e_cs->cs_api_key);
		httpc_req_header(req, url);
		free(url);
	}
	body = buf_steal(&b, &len);
	httpc_req_body(req, body, len);
	(void)httpc_req_start(req, NULL, NULL, es_detached_done, NULL);
	free(e->e_pit);
	free(e->e_scroll);
	e->e_pit = e->e_scroll = NULL;
}

/* Forget the ids of the boundary date. */
static void
es_boundary_clear(struct es_run *e)
{
	hmap_free(e->e_boundary);
	e->e_boundary = NULL;
	buf_free(&e->e_bound);
}

/* Free the driver state. */
static void
es_free(struct es_run *e)
{
	es_unwait(e);
	es_identity_release(e);
	es_reset_response(e);
	buf_free(&e->e_body);
	buf_free(&e->e_text);
	free(e->e_pit);
	free(e->e_scroll);
	free(e->e_after);
	free(e->e_index);
	free(e->e_query);
	es_boundary_clear(e);
	free(e);
}

/*
 * End the run: release contexts, free, report; fail is the failure's class
 * (enum source_fail).
 */
static void
es_end(struct es_run *e, const char *error, int fail,
    const char *retry_after)
{
	struct run	*r = e->e_run;
	char		*err = error != NULL ? xstrdup(error) : NULL;
	char		*ra = retry_after != NULL ? xstrdup(retry_after) : NULL;

	es_release(e);
	es_free(e);
	run_set_driver(r, NULL);
	run_finish(r, err, fail, ra);
	free(err);
	free(ra);
}

/* Write the bool query with the window into g. */
static void
es_gen_query(struct es_run *e, yajl_gen g)
{
	const char	*df = e->e_cs->cs_date_field;

	jgen_str(g, "query");
	yajl_gen_map_open(g);
	jgen_str(g, "bool");
	yajl_gen_map_open(g);
	jgen_str(g, "must");
	yajl_gen_array_open(g);
	if (e->e_s->s_query_dsl != NULL)
		json_gen(g, e->e_s->s_query_dsl);
	else {
		yajl_gen_map_open(g);
		jgen_str(g, "query_string");
		yajl_gen_map_open(g);
		jgen_kstr(g, "query", e->e_query);
		yajl_gen_map_close(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	jgen_str(g, "filter");
	yajl_gen_array_open(g);
	yajl_gen_map_open(g);
	jgen_str(g, "range");
	yajl_gen_map_open(g);
	jgen_str(g, df);
	yajl_gen_map_open(g);
	jgen_kint(g, "gte", e->e_resuming ? e->e_resume_ms : run_from(e->e_run));
	jgen_kint(g, "lt", run_to(e->e_run));
	jgen_kstr(g, "format", "epoch_millis");
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

/* One terms level: "name": {"terms": {"field": F, "size": N}, "aggs"...}. */
static void
es_gen_terms(yajl_gen g, const char *name, const char *field, int64_t size)
{
	jgen_str(g, name);
	yajl_gen_map_open(g);
	jgen_str(g, "terms");
	yajl_gen_map_open(g);
	jgen_kstr(g, "field", field);
	jgen_kint(g, "size", size);
	yajl_gen_map_close(g);
}

/*
 * The aggregation: "a" terms, inside it "b" terms when nested, and the
 * metric "m" in the innermost.
 */
static void
es_gen_aggs(struct es_run *e, yajl_gen g)
{
	jgen_str(g, "aggs");
	yajl_gen_map_open(g);
	es_gen_terms(g, "a", e->e_agg_terms, e->e_agg_size);
	if (e->e_agg_terms2 != NULL || e->e_agg_metric != NULL) {
		jgen_str(g, "aggs");
		yajl_gen_map_open(g);
		if (e->e_agg_terms2 != NULL) {
			es_gen_terms(g, "b", e->e_agg_terms2, e->e_agg_size2);
			if (e->e_agg_metric != NULL) {
				jgen_str(g, "aggs");
				yajl_gen_map_open(g);
			}
		}
		if (e->e_agg_metric != NULL) {
			jgen_str(g, "m");
			yajl_gen_map_open(g);
			jgen_str(g, e->e_agg_metric);
			yajl_gen_map_open(g);
			jgen_kstr(g, "field", e->e_agg_mfield);
			yajl_gen_map_close(g);
			yajl_gen_map_close(g);
		}
		if (e->e_agg_terms2 != NULL) {
			if (e->e_agg_metric != NULL)
				yajl_gen_map_close(g);	/* b.aggs */
			yajl_gen_map_close(g);		/* b */
		}
		yajl_gen_map_close(g);			/* a.aggs */
	}
	yajl_gen_map_close(g);				/* a */
	yajl_gen_map_close(g);				/* aggs */
}

/* The body of a search (first page or next with search_after). */
static char *
es_search_body(struct es_run *e, size_t *len)
{
	yajl_gen	 g;
	struct buf	 b = BUF_INIT;
	size_t		 i;

	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_kint(g, "size", e->e_count_only ? 0 : ES_PAGE_SIZE);
	es_gen_query(e, g);
	if (es_tth_ok(e->e_ss))
		jgen_kbool(g, "track_total_hits", 1);
	if (e->e_agg_terms != NULL)
		es_gen_aggs(e, g);
	if (!e->e_count_only) {
		jgen_str(g, "sort");
		yajl_gen_array_open(g);
		yajl_gen_map_open(g);
		jgen_str(g, e->e_cs->cs_date_field);
		yajl_gen_map_open(g);
		jgen_kstr(g, "order", "asc");
		jgen_kstr(g, "unmapped_type", "date");
		yajl_gen_map_close(g);
		yajl_gen_map_close(g);
		yajl_gen_array_close(g);
		if (e->e_s->s_nfields > 0) {
			jgen_str(g, "_source");
			yajl_gen_array_open(g);
			for (i = 0; i < e->e_s->s_nfields; i++)
				jgen_str(g, e->e_s->s_fields[i]);
			jgen_str(g, e->e_cs->cs_date_field);
			yajl_gen_array_close(g);
		}
		if (e->e_after != NULL) {
			jgen_str(g, "search_after");
			jgen_raw(g, e->e_after, strlen(e->e_after));
		}
		if (e->e_pit != NULL) {
			jgen_str(g, "pit");
			yajl_gen_map_open(g);
			jgen_kstr(g, "id", e->e_pit);
			jgen_kstr(g, "keep_alive", ES_KEEP_ALIVE);
			yajl_gen_map_close(g);
		}
	}
	yajl_gen_map_close(g);
	jgen_take(g, &b);
	yajl_gen_free(g);
	return (buf_steal(&b, len));
}

/* Ask for the first or the next page. */
static void
es_search_page(struct es_run *e)
{
	struct buf	 path = BUF_INIT;
	char		*body;
	size_t		 len;

	if (e->e_resuming && e->e_pit == NULL && e->e_scroll == NULL) {
		e->e_use_pit = es_pit_ok(e->e_ss);
		if (e->e_use_pit) {
			e->e_phase = ES_PIT_OPEN;
			buf_addc(&path, '/');
			util_urlencode(&path, es_index(e), strlen(es_index(e)), "*,:+");
			buf_adds(&path, "/_pit?keep_alive=" ES_KEEP_ALIVE);
			if (es_lenient(e))
				buf_adds(&path, "&ignore_unavailable=true");
			es_request(e, "POST", path.b_data, NULL, 0);
			buf_free(&path);
			return;
		}
	}
	if (e->e_scroll != NULL) {
		struct buf b = BUF_INIT;

		e->e_phase = ES_SCROLL_NEXT;
		buf_adds(&b, "{\"scroll\":\"" ES_KEEP_ALIVE "\",\"scroll_id\":");
		json_append_string(&b, e->e_scroll, strlen(e->e_scroll));
		buf_addc(&b, '}');
		body = buf_steal(&b, &len);
		es_request(e, "POST", "/_search/scroll", body, len);
		return;
	}
	e->e_phase = ES_SEARCH;
	body = es_search_body(e, &len);
	if (e->e_pit != NULL)
		buf_adds(&path, "/_search");
	else {
		buf_addc(&path, '/');
		util_urlencode(&path, es_index(e), strlen(es_index(e)), "*,:+");
		buf_adds(&path, "/_search");
		if (es_lenient(e))
			buf_adds(&path, "?ignore_unavailable=true"
			    "&allow_no_indices=true");
		if (e->e_resuming) {
			buf_addc(&path, es_lenient(e) ? '&' : '?');
			buf_adds(&path, "scroll=" ES_KEEP_ALIVE);
		}
	}
	es_request(e, "POST", path.b_data, body, len);
	buf_free(&path);
}

/* Status and content type are known. */
static int
es_head_cb(void *arg, long status, const char *ctype)
{
	struct es_run	*e = arg;

	e->e_status = status;
	if (ctype != NULL)
		e->e_ctype = xstrdup(ctype);
	e->e_js = jstream_new(es_patterns, es_record_cb, es_scalar_cb, e);
	return (0);
}

/* A chunk of the body: keep the start of small bodies, parse it all. */
static int
es_data_cb(void *arg, const char *data, size_t len)
{
	struct es_run	*e = arg;
	size_t		 keep;

	if (e->e_body.b_len < ES_BODY_MAX) {
		keep = ES_BODY_MAX - e->e_body.b_len;
		buf_add(&e->e_body, data, len < keep ? len : keep);
	}
	if (e->e_parse_failed)
		return (0);
	if (jstream_feed(e->e_js, data, len) == -1) {
		if (e->e_enough)
			return (-1);	/* the run has all it will use */
		e->e_parse_failed = 1;
		/* Error bodies may be text; the start is kept. */
		if (e->e_status >= 200 && e->e_status < 300)
			return (-1);
	}
	return (0);
}

/* If v is a JSON array of exactly one scalar, give that scalar. */
static int
es_unwrap(const char *v, size_t n, const char **out, size_t *outlen)
{
	size_t	 i;
	int	 instr = 0, esc = 0;

	if (n < 3 || v[0] != '[' || v[n - 1] != ']')
		return (0);
	if (v[1] == '[' || v[1] == '{')
		return (0);
	for (i = 1; i < n - 1; i++) {
		if (instr) {
			if (esc)
				esc = 0;
			else if (v[i] == '\\')
				esc = 1;
			else if (v[i] == '"')
				instr = 0;
		} else if (v[i] == '"')
			instr = 1;
		else if (v[i] == ',')
			return (0);
	}
	*out = v + 1;
	*outlen = n - 2;
	return (1);
}

/*
 * One bucket row: {terms: key[, terms2: key2], "count": n[, metric: v]},
 * to the run when n lies inside the threshold.  Returns 1 when the run has
 * all it will use.
 */
static int
es_bucket_row(struct es_run *e, const char *k1, size_t k1len,
    const char *k2, size_t k2len, int64_t count, const char *mv, size_t mvlen)
{
	struct record	*rec;

	if (!search_threshold_ok(e->e_s, (double)count))
		return (0);
	if (!e->e_agg_passed) {
		e->e_agg_passed = 1;
		e->e_agg_count = count;
	}
	rec = record_new();
	record_add(rec, e->e_agg_terms, strlen(e->e_agg_terms), k1, k1len);
	if (k2 != NULL)
		record_add(rec, e->e_agg_terms2, strlen(e->e_agg_terms2), k2,
		    k2len);
	record_add_int(rec, "count", count);
	if (e->e_agg_metric != NULL)
		record_add(rec, e->e_agg_metric, strlen(e->e_agg_metric),
		    mv != NULL ? mv : "null", mv != NULL ? mvlen : 4);
	return (run_record(e->e_run, rec));
}

/* The JSON text of a bucket's key (key_as_string when given) into b. */
static void
es_bucket_key(const struct json *bucket, struct buf *b)
{
	const struct json	*k;
	char			*t;
	size_t			 n;

	if ((k = json_get(bucket, "key_as_string")) == NULL)
		k = json_get(bucket, "key");
	if (k == NULL) {
		buf_adds(b, "null");
		return;
	}
	t = json_to_string(k, &n);
	buf_add(b, t, n);
	free(t);
}

/*
 * A bucket of the outer terms: one row, or one per inner bucket (whose
 * array arrives whole, as JSON text).
 */
static int
es_bucket_cb(struct es_run *e, struct record *b)
{
	struct json	*inner, *ib;
	struct buf	 key2 = BUF_INIT, mv = BUF_INIT;
	const char	*k1, *v;
	char		 msg[128], *t;
	size_t		 k1len, vlen, i, n;
	int64_t		 count;
	int		 rc = 0;

	if ((k1 = record_get(b, "key_as_string", &k1len)) == NULL &&
	    (k1 = record_get(b, "key", &k1len)) == NULL) {
		record_free(b);
		return (0);
	}
	if (e->e_agg_terms2 == NULL) {
		if ((v = record_get(b, "doc_count", &vlen)) == NULL ||
		    util_parse_int64(v, vlen, &count) == -1)
			count = 0;
		v = record_get(b, "m.value", &vlen);
		rc = es_bucket_row(e, k1, k1len, NULL, 0, count, v, vlen);
		record_free(b);
		return (rc);
	}
	if ((v = record_get(b, "b.buckets", &vlen)) == NULL ||
	    (inner = json_parse(v, vlen, msg, sizeof msg)) == NULL) {
		record_free(b);
		return (0);
	}
	for (i = 0; i < json_len(inner) && rc == 0; i++) {
		ib = json_at(inner, i);
		buf_reset(&key2);
		buf_reset(&mv);
		es_bucket_key(ib, &key2);
		if (!json_int(json_get(ib, "doc_count"), &count))
			count = 0;
		if (e->e_agg_metric != NULL &&
		    json_get(json_get(ib, "m"), "value") != NULL) {
			t = json_to_string(json_get(json_get(ib, "m"),
			    "value"), &n);
			buf_add(&mv, t, n);
			free(t);
		}
		rc = es_bucket_row(e, k1, k1len, key2.b_data, key2.b_len,
		    count, mv.b_len > 0 ? mv.b_data : NULL, mv.b_len);
	}
	json_free(inner);
	buf_free(&key2);
	buf_free(&mv);
	record_free(b);
	return (rc);
}

/* One hit: build the record of its content and hand it to the run. */
static int
es_record_cb(void *arg, int pattern, struct record *hit)
{
	struct es_run	*e = arg;
	struct record	*rec;
	const char	*k, *v, *df = e->e_cs->cs_date_field;
	const char	*inner;
	size_t		 i, klen, vlen, ilen;
	int64_t		 ms;

	if (pattern == 1) {
		if (e->e_agg_terms == NULL) {
			/* buckets nobody asked for: ours to free (fuzz_es) */
			record_free(hit);
			return (0);
		}
		if (es_bucket_cb(e, hit) == 0)
			return (0);
		e->e_enough = 1;
		return (-1);
	}
	rec = record_new();
	for (i = 0; i < record_count(hit); i++) {
		k = record_key(hit, i, &klen);
		v = record_val(hit, i, &vlen);
		if (klen > 8 && memcmp(k, "_source.", 8) == 0)
			record_add(rec, k + 8, klen - 8, v, vlen);
		else if (klen > 7 && memcmp(k, "fields.", 7) == 0) {
			if (record_find(rec, k + 7, klen - 7) >= 0)
				continue;
			if (es_unwrap(v, vlen, &inner, &ilen))
				record_add(rec, k + 7, klen - 7, inner, ilen);
			else
				record_add(rec, k + 7, klen - 7, v, vlen);
		} else if (klen == 4 && memcmp(k, "sort", 4) == 0) {
			record_set_sort(rec, v, vlen);
			free(e->e_after);
			e->e_after = xstrndup(v, vlen);
		}
	}
	/* The source id "index/id", built in place. */
	buf_reset(&e->e_text);
	if (record_get_text(hit, "_index", &e->e_text) == 0) {
		buf_addc(&e->e_text, '/');
		if (record_get_text(hit, "_id", &e->e_text) == 0)
			record_set_id(rec, e->e_text.b_data, e->e_text.b_len);
	}
	e->e_page++;
	if (!e->e_count_only && es_boundary(e, rec) == 1) {
		/* Had on the first page. */
		record_free(rec);
		record_free(hit);
		return (0);
	}
	/* Event time from the date field, which then leaves the content. */
	if ((v = record_get(rec, df, &vlen)) != NULL) {
		buf_reset(&e->e_text);
		if (vlen > 0 && v[0] == '"') {
			(void)record_get_text(rec, df, &e->e_text);
			if (util_parse_time_ms(e->e_text.b_data,
			    e->e_text.b_len, &ms) == 0)
				rec->r_time = ms;
		} else if (util_parse_int64(v, vlen, &ms) == 0)
			rec->r_time = ms;
		else if (es_unwrap(v, vlen, &inner, &ilen) && ilen > 2 &&
		    inner[0] == '"' && util_parse_time_ms(inner + 1, ilen - 2,
		    &ms) == 0)
			rec->r_time = ms;
		record_del(rec, df);
	}
	record_free(hit);
	if (run_record(e->e_run, rec) == 1) {
		e->e_enough = 1;
		return (-1);
	}
	return (0);
}

/*
 * Keep the ids of the last sort date on the first page; when resuming,
 * say (1) whether this hit is one of them.
 */
static int
es_boundary(struct es_run *e, const struct record *rec)
{
	const char	*p;
	int64_t		 ms;
	size_t		 n;

	if (e->e_after == NULL || rec->r_id == NULL)
		return (0);
	p = e->e_after;
	if (*p == '[')
		p++;
	n = strcspn(p, ",]");
	if (util_parse_int64(p, n, &ms) == -1)
		return (0);
	if (e->e_resuming) {
		if (e->e_boundary == NULL || ms != e->e_resume_ms)
			return (0);
		return (hmap_get(e->e_boundary, rec->r_id,
		    strlen(rec->r_id)) != NULL);
	}
	/* Cheap on every hit: a list, made a map only when resuming. */
	if (e->e_bound.b_len == 0 || ms != e->e_last_ms) {
		buf_reset(&e->e_bound);
		e->e_last_ms = ms;
	}
	buf_add(&e->e_bound, rec->r_id, strlen(rec->r_id) + 1);
	return (0);
}

/* Replace *dst with a copy of s (n bytes), unless already set. */
static void
es_keep_first(char **dst, const char *s, size_t n)
{
	if (*dst == NULL)
		*dst = xstrndup(s, n);
}

/* A scalar outside hits: totals, errors, shard failures, context ids. */
static int
es_scalar_cb(void *arg, const char *path, enum json_type type,
    const char *text, size_t len)
{
	struct es_run	*e = arg;
	int64_t		 v;

	if (strcmp(path, "hits.total") == 0 ||
	    strcmp(path, "hits.total.value") == 0) {
		if (type == JSON_NUMBER && util_parse_int64(text, len, &v) == 0 &&
		    v >= 0) {
			e->e_total_value = (uint64_t)v;
			if (e->e_pages == 0 && e->e_agg_terms == NULL)
				run_total(e->e_run, (uint64_t)v, 1);
		}
	} else if (strcmp(path, "hits.total.relation") == 0) {
		if (len == 3 && memcmp(text, "gte", 3) == 0 && e->e_pages == 0 &&
		    e->e_agg_terms == NULL)
			run_total(e->e_run, e->e_total_value, 0);
	} else if (strcmp(path, "timed_out") == 0)
		e->e_timed_out = type == JSON_BOOL && len == 4;
	else if (strcmp(path, "_shards.failed") == 0) {
		if (util_parse_int64(text, len, &v) == 0)
			e->e_shards_failed = v;
	} else if (strcmp(path, "_shards.failures[].reason.reason") == 0)
		es_keep_first(&e->e_shard_reason, text, len);
	else if (strcmp(path, "_shards.failures[].reason.type") == 0)
		es_keep_first(&e->e_shard_type, text, len);
	else if (strcmp(path, "error") == 0 && type == JSON_STRING)
		es_keep_first(&e->e_err_string, text, len);
	else if (strcmp(path, "error.type") == 0)
		es_keep_first(&e->e_err_type, text, len);
	else if (strcmp(path, "error.reason") == 0)
		es_keep_first(&e->e_err_reason, text, len);
	else if (strcmp(path, "error.root_cause[].type") == 0)
		es_keep_first(&e->e_root_type, text, len);
	else if (strcmp(path, "error.root_cause[].reason") == 0)
		es_keep_first(&e->e_root_reason, text, len);
	else if (strcmp(path, "error.root_cause[].durability") == 0 ||
	    strcmp(path, "error.durability") == 0)
		es_keep_first(&e->e_durability, text, len);
	else if ((strcmp(path, "pit_id") == 0 || (strcmp(path, "id") == 0 &&
	    e->e_phase == ES_PIT_OPEN)) && type == JSON_STRING) {
		free(e->e_pit);
		e->e_pit = xstrndup(text, len);
	} else if (strcmp(path, "_scroll_id") == 0 && type == JSON_STRING) {
		free(e->e_scroll);
		e->e_scroll = xstrndup(text, len);
	}
	return (0);
}

/* The cluster's reason for a non-2xx answer, in its own words. */
static void
es_error_text(struct es_run *e, struct buf *b)
{
	size_t	 i, n;

	buf_printf(b, "elasticsearch answered %ld", e->e_status);
	if (e->e_err_string != NULL) {
		buf_printf(b, ": %s", e->e_err_string);
		return;
	}
	if (e->e_root_reason != NULL || e->e_err_reason != NULL) {
		buf_printf(b, ": %s: %s",
		    e->e_root_type != NULL ? e->e_root_type :
		    e->e_err_type != NULL ? e->e_err_type : "error",
		    e->e_root_reason != NULL ? e->e_root_reason :
		    e->e_err_reason);
		return;
	}
	if (e->e_err_type != NULL) {
		buf_printf(b, ": %s", e->e_err_type);
		return;
	}
	/* Not JSON: a proxy page or plain text; show its start, on one line. */
	n = e->e_body.b_len < 200 ? e->e_body.b_len : 200;
	if (n > 0) {
		buf_adds(b, ": ");
		for (i = 0; i < n; i++) {
			char c = e->e_body.b_data[i];

			buf_addc(b, c == '\n' || c == '\r' || c == '\t' ? ' ' :
			    c);
		}
	}
}

/* The identity answer: flavour and version. */
static int
es_take_identity(struct es_run *e, struct buf *err)
{
	struct json	*j;
	const char	*num, *dist;
	char		 msg[128];
	int		 major = 0, minor = 0;

	if ((j = json_parse(e->e_body.b_data, e->e_body.b_len, msg,
	    sizeof msg)) == NULL) {
		buf_printf(err, "GET / of source %s is not JSON: %s",
		    e->e_cs->cs_name, msg);
		return (-1);
	}
	num = json_str(json_get(json_get(j, "version"), "number"));
	dist = json_str(json_get(json_get(j, "version"), "distribution"));
	if (num == NULL || sscanf(num, "%d.%d", &major, &minor) < 1) {
		buf_printf(err, "GET / of source %s has no version.number",
		    e->e_cs->cs_name);
		json_free(j);
		return (-1);
	}
	e->e_ss->ss_flavour = dist != NULL && strcmp(dist, "opensearch") == 0 ?
	    ES_FLAVOUR_OPENSEARCH : ES_FLAVOUR_ELASTIC;
	e->e_ss->ss_major = major;
	e->e_ss->ss_minor = minor;
	e->e_ss->ss_identity_at = util_now_ms();
	json_free(j);
	return (0);
}

/* A response is complete. */
static void
es_done_cb(void *arg, const struct httpc_result *res)
{
	struct es_run	*e = arg;
	struct buf	 msg = BUF_INIT;
	struct hmap	*bound;
	const char	*p;
	int		 fail, parsed;

	e->e_req = NULL;
	log_debug("es: done ok=%d status=%ld bytes=%zu error=%s", res->hr_ok,
	    res->hr_status, (size_t)res->hr_bytes,
	    res->hr_error != NULL ? res->hr_error : "-");
	if (e->e_parse_failed && e->e_status >= 200 && e->e_status < 300) {
		buf_printf(&msg, "source %s: the response is not valid JSON: "
		    "%s", e->e_cs->cs_name, jstream_error(e->e_js));
		es_end(e, msg.b_data, SOURCE_FAIL_RETRY, NULL);
		buf_free(&msg);
		return;
	}
	if (!res->hr_ok && !(res->hr_aborted && e->e_enough)) {
		buf_printf(&msg, "source %s: %s", e->e_cs->cs_name,
		    res->hr_error != NULL ? res->hr_error : "request failed");
		/* A reset, a refused connection, a timeout. */
		es_end(e, msg.b_data, sources_fail_http(res),
		    res->hr_retry_after);
		buf_free(&msg);
		return;
	}
	parsed = e->e_js != NULL && !e->e_parse_failed && (e->e_enough ||
	    jstream_finish(e->e_js) == 0);
	if (e->e_status < 200 || e->e_status >= 300) {
		if (e->e_phase == ES_IDENTITY)
			buf_printf(&msg, "GET / of source %s: ",
			    e->e_cs->cs_name);
		es_error_text(e, &msg);
		fail = sources_fail_status(e->e_status);
		if (e->e_durability != NULL &&
		    strcmp(e->e_durability, "PERMANENT") == 0)
			fail = SOURCE_FAIL_FINAL;
		/* An identity that failed is asked again next time. */
		if (e->e_phase == ES_IDENTITY)
			e->e_ss->ss_identity_at = 0;
		es_end(e, msg.b_data, fail, res->hr_retry_after);
		buf_free(&msg);
		return;
	}
	if (!parsed) {
		buf_printf(&msg, "source %s: the response is not valid JSON: %s",
		    e->e_cs->cs_name, e->e_js != NULL ?
		    jstream_error(e->e_js) : "no body");
		es_end(e, msg.b_data, SOURCE_FAIL_RETRY, NULL);
		buf_free(&msg);
		return;
	}
	switch (e->e_phase) {
	case ES_IDENTITY:
		if (es_take_identity(e, &msg) == -1) {
			/* A garbled answer: asked again, soon. */
			e->e_ss->ss_identity_at = 0;
			es_end(e, msg.b_data, SOURCE_FAIL_RETRY, NULL);
			buf_free(&msg);
			return;
		}
		es_identity_release(e);
		es_search_page(e);
		return;
	case ES_PIT_OPEN:
		if (e->e_pit == NULL) {
			buf_printf(&msg, "source %s: opening a point in time "
			    "gave no id", e->e_cs->cs_name);
			es_end(e, msg.b_data, SOURCE_FAIL_RETRY, NULL);
			buf_free(&msg);
			return;
		}
		es_search_page(e);
		return;
	case ES_SEARCH:
	case ES_SCROLL_NEXT:
		break;
	}
	if (e->e_shards_failed > 0) {
		buf_printf(&msg, "partial results: %lld shard%s failed",
		    (long long)e->e_shards_failed,
		    e->e_shards_failed == 1 ? "" : "s");
		if (e->e_shard_reason != NULL)
			buf_printf(&msg, ": %s: %s", e->e_shard_type != NULL ?
			    e->e_shard_type : "error", e->e_shard_reason);
		/*
		 * A node away or a mapping that never fits: retried soon,
		 * and the back-off grows to its cap if it stays.
		 */
		es_end(e, msg.b_data, SOURCE_FAIL_RETRY, NULL);
		buf_free(&msg);
		return;
	}
	if (e->e_timed_out) {
		es_end(e, "partial results: the search timed out on the "
		    "cluster", SOURCE_FAIL_SLOW, NULL);
		return;
	}
	e->e_pages++;
	if (e->e_agg_terms != NULL)
		/*
		 * The threshold was applied to each bucket: the run's own
		 * check sees the count of one that alerted (or 0).
		 */
		run_total(e->e_run, e->e_agg_passed ?
		    (uint64_t)e->e_agg_count : 0, 1);
	if (e->e_count_only || e->e_enough || e->e_page < ES_PAGE_SIZE) {
		es_end(e, NULL, 0, NULL);
		return;
	}
	if (!e->e_resuming) {
		/* A full first page: page the rest in a search context. */
		if (e->e_bound.b_len == 0) {
			es_end(e, "the first page of hits had no sort values "
			    "to page on", SOURCE_FAIL_FINAL, NULL);
			return;
		}
		bound = hmap_new();
		for (p = e->e_bound.b_data; p < e->e_bound.b_data +
		    e->e_bound.b_len; p += strlen(p) + 1)
			hmap_put(bound, p, strlen(p), e);
		es_boundary_clear(e);
		e->e_boundary = bound;
		e->e_resuming = 1;
		e->e_resume_ms = e->e_last_ms;
		free(e->e_after);
		e->e_after = NULL;
	}
	es_search_page(e);
}
