/*
 * fuzz_src.c -- the stand-ins for the run and for HTTP that the source
 * targets link (see fuzz_src.h), and the loop that answers requests.
 */
#include "autoconf.h"

#include "fuzz_src.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "httpc.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "run.h"
#include "search.h"
#include "sources.h"
#include "src.h"
#include "util.h"
#include "xmalloc.h"
#include "fuzz.h"

#define FUZZ_TO		1795460400000LL		/* 2026-11-23T19:00:00Z */
#define FUZZ_ANSWERS	12			/* requests answered per run */

struct httpc_req {
	httpc_head_cb	 hq_head;
	httpc_data_cb	 hq_data;
	httpc_done_cb	 hq_done;
	void		*hq_arg;
};

static const char fuzz_src_conf[] =
    "api_key admin admin \"0123456789abcdef0123456789abcdef\"\n"
    "datadir /nonexistent\n"
    "source logs es http://127.0.0.1:9200 index \"logs-*\" "
    "date_field @timestamp\n"
    "source prom prometheus http://127.0.0.1:9090\n"
    "source gr graphite http://127.0.0.1:8080\n";

static struct config	*fuzz_cfg;
static struct search	*fuzz_searches[16];
static size_t		 fuzz_nsearches;
static struct search	*fuzz_cur;
static struct source_state fuzz_ss;
static struct run_env	 fuzz_env;
static void		*fuzz_driver;
static struct httpc_req	*fuzz_pending;
static int		 fuzz_finished;
static uint64_t		 fuzz_records, fuzz_limit;
static char		 fuzz_run_dummy;
#define FUZZ_RUN	((struct run *)&fuzz_run_dummy)

void
fuzz_src_init(const char *const *defs)
{
	struct config_errors	 errs;
	struct search_err	 err;
	struct json		*j;
	char			 msg[256];
	size_t			 i;

	log_init("fuzz", 1, 0);
	memset(&errs, 0, sizeof errs);
	fuzz_cfg = config_parse("fuzz.conf", fuzz_src_conf,
	    sizeof fuzz_src_conf - 1, CONFIG_411D, &errs);
	if (fuzz_cfg == NULL) {
		for (i = 0; i < errs.ce_n; i++)
			log_warnx("%s", errs.ce_lines[i]);
		abort();
	}
	fuzz_env.re_cfg = fuzz_cfg;
	for (i = 0; defs[i] != NULL && i < 16; i++) {
		if ((j = json_parse(defs[i], strlen(defs[i]), msg,
		    sizeof msg)) == NULL) {
			log_warnx("search %zu: %s", i, msg);
			abort();
		}
		if ((fuzz_searches[i] = search_from_json(j, fuzz_cfg,
		    &err)) == NULL) {
			log_warnx("search %zu: %s: %s", i, err.se_field,
			    err.se_message);
			abort();
		}
		json_free(j);
	}
	fuzz_nsearches = i;
}

/* The next answer of the input: status byte, chunk byte, body. */
static int
fuzz_next(const uint8_t **data, size_t *len, const uint8_t **body,
    size_t *blen, long *status, size_t *chunk, const char **ctype)
{
	static const long statuses[] = { 200, 200, 200, 200, 201, 400,
	    404, 406, 429, 500, 502, 503, 504, 301, 0, -1 };
	static const char *const ctypes[] = { "application/json",
	    "application/json; charset=UTF-8", NULL, "text/html" };
	const uint8_t	*p = NULL;
	size_t		 i;

	if (*len < 2)
		return (-1);
	*status = statuses[(*data)[0] % 16];
	*chunk = ((*data)[1] >> 2) == 0 ? (size_t)-1 : (*data)[1] >> 2;
	*ctype = ctypes[(*data)[1] & 3];
	for (i = 2; i + 4 <= *len; i++)
		if (memcmp(*data + i, "\n--\n", 4) == 0) {
			p = *data + i;
			break;
		}
	*body = *data + 2;
	if (p == NULL) {
		*blen = *len - 2;
		*data += *len;
		*len = 0;
	} else {
		*blen = (size_t)(p - *body);
		*len -= (size_t)(p + 4 - *data);
		*data = p + 4;
	}
	return (0);
}

