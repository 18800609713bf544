/*
 * test_queue.c -- the Redis connection against a private redis-server.
 *
 * Each server runs from a temporary directory with TCP off (--port 0) and a
 * unix socket.  Every wait is bounded; the servers are killed at exit.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "queue.h"
#include "tap.h"
#include "xmalloc.h"

#define REDIS_SERVER	"/usr/bin/redis-server"
#define WAIT_SECS	10

struct srv {
	pid_t		 pid;
	char		 dir[256];
	char		 sock[300];
	const char	*pass;
};

struct state {
	int		 ups;
	int		 downs;
	int		 up_seen;	/* queue_up() inside state_cb(1) */
	struct queue	*q;
};

struct result {
	int		 called;
	int		 type;		/* -1 when reply was NULL */
	char		*str;
	size_t		 len;
	long long	 integer;
	char		*err;
	struct queue	*free_q;	/* queue_free this from the callback */
};

static struct srv	*servers[4];
static int		 nservers;
static struct event_base *base;

/* Kill every server still running (atexit). */
static void
srv_kill_all(void)
{
	int	 i;

	for (i = 0; i < nservers; i++) {
		if (servers[i]->pid > 0) {
			kill(servers[i]->pid, SIGCONT);
			kill(servers[i]->pid, SIGKILL);
			waitpid(servers[i]->pid, NULL, 0);
			servers[i]->pid = -1;
		}
	}
}

/* Sleep ms milliseconds. */
static void
msleep(long ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

/* True when something accepts connections on the socket path. */
static int
sock_ready(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd, rc;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		return (0);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return (0);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	close(fd);
	return (rc == 0);
}

/* Start (or restart) a server; returns 0 or -1. */
static int
srv_start(struct srv *s)
{
	char	 log[320];
	int	 fd, i, status;

	unlink(s->sock);
	snprintf(log, sizeof log, "%s/redis.log", s->dir);
	if ((s->pid = fork()) == -1)
		return (-1);
	if (s->pid == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) !=
		    -1) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		if (s->pass != NULL)
			execl(REDIS_SERVER, REDIS_SERVER, "--port", "0",
			    "--unixsocket", s->sock, "--unixsocketperm", "700",
			    "--save", "", "--appendonly", "no", "--dir", s->dir,
			    "--requirepass", s->pass, (char *)NULL);
		else
			execl(REDIS_SERVER, REDIS_SERVER, "--port", "0",
			    "--unixsocket", s->sock, "--unixsocketperm", "700",
			    "--save", "", "--appendonly", "no", "--dir", s->dir,
			    (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < WAIT_SECS * 20; i++) {
		if (sock_ready(s->sock))
			return (0);
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = -1;
			return (-1);
		}
		msleep(50);
	}
	return (-1);
}

/* Create a server in its own directory and start it. */
static struct srv *
srv_new(const char *name, const char *pass)
{
	struct srv	*s;

	s = xcalloc(1, sizeof *s);
	snprintf(s->dir, sizeof s->dir, "%s/%s", test_tmpdir(), name);
	if (mkdir(s->dir, 0700) == -1)
		bail("mkdir %s: %s", s->dir, strerror(errno));
	snprintf(s->sock, sizeof s->sock, "%s/redis.sock", s->dir);
	s->pass = pass;
	servers[nservers++] = s;
	if (srv_start(s) == -1)
		bail("redis-server did not start in %s", s->dir);
	return (s);
}

/* SIGKILL a server and reap it. */
static void
srv_kill(struct srv *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = -1;
}

/* Run the loop until *flag becomes nonzero or secs pass; returns *flag. */
static int
wait_flag(const int *flag, int secs)
{
	struct timeval	 tv = { 0, 20000 };
	time_t		 end = time(NULL) + secs;

	while (!*flag && time(NULL) <= end) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	return (*flag);
}

