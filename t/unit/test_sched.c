/*
 * test_sched.c -- the scheduler's window arithmetic and back-off: grid
 * points with jitter, a new search's first window, contiguous windows
 * from a checkpoint, catch-up after downtime, delay, retry delays; the
 * classification of failures and the AIMD arithmetic of a source's limit.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "httpc.h"
#include "sched.h"
#include "search.h"
#include "sources.h"
#include "tap.h"

#define MIN_MS		(60 * 1000LL)
#define HOUR_MS		(60 * MIN_MS)
/* 2026-11-23T19:30:00Z: a multiple of 5 min and of 1 h... and 30 min. */
#define BASE_MS		1795462200000LL

/* A search as the pure functions see it: id, every and delay. */
static void
mksearch(struct search *s, uint64_t id, int64_t every, int64_t delay)
{
	memset(s, 0, sizeof *s);
	s->s_refs = 1;
	s->s_id = id;
	s->s_every = every;
	s->s_range = every;
	s->s_delay = delay;
}

static void
test_grid(void)
{
	struct search	 s;
	int64_t		 j, every = 300 * 1000, t, g, e;
	uint64_t	 x = 88172645463325252ULL;
	int		 i, bad;

	mksearch(&s, 42, 300, 0);
	j = search_jitter(&s);
	ok(j >= 0 && j < every, "jitter %lld in [0, every)", (long long)j);
	is_int(j, search_jitter(&s), "jitter is deterministic");
	e = BASE_MS + j;
	is_int(e, sched_grid(&s, e), "a grid point maps to itself");
	is_int(e, sched_grid(&s, e + 1), "just after a grid point");
	is_int(e, sched_grid(&s, e + every - 1), "just before the next");
	is_int(e + every, sched_grid(&s, e + every), "the next grid point");
	is_int(e - every, sched_grid(&s, e - 1), "just before a grid point");

	/* Floor, not truncation, below zero. */
	is_int(j - every, sched_grid(&s, -1), "t = -1 floors down");
	is_int(j - every, sched_grid(&s, j - every), "negative grid point");
	is_int(j - 2 * every, sched_grid(&s, j - every - 1),
	    "below a negative grid point");
	is_int(j == 0 ? 0 : j - every, sched_grid(&s, 0), "t = 0");
	is_int(j, sched_grid(&s, j), "t = jitter");

	/* Every grid point is k * every + jitter; t lies in [g, g + every). */
	bad = 0;
	for (i = 0; i < 5000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t = (int64_t)(x % (4 * (uint64_t)BASE_MS)) - 2 * BASE_MS;
		g = sched_grid(&s, t);
		if (g > t || t >= g + every || ((g - j) % every) != 0) {
			if (bad++ == 0)
				diag("t %lld grid %lld", (long long)t,
				    (long long)g);
		}
	}
	is_int(0, bad, "5000 times: grid <= t < grid + every, on the grid");

	/* every 1 s: no jitter, grid on whole seconds. */
	mksearch(&s, 42, 1, 0);
	is_int(0, search_jitter(&s), "no jitter with every = 1s");
	is_int(1000, sched_grid(&s, 1999), "1s grid");
	is_int(-1000, sched_grid(&s, -1), "1s grid below zero");

	/* Different searches get different jitter (spread). */
	{
		struct search	 a, b;

		mksearch(&a, 1, 3600, 0);
		mksearch(&b, 2, 3600, 0);
		ok(search_jitter(&a) != search_jitter(&b),
		    "ids 1 and 2 have different jitter");
		ok((sched_grid(&a, BASE_MS) - search_jitter(&a)) % HOUR_MS ==
		    0, "hourly grid carries the jitter");
	}
}

