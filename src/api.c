/*
 * api.c -- the HTTP control endpoint (evhttp): /healthz, /metrics and the
 * /api/v1 routes of CONTRACT.md 5.
 *
 * Every request goes through api_request_cb: it counts, checks the key
 * and the role for /api/, matches the route and the method, and calls a
 * handler.  Handlers answer at once, except a run, which answers when the
 * run is over (evhttp keeps a request whose client left until we answer,
 * then frees it).  Errors have one shape:
 * {"error": {"code": ..., "message": ..., "field": ...}}.
 *
 * Limits: the body of a request is at most api_max_body, and less on most
 * routes (API_BODY_*): 413 in the common shape.  evhttp reads up to
 * API_BODY_SLACK past api_max_body so that we can answer; a body longer
 * still gets evhttp's own 413 (an HTML page) and the connection is closed; the path is at most API_PATH_MAX bytes, the query
 * at most API_QUERY_MAX bytes in API_PARAMS_MAX parameters of at most
 * API_PARAM_MAX bytes each (400).
 *
 * Audit (D4): a change (any method but GET and HEAD) to /api/ gets a
 * pending record when its key is accepted; api_send writes it to the audit
 * log (audit.c) when the answer is a 2xx, and drops it otherwise.  The
 * object defaults to the collection and id of the path ("search:12"), or
 * the id or name of the answer for a create, or the "ids" of the body
 * ("alert:5,6"); the summary to the body's "action", or the verb of the
 * method, with the body's "change_note".  Handlers may say better with
 * api_audit_set.  Pushes, tests and dry runs change nothing and are not
 * recorded.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "alert.h"
#include "api.h"
#include "api_int.h"
#include "audit.h"
#include "auth.h"
#include "buf.h"
#include "config.h"
#include "httpc.h"
#include "json.h"
#include "lists.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "queue.h"
#include "record.h"
#include "run.h"
#include "sched.h"
#include "search.h"
#include "searches.h"
#include "sources.h"
#include "src.h"
#include "store.h"
#include "users.h"
#include "util.h"
#include "xmalloc.h"

#define API_MAX_HEADERS		(16 * 1024)
#define API_PUSH_MAX		10000	/* alerts per push request */
#define API_PATH_MAX		1024	/* bytes of a path */
#define API_QUERY_MAX		4096	/* bytes of a query string */
#define API_PARAMS_MAX		32	/* query parameters */
#define API_PARAM_MAX		1024	/* bytes of one parameter */
#define API_BODY_NONE		(4 * 1024)	/* GET, HEAD, DELETE */
#define API_BODY_ADMIN		(64 * 1024)	/* users, groups, keys */
#define API_NOTE_MAX		1000	/* characters of a change_note */
#define API_BODY_SLACK		(64 * 1024)	/* read past api_max_body */
#define API_PAUSE_MS		250	/* no accept() after EMFILE... */
#define API_FD_RESERVE		64	/* files kept for all but the API */
#define API_BACKLOG		128	/* listen() */

/* A change waiting for its answer, to be audited (see the top). */
struct api_pending {
	TAILQ_ENTRY(api_pending) ap_entry;
	struct evhttp_request	*ap_req;
	int64_t			 ap_time;
	char			*ap_actor;
	char			*ap_path;
	const char		*ap_method;
	char			*ap_object;	/* set by a handler, or NULL */
	char			*ap_summary;
	int			 ap_skip;
};

/* A run waiting to be answered. */
struct api_pending_run {
	struct api		*p_api;
	struct evhttp_request	*p_req;
};

static void	api_request_cb(struct evhttp_request *, void *);
static void	api_conn_request(struct api *, struct evhttp_request *);
static void	api_conn_answer(struct api *, struct evhttp_request *);
static void	api_audit_answer(struct api *, struct evhttp_request *, int,
		    const char *, size_t);
static void	api_search_history(struct api_call *, uint64_t);
static void	api_searches_export(struct api_call *);
static void	api_searches_import(struct api_call *);

/* The name of a method, for messages. */
static const char *
api_method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return ("GET");
	case EVHTTP_REQ_POST:
		return ("POST");
	case EVHTTP_REQ_PUT:
		return ("PUT");
	case EVHTTP_REQ_PATCH:
		return ("PATCH");
	case EVHTTP_REQ_DELETE:
		return ("DELETE");
	case EVHTTP_REQ_HEAD:
		return ("HEAD");
	default:
		return ("other");
	}
}

/* Free a pending audit record. */
static void
api_pending_free(struct api_pending *p)
{
	free(p->ap_actor);
	free(p->ap_path);
	free(p->ap_object);
	free(p->ap_summary);
	free(p);
}

/* The singular of a collection, for objects ("searches" -> "search"). */
static void
api_audit_singular(const char *coll, size_t n, struct buf *b)
{
	if (n > 3 && strncmp(coll + n - 3, "hes", 3) == 0)
		n -= 2;
	else if (n > 1 && coll[n - 1] == 's')
		n--;
	buf_add(b, coll, n);
}

/* The default object of a change: from the path, the answer, the body. */
static char *
api_audit_object(const struct api_pending *p, const struct json *body,
    const char *answer, size_t alen)
{
	struct buf		 b = BUF_INIT;
	struct json		*ans = NULL;
	const struct json	*ids, *v;
	const char		*coll, *id, *end;
	char			 err[64], num[32];
	int64_t			 n;
	size_t			 i;

	coll = p->ap_path + strlen("/api/v1/");
	if (strncmp(p->ap_path, "/api/v1/", 8) != 0 || *coll == '\0')
		return (xstrdup(p->ap_path));
	end = strchr(coll, '/');
	api_audit_singular(coll, end != NULL ? (size_t)(end - coll) :
	    strlen(coll), &b);
	buf_addc(&b, ':');
	id = end != NULL ? end + 1 : "";
	end = strchr(id, '/');
	if (*id != '\0' && strncmp(id, "actions", 7) != 0) {
		buf_add(&b, id, end != NULL ? (size_t)(end - id) : strlen(id));
		return (buf_steal(&b, NULL));
	}
	if ((ids = json_get(body, "ids")) != NULL &&
	    ids->j_type == JSON_ARRAY) {
		for (i = 0; i < json_len(ids) && b.b_len < 200; i++) {
			v = json_at(ids, i);
			if (i > 0)
				buf_addc(&b, ',');
			if (json_int(v, &n))
				buf_printf(&b, "%lld", (long long)n);
			else if (json_str(v) != NULL)
				buf_adds(&b, json_str(v));
		}
		if (i < json_len(ids))
			buf_printf(&b, ",... (%zu)", json_len(ids));
		return (buf_steal(&b, NULL));
	}
	if (answer != NULL && alen > 0 &&
	    (ans = json_parse(answer, alen, err, sizeof err)) != NULL) {
		if (json_int(json_get(ans, "id"), &n)) {
			snprintf(num, sizeof num, "%lld", (long long)n);
			buf_adds(&b, num);
		} else if (json_str(json_get(ans, "name")) != NULL)
			buf_adds(&b, json_str(json_get(ans, "name")));
		json_free(ans);
	}
	return (buf_steal(&b, NULL));
}

/* Record a change when it is answered with a 2xx. */
static void
api_audit_answer(struct api *a, struct evhttp_request *req, int status,
    const char *answer, size_t alen)
{
	struct api_pending	*p;
	struct audit_entry	 e;
	struct evbuffer		*in;
	struct json		*body = NULL;
	struct buf		 sum = BUF_INIT;
	const char		*verb, *note, *sub;
	char			 err[64], *object;
	size_t			 len;

	TAILQ_FOREACH(p, &a->a_pending, ap_entry)
		if (p->ap_req == req)
			break;
	if (p == NULL)
		return;
	TAILQ_REMOVE(&a->a_pending, p, ap_entry);
	if (status < 200 || status >= 300 || p->ap_skip) {
		api_pending_free(p);
		return;
	}
	in = evhttp_request_get_input_buffer(req);
	if ((len = evbuffer_get_length(in)) > 0)
		body = json_parse((const char *)evbuffer_pullup(in, -1), len,
		    err, sizeof err);
	object = p->ap_object != NULL ? xstrdup(p->ap_object) :
	    api_audit_object(p, body, answer, alen);
	if (p->ap_summary != NULL)
		buf_adds(&sum, p->ap_summary);
	else {
		verb = json_str(json_get(body, "action"));
		if (verb == NULL) {
			sub = strrchr(p->ap_path, '/');
			if (sub != NULL && (strcmp(sub, "/run") == 0 ||
			    strcmp(sub, "/import") == 0))
				verb = sub + 1;
			else if (strcmp(p->ap_method, "POST") == 0)
				verb = "create";
			else if (strcmp(p->ap_method, "DELETE") == 0)
				verb = "delete";
			else
				verb = "update";
		}
		buf_adds(&sum, verb);
		if ((note = json_str(json_get(body, "change_note"))) != NULL ||
		    (note = json_str(json_get(body, "note"))) != NULL)
			buf_printf(&sum, ": %s", note);
	}
	buf_addc(&sum, '\0');
	memset(&e, 0, sizeof e);
	e.ae_time = p->ap_time;
	e.ae_actor = p->ap_actor;
	e.ae_method = p->ap_method;
	e.ae_path = p->ap_path;
	e.ae_object = object;
	e.ae_summary = sum.b_data;
	e.ae_status = status;
	audit_write(a->a_env->ae_run->re_store, &e);
	free(object);
	buf_free(&sum);
	json_free(body);
	api_pending_free(p);
}

/* Name the object and summary of this change for the audit log. */
void
api_audit_set(struct api_call *c, const char *object, const char *summary)
{
	if (c->c_audit == NULL)
		return;
	if (object != NULL) {
		free(c->c_audit->ap_object);
		c->c_audit->ap_object = xstrdup(object);
	}
	if (summary != NULL) {
		free(c->c_audit->ap_summary);
		c->c_audit->ap_summary = xstrdup(summary);
	}
}

/* This request changes nothing: no audit entry. */
void
api_audit_skip(struct api_call *c)
{
	if (c->c_audit != NULL)
		c->c_audit->ap_skip = 1;
}

