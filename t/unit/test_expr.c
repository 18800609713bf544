/*
 * test_expr.c -- the expression language: every construct, precedence,
 * functions, type rules, missing fields, arrays, parse errors with their
 * positions, the limits, runtime errors and CIDR edge cases.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expr.h"
#include "record.h"
#include "tap.h"
#include "xmalloc.h"

static const char rec_json[] =
    "{\"source\":{\"ip\":\"10.1.2.3\",\"port\":22},"
    "\"status\":404,\"code\":\"404\",\"msg\":\"Failed password for ROOT\","
    "\"tags\":[\"ssh\",\"auth\",3,null,[1,2],{\"k\":\"v\"}],"
    "\"empty\":\"\",\"flag\":true,\"off\":false,\"nothing\":null,"
    "\"f\":1.5,\"esc\":\"a\\\"b\\u00e9\\n\",\"user-agent\":\"curl/8\","
    "\"@timestamp\":\"2026-11-25T10:00:00Z\",\"big\":9007199254740993,"
    "\"v6\":\"2001:db8::1\",\"mapped\":\"::ffff:10.9.8.7\","
    "\"noarr\":[],\"word\":\"x\",\"neg\":-7,\"bytes\":1000,"
    "\"in\":\"keyword\",\"host\":{\"name\":\"web-1\"}}";

static struct record	*rec;

/* Evaluate src on rec: its JSON result, or "ERR " + the message. */
static const char *
ev(const char *src)
{
	static char	 out[4096];
	struct expr	*e;
	struct buf	 b = BUF_INIT;
	char		 err[256];

	if ((e = expr_compile(src, err, sizeof err)) == NULL) {
		snprintf(out, sizeof out, "COMPILE %s", err);
		return (out);
	}
	if (expr_eval_json(e, rec, &b, err, sizeof err) == -1)
		snprintf(out, sizeof out, "ERR %s", err);
	else
		snprintf(out, sizeof out, "%s", b.b_data);
	buf_free(&b);
	expr_free(e);
	return (out);
}

/* The compile error of src, or "ok". */
static const char *
cerr(const char *src)
{
	static char	 err[256];
	struct expr	*e;

	if ((e = expr_compile(src, err, sizeof err)) != NULL) {
		expr_free(e);
		return ("ok");
	}
	return (err);
}

struct ecase {
	const char	*src;
	const char	*want;
};

/* Run a table of cases. */
static void
run_cases(const char *what, const struct ecase *c, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		is_string(c[i].want, ev(c[i].src), "%s: %s", what, c[i].src);
}

#define RUN(what, t)	run_cases(what, t, sizeof t / sizeof t[0])

static const struct ecase literals[] = {
	{ "1", "1" },
	{ "-1", "-1" },
	{ "1.5", "1.5" },
	{ "2.50e1", "25" },
	{ "1e-3", "0.001" },
	{ "9223372036854775807", "9223372036854775807" },
	{ "-9223372036854775807 - 1", "-9223372036854775808" },
	{ "\"a\\\"b\"", "\"a\\\"b\"" },
	{ "'it''s'", "COMPILE at 5: unexpected ''s'' after the expression" },
	{ "'it\\'s'", "\"it's\"" },
	{ "\"\\u00e9\\ud83d\\ude00\"", "\"\xc3\xa9\xf0\x9f\x98\x80\"" },
	{ "\"tab\\there\"", "\"tab\\there\"" },
	{ "true", "true" },
	{ "false", "false" },
	{ "null", "null" },
	{ "[]", "[]" },
	{ "[1, 'a', null, [true]]", "[1,\"a\",null,[true]]" },
	{ "[1 + 1, status]", "[2,404]" },
	{ "  ( 7 )  ", "7" },
};

static const struct ecase fields[] = {
	{ "source.ip", "\"10.1.2.3\"" },
	{ "source.port", "22" },
	{ "status", "404" },
	{ "flag", "true" },
	{ "off", "false" },
	{ "nothing", "null" },
	{ "missing", "null" },
	{ "source", "null" },
	{ "source.ip.x", "null" },
	{ "esc", "\"a\\\"b\xc3\xa9\\n\"" },
	{ "tags", "[\"ssh\",\"auth\",3,null,[1,2],\"{\\\"k\\\":\\\"v\\\"}\"]" },
	{ "noarr", "[]" },
	{ "`user-agent`", "\"curl/8\"" },
	{ "field(\"user-agent\")", "\"curl/8\"" },
	{ "field('source.ip')", "\"10.1.2.3\"" },
	{ "@timestamp", "\"2026-11-25T10:00:00Z\"" },
	{ "`in`", "\"keyword\"" },
	{ "host.name", "\"web-1\"" },
	{ "big", "9007199254740993" },
	{ "big + 1", "9007199254740994" },
	{ "f * 2", "3" },
	{ "neg", "-7" },
};

