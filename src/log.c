/*
 * log.c -- logging to stderr (foreground) or syslog, after OpenBSD httpd.
 *
 * In the foreground every line is timestamped and written to stderr in one
 * write, so lines from children and parents do not interleave.
 */
#include "autoconf.h"

#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

static int	log_fg = 1;
static int	log_verb;

static void	log_vwrite(int, const char *, va_list) printflike(2, 0);
static void	log_event_cb(int, const char *);

/* Start logging: to stderr when foreground, else to syslog as ident. */
void
log_init(const char *ident, int foreground, int verbose)
{
	log_fg = foreground;
	log_verb = verbose;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

/* The verbosity given to log_init (or set later). */
int
log_verbose(void)
{
	return (log_verb);
}

/* Change the verbosity. */
void
log_set_verbose(int v)
{
	log_verb = v;
}

/* Write one line at a syslog priority. */
static void
log_vwrite(int pri, const char *fmt, va_list ap)
{
	char		 line[2048], ts[32];
	struct timeval	 tv;
	struct tm	 tm;
	int		 n, m;

	if (!log_fg) {
		vsyslog(pri, fmt, ap);
		return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof line, "%s.%03dZ ", ts,
	    (int)(tv.tv_usec / 1000));
	m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	(void)write(STDERR_FILENO, line, n);
}

/* A warning with strerror(errno) appended. */
void
log_warn(const char *fmt, ...)
{
	char	 buf[1536];
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_warnx("%s: %s", buf, strerror(saved));
	errno = saved;
}

/* A warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, fmt, ap);
	va_end(ap);
}

/* Information: shown by default. */
void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, fmt, ap);
	va_end(ap);
}

/* Debugging: shown with -v. */
void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verb < 1)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* Log a critical error with strerror(errno) and exit 1. */
void
fatal(const char *fmt, ...)
{
	char	 buf[1536];
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_warnx("fatal: %s: %s", buf, strerror(saved));
	exit(1);
}

/* Log a critical error and exit 1. */
void
fatalx(const char *fmt, ...)
{
	char	 buf[1536];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_warnx("fatal: %s", buf);
	exit(1);
}

/* libevent's messages: warnings and errors always, debug with -vv. */
static void
log_event_cb(int severity, const char *msg)
{
	if (severity == EVENT_LOG_DEBUG) {
		if (log_verb > 1)
			log_debug("libevent: %s", msg);
		return;
	}
	log_warnx("libevent: %s", msg);
}

/* Route libevent's own messages through us. */
void
log_libevent(void)
{
	event_set_log_callback(log_event_cb);
}