void
fuzz_src_run(const struct src_ops *ops, const uint8_t *data, size_t len)
{
	struct httpc_result	 res;
	struct httpc_req	*req;
	const uint8_t		*body;
	const char		*ctype;
	char			 err[256];
	size_t			 blen, chunk, off, n, answers = 0;
	long			 status;
	int			 aborted;

	if (len < 2 || fuzz_nsearches == 0)
		return;
	memset(&fuzz_ss, 0, sizeof fuzz_ss);
	fuzz_cur = fuzz_searches[data[1] % fuzz_nsearches];
	fuzz_ss.ss_cfg = config_source(fuzz_cfg, fuzz_cur->s_source);
	if (data[0] & FUZZ_SRC_IDENTITY) {
		fuzz_ss.ss_identity_at = util_now_ms();
		fuzz_ss.ss_flavour = data[0] & FUZZ_SRC_OPENSEARCH ?
		    ES_FLAVOUR_OPENSEARCH : ES_FLAVOUR_ELASTIC;
		fuzz_ss.ss_major = data[0] & FUZZ_SRC_OLD ? 5 : 8;
		fuzz_ss.ss_minor = 1;
	}
	fuzz_limit = data[0] & FUZZ_SRC_LIMIT ? 3 : 1000000;
	fuzz_records = 0;
	fuzz_finished = 0;
	fuzz_driver = NULL;
	fuzz_pending = NULL;
	data += 2;
	len -= 2;
	if (ops->so_start(FUZZ_RUN, err, sizeof err) == -1)
		return;
	while (fuzz_pending != NULL && !fuzz_finished) {
		req = fuzz_pending;
		fuzz_pending = NULL;
		memset(&res, 0, sizeof res);
		if (answers++ >= FUZZ_ANSWERS || fuzz_next(&data, &len, &body,
		    &blen, &status, &chunk, &ctype) == -1 || status == -1) {
			/* the connection drops */
			res.hr_error = "Connection reset by peer";
			req->hq_done(req->hq_arg, &res);
			free(req);
			continue;
		}
		aborted = req->hq_head(req->hq_arg, status, ctype) == -1;
		for (off = 0; !aborted && off < blen; off += n) {
			n = blen - off < chunk ? blen - off : chunk;
			aborted = req->hq_data(req->hq_arg,
			    (const char *)body + off, n) == -1;
		}
		res.hr_ok = !aborted;
		res.hr_aborted = aborted;
		res.hr_status = status;
		res.hr_content_type = ctype;
		res.hr_bytes = (int64_t)off;
		if (aborted)
			res.hr_error = "aborted by the data callback";
		if (status == 429 || status == 503)
			res.hr_retry_after = "7";
		req->hq_done(req->hq_arg, &res);
		free(req);
	}
	if (!fuzz_finished && fuzz_driver != NULL)
		ops->so_cancel(FUZZ_RUN);
	if (fuzz_pending != NULL) {
		free(fuzz_pending);
		fuzz_pending = NULL;
	}
}

/* The stand-ins of the run. */
void *
run_driver(const struct run *r)
{
	return (fuzz_driver);
}

void
run_set_driver(struct run *r, void *d)
{
	fuzz_driver = d;
}

struct run_env *
run_env(const struct run *r)
{
	return (&fuzz_env);
}

struct search *
run_search(const struct run *r)
{
	return (fuzz_cur);
}

struct source_state *
run_source(const struct run *r)
{
	return (fuzz_ss.ss_cfg != NULL ? &fuzz_ss : NULL);
}

int64_t
run_from(const struct run *r)
{
	return (FUZZ_TO - 300000);
}

int64_t
run_to(const struct run *r)
{
	return (FUZZ_TO);
}

int
run_record(struct run *r, struct record *rec)
{
	size_t	 i, klen, vlen;

	for (i = 0; i < record_count(rec); i++) {
		(void)record_key(rec, i, &klen);
		(void)record_val(rec, i, &vlen);
	}
	record_free(rec);
	return (++fuzz_records >= fuzz_limit ? 1 : 0);
}

void
run_total(struct run *r, uint64_t n, int exact)
{
}

void
run_warn(struct run *r, const char *w)
{
	(void)strlen(w);
}

void
run_finish(struct run *r, const char *err, int retryable, const char *ra)
{
	if (fuzz_finished)
		abort();	/* exactly one run_finish */
	if (err != NULL)
		(void)strlen(err);
	fuzz_finished = 1;
}

/* The stand-ins of HTTP: a request waits for fuzz_src_run. */
struct httpc_req *
httpc_req_new(struct httpc *h, const char *method, const char *url)
{
	return (xcalloc(1, sizeof (struct httpc_req)));
}

void
httpc_req_header(struct httpc_req *req, const char *h)
{
	(void)strlen(h);
}

void
httpc_req_body(struct httpc_req *req, char *body, size_t len)
{
	free(body);
}

void
httpc_req_opts(struct httpc_req *req, const struct httpc_opts *o)
{
}

int
httpc_req_start(struct httpc_req *req, httpc_head_cb head,
    httpc_data_cb data, httpc_done_cb done, void *arg)
{
	if (head == NULL && data == NULL) {
		free(req);	/* a detached request: nobody waits */
		return (0);
	}
	if (fuzz_pending != NULL)
		abort();	/* one request at a time per run */
	req->hq_head = head;
	req->hq_data = data;
	req->hq_done = done;
	req->hq_arg = arg;
	fuzz_pending = req;
	return (0);
}

void
httpc_req_cancel(struct httpc_req *req)
{
	if (req == fuzz_pending)
		fuzz_pending = NULL;
	free(req);
}

void
httpc_req_free(struct httpc_req *req)
{
	free(req);
}
