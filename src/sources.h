/*
 * sources.h -- what 411d learns about each configured source at run time:
 * its flavour and version (for ES), runs in flight against it, and its
 * health from the results of recent runs.
 */
#ifndef PROG_SOURCES_H
#define PROG_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>

struct config;
struct config_source;

enum source_health {
	SOURCE_UNKNOWN,
	SOURCE_UP,
	SOURCE_DEGRADED,	/* some recent runs failed */
	SOURCE_DOWN		/* the recent runs all failed */
};

enum es_flavour {
	ES_FLAVOUR_UNKNOWN,
	ES_FLAVOUR_ELASTIC,
	ES_FLAVOUR_OPENSEARCH
};

struct source_state {
	const struct config_source *ss_cfg;	/* borrowed from the config */
	int		 ss_inflight;		/* runs under way */
	int		 ss_limit;		/* runs allowed at once */
	/* es identity, from GET / */
	enum es_flavour	 ss_flavour;
	int		 ss_major;
	int		 ss_minor;
	int64_t		 ss_identity_at;	/* ms, 0 = not yet known */
	void		*ss_identity_owner;	/* the run asking GET / now */
	void		*ss_identity_waiters;	/* runs waiting for its answer */
	/* health */
	enum source_health ss_health;
	uint64_t	 ss_ok;			/* runs that succeeded */
	uint64_t	 ss_failed;		/* runs that failed */
	int		 ss_streak;		/* consecutive failures */
	char		*ss_last_error;		/* or NULL */
	int64_t		 ss_last_ok;		/* ms */
	int64_t		 ss_last_failure;	/* ms */
	int64_t		 ss_latency_us;		/* last request's */
};

struct sources;

/* State for every source of cfg (borrowed: it must outlive the result). */
struct sources	*sources_new(const struct config *);
void		 sources_free(struct sources *);
/*
 * Rebind to a new config (SIGHUP): sources that keep their name keep their
 * state.  No state is freed before sources_free (runs hold them), and the
 * caller keeps old configs alive until then too.
 */
void		 sources_reload(struct sources *, const struct config *);
/* The state of source name, or NULL. */
struct source_state *sources_get(struct sources *, const char *);
size_t		 sources_count(const struct sources *);
struct source_state *sources_at(struct sources *, size_t);
/*
 * Record the outcome of one run against ss: ok, or failed (refused: the
 * source was overloaded or unreachable, which halves its limit of runs at
 * once; each success grows it back by one).
 */
void		 sources_result(struct source_state *, int, int, const char *,
		    int64_t);
const char	*sources_health_name(enum source_health);
/* True when any source is degraded or down. */
int		 sources_degraded(const struct sources *);
/* {"name": {"health": .., "last_error": .., ...}, ...} */
void		 sources_gen(yajl_gen, const struct sources *);

#endif
