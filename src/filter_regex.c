/*
 * filter_regex.c -- C3: keep (or drop) the records whose field matches a
 * PCRE2 pattern.
 *
 *   {"type": "regex", "pattern": "^sshd\\[", "key": "program",
 *    "exclude": false, "case_insensitive": false}
 *
 * Without "key" a record matches when any of its fields does.  A string
 * value is matched decoded, any other value as its JSON text; a missing
 * key never matches (so an include drops the record and an exclude keeps
 * it).  Compiled code is kept in a small process-wide cache keyed by the
 * flags and the pattern, so a pattern is compiled once, not once per run.
 * Matches run under match, depth and heap limits: a pattern that would
 * backtrack for ever gives FILTER_ERROR, and the filter's on_error
 * decides.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "buf.h"
#include "filter.h"
#include "hmap.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "search.h"
#include "xmalloc.h"

#define REGEX_MAX_PATTERN	4096		/* bytes */
#define REGEX_CACHE_MAX		1024		/* compiled patterns kept */
#define REGEX_MATCH_LIMIT	100000		/* pcre2_set_match_limit */
#define REGEX_DEPTH_LIMIT	5000		/* pcre2_set_depth_limit */
#define REGEX_HEAP_LIMIT	4096		/* KiB, pcre2_set_heap_limit */
#define REGEX_WHY_PATTERN	60		/* bytes of the pattern in a why */

/* A compiled pattern, shared by the instances that use it. */
struct regex_code {
	pcre2_code	*rc_code;
	int		 rc_refs;
	int		 rc_cached;	/* in regex_cache */
	uint64_t	 rc_used;	/* regex_tick when last taken */
	char		*rc_key;	/* flags byte | pattern */
	size_t		 rc_klen;
};

struct regex {
	struct regex_code	*x_code;
	pcre2_match_data	*x_md;
	pcre2_match_context	*x_mc;
	char			*x_key;		/* or NULL: any field */
	int			 x_exclude;
	char			 x_pat[REGEX_WHY_PATTERN + 4];
	struct buf		 x_buf;
	char			 x_why[256];
};

static struct hmap	*regex_cache;
static uint64_t		 regex_tick;

static int	regex_validate(const struct json *, const char *,
		    struct search_err *);
static void	*regex_new(const struct json *, const struct filter_env *);
static enum filter_verdict regex_record(void *, struct fstate *, uint16_t,
		    struct record *, const char **);
static void	regex_free(void *);

const struct filter_ops filter_regex_ops = {
	.fo_name = "regex",
	.fo_validate = regex_validate,
	.fo_new = regex_new,
	.fo_record = regex_record,
	.fo_free = regex_free
};

static const char *const regex_options[] = {
	"pattern", "key", "exclude", "case_insensitive", NULL
};

/* The compile options for a pattern. */
static uint32_t
regex_flags(int icase)
{
	uint32_t	 fl = PCRE2_UTF;

#ifdef PCRE2_MATCH_INVALID_UTF
	fl |= PCRE2_MATCH_INVALID_UTF;
#endif
	if (icase)
		fl |= PCRE2_CASELESS;
	return (fl);
}

/* Compile pat; NULL with msg filled on error. */
static pcre2_code *
regex_compile(const char *pat, int icase, char *msg, size_t msgsize)
{
	pcre2_code	*re;
	PCRE2_SIZE	 off;
	PCRE2_UCHAR	 e[160];
	int		 code;

	re = pcre2_compile((PCRE2_SPTR)pat, strlen(pat), regex_flags(icase),
	    &code, &off, NULL);
	if (re == NULL) {
		if (pcre2_get_error_message(code, e, sizeof e) < 0)
			snprintf((char *)e, sizeof e, "error %d", code);
		snprintf(msg, msgsize, "at %zu: %s", (size_t)off, (char *)e);
	}
	return (re);
}

/* Drop the least recently taken unused entry; 0 if every one is in use. */
static int
regex_evict(void)
{
	struct hmap_iter	 it = { 0 };
	struct regex_code	*rc, *old = NULL;
	void			*vp;

	while (hmap_next(regex_cache, &it, NULL, NULL, &vp)) {
		rc = vp;
		if (rc->rc_refs == 0 && (old == NULL ||
		    rc->rc_used < old->rc_used))
			old = rc;
	}
	if (old == NULL)
		return (0);
	hmap_del(regex_cache, old->rc_key, old->rc_klen);
	pcre2_code_free(old->rc_code);
	free(old->rc_key);
	free(old);
	return (1);
}

