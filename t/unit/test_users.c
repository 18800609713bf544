/*
 * test_users.c -- users.c: names, the checks of users, groups and keys,
 * rotation duty at a given time, the cache of keys (hash only, revocation)
 * and assignment names, against a real LMDB in a temporary directory.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config.h"
#include "json.h"
#include "store.h"
#include "tap.h"
#include "users.h"
#include "util.h"
#include "xmalloc.h"

#define DAY	(86400 * 1000LL)

/* Parse a JSON literal or bail. */
static struct json *
J(const char *s)
{
	struct json	*j;
	char		 err[128];

	if ((j = json_parse(s, strlen(s), err, sizeof err)) == NULL)
		bail("bad test JSON %s: %s", s, err);
	return (j);
}

static void
test_names(void)
{
	ok(users_name_ok("alice"), "alice is a name");
	ok(users_name_ok("a.b-c_d@example.com"), "letters, . - _ @");
	ok(!users_name_ok(""), "empty is not");
	ok(!users_name_ok("a b"), "a blank is not");
	ok(!users_name_ok("a/b"), "a slash is not");
	ok(!users_name_ok("group:x"), "a colon is not");
	ok(users_name_ok("x123456789012345678901234567890123456789012345678"
	    "901234567890123"), "64 characters are");
	ok(!users_name_ok("x123456789012345678901234567890123456789012345678"
	    "90123456789012345"), "65 are not");
}

static void
test_rotation(void)
{
	struct json	*r;
	int64_t		 start;

	if (util_parse_time_ms("2026-01-05T00:00:00Z", 20, &start) == -1)
		bail("time");
	r = J("{\"every\": \"7d\", \"start\": \"2026-01-05T00:00:00Z\", "
	    "\"members\": [\"ann\", \"bob\", \"cy\"]}");
	is_string("ann", users_on_duty(r, start), "ann at the start");
	is_string("ann", users_on_duty(r, start + 7 * DAY - 1),
	    "ann until the last ms of her week");
	is_string("bob", users_on_duty(r, start + 7 * DAY), "bob next week");
	is_string("cy", users_on_duty(r, start + 14 * DAY + 5), "cy after");
	is_string("ann", users_on_duty(r, start + 21 * DAY), "then ann again");
	is_string("bob", users_on_duty(r, start + 70 * DAY + 3 * DAY),
	    "week 10 is bob's (10 mod 3 = 1)");
	is_string("ann", users_on_duty(r, start - 3 * DAY),
	    "before the start: the first member");
	json_free(r);

	r = J("{\"every\": \"12h\", \"start\": 1767571200, "
	    "\"members\": [\"x\", \"y\"]}");
	is_string("x", users_on_duty(r, 1767571200000LL), "epoch start");
	is_string("y", users_on_duty(r, 1767571200000LL + DAY / 2),
	    "12 h later: y");
	json_free(r);

	r = J("{\"every\": \"7d\", \"start\": \"x\", \"members\": [\"a\"]}");
	ok(users_on_duty(r, start) == NULL, "a bad start: no one");
	json_free(r);
	r = J("{\"every\": \"soon\", \"start\": 0, \"members\": [\"a\"]}");
	ok(users_on_duty(r, start) == NULL, "a bad period: no one");
	json_free(r);
	r = J("{\"every\": \"1d\", \"start\": 0, \"members\": []}");
	ok(users_on_duty(r, start) == NULL, "no members: no one");
	json_free(r);
	ok(users_on_duty(NULL, start) == NULL, "no rotation: no one");
}

/* Put key -> value in STORE_USERS (through store_update). */
struct put {
	int		 p_kind;
	const char	*p_name;
	const char	*p_value;	/* NULL: delete */
};

static int
put_apply(struct store_txn *txn, void *arg)
{
	struct put	*p = arg;
	uint8_t		 key[1 + USERS_NAME_MAX];
	size_t		 klen = users_store_key(p->p_kind, p->p_name, key);

	if (p->p_value == NULL)
		return (store_del(txn, STORE_USERS, key, klen));
	return (store_put(txn, STORE_USERS, key, klen, p->p_value,
	    strlen(p->p_value)));
}

