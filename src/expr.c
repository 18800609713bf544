/*
 * expr.c -- a small, safe expression language over a record.
 *
 * A hand-written recursive-descent parser builds a tree of at most
 * EXPR_MAX_NODES nodes; evaluation walks it.  Every node is also kept in
 * one array of the expression, so freeing is a loop, not a recursion.
 *
 * Grammar (EBNF; keywords are lower case, whitespace separates tokens):
 *
 *   expr     = or ;
 *   or       = and { "or" and } ;
 *   and      = not { "and" not } ;
 *   not      = "not" not | cmp ;
 *   cmp      = sum [ cmpop sum ] ;              (comparisons do not chain)
 *   cmpop    = "==" | "!=" | "<" | "<=" | ">" | ">=" | "=~" | "!~"
 *            | "in" | "not" "in" ;
 *   sum      = product { ( "+" | "-" ) product } ;
 *   product  = unary { ( "*" | "/" | "%" ) unary } ;
 *   unary    = "-" unary | primary ;
 *   primary  = number | string | "true" | "false" | "null" | field
 *            | call | "(" expr ")" | "[" [ expr { "," expr } ] "]" ;
 *   call     = name "(" [ expr { "," expr } ] ")" ;
 *   field    = name { "." segment } | "`" { any byte but "`" } "`" ;
 *   name     = ( letter | "_" | "@" ) { letter | digit | "_" | "@" } ;
 *   segment  = ( letter | digit | "_" | "@" ) { letter | digit | "_" | "@" } ;
 *   number   = digit { digit } [ "." digit { digit } ]
 *              [ ( "e" | "E" ) [ "+" | "-" ] digit { digit } ] ;
 *   string   = '"' { char | escape } '"' | "'" { char | escape } "'" ;
 *   escape   = "\" ( '"' | "'" | "\" | "/" | "b" | "f" | "n" | "r" | "t"
 *            | "u" hex hex hex hex ) ;
 *
 * Names followed by "(" are function calls; "=~ P" and "!~ P" mean
 * matches(x, P) and not matches(x, P).
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "buf.h"
#include "expr.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "util.h"
#include "xmalloc.h"

enum expr_op {
	OP_LIT,
	OP_FIELD,
	OP_LIST,
	OP_CALL,
	OP_OR,
	OP_AND,
	OP_NOT,
	OP_NEG,
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_IN,
	OP_NOTIN,
	OP_MATCH,
	OP_NOMATCH,
	OP_ADD,
	OP_SUB,
	OP_MUL,
	OP_DIV,
	OP_MOD
};

enum expr_fn {
	FN_LOWER,
	FN_UPPER,
	FN_LEN,
	FN_CONTAINS,
	FN_STARTSWITH,
	FN_ENDSWITH,
	FN_MATCHES,
	FN_CIDR,
	FN_INT,
	FN_NUM,
	FN_STR,
	FN_EXISTS,
	FN_FIELD,
	FN_COALESCE
};

static const struct expr_fndef {
	const char	*name;
	enum expr_fn	 fn;
	size_t		 min;
	size_t		 max;
} expr_fns[] = {
	{ "lower",	FN_LOWER,	1, 1 },
	{ "upper",	FN_UPPER,	1, 1 },
	{ "len",	FN_LEN,		1, 1 },
	{ "contains",	FN_CONTAINS,	2, 2 },
	{ "startswith",	FN_STARTSWITH,	2, 2 },
	{ "endswith",	FN_ENDSWITH,	2, 2 },
	{ "matches",	FN_MATCHES,	2, 2 },
	{ "cidr",	FN_CIDR,	2, 2 },
	{ "int",	FN_INT,		1, 1 },
	{ "num",	FN_NUM,		1, 1 },
	{ "str",	FN_STR,		1, 1 },
	{ "exists",	FN_EXISTS,	1, 1 },
	{ "field",	FN_FIELD,	1, 1 },
	{ "coalesce",	FN_COALESCE,	1, 16 }
};

static const char *const expr_opnames[] = {
	[OP_EQ] = "==", [OP_NE] = "!=", [OP_LT] = "<", [OP_LE] = "<=",
	[OP_GT] = ">", [OP_GE] = ">=", [OP_ADD] = "+", [OP_SUB] = "-",
	[OP_MUL] = "*", [OP_DIV] = "/", [OP_MOD] = "%", [OP_NEG] = "-"
};

/* One network of cidr(). */
struct expr_net {
	int		 n_v6;
	uint8_t		 n_addr[16];
	int		 n_bits;
};

struct expr_node {
	enum expr_op		 n_op;
	const struct expr_fndef	*n_fn;		/* OP_CALL */
	size_t			 n_pos;		/* 1-based byte position */
	size_t			 n_start;	/* of its first token */
	struct expr_node	*n_a;		/* operands */
	struct expr_node	*n_b;
	struct expr_node	**n_kids;	/* list items, call arguments */
	size_t			 n_nkids;
	struct expr_val		 n_val;		/* OP_LIT */
	char			*n_key;		/* OP_FIELD, NUL-terminated */
	size_t			 n_klen;
	pcre2_code		*n_re;		/* OP_MATCH, OP_NOMATCH */
	struct expr_net		*n_nets;	/* cidr() */
	size_t			 n_nnets;
};

struct expr {
	char			*e_src;
	struct expr_node	*e_root;
	struct expr_node	**e_nodes;	/* all of them, for freeing */
	size_t			 e_n;
	pcre2_match_context	*e_mc;		/* NULL without a regex */
};

enum expr_tok {
	T_EOF,
	T_NUM,
	T_STR,
	T_NAME,		/* a field name, or a function when t_call */
	T_QNAME,	/* `quoted field name` */
	T_LP,
	T_RP,
	T_LB,
	T_RB,
	T_COMMA,
	T_PLUS,
	T_MINUS,
	T_STAR,
	T_SLASH,
	T_PCT,
	T_EQ,
	T_NE,
	T_LT,
	T_LE,
	T_GT,
	T_GE,
	T_MATCH,
	T_NOMATCH,
	T_AND,
	T_OR,
	T_NOT,
	T_IN,
	T_TRUE,
	T_FALSE,
	T_NULL
};

struct expr_parser {
	const char	*p_src;
	size_t		 p_len;
	size_t		 p_off;		/* lexer offset, 0-based */
	int		 p_depth;
	struct expr	*p_expr;
	char		*p_err;
	size_t		 p_errlen;
	int		 p_failed;
	/* The current token. */
	enum expr_tok	 t_type;
	size_t		 t_pos;		/* 1-based */
	size_t		 t_len;		/* bytes of source */
	int		 t_call;	/* T_NAME followed by "(" */
	struct buf	 t_text;	/* decoded string or name */
	int64_t		 t_int;
	double		 t_num;
	int		 t_isint;
};

static void	expr_perr(struct expr_parser *, size_t, const char *, ...)
		    printflike(3, 4);
static int	expr_lex(struct expr_parser *);
static struct expr_node *expr_parse(struct expr_parser *);
static int	expr_rerr(const struct expr_node *, char *, size_t,
		    const char *, ...) printflike(4, 5);
static int	expr_run(const struct expr *, const struct expr_node *,
		    const struct record *, struct expr_val *, char *, size_t);
static void	expr_val_copy(struct expr_val *, const struct expr_val *);
static int	expr_val_eq(const struct expr_val *, const struct expr_val *);

/*
 * ASCII classes, whatever the locale.
 */

static int
expr_isdigit(int c)
{
	return (c >= '0' && c <= '9');
}

