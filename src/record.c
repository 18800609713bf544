/*
 * record.c -- one hit or bucket: a flat, ordered list of key -> JSON value.
 *
 * Keys and values are appended to one arena; a table of offsets gives the
 * fields in order.  record_from_json reads an object with yajl's streaming
 * parser and flattens nested objects into dotted keys, the way jstream does
 * for the records it captures; arrays are kept as compact JSON text.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "buf.h"
#include "json.h"
#include "record.h"
#include "util.h"
#include "xmalloc.h"

#define RECORD_MAX_DEPTH	JSON_MAX_DEPTH

/* One open container while reading an object. */
struct record_frame {
	int		 rf_array;	/* 1 for an array, 0 for an object */
	size_t		 rf_count;	/* members or elements so far */
	size_t		 rf_kplen;	/* key prefix length at the open */
};

/* The state of record_from_json. */
struct record_parser {
	struct record		*rp_rec;
	struct record_frame	 rp_stack[RECORD_MAX_DEPTH + 1];
	int			 rp_depth;
	struct buf		 rp_key;	/* the current dotted key */
	struct buf		 rp_text;	/* an array being written */
	int			 rp_text_depth;	/* its depth, 0 if none */
	struct buf		 rp_tmp;
	const char		*rp_err;
};

static void	record_grow(struct record *, size_t);
static void	record_unescape(const char *, size_t, struct buf *);
static int	record_hex4(const char *, unsigned int *);
static void	record_put_utf8(struct buf *, unsigned int);
static int	record_value(struct record_parser *, const char *, size_t,
		    int);
static int	record_cb_null(void *);
static int	record_cb_bool(void *, int);
static int	record_cb_number(void *, const char *, size_t);
static int	record_cb_string(void *, const unsigned char *, size_t);
static int	record_cb_start_map(void *);
static int	record_cb_map_key(void *, const unsigned char *, size_t);
static int	record_cb_end_map(void *);
static int	record_cb_start_array(void *);
static int	record_cb_end_array(void *);

static const yajl_callbacks record_callbacks = {
	record_cb_null,
	record_cb_bool,
	NULL,
	NULL,
	record_cb_number,
	record_cb_string,
	record_cb_start_map,
	record_cb_map_key,
	record_cb_end_map,
	record_cb_start_array,
	record_cb_end_array
};

/* A new empty record. */
struct record *
record_new(void)
{
	struct record	*r;

	r = xcalloc(1, sizeof *r);
	r->r_nsrc = SIZE_MAX;		/* all from the source */
	return (r);
}

/* Free a record; accepts NULL. */
void
record_free(struct record *r)
{
	if (r == NULL)
		return;
	free(r->r_arena);
	free(r->r_fields);
	free(r->r_id);
	free(r->r_sort);
	free(r->r_url);
	free(r);
}

/* Bytes the record holds, for accounting. */
size_t
record_size(const struct record *r)
{
	size_t	 n;

	n = sizeof *r + r->r_size + r->r_cap * sizeof *r->r_fields;
	if (r->r_id != NULL)
		n += strlen(r->r_id) + 1;
	if (r->r_sort != NULL)
		n += strlen(r->r_sort) + 1;
	return (n);
}

/* Make room for n more arena bytes and one more field. */
static void
record_grow(struct record *r, size_t n)
{
	size_t	 want;

	if (n > UINT32_MAX || r->r_len > UINT32_MAX - n)
		fatalx("record: arena over 4 GB");
	if (r->r_len + n > r->r_size) {
		want = r->r_size == 0 ? 128 : r->r_size;
		while (want < r->r_len + n)
			want *= 2;
		r->r_arena = xrealloc(r->r_arena, want);
		r->r_size = want;
	}
	if (r->r_n == r->r_cap) {
		r->r_cap = r->r_cap == 0 ? 8 : r->r_cap * 2;
		r->r_fields = xreallocarray(r->r_fields, r->r_cap,
		    sizeof *r->r_fields);
	}
}

