/*
 * test_filter.c -- filter validation, the dedupe and throttle filters, and
 * their state: an overlay that a committed run writes to the store and a
 * later run (after a restart) honours.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "filter.h"
#include "json.h"
#include "record.h"
#include "search.h"
#include "store.h"
#include "filtertest.h"
#include "tap.h"
#include "xmalloc.h"

struct bad {
	const char	*json;
	const char	*field;
	const char	*msg;		/* a part of the message */
};

static const struct bad bads[] = {
	{ "[{\"type\":\"expression\"}]", "filters[0].expr",
	    "expression: is required" },
	{ "[{\"type\":\"expression\",\"expr\":5}]", "filters[0].expr",
	    "must be an expression" },
	{ "[{\"type\":\"expression\",\"expr\":\"a ==\"}]",
	    "filters[0].expr", "expression: at 5: " },
	{ "[{\"type\":\"expression\",\"expr\":\"a\",\"x\":1}]",
	    "filters[0].x", "expression: unknown option (options: expr, " },
	{ "[{\"type\":\"mapvalue\"}]", "filters[0].field",
	    "mapvalue: is required" },
	{ "[{\"type\":\"mapvalue\",\"field\":\"\",\"expr\":\"1\"}]",
	    "filters[0].field", "field name" },
	{ "[{\"type\":\"mapvalue\",\"field\":\"a\"}]", "filters[0].expr",
	    "mapvalue: is required" },
	{ "[{\"type\":\"mapvalue\",\"field\":\"a\",\"set\":{}}]",
	    "filters[0].set", "either" },
	{ "[{\"type\":\"mapvalue\",\"set\":[]}]", "filters[0].set",
	    "object of 1 to 256" },
	{ "[{\"type\":\"mapvalue\",\"set\":{\"a\":\"lower(\"}}]",
	    "filters[0].set.a", "mapvalue: at " },
	{ "[{\"type\":\"mapkey\"}]", "filters[0].map", "mapkey: is required" },
	{ "[{\"type\":\"mapkey\",\"map\":{}}]", "filters[0].map",
	    "object of 1 to 256" },
	{ "[{\"type\":\"mapkey\",\"map\":{\"a\":\"\"}}]", "filters[0].map",
	    "non-empty strings" },
	{ "[{\"type\":\"mapkey\",\"map\":{\"a\":1}}]", "filters[0].map",
	    "or null" },
	{ "[{\"type\":\"dedupe\",\"lifetime\":5}]", "filters[0].lifetime",
	    "dedupe: must be a duration" },
	{ "[{\"type\":\"dedupe\",\"lifetime\":\"soon\"}]",
	    "filters[0].lifetime", "dedupe:" },
	{ "[{\"type\":\"dedupe\",\"lifetime\":\"0s\"}]",
	    "filters[0].lifetime", "at least 1s" },
	{ "[{\"type\":\"throttle\",\"count\":1,\"on_error\":\"x\"}]",
	    "filters[0].on_error", "throttle: must be \"keep\" or \"drop\"" },
	{ "[{\"type\":\"dedupe\",\"comment\":[]}]", "filters[0].comment",
	    "must be a string" },
	{ "[{\"type\":\"spike\"}]", "filters[0].ratio", "spike: is required" },
	{ "[{\"type\":\"spike\",\"ratio\":1}]", "filters[0].ratio",
	    "greater than 1" },
	{ "[{\"type\":\"spike\",\"ratio\":\"3\"}]", "filters[0].ratio",
	    "number" },
	{ "[{\"type\":\"spike\",\"ratio\":3,\"windows\":0}]",
	    "filters[0].windows", "1 to 1000" },
	{ "[{\"type\":\"spike\",\"ratio\":3,\"windows\":2.5}]",
	    "filters[0].windows", "whole number" },
	{ "[{\"type\":\"spike\",\"ratio\":3,\"key\":\"host\"}]",
	    "filters[0].key", "spike: must be a list" },
	{ "[{\"type\":\"spike\",\"ratio\":3,\"direction\":\"sideways\"}]",
	    "filters[0].direction", "\"both\"" },
	{ "[{\"type\":\"spike\",\"ratio\":3,\"min_count\":-1}]",
	    "filters[0].min_count", "0 or more" },
	{ "[{\"type\":\"spike\",\"ratio\":3,\"within\":\"1h\"}]",
	    "filters[0].within", "spike: unknown option (options: key, windows, "
	    "ratio, direction, min_count, lifetime, on_error, comment)" },
	{ "{}", "filters", "array" },
	{ "[5]", "filters[0]", "object" },
	{ "[{}]", "filters[0].type", "dedupe, throttle" },
	{ "[{\"type\":\"sample\"}]", "filters[0].type", "\"sample\"" },
	{ "[{\"type\":5}]", "filters[0].type", "one of" },
	{ "[{\"type\":\"dedupe\",\"bogus\":1}]", "filters[0].bogus",
	    "dedupe: unknown option" },
	{ "[{\"type\":\"dedupe\",\"key\":[]}]", "filters[0].key", "dedupe:" },
	{ "[{\"type\":\"dedupe\",\"key\":\"host\"}]", "filters[0].key",
	    "field names" },
	{ "[{\"type\":\"dedupe\",\"key\":[\"a\",\"\"]}]", "filters[0].key",
	    "non-empty" },
	{ "[{\"type\":\"dedupe\",\"key\":[1]}]", "filters[0].key", "dedupe:" },
	{ "[{\"type\":\"dedupe\",\"within\":\"0s\"}]", "filters[0].within",
	    "at least 1s" },
	{ "[{\"type\":\"dedupe\",\"within\":0}]", "filters[0].within",
	    "at least 1s" },
	{ "[{\"type\":\"dedupe\",\"within\":\"soon\"}]", "filters[0].within",
	    "dedupe:" },
	{ "[{\"type\":\"dedupe\",\"within\":true}]", "filters[0].within",
	    "duration" },
	{ "[{\"type\":\"dedupe\"},{\"type\":\"throttle\",\"per\":\"1h\"}]",
	    "filters[1].count", "throttle: is required" },
	{ "[{\"type\":\"throttle\",\"count\":0,\"per\":\"1h\"}]",
	    "filters[0].count", "throttle:" },
	{ "[{\"type\":\"throttle\",\"count\":\"5\",\"per\":\"1h\"}]",
	    "filters[0].count", "whole number" },
	{ "[{\"type\":\"throttle\",\"count\":2.5,\"per\":\"1h\"}]",
	    "filters[0].count", "whole number" },
	{ "[{\"type\":\"throttle\",\"count\":5}]", "filters[0].per",
	    "is required" },
	{ "[{\"type\":\"throttle\",\"count\":5,\"per\":\"1x\"}]",
	    "filters[0].per", "throttle:" },
	{ "[{\"type\":\"throttle\",\"count\":5,\"per\":0}]", "filters[0].per",
	    "at least 1s" },
	{ "[{\"type\":\"throttle\",\"count\":5,\"per\":[]}]",
	    "filters[0].per", "duration" },
	{ "[{\"type\":\"throttle\",\"count\":5,\"per\":\"1h\",\"key\":[]}]",
	    "filters[0].key", "throttle:" },
	{ "[{\"type\":\"throttle\",\"count\":5,\"per\":\"1h\",\"within\":1}]",
	    "filters[0].within", "throttle: unknown option" },
};

