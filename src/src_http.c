/*
 * src_http.c -- the http search type: is a URL answering as it should?
 *
 * One run is one request to "url" through httpc, bounded by the search's
 * timeout (HTTP_TIMEOUT_MS when it has none).  The answer is checked:
 *
 *   expect_status	the status is one of these (default: any 2xx);
 *   match		a PCRE2 pattern found in the first HTTP_BODY_KEEP
 *			bytes of the body (no UTF mode; match limits set);
 *   max_latency	the whole transfer took at most this long;
 *   cert_expiry_days	https only: the server certificate expires in more
 *			than this many days (a new connection is made);
 *   ca_file		https only: the CA certificates (PEM) to verify the
 *			server with, instead of the system's: the name of a
 *			file in certs_dir (411d.conf), never a path (trust.h;
 *			resolved again at each run).
 *
 * A request that fails (refused, timed out, reset) and every failed check
 * are findings, not failures of the run: they give one record (so one
 * alert) naming each failed check, with the url.  All checks passing
 * gives no record.
 */
#include "autoconf.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <pcre2.h>

#include "buf.h"
#include "config.h"
#include "httpc.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "run.h"
#include "search.h"
#include "src.h"
#include "trust.h"
#include "util.h"
#include "xmalloc.h"

#define HTTP_TIMEOUT_MS		10000		/* without a search timeout */
#define HTTP_BODY_KEEP		(1024 * 1024)	/* matched against */
#define HTTP_BODY_MAX		((int64_t)64 << 20)	/* read at most */
#define HTTP_URL_MAX		8192
#define HTTP_MATCH_MAX		4096
#define HTTP_MATCH_LIMIT	1000000
#define HTTP_DEPTH_LIMIT	10000
#define HTTP_MAX_STATUSES	32

struct http_run {
	struct run		*h_run;
	struct httpc_req	*h_req;
	char			*h_url;
	char			*h_method;
	long			 h_expect[HTTP_MAX_STATUSES];
	size_t			 h_nexpect;
	pcre2_code		*h_re;
	int64_t			 h_max_latency_ms;	/* 0 = none */
	int64_t			 h_cert_days;		/* 0 = none */
	struct buf		 h_body;		/* first HTTP_BODY_KEEP */
};

static int	http_validate(const struct json *, const struct config *,
		    struct search_err *);
static int	http_start(struct run *, char *, size_t);
static void	http_cancel(struct run *);

const struct src_ops src_http_ops = {
	SEARCH_HTTP, http_validate, http_start, http_cancel
};

static const char *const http_foreign[] = {
	"source", "query", "query_dsl", "index", "fields", "host", "port",
	"alerts", "above", "below", NULL
};

static const char *const http_methods[] = { "GET", "HEAD", "POST", NULL };

/* Fill err and return -1. */
static int
http_fail(struct search_err *err, const char *field, const char *msg)
{
	snprintf(err->se_field, sizeof err->se_field, "%s", field);
	snprintf(err->se_message, sizeof err->se_message, "%s", msg);
	return (-1);
}

/* Compile a pattern; NULL with the message and offset in err. */
static pcre2_code *
http_compile(const char *pat, char *err, size_t errlen)
{
	pcre2_code	*re;
	PCRE2_UCHAR	 msg[200];
	PCRE2_SIZE	 off;
	int		 code;

	re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &code,
	    &off, NULL);
	if (re == NULL) {
		pcre2_get_error_message(code, msg, sizeof msg);
		snprintf(err, errlen, "bad regular expression at offset %zu: "
		    "%s", (size_t)off, (const char *)msg);
	}
	return (re);
}

/* Read expect_status into out; returns the count, or -1. */
static int
http_statuses(const struct json *j, long *out)
{
	int64_t	 v;
	size_t	 i, n;

	if (j->j_type == JSON_NUMBER) {
		if (!json_int(j, &v) || v < 100 || v > 599)
			return (-1);
		out[0] = (long)v;
		return (1);
	}
	if (j->j_type != JSON_ARRAY || (n = json_len(j)) == 0 ||
	    n > HTTP_MAX_STATUSES)
		return (-1);
	for (i = 0; i < n; i++) {
		if (!json_int(json_at(j, i), &v) || v < 100 || v > 599)
			return (-1);
		out[i] = (long)v;
	}
	return ((int)n);
}

/* A duration member in ms (string or seconds); returns 0 or -1. */
static int
http_duration_ms(const struct json *j, int64_t *ms)
{
	const char	*e;
	int64_t		 v;

	if (j->j_type == JSON_NUMBER) {
		if (!json_int(j, &v) || v < 0 || v > 86400)
			return (-1);
		*ms = v * 1000;
		return (0);
	}
	if (json_str(j) == NULL ||
	    util_parse_duration_ms(json_str(j), ms, &e) == -1)
		return (-1);
	return (0);
}

