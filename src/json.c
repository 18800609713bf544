/*
 * json.c -- a small JSON document tree, parsed with yajl's streaming API.
 *
 * The parser keeps a stack of open containers; each yajl callback adds a
 * value to the container on top.  Depth is capped (JSON_MAX_DEPTH) and every
 * string is checked for UTF-8 and repaired, so that what we store and echo
 * is always valid.
 */
#include "autoconf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "buf.h"
#include "json.h"
#include "util.h"
#include "xmalloc.h"

struct json_parser {
	struct json	*p_stack[JSON_MAX_DEPTH + 1];
	int		 p_depth;
	struct json	*p_root;
	char		*p_key;		/* pending object key */
	size_t		 p_klen;
	const char	*p_err;		/* our own reason to cancel */
};

static int	json_add(struct json_parser *, struct json *);
static int	json_cb_null(void *);
static int	json_cb_bool(void *, int);
static int	json_cb_number(void *, const char *, size_t);
static int	json_cb_string(void *, const unsigned char *, size_t);
static int	json_cb_start_map(void *);
static int	json_cb_map_key(void *, const unsigned char *, size_t);
static int	json_cb_end(void *);
static int	json_cb_start_array(void *);
static char	*json_clean_string(const char *, size_t, size_t *);
static void	json_where(char *, size_t, const char *, size_t, size_t);

static const yajl_callbacks json_callbacks = {
	json_cb_null,
	json_cb_bool,
	NULL,
	NULL,
	json_cb_number,
	json_cb_string,
	json_cb_start_map,
	json_cb_map_key,
	json_cb_end,
	json_cb_start_array,
	json_cb_end
};

/* A copy of s with invalid UTF-8 replaced. */
static char *
json_clean_string(const char *s, size_t n, size_t *lenp)
{
	struct buf	 b = BUF_INIT;

	util_utf8_append(&b, s, n);
	return (buf_steal(&b, lenp));
}

/* Attach v to the open container (or make it the root). */
static int
json_add(struct json_parser *p, struct json *v)
{
	struct json	*top;
	size_t		 i;

	if (p->p_depth == 0) {
		p->p_root = v;
		return (1);
	}
	top = p->p_stack[p->p_depth - 1];
	if (top->j_type == JSON_ARRAY) {
		json_push(top, v);
		return (1);
	}
	for (i = 0; i < top->j_u.obj.n; i++) {
		if (strcmp(top->j_u.obj.m[i].m_key, p->p_key) == 0) {
			p->p_err = "duplicate key in object";
			json_free(v);
			return (0);
		}
	}
	top->j_u.obj.m = xreallocarray(top->j_u.obj.m, top->j_u.obj.n + 1,
	    sizeof *top->j_u.obj.m);
	top->j_u.obj.m[top->j_u.obj.n].m_key = p->p_key;
	top->j_u.obj.m[top->j_u.obj.n].m_klen = p->p_klen;
	top->j_u.obj.m[top->j_u.obj.n].m_val = v;
	top->j_u.obj.n++;
	p->p_key = NULL;
	return (1);
}

static int
json_cb_null(void *ctx)
{
	return (json_add(ctx, json_new(JSON_NULL)));
}

static int
json_cb_bool(void *ctx, int b)
{
	return (json_add(ctx, json_new_bool(b)));
}

static int
json_cb_number(void *ctx, const char *s, size_t n)
{
	struct json	*j;

	j = json_new(JSON_NUMBER);
	j->j_u.num.text = xstrndup(s, n);
	j->j_u.num.d = strtod(j->j_u.num.text, NULL);
	return (json_add(ctx, j));
}

static int
json_cb_string(void *ctx, const unsigned char *s, size_t n)
{
	struct json	*j;

	j = json_new(JSON_STRING);
	j->j_u.str.s = json_clean_string((const char *)s, n, &j->j_u.str.len);
	return (json_add(ctx, j));
}

/* Open a container. */
static int
json_open(struct json_parser *p, enum json_type type)
{
	struct json	*j;

	if (p->p_depth >= JSON_MAX_DEPTH) {
		p->p_err = "nesting too deep";
		return (0);
	}
	j = json_new(type);
	if (!json_add(p, j))
		return (0);
	p->p_stack[p->p_depth++] = j;
	return (1);
}

static int
json_cb_start_map(void *ctx)
{
	return (json_open(ctx, JSON_OBJECT));
}

