/*
 * api_routes.c -- the table of /api/v1 collections that live in their own
 * files (see api_int.h).  One line per collection.
 */
#include "autoconf.h"

#include <stddef.h>

#include "api_int.h"

const struct api_route api_routes[] = {
	{ "/api/v1/alerts", api_alerts },
	{ "/api/v1/users", api_users },
	{ "/api/v1/groups", api_groups },
	{ "/api/v1/keys", api_keys },
	{ "/api/v1/audit", api_audit },
	{ "/api/v1/silences", api_silences },
	{ NULL, NULL }
};
