/*
 * search.h -- a search definition: JSON <-> struct, validation with
 * field-level errors, reference counting.
 *
 * A struct search is immutable once built and shared by reference: the
 * scheduler, runs in flight and the API each hold their own reference, so
 * an update or delete never pulls a definition out from under a run.
 */
#ifndef PROG_SEARCH_H
#define PROG_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>

struct config;
struct cron;
struct json;

enum search_type {
	SEARCH_ES,
	SEARCH_GRAPHITE,
	SEARCH_HTTP,
	SEARCH_PROMETHEUS,
	SEARCH_PUSH,
	SEARCH_ALERT,
	SEARCH_TCP,
	SEARCH_NTYPES
};

enum search_result {
	RESULT_FIELDS,
	RESULT_COUNT,
	RESULT_NO_RESULTS
};

enum search_origin {
	ORIGIN_API,
	ORIGIN_FILE
};

#define SEARCH_NAME_MAX		200
#define SEARCH_DEFAULT_EVERY	300		/* seconds */
#define SEARCH_MAX_FIELDS	256

/* A field-level validation error: "field" names the JSON path. */
struct search_err {
	char	 se_field[128];
	char	 se_message[256];
};

/* How a target gets the search's new alerts. */
enum search_digest {
	SEARCH_DIGEST_NONE,		/* one job per alert */
	SEARCH_DIGEST_HOURLY,		/* one job per hour (email only) */
	SEARCH_DIGEST_DAILY		/* one job per day, 00:00 UTC */
};

/* One target of a search. */
struct search_target {
	char		*st_name;
	char		*st_type;	/* resolved from the config */
	struct json	*st_params;	/* the object minus "target" */
	enum search_digest st_digest;	/* its "digest" parameter */
};

struct search {
	int			 s_refs;
	uint64_t		 s_id;
	uint64_t		 s_version;
	int64_t			 s_created;	/* ms */
	int64_t			 s_updated;	/* ms */
	enum search_origin	 s_origin;
	char			*s_file;	/* searches_dir file, or NULL */

	char			*s_name;
	enum search_type	 s_type;
	char			*s_source;	/* source name, or NULL */
	char			*s_query;	/* es: Lucene query string */
	struct json		*s_query_dsl;	/* es: a full query object */
	char			*s_index;	/* es: index override, or NULL */
	enum search_result	 s_result;
	int			 s_has_lo;
	int			 s_has_hi;
	double			 s_lo;		/* threshold [lo, hi] */
	double			 s_hi;
	char			**s_fields;
	size_t			 s_nfields;
	int64_t			 s_every;	/* seconds, 0 with cron */
	char			*s_cron;	/* or NULL */
	char			*s_tz;		/* or NULL */
	struct cron		*s_cron_c;	/* s_cron compiled, or NULL */
	int64_t			 s_range;	/* seconds */
	int64_t			 s_delay;	/* seconds */
	char			*s_priority;	/* low, medium, high, critical */
	char			*s_category;
	char			*s_owner;	/* or NULL */
	char			*s_assignee;	/* or NULL */
	char			**s_tags;
	size_t			 s_ntags;
	int			 s_enabled;
	int64_t			 s_autoclose;	/* seconds, 0 = never */
	int			 s_max_alerts;	/* per run */
	int64_t			 s_timeout;	/* seconds, 0 = the source's */
	struct json		*s_filters;	/* validated array */
	struct search_target	*s_targets;
	size_t			 s_ntargets;

	struct json		*s_def;		/* the definition as given,
						   without server fields */
};

/*
 * Build a search from a definition object.  Server-owned fields in def
 * (id, created, updated, version, origin, status, change_note) are
 * ignored.  cfg resolves sources and targets (NULL skips those checks).
 * Returns a new search with one reference, or NULL with err filled.
 */
struct search	*search_from_json(const struct json *, const struct config *,
		    struct search_err *);
/*
 * Parse a stored search (definition plus the server fields "id",
 * "version", "created", "updated", "origin", "file") as written by
 * search_to_store.  Returns NULL with err filled.
 */
struct search	*search_from_store(const char *, size_t,
		    const struct config *, struct search_err *);
/* Serialize for STORE_SEARCHES (definition plus server fields). */
char		*search_to_store(const struct search *, size_t *);
/*
 * Write the API form: the definition, then id, created, updated, version
 * and origin.  The caller adds "status" (it knows the run state).
 * Leaves the object open so the caller can add members; close it with
 * yajl_gen_map_close.
 */
void		 search_gen_open(yajl_gen, const struct search *);

struct search	*search_ref(struct search *);
/* Drop a reference; frees at zero.  Accepts NULL. */
void		 search_unref(struct search *);

const char	*search_type_name(enum search_type);
int		 search_type_parse(const char *, enum search_type *);
const char	*search_result_name(enum search_result);
/* True when count lies inside the search's threshold. */
int		 search_threshold_ok(const struct search *, double);
/* Deterministic jitter in [0, every) seconds, from the id. */
int64_t		 search_jitter(const struct search *);

/*
 * What 411d knows of a search's runs, kept in STORE_SEARCH_STATE and
 * written in the same transaction as each run.
 */
struct search_state {
	int64_t		 ss_checkpoint;		/* end of the last window done, ms */
	int64_t		 ss_last_run;		/* ms, 0 = never */
	int64_t		 ss_last_success;
	int64_t		 ss_last_failure;
	char		*ss_last_error;		/* or NULL */
	int		 ss_failing;		/* the last scheduled run failed */
	int64_t		 ss_failing_since;	/* ms */
	uint64_t	 ss_last_job;		/* id of the last job record */
	/* events (B7): what was announced, and the recent history */
	int		 ss_announced;		/* search.failed sent, no
						   search.recovered yet */
	int64_t		 ss_failed_event_at;	/* ms of the last search.failed */
	uint32_t	 ss_history;		/* last runs, bit 0 newest,
						   1 = failed */
	int		 ss_nhistory;		/* bits of it in use, <= 21 */
	int		 ss_flapping;
};

#define SEARCH_FLAP_RUNS	21	/* runs the flap rate looks at */
#define SEARCH_FLAP_START	0.5	/* rate at which flapping starts */
#define SEARCH_FLAP_STOP	0.25	/* and below which it ends */

/*
 * The weighted flap rate of a run history (bit 0 newest, 1 = failed) of
 * n runs: the share of state changes between consecutive runs, recent
 * changes weighing more (1.2) than old ones (0.8), 0 to 1.
 */
double		 search_flap_rate(uint32_t, int);

struct store_txn;

/* Read the state of search id (zeroed when none).  Returns 0 or -1. */
int		 search_state_load(struct store_txn *, uint64_t,
		    struct search_state *);
/* Write it.  Returns 0 or -1. */
int		 search_state_save(struct store_txn *, uint64_t,
		    const struct search_state *);
/* Free what a loaded state holds (not the struct). */
void		 search_state_clear(struct search_state *);

#endif
