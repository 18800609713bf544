/*
 * esresponder.c -- a fast Elasticsearch 7.17 stand-in for benchmarks.
 *
 * It answers what 411d's es driver sends, and nothing else:
 *
 *   GET /				the identity of an Elasticsearch 7.17
 *   POST /INDEX/_pit?...		{"id": ...}
 *   POST /_search, /INDEX/_search	after -d ms, -n hits in the ES 7 shape
 *   POST /_search/scroll		an empty page (ends a scroll)
 *   DELETE /_pit, /_search/scroll	{"succeeded": true}
 *   anything else			404 with an ES error body
 *
 * Searches are answered from an evtimer (never by sleeping), so any number
 * of them wait at once.  With -f PCT that share of the searches gets a
 * fault instead, one of six kinds at random (-S SEED): 429 with
 * Retry-After: 1, 503, 500 (each with an ES error body), a garbage 200
 * (truncated JSON), a connection reset (RST, no answer), and a slow
 * answer (after -s SLOW_MS, 5000: past the source's timeout).  Hit times
 * are spread over the window the request asked for (its range "gte" /
 * "lt") when it can be found in the body.
 * Requests are counted by kind; SIGUSR1 prints the counts, SIGINT and
 * SIGTERM print them and exit.  The bound address is printed as
 * "listening 127.0.0.1:PORT".
 *
 * It is a standalone program (libevent only) and needs no configure.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

enum kind {
	K_IDENTITY,
	K_PIT_OPEN,
	K_SEARCH,
	K_SCROLL_NEXT,
	K_PIT_CLOSE,
	K_SCROLL_CLEAR,
	K_OTHER,
	K_MAX
};

static const char *const kind_names[K_MAX] = {
	"identity", "pit_open", "search", "scroll_next", "pit_close",
	"scroll_clear", "other"
};

enum fault {
	F_429,
	F_503,
	F_500,
	F_GARBAGE,
	F_RESET,
	F_SLOW,
	F_MAX
};

static const char *const fault_names[F_MAX] = {
	"f429", "f503", "f500", "garbage", "reset", "slow"
};

struct pending {
	struct evhttp_request	*p_req;
	struct event		*p_ev;
	int			 p_pit;		/* answer with a pit_id */
	int			 p_scroll;	/* answer with a _scroll_id */
	int64_t			 p_from;	/* window, or -1 */
	int64_t			 p_to;
	int			 p_reset;	/* reset the connection */
};

static struct event_base	*base;
static const struct timeval	*delay_tv;
static int			 nhits = 10;
static long			 delay_ms = 50;
static uint64_t			 counts[K_MAX];
static uint64_t			 connections;
static uint64_t			 ids;
static long			 pending_now, pending_peak;
static const struct timeval	*slow_tv, *now_tv;
static long			 slow_ms = 5000;
static double			 fault_pct;
static uint64_t			 faults[F_MAX];
static uint64_t			 rng = 88172645463325252ULL;

static const char identity[] =
    "{\"name\":\"esresponder\",\"cluster_name\":\"bench\","
    "\"cluster_uuid\":\"bEnChbEnChbEnChbEnChbE\","
    "\"version\":{\"number\":\"7.17.0\",\"build_flavor\":\"default\","
    "\"build_type\":\"deb\",\"build_hash\":\"bee86328705acaa9a6daede7140defd4d9ec56bd\","
    "\"build_date\":\"2022-01-28T08:36:04.875279988Z\","
    "\"build_snapshot\":false,\"lucene_version\":\"8.11.1\","
    "\"minimum_wire_compatibility_version\":\"6.8.0\","
    "\"minimum_index_compatibility_version\":\"6.0.0-beta1\"},"
    "\"tagline\":\"You Know, for Search\"}";

