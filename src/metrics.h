/*
 * metrics.h -- counters of the whole process, and /metrics in the
 * Prometheus text format (0.0.4).
 */
#ifndef PROG_METRICS_H
#define PROG_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct buf;

struct metrics {
	uint64_t	 m_runs_ok;		/* runs that succeeded */
	uint64_t	 m_runs_failed;		/* runs that failed */
	uint64_t	 m_runs_retried;	/* retries scheduled */
	uint64_t	 m_runs_truncated;	/* runs that hit the alert cap */
	uint64_t	 m_hits;		/* records from sources */
	uint64_t	 m_alerts;		/* alerts committed */
	uint64_t	 m_dropped;		/* records dropped by filters */
	uint64_t	 m_events;		/* outbox entries committed */
	uint64_t	 m_commits;		/* store batch commits */
	uint64_t	 m_commit_failures;
	uint64_t	 m_api_requests;
	uint64_t	 m_api_errors;		/* 4xx and 5xx answers */
	uint64_t	 m_windows_skipped;	/* windows past catch-up */
	uint64_t	 m_jobs_pruned;		/* job records past retention */
	int64_t		 m_run_us_sum;		/* wall time of runs */
	int64_t		 m_started_ms;
};

/* Append one metric family: HELP and TYPE lines and one unlabelled sample. */
void	metrics_family(struct buf *, const char *, const char *,
	    const char *, double);
/* Append a HELP and TYPE header only (labelled samples follow). */
void	metrics_header(struct buf *, const char *, const char *, const char *);
/* Append a label value escaped for the text format. */
void	metrics_label(struct buf *, const char *);

#endif
