/*
 * searches.c -- the set of searches: stored in STORE_SEARCHES, loaded at
 * start, read from searches_dir, created, changed and deleted through the
 * API, and handed to the scheduler.
 *
 * Every change is validated first, written in one transaction, and only
 * then given to the scheduler, so a refused change leaves everything as it
 * was.  The scheduler's table is the set of live searches; the store is
 * the record of them.
 *
 * History (D4): every create, change and delete writes, in the same
 * transaction, a snapshot to STORE_SEARCH_HISTORY under be64 search id |
 * be64 version: {"version", "time", "actor", "action", "change_note",
 * "search": the API form of the search at that version}.  A delete takes
 * the next version number and keeps the last definition.  History stays
 * when the search is deleted.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "hmap.h"
#include "json.h"
#include "log.h"
#include "run.h"
#include "sched.h"
#include "search.h"
#include "searches.h"
#include "store.h"
#include "trust.h"
#include "util.h"
#include "xmalloc.h"

#define SEARCHES_FILE_MAX	(1024 * 1024)

struct searches {
	struct run_env		*ss_env;
	struct sched		*ss_sched;
	const struct config	*ss_cfg;
};

/* What an apply callback writes or deletes. */
struct searches_op {
	struct search	*op_search;	/* to write (id may be assigned) */
	uint64_t	 op_delete;	/* id to delete, or 0 */
	const char	*op_file;	/* files mapping to set, or NULL */
	const char	*op_unfile;	/* files mapping to remove, or NULL */
	int		 op_new;	/* assign an id */
	const struct searches_who *op_who;	/* history: who, or NULL */
	const struct search *op_last;	/* delete: the search as it was */
	struct searches_op *op_next;	/* more in the same transaction */
};

static int	searches_apply(struct store_txn *, void *);
static int	searches_apply_one(struct store_txn *, struct searches_op *);

/* A new set bound to env and sched. */
struct searches *
searches_new(struct run_env *env, struct sched *sched)
{
	struct searches	*ss;

	ss = xcalloc(1, sizeof *ss);
	ss->ss_env = env;
	ss->ss_sched = sched;
	ss->ss_cfg = env->re_cfg;
	return (ss);
}

/* Free; accepts NULL. */
void
searches_free(struct searches *ss)
{
	free(ss);
}

/* Rebind to a new config. */
void
searches_reload(struct searches *ss, const struct config *cfg)
{
	ss->ss_cfg = cfg;
}

/* Delete every key starting with prefix in db. */
static int
searches_del_prefix(struct store_txn *txn, enum store_db db,
    const uint8_t *prefix, size_t plen)
{
	struct store_cursor	*c;
	const void		*k, *v;
	size_t			 klen, vlen;
	int			 rc;

	if ((c = store_cursor(txn, db)) == NULL)
		return (-1);
	rc = store_cursor_seek(c, prefix, plen, &k, &klen, &v, &vlen);
	while (rc == 0 && klen >= plen && memcmp(k, prefix, plen) == 0) {
		if (store_cursor_del(c) == -1) {
			rc = -1;
			break;
		}
		rc = store_cursor_seek(c, prefix, plen, &k, &klen, &v, &vlen);
	}
	store_cursor_free(c);
	return (rc == -1 ? -1 : 0);
}

/* Write the history entry of a change to s (at s's version). */
static int
searches_history_put(struct store_txn *txn, const struct search *s,
    uint64_t version, const char *action, const struct searches_who *who)
{
	yajl_gen		 g;
	const unsigned char	*p;
	size_t			 len;
	uint8_t			 key[16];
	int			 rc;

	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_kint(g, "version", (int64_t)version);
	jgen_ktime(g, "time", util_now_ms());
	jgen_kstr(g, "actor", who->sw_actor);
	jgen_kstr(g, "action", action);
	jgen_str(g, "change_note");
	jgen_str_or_null(g, who->sw_note);
	jgen_str(g, "search");
	search_gen_open(g, s);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	yajl_gen_get_buf(g, &p, &len);
	util_be64_put(key, s->s_id);
	util_be64_put(key + 8, version);
	rc = store_put(txn, STORE_SEARCH_HISTORY, key, sizeof key, p, len);
	yajl_gen_free(g);
	return (rc);
}

