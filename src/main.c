/*
 * main.c -- 411d: flags, start-up and shutdown order, signals.
 *
 * Start-up: config, logging, the event base, the store, the Redis queue
 * and the outbox pump, the HTTP client, the scheduler with every stored
 * search and searches_dir, and last the API; then one "ready" line.
 * SIGTERM/SIGINT: stop scheduling, let runs finish (shutdown_grace), give
 * the outbox a moment to reach Redis, then free everything in reverse.
 * SIGHUP: load the config again; a bad one is reported and ignored.
 * Named lists are loaded after the HTTP client and re-read on SIGHUP.
 */
#include "autoconf.h"

#include <sys/resource.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "api.h"
#include "autoclose.h"
#include "digest.h"
#include "config.h"
#include "httpc.h"
#include "lists.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "delivery.h"
#include "queue.h"
#include "run.h"
#include "sched.h"
#include "searches.h"
#include "silence.h"
#include "sources.h"
#include "store.h"
#include "trust.h"
#include "util.h"
#include "xmalloc.h"

#define MAIN_OUTBOX_WAIT_MS	3000	/* at shutdown, for Redis */

struct main_ctx {
	const char		*m_path;
	struct config		*m_cfg;
	struct config		**m_old;	/* replaced configs */
	size_t			 m_nold;
	struct event_base	*m_base;
	struct store		*m_store;
	struct queue		*m_queue;
	struct outbox		*m_outbox;
	struct delivery_log	*m_delivery;
	struct httpc		*m_httpc;
	struct lists		*m_lists;
	struct sources		*m_sources;
	struct sched		*m_sched;
	struct searches		*m_searches;
	struct api		*m_api;
	struct autoclose	*m_autoclose;
	struct digest		*m_digest;
	struct metrics		 m_metrics;
	struct run_env		 m_env;
	struct api_env		 m_api_env;
	struct event		*m_sigterm;
	struct event		*m_sigint;
	struct event		*m_sighup;
	struct event		*m_wait;
	struct event		*m_prune;	/* old job records */
	int64_t			 m_wait_until;
	int			 m_stopping;
};

static void	main_usage(void) __attribute__((noreturn));
static void	main_signal_cb(evutil_socket_t, short, void *);
static void	main_drained(void *);
static void	main_wait_cb(evutil_socket_t, short, void *);
static void	main_queue_cb(void *, int);
static void	main_prune_cb(evutil_socket_t, short, void *);

/* Print usage and exit. */
static void
main_usage(void)
{
	fprintf(stderr, "usage: 411d [-dnvV] [-c file]\n");
	exit(1);
}

/* Print every config error and free them. */
static void
main_print_errors(struct config_errors *errs)
{
	size_t	 i;

	for (i = 0; i < errs->ce_n; i++)
		fprintf(stderr, "%s\n", errs->ce_lines[i]);
}

/* Raise the open-files limit as far as allowed: every run is a socket. */
static void
main_raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit RLIMIT_NOFILE");
	}
}

/* The queue went up or down. */
static void
main_queue_cb(void *arg, int up)
{
	struct main_ctx	*m = arg;

	if (up)
		log_info("redis: connected");
	else
		log_warnx("redis: disconnected: %s",
		    queue_error(m->m_queue) != NULL ? queue_error(m->m_queue) :
		    "unknown error");
	if (m->m_outbox != NULL)
		outbox_queue_state(m->m_outbox, up);
}