/* Send a JSON body with a status. */
void
api_send(struct api *a, struct evhttp_request *req, int status,
    const char *body, size_t len)
{
	struct evbuffer	*out;
	const char	*reason;

	switch (status) {
	case 200: reason = "OK"; break;
	case 201: reason = "Created"; break;
	case 400: reason = "Bad Request"; break;
	case 401: reason = "Unauthorized"; break;
	case 403: reason = "Forbidden"; break;
	case 404: reason = "Not Found"; break;
	case 405: reason = "Method Not Allowed"; break;
	case 409: reason = "Conflict"; break;
	case 413: reason = "Payload Too Large"; break;
	case 422: reason = "Unprocessable Entity"; break;
	case 429: reason = "Too Many Requests"; break;
	case 503: reason = "Service Unavailable"; break;
	default: reason = status >= 500 ? "Internal Server Error" : "OK";
	}
	if (status >= 400 && a != NULL && a->a_env->ae_run->re_metrics != NULL)
		a->a_env->ae_run->re_metrics->m_api_errors++;
	if (a != NULL) {
		api_audit_answer(a, req, status, body, len);
		api_conn_answer(a, req);
	}
	out = evbuffer_new();
	evbuffer_add(out, body, len);
	evbuffer_add(out, "\n", 1);
	evhttp_send_reply(req, status, reason, out);
	evbuffer_free(out);
}

/* Send the output of a generator. */
void
api_send_gen(struct api *a, struct evhttp_request *req, int status,
    yajl_gen g)
{
	const unsigned char	*p;
	size_t			 n;

	yajl_gen_get_buf(g, &p, &n);
	api_send(a, req, status, (const char *)p, n);
	yajl_gen_free(g);
}

/* Send an error of the common shape. */
void
api_error(struct api *a, struct evhttp_request *req, int status,
    const char *field, const char *fmt, ...)
{
	yajl_gen	 g;
	va_list		 ap;
	char		 msg[512];
	const char	*code;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	switch (status) {
	case 400: code = "bad_request"; break;
	case 401: code = "unauthorized"; break;
	case 403: code = "forbidden"; break;
	case 404: code = "not_found"; break;
	case 405: code = "method_not_allowed"; break;
	case 409: code = "conflict"; break;
	case 413: code = "too_large"; break;
	case 422: code = "invalid"; break;
	case 429: code = "too_many_requests"; break;
	case 503: code = "unavailable"; break;
	default: code = "internal"; break;
	}
	if (status == 401)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer realm=\"411\"");
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_str(g, "error");
	yajl_gen_map_open(g);
	jgen_kstr(g, "code", code);
	jgen_kstr(g, "message", msg);
	if (field != NULL)
		jgen_kstr(g, "field", field);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	api_send_gen(a, req, status, g);
}

/* Whether the caller's role is at least role; else 403. */
int
api_need_role(struct api_call *c, enum role role)
{
	if (c->c_role >= role)
		return (1);
	api_error(c->c_api, c->c_req, 403, NULL, "key \"%s\" has the role "
	    "%s; this needs %s", c->c_actor, config_role_name(c->c_role),
	    config_role_name(role));
	return (0);
}

/* Answer a wrong method with the methods the route takes. */
void
api_bad_method(struct api_call *c, const char *allow)
{
	evhttp_add_header(evhttp_request_get_output_headers(c->c_req),
	    "Allow", allow);
	api_error(c->c_api, c->c_req, 405, NULL, "%s is not allowed here "
	    "(allowed: %s)", api_method_name(c->c_method), allow);
}

/* The body as a JSON tree; NULL after answering 400 (or with empty ok). */
struct json *
api_body(struct api_call *c, int empty_ok, int *answered)
{
	return (api_body_json(c, empty_ok, 1, answered));
}

/* The body as JSON (an object, or anything when !object); see api_body. */
struct json *
api_body_json(struct api_call *c, int empty_ok, int object, int *answered)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(c->c_req);
	size_t		 len = evbuffer_get_length(in);
	struct json	*j;
	char		 err[256];
	char		*p;

	*answered = 0;
	if (len == 0) {
		if (empty_ok)
			return (NULL);
		api_error(c->c_api, c->c_req, 400, NULL,
		    "a JSON body is required");
		*answered = 1;
		return (NULL);
	}
	p = (char *)evbuffer_pullup(in, -1);
	if ((j = json_parse(p, len, err, sizeof err)) == NULL) {
		api_error(c->c_api, c->c_req, 400, NULL,
		    "the body is not valid JSON: %s", err);
		*answered = 1;
		return (NULL);
	}
	if (object && j->j_type != JSON_OBJECT) {
		api_error(c->c_api, c->c_req, 400, NULL,
		    "the body must be a JSON object");
		json_free(j);
		*answered = 1;
		return (NULL);
	}
	return (j);
}

/*
 * Check that only the named query parameters are present, each once
 * unless its name is marked "+" (it may be repeated: "+state").
 */
int
api_params_ok(struct api_call *c, const char *const *allowed)
{
	struct evkeyval	*kv, *kv2;
	const char	*name;
	size_t		 i;

	TAILQ_FOREACH(kv, &c->c_query, next) {
		for (i = 0; (name = allowed[i]) != NULL; i++) {
			if (*name == '+')
				name++;
			if (strcmp(kv->key, name) == 0)
				break;
		}
		if (name == NULL) {
			api_error(c->c_api, c->c_req, 400, kv->key,
			    "unknown query parameter \"%s\"", kv->key);
			return (0);
		}
		if (*allowed[i] == '+')
			continue;
		for (kv2 = TAILQ_NEXT(kv, next); kv2 != NULL;
		    kv2 = TAILQ_NEXT(kv2, next)) {
			if (strcmp(kv2->key, kv->key) == 0) {
				api_error(c->c_api, c->c_req, 400, kv->key,
				    "query parameter \"%s\" given more than "
				    "once", kv->key);
				return (0);
			}
		}
	}
	return (1);
}

/* Parse limit and cursor; answers 400 and returns -1 when bad. */
int
api_paging(struct api_call *c, size_t *limit, uint64_t *cursor)
{
	const char	*l, *cur;
	uint64_t	 v;

	*limit = API_LIMIT_DEFAULT;
	*cursor = 0;
	if ((l = evhttp_find_header(&c->c_query, "limit")) != NULL) {
		if (util_parse_uint(l, API_LIMIT_MAX, &v) == -1 || v == 0) {
			api_error(c->c_api, c->c_req, 400, "limit",
			    "limit must be a whole number from 1 to %d",
			    API_LIMIT_MAX);
			return (-1);
		}
		*limit = v;
	}
	if ((cur = evhttp_find_header(&c->c_query, "cursor")) != NULL &&
	    *cur != '\0') {
		if (util_parse_uint(cur, UINT64_MAX, &v) == -1) {
			api_error(c->c_api, c->c_req, 400, "cursor",
			    "cursor is not one this API gave out");
			return (-1);
		}
		*cursor = v;
	}
	return (0);
}

/* Write "next": cursor or null. */
void
api_gen_next(yajl_gen g, uint64_t next)
{
	char	 s[32];

	jgen_str(g, "next");
	if (next == 0)
		jgen_null(g);
	else {
		snprintf(s, sizeof s, "%llu", (unsigned long long)next);
		jgen_str(g, s);
	}
}

/* Answer a search change that failed with its status. */
static void
api_search_error(struct api_call *c, int status, const struct search_err *e)
{
	api_error(c->c_api, c->c_req, status, status == 422 ||
	    (status == 409 && *e->se_field) ? e->se_field : NULL, "%s",
	    e->se_message);
}

/* Listing state for GET /api/v1/searches. */
struct api_list {
	struct api_call		*l_call;
	yajl_gen		 l_gen;
	size_t			 l_limit;
	size_t			 l_n;
	uint64_t		 l_last;
	int			 l_more;
	const char		*l_type;
	const char		*l_source;
	const char		*l_tag;
	int			 l_enabled;	/* -1 any */
	const char		*l_q;
};

/* Case-insensitive substring test. */
static int
api_contains(const char *hay, const char *needle)
{
	size_t	 n = strlen(needle);

	if (hay == NULL)
		return (0);
	for (; *hay != '\0'; hay++) {
		if (strncasecmp(hay, needle, n) == 0)
			return (1);
	}
	return (0);
}

/* One search for the listing, if it passes the filters. */
static int
api_list_one(void *arg, struct search *s)
{
	struct api_list	*l = arg;
	const char	*desc;
	size_t		 i;
	int		 ok;

	if (l->l_type != NULL && strcmp(search_type_name(s->s_type),
	    l->l_type) != 0)
		return (0);
	if (l->l_source != NULL && (s->s_source == NULL ||
	    strcmp(s->s_source, l->l_source) != 0))
		return (0);
	if (l->l_enabled >= 0 && s->s_enabled != l->l_enabled)
		return (0);
	if (l->l_tag != NULL) {
		for (ok = 0, i = 0; i < s->s_ntags; i++)
			ok |= strcmp(s->s_tags[i], l->l_tag) == 0;
		if (!ok)
			return (0);
	}
	if (l->l_q != NULL) {
		desc = json_str(json_get(s->s_def, "description"));
		if (!api_contains(s->s_name, l->l_q) &&
		    !api_contains(desc, l->l_q))
			return (0);
	}
	if (l->l_n == l->l_limit) {
		l->l_more = 1;
		return (1);
	}
	searches_gen(l->l_call->c_api->a_env->ae_searches, l->l_gen, s);
	l->l_n++;
	l->l_last = s->s_id;
	return (0);
}

