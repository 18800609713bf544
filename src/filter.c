/*
 * filter.c -- the filter chain of a search, and the per-run overlay of
 * filter state.
 *
 * State keys in STORE_FILTER_STATE are be64 search id | be16 position of
 * the filter in the chain | the filter's own key.  The overlay is a hash
 * map of the same keys (without the search id) to copied values; reads
 * look there first, then in the store through a short read transaction.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "filter.h"
#include "hmap.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "search.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define FILTER_MAX	32		/* filters per search */
#define FILTER_KEY_MAX	400		/* bytes of a filter's own key */
#define FILTER_HOLD_MAX	100000		/* records held for a batch filter */
#define FILTER_HOLD_BYTES (128 * 1024 * 1024)

struct filter {
	const struct filter_ops	*f_ops;
	void			*f_inst;
	uint16_t		 f_pos;		/* in the search's filters */
	int			 f_drop_on_error;
	int			 f_batch;	/* works on the whole run */
};

struct filter_chain {
	struct filter		*fc_filters;
	size_t			 fc_n;
	size_t			 fc_first_batch;	/* index, or fc_n */
	long			 fc_nrec;		/* records seen */
	struct filter_batch	 fc_held;
	size_t			 fc_held_bytes;
	uint64_t		 fc_overflow;
	uint64_t		 fc_errors;
	char			*fc_error;		/* the first */

	/* The batch phase. */
	struct fstate		*fc_fs;
	filter_trace_cb		 fc_trace;
	void			*fc_targ;
	filter_finish_cb	 fc_done;
	void			*fc_darg;
	size_t			 fc_at;			/* batch filter running */
	struct filter_batch	 fc_cur;		/* its records */
};

struct fstate_val {
	size_t	 v_len;
	char	 v_data[];
};

struct fstate {
	struct store	*fs_store;
	uint64_t	 fs_search;
	struct hmap	*fs_map;	/* be16 pos | key -> struct fstate_val */
	struct buf	 fs_scratch;	/* value read from the store */
	struct buf	 fs_key;
	/*
	 * Changes made while one record goes through the chain: they count
	 * only if the record passes every filter (a record a later filter
	 * drops was not alerted, so dedupe must not remember it, nor throttle
	 * count it).
	 */
	int		 fs_staging;
	struct fstate_staged {
		char			*st_key;
		size_t			 st_klen;
		struct fstate_val	*st_val;
	}		*fs_stage;
	size_t		 fs_nstage;
	size_t		 fs_stagecap;
};

static struct fstate_val *fstate_staged(struct fstate *);
static void	fstate_stage(struct fstate *, struct fstate_val *);
static void	fstate_unstage(struct fstate *, int);
static void	chain_step(struct filter_chain *);
static void	chain_batch_done(void *, const char *, const char *);

/* Options every filter takes. */
static const char *const filter_common[] = {
	"type", "lifetime", "on_error", "comment", NULL
};

/* The ops of a filter type by name, or NULL. */
static const struct filter_ops *
filter_find(const char *name)
{
	size_t	 i;

	for (i = 0; filter_types[i] != NULL; i++) {
		if (strcmp(filter_types[i]->fo_name, name) == 0)
			return (filter_types[i]);
	}
	return (NULL);
}

/* Fill err with "field.sub" and "TYPE: msg"; returns -1. */
int
filter_fail(struct search_err *err, const char *field, const char *sub,
    const char *type, const char *msg)
{
	snprintf(err->se_field, sizeof err->se_field, "%s%s%s", field,
	    sub ? "." : "", sub ? sub : "");
	snprintf(err->se_message, sizeof err->se_message, "%s: %s", type,
	    msg);
	return (-1);
}

/* Whether name is in the NULL-terminated list. */
static int
filter_listed(const char *const *list, const char *name)
{
	size_t	 i;

	for (i = 0; list != NULL && list[i] != NULL; i++) {
		if (strcmp(list[i], name) == 0)
			return (1);
	}
	return (0);
}

/* Refuse an option neither in allowed nor common. */
int
filter_check_options(const struct json *f, const char *field,
    const char *type, const char *const *allowed, struct search_err *err)
{
	const char	*name;
	size_t		 i, k;
	struct buf	 b = BUF_INIT;

	for (i = 0; i < f->j_u.obj.n; i++) {
		name = f->j_u.obj.m[i].m_key;
		if (filter_listed(filter_common, name) ||
		    filter_listed(allowed, name))
			continue;
		buf_adds(&b, "unknown option (options: ");
		for (k = 0; allowed != NULL && allowed[k] != NULL; k++)
			buf_printf(&b, "%s, ", allowed[k]);
		buf_adds(&b, "lifetime, on_error, comment)");
		filter_fail(err, field, name, type, b.b_data);
		buf_free(&b);
		return (-1);
	}
	return (0);
}

