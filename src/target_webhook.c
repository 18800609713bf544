/*
 * target_webhook.c -- the webhook target: POST the event as JSON, with an
 * Idempotency-Key (the event id) and an HMAC-SHA256 signature of the body
 * ("X-411-Signature: sha256=HEX") when the target has a secret.
 *
 * "format alertmanager" sends the body of Alertmanager's webhook (version
 * 4) instead, so that receivers written for Alertmanager work unchanged.
 *
 * "batch N" (N > 1) gathers the jobs of a target for up to batch_wait
 * (1s) or N jobs, and sends them in one request: {"events": [...]} (or
 * one Alertmanager body with every alert), Idempotency-Key the SHA-256 of
 * the event ids; the answer ends every delivery of the batch alike.
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
	"ca_file", NULL
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

/* A time member of an alert as RFC 3339, or NULL. */
static const char *
webhook_time(const struct json *a, const char *name)
{
	return (json_str(json_get(a, name)));
}

/* One alert of an Alertmanager body. */
static void
webhook_am_alert(yajl_gen g, const struct json *p, const struct json *a,
    const char *status)
{
	const struct json	*content, *v;
	const char		*s, *hash;
	char			*t;
	size_t			 i;
	int64_t			 id;

	yajl_gen_map_open(g);
	jgen_kstr(g, "status", status);
	jgen_str(g, "labels");
	yajl_gen_map_open(g);
	jgen_kstr(g, "alertname", (s = notify_str(p, "search.name")) != NULL ?
	    s : "411");
	if ((v = json_get(json_get(p, "search"), "id")) != NULL &&
	    json_int(v, &id)) {
		t = xprintf("%lld", (long long)id);
		jgen_kstr(g, "search_id", t);
		free(t);
	}
	if ((s = json_str(json_get(a, "priority"))) != NULL ||
	    (s = notify_str(p, "search.priority")) != NULL) {
		jgen_kstr(g, "priority", s);
		jgen_kstr(g, "severity", s);
	}
	if ((s = notify_str(p, "search.category")) != NULL)
		jgen_kstr(g, "category", s);
	content = json_get(a, "content");
	for (i = 0; content != NULL && content->j_type == JSON_OBJECT &&
	    i < content->j_u.obj.n; i++) {
		const char *k = content->j_u.obj.m[i].m_key;

		if (strcmp(k, "alertname") == 0 || strcmp(k, "severity") == 0 ||
		    strcmp(k, "priority") == 0 || strcmp(k, "search_id") == 0 ||
		    strcmp(k, "category") == 0)
			continue;
		t = webhook_label_text(content->j_u.obj.m[i].m_val);
		jgen_kstr(g, k, t);
		free(t);
	}
	yajl_gen_map_close(g);
	jgen_str(g, "annotations");
	yajl_gen_map_open(g);
	if ((s = notify_str(p, "search.name")) != NULL)
		jgen_kstr(g, "summary", s);
	if (content != NULL) {
		t = json_to_string(content, NULL);
		jgen_kstr(g, "description", t);
		free(t);
	}
	if ((s = notify_str(p, "links.alert")) != NULL)
		jgen_kstr(g, "alert_url", s);
	if ((s = notify_str(p, "links.source")) != NULL)
		jgen_kstr(g, "source_url", s);
	yajl_gen_map_close(g);
	s = webhook_time(a, "time");
	jgen_kstr(g, "startsAt", s != NULL ? s : WEBHOOK_ZERO_TIME);
	s = strcmp(status, "resolved") == 0 ? webhook_time(a, "updated") :
	    NULL;
	jgen_kstr(g, "endsAt", s != NULL ? s : WEBHOOK_ZERO_TIME);
	s = notify_str(p, "links.source");
	if (s == NULL)
		s = notify_str(p, "links.alert");
	jgen_kstr(g, "generatorURL", s != NULL ? s : "");
	/* Stable: the content hash (16 hex digits, as Alertmanager's). */
	hash = json_str(json_get(a, "content_hash"));
	if (hash != NULL && strncmp(hash, "sha256:", 7) == 0 &&
	    strlen(hash) >= 7 + 16) {
		t = xstrndup(hash + 7, 16);
		jgen_kstr(g, "fingerprint", t);
		free(t);
	} else {
		char	 hex[17];
		uint64_t h;

		t = json_to_string(a, NULL);
		h = util_hash(t, strlen(t));
		free(t);
		snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
		jgen_kstr(g, "fingerprint", hex);
	}
	yajl_gen_map_close(g);
}