/* GET /api/v1/searches */
static void
api_searches_list(struct api_call *c)
{
	static const char *const params[] = { "type", "source", "tag",
	    "enabled", "q", "limit", "cursor", NULL };
	struct api_list	 l;
	const char	*en;
	uint64_t	 cursor;

	if (!api_params_ok(c, params))
		return;
	memset(&l, 0, sizeof l);
	if (api_paging(c, &l.l_limit, &cursor) == -1)
		return;
	l.l_call = c;
	l.l_type = evhttp_find_header(&c->c_query, "type");
	l.l_source = evhttp_find_header(&c->c_query, "source");
	l.l_tag = evhttp_find_header(&c->c_query, "tag");
	l.l_q = evhttp_find_header(&c->c_query, "q");
	l.l_enabled = -1;
	if ((en = evhttp_find_header(&c->c_query, "enabled")) != NULL) {
		if (strcmp(en, "true") == 0)
			l.l_enabled = 1;
		else if (strcmp(en, "false") == 0)
			l.l_enabled = 0;
		else {
			api_error(c->c_api, c->c_req, 400, "enabled",
			    "enabled must be true or false");
			return;
		}
	}
	l.l_gen = jgen_new();
	yajl_gen_map_open(l.l_gen);
	jgen_str(l.l_gen, "items");
	yajl_gen_array_open(l.l_gen);
	searches_each(c->c_api->a_env->ae_searches, cursor, api_list_one, &l);
	yajl_gen_array_close(l.l_gen);
	api_gen_next(l.l_gen, l.l_more ? l.l_last : 0);
	yajl_gen_map_close(l.l_gen);
	api_send_gen(c->c_api, c->c_req, 200, l.l_gen);
}

/* Answer with one search. */
static void
api_send_search(struct api_call *c, int status, struct search *s)
{
	yajl_gen	 g;

	g = jgen_new();
	searches_gen(c->c_api->a_env->ae_searches, g, s);
	api_send_gen(c->c_api, c->c_req, status, g);
}

/*
 * Who makes a change, with the body's "change_note" (a string of at most
 * API_NOTE_MAX characters, or null).  Answers 422 and returns -1 when bad.
 */
static int
api_who(struct api_call *c, const struct json *body, struct searches_who *who)
{
	const struct json	*note = json_get(body, "change_note");

	who->sw_actor = c->c_actor;
	who->sw_note = NULL;
	if (note == NULL || note->j_type == JSON_NULL)
		return (0);
	if (json_str(note) == NULL || note->j_u.str.len > API_NOTE_MAX) {
		api_error(c->c_api, c->c_req, 422, "change_note", "must be a "
		    "string of at most %d bytes", API_NOTE_MAX);
		return (-1);
	}
	who->sw_note = json_str(note);
	return (0);
}

/* POST /api/v1/searches */
static void
api_searches_create(struct api_call *c)
{
	struct searches_who	 who;
	struct search_err	 err;
	struct search		*s;
	struct json		*body;
	int			 answered, status;

	if ((body = api_body(c, 0, &answered)) == NULL)
		return;
	if (api_who(c, body, &who) == -1) {
		json_free(body);
		return;
	}
	memset(&err, 0, sizeof err);
	status = searches_create(c->c_api->a_env->ae_searches, body, &s, &err,
	    &who);
	json_free(body);
	if (status != 201) {
		api_search_error(c, status, &err);
		return;
	}
	log_info("search %llu \"%s\" created by %s",
	    (unsigned long long)s->s_id, s->s_name, c->c_actor);
	api_send_search(c, 201, s);
	search_unref(s);
}

/* Parse a path id; answers and returns 0 when bad. */
uint64_t
api_path_id(struct api_call *c, const char *s, size_t len, const char *what)
{
	char		 tmp[32];
	uint64_t	 v;

	if (len == 0 || len >= sizeof tmp)
		goto bad;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (util_parse_uint(tmp, UINT64_MAX, &v) == -1 || v == 0)
		goto bad;
	return (v);
bad:
	api_error(c->c_api, c->c_req, 404, NULL, "no %s \"%.*s\"", what,
	    (int)(len > 64 ? 64 : len), s);
	return (0);
}

/* GET, PUT, PATCH, DELETE /api/v1/searches/{id} */
static void
api_search_one(struct api_call *c, uint64_t id)
{
	struct searches		*ss = c->c_api->a_env->ae_searches;
	struct searches_who	 who;
	struct search_err	 err;
	struct search		*s;
	struct json		*body;
	yajl_gen		 g;
	int			 answered, status;

	memset(&err, 0, sizeof err);
	switch (c->c_method) {
	case EVHTTP_REQ_GET:
		if ((s = searches_get(ss, id)) == NULL) {
			api_error(c->c_api, c->c_req, 404, NULL,
			    "no search %llu", (unsigned long long)id);
			return;
		}
		api_send_search(c, 200, s);
		return;
	case EVHTTP_REQ_PUT:
	case EVHTTP_REQ_PATCH:
		if ((body = api_body(c, 0, &answered)) == NULL)
			return;
		if (api_who(c, body, &who) == -1) {
			json_free(body);
			return;
		}
		status = searches_update(ss, id, body,
		    c->c_method == EVHTTP_REQ_PATCH, &s, &err, &who);
		json_free(body);
		if (status != 200) {
			api_search_error(c, status, &err);
			return;
		}
		log_info("search %llu changed to version %llu by %s",
		    (unsigned long long)id, (unsigned long long)s->s_version,
		    c->c_actor);
		api_send_search(c, 200, s);
		search_unref(s);
		return;
	case EVHTTP_REQ_DELETE:
		body = api_body(c, 1, &answered);
		if (answered)
			return;
		if (api_who(c, body, &who) == -1) {
			json_free(body);
			return;
		}
		status = searches_delete(ss, id, &err, &who);
		json_free(body);
		if (status != 200) {
			api_search_error(c, status, &err);
			return;
		}
		log_info("search %llu deleted by %s", (unsigned long long)id,
		    c->c_actor);
		g = jgen_new();
		yajl_gen_map_open(g);
		jgen_kint(g, "deleted", (int64_t)id);
		yajl_gen_map_close(g);
		api_send_gen(c->c_api, c->c_req, 200, g);
		return;
	default:
		api_bad_method(c, "GET, PUT, PATCH, DELETE");
	}
}

/* A JSON time: RFC 3339 text or epoch seconds.  0, or -1 when neither. */
int
api_json_time(const struct json *v, int64_t *ms)
{
	int64_t	 secs;

	if (json_str(v) != NULL)
		return (util_parse_time_ms(json_str(v), v->j_u.str.len, ms));
	if (!json_int(v, &secs) || secs <= 0)
		return (-1);
	*ms = secs * 1000;
	return (0);
}

/*
 * The end of "now" for a run: "at" (RFC 3339 or epoch seconds), or the
 * present.  Answers 422 and returns -1 when bad.
 */
int
api_parse_at(struct api_call *c, const struct json *at, int64_t *end)
{
	*end = util_now_ms();
	if (at == NULL || at->j_type == JSON_NULL ||
	    api_json_time(at, end) == 0)
		return (0);
	api_error(c->c_api, c->c_req, 422, "at", "not a time: use RFC 3339 "
	    "(2026-11-23T19:30:00Z) or epoch seconds");
	return (-1);
}

/* A run asked for through the API is over. */
static void
api_run_done(struct run *r, void *arg)
{
	struct api_pending_run	*p = arg;
	yajl_gen		 g;

	g = jgen_new();
	run_gen_dry(g, r);
	api_send_gen(p->p_api, p->p_req, 200, g);
	run_free(r);
	free(p);
}

/*
 * Start a run of s over [from, to) whose result answers this request.
 * Returns 0, or -1 after answering 503 (input is then still the caller's).
 */
static int
api_start_run(struct api_call *c, struct search *s, int64_t from, int64_t to,
    enum run_mode mode, void *input)
{
	struct api_pending_run	*p;
	char			 err[256];

	p = xcalloc(1, sizeof *p);
	p->p_api = c->c_api;
	p->p_req = c->c_req;
	if (sched_run_now(c->c_api->a_env->ae_sched, s, from, to, mode, input,
	    api_run_done, p, err, sizeof err) == -1) {
		free(p);
		api_error(c->c_api, c->c_req, 503, NULL, "%s", err);
		return (-1);
	}
	return (0);
}

/*
 * Refuse (422, naming it) a member of obj that is not in keys (NULL-
 * terminated); hint says what is expected.  Returns 0, or -1 after
 * answering.
 */
int
api_only_keys(struct api_call *c, const struct json *obj,
    const char *const *keys, const char *hint)
{
	size_t	 i, k;

	for (i = 0; obj != NULL && i < obj->j_u.obj.n; i++) {
		for (k = 0; keys[k] != NULL; k++)
			if (strcmp(obj->j_u.obj.m[i].m_key, keys[k]) == 0)
				break;
		if (keys[k] == NULL) {
			api_error(c->c_api, c->c_req, 422,
			    obj->j_u.obj.m[i].m_key, "unknown field%s%s",
			    hint != NULL ? " " : "", hint != NULL ? hint : "");
			return (-1);
		}
	}
	return (0);
}

/* POST /api/v1/searches/{id}/run */
static void
api_search_run(struct api_call *c, uint64_t id)
{
	static const char *const run_keys[] = { "at", "dry_run", NULL };
	struct search		*s;
	struct json		*body;
	const struct json	*dry;
	int64_t			 end;
	int			 answered, isdry = 0;

	if (c->c_method != EVHTTP_REQ_POST) {
		api_bad_method(c, "POST");
		return;
	}
	if ((s = searches_get(c->c_api->a_env->ae_searches, id)) == NULL) {
		api_error(c->c_api, c->c_req, 404, NULL, "no search %llu",
		    (unsigned long long)id);
		return;
	}
	body = api_body(c, 1, &answered);
	if (answered)
		return;
	if (api_parse_at(c, json_get(body, "at"), &end) == -1) {
		json_free(body);
		return;
	}
	if ((dry = json_get(body, "dry_run")) != NULL &&
	    dry->j_type != JSON_NULL && !json_bool(dry, &isdry)) {
		api_error(c->c_api, c->c_req, 422, "dry_run",
		    "must be true or false");
		json_free(body);
		return;
	}
	if (api_only_keys(c, body, run_keys, NULL) == -1) {
		json_free(body);
		return;
	}
	json_free(body);
	if (isdry)
		api_audit_skip(c);
	end -= s->s_delay * 1000;
	(void)api_start_run(c, s, end - s->s_range * 1000, end,
	    isdry ? RUN_DRY : RUN_MANUAL, NULL);
}

/*
 * POST /api/v1/searches/test: a dry run of an unsaved definition, sent
 * bare or as {"search": DEFINITION, "at": TIME}.  Stores and sends nothing.
 */
