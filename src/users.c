/*
 * users.c -- F2: users, groups (incl. rotation groups) and API keys made
 * through the API.
 *
 * STORE_USERS holds all three, told apart by the first byte of the key:
 *   'u' NAME -> {"name", "role", "email", "created"}
 *   'g' NAME -> {"name", "members": [...], "rotation": {"every",
 *               "start", "members": [...]} or absent, "created"}
 *   'k' NAME -> {"name", "role", "user", "sha256", "created"}
 * so that a cursor walks one kind in name order.  A key's secret is never
 * stored: only its SHA-256 (hex).  A secret is "411k_" and 32 random bytes
 * in hex, shown once, when made.
 *
 * auth asks about keys and users on every request, so both are kept in
 * memory (struct users), read at start and again after every change; a
 * presented key is hashed once and compared with every stored hash in
 * constant time.
 *
 * A rotation group hands duty to its members in turn: member i is on duty
 * from start + i * every for one period, round and round.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "store.h"
#include "users.h"
#include "util.h"
#include "xmalloc.h"

struct users_user {
	char		*uu_name;
	enum role	 uu_role;
};

struct users_key {
	char		*uk_name;
	char		*uk_user;	/* or NULL */
	enum role	 uk_role;
	char		 uk_hash[65];	/* SHA-256 hex */
};

struct users {
	struct store		*u_store;
	struct users_user	*u_users;
	size_t			 u_nusers;
	struct users_key	*u_keys;
	size_t			 u_nkeys;
};

/* Fill err. */
static void
users_fail(struct users_err *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
users_fail(struct users_err *err, const char *field, const char *fmt, ...)
{
	va_list	 ap;

	snprintf(err->ue_field, sizeof err->ue_field, "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->ue_message, sizeof err->ue_message, fmt, ap);
	va_end(ap);
}

/* Whether s is a valid name: 1-64 of letters, digits, "-_.@". */
int
users_name_ok(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++) {
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') ||
		    strchr("-_.@", s[n]) != NULL))
			return (0);
	}
	return (n > 0 && n <= USERS_NAME_MAX);
}

/* Write the key of an entry of STORE_USERS. */
size_t
users_store_key(int kind, const char *name, uint8_t *key)
{
	size_t	 n = strlen(name);

	if (n > USERS_NAME_MAX)
		n = USERS_NAME_MAX;
	key[0] = (uint8_t)kind;
	memcpy(key + 1, name, n);
	return (n + 1);
}

/* Parse a time member (RFC 3339 or epoch seconds) into ms. */
static int
users_time(const struct json *v, int64_t *ms)
{
	int64_t	 secs;

	if (json_str(v) != NULL)
		return (util_parse_time_ms(json_str(v), v->j_u.str.len, ms));
	if (!json_int(v, &secs) || secs < 0)
		return (-1);
	*ms = secs * 1000;
	return (0);
}

/* Floor division for the rotation (now may be before start). */
static int64_t
users_floordiv(int64_t a, int64_t b)
{
	int64_t	 q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return (q);
}

/* The member of a rotation on duty at now. */
const char *
users_on_duty(const struct json *rot, int64_t now)
{
	const struct json	*members;
	const char		*every;
	const char		*errstr;
	int64_t			 start, period, turn;
	size_t			 n;

	if (rot == NULL || rot->j_type != JSON_OBJECT)
		return (NULL);
	members = json_get(rot, "members");
	if ((n = json_len(members)) == 0 || members->j_type != JSON_ARRAY)
		return (NULL);
	if ((every = json_str(json_get(rot, "every"))) == NULL ||
	    util_parse_duration_ms(every, &period, &errstr) == -1 ||
	    period <= 0)
		return (NULL);
	if (users_time(json_get(rot, "start"), &start) == -1)
		return (NULL);
	if (now < start)
		return (json_str(json_at(members, 0)));
	turn = users_floordiv(now - start, period);
	return (json_str(json_at(members, (size_t)(turn % (int64_t)n))));
}

