/*
 * test_store.c -- the LMDB store: persistence, counters, cursors, group
 * commit, nested failures, map growth, schema check.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "store.h"
#include "tap.h"
#include "util.h"
#include "xmalloc.h"

/* One write: put key -> val into db, or fail after putting when fail. */
struct put {
	enum store_db	 db;
	const char	*key;
	const void	*val;
	size_t		 vlen;
	int		 fail;
	/* done results */
	int		 called;
	int		 ok;
	char		 err[256];
};

/* A put and an optional failure. */
static int
put_apply(struct store_txn *txn, void *arg)
{
	struct put	*p = arg;

	if (store_put(txn, p->db, p->key, strlen(p->key), p->val,
	    p->vlen) == -1)
		return (-1);
	if (p->fail) {
		store_fail(txn, "job %s says nope", p->key);
		return (-1);
	}
	return (0);
}

/* Record a done report. */
static void
put_done(void *arg, int ok, const char *err)
{
	struct put	*p = arg;

	p->called++;
	p->ok = ok;
	snprintf(p->err, sizeof p->err, "%s", err != NULL ? err : "");
}

/* Read key from db into a NUL-terminated copy (NULL if absent). */
static char *
get_copy(struct store *s, enum store_db db, const char *key, size_t *len)
{
	struct store_txn	*txn;
	const void		*v;
	size_t			 vlen;
	char			*out = NULL;

	if ((txn = store_read(s)) == NULL)
		return (NULL);
	if (store_get(txn, db, key, strlen(key), &v, &vlen) == 0) {
		out = xmalloc(vlen + 1);
		memcpy(out, v, vlen);
		out[vlen] = '\0';
		if (len != NULL)
			*len = vlen;
	}
	store_done(txn);
	return (out);
}

static char *
path(const char *name)
{
	return (xprintf("%s/%s", test_tmpdir(), name));
}

/* Counters: first 1, then 2; peek does not change. */
static int
ids_apply(struct store_txn *txn, void *arg)
{
	uint64_t	*ids = arg;

	ids[0] = store_next_id(txn, "alert");
	ids[1] = store_next_id(txn, "alert");
	ids[2] = store_next_id(txn, "job");
	ids[3] = store_peek_id(txn, "alert");
	return (0);
}

static struct store *open_ok(struct event_base *, const char *);

static struct store *
open_ok(struct event_base *base, const char *dir)
{
	struct store	*s;
	char		 err[256];

	if ((s = store_open(base, dir, err, sizeof err)) == NULL)
		bail("store_open %s: %s", dir, err);
	return (s);
}

static void
test_basics(struct event_base *base)
{
	struct store		*s;
	struct store_txn	*txn;
	struct put		 p = { STORE_SEARCHES, "a", "one", 3, 0, 0, 0,
				    "" };
	uint64_t		 ids[4];
	char			*dir, *v, inst[32], err[256];
	size_t			 i;
	int			 hex = 1;

	dir = path("db/sub");	/* parents are created */
	s = open_ok(base, dir);
	snprintf(inst, sizeof inst, "%s", store_instance(s));
	is_int(16, strlen(inst), "instance is 16 chars");
	for (i = 0; i < strlen(inst); i++)
		if (!isxdigit((unsigned char)inst[i]) ||
		    isupper((unsigned char)inst[i]))
			hex = 0;
	ok(hex, "instance is lowercase hex: %s", inst);
	ok(store_mapsize(s) >= STORE_MAPSIZE_MIN, "map at least the minimum");
	ok(store_last_error(s) == NULL, "no error yet");
	is_int(0, store_batches(s), "no batches yet");

	is_int(0, store_update(s, put_apply, &p, err, sizeof err),
	    "store_update put");
	v = get_copy(s, STORE_SEARCHES, "a", NULL);
	is_string("one", v, "value read back");
	free(v);
	ok(get_copy(s, STORE_SEARCHES, "zz", NULL) == NULL, "absent key");

	memset(ids, 0, sizeof ids);
	is_int(0, store_update(s, ids_apply, ids, err, sizeof err),
	    "counters update");
	ok(ids[0] == 1 && ids[1] == 2, "alert ids 1 then 2");
	ok(ids[2] == 1, "job counter separate, first 1");
	ok(ids[3] == 2, "peek sees 2");

	txn = store_read(s);
	ok(txn != NULL, "read txn");
	ok(store_peek_id(txn, "alert") == 2, "peek in read txn");
	ok(store_peek_id(txn, "never") == 0, "unused counter peeks 0");
	ok(store_next_id(txn, "alert") == 0, "next_id in a read txn fails");
	ok(store_count(txn, STORE_SEARCHES) == 1, "count searches 1");
	ok(store_count(txn, STORE_ALERTS) == 0, "count alerts 0");
	store_done(txn);
	store_close(s);

	s = open_ok(base, dir);
	is_string(inst, store_instance(s), "instance stable across reopen");
	v = get_copy(s, STORE_SEARCHES, "a", NULL);
	is_string("one", v, "value persisted");
	free(v);
	is_int(0, store_update(s, ids_apply, ids, err, sizeof err),
	    "counters after reopen");
	ok(ids[0] == 3 && ids[1] == 4 && ids[2] == 2,
	    "counters continue after reopen");
	store_close(s);
	store_close(NULL);
	free(dir);
}

