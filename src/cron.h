/*
 * cron.h -- 5-field cron expressions in a time zone.
 *
 * Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or
 * jan-dec), day of week (0-7 or sun-sat, 0 and 7 are Sunday).  Each field
 * is a comma list of "*", "N", "A-B", "*\/S", "A-B/S" or "A/S" (A to the
 * field's maximum), names case-insensitive.  When both day fields are
 * restricted (neither starts with "*"), a day matches when either one
 * does; otherwise both must.
 *
 * Times are local to the zone (the system tz database; "UTC" when none is
 * given).  A local time that does not exist (the clock jumps forward)
 * fires once, at the first minute after the gap; a local time that occurs
 * twice (the clock goes back) fires once, at its first occurrence.
 *
 * cron_next and cron_prev switch the process's TZ for the duration of the
 * call and put it back: call them from one thread only (411d's loop).
 */
#ifndef PROG_CRON_H
#define PROG_CRON_H

#include <stddef.h>
#include <stdint.h>

struct cron;

#define CRON_ERR_SPEC	1	/* the expression is bad */
#define CRON_ERR_TZ	2	/* the time zone is unknown */

/*
 * Compile spec in zone tz (NULL for UTC).  Returns a new cron, or NULL
 * with *what set to CRON_ERR_SPEC or CRON_ERR_TZ and err filled (for a bad
 * field: "minute: 75 is out of range 0-59").
 */
struct cron	*cron_new(const char *, const char *, int *, char *, size_t);
/* Free.  Accepts NULL. */
void		 cron_free(struct cron *);

/* The first fire time strictly after t (ms), or -1 when none. */
int64_t		 cron_next(const struct cron *, int64_t);
/* The last fire time at or before t (ms), or -1 when none. */
int64_t		 cron_prev(const struct cron *, int64_t);
/* The shortest gap between fires (ms), measured over a few of them. */
int64_t		 cron_interval(const struct cron *);

#endif
