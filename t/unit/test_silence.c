/*
 * test_silence.c -- silences: definitions refused with the field at
 * fault, each matcher kind, time bounds, expiry, regex limits, listing
 * and paging, and reloading from the store.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "alert.h"
#include "buf.h"
#include "json.h"
#include "search.h"
#include "silence.h"
#include "store.h"
#include "tap.h"
#include "util.h"
#include "xmalloc.h"

static struct event_base	*base;
static struct store		*store;
static struct silences		*ss;
static int64_t			 now;

/* What a write reported. */
struct result {
	int		 called;
	int		 status;
	uint64_t	 id;
	int		 expired;
	int64_t		 ends;
};

static void
done_cb(void *arg, int status, const struct silence *si, const char *why)
{
	struct result	*r = arg;
	yajl_gen	 g;
	struct buf	 b = BUF_INIT;
	struct json	*j;
	char		 err[128];
	int64_t		 ms;

	r->called++;
	r->status = status;
	if (si == NULL)
		return;
	r->id = silence_id(si);
	g = jgen_new();
	silence_gen(g, si, now);
	jgen_take(g, &b);
	yajl_gen_free(g);
	if ((j = json_parse(b.b_data, b.b_len, err, sizeof err)) != NULL) {
		json_bool(json_get(j, "expired"), &r->expired);
		if (util_parse_time_ms(json_str(json_get(j, "ends")),
		    strlen(json_str(json_get(j, "ends"))), &ms) == 0)
			r->ends = ms;
	}
	json_free(j);
	buf_free(&b);
}

/* Create from JSON text at now; the id (0 when refused), err filled. */
static uint64_t
create(const char *text, struct silence_err *err)
{
	struct json	*def;
	struct result	 r;
	char		 msg[256];

	memset(&r, 0, sizeof r);
	memset(err, 0, sizeof *err);
	if ((def = json_parse(text, strlen(text), msg, sizeof msg)) == NULL)
		bail("bad test JSON %s: %s", text, msg);
	if (silences_create(ss, def, "alice", now, err, done_cb, &r) == -1) {
		json_free(def);
		return (0);
	}
	json_free(def);
	store_flush(store);
	if (r.called != 1 || r.status != 0)
		bail("create %s: called %d status %d", text, r.called,
		    r.status);
	return (r.id);
}

/* A definition with matchers m, ending in an hour. */
static uint64_t
create_m(const char *m)
{
	struct silence_err	 err;
	char			*text;
	uint64_t		 id;

	text = xprintf("{\"matchers\": %s, \"ends\": %lld, \"comment\": "
	    "\"maintenance\"}", m, (long long)(now / 1000 + 3600));
	id = create(text, &err);
	if (id == 0)
		diag("refused %s: %s: %s", m, err.se_field, err.se_message);
	free(text);
	return (id);
}

/* Expect text to be refused naming field. */
static void
refused(const char *text, const char *field, const char *what)
{
	struct silence_err	 err;
	size_t			 before = silences_count(ss);

	ok(create(text, &err) == 0 && strcmp(err.se_field, field) == 0 &&
	    err.se_message[0] != '\0' && silences_count(ss) == before,
	    "refused: %s (field %s; got \"%s\": %s)", what, field,
	    err.se_field, err.se_message);
}

static void
mkalert(struct alert *a, uint64_t search, const char *prio,
    const char *content)
{
	memset(a, 0, sizeof *a);
	a->a_search_id = search;
	a->a_priority = (char *)prio;
	a->a_content = (char *)content;
	a->a_content_len = content != NULL ? strlen(content) : 0;
}