/* Put be64 keys 10, 20, 30 into alerts. */
static int
keys_apply(struct store_txn *txn, void *arg)
{
	uint8_t	 k[8];
	uint64_t i;
	char	 v[8];

	for (i = 10; i <= 30; i += 10) {
		util_be64_put(k, i);
		snprintf(v, sizeof v, "v%llu", (unsigned long long)i);
		if (store_put(txn, STORE_ALERTS, k, 8, v, strlen(v)) == -1)
			return (-1);
	}
	return (0);
}

/* Key under a cursor as a number (0 if not 8 bytes). */
static uint64_t
keyval(const void *k, size_t klen)
{
	return (klen == 8 ? util_be64_get(k) : 0);
}

/* Delete 20 through a cursor, and step on; leaves one cursor open. */
static int
cdel_apply(struct store_txn *txn, void *arg)
{
	int			*res = arg;
	struct store_cursor	*c, *c2;
	const void		*k, *v;
	size_t			 klen, vlen;
	uint8_t			 key[8];

	if ((c = store_cursor(txn, STORE_ALERTS)) == NULL)
		return (-1);
	util_be64_put(key, 20);
	res[0] = store_cursor_seek(c, key, 8, &k, &klen, &v, &vlen) == 0 &&
	    keyval(k, klen) == 20;
	res[1] = store_cursor_del(c) == 0;
	res[2] = store_cursor_next(c, &k, &klen, &v, &vlen) == 0 &&
	    keyval(k, klen) == 30;
	store_cursor_free(c);
	store_cursor_free(c);	/* twice in the same txn: harmless */
	/* Left open: closed when the transaction ends. */
	c2 = store_cursor(txn, STORE_ALERTS);
	res[3] = c2 != NULL && store_cursor_seek(c2, NULL, 0, &k, &klen,
	    &v, &vlen) == 0 && keyval(k, klen) == 10;
	return (0);
}

