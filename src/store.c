/*
 * store.c -- the LMDB environment: named databases, short transactions,
 * batched (group) commits, map growth.
 *
 * One MDB_env per process, opened with MDB_NOTLS (a reader slot belongs to
 * the transaction, not the thread) and without MDB_NOSUBDIR: the datadir
 * holds data.mdb and lock.mdb.  Stale reader slots left by a crash are
 * cleared with mdb_reader_check() at open.
 *
 * Keep transactions short.  A read transaction pins the pages it sees (the
 * file grows while it lives) and holds a reader slot; no transaction may
 * outlive the event-loop turn that began it.  Read what you need, copy it
 * out, store_done().  The map can only grow when no transaction at all is
 * open in the process, so a write that hits MDB_MAP_FULL while a read
 * transaction is open fails instead of growing.
 *
 * Key encodings (memcmp order, so integers are big-endian):
 *   meta            "schema" -> be32 schema version (STORE_SCHEMA_VERSION)
 *                   "instance" -> 16 lowercase hex chars, random at creation
 *                   "id:" NAME -> be64 last value given by store_next_id
 *   searches        be64 search id -> search JSON
 *   search_state    be64 search id -> state JSON
 *   alerts          be64 alert id -> alert JSON
 *   alerts_by_search be64 search id | be64 alert id -> ""
 *   alerts_by_state u8 state | be64 alert id -> ""
 *   filter_state    be64 search id | be16 filter index | key -> value
 *   jobs            be64 search id | be64 job id -> job JSON
 *   outbox          be64 seq -> outbox entry
 *   files           searches_dir file name -> be64 search id
 *   digest_pending  be64 search id | target name | NUL | be64 alert id
 *                   -> be64 ms when recorded (alerts waiting for a
 *                   digest, digest.c)
 * The other modules build these keys; this file only knows "meta".
 *
 * Writes.  store_update() writes now in its own transaction.  store_write()
 * queues a job; an event made active on the base commits every queued job
 * at the end of the loop turn in one write transaction (one fsync), each
 * job inside a nested transaction so that a job whose apply fails is rolled
 * back alone.  On MDB_MAP_FULL the whole transaction is aborted, the map is
 * doubled and every apply is run again, which is why apply callbacks must
 * not have side effects outside the transaction.
 *
 * Cursors belong to their transaction.  store_cursor_free() closes the LMDB
 * cursor at once but the small struct stays on the transaction's list until
 * the transaction ends, so freeing a cursor twice within its transaction is
 * harmless; every cursor still open is closed when the transaction ends, and
 * after that the pointer must not be used at all.
 *
 * Test hook: the environment variable STORE_TEST_MAPSIZE (bytes) replaces
 * STORE_MAPSIZE_MIN as the smallest initial map, so tests can hit
 * MDB_MAP_FULL with small writes.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <lmdb.h>

#include "log.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define STORE_ERRLEN	256
#define STORE_MAXGROW	40			/* map doublings per write */
#define STORE_MAPALIGN	((size_t)1 << 16)	/* map size granularity */
#define STORE_FLUSHMAX	64			/* rounds in store_flush */
#define STORE_INSTLEN	16			/* hex chars of the instance */

struct store_cursor {
	struct store_txn	*c_txn;
	MDB_cursor		*c_cur;		/* NULL once freed */
	struct store_cursor	*c_next;
};

struct store_txn {
	struct store		*t_store;
	MDB_txn			*t_txn;
	int			 t_write;
	int			 t_failed;	/* t_err holds why */
	int			 t_mapfull;	/* an LMDB call said MAP_FULL */
	struct store_cursor	*t_cursors;
	char			 t_err[STORE_ERRLEN];
};

struct store_job {
	store_apply_cb		 j_apply;
	store_done_cb		 j_done;
	void			*j_arg;
	int			 j_ok;
	char			*j_err;
	struct store_job	*j_next;
};

struct store {
	struct event_base	*s_base;
	struct event		*s_ev;
	int			 s_scheduled;	/* s_ev is active */
	MDB_env			*s_env;
	MDB_dbi			 s_dbi[STORE_NDB];
	size_t			 s_mapsize;
	int			 s_inapply;	/* inside an apply callback */
	int			 s_writing;	/* a write txn is open */
	int			 s_closing;
	unsigned int		 s_readers;	/* open read txns */
	uint64_t		 s_batches;
	struct store_job	*s_head;
	struct store_job	**s_tail;
	char			 s_instance[STORE_INSTLEN + 1];
	char			 s_lasterr[STORE_ERRLEN];
};

