/*
 * test_filter_more.c -- the regex, hash, newterm and change filters: their
 * options, their decisions, their state across runs over a real store,
 * and the lifetime every filter has.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "alert.h"
#include "filter.h"
#include "json.h"
#include "record.h"
#include "search.h"
#include "store.h"
#include "filtertest.h"
#include "tap.h"
#include "xmalloc.h"

static void
finish_cb(void *arg, struct filter_batch *b)
{
	struct filter_batch	*out = arg;

	*out = *b;
}

/* The end of a run: what passed, into out (the caller clears it). */
static void
finish(struct filter_chain *fc, struct fstate *fs, struct trace *t,
    struct filter_batch *out)
{
	memset(out, 0, sizeof *out);
	filter_chain_finish(fc, fs, t != NULL ? trace_cb : NULL, t, finish_cb,
	    out);
}

/* Records kept by pass2, for finish2. */
static struct filter_batch passed;

/* Pass r through the chain: kept records are collected for finish2. */
static enum filter_verdict
pass2(struct filter_chain *fc, struct fstate *fs, struct record *r,
    struct trace *t)
{
	enum filter_verdict	 v;

	v = filter_chain_record(fc, fs, r, t != NULL ? trace_cb : NULL, t);
	if (v == FILTER_KEEP)
		filter_batch_add(&passed, r);
	else if (v != FILTER_HELD)
		record_free(r);
	return (v);
}

/* The end of a run of pass2: every record that passed, into out. */
static void
finish2(struct filter_chain *fc, struct fstate *fs, struct trace *t,
    struct filter_batch *out)
{
	struct filter_batch	 b;
	size_t			 i;

	finish(fc, fs, t, &b);
	*out = passed;
	memset(&passed, 0, sizeof passed);
	for (i = 0; i < b.fb_n; i++)
		filter_batch_add(out, b.fb_recs[i]);
	free(b.fb_recs);
}

/* Whether JSON value of key in r is v. */
static int
has(const struct record *r, const char *key, const char *v)
{
	const char	*x;
	size_t		 n;

	if ((x = record_get(r, key, &n)) == NULL)
		return (v == NULL);
	return (v != NULL && n == strlen(v) && memcmp(x, v, n) == 0);
}

struct bad {
	const char	*json;
	const char	*field;
	const char	*msg;		/* a part of the message */
};

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct bad bads[] = {
	{ "[{}]", "filters[0].type", "*regex, hash, newterm, change" },
	/* regex */
	{ "[{\"type\":\"regex\"}]", "filters[0].pattern",
	    "regex: is required" },
	{ "[{\"type\":\"regex\",\"pattern\":5}]", "filters[0].pattern",
	    "regex: must be a non-empty string" },
	{ "[{\"type\":\"regex\",\"pattern\":\"\"}]", "filters[0].pattern",
	    "regex: must be a non-empty string" },
	{ "[{\"type\":\"regex\",\"pattern\":\"ab(cd\"}]",
	    "filters[0].pattern", "regex: at 5: missing closing parenthesis" },
	{ "[{\"type\":\"regex\",\"pattern\":\"a{2,1}\"}]",
	    "filters[0].pattern", "regex: at " },
	{ "[{\"type\":\"regex\",\"pattern\":\"x\",\"key\":1}]",
	    "filters[0].key", "regex: must be a non-empty field name" },
	{ "[{\"type\":\"regex\",\"pattern\":\"x\",\"key\":\"\"}]",
	    "filters[0].key", "regex: must be a non-empty field name" },
	{ "[{\"type\":\"regex\",\"pattern\":\"x\",\"exclude\":\"yes\"}]",
	    "filters[0].exclude", "regex: must be true or false" },
	{ "[{\"type\":\"regex\",\"pattern\":\"x\",\"case_insensitive\":1}]",
	    "filters[0].case_insensitive", "regex: must be true or false" },
	{ "[{\"type\":\"regex\",\"pattern\":\"x\",\"keys\":[\"a\"]}]",
	    "filters[0].keys", "regex: unknown option (options: pattern, key" },
	{ "[{\"type\":\"regex\",\"pattern\":\"x\",\"on_error\":\"skip\"}]",
	    "filters[0].on_error", "regex: must be \"keep\" or \"drop\"" },
	{ "[{\"type\":\"regex\",\"pattern\":\"x\",\"lifetime\":\"soon\"}]",
	    "filters[0].lifetime", "regex:" },
	/* hash */
	{ "[{\"type\":\"hash\"}]", "filters[0].hashes", "hash: is required" },
	{ "[{\"type\":\"hash\",\"hashes\":\"sha256:" H64 "\"}]",
	    "filters[0].hashes", "hash: must be a list of 1 to 100000" },
	{ "[{\"type\":\"hash\",\"hashes\":[]}]", "filters[0].hashes",
	    "hash: must be a list" },
	{ "[{\"type\":\"hash\",\"hashes\":[\"sha256:" H64 "\",\"md5:"
	    "0123456789abcdef0123456789abcdef\"]}]", "filters[0].hashes[1]",
	    "hash: must be \"sha256:\" and 64 hex digits" },
	{ "[{\"type\":\"hash\",\"hashes\":[\"sha256:0123\"]}]",
	    "filters[0].hashes[0]", "hash: must be" },
	{ "[{\"type\":\"hash\",\"hashes\":[\"sha256:" H64 "00\"]}]",
	    "filters[0].hashes[0]", "hash: must be" },
	{ "[{\"type\":\"hash\",\"hashes\":[\"sha256:xyz456789abcdef0123456789"
	    "abcdef0123456789abcdef0123456789abcdef\"]}]",
	    "filters[0].hashes[0]", "hash: must be" },
	{ "[{\"type\":\"hash\",\"hashes\":[7]}]", "filters[0].hashes[0]",
	    "hash: must be" },
	{ "[{\"type\":\"hash\",\"hashes\":[\"sha256:" H64 "\"],\"fields\":"
	    "[]}]", "filters[0].fields", "hash: must be a list" },
	{ "[{\"type\":\"hash\",\"hashes\":[\"sha256:" H64 "\"],\"fields\":"
	    "[\"\"]}]", "filters[0].fields", "hash: field names" },
	{ "[{\"type\":\"hash\",\"hashes\":[\"sha256:" H64 "\"],\"key\":"
	    "[\"a\"]}]", "filters[0].key", "hash: unknown option" },
	/* newterm */
	{ "[{\"type\":\"newterm\"}]", "filters[0].key", "newterm: is required" },
	{ "[{\"type\":\"newterm\",\"key\":\"user\"}]", "filters[0].key",
	    "newterm: must be a list of 1 to 32 field names" },
	{ "[{\"type\":\"newterm\",\"key\":[]}]", "filters[0].key",
	    "newterm: must be a list" },
	{ "[{\"type\":\"newterm\",\"key\":[\"a\",\"\"]}]", "filters[0].key",
	    "newterm: field names must be non-empty" },
	{ "[{\"type\":\"newterm\",\"key\":[\"a\"],\"expire\":\"often\"}]",
	    "filters[0].expire", "newterm:" },
	{ "[{\"type\":\"newterm\",\"key\":[\"a\"],\"expire\":0}]",
	    "filters[0].expire", "newterm: must be at least 1s" },
	{ "[{\"type\":\"newterm\",\"key\":[\"a\"],\"expire\":true}]",
	    "filters[0].expire", "newterm: must be a duration" },
	{ "[{\"type\":\"newterm\",\"key\":[\"a\"],\"learn\":\"0s\"}]",
	    "filters[0].learn", "newterm: must be at least 1s" },
	{ "[{\"type\":\"newterm\",\"key\":[\"a\"],\"learn\":[1]}]",
	    "filters[0].learn", "newterm: must be a duration" },
	{ "[{\"type\":\"newterm\",\"key\":[\"a\"],\"within\":\"1d\"}]",
	    "filters[0].within", "newterm: unknown option (options: key, "
	    "expire, learn, lifetime" },
	/* change */
	{ "[{\"type\":\"change\"}]", "filters[0].field", "change: is required" },
	{ "[{\"type\":\"change\",\"field\":\"\"}]", "filters[0].field",
	    "change: must be a non-empty field name" },
	{ "[{\"type\":\"change\",\"field\":[\"a\"]}]", "filters[0].field",
	    "change: must be a non-empty field name" },
	{ "[{\"type\":\"change\",\"field\":\"s\",\"key\":\"host\"}]",
	    "filters[0].key", "change: must be a list" },
	{ "[{\"type\":\"change\",\"field\":\"s\",\"key\":[3]}]",
	    "filters[0].key", "change: field names" },
	{ "[{\"type\":\"change\",\"field\":\"s\",\"first\":\"keep\"}]",
	    "filters[0].first", "change: must be \"pass\" or \"drop\"" },
	{ "[{\"type\":\"change\",\"field\":\"s\",\"first\":true}]",
	    "filters[0].first", "change: must be" },
	{ "[{\"type\":\"change\",\"field\":\"s\",\"add_previous\":1}]",
	    "filters[0].add_previous", "change: must be true or false" },
	{ "[{\"type\":\"change\",\"field\":\"s\",\"fields\":[\"a\"]}]",
	    "filters[0].fields", "change: unknown option" },
	{ "[{\"type\":\"change\",\"field\":\"s\"},{\"type\":\"regex\"}]",
	    "filters[1].pattern", "regex: is required" },
};

