/*
 * src_graphite.c -- the graphite search type: a render target checked
 * against thresholds.
 *
 * One run is one GET of the source's
 *
 *	/render?target=QUERY&format=json&from=FROM&until=UNTIL
 *
 * with the search's "query" as the target expression (wildcards and
 * functions allowed; URL-encoded) and FROM, UNTIL the run's window in
 * epoch seconds, so "range" and "delay" choose the points looked at.  The
 * answer, an array of series {"target", "tags", "datapoints"}, is
 * streamed through jstream, one series at a time.
 *
 * Of each series only the last complete datapoint counts: the last one
 * whose value is not null (graphite's newest bucket is often null, not
 * yet written).  graphite-web writes infinities as 1e9999 and -1e9999,
 * which yajl's double parser refuses, so values are read from their text
 * with strtod (giving +-inf); NaN arrives as null already.  A series whose
 * points are all null gives no record; the run says how many did so.
 *
 * The definition's optional "above" and "below" (numbers) are thresholds
 * on that value: a series becomes a record only when its value is greater
 * than "above" or less than "below", so each series that crosses gives
 * one alert.  With neither, every series with a value is a record, and
 * the search's "result" and "threshold" decide as for other types.
 *
 * A record has "target" (the series name), "value" (a number, or the
 * string "+Inf" or "-Inf"), "time" (RFC 3339, also the record's time) and
 * the series' tags as "tags.NAME" fields.
 *
 * A status outside 2xx fails the run with graphite's own first line of
 * text ("graphite NAME: HTTP 400: Invalid parameters ...").  429, 502,
 * 503, 504 and dropped connections may be retried; other errors, and a 2xx
 * answer that is not a JSON array of series, are not.
 */
#include "autoconf.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "httpc.h"
#include "json.h"
#include "jstream.h"
#include "log.h"
#include "record.h"
#include "run.h"
#include "search.h"
#include "sources.h"
#include "src.h"
#include "util.h"
#include "xmalloc.h"

#define GRAPHITE_BODY_MAX	(16 * 1024)	/* kept of an error body */
#define GRAPHITE_LINE_MAX	300		/* of its text in a message */

struct graphite_run {
	struct run			*g_run;
	const struct search		*g_s;
	const struct config_source	*g_cs;
	struct httpc_req		*g_req;
	struct jstream			*g_js;
	long				 g_status;
	char				*g_ctype;	/* Content-Type, or NULL */
	int				 g_json;	/* 2xx JSON: parsing */
	int				 g_started;	/* first byte seen */
	struct buf			 g_body;	/* first BODY_MAX, when
							   not parsing */
	int				 g_parse_failed;
	int				 g_enough;	/* the run has all */
	char				*g_refused;	/* why parsing stopped */
	int				 g_has_above;
	int				 g_has_below;
	double				 g_above;
	double				 g_below;
	uint64_t			 g_series;	/* seen */
	uint64_t			 g_records;	/* handed to the run */
	uint64_t			 g_empty;	/* all null */
};

static int	graphite_validate(const struct json *, const struct config *,
		    struct search_err *);
static int	graphite_start(struct run *, char *, size_t);
static void	graphite_cancel(struct run *);

const struct src_ops src_graphite_ops = {
	SEARCH_GRAPHITE, graphite_validate, graphite_start, graphite_cancel
};

static const char *const graphite_patterns[] = { "[]", NULL };

/* Keys of the definition that other types use and graphite does not. */
static const char *const graphite_foreign[] = {
	"query_dsl", "index", "aggregation", "host", "port", "url", "method",
	"expect_status", "match", "max_latency", "cert_expiry_days",
	"ca_file", "alerts", NULL
};

/* Fill err and return -1. */
static int
graphite_fail(struct search_err *err, const char *field, const char *msg)
{
	snprintf(err->se_field, sizeof err->se_field, "%s", field);
	snprintf(err->se_message, sizeof err->se_message, "%s", msg);
	return (-1);
}

/*
 * An optional threshold key: absent or null gives 0, a finite number 1
 * with *out set, anything else -1 with err.
 */
