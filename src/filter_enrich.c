/*
 * filter_enrich.c -- C7: add a field from a local lookup of another one.
 *
 *   {"type": "enrich", "field": "src_ip", "target": "src_site",
 *    "cidr": {"10.0.0.0/8": "corp", "192.168.1.0/24": "lab"}}
 *   {"type": "enrich", "field": "user", "target": "team",
 *    "map_file": "teams.txt"}
 *   {"type": "enrich", "field": "src_ip", "rdns": true,
 *    "rdns_timeout": "2s"}
 *
 * One lookup a filter: a CIDR table (longest prefix wins, IPv4 and IPv6),
 * a static map, or reverse DNS.  Tables come inline or from a file
 * ("NETWORK VALUE" / "KEY VALUE" lines, '#' comments; a map file may also
 * be one JSON object); a file is read once per change (path, mtime and
 * size), so runs share it.  A search names a table file, never a path:
 * "map_file" and "cidr_file" are plain names inside maps_dir (411d.conf),
 * resolved with realpath and kept inside it (trust.h), so a search cannot
 * read 411d.conf or any other file the operator did not put there.  CIDR and map lookups work on each record as it
 * streams.  Reverse DNS works on the whole run (a batch filter): the
 * distinct addresses not in the process-wide cache are resolved through
 * the daemon's asynchronous resolver, at most ENRICH_INFLIGHT at a time,
 * within rdns_timeout for the batch; a name not found in time is simply
 * not added.  A record without the field, or whose value is not found,
 * passes unchanged.
 *
 * The CIDR table is one array sorted by (prefix length descending,
 * address): a lookup masks the address to each length present and does a
 * binary search in that length's run, longest first.  IPv4 networks are
 * kept as IPv4-mapped IPv6 (::ffff:0:0/96).
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "buf.h"
#include "filter.h"
#include "hmap.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "search.h"
#include "trust.h"
#include "util.h"
#include "xmalloc.h"

#define ENRICH_MAX_ENTRIES	100000
#define ENRICH_MAX_FILE		(64 * 1024 * 1024)
#define ENRICH_MAX_VALUE	1024
#define ENRICH_INFLIGHT		64
#define ENRICH_DEFAULT_RDNS	(2 * 1000LL)		/* ms */
#define ENRICH_MAX_RDNS		(60 * 1000LL)
#define ENRICH_TTL_POS		(3600 * 1000LL)		/* cache, ms */
#define ENRICH_TTL_NEG		(300 * 1000LL)
#define ENRICH_CACHE_MAX	100000

enum enrich_kind {
	ENRICH_CIDR,
	ENRICH_MAP,
	ENRICH_RDNS
};

struct cidr_entry {
	uint8_t		 c_addr[16];	/* masked */
	int		 c_plen;	/* 0..128, in the IPv6 space */
	size_t		 c_seq;		/* order given */
	char		*c_val;
};

struct cidr_run {
	int		 r_plen;
	size_t		 r_start;
	size_t		 r_n;
};

/* A loaded table, shared by reference (file tables also by the cache). */
struct etable {
	int			 t_refs;
	enum enrich_kind	 t_kind;
	struct cidr_entry	*t_cidr;
	size_t			 t_n;
	struct cidr_run		*t_runs;
	size_t			 t_nruns;
	struct hmap		*t_map;		/* key -> char * */
	/* For the file cache. */
	char			*t_path;
	struct timespec		 t_mtime;
	off_t			 t_size;
};

/* A reverse lookup in flight; outlives a cancelled batch. */
struct rdns_req {
	struct enrich		*q_e;		/* NULL: orphaned */
	uint8_t			 q_addr[16];
	struct evdns_request	*q_req;
	struct rdns_req		*q_next, *q_prev;
};

/* A process-wide cache entry for an address. */
struct rdns_cache {
	char		*rc_name;	/* NULL: no name */
	int64_t		 rc_expires;	/* ms */
};

struct enrich {
	enum enrich_kind	 e_kind;
	char			*e_field;
	char			*e_target;
	struct etable		*e_table;	/* NULL with rdns, or error */
	char			 e_error[300];	/* why the table is missing */
	struct buf		 e_buf;
	char			 e_why[300];

