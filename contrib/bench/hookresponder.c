/*
 * hookresponder.c -- a fast webhook receiver for notifybench: answers
 * every request with 200 {"ok":true} (HTTP/1.1, keep-alive) and counts
 * the requests and body bytes.  Prints "listening 127.0.0.1:PORT";
 * SIGTERM/SIGINT print "requests N bytes B" and exit.
 *
 * A standalone program (libevent only); needs no configure.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

static unsigned long long	 nreq, nbytes;

static void
hook_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*out;

	(void)arg;
	nreq++;
	nbytes += evbuffer_get_length(evhttp_request_get_input_buffer(req));
	out = evbuffer_new();
	evbuffer_add(out, "{\"ok\":true}", 11);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void
stop_cb(evutil_socket_t sig, short ev, void *arg)
{
	(void)sig;
	(void)ev;
	printf("requests %llu bytes %llu\n", nreq, nbytes);
	fflush(stdout);
	event_base_loopbreak(arg);
}

int
main(void)
{
	struct event_base		*base;
	struct evhttp			*http;
	struct evhttp_bound_socket	*bs;
	struct event			*sterm, *sint;
	struct sockaddr_storage		 ss;
	ev_socklen_t			 sl = sizeof ss;
	char				 host[64];

	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL ||
	    (http = evhttp_new(base)) == NULL)
		return (1);
	evhttp_set_gencb(http, hook_cb, NULL);
	evhttp_set_max_body_size(http, 16 * 1024 * 1024);
	if ((bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0)) ==
	    NULL)
		return (1);
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
	    &sl);
	evutil_inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
	    host, sizeof host);
	printf("listening %s:%d\n", host,
	    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	fflush(stdout);
	sterm = evsignal_new(base, SIGTERM, stop_cb, base);
	sint = evsignal_new(base, SIGINT, stop_cb, base);
	evsignal_add(sterm, NULL);
	evsignal_add(sint, NULL);
	event_base_dispatch(base);
	event_free(sterm);
	event_free(sint);
	evhttp_free(http);
	event_base_free(base);
	return (0);
}
