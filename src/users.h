/*
 * users.h -- F2: users, groups (incl. rotation groups) and API keys made
 * through the API, kept in STORE_USERS.  (The implementation is users.c;
 * the routes are in api_admin.c.)
 */
#ifndef PROG_USERS_H
#define PROG_USERS_H

#include <stddef.h>
#include <stdint.h>

struct store_txn;

/*
 * Who an assignment names, at time now (ms): "group:NAME" of a rotation
 * group becomes the user on duty ("alice"); a plain group stays
 * "group:NAME"; a user stays the user.  Writes the result into out.
 * Returns 0, 1 when the user or group does not exist (out is then the
 * name as given), or -1 on a store error.
 */
int		 users_resolve_assignee(struct store_txn *, const char *,
		    int64_t, char *, size_t);

#endif
