/*
 * filter_dedupe.c -- C1: drop a record when another with the same key
 * passed within a period.
 *
 *   {"type": "dedupe", "key": ["src_ip", "user"], "within": "1h"}
 *
 * The key is the JSON values of the named fields (a missing field counts
 * as null); without "key" it is the whole content.  The state is the
 * event time of the last record that passed, per key (SHA-256 of the key,
 * truncated to 16 bytes), so a replayed window decides the same way.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "filter.h"
#include "json.h"
#include "record.h"
#include "search.h"
#include "util.h"
#include "xmalloc.h"

#define DEDUPE_DEFAULT_WITHIN	86400	/* seconds */

struct dedupe {
	char		**d_keys;
	size_t		  d_nkeys;
	int64_t		  d_within;	/* ms */
	int64_t		  d_now;
	struct buf	  d_buf;
	char		  d_why[160];
};

static int	dedupe_validate(const struct json *, const char *,
		    struct search_err *);
static void	*dedupe_new(const struct json *, const struct filter_env *);
static enum filter_verdict dedupe_record(void *, struct fstate *, uint16_t,
		    struct record *, const char **);
static void	dedupe_free(void *);

const struct filter_ops filter_dedupe_ops = {
	.fo_name = "dedupe",
	.fo_validate = dedupe_validate,
	.fo_new = dedupe_new,
	.fo_record = dedupe_record,
	.fo_free = dedupe_free
};

/* Fill err with field.sub and a message; returns -1. */
static int
dedupe_fail(struct search_err *err, const char *field, const char *sub,
    const char *msg)
{
	snprintf(err->se_field, sizeof err->se_field, "%s%s%s", field,
	    sub ? "." : "", sub ? sub : "");
	snprintf(err->se_message, sizeof err->se_message, "dedupe: %s", msg);
	return (-1);
}

static const char *const dedupe_options[] = { "key", "within", NULL };

/* Check the options. */
static int
dedupe_validate(const struct json *f, const char *field,
    struct search_err *err)
{
	const struct json	*k, *w;
	const char		*e;
	int64_t			 v;
	size_t			 i;

	if (filter_check_options(f, field, "dedupe", dedupe_options, err) == -1)
		return (-1);
	k = json_get(f, "key");
	if (k != NULL) {
		if (k->j_type != JSON_ARRAY || json_len(k) == 0 ||
		    json_len(k) > 32)
			return (dedupe_fail(err, field, "key",
			    "must be a list of 1 to 32 field names"));
		for (i = 0; i < json_len(k); i++) {
			if (json_str(json_at(k, i)) == NULL ||
			    *json_str(json_at(k, i)) == '\0')
				return (dedupe_fail(err, field, "key",
				    "field names must be non-empty strings"));
		}
	}
	w = json_get(f, "within");
	if (w != NULL) {
		if (json_str(w) != NULL) {
			if (util_parse_duration(json_str(w), &v, &e) == -1)
				return (dedupe_fail(err, field, "within", e));
		} else if (!json_int(w, &v))
			return (dedupe_fail(err, field, "within",
			    "must be a duration such as \"1h\""));
		if (v < 1)
			return (dedupe_fail(err, field, "within",
			    "must be at least 1s"));
	}
	return (0);
}

/* An instance from validated options. */
static void *
dedupe_new(const struct json *f, const struct filter_env *env)
{
	int64_t			 now = env->fe_now;
	struct dedupe		*d;
	const struct json	*k, *w;
	const char		*e;
	int64_t			 v = DEDUPE_DEFAULT_WITHIN;
	size_t			 i;

	d = xcalloc(1, sizeof *d);
	d->d_now = now;
	if ((k = json_get(f, "key")) != NULL && json_len(k) > 0) {
		d->d_keys = xcalloc(json_len(k), sizeof *d->d_keys);
		for (i = 0; i < json_len(k); i++)
			d->d_keys[i] = xstrdup(json_str(json_at(k, i)));
		d->d_nkeys = json_len(k);
	}
	if ((w = json_get(f, "within")) != NULL) {
		if (json_str(w) != NULL)
			(void)util_parse_duration(json_str(w), &v, &e);
		else
			(void)json_int(w, &v);
	}
	d->d_within = v * 1000;
	return (d);
}

/* Build the key bytes of r into d_buf. */
static void
dedupe_key(struct dedupe *d, const struct record *r)
{
	const char	*v;
	size_t		 i, n, klen;
	size_t		*idx;

	buf_reset(&d->d_buf);
	if (d->d_nkeys > 0) {
		for (i = 0; i < d->d_nkeys; i++) {
			if ((v = record_get(r, d->d_keys[i], &n)) == NULL) {
				v = "null";
				n = 4;
			}
			buf_add(&d->d_buf, v, n);
			buf_addc(&d->d_buf, '\0');
		}
		return;
	}
	/* The whole content, keys in sorted order. */
	n = record_count(r);
	if (n == 0)
		return;
	idx = xcalloc(n, sizeof *idx);
	for (i = 0; i < n; i++)
		idx[i] = i;
	for (i = 1; i < n; i++) {		/* insertion sort: n is small */
		size_t j = i, t = idx[i], la, lb;
		const char *ka, *kb;

		while (j > 0) {
			ka = record_key(r, idx[j - 1], &la);
			kb = record_key(r, t, &lb);
			if (memcmp(ka, kb, la < lb ? la : lb) < 0 ||
			    (memcmp(ka, kb, la < lb ? la : lb) == 0 &&
			    la <= lb))
				break;
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = t;
	}
	for (i = 0; i < n; i++) {
		v = record_key(r, idx[i], &klen);
		buf_add(&d->d_buf, v, klen);
		buf_addc(&d->d_buf, '\0');
		v = record_val(r, idx[i], &klen);
		buf_add(&d->d_buf, v, klen);
		buf_addc(&d->d_buf, '\0');
	}
	free(idx);
}

/* Decide on one record. */
static enum filter_verdict
dedupe_record(void *self, struct fstate *fs, uint16_t pos, struct record *r,
    const char **why)
{
	struct dedupe	*d = self;
	uint8_t		 sum[32], val[8];
	const void	*old;
	size_t		 oldlen;
	int64_t		 t, last = 0, age;
	int		 have_last = 0;
	char		 ago[32];

	dedupe_key(d, r);
	util_sha256(d->d_buf.b_data == NULL ? "" : d->d_buf.b_data,
	    d->d_buf.b_len, sum);
	t = filter_record_time(r, d->d_now);
	if (fstate_get(fs, pos, sum, 16, &old, &oldlen) == 0 && oldlen == 8) {
		have_last = 1;
		last = (int64_t)util_be64_get(old);
		age = t >= last ? t - last : last - t;
		if (age < d->d_within) {
			util_fmt_duration(age / 1000, ago, sizeof ago);
			snprintf(d->d_why, sizeof d->d_why,
			    "a record with the same key passed %s %s",
			    ago, t >= last ? "before" : "after");
			*why = d->d_why;
			return (FILTER_DROP);
		}
	}
	/* A late record does not move the state back in time. */
	if (have_last && last > t)
		t = last;
	util_be64_put(val, (uint64_t)t);
	fstate_put(fs, pos, sum, 16, val, sizeof val);
	return (FILTER_KEEP);
}

/* Free an instance. */
static void
dedupe_free(void *self)
{
	struct dedupe	*d = self;
	size_t		 i;

	for (i = 0; i < d->d_nkeys; i++)
		free(d->d_keys[i]);
	free(d->d_keys);
	buf_free(&d->d_buf);
	free(d);
}
