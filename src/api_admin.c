/*
 * api_admin.c -- F2: /api/v1/users, /api/v1/groups and /api/v1/keys, for
 * admin keys only (others get 403, whatever the method).
 *
 *   GET, POST		/api/v1/users		{"name", "role", "email"}
 *   GET, PUT, PATCH, DELETE /api/v1/users/NAME (PATCH: RFC 7396 merge)
 *   GET, POST		/api/v1/groups		{"name", "members",
 *						 "rotation": {"every",
 *						 "start", "members"}}
 *   GET, PUT, PATCH, DELETE /api/v1/groups/NAME
 *   GET, POST		/api/v1/keys		{"name", "role", "user"}
 *   GET, DELETE	/api/v1/keys/NAME
 *
 * Definitions are checked by users.c.  A write goes through the group
 * commit; whether the name exists is decided inside the transaction (409
 * for a create of a name taken, 404 for a change of a name unknown), and
 * the request is answered from the done callback, after the cache of
 * users and keys has been read again, so a revoked key is refused from the
 * next request on.  Deleting a user revokes that user's keys.  Lists are
 * in name order, paged with limit and a cursor that counts the items
 * already given.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api.h"
#include "api_int.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "run.h"
#include "store.h"
#include "users.h"
#include "util.h"
#include "xmalloc.h"

/* A write waiting for its commit. */
struct admin_op {
	struct api		*o_api;
	struct evhttp_request	*o_req;
	int			 o_kind;		/* USERS_USER, ... */
	char			 o_name[USERS_NAME_MAX + 1];
	char			*o_value;		/* to put, or NULL */
	int			 o_create;		/* must not exist */
	int			 o_status;		/* set by apply */
	char			 o_secret[USERS_KEY_SECRET_LEN + 1];
};

/* The word for a kind, in messages and objects. */
static const char *
admin_kind_name(int kind)
{
	switch (kind) {
	case USERS_USER:
		return ("user");
	case USERS_GROUP:
		return ("group");
	default:
		return ("key");
	}
}

/* Write an entry for the API: all of it but the hash, and who's on duty. */
static void
admin_gen_entry(yajl_gen g, int kind, const struct json *j, int64_t now)
{
	const char	*duty;
	size_t		 i;

	yajl_gen_map_open(g);
	for (i = 0; i < j->j_u.obj.n; i++) {
		if (strcmp(j->j_u.obj.m[i].m_key, "sha256") == 0)
			continue;
		jgen_str(g, j->j_u.obj.m[i].m_key);
		json_gen(g, j->j_u.obj.m[i].m_val);
	}
	if (kind == USERS_GROUP && json_get(j, "rotation") != NULL) {
		duty = users_on_duty(json_get(j, "rotation"), now);
		jgen_str(g, "on_duty");
		jgen_str_or_null(g, duty);
	}
	if (kind == USERS_KEY)
		jgen_kstr(g, "origin", "api");
}

/* Delete the keys of user name (its key entries). */
static int
admin_del_user_keys(struct store_txn *txn, const char *user)
{
	struct store_cursor	*c;
	struct json		*j;
	const void		*k, *v;
	size_t			 klen, vlen;
	uint8_t			 start = USERS_KEY, at[1 + USERS_NAME_MAX];
	char			 err[64];
	int			 rc, del;

	if ((c = store_cursor(txn, STORE_USERS)) == NULL)
		return (-1);
	for (rc = store_cursor_seek(c, &start, 1, &k, &klen, &v, &vlen);
	    rc == 0 && klen > 0 && *(const uint8_t *)k == USERS_KEY;) {
		del = 0;
		if ((j = json_parse(v, vlen, err, sizeof err)) != NULL) {
			del = json_str(json_get(j, "user")) != NULL &&
			    strcmp(json_str(json_get(j, "user")), user) == 0;
			json_free(j);
		}
		if (del) {
			klen = klen > sizeof at ? sizeof at : klen;
			memcpy(at, k, klen);
			if (store_cursor_del(c) == -1) {
				rc = -1;
				break;
			}
			rc = store_cursor_seek(c, at, klen, &k, &klen, &v,
			    &vlen);
			continue;
		}
		rc = store_cursor_next(c, &k, &klen, &v, &vlen);
	}
	store_cursor_free(c);
	return (rc == -1 ? -1 : 0);
}

