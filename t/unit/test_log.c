/*
 * test_log.c -- repeated log lines are summed up (issue 11, defect 4):
 * at most 10 of a kind per window, then "message repeated N more times",
 * different lines all kept, the summary at log_flush once the window is
 * over.  No timing assertion: only waits longer than a window.
 */
#include "autoconf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static char	 log_path[256];

/* What was logged so far. */
static char *
logged(void)
{
	static char	 buf[1 << 16];
	ssize_t		 n;
	int		 fd;

	if ((fd = open(log_path, O_RDONLY)) == -1)
		bail("open %s", log_path);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return (buf);
}

/* How many times needle is in the log. */
static int
count(const char *needle)
{
	const char	*p = logged();
	int		 n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return (n);
}

int
main(void)
{
	char	 name[64];
	int	 fd, i;

	plan(7);
	snprintf(log_path, sizeof log_path, "%s/log", test_tmpdir());
	if ((fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		bail("open %s", log_path);
	fflush(stderr);
	if (dup2(fd, STDERR_FILENO) == -1)
		bail("dup2");
	close(fd);
	log_init("test_log", 1, 0);

	for (i = 0; i < 1000; i++)
		log_warnx("accept: Too many open files");
	is_int(count("Z accept: Too many open files"), 10,
	    "1000 identical lines: 10 written");
	for (i = 0; i < 30; i++) {
		snprintf(name, sizeof name, "file%d.json", i);
		log_warnx("%s: not valid JSON", name);
	}
	is_int(count(": not valid JSON"), 30,
	    "30 lines that differ by a number: all written");
	usleep(1100 * 1000);
	log_flush();
	ok(count("message repeated 990 more times in ") == 1,
	    "after the window, one summary with the count");
	ok(strstr(logged(), "s: accept: Too many open files\n") != NULL,
	    "... and the text");
	log_warnx("accept: Too many open files");
	is_int(count("Z accept: Too many open files"), 11,
	    "the next window writes it again");
	log_info("something else");
	is_int(count("Z something else"), 1, "another line is written");
	usleep(2100 * 1000);
	log_flush();
	is_int(count("message repeated"), 1,
	    "no summary when nothing was held back");
	return (test_done());
}