static void
test_refused(void)
{
	char	 long_value[SILENCE_MAX_VALUE + 20];
	char	 long_comment[SILENCE_MAX_COMMENT + 20];
	char	 text[8192], ids[1024];
	long long e = (long long)(now / 1000 + 3600);
	int	 i;
	size_t	 n;

#define M(m) "{\"matchers\": " m ", \"ends\": %lld, \"comment\": \"c\"}"
#define R(fmtm, field, what) do {					\
	snprintf(text, sizeof text, M(fmtm), e);			\
	refused(text, field, what);					\
} while (0)
	refused("[1]", "", "not an object");
	snprintf(text, sizeof text, "{\"ends\": %lld, \"comment\": \"c\"}", e);
	refused(text, "matchers", "no matchers");
	R("{}", "matchers", "empty matchers");
	R("[]", "matchers", "matchers not an object");
	R("{\"host\": [\"a\"]}", "matchers", "unknown matcher");
	R("{\"search\": 3}", "matchers.search", "search not an array");
	R("{\"search\": []}", "matchers.search", "search empty");
	R("{\"search\": [0]}", "matchers.search", "search id 0");
	R("{\"search\": [\"x\"]}", "matchers.search", "search id a string");
	R("{\"search\": [1.5]}", "matchers.search", "search id a fraction");
	n = 0;
	for (i = 0; i <= SILENCE_MAX_LIST; i++)
		n += (size_t)snprintf(ids + n, sizeof ids - n, "%s%d",
		    i ? "," : "", i + 1);
	{
		char t2[2048];

		snprintf(t2, sizeof t2, "{\"search\": [%s]}", ids);
		snprintf(text, sizeof text, M("%s"), t2, e);
		refused(text, "matchers.search", "too many search ids");
	}
	R("{\"priority\": [\"urgent\"]}", "matchers.priority",
	    "unknown priority");
	R("{\"priority\": \"high\"}", "matchers.priority",
	    "priority not an array");
	R("{\"tags\": [\"\"]}", "matchers.tags", "empty tag");
	R("{\"tags\": [7]}", "matchers.tags", "tag a number");
	R("{\"content\": []}", "matchers.content", "content an array");
	R("{\"content\": {}}", "matchers.content", "content empty");
	R("{\"content\": {\"host\": null}}", "matchers.content.host",
	    "content value null");
	R("{\"content\": {\"host\": [\"a\"]}}", "matchers.content.host",
	    "content value an array");
	R("{\"content\": {\"host\": {\"re\": \"a\"}}}", "matchers.content.host",
	    "content object without regex");
	R("{\"content\": {\"host\": {\"regex\": \"a\", \"x\": 1}}}",
	    "matchers.content.host", "content regex with more");
	R("{\"content\": {\"host\": {\"regex\": \"(\"}}}",
	    "matchers.content.host.regex", "regex that does not compile");
	R("{\"content\": {\"host\": {\"regex\": \"\"}}}",
	    "matchers.content.host.regex", "empty regex");
	R("{\"content\": {\"host\": {\"regex\": 5}}}",
	    "matchers.content.host.regex", "regex a number");
	memset(long_value, 'a', sizeof long_value - 1);
	long_value[sizeof long_value - 1] = '\0';
	{
		char t2[4096];

		snprintf(t2, sizeof t2, "{\"content\": {\"host\": \"%s\"}}",
		    long_value);
		snprintf(text, sizeof text, M("%s"), t2, e);
		refused(text, "matchers.content.host", "value too long");
		snprintf(t2, sizeof t2, "{\"content\": {\"host\": "
		    "{\"regex\": \"%s\"}}}", long_value);
		snprintf(text, sizeof text, M("%s"), t2, e);
		refused(text, "matchers.content.host.regex", "regex too long");
	}
