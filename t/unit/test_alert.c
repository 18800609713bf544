/*
 * test_alert.c -- alerts: from records (field selection, content hash),
 * the JSON forms, and the store: ids, indexes, get, paged listings,
 * state changes.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "alert.h"
#include "buf.h"
#include "json.h"
#include "record.h"
#include "search.h"
#include "store.h"
#include "tap.h"
#include "xmalloc.h"

#define NOW	1795462200000LL
#define NALERTS	2500

/* A search (no config) with extra definition members. */
static struct search *
mksearch(const char *extra, uint64_t id)
{
	struct json		*j;
	struct search		*s;
	struct search_err	 err;
	char			*text, msg[128];

	if (asprintf(&text, "{\"name\":\"a\",\"type\":\"es\",\"source\":"
	    "\"logs\",\"query\":\"*\"%s}", extra) == -1)
		bail("asprintf");
	if ((j = json_parse(text, strlen(text), msg, sizeof msg)) == NULL)
		bail("bad JSON %s: %s", text, msg);
	free(text);
	if ((s = search_from_json(j, NULL, &err)) == NULL)
		bail("search refused: %s: %s", err.se_field, err.se_message);
	json_free(j);
	s->s_id = id;
	return (s);
}

/* True when h is "sha256:" and 64 lowercase hex digits. */
static int
is_hash(const char *h)
{
	size_t	 i;

	if (strlen(h) != 71 || strncmp(h, "sha256:", 7) != 0)
		return (0);
	for (i = 7; i < 71; i++)
		if (strchr("0123456789abcdef", h[i]) == NULL)
			return (0);
	return (1);
}

static void
test_from_record(void)
{
	struct search	*s, *all;
	struct record	*r, *r2;
	struct alert	*a, *b, *c;
	char		 h[ALERT_HASH_LEN];
	const char	*v;

	s = mksearch(",\"fields\":[\"host\",\"user\"],\"priority\":\"high\","
	    "\"assignee\":\"bob\"", 9);
	r = record_new();
	r->r_time = NOW - 5000;
	record_set_id(r, "idx/1", 5);
	record_add_str(r, "msg", "hello", 5);
	record_add_str(r, "user.name", "u\"1", 3);
	record_add_str(r, "host", "h1", 2);
	record_add_str(r, "username", "nope", 4);
	record_add_int(r, "user.id", 42);

	a = alert_from_record(s, r, NOW);
	alert_hash(a);
	is_string("{\"user.name\":\"u\\\"1\",\"host\":\"h1\",\"user.id\":42}",
	    a->a_content, "fields selected, dotted children too, in order");
	is_int(strlen(a->a_content), a->a_content_len, "content length");
	ok(a->a_id == 0 && a->a_search_id == 9, "no id yet; search id");
	ok(a->a_time == NOW - 5000 && a->a_created == NOW &&
	    a->a_updated == NOW, "event time and created");
	ok(a->a_state == ALERT_NEW && a->a_resolution == RESOLUTION_NONE &&
	    !a->a_escalated && a->a_count == 1, "new, count 1");
	is_string("high", a->a_priority, "priority from the search");
	is_string("bob", a->a_assignee, "assignee from the search");
	is_string("idx/1", a->a_source_id, "source id from the record");
	ok(a->a_source_url == NULL, "no source url");
	ok(is_hash(a->a_hash), "hash %s", a->a_hash);
	ok(record_count(r) == 5, "the record is not changed");

	/* The same fields in another order: the same hash. */
	r2 = record_new();
	r2->r_time = NOW - 9000;
	record_add_int(r2, "user.id", 42);
	record_add_str(r2, "host", "h1", 2);
	record_add_str(r2, "user.name", "u\"1", 3);
	record_add_str(r2, "other", "x", 1);
	b = alert_from_record(s, r2, NOW);
	alert_hash(b);
	ok(strcmp(a->a_content, b->a_content) != 0,
	    "another order gives other content");
	is_string(a->a_hash, b->a_hash, "but the same hash");
	ok(b->a_source_id == NULL, "no source id");
	alert_free(b);
	record_free(r2);

	/* The hash computed from the content agrees. */
	memcpy(h, a->a_hash, sizeof h);
	memset(a->a_hash, 0, sizeof a->a_hash);
	alert_hash(a);
	is_string(h, a->a_hash, "alert_hash over the content agrees");

	/* A value that differs changes the hash. */
	r2 = record_new();
	record_add_str(r2, "host", "h2", 2);
	record_add_str(r2, "user.name", "u\"1", 3);
	record_add_int(r2, "user.id", 42);
	b = alert_from_record(s, r2, NOW);
	alert_hash(b);
	ok(strcmp(a->a_hash, b->a_hash) != 0, "another value, another hash");
	is_int(NOW, b->a_time, "no event time: now");
	alert_free(b);
	record_free(r2);

	/* No "fields": all of them. */
	all = mksearch("", 10);
	c = alert_from_record(all, r, NOW);
	alert_hash(c);
	is_string("{\"msg\":\"hello\",\"user.name\":\"u\\\"1\",\"host\":\"h1\","
	    "\"username\":\"nope\",\"user.id\":42}", c->a_content,
	    "without fields: the whole record");
	is_string("low", c->a_priority, "default priority");
	ok(c->a_assignee == NULL, "no assignee");
	ok(strcmp(c->a_hash, a->a_hash) != 0, "more fields, another hash");
	alert_free(c);

	/* Nothing selected: an empty object. */
	r2 = record_new();
	record_add_str(r2, "zzz", "1", 1);
	c = alert_from_record(s, r2, NOW);
	alert_hash(c);
	is_string("{}", c->a_content, "nothing selected: {}");
	ok(is_hash(c->a_hash), "still hashed");
	alert_free(c);
	record_free(r2);

	/*
	 * One hash definition: keys sorted at every depth, strings and
	 * arrays compared as JSON values, not as the bytes written.
	 */
	r2 = record_new();
	v = "[{\"b\":1,\"a\":\"\\u00e9\"}, 2]";
	record_add(r2, "ar", 2, v, strlen(v));
	record_add(r2, "s", 1, "\"x\\/y\"", 6);
	b = alert_from_record(all, r2, NOW);
	alert_hash(b);
	record_free(r2);
	r2 = record_new();
	record_add(r2, "s", 1, "\"x/y\"", 5);
	v = "[{\"a\":\"\xc3\xa9\",\"b\":1},2]";
	record_add(r2, "ar", 2, v, strlen(v));
	c = alert_from_record(all, r2, NOW);
	alert_hash(c);
	record_free(r2);
	is_string(b->a_hash, c->a_hash,
	    "nested keys sorted, escapes and spacing do not count");
	memcpy(h, b->a_hash, sizeof h);
	alert_hash(b);
	is_string(h, b->a_hash, "alert_hash agrees on nested content");
	alert_free(b);
	alert_free(c);

	alert_free(a);
	record_free(r);
	search_unref(all);
	search_unref(s);
}