/* Who an assignment names at now. */
int
users_resolve_assignee(struct store_txn *txn, const char *name, int64_t now,
    char *out, size_t outlen)
{
	struct json	*g;
	const char	*duty, *gname;
	const void	*v;
	size_t		 vlen;
	uint8_t		 key[1 + USERS_NAME_MAX];
	char		 err[128];
	int		 rc;

	snprintf(out, outlen, "%s", name);
	if (strncmp(name, "group:", 6) == 0) {
		gname = name + 6;
		if (!users_name_ok(gname))
			return (1);
		rc = store_get(txn, STORE_USERS, key,
		    users_store_key(USERS_GROUP, gname, key), &v, &vlen);
		if (rc != 0)
			return (rc);
		if ((g = json_parse(v, vlen, err, sizeof err)) == NULL) {
			log_warnx("group %s: bad stored entry: %s", gname, err);
			return (-1);
		}
		if (json_get(g, "rotation") != NULL &&
		    (duty = users_on_duty(json_get(g, "rotation"), now)) !=
		    NULL)
			snprintf(out, outlen, "%s", duty);
		json_free(g);
		return (0);
	}
	if (!users_name_ok(name))
		return (1);
	return (store_get(txn, STORE_USERS, key,
	    users_store_key(USERS_USER, name, key), &v, &vlen));
}

/* The generator's text as a new string. */
static char *
users_gen_take(yajl_gen g)
{
	struct buf	 b = BUF_INIT;

	jgen_take(g, &b);
	yajl_gen_free(g);
	return (buf_steal(&b, NULL));
}

/* Refuse members of obj not in keys; 0 or -1 with err. */
static int
users_only(const struct json *obj, const char *const *keys,
    const char *prefix, struct users_err *err)
{
	size_t	 i, k;

	for (i = 0; i < obj->j_u.obj.n; i++) {
		for (k = 0; keys[k] != NULL; k++)
			if (strcmp(obj->j_u.obj.m[i].m_key, keys[k]) == 0)
				break;
		if (keys[k] == NULL) {
			users_fail(err, "", "unknown field");
			snprintf(err->ue_field, sizeof err->ue_field, "%s%s",
			    prefix, obj->j_u.obj.m[i].m_key);
			return (-1);
		}
	}
	return (0);
}

/* The name of a definition: the path's, or def's "name". */
static const char *
users_def_name(const struct json *def, const char *pathname,
    struct users_err *err)
{
	const struct json	*n = json_get(def, "name");
	const char		*name;

	if (n != NULL && json_str(n) == NULL) {
		users_fail(err, "name", "must be a string");
		return (NULL);
	}
	name = json_str(n);
	if (pathname != NULL) {
		if (name != NULL && strcmp(name, pathname) != 0) {
			users_fail(err, "name", "is \"%s\" in the path; a "
			    "name cannot be changed", pathname);
			return (NULL);
		}
		name = pathname;
	}
	if (name == NULL) {
		users_fail(err, "name", "is required");
		return (NULL);
	}
	if (!users_name_ok(name)) {
		users_fail(err, "name", "must be 1 to %d letters, digits, "
		    "'-', '_', '.' or '@'", USERS_NAME_MAX);
		return (NULL);
	}
	return (name);
}

/* A role member: ROLE_NONE with err when bad. */
static enum role
users_def_role(const struct json *def, struct users_err *err)
{
	const char	*r = json_str(json_get(def, "role"));
	enum role	 role;

	if (r == NULL || (role = config_role(r)) == ROLE_NONE) {
		users_fail(err, "role", "must be viewer, editor or admin");
		return (ROLE_NONE);
	}
	return (role);
}

/* Check a user definition; the JSON to store. */
char *
users_user_make(const struct json *def, const char *pathname,
    int64_t created, struct users_err *err)
{
	static const char *const keys[] = { "name", "role", "email",
	    "created", NULL };
	const struct json	*email;
	const char		*name;
	enum role		 role;
	yajl_gen		 g;

	memset(err, 0, sizeof *err);
	if (users_only(def, keys, "", err) == -1 ||
	    (name = users_def_name(def, pathname, err)) == NULL ||
	    (role = users_def_role(def, err)) == ROLE_NONE)
		return (NULL);
	email = json_get(def, "email");
	if (email != NULL && email->j_type != JSON_NULL &&
	    (json_str(email) == NULL || email->j_u.str.len > 254 ||
	    strchr(json_str(email), '@') == NULL)) {
		users_fail(err, "email", "must be an address (at most 254 "
		    "characters, with an @)");
		return (NULL);
	}
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_kstr(g, "name", name);
	jgen_kstr(g, "role", config_role_name(role));
	jgen_str(g, "email");
	jgen_str_or_null(g, json_str(email));
	jgen_ktime(g, "created", created);
	yajl_gen_map_close(g);
	return (users_gen_take(g));
}