/*
 * The end of a filter's lifetime in ms (INT64_MAX without one): an RFC
 * 3339 time, or a duration counted from updated.  -1 with *e on error.
 */
static int
filter_lifetime(const struct json *f, int64_t updated, int64_t *until,
    const char **e)
{
	const struct json	*l;
	const char		*str;
	int64_t			 v;

	*until = INT64_MAX;
	if ((l = json_get(f, "lifetime")) == NULL || l->j_type == JSON_NULL)
		return (0);
	if ((str = json_str(l)) == NULL) {
		*e = "must be a duration (\"7d\") or a time "
		    "(\"2026-12-01T00:00:00Z\")";
		return (-1);
	}
	if (util_parse_time_ms(str, strlen(str), &v) == 0) {
		*until = v;
		return (0);
	}
	if (util_parse_duration_ms(str, &v, e) == -1)
		return (-1);
	if (v < 1000) {
		*e = "must be at least 1s";
		return (-1);
	}
	*until = updated + v;
	return (0);
}

/* Check the options every filter takes. */
static int
filter_validate_common(const struct json *f, const char *field,
    const char *type, struct search_err *err)
{
	const struct json	*o;
	const char		*e;
	int64_t			 until;

	if (filter_lifetime(f, 0, &until, &e) == -1)
		return (filter_fail(err, field, "lifetime", type, e));
	o = json_get(f, "on_error");
	if (o != NULL && (json_str(o) == NULL ||
	    (strcmp(json_str(o), "keep") != 0 &&
	    strcmp(json_str(o), "drop") != 0)))
		return (filter_fail(err, field, "on_error", type,
		    "must be \"keep\" or \"drop\""));
	o = json_get(f, "comment");
	if (o != NULL && json_str(o) == NULL)
		return (filter_fail(err, field, "comment", type,
		    "must be a string"));
	return (0);
}

/* Check a search's "filters" array. */
int
filter_validate(const struct json *filters, struct search_err *err)
{
	const struct filter_ops	*ops;
	const struct json	*f, *type;
	char			 field[64];
	size_t			 i;
	struct buf		 names = BUF_INIT;

	if (filters->j_type != JSON_ARRAY) {
		snprintf(err->se_field, sizeof err->se_field, "filters");
		snprintf(err->se_message, sizeof err->se_message,
		    "must be an array of filter objects");
		return (-1);
	}
	if (json_len(filters) > FILTER_MAX) {
		snprintf(err->se_field, sizeof err->se_field, "filters");
		snprintf(err->se_message, sizeof err->se_message,
		    "more than %d filters", FILTER_MAX);
		return (-1);
	}
	for (i = 0; i < json_len(filters); i++) {
		f = json_at(filters, i);
		snprintf(field, sizeof field, "filters[%zu]", i);
		if (f->j_type != JSON_OBJECT) {
			snprintf(err->se_field, sizeof err->se_field, "%s",
			    field);
			snprintf(err->se_message, sizeof err->se_message,
			    "must be an object with a \"type\"");
			return (-1);
		}
		type = json_get(f, "type");
		if (json_str(type) == NULL ||
		    (ops = filter_find(json_str(type))) == NULL) {
			size_t k;

			buf_reset(&names);
			for (k = 0; filter_types[k] != NULL; k++)
				buf_printf(&names, "%s%s", k ? ", " : "",
				    filter_types[k]->fo_name);
			snprintf(err->se_field, sizeof err->se_field,
			    "%s.type", field);
			snprintf(err->se_message, sizeof err->se_message,
			    "unknown filter type%s%s%s (one of %s)",
			    json_str(type) ? " \"" : "",
			    json_str(type) ? json_str(type) : "",
			    json_str(type) ? "\"" : "", names.b_data);
			buf_free(&names);
			return (-1);
		}
		if (filter_validate_common(f, field, ops->fo_name, err) == -1 ||
		    ops->fo_validate(f, field, err) == -1)
			return (-1);
	}
	buf_free(&names);
	return (0);
}

