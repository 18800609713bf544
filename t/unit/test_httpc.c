/*
 * test_httpc.c -- the curl multi client against servers on the same loop.
 *
 * An evhttp server answers the ordinary requests; a hand-written one on
 * bufferevents plays the odd peers (silent, slow, dropping, DELETE with a
 * body).  Both listen on 127.0.0.1, port 0.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

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
#include <event2/listener.h>

#include "buf.h"
#include "httpc.h"
#include "tap.h"
#include "xmalloc.h"

#define BIG_LEN		(1024 * 1024 + 17)
#define NCONC		200
#define NSEQ		20
#define MAXRAW		64

enum raw_mode {
	RAW_ECHO,		/* answer 200 with the request body */
	RAW_SILENT,		/* read the request, never answer */
	RAW_SLOW,		/* headers and 10 of 100000 body bytes */
	RAW_DROP		/* close after the request */
};

/* The hand-written server. */
struct raw {
	struct evconnlistener	*listener;
	int			 port;
	enum raw_mode		 mode;
	int			 nreq;	/* complete requests read */
	struct buf		 head;	/* the last request head */
	struct buf		 body;	/* and its body */
	struct bufferevent	*bevs[MAXRAW];
	int			 nbevs;
};

/* What a test request saw. */
struct ctx {
	int		 heads;
	long		 head_status;
	char		*head_ctype;
	int		 data_before_head;
	int		 chunks;
	struct buf	 body;
	int		 abort_in_head;
	int		 abort_in_data;
	int		 done;
	int		 ok;
	long		 status;
	char		*error;
	int		 timeout;
	char		*ctype;
	char		*retry_after;
	int64_t		 bytes;
	int64_t		 time_us;
	int		 aborted;
	/* Side effects from inside the callbacks. */
	struct httpc_req *cancel_in_data;	/* cancel it from data */
	struct ctx	*start_in_data;		/* start /hello */
	int		 seq_left;		/* start another in done */
};

static struct event_base	*base;
static struct httpc		*hc;
static struct raw		 raw;
static int			 http_port;
static int			 in_start;	/* in httpc_req_start */
static int			 sync_done;	/* done inside start */
static char			*big;		/* BIG_LEN bytes */
static unsigned char		 ports[65536];	/* client ports */
static int			 nports;

/* What the evhttp server saw last on /echo. */
static struct buf		 echo_body = BUF_INIT;
static char			*echo_method;
static char			*echo_xtest;
static char			*echo_auth;
static int			 echo_expect;

static void	 run_until(int *, int, int);

/* Forget a context's results. */
static void
ctx_reset(struct ctx *c)
{
	buf_free(&c->body);
	free(c->head_ctype);
	free(c->error);
	free(c->ctype);
	free(c->retry_after);
	memset(c, 0, sizeof *c);
}

static char *
dup_or_null(const char *s)
{
	return (s != NULL ? xstrdup(s) : NULL);
}

static int
t_head(void *arg, long status, const char *ctype)
{
	struct ctx	*c = arg;

	c->heads++;
	c->head_status = status;
	free(c->head_ctype);
	c->head_ctype = dup_or_null(ctype);
	return (c->abort_in_head ? -1 : 0);
}

static void	t_done(void *, const struct httpc_result *);

/* Start a request; done goes to c. */
static int
start(struct ctx *c, const char *method, const char *url,
    const struct httpc_opts *o, char *body, size_t len, int with_cbs);

static int
t_data(void *arg, const char *p, size_t n)
{
	struct ctx	*c = arg;
	char		 url[64];

	if (c->heads == 0)
		c->data_before_head = 1;
	c->chunks++;
	buf_add(&c->body, p, n);
	if (c->cancel_in_data != NULL) {
		httpc_req_cancel(c->cancel_in_data);
		c->cancel_in_data = NULL;
	}
	if (c->start_in_data != NULL) {
		snprintf(url, sizeof url, "http://127.0.0.1:%d/hello",
		    http_port);
		start(c->start_in_data, "GET", url, NULL, NULL, 0, 1);
		c->start_in_data = NULL;
	}
	return (c->abort_in_data ? -1 : 0);
}

