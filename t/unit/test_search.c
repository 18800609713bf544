/*
 * test_search.c -- search definitions: validation with field paths,
 * defaults, the stored form, jitter and thresholds.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "search.h"
#include "tap.h"
#include "xmalloc.h"

static const char *conf_text =
    "source logs es http://es.example:9200\n"
    "source metrics graphite http://g.example:8080\n"
    "target soc webhook url http://h.example/x\n"
    "target mail email\n";

/* A search from JSON text, or NULL with err. */
static struct search *
build(const char *text, const struct config *cfg, struct search_err *err)
{
	struct json	*j;
	struct search	*s;
	char		 msg[128];

	if ((j = json_parse(text, strlen(text), msg, sizeof msg)) == NULL)
		bail("bad test JSON %s: %s", text, msg);
	s = search_from_json(j, cfg, err);
	json_free(j);
	return (s);
}

/* The smallest valid es definition, with extra members spliced in. */
#define BASE	"\"name\":\"n\",\"type\":\"es\",\"source\":\"logs\","

struct bad {
	const char	*json;
	const char	*field;
};

static const struct bad bads[] = {
	{ "[]", "" },
	{ "{" BASE "\"query\":\"*\",\"bogus\":1}", "bogus" },
	{ "{\"type\":\"es\",\"source\":\"logs\",\"query\":\"*\"}", "name" },
	{ "{\"name\":\"\",\"type\":\"es\",\"source\":\"logs\",\"query\":\"*\"}",
	    "name" },
	{ "{\"name\":5,\"type\":\"es\",\"source\":\"logs\",\"query\":\"*\"}",
	    "name" },
	{ "{\"name\":\"n\",\"source\":\"logs\",\"query\":\"*\"}", "type" },
	{ "{\"name\":\"n\",\"type\":\"nope\",\"source\":\"logs\"}", "type" },
	{ "{\"name\":\"n\",\"type\":\"graphite\",\"source\":\"metrics\"}",
	    "query" },
	{ "{\"name\":\"n\",\"type\":\"graphite\",\"source\":\"metrics\","
	    "\"query\":\"a.b\",\"above\":\"5\"}", "above" },
	{ "{\"name\":\"n\",\"type\":\"es\",\"query\":\"*\"}", "source" },
	{ "{\"name\":\"n\",\"type\":\"es\",\"source\":5,\"query\":\"*\"}",
	    "source" },
	{ "{\"name\":\"n\",\"type\":\"es\",\"source\":\"nosuch\","
	    "\"query\":\"*\"}", "source" },
	{ "{\"name\":\"n\",\"type\":\"es\",\"source\":\"metrics\","
	    "\"query\":\"*\"}", "source" },
	{ "{" BASE "\"query\":\"*\",\"query_dsl\":{}}", "query_dsl" },
	{ "{" BASE "\"query_dsl\":\"x\"}", "query_dsl" },
	{ "{" BASE "\"enabled\":true}", "query" },
	{ "{" BASE "\"query\":\"\"}", "query" },
	{ "{" BASE "\"query\":[]}", "query" },
	{ "{" BASE "\"query\":\"*\",\"result\":\"rows\"}", "result" },
	{ "{" BASE "\"query\":\"*\",\"threshold\":[5,2]}", "threshold" },
	{ "{" BASE "\"query\":\"*\",\"threshold\":[1]}", "threshold" },
	{ "{" BASE "\"query\":\"*\",\"threshold\":[\"a\",2]}", "threshold" },
	{ "{" BASE "\"query\":\"*\",\"threshold\":5}", "threshold" },
	{ "{" BASE "\"query\":\"*\",\"result\":\"no_results\","
	    "\"threshold\":[0,0]}", "threshold" },
	{ "{" BASE "\"query\":\"*\",\"fields\":\"a\"}", "fields" },
	{ "{" BASE "\"query\":\"*\",\"fields\":[\"a\",\"\"]}", "fields[1]" },
	{ "{" BASE "\"query\":\"*\",\"fields\":[\"a\",3]}", "fields[1]" },
	{ "{" BASE "\"query\":\"*\",\"schedule\":\"5m\"}", "schedule" },
	{ "{" BASE "\"query\":\"*\",\"schedule\":{\"every\":\"5m\","
	    "\"x\":1}}", "schedule.x" },
	{ "{" BASE "\"query\":\"*\",\"schedule\":{\"cron\":\"* * * * *\"}}",
	    "range" },
	{ "{" BASE "\"query\":\"*\",\"schedule\":{\"cron\":\"61 * * * *\"},"
	    "\"range\":\"1m\"}", "schedule.cron" },
	{ "{" BASE "\"query\":\"*\",\"schedule\":{\"cron\":5},"
	    "\"range\":\"1m\"}", "schedule.cron" },
	{ "{" BASE "\"query\":\"*\",\"schedule\":{\"cron\":\"* * * * *\","
	    "\"tz\":\"Nowhere/Town\"},\"range\":\"1m\"}", "schedule.tz" },
	{ "{" BASE "\"query\":\"*\",\"schedule\":{\"every\":\"5m\","
	    "\"tz\":\"UTC\"}}", "schedule.tz" },
	{ "{" BASE "\"query\":\"*\",\"schedule\":{\"every\":\"5m\","
	    "\"cron\":\"* * * * *\"},\"range\":\"1m\"}", "schedule" },
	{ "{" BASE "\"query\":\"*\",\"schedule\":{}}", "schedule.every" },
	{ "{" BASE "\"query\":\"*\",\"schedule\":{\"every\":\"5x\"}}",
	    "schedule.every" },
	{ "{" BASE "\"query\":\"*\",\"schedule\":{\"every\":0}}",
	    "schedule.every" },
	{ "{" BASE "\"query\":\"*\",\"schedule\":{\"every\":-5}}",
	    "schedule.every" },
	{ "{" BASE "\"query\":\"*\",\"schedule\":{\"every\":1.5}}",
	    "schedule.every" },
	{ "{" BASE "\"query\":\"*\",\"schedule\":{\"every\":true}}",
	    "schedule.every" },
	{ "{" BASE "\"query\":\"*\",\"schedule\":{\"every\":\"32d\"}}",
	    "schedule.every" },
	{ "{" BASE "\"query\":\"*\",\"range\":\"400d\"}", "range" },
	{ "{" BASE "\"query\":\"*\",\"range\":0}", "range" },
	{ "{" BASE "\"query\":\"*\",\"range\":\"soon\"}", "range" },
	{ "{" BASE "\"query\":\"*\",\"delay\":\"8d\"}", "delay" },
	{ "{" BASE "\"query\":\"*\",\"delay\":-1}", "delay" },
	{ "{" BASE "\"query\":\"*\",\"priority\":\"urgent\"}", "priority" },
	{ "{" BASE "\"query\":\"*\",\"priority\":3}", "priority" },
	{ "{" BASE "\"query\":\"*\",\"category\":5}", "category" },
	{ "{" BASE "\"query\":\"*\",\"owner\":[]}", "owner" },
	{ "{" BASE "\"query\":\"*\",\"assignee\":{}}", "assignee" },
	{ "{" BASE "\"query\":\"*\",\"tags\":\"a\"}", "tags" },
	{ "{" BASE "\"query\":\"*\",\"tags\":[\"ok\",\"not ok\"]}",
	    "tags[1]" },
	{ "{" BASE "\"query\":\"*\",\"description\":5}", "description" },
	{ "{" BASE "\"query\":\"*\",\"enabled\":\"yes\"}", "enabled" },
	{ "{" BASE "\"query\":\"*\",\"autoclose\":\"x\"}", "autoclose" },
	{ "{" BASE "\"query\":\"*\",\"notify\":5}", "notify" },
	{ "{" BASE "\"query\":\"*\",\"notify\":{\"x\":1}}", "notify.x" },
	{ "{" BASE "\"query\":\"*\",\"notify\":{\"mode\":\"sometimes\"}}",
	    "notify.mode" },
	{ "{" BASE "\"query\":\"*\",\"notify\":{\"format\":\"html\"}}",
	    "notify.format" },
	{ "{" BASE "\"query\":\"*\",\"max_alerts\":0}", "max_alerts" },
	{ "{" BASE "\"query\":\"*\",\"max_alerts\":1.5}", "max_alerts" },
	{ "{" BASE "\"query\":\"*\",\"max_alerts\":2000000}", "max_alerts" },
	{ "{" BASE "\"query\":\"*\",\"timeout\":\"2h\"}", "timeout" },
	{ "{" BASE "\"query\":\"*\",\"filters\":{}}", "filters" },
	{ "{" BASE "\"query\":\"*\",\"filters\":[5]}", "filters[0]" },
	{ "{" BASE "\"query\":\"*\",\"filters\":[{\"type\":\"nope\"}]}",
	    "filters[0].type" },
	{ "{" BASE "\"query\":\"*\",\"filters\":[{\"type\":\"dedupe\","
	    "\"within\":\"0s\"}]}", "filters[0].within" },
	{ "{" BASE "\"query\":\"*\",\"filters\":[{\"type\":\"dedupe\"},"
	    "{\"type\":\"throttle\",\"count\":5}]}", "filters[1].per" },
	{ "{" BASE "\"query\":\"*\",\"targets\":{}}", "targets" },
	{ "{" BASE "\"query\":\"*\",\"targets\":[5]}", "targets[0]" },
	{ "{" BASE "\"query\":\"*\",\"targets\":[{}]}", "targets[0].target" },
	{ "{" BASE "\"query\":\"*\",\"targets\":[{\"target\":\"\"}]}",
	    "targets[0].target" },
	{ "{" BASE "\"query\":\"*\",\"targets\":[{\"target\":\"nosuch\"}]}",
	    "targets[0].target" },
	{ "{" BASE "\"query\":\"*\",\"targets\":[{\"target\":\"soc\"},"
	    "{\"target\":\"soc\"}]}", "targets[1].target" },
};

