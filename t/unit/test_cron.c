/*
 * test_cron.c -- cron expressions: every syntax feature and each error,
 * the next and previous fire times across hours, days, month ends and
 * leap days, the day-of-month / day-of-week rule, and daylight saving
 * time in Europe/Berlin and America/New_York.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "tap.h"
#include "util.h"

static char	 fmtbuf[8][32];
static int	 fmtn;

/* Parse "2026-03-29T00:30:00Z". */
static int64_t
T(const char *s)
{
	int64_t	 t;

	if (util_parse_time_ms(s, strlen(s), &t) == -1)
		bail("bad time %s", s);
	return (t);
}

/* Format a fire time (or "none"). */
static const char *
F(int64_t t)
{
	char	*b = fmtbuf[fmtn++ % 8];

	if (t == -1)
		return ("none");
	util_fmt_time(t, b, sizeof fmtbuf[0]);
	return (b);
}

static struct cron *
mk(const char *spec, const char *tz)
{
	struct cron	*c;
	char		 err[256];
	int		 what;

	c = cron_new(spec, tz, &what, err, sizeof err);
	if (c == NULL)
		bail("cron %s (%s): %s", spec, tz ? tz : "UTC", err);
	return (c);
}

/* The next fire after at (UTC string). */
static const char *
nx(const char *spec, const char *tz, const char *at)
{
	struct cron	*c = mk(spec, tz);
	int64_t		 t;

	t = cron_next(c, T(at));
	cron_free(c);
	return (F(t));
}

static const char *
pv(const char *spec, const char *tz, const char *at)
{
	struct cron	*c = mk(spec, tz);
	int64_t		 t;

	t = cron_prev(c, T(at));
	cron_free(c);
	return (F(t));
}

static const struct {
	const char	*spec;
	const char	*tz;
	int		 what;
	const char	*msg;
} bad[] = {
	{ "75 * * * *", NULL, CRON_ERR_SPEC,
	    "minute: 75 is out of range 0-59" },
	{ "* 24 * * *", NULL, CRON_ERR_SPEC, "hour: 24 is out of range 0-23" },
	{ "* * 0 * *", NULL, CRON_ERR_SPEC,
	    "day-of-month: 0 is out of range 1-31" },
	{ "* * 32 * *", NULL, CRON_ERR_SPEC,
	    "day-of-month: 32 is out of range 1-31" },
	{ "* * * 13 *", NULL, CRON_ERR_SPEC, "month: 13 is out of range 1-12" },
	{ "* * * * 8", NULL, CRON_ERR_SPEC,
	    "day-of-week: 8 is out of range 0-7" },
	{ "* * * foo *", NULL, CRON_ERR_SPEC,
	    "month: \"foo\" is not a valid value" },
	{ "* * * * sunday", NULL, CRON_ERR_SPEC,
	    "day-of-week: \"sunday\" is not a valid value" },
	{ "* mon * * *", NULL, CRON_ERR_SPEC,
	    "hour: \"mon\" is not a valid value" },
	{ "5x * * * *", NULL, CRON_ERR_SPEC, "minute: \"5x\" is not a number" },
	{ "*/0 * * * *", NULL, CRON_ERR_SPEC,
	    "minute: bad step in \"*/0\"" },
	{ "*/ * * * *", NULL, CRON_ERR_SPEC, "minute: bad step in \"*/\"" },
	{ "1-5/x * * * *", NULL, CRON_ERR_SPEC,
	    "minute: bad step in \"1-5/x\"" },
	{ "30-10 * * * *", NULL, CRON_ERR_SPEC,
	    "minute: \"30-10\" starts after it ends" },
	{ "1,,2 * * * *", NULL, CRON_ERR_SPEC,
	    "minute: an empty item in \"1,,2\"" },
	{ "1, * * * *", NULL, CRON_ERR_SPEC,
	    "minute: an empty item in \"1,\"" },
	{ "5- * * * *", NULL, CRON_ERR_SPEC, "minute: a value is missing" },
	{ "* * * *", NULL, CRON_ERR_SPEC, "expected 5 fields (minute hour "
	    "day-of-month month day-of-week), got 4" },
	{ "* * * * * *", NULL, CRON_ERR_SPEC, "expected 5 fields (minute hour "
	    "day-of-month month day-of-week), got 6" },
	{ "", NULL, CRON_ERR_SPEC, "expected 5 fields (minute hour "
	    "day-of-month month day-of-week), got 0" },
	{ "0 0 30 2 *", NULL, CRON_ERR_SPEC,
	    "day-of-month: no day of the months given matches" },
	{ "0 0 31 4,6,9,11 *", NULL, CRON_ERR_SPEC,
	    "day-of-month: no day of the months given matches" },
	{ "* * * * *", "Mars/Olympus", CRON_ERR_TZ,
	    "unknown time zone \"Mars/Olympus\"" },
	{ "* * * * *", "../../etc/passwd", CRON_ERR_TZ,
	    "unknown time zone \"../../etc/passwd\"" },
	{ "* * * * *", "", CRON_ERR_TZ, "unknown time zone \"\"" },
	{ "* * * * *", "/etc/localtime", CRON_ERR_TZ,
	    "unknown time zone \"/etc/localtime\"" },
};