static void
test_validate(void)
{
	struct search_err	 err;
	struct json		*j;
	size_t			 i;
	char			 text[4096];
	int			 rc;

	for (i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		j = parse(bads[i].json);
		memset(&err, 0, sizeof err);
		rc = filter_validate(j, &err);
		ok(rc == -1 && strcmp(err.se_field, bads[i].field) == 0 &&
		    strstr(err.se_message, bads[i].msg) != NULL,
		    "%s refused: %s", bads[i].field, err.se_message);
		if (rc == -1 && strcmp(err.se_field, bads[i].field) != 0)
			diag("%s: field %s", bads[i].json, err.se_field);
		json_free(j);
	}

	j = parse("[{\"type\":\"dedupe\"},{\"type\":\"dedupe\",\"key\":[\"a\","
	    "\"b\"],\"within\":\"1h\"},{\"type\":\"dedupe\",\"within\":60},"
	    "{\"type\":\"throttle\",\"count\":20,\"per\":\"1h\"},"
	    "{\"type\":\"throttle\",\"count\":1,\"per\":3600,\"key\":"
	    "[\"host\"]}]");
	ok(filter_validate(j, &err) == 0, "valid filters accepted");
	json_free(j);
	j = parse("[]");
	ok(filter_validate(j, &err) == 0, "no filters accepted");
	json_free(j);

	/* At most 32 filters. */
	strcpy(text, "[");
	for (i = 0; i < 33; i++)
		strcat(text, i ? ",{\"type\":\"dedupe\"}" : "{\"type\":"
		    "\"dedupe\"}");
	strcat(text, "]");
	j = parse(text);
	ok(filter_validate(j, &err) == -1 &&
	    strcmp(err.se_field, "filters") == 0, "33 filters refused");
	json_free(j);
}

