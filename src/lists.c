/*
 * lists.c -- named lists of values for es queries: loading, refresh
 * timers, and the @NAME expansion.
 *
 * Each list has a persistent timer firing every refresh.  A file is read
 * at once; a URL is fetched through httpc and the body collected (up to
 * LISTS_MAX_BYTES), then parsed when the transfer is over.  A parse
 * replaces the values only when the whole text is good (at most
 * LISTS_MAX_VALUES values of at most LISTS_MAX_VALUE bytes, no NUL);
 * otherwise the last good copy stays and the error is kept for /healthz
 * and logged once per change of message.
 *
 * Expansion: in a query string, an '@' at the start of the text or after
 * a blank, '(', ':', '+', '-' or '!', outside double quotes, followed by
 * a list name (letters, digits, '-', '_', '.'), is replaced by ("v1" OR
 * "v2" ...); each value is quoted and its Lucene reserved characters,
 * quotes and backslashes are escaped with a backslash.  An empty list
 * becomes LISTS_EMPTY_TERM, which matches nothing.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "buf.h"
#include "config.h"
#include "httpc.h"
#include "json.h"
#include "lists.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define LISTS_HTTP_TIMEOUT_MS	60000

struct list {
	struct lists		*l_owner;
	char			*l_name;
	enum list_kind		 l_kind;
	char			*l_where;
	int64_t			 l_refresh;	/* seconds */
	char			**l_vals;
	size_t			 l_n;
	int64_t			 l_updated;	/* ms, 0 never */
	char			*l_error;	/* last load failed, or NULL */
	struct event		*l_timer;
	struct httpc_req	*l_req;		/* in flight */
	struct buf		 l_body;
	int			 l_toobig;
};

struct lists {
	struct event_base	*ls_base;
	struct httpc		*ls_httpc;
	struct list		**ls_l;
	size_t			 ls_n;
};

static struct lists	*lists_cur;

static struct list *lists_find(const struct lists *, const char *);
static struct list *list_new(struct lists *, const struct config_list *);
static void	list_free(struct list *);
static void	list_timer_set(struct list *);
static void	list_timer_cb(evutil_socket_t, short, void *);
static void	list_refresh(struct list *);
static void	list_fail(struct list *, const char *);
static int	list_parse(struct list *, const char *, size_t);
static void	list_read_file(struct list *);
static void	list_fetch(struct list *);
static int	list_head_cb(void *, long, const char *);
static int	list_data_cb(void *, const char *, size_t);
static void	list_done_cb(void *, const struct httpc_result *);
static int	lists_name_char(int);
static const char *lists_next(const char *, const char *, size_t *);

/* A list by name, or NULL. */
static struct list *
lists_find(const struct lists *ls, const char *name)
{
	size_t	 i;

	if (ls == NULL)
		return (NULL);
	for (i = 0; i < ls->ls_n; i++)
		if (strcmp(ls->ls_l[i]->l_name, name) == 0)
			return (ls->ls_l[i]);
	return (NULL);
}

/* A new list from its config line, empty, with its timer set. */
static struct list *
list_new(struct lists *ls, const struct config_list *cl)
{
	struct list	*l;

	l = xcalloc(1, sizeof *l);
	l->l_owner = ls;
	l->l_name = xstrdup(cl->cl_name);
	l->l_kind = cl->cl_kind;
	l->l_where = xstrdup(cl->cl_where);
	l->l_refresh = cl->cl_refresh;
	l->l_timer = event_new(ls->ls_base, -1, EV_PERSIST, list_timer_cb, l);
	list_timer_set(l);
	return (l);
}

/* (Re)arm the refresh timer. */
static void
list_timer_set(struct list *l)
{
	struct timeval	 tv;

	tv.tv_sec = l->l_refresh;
	tv.tv_usec = 0;
	evtimer_add(l->l_timer, &tv);
}

static void
list_free(struct list *l)
{
	size_t	 i;

	if (l == NULL)
		return;
	if (l->l_req != NULL)
		httpc_req_cancel(l->l_req);
	if (l->l_timer != NULL)
		event_free(l->l_timer);
	for (i = 0; i < l->l_n; i++)
		free(l->l_vals[i]);
	free(l->l_vals);
	free(l->l_name);
	free(l->l_where);
	free(l->l_error);
	buf_free(&l->l_body);
	free(l);
}

static void
list_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	list_refresh(arg);
}

/* Read or fetch the list now (a fetch in flight is left alone). */
static void
list_refresh(struct list *l)
{
	if (l->l_kind == LIST_FILE)
		list_read_file(l);
	else if (l->l_req == NULL)
		list_fetch(l);
}

/* A load failed: keep the values, record and log the error. */
static void
list_fail(struct list *l, const char *msg)
{
	if (l->l_error == NULL || strcmp(l->l_error, msg) != 0)
		log_warnx("list %s: %s: %s; keeping the last good copy (%zu "
		    "values)", l->l_name, l->l_where, msg, l->l_n);
	free(l->l_error);
	l->l_error = xstrdup(msg);
}

