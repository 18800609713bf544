/*
 * tap.h -- a small TAP producer for the C unit tests (after c-tap-harness).
 */
#ifndef T_TAP_H
#define T_TAP_H

#include <stddef.h>
#include <stdint.h>

#define tap_printflike(a, b) __attribute__((format(printf, a, b)))

/* Announce n tests. */
void	plan(int);
/* Skip the whole file with a reason, and exit 0. */
void	skip_all(const char *, ...) tap_printflike(1, 2)
	    __attribute__((noreturn));
/* One test: passes when cond is true.  Returns cond. */
int	ok(int, const char *, ...) tap_printflike(2, 3);
/* Compare integers. */
int	is_int(int64_t, int64_t, const char *, ...) tap_printflike(3, 4);
/* Compare strings (NULL allowed). */
int	is_string(const char *, const char *, const char *, ...)
	    tap_printflike(3, 4);
/* Compare n bytes. */
int	is_blob(const void *, const void *, size_t, const char *, ...)
	    tap_printflike(4, 5);
/* Skip n tests with a reason. */
void	skip(int, const char *, ...) tap_printflike(2, 3);
/* A diagnostic line ("# ..."). */
void	diag(const char *, ...) tap_printflike(1, 2);
/* Give up: "Bail out!" and exit 255. */
void	bail(const char *, ...) tap_printflike(1, 2) __attribute__((noreturn));
/* A fresh temporary directory for this test (removed at exit). */
const char *test_tmpdir(void);
/* Path of a file under t/ in the source tree (T_SRCDIR or "."). */
char	*test_file_path(const char *);
/* Exit status for the end of a test: 0 if every planned test passed. */
int	test_done(void);

#endif
