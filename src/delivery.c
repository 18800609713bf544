/*
 * delivery.c -- 411d's side of 411:delivery (being written).
 */
#include "autoconf.h"

#include <stddef.h>

#include "delivery.h"

struct delivery_log *
delivery_log_new(struct event_base *base, const struct config *cfg,
    struct store *store)
{
	(void)base;
	(void)cfg;
	(void)store;
	return (NULL);
}

void
delivery_log_free(struct delivery_log *dl)
{
	(void)dl;
}
