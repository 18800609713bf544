/*
 * xmalloc.h -- allocation that never returns NULL (after tmux).
 */
#ifndef PROG_XMALLOC_H
#define PROG_XMALLOC_H

#include <stddef.h>

#include "log.h"

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
/* Copy n bytes of s and NUL-terminate (s need not be terminated). */
char	*xstrndup(const char *, size_t);
/* Copy n bytes into a new buffer (no terminator added). */
void	*xmemdup(const void *, size_t);
int	 xasprintf(char **, const char *, ...) printflike(2, 3);
/* Like xasprintf, returning the string. */
char	*xprintf(const char *, ...) printflike(1, 2);

#endif
