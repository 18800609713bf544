/*
 * queue.c -- the Redis connection: hiredis 0.14 async on libevent.
 *
 * A queue owns at most one live connection (struct queue_conn, which is
 * hiredis's privdata and ac->data).  hiredis 0.14 has no timeouts, so a
 * connect deadline, a command deadline and the reconnect backoff are our own
 * libevent timers.  Every failure only marks the queue lost and wakes
 * q_lost_ev; the teardown (redisAsyncFree, failing the pending commands,
 * state_cb(0), arming the retry) runs from that event, outside any hiredis
 * callback.  A connection is detached (qn_q = NULL) before it is freed, so
 * the NULL-reply callbacks hiredis runs while freeing it are ignored and every
 * pending command is answered exactly once, by us.
 *
 * queue_free may be called from inside one of our callbacks: the callers of
 * user code count their depth and the last one out frees the queue; a
 * connection whose hiredis callback is still on the stack is reaped from a
 * one-shot event on the next loop turn.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "log.h"
#include "queue.h"
#include "util.h"
#include "xmalloc.h"

enum queue_state {
	QUEUE_IDLE,		/* waiting for the retry timer */
	QUEUE_CONNECTING,	/* connect and AUTH/SETNAME/PING in flight */
	QUEUE_UP,
	QUEUE_LOST,		/* failed; q_lost_ev tears down */
	QUEUE_CLOSED		/* queue_free was called */
};

#define QUEUE_SETUP_MAX	3

struct queue_conn {
	struct queue		*qn_q;		/* NULL once detached */
	redisAsyncContext	*qn_ac;		/* NULL once hiredis freed it */
	const char		*qn_steps[QUEUE_SETUP_MAX];
	int			 qn_nsteps;
	int			 qn_step;	/* next setup reply expected */
};

struct queue_cmd {
	TAILQ_ENTRY(queue_cmd)	 qc_entry;
	queue_reply_cb		 qc_cb;
	void			*qc_arg;
	int64_t			 qc_deadline;	/* monotonic ms */
};
TAILQ_HEAD(queue_cmds, queue_cmd);

struct queue {
	struct event_base	*q_base;
	char			*q_host;
	int			 q_port;
	char			*q_unix;
	char			*q_password;
	char			*q_name;
	char			*q_addr;	/* for log messages */
	queue_state_cb		 q_state_cb;
	void			*q_arg;

	enum queue_state	 q_state;
	int			 q_was_up;	/* for the lost handler */
	struct queue_conn	*q_conn;
	char			*q_error;
	char			*q_logged;	/* last connect error logged */
	int64_t			 q_backoff;	/* next retry base, ms */

	struct queue_cmds	 q_cmds;
	size_t			 q_npending;

	struct event		*q_connect_ev;
	struct event		*q_cmd_ev;
	struct event		*q_retry_ev;
	struct event		*q_lost_ev;

	int			 q_depth;	/* user callbacks running */
	int			 q_in_hiredis;	/* inside a hiredis reply cb */
	int			 q_dead;	/* queue_free deferred */
};

static int64_t	queue_mono_ms(void);
static void	queue_timer(struct event *, int64_t);
static void	queue_connect(struct queue *);
static void	queue_lose(struct queue *, const char *, ...)
		    printflike(2, 3);
static void	queue_conn_close(struct queue_conn *, int);
static void	queue_conn_reap_cb(evutil_socket_t, short, void *);
static int	queue_call(struct queue *, queue_reply_cb, void *,
		    redisReply *, const char *);
static int	queue_call_state(struct queue *, int);
static int	queue_fail_all(struct queue *, const char *);
static void	queue_destroy(struct queue *);
static void	queue_connect_cb(const redisAsyncContext *, int);
static void	queue_disconnect_cb(const redisAsyncContext *, int);
static void	queue_redis_setup_cb(redisAsyncContext *, void *, void *);
static void	queue_redis_reply_cb(redisAsyncContext *, void *, void *);
static void	queue_connect_timeout_cb(evutil_socket_t, short, void *);
static void	queue_cmd_timeout_cb(evutil_socket_t, short, void *);
static void	queue_retry_cb(evutil_socket_t, short, void *);
static void	queue_lost_cb(evutil_socket_t, short, void *);

