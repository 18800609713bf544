/*
 * silence.h -- D6 silences: for a time, new alerts that match are stored
 * but marked silenced and not sent.
 *
 * A silence has an id, matchers (on the search, the priority, the search's
 * tags and content fields), a start and an end, a creator and a comment.
 * Silences live in STORE_SILENCES (be64 id -> JSON) and, for matching, in
 * memory: loaded at start, changed through the API (api_silences.c).
 */
#ifndef PROG_SILENCE_H
#define PROG_SILENCE_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>

struct alert;
struct search;
struct silences;
struct store;

/* Load the silences of store; NULL with err on a store error. */
struct silences	*silences_new(struct store *, char *, size_t);
void		 silences_free(struct silences *);
/*
 * The id of an active silence (start <= now < end) that matches alert a
 * of search s, or 0.  Cheap enough to call for every new alert.
 */
uint64_t	 silences_match(struct silences *, const struct search *,
		    const struct alert *, int64_t);

/*
 * For the API (api_silences.c).  A silence as read from the store or
 * made by a create; freed with silence_free.
 */
struct silence;
struct json;
struct store_txn;

#define SILENCE_MAX_LIST	100	/* ids, priorities or tags */
#define SILENCE_MAX_CONTENT	32	/* content fields */
#define SILENCE_MAX_FIELD	256	/* a content field name */
#define SILENCE_MAX_VALUE	1024	/* a value or a regex */
#define SILENCE_MAX_COMMENT	1024
#define SILENCE_MAX_DURATION	(366LL * 86400 * 1000)	/* ends - starts, ms */
#define SILENCE_MAX_ACTIVE	10000	/* not yet ended, in memory */

/* States, also as a mask for listing. */
#define SILENCE_ACTIVE		0x1
#define SILENCE_PENDING		0x2
#define SILENCE_EXPIRED		0x4

/* A field-level error: se_field names the JSON path ("ends"). */
struct silence_err {
	char	 se_field[128];
	char	 se_message[256];
};

/*
 * A write is over: status 0 with the silence (borrowed for the call),
 * 1 when the id is unknown, -1 on a store failure (reason).
 */
typedef void (*silence_done_cb)(void *, int, const struct silence *,
		    const char *);

/*
 * Check a definition {"matchers", "starts"?, "ends", "comment"} made by
 * creator at now and build the silence (id 0); NULL with err filled.
 */
struct silence	*silence_from_json(const struct json *, const char *,
		    int64_t, struct silence_err *);
void		 silence_free(struct silence *);
uint64_t	 silence_id(const struct silence *);
/* SILENCE_ACTIVE, SILENCE_PENDING or SILENCE_EXPIRED at now. */
int		 silence_state(const struct silence *, int64_t);
/* Write the API form (with "state" at now). */
void		 silence_gen(yajl_gen, const struct silence *, int64_t);

/*
 * Create from a definition: check it (-1 with err, nothing written), then
 * store it through the group commit (0); done is called after the commit
 * and the silence is matched from then on.
 */
int		 silences_create(struct silences *, const struct json *,
		    const char *, int64_t, struct silence_err *,
		    silence_done_cb, void *);
/*
 * Expire silence id at now (ends = now, "expired": true; a silence that
 * has ended already is left as it is); done as for create.
 */
void		 silences_expire(struct silences *, uint64_t, int64_t,
		    silence_done_cb, void *);
/* Read silence id: 0 and a new silence, 1 if absent, -1 on error. */
int		 silences_get(struct silences *, uint64_t, struct silence **);
/*
 * List the silences whose state is in mask, newest first, with ids below
 * before (0: from the newest), at most limit, calling cb for each.  *next
 * is the cursor of the next page or 0.  Returns 0 or -1.
 */
int		 silences_list(struct silences *, int, int64_t, uint64_t,
		    size_t, void (*)(void *, const struct silence *), void *,
		    uint64_t *);
/* Number of silences in memory (not yet ended when last looked at). */
size_t		 silences_count(const struct silences *);

#endif