static const char *store_dbnames[STORE_NDB] = {
	"meta", "searches", "search_state", "alerts", "alerts_by_search",
	"alerts_by_state", "filter_state", "jobs", "outbox", "files",
	"alert_log", "alert_index", "silences", "users", "audit",
	"search_history", "digest_pending"
};

static int	store_mkdirs(const char *);
static size_t	store_initial_mapsize(const char *);
static void	store_set_error(struct store *, const char *);
static int	store_counter(struct store_txn *, const char *, char **,
		    uint64_t *);
static int	store_begin(struct store *, unsigned int, MDB_txn **);
static int	store_grow(struct store *, int, char *, size_t);
static void	store_txn_init(struct store_txn *, struct store *, MDB_txn *,
		    int);
static void	store_txn_release(struct store_txn *);
static void	store_txn_lmdb(struct store_txn *, const char *, enum store_db,
		    int);
static int	store_apply_job(struct store *, MDB_txn *, int,
		    struct store_job *);
static int	store_run(struct store *, struct store_job *, int, char *,
		    size_t);
static void	store_commit(struct store *);
static void	store_commit_cb(evutil_socket_t, short, void *);
static int	store_open_dbs(struct store *, char *, size_t);
static int	store_init_apply(struct store_txn *, void *);
static int	store_cursor_op(struct store_cursor *, MDB_val *, MDB_val *,
		    MDB_cursor_op, const void **, size_t *, const void **,
		    size_t *);

