/*
 * cron.c -- 5-field cron expressions: parsing, and the next and previous
 * fire times in a time zone.
 *
 * Local time comes from the C library: TZ is set to the cron's zone, then
 * tzset() and localtime_r(), and the previous TZ is put back before
 * returning.  That reuses the system's tz database reader, with its
 * footer rules for future years, instead of a second TZif parser here;
 * the price is that the calls must not race with other threads reading
 * the environment or local time, which holds in 411d (one event loop
 * thread; curl's resolver threads read neither TZ nor local time).
 *
 * A fire is a matching local wall-clock minute W mapped to an instant:
 * the instant when W occurs (the first one when it occurs twice), or,
 * when W falls in a gap, the end of the gap.  That map never decreases
 * with W, so the next fire after t is the first matching W from t's own
 * wall-clock minute on whose instant is after t, and the previous one the
 * last matching W, from a few hours past t's wall clock backwards, whose
 * instant is at or before t.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cron.h"
#include "xmalloc.h"

#define CRON_FIELDS		5
/* Days scanned for a match: more than any gap between matching days. */
#define CRON_SCAN_DAYS		(401 * 366)
/* How far a zone's offset can jump, minutes (with a margin). */
#define CRON_SHIFT_MIN		180
#define CRON_TZ_DEFAULT		"UTC"
#define CRON_TZDIR		"/usr/share/zoneinfo"

struct cron {
	uint64_t	 c_minute;	/* bit n: minute n */
	uint32_t	 c_hour;
	uint32_t	 c_dom;		/* bits 1-31 */
	uint16_t	 c_month;	/* bits 1-12 */
	uint8_t		 c_dow;		/* bits 0-6, Sunday 0 */
	int		 c_dom_star;	/* the field starts with "*" */
	int		 c_dow_star;
	char		*c_tz;		/* value for TZ */
	int64_t		 c_interval;	/* ms */
};

struct cron_field {
	const char	*f_name;
	int		 f_min;
	int		 f_max;
	const char	*const *f_names;	/* f_names[0] is f_min */
};

static const char *const cron_months[] = { "jan", "feb", "mar", "apr",
    "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const cron_days[] = { "sun", "mon", "tue", "wed", "thu",
    "fri", "sat", NULL };

static const struct cron_field cron_fields[CRON_FIELDS] = {
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day-of-month", 1, 31, NULL },
	{ "month", 1, 12, cron_months },
	{ "day-of-week", 0, 7, cron_days },
};

static int	 cron_value(const struct cron_field *, const char *, size_t,
		    int *, char *, size_t);
static int	 cron_field_parse(const struct cron_field *, const char *,
		    size_t, uint64_t *, char *, size_t);
static int64_t	 cron_days_from_civil(int64_t, int, int);
static void	 cron_civil_from_days(int64_t, int64_t *, int *, int *);
static int	 cron_day_match(const struct cron *, int64_t);
static int	 cron_tz_check(const char *);
static char	*cron_tz_enter(const struct cron *);
static void	 cron_tz_leave(char *);
static long	 cron_offset(int64_t);
static int64_t	 cron_resolve(int64_t, int);
static int64_t	 cron_scan(const struct cron *, int64_t, int);

/* floor(a / b) for b > 0. */
static int64_t
cron_floordiv(int64_t a, int64_t b)
{
	return (a >= 0 ? a / b : -((-a + b - 1) / b));
}

