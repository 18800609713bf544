/*
 * config.c -- 411d.conf and 411-notify.conf: parse and validate into a
 * struct config, with no side effects.
 *
 * A line is "directive arg...".  Arguments are split at blanks; a double
 * quote starts a quoted part in which blanks and '#' are plain text and
 * only \" and \\ are escapes (any other backslash is kept as it is).  A
 * '#' that starts a word starts a comment; inside a word it is text (so
 * "http://x/#/y" needs no quotes).  Each directive is looked up in one
 * table of {name, min args, max args, files, setter} (redis
 * standardConfig); every error is collected as "FILE:LINE: message" and
 * parsing goes on, so one pass lists them all (OpenBSD yyerror).  A
 * directive that takes one value and is given twice keeps the last one
 * (redis.conf); source, target and api_key add one each.
 *
 * Defaults (config_defaults, from the CONFIG_* names in config.h):
 *	listen 127.0.0.1:4110, datadir /var/lib/411,
 *	redis unix:/run/redis/redis.sock, no redis password,
 *	redis_prefix "411:", no searches_dir, max_runs 10000,
 *	max_alerts 1000, catch_up 1d, job_retention 7d, shutdown_grace 10s,
 *	failure_event_every 1h,
 *	api_max_body 1m, api_timeout 30s, no base_url, no instance (main
 *	uses the host name); source options: index *, date_field
 *	@timestamp, max_concurrency 32, timeout 60s, insecure no; list
 *	refresh 1h; no resolver (the name servers of /etc/resolv.conf)
 *
 * Limits: max_runs, max_alerts and max_concurrency 1 to 2147483647;
 * catch_up and shutdown_grace may be 0, job_retention, api_timeout and a
 * source timeout may not; api_max_body 1 byte to 1g; an api_key key has
 * 16 characters at least.  Error messages never show a password or key.
 *
 * trusted_proxy CIDR HEADER (at most CONFIG_PROXY_MAX): requests whose
 * peer address is in CIDR ("127.0.0.1/32", "10.0.0.0/8", "::1/128"; a
 * bare address is a /32 or /128) name their user in HEADER; from any other
 * address that header is ignored.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "util.h"
#include "xmalloc.h"

#define CONFIG_KEY_MIN		16		/* api_key characters */
#define CONFIG_MAX_ERRORS	100		/* then give up */
#define CONFIG_MAX_BODY_LIMIT	(1024 * 1024 * 1024)

/* Which file a directive belongs in. */
#define K_411D		0x1
#define K_NOTIFY	0x2
#define K_BOTH		(K_411D | K_NOTIFY)
#define K_MANY		0x4		/* may be given more than once */

#define CONFIG_ECHO_MAX	64		/* bytes of a bad word echoed */

struct config_parser {
	const char		*p_name;	/* file name for messages */
	struct config		*p_cfg;
	struct config_errors	*p_errs;
	int			 p_line;
	int			 p_nerr;
	int			*p_key_lines;	/* line of c_keys[i] */
	int			*p_seen;	/* line each directive was
						   last given on, or 0 */
};

struct config_directive {
	const char	*d_name;
	int		 d_min;		/* arguments after the name */
	int		 d_max;		/* -1: no limit */
	int		 d_kinds;
	void		(*d_set)(struct config_parser *, int, char **);
};

/* The options of a source line. */
enum config_srcopt {
	SO_INDEX,
	SO_DATE_FIELD,
	SO_USER,
	SO_PASSWORD,
	SO_API_KEY,
	SO_CA_FILE,
	SO_CERT_FILE,
	SO_KEY_FILE,
	SO_LINK_URL,
	SO_INSECURE,
	SO_TLS_VERIFY,
	SO_MAX_CONCURRENCY,
	SO_TIMEOUT
};

static void	config_err(struct config_parser *, const char *, ...)
		    printflike(2, 3);
static void	config_defaults(struct config *);
static void	config_line(struct config_parser *, const char *, size_t);
static int	config_split(struct config_parser *, const char *, size_t,
		    char ***, int *);
static void	config_setstr(char **, const char *);
static char	*config_echo(const char *);
static int	config_hostport(struct config_parser *, const char *,
		    const char *, int, char **, int *);
static int	config_int(struct config_parser *, const char *,
		    const char *, int, int *);
static int	config_duration(struct config_parser *, const char *,
		    const char *, int64_t, int64_t *);
static int	config_size(struct config_parser *, const char *,
		    const char *, size_t *);
static int	config_bool(const char *, int *);
static int	config_name_ok(const char *);
static int	config_url(struct config_parser *, const char *,
		    const char *, char **);
static void	config_source_free(struct config_source *);
static void	set_source_opt(struct config_parser *,
		    struct config_source *, enum config_srcopt, const char *,
		    const char *, const char *);
static void	config_target_free(struct config_target *);

static void	set_listen(struct config_parser *, int, char **);
static void	set_datadir(struct config_parser *, int, char **);
static void	set_redis(struct config_parser *, int, char **);
static void	set_redis_password(struct config_parser *, int, char **);
static void	set_redis_prefix(struct config_parser *, int, char **);
static void	set_source(struct config_parser *, int, char **);
static void	set_target(struct config_parser *, int, char **);
static void	set_searches_dir(struct config_parser *, int, char **);
static void	set_api_key(struct config_parser *, int, char **);
static void	set_max_runs(struct config_parser *, int, char **);
static void	set_max_alerts(struct config_parser *, int, char **);
static void	set_catch_up(struct config_parser *, int, char **);
static void	set_job_retention(struct config_parser *, int, char **);
static void	set_failure_every(struct config_parser *, int, char **);
static void	set_shutdown_grace(struct config_parser *, int, char **);
static void	set_api_max_body(struct config_parser *, int, char **);
static void	set_api_timeout(struct config_parser *, int, char **);
static void	set_api_request_timeout(struct config_parser *, int,
		    char **);
static void	set_api_max_connections(struct config_parser *, int,
		    char **);
static void	set_trust_dir(struct config_parser *, int, char **);
static void	set_script_user(struct config_parser *, int, char **);
static void	set_base_url(struct config_parser *, int, char **);
static void	set_instance(struct config_parser *, int, char **);
static void	set_list(struct config_parser *, int, char **);
static void	set_resolver(struct config_parser *, int, char **);
static void	set_trusted_proxy(struct config_parser *, int, char **);
static void	set_weekly_summary(struct config_parser *, int, char **);
static void	set_notify_int(struct config_parser *, int, char **);
static void	set_notify_ms(struct config_parser *, int, char **);

