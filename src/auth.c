/*
 * auth.c -- API keys and roles.
 *
 * A request presents "Authorization: Bearer KEY" or "X-API-Key: KEY".  The
 * key is compared with every configured key in constant time (a hash of
 * each side, compared with CRYPTO_memcmp), so neither the position of a
 * difference nor which key matched shows in the timing.  Keys made
 * through the API are kept as SHA-256 only (users.c) and compared the same
 * way, after the config's.
 *
 * A trusted proxy (config trusted_proxy CIDR HEADER) that has
 * authenticated the user itself names them in HEADER.  The header counts
 * only when the connection comes from an address in CIDR, so a client
 * elsewhere cannot claim a user by sending it.
 */
#include "autoconf.h"

#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "auth.h"
#include "config.h"
#include "users.h"
#include "util.h"

/* The key a request presents, or NULL. */
static const char *
auth_key(const struct evkeyvalq *hdrs)
{
	const char	*h, *key = NULL;

	h = evhttp_find_header(hdrs, "Authorization");
	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		key = h + 7;
		while (*key == ' ')
			key++;
	}
	if (key == NULL || *key == '\0')
		key = evhttp_find_header(hdrs, "X-API-Key");
	if (key == NULL || *key == '\0')
		return (NULL);
	return (key);
}

/* The role of a request: trusted proxy header, config key, stored key. */
enum role
auth_request(const struct config *cfg, const struct users *u,
    const char *peer, const struct evkeyvalq *hdrs, const char **actor,
    const char **via)
{
	const char	*hname, *user, *key;
	enum role	 role;

	*actor = NULL;
	*via = "key";
	if (cfg->c_nproxies > 0 &&
	    (hname = config_proxy_header(cfg, peer)) != NULL &&
	    (user = evhttp_find_header(hdrs, hname)) != NULL) {
		*via = "proxy";
		return (users_user_role(u, user, actor));
	}
	if ((role = auth_role(cfg, hdrs, actor)) != ROLE_NONE)
		return (role);
	if ((key = auth_key(hdrs)) == NULL)
		return (ROLE_NONE);
	return (users_key_role(u, key, actor));
}

/* The role of the key a request presents, or ROLE_NONE. */
enum role
auth_role(const struct config *cfg, const struct evkeyvalq *hdrs,
    const char **actor)
{
	const char	*key;
	enum role	 role = ROLE_NONE;
	size_t		 i;
	int		 match;

	*actor = NULL;
	if ((key = auth_key(hdrs)) == NULL)
		return (ROLE_NONE);
	for (i = 0; i < cfg->c_nkeys; i++) {
		match = util_secure_equal(cfg->c_keys[i].ck_key, key);
		if (match && role == ROLE_NONE) {
			role = cfg->c_keys[i].ck_role;
			*actor = cfg->c_keys[i].ck_name;
		}
	}
	return (role);
}
