/*
 * util.c -- durations, times, byte order, hashing and UTF-8 helpers.
 */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/time.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "buf.h"
#include "log.h"
#include "util.h"

static int64_t	util_clock_shift;	/* ms added to the wall clock */

/* Current wall-clock time in ms since the epoch (plus the test offset). */
int64_t
util_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
	    util_clock_shift);
}

/* Current wall-clock time in seconds since the epoch. */
int64_t
util_now(void)
{
	return (util_now_ms() / 1000);
}

/* Shift the clock by ms (tests move time with this). */
void
util_clock_offset(int64_t ms)
{
	util_clock_shift = ms;
}

/* CPU time used by this process, in microseconds. */
int64_t
util_cpu_us(void)
{
	struct rusage	 ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return (0);
	return ((int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
	    (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec);
}

/* Parse a duration into ms. */
int
util_parse_duration_ms(const char *s, int64_t *out, const char **errstr)
{
	const char	*p = s;
	int64_t		 v = 0, unit;

	if (s == NULL || *s == '\0') {
		*errstr = "empty duration";
		return (-1);
	}
	if (!isdigit((unsigned char)*p)) {
		*errstr = "duration must start with a number";
		return (-1);
	}
	while (isdigit((unsigned char)*p)) {
		if (v > (INT64_MAX / 1000 / 604800 - 9) / 10) {
			*errstr = "duration too large";
			return (-1);
		}
		v = v * 10 + (*p++ - '0');
	}
	if (*p == '\0' || strcmp(p, "s") == 0)
		unit = 1000;
	else if (strcmp(p, "ms") == 0)
		unit = 1;
	else if (strcmp(p, "m") == 0)
		unit = 60 * 1000;
	else if (strcmp(p, "h") == 0)
		unit = 3600 * 1000;
	else if (strcmp(p, "d") == 0)
		unit = 86400 * 1000;
	else if (strcmp(p, "w") == 0)
		unit = 604800 * 1000LL;
	else {
		*errstr = "unknown duration unit (use ms, s, m, h, d or w)";
		return (-1);
	}
	*out = v * unit;
	return (0);
}

/* Parse a duration in whole seconds. */
int
util_parse_duration(const char *s, int64_t *out, const char **errstr)
{
	int64_t	 ms;

	if (util_parse_duration_ms(s, &ms, errstr) == -1)
		return (-1);
	if (ms % 1000 != 0) {
		*errstr = "duration must be a whole number of seconds";
		return (-1);
	}
	*out = ms / 1000;
	return (0);
}

/* Format seconds as the shortest exact duration string. */
void
util_fmt_duration(int64_t secs, char *out, size_t len)
{
	if (secs != 0 && secs % 604800 == 0)
		snprintf(out, len, "%lldw", (long long)(secs / 604800));
	else if (secs != 0 && secs % 86400 == 0)
		snprintf(out, len, "%lldd", (long long)(secs / 86400));
	else if (secs != 0 && secs % 3600 == 0)
		snprintf(out, len, "%lldh", (long long)(secs / 3600));
	else if (secs != 0 && secs % 60 == 0)
		snprintf(out, len, "%lldm", (long long)(secs / 60));
	else
		snprintf(out, len, "%llds", (long long)secs);
}

/* Read exactly n digits at *p into *v. */
static int
util_digits(const char **p, const char *end, int n, int *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (*p >= end || !isdigit((unsigned char)**p))
			return (-1);
		*v = *v * 10 + (**p - '0');
		(*p)++;
	}
	return (0);
}

/* Days since the epoch of a civil date (proleptic Gregorian). */
static int64_t
util_days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

/* Parse an RFC 3339 / ISO 8601 time into ms since the epoch. */
int
util_parse_time_ms(const char *s, size_t len, int64_t *out)
{
	const char	*p = s, *end = s + len;
	int		 y, mo, d, h = 0, mi = 0, se = 0, oh, om, sign;
	int64_t		 ms = 0, frac_scale = 100, off = 0;

	if (util_digits(&p, end, 4, &y) == -1 || p >= end || *p++ != '-' ||
	    util_digits(&p, end, 2, &mo) == -1 || p >= end || *p++ != '-' ||
	    util_digits(&p, end, 2, &d) == -1)
		return (-1);
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return (-1);
	if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
		p++;
		if (util_digits(&p, end, 2, &h) == -1 || p >= end ||
		    *p++ != ':' || util_digits(&p, end, 2, &mi) == -1)
			return (-1);
		if (p < end && *p == ':') {
			p++;
			if (util_digits(&p, end, 2, &se) == -1)
				return (-1);
		}
		if (p < end && (*p == '.' || *p == ',')) {
			p++;
			if (p >= end || !isdigit((unsigned char)*p))
				return (-1);
			while (p < end && isdigit((unsigned char)*p)) {
				ms += (*p - '0') * frac_scale;
				frac_scale /= 10;
				p++;
			}
		}
		if (h > 23 || mi > 59 || se > 60)
			return (-1);
		if (p < end && (*p == 'Z' || *p == 'z'))
			p++;
		else if (p < end && (*p == '+' || *p == '-')) {
			sign = *p++ == '-' ? -1 : 1;
			if (util_digits(&p, end, 2, &oh) == -1)
				return (-1);
			if (p < end && *p == ':')
				p++;
			if (util_digits(&p, end, 2, &om) == -1)
				return (-1);
			if (oh > 23 || om > 59)
				return (-1);
			off = sign * (oh * 3600 + om * 60);
		}
	}
	if (p != end)
		return (-1);
	*out = ((util_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    se - off) * 1000) + ms;
	return (0);
}

