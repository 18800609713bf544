/*
 * test_record.c -- flat records: fields, duplicates, text, JSON in and out.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "record.h"
#include "tap.h"
#include "xmalloc.h"

/* A NUL-terminated copy of a value or key, in one of a few static slots. */
static const char *
str(const char *s, size_t n)
{
	static char	*slot[4];
	static int	 i;

	i = (i + 1) % 4;
	free(slot[i]);
	slot[i] = s == NULL ? NULL : xstrndup(s, n);
	return (slot[i]);
}

static const char *
key(const struct record *r, size_t i)
{
	const char	*k;
	size_t		 n;

	k = record_key(r, i, &n);
	return (str(k, n));
}

static const char *
val(const struct record *r, size_t i)
{
	const char	*v;
	size_t		 n;

	v = record_val(r, i, &n);
	return (str(v, n));
}

static const char *
get(const struct record *r, const char *k)
{
	const char	*v;
	size_t		 n = 0;

	v = record_get(r, k, &n);
	return (str(v, n));
}

static const char *
text(const struct record *r, const char *k)
{
	static struct buf	 b;

	buf_reset(&b);
	if (record_get_text(r, k, &b) == -1)
		return (NULL);
	return (str(b.b_data, b.b_len));
}

static void
test_basic(void)
{
	struct record	*r;
	size_t		 sz;

	r = record_new();
	is_int(0, record_count(r), "new record is empty");
	ok(record_get(r, "a", NULL) == NULL, "get on empty is NULL");
	ok(record_key(r, 0, NULL) == NULL && record_val(r, 3, NULL) == NULL,
	    "out of range index gives NULL");
	record_add(r, "a", 1, "1", 1);
	record_add_str(r, "b", "x y", 3);
	record_add_int(r, "c", -9223372036854775807LL - 1);
	record_add(r, "d.e", 3, "[1,2]", 5);
	is_int(4, record_count(r), "four fields");
	is_string("a", key(r, 0), "key 0");
	is_string("b", key(r, 1), "key 1");
	is_string("\"x y\"", val(r, 1), "string value quoted");
	is_string("-9223372036854775808", get(r, "c"), "int64 min");
	is_int(3, record_find(r, "d.e", 3), "find dotted key");
	is_int(-1, record_find(r, "d", 1), "find is exact, not prefix");
	is_string("x y", text(r, "b"), "get_text decodes string");
	is_string("[1,2]", text(r, "d.e"), "get_text of array is JSON");
	is_string("1", text(r, "a"), "get_text of number");
	ok(text(r, "zz") == NULL, "get_text absent is -1");
	sz = record_size(r);
	record_set_id(r, "logs/1", 6);
	record_set_sort(r, "[1,2]", 5);
	is_string("logs/1", r->r_id, "id set");
	record_set_id(r, "logs/2xx", 6);
	is_string("logs/2", r->r_id, "id replaced, copied n bytes");
	is_string("[1,2]", r->r_sort, "sort set");
	ok(record_size(r) > sz, "size counts id and sort");
	record_free(r);
	record_free(NULL);
	ok(1, "record_free(NULL)");
}

static void
test_dup_del(void)
{
	struct record	*r;
	struct buf	 b = BUF_INIT;

	r = record_new();
	record_add(r, "k", 1, "1", 1);
	record_add(r, "x", 1, "\"keep\"", 6);
	record_add(r, "k", 1, "2", 1);
	record_add(r, "kk", 2, "3", 1);
	record_add(r, "", 0, "4", 1);
	is_int(5, record_count(r), "duplicates kept");
	is_string("1", get(r, "k"), "get gives the first duplicate");
	is_int(4, record_find(r, "", 0), "empty key found");
	is_int(0, record_del(r, "nope"), "del of absent key");
	is_int(2, record_del(r, "k"), "del removes every duplicate");
	is_int(3, record_count(r), "three left");
	is_string("x", key(r, 0), "order kept after del (0)");
	is_string("\"keep\"", val(r, 0), "value intact after compaction");
	is_string("kk", key(r, 1), "order kept after del (1)");
	is_string("3", val(r, 1), "value intact (1)");
	is_string("4", get(r, ""), "empty key value intact");
	is_int(11, r->r_len, "arena compacted");
	record_add(r, "k", 1, "5", 1);
	is_string("5", get(r, "k"), "add after del");
	record_to_json(r, &b);
	is_string("{\"x\":\"keep\",\"kk\":3,\"\":4,\"k\":5}", b.b_data,
	    "to_json after del");
	buf_free(&b);
	record_free(r);
}

