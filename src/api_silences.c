/*
 * api_silences.c -- /api/v1/silences: create, list, read and expire the
 * silences of D6 (silence.c keeps and matches them).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "api.h"
#include "api_int.h"
#include "json.h"
#include "log.h"
#include "run.h"
#include "silence.h"
#include "util.h"
#include "xmalloc.h"

/* A request waiting for its write to commit. */
struct api_silence_wait {
	struct api		*w_api;
	struct evhttp_request	*w_req;
	int			 w_status;	/* on success */
	char			 w_actor[128];
	uint64_t		 w_id;
};

static void	api_silences_list(struct api_call *, struct silences *);
static void	api_silences_create(struct api_call *, struct silences *);
static void	api_silence_one(struct api_call *, struct silences *,
		    uint64_t);
static void	api_silence_done(void *, int, const struct silence *,
		    const char *);

/* /api/v1/silences[/...] */
void
api_silences(struct api_call *c, const char *rest)
{
	struct silences	*ss = c->c_api->a_env->ae_run->re_silences;
	const char	*sub;
	uint64_t	 id;

	if (ss == NULL) {
		api_error(c->c_api, c->c_req, 503, NULL,
		    "silences are not available");
		return;
	}
	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (c->c_method == EVHTTP_REQ_GET)
			api_silences_list(c, ss);
		else if (c->c_method == EVHTTP_REQ_POST)
			api_silences_create(c, ss);
		else
			api_bad_method(c, "GET, POST");
		return;
	}
	if ((id = api_path_split(c, rest, "silence", &sub)) == 0)
		return;
	if (sub != NULL) {
		api_error(c->c_api, c->c_req, 404, NULL, "no route %s",
		    c->c_path);
		return;
	}
	api_silence_one(c, ss, id);
}

static void
api_silence_item(void *arg, const struct silence *si)
{
	silence_gen(arg, si, util_now_ms());
}

/* GET /api/v1/silences */
static void
api_silences_list(struct api_call *c, struct silences *ss)
{
	static const char *const params[] = { "state", "limit", "cursor",
	    NULL };
	const char	*p;
	size_t		 limit;
	uint64_t	 before, next;
	yajl_gen	 g;
	int		 mask = SILENCE_ACTIVE | SILENCE_PENDING;

	if (!api_params_ok(c, params))
		return;
	if (api_paging(c, &limit, &before) == -1)
		return;
	if ((p = evhttp_find_header(&c->c_query, "state")) != NULL) {
		if (strcmp(p, "active") == 0)
			mask = SILENCE_ACTIVE;
		else if (strcmp(p, "pending") == 0)
			mask = SILENCE_PENDING;
		else if (strcmp(p, "expired") == 0)
			mask = SILENCE_EXPIRED;
		else if (strcmp(p, "all") == 0)
			mask = SILENCE_ACTIVE | SILENCE_PENDING |
			    SILENCE_EXPIRED;
		else {
			api_error(c->c_api, c->c_req, 400, "state", "state "
			    "must be active, pending, expired or all");
			return;
		}
	}
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_str(g, "items");
	yajl_gen_array_open(g);
	if (silences_list(ss, mask, util_now_ms(), before, limit,
	    api_silence_item, g, &next) == -1) {
		yajl_gen_free(g);
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		return;
	}
	yajl_gen_array_close(g);
	api_gen_next(g, next);
	yajl_gen_map_close(g);
	api_send_gen(c->c_api, c->c_req, 200, g);
}

/* POST /api/v1/silences */
static void
api_silences_create(struct api_call *c, struct silences *ss)
{
	struct api_silence_wait	*w;
	struct silence_err	 err;
	struct json		*body;
	int			 answered;

	if ((body = api_body(c, 0, &answered)) == NULL)
		return;
	w = xcalloc(1, sizeof *w);
	w->w_api = c->c_api;
	w->w_req = c->c_req;
	w->w_status = 201;
	snprintf(w->w_actor, sizeof w->w_actor, "%s",
	    c->c_actor != NULL ? c->c_actor : "");
	if (silences_create(ss, body, c->c_actor, util_now_ms(), &err,
	    api_silence_done, w) == -1) {
		free(w);
		api_error(c->c_api, c->c_req, 422,
		    err.se_field[0] != '\0' ? err.se_field : NULL, "%s%s%s",
		    err.se_field, err.se_field[0] != '\0' ? ": " : "",
		    err.se_message);
	}
	json_free(body);
}

/* GET or DELETE /api/v1/silences/{id} */
static void
api_silence_one(struct api_call *c, struct silences *ss, uint64_t id)
{
	struct api_silence_wait	*w;
	struct silence		*si;
	yajl_gen		 g;
	int			 rc;

	switch (c->c_method) {
	case EVHTTP_REQ_GET:
		if ((rc = silences_get(ss, id, &si)) == 1) {
			api_error(c->c_api, c->c_req, 404, NULL,
			    "no silence %llu", (unsigned long long)id);
			return;
		}
		if (rc == -1) {
			api_error(c->c_api, c->c_req, 500, NULL,
			    "silence %llu could not be read",
			    (unsigned long long)id);
			return;
		}
		g = jgen_new();
		silence_gen(g, si, util_now_ms());
		silence_free(si);
		api_send_gen(c->c_api, c->c_req, 200, g);
		return;
	case EVHTTP_REQ_DELETE:
		api_audit_set(c, NULL, "expire");
		w = xcalloc(1, sizeof *w);
		w->w_api = c->c_api;
		w->w_req = c->c_req;
		w->w_status = 200;
		w->w_id = id;
		snprintf(w->w_actor, sizeof w->w_actor, "%s",
		    c->c_actor != NULL ? c->c_actor : "");
		silences_expire(ss, id, util_now_ms(), api_silence_done, w);
		return;
	default:
		api_bad_method(c, "GET, DELETE");
		return;
	}
}

/* A create or an expire committed (or not): answer. */
static void
api_silence_done(void *arg, int status, const struct silence *si,
    const char *reason)
{
	struct api_silence_wait	*w = arg;
	yajl_gen		 g;

	if (status == 1)
		api_error(w->w_api, w->w_req, 404, NULL, "no silence %llu",
		    (unsigned long long)w->w_id);
	else if (status == -1)
		api_error(w->w_api, w->w_req, 500, NULL, "the store failed: %s",
		    reason != NULL ? reason : "unknown");
	else {
		if (w->w_status == 200)
			log_info("silence %llu expired by %s",
			    (unsigned long long)silence_id(si), w->w_actor);
		g = jgen_new();
		silence_gen(g, si, util_now_ms());
		api_send_gen(w->w_api, w->w_req, w->w_status, g);
	}
	free(w);
}
