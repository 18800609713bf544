/*
 * filter_change.c -- C10: pass a record when a field's value differs from
 * the last one seen for its key.
 *
 *   {"type": "change", "field": "status", "key": ["host"],
 *    "first": "drop", "add_previous": false}
 *
 * Without "key" the search has one last value.  Values are compared as
 * JSON text; the state per key (SHA-256 of the key values, truncated to
 * 16 bytes) is the event time of the last value (be64 ms) and the value,
 * or "sha256:<hex>" of it when longer than CHANGE_VALUE_MAX.  The first
 * sighting of a key has nothing to differ from: "first" says whether it
 * passes (default: it is dropped).  A record without the field, or older
 * than the last value (a late record, or a window run again), is dropped
 * and changes nothing: a replayed window decides the same way, whatever
 * the order the source gives the records in.  With
 * "add_previous" a passing record gets the field "previous_FIELD" with
 * the last value (null on a first sighting or for a long value).
 *
 * Every sighting is recorded (fstate_put_seen), also those of records
 * this filter or a later one drops (else a first sighting dropped would
 * stay a first sighting for ever): the last value is a fact about the
 * data, stored when the run commits.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "filter.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "search.h"
#include "util.h"
#include "xmalloc.h"

#define CHANGE_VALUE_MAX	1024	/* bytes of a value kept as it is */
#define CHANGE_WHY_VALUE	60	/* bytes of a value in a why */

struct change {
	char		 *c_field;
	char		 *c_prevname;	/* "previous_" field, or NULL */
	char		**c_keys;
	size_t		  c_nkeys;
	int		  c_first_pass;
	int64_t		  c_now;
	uint64_t	  c_changes;	/* records passed in this run */
	struct buf	  c_buf;
	struct buf	  c_old;
	char		  c_why[300];
};

static int	change_validate(const struct json *, const char *,
		    struct search_err *);
static void	*change_new(const struct json *, const struct filter_env *);
static enum filter_verdict change_record(void *, struct fstate *, uint16_t,
		    struct record *, const char **);
static void	change_free(void *);

const struct filter_ops filter_change_ops = {
	.fo_name = "change",
	.fo_validate = change_validate,
	.fo_new = change_new,
	.fo_record = change_record,
	.fo_free = change_free
};

static const char *const change_options[] = {
	"field", "key", "first", "add_previous", NULL
};

/* Check the options. */
static int
change_validate(const struct json *f, const char *field,
    struct search_err *err)
{
	const struct json	*k, *o;
	const char		*s;
	size_t			 i;
	int			 b;

	if (filter_check_options(f, field, "change", change_options,
	    err) == -1)
		return (-1);
	if ((o = json_get(f, "field")) == NULL)
		return (filter_fail(err, field, "field", "change",
		    "is required"));
	if (json_str(o) == NULL || *json_str(o) == '\0')
		return (filter_fail(err, field, "field", "change",
		    "must be a non-empty field name"));
	if ((k = json_get(f, "key")) != NULL) {
		if (k->j_type != JSON_ARRAY || json_len(k) == 0 ||
		    json_len(k) > 32)
			return (filter_fail(err, field, "key", "change",
			    "must be a list of 1 to 32 field names"));
		for (i = 0; i < json_len(k); i++) {
			if (json_str(json_at(k, i)) == NULL ||
			    *json_str(json_at(k, i)) == '\0')
				return (filter_fail(err, field, "key",
				    "change", "field names must be non-empty "
				    "strings"));
		}
	}
	if ((o = json_get(f, "first")) != NULL && ((s = json_str(o)) == NULL ||
	    (strcmp(s, "pass") != 0 && strcmp(s, "drop") != 0)))
		return (filter_fail(err, field, "first", "change",
		    "must be \"pass\" or \"drop\""));
	if ((o = json_get(f, "add_previous")) != NULL && !json_bool(o, &b))
		return (filter_fail(err, field, "add_previous", "change",
		    "must be true or false"));
	return (0);
}

/* An instance from validated options. */
static void *
change_new(const struct json *f, const struct filter_env *env)
{
	struct change		*c;
	const struct json	*k;
	const char		*s;
	size_t			 i;
	int			 b = 0;

	c = xcalloc(1, sizeof *c);
	c->c_now = env->fe_now;
	c->c_field = xstrdup(json_str(json_get(f, "field")));
	if ((k = json_get(f, "key")) != NULL && json_len(k) > 0) {
		c->c_nkeys = json_len(k);
		c->c_keys = xcalloc(c->c_nkeys, sizeof *c->c_keys);
		for (i = 0; i < c->c_nkeys; i++)
			c->c_keys[i] = xstrdup(json_str(json_at(k, i)));
	}
	s = json_str(json_get(f, "first"));
	c->c_first_pass = s != NULL && strcmp(s, "pass") == 0;
	if (json_bool(json_get(f, "add_previous"), &b) && b) {
		if (asprintf(&c->c_prevname, "previous_%s", c->c_field) == -1)
			fatalx("change_new: asprintf");
	}
	return (c);
}

/* Append the stored form of value v (n bytes): itself, or its hash. */
static void
change_stored(const char *v, size_t n, struct buf *b)
{
	uint8_t	 sum[32];
	char	 hex[65];

	if (n <= CHANGE_VALUE_MAX) {
		buf_add(b, v, n);
		return;
	}
	util_sha256(v, n, sum);
	util_hex(sum, sizeof sum, hex);
	buf_adds(b, "sha256:");
	buf_add(b, hex, 64);
}