/* Parse text; on success replace the values.  Returns 0 or -1 (failed). */
static int
list_parse(struct list *l, const char *s, size_t n)
{
	char		**vals = NULL, msg[128];
	size_t		 nv = 0, i, k = 0, b, e;

	if (memchr(s, '\0', n) != NULL) {
		list_fail(l, "NUL byte in the text");
		return (-1);
	}
	while (k < n) {
		b = k;
		while (k < n && s[k] != '\n')
			k++;
		e = k++;
		while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r'))
			b++;
		while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' ||
		    s[e - 1] == '\r'))
			e--;
		if (b == e || s[b] == '#')
			continue;
		if (e - b > LISTS_MAX_VALUE) {
			snprintf(msg, sizeof msg, "a value is longer than %d "
			    "bytes", LISTS_MAX_VALUE);
			goto fail;
		}
		if (nv == LISTS_MAX_VALUES) {
			snprintf(msg, sizeof msg, "more than %d values",
			    LISTS_MAX_VALUES);
			goto fail;
		}
		if (nv % 1024 == 0)
			vals = xreallocarray(vals, nv + 1024, sizeof *vals);
		vals[nv++] = xstrndup(s + b, e - b);
	}
	for (i = 0; i < l->l_n; i++)
		free(l->l_vals[i]);
	free(l->l_vals);
	l->l_vals = vals;
	l->l_n = nv;
	l->l_updated = util_now_ms();
	if (l->l_error != NULL)
		log_info("list %s: loaded again (%zu values)", l->l_name, nv);
	else
		log_debug("list %s: %zu values", l->l_name, nv);
	free(l->l_error);
	l->l_error = NULL;
	return (0);
fail:
	for (i = 0; i < nv; i++)
		free(vals[i]);
	free(vals);
	list_fail(l, msg);
	return (-1);
}

/* Read a file list (small and local: at once). */
static void
list_read_file(struct list *l)
{
	struct buf	 b = BUF_INIT;
	char		 chunk[65536], msg[256];
	size_t		 n;
	FILE		*f;

	if ((f = fopen(l->l_where, "r")) == NULL) {
		snprintf(msg, sizeof msg, "%s", strerror(errno));
		list_fail(l, msg);
		return;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if ((int64_t)(b.b_len + n) > LISTS_MAX_BYTES) {
			fclose(f);
			buf_free(&b);
			list_fail(l, "file too big");
			return;
		}
		buf_add(&b, chunk, n);
	}
	if (ferror(f)) {
		snprintf(msg, sizeof msg, "read: %s", strerror(errno));
		fclose(f);
		buf_free(&b);
		list_fail(l, msg);
		return;
	}
	fclose(f);
	(void)list_parse(l, b.b_data != NULL ? b.b_data : "", b.b_len);
	buf_free(&b);
}

/* Start fetching a URL list. */
static void
list_fetch(struct list *l)
{
	struct httpc_opts	 o;
	struct httpc_req	*req;

	buf_reset(&l->l_body);
	l->l_toobig = 0;
	memset(&o, 0, sizeof o);
	o.ho_timeout_ms = LISTS_HTTP_TIMEOUT_MS;
	o.ho_max_bytes = LISTS_MAX_BYTES;
	req = httpc_req_new(l->l_owner->ls_httpc, "GET", l->l_where);
	httpc_req_opts(req, &o);
	l->l_req = req;
	if (httpc_req_start(req, list_head_cb, list_data_cb, list_done_cb,
	    l) == -1) {
		l->l_req = NULL;
		list_fail(l, "the HTTP client refused the request");
	}
}

static int
list_head_cb(void *arg, long status, const char *ctype)
{
	(void)arg;
	(void)status;
	(void)ctype;
	return (0);
}

static int
list_data_cb(void *arg, const char *p, size_t n)
{
	struct list	*l = arg;

	if ((int64_t)(l->l_body.b_len + n) > LISTS_MAX_BYTES) {
		l->l_toobig = 1;
		return (-1);
	}
	buf_add(&l->l_body, p, n);
	return (0);
}

static void
list_done_cb(void *arg, const struct httpc_result *hr)
{
	struct list	*l = arg;
	char		 msg[512];

	l->l_req = NULL;
	if (l->l_toobig)
		list_fail(l, "response too big");
	else if (!hr->hr_ok) {
		snprintf(msg, sizeof msg, "%s", hr->hr_error != NULL ?
		    hr->hr_error : "transfer failed");
		list_fail(l, msg);
	} else if (hr->hr_status != 200) {
		snprintf(msg, sizeof msg, "HTTP status %ld", hr->hr_status);
		list_fail(l, msg);
	} else
		(void)list_parse(l, l->l_body.b_data != NULL ?
		    l->l_body.b_data : "", l->l_body.b_len);
	buf_free(&l->l_body);
}

