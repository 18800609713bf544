/*
 * trust.h -- what a search may name: the operator decides, editors choose.
 *
 * A search (written through the API by an editor, or a file in
 * searches_dir) never carries a path nor a command line.  It names a file
 * inside a directory the operator set in 411d.conf: a program in
 * script_dir, a table in maps_dir, a certificate in certs_dir.  A name is
 * a plain file name (no '/', not "." nor "..", no leading '.', no NUL);
 * it is resolved with realpath() and must stay inside the directory
 * (symlinks leaving it are refused) and be a regular file.  Without the
 * directive, the option is refused.
 *
 * The directories live in one process-wide copy (411d is one thread),
 * set from the configuration at start and on SIGHUP: filter and search
 * validation has no other way to the configuration.
 */
#ifndef PROG_TRUST_H
#define PROG_TRUST_H

#include <sys/types.h>

#include <stddef.h>

struct config;
struct json;

enum trust_kind {
	TRUST_SCRIPT,		/* script_dir: programs for script filters */
	TRUST_MAPS,		/* maps_dir: enrich tables */
	TRUST_CERTS,		/* certs_dir: CA files of http searches */
	TRUST_NKINDS
};

/* Copy the directories and script_user of cfg (NULL: none at all). */
void		 trust_set(const struct config *);
/* Set one directory (NULL: none); for tests and tools. */
void		 trust_set_dir(enum trust_kind, const char *);
/* The directory of kind, NULL when the operator set none. */
const char	*trust_dir(enum trust_kind);
/* The directive that sets kind ("script_dir"). */
const char	*trust_directive(enum trust_kind);
/*
 * Whether name (len bytes, for NUL checks) is a plain file name.
 * Returns 0, or -1 with *why.
 */
int		 trust_name_ok(const char *, size_t, const char **);
/*
 * Resolve name inside kind's directory: the real path (malloc'd) of a
 * regular file inside it, or NULL with msg (which names only the name,
 * never where a symlink leads).  With missing_ok, a name that does not
 * exist (yet) gives NULL with *missing set and no error.
 */
char		*trust_resolve(enum trust_kind, const char *, int, int *,
		    char *, size_t);
/*
 * Check an option value j (a JSON string) naming a file of kind, for
 * validation: a plain name, the directory set, and, when the file
 * exists, inside the directory.  Returns 0, or -1 with msg.
 */
int		 trust_check(enum trust_kind, const struct json *, char *,
		    size_t);
/*
 * Lenient checks (on: 1) for loading stored searches "without the config
 * checks": trust_check accepts anything and script filters accept their
 * old options, so a search saved before a directive went away (or before
 * "command" was refused) stays visible and fails at its runs instead,
 * where every name is resolved again.  Never on for what an editor sends.
 */
void		 trust_lenient(int);
int		 trust_is_lenient(void);
/*
 * When 411d runs as root, whom scripts run as: 0 with *uid and *gid (the
 * user named by script_user), or -1 with msg when that user does not
 * exist.  When not root: 1 (scripts run as 411d's own user).
 */
int		 trust_script_user(uid_t *, gid_t *, char *, size_t);

#endif