static const struct ecase compare[] = {
	{ "status == 404", "true" },
	{ "status == '404'", "true" },
	{ "code == 404", "true" },
	{ "code == 404.0", "true" },
	{ "code == '404.0'", "false" },
	{ "code < 1000", "true" },
	{ "code < '5'", "true" },
	{ "'10' < '9'", "true" },
	{ "10 < 9", "false" },
	{ "'abc' < 'abd'", "true" },
	{ "'ab' < 'abc'", "true" },
	{ "'abc' >= 'abc'", "true" },
	{ "status != 200", "true" },
	{ "status <= 404 and status >= 404", "true" },
	{ "status > 404", "false" },
	{ "msg == 'x'", "false" },
	{ "msg > 1", "false" },
	{ "msg < 1", "false" },
	{ "missing == null", "true" },
	{ "nothing == null", "true" },
	{ "missing != null", "false" },
	{ "missing == 0", "false" },
	{ "missing == ''", "false" },
	{ "missing == false", "false" },
	{ "missing < 1", "false" },
	{ "missing >= 1", "false" },
	{ "null < null", "false" },
	{ "true == true", "true" },
	{ "true == 1", "false" },
	{ "true < false", "false" },
	{ "[1, 2] == [1, 2]", "true" },
	{ "[1, 2] == [2, 1]", "false" },
	{ "[1, '2'] == [1, 2]", "true" },
	{ "big == 9007199254740992", "false" },
	{ "1.5 == f", "true" },
};

static const struct ecase logic[] = {
	{ "true and false", "false" },
	{ "true or false", "true" },
	{ "not true", "false" },
	{ "not not 1", "true" },
	{ "not missing", "true" },
	{ "not ''", "true" },
	{ "not 'x'", "false" },
	{ "not 0", "true" },
	{ "not []", "true" },
	{ "not [0]", "false" },
	{ "1 and 'x'", "true" },
	{ "0 or ''", "false" },
	/* Short-circuit: the right side would be a division by zero. */
	{ "false and 1 / 0", "false" },
	{ "true or 1 / 0", "true" },
	{ "true and 1 / 0", "ERR at 12: division by zero" },
	/* Precedence: not < comparison, and < or. */
	{ "not status == 200", "true" },
	{ "true or false and false", "true" },
	{ "(true or false) and false", "false" },
	{ "not false and false", "false" },
	{ "not (false and false)", "true" },
};

static const struct ecase arith[] = {
	{ "1 + 2 * 3", "7" },
	{ "(1 + 2) * 3", "9" },
	{ "10 - 4 - 3", "3" },
	{ "2 * 3 % 4", "2" },
	{ "7 / 2", "3.5" },
	{ "8 / 2", "4" },
	{ "7 % 3", "1" },
	{ "-7 % 3", "-1" },
	{ "7.5 % 2", "1.5" },
	{ "-status", "-404" },
	{ "- -3", "3" },
	{ "-(1 + 2) * 2", "-6" },
	{ "1 - -1", "2" },
	{ "status + 1", "405" },
	{ "code + 1", "405" },
	{ "code * f", "606" },
	{ "bytes / 1000 > 0.5", "true" },
	{ "'ab' + 'cd'", "\"abcd\"" },
	{ "'ab' + code", "\"ab404\"" },
	{ "missing + 1", "null" },
	{ "-missing", "null" },
	{ "0.1 + 0.2", "0.30000000000000004" },
	{ "9223372036854775807 + 1", "9.223372036854776e+18" },
	{ "3000000000 * 3000000000", "9000000000000000000" },
	{ "1 / 0", "ERR at 3: division by zero" },
	{ "1 % 0", "ERR at 3: division by zero" },
	{ "1.5 / 0.0", "ERR at 5: division by zero" },
	{ "msg + 1", "ERR at 5: cannot apply '+' to string and number" },
	{ "flag * 2", "ERR at 6: cannot apply '*' to bool and number" },
	{ "tags - 1", "ERR at 6: cannot apply '-' to list and number" },
	{ "-msg", "ERR at 1: cannot apply '-' to string" },
	{ "1e308 * 10", "ERR at 7: number out of range" },
};

