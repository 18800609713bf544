/*
 * filter_script.c -- C8: a program the operator installed in script_dir
 * gets the run's records as NDJSON on its stdin and returns the records to
 * keep (unchanged, rewritten or new) on its stdout, one JSON object a line.
 *
 *   {"type": "script", "script": "triage", "args": ["-q"],
 *    "timeout": "10s", "max_output": "16MB", "max_cpu": "5s",
 *    "max_memory": "512MB"}
 *
 * The trust boundary: the operator decides what may run (script_dir in
 * 411d.conf), an editor only chooses among it.  "script" is a plain file
 * name inside script_dir (trust.h: no '/', no leading '.', resolved with
 * realpath and kept inside the directory); "args" are plain strings.  The
 * old "command" (a path and argv) and "env" are refused, not ignored.
 * Without script_dir every script filter is refused.
 *
 * One process per run, at the end of it (a batch filter), started with
 * fork and execve: no shell, every other descriptor closed, signals reset,
 * its own process group (killed as a whole), cwd script_dir, umask 077.
 * Its environment is fixed: PATH=/usr/bin:/bin, LANG=C and FOUR11_SEARCH_ID,
 * FOUR11_FROM, FOUR11_TO (the run's window, ms since the epoch) and
 * FOUR11_DRY_RUN (0 or 1); nothing of 411d's own environment.  Limits set
 * in the child: RLIMIT_CPU (max_cpu, default and at most the timeout),
 * RLIMIT_AS (max_memory, default 512MB, at most 4GB), RLIMIT_FSIZE
 * (64MB: files it writes; its stdout is a pipe and is bounded by
 * max_output), RLIMIT_CORE 0.  When 411d runs as root the child drops to
 * script_user (default "nobody": supplementary groups cleared, then gid,
 * then uid) before execve; a script_user that does not exist, or is root,
 * refuses the filter.
 *
 * Its pipes are non-blocking and driven by the loop, so a program that
 * does not read, or writes without end, never stalls the daemon: the time
 * limit kills it, and so does output beyond max_output.  A non-zero exit,
 * a signal, a line that is not a JSON object: the filter fails and its
 * on_error decides (the records are then as they were given).  An output
 * record's event time comes from its "@timestamp" or "time" field (RFC
 * 3339), else it is the run's time.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "filter.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "search.h"
#include "trust.h"
#include "util.h"
#include "xmalloc.h"

#define SCRIPT_DEFAULT_TIMEOUT	(10 * 1000LL)		/* ms */
#define SCRIPT_MAX_TIMEOUT	(5 * 60 * 1000LL)
#define SCRIPT_DEFAULT_OUTPUT	(16 * 1024 * 1024)
#define SCRIPT_MAX_OUTPUT	(1024LL * 1024 * 1024)
#define SCRIPT_DEFAULT_MEMORY	(512LL * 1024 * 1024)
#define SCRIPT_MIN_MEMORY	(16LL * 1024 * 1024)
#define SCRIPT_MAX_MEMORY	(4096LL * 1024 * 1024)
#define SCRIPT_MAX_FILE		(64LL * 1024 * 1024)	/* RLIMIT_FSIZE */
#define SCRIPT_MAX_ARGS		63
#define SCRIPT_MAX_ARG		4096
#define SCRIPT_STDERR_KEEP	4096
#define SCRIPT_REAP_MS		5			/* waitpid polling */
#define SCRIPT_PATH		"PATH=/usr/bin:/bin"

/* What the child failed at before execve (status pipe). */
enum script_step {
	STEP_PIPES,
	STEP_LIMITS,
	STEP_USER,
	STEP_CHDIR,
	STEP_EXEC,
	STEP_CHANGED
};

struct script {
	char			 *s_name;		/* in script_dir */
	char			**s_argv;		/* [0] is s_name */
	char			**s_envp;
	int64_t			  s_timeout;		/* ms */
	int64_t			  s_cpu;		/* ms */
	int64_t			  s_memory;		/* bytes */
	size_t			  s_max_output;
	struct event_base	 *s_base;