/* Check a list of user names; 0 or -1 with err naming field[i]. */
static int
users_check_members(const struct users *u, const struct json *list,
    const char *field, struct users_err *err)
{
	const char	*m;
	char		 f[64];
	size_t		 i, k;

	if (list == NULL || list->j_type != JSON_ARRAY) {
		users_fail(err, field, "must be an array of user names");
		return (-1);
	}
	if (json_len(list) > USERS_MEMBERS_MAX) {
		users_fail(err, field, "at most %d members", USERS_MEMBERS_MAX);
		return (-1);
	}
	for (i = 0; i < json_len(list); i++) {
		snprintf(f, sizeof f, "%s[%zu]", field, i);
		if ((m = json_str(json_at(list, i))) == NULL) {
			users_fail(err, f, "must be a user name");
			return (-1);
		}
		if (users_user_role(u, m, NULL) == ROLE_NONE) {
			users_fail(err, f, "no user \"%.64s\"", m);
			return (-1);
		}
		for (k = 0; k < i; k++) {
			if (strcmp(json_str(json_at(list, k)), m) == 0) {
				users_fail(err, f, "\"%s\" is listed twice",
				    m);
				return (-1);
			}
		}
	}
	return (0);
}

/* Check a group definition; the JSON to store. */
char *
users_group_make(const struct users *u, const struct json *def,
    const char *pathname, int64_t created, struct users_err *err)
{
	static const char *const keys[] = { "name", "members", "rotation",
	    "created", "on_duty", NULL };
	static const char *const rkeys[] = { "every", "start", "members",
	    NULL };
	const struct json	*members, *rot, *rmembers;
	const char		*name, *every, *errstr;
	int64_t			 period, start = 0;
	yajl_gen		 g;

	memset(err, 0, sizeof *err);
	if (users_only(def, keys, "", err) == -1 ||
	    (name = users_def_name(def, pathname, err)) == NULL)
		return (NULL);
	members = json_get(def, "members");
	if (members == NULL && json_get(def, "rotation") == NULL) {
		users_fail(err, "members", "is required (an array of user "
		    "names)");
		return (NULL);
	}
	if (members != NULL && users_check_members(u, members, "members",
	    err) == -1)
		return (NULL);
	rot = json_get(def, "rotation");
	rmembers = NULL;
	if (rot != NULL && rot->j_type != JSON_NULL) {
		if (rot->j_type != JSON_OBJECT) {
			users_fail(err, "rotation", "must be an object "
			    "{\"every\", \"start\", \"members\"}");
			return (NULL);
		}
		if (users_only(rot, rkeys, "rotation.", err) == -1)
			return (NULL);
		if ((every = json_str(json_get(rot, "every"))) == NULL ||
		    util_parse_duration_ms(every, &period, &errstr) == -1 ||
		    period < 60000) {
			users_fail(err, "rotation.every", "must be a duration "
			    "of a minute or more (\"7d\", \"12h\")");
			return (NULL);
		}
		if (json_get(rot, "start") == NULL ||
		    users_time(json_get(rot, "start"), &start) == -1) {
			users_fail(err, "rotation.start", "must be a time: "
			    "RFC 3339 or epoch seconds");
			return (NULL);
		}
		rmembers = json_get(rot, "members");
		if (rmembers == NULL)
			rmembers = members;
		if (users_check_members(u, rmembers, "rotation.members",
		    err) == -1)
			return (NULL);
		if (json_len(rmembers) == 0) {
			users_fail(err, "rotation.members", "a rotation needs "
			    "one member at least");
			return (NULL);
		}
	}
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_kstr(g, "name", name);
	jgen_str(g, "members");
	if (members != NULL)
		json_gen(g, members);
	else
		json_gen(g, rmembers);
	if (rmembers != NULL) {
		jgen_str(g, "rotation");
		yajl_gen_map_open(g);
		jgen_kstr(g, "every", every);
		jgen_ktime(g, "start", start);
		jgen_str(g, "members");
		json_gen(g, rmembers);
		yajl_gen_map_close(g);
	}
	jgen_ktime(g, "created", created);
	yajl_gen_map_close(g);
	return (users_gen_take(g));
}

