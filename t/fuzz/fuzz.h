/*
 * fuzz.h -- what the libFuzzer targets of t/fuzz share.
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput for one parser that
 * takes outside input.  Built only with ./configure --enable-fuzz
 * CC=clang and `make fuzz`; run with contrib/fuzz.
 */
#ifndef FUZZ_FUZZ_H
#define FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

/* A NUL-terminated copy of the input (the caller frees it). */
static inline char *
fuzz_str(const uint8_t *data, size_t len)
{
	char	*s = malloc(len + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, len);
	s[len] = '\0';
	return (s);
}

/*
 * Split the input at the first "\n--\n" (or the end): the first part in
 * *a (NUL-terminated copy), the rest in *b.  The caller frees both.
 */
static inline void
fuzz_split(const uint8_t *data, size_t len, char **a, size_t *alen,
    char **b, size_t *blen)
{
	const uint8_t	*p = NULL;
	size_t		 i;

	for (i = 0; i + 4 <= len; i++)
		if (memcmp(data + i, "\n--\n", 4) == 0) {
			p = data + i;
			break;
		}
	if (p == NULL) {
		*a = fuzz_str(data, len);
		*alen = len;
		*b = fuzz_str((const uint8_t *)"", 0);
		*blen = 0;
		return;
	}
	*alen = (size_t)(p - data);
	*a = fuzz_str(data, *alen);
	*blen = len - *alen - 4;
	*b = fuzz_str(p + 4, *blen);
}

#endif
