/*
 * jstream.c -- a streaming JSON reader that emits records.
 *
 * yajl calls us back token by token.  A stack of open containers gives the
 * path of the current value, as segments (object keys and "[]").  When an
 * object opens at a path a capture pattern names, a record is built from
 * its tokens (nested objects flattened into dotted keys, arrays written
 * out as text) and handed over when the object closes; nothing else is
 * kept.  Scalars outside captures go to the scalar callback with their
 * dotted path.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "buf.h"
#include "json.h"
#include "jstream.h"
#include "record.h"
#include "util.h"
#include "xmalloc.h"

/* One segment of a capture pattern. */
struct js_seg {
	int		 sg_kind;
#define JS_SEG_KEY	0
#define JS_SEG_ANY	1	/* "*": any one key */
#define JS_SEG_ARRAY	2	/* "[]": any element */
	const char	*sg_name;	/* into the borrowed pattern */
	size_t		 sg_len;
};

struct js_pattern {
	struct js_seg	*p_segs;
	size_t		 p_n;
};

/* One open container. */
struct js_frame {
	int		 f_array;
	size_t		 f_count;	/* members or elements so far */
	size_t		 f_plen;	/* path length at the open */
	size_t		 f_seg;		/* current key in the path (objects) */
	size_t		 f_seglen;
	size_t		 f_kplen;	/* record key prefix at the open */
};

struct jstream {
	struct js_pattern	*js_pats;
	size_t			 js_npats;
	jstream_record_cb	 js_record_cb;
	jstream_scalar_cb	 js_scalar_cb;
	void			*js_arg;
	yajl_handle		 js_h;

	struct js_frame		 js_stack[JSTREAM_MAX_DEPTH];
	int			 js_depth;
	struct buf		 js_path;	/* dotted path of the value */

	struct record		*js_rec;	/* the record being built */
	int			 js_cap_depth;	/* its frame's depth, 0 none */
	int			 js_cap_pat;
	struct buf		 js_key;	/* current dotted record key */
	struct buf		 js_text;	/* an array being written */
	int			 js_text_depth;	/* its depth, 0 if none */
	struct buf		 js_tmp;

	size_t			 js_bytes;
	size_t			 js_records;
	int			 js_failed;
	int			 js_finished;
	char			 js_err[256];
};

static void	js_compile(struct js_pattern *, const char *);
static int	js_match(struct jstream *);
static int	js_fail(struct jstream *, const char *);
static int	js_check_size(struct jstream *);
static int	js_scalar(struct jstream *, enum json_type, const char *,
		    size_t);
static int	js_open(struct jstream *, int);
static int	js_close(struct jstream *);
static int	js_cb_null(void *);
static int	js_cb_bool(void *, int);
static int	js_cb_number(void *, const char *, size_t);
static int	js_cb_string(void *, const unsigned char *, size_t);
static int	js_cb_start_map(void *);
static int	js_cb_map_key(void *, const unsigned char *, size_t);
static int	js_cb_end(void *);
static int	js_cb_start_array(void *);
static void	js_yajl_error(struct jstream *, const char *, size_t, size_t);

static const yajl_callbacks js_callbacks = {
	js_cb_null,
	js_cb_bool,
	NULL,
	NULL,
	js_cb_number,
	js_cb_string,
	js_cb_start_map,
	js_cb_map_key,
	js_cb_end,
	js_cb_start_array,
	js_cb_end
};

/* Split a pattern like "aggregations.*.buckets[]" into segments. */
static void
js_compile(struct js_pattern *p, const char *s)
{
	const char	*dot, *end;
	size_t		 n, arrays;

	p->p_segs = NULL;
	p->p_n = 0;
	if (*s == '\0')
		return;
	for (;;) {
		if ((dot = strchr(s, '.')) == NULL)
			dot = s + strlen(s);
		end = dot;
		for (arrays = 0; end - s >= 2 && end[-2] == '[' &&
		    end[-1] == ']'; arrays++)
			end -= 2;
		n = (size_t)(end - s);
		p->p_segs = xreallocarray(p->p_segs, p->p_n + arrays + 1,
		    sizeof *p->p_segs);
		if (n > 0) {
			p->p_segs[p->p_n].sg_kind = (n == 1 && *s == '*') ?
			    JS_SEG_ANY : JS_SEG_KEY;
			p->p_segs[p->p_n].sg_name = s;
			p->p_segs[p->p_n].sg_len = n;
			p->p_n++;
		}
		while (arrays-- > 0) {
			p->p_segs[p->p_n].sg_kind = JS_SEG_ARRAY;
			p->p_segs[p->p_n].sg_name = NULL;
			p->p_segs[p->p_n].sg_len = 0;
			p->p_n++;
		}
		if (*dot == '\0')
			break;
		s = dot + 1;
	}
}

