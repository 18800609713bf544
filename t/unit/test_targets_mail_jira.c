/*
 * test_targets_mail_jira.c -- the email and jira targets of 411-notify,
 * driven through t/unit/mock_notify.c against real receivers: an aiosmtpd
 * server (t/lib/smtp_sink.py) and a JIRA stand-in (t/lib/jira_fake.py).
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "json.h"
#include "notify.h"
#include "tap.h"
#include "xmalloc.h"

/* t/unit/mock_notify.c */
struct delivery	*mock_delivery_new(const struct config_target *, const char *,
		    const char *, const char *, int);
int		 mock_delivery_run(struct delivery *);
int		 mock_delivery_done(const struct delivery *,
		    enum delivery_result *, const char **, const char **,
		    const char **);
void		 mock_delivery_free(struct delivery *);

extern const struct target_ops target_email_ops, target_jira_ops;

#define PY	"/usr/bin/python3"

static pid_t	 pids[2];
static int	 npids;

static const char *alert_payload =
    "{\"schema\":\"411.event.v1\",\"event_id\":\"EV\","
    "\"event_type\":\"alert.created\","
    "\"occurred_at\":\"2026-11-23T19:30:05Z\","
    "\"search\":{\"id\":42,\"name\":\"SSH br\\u00fbte force\","
    "\"priority\":\"high\",\"category\":\"security\",\"owner\":\"alice\"},"
    "\"alert\":{\"id\":81234,\"priority\":\"high\",\"state\":\"new\","
    "\"assignee\":\"group:secops\",\"time\":\"2026-11-23T19:29:41Z\","
    "\"count\":1,\"content\":{\"host\":\"<script>alert(1)</script>\","
    "\"user\":\"root\",\"evil\":\"x\\r\\nBcc: victim@example.org\","
    "\"markup\":\"{code}rm -rf{code} [x|http://evil] *b* a|b\","
    "\"long\":\"LONGVALUE\"}},"
    "\"links\":{\"alert\":\"http://411.example/#/alerts/81234\","
    "\"source\":\"javascript:alert(2)\"}}";

static const char *failed_payload =
    "{\"schema\":\"411.event.v1\",\"event_id\":\"EVF\","
    "\"event_type\":\"search.failed\","
    "\"search\":{\"id\":7,\"name\":\"Disk full\",\"owner\":\"bob\"},"
    "\"error\":{\"message\":\"connection refused <es>\","
    "\"since\":\"2026-11-23T19:00:00Z\"}}";

static void
stop_servers(void)
{
	int	 i;

	for (i = 0; i < npids; i++) {
		kill(pids[i], SIGTERM);
		waitpid(pids[i], NULL, 0);
	}
	npids = 0;
}

/* Start a python server writing DIR/port; returns the port or -1. */
static int
start_server(const char *script, const char *dir, const char *a1,
    const char *a2)
{
	char	*path, *pf, buf[32];
	pid_t	 pid;
	FILE	*f;
	int	 i, port = -1;

	path = test_file_path(script);
	mkdir(dir, 0700);
	if ((pid = fork()) == -1)
		bail("fork");
	if (pid == 0) {
		execl(PY, PY, path, dir, a1, a2, (char *)NULL);
		_exit(127);
	}
	pids[npids++] = pid;
	free(path);
	pf = xprintf("%s/port", dir);
	for (i = 0; i < 600 && port == -1; i++) {
		if ((f = fopen(pf, "r")) != NULL) {
			if (fgets(buf, sizeof buf, f) != NULL)
				port = atoi(buf);
			fclose(f);
		}
		if (port == -1)
			usleep(50000);
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			npids--;
			break;
		}
	}
	free(pf);
	return (port);
}

static char *
slurp(const char *path)
{
	FILE		*f;
	struct buf	 b = BUF_INIT;
	char		 chunk[4096];
	size_t		 n;

	if ((f = fopen(path, "r")) == NULL)
		return (NULL);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	buf_add(&b, "", 0);
	return (buf_steal(&b, NULL));
}

static struct json *
read_json(const char *dir, const char *name)
{
	char		*p, *s, err[128];
	struct json	*j = NULL;

	p = xprintf("%s/%s", dir, name);
	if ((s = slurp(p)) != NULL)
		j = json_parse(s, strlen(s), err, sizeof err);
	free(p);
	free(s);
	return (j);
}