static void
test_invalid(const struct config *cfg)
{
	struct search_err	 err;
	struct search		*s;
	size_t			 i;
	char			 name[300], *text;

	for (i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		memset(&err, 0xa5, sizeof err);
		s = build(bads[i].json, cfg, &err);
		ok(s == NULL && strcmp(err.se_field, bads[i].field) == 0 &&
		    err.se_message[0] != '\0', "refused at \"%s\": %s",
		    bads[i].field, s == NULL ? err.se_message : "accepted");
		if (s == NULL && strcmp(err.se_field, bads[i].field) != 0)
			diag("%s: field \"%s\"", bads[i].json, err.se_field);
		search_unref(s);
	}

	/* A name over SEARCH_NAME_MAX bytes. */
	memset(name, 'x', SEARCH_NAME_MAX + 1);
	name[SEARCH_NAME_MAX + 1] = '\0';
	if (asprintf(&text, "{\"name\":\"%s\",\"type\":\"es\",\"source\":"
	    "\"logs\",\"query\":\"*\"}", name) == -1)
		bail("asprintf");
	s = build(text, cfg, &err);
	ok(s == NULL && strcmp(err.se_field, "name") == 0,
	    "a name over %d bytes refused", SEARCH_NAME_MAX);
	search_unref(s);
	free(text);

	/* Without a config, sources and targets are not checked. */
	s = build("{" BASE "\"query\":\"*\",\"targets\":[{\"target\":"
	    "\"nosuch\"}]}", NULL, &err);
	ok(s != NULL && s->s_ntargets == 1, "no config: targets not checked");
	search_unref(s);
}