/* One value of field f: a number or a name.  Returns 0 or -1 with err. */
static int
cron_value(const struct cron_field *f, const char *p, size_t n, int *v,
    char *err, size_t errlen)
{
	size_t	 i;
	int	 x = 0;

	if (n == 0) {
		snprintf(err, errlen, "%s: a value is missing", f->f_name);
		return (-1);
	}
	if (isdigit((unsigned char)p[0])) {
		for (i = 0; i < n; i++) {
			if (!isdigit((unsigned char)p[i]) || x > 1000) {
				snprintf(err, errlen, "%s: \"%.*s\" is not a "
				    "number", f->f_name, (int)n, p);
				return (-1);
			}
			x = x * 10 + (p[i] - '0');
		}
		if (x < f->f_min || x > f->f_max) {
			snprintf(err, errlen, "%s: %.*s is out of range %d-%d",
			    f->f_name, (int)n, p, f->f_min, f->f_max);
			return (-1);
		}
		*v = x;
		return (0);
	}
	if (f->f_names != NULL && n == 3) {
		for (i = 0; f->f_names[i] != NULL; i++) {
			if (strncasecmp(f->f_names[i], p, 3) == 0) {
				*v = f->f_min + (int)i;
				return (0);
			}
		}
	}
	snprintf(err, errlen, "%s: \"%.*s\" is not a valid value", f->f_name,
	    (int)n, p);
	return (-1);
}

/* Parse one field (p, n) into the bits of *set.  Returns 0 or -1. */
static int
cron_field_parse(const struct cron_field *f, const char *p, size_t n,
    uint64_t *set, char *err, size_t errlen)
{
	const char	*item, *end = p + n, *comma, *dash, *slash, *q;
	int		 lo, hi, step, v;
	size_t		 len;

	*set = 0;
	for (item = p; item <= end; item = comma + 1) {
		comma = memchr(item, ',', (size_t)(end - item));
		if (comma == NULL)
			comma = end;
		len = (size_t)(comma - item);
		if (len == 0) {
			snprintf(err, errlen, "%s: an empty item in \"%.*s\"",
			    f->f_name, (int)n, p);
			return (-1);
		}
		slash = memchr(item, '/', len);
		q = slash != NULL ? slash : comma;
		step = 1;
		if (slash != NULL) {
			if (cron_value(&(struct cron_field){ f->f_name, 1,
			    1000, NULL }, slash + 1, (size_t)(comma - slash - 1),
			    &step, err, errlen) == -1) {
				snprintf(err, errlen, "%s: bad step in \"%.*s\"",
				    f->f_name, (int)len, item);
				return (-1);
			}
		}
		if (q - item == 1 && item[0] == '*') {
			lo = f->f_min;
			hi = f->f_max == 7 ? 6 : f->f_max;
		} else {
			dash = memchr(item, '-', (size_t)(q - item));
			if (dash != NULL) {
				if (cron_value(f, item, (size_t)(dash - item),
				    &lo, err, errlen) == -1 ||
				    cron_value(f, dash + 1,
				    (size_t)(q - dash - 1), &hi, err,
				    errlen) == -1)
					return (-1);
				if (lo > hi) {
					snprintf(err, errlen, "%s: \"%.*s\" "
					    "starts after it ends", f->f_name,
					    (int)(q - item), item);
					return (-1);
				}
			} else {
				if (cron_value(f, item, (size_t)(q - item),
				    &lo, err, errlen) == -1)
					return (-1);
				hi = slash != NULL ? f->f_max : lo;
			}
		}
		for (v = lo; v <= hi; v += step)
			*set |= 1ULL << (f->f_max == 7 && v == 7 ? 0 : v);
		if (comma == end)
			break;
	}
	return (0);
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
cron_days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = cron_floordiv(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

/* The date of a day number. */
static void
cron_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	 era, doe, yoe, doy, mp;

	z += 719468;
	era = cron_floordiv(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Does day number z match the day fields? */
static int
cron_day_match(const struct cron *c, int64_t z)
{
	int64_t	 y;
	int	 m, d, dow, dom_ok, dow_ok;

	cron_civil_from_days(z, &y, &m, &d);
	if ((c->c_month & (1U << m)) == 0)
		return (0);
	dow = (int)(((z % 7) + 11) % 7);	/* 1970-01-01 was a Thursday */
	dom_ok = (c->c_dom & (1U << d)) != 0;
	dow_ok = (c->c_dow & (1U << dow)) != 0;
	if (!c->c_dom_star && !c->c_dow_star)
		return (dom_ok || dow_ok);
	return (dom_ok && dow_ok);
}

/* Is name a zone of the tz database?  Returns 0 or -1. */
static int
cron_tz_check(const char *name)
{
	char		 path[512], magic[4];
	const char	*dir, *p;
	int		 fd;
	ssize_t		 n;

	if (name[0] == '\0' || name[0] == '/' || strlen(name) > 200 ||
	    strstr(name, "..") != NULL)
		return (-1);
	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("/_-+", *p) == NULL)
			return (-1);
	if ((dir = getenv("TZDIR")) == NULL || *dir == '\0')
		dir = CRON_TZDIR;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY)) == -1)
		return (-1);
	n = read(fd, magic, sizeof magic);
	close(fd);
	if (n != (ssize_t)sizeof magic || memcmp(magic, "TZif", 4) != 0)
		return (-1);
	return (0);
}

