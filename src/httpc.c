/*
 * httpc.c -- HTTP client transfers on the event loop (curl multi).
 *
 * The glue follows curl's hiperfifo example: curl tells us which sockets
 * to watch (httpc_sock_cb) and when to wake it (httpc_timer_cb); libevent
 * tells curl when a socket is ready or the timer fired, and after every
 * curl_multi_socket_action the finished transfers are collected from
 * curl_multi_info_read.  Nothing of curl's multi API is called from inside
 * a curl callback: starts and cancels made from there are deferred.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <curl/curl.h>

#include "httpc.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define HTTPC_MAXCONNECTS	16384	/* idle connections kept: past this
					   curl closes and reopens them */

/* One socket curl asked us to watch. */
struct httpc_sock {
	struct event		*hs_ev;
	curl_socket_t		 hs_fd;
	LIST_ENTRY(httpc_sock)	 hs_entry;
};

enum httpc_state {
	HTTPC_NEW,		/* built, not started */
	HTTPC_PENDING,		/* started, not yet in the multi */
	HTTPC_RUNNING,		/* in the multi */
	HTTPC_ZOMBIE		/* cancelled inside a curl callback */
};

struct httpc_req {
	struct httpc		*hr_httpc;
	enum httpc_state	 hr_state;
	TAILQ_ENTRY(httpc_req)	 hr_entry;

	char			*hr_method;
	char			*hr_url;
	struct curl_slist	*hr_headers;
	char			*hr_body;
	size_t			 hr_body_len;
	struct httpc_opts	 hr_opts;	/* strings are our copies */

	httpc_head_cb		 hr_head_cb;
	httpc_data_cb		 hr_data_cb;
	httpc_done_cb		 hr_done_cb;
	void			*hr_arg;

	CURL			*hr_easy;
	char			 hr_errbuf[CURL_ERROR_SIZE];
	int64_t			 hr_start_us;
	int64_t			 hr_bytes;
	long			 hr_status;
	char			*hr_retry_after;	/* header value */
	int			 hr_head_done;
	int			 hr_aborted;
	int			 hr_too_big;
};

TAILQ_HEAD(httpc_reqs, httpc_req);

struct httpc {
	struct event_base	*h_base;
	CURLM			*h_multi;
	struct event		*h_timer;	/* curl's timeout */
	struct event		*h_defer;	/* adds, reaping */
	int			 h_running;	/* curl's count */
	int			 h_depth;	/* inside socket_action */
	size_t			 h_zombies;	/* cancelled inside callbacks */
	size_t			 h_count;	/* in flight */
	struct httpc_reqs	 h_reqs;	/* every started request */
	LIST_HEAD(, httpc_sock)	 h_socks;
};

static int	httpc_sock_cb(CURL *, curl_socket_t, int, void *, void *);
static int	httpc_timer_cb(CURLM *, long, void *);
static void	httpc_event_cb(evutil_socket_t, short, void *);
static void	httpc_timeout_cb(evutil_socket_t, short, void *);
static void	httpc_defer_cb(evutil_socket_t, short, void *);
static void	httpc_action(struct httpc *, curl_socket_t, int);
static void	httpc_drain(struct httpc *);
static void	httpc_reap(struct httpc *);
static void	httpc_finish(struct httpc_req *, CURLcode);
static void	httpc_fail(struct httpc_req *, const char *);
static int	httpc_add(struct httpc_req *);
static int	httpc_setup(struct httpc_req *);
static void	httpc_defer(struct httpc *);
static void	httpc_release(struct httpc_req *);
static size_t	httpc_header_fn(char *, size_t, size_t, void *);
static size_t	httpc_write_fn(char *, size_t, size_t, void *);
static int	httpc_head(struct httpc_req *);
static void	httpc_retry_after(const char *, char *, size_t);
static int64_t	httpc_now_us(void);
static char	*httpc_strdup(const char *);

/* Monotonic microseconds, for the duration of a transfer. */
static int64_t
httpc_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/* Copy a string that may be NULL. */
static char *
httpc_strdup(const char *s)
{
	return (s != NULL ? xstrdup(s) : NULL);
}