/* A target from "name value" pairs; all strings borrowed. */
static struct config_target *
target(const char *type, ...)
{
	static struct config_target	 ct[64];
	static struct config_opt	 opts[64][24];
	static int			 n;
	struct config_target		*t;
	const char			*k, *v;
	va_list				 ap;

	if (n == 64)
		bail("too many targets");
	t = &ct[n];
	memset(t, 0, sizeof *t);
	t->ct_name = (char *)(uintptr_t)"t";
	t->ct_type = (char *)(uintptr_t)type;
	t->ct_opts = opts[n];
	va_start(ap, type);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		opts[n][t->ct_nopts].co_name = (char *)(uintptr_t)k;
		opts[n][t->ct_nopts].co_value = (char *)(uintptr_t)v;
		t->ct_nopts++;
	}
	va_end(ap);
	n++;
	return (t);
}

/* Deliver one event; returns the number of requests made. */
static int
deliver(const struct target_ops *ops, struct config_target *ct,
    const char *payload, const char *id, const char *type, int attempt,
    enum delivery_result *res, char **ref, char **err, char **ra)
{
	struct delivery	*d;
	const char	*r, *e, *a;
	int		 n, done;

	d = mock_delivery_new(ct, payload, id, type, attempt);
	ops->to_deliver(d);
	n = mock_delivery_run(d);
	done = mock_delivery_done(d, res, &r, &e, &a);
	if (done != 1)
		diag("delivery_done called %d times", done);
	*ref = r != NULL ? xstrdup(r) : NULL;
	*err = e != NULL ? xstrdup(e) : NULL;
	if (ra != NULL)
		*ra = a != NULL ? xstrdup(a) : NULL;
	mock_delivery_free(d);
	return (done == 1 ? n : -1);
}

static const char *
header(const struct json *mail, const char *name)
{
	const struct json	*h = json_get(mail, "headers");
	size_t			 i;

	for (i = 0; i < json_len(h); i++)
		if (strcasecmp(json_str(json_at(json_at(h, i), 0)), name) == 0)
			return (json_str(json_at(json_at(h, i), 1)));
	return (NULL);
}

static int
count_header(const struct json *mail, const char *name)
{
	const struct json	*h = json_get(mail, "headers");
	size_t			 i;
	int			 n = 0;

	for (i = 0; i < json_len(h); i++)
		if (strcasecmp(json_str(json_at(json_at(h, i), 0)), name) == 0)
			n++;
	return (n);
}

static char *
with_long(const char *payload, size_t n)
{
	struct buf	 b = BUF_INIT;
	const char	*p = strstr(payload, "LONGVALUE");
	size_t		 i;

	buf_add(&b, payload, (size_t)(p - payload));
	for (i = 0; i < n; i++)
		buf_addc(&b, "abcdefgh=. "[i % 11]);
	buf_adds(&b, p + 9);
	return (buf_steal(&b, NULL));
}

static void
test_email_check(void)
{
	char	 err[256];
	const char *ok_url = "smtp://127.0.0.1:25";

#define CHECK_BAD(what, ...) do {					\
	err[0] = '\0';							\
	ok(target_email_ops.to_check(target("email", __VA_ARGS__, NULL),\
	    err, sizeof err) == -1 && strstr(err, what) != NULL,	\
	    "email: refused, names %s: %s", what, err);			\
} while (0)

	ok(target_email_ops.to_check(target("email", "url", ok_url, "from",
	    "411 <a@example.test>", "to", "b@example.test, c@example.test",
	    "starttls", "no", "format", "content", NULL), err, sizeof err) == 0,
	    "email: a good target passes");
	CHECK_BAD("option url", "from", "a@x.test", "to", "b@x.test");
	CHECK_BAD("option url", "url", "http://x", "from", "a@x.test",
	    "to", "b@x.test");
	CHECK_BAD("option url", "url", "smtp://", "from", "a@x.test",
	    "to", "b@x.test");
	CHECK_BAD("option from", "url", ok_url, "to", "b@x.test");
	CHECK_BAD("option from", "url", ok_url, "from", "not an address",
	    "to", "b@x.test");
	CHECK_BAD("option from", "url", ok_url, "from", "a@x.test\r\nBcc: v@x",
	    "to", "b@x.test");
	CHECK_BAD("option to", "url", ok_url, "from", "a@x.test");
	CHECK_BAD("option to", "url", ok_url, "from", "a@x.test", "to",
	    "b@x.test, <bad>");
	CHECK_BAD("option to", "url", ok_url, "from", "a@x.test", "to",
	    "b@x.test\nBcc: v@x.test");
	CHECK_BAD("option cc", "url", ok_url, "from", "a@x.test", "to",
	    "b@x.test", "cc", "@x.test");
	CHECK_BAD("option starttls", "url", ok_url, "from", "a@x.test", "to",
	    "b@x.test", "starttls", "maybe");
	CHECK_BAD("option format", "url", ok_url, "from", "a@x.test", "to",
	    "b@x.test", "format", "pretty");
	CHECK_BAD("option ca_file", "url", ok_url, "from", "a@x.test", "to",
	    "b@x.test", "ca_file", "/nonexistent/ca.pem");
	CHECK_BAD("user and password", "url", ok_url, "from", "a@x.test",
	    "to", "b@x.test", "user", "u");
	CHECK_BAD("option subject", "url", ok_url, "from", "a@x.test", "to",
	    "b@x.test", "subject", "a\rb");
}

