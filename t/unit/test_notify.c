/*
 * test_notify.c -- 411-notify's helpers and target bodies: back-off,
 * Retry-After, HMAC, the HTTP verdict, payload paths, target checks, the
 * Alertmanager, Slack and PagerDuty bodies.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "json.h"
#include "notify.h"
#include "tap.h"
#include "xmalloc.h"

/* The targets' body builders (not in a header). */
char		*webhook_alertmanager_body(const struct json *const *, size_t,
		    const char *, const char *, size_t *);
char		*slack_text(const struct json *);
char		*pd_body(const struct json *, const char *, const char *,
		    size_t *);
const char	*pd_severity(const char *);

static const char payload_text[] =
    "{\"schema\":\"411.event.v1\",\"event_id\":\"i-9\","
    "\"event_type\":\"alert.created\",\"occurred_at\":\"2026-11-25T10:00:05Z\","
    "\"producer\":{\"instance\":\"p\",\"version\":\"1\"},"
    "\"search\":{\"id\":4,\"name\":\"A <b> & c\",\"priority\":\"low\"},"
    "\"alert\":{\"id\":12,\"time\":\"2026-11-25T10:00:00Z\","
    "\"updated\":\"2026-11-25T10:01:00Z\",\"state\":\"new\","
    "\"priority\":\"critical\",\"content\":{\"host\":\"h<1>\",\"n\":3},"
    "\"content_hash\":\"sha256:0123456789abcdef0123\"},"
    "\"alerts\":[{\"id\":13},{\"id\":\"x\"},{\"id\":14}],"
    "\"links\":{\"alert\":\"http://a/#/alerts/12\"},"
    "\"target\":{\"name\":\"t\",\"type\":\"webhook\"}}";

/* Two searches' alerts, for a batch (issue 11, defect 9). */
static const char batch_a[] =
    "{\"event_id\":\"b-1\",\"event_type\":\"alert.created\","
    "\"producer\":{\"instance\":\"p\",\"version\":\"1\","
    "\"base_url\":\"https://411.example\"},"
    "\"search\":{\"id\":4,\"name\":\"ssh\",\"priority\":\"high\","
    "\"category\":\"sec\"},"
    "\"alert\":{\"id\":21,\"time\":\"2026-11-25T10:00:00Z\","
    "\"state\":\"new\",\"priority\":\"high\","
    "\"content\":{\"host\":\"h1\",\"user\":\"root\"}},"
    "\"links\":{\"alert\":\"https://411.example/#/alerts/21\"}}";
static const char batch_b[] =
    "{\"event_id\":\"b-2\",\"event_type\":\"alert.created\","
    "\"producer\":{\"instance\":\"p\",\"version\":\"1\","
    "\"base_url\":\"https://411.example\"},"
    "\"search\":{\"id\":5,\"name\":\"sudo\",\"priority\":\"high\","
    "\"category\":\"ops\"},"
    "\"alert\":{\"id\":22,\"time\":\"2026-11-25T10:00:01Z\","
    "\"state\":\"new\",\"priority\":\"high\","
    "\"content\":{\"host\":\"h1\",\"user\":\"bob\"}},"
    "\"links\":{\"alert\":\"https://411.example/#/alerts/22\"}}";
/* The same search as batch_a, another alert, resolved. */
static const char batch_c[] =
    "{\"event_id\":\"b-3\",\"event_type\":\"alert.resolved\","
    "\"producer\":{\"instance\":\"p\",\"version\":\"1\","
    "\"base_url\":\"https://411.example\"},"
    "\"search\":{\"id\":4,\"name\":\"ssh\",\"priority\":\"high\","
    "\"category\":\"sec\"},"
    "\"alert\":{\"id\":23,\"time\":\"2026-11-25T09:00:00Z\","
    "\"updated\":\"2026-11-25T10:02:00Z\",\"state\":\"resolved\","
    "\"priority\":\"high\",\"content\":{\"host\":\"h2\","
    "\"user\":\"root\"}},"
    "\"links\":{\"alert\":\"https://411.example/#/alerts/23\"}}";
/* search.failed and search.recovered of search 4 (defect 8). */
static const char sfailed[] =
    "{\"event_id\":\"s-1\",\"event_type\":\"search.failed\","
    "\"occurred_at\":\"2026-11-25T10:00:09Z\","
    "\"producer\":{\"instance\":\"p\",\"version\":\"1\"},"
    "\"search\":{\"id\":4,\"name\":\"ssh\",\"priority\":\"high\"},"
    "\"error\":{\"message\":\"HTTP 500: boom\",\"since\":"
    "\"2026-11-25T10:00:08Z\"}}";