static void
t_done(void *arg, const struct httpc_result *res)
{
	struct ctx	*c = arg;
	char		 url[64];

	if (in_start)
		sync_done++;
	c->done++;
	c->ok = res->hr_ok;
	c->status = res->hr_status;
	c->error = dup_or_null(res->hr_error);
	c->timeout = res->hr_timeout;
	c->ctype = dup_or_null(res->hr_content_type);
	c->retry_after = dup_or_null(res->hr_retry_after);
	c->bytes = res->hr_bytes;
	c->time_us = res->hr_time_us;
	c->aborted = res->hr_aborted;
	if (c->seq_left > 0) {
		c->seq_left--;
		snprintf(url, sizeof url, "http://127.0.0.1:%d/count",
		    http_port);
		c->done = 0;
		buf_reset(&c->body);
		free(c->error);
		free(c->ctype);
		free(c->retry_after);
		c->error = c->ctype = c->retry_after = NULL;
		start(c, "GET", url, NULL, NULL, 0, 1);
	}
}

static int
start(struct ctx *c, const char *method, const char *url,
    const struct httpc_opts *o, char *body, size_t len, int with_cbs)
{
	struct httpc_req	*r;
	int			 rv;

	r = httpc_req_new(hc, method, url);
	if (o != NULL)
		httpc_req_opts(r, o);
	if (body != NULL)
		httpc_req_body(r, body, len);
	in_start = 1;
	rv = httpc_req_start(r, with_cbs ? t_head : NULL,
	    with_cbs ? t_data : NULL, t_done, c);
	in_start = 0;
	return (rv);
}

/* A started request that we keep a handle on (to cancel). */
static struct httpc_req *
start_req(struct ctx *c, const char *url)
{
	struct httpc_req	*r;

	r = httpc_req_new(hc, "GET", url);
	in_start = 1;
	if (httpc_req_start(r, t_head, t_data, t_done, c) == -1)
		bail("httpc_req_start failed");
	in_start = 0;
	return (r);
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
}

/* Run the loop until *flag >= want or secs pass. */
static void
run_until(int *flag, int want, int secs)
{
	time_t	 end = time(NULL) + secs;

	while ((flag == NULL || *flag < want) && time(NULL) < end)
		event_base_loop(base, EVLOOP_ONCE);
}

/* ---- the evhttp server ---- */

static void
note_port(struct evhttp_request *req)
{
	char		*addr;
	ev_uint16_t	 port;

	evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr,
	    &port);
	if (!ports[port]) {
		ports[port] = 1;
		nports++;
	}
}