static void
test_defaults(const struct config *cfg)
{
	struct search_err	 err;
	struct search		*s;

	s = build("{" BASE "\"query\":\"*\"}", cfg, &err);
	if (s == NULL)
		bail("minimal search refused: %s: %s", err.se_field,
		    err.se_message);
	is_string("n", s->s_name, "name");
	ok(s->s_type == SEARCH_ES, "type es");
	is_string("logs", s->s_source, "source");
	is_string("*", s->s_query, "query");
	ok(s->s_query_dsl == NULL && s->s_index == NULL, "no dsl, no index");
	is_int(SEARCH_DEFAULT_EVERY, s->s_every, "every defaults to 5 min");
	is_int(s->s_every, s->s_range, "range defaults to every");
	is_int(0, s->s_delay, "delay defaults to 0");
	is_string("low", s->s_priority, "priority defaults to low");
	is_string("general", s->s_category, "category defaults to general");
	ok(s->s_result == RESULT_FIELDS, "result defaults to fields");
	ok(s->s_has_lo && s->s_lo == 1 && !s->s_has_hi,
	    "threshold defaults to [1, null]");
	ok(s->s_enabled, "enabled by default");
	is_int(cfg->c_max_alerts, s->s_max_alerts, "max_alerts from config");
	ok(s->s_ntargets == 0 && s->s_filters == NULL && s->s_nfields == 0 &&
	    s->s_ntags == 0, "no targets, filters, fields or tags");
	ok(s->s_owner == NULL && s->s_assignee == NULL && s->s_autoclose == 0 &&
	    s->s_timeout == 0, "no owner, assignee, autoclose or timeout");
	is_int(1, s->s_refs, "one reference");
	ok(search_threshold_ok(s, 1) && search_threshold_ok(s, 1e9) &&
	    !search_threshold_ok(s, 0), "default threshold: at least 1");
	search_unref(s);

	/* range follows every when absent; durations as strings or numbers */
	s = build("{" BASE "\"query\":\"*\",\"schedule\":{\"every\":\"1h\"}}",
	    cfg, &err);
	ok(s != NULL && s->s_every == 3600 && s->s_range == 3600,
	    "every 1h, range 1h");
	search_unref(s);
	s = build("{" BASE "\"query\":\"*\",\"schedule\":{\"every\":90},"
	    "\"range\":\"2h\",\"delay\":30}", cfg, &err);
	ok(s != NULL && s->s_every == 90 && s->s_range == 7200 &&
	    s->s_delay == 30, "every 90, range 2h, delay 30");
	search_unref(s);
	s = build("{" BASE "\"query\":\"*\",\"schedule\":null}", cfg, &err);
	ok(s != NULL && s->s_every == SEARCH_DEFAULT_EVERY,
	    "schedule null is the default");
	search_unref(s);

	/* no_results: [0, 0] */
	s = build("{" BASE "\"query\":\"*\",\"result\":\"no_results\"}", cfg,
	    &err);
	ok(s != NULL && s->s_result == RESULT_NO_RESULTS && s->s_has_lo &&
	    s->s_has_hi && s->s_lo == 0 && s->s_hi == 0,
	    "no_results: threshold [0, 0]");
	ok(s != NULL && search_threshold_ok(s, 0) &&
	    !search_threshold_ok(s, 1), "no_results alerts on 0 only");
	search_unref(s);

	/* count with [null, 5] and [2, 4] */
	s = build("{" BASE "\"query\":\"*\",\"result\":\"count\","
	    "\"threshold\":[null,5]}", cfg, &err);
	ok(s != NULL && s->s_result == RESULT_COUNT && !s->s_has_lo &&
	    s->s_lo == 0 && s->s_has_hi && s->s_hi == 5, "[null, 5]");
	ok(s != NULL && search_threshold_ok(s, 0) &&
	    search_threshold_ok(s, 5) && !search_threshold_ok(s, 5.5) &&
	    search_threshold_ok(s, -3), "[null, 5]: at most 5");
	search_unref(s);
	s = build("{" BASE "\"query\":\"*\",\"result\":\"count\","
	    "\"threshold\":[2,4]}", cfg, &err);
	ok(s != NULL && !search_threshold_ok(s, 1) &&
	    search_threshold_ok(s, 2) && search_threshold_ok(s, 4) &&
	    !search_threshold_ok(s, 5), "[2, 4]: inclusive both ends");
	search_unref(s);
	s = build("{" BASE "\"query\":\"*\",\"threshold\":[null,null]}", cfg,
	    &err);
	ok(s != NULL && search_threshold_ok(s, 0) &&
	    search_threshold_ok(s, -1e9), "[null, null]: always");
	search_unref(s);

	/* Everything set. */
	s = build("{\"name\":\"all\",\"type\":\"es\",\"source\":\"logs\","
	    "\"query_dsl\":{\"match_all\":{}},\"index\":\"x-*\","
	    "\"fields\":[\"host\",\"user\"],\"priority\":\"critical\","
	    "\"category\":\"sec\",\"owner\":\"o\",\"assignee\":\"a\","
	    "\"tags\":[\"t-1\",\"a.b:c\"],\"enabled\":false,"
	    "\"autoclose\":\"1d\",\"max_alerts\":7,\"timeout\":\"30s\","
	    "\"description\":\"d\",\"notify\":{\"mode\":\"daily\","
	    "\"format\":\"content\"},"
	    "\"filters\":[{\"type\":\"dedupe\",\"key\":[\"host\"]}],"
	    "\"targets\":[{\"target\":\"soc\",\"extra\":1},{\"target\":"
	    "\"mail\"}]}", cfg, &err);
	if (s == NULL)
		diag("%s: %s", err.se_field, err.se_message);
	ok(s != NULL, "a full definition is accepted");
	if (s == NULL) {
		skip(8, "no search");
		return;
	}
	ok(s->s_query == NULL && s->s_query_dsl != NULL &&
	    strcmp(s->s_index, "x-*") == 0, "query_dsl and index");
	ok(s->s_nfields == 2 && strcmp(s->s_fields[1], "user") == 0,
	    "fields");
	ok(strcmp(s->s_priority, "critical") == 0 &&
	    strcmp(s->s_category, "sec") == 0 && strcmp(s->s_owner, "o") == 0 &&
	    strcmp(s->s_assignee, "a") == 0, "priority, category, owner, "
	    "assignee");
	ok(s->s_ntags == 2 && !s->s_enabled && s->s_autoclose == 86400 &&
	    s->s_max_alerts == 7 && s->s_timeout == 30,
	    "tags, enabled, autoclose, max_alerts, timeout");
	ok(s->s_filters != NULL && json_len(s->s_filters) == 1, "filters");
	ok(s->s_ntargets == 2 && strcmp(s->s_targets[0].st_name, "soc") == 0 &&
	    strcmp(s->s_targets[0].st_type, "webhook") == 0 &&
	    strcmp(s->s_targets[1].st_type, "email") == 0,
	    "targets resolved to their types");
	ok(json_get(s->s_targets[0].st_params, "target") == NULL &&
	    json_get(s->s_targets[0].st_params, "extra") != NULL,
	    "target params without \"target\"");
	ok(json_get(s->s_def, "notify") != NULL &&
	    json_get(s->s_def, "description") != NULL,
	    "the definition is kept as given");
	search_unref(s);
}

