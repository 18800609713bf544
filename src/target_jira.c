/*
 * target_jira.c -- 411-notify's jira target: one issue per event through
 * the JIRA REST API v2.  Before creating, the issue is looked up by the
 * label 411-<event id>, so that a retry after a lost answer finds the
 * issue made the first time instead of making a second one.  Watchers are
 * added after the create; a failure there is logged, not a failure of the
 * delivery.
 *
 * search.failed files an issue (a search that stops running is work for
 * someone); search.recovered is skipped, visibly (result "skipped"): 411
 * does not close or comment issues, and an issue saying that all is well
 * again would be noise.  Whoever handles the failure's issue closes it.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "notify.h"
#include "template.h"
#include "util.h"
#include "xmalloc.h"

#define JIRA_DEFAULT_SUMMARY	"[411] {{search.name}} ({{alert.priority}})"
#define JIRA_FAILED_SUMMARY	"[411] search {{search.name}} failed"
#define JIRA_MAX_SUMMARY	255	/* characters */
#define JIRA_MAX_ERROR		400

struct jira_job {
	char	*jj_base;		/* url without the trailing / */
	char	*jj_auth;		/* "Authorization: ..." or NULL */
	const char *jj_hdr[4];
	char	*jj_label;		/* 411-<event id> */
	char	*jj_key;		/* the issue, once known */
	char	*jj_watchers;		/* what is left of the list */
	char	*jj_url;
	char	*jj_body;
	size_t	 jj_blen;
};

static const char *jira_opt(const struct config_target *,
		    const struct delivery *, const char *);
static int	 jira_validate(const struct config_target *,
		    const struct delivery *, char *, size_t);
static int	 jira_check(const struct config_target *, char *, size_t);
static void	 jira_cell(struct buf *, const struct json *);
static void	 jira_row(struct buf *, const char *, const struct json *);
static void	 jira_link(struct buf *, const char *, const char *);
static void	 jira_description(const struct delivery *, struct buf *);
static char	*jira_summary(const struct delivery *);
static void	 jira_error(const struct notify_resp *, const char *, char *,
		    size_t);
static void	 jira_job_free(void *);
static void	 jira_search_cb(struct delivery *, const struct notify_resp *,
		    void *);
static void	 jira_create(struct delivery *, struct jira_job *);
static void	 jira_create_cb(struct delivery *, const struct notify_resp *,
		    void *);
static void	 jira_watch_next(struct delivery *, struct jira_job *);
static void	 jira_watch_cb(struct delivery *, const struct notify_resp *,
		    void *);
static void	 jira_deliver(struct delivery *);

const struct target_ops target_jira_ops = {
	"jira", jira_check, jira_deliver
};

static const char *
jira_opt(const struct config_target *ct, const struct delivery *d,
    const char *name)
{
	if (d != NULL)
		return (delivery_opt(d, name));
	return (config_target_opt(ct, name));
}

/* Check the options (of the target, or of a delivery when d is set). */
static int
jira_validate(const struct config_target *ct, const struct delivery *d,
    char *err, size_t len)
{
	static const char *const nocontrol[] = { "url", "project",
	    "issuetype", "user", "token", "assignee", "watchers", "labels",
	    "summary", NULL };
	const char	*v;
	size_t		 i;

	for (i = 0; nocontrol[i] != NULL; i++) {
		if ((v = jira_opt(ct, d, nocontrol[i])) == NULL)
			continue;
		for (; *v != '\0'; v++)
			if ((unsigned char)*v < 0x20 || *v == 0x7f)
				break;
		if (*v != '\0') {
			snprintf(err, len, "option %s: CR, LF or another "
			    "control character", nocontrol[i]);
			return (-1);
		}
	}
	if ((v = jira_opt(ct, d, "url")) == NULL) {
		snprintf(err, len, "option url is required (the JIRA base "
		    "URL, http:// or https://)");
		return (-1);
	}
	if ((strncmp(v, "http://", 7) != 0 || v[7] == '\0' || v[7] == '/') &&
	    (strncmp(v, "https://", 8) != 0 || v[8] == '\0' || v[8] == '/')) {
		snprintf(err, len, "option url: \"%s\" is not http://HOST... "
		    "or https://HOST...", v);
		return (-1);
	}
	if ((v = jira_opt(ct, d, "project")) == NULL || *v == '\0') {
		snprintf(err, len, "option project is required (a project "
		    "key such as OPS)");
		return (-1);
	}
	if ((v = jira_opt(ct, d, "token")) == NULL || *v == '\0') {
		snprintf(err, len, "option token is required (with user: "
		    "basic auth; alone: a bearer token)");
		return (-1);
	}
	if ((v = jira_opt(ct, d, "user")) != NULL &&
	    (*v == '\0' || strchr(v, ':') != NULL)) {
		snprintf(err, len, "option user: \"%s\" is empty or holds ':'",
		    v);
		return (-1);
	}
	if ((v = jira_opt(ct, d, "labels")) != NULL) {
		for (i = 0; v[i] != '\0'; i++)
			if (v[i] == '"' || v[i] == '\\')
				break;
		if (v[i] != '\0') {
			snprintf(err, len, "option labels: no quotes or "
			    "backslashes in labels");
			return (-1);
		}
	}
	return (0);
}