/* Append key -> value (valid JSON text). */
void
record_add(struct record *r, const char *k, size_t klen, const char *v,
    size_t vlen)
{
	struct record_field	*f;

	if (klen > UINT32_MAX - vlen)
		fatalx("record: field over 4 GB");
	record_grow(r, klen + vlen);
	f = &r->r_fields[r->r_n++];
	f->f_key = (uint32_t)r->r_len;
	f->f_klen = (uint32_t)klen;
	if (klen > 0)
		memcpy(r->r_arena + r->r_len, k, klen);
	r->r_len += klen;
	f->f_val = (uint32_t)r->r_len;
	f->f_vlen = (uint32_t)vlen;
	if (vlen > 0)
		memcpy(r->r_arena + r->r_len, v, vlen);
	r->r_len += vlen;
}

/* Append key -> the JSON string of s. */
void
record_add_str(struct record *r, const char *k, const char *s, size_t n)
{
	struct buf	 b = BUF_INIT;

	json_append_string(&b, s, n);
	record_add(r, k, strlen(k), b.b_data, b.b_len);
	buf_free(&b);
}

/* Append key -> integer. */
void
record_add_int(struct record *r, const char *k, int64_t v)
{
	char	 s[32];
	int	 n;

	n = snprintf(s, sizeof s, "%lld", (long long)v);
	record_add(r, k, strlen(k), s, (size_t)n);
}

/* Number of fields. */
size_t
record_count(const struct record *r)
{
	return (r->r_n);
}

/* Key of field i. */
const char *
record_key(const struct record *r, size_t i, size_t *len)
{
	if (i >= r->r_n) {
		if (len != NULL)
			*len = 0;
		return (NULL);
	}
	if (len != NULL)
		*len = r->r_fields[i].f_klen;
	return (r->r_arena + r->r_fields[i].f_key);
}

/* JSON value of field i. */
const char *
record_val(const struct record *r, size_t i, size_t *len)
{
	if (i >= r->r_n) {
		if (len != NULL)
			*len = 0;
		return (NULL);
	}
	if (len != NULL)
		*len = r->r_fields[i].f_vlen;
	return (r->r_arena + r->r_fields[i].f_val);
}

/* Index of the first field named key, or -1. */
int
record_find(const struct record *r, const char *k, size_t klen)
{
	const struct record_field	*f;
	size_t				 i;

	for (i = 0; i < r->r_n; i++) {
		f = &r->r_fields[i];
		if (f->f_klen == klen &&
		    (klen == 0 || memcmp(r->r_arena + f->f_key, k, klen) == 0))
			return (i > INT32_MAX ? -1 : (int)i);
	}
	return (-1);
}

/* JSON value of the first field named key, or NULL. */
const char *
record_get(const struct record *r, const char *k, size_t *len)
{
	int	 i;

	if ((i = record_find(r, k, strlen(k))) == -1)
		return (NULL);
	return (record_val(r, (size_t)i, len));
}

/* Four hex digits at s; returns 0 or -1. */
static int
record_hex4(const char *s, unsigned int *out)
{
	unsigned int	 v = 0;
	int		 i;
	char		 c;

	for (i = 0; i < 4; i++) {
		c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned int)(c - 'A' + 10);
		else
			return (-1);
	}
	*out = v;
	return (0);
}

