/*
 * filter_expr.c -- C5 and C6: filters written in the expression language
 * (expr.h).
 *
 *   {"type": "expression", "expr": "status >= 500 and not (host in @x)"}
 *	keeps a record when the expression is true (drops it when false);
 *   {"type": "mapvalue", "field": "user", "expr": "lower(user)"}
 *   {"type": "mapvalue", "set": {"user": "lower(user)", "sev": "..."}}
 *	sets fields to the values of expressions (all evaluated on the
 *	record as it came, then set in order; a null result sets null);
 *   {"type": "mapkey", "map": {"src_ip": "source.ip", "password": null}}
 *	renames keys (a field already named like the new key is replaced)
 *	and, with null, removes them.
 *
 * An expression that fails on a record (division by zero, a regex past
 * its match limit, a string too long) is a FILTER_ERROR: the chain then
 * applies the filter's on_error.  Expressions are compiled when the
 * search is checked (errors name the position) and once per run.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expr.h"
#include "filter.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "search.h"
#include "xmalloc.h"

#define MAP_MAX		256	/* fields a mapkey / mapvalue names */

/* One field to set: its name and expression. */
struct setter {
	char		*st_field;
	struct expr	*st_expr;
};

struct xfilter {
	struct expr	*x_expr;	/* expression */
	struct setter	*x_set;		/* mapvalue */
	size_t		 x_nset;
	char		**x_from;	/* mapkey: old names */
	char		**x_to;		/*   new names, NULL = remove */
	size_t		 x_nmap;
	struct buf	*x_vals;	/* mapvalue: values, x_nset */
	char		 x_why[256];
	char		 x_err[200];
};

static int	xexpr_validate(const struct json *, const char *,
		    struct search_err *);
static int	mapvalue_validate(const struct json *, const char *,
		    struct search_err *);
static int	mapkey_validate(const struct json *, const char *,
		    struct search_err *);
static void	*xfilter_new(const struct json *, const struct filter_env *);
static enum filter_verdict xexpr_record(void *, struct fstate *, uint16_t,
		    struct record *, const char **);
static enum filter_verdict mapvalue_record(void *, struct fstate *,
		    uint16_t, struct record *, const char **);
static enum filter_verdict mapkey_record(void *, struct fstate *, uint16_t,
		    struct record *, const char **);
static void	xfilter_free(void *);

const struct filter_ops filter_expression_ops = {
	.fo_name = "expression",
	.fo_validate = xexpr_validate,
	.fo_new = xfilter_new,
	.fo_record = xexpr_record,
	.fo_free = xfilter_free
};

const struct filter_ops filter_mapvalue_ops = {
	.fo_name = "mapvalue",
	.fo_validate = mapvalue_validate,
	.fo_new = xfilter_new,
	.fo_record = mapvalue_record,
	.fo_free = xfilter_free
};

const struct filter_ops filter_mapkey_ops = {
	.fo_name = "mapkey",
	.fo_validate = mapkey_validate,
	.fo_new = xfilter_new,
	.fo_record = mapkey_record,
	.fo_free = xfilter_free
};

/* Compile the expression of option sub; -1 with err naming it. */
static int
xcheck(const struct json *j, const char *field, const char *sub,
    const char *type, struct search_err *err)
{
	struct expr	*e;
	char		 msg[200];

	if (j == NULL)
		return (filter_fail(err, field, sub, type, "is required: an "
		    "expression such as \"status >= 500\""));
	if (json_str(j) == NULL)
		return (filter_fail(err, field, sub, type,
		    "must be an expression (a string)"));
	if ((e = expr_compile(json_str(j), msg, sizeof msg)) == NULL)
		return (filter_fail(err, field, sub, type, msg));
	expr_free(e);
	return (0);
}

/* Check an expression filter. */
static int
xexpr_validate(const struct json *f, const char *field,
    struct search_err *err)
{
	static const char *const opts[] = { "expr", NULL };