/* The Alertmanager webhook body (version 4) of a payload. */
char	*webhook_alertmanager_body(const struct json *, const char *,
	    size_t *);
static char	*webhook_am_body(const struct json *const *, size_t,
		    const char *, size_t *);

char *
webhook_alertmanager_body(const struct json *p, const char *receiver,
    size_t *lenp)
{
	return (webhook_am_body(&p, 1, receiver, lenp));
}

/* The same for the payloads of a batch (the head from the first). */
static char *
webhook_am_body(const struct json *const *ps, size_t np,
    const char *receiver, size_t *lenp)
{
	const struct json	*p = ps[0];
	size_t			 k;
	yajl_gen		 g;
	struct buf		 b = BUF_INIT;
	const struct json	*a, *list;
	const char		*status, *s, *type;
	char			*gk;
	size_t			 i;
	int64_t			 sid = 0;

	type = json_str(json_get(p, "event_type"));
	a = json_get(p, "alert");
	status = "firing";
	if ((type != NULL && (strcmp(type, "alert.resolved") == 0 ||
	    strcmp(type, "search.recovered") == 0)) ||
	    ((s = json_str(json_get(a, "state"))) != NULL &&
	    strcmp(s, "resolved") == 0))
		status = "resolved";
	(void)json_int(json_get(json_get(p, "search"), "id"), &sid);
	gk = xprintf("{}:{search_id=\"%lld\"}", (long long)sid);

	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_kstr(g, "version", "4");
	jgen_kstr(g, "groupKey", gk);
	jgen_kint(g, "truncatedAlerts", 0);
	jgen_kstr(g, "status", status);
	jgen_kstr(g, "receiver", receiver);
	jgen_str(g, "groupLabels");
	yajl_gen_map_open(g);
	if ((s = notify_str(p, "search.name")) != NULL)
		jgen_kstr(g, "alertname", s);
	yajl_gen_map_close(g);
	jgen_str(g, "commonLabels");
	yajl_gen_map_open(g);
	if ((s = notify_str(p, "search.name")) != NULL)
		jgen_kstr(g, "alertname", s);
	if ((s = notify_str(p, "search.priority")) != NULL)
		jgen_kstr(g, "severity", s);
	yajl_gen_map_close(g);
	jgen_str(g, "commonAnnotations");
	yajl_gen_map_open(g);
	yajl_gen_map_close(g);
	jgen_kstr(g, "externalURL", (s = notify_str(p, "links.alert")) !=
	    NULL ? s : "");
	jgen_str(g, "alerts");
	yajl_gen_array_open(g);
	for (k = 0; k < np; k++) {
	p = ps[k];
	a = json_get(p, "alert");
	if (a != NULL && a->j_type == JSON_OBJECT)
		webhook_am_alert(g, p, a, status);
	list = json_get(p, "alerts");
	for (i = 0; i < json_len(list); i++)
		if (json_at(list, i)->j_type == JSON_OBJECT)
			webhook_am_alert(g, p, json_at(list, i), status);
	if (a == NULL && json_len(list) == 0) {
		/* A search event: one alert for the search itself. */
		struct json *fake = json_new(JSON_OBJECT);

		if ((s = notify_str(p, "error.message")) != NULL)
			json_set(fake, "content", json_new(JSON_OBJECT)),
			json_set(json_get(fake, "content"), "error",
			    json_new_str(s, strlen(s)));
		if ((s = notify_str(p, "occurred_at")) != NULL) {
			json_set(fake, "time", json_new_str(s, strlen(s)));
			json_set(fake, "updated", json_new_str(s, strlen(s)));
		}
		webhook_am_alert(g, p, fake, status);
		json_free(fake);
	}
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	jgen_take(g, &b);
	yajl_gen_free(g);
	free(gk);
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
		body = webhook_am_body(ps, n, delivery_target(d)->ct_name,
		    &len);
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
	const char			*v, *errstr;
	uint64_t			 max = 1;
	int64_t				 wait = 1000;

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
	if (wb_batches == NULL)
		wb_batches = hmap_new();
	if ((b = hmap_get(wb_batches, ct->ct_name, strlen(ct->ct_name))) ==
	    NULL) {
		struct timeval	 tv;

		b = xcalloc(1, sizeof *b);
		b->b_name = xstrdup(ct->ct_name);
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