/* Write or delete searches (and their file mappings), with history. */
static int
searches_apply(struct store_txn *txn, void *arg)
{
	struct searches_op	*op;

	for (op = arg; op != NULL; op = op->op_next) {
		if (searches_apply_one(txn, op) == -1)
			return (-1);
	}
	return (0);
}

/* Write or delete one search (and its file mapping). */
static int
searches_apply_one(struct store_txn *txn, struct searches_op *op)
{
	uint8_t			 key[8];
	char			*text;
	size_t			 len;
	int			 rc;

	if (op->op_delete != 0) {
		if (op->op_who != NULL && op->op_last != NULL &&
		    searches_history_put(txn, op->op_last,
		    op->op_last->s_version + 1, "delete", op->op_who) == -1)
			return (-1);
		util_be64_put(key, op->op_delete);
		if (store_del(txn, STORE_SEARCHES, key, 8) == -1 ||
		    store_del(txn, STORE_SEARCH_STATE, key, 8) == -1 ||
		    searches_del_prefix(txn, STORE_FILTER_STATE, key, 8) == -1 ||
		    searches_del_prefix(txn, STORE_JOBS, key, 8) == -1)
			return (-1);
	}
	if (op->op_unfile != NULL && store_del(txn, STORE_FILES,
	    op->op_unfile, strlen(op->op_unfile)) == -1)
		return (-1);
	if (op->op_search == NULL)
		return (0);
	if (op->op_new &&
	    (op->op_search->s_id = store_next_id(txn, "search")) == 0)
		return (-1);
	util_be64_put(key, op->op_search->s_id);
	text = search_to_store(op->op_search, &len);
	rc = store_put(txn, STORE_SEARCHES, key, 8, text, len);
	free(text);
	if (rc == -1)
		return (-1);
	if (op->op_file != NULL && store_put(txn, STORE_FILES, op->op_file,
	    strlen(op->op_file), key, 8) == -1)
		return (-1);
	if (op->op_who != NULL && searches_history_put(txn, op->op_search,
	    op->op_search->s_version, op->op_search->s_version == 1 ?
	    "create" : "update", op->op_who) == -1)
		return (-1);
	return (0);
}

/* Run op in one transaction; 0 or -1 with err. */
static int
searches_write(struct searches *ss, struct searches_op *op,
    struct search_err *err)
{
	char	 msg[200];

	if (store_update(ss->ss_env->re_store, searches_apply, op, msg,
	    sizeof msg) == -1) {
		snprintf(err->se_field, sizeof err->se_field, "%s", "");
		snprintf(err->se_message, sizeof err->se_message,
		    "could not store the search: %s", msg);
		return (-1);
	}
	return (0);
}

/* Load every stored search and schedule it. */
int
searches_load(struct searches *ss)
{
	struct store_txn	*txn;
	struct store_cursor	*c;
	struct search		*s;
	struct search_err	 err;
	const void		*k, *v;
	size_t			 klen, vlen, n = 0;
	int			 rc;

	if ((txn = store_read(ss->ss_env->re_store)) == NULL)
		return (-1);
	if ((c = store_cursor(txn, STORE_SEARCHES)) == NULL) {
		store_done(txn);
		return (-1);
	}
	for (rc = store_cursor_seek(c, NULL, 0, &k, &klen, &v, &vlen); rc == 0;
	    rc = store_cursor_next(c, &k, &klen, &v, &vlen)) {
		s = search_from_store(v, vlen, ss->ss_cfg, &err);
		if (s == NULL) {
			log_warnx("search %llu: %s%s%s; it will fail until "
			    "fixed", klen == 8 ?
			    (unsigned long long)util_be64_get(k) : 0ULL,
			    err.se_field, *err.se_field ? ": " : "",
			    err.se_message);
			/* Keep it visible: load without the config checks. */
			trust_lenient(1);
			s = search_from_store(v, vlen, NULL, &err);
			trust_lenient(0);
			if (s == NULL)
				continue;
		}
		sched_put(ss->ss_sched, s);
		search_unref(s);
		n++;
	}
	store_cursor_free(c);
	store_done(txn);
	log_info("loaded %zu searches", n);
	return (rc == -1 ? -1 : 0);
}

