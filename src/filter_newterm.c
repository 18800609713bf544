/*
 * filter_newterm.c -- C9: pass a record only when the value (or tuple of
 * values) of some fields was never seen before by this search.
 *
 *   {"type": "newterm", "key": ["user", "src_ip"], "expire": "30d",
 *    "learn": "7d"}
 *
 * The term is the JSON values of the key fields (a missing field counts
 * as null, so a record without any of them is the term of nulls).  The
 * state per term (SHA-256 of the term, truncated to 16 bytes) is the event
 * time it was last seen; every sighting refreshes it, and with "expire" a
 * term last seen longer ago than that is new again.  During "learn",
 * counted from the search's creation, terms are recorded and nothing
 * passes.
 *
 * Every sighting is recorded (fstate_put_seen), also those of records
 * this filter or a later one drops: a term seen is a fact about the data,
 * not a decision.  It is stored when the run commits.
 */
#include "autoconf.h"

#include <stdint.h>
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

struct newterm {
	char		**n_keys;
	size_t		  n_nkeys;
	int64_t		  n_expire;	/* ms, 0: never */
	int		  n_learning;	/* this run is in the learning period */
	int64_t		  n_now;
	uint64_t	  n_new;	/* records passed in this run */
	struct buf	  n_buf;
	char		  n_term[160];
	char		  n_why[256];
};

static int	newterm_validate(const struct json *, const char *,
		    struct search_err *);
static void	*newterm_new(const struct json *, const struct filter_env *);
static enum filter_verdict newterm_record(void *, struct fstate *, uint16_t,
		    struct record *, const char **);
static void	newterm_free(void *);

const struct filter_ops filter_newterm_ops = {
	.fo_name = "newterm",
	.fo_validate = newterm_validate,
	.fo_new = newterm_new,
	.fo_record = newterm_record,
	.fo_free = newterm_free
};

static const char *const newterm_options[] = {
	"key", "expire", "learn", NULL
};

/* A duration option in ms into *v; 0, or -1 with *e set. */
static int
newterm_duration(const struct json *d, int64_t *v, const char **e)
{
	if (json_str(d) != NULL) {
		if (util_parse_duration(json_str(d), v, e) == -1)
			return (-1);
	} else if (!json_int(d, v)) {
		*e = "must be a duration such as \"7d\"";
		return (-1);
	}
	if (*v < 1 || *v > INT64_MAX / 1000) {
		*e = "must be at least 1s";
		return (-1);
	}
	*v *= 1000;
	return (0);
}

/* Check the options. */
static int
newterm_validate(const struct json *f, const char *field,
    struct search_err *err)
{
	const struct json	*k, *d;
	const char		*e;
	int64_t			 v;
	size_t			 i;

	if (filter_check_options(f, field, "newterm", newterm_options,
	    err) == -1)
		return (-1);
	if ((k = json_get(f, "key")) == NULL)
		return (filter_fail(err, field, "key", "newterm",
		    "is required"));
	if (k->j_type != JSON_ARRAY || json_len(k) == 0 || json_len(k) > 32)
		return (filter_fail(err, field, "key", "newterm",
		    "must be a list of 1 to 32 field names"));
	for (i = 0; i < json_len(k); i++) {
		if (json_str(json_at(k, i)) == NULL ||
		    *json_str(json_at(k, i)) == '\0')
			return (filter_fail(err, field, "key", "newterm",
			    "field names must be non-empty strings"));
	}
	if ((d = json_get(f, "expire")) != NULL &&
	    newterm_duration(d, &v, &e) == -1)
		return (filter_fail(err, field, "expire", "newterm", e));
	if ((d = json_get(f, "learn")) != NULL &&
	    newterm_duration(d, &v, &e) == -1)
		return (filter_fail(err, field, "learn", "newterm", e));
	return (0);
}