/* Check a target's options (411-notify -n and start). */
static int
jira_check(const struct config_target *ct, char *err, size_t len)
{
	return (jira_validate(ct, NULL, err, len));
}

/* A table cell: JIRA-escaped, on one line. */
static void
jira_cell(struct buf *b, const struct json *v)
{
	size_t	 from = b->b_len, i;

	tmpl_put_value(v, TMPL_JIRA, b);
	for (i = from; i < b->b_len; i++)
		if (b->b_data[i] == '\n')
			b->b_data[i] = ' ';
	if (b->b_len == from)
		buf_addc(b, ' ');	/* an empty cell needs a character */
}

static void
jira_row(struct buf *b, const char *name, const struct json *v)
{
	if (v == NULL || v->j_type == JSON_NULL)
		return;
	buf_printf(b, "||%s|", name);
	jira_cell(b, v);
	buf_adds(b, "|\n");
}

/* [text|url] when the URL is http(s) and safe in markup, else text. */
static void
jira_link(struct buf *b, const char *text, const char *u)
{
	struct json	 j;

	if (u == NULL || *u == '\0')
		return;
	if ((strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0)
	    && strpbrk(u, "|[]{} \t\r\n") == NULL) {
		buf_printf(b, "[%s|%s]\n", text, u);
		return;
	}
	buf_printf(b, "%s: ", text);
	j.j_type = JSON_STRING;
	memcpy(&j.j_u.str.s, &u, sizeof u);
	j.j_u.str.len = strlen(u);
	tmpl_put_value(&j, TMPL_JIRA, b);
	buf_addc(b, '\n');
}

/* The description: the template, or the alert's facts and fields. */
static void
jira_description(const struct delivery *d, struct buf *b)
{
	const struct json	*p = delivery_payload(d), *s, *a, *c, *l, *e;
	const struct json	*alerts;
	const char		*t;
	size_t			 i, k, n;

	if ((t = delivery_opt(d, "description")) != NULL &&
	    strcmp(delivery_event_type(d), "search.failed") != 0) {
		tmpl_render(t, p, TMPL_JIRA, b);
		return;
	}
	s = json_get(p, "search");
	buf_adds(b, "h3. ");
	tmpl_put_value(json_get(s, "name"), TMPL_JIRA, b);
	buf_addc(b, '\n');
	jira_row(b, "Search", json_get(s, "id"));
	jira_row(b, "Priority", json_get(s, "priority"));
	jira_row(b, "Category", json_get(s, "category"));
	jira_row(b, "Owner", json_get(s, "owner"));
	jira_row(b, "Event", json_get(p, "event_type"));
	jira_row(b, "At", json_get(p, "occurred_at"));
	if ((e = json_get(p, "error")) != NULL) {
		jira_row(b, "Error", json_get(e, "message"));
		jira_row(b, "Since", json_get(e, "since"));
	}
	alerts = json_get(p, "alerts");
	n = alerts != NULL && alerts->j_type == JSON_ARRAY ? json_len(alerts) :
	    json_get(p, "alert") != NULL ? 1 : 0;
	for (k = 0; k < n; k++) {
		a = alerts != NULL && alerts->j_type == JSON_ARRAY ?
		    json_at(alerts, k) : json_get(p, "alert");
		buf_adds(b, "\nh4. Alert ");
		tmpl_put_value(json_get(a, "id"), TMPL_JIRA, b);
		buf_addc(b, '\n');
		jira_row(b, "State", json_get(a, "state"));
		jira_row(b, "Assignee", json_get(a, "assignee"));
		jira_row(b, "Time", json_get(a, "time"));
		jira_row(b, "Count", json_get(a, "count"));
		if ((c = json_get(a, "content")) != NULL &&
		    c->j_type == JSON_OBJECT && c->j_u.obj.n > 0) {
			buf_adds(b, "\n||Field||Value||\n");
			for (i = 0; i < c->j_u.obj.n; i++) {
				struct json	 kj;

				kj.j_type = JSON_STRING;
				kj.j_u.str.s = c->j_u.obj.m[i].m_key;
				kj.j_u.str.len = c->j_u.obj.m[i].m_klen;
				buf_addc(b, '|');
				jira_cell(b, &kj);
				buf_addc(b, '|');
				jira_cell(b, c->j_u.obj.m[i].m_val);
				buf_adds(b, "|\n");
			}
		}
		if (a != NULL && json_str(json_get(a, "source_url")) != NULL)
			jira_link(b, "Source",
			    json_str(json_get(a, "source_url")));
	}
	if ((l = json_get(p, "links")) != NULL && l->j_type == JSON_OBJECT) {
		buf_addc(b, '\n');
		jira_link(b, "Alert in 411", json_str(json_get(l, "alert")));
		jira_link(b, "Source", json_str(json_get(l, "source")));
	}
}

