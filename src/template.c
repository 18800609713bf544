/*
 * template.c -- E7: subject and text templates of notifications.
 *
 * A template is literal text with {{path}} tags.  The path is looked up
 * in the event payload ("search.name", "alert.content.host", "alerts.0.id"
 * for an element of an array, "alert.content.host.name" also finds a key
 * that holds dots); the value is escaped for where it goes and appended.
 * Nothing here fails: a missing path, an over-long path or a payload that
 * is not an object renders as nothing, and the output of one render is
 * bounded (TMPL_MAX_OUT), cut at a character boundary.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "template.h"

#define TMPL_MAX_OUT	(1024 * 1024)	/* bytes appended by one render */
#define TMPL_MAX_PATH	512		/* bytes of a path between braces */
#define TMPL_MAX_DEPTH	32		/* segments of a path */
#define TMPL_MAX_STEPS	4096		/* key comparisons of one lookup */

struct tmpl_out {
	struct buf		*o_buf;
	size_t			 o_start;	/* o_buf's length at the start */
	enum tmpl_escape	 o_esc;
	int			 o_full;	/* TMPL_MAX_OUT reached */
};

struct tmpl_path {
	const char	*p_seg[TMPL_MAX_DEPTH];
	size_t		 p_len[TMPL_MAX_DEPTH];
	size_t		 p_n;
	unsigned	 p_steps;
};

static void	 tmpl_put(struct tmpl_out *, const char *, size_t);
static void	 tmpl_run(struct tmpl_out *, const char *, size_t);
static size_t	 tmpl_seqlen(const unsigned char *, size_t);
static void	 tmpl_escape(struct tmpl_out *, const char *, size_t, int);
static int	 tmpl_split(struct tmpl_path *, const char *, size_t);
static const struct json *tmpl_find(struct tmpl_path *, const struct json *,
		    size_t);
static void	 tmpl_value(struct tmpl_out *, const struct json *);

/* Append n bytes unless that would pass the bound; then stop for good. */
static void
tmpl_put(struct tmpl_out *o, const char *p, size_t n)
{
	if (o->o_full)
		return;
	if (o->o_buf->b_len - o->o_start + n > TMPL_MAX_OUT) {
		o->o_full = 1;
		return;
	}
	buf_add(o->o_buf, p, n);
}

/* Append a run of unchanged bytes, cut at a character boundary. */
static void
tmpl_run(struct tmpl_out *o, const char *s, size_t n)
{
	size_t	 room, j, k;

	if (o->o_full || n == 0)
		return;
	room = TMPL_MAX_OUT - (o->o_buf->b_len - o->o_start);
	if (n <= room) {
		buf_add(o->o_buf, s, n);
		return;
	}
	for (j = 0; j < n; j += k) {
		k = tmpl_seqlen((const unsigned char *)s + j, n - j);
		if (j + k > room)
			break;
	}
	buf_add(o->o_buf, s, j);
	o->o_full = 1;
}

/* Bytes of the UTF-8 sequence that starts at p (1 for a stray byte). */
static size_t
tmpl_seqlen(const unsigned char *p, size_t left)
{
	size_t	 want, i;

	if (p[0] < 0xc0)
		return (1);
	else if (p[0] < 0xe0)
		want = 2;
	else if (p[0] < 0xf0)
		want = 3;
	else if (p[0] < 0xf8)
		want = 4;
	else
		return (1);
	for (i = 1; i < want && i < left; i++)
		if ((p[i] & 0xc0) != 0x80)
			break;
	return (i);
}

/*
 * Append n bytes of s escaped for the output's format.  A literal (part
 * of the template itself) is trusted and only filtered in header mode.
 */