/* Format ms since the epoch as "2026-11-23T19:30:00Z". */
void
util_fmt_time(int64_t ms, char *out, size_t len)
{
	time_t		 t;
	struct tm	 tm;

	t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, len, "1970-01-01T00:00:00Z");
		return;
	}
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Format ms since the epoch as "2026-11-23T19:30:00.123Z". */
void
util_fmt_time_ms(int64_t ms, char *out, size_t len)
{
	time_t		 t;
	struct tm	 tm;
	char		 tmp[UTIL_TIMELEN];
	int64_t		 frac;

	t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	frac = ms - (int64_t)t * 1000;
	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, len, "1970-01-01T00:00:00.000Z");
		return;
	}
	strftime(tmp, sizeof tmp, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03dZ", tmp, (int)frac);
}

/* Parse a whole decimal int64 (optional sign); returns 0 or -1. */
int
util_parse_int64(const char *s, size_t len, int64_t *out)
{
	char	 tmp[32], *end;
	long long v;

	if (len == 0 || len >= sizeof tmp)
		return (-1);
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (!isdigit((unsigned char)tmp[0]) && tmp[0] != '-' && tmp[0] != '+')
		return (-1);
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno != 0 || *end != '\0' || end == tmp)
		return (-1);
	*out = v;
	return (0);
}

/* Parse a whole decimal uint64 within [0, max]; returns 0 or -1. */
int
util_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char			*end;
	unsigned long long	 v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return (-1);
	*out = v;
	return (0);
}

/* Store a big-endian 64-bit integer. */
void
util_be64_put(uint8_t *p, uint64_t v)
{
	int	 i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

/* Load a big-endian 64-bit integer. */
uint64_t
util_be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	int	 i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return (v);
}

/* Store a big-endian 32-bit integer. */
void
util_be32_put(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* Load a big-endian 32-bit integer. */
uint32_t
util_be32_get(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

/* FNV-1a 64-bit hash. */
uint64_t
util_hash(const void *p, size_t n)
{
	const uint8_t	*s = p;
	uint64_t	 h = 0xcbf29ce484222325ULL;

	while (n-- > 0) {
		h ^= *s++;
		h *= 0x100000001b3ULL;
	}
	return (h);
}

/* A 64-bit mix of one integer (splitmix64 finaliser). */
uint64_t
util_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return (x ^ (x >> 31));
}

/* A pseudo-random 64-bit number (not for secrets). */
uint64_t
util_random(void)
{
	static uint64_t	 state;

	if (state == 0)
		util_random_bytes(&state, sizeof state);
	state = util_mix64(state);
	return (state);
}

/* Fill a buffer from the kernel's random source; fatal on failure. */
void
util_random_bytes(void *p, size_t n)
{
	int	 fd;
	ssize_t	 r;
	size_t	 got = 0;

	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1)
		fatal("open /dev/urandom");
	while (got < n) {
		r = read(fd, (char *)p + got, n - got);
		if (r <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			fatal("read /dev/urandom");
		}
		got += r;
	}
	close(fd);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t
util_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char	 c = s[0];

	if (c < 0x80)
		return (1);
	if (c >= 0xc2 && c <= 0xdf) {
		if (n >= 2 && (s[1] & 0xc0) == 0x80)
			return (2);
		return (0);
	}
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return (0);
		if (c == 0xe0 && s[1] < 0xa0)
			return (0);	/* overlong */
		if (c == 0xed && s[1] >= 0xa0)
			return (0);	/* surrogate */
		return (3);
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return (0);
		if (c == 0xf0 && s[1] < 0x90)
			return (0);
		if (c == 0xf4 && s[1] >= 0x90)
			return (0);
		return (4);
	}
	return (0);
}

/* Append s, replacing invalid UTF-8 with U+FFFD; returns replacements. */
size_t
util_utf8_append(struct buf *b, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, start = 0, k, bad = 0;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		k = util_utf8_seq(p + i, n - i);
		if (k > 0) {
			i += k;
			continue;
		}
		buf_add(b, s + start, i - start);
		buf_add(b, "\xef\xbf\xbd", 3);
		bad++;
		i++;
		start = i;
	}
	buf_add(b, s + start, n - start);
	return (bad);
}

/* True when the n bytes are valid UTF-8. */
int
util_utf8_valid(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, k;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = util_utf8_seq(p + i, n - i)) == 0)
			return (0);
		i += k;
	}
	return (1);
}

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void
util_hex(const uint8_t *p, size_t n, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* SHA-256 of n bytes. */
void
util_sha256(const void *p, size_t n, uint8_t out[32])
{
	SHA256(p, n, out);
}

/* Compare two strings in time independent of where they differ. */
int
util_secure_equal(const char *a, const char *b)
{
	uint8_t	 ha[32], hb[32];

	/* Hash first so that the lengths do not leak through timing. */
	util_sha256(a, strlen(a), ha);
	util_sha256(b, strlen(b), hb);
	return (CRYPTO_memcmp(ha, hb, sizeof ha) == 0);
}

void
util_urlencode(struct buf *b, const char *s, size_t n, const char *keep)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 c;
	size_t			 i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (isalnum(c) || (c != '\0' && (strchr("-_.~", c) != NULL ||
		    (keep != NULL && strchr(keep, c) != NULL))))
			buf_addc(b, (char)c);
		else {
			buf_addc(b, '%');
			buf_addc(b, hex[c >> 4]);
			buf_addc(b, hex[c & 15]);
		}
	}
}