static void
test_dedupe_key(void)
{
	struct search		*s;
	struct filter_chain	*fc;
	struct fstate		*fs;
	struct trace		 t;
	struct record		*r;

	s = mksearch("[{\"type\":\"dedupe\",\"key\":[\"src\"],\"within\":"
	    "\"1h\"}]", 1);
	fc = chain_at(s, T0 + 2 * HOUR_MS);
	fs = fstate_new(NULL, s->s_id);

	memset(&t, 0, sizeof t);
	ok(pass(fc, fs, rec(T0, "src", "a", "n", "1", NULL), &t) ==
	    FILTER_KEEP && t.calls == 0, "first a passes, no trace");
	ok(pass(fc, fs, rec(T0 + 10 * MIN_MS, "src", "a", "n", "2", NULL),
	    &t) == FILTER_DROP, "a again 10 min later: dropped");
	ok(t.calls == 1 && t.pos == 0 && strcmp(t.type, "dedupe") == 0 &&
	    strcmp(t.what, "dropped") == 0 && strstr(t.why, "10m") != NULL,
	    "traced: %s", t.why);
	ok(pass(fc, fs, rec(T0 + 10 * MIN_MS, "src", "b", NULL), NULL) ==
	    FILTER_KEEP, "b passes");
	ok(pass(fc, fs, rec(T0 + 59 * MIN_MS, "src", "a", NULL), NULL) ==
	    FILTER_DROP, "a at 59 min: still dropped");
	ok(pass(fc, fs, rec(T0 + 60 * MIN_MS, "src", "a", NULL), NULL) ==
	    FILTER_KEEP, "a at 60 min: within has expired");
	ok(pass(fc, fs, rec(T0 + 70 * MIN_MS, "src", "a", NULL), NULL) ==
	    FILTER_DROP, "a at 70 min: dropped again (counts from 60 min)");
	ok(pass(fc, fs, rec(T0 + 50 * MIN_MS, "src", "a", NULL), NULL) ==
	    FILTER_DROP, "an older record within the period is dropped too");

	/* A missing field counts as null. */
	ok(pass(fc, fs, rec(T0, "other", "x", NULL), NULL) == FILTER_KEEP,
	    "no src: passes once");
	ok(pass(fc, fs, rec(T0, "other", "y", NULL), NULL) == FILTER_DROP,
	    "no src again: dropped");
	r = record_new();
	r->r_time = T0;
	record_add(r, "src", 3, "null", 4);
	ok(pass(fc, fs, r, NULL) == FILTER_DROP, "src null = no src");
	ok(pass(fc, fs, rec(T0, "src", "null", NULL), NULL) == FILTER_KEEP,
	    "the string \"null\" is another key");

	/* No event time: the run's time. */
	r = rec(0, "src", "c", NULL);
	ok(pass(fc, fs, r, NULL) == FILTER_KEEP, "c without time passes");
	ok(pass(fc, fs, rec(T0 + 2 * HOUR_MS - 30 * MIN_MS, "src", "c", NULL),
	    NULL) == FILTER_DROP, "c 30 min before now: dropped");
	ok(fstate_count(fs) == 5, "one state entry per key (%zu)",
	    fstate_count(fs));

	/* A late record (range > every) must not move the state back. */
	ok(pass(fc, fs, rec(T0 + 3 * HOUR_MS, "src", "late", NULL), NULL) ==
	    FILTER_KEEP, "late: the newest passes");
	ok(pass(fc, fs, rec(T0, "src", "late", NULL), NULL) == FILTER_KEEP,
	    "late: one 3 h older passes (it is not within 1 h)");
	ok(pass(fc, fs, rec(T0 + 3 * HOUR_MS + 10 * MIN_MS, "src", "late",
	    NULL), NULL) == FILTER_DROP,
	    "late: 10 min after the newest is still a duplicate");
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);

	/* Two key fields. */
	s = mksearch("[{\"type\":\"dedupe\",\"key\":[\"a\",\"b\"]}]", 2);
	fc = chain_at(s, T0);
	fs = fstate_new(NULL, s->s_id);
	ok(pass(fc, fs, rec(T0, "a", "1", "b", "2", NULL), NULL) ==
	    FILTER_KEEP, "a=1 b=2 passes");
	ok(pass(fc, fs, rec(T0, "b", "2", "a", "1", "c", "x", NULL), NULL) ==
	    FILTER_DROP, "same a and b, other fields differ: dropped");
	ok(pass(fc, fs, rec(T0, "a", "12", "b", "", NULL), NULL) ==
	    FILTER_KEEP, "a=12 b=\"\" is a different key");
	ok(pass(fc, fs, rec(T0 + 23 * HOUR_MS, "a", "1", "b", "2", NULL),
	    NULL) == FILTER_DROP, "default within is a day (23 h: dropped)");
	ok(pass(fc, fs, rec(T0 + 24 * HOUR_MS, "a", "1", "b", "2", NULL),
	    NULL) == FILTER_KEEP, "24 h: passes");
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);
}

static void
test_dedupe_content(void)
{
	struct search		*s;
	struct filter_chain	*fc;
	struct fstate		*fs;
	struct record		*r;

	s = mksearch("[{\"type\":\"dedupe\",\"within\":\"10m\"}]", 3);
	fc = chain_at(s, T0);
	fs = fstate_new(NULL, s->s_id);
	ok(pass(fc, fs, rec(T0, "a", "1", "b", "x", NULL), NULL) ==
	    FILTER_KEEP, "content passes");
	ok(pass(fc, fs, rec(T0 + MIN_MS, "a", "1", "b", "x", NULL), NULL) ==
	    FILTER_DROP, "same content: dropped");
	ok(pass(fc, fs, rec(T0 + MIN_MS, "b", "x", "a", "1", NULL), NULL) ==
	    FILTER_DROP, "same content, fields in another order: dropped");
	ok(pass(fc, fs, rec(T0 + MIN_MS, "a", "1", "b", "y", NULL), NULL) ==
	    FILTER_KEEP, "one value differs: passes");
	ok(pass(fc, fs, rec(T0 + MIN_MS, "a", "1", NULL), NULL) ==
	    FILTER_KEEP, "a subset of the fields: passes");
	ok(pass(fc, fs, rec(T0 + MIN_MS, "a", "1", "bx", "", NULL), NULL) ==
	    FILTER_KEEP, "keys and values do not run together");
	r = record_new();
	r->r_time = T0 + MIN_MS;
	record_add_int(r, "a", 1);
	record_add_str(r, "b", "x", 1);
	ok(pass(fc, fs, r, NULL) == FILTER_KEEP,
	    "the number 1 is not the string \"1\"");
	ok(pass(fc, fs, rec(T0 + 10 * MIN_MS, "b", "x", "a", "1", NULL),
	    NULL) == FILTER_KEEP, "after within: passes again");
	r = record_new();
	r->r_time = T0;
	ok(pass(fc, fs, r, NULL) == FILTER_KEEP, "an empty record passes");
	r = record_new();
	r->r_time = T0;
	ok(pass(fc, fs, r, NULL) == FILTER_DROP, "and is a duplicate");
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);
}

