/*
 * target_email.c -- 411-notify's email target: one mail per event through
 * SMTP (notify_smtp), multipart/alternative with a text and an HTML part,
 * both quoted-printable.  Alerts in 411's full and content-only formats,
 * search failure and recovery mails.  Header values from the options are
 * refused when they hold CR, LF or other controls; values from the event
 * reach headers only through TMPL_HEADER (controls dropped) and RFC 2047.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buf.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "notify.h"
#include "template.h"
#include "util.h"
#include "xmalloc.h"

#define EMAIL_MAX_RCPT		100
#define EMAIL_MAX_SUBJECT	900	/* bytes of the subject, before encoding */
#define EMAIL_DEFAULT_SUBJECT	"[411] {{search.name}} ({{alert.priority}})"
#define EMAIL_FAILED_SUBJECT	"[411] search {{search.name}} failed"
#define EMAIL_RECOVERED_SUBJECT	"[411] search {{search.name}} recovered"
#define EMAIL_SUMMARY_SUBJECT	"[411] Weekly summary: {{digest.from}} to " \
				"{{digest.to}}"

/* The state of one delivery: what notify_smtp was given. */
struct email_job {
	char	*ej_msg;
	size_t	 ej_len;
	char	*ej_from;
	char	**ej_rcpt;		/* NULL-terminated */
	size_t	 ej_nrcpt;
	char	*ej_msgid;
};

static const char *email_opt(const struct config_target *,
		    const struct delivery *, const char *);
static int	 email_header_ok(const char *);
static int	 email_addr_ok(const char *, size_t);
static int	 email_from_split(const char *, char **, char **);
static int	 email_list_split(const char *, char ***, size_t *);
static void	 email_list_free(char **);
static int	 email_validate(const struct config_target *,
		    const struct delivery *, char *, size_t);
static void	 email_qp(struct buf *, const char *, size_t);
static void	 email_subject(struct buf *, const char *);
static void	 email_date(struct buf *);
static void	 email_row(struct buf *, struct buf *, const char *,
		    const struct json *);
static void	 email_alert(struct buf *, struct buf *, const struct json *,
		    int);
static void	 email_links(struct buf *, struct buf *, const struct json *);
static void	 email_bodies(const struct delivery *, struct buf *,
		    struct buf *);
static int64_t	 email_int(const struct json *);
static void	 email_digest_subject(const struct json *, struct buf *);
static void	 email_digest(const struct json *, int, struct buf *,
		    struct buf *);
static void	 email_summary(const struct json *, struct buf *,
		    struct buf *);
static void	 email_job_free(void *);
static void	 email_sent_cb(struct delivery *, const struct notify_resp *,
		    void *);
static int	 email_check(const struct config_target *, char *, size_t);
static void	 email_deliver(struct delivery *);

const struct target_ops target_email_ops = {
	"email", email_check, email_deliver
};

/* An option from the delivery when there is one, else from the target. */
static const char *
email_opt(const struct config_target *ct, const struct delivery *d,
    const char *name)
{
	if (d != NULL)
		return (delivery_opt(d, name));
	return (config_target_opt(ct, name));
}

/* True when s may go into a header: no CR, LF or other controls. */
static int
email_header_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return (0);
	return (1);
}

/* An addr-spec: printable ASCII, one @, no specials, both halves set. */
static int
email_addr_ok(const char *s, size_t n)
{
	size_t	 i, at = n;

	if (n == 0 || n > 254)
		return (0);
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return (0);
		if (strchr("<>()[]\\,;:\"", s[i]) != NULL)
			return (0);
		if (s[i] == '@') {
			if (at != n)
				return (0);
			at = i;
		}
	}
	return (at > 0 && at + 1 < n);
}

/*
 * Split "addr" or "Name <addr>" into the address and the display name
 * (NULL when none).  -1 when it is neither.
 */