static void
test_new_search(void)
{
	struct search	 s;
	int64_t		 j, every = 300 * 1000, e, end = -1, skip = -1;
	int		 rc;

	mksearch(&s, 7, 300, 0);
	j = search_jitter(&s);
	e = BASE_MS + j;

	rc = sched_window(&s, 0, e + 1, 86400 * 1000LL, &end, &skip);
	ok(rc == 0 && end == e, "new search: the latest complete window");
	rc = sched_window(&s, 0, e, 86400 * 1000LL, &end, &skip);
	ok(rc == 0 && end == e, "new search at a grid point: that window");
	rc = sched_window(&s, 0, e - 1, 86400 * 1000LL, &end, &skip);
	ok(rc == 0 && end == e - every,
	    "new search just before a grid point: the previous window");
	ok(skip == -1, "skipto untouched when nothing is skipped");

	/* With a delay the window must be complete delay ms ago. */
	mksearch(&s, 7, 300, 120);
	rc = sched_window(&s, 0, e + 60 * 1000, 86400 * 1000LL, &end, &skip);
	ok(rc == 0 && end == e - every,
	    "delay 2m, 1m after the grid point: the previous window");
	rc = sched_window(&s, 0, e + 120 * 1000, 86400 * 1000LL, &end,
	    &skip);
	ok(rc == 0 && end == e, "delay 2m, 2m after: this window");
	ok(end + s.s_delay * 1000 <= e + 120 * 1000, "its run is due now");
}

static void
test_checkpoint(void)
{
	struct search	 s;
	int64_t		 j, every = 300 * 1000, e, cp, end, skip = -1, now;
	int		 rc, i, bad;

	mksearch(&s, 11, 300, 0);
	j = search_jitter(&s);
	e = BASE_MS + j;

	rc = sched_window(&s, e, e + 1, 86400 * 1000LL, &end, &skip);
	ok(rc == 0 && end == e + every,
	    "next window after the checkpoint, even if not yet complete");
	rc = sched_window(&s, e + 1000, e + 1, 86400 * 1000LL, &end, &skip);
	ok(rc == 0 && end == e + every,
	    "an off-grid checkpoint: end is the next grid point");
	rc = sched_window(&s, e - 1, e + 1, 86400 * 1000LL, &end, &skip);
	ok(rc == 0 && end == e, "a checkpoint just before a grid point");

	/* 3 h of downtime, within a 24 h catch-up: every window, in order. */
	now = e + 3 * HOUR_MS + 1;
	cp = e;
	bad = 0;
	for (i = 0; i < 36; i++) {
		rc = sched_window(&s, cp, now, 86400 * 1000LL, &end, &skip);
		if (rc != 0 || end != cp + every)
			bad++;
		cp = end;
	}
	is_int(0, bad, "36 contiguous windows, none skipped or repeated");
	is_int(e + 3 * HOUR_MS, cp, "caught up to the latest window");
	ok(skip == -1, "skipto untouched");

	/* The gap is exactly catch_up: still not skipped. */
	rc = sched_window(&s, e, e + every + HOUR_MS, HOUR_MS, &end, &skip);
	ok(rc == 0 && end == e + every, "a gap of exactly catch_up runs all");
}

static void
test_catch_up(void)
{
	struct search	 s;
	int64_t		 j, every = 300 * 1000, e, cp, end = 0, skip = 0, now;
	int64_t		 first;
	int		 rc, i, n, bad;

	mksearch(&s, 13, 300, 0);
	j = search_jitter(&s);
	e = BASE_MS + j;

	/* 10 h down with a 1 h catch-up: skip to the last hour. */
	now = e + 10 * HOUR_MS + 1;
	rc = sched_window(&s, e, now, HOUR_MS, &end, &skip);
	is_int(1, rc, "a gap longer than catch_up is reported");
	is_int(e + 9 * HOUR_MS, skip, "skipto: catch_up before now");
	is_int(e + 9 * HOUR_MS + every, end, "first window after skipto");
	ok(now - end <= HOUR_MS, "the first window is within catch_up");
	ok(end - every < now - HOUR_MS,
	    "the window before it is past catch_up");
	first = end;

	/* From skipto the windows are contiguous again, up to now. */
	cp = skip;
	bad = 0;
	n = 0;
	for (i = 0; i < 100; i++) {
		rc = sched_window(&s, cp, now, HOUR_MS, &end, &skip);
		if (rc != 0 || end != cp + every)
			bad++;
		if (end > now)
			break;
		cp = end;
		n++;
	}
	is_int(0, bad, "contiguous from skipto, nothing more skipped");
	is_int(12, n, "12 windows of 5 min fill the hour caught up");
	is_int(first + 11 * every, cp, "last one ends at the latest grid");

	/* Same downtime with a delay: the same windows, shifted. */
	mksearch(&s, 13, 300, 90);
	rc = sched_window(&s, e, now + 90 * 1000, HOUR_MS, &end, &skip);
	ok(rc == 1 && skip == e + 9 * HOUR_MS &&
	    end == e + 9 * HOUR_MS + every, "delay shifts catch-up");
	rc = sched_window(&s, 0, now + 90 * 1000, HOUR_MS, &end, &skip);
	ok(rc == 0 && end == e + 10 * HOUR_MS,
	    "delay: a new search still gets the latest complete window");

	/* A checkpoint way in the past (years): one skip, no loop. */
	mksearch(&s, 13, 60, 0);
	rc = sched_window(&s, 1000, BASE_MS, 86400 * 1000LL, &end, &skip);
	ok(rc == 1 && BASE_MS - end <= 86400 * 1000LL &&
	    BASE_MS - end > 86400 * 1000LL - 60 * 1000 && end - skip ==
	    60 * 1000, "a very old checkpoint skips to the last day");
}