#undef R
#undef M
	refused("{\"matchers\": {\"search\": [1]}, \"comment\": \"c\"}",
	    "ends", "no ends");
	refused("{\"matchers\": {\"search\": [1]}, \"ends\": \"soon\", "
	    "\"comment\": \"c\"}", "ends", "ends not a time");
	snprintf(text, sizeof text, "{\"matchers\": {\"search\": [1]}, "
	    "\"starts\": %lld, \"ends\": %lld, \"comment\": \"c\"}", e + 60, e);
	refused(text, "ends", "ends before starts");
	snprintf(text, sizeof text, "{\"matchers\": {\"search\": [1]}, "
	    "\"starts\": %lld, \"ends\": %lld, \"comment\": \"c\"}",
	    e - 7200, e - 3601);
	refused(text, "ends", "ends in the past");
	snprintf(text, sizeof text, "{\"matchers\": {\"search\": [1]}, "
	    "\"ends\": %lld, \"comment\": \"c\"}", e + 400LL * 86400);
	refused(text, "ends", "longer than the limit");
	snprintf(text, sizeof text, "{\"matchers\": {\"search\": [1]}, "
	    "\"starts\": \"yesterday\", \"ends\": %lld, \"comment\": \"c\"}",
	    e);
	refused(text, "starts", "starts not a time");
	snprintf(text, sizeof text, "{\"matchers\": {\"search\": [1]}, "
	    "\"ends\": %lld}", e);
	refused(text, "comment", "no comment");
	snprintf(text, sizeof text, "{\"matchers\": {\"search\": [1]}, "
	    "\"ends\": %lld, \"comment\": \"\"}", e);
	refused(text, "comment", "empty comment");
	memset(long_comment, 'c', sizeof long_comment - 1);
	long_comment[sizeof long_comment - 1] = '\0';
	snprintf(text, sizeof text, "{\"matchers\": {\"search\": [1]}, "
	    "\"ends\": %lld, \"comment\": \"%s\"}", e, long_comment);
	refused(text, "comment", "comment too long");
	snprintf(text, sizeof text, "{\"matchers\": {\"search\": [1]}, "
	    "\"ends\": %lld, \"comment\": \"c\", \"creator\": \"bob\"}", e);
	refused(text, "creator", "a field the server sets");
	is_int((int64_t)silences_count(ss), 0, "nothing refused was kept");
}