static const struct config_directive config_directives[] = {
	{ "listen",		1, 1,  K_411D,	 set_listen },
	{ "datadir",		1, 1,  K_411D,	 set_datadir },
	{ "redis",		1, 3,  K_BOTH,	 set_redis },
	{ "redis_password",	1, 1,  K_BOTH,	 set_redis_password },
	{ "redis_prefix",	1, 1,  K_BOTH,	 set_redis_prefix },
	{ "source",		3, -1, K_411D | K_MANY,	 set_source },
	{ "target",		2, -1, K_BOTH | K_MANY,	 set_target },
	{ "searches_dir",	1, 1,  K_411D,	 set_searches_dir },
	{ "api_key",		3, 3,  K_411D | K_MANY,	 set_api_key },
	{ "max_runs",		1, 1,  K_411D,	 set_max_runs },
	{ "max_alerts",		1, 1,  K_411D,	 set_max_alerts },
	{ "catch_up",		1, 1,  K_411D,	 set_catch_up },
	{ "job_retention",	1, 1,  K_411D,	 set_job_retention },
	{ "failure_event_every", 1, 1, K_411D,	 set_failure_every },
	{ "shutdown_grace",	1, 1,  K_BOTH,	 set_shutdown_grace },
	{ "api_max_body",	1, 1,  K_411D,	 set_api_max_body },
	{ "api_timeout",	1, 1,  K_411D,	 set_api_timeout },
	{ "api_request_timeout", 1, 1, K_411D,	 set_api_request_timeout },
	{ "api_max_connections", 1, 1, K_411D,	 set_api_max_connections },
	{ "script_dir",		1, 1,  K_411D,	 set_trust_dir },
	{ "script_user",	1, 1,  K_411D,	 set_script_user },
	{ "maps_dir",		1, 1,  K_411D,	 set_trust_dir },
	{ "certs_dir",		1, 1,  K_411D,	 set_trust_dir },
	{ "base_url",		1, 1,  K_411D,	 set_base_url },
	{ "instance",		1, 1,  K_BOTH,	 set_instance },
	{ "list",		3, 5,  K_411D | K_MANY,	 set_list },
	{ "resolver",		1, 16, K_411D | K_MANY, set_resolver },
	{ "trusted_proxy",	2, 2,  K_411D | K_MANY,	 set_trusted_proxy },
	{ "weekly_summary",	1, 1,  K_411D | K_MANY,	 set_weekly_summary },
	{ "retries",		1, 1,  K_NOTIFY, set_notify_int },
	{ "concurrency",	1, 1,  K_NOTIFY, set_notify_int },
	{ "retry_min",		1, 1,  K_NOTIFY, set_notify_ms },
	{ "retry_max",		1, 1,  K_NOTIFY, set_notify_ms },
	{ "claim_idle",		1, 1,  K_NOTIFY, set_notify_ms },
};


static const struct {
	const char		*o_name;
	enum config_srcopt	 o_opt;
	int			 o_es_only;
} config_srcopts[] = {
	{ "index",		SO_INDEX,		1 },
	{ "date_field",		SO_DATE_FIELD,		1 },
	{ "user",		SO_USER,		0 },
	{ "password",		SO_PASSWORD,		0 },
	{ "api_key",		SO_API_KEY,		0 },
	{ "ca_file",		SO_CA_FILE,		0 },
	{ "cert_file",		SO_CERT_FILE,		0 },
	{ "key_file",		SO_KEY_FILE,		0 },
	{ "link_url",		SO_LINK_URL,		0 },
	{ "insecure",		SO_INSECURE,		0 },
	{ "tls_verify",		SO_TLS_VERIFY,		0 },
	{ "max_concurrency",	SO_MAX_CONCURRENCY,	0 },
	{ "timeout",		SO_TIMEOUT,		0 },
};

#define NITEMS(a)	(sizeof (a) / sizeof (a)[0])

/* Add "FILE:LINE: message" (or "FILE: message" at line 0) to the list. */
static void
config_err(struct config_parser *p, const char *fmt, ...)
{
	struct config_errors	*e = p->p_errs;
	va_list			 ap;
	char			*msg;
	int			 n;

	p->p_nerr++;
	if (p->p_nerr > CONFIG_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("config_err: bad format");
	msg = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	va_end(ap);

	e->ce_lines = xreallocarray(e->ce_lines, e->ce_n + 2,
	    sizeof *e->ce_lines);
	if (p->p_line > 0)
		e->ce_lines[e->ce_n++] = xprintf("%s:%d: %s", p->p_name,
		    p->p_line, msg);
	else
		e->ce_lines[e->ce_n++] = xprintf("%s: %s", p->p_name, msg);
	if (p->p_nerr == CONFIG_MAX_ERRORS)
		e->ce_lines[e->ce_n++] = xprintf("%s: too many errors, "
		    "giving up", p->p_name);
	free(msg);
}

/* Every default in one place (memcached settings_init). */
static void
config_defaults(struct config *c)
{
	c->c_listen_host = xstrdup("127.0.0.1");
	c->c_listen_port = 4110;	/* CONFIG_LISTEN */
	c->c_datadir = xstrdup(CONFIG_DATADIR);
	c->c_redis_host = NULL;		/* CONFIG_REDIS */
	c->c_redis_port = 0;
	c->c_redis_unix = xstrdup(CONFIG_REDIS + strlen("unix:"));
	c->c_redis_password = NULL;
	c->c_redis_prefix = xstrdup(CONFIG_REDIS_PREFIX);
	c->c_searches_dir = NULL;
	c->c_max_runs = CONFIG_MAX_RUNS;
	c->c_max_alerts = CONFIG_MAX_ALERTS;
	c->c_catch_up = CONFIG_CATCH_UP;
	c->c_job_retention = CONFIG_JOB_RETENTION;
	c->c_failure_every = CONFIG_FAILURE_EVERY;
	c->c_shutdown_grace = CONFIG_SHUTDOWN_GRACE;
	c->c_api_max_body = CONFIG_API_MAX_BODY;
	c->c_api_timeout = CONFIG_API_TIMEOUT;
	c->c_api_request_timeout = CONFIG_API_REQUEST_TIMEOUT;
	c->c_api_max_connections = CONFIG_API_MAX_CONNECTIONS;
	c->c_script_dir = NULL;
	c->c_script_user = xstrdup(CONFIG_SCRIPT_USER);
	c->c_maps_dir = NULL;
	c->c_certs_dir = NULL;
	c->c_base_url = NULL;
	c->c_instance = NULL;
	c->c_notify_retries = CONFIG_NOTIFY_RETRIES;
	c->c_notify_retry_min = CONFIG_NOTIFY_RETRY_MIN;
	c->c_notify_retry_max = CONFIG_NOTIFY_RETRY_MAX;
	c->c_notify_claim_idle = CONFIG_NOTIFY_CLAIM_IDLE;
	c->c_notify_concurrency = CONFIG_NOTIFY_CONCURRENCY;
}

/* Replace a string field with a copy of s (or NULL). */
static void
config_setstr(char **field, const char *s)
{
	free(*field);
	*field = s != NULL ? xstrdup(s) : NULL;
}

/*
 * A word of the file made fit to echo in a message: at most
 * CONFIG_ECHO_MAX bytes, control bytes as \xHH, "..." when cut.
 * Returns a new string.
 */
static char *
config_echo(const char *s)
{
	struct buf	 b = BUF_INIT;
	size_t		 i;

	buf_reserve(&b, 0);
	for (i = 0; s[i] != '\0' && i < CONFIG_ECHO_MAX; i++) {
		unsigned char	 ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
			buf_printf(&b, "\\x%02x", ch);
		else
			buf_addc(&b, (char)ch);
	}
	if (s[i] != '\0')
		buf_adds(&b, "...");
	return (buf_steal(&b, NULL));
}

/*
 * Split one line into words.  Returns 0 with *argvp (the caller frees
 * each word and the array) and *argcp, or -1 after reporting an error.
 */
static int
config_split(struct config_parser *p, const char *s, size_t n,
    char ***argvp, int *argcp)
{
	struct buf	 w = BUF_INIT;
	char		**argv = NULL;
	int		 argc = 0, i;
	size_t		 k = 0;

#define BLANK(ch)	((ch) == ' ' || (ch) == '\t' || (ch) == '\r' || \
			    (ch) == '\f' || (ch) == '\v')
	for (;;) {
		while (k < n && BLANK(s[k]))
			k++;
		if (k >= n || s[k] == '#')
			break;
		buf_reset(&w);
		buf_reserve(&w, 0);
		while (k < n && !BLANK(s[k])) {
			if (s[k] == '\0')
				goto nul;
			if (s[k] != '"') {
				buf_addc(&w, s[k++]);
				continue;
			}
			for (k++; k < n && s[k] != '"'; k++) {
				if (s[k] == '\0')
					goto nul;
				if (s[k] == '\\' && k + 1 < n &&
				    (s[k + 1] == '"' || s[k + 1] == '\\'))
					k++;
				buf_addc(&w, s[k]);
			}
			if (k >= n) {
				config_err(p, "unterminated quoted string");
				goto fail;
			}
			k++;
		}
		argv = xreallocarray(argv, argc + 1, sizeof *argv);
		argv[argc++] = xstrdup(w.b_data);
	}
#undef BLANK
	buf_free(&w);
	*argvp = argv;
	*argcp = argc;
	return (0);
nul:
	config_err(p, "NUL byte in the line");
fail:
	buf_free(&w);
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	return (-1);
}