/* A cron search: spec in tz, range (s), delay (s). */
static int	in_band(int64_t, int64_t);

static void
mkcron(struct search *s, const char *spec, const char *tz, int64_t range,
    int64_t delay)
{
	char	 err[256];
	int	 what;

	mksearch(s, 21, 0, delay);
	s->s_range = range;
	s->s_cron_c = cron_new(spec, tz, &what, err, sizeof err);
	if (s->s_cron_c == NULL)
		bail("cron %s: %s", spec, err);
}

static void
test_cron(void)
{
	struct search	 s;
	int64_t		 end = 0, skip = 0, cp, now, d;
	int		 rc, i, bad, n;

	/* Every 5 min: grid points are the fires, no jitter. */
	mkcron(&s, "*/5 * * * *", NULL, 300, 0);
	is_int(BASE_MS, sched_grid(&s, BASE_MS), "cron grid: a fire maps to "
	    "itself");
	is_int(BASE_MS, sched_grid(&s, BASE_MS + 5 * MIN_MS - 1),
	    "cron grid: just before the next fire");
	is_int(BASE_MS - 5 * MIN_MS, sched_grid(&s, BASE_MS - 1),
	    "cron grid: just before a fire");

	/* A new search gets the latest complete window. */
	rc = sched_window(&s, 0, BASE_MS + 7 * MIN_MS, HOUR_MS, &end, &skip);
	ok(rc == 0 && end == BASE_MS + 5 * MIN_MS,
	    "new cron search: the latest complete window");
	cron_free(s.s_cron_c);

	/* With a delay, the window must be complete delay ago. */
	mkcron(&s, "*/5 * * * *", NULL, 300, 30);
	rc = sched_window(&s, 0, BASE_MS + 5 * MIN_MS + 10000, HOUR_MS, &end,
	    &skip);
	ok(rc == 0 && end == BASE_MS, "new cron search with a delay");

	/* Contiguous windows from the checkpoint. */
	cp = BASE_MS;
	now = BASE_MS + HOUR_MS;
	bad = n = 0;
	for (i = 0; i < 100; i++) {
		rc = sched_window(&s, cp, now + 30000, HOUR_MS, &end, &skip);
		if (rc != 0 || end != cp + 5 * MIN_MS)
			bad++;
		if (end > now)
			break;
		cp = end;
		n++;
	}
	is_int(0, bad, "cron windows are contiguous");
	is_int(12, n, "12 windows of 5 min in the hour");
	/* A checkpoint off the grid goes to the next fire. */
	rc = sched_window(&s, BASE_MS + 1000, now, HOUR_MS, &end, &skip);
	ok(rc == 0 && end == BASE_MS + 5 * MIN_MS,
	    "an off-grid checkpoint: the next fire");

	/* Catch-up: 10 h down with a 1 h limit. */
	rc = sched_window(&s, BASE_MS, BASE_MS + 10 * HOUR_MS + 30000,
	    HOUR_MS, &end, &skip);
	is_int(1, rc, "cron: a gap longer than catch_up is reported");
	is_int(BASE_MS + 9 * HOUR_MS, skip, "cron skipto: catch_up before now");
	is_int(BASE_MS + 9 * HOUR_MS + 5 * MIN_MS, end,
	    "cron: the first window after skipto");
	rc = sched_window(&s, skip, BASE_MS + 10 * HOUR_MS + 30000, HOUR_MS,
	    &end, &skip);
	ok(rc == 0 && end == BASE_MS + 9 * HOUR_MS + 5 * MIN_MS,
	    "cron: contiguous again after skipto");
	d = sched_backoff(&s, 30, 1, NULL);
	ok(in_band(d, 5 * MIN_MS), "cron back-off cap: its 5 min interval");
	cron_free(s.s_cron_c);

	/* Daily at 09:00 on weekdays: windows jump the weekend. */
	mkcron(&s, "0 9 * * mon-fri", "Europe/Berlin", 86400, 0);
	/* Fri 2026-11-27 09:00 CET = 08:00Z; Mon 11-30 08:00Z. */
	rc = sched_window(&s, 1795766400000LL, 1796025600000LL + 1, HOUR_MS,
	    &end, &skip);
	ok(rc == 0 && end == 1796025600000LL, "weekdays: Friday to Monday");
	d = sched_backoff(&s, 30, 1, NULL);
	ok(in_band(d, SCHED_RETRY_MAX_MS), "daily cron back-off cap: 5 min");
	cron_free(s.s_cron_c);

	/* Hourly in Berlin across the fall back: 02:00 runs once. */
	mkcron(&s, "0 * * * *", "Europe/Berlin", 3600, 0);
	/* 2026-10-25T00:00Z is 02:00 CEST; 01:00Z is 02:00 CET again. */
	rc = sched_window(&s, 1792886400000LL, 1792900800000LL, 86400000LL,
	    &end, &skip);
	ok(rc == 0 && end == 1792893600000LL,
	    "fall back: after 02:00 CEST comes 03:00 CET");
	cron_free(s.s_cron_c);
}

