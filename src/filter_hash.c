/*
 * filter_hash.c -- C4: drop a record whose content hash is listed.
 *
 *   {"type": "hash", "hashes": ["sha256:9f86d081...", ...]}
 *
 * The hash of a record is the content_hash the alert made from it would
 * get: the alert is built by alert_from_record and hashed by alert_hash,
 * so the two cannot differ.  A search with "fields" makes its alerts of
 * those fields only: give the same list as the filter's "fields" so that
 * the hashes agree.  The filter sees the record as it is at its place in
 * the chain: put it after the filters that rewrite the content.  Up to
 * HASH_MAX hashes, held in a hash set built once per run.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "filter.h"
#include "hmap.h"
#include "json.h"
#include "record.h"
#include "search.h"
#include "xmalloc.h"

#define HASH_MAX	100000		/* hashes in one filter */
#define HASH_FIELDS_MAX	256		/* names in "fields" */

struct hashf {
	struct hmap	*h_set;		/* 32 bytes -> (void *)1 */
	struct search	 h_search;	/* what alert_from_record reads */
	char		 h_why[128];
};

static int	hash_validate(const struct json *, const char *,
		    struct search_err *);
static void	*hash_new(const struct json *, const struct filter_env *);
static enum filter_verdict hash_record(void *, struct fstate *, uint16_t,
		    struct record *, const char **);
static void	hash_free(void *);

const struct filter_ops filter_hash_ops = {
	.fo_name = "hash",
	.fo_validate = hash_validate,
	.fo_new = hash_new,
	.fo_record = hash_record,
	.fo_free = hash_free
};

static const char *const hash_options[] = { "hashes", "fields", NULL };
static char hash_priority[] = "low";

/* The value of hex digit c, or -1. */
static int
hash_xdigit(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* "sha256:" and 64 hex digits into 32 bytes; 0 or -1. */
static int
hash_decode(const char *s, uint8_t out[32])
{
	size_t	 i;
	int	 hi, lo;

	if (s == NULL || strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
		return (-1);
	for (i = 0; i < 32; i++) {
		if ((hi = hash_xdigit(s[7 + 2 * i])) == -1 ||
		    (lo = hash_xdigit(s[8 + 2 * i])) == -1)
			return (-1);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (0);
}

/* Check the options. */
static int
hash_validate(const struct json *f, const char *field,
    struct search_err *err)
{
	const struct json	*h, *fl;
	uint8_t			 sum[32];
	char			 sub[32], msg[96];
	size_t			 i;

	if (filter_check_options(f, field, "hash", hash_options, err) == -1)
		return (-1);
	if ((h = json_get(f, "hashes")) == NULL)
		return (filter_fail(err, field, "hashes", "hash",
		    "is required"));
	if (h->j_type != JSON_ARRAY || json_len(h) == 0 ||
	    json_len(h) > HASH_MAX) {
		snprintf(msg, sizeof msg, "must be a list of 1 to %d hashes",
		    HASH_MAX);
		return (filter_fail(err, field, "hashes", "hash", msg));
	}
	for (i = 0; i < json_len(h); i++) {
		if (hash_decode(json_str(json_at(h, i)), sum) == -1) {
			snprintf(sub, sizeof sub, "hashes[%zu]", i);
			return (filter_fail(err, field, sub, "hash",
			    "must be \"sha256:\" and 64 hex digits"));
		}
	}
	if ((fl = json_get(f, "fields")) != NULL) {
		if (fl->j_type != JSON_ARRAY || json_len(fl) == 0 ||
		    json_len(fl) > HASH_FIELDS_MAX) {
			snprintf(msg, sizeof msg, "must be a list of 1 to %d "
			    "field names", HASH_FIELDS_MAX);
			return (filter_fail(err, field, "fields", "hash",
			    msg));
		}
		for (i = 0; i < json_len(fl); i++) {
			if (json_str(json_at(fl, i)) == NULL ||
			    *json_str(json_at(fl, i)) == '\0')
				return (filter_fail(err, field, "fields",
				    "hash", "field names must be non-empty "
				    "strings"));
		}
	}
	return (0);
}

/* An instance from validated options. */
static void *
hash_new(const struct json *f, const struct filter_env *env)
{
	struct hashf		*h;
	const struct json	*l;
	uint8_t			 sum[32];
	size_t			 i;

	h = xcalloc(1, sizeof *h);
	h->h_set = hmap_new();
	l = json_get(f, "hashes");
	for (i = 0; i < json_len(l); i++) {
		if (hash_decode(json_str(json_at(l, i)), sum) == 0)
			hmap_put(h->h_set, sum, sizeof sum, h);
	}
	h->h_search.s_id = env->fe_search;
	h->h_search.s_priority = hash_priority;
	if ((l = json_get(f, "fields")) != NULL && json_len(l) > 0) {
		h->h_search.s_fields = xcalloc(json_len(l),
		    sizeof *h->h_search.s_fields);
		for (i = 0; i < json_len(l); i++)
			h->h_search.s_fields[i] =
			    xstrdup(json_str(json_at(l, i)));
		h->h_search.s_nfields = json_len(l);
	}
	return (h);
}

/* Decide on one record. */
static enum filter_verdict
hash_record(void *self, struct fstate *fs, uint16_t pos, struct record *r,
    const char **why)
{
	struct hashf	*h = self;
	struct alert	*a;
	uint8_t		 sum[32];
	int		 listed;

	(void)fs;
	(void)pos;
	a = alert_from_record(&h->h_search, r, 0);
	alert_hash(a);
	listed = hash_decode(a->a_hash, sum) == 0 &&
	    hmap_get(h->h_set, sum, sizeof sum) != NULL;
	if (listed)
		snprintf(h->h_why, sizeof h->h_why,
		    "its content hash %.23s... is listed", a->a_hash);
	alert_free(a);
	if (!listed)
		return (FILTER_KEEP);
	*why = h->h_why;
	return (FILTER_DROP);
}

/* Free an instance. */
static void
hash_free(void *self)
{
	struct hashf	*h = self;
	size_t		 i;

	for (i = 0; i < h->h_search.s_nfields; i++)
		free(h->h_search.s_fields[i]);
	free(h->h_search.s_fields);
	hmap_free(h->h_set);
	free(h);
}