/* Parse one line: split it, find the directive, check counts, set. */
static void
config_line(struct config_parser *p, const char *s, size_t n)
{
	const struct config_directive	*d = NULL;
	char				**argv;
	int				 argc, i;
	size_t				 j;

	if (config_split(p, s, n, &argv, &argc) == -1 || argc == 0)
		return;
	for (j = 0; j < NITEMS(config_directives); j++) {
		if (strcmp(argv[0], config_directives[j].d_name) == 0) {
			d = &config_directives[j];
			break;
		}
	}
	if (d == NULL) {
		char	*echo = config_echo(argv[0]);

		config_err(p, "unknown directive \"%s\"", echo);
		free(echo);
	} else if (!(d->d_kinds & K_MANY) && p->p_seen[j] != 0)
		config_err(p, "%s: given again (first at line %d); it may "
		    "appear once", argv[0], p->p_seen[j]);
	else if (!(d->d_kinds & (p->p_cfg->c_kind == CONFIG_NOTIFY ?
	    K_NOTIFY : K_411D)))
		config_err(p, "%s: not a directive of %s", argv[0],
		    p->p_cfg->c_kind == CONFIG_NOTIFY ? CONFIG_FILE_NOTIFY :
		    CONFIG_FILE_411D);
	else if (argc - 1 < d->d_min)
		config_err(p, "%s: missing argument", argv[0]);
	else if (d->d_max != -1 && argc - 1 > d->d_max)
		config_err(p, "%s: too many arguments", argv[0]);
	else
		d->d_set(p, argc, argv);
	if (d != NULL && p->p_seen[j] == 0)
		p->p_seen[j] = p->p_line;
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

/*
 * Parse HOST:PORT (or [V6]:PORT) with the port in [minport, 65535].
 * Returns 0 with *host (new) and *port, or -1 after reporting.
 */
static int
config_hostport(struct config_parser *p, const char *what, const char *s,
    int minport, char **host, int *port)
{
	const char	*colon, *h = s;
	size_t		 hlen;
	uint64_t	 v;

	if ((colon = strrchr(s, ':')) == NULL || colon == s)
		goto bad;
	hlen = colon - s;
	if (s[0] == '[') {
		if (hlen < 3 || s[hlen - 1] != ']')
			goto bad;
		h = s + 1;
		hlen -= 2;
	} else if (memchr(s, ':', hlen) != NULL)
		goto bad;	/* a bare IPv6 address needs brackets */
	if (colon[1] == '\0')
		goto bad;
	if (util_parse_uint(colon + 1, UINT64_MAX, &v) == -1) {
		config_err(p, "%s: bad port \"%s\"", what, colon + 1);
		return (-1);
	}
	if (v < (uint64_t)minport || v > 65535) {
		config_err(p, "%s: port out of range \"%s\" (want %d to 65535)",
		    what, colon + 1, minport);
		return (-1);
	}
	*host = xstrndup(h, hlen);
	*port = (int)v;
	return (0);
bad:
	config_err(p, "%s: bad address \"%s\" (want HOST:PORT)", what, s);
	return (-1);
}

/* An integer in [min, INT_MAX]. */
static int
config_int(struct config_parser *p, const char *what, const char *s,
    int min, int *out)
{
	uint64_t	 v;

	if (util_parse_uint(s, INT_MAX, &v) == -1 || v < (uint64_t)min) {
		config_err(p, "%s: bad number \"%s\" (want %d to %d)", what, s,
		    min, INT_MAX);
		return (-1);
	}
	*out = (int)v;
	return (0);
}

/* A duration in whole seconds, at least min, at most INT_MAX. */
static int
config_duration(struct config_parser *p, const char *what, const char *s,
    int64_t min, int64_t *out)
{
	const char	*errstr = "bad duration";
	int64_t		 v;

	if (util_parse_duration(s, &v, &errstr) == -1) {
		config_err(p, "%s: bad duration \"%s\": %s", what, s, errstr);
		return (-1);
	}
	if (v < min || v > INT_MAX) {
		config_err(p, "%s: bad duration \"%s\": %s", what, s,
		    v < min ? "must be more than 0" : "too long");
		return (-1);
	}
	*out = v;
	return (0);
}

/* A size: bytes, or a number with k, m or g (1024-based), "b" allowed. */
static int
config_size(struct config_parser *p, const char *what, const char *s,
    size_t *out)
{
	char		*num = NULL;
	size_t		 n = strlen(s), mult = 1;
	uint64_t	 v;
	int		 rc = -1;

	if (n > 1 && (s[n - 1] == 'b' || s[n - 1] == 'B'))
		n--;
	if (n > 1) {
		switch (s[n - 1]) {
		case 'k': case 'K':
			mult = 1024;
			break;
		case 'm': case 'M':
			mult = 1024 * 1024;
			break;
		case 'g': case 'G':
			mult = 1024 * 1024 * 1024;
			break;
		}
		if (mult != 1)
			n--;
	}
	num = xstrndup(s, n);
	if (util_parse_uint(num, CONFIG_MAX_BODY_LIMIT, &v) == -1 || v == 0 ||
	    v * mult > CONFIG_MAX_BODY_LIMIT) {
		config_err(p, "%s: bad size \"%s\" (want 1 to 1g, as bytes "
		    "or with k, m or g)", what, s);
		goto done;
	}
	*out = (size_t)(v * mult);
	rc = 0;
done:
	free(num);
	return (rc);
}

/* yes/no, true/false, on/off, 1/0. */
static int
config_bool(const char *s, int *out)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcasecmp(s, "on") == 0 || strcmp(s, "1") == 0)
		*out = 1;
	else if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcasecmp(s, "off") == 0 || strcmp(s, "0") == 0)
		*out = 0;
	else
		return (-1);
	return (0);
}

