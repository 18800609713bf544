/*
 * target_webhook.c -- the webhook target: POST the event as JSON, with an
 * Idempotency-Key (the event id) and an HMAC-SHA256 signature of the body
 * ("X-411-Signature: sha256=HEX") when the target has a secret.
 *
 * "format alertmanager" sends the body of Alertmanager's webhook (version
 * 4) instead, so that receivers written for Alertmanager work unchanged:
 * one group per search (groupLabels {search_id}), commonLabels and
 * commonAnnotations what all its alerts share, externalURL the target's
 * external_url or 411d's base_url (producer.base_url).  A search event
 * is one alert for the search, labelled four11_event="search.failed",
 * firing on search.failed and resolved on search.recovered.
 *
 * "batch N" (N > 1) gathers the jobs of a target (in the Alertmanager
 * format, of a target and a search) for up to batch_wait (1s) or N jobs,
 * and sends them in one request: {"events": [...]} (or one Alertmanager
 * body with every alert), Idempotency-Key the SHA-256 of the event ids;
 * the answer ends every delivery of the batch alike.
 *
 * "send_resolved no" skips alert.resolved and search.recovered jobs
 * (result "skipped"); the default, yes, sends them.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "buf.h"
#include "config.h"
#include "hmap.h"
#include "json.h"
#include "log.h"
#include "notify.h"
#include "util.h"
#include "xmalloc.h"

#define WEBHOOK_ERR_BODY	200	/* bytes of an error body quoted */
#define WEBHOOK_ZERO_TIME	"0001-01-01T00:00:00Z"

static const char *const webhook_opts[] = {
	"url", "secret", "batch", "batch_wait", "timeout", "format",
	"ca_file", "send_resolved", "external_url", NULL
};
static const char *const webhook_required[] = { "url", NULL };

static int
webhook_check(const struct config_target *ct, char *msg, size_t len)
{
	const char	*v, *errstr;
	uint64_t	 n;
	int64_t		 ms;

	if (notify_check_opts(ct, webhook_opts, webhook_required, msg,
	    len) == -1)
		return (-1);
	if ((v = config_target_opt(ct, "format")) != NULL &&
	    strcmp(v, "json") != 0 && strcmp(v, "alertmanager") != 0) {
		snprintf(msg, len, "format: want json or alertmanager, not "
		    "\"%s\"", v);
		return (-1);
	}
	if ((v = config_target_opt(ct, "batch")) != NULL &&
	    (util_parse_uint(v, 10000, &n) == -1 || n < 1)) {
		snprintf(msg, len, "batch: want a number from 1 to 10000, "
		    "not \"%s\"", v);
		return (-1);
	}
	if ((v = config_target_opt(ct, "batch_wait")) != NULL &&
	    (util_parse_duration_ms(v, &ms, &errstr) == -1 || ms <= 0)) {
		snprintf(msg, len, "batch_wait: bad duration \"%s\"", v);
		return (-1);
	}
	if ((v = config_target_opt(ct, "secret")) != NULL && *v == '\0') {
		snprintf(msg, len, "secret: empty");
		return (-1);
	}
	if ((v = config_target_opt(ct, "send_resolved")) != NULL &&
	    strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) {
		snprintf(msg, len, "send_resolved: want yes or no, not \"%s\"",
		    v);
		return (-1);
	}
	if ((v = config_target_opt(ct, "external_url")) != NULL &&
	    strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
		snprintf(msg, len, "external_url: want http or https, not "
		    "\"%s\"", v);
		return (-1);
	}
	return (0);
}

/* A JSON value as label text: strings as they are, the rest as JSON. */
static char *
webhook_label_text(const struct json *v)
{
	if (v->j_type == JSON_STRING)
		return (xstrdup(v->j_u.str.s));
	return (json_to_string(v, NULL));
}

/* Set a string member of o (when v is not NULL). */
static void
webhook_set(struct json *o, const char *k, const char *v)
{
	if (v != NULL)
		json_set(o, k, json_new_str(v, strlen(v)));
}

/* True for search.failed and search.recovered. */
static int
webhook_search_event(const char *type)
{
	return (type != NULL && (strcmp(type, "search.failed") == 0 ||
	    strcmp(type, "search.recovered") == 0));
}