/* Create dir and its missing parents (mode 0700). */
static int
store_mkdirs(const char *dir)
{
	char	*p, *s, c;
	int	 rc = 0;

	if (*dir == '\0') {
		errno = ENOENT;
		return (-1);
	}
	s = xstrdup(dir);
	for (p = s + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(s, 0700) == -1 && errno != EEXIST) {
			rc = -1;
			break;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(s);
	return (rc);
}

/* The map to start with: the minimum, or the data file rounded up. */
static size_t
store_initial_mapsize(const char *dir)
{
	struct stat	 st;
	const char	*e;
	char		*path;
	size_t		 min = STORE_MAPSIZE_MIN, sz;
	uint64_t	 v;

	if ((e = getenv("STORE_TEST_MAPSIZE")) != NULL && *e != '\0' &&
	    util_parse_uint(e, SIZE_MAX / 4, &v) == 0 && v > 0)
		min = (size_t)v;
	sz = min;
	path = xprintf("%s/data.mdb", dir);
	if (stat(path, &st) == 0 && (uint64_t)st.st_size > sz &&
	    (uint64_t)st.st_size < SIZE_MAX / 4)
		sz = (size_t)st.st_size;
	free(path);
	return ((sz + STORE_MAPALIGN - 1) / STORE_MAPALIGN * STORE_MAPALIGN);
}

/* Remember a store-level failure (map full, disk) for store_last_error. */
static void
store_set_error(struct store *s, const char *msg)
{
	snprintf(s->s_lasterr, sizeof s->s_lasterr, "%s", msg);
}

/* Begin a top-level transaction, following another process's map growth. */
static int
store_begin(struct store *s, unsigned int flags, MDB_txn **txn)
{
	MDB_envinfo	 info;
	int		 rc;

	rc = mdb_txn_begin(s->s_env, NULL, flags, txn);
	if (rc == MDB_MAP_RESIZED && s->s_readers == 0 && !s->s_writing &&
	    mdb_env_set_mapsize(s->s_env, 0) == 0) {
		if (mdb_env_info(s->s_env, &info) == 0)
			s->s_mapsize = info.me_mapsize;
		rc = mdb_txn_begin(s->s_env, NULL, flags, txn);
	}
	return (rc);
}

/*
 * Double the map after MDB_MAP_FULL (tries is how often already).  No
 * transaction may be open.  Returns 0, or -1 with a message in err.
 */
static int
store_grow(struct store *s, int tries, char *err, size_t len)
{
	MDB_envinfo	 info;
	size_t		 want;
	int		 rc;

	if (s->s_readers > 0) {
		snprintf(err, len, "the map is full (%zu bytes) and cannot "
		    "grow while %u read transactions are open", s->s_mapsize,
		    s->s_readers);
		goto fail;
	}
	if (tries >= STORE_MAXGROW || s->s_mapsize > SIZE_MAX / 2) {
		snprintf(err, len, "the map is full (%zu bytes) and may not "
		    "grow further", s->s_mapsize);
		goto fail;
	}
	want = s->s_mapsize * 2;
	if ((rc = mdb_env_set_mapsize(s->s_env, want)) != 0) {
		snprintf(err, len, "the map is full and growing it to %zu "
		    "bytes failed: %s", want, mdb_strerror(rc));
		goto fail;
	}
	if (mdb_env_info(s->s_env, &info) == 0)
		s->s_mapsize = info.me_mapsize;
	else
		s->s_mapsize = want;
	log_info("store: map grown to %zu bytes", s->s_mapsize);
	return (0);
fail:
	store_set_error(s, err);
	return (-1);
}

/* Set up a transaction wrapper around txn. */
static void
store_txn_init(struct store_txn *t, struct store *s, MDB_txn *txn, int write)
{
	memset(t, 0, sizeof *t);
	t->t_store = s;
	t->t_txn = txn;
	t->t_write = write;
}

/* Close and free every cursor of t (before its LMDB txn ends). */
static void
store_txn_release(struct store_txn *t)
{
	struct store_cursor	*c, *next;

	for (c = t->t_cursors; c != NULL; c = next) {
		next = c->c_next;
		if (c->c_cur != NULL)
			mdb_cursor_close(c->c_cur);
		free(c);
	}
	t->t_cursors = NULL;
}

/* Record an LMDB failure of op on db in t. */
static void
store_txn_lmdb(struct store_txn *t, const char *op, enum store_db db, int rc)
{
	if (rc == MDB_MAP_FULL)
		t->t_mapfull = 1;
	store_fail(t, "%s %s: %s", op, store_dbnames[db], mdb_strerror(rc));
}

/*
 * Run one job's apply in parent (nested: in a child of it).  Returns 0,
 * -1 when the job failed (reason in j_err), or MDB_MAP_FULL.
 */
static int
store_apply_job(struct store *s, MDB_txn *parent, int nested,
    struct store_job *j)
{
	struct store_txn	 t;
	MDB_txn			*txn = parent;
	int			 rc;

	if (nested && (rc = mdb_txn_begin(s->s_env, parent, 0, &txn)) != 0) {
		if (rc == MDB_MAP_FULL)
			return (rc);
		j->j_err = xprintf("nested transaction: %s", mdb_strerror(rc));
		return (-1);
	}
	store_txn_init(&t, s, txn, 1);
	s->s_inapply = 1;
	rc = j->j_apply(&t, j->j_arg);
	s->s_inapply = 0;
	store_txn_release(&t);
	if (t.t_mapfull) {
		if (nested)
			mdb_txn_abort(txn);
		return (MDB_MAP_FULL);
	}
	if (rc != 0 || t.t_failed) {
		if (nested)
			mdb_txn_abort(txn);
		j->j_err = xstrdup(t.t_failed ? t.t_err : "the write failed");
		return (-1);
	}
	if (nested && (rc = mdb_txn_commit(txn)) != 0) {
		if (rc == MDB_MAP_FULL)
			return (rc);
		j->j_err = xprintf("nested commit: %s", mdb_strerror(rc));
		return (-1);
	}
	j->j_ok = 1;
	return (0);
}

/*
 * Apply the jobs in one write transaction and commit it, growing the map
 * and redoing everything on MDB_MAP_FULL.  Nested: each job in a child
 * transaction, a failing job does not fail the others.  Not nested: the
 * first failing job aborts everything.  Returns 0 when the transaction
 * committed (see each j_ok), or -1 with a message in err.
 */
static int
store_run(struct store *s, struct store_job *list, int nested, char *err,
    size_t len)
{
	struct store_job	*j;
	MDB_txn			*txn;
	int			 rc, tries;

	for (tries = 0;; tries++) {
		for (j = list; j != NULL; j = j->j_next) {
			j->j_ok = 0;
			free(j->j_err);
			j->j_err = NULL;
		}
		if ((rc = store_begin(s, 0, &txn)) != 0) {
			snprintf(err, len, "begin write: %s", mdb_strerror(rc));
			store_set_error(s, err);
			return (-1);
		}
		s->s_writing = 1;
		rc = 0;
		for (j = list; j != NULL; j = j->j_next) {
			rc = store_apply_job(s, txn, nested, j);
			if (rc == MDB_MAP_FULL || (rc == -1 && !nested))
				break;
			rc = 0;
		}
		if (rc == -1) {
			mdb_txn_abort(txn);
			s->s_writing = 0;
			snprintf(err, len, "%s", j->j_err);
			return (-1);
		}
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		s->s_writing = 0;
		if (rc == 0)
			return (0);
		if (rc != MDB_MAP_FULL) {
			snprintf(err, len, "commit: %s", mdb_strerror(rc));
			store_set_error(s, err);
			return (-1);
		}
		if (store_grow(s, tries, err, len) == -1)
			return (-1);
	}
}

/* Commit the queued jobs as one group, then report to each. */
static void
store_commit(struct store *s)
{
	struct store_job	*list, *j, *next;
	char			 err[STORE_ERRLEN];
	int			 rc;

	if (s->s_head == NULL || s->s_writing)
		return;
	list = s->s_head;
	s->s_head = NULL;
	s->s_tail = &s->s_head;
	/*
	 * First all jobs straight in one transaction: a nested transaction
	 * per job costs LMDB a dirty-page list (megabytes) each.  Only when
	 * a job fails is the batch done again with one nested transaction
	 * per job, so that the failing one does not fail the others.
	 */
	rc = store_run(s, list, 0, err, sizeof err);
	if (rc == -1 && list->j_next != NULL) {
		for (j = list; j != NULL && j->j_err == NULL; j = j->j_next)
			;
		if (j != NULL)		/* a job failed, not the store */
			rc = store_run(s, list, 1, err, sizeof err);
	}
	if (rc == 0)
		s->s_batches++;
	for (j = list; j != NULL; j = next) {
		next = j->j_next;
		if (j->j_done != NULL) {
			if (rc == 0 && j->j_ok)
				j->j_done(j->j_arg, 1, NULL);
			else
				j->j_done(j->j_arg, 0, j->j_err != NULL ?
				    j->j_err : err);
		}
		free(j->j_err);
		free(j);
	}
}

/* The end of a loop turn in which jobs were queued. */
static void
store_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store	*s = arg;

	s->s_scheduled = 0;
	store_commit(s);
}

