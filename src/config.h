/*
 * config.h -- 411d.conf and 411-notify.conf: parse and validate into a
 * struct, with no side effects.
 *
 * Lines of "directive arg...", '#' comments, double-quoted strings with
 * \" and \\ escapes.  Every error is reported as "FILE:LINE: message" and
 * parsing goes on, so one pass lists them all (OpenBSD style).
 */
#ifndef PROG_CONFIG_H
#define PROG_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* Defaults, named (httpd style). */
#define CONFIG_FILE_411D	"411d.conf"
#define CONFIG_FILE_NOTIFY	"411-notify.conf"
#define CONFIG_LISTEN		"127.0.0.1:4110"
#define CONFIG_DATADIR		"/var/lib/411"
#define CONFIG_REDIS		"unix:/run/redis/redis.sock"
#define CONFIG_REDIS_PREFIX	"411:"
#define CONFIG_MAX_RUNS		10000		/* runs in flight */
#define CONFIG_MAX_ALERTS	1000		/* per run */
#define CONFIG_CATCH_UP		(24 * 3600)	/* seconds replayed */
#define CONFIG_FAILURE_EVERY	3600		/* seconds */
#define CONFIG_JOB_RETENTION	(7 * 86400)	/* seconds */
#define CONFIG_SRC_CONCURRENCY	32
#define CONFIG_SRC_TIMEOUT	60		/* seconds */
#define CONFIG_SRC_INDEX	"*"
#define CONFIG_SRC_DATE_FIELD	"@timestamp"
#define CONFIG_API_MAX_BODY	(1024 * 1024)
#define CONFIG_API_TIMEOUT	30		/* idle seconds */
#define CONFIG_API_REQUEST_TIMEOUT 60		/* seconds for a whole request */
#define CONFIG_API_MAX_CONNECTIONS 512		/* open API connections */
#define CONFIG_SCRIPT_USER	"nobody"	/* when 411d runs as root */
#define CONFIG_SHUTDOWN_GRACE	10		/* seconds */
#define CONFIG_LIST_REFRESH	3600		/* seconds */
/* 411-notify workers (times in ms) */
#define CONFIG_NOTIFY_RETRIES	8		/* tries in all */
#define CONFIG_NOTIFY_RETRY_MIN	1000
#define CONFIG_NOTIFY_RETRY_MAX	3600000
#define CONFIG_NOTIFY_CLAIM_IDLE 60000
#define CONFIG_NOTIFY_CONCURRENCY 64		/* deliveries in flight */

enum config_kind {
	CONFIG_411D,
	CONFIG_NOTIFY
};

enum source_type {
	SOURCE_ES,
	SOURCE_GRAPHITE,
	SOURCE_PROMETHEUS
};

enum role {
	ROLE_NONE,
	ROLE_VIEWER,
	ROLE_EDITOR,
	ROLE_ADMIN
};

/* One "option value" pair of a source or target line. */
struct config_opt {
	char	*co_name;
	char	*co_value;
};

struct config_source {
	char		*cs_name;
	enum source_type cs_type;
	char		*cs_url;		/* no trailing slash */
	char		*cs_index;		/* default index pattern */
	char		*cs_date_field;
	char		*cs_user;
	char		*cs_password;
	char		*cs_api_key;
	char		*cs_ca_file;
	char		*cs_cert_file;
	char		*cs_key_file;
	char		*cs_link_url;
	int		 cs_insecure;		/* tls_verify no */
	int		 cs_max_concurrency;
	int64_t		 cs_timeout;		/* seconds */
	int		 cs_line;
};

struct config_target {
	char			*ct_name;
	char			*ct_type;	/* webhook, email, jira, ... */
	struct config_opt	*ct_opts;	/* as written, in order */
	size_t			 ct_nopts;
	int			 ct_line;
};

enum list_kind {
	LIST_FILE,
	LIST_URL
};

/* list NAME file PATH|url URL [refresh D] */
struct config_list {
	char		*cl_name;
	enum list_kind	 cl_kind;
	char		*cl_where;		/* path or URL */
	int64_t		 cl_refresh;		/* seconds */
	int		 cl_line;
};

struct config_key {
	char		*ck_name;
	enum role	 ck_role;
	char		*ck_key;
};