static void
test_validate(void)
{
	struct search_err	 err;
	struct json		*j;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		j = parse(bads[i].json);
		memset(&err, 0, sizeof err);
		rc = filter_validate(j, &err);
		/* The message starts with msg ("*msg": has it). */
		ok(rc == -1 && strcmp(err.se_field, bads[i].field) == 0 &&
		    (bads[i].msg[0] == '*' ? strstr(err.se_message,
		    bads[i].msg + 1) != NULL : strncmp(err.se_message,
		    bads[i].msg, strlen(bads[i].msg)) == 0),
		    "%s refused: %s", bads[i].field, err.se_message);
		if (rc == -1 && strcmp(err.se_field, bads[i].field) != 0)
			diag("%s: field %s", bads[i].json, err.se_field);
		json_free(j);
	}

	j = parse("[{\"type\":\"regex\",\"pattern\":\"^a\"},"
	    "{\"type\":\"regex\",\"pattern\":\"b\",\"key\":\"msg\","
	    "\"exclude\":true,\"case_insensitive\":true,\"on_error\":\"drop\","
	    "\"lifetime\":\"7d\",\"comment\":\"no b\"},"
	    "{\"type\":\"hash\",\"hashes\":[\"sha256:" H64 "\",\"SHA256:" H64
	    "\"]},"
	    "{\"type\":\"hash\",\"hashes\":[\"sha256:" H64 "\"],\"fields\":"
	    "[\"a\",\"b.c\"]},"
	    "{\"type\":\"newterm\",\"key\":[\"user\",\"ip\"],\"expire\":"
	    "\"30d\",\"learn\":3600},"
	    "{\"type\":\"change\",\"field\":\"status\",\"key\":[\"host\"],"
	    "\"first\":\"pass\",\"add_previous\":true}]");
	rc = filter_validate(j, &err);
	ok(rc == -1 && strcmp(err.se_field, "filters[2].hashes[1]") == 0,
	    "the hash prefix is lower case");
	json_free(j);
	j = parse("[{\"type\":\"regex\",\"pattern\":\"^a\"},"
	    "{\"type\":\"regex\",\"pattern\":\"b\",\"key\":\"msg\","
	    "\"exclude\":true,\"case_insensitive\":true,\"on_error\":\"drop\","
	    "\"lifetime\":\"7d\",\"comment\":\"no b\"},"
	    "{\"type\":\"hash\",\"hashes\":[\"sha256:" H64 "\",\"sha256:"
	    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
	    "\"]},"
	    "{\"type\":\"hash\",\"hashes\":[\"sha256:" H64 "\"],\"fields\":"
	    "[\"a\",\"b.c\"]},"
	    "{\"type\":\"newterm\",\"key\":[\"user\",\"ip\"],\"expire\":"
	    "\"30d\",\"learn\":3600},"
	    "{\"type\":\"change\",\"field\":\"status\",\"key\":[\"host\"],"
	    "\"first\":\"pass\",\"add_previous\":true},"
	    "{\"type\":\"change\",\"field\":\"status\"}]");
	memset(&err, 0, sizeof err);
	ok(filter_validate(j, &err) == 0, "every option accepted: %s %s",
	    err.se_field, err.se_message);
	json_free(j);
}