static void
http_cb(struct evhttp_request *req, void *arg)
{
	const char		*path = evhttp_request_get_uri(req);
	struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	struct evbuffer		*b = evbuffer_new(), *ib;
	const char		*v;
	char			 date[64];
	time_t			 t;
	size_t			 i, n;
	enum evhttp_cmd_type	 cmd;

	(void)arg;
	note_port(req);
	if (strcmp(path, "/hello") == 0) {
		evhttp_add_header(out, "Content-Type", "text/plain");
		evbuffer_add(b, "hello world", 11);
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(path, "/count") == 0) {
		evbuffer_add(b, "ok", 2);
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(path, "/big") == 0) {
		evbuffer_add(b, big, BIG_LEN);
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(path, "/chunked") == 0) {
		evhttp_send_reply_start(req, 200, "OK");
		for (i = 0; i < BIG_LEN; i += n) {
			n = BIG_LEN - i < 8000 ? BIG_LEN - i : 8000;
			evbuffer_add(b, big + i, n);
			evhttp_send_reply_chunk(req, b);
		}
		evhttp_send_reply_end(req);
	} else if (strcmp(path, "/echo") == 0) {
		free(echo_method);
		free(echo_xtest);
		free(echo_auth);
		cmd = evhttp_request_get_command(req);
		echo_method = xstrdup(cmd == EVHTTP_REQ_POST ? "POST" :
		    cmd == EVHTTP_REQ_PUT ? "PUT" : "other");
		echo_xtest = dup_or_null(evhttp_find_header(in, "X-Test"));
		echo_auth = dup_or_null(evhttp_find_header(in,
		    "Authorization"));
		echo_expect = evhttp_find_header(in, "Expect") != NULL;
		ib = evhttp_request_get_input_buffer(req);
		buf_reset(&echo_body);
		n = evbuffer_get_length(ib);
		buf_add(&echo_body, evbuffer_pullup(ib, -1), n);
		evbuffer_add(b, echo_body.b_data, n);
		evhttp_add_header(out, "Content-Type", "application/json");
		evhttp_send_reply(req, 201, "Created", b);
	} else if (strcmp(path, "/retry") == 0) {
		evhttp_add_header(out, "Retry-After", " 120 ");
		evhttp_send_reply(req, 503, "Unavailable", b);
	} else if (strcmp(path, "/retrydate") == 0) {
		t = time(NULL) + 3600;
		strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT",
		    gmtime(&t));
		evhttp_add_header(out, "Retry-After", date);
		evhttp_send_reply(req, 429, "Too Many", b);
	} else if (strcmp(path, "/empty") == 0) {
		evhttp_send_reply(req, 204, "No Content", NULL);
	} else {
		v = "no such path";
		evbuffer_add(b, v, strlen(v));
		evhttp_send_reply(req, 404, "Not Found", b);
	}
	evbuffer_free(b);
}

/* ---- the hand-written server ---- */

static void
raw_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 p;
	const char		*cl;
	char			*head, reply[128];
	size_t			 hlen, blen = 0;
	int			 i;

	(void)arg;
	p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (p.pos < 0)
		return;
	hlen = p.pos + 4;
	head = xstrndup((char *)evbuffer_pullup(in, hlen), hlen);
	if ((cl = strcasestr(head, "\r\nContent-Length:")) != NULL)
		blen = strtoul(cl + 17, NULL, 10);
	if (evbuffer_get_length(in) < hlen + blen) {
		free(head);
		return;
	}
	buf_reset(&raw.head);
	buf_adds(&raw.head, head);
	free(head);
	evbuffer_drain(in, hlen);
	buf_reset(&raw.body);
	buf_add(&raw.body, evbuffer_pullup(in, blen), blen);
	evbuffer_drain(in, blen);
	raw.nreq++;
	switch (raw.mode) {
	case RAW_ECHO:
		snprintf(reply, sizeof reply, "HTTP/1.1 200 OK\r\n"
		    "Content-Length: %zu\r\n\r\n", blen);
		bufferevent_write(bev, reply, strlen(reply));
		bufferevent_write(bev, raw.body.b_data, blen);
		break;
	case RAW_SILENT:
		break;
	case RAW_SLOW:
		snprintf(reply, sizeof reply, "HTTP/1.1 200 OK\r\n"
		    "Content-Type: text/slow\r\n"
		    "Content-Length: 100000\r\n\r\n0123456789");
		bufferevent_write(bev, reply, strlen(reply));
		break;
	case RAW_DROP:
		for (i = 0; i < raw.nbevs; i++)
			if (raw.bevs[i] == bev)
				raw.bevs[i] = NULL;
		bufferevent_free(bev);
		break;
	}
}

static void
raw_event_cb(struct bufferevent *bev, short what, void *arg)
{
	int	 i;

	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		for (i = 0; i < raw.nbevs; i++)
			if (raw.bevs[i] == bev)
				raw.bevs[i] = NULL;
		bufferevent_free(bev);
	}
}