/* Take the compiled pat (validated): from the cache, or compiled now. */
static struct regex_code *
regex_take(const char *pat, int icase)
{
	struct regex_code	*rc;
	struct buf		 k = BUF_INIT;
	char			 msg[256];

	if (regex_cache == NULL)
		regex_cache = hmap_new();
	buf_addc(&k, icase ? 'i' : '-');
	buf_adds(&k, pat);
	if ((rc = hmap_get(regex_cache, k.b_data, k.b_len)) != NULL) {
		buf_free(&k);
		rc->rc_refs++;
		rc->rc_used = ++regex_tick;
		return (rc);
	}
	rc = xcalloc(1, sizeof *rc);
	if ((rc->rc_code = regex_compile(pat, icase, msg, sizeof msg)) == NULL)
		fatalx("regex_take: unvalidated pattern: %s", msg);
	/* JIT where the library has it; the interpreter otherwise. */
	(void)pcre2_jit_compile(rc->rc_code, PCRE2_JIT_COMPLETE);
	rc->rc_refs = 1;
	rc->rc_used = ++regex_tick;
	rc->rc_key = buf_steal(&k, &rc->rc_klen);
	if (hmap_count(regex_cache) < REGEX_CACHE_MAX || regex_evict()) {
		hmap_put(regex_cache, rc->rc_key, rc->rc_klen, rc);
		rc->rc_cached = 1;
	}
	return (rc);
}

/* Give back a compiled pattern. */
static void
regex_give(struct regex_code *rc)
{
	if (--rc->rc_refs > 0 || rc->rc_cached)
		return;
	pcre2_code_free(rc->rc_code);
	free(rc->rc_key);
	free(rc);
}

/* Check the options. */
static int
regex_validate(const struct json *f, const char *field,
    struct search_err *err)
{
	const struct json	*p, *k, *b;
	pcre2_code		*re;
	char			 msg[256];
	int			 icase = 0, v;

	if (filter_check_options(f, field, "regex", regex_options, err) == -1)
		return (-1);
	if ((b = json_get(f, "exclude")) != NULL && !json_bool(b, &v))
		return (filter_fail(err, field, "exclude", "regex",
		    "must be true or false"));
	if ((b = json_get(f, "case_insensitive")) != NULL &&
	    !json_bool(b, &icase))
		return (filter_fail(err, field, "case_insensitive", "regex",
		    "must be true or false"));
	k = json_get(f, "key");
	if (k != NULL && (json_str(k) == NULL || *json_str(k) == '\0'))
		return (filter_fail(err, field, "key", "regex",
		    "must be a non-empty field name"));
	if ((p = json_get(f, "pattern")) == NULL)
		return (filter_fail(err, field, "pattern", "regex",
		    "is required"));
	if (json_str(p) == NULL || *json_str(p) == '\0')
		return (filter_fail(err, field, "pattern", "regex",
		    "must be a non-empty string"));
	if (strlen(json_str(p)) > REGEX_MAX_PATTERN) {
		snprintf(msg, sizeof msg, "longer than %d bytes",
		    REGEX_MAX_PATTERN);
		return (filter_fail(err, field, "pattern", "regex", msg));
	}
	if ((re = regex_compile(json_str(p), icase, msg, sizeof msg)) == NULL)
		return (filter_fail(err, field, "pattern", "regex", msg));
	pcre2_code_free(re);
	return (0);
}

/* An instance from validated options. */
static void *
regex_new(const struct json *f, const struct filter_env *env)
{
	struct regex	*x;
	const char	*pat = json_str(json_get(f, "pattern"));
	int		 icase = 0;

	(void)env;
	x = xcalloc(1, sizeof *x);
	(void)json_bool(json_get(f, "exclude"), &x->x_exclude);
	(void)json_bool(json_get(f, "case_insensitive"), &icase);
	if (json_str(json_get(f, "key")) != NULL)
		x->x_key = xstrdup(json_str(json_get(f, "key")));
	x->x_code = regex_take(pat, icase);
	x->x_md = pcre2_match_data_create(1, NULL);
	x->x_mc = pcre2_match_context_create(NULL);
	if (x->x_md == NULL || x->x_mc == NULL)
		fatalx("regex_new: out of memory");
	pcre2_set_match_limit(x->x_mc, REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(x->x_mc, REGEX_DEPTH_LIMIT);
	pcre2_set_heap_limit(x->x_mc, REGEX_HEAP_LIMIT);
	if (strlen(pat) > REGEX_WHY_PATTERN)
		snprintf(x->x_pat, sizeof x->x_pat, "%.*s...",
		    REGEX_WHY_PATTERN, pat);
	else
		snprintf(x->x_pat, sizeof x->x_pat, "%s", pat);
	return (x);
}

/*
 * Match len bytes at s: 1 (match), 0 (none), or -1 with x_why set when a
 * limit stopped the match.
 */
static int
regex_match(struct regex *x, const char *s, size_t len)
{
	PCRE2_UCHAR	 e[120];
	int		 rc;

	rc = pcre2_match(x->x_code->rc_code, (PCRE2_SPTR)(s != NULL ? s : ""),
	    len, 0, 0, x->x_md, x->x_mc);
	if (rc >= 0)
		return (1);
	if (rc == PCRE2_ERROR_NOMATCH)
		return (0);
#ifndef PCRE2_MATCH_INVALID_UTF
	if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21)
		return (0);		/* old library: not UTF-8, no match */
#endif
	switch (rc) {
	case PCRE2_ERROR_MATCHLIMIT:
		snprintf(x->x_why, sizeof x->x_why, "/%s/ hit the match "
		    "limit (%d steps)", x->x_pat, REGEX_MATCH_LIMIT);
		break;
	case PCRE2_ERROR_DEPTHLIMIT:
		snprintf(x->x_why, sizeof x->x_why, "/%s/ hit the depth "
		    "limit (%d)", x->x_pat, REGEX_DEPTH_LIMIT);
		break;
	case PCRE2_ERROR_HEAPLIMIT:
		snprintf(x->x_why, sizeof x->x_why, "/%s/ hit the heap "
		    "limit (%d KiB)", x->x_pat, REGEX_HEAP_LIMIT);
		break;
	default:
		if (pcre2_get_error_message(rc, e, sizeof e) < 0)
			snprintf((char *)e, sizeof e, "error %d", rc);
		snprintf(x->x_why, sizeof x->x_why, "/%s/: %s", x->x_pat,
		    (char *)e);
		break;
	}
	return (-1);
}