/* Open (creating) every named database in one first transaction. */
static int
store_open_dbs(struct store *s, char *err, size_t len)
{
	MDB_txn	*txn;
	int	 i, rc, tries;

	for (tries = 0;; tries++) {
		if ((rc = store_begin(s, 0, &txn)) != 0) {
			snprintf(err, len, "begin: %s", mdb_strerror(rc));
			return (-1);
		}
		for (i = 0; i < STORE_NDB; i++) {
			rc = mdb_dbi_open(txn, store_dbnames[i], MDB_CREATE,
			    &s->s_dbi[i]);
			if (rc != 0)
				break;
		}
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		if (rc == 0)
			return (0);
		if (rc != MDB_MAP_FULL) {
			snprintf(err, len, "opening database %s: %s",
			    i < STORE_NDB ? store_dbnames[i] : "(commit)",
			    mdb_strerror(rc));
			return (-1);
		}
		if (store_grow(s, tries, err, len) == -1)
			return (-1);
	}
}

/* Check or write the schema version, and read or make the instance. */
static int
store_init_apply(struct store_txn *t, void *arg)
{
	struct store	*s = arg;
	const void	*v;
	size_t		 vlen;
	uint8_t		 be[4], rnd[STORE_INSTLEN / 2];
	uint32_t	 version;
	int		 rc;

	rc = store_get(t, STORE_META, "schema", 6, &v, &vlen);
	if (rc == -1)
		return (-1);
	if (rc == 0) {
		if (vlen != 4) {
			store_fail(t, "the schema version is damaged "
			    "(%zu bytes)", vlen);
			return (-1);
		}
		version = util_be32_get(v);
		if (version > STORE_SCHEMA_VERSION) {
			store_fail(t, "schema version %u is newer than this "
			    "program's %d: refusing to open it", version,
			    STORE_SCHEMA_VERSION);
			return (-1);
		}
		if (version < 1) {
			store_fail(t, "unknown schema version %u", version);
			return (-1);
		}
	} else {
		util_be32_put(be, STORE_SCHEMA_VERSION);
		if (store_put(t, STORE_META, "schema", 6, be, sizeof be) == -1)
			return (-1);
	}

	rc = store_get(t, STORE_META, "instance", 8, &v, &vlen);
	if (rc == -1)
		return (-1);
	if (rc == 0) {
		if (vlen != STORE_INSTLEN) {
			store_fail(t, "the instance name is damaged");
			return (-1);
		}
		memcpy(s->s_instance, v, STORE_INSTLEN);
		s->s_instance[STORE_INSTLEN] = '\0';
		return (0);
	}
	util_random_bytes(rnd, sizeof rnd);
	util_hex(rnd, sizeof rnd, s->s_instance);
	return (store_put(t, STORE_META, "instance", 8, s->s_instance,
	    STORE_INSTLEN));
}

