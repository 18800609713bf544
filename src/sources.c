/*
 * sources.c -- what 411d learns about each configured source at run time:
 * its flavour and version (for ES), runs in flight against it, and its
 * health from the results of recent runs.
 *
 * Health: up after a success, degraded after 1 or 2 failures in a row,
 * down after 3 or more.  The concurrency limit starts at the source's
 * max_concurrency and adapts to what the source says (AIMD, as TCP's
 * congestion window): halved on overload (429, 503), one less on a slow
 * answer, one more per round of successes; the scheduler reads it and
 * keeps ss_inflight.  Failures are classified here, once for every driver.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "httpc.h"
#include "json.h"
#include "metrics.h"
#include "sources.h"
#include "util.h"
#include "xmalloc.h"

#define SOURCES_DOWN_STREAK	3
#define SOURCES_CUT_MS		1000	/* at most one decrease a second */

struct sources {
	struct source_state	**so_v;		/* the configured sources */
	size_t			  so_n;
	struct source_state	**so_old;	/* retired by reloads */
	size_t			  so_nold;
};

/* State for every source of cfg. */
struct sources *
sources_new(const struct config *cfg)
{
	struct sources	*so;
	size_t		 i;

	so = xcalloc(1, sizeof *so);
	so->so_n = cfg->c_nsources;
	if (so->so_n == 0)
		return (so);
	so->so_v = xcalloc(so->so_n, sizeof *so->so_v);
	for (i = 0; i < so->so_n; i++) {
		so->so_v[i] = xcalloc(1, sizeof *so->so_v[i]);
		so->so_v[i]->ss_cfg = &cfg->c_sources[i];
		so->so_v[i]->ss_limit = cfg->c_sources[i].cs_max_concurrency;
	}
	return (so);
}

/* Free one state. */
static void
sources_free_one(struct source_state *ss)
{
	free(ss->ss_last_error);
	free(ss);
}

/* Free; accepts NULL. */
void
sources_free(struct sources *so)
{
	size_t	 i;

	if (so == NULL)
		return;
	for (i = 0; i < so->so_n; i++)
		sources_free_one(so->so_v[i]);
	for (i = 0; i < so->so_nold; i++)
		sources_free_one(so->so_old[i]);
	free(so->so_v);
	free(so->so_old);
	free(so);
}

/*
 * Rebind to a new config.  States are never freed before the end, since
 * runs in flight hold them: a source that keeps its name keeps its state
 * (its identity is forgotten when its URL changed); a removed one retires.
 */
void
sources_reload(struct sources *so, const struct config *cfg)
{
	struct source_state	**nv = NULL, *ss;
	const struct config_source *cs;
	size_t			  i, k;

	if (cfg->c_nsources > 0)
		nv = xcalloc(cfg->c_nsources, sizeof *nv);
	for (i = 0; i < cfg->c_nsources; i++) {
		cs = &cfg->c_sources[i];
		for (k = 0; k < so->so_n; k++) {
			ss = so->so_v[k];
			if (ss != NULL && strcmp(ss->ss_cfg->cs_name,
			    cs->cs_name) == 0)
				break;
		}
		if (k < so->so_n) {
			ss = so->so_v[k];
			so->so_v[k] = NULL;
			if (strcmp(ss->ss_cfg->cs_url, cs->cs_url) != 0)
				ss->ss_identity_at = 0;
		} else
			ss = xcalloc(1, sizeof *ss);
		ss->ss_cfg = cs;
		ss->ss_limit = cs->cs_max_concurrency;
		nv[i] = ss;
	}
	for (k = 0; k < so->so_n; k++) {
		if (so->so_v[k] == NULL)
			continue;
		/* Retired: it keeps pointing into the old config. */
		so->so_old = xreallocarray(so->so_old, so->so_nold + 1,
		    sizeof *so->so_old);
		so->so_old[so->so_nold++] = so->so_v[k];
	}
	free(so->so_v);
	so->so_v = nv;
	so->so_n = cfg->c_nsources;
}

/* The state of source name, or NULL. */
struct source_state *
sources_get(struct sources *so, const char *name)
{
	size_t	 i;

	if (name == NULL)
		return (NULL);
	for (i = 0; i < so->so_n; i++) {
		if (strcmp(so->so_v[i]->ss_cfg->cs_name, name) == 0)
			return (so->so_v[i]);
	}
	return (NULL);
}

