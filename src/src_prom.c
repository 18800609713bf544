/*
 * src_prom.c -- the prometheus search type: a PromQL instant query.
 *
 * One run is one form POST to the source's /api/v1/query with the search's
 * "query" and "time" set to the end of the run's window (seconds, with
 * milliseconds).  The answer is streamed through jstream:
 *
 *   vector	one record per series: its labels as fields (named as
 *		Prometheus names them, "__name__" included), "value" (a
 *		number; NaN and +-Inf as the strings Prometheus sends) and
 *		"time" (RFC 3339); the sample time is the record's time;
 *   scalar, string
 *		one record {"value", "time"};
 *   matrix	refused: range vectors are not instant results.
 *
 * A "status":"error" answer fails the run with Prometheus's errorType and
 * error text.  400 (bad_data) and 422 (execution) are not retried; 429,
 * 502, 503 and 504 and dropped connections are.  Warnings go to the job.
 */
#include "autoconf.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#define PROM_BODY_MAX	(16 * 1024)	/* kept of the start of a body */

struct prom_run {
	struct run			*p_run;
	const struct search		*p_s;
	const struct config_source	*p_cs;
	struct httpc_req		*p_req;
	struct jstream			*p_js;
	long				 p_status;
	struct buf			 p_body;	/* first PROM_BODY_MAX */
	int				 p_parse_failed;
	int				 p_enough;	/* the run has all */
	char				*p_pstatus;	/* "success", "error" */
	char				*p_rtype;	/* data.resultType */
	char				*p_etype;	/* errorType */
	char				*p_error;	/* error */
	char				*p_refused;	/* why records stop */
	/* scalar and string results: [time, "value"] */
	char				*p_stime;
	char				*p_sval;
	uint64_t			 p_series;
	struct buf			 p_text;
};

static int	prom_validate(const struct json *, const struct config *,
		    struct search_err *);
static int	prom_start(struct run *, char *, size_t);
static void	prom_cancel(struct run *);

const struct src_ops src_prom_ops = {
	SEARCH_PROMETHEUS, prom_validate, prom_start, prom_cancel
};

static const char *const prom_patterns[] = { "data.result[]", NULL };

/* Keys of the definition that other types use and prometheus does not. */
static const char *const prom_foreign[] = {
	"query_dsl", "index", "host", "port", "url", "method",
	"expect_status", "match", "max_latency", "cert_expiry_days",
	"ca_file", "alerts", "above", "below", NULL
};

/* Fill err and return -1. */
static int
prom_fail(struct search_err *err, const char *field, const char *msg)
{
	snprintf(err->se_field, sizeof err->se_field, "%s", field);
	snprintf(err->se_message, sizeof err->se_message, "%s", msg);
	return (-1);
}

/* Check the prometheus keys of a definition. */
static int
prom_validate(const struct json *def, const struct config *cfg,
    struct search_err *err)
{
	const struct json		*j;

	if (src_refuse_keys(def, prom_foreign, "prometheus", err) == -1)
		return (-1);
	if (src_check_source(def, cfg, SOURCE_PROMETHEUS, "prometheus", err) == -1)
		return (-1);
	j = json_get(def, "query");
	if (j == NULL || j->j_type == JSON_NULL)
		return (prom_fail(err, "query", "is required for type "
		    "prometheus (a PromQL instant query, e.g. \"up == 0\")"));
	if (json_str(j) == NULL)
		return (prom_fail(err, "query", "must be a PromQL string"));
	if (*json_str(j) == '\0')
		return (prom_fail(err, "query", "is empty"));
	return (0);
}

/* Free the driver state. */
static void
prom_free(struct prom_run *p)
{
	jstream_free(p->p_js);
	buf_free(&p->p_body);
	buf_free(&p->p_text);
	free(p->p_pstatus);
	free(p->p_rtype);
	free(p->p_etype);
	free(p->p_error);
	free(p->p_refused);
	free(p->p_stime);
	free(p->p_sval);
	free(p);
}

/* End the run. */
static void
prom_end(struct prom_run *p, const char *error, int retryable,
    const char *retry_after)
{
	struct run	*r = p->p_run;
	char		*err = error != NULL ? xstrdup(error) : NULL;
	char		*ra = retry_after != NULL ? xstrdup(retry_after) : NULL;

	if (err == NULL)
		run_total(r, p->p_series, 1);
	prom_free(p);
	run_set_driver(r, NULL);
	run_finish(r, err, retryable, ra);
	free(err);
	free(ra);
}

