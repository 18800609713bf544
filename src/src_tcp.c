/*
 * src_tcp.c -- the tcp search type: can a TCP connection be opened?
 *
 * One run is one non-blocking connect to "host":"port" on the event loop,
 * bounded by the search's timeout (TCP_TIMEOUT_MS when it has none).  The
 * host is a numeric IPv4 or IPv6 address, or "localhost" (127.0.0.1): no
 * name is looked up, so nothing can block.  The connection is closed as
 * soon as it is made.
 *
 * A target that does not answer is a finding, not a failure of the run:
 * a failed connect gives one record {"host", "port", "ok": false, "error",
 * "connect_ms"} (so one alert), a connect that succeeds gives none.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "config.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "run.h"
#include "search.h"
#include "src.h"
#include "util.h"
#include "xmalloc.h"

#define TCP_TIMEOUT_MS		5000	/* without a search timeout */

struct tcp_run {
	struct run		*t_run;
	struct event		*t_ev;		/* connect, or the deferred end */
	evutil_socket_t		 t_fd;
	char			*t_host;
	int			 t_port;
	int64_t			 t_start_us;
	int64_t			 t_timeout_ms;
	int			 t_err;		/* errno of the connect, 0 = ok */
	int			 t_timedout;
};

static int	tcp_validate(const struct json *, const struct config *,
		    struct search_err *);
static int	tcp_start(struct run *, char *, size_t);
static void	tcp_cancel(struct run *);

const struct src_ops src_tcp_ops = {
	SEARCH_TCP, tcp_validate, tcp_start, tcp_cancel
};

/* Keys of the definition that other types use and tcp does not. */
static const char *const tcp_foreign[] = {
	"source", "query", "query_dsl", "index", "fields", "url", "method",
	"expect_status", "match", "max_latency", "cert_expiry_days",
	"ca_file", "alerts", "above", "below", NULL
};

/* Microseconds on the monotonic clock. */
static int64_t
tcp_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/* Fill ss from a numeric address or "localhost"; returns 0 or -1. */
static int
tcp_addr(const char *host, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	if (evutil_inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof *sin;
		return (0);
	}
	if (evutil_inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof *sin6;
		return (0);
	}
	return (-1);
}

/* Check the tcp keys of a definition. */
static int
tcp_validate(const struct json *def, const struct config *cfg,
    struct search_err *err)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	const struct json	*j;
	const char		*host;
	int64_t			 port;

	if (src_refuse_keys(def, tcp_foreign, "tcp", err) == -1)
		return (-1);
	j = json_get(def, "result");
	if (j != NULL && j->j_type != JSON_NULL && (json_str(j) == NULL ||
	    strcmp(json_str(j), "fields") != 0)) {
		snprintf(err->se_field, sizeof err->se_field, "result");
		snprintf(err->se_message, sizeof err->se_message,
		    "must be \"fields\" for type tcp (one alert when the "
		    "connect fails)");
		return (-1);
	}
	host = json_str(json_get(def, "host"));
	if (host == NULL || *host == '\0') {
		snprintf(err->se_field, sizeof err->se_field, "host");
		snprintf(err->se_message, sizeof err->se_message,
		    "is required for type tcp: a numeric IPv4 or IPv6 address "
		    "or \"localhost\"");
		return (-1);
	}
	if (strlen(host) > 64 || tcp_addr(host, 1, &ss, &len) == -1) {
		snprintf(err->se_field, sizeof err->se_field, "host");
		snprintf(err->se_message, sizeof err->se_message,
		    "must be a numeric IPv4 or IPv6 address or \"localhost\" "
		    "(names are not looked up)");
		return (-1);
	}
	j = json_get(def, "port");
	if (j == NULL || !json_int(j, &port) || port < 1 || port > 65535) {
		snprintf(err->se_field, sizeof err->se_field, "port");
		snprintf(err->se_message, sizeof err->se_message,
		    "must be a whole number from 1 to 65535");
		return (-1);
	}
	return (0);
}

/* Free the driver state (the run keeps going). */
static void
tcp_free(struct tcp_run *t)
{
	if (t->t_ev != NULL)
		event_free(t->t_ev);
	if (t->t_fd != -1)
		evutil_closesocket(t->t_fd);
	free(t->t_host);
	free(t);
}