	if (filter_check_options(f, field, "expression", opts, err) == -1)
		return (-1);
	return (xcheck(json_get(f, "expr"), field, "expr", "expression",
	    err));
}

/* A field name an option gives: a non-empty string. */
static int
xname_ok(const char *name)
{
	return (name != NULL && *name != '\0' && strlen(name) <= 256);
}

/* Check a mapvalue filter. */
static int
mapvalue_validate(const struct json *f, const char *field,
    struct search_err *err)
{
	static const char *const opts[] = { "field", "expr", "set", NULL };
	const struct json	*set, *fl;
	char			 sub[300];
	size_t			 i;

	if (filter_check_options(f, field, "mapvalue", opts, err) == -1)
		return (-1);
	set = json_get(f, "set");
	fl = json_get(f, "field");
	if (set != NULL && (fl != NULL || json_get(f, "expr") != NULL))
		return (filter_fail(err, field, "set", "mapvalue",
		    "give either \"set\" or \"field\" and \"expr\", not both"));
	if (set == NULL) {
		if (fl == NULL)
			return (filter_fail(err, field, "field", "mapvalue",
			    "is required (or \"set\": {FIELD: EXPR, ...})"));
		if (!xname_ok(json_str(fl)))
			return (filter_fail(err, field, "field", "mapvalue",
			    "must be a field name"));
		return (xcheck(json_get(f, "expr"), field, "expr", "mapvalue",
		    err));
	}
	if (set->j_type != JSON_OBJECT || set->j_u.obj.n == 0 ||
	    set->j_u.obj.n > MAP_MAX)
		return (filter_fail(err, field, "set", "mapvalue",
		    "must be an object of 1 to 256 FIELD: EXPR"));
	for (i = 0; i < set->j_u.obj.n; i++) {
		if (!xname_ok(set->j_u.obj.m[i].m_key))
			return (filter_fail(err, field, "set", "mapvalue",
			    "field names must be non-empty"));
		snprintf(sub, sizeof sub, "set.%s", set->j_u.obj.m[i].m_key);
		if (xcheck(set->j_u.obj.m[i].m_val, field, sub, "mapvalue",
		    err) == -1)
			return (-1);
	}
	return (0);
}

/* Check a mapkey filter. */
static int
mapkey_validate(const struct json *f, const char *field,
    struct search_err *err)
{
	static const char *const opts[] = { "map", NULL };
	const struct json	*m, *v;
	size_t			 i;

	if (filter_check_options(f, field, "mapkey", opts, err) == -1)
		return (-1);
	m = json_get(f, "map");
	if (m == NULL)
		return (filter_fail(err, field, "map", "mapkey", "is required: "
		    "{\"OLD\": \"NEW\", \"GONE\": null, ...}"));
	if (m->j_type != JSON_OBJECT || m->j_u.obj.n == 0 ||
	    m->j_u.obj.n > MAP_MAX)
		return (filter_fail(err, field, "map", "mapkey",
		    "must be an object of 1 to 256 OLD: NEW (or null)"));
	for (i = 0; i < m->j_u.obj.n; i++) {
		v = m->j_u.obj.m[i].m_val;
		if (!xname_ok(m->j_u.obj.m[i].m_key))
			return (filter_fail(err, field, "map", "mapkey",
			    "key names must be non-empty"));
		if (v->j_type != JSON_NULL && !xname_ok(json_str(v)))
			return (filter_fail(err, field, "map", "mapkey",
			    "new names must be non-empty strings (or null to "
			    "remove the key)"));
	}
	return (0);
}

/* Compile a validated expression. */
static struct expr *
xcompile(const struct json *j)
{
	struct expr	*e;
	char		 msg[200];

	if ((e = expr_compile(json_str(j), msg, sizeof msg)) == NULL)
		fatalx("filter_expr: unvalidated expression: %s", msg);
	return (e);
}