/* SIGHUP: load the config and searches_dir again. */
static void
main_reload(struct main_ctx *m)
{
	struct config_errors	 errs;
	struct config		*cfg, *old = m->m_cfg;
	int			 bad;

	memset(&errs, 0, sizeof errs);
	log_info("reloading %s", m->m_path);
	if ((cfg = config_load(m->m_path, CONFIG_411D, &errs)) == NULL) {
		size_t i;

		for (i = 0; i < errs.ce_n; i++)
			log_warnx("%s", errs.ce_lines[i]);
		log_warnx("reload refused: the old configuration stays");
		config_errors_free(&errs);
		return;
	}
	if (strcmp(cfg->c_listen_host, old->c_listen_host) != 0 ||
	    cfg->c_listen_port != old->c_listen_port)
		log_warnx("listen changed: restart 411d to apply it");
	if (strcmp(cfg->c_datadir, old->c_datadir) != 0)
		log_warnx("datadir changed: restart 411d to apply it");
	m->m_old = xreallocarray(m->m_old, m->m_nold + 1, sizeof *m->m_old);
	m->m_old[m->m_nold++] = old;
	m->m_cfg = cfg;
	m->m_env.re_cfg = cfg;
	trust_set(cfg);		/* before any search is checked again */
	sources_reload(m->m_sources, cfg);
	lists_reload(m->m_lists, cfg);
	api_reload(m->m_api, cfg);
	outbox_reload(m->m_outbox, cfg, cfg->c_base_url);
	searches_reload(m->m_searches, cfg);
	bad = searches_load_dir(m->m_searches, cfg);
	log_info("reloaded%s", bad > 0 ? " (some search files were refused)" :
	    "");
}

/* Delete job records past job_retention: a few batches per tick. */
static void
main_prune_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct main_ctx	*m = arg;
	int64_t		 cutoff;
	long		 n, total = 0;
	int		 more = 1, pass;

	if (m->m_stopping)
		return;
	cutoff = util_now_ms() - m->m_cfg->c_job_retention * 1000;
	for (pass = 0; more && pass < 10; pass++) {
		if ((n = run_prune_jobs(&m->m_env, cutoff, 1000, &more)) < 0)
			break;
		total += n;
	}
	if (total > 0)
		log_debug("pruned %ld job records older than job_retention",
		    total);
	m->m_metrics.m_jobs_pruned += (uint64_t)total;
}

/*
 * The resolver for filters (reverse DNS): the configured name servers, or
 * those of /etc/resolv.conf.  Without any, rdns filters fail cleanly.
 */
static struct evdns_base *
main_dns(struct event_base *base, const struct config *cfg)
{
	struct evdns_base	*dns;
	size_t			 i;
	int			 rc;

	if ((dns = evdns_base_new(base,
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE)) == NULL) {
		log_warnx("evdns_base_new failed: no reverse DNS for filters");
		return (NULL);
	}
	for (i = 0; i < cfg->c_nresolvers; i++) {
		if (evdns_base_nameserver_ip_add(dns,
		    cfg->c_resolvers[i]) != 0)
			log_warnx("resolver %s: cannot be used",
			    cfg->c_resolvers[i]);
	}
	if (cfg->c_nresolvers == 0) {
		rc = evdns_base_resolv_conf_parse(dns, DNS_OPTIONS_ALL,
		    "/etc/resolv.conf");
		if (rc != 0)
			log_warnx("/etc/resolv.conf: cannot be read (%d): "
			    "reverse DNS filters will fail", rc);
	}
	if (evdns_base_count_nameservers(dns) == 0) {
		evdns_base_free(dns, 0);
		return (NULL);
	}
	return (dns);
}

/* Signals, delivered through the loop. */
static void
main_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct main_ctx	*m = arg;

	if (sig == SIGHUP) {
		main_reload(m);
		return;
	}
	if (m->m_stopping) {
		log_warnx("second signal: stopping now");
		event_base_loopbreak(m->m_base);
		return;
	}
	m->m_stopping = 1;
	log_info("stopping: waiting for %zu runs in flight",
	    sched_inflight(m->m_sched));
	sched_drain(m->m_sched, m->m_cfg->c_shutdown_grace * 1000,
	    main_drained, m);
}

/* No run is in flight: let the outbox reach Redis, then exit. */
static void
main_drained(void *arg)
{
	struct main_ctx	*m = arg;
	struct timeval	 tv = { 0, 0 };

	m->m_wait_until = util_now_ms() + MAIN_OUTBOX_WAIT_MS;
	m->m_wait = evtimer_new(m->m_base, main_wait_cb, m);
	evtimer_add(m->m_wait, &tv);
}