/*
 * Open (creating if needed) the environment in dir.  base is used for the
 * batched commits.  Returns NULL with a message in err.
 */
struct store *
store_open(struct event_base *base, const char *dir, char *err, size_t len)
{
	struct store	*s;
	char		 msg[STORE_ERRLEN];
	int		 rc, stale = 0;

	if (store_mkdirs(dir) == -1) {
		snprintf(err, len, "datadir %s: %s", dir, strerror(errno));
		return (NULL);
	}
	s = xcalloc(1, sizeof *s);
	s->s_base = base;
	s->s_tail = &s->s_head;
	s->s_mapsize = store_initial_mapsize(dir);
	if ((rc = mdb_env_create(&s->s_env)) != 0) {
		s->s_env = NULL;
		snprintf(msg, sizeof msg, "mdb_env_create: %s",
		    mdb_strerror(rc));
		goto fail;
	}
	if ((rc = mdb_env_set_maxdbs(s->s_env, STORE_NDB)) != 0 ||
	    (rc = mdb_env_set_mapsize(s->s_env, s->s_mapsize)) != 0 ||
	    (rc = mdb_env_open(s->s_env, dir, MDB_NOTLS, 0600)) != 0) {
		snprintf(msg, sizeof msg, "%s", mdb_strerror(rc));
		goto fail;
	}
	if ((rc = mdb_reader_check(s->s_env, &stale)) != 0) {
		snprintf(msg, sizeof msg, "mdb_reader_check: %s",
		    mdb_strerror(rc));
		goto fail;
	}
	if (stale > 0)
		log_info("store: cleared %d stale reader slots", stale);
	{
		MDB_envinfo	 info;

		if (mdb_env_info(s->s_env, &info) == 0)
			s->s_mapsize = info.me_mapsize;
	}
	if (store_open_dbs(s, msg, sizeof msg) == -1)
		goto fail;
	if (store_update(s, store_init_apply, s, msg, sizeof msg) == -1)
		goto fail;
	if (base != NULL &&
	    (s->s_ev = event_new(base, -1, 0, store_commit_cb, s)) == NULL) {
		snprintf(msg, sizeof msg, "event_new failed");
		goto fail;
	}
	s->s_lasterr[0] = '\0';
	return (s);
fail:
	snprintf(err, len, "datadir %s: %s", dir, msg);
	if (s->s_env != NULL)
		mdb_env_close(s->s_env);
	free(s);
	return (NULL);
}

/* Commit what is queued, then close; accepts NULL. */
void
store_close(struct store *s)
{
	struct store_job	*j, *next;

	if (s == NULL)
		return;
	store_flush(s);
	s->s_closing = 1;
	/* Whatever done callbacks queued during the last flush rounds. */
	j = s->s_head;
	s->s_head = NULL;
	s->s_tail = &s->s_head;
	for (; j != NULL; j = next) {
		next = j->j_next;
		if (j->j_done != NULL)
			j->j_done(j->j_arg, 0, "the store is closing");
		free(j->j_err);
		free(j);
	}
	if (s->s_ev != NULL)
		event_free(s->s_ev);
	if (s->s_readers > 0)
		log_warnx("store: closing with %u read transactions open",
		    s->s_readers);
	mdb_env_close(s->s_env);
	free(s);
}