static void
test_regex(void)
{
	struct search		*s;
	struct filter_chain	*fc;
	struct trace		 t;
	struct record		*r;

	/* Include on one key. */
	s = mksearch("[{\"type\":\"regex\",\"pattern\":\"^ssh[d]?\\\\[\","
	    "\"key\":\"prog\"}]", 1);
	fc = chain_at(s, T0);
	memset(&t, 0, sizeof t);
	ok(pass(fc, NULL, rec(T0, "prog", "sshd[12]", NULL), &t) ==
	    FILTER_KEEP && t.calls == 0, "include: a match passes, no trace");
	ok(pass(fc, NULL, rec(T0, "prog", "cron[1]", NULL), &t) ==
	    FILTER_DROP, "include: no match is dropped");
	ok(t.calls == 1 && strcmp(t.type, "regex") == 0 &&
	    strcmp(t.what, "dropped") == 0 &&
	    strstr(t.why, "field \"prog\" does not match /^ssh[d]?\\[/") !=
	    NULL, "traced: %s", t.why);
	ok(pass(fc, NULL, rec(T0, "msg", "sshd[1]", NULL), &t) == FILTER_DROP &&
	    strstr(t.why, "no field \"prog\"") != NULL,
	    "include: a missing key is no match: %s", t.why);
	ok(pass(fc, NULL, rec(T0, "prog", "SSHD[1]", NULL), NULL) ==
	    FILTER_DROP, "case matters by default");
	r = rec(T0, NULL);
	record_add(r, "prog", 4, "\"ssh\\u005b9\"", 12);
	ok(pass(fc, NULL, r, NULL) == FILTER_KEEP,
	    "the decoded string is matched (\\u005b is [)");
	filter_chain_free(fc);
	search_unref(s);

	/* Exclude, case-insensitive. */
	s = mksearch("[{\"type\":\"regex\",\"pattern\":\"error\",\"key\":"
	    "\"msg\",\"exclude\":true,\"case_insensitive\":true}]", 2);
	fc = chain_at(s, T0);
	ok(pass(fc, NULL, rec(T0, "msg", "all fine", NULL), NULL) ==
	    FILTER_KEEP, "exclude: no match passes");
	memset(&t, 0, sizeof t);
	ok(pass(fc, NULL, rec(T0, "msg", "an ERROR here", NULL), &t) ==
	    FILTER_DROP, "exclude: a match (any case) is dropped");
	ok(strstr(t.why, "field \"msg\" matches /error/") != NULL,
	    "traced: %s", t.why);
	ok(pass(fc, NULL, rec(T0, "other", "error", NULL), NULL) ==
	    FILTER_KEEP, "exclude: a missing key passes");
	filter_chain_free(fc);
	search_unref(s);

	/* Any key: strings decoded, other values as JSON text. */
	s = mksearch("[{\"type\":\"regex\",\"pattern\":\"^4[0-9]{2}$\"}]", 3);
	fc = chain_at(s, T0);
	r = rec(T0, "a", "x", NULL);
	record_add_int(r, "status", 404);
	ok(pass(fc, NULL, r, NULL) == FILTER_KEEP,
	    "any key: a number matches as its text");
	ok(pass(fc, NULL, rec(T0, "a", "x", "b", "418", NULL), NULL) ==
	    FILTER_KEEP, "any key: the second field matches");
	memset(&t, 0, sizeof t);
	ok(pass(fc, NULL, rec(T0, "a", "x", "b", "4180", NULL), &t) ==
	    FILTER_DROP && strstr(t.why, "no field matches") != NULL,
	    "any key: no field matches: %s", t.why);
	ok(pass(fc, NULL, rec(T0, NULL), NULL) == FILTER_DROP,
	    "any key: an empty record does not match");
	r = rec(T0, NULL);
	record_add(r, "q", 1, "\"\\u0034\\u0030\\u0030\"", 20);
	ok(pass(fc, NULL, r, NULL) == FILTER_KEEP,
	    "any key: an escaped string is decoded");
	r = rec(T0, NULL);
	record_add(r, "arr", 3, "[400]", 5);
	ok(pass(fc, NULL, r, NULL) == FILTER_DROP,
	    "any key: an array is matched as its JSON text");
	filter_chain_free(fc);
	search_unref(s);

	/* Exclude on any key, with the matching field named. */
	s = mksearch("[{\"type\":\"regex\",\"pattern\":\"^10\\\\.\","
	    "\"exclude\":true}]", 4);
	fc = chain_at(s, T0);
	memset(&t, 0, sizeof t);
	ok(pass(fc, NULL, rec(T0, "user", "bob", "src.ip", "10.1.2.3", NULL),
	    &t) == FILTER_DROP && strstr(t.why, "\"src.ip\"") != NULL,
	    "exclude on any key names the field: %s", t.why);
	ok(pass(fc, NULL, rec(T0, "user", "bob", "src.ip", "192.0.2.1", NULL),
	    NULL) == FILTER_KEEP, "exclude on any key: no match passes");
	filter_chain_free(fc);
	search_unref(s);

	/* UTF-8 and a caseless non-ASCII match. */
	s = mksearch("[{\"type\":\"regex\",\"pattern\":\"^\xc3\xa9t\xc3\xa9$\","
	    "\"key\":\"w\",\"case_insensitive\":true}]", 5);
	fc = chain_at(s, T0);
	ok(pass(fc, NULL, rec(T0, "w", "\xc3\x89T\xc3\x89", NULL), NULL) ==
	    FILTER_KEEP, "caseless UTF-8 match");
	ok(pass(fc, NULL, rec(T0, "w", "ete", NULL), NULL) == FILTER_DROP,
	    "no accent, no match");
	filter_chain_free(fc);
	search_unref(s);
}

/* 40 'a's and a 'b': catastrophic for (a+)+$. */
#define BAD_INPUT "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"

static void
test_regex_limit(void)
{
	struct search		*s;
	struct filter_chain	*fc;
	struct trace		 t;
	const char		*first;

	s = mksearch("[{\"type\":\"regex\",\"pattern\":\"(a+)+$\",\"key\":"
	    "\"m\"}]", 6);
	fc = chain_at(s, T0);
	memset(&t, 0, sizeof t);
	ok(pass(fc, NULL, rec(T0, "m", BAD_INPUT, NULL), &t) == FILTER_KEEP,
	    "a match that hits the limit: on_error keep (the default)");
	ok(t.calls == 1 && strcmp(t.what, "error") == 0 &&
	    strstr(t.why, "limit") != NULL, "traced as an error: %s", t.why);
	ok(filter_chain_errors(fc, &first) == 1 && first != NULL &&
	    strstr(first, "filters[0] (regex): /(a+)+$/ hit the") == first,
	    "counted as a filter error: %s", first ? first : "(none)");
	ok(pass(fc, NULL, rec(T0, "m", "aaa", NULL), NULL) == FILTER_KEEP,
	    "an easy input still matches");
	ok(pass(fc, NULL, rec(T0, "m", "b", NULL), NULL) == FILTER_DROP,
	    "an easy non-match is still dropped");
	ok(filter_chain_errors(fc, NULL) == 1, "no other error");
	filter_chain_free(fc);
	search_unref(s);

	s = mksearch("[{\"type\":\"regex\",\"pattern\":\"(a+)+$\",\"key\":"
	    "\"m\",\"on_error\":\"drop\"}]", 7);
	fc = chain_at(s, T0);
	ok(pass(fc, NULL, rec(T0, "m", BAD_INPUT, NULL), NULL) ==
	    FILTER_DROP, "on_error drop: dropped");
	ok(pass(fc, NULL, rec(T0, "m", BAD_INPUT, NULL), NULL) ==
	    FILTER_DROP && filter_chain_errors(fc, NULL) == 2,
	    "every such record is an error");
	filter_chain_free(fc);
	search_unref(s);

	/* Exclude with the limit: on_error decides, not the match. */
	s = mksearch("[{\"type\":\"regex\",\"pattern\":\"(a+)+$\","
	    "\"exclude\":true}]", 8);
	fc = chain_at(s, T0);
	ok(pass(fc, NULL, rec(T0, "m", BAD_INPUT, NULL), NULL) ==
	    FILTER_KEEP, "exclude, any key, on_error keep: kept");
	filter_chain_free(fc);
	search_unref(s);
}