static void
api_searches_test(struct api_call *c)
{
	static const char *const test_keys[] = { "search", "at", NULL };
	struct search_err	 serr;
	struct search		*s;
	struct json		*body;
	const struct json	*def;
	int64_t			 end;
	int			 answered;

	if (c->c_method != EVHTTP_REQ_POST) {
		api_bad_method(c, "POST");
		return;
	}
	if ((body = api_body(c, 0, &answered)) == NULL)
		return;
	end = util_now_ms();
	if ((def = json_get(body, "search")) != NULL) {
		if (def->j_type != JSON_OBJECT) {
			api_error(c->c_api, c->c_req, 422, "search",
			    "must be a search definition (an object)");
			json_free(body);
			return;
		}
		if (api_only_keys(c, body, test_keys, "(send {\"search\": "
		    "..., \"at\": ...} or a bare definition)") == -1) {
			json_free(body);
			return;
		}
		if (api_parse_at(c, json_get(body, "at"), &end) == -1) {
			json_free(body);
			return;
		}
	} else
		def = body;
	memset(&serr, 0, sizeof serr);
	s = search_from_json(def, c->c_api->a_env->ae_run->re_cfg, &serr);
	json_free(body);
	if (s == NULL) {
		api_search_error(c, 422, &serr);
		return;
	}
	end -= s->s_delay * 1000;
	(void)api_start_run(c, s, end - s->s_range * 1000, end, RUN_DRY,
	    NULL);
	search_unref(s);
}

/*
 * POST /api/v1/push/{id}: alerts [{"time", "content", "source_url"}] (or
 * {"alerts": [...]}) through a push search's filters and targets.  All
 * are checked before anything runs: one bad item refuses the request.
 */
static void
api_push(struct api_call *c, uint64_t id)
{
	struct push_input	*pi;
	struct search		*s;
	struct record		*rec;
	struct json		*body;
	const struct json	*list, *it, *v, *content;
	char			 field[64], msg[256], *text;
	int64_t			 now = util_now_ms(), t;
	size_t			 i, k, len;
	int			 answered;

	if (c->c_method != EVHTTP_REQ_POST) {
		api_bad_method(c, "POST");
		return;
	}
	if ((s = searches_get(c->c_api->a_env->ae_searches, id)) == NULL) {
		api_error(c->c_api, c->c_req, 404, NULL, "no search %llu",
		    (unsigned long long)id);
		return;
	}
	if (s->s_type != SEARCH_PUSH) {
		api_error(c->c_api, c->c_req, 409, NULL, "search %llu is of "
		    "type %s, not push: only push searches take pushed alerts",
		    (unsigned long long)id, search_type_name(s->s_type));
		return;
	}
	if (!s->s_enabled) {
		api_error(c->c_api, c->c_req, 409, NULL, "search %llu is "
		    "disabled: enable it to take pushed alerts",
		    (unsigned long long)id);
		return;
	}
	if ((body = api_body_json(c, 0, 0, &answered)) == NULL)
		return;
	list = body->j_type == JSON_OBJECT ? json_get(body, "alerts") : body;
	if (list == NULL || list->j_type != JSON_ARRAY) {
		api_error(c->c_api, c->c_req, 422, "alerts", "send an array "
		    "of {\"time\", \"content\", \"source_url\"}, or "
		    "{\"alerts\": [...]}");
		json_free(body);
		return;
	}
	if (list->j_u.arr.n == 0 || list->j_u.arr.n > API_PUSH_MAX) {
		api_error(c->c_api, c->c_req, 422, "alerts", "%zu alerts: send "
		    "1 to %d a request", list->j_u.arr.n, API_PUSH_MAX);
		json_free(body);
		return;
	}
	pi = push_input_new();
	for (i = 0; i < list->j_u.arr.n; i++) {
		it = list->j_u.arr.v[i];
		snprintf(field, sizeof field, "[%zu]", i);
		if (it->j_type != JSON_OBJECT)
			goto bad_item;
		for (k = 0; k < it->j_u.obj.n; k++) {
			const char *key = it->j_u.obj.m[k].m_key;

			if (strcmp(key, "time") != 0 &&
			    strcmp(key, "content") != 0 &&
			    strcmp(key, "source_url") != 0) {
				snprintf(field, sizeof field, "[%zu].%s", i,
				    key);
				snprintf(msg, sizeof msg, "unknown field");
				goto refuse;
			}
		}
		content = json_get(it, "content");
		if (content == NULL || content->j_type != JSON_OBJECT) {
			snprintf(field, sizeof field, "[%zu].content", i);
			snprintf(msg, sizeof msg, "is required: a JSON object");
			goto refuse;
		}
		t = now;
		if ((v = json_get(it, "time")) != NULL &&
		    v->j_type != JSON_NULL && api_json_time(v, &t) == -1) {
			snprintf(field, sizeof field, "[%zu].time", i);
			snprintf(msg, sizeof msg, "not a time: use RFC 3339 or "
			    "epoch seconds");
			goto refuse;
		}
		text = json_to_string(content, &len);
		rec = record_from_json(text, len, msg, sizeof msg);
		free(text);
		if (rec == NULL) {
			snprintf(field, sizeof field, "[%zu].content", i);
			goto refuse;
		}
		rec->r_time = t;
		if ((v = json_get(it, "source_url")) != NULL &&
		    v->j_type != JSON_NULL) {
			if (json_str(v) == NULL) {
				record_free(rec);
				snprintf(field, sizeof field,
				    "[%zu].source_url", i);
				snprintf(msg, sizeof msg, "must be a string");
				goto refuse;
			}
			rec->r_url = xstrdup(json_str(v));
		}
		push_input_add(pi, rec);
	}
	json_free(body);
	if (api_start_run(c, s, now, now, RUN_PUSH, pi) == -1)
		push_input_free(pi);
	return;

bad_item:
	snprintf(msg, sizeof msg, "must be an object {\"time\", "
	    "\"content\", \"source_url\"}");
refuse:
	push_input_free(pi);
	json_free(body);
	api_error(c->c_api, c->c_req, 422, field, "%s", msg);
}

/* GET /api/v1/searches/{id}/jobs */
static void
api_search_jobs(struct api_call *c, uint64_t id)
{
	static const char *const params[] = { "limit", "cursor", NULL };
	struct store_txn	*txn;
	struct store_cursor	*cur;
	const void		*k, *v;
	size_t			 limit, klen, vlen, n = 0;
	uint64_t		 cursor, last = 0;
	uint8_t			 seek[16];
	yajl_gen		 g;
	int			 rc, more = 0;

	if (c->c_method != EVHTTP_REQ_GET) {
		api_bad_method(c, "GET");
		return;
	}
	if (!api_params_ok(c, params) || api_paging(c, &limit, &cursor) == -1)
		return;
	if (searches_get(c->c_api->a_env->ae_searches, id) == NULL) {
		api_error(c->c_api, c->c_req, 404, NULL, "no search %llu",
		    (unsigned long long)id);
		return;
	}
	if ((txn = store_read(c->c_api->a_env->ae_run->re_store)) == NULL ||
	    (cur = store_cursor(txn, STORE_JOBS)) == NULL) {
		store_done(txn);
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		return;
	}
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_str(g, "items");
	yajl_gen_array_open(g);
	util_be64_put(seek, id);
	util_be64_put(seek + 8, cursor == 0 ? UINT64_MAX : cursor - 1);
	for (rc = cursor == 1 ? 1 : store_cursor_seek_le(cur, seek, 16, &k,
	    &klen, &v, &vlen); rc == 0;
	    rc = store_cursor_prev(cur, &k, &klen, &v, &vlen)) {
		if (klen != 16 || memcmp(k, seek, 8) != 0)
			break;
		if (n == limit) {
			more = 1;
			break;
		}
		jgen_raw(g, v, vlen);
		last = util_be64_get((const uint8_t *)k + 8);
		n++;
	}
	store_cursor_free(cur);
	store_done(txn);
	yajl_gen_array_close(g);
	api_gen_next(g, more ? last : 0);
	yajl_gen_map_close(g);
	api_send_gen(c->c_api, c->c_req, 200, g);
}

/* GET /api/v1/searches/{id}/history: newest first; cursor is a version. */
static void
api_search_history(struct api_call *c, uint64_t id)
{
	static const char *const params[] = { "limit", "cursor", NULL };
	struct store_txn	*txn;
	struct store_cursor	*cur;
	const void		*k, *v;
	size_t			 limit, klen, vlen, n = 0;
	uint64_t		 cursor, last = 0;
	uint8_t			 seek[16];
	yajl_gen		 g;
	int			 rc, more = 0;

	if (c->c_method != EVHTTP_REQ_GET) {
		api_bad_method(c, "GET");
		return;
	}
	if (!api_params_ok(c, params) || api_paging(c, &limit, &cursor) == -1)
		return;
	if ((txn = store_read(c->c_api->a_env->ae_run->re_store)) == NULL ||
	    (cur = store_cursor(txn, STORE_SEARCH_HISTORY)) == NULL) {
		store_done(txn);
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		return;
	}
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_str(g, "items");
	yajl_gen_array_open(g);
	util_be64_put(seek, id);
	util_be64_put(seek + 8, cursor == 0 ? UINT64_MAX : cursor - 1);
	for (rc = cursor == 1 ? 1 : store_cursor_seek_le(cur, seek, 16, &k,
	    &klen, &v, &vlen); rc == 0;
	    rc = store_cursor_prev(cur, &k, &klen, &v, &vlen)) {
		if (klen != 16 || memcmp(k, seek, 8) != 0)
			break;
		if (n == limit) {
			more = 1;
			break;
		}
		jgen_raw(g, v, vlen);
		last = util_be64_get((const uint8_t *)k + 8);
		n++;
	}
	store_cursor_free(cur);
	store_done(txn);
	if (n == 0 && cursor == 0 &&
	    searches_get(c->c_api->a_env->ae_searches, id) == NULL) {
		yajl_gen_free(g);
		api_error(c->c_api, c->c_req, 404, NULL, "no search %llu",
		    (unsigned long long)id);
		return;
	}
	yajl_gen_array_close(g);
	api_gen_next(g, more ? last : 0);
	yajl_gen_map_close(g);
	api_send_gen(c->c_api, c->c_req, 200, g);
}

/* Export state. */
struct api_export {
	yajl_gen	 e_gen;
	int		 e_origin;	/* -1 any, else ORIGIN_* */
};

