/*
 * alert.c -- alerts: made from records, stored with their indexes, read
 * back and listed, written as the JSON of CONTRACT.md 4.
 *
 * Stored form (STORE_ALERTS, key be64 id): a JSON object with times in ms
 * and the content inline.  Indexes: STORE_ALERTS_BY_SEARCH (be64 search |
 * be64 id) and STORE_ALERTS_BY_STATE (u8 state | be64 id), both with empty
 * values, so listings walk an index and never scan all alerts.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "buf.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "search.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

static void	alert_gen_common(yajl_gen, const struct alert *, int);
static int	alert_index(struct store_txn *, const struct alert *,
		    enum alert_state, int);

static const char *alert_state_names[ALERT_NSTATES] = {
	"new", "in_progress", "resolved"
};

/* True when record key k (klen bytes) is selected by the search's fields. */
static int
alert_selected(const struct search *s, const char *k, size_t klen)
{
	size_t	 i, n;

	if (s->s_nfields == 0)
		return (1);
	for (i = 0; i < s->s_nfields; i++) {
		n = strlen(s->s_fields[i]);
		if (klen == n && memcmp(k, s->s_fields[i], n) == 0)
			return (1);
		if (klen > n && k[n] == '.' &&
		    memcmp(k, s->s_fields[i], n) == 0)
			return (1);
	}
	return (0);
}

/* An alert from a record of search s at time now (ms). */
struct alert *
alert_from_record(const struct search *s, const struct record *r, int64_t now)
{
	struct alert	*a;
	struct buf	 content = BUF_INIT;
	size_t		*idx, n = 0, i, klen, vlen;
	const char	*k, *v;

	a = xcalloc(1, sizeof *a);
	a->a_search_id = s->s_id;
	a->a_time = r->r_time != 0 ? r->r_time : now;
	a->a_created = a->a_updated = now;
	a->a_state = ALERT_NEW;
	a->a_priority = xstrdup(s->s_priority);
	if (s->s_assignee != NULL)
		a->a_assignee = xstrdup(s->s_assignee);
	if (r->r_id != NULL)
		a->a_source_id = xstrdup(r->r_id);
	if (r->r_url != NULL)
		a->a_source_url = xstrdup(r->r_url);
	a->a_count = 1;

	idx = xcalloc(record_count(r) + 1, sizeof *idx);
	for (i = 0; i < record_count(r); i++) {
		k = record_key(r, i, &klen);
		/*
		 * A repeated key keeps its first value (as record_get does):
		 * the content must stay a JSON object that parses.
		 */
		if ((i >= r->r_nsrc || alert_selected(s, k, klen)) &&
		    record_find(r, k, klen) == (int)i)
			idx[n++] = i;
	}
	/* The content in the record's order. */
	buf_addc(&content, '{');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(&content, ',');
		k = record_key(r, idx[i], &klen);
		v = record_val(r, idx[i], &vlen);
		json_append_string(&content, k, klen);
		buf_addc(&content, ':');
		buf_add(&content, v, vlen);
	}
	buf_addc(&content, '}');
	free(idx);
	a->a_content = buf_steal(&content, &a->a_content_len);
	/*
	 * One definition of the hash for every alert: canonical JSON of the
	 * content, keys sorted at every depth (alert_hash).  It costs a parse
	 * of the content, so the caller computes it for the alerts it keeps
	 * (a run whose threshold is not met keeps none).
	 */
	return (a);
}

/* Free; accepts NULL. */
void
alert_free(struct alert *a)
{
	if (a == NULL)
		return;
	free(a->a_assignee);
	free(a->a_priority);
	free(a->a_content);
	free(a->a_source_id);
	free(a->a_source_url);
	free(a);
}

/* Compute a_hash from a_content. */
void
alert_hash(struct alert *a)
{
	struct json	*j;
	struct buf	 canon = BUF_INIT;
	char		 err[128];
	uint8_t		 sum[32];

	if ((j = json_parse(a->a_content, a->a_content_len, err,
	    sizeof err)) != NULL) {
		json_canonical(j, &canon);
		json_free(j);
	} else
		buf_add(&canon, a->a_content, a->a_content_len);
	util_sha256(canon.b_data, canon.b_len, sum);
	memcpy(a->a_hash, "sha256:", 7);
	util_hex(sum, sizeof sum, a->a_hash + 7);
	buf_free(&canon);
}