/* Check the http keys of a definition. */
static int
http_validate(const struct json *def, const struct config *cfg,
    struct search_err *err)
{
	const struct json	*j;
	const char		*url, *m;
	pcre2_code		*re;
	long			 st[HTTP_MAX_STATUSES];
	char			 msg[256];
	int64_t			 v;
	size_t			 i;

	if (src_refuse_keys(def, http_foreign, "http", err) == -1)
		return (-1);
	j = json_get(def, "result");
	if (j != NULL && j->j_type != JSON_NULL && (json_str(j) == NULL ||
	    strcmp(json_str(j), "fields") != 0))
		return (http_fail(err, "result", "must be \"fields\" for type "
		    "http (one alert when a check fails)"));
	url = json_str(json_get(def, "url"));
	if (url == NULL)
		return (http_fail(err, "url", "is required for type http: an "
		    "http:// or https:// URL"));
	if ((strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0) ||
	    url[strcspn(url, ":") + 3] == '\0')
		return (http_fail(err, "url", "must be an http:// or https:// "
		    "URL"));
	if (strlen(url) > HTTP_URL_MAX || strpbrk(url, " \t\r\n") != NULL)
		return (http_fail(err, "url", "must be a URL of at most 8192 "
		    "bytes without spaces"));
	if ((j = json_get(def, "method")) != NULL) {
		m = json_str(j);
		for (i = 0; m != NULL && http_methods[i] != NULL; i++) {
			if (strcmp(m, http_methods[i]) == 0)
				break;
		}
		if (m == NULL || http_methods[i] == NULL)
			return (http_fail(err, "method",
			    "must be \"GET\", \"HEAD\" or \"POST\""));
	}
	if ((j = json_get(def, "expect_status")) != NULL &&
	    http_statuses(j, st) == -1)
		return (http_fail(err, "expect_status", "must be a status "
		    "(100..599) or an array of up to 32 of them"));
	if ((j = json_get(def, "match")) != NULL) {
		if (json_str(j) == NULL || *json_str(j) == '\0' ||
		    j->j_u.str.len > HTTP_MATCH_MAX)
			return (http_fail(err, "match", "must be a non-empty "
			    "regular expression (PCRE2) of at most 4096 bytes"));
		if (strlen(json_str(j)) != j->j_u.str.len)
			return (http_fail(err, "match", "must not contain NUL"));
		if ((re = http_compile(json_str(j), msg, sizeof msg)) == NULL)
			return (http_fail(err, "match", msg));
		pcre2_code_free(re);
	}
	if (json_get(def, "match") != NULL && json_get(def, "method") != NULL &&
	    strcmp(json_str(json_get(def, "method")), "HEAD") == 0)
		return (http_fail(err, "match", "a HEAD request has no body "
		    "to match"));
	if ((j = json_get(def, "ca_file")) != NULL) {
		if (trust_check(TRUST_CERTS, j, msg, sizeof msg) == -1)
			return (http_fail(err, "ca_file", msg));
		if (strncasecmp(url, "https://", 8) != 0)
			return (http_fail(err, "ca_file",
			    "applies only to an https:// url"));
	}
	if ((j = json_get(def, "max_latency")) != NULL &&
	    (http_duration_ms(j, &v) == -1 || v < 1))
		return (http_fail(err, "max_latency", "must be a duration "
		    "such as \"2s\" or \"500ms\""));
	if ((j = json_get(def, "cert_expiry_days")) != NULL) {
		if (!json_int(j, &v) || v < 1 || v > 3650)
			return (http_fail(err, "cert_expiry_days",
			    "must be a whole number of days from 1 to 3650"));
		if (strncasecmp(url, "https://", 8) != 0)
			return (http_fail(err, "cert_expiry_days",
			    "applies only to an https:// url"));
	}
	return (0);
}

/* Free the driver state. */
static void
http_free(struct http_run *h)
{
	free(h->h_url);
	free(h->h_method);
	pcre2_code_free(h->h_re);
	buf_free(&h->h_body);
	free(h);
}

/* Status and headers are known. */
static int
http_head_cb(void *arg, long status, const char *ctype)
{
	return (0);
}

/* A chunk of the body: keep the start when there is a pattern. */
static int
http_data_cb(void *arg, const char *data, size_t len)
{
	struct http_run	*h = arg;
	size_t		 keep;

	if (h->h_re != NULL && h->h_body.b_len < HTTP_BODY_KEEP) {
		keep = HTTP_BODY_KEEP - h->h_body.b_len;
		buf_add(&h->h_body, data, len < keep ? len : keep);
	}
	return (0);
}