/* The compiled-pattern cache: more patterns than it keeps. */
static void
test_regex_cache(void)
{
	struct search		*s[1100];
	struct filter_chain	*fc[1100];
	char			 f[128], v[32];
	size_t			 i, good;

	for (i = 0; i < 1100; i++) {
		snprintf(f, sizeof f, "[{\"type\":\"regex\",\"pattern\":"
		    "\"^v%zu$\",\"key\":\"k\"}]", i);
		s[i] = mksearch(f, 100 + i);
	}
	/* All in use at once: past 1024 they are not cached. */
	for (i = 0; i < 1100; i++)
		fc[i] = chain_at(s[i], T0);
	for (i = good = 0; i < 1100; i++) {
		snprintf(v, sizeof v, "v%zu", i);
		if (pass(fc[i], NULL, rec(T0, "k", v, NULL), NULL) ==
		    FILTER_KEEP && pass(fc[i], NULL, rec(T0, "k", "v", NULL),
		    NULL) == FILTER_DROP)
			good++;
	}
	ok(good == 1100, "1100 patterns in use at once: %zu right", good);
	for (i = 0; i < 1100; i++)
		filter_chain_free(fc[i]);
	/* One at a time, twice: unused entries are evicted. */
	for (i = good = 0; i < 2200; i++) {
		fc[0] = chain_at(s[(i * 7) % 1100], T0);
		snprintf(v, sizeof v, "v%zu", (i * 7) % 1100);
		if (pass(fc[0], NULL, rec(T0, "k", v, NULL), NULL) ==
		    FILTER_KEEP)
			good++;
		filter_chain_free(fc[0]);
	}
	ok(good == 2200, "2200 runs over 1100 patterns: %zu right", good);
	for (i = 0; i < 1100; i++)
		search_unref(s[i]);
}

/* The content hash the alert of r in search s would get. */
static void
alert_hash_of(const struct search *s, const struct record *r, char *out)
{
	struct alert	*a;

	a = alert_from_record(s, r, T0);
	alert_hash(a);
	memcpy(out, a->a_hash, ALERT_HASH_LEN);
	alert_free(a);
}

static void
test_hash(void)
{
	struct search		*plain, *s;
	struct filter_chain	*fc;
	struct record		*r, *r2;
	struct trace		 t;
	char			 h1[ALERT_HASH_LEN], h2[ALERT_HASH_LEN];
	char			 h3[ALERT_HASH_LEN], f[512];

	plain = mksearch("[]", 10);
	r = rec(T0, "user", "bob", "src.ip", "10.0.0.1", NULL);
	record_add_int(r, "n", 7);
	alert_hash_of(plain, r, h1);
	r2 = rec(T0, "user", "alice", NULL);
	alert_hash_of(plain, r2, h2);
	record_free(r2);
	ok(strncmp(h1, "sha256:", 7) == 0 && strcmp(h1, h2) != 0,
	    "two records, two hashes");

	snprintf(f, sizeof f, "[{\"type\":\"hash\",\"hashes\":[\"%s\"]}]", h1);
	s = mksearch(f, 10);
	fc = chain_at(s, T0);
	memset(&t, 0, sizeof t);
	ok(pass(fc, NULL, r, &t) == FILTER_DROP,
	    "a record whose alert hash is listed is dropped");
	ok(t.calls == 1 && strcmp(t.type, "hash") == 0 &&
	    strstr(t.why, "is listed") != NULL &&
	    strncmp(strstr(t.why, "sha256:"), h1, 16) == 0, "traced: %s",
	    t.why);
	ok(pass(fc, NULL, rec(T0, "user", "alice", NULL), NULL) ==
	    FILTER_KEEP, "another record passes");
	/* Field order does not change the canonical content. */
	r = rec(T0, NULL);
	record_add_int(r, "n", 7);
	record_add_str(r, "src.ip", "10.0.0.1", 8);
	record_add_str(r, "user", "bob", 3);
	ok(pass(fc, NULL, r, NULL) == FILTER_DROP,
	    "the same content in another order: dropped");
	r = rec(T0, "user", "bob", "src.ip", "10.0.0.1", NULL);
	record_add_int(r, "n", 8);
	ok(pass(fc, NULL, r, NULL) == FILTER_KEEP,
	    "one value differs: passes");
	r = rec(T0, "user", "bob", "src.ip", "10.0.0.1", NULL);
	record_add_int(r, "n", 7);
	record_add_str(r, "user", "eve", 3);
	ok(pass(fc, NULL, r, NULL) == FILTER_DROP,
	    "a repeated key keeps its first value, as in the alert");
	filter_chain_free(fc);
	search_unref(s);

	/* Upper-case hex is the same hash. */
	snprintf(f, sizeof f, "[{\"type\":\"hash\",\"hashes\":[\"%s\","
	    "\"sha256:", h2);
	for (size_t i = 7; i < strlen(h1); i++) {
		char c = h1[i];

		snprintf(f + strlen(f), sizeof f - strlen(f), "%c",
		    c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c);
	}
	snprintf(f + strlen(f), sizeof f - strlen(f), "\"]}]");
	s = mksearch(f, 11);
	fc = chain_at(s, T0);
	r = rec(T0, "user", "bob", "src.ip", "10.0.0.1", NULL);
	record_add_int(r, "n", 7);
	ok(pass(fc, NULL, r, NULL) == FILTER_DROP,
	    "upper-case hex matches too");
	ok(pass(fc, NULL, rec(T0, "user", "alice", NULL), NULL) == FILTER_DROP,
	    "the second hash of the list");
	filter_chain_free(fc);
	search_unref(s);
	search_unref(plain);

	/* A search with "fields": the filter's "fields" match its alerts. */
	plain = mksearch2(",\"fields\":[\"user\",\"src\"]", "[]", 12);
	r = rec(T0, "user", "bob", "src.ip", "10.0.0.1", "msg", "x", NULL);
	alert_hash_of(plain, r, h3);
	search_unref(plain);
	snprintf(f, sizeof f, "[{\"type\":\"hash\",\"hashes\":[\"%s\"],"
	    "\"fields\":[\"user\",\"src\"]}]", h3);
	s = mksearch2(",\"fields\":[\"user\",\"src\"]", f, 12);
	fc = chain_at(s, T0);
	ok(pass(fc, NULL, r, NULL) == FILTER_DROP,
	    "with fields: the alert's hash of those fields");
	ok(pass(fc, NULL, rec(T0, "user", "bob", "src.ip", "10.0.0.1", "msg",
	    "other", NULL), NULL) == FILTER_DROP,
	    "with fields: other fields do not count");
	ok(pass(fc, NULL, rec(T0, "user", "bob", "src.ip", "10.0.0.2", NULL),
	    NULL) == FILTER_KEEP, "with fields: a selected field differs");
	filter_chain_free(fc);
	search_unref(s);
	snprintf(f, sizeof f, "[{\"type\":\"hash\",\"hashes\":[\"%s\"]}]", h3);
	s = mksearch2(",\"fields\":[\"user\",\"src\"]", f, 13);
	fc = chain_at(s, T0);
	ok(pass(fc, NULL, rec(T0, "user", "bob", "src.ip", "10.0.0.1", "msg",
	    "x", NULL), NULL) == FILTER_KEEP,
	    "without the filter's fields the whole record is hashed");
	filter_chain_free(fc);
	search_unref(s);
}

