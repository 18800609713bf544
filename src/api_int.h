/*
 * api_int.h -- what the api_*.c files share: the request being handled,
 * the answer helpers, and the table of /api/v1 collections.
 *
 * Each collection lives in its own file (api_alerts.c, ...) and is one
 * line of api_routes (api_routes.c).  A handler answers exactly once,
 * with api_send / api_send_gen / api_error.  Errors have the shape of
 * CONTRACT.md 5: {"error": {"code", "message", "field"}}.
 */
#ifndef PROG_API_INT_H
#define PROG_API_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <yajl/yajl_gen.h>

#include "config.h"

struct api_conn;
struct api_env;
struct event;
struct evconnlistener;
struct api_pending;
struct json;
struct users;

#define API_LIMIT_DEFAULT	100
#define API_LIMIT_MAX		1000

struct api {
	struct api_env			*a_env;
	const struct config		*a_cfg;
	struct evhttp			*a_http;
	struct evhttp_bound_socket	*a_sock;
	struct evconnlistener		*a_listener;	/* evhttp's, ours made */
	char				 a_address[128];
	struct users			*a_users;	/* made through the API */
	TAILQ_HEAD(, api_pending)	 a_pending;	/* changes to audit */

	/* Connections (see api.c, "Connections"). */
	TAILQ_HEAD(, api_conn)		 a_fresh;	/* accepted, unchecked */
	TAILQ_HEAD(, api_conn)		 a_conns;	/* open */
	struct event			*a_fresh_ev;	/* checks a_fresh */
	struct event			*a_resume_ev;	/* listener paused */
	struct event			*a_tick_ev;	/* each second */
	size_t				 a_nconns;
	size_t				 a_max_conns;	/* after the clamp */
	uint64_t			 a_refused;	/* over a_max_conns */
	uint64_t			 a_timedout;	/* past the deadline */
	uint64_t			 a_pauses;	/* EMFILE and such */
};

/* One request being handled. */
struct api_call {
	struct api		*c_api;
	struct evhttp_request	*c_req;
	enum evhttp_cmd_type	 c_method;
	const char		*c_path;	/* decoded path */
	struct evkeyvalq	 c_query;
	const char		*c_actor;	/* who: the key's name */
	enum role		 c_role;
	struct api_pending	*c_audit;	/* a change to audit, or NULL */
};

/*
 * A collection: requests whose path is ar_prefix or begins with
 * ar_prefix "/" go to ar_handler with the rest of the path ("" or
 * "/..."), once the key has the role the method needs (viewer for GET,
 * editor otherwise; a handler asks more with api_need_role).
 */
struct api_route {
	const char	*ar_prefix;
	void		(*ar_handler)(struct api_call *, const char *);
};

/* The collections beyond the built-in ones, NULL-terminated. */
extern const struct api_route api_routes[];

/* Collection handlers (one file each; listed in api_routes.c). */
void		 api_alerts(struct api_call *, const char *);	/* alerts */
void		 api_silences(struct api_call *, const char *);	/* silences */
void		 api_users(struct api_call *, const char *);	/* users */
void		 api_groups(struct api_call *, const char *);	/* groups */
void		 api_keys(struct api_call *, const char *);	/* keys */
void		 api_audit(struct api_call *, const char *);	/* audit */

/* Send a JSON body (a newline is added) with a status. */
void		 api_send(struct api *, struct evhttp_request *, int,
		    const char *, size_t);
/* Send what a generator holds, and free it. */
void		 api_send_gen(struct api *, struct evhttp_request *, int,
		    yajl_gen);
/* Send an error of the common shape; field may be NULL. */
void		 api_error(struct api *, struct evhttp_request *, int,
		    const char *, const char *, ...)
		    __attribute__((format(printf, 5, 6)));
/* Answer 405 naming the methods the route takes ("GET, POST"). */
void		 api_bad_method(struct api_call *, const char *);
/*
 * The body as a JSON object (api_body) or any JSON value; NULL when empty
 * and empty_ok, or after answering 400 (*answered set).
 */
struct json	*api_body(struct api_call *, int, int *);
struct json	*api_body_json(struct api_call *, int, int, int *);
/*
 * Check that only the named query parameters are present, each once
 * unless marked "+" in the list ("+state": may be repeated); else 400
 * naming the parameter.
 */
int		 api_params_ok(struct api_call *, const char *const *);
/* Parse limit and cursor; answers 400 and returns -1 when bad. */
int		 api_paging(struct api_call *, size_t *, uint64_t *);
/* Write "next": the cursor, or null for 0. */
void		 api_gen_next(yajl_gen, uint64_t);
/* Parse a path id; answers 404 and returns 0 when bad. */
uint64_t	 api_path_id(struct api_call *, const char *, size_t,
		    const char *);
/*
 * Split "/ID[/rest]" after a collection: the id (0 when bad: answered),
 * and in *sub the rest ("/log"), or NULL when nothing (or "/") follows.
 */
uint64_t	 api_path_split(struct api_call *, const char *, const char *,
		    const char **);
/* A JSON time: RFC 3339 text or epoch seconds, in ms.  0 or -1. */
int		 api_json_time(const struct json *, int64_t *);
/* "at" of a run request, or now; answers 422 and returns -1 when bad. */
int		 api_parse_at(struct api_call *, const struct json *, int64_t *);
/*
 * Refuse (422, naming it) a member of obj not in keys (NULL-terminated);
 * hint says what is expected.  Returns 0, or -1 after answering.
 */
int		 api_only_keys(struct api_call *, const struct json *,
		    const char *const *, const char *);
/*
 * Whether the caller's role is at least role; else answers 403 and
 * returns 0.
 */
int		 api_need_role(struct api_call *, enum role);
/*
 * Name what this change did for the audit log: the object ("key:ops") and
 * a summary ("revoke"); NULL keeps the default (from the path, the answer
 * and the body).  api_audit_skip: this request changes nothing (a dry run).
 */
void		 api_audit_set(struct api_call *, const char *, const char *);
void		 api_audit_skip(struct api_call *);

#endif