/* Seconds (float text) to ms; returns 0 or -1. */
static int
prom_time_ms(const char *s, int64_t *ms)
{
	char	*end;
	double	 d;

	d = strtod(s, &end);
	if (end == s || *end != '\0' || !isfinite(d) || d < 0 || d > 1e12)
		return (-1);
	*ms = (int64_t)(d * 1000.0 + 0.5);
	return (0);
}

/* Add "value" (a number when it is one, else the string) and "time". */
static void
prom_add_sample(struct prom_run *p, struct record *rec, const char *ts,
    const char *val, int is_string)
{
	char	 num[64], *end;
	double	 d;
	int64_t	 ms;

	record_del(rec, "value");
	record_del(rec, "time");
	d = strtod(val, &end);
	if (!is_string && end != val && *end == '\0' && isfinite(d)) {
		snprintf(num, sizeof num, "%.15g", d);
		if (strtod(num, NULL) != d)
			snprintf(num, sizeof num, "%.17g", d);
		record_add(rec, "value", 5, num, strlen(num));
	} else
		record_add_str(rec, "value", val, strlen(val));
	if (ts != NULL && prom_time_ms(ts, &ms) == 0) {
		rec->r_time = ms;
		util_fmt_time_ms(ms, num, sizeof num);
		record_add_str(rec, "time", num, strlen(num));
	}
	(void)p;
}

/* Hand a record to the run; returns what jstream wants. */
static int
prom_emit(struct prom_run *p, struct record *rec)
{
	p->p_series++;
	if (run_record(p->p_run, rec) == 1) {
		p->p_enough = 1;
		return (-1);
	}
	return (0);
}

/* One element of data.result: a series of a vector (or of a matrix). */
static int
prom_record_cb(void *arg, int pattern, struct record *el)
{
	struct prom_run	*p = arg;
	struct record	*rec;
	struct json	*v;
	const char	*k, *val;
	char		 msg[64];
	size_t		 i, klen, vlen;

	(void)pattern;
	if (record_find(el, "values", 6) >= 0 ||
	    (p->p_rtype != NULL && strcmp(p->p_rtype, "matrix") == 0)) {
		record_free(el);
		if (p->p_refused == NULL)
			p->p_refused = xstrdup("the query gave a range vector "
			    "(matrix): only instant queries are supported, "
			    "drop the [range] selector");
		return (-1);
	}
	rec = record_new();
	for (i = 0; i < record_count(el); i++) {
		k = record_key(el, i, &klen);
		val = record_val(el, i, &vlen);
		if (klen > 7 && memcmp(k, "metric.", 7) == 0)
			record_add(rec, k + 7, klen - 7, val, vlen);
	}
	val = record_get(el, "value", &vlen);
	if (val != NULL && (v = json_parse(val, vlen, msg,
	    sizeof msg)) != NULL) {
		if (v->j_type == JSON_ARRAY && v->j_u.arr.n == 2 &&
		    json_at(v, 0)->j_type == JSON_NUMBER &&
		    json_str(json_at(v, 1)) != NULL)
			prom_add_sample(p, rec, json_at(v, 0)->j_u.num.text,
			    json_str(json_at(v, 1)), 0);
		json_free(v);
	}
	record_free(el);
	return (prom_emit(p, rec));
}

/* Replace *dst with a copy of s (n bytes). */
static void
prom_keep(char **dst, const char *s, size_t n)
{
	free(*dst);
	*dst = xstrndup(s, n);
}

/* Scalars outside series: status, errors, the type, scalar results. */
static int
prom_scalar_cb(void *arg, const char *path, enum json_type type,
    const char *text, size_t len)
{
	struct prom_run	*p = arg;
	char		*w;

	if (strcmp(path, "status") == 0)
		prom_keep(&p->p_pstatus, text, len);
	else if (strcmp(path, "errorType") == 0)
		prom_keep(&p->p_etype, text, len);
	else if (strcmp(path, "error") == 0)
		prom_keep(&p->p_error, text, len);
	else if (strcmp(path, "data.resultType") == 0)
		prom_keep(&p->p_rtype, text, len);
	else if (strcmp(path, "data.result[]") == 0) {
		/* scalar or string: [time, "value"] */
		if (type == JSON_NUMBER && p->p_stime == NULL)
			prom_keep(&p->p_stime, text, len);
		else if (type == JSON_STRING && p->p_sval == NULL)
			prom_keep(&p->p_sval, text, len);
	} else if (strcmp(path, "data.result[][]") == 0) {
		/* a matrix without labels would come here */
	} else if (strcmp(path, "warnings[]") == 0 && type == JSON_STRING) {
		w = xprintf("prometheus warning: %.*s", (int)len, text);
		run_warn(p->p_run, w);
		free(w);
	}
	return (0);
}