static const struct ecase member[] = {
	{ "'ssh' in tags", "true" },
	{ "'telnet' in tags", "false" },
	{ "3 in tags", "true" },
	{ "'3' in tags", "true" },
	{ "null in tags", "true" },
	{ "[1, 2] in tags", "true" },
	{ "'ssh' not in tags", "false" },
	{ "status in [200, 404]", "true" },
	{ "status not in [200, 404]", "false" },
	{ "code in [200, 404]", "true" },
	{ "source.ip in ['10.1.2.3', '10.1.2.4']", "true" },
	{ "status in [200, status]", "true" },
	{ "'pass' in msg", "true" },
	{ "'PASS' in msg", "false" },
	{ "'' in msg", "true" },
	{ "4 in code", "true" },
	{ "'x' in missing", "false" },
	{ "missing in tags", "true" },
	{ "missing in ['a']", "false" },
	{ "'a' in 5", "false" },
	{ "'a' in noarr", "false" },
	{ "'a' not in noarr", "true" },
	{ "1 in [] or true", "true" },
};

static const struct ecase funcs[] = {
	{ "lower(msg)", "\"failed password for root\"" },
	{ "upper('abc\xc3\xa9')", "\"ABC\xc3\xa9\"" },
	{ "lower(status)", "\"404\"" },
	{ "lower(missing)", "null" },
	{ "len(msg)", "24" },
	{ "len('\xc3\xa9t\xc3\xa9')", "3" },
	{ "len(tags)", "6" },
	{ "len(noarr)", "0" },
	{ "len(missing)", "0" },
	{ "len(empty)", "0" },
	{ "len(status)", "3" },
	{ "contains(msg, 'password')", "true" },
	{ "contains(msg, 'Password')", "false" },
	{ "contains(lower(msg), 'root')", "true" },
	{ "contains(tags, 'auth')", "true" },
	{ "contains(tags, 'x')", "false" },
	{ "contains(missing, 'x')", "false" },
	{ "contains(msg, missing)", "false" },
	{ "startswith(msg, 'Failed')", "true" },
	{ "startswith(msg, 'failed')", "false" },
	{ "startswith(code, 4)", "true" },
	{ "startswith('ab', 'abc')", "false" },
	{ "endswith(msg, 'ROOT')", "true" },
	{ "endswith(msg, 'for')", "false" },
	{ "endswith('', '')", "true" },
	{ "matches(msg, '^Failed \\\\w+')", "true" },
	{ "matches(msg, '(?i)root$')", "true" },
	{ "matches(msg, 'root$')", "false" },
	{ "matches(missing, '.*')", "false" },
	{ "matches(status, '^4\\\\d\\\\d$')", "true" },
	{ "msg =~ 'pass(word)?'", "true" },
	{ "msg !~ 'pass(word)?'", "false" },
	{ "esc =~ '^a\"b\xc3\xa9\\n$'", "true" },
	{ "esc =~ '^a\"b.\\n$'", "true" },
	{ "int('42')", "42" },
	{ "int(f)", "1" },
	{ "int(-2.7)", "-2" },
	{ "int(true)", "1" },
	{ "int('x')", "null" },
	{ "int(missing)", "null" },
	{ "int(1e300)", "ERR at 1: int: 1e+300 is out of range" },
	{ "num('1.25') + 1", "2.25" },
	{ "num(code) == 404", "true" },
	{ "num('1e400')", "null" },
	{ "num(' 5')", "null" },
	{ "num('0x10')", "null" },
	{ "num(tags)", "null" },
	{ "str(status) + '!'", "\"404!\"" },
	{ "str(f)", "\"1.5\"" },
	{ "str(flag)", "\"true\"" },
	{ "str(missing)", "null" },
	{ "str([1, 'a'])", "\"[1,\\\"a\\\"]\"" },
	{ "exists(status)", "true" },
	{ "exists(nothing)", "true" },
	{ "exists(missing)", "false" },
	{ "exists(`user-agent`)", "true" },
	{ "exists('user-agent')", "true" },
	{ "exists(field('source.port'))", "true" },
	{ "coalesce(missing, nothing, 'd')", "\"d\"" },
	{ "coalesce(status, 1 / 0)", "404" },
	{ "coalesce(missing)", "null" },
	{ "lower (msg)", "\"failed password for root\"" },
};

