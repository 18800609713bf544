/*
 * auth.h -- API keys and roles.
 */
#ifndef PROG_AUTH_H
#define PROG_AUTH_H

#include "config.h"

struct evkeyvalq;

/*
 * The role of the key a request presents ("Authorization: Bearer KEY" or
 * "X-API-Key: KEY"), compared in constant time with the config's keys.
 * Returns the role, or ROLE_NONE when no key or an unknown key was given.
 * *actor is set to the key's name (borrowed from the config).
 */
enum role	 auth_role(const struct config *, const struct evkeyvalq *,
		    const char **);

#endif