/* A name: letters, digits, '-', '_', '.'; not empty. */
static int
config_name_ok(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.'))
			return (0);
	}
	return (1);
}

/*
 * An http:// or https:// URL with no userinfo; stored without trailing
 * slashes.
 */
static int
config_url(struct config_parser *p, const char *what, const char *s,
    char **out)
{
	const char	*host, *end;
	size_t		 n;

	if (strncasecmp(s, "http://", 7) == 0)
		host = s + 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		host = s + 8;
	else {
		config_err(p, "%s: bad URL \"%s\" (want http:// or https://)",
		    what, s);
		return (-1);
	}
	end = host + strcspn(host, "/?#");
	if (end == host) {
		config_err(p, "%s: bad URL \"%s\" (no host)", what, s);
		return (-1);
	}
	if (memchr(host, '@', end - host) != NULL) {
		/* Don't echo it: it holds a credential. */
		config_err(p, "%s: credentials in the URL (use user and "
		    "password)", what);
		return (-1);
	}
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		n--;
	free(*out);
	*out = xstrndup(s, n);
	return (0);
}

/* listen HOST:PORT */
static void
set_listen(struct config_parser *p, int argc, char **argv)
{
	char	*host;
	int	 port;

	(void)argc;
	if (config_hostport(p, "listen", argv[1], 0, &host, &port) == -1)
		return;
	free(p->p_cfg->c_listen_host);
	p->p_cfg->c_listen_host = host;
	p->p_cfg->c_listen_port = port;
}

/* datadir PATH */
static void
set_datadir(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	if (argv[1][0] == '\0') {
		config_err(p, "datadir: empty path");
		return;
	}
	config_setstr(&p->p_cfg->c_datadir, argv[1]);
}

/* redis unix:/path | HOST:PORT [password P] */
static void
set_redis(struct config_parser *p, int argc, char **argv)
{
	struct config	*c = p->p_cfg;
	char		*host;
	int		 port;

	if (argc == 3) {
		if (strcmp(argv[2], "password") == 0)
			config_err(p, "redis: option password needs a value");
		else
			config_err(p, "redis: unknown option \"%s\" (want "
			    "password)", argv[2]);
		return;
	}
	if (argc == 4 && strcmp(argv[2], "password") != 0) {
		config_err(p, "redis: unknown option \"%s\" (want password)",
		    argv[2]);
		return;
	}
	if (strncmp(argv[1], "unix:", 5) == 0) {
		if (argv[1][5] == '\0') {
			config_err(p, "redis: bad address \"%s\" (want "
			    "unix:/path or HOST:PORT)", argv[1]);
			return;
		}
		config_setstr(&c->c_redis_unix, argv[1] + 5);
		config_setstr(&c->c_redis_host, NULL);
		c->c_redis_port = 0;
	} else {
		if (config_hostport(p, "redis", argv[1], 1, &host,
		    &port) == -1)
			return;
		config_setstr(&c->c_redis_unix, NULL);
		free(c->c_redis_host);
		c->c_redis_host = host;
		c->c_redis_port = port;
	}
	if (argc == 4)
		config_setstr(&c->c_redis_password, argv[3]);
}

/* redis_password P */
static void
set_redis_password(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	config_setstr(&p->p_cfg->c_redis_password, argv[1]);
}

/* redis_prefix PREFIX (may be empty) */
static void
set_redis_prefix(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	config_setstr(&p->p_cfg->c_redis_prefix, argv[1]);
}

/* One option of a source line. */
static void
set_source_opt(struct config_parser *p, struct config_source *cs,
    enum config_srcopt o, const char *what, const char *name, const char *v)
{
	char	*ow;
	int	 b;

	ow = xprintf("%s: %s", what, name);	/* "source logs: timeout" */
	switch (o) {
	case SO_INDEX:
	case SO_DATE_FIELD:
		if (*v == '\0') {
			config_err(p, "%s: empty value", ow);
			break;
		}
		config_setstr(o == SO_INDEX ? &cs->cs_index :
		    &cs->cs_date_field, v);
		break;
	case SO_USER:
		config_setstr(&cs->cs_user, v);
		break;
	case SO_PASSWORD:
		config_setstr(&cs->cs_password, v);
		break;
	case SO_API_KEY:
		config_setstr(&cs->cs_api_key, v);
		break;
	case SO_CA_FILE:
		config_setstr(&cs->cs_ca_file, v);
		break;
	case SO_CERT_FILE:
		config_setstr(&cs->cs_cert_file, v);
		break;
	case SO_KEY_FILE:
		config_setstr(&cs->cs_key_file, v);
		break;
	case SO_LINK_URL:
		(void)config_url(p, ow, v, &cs->cs_link_url);
		break;
	case SO_INSECURE:
	case SO_TLS_VERIFY:
		if (config_bool(v, &b) == -1) {
			config_err(p, "%s: bad value \"%s\" (want yes or no)",
			    ow, v);
			break;
		}
		cs->cs_insecure = o == SO_INSECURE ? b : !b;
		break;
	case SO_MAX_CONCURRENCY:
		(void)config_int(p, ow, v, 1, &cs->cs_max_concurrency);
		break;
	case SO_TIMEOUT:
		(void)config_duration(p, ow, v, 1, &cs->cs_timeout);
		break;
	}
	free(ow);
}