/* Milliseconds on the monotonic clock, for deadlines. */
static int64_t
queue_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Arm a timer for ms milliseconds. */
static void
queue_timer(struct event *ev, int64_t ms)
{
	struct timeval	 tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/* Start connecting (options copied).  Never fails: it retries. */
struct queue *
queue_new(struct event_base *base, const struct queue_opts *qo,
    queue_state_cb state_cb, void *arg)
{
	struct queue	*q;

	q = xcalloc(1, sizeof *q);
	q->q_base = base;
	if (qo->qo_host != NULL)
		q->q_host = xstrdup(qo->qo_host);
	q->q_port = qo->qo_port;
	if (qo->qo_unix != NULL)
		q->q_unix = xstrdup(qo->qo_unix);
	if (qo->qo_password != NULL)
		q->q_password = xstrdup(qo->qo_password);
	if (qo->qo_name != NULL)
		q->q_name = xstrdup(qo->qo_name);
	if (q->q_unix != NULL)
		q->q_addr = xstrdup(q->q_unix);
	else
		q->q_addr = xprintf("%s:%d", q->q_host != NULL ? q->q_host :
		    "127.0.0.1", q->q_port);
	q->q_state_cb = state_cb;
	q->q_arg = arg;
	q->q_backoff = QUEUE_BACKOFF_MIN_MS;
	TAILQ_INIT(&q->q_cmds);

	q->q_connect_ev = evtimer_new(base, queue_connect_timeout_cb, q);
	q->q_cmd_ev = evtimer_new(base, queue_cmd_timeout_cb, q);
	q->q_retry_ev = evtimer_new(base, queue_retry_cb, q);
	q->q_lost_ev = evtimer_new(base, queue_lost_cb, q);
	if (q->q_connect_ev == NULL || q->q_cmd_ev == NULL ||
	    q->q_retry_ev == NULL || q->q_lost_ev == NULL)
		fatalx("queue_new: cannot create events");

	queue_connect(q);
	return (q);
}

/* Open a new connection and send the setup commands. */
static void
queue_connect(struct queue *q)
{
	struct queue_conn	*conn;
	redisAsyncContext	*ac;
	const char		*argv[3];
	size_t			 argl[3];
	int			 i, rc;

	q->q_state = QUEUE_CONNECTING;
	if (q->q_unix != NULL)
		ac = redisAsyncConnectUnix(q->q_unix);
	else
		ac = redisAsyncConnect(q->q_host != NULL ? q->q_host :
		    "127.0.0.1", q->q_port);
	if (ac == NULL) {
		queue_lose(q, "cannot allocate redis context");
		return;
	}
	if (ac->err) {
		queue_lose(q, "%s", ac->errstr);
		redisAsyncFree(ac);
		return;
	}

	conn = xcalloc(1, sizeof *conn);
	conn->qn_q = q;
	conn->qn_ac = ac;
	ac->data = conn;
	q->q_conn = conn;
	if (redisLibeventAttach(ac, q->q_base) != REDIS_OK ||
	    redisAsyncSetConnectCallback(ac, queue_connect_cb) != REDIS_OK ||
	    redisAsyncSetDisconnectCallback(ac, queue_disconnect_cb) !=
	    REDIS_OK)
		fatalx("queue_connect: cannot set up the redis context");
	queue_timer(q->q_connect_ev, QUEUE_CONNECT_TIMEOUT_MS);

	/* hiredis buffers these until the socket is connected. */
	if (q->q_password != NULL)
		conn->qn_steps[conn->qn_nsteps++] = "AUTH";
	if (q->q_name != NULL)
		conn->qn_steps[conn->qn_nsteps++] = "CLIENT SETNAME";
	conn->qn_steps[conn->qn_nsteps++] = "PING";
	for (i = 0; i < conn->qn_nsteps; i++) {
		if (strcmp(conn->qn_steps[i], "AUTH") == 0) {
			argv[0] = "AUTH";
			argl[0] = 4;
			argv[1] = q->q_password;
			argl[1] = strlen(q->q_password);
			rc = redisAsyncCommandArgv(ac, queue_redis_setup_cb,
			    conn, 2, argv, argl);
		} else if (strcmp(conn->qn_steps[i], "PING") == 0) {
			argv[0] = "PING";
			argl[0] = 4;
			rc = redisAsyncCommandArgv(ac, queue_redis_setup_cb,
			    conn, 1, argv, argl);
		} else {
			argv[0] = "CLIENT";
			argl[0] = 6;
			argv[1] = "SETNAME";
			argl[1] = 7;
			argv[2] = q->q_name;
			argl[2] = strlen(q->q_name);
			rc = redisAsyncCommandArgv(ac, queue_redis_setup_cb,
			    conn, 3, argv, argl);
		}
		if (rc != REDIS_OK) {
			queue_lose(q, "cannot send %s", conn->qn_steps[i]);
			return;
		}
	}
}

/*
 * Mark the queue failed with a reason and wake the lost handler.  Safe
 * anywhere, including inside hiredis callbacks; the first reason wins.
 */
static void
queue_lose(struct queue *q, const char *fmt, ...)
{
	va_list	 ap;

	if (q->q_state == QUEUE_LOST || q->q_state == QUEUE_CLOSED)
		return;
	q->q_was_up = q->q_state == QUEUE_UP;
	q->q_state = QUEUE_LOST;
	free(q->q_error);
	va_start(ap, fmt);
	if (vasprintf(&q->q_error, fmt, ap) == -1)
		fatalx("queue_lose: out of memory");
	va_end(ap);
	event_active(q->q_lost_ev, EV_TIMEOUT, 0);
}

/*
 * Detach a connection and free it.  Inside a hiredis callback the context
 * cannot be freed yet: a one-shot event reaps it on the next loop turn.
 */
static void
queue_conn_close(struct queue_conn *conn, int in_hiredis)
{
	struct timeval	 tv = { 0, 0 };
	struct queue	*q = conn->qn_q;
	redisAsyncContext *ac;

	conn->qn_q = NULL;
	if (conn->qn_ac != NULL && in_hiredis) {
		if (event_base_once(q->q_base, -1, EV_TIMEOUT,
		    queue_conn_reap_cb, conn, &tv) == -1)
			fatalx("queue_conn_close: event_base_once failed");
		return;
	}
	if ((ac = conn->qn_ac) != NULL) {
		/* Runs our callbacks (ignored: detached), then frees ac. */
		redisAsyncFree(ac);
	}
	free(conn);
}

/* Free a detached connection from outside hiredis. */
static void
queue_conn_reap_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct queue_conn	*conn = arg;

	(void)fd;
	(void)ev;
	if (conn->qn_ac != NULL)
		redisAsyncFree(conn->qn_ac);
	free(conn);
}

