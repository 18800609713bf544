/*
 * sources.c -- what 411d learns about each configured source at run time:
 * its flavour and version (for ES), runs in flight against it, and its
 * health from the results of recent runs.
 *
 * Health: up after a success, degraded after 1 or 2 failures in a row,
 * down after 3 or more.  The concurrency limit starts at the source's
 * max_concurrency; the scheduler reads and keeps ss_inflight.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "sources.h"
#include "util.h"
#include "xmalloc.h"

#define SOURCES_DOWN_STREAK	3

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

/* Record the outcome of one run against ss. */
void
sources_result(struct source_state *ss, int ok, int refused,
    const char *error, int64_t latency_us)
{
	int64_t	 now = util_now_ms();

	ss->ss_latency_us = latency_us;
	/*
	 * The limit of runs at once adapts (B4): halved when the source
	 * refuses (429, 503, overload, dropped connections), grown by one
	 * per success back to max_concurrency.
	 */
	if (ok && ss->ss_limit < ss->ss_cfg->cs_max_concurrency)
		ss->ss_limit++;
	else if (!ok && refused && ss->ss_limit > 1)
		ss->ss_limit = (ss->ss_limit + 1) / 2;
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
		jgen_kint(g, "runs_ok", (int64_t)ss->ss_ok);
		jgen_kint(g, "runs_failed", (int64_t)ss->ss_failed);
		jgen_ktime(g, "last_ok", ss->ss_last_ok);
		jgen_ktime(g, "last_failure", ss->ss_last_failure);
		jgen_kstr(g, "last_error", ss->ss_last_error);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
}
