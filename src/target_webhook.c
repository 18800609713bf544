/*
 * target_webhook.c -- the webhook target: POST the event as JSON, with an
 * Idempotency-Key (the event id) and an HMAC-SHA256 signature of the body
 * ("X-411-Signature: sha256=HEX") when the target has a secret.
 *
 * "format alertmanager" sends the body of Alertmanager's webhook (version
 * 4) instead, so that receivers written for Alertmanager work unchanged.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "notify.h"
#include "util.h"
#include "xmalloc.h"

#define WEBHOOK_ERR_BODY	200	/* bytes of an error body quoted */
#define WEBHOOK_ZERO_TIME	"0001-01-01T00:00:00Z"

static const char *const webhook_opts[] = {
	"url", "secret", "batch", "timeout", "format", "ca_file", NULL
};
static const char *const webhook_required[] = { "url", NULL };

static int
webhook_check(const struct config_target *ct, char *msg, size_t len)
{
	const char	*v;
	uint64_t	 n;

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

char *
webhook_alertmanager_body(const struct json *p, const char *receiver,
    size_t *lenp)
{
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
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	jgen_take(g, &b);
	yajl_gen_free(g);
	free(gk);
	return (buf_steal(&b, lenp));
}

static void
webhook_resp(struct delivery *d, const struct notify_resp *nr, void *arg)
{
	enum delivery_result	 res;
	char			*err = NULL;

	res = notify_http_verdict(nr);
	if (res != DELIVERY_OK) {
		if (nr->nr_error != NULL)
			err = xprintf("%s", nr->nr_error);
		else
			err = xprintf("HTTP %ld: %.*s", nr->nr_status,
			    (int)(nr->nr_len < WEBHOOK_ERR_BODY ? nr->nr_len :
			    WEBHOOK_ERR_BODY), nr->nr_body);
	}
	delivery_done(d, res, NULL, err, nr->nr_retry_after);
	free(err);
}

static void
webhook_deliver(struct delivery *d)
{
	const struct json	*p = delivery_payload(d);
	const char		*fmt, *secret, *hdr[7];
	char			*body, *h_key, *h_event, *h_sig = NULL;
	char			 hex[65];
	size_t			 len;
	int			 nh = 0;

	fmt = delivery_opt(d, "format");
	if (fmt != NULL && strcmp(fmt, "alertmanager") == 0)
		body = webhook_alertmanager_body(p,
		    delivery_target(d)->ct_name, &len);
	else
		body = json_to_string(p, &len);
	h_key = xprintf("Idempotency-Key: %s", delivery_event_id(d));
	h_event = xprintf("X-411-Event: %s", delivery_event_type(d));
	hdr[nh++] = "Content-Type: application/json";
	hdr[nh++] = h_key;
	hdr[nh++] = h_event;
	if ((secret = delivery_opt(d, "secret")) != NULL) {
		notify_hmac_hex(secret, body, len, hex);
		h_sig = xprintf("X-411-Signature: sha256=%s", hex);
		hdr[nh++] = h_sig;
	}
	hdr[nh] = NULL;
	notify_http(d, "POST", delivery_opt(d, "url"), hdr, body, len,
	    webhook_resp, NULL);
	free(body);
	free(h_key);
	free(h_event);
	free(h_sig);
}

const struct target_ops target_webhook_ops = {
	"webhook",
	webhook_check,
	webhook_deliver
};
