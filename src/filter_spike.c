/*
 * filter_spike.c -- C11: at the end of a run, compare the window's count
 * (per key if given) with the mean of the previous windows.
 *
 *   {"type": "spike", "key": ["host"], "windows": 6, "ratio": 3,
 *    "direction": "up", "min_count": 10}
 *
 * A batch filter: each record that reaches it is counted (and consumed);
 * at the end of the run it makes one record per key whose count spiked:
 * the key fields, "count", "mean" (of the previous windows), "ratio",
 * "direction" ("up" or "down") and "windows".
 *
 *   up	count >= ratio * mean, and count >= min_count
 *   down	mean >= ratio * count, and mean >= min_count
 *
 * A key is judged only once it has "windows" previous windows of history
 * (a new search or a new key learns first).  Without "key" the whole run
 * is one key, counted even when nothing matched, so a drop to zero is
 * seen.  With "key", the known keys (at most SPIKE_KEYS_MAX, oldest
 * forgotten first) are remembered, and a known key missing from the
 * window counts 0.
 *
 * State (through fstate, so only a committed run moves it): per key, the
 * SHA-256 of its values (16 bytes) -> the last counts, be64 each, newest
 * last; under the key "k", the known keys' value tuples, NUL-separated.
 * Every committed run, scheduled or manual, adds one window.
 */
#include "autoconf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "filter.h"
#include "hmap.h"
#include "json.h"
#include "record.h"
#include "search.h"
#include "util.h"
#include "xmalloc.h"

#define SPIKE_WINDOWS_MAX	1000
#define SPIKE_KEYS_MAX		1000	/* keys remembered */
#define SPIKE_TUPLE_MAX		1024	/* bytes of a key's values */

struct spike {
	char		**s_keys;
	size_t		  s_nkeys;
	int64_t		  s_windows;
	double		  s_ratio;
	int		  s_up;
	int		  s_down;
	double		  s_min;
	int64_t		  s_to;		/* the run's window end */
	struct hmap	 *s_counts;	/* tuple -> uint64_t * */
	/* Tuples in the order first seen this run. */
	char		**s_order;
	size_t		  s_norder;
	size_t		  s_ordercap;
	struct buf	  s_buf;
	char		  s_summary[160];
};

static const char *const spike_options[] = {
	"key", "windows", "ratio", "direction", "min_count", NULL
};

static int	spike_validate(const struct json *, const char *,
		    struct search_err *);
static void	*spike_new(const struct json *, const struct filter_env *);
static enum filter_verdict spike_record(void *, struct fstate *, uint16_t,
		    struct record *, const char **);
static void	spike_batch(void *, struct fstate *, uint16_t,
		    struct filter_batch *, filter_batch_cb, void *);
static void	spike_free(void *);

const struct filter_ops filter_spike_ops = {
	.fo_name = "spike",
	.fo_validate = spike_validate,
	.fo_new = spike_new,
	.fo_record = spike_record,
	.fo_batch = spike_batch,
	.fo_free = spike_free
};

/* Check the options. */
static int
spike_validate(const struct json *f, const char *field,
    struct search_err *err)
{
	const struct json	*k, *o;
	int64_t			 v;
	double			 d;
	size_t			 i;

	if (filter_check_options(f, field, "spike", spike_options, err) == -1)
		return (-1);
	if ((k = json_get(f, "key")) != NULL) {
		if (k->j_type != JSON_ARRAY || json_len(k) == 0 ||
		    json_len(k) > 8)
			return (filter_fail(err, field, "key", "spike",
			    "must be a list of 1 to 8 field names"));
		for (i = 0; i < json_len(k); i++) {
			if (json_str(json_at(k, i)) == NULL ||
			    *json_str(json_at(k, i)) == '\0')
				return (filter_fail(err, field, "key", "spike",
				    "field names must be non-empty strings"));
		}
	}
	if ((o = json_get(f, "windows")) != NULL && (!json_int(o, &v) ||
	    v < 1 || v > SPIKE_WINDOWS_MAX))
		return (filter_fail(err, field, "windows", "spike",
		    "must be a whole number of previous windows, 1 to 1000"));
	o = json_get(f, "ratio");
	if (o == NULL)
		return (filter_fail(err, field, "ratio", "spike",
		    "is required (e.g. 3: three times the mean)"));
	if (!json_num(o, &d) || !(d > 1) || !isfinite(d))
		return (filter_fail(err, field, "ratio", "spike",
		    "must be a number greater than 1"));
	if ((o = json_get(f, "direction")) != NULL && (json_str(o) == NULL ||
	    (strcmp(json_str(o), "up") != 0 &&
	    strcmp(json_str(o), "down") != 0 &&
	    strcmp(json_str(o), "both") != 0)))
		return (filter_fail(err, field, "direction", "spike",
		    "must be \"up\", \"down\" or \"both\""));
	if ((o = json_get(f, "min_count")) != NULL && (!json_num(o, &d) ||
	    d < 0 || !isfinite(d)))
		return (filter_fail(err, field, "min_count", "spike",
		    "must be a number, 0 or more"));
	return (0);
}