	/* One batch. */
	char			 *s_path;		/* resolved */
	char			 *s_dir;		/* resolved */
	pid_t			  s_pid;		/* 0: none */
	int			  s_in, s_out, s_err;	/* -1: closed */
	struct event		 *s_ev_in, *s_ev_out, *s_ev_err;
	struct event		 *s_ev_timer;		/* time limit */
	struct event		 *s_ev_reap;
	struct buf		  s_input;		/* NDJSON to write */
	size_t			  s_written;
	struct buf		  s_line;		/* partial output line */
	size_t			  s_outbytes;
	long			  s_lineno;
	struct buf		  s_stderr;
	struct filter_batch	  s_result;
	struct filter_batch	 *s_batch;
	size_t			  s_given;
	filter_batch_cb		  s_done;
	void			 *s_arg;
	int64_t			  s_started;		/* ms */
	int64_t			  s_now;
	int			  s_failed;
	char			  s_msg[512];
};

static int	script_validate(const struct json *, const char *,
		    struct search_err *);
static void	*script_new(const struct json *, const struct filter_env *);
static void	script_batch(void *, struct fstate *, uint16_t,
		    struct filter_batch *, filter_batch_cb, void *);
static void	script_free(void *);
static void	script_write_cb(evutil_socket_t, short, void *);
static void	script_read_cb(evutil_socket_t, short, void *);
static void	script_err_cb(evutil_socket_t, short, void *);
static void	script_timer_cb(evutil_socket_t, short, void *);
static void	script_reap_cb(evutil_socket_t, short, void *);

const struct filter_ops filter_script_ops = {
	.fo_name = "script",
	.fo_validate = script_validate,
	.fo_new = script_new,
	.fo_record = NULL,
	.fo_batch = script_batch,
	.fo_free = script_free
};

static const char *const script_options[] = {
	"script", "args", "timeout", "max_cpu", "max_output", "max_memory",
	NULL
};

/*
 * A byte count: a whole number, or a string "512", "64KB", "16MB", "1GB"
 * (powers of 1024; "KiB" etc. too).  Returns 0 or -1.
 */
static int
script_parse_size(const struct json *j, int64_t *out)
{
	const char	*s, *u;
	int64_t		 v, mult = 1;
	size_t		 n;

	if (json_int(j, out))
		return (0);
	if ((s = json_str(j)) == NULL)
		return (-1);
	for (n = 0; s[n] >= '0' && s[n] <= '9'; n++)
		;
	if (n == 0 || n > 12 || util_parse_int64(s, n, &v) == -1)
		return (-1);
	u = s + n;
	if (*u == ' ')
		u++;
	if (*u == '\0' || strcasecmp(u, "B") == 0)
		mult = 1;
	else if (strcasecmp(u, "K") == 0 || strcasecmp(u, "KB") == 0 ||
	    strcasecmp(u, "KiB") == 0)
		mult = 1024;
	else if (strcasecmp(u, "M") == 0 || strcasecmp(u, "MB") == 0 ||
	    strcasecmp(u, "MiB") == 0)
		mult = 1024 * 1024;
	else if (strcasecmp(u, "G") == 0 || strcasecmp(u, "GB") == 0 ||
	    strcasecmp(u, "GiB") == 0)
		mult = 1024 * 1024 * 1024;
	else
		return (-1);
	*out = v * mult;
	return (0);
}

/* A time limit in ms (def when absent), or -1 with *e. */
static int64_t
script_timeout(const struct json *t, int64_t def, const char **e)
{
	int64_t	 v;

	if (t == NULL)
		return (def);
	if (json_str(t) != NULL) {
		if (util_parse_duration_ms(json_str(t), &v, e) == -1)
			return (-1);
	} else if (json_int(t, &v))
		v *= 1000;
	else {
		*e = "must be a duration such as \"10s\"";
		return (-1);
	}
	if (v < 1 || v > SCRIPT_MAX_TIMEOUT) {
		*e = "must be more than 0 and at most 5m";
		return (-1);
	}
	return (v);
}

/* Check the options. */
static int
script_validate(const struct json *f, const char *field,
    struct search_err *err)
{
	const struct json	*c, *o;
	const char		*e, *a;
	char			 msg[300];
	int64_t			 v, t;
	size_t			 i;
	uid_t			 uid;
	gid_t			 gid;