/* The multi handle on base. */
struct httpc *
httpc_new(struct event_base *base)
{
	static int	 inited;
	struct httpc	*h;

	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			fatalx("curl_global_init failed");
		inited = 1;
	}
	h = xcalloc(1, sizeof *h);
	h->h_base = base;
	TAILQ_INIT(&h->h_reqs);
	LIST_INIT(&h->h_socks);
	if ((h->h_multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	h->h_timer = evtimer_new(base, httpc_timeout_cb, h);
	h->h_defer = evtimer_new(base, httpc_defer_cb, h);
	if (h->h_timer == NULL || h->h_defer == NULL)
		fatalx("httpc_new: evtimer_new failed");
	curl_multi_setopt(h->h_multi, CURLMOPT_SOCKETFUNCTION, httpc_sock_cb);
	curl_multi_setopt(h->h_multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->h_multi, CURLMOPT_TIMERFUNCTION, httpc_timer_cb);
	curl_multi_setopt(h->h_multi, CURLMOPT_TIMERDATA, h);
	curl_multi_setopt(h->h_multi, CURLMOPT_MAXCONNECTS,
	    (long)HTTPC_MAXCONNECTS);
	curl_multi_setopt(h->h_multi, CURLMOPT_PIPELINING,
	    (long)CURLPIPE_NOTHING);
	return (h);
}

/* Cancel everything in flight (no callbacks) and free. */
void
httpc_free(struct httpc *h)
{
	struct httpc_req	*r;
	struct httpc_sock	*s;

	if (h == NULL)
		return;
	while ((r = TAILQ_FIRST(&h->h_reqs)) != NULL)
		httpc_release(r);
	/* Closes the cached connections; the socket callback may run. */
	curl_multi_cleanup(h->h_multi);
	while ((s = LIST_FIRST(&h->h_socks)) != NULL) {
		LIST_REMOVE(s, hs_entry);
		event_free(s->hs_ev);
		free(s);
	}
	event_free(h->h_timer);
	event_free(h->h_defer);
	free(h);
}

/* Transfers under way. */
size_t
httpc_running(const struct httpc *h)
{
	return (h->h_count);
}

/* CURLMOPT_SOCKETFUNCTION: watch, re-watch or forget a socket. */
static int
httpc_sock_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct httpc		*h = arg;
	struct httpc_sock	*s = sockp;
	short			 kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			LIST_REMOVE(s, hs_entry);
			event_free(s->hs_ev);
			free(s);
		}
		curl_multi_assign(h->h_multi, fd, NULL);
		return (0);
	}
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->hs_fd = fd;
		if ((s->hs_ev = event_new(h->h_base, fd, kind, httpc_event_cb,
		    h)) == NULL)
			fatalx("httpc: event_new failed");
		LIST_INSERT_HEAD(&h->h_socks, s, hs_entry);
		curl_multi_assign(h->h_multi, fd, s);
	} else {
		event_del(s->hs_ev);
		event_assign(s->hs_ev, h->h_base, fd, kind, httpc_event_cb, h);
	}
	/* CURL_POLL_NONE: keep the context, watch nothing. */
	if (kind & (EV_READ | EV_WRITE))
		event_add(s->hs_ev, NULL);
	return (0);
}

/*
 * CURLMOPT_TIMERFUNCTION: -1 stops the timer; anything else, zero
 * included, re-arms it.  curl is never called from here.
 */
static int
httpc_timer_cb(CURLM *multi, long ms, void *arg)
{
	struct httpc	*h = arg;
	struct timeval	 tv;

	(void)multi;
	if (ms < 0) {
		evtimer_del(h->h_timer);
		return (0);
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(h->h_timer, &tv);
	return (0);
}

/* libevent: a socket curl watches is ready. */
static void
httpc_event_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct httpc	*h = arg;
	int		 act = 0;

	if (kind & EV_READ)
		act |= CURL_CSELECT_IN;
	if (kind & EV_WRITE)
		act |= CURL_CSELECT_OUT;
	httpc_action(h, fd, act);
}