static void
test_match(void)
{
	struct search	 s1, s2;
	struct alert	 a;
	char		*tags1[] = { "web", "db" }, *tags2[] = { "web" };
	uint64_t	 id;

	memset(&s1, 0, sizeof s1);
	s1.s_id = 1;
	s1.s_priority = "high";
	s1.s_tags = tags1;
	s1.s_ntags = 2;
	memset(&s2, 0, sizeof s2);
	s2.s_id = 2;
	s2.s_priority = "low";
	s2.s_tags = tags2;
	s2.s_ntags = 1;

	/* search */
	id = create_m("{\"search\": [1, 5]}");
	ok(id != 0, "a search silence is made");
	mkalert(&a, 1, "high", "{}");
	is_int((int64_t)silences_match(ss, &s1, &a, now), (int64_t)id,
	    "search: an alert of search 1 is silenced");
	mkalert(&a, 2, "low", "{}");
	is_int((int64_t)silences_match(ss, &s2, &a, now), 0,
	    "search: an alert of search 2 is not");
	silences_expire(ss, id, now, done_cb, &(struct result){ 0 });
	store_flush(store);

	/* priority */
	id = create_m("{\"priority\": [\"high\", \"critical\"]}");
	mkalert(&a, 2, "critical", "{}");
	is_int((int64_t)silences_match(ss, &s2, &a, now), (int64_t)id,
	    "priority: a critical alert is silenced");
	mkalert(&a, 2, "low", "{}");
	is_int((int64_t)silences_match(ss, &s2, &a, now), 0,
	    "priority: a low one is not");
	mkalert(&a, 1, NULL, "{}");
	is_int((int64_t)silences_match(ss, &s1, &a, now), (int64_t)id,
	    "priority: without its own, the search's counts");
	silences_expire(ss, id, now, done_cb, &(struct result){ 0 });
	store_flush(store);

	/* tags */
	id = create_m("{\"tags\": [\"db\", \"mail\"]}");
	mkalert(&a, 1, "high", "{}");
	is_int((int64_t)silences_match(ss, &s1, &a, now), (int64_t)id,
	    "tags: a search tagged db is silenced");
	mkalert(&a, 2, "low", "{}");
	is_int((int64_t)silences_match(ss, &s2, &a, now), 0,
	    "tags: a search tagged web only is not");
	is_int((int64_t)silences_match(ss, NULL, &a, now), 0,
	    "tags: no search, no match");
	silences_expire(ss, id, now, done_cb, &(struct result){ 0 });
	store_flush(store);

	/* content: values, numbers, nested, regex */
	id = create_m("{\"content\": {\"host\": \"web01\", \"port\": 22, "
	    "\"geo.country\": \"FR\", \"user\": {\"regex\": \"^ro+t$\"}}}");
	ok(id != 0, "a content silence is made");
	mkalert(&a, 1, "high", "{\"host\": \"web01\", \"port\": 22, "
	    "\"user\": \"root\", \"geo\": {\"country\": \"FR\"}}");
	is_int((int64_t)silences_match(ss, &s1, &a, now), (int64_t)id,
	    "content: every field matches");
	mkalert(&a, 1, "high", "{\"host\": \"web01\", \"port\": 22, "
	    "\"user\": \"admin\", \"geo\": {\"country\": \"FR\"}}");
	is_int((int64_t)silences_match(ss, &s1, &a, now), 0,
	    "content: the regex does not match admin");
	mkalert(&a, 1, "high", "{\"host\": \"web02\", \"port\": 22, "
	    "\"user\": \"root\", \"geo\": {\"country\": \"FR\"}}");
	is_int((int64_t)silences_match(ss, &s1, &a, now), 0,
	    "content: another host is not silenced");
	mkalert(&a, 1, "high", "{\"host\": \"web01\", \"port\": 23, "
	    "\"user\": \"root\", \"geo\": {\"country\": \"FR\"}}");
	is_int((int64_t)silences_match(ss, &s1, &a, now), 0,
	    "content: another port is not silenced");
	mkalert(&a, 1, "high", "{\"host\": \"web01\", \"port\": 22, "
	    "\"user\": \"root\"}");
	is_int((int64_t)silences_match(ss, &s1, &a, now), 0,
	    "content: a missing field does not match");
	mkalert(&a, 1, "high", "not json");
	is_int((int64_t)silences_match(ss, &s1, &a, now), 0,
	    "content: content that is not JSON does not match");
	silences_expire(ss, id, now, done_cb, &(struct result){ 0 });
	store_flush(store);

	/* all matchers together */
	id = create_m("{\"search\": [1], \"priority\": [\"high\"], "
	    "\"content\": {\"host\": {\"regex\": \"^web\"}}}");
	mkalert(&a, 1, "high", "{\"host\": \"web07\"}");
	is_int((int64_t)silences_match(ss, &s1, &a, now), (int64_t)id,
	    "all: search, priority and content match");
	mkalert(&a, 1, "medium", "{\"host\": \"web07\"}");
	is_int((int64_t)silences_match(ss, &s1, &a, now), 0,
	    "all: one matcher failing is enough not to silence");
	silences_expire(ss, id, now, done_cb, &(struct result){ 0 });
	store_flush(store);

	/* regex limits: runaway backtracking stops, and does not silence */
	id = create_m("{\"content\": {\"x\": {\"regex\": \"^(a+)+$\"}}}");
	mkalert(&a, 1, "high", "{\"x\": \"aaaa\"}");
	is_int((int64_t)silences_match(ss, &s1, &a, now), (int64_t)id,
	    "regex limits: a short subject matches");
	mkalert(&a, 1, "high", "{\"x\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaab\"}");
	is_int((int64_t)silences_match(ss, &s1, &a, now), 0,
	    "regex limits: a runaway match stops at the limit, not silenced");
	silences_expire(ss, id, now, done_cb, &(struct result){ 0 });
	store_flush(store);
	is_int((int64_t)silences_count(ss), 0, "every expired silence left "
	    "memory");
}

