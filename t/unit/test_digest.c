/*
 * test_digest.c -- digest periods (hour, day, Monday 00:00 UTC), the
 * pending entries' layout and order in the store, and the weekly_summary
 * directive.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "buf.h"
#include "config.h"
#include "digest.h"
#include "store.h"
#include "tap.h"
#include "util.h"
#include "xmalloc.h"

/* ms of an RFC 3339 time, or bail. */
static int64_t
T(const char *s)
{
	int64_t	 ms;

	if (util_parse_time_ms(s, strlen(s), &ms) == -1)
		bail("bad time %s", s);
	return (ms);
}

/* is_string on the formatted time of ms. */
static void
is_time(int64_t ms, const char *want, const char *what)
{
	char	 t[64];

	util_fmt_time(ms, t, sizeof t);
	is_string(t, want, "%s", what);
}

static void
test_periods(void)
{
	int64_t	 t = T("2026-11-25T19:30:05.123Z");

	is_string(digest_name(SEARCH_DIGEST_HOURLY), "hourly", "hourly");
	is_string(digest_name(SEARCH_DIGEST_DAILY), "daily", "daily");
	is_time(digest_period_start(t, SEARCH_DIGEST_HOURLY),
	    "2026-11-25T19:00:00Z", "the hour of 19:30:05");
	is_time(digest_period_start(T("2026-11-25T19:00:00Z"),
	    SEARCH_DIGEST_HOURLY), "2026-11-25T19:00:00Z",
	    "an hour boundary is its own start");
	is_time(digest_period_start(T("2026-11-25T18:59:59.999Z"),
	    SEARCH_DIGEST_HOURLY), "2026-11-25T18:00:00Z",
	    "a ms before it is in the hour before");
	is_time(digest_period_start(t, SEARCH_DIGEST_DAILY),
	    "2026-11-25T00:00:00Z", "the day starts at 00:00 UTC");
	is_time(digest_period_start(T("2026-11-26T00:00:00Z") - 1,
	    SEARCH_DIGEST_DAILY), "2026-11-25T00:00:00Z", "23:59:59.999");
	is_int(digest_period_start(t, SEARCH_DIGEST_NONE), t,
	    "no digest: now");
	is_int(digest_period_start(-1, SEARCH_DIGEST_HOURLY),
	    -DIGEST_HOUR_MS, "before 1970 rounds down");

	is_time(digest_week_start(t), "2026-11-23T00:00:00Z",
	    "Wednesday: the Monday before");
	is_time(digest_week_start(T("2026-11-23T00:00:00Z")),
	    "2026-11-23T00:00:00Z", "Monday 00:00 is its own week");
	is_time(digest_week_start(T("2026-11-23T00:00:00Z") - 1),
	    "2026-11-16T00:00:00Z", "Sunday 23:59:59.999: the week before");
	is_time(digest_week_start(T("2026-11-29T12:00:00Z")),
	    "2026-11-23T00:00:00Z", "Sunday noon");
	is_time(digest_week_start(0), "1969-12-29T00:00:00Z",
	    "1970-01-01 (a Thursday)");
}

struct adds {
	int	 rc_long;
};

static int
add_apply(struct store_txn *txn, void *arg)
{
	(void)arg;
	if (digest_pending_add(txn, 7, "mailx", 3, 1000) == -1 ||
	    digest_pending_add(txn, 7, "mail", 4, 2000) == -1 ||
	    digest_pending_add(txn, 6, "mailx", 9, 3000) == -1 ||
	    digest_pending_add(txn, 7, "mailx", 2, 4000) == -1)
		return (-1);
	return (0);
}

/* A target name too long for a key: refused, the transaction fails. */
static int
long_apply(struct store_txn *txn, void *arg)
{
	struct adds	*a = arg;
	char		 longname[300];

	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	a->rc_long = digest_pending_add(txn, 7, longname, 1, 0);
	return (a->rc_long);
}

static void
test_pending(void)
{
	struct event_base	*base;
	struct store		*s;
	struct store_txn	*txn;
	struct store_cursor	*c;
	struct adds		 a = { 0 };
	const void		*k, *v;
	const uint8_t		*kb;
	size_t			 klen, vlen, n = 0;
	char			*dir, err[256], got[256];
	struct buf		 order = BUF_INIT;
	int			 rc;

	if ((base = event_base_new()) == NULL)
		bail("event_base_new");
	dir = xprintf("%s/digest-store", test_tmpdir());
	if ((s = store_open(base, dir, err, sizeof err)) == NULL)
		bail("store_open: %s", err);
	ok(store_update(s, add_apply, &a, err, sizeof err) == 0,
	    "pending entries written");
	ok(store_update(s, long_apply, &a, err, sizeof err) == -1,
	    "a too long target name fails the write");
	is_int(a.rc_long, -1, "... refused by digest_pending_add");
	ok(strstr(err, "too long") != NULL, "... saying so: %s", err);
	txn = store_read(s);
	c = store_cursor(txn, STORE_DIGEST_PENDING);
	for (rc = store_cursor_seek(c, NULL, 0, &k, &klen, &v, &vlen);
	    rc == 0; rc = store_cursor_next(c, &k, &klen, &v, &vlen)) {
		kb = k;
		n++;
		if (klen < 17 || kb[klen - 9] != '\0' || vlen != 8)
			continue;
		snprintf(got, sizeof got, "%llu/%s/%llu@%llu ",
		    (unsigned long long)util_be64_get(kb), (const char *)kb + 8,
		    (unsigned long long)util_be64_get(kb + klen - 8),
		    (unsigned long long)util_be64_get(v));
		buf_adds(&order, got);
	}
	is_int(n, 4, "four entries");
	buf_addc(&order, '\0');
	is_string(order.b_data, "6/mailx/9@3000 7/mail/4@2000 7/mailx/2@4000 "
	    "7/mailx/3@1000 ", "by search, target, alert; value: when");
	store_cursor_free(c);
	store_done(txn);
	buf_free(&order);
	store_close(s);
	event_base_free(base);
	free(dir);
}

/* The first error of text, or "(parsed OK)"; *nweekly when parsed. */
static char *
parse_err(const char *text, size_t *nweekly)
{
	struct config_errors	 errs;
	struct config		*c;
	char			*s;

	c = config_parse("t.conf", text, strlen(text), CONFIG_411D, &errs);
	if (c != NULL) {
		*nweekly = c->c_nweekly;
		config_free(c);
		return (xstrdup("(parsed OK)"));
	}
	s = xstrdup(errs.ce_n > 0 ? errs.ce_lines[0] : "none");
	config_errors_free(&errs);
	return (s);
}

static void
test_config(void)
{
	size_t	 n = 0;
	char	*e;

	e = parse_err("weekly_summary m\nweekly_summary n\n"
	    "target m email\ntarget n email\n", &n);
	is_string(e, "(parsed OK)", "two weekly_summary targets");
	is_int(n, 2, "... both kept");
	free(e);
	e = parse_err("weekly_summary m\n", &n);
	is_string(e, "t.conf: weekly_summary: no target \"m\"",
	    "an unknown target");
	free(e);
	e = parse_err("target h webhook\nweekly_summary h\n", &n);
	is_string(e, "t.conf: weekly_summary: target \"h\" is of type "
	    "webhook, not email", "a webhook target");
	free(e);
	e = parse_err("target m email\nweekly_summary m\nweekly_summary m\n",
	    &n);
	is_string(e, "t.conf:3: weekly_summary: target \"m\" is named twice",
	    "named twice");
	free(e);
}

int
main(void)
{
	plan(25);
	test_periods();
	test_pending();
	test_config();
	return (test_done());
}
