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

struct buf;
struct config;
struct config_source;
struct httpc_result;

/*
 * What a failed run says, for its retry and for its source (one
 * classification for every driver: sources_fail_status and
 * sources_fail_http):
 *   SOURCE_FAIL_FINAL     the same request fails again (400, 404, 406, 422,
 *                         a definition the source refuses): the window is
 *                         tried again only at the back-off cap; the
 *                         source's concurrency is not touched
 *   SOURCE_FAIL_RETRY     this try failed (500, 502, other 5xx and 4xx, a
 *                         reset or refused connection, a garbage or
 *                         truncated answer): retried soon (back-off from
 *                         1 s); the concurrency is not touched
 *   SOURCE_FAIL_OVERLOAD  the source asks for less (429, 503): retried soon,
 *                         honouring Retry-After; the concurrency is halved
 *   SOURCE_FAIL_SLOW      no answer in time (run or request timeout, 504,
 *                         408, the cluster's timed_out): retried soon; the
 *                         concurrency shrinks by one, not below half of
 *                         max_concurrency
 * 0 and 1 are what drivers passed as "retryable" before (not / yes).
 */
enum source_fail {
	SOURCE_FAIL_FINAL = 0,
	SOURCE_FAIL_RETRY = 1,
	SOURCE_FAIL_OVERLOAD = 2,
	SOURCE_FAIL_SLOW = 3
};
#define SOURCE_FAIL_NCLASS	4

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
	int		 ss_limit;		/* runs allowed now (AIMD) */
	int		 ss_ai_count;		/* successes since it grew */
	int64_t		 ss_cut_at;		/* ms of its last decrease */
	uint64_t	 ss_fails[SOURCE_FAIL_NCLASS]; /* failures by class */
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
 * Record the outcome of one run against ss that took latency_us: ok, or
 * failed with a class (enum source_fail) and error.  The limit of runs at
 * once adapts (AIMD, see sources_adapt).
 */
void		 sources_result(struct source_state *, int, int, const char *,
		    int64_t);
/*
 * The AIMD arithmetic, pure (exposed for the unit tests): the new limit
 * after one run's outcome (ok, or class fail), given the limit, max (the
 * source's max_concurrency), *ai (successes since the last increase), *cut
 * (ms of the last decrease, 0 = none), the run's start and now (ms).  A
 * success adds one per limit / 4 successes (four per round of runs); an
 * overload halves (floor 1), a slow answer takes one off (floor max / 2,
 * at least 1); a decrease counts only for a run that started after the
 * last one and a second after it, so a burst of failures cuts once.
 */
int		 sources_adapt(int, int, int, int, int *, int64_t *, int64_t,
		    int64_t);
/* The class of an HTTP status that is not 2xx. */
enum source_fail sources_fail_status(long);
/* The class of a finished request that failed (transport or status). */
enum source_fail sources_fail_http(const struct httpc_result *);
/* "final", "retry", "overload", "slow". */
const char	*sources_fail_name(int);
const char	*sources_health_name(enum source_health);
/* True when any source is degraded or down. */
int		 sources_degraded(const struct sources *);
/* {"name": {"health": .., "last_error": .., ...}, ...} */
void		 sources_gen(yajl_gen, const struct sources *);
/*
 * Per-source families for /metrics: four11_source_concurrency (the
 * current limit) and four11_source_failures_total{class}.
 */
void		 sources_metrics(struct buf *, const struct sources *);

#endif