/* The members both forms share; stored form has ms times. */
static void
alert_gen_common(yajl_gen g, const struct alert *a, int stored)
{
	yajl_gen_map_open(g);
	jgen_kint(g, "id", (int64_t)a->a_id);
	jgen_kint(g, "search_id", (int64_t)a->a_search_id);
	if (stored) {
		jgen_kint(g, "time", a->a_time);
		jgen_kint(g, "created", a->a_created);
		jgen_kint(g, "updated", a->a_updated);
	} else {
		jgen_ktime(g, "time", a->a_time);
		jgen_ktime(g, "created", a->a_created);
		jgen_ktime(g, "updated", a->a_updated);
	}
	jgen_kstr(g, "state", alert_state_name(a->a_state));
	jgen_kstr(g, "resolution", a->a_state == ALERT_RESOLVED ?
	    alert_resolution_name(a->a_resolution) : NULL);
	jgen_kbool(g, "escalated", a->a_escalated);
	jgen_kstr(g, "assignee", a->a_assignee);
	jgen_kstr(g, "priority", a->a_priority);
	jgen_str(g, "content");
	jgen_raw(g, a->a_content, a->a_content_len);
	jgen_kstr(g, "content_hash", a->a_hash);
	jgen_kstr(g, "source_id", a->a_source_id);
	jgen_kstr(g, "source_url", a->a_source_url);
	jgen_kint(g, "count", (int64_t)a->a_count);
	yajl_gen_map_close(g);
}

/* Write the alert JSON (CONTRACT.md 4). */
void
alert_gen(yajl_gen g, const struct alert *a)
{
	alert_gen_common(g, a, 0);
}

/* A string member copied, or NULL. */
static char *
alert_strdup(const struct json *j, const char *key)
{
	const char	*s = json_str(json_get(j, key));

	return (s == NULL ? NULL : xstrdup(s));
}

/* Parse the stored form. */
struct alert *
alert_parse(const char *text, size_t len)
{
	struct json		*j, *c;
	struct alert		*a;
	enum alert_state	 st;
	const char		*s;
	char			 err[128];
	int64_t			 v;
	int			 b;

	if ((j = json_parse(text, len, err, sizeof err)) == NULL)
		return (NULL);
	a = xcalloc(1, sizeof *a);
	if (!json_int(json_get(j, "id"), &v))
		goto fail;
	a->a_id = (uint64_t)v;
	if (json_int(json_get(j, "search_id"), &v))
		a->a_search_id = (uint64_t)v;
	if (json_int(json_get(j, "time"), &v))
		a->a_time = v;
	if (json_int(json_get(j, "created"), &v))
		a->a_created = v;
	if (json_int(json_get(j, "updated"), &v))
		a->a_updated = v;
	s = json_str(json_get(j, "state"));
	if (s == NULL || alert_state_parse(s, &st) == -1)
		goto fail;
	a->a_state = st;
	s = json_str(json_get(j, "resolution"));
	if (s == NULL)
		a->a_resolution = RESOLUTION_NONE;
	else if (strcmp(s, "not_an_issue") == 0)
		a->a_resolution = RESOLUTION_NOT_AN_ISSUE;
	else if (strcmp(s, "action_taken") == 0)
		a->a_resolution = RESOLUTION_ACTION_TAKEN;
	else if (strcmp(s, "too_old") == 0)
		a->a_resolution = RESOLUTION_TOO_OLD;
	if (json_bool(json_get(j, "escalated"), &b))
		a->a_escalated = b;
	a->a_assignee = alert_strdup(j, "assignee");
	a->a_priority = alert_strdup(j, "priority");
	if (a->a_priority == NULL)
		a->a_priority = xstrdup("low");
	if ((c = json_get(j, "content")) == NULL || c->j_type != JSON_OBJECT)
		goto fail;
	a->a_content = json_to_string(c, &a->a_content_len);
	s = json_str(json_get(j, "content_hash"));
	if (s != NULL && strlen(s) < sizeof a->a_hash)
		strcpy(a->a_hash, s);
	a->a_source_id = alert_strdup(j, "source_id");
	a->a_source_url = alert_strdup(j, "source_url");
	if (json_int(json_get(j, "count"), &v))
		a->a_count = (uint64_t)v;
	json_free(j);
	return (a);
fail:
	json_free(j);
	alert_free(a);
	return (NULL);
}

/* Add (add=1) or remove the index entries of a in state st. */
static int
alert_index(struct store_txn *txn, const struct alert *a, enum alert_state st,
    int add)
{
	uint8_t	 k1[16], k2[9];

	util_be64_put(k1, a->a_search_id);
	util_be64_put(k1 + 8, a->a_id);
	k2[0] = (uint8_t)st;
	util_be64_put(k2 + 1, a->a_id);
	if (add)
		return (store_put(txn, STORE_ALERTS_BY_SEARCH, k1, sizeof k1,
		    "", 0) == -1 || store_put(txn, STORE_ALERTS_BY_STATE, k2,
		    sizeof k2, "", 0) == -1 ? -1 : 0);
	return (store_del(txn, STORE_ALERTS_BY_STATE, k2, sizeof k2));
}

/* Write the stored form of a. */
static int
alert_write(struct store_txn *txn, const struct alert *a)
{
	yajl_gen	 g;
	struct buf	 b = BUF_INIT;
	uint8_t		 key[8];
	int		 rc;

	g = jgen_new();
	alert_gen_common(g, a, 1);
	jgen_take(g, &b);
	yajl_gen_free(g);
	util_be64_put(key, a->a_id);
	rc = store_put(txn, STORE_ALERTS, key, sizeof key, b.b_data, b.b_len);
	buf_free(&b);
	return (rc);
}