/* source NAME TYPE URL [option value]... */
static void
set_source(struct config_parser *p, int argc, char **argv)
{
	struct config		*c = p->p_cfg;
	struct config_source	*cs;
	char			*what;
	size_t			 i, j;
	uint32_t		 seen = 0;
	int			 k;

	what = xprintf("source %s", argv[1]);
	if (!config_name_ok(argv[1]))
		config_err(p, "source: bad name \"%s\" (use letters, digits, "
		    "'-', '_' and '.')", argv[1]);
	for (i = 0; i < c->c_nsources; i++) {
		if (strcmp(c->c_sources[i].cs_name, argv[1]) == 0) {
			config_err(p, "%s: duplicate source name (first at "
			    "line %d)", what, c->c_sources[i].cs_line);
			break;
		}
	}
	c->c_sources = xreallocarray(c->c_sources, c->c_nsources + 1,
	    sizeof *c->c_sources);
	cs = &c->c_sources[c->c_nsources++];
	memset(cs, 0, sizeof *cs);
	cs->cs_name = xstrdup(argv[1]);
	cs->cs_line = p->p_line;
	cs->cs_index = xstrdup(CONFIG_SRC_INDEX);
	cs->cs_date_field = xstrdup(CONFIG_SRC_DATE_FIELD);
	cs->cs_max_concurrency = CONFIG_SRC_CONCURRENCY;
	cs->cs_timeout = CONFIG_SRC_TIMEOUT;

	if (strcmp(argv[2], "es") == 0 ||
	    strcmp(argv[2], "elasticsearch") == 0 ||
	    strcmp(argv[2], "opensearch") == 0)
		cs->cs_type = SOURCE_ES;
	else if (strcmp(argv[2], "graphite") == 0)
		cs->cs_type = SOURCE_GRAPHITE;
	else if (strcmp(argv[2], "prometheus") == 0)
		cs->cs_type = SOURCE_PROMETHEUS;
	else {
		config_err(p, "%s: unknown source type \"%s\" (want es, "
		    "graphite or prometheus)", what, argv[2]);
		cs->cs_type = SOURCE_ES;
	}
	if (config_url(p, what, argv[3], &cs->cs_url) == -1)
		cs->cs_url = xstrdup("");

	for (k = 4; k < argc; k += 2) {
		for (j = 0; j < NITEMS(config_srcopts); j++)
			if (strcmp(argv[k], config_srcopts[j].o_name) == 0)
				break;
		if (j == NITEMS(config_srcopts)) {
			config_err(p, "%s: unknown source option \"%s\"", what,
			    argv[k]);
			continue;
		}
		if (k + 1 >= argc) {
			config_err(p, "%s: option %s needs a value", what,
			    argv[k]);
			break;
		}
		if (seen & (1U << j)) {
			config_err(p, "%s: option %s given twice", what,
			    argv[k]);
			continue;
		}
		seen |= 1U << j;
		if (config_srcopts[j].o_es_only && cs->cs_type != SOURCE_ES) {
			config_err(p, "%s: option %s is only for es sources",
			    what, argv[k]);
			continue;
		}
		set_source_opt(p, cs, config_srcopts[j].o_opt, what, argv[k],
		    argv[k + 1]);
	}
	free(what);
}

/* target NAME TYPE [option value]... */
static void
set_target(struct config_parser *p, int argc, char **argv)
{
	struct config		*c = p->p_cfg;
	struct config_target	*ct;
	char			*what;
	size_t			 i;
	int			 k;

	what = xprintf("target %s", argv[1]);
	if (!config_name_ok(argv[1]))
		config_err(p, "target: bad name \"%s\" (use letters, digits, "
		    "'-', '_' and '.')", argv[1]);
	for (i = 0; i < c->c_ntargets; i++) {
		if (strcmp(c->c_targets[i].ct_name, argv[1]) == 0) {
			config_err(p, "%s: duplicate target name (first at "
			    "line %d)", what, c->c_targets[i].ct_line);
			break;
		}
	}
	/* The type names a Redis stream (411:notify:TYPE). */
	if (!config_name_ok(argv[2]))
		config_err(p, "%s: bad type \"%s\" (use letters, digits, "
		    "'-', '_' and '.')", what, argv[2]);
	c->c_targets = xreallocarray(c->c_targets, c->c_ntargets + 1,
	    sizeof *c->c_targets);
	ct = &c->c_targets[c->c_ntargets++];
	memset(ct, 0, sizeof *ct);
	ct->ct_name = xstrdup(argv[1]);
	ct->ct_type = xstrdup(argv[2]);
	ct->ct_line = p->p_line;

	for (k = 3; k < argc; k += 2) {
		if (k + 1 >= argc) {
			config_err(p, "%s: option %s needs a value", what,
			    argv[k]);
			break;
		}
		if (!config_name_ok(argv[k])) {
			config_err(p, "%s: bad option name \"%s\"", what,
			    argv[k]);
			continue;
		}
		if (config_target_opt(ct, argv[k]) != NULL) {
			config_err(p, "%s: option %s given twice", what,
			    argv[k]);
			continue;
		}
		ct->ct_opts = xreallocarray(ct->ct_opts, ct->ct_nopts + 1,
		    sizeof *ct->ct_opts);
		ct->ct_opts[ct->ct_nopts].co_name = xstrdup(argv[k]);
		ct->ct_opts[ct->ct_nopts].co_value = xstrdup(argv[k + 1]);
		ct->ct_nopts++;
	}
	free(what);
}

/* list NAME file PATH [refresh D], list NAME url URL [refresh D] */
static void
set_list(struct config_parser *p, int argc, char **argv)
{
	struct config		*c = p->p_cfg;
	struct config_list	 cl;
	char			*what;
	size_t			 i;
	int			 bad = 0;

	memset(&cl, 0, sizeof cl);
	cl.cl_refresh = CONFIG_LIST_REFRESH;
	what = xprintf("list %s", argv[1]);
	if (!config_name_ok(argv[1])) {
		config_err(p, "list: bad name \"%s\" (use letters, digits, "
		    "'-', '_' and '.')", argv[1]);
		bad = 1;
	}
	for (i = 0; i < c->c_nlists; i++) {
		if (strcmp(c->c_lists[i].cl_name, argv[1]) == 0) {
			config_err(p, "%s: duplicate list name (first at "
			    "line %d)", what, c->c_lists[i].cl_line);
			bad = 1;
			break;
		}
	}
	if (strcmp(argv[2], "file") == 0) {
		cl.cl_kind = LIST_FILE;
		if (argv[3][0] == '\0') {
			config_err(p, "%s: empty path", what);
			bad = 1;
		} else
			cl.cl_where = xstrdup(argv[3]);
	} else if (strcmp(argv[2], "url") == 0) {
		cl.cl_kind = LIST_URL;
		if (config_url(p, what, argv[3], &cl.cl_where) == -1)
			bad = 1;
	} else {
		config_err(p, "%s: unknown list kind \"%s\" (want file or "
		    "url)", what, argv[2]);
		bad = 1;
	}
	if (argc == 5 || (argc == 6 && strcmp(argv[4], "refresh") != 0)) {
		config_err(p, "%s: unexpected \"%s\" (want refresh "
		    "DURATION)", what, argv[4]);
		bad = 1;
	} else if (argc == 6 && config_duration(p, what, argv[5], 1,
	    &cl.cl_refresh) == -1)
		bad = 1;
	if (bad) {
		free(cl.cl_where);
		free(what);
		return;
	}
	cl.cl_name = xstrdup(argv[1]);
	cl.cl_line = p->p_line;
	c->c_lists = xreallocarray(c->c_lists, c->c_nlists + 1,
	    sizeof *c->c_lists);
	c->c_lists[c->c_nlists++] = cl;
	free(what);
}

/* searches_dir PATH */
static void
set_searches_dir(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	if (argv[1][0] == '\0') {
		config_err(p, "searches_dir: empty path");
		return;
	}
	config_setstr(&p->p_cfg->c_searches_dir, argv[1]);
}