static void
test_server_fields(const struct config *cfg)
{
	struct search_err	 err;
	struct search		*s;

	s = build("{" BASE "\"query\":\"*\",\"id\":99,\"version\":3,"
	    "\"created\":\"x\",\"updated\":1,\"origin\":\"file\","
	    "\"status\":{},\"change_note\":\"n\",\"file\":\"f\"}", cfg, &err);
	ok(s != NULL, "server fields are ignored, not refused");
	if (s == NULL) {
		skip(2, "no search");
		return;
	}
	ok(s->s_id == 0 && s->s_version == 0 && s->s_origin == ORIGIN_API &&
	    s->s_file == NULL, "and do not set anything");
	ok(json_get(s->s_def, "id") == NULL &&
	    json_get(s->s_def, "status") == NULL &&
	    json_get(s->s_def, "change_note") == NULL &&
	    json_get(s->s_def, "file") == NULL &&
	    json_get(s->s_def, "name") != NULL,
	    "nor stay in the definition");
	search_unref(s);
}

static void
test_store_form(const struct config *cfg)
{
	struct search_err	 err;
	struct search		*s, *t;
	char			*text, *text2, *d1, *d2;
	size_t			 len, len2;

	s = build("{" BASE "\"query\":\"a:b\",\"fields\":[\"x\"],"
	    "\"schedule\":{\"every\":\"10m\"},\"tags\":[\"q\"],"
	    "\"targets\":[{\"target\":\"soc\",\"p\":[1,2]}]}", cfg, &err);
	if (s == NULL)
		bail("search refused: %s", err.se_message);
	s->s_id = 1234567;
	s->s_version = 5;
	s->s_created = 1700000000123LL;
	s->s_updated = 1700000999456LL;
	s->s_origin = ORIGIN_FILE;
	s->s_file = xstrdup("a.json");
	text = search_to_store(s, &len);
	ok(text != NULL && len == strlen(text), "serialized (%zu bytes)", len);
	t = search_from_store(text, len, cfg, &err);
	ok(t != NULL, "parsed back");
	if (t == NULL) {
		diag("%s: %s", err.se_field, err.se_message);
		skip(7, "no search");
		goto out;
	}
	ok(t->s_id == 1234567 && t->s_version == 5, "id and version");
	ok(t->s_created == 1700000000123LL && t->s_updated == 1700000999456LL,
	    "created and updated to the ms");
	ok(t->s_origin == ORIGIN_FILE && t->s_file != NULL &&
	    strcmp(t->s_file, "a.json") == 0, "origin and file");
	ok(strcmp(t->s_name, "n") == 0 && t->s_every == 600 &&
	    t->s_range == 600 && t->s_nfields == 1 && t->s_ntags == 1 &&
	    t->s_ntargets == 1 && strcmp(t->s_query, "a:b") == 0,
	    "definition fields");
	d1 = json_to_string(s->s_def, NULL);
	d2 = json_to_string(t->s_def, NULL);
	is_string(d1, d2, "same definition");
	free(d1);
	free(d2);
	text2 = search_to_store(t, &len2);
	ok(len == len2 && memcmp(text, text2, len) == 0,
	    "serializing again gives the same bytes");
	is_int(search_jitter(s), search_jitter(t), "same jitter");
	free(text2);
	search_unref(t);
out:
	free(text);

	/* origin api, no file */
	s->s_origin = ORIGIN_API;
	free(s->s_file);
	s->s_file = NULL;
	text = search_to_store(s, &len);
	t = search_from_store(text, len, cfg, &err);
	ok(t != NULL && t->s_origin == ORIGIN_API && t->s_file == NULL,
	    "origin api without file");
	search_unref(t);
	free(text);
	search_unref(s);

	t = search_from_store("not json", 8, cfg, &err);
	ok(t == NULL && err.se_message[0] != '\0', "bad stored text: %s",
	    err.se_message);
	t = search_from_store("{\"id\":1,\"def\":{\"name\":\"x\"}}", 27, cfg,
	    &err);
	ok(t == NULL && strcmp(err.se_field, "type") == 0,
	    "a stored definition is validated too");
	t = search_from_store("{\"id\":1}", 8, cfg, &err);
	ok(t == NULL, "no def refused");
}