/* True when d lies in base's jitter band, 80% to 120%. */
static int
in_band(int64_t d, int64_t base)
{
	return (d >= base * 80 / 100 && d <= base * 120 / 100);
}

static void
test_backoff(void)
{
	struct search	 s;
	int64_t		 d, base, lo, hi;
	int		 n, k, bad;

	ok(SCHED_RETRY_MIN_MS == 1000 && SCHED_RETRY_MAX_MS == 300000,
	    "retry bounds 1 s and 5 min");

	/* every 5 min: 1 s, 2 s, 4 s, ... up to 5 min. */
	mksearch(&s, 3, 300, 0);
	bad = 0;
	for (n = 1; n <= 24; n++) {
		base = SCHED_RETRY_MIN_MS;
		for (k = 1; k < n && base < SCHED_RETRY_MAX_MS; k++)
			base *= 2;
		if (base > SCHED_RETRY_MAX_MS)
			base = SCHED_RETRY_MAX_MS;
		for (k = 0; k < 20; k++) {
			d = sched_backoff(&s, n, 1, NULL);
			if (!in_band(d, base)) {
				if (bad++ == 0)
					diag("n %d: %lld not near %lld", n,
					    (long long)d, (long long)base);
			}
		}
	}
	is_int(0, bad, "doubling from 1 s to the cap, within 80%%..120%%");
	ok(in_band(sched_backoff(&s, 1, 1, NULL), 1000), "1 failure: ~1 s");
	ok(in_band(sched_backoff(&s, 2, 1, NULL), 2000), "2 failures: ~2 s");
	ok(in_band(sched_backoff(&s, 4, 1, NULL), 8000), "4 failures: ~8 s");
	ok(in_band(sched_backoff(&s, 1000, 1, NULL), 300000),
	    "many failures: capped at 5 min");

	/* The jitter does vary. */
	lo = hi = sched_backoff(&s, 10, 1, NULL);
	for (k = 0; k < 200; k++) {
		d = sched_backoff(&s, 10, 1, NULL);
		if (d < lo)
			lo = d;
		if (d > hi)
			hi = d;
	}
	ok(lo < hi && in_band(lo, 300000) && in_band(hi, 300000),
	    "jitter spreads the delays (%lld..%lld)", (long long)lo,
	    (long long)hi);

	/* Cap: min(5 min, max(60 s, every)). */
	mksearch(&s, 3, 10, 0);
	ok(in_band(sched_backoff(&s, 30, 1, NULL), 60000),
	    "every 10s: the cap is 60 s");
	mksearch(&s, 3, 120, 0);
	ok(in_band(sched_backoff(&s, 30, 1, NULL), 120000),
	    "every 2m: the cap is 2 min");
	mksearch(&s, 3, 86400, 0);
	ok(in_band(sched_backoff(&s, 30, 1, NULL), SCHED_RETRY_MAX_MS),
	    "every 1d: the cap is 5 min");

	/* Not retryable: the cap at once. */
	mksearch(&s, 3, 120, 0);
	ok(in_band(sched_backoff(&s, 1, 0, NULL), 120000),
	    "not retryable waits the cap");
	mksearch(&s, 3, 10, 0);
	ok(in_band(sched_backoff(&s, 1, 0, NULL), 60000),
	    "not retryable, every 10s: 60 s");

	/* Retry-After, in seconds, honoured when longer, capped at 1 h. */
	mksearch(&s, 3, 300, 0);
	is_int(120000, sched_backoff(&s, 1, 1, "120"), "Retry-After: 120");
	is_int(SCHED_RETRY_AFTER_MAX_MS, sched_backoff(&s, 1, 1, "86400"),
	    "Retry-After capped at 1 h");
	ok(in_band(sched_backoff(&s, 30, 1, "1"), 300000),
	    "a shorter Retry-After does not shorten the back-off");
	ok(in_band(sched_backoff(&s, 1, 1, "soon"), 1000),
	    "a bad Retry-After is ignored");
	ok(in_band(sched_backoff(&s, 1, 1, "0"), 1000),
	    "Retry-After 0 is ignored");
	ok(in_band(sched_backoff(&s, 1, 1, "-5"), 1000),
	    "a negative Retry-After is ignored");
	is_int(600000, sched_backoff(&s, 1, 0, "600"),
	    "Retry-After also applies when not retryable");
}

