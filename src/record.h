/*
 * record.h -- one hit or bucket: a flat, ordered list of key -> JSON value.
 *
 * Nested objects of a source document are flattened into dotted keys
 * ({"source":{"ip":"1.2.3.4"}} becomes "source.ip" -> "\"1.2.3.4\""); arrays
 * stay whole, as JSON text.  Keys and values live in one arena per record,
 * so a record is two allocations whatever its size.  Values are always
 * valid JSON text (strings quoted and escaped, numbers verbatim).
 */
#ifndef PROG_RECORD_H
#define PROG_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>

struct buf;

struct record_field {
	uint32_t	 f_key;		/* offset of the key in the arena */
	uint32_t	 f_klen;
	uint32_t	 f_val;		/* offset of the JSON value */
	uint32_t	 f_vlen;
};

struct record {
	char			*r_arena;	/* keys and values */
	size_t			 r_len;
	size_t			 r_size;
	struct record_field	*r_fields;
	size_t			 r_n;
	size_t			 r_cap;
	int64_t			 r_time;	/* event time, ms; 0 = unknown */
	char			*r_id;		/* source id ("index/id") or NULL */
	char			*r_sort;	/* raw JSON sort array or NULL */
	char			*r_url;		/* link to it at the source, or NULL */
	/*
	 * The leading fields that came from the source: a search's "fields"
	 * selection applies to them; fields filters add after are always
	 * kept in the alert.  SIZE_MAX (record_new) for all; 0 for a
	 * record a filter made.
	 */
	size_t			 r_nsrc;
};

/* A new empty record. */
struct record	*record_new(void);
/* Free a record; accepts NULL. */
void		 record_free(struct record *);
/* Bytes the record holds (arena + field table), for accounting. */
size_t		 record_size(const struct record *);

/* Append key -> value (value must be valid JSON text).  Duplicates allowed. */
void		 record_add(struct record *, const char *, size_t,
		    const char *, size_t);
/* Append key -> the JSON string of s (escaped here). */
void		 record_add_str(struct record *, const char *, const char *,
		    size_t);
/* Append key -> integer. */
void		 record_add_int(struct record *, const char *, int64_t);
/* Number of fields. */
size_t		 record_count(const struct record *);
/* Key of field i (not NUL-terminated; length in *len). */
const char	*record_key(const struct record *, size_t, size_t *);
/* JSON value of field i (not NUL-terminated; length in *len). */
const char	*record_val(const struct record *, size_t, size_t *);
/* Index of the first field named key, or -1. */
int		 record_find(const struct record *, const char *, size_t);
/* JSON value of the first field named key, or NULL. */
const char	*record_get(const struct record *, const char *, size_t *);
/*
 * The value of key as text: a JSON string decoded (unescaped), any other
 * value as its JSON text.  Appends to b; returns 0, or -1 if absent.
 */
int		 record_get_text(const struct record *, const char *,
		    struct buf *);
/* Remove every field named key; returns how many. */
size_t		 record_del(struct record *, const char *);
/* Set the source id (copied). */
void		 record_set_id(struct record *, const char *, size_t);
/* Set the raw sort array (copied). */
void		 record_set_sort(struct record *, const char *, size_t);

/* Write the record as one JSON object (fields in order). */
void		 record_gen(yajl_gen, const struct record *);
/* The record as a JSON object text, into b. */
void		 record_to_json(const struct record *, struct buf *);
/*
 * A record from a JSON object text (top-level keys only; nested objects are
 * flattened as jstream would).  Returns NULL with err set on bad input.
 */
struct record	*record_from_json(const char *, size_t, char *, size_t);

#endif
