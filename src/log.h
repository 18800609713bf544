/*
 * log.h -- logging to stderr (foreground) or syslog, after OpenBSD httpd.
 */
#ifndef PROG_LOG_H
#define PROG_LOG_H

#include <stdarg.h>

#define printflike(a, b) __attribute__((format(printf, a, b)))
#define dead __attribute__((noreturn))

/* Start logging: to stderr when foreground, else to syslog as ident. */
void	log_init(const char *ident, int foreground, int verbose);
/* The verbosity given to log_init (or set later). */
int	log_verbose(void);
void	log_set_verbose(int);
/* Route libevent's own messages through us. */
void	log_libevent(void);
/*
 * Write the "message repeated N more times" summaries whose window is
 * over (see log.c); call it now and then (the API does, each second).
 */
void	log_flush(void);

/* A warning with strerror(errno) appended. */
void	log_warn(const char *, ...) printflike(1, 2);
/* A warning. */
void	log_warnx(const char *, ...) printflike(1, 2);
/* Information: shown by default. */
void	log_info(const char *, ...) printflike(1, 2);
/* Debugging: shown with -v. */
void	log_debug(const char *, ...) printflike(1, 2);
/* Log a critical error with strerror(errno) and exit 1. */
dead void fatal(const char *, ...) printflike(1, 2);
/* Log a critical error and exit 1. */
dead void fatalx(const char *, ...) printflike(1, 2);

#endif