static const struct ecase cidrs[] = {
	{ "cidr(source.ip, '10.0.0.0/8')", "true" },
	{ "cidr(source.ip, '11.0.0.0/8')", "false" },
	{ "cidr(source.ip, '10.1.2.3')", "true" },
	{ "cidr(source.ip, '10.1.2.3/32')", "true" },
	{ "cidr(source.ip, '10.1.2.4/32')", "false" },
	{ "cidr(source.ip, '10.1.2.2/31')", "true" },
	{ "cidr(source.ip, '10.1.2.4/31')", "false" },
	{ "cidr(source.ip, '0.0.0.0/0')", "true" },
	{ "cidr(source.ip, '10.1.255.255/17')", "false" },
	{ "cidr(source.ip, '10.1.0.0/23')", "false" },
	{ "cidr(source.ip, '10.1.0.0/22')", "true" },
	{ "cidr(source.ip, '10.200.0.0/8')", "true" },
	{ "cidr(source.ip, ['192.168.0.0/16', '10.0.0.0/8'])", "true" },
	{ "cidr(source.ip, ['192.168.0.0/16', '172.16.0.0/12'])", "false" },
	{ "cidr(source.ip, '::/0')", "false" },
	{ "cidr(v6, '2001:db8::/32')", "true" },
	{ "cidr(v6, '2001:db9::/32')", "false" },
	{ "cidr(v6, '2001:db8::1/128')", "true" },
	{ "cidr(v6, '2001:db8::/127')", "true" },
	{ "cidr(v6, '2001:db8::2/127')", "false" },
	{ "cidr(v6, '::/0')", "true" },
	{ "cidr(v6, '0.0.0.0/0')", "false" },
	{ "cidr(mapped, '10.9.0.0/16')", "true" },
	{ "cidr(mapped, '::ffff:10.9.0.0/112')", "true" },
	{ "cidr(mapped, '10.8.0.0/16')", "false" },
	{ "cidr(missing, '0.0.0.0/0')", "false" },
	{ "cidr(msg, '0.0.0.0/0')", "false" },
	{ "cidr(status, '0.0.0.0/0')", "false" },
	{ "cidr('10.1.2.3 ', '0.0.0.0/0')", "false" },
	{ "cidr('010.1.2.3', '0.0.0.0/0')", "false" },
	{ "cidr('fe80::1%eth0', '::/0')", "false" },
	{ "cidr('1.2.3.4', '1.2.3.4/0')", "true" },
	{ "not cidr(source.ip, '10.0.0.0/8')", "false" },
};

