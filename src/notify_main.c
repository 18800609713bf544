/*
 * notify_main.c -- 411-notify: a notification worker for one target type.
 *
 *	411-notify [-dnvV] [-c file] --target TYPE [--name CONSUMER]
 *
 * Reads 411-notify.conf (redis, redis_prefix, the target lines with their
 * options, the worker directives), checks every target of the types it
 * knows, and consumes 411:notify:TYPE as consumer CONSUMER of the group
 * TYPE.  SIGTERM/SIGINT: take no more jobs, let deliveries under way end
 * (shutdown_grace), leave the rest pending.  SIGHUP: read the config
 * again for the jobs to come (a bad one is reported and ignored).
 */
#include "autoconf.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "config.h"
#include "log.h"
#include "notify.h"
#include "util.h"
#include "xmalloc.h"

struct nmain {
	struct event_base	*m_base;
	struct notify		*m_notify;
	struct config		*m_cfg;
	struct config		**m_old;	/* replaced, kept for jobs */
	size_t			 m_nold;
	const char		*m_path;
	const char		*m_type;
	int			 m_stopping;
};

static void
nmain_log_err(void *arg, const char *line)
{
	(void)arg;
	log_warnx("%s", line);
}

/* SIGHUP: read the config again; a bad one leaves the old in force. */
static void
nmain_reload(struct nmain *m)
{
	struct config_errors	 errs;
	struct config		*cfg;
	size_t			 i;

	memset(&errs, 0, sizeof errs);
	if ((cfg = config_load(m->m_path, CONFIG_NOTIFY, &errs)) == NULL) {
		for (i = 0; i < errs.ce_n; i++)
			log_warnx("%s", errs.ce_lines[i]);
		config_errors_free(&errs);
		log_warnx("SIGHUP: %s has errors; the old configuration "
		    "stays in force", m->m_path);
		return;
	}
	config_errors_free(&errs);
	if (cfg->c_notify_retry_min > cfg->c_notify_retry_max ||
	    notify_check(cfg, m->m_type, nmain_log_err, NULL) > 0) {
		log_warnx("SIGHUP: %s has errors; the old configuration "
		    "stays in force", m->m_path);
		config_free(cfg);
		return;
	}
	if (strcmp(cfg->c_redis_prefix, m->m_cfg->c_redis_prefix) != 0 ||
	    (cfg->c_redis_unix == NULL) != (m->m_cfg->c_redis_unix == NULL) ||
	    (cfg->c_redis_unix != NULL &&
	    strcmp(cfg->c_redis_unix, m->m_cfg->c_redis_unix) != 0) ||
	    (cfg->c_redis_host != NULL && (m->m_cfg->c_redis_host == NULL ||
	    strcmp(cfg->c_redis_host, m->m_cfg->c_redis_host) != 0 ||
	    cfg->c_redis_port != m->m_cfg->c_redis_port)))
		log_warnx("SIGHUP: redis and redis_prefix take effect at the "
		    "next start");
	m->m_old = xreallocarray(m->m_old, m->m_nold + 1, sizeof *m->m_old);
	m->m_old[m->m_nold++] = m->m_cfg;
	m->m_cfg = cfg;
	notify_set_config(m->m_notify, cfg);
	log_info("SIGHUP: configuration reloaded (%zu targets)",
	    cfg->c_ntargets);
}

static void	nmain_usage(void) __attribute__((noreturn));

static void
nmain_usage(void)
{
	fprintf(stderr, "usage: 411-notify [-dnvV] [-c file] --target TYPE "
	    "[--name CONSUMER]\n");
	exit(1);
}

static void
nmain_err(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "%s\n", line);
}

static void
nmain_stopped(void *arg)
{
	struct nmain	*m = arg;

	event_base_loopbreak(m->m_base);
}

