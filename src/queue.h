/*
 * queue.h -- the Redis connection (hiredis async on the event loop).
 *
 * One queue is one connection to the Redis of the config (TCP or unix
 * socket, optional AUTH), kept up by reconnecting with a jittered backoff
 * (100 ms doubling to 30 s).  hiredis 0.14 has no timeouts of its own, so
 * connects and commands get deadlines from libevent timers here.  This file
 * is the only includer of hiredis's libevent adapter.
 */
#ifndef PROG_QUEUE_H
#define PROG_QUEUE_H

#include <stddef.h>

#include <hiredis/hiredis.h>

struct event_base;
struct queue;

#define QUEUE_CONNECT_TIMEOUT_MS	5000
#define QUEUE_COMMAND_TIMEOUT_MS	10000
#define QUEUE_BACKOFF_MIN_MS		100
#define QUEUE_BACKOFF_MAX_MS		30000

/* Where and how to connect. */
struct queue_opts {
	const char	*qo_host;	/* NULL when qo_unix is set */
	int		 qo_port;
	const char	*qo_unix;	/* unix socket path or NULL */
	const char	*qo_password;	/* AUTH, or NULL */
	const char	*qo_name;	/* CLIENT SETNAME, or NULL */
};

/*
 * A reply, or NULL with err set when the command failed (connection lost,
 * timeout, queue freed).  reply is borrowed for the call only.  A Redis
 * error reply arrives as a reply of type REDIS_REPLY_ERROR (err NULL).
 */
typedef void (*queue_reply_cb)(void *, redisReply *, const char *);
/* The connection came up (1) or went down (0). */
typedef void (*queue_state_cb)(void *, int);

/* Start connecting (options copied).  Never fails: it retries. */
struct queue	*queue_new(struct event_base *, const struct queue_opts *,
		    queue_state_cb, void *);
/*
 * Disconnect and free; pending commands get their callback with
 * err "queue closed".  Accepts NULL.
 */
void		 queue_free(struct queue *);
/* True while connected (and authenticated). */
int		 queue_up(const struct queue *);
/* The last connection error, or NULL. */
const char	*queue_error(const struct queue *);
/*
 * Send a command (arguments copied).  Returns 0, or -1 if not connected
 * (cb not called).  Commands are pipelined; replies come in order.
 */
int		 queue_command(struct queue *, queue_reply_cb, void *, int,
		    const char **, const size_t *);
/* Commands sent and not yet answered. */
size_t		 queue_pending(const struct queue *);

#endif