/* The map size now, in bytes. */
size_t
store_mapsize(const struct store *s)
{
	return (s->s_mapsize);
}

/* The last error of the store itself (map full, disk), or NULL. */
const char *
store_last_error(const struct store *s)
{
	return (s->s_lasterr[0] != '\0' ? s->s_lasterr : NULL);
}

/* This datadir's identity (16 lowercase hex chars). */
const char *
store_instance(const struct store *s)
{
	return (s->s_instance);
}

/* Number of group commits done by store_write so far. */
uint64_t
store_batches(const struct store *s)
{
	return (s->s_batches);
}

/* Begin a read-only transaction; NULL on error (logged). */
struct store_txn *
store_read(struct store *s)
{
	struct store_txn	*t;
	MDB_txn			*txn;
	int			 rc;

	if ((rc = store_begin(s, MDB_RDONLY, &txn)) != 0) {
		log_warnx("store: begin read: %s", mdb_strerror(rc));
		return (NULL);
	}
	t = xmalloc(sizeof *t);
	store_txn_init(t, s, txn, 0);
	s->s_readers++;
	return (t);
}

/* End a read-only transaction; accepts NULL. */
void
store_done(struct store_txn *t)
{
	if (t == NULL)
		return;
	if (t->t_write) {
		log_warnx("store: store_done on a write transaction ignored");
		return;
	}
	store_txn_release(t);
	mdb_txn_abort(t->t_txn);
	t->t_store->s_readers--;
	free(t);
}

/*
 * Write now: begin, apply, commit, growing the map and redoing on
 * MDB_MAP_FULL.  Returns 0, or -1 with a message in err (nothing written).
 */
int
store_update(struct store *s, store_apply_cb apply, void *arg, char *err,
    size_t len)
{
	struct store_job	 j;
	char			 msg[STORE_ERRLEN];
	int			 rc;

	if (s->s_inapply || s->s_writing) {
		snprintf(err, len, "store_update inside an apply callback "
		    "(a write transaction is already open)");
		return (-1);
	}
	memset(&j, 0, sizeof j);
	j.j_apply = apply;
	j.j_arg = arg;
	rc = store_run(s, &j, 0, msg, sizeof msg);
	free(j.j_err);
	if (rc == -1)
		snprintf(err, len, "%s", msg);
	return (rc);
}

/*
 * Write later, batched, at the end of this loop turn (see the top of this
 * file).  Without an event base the queue is committed at once.
 */
void
store_write(struct store *s, store_apply_cb apply, store_done_cb done,
    void *arg)
{
	struct store_job	*j;

	if (s->s_closing) {
		if (done != NULL)
			done(arg, 0, "the store is closing");
		return;
	}
	j = xcalloc(1, sizeof *j);
	j->j_apply = apply;
	j->j_done = done;
	j->j_arg = arg;
	*s->s_tail = j;
	s->s_tail = &j->j_next;
	if (s->s_ev == NULL) {
		store_commit(s);	/* waits for flush if in a write */
		return;
	}
	if (!s->s_scheduled) {
		s->s_scheduled = 1;
		event_active(s->s_ev, EV_TIMEOUT, 1);
	}
}

/* Commit every queued job now (shutdown). */
void
store_flush(struct store *s)
{
	int	 i;

	if (s->s_writing)
		return;
	if (s->s_scheduled) {
		event_del(s->s_ev);
		s->s_scheduled = 0;
	}
	/* Done callbacks may queue more; bounded. */
	for (i = 0; i < STORE_FLUSHMAX && s->s_head != NULL; i++)
		store_commit(s);
	if (s->s_head != NULL && s->s_ev != NULL && !s->s_scheduled) {
		s->s_scheduled = 1;
		event_active(s->s_ev, EV_TIMEOUT, 1);
	}
}

/*
 * Record why an apply callback is failing (copied).  A reason already
 * recorded (say an LMDB error from store_put) is kept after the new one:
 * "new: old".
 */
void
store_fail(struct store_txn *t, const char *fmt, ...)
{
	char	 msg[STORE_ERRLEN], *both;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (t->t_failed) {
		both = xprintf("%s: %s", msg, t->t_err);
		snprintf(t->t_err, sizeof t->t_err, "%s", both);
		free(both);
	} else
		snprintf(t->t_err, sizeof t->t_err, "%s", msg);
	t->t_failed = 1;
}