/* Write or delete one entry, if it exists (or not) as it must. */
static int
admin_apply(struct store_txn *txn, void *arg)
{
	struct admin_op	*o = arg;
	uint8_t		 key[1 + USERS_NAME_MAX];
	size_t		 klen, vlen;
	const void	*v;
	int		 rc;

	klen = users_store_key(o->o_kind, o->o_name, key);
	if ((rc = store_get(txn, STORE_USERS, key, klen, &v, &vlen)) == -1)
		return (-1);
	if (o->o_create && rc == 0) {
		o->o_status = 409;
		return (0);
	}
	if (!o->o_create && rc == 1) {
		o->o_status = 404;
		return (0);
	}
	if (o->o_value == NULL) {
		if (store_del(txn, STORE_USERS, key, klen) == -1)
			return (-1);
		if (o->o_kind == USERS_USER &&
		    admin_del_user_keys(txn, o->o_name) == -1)
			return (-1);
		o->o_status = 200;
		return (0);
	}
	if (store_put(txn, STORE_USERS, key, klen, o->o_value,
	    strlen(o->o_value)) == -1)
		return (-1);
	o->o_status = o->o_create ? 201 : 200;
	return (0);
}

/* The commit is over: read the cache again and answer. */
static void
admin_done(void *arg, int ok, const char *why)
{
	struct admin_op	*o = arg;
	struct json	*j;
	const char	*what = admin_kind_name(o->o_kind);
	char		 err[64];
	yajl_gen	 g;

	if (!ok) {
		api_error(o->o_api, o->o_req, 500, NULL, "could not store the "
		    "%s: %s", what, why);
		goto done;
	}
	if (o->o_status == 409) {
		api_error(o->o_api, o->o_req, 409, "name", "a %s named \"%s\" "
		    "exists", what, o->o_name);
		goto done;
	}
	if (o->o_status == 404) {
		api_error(o->o_api, o->o_req, 404, NULL, "no %s \"%s\"",
		    what, o->o_name);
		goto done;
	}
	if (users_reload(o->o_api->a_users) == -1)
		log_warnx("users: could not read the users and keys again");
	g = jgen_new();
	if (o->o_value == NULL) {
		yajl_gen_map_open(g);
		jgen_kstr(g, "deleted", o->o_name);
		yajl_gen_map_close(g);
		log_info("%s %s deleted", what, o->o_name);
	} else {
		j = json_parse(o->o_value, strlen(o->o_value), err, sizeof err);
		if (j == NULL) {
			yajl_gen_free(g);
			api_error(o->o_api, o->o_req, 500, NULL, "%s", err);
			goto done;
		}
		admin_gen_entry(g, o->o_kind, j, util_now_ms());
		if (o->o_kind == USERS_KEY && o->o_create)
			jgen_kstr(g, "key", o->o_secret);
		yajl_gen_map_close(g);
		json_free(j);
		log_info("%s %s %s", what, o->o_name, o->o_create ? "created" :
		    "changed");
	}
	api_send_gen(o->o_api, o->o_req, o->o_status, g);
done:
	explicit_bzero(o->o_secret, sizeof o->o_secret);
	free(o->o_value);
	free(o);
}

/* Queue a write (value NULL: delete); the answer comes from admin_done. */
static void
admin_write(struct api_call *c, int kind, const char *name, char *value,
    int create, const char *secret)
{
	struct admin_op	*o;
	char		 object[USERS_NAME_MAX + 16];

	o = xcalloc(1, sizeof *o);
	o->o_api = c->c_api;
	o->o_req = c->c_req;
	o->o_kind = kind;
	snprintf(o->o_name, sizeof o->o_name, "%s", name);
	o->o_value = value;
	o->o_create = create;
	if (secret != NULL)
		snprintf(o->o_secret, sizeof o->o_secret, "%s", secret);
	snprintf(object, sizeof object, "%s:%s", admin_kind_name(kind), name);
	api_audit_set(c, object, value == NULL ? (kind == USERS_KEY ?
	    "revoke" : "delete") : create ? "create" : "update");
	store_write(c->c_api->a_env->ae_run->re_store, admin_apply, admin_done,
	    o);
}

/* The name after the collection ("/NAME"), or NULL (answered 404). */
static const char *
admin_path_name(struct api_call *c, const char *rest, int kind)
{
	const char	*name = rest + 1;

	if (!users_name_ok(name)) {
		api_error(c->c_api, c->c_req, 404, NULL, "no %s \"%.64s\"",
		    admin_kind_name(kind), name);
		return (NULL);
	}
	return (name);
}

