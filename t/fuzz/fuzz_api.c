/*
 * fuzz_api.c -- the HTTP API of 411d as a client reaches it: the bytes of
 * the input are sent on a fresh loopback connection to the real API
 * (evhttp's request line and headers, then 411's connection limits,
 * deadline, path decoding, query strings, keys and roles, routing, and
 * every handler's body parsing -- searches, alerts and their actions,
 * silences, users, groups, keys, audit, import), over a real store in a
 * temporary datadir.
 *
 * The daemon is wired as src/main.c does, without the signals, the
 * delivery log, autoclose and digests.  Redis is an address where nothing
 * listens (the outbox just holds its events); the es source too.  State
 * (searches, alerts, users) carries over from one input to the next.
 *
 * Input: the bytes a client sends.  Keys: admin "fuzz-admin-key-0123456789",
 * editor "fuzz-editor-key-0123456789", viewer "fuzz-viewer-key-0123456789".
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <event2/event.h>

#include "api.h"
#include "buf.h"
#include "config.h"
#include "httpc.h"
#include "lists.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "queue.h"
#include "run.h"
#include "sched.h"
#include "searches.h"
#include "silence.h"
#include "sources.h"
#include "store.h"
#include "util.h"
#include "fuzz.h"

#define FUZZ_WAIT_MS	3000	/* for the answer, at most */

static char			 fuzz_dir[64];
static struct event_base	*fuzz_base;
static struct api		*fuzz_api;
static struct sockaddr_in	 fuzz_sin;
static uint32_t			 fuzz_conns;

/* Remove the temporary datadir (files only, one level). */
static void
fuzz_cleanup(void)
{
	struct dirent	*de;
	DIR		*d;
	char		 p[512];

	if (fuzz_dir[0] == '\0' || (d = opendir(fuzz_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", fuzz_dir, de->d_name);
		(void)unlink(p);
	}
	closedir(d);
	(void)rmdir(fuzz_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct run_env		 env;
	static struct api_env		 ae;
	static struct metrics		 metrics;
	struct config_errors		 errs;
	struct outbox_opts		 oo;
	struct queue_opts		 qo;
	struct config			*cfg;
	struct store			*st;
	struct queue			*q;
	struct httpc			*h;
	struct buf			 conf = BUF_INIT;
	const char			*addr, *colon;
	char				 err[256];
	size_t				 i;

	log_init("fuzz", 1, 0);
	signal(SIGPIPE, SIG_IGN);
	snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/411-fuzz-api.XXXXXX");
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	atexit(fuzz_cleanup);
	buf_printf(&conf, "listen 127.0.0.1:0\n"
	    "datadir %s\n"
	    "redis 127.0.0.1:1\n"
	    "api_key admin admin \"fuzz-admin-key-0123456789\"\n"
	    "api_key ed editor \"fuzz-editor-key-0123456789\"\n"
	    "api_key view viewer \"fuzz-viewer-key-0123456789\"\n"
	    "source logs es http://127.0.0.1:1 index \"logs-*\" "
	    "date_field @timestamp timeout 1s\n"
	    "target hook webhook url http://127.0.0.1:1/hook\n", fuzz_dir);
	memset(&errs, 0, sizeof errs);
	if ((cfg = config_parse("fuzz.conf", conf.b_data, conf.b_len,
	    CONFIG_411D, &errs)) == NULL) {
		for (i = 0; i < errs.ce_n; i++)
			log_warnx("%s", errs.ce_lines[i]);
		abort();
	}
	buf_free(&conf);
	if ((fuzz_base = event_base_new()) == NULL)
		abort();
	if ((st = store_open(fuzz_base, cfg->c_datadir, err,
	    sizeof err)) == NULL) {
		log_warnx("%s", err);
		abort();
	}
	memset(&qo, 0, sizeof qo);
	qo.qo_host = cfg->c_redis_host;
	qo.qo_port = cfg->c_redis_port;
	qo.qo_name = "411d-fuzz";
	q = queue_new(fuzz_base, &qo, NULL, NULL);
	memset(&oo, 0, sizeof oo);
	oo.oo_prefix = cfg->c_redis_prefix;
	oo.oo_instance = "fuzz";
	oo.oo_cfg = cfg;
	env.re_base = fuzz_base;
	env.re_cfg = cfg;
	env.re_store = st;
	env.re_outbox = outbox_new(fuzz_base, st, q, &oo);
	h = httpc_new(fuzz_base);
	(void)lists_new(fuzz_base, h, cfg);
	env.re_httpc = h;
	env.re_sources = sources_new(cfg);
	if ((env.re_silences = silences_new(st, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		abort();
	}
	metrics.m_started_ms = util_now_ms();
	env.re_metrics = &metrics;
	env.re_sched = sched_new(&env);
	ae.ae_run = &env;
	ae.ae_sched = env.re_sched;
	ae.ae_queue = q;
	ae.ae_searches = searches_new(&env, env.re_sched);
	if (searches_load(ae.ae_searches) == -1)
		abort();
	ae.ae_version = "fuzz";
	if ((fuzz_api = api_new(&ae, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		abort();
	}
	addr = api_address(fuzz_api);
	if ((colon = strrchr(addr, ':')) == NULL)
		abort();
	memset(&fuzz_sin, 0, sizeof fuzz_sin);
	fuzz_sin.sin_family = AF_INET;
	fuzz_sin.sin_port = htons((uint16_t)atoi(colon + 1));
	fuzz_sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return (0);
}

/* The answer arrives: read it, note the end. */
static void
fuzz_read_cb(evutil_socket_t fd, short what, void *arg)
{
	char	 b[8192];
	ssize_t	 n;

	if ((n = read(fd, b, sizeof b)) == 0 ||
	    (n == -1 && errno != EAGAIN && errno != EINTR))
		*(int *)arg = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct sockaddr_in src;
	struct linger	 lg;
	struct event	*ev;
	int64_t		 until;
	size_t		 off;
	ssize_t		 n;
	int		 fd, tries, done = 0;

	/*
	 * Hundreds of connections a second, each leaving a TIME_WAIT for a
	 * minute: the local ports (28 000) would run out, so each
	 * connection comes from the next address of 127.0.0.0/8; a port
	 * still taken is waited for.
	 */
	for (tries = 0;; tries++) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			abort();
		fuzz_conns++;
		memset(&src, 0, sizeof src);
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f000000 |
		    (1 + fuzz_conns % 0xfffffe));
		(void)bind(fd, (struct sockaddr *)&src, sizeof src);
		if (connect(fd, (struct sockaddr *)&fuzz_sin,
		    sizeof fuzz_sin) == 0)
			break;
		if ((errno != EADDRNOTAVAIL && errno != EAGAIN) ||
		    tries == 100) {
			log_warn("fuzz: connect");
			abort();
		}
		close(fd);
		usleep(20000);
	}
	/* The API accepts from the loop; the kernel buffers this. */
	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	for (off = 0; off < len; off += (size_t)n)
		if ((n = write(fd, data + off, len - off)) <= 0)
			break;
	(void)shutdown(fd, SHUT_WR);
	if ((ev = event_new(fuzz_base, fd, EV_READ | EV_PERSIST, fuzz_read_cb,
	    &done)) == NULL)
		abort();
	event_add(ev, NULL);
	until = util_now_ms() + FUZZ_WAIT_MS;
	while (!done && util_now_ms() < until)
		event_base_loop(fuzz_base, EVLOOP_ONCE);
	event_free(ev);
	lg.l_onoff = 1;
	lg.l_linger = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
	/* Let the server see the close. */
	event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
	return (0);
}
