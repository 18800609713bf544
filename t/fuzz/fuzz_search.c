/*
 * fuzz_search.c -- search definitions as the API and searches_dir take
 * them (search_from_json in src/search.c, the filter definitions through
 * filter_validate), against a config with a source of each type; a
 * search that passes is stored and read back as 411d does.
 *
 * Input: the JSON text of a definition.
 */
#include "autoconf.h"

#include "config.h"
#include "json.h"
#include "log.h"
#include "search.h"
#include "fuzz.h"

static const char fuzz_conf[] =
    "api_key admin admin \"0123456789abcdef0123456789abcdef\"\n"
    "datadir /nonexistent\n"
    "source logs es http://127.0.0.1:9200 index \"logs-*\" "
    "date_field @timestamp\n"
    "source prom prometheus http://127.0.0.1:9090\n"
    "source gr graphite http://127.0.0.1:8080\n"
    "target hook webhook url http://127.0.0.1:1/hook\n";

static struct config	*fuzz_cfg;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct config_errors	 errs;
	size_t			 i;

	log_init("fuzz", 1, 0);
	memset(&errs, 0, sizeof errs);
	fuzz_cfg = config_parse("fuzz.conf", fuzz_conf, sizeof fuzz_conf - 1,
	    CONFIG_411D, &errs);
	if (fuzz_cfg == NULL) {
		for (i = 0; i < errs.ce_n; i++)
			log_warnx("%s", errs.ce_lines[i]);
		abort();
	}
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct search_err	 err;
	struct search		*s, *s2;
	struct json		*j;
	char			 msg[256], *st;
	size_t			 stlen;

	if ((j = json_parse((const char *)data, len, msg, sizeof msg)) == NULL)
		return (0);
	memset(&err, 0, sizeof err);
	if ((s = search_from_json(j, fuzz_cfg, &err)) != NULL) {
		st = search_to_store(s, &stlen);
		s2 = search_from_store(st, stlen, fuzz_cfg, &err);
		if (s2 == NULL) {
			log_warnx("stored search does not read back: %s: %s",
			    err.se_field, err.se_message);
			abort();
		}
		search_unref(s2);
		free(st);
		search_unref(s);
	}
	/* without a config too (import checks) */
	if ((s = search_from_json(j, NULL, &err)) != NULL)
		search_unref(s);
	json_free(j);
	return (0);
}
