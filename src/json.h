/*
 * json.h -- a small JSON document tree, parsed with yajl's streaming API.
 *
 * For API bodies, search definitions and stored records: inputs that are
 * small and bounded.  Large responses from sources never come here; they go
 * through jstream.  yajl_tree is not used: it leaks on some error paths.
 */
#ifndef PROG_JSON_H
#define PROG_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>

struct buf;

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT
};

struct json_member;

struct json {
	enum json_type	 j_type;
	union {
		int	 b;			/* JSON_BOOL */
		struct {
			char	*text;		/* the number as written */
			double	 d;
		} num;				/* JSON_NUMBER */
		struct {
			char	*s;		/* NUL-terminated, valid UTF-8 */
			size_t	 len;
		} str;				/* JSON_STRING */
		struct {
			struct json	**v;
			size_t		  n;
		} arr;				/* JSON_ARRAY */
		struct {
			struct json_member *m;
			size_t		  n;
		} obj;				/* JSON_OBJECT */
	} j_u;
};

struct json_member {
	char		*m_key;		/* NUL-terminated */
	size_t		 m_klen;
	struct json	*m_val;
};

#define JSON_MAX_DEPTH	64

/*
 * Parse len bytes holding exactly one JSON value.  Returns a new tree, or
 * NULL with a one-line message in err.  Invalid UTF-8 in strings is
 * replaced with U+FFFD.  Objects with a repeated key are refused.
 */
struct json	*json_parse(const char *, size_t, char *, size_t);
/* Free a tree; accepts NULL. */
void		 json_free(struct json *);
/* A deep copy. */
struct json	*json_dup(const struct json *);

/* Member of an object by key, or NULL (also when j is not an object). */
struct json	*json_get(const struct json *, const char *);
/* Element i of an array, or NULL. */
struct json	*json_at(const struct json *, size_t);
/* Number of elements of an array or members of an object, else 0. */
size_t		 json_len(const struct json *);
/* The string, or NULL when j is not a string. */
const char	*json_str(const struct json *);
/* True when j is a number that is a whole int64; stores it. */
int		 json_int(const struct json *, int64_t *);
/* True when j is a number; stores it. */
int		 json_num(const struct json *, double *);
/* True when j is a boolean; stores it. */
int		 json_bool(const struct json *, int *);
/* Name of a type, for error messages ("object", "string", ...). */
const char	*json_type_name(enum json_type);

/* Constructors, for building trees. */
struct json	*json_new(enum json_type);
struct json	*json_new_str(const char *, size_t);
struct json	*json_new_int(int64_t);
struct json	*json_new_bool(int);
/* Append v to array a (takes ownership of v). */
void		 json_push(struct json *, struct json *);
/* Set key in object o to v, replacing any old value (takes v). */
void		 json_set(struct json *, const char *, struct json *);
/* Remove key from object o; true if it was there. */
int		 json_del(struct json *, const char *);
/* Apply an RFC 7386 merge patch to target (in place); takes nothing. */
void		 json_merge_patch(struct json **, const struct json *);

/* Write j through a generator. */
void		 json_gen(yajl_gen, const struct json *);
/* Serialize compactly into a new string (NUL-terminated). */
char		*json_to_string(const struct json *, size_t *);
/* Serialize with object keys sorted (for hashing). */
void		 json_canonical(const struct json *, struct buf *);

/* Append s (n bytes) as a JSON string: quoted, escaped, UTF-8 repaired. */
void		 json_append_string(struct buf *, const char *, size_t);

/* Generator helpers: a new generator with validation of UTF-8 off. */
yajl_gen	 jgen_new(void);
/* Append the generator's output to a buf and clear the generator. */
void		 jgen_take(yajl_gen, struct buf *);
void		 jgen_str(yajl_gen, const char *);
void		 jgen_strn(yajl_gen, const char *, size_t);
void		 jgen_int(yajl_gen, int64_t);
void		 jgen_bool(yajl_gen, int);
void		 jgen_null(yajl_gen);
/* A string, or null when s is NULL. */
void		 jgen_str_or_null(yajl_gen, const char *);
/* An RFC 3339 time from ms, or null when ms is 0. */
void		 jgen_time(yajl_gen, int64_t);
/* A raw JSON value (already valid JSON text) inserted verbatim. */
void		 jgen_raw(yajl_gen, const char *, size_t);
/* Key helpers: key then value. */
void		 jgen_kstr(yajl_gen, const char *, const char *);
void		 jgen_kint(yajl_gen, const char *, int64_t);
void		 jgen_kbool(yajl_gen, const char *, int);
void		 jgen_ktime(yajl_gen, const char *, int64_t);

#endif