static void
test_throttle(void)
{
	struct search		*s;
	struct filter_chain	*fc;
	struct fstate		*fs;
	struct trace		 t;
	int			 i, kept;

	s = mksearch("[{\"type\":\"throttle\",\"count\":3,\"per\":\"1h\"}]",
	    4);
	fc = chain_at(s, T0);
	fs = fstate_new(NULL, s->s_id);
	kept = 0;
	for (i = 0; i < 5; i++)
		if (pass(fc, fs, rec(T0 + i * MIN_MS, "n", "x", NULL), NULL) ==
		    FILTER_KEEP)
			kept++;
	is_int(3, kept, "3 of 5 pass in one hour");
	memset(&t, 0, sizeof t);
	ok(pass(fc, fs, rec(T0 + 59 * MIN_MS, "n", "y", NULL), &t) ==
	    FILTER_DROP && t.calls == 1 && strcmp(t.type, "throttle") == 0 &&
	    strstr(t.why, "3 records") != NULL && strstr(t.why, "1h") != NULL,
	    "the fourth is dropped: %s", t.why);
	ok(pass(fc, fs, rec(T0 + HOUR_MS - 1, "n", "x", NULL), NULL) ==
	    FILTER_DROP, "periods are aligned to the epoch");
	ok(pass(fc, fs, rec(T0 + HOUR_MS, "n", "x", NULL), NULL) ==
	    FILTER_KEEP, "the next hour has a new budget");
	kept = 0;
	for (i = 0; i < 5; i++)
		if (pass(fc, fs, rec(T0 + HOUR_MS + i, "n", "x", NULL), NULL) ==
		    FILTER_KEEP)
			kept++;
	is_int(2, kept, "2 more in the second hour");

	/* A late record does not reset the newest period's budget. */
	ok(pass(fc, fs, rec(T0 + 2 * HOUR_MS + 5 * MIN_MS, "n", "z", NULL),
	    NULL) == FILTER_KEEP, "third hour: the first passes");
	kept = 0;
	for (i = 0; i < 3; i++)
		if (pass(fc, fs, rec(T0 + 10 * MIN_MS + i, "n", "z", NULL),
		    NULL) == FILTER_KEEP)
			kept++;
	for (i = 0; i < 3; i++)
		if (pass(fc, fs, rec(T0 + 2 * HOUR_MS + 20 * MIN_MS + i, "n",
		    "z", NULL), NULL) == FILTER_KEEP)
			kept++;
	is_int(2, kept, "late records count against the newest period: "
	    "3 per hour at most");
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);

	/* Per key. */
	s = mksearch("[{\"type\":\"throttle\",\"count\":1,\"per\":3600,"
	    "\"key\":[\"host\"]}]", 5);
	fc = chain_at(s, T0);
	fs = fstate_new(NULL, s->s_id);
	ok(pass(fc, fs, rec(T0, "host", "a", NULL), NULL) == FILTER_KEEP,
	    "host a passes");
	ok(pass(fc, fs, rec(T0, "host", "b", NULL), NULL) == FILTER_KEEP,
	    "host b has its own budget");
	ok(pass(fc, fs, rec(T0 + 1, "host", "a", NULL), NULL) == FILTER_DROP,
	    "host a again: dropped");
	ok(pass(fc, fs, rec(T0 + 1, "host", "b", NULL), NULL) == FILTER_DROP,
	    "host b again: dropped");
	ok(pass(fc, fs, rec(T0 + 1, "x", "y", NULL), NULL) == FILTER_KEEP,
	    "no host: a budget of its own");
	ok(pass(fc, fs, rec(T0 + HOUR_MS, "host", "a", NULL), NULL) ==
	    FILTER_KEEP, "host a, next hour");
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);
}

static void
test_chain(void)
{
	struct search		*s;
	struct filter_chain	*fc;
	struct fstate		*fs;
	struct trace		 t;
	size_t			 before;

	s = mksearch("[{\"type\":\"dedupe\",\"key\":[\"id\"]},{\"type\":"
	    "\"throttle\",\"count\":2,\"per\":\"1d\"}]", 6);
	fc = chain_at(s, T0);
	fs = fstate_new(NULL, s->s_id);
	memset(&t, 0, sizeof t);
	ok(pass(fc, fs, rec(T0, "id", "1", NULL), &t) == FILTER_KEEP,
	    "1 passes both");
	ok(pass(fc, fs, rec(T0, "id", "1", NULL), &t) == FILTER_DROP &&
	    t.pos == 0 && strcmp(t.type, "dedupe") == 0,
	    "1 again: dropped by the dedupe at 0");
	ok(pass(fc, fs, rec(T0, "id", "2", NULL), &t) == FILTER_KEEP,
	    "2 passes: the duplicate did not use the throttle's budget");
	before = fstate_count(fs);
	ok(pass(fc, fs, rec(T0, "id", "3", NULL), &t) == FILTER_DROP &&
	    t.pos == 1 && strcmp(t.type, "throttle") == 0,
	    "3: dropped by the throttle at 1");
	is_int(2, t.calls, "two traces");
	is_int((int)before, (int)fstate_count(fs),
	    "3 was not alerted: no filter state changed for it");
	filter_chain_free(fc);
	search_unref(s);
	/* The same state with the dedupe alone: 3 was never remembered. */
	s = mksearch("[{\"type\":\"dedupe\",\"key\":[\"id\"]}]", 6);
	fc = chain_at(s, T0);
	ok(pass(fc, fs, rec(T0, "id", "3", NULL), NULL) == FILTER_KEEP,
	    "3 passes the dedupe afterwards");
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);

	/* A search without filters keeps everything. */
	s = mksearch("null", 7);
	fc = chain_at(s, T0);
	fs = fstate_new(NULL, s->s_id);
	ok(pass(fc, fs, rec(T0, "a", "1", NULL), NULL) == FILTER_KEEP &&
	    pass(fc, fs, rec(T0, "a", "1", NULL), NULL) == FILTER_KEEP,
	    "no filters: everything passes");
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);
}