/* trusted_proxy CIDR HEADER: from these addresses, HEADER names the user. */
struct config_proxy {
	int		 cp_family;		/* AF_INET or AF_INET6 */
	uint8_t		 cp_addr[16];		/* network, host bits zero */
	int		 cp_bits;		/* prefix length */
	char		*cp_header;
};

#define CONFIG_PROXY_MAX	32		/* trusted_proxy lines */

struct config {
	enum config_kind	 c_kind;
	char			*c_path;
	/* listen */
	char			*c_listen_host;
	int			 c_listen_port;
	/* storage */
	char			*c_datadir;
	/* redis */
	char			*c_redis_host;		/* NULL with unix */
	int			 c_redis_port;
	char			*c_redis_unix;
	char			*c_redis_password;
	char			*c_redis_prefix;
	/* searches */
	char			*c_searches_dir;	/* or NULL */
	struct config_source	*c_sources;
	size_t			 c_nsources;
	struct config_target	*c_targets;
	size_t			 c_ntargets;
	struct config_key	*c_keys;
	size_t			 c_nkeys;
	struct config_list	*c_lists;
	size_t			 c_nlists;
	/* limits and behaviour */
	int			 c_max_runs;
	int			 c_max_alerts;
	int64_t			 c_catch_up;		/* seconds */
	int64_t			 c_job_retention;	/* seconds */
	int64_t			 c_failure_every;	/* seconds between
							   search.failed */
	int64_t			 c_shutdown_grace;	/* seconds */
	size_t			 c_api_max_body;
	int64_t			 c_api_timeout;		/* seconds */
	int64_t			 c_api_request_timeout;	/* seconds, whole
							   request */
	int			 c_api_max_connections;
	/* what editors may choose among (trust rule): NULL = nothing */
	char			*c_script_dir;		/* script filters */
	char			*c_script_user;		/* when run as root */
	char			*c_maps_dir;		/* enrich map files */
	char			*c_certs_dir;		/* CA/cert/key files */
	char			*c_base_url;		/* for links, or NULL */
	char			*c_instance;		/* producer name, or NULL */
	/* DNS for filters: "ADDR[:PORT]" each; none: /etc/resolv.conf */
	char			**c_resolvers;
	size_t			  c_nresolvers;
	/* weekly_summary: email targets sent the weekly summary */
	char			**c_weekly;
	size_t			  c_nweekly;
	/* trusted_proxy lines, in order */
	struct config_proxy	*c_proxies;
	size_t			 c_nproxies;
	/* 411-notify: retries, retry_min, retry_max, claim_idle, concurrency */
	int			 c_notify_retries;	/* tries in all */
	int64_t			 c_notify_retry_min;	/* ms */
	int64_t			 c_notify_retry_max;	/* ms */
	int64_t			 c_notify_claim_idle;	/* ms */
	int			 c_notify_concurrency;
};

/* A list of error lines ("FILE:LINE: message"). */
struct config_errors {
	char	**ce_lines;
	size_t	  ce_n;
};

/*
 * Parse and check path.  Returns a new config, or NULL with every problem
 * in errs (which the caller frees with config_errors_free).
 */
struct config	*config_load(const char *, enum config_kind,
		    struct config_errors *);
/* Parse a config held in memory (for tests); name is used in messages. */
struct config	*config_parse(const char *, const char *, size_t,
		    enum config_kind, struct config_errors *);
void		 config_free(struct config *);
void		 config_errors_free(struct config_errors *);

/* Source by name, or NULL. */
const struct config_source *config_source(const struct config *,
		    const char *);
/* Target by name, or NULL. */
const struct config_target *config_target(const struct config *,
		    const char *);
/* Named list by name, or NULL. */
const struct config_list *config_list(const struct config *, const char *);
/* Option of a target by name, or NULL. */
const char	*config_target_opt(const struct config_target *, const char *);
/* Name of a role ("viewer"), and back (ROLE_NONE if unknown). */
const char	*config_role_name(enum role);
enum role	 config_role(const char *);
/*
 * The header of the first trusted_proxy whose network holds the address
 * addr (text: "127.0.0.1", "::1", "::ffff:10.1.2.3"), or NULL.
 */
const char	*config_proxy_header(const struct config *, const char *);
/* Name of a source type ("es"). */
const char	*config_source_type_name(enum source_type);

#endif