static void
test_errors(void)
{
	struct cron	*c;
	char		 err[256];
	size_t		 i;
	int		 what;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		what = 0;
		c = cron_new(bad[i].spec, bad[i].tz, &what, err, sizeof err);
		ok(c == NULL && what == bad[i].what &&
		    strcmp(err, bad[i].msg) == 0, "refused: \"%s\" %s",
		    bad[i].spec, bad[i].tz ? bad[i].tz : "");
		if (c != NULL || strcmp(err, bad[i].msg) != 0)
			diag("got: %s", err);
		cron_free(c);
	}
}

static void
test_syntax(void)
{
	const char	*at = "2026-11-25T10:07:30Z";	/* a Wednesday */

	is_string(nx("* * * * *", NULL, at), "2026-11-25T10:08:00Z",
	    "every minute");
	is_string(nx("* * * * *", "UTC", "2026-11-25T10:08:00Z"),
	    "2026-11-25T10:09:00Z", "strictly after a fire time");
	is_string(nx("*/5 * * * *", NULL, at), "2026-11-25T10:10:00Z",
	    "*/5");
	is_string(nx("*/25 * * * *", NULL, "2026-11-25T10:51:00Z"),
	    "2026-11-25T11:00:00Z", "*/25: 0, 25, 50 then the next hour");
	is_string(nx("10-20/5 * * * *", NULL, "2026-11-25T10:15:00Z"),
	    "2026-11-25T10:20:00Z", "a-b/n");
	is_string(nx("10-20/5 * * * *", NULL, "2026-11-25T10:20:00Z"),
	    "2026-11-25T11:10:00Z", "a-b/n wraps to the next hour");
	is_string(nx("50/5 * * * *", NULL, "2026-11-25T10:56:00Z"),
	    "2026-11-25T11:50:00Z", "a/n runs to the field's end");
	is_string(nx("3,7,40-42 * * * *", NULL, at), "2026-11-25T10:40:00Z",
	    "lists and ranges");
	is_string(nx("0 9-17 * * *", NULL, "2026-11-25T17:00:00Z"),
	    "2026-11-26T09:00:00Z", "hour range, next day");
	is_string(nx("0 0 * jun-AUG *", NULL, at), "2027-06-01T00:00:00Z",
	    "month names, any case");
	is_string(nx("0 0 * * Sat", NULL, at), "2026-11-28T00:00:00Z",
	    "day names");
	is_string(nx("0 0 * * 7", NULL, at), "2026-11-29T00:00:00Z",
	    "7 is Sunday");
	is_string(nx("0 0 * * 0", NULL, at), "2026-11-29T00:00:00Z",
	    "0 is Sunday");
	is_string(nx("0 0 * * 5-7", NULL, "2026-11-28T12:00:00Z"),
	    "2026-11-29T00:00:00Z", "5-7 includes Sunday");
	is_string(nx("0 0 * * mon-fri", NULL, "2026-11-27T12:00:00Z"),
	    "2026-11-30T00:00:00Z", "weekdays skip the weekend");
	is_string(nx("0 0 * * */2", NULL, "2026-11-25T00:00:00Z"),
	    "2026-11-26T00:00:00Z", "*/2 on days: Sun, Tue, Thu, Sat");
	is_string(nx("  0\t12  *  *  * ", NULL, at), "2026-11-25T12:00:00Z",
	    "spaces and tabs between fields");
}