static void
test_text(void)
{
	struct record	*r;
	const char	*s;

	r = record_new();
	record_add_str(r, "q", "a\"b\\c\n\t\x01/", 9);
	is_string("\"a\\\"b\\\\c\\n\\t\\u0001/\"", get(r, "q"),
	    "add_str escapes");
	is_string("a\"b\\c\n\t\x01/", text(r, "q"), "get_text round trip");
	record_add_str(r, "bad", "a\xff" "b", 3);
	is_string("a\xef\xbf\xbd" "b", text(r, "bad"),
	    "invalid UTF-8 repaired to U+FFFD");
	s = "\"caf\\u00e9 \\ud83d\\ude00 \\u20AC \\/ \\b\\f\\r\"";
	record_add(r, "u", 1, s, strlen(s));
	is_string("caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac / \b\f\r",
	    text(r, "u"), "\\u escapes and surrogate pair decoded");
	record_add(r, "lone", 4, "\"x\\ud800y\\udc00\"", 16);
	is_string("x\xef\xbf\xbdy\xef\xbf\xbd", text(r, "lone"),
	    "lone surrogates become U+FFFD");
	record_add_str(r, "utf", "\xe6\x97\xa5\xe6\x9c\xac", 6);
	is_string("\"\xe6\x97\xa5\xe6\x9c\xac\"", get(r, "utf"),
	    "valid UTF-8 is kept raw");
	record_add_str(r, "empty", "", 0);
	s = text(r, "empty");
	ok(s != NULL && *s == '\0', "empty string");
	record_free(r);
}

static void
test_json_out(void)
{
	struct record	*r;
	struct buf	 a = BUF_INIT, b = BUF_INIT;
	yajl_gen	 g;

	r = record_new();
	record_add(r, "n", 1, "12345678901234567890", 20);
	record_add_str(r, "s.t", "v\"", 2);
	record_add(r, "arr", 3, "[1e400,{\"a\":null}]", 18);
	record_add(r, "o", 1, "{}", 2);
	record_to_json(r, &a);
	is_string("{\"n\":12345678901234567890,\"s.t\":\"v\\\"\","
	    "\"arr\":[1e400,{\"a\":null}],\"o\":{}}", a.b_data,
	    "to_json keeps order and text");
	g = jgen_new();
	record_gen(g, r);
	jgen_take(g, &b);
	yajl_gen_free(g);
	is_string(a.b_data, b.b_data, "record_gen writes the same");
	record_free(r);
	r = record_new();
	buf_reset(&a);
	record_to_json(r, &a);
	is_string("{}", a.b_data, "empty record is {}");
	record_free(r);
	buf_free(&a);
	buf_free(&b);
}