static const struct ecase perrs[] = {
	{ "", "at 1: empty expression" },
	{ "   ", "at 4: empty expression" },
	{ "lower(msg", "at 10: expected ')' after arguments of lower" },
	{ "lower(msg x)", "at 11: expected ')' after arguments of lower" },
	{ "(1 + 2", "at 7: expected ')' to close '(' at 1" },
	{ "[1, 2", "at 6: expected ',' or ']' in list opened at 1" },
	{ "1 +", "at 4: unexpected end of expression" },
	{ "1 + * 2", "at 5: unexpected '*'" },
	{ "status == 404 404", "at 15: unexpected '404' after the expression" },
	{ "a = 1", "at 3: '=' is not an operator; use '=='" },
	{ "!a", "at 1: '!' is not an operator; use 'not'" },
	{ "a & b", "at 3: unexpected character '&'" },
	{ "a # b", "at 3: unexpected character '#'" },
	{ "\"abc", "at 1: unterminated string" },
	{ "x == 'abc\\", "at 6: unterminated string" },
	{ "'\\q'", "at 2: bad escape '\\q' in string" },
	{ "'\\u12'", "at 2: bad \\u escape in string" },
	{ "'\\udc00'", "at 2: bad \\u escape in string" },
	{ "'\\ud800x'", "at 2: bad \\u escape in string" },
	{ "'\xff'", "at 1: string is not valid UTF-8" },
	{ "`abc", "at 1: unterminated `name`" },
	{ "``", "at 1: empty `name`" },
	{ "1abc", "at 1: bad number '1abc'" },
	{ "1.2.3", "at 1: bad number '1.2.3'" },
	{ "1e", "at 1: bad number '1e'" },
	{ "1e999", "at 1: bad number '1e999'" },
	{ "foo(1)", "at 1: unknown function foo" },
	{ "a.b(1)", "at 1: unknown function a.b" },
	{ "x and lower()", "at 7: lower takes 1 argument" },
	{ "contains(msg)", "at 1: contains takes 2 arguments" },
	{ "coalesce()", "at 1: coalesce takes 1 to 16 arguments" },
	{ "1 < 2 < 3", "at 7: comparisons do not chain; use 'and'" },
	{ "a == b in c", "at 8: comparisons do not chain; use 'and'" },
	{ "a not b", "at 7: unexpected 'b' after 'not' (want 'not in')" },
	{ "matches(msg, code)",
	    "at 14: matches needs a literal string pattern" },
	{ "msg =~ 5", "at 8: '=~' needs a literal string pattern" },
	{ "msg !~ 'a' + 'b'", "at 8: '!~' needs a literal string pattern" },
	{ "matches(msg, 'a(b')", "at 14: bad regular expression at offset 3: "
	    "missing closing parenthesis" },
	{ "cidr(ip, code)", "at 10: cidr needs a literal network or a list of "
	    "them" },
	{ "cidr(ip, '10.0.0.0/33')", "at 10: bad network '10.0.0.0/33' (want "
	    "ADDRESS/BITS)" },
	{ "cidr(ip, '::/129')", "at 10: bad network '::/129' (want "
	    "ADDRESS/BITS)" },
	{ "cidr(ip, '10.0.0.0/')", "at 10: bad network '10.0.0.0/' (want "
	    "ADDRESS/BITS)" },
	{ "cidr(ip, '10.0.0.0/+8')", "at 10: bad network '10.0.0.0/+8' (want "
	    "ADDRESS/BITS)" },
	{ "cidr(ip, '10.0.0/8')", "at 10: bad network '10.0.0/8' (want "
	    "ADDRESS/BITS)" },
	{ "cidr(ip, 'host')", "at 10: bad network 'host' (want "
	    "ADDRESS/BITS)" },
	{ "cidr(ip, ['10.0.0.0/8', 'x/1'])", "at 25: bad network 'x/1' (want "
	    "ADDRESS/BITS)" },
	{ "cidr(ip, ['10.0.0.0/8', 5])", "at 25: cidr network must be a "
	    "string" },
	{ "cidr(ip, [])", "at 10: cidr needs at least one network" },
	{ "exists(1)", "at 8: exists needs a field name" },
	{ "exists(lower(a))", "at 8: exists needs a field name" },
	{ "field(a + 'b')", "at 7: field needs a field name" },
	{ "field('')", "at 7: bad field name" },
	{ "field('a\\u0000b')", "at 7: bad field name" },
	{ "[1,]", "at 4: unexpected ']'" },
	{ "f(", "at 1: unknown function f" },
	{ "lower(,)", "at 7: unexpected ','" },
	{ ")", "at 1: unexpected ')'" },
	{ "a..b", "at 2: unexpected character '.'" },
};

/* Parse errors name the position. */
static void
test_parse_errors(void)
{
	size_t	 i;

	for (i = 0; i < sizeof perrs / sizeof perrs[0]; i++)
		is_string(perrs[i].want, cerr(perrs[i].src), "error: %s",
		    perrs[i].src);
	is_string("at 4: empty expression", cerr("\n\t "), "whitespace only");
	is_string("ok", cerr("status == 404\n  and\tflag"), "newlines, tabs");
}