static int
expr_isalpha(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

static char
expr_lower(char c)
{
	return (c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
}

static char
expr_upper(char c)
{
	return (c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c);
}

/*
 * Values.
 */

/* Name of a type, for messages. */
const char *
expr_type_name(enum expr_type t)
{
	switch (t) {
	case EXPR_NULL:
		return ("null");
	case EXPR_BOOL:
		return ("bool");
	case EXPR_NUM:
		return ("number");
	case EXPR_STR:
		return ("string");
	case EXPR_LIST:
		return ("list");
	}
	return ("?");
}

/* Release what a value owns; it becomes null. */
void
expr_val_free(struct expr_val *v)
{
	size_t	 i;

	if (v == NULL)
		return;
	if (v->v_type == EXPR_STR)
		free(v->v_str);
	else if (v->v_type == EXPR_LIST) {
		for (i = 0; i < v->v_n; i++)
			expr_val_free(&v->v_list[i]);
		free(v->v_list);
	}
	memset(v, 0, sizeof *v);
}

/* Set v (assumed empty) to a boolean. */
static void
expr_set_bool(struct expr_val *v, int b)
{
	memset(v, 0, sizeof *v);
	v->v_type = EXPR_BOOL;
	v->v_bool = b != 0;
}

/* Set v to an exact integer. */
static void
expr_set_int(struct expr_val *v, int64_t i)
{
	memset(v, 0, sizeof *v);
	v->v_type = EXPR_NUM;
	v->v_isint = 1;
	v->v_int = i;
	v->v_num = (double)i;
}

/* Set v to a double (an integer when it is one exactly). */
static void
expr_set_num(struct expr_val *v, double d)
{
	memset(v, 0, sizeof *v);
	v->v_type = EXPR_NUM;
	v->v_num = d;
	if (d == trunc(d) && d >= -9007199254740992.0 &&
	    d <= 9007199254740992.0) {
		v->v_isint = 1;
		v->v_int = (int64_t)d;
	}
}

/* Set v to a copy of n bytes. */
static void
expr_set_str(struct expr_val *v, const char *s, size_t n)
{
	memset(v, 0, sizeof *v);
	v->v_type = EXPR_STR;
	v->v_str = xmalloc(n + 1);
	if (n > 0)
		memcpy(v->v_str, s, n);
	v->v_str[n] = '\0';
	v->v_len = n;
}

/* Set v to the bytes of b, which is left empty. */
static void
expr_take_str(struct expr_val *v, struct buf *b)
{
	memset(v, 0, sizeof *v);
	v->v_type = EXPR_STR;
	v->v_str = buf_steal(b, &v->v_len);
}

/* A deep copy of src into dst (assumed empty). */
static void
expr_val_copy(struct expr_val *dst, const struct expr_val *src)
{
	size_t	 i;

	*dst = *src;
	if (src->v_type == EXPR_STR)
		expr_set_str(dst, src->v_str, src->v_len);
	else if (src->v_type == EXPR_LIST) {
		dst->v_list = src->v_n == 0 ? NULL :
		    xcalloc(src->v_n, sizeof *dst->v_list);
		for (i = 0; i < src->v_n; i++)
			expr_val_copy(&dst->v_list[i], &src->v_list[i]);
	}
}

/* Truthiness: null, false, 0, "" and [] are false. */
int
expr_val_truthy(const struct expr_val *v)
{
	switch (v->v_type) {
	case EXPR_NULL:
		return (0);
	case EXPR_BOOL:
		return (v->v_bool);
	case EXPR_NUM:
		return (v->v_num != 0);
	case EXPR_STR:
		return (v->v_len > 0);
	case EXPR_LIST:
		return (v->v_n > 0);
	}
	return (0);
}

/* Append a number: exact integers as such, doubles shortest round-trip. */
static void
expr_num_text(const struct expr_val *v, struct buf *b)
{
	char	 s[40];
	int	 prec;

	if (v->v_isint) {
		buf_printf(b, "%" PRId64, v->v_int);
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(s, sizeof s, "%.*g", prec, v->v_num);
		if (strtod(s, NULL) == v->v_num)
			break;
	}
	if (prec == 17)
		snprintf(s, sizeof s, "%.17g", v->v_num);
	buf_adds(b, s);
}

/* Append a value as JSON text. */
void
expr_val_json(const struct expr_val *v, struct buf *b)
{
	size_t	 i;

	switch (v->v_type) {
	case EXPR_NULL:
		buf_adds(b, "null");
		break;
	case EXPR_BOOL:
		buf_adds(b, v->v_bool ? "true" : "false");
		break;
	case EXPR_NUM:
		expr_num_text(v, b);
		break;
	case EXPR_STR:
		json_append_string(b, v->v_str, v->v_len);
		break;
	case EXPR_LIST:
		buf_addc(b, '[');
		for (i = 0; i < v->v_n; i++) {
			if (i > 0)
				buf_addc(b, ',');
			expr_val_json(&v->v_list[i], b);
		}
		buf_addc(b, ']');
		break;
	}
}

/* Append a value as text: strings as they are, the rest as JSON. */
static void
expr_val_text(const struct expr_val *v, struct buf *b)
{
	if (v->v_type == EXPR_STR)
		buf_add(b, v->v_str, v->v_len);
	else
		expr_val_json(v, b);
	if (b->b_data == NULL)
		buf_add(b, "", 0);
}

/*
 * Parse n bytes as a whole number in JSON syntax (a leading '+' allowed).
 * Returns 0 and sets v, or -1.
 */
static int
expr_parse_num(const char *s, size_t n, struct expr_val *v)
{
	char	 tmp[64];
	size_t	 i = 0;
	int	 frac = 0;
	int64_t	 iv;
	double	 d;

	if (n == 0 || n >= sizeof tmp)
		return (-1);
	if (s[i] == '-' || s[i] == '+')
		i++;
	if (i == n || !expr_isdigit(s[i]))
		return (-1);
	while (i < n && expr_isdigit(s[i]))
		i++;
	if (i < n && s[i] == '.') {
		frac = 1;
		if (++i == n || !expr_isdigit(s[i]))
			return (-1);
		while (i < n && expr_isdigit(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		frac = 1;
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		if (i == n || !expr_isdigit(s[i]))
			return (-1);
		while (i < n && expr_isdigit(s[i]))
			i++;
	}
	if (i != n)
		return (-1);
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (!frac && util_parse_int64(tmp[0] == '+' ? tmp + 1 : tmp,
	    tmp[0] == '+' ? n - 1 : n, &iv) == 0) {
		expr_set_int(v, iv);
		return (0);
	}
	d = strtod(tmp, NULL);
	if (!isfinite(d))
		return (-1);
	expr_set_num(v, d);
	v->v_isint = 0;
	return (0);
}

/* The number in v (a number, or a string that is one); 0 or -1. */
static int
expr_to_num(const struct expr_val *v, struct expr_val *out)
{
	if (v->v_type == EXPR_NUM) {
		*out = *v;
		return (0);
	}
	if (v->v_type == EXPR_STR)
		return (expr_parse_num(v->v_str, v->v_len, out));
	return (-1);
}

/* Compare two numbers: -1, 0 or 1. */
static int
expr_num_cmp(const struct expr_val *a, const struct expr_val *b)
{
	if (a->v_isint && b->v_isint)
		return (a->v_int < b->v_int ? -1 : a->v_int > b->v_int);
	return (a->v_num < b->v_num ? -1 : a->v_num > b->v_num);
}

/*
 * Equality: null equals only null; numbers compare numerically, also with
 * a string that holds a number; strings bytewise; lists item by item.
 */
static int
expr_val_eq(const struct expr_val *a, const struct expr_val *b)
{
	struct expr_val	 x, y;
	size_t		 i;

	if (a->v_type == EXPR_NUM || b->v_type == EXPR_NUM) {
		if (expr_to_num(a, &x) == -1 || expr_to_num(b, &y) == -1)
			return (0);
		return (expr_num_cmp(&x, &y) == 0);
	}
	if (a->v_type != b->v_type)
		return (0);
	switch (a->v_type) {
	case EXPR_NULL:
		return (1);
	case EXPR_BOOL:
		return (a->v_bool == b->v_bool);
	case EXPR_STR:
		return (a->v_len == b->v_len &&
		    memcmp(a->v_str, b->v_str, a->v_len) == 0);
	case EXPR_LIST:
		if (a->v_n != b->v_n)
			return (0);
		for (i = 0; i < a->v_n; i++)
			if (!expr_val_eq(&a->v_list[i], &b->v_list[i]))
				return (0);
		return (1);
	case EXPR_NUM:
		break;
	}
	return (0);
}

/*
 * Order: numbers (or numeric strings against a number) numerically,
 * strings bytewise.  Stores -1, 0 or 1; returns -1 when a and b do not
 * order (a null, a bool, a list, a number against other text).
 */
static int
expr_val_cmp(const struct expr_val *a, const struct expr_val *b, int *c)
{
	struct expr_val	 x, y;
	size_t		 n;
	int		 r;

	if (a->v_type == EXPR_NUM || b->v_type == EXPR_NUM) {
		if (expr_to_num(a, &x) == -1 || expr_to_num(b, &y) == -1)
			return (-1);
		*c = expr_num_cmp(&x, &y);
		return (0);
	}
	if (a->v_type != EXPR_STR || b->v_type != EXPR_STR)
		return (-1);
	n = a->v_len < b->v_len ? a->v_len : b->v_len;
	r = n == 0 ? 0 : memcmp(a->v_str, b->v_str, n);
	if (r == 0)
		r = a->v_len < b->v_len ? -1 : a->v_len > b->v_len;
	*c = r < 0 ? -1 : r > 0;
	return (0);
}

/* A JSON tree as a value: arrays become lists, objects their text. */
static void
expr_from_json(const struct json *j, struct expr_val *v)
{
	char	*s;
	size_t	 i, n;
	int64_t	 iv;

	memset(v, 0, sizeof *v);
	switch (j->j_type) {
	case JSON_NULL:
		break;
	case JSON_BOOL:
		expr_set_bool(v, j->j_u.b);
		break;
	case JSON_NUMBER:
		if (json_int(j, &iv))
			expr_set_int(v, iv);
		else if (expr_parse_num(j->j_u.num.text,
		    strlen(j->j_u.num.text), v) == -1)
			expr_set_str(v, j->j_u.num.text,
			    strlen(j->j_u.num.text));
		break;
	case JSON_STRING:
		expr_set_str(v, j->j_u.str.s, j->j_u.str.len);
		break;
	case JSON_ARRAY:
		v->v_type = EXPR_LIST;
		v->v_n = j->j_u.arr.n;
		v->v_list = v->v_n == 0 ? NULL :
		    xcalloc(v->v_n, sizeof *v->v_list);
		for (i = 0; i < v->v_n; i++)
			expr_from_json(j->j_u.arr.v[i], &v->v_list[i]);
		break;
	case JSON_OBJECT:
		s = json_to_string(j, &n);
		v->v_type = EXPR_STR;
		v->v_str = s;
		v->v_len = n;
		break;
	}
}

/* The value of field key of r; null when missing. */
static void
expr_field(const struct record *r, const char *key, size_t klen,
    struct expr_val *v)
{
	struct json	*j;
	struct buf	 b = BUF_INIT;
	const char	*s;
	char		 msg[128];
	size_t		 n;
	int		 i;

	memset(v, 0, sizeof *v);
	if (r == NULL || (i = record_find(r, key, klen)) == -1)
		return;
	s = record_val(r, (size_t)i, &n);
	if (n == 0)
		return;
	switch (s[0]) {
	case '"':
		if (n >= 2 && memchr(s, '\\', n) == NULL)
			expr_set_str(v, s + 1, n - 2);
		else {
			record_get_text(r, key, &b);
			expr_take_str(v, &b);
		}
		return;
	case 't':
		expr_set_bool(v, 1);
		return;
	case 'f':
		expr_set_bool(v, 0);
		return;
	case 'n':
		return;
	case '[':
		if ((j = json_parse(s, n, msg, sizeof msg)) != NULL) {
			expr_from_json(j, v);
			json_free(j);
			return;
		}
		break;
	default:
		if (expr_parse_num(s, n, v) == 0)
			return;
		break;
	}
	expr_set_str(v, s, n);
}

/*
 * The lexer.
 */

/* Record a parse error at 1-based position pos (the first one wins). */
static void
expr_perr(struct expr_parser *p, size_t pos, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[200];

	if (p->p_failed)
		return;
	p->p_failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (p->p_err != NULL && p->p_errlen > 0)
		snprintf(p->p_err, p->p_errlen, "at %zu: %s", pos, msg);
}

/* Describe the current token for "unexpected ..." messages. */
static void
expr_tokdesc(struct expr_parser *p, char *out, size_t outlen)
{
	size_t	 n;

	if (p->t_type == T_EOF) {
		snprintf(out, outlen, "end of expression");
		return;
	}
	n = p->t_len > 24 ? 24 : p->t_len;
	snprintf(out, outlen, "'%.*s%s'", (int)n, p->p_src + p->t_pos - 1,
	    n < p->t_len ? "..." : "");
}

/* "unexpected X" at the current token; returns NULL. */
static struct expr_node *
expr_unexpected(struct expr_parser *p, const char *after)
{
	char	 d[40];

	expr_tokdesc(p, d, sizeof d);
	if (after != NULL)
		expr_perr(p, p->t_pos, "unexpected %s %s", d, after);
	else
		expr_perr(p, p->t_pos, "unexpected %s", d);
	return (NULL);
}

/* A name character (first: no digit unless after a dot). */
static int
expr_namechar(int c, int first)
{
	if (expr_isalpha(c) || c == '_' || c == '@')
		return (1);
	return (!first && expr_isdigit(c));
}

/* Four hex digits; -1 when not. */
static long
expr_hex4(const char *s, size_t n)
{
	long	 v = 0;
	size_t	 i;

	if (n < 4)
		return (-1);
	for (i = 0; i < 4; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return (-1);
		v = v * 16 + (expr_isdigit(s[i]) ? s[i] - '0' :
		    (tolower((unsigned char)s[i]) - 'a' + 10));
	}
	return (v);
}

/* Append code point c as UTF-8. */
static void
expr_utf8(struct buf *b, unsigned long c)
{
	if (c < 0x80)
		buf_addc(b, (char)c);
	else if (c < 0x800) {
		buf_addc(b, (char)(0xc0 | (c >> 6)));
		buf_addc(b, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		buf_addc(b, (char)(0xe0 | (c >> 12)));
		buf_addc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
		buf_addc(b, (char)(0x80 | (c & 0x3f)));
	} else {
		buf_addc(b, (char)(0xf0 | (c >> 18)));
		buf_addc(b, (char)(0x80 | ((c >> 12) & 0x3f)));
		buf_addc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
		buf_addc(b, (char)(0x80 | (c & 0x3f)));
	}
}

/* Lex a quoted string at p_off (on the quote); 0 or -1. */
static int
expr_lex_string(struct expr_parser *p)
{
	const char	*s = p->p_src;
	char		 q = s[p->p_off];
	size_t		 i = p->p_off + 1, start = p->p_off;
	long		 c, lo;

	buf_reset(&p->t_text);
	buf_add(&p->t_text, "", 0);
	for (;;) {
		if (i >= p->p_len) {
			expr_perr(p, start + 1, "unterminated string");
			return (-1);
		}
		if (s[i] == q)
			break;
		if (s[i] != '\\') {
			buf_addc(&p->t_text, s[i++]);
			continue;
		}
		if (i + 1 >= p->p_len) {
			expr_perr(p, start + 1, "unterminated string");
			return (-1);
		}
		switch (s[i + 1]) {
		case '"': case '\'': case '\\': case '/':
			buf_addc(&p->t_text, s[i + 1]);
			break;
		case 'b':
			buf_addc(&p->t_text, '\b');
			break;
		case 'f':
			buf_addc(&p->t_text, '\f');
			break;
		case 'n':
			buf_addc(&p->t_text, '\n');
			break;
		case 'r':
			buf_addc(&p->t_text, '\r');
			break;
		case 't':
			buf_addc(&p->t_text, '\t');
			break;
		case 'u':
			c = expr_hex4(s + i + 2, p->p_len - i - 2);
			if (c == -1 || (c >= 0xdc00 && c <= 0xdfff))
				goto badu;
			if (c >= 0xd800 && c <= 0xdbff) {
				if (p->p_len - i < 12 || s[i + 6] != '\\' ||
				    s[i + 7] != 'u')
					goto badu;
				lo = expr_hex4(s + i + 8, p->p_len - i - 8);
				if (lo < 0xdc00 || lo > 0xdfff)
					goto badu;
				c = 0x10000 + ((c - 0xd800) << 10) +
				    (lo - 0xdc00);
				i += 6;
			}
			expr_utf8(&p->t_text, (unsigned long)c);
			i += 4;
			break;
		default:
			c = s[i + 1] > 0x20 && s[i + 1] < 0x7f ? s[i + 1] : '?';
			expr_perr(p, i + 1, "bad escape '\\%c' in string",
			    (char)c);
			return (-1);
		}
		i += 2;
	}
	if (!util_utf8_valid(p->t_text.b_data, p->t_text.b_len)) {
		expr_perr(p, start + 1, "string is not valid UTF-8");
		return (-1);
	}
	p->t_type = T_STR;
	p->p_off = i + 1;
	return (0);
badu:
	expr_perr(p, i + 1, "bad \\u escape in string");
	return (-1);
}

/* Lex a number at p_off; 0 or -1. */
static int
expr_lex_number(struct expr_parser *p)
{
	struct expr_val	 v;
	const char	*s = p->p_src;
	size_t		 i = p->p_off;

	while (i < p->p_len && expr_isdigit(s[i]))
		i++;
	if (i + 1 < p->p_len && s[i] == '.' &&
	    expr_isdigit(s[i + 1])) {
		i++;
		while (i < p->p_len && expr_isdigit(s[i]))
			i++;
	}
	if (i < p->p_len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < p->p_len && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < p->p_len && expr_isdigit(s[i]))
			i++;
	}
	if ((i < p->p_len && (expr_namechar((unsigned char)s[i], 0) ||
	    s[i] == '.')) ||
	    expr_parse_num(s + p->p_off, i - p->p_off, &v) == -1) {
		while (i < p->p_len && (expr_namechar((unsigned char)s[i], 0) ||
		    s[i] == '.'))
			i++;
		expr_perr(p, p->p_off + 1, "bad number '%.*s'",
		    (int)(i - p->p_off > 24 ? 24 : i - p->p_off), s + p->p_off);
		return (-1);
	}
	p->t_type = T_NUM;
	p->t_isint = v.v_isint;
	p->t_int = v.v_int;
	p->t_num = v.v_num;
	p->p_off = i;
	return (0);
}

/* Lex a name (dotted) or keyword at p_off. */
static void
expr_lex_name(struct expr_parser *p)
{
	static const struct {
		const char	*kw;
		enum expr_tok	 t;
	} kws[] = {
		{ "and", T_AND }, { "or", T_OR }, { "not", T_NOT },
		{ "in", T_IN }, { "true", T_TRUE }, { "false", T_FALSE },
		{ "null", T_NULL }
	};
	const char	*s = p->p_src;
	size_t		 i = p->p_off, k, n;

	for (;;) {
		while (i < p->p_len && expr_namechar((unsigned char)s[i], 0))
			i++;
		if (i + 1 < p->p_len && s[i] == '.' &&
		    expr_namechar((unsigned char)s[i + 1], 0))
			i++;
		else
			break;
	}
	n = i - p->p_off;
	buf_reset(&p->t_text);
	buf_add(&p->t_text, s + p->p_off, n);
	p->p_off = i;
	p->t_type = T_NAME;
	for (k = 0; k < sizeof kws / sizeof kws[0]; k++)
		if (strlen(kws[k].kw) == n && memcmp(kws[k].kw,
		    p->t_text.b_data, n) == 0)
			p->t_type = kws[k].t;
	if (p->t_type == T_NAME) {
		while (i < p->p_len && (s[i] == ' ' || s[i] == '\t' ||
		    s[i] == '\n' || s[i] == '\r'))
			i++;
		p->t_call = i < p->p_len && s[i] == '(';
	}
}

/* Read the next token into the parser; 0 or -1 (error recorded). */
static int
expr_lex(struct expr_parser *p)
{
	const char	*s = p->p_src;
	size_t		 i, e;
	char		 c, d;

	while (p->p_off < p->p_len && (s[p->p_off] == ' ' ||
	    s[p->p_off] == '\t' || s[p->p_off] == '\n' ||
	    s[p->p_off] == '\r'))
		p->p_off++;
	i = p->p_off;
	p->t_pos = i + 1;
	p->t_call = 0;
	if (i >= p->p_len) {
		p->t_type = T_EOF;
		p->t_len = 0;
		return (0);
	}
	c = s[i];
	d = i + 1 < p->p_len ? s[i + 1] : '\0';
	if (c == '"' || c == '\'') {
		if (expr_lex_string(p) == -1)
			return (-1);
	} else if (expr_isdigit(c)) {
		if (expr_lex_number(p) == -1)
			return (-1);
	} else if (expr_namechar((unsigned char)c, 1))
		expr_lex_name(p);
	else if (c == '`') {
		for (e = i + 1; e < p->p_len && s[e] != '`'; e++)
			;
		if (e >= p->p_len) {
			expr_perr(p, i + 1, "unterminated `name`");
			return (-1);
		}
		if (e == i + 1) {
			expr_perr(p, i + 1, "empty `name`");
			return (-1);
		}
		if (!util_utf8_valid(s + i + 1, e - i - 1)) {
			expr_perr(p, i + 1, "name is not valid UTF-8");
			return (-1);
		}
		buf_reset(&p->t_text);
		buf_add(&p->t_text, s + i + 1, e - i - 1);
		p->t_type = T_QNAME;
		p->p_off = e + 1;
	} else {
		p->p_off = i + 1;
		switch (c) {
		case '(': p->t_type = T_LP; break;
		case ')': p->t_type = T_RP; break;
		case '[': p->t_type = T_LB; break;
		case ']': p->t_type = T_RB; break;
		case ',': p->t_type = T_COMMA; break;
		case '+': p->t_type = T_PLUS; break;
		case '-': p->t_type = T_MINUS; break;
		case '*': p->t_type = T_STAR; break;
		case '/': p->t_type = T_SLASH; break;
		case '%': p->t_type = T_PCT; break;
		case '<':
		case '>':
			if (d == '=') {
				p->t_type = c == '<' ? T_LE : T_GE;
				p->p_off++;
			} else
				p->t_type = c == '<' ? T_LT : T_GT;
			break;
		case '=':
			if (d == '=' || d == '~') {
				p->t_type = d == '=' ? T_EQ : T_MATCH;
				p->p_off++;
				break;
			}
			expr_perr(p, i + 1, "'=' is not an operator; use '=='");
			return (-1);
		case '!':
			if (d == '=' || d == '~') {
				p->t_type = d == '=' ? T_NE : T_NOMATCH;
				p->p_off++;
				break;
			}
			expr_perr(p, i + 1,
			    "'!' is not an operator; use 'not'");
			return (-1);
		default:
			if (c > 0x20 && c < 0x7f)
				expr_perr(p, i + 1, "unexpected character "
				    "'%c'", c);
			else
				expr_perr(p, i + 1, "unexpected byte 0x%02x",
				    (unsigned char)c);
			return (-1);
		}
	}
	p->t_len = p->p_off - i;
	return (0);
}

/*
 * The parser.  Every function returns a node, or NULL with the error
 * recorded in the parser.
 */

/* A new node at position pos, counted against EXPR_MAX_NODES. */
static struct expr_node *
expr_node(struct expr_parser *p, enum expr_op op, size_t pos)
{
	struct expr		*e = p->p_expr;
	struct expr_node	*n;

	if (e->e_n >= EXPR_MAX_NODES) {
		expr_perr(p, pos, "expression has more than %d nodes",
		    EXPR_MAX_NODES);
		return (NULL);
	}
	n = xcalloc(1, sizeof *n);
	n->n_op = op;
	n->n_pos = pos;
	n->n_start = pos;
	e->e_nodes[e->e_n++] = n;
	return (n);
}

/* A binary node, or NULL when either side failed. */
static struct expr_node *
expr_binary(struct expr_parser *p, enum expr_op op, size_t pos,
    struct expr_node *a, struct expr_node *b)
{
	struct expr_node	*n;

	if (a == NULL || b == NULL || (n = expr_node(p, op, pos)) == NULL)
		return (NULL);
	n->n_a = a;
	n->n_b = b;
	n->n_start = a->n_start;
	return (n);
}

/* Enter one nesting level; -1 past EXPR_MAX_DEPTH. */
static int
expr_enter(struct expr_parser *p)
{
	if (++p->p_depth > EXPR_MAX_DEPTH) {
		expr_perr(p, p->t_pos, "expression nested deeper than %d",
		    EXPR_MAX_DEPTH);
		return (-1);
	}
	return (0);
}

/* Append a child to a list or call node. */
static void
expr_addkid(struct expr_node *n, struct expr_node *k)
{
	n->n_kids = xreallocarray(n->n_kids, n->n_nkids + 1,
	    sizeof *n->n_kids);
	n->n_kids[n->n_nkids++] = k;
}

/* Compile a literal regular expression into n. */
static int
expr_regex(struct expr_parser *p, struct expr_node *n,
    const struct expr_node *pat, const char *what)
{
	PCRE2_UCHAR	 msg[160];
	PCRE2_SIZE	 off;
	int		 code;

	if (pat->n_op != OP_LIT || pat->n_val.v_type != EXPR_STR) {
		expr_perr(p, pat->n_start, "%s needs a literal string pattern",
		    what);
		return (-1);
	}
	n->n_re = pcre2_compile((PCRE2_SPTR)pat->n_val.v_str,
	    pat->n_val.v_len, PCRE2_UTF, &code, &off, NULL);
	if (n->n_re == NULL) {
		pcre2_get_error_message(code, msg, sizeof msg);
		expr_perr(p, pat->n_start, "bad regular expression at offset "
		    "%zu: %s", (size_t)off, (const char *)msg);
		return (-1);
	}
	if (p->p_expr->e_mc == NULL) {
		if ((p->p_expr->e_mc = pcre2_match_context_create(NULL)) ==
		    NULL)
			fatalx("expr: out of memory");
		pcre2_set_match_limit(p->p_expr->e_mc, EXPR_MATCH_LIMIT);
		pcre2_set_depth_limit(p->p_expr->e_mc, EXPR_DEPTH_LIMIT);
		pcre2_set_heap_limit(p->p_expr->e_mc, EXPR_HEAP_LIMIT);
	}
	return (0);
}

/* Parse "ADDR[/BITS]" into net; 0 or -1. */
static int
expr_parse_net(const char *s, size_t len, struct expr_net *net)
{
	char		 a[INET6_ADDRSTRLEN + 8];
	const char	*slash;
	uint64_t	 bits;
	size_t		 alen;
	int		 i, max;

	memset(net, 0, sizeof *net);
	slash = memchr(s, '/', len);
	alen = slash != NULL ? (size_t)(slash - s) : len;
	if (alen == 0 || alen >= sizeof a || memchr(s, '\0', len) != NULL)
		return (-1);
	memcpy(a, s, alen);
	a[alen] = '\0';
	if (inet_pton(AF_INET, a, net->n_addr) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, a, net->n_addr) == 1) {
		net->n_v6 = 1;
		max = 128;
	} else
		return (-1);
	if (slash == NULL)
		bits = (uint64_t)max;
	else if (util_parse_uint(slash + 1, (uint64_t)max, &bits) == -1 ||
	    !expr_isdigit(slash[1]))
		return (-1);
	net->n_bits = (int)bits;
	for (i = net->n_bits; i < max; i++)
		net->n_addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	return (0);
}

/* Check the networks of cidr() (a literal string or list of them). */
static int
expr_cidr_nets(struct expr_parser *p, struct expr_node *n,
    const struct expr_node *arg)
{
	const struct expr_val	*v = &arg->n_val, *items;
	size_t			 i, cnt;
	size_t			 pos;

	if (arg->n_op != OP_LIT || (v->v_type != EXPR_STR &&
	    v->v_type != EXPR_LIST)) {
		expr_perr(p, arg->n_start, "cidr needs a literal network or a "
		    "list of them");
		return (-1);
	}
	items = v->v_type == EXPR_STR ? v : v->v_list;
	cnt = v->v_type == EXPR_STR ? 1 : v->v_n;
	if (cnt == 0) {
		expr_perr(p, arg->n_start, "cidr needs at least one network");
		return (-1);
	}
	n->n_nets = xcalloc(cnt, sizeof *n->n_nets);
	n->n_nnets = cnt;
	for (i = 0; i < cnt; i++) {
		pos = v->v_type == EXPR_LIST ? arg->n_kids[i]->n_start :
		    arg->n_start;
		if (items[i].v_type != EXPR_STR) {
			expr_perr(p, pos, "cidr network must be a string");
			return (-1);
		}
		if (expr_parse_net(items[i].v_str, items[i].v_len,
		    &n->n_nets[i]) == -1) {
			expr_perr(p, pos, "bad network '%.*s' (want "
			    "ADDRESS/BITS)", (int)(items[i].v_len > 60 ? 60 :
			    items[i].v_len), items[i].v_str);
			return (-1);
		}
	}
	return (0);
}

/* Turn a field-reference argument into its key; 0 or -1. */
static int
expr_field_arg(struct expr_parser *p, struct expr_node *n,
    struct expr_node *arg, const char *what)
{
	if (arg->n_op == OP_FIELD) {
		n->n_key = xstrdup(arg->n_key);
		n->n_klen = arg->n_klen;
		return (0);
	}
	if (arg->n_op != OP_LIT || arg->n_val.v_type != EXPR_STR) {
		expr_perr(p, arg->n_start, "%s needs a field name", what);
		return (-1);
	}
	if (arg->n_val.v_len == 0 ||
	    memchr(arg->n_val.v_str, '\0', arg->n_val.v_len) != NULL) {
		expr_perr(p, arg->n_start, "bad field name");
		return (-1);
	}
	n->n_key = xstrdup(arg->n_val.v_str);
	n->n_klen = arg->n_val.v_len;
	return (0);
}

/* Parse the arguments of a call (current token: "(") and check them. */
static struct expr_node *
expr_call(struct expr_parser *p, const char *name, size_t pos)
{
	const struct expr_fndef	*fd = NULL;
	struct expr_node	*n, *a;
	size_t			 i;

	for (i = 0; i < sizeof expr_fns / sizeof expr_fns[0]; i++)
		if (strcmp(expr_fns[i].name, name) == 0)
			fd = &expr_fns[i];
	if (fd == NULL) {
		expr_perr(p, pos, "unknown function %s", name);
		return (NULL);
	}
	if ((n = expr_node(p, OP_CALL, pos)) == NULL || expr_enter(p) == -1 ||
	    expr_lex(p) == -1)
		return (NULL);
	n->n_fn = fd;
	if (p->t_type != T_RP) {
		for (;;) {
			if ((a = expr_parse(p)) == NULL)
				return (NULL);
			expr_addkid(n, a);
			if (p->t_type == T_COMMA) {
				if (expr_lex(p) == -1)
					return (NULL);
				continue;
			}
			if (p->t_type != T_RP) {
				expr_perr(p, p->t_pos, "expected ')' after "
				    "arguments of %s", fd->name);
				return (NULL);
			}
			break;
		}
	}
	p->p_depth--;
	if (n->n_nkids < fd->min || n->n_nkids > fd->max) {
		if (fd->min == fd->max)
			expr_perr(p, pos, "%s takes %zu argument%s", fd->name,
			    fd->min, fd->min == 1 ? "" : "s");
		else
			expr_perr(p, pos, "%s takes %zu to %zu arguments",
			    fd->name, fd->min, fd->max);
		return (NULL);
	}
	if (expr_lex(p) == -1)
		return (NULL);
	switch (fd->fn) {
	case FN_FIELD:
		a = n->n_kids[0];
		if (expr_field_arg(p, n, a, "field") == -1)
			return (NULL);
		n->n_op = OP_FIELD;
		break;
	case FN_EXISTS:
		if (expr_field_arg(p, n, n->n_kids[0], "exists") == -1)
			return (NULL);
		break;
	case FN_MATCHES:
		if (expr_regex(p, n, n->n_kids[1], "matches") == -1)
			return (NULL);
		n->n_op = OP_MATCH;
		n->n_a = n->n_kids[0];
		break;
	case FN_CIDR:
		if (expr_cidr_nets(p, n, n->n_kids[1]) == -1)
			return (NULL);
		break;
	default:
		break;
	}
	return (n);
}

/* A literal node holding the current number or string token. */
static struct expr_node *
expr_literal(struct expr_parser *p)
{
	struct expr_node	*n;

	if ((n = expr_node(p, OP_LIT, p->t_pos)) == NULL)
		return (NULL);
	switch (p->t_type) {
	case T_NUM:
		if (p->t_isint)
			expr_set_int(&n->n_val, p->t_int);
		else {
			expr_set_num(&n->n_val, p->t_num);
			n->n_val.v_isint = 0;
		}
		break;
	case T_STR:
		expr_set_str(&n->n_val, p->t_text.b_data, p->t_text.b_len);
		break;
	case T_TRUE:
	case T_FALSE:
		expr_set_bool(&n->n_val, p->t_type == T_TRUE);
		break;
	default:
		break;
	}
	if (expr_lex(p) == -1)
		return (NULL);
	return (n);
}

/* A list literal (current token: "["); all-literal lists fold. */
static struct expr_node *
expr_list(struct expr_parser *p)
{
	struct expr_node	*n, *a;
	size_t			 i, pos = p->t_pos;
	int			 lits = 1;

	if ((n = expr_node(p, OP_LIST, pos)) == NULL || expr_enter(p) == -1 ||
	    expr_lex(p) == -1)
		return (NULL);
	if (p->t_type != T_RB) {
		for (;;) {
			if ((a = expr_parse(p)) == NULL)
				return (NULL);
			expr_addkid(n, a);
			lits &= a->n_op == OP_LIT;
			if (p->t_type == T_COMMA) {
				if (expr_lex(p) == -1)
					return (NULL);
				continue;
			}
			if (p->t_type != T_RB) {
				expr_perr(p, p->t_pos, "expected ',' or ']' "
				    "in list opened at %zu", pos);
				return (NULL);
			}
			break;
		}
	}
	p->p_depth--;
	if (expr_lex(p) == -1)
		return (NULL);
	if (lits) {
		n->n_op = OP_LIT;
		n->n_val.v_type = EXPR_LIST;
		n->n_val.v_n = n->n_nkids;
		n->n_val.v_list = n->n_nkids == 0 ? NULL :
		    xcalloc(n->n_nkids, sizeof *n->n_val.v_list);
		for (i = 0; i < n->n_nkids; i++)
			expr_val_copy(&n->n_val.v_list[i],
			    &n->n_kids[i]->n_val);
	}
	return (n);
}

/* primary */
static struct expr_node *
expr_primary(struct expr_parser *p)
{
	struct expr_node	*n;
	char			*name;
	size_t			 pos = p->t_pos;

	switch (p->t_type) {
	case T_NUM:
	case T_STR:
	case T_TRUE:
	case T_FALSE:
	case T_NULL:
		return (expr_literal(p));
	case T_NAME:
	case T_QNAME:
		if (p->t_type == T_NAME && p->t_call) {
			name = xstrdup(p->t_text.b_data);
			if (expr_lex(p) == -1)		/* the "(" */
				n = NULL;
			else
				n = expr_call(p, name, pos);
			free(name);
			return (n);
		}
		if ((n = expr_node(p, OP_FIELD, pos)) == NULL)
			return (NULL);
		n->n_key = xstrdup(p->t_text.b_data);
		n->n_klen = p->t_text.b_len;
		if (expr_lex(p) == -1)
			return (NULL);
		return (n);
	case T_LP:
		if (expr_enter(p) == -1 || expr_lex(p) == -1 ||
		    (n = expr_parse(p)) == NULL)
			return (NULL);
		if (p->t_type != T_RP) {
			expr_perr(p, p->t_pos, "expected ')' to close '(' at "
			    "%zu", pos);
			return (NULL);
		}
		p->p_depth--;
		if (expr_lex(p) == -1)
			return (NULL);
		return (n);
	case T_LB:
		return (expr_list(p));
	default:
		return (expr_unexpected(p, NULL));
	}
}

/* unary = "-" unary | primary */
static struct expr_node *
expr_unary(struct expr_parser *p)
{
	struct expr_node	*n, *a;
	size_t			 pos = p->t_pos;

	if (p->t_type != T_MINUS)
		return (expr_primary(p));
	if (expr_enter(p) == -1 || expr_lex(p) == -1 ||
	    (a = expr_unary(p)) == NULL)
		return (NULL);
	p->p_depth--;
	if (a->n_op == OP_LIT && a->n_val.v_type == EXPR_NUM) {
		/* Fold a negative literal (keeps INT64_MIN exact). */
		if (a->n_val.v_isint && a->n_val.v_int != INT64_MIN)
			expr_set_int(&a->n_val, -a->n_val.v_int);
		else {
			expr_set_num(&a->n_val, -a->n_val.v_num);
			a->n_val.v_isint = 0;
		}
		a->n_pos = a->n_start = pos;
		return (a);
	}
	if ((n = expr_node(p, OP_NEG, pos)) == NULL)
		return (NULL);
	n->n_a = a;
	return (n);
}

/* product = unary { ("*" | "/" | "%") unary } */
static struct expr_node *
expr_product(struct expr_parser *p)
{
	struct expr_node	*n;
	enum expr_op		 op;
	size_t			 pos;

	n = expr_unary(p);
	while (n != NULL && (p->t_type == T_STAR || p->t_type == T_SLASH ||
	    p->t_type == T_PCT)) {
		op = p->t_type == T_STAR ? OP_MUL : p->t_type == T_SLASH ?
		    OP_DIV : OP_MOD;
		pos = p->t_pos;
		if (expr_lex(p) == -1)
			return (NULL);
		n = expr_binary(p, op, pos, n, expr_unary(p));
	}
	return (n);
}

/* sum = product { ("+" | "-") product } */
static struct expr_node *
expr_sum(struct expr_parser *p)
{
	struct expr_node	*n;
	enum expr_op		 op;
	size_t			 pos;

	n = expr_product(p);
	while (n != NULL && (p->t_type == T_PLUS || p->t_type == T_MINUS)) {
		op = p->t_type == T_PLUS ? OP_ADD : OP_SUB;
		pos = p->t_pos;
		if (expr_lex(p) == -1)
			return (NULL);
		n = expr_binary(p, op, pos, n, expr_product(p));
	}
	return (n);
}

/* True when the current token starts a comparison operator. */
static int
expr_is_cmp(const struct expr_parser *p)
{
	switch (p->t_type) {
	case T_EQ: case T_NE: case T_LT: case T_LE: case T_GT: case T_GE:
	case T_MATCH: case T_NOMATCH: case T_IN: case T_NOT:
		return (1);
	default:
		return (0);
	}
}

/* cmp = sum [ cmpop sum ] */
static struct expr_node *
expr_cmp(struct expr_parser *p)
{
	struct expr_node	*n, *b;
	enum expr_op		 op = OP_EQ;
	size_t			 pos;

	if ((n = expr_sum(p)) == NULL || !expr_is_cmp(p))
		return (n);
	pos = p->t_pos;
	switch (p->t_type) {
	case T_EQ: op = OP_EQ; break;
	case T_NE: op = OP_NE; break;
	case T_LT: op = OP_LT; break;
	case T_LE: op = OP_LE; break;
	case T_GT: op = OP_GT; break;
	case T_GE: op = OP_GE; break;
	case T_MATCH: op = OP_MATCH; break;
	case T_NOMATCH: op = OP_NOMATCH; break;
	case T_IN: op = OP_IN; break;
	case T_NOT:
		if (expr_lex(p) == -1)
			return (NULL);
		if (p->t_type != T_IN)
			return (expr_unexpected(p, "after 'not' (want 'not "
			    "in')"));
		op = OP_NOTIN;
		break;
	default:
		break;
	}
	if (expr_lex(p) == -1)
		return (NULL);
	if ((b = expr_sum(p)) == NULL)
		return (NULL);
	if (expr_is_cmp(p)) {
		expr_perr(p, p->t_pos, "comparisons do not chain; use 'and'");
		return (NULL);
	}
	if (op == OP_MATCH || op == OP_NOMATCH) {
		if ((n = expr_binary(p, op, pos, n, b)) == NULL ||
		    expr_regex(p, n, b, op == OP_MATCH ? "'=~'" : "'!~'") ==
		    -1)
			return (NULL);
		return (n);
	}
	return (expr_binary(p, op, pos, n, b));
}

/* not = "not" not | cmp */
static struct expr_node *
expr_not(struct expr_parser *p)
{
	struct expr_node	*n, *a;
	size_t			 pos = p->t_pos;

	if (p->t_type != T_NOT)
		return (expr_cmp(p));
	if (expr_enter(p) == -1 || expr_lex(p) == -1 ||
	    (a = expr_not(p)) == NULL)
		return (NULL);
	p->p_depth--;
	if ((n = expr_node(p, OP_NOT, pos)) == NULL)
		return (NULL);
	n->n_a = a;
	return (n);
}

/* and = not { "and" not } */
static struct expr_node *
expr_and(struct expr_parser *p)
{
	struct expr_node	*n;
	size_t			 pos;

	n = expr_not(p);
	while (n != NULL && p->t_type == T_AND) {
		pos = p->t_pos;
		if (expr_lex(p) == -1)
			return (NULL);
		n = expr_binary(p, OP_AND, pos, n, expr_not(p));
	}
	return (n);
}

/* expr = or = and { "or" and } */
static struct expr_node *
expr_parse(struct expr_parser *p)
{
	struct expr_node	*n;
	size_t			 pos;

	n = expr_and(p);
	while (n != NULL && p->t_type == T_OR) {
		pos = p->t_pos;
		if (expr_lex(p) == -1)
			return (NULL);
		n = expr_binary(p, OP_OR, pos, n, expr_and(p));
	}
	return (n);
}

/* Compile src into a new expression, or NULL with err set. */
struct expr *
expr_compile(const char *src, char *err, size_t errlen)
{
	struct expr_parser	 p;
	struct expr		*e;
	size_t			 len;

	memset(&p, 0, sizeof p);
	p.p_err = err;
	p.p_errlen = errlen;
	if ((len = strlen(src)) > EXPR_MAX_SRC) {
		expr_perr(&p, EXPR_MAX_SRC + 1, "expression longer than %d "
		    "bytes", EXPR_MAX_SRC);
		return (NULL);
	}
	e = xcalloc(1, sizeof *e);
	e->e_src = xstrdup(src);
	e->e_nodes = xcalloc(EXPR_MAX_NODES, sizeof *e->e_nodes);
	p.p_src = e->e_src;
	p.p_len = len;
	p.p_expr = e;
	if (expr_lex(&p) == 0) {
		if (p.t_type == T_EOF)
			expr_perr(&p, p.t_pos, "empty expression");
		else if ((e->e_root = expr_parse(&p)) != NULL &&
		    p.t_type != T_EOF)
			expr_unexpected(&p, "after the expression");
	}
	buf_free(&p.t_text);
	if (p.p_failed) {
		expr_free(e);
		return (NULL);
	}
	return (e);
}

/* Free an expression; accepts NULL. */
void
expr_free(struct expr *e)
{
	struct expr_node	*n;
	size_t			 i;

	if (e == NULL)
		return;
	for (i = 0; i < e->e_n; i++) {
		n = e->e_nodes[i];
		expr_val_free(&n->n_val);
		free(n->n_kids);
		free(n->n_key);
		free(n->n_nets);
		if (n->n_re != NULL)
			pcre2_code_free(n->n_re);
		free(n);
	}
	free(e->e_nodes);
	if (e->e_mc != NULL)
		pcre2_match_context_free(e->e_mc);
	free(e->e_src);
	free(e);
}

/* The source text. */
const char *
expr_source(const struct expr *e)
{
	return (e->e_src);
}

/*
 * Evaluation.  Each function returns 0 with *out set, or -1 with err set
 * and *out null.
 */

/* A runtime error at node n. */
static int
expr_rerr(const struct expr_node *n, char *err, size_t errlen,
    const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[200];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "at %zu: %s", n->n_pos, msg);
	return (-1);
}

/*
 * Evaluate n into *vp without copying literals: *vp points at the
 * literal, or at tmp (which the caller frees; it stays null otherwise).
 */
static int
expr_ref(const struct expr *e, const struct expr_node *n,
    const struct record *r, struct expr_val *tmp,
    const struct expr_val **vp, char *err, size_t errlen)
{
	memset(tmp, 0, sizeof *tmp);
	if (n->n_op == OP_LIT) {
		*vp = &n->n_val;
		return (0);
	}
	*vp = tmp;
	return (expr_run(e, n, r, tmp, err, errlen));
}

/* Arithmetic on two values. */
static int
expr_arith(const struct expr_node *n, const struct expr_val *a,
    const struct expr_val *b, struct expr_val *out, char *err, size_t errlen)
{
	struct expr_val	 x, y;
	struct buf	 s = BUF_INIT;
	int64_t		 r;
	double		 d;

	if (a->v_type == EXPR_NULL || b->v_type == EXPR_NULL)
		return (0);
	if (n->n_op == OP_ADD && a->v_type == EXPR_STR &&
	    b->v_type == EXPR_STR) {
		if (a->v_len + b->v_len > EXPR_MAX_STR)
			return (expr_rerr(n, err, errlen, "string longer "
			    "than %d bytes", EXPR_MAX_STR));
		buf_add(&s, a->v_str, a->v_len);
		buf_add(&s, b->v_str, b->v_len);
		if (s.b_data == NULL)
			buf_add(&s, "", 0);
		expr_take_str(out, &s);
		return (0);
	}
	if (expr_to_num(a, &x) == -1 || expr_to_num(b, &y) == -1)
		return (expr_rerr(n, err, errlen, "cannot apply '%s' to %s "
		    "and %s", expr_opnames[n->n_op], expr_type_name(a->v_type),
		    expr_type_name(b->v_type)));
	if ((n->n_op == OP_DIV || n->n_op == OP_MOD) && y.v_num == 0)
		return (expr_rerr(n, err, errlen, "division by zero"));
	if (x.v_isint && y.v_isint) {
		switch (n->n_op) {
		case OP_ADD:
			if (!__builtin_add_overflow(x.v_int, y.v_int, &r))
				goto exact;
			break;
		case OP_SUB:
			if (!__builtin_sub_overflow(x.v_int, y.v_int, &r))
				goto exact;
			break;
		case OP_MUL:
			if (!__builtin_mul_overflow(x.v_int, y.v_int, &r))
				goto exact;
			break;
		case OP_DIV:
			if (y.v_int != -1 && x.v_int % y.v_int == 0) {
				r = x.v_int / y.v_int;
				goto exact;
			}
			break;
		case OP_MOD:
			r = y.v_int == -1 ? 0 : x.v_int % y.v_int;
			goto exact;
		default:
			break;
		}
	}
	switch (n->n_op) {
	case OP_ADD:
		d = x.v_num + y.v_num;
		break;
	case OP_SUB:
		d = x.v_num - y.v_num;
		break;
	case OP_MUL:
		d = x.v_num * y.v_num;
		break;
	case OP_DIV:
		d = x.v_num / y.v_num;
		break;
	default:
		d = fmod(x.v_num, y.v_num);
		break;
	}
	if (!isfinite(d))
		return (expr_rerr(n, err, errlen, "number out of range"));
	expr_set_num(out, d);
	return (0);
exact:
	expr_set_int(out, r);
	return (0);
}

/* x in y (list: an equal item; string: a substring). */
static int
expr_in(const struct expr_val *x, const struct expr_val *y)
{
	struct buf	 t = BUF_INIT;
	size_t		 i;
	int		 r;

	if (y->v_type == EXPR_LIST) {
		for (i = 0; i < y->v_n; i++)
			if (expr_val_eq(x, &y->v_list[i]))
				return (1);
		return (0);
	}
	if (y->v_type != EXPR_STR || (x->v_type != EXPR_STR &&
	    x->v_type != EXPR_NUM))
		return (0);
	expr_val_text(x, &t);
	r = t.b_len == 0 || memmem(y->v_str, y->v_len, t.b_data,
	    t.b_len) != NULL;
	buf_free(&t);
	return (r);
}

/* Does v's text match the compiled pattern of n?  1, 0 or -1. */
static int
expr_match(const struct expr *e, const struct expr_node *n,
    const struct expr_val *v, char *err, size_t errlen)
{
	pcre2_match_data	*md;
	PCRE2_UCHAR		 msg[160];
	struct buf		 t = BUF_INIT, fixed = BUF_INIT;
	const char		*s;
	size_t			 len;
	int			 rc;

	if (v->v_type == EXPR_NULL)
		return (0);
	expr_val_text(v, &t);
	s = t.b_data;
	len = t.b_len;
	if (!util_utf8_valid(s, len)) {
		util_utf8_append(&fixed, s, len);
		s = fixed.b_data;
		len = fixed.b_len;
	}
	if ((md = pcre2_match_data_create(1, NULL)) == NULL)
		fatalx("expr: out of memory");
	rc = pcre2_match(n->n_re, (PCRE2_SPTR)s, len, 0, PCRE2_NO_UTF_CHECK,
	    md, e->e_mc);
	pcre2_match_data_free(md);
	buf_free(&t);
	buf_free(&fixed);
	if (rc >= 0)
		return (1);
	if (rc == PCRE2_ERROR_NOMATCH)
		return (0);
	pcre2_get_error_message(rc, msg, sizeof msg);
	return (expr_rerr(n, err, errlen, "regular expression: %s",
	    (const char *)msg));
}

/* Is the text of v an address inside one of the networks of n? */
static int
expr_cidr(const struct expr_node *n, const struct expr_val *v)
{
	static const uint8_t	 mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const struct expr_net	*net;
	uint8_t			 a[16];
	const uint8_t		*cmp;
	char			 s[INET6_ADDRSTRLEN + 1];
	size_t			 i;
	int			 v6, b, full;

	if (v->v_type != EXPR_STR || v->v_len == 0 || v->v_len >= sizeof s ||
	    memchr(v->v_str, '\0', v->v_len) != NULL)
		return (0);
	memcpy(s, v->v_str, v->v_len);
	s[v->v_len] = '\0';
	if (inet_pton(AF_INET, s, a) == 1)
		v6 = 0;
	else if (inet_pton(AF_INET6, s, a) == 1)
		v6 = 1;
	else
		return (0);
	for (i = 0; i < n->n_nnets; i++) {
		net = &n->n_nets[i];
		cmp = a;
		if (net->n_v6 != v6) {
			/* An IPv4-mapped IPv6 address is its IPv4 address. */
			if (!v6 || memcmp(a, mapped, sizeof mapped) != 0)
				continue;
			cmp = a + 12;
		}
		full = net->n_bits / 8;
		if (full > 0 && memcmp(cmp, net->n_addr, (size_t)full) != 0)
			continue;
		b = net->n_bits % 8;
		if (b != 0 && ((cmp[full] ^ net->n_addr[full]) &
		    (0xff << (8 - b)) & 0xff) != 0)
			continue;
		return (1);
	}
	return (0);
}

/* Number of UTF-8 characters in n bytes. */
static size_t
expr_utf8_len(const char *s, size_t n)
{
	size_t	 i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return (c);
}

/* A function call. */
static int
expr_callfn(const struct expr *e, const struct expr_node *n,
    const struct record *r, struct expr_val *out, char *err, size_t errlen)
{
	struct expr_val		 t0, t1, num;
	const struct expr_val	*a = NULL, *b = NULL;
	struct buf		 s = BUF_INIT, u = BUF_INIT;
	size_t			 i;
	int			 rc = 0, res;

	switch (n->n_fn->fn) {
	case FN_EXISTS:
		expr_set_bool(out, r != NULL &&
		    record_find(r, n->n_key, n->n_klen) != -1);
		return (0);
	case FN_COALESCE:
		for (i = 0; i < n->n_nkids; i++) {
			if (expr_run(e, n->n_kids[i], r, out, err, errlen) ==
			    -1)
				return (-1);
			if (out->v_type != EXPR_NULL)
				break;
		}
		return (0);
	default:
		break;
	}
	if (expr_ref(e, n->n_kids[0], r, &t0, &a, err, errlen) == -1)
		return (-1);
	memset(&t1, 0, sizeof t1);
	if (n->n_nkids > 1 && n->n_fn->fn != FN_CIDR &&
	    expr_ref(e, n->n_kids[1], r, &t1, &b, err, errlen) == -1) {
		expr_val_free(&t0);
		return (-1);
	}
	switch (n->n_fn->fn) {
	case FN_LOWER:
	case FN_UPPER:
		if (a->v_type == EXPR_NULL)
			break;
		expr_val_text(a, &s);
		for (i = 0; i < s.b_len; i++)
			s.b_data[i] = n->n_fn->fn == FN_LOWER ?
			    expr_lower(s.b_data[i]) : expr_upper(s.b_data[i]);
		expr_take_str(out, &s);
		break;
	case FN_LEN:
		if (a->v_type == EXPR_LIST)
			expr_set_int(out, (int64_t)a->v_n);
		else if (a->v_type == EXPR_NULL)
			expr_set_int(out, 0);
		else {
			expr_val_text(a, &s);
			expr_set_int(out, (int64_t)expr_utf8_len(s.b_data,
			    s.b_len));
		}
		break;
	case FN_CONTAINS:
	case FN_STARTSWITH:
	case FN_ENDSWITH:
		if (a->v_type == EXPR_NULL || b->v_type == EXPR_NULL) {
			expr_set_bool(out, 0);
			break;
		}
		if (n->n_fn->fn == FN_CONTAINS && a->v_type == EXPR_LIST) {
			expr_set_bool(out, expr_in(b, a));
			break;
		}
		expr_val_text(a, &s);
		expr_val_text(b, &u);
		if (u.b_len > s.b_len)
			res = 0;
		else if (n->n_fn->fn == FN_STARTSWITH)
			res = memcmp(s.b_data, u.b_data, u.b_len) == 0;
		else if (n->n_fn->fn == FN_ENDSWITH)
			res = memcmp(s.b_data + s.b_len - u.b_len, u.b_data,
			    u.b_len) == 0;
		else
			res = u.b_len == 0 || memmem(s.b_data, s.b_len,
			    u.b_data, u.b_len) != NULL;
		expr_set_bool(out, res);
		break;
	case FN_CIDR:
		expr_set_bool(out, expr_cidr(n, a));
		break;
	case FN_INT:
	case FN_NUM:
		if (a->v_type == EXPR_BOOL)
			expr_set_int(out, a->v_bool);
		else if (expr_to_num(a, &num) == 0) {
			if (n->n_fn->fn == FN_NUM)
				*out = num;
			else if (num.v_isint)
				expr_set_int(out, num.v_int);
			else if (fabs(num.v_num) < 9.2e18)
				expr_set_int(out, (int64_t)num.v_num);
			else
				rc = expr_rerr(n, err, errlen, "int: %g is "
				    "out of range", num.v_num);
		}
		break;
	case FN_STR:
		if (a->v_type == EXPR_NULL)
			break;
		expr_val_text(a, &s);
		expr_take_str(out, &s);
		break;
	default:
		rc = expr_rerr(n, err, errlen, "internal error: function");
		break;
	}
	buf_free(&s);
	buf_free(&u);
	expr_val_free(&t0);
	expr_val_free(&t1);
	return (rc);
}

/* Evaluate node n on r into out (assumed empty). */
static int
expr_run(const struct expr *e, const struct expr_node *n,
    const struct record *r, struct expr_val *out, char *err, size_t errlen)
{
	struct expr_val		 ta, tb;
	const struct expr_val	*a, *b;
	size_t			 i;
	int			 rc = 0, c;

	memset(out, 0, sizeof *out);
	switch (n->n_op) {
	case OP_LIT:
		expr_val_copy(out, &n->n_val);
		return (0);
	case OP_FIELD:
		expr_field(r, n->n_key, n->n_klen, out);
		return (0);
	case OP_LIST:
		out->v_type = EXPR_LIST;
		out->v_list = xcalloc(n->n_nkids, sizeof *out->v_list);
		for (i = 0; i < n->n_nkids; i++) {
			if (expr_run(e, n->n_kids[i], r, &out->v_list[i], err,
			    errlen) == -1) {
				expr_val_free(out);
				return (-1);
			}
			out->v_n++;
		}
		return (0);
	case OP_CALL:
		rc = expr_callfn(e, n, r, out, err, errlen);
		break;
	case OP_OR:
	case OP_AND:
		if (expr_ref(e, n->n_a, r, &ta, &a, err, errlen) == -1)
			return (-1);
		c = expr_val_truthy(a);
		expr_val_free(&ta);
		if (c == (n->n_op == OP_OR)) {
			expr_set_bool(out, c);
			return (0);
		}
		if (expr_ref(e, n->n_b, r, &tb, &b, err, errlen) == -1)
			return (-1);
		expr_set_bool(out, expr_val_truthy(b));
		expr_val_free(&tb);
		return (0);
	case OP_NOT:
	case OP_NEG:
	case OP_MATCH:
	case OP_NOMATCH:
		if (expr_ref(e, n->n_a, r, &ta, &a, err, errlen) == -1)
			return (-1);
		if (n->n_op == OP_NOT)
			expr_set_bool(out, !expr_val_truthy(a));
		else if (n->n_op == OP_NEG) {
			if (a->v_type == EXPR_NULL)
				;
			else if (expr_to_num(a, &tb) == -1)
				rc = expr_rerr(n, err, errlen, "cannot apply "
				    "'-' to %s", expr_type_name(a->v_type));
			else if (tb.v_isint && tb.v_int != INT64_MIN)
				expr_set_int(out, -tb.v_int);
			else
				expr_set_num(out, -tb.v_num);
		} else if ((c = expr_match(e, n, a, err, errlen)) == -1)
			rc = -1;
		else
			expr_set_bool(out, c == (n->n_op == OP_MATCH));
		expr_val_free(&ta);
		break;
	default:
		if (expr_ref(e, n->n_a, r, &ta, &a, err, errlen) == -1)
			return (-1);
		if (expr_ref(e, n->n_b, r, &tb, &b, err, errlen) == -1) {
			expr_val_free(&ta);
			return (-1);
		}
		switch (n->n_op) {
		case OP_EQ:
		case OP_NE:
			expr_set_bool(out, expr_val_eq(a, b) ==
			    (n->n_op == OP_EQ));
			break;
		case OP_LT:
		case OP_LE:
		case OP_GT:
		case OP_GE:
			if (expr_val_cmp(a, b, &c) == -1)
				expr_set_bool(out, 0);
			else
				expr_set_bool(out, n->n_op == OP_LT ? c < 0 :
				    n->n_op == OP_LE ? c <= 0 :
				    n->n_op == OP_GT ? c > 0 : c >= 0);
			break;
		case OP_IN:
		case OP_NOTIN:
			expr_set_bool(out, expr_in(a, b) == (n->n_op ==
			    OP_IN));
			break;
		default:
			rc = expr_arith(n, a, b, out, err, errlen);
			break;
		}
		expr_val_free(&ta);
		expr_val_free(&tb);
		break;
	}
	if (rc == -1)
		expr_val_free(out);
	return (rc);
}

/* Evaluate on a record. */
int
expr_eval(const struct expr *e, const struct record *r, struct expr_val *out,
    char *err, size_t errlen)
{
	return (expr_run(e, e->e_root, r, out, err, errlen));
}

/* Evaluate and test: 1, 0 or -1. */
int
expr_truthy(const struct expr *e, const struct record *r, char *err,
    size_t errlen)
{
	struct expr_val	 v;
	int		 t;

	if (expr_eval(e, r, &v, err, errlen) == -1)
		return (-1);
	t = expr_val_truthy(&v);
	expr_val_free(&v);
	return (t);
}

/* Evaluate and append the result as JSON text. */
int
expr_eval_json(const struct expr *e, const struct record *r, struct buf *b,
    char *err, size_t errlen)
{
	struct expr_val	 v;

	if (expr_eval(e, r, &v, err, errlen) == -1)
		return (-1);
	expr_val_json(&v, b);
	expr_val_free(&v);
	return (0);
}