/* The alert JSON (API form) of a, parsed. */
static struct json *
gen_json(const struct alert *a)
{
	yajl_gen	 g;
	struct buf	 b = BUF_INIT;
	struct json	*j;
	char		 msg[128];

	g = jgen_new();
	alert_gen(g, a);
	jgen_take(g, &b);
	yajl_gen_free(g);
	j = json_parse(b.b_data, b.b_len, msg, sizeof msg);
	if (j == NULL)
		diag("alert_gen output does not parse: %s", msg);
	buf_free(&b);
	return (j);
}

static void
test_json(void)
{
	struct search	*s;
	struct record	*r;
	struct alert	*a, *p;
	struct json	*j;
	int64_t		 v;
	int		 bv;
	char		*text;
	size_t		 len;

	s = mksearch("", 3);
	r = record_new();
	r->r_time = NOW;
	record_add_str(r, "host", "h1", 2);
	record_add(r, "tags", 4, "[1,2]", 5);
	a = alert_from_record(s, r, NOW + 1500);
	alert_hash(a);
	a->a_id = 17;
	record_free(r);

	j = gen_json(a);
	ok(j != NULL && j->j_type == JSON_OBJECT, "alert_gen writes an object");
	if (j == NULL) {
		skip(11, "no JSON");
		goto out;
	}
	ok(json_int(json_get(j, "id"), &v) && v == 17, "id");
	ok(json_int(json_get(j, "search_id"), &v) && v == 3, "search_id");
	is_string("2026-11-23T19:30:00Z", json_str(json_get(j, "time")),
	    "time as RFC 3339");
	is_string("new", json_str(json_get(j, "state")), "state");
	ok(json_get(j, "resolution") != NULL &&
	    json_get(j, "resolution")->j_type == JSON_NULL,
	    "resolution null while not resolved");
	ok(json_bool(json_get(j, "escalated"), &bv) && !bv, "escalated");
	ok(json_get(j, "content") != NULL &&
	    json_get(j, "content")->j_type == JSON_OBJECT &&
	    json_len(json_get(json_get(j, "content"), "tags")) == 2,
	    "content inline as an object");
	is_string(a->a_hash, json_str(json_get(j, "content_hash")),
	    "content_hash");
	ok(json_int(json_get(j, "count"), &v) && v == 1, "count");
	json_free(j);

	a->a_state = ALERT_RESOLVED;
	a->a_resolution = RESOLUTION_ACTION_TAKEN;
	a->a_escalated = 1;
	a->a_source_url = xstrdup("http://x/y");
	j = gen_json(a);
	is_string("action_taken", json_str(json_get(j, "resolution")),
	    "resolution when resolved");
	is_string("http://x/y", json_str(json_get(j, "source_url")),
	    "source_url");
	json_free(j);
out:
	/* alert_parse reads what alert_gen wrote (times aside). */
	{
		yajl_gen	 g;
		struct buf	 b = BUF_INIT;

		g = jgen_new();
		alert_gen(g, a);
		jgen_take(g, &b);
		yajl_gen_free(g);
		p = alert_parse(b.b_data, b.b_len);
		buf_free(&b);
	}
	ok(p != NULL && p->a_id == 17 && p->a_search_id == 3 &&
	    p->a_state == ALERT_RESOLVED &&
	    p->a_resolution == RESOLUTION_ACTION_TAKEN && p->a_escalated &&
	    strcmp(p->a_hash, a->a_hash) == 0 &&
	    strcmp(p->a_source_url, "http://x/y") == 0 &&
	    strcmp(p->a_priority, "low") == 0 && p->a_count == 1,
	    "alert_parse reads the API form back");
	ok(p != NULL && p->a_content_len == a->a_content_len &&
	    strcmp(p->a_content, a->a_content) == 0, "content verbatim");
	alert_free(p);

	text = xstrdup("{\"id\":1,\"state\":\"new\",\"content\":{}}");
	len = strlen(text);
	p = alert_parse(text, len);
	ok(p != NULL && p->a_id == 1 && strcmp(p->a_priority, "low") == 0 &&
	    p->a_assignee == NULL && p->a_source_id == NULL &&
	    strcmp(p->a_content, "{}") == 0, "a minimal stored alert");
	alert_free(p);
	free(text);
	ok(alert_parse("nope", 4) == NULL, "not JSON");
	ok(alert_parse("{\"state\":\"new\",\"content\":{}}", 27) == NULL,
	    "no id");
	ok(alert_parse("{\"id\":1,\"state\":\"odd\",\"content\":{}}", 35) ==
	    NULL, "unknown state");
	ok(alert_parse("{\"id\":1,\"state\":\"new\",\"content\":[]}", 35) ==
	    NULL, "content not an object");

	alert_free(a);
	search_unref(s);
}