	/* rdns */
	struct event_base	*e_base;
	struct evdns_base	*e_dns;
	int64_t			 e_timeout;	/* ms */
	struct filter_batch	*e_batch;
	filter_batch_cb		 e_done;
	void			*e_arg;
	uint8_t			(*e_addrs)[16];	/* the run's distinct addresses */
	size_t			 e_naddrs;
	size_t			 e_next;
	size_t			 e_inflight;
	struct rdns_req		*e_reqs;	/* in flight */
	struct event		*e_timer;
	size_t			 e_found;
	int			 e_finishing;
};

static int	enrich_validate(const struct json *, const char *,
		    struct search_err *);
static void	*enrich_new(const struct json *, const struct filter_env *);
static enum filter_verdict enrich_record(void *, struct fstate *, uint16_t,
		    struct record *, const char **);
static void	enrich_batch(void *, struct fstate *, uint16_t,
		    struct filter_batch *, filter_batch_cb, void *);
static void	enrich_free(void *);
static int	enrich_is_batch(void *);
static void	enrich_issue(struct enrich *);

const struct filter_ops filter_enrich_ops = {
	.fo_name = "enrich",
	.fo_validate = enrich_validate,
	.fo_new = enrich_new,
	.fo_record = enrich_record,
	.fo_batch = enrich_batch,
	.fo_is_batch = enrich_is_batch,
	.fo_free = enrich_free
};

/*
 * CIDR and map enrichers stream (fo_record as each record comes); only
 * reverse DNS works on the whole run (enrich_is_batch).
 */

/* Only reverse DNS works on the whole run. */
static int
enrich_is_batch(void *self)
{
	const struct enrich	*e = self;

	return (e->e_kind == ENRICH_RDNS);
}

static const char *const enrich_options[] = {
	"field", "target", "cidr", "cidr_file", "map", "map_file", "rdns",
	"rdns_timeout", NULL
};

static struct hmap	*enrich_files;		/* path -> struct etable */
static struct hmap	*enrich_cache;		/* 16 bytes -> rdns_cache */

/* Parse an address into 16 bytes (IPv4 mapped); returns 0 or -1. */
static int
enrich_addr(const char *s, uint8_t out[16])
{
	struct in_addr	 a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return (0);
	}
	if (inet_pton(AF_INET6, s, out) == 1)
		return (0);
	return (-1);
}

/* Keep the first plen bits of a. */
static void
enrich_mask(uint8_t a[16], int plen)
{
	int	 i;

	for (i = 0; i < 16; i++) {
		if (plen >= 8) {
			plen -= 8;
			continue;
		}
		a[i] &= (uint8_t)(0xff00 >> plen);
		plen = 0;
	}
}

/* Parse "NET/LEN" or an address; returns 0 or -1 with *e. */
static int
enrich_parse_cidr(const char *s, uint8_t addr[16], int *plen,
    const char **e)
{
	char		 tmp[INET6_ADDRSTRLEN + 8], *slash;
	uint64_t	 len;
	int		 v4, max;

	if (strlen(s) >= sizeof tmp) {
		*e = "not a network (\"10.0.0.0/8\", \"2001:db8::/32\")";
		return (-1);
	}
	strcpy(tmp, s);
	if ((slash = strchr(tmp, '/')) != NULL)
		*slash++ = '\0';
	if (enrich_addr(tmp, addr) == -1) {
		*e = "not a network (\"10.0.0.0/8\", \"2001:db8::/32\")";
		return (-1);
	}
	v4 = strchr(tmp, ':') == NULL;
	max = v4 ? 32 : 128;
	len = (uint64_t)max;
	if (slash != NULL && util_parse_uint(slash, (uint64_t)max,
	    &len) == -1) {
		*e = v4 ? "prefix length must be 0 to 32" :
		    "prefix length must be 0 to 128";
		return (-1);
	}
	*plen = (int)len + (v4 ? 96 : 0);
	enrich_mask(addr, *plen);
	return (0);
}

/* Order: longer prefixes first, then by address. */
static int
cidr_cmp(const void *a, const void *b)
{
	const struct cidr_entry	*x = a, *y = b;

	int			 c;

	if (x->c_plen != y->c_plen)
		return (x->c_plen > y->c_plen ? -1 : 1);
	if ((c = memcmp(x->c_addr, y->c_addr, 16)) != 0)
		return (c);
	/* The same network: the one given last first. */
	return (x->c_seq > y->c_seq ? -1 : x->c_seq < y->c_seq);
}

/* The same network. */
static int
cidr_same(const struct cidr_entry *x, const struct cidr_entry *y)
{
	return (x->c_plen == y->c_plen &&
	    memcmp(x->c_addr, y->c_addr, 16) == 0);
}

