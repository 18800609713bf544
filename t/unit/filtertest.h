/*
 * filtertest.h -- what the filter unit tests share: times, a trace that
 * remembers the last decision, searches and records made from short
 * literals, and one record through a chain.
 */
#ifndef FILTERTEST_H
#define FILTERTEST_H

#include <stddef.h>
#include <stdint.h>

#include "filter.h"

struct json;
struct record;
struct search;

#define MIN_MS		(60 * 1000LL)
#define HOUR_MS		(60 * MIN_MS)
#define DAY_MS		(24 * HOUR_MS)
#define T0		1795460400000LL		/* 2026-11-23T19:00:00Z */

/* What a trace callback saw last. */
struct trace {
	int	 calls;
	long	 rec;
	size_t	 pos;
	char	 type[32];
	char	 what[32];
	char	 why[300];
};

/* A filter_trace_cb filling a struct trace. */
void		 trace_cb(void *, long, size_t, const char *, const char *,
		    const char *);
/* The chain of s for a run at now (ms). */
struct filter_chain *chain_at(const struct search *, int64_t);
/* A JSON tree from text (bails out on bad text). */
struct json	*parse(const char *);
/*
 * A search (no config) with extra members (",..." or ""), filters and id,
 * created and updated at T0.
 */
struct search	*mksearch2(const char *, const char *, uint64_t);
struct search	*mksearch(const char *, uint64_t);
/* A record of string fields "k1", "v1", ..., NULL at event time t. */
struct record	*rec(int64_t, ...);
/*
 * Pass r through the chain; free it unless the chain held it.  Returns
 * the verdict.  t may be NULL.
 */
enum filter_verdict pass(struct filter_chain *, struct fstate *,
		    struct record *, struct trace *);

#endif