	/* A stored search loaded without the config checks: runs decide. */
	if (trust_is_lenient())
		return (0);
	/* The old way: say so rather than "unknown option". */
	if (json_get(f, "command") != NULL)
		return (filter_fail(err, field, "command", "script",
		    "is no longer accepted: a search cannot give a command "
		    "line; name a program the operator put in script_dir "
		    "with \"script\" (and \"args\")"));
	if (json_get(f, "env") != NULL)
		return (filter_fail(err, field, "env", "script",
		    "is no longer accepted: the environment of a script is "
		    "fixed (PATH, LANG, FOUR11_*); pass settings in \"args\""));
	if (filter_check_options(f, field, "script", script_options,
	    err) == -1)
		return (-1);
	if ((c = json_get(f, "script")) == NULL)
		return (filter_fail(err, field, "script", "script",
		    "is required: the name of a program in script_dir"));
	if (trust_check(TRUST_SCRIPT, c, msg, sizeof msg) == -1)
		return (filter_fail(err, field, "script", "script", msg));
	if (trust_script_user(&uid, &gid, msg, sizeof msg) == -1)
		return (filter_fail(err, field, "script", "script", msg));
	if ((c = json_get(f, "args")) != NULL) {
		if (c->j_type != JSON_ARRAY || json_len(c) > SCRIPT_MAX_ARGS)
			return (filter_fail(err, field, "args", "script",
			    "must be a list of at most 63 strings"));
		for (i = 0; i < json_len(c); i++) {
			a = json_str(json_at(c, i));
			if (a == NULL || strlen(a) !=
			    json_at(c, i)->j_u.str.len ||
			    strlen(a) > SCRIPT_MAX_ARG)
				return (filter_fail(err, field, "args",
				    "script", "must be a list of strings "
				    "(without NUL, at most 4096 bytes each)"));
		}
	}
	if ((t = script_timeout(json_get(f, "timeout"),
	    SCRIPT_DEFAULT_TIMEOUT, &e)) == -1)
		return (filter_fail(err, field, "timeout", "script", e));
	if ((v = script_timeout(json_get(f, "max_cpu"), t, &e)) == -1)
		return (filter_fail(err, field, "max_cpu", "script", e));
	if (v > t)
		return (filter_fail(err, field, "max_cpu", "script",
		    "must be at most the timeout"));
	if ((o = json_get(f, "max_output")) != NULL &&
	    (script_parse_size(o, &v) == -1 || v < 1 ||
	    v > SCRIPT_MAX_OUTPUT))
		return (filter_fail(err, field, "max_output", "script",
		    "must be a size from 1 byte to 1GB, such as \"16MB\""));
	if ((o = json_get(f, "max_memory")) != NULL &&
	    (script_parse_size(o, &v) == -1 || v < SCRIPT_MIN_MEMORY ||
	    v > SCRIPT_MAX_MEMORY))
		return (filter_fail(err, field, "max_memory", "script",
		    "must be a size from 16MB to 4GB, such as \"512MB\""));
	return (0);
}

/* An instance from validated options. */
static void *
script_new(const struct json *f, const struct filter_env *env)
{
	struct script		*s;
	const struct json	*c, *o;
	const char		*e;
	int64_t			 v;
	size_t			 i, n;

	s = xcalloc(1, sizeof *s);
	s->s_in = s->s_out = s->s_err = -1;
	s->s_base = env->fe_base;
	s->s_now = env->fe_now;
	/* A search stored before "script" existed: it fails at its run. */
	s->s_name = xstrdup(json_str(json_get(f, "script")) != NULL ?
	    json_str(json_get(f, "script")) : "");
	c = json_get(f, "args");
	n = c != NULL && c->j_type == JSON_ARRAY ? json_len(c) : 0;
	s->s_argv = xcalloc(n + 2, sizeof *s->s_argv);
	s->s_argv[0] = xstrdup(s->s_name);
	for (i = 0; i < n; i++)
		s->s_argv[i + 1] = xstrdup(json_str(json_at(c, i)) != NULL ?
		    json_str(json_at(c, i)) : "");
	s->s_timeout = script_timeout(json_get(f, "timeout"),
	    SCRIPT_DEFAULT_TIMEOUT, &e);
	if (s->s_timeout == -1)
		s->s_timeout = SCRIPT_DEFAULT_TIMEOUT;
	s->s_cpu = script_timeout(json_get(f, "max_cpu"), s->s_timeout, &e);
	if (s->s_cpu == -1 || s->s_cpu > s->s_timeout)
		s->s_cpu = s->s_timeout;
	s->s_max_output = SCRIPT_DEFAULT_OUTPUT;
	if ((o = json_get(f, "max_output")) != NULL &&
	    script_parse_size(o, &v) == 0)
		s->s_max_output = (size_t)v;
	s->s_memory = SCRIPT_DEFAULT_MEMORY;
	if ((o = json_get(f, "max_memory")) != NULL &&
	    script_parse_size(o, &v) == 0 && v >= SCRIPT_MIN_MEMORY &&
	    v <= SCRIPT_MAX_MEMORY)
		s->s_memory = v;

	/* A fixed environment: nothing of the daemon's. */
	s->s_envp = xcalloc(7, sizeof *s->s_envp);
	s->s_envp[0] = xstrdup(SCRIPT_PATH);
	s->s_envp[1] = xstrdup("LANG=C");
	s->s_envp[2] = xprintf("FOUR11_SEARCH_ID=%" PRIu64, env->fe_search);
	s->s_envp[3] = xprintf("FOUR11_FROM=%" PRId64, env->fe_from);
	s->s_envp[4] = xprintf("FOUR11_TO=%" PRId64, env->fe_to);
	s->s_envp[5] = xprintf("FOUR11_DRY_RUN=%d", env->fe_dry ? 1 : 0);
	return (s);
}