static void
test_time(void)
{
	struct search		 s;
	struct alert		 a;
	struct silence_err	 err;
	struct silence		*si;
	struct result		 r;
	char			 text[512];
	uint64_t		 id, id2;

	memset(&s, 0, sizeof s);
	s.s_id = 9;
	s.s_priority = "low";
	mkalert(&a, 9, "low", "{}");

	snprintf(text, sizeof text, "{\"matchers\": {\"search\": [9]}, "
	    "\"starts\": %lld, \"ends\": %lld, \"comment\": \"later\"}",
	    (long long)(now / 1000 + 600), (long long)(now / 1000 + 1200));
	id = create(text, &err);
	ok(id != 0, "a pending silence is made");
	is_int((int64_t)silences_match(ss, &s, &a, now), 0,
	    "time: before starts, no match");
	is_int((int64_t)silences_match(ss, &s, &a, now + 600 * 1000),
	    (int64_t)id, "time: at starts, a match");
	is_int((int64_t)silences_match(ss, &s, &a, now + 1199 * 1000),
	    (int64_t)id, "time: just before ends, a match");
	ok(silences_get(ss, id, &si) == 0 && si != NULL &&
	    silence_state(si, now) == SILENCE_PENDING &&
	    silence_state(si, now + 700 * 1000) == SILENCE_ACTIVE &&
	    silence_state(si, now + 1200 * 1000) == SILENCE_EXPIRED,
	    "time: pending, active, then expired by its end");
	silence_free(si);
	memset(&r, 0, sizeof r);
	silences_expire(ss, id, now, done_cb, &r);
	store_flush(store);
	ok(r.called == 1 && r.status == 0 && r.id == id && r.expired &&
	    r.ends / 1000 == now / 1000, "expire: a pending silence, "
	    "answered with expired true, ends now");
	is_int(0, (int64_t)silences_match(ss, &s, &a, now + 700 * 1000),
	    "expire: an expired pending silence never starts");

	snprintf(text, sizeof text, "{\"matchers\": {\"search\": [9]}, "
	    "\"starts\": \"%s\", \"ends\": %lld, \"comment\": \"now\"}",
	    "2020-01-01T00:00:00Z", (long long)(now / 1000 + 60));
	/* starts long ago: longer than the limit */
	ok(create(text, &err) == 0 && strcmp(err.se_field, "ends") == 0,
	    "time: a silence that began years ago is too long");

	snprintf(text, sizeof text, "{\"matchers\": {\"search\": [9]}, "
	    "\"ends\": %lld, \"comment\": \"now\"}",
	    (long long)(now / 1000 + 60));
	id2 = create(text, &err);
	is_int((int64_t)silences_match(ss, &s, &a, now), (int64_t)id2,
	    "time: starts defaults to now");
	is_int((int64_t)silences_match(ss, &s, &a, now + 60 * 1000), 0,
	    "time: at ends, no match (and ended ones leave memory)");
	is_int((int64_t)silences_count(ss), 0, "time: both ended ones went");

	/* expiring one that has ended already changes nothing */
	memset(&r, 0, sizeof r);
	silences_expire(ss, id2, now + 120 * 1000, done_cb, &r);
	store_flush(store);
	ok(r.called == 1 && r.status == 0 && r.id == id2 && !r.expired &&
	    r.ends / 1000 == now / 1000 + 60, "expire: an ended silence is "
	    "left as it was");
	silences_expire(ss, id2, now, done_cb, &(struct result){ 0 });
	store_flush(store);
	memset(&r, 0, sizeof r);
	silences_expire(ss, 999999, now, done_cb, &r);
	store_flush(store);
	ok(r.called == 1 && r.status == 1, "expire: an unknown id is "
	    "reported absent");
	ok(silences_get(ss, 999999, &si) == 1 && si == NULL,
	    "get: an unknown id is absent");
}

