/*
 * audit.h -- D4: the audit log, one entry for every change made through
 * the API, kept in STORE_AUDIT (be64 seq -> entry JSON).
 */
#ifndef PROG_AUDIT_H
#define PROG_AUDIT_H

#include <stdint.h>

#include <yajl/yajl_gen.h>

struct store;

#define AUDIT_FIELD_MAX		256	/* characters kept of each text */

/* One change; every text is borrowed and may be NULL. */
struct audit_entry {
	int64_t		 ae_time;	/* ms */
	const char	*ae_actor;	/* the key's name or the user */
	const char	*ae_method;	/* "POST" */
	const char	*ae_path;	/* "/api/v1/searches/12" */
	const char	*ae_object;	/* "search:12" */
	const char	*ae_summary;	/* "update: raise the threshold" */
	int		 ae_status;	/* the answer's status */
};

/*
 * Queue the entry for the next group commit (the texts are copied, cut to
 * AUDIT_FIELD_MAX).  It takes the next "audit" counter as its id.  A failed
 * write is logged; nothing waits for it.
 */
void		 audit_write(struct store *, const struct audit_entry *);
/* Write an entry as JSON with its id. */
void		 audit_gen(yajl_gen, uint64_t, const struct audit_entry *);

#endif