/* An instance from validated options. */
static void *
spike_new(const struct json *f, const struct filter_env *env)
{
	struct spike		*s;
	const struct json	*k, *o;
	const char		*dir;
	size_t			 i;

	s = xcalloc(1, sizeof *s);
	if ((k = json_get(f, "key")) != NULL) {
		s->s_keys = xcalloc(json_len(k), sizeof *s->s_keys);
		for (i = 0; i < json_len(k); i++)
			s->s_keys[i] = xstrdup(json_str(json_at(k, i)));
		s->s_nkeys = json_len(k);
	}
	s->s_windows = 6;
	if ((o = json_get(f, "windows")) != NULL)
		(void)json_int(o, &s->s_windows);
	(void)json_num(json_get(f, "ratio"), &s->s_ratio);
	s->s_min = 1;
	if ((o = json_get(f, "min_count")) != NULL)
		(void)json_num(o, &s->s_min);
	dir = json_str(json_get(f, "direction"));
	if (dir == NULL || strcmp(dir, "up") == 0)
		s->s_up = 1;
	else if (strcmp(dir, "down") == 0)
		s->s_down = 1;
	else
		s->s_up = s->s_down = 1;
	s->s_to = env->fe_to;
	s->s_counts = hmap_new();
	return (s);
}

/* The count of tuple t (created at 0). */
static uint64_t *
spike_count(struct spike *s, const char *t, size_t tlen)
{
	uint64_t	*n;

	if ((n = hmap_get(s->s_counts, t, tlen)) != NULL)
		return (n);
	n = xcalloc(1, sizeof *n);
	hmap_put(s->s_counts, t, tlen, n);
	if (s->s_norder == s->s_ordercap) {
		s->s_ordercap = s->s_ordercap == 0 ? 16 : s->s_ordercap * 2;
		s->s_order = xreallocarray(s->s_order, s->s_ordercap,
		    sizeof *s->s_order);
	}
	s->s_order[s->s_norder++] = xmemdup(t, tlen + 1);
	return (n);
}

/* The key tuple of r as a JSON array text into s_buf. */
static void
spike_tuple(struct spike *s, const struct record *r)
{
	const char	*v;
	size_t		 i, n;

	buf_reset(&s->s_buf);
	buf_addc(&s->s_buf, '[');
	for (i = 0; i < s->s_nkeys; i++) {
		if ((v = record_get(r, s->s_keys[i], &n)) == NULL) {
			v = "null";
			n = 4;
		}
		if (i > 0)
			buf_addc(&s->s_buf, ',');
		buf_add(&s->s_buf, v, n);
	}
	buf_addc(&s->s_buf, ']');
	if (s->s_buf.b_len > SPIKE_TUPLE_MAX) {
		/* A giant value: its hash stands for it. */
		uint8_t	 sum[32];
		char	 hex[65];

		util_sha256(s->s_buf.b_data, s->s_buf.b_len, sum);
		util_hex(sum, sizeof sum, hex);
		buf_reset(&s->s_buf);
		buf_printf(&s->s_buf, "[\"sha256:%s\"]", hex);
	}
}

/* Count one record; it is consumed. */
static enum filter_verdict
spike_record(void *self, struct fstate *fs, uint16_t pos, struct record *r,
    const char **why)
{
	struct spike	*s = self;

	(void)fs;
	(void)pos;
	spike_tuple(s, r);
	(*spike_count(s, s->s_buf.b_data, s->s_buf.b_len))++;
	*why = "counted for the spike check";
	return (FILTER_DROP);
}

/* Load the known keys (tuples) from the state into the counts. */
static void
spike_known(struct spike *s, struct fstate *fs, uint16_t pos)
{
	const void	*v;
	const char	*p, *end, *nul;
	size_t		 vlen;
	char		*copy;

	if (fstate_get(fs, pos, "k", 1, &v, &vlen) != 0)
		return;
	copy = xmemdup(v, vlen);	/* v lives until the next fstate call */
	for (p = copy, end = copy + vlen; p < end; p = nul + 1) {
		if ((nul = memchr(p, '\0', end - p)) == NULL)
			break;
		if (nul > p && hmap_count(s->s_counts) < SPIKE_KEYS_MAX * 2)
			(void)spike_count(s, p, nul - p);
	}
	free(copy);
}

/* Add a number field to r. */
static void
spike_add_num(struct record *r, const char *k, double d)
{
	char	 t[64];

	if (!isfinite(d))
		record_add_str(r, k, d > 0 ? "+Inf" : "-Inf", 4);
	else {
		snprintf(t, sizeof t, "%.6g", d);
		record_add(r, k, strlen(k), t, strlen(t));
	}
}

