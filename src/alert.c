/*
 * alert.c -- alerts: made from records, stored with their indexes, read
 * back and listed, written as the JSON of CONTRACT.md 4.
 *
 * Stored form (STORE_ALERTS, key be64 id): a JSON object with times in ms
 * and the content inline.  Indexes: STORE_ALERTS_BY_SEARCH (be64 search |
 * be64 id) and STORE_ALERTS_BY_STATE (u8 state | be64 id), both with empty
 * values, so listings walk an index and never scan all alerts.
 *
 * STORE_ALERT_INDEX holds the other indexes, keyed by a kind byte; values
 * are empty except for counters:
 *
 *	'a' | assignee | 0x00 | be64 id	by assignee ("" when unassigned)
 *	'p' | priority | 0x00 | be64 id	by priority
 *	'e' | u8 escalated | be64 id		by escalation (0 or 1)
 *	'u' | be64 search | be64 updated ms | be64 id
 *						unresolved alerts, oldest
 *						change first (autoclose)
 *	'n' | kind | key -> be64 count		how many entries each index
 *						key has: kind 's' (state
 *						name), 'S' (be64 search), 'a',
 *						'p', 'e' (as above)
 *
 * Strings in keys are cut at ALERT_IX_STRMAX bytes (LMDB keys are short);
 * a listing checks the full value on each alert, so a cut only widens the
 * walk.  Every entry and counter changes in the transaction that writes
 * the alert (alert_insert, alert_update).  STORE_META "alert_index" holds
 * the layout's version (alert_reindex).
 *
 * The log (STORE_ALERT_LOG): be64 alert | be64 seq -> entry JSON, seq from
 * the "alert_log" counter, so an alert's entries read in order.
 */
#include "autoconf.h"

#include <ctype.h>
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
	jgen_str(g, "silenced");
	if (a->a_silenced != 0)
		jgen_int(g, (int64_t)a->a_silenced);
	else
		jgen_null(g);
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
	if (json_int(json_get(j, "silenced"), &v) && v > 0)
		a->a_silenced = (uint64_t)v;
	json_free(j);
	return (a);
fail:
	json_free(j);
	alert_free(a);
	return (NULL);
}

#define ALERT_IX_STRMAX		200
#define ALERT_IX_VERSION	"1"
#define ALERT_IX_MAX		8	/* entries of one alert */
#define ALERT_IX_KEYMAX		(1 + ALERT_IX_STRMAX + 1 + 8 + 8)

/* One index entry of an alert, and the counter it adds to (if any). */
struct alert_ix {
	enum store_db	 x_db;
	uint8_t		 x_key[ALERT_IX_KEYMAX];
	size_t		 x_klen;
	uint8_t		 x_ctr[ALERT_IX_KEYMAX];
	size_t		 x_clen;		/* 0: no counter */
};

/* An entry kind | str | 0x00 | be64 id, counting under 'n' kind str. */
static void
alert_ix_str(struct alert_ix *x, char kind, const char *str, uint64_t id)
{
	size_t	 n = str != NULL ? strlen(str) : 0;

	if (n > ALERT_IX_STRMAX)
		n = ALERT_IX_STRMAX;
	x->x_db = STORE_ALERT_INDEX;
	x->x_key[0] = (uint8_t)kind;
	if (n > 0)
		memcpy(x->x_key + 1, str, n);
	x->x_key[1 + n] = 0;
	util_be64_put(x->x_key + 2 + n, id);
	x->x_klen = 2 + n + 8;
	x->x_ctr[0] = 'n';
	x->x_ctr[1] = (uint8_t)kind;
	if (n > 0)
		memcpy(x->x_ctr + 2, str, n);
	x->x_clen = 2 + n;
}

