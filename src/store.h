/*
 * store.h -- the LMDB environment: named databases, short transactions,
 * batched commits for finished runs, map growth.
 *
 * One environment per process (LMDB forbids opening one twice), opened
 * once in store_open().  Transactions never outlive the event-loop turn
 * that began them.  Values read are borrowed until the transaction ends:
 * copy what you keep.
 *
 * Every write goes through an apply callback, so that a transaction that
 * fails with MDB_MAP_FULL can be redone whole after the map has grown.
 * An apply callback therefore writes only into the transaction and keeps
 * no other side effect until its done callback (or the return of
 * store_update) reports the commit.
 */
#ifndef PROG_STORE_H
#define PROG_STORE_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct store;
struct store_txn;
struct store_cursor;

/* The named databases; key encodings are documented in store.c. */
enum store_db {
	STORE_META,		/* name -> value: schema, counters, instance */
	STORE_SEARCHES,		/* be64 id -> search JSON */
	STORE_SEARCH_STATE,	/* be64 id -> state JSON (checkpoint, status) */
	STORE_ALERTS,		/* be64 id -> alert JSON */
	STORE_ALERTS_BY_SEARCH,	/* be64 search | be64 id -> "" */
	STORE_ALERTS_BY_STATE,	/* u8 state | be64 id -> "" */
	STORE_FILTER_STATE,	/* be64 search | be16 filter | key -> value */
	STORE_JOBS,		/* be64 search | be64 job id -> job JSON */
	STORE_OUTBOX,		/* be64 seq -> outbox entry */
	STORE_FILES,		/* searches_dir file name -> be64 search id */
	/* Issue 5 (alert lifecycle, users, audit); layouts in their modules. */
	STORE_ALERT_LOG,	/* be64 alert | be64 seq -> log entry (alert.c) */
	STORE_ALERT_INDEX,	/* secondary indexes of alerts (alert.c) */
	STORE_SILENCES,		/* be64 id -> silence JSON (silence.c) */
	STORE_USERS,		/* users, groups, API keys (users.c) */
	STORE_AUDIT,		/* be64 seq -> audit entry (audit.c) */
	STORE_SEARCH_HISTORY,	/* be64 search | be64 version -> snapshot */
	STORE_DIGEST_PENDING,	/* be64 search | target | NUL | be64 alert
				   -> be64 ms (digest.c) */
	STORE_NDB
};

#define STORE_SCHEMA_VERSION	1
#define STORE_MAPSIZE_MIN	((size_t)1 << 30)	/* 1 GiB */

/*
 * Open (creating if needed) the environment in dir.  base is used for the
 * batched commits.  Returns NULL with a message in err.
 */
struct store	*store_open(struct event_base *, const char *, char *, size_t);
/* Commit what is queued, then close; accepts NULL. */
void		 store_close(struct store *);
/* The map size now, in bytes. */
size_t		 store_mapsize(const struct store *);
/* The last error of the store itself (map full, disk), or NULL. */
const char	*store_last_error(const struct store *);
/* This datadir's identity: 16 lowercase hex chars, random at creation,
 * kept in STORE_META "instance". */
const char	*store_instance(const struct store *);
/* Number of group commits done by store_write so far (for tests and metrics). */
uint64_t	 store_batches(const struct store *);

/* Begin a read-only transaction; NULL on error (logged). */
struct store_txn *store_read(struct store *);
/* End a read-only transaction; accepts NULL. */
void		 store_done(struct store_txn *);

/* Write callback: write into txn.  Return 0, or -1 to abort (and say why
 * through store_fail). */
typedef int (*store_apply_cb)(struct store_txn *, void *);
/* Commit result: ok is 1, or 0 with a reason. */
typedef void (*store_done_cb)(void *, int, const char *);

/*
 * Write now: begin, apply, commit, growing the map and redoing on
 * MDB_MAP_FULL.  Returns 0, or -1 with a message in err (nothing written).
 */
int		 store_update(struct store *, store_apply_cb, void *, char *,
		    size_t);
/*
 * Write later, batched: jobs queued in one loop turn are committed together
 * in one transaction at the end of the turn (group commit), each job in
 * its own nested transaction, so one failing job does not fail the others.
 * done is called after the commit (ok=1) or the failure (ok=0).
 */
void		 store_write(struct store *, store_apply_cb, store_done_cb,
		    void *);
/* Commit every queued job now (shutdown). */
void		 store_flush(struct store *);

/* Record why an apply callback is failing (copied). */
void		 store_fail(struct store_txn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * Read key.  Returns 0 and a borrowed value, 1 if absent, -1 on error.
 */
int		 store_get(struct store_txn *, enum store_db, const void *,
		    size_t, const void **, size_t *);
/* Write key -> value.  Returns 0 or -1 (reason recorded in the txn). */
int		 store_put(struct store_txn *, enum store_db, const void *,
		    size_t, const void *, size_t);
/* Delete key.  Returns 0 (also when absent) or -1. */
int		 store_del(struct store_txn *, enum store_db, const void *,
		    size_t);
/*
 * Increment counter name in STORE_META and return the new value (the first
 * is 1).  Returns 0 on error.
 */
uint64_t	 store_next_id(struct store_txn *, const char *);
/* Read counter name without changing it (0 if never used). */
uint64_t	 store_peek_id(struct store_txn *, const char *);
/* Number of entries in a database (from LMDB's stats). */
uint64_t	 store_count(struct store_txn *, enum store_db);

/* A cursor over one database; freed by store_cursor_free or the txn end. */
struct store_cursor *store_cursor(struct store_txn *, enum store_db);
void		 store_cursor_free(struct store_cursor *);
/*
 * Position at the first key >= key (key NULL: the first key).  Returns 0
 * and borrowed key/value, 1 at the end, -1 on error.
 */
int		 store_cursor_seek(struct store_cursor *, const void *, size_t,
		    const void **, size_t *, const void **, size_t *);
/* Position at the last key <= key (key NULL: the last key). */
int		 store_cursor_seek_le(struct store_cursor *, const void *,
		    size_t, const void **, size_t *, const void **, size_t *);
/* Step forward / backward.  Same returns. */
int		 store_cursor_next(struct store_cursor *, const void **,
		    size_t *, const void **, size_t *);
int		 store_cursor_prev(struct store_cursor *, const void **,
		    size_t *, const void **, size_t *);
/* Delete the entry under the cursor (write transactions only). */
int		 store_cursor_del(struct store_cursor *);

#endif