static void
test_jitter_refs(const struct config *cfg)
{
	struct search_err	 err;
	struct search		*s, *r;
	int64_t			 j, first;
	uint64_t		 id;
	int			 bad = 0, differ = 0, big = 0;

	s = build("{" BASE "\"query\":\"*\"}", cfg, &err);
	if (s == NULL)
		bail("search refused");
	for (id = 1; id <= 1000; id++) {
		s->s_id = id;
		j = search_jitter(s);
		if (j < 0 || j >= s->s_every * 1000)
			bad++;
		if (j != search_jitter(s))
			bad++;
		if (j >= s->s_every)
			big++;
	}
	is_int(0, bad, "1000 ids: jitter deterministic, in [0, every) ms");
	ok(big > 900, "jitter is in ms (spread over the whole period)");
	s->s_id = 1;
	first = search_jitter(s);
	for (id = 2; id <= 50; id++) {
		s->s_id = id;
		if (search_jitter(s) != first)
			differ++;
	}
	ok(differ >= 45, "ids spread their jitter (%d of 49 differ)", differ);
	s->s_every = 1;
	is_int(0, search_jitter(s), "every 1s: no jitter");

	r = search_ref(s);
	ok(r == s && s->s_refs == 2, "search_ref counts");
	search_unref(s);
	is_int(1, s->s_refs, "search_unref counts down");
	search_unref(s);
	search_unref(NULL);
	ok(1, "search_unref(NULL) is fine");
}