/* The chain of s for one run. */
struct filter_chain *
filter_chain_new(const struct search *s, const struct filter_env *env)
{
	struct filter_chain	*fc;
	struct filter		*fl;
	const struct json	*f, *o;
	const char		*e;
	int64_t			 until;
	size_t			 i, n;

	fc = xcalloc(1, sizeof *fc);
	n = s->s_filters == NULL ? 0 : json_len(s->s_filters);
	if (n > 0)
		fc->fc_filters = xcalloc(n, sizeof *fc->fc_filters);
	fc->fc_first_batch = SIZE_MAX;
	for (i = 0; i < n; i++) {
		f = json_at(s->s_filters, i);
		if (filter_lifetime(f, env->fe_updated, &until, &e) == 0 &&
		    until <= env->fe_now)
			continue;		/* its time is over */
		fl = &fc->fc_filters[fc->fc_n];
		fl->f_ops = filter_find(json_str(json_get(f, "type")));
		if (fl->f_ops == NULL)
			fatalx("filter_chain_new: unvalidated filter");
		o = json_get(f, "on_error");
		fl->f_drop_on_error = json_str(o) != NULL &&
		    strcmp(json_str(o), "drop") == 0;
		fl->f_pos = (uint16_t)i;
		fl->f_inst = fl->f_ops->fo_new(f, env);
		fl->f_batch = fl->f_ops->fo_batch != NULL &&
		    (fl->f_ops->fo_is_batch == NULL ||
		    fl->f_ops->fo_is_batch(fl->f_inst));
		if (fl->f_batch && fc->fc_first_batch == SIZE_MAX)
			fc->fc_first_batch = fc->fc_n;
		fc->fc_n++;
	}
	if (fc->fc_first_batch == SIZE_MAX)
		fc->fc_first_batch = fc->fc_n;
	return (fc);
}

/* Free a chain; accepts NULL. */
void
filter_chain_free(struct filter_chain *fc)
{
	size_t	 i;

	if (fc == NULL)
		return;
	for (i = 0; i < fc->fc_n; i++)
		fc->fc_filters[i].f_ops->fo_free(fc->fc_filters[i].f_inst);
	free(fc->fc_filters);
	filter_batch_clear(&fc->fc_held);
	filter_batch_clear(&fc->fc_cur);
	free(fc->fc_error);
	free(fc);
}

/* Count an error of filter f. */
static void
chain_error(struct filter_chain *fc, const struct filter *f, const char *why)
{
	char	 msg[512];

	fc->fc_errors++;
	if (fc->fc_error != NULL)
		return;
	snprintf(msg, sizeof msg, "filters[%u] (%s): %s", f->f_pos,
	    f->f_ops->fo_name, why);
	fc->fc_error = xstrdup(msg);
}

/* One filter's decision on r, with its on_error applied and traced. */
static enum filter_verdict
chain_one(struct filter_chain *fc, struct filter *f, struct fstate *fs,
    struct record *r, filter_trace_cb trace, void *arg, long idx)
{
	enum filter_verdict	 v;
	const char		*why = NULL;

	v = f->f_ops->fo_record(f->f_inst, fs, f->f_pos, r, &why);
	if (v == FILTER_ERROR) {
		if (why == NULL)
			why = "failed";
		chain_error(fc, f, why);
		if (trace != NULL)
			trace(arg, idx, f->f_pos, f->f_ops->fo_name, "error",
			    why);
		return (f->f_drop_on_error ? FILTER_DROP : FILTER_KEEP);
	}
	if (trace != NULL && (v == FILTER_DROP || why != NULL))
		trace(arg, idx, f->f_pos, f->f_ops->fo_name,
		    v == FILTER_DROP ? "dropped" : "changed",
		    why != NULL ? why : "");
	return (v);
}

/*
 * Pass r through the filters from index i on, up to the next batch
 * filter: FILTER_KEEP (passed them all), FILTER_DROP, or FILTER_HELD (to
 * be held for the batch filter).
 */