/* Close fd and free its event. */
static void
script_close(int *fd, struct event **ev)
{
	if (*ev != NULL) {
		event_free(*ev);
		*ev = NULL;
	}
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

/* Stop the batch's I/O and timers; kill and reap the child if it runs. */
static void
script_stop(struct script *s)
{
	int	 st;

	script_close(&s->s_in, &s->s_ev_in);
	script_close(&s->s_out, &s->s_ev_out);
	script_close(&s->s_err, &s->s_ev_err);
	if (s->s_ev_timer != NULL) {
		event_free(s->s_ev_timer);
		s->s_ev_timer = NULL;
	}
	if (s->s_ev_reap != NULL) {
		event_free(s->s_ev_reap);
		s->s_ev_reap = NULL;
	}
	if (s->s_pid > 0) {
		/* Dead or about to be: a blocking wait is short. */
		kill(-s->s_pid, SIGKILL);	/* its group: children too */
		kill(s->s_pid, SIGKILL);
		while (waitpid(s->s_pid, &st, 0) == -1 && errno == EINTR)
			;
		s->s_pid = 0;
	}
	buf_free(&s->s_input);
	buf_free(&s->s_line);
	buf_free(&s->s_stderr);
	filter_batch_clear(&s->s_result);
	s->s_written = 0;
	s->s_outbytes = 0;
	s->s_lineno = 0;
}

/*
 * The batch is over: error NULL (the result replaces the batch) or the
 * failure.  done is the last thing done here: it may free the instance.
 */
static void
script_finish(struct script *s, const char *error)
{
	filter_batch_cb	 done = s->s_done;
	void		*arg = s->s_arg;
	char		 summary[160], msg[sizeof s->s_msg];
	size_t		 kept;

	s->s_done = NULL;
	if (error == NULL) {
		kept = s->s_result.fb_n;
		filter_batch_clear(s->s_batch);
		*s->s_batch = s->s_result;
		memset(&s->s_result, 0, sizeof s->s_result);
		snprintf(summary, sizeof summary,
		    "script kept %zu of %zu records (exit 0, %lld ms)", kept,
		    s->s_given, (long long)(util_now_ms() - s->s_started));
		script_stop(s);
		s->s_batch = NULL;
		done(arg, NULL, summary);
		return;
	}
	snprintf(msg, sizeof msg, "%s", error);
	script_stop(s);
	s->s_batch = NULL;
	done(arg, msg, NULL);
}

/* Fail the batch with a formatted message. */
static void
script_failf(struct script *s, const char *fmt, ...)
    printflike(2, 3);

static void
script_failf(struct script *s, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(s->s_msg, sizeof s->s_msg, fmt, ap);
	va_end(ap);
	script_finish(s, s->s_msg);
}

/*
 * In the child: tell the parent what failed (step, errno) on the status
 * pipe fd, then exit.
 */
static void
script_child_fail(int fd, enum script_step step)
{
	int	 st[2];

	st[0] = (int)step;
	st[1] = errno;
	(void)write(fd, st, sizeof st);
	_exit(127);
}

/*
 * In the child: plumbing, identity, limits, then execve; never returns.
 * drop says whether to become uid/gid (411d is root).
 *
 * The program was resolved in the parent (realpath inside script_dir,
 * a regular file).  Right before execve the child, already as the user
 * it runs as, resolves the name again and runs only if it still is the
 * same real path; execveat with AT_SYMLINK_NOFOLLOW then refuses a last
 * component turned into a symlink in between.  What is left between
 * that check and the exec is a change to script_dir itself, which only
 * the operator can make: editors never write there.  (Executing an fd
 * opened O_PATH, fexecve, would close even that, but breaks "#!"
 * scripts: the interpreter has to reopen the fd through /dev/fd, which
 * the child cannot once it is close-on-exec, nor reliably after it
 * changed user.)
 */
static void
script_child(struct script *s, int in, int out, int err, int status,
    int maxfd, int drop, uid_t uid, gid_t gid)
{
	struct rlimit	 rl;
	sigset_t	 set;
	char		*again, *p;
	int		 sig, fd;

	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	(void)setpgid(0, 0);		/* killed as a group */
	umask(077);
	/* The pipes first: one of them may be descriptor 3. */
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1)
		script_child_fail(status, STEP_PIPES);
	if (status != 3) {
		if (dup2(status, 3) == -1)
			_exit(127);
	}
	(void)fcntl(3, F_SETFD, FD_CLOEXEC);
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 4U, ~0U, 0) == -1)
#endif
		for (fd = 4; fd < maxfd; fd++)
			close(fd);
	if (drop) {
		if (setgroups(0, NULL) == -1 || setgid(gid) == -1 ||
		    setuid(uid) == -1)
			script_child_fail(3, STEP_USER);
		if (getuid() != uid || geteuid() != uid ||
		    getgid() != gid || getegid() != gid || setuid(0) != -1) {
			errno = EPERM;
			script_child_fail(3, STEP_USER);
		}
	}
	p = xprintf("%s/%s", s->s_dir, s->s_name);
	again = realpath(p, NULL);
	if (again == NULL || strcmp(again, s->s_path) != 0) {
		if (again != NULL)
			errno = ESTALE;
		script_child_fail(3, STEP_CHANGED);
	}
	free(again);
	free(p);
	if (chdir(s->s_dir) == -1)
		script_child_fail(3, STEP_CHDIR);

	/* Limits last: RLIMIT_AS would also bound this process. */
	rl.rlim_cur = (rlim_t)((s->s_cpu + 999) / 1000);
	rl.rlim_max = rl.rlim_cur + 1;		/* SIGXCPU, then SIGKILL */
	if (setrlimit(RLIMIT_CPU, &rl) == -1)
		script_child_fail(3, STEP_LIMITS);
	rl.rlim_cur = rl.rlim_max = (rlim_t)s->s_memory;
	if (setrlimit(RLIMIT_AS, &rl) == -1)
		script_child_fail(3, STEP_LIMITS);
	rl.rlim_cur = rl.rlim_max = (rlim_t)SCRIPT_MAX_FILE;
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
		script_child_fail(3, STEP_LIMITS);
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		script_child_fail(3, STEP_LIMITS);
#if defined(SYS_execveat) && defined(AT_SYMLINK_NOFOLLOW)
	syscall(SYS_execveat, AT_FDCWD, s->s_path, s->s_argv, s->s_envp,
	    AT_SYMLINK_NOFOLLOW);
	if (errno != ENOSYS)
		script_child_fail(3, STEP_EXEC);