/* Wait until the outbox is empty, Redis is down, or time is up. */
static void
main_wait_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct main_ctx	*m = arg;
	struct timeval	 tv = { 0, 50000 };
	uint64_t	 depth = outbox_depth(m->m_outbox);

	if (depth == 0 || !queue_up(m->m_queue) ||
	    util_now_ms() >= m->m_wait_until) {
		if (depth > 0)
			log_info("stopping with %llu events waiting in the "
			    "outbox; they are sent after the next start",
			    (unsigned long long)depth);
		event_base_loopexit(m->m_base, NULL);
		return;
	}
	evtimer_add(m->m_wait, &tv);
}

int
main(int argc, char *argv[])
{
	struct main_ctx		 m;
	struct config_errors	 errs;
	struct queue_opts	 qo;
	struct outbox_opts	 oo;
	char			 err[512];
	const char		*instance, *p;
	struct timeval		 tv;
	int64_t			 ms, off;
	int			 ch, check = 0, foreground = 0, verbose = 0;
	size_t			 i;

	memset(&m, 0, sizeof m);
	m.m_path = SYSCONFDIR "/411/" CONFIG_FILE_411D;
	while ((ch = getopt(argc, argv, "c:dnvVh")) != -1) {
		switch (ch) {
		case 'c':
			m.m_path = optarg;
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
			printf("411d %s\n", PACKAGE_VERSION);
			return (0);
		default:
			main_usage();
		}
	}
	if (optind != argc)
		main_usage();

	memset(&errs, 0, sizeof errs);
	if ((m.m_cfg = config_load(m.m_path, CONFIG_411D, &errs)) == NULL) {
		main_print_errors(&errs);
		config_errors_free(&errs);
		return (1);
	}
	config_errors_free(&errs);
	if (check) {
		printf("configuration OK\n");
		config_free(m.m_cfg);
		return (0);
	}

	log_init("411d", foreground, verbose);
	signal(SIGPIPE, SIG_IGN);
	trust_set(m.m_cfg);	/* what searches may name: before any loads */
	main_raise_nofile();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("curl_global_init failed");
	log_libevent();
	if ((m.m_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	/*
	 * Test hook: FOUR11_CLOCK_OFFSET_MS moves the clock of 411d (every
	 * util_now_ms) by that many ms, so that tests can see autoclose and
	 * other idle times pass.  Not for production.
	 */
	if ((p = getenv("FOUR11_CLOCK_OFFSET_MS")) != NULL && *p != '\0') {
		if (util_parse_int64(p, strlen(p), &off) == -1)
			fatalx("FOUR11_CLOCK_OFFSET_MS: not a whole number");
		util_clock_offset(off);
		log_warnx("clock moved by %lld ms (FOUR11_CLOCK_OFFSET_MS)",
		    (long long)off);
	}
	m.m_metrics.m_started_ms = util_now_ms();

	if ((m.m_store = store_open(m.m_base, m.m_cfg->c_datadir, err,
	    sizeof err)) == NULL)
		fatalx("%s", err);

	memset(&qo, 0, sizeof qo);
	qo.qo_host = m.m_cfg->c_redis_host;
	qo.qo_port = m.m_cfg->c_redis_port;
	qo.qo_unix = m.m_cfg->c_redis_unix;
	qo.qo_password = m.m_cfg->c_redis_password;
	qo.qo_name = "411d";
	m.m_queue = queue_new(m.m_base, &qo, main_queue_cb, &m);

	/* producer.instance: the datadir's id unless named (outbox.c). */
	if ((instance = m.m_cfg->c_instance) == NULL)
		instance = store_instance(m.m_store);
	memset(&oo, 0, sizeof oo);
	oo.oo_prefix = m.m_cfg->c_redis_prefix;
	oo.oo_instance = instance;
	oo.oo_base_url = m.m_cfg->c_base_url;
	oo.oo_cfg = m.m_cfg;
	m.m_outbox = outbox_new(m.m_base, m.m_store, m.m_queue, &oo);
	/* 411:delivery results from the workers, onto the alerts' logs. */
	m.m_delivery = delivery_log_new(m.m_base, m.m_cfg, m.m_store);

	m.m_httpc = httpc_new(m.m_base);
	m.m_lists = lists_new(m.m_base, m.m_httpc, m.m_cfg);
	m.m_sources = sources_new(m.m_cfg);
	m.m_env.re_base = m.m_base;
	m.m_env.re_cfg = m.m_cfg;
	m.m_env.re_store = m.m_store;
	if ((m.m_env.re_silences = silences_new(m.m_store, err,
	    sizeof err)) == NULL)
		fatalx("%s", err);
	m.m_env.re_httpc = m.m_httpc;
	m.m_env.re_outbox = m.m_outbox;
	m.m_env.re_metrics = &m.m_metrics;
	m.m_env.re_sources = m.m_sources;
	m.m_env.re_dns = main_dns(m.m_base, m.m_cfg);
	m.m_sched = sched_new(&m.m_env);
	m.m_env.re_sched = m.m_sched;
	m.m_searches = searches_new(&m.m_env, m.m_sched);
	if (searches_load(m.m_searches) == -1)
		fatalx("could not load the stored searches");
	(void)searches_load_dir(m.m_searches, m.m_cfg);

	m.m_api_env.ae_run = &m.m_env;
	m.m_api_env.ae_sched = m.m_sched;
	m.m_api_env.ae_queue = m.m_queue;
	m.m_api_env.ae_searches = m.m_searches;
	m.m_api_env.ae_version = PACKAGE_VERSION;
	if ((m.m_api = api_new(&m.m_api_env, err, sizeof err)) == NULL)
		fatalx("%s", err);
	if ((m.m_autoclose = autoclose_new(&m.m_env, m.m_searches)) == NULL)
		fatalx("could not start autoclose");
	m.m_digest = digest_new(&m.m_env, m.m_searches);

	m.m_sigterm = evsignal_new(m.m_base, SIGTERM, main_signal_cb, &m);
	m.m_sigint = evsignal_new(m.m_base, SIGINT, main_signal_cb, &m);
	m.m_sighup = evsignal_new(m.m_base, SIGHUP, main_signal_cb, &m);
	evsignal_add(m.m_sigterm, NULL);
	evsignal_add(m.m_sigint, NULL);
	evsignal_add(m.m_sighup, NULL);

	/* Job records older than job_retention go, a batch at a time. */
	ms = m.m_cfg->c_job_retention * 1000 / 4;
	if (ms > 3600 * 1000)
		ms = 3600 * 1000;
	if (ms < 1000)
		ms = 1000;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	m.m_prune = event_new(m.m_base, -1, EV_PERSIST, main_prune_cb, &m);
	evtimer_add(m.m_prune, &tv);

	outbox_kick(m.m_outbox);
	log_info("ready api=%s version=%s searches=%zu instance=%s",
	    api_address(m.m_api), PACKAGE_VERSION,
	    searches_count(m.m_searches), instance);
	event_base_dispatch(m.m_base);

	/*
	 * Shutdown, in the reverse order of start-up; but the API goes after
	 * the writes whose answers it owes (silences, searches, alert actions,
	 * audit entries, runs asked for through it) are committed and
	 * answered.
	 */
	digest_free(m.m_digest);
	autoclose_free(m.m_autoclose);
	delivery_log_free(m.m_delivery);
	store_flush(m.m_store);
	sched_free(m.m_sched);
	store_flush(m.m_store);
	api_free(m.m_api);
	searches_free(m.m_searches);
	queue_free(m.m_queue);
	store_flush(m.m_store);
	outbox_free(m.m_outbox);
	lists_free(m.m_lists);
	httpc_free(m.m_httpc);
	store_close(m.m_store);
	silences_free(m.m_env.re_silences);
	sources_free(m.m_sources);
	if (m.m_env.re_dns != NULL)
		evdns_base_free(m.m_env.re_dns, 1);
	if (m.m_wait != NULL)
		event_free(m.m_wait);
	event_free(m.m_prune);
	event_free(m.m_sigterm);
	event_free(m.m_sigint);
	event_free(m.m_sighup);
	event_base_free(m.m_base);
	curl_global_cleanup();
	for (i = 0; i < m.m_nold; i++)
		config_free(m.m_old[i]);
	free(m.m_old);
	config_free(m.m_cfg);
	log_info("stopped");
	return (0);
}