/* Switch TZ to c's zone; returns what to give cron_tz_leave. */
static char *
cron_tz_enter(const struct cron *c)
{
	const char	*old = getenv("TZ");
	char		*saved;

	saved = old != NULL ? xstrdup(old) : NULL;
	setenv("TZ", c->c_tz, 1);
	tzset();
	return (saved);
}

/* Put TZ back as it was. */
static void
cron_tz_leave(char *saved)
{
	if (saved != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}

/* The zone's offset from UTC (seconds) at instant t (seconds). */
static long
cron_offset(int64_t t)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	if (localtime_r(&tt, &tm) == NULL)
		return (0);
	return (tm.tm_gmtoff);
}

/*
 * The instant (seconds) of local wall time z (day number) + mod (minute
 * of the day): the first when it occurs twice, the end of the gap when it
 * does not occur.  Offsets are taken a day either side: zones change at
 * most once in two days.
 */
static int64_t
cron_resolve(int64_t z, int mod)
{
	int64_t	 u, i, best = -1, lo, hi, mid;
	long	 a, b, o[2];
	int	 k;

	u = z * 86400 + (int64_t)mod * 60;
	a = cron_offset(u - 86400);
	b = cron_offset(u + 86400);
	o[0] = a;
	o[1] = b;
	for (k = 0; k < 2; k++) {
		i = u - o[k];
		if (cron_offset(i) == o[k] && (best == -1 || i < best))
			best = i;
	}
	if (best != -1 || a >= b)
		return (best != -1 ? best : u - a);
	/* A gap: find the first instant on the new offset. */
	lo = u - b;
	hi = u - a;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (cron_offset(mid) == b)
			hi = mid;
		else
			lo = mid;
	}
	return (cron_floordiv(hi + 59, 60) * 60);
}

/*
 * The first fire after t (dir 1) or the last at or before t (dir -1),
 * seconds, or -1.  TZ must be the cron's zone.
 */
static int64_t
cron_scan(const struct cron *c, int64_t t, int dir)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;
	int64_t		 z, n, f, mod0;
	int		 mod, h;

	if (localtime_r(&tt, &tm) == NULL)
		return (-1);
	z = cron_days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday);
	mod0 = tm.tm_hour * 60 + tm.tm_min;
	if (dir < 0) {
		mod0 += CRON_SHIFT_MIN;
		z += mod0 / 1440;
		mod0 %= 1440;
	}
	for (n = 0; n < CRON_SCAN_DAYS; n++, z += dir) {
		if (!cron_day_match(c, z))
			continue;
		mod = n == 0 ? (int)mod0 : (dir > 0 ? 0 : 1439);
		for (; mod >= 0 && mod < 1440; mod += dir) {
			h = mod / 60;
			if ((c->c_hour & (1U << h)) == 0) {
				mod = dir > 0 ? h * 60 + 59 : h * 60;
				continue;
			}
			if ((c->c_minute & (1ULL << (mod % 60))) == 0)
				continue;
			f = cron_resolve(z, mod);
			if (dir > 0 ? f > t : f <= t)
				return (f);
		}
	}
	return (-1);
}