/* A filter list with n hashes, the last being h. */
static void
test_hash_many(void)
{
	struct search		*plain, *s;
	struct filter_chain	*fc;
	struct record		*r;
	char			 h[ALERT_HASH_LEN];
	struct json		*j;
	struct search_err	 err;
	char			*text, *p;
	size_t			 i, n = 100000, len;

	plain = mksearch("[]", 14);
	r = rec(T0, "k", "needle", NULL);
	alert_hash_of(plain, r, h);
	search_unref(plain);
	len = 64 + n * (ALERT_HASH_LEN + 3);
	text = xmalloc(len);
	p = text + snprintf(text, len, "[{\"type\":\"hash\",\"hashes\":[");
	for (i = 0; i + 1 < n; i++)
		p += snprintf(p, len - (size_t)(p - text), "\"sha256:%064zx\",",
		    i);
	snprintf(p, len - (size_t)(p - text), "\"%s\"]}]", h);
	s = mksearch(text, 14);
	fc = chain_at(s, T0);
	ok(pass(fc, NULL, r, NULL) == FILTER_DROP,
	    "100000 hashes: the last one is found");
	ok(pass(fc, NULL, rec(T0, "k", "hay", NULL), NULL) == FILTER_KEEP,
	    "100000 hashes: another record passes");
	filter_chain_free(fc);
	search_unref(s);
	/* One more is refused. */
	len += ALERT_HASH_LEN + 3;
	text = xrealloc(text, len);
	p = text + snprintf(text, len, "[{\"type\":\"hash\",\"hashes\":[");
	for (i = 0; i < n + 1; i++)
		p += snprintf(p, len - (size_t)(p - text), "%s\"sha256:%064zx\"",
		    i ? "," : "", i);
	snprintf(p, len - (size_t)(p - text), "]}]");
	j = parse(text);
	memset(&err, 0, sizeof err);
	ok(filter_validate(j, &err) == -1 &&
	    strcmp(err.se_field, "filters[0].hashes") == 0,
	    "100001 hashes refused: %s", err.se_message);
	json_free(j);
	free(text);
}

static int
apply_cb(struct store_txn *txn, void *arg)
{
	return (fstate_apply(arg, txn));
}

/* A store in a new directory under the test's tmpdir. */
static struct store *
open_store(struct event_base *base, char *dir, size_t dirsize)
{
	struct store	*st;
	char		 err[256];

	if (dir[0] == '\0') {
		snprintf(dir, dirsize, "%s/fstate.XXXXXX", test_tmpdir());
		if (mkdtemp(dir) == NULL)
			bail("mkdtemp %s", dir);
	}
	if ((st = store_open(base, dir, err, sizeof err)) == NULL)
		bail("store_open %s: %s", dir, err);
	return (st);
}

/* Commit a run's state. */
static int
commit(struct store *st, struct fstate *fs)
{
	char	 err[256];

	if (store_update(st, apply_cb, fs, err, sizeof err) == -1) {
		diag("store_update: %s", err);
		return (-1);
	}
	return (0);
}