/* Status is known: set up the parser. */
static int
prom_head_cb(void *arg, long status, const char *ctype)
{
	struct prom_run	*p = arg;

	(void)ctype;
	p->p_status = status;
	p->p_js = jstream_new(prom_patterns, prom_record_cb, prom_scalar_cb, p);
	return (0);
}

/* A chunk of the body. */
static int
prom_data_cb(void *arg, const char *data, size_t len)
{
	struct prom_run	*p = arg;
	size_t		 keep;

	if (p->p_body.b_len < PROM_BODY_MAX) {
		keep = PROM_BODY_MAX - p->p_body.b_len;
		buf_add(&p->p_body, data, len < keep ? len : keep);
	}
	if (p->p_parse_failed)
		return (0);
	if (jstream_feed(p->p_js, data, len) == -1) {
		if (p->p_enough || p->p_refused != NULL)
			return (-1);
		p->p_parse_failed = 1;
		if (p->p_status >= 200 && p->p_status < 300)
			return (-1);
	}
	return (0);
}

/* Prometheus's reason for a failed query, in its own words. */
static void
prom_error_text(struct prom_run *p, struct buf *b)
{
	size_t	 i, n;
	char	 c;

	buf_printf(b, "prometheus %s answered %ld", p->p_cs->cs_name,
	    p->p_status);
	if (p->p_error != NULL || p->p_etype != NULL) {
		buf_printf(b, ": %s: %s", p->p_etype != NULL ? p->p_etype :
		    "error", p->p_error != NULL ? p->p_error : "");
		return;
	}
	n = p->p_body.b_len < 200 ? p->p_body.b_len : 200;
	if (n > 0) {
		buf_adds(b, ": ");
		for (i = 0; i < n; i++) {
			c = p->p_body.b_data[i];
			buf_addc(b, c == '\n' || c == '\r' || c == '\t' ? ' ' :
			    c);
		}
	}
}

/* The answer is complete. */
static void
prom_done_cb(void *arg, const struct httpc_result *res)
{
	struct prom_run	*p = arg;
	struct buf	 msg = BUF_INIT;
	struct record	*rec;
	int		 parsed;

	p->p_req = NULL;
	log_debug("prom: done ok=%d status=%ld bytes=%zu error=%s", res->hr_ok,
	    res->hr_status, (size_t)res->hr_bytes,
	    res->hr_error != NULL ? res->hr_error : "-");
	if (p->p_refused != NULL) {
		buf_printf(&msg, "prometheus %s: %s", p->p_cs->cs_name,
		    p->p_refused);
		prom_end(p, msg.b_data, 0, NULL);
		buf_free(&msg);
		return;
	}
	if (!res->hr_ok && !(res->hr_aborted && p->p_enough)) {
		if (p->p_parse_failed && p->p_status >= 200 &&
		    p->p_status < 300)
			buf_printf(&msg, "prometheus %s: the response is not "
			    "valid JSON: %s", p->p_cs->cs_name,
			    jstream_error(p->p_js));
		else
			buf_printf(&msg, "prometheus %s: %s", p->p_cs->cs_name,
			    res->hr_error != NULL ? res->hr_error :
			    "request failed");
		prom_end(p, msg.b_data, sources_fail_http(res), NULL);
		buf_free(&msg);
		return;
	}
	parsed = p->p_js != NULL && !p->p_parse_failed && (p->p_enough ||
	    jstream_finish(p->p_js) == 0);
	if (p->p_status < 200 || p->p_status >= 300 || (parsed &&
	    p->p_pstatus != NULL && strcmp(p->p_pstatus, "success") != 0)) {
		prom_error_text(p, &msg);
		prom_end(p, msg.b_data, sources_fail_status(p->p_status),
		    res->hr_retry_after);
		buf_free(&msg);
		return;
	}
	if (!parsed) {
		buf_printf(&msg, "prometheus %s: the response is not valid "
		    "JSON: %s", p->p_cs->cs_name, p->p_js != NULL ?
		    jstream_error(p->p_js) : "no body");
		prom_end(p, msg.b_data, 1, NULL);
		buf_free(&msg);
		return;
	}
	if (p->p_enough) {
		prom_end(p, NULL, 0, NULL);
		return;
	}
	if (p->p_rtype == NULL) {
		buf_printf(&msg, "prometheus %s: the answer has no "
		    "data.resultType", p->p_cs->cs_name);
		prom_end(p, msg.b_data, 0, NULL);
		buf_free(&msg);
		return;
	}
	if (strcmp(p->p_rtype, "matrix") == 0) {
		buf_printf(&msg, "prometheus %s: the query gave a range vector "
		    "(matrix): only instant queries are supported, drop the "
		    "[range] selector", p->p_cs->cs_name);
		prom_end(p, msg.b_data, 0, NULL);
		buf_free(&msg);
		return;
	}
	if ((strcmp(p->p_rtype, "scalar") == 0 ||
	    strcmp(p->p_rtype, "string") == 0) && p->p_sval != NULL) {
		rec = record_new();
		prom_add_sample(p, rec, p->p_stime, p->p_sval,
		    strcmp(p->p_rtype, "string") == 0);
		(void)prom_emit(p, rec);
	}
	prom_end(p, NULL, 0, NULL);
}