/* Number of sources. */
size_t
sources_count(const struct sources *so)
{
	return (so->so_n);
}

/* Source i. */
struct source_state *
sources_at(struct sources *so, size_t i)
{
	return (i < so->so_n ? so->so_v[i] : NULL);
}

/* The AIMD step: the new limit after one run's outcome. */
int
sources_adapt(int limit, int max, int ok, int fail, int *ai, int64_t *cut,
    int64_t started, int64_t now)
{
	int	 floor;

	if (max < 1)
		max = 1;
	if (limit > max)
		limit = max;
	if (limit < 1)
		limit = 1;
	if (ok) {
		/*
		 * Additive increase: one per limit / 4 successes, four per
		 * round of runs, so a halving is made good in a few rounds.
		 */
		if (limit < max && ++*ai >= (limit + 3) / 4) {
			limit++;
			*ai = 0;
		}
		return (limit);
	}
	if (fail != SOURCE_FAIL_OVERLOAD && fail != SOURCE_FAIL_SLOW)
		return (limit);		/* a failed try, not a signal */
	/*
	 * Runs sent before the last cut saw the old load, and one cut a
	 * second is enough: a burst of answers cuts once, a lasting
	 * overload halves every second.
	 */
	if (*cut != 0 && (started < *cut || now - *cut < SOURCES_CUT_MS))
		return (limit);
	if (fail == SOURCE_FAIL_OVERLOAD)
		limit = limit / 2 > 1 ? limit / 2 : 1;
	else {
		/*
		 * Slow: a heavy query or a busy cluster, no telling which;
		 * slots held by slow answers are not the cluster asking for
		 * less (it says 429 then).  Gently, and never below half.
		 */
		floor = max / 2 > 1 ? max / 2 : 1;
		if (limit > floor)
			limit--;
	}
	*ai = 0;
	*cut = now;
	return (limit);
}

/* Record the outcome of one run against ss. */
void
sources_result(struct source_state *ss, int ok, int fail,
    const char *error, int64_t latency_us)
{
	int64_t	 now = util_now_ms();

	ss->ss_latency_us = latency_us;
	ss->ss_limit = sources_adapt(ss->ss_limit,
	    ss->ss_cfg->cs_max_concurrency, ok, fail, &ss->ss_ai_count,
	    &ss->ss_cut_at, now - latency_us / 1000, now);
	if (!ok && fail >= 0 && fail < SOURCE_FAIL_NCLASS)
		ss->ss_fails[fail]++;
	if (ok) {
		ss->ss_ok++;
		ss->ss_streak = 0;
		ss->ss_last_ok = now;
		ss->ss_health = SOURCE_UP;
		return;
	}
	ss->ss_failed++;
	ss->ss_streak++;
	ss->ss_last_failure = now;
	free(ss->ss_last_error);
	ss->ss_last_error = xstrdup(error != NULL ? error : "unknown error");
	ss->ss_health = ss->ss_streak >= SOURCES_DOWN_STREAK ? SOURCE_DOWN :
	    SOURCE_DEGRADED;
}

/* The class of an HTTP status that is not 2xx. */
enum source_fail
sources_fail_status(long status)
{
	switch (status) {
	case 400:	/* the query is wrong */
	case 404:	/* no such index */
	case 406:	/* the request's form is refused */
	case 422:	/* cannot be evaluated (prometheus) */
		return (SOURCE_FAIL_FINAL);
	case 429:	/* too many requests */
	case 503:	/* unavailable: queues full, shards not ready */
		return (SOURCE_FAIL_OVERLOAD);
	case 408:	/* request timeout */
	case 504:	/* a gateway gave up waiting */
		return (SOURCE_FAIL_SLOW);
	default:	/* 500, 502, others: this try failed */
		return (SOURCE_FAIL_RETRY);
	}
}

/* The class of a finished request that failed. */
enum source_fail
sources_fail_http(const struct httpc_result *res)
{
	if (!res->hr_ok)
		return (res->hr_timeout ? SOURCE_FAIL_SLOW : SOURCE_FAIL_RETRY);
	if (res->hr_status >= 200 && res->hr_status < 300)
		return (SOURCE_FAIL_RETRY);	/* a bad body */
	return (sources_fail_status(res->hr_status));
}