struct lists *
lists_new(struct event_base *base, struct httpc *h, const struct config *cfg)
{
	struct lists	*ls;

	ls = xcalloc(1, sizeof *ls);
	ls->ls_base = base;
	ls->ls_httpc = h;
	lists_cur = ls;
	lists_reload(ls, cfg);
	return (ls);
}

void
lists_reload(struct lists *ls, const struct config *cfg)
{
	struct list		**nl, *l;
	const struct config_list *cl;
	size_t			 i;

	nl = xcalloc(cfg->c_nlists + 1, sizeof *nl);
	for (i = 0; i < cfg->c_nlists; i++) {
		cl = &cfg->c_lists[i];
		l = lists_find(ls, cl->cl_name);
		if (l != NULL && l->l_kind == cl->cl_kind &&
		    strcmp(l->l_where, cl->cl_where) == 0) {
			/* Unchanged: keep the values, take the new refresh. */
			l->l_refresh = cl->cl_refresh;
			list_timer_set(l);
			nl[i] = l;
			continue;
		}
		nl[i] = list_new(ls, cl);
	}
	/* Free what the new set does not hold. */
	for (i = 0; i < ls->ls_n; i++) {
		size_t	 j;

		for (j = 0; j < cfg->c_nlists; j++)
			if (nl[j] == ls->ls_l[i])
				break;
		if (j == cfg->c_nlists)
			list_free(ls->ls_l[i]);
	}
	free(ls->ls_l);
	ls->ls_l = nl;
	ls->ls_n = cfg->c_nlists;
	for (i = 0; i < ls->ls_n; i++)
		list_refresh(ls->ls_l[i]);
}

void
lists_free(struct lists *ls)
{
	size_t	 i;

	if (ls == NULL)
		return;
	for (i = 0; i < ls->ls_n; i++)
		list_free(ls->ls_l[i]);
	free(ls->ls_l);
	if (lists_cur == ls)
		lists_cur = NULL;
	free(ls);
}

struct lists *
lists_current(void)
{
	return (lists_cur);
}

static int
lists_name_char(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.');
}

/*
 * The next @NAME in q from p: returns a pointer to its '@' (the name is
 * [at+1, at+1+*lenp)), or NULL.  p is never inside double quotes.
 */
static const char *
lists_next(const char *q, const char *p, size_t *lenp)
{
	int	 inq = 0;
	size_t	 n;

	for (; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			continue;
		}
		if (*p == '"') {
			inq = !inq;
			continue;
		}
		if (inq || *p != '@')
			continue;
		if (p != q && strchr(" \t\r\n(:+-!", p[-1]) == NULL)
			continue;
		for (n = 0; lists_name_char((unsigned char)p[1 + n]); n++)
			;
		if (n == 0)
			continue;
		*lenp = n;
		return (p);
	}
	return (NULL);
}

int
lists_check(const struct config *cfg, const char *q, char *err,
    size_t errlen)
{
	const char	*at, *p = q;
	char		*name;
	size_t		 n;

	while ((at = lists_next(q, p, &n)) != NULL) {
		name = xstrndup(at + 1, n);
		if (config_list(cfg, name) == NULL) {
			snprintf(err, errlen, "no list \"%s\"", name);
			free(name);
			return (-1);
		}
		free(name);
		p = at + 1 + n;
	}
	return (0);
}

int
lists_expand(const struct lists *ls, const char *q, struct buf *out,
    char *err, size_t errlen)
{
	static const char	 reserved[] = "+-=&|><!(){}[]^\"~*?:\\/";
	const struct list	*l;
	const char		*at, *p = q, *v;
	char			*name;
	size_t			 n, i;

	while ((at = lists_next(q, p, &n)) != NULL) {
		buf_add(out, p, at - p);
		name = xstrndup(at + 1, n);
		if ((l = lists_find(ls, name)) == NULL) {
			snprintf(err, errlen, "no list \"%s\"", name);
			free(name);
			return (-1);
		}
		free(name);
		if (l->l_n == 0)
			buf_adds(out, LISTS_EMPTY_TERM);
		else {
			buf_addc(out, '(');
			for (i = 0; i < l->l_n; i++) {
				if (i > 0)
					buf_adds(out, " OR ");
				buf_addc(out, '"');
				for (v = l->l_vals[i]; *v != '\0'; v++) {
					if (strchr(reserved, *v) != NULL)
						buf_addc(out, '\\');
					buf_addc(out, *v);
				}
				buf_addc(out, '"');
			}
			buf_addc(out, ')');
		}
		p = at + 1 + n;
	}
	buf_adds(out, p);
	return (0);
}

void
lists_gen(yajl_gen g, const struct lists *ls)
{
	const struct list	*l;
	size_t			 i;

	yajl_gen_map_open(g);
	for (i = 0; ls != NULL && i < ls->ls_n; i++) {
		l = ls->ls_l[i];
		jgen_str(g, l->l_name);
		yajl_gen_map_open(g);
		jgen_kint(g, "values", (int64_t)l->l_n);
		jgen_ktime(g, "updated", l->l_updated);
		jgen_str(g, "error");
		jgen_str_or_null(g, l->l_error);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
}
