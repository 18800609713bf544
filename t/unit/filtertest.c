/*
 * filtertest.c -- what the filter unit tests share (filtertest.h).
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "filtertest.h"
#include "json.h"
#include "record.h"
#include "search.h"
#include "tap.h"

/* A filter_trace_cb filling a struct trace. */
void
trace_cb(void *arg, long rec, size_t pos, const char *type,
    const char *what, const char *why)
{
	struct trace	*t = arg;

	t->calls++;
	t->rec = rec;
	t->pos = pos;
	snprintf(t->type, sizeof t->type, "%s", type);
	snprintf(t->what, sizeof t->what, "%s", what);
	snprintf(t->why, sizeof t->why, "%s", why);
}

/* The chain of s for a run at now (ms). */
struct filter_chain *
chain_at(const struct search *s, int64_t now)
{
	struct filter_env	 fe;

	memset(&fe, 0, sizeof fe);
	fe.fe_now = now;
	fe.fe_search = s->s_id;
	fe.fe_created = s->s_created;
	fe.fe_updated = s->s_updated;
	return (filter_chain_new(s, &fe));
}

/* A JSON tree from text. */
struct json *
parse(const char *text)
{
	struct json	*j;
	char		 msg[128];

	if ((j = json_parse(text, strlen(text), msg, sizeof msg)) == NULL)
		bail("bad test JSON %s: %s", text, msg);
	return (j);
}

/* A search with extra members, filters and id. */
struct search *
mksearch2(const char *extra, const char *filters, uint64_t id)
{
	struct json		*j;
	struct search		*s;
	struct search_err	 err;
	char			*text;

	if (asprintf(&text, "{\"name\":\"f\",\"type\":\"es\",\"source\":"
	    "\"logs\",\"query\":\"*\"%s,\"filters\":%s}", extra,
	    filters) == -1)
		bail("asprintf");
	j = parse(text);
	free(text);
	if ((s = search_from_json(j, NULL, &err)) == NULL)
		bail("search refused: %s: %s", err.se_field, err.se_message);
	json_free(j);
	s->s_id = id;
	s->s_created = s->s_updated = T0;
	return (s);
}

struct search *
mksearch(const char *filters, uint64_t id)
{
	return (mksearch2("", filters, id));
}

/* A record of string fields at event time t. */
struct record *
rec(int64_t t, ...)
{
	struct record	*r;
	const char	*k, *v;
	va_list		 ap;

	r = record_new();
	r->r_time = t;
	va_start(ap, t);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		record_add_str(r, k, v, strlen(v));
	}
	va_end(ap);
	return (r);
}

/* Pass r through the chain; free it unless held. */
enum filter_verdict
pass(struct filter_chain *fc, struct fstate *fs, struct record *r,
    struct trace *t)
{
	enum filter_verdict	 v;

	v = filter_chain_record(fc, fs, r, t != NULL ? trace_cb : NULL, t);
	if (v != FILTER_HELD)
		record_free(r);
	return (v);
}