/*
 * One alert of an Alertmanager body, worked out before it is written: the
 * common labels and annotations of a body need all of them.
 */
struct am_alert {
	const char	*aa_status;	/* firing | resolved */
	struct json	*aa_labels;
	struct json	*aa_annotations;
	const char	*aa_starts;	/* RFC 3339 */
	const char	*aa_ends;
	const char	*aa_generator;
	char		 aa_fp[17];
};

/*
 * Fill aa for alert a of payload p (a is NULL for a search event: then
 * one alert stands for the search, labelled four11_event="search.failed"
 * both when it fails and when it recovers, so that the recovery resolves
 * the same alert).
 */
static void
webhook_am_alert(struct am_alert *aa, const struct json *p,
    const struct json *a)
{
	const struct json	*content = NULL, *v;
	const char		*s, *type, *hash;
	struct buf		 canon = BUF_INIT;
	char			*t;
	size_t			 i;
	int64_t			 id = 0;

	memset(aa, 0, sizeof *aa);
	type = json_str(json_get(p, "event_type"));
	aa->aa_status = "firing";
	if ((type != NULL && (strcmp(type, "alert.resolved") == 0 ||
	    strcmp(type, "search.recovered") == 0)) || (a != NULL &&
	    (s = json_str(json_get(a, "state"))) != NULL &&
	    strcmp(s, "resolved") == 0))
		aa->aa_status = "resolved";

	aa->aa_labels = json_new(JSON_OBJECT);
	s = notify_str(p, "search.name");
	webhook_set(aa->aa_labels, "alertname", s != NULL ? s : "411");
	if ((v = json_get(json_get(p, "search"), "id")) != NULL &&
	    json_int(v, &id)) {
		t = xprintf("%lld", (long long)id);
		webhook_set(aa->aa_labels, "search_id", t);
		free(t);
	}
	if ((s = json_str(json_get(a, "priority"))) != NULL ||
	    (s = notify_str(p, "search.priority")) != NULL) {
		webhook_set(aa->aa_labels, "priority", s);
		webhook_set(aa->aa_labels, "severity", s);
	}
	webhook_set(aa->aa_labels, "category",
	    notify_str(p, "search.category"));
	if (a == NULL)
		webhook_set(aa->aa_labels, "four11_event", "search.failed");
	else
		content = json_get(a, "content");
	for (i = 0; content != NULL && content->j_type == JSON_OBJECT &&
	    i < content->j_u.obj.n; i++) {
		const char *k = content->j_u.obj.m[i].m_key;

		if (json_get(aa->aa_labels, k) != NULL ||
		    strcmp(k, "four11_event") == 0)
			continue;	/* 411's own labels win */
		t = webhook_label_text(content->j_u.obj.m[i].m_val);
		webhook_set(aa->aa_labels, k, t);
		free(t);
	}

	aa->aa_annotations = json_new(JSON_OBJECT);
	if (a == NULL) {
		if ((s = notify_str(p, "search.name")) != NULL) {
			t = xprintf("search %s failed", s);
			webhook_set(aa->aa_annotations, "summary", t);
			free(t);
		}
		webhook_set(aa->aa_annotations, "description",
		    notify_str(p, "error.message"));
	} else {
		webhook_set(aa->aa_annotations, "summary",
		    notify_str(p, "search.name"));
		if (content != NULL) {
			t = json_to_string(content, NULL);
			webhook_set(aa->aa_annotations, "description", t);
			free(t);
		}
	}
	webhook_set(aa->aa_annotations, "alert_url",
	    notify_str(p, "links.alert"));
	webhook_set(aa->aa_annotations, "source_url",
	    notify_str(p, "links.source"));

	if (a == NULL) {
		if ((aa->aa_starts = notify_str(p, "error.since")) == NULL)
			aa->aa_starts = notify_str(p, "occurred_at");
		if (strcmp(aa->aa_status, "resolved") == 0)
			aa->aa_ends = notify_str(p, "occurred_at");
	} else {
		aa->aa_starts = json_str(json_get(a, "time"));
		if (strcmp(aa->aa_status, "resolved") == 0)
			aa->aa_ends = json_str(json_get(a, "updated"));
	}
	if (aa->aa_starts == NULL)
		aa->aa_starts = WEBHOOK_ZERO_TIME;
	if (aa->aa_ends == NULL)
		aa->aa_ends = WEBHOOK_ZERO_TIME;
	if ((aa->aa_generator = notify_str(p, "links.source")) == NULL &&
	    (aa->aa_generator = notify_str(p, "links.alert")) == NULL)
		aa->aa_generator = "";

	/* Stable: the content hash (16 hex digits, as Alertmanager's). */
	hash = json_str(json_get(a, "content_hash"));
	if (hash != NULL && strncmp(hash, "sha256:", 7) == 0 &&
	    strlen(hash) >= 7 + 16)
		snprintf(aa->aa_fp, sizeof aa->aa_fp, "%.16s", hash + 7);
	else if (a == NULL) {
		/* A search: its PagerDuty dedup key's, whatever it says. */
		(void)json_int(json_get(json_get(p, "search"), "id"), &id);
		buf_printf(&canon, "411/%s/search/%lld",
		    (s = notify_str(p, "producer.instance")) != NULL ? s :
		    "411", (long long)id);
		snprintf(aa->aa_fp, sizeof aa->aa_fp, "%016llx",
		    (unsigned long long)util_hash(canon.b_data, canon.b_len));
		buf_free(&canon);
	} else {
		/* Else the labels', as Alertmanager does it. */
		json_canonical(aa->aa_labels, &canon);
		snprintf(aa->aa_fp, sizeof aa->aa_fp, "%016llx",
		    (unsigned long long)util_hash(canon.b_data, canon.b_len));
		buf_free(&canon);
	}
}