/* api_key NAME ROLE KEY */
static void
set_api_key(struct config_parser *p, int argc, char **argv)
{
	struct config		*c = p->p_cfg;
	struct config_key	*ck;
	enum role		 role;
	size_t			 i;
	int			 bad = 0;

	(void)argc;
	if (!config_name_ok(argv[1])) {
		config_err(p, "api_key: bad name \"%s\" (use letters, digits, "
		    "'-', '_' and '.')", argv[1]);
		bad = 1;
	}
	if ((role = config_role(argv[2])) == ROLE_NONE) {
		config_err(p, "api_key %s: unknown role \"%s\" (want viewer, "
		    "editor or admin)", argv[1], argv[2]);
		bad = 1;
	}
	if (strlen(argv[3]) < CONFIG_KEY_MIN) {
		config_err(p, "api_key %s: key too short (%d characters at "
		    "least)", argv[1], CONFIG_KEY_MIN);
		bad = 1;
	}
	for (i = 0; i < c->c_nkeys; i++) {
		if (strcmp(c->c_keys[i].ck_name, argv[1]) == 0) {
			config_err(p, "api_key %s: duplicate key name (first "
			    "at line %d)", argv[1], p->p_key_lines[i]);
			bad = 1;
		}
		if (strcmp(c->c_keys[i].ck_key, argv[3]) == 0) {
			config_err(p, "api_key %s: duplicate key (the same as "
			    "api_key %s at line %d)", argv[1],
			    c->c_keys[i].ck_name, p->p_key_lines[i]);
			bad = 1;
		}
	}
	if (bad)
		return;
	c->c_keys = xreallocarray(c->c_keys, c->c_nkeys + 1,
	    sizeof *c->c_keys);
	p->p_key_lines = xreallocarray(p->p_key_lines, c->c_nkeys + 1,
	    sizeof *p->p_key_lines);
	ck = &c->c_keys[c->c_nkeys];
	ck->ck_name = xstrdup(argv[1]);
	ck->ck_role = role;
	ck->ck_key = xstrdup(argv[3]);
	p->p_key_lines[c->c_nkeys++] = p->p_line;
}

/* max_runs N */
static void
set_max_runs(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	(void)config_int(p, argv[0], argv[1], 1, &p->p_cfg->c_max_runs);
}

/* max_alerts N */
static void
set_max_alerts(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	(void)config_int(p, argv[0], argv[1], 1, &p->p_cfg->c_max_alerts);
}

/* catch_up DURATION (0: none) */
static void
set_catch_up(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	(void)config_duration(p, argv[0], argv[1], 0, &p->p_cfg->c_catch_up);
}

/* job_retention DURATION */
static void
set_job_retention(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	(void)config_duration(p, argv[0], argv[1], 1,
	    &p->p_cfg->c_job_retention);
}

/* failure_event_every DURATION (0: every failure is announced) */
static void
set_failure_every(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	(void)config_duration(p, argv[0], argv[1], 0,
	    &p->p_cfg->c_failure_every);
}

/* shutdown_grace DURATION (0: stop at once) */
static void
set_shutdown_grace(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	(void)config_duration(p, argv[0], argv[1], 0,
	    &p->p_cfg->c_shutdown_grace);
}

/* api_max_body SIZE */
static void
set_api_max_body(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	(void)config_size(p, argv[0], argv[1], &p->p_cfg->c_api_max_body);
}

/* api_timeout DURATION */
static void
set_api_timeout(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	(void)config_duration(p, argv[0], argv[1], 1,
	    &p->p_cfg->c_api_timeout);
}

/* api_request_timeout DURATION: headers and body of one request */
static void
set_api_request_timeout(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	(void)config_duration(p, argv[0], argv[1], 1,
	    &p->p_cfg->c_api_request_timeout);
}

/* api_max_connections N */
static void
set_api_max_connections(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	(void)config_int(p, argv[0], argv[1], 1,
	    &p->p_cfg->c_api_max_connections);
}

/*
 * script_dir DIR, maps_dir DIR, certs_dir DIR: an absolute directory
 * whose entries searches may name.  Whether it exists is checked when it
 * is used, so that -n works on another machine.
 */
static void
set_trust_dir(struct config_parser *p, int argc, char **argv)
{
	struct config	*c = p->p_cfg;
	char		**field;
	size_t		 n;

	(void)argc;
	if (strcmp(argv[0], "script_dir") == 0)
		field = &c->c_script_dir;
	else if (strcmp(argv[0], "maps_dir") == 0)
		field = &c->c_maps_dir;
	else
		field = &c->c_certs_dir;
	if (argv[1][0] != '/') {
		config_err(p, "%s: \"%s\" is not an absolute path", argv[0],
		    argv[1]);
		return;
	}
	config_setstr(field, argv[1]);
	n = strlen(*field);
	while (n > 1 && (*field)[n - 1] == '/')
		(*field)[--n] = '\0';
}

/* script_user USER: whom script filters run as when 411d is root */
static void
set_script_user(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	if (argv[1][0] == '\0') {
		config_err(p, "script_user: empty name");
		return;
	}
	config_setstr(&p->p_cfg->c_script_user, argv[1]);
}

/* base_url URL */
static void
set_base_url(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	(void)config_url(p, argv[0], argv[1], &p->p_cfg->c_base_url);
}

/* instance NAME */
static void
set_instance(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	if (argv[1][0] == '\0') {
		config_err(p, "instance: empty name");
		return;
	}
	config_setstr(&p->p_cfg->c_instance, argv[1]);
}

/* retries N, concurrency N (411-notify) */
static void
set_notify_int(struct config_parser *p, int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[0], "retries") == 0)
		(void)config_int(p, argv[0], argv[1], 1,
		    &p->p_cfg->c_notify_retries);
	else
		(void)config_int(p, argv[0], argv[1], 1,
		    &p->p_cfg->c_notify_concurrency);
}

/* retry_min D, retry_max D, claim_idle D (411-notify; "250ms" allowed) */
static void
set_notify_ms(struct config_parser *p, int argc, char **argv)
{
	const char	*errstr = "bad duration";
	int64_t		 v, *out;

	(void)argc;
	if (strcmp(argv[0], "retry_min") == 0)
		out = &p->p_cfg->c_notify_retry_min;
	else if (strcmp(argv[0], "retry_max") == 0)
		out = &p->p_cfg->c_notify_retry_max;
	else
		out = &p->p_cfg->c_notify_claim_idle;
	if (util_parse_duration_ms(argv[1], &v, &errstr) == -1) {
		config_err(p, "%s: bad duration \"%s\": %s", argv[0], argv[1],
		    errstr);
		return;
	}
	if (v <= 0 || v > INT_MAX) {
		config_err(p, "%s: bad duration \"%s\": %s", argv[0], argv[1],
		    v <= 0 ? "must be more than 0" : "too long");
		return;
	}
	*out = v;
}

/* Free the resolver list. */
static void
config_free_resolvers(struct config *c)
{
	size_t	 i;

	for (i = 0; i < c->c_nresolvers; i++)
		free(c->c_resolvers[i]);
	free(c->c_resolvers);
	c->c_resolvers = NULL;
	c->c_nresolvers = 0;
}