/* The compile-time limits. */
static void
test_limits(void)
{
	struct buf	 b = BUF_INIT;
	char		 want[128];
	int		 i;

	/* Source length: exactly EXPR_MAX_SRC is fine, one more is not. */
	buf_add(&b, "1", 1);
	for (i = 1; i < EXPR_MAX_SRC; i++)
		buf_addc(&b, ' ');
	is_string("ok", cerr(b.b_data), "%d bytes accepted", EXPR_MAX_SRC);
	buf_addc(&b, ' ');
	snprintf(want, sizeof want, "at %d: expression longer than %d bytes",
	    EXPR_MAX_SRC + 1, EXPR_MAX_SRC);
	is_string(want, cerr(b.b_data), "%d bytes refused", EXPR_MAX_SRC + 1);

	/* Nesting: 32 levels of parentheses pass, 33 fail at the 33rd. */
	buf_reset(&b);
	for (i = 0; i < EXPR_MAX_DEPTH; i++)
		buf_addc(&b, '(');
	buf_addc(&b, '1');
	for (i = 0; i < EXPR_MAX_DEPTH; i++)
		buf_addc(&b, ')');
	is_string("ok", cerr(b.b_data), "depth %d accepted", EXPR_MAX_DEPTH);
	buf_reset(&b);
	for (i = 0; i <= EXPR_MAX_DEPTH; i++)
		buf_addc(&b, '(');
	buf_addc(&b, '1');
	for (i = 0; i <= EXPR_MAX_DEPTH; i++)
		buf_addc(&b, ')');
	snprintf(want, sizeof want, "at %d: expression nested deeper than %d",
	    EXPR_MAX_DEPTH + 1, EXPR_MAX_DEPTH);
	is_string(want, cerr(b.b_data), "depth %d refused", EXPR_MAX_DEPTH + 1);

	/* Other nesting forms count too. */
	buf_reset(&b);
	for (i = 0; i <= EXPR_MAX_DEPTH; i++)
		buf_adds(&b, "not ");
	buf_addc(&b, '1');
	snprintf(want, sizeof want, "at %d: expression nested deeper than %d",
	    4 * EXPR_MAX_DEPTH + 1, EXPR_MAX_DEPTH);
	is_string(want, cerr(b.b_data), "not chain refused");
	buf_reset(&b);
	for (i = 0; i <= EXPR_MAX_DEPTH; i++)
		buf_adds(&b, "- ");
	buf_adds(&b, "x");
	snprintf(want, sizeof want, "at %d: expression nested deeper than %d",
	    2 * EXPR_MAX_DEPTH + 1, EXPR_MAX_DEPTH);
	is_string(want, cerr(b.b_data), "unary minus chain refused");
	buf_reset(&b);
	for (i = 0; i <= EXPR_MAX_DEPTH; i++)
		buf_adds(&b, "lower(");
	buf_adds(&b, "x");
	for (i = 0; i <= EXPR_MAX_DEPTH; i++)
		buf_addc(&b, ')');
	snprintf(want, sizeof want, "at %d: expression nested deeper than %d",
	    6 * EXPR_MAX_DEPTH + 6, EXPR_MAX_DEPTH);
	is_string(want, cerr(b.b_data), "call nesting refused");
	buf_reset(&b);
	for (i = 0; i <= EXPR_MAX_DEPTH; i++)
		buf_addc(&b, '[');
	for (i = 0; i <= EXPR_MAX_DEPTH; i++)
		buf_addc(&b, ']');
	snprintf(want, sizeof want, "at %d: expression nested deeper than %d",
	    EXPR_MAX_DEPTH + 1, EXPR_MAX_DEPTH);
	is_string(want, cerr(b.b_data), "list nesting refused");

	/* Nodes: x+x+...: n terms make 2n - 1 nodes. */
	buf_reset(&b);
	buf_adds(&b, "x");
	for (i = 1; i < (EXPR_MAX_NODES + 1) / 2; i++)
		buf_adds(&b, "+x");
	is_string("ok", cerr(b.b_data), "%d nodes accepted",
	    EXPR_MAX_NODES - 1);
	buf_adds(&b, "+x");
	snprintf(want, sizeof want, "at %zu: expression has more than %d "
	    "nodes", b.b_len - 1, EXPR_MAX_NODES);
	is_string(want, cerr(b.b_data), "%d nodes refused", EXPR_MAX_NODES + 1);
	/* A long, flat chain still evaluates (recursion = node count). */
	buf_reset(&b);
	buf_adds(&b, "status");
	for (i = 1; i < 250; i++)
		buf_adds(&b, " + 1");
	is_string("653", ev(b.b_data), "a 250-term sum evaluates");
	buf_free(&b);
}

/* Regular expressions cannot hang: the match limit stops backtracking. */
static void
test_regex_limit(void)
{
	struct record	*r;
	struct expr	*e;
	struct buf	 b = BUF_INIT;
	char		 err[256];
	int		 i, rc;

	for (i = 0; i < 5000; i++)
		buf_addc(&b, 'a');
	buf_addc(&b, 'b');
	r = record_new();
	record_add_str(r, "s", b.b_data, b.b_len);
	e = expr_compile("s =~ '^(a+)+$'", err, sizeof err);
	ok(e != NULL, "catastrophic pattern compiles");
	err[0] = '\0';
	rc = expr_truthy(e, r, err, sizeof err);
	is_int(-1, rc, "catastrophic match fails instead of hanging");
	ok(strncmp(err, "at 3: regular expression: ", 26) == 0 &&
	    strstr(err, "limit") != NULL, "names the limit: %s", err);
	expr_free(e);
	e = expr_compile("matches(s, '(a|aa)+$') or true", err, sizeof err);
	rc = expr_truthy(e, r, err, sizeof err);
	is_int(-1, rc, "an error is not hidden by 'or'");
	expr_free(e);
	e = expr_compile("s =~ '^a+b$'", err, sizeof err);
	is_int(1, expr_truthy(e, r, err, sizeof err), "a linear pattern on "
	    "the same string matches");
	expr_free(e);
	record_free(r);
	buf_free(&b);
}