/* Keep in common only the members that other has with the same value. */
static void
webhook_intersect(struct json *common, const struct json *other)
{
	const struct json	*v;
	const char		*a, *b;
	size_t			 i;

	for (i = 0; i < common->j_u.obj.n; ) {
		v = json_get(other, common->j_u.obj.m[i].m_key);
		a = json_str(common->j_u.obj.m[i].m_val);
		b = json_str(v);
		if (a != NULL && b != NULL && strcmp(a, b) == 0) {
			i++;
			continue;
		}
		(void)json_del(common, common->j_u.obj.m[i].m_key);
	}
}

/* Write one worked-out alert. */
static void
webhook_am_gen(yajl_gen g, const struct am_alert *aa)
{
	yajl_gen_map_open(g);
	jgen_kstr(g, "status", aa->aa_status);
	jgen_str(g, "labels");
	json_gen(g, aa->aa_labels);
	jgen_str(g, "annotations");
	json_gen(g, aa->aa_annotations);
	jgen_kstr(g, "startsAt", aa->aa_starts);
	jgen_kstr(g, "endsAt", aa->aa_ends);
	jgen_kstr(g, "generatorURL", aa->aa_generator);
	jgen_kstr(g, "fingerprint", aa->aa_fp);
	yajl_gen_map_close(g);
}

/*
 * The Alertmanager webhook body (version 4) of the payloads of a batch
 * (or of one), for receiver (the target's name).  A batch holds the
 * alerts of one search (webhook_deliver gathers them so): the group is
 * the search, groupLabels {search_id} and groupKey {}:{search_id="ID"}.
 * commonLabels and commonAnnotations are those every alert has with the
 * same value; status is firing while any alert fires; externalURL is
 * external (the target's external_url), else the producer's base_url.
 */
char	*webhook_alertmanager_body(const struct json *const *, size_t,
	    const char *, const char *, size_t *);