static int
email_from_split(const char *s, char **addr, char **name)
{
	const char	*lt, *gt, *e;

	*addr = *name = NULL;
	if ((lt = strchr(s, '<')) == NULL) {
		if (!email_addr_ok(s, strlen(s)))
			return (-1);
		*addr = xstrdup(s);
		return (0);
	}
	gt = strchr(lt, '>');
	if (gt == NULL || gt[1] != '\0' || !email_addr_ok(lt + 1,
	    (size_t)(gt - lt - 1)))
		return (-1);
	for (e = s; e < lt; e++)
		if (*e == '"' || *e == '\\' || (unsigned char)*e < 0x20 ||
		    (unsigned char)*e >= 0x7f)
			return (-1);
	e = lt;
	while (e > s && e[-1] == ' ')
		e--;
	while (s < e && *s == ' ')
		s++;
	*addr = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	if (e > s)
		*name = xstrndup(s, (size_t)(e - s));
	return (0);
}

/* Split a comma-separated address list; -1 when an address is bad. */
static int
email_list_split(const char *s, char ***out, size_t *np)
{
	char	**v = NULL;
	size_t	  n = 0;
	const char *a, *b, *e;

	for (a = s;; a = e + 1) {
		if ((e = strchr(a, ',')) == NULL)
			e = a + strlen(a);
		b = e;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b > a) {
			if (!email_addr_ok(a, (size_t)(b - a)) ||
			    n == EMAIL_MAX_RCPT) {
				v = xreallocarray(v, n + 1, sizeof *v);
				v[n] = NULL;
				email_list_free(v);
				return (-1);
			}
			v = xreallocarray(v, n + 2, sizeof *v);
			v[n++] = xstrndup(a, (size_t)(b - a));
			v[n] = NULL;
		}
		if (*e == '\0')
			break;
	}
	*out = v;
	*np = n;
	return (0);
}

static void
email_list_free(char **v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Check the options (of the target, or of a delivery when d is set). */
static int
email_validate(const struct config_target *ct, const struct delivery *d,
    char *err, size_t len)
{
	static const char *const hdr[] = { "url", "from", "to", "cc",
	    "user", "password", "subject", "body", "ca_file",
	    "digest_subject", NULL };
	const char	*v;
	char		*addr, *name, **list;
	size_t		 i, n;

	for (i = 0; hdr[i] != NULL; i++) {
		if ((v = email_opt(ct, d, hdr[i])) != NULL &&
		    !email_header_ok(v)) {
			snprintf(err, len, "option %s: CR, LF or another "
			    "control character", hdr[i]);
			return (-1);
		}
	}
	if ((v = email_opt(ct, d, "url")) == NULL) {
		snprintf(err, len, "option url is required (smtp://HOST:PORT "
		    "or smtps://HOST:PORT)");
		return (-1);
	}
	if ((strncmp(v, "smtp://", 7) != 0 || v[7] == '\0' || v[7] == '/') &&
	    (strncmp(v, "smtps://", 8) != 0 || v[8] == '\0' || v[8] == '/')) {
		snprintf(err, len, "option url: \"%s\" is not smtp://HOST[:PORT]"
		    " or smtps://HOST[:PORT]", v);
		return (-1);
	}
	if ((v = email_opt(ct, d, "from")) == NULL) {
		snprintf(err, len, "option from is required");
		return (-1);
	}
	if (email_from_split(v, &addr, &name) == -1) {
		snprintf(err, len, "option from: \"%s\" is not an address or "
		    "Name <address> (ASCII)", v);
		return (-1);
	}
	free(addr);
	free(name);
	if ((v = email_opt(ct, d, "to")) == NULL) {
		snprintf(err, len, "option to is required");
		return (-1);
	}
	list = NULL;
	n = 0;
	if (email_list_split(v, &list, &n) == -1 || n == 0) {
		email_list_free(list);
		snprintf(err, len, "option to: \"%s\" is not a list of at "
		    "most %d addresses", v, EMAIL_MAX_RCPT);
		return (-1);
	}
	email_list_free(list);
	if ((v = email_opt(ct, d, "cc")) != NULL) {
		if (email_list_split(v, &list, &n) == -1) {
			snprintf(err, len, "option cc: \"%s\" is not a list of "
			    "addresses", v);
			return (-1);
		}
		email_list_free(list);
	}
	if ((v = email_opt(ct, d, "starttls")) != NULL &&
	    strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) {
		snprintf(err, len, "option starttls: \"%s\" is not yes or no",
		    v);
		return (-1);
	}
	if ((v = email_opt(ct, d, "format")) != NULL &&
	    strcmp(v, "full") != 0 && strcmp(v, "content") != 0) {
		snprintf(err, len, "option format: \"%s\" is not full or "
		    "content", v);
		return (-1);
	}
	if ((v = email_opt(ct, d, "ca_file")) != NULL &&
	    access(v, R_OK) == -1) {
		snprintf(err, len, "option ca_file: %s: cannot read it", v);
		return (-1);
	}
	if ((email_opt(ct, d, "user") == NULL) !=
	    (email_opt(ct, d, "password") == NULL)) {
		snprintf(err, len, "options user and password go together");
		return (-1);
	}
	return (0);
}

/* Check a target's options (411-notify -n and start). */
static int
email_check(const struct config_target *ct, char *err, size_t len)
{
	return (email_validate(ct, NULL, err, len));
}

/*
 * Append n bytes as quoted-printable (RFC 2045): lines end in CRLF, at
 * most 76 characters, soft breaks "=" CRLF.
 */
static void
email_qp(struct buf *b, const char *s, size_t n)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, col = 0, w;
	char			 e[4];
	int			 eol;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		if (p[i] == '\n') {
			buf_add(b, "\r\n", 2);
			col = 0;
			continue;
		}
		eol = i + 1 == n || p[i + 1] == '\n' ||
		    (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n');
		if ((p[i] >= 33 && p[i] <= 126 && p[i] != '=') ||
		    ((p[i] == ' ' || p[i] == '\t') && !eol)) {
			e[0] = (char)p[i];
			w = 1;
		} else {
			e[0] = '=';
			e[1] = hex[p[i] >> 4];
			e[2] = hex[p[i] & 0xf];
			w = 3;
		}
		if (col + w > 75) {
			buf_add(b, "=\r\n", 3);
			col = 0;
		}
		buf_add(b, e, w);
		col += w;
	}
	buf_add(b, "\r\n", 2);
}