static enum filter_verdict
chain_run(struct filter_chain *fc, struct fstate *fs, struct record *r,
    size_t i, filter_trace_cb trace, void *arg, long idx)
{
	struct filter		*f;
	enum filter_verdict	 v;

	if (fs != NULL)
		fs->fs_staging = 1;
	for (; i < fc->fc_n; i++) {
		f = &fc->fc_filters[i];
		if (f->f_batch) {
			/* What reached a batch filter counts as passed. */
			v = FILTER_HELD;
			if (f->f_ops->fo_record != NULL && chain_one(fc, f, fs,
			    r, trace, arg, idx) == FILTER_DROP)
				v = FILTER_DROP;
			if (fs != NULL)
				fstate_unstage(fs, 1);
			return (v);
		}
		if (chain_one(fc, f, fs, r, trace, arg, idx) == FILTER_DROP) {
			if (fs != NULL)
				fstate_unstage(fs, 0);
			return (FILTER_DROP);
		}
	}
	if (fs != NULL)
		fstate_unstage(fs, 1);
	return (FILTER_KEEP);
}

/* Pass one record through the streaming part of the chain. */
enum filter_verdict
filter_chain_record(struct filter_chain *fc, struct fstate *fs,
    struct record *r, filter_trace_cb trace, void *arg)
{
	struct filter		*f;
	enum filter_verdict	 v;
	long			 idx = fc->fc_nrec++;
	size_t			 size;

	v = chain_run(fc, fs, r, 0, trace, arg, idx);
	if (v != FILTER_HELD)
		return (v);
	f = &fc->fc_filters[fc->fc_first_batch];
	size = record_size(r);
	if (fc->fc_held.fb_n >= FILTER_HOLD_MAX ||
	    fc->fc_held_bytes + size > FILTER_HOLD_BYTES) {
		fc->fc_overflow++;
		if (trace != NULL)
			trace(arg, idx, f->f_pos, f->f_ops->fo_name, "dropped",
			    "the batch is full");
		return (FILTER_DROP);
	}
	fc->fc_held_bytes += size;
	filter_batch_add(&fc->fc_held, r);
	return (FILTER_HELD);
}

/* Whether the chain has a filter that works on the whole run. */
int
filter_chain_has_batch(const struct filter_chain *fc)
{
	return (fc->fc_first_batch < fc->fc_n);
}

/* The end of the run: the batch filters, then done. */
void
filter_chain_finish(struct filter_chain *fc, struct fstate *fs,
    filter_trace_cb trace, void *targ, filter_finish_cb done, void *darg)
{
	fc->fc_fs = fs;
	fc->fc_trace = trace;
	fc->fc_targ = targ;
	fc->fc_done = done;
	fc->fc_darg = darg;
	fc->fc_at = fc->fc_first_batch;
	filter_batch_clear(&fc->fc_cur);
	fc->fc_cur = fc->fc_held;
	memset(&fc->fc_held, 0, sizeof fc->fc_held);
	fc->fc_held_bytes = 0;
	chain_step(fc);
}

/* Run the batch filter at fc_at, or report what passed. */
static void
chain_step(struct filter_chain *fc)
{
	struct filter		*f;
	struct filter_batch	 out;

	if (fc->fc_at >= fc->fc_n) {
		out = fc->fc_cur;
		memset(&fc->fc_cur, 0, sizeof fc->fc_cur);
		fc->fc_done(fc->fc_darg, &out);
		return;
	}
	f = &fc->fc_filters[fc->fc_at];
	f->f_ops->fo_batch(f->f_inst, fc->fc_fs, f->f_pos, &fc->fc_cur,
	    chain_batch_done, fc);
}

/* The batch filter at fc_at is done: the filters after it, then on. */
static void
chain_batch_done(void *arg, const char *error, const char *summary)
{
	struct filter_chain	*fc = arg;
	struct filter		*f = &fc->fc_filters[fc->fc_at];
	struct filter_batch	 next = { 0 };
	enum filter_verdict	 v;
	size_t			 i, stop;

	if (error != NULL) {
		chain_error(fc, f, error);
		if (fc->fc_trace != NULL)
			fc->fc_trace(fc->fc_targ, -1, f->f_pos,
			    f->f_ops->fo_name, "error", error);
		if (f->f_drop_on_error)
			filter_batch_clear(&fc->fc_cur);
	} else if (summary != NULL && fc->fc_trace != NULL)
		fc->fc_trace(fc->fc_targ, -1, f->f_pos, f->f_ops->fo_name,
		    "batch", summary);

	for (stop = fc->fc_at + 1; stop < fc->fc_n; stop++)
		if (fc->fc_filters[stop].f_batch)
			break;
	for (i = 0; i < fc->fc_cur.fb_n; i++) {
		v = chain_run(fc, fc->fc_fs, fc->fc_cur.fb_recs[i],
		    fc->fc_at + 1, fc->fc_trace, fc->fc_targ, -1);
		if (v == FILTER_DROP)
			record_free(fc->fc_cur.fb_recs[i]);
		else
			filter_batch_add(&next, fc->fc_cur.fb_recs[i]);
		fc->fc_cur.fb_recs[i] = NULL;
	}
	fc->fc_cur.fb_n = 0;
	filter_batch_clear(&fc->fc_cur);
	fc->fc_cur = next;
	fc->fc_at = stop;
	chain_step(fc);
}

