/*
 * hmap.h -- a hash map from byte-string keys to pointers.
 *
 * Keys are copied in; values are borrowed (the map never frees them).
 */
#ifndef PROG_HMAP_H
#define PROG_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap;

struct hmap_iter {
	size_t	 hi_pos;
};

struct hmap	*hmap_new(void);
/* Free the map and its key copies (not the values); accepts NULL. */
void		 hmap_free(struct hmap *);
/* The value for key, or NULL. */
void		*hmap_get(const struct hmap *, const void *, size_t);
/* Set key to value (replacing); returns the old value or NULL. */
void		*hmap_put(struct hmap *, const void *, size_t, void *);
/* Remove key; returns its value or NULL. */
void		*hmap_del(struct hmap *, const void *, size_t);
size_t		 hmap_count(const struct hmap *);
/* Walk: start with {0}; returns 0 at the end.  Do not modify while walking. */
int		 hmap_next(const struct hmap *, struct hmap_iter *,
		    const void **, size_t *, void **);
/* Convenience for 64-bit integer keys. */
void		*hmap_get64(const struct hmap *, uint64_t);
void		*hmap_put64(struct hmap *, uint64_t, void *);
void		*hmap_del64(struct hmap *, uint64_t);

#endif
