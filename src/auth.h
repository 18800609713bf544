/*
 * auth.h -- API keys and roles.
 */
#ifndef PROG_AUTH_H
#define PROG_AUTH_H

#include "config.h"

struct evkeyvalq;
struct users;

/*
 * The role of the key a request presents ("Authorization: Bearer KEY" or
 * "X-API-Key: KEY"), compared in constant time with the config's keys.
 * Returns the role, or ROLE_NONE when no key or an unknown key was given.
 * *actor is set to the key's name (borrowed from the config).
 */
enum role	 auth_role(const struct config *, const struct evkeyvalq *,
		    const char **);

/*
 * The role of a request, and in *actor who makes it (borrowed until the
 * next change of the config or of users):
 *  - when peer (the client's address as text) is in a trusted_proxy
 *    network and that line's header is present, the user it names, with
 *    that user's role (ROLE_NONE when no such user);
 *  - else a key of the config (auth_role), else a key made through the
 *    API (users_key_role).
 * ROLE_NONE when nothing matches.  *via says how: "proxy" or "key".
 */
enum role	 auth_request(const struct config *, const struct users *,
		    const char *, const struct evkeyvalq *, const char **,
		    const char **);

#endif