/* One search of an export: its definition, without server fields. */
static int
api_export_one(void *arg, struct search *s)
{
	struct api_export	*e = arg;

	if (e->e_origin >= 0 && (int)s->s_origin != e->e_origin)
		return (0);
	json_gen(e->e_gen, s->s_def);
	return (0);
}

/* GET /api/v1/searches/export[?origin=api|file] */
static void
api_searches_export(struct api_call *c)
{
	static const char *const params[] = { "origin", NULL };
	struct api_export	 e;
	const char		*o;

	if (c->c_method != EVHTTP_REQ_GET) {
		api_bad_method(c, "GET");
		return;
	}
	if (!api_params_ok(c, params))
		return;
	e.e_origin = -1;
	if ((o = evhttp_find_header(&c->c_query, "origin")) != NULL) {
		if (strcmp(o, "api") == 0)
			e.e_origin = ORIGIN_API;
		else if (strcmp(o, "file") == 0)
			e.e_origin = ORIGIN_FILE;
		else {
			api_error(c->c_api, c->c_req, 400, "origin",
			    "origin must be api or file");
			return;
		}
	}
	e.e_gen = jgen_new();
	yajl_gen_map_open(e.e_gen);
	jgen_str(e.e_gen, "searches");
	yajl_gen_array_open(e.e_gen);
	searches_each(c->c_api->a_env->ae_searches, 0, api_export_one, &e);
	yajl_gen_array_close(e.e_gen);
	yajl_gen_map_close(e.e_gen);
	api_send_gen(c->c_api, c->c_req, 200, e.e_gen);
}

/*
 * POST /api/v1/searches/import {"searches": [...], "mode": "create" |
 * "upsert", "change_note"}: all or nothing; 422 lists every refused item.
 */