/* libevent: curl's timer expired. */
static void
httpc_timeout_cb(evutil_socket_t fd, short kind, void *arg)
{
	(void)fd;
	(void)kind;
	httpc_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* Let curl act, then collect what finished. */
static void
httpc_action(struct httpc *h, curl_socket_t fd, int act)
{
	CURLMcode	 mc;

	h->h_depth++;
	mc = curl_multi_socket_action(h->h_multi, fd, act, &h->h_running);
	h->h_depth--;
	if (mc != CURLM_OK)
		log_warnx("httpc: curl_multi_socket_action: %s",
		    curl_multi_strerror(mc));
	httpc_drain(h);
	httpc_reap(h);
	/*
	 * Unlike hiperfifo, the timer is not stopped when curl reports no
	 * transfers: a done callback may just have added one, arming it.
	 */
}

/* Hand every finished transfer to its done callback. */
static void
httpc_drain(struct httpc *h)
{
	CURLMsg			*msg;
	struct httpc_req	*r;
	char			*priv;
	int			 left;

	while ((msg = curl_multi_info_read(h->h_multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		if ((r = (struct httpc_req *)priv) == NULL)
			continue;
		/* Removing invalidates msg: take the code first. */
		httpc_finish(r, msg->data.result);
	}
}

/* Free the requests cancelled from inside curl callbacks. */
static void
httpc_reap(struct httpc *h)
{
	struct httpc_req	*r, *next;

	if (h->h_depth > 0 || h->h_zombies == 0)
		return;		/* the walk costs O(requests): only when needed */
	h->h_zombies = 0;
	for (r = TAILQ_FIRST(&h->h_reqs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, hr_entry);
		if (r->hr_state == HTTPC_ZOMBIE)
			httpc_release(r);
	}
}

/* Turn a Retry-After value into delta seconds ("" if unusable). */
static void
httpc_retry_after(const char *v, char *out, size_t len)
{
	int64_t		 secs;
	time_t		 when;
	size_t		 n;

	out[0] = '\0';
	n = strlen(v);
	if (n > 0 && util_parse_int64(v, n, &secs) == 0) {
		if (secs < 0)
			secs = 0;
		snprintf(out, len, "%" PRId64, secs);
		return;
	}
	if ((when = curl_getdate(v, NULL)) == -1)
		return;
	secs = (int64_t)when - util_now();
	if (secs < 0)
		secs = 0;
	snprintf(out, len, "%" PRId64, secs);
}

/* The "Expire date" of the server's own certificate, or NULL. */
static const char *
httpc_cert_expire(CURL *e)
{
	struct curl_certinfo	*ci = NULL;
	struct curl_slist	*l;

	if (curl_easy_getinfo(e, CURLINFO_CERTINFO, &ci) != CURLE_OK ||
	    ci == NULL || ci->num_of_certs < 1)
		return (NULL);
	for (l = ci->certinfo[0]; l != NULL; l = l->next) {
		if (strncasecmp(l->data, "Expire date:", 12) == 0)
			return (l->data + 12);
	}
	return (NULL);
}

/* The transfer is over: report, unless cancelled, and free. */
static void
httpc_finish(struct httpc_req *r, CURLcode code)
{
	struct httpc		*h = r->hr_httpc;
	struct httpc_result	 res;
	char			*ctype = NULL, ra[32], *err = NULL;

	if (r->hr_state == HTTPC_ZOMBIE) {
		httpc_release(r);
		return;
	}
	memset(&res, 0, sizeof res);
	res.hr_ok = code == CURLE_OK;
	curl_easy_getinfo(r->hr_easy, CURLINFO_RESPONSE_CODE, &res.hr_status);
	if (curl_easy_getinfo(r->hr_easy, CURLINFO_CONTENT_TYPE, &ctype) ==
	    CURLE_OK)
		res.hr_content_type = ctype;
	if (r->hr_retry_after != NULL) {
		httpc_retry_after(r->hr_retry_after, ra, sizeof ra);
		if (ra[0] != '\0')
			res.hr_retry_after = ra;
	}
	res.hr_bytes = r->hr_bytes;
	res.hr_time_us = httpc_now_us() - r->hr_start_us;
	res.hr_aborted = r->hr_aborted;
	if (r->hr_opts.ho_certinfo)
		res.hr_cert_expire = httpc_cert_expire(r->hr_easy);
	if (r->hr_too_big || code == CURLE_FILESIZE_EXCEEDED) {
		res.hr_ok = 0;
		err = xprintf("the response body is larger than the limit "
		    "of %" PRId64 " bytes", r->hr_opts.ho_max_bytes);
		res.hr_error = err;
	} else if (r->hr_aborted) {
		res.hr_ok = 0;
		res.hr_error = "the request was aborted";
	} else if (code != CURLE_OK) {
		res.hr_timeout = code == CURLE_OPERATION_TIMEDOUT;
		res.hr_error = r->hr_errbuf[0] != '\0' ? r->hr_errbuf :
		    curl_easy_strerror(code);
	}
	/* Out of the multi before the callback: it may start another. */
	curl_multi_remove_handle(h->h_multi, r->hr_easy);
	r->hr_state = HTTPC_NEW;
	TAILQ_REMOVE(&h->h_reqs, r, hr_entry);
	h->h_count--;
	if (r->hr_done_cb != NULL)
		r->hr_done_cb(r->hr_arg, &res);
	free(err);
	httpc_req_free(r);
}

/* Report a failure that curl never saw (deferred add refused). */
static void
httpc_fail(struct httpc_req *r, const char *why)
{
	struct httpc		*h = r->hr_httpc;
	struct httpc_result	 res;

	memset(&res, 0, sizeof res);
	res.hr_error = why;
	res.hr_time_us = httpc_now_us() - r->hr_start_us;
	TAILQ_REMOVE(&h->h_reqs, r, hr_entry);
	h->h_count--;
	r->hr_state = HTTPC_NEW;
	if (r->hr_done_cb != NULL)
		r->hr_done_cb(r->hr_arg, &res);
	httpc_req_free(r);
}

/* Take a started request out of httpc without callbacks, and free it. */
static void
httpc_release(struct httpc_req *r)
{
	struct httpc	*h = r->hr_httpc;

	if (r->hr_state == HTTPC_RUNNING || r->hr_state == HTTPC_ZOMBIE)
		curl_multi_remove_handle(h->h_multi, r->hr_easy);
	if (r->hr_state != HTTPC_ZOMBIE)
		h->h_count--;
	TAILQ_REMOVE(&h->h_reqs, r, hr_entry);
	r->hr_state = HTTPC_NEW;
	httpc_req_free(r);
}

/* Arm the deferred work event to run on the next loop turn. */
static void
httpc_defer(struct httpc *h)
{
	struct timeval	 tv = { 0, 0 };

	evtimer_add(h->h_defer, &tv);
}

/* Deferred: add the pending requests, free the zombies. */
static void
httpc_defer_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct httpc		*h = arg;
	struct httpc_req	*r;

	(void)fd;
	(void)kind;
again:
	TAILQ_FOREACH(r, &h->h_reqs, hr_entry) {
		if (r->hr_state == HTTPC_PENDING && httpc_add(r) == -1) {
			/* The callback may change the list: start over. */
			httpc_fail(r, "the transfer could not be started");
			goto again;
		}
	}
	httpc_reap(h);
}

/* Put a pending request into the multi. */
static int
httpc_add(struct httpc_req *r)
{
	CURLMcode	 mc;

	if ((mc = curl_multi_add_handle(r->hr_httpc->h_multi, r->hr_easy)) !=
	    CURLM_OK) {
		log_warnx("httpc: %s: curl_multi_add_handle: %s", r->hr_method,
		    curl_multi_strerror(mc));
		return (-1);
	}
	r->hr_state = HTTPC_RUNNING;
	return (0);
}

/* Headers are complete: tell the caller once.  Returns 0 or -1. */
static int
httpc_head(struct httpc_req *r)
{
	char	*ctype = NULL;
	int	 rv = 0;

	if (r->hr_head_done)
		return (0);
	r->hr_head_done = 1;
	if (r->hr_head_cb == NULL)
		return (0);
	curl_easy_getinfo(r->hr_easy, CURLINFO_RESPONSE_CODE, &r->hr_status);
	if (curl_easy_getinfo(r->hr_easy, CURLINFO_CONTENT_TYPE, &ctype) !=
	    CURLE_OK)
		ctype = NULL;
	if (r->hr_head_cb(r->hr_arg, r->hr_status, ctype) == -1) {
		r->hr_aborted = 1;
		rv = -1;
	}
	return (rv);
}

/* CURLOPT_HEADERFUNCTION: one header line at a time. */
static size_t
httpc_header_fn(char *p, size_t size, size_t n, void *arg)
{
	struct httpc_req	*r = arg;
	size_t			 len = size * n, i, j;
	long			 status = 0;
	static const char	 name[] = "retry-after:";

	if (r->hr_state == HTTPC_ZOMBIE)
		return (0);
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new response (after a 1xx): forget the old headers. */
		free(r->hr_retry_after);
		r->hr_retry_after = NULL;
		return (len);
	}
	if (len >= sizeof name - 1 &&
	    strncasecmp(p, name, sizeof name - 1) == 0) {
		i = sizeof name - 1;
		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		j = len;
		while (j > i && isspace((unsigned char)p[j - 1]))
			j--;
		free(r->hr_retry_after);
		r->hr_retry_after = xstrndup(p + i, j - i);
		return (len);
	}
	if ((len == 2 && p[0] == '\r' && p[1] == '\n') ||
	    (len == 1 && p[0] == '\n')) {
		curl_easy_getinfo(r->hr_easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 100 && status < 200)
			return (len);
		if (httpc_head(r) == -1)
			return (0);
	}
	return (len);
}

/* CURLOPT_WRITEFUNCTION: a body chunk, straight to the caller. */
static size_t
httpc_write_fn(char *p, size_t size, size_t n, void *arg)
{
	struct httpc_req	*r = arg;
	size_t			 len = size * n;
	int			 rv;

	if (r->hr_state == HTTPC_ZOMBIE)
		return (0);
	if (httpc_head(r) == -1)
		return (0);
	if ((int64_t)len > r->hr_opts.ho_max_bytes - r->hr_bytes) {
		r->hr_too_big = 1;
		return (0);
	}
	r->hr_bytes += len;
	if (r->hr_data_cb == NULL || len == 0)
		return (len);
	rv = r->hr_data_cb(r->hr_arg, p, len);
	if (rv == -1) {
		r->hr_aborted = 1;
		return (0);
	}
	return (len);
}

/* A new request. */
struct httpc_req *
httpc_req_new(struct httpc *h, const char *method, const char *url)
{
	struct httpc_req	*r;

	r = xcalloc(1, sizeof *r);
	r->hr_httpc = h;
	r->hr_state = HTTPC_NEW;
	r->hr_method = xstrdup(method);
	r->hr_url = xstrdup(url);
	r->hr_opts.ho_connect_timeout_ms = HTTPC_CONNECT_TIMEOUT_MS;
	r->hr_opts.ho_timeout_ms = HTTPC_TIMEOUT_MS;
	r->hr_opts.ho_max_bytes = HTTPC_MAX_BYTES;
	/* Never send "Expect: 100-continue". */
	r->hr_headers = curl_slist_append(NULL, "Expect:");
	if (r->hr_headers == NULL)
		fatalx("httpc: curl_slist_append failed");
	return (r);
}

/* Add a request header line. */
void
httpc_req_header(struct httpc_req *r, const char *line)
{
	struct curl_slist	*l;

	if ((l = curl_slist_append(r->hr_headers, line)) == NULL)
		fatalx("httpc: curl_slist_append failed");
	r->hr_headers = l;
}

/* Set the request body; takes ownership of body. */
void
httpc_req_body(struct httpc_req *r, char *body, size_t len)
{
	free(r->hr_body);
	r->hr_body = body;
	r->hr_body_len = len;
}

/* Set options (copied); zeros and NULLs mean the defaults. */
void
httpc_req_opts(struct httpc_req *r, const struct httpc_opts *o)
{
	struct httpc_opts	*d = &r->hr_opts;

	free((char *)d->ho_user);
	free((char *)d->ho_password);
	free((char *)d->ho_ca_file);
	free((char *)d->ho_cert_file);
	free((char *)d->ho_key_file);
	d->ho_connect_timeout_ms = o->ho_connect_timeout_ms > 0 ?
	    o->ho_connect_timeout_ms : HTTPC_CONNECT_TIMEOUT_MS;
	d->ho_timeout_ms = o->ho_timeout_ms > 0 ? o->ho_timeout_ms :
	    HTTPC_TIMEOUT_MS;
	d->ho_max_bytes = o->ho_max_bytes > 0 ? o->ho_max_bytes :
	    HTTPC_MAX_BYTES;
	d->ho_user = httpc_strdup(o->ho_user);
	d->ho_password = httpc_strdup(o->ho_password);
	d->ho_ca_file = httpc_strdup(o->ho_ca_file);
	d->ho_cert_file = httpc_strdup(o->ho_cert_file);
	d->ho_key_file = httpc_strdup(o->ho_key_file);
	d->ho_insecure = o->ho_insecure;
	d->ho_certinfo = o->ho_certinfo;
}

#define HTTPC_SETOPT(e, o, v) do {					\
	if (curl_easy_setopt((e), (o), (v)) != CURLE_OK)		\
		goto fail;						\
} while (0)