/* Check a key request and make the key. */
char *
users_key_make(const struct users *u, const struct config *cfg,
    const struct json *def, int64_t created, char *secret,
    struct users_err *err)
{
	static const char *const keys[] = { "name", "role", "user", NULL };
	const struct json	*uj;
	const char		*name, *user = NULL;
	enum role		 role, urole = ROLE_NONE;
	uint8_t			 raw[32], hash[32];
	char			 hex[65];
	size_t			 i;
	yajl_gen		 g;

	memset(err, 0, sizeof *err);
	if (users_only(def, keys, "", err) == -1 ||
	    (name = users_def_name(def, NULL, err)) == NULL)
		return (NULL);
	for (i = 0; cfg != NULL && i < cfg->c_nkeys; i++) {
		if (strcmp(cfg->c_keys[i].ck_name, name) == 0) {
			users_fail(err, "name", "an api_key line of the "
			    "config has this name");
			return (NULL);
		}
	}
	uj = json_get(def, "user");
	if (uj != NULL && uj->j_type != JSON_NULL) {
		if ((user = json_str(uj)) == NULL ||
		    (urole = users_user_role(u, user, NULL)) == ROLE_NONE) {
			users_fail(err, "user", "must name a user");
			return (NULL);
		}
	}
	if (json_get(def, "role") == NULL && user != NULL)
		role = urole;
	else if ((role = users_def_role(def, err)) == ROLE_NONE)
		return (NULL);
	if (user != NULL && role > urole) {
		users_fail(err, "role", "%s is more than the user's role (%s)",
		    config_role_name(role), config_role_name(urole));
		return (NULL);
	}
	util_random_bytes(raw, sizeof raw);
	memcpy(secret, USERS_KEY_PREFIX, 5);
	util_hex(raw, sizeof raw, secret + 5);
	util_sha256(secret, strlen(secret), hash);
	util_hex(hash, sizeof hash, hex);
	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_kstr(g, "name", name);
	jgen_kstr(g, "role", config_role_name(role));
	jgen_str(g, "user");
	jgen_str_or_null(g, user);
	jgen_kstr(g, "sha256", hex);
	jgen_ktime(g, "created", created);
	yajl_gen_map_close(g);
	return (users_gen_take(g));
}

/* Empty the cache. */
static void
users_clear(struct users *u)
{
	size_t	 i;

	for (i = 0; i < u->u_nusers; i++)
		free(u->u_users[i].uu_name);
	free(u->u_users);
	for (i = 0; i < u->u_nkeys; i++) {
		free(u->u_keys[i].uk_name);
		free(u->u_keys[i].uk_user);
	}
	free(u->u_keys);
	u->u_users = NULL;
	u->u_keys = NULL;
	u->u_nusers = u->u_nkeys = 0;
}