static struct etable *
etable_new(enum enrich_kind kind)
{
	struct etable	*t;

	t = xcalloc(1, sizeof *t);
	t->t_refs = 1;
	t->t_kind = kind;
	if (kind == ENRICH_MAP)
		t->t_map = hmap_new();
	return (t);
}

static void
etable_unref(struct etable *t)
{
	struct hmap_iter	 it = { 0 };
	void			*v;
	size_t			 i;

	if (t == NULL || --t->t_refs > 0)
		return;
	for (i = 0; i < t->t_n; i++)
		free(t->t_cidr[i].c_val);
	free(t->t_cidr);
	free(t->t_runs);
	if (t->t_map != NULL) {
		while (hmap_next(t->t_map, &it, NULL, NULL, &v))
			free(v);
		hmap_free(t->t_map);
	}
	free(t->t_path);
	free(t);
}

/* Add one entry; -1 with *e when the table is full or net is bad. */
static int
etable_add(struct etable *t, const char *key, const char *val,
    const char **e)
{
	struct cidr_entry	*c;
	size_t			 n;

	if (strlen(val) > ENRICH_MAX_VALUE) {
		*e = "value longer than 1024 bytes";
		return (-1);
	}
	n = t->t_kind == ENRICH_CIDR ? t->t_n : hmap_count(t->t_map);
	if (n >= ENRICH_MAX_ENTRIES) {
		*e = "more than 100000 entries";
		return (-1);
	}
	if (t->t_kind == ENRICH_MAP) {
		free(hmap_put(t->t_map, key, strlen(key), xstrdup(val)));
		return (0);
	}
	if ((t->t_n & (t->t_n - 1)) == 0 || t->t_n == 0)
		t->t_cidr = xreallocarray(t->t_cidr, t->t_n == 0 ? 16 :
		    t->t_n * 2, sizeof *t->t_cidr);
	c = &t->t_cidr[t->t_n];
	if (enrich_parse_cidr(key, c->c_addr, &c->c_plen, e) == -1)
		return (-1);
	c->c_val = xstrdup(val);
	c->c_seq = t->t_n++;
	return (0);
}

/* Sort a CIDR table and index its runs of prefix lengths. */
static void
etable_seal(struct etable *t)
{
	size_t	 i, k;

	if (t->t_kind != ENRICH_CIDR || t->t_n == 0)
		return;
	qsort(t->t_cidr, t->t_n, sizeof *t->t_cidr, cidr_cmp);
	/* A network given twice: the last one given wins (as in a map). */
	for (i = 1, k = 1; i < t->t_n; i++) {
		if (cidr_same(&t->t_cidr[i], &t->t_cidr[k - 1])) {
			free(t->t_cidr[i].c_val);
			continue;
		}
		t->t_cidr[k++] = t->t_cidr[i];
	}
	t->t_n = k;
	t->t_runs = xcalloc(129, sizeof *t->t_runs);
	for (i = 0; i < t->t_n; i++) {
		if (t->t_nruns == 0 ||
		    t->t_runs[t->t_nruns - 1].r_plen != t->t_cidr[i].c_plen) {
			t->t_runs[t->t_nruns].r_plen = t->t_cidr[i].c_plen;
			t->t_runs[t->t_nruns].r_start = i;
			t->t_nruns++;
		}
		t->t_runs[t->t_nruns - 1].r_n++;
	}
}

