/*
 * delivery.c -- 411d's side of 411:delivery: the results that 411-notify
 * workers report (delivered, retrying, dead) become entries of the log of
 * each alert they name.
 *
 * A Redis connection of its own (its XREADGROUP blocks), the consumer
 * group "411d" (created at the start of the stream's history), own pending
 * entries first after every connect, then new ones.  An entry is
 * acknowledged after the log entries are committed, so none is lost to a
 * crash; one read again after a crash may log twice (at least once).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "alert.h"
#include "buf.h"
#include "config.h"
#include "delivery.h"
#include "json.h"
#include "log.h"
#include "queue.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define DLOG_GROUP	"411d"
#define DLOG_COUNT	"64"
#define DLOG_BLOCK_MS	"2000"
#define DLOG_AGAIN_MS	1000
#define DLOG_MAX_ALERTS	64

struct delivery_log {
	struct event_base	*dl_base;
	struct store		*dl_store;
	struct queue		*dl_q;
	char			*dl_key;
	int			 dl_group;
	int			 dl_busy;	/* a command or a batch */
	size_t			 dl_jobs;	/* writes of the batch */
	int			 dl_pending;	/* reading ID 0.. */
	char			*dl_from;
	int			 dl_closing;
	struct event		*dl_ev;
};

struct dlog_job {
	struct delivery_log	*j_dl;
	char			*j_sid;
	char			*j_action;
	char			*j_note;
	char			*j_target;
	uint64_t		 j_ids[DLOG_MAX_ALERTS];
	size_t			 j_nids;
};

static void	dlog_next(struct delivery_log *);

static void
dlog_again(struct delivery_log *dl)
{
	struct timeval	 tv = { DLOG_AGAIN_MS / 1000,
	    (DLOG_AGAIN_MS % 1000) * 1000 };

	if (!dl->dl_closing)
		evtimer_add(dl->dl_ev, &tv);
}

static int
dlog_cmd(struct delivery_log *dl, queue_reply_cb cb, void *arg, int argc,
    const char **argv)
{
	size_t	 argl[16];
	int	 i;

	for (i = 0; i < argc && i < 16; i++)
		argl[i] = strlen(argv[i]);
	return (queue_command(dl->dl_q, cb, arg, argc, argv, argl));
}

/* Write the log entries of one result. */
static int
dlog_apply(struct store_txn *txn, void *arg)
{
	struct dlog_job	*j = arg;
	struct alert	*a;
	size_t		 i;
	int64_t		 now = util_now_ms();

	for (i = 0; i < j->j_nids; i++) {
		if (alert_get(txn, j->j_ids[i], &a) != 0)
			continue;	/* gone, or not ours */
		if (alert_log_add(txn, a, a, now, "411-notify", j->j_action,
		    j->j_note, "target", j->j_target) == -1) {
			alert_free(a);
			return (-1);
		}
		alert_free(a);
	}
	return (0);
}

static void
dlog_job_free(struct dlog_job *j)
{
	free(j->j_sid);
	free(j->j_action);
	free(j->j_note);
	free(j->j_target);
	free(j);
}

static void
dlog_written(void *arg, int ok, const char *why)
{
	struct dlog_job		*j = arg;
	struct delivery_log	*dl = j->j_dl;
	const char		*argv[4];

	if (ok) {
		argv[0] = "XACK";
		argv[1] = dl->dl_key;
		argv[2] = DLOG_GROUP;
		argv[3] = j->j_sid;
		(void)dlog_cmd(dl, NULL, NULL, 4, argv);
	} else
		log_warnx("delivery: result %s not logged: %s", j->j_sid,
		    why != NULL ? why : "store error");
	dlog_job_free(j);
	if (--dl->dl_jobs == 0) {
		dl->dl_busy = 0;
		dlog_next(dl);
	}
}

/* A result entry [id, [field, value...]]: a job, or NULL to just ack. */
static struct dlog_job *
dlog_job_new(struct delivery_log *dl, redisReply *e)
{
	struct dlog_job		*j;
	struct json		*p = NULL, *ids;
	redisReply		*f;
	const char		*result, *err, *ref, *tname, *ttype;
	char			 ebuf[64];
	struct buf		 note = BUF_INIT;
	int64_t			 v, attempt = 0;
	size_t			 i;

	f = e->element[1];
	for (i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements;
	    i += 2) {
		if (f->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(f->element[i]->str, "payload") == 0 &&
		    f->element[i + 1]->type == REDIS_REPLY_STRING) {
			p = json_parse(f->element[i + 1]->str,
			    f->element[i + 1]->len, ebuf, sizeof ebuf);
			break;
		}
	}
	if (p == NULL || (result = json_str(json_get(p, "result"))) == NULL) {
		json_free(p);
		return (NULL);
	}
	j = xcalloc(1, sizeof *j);
	j->j_dl = dl;
	j->j_sid = xstrdup(e->element[0]->str);
	ids = json_get(p, "alert_ids");
	for (i = 0; i < json_len(ids) && j->j_nids < DLOG_MAX_ALERTS; i++)
		if (json_int(json_at(ids, i), &v) && v > 0)
			j->j_ids[j->j_nids++] = (uint64_t)v;
	tname = json_str(json_get(json_get(p, "target"), "name"));
	ttype = json_str(json_get(json_get(p, "target"), "type"));
	err = json_str(json_get(p, "error"));
	ref = json_str(json_get(p, "reference"));
	(void)json_int(json_get(p, "attempt"), &attempt);
	j->j_target = xstrdup(tname != NULL ? tname : "");
	j->j_action = xprintf("notify.%s", result);
	buf_printf(&note, "%s to %s (%s), try %lld", result,
	    tname != NULL ? tname : "?", ttype != NULL ? ttype : "?",
	    (long long)attempt);
	if (ref != NULL)
		buf_printf(&note, ", reference %s", ref);
	if (err != NULL)
		buf_printf(&note, ": %s", err);
	j->j_note = buf_steal(&note, NULL);
	json_free(p);
	return (j);
}