static void
test_cursors(struct event_base *base)
{
	struct store		*s;
	struct store_txn	*txn;
	struct store_cursor	*c;
	const void		*k, *v;
	size_t			 klen, vlen;
	uint8_t			 key[8];
	char			*dir, err[256];
	int			 res[4];

	dir = path("cursors");
	s = open_ok(base, dir);

	txn = store_read(s);
	c = store_cursor(txn, STORE_ALERTS);
	ok(c != NULL, "cursor on empty db");
	is_int(1, store_cursor_seek(c, NULL, 0, &k, &klen, &v, &vlen),
	    "seek on empty db: end");
	is_int(1, store_cursor_seek_le(c, NULL, 0, &k, &klen, &v, &vlen),
	    "seek_le last on empty db: end");
	util_be64_put(key, 5);
	is_int(1, store_cursor_seek_le(c, key, 8, &k, &klen, &v, &vlen),
	    "seek_le key on empty db: end");
	store_cursor_free(c);
	store_done(txn);

	is_int(0, store_update(s, keys_apply, NULL, err, sizeof err),
	    "put 10 20 30");
	txn = store_read(s);
	c = store_cursor(txn, STORE_ALERTS);
	ok(store_cursor_seek(c, NULL, 0, &k, &klen, &v, &vlen) == 0 &&
	    keyval(k, klen) == 10 && vlen == 3 && memcmp(v, "v10", 3) == 0,
	    "seek NULL: first key with its value");
	util_be64_put(key, 15);
	ok(store_cursor_seek(c, key, 8, &k, &klen, &v, &vlen) == 0 &&
	    keyval(k, klen) == 20, "seek 15 -> 20");
	util_be64_put(key, 20);
	ok(store_cursor_seek(c, key, 8, &k, &klen, &v, &vlen) == 0 &&
	    keyval(k, klen) == 20, "seek 20 -> 20");
	util_be64_put(key, 31);
	is_int(1, store_cursor_seek(c, key, 8, &k, &klen, &v, &vlen),
	    "seek 31 -> end");
	util_be64_put(key, 15);
	ok(store_cursor_seek_le(c, key, 8, &k, &klen, &v, &vlen) == 0 &&
	    keyval(k, klen) == 10, "seek_le 15 -> 10");
	util_be64_put(key, 20);
	ok(store_cursor_seek_le(c, key, 8, &k, &klen, &v, &vlen) == 0 &&
	    keyval(k, klen) == 20, "seek_le 20 -> 20 (exact)");
	util_be64_put(key, 99);
	ok(store_cursor_seek_le(c, key, 8, &k, &klen, &v, &vlen) == 0 &&
	    keyval(k, klen) == 30, "seek_le past the end -> last");
	util_be64_put(key, 5);
	is_int(1, store_cursor_seek_le(c, key, 8, &k, &klen, &v, &vlen),
	    "seek_le before the first -> end");
	ok(store_cursor_seek_le(c, NULL, 0, &k, &klen, &v, &vlen) == 0 &&
	    keyval(k, klen) == 30, "seek_le NULL -> last");
	/* A longer key with the prefix of 20 sorts after 20. */
	{
		uint8_t	 lk[9];

		util_be64_put(lk, 20);
		lk[8] = 0xff;
		ok(store_cursor_seek_le(c, lk, 9, &k, &klen, &v, &vlen) ==
		    0 && keyval(k, klen) == 20, "seek_le 20|ff -> 20");
		ok(store_cursor_seek(c, lk, 9, &k, &klen, &v, &vlen) == 0 &&
		    keyval(k, klen) == 30, "seek 20|ff -> 30");
	}
	ok(store_cursor_seek(c, NULL, 0, NULL, NULL, NULL, NULL) == 0,
	    "seek with NULL outputs");
	ok(store_cursor_next(c, &k, &klen, &v, &vlen) == 0 &&
	    keyval(k, klen) == 20, "next -> 20");
	ok(store_cursor_next(c, &k, &klen, &v, &vlen) == 0 &&
	    keyval(k, klen) == 30, "next -> 30");
	is_int(1, store_cursor_next(c, &k, &klen, &v, &vlen), "next -> end");
	ok(store_cursor_seek_le(c, NULL, 0, &k, &klen, &v, &vlen) == 0 &&
	    store_cursor_prev(c, &k, &klen, &v, &vlen) == 0 &&
	    keyval(k, klen) == 20, "last, prev -> 20");
	ok(store_cursor_prev(c, &k, &klen, &v, &vlen) == 0 &&
	    keyval(k, klen) == 10, "prev -> 10");
	is_int(1, store_cursor_prev(c, &k, &klen, &v, &vlen), "prev -> end");
	is_int(-1, store_cursor_del(c), "cursor_del in a read txn fails");
	store_cursor_free(c);
	is_int(-1, store_cursor_next(c, &k, &klen, &v, &vlen),
	    "freed cursor refuses to move");
	store_cursor_free(c);	/* second free in the txn is a no-op */
	c = store_cursor(txn, STORE_ALERTS);	/* closed by store_done */
	ok(c != NULL, "cursor left for store_done");
	store_done(txn);

	memset(res, 0, sizeof res);
	is_int(0, store_update(s, cdel_apply, res, err, sizeof err),
	    "cursor delete update");
	ok(res[0], "cursor at 20");
	ok(res[1], "cursor_del");
	ok(res[2], "next after del -> 30");
	ok(res[3], "second cursor in the write txn");
	txn = store_read(s);
	ok(store_count(txn, STORE_ALERTS) == 2, "two keys left");
	util_be64_put(key, 20);
	is_int(1, store_get(txn, STORE_ALERTS, key, 8, &v, &vlen),
	    "20 deleted");
	store_done(txn);
	store_close(s);
	free(dir);
}