static void
test_newterm(void)
{
	struct event_base	*base;
	struct store		*st;
	struct search		*s;
	struct filter_chain	*fc;
	struct fstate		*fs;
	struct filter_batch	 out;
	struct trace		 t;
	char			 dir[512] = "";

	if ((base = event_base_new()) == NULL)
		bail("event_base_new");
	s = mksearch("[{\"type\":\"newterm\",\"key\":[\"user\",\"ip\"]}]", 20);
	st = open_store(base, dir, sizeof dir);

	/* Run 1. */
	fc = chain_at(s, T0);
	fs = fstate_new(st, 20);
	ok(!filter_chain_has_batch(fc), "newterm decides as records stream in");
	ok(pass2(fc, fs, rec(T0, "user", "bob", "ip", "1", NULL), NULL) ==
	    FILTER_KEEP, "run 1: bob@1 is new");
	ok(pass2(fc, fs, rec(T0, "user", "bob", "ip", "2", NULL), NULL) ==
	    FILTER_KEEP, "run 1: bob@2 is new (a tuple)");
	memset(&t, 0, sizeof t);
	ok(pass2(fc, fs, rec(T0 + MIN_MS, "user", "bob", "ip", "1", NULL),
	    &t) == FILTER_DROP, "run 1: bob@1 again is dropped");
	ok(strcmp(t.what, "dropped") == 0 && strstr(t.why,
	    "user=\"bob\", ip=\"1\" was seen 1m before") != NULL, "traced: %s",
	    t.why);
	ok(pass2(fc, fs, rec(T0, "x", "y", NULL), NULL) == FILTER_KEEP &&
	    pass2(fc, fs, rec(T0, "z", "w", NULL), NULL) == FILTER_DROP,
	    "no key field: the term of nulls, new once");
	memset(&t, 0, sizeof t);
	finish2(fc, fs, &t, &out);
	ok(out.fb_n == 3 && has(out.fb_recs[0], "ip", "\"1\"") &&
	    has(out.fb_recs[1], "ip", "\"2\"") &&
	    has(out.fb_recs[2], "x", "\"y\""), "run 1: 3 records pass");
	ok(t.calls == 0, "no end-of-run step: nothing traced at the end");
	filter_batch_clear(&out);
	ok(commit(st, fs) == 0, "run 1 commits");
	fstate_free(fs);
	filter_chain_free(fc);

	/* Run 2, a dry run: not committed. */
	fc = chain_at(s, T0 + HOUR_MS);
	fs = fstate_new(st, 20);
	ok(pass2(fc, fs, rec(T0 + HOUR_MS, "user", "bob", "ip", "1", NULL),
	    NULL) == FILTER_DROP, "run 2: bob@1 known from run 1");
	ok(pass2(fc, fs, rec(T0 + HOUR_MS, "user", "eve", "ip", "1", NULL),
	    NULL) == FILTER_KEEP, "run 2 (dry): eve@1 is new");
	finish2(fc, fs, NULL, &out);
	ok(out.fb_n == 1, "run 2: one passes");
	filter_batch_clear(&out);
	fstate_free(fs);
	filter_chain_free(fc);
	store_close(st);

	/* Restart; run 3. */
	st = open_store(base, dir, sizeof dir);
	fc = chain_at(s, T0 + 2 * HOUR_MS);
	fs = fstate_new(st, 20);
	ok(pass2(fc, fs, rec(T0 + 2 * HOUR_MS, "user", "eve", "ip", "1", NULL),
	    NULL) == FILTER_KEEP, "after a restart: eve@1 still new (run 2 "
	    "was dry)");
	ok(pass2(fc, fs, rec(T0 + 2 * HOUR_MS, "user", "bob", "ip", "2", NULL),
	    NULL) == FILTER_DROP, "after a restart: bob@2 known");
	ok(pass2(fc, fs, rec(T0 + 2 * HOUR_MS, "q", "1", NULL), NULL) ==
	    FILTER_DROP, "after a restart: the term of nulls known");
	finish2(fc, fs, NULL, &out);
	filter_batch_clear(&out);
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);

	/* Another search over the same store starts empty. */
	s = mksearch("[{\"type\":\"newterm\",\"key\":[\"user\",\"ip\"]}]", 21);
	fc = chain_at(s, T0);
	fs = fstate_new(st, 21);
	ok(pass2(fc, fs, rec(T0, "user", "bob", "ip", "1", NULL), NULL) ==
	    FILTER_KEEP, "search 21 has its own terms");
	finish2(fc, fs, NULL, &out);
	filter_batch_clear(&out);
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);

	/*
	 * A record a later filter drops: its term is seen all the same, and
	 * what passes the newterm goes through the rest at the end.
	 */
	s = mksearch("[{\"type\":\"newterm\",\"key\":[\"user\"]},{\"type\":"
	    "\"regex\",\"pattern\":\"^ok$\",\"key\":\"m\"}]", 22);
	fc = chain_at(s, T0);
	fs = fstate_new(st, 22);
	memset(&t, 0, sizeof t);
	ok(pass2(fc, fs, rec(T0, "user", "ann", "m", "no", NULL), &t) ==
	    FILTER_DROP && pass2(fc, fs, rec(T0, "user", "kim", "m", "ok",
	    NULL), NULL) == FILTER_KEEP, "two new terms; the regex drops ann");
	ok(t.calls == 1 && strcmp(t.type, "regex") == 0 && t.rec >= 0,
	    "traced: the regex, on the record");
	finish2(fc, fs, NULL, &out);
	ok(out.fb_n == 1 && has(out.fb_recs[0], "user", "\"kim\""),
	    "kim passes");
	filter_batch_clear(&out);
	ok(commit(st, fs) == 0, "committed");
	fstate_free(fs);
	filter_chain_free(fc);
	fc = chain_at(s, T0 + HOUR_MS);
	fs = fstate_new(st, 22);
	ok(pass2(fc, fs, rec(T0 + HOUR_MS, "user", "ann", "m", "ok", NULL),
	    NULL) == FILTER_DROP, "ann was seen, though not alerted");
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);

	store_close(st);
	event_base_free(base);
}

static void
test_newterm_expire_learn(void)
{
	struct search		*s;
	struct filter_chain	*fc;
	struct fstate		*fs;
	struct filter_batch	 out;
	struct trace		 t;
	struct event_base	*base;
	struct store		*st;
	char			 dir[512] = "";

	/* Expiry: every sighting refreshes. */
	s = mksearch("[{\"type\":\"newterm\",\"key\":[\"u\"],\"expire\":"
	    "\"1h\"}]", 30);
	fc = chain_at(s, T0 + DAY_MS);
	fs = fstate_new(NULL, 30);
	ok(pass2(fc, fs, rec(T0, "u", "a", NULL), NULL) == FILTER_KEEP,
	    "expire: a is new");
	ok(pass2(fc, fs, rec(T0 + 50 * MIN_MS, "u", "a", NULL), NULL) ==
	    FILTER_DROP, "expire: a at 50m is known");
	ok(pass2(fc, fs, rec(T0 + 100 * MIN_MS, "u", "a", NULL), NULL) ==
	    FILTER_DROP, "expire: a at 100m is known (seen at 50m)");
	ok(pass2(fc, fs, rec(T0 + 160 * MIN_MS, "u", "a", NULL), NULL) ==
	    FILTER_DROP, "expire: a at 160m is known: 60m is not longer");
	ok(pass2(fc, fs, rec(T0 + 221 * MIN_MS, "u", "a", NULL), NULL) ==
	    FILTER_KEEP, "expire: a at 221m is new again (61m)");
	memset(&t, 0, sizeof t);
	ok(pass2(fc, fs, rec(T0 + 10 * MIN_MS, "u", "a", NULL), &t) ==
	    FILTER_DROP && strcmp(t.why, "u=\"a\" was seen after this "
	    "record") == 0, "expire: a late record is known: %s", t.why);
	ok(pass2(fc, fs, rec(T0 + 250 * MIN_MS, "u", "a", NULL), NULL) ==
	    FILTER_DROP, "expire: the late record did not move last-seen");
	finish2(fc, fs, NULL, &out);
	ok(out.fb_n == 2, "expire: two passed");
	filter_batch_clear(&out);
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);

	/* Learning: terms recorded, nothing passes; counted from creation. */
	if ((base = event_base_new()) == NULL)
		bail("event_base_new");
	st = open_store(base, dir, sizeof dir);
	s = mksearch("[{\"type\":\"newterm\",\"key\":[\"u\"],\"learn\":"
	    "\"1d\"}]", 31);
	s->s_updated = T0 + 2 * DAY_MS;	/* edits do not restart learning */
	fc = chain_at(s, T0 + 23 * HOUR_MS);
	fs = fstate_new(st, 31);
	memset(&t, 0, sizeof t);
	ok(pass2(fc, fs, rec(T0 + 23 * HOUR_MS, "u", "a", NULL), &t) ==
	    FILTER_DROP, "learning: a new term is dropped");
	ok(strstr(t.why, "u=\"a\" is new, but the search is still learning") !=
	    NULL, "traced: %s", t.why);
	ok(pass2(fc, fs, rec(T0 + 23 * HOUR_MS, "u", "b", NULL), NULL) ==
	    FILTER_DROP, "learning: b too");
	finish2(fc, fs, NULL, &out);
	ok(out.fb_n == 0, "learning: nothing passes");
	filter_batch_clear(&out);
	ok(commit(st, fs) == 0 && fstate_count(fs) == 2,
	    "learning: the terms are committed");
	fstate_free(fs);
	filter_chain_free(fc);
	fc = chain_at(s, T0 + DAY_MS);
	fs = fstate_new(st, 31);
	ok(pass2(fc, fs, rec(T0 + DAY_MS, "u", "a", NULL), NULL) ==
	    FILTER_DROP, "after learning: a was learnt");
	ok(pass2(fc, fs, rec(T0 + DAY_MS, "u", "c", NULL), NULL) ==
	    FILTER_KEEP, "after learning: c is new and passes");
	finish2(fc, fs, NULL, &out);
	filter_batch_clear(&out);
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);
	store_close(st);
	event_base_free(base);
}