static void
test_names(void)
{
	enum alert_state	 st;
	int			 i, bad = 0;

	for (i = 0; i < ALERT_NSTATES; i++)
		if (alert_state_parse(alert_state_name((enum alert_state)i),
		    &st) != 0 || (int)st != i)
			bad++;
	is_int(0, bad, "state names round trip");
	is_string("in_progress", alert_state_name(ALERT_IN_PROGRESS),
	    "in_progress");
	ok(alert_state_parse("closed", &st) == -1, "unknown state");
	ok(alert_resolution_name(RESOLUTION_NONE) == NULL &&
	    strcmp(alert_resolution_name(RESOLUTION_TOO_OLD), "too_old") == 0,
	    "resolution names");
}

/* Store work for the tests. */
struct fill {
	struct search	*f_search[3];
	uint64_t	 f_ids[NALERTS];
	int		 f_bad;
};

/* The search and state of alert number i (0-based). */
#define FILL_SEARCH(i)	((i) % 3)
#define FILL_STATE(i)	((i) % 7 == 0 ? ALERT_IN_PROGRESS : ALERT_NEW)

static int
fill_cb(struct store_txn *txn, void *arg)
{
	struct fill	*f = arg;
	struct record	*r;
	struct alert	*a;
	int		 i;

	for (i = 0; i < NALERTS; i++) {
		r = record_new();
		r->r_time = NOW + i;
		record_add_int(r, "n", i);
		a = alert_from_record(f->f_search[FILL_SEARCH(i)], r, NOW);
		alert_hash(a);
		a->a_state = FILL_STATE(i);
		record_free(r);
		if (alert_insert(txn, a) == -1) {
			alert_free(a);
			return (-1);
		}
		f->f_ids[i] = a->a_id;
		alert_free(a);
	}
	return (0);
}

/* A listing collected. */
struct listing {
	uint64_t	*l_ids;
	size_t		 l_n;
	int		 l_bad;		/* alerts that do not match */
	int		 l_state;
	uint64_t	 l_search;
};

static void
list_cb(void *arg, const struct alert *a)
{
	struct listing	*l = arg;

	if ((l->l_state >= 0 && (int)a->a_state != l->l_state) ||
	    (l->l_search != 0 && a->a_search_id != l->l_search))
		l->l_bad++;
	if (l->l_n < NALERTS + 10)
		l->l_ids[l->l_n++] = a->a_id;
	else
		l->l_bad++;
}

/*
 * Page through a listing with limit per page; check it is descending,
 * without repeats; returns the number of pages (or -1).
 */
static int
list_all(struct store *st, int state, uint64_t search, size_t limit,
    struct listing *l)
{
	struct alert_query	 q;
	struct store_txn	*txn;
	uint64_t		 next;
	size_t			 i;
	int			 n, pages = 0;

	memset(l, 0, sizeof *l);
	l->l_ids = xcalloc(NALERTS + 10, sizeof *l->l_ids);
	l->l_state = state;
	l->l_search = search;
	memset(&q, 0, sizeof q);
	q.aq_state = state;
	q.aq_search = search;
	q.aq_limit = limit;
	do {
		if ((txn = store_read(st)) == NULL)
			return (-1);
		n = alert_list(txn, &q, list_cb, l, &next);
		store_done(txn);
		if (n == -1 || (size_t)n > limit || pages > NALERTS)
			return (-1);
		if (next != 0 && (size_t)n != limit)
			return (-1);
		pages++;
		q.aq_before = next;
	} while (next != 0);
	for (i = 1; i < l->l_n; i++)
		if (l->l_ids[i] >= l->l_ids[i - 1])
			l->l_bad++;
	return (pages);
}

static int
update_cb(struct store_txn *txn, void *arg)
{
	struct alert	*a = arg;

	return (alert_update(txn, a, ALERT_NEW));
}

