/*
 * src.c -- the table of search types and their drivers.
 */
#include "autoconf.h"

#include <stddef.h>

#include "src.h"

static const struct src_ops *src_drivers[] = {
	&src_es_ops,
	&src_http_ops,
	&src_tcp_ops,
	&src_prom_ops,
	&src_push_ops,
	&src_alert_ops,
	NULL
};

/* The driver of a type, or NULL when the type has none yet. */
const struct src_ops *
src_find(enum search_type type)
{
	size_t	 i;

	for (i = 0; src_drivers[i] != NULL; i++) {
		if (src_drivers[i]->so_type == type)
			return (src_drivers[i]);
	}
	return (NULL);
}
