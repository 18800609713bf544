/*
 * users.h -- F2: users, groups (incl. rotation groups) and API keys made
 * through the API, kept in STORE_USERS.  (The implementation is users.c;
 * the routes are in api_admin.c.)
 */
#ifndef PROG_USERS_H
#define PROG_USERS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct json;
struct store;
struct store_txn;
struct users;

/* Kinds of entries in STORE_USERS: the first byte of the key. */
#define USERS_USER	'u'
#define USERS_GROUP	'g'
#define USERS_KEY	'k'

#define USERS_NAME_MAX		64	/* characters of a name */
#define USERS_MEMBERS_MAX	100	/* members of a group */
#define USERS_KEY_PREFIX	"411k_"	/* what every made key starts with */
#define USERS_KEY_SECRET_LEN	(5 + 64)	/* prefix and 32 bytes hex */

/* Why a definition is refused: the field and a message. */
struct users_err {
	char	 ue_field[64];
	char	 ue_message[256];
};

/*
 * Who an assignment names, at time now (ms): "group:NAME" of a rotation
 * group becomes the user on duty ("alice"); a plain group stays
 * "group:NAME"; a user stays the user.  Writes the result into out.
 * Returns 0, 1 when the user or group does not exist (out is then the
 * name as given), or -1 on a store error.
 */
int		 users_resolve_assignee(struct store_txn *, const char *,
		    int64_t, char *, size_t);

/*
 * The member of a rotation ({"every", "start", "members"}) on duty at now
 * (ms): members take turns of "every", the first from "start".  Before
 * start the first member is on duty.  Returns a borrowed name, or NULL
 * when rotation is not a valid rotation.
 */
const char	*users_on_duty(const struct json *, int64_t);

/* Whether s is a valid user, group or key name. */
int		 users_name_ok(const char *);

/*
 * Check a user definition {"name", "role", "email"} (name may be given by
 * the path instead: then a name in def must be the same).  Returns the
 * JSON to store (with "created"), or NULL with err.
 */
char		*users_user_make(const struct json *, const char *, int64_t,
		    struct users_err *);
/*
 * Check a group definition {"name", "members", "rotation"}; members must
 * be known users of u.  Returns the JSON to store, or NULL with err.
 */
char		*users_group_make(const struct users *, const struct json *,
		    const char *, int64_t, struct users_err *);
/*
 * Check a key request {"name", "role", "user"} and make a key: the secret
 * is written into secret (USERS_KEY_SECRET_LEN + 1 bytes) and only its
 * SHA-256 goes into the returned JSON to store.  NULL with err.
 */
char		*users_key_make(const struct users *, const struct config *,
		    const struct json *, int64_t, char *, struct users_err *);

/* Write the key of an entry of STORE_USERS into key; returns its length. */
size_t		 users_store_key(int, const char *, uint8_t *);

/* The cache of users and keys (read at start, again after each change). */
struct users	*users_new(struct store *);
void		 users_free(struct users *);
/* Read the store again.  Returns 0 or -1 (the old cache stays). */
int		 users_reload(struct users *);
/*
 * The role of the stored key whose secret is given (compared as SHA-256 in
 * constant time), or ROLE_NONE; a key made for a user has at most the
 * user's role of now.  *actor: the key's user, or its name
 * (borrowed until the next reload).
 */
enum role	 users_key_role(const struct users *, const char *,
		    const char **);
/* The role of user name, or ROLE_NONE; *actor as above. */
enum role	 users_user_role(const struct users *, const char *,
		    const char **);

#endif