/* Store a new alert: next id, the alert, its indexes. */
int
alert_insert(struct store_txn *txn, struct alert *a)
{
	if ((a->a_id = store_next_id(txn, "alert")) == 0)
		return (-1);
	if (alert_write(txn, a) == -1)
		return (-1);
	return (alert_index(txn, a, a->a_state, 1));
}

/* Rewrite an existing alert, moving its state index from old. */
int
alert_update(struct store_txn *txn, const struct alert *a,
    enum alert_state old)
{
	uint8_t	 k[9];

	if (old != a->a_state) {
		k[0] = (uint8_t)old;
		util_be64_put(k + 1, a->a_id);
		if (store_del(txn, STORE_ALERTS_BY_STATE, k, sizeof k) == -1)
			return (-1);
		k[0] = (uint8_t)a->a_state;
		if (store_put(txn, STORE_ALERTS_BY_STATE, k, sizeof k, "",
		    0) == -1)
			return (-1);
	}
	return (alert_write(txn, a));
}

/* Read alert id. */
int
alert_get(struct store_txn *txn, uint64_t id, struct alert **out)
{
	uint8_t		 key[8];
	const void	*val;
	size_t		 vlen;
	int		 rc;

	util_be64_put(key, id);
	rc = store_get(txn, STORE_ALERTS, key, sizeof key, &val, &vlen);
	if (rc != 0)
		return (rc);
	if ((*out = alert_parse(val, vlen)) == NULL) {
		log_warnx("alert %llu: stored record is damaged",
		    (unsigned long long)id);
		return (-1);
	}
	return (0);
}

/* List alerts newest first through an index. */
int
alert_list(struct store_txn *txn, const struct alert_query *q,
    alert_list_cb cb, void *arg, uint64_t *next)
{
	struct store_cursor	*c;
	enum store_db		 db;
	uint8_t			 seek[16];
	size_t			 plen, klen, vlen, n = 0;
	const void		*k, *v;
	const uint8_t		*kb;
	struct alert		*a;
	uint64_t		 id, before, last = 0;
	int			 rc, more = 0;

	*next = 0;
	before = q->aq_before == 0 ? UINT64_MAX : q->aq_before - 1;
	if (q->aq_before == 1)
		return (0);
	if (q->aq_search != 0) {
		db = STORE_ALERTS_BY_SEARCH;
		util_be64_put(seek, q->aq_search);
		util_be64_put(seek + 8, before);
		plen = 8;
	} else if (q->aq_state >= 0) {
		db = STORE_ALERTS_BY_STATE;
		seek[0] = (uint8_t)q->aq_state;
		util_be64_put(seek + 1, before);
		plen = 1;
	} else {
		db = STORE_ALERTS;
		util_be64_put(seek, before);
		plen = 0;
	}
	if ((c = store_cursor(txn, db)) == NULL)
		return (-1);
	rc = store_cursor_seek_le(c, seek, plen + 8, &k, &klen, &v, &vlen);
	for (; rc == 0; rc = store_cursor_prev(c, &k, &klen, &v, &vlen)) {
		kb = k;
		if (klen != plen + 8 || memcmp(kb, seek, plen) != 0)
			break;
		id = util_be64_get(kb + plen);
		if (db == STORE_ALERTS) {
			if ((a = alert_parse(v, vlen)) == NULL)
				continue;
		} else if (alert_get(txn, id, &a) != 0)
			continue;
		if (q->aq_state >= 0 && (int)a->a_state != q->aq_state) {
			alert_free(a);
			continue;
		}
		if (n == q->aq_limit) {
			alert_free(a);
			more = 1;
			break;
		}
		cb(arg, a);
		alert_free(a);
		n++;
		last = id;
	}
	store_cursor_free(c);
	if (rc == -1)
		return (-1);
	*next = more ? last : 0;
	return ((int)n);
}

/* Name of a state. */
const char *
alert_state_name(enum alert_state st)
{
	if ((int)st < 0 || st >= ALERT_NSTATES)
		return ("unknown");
	return (alert_state_names[st]);
}

/* State from its name; 0 or -1. */
int
alert_state_parse(const char *name, enum alert_state *st)
{
	int	 i;

	for (i = 0; i < ALERT_NSTATES; i++) {
		if (strcmp(name, alert_state_names[i]) == 0) {
			*st = (enum alert_state)i;
			return (0);
		}
	}
	return (-1);
}

/* Name of a resolution (NULL for none). */
const char *
alert_resolution_name(enum alert_resolution r)
{
	switch (r) {
	case RESOLUTION_NOT_AN_ISSUE:
		return ("not_an_issue");
	case RESOLUTION_ACTION_TAKEN:
		return ("action_taken");
	case RESOLUTION_TOO_OLD:
		return ("too_old");
	default:
		return (NULL);
	}
}
