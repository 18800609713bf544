/*
 * target_pagerduty.c -- the PagerDuty target: Events API v2 (WIRE.md
 * 7.5).  A trigger per alert with dedup_key "411/INSTANCE/alert/ID" (the
 * alert's stable id: retries and later events of the same alert meet
 * there); alert.resolved resolves it.  search.failed triggers
 * "411/INSTANCE/search/ID", search.recovered resolves that.
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

#define PD_URL		"https://events.pagerduty.com/v2/enqueue"
#define PD_SUMMARY_MAX	1024
#define PD_ERR_BODY	200

static const char *const pd_opts[] = {
	"routing_key", "url", "timeout", "ca_file", "source", NULL
};
static const char *const pd_required[] = { "routing_key", NULL };

static int
pd_check(const struct config_target *ct, char *msg, size_t len)
{
	return (notify_check_opts(ct, pd_opts, pd_required, msg, len));
}

/* PagerDuty's severity of a 411 priority. */
const char	*pd_severity(const char *);

const char *
pd_severity(const char *prio)
{
	if (prio == NULL)
		return ("error");
	if (strcmp(prio, "critical") == 0)
		return ("critical");
	if (strcmp(prio, "high") == 0)
		return ("error");
	if (strcmp(prio, "medium") == 0 || strcmp(prio, "warning") == 0)
		return ("warning");
	if (strcmp(prio, "low") == 0 || strcmp(prio, "info") == 0)
		return ("info");
	return ("error");
}

/* The Events API v2 body of a payload; NULL if it has nothing to say. */
char	*pd_body(const struct json *, const char *, const char *, size_t *);

char *
pd_body(const struct json *p, const char *key, const char *source,
    size_t *lenp)
{
	yajl_gen		 g;
	struct buf		 b = BUF_INIT, sum = BUF_INIT;
	const struct json	*a, *content;
	const char		*type, *inst, *s, *prio;
	char			*dedup, *t;
	int64_t			 id = 0;
	int			 resolve;

	type = json_str(json_get(p, "event_type"));
	if (type == NULL)
		type = "";
	if ((inst = notify_str(p, "producer.instance")) == NULL)
		inst = "411";
	a = json_get(p, "alert");
	if (a != NULL && json_int(json_get(a, "id"), &id))
		dedup = xprintf("411/%s/alert/%lld", inst, (long long)id);
	else if (json_int(json_get(json_get(p, "search"), "id"), &id))
		dedup = xprintf("411/%s/search/%lld", inst, (long long)id);
	else
		return (NULL);
	resolve = strcmp(type, "alert.resolved") == 0 ||
	    strcmp(type, "search.recovered") == 0 ||
	    ((s = json_str(json_get(a, "state"))) != NULL &&
	    strcmp(s, "resolved") == 0);

	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_kstr(g, "routing_key", key);
	jgen_kstr(g, "event_action", resolve ? "resolve" : "trigger");
	jgen_kstr(g, "dedup_key", dedup);
	if (!resolve) {
		prio = json_str(json_get(a, "priority"));
		if (prio == NULL)
			prio = notify_str(p, "search.priority");
		s = notify_str(p, "search.name");
		buf_adds(&sum, s != NULL ? s : "411 alert");
		content = json_get(a, "content");
		if ((s = notify_str(p, "error.message")) != NULL) {
			buf_adds(&sum, ": ");
			buf_adds(&sum, s);
		} else if (content != NULL) {
			t = json_to_string(content, NULL);
			buf_adds(&sum, ": ");
			buf_adds(&sum, t);
			free(t);
		}
		if (sum.b_len > PD_SUMMARY_MAX) {
			/* Cut on a UTF-8 boundary. */
			size_t n = PD_SUMMARY_MAX;

			while (n > 0 && (sum.b_data[n] & 0xc0) == 0x80)
				n--;
			sum.b_len = n;
			sum.b_data[n] = '\0';
		}
		jgen_kstr(g, "client", "411");
		if ((s = notify_str(p, "links.alert")) != NULL)
			jgen_kstr(g, "client_url", s);
		jgen_str(g, "payload");
		yajl_gen_map_open(g);
		jgen_kstr(g, "summary", sum.b_data);
		jgen_kstr(g, "source", source != NULL ? source : inst);
		jgen_kstr(g, "severity", pd_severity(prio));
		if ((s = json_str(json_get(a, "time"))) != NULL ||
		    (s = notify_str(p, "occurred_at")) != NULL)
			jgen_kstr(g, "timestamp", s);
		if ((s = notify_str(p, "search.category")) != NULL)
			jgen_kstr(g, "class", s);
		if ((s = notify_str(p, "search.name")) != NULL)
			jgen_kstr(g, "group", s);
		jgen_str(g, "custom_details");
		if (content != NULL)
			json_gen(g, content);
		else if (json_get(p, "error") != NULL)
			json_gen(g, json_get(p, "error"));
		else {
			yajl_gen_map_open(g);
			yajl_gen_map_close(g);
		}
		yajl_gen_map_close(g);
		if ((s = notify_str(p, "links.source")) != NULL) {
			jgen_str(g, "links");
			yajl_gen_array_open(g);
			yajl_gen_map_open(g);
			jgen_kstr(g, "href", s);
			jgen_kstr(g, "text", "source");
			yajl_gen_map_close(g);
			yajl_gen_array_close(g);
		}
	}
	yajl_gen_map_close(g);
	jgen_take(g, &b);
	yajl_gen_free(g);
	buf_free(&sum);
	free(dedup);
	return (buf_steal(&b, lenp));
}

static void
pd_resp(struct delivery *d, const struct notify_resp *nr, void *arg)
{
	enum delivery_result	 res;
	struct json		*j;
	char			*err = NULL, ebuf[64];
	const char		*ref = NULL;

	res = notify_http_verdict(nr);
	j = json_parse(nr->nr_body, nr->nr_len, ebuf, sizeof ebuf);
	if (res == DELIVERY_OK)
		ref = json_str(json_get(j, "dedup_key"));
	else if (nr->nr_error != NULL)
		err = xprintf("%s", nr->nr_error);
	else
		err = xprintf("pagerduty: HTTP %ld: %.*s", nr->nr_status,
		    (int)(nr->nr_len < PD_ERR_BODY ? nr->nr_len : PD_ERR_BODY),
		    nr->nr_body);
	delivery_done(d, res, ref, err, nr->nr_retry_after);
	json_free(j);
	free(err);
}

static void
pd_deliver(struct delivery *d)
{
	const char	*hdr[] = { "Content-Type: application/json", NULL };
	const char	*url;
	char		*body;
	size_t		 len;

	body = pd_body(delivery_payload(d), delivery_opt(d, "routing_key"),
	    delivery_opt(d, "source"), &len);
	if (body == NULL) {
		delivery_done(d, DELIVERY_FAILED, NULL,
		    "pagerduty: no alert or search in the event", NULL);
		return;
	}
	if ((url = delivery_opt(d, "url")) == NULL)
		url = PD_URL;
	notify_http(d, "POST", url, hdr, body, len, pd_resp, NULL);
	free(body);
}

const struct target_ops target_pagerduty_ops = {
	"pagerduty",
	pd_check,
	pd_deliver
};