/* One classification of failures, for every driver. */
static void
test_classify(void)
{
	struct httpc_result	 res;
	static const long	 final[] = { 400, 404, 406, 422 };
	static const long	 retry[] = { 401, 403, 409, 413, 500, 501, 502,
	    507, 599, 302 };
	size_t			 i;
	int			 bad;

	for (bad = 0, i = 0; i < sizeof final / sizeof *final; i++)
		bad += sources_fail_status(final[i]) != SOURCE_FAIL_FINAL;
	is_int(0, bad, "400, 404, 406, 422 are final");
	for (bad = 0, i = 0; i < sizeof retry / sizeof *retry; i++)
		bad += sources_fail_status(retry[i]) != SOURCE_FAIL_RETRY;
	is_int(0, bad, "500, 502, other 5xx and 4xx: retry soon");
	is_int(SOURCE_FAIL_RETRY, sources_fail_status(500),
	    "500 is retried soon, not at the cap");
	is_int(SOURCE_FAIL_OVERLOAD, sources_fail_status(429), "429: overload");
	is_int(SOURCE_FAIL_OVERLOAD, sources_fail_status(503), "503: overload");
	is_int(SOURCE_FAIL_SLOW, sources_fail_status(504), "504: slow");
	is_int(SOURCE_FAIL_SLOW, sources_fail_status(408), "408: slow");

	memset(&res, 0, sizeof res);
	res.hr_error = "Connection reset by peer";
	is_int(SOURCE_FAIL_RETRY, sources_fail_http(&res), "a reset: retry");
	res.hr_timeout = 1;
	is_int(SOURCE_FAIL_SLOW, sources_fail_http(&res), "a timeout: slow");
	memset(&res, 0, sizeof res);
	res.hr_ok = 1;
	res.hr_status = 200;
	is_int(SOURCE_FAIL_RETRY, sources_fail_http(&res),
	    "200 with a bad body (garbage, truncated): retry");
	res.hr_status = 503;
	is_int(SOURCE_FAIL_OVERLOAD, sources_fail_http(&res),
	    "an answered 503: overload");
	res.hr_status = 404;
	is_int(SOURCE_FAIL_FINAL, sources_fail_http(&res),
	    "answered 404: final");
	ok(strcmp(sources_fail_name(SOURCE_FAIL_OVERLOAD), "overload") == 0 &&
	    strcmp(sources_fail_name(SOURCE_FAIL_SLOW), "slow") == 0,
	    "class names");
}

