/*
 * tap.c -- a small TAP producer for the C unit tests (after c-tap-harness).
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

static int	 tap_planned = -1;
static int	 tap_run;
static int	 tap_failed;
static char	*tap_tmpdir;

static void	 tap_cleanup(void);

/* Announce n tests. */
void
plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
	atexit(tap_cleanup);
}

/* Skip the whole file with a reason, and exit 0. */
void
skip_all(const char *fmt, ...)
{
	va_list	 ap;

	printf("1..0 # SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(0);
}

/* Print the result line of one test. */
static int
tap_result(int cond, const char *fmt, va_list ap)
{
	tap_run++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	return (cond);
}

/* One test: passes when cond is true. */
int
ok(int cond, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	tap_result(cond, fmt, ap);
	va_end(ap);
	return (cond);
}

/* Compare integers. */
int
is_int(int64_t want, int64_t got, const char *fmt, ...)
{
	va_list	 ap;
	int	 cond = want == got;

	va_start(ap, fmt);
	tap_result(cond, fmt, ap);
	va_end(ap);
	if (!cond)
		diag("wanted: %lld\n#      got: %lld", (long long)want,
		    (long long)got);
	return (cond);
}

/* Compare strings (NULL allowed). */
int
is_string(const char *want, const char *got, const char *fmt, ...)
{
	va_list	 ap;
	int	 cond;

	if (want == NULL || got == NULL)
		cond = want == got;
	else
		cond = strcmp(want, got) == 0;
	va_start(ap, fmt);
	tap_result(cond, fmt, ap);
	va_end(ap);
	if (!cond)
		diag("wanted: %s\n#      got: %s", want ? want : "(null)",
		    got ? got : "(null)");
	return (cond);
}

/* Compare n bytes. */
int
is_blob(const void *want, const void *got, size_t n, const char *fmt, ...)
{
	va_list	 ap;
	int	 cond = memcmp(want, got, n) == 0;

	va_start(ap, fmt);
	tap_result(cond, fmt, ap);
	va_end(ap);
	return (cond);
}

/* Skip n tests with a reason. */
void
skip(int n, const char *fmt, ...)
{
	va_list	 ap;

	while (n-- > 0) {
		tap_run++;
		printf("ok %d # skip ", tap_run);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
}

/* A diagnostic line. */
void
diag(const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	fprintf(stderr, "# ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* Give up. */
void
bail(const char *fmt, ...)
{
	va_list	 ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(255);
}

/* Remove the temporary directory at exit. */
static void
tap_cleanup(void)
{
	char	*cmd;

	if (tap_tmpdir != NULL && getenv("T_KEEP") == NULL) {
		if (asprintf(&cmd, "rm -rf '%s'", tap_tmpdir) > 0) {
			if (system(cmd) != 0)
				fprintf(stderr, "# could not remove %s\n",
				    tap_tmpdir);
			free(cmd);
		}
	}
	free(tap_tmpdir);
	tap_tmpdir = NULL;
}

/* A fresh temporary directory for this test. */
const char *
test_tmpdir(void)
{
	char	 tmpl[] = "/tmp/411-test.XXXXXX";

	if (tap_tmpdir == NULL) {
		if (mkdtemp(tmpl) == NULL)
			bail("mkdtemp failed");
		tap_tmpdir = strdup(tmpl);
	}
	return (tap_tmpdir);
}

/* Path of a file under t/ in the source tree. */
char *
test_file_path(const char *name)
{
	const char	*src = getenv("T_SRCDIR");
	char		*p;

	if (src == NULL)
		src = ".";
	if (asprintf(&p, "%s/t/%s", src, name) < 0)
		bail("asprintf");
	return (p);
}

/* Exit status for the end of a test. */
int
test_done(void)
{
	if (tap_planned >= 0 && tap_run != tap_planned) {
		diag("planned %d tests but ran %d", tap_planned, tap_run);
		return (1);
	}
	return (tap_failed > 0 ? 1 : 0);
}
