/*
 * hmap.c -- a hash map from byte-string keys to pointers.
 *
 * Open addressing with linear probing and tombstones; the table doubles
 * when three quarters full (counting tombstones).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "util.h"
#include "xmalloc.h"

#define HMAP_TOMB	((char *)&hmap_tomb)

struct hmap_slot {
	char		*s_key;		/* NULL = empty, HMAP_TOMB = deleted */
	size_t		 s_klen;
	uint64_t	 s_hash;
	void		*s_val;
};

struct hmap {
	struct hmap_slot *h_slots;
	size_t		 h_size;	/* power of two */
	size_t		 h_count;	/* live keys */
	size_t		 h_used;	/* live keys + tombstones */
};

static char	hmap_tomb;

static void	hmap_grow(struct hmap *, size_t);

/* A new empty map. */
struct hmap *
hmap_new(void)
{
	struct hmap	*h;

	h = xcalloc(1, sizeof *h);
	h->h_size = 16;
	h->h_slots = xcalloc(h->h_size, sizeof *h->h_slots);
	return (h);
}

/* Free the map and its key copies (not the values); accepts NULL. */
void
hmap_free(struct hmap *h)
{
	size_t	 i;

	if (h == NULL)
		return;
	for (i = 0; i < h->h_size; i++) {
		if (h->h_slots[i].s_key != NULL &&
		    h->h_slots[i].s_key != HMAP_TOMB)
			free(h->h_slots[i].s_key);
	}
	free(h->h_slots);
	free(h);
}

/* The slot holding key, or NULL. */
static struct hmap_slot *
hmap_find(const struct hmap *h, const void *key, size_t klen, uint64_t hash)
{
	size_t			 i, mask = h->h_size - 1;
	struct hmap_slot	*s;

	for (i = hash & mask;; i = (i + 1) & mask) {
		s = &h->h_slots[i];
		if (s->s_key == NULL)
			return (NULL);
		if (s->s_key != HMAP_TOMB && s->s_hash == hash &&
		    s->s_klen == klen && memcmp(s->s_key, key, klen) == 0)
			return (s);
	}
}

/* Rebuild the table with size slots. */
static void
hmap_grow(struct hmap *h, size_t size)
{
	struct hmap_slot	*old = h->h_slots, *s;
	size_t			 oldsize = h->h_size, i, j, mask;

	h->h_slots = xcalloc(size, sizeof *h->h_slots);
	h->h_size = size;
	h->h_used = h->h_count;
	mask = size - 1;
	for (i = 0; i < oldsize; i++) {
		if (old[i].s_key == NULL || old[i].s_key == HMAP_TOMB)
			continue;
		for (j = old[i].s_hash & mask;; j = (j + 1) & mask) {
			s = &h->h_slots[j];
			if (s->s_key == NULL) {
				*s = old[i];
				break;
			}
		}
	}
	free(old);
}

/* The value for key, or NULL. */
void *
hmap_get(const struct hmap *h, const void *key, size_t klen)
{
	struct hmap_slot	*s;

	s = hmap_find(h, key, klen, util_hash(key, klen));
	return (s == NULL ? NULL : s->s_val);
}

/* Set key to value (replacing); returns the old value or NULL. */
void *
hmap_put(struct hmap *h, const void *key, size_t klen, void *val)
{
	struct hmap_slot	*s, *tomb = NULL;
	uint64_t		 hash = util_hash(key, klen);
	size_t			 i, mask;
	void			*old;

	if ((s = hmap_find(h, key, klen, hash)) != NULL) {
		old = s->s_val;
		s->s_val = val;
		return (old);
	}
	if ((h->h_used + 1) * 4 > h->h_size * 3)
		hmap_grow(h, h->h_count * 2 + 1 > h->h_size / 2 ?
		    h->h_size * 2 : h->h_size);
	mask = h->h_size - 1;
	for (i = hash & mask;; i = (i + 1) & mask) {
		s = &h->h_slots[i];
		if (s->s_key == HMAP_TOMB && tomb == NULL)
			tomb = s;
		if (s->s_key == NULL)
			break;
	}
	if (tomb != NULL)
		s = tomb;
	else
		h->h_used++;
	s->s_key = xmemdup(key, klen);
	s->s_klen = klen;
	s->s_hash = hash;
	s->s_val = val;
	h->h_count++;
	return (NULL);
}

/* Remove key; returns its value or NULL. */
void *
hmap_del(struct hmap *h, const void *key, size_t klen)
{
	struct hmap_slot	*s;
	void			*old;

	if ((s = hmap_find(h, key, klen, util_hash(key, klen))) == NULL)
		return (NULL);
	old = s->s_val;
	free(s->s_key);
	s->s_key = HMAP_TOMB;
	s->s_val = NULL;
	h->h_count--;
	return (old);
}

/* Number of live keys. */
size_t
hmap_count(const struct hmap *h)
{
	return (h->h_count);
}

/* Walk the map; returns 0 at the end. */
int
hmap_next(const struct hmap *h, struct hmap_iter *it, const void **key,
    size_t *klen, void **val)
{
	struct hmap_slot	*s;

	while (it->hi_pos < h->h_size) {
		s = &h->h_slots[it->hi_pos++];
		if (s->s_key == NULL || s->s_key == HMAP_TOMB)
			continue;
		if (key != NULL)
			*key = s->s_key;
		if (klen != NULL)
			*klen = s->s_klen;
		if (val != NULL)
			*val = s->s_val;
		return (1);
	}
	return (0);
}

/* Integer-key wrappers. */
void *
hmap_get64(const struct hmap *h, uint64_t k)
{
	return (hmap_get(h, &k, sizeof k));
}

void *
hmap_put64(struct hmap *h, uint64_t k, void *v)
{
	return (hmap_put(h, &k, sizeof k, v));
}

void *
hmap_del64(struct hmap *h, uint64_t k)
{
	return (hmap_del(h, &k, sizeof k));
}