#endif
	execve(s->s_path, s->s_argv, s->s_envp);
	script_child_fail(3, STEP_EXEC);
}

/* Set fd non-blocking and close-on-exec. */
static void
script_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/*
 * Resolve the program inside script_dir (every run: the operator may
 * have changed it) and whom it runs as.  Returns 0 or -1 with s_msg.
 */
static int
script_resolve(struct script *s, int *drop, uid_t *uid, gid_t *gid)
{
	struct stat	 st;
	char		 msg[300];
	int		 rc;

	free(s->s_path);
	free(s->s_dir);
	s->s_path = s->s_dir = NULL;
	if (*s->s_name == '\0') {
		snprintf(s->s_msg, sizeof s->s_msg, "no \"script\" named "
		    "(\"command\" is no longer accepted: name a program in "
		    "script_dir)");
		return (-1);
	}
	if ((s->s_path = trust_resolve(TRUST_SCRIPT, s->s_name, 0, NULL,
	    msg, sizeof msg)) == NULL) {
		snprintf(s->s_msg, sizeof s->s_msg, "cannot run: %s", msg);
		return (-1);
	}
	if (stat(s->s_path, &st) == -1 || (st.st_mode & 0111) == 0) {
		snprintf(s->s_msg, sizeof s->s_msg, "cannot run \"%s\": not "
		    "executable", s->s_name);
		return (-1);
	}
	if ((s->s_dir = realpath(trust_dir(TRUST_SCRIPT), NULL)) == NULL) {
		snprintf(s->s_msg, sizeof s->s_msg, "script_dir: %s",
		    strerror(errno));
		return (-1);
	}
	if ((rc = trust_script_user(uid, gid, msg, sizeof msg)) == -1) {
		snprintf(s->s_msg, sizeof s->s_msg, "cannot run \"%s\": %s",
		    s->s_name, msg);
		return (-1);
	}
	*drop = rc == 0;
	return (0);
}