/* A new reader. */
struct jstream *
jstream_new(const char *const *patterns, jstream_record_cb rcb,
    jstream_scalar_cb scb, void *arg)
{
	struct jstream	*js;
	size_t		 i;

	js = xcalloc(1, sizeof *js);
	for (i = 0; patterns != NULL && patterns[i] != NULL; i++)
		;
	js->js_npats = i;
	if (i > 0) {
		js->js_pats = xreallocarray(NULL, i, sizeof *js->js_pats);
		for (i = 0; i < js->js_npats; i++)
			js_compile(&js->js_pats[i], patterns[i]);
	}
	js->js_record_cb = rcb;
	js->js_scalar_cb = scb;
	js->js_arg = arg;
	if ((js->js_h = yajl_alloc(&js_callbacks, NULL, js)) == NULL)
		fatalx("yajl_alloc");
	yajl_config(js->js_h, yajl_dont_validate_strings, 1);
	yajl_config(js->js_h, yajl_allow_partial_values, 0);
	buf_add(&js->js_path, "", 0);
	return (js);
}

/* Free a reader; accepts NULL. */
void
jstream_free(struct jstream *js)
{
	size_t	 i;

	if (js == NULL)
		return;
	yajl_free(js->js_h);
	for (i = 0; i < js->js_npats; i++)
		free(js->js_pats[i].p_segs);
	free(js->js_pats);
	record_free(js->js_rec);
	buf_free(&js->js_path);
	buf_free(&js->js_key);
	buf_free(&js->js_text);
	buf_free(&js->js_tmp);
	free(js);
}

/* Record our own reason to stop; returns 0 for yajl. */
static int
js_fail(struct jstream *js, const char *msg)
{
	if (js->js_err[0] == '\0')
		snprintf(js->js_err, sizeof js->js_err, "%s", msg);
	return (0);
}

/* True (1) while the record being built fits its limit. */
static int
js_check_size(struct jstream *js)
{
	size_t	 n;

	n = js->js_rec->r_len + js->js_rec->r_n * sizeof(struct record_field) +
	    js->js_text.b_len + js->js_key.b_len;
	if (n > JSTREAM_MAX_RECORD) {
		snprintf(js->js_err, sizeof js->js_err, "record larger than "
		    "%d bytes (JSTREAM_MAX_RECORD)", JSTREAM_MAX_RECORD);
		return (0);
	}
	return (1);
}

/* Does the value about to open at the current position start a capture? */
static int
js_match(struct jstream *js)
{
	const struct js_pattern	*p;
	const struct js_seg	*sg;
	const struct js_frame	*f;
	size_t			 i;
	int			 d;

	for (i = 0; i < js->js_npats; i++) {
		p = &js->js_pats[i];
		if (p->p_n != (size_t)js->js_depth)
			continue;
		for (d = 0; d < js->js_depth; d++) {
			f = &js->js_stack[d];
			sg = &p->p_segs[d];
			if (f->f_array) {
				if (sg->sg_kind != JS_SEG_ARRAY)
					break;
			} else if (sg->sg_kind == JS_SEG_ARRAY)
				break;
			else if (sg->sg_kind == JS_SEG_KEY &&
			    (sg->sg_len != f->f_seglen ||
			    memcmp(sg->sg_name, js->js_path.b_data + f->f_seg,
			    f->f_seglen) != 0))
				break;
		}
		if (d == js->js_depth)
			return ((int)i);
	}
	return (-1);
}

/*
 * A scalar: part of a record, of an array's text, or reported with its
 * path.  For JSON_STRING, s is the raw (decoded, maybe invalid) string.
 */