static void
test_change(void)
{
	struct search		*s;
	struct filter_chain	*fc;
	struct fstate		*fs;
	struct filter_batch	 out;
	struct trace		 t;
	struct record		*r;
	struct event_base	*base;
	struct store		*st;
	char			 dir[512] = "", *big;

	/* Keyed, first sighting dropped (the default). */
	s = mksearch("[{\"type\":\"change\",\"field\":\"status\",\"key\":"
	    "[\"host\"]}]", 40);
	fc = chain_at(s, T0);
	fs = fstate_new(NULL, 40);
	ok(!filter_chain_has_batch(fc), "change decides as records stream in");
	memset(&t, 0, sizeof t);
	ok(pass2(fc, fs, rec(T0, "host", "a", "status", "up", NULL), &t) ==
	    FILTER_DROP, "first value of a: dropped");
	ok(strstr(t.why, "status is \"up\": the first value seen") != NULL,
	    "traced: %s", t.why);
	ok(pass2(fc, fs, rec(T0, "host", "a", "status", "up", NULL), &t) ==
	    FILTER_DROP && strstr(t.why, "status is still \"up\"") != NULL,
	    "a up again: dropped: %s", t.why);
	memset(&t, 0, sizeof t);
	ok(pass2(fc, fs, rec(T0, "host", "a", "status", "down", NULL), &t) ==
	    FILTER_KEEP, "a down: passes");
	ok(t.calls == 1 && strcmp(t.what, "changed") == 0 &&
	    strcmp(t.why, "status changed from \"up\" to \"down\"") == 0,
	    "traced: %s", t.why);
	ok(pass2(fc, fs, rec(T0, "host", "b", "status", "down", NULL), NULL) ==
	    FILTER_DROP, "b down: the first value of b");
	ok(pass2(fc, fs, rec(T0, "host", "a", "status", "down", NULL), NULL) ==
	    FILTER_DROP, "a down again: dropped");
	ok(pass2(fc, fs, rec(T0, "host", "a", "status", "up", NULL), NULL) ==
	    FILTER_KEEP, "a up: passes");
	memset(&t, 0, sizeof t);
	ok(pass2(fc, fs, rec(T0, "host", "a", NULL), &t) == FILTER_DROP &&
	    strstr(t.why, "no field \"status\"") != NULL,
	    "no status: dropped: %s", t.why);
	ok(pass2(fc, fs, rec(T0, "host", "a", "status", "up", NULL), NULL) ==
	    FILTER_DROP, "and it changed nothing");
	r = rec(T0, "host", "a", NULL);
	record_add(r, "status", 6, "1", 1);
	ok(pass2(fc, fs, r, NULL) == FILTER_KEEP,
	    "the number 1 differs from \"up\"");
	r = rec(T0, "host", "a", NULL);
	record_add(r, "status", 6, "\"1\"", 3);
	ok(pass2(fc, fs, r, NULL) == FILTER_KEEP,
	    "the string \"1\" differs from the number 1");
	finish2(fc, fs, &t, &out);
	ok(out.fb_n == 4 && has(out.fb_recs[0], "status", "\"down\"") &&
	    has(out.fb_recs[1], "status", "\"up\"") &&
	    !has(out.fb_recs[0], "previous_status", "\"up\""),
	    "4 passed, no previous value added");
	filter_batch_clear(&out);
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);

	/* No key, first passes, previous value added. */
	s = mksearch("[{\"type\":\"change\",\"field\":\"v\",\"first\":"
	    "\"pass\",\"add_previous\":true}]", 41);
	fc = chain_at(s, T0);
	fs = fstate_new(NULL, 41);
	memset(&t, 0, sizeof t);
	ok(pass2(fc, fs, rec(T0, "h", "a", "v", "x", NULL), &t) ==
	    FILTER_KEEP && strstr(t.why, "the first value seen") != NULL,
	    "first: pass: the first value passes: %s", t.why);
	ok(pass2(fc, fs, rec(T0, "h", "b", "v", "x", NULL), NULL) ==
	    FILTER_DROP, "no key: one value for the search");
	r = rec(T0, "h", "c", "v", "y", NULL);
	record_add(r, "previous_v", 10, "\"stale\"", 7);
	ok(pass2(fc, fs, r, NULL) == FILTER_KEEP, "x to y passes");
	big = xmalloc(3000);
	memset(big, 'z', 2999);
	big[2999] = '\0';
	ok(pass2(fc, fs, rec(T0, "v", big, NULL), NULL) == FILTER_KEEP,
	    "a long value passes");
	ok(pass2(fc, fs, rec(T0, "v", big, NULL), NULL) == FILTER_DROP,
	    "the same long value: dropped (its hash is kept)");
	big[5] = 'q';
	memset(&t, 0, sizeof t);
	ok(pass2(fc, fs, rec(T0, "v", big, NULL), &t) == FILTER_KEEP &&
	    strcmp(t.why, "v changed from a long value to a long value") == 0,
	    "another long value passes: %s", t.why);
	free(big);
	ok(pass2(fc, fs, rec(T0, "v", "x", NULL), NULL) == FILTER_KEEP,
	    "back to a short value");
	finish2(fc, fs, NULL, &out);
	ok(out.fb_n == 5, "5 passed");
	ok(out.fb_n == 5 && has(out.fb_recs[0], "previous_v", "null") &&
	    has(out.fb_recs[1], "previous_v", "\"x\"") &&
	    record_count(out.fb_recs[1]) == 3 &&
	    has(out.fb_recs[2], "previous_v", "\"y\"") &&
	    has(out.fb_recs[3], "previous_v", "null") &&
	    has(out.fb_recs[4], "previous_v", "null"),
	    "previous_v: null first, the old value, null for a long one");
	filter_batch_clear(&out);
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);

	/* Event times: a record older than the last value changes nothing. */
	s = mksearch("[{\"type\":\"change\",\"field\":\"s\",\"key\":"
	    "[\"h\"]}]", 43);
	fc = chain_at(s, T0 + HOUR_MS);
	fs = fstate_new(NULL, 43);
	ok(pass2(fc, fs, rec(T0 + 10 * MIN_MS, "h", "a", "s", "up", NULL),
	    NULL) == FILTER_DROP, "order: up at 10m, the first value");
	memset(&t, 0, sizeof t);
	ok(pass2(fc, fs, rec(T0 + 5 * MIN_MS, "h", "a", "s", "down", NULL),
	    &t) == FILTER_DROP && strcmp(t.why, "s is \"down\", but the "
	    "record is older than the last value") == 0,
	    "order: down at 5m is late: %s", t.why);
	ok(pass2(fc, fs, rec(T0 + 20 * MIN_MS, "h", "a", "s", "down", NULL),
	    NULL) == FILTER_KEEP, "order: down at 20m passes");
	ok(pass2(fc, fs, rec(T0 + 15 * MIN_MS, "h", "a", "s", "up", NULL),
	    NULL) == FILTER_DROP, "order: up at 15m is late");
	ok(pass2(fc, fs, rec(T0 + 30 * MIN_MS, "h", "a", "s", "down", NULL),
	    NULL) == FILTER_DROP, "order: down at 30m, still down");
	ok(pass2(fc, fs, rec(T0 + 25 * MIN_MS, "h", "a", "s", "up", NULL),
	    NULL) == FILTER_DROP, "order: up at 25m is late (30m seen)");
	finish2(fc, fs, NULL, &out);
	ok(out.fb_n == 1, "order: one change");
	filter_batch_clear(&out);
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);

	/* Across runs over a store, with a restart. */
	if ((base = event_base_new()) == NULL)
		bail("event_base_new");
	st = open_store(base, dir, sizeof dir);
	s = mksearch("[{\"type\":\"change\",\"field\":\"status\",\"key\":"
	    "[\"host\"]}]", 42);
	fc = chain_at(s, T0);
	fs = fstate_new(st, 42);
	ok(pass2(fc, fs, rec(T0, "host", "a", "status", "up", NULL), NULL) ==
	    FILTER_DROP, "run 1: a up, first");
	finish2(fc, fs, NULL, &out);
	filter_batch_clear(&out);
	ok(commit(st, fs) == 0, "run 1 commits the first value");
	fstate_free(fs);
	filter_chain_free(fc);
	fc = chain_at(s, T0 + HOUR_MS);
	fs = fstate_new(st, 42);
	ok(pass2(fc, fs, rec(T0, "host", "a", "status", "down", NULL), NULL) ==
	    FILTER_KEEP, "run 2 (dry): a down passes");
	fstate_free(fs);
	filter_chain_free(fc);
	store_close(st);
	st = open_store(base, dir, sizeof dir);
	fc = chain_at(s, T0 + 2 * HOUR_MS);
	fs = fstate_new(st, 42);
	memset(&t, 0, sizeof t);
	ok(pass2(fc, fs, rec(T0, "host", "a", "status", "down", NULL), &t) ==
	    FILTER_KEEP && strstr(t.why, "from \"up\" to \"down\"") != NULL,
	    "after a restart, run 3: up to down: %s", t.why);
	ok(pass2(fc, fs, rec(T0, "host", "a", "status", "down", NULL), NULL) ==
	    FILTER_DROP, "run 3: down again dropped");
	finish2(fc, fs, NULL, &out);
	filter_batch_clear(&out);
	ok(commit(st, fs) == 0, "run 3 commits");
	fstate_free(fs);
	filter_chain_free(fc);
	fc = chain_at(s, T0 + 3 * HOUR_MS);
	fs = fstate_new(st, 42);
	ok(pass2(fc, fs, rec(T0, "host", "a", "status", "down", NULL), NULL) ==
	    FILTER_DROP, "run 4: down is the last value");
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);
	store_close(st);
	event_base_free(base);
}