static void
raw_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct bufferevent	*bev;

	(void)l;
	(void)sa;
	(void)salen;
	(void)arg;
	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (raw.nbevs == MAXRAW)
		bail("too many raw connections");
	raw.bevs[raw.nbevs++] = bev;
	bufferevent_setcb(bev, raw_read_cb, NULL, raw_event_cb, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* Close every connection of the raw server. */
static void
raw_close_all(void)
{
	int	 i;

	for (i = 0; i < raw.nbevs; i++)
		if (raw.bevs[i] != NULL)
			bufferevent_free(raw.bevs[i]);
	raw.nbevs = 0;
}

static int
fd_port(evutil_socket_t fd)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;

	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		bail("getsockname");
	return (ntohs(sin.sin_port));
}

/* A port where nobody listens. */
static int
closed_port(void)
{
	struct sockaddr_in	 sin;
	int			 fd, port;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		bail("socket");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1)
		bail("bind");
	port = fd_port(fd);
	close(fd);
	return (port);
}

/* ---- the tests ---- */

static char *
url(int port, const char *path)
{
	static char	 u[128];

	snprintf(u, sizeof u, "http://127.0.0.1:%d%s", port, path);
	return (u);
}

static void
test_get(void)
{
	struct ctx	 c = { 0 };

	ok(start(&c, "GET", url(http_port, "/hello"), NULL, NULL, 0, 1) == 0,
	    "start GET");
	is_int(0, c.done, "done not called inside start");
	is_int(1, (int64_t)httpc_running(hc), "one running");
	run_until(&c.done, 1, 30);
	is_int(1, c.done, "GET done once");
	ok(c.ok, "GET ok");
	is_int(200, c.status, "GET status 200");
	is_int(1, c.heads, "head called once");
	is_int(200, c.head_status, "head saw 200");
	is_string("text/plain", c.head_ctype, "head saw the content type");
	ok(!c.data_before_head, "head before data");
	is_int(11, (int64_t)c.body.b_len, "body length");
	is_blob("hello world", c.body.b_data, 11, "body");
	is_int(11, c.bytes, "hr_bytes");
	is_string("text/plain", c.ctype, "hr_content_type");
	ok(c.error == NULL, "no error");
	ok(c.retry_after == NULL, "no retry-after");
	ok(c.time_us > 0, "time measured");
	is_int(0, (int64_t)httpc_running(hc), "nothing running after");
	ctx_reset(&c);

	start(&c, "GET", url(http_port, "/big"), NULL, NULL, 0, 1);
	run_until(&c.done, 1, 60);
	ok(c.done == 1 && c.ok && c.status == 200, "big GET ok");
	ok(c.body.b_len == BIG_LEN &&
	    memcmp(c.body.b_data, big, BIG_LEN) == 0,
	    "big body chunks concatenate to what was sent");
	ok(c.chunks > 1, "big body came in %d chunks", c.chunks);
	ctx_reset(&c);

	start(&c, "GET", url(http_port, "/chunked"), NULL, NULL, 0, 1);
	run_until(&c.done, 1, 60);
	ok(c.done == 1 && c.ok && c.status == 200, "chunked GET ok");
	ok(c.body.b_len == BIG_LEN &&
	    memcmp(c.body.b_data, big, BIG_LEN) == 0,
	    "chunked body streamed intact");
	ctx_reset(&c);

	start(&c, "HEAD", url(http_port, "/hello"), NULL, NULL, 0, 1);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && c.ok && c.status == 200, "HEAD ok");
	ok(c.heads == 1 && c.bytes == 0 && c.chunks == 0,
	    "HEAD: head, no body");
	ctx_reset(&c);

	start(&c, "GET", url(http_port, "/empty"), NULL, NULL, 0, 1);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && c.ok && c.status == 204 && c.heads == 1,
	    "204: head called for an empty body");
	ctx_reset(&c);

	start(&c, "GET", url(http_port, "/nope"), NULL, NULL, 0, 1);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && c.ok && c.status == 404 && c.error == NULL,
	    "404 is a completed transfer");
	ctx_reset(&c);

	/* Detached: no head or data callbacks. */
	start(&c, "GET", url(http_port, "/hello"), NULL, NULL, 0, 0);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && c.ok && c.bytes == 11 && c.heads == 0 &&
	    c.chunks == 0, "detached request completes");
	ctx_reset(&c);
}