struct searches_name {
	const char	*sn_name;
	uint64_t	 sn_except;
	struct search	*sn_found;
};

/* searches_each callback: stop at a search of that name but another id. */
static int
searches_name_cb(void *arg, struct search *s)
{
	struct searches_name	*sn = arg;

	if (s->s_id != sn->sn_except && strcmp(s->s_name, sn->sn_name) == 0) {
		sn->sn_found = s;
		return (1);
	}
	return (0);
}

/*
 * Names are unique (import and people match searches by name): the live
 * search other than except that is called name (borrowed), or NULL.
 */
static struct search *
searches_name_taken(struct searches *ss, const char *name, uint64_t except)
{
	struct searches_name	 sn;

	sn.sn_name = name;
	sn.sn_except = except;
	sn.sn_found = NULL;
	searches_each(ss, 0, searches_name_cb, &sn);
	return (sn.sn_found);
}

/* Fill err for a name that search other already has; returns 409. */
static int
searches_name_conflict(struct search_err *err, const struct search *other)
{
	snprintf(err->se_field, sizeof err->se_field, "name");
	if (other->s_origin == ORIGIN_FILE)
		snprintf(err->se_message, sizeof err->se_message,
		    "search %llu (file %s) is already named \"%s\"; names "
		    "are unique", (unsigned long long)other->s_id,
		    other->s_file != NULL ? other->s_file : "?", other->s_name);
	else
		snprintf(err->se_message, sizeof err->se_message,
		    "search %llu is already named \"%s\"; names are unique",
		    (unsigned long long)other->s_id, other->s_name);
	return (409);
}

/* Create from def. */
int
searches_create(struct searches *ss, const struct json *def,
    struct search **out, struct search_err *err,
    const struct searches_who *who)
{
	struct searches_op	 op;
	struct search		*s, *other;

	*out = NULL;
	if ((s = search_from_json(def, ss->ss_cfg, err)) == NULL)
		return (422);
	if ((other = searches_name_taken(ss, s->s_name, 0)) != NULL) {
		search_unref(s);
		return (searches_name_conflict(err, other));
	}
	s->s_version = 1;
	s->s_created = s->s_updated = util_now_ms();
	s->s_origin = ORIGIN_API;
	memset(&op, 0, sizeof op);
	op.op_search = s;
	op.op_new = 1;
	op.op_who = who;
	if (searches_write(ss, &op, err) == -1) {
		search_unref(s);
		return (500);
	}
	sched_put(ss->ss_sched, s);
	*out = s;
	return (201);
}

/*
 * May search id be changed through the API?  0 with *cur, or 404 (no such
 * search) or 409 (it comes from a file) with the reason in err.
 */
static int
searches_writable(struct searches *ss, uint64_t id, const char *verb,
    struct search **cur, struct search_err *err)
{
	memset(err, 0, sizeof *err);
	if ((*cur = sched_get(ss->ss_sched, id)) == NULL) {
		snprintf(err->se_message, sizeof err->se_message,
		    "no search %llu", (unsigned long long)id);
		return (404);
	}
	if ((*cur)->s_origin == ORIGIN_FILE) {
		snprintf(err->se_message, sizeof err->se_message,
		    "search %llu comes from the file %s in searches_dir; "
		    "%s the file and reload", (unsigned long long)id,
		    (*cur)->s_file != NULL ? (*cur)->s_file : "?", verb);
		return (409);
	}
	return (0);
}

