/*
 * expr.h -- a small, safe expression language over a record.
 *
 * An expression is compiled once (expr_compile) and evaluated on many
 * records.  It reads fields ("source.ip", missing ones are null), compares,
 * combines with and / or / not, does arithmetic, tests membership with
 * "in", and calls a fixed set of functions (lower, upper, len, contains,
 * startswith, endswith, matches, cidr, int, num, str, exists, field,
 * coalesce).  The grammar is at the top of expr.c and in README.
 *
 * Safety: there are no loops, no user functions and no assignment.  The
 * source length, the number of syntax-tree nodes and the nesting depth are
 * limited at compile time, so evaluation recursion is bounded by
 * construction (at most EXPR_MAX_NODES frames).  Regular expressions must
 * be literals: they are compiled once, and every match runs under PCRE2
 * match, depth and heap limits.  Strings built at run time are limited to
 * EXPR_MAX_STR bytes.
 */
#ifndef PROG_EXPR_H
#define PROG_EXPR_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct expr;
struct record;

#define EXPR_MAX_SRC		4096		/* bytes of source */
#define EXPR_MAX_NODES		512		/* syntax-tree nodes */
#define EXPR_MAX_DEPTH		32		/* nesting: ( [ f( not - */
#define EXPR_MAX_STR		(1024 * 1024)	/* bytes of a built string */
#define EXPR_MATCH_LIMIT	1000000		/* pcre2_set_match_limit */
#define EXPR_DEPTH_LIMIT	10000		/* pcre2_set_depth_limit */
#define EXPR_HEAP_LIMIT		8192		/* pcre2_set_heap_limit, KiB */

enum expr_type {
	EXPR_NULL,
	EXPR_BOOL,
	EXPR_NUM,
	EXPR_STR,
	EXPR_LIST
};

/*
 * A value.  An expr_val filled by expr_eval owns everything it points to;
 * release it with expr_val_free.
 */
struct expr_val {
	enum expr_type	 v_type;
	int		 v_bool;	/* EXPR_BOOL: 0 or 1 */
	int		 v_isint;	/* EXPR_NUM: v_int is the exact value */
	int64_t		 v_int;
	double		 v_num;		/* EXPR_NUM: always set, finite */
	char		*v_str;		/* EXPR_STR: NUL-terminated (may hold */
	size_t		 v_len;		/*   NULs; v_len is the length) */
	struct expr_val	*v_list;	/* EXPR_LIST: v_n elements */
	size_t		 v_n;
};

/*
 * Compile src.  Returns a new expression, or NULL with a one-line message
 * in err naming the 1-based byte position: "at 14: expected ')' after
 * arguments of lower".  Unknown functions, wrong argument counts, bad
 * literal regular expressions and CIDR networks, and every limit above are
 * refused here.
 */
struct expr	*expr_compile(const char *, char *, size_t);
/* Free an expression; accepts NULL. */
void		 expr_free(struct expr *);
/* The source text the expression was compiled from (borrowed). */
const char	*expr_source(const struct expr *);

/*
 * Evaluate on a record (NULL: every field is missing).  Stores the result
 * in *out (release with expr_val_free) and returns 0; or returns -1 with
 * a message in err ("at 9: division by zero", "at 3: matches: match limit
 * exceeded") and *out null.
 */
int		 expr_eval(const struct expr *, const struct record *,
		    struct expr_val *, char *, size_t);
/* Evaluate and test the result: 1 true, 0 false, -1 error (in err). */
int		 expr_truthy(const struct expr *, const struct record *,
		    char *, size_t);
/*
 * Evaluate and append the result as JSON text to out (for a new field
 * value).  Returns 0, or -1 with err set and out unchanged.
 */
int		 expr_eval_json(const struct expr *, const struct record *,
		    struct buf *, char *, size_t);

/* Release what a value owns; it becomes null.  Accepts a null value. */
void		 expr_val_free(struct expr_val *);
/* Truthiness: null, false, 0, "" and [] are false; all else is true. */
int		 expr_val_truthy(const struct expr_val *);
/* Append a value as JSON text. */
void		 expr_val_json(const struct expr_val *, struct buf *);
/* Name of a type, for messages ("null", "bool", "number", ...). */
const char	*expr_type_name(enum expr_type);

#endif