static void
test_jira_check(void)
{
	char	 err[256];
	const char *u = "http://127.0.0.1:1";

#define JCHECK_BAD(what, ...) do {					\
	err[0] = '\0';							\
	ok(target_jira_ops.to_check(target("jira", __VA_ARGS__, NULL),	\
	    err, sizeof err) == -1 && strstr(err, what) != NULL,	\
	    "jira: refused, names %s: %s", what, err);			\
} while (0)

	ok(target_jira_ops.to_check(target("jira", "url", u, "project", "SEC",
	    "token", "t", NULL), err, sizeof err) == 0,
	    "jira: a good target passes");
	JCHECK_BAD("option url", "project", "SEC", "token", "t");
	JCHECK_BAD("option url", "url", "ftp://x", "project", "SEC", "token",
	    "t");
	JCHECK_BAD("option project", "url", u, "token", "t");
	JCHECK_BAD("option token", "url", u, "project", "SEC");
	JCHECK_BAD("option user", "url", u, "project", "SEC", "token", "t",
	    "user", "a:b");
	JCHECK_BAD("option token", "url", u, "project", "SEC", "token",
	    "t\r\nX-Evil: 1");
	JCHECK_BAD("option labels", "url", u, "project", "SEC", "token", "t",
	    "labels", "a\"b");
}