static void
nmain_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct nmain	*m = arg;

	if (sig == SIGHUP) {
		if (!m->m_stopping)
			nmain_reload(m);
		return;
	}
	if (m->m_stopping) {
		log_info("second signal: stopping now");
		event_base_loopbreak(m->m_base);
		return;
	}
	m->m_stopping = 1;
	log_info("stopping (signal %d)", (int)sig);
	notify_stop(m->m_notify, m->m_cfg->c_shutdown_grace * 1000,
	    nmain_stopped, m);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "target",	required_argument,	NULL,	't' },
		{ "name",	required_argument,	NULL,	'N' },
		{ "help",	no_argument,		NULL,	'h' },
		{ NULL,		0,			NULL,	0 }
	};
	struct nmain		 m;
	struct config_errors	 errs;
	struct event		*sigterm, *sigint, *sighup;
	const char		*path, *type = NULL;
	char			 host[200], *name = NULL;
	int			 ch, check = 0, foreground = 0, verbose = 0;
	size_t			 i, n;

	memset(&m, 0, sizeof m);
	path = SYSCONFDIR "/411/" CONFIG_FILE_NOTIFY;
	while ((ch = getopt_long(argc, argv, "c:dnvVh", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("411-notify %s\n", PACKAGE_VERSION);
			return (0);
		case 't':
			type = optarg;
			break;
		case 'N':
			free(name);
			name = xstrdup(optarg);
			break;
		default:
			nmain_usage();
		}
	}
	if (optind != argc)
		nmain_usage();
	if (type != NULL && notify_type(type) == NULL) {
		fprintf(stderr, "411-notify: unknown target type \"%s\" "
		    "(known:", type);
		for (i = 0; target_types[i] != NULL; i++)
			fprintf(stderr, " %s", target_types[i]->to_type);
		fprintf(stderr, ")\n");
		return (1);
	}
	if (type == NULL && !check)
		nmain_usage();

	memset(&errs, 0, sizeof errs);
	if ((m.m_cfg = config_load(path, CONFIG_NOTIFY, &errs)) == NULL) {
		for (i = 0; i < errs.ce_n; i++)
			fprintf(stderr, "%s\n", errs.ce_lines[i]);
		config_errors_free(&errs);
		return (1);
	}
	config_errors_free(&errs);
	if (m.m_cfg->c_notify_retry_min > m.m_cfg->c_notify_retry_max) {
		fprintf(stderr, "%s: retry_min is above retry_max\n", path);
		config_free(m.m_cfg);
		return (1);
	}
	if (notify_check(m.m_cfg, type, nmain_err, NULL) > 0) {
		config_free(m.m_cfg);
		return (1);
	}
	if (check) {
		printf("configuration OK\n");
		config_free(m.m_cfg);
		free(name);
		return (0);
	}
	for (i = n = 0; i < m.m_cfg->c_ntargets; i++)
		if (strcmp(m.m_cfg->c_targets[i].ct_type, type) == 0)
			n++;
	if (name == NULL) {
		if (gethostname(host, sizeof host) == -1)
			snprintf(host, sizeof host, "411-notify");
		host[sizeof host - 1] = '\0';
		name = xstrdup(host);
	}

	log_init("411-notify", foreground, verbose);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("curl_global_init failed");
	log_libevent();
	if ((m.m_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (n == 0)
		log_warnx("no target of type %s in %s: every job will be "
		    "dead-lettered", type, path);
	m.m_path = path;
	m.m_type = type;
	m.m_notify = notify_new(m.m_base, m.m_cfg, type, name);
	sigterm = evsignal_new(m.m_base, SIGTERM, nmain_signal_cb, &m);
	sigint = evsignal_new(m.m_base, SIGINT, nmain_signal_cb, &m);
	sighup = evsignal_new(m.m_base, SIGHUP, nmain_signal_cb, &m);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	evsignal_add(sighup, NULL);
	log_info("ready target=%s name=%s targets=%zu version=%s", type, name,
	    n, PACKAGE_VERSION);
	event_base_dispatch(m.m_base);

	notify_free(m.m_notify);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	event_base_free(m.m_base);
	curl_global_cleanup();
	config_free(m.m_cfg);
	for (i = 0; i < m.m_nold; i++)
		config_free(m.m_old[i]);
	free(m.m_old);
	free(name);
	log_info("stopped");
	return (0);
}
