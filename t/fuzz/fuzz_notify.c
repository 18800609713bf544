/*
 * fuzz_notify.c -- what 411-notify reads from Redis and from the targets
 * (src/notify.c and the target types): replies to XGROUP, XREADGROUP,
 * XAUTOCLAIM, XADD and XACK built from the input by hiredis's own reply
 * parser, stream entries turned into deliveries, their payloads rendered
 * by the target type, and the answers of the target's HTTP (or SMTP)
 * server.
 *
 * The queue (src/queue.c) is replaced by a stand-in: commands wait in one
 * list and each reply of the input answers the oldest.  A reply
 * *2 :STATUS $BODY answers the oldest request to a target instead, when
 * one waits.  No request leaves the process: curl's multi is never run.
 *
 * Input: one byte (low 3 bits: the type of this worker; 0x08: also
 * XAUTOCLAIM at the start), then replies in RESP.
 */
#include "autoconf.h"

#define queue_new	fuzz_queue_new
#define queue_free	fuzz_queue_free
#define queue_up	fuzz_queue_up
#define queue_error	fuzz_queue_error
#define queue_command	fuzz_queue_command
#include "../../src/notify.c"

#include <ctype.h>
#include "fuzz.h"

#define FUZZ_CMDS	256	/* commands waiting, at most */
#define FUZZ_STEPS	64	/* replies read per input */

struct fuzz_cmd {
	queue_reply_cb	 fc_cb;
	void		*fc_arg;
};

static const char fuzz_conf[] =
    "redis 127.0.0.1:6379\n"
    "target hook webhook url http://127.0.0.1:1/hook secret s3cr3t\n"
    "target am webhook url http://127.0.0.1:1/am format alertmanager "
    "batch 3\n"
    "target chat slack url http://127.0.0.1:1/slack\n"
    "target oncall pagerduty routing_key R0UTINGKEY0123456789012345678901 "
    "url http://127.0.0.1:1/pd\n"
    "target mail email url smtp://127.0.0.1:1 from \"411 <a@example.com>\" "
    "to \"b@example.com\"\n"
    "target jira-sec jira url http://127.0.0.1:1 project SEC issuetype Bug "
    "user bot@example.com token T\n";
static const char *const fuzz_types[] = { "webhook", "slack", "pagerduty",
    "email", "jira", "webhook", "webhook", "nosuch" };

static struct config	*fuzz_cfg;
static struct event_base *fuzz_base;
static struct fuzz_cmd	 fuzz_cmds[FUZZ_CMDS];
static size_t		 fuzz_ncmds;
static queue_state_cb	 fuzz_state_cb[2];
static void		*fuzz_state_arg[2];
static int		 fuzz_nqueues;
static char		 fuzz_queues[2];

struct queue *
queue_new(struct event_base *base, const struct queue_opts *o,
    queue_state_cb cb, void *arg)
{
	int	 i = fuzz_nqueues++ % 2;

	fuzz_state_cb[i] = cb;
	fuzz_state_arg[i] = arg;
	return ((struct queue *)&fuzz_queues[i]);
}

/* Answer the oldest command with r (NULL: err). */
static void
fuzz_answer(redisReply *r, const char *err)
{
	struct fuzz_cmd	 c;

	c = fuzz_cmds[0];
	memmove(fuzz_cmds, fuzz_cmds + 1, --fuzz_ncmds * sizeof fuzz_cmds[0]);
	c.fc_cb(c.fc_arg, r, err);
}

void
queue_free(struct queue *q)
{
	if (q != (struct queue *)&fuzz_queues[0])
		return;
	while (fuzz_ncmds > 0)
		fuzz_answer(NULL, "queue closed");
}

int
queue_up(const struct queue *q)
{
	return (1);
}

const char *
queue_error(const struct queue *q)
{
	return (NULL);
}

int
queue_command(struct queue *q, queue_reply_cb cb, void *arg, int argc,
    const char **argv, const size_t *argl)
{
	int	 i;

	for (i = 0; i < argc; i++)
		if (argv[i] == NULL)
			abort();
	if (cb == NULL)
		return (0);
	if (fuzz_ncmds == FUZZ_CMDS)
		return (-1);	/* as if the connection were down */
	fuzz_cmds[fuzz_ncmds].fc_cb = cb;
	fuzz_cmds[fuzz_ncmds].fc_arg = arg;
	fuzz_ncmds++;
	return (0);
}