static int
graphite_threshold(const struct json *def, const char *key, double *out,
    struct search_err *err)
{
	const struct json	*j;
	char			 msg[128];

	j = json_get(def, key);
	if (j == NULL || j->j_type == JSON_NULL)
		return (0);
	if (j->j_type != JSON_NUMBER || !isfinite(j->j_u.num.d)) {
		snprintf(msg, sizeof msg, "must be a number (the series' last "
		    "value is compared with it), not %s",
		    j->j_type == JSON_NUMBER ? "an infinite number" :
		    json_type_name(j->j_type));
		return (graphite_fail(err, key, msg));
	}
	*out = j->j_u.num.d;
	return (1);
}

/* Check the graphite keys of a definition. */
static int
graphite_validate(const struct json *def, const struct config *cfg,
    struct search_err *err)
{
	const struct json		*j;
	double				 d;

	if (src_refuse_keys(def, graphite_foreign, "graphite", err) == -1)
		return (-1);
	if (src_check_source(def, cfg, SOURCE_GRAPHITE, "graphite", err) == -1)
		return (-1);
	j = json_get(def, "query");
	if (j == NULL || j->j_type == JSON_NULL)
		return (graphite_fail(err, "query", "is required for type "
		    "graphite (a render target, e.g. \"servers.*.load\")"));
	if (json_str(j) == NULL)
		return (graphite_fail(err, "query",
		    "must be a graphite target string"));
	if (*json_str(j) == '\0')
		return (graphite_fail(err, "query", "is empty"));
	if (graphite_threshold(def, "above", &d, err) == -1 ||
	    graphite_threshold(def, "below", &d, err) == -1)
		return (-1);
	return (0);
}

/* Free the driver state. */
static void
graphite_free(struct graphite_run *g)
{
	jstream_free(g->g_js);
	buf_free(&g->g_body);
	free(g->g_ctype);
	free(g->g_refused);
	free(g);
}

/* End the run. */
static void
graphite_end(struct graphite_run *g, const char *error, int retryable,
    const char *retry_after)
{
	struct run	*r = g->g_run;
	char		*err = error != NULL ? xstrdup(error) : NULL;
	char		*ra = retry_after != NULL ? xstrdup(retry_after) : NULL;
	char		*w;

	if (err == NULL) {
		if (g->g_empty > 0) {
			w = xprintf("%llu of %llu series had no datapoints in "
			    "the window", (unsigned long long)g->g_empty,
			    (unsigned long long)g->g_series);
			run_warn(r, w);
			free(w);
		}
		run_total(r, g->g_records, 1);
	}
	graphite_free(g);
	run_set_driver(r, NULL);
	run_finish(r, err, retryable, ra);
	free(err);
	free(ra);
}

/*
 * The last datapoint of a "datapoints" array (JSON text) whose value is
 * not null: 1 with *val and *ts (seconds) set, 0 when there is none, -1
 * when the array is not [[value, time], ...].
 */
static int
graphite_last(const char *text, size_t len, double *val, int64_t *ts)
{
	struct json	*a, *pt, *v, *t;
	char		 msg[64], *end;
	size_t		 i;
	double		 d;
	int		 rc = 0;

	if ((a = json_parse(text, len, msg, sizeof msg)) == NULL)
		return (-1);
	if (a->j_type != JSON_ARRAY) {
		json_free(a);
		return (-1);
	}
	for (i = a->j_u.arr.n; i > 0; i--) {
		pt = json_at(a, i - 1);
		if (pt->j_type != JSON_ARRAY || json_len(pt) != 2) {
			rc = -1;
			break;
		}
		v = json_at(pt, 0);
		t = json_at(pt, 1);
		if (v->j_type == JSON_NULL)
			continue;
		if (v->j_type != JSON_NUMBER || t->j_type != JSON_NUMBER) {
			rc = -1;
			break;
		}
		/* 1e9999 is graphite's infinity: strtod gives HUGE_VAL */
		*val = strtod(v->j_u.num.text, NULL);
		d = strtod(t->j_u.num.text, &end);
		if (*end != '\0' || !isfinite(d) || d < 0 || d > 1e11) {
			rc = -1;
			break;
		}
		*ts = (int64_t)d;
		rc = 1;
		break;
	}
	json_free(a);
	return (rc);
}

