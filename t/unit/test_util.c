/*
 * test_util.c -- durations, times, byte order, UTF-8, buf and hmap.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hmap.h"
#include "tap.h"
#include "util.h"

static void
test_durations(void)
{
	int64_t		 v;
	const char	*err = NULL;
	char		 s[32];

	ok(util_parse_duration("30s", &v, &err) == 0 && v == 30, "30s");
	ok(util_parse_duration("5m", &v, &err) == 0 && v == 300, "5m");
	ok(util_parse_duration("2h", &v, &err) == 0 && v == 7200, "2h");
	ok(util_parse_duration("7d", &v, &err) == 0 && v == 604800, "7d");
	ok(util_parse_duration("45", &v, &err) == 0 && v == 45,
	    "bare integer is seconds");
	ok(util_parse_duration_ms("250ms", &v, &err) == 0 && v == 250,
	    "250ms");
	ok(util_parse_duration("250ms", &v, &err) == -1 &&
	    strstr(err, "whole number") != NULL, "250ms is not whole seconds");
	ok(util_parse_duration("5x", &v, &err) == -1 &&
	    strstr(err, "unit") != NULL, "unknown unit refused: %s", err);
	ok(util_parse_duration("", &v, &err) == -1, "empty refused");
	ok(util_parse_duration("-5s", &v, &err) == -1, "negative refused");
	ok(util_parse_duration("99999999999999999d", &v, &err) == -1,
	    "overflow refused");
	util_fmt_duration(3600, s, sizeof s);
	is_string("1h", s, "3600 formats as 1h");
	util_fmt_duration(90, s, sizeof s);
	is_string("90s", s, "90 formats as 90s");
}

static void
test_times(void)
{
	int64_t	 ms;
	char	 s[UTIL_TIMELEN];

	ok(util_parse_time_ms("2026-11-23T19:30:00Z", 20, &ms) == 0 &&
	    ms == 1795462200000LL, "RFC 3339 Z");
	ok(util_parse_time_ms("2026-11-23T20:30:00+01:00", 25, &ms) == 0 &&
	    ms == 1795462200000LL, "offset +01:00");
	ok(util_parse_time_ms("2024-01-01T00:00:00.123Z", 24, &ms) == 0 &&
	    ms == 1704067200123LL, "milliseconds");
	ok(util_parse_time_ms("2024-01-01 00:00:00", 19, &ms) == 0 &&
	    ms == 1704067200000LL, "space separator");
	ok(util_parse_time_ms("2024-01-01", 10, &ms) == 0 &&
	    ms == 1704067200000LL, "date only");
	ok(util_parse_time_ms("2024-01-01T00:00:00+0000", 24, &ms) == 0 &&
	    ms == 1704067200000LL, "offset without colon");
	ok(util_parse_time_ms("2024-13-01T00:00:00Z", 20, &ms) == -1,
	    "month 13 refused");
	ok(util_parse_time_ms("2024-01-01T00:00:00Zjunk", 24, &ms) == -1,
	    "trailing junk refused");
	ok(util_parse_time_ms("yesterday", 9, &ms) == -1, "words refused");
	util_fmt_time(1795462200000LL, s, sizeof s);
	is_string("2026-11-23T19:30:00Z", s, "format RFC 3339");
	util_fmt_time_ms(1704067200123LL, s, sizeof s);
	is_string("2024-01-01T00:00:00.123Z", s, "format with ms");
}

static void
test_bytes(void)
{
	uint8_t	 b[8], c[8];
	char	 hex[17];

	util_be64_put(b, 0x0102030405060708ULL);
	ok(b[0] == 1 && b[7] == 8, "be64 is big-endian");
	is_int(0x0102030405060708LL, (int64_t)util_be64_get(b), "be64 back");
	util_be64_put(b, 255);
	util_be64_put(c, 256);
	ok(memcmp(b, c, 8) < 0, "be64 sorts like the numbers");
	util_hex(b, 8, hex);
	is_string("00000000000000ff", hex, "hex");
	ok(util_hash("a", 1) != util_hash("b", 1), "hash differs");
	ok(util_secure_equal("secret", "secret"), "secure_equal same");
	ok(!util_secure_equal("secret", "secreT"), "secure_equal differs");
	ok(!util_secure_equal("secret", "secret2"), "secure_equal length");
}

static void
test_utf8(void)
{
	struct buf	 b = BUF_INIT;
	size_t		 bad;

	bad = util_utf8_append(&b, "ok \xc3\xa9", 5);
	ok(bad == 0 && strcmp(b.b_data, "ok \xc3\xa9") == 0, "valid kept");
	buf_reset(&b);
	bad = util_utf8_append(&b, "a\xff" "b\xc3", 4);
	ok(bad == 2 && strcmp(b.b_data, "a\xef\xbf\xbd" "b\xef\xbf\xbd") == 0,
	    "invalid bytes replaced with U+FFFD");
	buf_reset(&b);
	bad = util_utf8_append(&b, "\xed\xa0\x80", 3);
	ok(bad == 3, "surrogate refused");
	ok(util_utf8_valid("\xe2\x82\xac", 3), "euro sign valid");
	ok(!util_utf8_valid("\xc0\xaf", 2), "overlong invalid");
	buf_free(&b);
}

static void
test_buf_hmap(void)
{
	struct buf	 b = BUF_INIT;
	struct hmap	*h;
	struct hmap_iter it = { 0 };
	char		 key[32];
	int		 i, found = 0;
	size_t		 len;
	char		*s;
	void		*v;

	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	ok(b.b_len > 2000 && strncmp(b.b_data, "0,1,2,", 6) == 0,
	    "buf grows");
	s = buf_steal(&b, &len);
	ok(b.b_data == NULL && len > 2000, "buf_steal empties");
	free(s);

	h = hmap_new();
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		hmap_put(h, key, strlen(key), (void *)(intptr_t)(i + 1));
	}
	is_int(5000, hmap_count(h), "hmap holds 5000");
	ok(hmap_get(h, "k4321", 5) == (void *)(intptr_t)4322, "hmap get");
	for (i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof key, "k%d", i);
		hmap_del(h, key, strlen(key));
	}
	is_int(2500, hmap_count(h), "hmap after deleting half");
	ok(hmap_get(h, "k10", 3) == NULL && hmap_get(h, "k11", 3) != NULL,
	    "deleted gone, others stay");
	while (hmap_next(h, &it, NULL, NULL, &v))
		found++;
	is_int(2500, found, "iteration sees every key once");
	hmap_put64(h, 42, "x");
	ok(hmap_get64(h, 42) != NULL && hmap_del64(h, 42) != NULL &&
	    hmap_get64(h, 42) == NULL, "64-bit keys");
	hmap_free(h);
}

int
main(void)
{
	plan(45);
	test_durations();
	test_times();
	test_bytes();
	test_utf8();
	test_buf_hmap();
	return (test_done());
}