/* The summary: one line of at most JIRA_MAX_SUMMARY characters. */
static char *
jira_summary(const struct delivery *d)
{
	struct buf	 b = BUF_INIT;
	const char	*t, *type = delivery_event_type(d);
	size_t		 i, chars = 0;

	/* The summary template is an alert's: a failure has its own. */
	if (strcmp(type, "search.failed") == 0)
		t = JIRA_FAILED_SUMMARY;
	else if ((t = delivery_opt(d, "summary")) == NULL)
		t = JIRA_DEFAULT_SUMMARY;
	tmpl_render(t, delivery_payload(d), TMPL_HEADER, &b);
	for (i = 0; i < b.b_len; i++) {
		if (((unsigned char)b.b_data[i] & 0xc0) == 0x80)
			continue;
		if (chars++ == JIRA_MAX_SUMMARY) {
			b.b_len = i;
			b.b_data[i] = '\0';
			break;
		}
	}
	if (b.b_len == 0)
		buf_adds(&b, "[411] alert");
	return (buf_steal(&b, NULL));
}

/* The error of an answer: JIRA's errorMessages and errors, or the body. */
static void
jira_error(const struct notify_resp *nr, const char *what, char *err,
    size_t len)
{
	struct json	*j, *m, *e;
	struct buf	 b = BUF_INIT;
	char		 jerr[64];
	size_t		 i;

	if (nr->nr_error != NULL) {
		snprintf(err, len, "jira: %s: %s", what, nr->nr_error);
		return;
	}
	buf_printf(&b, "jira: %s: HTTP %ld", what, nr->nr_status);
	j = json_parse(nr->nr_body, nr->nr_len, jerr, sizeof jerr);
	if (j != NULL) {
		m = json_get(j, "errorMessages");
		for (i = 0; i < json_len(m); i++)
			if (json_str(json_at(m, i)) != NULL)
				buf_printf(&b, ": %s", json_str(json_at(m, i)));
		e = json_get(j, "errors");
		if (e != NULL && e->j_type == JSON_OBJECT)
			for (i = 0; i < e->j_u.obj.n; i++)
				buf_printf(&b, ": %s: %s", e->j_u.obj.m[i].m_key,
				    json_str(e->j_u.obj.m[i].m_val) != NULL ?
				    json_str(e->j_u.obj.m[i].m_val) : "?");
		json_free(j);
	} else if (nr->nr_len > 0) {
		buf_adds(&b, ": ");
		buf_add(&b, nr->nr_body, nr->nr_len < 200 ? nr->nr_len : 200);
	}
	if (b.b_len > JIRA_MAX_ERROR)
		b.b_len = JIRA_MAX_ERROR;
	snprintf(err, len, "%.*s", (int)b.b_len, b.b_data);
	for (i = 0; err[i] != '\0'; i++)
		if ((unsigned char)err[i] < 0x20)
			err[i] = ' ';
	buf_free(&b);
}

static void
jira_job_free(void *arg)
{
	struct jira_job	*jj = arg;

	free(jj->jj_base);
	free(jj->jj_auth);
	free(jj->jj_label);
	free(jj->jj_key);
	free(jj->jj_watchers);
	free(jj->jj_url);
	free(jj->jj_body);
	free(jj);
}