/* The back-off of each class. */
static void
test_backoff_class(void)
{
	struct search	 s;
	int		 c, bad = 0;

	/* every 1 h: a 500 retries in ~1 s, not at the 5 min cap. */
	mksearch(&s, 5, 3600, 0);
	for (c = SOURCE_FAIL_RETRY; c < SOURCE_FAIL_NCLASS; c++) {
		if (!in_band(sched_backoff(&s, 1, c, NULL), 1000))
			bad++;
		if (!in_band(sched_backoff(&s, 3, c, NULL), 4000))
			bad++;
	}
	is_int(0, bad, "retry, overload, slow: 1 s doubling");
	ok(in_band(sched_backoff(&s, 1, SOURCE_FAIL_FINAL, NULL),
	    SCHED_RETRY_MAX_MS), "final: the cap (5 min for every 1h)");
	mksearch(&s, 5, 1, 0);
	ok(in_band(sched_backoff(&s, 1, SOURCE_FAIL_RETRY, NULL), 250),
	    "every 1s, a 500: ~250 ms, within the interval (was ~57 s)");
	ok(in_band(sched_backoff(&s, 3, SOURCE_FAIL_RETRY, NULL), 1000),
	    "every 1s, 3 in a row: ~1 s");
	mksearch(&s, 5, 2, 0);
	ok(in_band(sched_backoff(&s, 1, SOURCE_FAIL_SLOW, NULL), 500),
	    "every 2s: a quarter, ~500 ms");
	mksearch(&s, 5, 60, 0);
	ok(in_band(sched_backoff(&s, 1, SOURCE_FAIL_RETRY, NULL), 1000),
	    "every 1m: ~1 s");
	mksearch(&s, 5, 1, 0);
	is_int(1000, sched_backoff(&s, 1, SOURCE_FAIL_OVERLOAD, "1") < 1000 ?
	    0 : 1000, "429 with Retry-After 1: at least 1 s");
	is_int(30000, sched_backoff(&s, 1, SOURCE_FAIL_OVERLOAD, "30"),
	    "429 with Retry-After 30: 30 s");
}