static const char srecovered[] =
    "{\"event_id\":\"s-2\",\"event_type\":\"search.recovered\","
    "\"occurred_at\":\"2026-11-25T10:30:00Z\","
    "\"producer\":{\"instance\":\"p\",\"version\":\"1\"},"
    "\"search\":{\"id\":4,\"name\":\"ssh\",\"priority\":\"high\"},"
    "\"error\":{\"message\":\"the search runs again\",\"since\":"
    "\"2026-11-25T10:00:08Z\"}}";

/* The Alertmanager body of the payload texts, parsed. */
static struct json *
am_of(const char *const *texts, size_t n, const char *external)
{
	struct json	*ps[4], *j;
	char		*s, err[128];
	size_t		 i, len;

	for (i = 0; i < n; i++)
		if ((ps[i] = json_parse(texts[i], strlen(texts[i]), err,
		    sizeof err)) == NULL)
			bail("payload %zu: %s", i, err);
	s = webhook_alertmanager_body((const struct json *const *)ps, n,
	    "am", external, &len);
	if ((j = json_parse(s, len, err, sizeof err)) == NULL)
		bail("alertmanager body: %s", err);
	for (i = 0; i < n; i++)
		json_free(ps[i]);
	free(s);
	return (j);
}

struct errs {
	int	 n;
	char	 last[512];
};

static void
collect(void *arg, const char *line)
{
	struct errs	*e = arg;

	e->n++;
	strncpy(e->last, line, sizeof e->last - 1);
}

/* Check a config text with notify_check; returns the number of errors. */
static int
check_conf(const char *text, struct errs *e)
{
	struct config_errors	 ce;
	struct config		*c;
	int			 n;

	memset(e, 0, sizeof *e);
	c = config_parse("n.conf", text, strlen(text), CONFIG_NOTIFY, &ce);
	if (c == NULL) {
		if (ce.ce_n > 0)
			strncpy(e->last, ce.ce_lines[0], sizeof e->last - 1);
		config_errors_free(&ce);
		return (-1);
	}
	config_errors_free(&ce);
	n = notify_check(c, NULL, collect, e);
	config_free(c);
	return (n);
}