/* The answer of the lookup by label: the issue, or go and create it. */
static void
jira_search_cb(struct delivery *d, const struct notify_resp *nr, void *arg)
{
	struct jira_job		*jj = arg;
	struct json		*j;
	const char		*key;
	char			 err[512];
	enum delivery_result	 v = notify_http_verdict(nr);

	if (v != DELIVERY_OK && nr->nr_status != 400) {
		jira_error(nr, "search", err, sizeof err);
		delivery_done(d, v, NULL, err, nr->nr_retry_after);
		return;
	}
	if (v != DELIVERY_OK) {
		/* A JQL error (an unknown label on some servers): create. */
		jira_error(nr, "search", err, sizeof err);
		log_debug("%s: %s; creating", __func__, err);
		jira_create(d, jj);
		return;
	}
	j = json_parse(nr->nr_body, nr->nr_len, err, sizeof err);
	if (j == NULL || json_get(j, "issues") == NULL) {
		json_free(j);
		delivery_done(d, DELIVERY_RETRY, NULL,
		    "jira: search: not a JIRA search answer", NULL);
		return;
	}
	key = json_str(json_get(json_at(json_get(j, "issues"), 0), "key"));
	if (key != NULL) {
		log_debug("%s: %s exists as %s", __func__, jj->jj_label, key);
		delivery_done(d, DELIVERY_OK, key, NULL, NULL);
		json_free(j);
		return;
	}
	json_free(j);
	jira_create(d, jj);
}