static int
apply_cb(struct store_txn *txn, void *arg)
{
	return (fstate_apply(arg, txn));
}

/* A store in a new directory under the test's tmpdir. */
static struct store *
open_store(struct event_base *base, const char *dir)
{
	struct store	*st;
	char		 err[256];

	if ((st = store_open(base, dir, err, sizeof err)) == NULL)
		bail("store_open %s: %s", dir, err);
	return (st);
}

static void
test_persist(void)
{
	struct event_base	*base;
	struct store		*st;
	struct search		*s;
	struct filter_chain	*fc;
	struct fstate		*fs;
	const void		*v;
	size_t			 vlen;
	char			 dir[512], err[256];

	if ((base = event_base_new()) == NULL)
		bail("event_base_new");
	snprintf(dir, sizeof dir, "%s/fstate.XXXXXX", test_tmpdir());
	if (mkdtemp(dir) == NULL)
		bail("mkdtemp %s", dir);
	s = mksearch("[{\"type\":\"dedupe\",\"key\":[\"src\"],\"within\":"
	    "\"1h\"},{\"type\":\"throttle\",\"count\":2,\"per\":\"1d\"}]", 77);

	/* fstate_get and fstate_put directly. */
	st = open_store(base, dir);
	fs = fstate_new(st, 77);
	ok(fstate_get(fs, 3, "k", 1, &v, &vlen) == 1, "absent key");
	fstate_put(fs, 3, "k", 1, "val", 3);
	ok(fstate_get(fs, 3, "k", 1, &v, &vlen) == 0 && vlen == 3 &&
	    memcmp(v, "val", 3) == 0, "the overlay answers");
	ok(fstate_get(fs, 4, "k", 1, &v, &vlen) == 1,
	    "another position is another key");
	fstate_put(fs, 3, "k", 1, "value2", 6);
	ok(fstate_get(fs, 3, "k", 1, &v, &vlen) == 0 && vlen == 6 &&
	    fstate_count(fs) == 1, "put replaces");
	fstate_free(fs);

	/* Run 1: committed. */
	fc = chain_at(s, T0);
	fs = fstate_new(st, 77);
	ok(pass(fc, fs, rec(T0, "src", "a", NULL), NULL) == FILTER_KEEP &&
	    pass(fc, fs, rec(T0, "src", "a", NULL), NULL) == FILTER_DROP,
	    "run 1: a passes once");
	ok(fstate_count(fs) == 2, "run 1: dedupe and throttle state");
	ok(store_update(st, apply_cb, fs, err, sizeof err) == 0,
	    "run 1 commits its state");
	fstate_free(fs);
	filter_chain_free(fc);

	/* Run 2: a dry run, never committed. */
	fc = chain_at(s, T0);
	fs = fstate_new(st, 77);
	ok(pass(fc, fs, rec(T0 + MIN_MS, "src", "b", NULL), NULL) ==
	    FILTER_KEEP, "run 2 (not committed): b passes");
	fstate_free(fs);
	filter_chain_free(fc);
	store_close(st);

	/* Restart. */
	st = open_store(base, dir);
	fc = chain_at(s, T0 + 5 * MIN_MS);
	fs = fstate_new(st, 77);
	ok(pass(fc, fs, rec(T0 + 5 * MIN_MS, "src", "a", NULL), NULL) ==
	    FILTER_DROP, "after a restart a is still a duplicate");
	ok(pass(fc, fs, rec(T0 + 5 * MIN_MS, "src", "b", NULL), NULL) ==
	    FILTER_KEEP, "b passes: run 2 changed nothing");
	ok(pass(fc, fs, rec(T0 + 5 * MIN_MS, "src", "c", NULL), NULL) ==
	    FILTER_DROP, "c: the throttle remembers run 1 (2 per day)");
	ok(pass(fc, fs, rec(T0 + 61 * MIN_MS, "src", "a", NULL), NULL) ==
	    FILTER_DROP, "a after within: passes dedupe, stopped by throttle");
	ok(store_update(st, apply_cb, fs, err, sizeof err) == 0,
	    "run 3 commits");
	fstate_free(fs);

	/* Another search over the same store has its own state. */
	fs = fstate_new(st, 78);
	ok(pass(fc, fs, rec(T0 + 5 * MIN_MS, "src", "a", NULL), NULL) ==
	    FILTER_KEEP, "search 78 does not see search 77's state");
	fstate_free(fs);
	filter_chain_free(fc);
	store_close(st);

	/* Replay after a second restart decides the same way. */
	st = open_store(base, dir);
	fc = chain_at(s, T0 + 2 * HOUR_MS);
	fs = fstate_new(st, 77);
	ok(pass(fc, fs, rec(T0 + 10 * MIN_MS, "src", "b", NULL), NULL) ==
	    FILTER_DROP, "b kept by run 3 is now a duplicate");
	ok(fstate_get(fs, 0, "x", 1, &v, &vlen) == 1,
	    "unknown keys are absent in the store too");
	fstate_free(fs);
	filter_chain_free(fc);
	store_close(st);

	search_unref(s);
	event_base_free(base);
}