int
main(void)
{
	struct notify_resp	 nr;
	struct json		*p, *p2, *j;
	struct errs		 e;
	uint64_t		 ids[8];
	int64_t			 ms, lo, hi;
	char			 hex[65], err[128], *s;
	size_t			 len;
	int			 i, bad;

	plan(106);

	/* back-off: within [d/2, d], doubling, capped */
	bad = 0;
	for (i = 0; i < 200; i++) {
		ms = notify_backoff_ms(1, 1000, 60000, (uint64_t)i * 7919);
		if (ms < 500 || ms > 1000)
			bad++;
	}
	is_int(bad, 0, "backoff try 1 within [500, 1000]");
	bad = 0;
	for (i = 0; i < 200; i++) {
		ms = notify_backoff_ms(4, 1000, 60000, (uint64_t)i * 104729);
		if (ms < 4000 || ms > 8000)
			bad++;
	}
	is_int(bad, 0, "backoff try 4 within [4000, 8000]");
	lo = notify_backoff_ms(30, 1000, 60000, 0);
	hi = notify_backoff_ms(30, 1000, 60000, UINT64_MAX - 1);
	ok(lo >= 30000 && hi <= 60000, "backoff capped at retry_max (%lld..%lld)",
	    (long long)lo, (long long)hi);
	is_int(notify_backoff_ms(1, 0, 10, 0), 0, "backoff min 0 is safe");

	/* Retry-After */
	is_int(notify_retry_after_ms("120", 0), 120000, "Retry-After seconds");
	is_int(notify_retry_after_ms(" 3\r\n", 0), 3000, "... with blanks");
	is_int(notify_retry_after_ms("-5", 0), 0, "... negative is now");
	is_int(notify_retry_after_ms("Wed, 25 Nov 2026 10:00:30 GMT",
	    (int64_t)curl_getdate("Wed, 25 Nov 2026 10:00:00 GMT", NULL) *
	    1000), 30000, "Retry-After HTTP date");
	is_int(notify_retry_after_ms("soon", 0), -1, "garbage: -1");
	is_int(notify_retry_after_ms(NULL, 0), -1, "none: -1");
	is_int(notify_retry_after_ms("", 0), -1, "empty: -1");

	/* HMAC-SHA256 (RFC 4231 test case 2) */
	notify_hmac_hex("Jefe", "what do ya want for nothing?", 28, hex);
	is_string(hex, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843", "HMAC-SHA256 RFC 4231 #2");

	/* verdicts */
	memset(&nr, 0, sizeof nr);
	nr.nr_status = 200;
	is_int(notify_http_verdict(&nr), DELIVERY_OK, "200 OK");
	nr.nr_status = 204;
	is_int(notify_http_verdict(&nr), DELIVERY_OK, "204 OK");
	nr.nr_status = 429;
	is_int(notify_http_verdict(&nr), DELIVERY_RETRY, "429 RETRY");
	nr.nr_status = 408;
	is_int(notify_http_verdict(&nr), DELIVERY_RETRY, "408 RETRY");
	nr.nr_status = 425;
	is_int(notify_http_verdict(&nr), DELIVERY_RETRY, "425 RETRY");
	nr.nr_status = 503;
	is_int(notify_http_verdict(&nr), DELIVERY_RETRY, "503 RETRY");
	nr.nr_status = 404;
	is_int(notify_http_verdict(&nr), DELIVERY_FAILED, "404 FAILED");
	nr.nr_status = 400;
	is_int(notify_http_verdict(&nr), DELIVERY_FAILED, "400 FAILED");
	nr.nr_status = 0;
	nr.nr_error = "Connection refused";
	is_int(notify_http_verdict(&nr), DELIVERY_RETRY, "transport RETRY");

	/* payload helpers */
	p = json_parse(payload_text, strlen(payload_text), err, sizeof err);
	ok(p != NULL, "payload parses: %s", p == NULL ? err : "ok");
	is_string(notify_str(p, "search.name"), "A <b> & c", "notify_str");
	ok(notify_str(p, "search.nothing.deeper") == NULL, "missing: NULL");
	ok(notify_str(p, "search.id") == NULL, "a number: NULL");
	is_int(notify_alert_ids(p, ids, 8), 3, "alert ids: alert + alerts[]");
	ok(ids[0] == 12 && ids[1] == 13 && ids[2] == 14, "... 12 13 14");
	is_int(notify_alert_ids(p, ids, 2), 2, "... bounded by max");

	/* target checks */
	is_int(check_conf("target a webhook url http://h/x secret k batch 5\n"
	    "target b slack url https://hooks.slack.com/services/x\n"
	    "target c pagerduty routing_key k\n", &e), 0, "good targets pass");
	is_int(check_conf("target a webhook\n", &e), 1, "webhook without url");
	ok(strstr(e.last, "n.conf:1: target a: option url is required") !=
	    NULL, "... FILE:LINE: target NAME: message (%s)", e.last);
	is_int(check_conf("\n\ntarget a webhook url http://h/ nope 1\n", &e),
	    1, "an unknown option");
	ok(strstr(e.last, "n.conf:3:") != NULL &&
	    strstr(e.last, "unknown option \"nope\"") != NULL, "... %s", e.last);
	is_int(check_conf("target a fax url http://h/\n", &e), 1,
	    "an unknown type");
	ok(strstr(e.last, "unknown type \"fax\"") != NULL, "... %s", e.last);
	is_int(check_conf("target a webhook url http://h/ format yaml\n"
	    "target b webhook url gopher://h/\n"
	    "target c pagerduty url http://h/\n", &e), 3, "three bad targets");
	is_int(check_conf("retries 3\nretry_min 250ms\nretry_max 1h\n"
	    "claim_idle 60s\nconcurrency 8\n", &e), 0, "worker directives");
	is_int(check_conf("retry_min 0\n", &e), -1, "retry_min 0 refused");
	ok(strstr(e.last, "retry_min: bad duration") != NULL, "... %s",
	    e.last);

	/* alertmanager */
	s = webhook_alertmanager_body((const struct json *const *)&p, 1, "am",
	    NULL, &len);
	j = json_parse(s, len, err, sizeof err);
	ok(j != NULL, "alertmanager body is JSON");
	is_string(notify_str(j, "version"), "4", "version 4");
	is_string(notify_str(j, "status"), "firing", "firing");
	is_string(notify_str(j, "groupKey"), "{}:{search_id=\"4\"}", "groupKey");
	is_int(json_len(json_get(j, "alerts")), 4, "alert and alerts[]");
	is_string(notify_str(json_at(json_get(j, "alerts"), 0),
	    "labels.host"), "h<1>", "content as labels");
	is_string(notify_str(json_at(json_get(j, "alerts"), 0),
	    "labels.n"), "3", "a number label as text");
	is_string(notify_str(json_at(json_get(j, "alerts"), 0),
	    "fingerprint"), "0123456789abcdef", "fingerprint");
	is_string(notify_str(json_at(json_get(j, "alerts"), 0), "endsAt"),
	    "0001-01-01T00:00:00Z", "endsAt zero while firing");
	is_string(notify_str(j, "externalURL"), "",
	    "externalURL: no base_url, no alert link");
	json_free(j);
	free(s);

	/* alertmanager: a batch of two searches (issue 11, defect 9) */
	{
		const char *const two[] = { batch_a, batch_b };
		const char *const same[] = { batch_a, batch_c };
		const char *const sev[] = { sfailed, srecovered };
		const struct json *cl, *al;

		j = am_of(two, 2, NULL);
		cl = json_get(j, "commonLabels");
		is_int(json_len(cl), 3, "two searches: commonLabels are the "
		    "3 shared labels");
		is_string(notify_str(cl, "host"), "h1", "... host=h1");
		is_string(notify_str(cl, "severity"), "high", "... severity");
		is_string(notify_str(cl, "priority"), "high", "... priority");
		ok(json_get(cl, "alertname") == NULL &&
		    json_get(cl, "search_id") == NULL &&
		    json_get(cl, "user") == NULL, "... not alertname, "
		    "search_id, user (they differ)");
		is_int(json_len(json_get(j, "commonAnnotations")), 0,
		    "... no annotation in common");
		is_string(notify_str(j, "groupKey"), "{}:{}",
		    "... groupKey: no common search");
		is_int(json_len(json_get(j, "groupLabels")), 0,
		    "... groupLabels empty");
		is_string(notify_str(j, "externalURL"), "https://411.example",
		    "externalURL: the producer's base_url");
		is_int(json_len(json_get(j, "alerts")), 2, "... both alerts");
		json_free(j);
		j = am_of(two, 2, "https://console.example/411");
		is_string(notify_str(j, "externalURL"),
		    "https://console.example/411",
		    "externalURL: the target's external_url first");
		json_free(j);

		j = am_of(same, 2, NULL);
		cl = json_get(j, "commonLabels");
		is_string(notify_str(cl, "alertname"), "ssh",
		    "one search: commonLabels alertname");
		is_string(notify_str(cl, "search_id"), "4", "... search_id");
		is_string(notify_str(cl, "user"), "root", "... user");
		ok(json_get(cl, "host") == NULL, "... not host (h1, h2)");
		is_string(notify_str(j, "commonAnnotations.summary"), "ssh",
		    "commonAnnotations: summary");
		ok(notify_str(j, "commonAnnotations.description") == NULL,
		    "... not the differing description");
		is_string(notify_str(j, "groupKey"), "{}:{search_id=\"4\"}",
		    "groupKey by search");
		is_string(notify_str(j, "groupLabels.search_id"), "4",
		    "groupLabels {search_id}");
		is_int(json_len(json_get(j, "groupLabels")), 1,
		    "... and nothing else");
		is_string(notify_str(j, "status"), "firing",
		    "status firing while one alert fires");
		al = json_get(j, "alerts");
		is_string(notify_str(json_at(al, 0), "status"), "firing",
		    "... the new alert fires");
		is_string(notify_str(json_at(al, 1), "status"), "resolved",
		    "... the resolved one is resolved");
		is_string(notify_str(json_at(al, 1), "endsAt"),
		    "2026-11-25T10:02:00Z", "... with endsAt");
		json_free(j);
		j = am_of(&same[1], 1, NULL);
		is_string(notify_str(j, "status"), "resolved",
		    "alert.resolved alone: status resolved");
		json_free(j);

		/* search.failed and search.recovered (defect 8) */
		j = am_of(&sev[0], 1, NULL);
		al = json_at(json_get(j, "alerts"), 0);
		is_int(json_len(json_get(j, "alerts")), 1,
		    "search.failed: one alert");
		is_string(notify_str(j, "status"), "firing", "... firing");
		is_string(notify_str(al, "labels.alertname"), "ssh",
		    "... alertname the search");
		is_string(notify_str(al, "labels.severity"), "high",
		    "... severity");
		is_string(notify_str(al, "labels.four11_event"),
		    "search.failed", "... four11_event=search.failed");
		is_string(notify_str(al, "annotations.description"),
		    "HTTP 500: boom", "... the error as description");
		is_string(notify_str(al, "startsAt"), "2026-11-25T10:00:08Z",
		    "... startsAt: failing since");
		is_string(notify_str(al, "endsAt"), "0001-01-01T00:00:00Z",
		    "... no endsAt");
		s = xstrdup(notify_str(al, "fingerprint"));
		json_free(j);
		j = am_of(&sev[1], 1, NULL);
		al = json_at(json_get(j, "alerts"), 0);
		is_string(notify_str(j, "status"), "resolved",
		    "search.recovered: resolved");
		is_string(notify_str(al, "labels.four11_event"),
		    "search.failed", "... the same alert (labels)");
		is_string(notify_str(al, "fingerprint"), s,
		    "... the same fingerprint");
		is_string(notify_str(al, "endsAt"), "2026-11-25T10:30:00Z",
		    "... endsAt: when it recovered");
		free(s);
		json_free(j);

		/* pagerduty and slack on search events */
		p2 = json_parse(sfailed, strlen(sfailed), err, sizeof err);
		s = pd_body(p2, "KEY", NULL, &len);
		j = json_parse(s, len, err, sizeof err);
		is_string(notify_str(j, "dedup_key"), "411/p/search/4",
		    "pagerduty search.failed: dedup_key");
		is_string(notify_str(j, "event_action"), "trigger",
		    "... trigger");
		ok(strstr(notify_str(j, "payload.summary") != NULL ?
		    notify_str(j, "payload.summary") : "", "HTTP 500") !=
		    NULL, "... the error in the summary");
		json_free(j);
		free(s);
		s = slack_text(p2);
		ok(strstr(s, "search failed") != NULL &&
		    strstr(s, "HTTP 500: boom") != NULL,
		    "slack: search failed, with the error");
		free(s);
		json_free(p2);
		p2 = json_parse(srecovered, strlen(srecovered), err,
		    sizeof err);
		s = pd_body(p2, "KEY", NULL, &len);
		j = json_parse(s, len, err, sizeof err);
		is_string(notify_str(j, "event_action"), "resolve",
		    "pagerduty search.recovered: resolve");
		is_string(notify_str(j, "dedup_key"), "411/p/search/4",
		    "... the same dedup_key");
		json_free(j);
		free(s);
		s = slack_text(p2);
		ok(strstr(s, "search recovered") != NULL,
		    "slack: search recovered");
		free(s);
		json_free(p2);
	}

	/* send_resolved, external_url */
	is_int(check_conf("target a webhook url http://h/ send_resolved no "
	    "external_url https://c.example/\n", &e), 0,
	    "send_resolved and external_url pass");
	is_int(check_conf("target a webhook url http://h/ send_resolved "
	    "maybe\n", &e), 1, "send_resolved maybe refused");
	ok(strstr(e.last, "send_resolved: want yes or no") != NULL, "... %s",
	    e.last);
	is_int(check_conf("target a webhook url http://h/ external_url "
	    "ftp://x/\n", &e), 1, "external_url ftp refused");

	/* slack */
	s = slack_text(p);
	ok(strstr(s, "*[411 critical]* A &lt;b&gt; &amp; c (alert.created)") !=
	    NULL, "slack: head, escaped");
	ok(strstr(s, "*host*: h&lt;1&gt;") != NULL, "slack: fields escaped");
	ok(strstr(s, "<http://a/#/alerts/12|alert>") != NULL, "slack: link");
	free(s);

	/* pagerduty */
	is_string(pd_severity("critical"), "critical", "critical");
	is_string(pd_severity("high"), "error", "high: error");
	is_string(pd_severity("medium"), "warning", "medium: warning");
	is_string(pd_severity("low"), "info", "low: info");
	s = pd_body(p, "KEY", NULL, &len);
	j = json_parse(s, len, err, sizeof err);
	is_string(notify_str(j, "dedup_key"), "411/p/alert/12", "dedup_key");
	is_string(notify_str(j, "payload.severity"), "critical",
	    "severity from the alert's priority");
	json_free(j);
	free(s);

	json_free(p);
	return (test_done());
}