/* Read key.  Returns 0 and a borrowed value, 1 if absent, -1 on error. */
int
store_get(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const void **val, size_t *vlen)
{
	MDB_val	 k, v;
	int	 rc;

	k.mv_data = (void *)key;
	k.mv_size = klen;
	rc = mdb_get(t->t_txn, t->t_store->s_dbi[db], &k, &v);
	if (rc == MDB_NOTFOUND)
		return (1);
	if (rc != 0) {
		store_txn_lmdb(t, "get from", db, rc);
		return (-1);
	}
	*val = v.mv_data;
	*vlen = v.mv_size;
	return (0);
}

/* Write key -> value.  Returns 0 or -1 (reason recorded in the txn). */
int
store_put(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const void *val, size_t vlen)
{
	MDB_val	 k, v;
	int	 rc;

	k.mv_data = (void *)key;
	k.mv_size = klen;
	v.mv_data = (void *)val;
	v.mv_size = vlen;
	if ((rc = mdb_put(t->t_txn, t->t_store->s_dbi[db], &k, &v, 0)) != 0) {
		store_txn_lmdb(t, "put into", db, rc);
		return (-1);
	}
	return (0);
}

/* Delete key.  Returns 0 (also when absent) or -1. */
int
store_del(struct store_txn *t, enum store_db db, const void *key,
    size_t klen)
{
	MDB_val	 k;
	int	 rc;

	k.mv_data = (void *)key;
	k.mv_size = klen;
	rc = mdb_del(t->t_txn, t->t_store->s_dbi[db], &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		store_txn_lmdb(t, "delete from", db, rc);
		return (-1);
	}
	return (0);
}

/*
 * Read counter name (key "id:" name in meta, be64).  Returns 0 and the
 * value (0 if never used), or -1.
 */
static int
store_counter(struct store_txn *t, const char *name, char **key,
    uint64_t *val)
{
	const void	*v;
	size_t		 vlen;
	int		 rc;

	*key = xprintf("id:%s", name);
	*val = 0;
	rc = store_get(t, STORE_META, *key, strlen(*key), &v, &vlen);
	if (rc == -1)
		return (-1);
	if (rc == 1)
		return (0);
	if (vlen != 8) {
		store_fail(t, "counter %s is damaged (%zu bytes)", name, vlen);
		return (-1);
	}
	*val = util_be64_get(v);
	return (0);
}

/* Increment counter name and return the new value (first 1); 0 on error. */
uint64_t
store_next_id(struct store_txn *t, const char *name)
{
	char		*key;
	uint8_t		 be[8];
	uint64_t	 v;

	if (store_counter(t, name, &key, &v) == -1 || v == UINT64_MAX) {
		free(key);
		return (0);
	}
	v++;
	util_be64_put(be, v);
	if (store_put(t, STORE_META, key, strlen(key), be, sizeof be) == -1)
		v = 0;
	free(key);
	return (v);
}

/* Read counter name without changing it (0 if never used). */
uint64_t
store_peek_id(struct store_txn *t, const char *name)
{
	char		*key;
	uint64_t	 v;

	if (store_counter(t, name, &key, &v) == -1)
		v = 0;
	free(key);
	return (v);
}

/* Number of entries in a database (from LMDB's stats); 0 on error. */
uint64_t
store_count(struct store_txn *t, enum store_db db)
{
	MDB_stat	 st;
	int		 rc;

	if ((rc = mdb_stat(t->t_txn, t->t_store->s_dbi[db], &st)) != 0) {
		store_txn_lmdb(t, "stat of", db, rc);
		return (0);
	}
	return (st.ms_entries);
}

/* A cursor over one database, owned by t (see the top of this file). */
struct store_cursor *
store_cursor(struct store_txn *t, enum store_db db)
{
	struct store_cursor	*c;
	MDB_cursor		*cur;
	int			 rc;

	if ((rc = mdb_cursor_open(t->t_txn, t->t_store->s_dbi[db],
	    &cur)) != 0) {
		store_txn_lmdb(t, "cursor on", db, rc);
		if (!t->t_write)
			log_warnx("store: %s", t->t_err);
		return (NULL);
	}
	c = xmalloc(sizeof *c);
	c->c_txn = t;
	c->c_cur = cur;
	c->c_next = t->t_cursors;
	t->t_cursors = c;
	return (c);
}

