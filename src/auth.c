/*
 * auth.c -- API keys and roles.
 *
 * A request presents "Authorization: Bearer KEY" or "X-API-Key: KEY".  The
 * key is compared with every configured key in constant time (a hash of
 * each side, compared with CRYPTO_memcmp), so neither the position of a
 * difference nor which key matched shows in the timing.
 */
#include "autoconf.h"

#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "auth.h"
#include "config.h"
#include "util.h"

/* The role of the key a request presents, or ROLE_NONE. */
enum role
auth_role(const struct config *cfg, const struct evkeyvalq *hdrs,
    const char **actor)
{
	const char	*h, *key = NULL;
	enum role	 role = ROLE_NONE;
	size_t		 i;
	int		 match;

	*actor = NULL;
	h = evhttp_find_header(hdrs, "Authorization");
	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		key = h + 7;
		while (*key == ' ')
			key++;
	}
	if (key == NULL || *key == '\0')
		key = evhttp_find_header(hdrs, "X-API-Key");
	if (key == NULL || *key == '\0')
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
