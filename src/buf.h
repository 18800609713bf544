/*
 * buf.h -- a growable byte buffer.
 */
#ifndef PROG_BUF_H
#define PROG_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct buf {
	char	*b_data;	/* bytes, always NUL-terminated when non-NULL */
	size_t	 b_len;		/* bytes used, not counting the NUL */
	size_t	 b_size;	/* bytes allocated */
};

#define BUF_INIT { NULL, 0, 0 }

/* Make room for n more bytes. */
void	 buf_reserve(struct buf *, size_t);
/* Append n bytes. */
void	 buf_add(struct buf *, const void *, size_t);
/* Append a NUL-terminated string. */
void	 buf_adds(struct buf *, const char *);
/* Append one byte. */
void	 buf_addc(struct buf *, char);
/* Append formatted text. */
void	 buf_printf(struct buf *, const char *, ...) printflike(2, 3);
/* Forget the contents, keep the allocation. */
void	 buf_reset(struct buf *);
/* Free the allocation; the buf may be reused. */
void	 buf_free(struct buf *);
/* Take the bytes (NUL-terminated, never NULL); the buf is left empty. */
char	*buf_steal(struct buf *, size_t *);

#endif