static void
usage(void)
{
	fprintf(stderr, "usage: esresponder [-p port] [-d delay_ms] "
	    "[-n hits] [-f fault_pct] [-s slow_ms] [-S seed]\n");
	exit(2);
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
print_counts(const char *why)
{
	uint64_t	 total = 0;
	int		 k;

	printf("%s", why);
	for (k = 0; k < K_MAX; k++) {
		printf(" %s=%" PRIu64, kind_names[k], counts[k]);
		total += counts[k];
	}
	printf(" total=%" PRIu64 " connections=%" PRIu64
	    " pending_peak=%ld", total, connections, pending_peak);
	for (k = 0; k < F_MAX; k++)
		printf(" %s=%" PRIu64, fault_names[k], faults[k]);
	printf("\n");
	fflush(stdout);
}

/* Send a JSON body with status code. */
static void
reply(struct evhttp_request *req, int code, const char *reason,
    struct evbuffer *b)
{
	evhttp_send_reply(req, code, reason, b);
}

static void
reply_str(struct evhttp_request *req, int code, const char *reason,
    const char *s)
{
	struct evbuffer	*b = evbuffer_new();

	evbuffer_add(b, s, strlen(s));
	reply(req, code, reason, b);
	evbuffer_free(b);
}

/* Find "key": followed by an integer in the body; -1 when absent. */
static int64_t
find_int(const char *body, const char *key)
{
	const char	*p;
	char		*end;
	long long	 v;

	if ((p = strstr(body, key)) == NULL)
		return (-1);
	p += strlen(key);
	while (*p == ' ' || *p == ':')
		p++;
	v = strtoll(p, &end, 10);
	if (end == p)
		return (-1);
	return ((int64_t)v);
}

/* xorshift64*: the fault draws, repeatable with -S. */
static uint64_t
rand64(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (rng * 2685821657736338717ULL);
}

/* Reset the request's connection: RST, no answer. */
static void
reset_conn(struct evhttp_request *req)
{
	struct evhttp_connection	*conn;
	struct linger			 lg = { 1, 0 };
	evutil_socket_t			 fd;

	if ((conn = evhttp_request_get_connection(req)) == NULL) {
		/* The client went away: this just frees the request. */
		evhttp_send_reply(req, 500, "Gone", NULL);
		return;
	}
	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(conn));
	if (fd != -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	/* Frees the request with the connection. */
	evhttp_connection_free(conn);
}

/* The delay is over: answer the search. */
static void
search_answer(evutil_socket_t fd, short what, void *arg)
{
	struct pending	*p = arg;
	struct evbuffer	*b;
	int64_t		 from, span, ts;
	int		 i;

	(void)fd;
	(void)what;
	if (p->p_reset) {
		reset_conn(p->p_req);
		event_free(p->p_ev);
		free(p);
		pending_now--;
		return;
	}
	if (p->p_from >= 0 && p->p_to > p->p_from) {
		from = p->p_from;
		span = p->p_to - p->p_from;
	} else {
		from = now_ms() - 1000;
		span = 1000;
	}
	b = evbuffer_new();
	evbuffer_add_printf(b, "{");
	if (p->p_pit)
		evbuffer_add_printf(b, "\"pit_id\":\"pit-%" PRIu64 "\",",
		    ++ids);
	if (p->p_scroll)
		evbuffer_add_printf(b, "\"_scroll_id\":\"scroll-%" PRIu64 "\",",
		    ++ids);
	evbuffer_add_printf(b, "\"took\":%d,\"timed_out\":false,"
	    "\"_shards\":{\"total\":1,\"successful\":1,\"skipped\":0,"
	    "\"failed\":0},\"hits\":{\"total\":{\"value\":%d,"
	    "\"relation\":\"eq\"},\"max_score\":null,\"hits\":[",
	    (int)delay_ms, nhits);
	for (i = 0; i < nhits; i++) {
		ts = from + span * i / (nhits > 0 ? nhits : 1);
		evbuffer_add_printf(b, "%s{\"_index\":\"logs-bench\","
		    "\"_type\":\"_doc\",\"_id\":\"%" PRIu64 "-%d\","
		    "\"_score\":null,\"_source\":{\"@timestamp\":%" PRId64 ","
		    "\"host\":\"web-%d\",\"user\":\"user%d\","
		    "\"src_ip\":\"203.0.113.%d\",\"program\":\"sshd\","
		    "\"message\":\"Failed password for user%d from "
		    "203.0.113.%d port 22 ssh2\"},\"sort\":[%" PRId64 ",%d]}",
		    i > 0 ? "," : "", ids, i, ts, i % 7, i, i % 250 + 1, i,
		    i % 250 + 1, ts, i);
	}
	evbuffer_add_printf(b, "]}}");
	/*
	 * If the client went away meanwhile, evhttp detached the request
	 * from its connection and this reply just frees it (2.1 http.c).
	 */
	reply(p->p_req, HTTP_OK, "OK", b);
	evbuffer_free(b);
	event_free(p->p_ev);
	free(p);
	pending_now--;
}

/* A search: keep it until the delay tv is over. */
static void
search_start(struct evhttp_request *req, int pit, int scroll,
    const struct timeval *tv, int reset)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	struct pending	*p;
	char		*body;
	size_t		 len;

	if ((p = calloc(1, sizeof *p)) == NULL) {
		reply_str(req, 500, "Internal Server Error",
		    "{\"error\":\"out of memory\",\"status\":500}");
		return;
	}
	p->p_req = req;
	p->p_pit = pit;
	p->p_scroll = scroll;
	p->p_reset = reset;
	p->p_from = p->p_to = -1;
	len = evbuffer_get_length(in);
	if (len > 0 && (body = (char *)evbuffer_pullup(in, -1)) != NULL) {
		char	*s = malloc(len + 1);

		if (s != NULL) {
			memcpy(s, body, len);
			s[len] = '\0';
			p->p_from = find_int(s, "\"gte\"");
			p->p_to = find_int(s, "\"lt\"");
			free(s);
		}
	}
	p->p_ev = evtimer_new(base, search_answer, p);
	evtimer_add(p->p_ev, tv);
	if (++pending_now > pending_peak)
		pending_peak = pending_now;
}