struct cron *
cron_new(const char *spec, const char *tz, int *what, char *err,
    size_t errlen)
{
	struct cron	*c;
	const char	*p = spec, *start[CRON_FIELDS], *q;
	size_t		 len[CRON_FIELDS];
	uint64_t	 set;
	int64_t		 z, t, f, g;
	int		 n = 0, i, any;
	char		*saved;

	*what = CRON_ERR_SPEC;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		q = p;
		while (*q != '\0' && *q != ' ' && *q != '\t')
			q++;
		if (n < CRON_FIELDS) {
			start[n] = p;
			len[n] = (size_t)(q - p);
		}
		n++;
		p = q;
	}
	if (n != CRON_FIELDS) {
		snprintf(err, errlen, "expected 5 fields (minute hour "
		    "day-of-month month day-of-week), got %d", n);
		return (NULL);
	}
	c = xcalloc(1, sizeof *c);
	for (i = 0; i < CRON_FIELDS; i++) {
		if (cron_field_parse(&cron_fields[i], start[i], len[i], &set,
		    err, errlen) == -1)
			goto fail;
		switch (i) {
		case 0:
			c->c_minute = set;
			break;
		case 1:
			c->c_hour = (uint32_t)set;
			break;
		case 2:
			c->c_dom = (uint32_t)set;
			c->c_dom_star = start[i][0] == '*';
			break;
		case 3:
			c->c_month = (uint16_t)set;
			break;
		case 4:
			c->c_dow = (uint8_t)set;
			c->c_dow_star = start[i][0] == '*';
			break;
		}
	}
	/* Some day must match: the calendar repeats every 400 years. */
	z = cron_days_from_civil(2000, 1, 1);
	for (any = 0, i = 0; i < 146097 && !any; i++)
		any = cron_day_match(c, z + i);
	if (!any) {
		snprintf(err, errlen, "day-of-month: no day of the months "
		    "given matches");
		goto fail;
	}

	if (tz == NULL || strcmp(tz, CRON_TZ_DEFAULT) == 0)
		c->c_tz = xstrdup("UTC0");
	else if (cron_tz_check(tz) == -1) {
		*what = CRON_ERR_TZ;
		snprintf(err, errlen, "unknown time zone \"%.64s\"", tz);
		goto fail;
	} else
		c->c_tz = xstrdup(tz);

	/* The shortest gap over a few fires from 2026-01-05 (a Monday). */
	saved = cron_tz_enter(c);
	t = cron_days_from_civil(2026, 1, 5) * 86400;
	c->c_interval = -1;
	f = cron_scan(c, t, 1);
	for (i = 0; i < 8 && f != -1; i++) {
		g = cron_scan(c, f, 1);
		if (g != -1 && (c->c_interval == -1 ||
		    (g - f) * 1000 < c->c_interval))
			c->c_interval = (g - f) * 1000;
		f = g;
	}
	cron_tz_leave(saved);
	if (c->c_interval <= 0)
		c->c_interval = 86400 * 1000;
	return (c);

fail:
	cron_free(c);
	return (NULL);
}

void
cron_free(struct cron *c)
{
	if (c == NULL)
		return;
	free(c->c_tz);
	free(c);
}

int64_t
cron_next(const struct cron *c, int64_t t)
{
	char	*saved;
	int64_t	 f;

	saved = cron_tz_enter(c);
	f = cron_scan(c, cron_floordiv(t, 1000), 1);
	cron_tz_leave(saved);
	return (f == -1 ? -1 : f * 1000);
}

int64_t
cron_prev(const struct cron *c, int64_t t)
{
	char	*saved;
	int64_t	 f;

	saved = cron_tz_enter(c);
	f = cron_scan(c, cron_floordiv(t, 1000), -1);
	cron_tz_leave(saved);
	return (f == -1 ? -1 : f * 1000);
}

int64_t
cron_interval(const struct cron *c)
{
	return (c->c_interval);
}