/* Start the program with its pipes; -1 with s_msg on failure. */
static int
script_spawn(struct script *s)
{
	static const char *const steps[] = {
		"setting up its pipes", "setting its limits",
		"becoming script_user", "entering script_dir", "execve",
		"resolving it again as script_user"
	};
	int	 in[2], out[2], err[2], st[2], e[2], n, maxfd, status, drop;
	long	 lim;
	uid_t	 uid = 0;
	gid_t	 gid = 0;

	in[0] = in[1] = out[0] = out[1] = err[0] = err[1] = st[0] =
	    st[1] = -1;
	if (script_resolve(s, &drop, &uid, &gid) == -1)
		return (-1);
	if (pipe(in) == -1 || pipe(out) == -1 || pipe(err) == -1 ||
	    pipe(st) == -1) {
		snprintf(s->s_msg, sizeof s->s_msg, "pipe: %s",
		    strerror(errno));
		goto fail;
	}
	(void)fcntl(st[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(st[1], F_SETFD, FD_CLOEXEC);
	lim = sysconf(_SC_OPEN_MAX);
	maxfd = lim < 0 || lim > 65536 ? 65536 : (int)lim;
	s->s_pid = fork();
	if (s->s_pid == -1) {
		s->s_pid = 0;
		snprintf(s->s_msg, sizeof s->s_msg, "fork: %s",
		    strerror(errno));
		goto fail;
	}
	if (s->s_pid == 0) {
		close(in[1]);
		close(out[0]);
		close(err[0]);
		close(st[0]);
		script_child(s, in[0], out[1], err[1], st[1], maxfd, drop,
		    uid, gid);
	}
	(void)setpgid(s->s_pid, s->s_pid);	/* either of us may be first */
	close(in[0]);
	close(out[1]);
	close(err[1]);
	close(st[1]);
	in[0] = out[1] = err[1] = st[1] = -1;

	/* The status pipe closes at execve, or brings the step and errno. */
	while ((n = read(st[0], e, sizeof e)) == -1 && errno == EINTR)
		;
	close(st[0]);
	st[0] = -1;
	if (n == sizeof e) {
		while (waitpid(s->s_pid, &status, 0) == -1 && errno == EINTR)
			;
		s->s_pid = 0;
		if (e[0] < 0 || e[0] > STEP_CHANGED)
			e[0] = STEP_EXEC;
		snprintf(s->s_msg, sizeof s->s_msg, "cannot run \"%s\": %s: "
		    "%s", s->s_name, steps[e[0]], strerror(e[1]));
		goto fail;
	}
	s->s_in = in[1];
	s->s_out = out[0];
	s->s_err = err[0];
	script_nonblock(s->s_in);
	script_nonblock(s->s_out);
	script_nonblock(s->s_err);
	return (0);
fail:
	for (n = 0; n < 2; n++) {
		if (in[n] != -1)
			close(in[n]);
		if (out[n] != -1)
			close(out[n]);
		if (err[n] != -1)
			close(err[n]);
		if (st[n] != -1)
			close(st[n]);
	}
	return (-1);
}

/* Work on the held records. */
static void
script_batch(void *self, struct fstate *fs, uint16_t pos,
    struct filter_batch *batch, filter_batch_cb done, void *arg)
{
	struct script	*s = self;
	struct timeval	 tv;
	size_t		 i;

	(void)fs;
	(void)pos;
	if (s->s_base == NULL) {
		done(arg, "no event loop", NULL);
		return;
	}
	if (batch->fb_n == 0) {
		done(arg, NULL, "script not started: no records");
		return;
	}
	script_stop(s);		/* a batch before, if any */
	s->s_batch = batch;
	s->s_given = batch->fb_n;
	s->s_done = done;
	s->s_arg = arg;
	s->s_started = util_now_ms();
	for (i = 0; i < batch->fb_n; i++) {
		record_to_json(batch->fb_recs[i], &s->s_input);
		buf_addc(&s->s_input, '\n');
	}
	if (script_spawn(s) == -1) {
		script_finish(s, s->s_msg);
		return;
	}
	s->s_ev_in = event_new(s->s_base, s->s_in, EV_WRITE | EV_PERSIST,
	    script_write_cb, s);
	s->s_ev_out = event_new(s->s_base, s->s_out, EV_READ | EV_PERSIST,
	    script_read_cb, s);
	s->s_ev_err = event_new(s->s_base, s->s_err, EV_READ | EV_PERSIST,
	    script_err_cb, s);
	s->s_ev_timer = evtimer_new(s->s_base, script_timer_cb, s);
	s->s_ev_reap = evtimer_new(s->s_base, script_reap_cb, s);
	if (s->s_ev_in == NULL || s->s_ev_out == NULL || s->s_ev_err == NULL ||
	    s->s_ev_timer == NULL || s->s_ev_reap == NULL)
		fatalx("script: event_new failed");
	event_add(s->s_ev_in, NULL);
	event_add(s->s_ev_out, NULL);
	event_add(s->s_ev_err, NULL);
	tv.tv_sec = s->s_timeout / 1000;
	tv.tv_usec = (s->s_timeout % 1000) * 1000;
	evtimer_add(s->s_ev_timer, &tv);
}

/* Feed stdin as the pipe drains. */
static void
script_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct script	*s = arg;
	ssize_t		 n;

	(void)fd;
	(void)ev;
	while (s->s_written < s->s_input.b_len) {
		n = write(s->s_in, s->s_input.b_data + s->s_written,
		    s->s_input.b_len - s->s_written);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1)		/* EPIPE: it stopped reading */
			break;
		s->s_written += (size_t)n;
	}
	script_close(&s->s_in, &s->s_ev_in);
	buf_free(&s->s_input);
}

