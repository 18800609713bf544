/*
 * httpc.h -- HTTP client transfers on the event loop (curl multi).
 *
 * One struct httpc per process holds the curl multi handle, glued to
 * libevent after curl's hiperfifo example (with the corrections of
 * STYLE.md 3.1: no exit, no recursion from the timer callback, the multi
 * cleaned up before the event base).  Connections are kept alive and
 * reused across requests to the same host.
 *
 * A request is built, started, and then owned by httpc until its done
 * callback has run.  The response body is handed to the data callback
 * chunk by chunk as it arrives; nothing is buffered here.
 */
#ifndef PROG_HTTPC_H
#define PROG_HTTPC_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct httpc;
struct httpc_req;

#define HTTPC_CONNECT_TIMEOUT_MS	10000
#define HTTPC_TIMEOUT_MS		60000
#define HTTPC_MAX_BYTES			((int64_t)4 << 30)

/* Options of a request; NULL strings and 0 numbers mean the defaults. */
struct httpc_opts {
	long		 ho_connect_timeout_ms;
	long		 ho_timeout_ms;		/* whole transfer */
	int64_t		 ho_max_bytes;		/* body cap; past it: error */
	const char	*ho_user;		/* basic auth */
	const char	*ho_password;
	const char	*ho_ca_file;
	const char	*ho_cert_file;
	const char	*ho_key_file;
	int		 ho_insecure;		/* skip TLS verification */
	int		 ho_certinfo;		/* new connection, cert info */
};

/* What happened to a request, valid during the done callback only. */
struct httpc_result {
	int		 hr_ok;		/* transport succeeded (any status) */
	long		 hr_status;	/* HTTP status, 0 if none */
	const char	*hr_error;	/* transport error text, or NULL */
	int		 hr_timeout;	/* the failure was a timeout */
	const char	*hr_content_type; /* or NULL */
	const char	*hr_retry_after; /* Retry-After header value or NULL */
	int64_t		 hr_bytes;	/* body bytes received */
	int64_t		 hr_time_us;	/* total time */
	int		 hr_aborted;	/* the data callback returned -1 */
	const char	*hr_cert_expire; /* ho_certinfo: the server
					   certificate's "Expire date", or NULL */
};

/*
 * Response status and headers are known: called once, before the first
 * data chunk (also for an empty body).  Return 0, or -1 to abort.
 */
typedef int (*httpc_head_cb)(void *, long, const char *);
/* A chunk of the body (not NUL-terminated).  Return 0, or -1 to abort. */
typedef int (*httpc_data_cb)(void *, const char *, size_t);
/* The request is over; called exactly once, never from inside start. */
typedef void (*httpc_done_cb)(void *, const struct httpc_result *);

/* The multi handle on base.  Calls curl_global_init once per process. */
struct httpc	*httpc_new(struct event_base *);
/*
 * Cancel every transfer (their done callbacks are not called) and free.
 * Must run before event_base_free.  Accepts NULL.
 */
void		 httpc_free(struct httpc *);
/* Transfers under way. */
size_t		 httpc_running(const struct httpc *);

/* A new request; method is "GET", "POST", "PUT", "DELETE" or "HEAD". */
struct httpc_req *httpc_req_new(struct httpc *, const char *, const char *);
/* Add a request header line ("Content-Type: application/json"). */
void		 httpc_req_header(struct httpc_req *, const char *);
/* Set the request body; takes ownership of body. */
void		 httpc_req_body(struct httpc_req *, char *, size_t);
/* Set options (copied). */
void		 httpc_req_opts(struct httpc_req *, const struct httpc_opts *);
/*
 * Start the transfer.  From here httpc owns the request; done is called
 * exactly once (later, from the loop), after which the request is freed.
 * Returns 0, or -1 (request freed, done not called) if curl refused it.
 */
int		 httpc_req_start(struct httpc_req *, httpc_head_cb,
		    httpc_data_cb, httpc_done_cb, void *);
/*
 * Abort a started request now: done is not called and the request is
 * freed.  Not from inside this request's own callbacks (return -1 from the
 * head or data callback instead).
 */
void		 httpc_req_cancel(struct httpc_req *);
/* Free a request that was never started; accepts NULL. */
void		 httpc_req_free(struct httpc_req *);

#endif