/* The index entries of a; returns how many. */
static size_t
alert_ix_of(const struct alert *a, struct alert_ix *x)
{
	const char	*stn = alert_state_name(a->a_state);
	size_t		 n = 0, sl = strlen(stn);

	memset(x, 0, ALERT_IX_MAX * sizeof *x);
	x[n].x_db = STORE_ALERTS_BY_SEARCH;
	util_be64_put(x[n].x_key, a->a_search_id);
	util_be64_put(x[n].x_key + 8, a->a_id);
	x[n].x_klen = 16;
	x[n].x_ctr[0] = 'n';
	x[n].x_ctr[1] = 'S';
	util_be64_put(x[n].x_ctr + 2, a->a_search_id);
	x[n].x_clen = 10;
	n++;
	x[n].x_db = STORE_ALERTS_BY_STATE;
	x[n].x_key[0] = (uint8_t)a->a_state;
	util_be64_put(x[n].x_key + 1, a->a_id);
	x[n].x_klen = 9;
	x[n].x_ctr[0] = 'n';
	x[n].x_ctr[1] = ALERT_COUNT_STATE;
	memcpy(x[n].x_ctr + 2, stn, sl);
	x[n].x_clen = 2 + sl;
	n++;
	alert_ix_str(&x[n++], ALERT_COUNT_ASSIGNEE, a->a_assignee, a->a_id);
	alert_ix_str(&x[n++], ALERT_COUNT_PRIORITY, a->a_priority, a->a_id);
	x[n].x_db = STORE_ALERT_INDEX;
	x[n].x_key[0] = 'e';
	x[n].x_key[1] = a->a_escalated ? 1 : 0;
	util_be64_put(x[n].x_key + 2, a->a_id);
	x[n].x_klen = 10;
	x[n].x_ctr[0] = 'n';
	x[n].x_ctr[1] = 'e';
	x[n].x_ctr[2] = a->a_escalated ? 1 : 0;
	x[n].x_clen = 3;
	n++;
	if (a->a_state != ALERT_RESOLVED) {
		x[n].x_db = STORE_ALERT_INDEX;
		x[n].x_key[0] = 'u';
		util_be64_put(x[n].x_key + 1, a->a_search_id);
		util_be64_put(x[n].x_key + 9, (uint64_t)(a->a_updated < 0 ? 0 :
		    a->a_updated));
		util_be64_put(x[n].x_key + 17, a->a_id);
		x[n].x_klen = 25;
		n++;
	}
	return (n);
}

/* Add delta (+1 or -1) to a counter. */
static int
alert_ctr_add(struct store_txn *txn, const uint8_t *k, size_t klen, int delta)
{
	const void	*v;
	size_t		 vlen;
	uint64_t	 n = 0;
	uint8_t		 buf[8];
	int		 rc;

	if ((rc = store_get(txn, STORE_ALERT_INDEX, k, klen, &v, &vlen)) == -1)
		return (-1);
	if (rc == 0 && vlen == 8)
		n = util_be64_get(v);
	if (delta < 0 && n == 0)
		return (0);
	n = delta < 0 ? n - 1 : n + 1;
	if (n == 0)
		return (store_del(txn, STORE_ALERT_INDEX, k, klen));
	util_be64_put(buf, n);
	return (store_put(txn, STORE_ALERT_INDEX, k, klen, buf, sizeof buf));
}

/* Whether entry x is among the n entries of set. */
static int
alert_ix_has(const struct alert_ix *set, size_t n, const struct alert_ix *x)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (set[i].x_db == x->x_db && set[i].x_klen == x->x_klen &&
		    memcmp(set[i].x_key, x->x_key, x->x_klen) == 0)
			return (1);
	return (0);
}

/*
 * Move the index entries of an alert from the set old (nold, may be 0)
 * to the set new: what is in both stays.
 */
static int
alert_ix_move(struct store_txn *txn, const struct alert_ix *old, size_t nold,
    const struct alert_ix *new, size_t nnew)
{
	size_t	 i;

	for (i = 0; i < nold; i++) {
		if (alert_ix_has(new, nnew, &old[i]))
			continue;
		if (store_del(txn, old[i].x_db, old[i].x_key,
		    old[i].x_klen) == -1)
			return (-1);
		if (old[i].x_clen > 0 && alert_ctr_add(txn, old[i].x_ctr,
		    old[i].x_clen, -1) == -1)
			return (-1);
	}
	for (i = 0; i < nnew; i++) {
		if (alert_ix_has(old, nold, &new[i]))
			continue;
		if (store_put(txn, new[i].x_db, new[i].x_key, new[i].x_klen,
		    "", 0) == -1)
			return (-1);
		if (new[i].x_clen > 0 && alert_ctr_add(txn, new[i].x_ctr,
		    new[i].x_clen, 1) == -1)
			return (-1);
	}
	return (0);
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
	struct alert_ix	 x[ALERT_IX_MAX];
	size_t		 n;

	if ((a->a_id = store_next_id(txn, "alert")) == 0)
		return (-1);
	if (alert_write(txn, a) == -1)
		return (-1);
	n = alert_ix_of(a, x);
	return (alert_ix_move(txn, NULL, 0, x, n));
}

