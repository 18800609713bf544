/*
 * notify.h -- 411-notify: one worker process for one target type, and the
 * interface between its core (notify.c: Redis consumer group, retries,
 * dead letters, delivery results, the curl multi) and the target types
 * (target_webhook.c, target_email.c, ...).
 *
 * The core reads a delivery job from 411:notify:TYPE and calls the type's
 * to_deliver.  The target makes one or more requests through notify_http /
 * notify_smtp (asynchronous, on the worker's loop; their callbacks come
 * from a later loop turn) and ends the delivery with exactly one
 * delivery_done.  The core then acknowledges the job, schedules a retry
 * (exponential back-off with jitter, Retry-After honoured) or dead-letters
 * it, and reports the result on 411:delivery.  A target that does not act
 * on a job (DELIVERY_SKIPPED) has it acknowledged and reported "skipped",
 * with its reason logged: never dropped silently.
 */
#ifndef PROG_NOTIFY_H
#define PROG_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

struct config_target;
struct delivery;
struct event_base;
struct json;

enum delivery_result {
	DELIVERY_OK,		/* delivered */
	DELIVERY_RETRY,		/* try again later (5xx, 429, network) */
	DELIVERY_FAILED,	/* never will work (4xx, bad payload) */
	DELIVERY_SKIPPED	/* not for this target (the error says why):
				   reported as "skipped", acknowledged */
};

/* What a request came back with. */
struct notify_resp {
	long		 nr_status;	/* HTTP status or SMTP reply code; 0 */
	const char	*nr_body;	/* the body (NUL-terminated), or "" */
	size_t		 nr_len;
	const char	*nr_retry_after; /* the Retry-After header, or NULL */
	const char	*nr_error;	/* transport error text, or NULL */
};

typedef void (*notify_resp_cb)(struct delivery *, const struct notify_resp *,
    void *);

/* The job being delivered (borrowed, valid until delivery_done). */
const struct json	*delivery_payload(const struct delivery *);
/* The event id (the idempotency key of the delivery). */
const char		*delivery_event_id(const struct delivery *);
/* The event type ("alert.created", "digest", ...). */
const char		*delivery_event_type(const struct delivery *);
/* The target (its options as configured in 411-notify.conf). */
const struct config_target *delivery_target(const struct delivery *);
/* The option of the target named name, or NULL. */
const char		*delivery_opt(const struct delivery *, const char *);
/* This is try number N (1 for the first). */
int			 delivery_attempt(const struct delivery *);
/* The worker's event loop (for a target's own timers). */
struct event_base	*delivery_base(const struct delivery *);
/* State of the target for this delivery; freed with fn at the end. */
void			 delivery_set_state(struct delivery *, void *,
			    void (*)(void *));
void			*delivery_state(const struct delivery *);

/*
 * An HTTP request: method, URL, headers ("Name: value", NULL-terminated;
 * may be NULL), body (may be NULL).  Timeouts are the target's "timeout"
 * option (default 30s).  cb gets the answer, or nr_error.
 */
void		 notify_http(struct delivery *, const char *, const char *,
		    const char *const *, const char *, size_t,
		    notify_resp_cb, void *);
/*
 * Send a mail through SMTP: url (smtp://HOST:PORT or smtps://...), from,
 * recipients (NULL-terminated), the whole message (headers and body, CRLF
 * line ends).  The target's options user, password, starttls (yes: refuse
 * to send without STARTTLS), ca_file apply.  cb gets the SMTP reply code
 * in nr_status.
 */
void		 notify_smtp(struct delivery *, const char *, const char *,
		    const char *const *, const char *, size_t,
		    notify_resp_cb, void *);
/*
 * The end of a delivery: result, the target's reference for it (a JIRA
 * issue key; may be NULL), the error (may be NULL), a Retry-After value
 * (may be NULL).  Exactly once per delivery.
 */
void		 delivery_done(struct delivery *, enum delivery_result,
		    const char *, const char *, const char *);

/* A target type. */
struct target_ops {
	const char	*to_type;
	/*
	 * Check a target's options (411-notify -n and start); -1 with a
	 * message naming the option.
	 */
	int		(*to_check)(const struct config_target *, char *,
			    size_t);
	/* Deliver; ends with delivery_done. */
	void		(*to_deliver)(struct delivery *);
};

/* The types, NULL-terminated (targets.c). */
extern const struct target_ops *const target_types[];

/*
 * For targets: the usual verdict on an HTTP answer: 2xx OK; 408, 425,
 * 429, 5xx and transport errors RETRY; other 4xx FAILED.
 */
enum delivery_result notify_http_verdict(const struct notify_resp *);

/*
 * The worker (notify.c), for notify_main.c.  One notify consumes the
 * stream 411:notify:TYPE in the consumer group TYPE as one consumer.
 */
struct config;
struct notify;

/* The type named name, or NULL. */
const struct target_ops	*notify_type(const char *);
/*
 * Check the targets of cfg (every one, or those of type when not NULL):
 * known type, options right.  Each problem goes to err as
 * "FILE:LINE: message".  Returns the number of problems.
 */
int		 notify_check(const struct config *, const char *,
		    void (*)(void *, const char *), void *);
/* Start a worker (cfg borrowed, must outlive it). */
struct notify	*notify_new(struct event_base *, const struct config *,
		    const char *, const char *);
/*
 * A new configuration (SIGHUP) for the jobs read from now on: targets,
 * retries, concurrency, claim_idle.  Jobs under way keep the old one, so
 * the caller keeps every old config until notify_free.  The Redis
 * address and prefix stay those of the start.
 */
void		 notify_set_config(struct notify *, const struct config *);
/*
 * Stop taking jobs; deliveries under way may finish for up to grace ms,
 * the rest stay pending for another worker.  done runs once when nothing
 * is left to wait for.
 */
void		 notify_stop(struct notify *, int64_t, void (*)(void *),
		    void *);
/* Free (requests cancelled, unfinished jobs left pending); accepts NULL. */
void		 notify_free(struct notify *);

/* Helpers, also for the unit tests. */
/* The wait before try attempt+1 (ms), with jitter from rnd. */
int64_t		 notify_backoff_ms(int, int64_t, int64_t, uint64_t);
/* A Retry-After value (seconds or an HTTP date) in ms from now, or -1. */
int64_t		 notify_retry_after_ms(const char *, int64_t);
/* Lower-case hex HMAC-SHA256 of data with key into out (65 bytes). */
void		 notify_hmac_hex(const char *, const void *, size_t,
		    char [65]);
/*
 * The ids of the alerts of a payload (alert.id, alerts[].id), at most
 * max; returns how many.
 */
size_t		 notify_alert_ids(const struct json *, uint64_t *, size_t);
/*
 * Check a target's options against the names allowed and those required
 * (NULL-terminated lists); also "timeout" (a duration) and "url" (http or
 * https) when present.  Returns 0, or -1 with a message.
 */
int		 notify_check_opts(const struct config_target *,
		    const char *const *, const char *const *, char *, size_t);
/* A string at a dotted path of a payload ("search.name"), or NULL. */
const char	*notify_str(const struct json *, const char *);

#endif
