/*
 * src_push.c -- the "push" search type (A7).
 *
 * A push search asks no source: its records come with
 * POST /api/v1/push/{id} (api.c builds them into a push_input) and go
 * through the search's filters, threshold, alert cap and targets like the
 * hits of any other run.  Push searches are never scheduled.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "json.h"
#include "record.h"
#include "run.h"
#include "search.h"
#include "src.h"
#include "xmalloc.h"

/* What a push brought, then the driver's state. */
struct push_input {
	struct record	**pi_recs;
	size_t		  pi_n;
	struct run	 *pi_run;
	struct event	 *pi_ev;
};

static int	push_validate(const struct json *, const struct config *,
		    struct search_err *);
static int	push_start(struct run *, char *, size_t);
static void	push_cancel(struct run *);

const struct src_ops src_push_ops = {
	SEARCH_PUSH, push_validate, push_start, push_cancel
};

/* Keys that belong to searches that ask something. */
static const char *const push_foreign[] = {
	"source", "query", "query_dsl", "index", "schedule", "range", "delay",
	"timeout", "host", "port", "url", "method", "expect_status", "match",
	"max_latency", "cert_expiry_days", "ca_file", "alerts", "above",
	"below", NULL
};

static int
push_validate(const struct json *def, const struct config *cfg,
    struct search_err *err)
{
	return (src_refuse_keys(def, push_foreign, "push", err));
}

struct push_input *
push_input_new(void)
{
	return (xcalloc(1, sizeof(struct push_input)));
}

/* Add a record (owned by the input from now on). */
void
push_input_add(struct push_input *pi, struct record *rec)
{
	pi->pi_recs = xreallocarray(pi->pi_recs, pi->pi_n + 1,
	    sizeof *pi->pi_recs);
	pi->pi_recs[pi->pi_n++] = rec;
}

void
push_input_free(struct push_input *pi)
{
	size_t	 i;

	if (pi == NULL)
		return;
	for (i = 0; i < pi->pi_n; i++)
		record_free(pi->pi_recs[i]);
	free(pi->pi_recs);
	if (pi->pi_ev != NULL)
		event_free(pi->pi_ev);
	free(pi);
}

/* From the loop: hand the records to the run, then end it. */
static void
push_feed_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct push_input	*pi = arg;
	struct run		*r = pi->pi_run;
	size_t			 i;

	for (i = 0; i < pi->pi_n; i++) {
		(void)run_record(r, pi->pi_recs[i]);
		pi->pi_recs[i] = NULL;
	}
	pi->pi_n = 0;
	run_set_driver(r, NULL);
	push_input_free(pi);
	run_finish(r, NULL, 0, NULL);
}

static int
push_start(struct run *r, char *err, size_t errlen)
{
	struct push_input	*pi = run_driver(r);

	if (pi == NULL) {
		snprintf(err, errlen, "a push search runs only with what "
		    "POST /api/v1/push/ID brings");
		return (-1);
	}
	pi->pi_run = r;
	pi->pi_ev = event_new(run_env(r)->re_base, -1, 0, push_feed_cb, pi);
	event_active(pi->pi_ev, EV_TIMEOUT, 0);
	return (0);
}

static void
push_cancel(struct run *r)
{
	push_input_free(run_driver(r));
	run_set_driver(r, NULL);
}