/* The value of the longest network holding addr, or NULL. */
static const char *
etable_cidr(const struct etable *t, const uint8_t addr[16])
{
	const struct cidr_run	*r;
	const struct cidr_entry	*c;
	uint8_t			 a[16];
	size_t			 lo, hi, mid, i;
	int			 cmp;

	for (i = 0; i < t->t_nruns; i++) {
		r = &t->t_runs[i];
		memcpy(a, addr, 16);
		enrich_mask(a, r->r_plen);
		lo = r->r_start;
		hi = r->r_start + r->r_n;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			c = &t->t_cidr[mid];
			if ((cmp = memcmp(c->c_addr, a, 16)) == 0)
				return (c->c_val);
			if (cmp < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return (NULL);
}

/* Build a table from an inline JSON object; NULL with *e (and *key). */
static struct etable *
etable_from_json(enum enrich_kind kind, const struct json *o,
    const char **e, const char **key)
{
	struct etable		*t;
	const struct json	*v;
	size_t			 i;

	t = etable_new(kind);
	for (i = 0; i < o->j_u.obj.n; i++) {
		*key = o->j_u.obj.m[i].m_key;
		v = o->j_u.obj.m[i].m_val;
		if (json_str(v) == NULL) {
			*e = "values must be strings";
			goto fail;
		}
		if (etable_add(t, *key, json_str(v), e) == -1)
			goto fail;
	}
	etable_seal(t);
	return (t);
fail:
	etable_unref(t);
	return (NULL);
}

/* Read a whole file into b; -1 with msg. */
static int
enrich_slurp(const char *path, struct buf *b, struct stat *st, char *msg,
    size_t len)
{
	FILE	*fp;
	char	 chunk[65536];
	size_t	 n;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(msg, len, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fileno(fp), st) == -1 || !S_ISREG(st->st_mode)) {
		snprintf(msg, len, "%s: not a regular file", path);
		fclose(fp);
		return (-1);
	}
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
		buf_add(b, chunk, n);
		if (b->b_len > ENRICH_MAX_FILE) {
			snprintf(msg, len, "%s: larger than 64MB", path);
			fclose(fp);
			return (-1);
		}
	}
	if (ferror(fp)) {
		snprintf(msg, len, "%s: %s", path, strerror(errno));
		fclose(fp);
		return (-1);
	}
	fclose(fp);
	return (0);
}