/*
 * Whether s is a name server address: "1.2.3.4", "1.2.3.4:53", "::1" or
 * "[::1]:53".
 */
static int
config_resolver_ok(const char *s)
{
	unsigned char	 a[16];
	char		 host[64];
	const char	*port = NULL, *end;
	uint64_t	 v;
	size_t		 n;
	int		 af = AF_INET;

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return (0);
		n = (size_t)(end - s - 1);
		s++;
		af = AF_INET6;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return (0);
	} else if ((end = strchr(s, ':')) != NULL && strchr(end + 1, ':')) {
		n = strlen(s);
		af = AF_INET6;
	} else if (end != NULL) {
		n = (size_t)(end - s);
		port = end + 1;
	} else
		n = strlen(s);
	if (n == 0 || n >= sizeof host)
		return (0);
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(af, host, a) != 1)
		return (0);
	if (port != NULL && (util_parse_uint(port, 65535, &v) == -1 ||
	    v == 0))
		return (0);
	return (1);
}

/* resolver ADDR[:PORT]... */
static void
set_resolver(struct config_parser *p, int argc, char **argv)
{
	struct config	*c = p->p_cfg;
	int		 i;

	for (i = 1; i < argc; i++) {
		if (!config_resolver_ok(argv[i])) {
			config_err(p, "resolver: \"%s\" is not an address "
			    "(\"127.0.0.1\", \"10.0.0.2:5353\", "
			    "\"[::1]:53\")", argv[i]);
			return;
		}
	}
	config_free_resolvers(c);
	c->c_resolvers = xcalloc((size_t)argc, sizeof *c->c_resolvers);
	for (i = 1; i < argc; i++)
		c->c_resolvers[c->c_nresolvers++] = xstrdup(argv[i]);
}

/* weekly_summary TARGET: an email target (checked at the end). */
static void
set_weekly_summary(struct config_parser *p, int argc, char **argv)
{
	struct config	*c = p->p_cfg;
	size_t		 i;

	(void)argc;
	for (i = 0; i < c->c_nweekly; i++) {
		if (strcmp(c->c_weekly[i], argv[1]) == 0) {
			config_err(p, "weekly_summary: target \"%s\" is named "
			    "twice", argv[1]);
			return;
		}
	}
	c->c_weekly = xreallocarray(c->c_weekly, c->c_nweekly + 1,
	    sizeof *c->c_weekly);
	c->c_weekly[c->c_nweekly++] = xstrdup(argv[1]);
}

/* Parse "ADDR[/BITS]" into a network; 0 or -1. */
static int
config_cidr(const char *s, struct config_proxy *cp)
{
	char		 host[64];
	const char	*slash = strchr(s, '/');
	uint64_t	 bits;
	size_t		 n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	int		 i, max;

	if (n == 0 || n >= sizeof host)
		return (-1);
	memcpy(host, s, n);
	host[n] = '\0';
	memset(cp->cp_addr, 0, sizeof cp->cp_addr);
	if (inet_pton(AF_INET, host, cp->cp_addr) == 1) {
		cp->cp_family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, cp->cp_addr) == 1) {
		cp->cp_family = AF_INET6;
		max = 128;
	} else
		return (-1);
	bits = (uint64_t)max;
	if (slash != NULL && util_parse_uint(slash + 1, (uint64_t)max,
	    &bits) == -1)
		return (-1);
	cp->cp_bits = (int)bits;
	/* Host bits must be zero: "10.1.2.3/8" is a mistake, not a net. */
	for (i = cp->cp_bits; i < max; i++)
		if (cp->cp_addr[i / 8] & (0x80 >> (i % 8)))
			return (-1);
	return (0);
}

/* trusted_proxy CIDR HEADER */
static void
set_trusted_proxy(struct config_parser *p, int argc, char **argv)
{
	struct config		*c = p->p_cfg;
	struct config_proxy	 cp;
	const char		*h;

	(void)argc;
	memset(&cp, 0, sizeof cp);
	if (config_cidr(argv[1], &cp) == -1) {
		config_err(p, "trusted_proxy: \"%s\" is not a network "
		    "(\"127.0.0.1/32\", \"10.0.0.0/8\", \"::1/128\"; host bits "
		    "zero)", argv[1]);
		return;
	}
	for (h = argv[2]; *h != '\0'; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		    (*h >= '0' && *h <= '9') || *h == '-' || *h == '_'))
			break;
	if (*h != '\0' || argv[2][0] == '\0' || strlen(argv[2]) > 64) {
		config_err(p, "trusted_proxy: bad header name \"%s\" (letters, "
		    "digits, '-' and '_')", argv[2]);
		return;
	}
	if (strcasecmp(argv[2], "Authorization") == 0 ||
	    strcasecmp(argv[2], "X-API-Key") == 0) {
		config_err(p, "trusted_proxy: the header %s carries keys, not "
		    "user names", argv[2]);
		return;
	}
	if (c->c_nproxies >= CONFIG_PROXY_MAX) {
		config_err(p, "trusted_proxy: at most %d lines",
		    CONFIG_PROXY_MAX);
		return;
	}
	cp.cp_header = xstrdup(argv[2]);
	c->c_proxies = xreallocarray(c->c_proxies, c->c_nproxies + 1,
	    sizeof *c->c_proxies);
	c->c_proxies[c->c_nproxies++] = cp;
}

/* The header of the trusted_proxy whose network holds addr, or NULL. */
const char *
config_proxy_header(const struct config *c, const char *addr)
{
	const struct config_proxy	*cp;
	uint8_t				 a[16];
	size_t				 i;
	int				 af, b;
	static const uint8_t		 mapped[12] = { 0, 0, 0, 0, 0, 0, 0,
					    0, 0, 0, 0xff, 0xff };

	memset(a, 0, sizeof a);
	if (addr == NULL)
		return (NULL);
	if (inet_pton(AF_INET, addr, a) == 1)
		af = AF_INET;
	else if (inet_pton(AF_INET6, addr, a) == 1) {
		af = AF_INET6;
		if (memcmp(a, mapped, sizeof mapped) == 0) {
			memmove(a, a + 12, 4);
			memset(a + 4, 0, 12);
			af = AF_INET;
		}
	} else
		return (NULL);
	for (i = 0; i < c->c_nproxies; i++) {
		cp = &c->c_proxies[i];
		if (cp->cp_family != af)
			continue;
		for (b = 0; b < cp->cp_bits; b++)
			if ((a[b / 8] ^ cp->cp_addr[b / 8]) & (0x80 >> (b % 8)))
				break;
		if (b == cp->cp_bits)
			return (cp->cp_header);
	}
	return (NULL);
}

/* Parse a config held in memory; name is used in messages. */
struct config *
config_parse(const char *name, const char *text, size_t len,
    enum config_kind kind, struct config_errors *errs)
{
	struct config_parser	 p;
	struct config		*c;
	const struct config_target *ct;
	const char		*s, *end, *nl;
	size_t			 i;