/* Does v cross the search's thresholds (any v without thresholds)? */
static int
graphite_crosses(const struct graphite_run *g, double v)
{
	if (!g->g_has_above && !g->g_has_below)
		return (1);
	if (g->g_has_above && v > g->g_above)
		return (1);
	if (g->g_has_below && v < g->g_below)
		return (1);
	return (0);
}

/* One series: a record when its last value crosses. */
static int
graphite_record_cb(void *arg, int pattern, struct record *el)
{
	struct graphite_run	*g = arg;
	struct record		*rec;
	const char		*k, *val;
	char			 num[64];
	size_t			 i, klen, vlen;
	int64_t			 ts;
	double			 d;
	int			 rc;

	(void)pattern;
	g->g_series++;
	val = record_get(el, "datapoints", &vlen);
	rc = val != NULL ? graphite_last(val, vlen, &d, &ts) : 0;
	val = record_get(el, "target", &vlen);
	if (rc == -1 || (val != NULL && (vlen == 0 || val[0] != '"'))) {
		record_free(el);
		if (g->g_refused == NULL)
			g->g_refused = xstrdup("the answer is not an array of "
			    "series: \"datapoints\" must be [[value, time], "
			    "...] and \"target\" a string");
		return (-1);
	}
	if (rc == 0 || !graphite_crosses(g, d)) {
		if (rc == 0)
			g->g_empty++;
		record_free(el);
		return (0);
	}
	rec = record_new();
	if (val != NULL)
		record_add(rec, "target", 6, val, vlen);
	else
		record_add_str(rec, "target", "", 0);
	if (isinf(d))
		record_add_str(rec, "value", d > 0 ? "+Inf" : "-Inf", 4);
	else {
		snprintf(num, sizeof num, "%.15g", d);
		if (strtod(num, NULL) != d)
			snprintf(num, sizeof num, "%.17g", d);
		record_add(rec, "value", 5, num, strlen(num));
	}
	rec->r_time = ts * 1000;
	util_fmt_time(rec->r_time, num, sizeof num);
	record_add_str(rec, "time", num, strlen(num));
	for (i = 0; i < record_count(el); i++) {
		k = record_key(el, i, &klen);
		val = record_val(el, i, &vlen);
		if (klen > 5 && memcmp(k, "tags.", 5) == 0)
			record_add(rec, k, klen, val, vlen);
	}
	record_free(el);
	g->g_records++;
	if (run_record(g->g_run, rec) == 1) {
		g->g_enough = 1;
		return (-1);
	}
	return (0);
}

/* A scalar outside a series: only an element that is not an object. */
static int
graphite_scalar_cb(void *arg, const char *path, enum json_type type,
    const char *text, size_t len)
{
	struct graphite_run	*g = arg;

	(void)type;
	(void)text;
	(void)len;
	if (strcmp(path, "[]") == 0 && g->g_refused == NULL) {
		g->g_refused = xstrdup("the answer is not an array of series "
		    "objects");
		return (-1);
	}
	return (0);
}

/* True when the Content-Type says JSON (or there is none). */
static int
graphite_is_json(const char *ctype)
{
	const char	*p;

	if (ctype == NULL)
		return (1);
	for (p = ctype; *p != '\0'; p++) {
		if (strncasecmp(p, "json", 4) == 0)
			return (1);
	}
	return (0);
}

/* Status and headers are known: parse a 2xx JSON answer, keep others. */
static int
graphite_head_cb(void *arg, long status, const char *ctype)
{
	struct graphite_run	*g = arg;

	g->g_status = status;
	free(g->g_ctype);
	g->g_ctype = ctype != NULL ? xstrdup(ctype) : NULL;
	if (status >= 200 && status < 300 && graphite_is_json(ctype)) {
		g->g_json = 1;
		g->g_js = jstream_new(graphite_patterns, graphite_record_cb,
		    graphite_scalar_cb, g);
	}
	return (0);
}