static void
test_store(void)
{
	struct event_base	*base;
	struct store		*st;
	struct store_txn	*txn;
	struct fill		*f;
	struct listing		 l;
	struct alert_query	 q;
	struct alert		*a;
	uint64_t		 next, id;
	char			 dir[512], err[256];
	int			 i, bad, pages, want, n;

	if ((base = event_base_new()) == NULL)
		bail("event_base_new");
	snprintf(dir, sizeof dir, "%s/alerts.XXXXXX", test_tmpdir());
	if (mkdtemp(dir) == NULL)
		bail("mkdtemp %s", dir);
	if ((st = store_open(base, dir, err, sizeof err)) == NULL)
		bail("store_open: %s", err);

	f = xcalloc(1, sizeof *f);
	f->f_search[0] = mksearch("", 101);
	f->f_search[1] = mksearch("", 102);
	f->f_search[2] = mksearch("", 103);
	ok(store_update(st, fill_cb, f, err, sizeof err) == 0,
	    "%d alerts inserted", NALERTS);
	bad = 0;
	for (i = 0; i < NALERTS; i++)
		if (f->f_ids[i] != (uint64_t)i + 1)
			bad++;
	is_int(0, bad, "ids 1..%d, unique and increasing", NALERTS);

	txn = store_read(st);
	a = NULL;
	ok(store_count(txn, STORE_ALERTS) == NALERTS &&
	    store_count(txn, STORE_ALERTS_BY_SEARCH) == NALERTS &&
	    store_count(txn, STORE_ALERTS_BY_STATE) == NALERTS,
	    "one entry in each index per alert");
	ok(alert_get(txn, 1234, &a) == 0 && a->a_id == 1234 &&
	    a->a_search_id == 101 + FILL_SEARCH(1233) &&
	    a->a_state == FILL_STATE(1233) && a->a_time == NOW + 1233 &&
	    a->a_created == NOW && strcmp(a->a_content, "{\"n\":1233}") == 0 &&
	    is_hash(a->a_hash), "alert_get reads an alert back, times in ms");
	if (a != NULL)
		alert_free(a);
	a = NULL;
	ok(alert_get(txn, NALERTS + 1, &a) == 1 && a == NULL, "absent id");
	ok(alert_get(txn, 0, &a) == 1, "id 0 is absent");
	store_done(txn);

	/* Everything, in pages of 100 and of 7. */
	pages = list_all(st, -1, 0, 100, &l);
	ok(pages == 25 && l.l_n == NALERTS && l.l_bad == 0 &&
	    l.l_ids[0] == NALERTS && l.l_ids[NALERTS - 1] == 1,
	    "all: 25 pages of 100, newest first, no repeat, no gap");
	free(l.l_ids);
	pages = list_all(st, -1, 0, 7, &l);
	ok(pages == (NALERTS + 6) / 7 && l.l_n == NALERTS && l.l_bad == 0,
	    "all: pages of 7 (%d)", pages);
	free(l.l_ids);
	pages = list_all(st, -1, 0, NALERTS, &l);
	ok(pages == 1 && l.l_n == NALERTS, "one page of exactly all");
	free(l.l_ids);

	/* By search. */
	pages = list_all(st, -1, 102, 50, &l);
	want = 0;
	for (i = 0; i < NALERTS; i++)
		if (FILL_SEARCH(i) == 1)
			want++;
	ok(pages > 0 && (int)l.l_n == want && l.l_bad == 0,
	    "search 102: %zu of %d, descending, only its own", l.l_n, want);
	free(l.l_ids);
	pages = list_all(st, -1, 999, 50, &l);
	ok(pages == 1 && l.l_n == 0, "an unknown search lists nothing");
	free(l.l_ids);

	/* By state. */
	want = 0;
	for (i = 0; i < NALERTS; i++)
		if (FILL_STATE(i) == ALERT_IN_PROGRESS)
			want++;
	pages = list_all(st, ALERT_IN_PROGRESS, 0, 33, &l);
	ok(pages > 0 && (int)l.l_n == want && l.l_bad == 0,
	    "in_progress: %zu of %d", l.l_n, want);
	free(l.l_ids);
	pages = list_all(st, ALERT_RESOLVED, 0, 33, &l);
	ok(pages == 1 && l.l_n == 0, "no resolved alerts yet");
	free(l.l_ids);

	/* Both. */
	want = 0;
	for (i = 0; i < NALERTS; i++)
		if (FILL_STATE(i) == ALERT_NEW && FILL_SEARCH(i) == 2)
			want++;
	pages = list_all(st, ALERT_NEW, 103, 10, &l);
	ok(pages > 0 && (int)l.l_n == want && l.l_bad == 0,
	    "new alerts of search 103: %zu of %d", l.l_n, want);
	free(l.l_ids);

	/* A cursor in the middle; the end. */
	memset(&l, 0, sizeof l);
	l.l_ids = xcalloc(NALERTS + 10, sizeof *l.l_ids);
	l.l_state = -1;
	memset(&q, 0, sizeof q);
	q.aq_state = -1;
	q.aq_before = 1001;
	q.aq_limit = 5;
	txn = store_read(st);
	n = alert_list(txn, &q, list_cb, &l, &next);
	ok(n == 5 && l.l_ids[0] == 1000 && l.l_ids[4] == 996 && next == 996,
	    "before 1001: 1000..996, next 996");
	l.l_n = 0;
	q.aq_before = 4;
	n = alert_list(txn, &q, list_cb, &l, &next);
	ok(n == 3 && l.l_ids[2] == 1 && next == 0,
	    "before 4: 3, 2, 1 and no next page");
	q.aq_before = 1;
	n = alert_list(txn, &q, list_cb, &l, &next);
	ok(n == 0 && next == 0, "before 1: nothing");
	store_done(txn);
	free(l.l_ids);

	/* alert_update moves the state index. */
	id = 2;		/* alert number 1: new, search 102 */
	txn = store_read(st);
	a = NULL;
	if (alert_get(txn, id, &a) != 0)
		bail("alert_get %llu", (unsigned long long)id);
	store_done(txn);
	ok(a->a_state == ALERT_NEW, "alert 2 is new");
	a->a_state = ALERT_RESOLVED;
	a->a_resolution = RESOLUTION_NOT_AN_ISSUE;
	a->a_updated = NOW + 60000;
	free(a->a_assignee);
	a->a_assignee = xstrdup("carol");
	ok(store_update(st, update_cb, a, err, sizeof err) == 0,
	    "alert 2 resolved");
	alert_free(a);
	txn = store_read(st);
	a = NULL;
	ok(alert_get(txn, id, &a) == 0 && a->a_state == ALERT_RESOLVED &&
	    a->a_resolution == RESOLUTION_NOT_AN_ISSUE &&
	    a->a_updated == NOW + 60000 && strcmp(a->a_assignee, "carol") == 0 &&
	    a->a_created == NOW, "the change is stored");
	alert_free(a);
	ok(store_count(txn, STORE_ALERTS_BY_STATE) == NALERTS &&
	    store_count(txn, STORE_ALERTS) == NALERTS,
	    "the state index moved, not grew");
	store_done(txn);
	pages = list_all(st, ALERT_RESOLVED, 0, 10, &l);
	ok(l.l_n == 1 && l.l_ids[0] == id && l.l_bad == 0,
	    "resolved lists alert 2");
	free(l.l_ids);
	pages = list_all(st, ALERT_NEW, 0, 100, &l);
	bad = 0;
	for (i = 0; i < (int)l.l_n; i++)
		if (l.l_ids[i] == id)
			bad++;
	want = 0;
	for (i = 0; i < NALERTS; i++)
		if (FILL_STATE(i) == ALERT_NEW)
			want++;
	ok(bad == 0 && (int)l.l_n == want - 1 && l.l_bad == 0,
	    "new no longer lists it");
	free(l.l_ids);
	pages = list_all(st, ALERT_RESOLVED, 102, 10, &l);
	ok(l.l_n == 1 && l.l_ids[0] == id, "resolved of search 102 too");
	free(l.l_ids);
	pages = list_all(st, ALERT_NEW, 102, 10, &l);
	bad = 0;
	for (i = 0; i < (int)l.l_n; i++)
		if (l.l_ids[i] == id)
			bad++;
	ok(bad == 0 && l.l_bad == 0, "new of search 102 skips it");
	free(l.l_ids);

	/* The counter goes on after a restart. */
	store_close(st);
	if ((st = store_open(base, dir, err, sizeof err)) == NULL)
		bail("store_open: %s", err);
	{
		struct fill	*g = xcalloc(1, sizeof *g);

		memcpy(g->f_search, f->f_search, sizeof g->f_search);
		ok(store_update(st, fill_cb, g, err, sizeof err) == 0 &&
		    g->f_ids[0] == NALERTS + 1 &&
		    g->f_ids[NALERTS - 1] == 2 * NALERTS,
		    "ids continue after a restart");
		free(g);
	}
	store_close(st);

	for (i = 0; i < 3; i++)
		search_unref(f->f_search[i]);
	free(f);
	event_base_free(base);
}

