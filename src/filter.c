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

struct filter {
	const struct filter_ops	*f_ops;
	void			*f_inst;
	uint16_t		 f_pos;
};

struct filter_chain {
	struct filter	*fc_filters;
	size_t		 fc_n;
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

static const struct filter_ops *filter_types[] = {
	&filter_dedupe_ops,
	&filter_throttle_ops,
	NULL
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
		if (ops->fo_validate(f, field, err) == -1)
			return (-1);
	}
	buf_free(&names);
	return (0);
}

/* The chain of s for one run at time now (ms). */
struct filter_chain *
filter_chain_new(const struct search *s, int64_t now)
{
	struct filter_chain	*fc;
	const struct json	*f;
	size_t			 i, n;

	fc = xcalloc(1, sizeof *fc);
	n = s->s_filters == NULL ? 0 : json_len(s->s_filters);
	if (n == 0)
		return (fc);
	fc->fc_filters = xcalloc(n, sizeof *fc->fc_filters);
	for (i = 0; i < n; i++) {
		f = json_at(s->s_filters, i);
		fc->fc_filters[i].f_ops = filter_find(json_str(json_get(f,
		    "type")));
		if (fc->fc_filters[i].f_ops == NULL)
			fatalx("filter_chain_new: unvalidated filter");
		fc->fc_filters[i].f_inst =
		    fc->fc_filters[i].f_ops->fo_new(f, now);
		fc->fc_filters[i].f_pos = (uint16_t)i;
	}
	fc->fc_n = n;
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
	free(fc);
}

/* Pass one record through the chain. */
enum filter_verdict
filter_chain_record(struct filter_chain *fc, struct fstate *fs,
    struct record *r, filter_trace_cb trace, void *arg)
{
	struct filter		*f;
	enum filter_verdict	 v;
	const char		*why;
	size_t			 i;

	if (fs != NULL)
		fs->fs_staging = 1;
	for (i = 0; i < fc->fc_n; i++) {
		f = &fc->fc_filters[i];
		why = NULL;
		v = f->f_ops->fo_record(f->f_inst, fs, f->f_pos, r, &why);
		if (v == FILTER_DROP) {
			if (trace != NULL)
				trace(arg, i, f->f_ops->fo_name, "dropped",
				    why != NULL ? why : "");
			if (fs != NULL)
				fstate_unstage(fs, 0);
			return (FILTER_DROP);
		}
		if (why != NULL && trace != NULL)
			trace(arg, i, f->f_ops->fo_name, "changed", why);
	}
	if (fs != NULL)
		fstate_unstage(fs, 1);
	return (FILTER_KEEP);
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