static int
json_cb_start_array(void *ctx)
{
	return (json_open(ctx, JSON_ARRAY));
}

static int
json_cb_map_key(void *ctx, const unsigned char *s, size_t n)
{
	struct json_parser	*p = ctx;

	free(p->p_key);
	p->p_key = json_clean_string((const char *)s, n, &p->p_klen);
	return (1);
}

static int
json_cb_end(void *ctx)
{
	struct json_parser	*p = ctx;

	p->p_depth--;
	return (1);
}

/*
 * Append " at line L, column C" to err for byte offset off of text (the
 * end of the text after a premature end).  Columns count bytes from 1.
 */
static void
json_where(char *err, size_t errlen, const char *text, size_t len,
    size_t off)
{
	size_t	 i, line = 1, col = 1, n;

	if (off > len)
		off = len;
	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else
			col++;
	}
	n = strlen(err);
	if (n < errlen)
		snprintf(err + n, errlen - n, " at line %zu, column %zu", line,
		    col);
}

/* Parse exactly one JSON value. */
struct json *
json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct json_parser	 p;
	yajl_handle		 h;
	yajl_status		 st;
	unsigned char		*msg;
	char			*nl;
	size_t			 off;

	memset(&p, 0, sizeof p);
	h = yajl_alloc(&json_callbacks, NULL, &p);
	yajl_config(h, yajl_dont_validate_strings, 1);
	st = yajl_parse(h, (const unsigned char *)text, len);
	/* where it stopped; yajl_complete_parse consumes nothing */
	off = yajl_get_bytes_consumed(h);
	if (st == yajl_status_ok) {
		st = yajl_complete_parse(h);
		off = len;
	}
	if (st != yajl_status_ok) {
		if (p.p_err != NULL)
			snprintf(err, errlen, "%s", p.p_err);
		else {
			msg = yajl_get_error(h, 0, (const unsigned char *)text,
			    len);
			snprintf(err, errlen, "%s", (char *)msg);
			yajl_free_error(h, msg);
			if ((nl = strchr(err, '\n')) != NULL)
				*nl = '\0';
		}
		json_where(err, errlen, text, len, off);
		yajl_free(h);
		json_free(p.p_root);
		free(p.p_key);
		return (NULL);
	}
	yajl_free(h);
	free(p.p_key);
	if (p.p_root == NULL) {
		snprintf(err, errlen, "empty document");
		return (NULL);
	}
	return (p.p_root);
}

/* Free a tree; accepts NULL. */
void
json_free(struct json *j)
{
	size_t	 i;

	if (j == NULL)
		return;
	switch (j->j_type) {
	case JSON_NUMBER:
		free(j->j_u.num.text);
		break;
	case JSON_STRING:
		free(j->j_u.str.s);
		break;
	case JSON_ARRAY:
		for (i = 0; i < j->j_u.arr.n; i++)
			json_free(j->j_u.arr.v[i]);
		free(j->j_u.arr.v);
		break;
	case JSON_OBJECT:
		for (i = 0; i < j->j_u.obj.n; i++) {
			free(j->j_u.obj.m[i].m_key);
			json_free(j->j_u.obj.m[i].m_val);
		}
		free(j->j_u.obj.m);
		break;
	default:
		break;
	}
	free(j);
}

/* A deep copy. */
struct json *
json_dup(const struct json *j)
{
	struct json	*c;
	size_t		 i;

	if (j == NULL)
		return (NULL);
	c = json_new(j->j_type);
	switch (j->j_type) {
	case JSON_BOOL:
		c->j_u.b = j->j_u.b;
		break;
	case JSON_NUMBER:
		c->j_u.num.text = xstrdup(j->j_u.num.text);
		c->j_u.num.d = j->j_u.num.d;
		break;
	case JSON_STRING:
		c->j_u.str.s = xmemdup(j->j_u.str.s, j->j_u.str.len + 1);
		c->j_u.str.len = j->j_u.str.len;
		break;
	case JSON_ARRAY:
		for (i = 0; i < j->j_u.arr.n; i++)
			json_push(c, json_dup(j->j_u.arr.v[i]));
		break;
	case JSON_OBJECT:
		for (i = 0; i < j->j_u.obj.n; i++)
			json_set(c, j->j_u.obj.m[i].m_key,
			    json_dup(j->j_u.obj.m[i].m_val));
		break;
	default:
		break;
	}
	return (c);
}