	errs->ce_lines = NULL;
	errs->ce_n = 0;
	c = xcalloc(1, sizeof *c);
	c->c_kind = kind;
	c->c_path = xstrdup(name);
	config_defaults(c);

	memset(&p, 0, sizeof p);
	p.p_name = name;
	p.p_cfg = c;
	p.p_errs = errs;
	p.p_seen = xcalloc(NITEMS(config_directives), sizeof *p.p_seen);
	s = text;
	end = text + len;
	while (s < end && p.p_nerr < CONFIG_MAX_ERRORS) {
		p.p_line++;
		if ((nl = memchr(s, '\n', end - s)) == NULL)
			nl = end;
		config_line(&p, s, nl - s);
		s = nl + 1;
	}
	free(p.p_key_lines);
	free(p.p_seen);
	/* weekly_summary names a target that may come later. */
	for (i = 0; i < c->c_nweekly && p.p_nerr < CONFIG_MAX_ERRORS; i++) {
		ct = config_target(c, c->c_weekly[i]);
		p.p_line = 0;
		if (ct == NULL)
			config_err(&p, "weekly_summary: no target \"%s\"",
			    c->c_weekly[i]);
		else if (strcmp(ct->ct_type, "email") != 0)
			config_err(&p, "weekly_summary: target \"%s\" is of type"
			    " %s, not email", c->c_weekly[i], ct->ct_type);
	}
	if (p.p_nerr > 0) {
		config_free(c);
		return (NULL);
	}
	return (c);
}

/* Parse and check path. */
struct config *
config_load(const char *path, enum config_kind kind,
    struct config_errors *errs)
{
	struct config	*c;
	struct buf	 b = BUF_INIT;
	char		 chunk[8192];
	ssize_t		 n;
	int		 fd, saved;

	errs->ce_lines = NULL;
	errs->ce_n = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		goto fail;
	for (;;) {
		if ((n = read(fd, chunk, sizeof chunk)) == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			close(fd);
			errno = saved;
			goto fail;
		}
		if (n == 0)
			break;
		buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	c = config_parse(path, b.b_data != NULL ? b.b_data : "", b.b_len,
	    kind, errs);
	buf_free(&b);
	return (c);
fail:
	buf_free(&b);
	errs->ce_lines = xcalloc(1, sizeof *errs->ce_lines);
	errs->ce_lines[0] = xprintf("%s: cannot read: %s", path,
	    strerror(errno));
	errs->ce_n = 1;
	return (NULL);
}

static void
config_source_free(struct config_source *cs)
{
	free(cs->cs_name);
	free(cs->cs_url);
	free(cs->cs_index);
	free(cs->cs_date_field);
	free(cs->cs_user);
	free(cs->cs_password);
	free(cs->cs_api_key);
	free(cs->cs_ca_file);
	free(cs->cs_cert_file);
	free(cs->cs_key_file);
	free(cs->cs_link_url);
}

static void
config_target_free(struct config_target *ct)
{
	size_t	 i;

	for (i = 0; i < ct->ct_nopts; i++) {
		free(ct->ct_opts[i].co_name);
		free(ct->ct_opts[i].co_value);
	}
	free(ct->ct_opts);
	free(ct->ct_name);
	free(ct->ct_type);
}

/* Free a config (NULL is fine). */
void
config_free(struct config *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->c_nsources; i++)
		config_source_free(&c->c_sources[i]);
	free(c->c_sources);
	for (i = 0; i < c->c_ntargets; i++)
		config_target_free(&c->c_targets[i]);
	free(c->c_targets);
	for (i = 0; i < c->c_nkeys; i++) {
		free(c->c_keys[i].ck_name);
		free(c->c_keys[i].ck_key);
	}
	free(c->c_keys);
	for (i = 0; i < c->c_nlists; i++) {
		free(c->c_lists[i].cl_name);
		free(c->c_lists[i].cl_where);
	}
	free(c->c_lists);
	free(c->c_path);
	free(c->c_listen_host);
	free(c->c_datadir);
	free(c->c_redis_host);
	free(c->c_redis_unix);
	free(c->c_redis_password);
	free(c->c_redis_prefix);
	free(c->c_searches_dir);
	free(c->c_base_url);
	free(c->c_instance);
	free(c->c_script_dir);
	free(c->c_script_user);
	free(c->c_maps_dir);
	free(c->c_certs_dir);
	config_free_resolvers(c);
	for (i = 0; i < c->c_nweekly; i++)
		free(c->c_weekly[i]);
	free(c->c_weekly);
	for (i = 0; i < c->c_nproxies; i++)
		free(c->c_proxies[i].cp_header);
	free(c->c_proxies);
	free(c);
}

/* Free the error lines; the struct may be reused. */
void
config_errors_free(struct config_errors *e)
{
	size_t	 i;

	if (e == NULL)
		return;
	for (i = 0; i < e->ce_n; i++)
		free(e->ce_lines[i]);
	free(e->ce_lines);
	e->ce_lines = NULL;
	e->ce_n = 0;
}

/* Source by name, or NULL. */
const struct config_source *
config_source(const struct config *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->c_nsources; i++)
		if (strcmp(c->c_sources[i].cs_name, name) == 0)
			return (&c->c_sources[i]);
	return (NULL);
}

/* Target by name, or NULL. */
const struct config_target *
config_target(const struct config *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->c_ntargets; i++)
		if (strcmp(c->c_targets[i].ct_name, name) == 0)
			return (&c->c_targets[i]);
	return (NULL);
}

/* Named list by name, or NULL. */
const struct config_list *
config_list(const struct config *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->c_nlists; i++)
		if (strcmp(c->c_lists[i].cl_name, name) == 0)
			return (&c->c_lists[i]);
	return (NULL);
}

/* Option of a target by name, or NULL. */
const char *
config_target_opt(const struct config_target *ct, const char *name)
{
	size_t	 i;

	for (i = 0; i < ct->ct_nopts; i++)
		if (strcmp(ct->ct_opts[i].co_name, name) == 0)
			return (ct->ct_opts[i].co_value);
	return (NULL);
}

/* Name of a role. */
const char *
config_role_name(enum role r)
{
	switch (r) {
	case ROLE_VIEWER:
		return ("viewer");
	case ROLE_EDITOR:
		return ("editor");
	case ROLE_ADMIN:
		return ("admin");
	case ROLE_NONE:
		break;
	}
	return ("none");
}

/* A role by name, or ROLE_NONE. */
enum role
config_role(const char *s)
{
	if (s == NULL)
		return (ROLE_NONE);
	if (strcmp(s, "viewer") == 0)
		return (ROLE_VIEWER);
	if (strcmp(s, "editor") == 0)
		return (ROLE_EDITOR);
	if (strcmp(s, "admin") == 0)
		return (ROLE_ADMIN);
	return (ROLE_NONE);
}

/* Name of a source type. */
const char *
config_source_type_name(enum source_type t)
{
	switch (t) {
	case SOURCE_ES:
		return ("es");
	case SOURCE_GRAPHITE:
		return ("graphite");
	case SOURCE_PROMETHEUS:
		return ("prometheus");
	}
	return ("unknown");
}