static void
tmpl_escape(struct tmpl_out *o, const char *s, size_t n, int literal)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, k, run = 0;
	char			 e[8];
	const char		*rep;
	size_t			 rlen;

	for (i = 0; i < n && !o->o_full; i += k) {
		k = tmpl_seqlen(p + i, n - i);
		rep = NULL;
		rlen = 0;
		if (k > 1) {
			/* C1 controls, U+2028 and U+2029. */
			if (k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0) {
				if (o->o_esc == TMPL_HEADER)
					rep = "";
			} else if (k == 3 && p[i] == 0xe2 &&
			    p[i + 1] == 0x80 &&
			    (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
				if (o->o_esc == TMPL_HEADER)
					rep = "";
				else if (o->o_esc == TMPL_JSON)
					rep = p[i + 2] == 0xa8 ? "\\u2028" :
					    "\\u2029";
			}
		} else if (p[i] == '\0' && !literal) {
			rep = "";	/* never a NUL in any output */
		} else if (o->o_esc == TMPL_HEADER) {
			if (p[i] < 0x20 || p[i] == 0x7f)
				rep = "";
		} else if (literal) {
			/* The template's own text is as written. */
		} else if (o->o_esc == TMPL_HTML) {
			switch (p[i]) {
			case '&':
				rep = "&amp;";
				break;
			case '<':
				rep = "&lt;";
				break;
			case '>':
				rep = "&gt;";
				break;
			case '"':
				rep = "&quot;";
				break;
			case '\'':
				rep = "&#39;";
				break;
			}
		} else if (o->o_esc == TMPL_JSON) {
			switch (p[i]) {
			case '"':
				rep = "\\\"";
				break;
			case '\\':
				rep = "\\\\";
				break;
			case '\n':
				rep = "\\n";
				break;
			case '\r':
				rep = "\\r";
				break;
			case '\t':
				rep = "\\t";
				break;
			case '\b':
				rep = "\\b";
				break;
			case '\f':
				rep = "\\f";
				break;
			default:
				if (p[i] < 0x20 || p[i] == 0x7f) {
					memcpy(e, "\\u00", 4);
					e[4] = hex[p[i] >> 4];
					e[5] = hex[p[i] & 0xf];
					e[6] = '\0';
					rep = e;
				}
				break;
			}
		} else if (o->o_esc == TMPL_JIRA) {
			if (p[i] == '\\')
				rep = "&#92;";	/* "\\" is a line break */
			else if (p[i] == '\r')
				rep = "";
			else if (strchr("{}[]|*_+^~!#-?()", p[i]) != NULL) {
				e[0] = '\\';
				e[1] = (char)p[i];
				e[2] = '\0';
				rep = e;
			}
		}
		if (rep == NULL) {
			/* Unchanged: extend the run of plain bytes. */
			run += k;
			continue;
		}
		rlen = strlen(rep);
		tmpl_run(o, s + i - run, run);
		run = 0;
		tmpl_put(o, rep, rlen);
	}
	tmpl_run(o, s + i - run, run);
}

/* Split a path at dots; -1 when it is empty or too deep. */
static int
tmpl_split(struct tmpl_path *tp, const char *s, size_t n)
{
	size_t	 i, start = 0;

	tp->p_n = 0;
	tp->p_steps = 0;
	if (n == 0)
		return (-1);
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (tp->p_n == TMPL_MAX_DEPTH)
			return (-1);
		tp->p_seg[tp->p_n] = s + start;
		tp->p_len[tp->p_n] = i - start;
		tp->p_n++;
		start = i + 1;
	}
	return (0);
}

/*
 * The value at segments i... of the path under j, or NULL.  An object's
 * key may hold dots: the shortest key that matches comes first, then
 * longer ones ("host.name" as one key).
 */