/* Rewrite an existing alert, moving the index entries that changed. */
int
alert_update(struct store_txn *txn, const struct alert *a,
    enum alert_state old)
{
	struct alert_ix	 xo[ALERT_IX_MAX], xn[ALERT_IX_MAX];
	struct alert	*prev = NULL, tmp;
	size_t		 no, nn;
	int		 rc;

	if ((rc = alert_get(txn, a->a_id, &prev)) == -1)
		return (-1);
	if (rc == 1 || prev == NULL) {
		/* Not stored yet: index from the state we are told. */
		tmp = *a;
		tmp.a_state = old;
		no = alert_ix_of(&tmp, xo);
	} else {
		no = alert_ix_of(prev, xo);
		alert_free(prev);
	}
	nn = alert_ix_of(a, xn);
	if (alert_ix_move(txn, xo, no, xn, nn) == -1)
		return (-1);
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

/* Case-insensitive: whether needle occurs in hay (hlen bytes). */
static int
alert_has_text(const char *hay, size_t hlen, const char *needle)
{
	size_t	 n = strlen(needle), i, k;

	if (n == 0)
		return (1);
	for (i = 0; i + n <= hlen; i++) {
		for (k = 0; k < n; k++)
			if (tolower((unsigned char)hay[i + k]) !=
			    tolower((unsigned char)needle[k]))
				break;
		if (k == n)
			return (1);
	}
	return (0);
}

/* Whether a meets every condition of q. */
static int
alert_matches(const struct alert_query *q, const struct alert *a)
{
	if (q->aq_state >= 0 && (int)a->a_state != q->aq_state)
		return (0);
	if (q->aq_search != 0 && a->a_search_id != q->aq_search)
		return (0);
	if (q->aq_assignee != NULL && strcmp(q->aq_assignee,
	    a->a_assignee != NULL ? a->a_assignee : "") != 0)
		return (0);
	if (q->aq_priority != NULL && (a->a_priority == NULL ||
	    strcmp(q->aq_priority, a->a_priority) != 0))
		return (0);
	if (q->aq_escalated == ALERT_ESC_YES && !a->a_escalated)
		return (0);
	if (q->aq_escalated == ALERT_ESC_NO && a->a_escalated)
		return (0);
	if (q->aq_from != 0 && a->a_time < q->aq_from)
		return (0);
	if (q->aq_to != 0 && a->a_time >= q->aq_to)
		return (0);
	if (q->aq_text != NULL && !alert_has_text(a->a_content,
	    a->a_content_len, q->aq_text))
		return (0);
	if (q->aq_match != NULL && !q->aq_match(q->aq_match_arg, a))
		return (0);
	return (1);
}

/* A counter's value by its key. */
static uint64_t
alert_ctr_get(struct store_txn *txn, const uint8_t *k, size_t klen)
{
	const void	*v;
	size_t		 vlen;

	if (store_get(txn, STORE_ALERT_INDEX, k, klen, &v, &vlen) == 0 &&
	    vlen == 8)
		return (util_be64_get(v));
	return (0);
}

/* The walk: one database, a key prefix, entries prefix | be64 id. */
struct alert_walk {
	enum store_db	 w_db;
	uint8_t		 w_prefix[ALERT_IX_KEYMAX];
	size_t		 w_plen;
	uint64_t	 w_size;	/* entries (from the counter) */
};

/* Pick the index with the fewest entries among those q names. */
static void
alert_walk_pick(struct store_txn *txn, const struct alert_query *q,
    struct alert_walk *w)
{
	struct alert_ix	 x;
	struct alert_walk c;
	const char	*stn;
	int		 i;