/* The record of a key that spiked. */
static struct record *
spike_make(struct spike *s, const char *tuple, size_t tlen, uint64_t count,
    double mean, double ratio, const char *dir)
{
	struct record	*r;
	struct json	*j;
	size_t		 i;
	char		 err[64];

	r = record_new();
	r->r_nsrc = 0;			/* all made here */
	r->r_time = s->s_to > 0 ? s->s_to - 1 : 0;
	if (s->s_nkeys > 0 &&
	    (j = json_parse(tuple, tlen, err, sizeof err)) != NULL) {
		struct buf	 b = BUF_INIT;

		for (i = 0; i < s->s_nkeys && i < json_len(j); i++) {
			buf_reset(&b);
			json_canonical(json_at(j, i), &b);
			record_add(r, s->s_keys[i], strlen(s->s_keys[i]),
			    b.b_data, b.b_len);
		}
		buf_free(&b);
		json_free(j);
	}
	record_add_int(r, "count", (int64_t)count);
	spike_add_num(r, "mean", mean);
	spike_add_num(r, "ratio", ratio);
	record_add_str(r, "direction", dir, strlen(dir));
	record_add_int(r, "windows", s->s_windows);
	return (r);
}

/* The end of the run: judge every key, move the history on. */
static void
spike_batch(void *self, struct fstate *fs, uint16_t pos,
    struct filter_batch *b, filter_batch_cb done, void *arg)
{
	struct spike	*s = self;
	struct buf	 hist = BUF_INIT, known = BUF_INIT;
	uint8_t		 sum[32];
	const void	*v;
	const uint8_t	*p;
	const char	*t;
	size_t		 vlen, i, n, have, first, spiked = 0;
	uint64_t	 count, *cp;
	double		 mean, sumc, ratio;
	uint8_t		 be[8];

	if (s->s_nkeys == 0)
		(void)spike_count(s, "[]", 2);	/* counted even at zero */
	else if (fs != NULL)
		spike_known(s, fs, pos);
	/* Newest keys first when too many to remember. */
	first = s->s_norder > SPIKE_KEYS_MAX ? s->s_norder - SPIKE_KEYS_MAX :
	    0;
	for (i = 0; i < s->s_norder; i++) {
		t = s->s_order[i];
		n = strlen(t);
		cp = hmap_get(s->s_counts, t, n);
		count = *cp;
		util_sha256(t, n, sum);
		buf_reset(&hist);
		have = 0;
		if (fs != NULL && fstate_get(fs, pos, sum, 16, &v, &vlen) == 0) {
			buf_add(&hist, v, vlen - vlen % 8);
			have = hist.b_len / 8;
		}
		if (have >= (size_t)s->s_windows) {
			p = (const uint8_t *)hist.b_data +
			    (have - s->s_windows) * 8;
			sumc = 0;
			for (n = 0; n < (size_t)s->s_windows; n++)
				sumc += (double)util_be64_get(p + n * 8);
			mean = sumc / (double)s->s_windows;
			if (s->s_up && (double)count >= s->s_min &&
			    (double)count >= s->s_ratio * mean) {
				ratio = mean > 0 ? (double)count / mean :
				    INFINITY;
				filter_batch_add(b, spike_make(s, t, strlen(t),
				    count, mean, ratio, "up"));
				spiked++;
			} else if (s->s_down && mean >= s->s_min &&
			    mean >= s->s_ratio * (double)count) {
				ratio = count > 0 ? mean / (double)count :
				    INFINITY;
				filter_batch_add(b, spike_make(s, t, strlen(t),
				    count, mean, ratio, "down"));
				spiked++;
			}
		}
		/* This window joins the history (at most windows kept). */
		util_be64_put(be, count);
		buf_add(&hist, be, sizeof be);
		if (hist.b_len / 8 > (size_t)s->s_windows) {
			n = hist.b_len / 8 - s->s_windows;
			memmove(hist.b_data, hist.b_data + n * 8,
			    s->s_windows * 8);
			hist.b_len = s->s_windows * 8;
		}
		if (fs != NULL)
			fstate_put(fs, pos, sum, 16, hist.b_data, hist.b_len);
		if (s->s_nkeys > 0 && i >= first) {
			buf_adds(&known, t);
			buf_addc(&known, '\0');
		}
	}
	if (s->s_nkeys > 0 && fs != NULL)
		fstate_put(fs, pos, "k", 1, known.b_data == NULL ? "" :
		    known.b_data, known.b_len);
	buf_free(&hist);
	buf_free(&known);
	snprintf(s->s_summary, sizeof s->s_summary,
	    "%zu of %zu key%s spiked", spiked, s->s_norder,
	    s->s_norder == 1 ? "" : "s");
	done(arg, NULL, s->s_summary);
}

/* Free an instance. */
static void
spike_free(void *self)
{
	struct spike		*s = self;
	struct hmap_iter	 it = { 0 };
	void			*v;
	size_t			 i;

	for (i = 0; i < s->s_nkeys; i++)
		free(s->s_keys[i]);
	free(s->s_keys);
	while (hmap_next(s->s_counts, &it, NULL, NULL, &v))
		free(v);
	hmap_free(s->s_counts);
	for (i = 0; i < s->s_norder; i++)
		free(s->s_order[i]);
	free(s->s_order);
	buf_free(&s->s_buf);
	free(s);
}