static void
test_next(void)
{
	is_string(nx("30 * * * *", NULL, "2026-11-25T23:45:00Z"),
	    "2026-11-26T00:30:00Z", "across midnight");
	is_string(nx("0 0 1 * *", NULL, "2026-11-25T10:00:00Z"),
	    "2026-12-01T00:00:00Z", "first of the month");
	is_string(nx("0 0 1 * *", NULL, "2026-12-15T10:00:00Z"),
	    "2027-01-01T00:00:00Z", "across the year end");
	is_string(nx("0 0 31 * *", NULL, "2026-04-01T00:00:00Z"),
	    "2026-05-31T00:00:00Z", "the 31st skips April");
	is_string(nx("0 12 29 2 *", NULL, "2026-03-01T00:00:00Z"),
	    "2028-02-29T12:00:00Z", "29 February: the next leap year");
	is_string(nx("0 12 29 2 *", NULL, "2096-03-01T00:00:00Z"),
	    "2104-02-29T12:00:00Z", "29 February: 2100 is not a leap year");
	is_string(nx("0 0 28-31 2 *", NULL, "2028-02-28T00:00:00Z"),
	    "2028-02-29T00:00:00Z", "leap day in a range");
	/* Both day fields restricted: either matches. */
	is_string(nx("0 0 13 * fri", NULL, "2026-11-25T00:00:00Z"),
	    "2026-11-27T00:00:00Z", "13th or Friday: the Friday first");
	is_string(nx("0 0 13 * fri", NULL, "2026-12-11T01:00:00Z"),
	    "2026-12-13T00:00:00Z", "13th or Friday: the 13th (a Sunday)");
	/* One starts with "*": both must match. */
	is_string(nx("0 0 * 12 fri", NULL, "2026-11-25T00:00:00Z"),
	    "2026-12-04T00:00:00Z", "month and weekday both");
	is_string(nx("0 0 */10 * fri", NULL, "2026-11-25T00:00:00Z"),
	    "2026-12-11T00:00:00Z", "*/10 day with Friday: both must match");
	is_string(nx("0 0 13 * *", NULL, "2026-11-25T00:00:00Z"),
	    "2026-12-13T00:00:00Z", "day of month alone");
	/* Milliseconds. */
	{
		struct cron	*c = mk("* * * * *", NULL);

		is_int(cron_next(c, T("2026-11-25T10:07:00Z") - 1),
		    T("2026-11-25T10:07:00Z"), "1 ms before a fire");
		is_int(cron_prev(c, T("2026-11-25T10:07:00Z") + 999),
		    T("2026-11-25T10:07:00Z"), "999 ms after a fire");
		is_int(cron_prev(c, T("2026-11-25T10:07:00Z") - 1),
		    T("2026-11-25T10:06:00Z"), "prev: 1 ms before a fire");
		is_int(cron_interval(c), 60000, "interval 1 min");
		cron_free(c);
		c = mk("0 9 * * mon-fri", "Europe/Berlin");
		is_int(cron_interval(c), 86400000, "interval: weekdays, 1 day");
		cron_free(c);
	}
}

static void
test_dst(void)
{
	const char	*be = "Europe/Berlin", *ny = "America/New_York";

	/* Berlin: 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z). */
	is_string(nx("30 2 * * *", be, "2026-03-28T12:00:00Z"),
	    "2026-03-29T01:00:00Z", "spring forward: 02:30 runs at 03:00");
	is_string(nx("30 2 * * *", be, "2026-03-29T01:00:00Z"),
	    "2026-03-30T00:30:00Z", "... once: next is 02:30 CEST next day");
	is_string(nx("*/20 2 * * *", be, "2026-03-28T23:30:00Z"),
	    "2026-03-29T01:00:00Z", "the gap's fires are one run");
	is_string(nx("*/20 2,3 * * *", be, "2026-03-29T01:00:00Z"),
	    "2026-03-29T01:20:00Z", "... then 03:20 CEST");
	is_string(nx("30 1 * * *", be, "2026-03-28T12:00:00Z"),
	    "2026-03-29T00:30:00Z", "01:30 before the gap is CET");
	is_string(nx("30 3 * * *", be, "2026-03-28T12:00:00Z"),
	    "2026-03-29T01:30:00Z", "03:30 after the gap is CEST");
	/* Berlin: 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z). */
	is_string(nx("30 2 * * *", be, "2026-10-24T12:00:00Z"),
	    "2026-10-25T00:30:00Z", "fall back: 02:30, first occurrence");
	is_string(nx("30 2 * * *", be, "2026-10-25T00:30:00Z"),
	    "2026-10-26T01:30:00Z", "... once: not again at 01:30Z");
	is_string(nx("0 * * * *", be, "2026-10-25T00:00:00Z"),
	    "2026-10-25T02:00:00Z", "hourly: 02:00 once, then 03:00 CET");
	is_string(nx("0 12 * * *", be, "2026-11-25T00:00:00Z"),
	    "2026-11-25T11:00:00Z", "noon CET");
	is_string(nx("0 12 * * *", be, "2026-07-01T00:00:00Z"),
	    "2026-07-01T10:00:00Z", "noon CEST");
	/* New York: 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z). */
	is_string(nx("15 2 * * *", ny, "2026-03-07T12:00:00Z"),
	    "2026-03-08T07:00:00Z", "New York spring forward");
	/* 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z). */
	is_string(nx("30 1 * * *", ny, "2026-10-31T12:00:00Z"),
	    "2026-11-01T05:30:00Z", "New York fall back: first 01:30");
	is_string(nx("30 1 * * *", ny, "2026-11-01T05:30:00Z"),
	    "2026-11-02T06:30:00Z", "... once");
	is_string(nx("0 0 1 * *", ny, "2026-11-25T00:00:00Z"),
	    "2026-12-01T05:00:00Z", "midnight in New York");
	is_string(getenv("TZ"), NULL, "TZ is put back (unset)");
	setenv("TZ", "Asia/Tokyo", 1);
	is_string(nx("0 0 1 * *", NULL, "2026-11-25T00:00:00Z"),
	    "2026-12-01T00:00:00Z", "default UTC whatever TZ is");
	is_string(getenv("TZ"), "Asia/Tokyo", "TZ is put back (set)");
	unsetenv("TZ");
}

