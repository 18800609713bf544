/*
 * trust.c -- the directories a search may name files in (see trust.h).
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "json.h"
#include "trust.h"
#include "xmalloc.h"

#define TRUST_NAME_MAX	255		/* NAME_MAX of most file systems */

static char	*trust_dirs[TRUST_NKINDS];
static char	*trust_user;		/* NULL: CONFIG_SCRIPT_USER */
static int	 trust_lenient_on;

static const char *const trust_directives[TRUST_NKINDS] = {
	"script_dir", "maps_dir", "certs_dir"
};

/* Replace *p with a copy of v (NULL: none). */
static void
trust_setstr(char **p, const char *v)
{
	free(*p);
	*p = v != NULL ? xstrdup(v) : NULL;
}

/* Copy the directories and script_user of cfg. */
void
trust_set(const struct config *cfg)
{
	trust_setstr(&trust_dirs[TRUST_SCRIPT], cfg ? cfg->c_script_dir : NULL);
	trust_setstr(&trust_dirs[TRUST_MAPS], cfg ? cfg->c_maps_dir : NULL);
	trust_setstr(&trust_dirs[TRUST_CERTS], cfg ? cfg->c_certs_dir : NULL);
	trust_setstr(&trust_user, cfg ? cfg->c_script_user : NULL);
}

/* Set one directory. */
void
trust_set_dir(enum trust_kind k, const char *dir)
{
	trust_setstr(&trust_dirs[k], dir);
}

/* The directory of k, or NULL. */
const char *
trust_dir(enum trust_kind k)
{
	return (trust_dirs[k]);
}

/* The directive of k. */
const char *
trust_directive(enum trust_kind k)
{
	return (trust_directives[k]);
}

/* Lenient checks on or off (stored searches only). */
void
trust_lenient(int on)
{
	trust_lenient_on = on;
}

/* Whether checks are lenient. */
int
trust_is_lenient(void)
{
	return (trust_lenient_on);
}

/* Whether name is a plain file name. */
int
trust_name_ok(const char *name, size_t len, const char **why)
{
	if (name == NULL || len == 0) {
		*why = "must be a file name";
		return (-1);
	}
	if (strlen(name) != len) {
		*why = "must not contain NUL";
		return (-1);
	}
	if (len > TRUST_NAME_MAX) {
		*why = "must be a file name of at most 255 bytes";
		return (-1);
	}
	if (strchr(name, '/') != NULL) {
		*why = "must be a plain file name, not a path (no '/')";
		return (-1);
	}
	if (name[0] == '.') {
		*why = "must not start with '.' (no \".\", \"..\" nor "
		    "hidden files)";
		return (-1);
	}
	return (0);
}

/* Resolve name inside k's directory. */
char *
trust_resolve(enum trust_kind k, const char *name, int missing_ok,
    int *missing, char *msg, size_t len)
{
	struct stat	 st;
	const char	*why, *dir = trust_dirs[k];
	char		*rdir = NULL, *path = NULL, *real = NULL;
	size_t		 n;

	if (missing != NULL)
		*missing = 0;
	if (dir == NULL) {
		snprintf(msg, len, "%s is not set in 411d.conf: the operator "
		    "has allowed no such files", trust_directives[k]);
		return (NULL);
	}
	if (trust_name_ok(name, name != NULL ? strlen(name) : 0,
	    &why) == -1) {
		snprintf(msg, len, "%s", why);
		return (NULL);
	}
	if ((rdir = realpath(dir, NULL)) == NULL) {
		snprintf(msg, len, "%s %s: %s", trust_directives[k], dir,
		    strerror(errno));
		return (NULL);
	}
	path = xprintf("%s/%s", rdir, name);
	if ((real = realpath(path, NULL)) == NULL) {
		if (errno == ENOENT && lstat(path, &st) == -1 &&
		    missing_ok) {
			*missing = 1;
			msg[0] = '\0';
		} else if (errno == ENOENT && lstat(path, &st) == -1)
			snprintf(msg, len, "\"%s\": no such file in %s",
			    name, trust_directives[k]);
		else
			snprintf(msg, len, "\"%s\" in %s: %s", name,
			    trust_directives[k], strerror(errno));
		goto fail;
	}
	/* Inside: the real directory, a '/', then more. */
	n = strlen(rdir);
	if (strcmp(rdir, "/") == 0)
		n = 0;
	if (strncmp(real, rdir, n) != 0 || real[n] != '/' ||
	    real[n + 1] == '\0') {
		snprintf(msg, len, "\"%s\" leads outside %s (a symlink?): "
		    "refused", name, trust_directives[k]);
		goto fail;
	}
	if (stat(real, &st) == -1) {
		snprintf(msg, len, "\"%s\" in %s: %s", name,
		    trust_directives[k], strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, len, "\"%s\" in %s is not a regular file",
		    name, trust_directives[k]);
		goto fail;
	}
	free(rdir);
	free(path);
	return (real);
fail:
	free(rdir);
	free(path);
	free(real);
	return (NULL);
}

/* Check an option naming a file of k. */
int
trust_check(enum trust_kind k, const struct json *j, char *msg, size_t len)
{
	struct stat	 st;
	const char	*why;
	char		*real;
	int		 missing;

	if (trust_lenient_on)
		return (0);		/* resolved, and refused, at run time */
	if (json_str(j) == NULL) {
		snprintf(msg, len, "must be the name of a file in %s",
		    trust_directives[k]);
		return (-1);
	}
	if (trust_name_ok(json_str(j), j->j_u.str.len, &why) == -1) {
		snprintf(msg, len, "%s: name a file in %s", why,
		    trust_directives[k]);
		return (-1);
	}
	if (trust_dirs[k] == NULL) {
		snprintf(msg, len, "%s is not set in 411d.conf: the operator "
		    "has allowed no such files", trust_directives[k]);
		return (-1);
	}
	/* A directory not there yet is checked at run time. */
	if (stat(trust_dirs[k], &st) == -1)
		return (0);
	real = trust_resolve(k, json_str(j), 1, &missing, msg, len);
	if (real == NULL && !missing)
		return (-1);
	free(real);
	return (0);
}

/* Whom scripts run as. */
int
trust_script_user(uid_t *uid, gid_t *gid, char *msg, size_t len)
{
	struct passwd	*pw;
	const char	*u = trust_user != NULL ? trust_user :
			    CONFIG_SCRIPT_USER;

	if (geteuid() != 0)
		return (1);
	errno = 0;
	if ((pw = getpwnam(u)) == NULL) {
		/* getpwnam(3): these errno values also mean "not found". */
		snprintf(msg, len, "script_user \"%s\": %s", u, errno == 0 ||
		    errno == ENOENT || errno == ESRCH || errno == EBADF ||
		    errno == EPERM ? "no such user" : strerror(errno));
		return (-1);
	}
	if (pw->pw_uid == 0) {
		snprintf(msg, len, "script_user \"%s\" is root: refused", u);
		return (-1);
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return (0);
}