/*
 * Call a user reply callback.  Returns -1 when the queue was freed by it
 * (the caller must not touch q again), else 0.
 */
static int
queue_call(struct queue *q, queue_reply_cb cb, void *arg, redisReply *reply,
    const char *err)
{
	q->q_depth++;
	if (cb != NULL)
		cb(arg, reply, err);
	if (--q->q_depth == 0 && q->q_dead) {
		queue_destroy(q);
		return (-1);
	}
	return (0);
}

/* Call the state callback; -1 when the queue was freed by it. */
static int
queue_call_state(struct queue *q, int up)
{
	q->q_depth++;
	if (q->q_state_cb != NULL)
		q->q_state_cb(q->q_arg, up);
	if (--q->q_depth == 0 && q->q_dead) {
		queue_destroy(q);
		return (-1);
	}
	return (0);
}

/* Fail every pending command with err; -1 when the queue was freed. */
static int
queue_fail_all(struct queue *q, const char *err)
{
	struct queue_cmd	*c;
	queue_reply_cb		 cb;
	void			*arg;

	while ((c = TAILQ_FIRST(&q->q_cmds)) != NULL) {
		TAILQ_REMOVE(&q->q_cmds, c, qc_entry);
		q->q_npending--;
		cb = c->qc_cb;
		arg = c->qc_arg;
		free(c);
		if (queue_call(q, cb, arg, NULL, err) == -1)
			return (-1);
	}
	return (0);
}