/* A value for a why: shortened, or "a long value" for a hash. */
static void
change_show(const char *v, size_t n, char *out, size_t outsize)
{
	if (n > CHANGE_VALUE_MAX || (n > 7 && memcmp(v, "sha256:", 7) == 0))
		snprintf(out, outsize, "a long value");
	else if (n > CHANGE_WHY_VALUE)
		snprintf(out, outsize, "%.*s...", CHANGE_WHY_VALUE, v);
	else
		snprintf(out, outsize, "%.*s", (int)n, v);
}

/* Decide on one record: a sighting, recorded whatever the verdict. */
static enum filter_verdict
change_record(void *self, struct fstate *fs, uint16_t pos, struct record *r,
    const char **why)
{
	struct change	*c = self;
	uint8_t		 sum[32];
	const void	*old;
	const char	*v, *cur;
	size_t		 i, n, curn, oldlen;
	int64_t		 t, last = 0;
	uint8_t		 tb[8];
	int		 rc;
	char		 was[CHANGE_WHY_VALUE + 8], now[CHANGE_WHY_VALUE + 8];

	if ((cur = record_get(r, c->c_field, &curn)) == NULL) {
		snprintf(c->c_why, sizeof c->c_why, "no field \"%s\"",
		    c->c_field);
		*why = c->c_why;
		return (FILTER_DROP);
	}
	buf_reset(&c->c_buf);
	for (i = 0; i < c->c_nkeys; i++) {
		if ((v = record_get(r, c->c_keys[i], &n)) == NULL) {
			v = "null";
			n = 4;
		}
		buf_add(&c->c_buf, v, n);
		buf_addc(&c->c_buf, '\0');
	}
	util_sha256(c->c_buf.b_data == NULL ? "" : c->c_buf.b_data,
	    c->c_buf.b_len, sum);
	if ((rc = fstate_get(fs, pos, sum, 16, &old, &oldlen)) == -1) {
		*why = "cannot read the last values";
		return (FILTER_ERROR);
	}
	t = filter_record_time(r, c->c_now);
	buf_reset(&c->c_old);
	if (rc == 0 && oldlen >= 8) {
		last = (int64_t)util_be64_get(old);
		buf_add(&c->c_old, (const char *)old + 8, oldlen - 8);
	} else
		rc = 1;
	change_show(cur, curn, now, sizeof now);
	if (rc == 0 && t < last) {
		snprintf(c->c_why, sizeof c->c_why, "%s is %s, but the "
		    "record is older than the last value", c->c_field, now);
		*why = c->c_why;
		return (FILTER_DROP);
	}
	util_be64_put(tb, (uint64_t)t);
	buf_reset(&c->c_buf);
	buf_add(&c->c_buf, tb, sizeof tb);
	change_stored(cur, curn, &c->c_buf);
	if (rc == 0 && c->c_buf.b_len - 8 == c->c_old.b_len &&
	    memcmp(c->c_buf.b_data + 8, c->c_old.b_data, c->c_old.b_len) ==
	    0) {
		if (t > last)
			fstate_put_seen(fs, pos, sum, 16, c->c_buf.b_data,
			    c->c_buf.b_len);
		snprintf(c->c_why, sizeof c->c_why, "%s is still %s",
		    c->c_field, now);
		*why = c->c_why;
		return (FILTER_DROP);
	}
	fstate_put_seen(fs, pos, sum, 16, c->c_buf.b_data, c->c_buf.b_len);
	if (rc != 0) {
		if (!c->c_first_pass) {
			snprintf(c->c_why, sizeof c->c_why, "%s is %s: the "
			    "first value seen", c->c_field, now);
			*why = c->c_why;
			return (FILTER_DROP);
		}
		snprintf(c->c_why, sizeof c->c_why, "%s is %s: the first "
		    "value seen", c->c_field, now);
		if (c->c_prevname != NULL) {
			record_del(r, c->c_prevname);
			record_add(r, c->c_prevname, strlen(c->c_prevname),
			    "null", 4);
		}
	} else {
		change_show(c->c_old.b_data, c->c_old.b_len, was, sizeof was);
		snprintf(c->c_why, sizeof c->c_why, "%s changed from %s to %s",
		    c->c_field, was, now);
		if (c->c_prevname != NULL) {
			record_del(r, c->c_prevname);
			if (c->c_old.b_len > 7 &&
			    memcmp(c->c_old.b_data, "sha256:", 7) == 0)
				record_add(r, c->c_prevname,
				    strlen(c->c_prevname), "null", 4);
			else
				record_add(r, c->c_prevname,
				    strlen(c->c_prevname), c->c_old.b_data,
				    c->c_old.b_len);
		}
	}
	c->c_changes++;
	*why = c->c_why;
	return (FILTER_KEEP);
}

/* Free an instance. */
static void
change_free(void *self)
{
	struct change	*c = self;
	size_t		 i;

	for (i = 0; i < c->c_nkeys; i++)
		free(c->c_keys[i]);
	free(c->c_keys);
	free(c->c_field);
	free(c->c_prevname);
	buf_free(&c->c_buf);
	buf_free(&c->c_old);
	free(c);
}