char *
webhook_alertmanager_body(const struct json *const *ps, size_t np,
    const char *receiver, const char *external, size_t *lenp)
{
	struct am_alert		*aas = NULL;
	size_t			 naa = 0, cap = 0, i, k;
	yajl_gen		 g;
	struct buf		 b = BUF_INIT, gk = BUF_INIT;
	const struct json	*p, *a, *list;
	struct json		*common, *commona;
	const char		*status = "resolved", *sid;

	/* Room for every alert, and for one standing for a search. */
	for (k = 0; k < np; k++)
		cap += 2 + json_len(json_get(ps[k], "alerts"));
	aas = xcalloc(cap, sizeof *aas);
	for (k = 0; k < np; k++) {
		p = ps[k];
		a = json_get(p, "alert");
		list = json_get(p, "alerts");
		if (a != NULL && a->j_type == JSON_OBJECT)
			webhook_am_alert(&aas[naa++], p, a);
		for (i = 0; i < json_len(list); i++)
			if (json_at(list, i)->j_type == JSON_OBJECT)
				webhook_am_alert(&aas[naa++], p,
				    json_at(list, i));
		if ((a == NULL || a->j_type != JSON_OBJECT) &&
		    json_len(list) == 0 &&
		    webhook_search_event(json_str(json_get(p, "event_type"))))
			webhook_am_alert(&aas[naa++], p, NULL);
	}
	for (i = 0; i < naa; i++)
		if (strcmp(aas[i].aa_status, "firing") == 0)
			status = "firing";
	common = json_new(JSON_OBJECT);
	commona = json_new(JSON_OBJECT);
	if (naa > 0) {
		json_free(common);
		json_free(commona);
		common = json_dup(aas[0].aa_labels);
		commona = json_dup(aas[0].aa_annotations);
		for (i = 1; i < naa; i++) {
			webhook_intersect(common, aas[i].aa_labels);
			webhook_intersect(commona, aas[i].aa_annotations);
		}
	}
	if (external == NULL && np > 0)
		external = notify_str(ps[0], "producer.base_url");
	sid = json_str(json_get(common, "search_id"));
	buf_adds(&gk, "{}:{");
	if (sid != NULL)
		buf_printf(&gk, "search_id=\"%s\"", sid);
	buf_addc(&gk, '}');

	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_kstr(g, "version", "4");
	jgen_kstr(g, "groupKey", gk.b_data);
	jgen_kint(g, "truncatedAlerts", 0);
	jgen_kstr(g, "status", status);
	jgen_kstr(g, "receiver", receiver);
	jgen_str(g, "groupLabels");
	yajl_gen_map_open(g);
	if (sid != NULL)
		jgen_kstr(g, "search_id", sid);
	yajl_gen_map_close(g);
	jgen_str(g, "commonLabels");
	json_gen(g, common);
	jgen_str(g, "commonAnnotations");
	json_gen(g, commona);
	jgen_kstr(g, "externalURL", external != NULL ? external : "");
	jgen_str(g, "alerts");
	yajl_gen_array_open(g);
	for (i = 0; i < naa; i++) {
		webhook_am_gen(g, &aas[i]);
		json_free(aas[i].aa_labels);
		json_free(aas[i].aa_annotations);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	jgen_take(g, &b);
	yajl_gen_free(g);
	json_free(common);
	json_free(commona);
	buf_free(&gk);
	free(aas);
	return (buf_steal(&b, lenp));
}

/*
 * Batches: one per target with batch > 1, while it gathers.  A delivery's
 * state (struct wb_item) says where it is, so that a delivery freed by
 * the core (at the end, or at a stop) leaves its batch cleanly.
 */
struct wb_batch;

struct wb_item {
	struct delivery		*i_d;
	struct wb_batch		*i_batch;	/* gathering in */
	struct wb_sent		*i_sent;	/* sent in */
	size_t			 i_slot;
};

struct wb_batch {
	char			*b_name;
	struct wb_item		**b_items;
	size_t			 b_n, b_max;
	struct event		*b_timer;
};

struct wb_sent {
	struct wb_item		**s_items;
	size_t			 s_n;
	size_t			 s_left;	/* items still in it */
};

static struct hmap	*wb_batches;

static void	webhook_send(struct wb_item **, size_t, int);

static void
wb_sent_drop(struct wb_sent *st, size_t slot)
{
	st->s_items[slot] = NULL;
	if (--st->s_left == 0) {
		free(st->s_items);
		free(st);
	}
}

static void
wb_batch_free(struct wb_batch *b)
{
	hmap_del(wb_batches, b->b_name, strlen(b->b_name));
	if (hmap_count(wb_batches) == 0) {
		hmap_free(wb_batches);
		wb_batches = NULL;
	}
	event_free(b->b_timer);
	free(b->b_items);
	free(b->b_name);
	free(b);
}

/* The core frees a delivery: out of its batch. */
static void
wb_item_free(void *arg)
{
	struct wb_item	*it = arg;
	struct wb_batch	*b = it->i_batch;
	size_t		 k;

	if (b != NULL) {
		for (k = 0; k < b->b_n; k++)
			if (b->b_items[k] == it)
				break;
		if (k < b->b_n) {
			b->b_items[k] = b->b_items[--b->b_n];
			if (b->b_n == 0)
				wb_batch_free(b);
		}
	}
	if (it->i_sent != NULL)
		wb_sent_drop(it->i_sent, it->i_slot);
	free(it);
}

/* Send what a batch gathered. */
static void
wb_flush(struct wb_batch *b)
{
	struct wb_item	**items = b->b_items;
	size_t		  n = b->b_n, k;

	for (k = 0; k < n; k++)
		items[k]->i_batch = NULL;
	b->b_items = NULL;
	b->b_n = 0;
	wb_batch_free(b);
	webhook_send(items, n, 1);
	free(items);
}

static void
wb_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	wb_flush(arg);
}