/* A chunk of the body. */
static int
graphite_data_cb(void *arg, const char *data, size_t len)
{
	struct graphite_run	*g = arg;
	size_t			 i, keep;

	if (!g->g_json) {
		if (g->g_body.b_len < GRAPHITE_BODY_MAX) {
			keep = GRAPHITE_BODY_MAX - g->g_body.b_len;
			buf_add(&g->g_body, data, len < keep ? len : keep);
		}
		return (0);
	}
	if (g->g_parse_failed)
		return (-1);
	if (!g->g_started) {
		for (i = 0; i < len && isspace((unsigned char)data[i]); i++)
			;
		if (i == len)
			return (0);
		g->g_started = 1;
		if (data[i] != '[') {
			g->g_refused = xprintf("the answer is not a JSON array "
			    "of series (it starts with '%c')",
			    isprint((unsigned char)data[i]) ? data[i] : '?');
			return (-1);
		}
	}
	if (jstream_feed(g->g_js, data, len) == -1) {
		if (g->g_enough || g->g_refused != NULL)
			return (-1);
		g->g_parse_failed = 1;
		return (-1);
	}
	return (0);
}

/*
 * The first line of text of a body, markup dropped, blanks squeezed and
 * trimmed, at most GRAPHITE_LINE_MAX bytes; appended to b.
 */
static void
graphite_first_line(const struct buf *body, struct buf *b)
{
	size_t	 i, n = 0;
	int	 tag = 0, space = 0;
	char	 c;

	for (i = 0; i < body->b_len && n < GRAPHITE_LINE_MAX; i++) {
		c = body->b_data[i];
		if (tag) {
			if (c == '>')
				tag = 0;
			continue;
		}
		if (c == '<') {
			tag = 1;
			continue;
		}
		if (c == '\n' || c == '\r') {
			if (n > 0)
				break;
			continue;
		}
		if (isspace((unsigned char)c) || iscntrl((unsigned char)c)) {
			space = n > 0;
			continue;
		}
		if (space)
			buf_addc(b, ' ');
		space = 0;
		buf_addc(b, c);
		n++;
	}
}

/* The answer is complete. */
static void
graphite_done_cb(void *arg, const struct httpc_result *res)
{
	struct graphite_run	*g = arg;
	struct buf		 msg = BUF_INIT;
	const char		*name = g->g_cs->cs_name;

	g->g_req = NULL;
	log_debug("graphite: done ok=%d status=%ld bytes=%lld error=%s",
	    res->hr_ok, res->hr_status, (long long)res->hr_bytes,
	    res->hr_error != NULL ? res->hr_error : "-");
	if (g->g_refused != NULL) {
		buf_printf(&msg, "graphite %s: %s", name, g->g_refused);
		graphite_end(g, msg.b_data, 0, NULL);
		goto done;
	}
	if (g->g_parse_failed) {
		buf_printf(&msg, "graphite %s: the answer is not valid JSON: "
		    "%s", name, jstream_error(g->g_js));
		/* Garbage or truncated: this try failed. */
		graphite_end(g, msg.b_data, SOURCE_FAIL_RETRY, NULL);
		goto done;
	}
	if (!res->hr_ok && !(res->hr_aborted && g->g_enough)) {
		buf_printf(&msg, "graphite %s: %s", name, res->hr_error !=
		    NULL ? res->hr_error : "request failed");
		graphite_end(g, msg.b_data, sources_fail_http(res), NULL);
		goto done;
	}
	if (g->g_status < 200 || g->g_status >= 300) {
		buf_printf(&msg, "graphite %s: HTTP %ld", name, g->g_status);
		if (g->g_body.b_len > 0) {
			buf_adds(&msg, ": ");
			graphite_first_line(&g->g_body, &msg);
		}
		graphite_end(g, msg.b_data, sources_fail_status(g->g_status),
		    res->hr_retry_after);
		goto done;
	}
	if (!g->g_json) {
		buf_printf(&msg, "graphite %s: the answer is not JSON "
		    "(Content-Type %s)", name, g->g_ctype);
		if (g->g_body.b_len > 0) {
			buf_adds(&msg, ": ");
			graphite_first_line(&g->g_body, &msg);
		}
		graphite_end(g, msg.b_data, 0, NULL);
		goto done;
	}
	if (g->g_enough) {
		graphite_end(g, NULL, 0, NULL);
		goto done;
	}
	if (!g->g_started) {
		buf_printf(&msg, "graphite %s: the answer is empty, not a "
		    "JSON array of series", name);
		graphite_end(g, msg.b_data, SOURCE_FAIL_RETRY, NULL);
		goto done;
	}
	if (jstream_finish(g->g_js) == -1) {
		buf_printf(&msg, "graphite %s: the answer is not valid JSON: "
		    "%s", name, jstream_error(g->g_js));
		graphite_end(g, msg.b_data, SOURCE_FAIL_RETRY, NULL);
		goto done;
	}
	graphite_end(g, NULL, 0, NULL);
done:
	buf_free(&msg);
}