/* A search that gets a fault instead: 1, or 0 for a normal answer. */
static int
search_fault(struct evhttp_request *req, int pit, int scroll)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	enum fault		 f;

	if (fault_pct <= 0 ||
	    (double)(rand64() % 1000000) >= fault_pct * 10000.0)
		return (0);
	f = (enum fault)(rand64() % F_MAX);
	faults[f]++;
	switch (f) {
	case F_429:
		evhttp_add_header(h, "Retry-After", "1");
		reply_str(req, 429, "Too Many Requests",
		    "{\"error\":{\"root_cause\":[{\"type\":"
		    "\"es_rejected_execution_exception\",\"reason\":"
		    "\"rejected execution of coordinating operation\"}],"
		    "\"type\":\"es_rejected_execution_exception\","
		    "\"reason\":\"rejected execution of coordinating "
		    "operation\"},\"status\":429}");
		break;
	case F_503:
		reply_str(req, 503, "Service Unavailable",
		    "{\"error\":{\"root_cause\":[],\"type\":"
		    "\"search_phase_execution_exception\",\"reason\":"
		    "\"all shards failed\",\"phase\":\"query\","
		    "\"grouped\":true,\"failed_shards\":[]},\"status\":503}");
		break;
	case F_500:
		reply_str(req, 500, "Internal Server Error",
		    "{\"error\":{\"root_cause\":[{\"type\":"
		    "\"null_pointer_exception\",\"reason\":\"injected\"}],"
		    "\"type\":\"null_pointer_exception\",\"reason\":"
		    "\"injected\"},\"status\":500}");
		break;
	case F_GARBAGE:
		reply_str(req, HTTP_OK, "OK", "{\"took\":1,\"timed_out\":"
		    "false,\"hits\":{\"total\":{\"value\":10,\"relation\":"
		    "\"eq\"},\"hits\":[{\"_index\":\"logs-bench\",\"_id\":");
		break;
	case F_RESET:
		/* From the loop: not inside evhttp's own callback. */
		search_start(req, pit, scroll, now_tv, 1);
		break;
	case F_SLOW:
		search_start(req, pit, scroll, slow_tv, 0);
		break;
	default:
		return (0);
	}
	return (1);
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t	 n = strlen(s), m = strlen(suffix);

	return (n >= m && strcmp(s + n - m, suffix) == 0);
}

/* Every request. */
static void
route(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*u = evhttp_request_get_evhttp_uri(req);
	const char		*path = evhttp_uri_get_path(u);
	const char		*query = evhttp_uri_get_query(u);
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);
	char			 buf[128];

	(void)arg;
	if (path == NULL || *path == '\0')
		path = "/";
	if (m == EVHTTP_REQ_GET && strcmp(path, "/") == 0) {
		counts[K_IDENTITY]++;
		reply_str(req, HTTP_OK, "OK", identity);
	} else if (m == EVHTTP_REQ_POST && ends_with(path, "/_pit") &&
	    strcmp(path, "/_pit") != 0) {
		counts[K_PIT_OPEN]++;
		snprintf(buf, sizeof buf, "{\"id\":\"pit-%" PRIu64 "\"}",
		    ++ids);
		reply_str(req, HTTP_OK, "OK", buf);
	} else if (m == EVHTTP_REQ_POST && strcmp(path, "/_search/scroll")
	    == 0) {
		counts[K_SCROLL_NEXT]++;
		reply_str(req, HTTP_OK, "OK", "{\"_scroll_id\":\"scroll-end\","
		    "\"took\":0,\"timed_out\":false,\"_shards\":{\"total\":1,"
		    "\"successful\":1,\"skipped\":0,\"failed\":0},\"hits\":"
		    "{\"total\":{\"value\":0,\"relation\":\"eq\"},"
		    "\"max_score\":null,\"hits\":[]}}");
	} else if ((m == EVHTTP_REQ_POST || m == EVHTTP_REQ_GET) &&
	    ends_with(path, "/_search")) {
		counts[K_SEARCH]++;
		if (!search_fault(req, strcmp(path, "/_search") == 0,
		    query != NULL && strstr(query, "scroll=") != NULL))
			search_start(req, strcmp(path, "/_search") == 0,
			    query != NULL && strstr(query, "scroll=") != NULL,
			    delay_tv, 0);
	} else if (m == EVHTTP_REQ_DELETE && strcmp(path, "/_pit") == 0) {
		counts[K_PIT_CLOSE]++;
		reply_str(req, HTTP_OK, "OK",
		    "{\"succeeded\":true,\"num_freed\":1}");
	} else if (m == EVHTTP_REQ_DELETE && strcmp(path, "/_search/scroll")
	    == 0) {
		counts[K_SCROLL_CLEAR]++;
		reply_str(req, HTTP_OK, "OK",
		    "{\"succeeded\":true,\"num_freed\":1}");
	} else {
		counts[K_OTHER]++;
		reply_str(req, HTTP_NOTFOUND, "Not Found",
		    "{\"error\":{\"root_cause\":[{\"type\":"
		    "\"resource_not_found_exception\",\"reason\":"
		    "\"esresponder does not serve this\"}],\"type\":"
		    "\"resource_not_found_exception\",\"reason\":"
		    "\"esresponder does not serve this\"},\"status\":404}");
	}
}

