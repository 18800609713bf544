/*
 * buf.c -- a growable byte buffer.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

/* Make room for n more bytes (and the terminator). */
void
buf_reserve(struct buf *b, size_t n)
{
	size_t	 want;

	if (b->b_len + n + 1 <= b->b_size)
		return;
	want = b->b_size == 0 ? 64 : b->b_size;
	while (want < b->b_len + n + 1) {
		if (want > SIZE_MAX / 2)
			fatalx("buf_reserve: %zu bytes", b->b_len + n);
		want *= 2;
	}
	b->b_data = xrealloc(b->b_data, want);
	b->b_size = want;
	b->b_data[b->b_len] = '\0';	/* keep the invariant of buf.h */
}

/* Append n bytes. */
void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n > 0)
		memcpy(b->b_data + b->b_len, p, n);
	b->b_len += n;
	b->b_data[b->b_len] = '\0';
}

/* Append a NUL-terminated string. */
void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Append one byte. */
void
buf_addc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->b_data[b->b_len++] = c;
	b->b_data[b->b_len] = '\0';
}

/* Append formatted text. */
void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	buf_reserve(b, 64);
	va_start(ap, fmt);
	n = vsnprintf(b->b_data + b->b_len, b->b_size - b->b_len, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("buf_printf: bad format");
	if ((size_t)n >= b->b_size - b->b_len) {
		buf_reserve(b, n);
		va_start(ap, fmt);
		vsnprintf(b->b_data + b->b_len, b->b_size - b->b_len, fmt, ap);
		va_end(ap);
	}
	b->b_len += n;
}

/* Forget the contents, keep the allocation. */
void
buf_reset(struct buf *b)
{
	b->b_len = 0;
	if (b->b_data != NULL)
		b->b_data[0] = '\0';
}

/* Free the allocation; the buf may be reused. */
void
buf_free(struct buf *b)
{
	free(b->b_data);
	b->b_data = NULL;
	b->b_len = b->b_size = 0;
}

/* Take the bytes (NUL-terminated, never NULL); the buf is left empty. */
char *
buf_steal(struct buf *b, size_t *lenp)
{
	char	*p;

	if (b->b_data == NULL)
		buf_reserve(b, 0);
	p = b->b_data;
	if (lenp != NULL)
		*lenp = b->b_len;
	b->b_data = NULL;
	b->b_len = b->b_size = 0;
	return (p);
}
