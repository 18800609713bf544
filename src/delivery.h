/*
 * delivery.h -- 411d's side of 411:delivery: the results that the
 * 411-notify workers report, written on each alert's log.
 */
#ifndef PROG_DELIVERY_H
#define PROG_DELIVERY_H

struct config;
struct event_base;
struct store;
struct delivery_log;

/*
 * Consume PREFIX delivery in the consumer group "411d" over a connection
 * of its own; each result becomes a log entry of the alerts it names.
 */
struct delivery_log *delivery_log_new(struct event_base *,
		    const struct config *, struct store *);
/* Stop and free; unacknowledged results are read again next time. */
void		 delivery_log_free(struct delivery_log *);

#endif