/* Begin the run: GET /render over the window. */
static int
graphite_start(struct run *r, char *err, size_t errlen)
{
	struct source_state	*ss = run_source(r);
	struct httpc_opts	 o;
	struct graphite_run	*g;
	struct search_err	 serr;
	struct buf		 url = BUF_INIT;
	const char		*q;
	int64_t			 from, until;
	int			 rc;

	if (ss == NULL || ss->ss_cfg->cs_type != SOURCE_GRAPHITE) {
		snprintf(err, errlen, "source \"%s\" is not a graphite "
		    "source in the config", run_search(r)->s_source != NULL ?
		    run_search(r)->s_source : "");
		return (-1);
	}
	g = xcalloc(1, sizeof *g);
	g->g_run = r;
	g->g_s = run_search(r);
	g->g_cs = ss->ss_cfg;
	if ((rc = graphite_threshold(g->g_s->s_def, "above", &g->g_above,
	    &serr)) == 1)
		g->g_has_above = 1;
	if (rc != -1 && (rc = graphite_threshold(g->g_s->s_def, "below",
	    &g->g_below, &serr)) == 1)
		g->g_has_below = 1;
	if (rc == -1) {
		snprintf(err, errlen, "%s: %s", serr.se_field,
		    serr.se_message);
		graphite_free(g);
		return (-1);
	}

	/* the window in whole seconds: graphite reads (from, until] */
	from = run_from(r) / 1000;
	until = run_to(r) / 1000;
	if (until <= from)
		until = from + 1;
	buf_printf(&url, "%s/render?target=", g->g_cs->cs_url);
	q = g->g_s->s_query != NULL ? g->g_s->s_query : "";
	util_urlencode(&url, q, strlen(q), NULL);
	buf_printf(&url, "&format=json&from=%lld&until=%lld",
	    (long long)from, (long long)until);
	log_debug("graphite: GET %s", url.b_data);
	g->g_req = httpc_req_new(run_env(r)->re_httpc, "GET", url.b_data);
	buf_free(&url);
	memset(&o, 0, sizeof o);
	o.ho_timeout_ms = (g->g_s->s_timeout > 0 ? g->g_s->s_timeout :
	    g->g_cs->cs_timeout) * 1000;
	o.ho_user = g->g_cs->cs_user;
	o.ho_password = g->g_cs->cs_password;
	o.ho_ca_file = g->g_cs->cs_ca_file;
	o.ho_cert_file = g->g_cs->cs_cert_file;
	o.ho_key_file = g->g_cs->cs_key_file;
	o.ho_insecure = g->g_cs->cs_insecure;
	httpc_req_opts(g->g_req, &o);
	httpc_req_header(g->g_req, "Accept: application/json");
	if (httpc_req_start(g->g_req, graphite_head_cb, graphite_data_cb,
	    graphite_done_cb, g) == -1) {
		snprintf(err, errlen, "graphite %s: could not start the "
		    "request", g->g_cs->cs_name);
		graphite_free(g);
		return (-1);
	}
	run_set_driver(r, g);
	return (0);
}

/* Stop now. */
static void
graphite_cancel(struct run *r)
{
	struct graphite_run	*g = run_driver(r);

	if (g == NULL)
		return;
	if (g->g_req != NULL)
		httpc_req_cancel(g->g_req);
	graphite_free(g);
	run_set_driver(r, NULL);
}