/* Load a table file; NULL with msg ("FILE:LINE: why"). */
static struct etable *
etable_load(enum enrich_kind kind, const char *path, char *msg, size_t len)
{
	struct etable	*t;
	struct json	*j;
	struct stat	 st;
	struct buf	 b = BUF_INIT;
	const char	*e, *key;
	char		*p, *line, *nl, *k, *v, *end, jerr[160];
	long		 lineno = 0;

	if (enrich_slurp(path, &b, &st, msg, len) == -1) {
		buf_free(&b);
		return (NULL);
	}
	if (b.b_data == NULL)
		buf_adds(&b, "");
	for (p = b.b_data; *p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'; p++)
		;
	if (kind == ENRICH_MAP && *p == '{') {
		if ((j = json_parse(b.b_data, b.b_len, jerr,
		    sizeof jerr)) == NULL) {
			snprintf(msg, len, "%s: %s", path, jerr);
			buf_free(&b);
			return (NULL);
		}
		t = etable_from_json(kind, j, &e, &key);
		if (t == NULL)
			snprintf(msg, len, "%s: \"%s\": %s", path, key, e);
		json_free(j);
		goto out;
	}
	t = etable_new(kind);
	for (line = b.b_data; line != NULL && *line != '\0'; line = nl) {
		lineno++;
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		for (k = line; *k == ' ' || *k == '\t'; k++)
			;
		end = k + strlen(k);
		while (end > k && (end[-1] == ' ' || end[-1] == '\t' ||
		    end[-1] == '\r'))
			*--end = '\0';
		if (*k == '\0' || *k == '#')
			continue;
		for (v = k; *v != '\0' && *v != ' ' && *v != '\t'; v++)
			;
		if (*v == '\0') {
			snprintf(msg, len, "%s:%ld: expected \"%s VALUE\"",
			    path, lineno, kind == ENRICH_CIDR ? "NETWORK" :
			    "KEY");
			etable_unref(t);
			t = NULL;
			goto out;
		}
		*v++ = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		if (etable_add(t, k, v, &e) == -1) {
			snprintf(msg, len, "%s:%ld: %s", path, lineno, e);
			etable_unref(t);
			t = NULL;
			goto out;
		}
	}
	etable_seal(t);
out:
	if (t != NULL) {
		t->t_path = xstrdup(path);
		t->t_mtime = st.st_mtim;
		t->t_size = st.st_size;
	}
	buf_free(&b);
	return (t);
}

/* A file's table, from the cache when the file has not changed. */
static struct etable *
etable_file(enum enrich_kind kind, const char *path, char *msg, size_t len)
{
	struct etable	*t, *old;
	struct stat	 st;
	struct buf	 key = BUF_INIT;

	buf_printf(&key, "%d:%s", (int)kind, path);
	if (enrich_files == NULL)
		enrich_files = hmap_new();
	old = hmap_get(enrich_files, key.b_data, key.b_len);
	if (old != NULL && stat(path, &st) == 0 &&
	    st.st_mtim.tv_sec == old->t_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == old->t_mtime.tv_nsec &&
	    st.st_size == old->t_size) {
		old->t_refs++;
		buf_free(&key);
		return (old);
	}
	if ((t = etable_load(kind, path, msg, len)) != NULL) {
		t->t_refs++;		/* the cache's */
		old = hmap_put(enrich_files, key.b_data, key.b_len, t);
		etable_unref(old);
	}
	buf_free(&key);
	return (t);
}

/*
 * A table's error names the file by its real path in maps_dir: tell the
 * search's name instead.
 */
static void
enrich_msg_name(char *msg, size_t len, const char *real, const char *name)
{
	char	 tmp[300];
	size_t	 n = strlen(real);

	if (strncmp(msg, real, n) != 0)
		return;
	snprintf(tmp, sizeof tmp, "%s%s", name, msg + n);
	snprintf(msg, len, "%s", tmp);
}

/* The rdns time limit in ms, or -1 with *e. */
static int64_t
enrich_rdns_timeout(const struct json *t, const char **e)
{
	int64_t	 v;

	if (t == NULL)
		return (ENRICH_DEFAULT_RDNS);
	if (json_str(t) == NULL ||
	    util_parse_duration_ms(json_str(t), &v, e) == -1) {
		*e = "must be a duration such as \"2s\"";
		return (-1);
	}
	if (v < 1 || v > ENRICH_MAX_RDNS) {
		*e = "must be more than 0 and at most 1m";
		return (-1);
	}
	return (v);
}

/* Check the options. */
static int
enrich_validate(const struct json *f, const char *field,
    struct search_err *err)
{
	static const char *const kinds[] = {
		"cidr", "cidr_file", "map", "map_file", "rdns", NULL
	};
	const struct json	*o;
	struct etable		*t;
	const char		*e, *key = "", *which = NULL;
	char			 msg[300], m2[400], *real;
	size_t			 i;
	int			 b, n = 0;

	if (filter_check_options(f, field, "enrich", enrich_options,
	    err) == -1)
		return (-1);
	o = json_get(f, "field");
	if (json_str(o) == NULL || *json_str(o) == '\0')
		return (filter_fail(err, field, "field", "enrich",
		    "is required: the name of the field to look up"));
	for (i = 0; kinds[i] != NULL; i++) {
		if ((o = json_get(f, kinds[i])) == NULL)
			continue;
		if (strcmp(kinds[i], "rdns") == 0) {
			if (!json_bool(o, &b))
				return (filter_fail(err, field, "rdns",
				    "enrich", "must be true or false"));
			if (!b)
				continue;
		}
		if (n++ > 0) {
			snprintf(m2, sizeof m2, "give only one lookup, not "
			    "both %s and %s", which, kinds[i]);
			return (filter_fail(err, field, kinds[i], "enrich",
			    m2));
		}
		which = kinds[i];
	}
	if (which == NULL)
		return (filter_fail(err, field, NULL, "enrich",
		    "give one lookup: cidr, cidr_file, map, map_file or "
		    "rdns"));
	o = json_get(f, "target");
	if (o != NULL && (json_str(o) == NULL || *json_str(o) == '\0'))
		return (filter_fail(err, field, "target", "enrich",
		    "must be a field name"));
	if (o == NULL && strcmp(which, "rdns") != 0)
		return (filter_fail(err, field, "target", "enrich",
		    "is required: the name of the field to add"));
	if ((o = json_get(f, "rdns_timeout")) != NULL) {
		if (strcmp(which, "rdns") != 0)
			return (filter_fail(err, field, "rdns_timeout",
			    "enrich", "goes only with \"rdns\": true"));
		if (enrich_rdns_timeout(o, &e) == -1)
			return (filter_fail(err, field, "rdns_timeout",
			    "enrich", e));
	}
	o = json_get(f, which);
	if (strcmp(which, "cidr") == 0 || strcmp(which, "map") == 0) {
		if (o->j_type != JSON_OBJECT)
			return (filter_fail(err, field, which, "enrich",
			    strcmp(which, "cidr") == 0 ?
			    "must be an object of \"NETWORK\": \"value\"" :
			    "must be an object of \"key\": \"value\""));
		t = etable_from_json(strcmp(which, "cidr") == 0 ?
		    ENRICH_CIDR : ENRICH_MAP, o, &e, &key);
		if (t == NULL) {
			snprintf(m2, sizeof m2, "\"%s\": %s", key, e);
			return (filter_fail(err, field, which, "enrich", m2));
		}
		etable_unref(t);
	} else if (strcmp(which, "rdns") != 0) {
		if (trust_check(TRUST_MAPS, o, msg, sizeof msg) == -1)
			return (filter_fail(err, field, which, "enrich", msg));
		real = trust_resolve(TRUST_MAPS, json_str(o), 1, &b, msg,
		    sizeof msg);
		if (real != NULL) {
			t = etable_file(strcmp(which, "cidr_file") == 0 ?
			    ENRICH_CIDR : ENRICH_MAP, real, msg, sizeof msg);
			if (t == NULL)
				enrich_msg_name(msg, sizeof msg, real,
				    json_str(o));
			free(real);
			if (t == NULL)
				return (filter_fail(err, field, which,
				    "enrich", msg));
			etable_unref(t);
		}
	}
	return (0);
}

/* An instance from validated options. */
static void *
enrich_new(const struct json *f, const struct filter_env *env)
{
	struct enrich		*e;
	const struct json	*o;
	const char		*err, *key;
	char			 msg[300], *real;
	int			 b;

	e = xcalloc(1, sizeof *e);
	e->e_field = xstrdup(json_str(json_get(f, "field")));
	e->e_base = env->fe_base;
	e->e_dns = env->fe_dns;
	if ((o = json_get(f, "rdns")) != NULL && json_bool(o, &b) && b) {
		e->e_kind = ENRICH_RDNS;
		e->e_timeout = enrich_rdns_timeout(json_get(f,
		    "rdns_timeout"), &err);
		if ((o = json_get(f, "target")) != NULL)
			e->e_target = xstrdup(json_str(o));
		else if (asprintf(&e->e_target, "%s.hostname",
		    e->e_field) == -1)
			fatalx("asprintf");
		return (e);
	}
	e->e_target = xstrdup(json_str(json_get(f, "target")));
	if ((o = json_get(f, "cidr")) != NULL ||
	    (o = json_get(f, "map")) != NULL) {
		e->e_kind = json_get(f, "cidr") != NULL ? ENRICH_CIDR :
		    ENRICH_MAP;
		e->e_table = etable_from_json(e->e_kind, o, &err, &key);
		if (e->e_table == NULL)
			snprintf(e->e_error, sizeof e->e_error, "\"%s\": %s",
			    key, err);
		return (e);
	}
	if ((o = json_get(f, "cidr_file")) != NULL)
		e->e_kind = ENRICH_CIDR;
	else {
		o = json_get(f, "map_file");
		e->e_kind = ENRICH_MAP;
	}
	/* Resolved at each run: the operator may change maps_dir. */
	if ((real = trust_resolve(TRUST_MAPS, json_str(o), 0, NULL, msg,
	    sizeof msg)) == NULL) {
		snprintf(e->e_error, sizeof e->e_error, "%s", msg);
		return (e);
	}
	e->e_table = etable_file(e->e_kind, real, msg, sizeof msg);
	if (e->e_table == NULL) {
		enrich_msg_name(msg, sizeof msg, real, json_str(o));
		snprintf(e->e_error, sizeof e->e_error, "%s", msg);
	}
	free(real);
	return (e);
}

/* Replace (or add) the target field of r with the string v. */
static void
enrich_set(struct enrich *e, struct record *r, const char *v)
{
	record_del(r, e->e_target);
	record_add_str(r, e->e_target, v, strlen(v));
	snprintf(e->e_why, sizeof e->e_why, "added %s=%s", e->e_target, v);
}

/* Look one record up (CIDR and map). */
static enum filter_verdict
enrich_record(void *self, struct fstate *fs, uint16_t pos, struct record *r,
    const char **why)
{
	struct enrich	*e = self;
	const char	*v;
	uint8_t		 a[16];

	(void)fs;
	(void)pos;
	if (e->e_kind == ENRICH_RDNS)
		return (FILTER_KEEP);		/* held for the batch */
	if (e->e_table == NULL) {
		*why = e->e_error;
		return (FILTER_ERROR);
	}
	buf_reset(&e->e_buf);
	if (record_get_text(r, e->e_field, &e->e_buf) == -1 ||
	    e->e_buf.b_data == NULL)
		return (FILTER_KEEP);
	if (e->e_kind == ENRICH_MAP)
		v = hmap_get(e->e_table->t_map, e->e_buf.b_data,
		    e->e_buf.b_len);
	else if (enrich_addr(e->e_buf.b_data, a) == 0)
		v = etable_cidr(e->e_table, a);
	else
		v = NULL;
	if (v == NULL)
		return (FILTER_KEEP);
	enrich_set(e, r, v);
	*why = e->e_why;
	return (FILTER_KEEP);
}

/* The cache entry of addr that is still fresh at now, or NULL. */
static struct rdns_cache *
rdns_cached(const uint8_t addr[16], int64_t now)
{
	struct rdns_cache	*c;

	if (enrich_cache == NULL)
		return (NULL);
	if ((c = hmap_get(enrich_cache, addr, 16)) == NULL)
		return (NULL);
	if (c->rc_expires <= now) {
		hmap_del(enrich_cache, addr, 16);
		free(c->rc_name);
		free(c);
		return (NULL);
	}
	return (c);
}

/* Remember addr's name (NULL: none) for ttl ms. */
static void
rdns_remember(const uint8_t addr[16], const char *name, int64_t ttl)
{
	struct rdns_cache	*c, *old;
	struct hmap_iter	 it = { 0 };
	const void		*k;
	size_t			 klen;
	void			*v;
	int64_t			 now = util_now_ms();

	if (enrich_cache == NULL)
		enrich_cache = hmap_new();
	if (hmap_count(enrich_cache) >= ENRICH_CACHE_MAX) {
		/* Full: start over (simple, and rare). */
		while (hmap_next(enrich_cache, &it, &k, &klen, &v)) {
			free(((struct rdns_cache *)v)->rc_name);
			free(v);
		}
		hmap_free(enrich_cache);
		enrich_cache = hmap_new();
	}
	c = xcalloc(1, sizeof *c);
	c->rc_name = name != NULL ? xstrdup(name) : NULL;
	c->rc_expires = now + ttl;
	if ((old = hmap_put(enrich_cache, addr, 16, c)) != NULL) {
		free(old->rc_name);
		free(old);
	}
}

/* Add the names found to the batch and report; the last thing done. */
static void
rdns_finish(struct enrich *e)
{
	struct rdns_req		*q;
	struct rdns_cache	*c;
	filter_batch_cb		 done = e->e_done;
	void			*arg = e->e_arg;
	struct filter_batch	*batch = e->e_batch;
	char			 summary[200];
	size_t			 i, added = 0, unresolved;
	uint8_t			 a[16];
	int64_t			 now = util_now_ms();

	e->e_finishing = 1;
	unresolved = e->e_naddrs - e->e_next + e->e_inflight;
	while ((q = e->e_reqs) != NULL) {
		e->e_reqs = q->q_next;
		q->q_e = NULL;		/* its callback frees it */
		if (q->q_req != NULL)
			evdns_cancel_request(e->e_dns, q->q_req);
	}
	e->e_inflight = 0;
	if (e->e_timer != NULL) {
		event_free(e->e_timer);
		e->e_timer = NULL;
	}
	for (i = 0; i < batch->fb_n; i++) {
		buf_reset(&e->e_buf);
		if (record_get_text(batch->fb_recs[i], e->e_field,
		    &e->e_buf) == -1 || e->e_buf.b_data == NULL ||
		    enrich_addr(e->e_buf.b_data, a) == -1)
			continue;
		if ((c = rdns_cached(a, now)) == NULL || c->rc_name == NULL)
			continue;
		enrich_set(e, batch->fb_recs[i], c->rc_name);
		added++;
	}
	snprintf(summary, sizeof summary, "enrich added %s to %zu of %zu "
	    "records (%zu addresses looked up, %zu unanswered in time)",
	    e->e_target, added, batch->fb_n, e->e_naddrs, unresolved);
	free(e->e_addrs);
	e->e_addrs = NULL;
	e->e_naddrs = e->e_next = 0;
	e->e_batch = NULL;
	e->e_done = NULL;
	e->e_finishing = 0;
	done(arg, NULL, summary);
}

/* A lookup's answer. */
static void
rdns_cb(int result, char type, int count, int ttl, void *addrs, void *arg)
{
	struct rdns_req	*q = arg;
	struct enrich	*e = q->q_e;
	const char	*name = NULL;

	(void)ttl;
	if (e == NULL) {		/* cancelled */
		free(q);
		return;
	}
	if (q->q_prev != NULL)
		q->q_prev->q_next = q->q_next;
	else
		e->e_reqs = q->q_next;
	if (q->q_next != NULL)
		q->q_next->q_prev = q->q_prev;
	e->e_inflight--;
	if (result == DNS_ERR_NONE && type == DNS_PTR && count > 0 &&
	    addrs != NULL)
		name = *(char **)addrs;
	if (name != NULL && *name != '\0')
		rdns_remember(q->q_addr, name, ENRICH_TTL_POS);
	else if (result == DNS_ERR_NOTEXIST || result == DNS_ERR_NONE)
		rdns_remember(q->q_addr, NULL, ENRICH_TTL_NEG);
	free(q);
	enrich_issue(e);
}

/* Start lookups up to the limit; finish when none is left. */
static void
enrich_issue(struct enrich *e)
{
	struct rdns_req	*q;
	struct in_addr	 a4;
	struct in6_addr	 a6;
	uint8_t		*a;
	static const uint8_t mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	if (e->e_finishing)
		return;
	while (e->e_inflight < ENRICH_INFLIGHT && e->e_next < e->e_naddrs) {
		a = e->e_addrs[e->e_next++];
		q = xcalloc(1, sizeof *q);
		q->q_e = e;
		memcpy(q->q_addr, a, 16);
		q->q_next = e->e_reqs;
		if (e->e_reqs != NULL)
			e->e_reqs->q_prev = q;
		e->e_reqs = q;
		e->e_inflight++;
		if (memcmp(a, mapped, 12) == 0) {
			memcpy(&a4, a + 12, 4);
			q->q_req = evdns_base_resolve_reverse(e->e_dns, &a4,
			    0, rdns_cb, q);
		} else {
			memcpy(&a6, a, 16);
			q->q_req = evdns_base_resolve_reverse_ipv6(e->e_dns,
			    &a6, 0, rdns_cb, q);
		}
		if (q->q_req == NULL && q->q_e != NULL) {
			/* Not sent: as if unanswered. */
			e->e_reqs = q->q_next;
			if (q->q_next != NULL)
				q->q_next->q_prev = NULL;
			e->e_inflight--;
			free(q);
		}
	}
	if (e->e_inflight == 0 && e->e_next >= e->e_naddrs)
		rdns_finish(e);
}

/* The batch's time limit. */
static void
rdns_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	rdns_finish(arg);
}