/* An instance of any of the three from validated options. */
static void *
xfilter_new(const struct json *f, const struct filter_env *env)
{
	struct xfilter		*x;
	const struct json	*j, *set, *m;
	size_t			 i;

	(void)env;
	x = xcalloc(1, sizeof *x);
	if ((set = json_get(f, "set")) != NULL) {
		x->x_nset = set->j_u.obj.n;
		x->x_set = xcalloc(x->x_nset, sizeof *x->x_set);
		for (i = 0; i < x->x_nset; i++) {
			x->x_set[i].st_field =
			    xstrdup(set->j_u.obj.m[i].m_key);
			x->x_set[i].st_expr =
			    xcompile(set->j_u.obj.m[i].m_val);
		}
	} else if ((j = json_get(f, "field")) != NULL) {
		x->x_nset = 1;
		x->x_set = xcalloc(1, sizeof *x->x_set);
		x->x_set[0].st_field = xstrdup(json_str(j));
		x->x_set[0].st_expr = xcompile(json_get(f, "expr"));
	} else if ((j = json_get(f, "expr")) != NULL)
		x->x_expr = xcompile(j);
	if (x->x_nset > 0)
		x->x_vals = xcalloc(x->x_nset, sizeof *x->x_vals);
	if ((m = json_get(f, "map")) != NULL) {
		x->x_nmap = m->j_u.obj.n;
		x->x_from = xcalloc(x->x_nmap, sizeof *x->x_from);
		x->x_to = xcalloc(x->x_nmap, sizeof *x->x_to);
		for (i = 0; i < x->x_nmap; i++) {
			x->x_from[i] = xstrdup(m->j_u.obj.m[i].m_key);
			if (json_str(m->j_u.obj.m[i].m_val) != NULL)
				x->x_to[i] =
				    xstrdup(json_str(m->j_u.obj.m[i].m_val));
		}
	}
	return (x);
}

/* Keep the record when the expression is true. */
static enum filter_verdict
xexpr_record(void *self, struct fstate *fs, uint16_t pos, struct record *r,
    const char **why)
{
	struct xfilter	*x = self;

	(void)fs;
	(void)pos;
	switch (expr_truthy(x->x_expr, r, x->x_err, sizeof x->x_err)) {
	case 1:
		return (FILTER_KEEP);
	case 0:
		*why = "the expression is false";
		return (FILTER_DROP);
	default:
		*why = x->x_err;
		return (FILTER_ERROR);
	}
}

/*
 * Replace r's contents with those of n (which is freed): the fields change,
 * the record's time, id, sort and link stay.
 */
static void
xswap(struct record *r, struct record *n)
{
	struct record	 t;

	t = *r;
	r->r_arena = n->r_arena;
	r->r_len = n->r_len;
	r->r_size = n->r_size;
	r->r_fields = n->r_fields;
	r->r_n = n->r_n;
	r->r_cap = n->r_cap;
	r->r_nsrc = n->r_nsrc;
	n->r_arena = t.r_arena;
	n->r_len = t.r_len;
	n->r_size = t.r_size;
	n->r_fields = t.r_fields;
	n->r_n = t.r_n;
	n->r_cap = t.r_cap;
	record_free(n);
}

/* Set fields to the values of their expressions. */
static enum filter_verdict
mapvalue_record(void *self, struct fstate *fs, uint16_t pos,
    struct record *r, const char **why)
{
	struct xfilter	*x = self;
	struct setter	*st;
	size_t		 i, n;
	const char	*k;

	(void)fs;
	(void)pos;
	/* Every expression sees the record as it came. */
	for (i = 0; i < x->x_nset; i++) {
		buf_reset(&x->x_vals[i]);
		if (expr_eval_json(x->x_set[i].st_expr, r, &x->x_vals[i],
		    x->x_err, sizeof x->x_err) == -1) {
			snprintf(x->x_why, sizeof x->x_why, "%s: %s",
			    x->x_set[i].st_field, x->x_err);
			*why = x->x_why;
			return (FILTER_ERROR);
		}
	}
	x->x_why[0] = '\0';
	for (i = 0; i < x->x_nset; i++) {
		st = &x->x_set[i];
		(void)record_del(r, st->st_field);
		record_add(r, st->st_field, strlen(st->st_field),
		    x->x_vals[i].b_data, x->x_vals[i].b_len);
		n = strlen(x->x_why);
		if (n + 32 < sizeof x->x_why) {
			k = st->st_field;
			snprintf(x->x_why + n, sizeof x->x_why - n, "%s%s",
			    n == 0 ? "set " : ", ", k);
		}
	}
	*why = x->x_why;
	return (FILTER_KEEP);
}