/* Odd record contents: raw bytes, escapes, big strings, bad arrays. */
static void
test_odd_values(void)
{
	struct record	*r;
	struct expr	*e;
	struct buf	 b = BUF_INIT;
	char		 err[256];
	int		 i;

	r = record_new();
	record_add(r, "raw", 3, "\"a\xff\"", 4);
	record_add(r, "nul", 3, "\"x\\u0000y\"", 10);
	record_add(r, "num", 3, "1.0e2", 5);
	record_add(r, "dup", 3, "1", 1);
	record_add(r, "dup", 3, "2", 1);
	for (i = 0; i < EXPR_MAX_STR / 2 + 10; i++)
		buf_addc(&b, 'z');
	record_add_str(r, "long", b.b_data, b.b_len);
	buf_free(&b);

	e = expr_compile("raw =~ '^a.$'", err, sizeof err);
	is_int(1, expr_truthy(e, r, err, sizeof err),
	    "invalid UTF-8 in a subject is repaired, not an error");
	expr_free(e);
	e = expr_compile("len(nul) == 3 and contains(nul, 'y')", err,
	    sizeof err);
	is_int(1, expr_truthy(e, r, err, sizeof err), "escaped NUL kept");
	expr_free(e);
	e = expr_compile("num == 100 and dup == 1", err, sizeof err);
	is_int(1, expr_truthy(e, r, err, sizeof err),
	    "exponent number; the first of duplicate keys");
	expr_free(e);
	e = expr_compile("len(long + 'a') > 0", err, sizeof err);
	is_int(1, expr_truthy(e, r, err, sizeof err), "long string + 1 ok");
	expr_free(e);
	e = expr_compile("len(long + long) > 0", err, sizeof err);
	is_int(-1, expr_truthy(e, r, err, sizeof err), "string limit");
	is_string("at 10: string longer than 1048576 bytes", err,
	    "string limit message");
	expr_free(e);
	record_free(r);

	is_string("ERR at 7: division by zero", ev("[1, 1 / 0]"),
	    "error inside a list");
	is_string("ERR at 12: division by zero", ev("coalesce(1 / 0, 1)"),
	    "error inside coalesce");
	is_string("ERR at 9: division by zero", ev("lower(1 / 0)"),
	    "error inside an argument");
	is_string("ERR at 17: division by zero", ev("contains('a', 1 / 0)"),
	    "error inside a second argument");
	is_string("ERR at 3: division by zero", ev("1 / 0 in tags"),
	    "error on the left of in");
	is_string("ERR at 7: division by zero", ev("not 1 / 0"),
	    "error under not");
	is_string("ERR at 18: division by zero", ev("msg =~ 'zzz' or 1/0"),
	    "error after a failed match");
	is_string("\"\\u0001\\n\"", ev("'\\u0001\\n'"),
	    "control characters escaped in JSON");
	is_string("[0.5,-0.25]", ev("[1 / 2, -1 / 4]"), "doubles in a list");
	is_string("1e+21", ev("1e21"), "large double");
}

/*
 * Random token soup: every compile either succeeds or says where it
 * failed; every evaluation returns 0 or a positioned error.
 */
static void
test_soup(void)
{
	static const char *const toks[] = {
		"(", ")", "[", "]", ",", "+", "-", "*", "/", "%", "==", "!=",
		"<", ">=", "=~", "and", "or", "not", "in", "1", "0", "2.5",
		"'a'", "\"404\"", "null", "true", "status", "msg", "tags",
		"source.ip", "missing", "lower(", "len(", "contains(",
		"cidr(", "'10.0.0.0/8'", "matches(", "'^F'", "int(", "str(",
		"coalesce(", "exists(", "`user-agent`", "'", "\"", "#", "@",
	};
	struct expr	*e;
	struct buf	 b = BUF_INIT;
	struct expr_val	 v;
	char		 err[256];
	uint64_t	 x = 411;
	int		 i, j, n, badc = 0, bade = 0, compiled = 0;

	for (i = 0; i < 3000; i++) {
		buf_reset(&b);
		n = 1 + (int)((x >> 33) % 12);
		for (j = 0; j < n; j++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			buf_adds(&b, toks[(x >> 33) % (sizeof toks /
			    sizeof toks[0])]);
			buf_addc(&b, ' ');
		}
		err[0] = '\0';
		if ((e = expr_compile(b.b_data, err, sizeof err)) == NULL) {
			if (strncmp(err, "at ", 3) != 0)
				badc++;
			continue;
		}
		compiled++;
		err[0] = '\0';
		if (expr_eval(e, rec, &v, err, sizeof err) == -1 &&
		    (strncmp(err, "at ", 3) != 0 || v.v_type != EXPR_NULL))
			bade++;
		expr_val_free(&v);
		expr_free(e);
	}
	buf_free(&b);
	is_int(0, badc, "every compile error is positioned");
	is_int(0, bade, "every runtime error is positioned");
	ok(compiled > 50, "some of the soup compiles (%d)", compiled);
}

