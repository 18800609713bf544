/*
 * audit.c -- D4: the audit log of changes made through the API.
 *
 * api.c calls audit_write when it answers a change (not GET or HEAD) with
 * a 2xx status.  The entry is queued for the group commit, so recording it
 * never blocks a request; its id comes from the "audit" counter inside the
 * transaction, so ids follow commit order.  STORE_AUDIT: be64 id ->
 * {"id", "time", "actor", "method", "path", "object", "status",
 * "summary"}.  Entries are kept until removed by hand (no retention yet).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "json.h"
#include "log.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

/* An entry waiting for the commit: copies of the texts. */
struct audit_job {
	struct audit_entry	 aj_e;
	char			*aj_text[5];
};

/* Write an entry as JSON. */
void
audit_gen(yajl_gen g, uint64_t id, const struct audit_entry *e)
{
	yajl_gen_map_open(g);
	jgen_kint(g, "id", (int64_t)id);
	jgen_ktime(g, "time", e->ae_time);
	jgen_kstr(g, "actor", e->ae_actor);
	jgen_kstr(g, "method", e->ae_method);
	jgen_kstr(g, "path", e->ae_path);
	jgen_kstr(g, "object", e->ae_object);
	jgen_kint(g, "status", e->ae_status);
	jgen_kstr(g, "summary", e->ae_summary);
	yajl_gen_map_close(g);
}

/* Put the entry with the next id. */
static int
audit_apply(struct store_txn *txn, void *arg)
{
	struct audit_job	*j = arg;
	const unsigned char	*p;
	uint64_t		 id;
	uint8_t			 key[8];
	size_t			 len;
	yajl_gen		 g;
	int			 rc;

	if ((id = store_next_id(txn, "audit")) == 0)
		return (-1);
	g = jgen_new();
	audit_gen(g, id, &j->aj_e);
	yajl_gen_get_buf(g, &p, &len);
	util_be64_put(key, id);
	rc = store_put(txn, STORE_AUDIT, key, sizeof key, p, len);
	yajl_gen_free(g);
	return (rc);
}

/* The commit is over. */
static void
audit_done(void *arg, int ok, const char *why)
{
	struct audit_job	*j = arg;
	size_t			 i;

	if (!ok)
		log_warnx("audit: could not record %s %s by %s: %s",
		    j->aj_e.ae_method, j->aj_e.ae_path, j->aj_e.ae_actor, why);
	for (i = 0; i < 5; i++)
		free(j->aj_text[i]);
	free(j);
}

/* A copy of s cut to AUDIT_FIELD_MAX bytes (on a UTF-8 boundary). */
static char *
audit_copy(const char *s)
{
	size_t	 n;

	if (s == NULL)
		return (NULL);
	n = strlen(s);
	if (n > AUDIT_FIELD_MAX) {
		n = AUDIT_FIELD_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return (xstrndup(s, n));
}

/* Queue an entry for the next group commit. */
void
audit_write(struct store *store, const struct audit_entry *e)
{
	struct audit_job	*j;

	j = xcalloc(1, sizeof *j);
	j->aj_e = *e;
	j->aj_e.ae_actor = j->aj_text[0] = audit_copy(e->ae_actor);
	j->aj_e.ae_method = j->aj_text[1] = audit_copy(e->ae_method);
	j->aj_e.ae_path = j->aj_text[2] = audit_copy(e->ae_path);
	j->aj_e.ae_object = j->aj_text[3] = audit_copy(e->ae_object);
	j->aj_e.ae_summary = j->aj_text[4] = audit_copy(e->ae_summary);
	store_write(store, audit_apply, audit_done, j);
}