/* Name of a failure class. */
const char *
sources_fail_name(int fail)
{
	switch (fail) {
	case SOURCE_FAIL_FINAL:
		return ("final");
	case SOURCE_FAIL_RETRY:
		return ("retry");
	case SOURCE_FAIL_OVERLOAD:
		return ("overload");
	case SOURCE_FAIL_SLOW:
		return ("slow");
	default:
		return ("?");
	}
}

/* Name of a health state. */
const char *
sources_health_name(enum source_health h)
{
	switch (h) {
	case SOURCE_UP:
		return ("up");
	case SOURCE_DEGRADED:
		return ("degraded");
	case SOURCE_DOWN:
		return ("down");
	default:
		return ("unknown");
	}
}

/* True when any source is degraded or down. */
int
sources_degraded(const struct sources *so)
{
	size_t	 i;

	for (i = 0; i < so->so_n; i++) {
		if (so->so_v[i]->ss_health == SOURCE_DEGRADED ||
		    so->so_v[i]->ss_health == SOURCE_DOWN)
			return (1);
	}
	return (0);
}

/* {"name": {"health": .., ...}, ...} */
void
sources_gen(yajl_gen g, const struct sources *so)
{
	const struct source_state	*ss;
	char				 ver[32];
	size_t				 i;

	yajl_gen_map_open(g);
	for (i = 0; i < so->so_n; i++) {
		ss = so->so_v[i];
		jgen_str(g, ss->ss_cfg->cs_name);
		yajl_gen_map_open(g);
		jgen_kstr(g, "type",
		    config_source_type_name(ss->ss_cfg->cs_type));
		jgen_kstr(g, "health", sources_health_name(ss->ss_health));
		if (ss->ss_identity_at != 0) {
			snprintf(ver, sizeof ver, "%d.%d", ss->ss_major,
			    ss->ss_minor);
			jgen_kstr(g, "flavour",
			    ss->ss_flavour == ES_FLAVOUR_OPENSEARCH ?
			    "opensearch" : "elasticsearch");
			jgen_kstr(g, "version", ver);
		}
		jgen_kint(g, "in_flight", ss->ss_inflight);
		jgen_kint(g, "limit", ss->ss_limit);
		jgen_kint(g, "max_concurrency", ss->ss_cfg->cs_max_concurrency);
		jgen_kint(g, "runs_ok", (int64_t)ss->ss_ok);
		jgen_kint(g, "runs_failed", (int64_t)ss->ss_failed);
		jgen_ktime(g, "last_ok", ss->ss_last_ok);
		jgen_ktime(g, "last_failure", ss->ss_last_failure);
		jgen_kstr(g, "last_error", ss->ss_last_error);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
}

/* Per-source families for /metrics. */
void
sources_metrics(struct buf *b, const struct sources *so)
{
	const struct source_state	*ss;
	size_t				 i;
	int				 k;

	if (so == NULL || so->so_n == 0)
		return;
	metrics_header(b, "four11_source_concurrency", "gauge",
	    "Runs allowed at once against each source now (adapts to 429, "
	    "503 and timeouts, up to max_concurrency).");
	for (i = 0; i < so->so_n; i++) {
		ss = so->so_v[i];
		buf_adds(b, "four11_source_concurrency{source=\"");
		metrics_label(b, ss->ss_cfg->cs_name);
		buf_printf(b, "\"} %d\n", ss->ss_limit);
	}
	metrics_header(b, "four11_source_failures_total", "counter",
	    "Failed runs against each source, by class (final, retry, "
	    "overload, slow).");
	for (i = 0; i < so->so_n; i++) {
		ss = so->so_v[i];
		for (k = 0; k < SOURCE_FAIL_NCLASS; k++) {
			buf_adds(b, "four11_source_failures_total{source=\"");
			metrics_label(b, ss->ss_cfg->cs_name);
			buf_printf(b, "\",class=\"%s\"} %llu\n",
			    sources_fail_name(k),
			    (unsigned long long)ss->ss_fails[k]);
		}
	}
}
