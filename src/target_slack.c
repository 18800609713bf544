/*
 * target_slack.c -- the Slack target: a message to an incoming webhook
 * with the search's name, the priority, the alert's key fields and links.
 * Slack answers 200 "ok", or a plain-text error string (WIRE.md 7.4):
 * 404 channel_not_found and 410 channel_is_archived never get better,
 * 429 comes with Retry-After.
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

#define SLACK_MAX_FIELDS	10	/* content fields shown */
#define SLACK_MAX_VALUE		200	/* bytes of one value shown */
#define SLACK_ERR_BODY		200

static const char *const slack_opts[] = {
	"url", "channel", "username", "icon_emoji", "timeout", "ca_file",
	NULL
};
static const char *const slack_required[] = { "url", NULL };

static int
slack_check(const struct config_target *ct, char *msg, size_t len)
{
	return (notify_check_opts(ct, slack_opts, slack_required, msg, len));
}

/* Slack's mrkdwn wants &, < and > escaped. */
static void
slack_escape(struct buf *b, const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			buf_adds(b, "&amp;");
			break;
		case '<':
			buf_adds(b, "&lt;");
			break;
		case '>':
			buf_adds(b, "&gt;");
			break;
		default:
			buf_addc(b, s[i]);
		}
	}
}

/* The message text of a payload. */
char	*slack_text(const struct json *);

char *
slack_text(const struct json *p)
{
	struct buf		 b = BUF_INIT;
	const struct json	*content, *v;
	const char		*s, *type, *prio;
	char			*t;
	size_t			 i;

	type = json_str(json_get(p, "event_type"));
	prio = notify_str(p, "alert.priority");
	if (prio == NULL)
		prio = notify_str(p, "search.priority");
	buf_adds(&b, "*[411");
	if (prio != NULL) {
		buf_adds(&b, " ");
		slack_escape(&b, prio, strlen(prio));
	}
	buf_adds(&b, "]* ");
	s = notify_str(p, "search.name");
	if (type != NULL && (strcmp(type, "search.failed") == 0 ||
	    strcmp(type, "search.recovered") == 0)) {
		/* The search itself: it fails, or runs again. */
		buf_adds(&b, strcmp(type, "search.failed") == 0 ?
		    ":warning: search failed: " : ":white_check_mark: search "
		    "recovered: ");
		slack_escape(&b, s != NULL ? s : "(no name)", s != NULL ?
		    strlen(s) : 9);
		if (strcmp(type, "search.failed") == 0 &&
		    (s = notify_str(p, "error.message")) != NULL) {
			buf_adds(&b, "\nerror: ");
			slack_escape(&b, s, strlen(s));
		}
		if ((s = notify_str(p, "error.since")) != NULL) {
			buf_adds(&b, "\nfailing since ");
			slack_escape(&b, s, strlen(s));
		}
		return (buf_steal(&b, NULL));
	}
	slack_escape(&b, s != NULL ? s : "(no name)", s != NULL ? strlen(s) :
	    9);
	if (type != NULL) {
		buf_adds(&b, " (");
		slack_escape(&b, type, strlen(type));
		buf_adds(&b, ")");
	}
	content = json_get(json_get(p, "alert"), "content");
	for (i = 0; content != NULL && content->j_type == JSON_OBJECT &&
	    i < content->j_u.obj.n && i < SLACK_MAX_FIELDS; i++) {
		v = content->j_u.obj.m[i].m_val;
		buf_adds(&b, "\n*");
		slack_escape(&b, content->j_u.obj.m[i].m_key,
		    strlen(content->j_u.obj.m[i].m_key));
		buf_adds(&b, "*: ");
		t = v->j_type == JSON_STRING ? xstrdup(v->j_u.str.s) :
		    json_to_string(v, NULL);
		slack_escape(&b, t, strlen(t) > SLACK_MAX_VALUE ?
		    SLACK_MAX_VALUE : strlen(t));
		free(t);
	}
	if (content != NULL && content->j_type == JSON_OBJECT &&
	    content->j_u.obj.n > SLACK_MAX_FIELDS)
		buf_printf(&b, "\n(%zu more fields)",
		    content->j_u.obj.n - SLACK_MAX_FIELDS);
	if ((s = notify_str(p, "links.alert")) != NULL) {
		buf_adds(&b, "\n<");
		slack_escape(&b, s, strlen(s));
		buf_adds(&b, "|alert>");
	}
	if ((s = notify_str(p, "links.source")) != NULL) {
		buf_adds(&b, s != NULL && notify_str(p, "links.alert") !=
		    NULL ? " · <" : "\n<");
		slack_escape(&b, s, strlen(s));
		buf_adds(&b, "|source>");
	}
	return (buf_steal(&b, NULL));
}

static void
slack_resp(struct delivery *d, const struct notify_resp *nr, void *arg)
{
	enum delivery_result	 res;
	char			*err = NULL;

	res = notify_http_verdict(nr);
	if (res != DELIVERY_OK) {
		if (nr->nr_error != NULL)
			err = xprintf("%s", nr->nr_error);
		else
			err = xprintf("slack: HTTP %ld: %.*s", nr->nr_status,
			    (int)(nr->nr_len < SLACK_ERR_BODY ? nr->nr_len :
			    SLACK_ERR_BODY), nr->nr_body);
	}
	delivery_done(d, res, NULL, err, nr->nr_retry_after);
	free(err);
}

static void
slack_deliver(struct delivery *d)
{
	const char	*hdr[] = { "Content-Type: application/json", NULL };
	const char	*v;
	struct buf	 b = BUF_INIT;
	char		*text;

	text = slack_text(delivery_payload(d));
	buf_adds(&b, "{\"text\":");
	json_append_string(&b, text, strlen(text));
	if ((v = delivery_opt(d, "channel")) != NULL) {
		buf_adds(&b, ",\"channel\":");
		json_append_string(&b, v, strlen(v));
	}
	if ((v = delivery_opt(d, "username")) != NULL) {
		buf_adds(&b, ",\"username\":");
		json_append_string(&b, v, strlen(v));
	}
	if ((v = delivery_opt(d, "icon_emoji")) != NULL) {
		buf_adds(&b, ",\"icon_emoji\":");
		json_append_string(&b, v, strlen(v));
	}
	buf_adds(&b, "}");
	notify_http(d, "POST", delivery_opt(d, "url"), hdr, b.b_data,
	    b.b_len, slack_resp, NULL);
	buf_free(&b);
	free(text);
}

const struct target_ops target_slack_ops = {
	"slack",
	slack_check,
	slack_deliver
};