static int
insert_cb(struct store_txn *txn, void *arg)
{
	return (alert_insert(txn, arg));
}

/* A record with a repeated key makes an alert that can be read back. */
static void
test_repeated_key(void)
{
	struct event_base	*base;
	struct store		*st;
	struct store_txn	*txn;
	struct search		*s;
	struct record		*r;
	struct alert		*a, *b = NULL;
	char			 dir[512], err[256];

	s = mksearch("", 5);
	r = record_new();
	record_add_str(r, "a.b", "1", 1);
	record_add_str(r, "a.b", "2", 1);
	record_add_str(r, "c", "3", 1);
	a = alert_from_record(s, r, NOW);
	alert_hash(a);
	record_free(r);
	is_string("{\"a.b\":\"1\",\"c\":\"3\"}", a->a_content,
	    "a repeated key keeps its first value");

	if ((base = event_base_new()) == NULL)
		bail("event_base_new");
	snprintf(dir, sizeof dir, "%s/dup.XXXXXX", test_tmpdir());
	if (mkdtemp(dir) == NULL)
		bail("mkdtemp %s", dir);
	if ((st = store_open(base, dir, err, sizeof err)) == NULL)
		bail("store_open: %s", err);
	ok(store_update(st, insert_cb, a, err,
	    sizeof err) == 0, "an alert from a record with a repeated key");
	txn = store_read(st);
	ok(alert_get(txn, a->a_id, &b) == 0 && b != NULL &&
	    strcmp(b->a_hash, a->a_hash) == 0,
	    "is read back (its stored JSON is valid)");
	store_done(txn);
	alert_free(b);
	alert_free(a);
	store_close(st);
	event_base_free(base);
	search_unref(s);
}

/* The indexes of issue 5: assignee, priority, escalation, idle order,
 * counters, the combined listing, the scan bound, the log. */
#define IXN	300

struct ixfill {
	struct search	*x_search[2];
	uint64_t	 x_ids[IXN];
};

#define IX_ASSIGNEE(i)	((i) % 3 == 0 ? NULL : (i) % 3 == 1 ? "alice" : "bob")
#define IX_PRIO(i)	((i) % 4 == 0 ? "high" : "low")
#define IX_ESC(i)	((i) % 5 == 0)
#define IX_STATE(i)	((i) % 6 == 0 ? ALERT_RESOLVED : ALERT_NEW)

static int
ixfill_cb(struct store_txn *txn, void *arg)
{
	struct ixfill	*f = arg;
	struct record	*r;
	struct alert	*a;
	int		 i;

	for (i = 0; i < IXN; i++) {
		r = record_new();
		r->r_time = NOW + i * 1000;
		record_add_int(r, "n", i);
		record_add_str(r, "host", i % 10 == 0 ? "WebNode" : "db", i %
		    10 == 0 ? 7 : 2);
		a = alert_from_record(f->x_search[i % 2], r, NOW + i);
		record_free(r);
		alert_hash(a);
		free(a->a_assignee);
		a->a_assignee = IX_ASSIGNEE(i) != NULL ?
		    xstrdup(IX_ASSIGNEE(i)) : NULL;
		free(a->a_priority);
		a->a_priority = xstrdup(IX_PRIO(i));
		a->a_escalated = IX_ESC(i);
		a->a_state = IX_STATE(i);
		if (i == 7)
			a->a_silenced = 42;
		if (alert_insert(txn, a) == -1) {
			alert_free(a);
			return (-1);
		}
		f->x_ids[i] = a->a_id;
		alert_free(a);
	}
	return (0);
}

/* Collect ids; check each against a query. */
struct ixlist {
	uint64_t		 il_ids[IXN + 1];
	size_t			 il_n;
	int			 il_bad;
	const struct alert_query *il_q;
};