/* Member of an object by key, or NULL. */
struct json *
json_get(const struct json *j, const char *key)
{
	size_t	 i;

	if (j == NULL || j->j_type != JSON_OBJECT)
		return (NULL);
	for (i = 0; i < j->j_u.obj.n; i++) {
		if (strcmp(j->j_u.obj.m[i].m_key, key) == 0)
			return (j->j_u.obj.m[i].m_val);
	}
	return (NULL);
}

/* Element i of an array, or NULL. */
struct json *
json_at(const struct json *j, size_t i)
{
	if (j == NULL || j->j_type != JSON_ARRAY || i >= j->j_u.arr.n)
		return (NULL);
	return (j->j_u.arr.v[i]);
}

/* Number of elements or members. */
size_t
json_len(const struct json *j)
{
	if (j == NULL)
		return (0);
	if (j->j_type == JSON_ARRAY)
		return (j->j_u.arr.n);
	if (j->j_type == JSON_OBJECT)
		return (j->j_u.obj.n);
	return (0);
}

/* The string, or NULL. */
const char *
json_str(const struct json *j)
{
	if (j == NULL || j->j_type != JSON_STRING)
		return (NULL);
	return (j->j_u.str.s);
}

/* True when j is a whole int64. */
int
json_int(const struct json *j, int64_t *out)
{
	if (j == NULL || j->j_type != JSON_NUMBER)
		return (0);
	return (util_parse_int64(j->j_u.num.text, strlen(j->j_u.num.text),
	    out) == 0);
}

/* True when j is a number. */
int
json_num(const struct json *j, double *out)
{
	if (j == NULL || j->j_type != JSON_NUMBER)
		return (0);
	*out = j->j_u.num.d;
	return (1);
}

/* True when j is a boolean. */
int
json_bool(const struct json *j, int *out)
{
	if (j == NULL || j->j_type != JSON_BOOL)
		return (0);
	*out = j->j_u.b;
	return (1);
}

/* Name of a type, for messages. */
const char *
json_type_name(enum json_type t)
{
	switch (t) {
	case JSON_NULL:
		return ("null");
	case JSON_BOOL:
		return ("boolean");
	case JSON_NUMBER:
		return ("number");
	case JSON_STRING:
		return ("string");
	case JSON_ARRAY:
		return ("array");
	case JSON_OBJECT:
		return ("object");
	}
	return ("?");
}

/* A new value of a type (containers empty, scalars zero). */
struct json *
json_new(enum json_type t)
{
	struct json	*j;

	j = xcalloc(1, sizeof *j);
	j->j_type = t;
	return (j);
}

/* A new string (copied, repaired to valid UTF-8). */
struct json *
json_new_str(const char *s, size_t n)
{
	struct json	*j;

	j = json_new(JSON_STRING);
	j->j_u.str.s = json_clean_string(s, n, &j->j_u.str.len);
	return (j);
}

/* A new integer. */
struct json *
json_new_int(int64_t v)
{
	struct json	*j;

	j = json_new(JSON_NUMBER);
	xasprintf(&j->j_u.num.text, "%lld", (long long)v);
	j->j_u.num.d = (double)v;
	return (j);
}

/* A new boolean. */
struct json *
json_new_bool(int b)
{
	struct json	*j;

	j = json_new(JSON_BOOL);
	j->j_u.b = b != 0;
	return (j);
}

/* Append v to array a (takes ownership of v). */
void
json_push(struct json *a, struct json *v)
{
	a->j_u.arr.v = xreallocarray(a->j_u.arr.v, a->j_u.arr.n + 1,
	    sizeof *a->j_u.arr.v);
	a->j_u.arr.v[a->j_u.arr.n++] = v;
}

/* Set key in object o to v, replacing any old value (takes v). */
void
json_set(struct json *o, const char *key, struct json *v)
{
	size_t	 i;

	for (i = 0; i < o->j_u.obj.n; i++) {
		if (strcmp(o->j_u.obj.m[i].m_key, key) == 0) {
			json_free(o->j_u.obj.m[i].m_val);
			o->j_u.obj.m[i].m_val = v;
			return;
		}
	}
	o->j_u.obj.m = xreallocarray(o->j_u.obj.m, o->j_u.obj.n + 1,
	    sizeof *o->j_u.obj.m);
	o->j_u.obj.m[o->j_u.obj.n].m_key = xstrdup(key);
	o->j_u.obj.m[o->j_u.obj.n].m_klen = strlen(key);
	o->j_u.obj.m[o->j_u.obj.n].m_val = v;
	o->j_u.obj.n++;
}