/* Match the value of field i of r (decoded if a string). */
static int
regex_match_field(struct regex *x, const struct record *r, size_t i)
{
	const char	*v;
	size_t		 n;
	struct json	*j;
	char		 e[64];
	int		 m;

	v = record_val(r, i, &n);
	if (n < 2 || v[0] != '"')
		return (regex_match(x, v, n));
	if (memchr(v, '\\', n) == NULL)
		return (regex_match(x, v + 1, n - 2));	/* nothing escaped */
	if ((j = json_parse(v, n, e, sizeof e)) == NULL ||
	    j->j_type != JSON_STRING) {
		json_free(j);
		return (regex_match(x, v, n));
	}
	m = regex_match(x, j->j_u.str.s, j->j_u.str.len);
	json_free(j);
	return (m);
}

/* Decide on one record. */
static enum filter_verdict
regex_record(void *self, struct fstate *fs, uint16_t pos, struct record *r,
    const char **why)
{
	struct regex	*x = self;
	const char	*k;
	size_t		 i, klen = 0;
	int		 m = 0;

	(void)fs;
	(void)pos;
	if (x->x_key != NULL) {
		buf_reset(&x->x_buf);
		if (record_get_text(r, x->x_key, &x->x_buf) == 0)
			m = regex_match(x, x->x_buf.b_data, x->x_buf.b_len);
	} else {
		for (i = 0; i < record_count(r) && m == 0; i++)
			m = regex_match_field(x, r, i);
		if (m == 1) {
			k = record_key(r, i - 1, &klen);
			buf_reset(&x->x_buf);
			buf_add(&x->x_buf, k, klen > 64 ? 64 : klen);
			buf_addc(&x->x_buf, '\0');
		}
	}
	if (m == -1) {
		*why = x->x_why;
		return (FILTER_ERROR);
	}
	if (x->x_exclude && m == 1) {
		snprintf(x->x_why, sizeof x->x_why, "%s \"%s\" matches /%s/",
		    x->x_key != NULL ? "field" : "its field",
		    x->x_key != NULL ? x->x_key : x->x_buf.b_data, x->x_pat);
		*why = x->x_why;
		return (FILTER_DROP);
	}
	if (!x->x_exclude && m == 0) {
		if (x->x_key != NULL && record_find(r, x->x_key,
		    strlen(x->x_key)) == -1)
			snprintf(x->x_why, sizeof x->x_why,
			    "no field \"%s\" to match /%s/", x->x_key,
			    x->x_pat);
		else if (x->x_key != NULL)
			snprintf(x->x_why, sizeof x->x_why,
			    "field \"%s\" does not match /%s/", x->x_key,
			    x->x_pat);
		else
			snprintf(x->x_why, sizeof x->x_why,
			    "no field matches /%s/", x->x_pat);
		*why = x->x_why;
		return (FILTER_DROP);
	}
	return (FILTER_KEEP);
}

/* Free an instance. */
static void
regex_free(void *self)
{
	struct regex	*x = self;

	regex_give(x->x_code);
	pcre2_match_data_free(x->x_md);
	pcre2_match_context_free(x->x_mc);
	free(x->x_key);
	buf_free(&x->x_buf);
	free(x);
}