	memset(w, 0, sizeof *w);
	w->w_db = STORE_ALERTS;
	w->w_size = UINT64_MAX;
	for (i = 0; i < 5; i++) {
		memset(&c, 0, sizeof c);
		memset(&x, 0, sizeof x);
		switch (i) {
		case 0:
			if (q->aq_search == 0)
				continue;
			c.w_db = STORE_ALERTS_BY_SEARCH;
			util_be64_put(c.w_prefix, q->aq_search);
			c.w_plen = 8;
			x.x_ctr[0] = 'n';
			x.x_ctr[1] = 'S';
			util_be64_put(x.x_ctr + 2, q->aq_search);
			x.x_clen = 10;
			break;
		case 1:
			if (q->aq_state < 0 || q->aq_state >= ALERT_NSTATES)
				continue;
			c.w_db = STORE_ALERTS_BY_STATE;
			c.w_prefix[0] = (uint8_t)q->aq_state;
			c.w_plen = 1;
			stn = alert_state_name((enum alert_state)q->aq_state);
			x.x_ctr[0] = 'n';
			x.x_ctr[1] = ALERT_COUNT_STATE;
			memcpy(x.x_ctr + 2, stn, strlen(stn));
			x.x_clen = 2 + strlen(stn);
			break;
		case 2:
		case 3:
			if (i == 2 && q->aq_assignee == NULL)
				continue;
			if (i == 3 && q->aq_priority == NULL)
				continue;
			alert_ix_str(&x, i == 2 ? ALERT_COUNT_ASSIGNEE :
			    ALERT_COUNT_PRIORITY, i == 2 ? q->aq_assignee :
			    q->aq_priority, 0);
			c.w_db = STORE_ALERT_INDEX;
			c.w_plen = x.x_klen - 8;
			memcpy(c.w_prefix, x.x_key, c.w_plen);
			break;
		case 4:
			if (q->aq_escalated == ALERT_ESC_ANY)
				continue;
			c.w_db = STORE_ALERT_INDEX;
			c.w_prefix[0] = 'e';
			c.w_prefix[1] = q->aq_escalated == ALERT_ESC_YES;
			c.w_plen = 2;
			x.x_ctr[0] = 'n';
			x.x_ctr[1] = 'e';
			x.x_ctr[2] = c.w_prefix[1];
			x.x_clen = 3;
			break;
		}
		c.w_size = alert_ctr_get(txn, x.x_ctr, x.x_clen);
		if (w->w_db == STORE_ALERTS || c.w_size < w->w_size)
			*w = c;
	}
}

/* List alerts newest first through the most selective index. */
int
alert_list(struct store_txn *txn, const struct alert_query *q,
    alert_list_cb cb, void *arg, uint64_t *next)
{
	struct store_cursor	*c;
	struct alert_walk	 w;
	uint8_t			 seek[ALERT_IX_KEYMAX];
	size_t			 klen, vlen, n = 0, seen = 0;
	const void		*k, *v;
	const uint8_t		*kb;
	struct alert		*a;
	uint64_t		 id, before, last = 0;
	int			 rc, more = 0;

	*next = 0;
	if (q->aq_before == 1)
		return (0);
	before = q->aq_before == 0 ? UINT64_MAX : q->aq_before - 1;
	alert_walk_pick(txn, q, &w);
	memcpy(seek, w.w_prefix, w.w_plen);
	util_be64_put(seek + w.w_plen, before);
	if ((c = store_cursor(txn, w.w_db)) == NULL)
		return (-1);
	rc = store_cursor_seek_le(c, seek, w.w_plen + 8, &k, &klen, &v, &vlen);
	for (; rc == 0; rc = store_cursor_prev(c, &k, &klen, &v, &vlen)) {
		kb = k;
		if (klen != w.w_plen + 8 || memcmp(kb, seek, w.w_plen) != 0)
			break;
		id = util_be64_get(kb + w.w_plen);
		if (q->aq_max_scan > 0 && seen == q->aq_max_scan) {
			/* Examined enough: the caller continues below. */
			more = 1;
			break;
		}
		seen++;
		if (w.w_db == STORE_ALERTS) {
			if ((a = alert_parse(v, vlen)) == NULL)
				continue;
		} else if (alert_get(txn, id, &a) != 0)
			continue;
		if (!alert_matches(q, a)) {
			alert_free(a);
			last = id;
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
	*next = more && last != 0 ? last : 0;
	return ((int)n);
}

/* Counter kind / key. */
uint64_t
alert_count(struct store_txn *txn, int kind, const char *key)
{
	struct alert_ix	 x;

	alert_ix_str(&x, (char)kind, key, 0);
	return (alert_ctr_get(txn, x.x_ctr, x.x_clen));
}

/* Every key of one counter kind. */
int
alert_counts(struct store_txn *txn, int kind,
    void (*cb)(void *, const char *, uint64_t), void *arg)
{
	struct store_cursor	*c;
	uint8_t			 pre[2];
	const void		*k, *v;
	size_t			 klen, vlen;
	char			 name[ALERT_IX_STRMAX + 1];
	int			 rc;

	pre[0] = 'n';
	pre[1] = (uint8_t)kind;
	if ((c = store_cursor(txn, STORE_ALERT_INDEX)) == NULL)
		return (-1);
	for (rc = store_cursor_seek(c, pre, 2, &k, &klen, &v, &vlen); rc == 0;
	    rc = store_cursor_next(c, &k, &klen, &v, &vlen)) {
		if (klen < 2 || memcmp(k, pre, 2) != 0)
			break;
		if (vlen != 8 || klen - 2 > ALERT_IX_STRMAX)
			continue;
		memcpy(name, (const uint8_t *)k + 2, klen - 2);
		name[klen - 2] = '\0';
		if (util_be64_get(v) > 0)
			cb(arg, name, util_be64_get(v));
	}
	store_cursor_free(c);
	return (rc == -1 ? -1 : 0);
}

/* Unresolved alerts of a search idle since before, oldest first. */
int
alert_idle(struct store_txn *txn, uint64_t search, int64_t before,
    uint64_t *ids, size_t max)
{
	struct store_cursor	*c;
	uint8_t			 seek[17];
	const void		*k, *v;
	const uint8_t		*kb;
	size_t			 klen, vlen, n = 0;
	int			 rc;

	seek[0] = 'u';
	util_be64_put(seek + 1, search);
	util_be64_put(seek + 9, 0);
	if ((c = store_cursor(txn, STORE_ALERT_INDEX)) == NULL)
		return (-1);
	for (rc = store_cursor_seek(c, seek, sizeof seek, &k, &klen, &v,
	    &vlen); rc == 0 && n < max; rc = store_cursor_next(c, &k, &klen,
	    &v, &vlen)) {
		kb = k;
		if (klen != 25 || memcmp(kb, seek, 9) != 0)
			break;
		if ((int64_t)util_be64_get(kb + 9) >= before)
			break;
		ids[n++] = util_be64_get(kb + 17);
	}
	store_cursor_free(c);
	return (rc == -1 ? -1 : (int)n);
}

/* Rebuild the secondary indexes when their layout is not there. */
long
alert_reindex(struct store_txn *txn)
{
	struct store_cursor	*c;
	struct alert_ix		 x[ALERT_IX_MAX];
	struct alert		*a;
	const void		*k, *v;
	size_t			 klen, vlen, n;
	long			 count = 0;
	int			 rc;

	if (store_get(txn, STORE_META, "alert_index", 11, &v, &vlen) == 0 &&
	    vlen == strlen(ALERT_IX_VERSION) &&
	    memcmp(v, ALERT_IX_VERSION, vlen) == 0)
		return (0);
	/* Start clean: the secondary indexes, the counters. */
	if ((c = store_cursor(txn, STORE_ALERT_INDEX)) == NULL)
		return (-1);
	while ((rc = store_cursor_seek(c, NULL, 0, &k, &klen, &v,
	    &vlen)) == 0)
		if (store_cursor_del(c) == -1) {
			rc = -1;
			break;
		}
	store_cursor_free(c);
	if (rc == -1)
		return (-1);
	if ((c = store_cursor(txn, STORE_ALERTS)) == NULL)
		return (-1);
	for (rc = store_cursor_seek(c, NULL, 0, &k, &klen, &v, &vlen);
	    rc == 0; rc = store_cursor_next(c, &k, &klen, &v, &vlen)) {
		if ((a = alert_parse(v, vlen)) == NULL)
			continue;
		n = alert_ix_of(a, x);
		/* The two old indexes may hold these already: put again. */
		if (alert_ix_move(txn, NULL, 0, x, n) == -1) {
			alert_free(a);
			rc = -1;
			break;
		}
		alert_free(a);
		count++;
	}
	store_cursor_free(c);
	if (rc == -1)
		return (-1);
	if (store_put(txn, STORE_META, "alert_index", 11, ALERT_IX_VERSION,
	    strlen(ALERT_IX_VERSION)) == -1)
		return (-1);
	return (count);
}

/* Write {"from": x, "to": y} of a string member when it changed. */
static void
alert_log_str(yajl_gen g, int *open, const char *name, const char *from,
    const char *to)
{
	if ((from == NULL && to == NULL) || (from != NULL && to != NULL &&
	    strcmp(from, to) == 0))
		return;
	if (!*open) {
		jgen_str(g, "changes");
		yajl_gen_map_open(g);
		*open = 1;
	}
	jgen_str(g, name);
	yajl_gen_map_open(g);
	jgen_kstr(g, "from", from);
	jgen_kstr(g, "to", to);
	yajl_gen_map_close(g);
}

/* Add a log entry. */
int
alert_log_add(struct store_txn *txn, const struct alert *from,
    const struct alert *to, int64_t now, const char *actor,
    const char *action, const char *note, const char *xkey, const char *xval)
{
	yajl_gen	 g;
	struct buf	 b = BUF_INIT;
	uint8_t		 key[16];
	uint64_t	 seq;
	int		 open = 0, rc;

	if ((seq = store_next_id(txn, "alert_log")) == 0)
		return (-1);
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_kint(g, "seq", (int64_t)seq);
	jgen_ktime(g, "time", now);
	jgen_kstr(g, "actor", actor);
	jgen_kstr(g, "action", action);
	alert_log_str(g, &open, "state", alert_state_name(from->a_state),
	    alert_state_name(to->a_state));
	alert_log_str(g, &open, "resolution",
	    from->a_state == ALERT_RESOLVED ?
	    alert_resolution_name(from->a_resolution) : NULL,
	    to->a_state == ALERT_RESOLVED ?
	    alert_resolution_name(to->a_resolution) : NULL);
	if (from->a_escalated != to->a_escalated) {
		if (!open) {
			jgen_str(g, "changes");
			yajl_gen_map_open(g);
			open = 1;
		}
		jgen_str(g, "escalated");
		yajl_gen_map_open(g);
		jgen_kbool(g, "from", from->a_escalated);
		jgen_kbool(g, "to", to->a_escalated);
		yajl_gen_map_close(g);
	}
	alert_log_str(g, &open, "assignee", from->a_assignee, to->a_assignee);
	if (open)
		yajl_gen_map_close(g);
	jgen_kstr(g, "note", note);
	if (xkey != NULL)
		jgen_kstr(g, xkey, xval);
	yajl_gen_map_close(g);
	jgen_take(g, &b);
	yajl_gen_free(g);
	util_be64_put(key, to->a_id);
	util_be64_put(key + 8, seq);
	rc = store_put(txn, STORE_ALERT_LOG, key, sizeof key, b.b_data,
	    b.b_len);
	buf_free(&b);
	return (rc);
}

/* The log of an alert, oldest first. */
int
alert_log_list(struct store_txn *txn, uint64_t id, uint64_t after,
    size_t limit, void (*cb)(void *, const char *, size_t), void *arg,
    uint64_t *next)
{
	struct store_cursor	*c;
	uint8_t			 seek[16];
	const void		*k, *v;
	const uint8_t		*kb;
	size_t			 klen, vlen, n = 0;
	uint64_t		 last = 0;
	int			 rc, more = 0;

	*next = 0;
	if (after == UINT64_MAX)
		return (0);
	util_be64_put(seek, id);
	util_be64_put(seek + 8, after + 1);
	if ((c = store_cursor(txn, STORE_ALERT_LOG)) == NULL)
		return (-1);
	for (rc = store_cursor_seek(c, seek, sizeof seek, &k, &klen, &v,
	    &vlen); rc == 0; rc = store_cursor_next(c, &k, &klen, &v, &vlen)) {
		kb = k;
		if (klen != 16 || memcmp(kb, seek, 8) != 0)
			break;
		if (n == limit) {
			more = 1;
			break;
		}
		cb(arg, v, vlen);
		last = util_be64_get(kb + 8);
		n++;
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