static void
put(struct store *s, int kind, const char *name, const char *value)
{
	struct put	 p = { kind, name, value };
	char		 err[256];

	if (store_update(s, put_apply, &p, err, sizeof err) == -1)
		bail("store_update: %s", err);
}

/* Check def as a user / group / key; returns the field of the error. */
static const char *
user_err(const char *def, const char *path)
{
	static struct users_err	 err;
	struct json		*j = J(def);
	char			*v;

	v = users_user_make(j, path, 1000, &err);
	json_free(j);
	if (v != NULL) {
		free(v);
		return ("");
	}
	return (err.ue_field);
}

static const char *
group_err(const struct users *u, const char *def)
{
	static struct users_err	 err;
	struct json		*j = J(def);
	char			*v;

	v = users_group_make(u, j, NULL, 1000, &err);
	json_free(j);
	if (v != NULL) {
		free(v);
		return ("");
	}
	return (err.ue_field);
}

static const char *
key_err(const struct users *u, const struct config *cfg, const char *def)
{
	static struct users_err	 err;
	struct json		*j = J(def);
	char			*v, secret[USERS_KEY_SECRET_LEN + 1];

	v = users_key_make(u, cfg, j, 1000, secret, &err);
	json_free(j);
	if (v != NULL) {
		free(v);
		return ("");
	}
	return (err.ue_field);
}