/* What a finished chain passed. */
struct finished {
	int			 calls;
	struct filter_batch	 b;
};

static void
finish_cb(void *arg, struct filter_batch *b)
{
	struct finished	*f = arg;

	f->calls++;
	f->b = *b;
}

/* The field k of r as text ("" if absent), in a static buffer. */
static const char *
field(const struct record *r, const char *k)
{
	static char	 t[128];
	const char	*v;
	size_t		 n;

	if ((v = record_get(r, k, &n)) == NULL)
		return ("");
	snprintf(t, sizeof t, "%.*s", (int)n, v);
	return (t);
}

/*
 * One committed run of s at window [to - 1h, to) over st with n records of
 * host h (then m of host h2 when h2): returns what the spike made.
 */
static struct filter_batch
spike_run(struct store *st, struct search *s, int64_t to, const char *h,
    int n, const char *h2, int m, struct trace *t)
{
	struct filter_env	 fe;
	struct filter_chain	*fc;
	struct fstate		*fs;
	struct finished		 f;
	char			 err[256];
	int			 i;

	memset(&fe, 0, sizeof fe);
	fe.fe_now = to;
	fe.fe_to = to;
	fe.fe_from = to - HOUR_MS;
	fc = filter_chain_new(s, &fe);
	fs = fstate_new(st, s->s_id);
	for (i = 0; i < n; i++)
		if (pass(fc, fs, rec(to - 1, "host", h, NULL), NULL) !=
		    FILTER_DROP)
			bail("spike did not consume a record");
	for (i = 0; i < m; i++)
		if (pass(fc, fs, rec(to - 1, "host", h2, NULL), NULL) !=
		    FILTER_DROP)
			bail("spike did not consume a record");
	memset(&f, 0, sizeof f);
	filter_chain_finish(fc, fs, t != NULL ? trace_cb : NULL, t,
	    finish_cb, &f);
	if (f.calls != 1)
		bail("finish called %d times", f.calls);
	if (store_update(st, apply_cb, fs, err, sizeof err) == -1)
		bail("commit: %s", err);
	fstate_free(fs);
	filter_chain_free(fc);
	return (f.b);
}