static const struct json *
tmpl_find(struct tmpl_path *tp, const struct json *j, size_t i)
{
	const struct json	*r;
	const char		*key;
	size_t			 end, klen, m, idx, c;

	if (i == tp->p_n)
		return (j);
	if (j == NULL)
		return (NULL);
	if (j->j_type == JSON_ARRAY) {
		if (tp->p_len[i] == 0 || tp->p_len[i] > 9)
			return (NULL);
		idx = 0;
		for (c = 0; c < tp->p_len[i]; c++) {
			if (tp->p_seg[i][c] < '0' || tp->p_seg[i][c] > '9')
				return (NULL);
			idx = idx * 10 + (size_t)(tp->p_seg[i][c] - '0');
		}
		return (tmpl_find(tp, json_at(j, idx), i + 1));
	}
	if (j->j_type != JSON_OBJECT)
		return (NULL);
	key = tp->p_seg[i];
	for (end = i; end < tp->p_n; end++) {
		klen = (size_t)(tp->p_seg[end] + tp->p_len[end] - key);
		for (m = 0; m < j->j_u.obj.n; m++) {
			if (++tp->p_steps > TMPL_MAX_STEPS)
				return (NULL);
			if (j->j_u.obj.m[m].m_klen != klen ||
			    memcmp(j->j_u.obj.m[m].m_key, key, klen) != 0)
				continue;
			r = tmpl_find(tp, j->j_u.obj.m[m].m_val, end + 1);
			if (r != NULL)
				return (r);
			break;
		}
	}
	return (NULL);
}

/* Append one value: a string as is, anything else as JSON text. */
static void
tmpl_value(struct tmpl_out *o, const struct json *v)
{
	char	*s;
	size_t	 n;

	switch (v->j_type) {
	case JSON_NULL:
		break;
	case JSON_BOOL:
		tmpl_escape(o, v->j_u.b ? "true" : "false",
		    v->j_u.b ? 4 : 5, 0);
		break;
	case JSON_NUMBER:
		tmpl_escape(o, v->j_u.num.text, strlen(v->j_u.num.text), 0);
		break;
	case JSON_STRING:
		tmpl_escape(o, v->j_u.str.s, v->j_u.str.len, 0);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		s = json_to_string(v, &n);
		tmpl_escape(o, s, n, 0);
		free(s);
		break;
	}
}

/* Start an output into out. */
static void
tmpl_out_init(struct tmpl_out *o, struct buf *out, enum tmpl_escape esc)
{
	o->o_buf = out;
	o->o_start = out->b_len;
	o->o_esc = esc;
	o->o_full = 0;
}

/* Append one value as a tag renders it. */
void
tmpl_put_value(const struct json *v, enum tmpl_escape esc, struct buf *out)
{
	struct tmpl_out	 o;

	if (v == NULL)
		return;
	tmpl_out_init(&o, out, esc);
	tmpl_value(&o, v);
}

/* Append a string escaped for esc. */
void
tmpl_put_str(const char *s, size_t n, enum tmpl_escape esc, struct buf *out)
{
	struct tmpl_out	 o;

	tmpl_out_init(&o, out, esc);
	tmpl_escape(&o, s, n, 0);
}

/* Render tmpl over the payload into out (appended). */
void
tmpl_render(const char *tmpl, const struct json *payload,
    enum tmpl_escape esc, struct buf *out)
{
	struct tmpl_out		 o;
	struct tmpl_path	 tp;
	const struct json	*v;
	const char		*p, *open, *close, *a, *b, *end;

	if (tmpl == NULL)
		return;
	tmpl_out_init(&o, out, esc);
	p = tmpl;
	end = tmpl + strlen(tmpl);
	/* memmem over what is left: strstr would measure it every time. */
	while (p < end && !o.o_full) {
		if ((open = memmem(p, (size_t)(end - p), "{{", 2)) == NULL) {
			tmpl_escape(&o, p, (size_t)(end - p), 1);
			break;
		}
		tmpl_escape(&o, p, (size_t)(open - p), 1);
		if (strncmp(open + 2, "{{", 2) == 0) {
			tmpl_put(&o, "{{", 2);
			p = open + 4;
			continue;
		}
		if ((close = memmem(open + 2, (size_t)(end - open - 2), "}}",
		    2)) == NULL) {
			/* Not a tag: the rest is text. */
			tmpl_escape(&o, open, (size_t)(end - open), 1);
			break;
		}
		p = close + 2;
		a = open + 2;
		b = close;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if ((size_t)(b - a) > TMPL_MAX_PATH ||
		    tmpl_split(&tp, a, (size_t)(b - a)) == -1)
			continue;
		if ((v = tmpl_find(&tp, payload, 0)) != NULL)
			tmpl_value(&o, v);
	}
}