/* Add a failed check to the list (JSON array body) and the text. */
static void
http_failed(struct buf *list, struct buf *text, const char *msg)
{
	if (list->b_len > 0)
		buf_addc(list, ',');
	json_append_string(list, msg, strlen(msg));
	if (text->b_len > 0)
		buf_adds(text, "; ");
	buf_adds(text, msg);
}

/* Is the pattern in the body?  1 yes, 0 no, -1 error (in msg). */
static int
http_match(struct http_run *h, char *msg, size_t msglen)
{
	pcre2_match_data	*md;
	pcre2_match_context	*mc;
	PCRE2_UCHAR		 e[200];
	int			 rc;

	mc = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(mc, HTTP_MATCH_LIMIT);
	pcre2_set_depth_limit(mc, HTTP_DEPTH_LIMIT);
	md = pcre2_match_data_create_from_pattern(h->h_re, NULL);
	if (md == NULL || mc == NULL)
		fatalx("http: out of memory");
	rc = pcre2_match(h->h_re, (PCRE2_SPTR)(h->h_body.b_data != NULL ?
	    h->h_body.b_data : ""), h->h_body.b_len, 0, 0, md, mc);
	pcre2_match_data_free(md);
	pcre2_match_context_free(mc);
	if (rc >= 0)
		return (1);
	if (rc == PCRE2_ERROR_NOMATCH)
		return (0);
	pcre2_get_error_message(rc, e, sizeof e);
	snprintf(msg, msglen, "%s", (const char *)e);
	return (-1);
}

/* The response is complete: check it, report, end the run. */
static void
http_done_cb(void *arg, const struct httpc_result *res)
{
	struct http_run		*h = arg;
	struct run		*r = h->h_run;
	const struct search	*s = run_search(r);
	struct buf		 list = BUF_INIT, text = BUF_INIT, b = BUF_INIT;
	struct record		*rec;
	const char		*pat;
	char			 msg[512], e[256];
	int64_t			 ms = res->hr_time_us / 1000, days;
	time_t			 exp;
	size_t			 i;
	int			 ok;

	h->h_req = NULL;
	log_debug("http: %s %s: ok=%d status=%ld %lldms", h->h_method,
	    h->h_url, res->hr_ok, res->hr_status, (long long)ms);
	if (!res->hr_ok) {
		snprintf(msg, sizeof msg, "request failed: %s",
		    res->hr_error != NULL ? res->hr_error : "unknown error");
		http_failed(&list, &text, msg);
	} else {
		ok = 0;
		for (i = 0; i < h->h_nexpect; i++) {
			if (h->h_expect[i] == res->hr_status)
				ok = 1;
		}
		if (h->h_nexpect == 0)
			ok = res->hr_status >= 200 && res->hr_status < 300;
		if (!ok) {
			buf_printf(&b, "status %ld, expected ", res->hr_status);
			if (h->h_nexpect == 0)
				buf_adds(&b, "2xx");
			for (i = 0; i < h->h_nexpect; i++)
				buf_printf(&b, "%s%ld", i > 0 ? " or " : "",
				    h->h_expect[i]);
			http_failed(&list, &text, b.b_data);
		}
		if (h->h_re != NULL) {
			pat = json_str(json_get(s->s_def, "match"));
			switch (http_match(h, e, sizeof e)) {
			case 0:
				snprintf(msg, sizeof msg, "body does not match "
				    "/%.200s/ (first %zu bytes searched)", pat,
				    h->h_body.b_len);
				http_failed(&list, &text, msg);
				break;
			case -1:
				snprintf(msg, sizeof msg, "matching /%.200s/ "
				    "failed: %s", pat, e);
				http_failed(&list, &text, msg);
				break;
			}
		}
		if (h->h_max_latency_ms > 0 && ms > h->h_max_latency_ms) {
			snprintf(msg, sizeof msg, "latency %lldms is over the "
			    "maximum of %lldms", (long long)ms,
			    (long long)h->h_max_latency_ms);
			http_failed(&list, &text, msg);
		}
		if (h->h_cert_days > 0) {
			exp = res->hr_cert_expire != NULL ?
			    curl_getdate(res->hr_cert_expire, NULL) : -1;
			if (exp == -1)
				run_warn(r, "the certificate's expiry date "
				    "could not be read");
			else if ((days = ((int64_t)exp * 1000 -
			    util_now_ms()) / 86400000) < h->h_cert_days) {
				snprintf(msg, sizeof msg, "certificate expires "
				    "in %lld days (%s), under %lld",
				    (long long)days, res->hr_cert_expire,
				    (long long)h->h_cert_days);
				http_failed(&list, &text, msg);
			}
		}
	}
	buf_free(&b);
	rec = NULL;
	if (text.b_len > 0) {
		rec = record_new();
		record_add_str(rec, "url", h->h_url, strlen(h->h_url));
		record_add_str(rec, "method", h->h_method,
		    strlen(h->h_method));
		record_add_int(rec, "status", res->hr_status);
		record_add_int(rec, "latency_ms", ms);
		record_add(rec, "ok", 2, "false", 5);
		buf_addc(&list, ']');
		buf_add(&b, "[", 1);
		buf_add(&b, list.b_data, list.b_len);
		record_add(rec, "failed", 6, b.b_data, b.b_len);
		buf_free(&b);
		record_add_str(rec, "error", text.b_data, text.b_len);
		rec->r_time = util_now_ms();
	}
	buf_free(&list);
	buf_free(&text);
	http_free(h);
	run_set_driver(r, NULL);
	run_total(r, rec != NULL ? 1 : 0, 1);
	if (rec != NULL)
		(void)run_record(r, rec);
	run_finish(r, NULL, 0, NULL);
}