/* One complete output line (without its newline); -1 when failed. */
static int
script_line(struct script *s, const char *l, size_t len)
{
	struct record	*r;
	struct buf	 t = BUF_INIT;
	char		 err[160];
	size_t		 i;
	int64_t		 ms;

	s->s_lineno++;
	for (i = 0; i < len; i++)
		if (l[i] != ' ' && l[i] != '\t' && l[i] != '\r')
			break;
	if (i == len)
		return (0);		/* blank lines are allowed */
	if (l[i] != '{') {
		script_failf(s, "output line %ld is not a JSON object",
		    s->s_lineno);
		return (-1);
	}
	if ((r = record_from_json(l, len, err, sizeof err)) == NULL) {
		script_failf(s, "output line %ld is not a JSON object: %s",
		    s->s_lineno, err);
		return (-1);
	}
	if (record_get_text(r, "@timestamp", &t) == 0 ||
	    record_get_text(r, "time", &t) == 0) {
		if (t.b_data != NULL &&
		    util_parse_time_ms(t.b_data, t.b_len, &ms) == 0)
			r->r_time = ms;
	}
	buf_free(&t);
	r->r_nsrc = 0;		/* the program's: all in the alert */
	filter_batch_add(&s->s_result, r);
	return (0);
}

/* All output read: wait for the exit status. */
static void
script_reap_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct script	*s = arg;
	struct timeval	 tv = { 0, SCRIPT_REAP_MS * 1000 };
	const char	*nl;
	int		 st;
	pid_t		 p;

	(void)fd;
	(void)ev;
	if (s->s_out != -1 || s->s_err != -1)
		return;			/* the last pipe will call again */
	while ((p = waitpid(s->s_pid, &st, WNOHANG)) == -1 && errno == EINTR)
		;
	if (p == 0) {
		evtimer_add(s->s_ev_reap, &tv);
		return;
	}
	s->s_pid = 0;
	if (p == -1) {
		script_failf(s, "waitpid: %s", strerror(errno));
		return;
	}
	(void)kill(-p, SIGKILL);	/* what it left running in its group */
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		script_finish(s, NULL);
		return;
	}
	buf_addc(&s->s_stderr, '\0');
	s->s_stderr.b_len--;
	if ((nl = strchr(s->s_stderr.b_data, '\n')) != NULL)
		s->s_stderr.b_len = (size_t)(nl - s->s_stderr.b_data);
	if (WIFEXITED(st))
		script_failf(s, "exited with status %d%s%.*s",
		    WEXITSTATUS(st), s->s_stderr.b_len ? ": " : "",
		    (int)s->s_stderr.b_len, s->s_stderr.b_data);
	else if (WTERMSIG(st) == SIGXCPU)
		script_failf(s, "killed: over its CPU time limit (max_cpu "
		    "%lldms)%s%.*s", (long long)s->s_cpu,
		    s->s_stderr.b_len ? ": " : "", (int)s->s_stderr.b_len,
		    s->s_stderr.b_data);
	else
		script_failf(s, "killed by signal %d%s%.*s", WTERMSIG(st),
		    s->s_stderr.b_len ? ": " : "", (int)s->s_stderr.b_len,
		    s->s_stderr.b_data);
}