/* The API around evaluation. */
static void
test_api(void)
{
	struct expr	*e;
	struct expr_val	 v;
	struct buf	 b = BUF_INIT;
	char		 err[256];

	e = expr_compile("lower(msg) + '!'", err, sizeof err);
	ok(e != NULL, "compiles");
	is_string("lower(msg) + '!'", expr_source(e), "source kept");
	is_int(0, expr_eval(e, rec, &v, err, sizeof err), "eval ok");
	is_int(EXPR_STR, v.v_type, "string result");
	is_string("failed password for root!", v.v_str, "value");
	is_int(25, (int64_t)v.v_len, "length");
	expr_val_free(&v);
	is_int(EXPR_NULL, v.v_type, "freed value is null");
	expr_val_free(&v);
	is_int(0, expr_eval(e, NULL, &v, err, sizeof err), "NULL record");
	is_int(EXPR_NULL, v.v_type, "every field missing: null + '!'");
	expr_free(e);

	e = expr_compile("status", err, sizeof err);
	is_int(0, expr_eval(e, rec, &v, err, sizeof err), "number eval");
	ok(v.v_type == EXPR_NUM && v.v_isint && v.v_int == 404 &&
	    v.v_num == 404.0, "exact integer");
	expr_free(e);

	e = expr_compile("tags", err, sizeof err);
	is_int(0, expr_eval(e, rec, &v, err, sizeof err), "list eval");
	ok(v.v_type == EXPR_LIST && v.v_n == 6 &&
	    v.v_list[4].v_type == EXPR_LIST && v.v_list[4].v_n == 2,
	    "nested list kept");
	expr_val_free(&v);
	expr_free(e);

	e = expr_compile("status == 404 and flag", err, sizeof err);
	is_int(1, expr_truthy(e, rec, err, sizeof err), "truthy 1");
	is_int(0, expr_truthy(e, NULL, err, sizeof err), "truthy 0");
	expr_free(e);

	e = expr_compile("100 / (status - 404)", err, sizeof err);
	buf_adds(&b, "keep");
	is_int(-1, expr_eval_json(e, rec, &b, err, sizeof err),
	    "eval_json error");
	is_string("keep", b.b_data, "out unchanged on error");
	is_string("at 5: division by zero", err, "runtime error position");
	is_int(-1, expr_truthy(e, rec, err, sizeof err), "truthy -1");
	is_int(-1, expr_eval(e, rec, &v, err, sizeof err), "eval -1");
	is_int(EXPR_NULL, v.v_type, "out null on error");
	expr_free(e);
	buf_free(&b);

	ok(expr_compile("(", NULL, 0) == NULL, "NULL err buffer is fine");
	expr_free(NULL);
	is_string("list", expr_type_name(EXPR_LIST), "type name");
	is_string("number", expr_type_name(EXPR_NUM), "type name number");

	/* One compiled expression, many records. */
	e = expr_compile("contains(m, 'x')", err, sizeof err);
	{
		struct record	*r1 = record_new(), *r2 = record_new();

		record_add_str(r1, "m", "axb", 3);
		record_add_int(r2, "m", 5);
		is_int(1, expr_truthy(e, r1, err, sizeof err), "record 1");
		is_int(0, expr_truthy(e, r2, err, sizeof err), "record 2");
		record_free(r1);
		record_free(r2);
	}
	expr_free(e);
}

int
main(void)
{
	char	 err[256];

	plan(367);
	rec = record_from_json(rec_json, strlen(rec_json), err, sizeof err);
	if (rec == NULL)
		bail("test record: %s", err);
	RUN("literal", literals);
	RUN("field", fields);
	RUN("compare", compare);
	RUN("logic", logic);
	RUN("arith", arith);
	RUN("in", member);
	RUN("function", funcs);
	RUN("cidr", cidrs);
	test_parse_errors();
	test_limits();
	test_regex_limit();
	test_api();
	test_odd_values();
	test_soup();
	record_free(rec);
	return (test_done());
}
