/*
 * log.c -- logging to stderr (foreground) or syslog, after OpenBSD httpd.
 *
 * In the foreground every line is timestamped and written to stderr in one
 * write, so lines from children and parents do not interleave.
 *
 * Repeated lines are rate-limited: lines of one kind (the same priority
 * and the same text; lines that differ, if only by a line number or a
 * file name, say different things and are all kept) are written at most
 * LOG_RL_BURST times in a window; the rest are counted and summed up in
 * one line, "message repeated N more times in Ts: TEXT", when the window
 * is over (at the next line of that kind, at log_flush, which the API
 * calls each second, or at exit).  A window that had to hold lines back
 * makes the next one twice as long, up to LOG_RL_WINDOW_MAX_MS, so a
 * flood that goes on writes a few lines a minute; a quiet window brings
 * it back to LOG_RL_WINDOW_MS.  Fatal errors are never held back.
 */
#include "autoconf.h"

#include <sys/time.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

#define LOG_RL_SLOTS		16	/* kinds of lines followed */
#define LOG_RL_BURST		10	/* lines of a kind in a window */
#define LOG_RL_WINDOW_MS	1000
#define LOG_RL_WINDOW_MAX_MS	60000
#define LOG_RL_TEXT		200	/* bytes of the text in a summary */

/* One kind of line being followed. */
struct log_rl {
	uint64_t	 rl_key;	/* 0: a free slot */
	int64_t		 rl_start;	/* window start, ms (monotonic) */
	int64_t		 rl_len;	/* window length, ms */
	int64_t		 rl_seen;	/* last line, ms */
	unsigned	 rl_lines;	/* written in this window */
	uint64_t	 rl_held;	/* held back in this window */
	int		 rl_pri;
	char		 rl_text[LOG_RL_TEXT + 1];	/* last held */
};

static int		log_fg = 1;
static int		log_verb;
static struct log_rl	log_rls[LOG_RL_SLOTS];

static void	log_vwrite(int, const char *, va_list) printflike(2, 0);
static void	log_event_cb(int, const char *);
static int64_t	log_now_ms(void);
static void	log_rl_summary(struct log_rl *, int64_t);
static void	log_fatal_out(const char *, ...) printflike(1, 2);

/* At exit: the summaries still held, windows over or not. */
static void
log_exit(void)
{
	int64_t	 now = log_now_ms();
	size_t	 i;

	for (i = 0; i < LOG_RL_SLOTS; i++)
		log_rl_summary(&log_rls[i], now);
}

/* Start logging: to stderr when foreground, else to syslog as ident. */
void
log_init(const char *ident, int foreground, int verbose)
{
	static int	 registered;

	if (!registered++)
		atexit(log_exit);
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

/* Write one line (no newline) at a syslog priority. */
static void
log_out(int pri, const char *msg)
{
	char		 line[2048], ts[32];
	struct timeval	 tv;
	struct tm	 tm;
	int		 n;

	if (!log_fg) {
		syslog(pri, "%s", msg);
		return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof line, "%s.%03dZ %s", ts,
	    (int)(tv.tv_usec / 1000), msg);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	(void)write(STDERR_FILENO, line, n);
}

/* Milliseconds on the monotonic clock. */
static int64_t
log_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* The kind of a line: FNV-1a of the priority and the text. */
static uint64_t
log_rl_key(int pri, const char *msg)
{
	uint64_t	 h = 1469598103934665603ULL;

	h = (h ^ (unsigned)pri) * 1099511628211ULL;
	for (; *msg != '\0'; msg++)
		h = (h ^ (unsigned char)*msg) * 1099511628211ULL;
	return (h == 0 ? 1 : h);
}

/* Write the summary of a window's suppressed lines, if any. */
static void
log_rl_summary(struct log_rl *rl, int64_t now)
{
	char	 msg[LOG_RL_TEXT + 128];

	if (rl->rl_held == 0)
		return;
	snprintf(msg, sizeof msg, "message repeated %llu more times in "
	    "%llds: %s", (unsigned long long)rl->rl_held,
	    (long long)((now - rl->rl_start + 999) / 1000), rl->rl_text);
	log_out(rl->rl_pri, msg);
	rl->rl_held = 0;
}

/* End a slot's window at now: sum it up, and size the next one. */
static void
log_rl_roll(struct log_rl *rl, int64_t now)
{
	if (rl->rl_held > 0) {
		log_rl_summary(rl, now);
		rl->rl_len *= 2;
		if (rl->rl_len > LOG_RL_WINDOW_MAX_MS)
			rl->rl_len = LOG_RL_WINDOW_MAX_MS;
	} else
		rl->rl_len = LOG_RL_WINDOW_MS;
	rl->rl_start = now;
	rl->rl_lines = 0;
}

/* Whether a line may be written now (else it is counted). */
static int
log_rl_pass(int pri, const char *msg)
{
	struct log_rl	*rl, *old = NULL;
	uint64_t	 key = log_rl_key(pri, msg);
	int64_t		 now = log_now_ms();
	size_t		 i;

	for (i = 0; i < LOG_RL_SLOTS; i++) {
		rl = &log_rls[i];
		if (rl->rl_key == key)
			break;
		if (old == NULL || rl->rl_key == 0 ||
		    (old->rl_key != 0 && rl->rl_seen < old->rl_seen))
			old = rl;
	}
	if (i == LOG_RL_SLOTS) {
		rl = old;
		if (rl->rl_key != 0)
			log_rl_summary(rl, now);
		memset(rl, 0, sizeof *rl);
		rl->rl_key = key;
		rl->rl_pri = pri;
		rl->rl_start = now;
		rl->rl_len = LOG_RL_WINDOW_MS;
	} else if (now - rl->rl_start >= rl->rl_len)
		log_rl_roll(rl, now);
	rl->rl_seen = now;
	if (rl->rl_lines < LOG_RL_BURST) {
		rl->rl_lines++;
		return (1);
	}
	rl->rl_held++;
	snprintf(rl->rl_text, sizeof rl->rl_text, "%s", msg);
	return (0);
}

/* Write the summaries of the windows that are over. */
void
log_flush(void)
{
	struct log_rl	*rl;
	int64_t		 now = log_now_ms();
	size_t		 i;

	for (i = 0; i < LOG_RL_SLOTS; i++) {
		rl = &log_rls[i];
		if (rl->rl_key != 0 && rl->rl_held > 0 &&
		    now - rl->rl_start >= rl->rl_len)
			log_rl_roll(rl, now);
	}
}

/* Write one line at a syslog priority, unless it is one too many. */
static void
log_vwrite(int pri, const char *fmt, va_list ap)
{
	char	 msg[2000];

	if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
		msg[0] = '\0';
	if (log_rl_pass(pri, msg))
		log_out(pri, msg);
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

/* A fatal error's line: never held back; the summaries first. */
static void
log_fatal_out(const char *fmt, ...)
{
	char	 msg[2000];
	va_list	 ap;
	size_t	 i;

	for (i = 0; i < LOG_RL_SLOTS; i++)
		log_rl_summary(&log_rls[i], log_now_ms());
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_out(LOG_CRIT, msg);
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
	log_fatal_out("fatal: %s: %s", buf, strerror(saved));
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
	log_fatal_out("fatal: %s", buf);
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
