/*
 * test_jstream.c -- the streaming reader on ES/OpenSearch bodies, in every
 * chunking, with errors, limits and a long stream.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "jstream.h"
#include "record.h"
#include "tap.h"
#include "xmalloc.h"

/* What a parse produced, as text: one line per record or scalar. */
struct collect {
	struct buf	 c_log;
	struct record	*c_recs[16];
	size_t		 c_nrecs;
	int		 c_cancel_rec;	/* cancel at this record (1-based) */
	int		 c_cancel_scalar;
	size_t		 c_nscalars;
};

static const char *const hits_pat[] = { "hits.hits[]", NULL };
static const char *const aggs_pat[] = { "hits.hits[]",
    "aggregations.*.buckets[]", NULL };

static int
rec_cb(void *arg, int pat, struct record *rec)
{
	struct collect	*c = arg;

	buf_printf(&c->c_log, "R%d ", pat);
	record_to_json(rec, &c->c_log);
	buf_addc(&c->c_log, '\n');
	if (c->c_nrecs < 16)
		c->c_recs[c->c_nrecs++] = rec;
	else
		record_free(rec);
	if (c->c_cancel_rec > 0 && (size_t)c->c_cancel_rec == c->c_nrecs)
		return (-1);
	return (0);
}

static int
scalar_cb(void *arg, const char *path, enum json_type t, const char *s,
    size_t n)
{
	struct collect	*c = arg;

	buf_printf(&c->c_log, "S %s %s ", path, json_type_name(t));
	buf_add(&c->c_log, s, n);
	buf_addc(&c->c_log, '\n');
	c->c_nscalars++;
	if (c->c_cancel_scalar > 0 &&
	    (size_t)c->c_cancel_scalar == c->c_nscalars)
		return (-1);
	return (0);
}

static void
collect_free(struct collect *c)
{
	size_t	 i;

	for (i = 0; i < c->c_nrecs; i++)
		record_free(c->c_recs[i]);
	buf_free(&c->c_log);
	memset(c, 0, sizeof *c);
}

/* Parse text in chunks of n bytes (0: whole); returns 0 or -1. */
static int
run(const char *const *pats, const char *text, size_t len, size_t chunk,
    struct collect *c, char *err, size_t errlen)
{
	struct jstream	*js;
	size_t		 off, n;
	int		 rc = 0;

	js = jstream_new(pats, rec_cb, scalar_cb, c);
	if (chunk == 0)
		chunk = len;
	for (off = 0; off < len && rc == 0; off += n) {
		n = len - off < chunk ? len - off : chunk;
		rc = jstream_feed(js, text + off, n);
	}
	if (rc == 0)
		rc = jstream_finish(js);
	if (rc == 0 && jstream_bytes(js) != len)
		rc = -2;
	if (err != NULL)
		snprintf(err, errlen, "%s", rc == 0 ? "" : jstream_error(js));
	jstream_free(js);
	return (rc);
}