/* Replace or merge-patch search id. */
int
searches_update(struct searches *ss, uint64_t id, const struct json *def,
    int patch, struct search **out, struct search_err *err,
    const struct searches_who *who)
{
	struct searches_op	 op;
	struct search		*cur, *s, *other;
	struct json		*merged = NULL;
	const struct json	*use = def;
	int64_t			 v;
	int			 rc;

	*out = NULL;
	if ((rc = searches_writable(ss, id, "change", &cur, err)) != 0)
		return (rc);
	if (def == NULL || def->j_type != JSON_OBJECT) {
		snprintf(err->se_message, sizeof err->se_message,
		    "a search must be a JSON object");
		return (422);
	}
	if (json_get(def, "version") != NULL) {
		if (!json_int(json_get(def, "version"), &v)) {
			snprintf(err->se_field, sizeof err->se_field,
			    "version");
			snprintf(err->se_message, sizeof err->se_message,
			    "must be a whole number");
			return (422);
		}
		if ((uint64_t)v != cur->s_version) {
			snprintf(err->se_field, sizeof err->se_field,
			    "version");
			snprintf(err->se_message, sizeof err->se_message,
			    "search %llu is at version %llu, not %lld: it "
			    "changed since you read it",
			    (unsigned long long)id,
			    (unsigned long long)cur->s_version, (long long)v);
			return (409);
		}
	}
	if (patch) {
		merged = json_dup(cur->s_def);
		json_merge_patch(&merged, def);
		use = merged;
	}
	s = search_from_json(use, ss->ss_cfg, err);
	json_free(merged);
	if (s == NULL)
		return (422);
	if ((other = searches_name_taken(ss, s->s_name, id)) != NULL) {
		search_unref(s);
		return (searches_name_conflict(err, other));
	}
	s->s_id = id;
	s->s_version = cur->s_version + 1;
	s->s_created = cur->s_created;
	s->s_updated = util_now_ms();
	s->s_origin = ORIGIN_API;
	memset(&op, 0, sizeof op);
	op.op_search = s;
	op.op_who = who;
	if (searches_write(ss, &op, err) == -1) {
		search_unref(s);
		return (500);
	}
	sched_put(ss->ss_sched, s);
	*out = s;
	return (200);
}

/* Delete search id. */
int
searches_delete(struct searches *ss, uint64_t id, struct search_err *err,
    const struct searches_who *who)
{
	struct searches_op	 op;
	struct search		*cur;
	int			 rc;

	if ((rc = searches_writable(ss, id, "remove", &cur, err)) != 0)
		return (rc);
	memset(&op, 0, sizeof op);
	op.op_delete = id;
	op.op_who = who;
	op.op_last = cur;
	if (searches_write(ss, &op, err) == -1)
		return (500);
	sched_remove(ss->ss_sched, id);
	return (200);
}

/* A live search by id (borrowed), or NULL. */
struct search *
searches_get(struct searches *ss, uint64_t id)
{
	return (sched_get(ss->ss_sched, id));
}

/* Call cb for every search with an id above after, in id order. */
void
searches_each(struct searches *ss, uint64_t after,
    int (*cb)(void *, struct search *), void *arg)
{
	struct store_txn	*txn;
	struct store_cursor	*c;
	struct search		*s;
	const void		*k, *v;
	size_t			 klen, vlen;
	uint8_t			 start[8];
	int			 rc;

	if ((txn = store_read(ss->ss_env->re_store)) == NULL)
		return;
	if ((c = store_cursor(txn, STORE_SEARCHES)) == NULL) {
		store_done(txn);
		return;
	}
	util_be64_put(start, after + 1);
	for (rc = store_cursor_seek(c, start, 8, &k, &klen, &v, &vlen);
	    rc == 0; rc = store_cursor_next(c, &k, &klen, &v, &vlen)) {
		if (klen != 8 || (s = sched_get(ss->ss_sched,
		    util_be64_get(k))) == NULL)
			continue;
		if (cb(arg, s) != 0)
			break;
	}
	store_cursor_free(c);
	store_done(txn);
}

/* Number of searches. */
size_t
searches_count(const struct searches *ss)
{
	return (sched_searches(ss->ss_sched));
}