/* Errors seen, and the first one. */
uint64_t
filter_chain_errors(const struct filter_chain *fc, const char **first)
{
	if (first != NULL)
		*first = fc->fc_error;
	return (fc->fc_errors);
}

/* Records dropped because a batch filter's hold was full. */
uint64_t
filter_chain_overflow(const struct filter_chain *fc)
{
	return (fc->fc_overflow);
}

/* Append a record to a batch (ownership). */
void
filter_batch_add(struct filter_batch *b, struct record *r)
{
	if (b->fb_n == b->fb_cap) {
		b->fb_cap = b->fb_cap == 0 ? 64 : b->fb_cap * 2;
		b->fb_recs = xreallocarray(b->fb_recs, b->fb_cap,
		    sizeof *b->fb_recs);
	}
	b->fb_recs[b->fb_n++] = r;
}

/* Free a batch's records and array; the batch is then empty. */
void
filter_batch_clear(struct filter_batch *b)
{
	size_t	 i;

	for (i = 0; i < b->fb_n; i++)
		record_free(b->fb_recs[i]);
	free(b->fb_recs);
	memset(b, 0, sizeof *b);
}

/* The event time of a record (or now), in ms. */
int64_t
filter_record_time(const struct record *r, int64_t now)
{
	return (r->r_time != 0 ? r->r_time : now);
}

/* The overlay for one run of search id over store. */
struct fstate *
fstate_new(struct store *store, uint64_t search)
{
	struct fstate	*fs;

	fs = xcalloc(1, sizeof *fs);
	fs->fs_store = store;
	fs->fs_search = search;
	fs->fs_map = hmap_new();
	return (fs);
}

/* Free the overlay; accepts NULL. */
void
fstate_free(struct fstate *fs)
{
	struct hmap_iter	 it = { 0 };
	void			*v;

	if (fs == NULL)
		return;
	fstate_unstage(fs, 0);
	free(fs->fs_stage);
	while (hmap_next(fs->fs_map, &it, NULL, NULL, &v))
		free(v);
	hmap_free(fs->fs_map);
	buf_free(&fs->fs_scratch);
	buf_free(&fs->fs_key);
	free(fs);
}

/* Build the overlay key (be16 pos | key) in fs_key. */
static void
fstate_key(struct fstate *fs, uint16_t pos, const void *key, size_t klen)
{
	uint8_t	 p[2];

	p[0] = pos >> 8;
	p[1] = pos & 0xff;
	buf_reset(&fs->fs_key);
	buf_add(&fs->fs_key, p, 2);
	buf_add(&fs->fs_key, key, klen);
}

/* Look up filter pos's key: overlay first, then the store. */
int
fstate_get(struct fstate *fs, uint16_t pos, const void *key, size_t klen,
    const void **val, size_t *vlen)
{
	struct fstate_val	*v;
	struct store_txn	*txn;
	uint8_t			 sk[8 + 2 + FILTER_KEY_MAX];
	const void		*sv;
	size_t			 svlen;
	int			 rc;

	if (klen > FILTER_KEY_MAX)
		klen = FILTER_KEY_MAX;
	fstate_key(fs, pos, key, klen);
	if ((v = fstate_staged(fs)) == NULL)
		v = hmap_get(fs->fs_map, fs->fs_key.b_data, fs->fs_key.b_len);
	if (v != NULL) {
		*val = v->v_data;
		*vlen = v->v_len;
		return (0);
	}
	if (fs->fs_store == NULL)
		return (1);
	util_be64_put(sk, fs->fs_search);
	memcpy(sk + 8, fs->fs_key.b_data, fs->fs_key.b_len);
	if ((txn = store_read(fs->fs_store)) == NULL)
		return (-1);
	rc = store_get(txn, STORE_FILTER_STATE, sk, 8 + fs->fs_key.b_len,
	    &sv, &svlen);
	if (rc == 0) {
		buf_reset(&fs->fs_scratch);
		buf_add(&fs->fs_scratch, sv, svlen);
		*val = fs->fs_scratch.b_data;
		*vlen = svlen;
	}
	store_done(txn);
	return (rc);
}