static void
dlog_read_cb(void *arg, redisReply *r, const char *err)
{
	struct delivery_log	*dl = arg;
	redisReply		*s, *list, *e;
	struct dlog_job		*j;
	const char		*argv[4];
	size_t			 i;

	dl->dl_busy = 0;
	if (dl->dl_closing)
		return;
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		if (r != NULL && strncmp(r->str, "NOGROUP", 7) == 0)
			dl->dl_group = 0;
		log_warnx("delivery: XREADGROUP: %s", r != NULL ? r->str : err);
		dlog_again(dl);
		return;
	}
	list = NULL;
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    (s = r->element[0])->type == REDIS_REPLY_ARRAY &&
	    s->elements == 2 && s->element[1]->type == REDIS_REPLY_ARRAY)
		list = s->element[1];
	if (dl->dl_pending && (list == NULL || list->elements == 0))
		dl->dl_pending = 0;
	for (i = 0; list != NULL && i < list->elements; i++) {
		e = list->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING)
			continue;
		if (dl->dl_pending) {
			free(dl->dl_from);
			dl->dl_from = xstrdup(e->element[0]->str);
		}
		if (e->element[1]->type != REDIS_REPLY_ARRAY ||
		    (j = dlog_job_new(dl, e)) == NULL) {
			argv[0] = "XACK";
			argv[1] = dl->dl_key;
			argv[2] = DLOG_GROUP;
			argv[3] = e->element[0]->str;
			(void)dlog_cmd(dl, NULL, NULL, 4, argv);
			continue;
		}
		dl->dl_jobs++;
		store_write(dl->dl_store, dlog_apply, dlog_written, j);
	}
	if (dl->dl_jobs > 0)
		dl->dl_busy = 1;	/* until the writes are done */
	else
		dlog_next(dl);
}

static void
dlog_group_cb(void *arg, redisReply *r, const char *err)
{
	struct delivery_log	*dl = arg;

	dl->dl_busy = 0;
	if (dl->dl_closing)
		return;
	if (r == NULL || (r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "BUSYGROUP", 9) != 0)) {
		log_warnx("delivery: XGROUP CREATE: %s", r != NULL ? r->str :
		    err);
		dlog_again(dl);
		return;
	}
	dl->dl_group = 1;
	dlog_next(dl);
}

static void
dlog_next(struct delivery_log *dl)
{
	const char	*argv[12];
	int		 argc = 0;

	if (dl->dl_closing || dl->dl_busy || !queue_up(dl->dl_q))
		return;
	if (!dl->dl_group) {
		argv[0] = "XGROUP";	argv[1] = "CREATE";
		argv[2] = dl->dl_key;	argv[3] = DLOG_GROUP;
		argv[4] = "0";		argv[5] = "MKSTREAM";
		if (dlog_cmd(dl, dlog_group_cb, dl, 6, argv) == 0)
			dl->dl_busy = 1;
		return;
	}
	argv[argc++] = "XREADGROUP";
	argv[argc++] = "GROUP";
	argv[argc++] = DLOG_GROUP;
	argv[argc++] = "411d";
	argv[argc++] = "COUNT";
	argv[argc++] = DLOG_COUNT;
	if (!dl->dl_pending) {
		argv[argc++] = "BLOCK";
		argv[argc++] = DLOG_BLOCK_MS;
	}
	argv[argc++] = "STREAMS";
	argv[argc++] = dl->dl_key;
	argv[argc++] = dl->dl_pending ? dl->dl_from : ">";
	if (dlog_cmd(dl, dlog_read_cb, dl, argc, argv) == 0)
		dl->dl_busy = 1;
}

static void
dlog_ev_cb(evutil_socket_t fd, short ev, void *arg)
{
	dlog_next(arg);
}

static void
dlog_state_cb(void *arg, int up)
{
	struct delivery_log	*dl = arg;

	if (!up || dl->dl_closing)
		return;
	dl->dl_pending = 1;
	free(dl->dl_from);
	dl->dl_from = xstrdup("0");
	if (dl->dl_jobs == 0)
		dl->dl_busy = 0;
	dlog_next(dl);
}

struct delivery_log *
delivery_log_new(struct event_base *base, const struct config *cfg,
    struct store *store)
{
	struct delivery_log	*dl;
	struct queue_opts	 qo;

	dl = xcalloc(1, sizeof *dl);
	dl->dl_base = base;
	dl->dl_store = store;
	dl->dl_key = xprintf("%sdelivery", cfg->c_redis_prefix);
	dl->dl_pending = 1;
	dl->dl_from = xstrdup("0");
	if ((dl->dl_ev = evtimer_new(base, dlog_ev_cb, dl)) == NULL)
		fatalx("delivery: evtimer_new");
	memset(&qo, 0, sizeof qo);
	qo.qo_host = cfg->c_redis_host;
	qo.qo_port = cfg->c_redis_port;
	qo.qo_unix = cfg->c_redis_unix;
	qo.qo_password = cfg->c_redis_password;
	qo.qo_name = "411d-delivery";
	dl->dl_q = queue_new(base, &qo, dlog_state_cb, dl);
	return (dl);
}

void
delivery_log_free(struct delivery_log *dl)
{
	if (dl == NULL)
		return;
	/* Writes under way end (and their XACKs go out) first. */
	store_flush(dl->dl_store);
	dl->dl_closing = 1;
	queue_free(dl->dl_q);
	event_free(dl->dl_ev);
	free(dl->dl_key);
	free(dl->dl_from);
	free(dl);
}