static int
ix_wants(const struct alert_query *q, const struct alert *a)
{
	const char	*as = a->a_assignee != NULL ? a->a_assignee : "";

	if (q->aq_state >= 0 && (int)a->a_state != q->aq_state)
		return (0);
	if (q->aq_search != 0 && a->a_search_id != q->aq_search)
		return (0);
	if (q->aq_assignee != NULL && strcmp(as, q->aq_assignee) != 0)
		return (0);
	if (q->aq_priority != NULL && strcmp(a->a_priority,
	    q->aq_priority) != 0)
		return (0);
	if (q->aq_escalated == ALERT_ESC_YES && !a->a_escalated)
		return (0);
	if (q->aq_escalated == ALERT_ESC_NO && a->a_escalated)
		return (0);
	if (q->aq_from != 0 && a->a_time < q->aq_from)
		return (0);
	if (q->aq_to != 0 && a->a_time >= q->aq_to)
		return (0);
	return (1);
}

static void
ixlist_cb(void *arg, const struct alert *a)
{
	struct ixlist	*l = arg;

	if (!ix_wants(l->il_q, a))
		l->il_bad++;
	if (l->il_n > 0 && a->a_id >= l->il_ids[l->il_n - 1])
		l->il_bad++;
	if (l->il_n < IXN + 1)
		l->il_ids[l->il_n++] = a->a_id;
}

/* Page through q (limit per page); returns pages, fills l. */
static int
ix_all(struct store *st, struct alert_query *q, size_t limit,
    struct ixlist *l)
{
	struct store_txn	*txn;
	uint64_t		 next;
	int			 n, pages = 0;

	memset(l, 0, sizeof *l);
	l->il_q = q;
	q->aq_limit = limit;
	q->aq_before = 0;
	do {
		txn = store_read(st);
		n = alert_list(txn, q, ixlist_cb, l, &next);
		store_done(txn);
		if (n == -1 || pages++ > 2 * IXN)
			return (-1);
		q->aq_before = next;
	} while (next != 0);
	return (pages);
}

/* How many of the fill match q (by the fill's own rules). */
static size_t
ix_expect(const struct alert_query *q, uint64_t s0, uint64_t s1)
{
	struct alert	 a;
	size_t		 i, n = 0;

	for (i = 0; i < IXN; i++) {
		memset(&a, 0, sizeof a);
		a.a_search_id = i % 2 ? s1 : s0;
		a.a_assignee = (char *)IX_ASSIGNEE(i);
		a.a_priority = (char *)IX_PRIO(i);
		a.a_escalated = IX_ESC(i);
		a.a_state = IX_STATE(i);
		a.a_time = NOW + (int64_t)i * 1000;
		n += ix_wants(q, &a);
	}
	return (n);
}

static int
ix_host_web(void *arg, const struct alert *a)
{
	(void)arg;
	return (strstr(a->a_content, "WebNode") != NULL);
}

struct ixchange {
	uint64_t	 c_id;
	int		 c_what;
	int64_t		 c_now;
};

static int
ixchange_cb(struct store_txn *txn, void *arg)
{
	struct ixchange	*c = arg;
	struct alert	*a, *old;
	enum alert_state st;

	if (alert_get(txn, c->c_id, &a) != 0 ||
	    alert_get(txn, c->c_id, &old) != 0)
		return (-1);
	st = a->a_state;
	switch (c->c_what) {
	case 0:		/* assign, escalate, reprioritize */
		free(a->a_assignee);
		a->a_assignee = xstrdup("carol");
		a->a_escalated = !a->a_escalated;
		free(a->a_priority);
		a->a_priority = xstrdup("critical");
		break;
	case 1:		/* resolve */
		a->a_state = ALERT_RESOLVED;
		a->a_resolution = RESOLUTION_ACTION_TAKEN;
		break;
	}
	a->a_updated = c->c_now;
	if (alert_update(txn, a, st) == -1 || alert_log_add(txn, old, a,
	    c->c_now, "tester", c->c_what == 0 ? "assign" : "resolve",
	    c->c_what == 0 ? "a note" : NULL, NULL, NULL) == -1) {
		alert_free(a);
		alert_free(old);
		return (-1);
	}
	alert_free(a);
	alert_free(old);
	return (0);
}

static int
reindex_cb(struct store_txn *txn, void *arg)
{
	long	*n = arg;

	*n = alert_reindex(txn);
	return (*n == -1 ? -1 : 0);
}

static void
ix_log_cb(void *arg, const char *text, size_t len)
{
	struct buf	*b = arg;

	buf_add(b, text, len);
	buf_addc(b, '\n');
}

static void
ix_count_cb(void *arg, const char *name, uint64_t n)
{
	struct buf	*b = arg;

	buf_printf(b, "%s=%llu;", name, (unsigned long long)n);
}

