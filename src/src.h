/*
 * src.h -- search types ("source drivers") behind one interface.
 *
 * A driver turns a run (a search and a window) into requests, and what
 * comes back into records, which it hands to the run with run_record();
 * it reports the total count it learnt with run_total() and ends with
 * run_finish().  It never blocks: everything goes through httpc.
 */
#ifndef PROG_SRC_H
#define PROG_SRC_H

#include "config.h"
#include "search.h"

struct config;
struct json;
struct run;
struct search_err;

struct src_ops {
	enum search_type so_type;
	/*
	 * Check the type-specific keys of a definition (source exists and has
	 * the right type, query present, ...).  Returns 0, or -1 with err.
	 */
	int		(*so_validate)(const struct json *,
			    const struct config *, struct search_err *);
	/*
	 * Begin the run.  Everything after is reported through run_record,
	 * run_total and finally exactly one run_finish, all from later loop
	 * turns (never from inside so_start).  Returns 0, or -1 with a
	 * message in err (then nothing is called back).
	 */
	int		(*so_start)(struct run *, char *, size_t);
	/* Stop everything now (timeout, shutdown); no run_* call after. */
	void		(*so_cancel)(struct run *);
};

/*
 * Refuse the keys (NULL-terminated) that belong to other types: -1 with
 * err naming the first one present ("does not apply to type TYPE"), or 0.
 */
int		 src_refuse_keys(const struct json *, const char *const *,
		    const char *, struct search_err *);

/*
 * Check a definition's "source": present, in the config (when cfg is not
 * NULL) and of the type want; type names the search type in messages.
 * Returns 0, or -1 with err naming "source".
 */
int		 src_check_source(const struct json *, const struct config *,
		    enum source_type, const char *, struct search_err *);

/* The driver of a type, or NULL when the type has none yet. */
const struct src_ops *src_find(enum search_type);

extern const struct src_ops src_es_ops;
extern const struct src_ops src_push_ops;
extern const struct src_ops src_alert_ops;

/* What POST /api/v1/push/ID brings to a push search's run (src_push.c). */
struct push_input;
struct record;
struct push_input *push_input_new(void);
void		 push_input_add(struct push_input *, struct record *);
void		 push_input_free(struct push_input *);
extern const struct src_ops src_http_ops;
extern const struct src_ops src_tcp_ops;
extern const struct src_ops src_prom_ops;
extern const struct src_ops src_graphite_ops;

#endif