static void
test_from_json(void)
{
	struct record	*r, *r2;
	struct buf	 a = BUF_INIT, b = BUF_INIT;
	char		 err[256];
	static const char *bad[] = { "", "[1]", "1", "\"s\"", "{", "{\"a\":}",
	    "{\"a\":1}x", "{\"a\":1}{}", "null", NULL };
	const char	*doc;
	size_t		 i;
	int		 allbad = 1;

	doc = "{\"a\":{\"b\":{\"c\":1}},\"d\":[1,{\"e\":[2,\"x\"]},[]],"
	    "\"f\":{},\"g\":\"x\\u00e9\",\"h\":{\"i\":{},\"j\":true},"
	    "\"k\":-0.5e-3,\"l\":null,\"a\":2}";
	r = record_from_json(doc, strlen(doc), err, sizeof err);
	ok(r != NULL, "from_json parses");
	if (r == NULL)
		bail("from_json: %s", err);
	is_int(9, record_count(r), "nine flat fields");
	is_string("a.b.c", key(r, 0), "nested object flattened");
	is_string("1", val(r, 0), "nested value");
	is_string("d", key(r, 1), "array key");
	is_string("[1,{\"e\":[2,\"x\"]},[]]", val(r, 1), "array kept as text");
	is_string("f", key(r, 2), "empty object key");
	is_string("{}", val(r, 2), "empty object kept as {}");
	is_string("\"x\xc3\xa9\"", get(r, "g"), "string re-escaped as UTF-8");
	is_string("{}", get(r, "h.i"), "nested empty object");
	is_string("true", get(r, "h.j"), "nested sibling after empty object");
	is_string("-0.5e-3", get(r, "k"), "number text verbatim");
	is_string("null", get(r, "l"), "null");
	is_string("a", key(r, 8), "duplicate top key kept");
	is_string("2", val(r, 8), "duplicate value");

	record_to_json(r, &a);
	r2 = record_from_json(a.b_data, a.b_len, err, sizeof err);
	ok(r2 != NULL, "to_json output parses back");
	if (r2 != NULL) {
		record_to_json(r2, &b);
		is_string(a.b_data, b.b_data, "round trip is stable");
		is_int(record_count(r), record_count(r2), "same field count");
	} else {
		ok(0, "round trip is stable");
		ok(0, "same field count");
	}
	record_free(r);
	record_free(r2);

	r = record_from_json("{}", 2, err, sizeof err);
	ok(r != NULL && record_count(r) == 0, "{} gives an empty record");
	record_free(r);
	doc = "{\"s\":\"a\xff\",\"k\xfe\":1}";
	r = record_from_json(doc, strlen(doc), err, sizeof err);
	ok(r != NULL, "invalid UTF-8 accepted");
	if (r != NULL) {
		is_string("\"a\xef\xbf\xbd\"", get(r, "s"),
		    "invalid UTF-8 value repaired");
		is_string("k\xef\xbf\xbd", key(r, 1), "invalid key repaired");
	} else {
		ok(0, "invalid UTF-8 value repaired");
		ok(0, "invalid key repaired");
	}
	record_free(r);

	for (i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		r = record_from_json(bad[i], strlen(bad[i]), err, sizeof err);
		if (r != NULL || err[0] == '\0' || strchr(err, '\n') != NULL) {
			diag("bad input accepted or no message: '%s'", bad[i]);
			allbad = 0;
		}
		record_free(r);
	}
	ok(allbad, "bad inputs refused with a one-line message");

	/* Depth: 64 levels are fine, 65 are not. */
	buf_reset(&a);
	for (i = 0; i < 64; i++)
		buf_adds(&a, "{\"a\":");
	buf_adds(&a, "1");
	for (i = 0; i < 64; i++)
		buf_addc(&a, '}');
	r = record_from_json(a.b_data, a.b_len, err, sizeof err);
	ok(r != NULL && record_count(r) == 1 && record_key(r, 0, &i) != NULL &&
	    i == 64 * 2 - 1, "64 levels flatten into one long key");
	record_free(r);
	buf_reset(&a);
	for (i = 0; i < 65; i++)
		buf_adds(&a, "[");
	for (i = 0; i < 65; i++)
		buf_addc(&a, ']');
	buf_reset(&b);
	buf_printf(&b, "{\"x\":%s}", a.b_data);
	r = record_from_json(b.b_data, b.b_len, err, sizeof err);
	ok(r == NULL && strstr(err, "deep") != NULL, "too deep refused: %s",
	    err);
	record_free(r);
	buf_free(&a);
	buf_free(&b);
}

static void
test_big(void)
{
	struct record	*r, *r2;
	struct buf	 b = BUF_INIT;
	char		*big, k[32], err[128];
	size_t		 i, n = 3 * 1024 * 1024, bad = 0;
	const char	*v;
	size_t		 vlen;

	big = xmalloc(n);
	for (i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	r = record_new();
	record_add_str(r, "big", big, n);
	record_add_int(r, "after", 7);
	buf_reset(&b);
	ok(record_get_text(r, "big", &b) == 0 && b.b_len == n &&
	    memcmp(b.b_data, big, n) == 0, "3 MB value round trips");
	is_string("7", get(r, "after"), "field after a big value");
	buf_reset(&b);
	record_to_json(r, &b);
	r2 = record_from_json(b.b_data, b.b_len, err, sizeof err);
	ok(r2 != NULL && (v = record_get(r2, "big", &vlen)) != NULL &&
	    vlen == n + 2, "big value through JSON");
	record_free(r2);
	record_free(r);
	free(big);

	r = record_new();
	for (i = 0; i < 100000; i++) {
		snprintf(k, sizeof k, "f%zu", i);
		record_add_int(r, k, (int64_t)i);
	}
	is_int(100000, record_count(r), "100000 fields");
	is_int(99999, record_find(r, "f99999", 6), "find the last one");
	is_string("54321", get(r, "f54321"), "value of a middle one");
	ok(record_size(r) < 100000 * 64, "size is proportional: %zu",
	    record_size(r));
	is_int(1, record_del(r, "f0"), "del the first of many");
	for (i = 0; i < record_count(r); i++) {
		snprintf(k, sizeof k, "f%zu", i + 1);
		if (strcmp(key(r, i), k) != 0)
			bad++;
	}
	is_int(0, bad, "every key shifted down in order");
	buf_reset(&b);
	record_to_json(r, &b);
	r2 = record_from_json(b.b_data, b.b_len, err, sizeof err);
	ok(r2 != NULL && record_count(r2) == 99999, "many fields through JSON");
	record_free(r2);
	record_free(r);
	buf_free(&b);
}

int
main(void)
{
	plan(78);
	test_basic();
	test_dup_del();
	test_text();
	test_json_out();
	test_from_json();
	test_big();
	str(NULL, 0);
	str(NULL, 0);
	str(NULL, 0);
	str(NULL, 0);
	return (test_done());
}