/* Write the API form of a search, status included. */
void
searches_gen(struct searches *ss, yajl_gen g, const struct search *s)
{
	struct store_txn	*txn;
	struct search_state	 st;

	memset(&st, 0, sizeof st);
	if ((txn = store_read(ss->ss_env->re_store)) != NULL) {
		(void)search_state_load(txn, s->s_id, &st);
		store_done(txn);
	}
	search_gen_open(g, s);
	jgen_str(g, "status");
	yajl_gen_map_open(g);
	jgen_ktime(g, "last_run", st.ss_last_run);
	jgen_ktime(g, "last_success", st.ss_last_success);
	jgen_ktime(g, "last_failure", st.ss_last_failure);
	jgen_kstr(g, "last_error", st.ss_last_error);
	jgen_kbool(g, "failing", st.ss_failing);
	jgen_ktime(g, "checkpoint", st.ss_checkpoint);
	jgen_ktime(g, "next_run", sched_next_run(ss->ss_sched, s->s_id));
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	search_state_clear(&st);
}

/* Read a whole file of at most SEARCHES_FILE_MAX bytes. */
static char *
searches_read_file(const char *path, size_t *lenp, char *err, size_t errlen)
{
	struct buf	 b = BUF_INIT;
	char		 chunk[8192];
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return (NULL);
	}
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (b.b_len + n > SEARCHES_FILE_MAX) {
			snprintf(err, errlen, "larger than %d bytes",
			    SEARCHES_FILE_MAX);
			close(fd);
			buf_free(&b);
			return (NULL);
		}
		buf_add(&b, chunk, n);
	}
	close(fd);
	if (n == -1) {
		snprintf(err, errlen, "cannot read: %s", strerror(errno));
		buf_free(&b);
		return (NULL);
	}
	return (buf_steal(&b, lenp));
}

/* Order file names. */
static int
searches_name_cmp(const void *a, const void *b)
{
	return (strcmp(*(char * const *)a, *(char * const *)b));
}