static void
api_searches_import(struct api_call *c)
{
	static const char *const keys[] = { "searches", "mode", "change_note",
	    NULL };
	struct searches_import	 res;
	struct searches_who	 who;
	struct json		*body;
	const struct json	*list, *mode;
	struct buf		 sum = BUF_INIT;
	char			 field[160];
	size_t			 i, nnew = 0;
	yajl_gen		 g;
	int			 answered, upsert = 0, status;

	if (c->c_method != EVHTTP_REQ_POST) {
		api_bad_method(c, "POST");
		return;
	}
	if ((body = api_body(c, 0, &answered)) == NULL)
		return;
	if (api_only_keys(c, body, keys, "(send {\"searches\": [...], "
	    "\"mode\": \"create\" or \"upsert\"})") == -1 ||
	    api_who(c, body, &who) == -1)
		goto done;
	if ((mode = json_get(body, "mode")) != NULL &&
	    mode->j_type != JSON_NULL) {
		if (json_str(mode) != NULL && strcmp(json_str(mode),
		    "upsert") == 0)
			upsert = 1;
		else if (json_str(mode) == NULL ||
		    strcmp(json_str(mode), "create") != 0) {
			api_error(c->c_api, c->c_req, 422, "mode",
			    "must be \"create\" or \"upsert\"");
			goto done;
		}
	}
	list = json_get(body, "searches");
	if (list == NULL || list->j_type != JSON_ARRAY) {
		api_error(c->c_api, c->c_req, 422, "searches", "is required: "
		    "an array of search definitions");
		goto done;
	}
	if (json_len(list) > SEARCHES_IMPORT_MAX) {
		api_error(c->c_api, c->c_req, 422, "searches", "%zu searches: "
		    "at most %d an import", json_len(list),
		    SEARCHES_IMPORT_MAX);
		goto done;
	}
	status = searches_import(c->c_api->a_env->ae_searches, list, upsert,
	    &who, &res);
	g = jgen_new();
	yajl_gen_map_open(g);
	if (status != 200) {
		jgen_str(g, "error");
		yajl_gen_map_open(g);
		jgen_kstr(g, "code", status == 422 ? "invalid" : "internal");
		buf_printf(&sum, "%zu of %zu searches refused; nothing was "
		    "imported", res.si_nerrs, json_len(list));
		buf_addc(&sum, '\0');
		jgen_kstr(g, "message", sum.b_data);
		if (res.si_nerrs > 0) {
			snprintf(field, sizeof field, "searches[%zu]%s%s",
			    res.si_index[0], *res.si_errs[0].se_field ? "." :
			    "", res.si_errs[0].se_field);
			jgen_kstr(g, "field", field);
		}
		jgen_str(g, "errors");
		yajl_gen_array_open(g);
		for (i = 0; i < res.si_nerrs; i++) {
			yajl_gen_map_open(g);
			jgen_kint(g, "index", (int64_t)res.si_index[i]);
			jgen_kstr(g, "field", res.si_errs[i].se_field);
			jgen_kstr(g, "message", res.si_errs[i].se_message);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
	} else {
		jgen_str(g, "items");
		yajl_gen_array_open(g);
		for (i = 0; i < res.si_n; i++) {
			yajl_gen_map_open(g);
			jgen_kint(g, "index", (int64_t)i);
			jgen_kint(g, "id", (int64_t)res.si_ids[i]);
			jgen_kstr(g, "result", res.si_created[i] ? "created" :
			    "updated");
			yajl_gen_map_close(g);
			nnew += res.si_created[i];
		}
		yajl_gen_array_close(g);
		jgen_kint(g, "created", (int64_t)nnew);
		jgen_kint(g, "updated", (int64_t)(res.si_n - nnew));
		buf_printf(&sum, "import: %zu created, %zu updated", nnew,
		    res.si_n - nnew);
		if (who.sw_note != NULL)
			buf_printf(&sum, ": %s", who.sw_note);
		buf_addc(&sum, '\0');
		api_audit_set(c, "searches", sum.b_data);
		log_info("%zu searches imported by %s", res.si_n, c->c_actor);
	}
	yajl_gen_map_close(g);
	searches_import_clear(&res);
	api_send_gen(c->c_api, c->c_req, status, g);
done:
	buf_free(&sum);
	json_free(body);
}

/*
 * GET /healthz.  Without a key (or with one not known): the states only,
 * status, store, redis, outbox and each source's health; the texts of
 * errors (which may name hosts, paths, upstream answers) and the rest
 * need a key of any role.
 */
static void
api_healthz(struct api_call *c)
{
	struct api_env		*env = c->c_api->a_env;
	struct run_env		*re = env->ae_run;
	const char		*serr = store_last_error(re->re_store);
	uint64_t		 depth = outbox_depth(re->re_outbox);
	int			 up = queue_up(env->ae_queue), degraded;
	struct source_state	*ss;
	yajl_gen		 g;
	size_t			 i, n;

	degraded = !up || serr != NULL || sources_degraded(re->re_sources);
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_kstr(g, "status", degraded ? "degraded" : "ok");
	jgen_str(g, "store");
	yajl_gen_map_open(g);
	jgen_kstr(g, "status", serr == NULL ? "ok" : "error");
	if (c->c_role == ROLE_NONE) {
		yajl_gen_map_close(g);
		jgen_kstr(g, "redis", up ? "up" : "down");
		jgen_kint(g, "outbox", (int64_t)depth);
		jgen_str(g, "sources");
		yajl_gen_map_open(g);
		n = sources_count(re->re_sources);
		for (i = 0; i < n; i++) {
			ss = sources_at(re->re_sources, i);
			jgen_str(g, ss->ss_cfg->cs_name);
			yajl_gen_map_open(g);
			jgen_kstr(g, "health",
			    sources_health_name(ss->ss_health));
			yajl_gen_map_close(g);
		}
		yajl_gen_map_close(g);
		yajl_gen_map_close(g);
		api_send_gen(c->c_api, c->c_req, 200, g);
		return;
	}
	jgen_kstr(g, "error", serr);
	jgen_kint(g, "mapsize", (int64_t)store_mapsize(re->re_store));
	yajl_gen_map_close(g);
	jgen_kstr(g, "redis", up ? "up" : "down");
	if (!up)
		jgen_kstr(g, "redis_error", queue_error(env->ae_queue));
	jgen_kint(g, "outbox", (int64_t)depth);
	jgen_kint(g, "searches", (int64_t)sched_searches(env->ae_sched));
	jgen_kint(g, "runs_in_flight", (int64_t)sched_inflight(env->ae_sched));
	jgen_kint(g, "scheduler_lag_ms", sched_lag(env->ae_sched));
	jgen_str(g, "sources");
	sources_gen(g, re->re_sources);
	jgen_str(g, "lists");
	lists_gen(g, lists_current());
	jgen_kstr(g, "version", env->ae_version);
	yajl_gen_map_close(g);
	api_send_gen(c->c_api, c->c_req, 200, g);
}

/* GET /metrics */
static void
api_metrics(struct api_call *c)
{
	struct api_env		*env = c->c_api->a_env;
	struct run_env		*re = env->ae_run;
	struct metrics		*m = re->re_metrics;
	struct source_state	*ss;
	struct evbuffer		*out;
	struct buf		 b = BUF_INIT;
	size_t			 i, n;

	metrics_header(&b, "four11_runs_total", "counter",
	    "Search runs finished, by result.");
	buf_printf(&b, "four11_runs_total{result=\"ok\"} %llu\n",
	    (unsigned long long)m->m_runs_ok);
	buf_printf(&b, "four11_runs_total{result=\"failed\"} %llu\n",
	    (unsigned long long)m->m_runs_failed);
	metrics_family(&b, "four11_runs_retried_total", "counter",
	    "Failed runs scheduled again.", (double)m->m_runs_retried);
	metrics_family(&b, "four11_runs_truncated_total", "counter",
	    "Runs that found more than max_alerts.",
	    (double)m->m_runs_truncated);
	metrics_family(&b, "four11_windows_skipped_total", "counter",
	    "Windows not run because the gap was longer than catch_up.",
	    (double)m->m_windows_skipped);
	metrics_family(&b, "four11_hits_total", "counter",
	    "Records received from sources.", (double)m->m_hits);
	metrics_family(&b, "four11_records_dropped_total", "counter",
	    "Records dropped by filters.", (double)m->m_dropped);
	metrics_family(&b, "four11_alerts_total", "counter",
	    "Alerts committed.", (double)m->m_alerts);
	metrics_family(&b, "four11_commit_failures_total", "counter",
	    "Runs whose results could not be stored.",
	    (double)m->m_commit_failures);
	metrics_family(&b, "four11_store_batches_total", "counter",
	    "Group commits of the store.",
	    (double)store_batches(re->re_store));
	metrics_family(&b, "four11_outbox_depth", "gauge",
	    "Events committed and not yet in Redis.",
	    (double)outbox_depth(re->re_outbox));
	metrics_family(&b, "four11_outbox_sent_total", "counter",
	    "Outbox entries added to Redis streams.",
	    (double)outbox_sent(re->re_outbox));
	metrics_family(&b, "four11_outbox_duplicates_total", "counter",
	    "Outbox entries resent that Redis had already (skipped).",
	    (double)outbox_duplicates(re->re_outbox));
	metrics_family(&b, "four11_redis_up", "gauge",
	    "1 when the Redis connection is up.",
	    queue_up(env->ae_queue) ? 1 : 0);
	metrics_family(&b, "four11_runs_in_flight", "gauge",
	    "Runs under way.", (double)sched_inflight(env->ae_sched));
	metrics_family(&b, "four11_runs_waiting", "gauge",
	    "Runs due and waiting for a slot.",
	    (double)sched_waiting(env->ae_sched));
	metrics_family(&b, "four11_scheduler_lag_seconds", "gauge",
	    "How late the most overdue run is.",
	    (double)sched_lag(env->ae_sched) / 1000.0);
	metrics_family(&b, "four11_searches", "gauge",
	    "Searches known to the scheduler.",
	    (double)sched_searches(env->ae_sched));
	metrics_family(&b, "four11_http_transfers", "gauge",
	    "HTTP requests to sources under way.",
	    (double)httpc_running(re->re_httpc));
	metrics_family(&b, "four11_api_requests_total", "counter",
	    "Requests to this API.", (double)m->m_api_requests);
	metrics_family(&b, "four11_jobs_pruned_total", "counter",
	    "Job records deleted past job_retention.",
	    (double)m->m_jobs_pruned);
	metrics_family(&b, "four11_api_errors_total", "counter",
	    "Requests answered with an error status.",
	    (double)m->m_api_errors);
	metrics_family(&b, "four11_api_connections", "gauge",
	    "Open API connections.", (double)c->c_api->a_nconns);
	metrics_family(&b, "four11_api_connections_refused_total", "counter",
	    "API connections closed at once: api_max_connections open.",
	    (double)c->c_api->a_refused);
	metrics_family(&b, "four11_api_request_timeouts_total", "counter",
	    "API connections closed: no whole request within "
	    "api_request_timeout.", (double)c->c_api->a_timedout);
	metrics_family(&b, "four11_api_accept_pauses_total", "counter",
	    "Pauses of the API listener after a failed accept (EMFILE...).",
	    (double)c->c_api->a_pauses);
	metrics_family(&b, "process_cpu_seconds_total", "counter",
	    "CPU time used by 411d.", (double)util_cpu_us() / 1e6);
	metrics_family(&b, "process_start_time_seconds", "gauge",
	    "When 411d started.", (double)m->m_started_ms / 1000.0);

	n = sources_count(re->re_sources);
	if (n > 0) {
		metrics_header(&b, "four11_source_up", "gauge",
		    "1 unless the source's last runs failed.");
		for (i = 0; i < n; i++) {
			ss = sources_at(re->re_sources, i);
			buf_adds(&b, "four11_source_up{source=\"");
			metrics_label(&b, ss->ss_cfg->cs_name);
			buf_printf(&b, "\"} %d\n",
			    ss->ss_health == SOURCE_DOWN ? 0 : 1);
		}
		metrics_header(&b, "four11_source_runs_total", "counter",
		    "Runs against each source, by result.");
		for (i = 0; i < n; i++) {
			ss = sources_at(re->re_sources, i);
			buf_adds(&b, "four11_source_runs_total{source=\"");
			metrics_label(&b, ss->ss_cfg->cs_name);
			buf_printf(&b, "\",result=\"ok\"} %llu\n",
			    (unsigned long long)ss->ss_ok);
			buf_adds(&b, "four11_source_runs_total{source=\"");
			metrics_label(&b, ss->ss_cfg->cs_name);
			buf_printf(&b, "\",result=\"failed\"} %llu\n",
			    (unsigned long long)ss->ss_failed);
		}
		metrics_header(&b, "four11_source_latency_seconds", "gauge",
		    "Duration of the last run against each source.");
		for (i = 0; i < n; i++) {
			ss = sources_at(re->re_sources, i);
			buf_adds(&b, "four11_source_latency_seconds{source=\"");
			metrics_label(&b, ss->ss_cfg->cs_name);
			buf_printf(&b, "\"} %.6f\n",
			    (double)ss->ss_latency_us / 1e6);
		}
		metrics_header(&b, "four11_source_in_flight", "gauge",
		    "Runs under way against each source.");
		for (i = 0; i < n; i++) {
			ss = sources_at(re->re_sources, i);
			buf_adds(&b, "four11_source_in_flight{source=\"");
			metrics_label(&b, ss->ss_cfg->cs_name);
			buf_printf(&b, "\"} %d\n", ss->ss_inflight);
		}
	}
	sources_metrics(&b, re->re_sources);
	buf_printf(&b, "# HELP four11_build_info Version of 411d.\n"
	    "# TYPE four11_build_info gauge\n"
	    "four11_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	evhttp_add_header(evhttp_request_get_output_headers(c->c_req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	out = evbuffer_new();
	evbuffer_add(out, b.b_data, b.b_len);
	api_conn_answer(c->c_api, c->c_req);
	evhttp_send_reply(c->c_req, 200, "OK", out);
	evbuffer_free(out);
	buf_free(&b);
}

/* Does path begin with prefix, then end or a '/'?  Sets *rest. */
static int
api_match(const char *path, const char *prefix, const char **rest)
{
	size_t	 n = strlen(prefix);

	if (strncmp(path, prefix, n) != 0)
		return (0);
	if (path[n] != '\0' && path[n] != '/')
		return (0);
	*rest = path + n;
	return (1);
}

/* Route /api/v1/... (authorized already). */
/*
 * Split "/ID[/rest]" after a collection: the id (0 when bad: answered),
 * and in *sub the rest ("/run"), or NULL when nothing (or "/") follows.
 */
uint64_t
api_path_split(struct api_call *c, const char *rest, const char *what,
    const char **sub)
{
	const char	*slash;
	uint64_t	 id;
	size_t		 len;

	rest++;
	slash = strchr(rest, '/');
	len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
	if ((id = api_path_id(c, rest, len, what)) == 0)
		return (0);
	*sub = slash == NULL || strcmp(slash, "/") == 0 ? NULL : slash;
	return (id);
}

static void
api_route(struct api_call *c)
{
	const struct api_route	*r;
	const char		*rest, *slash;
	uint64_t		 id;

	if (api_match(c->c_path, "/api/v1/searches", &rest)) {
		if (*rest == '\0' || strcmp(rest, "/") == 0) {
			if (c->c_method == EVHTTP_REQ_GET)
				api_searches_list(c);
			else if (c->c_method == EVHTTP_REQ_POST)
				api_searches_create(c);
			else
				api_bad_method(c, "GET, POST");
			return;
		}
		if (strcmp(rest, "/test") == 0) {
			api_searches_test(c);
			return;
		}
		if (strcmp(rest, "/export") == 0) {
			api_searches_export(c);
			return;
		}
		if (strcmp(rest, "/import") == 0) {
			api_searches_import(c);
			return;
		}
		if ((id = api_path_split(c, rest, "search", &slash)) == 0)
			return;
		if (slash == NULL)
			api_search_one(c, id);
		else if (strcmp(slash, "/run") == 0)
			api_search_run(c, id);
		else if (strcmp(slash, "/jobs") == 0)
			api_search_jobs(c, id);
		else if (strcmp(slash, "/history") == 0)
			api_search_history(c, id);
		else
			api_error(c->c_api, c->c_req, 404, NULL,
			    "no route %s", c->c_path);
		return;
	}
	if (api_match(c->c_path, "/api/v1/push", &rest) && *rest == '/') {
		if ((id = api_path_split(c, rest, "search", &slash)) == 0)
			return;
		if (slash == NULL)
			api_push(c, id);
		else
			api_error(c->c_api, c->c_req, 404, NULL,
			    "no route %s", c->c_path);
		return;
	}
	for (r = api_routes; r->ar_prefix != NULL; r++) {
		if (api_match(c->c_path, r->ar_prefix, &rest)) {
			r->ar_handler(c, rest);
			return;
		}
	}
	api_error(c->c_api, c->c_req, 404, NULL, "no route %s", c->c_path);
}

/* The body limit of a route and method (see the top). */
static size_t
api_body_limit(const struct api_call *c)
{
	const char	*p = c->c_path;

	if (c->c_method == EVHTTP_REQ_GET || c->c_method == EVHTTP_REQ_HEAD ||
	    c->c_method == EVHTTP_REQ_DELETE)
		return (API_BODY_NONE);
	if (strncmp(p, "/api/v1/users", 13) == 0 ||
	    strncmp(p, "/api/v1/groups", 14) == 0 ||
	    strncmp(p, "/api/v1/keys", 12) == 0 ||
	    strncmp(p, "/api/v1/audit", 13) == 0)
		return (API_BODY_ADMIN);
	return (c->c_api->a_cfg->c_api_max_body);
}

/* Check the size of the path, the query and the body (see the top). */
static int
api_limits(struct api_call *c, const char *q)
{
	struct evkeyval	*kv;
	size_t		 n = 0, len, max;

	if (strlen(c->c_path) > API_PATH_MAX) {
		api_error(c->c_api, c->c_req, 400, NULL, "the path is longer "
		    "than %d bytes", API_PATH_MAX);
		return (-1);
	}
	if (q != NULL && strlen(q) > API_QUERY_MAX) {
		api_error(c->c_api, c->c_req, 400, NULL, "the query string is "
		    "longer than %d bytes", API_QUERY_MAX);
		return (-1);
	}
	TAILQ_FOREACH(kv, &c->c_query, next) {
		if (++n > API_PARAMS_MAX) {
			api_error(c->c_api, c->c_req, 400, NULL, "more than "
			    "%d query parameters", API_PARAMS_MAX);
			return (-1);
		}
		if (strlen(kv->value) > API_PARAM_MAX) {
			api_error(c->c_api, c->c_req, 400, kv->key, "longer "
			    "than %d bytes", API_PARAM_MAX);
			return (-1);
		}
	}
	len = evbuffer_get_length(evhttp_request_get_input_buffer(c->c_req));
	if (len > (max = api_body_limit(c))) {
		api_error(c->c_api, c->c_req, 413, NULL, "the body is %zu "
		    "bytes; %s %s takes %zu at most", len,
		    api_method_name(c->c_method), c->c_path, max);
		return (-1);
	}
	return (0);
}

/*
 * The decoded path of a request, runs of '/' made one.  evhttp reads
 * "//api/v1/alerts" as the host "api" and the path "/v1/alerts" (an
 * authority); a request line's path is taken as sent.
 */
static char *
api_path_decode(struct evhttp_request *req, const struct evhttp_uri *uri,
    size_t *len)
{
	const char	*raw = evhttp_request_get_uri(req);
	char		*enc, *path, *r, *w;

	if (raw != NULL && raw[0] == '/' && raw[1] == '/') {
		enc = xstrdup(raw);
		enc[strcspn(enc, "?#")] = '\0';
		path = evhttp_uridecode(enc, 0, len);
		free(enc);
	} else
		path = evhttp_uridecode(evhttp_uri_get_path(uri), 0, len);
	if (path == NULL)
		return (NULL);
	for (r = w = path; r < path + *len; r++)
		if (*r != '/' || w == path || w[-1] != '/')
			*w++ = *r;
	*w = '\0';
	*len = (size_t)(w - path);
	return (path);
}

/* Every request comes here. */
static void
api_request_cb(struct evhttp_request *req, void *arg)
{
	struct api		*a = arg;
	struct api_call		 c;
	const struct evhttp_uri	*uri;
	const char		*q;
	struct evhttp_connection *evcon;
	char			*path = NULL, *peer = NULL;
	const char		*via;
	size_t			 pathlen = 0;
	ev_uint16_t		 port;
	enum role		 need;

	memset(&c, 0, sizeof c);
	TAILQ_INIT(&c.c_query);
	c.c_api = a;
	c.c_req = req;
	c.c_method = evhttp_request_get_command(req);
	api_conn_request(a, req);
	if (a->a_env->ae_run->re_metrics != NULL)
		a->a_env->ae_run->re_metrics->m_api_requests++;
	uri = evhttp_request_get_evhttp_uri(req);
	if (uri == NULL || evhttp_uri_get_path(uri) == NULL) {
		api_error(a, req, 400, NULL, "bad request line");
		return;
	}
	if ((path = api_path_decode(req, uri, &pathlen)) == NULL ||
	    strlen(path) != pathlen) {
		api_error(a, req, 400, NULL, "bad path");
		goto done;
	}
	c.c_path = path;
	q = evhttp_uri_get_query(uri);
	if (q != NULL && evhttp_parse_query_str(q, &c.c_query) == -1) {
		api_error(a, req, 400, NULL, "bad query string");
		goto done;
	}
	if (strcmp(path, "/healthz") == 0) {
		if (c.c_method != EVHTTP_REQ_GET)
			api_bad_method(&c, "GET");
		else {
			evcon = evhttp_request_get_connection(req);
			if (evcon != NULL)
				evhttp_connection_get_peer(evcon, &peer, &port);
			c.c_role = auth_request(a->a_cfg, a->a_users, peer,
			    evhttp_request_get_input_headers(req), &c.c_actor,
			    &via);
			api_healthz(&c);
		}
		goto done;
	}
	if (strcmp(path, "/metrics") == 0) {
		if (c.c_method != EVHTTP_REQ_GET)
			api_bad_method(&c, "GET");
		else
			api_metrics(&c);
		goto done;
	}
	if (strncmp(path, "/api/", 5) != 0) {
		api_error(a, req, 404, NULL, "no route %s", path);
		goto done;
	}
	if (api_limits(&c, q) == -1)
		goto done;
	evcon = evhttp_request_get_connection(req);
	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &peer, &port);
	c.c_role = auth_request(a->a_cfg, a->a_users, peer,
	    evhttp_request_get_input_headers(req), &c.c_actor, &via);
	if (c.c_role == ROLE_NONE) {
		if (strcmp(via, "proxy") == 0)
			api_error(a, req, 401, NULL, "the user named by the "
			    "trusted proxy is not known here");
		else
			api_error(a, req, 401, NULL, "an API key is required "
			    "(Authorization: Bearer KEY or X-API-Key: KEY)");
		goto done;
	}
	need = c.c_method == EVHTTP_REQ_GET || c.c_method == EVHTTP_REQ_HEAD ?
	    ROLE_VIEWER : ROLE_EDITOR;
	if (c.c_role < need) {
		api_error(a, req, 403, NULL, "key \"%s\" has the role %s; "
		    "this needs %s", c.c_actor, config_role_name(c.c_role),
		    config_role_name(need));
		goto done;
	}
	if (need != ROLE_VIEWER && strncmp(path, "/api/v1/push/", 13) != 0 &&
	    strcmp(path, "/api/v1/searches/test") != 0) {
		c.c_audit = xcalloc(1, sizeof *c.c_audit);
		c.c_audit->ap_req = req;
		c.c_audit->ap_time = util_now_ms();
		c.c_audit->ap_actor = xstrdup(c.c_actor);
		c.c_audit->ap_path = xstrdup(path);
		c.c_audit->ap_method = api_method_name(c.c_method);
		TAILQ_INSERT_TAIL(&a->a_pending, c.c_audit, ap_entry);
	}
	api_route(&c);
done:
	evhttp_clear_headers(&c.c_query);
	free(path);
}

/*
 * Connections.  evhttp (libevent 2.1) has no connection limit and no
 * deadline for a whole request, and logs and retries a failed accept()
 * at once.  So:
 *
 * - We make the listener (evhttp_bind_listener) and give it an error
 *   callback: after EMFILE, ENFILE and the like it is paused for
 *   API_PAUSE_MS instead of spinning.
 * - evhttp asks us for each new connection's bufferevent (api_bev_cb),
 *   before it has the connection; the connection is checked just after
 *   (api_fresh_cb, the same turn of the loop, before any of its reads):
 *   TCP_NODELAY, and over a_max_conns it is closed at once.
 * - Each connection has a deadline, api_request_timeout: armed when it
 *   opens and when the first byte of a request arrives after an answer,
 *   disarmed when the request is whole (api_request_cb); armed again
 *   while the answer is sent (a client that does not read), disarmed
 *   when it is (api_conn_sent).  Past it the connection is closed.  Idle
 *   time between requests and each read or write are bound by
 *   api_timeout (evhttp's timeout).  A connection whose request we hold
 *   (a run being answered later) is never closed by us.
 */
struct api_conn {
	TAILQ_ENTRY(api_conn)	 ac_entry;
	struct api		*ac_api;
	struct bufferevent	*ac_bev;
	struct evhttp_connection *ac_evcon;	/* NULL while fresh */
	struct event		*ac_deadline;
	struct evbuffer_cb_entry *ac_incb;	/* on the input buffer */
	struct evhttp_request	*ac_req;	/* delivered, unanswered */
	int			 ac_sending;	/* an answer goes out */
};

/* The API of the error callback (evhttp holds the listener's argument). */
static struct api	*api_self;

/* evhttp needs a bufferevent for a new connection: note it. */
static struct bufferevent *
api_bev_cb(struct event_base *base, void *arg)
{
	struct api	*a = arg;
	struct api_conn	*ac;

	ac = xcalloc(1, sizeof *ac);
	ac->ac_api = a;
	if ((ac->ac_bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(ac);
		return (NULL);		/* evhttp makes one: unchecked */
	}
	TAILQ_INSERT_TAIL(&a->a_fresh, ac, ac_entry);
	event_active(a->a_fresh_ev, EV_TIMEOUT, 1);
	return (ac->ac_bev);
}

/* Arm a connection's deadline for a request. */
static void
api_conn_arm(struct api_conn *ac)
{
	struct timeval	 tv;

	tv.tv_sec = ac->ac_api->a_cfg->c_api_request_timeout;
	tv.tv_usec = 0;
	evtimer_add(ac->ac_deadline, &tv);
}

/* Forget a connection (it is closing); the caller frees the evcon. */
static void
api_conn_drop(struct api_conn *ac)
{
	struct api	*a = ac->ac_api;

	TAILQ_REMOVE(&a->a_conns, ac, ac_entry);
	a->a_nconns--;
	evhttp_connection_set_closecb(ac->ac_evcon, NULL, NULL);
	evbuffer_remove_cb_entry(bufferevent_get_input(ac->ac_bev),
	    ac->ac_incb);
	event_free(ac->ac_deadline);
	free(ac);
}

/* evhttp closes a connection. */
static void
api_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	api_conn_drop(arg);
}

/* The deadline of a request passed: close the connection. */
static void
api_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api_conn			*ac = arg;
	struct evhttp_connection	*evcon = ac->ac_evcon;
	char				*peer = NULL;
	ev_uint16_t			 port = 0;

	(void)fd;
	(void)what;
	if (ac->ac_req != NULL)
		return;
	ac->ac_api->a_timedout++;
	evhttp_connection_get_peer(evcon, &peer, &port);
	log_info("api: closing the connection from %s: %s in %llds "
	    "(api_request_timeout)", peer != NULL ? peer : "?",
	    ac->ac_sending ? "the answer not taken" : "no whole request",
	    (long long)ac->ac_api->a_cfg->c_api_request_timeout);
	api_conn_drop(ac);
	evhttp_connection_free(evcon);
}