/* Run the loop for about ms milliseconds. */
static void
spin(long ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Wait until the queue reports an error (or is up). */
static int
wait_error(struct queue *q, int secs)
{
	time_t	 end = time(NULL) + secs;

	while (queue_error(q) == NULL && !queue_up(q) && time(NULL) <= end)
		spin(20);
	return (queue_error(q) != NULL);
}

static void
state_cb(void *arg, int up)
{
	struct state	*st = arg;

	if (up) {
		st->ups++;
		st->up_seen = queue_up(st->q);
	} else
		st->downs++;
}

static void
result_cb(void *arg, redisReply *reply, const char *err)
{
	struct result	*r = arg;

	r->called++;
	free(r->str);
	r->str = NULL;
	free(r->err);
	r->err = err != NULL ? xstrdup(err) : NULL;
	if (reply == NULL) {
		r->type = -1;
	} else {
		r->type = reply->type;
		r->integer = reply->integer;
		if (reply->str != NULL) {
			r->str = xmemdup(reply->str, reply->len + 1);
			r->len = reply->len;
		}
	}
	if (r->free_q != NULL) {
		queue_free(r->free_q);
		r->free_q = NULL;
	}
}

static void
result_clear(struct result *r)
{
	free(r->str);
	free(r->err);
	memset(r, 0, sizeof *r);
}

/* Send a command given as a NULL-terminated list of C strings. */
static int
cmd(struct queue *q, struct result *r, ...)
{
	const char	*argv[16];
	size_t		 argl[16];
	va_list		 ap;
	int		 n = 0;

	va_start(ap, r);
	while (n < 16 && (argv[n] = va_arg(ap, const char *)) != NULL) {
		argl[n] = strlen(argv[n]);
		n++;
	}
	va_end(ap);
	return (queue_command(q, result_cb, r, n, argv, argl));
}

static void
test_basic(struct srv *s)
{
	struct queue_opts	 qo;
	struct state		 st;
	struct result		 r1, r2, r3, r4;
	const char		*argv[3];
	size_t			 argl[3];
	const char		 val[] = { 'a', '\0', 'b', '\n', 'c' };

	memset(&st, 0, sizeof st);
	memset(&r1, 0, sizeof r1);
	memset(&r2, 0, sizeof r2);
	memset(&r3, 0, sizeof r3);
	memset(&r4, 0, sizeof r4);
	memset(&qo, 0, sizeof qo);
	qo.qo_unix = s->sock;
	qo.qo_name = "411-test";
	st.q = queue_new(base, &qo, state_cb, &st);
	ok(!queue_up(st.q), "not up before the loop runs");
	ok(wait_flag(&st.ups, WAIT_SECS), "connected");
	ok(queue_up(st.q) && st.up_seen, "queue_up true in state_cb(1)");
	ok(queue_error(st.q) == NULL, "no error when up");

	/* Binary-safe SET / GET. */
	argv[0] = "SET";	argl[0] = 3;
	argv[1] = "k";		argl[1] = 1;
	argv[2] = val;		argl[2] = sizeof val;
	ok(queue_command(st.q, result_cb, &r1, 3, argv, argl) == 0,
	    "SET sent");
	argv[0] = "GET";	argl[0] = 3;
	ok(queue_command(st.q, result_cb, &r2, 2, argv, argl) == 0,
	    "GET sent");
	is_int(2, queue_pending(st.q), "two pending");
	is_int(0, r1.called, "no callback inside queue_command");
	wait_flag(&r2.called, WAIT_SECS);
	ok(r1.called == 1 && r1.type == REDIS_REPLY_STATUS &&
	    r1.str != NULL && strcmp(r1.str, "OK") == 0 && r1.err == NULL,
	    "SET replied OK");
	ok(r2.called == 1 && r2.type == REDIS_REPLY_STRING &&
	    r2.len == sizeof val && memcmp(r2.str, val, sizeof val) == 0,
	    "GET returns the value with its NUL byte");
	is_int(0, queue_pending(st.q), "nothing pending");

	/* CLIENT SETNAME was sent. */
	result_clear(&r1);
	cmd(st.q, &r1, "CLIENT", "GETNAME", NULL);
	wait_flag(&r1.called, WAIT_SECS);
	is_string("411-test", r1.str, "CLIENT SETNAME applied");

	/* XADD with an explicit id, then read it back. */
	result_clear(&r1);
	result_clear(&r2);
	cmd(st.q, &r1, "XADD", "411:events", "5-1", "type", "fire", NULL);
	cmd(st.q, &r2, "XLEN", "411:events", NULL);
	wait_flag(&r2.called, WAIT_SECS);
	ok(r1.type == REDIS_REPLY_STRING && r1.str != NULL &&
	    strcmp(r1.str, "5-1") == 0, "XADD returns the explicit id");
	ok(r2.type == REDIS_REPLY_INTEGER && r2.integer == 1, "XLEN is 1");

	/* An error reply is a reply, not a failure. */
	result_clear(&r1);
	result_clear(&r2);
	cmd(st.q, &r1, "XADD", "411:events", "5-1", "type", "again", NULL);
	cmd(st.q, &r2, "NOSUCHCOMMAND", NULL);
	cmd(st.q, &r3, "PING", NULL);
	wait_flag(&r3.called, WAIT_SECS);
	ok(r1.called == 1 && r1.type == REDIS_REPLY_ERROR && r1.err == NULL &&
	    r1.str != NULL && strstr(r1.str, "equal or smaller") != NULL,
	    "duplicate XADD id: error reply passed through");
	ok(r2.type == REDIS_REPLY_ERROR && r2.str != NULL &&
	    strstr(r2.str, "unknown command") != NULL, "unknown command");
	ok(r3.type == REDIS_REPLY_STATUS && queue_up(st.q),
	    "connection fine after errors");

	/* Server killed with a command on the wire. */
	result_clear(&r1);
	result_clear(&r2);
	result_clear(&r3);
	cmd(st.q, &r1, "BLPOP", "nothing", "0", NULL);
	spin(200);
	cmd(st.q, &r2, "PING", NULL);
	is_int(2, queue_pending(st.q), "two pending before the kill");
	srv_kill(s);
	wait_flag(&st.downs, WAIT_SECS);
	is_int(1, st.downs, "state_cb(0) on loss");
	ok(!queue_up(st.q), "not up after the kill");
	wait_flag(&r2.called, WAIT_SECS);
	ok(r1.called == 1 && r1.type == -1 && r1.err != NULL &&
	    strstr(r1.err, "connection lost") != NULL,
	    "blocked command failed: %s", r1.err ? r1.err : "(null)");
	ok(r2.called == 1 && r2.type == -1 && r2.err != NULL,
	    "queued command failed");
	is_int(0, queue_pending(st.q), "nothing pending after the loss");
	ok(queue_error(st.q) != NULL, "error recorded: %s",
	    queue_error(st.q) ? queue_error(st.q) : "(null)");

	/* While down: refused at once, callback never called. */
	result_clear(&r3);
	ok(cmd(st.q, &r3, "PING", NULL) == -1, "command refused while down");
	spin(500);
	ok(r1.called == 1 && r2.called == 1 && r3.called == 0,
	    "each callback ran once; refused one never");
	is_int(0, st.ups - 1, "still down");

	/* Restart on the same socket: reconnects by itself. */
	if (srv_start(s) == -1)
		bail("redis-server did not restart");
	{
		time_t	 end = time(NULL) + 3 * WAIT_SECS;

		while (st.ups < 2 && time(NULL) <= end)
			spin(50);
	}
	is_int(2, st.ups, "state_cb(1) after the restart");
	ok(queue_up(st.q), "up again");
	result_clear(&r1);
	cmd(st.q, &r1, "GET", "k", NULL);
	wait_flag(&r1.called, WAIT_SECS);
	ok(r1.type == REDIS_REPLY_NIL, "fresh server (no persistence)");

	/* queue_free with pending commands. */
	result_clear(&r1);
	result_clear(&r2);
	result_clear(&r3);
	cmd(st.q, &r1, "BLPOP", "nothing", "0", NULL);
	spin(100);
	cmd(st.q, &r2, "PING", NULL);
	queue_free(st.q);
	ok(r1.called == 1 && r1.type == -1 && r1.err != NULL &&
	    strcmp(r1.err, "queue closed") == 0, "pending: queue closed");
	ok(r2.called == 1 && r2.type == -1 && r2.err != NULL &&
	    strcmp(r2.err, "queue closed") == 0, "second: queue closed");
	spin(200);
	ok(r1.called == 1 && r2.called == 1 && st.downs == 1,
	    "once each, and no state_cb after queue_free");

	/* queue_free from inside a reply callback. */
	memset(&st, 0, sizeof st);
	st.q = queue_new(base, &qo, state_cb, &st);
	wait_flag(&st.ups, WAIT_SECS);
	result_clear(&r1);
	result_clear(&r2);
	result_clear(&r3);
	r1.free_q = st.q;
	cmd(st.q, &r1, "PING", NULL);
	cmd(st.q, &r2, "PING", NULL);
	cmd(st.q, &r3, "PING", NULL);
	wait_flag(&r1.called, WAIT_SECS);
	spin(200);
	ok(r1.called == 1 && r1.type == REDIS_REPLY_STATUS,
	    "first reply delivered");
	ok(r2.called == 1 && r2.type == -1 && r3.called == 1 &&
	    r3.type == -1 && r2.err != NULL &&
	    strcmp(r2.err, "queue closed") == 0,
	    "queue_free in a callback closes the rest once");

	result_clear(&r1);
	result_clear(&r2);
	result_clear(&r3);
	result_clear(&r4);
}

static void
test_auth(void)
{
	struct srv		*s;
	struct queue_opts	 qo;
	struct state		 st;
	struct result		 r1;
	struct queue		*q;

	s = srv_new("auth", "s3cret");
	memset(&qo, 0, sizeof qo);
	memset(&r1, 0, sizeof r1);
	qo.qo_unix = s->sock;
	qo.qo_password = "s3cret";

	memset(&st, 0, sizeof st);
	st.q = queue_new(base, &qo, state_cb, &st);
	ok(wait_flag(&st.ups, WAIT_SECS) && queue_up(st.q),
	    "AUTH with the right password");
	cmd(st.q, &r1, "SET", "a", "1", NULL);
	wait_flag(&r1.called, WAIT_SECS);
	ok(r1.type == REDIS_REPLY_STATUS, "commands work after AUTH");

	/* Bad password: never up, the error says why. */
	qo.qo_password = "wrong";
	q = queue_new(base, &qo, NULL, NULL);
	ok(wait_error(q, WAIT_SECS), "bad password: error set");
	ok(!queue_up(q), "bad password: not up");
	ok(queue_error(q) != NULL && strstr(queue_error(q), "AUTH") != NULL,
	    "error names AUTH: %s", queue_error(q) ? queue_error(q) : "");
	ok(cmd(q, &r1, "PING", NULL) == -1, "commands refused");
	queue_free(q);

	/* No password at all: PING is refused. */
	qo.qo_password = NULL;
	q = queue_new(base, &qo, NULL, NULL);
	wait_error(q, WAIT_SECS);
	ok(queue_error(q) != NULL && !queue_up(q) &&
	    strstr(queue_error(q), "NOAUTH") != NULL,
	    "no password: %s", queue_error(q) ? queue_error(q) : "");
	queue_free(q);

	/* A stopped server: the command times out and we reconnect. */
	result_clear(&r1);
	kill(s->pid, SIGSTOP);
	cmd(st.q, &r1, "PING", NULL);
	wait_flag(&r1.called, QUEUE_COMMAND_TIMEOUT_MS / 1000 + WAIT_SECS);
	ok(r1.called == 1 && r1.type == -1 && r1.err != NULL &&
	    strstr(r1.err, "timeout") != NULL, "command timeout: %s",
	    r1.err ? r1.err : "(null)");
	is_int(1, st.downs, "state_cb(0) after the timeout");
	kill(s->pid, SIGCONT);
	{
		time_t	 end = time(NULL) + 3 * WAIT_SECS;

		while (st.ups < 2 && time(NULL) <= end)
			spin(50);
	}
	ok(st.ups == 2 && queue_up(st.q), "reconnected after the timeout");
	queue_free(st.q);
	result_clear(&r1);
	srv_kill(s);
}

static void
test_no_server(void)
{
	struct queue_opts	 qo;
	struct queue		*q;
	struct state		 st;
	char			*path;

	memset(&st, 0, sizeof st);
	memset(&qo, 0, sizeof qo);
	path = xprintf("%s/nothing.sock", test_tmpdir());
	qo.qo_unix = path;
	q = queue_new(base, &qo, state_cb, &st);
	wait_error(q, WAIT_SECS);
	ok(queue_error(q) != NULL && !queue_up(q),
	    "no server: error %s", queue_error(q) ? queue_error(q) : "");
	spin(300);
	ok(st.ups == 0 && st.downs == 0,
	    "no state change without a connection");
	queue_free(q);
	queue_free(NULL);
	free(path);
}

int
main(void)
{
	struct srv	*s;

	if (access(REDIS_SERVER, X_OK) == -1)
		skip_all("%s not found", REDIS_SERVER);
	signal(SIGPIPE, SIG_IGN);
	plan(47);
	atexit(srv_kill_all);
	if ((base = event_base_new()) == NULL)
		bail("event_base_new");
	test_no_server();
	s = srv_new("plain", NULL);
	test_basic(s);
	srv_kill(s);
	test_auth();
	spin(100);
	event_base_free(base);
	srv_kill_all();
	return (test_done());
}