/* The index of r's key k in the map's old names, or -1. */
static int
mapkey_find(const struct xfilter *x, const char *k, size_t kl)
{
	size_t	 m;

	for (m = 0; m < x->x_nmap; m++) {
		if (strlen(x->x_from[m]) == kl &&
		    memcmp(x->x_from[m], k, kl) == 0)
			return ((int)m);
	}
	return (-1);
}

/* Whether r's key k is the new name of a key r has (it is replaced). */
static int
mapkey_replaced(const struct xfilter *x, const struct record *r,
    const char *k, size_t kl)
{
	size_t	 m;

	for (m = 0; m < x->x_nmap; m++) {
		if (x->x_to[m] != NULL && strlen(x->x_to[m]) == kl &&
		    memcmp(x->x_to[m], k, kl) == 0 &&
		    record_find(r, x->x_from[m], strlen(x->x_from[m])) != -1)
			return (1);
	}
	return (0);
}

/*
 * Rename (or remove) keys.  The fields kept as they were stay first (and
 * keep their place among the source's); renamed ones follow, as fields
 * the filter made (always in the alert, whatever "fields" selects).
 */
static enum filter_verdict
mapkey_record(void *self, struct fstate *fs, uint16_t pos, struct record *r,
    const char **why)
{
	struct xfilter	*x = self;
	struct record	*n;
	const char	*k, *v;
	size_t		 i, kl, vl, changed = 0, nsrc = 0;
	int		 m;

	(void)fs;
	(void)pos;
	for (i = 0; i < record_count(r); i++) {
		k = record_key(r, i, &kl);
		if (mapkey_find(x, k, kl) != -1 ||
		    mapkey_replaced(x, r, k, kl))
			changed++;
	}
	if (changed == 0)
		return (FILTER_KEEP);
	n = record_new();
	for (i = 0; i < record_count(r); i++) {
		k = record_key(r, i, &kl);
		v = record_val(r, i, &vl);
		if (mapkey_find(x, k, kl) != -1 ||
		    mapkey_replaced(x, r, k, kl))
			continue;
		record_add(n, k, kl, v, vl);
		if (i < r->r_nsrc)
			nsrc++;
	}
	n->r_nsrc = nsrc;
	for (i = 0; i < record_count(r); i++) {
		k = record_key(r, i, &kl);
		if ((m = mapkey_find(x, k, kl)) == -1 || x->x_to[m] == NULL)
			continue;
		v = record_val(r, i, &vl);
		record_add(n, x->x_to[m], strlen(x->x_to[m]), v, vl);
	}
	xswap(r, n);
	snprintf(x->x_why, sizeof x->x_why, "renamed or removed %zu key%s",
	    changed, changed == 1 ? "" : "s");
	*why = x->x_why;
	return (FILTER_KEEP);
}

/* Free an instance. */
static void
xfilter_free(void *self)
{
	struct xfilter	*x = self;
	size_t		 i;

	expr_free(x->x_expr);
	for (i = 0; i < x->x_nset; i++) {
		free(x->x_set[i].st_field);
		expr_free(x->x_set[i].st_expr);
		buf_free(&x->x_vals[i]);
	}
	free(x->x_set);
	free(x->x_vals);
	for (i = 0; i < x->x_nmap; i++) {
		free(x->x_from[i]);
		free(x->x_to[i]);
	}
	free(x->x_from);
	free(x->x_to);
	free(x);
}