/* Bytes came in: the first of a request arms the deadline. */
static void
api_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct api_conn	*ac = arg;

	(void)buf;
	if (info->n_added > 0 && ac->ac_req == NULL && !ac->ac_sending &&
	    !evtimer_pending(ac->ac_deadline, NULL))
		api_conn_arm(ac);
}

/* Check the connections evhttp just made (see the top of this part). */
static void
api_fresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api			*a = arg;
	struct api_conn			*ac;
	struct evhttp_connection	*evcon;
	void				*cbarg = NULL;
	evutil_socket_t			 sfd;
	int				 one = 1;

	(void)fd;
	(void)what;
	while ((ac = TAILQ_FIRST(&a->a_fresh)) != NULL) {
		TAILQ_REMOVE(&a->a_fresh, ac, ac_entry);
		/* evhttp's callbacks on the bufferevent carry the evcon. */
		bufferevent_getcb(ac->ac_bev, NULL, NULL, NULL, &cbarg);
		evcon = cbarg;
		sfd = bufferevent_getfd(ac->ac_bev);
		if (evcon == NULL || sfd == -1) {
			free(ac);
			continue;
		}
		if (setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof one) == -1)
			log_debug("api: TCP_NODELAY: %s", strerror(errno));
		if (a->a_nconns >= a->a_max_conns) {
			a->a_refused++;
			log_warnx("api: %zu connections open "
			    "(api_max_connections): closing a new one",
			    a->a_nconns);
			free(ac);
			evhttp_connection_free(evcon);
			continue;
		}
		ac->ac_evcon = evcon;
		ac->ac_deadline = evtimer_new(a->a_env->ae_run->re_base,
		    api_deadline_cb, ac);
		ac->ac_incb = evbuffer_add_cb(bufferevent_get_input(ac->ac_bev),
		    api_input_cb, ac);
		TAILQ_INSERT_TAIL(&a->a_conns, ac, ac_entry);
		a->a_nconns++;
		evhttp_connection_set_closecb(evcon, api_conn_closed, ac);
		api_conn_arm(ac);
	}
}