/* Begin the run: POST the query. */
static int
prom_start(struct run *r, char *err, size_t errlen)
{
	struct source_state	*ss = run_source(r);
	struct httpc_opts	 o;
	struct prom_run		*p;
	struct buf		 body = BUF_INIT;
	char			*url, *b;
	const char		*q;
	size_t			 len;
	int64_t			 to;

	if (ss == NULL || ss->ss_cfg->cs_type != SOURCE_PROMETHEUS) {
		snprintf(err, errlen, "source \"%s\" is not a prometheus "
		    "source in the config", run_search(r)->s_source != NULL ?
		    run_search(r)->s_source : "");
		return (-1);
	}
	p = xcalloc(1, sizeof *p);
	p->p_run = r;
	p->p_s = run_search(r);
	p->p_cs = ss->ss_cfg;

	to = run_to(r);
	buf_adds(&body, "query=");
	q = p->p_s->s_query != NULL ? p->p_s->s_query : "";
	util_urlencode(&body, q, strlen(q), NULL);	/* form-encoded */
	buf_printf(&body, "&time=%lld.%03lld", (long long)(to / 1000),
	    (long long)(to % 1000));
	if (p->p_s->s_timeout > 0)
		buf_printf(&body, "&timeout=%llds",
		    (long long)p->p_s->s_timeout);
	b = buf_steal(&body, &len);

	url = xprintf("%s/api/v1/query", p->p_cs->cs_url);
	log_debug("prom: POST %s %s", url, b);
	p->p_req = httpc_req_new(run_env(r)->re_httpc, "POST", url);
	free(url);
	memset(&o, 0, sizeof o);
	o.ho_timeout_ms = p->p_cs->cs_timeout * 1000;
	o.ho_user = p->p_cs->cs_user;
	o.ho_password = p->p_cs->cs_password;
	o.ho_ca_file = p->p_cs->cs_ca_file;
	o.ho_cert_file = p->p_cs->cs_cert_file;
	o.ho_key_file = p->p_cs->cs_key_file;
	o.ho_insecure = p->p_cs->cs_insecure;
	httpc_req_opts(p->p_req, &o);
	httpc_req_header(p->p_req, "Accept: application/json");
	httpc_req_header(p->p_req,
	    "Content-Type: application/x-www-form-urlencoded");
	httpc_req_body(p->p_req, b, len);
	if (httpc_req_start(p->p_req, prom_head_cb, prom_data_cb,
	    prom_done_cb, p) == -1) {
		snprintf(err, errlen, "prometheus %s: could not start the "
		    "request", p->p_cs->cs_name);
		prom_free(p);
		return (-1);
	}
	run_set_driver(r, p);
	return (0);
}

/* Stop now. */
static void
prom_cancel(struct run *r)
{
	struct prom_run	*p = run_driver(r);

	if (p == NULL)
		return;
	if (p->p_req != NULL)
		httpc_req_cancel(p->p_req);
	prom_free(p);
	run_set_driver(r, NULL);
}