/* Append code point c as UTF-8. */
static void
record_put_utf8(struct buf *b, unsigned int c)
{
	char	 s[4];

	if (c < 0x80)
		buf_addc(b, (char)c);
	else if (c < 0x800) {
		s[0] = (char)(0xc0 | (c >> 6));
		s[1] = (char)(0x80 | (c & 0x3f));
		buf_add(b, s, 2);
	} else if (c < 0x10000) {
		s[0] = (char)(0xe0 | (c >> 12));
		s[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		s[2] = (char)(0x80 | (c & 0x3f));
		buf_add(b, s, 3);
	} else {
		s[0] = (char)(0xf0 | (c >> 18));
		s[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		s[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		s[3] = (char)(0x80 | (c & 0x3f));
		buf_add(b, s, 4);
	}
}

/*
 * Decode the JSON string v (n bytes, quotes included) into b.  Lone
 * surrogates become U+FFFD.
 */
static void
record_unescape(const char *v, size_t n, struct buf *b)
{
	size_t		 i, start;
	unsigned int	 c, lo;

	if (n < 2) {
		buf_add(b, "", 0);
		return;
	}
	v++;
	n -= 2;
	buf_reserve(b, n);
	for (i = start = 0; i < n; i++) {
		if (v[i] != '\\')
			continue;
		buf_add(b, v + start, i - start);
		if (++i >= n)
			break;
		switch (v[i]) {
		case 'b':
			buf_addc(b, '\b');
			break;
		case 'f':
			buf_addc(b, '\f');
			break;
		case 'n':
			buf_addc(b, '\n');
			break;
		case 'r':
			buf_addc(b, '\r');
			break;
		case 't':
			buf_addc(b, '\t');
			break;
		case 'u':
			if (i + 4 >= n || record_hex4(v + i + 1, &c) == -1) {
				c = 0xfffd;
				record_put_utf8(b, c);
				break;
			}
			i += 4;
			if (c >= 0xd800 && c <= 0xdbff && i + 6 < n &&
			    v[i + 1] == '\\' && v[i + 2] == 'u' &&
			    record_hex4(v + i + 3, &lo) == 0 &&
			    lo >= 0xdc00 && lo <= 0xdfff) {
				c = 0x10000 + ((c - 0xd800) << 10) +
				    (lo - 0xdc00);
				i += 6;
			} else if (c >= 0xd800 && c <= 0xdfff)
				c = 0xfffd;
			record_put_utf8(b, c);
			break;
		default:	/* '"', '\\', '/' */
			buf_addc(b, v[i]);
			break;
		}
		start = i + 1;
	}
	buf_add(b, v + start, start < n ? n - start : 0);
}

/* The value of key as text, appended to b; 0, or -1 if absent. */
int
record_get_text(const struct record *r, const char *k, struct buf *b)
{
	const char	*v;
	size_t		 n;

	if ((v = record_get(r, k, &n)) == NULL)
		return (-1);
	if (n >= 2 && v[0] == '"')
		record_unescape(v, n, b);
	else {
		buf_add(b, v, n);
		if (b->b_data == NULL)
			buf_add(b, "", 0);
	}
	return (0);
}

/* Remove every field named key, compacting the arena. */
size_t
record_del(struct record *r, const char *k)
{
	struct record_field	*f;
	size_t			 i, j, w, klen, gone = 0, nsrc_gone = 0;

	klen = strlen(k);
	if (record_find(r, k, klen) == -1)
		return (0);
	for (i = j = w = 0; i < r->r_n; i++) {
		f = &r->r_fields[i];
		if (f->f_klen == klen &&
		    (klen == 0 || memcmp(r->r_arena + f->f_key, k, klen) == 0)) {
			gone++;
			if (i < r->r_nsrc)
				nsrc_gone++;
			continue;
		}
		/* Fields lie in the arena in order: moving down is safe. */
		memmove(r->r_arena + w, r->r_arena + f->f_key, f->f_klen);
		f->f_key = (uint32_t)w;
		w += f->f_klen;
		memmove(r->r_arena + w, r->r_arena + f->f_val, f->f_vlen);
		f->f_val = (uint32_t)w;
		w += f->f_vlen;
		r->r_fields[j++] = *f;
	}
	r->r_n = j;
	r->r_len = w;
	r->r_nsrc = r->r_nsrc > nsrc_gone ? r->r_nsrc - nsrc_gone : 0;
	if (r->r_nsrc > r->r_n)
		r->r_nsrc = r->r_n;
	return (gone);
}

/* Set the source id (copied). */
void
record_set_id(struct record *r, const char *s, size_t n)
{
	free(r->r_id);
	r->r_id = xstrndup(s, n);
}

/* Set the raw sort array (copied). */
void
record_set_sort(struct record *r, const char *s, size_t n)
{
	free(r->r_sort);
	r->r_sort = xstrndup(s, n);
}

/* Write the record as one JSON object. */
void
record_gen(yajl_gen g, const struct record *r)
{
	const struct record_field	*f;
	size_t				 i;

	yajl_gen_map_open(g);
	for (i = 0; i < r->r_n; i++) {
		f = &r->r_fields[i];
		yajl_gen_string(g, (const unsigned char *)r->r_arena + f->f_key,
		    f->f_klen);
		jgen_raw(g, r->r_arena + f->f_val, f->f_vlen);
	}
	yajl_gen_map_close(g);
}

/* The record as a JSON object text, into b. */
void
record_to_json(const struct record *r, struct buf *b)
{
	const struct record_field	*f;
	size_t				 i;

	buf_addc(b, '{');
	for (i = 0; i < r->r_n; i++) {
		f = &r->r_fields[i];
		if (i > 0)
			buf_addc(b, ',');
		json_append_string(b, r->r_arena + f->f_key, f->f_klen);
		buf_addc(b, ':');
		buf_add(b, r->r_arena + f->f_val, f->f_vlen);
	}
	buf_addc(b, '}');
}

/*
 * A value (JSON text v, n bytes) arrives.  In an array being written it is
 * appended to that text; in an object it becomes a field.  str: v is raw
 * string bytes to quote.
 */
static int
record_value(struct record_parser *p, const char *v, size_t n, int str)
{
	struct record_frame	*top;

	if (p->rp_depth == 0) {
		p->rp_err = "not a JSON object";
		return (0);
	}
	top = &p->rp_stack[p->rp_depth - 1];
	if (p->rp_text_depth > 0) {
		if (top->rf_array && top->rf_count++ > 0)
			buf_addc(&p->rp_text, ',');
		if (str)
			json_append_string(&p->rp_text, v, n);
		else
			buf_add(&p->rp_text, v, n);
		return (1);
	}
	top->rf_count++;
	if (str) {
		buf_reset(&p->rp_tmp);
		json_append_string(&p->rp_tmp, v, n);
		v = p->rp_tmp.b_data;
		n = p->rp_tmp.b_len;
	}
	record_add(p->rp_rec, p->rp_key.b_data, p->rp_key.b_len, v, n);
	return (1);
}

static int
record_cb_null(void *ctx)
{
	return (record_value(ctx, "null", 4, 0));
}

static int
record_cb_bool(void *ctx, int b)
{
	return (record_value(ctx, b ? "true" : "false", b ? 4 : 5, 0));
}

static int
record_cb_number(void *ctx, const char *s, size_t n)
{
	return (record_value(ctx, s, n, 0));
}

static int
record_cb_string(void *ctx, const unsigned char *s, size_t n)
{
	return (record_value(ctx, (const char *)s, n, 1));
}

/* Open a container. */
static int
record_open(struct record_parser *p, int array)
{
	struct record_frame	*top, *f;

	if (p->rp_depth >= RECORD_MAX_DEPTH) {
		p->rp_err = "nesting too deep";
		return (0);
	}
	if (p->rp_depth == 0 && array) {
		p->rp_err = "not a JSON object";
		return (0);
	}
	top = p->rp_depth > 0 ? &p->rp_stack[p->rp_depth - 1] : NULL;
	if (top != NULL && (p->rp_text_depth > 0 || array)) {
		/* Inside an array's text, or an array starts. */
		if (p->rp_text_depth == 0) {
			top->rf_count++;
			buf_reset(&p->rp_text);
			p->rp_text_depth = p->rp_depth + 1;
		} else if (top->rf_array && top->rf_count++ > 0)
			buf_addc(&p->rp_text, ',');
		buf_addc(&p->rp_text, array ? '[' : '{');
	} else if (top != NULL)
		top->rf_count++;
	f = &p->rp_stack[p->rp_depth++];
	f->rf_array = array;
	f->rf_count = 0;
	f->rf_kplen = p->rp_key.b_len;
	return (1);
}

static int
record_cb_start_map(void *ctx)
{
	return (record_open(ctx, 0));
}

static int
record_cb_start_array(void *ctx)
{
	return (record_open(ctx, 1));
}

static int
record_cb_map_key(void *ctx, const unsigned char *s, size_t n)
{
	struct record_parser	*p = ctx;
	struct record_frame	*top = &p->rp_stack[p->rp_depth - 1];

	if (p->rp_text_depth > 0) {
		if (top->rf_count++ > 0)
			buf_addc(&p->rp_text, ',');
		json_append_string(&p->rp_text, (const char *)s, n);
		buf_addc(&p->rp_text, ':');
		return (1);
	}
	p->rp_key.b_len = top->rf_kplen;
	if (p->rp_key.b_len > 0)
		buf_addc(&p->rp_key, '.');
	util_utf8_append(&p->rp_key, (const char *)s, n);
	if (p->rp_key.b_data == NULL)
		buf_add(&p->rp_key, "", 0);
	return (1);
}

static int
record_cb_end_map(void *ctx)
{
	struct record_parser	*p = ctx;
	struct record_frame	*f = &p->rp_stack[--p->rp_depth];

	if (p->rp_text_depth > 0) {
		buf_addc(&p->rp_text, '}');
		return (1);
	}
	p->rp_key.b_len = f->rf_kplen;
	if (p->rp_key.b_data != NULL)
		p->rp_key.b_data[f->rf_kplen] = '\0';
	/* An empty nested object stays visible as "{}". */
	if (f->rf_count == 0 && p->rp_depth > 0)
		record_add(p->rp_rec, p->rp_key.b_data, p->rp_key.b_len,
		    "{}", 2);
	return (1);
}

static int
record_cb_end_array(void *ctx)
{
	struct record_parser	*p = ctx;

	buf_addc(&p->rp_text, ']');
	if (p->rp_text_depth == p->rp_depth) {
		record_add(p->rp_rec, p->rp_key.b_data, p->rp_key.b_len,
		    p->rp_text.b_data, p->rp_text.b_len);
		p->rp_text_depth = 0;
	}
	p->rp_depth--;
	return (1);
}

/* A record from a JSON object text; NULL with err set on bad input. */
struct record *
record_from_json(const char *text, size_t len, char *err, size_t errlen)
{
	struct record_parser	 p;
	yajl_handle		 h;
	yajl_status		 st;
	unsigned char		*msg;
	char			*nl;
	struct record		*r = NULL;

	memset(&p, 0, sizeof p);
	p.rp_rec = record_new();
	if ((h = yajl_alloc(&record_callbacks, NULL, &p)) == NULL)
		fatalx("yajl_alloc");
	yajl_config(h, yajl_dont_validate_strings, 1);
	st = yajl_parse(h, (const unsigned char *)text, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (st != yajl_status_ok) {
		if (err != NULL && errlen > 0) {
			if (p.rp_err != NULL)
				snprintf(err, errlen, "%s", p.rp_err);
			else {
				msg = yajl_get_error(h, 0,
				    (const unsigned char *)text, len);
				snprintf(err, errlen, "%s", (char *)msg);
				yajl_free_error(h, msg);
				if ((nl = strchr(err, '\n')) != NULL)
					*nl = '\0';
			}
		}
		record_free(p.rp_rec);
	} else
		r = p.rp_rec;
	yajl_free(h);
	buf_free(&p.rp_key);
	buf_free(&p.rp_text);
	buf_free(&p.rp_tmp);
	return (r);
}