static char *
load(const char *name, size_t *len)
{
	char	*path, *p;
	FILE	*f;
	long	 n;

	path = test_file_path(name);
	if ((f = fopen(path, "r")) == NULL)
		bail("cannot open %s (set T_SRCDIR)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = xmalloc((size_t)n + 1);
	if (fread(p, 1, (size_t)n, f) != (size_t)n)
		bail("short read on %s", path);
	p[n] = '\0';
	fclose(f);
	free(path);
	*len = (size_t)n;
	return (p);
}

/* Value of key in record i as a static string. */
static const char *
rget(struct collect *c, size_t i, const char *k)
{
	static char	*s;
	const char	*v;
	size_t		 n;

	free(s);
	s = NULL;
	if (i >= c->c_nrecs || (v = record_get(c->c_recs[i], k, &n)) == NULL)
		return (NULL);
	s = xstrndup(v, n);
	return (s);
}

static const char *
rtext(struct collect *c, size_t i, const char *k)
{
	static struct buf	 b;

	buf_reset(&b);
	if (i >= c->c_nrecs || record_get_text(c->c_recs[i], k, &b) == -1)
		return (NULL);
	return (b.b_data);
}

static int
has(struct collect *c, const char *line)
{
	return (c->c_log.b_data != NULL && strstr(c->c_log.b_data, line) !=
	    NULL);
}

/* Same output whole and in every chunk size 1..17. */
static void
test_chunking(const char *name, const char *const *pats, size_t nrec)
{
	struct collect	 whole, c;
	char		*text, err[256];
	size_t		 len, chunk;
	int		 same = 1;

	memset(&whole, 0, sizeof whole);
	text = load(name, &len);
	ok(run(pats, text, len, 0, &whole, err, sizeof err) == 0,
	    "%s parses whole: %s", name, err);
	is_int(nrec, whole.c_nrecs, "%s: %zu records", name, nrec);
	for (chunk = 1; chunk <= 17; chunk++) {
		memset(&c, 0, sizeof c);
		if (run(pats, text, len, chunk, &c, err, sizeof err) != 0 ||
		    c.c_log.b_data == NULL ||
		    strcmp(c.c_log.b_data, whole.c_log.b_data) != 0) {
			diag("%s: chunk %zu differs (%s)", name, chunk, err);
			same = 0;
		}
		collect_free(&c);
	}
	ok(same, "%s: same records and scalars in chunks of 1..17", name);
	collect_free(&whole);
	free(text);
}

static void
test_fixtures(void)
{
	struct collect	 c;
	char		*text, err[256];
	size_t		 len;

	test_chunking("data/es6-hits.json", hits_pat, 2);
	test_chunking("data/es7-hits.json", hits_pat, 2);
	test_chunking("data/es8-hits.json", hits_pat, 3);
	test_chunking("data/os2-hits.json", hits_pat, 2);
	test_chunking("data/es7-aggs.json", aggs_pat, 4);
	test_chunking("data/es-error.json", hits_pat, 0);

	/* ES 6: number total, scroll id, nested source. */
	memset(&c, 0, sizeof c);
	text = load("data/es6-hits.json", &len);
	run(hits_pat, text, len, 5, &c, err, sizeof err);
	ok(has(&c, "S _scroll_id string DXF1ZXJ5QW5kRmV0Y2gBAAAAAAAAAD4W"
	    "Ym9laVYtZndUQlNsdDcwakFMNjU1QQ==\n"), "es6 scroll id");
	ok(has(&c, "S hits.total number 2\n"), "es6 number total");
	ok(has(&c, "S timed_out boolean false\n"), "es6 timed_out");
	ok(has(&c, "S _shards.failed number 0\n"), "es6 shards failed");
	ok(has(&c, "S hits.max_score number 1.0\n"), "number text verbatim");
	ok(!has(&c, "S hits.hits"), "nothing inside hits goes to scalars");
	is_string("\"web-1\"", rget(&c, 0, "_source.host.name"),
	    "nested source flattened");
	is_string("\"10.0.0.1\"", rget(&c, 0, "_source.host.ip"),
	    "second nested key");
	is_string("[\"a\",\"b\"]", rget(&c, 1, "_source.tags"),
	    "array kept as text");
	is_string("AVx2", rtext(&c, 1, "_id"), "hit id");
	is_string("\"event\"", rget(&c, 1, "_type"), "es6 _type");
	collect_free(&c);
	free(text);

	/* ES 7: object total, escapes, unicode, empty object, arrays. */
	text = load("data/es7-hits.json", &len);
	run(hits_pat, text, len, 3, &c, err, sizeof err);
	ok(has(&c, "S hits.total.value number 10000\n"), "es7 total value");
	ok(has(&c, "S hits.total.relation string gte\n"), "es7 relation");
	ok(has(&c, "S hits.max_score null null\n"), "null max_score");
	is_string("a \"quoted\" line\nand caf\xc3\xa9 \xf0\x9f\x98\x80",
	    rtext(&c, 0, "_source.msg"), "escapes and surrogates decoded");
	is_string("\"Z\xc3\xbcrich\"", rget(&c, 0, "_source.source.geo.city"),
	    "three levels deep");
	is_string("{}", rget(&c, 0, "_source.empty"), "empty object is {}");
	is_string("null", rget(&c, 0, "_source.n"), "null value");
	is_string("[1704067200000]", rget(&c, 0, "sort"), "sort array");
	is_string("null", rget(&c, 0, "_score"), "null score");
	is_string("[{\"x\":1,\"y\":[2,3.5e10]},\"s\",true,null]",
	    rget(&c, 1, "_source.list"), "mixed array text");
	is_string("12345678901234567890", rget(&c, 1, "_source.big"),
	    "big integer verbatim");
	collect_free(&c);
	free(text);

	/* ES 8: sentinels in sort, fields API, pit id. */
	text = load("data/es8-hits.json", &len);
	run(hits_pat, text, len, 7, &c, err, sizeof err);
	ok(has(&c, "S pit_id string 46ToAwMDaWR5BXV1aWQy\n"), "es8 pit id");
	is_string("[-9223372036854775808,17]", rget(&c, 0, "sort"),
	    "int64 min sentinel kept");
	is_string("[9223372036854775807,19]", rget(&c, 2, "sort"),
	    "int64 max sentinel kept");
	is_string("[\"web-1\"]", rget(&c, 2, "fields.host"), "fields array");
	ok(rget(&c, 2, "_type") == NULL, "no _type in es8");
	collect_free(&c);
	free(text);

	/* OpenSearch 2: shard failures, timed out, huge float. */
	text = load("data/os2-hits.json", &len);
	run(hits_pat, text, len, 11, &c, err, sizeof err);
	ok(has(&c, "S timed_out boolean true\n"), "timed out");
	ok(has(&c, "S _shards.failures[].reason.reason string No mapping "
	    "found for [foo] in order to sort on\n"), "shard failure reason");
	ok(has(&c, "S _shards.failures[].shard number 0\n"),
	    "scalar in array of objects");
	is_string("1e400", rget(&c, 0, "_source.score"), "1e400 verbatim");
	is_string("-0.25", rget(&c, 1, "_score"), "negative score");
	is_string("5", rget(&c, 1, "_source.event.severity"), "os2 nested");
	collect_free(&c);
	free(text);

	/* Aggregations: two patterns, "*" matches any name. */
	text = load("data/es7-aggs.json", &len);
	run(aggs_pat, text, len, 2, &c, err, sizeof err);
	ok(has(&c, "R1 {\"key\":\"web-1\",\"doc_count\":80,"
	    "\"avg_ms.value\":12.5}\n"), "terms bucket as a record");
	ok(has(&c, "R1 {\"key_as_string\":\"2024-01-01T00:01:00.000Z\","
	    "\"key\":1704067260000,\"doc_count\":0}\n"),
	    "date histogram bucket");
	ok(has(&c, "S aggregations.by_host.sum_other_doc_count number 7\n"),
	    "agg scalar outside buckets");
	ok(!has(&c, "R0"), "no hits in aggs body");
	collect_free(&c);
	free(text);

	/* Error body. */
	text = load("data/es-error.json", &len);
	run(hits_pat, text, len, 4, &c, err, sizeof err);
	ok(has(&c, "S error.root_cause[].type string parsing_exception\n") &&
	    has(&c, "S error.type string parsing_exception\n") &&
	    has(&c, "S error.root_cause[].col number 19\n") &&
	    has(&c, "S status number 400\n"), "error scalars and paths");
	collect_free(&c);
	free(text);
}

static void
test_patterns(void)
{
	struct collect	 c;
	char		 err[256];
	const char	*doc;
	static const char *const p1[] = { "a[][]", NULL };
	static const char *const p3[] = { "b", "", NULL };
	static const char *const p2[] = { "*", NULL };
	static const char *const none[] = { NULL };
	int		 rc;

	memset(&c, 0, sizeof c);
	doc = "{\"hits.hits\":[{\"x\":1}],\"hits\":{\"hits\":{\"y\":2}}}";
	ok(run(hits_pat, doc, strlen(doc), 0, &c, err, sizeof err) == 0 &&
	    c.c_nrecs == 0, "dotted key and non-array do not match");
	ok(has(&c, "S hits.hits[].x number 1\n") &&
	    has(&c, "S hits.hits.y number 2\n"), "unmatched paths as scalars");
	collect_free(&c);

	doc = "{\"a\":[[{\"k\":1}],[{\"k\":2},3]],\"b\":[1,[2]]}";
	ok(run(p1, doc, strlen(doc), 1, &c, err, sizeof err) == 0, "p1 runs");
	ok(has(&c, "R0 {\"k\":1}\n") && has(&c, "R0 {\"k\":2}\n"),
	    "nested array pattern");
	ok(has(&c, "S a[][] number 3\n"), "scalar at a capture path");
	ok(has(&c, "S b[] number 1\nS b[][] number 2\n"),
	    "other arrays as scalars");
	collect_free(&c);
	ok(run(p3, doc, strlen(doc), 2, &c, err, sizeof err) == 0 &&
	    c.c_nrecs == 1 && c.c_nscalars == 0 &&
	    has(&c, "R1 {\"a\":[[{\"k\":1}],[{\"k\":2},3]],\"b\":[1,[2]]}\n"),
	    "empty pattern captures the whole document");
	collect_free(&c);

	doc = "{\"x\":{\"y\":{}},\"z\":1,\"w\":{\"v\":[]}}";
	ok(run(p2, doc, strlen(doc), 0, &c, err, sizeof err) == 0 &&
	    c.c_nrecs == 2, "* at the top matches objects only");
	ok(has(&c, "R0 {\"y\":{}}\n") && has(&c, "R0 {\"v\":[]}\n") &&
	    has(&c, "S z number 1\n"), "* records and scalars");
	collect_free(&c);

	doc = "[1,\"s\",[true,{\"a\":null}]]";
	ok(run(none, doc, strlen(doc), 0, &c, err, sizeof err) == 0 &&
	    has(&c, "S [] number 1\nS [] string s\nS [][] boolean true\n"
	    "S [][].a null null\n"), "no patterns: paths of arrays");
	collect_free(&c);

	doc = "42";
	rc = run(hits_pat, doc, 2, 1, &c, err, sizeof err);
	ok(rc == 0 && has(&c, "S  number 42\n"),
	    "top-level scalar has path \"\": %s", err);
	collect_free(&c);

	doc = "{\"a\":1e400,\"b\":12345678901234567890,"
	    "\"c\":-9223372036854775808,\"d\":-0.0e-0}";
	ok(run(hits_pat, doc, strlen(doc), 3, &c, err, sizeof err) == 0 &&
	    has(&c, "S a number 1e400\nS b number 12345678901234567890\n"
	    "S c number -9223372036854775808\nS d number -0.0e-0\n"),
	    "numbers kept as text");
	collect_free(&c);
}

static void
test_errors(void)
{
	struct collect	 c;
	struct jstream	*js;
	struct buf	 b = BUF_INIT;
	char		 err[256], *text;
	const char	*doc;
	size_t		 len, i;
	int		 rc;

	memset(&c, 0, sizeof c);
	text = load("data/es8-hits.json", &len);
	c.c_cancel_rec = 2;
	ok(run(hits_pat, text, len, 9, &c, err, sizeof err) == -1 &&
	    strcmp(err, "cancelled") == 0, "record callback cancels: %s",
	    err);
	is_int(2, c.c_nrecs, "no record after the cancel");
	collect_free(&c);

	c.c_cancel_scalar = 1;
	ok(run(hits_pat, text, len, 0, &c, err, sizeof err) == -1 &&
	    strcmp(err, "cancelled") == 0 && c.c_nrecs == 0,
	    "scalar callback cancels");
	collect_free(&c);

	ok(run(hits_pat, text, len / 2, 4, &c, err, sizeof err) == -1 &&
	    strstr(err, "premature end of input") != NULL,
	    "truncated body: %s", err);
	collect_free(&c);
	free(text);

	ok(run(hits_pat, "", 0, 0, &c, err, sizeof err) == -1 &&
	    strstr(err, "premature end of input") != NULL, "empty body: %s",
	    err);
	collect_free(&c);

	doc = "{\"hits\":{\"hits\":[{\"a\":1},{\"a\":2,}]}}";
	ok(run(hits_pat, doc, strlen(doc), 4, &c, err, sizeof err) == -1 &&
	    strncmp(err, "parse error at byte ", 20) == 0 &&
	    strchr(err, '\n') == NULL, "bad JSON: %s", err);
	is_int(1, c.c_nrecs, "records before the error were emitted");
	collect_free(&c);

	doc = "{\"a\":1} x";
	ok(run(hits_pat, doc, strlen(doc), 0, &c, err, sizeof err) == -1 &&
	    strstr(err, "trailing garbage") != NULL, "trailing garbage: %s",
	    err);
	collect_free(&c);

	doc = "{\"a\":NaN}";
	ok(run(hits_pat, doc, strlen(doc), 1, &c, err, sizeof err) == -1 &&
	    strstr(err, "parse error at byte") != NULL, "NaN: %s", err);
	collect_free(&c);

	/* A failed reader stays failed. */
	js = jstream_new(hits_pat, NULL, NULL, NULL);
	ok(jstream_feed(js, "{]", 2) == -1 && jstream_feed(js, "}", 1) == -1 &&
	    jstream_finish(js) == -1, "errors are sticky");
	jstream_free(js);

	/* Invalid UTF-8 in values, keys and scalars. */
	doc = "{\"hits\":{\"hits\":[{\"s\":\"a\xff" "b\",\"k\xfe\":[\"\xc3\"]}]},"
	    "\"x\":\"\xe2\x82\"}";
	ok(run(hits_pat, doc, strlen(doc), 1, &c, err, sizeof err) == 0,
	    "invalid UTF-8 parses: %s", err);
	is_string("\"a\xef\xbf\xbd" "b\"", rget(&c, 0, "s"),
	    "value repaired");
	is_string("[\"\xef\xbf\xbd\"]", rget(&c, 0, "k\xef\xbf\xbd"),
	    "key and array element repaired");
	ok(has(&c, "S x string \xef\xbf\xbd\xef\xbf\xbd\n"),
	    "scalar repaired");
	collect_free(&c);

	/* Depth: 64 open containers are allowed, 65 are not. */
	for (i = 0; i < 64; i++)
		buf_addc(&b, '[');
	for (i = 0; i < 64; i++)
		buf_addc(&b, ']');
	ok(run(hits_pat, b.b_data, b.b_len, 0, &c, err, sizeof err) == 0,
	    "64 levels: %s", err);
	collect_free(&c);
	buf_reset(&b);
	buf_adds(&b, "{\"hits\":{\"hits\":[{\"a\":");
	for (i = 0; i < 60; i++)
		buf_addc(&b, '[');
	for (i = 0; i < 60; i++)
		buf_addc(&b, ']');
	buf_adds(&b, "}]}}");
	ok(run(hits_pat, b.b_data, b.b_len, 5, &c, err, sizeof err) == 0 &&
	    c.c_nrecs == 1 && strlen(rget(&c, 0, "a")) == 120,
	    "64 levels through a record: %s", err);
	collect_free(&c);
	buf_reset(&b);
	buf_adds(&b, "{\"hits\":{\"hits\":[{\"a\":");
	for (i = 0; i < 61; i++)
		buf_addc(&b, '[');
	ok(run(hits_pat, b.b_data, b.b_len, 3, &c, err, sizeof err) == -1 &&
	    strstr(err, "JSTREAM_MAX_DEPTH") != NULL &&
	    strstr(err, "64") != NULL, "65 levels refused: %s", err);
	collect_free(&c);
	buf_reset(&b);
	for (i = 0; i < 100000; i++)
		buf_addc(&b, '[');
	rc = run(hits_pat, b.b_data, b.b_len, 0, &c, err, sizeof err);
	ok(rc == -1 && strstr(err, "JSTREAM_MAX_DEPTH") != NULL,
	    "100000 levels refused, not crashed");
	collect_free(&c);

	/* Record size: one big record fails, one under the cap passes. */
	buf_reset(&b);
	buf_adds(&b, "{\"hits\":{\"hits\":[{\"s\":\"");
	for (i = 0; i < JSTREAM_MAX_RECORD + 10; i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "\"}]}}");
	ok(run(hits_pat, b.b_data, b.b_len, 65536, &c, err, sizeof err) ==
	    -1 && strstr(err, "JSTREAM_MAX_RECORD") != NULL,
	    "record over the cap refused: %s", err);
	is_int(0, c.c_nrecs, "no record emitted");
	collect_free(&c);
	buf_reset(&b);
	buf_adds(&b, "{\"hits\":{\"hits\":[{\"a\":[");
	for (i = 0; i < JSTREAM_MAX_RECORD / 2; i++)
		buf_adds(&b, "1,");
	buf_adds(&b, "1]}]}}");
	ok(run(hits_pat, b.b_data, b.b_len, 65536, &c, err, sizeof err) ==
	    -1 && strstr(err, "JSTREAM_MAX_RECORD") != NULL,
	    "array text over the cap refused: %s", err);
	collect_free(&c);
	buf_reset(&b);
	buf_adds(&b, "{\"hits\":{\"hits\":[{\"s\":\"");
	for (i = 0; i < 1024 * 1024; i++)
		buf_addc(&b, 'y');
	buf_adds(&b, "\"}]}}");
	ok(run(hits_pat, b.b_data, b.b_len, 4096, &c, err, sizeof err) == 0 &&
	    c.c_nrecs == 1 && record_get(c.c_recs[0], "s", &len) != NULL &&
	    len == 1024 * 1024 + 2, "1 MB record passes");
	collect_free(&c);
	buf_free(&b);
}

/* The long stream: count records, check none is large. */
struct stream_stats {
	size_t	 s_n;
	size_t	 s_max;
	size_t	 s_bad;
	size_t	 s_total;
};

static int
stream_rec_cb(void *arg, int pat, struct record *rec)
{
	struct stream_stats	*s = arg;
	char			 want[32];
	const char		*v;
	size_t			 n;

	(void)pat;
	if (record_size(rec) > s->s_max)
		s->s_max = record_size(rec);
	snprintf(want, sizeof want, "\"%zu\"", s->s_n);
	v = record_get(rec, "_id", &n);
	if (v == NULL || n != strlen(want) || memcmp(v, want, n) != 0 ||
	    record_count(rec) != 6)
		s->s_bad++;
	s->s_n++;
	record_free(rec);
	return (0);
}

static int
stream_scalar_cb(void *arg, const char *path, enum json_type t,
    const char *s, size_t n)
{
	struct stream_stats	*st = arg;

	(void)t;
	if (strcmp(path, "hits.total.value") == 0)
		st->s_total = strtoul(s, NULL, 10);
	(void)n;
	return (0);
}

static void
test_stream(void)
{
	struct stream_stats	 st;
	struct jstream		*js;
	struct buf		 b = BUF_INIT;
	size_t			 i, off, n, nhits = 200000, lag = 0;
	int			 rc = 0;

	memset(&st, 0, sizeof st);
	js = jstream_new(hits_pat, stream_rec_cb, stream_scalar_cb, &st);
	buf_adds(&b, "{\"took\":1,\"hits\":{\"total\":{\"value\":200000,"
	    "\"relation\":\"eq\"},\"hits\":[");
	for (i = 0; i <= nhits && rc == 0; i++) {
		if (i < nhits)
			buf_printf(&b, "%s{\"_index\":\"logs\",\"_id\":\"%zu\","
			    "\"_source\":{\"@timestamp\":\"2024-01-01T00:00:00Z\","
			    "\"host\":{\"name\":\"web-%zu\"},\"n\":%zu},"
			    "\"sort\":[%zu,%zu]}", i > 0 ? "," : "", i, i % 7,
			    i, 1704067200000 + i, i);
		else
			buf_adds(&b, "]}}");
		/* Feed in 13-byte chunks what is complete so far. */
		for (off = 0; off + 13 <= b.b_len && rc == 0; off += n) {
			n = 13;
			rc = jstream_feed(js, b.b_data + off, n);
		}
		if (i == nhits && rc == 0 && off < b.b_len)
			rc = jstream_feed(js, b.b_data + off, b.b_len - off);
		else
			memmove(b.b_data, b.b_data + off, b.b_len - off);
		b.b_len -= i == nhits ? b.b_len : off;
		/* Records come out while the stream is still going. */
		if (i > 0 && i < nhits && jstream_records(js) + 2 < i)
			lag++;
	}
	if (rc == 0)
		rc = jstream_finish(js);
	ok(rc == 0, "200000 hits parse: %s", rc == 0 ? "" : jstream_error(js));
	is_int(nhits, st.s_n, "200000 records emitted");
	is_int(nhits, jstream_records(js), "jstream_records agrees");
	is_int(0, st.s_bad, "every record has its id and six fields");
	is_int(0, lag, "each record is emitted as soon as it closes");
	ok(st.s_max < 1024, "no record grows: max %zu bytes", st.s_max);
	is_int(200000, st.s_total, "total scalar seen");
	ok(jstream_bytes(js) > 200000 * 100, "bytes counted: %zu",
	    jstream_bytes(js));
	jstream_free(js);
	buf_free(&b);
}

int
main(void)
{
	plan(98);
	test_fixtures();
	test_patterns();
	test_errors();
	test_stream();
	return (test_done());
}