/* Load searches_dir. */
int
searches_load_dir(struct searches *ss, const struct config *cfg)
{
	struct searches_op	 op;
	struct searches_who	 fwho;
	struct search_err	 err;
	struct search		*s, *cur, *other;
	struct store_txn	*txn;
	struct store_cursor	*c;
	struct hmap		*seen;
	struct json		*def;
	DIR			*d;
	struct dirent		*de;
	char			**names = NULL, *path, *text, msg[256];
	char			*a, *b, *gone;
	const void		*k, *v;
	size_t			 nnames = 0, i, len, klen, vlen, ngone = 0;
	char			**gones = NULL;
	uint64_t		*goneids = NULL;
	int			 bad = 0, rc;

	if (cfg->c_searches_dir == NULL)
		return (0);
	if ((d = opendir(cfg->c_searches_dir)) == NULL) {
		log_warnx("searches_dir %s: %s", cfg->c_searches_dir,
		    strerror(errno));
		return (1);
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 6 || de->d_name[0] == '.' ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		names = xreallocarray(names, nnames + 1, sizeof *names);
		names[nnames++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (nnames > 0)
		qsort(names, nnames, sizeof *names, searches_name_cmp);

	seen = hmap_new();
	for (i = 0; i < nnames; i++) {
		hmap_put(seen, names[i], strlen(names[i]), names[i]);
		path = xprintf("%s/%s", cfg->c_searches_dir, names[i]);
		text = searches_read_file(path, &len, msg, sizeof msg);
		if (text == NULL) {
			log_warnx("%s: %s", path, msg);
			bad++;
			free(path);
			continue;
		}
		def = json_parse(text, len, msg, sizeof msg);
		free(text);
		if (def == NULL) {
			log_warnx("%s: not valid JSON: %s", path, msg);
			bad++;
			free(path);
			continue;
		}
		s = search_from_json(def, cfg, &err);
		if (s == NULL) {
			log_warnx("%s: %s%s%s", path, err.se_field,
			    *err.se_field ? ": " : "", err.se_message);
			bad++;
			json_free(def);
			free(path);
			continue;
		}
		json_free(def);

		/* Known file? */
		cur = NULL;
		if ((txn = store_read(ss->ss_env->re_store)) != NULL) {
			if (store_get(txn, STORE_FILES, names[i],
			    strlen(names[i]), &v, &vlen) == 0 && vlen == 8)
				cur = sched_get(ss->ss_sched,
				    util_be64_get(v));
			store_done(txn);
		}
		other = searches_name_taken(ss, s->s_name,
		    cur != NULL ? cur->s_id : 0);
		if (other != NULL) {
			searches_name_conflict(&err, other);
			log_warnx("%s: name: %s", path, err.se_message);
			bad++;
			search_unref(s);
			free(path);
			continue;
		}
		free(path);
		memset(&op, 0, sizeof op);
		op.op_search = s;
		op.op_who = &fwho;
		fwho.sw_actor = "searches_dir";
		fwho.sw_note = names[i];
		s->s_origin = ORIGIN_FILE;
		s->s_file = xstrdup(names[i]);
		if (cur != NULL) {
			a = json_to_string(cur->s_def, NULL);
			b = json_to_string(s->s_def, NULL);
			rc = strcmp(a, b);
			free(a);
			free(b);
			if (rc == 0 && cur->s_origin == ORIGIN_FILE) {
				search_unref(s);
				continue;
			}
			s->s_id = cur->s_id;
			s->s_version = cur->s_version + 1;
			s->s_created = cur->s_created;
		} else {
			op.op_new = 1;
			op.op_file = names[i];
			s->s_version = 1;
			s->s_created = util_now_ms();
		}
		s->s_updated = util_now_ms();
		if (searches_write(ss, &op, &err) == -1) {
			log_warnx("%s/%s: %s", cfg->c_searches_dir, names[i],
			    err.se_message);
			bad++;
			search_unref(s);
			continue;
		}
		log_info("search %llu loaded from %s (version %llu)",
		    (unsigned long long)s->s_id, names[i],
		    (unsigned long long)s->s_version);
		sched_put(ss->ss_sched, s);
		search_unref(s);
	}

	/* Files that are gone take their searches with them. */
	if ((txn = store_read(ss->ss_env->re_store)) != NULL) {
		if ((c = store_cursor(txn, STORE_FILES)) != NULL) {
			for (rc = store_cursor_seek(c, NULL, 0, &k, &klen, &v,
			    &vlen); rc == 0; rc = store_cursor_next(c, &k,
			    &klen, &v, &vlen)) {
				if (hmap_get(seen, k, klen) != NULL ||
				    vlen != 8)
					continue;
				gones = xreallocarray(gones, ngone + 1,
				    sizeof *gones);
				goneids = xreallocarray(goneids, ngone + 1,
				    sizeof *goneids);
				gones[ngone] = xstrndup(k, klen);
				goneids[ngone++] = util_be64_get(v);
			}
			store_cursor_free(c);
		}
		store_done(txn);
	}
	for (i = 0; i < ngone; i++) {
		gone = gones[i];
		memset(&op, 0, sizeof op);
		op.op_delete = goneids[i];
		op.op_unfile = gone;
		op.op_who = &fwho;
		op.op_last = sched_get(ss->ss_sched, goneids[i]);
		fwho.sw_actor = "searches_dir";
		fwho.sw_note = gone;
		if (searches_write(ss, &op, &err) == -1)
			log_warnx("searches_dir: could not remove the search of "
			    "%s: %s", gone, err.se_message);
		else {
			log_info("search %llu removed: %s is gone",
			    (unsigned long long)goneids[i], gone);
			sched_remove(ss->ss_sched, goneids[i]);
		}
		free(gone);
	}
	free(gones);
	free(goneids);
	hmap_free(seen);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	return (bad);
}

/* Collect the live searches by name. */
static int
searches_by_name_cb(void *arg, struct search *s)
{
	struct hmap	*byname = arg;

	hmap_put(byname, s->s_name, strlen(s->s_name), s);
	return (0);
}

/* Record a refused item of an import. */
static void
searches_import_fail(struct searches_import *res, size_t index,
    const char *field, const char *fmt, ...)
{
	struct search_err	*e;
	va_list			 ap;

	res->si_errs = xreallocarray(res->si_errs, res->si_nerrs + 1,
	    sizeof *res->si_errs);
	res->si_index = xreallocarray(res->si_index, res->si_nerrs + 1,
	    sizeof *res->si_index);
	e = &res->si_errs[res->si_nerrs];
	res->si_index[res->si_nerrs++] = index;
	snprintf(e->se_field, sizeof e->se_field, "%s", field);
	va_start(ap, fmt);
	vsnprintf(e->se_message, sizeof e->se_message, fmt, ap);
	va_end(ap);
}

/* Import a list of definitions: all or nothing. */
int
searches_import(struct searches *ss, const struct json *list, int upsert,
    const struct searches_who *who, struct searches_import *res)
{
	struct searches_op	*ops;
	struct search		**made, *cur;
	struct search_err	 err;
	struct hmap		*byname, *seen;
	const struct json	*it;
	size_t			 i, n = json_len(list);
	int64_t			 now = util_now_ms();
	int			 status = 200;

	memset(res, 0, sizeof *res);
	made = xcalloc(n + 1, sizeof *made);
	ops = xcalloc(n + 1, sizeof *ops);
	byname = hmap_new();
	seen = hmap_new();
	searches_each(ss, 0, searches_by_name_cb, byname);
	for (i = 0; i < n; i++) {
		it = json_at(list, i);
		if (it == NULL || it->j_type != JSON_OBJECT) {
			searches_import_fail(res, i, "", "must be a search "
			    "definition (an object)");
			continue;
		}
		memset(&err, 0, sizeof err);
		if ((made[i] = search_from_json(it, ss->ss_cfg, &err)) ==
		    NULL) {
			searches_import_fail(res, i, err.se_field, "%s",
			    err.se_message);
			continue;
		}
		if (hmap_get(seen, made[i]->s_name,
		    strlen(made[i]->s_name)) != NULL) {
			searches_import_fail(res, i, "name", "\"%s\" is "
			    "named twice in this import", made[i]->s_name);
			continue;
		}
		hmap_put(seen, made[i]->s_name, strlen(made[i]->s_name),
		    made[i]);
		cur = hmap_get(byname, made[i]->s_name,
		    strlen(made[i]->s_name));
		if (cur != NULL && cur->s_origin == ORIGIN_FILE) {
			searches_import_fail(res, i, "name", "search %llu "
			    "\"%s\" comes from the file %s in searches_dir "
			    "and is never overwritten",
			    (unsigned long long)cur->s_id, cur->s_name,
			    cur->s_file != NULL ? cur->s_file : "?");
			continue;
		}
		if (cur != NULL && !upsert) {
			searches_import_fail(res, i, "name", "a search named "
			    "\"%s\" exists (id %llu); use \"mode\": "
			    "\"upsert\" to replace it", cur->s_name,
			    (unsigned long long)cur->s_id);
			continue;
		}
		made[i]->s_origin = ORIGIN_API;
		made[i]->s_updated = now;
		if (cur != NULL) {
			made[i]->s_id = cur->s_id;
			made[i]->s_version = cur->s_version + 1;
			made[i]->s_created = cur->s_created;
		} else {
			made[i]->s_version = 1;
			made[i]->s_created = now;
			ops[i].op_new = 1;
		}
		ops[i].op_search = made[i];
		ops[i].op_who = who;
		ops[i].op_next = i + 1 < n ? &ops[i + 1] : NULL;
	}
	if (res->si_nerrs > 0) {
		status = 422;
		goto done;
	}
	if (n > 0 && searches_write(ss, &ops[0], &err) == -1) {
		searches_import_fail(res, 0, "", "%s", err.se_message);
		status = 500;
		goto done;
	}
	res->si_ids = xcalloc(n + 1, sizeof *res->si_ids);
	res->si_created = xcalloc(n + 1, sizeof *res->si_created);
	res->si_n = n;
	for (i = 0; i < n; i++) {
		sched_put(ss->ss_sched, made[i]);
		res->si_ids[i] = made[i]->s_id;
		res->si_created[i] = ops[i].op_new;
	}
done:
	for (i = 0; i < n; i++) {
		if (made[i] != NULL)
			search_unref(made[i]);
	}
	free(made);
	free(ops);
	hmap_free(byname);
	hmap_free(seen);
	return (status);
}

/* Free what an import filled in. */
void
searches_import_clear(struct searches_import *res)
{
	free(res->si_errs);
	free(res->si_index);
	free(res->si_ids);
	free(res->si_created);
	memset(res, 0, sizeof *res);
}