static void
test_bodies(void)
{
	struct ctx		 c = { 0 };
	struct httpc_req	*r;
	struct httpc_opts	 o;
	char			*body;
	size_t			 n = 2 * 1024 * 1024 + 3;

	memset(&o, 0, sizeof o);
	o.ho_user = "user";
	o.ho_password = "pass";
	r = httpc_req_new(hc, "POST", url(http_port, "/echo"));
	httpc_req_opts(r, &o);
	httpc_req_header(r, "X-Test: yes");
	httpc_req_header(r, "Content-Type: application/json");
	httpc_req_body(r, xstrdup("{\"a\":1}"), 7);
	in_start = 1;
	ok(httpc_req_start(r, t_head, t_data, t_done, &c) == 0, "start POST");
	in_start = 0;
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && c.ok, "POST done ok");
	is_int(201, c.status, "POST status 201");
	is_string("POST", echo_method, "server saw POST");
	is_int(7, (int64_t)echo_body.b_len, "server saw the body length");
	is_blob("{\"a\":1}", echo_body.b_data, 7, "server saw the body");
	is_string("yes", echo_xtest, "server saw the custom header");
	is_string("Basic dXNlcjpwYXNz", echo_auth, "server saw basic auth");
	is_string("application/json", c.ctype, "response content type");
	ok(c.body.b_len == 7 && memcmp(c.body.b_data, "{\"a\":1}", 7) == 0,
	    "echoed body received");
	ctx_reset(&c);

	/* A large body: no Expect: 100-continue. */
	body = xmalloc(n);
	memset(body, 'x', n);
	start(&c, "PUT", url(http_port, "/echo"), NULL, body, n, 1);
	run_until(&c.done, 1, 60);
	ok(c.done == 1 && c.ok && c.status == 201, "2 MiB PUT ok");
	is_string("PUT", echo_method, "server saw PUT");
	is_int((int64_t)n, (int64_t)echo_body.b_len, "server got 2 MiB");
	ok(!echo_expect, "no Expect header sent");
	ctx_reset(&c);

	/* DELETE with a body, to the raw server. */
	raw.mode = RAW_ECHO;
	start(&c, "DELETE", url(raw.port, "/_pit"), NULL,
	    xstrdup("{\"id\":\"abc\"}"), 12, 1);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && c.ok && c.status == 200, "DELETE done ok");
	ok(strncmp(raw.head.b_data, "DELETE /_pit HTTP/1.1\r\n", 23) == 0,
	    "server saw DELETE over HTTP/1.1");
	ok(raw.body.b_len == 12 &&
	    memcmp(raw.body.b_data, "{\"id\":\"abc\"}", 12) == 0,
	    "server saw the DELETE body");
	ok(c.body.b_len == 12, "DELETE response body");
	ctx_reset(&c);
	raw_close_all();
}

