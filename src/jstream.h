/*
 * jstream.h -- a streaming JSON reader that emits records.
 *
 * One jstream per response.  Bytes are fed as they arrive (any chunking);
 * nothing but the record being built is held.  The caller names the paths
 * it wants:
 *
 *   capture patterns, e.g. "hits.hits[]" or "aggregations.*.buckets[]":
 *	every object found at such a path becomes one record, handed to the
 *	record callback as soon as its closing brace is read.  Inside it,
 *	nested objects are flattened into dotted keys relative to the captured
 *	object ("_source.host", "_source.source.ip"); arrays are kept whole as
 *	JSON text with numbers verbatim ("sort" -> "[1704067200000,17]").
 *	A "*" segment matches any one key; "[]" is any element of an array.
 *
 *   every scalar outside a capture goes to the scalar callback with its
 *	path in the same notation ("hits.total.value", "timed_out",
 *	"error.root_cause[].reason", "_shards.failures[].reason.reason", or
 *	"" for a top-level scalar); the callback picks what it wants.
 *
 * Numbers are passed as their text (so 64-bit sort values and 1e9999 survive).
 * Strings are repaired to valid UTF-8.  Depth is capped at JSTREAM_MAX_DEPTH
 * and one record at JSTREAM_MAX_RECORD bytes; past either the parse fails
 * with a message saying so.
 */
#ifndef PROG_JSTREAM_H
#define PROG_JSTREAM_H

#include <stddef.h>

#include "json.h"

struct jstream;
struct record;

#define JSTREAM_MAX_DEPTH	64
#define JSTREAM_MAX_RECORD	(8 * 1024 * 1024)

/*
 * A captured record: takes ownership of rec.  pattern is the index of the
 * capture pattern that matched.  Return 0 to go on, -1 to stop the parse
 * (jstream_feed then returns -1 and jstream_error says "cancelled").
 */
typedef int (*jstream_record_cb)(void *, int, struct record *);
/*
 * A scalar outside captures: path (NUL-terminated), its type, and its text:
 * the decoded string for JSON_STRING, the number as written for
 * JSON_NUMBER, "true"/"false"/"null" otherwise.  Return 0 or -1 as above.
 */
typedef int (*jstream_scalar_cb)(void *, const char *, enum json_type,
    const char *, size_t);

/*
 * A new reader.  patterns is a NULL-terminated array of capture patterns
 * (borrowed: it must outlive the reader).  Either callback may be NULL.
 */
struct jstream	*jstream_new(const char *const *, jstream_record_cb,
		    jstream_scalar_cb, void *);
/* Free a reader; accepts NULL. */
void		 jstream_free(struct jstream *);
/* Feed n bytes.  Returns 0, or -1 on a parse error or a cancel. */
int		 jstream_feed(struct jstream *, const char *, size_t);
/* Declare the end of input.  Returns 0, or -1 (e.g. premature EOF). */
int		 jstream_finish(struct jstream *);
/* One-line description of the error after a -1, e.g.
 * "parse error: premature EOF at byte 1234" or "nesting deeper than 64". */
const char	*jstream_error(const struct jstream *);
/* Total bytes fed so far. */
size_t		 jstream_bytes(const struct jstream *);
/* Number of records emitted so far. */
size_t		 jstream_records(const struct jstream *);

#endif