static void
webhook_resp(struct delivery *d, const struct notify_resp *nr, void *arg)
{
	struct wb_sent		*st = arg;
	struct wb_item		*it;
	enum delivery_result	 res;
	char			*err = NULL;
	size_t			 k, n;

	res = notify_http_verdict(nr);
	if (res != DELIVERY_OK) {
		if (nr->nr_error != NULL)
			err = xprintf("%s", nr->nr_error);
		else
			err = xprintf("HTTP %ld: %.*s", nr->nr_status,
			    (int)(nr->nr_len < WEBHOOK_ERR_BODY ? nr->nr_len :
			    WEBHOOK_ERR_BODY), nr->nr_body);
	}
	if (st == NULL) {
		delivery_done(d, res, NULL, err, nr->nr_retry_after);
		free(err);
		return;
	}
	/* Every delivery of the batch alike; each may be freed on the way. */
	st->s_left++;		/* hold st while walking */
	n = st->s_n;
	for (k = 0; k < n; k++) {
		if ((it = st->s_items[k]) == NULL)
			continue;
		it->i_sent = NULL;
		wb_sent_drop(st, k);
		delivery_done(it->i_d, res, NULL, err, nr->nr_retry_after);
	}
	st->s_left--;
	if (st->s_left == 0) {
		free(st->s_items);
		free(st);
	}
	free(err);
}

/* One request for n deliveries: a batch, or one plain delivery. */
static void
webhook_send(struct wb_item **items, size_t n, int batched)
{
	struct delivery		*d = items[0]->i_d;
	const struct json	**ps;
	struct wb_sent		*st = NULL;
	struct buf		 b = BUF_INIT, ids = BUF_INIT;
	const char		*fmt, *secret, *hdr[8];
	char			*body, *h_key, *h_event, *h_sig = NULL;
	char			*h_count = NULL, hex[65];
	uint8_t			 sum[32];
	size_t			 len, k;
	int			 nh = 0, am;

	fmt = delivery_opt(d, "format");
	am = fmt != NULL && strcmp(fmt, "alertmanager") == 0;
	ps = xcalloc(n, sizeof *ps);
	for (k = 0; k < n; k++)
		ps[k] = delivery_payload(items[k]->i_d);
	if (am)
		body = webhook_alertmanager_body(ps, n,
		    delivery_target(d)->ct_name, delivery_opt(d,
		    "external_url"), &len);
	else if (!batched)
		body = json_to_string(ps[0], &len);
	else {
		buf_adds(&b, "{\"events\":[");
		for (k = 0; k < n; k++) {
			char *one = json_to_string(ps[k], NULL);

			if (k > 0)
				buf_addc(&b, ',');
			buf_adds(&b, one);
			free(one);
		}
		buf_adds(&b, "]}");
		body = buf_steal(&b, &len);
	}
	free(ps);
	if (n == 1)
		h_key = xprintf("Idempotency-Key: %s", delivery_event_id(d));
	else {
		for (k = 0; k < n; k++) {
			buf_adds(&ids, delivery_event_id(items[k]->i_d));
			buf_addc(&ids, '\n');
		}
		util_sha256(ids.b_data, ids.b_len, sum);
		util_hex(sum, sizeof sum, hex);
		h_key = xprintf("Idempotency-Key: batch-%s", hex);
		buf_free(&ids);
	}
	if (batched)
		h_count = xprintf("X-411-Batch: %zu", n);
	h_event = xprintf("X-411-Event: %s", !batched ?
	    delivery_event_type(d) : "batch");
	hdr[nh++] = "Content-Type: application/json";
	hdr[nh++] = h_key;
	hdr[nh++] = h_event;
	if (h_count != NULL)
		hdr[nh++] = h_count;
	if ((secret = delivery_opt(d, "secret")) != NULL) {
		notify_hmac_hex(secret, body, len, hex);
		h_sig = xprintf("X-411-Signature: sha256=%s", hex);
		hdr[nh++] = h_sig;
	}
	hdr[nh] = NULL;
	if (batched) {
		st = xcalloc(1, sizeof *st);
		st->s_items = xcalloc(n, sizeof *st->s_items);
		st->s_n = st->s_left = n;
		for (k = 0; k < n; k++) {
			st->s_items[k] = items[k];
			items[k]->i_sent = st;
			items[k]->i_slot = k;
		}
	}
	notify_http(d, "POST", delivery_opt(d, "url"), hdr, body, len,
	    webhook_resp, st);
	free(body);
	free(h_key);
	free(h_event);
	free(h_count);
	free(h_sig);
}