static void
test_failures(void)
{
	struct ctx		 c = { 0 };
	struct httpc_opts	 o;
	int			 n;

	start(&c, "GET", url(closed_port(), "/"), NULL, NULL, 0, 1);
	is_int(0, c.done, "refused: not done inside start");
	run_until(&c.done, 1, 30);
	is_int(1, c.done, "refused: done once");
	ok(!c.ok && c.error != NULL, "refused: error %s",
	    c.error != NULL ? c.error : "(none)");
	ok(!c.timeout && c.status == 0 && c.heads == 0,
	    "refused: no timeout, no status");
	ctx_reset(&c);

	start(&c, "GET", "http://[::1", NULL, NULL, 0, 1);
	is_int(0, c.done, "bad url: not done inside start");
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && !c.ok && c.error != NULL, "bad url: error %s",
	    c.error != NULL ? c.error : "(none)");
	ctx_reset(&c);

	start(&c, "GET", "ftp://127.0.0.1/", NULL, NULL, 0, 1);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && !c.ok && c.error != NULL,
	    "ftp refused: error %s", c.error != NULL ? c.error : "(none)");
	ctx_reset(&c);

	/* Total timeout: the server never answers. */
	memset(&o, 0, sizeof o);
	o.ho_timeout_ms = 300;
	raw.mode = RAW_SILENT;
	start(&c, "GET", url(raw.port, "/silent"), &o, NULL, 0, 1);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && !c.ok, "silent server: failed");
	ok(c.timeout, "silent server: hr_timeout");
	ok(c.error != NULL, "silent server: error %s",
	    c.error != NULL ? c.error : "(none)");
	ctx_reset(&c);

	/* Slow body: headers, a little, then nothing. */
	o.ho_timeout_ms = 500;
	raw.mode = RAW_SLOW;
	start(&c, "GET", url(raw.port, "/slow"), &o, NULL, 0, 1);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && !c.ok && c.timeout, "slow body: timeout");
	ok(c.heads == 1 && c.head_status == 200 && c.status == 200,
	    "slow body: head seen");
	is_string("text/slow", c.head_ctype, "slow body: content type");
	is_int(10, c.bytes, "slow body: the bytes that came");
	ctx_reset(&c);

	/* The server drops the connection. */
	raw.mode = RAW_DROP;
	n = raw.nreq;
	start(&c, "GET", url(raw.port, "/drop"), NULL, NULL, 0, 1);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && !c.ok && !c.timeout && c.error != NULL,
	    "dropped connection: error %s", c.error != NULL ? c.error :
	    "(none)");
	ok(raw.nreq > n, "dropped connection: request was read");
	ctx_reset(&c);
	raw_close_all();

	/* Body cap, known from Content-Length and while streaming. */
	memset(&o, 0, sizeof o);
	o.ho_max_bytes = 100000;
	start(&c, "GET", url(http_port, "/big"), &o, NULL, 0, 1);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && !c.ok && c.error != NULL &&
	    strstr(c.error, "100000") != NULL, "max bytes (length): %s",
	    c.error != NULL ? c.error : "(none)");
	ok(c.bytes <= 100000, "max bytes (length): no more than the cap");
	ctx_reset(&c);
	start(&c, "GET", url(http_port, "/chunked"), &o, NULL, 0, 1);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && !c.ok && c.error != NULL &&
	    strstr(c.error, "100000") != NULL, "max bytes (chunked): %s",
	    c.error != NULL ? c.error : "(none)");
	ok(c.bytes <= 100000 && c.body.b_len == (size_t)c.bytes,
	    "max bytes (chunked): %lld bytes delivered",
	    (long long)c.bytes);
	ok(!c.aborted, "max bytes is not an abort");
	ctx_reset(&c);
}

static void
test_retry_after(void)
{
	struct ctx	 c = { 0 };
	long long	 v;

	start(&c, "GET", url(http_port, "/retry"), NULL, NULL, 0, 1);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && c.ok && c.status == 503, "503 completed");
	is_string("120", c.retry_after, "Retry-After delta seconds");
	ctx_reset(&c);

	start(&c, "GET", url(http_port, "/retrydate"), NULL, NULL, 0, 1);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && c.ok && c.status == 429, "429 completed");
	v = c.retry_after != NULL ? atoll(c.retry_after) : -1;
	ok(v > 3000 && v <= 3600, "Retry-After date as seconds: %s",
	    c.retry_after != NULL ? c.retry_after : "(none)");
	ctx_reset(&c);
}