static void
test_indexes(void)
{
	struct event_base	*base;
	struct store		*st;
	struct store_txn	*txn;
	struct ixfill		*f;
	struct ixlist		*l;
	struct alert_query	 q;
	struct ixchange		 ch;
	struct alert		*a;
	struct buf		 b = BUF_INIT;
	uint64_t		 ids[IXN], next, s0 = 201, s1 = 202, seen;
	char			 dir[512], err[256];
	size_t			 i, want, nhigh, nnew;
	long			 rn;
	int			 n, pages, bad;

	if ((base = event_base_new()) == NULL)
		bail("event_base_new");
	snprintf(dir, sizeof dir, "%s/ix.XXXXXX", test_tmpdir());
	if (mkdtemp(dir) == NULL)
		bail("mkdtemp %s", dir);
	if ((st = store_open(base, dir, err, sizeof err)) == NULL)
		bail("store_open: %s", err);
	f = xcalloc(1, sizeof *f);
	l = xcalloc(1, sizeof *l);
	f->x_search[0] = mksearch("", s0);
	f->x_search[1] = mksearch("", s1);
	ok(store_update(st, ixfill_cb, f, err, sizeof err) == 0,
	    "%d alerts of two searches stored", IXN);

	/* Counters. */
	nhigh = nnew = 0;
	for (i = 0; i < IXN; i++) {
		nhigh += strcmp(IX_PRIO(i), "high") == 0;
		nnew += IX_STATE(i) == ALERT_NEW;
	}
	txn = store_read(st);
	ok(alert_count(txn, ALERT_COUNT_STATE, "new") == nnew &&
	    alert_count(txn, ALERT_COUNT_STATE, "resolved") == IXN - nnew &&
	    alert_count(txn, ALERT_COUNT_STATE, "in_progress") == 0,
	    "counts by state: %zu new, %zu resolved", nnew, IXN - nnew);
	ok(alert_count(txn, ALERT_COUNT_PRIORITY, "high") == nhigh &&
	    alert_count(txn, ALERT_COUNT_PRIORITY, "low") == IXN - nhigh,
	    "counts by priority");
	ok(alert_count(txn, ALERT_COUNT_ASSIGNEE, "") == IXN / 3 &&
	    alert_count(txn, ALERT_COUNT_ASSIGNEE, "alice") == IXN / 3,
	    "counts by assignee (\"\" unassigned)");
	buf_reset(&b);
	ok(alert_counts(txn, ALERT_COUNT_PRIORITY, ix_count_cb, &b) == 0 &&
	    b.b_len > 0 && strcmp(b.b_data, "high=75;low=225;") == 0,
	    "alert_counts walks one kind: %s", b.b_len ? b.b_data : "");
	store_done(txn);

	/* Each filter, and filters combined. */
	memset(&q, 0, sizeof q);
	q.aq_state = -1;
	q.aq_assignee = "alice";
	pages = ix_all(st, &q, 7, l);
	want = ix_expect(&q, s0, s1);
	ok(pages > 1 && l->il_n == want && l->il_bad == 0,
	    "assignee alice: %zu of %zu, newest first, no stranger", l->il_n,
	    want);
	q.aq_assignee = "";
	ix_all(st, &q, 50, l);
	want = ix_expect(&q, s0, s1);
	ok(l->il_n == want && l->il_bad == 0, "unassigned: %zu", want);
	q.aq_assignee = NULL;
	q.aq_priority = "high";
	ix_all(st, &q, 50, l);
	want = ix_expect(&q, s0, s1);
	ok(l->il_n == want && l->il_bad == 0, "priority high: %zu", want);
	q.aq_priority = NULL;
	q.aq_escalated = ALERT_ESC_YES;
	ix_all(st, &q, 50, l);
	want = ix_expect(&q, s0, s1);
	ok(l->il_n == want && l->il_bad == 0, "escalated: %zu", want);
	q.aq_escalated = ALERT_ESC_NO;
	ix_all(st, &q, 50, l);
	want = ix_expect(&q, s0, s1);
	ok(l->il_n == want && l->il_bad == 0, "not escalated: %zu", want);
	q.aq_escalated = ALERT_ESC_NO;
	q.aq_assignee = "bob";
	q.aq_priority = "low";
	q.aq_state = ALERT_NEW;
	q.aq_search = s1;
	ix_all(st, &q, 3, l);
	want = ix_expect(&q, s0, s1);
	ok(want > 0 && l->il_n == want && l->il_bad == 0,
	    "five filters at once: %zu", want);
	memset(&q, 0, sizeof q);
	q.aq_state = -1;
	q.aq_from = NOW + 10 * 1000;
	q.aq_to = NOW + 20 * 1000;
	ix_all(st, &q, 4, l);
	ok(l->il_n == 10 && l->il_bad == 0 && l->il_ids[0] == f->x_ids[19] &&
	    l->il_ids[9] == f->x_ids[10], "from/to: [from, to) by alert time");
	memset(&q, 0, sizeof q);
	q.aq_state = -1;
	q.aq_text = "webnode";
	ix_all(st, &q, 100, l);
	ok(l->il_n == IXN / 10 && l->il_ids[0] == f->x_ids[290],
	    "text: case-insensitive substring of the content");
	q.aq_text = NULL;
	q.aq_match = ix_host_web;
	q.aq_priority = "high";
	ix_all(st, &q, 100, l);
	ok(l->il_n == IXN / 20 && l->il_bad == 0,
	    "a match callback with an index: %zu", l->il_n);

	/* The scan bound: a partial page, and paging still sees all. */
	memset(&q, 0, sizeof q);
	q.aq_state = -1;
	q.aq_text = "webnode";
	q.aq_max_scan = 25;
	q.aq_limit = 100;
	memset(l, 0, sizeof *l);
	l->il_q = &q;
	txn = store_read(st);
	n = alert_list(txn, &q, ixlist_cb, l, &next);
	store_done(txn);
	ok(n == 2 && next == f->x_ids[IXN - 25],
	    "25 examined: 2 listed, next %llu to go on",
	    (unsigned long long)next);
	pages = ix_all(st, &q, 100, l);
	ok(l->il_n == IXN / 10 && l->il_bad == 0 && pages == IXN / 25,
	    "bounded pages still list all %d, once each (%d pages)",
	    IXN / 10, pages);

	/* Changes move entries and counters. */
	ch.c_id = f->x_ids[1];		/* alice, low, not escalated */
	ch.c_what = 0;
	ch.c_now = NOW + 500000;
	ok(store_update(st, ixchange_cb, &ch, err, sizeof err) == 0,
	    "alert %llu changed", (unsigned long long)ch.c_id);
	txn = store_read(st);
	ok(alert_count(txn, ALERT_COUNT_ASSIGNEE, "alice") == IXN / 3 - 1 &&
	    alert_count(txn, ALERT_COUNT_ASSIGNEE, "carol") == 1 &&
	    alert_count(txn, ALERT_COUNT_PRIORITY, "critical") == 1 &&
	    alert_count(txn, ALERT_COUNT_PRIORITY, "low") ==
	    IXN - nhigh - 1, "counters moved with it");
	store_done(txn);
	memset(&q, 0, sizeof q);
	q.aq_state = -1;
	q.aq_assignee = "alice";
	ix_all(st, &q, 500, l);
	bad = 0;
	for (i = 0; i < l->il_n; i++)
		bad += l->il_ids[i] == ch.c_id;
	ok(bad == 0 && l->il_n == IXN / 3 - 1, "alice no longer lists it");
	q.aq_assignee = "carol";
	q.aq_escalated = ALERT_ESC_YES;
	q.aq_priority = "critical";
	ix_all(st, &q, 500, l);
	ok(l->il_n == 1 && l->il_ids[0] == ch.c_id,
	    "carol, escalated, critical lists it");

	/* Idle order: unresolved alerts of a search by last change. */
	txn = store_read(st);
	n = alert_idle(txn, s1, NOW + 100, ids, IXN);
	store_done(txn);
	want = 0;
	for (i = 1; i < 100; i += 2)
		want += IX_STATE(i) != ALERT_RESOLVED && i != 1;
	ok(n == (int)want && ids[0] == f->x_ids[3],
	    "idle: %d unresolved alerts of search %llu changed before, "
	    "oldest first (alert 2 changed later)", n,
	    (unsigned long long)s1);
	txn = store_read(st);
	n = alert_idle(txn, s1, NOW + 100, ids, 5);
	store_done(txn);
	ok(n == 5, "idle: at most max");
	ch.c_id = f->x_ids[3];
	ch.c_what = 1;
	ch.c_now = NOW + 600000;
	ok(store_update(st, ixchange_cb, &ch, err, sizeof err) == 0,
	    "alert %llu resolved", (unsigned long long)ch.c_id);
	txn = store_read(st);
	n = alert_idle(txn, s1, NOW + 10000000, ids, IXN);
	bad = 0;
	for (i = 0; i < (size_t)n; i++)
		bad += ids[i] == ch.c_id;
	ok(bad == 0 && ids[n - 1] == f->x_ids[1],
	    "a resolved alert leaves the idle index; the changed one is last");
	ok(alert_count(txn, ALERT_COUNT_STATE, "resolved") == IXN - nnew + 1,
	    "resolved count up by one");
	store_done(txn);

	/* The log. */
	ch.c_id = f->x_ids[1];
	ch.c_what = 1;
	ok(store_update(st, ixchange_cb, &ch, err, sizeof err) == 0,
	    "alert 2 resolved too");
	txn = store_read(st);
	n = alert_log_list(txn, f->x_ids[1], 0, 1, ix_log_cb, &b, &next);
	ok(n == 1 && next != 0 && strstr(b.b_data, "\"action\":\"assign\"") !=
	    NULL && strstr(b.b_data, "\"assignee\":{\"from\":\"alice\","
	    "\"to\":\"carol\"}") != NULL && strstr(b.b_data, "\"escalated\":"
	    "{\"from\":false,\"to\":true}") != NULL && strstr(b.b_data,
	    "\"actor\":\"tester\"") != NULL && strstr(b.b_data,
	    "\"note\":\"a note\"") != NULL && strstr(b.b_data, "\"state\"") ==
	    NULL, "log entry 1: who, what, changed fields, note");
	buf_reset(&b);
	n = alert_log_list(txn, f->x_ids[1], next, 10, ix_log_cb, &b, &next);
	ok(n == 1 && next == 0 && strstr(b.b_data, "\"state\":{\"from\":"
	    "\"new\",\"to\":\"resolved\"}") != NULL && strstr(b.b_data,
	    "\"resolution\":{\"from\":null,\"to\":\"action_taken\"}") != NULL,
	    "log entry 2 after the cursor, and the end");
	buf_reset(&b);
	n = alert_log_list(txn, f->x_ids[2], 0, 10, ix_log_cb, &b, &next);
	ok(n == 0 && next == 0, "another alert's log is empty");
	/* silenced round trip */
	a = NULL;
	ok(alert_get(txn, f->x_ids[7], &a) == 0 && a->a_silenced == 42,
	    "silenced is stored");
	alert_free(a);
	a = NULL;
	ok(alert_get(txn, f->x_ids[8], &a) == 0 && a->a_silenced == 0,
	    "not silenced is 0");
	alert_free(a);
	store_done(txn);
	buf_free(&b);

	/* Reindex: rebuilds once, to the same counters. */
	ok(store_update(st, reindex_cb, &rn, err, sizeof err) == 0 &&
	    rn == IXN, "reindex of an old datadir: %ld alerts", rn);
	ok(store_update(st, reindex_cb, &rn, err, sizeof err) == 0 &&
	    rn == 0, "then nothing to do");
	txn = store_read(st);
	ok(alert_count(txn, ALERT_COUNT_ASSIGNEE, "carol") == 1 &&
	    alert_count(txn, ALERT_COUNT_STATE, "resolved") ==
	    IXN - nnew + 2 && alert_count(txn, ALERT_COUNT_PRIORITY, "high") ==
	    nhigh, "counters the same after the rebuild");
	seen = store_count(txn, STORE_ALERTS_BY_STATE);
	store_done(txn);
	ok(seen == IXN, "one state entry per alert");
	memset(&q, 0, sizeof q);
	q.aq_state = -1;
	q.aq_assignee = "carol";
	ix_all(st, &q, 10, l);
	ok(l->il_n == 1 && l->il_ids[0] == f->x_ids[1],
	    "and the indexes work");

	store_close(st);
	search_unref(f->x_search[0]);
	search_unref(f->x_search[1]);
	free(f);
	free(l);
	event_base_free(base);
}

int
main(void)
{
	plan(77 + 36);
	test_from_record();
	test_json();
	test_names();
	test_store();
	test_repeated_key();
	test_indexes();
	return (test_done());
}
