/*
 * lists.h -- named lists of values ("list" directives) for es queries.
 *
 * A list is read from a file or fetched from a URL (through httpc, never
 * blocking) at start and every refresh; one value per line, blank lines
 * and '#' comments ignored.  A list that cannot be read keeps its last
 * good copy and records the error.  In an es "query", @NAME is replaced
 * by ("v1" OR "v2" ...).
 */
#ifndef PROG_LISTS_H
#define PROG_LISTS_H

#include <stddef.h>

#include <yajl/yajl_gen.h>

struct buf;
struct config;
struct event_base;
struct httpc;
struct lists;

#define LISTS_MAX_VALUES	100000
#define LISTS_MAX_VALUE		1024		/* bytes */
#define LISTS_MAX_BYTES		((int64_t)256 << 20)
#define LISTS_EMPTY_TERM	"(__411_empty_list__)"

/*
 * The lists of cfg: files are read now, URLs fetched on the loop.  The new
 * set is also the process's current one (lists_current).
 */
struct lists	*lists_new(struct event_base *, struct httpc *,
		    const struct config *);
/*
 * A new config: lists whose kind and place are unchanged keep their
 * values (and are refreshed now); others are loaded; gone ones freed.
 */
void		 lists_reload(struct lists *, const struct config *);
/* Stop the timers and transfers and free; accepts NULL. */
void		 lists_free(struct lists *);
/* The current set, or NULL before lists_new. */
struct lists	*lists_current(void);

/*
 * Check that every @NAME of a query string names a list of cfg.  Returns
 * 0, or -1 with the message ("no list \"x\"") in err.
 */
int		 lists_check(const struct config *, const char *, char *,
		    size_t);
/*
 * Append query to out with every @NAME replaced by its values.  Returns
 * 0, or -1 with a message in err (unknown list).  l may be NULL.
 */
int		 lists_expand(const struct lists *, const char *, struct buf *,
		    char *, size_t);
/* Write {NAME: {"values": N, "updated": TIME|null, "error": S|null}}. */
void		 lists_gen(yajl_gen, const struct lists *);

#endif