struct listed {
	uint64_t	 ids[64];
	size_t		 n;
};

static void
list_cb(void *arg, const struct silence *si)
{
	struct listed	*l = arg;

	if (l->n < 64)
		l->ids[l->n++] = silence_id(si);
}

static void
test_list_restart(void)
{
	struct listed	 l;
	struct search	 s;
	struct alert	 a;
	uint64_t	 ids[5], next, all;
	char		 err[256];
	int		 i, same;

	memset(&s, 0, sizeof s);
	s.s_id = 42;
	s.s_priority = "low";
	mkalert(&a, 42, "low", "{\"k\": \"v\"}");
	for (i = 0; i < 5; i++)
		ids[i] = create_m("{\"search\": [42], \"content\": "
		    "{\"k\": {\"regex\": \"v\"}}}");
	silences_expire(ss, ids[1], now, done_cb, &(struct result){ 0 });
	store_flush(store);

	memset(&l, 0, sizeof l);
	ok(silences_list(ss, SILENCE_ACTIVE, now, 0, 100, list_cb, &l,
	    &next) == 0 && l.n == 4 && l.ids[0] == ids[4] &&
	    l.ids[3] == ids[0] && next == 0,
	    "list: the 4 active ones, newest first, no next page");
	memset(&l, 0, sizeof l);
	silences_list(ss, SILENCE_EXPIRED, now, 0, 100, list_cb, &l, &next);
	for (i = 0, same = 0; i < (int)l.n; i++)
		same += l.ids[i] == ids[1];
	ok(same == 1, "list: the expired one is among the expired");

	memset(&l, 0, sizeof l);
	silences_list(ss, SILENCE_ACTIVE, now, 0, 2, list_cb, &l, &next);
	ok(l.n == 2 && l.ids[0] == ids[4] && l.ids[1] == ids[3] && next != 0,
	    "list: a page of 2 has a next cursor");
	silences_list(ss, SILENCE_ACTIVE, now, next, 2, list_cb, &l, &next);
	ok(l.n == 4 && l.ids[2] == ids[2] && l.ids[3] == ids[0],
	    "list: the next page goes on without a repeat or a gap");
	all = silences_count(ss);
	is_int((int64_t)all, 4, "4 in memory");

	/* restart: a new set from the same store */
	silences_free(ss);
	store_close(store);
	if ((store = store_open(base, test_tmpdir(), err,
	    sizeof err)) == NULL)
		bail("store_open again: %s", err);
	if ((ss = silences_new(store, err, sizeof err)) == NULL)
		bail("silences_new again: %s", err);
	is_int((int64_t)silences_count(ss), 4,
	    "restart: the 4 not ended are loaded, the expired is not");
	is_int((int64_t)silences_match(ss, &s, &a, now), (int64_t)ids[0],
	    "restart: they match as before");
	memset(&l, 0, sizeof l);
	silences_list(ss, SILENCE_ACTIVE | SILENCE_PENDING | SILENCE_EXPIRED,
	    now, 0, 100, list_cb, &l, &next);
	ok(l.n >= 5, "restart: listing all still shows the expired ones");
}

int
main(void)
{
	char	 err[256];

	plan(82);
	now = util_now_ms();
	if ((base = event_base_new()) == NULL)
		bail("event_base_new");
	if ((store = store_open(base, test_tmpdir(), err, sizeof err)) == NULL)
		bail("store_open: %s", err);
	if ((ss = silences_new(store, err, sizeof err)) == NULL)
		bail("silences_new: %s", err);
	is_int((int64_t)silences_count(ss), 0, "a new store has no silences");
	is_int((int64_t)silences_match(ss, NULL, NULL, now), 0,
	    "no alert, no match");
	test_refused();
	test_match();
	test_time();
	test_list_restart();
	silences_free(ss);
	store_close(store);
	event_base_free(base);
	return (test_done());
}