/* The connection of a request, or NULL (gone, or not checked). */
static struct api_conn *
api_conn_of(struct api *a, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct api_conn			*ac;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return (NULL);
	TAILQ_FOREACH(ac, &a->a_conns, ac_entry)
		if (ac->ac_evcon == evcon)
			return (ac);
	return (NULL);
}

/* A request is whole: no deadline until it is answered. */
static void
api_conn_request(struct api *a, struct evhttp_request *req)
{
	struct api_conn	*ac;

	if ((ac = api_conn_of(a, req)) == NULL)
		return;
	evtimer_del(ac->ac_deadline);
	ac->ac_req = req;
}

/* An answer is out (evhttp's on_complete): no deadline until more comes. */
static void
api_conn_sent(struct evhttp_request *req, void *arg)
{
	struct api_conn	*ac = arg;

	(void)req;
	ac->ac_sending = 0;
	evtimer_del(ac->ac_deadline);
}

/* A request is being answered: the answer has a deadline to go out. */
static void
api_conn_answer(struct api *a, struct evhttp_request *req)
{
	struct api_conn	*ac;

	if ((ac = api_conn_of(a, req)) == NULL || ac->ac_req != req)
		return;
	ac->ac_req = NULL;
	ac->ac_sending = 1;
	evhttp_request_set_on_complete_cb(req, api_conn_sent, ac);
	api_conn_arm(ac);
}

/* The pause after a failed accept() is over. */
static void
api_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api	*a = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(a->a_listener);
}

/* accept() failed (not EAGAIN/EINTR/ECONNABORTED): pause the listener. */
static void
api_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct api	*a = api_self;
	struct timeval	 tv = { 0, API_PAUSE_MS * 1000 };
	int		 err = EVUTIL_SOCKET_ERROR();

	(void)arg;
	if (a == NULL || a->a_listener != lev)
		return;
	evconnlistener_disable(lev);
	a->a_pauses++;
	log_warnx("api: accept: %s; not accepting for %d ms (%zu API "
	    "connections open)", strerror(err), API_PAUSE_MS, a->a_nconns);
	evtimer_add(a->a_resume_ev, &tv);
}

/* Each second: summaries of repeated log lines. */
static void
api_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_flush();
}

/*
 * api_max_connections, at most the open-file limit less API_FD_RESERVE
 * (for the store, Redis, sources, scripts); half the limit when it is
 * small.
 */
static void
api_clamp(struct api *a, const struct config *cfg)
{
	struct rlimit	 rl;
	size_t		 max = (size_t)cfg->c_api_max_connections, lim;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY) {
		lim = rl.rlim_cur > 2 * API_FD_RESERVE ?
		    (size_t)rl.rlim_cur - API_FD_RESERVE :
		    (size_t)rl.rlim_cur / 2;
		if (lim < 1)
			lim = 1;
		if (max > lim) {
			log_warnx("api_max_connections %zu is more than the "
			    "open-file limit (%llu) allows: using %zu", max,
			    (unsigned long long)rl.rlim_cur, lim);
			max = lim;
		}
	}
	a->a_max_conns = max;
}

/*
 * Listen on host:port (a name or address; the first address it has) with
 * our listener.  Returns the bound socket or NULL (errno set).
 */
static struct evhttp_bound_socket *
api_listen(struct api *a, const char *host, int port)
{
	struct evutil_addrinfo	 hints, *ai = NULL;
	struct evconnlistener	*lev;
	struct evhttp_bound_socket *bs;
	char			 sport[16];
	int			 e;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
	snprintf(sport, sizeof sport, "%d", port);
	if ((e = evutil_getaddrinfo(host, sport, &hints, &ai)) != 0) {
		errno = e == EVUTIL_EAI_SYSTEM ? errno : EADDRNOTAVAIL;
		return (NULL);
	}
	lev = evconnlistener_new_bind(a->a_env->ae_run->re_base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    API_BACKLOG, ai->ai_addr, (int)ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
	if (lev == NULL)
		return (NULL);
	if ((bs = evhttp_bind_listener(a->a_http, lev)) == NULL) {
		evconnlistener_free(lev);
		errno = ENOMEM;
		return (NULL);
	}
	evconnlistener_set_error_cb(lev, api_accept_error_cb);
	a->a_listener = lev;
	return (bs);
}

/* Listen on the config's address. */
struct api *
api_new(struct api_env *env, char *err, size_t errlen)
{
	const struct config	*cfg = env->ae_run->re_cfg;
	struct api		*a;
	struct sockaddr_storage	 ss;
	socklen_t		 slen = sizeof ss;
	char			 host[INET6_ADDRSTRLEN];
	struct timeval		 tick = { 1, 0 };
	int			 port = 0;

	a = xcalloc(1, sizeof *a);
	a->a_env = env;
	a->a_cfg = cfg;
	TAILQ_INIT(&a->a_pending);
	TAILQ_INIT(&a->a_fresh);
	TAILQ_INIT(&a->a_conns);
	api_clamp(a, cfg);
	a->a_http = evhttp_new(env->ae_run->re_base);
	evhttp_set_timeout(a->a_http, (int)cfg->c_api_timeout);
	evhttp_set_max_headers_size(a->a_http, API_MAX_HEADERS);
	evhttp_set_max_body_size(a->a_http, cfg->c_api_max_body +
	    API_BODY_SLACK);
	evhttp_set_default_content_type(a->a_http, "application/json");
	evhttp_set_allowed_methods(a->a_http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_HEAD);
	evhttp_set_gencb(a->a_http, api_request_cb, a);
	evhttp_set_bevcb(a->a_http, api_bev_cb, a);
	a->a_fresh_ev = event_new(env->ae_run->re_base, -1, 0, api_fresh_cb,
	    a);
	a->a_resume_ev = evtimer_new(env->ae_run->re_base, api_resume_cb, a);
	a->a_tick_ev = event_new(env->ae_run->re_base, -1, EV_PERSIST,
	    api_tick_cb, a);
	a->a_sock = api_listen(a, cfg->c_listen_host, cfg->c_listen_port);
	if (a->a_sock == NULL) {
		snprintf(err, errlen, "cannot listen on %s:%d: %s",
		    cfg->c_listen_host, cfg->c_listen_port, strerror(errno));
		evhttp_free(a->a_http);
		event_free(a->a_fresh_ev);
		event_free(a->a_resume_ev);
		event_free(a->a_tick_ev);
		free(a);
		return (NULL);
	}
	api_self = a;
	evtimer_add(a->a_tick_ev, &tick);
	a->a_users = users_new(env->ae_run->re_store);
	if (getsockname(evhttp_bound_socket_get_fd(a->a_sock),
	    (struct sockaddr *)&ss, &slen) == 0) {
		if (ss.ss_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
			    host, sizeof host);
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
			snprintf(a->a_address, sizeof a->a_address, "%s:%d",
			    host, port);
		} else if (ss.ss_family == AF_INET6) {
			inet_ntop(AF_INET6,
			    &((struct sockaddr_in6 *)&ss)->sin6_addr, host,
			    sizeof host);
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
			snprintf(a->a_address, sizeof a->a_address, "[%s]:%d",
			    host, port);
		}
	}
	if (a->a_address[0] == '\0')
		snprintf(a->a_address, sizeof a->a_address, "%s:%d",
		    cfg->c_listen_host, cfg->c_listen_port);
	return (a);
}

/* Stop listening and free; accepts NULL. */
void
api_free(struct api *a)
{
	struct api_pending	*p;
	struct api_conn		*ac;

	if (a == NULL)
		return;
	evhttp_free(a->a_http);		/* closes the connections */
	while ((ac = TAILQ_FIRST(&a->a_fresh)) != NULL) {
		TAILQ_REMOVE(&a->a_fresh, ac, ac_entry);
		free(ac);
	}
	while ((ac = TAILQ_FIRST(&a->a_conns)) != NULL) {	/* none */
		TAILQ_REMOVE(&a->a_conns, ac, ac_entry);
		event_free(ac->ac_deadline);
		free(ac);
	}
	event_free(a->a_fresh_ev);
	event_free(a->a_resume_ev);
	event_free(a->a_tick_ev);
	if (api_self == a)
		api_self = NULL;
	log_flush();
	while ((p = TAILQ_FIRST(&a->a_pending)) != NULL) {
		TAILQ_REMOVE(&a->a_pending, p, ap_entry);
		api_pending_free(p);
	}
	users_free(a->a_users);
	free(a);
}

/* The bound address. */
const char *
api_address(const struct api *a)
{
	return (a->a_address);
}

/* Switch to a new config. */
void
api_reload(struct api *a, const struct config *cfg)
{
	a->a_cfg = cfg;
	api_clamp(a, cfg);
	evhttp_set_timeout(a->a_http, (int)cfg->c_api_timeout);
	evhttp_set_max_body_size(a->a_http, cfg->c_api_max_body +
	    API_BODY_SLACK);
}