/* Read the store again. */
int
users_reload(struct users *u)
{
	struct store_txn	*txn;
	struct store_cursor	*c;
	struct users		 n;
	struct json		*j;
	const void		*k, *v;
	const char		*hash;
	size_t			 klen, vlen;
	char			 err[128];
	int			 rc;

	memset(&n, 0, sizeof n);
	if ((txn = store_read(u->u_store)) == NULL)
		return (-1);
	if ((c = store_cursor(txn, STORE_USERS)) == NULL) {
		store_done(txn);
		return (-1);
	}
	for (rc = store_cursor_seek(c, NULL, 0, &k, &klen, &v, &vlen);
	    rc == 0; rc = store_cursor_next(c, &k, &klen, &v, &vlen)) {
		if (klen < 2)
			continue;
		if ((j = json_parse(v, vlen, err, sizeof err)) == NULL) {
			log_warnx("users: bad stored entry %.*s: %s",
			    (int)klen - 1, (const char *)k + 1, err);
			continue;
		}
		if (*(const uint8_t *)k == USERS_USER) {
			n.u_users = xreallocarray(n.u_users, n.u_nusers + 1,
			    sizeof *n.u_users);
			n.u_users[n.u_nusers].uu_name = xstrndup(
			    (const char *)k + 1, klen - 1);
			n.u_users[n.u_nusers++].uu_role = config_role(
			    json_str(json_get(j, "role")) != NULL ?
			    json_str(json_get(j, "role")) : "");
		} else if (*(const uint8_t *)k == USERS_KEY &&
		    (hash = json_str(json_get(j, "sha256"))) != NULL &&
		    strlen(hash) == 64) {
			n.u_keys = xreallocarray(n.u_keys, n.u_nkeys + 1,
			    sizeof *n.u_keys);
			n.u_keys[n.u_nkeys].uk_name = xstrndup(
			    (const char *)k + 1, klen - 1);
			n.u_keys[n.u_nkeys].uk_user =
			    json_str(json_get(j, "user")) != NULL ?
			    xstrdup(json_str(json_get(j, "user"))) : NULL;
			n.u_keys[n.u_nkeys].uk_role = config_role(
			    json_str(json_get(j, "role")) != NULL ?
			    json_str(json_get(j, "role")) : "");
			memcpy(n.u_keys[n.u_nkeys++].uk_hash, hash, 65);
		}
		json_free(j);
	}
	store_cursor_free(c);
	store_done(txn);
	if (rc == -1) {
		users_clear(&n);
		return (-1);
	}
	users_clear(u);
	u->u_users = n.u_users;
	u->u_nusers = n.u_nusers;
	u->u_keys = n.u_keys;
	u->u_nkeys = n.u_nkeys;
	return (0);
}

/* A cache over store, read now. */
struct users *
users_new(struct store *store)
{
	struct users	*u;

	u = xcalloc(1, sizeof *u);
	u->u_store = store;
	if (store != NULL && users_reload(u) == -1)
		log_warnx("users: could not read the stored users and keys");
	return (u);
}

/* Free; accepts NULL. */
void
users_free(struct users *u)
{
	if (u == NULL)
		return;
	users_clear(u);
	free(u);
}

/* The role of a stored key, by its secret. */
enum role
users_key_role(const struct users *u, const char *secret, const char **actor)
{
	uint8_t		 hash[32];
	char		 hex[65];
	enum role	 role = ROLE_NONE;
	size_t		 i;

	if (u == NULL || u->u_nkeys == 0)
		return (ROLE_NONE);
	util_sha256(secret, strlen(secret), hash);
	util_hex(hash, sizeof hash, hex);
	for (i = 0; i < u->u_nkeys; i++) {
		/* Every hash is compared: no early way out. */
		if (util_secure_equal(u->u_keys[i].uk_hash, hex) &&
		    role == ROLE_NONE) {
			role = u->u_keys[i].uk_role;
			/* A user's key is never more than the user now. */
			if (u->u_keys[i].uk_user != NULL && users_user_role(u,
			    u->u_keys[i].uk_user, NULL) < role)
				role = users_user_role(u,
				    u->u_keys[i].uk_user, NULL);
			if (actor != NULL)
				*actor = u->u_keys[i].uk_user != NULL ?
				    u->u_keys[i].uk_user :
				    u->u_keys[i].uk_name;
		}
	}
	return (role);
}

/* The role of a user. */
enum role
users_user_role(const struct users *u, const char *name, const char **actor)
{
	size_t	 i;

	for (i = 0; u != NULL && i < u->u_nusers; i++) {
		if (strcmp(u->u_users[i].uu_name, name) == 0) {
			if (actor != NULL)
				*actor = u->u_users[i].uu_name;
			return (u->u_users[i].uu_role);
		}
	}
	return (ROLE_NONE);
}