static void
test_spike(void)
{
	struct event_base	*base;
	struct store		*st;
	struct search		*s;
	struct filter_batch	 b;
	struct trace		 t;
	int			 i;
	char			 dir[256];

	base = event_base_new();
	snprintf(dir, sizeof dir, "%s/spike", test_tmpdir());
	st = open_store(base, dir);

	/* The whole run as one key: 3 windows of history, then judged. */
	s = mksearch("[{\"type\":\"spike\",\"windows\":3,\"ratio\":3,"
	    "\"direction\":\"both\",\"min_count\":2}]", 90);
	for (i = 0; i < 3; i++) {
		b = spike_run(st, s, T0 + i * HOUR_MS, "a", 10, NULL, 0, NULL);
		ok(b.fb_n == 0, "learning window %d: nothing", i + 1);
		filter_batch_clear(&b);
	}
	b = spike_run(st, s, T0 + 3 * HOUR_MS, "a", 25, NULL, 0, NULL);
	ok(b.fb_n == 0, "25 against a mean of 10 at ratio 3: no spike");
	filter_batch_clear(&b);
	memset(&t, 0, sizeof t);
	b = spike_run(st, s, T0 + 4 * HOUR_MS, "a", 200, NULL, 0, &t);
	ok(b.fb_n == 1, "200 against a mean of 15: a spike");
	if (b.fb_n == 1) {
		is_string(field(b.fb_recs[0], "count"), "200", "count 200");
		is_string(field(b.fb_recs[0], "mean"), "15", "mean 15");
		is_string(field(b.fb_recs[0], "direction"), "\"up\"",
		    "direction up");
		ok(b.fb_recs[0]->r_time == T0 + 4 * HOUR_MS - 1,
		    "its time is the window's end");
	} else
		skip(4, "no spike record");
	ok(t.calls > 0 && strcmp(t.what, "batch") == 0 && t.rec == -1 &&
	    strstr(t.why, "1 of 1 key spiked") != NULL,
	    "the trace tells the batch: %s", t.why);
	filter_batch_clear(&b);
	b = spike_run(st, s, T0 + 5 * HOUR_MS, "a", 0, NULL, 0, NULL);
	ok(b.fb_n == 1 && strcmp(field(b.fb_recs[0], "direction"),
	    "\"down\"") == 0 && strcmp(field(b.fb_recs[0], "count"), "0") == 0,
	    "nothing at all after a mean of 78: a spike down");
	filter_batch_clear(&b);
	search_unref(s);

	/* Per key: only the key that spiked; a known key missing counts 0. */
	s = mksearch("[{\"type\":\"spike\",\"key\":[\"host\"],\"windows\":2,"
	    "\"ratio\":4,\"direction\":\"both\"}]", 91);
	for (i = 0; i < 2; i++) {
		b = spike_run(st, s, T0 + i * HOUR_MS, "web1", 5, "web2", 5,
		    NULL);
		filter_batch_clear(&b);
	}
	b = spike_run(st, s, T0 + 2 * HOUR_MS, "web1", 40, "web2", 6, NULL);
	ok(b.fb_n == 1 && strcmp(field(b.fb_recs[0], "host"), "\"web1\"") ==
	    0, "per key: web1 spiked, web2 did not");
	filter_batch_clear(&b);
	b = spike_run(st, s, T0 + 3 * HOUR_MS, "web1", 40, NULL, 0, NULL);
	ok(b.fb_n == 1 && strcmp(field(b.fb_recs[0], "host"), "\"web2\"") ==
	    0 && strcmp(field(b.fb_recs[0], "direction"), "\"down\"") == 0,
	    "web2 gone silent: a spike down for web2");
	filter_batch_clear(&b);
	search_unref(s);

	/* A run that is not committed moves no history. */
	s = mksearch("[{\"type\":\"spike\",\"windows\":1,\"ratio\":2}]", 92);
	b = spike_run(st, s, T0, "a", 10, NULL, 0, NULL);
	filter_batch_clear(&b);
	{
		struct filter_env	 fe;
		struct filter_chain	*fc;
		struct fstate		*fs;
		struct finished		 f;

		memset(&fe, 0, sizeof fe);
		fe.fe_now = fe.fe_to = T0 + HOUR_MS;
		fc = filter_chain_new(s, &fe);
		fs = fstate_new(st, s->s_id);
		for (i = 0; i < 100; i++)
			(void)pass(fc, fs, rec(T0, "host", "a", NULL), NULL);
		memset(&f, 0, sizeof f);
		filter_chain_finish(fc, fs, NULL, NULL, finish_cb, &f);
		ok(f.calls == 1 && f.b.fb_n == 1, "a dry run sees the spike");
		filter_batch_clear(&f.b);
		fstate_free(fs);
		filter_chain_free(fc);
	}
	b = spike_run(st, s, T0 + 2 * HOUR_MS, "a", 15, NULL, 0, NULL);
	ok(b.fb_n == 0, "15 after 10 (the dry run's 100 never counted)");
	filter_batch_clear(&b);
	search_unref(s);

	/* Filters after a batch filter see what it made. */
	s = mksearch("[{\"type\":\"spike\",\"windows\":1,\"ratio\":2},"
	    "{\"type\":\"throttle\",\"count\":1,\"per\":\"1d\"}]", 93);
	b = spike_run(st, s, T0, "a", 1, NULL, 0, NULL);
	filter_batch_clear(&b);
	b = spike_run(st, s, T0 + HOUR_MS, "a", 5, NULL, 0, NULL);
	ok(b.fb_n == 1, "spike, then throttle: the first spike passes");
	filter_batch_clear(&b);
	b = spike_run(st, s, T0 + 2 * HOUR_MS, "a", 50, NULL, 0, NULL);
	ok(b.fb_n == 0, "the second spike the same day is throttled");
	filter_batch_clear(&b);
	search_unref(s);

	store_close(st);
	event_base_free(base);
}

/* Field k of r as JSON text ("" if absent), in a static buffer. */
static const char *
fieldv(const struct record *r, const char *k)
{
	return (field(r, k));
}

