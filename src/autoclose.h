/*
 * autoclose.h -- D5: alerts idle longer than their search's "autoclose"
 * are resolved as too_old, logged (actor "411") and announced with
 * alert.resolved, by a periodic task.
 */
#ifndef PROG_AUTOCLOSE_H
#define PROG_AUTOCLOSE_H

#include <stdint.h>

struct run_env;
struct searches;
struct autoclose;

#define AUTOCLOSE_EVERY		60	/* seconds between passes */
#define AUTOCLOSE_FIRST		1	/* seconds after start to the first */
#define AUTOCLOSE_BATCH		1000	/* alerts resolved in one commit */

/*
 * Start the task over env's store and the searches: the first pass runs
 * AUTOCLOSE_FIRST seconds after start, then every AUTOCLOSE_EVERY (sooner
 * while a pass finds more than a batch).  Also brings the alert indexes up
 * to date (alert_reindex) before anything else uses them.  NULL on a
 * store error (logged).
 */
struct autoclose *autoclose_new(struct run_env *, struct searches *);
/* Stop; accepts NULL.  A pass being committed finishes first. */
void		 autoclose_free(struct autoclose *);
/* Alerts resolved since start (for tests and metrics). */
uint64_t	 autoclose_count(const struct autoclose *);

#endif
