/*
 * filters.c -- the table of filter types.
 *
 * One line per type; the order is the order names are listed in errors.
 */
#include "autoconf.h"

#include <stddef.h>

#include "filter.h"

extern const struct filter_ops filter_dedupe_ops;
extern const struct filter_ops filter_throttle_ops;
extern const struct filter_ops filter_script_ops;
extern const struct filter_ops filter_enrich_ops;
extern const struct filter_ops filter_regex_ops;
extern const struct filter_ops filter_hash_ops;
extern const struct filter_ops filter_newterm_ops;
extern const struct filter_ops filter_change_ops;
extern const struct filter_ops filter_spike_ops;
extern const struct filter_ops filter_expression_ops;
extern const struct filter_ops filter_mapvalue_ops;
extern const struct filter_ops filter_mapkey_ops;

const struct filter_ops *const filter_types[] = {
	&filter_dedupe_ops,
	&filter_throttle_ops,
	&filter_script_ops,
	&filter_enrich_ops,
	&filter_regex_ops,
	&filter_hash_ops,
	&filter_newterm_ops,
	&filter_change_ops,
	&filter_expression_ops,
	&filter_mapvalue_ops,
	&filter_mapkey_ops,
	&filter_spike_ops,
	NULL
};