/* POST the issue. */
static void
jira_create(struct delivery *d, struct jira_job *jj)
{
	struct buf	 desc = BUF_INIT;
	yajl_gen	 g;
	struct buf	 body = BUF_INIT;
	const char	*v, *a, *e;
	char		*summary;

	summary = jira_summary(d);
	jira_description(d, &desc);
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_str(g, "fields");
	yajl_gen_map_open(g);
	jgen_str(g, "project");
	yajl_gen_map_open(g);
	jgen_kstr(g, "key", delivery_opt(d, "project"));
	yajl_gen_map_close(g);
	jgen_str(g, "issuetype");
	yajl_gen_map_open(g);
	v = delivery_opt(d, "issuetype");
	jgen_kstr(g, "name", v != NULL ? v : "Task");
	yajl_gen_map_close(g);
	jgen_kstr(g, "summary", summary);
	jgen_str(g, "description");
	jgen_strn(g, desc.b_data == NULL ? "" : desc.b_data, desc.b_len);
	jgen_str(g, "labels");
	yajl_gen_array_open(g);
	jgen_str(g, "411");
	if ((v = delivery_opt(d, "labels")) != NULL) {
		for (a = v; *a != '\0'; a = e) {
			while (*a == ',' || *a == ' ')
				a++;
			for (e = a; *e != '\0' && *e != ',' && *e != ' '; e++)
				;
			if (e > a)
				jgen_strn(g, a, (size_t)(e - a));
		}
	}
	jgen_str(g, jj->jj_label);
	yajl_gen_array_close(g);
	if ((v = delivery_opt(d, "assignee")) != NULL) {
		jgen_str(g, "assignee");
		yajl_gen_map_open(g);
		jgen_kstr(g, "name", v);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	jgen_take(g, &body);
	yajl_gen_free(g);
	free(summary);
	buf_free(&desc);

	free(jj->jj_url);
	free(jj->jj_body);
	jj->jj_url = xprintf("%s/rest/api/2/issue", jj->jj_base);
	jj->jj_body = buf_steal(&body, &jj->jj_blen);
	notify_http(d, "POST", jj->jj_url, jj->jj_hdr, jj->jj_body,
	    jj->jj_blen, jira_create_cb, jj);
}

/* The answer of the create: the key, then the watchers. */
static void
jira_create_cb(struct delivery *d, const struct notify_resp *nr, void *arg)
{
	struct jira_job		*jj = arg;
	struct json		*j;
	const char		*key;
	char			 err[512];
	enum delivery_result	 v = notify_http_verdict(nr);

	if (v != DELIVERY_OK) {
		jira_error(nr, "create", err, sizeof err);
		delivery_done(d, v, NULL, err, nr->nr_retry_after);
		return;
	}
	j = json_parse(nr->nr_body, nr->nr_len, err, sizeof err);
	if (j == NULL || (key = json_str(json_get(j, "key"))) == NULL) {
		json_free(j);
		/* The lookup by label finds it on the next try. */
		delivery_done(d, DELIVERY_RETRY, NULL,
		    "jira: create: no issue key in the answer", NULL);
		return;
	}
	jj->jj_key = xstrdup(key);
	json_free(j);
	jira_watch_next(d, jj);
}

/* Add the next watcher, or end the delivery. */
static void
jira_watch_next(struct delivery *d, struct jira_job *jj)
{
	struct buf	 u = BUF_INIT, body = BUF_INIT;
	char		*w, *e;

	w = jj->jj_watchers;
	while (w != NULL && (*w == ',' || *w == ' '))
		w++;
	if (w == NULL || *w == '\0') {
		delivery_done(d, DELIVERY_OK, jj->jj_key, NULL, NULL);
		return;
	}
	for (e = w; *e != '\0' && *e != ',' && *e != ' '; e++)
		;
	buf_printf(&u, "%s/rest/api/2/issue/", jj->jj_base);
	util_urlencode(&u, jj->jj_key, strlen(jj->jj_key), NULL);
	buf_adds(&u, "/watchers");
	json_append_string(&body, w, (size_t)(e - w));
	memmove(jj->jj_watchers, e, strlen(e) + 1);
	free(jj->jj_url);
	free(jj->jj_body);
	jj->jj_url = buf_steal(&u, NULL);
	jj->jj_body = buf_steal(&body, &jj->jj_blen);
	notify_http(d, "POST", jj->jj_url, jj->jj_hdr, jj->jj_body,
	    jj->jj_blen, jira_watch_cb, jj);
}

static void
jira_watch_cb(struct delivery *d, const struct notify_resp *nr, void *arg)
{
	struct jira_job	*jj = arg;
	char		 err[512];

	if (notify_http_verdict(nr) != DELIVERY_OK) {
		jira_error(nr, "watchers", err, sizeof err);
		log_warnx("target %s: issue %s: watcher %s: %s",
		    delivery_target(d) != NULL ? delivery_target(d)->ct_name :
		    "?", jj->jj_key, jj->jj_body, err);
	}
	jira_watch_next(d, jj);
}

/* Look the event's issue up by its label, then create it if need be. */
static void
jira_deliver(struct delivery *d)
{
	struct jira_job	*jj;
	struct buf	 u = BUF_INIT, b = BUF_INIT, jql = BUF_INIT;
	const char	*v, *user, *id;
	char		 err[512], e2[600];
	unsigned char	*b64;
	size_t		 n, i;

	if (strcmp(delivery_event_type(d), "search.recovered") == 0) {
		delivery_done(d, DELIVERY_SKIPPED, NULL, "jira: "
		    "search.recovered files no issue (the failure's issue is "
		    "closed by hand)", NULL);
		return;
	}
	if (jira_validate(NULL, d, err, sizeof err) == -1) {
		snprintf(e2, sizeof e2, "jira: %s", err);
		delivery_done(d, DELIVERY_FAILED, NULL, e2, NULL);
		return;
	}
	jj = xcalloc(1, sizeof *jj);
	jj->jj_base = xstrdup(delivery_opt(d, "url"));
	n = strlen(jj->jj_base);
	while (n > 0 && jj->jj_base[n - 1] == '/')
		jj->jj_base[--n] = '\0';
	user = delivery_opt(d, "user");
	v = delivery_opt(d, "token");
	if (user != NULL) {
		buf_printf(&b, "%s:%s", user, v);
		b64 = xmalloc(4 * ((b.b_len + 2) / 3) + 1);
		EVP_EncodeBlock(b64, (unsigned char *)b.b_data, (int)b.b_len);
		jj->jj_auth = xprintf("Authorization: Basic %s", b64);
		free(b64);
		buf_free(&b);
	} else
		jj->jj_auth = xprintf("Authorization: Bearer %s", v);
	jj->jj_hdr[0] = "Content-Type: application/json";
	jj->jj_hdr[1] = "Accept: application/json";
	jj->jj_hdr[2] = jj->jj_auth;
	jj->jj_hdr[3] = NULL;
	if ((v = delivery_opt(d, "watchers")) != NULL)
		jj->jj_watchers = xstrdup(v);

	/* Labels hold no spaces: keep [A-Za-z0-9._-] of the event id. */
	id = delivery_event_id(d);
	buf_adds(&b, "411-");
	for (i = 0; id[i] != '\0' && i < 200; i++)
		buf_addc(&b, (id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9') || id[i] == '.' ||
		    id[i] == '-' || id[i] == '_' ? id[i] : '_');
	jj->jj_label = buf_steal(&b, NULL);
	delivery_set_state(d, jj, jira_job_free);

	buf_printf(&jql, "labels = \"%s\"", jj->jj_label);
	buf_printf(&u, "%s/rest/api/2/search?jql=", jj->jj_base);
	util_urlencode(&u, jql.b_data, jql.b_len, NULL);
	buf_adds(&u, "&fields=key&maxResults=1");
	buf_free(&jql);
	jj->jj_url = buf_steal(&u, NULL);
	notify_http(d, "GET", jj->jj_url, jj->jj_hdr, NULL, 0,
	    jira_search_cb, jj);
}