/* Remove key from object o; true if it was there. */
int
json_del(struct json *o, const char *key)
{
	size_t	 i;

	if (o == NULL || o->j_type != JSON_OBJECT)
		return (0);
	for (i = 0; i < o->j_u.obj.n; i++) {
		if (strcmp(o->j_u.obj.m[i].m_key, key) == 0) {
			free(o->j_u.obj.m[i].m_key);
			json_free(o->j_u.obj.m[i].m_val);
			memmove(&o->j_u.obj.m[i], &o->j_u.obj.m[i + 1],
			    (o->j_u.obj.n - i - 1) * sizeof *o->j_u.obj.m);
			o->j_u.obj.n--;
			return (1);
		}
	}
	return (0);
}

/* Apply an RFC 7386 merge patch to *target in place. */
void
json_merge_patch(struct json **target, const struct json *patch)
{
	struct json_member	*m;
	struct json		*cur;
	size_t			 i;

	if (patch->j_type != JSON_OBJECT) {
		json_free(*target);
		*target = json_dup(patch);
		return;
	}
	if (*target == NULL || (*target)->j_type != JSON_OBJECT) {
		json_free(*target);
		*target = json_new(JSON_OBJECT);
	}
	for (i = 0; i < patch->j_u.obj.n; i++) {
		m = &patch->j_u.obj.m[i];
		if (m->m_val->j_type == JSON_NULL) {
			json_del(*target, m->m_key);
			continue;
		}
		cur = json_dup(json_get(*target, m->m_key));
		json_merge_patch(&cur, m->m_val);
		json_set(*target, m->m_key, cur);
	}
}

/* Write j through a generator. */
void
json_gen(yajl_gen g, const struct json *j)
{
	size_t	 i;

	switch (j->j_type) {
	case JSON_NULL:
		yajl_gen_null(g);
		break;
	case JSON_BOOL:
		yajl_gen_bool(g, j->j_u.b);
		break;
	case JSON_NUMBER:
		yajl_gen_number(g, j->j_u.num.text, strlen(j->j_u.num.text));
		break;
	case JSON_STRING:
		yajl_gen_string(g, (const unsigned char *)j->j_u.str.s,
		    j->j_u.str.len);
		break;
	case JSON_ARRAY:
		yajl_gen_array_open(g);
		for (i = 0; i < j->j_u.arr.n; i++)
			json_gen(g, j->j_u.arr.v[i]);
		yajl_gen_array_close(g);
		break;
	case JSON_OBJECT:
		yajl_gen_map_open(g);
		for (i = 0; i < j->j_u.obj.n; i++) {
			yajl_gen_string(g,
			    (const unsigned char *)j->j_u.obj.m[i].m_key,
			    j->j_u.obj.m[i].m_klen);
			json_gen(g, j->j_u.obj.m[i].m_val);
		}
		yajl_gen_map_close(g);
		break;
	}
}

/* Serialize compactly into a new string. */
char *
json_to_string(const struct json *j, size_t *lenp)
{
	yajl_gen	 g;
	struct buf	 b = BUF_INIT;

	g = jgen_new();
	json_gen(g, j);
	jgen_take(g, &b);
	yajl_gen_free(g);
	return (buf_steal(&b, lenp));
}

/* Order members by key, for canonical output. */
static int
json_member_cmp(const void *a, const void *b)
{
	const struct json_member *ma = *(const struct json_member * const *)a;
	const struct json_member *mb = *(const struct json_member * const *)b;

	return (strcmp(ma->m_key, mb->m_key));
}

/* Generate with sorted keys. */
static void
json_gen_sorted(yajl_gen g, const struct json *j)
{
	const struct json_member	**v;
	size_t				  i, n;

	if (j->j_type == JSON_ARRAY) {
		yajl_gen_array_open(g);
		for (i = 0; i < j->j_u.arr.n; i++)
			json_gen_sorted(g, j->j_u.arr.v[i]);
		yajl_gen_array_close(g);
		return;
	}
	if (j->j_type != JSON_OBJECT) {
		json_gen(g, j);
		return;
	}
	n = j->j_u.obj.n;
	yajl_gen_map_open(g);
	if (n > 0) {
		v = xreallocarray(NULL, n, sizeof *v);
		for (i = 0; i < n; i++)
			v[i] = &j->j_u.obj.m[i];
		qsort(v, n, sizeof *v, json_member_cmp);
		for (i = 0; i < n; i++) {
			yajl_gen_string(g, (const unsigned char *)v[i]->m_key,
			    v[i]->m_klen);
			json_gen_sorted(g, v[i]->m_val);
		}
		free(v);
	}
	yajl_gen_map_close(g);
}