/* A new connection: count it, and make its bufferevent as evhttp would. */
static struct bufferevent *
new_conn(struct event_base *b, void *arg)
{
	(void)arg;
	connections++;
	return (bufferevent_socket_new(b, -1, BEV_OPT_CLOSE_ON_FREE));
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGUSR1) {
		print_counts("counts");
		return;
	}
	print_counts("final");
	event_base_loopbreak(base);
}

/* Raise the open-files limit to the hard limit. */
static void
raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			perror("setrlimit");
	}
}

int
main(int argc, char **argv)
{
	struct evhttp		*http;
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof sin;
	struct timeval		 tv;
	struct event		*sigs[3];
	const int		 signos[3] = { SIGINT, SIGTERM, SIGUSR1 };
	long			 port = 0;
	char			*end;
	int			 ch, fd, one = 1, i;

	while ((ch = getopt(argc, argv, "d:f:n:p:s:S:")) != -1) {
		switch (ch) {
		case 'f':
			fault_pct = strtod(optarg, &end);
			if (*end != '\0' || fault_pct < 0 || fault_pct > 100)
				usage();
			break;
		case 's':
			slow_ms = strtol(optarg, &end, 10);
			if (*end != '\0' || slow_ms < 0 || slow_ms > 3600000)
				usage();
			break;
		case 'S':
			rng = strtoull(optarg, &end, 10);
			if (*end != '\0')
				usage();
			rng = rng * 2 + 1;	/* never 0 */
			break;
		case 'd':
			delay_ms = strtol(optarg, &end, 10);
			if (*end != '\0' || delay_ms < 0 || delay_ms > 3600000)
				usage();
			break;
		case 'n':
			nhits = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || nhits < 0 || nhits > 100000)
				usage();
			break;
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*end != '\0' || port < 0 || port > 65535)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);

	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "event_base_new failed\n");
		return (1);
	}
	/* Every search waits the same time: one O(1) common-timeout queue. */
	tv.tv_sec = delay_ms / 1000;
	tv.tv_usec = (delay_ms % 1000) * 1000;
	delay_tv = event_base_init_common_timeout(base, &tv);
	tv.tv_sec = slow_ms / 1000;
	tv.tv_usec = (slow_ms % 1000) * 1000;
	slow_tv = event_base_init_common_timeout(base, &tv);
	tv.tv_sec = tv.tv_usec = 0;
	now_tv = event_base_init_common_timeout(base, &tv);

	/* Our own socket, for a listen backlog big enough for a burst. */
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
		perror("socket");
		return (1);
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		perror("bind");
		return (1);
	}
	if (listen(fd, 65535) == -1) {
		perror("listen");
		return (1);
	}
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &slen) == -1) {
		perror("getsockname");
		return (1);
	}

	http = evhttp_new(base);
	evhttp_set_timeout(http, 120);
	evhttp_set_max_headers_size(http, 16384);
	evhttp_set_max_body_size(http, 1 << 20);
	evhttp_set_default_content_type(http, "application/json");
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT);
	evhttp_set_bevcb(http, new_conn, NULL);
	evhttp_set_gencb(http, route, NULL);
	if (evhttp_accept_socket_with_handle(http, fd) == NULL) {
		fprintf(stderr, "evhttp_accept_socket failed\n");
		return (1);
	}
	for (i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(base, signos[i], on_signal, NULL);
		event_add(sigs[i], NULL);
	}
	printf("listening 127.0.0.1:%u\n", (unsigned)ntohs(sin.sin_port));
	fflush(stdout);

	event_base_dispatch(base);

	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	evhttp_free(http);
	event_base_free(base);
	return (0);
}