/* Output arrives. */
static void
script_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct script	*s = arg;
	char		 chunk[65536];
	ssize_t		 n;
	size_t		 off, i;
	int		 rounds;

	(void)fd;
	(void)ev;
	for (rounds = 0; rounds < 16; rounds++) {
		n = read(s->s_out, chunk, sizeof chunk);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1) {
			script_failf(s, "reading its output: %s",
			    strerror(errno));
			return;
		}
		if (n == 0) {
			/* The end: a last line without a newline. */
			if (s->s_line.b_len > 0 && script_line(s,
			    s->s_line.b_data, s->s_line.b_len) == -1)
				return;
			buf_reset(&s->s_line);
			script_close(&s->s_out, &s->s_ev_out);
			script_reap_cb(-1, 0, s);
			return;
		}
		s->s_outbytes += (size_t)n;
		if (s->s_outbytes > s->s_max_output) {
			script_failf(s, "output larger than %zu bytes",
			    s->s_max_output);
			return;
		}
		off = 0;
		for (i = 0; i < (size_t)n; i++) {
			if (chunk[i] != '\n')
				continue;
			if (s->s_line.b_len > 0) {
				buf_add(&s->s_line, chunk + off, i - off);
				if (script_line(s, s->s_line.b_data,
				    s->s_line.b_len) == -1)
					return;
				buf_reset(&s->s_line);
			} else if (script_line(s, chunk + off, i - off) == -1)
				return;
			off = i + 1;
		}
		buf_add(&s->s_line, chunk + off, (size_t)n - off);
	}
}

/* Its stderr: the first bytes kept for the error message. */
static void
script_err_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct script	*s = arg;
	char		 chunk[4096];
	ssize_t		 n;
	size_t		 room;

	(void)fd;
	(void)ev;
	for (;;) {
		n = read(s->s_err, chunk, sizeof chunk);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			script_close(&s->s_err, &s->s_ev_err);
			script_reap_cb(-1, 0, s);
			return;
		}
		room = SCRIPT_STDERR_KEEP - s->s_stderr.b_len;
		if (s->s_stderr.b_len < SCRIPT_STDERR_KEEP)
			buf_add(&s->s_stderr, chunk,
			    (size_t)n < room ? (size_t)n : room);
	}
}

/* The time limit. */
static void
script_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct script	*s = arg;
	char		 d[32];

	(void)fd;
	(void)ev;
	if (s->s_timeout % 1000 == 0)
		util_fmt_duration(s->s_timeout / 1000, d, sizeof d);
	else
		snprintf(d, sizeof d, "%lldms", (long long)s->s_timeout);
	script_failf(s, "timed out after %s", d);
}

/* Free an instance: the program is killed, done never called. */
static void
script_free(void *self)
{
	struct script	*s = self;
	size_t		 i;

	script_stop(s);
	free(s->s_name);
	free(s->s_path);
	free(s->s_dir);
	for (i = 0; s->s_argv[i] != NULL; i++)
		free(s->s_argv[i]);
	free(s->s_argv);
	for (i = 0; s->s_envp[i] != NULL; i++)
		free(s->s_envp[i]);
	free(s->s_envp);
	free(s);
}