static void
test_names(void)
{
	enum search_type	 t;
	int			 i, bad = 0;

	for (i = 0; i < SEARCH_NTYPES; i++) {
		if (search_type_parse(search_type_name((enum search_type)i),
		    &t) != 0 || (int)t != i)
			bad++;
	}
	is_int(0, bad, "type names round trip");
	ok(search_type_parse("elastic", &t) == -1, "unknown type name");
	is_string("unknown", search_type_name(SEARCH_NTYPES), "out of range");
	is_string("es", search_type_name(SEARCH_ES), "es");
	is_string("no_results", search_result_name(RESULT_NO_RESULTS),
	    "no_results");
	is_string("count", search_result_name(RESULT_COUNT), "count");
}

/* The weighted flap rate of run histories (bit 0 newest, 1 = failed). */
static void
test_flap_rate(void)
{
	uint32_t	 alt = 0;
	int		 i;

	for (i = 0; i < SEARCH_FLAP_RUNS; i++)
		alt |= (uint32_t)(i % 2) << i;
	ok(search_flap_rate(0, SEARCH_FLAP_RUNS) == 0, "always fine: 0");
	ok(search_flap_rate((1u << SEARCH_FLAP_RUNS) - 1, SEARCH_FLAP_RUNS) == 0,
	    "always failing: 0 (failing, not flapping)");
	ok(search_flap_rate(alt, SEARCH_FLAP_RUNS) > 0.999,
	    "alternating: 1");
	ok(search_flap_rate(1, SEARCH_FLAP_RUNS) >
	    search_flap_rate(1u << (SEARCH_FLAP_RUNS - 1), SEARCH_FLAP_RUNS),
	    "a recent change weighs more than an old one");
	ok(search_flap_rate(alt, SEARCH_FLAP_RUNS) > SEARCH_FLAP_START &&
	    search_flap_rate(1, SEARCH_FLAP_RUNS) < SEARCH_FLAP_STOP,
	    "alternating flaps, one change does not");
	ok(search_flap_rate(1, 1) == 0, "one run: no rate");
}

int
main(void)
{
	struct config		*cfg;
	struct config_errors	 errs;

	plan((int)(sizeof bads / sizeof bads[0]) + 2 + 27 + 9 + 3 + 13 + 7 +
	    6 + 6);
	cfg = config_parse("t.conf", conf_text, strlen(conf_text),
	    CONFIG_411D, &errs);
	if (cfg == NULL)
		bail("config: %s", errs.ce_n > 0 ? errs.ce_lines[0] : "?");
	test_invalid(cfg);
	test_defaults(cfg);
	test_server_fields(cfg);
	test_store_form(cfg);
	test_jitter_refs(cfg);
	test_names();
	test_flap_rate();
	config_free(cfg);
	return (test_done());
}