/* Build the easy handle.  Returns 0 or -1. */
static int
httpc_setup(struct httpc_req *r)
{
	const struct httpc_opts	*o = &r->hr_opts;
	CURL			*e;
	int			 post;

	if ((e = r->hr_easy = curl_easy_init()) == NULL)
		return (-1);
	HTTPC_SETOPT(e, CURLOPT_PRIVATE, (char *)r);
	HTTPC_SETOPT(e, CURLOPT_URL, r->hr_url);
	HTTPC_SETOPT(e, CURLOPT_ERRORBUFFER, r->hr_errbuf);
	HTTPC_SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	HTTPC_SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	HTTPC_SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
	HTTPC_SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
	HTTPC_SETOPT(e, CURLOPT_HTTPHEADER, r->hr_headers);
	HTTPC_SETOPT(e, CURLOPT_HEADERFUNCTION, httpc_header_fn);
	HTTPC_SETOPT(e, CURLOPT_HEADERDATA, r);
	HTTPC_SETOPT(e, CURLOPT_WRITEFUNCTION, httpc_write_fn);
	HTTPC_SETOPT(e, CURLOPT_WRITEDATA, r);
	HTTPC_SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, o->ho_connect_timeout_ms);
	HTTPC_SETOPT(e, CURLOPT_TIMEOUT_MS, o->ho_timeout_ms);
	HTTPC_SETOPT(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->ho_max_bytes);

	if (strcasecmp(r->hr_method, "HEAD") == 0)
		HTTPC_SETOPT(e, CURLOPT_NOBODY, 1L);
	else {
		post = r->hr_body != NULL ||
		    strcasecmp(r->hr_method, "POST") == 0 ||
		    strcasecmp(r->hr_method, "PUT") == 0;
		if (post) {
			HTTPC_SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)r->hr_body_len);
			HTTPC_SETOPT(e, CURLOPT_POSTFIELDS,
			    r->hr_body != NULL ? r->hr_body : "");
		}
		if (strcasecmp(r->hr_method, "GET") != 0 &&
		    strcasecmp(r->hr_method, "POST") != 0)
			HTTPC_SETOPT(e, CURLOPT_CUSTOMREQUEST, r->hr_method);
		else if (strcasecmp(r->hr_method, "GET") == 0 && post)
			HTTPC_SETOPT(e, CURLOPT_CUSTOMREQUEST, "GET");
	}

	if (o->ho_user != NULL) {
		HTTPC_SETOPT(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		HTTPC_SETOPT(e, CURLOPT_USERNAME, o->ho_user);
		HTTPC_SETOPT(e, CURLOPT_PASSWORD,
		    o->ho_password != NULL ? o->ho_password : "");
	}
	if (o->ho_ca_file != NULL)
		HTTPC_SETOPT(e, CURLOPT_CAINFO, o->ho_ca_file);
	if (o->ho_cert_file != NULL)
		HTTPC_SETOPT(e, CURLOPT_SSLCERT, o->ho_cert_file);
	if (o->ho_key_file != NULL)
		HTTPC_SETOPT(e, CURLOPT_SSLKEY, o->ho_key_file);
	if (o->ho_insecure) {
		HTTPC_SETOPT(e, CURLOPT_SSL_VERIFYPEER, 0L);
		HTTPC_SETOPT(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (o->ho_certinfo) {
		/* Certificates are seen only on a new connection. */
		HTTPC_SETOPT(e, CURLOPT_FRESH_CONNECT, 1L);
		HTTPC_SETOPT(e, CURLOPT_CERTINFO, 1L);
	}
	return (0);

fail:
	log_warnx("httpc: %s: curl refused an option", r->hr_method);
	return (-1);
}

/* Start the transfer; httpc owns the request from here. */
int
httpc_req_start(struct httpc_req *r, httpc_head_cb head_cb,
    httpc_data_cb data_cb, httpc_done_cb done_cb, void *arg)
{
	struct httpc	*h = r->hr_httpc;

	r->hr_head_cb = head_cb;
	r->hr_data_cb = data_cb;
	r->hr_done_cb = done_cb;
	r->hr_arg = arg;
	r->hr_start_us = httpc_now_us();
	if (httpc_setup(r) == -1) {
		httpc_req_free(r);
		return (-1);
	}
	r->hr_state = HTTPC_PENDING;
	if (h->h_depth > 0) {
		/* Inside a curl callback: the multi may not be touched. */
		TAILQ_INSERT_TAIL(&h->h_reqs, r, hr_entry);
		h->h_count++;
		httpc_defer(h);
		return (0);
	}
	if (httpc_add(r) == -1) {
		r->hr_state = HTTPC_NEW;
		httpc_req_free(r);
		return (-1);
	}
	TAILQ_INSERT_TAIL(&h->h_reqs, r, hr_entry);
	h->h_count++;
	return (0);
}

/* Abort a started request now, without its done callback. */
void
httpc_req_cancel(struct httpc_req *r)
{
	struct httpc	*h;

	if (r == NULL)
		return;
	h = r->hr_httpc;
	if (r->hr_state == HTTPC_NEW) {
		httpc_req_free(r);
		return;
	}
	if (r->hr_state == HTTPC_ZOMBIE)
		return;
	if (h->h_depth > 0 && r->hr_state == HTTPC_RUNNING) {
		/* Inside a curl callback: remove it once curl returns. */
		r->hr_state = HTTPC_ZOMBIE;
		h->h_zombies++;
		r->hr_head_cb = NULL;
		r->hr_data_cb = NULL;
		r->hr_done_cb = NULL;
		h->h_count--;
		httpc_defer(h);
		return;
	}
	httpc_release(r);
}

/* Free a request that was never started. */
void
httpc_req_free(struct httpc_req *r)
{
	if (r == NULL)
		return;
	if (r->hr_state != HTTPC_NEW) {
		/* Started: httpc owns it. */
		httpc_req_cancel(r);
		return;
	}
	if (r->hr_easy != NULL)
		curl_easy_cleanup(r->hr_easy);
	curl_slist_free_all(r->hr_headers);
	free(r->hr_method);
	free(r->hr_url);
	free(r->hr_body);
	free(r->hr_retry_after);
	free((char *)r->hr_opts.ho_user);
	free((char *)r->hr_opts.ho_password);
	free((char *)r->hr_opts.ho_ca_file);
	free((char *)r->hr_opts.ho_cert_file);
	free((char *)r->hr_opts.ho_key_file);
	free(r);
}