static void
test_email(void)
{
	char			 dir[512], url[64], *ref, *err, *p;
	const char		*s;
	struct config_target	*ct;
	struct json		*m;
	enum delivery_result	 res;
	int			 port, n;

	snprintf(dir, sizeof dir, "%s/smtp", test_tmpdir());
	if ((port = start_server("lib/smtp_sink.py", dir, NULL, NULL)) == -1)
		bail("smtp_sink.py did not start");
	snprintf(url, sizeof url, "smtp://127.0.0.1:%d", port);

	/* 1: the full format, hostile values. */
	p = with_long(alert_payload, 3000);
	ct = target("email", "url", url, "from", "411 Alerts <alerts@example.test>",
	    "to", "oncall@example.test, sec@example.test", "cc",
	    "boss@example.test", NULL);
	n = deliver(&target_email_ops, ct, p, "ev-mail-1", "alert.created", 1,
	    &res, &ref, &err, NULL);
	is_int(n, 1, "email: one SMTP transaction");
	ok(res == DELIVERY_OK, "email: delivered (%s)", err ? err : "");
	ok(ref != NULL && strncmp(ref, "<411.", 5) == 0 &&
	    strstr(ref, "@example.test>") != NULL,
	    "email: the reference is the Message-ID: %s", ref);
	m = read_json(dir, "1.json");
	ok(m != NULL, "email: the sink got the mail");
	is_string(json_str(json_get(m, "mail_from")), "alerts@example.test",
	    "email: envelope from");
	is_int(json_len(json_get(m, "rcpt_tos")), 3, "email: to and cc "
	    "are recipients");
	is_string(json_str(json_get(m, "subject")),
	    "[411] SSH br\xc3\xbbte force (high)",
	    "email: the default subject, decoded");
	ok(strstr(json_str(json_get(m, "raw_headers")),
	    "Subject: =?UTF-8?B?") != NULL,
	    "email: a non-ASCII subject is RFC 2047 encoded");
	ok(header(m, "Date") != NULL && strstr(header(m, "Date"), "+0000"),
	    "email: Date");
	is_string(header(m, "Message-ID"), ref, "email: Message-ID");
	is_string(header(m, "From"), "411 Alerts <alerts@example.test>",
	    "email: From");
	ok(header(m, "To") != NULL &&
	    strstr(header(m, "To"), "oncall@example.test") &&
	    strstr(header(m, "To"), "sec@example.test"), "email: To");
	is_string(header(m, "Cc"), "boss@example.test", "email: Cc");
	is_string(header(m, "MIME-Version"), "1.0", "email: MIME-Version");
	is_string(json_str(json_get(m, "content_type")),
	    "multipart/alternative", "email: multipart/alternative");
	ok(json_len(json_get(m, "parts")) == 2 &&
	    strcmp(json_str(json_at(json_get(m, "parts"), 0)),
	    "text/plain") == 0 &&
	    strcmp(json_str(json_at(json_get(m, "parts"), 1)),
	    "text/html") == 0, "email: a text and an HTML part");
	is_int(count_header(m, "Bcc"), 0, "email: no Bcc header injected");
	s = json_str(json_get(m, "plain"));
	ok(s != NULL && strstr(s, "host: <script>alert(1)</script>") != NULL,
	    "email: text part has the raw value");
	ok(s != NULL && strstr(s, "Priority:") != NULL &&
	    strstr(s, "SSH br\xc3\xbbte force") != NULL,
	    "email: text part in the full format");
	ok(s != NULL && strstr(s, "http://411.example/#/alerts/81234"),
	    "email: text part has the link");
	ok(s != NULL && strstr(s, "abcdefgh=. abc") != NULL &&
	    strstr(s, "abcdefgh=. abcdefgh=. abcdefgh=. abcdefgh=. "
	    "abcdefgh=. abcdefgh=. abcdefgh=. abcdefgh=. ") != NULL,
	    "email: a 3000-byte value survives quoted-printable");
	s = json_str(json_get(m, "html"));
	ok(s != NULL && strstr(s, "&lt;script&gt;alert(1)&lt;/script&gt;"),
	    "email: HTML part escapes <script>");
	ok(s != NULL && strstr(s, "<script>") == NULL,
	    "email: no <script> in the HTML part");
	ok(s != NULL && strstr(s,
	    "<a href=\"http://411.example/#/alerts/81234\">") != NULL,
	    "email: http link in the HTML part");
	ok(s != NULL && strstr(s, "href=\"javascript") == NULL &&
	    strstr(s, "javascript:alert(2)") != NULL,
	    "email: a javascript: URL is text, not a link");
	json_free(m);
	free(p);
	p = xprintf("%s/1.eml", dir);
	{
		char	*raw = slurp(p), *q;
		int	 longest = 0, cur = 0;

		for (q = raw; q != NULL && *q != '\0'; q++) {
			if (*q == '\n') {
				if (cur > longest)
					longest = cur;
				cur = 0;
			} else
				cur++;
		}
		ok(raw != NULL && longest <= 78,
		    "email: no line over 78 characters (%d)", longest);
		q = raw != NULL ? strstr(raw, "\r\n\r\n") : NULL;
		if (q != NULL)
			*q = '\0';
		ok(q != NULL && strstr(raw, "Bcc") == NULL &&
		    strstr(raw, "victim") == NULL,
		    "email: nothing of the value in the header block");
		free(raw);
	}
	free(p);
	free(ref);
	free(err);

	/* 2: a subject template with CR LF in the value. */
	ct = target("email", "url", url, "from", "alerts@example.test", "to",
	    "oncall@example.test", "subject",
	    "[411] {{alert.content.evil}} on {{alert.content.nope}}host",
	    "format", "content", NULL);
	p = with_long(alert_payload, 10);
	n = deliver(&target_email_ops, ct, p, "ev-mail-2", "alert.created", 1,
	    &res, &ref, &err, NULL);
	free(p);
	ok(n == 1 && res == DELIVERY_OK, "email: subject template delivered");
	m = read_json(dir, "2.json");
	is_string(json_str(json_get(m, "subject")),
	    "[411] xBcc: victim@example.org on host",
	    "email: CR LF stripped from the subject, missing field empty");
	is_int(count_header(m, "Bcc"), 0, "email: still no Bcc header");
	ok(json_get(m, "rcpt_tos") != NULL &&
	    json_len(json_get(m, "rcpt_tos")) == 1,
	    "email: the injected address is no recipient");
	s = json_str(json_get(m, "plain"));
	ok(s != NULL && strstr(s, "host: <script>") != NULL &&
	    strstr(s, "Priority:") == NULL && strstr(s, "Search:") == NULL,
	    "email: the content format has only the fields");
	is_string(header(m, "From"), "alerts@example.test",
	    "email: a bare From");
	json_free(m);
	free(ref);
	free(err);

	/* 3: search failure and recovery. */
	ct = target("email", "url", url, "from", "alerts@example.test", "to",
	    "oncall@example.test", NULL);
	n = deliver(&target_email_ops, ct, failed_payload, "ev-mail-3",
	    "search.failed", 1, &res, &ref, &err, NULL);
	ok(n == 1 && res == DELIVERY_OK, "email: search.failed delivered");
	m = read_json(dir, "3.json");
	is_string(json_str(json_get(m, "subject")),
	    "[411] search Disk full failed", "email: search.failed subject");
	s = json_str(json_get(m, "plain"));
	ok(s != NULL && strstr(s, "connection refused <es>") != NULL,
	    "email: the error in the text");
	s = json_str(json_get(m, "html"));
	ok(s != NULL && strstr(s, "connection refused &lt;es&gt;") != NULL,
	    "email: the error escaped in HTML");
	json_free(m);
	free(ref);
	free(err);
	n = deliver(&target_email_ops, ct, failed_payload, "ev-mail-4",
	    "search.recovered", 1, &res, &ref, &err, NULL);
	m = read_json(dir, "4.json");
	is_string(json_str(json_get(m, "subject")),
	    "[411] search Disk full recovered", "email: recovery subject");
	json_free(m);
	free(ref);
	free(err);

	/* issue 11, defect 8: alert templates do not apply to a failure */
	ct = target("email", "url", url, "from", "alerts@example.test", "to",
	    "oncall@example.test", "subject", "[411] {{alert.content.host}}",
	    "body", "Host {{alert.content.host}}", NULL);
	n = deliver(&target_email_ops, ct, failed_payload, "ev-mail-4b",
	    "search.failed", 1, &res, &ref, &err, NULL);
	ok(n == 1 && res == DELIVERY_OK, "email: search.failed with "
	    "templates delivered");
	m = read_json(dir, "5.json");
	is_string(json_str(json_get(m, "subject")),
	    "[411] search Disk full failed", "email: ... its own subject");
	s = json_str(json_get(m, "plain"));
	ok(s != NULL && strstr(s, "connection refused <es>") != NULL,
	    "email: ... and its own body");
	json_free(m);
	free(ref);
	free(err);

	/* 4: a body template. */
	ct = target("email", "url", url, "from", "alerts@example.test", "to",
	    "oncall@example.test", "body",
	    "Host {{alert.content.host}} user {{alert.content.user}}", NULL);
	p = with_long(alert_payload, 10);
	deliver(&target_email_ops, ct, p, "ev-mail-5", "alert.created", 1,
	    &res, &ref, &err, NULL);
	free(p);
	m = read_json(dir, "6.json");
	s = json_str(json_get(m, "plain"));
	ok(s != NULL && strncmp(s, "Host <script>alert(1)</script> user root",
	    40) == 0, "email: the body template in the text part");
	s = json_str(json_get(m, "html"));
	ok(s != NULL && strstr(s,
	    "<pre>Host &lt;script&gt;alert(1)&lt;/script&gt; user root</pre>"),
	    "email: the body template escaped in the HTML part");
	json_free(m);
	free(ref);
	free(err);

	/* 5: errors. */
	p = with_long(alert_payload, 10);
	ct = target("email", "url", url, "from", "alerts@example.test", "to",
	    "oncall@example.test\r\nBcc: victim@example.org", NULL);
	n = deliver(&target_email_ops, ct, p, "ev-mail-6", "alert.created", 1,
	    &res, &ref, &err, NULL);
	ok(n == 0 && res == DELIVERY_FAILED && err != NULL &&
	    strstr(err, "option to") != NULL,
	    "email: CR LF in an address: FAILED, nothing sent: %s", err);
	free(ref);
	free(err);
	ct = target("email", "url", url, "from", "alerts@example.test", "to",
	    "nouser@example.test", NULL);
	n = deliver(&target_email_ops, ct, p, "ev-mail-7", "alert.created", 1,
	    &res, &ref, &err, NULL);
	ok(n == 1 && res == DELIVERY_FAILED && err != NULL &&
	    strstr(err, "550") != NULL, "email: 550: FAILED: %s", err);
	free(ref);
	free(err);
	ct = target("email", "url", url, "from", "alerts@example.test", "to",
	    "busy@example.test", NULL);
	n = deliver(&target_email_ops, ct, p, "ev-mail-8", "alert.created", 1,
	    &res, &ref, &err, NULL);
	ok(n == 1 && res == DELIVERY_RETRY && err != NULL &&
	    strstr(err, "451") != NULL, "email: 451: RETRY: %s", err);
	free(ref);
	free(err);
	ct = target("email", "url", "smtp://127.0.0.1:1", "from",
	    "alerts@example.test", "to", "a@example.test", NULL);
	n = deliver(&target_email_ops, ct, p, "ev-mail-9", "alert.created", 1,
	    &res, &ref, &err, NULL);
	ok(n == 1 && res == DELIVERY_RETRY && err != NULL,
	    "email: server down: RETRY: %s", err);
	free(ref);
	free(err);
	free(p);
	p = xprintf("%s/7.json", dir);
	ok(access(p, F_OK) == -1, "email: no mail for the failed ones");
	free(p);
}