static int
js_scalar(struct jstream *js, enum json_type type, const char *s, size_t n)
{
	struct js_frame	*top;
	const char	*path;

	top = js->js_depth > 0 ? &js->js_stack[js->js_depth - 1] : NULL;
	if (js->js_text_depth > 0) {
		if (top->f_array && top->f_count++ > 0)
			buf_addc(&js->js_text, ',');
		if (type == JSON_STRING)
			json_append_string(&js->js_text, s, n);
		else
			buf_add(&js->js_text, s, n);
		return (js_check_size(js));
	}
	if (js->js_cap_depth > 0) {
		top->f_count++;
		if (type == JSON_STRING) {
			buf_reset(&js->js_tmp);
			json_append_string(&js->js_tmp, s, n);
			s = js->js_tmp.b_data;
			n = js->js_tmp.b_len;
		}
		record_add(js->js_rec, js->js_key.b_data, js->js_key.b_len,
		    s, n);
		return (js_check_size(js));
	}
	if (top != NULL)
		top->f_count++;
	if (js->js_scalar_cb == NULL)
		return (1);
	buf_reset(&js->js_tmp);
	if (type == JSON_STRING)
		util_utf8_append(&js->js_tmp, s, n);
	else
		buf_add(&js->js_tmp, s, n);
	if (js->js_tmp.b_data == NULL)
		buf_add(&js->js_tmp, "", 0);
	path = js->js_path.b_data != NULL ? js->js_path.b_data : "";
	if (js->js_scalar_cb(js->js_arg, path, type, js->js_tmp.b_data,
	    js->js_tmp.b_len) == -1)
		return (js_fail(js, "cancelled"));
	return (1);
}

static int
js_cb_null(void *ctx)
{
	return (js_scalar(ctx, JSON_NULL, "null", 4));
}

static int
js_cb_bool(void *ctx, int b)
{
	return (js_scalar(ctx, JSON_BOOL, b ? "true" : "false", b ? 4 : 5));
}

static int
js_cb_number(void *ctx, const char *s, size_t n)
{
	return (js_scalar(ctx, JSON_NUMBER, s, n));
}

static int
js_cb_string(void *ctx, const unsigned char *s, size_t n)
{
	return (js_scalar(ctx, JSON_STRING, (const char *)s, n));
}

/* An object or array opens. */
static int
js_open(struct jstream *js, int array)
{
	struct js_frame	*top, *f;
	int		 pat = -1;

	if (js->js_depth >= JSTREAM_MAX_DEPTH) {
		snprintf(js->js_err, sizeof js->js_err,
		    "nesting deeper than %d (JSTREAM_MAX_DEPTH)",
		    JSTREAM_MAX_DEPTH);
		return (0);
	}
	top = js->js_depth > 0 ? &js->js_stack[js->js_depth - 1] : NULL;
	if (js->js_text_depth > 0) {
		if (top->f_array && top->f_count++ > 0)
			buf_addc(&js->js_text, ',');
		buf_addc(&js->js_text, array ? '[' : '{');
	} else if (js->js_cap_depth > 0) {
		top->f_count++;
		if (array) {
			buf_reset(&js->js_text);
			buf_addc(&js->js_text, '[');
			js->js_text_depth = js->js_depth + 1;
		}
	} else {
		if (top != NULL)
			top->f_count++;
		if (!array && (pat = js_match(js)) >= 0) {
			js->js_rec = record_new();
			js->js_cap_pat = pat;
			js->js_cap_depth = js->js_depth + 1;
			buf_reset(&js->js_key);
		}
	}
	f = &js->js_stack[js->js_depth++];
	f->f_array = array;
	f->f_count = 0;
	f->f_plen = js->js_path.b_len;
	f->f_seg = f->f_seglen = 0;
	f->f_kplen = js->js_key.b_len;
	if (array && js->js_cap_depth == 0)
		buf_add(&js->js_path, "[]", 2);
	return (1);
}

/* An object or array closes. */
static int
js_close(struct jstream *js)
{
	struct js_frame	*f;
	struct record	*rec;
	int		 depth = js->js_depth;

	f = &js->js_stack[--js->js_depth];
	if (js->js_text_depth > 0) {
		buf_addc(&js->js_text, f->f_array ? ']' : '}');
		if (js->js_text_depth == depth) {
			js->js_text_depth = 0;
			record_add(js->js_rec, js->js_key.b_data,
			    js->js_key.b_len, js->js_text.b_data,
			    js->js_text.b_len);
			buf_reset(&js->js_text);
		}
		return (js_check_size(js));
	}
	if (js->js_cap_depth > 0 && depth > js->js_cap_depth) {
		/* A nested object of a record. */
		js->js_key.b_len = f->f_kplen;
		if (js->js_key.b_data != NULL)
			js->js_key.b_data[f->f_kplen] = '\0';
		if (f->f_count == 0) {
			record_add(js->js_rec, js->js_key.b_data,
			    js->js_key.b_len, "{}", 2);
			return (js_check_size(js));
		}
		return (1);
	}
	js->js_path.b_len = f->f_plen;
	js->js_path.b_data[f->f_plen] = '\0';
	if (js->js_cap_depth == depth) {
		rec = js->js_rec;
		js->js_rec = NULL;
		js->js_cap_depth = 0;
		js->js_records++;
		if (js->js_record_cb == NULL)
			record_free(rec);
		else if (js->js_record_cb(js->js_arg, js->js_cap_pat,
		    rec) == -1)
			return (js_fail(js, "cancelled"));
	}
	return (1);
}