/* The Subject header: as is when ASCII, else RFC 2047 encoded words. */
static void
email_subject(struct buf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), i, start, k = 1;
	int			 ascii = 1, first = 1;
	unsigned char		 out[128];

	if (n > EMAIL_MAX_SUBJECT) {
		n = EMAIL_MAX_SUBJECT;
		while (n > 0 && (p[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++)
		if (p[i] >= 0x80)
			ascii = 0;
	buf_adds(b, "Subject: ");
	if (ascii) {
		buf_add(b, s, n);
		buf_add(b, "\r\n", 2);
		return;
	}
	/* Encoded words of at most 45 bytes (60 of base64), whole chars. */
	for (start = 0; start < n; start = i) {
		for (i = start; i < n; i += k) {
			k = 1;
			if (p[i] >= 0xc0)
				while (i + k < n && (p[i + k] & 0xc0) == 0x80)
					k++;
			if (i + k - start > 45)
				break;
		}
		if (i == start)
			i = start + k;	/* never happens with valid UTF-8 */
		EVP_EncodeBlock(out, p + start, (int)(i - start));
		if (!first)
			buf_add(b, "\r\n ", 3);
		first = 0;
		buf_printf(b, "=?UTF-8?B?%s?=", (char *)out);
	}
	buf_add(b, "\r\n", 2);
}

/* The Date header, RFC 5322, in UTC. */
static void
email_date(struct buf *b)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t		 t = (time_t)util_now();
	struct tm	 tm;

	gmtime_r(&t, &tm);
	buf_printf(b, "Date: %s, %d %s %d %02d:%02d:%02d +0000\r\n",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A "Name: value" line of text and a row of the HTML table. */
static void
email_row(struct buf *text, struct buf *html, const char *name,
    const struct json *v)
{
	if (v == NULL || v->j_type == JSON_NULL ||
	    (v->j_type == JSON_STRING && v->j_u.str.len == 0))
		return;
	buf_printf(text, "%-10s ", name);
	tmpl_put_value(v, TMPL_TEXT, text);
	buf_addc(text, '\n');
	buf_printf(html, "<tr><th align=\"left\">%s</th><td>", name);
	tmpl_put_value(v, TMPL_HTML, html);
	buf_adds(html, "</td></tr>\n");
}

/* One alert: its facts (full format) and its content fields. */
static void
email_alert(struct buf *text, struct buf *html, const struct json *a,
    int full)
{
	const struct json	*c;
	size_t			 i;

	if (full) {
		buf_adds(html, "<table>\n");
		email_row(text, html, "Alert:", json_get(a, "id"));
		email_row(text, html, "State:", json_get(a, "state"));
		email_row(text, html, "Resolution:",
		    json_get(a, "resolution"));
		email_row(text, html, "Priority:", json_get(a, "priority"));
		email_row(text, html, "Assignee:", json_get(a, "assignee"));
		email_row(text, html, "Time:", json_get(a, "time"));
		email_row(text, html, "Count:", json_get(a, "count"));
		buf_adds(html, "</table>\n");
		buf_addc(text, '\n');
	}
	c = json_get(a, "content");
	if (c == NULL || c->j_type != JSON_OBJECT)
		return;
	buf_adds(html, "<table border=\"1\" cellpadding=\"3\" "
	    "style=\"border-collapse:collapse\">\n");
	for (i = 0; i < c->j_u.obj.n; i++) {
		tmpl_put_str(c->j_u.obj.m[i].m_key, c->j_u.obj.m[i].m_klen,
		    TMPL_TEXT, text);
		buf_adds(text, ": ");
		tmpl_put_value(c->j_u.obj.m[i].m_val, TMPL_TEXT, text);
		buf_addc(text, '\n');
		buf_adds(html, "<tr><th align=\"left\">");
		tmpl_put_str(c->j_u.obj.m[i].m_key, c->j_u.obj.m[i].m_klen,
		    TMPL_HTML, html);
		buf_adds(html, "</th><td>");
		tmpl_put_value(c->j_u.obj.m[i].m_val, TMPL_HTML, html);
		buf_adds(html, "</td></tr>\n");
	}
	buf_adds(html, "</table>\n");
}

/* The links of an event; only http(s) URLs become HTML links. */
static void
email_links(struct buf *text, struct buf *html, const struct json *links)
{
	const struct json_member	*m;
	const char			*u;
	size_t				 i;

	if (links == NULL || links->j_type != JSON_OBJECT)
		return;
	for (i = 0; i < links->j_u.obj.n; i++) {
		m = &links->j_u.obj.m[i];
		if ((u = json_str(m->m_val)) == NULL || *u == '\0')
			continue;
		tmpl_put_str(m->m_key, m->m_klen, TMPL_TEXT, text);
		buf_adds(text, ": ");
		tmpl_put_str(u, strlen(u), TMPL_TEXT, text);
		buf_addc(text, '\n');
		buf_adds(html, "<p>");
		if (strncmp(u, "http://", 7) == 0 ||
		    strncmp(u, "https://", 8) == 0) {
			buf_adds(html, "<a href=\"");
			tmpl_put_str(u, strlen(u), TMPL_HTML, html);
			buf_adds(html, "\">");
			tmpl_put_str(m->m_key, m->m_klen, TMPL_HTML, html);
			buf_adds(html, "</a>");
		} else {
			tmpl_put_str(m->m_key, m->m_klen, TMPL_HTML, html);
			buf_adds(html, ": ");
			tmpl_put_str(u, strlen(u), TMPL_HTML, html);
		}
		buf_adds(html, "</p>\n");
	}
}

/* The text and HTML bodies of the delivery's event. */
static void
email_bodies(const struct delivery *d, struct buf *text, struct buf *html)
{
	const struct json	*p = delivery_payload(d), *s, *alerts, *e;
	const char		*type = delivery_event_type(d), *t, *fmt;
	int			 full;
	size_t			 i;

	fmt = delivery_opt(d, "format");
	full = fmt == NULL || strcmp(fmt, "content") != 0;
	buf_adds(html, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "</head><body>\n");
	/* Digests list many alerts: the per-alert body template is not used. */
	if (strcmp(type, "digest") == 0) {
		if (json_get(p, "summary") != NULL)
			email_summary(p, text, html);
		else
			email_digest(p, full, text, html);
		buf_adds(html, "</body></html>\n");
		return;
	}
	/* The body template is an alert's: a search event has its own. */
	if ((t = delivery_opt(d, "body")) != NULL &&
	    strcmp(type, "search.failed") != 0 &&
	    strcmp(type, "search.recovered") != 0) {
		tmpl_render(t, p, TMPL_TEXT, text);
		buf_adds(html, "<pre>");
		tmpl_render(t, p, TMPL_HTML, html);
		buf_adds(html, "</pre>\n</body></html>\n");
		return;
	}
	s = json_get(p, "search");
	if (strcmp(type, "search.failed") == 0 ||
	    strcmp(type, "search.recovered") == 0) {
		e = json_get(p, "error");
		buf_adds(text, "Search ");
		tmpl_put_value(json_get(s, "name"), TMPL_TEXT, text);
		buf_adds(html, "<h2>Search ");
		tmpl_put_value(json_get(s, "name"), TMPL_HTML, html);
		if (strcmp(type, "search.failed") == 0) {
			buf_adds(text, " failed\n\n");
			buf_adds(html, " failed</h2>\n<table>\n");
			email_row(text, html, "Error:",
			    json_get(e, "message"));
			email_row(text, html, "Since:", json_get(e, "since"));
			email_row(text, html, "Window:",
			    json_get(e, "window"));
		} else {
			buf_adds(text, " recovered\n\n");
			buf_adds(html, " recovered</h2>\n<table>\n");
		}
		email_row(text, html, "Search:", json_get(s, "id"));
		email_row(text, html, "Owner:", json_get(s, "owner"));
		email_row(text, html, "At:", json_get(p, "occurred_at"));
		buf_adds(html, "</table>\n");
		buf_addc(text, '\n');
		email_links(text, html, json_get(p, "links"));
		buf_adds(html, "</body></html>\n");
		return;
	}
	if (full) {
		tmpl_put_value(json_get(s, "name"), TMPL_TEXT, text);
		buf_adds(html, "<h2>");
		tmpl_put_value(json_get(s, "name"), TMPL_HTML, html);
		buf_adds(html, "</h2>\n<table>\n");
		if (strcmp(type, "alert.resolved") == 0)
			buf_adds(text, ": alert resolved");
		else if (strcmp(type, "alert.updated") == 0)
			buf_adds(text, ": alert updated");
		buf_adds(text, "\n\n");
		email_row(text, html, "Search:", json_get(s, "id"));
		email_row(text, html, "Priority:", json_get(s, "priority"));
		email_row(text, html, "Category:", json_get(s, "category"));
		email_row(text, html, "Owner:", json_get(s, "owner"));
		email_row(text, html, "Event:", json_get(p, "event_type"));
		email_row(text, html, "At:", json_get(p, "occurred_at"));
		buf_adds(html, "</table>\n");
		buf_addc(text, '\n');
	}
	alerts = json_get(p, "alerts");
	if (alerts != NULL && alerts->j_type == JSON_ARRAY) {
		for (i = 0; i < json_len(alerts); i++) {
			if (i > 0 || full) {
				buf_adds(html, "<hr>\n");
				if (i > 0)
					buf_addc(text, '\n');
			}
			email_alert(text, html, json_at(alerts, i), full);
		}
	} else if ((e = json_get(p, "alert")) != NULL)
		email_alert(text, html, e, full);
	if (full) {
		buf_addc(text, '\n');
		email_links(text, html, json_get(p, "links"));
	}
	buf_adds(html, "</body></html>\n");
}

/* An integer member, 0 when it is not one. */
static int64_t
email_int(const struct json *j)
{
	double	 d;

	if (j == NULL || !json_num(j, &d))
		return (0);
	return ((int64_t)d);
}

/* "[411] NAME: N alerts (hourly)", or the weekly summary's subject. */
static void
email_digest_subject(const struct json *p, struct buf *subj)
{
	const struct json	*dg = json_get(p, "digest");
	int64_t			 n = email_int(json_get(dg, "count"));

	if (json_get(p, "summary") != NULL) {
		tmpl_render(EMAIL_SUMMARY_SUBJECT, p, TMPL_HEADER, subj);
		return;
	}
	tmpl_render("[411] {{search.name}}: ", p, TMPL_HEADER, subj);
	buf_printf(subj, "%lld alert%s (", (long long)n, n == 1 ? "" : "s");
	tmpl_put_value(json_get(dg, "period"), TMPL_HEADER, subj);
	buf_addc(subj, ')');
}

/* A digest: the search, the period, each alert with its link. */
static void
email_digest(const struct json *p, int full, struct buf *text,
    struct buf *html)
{
	const struct json	*s = json_get(p, "search"), *dg, *alerts, *l;
	const char		*u;
	int64_t			 more;
	size_t			 i;

	dg = json_get(p, "digest");
	alerts = json_get(p, "alerts");
	tmpl_put_value(json_get(s, "name"), TMPL_TEXT, text);
	buf_printf(text, ": %lld alert%s (", (long long)email_int(
	    json_get(dg, "count")), email_int(json_get(dg, "count")) == 1 ?
	    "" : "s");
	tmpl_put_value(json_get(dg, "period"), TMPL_TEXT, text);
	buf_adds(text, " digest)\n\n");
	buf_adds(html, "<h2>");
	tmpl_put_value(json_get(s, "name"), TMPL_HTML, html);
	buf_printf(html, ": %lld alert%s (", (long long)email_int(
	    json_get(dg, "count")), email_int(json_get(dg, "count")) == 1 ?
	    "" : "s");
	tmpl_put_value(json_get(dg, "period"), TMPL_HTML, html);
	buf_adds(html, " digest)</h2>\n<table>\n");
	email_row(text, html, "From:", json_get(dg, "from"));
	email_row(text, html, "To:", json_get(dg, "to"));
	email_row(text, html, "Search:", json_get(s, "id"));
	email_row(text, html, "Priority:", json_get(s, "priority"));
	email_row(text, html, "Category:", json_get(s, "category"));
	email_row(text, html, "Owner:", json_get(s, "owner"));
	buf_adds(html, "</table>\n");
	buf_addc(text, '\n');
	for (i = 0; alerts != NULL && alerts->j_type == JSON_ARRAY &&
	    i < json_len(alerts); i++) {
		buf_adds(html, "<hr>\n");
		buf_printf(text, "-- %zu --\n", i + 1);
		email_alert(text, html, json_at(alerts, i), full);
		l = json_get(p, "alert_links");
		if (l != NULL && l->j_type == JSON_ARRAY && i < json_len(l) &&
		    (u = json_str(json_at(l, i))) != NULL &&
		    (strncmp(u, "http://", 7) == 0 ||
		    strncmp(u, "https://", 8) == 0)) {
			buf_adds(text, "Link: ");
			tmpl_put_str(u, strlen(u), TMPL_TEXT, text);
			buf_addc(text, '\n');
			buf_adds(html, "<p><a href=\"");
			tmpl_put_str(u, strlen(u), TMPL_HTML, html);
			buf_adds(html, "\">View the alert</a></p>\n");
		}
		buf_addc(text, '\n');
	}
	if ((more = email_int(json_get(dg, "more"))) > 0) {
		buf_printf(text, "... and %lld more alert%s.\n",
		    (long long)more, more == 1 ? "" : "s");
		buf_printf(html, "<p>... and %lld more alert%s.</p>\n",
		    (long long)more, more == 1 ? "" : "s");
	}
	buf_adds(html, "<hr>\n");
	email_links(text, html, json_get(p, "links"));
}

/* The weekly summary: one row per search. */
static void
email_summary(const struct json *p, struct buf *text, struct buf *html)
{
	const struct json	*dg = json_get(p, "digest"), *rows, *r;
	size_t			 i;

	rows = json_get(p, "summary");
	buf_adds(text, "Weekly summary: ");
	tmpl_put_value(json_get(dg, "from"), TMPL_TEXT, text);
	buf_adds(text, " to ");
	tmpl_put_value(json_get(dg, "to"), TMPL_TEXT, text);
	buf_printf(text, "\n\n%lld new alert%s\n\n",
	    (long long)email_int(json_get(dg, "count")),
	    email_int(json_get(dg, "count")) == 1 ? "" : "s");
	buf_adds(html, "<h2>Weekly summary: ");
	tmpl_put_value(json_get(dg, "from"), TMPL_HTML, html);
	buf_adds(html, " to ");
	tmpl_put_value(json_get(dg, "to"), TMPL_HTML, html);
	buf_printf(html, "</h2>\n<p>%lld new alert%s</p>\n",
	    (long long)email_int(json_get(dg, "count")),
	    email_int(json_get(dg, "count")) == 1 ? "" : "s");
	buf_adds(html, "<table border=\"1\" cellpadding=\"3\" "
	    "style=\"border-collapse:collapse\">\n<tr><th>Search</th>"
	    "<th>Priority</th><th>New alerts</th><th>Open</th>"
	    "<th>Failing</th></tr>\n");
	buf_printf(text, "%-40s %-8s %8s %8s %s\n", "Search", "Priority",
	    "New", "Open", "Failing");
	for (i = 0; rows != NULL && rows->j_type == JSON_ARRAY &&
	    i < json_len(rows); i++) {
		r = json_at(rows, i);
		buf_adds(text, "#");
		tmpl_put_value(json_get(r, "id"), TMPL_TEXT, text);
		buf_adds(text, " ");
		tmpl_put_value(json_get(r, "name"), TMPL_TEXT, text);
		buf_printf(text, ": priority ");
		tmpl_put_value(json_get(r, "priority"), TMPL_TEXT, text);
		buf_printf(text, ", %lld new, %lld open%s\n",
		    (long long)email_int(json_get(r, "alerts")),
		    (long long)email_int(json_get(r, "open")),
		    json_get(r, "failing") != NULL &&
		    json_get(r, "failing")->j_type == JSON_BOOL &&
		    json_get(r, "failing")->j_u.b ? ", failing" : "");
		buf_adds(html, "<tr><td>");
		tmpl_put_value(json_get(r, "name"), TMPL_HTML, html);
		buf_adds(html, "</td><td>");
		tmpl_put_value(json_get(r, "priority"), TMPL_HTML, html);
		buf_printf(html, "</td><td>%lld</td><td>%lld</td><td>%s</td>"
		    "</tr>\n", (long long)email_int(json_get(r, "alerts")),
		    (long long)email_int(json_get(r, "open")),
		    json_get(r, "failing") != NULL &&
		    json_get(r, "failing")->j_type == JSON_BOOL &&
		    json_get(r, "failing")->j_u.b ? "yes" : "");
	}
	buf_adds(html, "</table>\n");
	if (json_len(rows) == 0)
		buf_adds(text, "(no search had alerts or failures)\n");
	buf_addc(text, '\n');
	email_links(text, html, json_get(p, "links"));
}

static void
email_job_free(void *arg)
{
	struct email_job	*ej = arg;

	free(ej->ej_msg);
	free(ej->ej_from);
	email_list_free(ej->ej_rcpt);
	free(ej->ej_msgid);
	free(ej);
}

/* The SMTP answer: 2xx delivered, 4xx and transport errors later, 5xx never. */
static void
email_sent_cb(struct delivery *d, const struct notify_resp *nr, void *arg)
{
	struct email_job	*ej = arg;
	char			 err[512];

	if (nr->nr_status >= 500 && nr->nr_status < 600) {
		snprintf(err, sizeof err, "smtp: %ld: %s", nr->nr_status,
		    nr->nr_error != NULL ? nr->nr_error : "refused");
		delivery_done(d, DELIVERY_FAILED, NULL, err, NULL);
	} else if (nr->nr_status >= 400 && nr->nr_status < 500) {
		snprintf(err, sizeof err, "smtp: %ld: %s", nr->nr_status,
		    nr->nr_error != NULL ? nr->nr_error : "try again later");
		delivery_done(d, DELIVERY_RETRY, NULL, err, NULL);
	} else if (nr->nr_error != NULL || nr->nr_status < 200 ||
	    nr->nr_status >= 300) {
		snprintf(err, sizeof err, "smtp: %s (reply %ld)",
		    nr->nr_error != NULL ? nr->nr_error : "no answer",
		    nr->nr_status);
		delivery_done(d, DELIVERY_RETRY, NULL, err, NULL);
	} else
		delivery_done(d, DELIVERY_OK, ej->ej_msgid, NULL, NULL);
}

/* Build the mail of the delivery's event and send it. */
static void
email_deliver(struct delivery *d)
{
	struct email_job	*ej;
	struct buf		 m = BUF_INIT, text = BUF_INIT, html = BUF_INIT;
	struct buf		 subj = BUF_INIT;
	const char		*v, *type, *id, *dom;
	char			*addr, *name, **to = NULL, **cc = NULL, err[512];
	char			 hexid[17];
	uint8_t			 h[32];
	size_t			 nto, ncc = 0, i;

	if (email_validate(NULL, d, err, sizeof err) == -1) {
		char	 e2[600];

		snprintf(e2, sizeof e2, "email: %s", err);
		delivery_done(d, DELIVERY_FAILED, NULL, e2, NULL);
		return;
	}
	type = delivery_event_type(d);
	id = delivery_event_id(d);
	email_from_split(delivery_opt(d, "from"), &addr, &name);
	email_list_split(delivery_opt(d, "to"), &to, &nto);
	if ((v = delivery_opt(d, "cc")) != NULL)
		email_list_split(v, &cc, &ncc);

	ej = xcalloc(1, sizeof *ej);
	ej->ej_from = addr;
	ej->ej_rcpt = xcalloc(nto + ncc + 1, sizeof *ej->ej_rcpt);
	for (i = 0; i < nto; i++)
		ej->ej_rcpt[ej->ej_nrcpt++] = xstrdup(to[i]);
	for (i = 0; i < ncc; i++)
		ej->ej_rcpt[ej->ej_nrcpt++] = xstrdup(cc[i]);

	/* Message-ID and boundary from the event id: the same on a retry. */
	util_sha256(id, strlen(id), h);
	util_hex(h, 8, hexid);
	dom = strchr(addr, '@') + 1;
	ej->ej_msgid = xprintf("<411.%s@%s>", hexid, dom);

	email_date(&m);
	if (name != NULL)
		buf_printf(&m, "From: \"%s\" <%s>\r\n", name, addr);
	else
		buf_printf(&m, "From: %s\r\n", addr);
	buf_adds(&m, "To: ");
	for (i = 0; i < nto; i++)
		buf_printf(&m, "%s%s", i > 0 ? ",\r\n " : "", to[i]);
	buf_adds(&m, "\r\n");
	if (ncc > 0) {
		buf_adds(&m, "Cc: ");
		for (i = 0; i < ncc; i++)
			buf_printf(&m, "%s%s", i > 0 ? ",\r\n " : "", cc[i]);
		buf_adds(&m, "\r\n");
	}
	if (strcmp(type, "digest") == 0) {
		if ((v = delivery_opt(d, "digest_subject")) != NULL)
			tmpl_render(v, delivery_payload(d), TMPL_HEADER, &subj);
		else
			email_digest_subject(delivery_payload(d), &subj);
		v = NULL;
	} else if (strcmp(type, "search.failed") == 0)
		v = EMAIL_FAILED_SUBJECT;	/* subject is an alert's */
	else if (strcmp(type, "search.recovered") == 0)
		v = EMAIL_RECOVERED_SUBJECT;
	else if ((v = delivery_opt(d, "subject")) == NULL)
		v = EMAIL_DEFAULT_SUBJECT;
	if (v != NULL)
		tmpl_render(v, delivery_payload(d), TMPL_HEADER, &subj);
	email_subject(&m, subj.b_data == NULL ? "" : subj.b_data);
	buf_printf(&m, "Message-ID: %s\r\n", ej->ej_msgid);
	buf_adds(&m, "MIME-Version: 1.0\r\n");
	buf_adds(&m, "Auto-Submitted: auto-generated\r\n");
	buf_adds(&m, "X-411-Event-Type: ");
	tmpl_put_str(type, strlen(type), TMPL_HEADER, &m);
	buf_adds(&m, "\r\n");
	/* "=_" never occurs in quoted-printable text. */
	buf_printf(&m, "Content-Type: multipart/alternative; "
	    "boundary=\"=_411_%s\"\r\n\r\n", hexid);
	buf_adds(&m, "This is a multi-part message in MIME format.\r\n");

	email_bodies(d, &text, &html);
	buf_printf(&m, "\r\n--=_411_%s\r\n", hexid);
	buf_adds(&m, "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	email_qp(&m, text.b_data == NULL ? "" : text.b_data, text.b_len);
	buf_printf(&m, "\r\n--=_411_%s\r\n", hexid);
	buf_adds(&m, "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	email_qp(&m, html.b_data, html.b_len);
	buf_printf(&m, "\r\n--=_411_%s--\r\n", hexid);

	ej->ej_msg = buf_steal(&m, &ej->ej_len);
	buf_free(&text);
	buf_free(&html);
	buf_free(&subj);
	free(name);
	email_list_free(to);
	email_list_free(cc);
	delivery_set_state(d, ej, email_job_free);
	notify_smtp(d, delivery_opt(d, "url"), ej->ej_from,
	    (const char *const *)ej->ej_rcpt, ej->ej_msg, ej->ej_len,
	    email_sent_cb, ej);
}