static void
test_store(void)
{
	struct event_base	*base;
	struct store		*s;
	struct store_txn	*txn;
	struct users		*u;
	struct users_err	 err;
	struct config_errors	 errs;
	struct config		*cfg;
	struct json		*def, *stored;
	const char		*actor, *conf = "api_key ops admin "
				    "0123456789abcdef0123\n";
	char			*dir, *v, secret[USERS_KEY_SECRET_LEN + 1];
	char			 out[128], other[USERS_KEY_SECRET_LEN + 1];
	char			 hex[65];
	uint8_t			 hash[32];
	int64_t			 start;

	cfg = config_parse("t.conf", conf, strlen(conf), CONFIG_411D, &errs);
	if (cfg == NULL)
		bail("config: %s", errs.ce_lines[0]);
	dir = xprintf("%s/users", test_tmpdir());
	base = event_base_new();
	if ((s = store_open(base, dir, out, sizeof out)) == NULL)
		bail("store_open: %s", out);
	u = users_new(s);
	ok(users_user_role(u, "ann", NULL) == ROLE_NONE, "no users at first");

	/* users */
	is_string("", user_err("{\"name\": \"ann\", \"role\": \"editor\", "
	    "\"email\": \"ann@example.com\"}", NULL), "a good user");
	is_string("role", user_err("{\"name\": \"ann\", \"role\": \"boss\"}",
	    NULL), "an unknown role is refused");
	is_string("role", user_err("{\"name\": \"ann\"}", NULL),
	    "a role is required");
	is_string("name", user_err("{\"role\": \"viewer\"}", NULL),
	    "a name is required");
	is_string("name", user_err("{\"name\": \"a b\", \"role\": "
	    "\"viewer\"}", NULL), "a bad name is refused");
	is_string("email", user_err("{\"name\": \"ann\", \"role\": "
	    "\"viewer\", \"email\": \"nope\"}", NULL), "a bad email");
	is_string("bogus", user_err("{\"name\": \"ann\", \"role\": "
	    "\"viewer\", \"bogus\": 1}", NULL), "an unknown field");
	is_string("name", user_err("{\"name\": \"bob\", \"role\": "
	    "\"viewer\"}", "ann"), "the name of the path wins; another is "
	    "refused");
	is_string("", user_err("{\"role\": \"viewer\"}", "ann"),
	    "the path gives the name");

	def = J("{\"name\": \"ann\", \"role\": \"editor\"}");
	v = users_user_make(def, NULL, 1000, &err);
	put(s, USERS_USER, "ann", v);
	free(v);
	json_free(def);
	def = J("{\"name\": \"bob\", \"role\": \"admin\"}");
	v = users_user_make(def, NULL, 1000, &err);
	put(s, USERS_USER, "bob", v);
	free(v);
	json_free(def);
	def = J("{\"name\": \"cy\", \"role\": \"viewer\"}");
	v = users_user_make(def, NULL, 1000, &err);
	put(s, USERS_USER, "cy", v);
	free(v);
	json_free(def);
	ok(users_reload(u) == 0, "reload");
	ok(users_user_role(u, "ann", &actor) == ROLE_EDITOR &&
	    strcmp(actor, "ann") == 0, "ann is an editor");
	ok(users_user_role(u, "bob", NULL) == ROLE_ADMIN, "bob is an admin");

	/* groups */
	is_string("", group_err(u, "{\"name\": \"ops\", \"members\": "
	    "[\"ann\", \"bob\"]}"), "a plain group");
	is_string("members[1]", group_err(u, "{\"name\": \"ops\", "
	    "\"members\": [\"ann\", \"zed\"]}"), "an unknown member");
	is_string("members[1]", group_err(u, "{\"name\": \"ops\", "
	    "\"members\": [\"ann\", \"ann\"]}"), "a member twice");
	is_string("members", group_err(u, "{\"name\": \"ops\"}"),
	    "members are required");
	is_string("rotation.every", group_err(u, "{\"name\": \"ops\", "
	    "\"rotation\": {\"every\": \"10s\", \"start\": 0, \"members\": "
	    "[\"ann\"]}}"), "a rotation shorter than a minute");
	is_string("rotation.start", group_err(u, "{\"name\": \"ops\", "
	    "\"rotation\": {\"every\": \"1d\", \"start\": \"when\", "
	    "\"members\": [\"ann\"]}}"), "a bad start");
	is_string("rotation.bogus", group_err(u, "{\"name\": \"ops\", "
	    "\"rotation\": {\"every\": \"1d\", \"start\": 0, \"bogus\": 1, "
	    "\"members\": [\"ann\"]}}"), "an unknown rotation field");
	is_string("rotation.members", group_err(u, "{\"name\": \"ops\", "
	    "\"rotation\": {\"every\": \"1d\", \"start\": 0, "
	    "\"members\": []}}"), "a rotation without members");

	def = J("{\"name\": \"oncall\", \"rotation\": {\"every\": \"7d\", "
	    "\"start\": \"2026-01-05T00:00:00Z\", \"members\": [\"bob\", "
	    "\"ann\"]}}");
	v = users_group_make(u, def, NULL, 1000, &err);
	ok(v != NULL, "a rotation group (members from the rotation)");
	stored = J(v);
	is_int(2, (int64_t)json_len(json_get(stored, "members")),
	    "... whose members are the rotation's");
	json_free(stored);
	put(s, USERS_GROUP, "oncall", v);
	free(v);
	json_free(def);
	def = J("{\"name\": \"dba\", \"members\": [\"cy\"]}");
	v = users_group_make(u, def, NULL, 1000, &err);
	put(s, USERS_GROUP, "dba", v);
	free(v);
	json_free(def);

	/* assignment names */
	if (util_parse_time_ms("2026-01-05T00:00:00Z", 20, &start) == -1)
		bail("time");
	txn = store_read(s);
	is_int(0, users_resolve_assignee(txn, "group:oncall", start, out,
	    sizeof out), "a rotation group resolves");
	is_string("bob", out, "... to bob in the first week");
	users_resolve_assignee(txn, "group:oncall", start + 7 * DAY, out,
	    sizeof out);
	is_string("ann", out, "... to ann in the second");
	users_resolve_assignee(txn, "group:oncall", start + 14 * DAY + 1,
	    out, sizeof out);
	is_string("bob", out, "... to bob in the third");
	is_int(0, users_resolve_assignee(txn, "group:dba", start, out,
	    sizeof out), "a plain group resolves");
	is_string("group:dba", out, "... to itself");
	is_int(1, users_resolve_assignee(txn, "group:nope", start, out,
	    sizeof out), "an unknown group: 1");
	is_string("group:nope", out, "... and the name as given");
	is_int(0, users_resolve_assignee(txn, "cy", start, out, sizeof out),
	    "a user resolves");
	is_string("cy", out, "... to the user");
	is_int(1, users_resolve_assignee(txn, "zed", start, out, sizeof out),
	    "an unknown user: 1");
	store_done(txn);

	/* keys */
	is_string("name", key_err(u, cfg, "{\"name\": \"ops\", \"role\": "
	    "\"viewer\"}"), "the name of a config key is taken");
	is_string("role", key_err(u, cfg, "{\"name\": \"k1\"}"),
	    "a key without a user needs a role");
	is_string("role", key_err(u, cfg, "{\"name\": \"k1\", \"role\": "
	    "\"admin\", \"user\": \"ann\"}"), "no more than the user's role");
	is_string("user", key_err(u, cfg, "{\"name\": \"k1\", \"role\": "
	    "\"viewer\", \"user\": \"zed\"}"), "an unknown user");
	is_string("secret", key_err(u, cfg, "{\"name\": \"k1\", \"role\": "
	    "\"viewer\", \"secret\": \"x\"}"), "no secret may be chosen");

	def = J("{\"name\": \"ci\", \"user\": \"ann\"}");
	v = users_key_make(u, cfg, def, 1000, secret, &err);
	json_free(def);
	ok(v != NULL, "a key for ann");
	ok(strncmp(secret, USERS_KEY_PREFIX, 5) == 0 &&
	    strlen(secret) == USERS_KEY_SECRET_LEN, "the secret: 411k_ and "
	    "64 hex digits");
	ok(strstr(v, secret + 5) == NULL, "the stored JSON has no secret");
	util_sha256(secret, strlen(secret), hash);
	util_hex(hash, sizeof hash, hex);
	stored = J(v);
	is_string(hex, json_str(json_get(stored, "sha256")),
	    "... only its SHA-256");
	is_string("editor", json_str(json_get(stored, "role")),
	    "... and the user's role");
	json_free(stored);
	put(s, USERS_KEY, "ci", v);
	free(v);
	def = J("{\"name\": \"bot\", \"role\": \"viewer\"}");
	v = users_key_make(u, cfg, def, 1000, other, &err);
	json_free(def);
	put(s, USERS_KEY, "bot", v);
	free(v);
	ok(strcmp(secret, other) != 0, "two keys, two secrets");
	ok(users_key_role(u, secret, &actor) == ROLE_NONE,
	    "not known before the cache is read again");
	users_reload(u);
	actor = NULL;
	ok(users_key_role(u, secret, &actor) == ROLE_EDITOR,
	    "ann's key is an editor's");
	is_string("ann", actor, "... and acts as ann");
	ok(users_key_role(u, other, &actor) == ROLE_VIEWER,
	    "the bot's key is a viewer's");
	is_string("bot", actor, "... and acts as bot");
	def = J("{\"name\": \"ann\", \"role\": \"viewer\"}");
	v = users_user_make(def, NULL, 1000, &err);
	put(s, USERS_USER, "ann", v);
	free(v);
	json_free(def);
	users_reload(u);
	ok(users_key_role(u, secret, &actor) == ROLE_VIEWER,
	    "ann made a viewer: her key is a viewer's too");
	secret[10] ^= 1;
	ok(users_key_role(u, secret, &actor) == ROLE_NONE,
	    "one character off: no role");
	secret[10] ^= 1;
	ok(users_key_role(u, "", &actor) == ROLE_NONE, "empty: no role");
	put(s, USERS_KEY, "ci", NULL);
	users_reload(u);
	ok(users_key_role(u, secret, &actor) == ROLE_NONE,
	    "revoked: no role");
	ok(users_key_role(u, other, &actor) == ROLE_VIEWER,
	    "the other key still works");

	users_free(u);
	users_free(NULL);
	store_close(s);
	event_base_free(base);
	config_free(cfg);
	free(dir);
}

int
main(void)
{
	plan(8 + 12 + 56);
	test_names();
	test_rotation();
	test_store();
	return (test_done());
}
