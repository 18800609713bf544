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

/* Who makes a change, for the history (D4); both borrowed. */
struct searches_who {
	const char	*sw_actor;	/* the key's name or the user */
	const char	*sw_note;	/* "change_note", or NULL */
};

/* What an import did, or why it refused (searches_import_clear frees). */
struct searches_import {
	struct search_err *si_errs;	/* one per refused item */
	size_t		*si_index;	/* the item of each error */
	size_t		 si_nerrs;
	uint64_t	*si_ids;	/* the id of each item, on 200 */
	int		*si_created;	/* 1 when new, 0 when replaced */
	size_t		 si_n;
};

#define SEARCHES_IMPORT_MAX	1000	/* definitions per import */

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
 * Every change through these functions writes a history snapshot (D4)
 * naming who (which may be NULL: no history).
 */
int		 searches_create(struct searches *, const struct json *,
		    struct search **, struct search_err *,
		    const struct searches_who *);
/*
 * Replace (patch == 0) or merge-patch (patch == 1) search id.  A "version"
 * in def that is not the current version gives 409.  On 200 *out is a new
 * reference.
 */
int		 searches_update(struct searches *, uint64_t, const struct json *,
		    int, struct search **, struct search_err *,
		    const struct searches_who *);
/* Delete search id: 200, 404, or 409 for a file search. */
int		 searches_delete(struct searches *, uint64_t, struct search_err *,
		    const struct searches_who *);
/*
 * Import the definitions of the array list (F5), all or nothing: each is
 * validated (and, by name, must be new unless upsert; a search from
 * searches_dir is never replaced) before anything is written; then all
 * are written in one transaction.  Returns 200 with ids in res, 422 with
 * every refused item in res, or 500.
 */
int		 searches_import(struct searches *, const struct json *, int,
		    const struct searches_who *, struct searches_import *);
void		 searches_import_clear(struct searches_import *);
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