/* An instance from validated options. */
static void *
newterm_new(const struct json *f, const struct filter_env *env)
{
	struct newterm		*n;
	const struct json	*k, *d;
	const char		*e;
	int64_t			 learn;
	size_t			 i;

	n = xcalloc(1, sizeof *n);
	n->n_now = env->fe_now;
	k = json_get(f, "key");
	n->n_nkeys = json_len(k);
	n->n_keys = xcalloc(n->n_nkeys, sizeof *n->n_keys);
	for (i = 0; i < n->n_nkeys; i++)
		n->n_keys[i] = xstrdup(json_str(json_at(k, i)));
	if ((d = json_get(f, "expire")) != NULL &&
	    newterm_duration(d, &n->n_expire, &e) == -1)
		n->n_expire = 0;
	if ((d = json_get(f, "learn")) != NULL &&
	    newterm_duration(d, &learn, &e) == 0 &&
	    env->fe_now < env->fe_created + learn)
		n->n_learning = 1;
	return (n);
}

/* The term of r as field=value, ..., shortened, into n_term. */
static void
newterm_describe(struct newterm *n, const struct record *r)
{
	const char	*v;
	size_t		 i, len, vn;

	n->n_term[0] = '\0';
	for (i = 0; i < n->n_nkeys; i++) {
		if ((v = record_get(r, n->n_keys[i], &vn)) == NULL) {
			v = "null";
			vn = 4;
		}
		len = strlen(n->n_term);
		snprintf(n->n_term + len, sizeof n->n_term - len, "%s%s=%.*s%s",
		    i > 0 ? ", " : "", n->n_keys[i], vn > 40 ? 40 : (int)vn, v,
		    vn > 40 ? "..." : "");
	}
}

/* Decide on one record: a sighting, recorded whatever the verdict. */
static enum filter_verdict
newterm_record(void *self, struct fstate *fs, uint16_t pos, struct record *r,
    const char **why)
{
	struct newterm	*n = self;
	uint8_t		 sum[32], val[8];
	const void	*old;
	const char	*v;
	size_t		 i, vn, oldlen;
	int64_t		 t, last = 0, age;
	int		 rc, seen = 0;
	char		 ago[32];

	buf_reset(&n->n_buf);
	for (i = 0; i < n->n_nkeys; i++) {
		if ((v = record_get(r, n->n_keys[i], &vn)) == NULL) {
			v = "null";
			vn = 4;
		}
		buf_add(&n->n_buf, v, vn);
		buf_addc(&n->n_buf, '\0');
	}
	util_sha256(n->n_buf.b_data, n->n_buf.b_len, sum);
	t = filter_record_time(r, n->n_now);
	if ((rc = fstate_get(fs, pos, sum, 16, &old, &oldlen)) == -1) {
		*why = "cannot read the seen terms";
		return (FILTER_ERROR);
	}
	if (rc == 0 && oldlen == 8) {
		seen = 1;
		last = (int64_t)util_be64_get(old);
	}
	/* A late record does not move the sighting back in time. */
	util_be64_put(val, (uint64_t)(seen && last > t ? last : t));
	fstate_put_seen(fs, pos, sum, 16, val, sizeof val);

	age = t >= last ? t - last : 0;
	if (seen && (n->n_expire == 0 || age <= n->n_expire)) {
		newterm_describe(n, r);
		util_fmt_duration(age / 1000, ago, sizeof ago);
		if (t < last)
			snprintf(n->n_why, sizeof n->n_why, "%s was seen "
			    "after this record", n->n_term);
		else
			snprintf(n->n_why, sizeof n->n_why, "%s was seen %s "
			    "before", n->n_term, ago);
		*why = n->n_why;
		return (FILTER_DROP);
	}
	if (n->n_learning) {
		newterm_describe(n, r);
		snprintf(n->n_why, sizeof n->n_why, "%s is new, but the "
		    "search is still learning", n->n_term);
		*why = n->n_why;
		return (FILTER_DROP);
	}
	n->n_new++;
	return (FILTER_KEEP);
}

/* Free an instance. */
static void
newterm_free(void *self)
{
	struct newterm	*n = self;
	size_t		 i;

	for (i = 0; i < n->n_nkeys; i++)
		free(n->n_keys[i]);
	free(n->n_keys);
	buf_free(&n->n_buf);
	free(n);
}
