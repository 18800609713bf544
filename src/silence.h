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

#include <stdint.h>

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

#endif