/* AIMD: the limit of runs at once against a source. */
static void
test_aimd(void)
{
	int64_t	 cut = 0, now = 1000000;
	int	 l, ai = 0, i, n;

	/* Overload halves, floor 1. */
	l = sources_adapt(32, 32, 0, SOURCE_FAIL_OVERLOAD, &ai, &cut, now - 10,
	    now);
	is_int(16, l, "a 429 halves 32 to 16");
	is_int(now, cut, "the cut is remembered");
	/* A burst: from runs sent before the cut, or within its second. */
	for (i = 0; i < 50; i++)
		l = sources_adapt(l, 32, 0, SOURCE_FAIL_OVERLOAD, &ai, &cut,
		    now - 5, now + 2000 + i);
	is_int(16, l, "50 429s of runs sent before the cut: still 16");
	for (i = 0; i < 50; i++)
		l = sources_adapt(l, 32, 0, SOURCE_FAIL_OVERLOAD, &ai, &cut,
		    now + 1, now + 10 * i);
	is_int(16, l, "50 429s within the second after it: still 16");
	/* A second later, from runs sent after it: halves again. */
	now += 1000;
	l = sources_adapt(l, 32, 0, SOURCE_FAIL_OVERLOAD, &ai, &cut, now - 50,
	    now);
	is_int(8, l, "a 429 a second later: 8");
	for (i = 0; i < 10; i++) {
		now += 1000;
		l = sources_adapt(l, 32, 0, SOURCE_FAIL_OVERLOAD, &ai, &cut,
		    now - 50, now);
	}
	is_int(1, l, "a lasting overload: down to the floor, 1");
	/* 500, garbage, resets, final answers: no signal. */
	l = 10;
	cut = 0;
	for (i = 0; i < 20; i++) {
		l = sources_adapt(l, 32, 0, SOURCE_FAIL_RETRY, &ai, &cut, now,
		    now);
		l = sources_adapt(l, 32, 0, SOURCE_FAIL_FINAL, &ai, &cut, now,
		    now);
	}
	is_int(10, l, "20 retry and 20 final failures leave the limit be");
	is_int(0, cut, "and cut nothing");
	/* Slow answers: one less a second, not below max / 2. */
	l = sources_adapt(32, 32, 0, SOURCE_FAIL_SLOW, &ai, &cut, now, now);
	is_int(31, l, "a timeout takes one off");
	for (i = 0; i < 100; i++) {
		now += 1000;
		l = sources_adapt(l, 32, 0, SOURCE_FAIL_SLOW, &ai, &cut,
		    now - 50, now);
	}
	is_int(16, l, "timeouts alone never go below max / 2");
	l = sources_adapt(1, 1, 0, SOURCE_FAIL_SLOW, &ai, &cut, now + 5000,
	    now + 5000);
	is_int(1, l, "max 1: stays 1");
	/* Additive increase: one per limit / 4 successes. */
	ai = 0;
	l = 4;
	for (n = 0; l < 8; n++)
		l = sources_adapt(l, 32, 1, 0, &ai, &cut, now, now);
	is_int(1 + 2 + 2 + 2, n, "4 to 8 takes 1+2+2+2 successes");
	for (n = 0; l < 32; n++)
		l = sources_adapt(l, 32, 1, 0, &ai, &cut, now, now);
	ok(n > 24 && n < 24 * 8, "8 to 32: %d successes, more than one each",
	    n);
	for (i = 0; i < 1000; i++)
		l = sources_adapt(l, 32, 1, 0, &ai, &cut, now, now);
	is_int(32, l, "grows back to max_concurrency, not past it");
	ai = 0;
	l = sources_adapt(1, 32, 1, 0, &ai, &cut, now, now);
	is_int(2, l, "from 1: one success gives 2");
	l = sources_adapt(40, 32, 1, 0, &ai, &cut, now, now);
	is_int(32, l, "a limit over a lowered max is brought down");
	/* 250 results a second, 20 % faults, a third of them overload. */
	l = 64;
	cut = 0;
	ai = 0;
	for (i = 0, n = 0; i < 15000; i++) {
		now += 4;
		if (i % 15 == 7)	/* 1 in 15: 429 or 503 */
			l = sources_adapt(l, 64, 0, SOURCE_FAIL_OVERLOAD, &ai,
			    &cut, now - 50, now);
		else if (i % 15 == 3)	/* slow */
			l = sources_adapt(l, 64, 0, SOURCE_FAIL_SLOW, &ai,
			    &cut, now - 2000, now);
		else if (i % 5 == 2)	/* 500, garbage, reset */
			l = sources_adapt(l, 64, 0, SOURCE_FAIL_RETRY, &ai,
			    &cut, now - 50, now);
		else
			l = sources_adapt(l, 64, 1, 0, &ai, &cut, now - 50,
			    now);
		n += l;
	}
	ok(n / 15000 >= 32, "under 20%% mixed faults the mean limit stays "
	    "high (%d of 64)", n / 15000);
}

int
main(void)
{
	plan(62 + 16 + 15 + 8 + 15);
	test_grid();
	test_new_search();
	test_checkpoint();
	test_catch_up();
	test_backoff();
	test_cron();
	test_classify();
	test_backoff_class();
	test_aimd();
	return (test_done());
}