/* Set filter pos's key in the overlay (value copied). */
void
fstate_put(struct fstate *fs, uint16_t pos, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	struct fstate_val	*v, *old;

	if (klen > FILTER_KEY_MAX)
		klen = FILTER_KEY_MAX;
	fstate_key(fs, pos, key, klen);
	v = xmalloc(sizeof *v + vlen + 1);
	v->v_len = vlen;
	memcpy(v->v_data, val, vlen);
	v->v_data[vlen] = '\0';
	if (fs->fs_staging) {
		fstate_stage(fs, v);
		return;
	}
	old = hmap_put(fs->fs_map, fs->fs_key.b_data, fs->fs_key.b_len, v);
	free(old);
}

/* Set filter pos's key in the overlay, whatever becomes of the record. */
void
fstate_put_seen(struct fstate *fs, uint16_t pos, const void *key,
    size_t klen, const void *val, size_t vlen)
{
	int	 staging = fs->fs_staging;

	fs->fs_staging = 0;
	fstate_put(fs, pos, key, klen, val, vlen);
	fs->fs_staging = staging;
}

/* The staged value of the key in fs_key, or NULL. */
static struct fstate_val *
fstate_staged(struct fstate *fs)
{
	size_t	 i;

	for (i = 0; i < fs->fs_nstage; i++) {
		if (fs->fs_stage[i].st_klen == fs->fs_key.b_len &&
		    memcmp(fs->fs_stage[i].st_key, fs->fs_key.b_data,
		    fs->fs_key.b_len) == 0)
			return (fs->fs_stage[i].st_val);
	}
	return (NULL);
}

/* Stage v for the key in fs_key (replacing a staged one). */
static void
fstate_stage(struct fstate *fs, struct fstate_val *v)
{
	size_t	 i;

	for (i = 0; i < fs->fs_nstage; i++) {
		if (fs->fs_stage[i].st_klen == fs->fs_key.b_len &&
		    memcmp(fs->fs_stage[i].st_key, fs->fs_key.b_data,
		    fs->fs_key.b_len) == 0) {
			free(fs->fs_stage[i].st_val);
			fs->fs_stage[i].st_val = v;
			return;
		}
	}
	if (fs->fs_nstage == fs->fs_stagecap) {
		fs->fs_stagecap = fs->fs_stagecap == 0 ? 4 :
		    fs->fs_stagecap * 2;
		fs->fs_stage = xreallocarray(fs->fs_stage, fs->fs_stagecap,
		    sizeof *fs->fs_stage);
	}
	fs->fs_stage[fs->fs_nstage].st_key = xmemdup(fs->fs_key.b_data,
	    fs->fs_key.b_len);
	fs->fs_stage[fs->fs_nstage].st_klen = fs->fs_key.b_len;
	fs->fs_stage[fs->fs_nstage].st_val = v;
	fs->fs_nstage++;
}

/* End of one record's pass: keep (the record passed) or drop the stage. */
static void
fstate_unstage(struct fstate *fs, int keep)
{
	struct fstate_val	*old;
	size_t			 i;

	for (i = 0; i < fs->fs_nstage; i++) {
		if (keep) {
			old = hmap_put(fs->fs_map, fs->fs_stage[i].st_key,
			    fs->fs_stage[i].st_klen, fs->fs_stage[i].st_val);
			free(old);
		} else
			free(fs->fs_stage[i].st_val);
		free(fs->fs_stage[i].st_key);
	}
	fs->fs_nstage = 0;
	fs->fs_staging = 0;
}

/* Write the overlay in a write transaction. */
int
fstate_apply(struct fstate *fs, struct store_txn *txn)
{
	struct hmap_iter	 it = { 0 };
	const void		*k;
	size_t			 klen;
	void			*vp;
	struct fstate_val	*v;
	uint8_t			 sk[8 + 2 + FILTER_KEY_MAX];

	util_be64_put(sk, fs->fs_search);
	while (hmap_next(fs->fs_map, &it, &k, &klen, &vp)) {
		v = vp;
		memcpy(sk + 8, k, klen);
		if (store_put(txn, STORE_FILTER_STATE, sk, 8 + klen,
		    v->v_data, v->v_len) == -1)
			return (-1);
	}
	return (0);
}

/* Entries in the overlay. */
size_t
fstate_count(const struct fstate *fs)
{
	return (hmap_count(fs->fs_map));
}
