/*
 * searches.h -- the set of searches: stored in STORE_SEARCHES, loaded at
 * start, read from searches_dir, created, changed and deleted through the
 * API, and handed to the scheduler.
 *
 * Every change is validated first (a 422 with the field), then written in
 * one transaction, and only then made live, so a bad request changes
 * nothing.  Searches from files are read-only through the API.
 */
#ifndef PROG_SEARCHES_H
#define PROG_SEARCHES_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>

struct config;
struct json;
struct run_env;
struct sched;
struct search;
struct search_err;
struct searches;

/* Outcome of a change, as an HTTP status (201, 200, 404, 409, 422, 500). */
struct searches_result {
	int		 sr_status;
	struct search_err *sr_err;	/* filled for 409/422/500 */
};

struct searches	*searches_new(struct run_env *, struct sched *);
void		 searches_free(struct searches *);
/* Load every stored search and schedule it.  Returns 0 or -1 (logged). */
int		 searches_load(struct searches *);
/*
 * Load searches_dir (if configured): new and changed files are stored and
 * scheduled, searches of files that are gone are deleted.  A bad file is
 * logged as "FILE: field: message" and skipped (its old version stays).
 * Returns the number of bad files.
 */
int		 searches_load_dir(struct searches *, const struct config *);
/* Rebind to a new config (SIGHUP) before searches_load_dir. */
void		 searches_reload(struct searches *, const struct config *);

/*
 * Create from def.  On 201 *out is a new reference to the stored search.
 */
int		 searches_create(struct searches *, const struct json *,
		    struct search **, struct search_err *);
/*
 * Replace (patch == 0) or merge-patch (patch == 1) search id.  A "version"
 * in def that is not the current version gives 409.  On 200 *out is a new
 * reference.
 */
int		 searches_update(struct searches *, uint64_t, const struct json *,
		    int, struct search **, struct search_err *);
/* Delete search id: 200, 404, or 409 for a file search. */
int		 searches_delete(struct searches *, uint64_t, struct search_err *);
/* A live search by id (borrowed), or NULL. */
struct search	*searches_get(struct searches *, uint64_t);
/*
 * Call cb for every search with an id above after, in id order (borrowed
 * searches; cb must not change searches).  cb returns 0 to go on, 1 to
 * stop.
 */
void		 searches_each(struct searches *, uint64_t,
		    int (*)(void *, struct search *), void *);
size_t		 searches_count(const struct searches *);
/* Write the API form of a search, status included. */
void		 searches_gen(struct searches *, yajl_gen, const struct search *);

#endif
