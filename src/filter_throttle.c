/*
 * filter_throttle.c -- C2: let at most N records through per period.
 *
 *   {"type": "throttle", "count": 20, "per": "1h", "key": ["host"]}
 *
 * Periods are fixed, aligned to the epoch (floor(time / per)), counted by
 * the records' event times, so a replayed window decides the same way.
 * With "key" the budget is per value of those fields.  The state per key
 * is the period index and the count passed in it.
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

struct throttle {
	int64_t		  t_count;
	int64_t		  t_per;	/* ms */
	char		**t_keys;
	size_t		  t_nkeys;
	int64_t		  t_now;
	struct buf	  t_buf;
	char		  t_why[160];
};

static int	throttle_validate(const struct json *, const char *,
		    struct search_err *);
static void	*throttle_new(const struct json *, const struct filter_env *);
static enum filter_verdict throttle_record(void *, struct fstate *, uint16_t,
		    struct record *, const char **);
static void	throttle_free(void *);

const struct filter_ops filter_throttle_ops = {
	.fo_name = "throttle",
	.fo_validate = throttle_validate,
	.fo_new = throttle_new,
	.fo_record = throttle_record,
	.fo_free = throttle_free
};

/* Fill err with field.sub and a message; returns -1. */
static int
throttle_fail(struct search_err *err, const char *field, const char *sub,
    const char *msg)
{
	snprintf(err->se_field, sizeof err->se_field, "%s%s%s", field,
	    sub ? "." : "", sub ? sub : "");
	snprintf(err->se_message, sizeof err->se_message, "throttle: %s",
	    msg);
	return (-1);
}

static const char *const throttle_options[] = { "count", "per", "key", NULL };

/* Check the options. */
static int
throttle_validate(const struct json *f, const char *field,
    struct search_err *err)
{
	const struct json	*c, *p, *k;
	const char		*e;
	int64_t			 v;
	size_t			 i;

	if (filter_check_options(f, field, "throttle", throttle_options, err) == -1)
		return (-1);
	c = json_get(f, "count");
	if (c == NULL)
		return (throttle_fail(err, field, "count", "is required"));
	if (!json_int(c, &v) || v < 1 || v > 1000000000)
		return (throttle_fail(err, field, "count",
		    "must be a whole number of at least 1"));
	p = json_get(f, "per");
	if (p == NULL)
		return (throttle_fail(err, field, "per", "is required"));
	if (json_str(p) != NULL) {
		if (util_parse_duration(json_str(p), &v, &e) == -1)
			return (throttle_fail(err, field, "per", e));
	} else if (!json_int(p, &v))
		return (throttle_fail(err, field, "per",
		    "must be a duration such as \"1h\""));
	if (v < 1)
		return (throttle_fail(err, field, "per", "must be at least 1s"));
	k = json_get(f, "key");
	if (k != NULL) {
		if (k->j_type != JSON_ARRAY || json_len(k) == 0 ||
		    json_len(k) > 32)
			return (throttle_fail(err, field, "key",
			    "must be a list of 1 to 32 field names"));
		for (i = 0; i < json_len(k); i++) {
			if (json_str(json_at(k, i)) == NULL ||
			    *json_str(json_at(k, i)) == '\0')
				return (throttle_fail(err, field, "key",
				    "field names must be non-empty strings"));
		}
	}
	return (0);
}

/* An instance from validated options. */
static void *
throttle_new(const struct json *f, const struct filter_env *env)
{
	int64_t			 now = env->fe_now;
	struct throttle		*t;
	const struct json	*p, *k;
	const char		*e;
	int64_t			 v = 0;
	size_t			 i;

	t = xcalloc(1, sizeof *t);
	t->t_now = now;
	(void)json_int(json_get(f, "count"), &t->t_count);
	p = json_get(f, "per");
	if (json_str(p) != NULL)
		(void)util_parse_duration(json_str(p), &v, &e);
	else
		(void)json_int(p, &v);
	t->t_per = v * 1000;
	if ((k = json_get(f, "key")) != NULL && json_len(k) > 0) {
		t->t_keys = xcalloc(json_len(k), sizeof *t->t_keys);
		for (i = 0; i < json_len(k); i++)
			t->t_keys[i] = xstrdup(json_str(json_at(k, i)));
		t->t_nkeys = json_len(k);
	}
	return (t);
}

/* Decide on one record. */
static enum filter_verdict
throttle_record(void *self, struct fstate *fs, uint16_t pos, struct record *r,
    const char **why)
{
	struct throttle	*t = self;
	uint8_t		 sum[32], val[16];
	const void	*old;
	const char	*v;
	size_t		 oldlen, i, n;
	int64_t		 period, count = 0;
	char		 per[32];

	buf_reset(&t->t_buf);
	for (i = 0; i < t->t_nkeys; i++) {
		if ((v = record_get(r, t->t_keys[i], &n)) == NULL) {
			v = "null";
			n = 4;
		}
		buf_add(&t->t_buf, v, n);
		buf_addc(&t->t_buf, '\0');
	}
	util_sha256(t->t_buf.b_data == NULL ? "" : t->t_buf.b_data,
	    t->t_buf.b_len, sum);
	period = filter_record_time(r, t->t_now) / t->t_per;
	if (fstate_get(fs, pos, sum, 16, &old, &oldlen) == 0 &&
	    oldlen == 16) {
		/*
		 * A late record (an older period than the state's, as with
		 * range > every) counts against the newest period: moving
		 * the state back would reset that period's budget.
		 */
		if ((int64_t)util_be64_get(old) > period)
			period = (int64_t)util_be64_get(old);
		if ((int64_t)util_be64_get(old) == period)
			count = (int64_t)util_be64_get((const uint8_t *)old +
			    8);
	}
	if (count >= t->t_count) {
		util_fmt_duration(t->t_per / 1000, per, sizeof per);
		snprintf(t->t_why, sizeof t->t_why,
		    "%lld records already passed in this %s period",
		    (long long)count, per);
		*why = t->t_why;
		return (FILTER_DROP);
	}
	util_be64_put(val, (uint64_t)period);
	util_be64_put(val + 8, (uint64_t)(count + 1));
	fstate_put(fs, pos, sum, 16, val, sizeof val);
	return (FILTER_KEEP);
}

/* Free an instance. */
static void
throttle_free(void *self)
{
	struct throttle	*t = self;
	size_t		 i;

	for (i = 0; i < t->t_nkeys; i++)
		free(t->t_keys[i]);
	free(t->t_keys);
	buf_free(&t->t_buf);
	free(t);
}