static int
count_lines(const char *dir, const char *name)
{
	char	*p = xprintf("%s/%s", dir, name), *s, *q;
	int	 n = 0;

	if ((s = slurp(p)) != NULL)
		for (q = s; *q != '\0'; q++)
			n += *q == '\n';
	free(p);
	free(s);
	return (n);
}

static void
write_control(const char *dir, const char *text)
{
	char	*p = xprintf("%s/control.json", dir);
	FILE	*f;

	if ((f = fopen(p, "w")) == NULL)
		bail("control.json");
	fputs(text, f);
	fclose(f);
	free(p);
}

static void
test_jira(void)
{
	char			 dir[512], url[64], *ref, *err, *ra, *p;
	struct config_target	*ct;
	struct json		*iss, *req, *f;
	enum delivery_result	 res;
	const char		*s;
	int			 port, n, before;
	size_t			 i;

	snprintf(dir, sizeof dir, "%s/jira", test_tmpdir());
	if ((port = start_server("lib/jira_fake.py", dir, "SEC",
	    "basic:bot:s3cret")) == -1)
		bail("jira_fake.py did not start");
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
	p = with_long(alert_payload, 10);

	/* 1: create, with labels, assignee and watchers. */
	ct = target("jira", "url", url, "project", "SEC", "user", "bot",
	    "token", "s3cret", "labels", "security, ssh", "assignee", "bob",
	    "watchers", "alice, nobody", "issuetype", "Bug", NULL);
	n = deliver(&target_jira_ops, ct, p, "ev-jira-1", "alert.created", 1,
	    &res, &ref, &err, NULL);
	is_int(n, 4, "jira: search, create, two watchers");
	ok(res == DELIVERY_OK, "jira: delivered (%s)", err ? err : "");
	is_string(ref, "SEC-1", "jira: the issue key is the reference");
	free(ref);
	free(err);
	iss = read_json(dir, "issues.json");
	is_int(json_len(iss), 1, "jira: one issue");
	f = json_get(json_at(iss, 0), "fields");
	is_string(json_str(json_get(json_get(f, "project"), "key")), "SEC",
	    "jira: project");
	is_string(json_str(json_get(json_get(f, "issuetype"), "name")), "Bug",
	    "jira: issue type");
	is_string(json_str(json_get(f, "summary")),
	    "[411] SSH br\xc3\xbbte force (high)", "jira: summary");
	is_string(json_str(json_get(json_get(f, "assignee"), "name")), "bob",
	    "jira: assignee");
	{
		const struct json	*l = json_get(f, "labels");
		int			 seen = 0;

		for (i = 0; i < json_len(l); i++) {
			s = json_str(json_at(l, i));
			seen |= strcmp(s, "411") == 0 ? 1 : 0;
			seen |= strcmp(s, "security") == 0 ? 2 : 0;
			seen |= strcmp(s, "ssh") == 0 ? 4 : 0;
			seen |= strcmp(s, "411-ev-jira-1") == 0 ? 8 : 0;
		}
		is_int(seen, 15, "jira: labels 411, extra ones, 411-<event id>");
	}
	s = json_str(json_get(f, "description"));
	ok(s != NULL && strstr(s, "\\{code\\}rm \\-rf\\{code\\} \\[x\\|"
	    "http://evil\\] \\*b\\* a\\|b") != NULL,
	    "jira: JIRA specials escaped in the description");
	ok(s != NULL && strstr(s, "{code}") == NULL &&
	    strstr(s, "[x|") == NULL, "jira: no live markup from values");
	ok(s != NULL && strstr(s,
	    "[Alert in 411|http://411.example/#/alerts/81234]") != NULL,
	    "jira: a link to the alert");
	ok(s != NULL && strstr(s, "|javascript") == NULL,
	    "jira: a javascript: URL is no link");
	ok(s != NULL && strstr(s, "|host|<script>alert\\(1\\)</script>|") !=
	    NULL, "jira: content fields in a table");
	is_int(json_len(json_get(json_at(iss, 0), "watchers")), 1,
	    "jira: the watcher that exists was added");
	is_string(json_str(json_at(json_get(json_at(iss, 0), "watchers"), 0)),
	    "alice", "jira: watcher alice");
	json_free(iss);
	/* The requests. */
	{
		char	*rp = xprintf("%s/requests.jsonl", dir), *all, *nl;
		char	 e2[128];

		all = slurp(rp);
		nl = all != NULL ? strchr(all, '\n') : NULL;
		req = nl != NULL ? json_parse(all, (size_t)(nl - all), e2,
		    sizeof e2) : NULL;
		is_string(json_str(json_get(req, "method")), "GET",
		    "jira: first a search");
		ok(json_str(json_get(req, "path")) != NULL &&
		    strstr(json_str(json_get(req, "path")),
		    "/rest/api/2/search?jql=labels%20%3D%20%22411-ev-jira-1%22")
		    != NULL, "jira: by the event's label: %s",
		    json_str(json_get(req, "path")));
		is_string(json_str(json_get(req, "auth")),
		    "Basic Ym90OnMzY3JldA==", "jira: basic auth of user:token");
		json_free(req);
		free(all);
		free(rp);
	}

	/* 2: the same event again: found, not created. */
	before = count_lines(dir, "requests.jsonl");
	n = deliver(&target_jira_ops, ct, p, "ev-jira-1", "alert.created", 2,
	    &res, &ref, &err, NULL);
	ok(n == 1 && res == DELIVERY_OK, "jira: a retry only searches");
	is_string(ref, "SEC-1", "jira: and finds the issue");
	is_int(count_lines(dir, "requests.jsonl") - before, 1,
	    "jira: one request");
	iss = read_json(dir, "issues.json");
	is_int(json_len(iss), 1, "jira: no second issue");
	json_free(iss);
	free(ref);
	free(err);

	/* 3: created, answer lost, retried: still one issue. */
	ct = target("jira", "url", url, "project", "SEC", "user", "bot",
	    "token", "s3cret", NULL);
	write_control(dir, "{\"create\":[\"lost\"]}");
	n = deliver(&target_jira_ops, ct, p, "ev-jira-2", "alert.created", 1,
	    &res, &ref, &err, NULL);
	ok(n == 2 && res == DELIVERY_RETRY && err != NULL &&
	    strstr(err, "502") != NULL, "jira: a lost answer: RETRY: %s", err);
	free(ref);
	free(err);
	n = deliver(&target_jira_ops, ct, p, "ev-jira-2", "alert.created", 2,
	    &res, &ref, &err, NULL);
	ok(n == 1 && res == DELIVERY_OK, "jira: the retry finds it");
	is_string(ref, "SEC-2", "jira: with its key");
	iss = read_json(dir, "issues.json");
	is_int(json_len(iss), 2, "jira: no duplicate after the lost answer");
	json_free(iss);
	free(ref);
	free(err);

	/* 4: 503 with Retry-After, then 429. */
	write_control(dir, "{\"create\":[503,429],\"retry_after\":7}");
	n = deliver(&target_jira_ops, ct, p, "ev-jira-3", "alert.created", 1,
	    &res, &ref, &err, &ra);
	ok(res == DELIVERY_RETRY && err != NULL && strstr(err, "503"),
	    "jira: 503: RETRY: %s", err);
	is_string(ra, "7", "jira: Retry-After passed on");
	free(ref);
	free(err);
	free(ra);
	n = deliver(&target_jira_ops, ct, p, "ev-jira-3", "alert.created", 2,
	    &res, &ref, &err, &ra);
	ok(res == DELIVERY_RETRY && err != NULL && strstr(err, "429"),
	    "jira: 429: RETRY: %s", err);
	free(ref);
	free(err);
	free(ra);
	n = deliver(&target_jira_ops, ct, p, "ev-jira-3", "alert.created", 3,
	    &res, &ref, &err, NULL);
	ok(res == DELIVERY_OK, "jira: then created");
	is_string(ref, "SEC-3", "jira: SEC-3");
	free(ref);
	free(err);

	/* 5: 400 and 401: FAILED with JIRA's words. */
	ct = target("jira", "url", url, "project", "NOPE", "user", "bot",
	    "token", "s3cret", NULL);
	n = deliver(&target_jira_ops, ct, p, "ev-jira-4", "alert.created", 1,
	    &res, &ref, &err, NULL);
	ok(res == DELIVERY_FAILED && err != NULL &&
	    strstr(err, "400") != NULL &&
	    strstr(err, "project: valid project is required") != NULL,
	    "jira: 400: FAILED with the errors: %s", err);
	free(ref);
	free(err);
	ct = target("jira", "url", url, "project", "SEC", "token", "pat-1",
	    NULL);
	before = count_lines(dir, "requests.jsonl");
	n = deliver(&target_jira_ops, ct, p, "ev-jira-5", "alert.created", 1,
	    &res, &ref, &err, NULL);
	ok(n == 1 && res == DELIVERY_FAILED && err != NULL &&
	    strstr(err, "401") != NULL &&
	    strstr(err, "not authenticated") != NULL,
	    "jira: 401: FAILED with the message: %s", err);
	free(ref);
	free(err);
	{
		char	*rp = xprintf("%s/requests.jsonl", dir), *all, *q;
		char	 e2[128];
		int	 k;

		all = slurp(rp);
		for (q = all, k = 0; q != NULL && k < before; k++)
			q = strchr(q, '\n') + 1;
		req = q != NULL ? json_parse(q, strcspn(q, "\n"), e2,
		    sizeof e2) : NULL;
		is_string(json_str(json_get(req, "auth")), "Bearer pat-1",
		    "jira: a token alone is a bearer token");
		json_free(req);
		free(all);
		free(rp);
	}

	/* 6: a summary template over a value with CR LF: one line. */
	ct = target("jira", "url", url, "project", "SEC", "user", "bot",
	    "token", "s3cret", "summary", "{{alert.content.evil}}",
	    "description", "h1. {{search.name}}\n{{alert.content.markup}}",
	    NULL);
	n = deliver(&target_jira_ops, ct, p, "ev-jira-6", "alert.created", 1,
	    &res, &ref, &err, NULL);
	ok(res == DELIVERY_OK, "jira: summary template delivered (%s)",
	    err ? err : "");
	iss = read_json(dir, "issues.json");
	f = json_get(json_at(iss, json_len(iss) - 1), "fields");
	is_string(json_str(json_get(f, "summary")),
	    "xBcc: victim@example.org", "jira: CR LF dropped in the summary");
	is_string(json_str(json_get(f, "description")),
	    "h1. SSH br\xc3\xbbte force\n\\{code\\}rm \\-rf\\{code\\} "
	    "\\[x\\|http://evil\\] \\*b\\* a\\|b",
	    "jira: the description template, values escaped");
	json_free(iss);
	free(ref);
	free(err);

	/* 7: search.failed and a server that is down. */
	ct = target("jira", "url", url, "project", "SEC", "user", "bot",
	    "token", "s3cret", NULL);
	n = deliver(&target_jira_ops, ct, failed_payload, "ev-jira-7",
	    "search.failed", 1, &res, &ref, &err, NULL);
	iss = read_json(dir, "issues.json");
	f = json_get(json_at(iss, json_len(iss) - 1), "fields");
	ok(res == DELIVERY_OK && json_str(json_get(f, "summary")) != NULL &&
	    strcmp(json_str(json_get(f, "summary")),
	    "[411] search Disk full failed") == 0,
	    "jira: a search failure issue");
	s = json_str(json_get(f, "description"));
	ok(s != NULL && strstr(s, "connection refused <es>") != NULL,
	    "jira: with the error");
	json_free(iss);
	free(ref);
	free(err);
	/* issue 11, defect 8: alert templates do not apply to a failure */
	ct = target("jira", "url", url, "project", "SEC", "user", "bot",
	    "token", "s3cret", "summary", "{{alert.content.host}} hit",
	    "description", "host {{alert.content.host}}", NULL);
	n = deliver(&target_jira_ops, ct, failed_payload, "ev-jira-7b",
	    "search.failed", 1, &res, &ref, &err, NULL);
	iss = read_json(dir, "issues.json");
	f = json_get(json_at(iss, json_len(iss) - 1), "fields");
	ok(res == DELIVERY_OK && json_str(json_get(f, "summary")) != NULL &&
	    strcmp(json_str(json_get(f, "summary")),
	    "[411] search Disk full failed") == 0,
	    "jira: a failure's summary, not the alert template");
	s = json_str(json_get(f, "description"));
	ok(s != NULL && strstr(s, "connection refused <es>") != NULL,
	    "jira: ... and its description");
	json_free(iss);
	free(ref);
	free(err);
	n = deliver(&target_jira_ops, ct, failed_payload, "ev-jira-7c",
	    "search.recovered", 1, &res, &ref, &err, NULL);
	ok(n == 0 && res == DELIVERY_SKIPPED, "jira: search.recovered "
	    "skipped, no request");
	ok(err != NULL && strstr(err, "search.recovered") != NULL,
	    "jira: ... saying why (%s)", err != NULL ? err : "");
	free(ref);
	free(err);
	ct = target("jira", "url", "http://127.0.0.1:1", "project", "SEC",
	    "token", "t", NULL);
	n = deliver(&target_jira_ops, ct, p, "ev-jira-8", "alert.created", 1,
	    &res, &ref, &err, NULL);
	ok(n == 1 && res == DELIVERY_RETRY && err != NULL,
	    "jira: server down: RETRY: %s", err);
	free(ref);
	free(err);
	ct = target("jira", "url", url, "token", "t", NULL);
	n = deliver(&target_jira_ops, ct, p, "ev-jira-9", "alert.created", 1,
	    &res, &ref, &err, NULL);
	ok(n == 0 && res == DELIVERY_FAILED && err != NULL &&
	    strstr(err, "option project") != NULL,
	    "jira: a bad target at delivery: FAILED: %s", err);
	free(ref);
	free(err);
	free(p);
}

int
main(void)
{
	int	 have_smtp;

	plan(118);
	atexit(stop_servers);
	signal(SIGPIPE, SIG_IGN);
	test_email_check();
	test_jira_check();
	have_smtp = access(PY, X_OK) == 0 &&
	    system(PY " -c 'import aiosmtpd' 2>/dev/null") == 0;
	if (!have_smtp)
		skip(45, "%s lacks aiosmtpd", PY);
	else
		test_email();
	if (access(PY, X_OK) != 0)
		skip(42, "no %s", PY);
	else
		test_jira();
	return (test_done());
}