/* Free everything; the pending commands were answered already. */
static void
queue_destroy(struct queue *q)
{
	if (q->q_conn != NULL) {
		queue_conn_close(q->q_conn, q->q_in_hiredis > 0);
		q->q_conn = NULL;
	}
	event_free(q->q_connect_ev);
	event_free(q->q_cmd_ev);
	event_free(q->q_retry_ev);
	event_free(q->q_lost_ev);
	free(q->q_host);
	free(q->q_unix);
	if (q->q_password != NULL) {
		explicit_bzero(q->q_password, strlen(q->q_password));
		free(q->q_password);
	}
	free(q->q_name);
	free(q->q_addr);
	free(q->q_error);
	free(q->q_logged);
	free(q);
}

/* Disconnect and free; pending commands get "queue closed".  NULL is ok. */
void
queue_free(struct queue *q)
{
	if (q == NULL || q->q_state == QUEUE_CLOSED)
		return;
	q->q_state = QUEUE_CLOSED;
	(void)queue_fail_all(q, "queue closed");
	if (q->q_depth > 0) {
		/* Inside one of our callbacks: the last one out frees. */
		q->q_dead = 1;
		return;
	}
	queue_destroy(q);
}

/* True while connected (and authenticated). */
int
queue_up(const struct queue *q)
{
	return (q != NULL && q->q_state == QUEUE_UP);
}

/* The last connection error, or NULL. */
const char *
queue_error(const struct queue *q)
{
	return (q->q_error);
}

/* Send a command (arguments copied); 0, or -1 if not connected. */
int
queue_command(struct queue *q, queue_reply_cb cb, void *arg, int argc,
    const char **argv, const size_t *argl)
{
	struct queue_cmd	*c;

	if (q->q_state != QUEUE_UP || argc < 1)
		return (-1);
	if (redisAsyncCommandArgv(q->q_conn->qn_ac, queue_redis_reply_cb,
	    q->q_conn, argc, argv, argl) != REDIS_OK)
		return (-1);
	c = xcalloc(1, sizeof *c);
	c->qc_cb = cb;
	c->qc_arg = arg;
	c->qc_deadline = queue_mono_ms() + QUEUE_COMMAND_TIMEOUT_MS;
	TAILQ_INSERT_TAIL(&q->q_cmds, c, qc_entry);
	q->q_npending++;
	if (!evtimer_pending(q->q_cmd_ev, NULL))
		queue_timer(q->q_cmd_ev, QUEUE_COMMAND_TIMEOUT_MS);
	return (0);
}

/* Commands sent and not yet answered. */
size_t
queue_pending(const struct queue *q)
{
	return (q->q_npending);
}

/* hiredis: the socket connected, or failed to (then ac is freed after). */
static void
queue_connect_cb(const redisAsyncContext *ac, int status)
{
	struct queue_conn	*conn = ac->data;

	if (status == REDIS_OK)
		return;		/* the setup replies decide */
	conn->qn_ac = NULL;
	if (conn->qn_q != NULL)
		queue_lose(conn->qn_q, "%s", ac->errstr);
}

/* hiredis: a connected context went away (it is freed after this). */
static void
queue_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct queue_conn	*conn = ac->data;

	conn->qn_ac = NULL;
	if (conn->qn_q != NULL)
		queue_lose(conn->qn_q, "%s", status == REDIS_OK ?
		    "connection closed" : ac->errstr);
}

/* hiredis: a reply to AUTH, CLIENT SETNAME or PING. */
static void
queue_redis_setup_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct queue_conn	*conn = privdata;
	struct queue		*q = conn->qn_q;
	redisReply		*reply = r;
	const char		*step;

	if (q == NULL || q->q_state != QUEUE_CONNECTING)
		return;
	if (reply == NULL) {
		queue_lose(q, "%s", ac->errstr[0] != '\0' ? ac->errstr :
		    "connection lost");
		return;
	}
	step = conn->qn_steps[conn->qn_step++];
	if (reply->type == REDIS_REPLY_ERROR) {
		queue_lose(q, "%s failed: %s", step, reply->str);
		return;
	}
	if (conn->qn_step < conn->qn_nsteps)
		return;

	q->q_state = QUEUE_UP;
	evtimer_del(q->q_connect_ev);
	q->q_backoff = QUEUE_BACKOFF_MIN_MS;
	free(q->q_error);
	q->q_error = NULL;
	free(q->q_logged);
	q->q_logged = NULL;
	q->q_in_hiredis++;
	if (queue_call_state(q, 1) == 0)
		q->q_in_hiredis--;
}