static void
webhook_deliver(struct delivery *d)
{
	const struct config_target	*ct = delivery_target(d);
	struct wb_item			*it, one;
	struct wb_batch			*b;
	const char			*v, *errstr, *type;
	struct buf			 key = BUF_INIT;
	uint64_t			 max = 1;
	int64_t				 wait = 1000, sid = 0;

	type = delivery_event_type(d);
	if ((strcmp(type, "alert.resolved") == 0 ||
	    strcmp(type, "search.recovered") == 0) &&
	    (v = delivery_opt(d, "send_resolved")) != NULL &&
	    strcmp(v, "no") == 0) {
		delivery_done(d, DELIVERY_SKIPPED, NULL,
		    "webhook: send_resolved no", NULL);
		return;
	}
	if ((v = delivery_opt(d, "batch")) != NULL &&
	    util_parse_uint(v, 10000, &max) == -1)
		max = 1;
	if (max <= 1) {
		memset(&one, 0, sizeof one);
		one.i_d = d;
		it = &one;
		webhook_send(&it, 1, 0);
		return;
	}
	if ((v = delivery_opt(d, "batch_wait")) != NULL &&
	    util_parse_duration_ms(v, &wait, &errstr) == -1)
		wait = 1000;
	if ((it = delivery_state(d)) == NULL) {
		it = xcalloc(1, sizeof *it);
		it->i_d = d;
		delivery_set_state(d, it, wb_item_free);
	}
	/* An Alertmanager body is one group: a batch per search. */
	buf_adds(&key, ct->ct_name);
	if ((v = delivery_opt(d, "format")) != NULL &&
	    strcmp(v, "alertmanager") == 0) {
		(void)json_int(json_get(json_get(delivery_payload(d),
		    "search"), "id"), &sid);
		buf_printf(&key, "\n%lld", (long long)sid);
	}
	if (wb_batches == NULL)
		wb_batches = hmap_new();
	if ((b = hmap_get(wb_batches, key.b_data, key.b_len)) == NULL) {
		struct timeval	 tv;

		b = xcalloc(1, sizeof *b);
		b->b_name = buf_steal(&key, NULL);
		b->b_max = max;
		b->b_items = xcalloc(max, sizeof *b->b_items);
		if ((b->b_timer = evtimer_new(delivery_base(d), wb_timer_cb,
		    b)) == NULL)
			fatalx("webhook: evtimer_new");
		tv.tv_sec = wait / 1000;
		tv.tv_usec = (wait % 1000) * 1000;
		evtimer_add(b->b_timer, &tv);
		hmap_put(wb_batches, b->b_name, strlen(b->b_name), b);
	}
	buf_free(&key);
	it->i_batch = b;
	b->b_items[b->b_n++] = it;
	if (b->b_n >= b->b_max)
		wb_flush(b);
}

const struct target_ops target_webhook_ops = {
	"webhook",
	webhook_check,
	webhook_deliver
};