/* Serialize with object keys sorted (for hashing). */
void
json_canonical(const struct json *j, struct buf *b)
{
	yajl_gen	 g;

	g = jgen_new();
	json_gen_sorted(g, j);
	jgen_take(g, b);
	yajl_gen_free(g);
}

/* Append s as a JSON string: quoted, escaped, UTF-8 repaired. */
void
json_append_string(struct buf *b, const char *s, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	struct buf		 clean = BUF_INIT;
	const unsigned char	*p;
	size_t			 i, start = 0;
	char			 esc[7];

	if (!util_utf8_valid(s, n)) {
		util_utf8_append(&clean, s, n);
		s = clean.b_data;
		n = clean.b_len;
	}
	p = (const unsigned char *)s;
	buf_reserve(b, n + 2);
	buf_addc(b, '"');
	for (i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] != '"' && p[i] != '\\')
			continue;
		buf_add(b, s + start, i - start);
		start = i + 1;
		switch (p[i]) {
		case '"':
			buf_add(b, "\\\"", 2);
			break;
		case '\\':
			buf_add(b, "\\\\", 2);
			break;
		case '\n':
			buf_add(b, "\\n", 2);
			break;
		case '\r':
			buf_add(b, "\\r", 2);
			break;
		case '\t':
			buf_add(b, "\\t", 2);
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 0xf];
			buf_add(b, esc, 6);
			break;
		}
	}
	buf_add(b, s + start, n - start);
	buf_addc(b, '"');
	buf_free(&clean);
}

/* A new generator; strings we hand it are already valid UTF-8. */
yajl_gen
jgen_new(void)
{
	yajl_gen	 g;

	if ((g = yajl_gen_alloc(NULL)) == NULL)
		fatalx("yajl_gen_alloc");
	yajl_gen_config(g, yajl_gen_validate_utf8, 0);
	return (g);
}

/* Append the generator's output to b and clear the generator. */
void
jgen_take(yajl_gen g, struct buf *b)
{
	const unsigned char	*p;
	size_t			 n;

	yajl_gen_get_buf(g, &p, &n);
	buf_add(b, p, n);
	yajl_gen_clear(g);
}

void
jgen_str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void
jgen_strn(yajl_gen g, const char *s, size_t n)
{
	yajl_gen_string(g, (const unsigned char *)s, n);
}

void
jgen_int(yajl_gen g, int64_t v)
{
	yajl_gen_integer(g, (long long)v);
}

void
jgen_bool(yajl_gen g, int b)
{
	yajl_gen_bool(g, b);
}

void
jgen_null(yajl_gen g)
{
	yajl_gen_null(g);
}

/* A string, or null when s is NULL. */
void
jgen_str_or_null(yajl_gen g, const char *s)
{
	if (s == NULL)
		yajl_gen_null(g);
	else
		jgen_str(g, s);
}

/* An RFC 3339 time from ms, or null when ms is 0. */
void
jgen_time(yajl_gen g, int64_t ms)
{
	char	 t[UTIL_TIMELEN];

	if (ms == 0) {
		yajl_gen_null(g);
		return;
	}
	util_fmt_time(ms, t, sizeof t);
	jgen_str(g, t);
}

/* A raw JSON value inserted verbatim (yajl treats it as one atom). */
void
jgen_raw(yajl_gen g, const char *s, size_t n)
{
	yajl_gen_number(g, s, n);
}

void
jgen_kstr(yajl_gen g, const char *k, const char *v)
{
	jgen_str(g, k);
	jgen_str_or_null(g, v);
}

void
jgen_kint(yajl_gen g, const char *k, int64_t v)
{
	jgen_str(g, k);
	jgen_int(g, v);
}

void
jgen_kbool(yajl_gen g, const char *k, int v)
{
	jgen_str(g, k);
	jgen_bool(g, v);
}

void
jgen_ktime(yajl_gen g, const char *k, int64_t ms)
{
	jgen_str(g, k);
	jgen_time(g, ms);
}
