/*
 * api_audit.c -- D4: GET /api/v1/audit, the audit log, newest first, for
 * admin keys only (the log names every key and user and what they did).
 *
 * Filters: actor (exact), object (a prefix: "search:" or "search:12"),
 * from and to (RFC 3339 or epoch seconds; from inclusive, to exclusive),
 * limit and cursor (an entry id: the page goes on below it).  A page looks
 * at API_AUDIT_SCAN entries at most, so a filter that matches little
 * cannot make one request walk the whole log: the page may then hold fewer
 * than limit items, with a "next" to go on from.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api.h"
#include "api_int.h"
#include "json.h"
#include "run.h"
#include "store.h"
#include "util.h"

#define API_AUDIT_SCAN	100000	/* entries looked at by one page */

/* A time parameter; 0 or -1 after answering 400. */
static int
api_audit_time(struct api_call *c, const char *name, int64_t *ms)
{
	const char	*v = evhttp_find_header(&c->c_query, name);
	uint64_t	 secs;

	if (v == NULL)
		return (0);
	if (util_parse_time_ms(v, strlen(v), ms) == 0)
		return (0);
	if (util_parse_uint(v, INT64_MAX / 1000, &secs) == 0) {
		*ms = (int64_t)secs * 1000;
		return (0);
	}
	api_error(c->c_api, c->c_req, 400, name, "%s must be a time: RFC "
	    "3339 or epoch seconds", name);
	return (-1);
}

/* GET /api/v1/audit */
void
api_audit(struct api_call *c, const char *rest)
{
	static const char *const params[] = { "actor", "object", "from", "to",
	    "limit", "cursor", NULL };
	struct store_txn	*txn;
	struct store_cursor	*cur;
	struct json		*j;
	const void		*k, *v;
	const char		*actor, *object, *s, *t;
	size_t			 limit, klen, vlen, n = 0, scanned = 0;
	uint64_t		 cursor, id = 0;
	int64_t			 from = INT64_MIN, to = INT64_MAX, ms;
	uint8_t			 seek[8];
	char			 err[64];
	yajl_gen		 g;
	int			 rc, more = 0;

	if (!api_need_role(c, ROLE_ADMIN))
		return;
	if (*rest != '\0' && strcmp(rest, "/") != 0) {
		api_error(c->c_api, c->c_req, 404, NULL, "no route %s",
		    c->c_path);
		return;
	}
	if (c->c_method != EVHTTP_REQ_GET) {
		api_bad_method(c, "GET");
		return;
	}
	if (!api_params_ok(c, params) || api_paging(c, &limit, &cursor) == -1 ||
	    api_audit_time(c, "from", &from) == -1 ||
	    api_audit_time(c, "to", &to) == -1)
		return;
	actor = evhttp_find_header(&c->c_query, "actor");
	object = evhttp_find_header(&c->c_query, "object");
	if ((txn = store_read(c->c_api->a_env->ae_run->re_store)) == NULL ||
	    (cur = store_cursor(txn, STORE_AUDIT)) == NULL) {
		store_done(txn);
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		return;
	}
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_str(g, "items");
	yajl_gen_array_open(g);
	util_be64_put(seek, cursor == 0 ? UINT64_MAX : cursor - 1);
	for (rc = cursor == 1 ? 1 : store_cursor_seek_le(cur, seek, 8, &k,
	    &klen, &v, &vlen); rc == 0;
	    rc = store_cursor_prev(cur, &k, &klen, &v, &vlen)) {
		if (klen != 8)
			continue;
		if (n == limit || scanned == API_AUDIT_SCAN) {
			more = 1;
			break;
		}
		scanned++;
		id = util_be64_get(k);
		if ((j = json_parse(v, vlen, err, sizeof err)) == NULL)
			continue;
		t = json_str(json_get(j, "time"));
		if (t == NULL || util_parse_time_ms(t, strlen(t), &ms) == -1)
			ms = 0;
		if (ms < from || ms >= to ||
		    (actor != NULL && ((s = json_str(json_get(j, "actor"))) ==
		    NULL || strcmp(s, actor) != 0)) ||
		    (object != NULL && ((s = json_str(json_get(j, "object")))
		    == NULL || strncmp(s, object, strlen(object)) != 0))) {
			json_free(j);
			continue;
		}
		json_free(j);
		jgen_raw(g, v, vlen);
		n++;
	}
	store_cursor_free(cur);
	store_done(txn);
	yajl_gen_array_close(g);
	api_gen_next(g, more ? id : 0);
	yajl_gen_map_close(g);
	api_send_gen(c->c_api, c->c_req, 200, g);
}