static void
test_cancel_abort(void)
{
	struct ctx		 c = { 0 }, c2 = { 0 }, c3 = { 0 };
	struct httpc_req	*r;
	int			 n, zero = 0;

	raw.mode = RAW_SILENT;
	n = raw.nreq;
	r = start_req(&c, url(raw.port, "/silent"));
	n++;
	run_until(&raw.nreq, n, 30);
	ok(raw.nreq == n, "silent server got the request");
	httpc_req_cancel(r);
	is_int(0, (int64_t)httpc_running(hc), "cancel: nothing running");
	run_until(&zero, 1, 1);
	is_int(0, c.done, "cancel: no done");
	ctx_reset(&c);

	/* Abort from the data callback. */
	c.abort_in_data = 1;
	start(&c, "GET", url(http_port, "/big"), NULL, NULL, 0, 1);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && c.aborted && !c.ok, "data abort: aborted");
	is_int(1, c.chunks, "data abort: no chunk after the abort");
	ok(c.error != NULL, "data abort: error %s",
	    c.error != NULL ? c.error : "(none)");
	ctx_reset(&c);

	/* Abort from the head callback. */
	c.abort_in_head = 1;
	start(&c, "GET", url(http_port, "/big"), NULL, NULL, 0, 1);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && c.aborted && !c.ok && c.chunks == 0,
	    "head abort: aborted before any data");
	ctx_reset(&c);

	/* Inside a data callback: cancel another, start another. */
	n = raw.nreq;
	r = start_req(&c2, url(raw.port, "/silent"));
	run_until(&raw.nreq, n + 1, 30);
	c.cancel_in_data = r;
	c.start_in_data = &c3;
	start(&c, "GET", url(http_port, "/big"), NULL, NULL, 0, 1);
	run_until(&c3.done, 1, 30);
	run_until(&c.done, 1, 30);
	ok(c.done == 1 && c.ok, "request with side effects completed");
	ok(c3.done == 1 && c3.ok && c3.body.b_len == 11,
	    "request started inside a data callback completed");
	run_until(&zero, 1, 1);
	is_int(0, c2.done, "cancelled inside a data callback: no done");
	is_int(0, (int64_t)httpc_running(hc), "nothing running");
	ctx_reset(&c);
	ctx_reset(&c2);
	ctx_reset(&c3);
	raw_close_all();
}

static void
test_many(void)
{
	struct ctx	*cs, seq = { 0 };
	int		 i, ndone, nok, first;

	cs = xcalloc(NCONC, sizeof *cs);
	memset(ports, 0, sizeof ports);
	nports = 0;
	for (i = 0; i < NCONC; i++)
		if (start(&cs[i], "GET", url(http_port, "/count"), NULL, NULL,
		    0, 1) == -1)
			break;
	is_int(NCONC, i, "%d started", NCONC);
	is_int(NCONC, (int64_t)httpc_running(hc), "%d running", NCONC);
	ndone = 0;
	{
		time_t	 end = time(NULL) + 120;

		while (ndone < NCONC && time(NULL) < end) {
			event_base_loop(base, EVLOOP_ONCE);
			for (ndone = i = 0; i < NCONC; i++)
				ndone += cs[i].done;
		}
	}
	nok = 0;
	for (i = 0; i < NCONC; i++)
		if (cs[i].done == 1 && cs[i].ok && cs[i].status == 200 &&
		    cs[i].body.b_len == 2)
			nok++;
	is_int(NCONC, nok, "all %d concurrent requests completed", NCONC);
	is_int(0, (int64_t)httpc_running(hc), "none running");
	first = nports;
	diag("%d connections for %d concurrent requests", first, NCONC);

	/* The same again: the cached connections are reused. */
	for (i = 0; i < NCONC; i++) {
		ctx_reset(&cs[i]);
		start(&cs[i], "GET", url(http_port, "/count"), NULL, NULL, 0,
		    1);
	}
	{
		time_t	 end = time(NULL) + 120;

		ndone = 0;
		while (ndone < NCONC && time(NULL) < end) {
			event_base_loop(base, EVLOOP_ONCE);
			for (ndone = i = 0; i < NCONC; i++)
				ndone += cs[i].done;
		}
	}
	is_int(NCONC, ndone, "second batch completed");
	diag("%d connections for %d requests in two batches", nports,
	    2 * NCONC);
	ok(nports < 2 * NCONC, "keep-alive: %d connections for %d requests",
	    nports, 2 * NCONC);
	for (i = 0; i < NCONC; i++)
		ctx_reset(&cs[i]);
	free(cs);

	/* One after another, each started from the previous done. */
	memset(ports, 0, sizeof ports);
	nports = 0;
	seq.seq_left = NSEQ - 1;
	start(&seq, "GET", url(http_port, "/count"), NULL, NULL, 0, 1);
	{
		time_t	 end = time(NULL) + 60;

		while ((seq.seq_left > 0 || seq.done == 0) &&
		    time(NULL) < end)
			event_base_loop(base, EVLOOP_ONCE);
	}
	ok(seq.seq_left == 0 && seq.done == 1 && seq.ok,
	    "%d sequential requests completed", NSEQ);
	if (!seq.ok || seq.done != 1)
		diag("left %d done %d status %ld error %s", seq.seq_left,
		    seq.done, seq.status, seq.error ? seq.error : "-");
	diag("%d connections for %d sequential requests", nports, NSEQ);
	ok(nports < NSEQ, "sequential keep-alive: %d connections for %d "
	    "requests", nports, NSEQ);
	ctx_reset(&seq);
}