/* The connect is over: report what it found and end the run. */
static void
tcp_end(struct tcp_run *t)
{
	struct run	*r = t->t_run;
	struct record	*rec;
	char		 msg[256];
	int64_t		 ms;

	ms = (tcp_now_us() - t->t_start_us) / 1000;
	log_debug("tcp: %s:%d %s after %lldms", t->t_host, t->t_port,
	    t->t_timedout ? "timed out" : t->t_err != 0 ?
	    strerror(t->t_err) : "connected", (long long)ms);
	if (t->t_err == 0 && !t->t_timedout) {
		tcp_free(t);
		run_set_driver(r, NULL);
		run_total(r, 0, 1);
		run_finish(r, NULL, 0, NULL);
		return;
	}
	if (t->t_timedout)
		snprintf(msg, sizeof msg, "connect to %s port %d timed out "
		    "after %lldms", t->t_host, t->t_port,
		    (long long)t->t_timeout_ms);
	else
		snprintf(msg, sizeof msg, "connect to %s port %d failed: %s",
		    t->t_host, t->t_port, strerror(t->t_err));
	rec = record_new();
	record_add_str(rec, "host", t->t_host, strlen(t->t_host));
	record_add_int(rec, "port", t->t_port);
	record_add(rec, "ok", 2, "false", 5);
	record_add_str(rec, "error", msg, strlen(msg));
	record_add_int(rec, "connect_ms", ms);
	rec->r_time = util_now_ms();
	tcp_free(t);
	run_set_driver(r, NULL);
	run_total(r, 1, 1);
	(void)run_record(r, rec);
	run_finish(r, NULL, 0, NULL);
}

/* The socket is writable (connected or failed), or the time is up. */
static void
tcp_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_run	*t = arg;
	socklen_t	 len = sizeof t->t_err;

	if (t->t_fd == -1)
		;			/* known at once, t_err says */
	else if (what & EV_TIMEOUT)
		t->t_timedout = 1;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &t->t_err,
	    &len) == -1)
		t->t_err = errno;
	tcp_end(t);
}

/* Begin the run: start the connect. */
static int
tcp_start(struct run *r, char *err, size_t errlen)
{
	const struct search	*s = run_search(r);
	struct event_base	*base = run_env(r)->re_base;
	struct sockaddr_storage	 ss;
	struct timeval		 tv;
	struct tcp_run		*t;
	socklen_t		 slen;
	int64_t			 port = 0;

	t = xcalloc(1, sizeof *t);
	t->t_run = r;
	t->t_fd = -1;
	t->t_host = xstrdup(json_str(json_get(s->s_def, "host")) != NULL ?
	    json_str(json_get(s->s_def, "host")) : "");
	(void)json_int(json_get(s->s_def, "port"), &port);
	t->t_port = (int)port;
	if (tcp_addr(t->t_host, t->t_port, &ss, &slen) == -1) {
		snprintf(err, errlen, "host \"%s\" is not a numeric address",
		    t->t_host);
		tcp_free(t);
		return (-1);
	}
	/* Give up a little before the run's own timeout fires. */
	if (s->s_timeout > 0) {
		t->t_timeout_ms = s->s_timeout * 1000;
		t->t_timeout_ms -= t->t_timeout_ms / 10 < 500 ?
		    t->t_timeout_ms / 10 : 500;
	} else
		t->t_timeout_ms = TCP_TIMEOUT_MS;
	t->t_start_us = tcp_now_us();
	if ((t->t_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		tcp_free(t);
		return (-1);
	}
	if (connect(t->t_fd, (struct sockaddr *)&ss, slen) == 0)
		t->t_err = 0;
	else if (errno != EINPROGRESS)
		t->t_err = errno;
	else
		t->t_err = -1;		/* under way */
	if (t->t_err == -1) {
		t->t_err = 0;
		t->t_ev = event_new(base, t->t_fd, EV_WRITE, tcp_io_cb, t);
		tv.tv_sec = t->t_timeout_ms / 1000;
		tv.tv_usec = (t->t_timeout_ms % 1000) * 1000;
	} else {
		/* Known at once: report from the next loop turn. */
		t->t_ev = event_new(base, -1, 0, tcp_io_cb, t);
		tv.tv_sec = 0;
		tv.tv_usec = 0;
		evutil_closesocket(t->t_fd);
		t->t_fd = -1;
	}
	run_set_driver(r, t);
	event_add(t->t_ev, &tv);
	return (0);
}

/* Stop now. */
static void
tcp_cancel(struct run *r)
{
	struct tcp_run	*t = run_driver(r);

	if (t == NULL)
		return;
	tcp_free(t);
	run_set_driver(r, NULL);
}
