/*
 * test_json.c -- the JSON tree: parse, errors, access, patch, output.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "tap.h"

static struct json *
parse(const char *s, char *err, size_t errlen)
{
	return (json_parse(s, strlen(s), err, errlen));
}

int
main(void)
{
	struct json	*j, *p;
	char		 err[256], *s, deep[200];
	int64_t		 i;
	double		 d;
	int		 b, k;
	struct buf	 bb = BUF_INIT;

	plan(30);

	j = parse("{\"a\":1,\"b\":\"x\",\"c\":[true,null,2.5],\"d\":{\"e\":-9223372036854775808}}",
	    err, sizeof err);
	ok(j != NULL, "parse an object");
	ok(json_int(json_get(j, "a"), &i) && i == 1, "integer member");
	is_string("x", json_str(json_get(j, "b")), "string member");
	is_int(3, json_len(json_get(j, "c")), "array length");
	ok(json_bool(json_at(json_get(j, "c"), 0), &b) && b, "bool element");
	ok(json_at(json_get(j, "c"), 1)->j_type == JSON_NULL, "null element");
	ok(json_num(json_at(json_get(j, "c"), 2), &d) && d == 2.5, "double");
	ok(json_int(json_get(json_get(j, "d"), "e"), &i) &&
	    i == INT64_MIN, "int64 minimum survives (yajl_integer would fail)");
	ok(json_get(j, "zz") == NULL && json_at(j, 0) == NULL,
	    "absent member and wrong type give NULL");
	s = json_to_string(j, NULL);
	is_string("{\"a\":1,\"b\":\"x\",\"c\":[true,null,2.5],\"d\":{\"e\":-9223372036854775808}}",
	    s, "round trip keeps numbers verbatim");
	free(s);
	json_free(j);

	ok(parse("{\"a\":1,}", err, sizeof err) == NULL &&
	    strstr(err, "parse error") != NULL, "trailing comma: %s", err);
	ok(parse("{\"a\":1} x", err, sizeof err) == NULL,
	    "trailing garbage: %s", err);
	ok(parse("{\"a\":1,\"a\":2}", err, sizeof err) == NULL &&
	    strstr(err, "duplicate") != NULL, "duplicate key: %s", err);
	ok(parse("", err, sizeof err) == NULL, "empty input: %s", err);
	ok(parse("[1,2", err, sizeof err) == NULL &&
	    strstr(err, "premature") != NULL, "truncated: %s", err);
	ok(parse("NaN", err, sizeof err) == NULL, "NaN refused: %s", err);
	for (k = 0; k < 100; k++)
		deep[k] = '[';
	for (k = 100; k < 199; k++)
		deep[k] = ']';
	deep[199] = '\0';
	ok(parse(deep, err, sizeof err) == NULL &&
	    strstr(err, "deep") != NULL, "depth capped: %s", err);

	j = parse("\"a\xff" "b\"", err, sizeof err);
	ok(j != NULL && strcmp(json_str(j), "a\xef\xbf\xbd" "b") == 0,
	    "invalid UTF-8 repaired");
	json_free(j);
	j = parse("\"\\u00e9\\n\"", err, sizeof err);
	ok(j != NULL && strcmp(json_str(j), "\xc3\xa9\n") == 0,
	    "escapes decoded");
	json_free(j);

	j = parse("{\"a\":1,\"b\":{\"c\":2,\"d\":3},\"e\":[1]}", err,
	    sizeof err);
	p = parse("{\"a\":null,\"b\":{\"c\":9},\"f\":\"new\"}", err,
	    sizeof err);
	json_merge_patch(&j, p);
	s = json_to_string(j, NULL);
	is_string("{\"b\":{\"c\":9,\"d\":3},\"e\":[1],\"f\":\"new\"}", s,
	    "merge patch (RFC 7386)");
	free(s);
	json_free(p);
	p = json_dup(j);
	s = json_to_string(p, NULL);
	is_string("{\"b\":{\"c\":9,\"d\":3},\"e\":[1],\"f\":\"new\"}", s,
	    "dup");
	free(s);
	json_free(p);
	ok(json_del(j, "e") && !json_del(j, "e") && json_get(j, "e") == NULL,
	    "delete");
	json_set(j, "z", json_new_int(7));
	json_set(j, "a", json_new_str("s\"q", 3));
	json_canonical(j, &bb);
	is_string("{\"a\":\"s\\\"q\",\"b\":{\"c\":9,\"d\":3},\"f\":\"new\",\"z\":7}",
	    bb.b_data, "canonical form sorts keys and escapes");
	json_free(j);
	buf_free(&bb);

	j = json_new(JSON_ARRAY);
	json_push(j, json_new_bool(1));
	json_push(j, json_new_int(-3));
	s = json_to_string(j, NULL);
	is_string("[true,-3]", s, "built array");
	free(s);
	json_free(j);

	j = parse("1e9999", err, sizeof err);
	ok(j != NULL && json_num(j, &d) && d > 1e308,
	    "1e9999 parses (graphite's infinity)");
	ok(!json_int(j, &i), "and is not an integer");
	json_free(j);
	j = parse("12.0", err, sizeof err);
	ok(!json_int(j, &i), "12.0 is not a whole integer token");
	json_free(j);
	j = parse("  [ ]  ", err, sizeof err);
	ok(j != NULL && j->j_type == JSON_ARRAY && json_len(j) == 0,
	    "whitespace and empty array");
	json_free(j);
	is_string("object", json_type_name(JSON_OBJECT), "type names");
	j = parse("{\"a\":\"\\ud800\"}", err, sizeof err);
	ok(j != NULL, "lone surrogate escape does not crash");
	json_free(j);
	return (test_done());
}