/* Calls store_update from inside an apply. */
struct nest {
	struct store	*s;
	int		 rc;
	char		 err[256];
};

static int
nest_apply(struct store_txn *txn, void *arg)
{
	struct nest	*n = arg;
	struct put	 p = { STORE_SEARCHES, "inner", "x", 1, 0, 0, 0, "" };

	n->rc = store_update(n->s, put_apply, &p, n->err, sizeof n->err);
	return (store_put(txn, STORE_SEARCHES, "outer", 5, "y", 1));
}

/* Puts then deletes "gone", and deletes a key that never was. */
static int
del_apply(struct store_txn *txn, void *arg)
{
	if (store_put(txn, STORE_FILES, "gone", 4, "1", 1) == -1 ||
	    store_del(txn, STORE_FILES, "gone", 4) == -1 ||
	    store_del(txn, STORE_FILES, "never", 5) == -1)
		return (-1);
	return (0);
}

static void
test_writes(struct event_base *base)
{
	struct store	*s;
	struct put	 a = { STORE_JOBS, "ja", "A", 1, 0, 0, 0, "" };
	struct put	 b = { STORE_JOBS, "jb", "B", 1, 0, 0, 0, "" };
	struct put	 f = { STORE_JOBS, "jf", "F", 1, 1, 0, 0, "" };
	struct put	 c = { STORE_JOBS, "jc", "C", 1, 0, 0, 0, "" };
	struct put	 u = { STORE_JOBS, "ju", "U", 1, 1, 0, 0, "" };
	struct put	 l = { STORE_JOBS, NULL, "L", 1, 0, 0, 0, "" };
	struct nest	 n;
	char		*dir, *v, err[256], longkey[600];

	dir = path("writes");
	s = open_ok(base, dir);

	store_write(s, put_apply, put_done, &a);
	store_write(s, put_apply, put_done, &b);
	ok(a.called == 0 && b.called == 0, "nothing done before the turn ends");
	event_base_loop(base, EVLOOP_ONCE);
	ok(a.called == 1 && a.ok == 1, "job a committed");
	ok(b.called == 1 && b.ok == 1, "job b committed");
	is_int(1, store_batches(s), "two jobs in ONE batch");
	v = get_copy(s, STORE_JOBS, "ja", NULL);
	is_string("A", v, "a written");
	free(v);
	v = get_copy(s, STORE_JOBS, "jb", NULL);
	is_string("B", v, "b written");
	free(v);

	store_write(s, put_apply, put_done, &f);
	store_write(s, put_apply, put_done, &c);
	event_base_loop(base, EVLOOP_ONCE);
	ok(f.called == 1 && f.ok == 0, "failing job reported failed");
	ok(strstr(f.err, "job jf says nope") != NULL, "its reason: %s",
	    f.err);
	ok(c.called == 1 && c.ok == 1, "the other job committed");
	is_int(2, store_batches(s), "still one batch for both");
	ok(get_copy(s, STORE_JOBS, "jf", NULL) == NULL,
	    "failing job's put rolled back");
	v = get_copy(s, STORE_JOBS, "jc", NULL);
	is_string("C", v, "other job written");
	free(v);

	/* store_flush commits without the loop. */
	c.called = 0;
	c.key = "jc2";
	store_write(s, put_apply, put_done, &c);
	store_flush(s);
	ok(c.called == 1 && c.ok == 1, "store_flush commits the queue");
	is_int(3, store_batches(s), "flush is a batch");
	event_base_loop(base, EVLOOP_NONBLOCK);
	ok(c.called == 1 && store_batches(s) == 3,
	    "nothing left for the loop");

	/* store_update failures. */
	is_int(-1, store_update(s, put_apply, &u, err, sizeof err),
	    "failing store_update");
	ok(strstr(err, "job ju says nope") != NULL, "reason: %s", err);
	ok(get_copy(s, STORE_JOBS, "ju", NULL) == NULL, "nothing written");
	memset(longkey, 'k', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	l.key = longkey;
	is_int(-1, store_update(s, put_apply, &l, err, sizeof err),
	    "a 599-byte key is refused");
	ok(strstr(err, "put into jobs") != NULL &&
	    strstr(err, "MDB_BAD_VALSIZE") != NULL, "LMDB text: %s", err);

	memset(&n, 0, sizeof n);
	n.s = s;
	is_int(0, store_update(s, nest_apply, &n, err, sizeof err),
	    "outer update commits");
	is_int(-1, n.rc, "nested store_update refused");
	ok(strstr(n.err, "inside an apply") != NULL, "why: %s", n.err);
	ok(get_copy(s, STORE_SEARCHES, "inner", NULL) == NULL,
	    "inner not written");
	v = get_copy(s, STORE_SEARCHES, "outer", NULL);
	is_string("y", v, "outer written");
	free(v);
	is_int(0, store_update(s, del_apply, NULL, err, sizeof err),
	    "put, delete, delete absent");
	ok(get_copy(s, STORE_FILES, "gone", NULL) == NULL, "deleted");

	/* store_close flushes what is queued. */
	a.called = 0;
	a.key = "closing";
	store_write(s, put_apply, put_done, &a);
	store_close(s);
	ok(a.called == 1 && a.ok == 1, "store_close commits the queue");
	s = open_ok(base, dir);
	v = get_copy(s, STORE_JOBS, "closing", NULL);
	is_string("A", v, "written at close");
	free(v);
	store_close(s);
	free(dir);
}

static void
test_nobase(void)
{
	struct store	*s;
	struct put	 a = { STORE_JOBS, "nb", "N", 1, 0, 0, 0, "" };
	char		*dir;

	dir = path("nobase");
	s = open_ok(NULL, dir);
	store_write(s, put_apply, put_done, &a);
	ok(a.called == 1 && a.ok == 1, "without a base store_write commits "
	    "at once");
	store_close(s);
	free(dir);
}

/* Fill a value with a pattern that depends on the position. */
static char *
big_value(size_t n)
{
	char	*v;
	size_t	 i;

	v = xmalloc(n);
	for (i = 0; i < n; i++)
		v[i] = (char)('a' + (i * 7 + i / 4096) % 26);
	return (v);
}

static void
test_growth(struct event_base *base)
{
	struct store		*s;
	struct store_txn	*txn;
	struct put		 p = { STORE_ALERTS, "big", NULL, 0, 0, 0, 0,
				    "" };
	struct put		 q = { STORE_ALERTS, "bigger", NULL, 0, 0, 0,
				    0, "" };
	struct put		 r = { STORE_ALERTS, "blocked", NULL, 0, 0, 0,
				    0, "" };
	size_t			 small = (size_t)256 << 10, before, len;
	char			*dir, *v, *want, err[256];

	setenv("STORE_TEST_MAPSIZE", "262144", 1);
	dir = path("growth");
	s = open_ok(base, dir);
	is_int(small, store_mapsize(s), "STORE_TEST_MAPSIZE gives a small map");

	want = big_value((size_t)4 << 20);
	p.val = want;
	p.vlen = (size_t)1 << 20;
	is_int(0, store_update(s, put_apply, &p, err, sizeof err),
	    "1 MiB store_update into a 256 KiB map succeeds");
	ok(store_mapsize(s) > ((size_t)1 << 20), "map grew: %zu",
	    store_mapsize(s));
	v = get_copy(s, STORE_ALERTS, "big", &len);
	ok(v != NULL && len == p.vlen && memcmp(v, want, len) == 0,
	    "large value read back");
	free(v);

	before = store_mapsize(s);
	q.val = want;
	q.vlen = (size_t)4 << 20;
	store_write(s, put_apply, put_done, &q);
	event_base_loop(base, EVLOOP_ONCE);
	ok(q.called == 1 && q.ok == 1, "4 MiB group commit succeeds: %s",
	    q.err);
	ok(store_mapsize(s) > before, "map grew again: %zu",
	    store_mapsize(s));
	is_int(1, store_batches(s), "one batch after the redo");
	v = get_copy(s, STORE_ALERTS, "bigger", &len);
	ok(v != NULL && len == q.vlen && memcmp(v, want, len) == 0,
	    "4 MiB value read back");
	free(v);

	/* No growth while a read transaction is open. */
	before = store_mapsize(s);
	r.val = want;
	r.vlen = before;	/* cannot fit without growing */
	txn = store_read(s);
	is_int(-1, store_update(s, put_apply, &r, err, sizeof err),
	    "no growth under a read txn");
	ok(strstr(err, "read transactions") != NULL, "why: %s", err);
	ok(store_last_error(s) != NULL, "last error set: %s",
	    store_last_error(s) ? store_last_error(s) : "(null)");
	store_done(txn);
	store_close(s);

	s = open_ok(base, dir);
	{
		struct stat	 st;
		char		*file = xprintf("%s/data.mdb", dir);

		ok(stat(file, &st) == 0 && st.st_size > (off_t)small &&
		    store_mapsize(s) >= (size_t)st.st_size,
		    "reopen maps the whole file: %zu", store_mapsize(s));
		free(file);
	}
	v = get_copy(s, STORE_ALERTS, "bigger", &len);
	ok(v != NULL && len == q.vlen && memcmp(v, want, len) == 0,
	    "large value persisted");
	free(v);
	store_close(s);
	unsetenv("STORE_TEST_MAPSIZE");
	free(want);
	free(dir);
}

/* Write a schema version. */
static int
schema_apply(struct store_txn *txn, void *arg)
{
	uint8_t	 be[4];

	util_be32_put(be, *(uint32_t *)arg);
	return (store_put(txn, STORE_META, "schema", 6, be, sizeof be));
}

static void
test_schema(struct event_base *base)
{
	struct store		*s;
	struct store_txn	*txn;
	const void		*v;
	size_t			 vlen;
	uint32_t		 ver = STORE_SCHEMA_VERSION + 1;
	char			*dir, err[256];

	dir = path("schema");
	s = open_ok(base, dir);
	txn = store_read(s);
	ok(store_get(txn, STORE_META, "schema", 6, &v, &vlen) == 0 &&
	    vlen == 4 && util_be32_get(v) == STORE_SCHEMA_VERSION,
	    "schema stored as be32");
	store_done(txn);
	is_int(0, store_update(s, schema_apply, &ver, err, sizeof err),
	    "pretend a newer program wrote it");
	store_close(s);
	err[0] = '\0';
	ok(store_open(base, dir, err, sizeof err) == NULL,
	    "newer schema refused");
	ok(strstr(err, "newer") != NULL, "message: %s", err);
	free(dir);
}

int
main(void)
{
	struct event_base	*base;

	plan(102);
	unsetenv("STORE_TEST_MAPSIZE");
	if ((base = event_base_new()) == NULL)
		bail("event_base_new");
	test_basics(base);
	test_cursors(base);
	test_writes(base);
	test_nobase();
	test_growth(base);
	test_schema(base);
	event_base_free(base);
	return (test_done());
}
