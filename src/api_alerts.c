/*
 * api_alerts.c -- /api/v1/alerts: the alert listing and one alert.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "alert.h"
#include "api.h"
#include "api_int.h"
#include "json.h"
#include "run.h"
#include "store.h"
#include "util.h"

static void	api_alerts_list(struct api_call *);
static void	api_alert_get(struct api_call *, uint64_t);

/* /api/v1/alerts[/...] */
void
api_alerts(struct api_call *c, const char *rest)
{
	const char	*slash;
	uint64_t	 id;

	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (c->c_method == EVHTTP_REQ_GET)
			api_alerts_list(c);
		else
			api_bad_method(c, "GET");
		return;
	}
	if ((id = api_path_split(c, rest, "alert", &slash)) == 0)
		return;
	if (slash == NULL)
		api_alert_get(c, id);
	else
		api_error(c->c_api, c->c_req, 404, NULL, "no route %s",
		    c->c_path);
}

/* One alert into the listing. */
static void
api_alert_one(void *arg, const struct alert *a)
{
	alert_gen(arg, a);
}

/* GET /api/v1/alerts */
static void
api_alerts_list(struct api_call *c)
{
	static const char *const params[] = { "state", "search", "limit",
	    "cursor", NULL };
	struct alert_query	 q;
	struct store_txn	*txn;
	enum alert_state	 st;
	const char		*p;
	uint64_t		 next, v;
	yajl_gen		 g;
	int			 n;

	if (!api_params_ok(c, params))
		return;
	memset(&q, 0, sizeof q);
	q.aq_state = -1;
	if (api_paging(c, &q.aq_limit, &q.aq_before) == -1)
		return;
	if ((p = evhttp_find_header(&c->c_query, "state")) != NULL) {
		if (alert_state_parse(p, &st) == -1) {
			api_error(c->c_api, c->c_req, 400, "state",
			    "state must be new, in_progress or resolved");
			return;
		}
		q.aq_state = (int)st;
	}
	if ((p = evhttp_find_header(&c->c_query, "search")) != NULL) {
		if (util_parse_uint(p, UINT64_MAX, &v) == -1 || v == 0) {
			api_error(c->c_api, c->c_req, 400, "search",
			    "search must be a search id");
			return;
		}
		q.aq_search = v;
	}
	if ((txn = store_read(c->c_api->a_env->ae_run->re_store)) == NULL) {
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		return;
	}
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_str(g, "items");
	yajl_gen_array_open(g);
	n = alert_list(txn, &q, api_alert_one, g, &next);
	store_done(txn);
	if (n == -1) {
		yajl_gen_free(g);
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		return;
	}
	yajl_gen_array_close(g);
	api_gen_next(g, next);
	yajl_gen_map_close(g);
	api_send_gen(c->c_api, c->c_req, 200, g);
}

/* GET /api/v1/alerts/{id} */
static void
api_alert_get(struct api_call *c, uint64_t id)
{
	struct store_txn	*txn;
	struct alert		*a;
	yajl_gen		 g;
	int			 rc;

	if (c->c_method != EVHTTP_REQ_GET) {
		api_bad_method(c, "GET");
		return;
	}
	if ((txn = store_read(c->c_api->a_env->ae_run->re_store)) == NULL) {
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		return;
	}
	rc = alert_get(txn, id, &a);
	store_done(txn);
	if (rc == 1) {
		api_error(c->c_api, c->c_req, 404, NULL, "no alert %llu",
		    (unsigned long long)id);
		return;
	}
	if (rc == -1) {
		api_error(c->c_api, c->c_req, 500, NULL,
		    "alert %llu could not be read", (unsigned long long)id);
		return;
	}
	g = jgen_new();
	alert_gen(g, a);
	alert_free(a);
	api_send_gen(c->c_api, c->c_req, 200, g);
}