static int
js_cb_start_map(void *ctx)
{
	return (js_open(ctx, 0));
}

static int
js_cb_start_array(void *ctx)
{
	return (js_open(ctx, 1));
}

static int
js_cb_end(void *ctx)
{
	return (js_close(ctx));
}

static int
js_cb_map_key(void *ctx, const unsigned char *s, size_t n)
{
	struct jstream	*js = ctx;
	struct js_frame	*top = &js->js_stack[js->js_depth - 1];

	if (js->js_text_depth > 0) {
		if (top->f_count++ > 0)
			buf_addc(&js->js_text, ',');
		json_append_string(&js->js_text, (const char *)s, n);
		buf_addc(&js->js_text, ':');
		return (js_check_size(js));
	}
	if (js->js_cap_depth > 0) {
		js->js_key.b_len = top->f_kplen;
		if (js->js_key.b_len > 0)
			buf_addc(&js->js_key, '.');
		util_utf8_append(&js->js_key, (const char *)s, n);
		if (js->js_key.b_data == NULL)
			buf_add(&js->js_key, "", 0);
		return (js_check_size(js));
	}
	js->js_path.b_len = top->f_plen;
	if (top->f_plen > 0)
		buf_addc(&js->js_path, '.');
	top->f_seg = js->js_path.b_len;
	util_utf8_append(&js->js_path, (const char *)s, n);
	top->f_seglen = js->js_path.b_len - top->f_seg;
	js->js_path.b_data[js->js_path.b_len] = '\0';
	return (1);
}

/* Describe a yajl error; off is the offset of the chunk in the input. */
static void
js_yajl_error(struct jstream *js, const char *data, size_t len, size_t off)
{
	unsigned char	*msg;
	char		*p;

	if (js->js_err[0] != '\0')
		return;
	msg = yajl_get_error(js->js_h, 0, (const unsigned char *)data, len);
	for (p = (char *)msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	while (p > (char *)msg && p[-1] == ' ')
		*--p = '\0';
	if (strstr((char *)msg, "premature EOF") != NULL)
		snprintf(js->js_err, sizeof js->js_err,
		    "premature end of input at byte %zu", js->js_bytes);
	else
		snprintf(js->js_err, sizeof js->js_err,
		    "parse error at byte %zu: %s",
		    off + yajl_get_bytes_consumed(js->js_h), (char *)msg);
	yajl_free_error(js->js_h, msg);
}

/* Feed n bytes. */
int
jstream_feed(struct jstream *js, const char *data, size_t n)
{
	yajl_status	 st;
	size_t		 off;

	if (js->js_failed)
		return (-1);
	if (js->js_finished) {
		js->js_failed = 1;
		js_fail(js, "data after the end of input");
		return (-1);
	}
	off = js->js_bytes;
	js->js_bytes += n;
	if (n == 0)
		return (0);
	st = yajl_parse(js->js_h, (const unsigned char *)data, n);
	if (st == yajl_status_ok)
		return (0);
	js->js_failed = 1;
	js_yajl_error(js, data, n, off);
	return (-1);
}

/* Declare the end of input. */
int
jstream_finish(struct jstream *js)
{
	yajl_status	 st;

	if (js->js_failed)
		return (-1);
	if (js->js_finished)
		return (0);
	js->js_finished = 1;
	st = yajl_complete_parse(js->js_h);
	if (st == yajl_status_ok)
		return (0);
	js->js_failed = 1;
	js_yajl_error(js, NULL, 0, js->js_bytes);
	return (-1);
}

/* One-line description of the error. */
const char *
jstream_error(const struct jstream *js)
{
	if (js->js_err[0] == '\0')
		return (js->js_failed ? "parse error" : "no error");
	return (js->js_err);
}

/* Total bytes fed so far. */
size_t
jstream_bytes(const struct jstream *js)
{
	return (js->js_bytes);
}

/* Number of records emitted so far. */
size_t
jstream_records(const struct jstream *js)
{
	return (js->js_records);
}