/* The oldest request to a target that waits for its answer, or NULL. */
static struct nreq *
fuzz_nreq(struct notify *n)
{
	struct delivery	*d;

	TAILQ_FOREACH(d, &n->n_deliveries, d_entry)
		if (!TAILQ_EMPTY(&d->d_reqs))
			return (TAILQ_FIRST(&d->d_reqs));
	return (NULL);
}

/* Answer request r: status and body from the reply. */
static void
fuzz_http(struct notify *n, struct nreq *r, redisReply *rep)
{
	struct notify_resp	 nr;
	struct delivery		*d = r->r_d;

	memset(&nr, 0, sizeof nr);
	nr.nr_status = (long)rep->element[0]->integer;
	if (rep->element[1]->type == REDIS_REPLY_STRING) {
		buf_add(&r->r_resp, rep->element[1]->str,
		    rep->element[1]->len);
	} else if (rep->element[1]->type == REDIS_REPLY_ERROR)
		nr.nr_error = rep->element[1]->str;
	if (nr.nr_status == 429 || nr.nr_status == 503)
		r->r_retry_after = xstrdup(nr.nr_status == 429 ? "120" :
		    "Fri, 04 Dec 2026 18:00:00 GMT");
	buf_adds(&r->r_resp, "");
	nr.nr_body = r->r_resp.b_data;
	nr.nr_len = r->r_resp.b_len;
	nr.nr_retry_after = r->r_retry_after;
	TAILQ_REMOVE(&d->d_reqs, r, r_entry);
	curl_multi_remove_handle(n->n_multi, r->r_easy);
	r->r_cb(d, &nr, r->r_arg);
	nreq_free(r);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct config_errors	 errs;
	size_t			 i;

	log_init("fuzz", 1, 0);
	memset(&errs, 0, sizeof errs);
	fuzz_cfg = config_parse("fuzz.conf", fuzz_conf, sizeof fuzz_conf - 1,
	    CONFIG_NOTIFY, &errs);
	if (fuzz_cfg == NULL) {
		for (i = 0; i < errs.ce_n; i++)
			log_warnx("%s", errs.ce_lines[i]);
		abort();
	}
	if ((fuzz_base = event_base_new()) == NULL)
		abort();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct notify	*n;
	struct nreq	*r;
	redisReader	*rd;
	redisReply	*rep;
	void		*reply;
	size_t		 i, k;
	int		 step;

	if (len < 1)
		return (0);
	/*
	 * hiredis 0.14 allocates the array of a multi-bulk reply from its
	 * count before its elements come ("*33333332" takes 4 s): Redis is
	 * trusted not to do that, and such inputs only slow the fuzzer.
	 */
	for (i = 0; i < len; i++) {
		if (data[i] != '*')
			continue;
		for (k = i + 1; k < len && isdigit((unsigned char)data[k]); k++)
			;
		if (k - i > 5)
			return (0);	/* 10 000 elements or more */
	}
	fuzz_nqueues = 0;
	fuzz_ncmds = 0;
	n = notify_new(fuzz_base, fuzz_cfg, fuzz_types[data[0] & 7], "fuzz");
	fuzz_state_cb[0](fuzz_state_arg[0], 1);
	fuzz_state_cb[1](fuzz_state_arg[1], 1);
	if (data[0] & 0x08)
		notify_claim_ev_cb(-1, 0, n);
	rd = redisReaderCreate();
	if (redisReaderFeed(rd, (const char *)data + 1, len - 1) != REDIS_OK)
		goto done;
	for (step = 0; step < FUZZ_STEPS; step++) {
		reply = NULL;
		if (redisReaderGetReply(rd, &reply) != REDIS_OK ||
		    reply == NULL)
			break;
		rep = reply;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
		    rep->element[0]->type == REDIS_REPLY_INTEGER &&
		    (r = fuzz_nreq(n)) != NULL)
			fuzz_http(n, r, rep);
		else if (fuzz_ncmds > 0)
			fuzz_answer(rep, NULL);
		freeReplyObject(rep);
	}
done:
	redisReaderFree(rd);
	notify_free(n);
	if (fuzz_ncmds != 0)
		abort();	/* queue_free answered them all */
	return (0);
}