/* GET a collection: config keys first (for keys), then the store's. */
static void
admin_list(struct api_call *c, int kind)
{
	static const char *const params[] = { "limit", "cursor", NULL };
	const struct config	*cfg = c->c_api->a_cfg;
	struct store_txn	*txn;
	struct store_cursor	*cur;
	struct json		*j;
	const void		*k, *v;
	size_t			 limit, klen, vlen, n = 0, i;
	uint64_t		 skip, pos = 0;
	uint8_t			 start = (uint8_t)kind;
	char			 err[64];
	yajl_gen		 g;
	int			 rc, more = 0;

	if (!api_params_ok(c, params) || api_paging(c, &limit, &skip) == -1)
		return;
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_str(g, "items");
	yajl_gen_array_open(g);
	for (i = 0; kind == USERS_KEY && i < cfg->c_nkeys; i++, pos++) {
		if (pos < skip)
			continue;
		if (n == limit) {
			more = 1;
			break;
		}
		yajl_gen_map_open(g);
		jgen_kstr(g, "name", cfg->c_keys[i].ck_name);
		jgen_kstr(g, "role", config_role_name(cfg->c_keys[i].ck_role));
		jgen_str(g, "user");
		jgen_null(g);
		jgen_kstr(g, "origin", "config");
		yajl_gen_map_close(g);
		n++;
	}
	if ((txn = store_read(c->c_api->a_env->ae_run->re_store)) == NULL ||
	    (cur = store_cursor(txn, STORE_USERS)) == NULL) {
		store_done(txn);
		yajl_gen_free(g);
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		return;
	}
	for (rc = more ? 1 : store_cursor_seek(cur, &start, 1, &k, &klen, &v,
	    &vlen); rc == 0 && klen > 0 && *(const uint8_t *)k == kind;
	    rc = store_cursor_next(cur, &k, &klen, &v, &vlen), pos++) {
		if (pos < skip)
			continue;
		if (n == limit) {
			more = 1;
			break;
		}
		if ((j = json_parse(v, vlen, err, sizeof err)) == NULL)
			continue;
		admin_gen_entry(g, kind, j, util_now_ms());
		yajl_gen_map_close(g);
		json_free(j);
		n++;
	}
	store_cursor_free(cur);
	store_done(txn);
	yajl_gen_array_close(g);
	api_gen_next(g, more ? pos : 0);
	yajl_gen_map_close(g);
	api_send_gen(c->c_api, c->c_req, 200, g);
}

/*
 * The stored entry kind/name as a new tree, or NULL after answering (404
 * or 500).
 */
static struct json *
admin_stored(struct api_call *c, int kind, const char *name)
{
	struct store_txn	*txn;
	struct json		*j = NULL;
	const void		*v;
	size_t			 vlen;
	uint8_t			 key[1 + USERS_NAME_MAX];
	char			 err[64];
	int			 rc;

	if ((txn = store_read(c->c_api->a_env->ae_run->re_store)) == NULL) {
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		return (NULL);
	}
	rc = store_get(txn, STORE_USERS, key, users_store_key(kind, name, key),
	    &v, &vlen);
	if (rc == 0)
		j = json_parse(v, vlen, err, sizeof err);
	store_done(txn);
	if (rc == -1 || (rc == 0 && j == NULL)) {
		api_error(c->c_api, c->c_req, 500, NULL, "the store failed");
		return (NULL);
	}
	if (rc == 1) {
		api_error(c->c_api, c->c_req, 404, NULL, "no %s \"%s\"",
		    admin_kind_name(kind), name);
		return (NULL);
	}
	return (j);
}

/* GET one entry. */
static void
admin_get(struct api_call *c, int kind, const char *name)
{
	struct json		*j;
	yajl_gen		 g;

	if ((j = admin_stored(c, kind, name)) == NULL)
		return;
	g = jgen_new();
	admin_gen_entry(g, kind, j, util_now_ms());
	yajl_gen_map_close(g);
	json_free(j);
	api_send_gen(c->c_api, c->c_req, 200, g);
}

/* The "created" time kept by a PUT (the stored one), or now. */
static int64_t
admin_created(struct api_call *c, int kind, const char *name)
{
	struct store_txn	*txn;
	struct json		*j;
	const void		*v;
	size_t			 vlen;
	uint8_t			 key[1 + USERS_NAME_MAX];
	const char		*t;
	char			 err[64];
	int64_t			 ms = util_now_ms();

	if ((txn = store_read(c->c_api->a_env->ae_run->re_store)) == NULL)
		return (ms);
	if (store_get(txn, STORE_USERS, key, users_store_key(kind, name, key),
	    &v, &vlen) == 0 &&
	    (j = json_parse(v, vlen, err, sizeof err)) != NULL) {
		if ((t = json_str(json_get(j, "created"))) != NULL)
			(void)util_parse_time_ms(t, strlen(t), &ms);
		json_free(j);
	}
	store_done(txn);
	return (ms);
}