static void
test_lifetime(void)
{
	struct search		*s;
	struct filter_chain	*fc;
	struct fstate		*fs;

	s = mksearch("[{\"type\":\"regex\",\"pattern\":\"^a$\",\"key\":\"k\","
	    "\"lifetime\":\"1h\"},{\"type\":\"hash\",\"hashes\":[\"sha256:"
	    H64 "\"],\"lifetime\":\"2026-11-23T21:00:00Z\"}]", 50);
	fc = chain_at(s, T0 + 30 * MIN_MS);
	ok(pass(fc, NULL, rec(T0, "k", "b", NULL), NULL) == FILTER_DROP,
	    "within its lifetime the regex drops b");
	filter_chain_free(fc);
	fc = chain_at(s, T0 + HOUR_MS);
	ok(pass(fc, NULL, rec(T0, "k", "b", NULL), NULL) == FILTER_KEEP,
	    "at the end of its lifetime the regex is left out");
	ok(!filter_chain_has_batch(fc), "no batch filter");
	filter_chain_free(fc);
	s->s_updated = T0 + 2 * HOUR_MS;
	fc = chain_at(s, T0 + 2 * HOUR_MS + 59 * MIN_MS);
	ok(pass(fc, NULL, rec(T0, "k", "b", NULL), NULL) == FILTER_DROP,
	    "a new version restarts a duration lifetime");
	filter_chain_free(fc);
	search_unref(s);

	s = mksearch("[{\"type\":\"newterm\",\"key\":[\"k\"],\"lifetime\":"
	    "\"1d\"},{\"type\":\"change\",\"field\":\"k\",\"lifetime\":"
	    "\"2026-11-23T21:00:00Z\"}]", 51);
	fc = chain_at(s, T0 + HOUR_MS);
	fs = fstate_new(NULL, 51);
	ok(pass(fc, fs, rec(T0, "k", "b", NULL), NULL) == FILTER_DROP,
	    "newterm and change in their time: a first value is dropped");
	fstate_free(fs);
	filter_chain_free(fc);
	fc = chain_at(s, T0 + 3 * HOUR_MS);
	fs = fstate_new(NULL, 51);
	ok(pass(fc, fs, rec(T0, "k", "b", NULL), NULL) == FILTER_KEEP &&
	    pass(fc, fs, rec(T0, "k", "b", NULL), NULL) == FILTER_DROP,
	    "change over, newterm still in its time: new once");
	fstate_free(fs);
	filter_chain_free(fc);
	fc = chain_at(s, T0 + DAY_MS);
	ok(!filter_chain_has_batch(fc) && pass(fc, NULL, rec(T0, "k", "b",
	    NULL), NULL) == FILTER_KEEP, "both over: left out");
	filter_chain_free(fc);
	search_unref(s);
}

int
main(void)
{
	plan((int)(sizeof bads / sizeof bads[0]) + 2 + 20 + 9 + 2 + 13 + 3 +
	    21 + 15 + 37 + 7);
	test_validate();
	test_regex();
	test_regex_limit();
	test_regex_cache();
	test_hash();
	test_hash_many();
	test_newterm();
	test_newterm_expire_learn();
	test_change();
	test_lifetime();
	return (test_done());
}