/*
 * Close the cursor; its memory goes with the transaction, so a second
 * call in the same transaction does nothing.  Accepts NULL.
 */
void
store_cursor_free(struct store_cursor *c)
{
	if (c == NULL || c->c_cur == NULL)
		return;
	mdb_cursor_close(c->c_cur);
	c->c_cur = NULL;
}

/* One cursor move: 0 with borrowed key/value, 1 at the end, -1 on error. */
static int
store_cursor_op(struct store_cursor *c, MDB_val *k, MDB_val *v,
    MDB_cursor_op op, const void **key, size_t *klen, const void **val,
    size_t *vlen)
{
	int	 rc;

	if (c->c_cur == NULL) {
		store_fail(c->c_txn, "cursor used after store_cursor_free");
		return (-1);
	}
	rc = mdb_cursor_get(c->c_cur, k, v, op);
	if (rc == MDB_NOTFOUND)
		return (1);
	if (rc != 0) {
		store_fail(c->c_txn, "cursor: %s", mdb_strerror(rc));
		return (-1);
	}
	if (key != NULL) {
		*key = k->mv_data;
		*klen = k->mv_size;
	}
	if (val != NULL) {
		*val = v->mv_data;
		*vlen = v->mv_size;
	}
	return (0);
}

/* Position at the first key >= key (key NULL or empty: the first key). */
int
store_cursor_seek(struct store_cursor *c, const void *key, size_t klen,
    const void **k, size_t *kl, const void **v, size_t *vl)
{
	MDB_val	 mk, mv;

	if (key == NULL || klen == 0)
		return (store_cursor_op(c, &mk, &mv, MDB_FIRST, k, kl, v, vl));
	mk.mv_data = (void *)key;
	mk.mv_size = klen;
	return (store_cursor_op(c, &mk, &mv, MDB_SET_RANGE, k, kl, v, vl));
}

/* Position at the last key <= key (key NULL: the last key). */
int
store_cursor_seek_le(struct store_cursor *c, const void *key, size_t klen,
    const void **k, size_t *kl, const void **v, size_t *vl)
{
	MDB_val	 mk, mv;
	int	 rc;

	if (key == NULL)
		return (store_cursor_op(c, &mk, &mv, MDB_LAST, k, kl, v, vl));
	if (klen == 0)
		return (1);	/* no key sorts before the empty one */
	mk.mv_data = (void *)key;
	mk.mv_size = klen;
	rc = store_cursor_op(c, &mk, &mv, MDB_SET_RANGE, k, kl, v, vl);
	if (rc == 1)
		return (store_cursor_op(c, &mk, &mv, MDB_LAST, k, kl, v, vl));
	if (rc == -1)
		return (-1);
	if (mk.mv_size == klen && memcmp(mk.mv_data, key, klen) == 0)
		return (0);
	return (store_cursor_op(c, &mk, &mv, MDB_PREV, k, kl, v, vl));
}

/* Step forward.  0, 1 at the end, -1 on error. */
int
store_cursor_next(struct store_cursor *c, const void **k, size_t *kl,
    const void **v, size_t *vl)
{
	MDB_val	 mk, mv;

	return (store_cursor_op(c, &mk, &mv, MDB_NEXT, k, kl, v, vl));
}

/* Step backward.  0, 1 at the end, -1 on error. */
int
store_cursor_prev(struct store_cursor *c, const void **k, size_t *kl,
    const void **v, size_t *vl)
{
	MDB_val	 mk, mv;

	return (store_cursor_op(c, &mk, &mv, MDB_PREV, k, kl, v, vl));
}

/* Delete the entry under the cursor (write transactions only). */
int
store_cursor_del(struct store_cursor *c)
{
	int	 rc;

	if (c->c_cur == NULL) {
		store_fail(c->c_txn, "cursor used after store_cursor_free");
		return (-1);
	}
	if ((rc = mdb_cursor_del(c->c_cur, 0)) != 0) {
		if (rc == MDB_MAP_FULL)
			c->c_txn->t_mapfull = 1;
		store_fail(c->c_txn, "cursor delete: %s", mdb_strerror(rc));
		return (-1);
	}
	return (0);
}