static void
test_exprfilters(void)
{
	struct search		*s;
	struct filter_chain	*fc;
	struct fstate		*fs;
	struct trace		 t;
	struct record		*r;
	size_t			 n;
	const char		*k;

	s = mksearch("[{\"type\":\"expression\",\"expr\":\"status >= 500 or "
	    "user == 'root'\"}]", 10);
	fc = chain_at(s, T0);
	fs = fstate_new(NULL, s->s_id);
	r = rec(T0, "user", "root", NULL);
	record_add_int(r, "status", 200);
	ok(pass(fc, fs, r, NULL) == FILTER_KEEP, "expression: root kept");
	r = rec(T0, "user", "bob", NULL);
	record_add_int(r, "status", 503);
	ok(pass(fc, fs, r, NULL) == FILTER_KEEP, "expression: 503 kept");
	r = rec(T0, "user", "bob", NULL);
	record_add_int(r, "status", 200);
	memset(&t, 0, sizeof t);
	ok(pass(fc, fs, r, &t) == FILTER_DROP && strcmp(t.what, "dropped") ==
	    0 && strstr(t.why, "false") != NULL, "expression: bob 200 dropped");
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);

	/* An error: on_error keep (default), then drop. */
	s = mksearch("[{\"type\":\"expression\",\"expr\":\"1 / n > 0\"}]", 11);
	fc = chain_at(s, T0);
	r = rec(T0, NULL);
	record_add_int(r, "n", 0);
	memset(&t, 0, sizeof t);
	ok(pass(fc, NULL, r, &t) == FILTER_KEEP && strcmp(t.what, "error") ==
	    0 && strstr(t.why, "division by zero") != NULL,
	    "an error keeps by default, traced: %s", t.why);
	k = NULL;
	n = filter_chain_errors(fc, &k);
	ok(n == 1 && k != NULL &&
	    strncmp(k, "filters[0] (expression): ", 25) == 0,
	    "the chain counts it: %s", k != NULL ? k : "");
	filter_chain_free(fc);
	search_unref(s);
	s = mksearch("[{\"type\":\"expression\",\"expr\":\"1 / n > 0\","
	    "\"on_error\":\"drop\"}]", 12);
	fc = chain_at(s, T0);
	r = rec(T0, NULL);
	record_add_int(r, "n", 0);
	ok(pass(fc, NULL, r, NULL) == FILTER_DROP, "on_error drop drops");
	filter_chain_free(fc);
	search_unref(s);

	/* mapvalue then mapkey; what they add stays outside "fields". */
	s = mksearch("[{\"type\":\"mapvalue\",\"set\":{\"user\":\"lower(user)\","
	    "\"n2\":\"n * 2\"}},{\"type\":\"mapkey\",\"map\":{\"src\":\"ip\","
	    "\"secret\":null}}]", 13);
	fc = chain_at(s, T0);
	r = rec(T0, "user", "ALICE", "src", "10.0.0.1", "secret", "pw",
	    "ip", "old", NULL);
	record_add_int(r, "n", 21);
	r->r_nsrc = record_count(r);
	memset(&t, 0, sizeof t);
	ok(filter_chain_record(fc, NULL, r, trace_cb, &t) == FILTER_KEEP,
	    "mapvalue + mapkey keep");
	is_string(fieldv(r, "user"), "\"alice\"", "user lowered");
	is_string(fieldv(r, "n2"), "42", "n2 computed");
	is_string(fieldv(r, "ip"), "\"10.0.0.1\"",
	    "src renamed to ip, replacing the old ip");
	ok(record_find(r, "src", 3) == -1 && record_find(r, "secret", 6) == -1,
	    "src and secret gone");
	n = record_count(r);
	ok(n == 4 && r->r_nsrc == 1, "4 fields, only n still from the source "
	    "(%zu, nsrc %zu)", n, r->r_nsrc);
	ok(t.calls == 2 && strcmp(t.what, "changed") == 0 &&
	    strstr(t.why, "renamed or removed 3 keys") != NULL,
	    "traced: %s", t.why);
	record_free(r);
	filter_chain_free(fc);
	search_unref(s);
}

static void
test_common(void)
{
	struct search		*s;
	struct filter_chain	*fc;
	struct fstate		*fs;

	/* A lifetime counts from the search version. */
	s = mksearch("[{\"type\":\"throttle\",\"count\":1,\"per\":\"1d\","
	    "\"lifetime\":\"1h\"}]", 5);
	s->s_updated = T0;
	fc = chain_at(s, T0 + 30 * MIN_MS);
	fs = fstate_new(NULL, s->s_id);
	ok(pass(fc, fs, rec(T0, "a", "1", NULL), NULL) == FILTER_KEEP &&
	    pass(fc, fs, rec(T0, "a", "2", NULL), NULL) == FILTER_DROP,
	    "within its lifetime the throttle applies");
	fstate_free(fs);
	filter_chain_free(fc);
	fc = chain_at(s, T0 + 61 * MIN_MS);
	fs = fstate_new(NULL, s->s_id);
	ok(pass(fc, fs, rec(T0, "a", "1", NULL), NULL) == FILTER_KEEP &&
	    pass(fc, fs, rec(T0, "a", "2", NULL), NULL) == FILTER_KEEP,
	    "past its lifetime it no longer applies");
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);

	/* ... or is a time. */
	s = mksearch("[{\"type\":\"throttle\",\"count\":1,\"per\":\"1d\","
	    "\"lifetime\":\"2026-11-23T19:30:00Z\",\"comment\":\"x\","
	    "\"on_error\":\"drop\"}]", 6);
	fc = chain_at(s, T0 + 29 * MIN_MS);
	fs = fstate_new(NULL, s->s_id);
	ok(pass(fc, fs, rec(T0, "a", "1", NULL), NULL) == FILTER_KEEP &&
	    pass(fc, fs, rec(T0, "a", "2", NULL), NULL) == FILTER_DROP,
	    "before its end time it applies");
	fstate_free(fs);
	filter_chain_free(fc);
	fc = chain_at(s, T0 + 30 * MIN_MS);
	fs = fstate_new(NULL, s->s_id);
	ok(pass(fc, fs, rec(T0, "a", "1", NULL), NULL) == FILTER_KEEP &&
	    pass(fc, fs, rec(T0, "a", "2", NULL), NULL) == FILTER_KEEP,
	    "at its end time it is gone");
	ok(!filter_chain_has_batch(fc) && filter_chain_errors(fc, NULL) == 0,
	    "no batch filter, no errors");
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);
}

int
main(void)
{
	plan((int)(sizeof bads / sizeof bads[0]) + 3 + 23 + 10 + 13 + 8 +
	    16 + 17 + 5 + 13);
	test_validate();
	test_dedupe_key();
	test_dedupe_content();
	test_throttle();
	test_chain();
	test_persist();
	test_spike();
	test_common();
	test_exprfilters();
	return (test_done());
}