static void
test_free_in_flight(void)
{
	struct ctx	 c = { 0 }, c2 = { 0 };
	int		 n;

	raw.mode = RAW_SILENT;
	n = raw.nreq;
	start(&c, "GET", url(raw.port, "/silent"), NULL, NULL, 0, 1);
	start(&c2, "GET", url(raw.port, "/silent2"), NULL, NULL, 0, 1);
	run_until(&raw.nreq, n + 2, 30);
	is_int(2, (int64_t)httpc_running(hc), "two in flight before free");
	httpc_free(hc);
	hc = NULL;
	is_int(0, c.done, "free: no done for the silent request");
	is_int(0, c2.done, "free: no done for the other");
	ctx_reset(&c);
	ctx_reset(&c2);
}

int
main(void)
{
	struct evhttp		*http;
	struct evhttp_bound_socket *bs;
	struct event		*tick;
	struct timeval		 tv = { 0, 100000 };
	struct sockaddr_in	 sin;
	size_t			 i;

	signal(SIGPIPE, SIG_IGN);
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	plan(95);

	big = xmalloc(BIG_LEN);
	for (i = 0; i < BIG_LEN; i++)
		big[i] = 'a' + (i * 7 + i / 4096) % 26;

	if ((base = event_base_new()) == NULL)
		bail("event_base_new");
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick, &tv);

	http = evhttp_new(base);
	evhttp_set_gencb(http, http_cb, NULL);
	if ((bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0)) ==
	    NULL)
		bail("evhttp_bind_socket");
	http_port = fd_port(evhttp_bound_socket_get_fd(bs));

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	raw.listener = evconnlistener_new_bind(base, raw_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
	    (struct sockaddr *)&sin, sizeof sin);
	if (raw.listener == NULL)
		bail("evconnlistener_new_bind");
	raw.port = fd_port(evconnlistener_get_fd(raw.listener));

	hc = httpc_new(base);
	is_int(0, (int64_t)httpc_running(hc), "new: nothing running");

	test_get();
	test_bodies();
	test_failures();
	test_retry_after();
	test_cancel_abort();
	test_many();
	test_free_in_flight();
	is_int(0, sync_done, "done never called from inside start");

	raw_close_all();
	evconnlistener_free(raw.listener);
	evhttp_free(http);
	event_free(tick);
	event_base_free(base);
	buf_free(&raw.head);
	buf_free(&raw.body);
	buf_free(&echo_body);
	free(echo_method);
	free(echo_xtest);
	free(echo_auth);
	free(big);
	return (test_done());
}