/* Reverse DNS over the held records. */
static void
enrich_batch(void *self, struct fstate *fs, uint16_t pos,
    struct filter_batch *batch, filter_batch_cb done, void *arg)
{
	struct enrich	*e = self;
	struct hmap	*seen;
	struct timeval	 tv;
	uint8_t		 a[16];
	size_t		 i;
	int64_t		 now = util_now_ms();

	(void)fs;
	(void)pos;
	if (e->e_kind != ENRICH_RDNS) {
		done(arg, NULL, NULL);		/* done record by record */
		return;
	}
	if (e->e_base == NULL) {
		done(arg, "no event loop", NULL);
		return;
	}
	if (e->e_dns == NULL) {
		done(arg, "no resolver", NULL);
		return;
	}
	e->e_batch = batch;
	e->e_done = done;
	e->e_arg = arg;
	seen = hmap_new();
	for (i = 0; i < batch->fb_n; i++) {
		buf_reset(&e->e_buf);
		if (record_get_text(batch->fb_recs[i], e->e_field,
		    &e->e_buf) == -1 || e->e_buf.b_data == NULL ||
		    enrich_addr(e->e_buf.b_data, a) == -1)
			continue;
		if (rdns_cached(a, now) != NULL || hmap_get(seen, a, 16))
			continue;
		hmap_put(seen, a, 16, e);
		e->e_addrs = xreallocarray(e->e_addrs, e->e_naddrs + 1,
		    sizeof *e->e_addrs);
		memcpy(e->e_addrs[e->e_naddrs++], a, 16);
	}
	hmap_free(seen);
	if (e->e_naddrs > 0) {
		e->e_timer = evtimer_new(e->e_base, rdns_timer_cb, e);
		if (e->e_timer == NULL)
			fatalx("enrich: evtimer_new failed");
		tv.tv_sec = e->e_timeout / 1000;
		tv.tv_usec = (e->e_timeout % 1000) * 1000;
		evtimer_add(e->e_timer, &tv);
	}
	enrich_issue(e);
}

/* Free an instance; lookups in flight are cancelled. */
static void
enrich_free(void *self)
{
	struct enrich	*e = self;
	struct rdns_req	*q;

	while ((q = e->e_reqs) != NULL) {
		e->e_reqs = q->q_next;
		q->q_e = NULL;
		if (q->q_req != NULL)
			evdns_cancel_request(e->e_dns, q->q_req);
	}
	if (e->e_timer != NULL)
		event_free(e->e_timer);
	free(e->e_addrs);
	etable_unref(e->e_table);
	buf_free(&e->e_buf);
	free(e->e_field);
	free(e->e_target);
	free(e);
}