/* Begin the run: send the request. */
static int
http_start(struct run *r, char *err, size_t errlen)
{
	const struct search	*s = run_search(r);
	const struct json	*j;
	struct http_run		*h;
	struct httpc_opts	 o;
	int64_t			 timeout_ms;
	char			*ca = NULL, msg[300];
	int			 n;

	/* The CA file: a name in certs_dir, resolved for this run. */
	if ((j = json_get(s->s_def, "ca_file")) != NULL &&
	    (ca = trust_resolve(TRUST_CERTS, json_str(j), 0, NULL, msg,
	    sizeof msg)) == NULL) {
		snprintf(err, errlen, "ca_file: %s", msg);
		return (-1);
	}
	h = xcalloc(1, sizeof *h);
	h->h_run = r;
	h->h_url = xstrdup(json_str(json_get(s->s_def, "url")) != NULL ?
	    json_str(json_get(s->s_def, "url")) : "");
	h->h_method = xstrdup(json_str(json_get(s->s_def, "method")) != NULL ?
	    json_str(json_get(s->s_def, "method")) : "GET");
	if ((j = json_get(s->s_def, "expect_status")) != NULL &&
	    (n = http_statuses(j, h->h_expect)) > 0)
		h->h_nexpect = (size_t)n;
	if ((j = json_get(s->s_def, "match")) != NULL &&
	    json_str(j) != NULL &&
	    (h->h_re = http_compile(json_str(j), err, errlen)) == NULL) {
		free(ca);
		http_free(h);
		return (-1);
	}
	if ((j = json_get(s->s_def, "max_latency")) != NULL)
		(void)http_duration_ms(j, &h->h_max_latency_ms);
	if ((j = json_get(s->s_def, "cert_expiry_days")) != NULL)
		(void)json_int(j, &h->h_cert_days);

	/* Give up a little before the run's own timeout fires. */
	if (s->s_timeout > 0) {
		timeout_ms = s->s_timeout * 1000;
		timeout_ms -= timeout_ms / 10 < 500 ? timeout_ms / 10 : 500;
	} else
		timeout_ms = HTTP_TIMEOUT_MS;
	memset(&o, 0, sizeof o);
	o.ho_timeout_ms = timeout_ms;
	o.ho_connect_timeout_ms = timeout_ms;
	o.ho_max_bytes = HTTP_BODY_MAX;
	o.ho_certinfo = h->h_cert_days > 0;
	o.ho_ca_file = ca;
	h->h_req = httpc_req_new(run_env(r)->re_httpc, h->h_method, h->h_url);
	httpc_req_opts(h->h_req, &o);	/* copies ho_ca_file */
	free(ca);
	if (strcmp(h->h_method, "POST") == 0)
		httpc_req_body(h->h_req, xstrdup(""), 0);
	run_set_driver(r, h);
	if (httpc_req_start(h->h_req, http_head_cb, http_data_cb,
	    http_done_cb, h) == -1) {
		snprintf(err, errlen, "could not start the request to %s",
		    h->h_url);
		run_set_driver(r, NULL);
		http_free(h);
		return (-1);
	}
	return (0);
}

/* Stop now. */
static void
http_cancel(struct run *r)
{
	struct http_run	*h = run_driver(r);

	if (h == NULL)
		return;
	if (h->h_req != NULL)
		httpc_req_cancel(h->h_req);
	http_free(h);
	run_set_driver(r, NULL);
}