/* Users and groups: the same routes, with their own check. */
static void
admin_collection(struct api_call *c, const char *rest, int kind)
{
	struct users_err	 err;
	struct json		*body;
	struct json		*stored;
	const char		*name = NULL;
	char			*value;
	int			 answered, create;

	if (!api_need_role(c, ROLE_ADMIN))
		return;
	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (c->c_method == EVHTTP_REQ_GET)
			admin_list(c, kind);
		else if (c->c_method != EVHTTP_REQ_POST)
			api_bad_method(c, "GET, POST");
		else
			goto write;
		return;
	}
	if ((name = admin_path_name(c, rest, kind)) == NULL)
		return;
	switch (c->c_method) {
	case EVHTTP_REQ_GET:
		admin_get(c, kind, name);
		return;
	case EVHTTP_REQ_DELETE:
		admin_write(c, kind, name, NULL, 0, NULL);
		return;
	case EVHTTP_REQ_PUT:
	case EVHTTP_REQ_PATCH:
		goto write;
	default:
		api_bad_method(c, "GET, PUT, PATCH, DELETE");
		return;
	}
write:
	create = name == NULL;
	if ((body = api_body(c, 0, &answered)) == NULL)
		return;
	if (c->c_method == EVHTTP_REQ_PATCH) {
		/* a merge patch (RFC 7396) over the stored entry */
		if ((stored = admin_stored(c, kind, name)) == NULL) {
			json_free(body);
			return;
		}
		json_merge_patch(&stored, body);
		json_free(body);
		body = stored;
	}
	if (kind == USERS_USER)
		value = users_user_make(body, name, create ? util_now_ms() :
		    admin_created(c, kind, name), &err);
	else
		value = users_group_make(c->c_api->a_users, body, name,
		    create ? util_now_ms() : admin_created(c, kind, name), &err);
	if (value == NULL) {
		api_error(c->c_api, c->c_req, 422, err.ue_field, "%s",
		    err.ue_message);
		json_free(body);
		return;
	}
	if (name == NULL)
		name = json_str(json_get(body, "name"));
	admin_write(c, kind, name, value, create, NULL);
	json_free(body);
}

/* /api/v1/users[/NAME] */
void
api_users(struct api_call *c, const char *rest)
{
	admin_collection(c, rest, USERS_USER);
}

/* /api/v1/groups[/NAME] */
void
api_groups(struct api_call *c, const char *rest)
{
	admin_collection(c, rest, USERS_GROUP);
}

/* /api/v1/keys[/NAME]: made (secret shown once), listed, revoked. */
void
api_keys(struct api_call *c, const char *rest)
{
	const struct config	*cfg = c->c_api->a_cfg;
	struct users_err	 err;
	struct json		*body;
	const char		*name;
	char			 secret[USERS_KEY_SECRET_LEN + 1], *value;
	size_t			 i;
	yajl_gen		 g;
	int			 answered;

	if (!api_need_role(c, ROLE_ADMIN))
		return;
	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (c->c_method == EVHTTP_REQ_GET) {
			admin_list(c, USERS_KEY);
			return;
		}
		if (c->c_method != EVHTTP_REQ_POST) {
			api_bad_method(c, "GET, POST");
			return;
		}
		if ((body = api_body(c, 0, &answered)) == NULL)
			return;
		value = users_key_make(c->c_api->a_users, cfg, body,
		    util_now_ms(), secret, &err);
		if (value == NULL) {
			api_error(c->c_api, c->c_req, 422, err.ue_field, "%s",
			    err.ue_message);
			json_free(body);
			return;
		}
		admin_write(c, USERS_KEY, json_str(json_get(body, "name")),
		    value, 1, secret);
		explicit_bzero(secret, sizeof secret);
		json_free(body);
		return;
	}
	if ((name = admin_path_name(c, rest, USERS_KEY)) == NULL)
		return;
	for (i = 0; i < cfg->c_nkeys; i++) {
		if (strcmp(cfg->c_keys[i].ck_name, name) != 0)
			continue;
		if (c->c_method == EVHTTP_REQ_GET) {
			g = jgen_new();
			yajl_gen_map_open(g);
			jgen_kstr(g, "name", name);
			jgen_kstr(g, "role",
			    config_role_name(cfg->c_keys[i].ck_role));
			jgen_str(g, "user");
			jgen_null(g);
			jgen_kstr(g, "origin", "config");
			yajl_gen_map_close(g);
			api_send_gen(c->c_api, c->c_req, 200, g);
			return;
		}
		break;
	}
	switch (c->c_method) {
	case EVHTTP_REQ_GET:
		admin_get(c, USERS_KEY, name);
		return;
	case EVHTTP_REQ_DELETE:
		if (i < cfg->c_nkeys) {
			api_error(c->c_api, c->c_req, 409, NULL, "key \"%s\" "
			    "is an api_key line of the config: remove the "
			    "line and reload", name);
			return;
		}
		admin_write(c, USERS_KEY, name, NULL, 0, NULL);
		return;
	default:
		api_bad_method(c, "GET, DELETE");
	}
}
