/*
 * src.c -- the table of search types and their drivers.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdio.h>

#include "json.h"
#include "search.h"
#include "src.h"

static const struct src_ops *src_drivers[] = {
	&src_es_ops,
	&src_http_ops,
	&src_tcp_ops,
	&src_prom_ops,
	&src_graphite_ops,
	&src_push_ops,
	&src_alert_ops,
	NULL
};

int
src_refuse_keys(const struct json *def, const char *const *keys,
    const char *type, struct search_err *err)
{
	size_t	 i;

	for (i = 0; keys[i] != NULL; i++) {
		if (json_get(def, keys[i]) != NULL) {
			snprintf(err->se_field, sizeof err->se_field, "%s",
			    keys[i]);
			snprintf(err->se_message, sizeof err->se_message,
			    "does not apply to type %s", type);
			return (-1);
		}
	}
	return (0);
}

/* Check a definition's "source". */
int
src_check_source(const struct json *def, const struct config *cfg,
    enum source_type want, const char *type, struct search_err *err)
{
	const struct config_source	*cs;
	const char			*src;

	snprintf(err->se_field, sizeof err->se_field, "source");
	if ((src = json_str(json_get(def, "source"))) == NULL) {
		snprintf(err->se_message, sizeof err->se_message,
		    "is required for type %s: the name of a %s source", type,
		    type);
		return (-1);
	}
	if (cfg == NULL)
		return (0);
	if ((cs = config_source(cfg, src)) == NULL) {
		snprintf(err->se_message, sizeof err->se_message,
		    "no source \"%s\" in the config", src);
		return (-1);
	}
	if (cs->cs_type != want) {
		snprintf(err->se_message, sizeof err->se_message,
		    "source \"%s\" is of type %s, not %s", src,
		    config_source_type_name(cs->cs_type), type);
		return (-1);
	}
	return (0);
}

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