/* hiredis: the reply to a user command (replies come in order). */
static void
queue_redis_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct queue_conn	*conn = privdata;
	struct queue		*q = conn->qn_q;
	redisReply		*reply = r;
	struct queue_cmd	*c;
	queue_reply_cb		 cb;
	void			*arg;

	if (q == NULL || q->q_state != QUEUE_UP)
		return;		/* the lost handler or queue_free answers */
	if (reply == NULL) {
		queue_lose(q, "%s", ac->errstr[0] != '\0' ? ac->errstr :
		    "connection lost");
		return;
	}
	if ((c = TAILQ_FIRST(&q->q_cmds)) == NULL)
		return;
	TAILQ_REMOVE(&q->q_cmds, c, qc_entry);
	q->q_npending--;
	cb = c->qc_cb;
	arg = c->qc_arg;
	free(c);
	q->q_in_hiredis++;
	if (queue_call(q, cb, arg, reply, NULL) == 0)
		q->q_in_hiredis--;
}

/* The connect (and setup) deadline passed. */
static void
queue_connect_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct queue	*q = arg;

	(void)fd;
	(void)ev;
	if (q->q_state == QUEUE_CONNECTING)
		queue_lose(q, "connect timeout after %d ms",
		    QUEUE_CONNECT_TIMEOUT_MS);
}

/* Check the oldest command's deadline. */
static void
queue_cmd_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct queue		*q = arg;
	struct queue_cmd	*c;
	int64_t			 now;

	(void)fd;
	(void)ev;
	if (q->q_state != QUEUE_UP || (c = TAILQ_FIRST(&q->q_cmds)) == NULL)
		return;
	now = queue_mono_ms();
	if (c->qc_deadline > now) {
		queue_timer(q->q_cmd_ev, c->qc_deadline - now);
		return;
	}
	/* Later replies can no longer be matched: drop the connection. */
	queue_lose(q, "command timeout after %d ms", QUEUE_COMMAND_TIMEOUT_MS);
}

/* The backoff passed: connect again. */
static void
queue_retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct queue	*q = arg;

	(void)fd;
	(void)ev;
	if (q->q_state == QUEUE_IDLE)
		queue_connect(q);
}

/* Tear down a failed connection, tell the user, and schedule a retry. */
static void
queue_lost_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct queue	*q = arg;
	char		*err;
	int64_t		 delay;
	int		 was_up;

	(void)fd;
	(void)ev;
	if (q->q_state != QUEUE_LOST)
		return;
	if (q->q_conn != NULL) {
		queue_conn_close(q->q_conn, 0);
		q->q_conn = NULL;
	}
	evtimer_del(q->q_connect_ev);
	evtimer_del(q->q_cmd_ev);
	was_up = q->q_was_up;
	q->q_was_up = 0;
	q->q_state = QUEUE_IDLE;

	delay = q->q_backoff / 2 + (int64_t)(util_random() %
	    (uint64_t)(q->q_backoff / 2 + 1));
	q->q_backoff *= 2;
	if (q->q_backoff > QUEUE_BACKOFF_MAX_MS)
		q->q_backoff = QUEUE_BACKOFF_MAX_MS;
	queue_timer(q->q_retry_ev, delay);

	if (!was_up) {
		/* Log a failing connect once per distinct error. */
		if (q->q_logged == NULL ||
		    strcmp(q->q_logged, q->q_error) != 0) {
			log_warnx("redis %s: connect failed: %s", q->q_addr,
			    q->q_error);
			free(q->q_logged);
			q->q_logged = xstrdup(q->q_error);
		} else
			log_debug("%s: %s: connect failed: %s; retry in "
			    "%lld ms", __func__, q->q_addr, q->q_error,
			    (long long)delay);
		return;
	}

	if (queue_call_state(q, 0) == -1)
		return;
	if (q->q_state == QUEUE_CLOSED || TAILQ_EMPTY(&q->q_cmds))
		return;
	err = xprintf("redis connection lost: %s", q->q_error);
	if (queue_fail_all(q, err) == -1) {
		free(err);
		return;
	}
	free(err);
}