static void
test_prev(void)
{
	const char	*be = "Europe/Berlin", *ny = "America/New_York";

	is_string(pv("*/5 * * * *", NULL, "2026-11-25T10:07:30Z"),
	    "2026-11-25T10:05:00Z", "prev */5");
	is_string(pv("*/5 * * * *", NULL, "2026-11-25T10:05:00Z"),
	    "2026-11-25T10:05:00Z", "prev: at a fire time, that one");
	is_string(pv("30 * * * *", NULL, "2026-11-26T00:10:00Z"),
	    "2026-11-25T23:30:00Z", "prev across midnight");
	is_string(pv("0 0 1 * *", NULL, "2027-01-01T00:00:00Z"),
	    "2027-01-01T00:00:00Z", "prev: year start itself");
	is_string(pv("0 0 1 * *", NULL, "2026-12-31T23:59:59Z"),
	    "2026-12-01T00:00:00Z", "prev: first of the month");
	is_string(pv("0 12 29 2 *", NULL, "2028-02-28T00:00:00Z"),
	    "2024-02-29T12:00:00Z", "prev leap day");
	is_string(pv("0 0 13 * fri", NULL, "2026-12-12T00:00:00Z"),
	    "2026-12-11T00:00:00Z", "prev OR rule: the Friday");
	is_string(pv("0 0 31 * *", NULL, "2026-05-01T00:00:00Z"),
	    "2026-03-31T00:00:00Z", "prev 31st skips April");
	is_string(pv("30 2 * * *", be, "2026-03-29T01:00:00Z"),
	    "2026-03-29T01:00:00Z", "prev spring forward: at 03:00 CEST");
	is_string(pv("30 2 * * *", be, "2026-03-29T00:59:59Z"),
	    "2026-03-28T01:30:00Z", "prev spring forward: just before");
	is_string(pv("30 2 * * *", be, "2026-10-25T01:45:00Z"),
	    "2026-10-25T00:30:00Z", "prev fall back: the first 02:30");
	is_string(pv("0 * * * *", be, "2026-10-25T01:59:00Z"),
	    "2026-10-25T00:00:00Z", "prev hourly in the repeated hour");
	is_string(pv("30 1 * * *", ny, "2026-11-01T06:45:00Z"),
	    "2026-11-01T05:30:00Z", "prev New York fall back");
	is_string(pv("15 2 * * *", ny, "2026-03-08T07:10:00Z"),
	    "2026-03-08T07:00:00Z", "prev New York spring forward");
}

/* next and prev agree over a stretch with DST changes. */
static void
test_agree(void)
{
	struct cron	*c = mk("*/7 1-3 * * *", "Europe/Berlin");
	int64_t		 t, f, g;
	int		 i, nbad = 0;

	t = T("2026-10-24T00:00:00Z");
	for (i = 0; i < 200; i++) {
		f = cron_next(c, t);
		g = cron_prev(c, f);
		if (f <= t || g != f || cron_prev(c, f - 1) > t ||
		    f % 60000 != 0)
			nbad++;
		t = f;
	}
	is_int(nbad, 0, "next and prev agree over 200 fires");
	cron_free(c);
}

int
main(void)
{
	plan(26 + 17 + 17 + 18 + 14 + 1);
	unsetenv("TZ");
	test_errors();
	test_syntax();
	test_next();
	test_dst();
	test_prev();
	test_agree();
	return (test_done());
}
