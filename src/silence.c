/*
 * silence.c -- D6 silences: definitions checked and stored, kept in memory
 * while they have not ended, and matched against every new alert.
 *
 * Store layout: STORE_SILENCES be64 id -> JSON {"id", "matchers",
 * "starts", "ends", "created" (ms), "creator", "comment", "expired"}; ids
 * come from the "silence" counter.  The API form has RFC 3339 times and
 * a "state".  The matchers are kept as given (once checked) and compiled
 * into the struct: every matcher given must match; within one matcher
 * any of its values will do.  Content regexes are PCRE2, unanchored, run
 * with match, depth and heap limits; a match that hits a limit does not
 * silence.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <yajl/yajl_gen.h>

#include "alert.h"
#include "json.h"
#include "log.h"
#include "search.h"
#include "silence.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define SILENCE_MATCH_LIMIT	100000
#define SILENCE_DEPTH_LIMIT	5000
#define SILENCE_HEAP_LIMIT	4096		/* KiB */
#define SILENCE_SCAN_MAX	10000		/* entries a listing reads */

/* One content matcher: field equals value, or field matches re. */
struct silence_field {
	char		*sf_name;
	char		*sf_value;	/* or NULL with sf_re */
	char		*sf_pat;
	pcre2_code	*sf_re;
};

struct silence {
	uint64_t		 si_id;
	struct json		*si_matchers;	/* as given, checked */
	uint64_t		*si_searches;
	size_t			 si_nsearches;
	char			**si_prios;
	size_t			 si_nprios;
	char			**si_tags;
	size_t			 si_ntags;
	struct silence_field	*si_fields;
	size_t			 si_nfields;
	int64_t			 si_starts;	/* ms */
	int64_t			 si_ends;
	int64_t			 si_created;
	char			*si_creator;
	char			*si_comment;
	int			 si_expired;
	TAILQ_ENTRY(silence)	 si_entry;
};
TAILQ_HEAD(silence_list, silence);

struct silences {
	struct store		*ss_store;
	struct silence_list	 ss_list;	/* not ended, by id */
	size_t			 ss_count;
	pcre2_match_data	*ss_md;
	pcre2_match_context	*ss_mc;
};

/* A write in flight. */
struct silence_op {
	struct silences		*op_ss;
	struct silence		*op_si;		/* create: the new one */
	uint64_t		 op_id;		/* expire */
	int64_t			 op_now;
	int			 op_absent;
	struct silence		*op_old;	/* expire: as read, changed */
	silence_done_cb		 op_done;
	void			*op_arg;
};

static void	 silence_err(struct silence_err *, const char *, const char *,
		    ...) __attribute__((format(printf, 3, 4)));
static int	 silence_matchers(struct silence *, const struct json *,
		    struct silence_err *);
static int	 silence_time(const struct json *, int64_t *);
static struct silence *silence_from_store(const char *, size_t, char *,
		    size_t);
static char	*silence_to_store(const struct silence *, size_t *);
static int	 silence_matches(struct silences *, struct silence *,
		    const struct search *, const struct alert *,
		    struct json **, int *);
static void	 silences_insert(struct silences *, struct silence *);
static void	 silences_remove(struct silences *, uint64_t);
static void	 silence_key(uint8_t [8], uint64_t);

static const char *const silence_prios[] = { "low", "medium", "high",
    "critical", NULL };

static void
silence_err(struct silence_err *err, const char *field, const char *fmt, ...)
{
	va_list	 ap;

	snprintf(err->se_field, sizeof err->se_field, "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->se_message, sizeof err->se_message, fmt, ap);
	va_end(ap);
}

static void
silence_key(uint8_t key[8], uint64_t id)
{
	util_be64_put(key, id);
}

/* A time: RFC 3339 text or epoch seconds, into ms.  0 or -1. */
static int
silence_time(const struct json *v, int64_t *ms)
{
	int64_t	 secs;

	if (json_str(v) != NULL)
		return (util_parse_time_ms(json_str(v), v->j_u.str.len, ms));
	if (!json_int(v, &secs) || secs <= 0 || secs > INT64_MAX / 1000)
		return (-1);
	*ms = secs * 1000;
	return (0);
}

/* A list of short strings (priority, tags) into *out. */
static int
silence_strings(const struct json *v, const char *field, int prio,
    char ***out, size_t *nout, struct silence_err *err)
{
	const char	*s;
	size_t		 i, k;

	if (v->j_type != JSON_ARRAY || json_len(v) == 0 ||
	    json_len(v) > SILENCE_MAX_LIST) {
		silence_err(err, field, "must be an array of 1 to %d strings",
		    SILENCE_MAX_LIST);
		return (-1);
	}
	*out = xcalloc(json_len(v), sizeof **out);
	for (i = 0; i < json_len(v); i++) {
		s = json_str(json_at(v, i));
		if (s == NULL || *s == '\0' || strlen(s) > SEARCH_NAME_MAX) {
			silence_err(err, field, "must be an array of non-empty "
			    "strings of at most %d bytes", SEARCH_NAME_MAX);
			return (-1);
		}
		if (prio) {
			for (k = 0; silence_prios[k] != NULL; k++)
				if (strcmp(s, silence_prios[k]) == 0)
					break;
			if (silence_prios[k] == NULL) {
				silence_err(err, field, "\"%s\" is not a "
				    "priority: low, medium, high or critical",
				    s);
				return (-1);
			}
		}
		(*out)[(*nout)++] = xstrdup(s);
	}
	return (0);
}

/* One content matcher: "field": value or {"regex": "..."}. */
static int
silence_field(struct silence_field *sf, const struct json_member *m,
    struct silence_err *err)
{
	const struct json	*v = m->m_val, *re;
	char			 field[128];
	PCRE2_UCHAR		 e[160];
	PCRE2_SIZE		 off;
	int			 code;

	snprintf(field, sizeof field, "matchers.content.%s", m->m_key);
	if (m->m_klen == 0 || m->m_klen > SILENCE_MAX_FIELD) {
		silence_err(err, "matchers.content", "a field name must have "
		    "1 to %d bytes", SILENCE_MAX_FIELD);
		return (-1);
	}
	sf->sf_name = xstrdup(m->m_key);
	switch (v->j_type) {
	case JSON_STRING:
		if (v->j_u.str.len > SILENCE_MAX_VALUE)
			goto toolong;
		sf->sf_value = xstrdup(v->j_u.str.s);
		return (0);
	case JSON_NUMBER:
		sf->sf_value = xstrdup(v->j_u.num.text);
		return (0);
	case JSON_BOOL:
		sf->sf_value = xstrdup(v->j_u.b ? "true" : "false");
		return (0);
	case JSON_OBJECT:
		break;
	default:
		silence_err(err, field, "must be a value (string, number, "
		    "boolean) or {\"regex\": PATTERN}");
		return (-1);
	}
	if (json_len(v) != 1 || (re = json_get(v, "regex")) == NULL) {
		silence_err(err, field, "must be {\"regex\": PATTERN} and "
		    "nothing else");
		return (-1);
	}
	snprintf(field, sizeof field, "matchers.content.%s.regex", m->m_key);
	if (json_str(re) == NULL || re->j_u.str.len == 0) {
		silence_err(err, field, "must be a non-empty string");
		return (-1);
	}
	if (re->j_u.str.len > SILENCE_MAX_VALUE)
		goto toolong;
	sf->sf_pat = xstrdup(re->j_u.str.s);
	sf->sf_re = pcre2_compile((PCRE2_SPTR)sf->sf_pat, re->j_u.str.len,
	    PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C, &code, &off, NULL);
	if (sf->sf_re == NULL) {
		if (pcre2_get_error_message(code, e, sizeof e) < 0)
			snprintf((char *)e, sizeof e, "error %d", code);
		silence_err(err, field, "bad regex at %zu: %s", (size_t)off,
		    (char *)e);
		return (-1);
	}
	(void)pcre2_jit_compile(sf->sf_re, PCRE2_JIT_COMPLETE);
	return (0);
toolong:
	silence_err(err, field, "must have at most %d bytes",
	    SILENCE_MAX_VALUE);
	return (-1);
}

/* Check and compile the matchers object into si. */
static int
silence_matchers(struct silence *si, const struct json *m,
    struct silence_err *err)
{
	const struct json	*v;
	int64_t			 id;
	size_t			 i;

	if (m == NULL) {
		silence_err(err, "matchers", "is required");
		return (-1);
	}
	if (m->j_type != JSON_OBJECT || json_len(m) == 0) {
		silence_err(err, "matchers", "must be an object with at least "
		    "one of search, priority, tags, content");
		return (-1);
	}
	for (i = 0; i < json_len(m); i++) {
		const char *k = m->j_u.obj.m[i].m_key;

		if (strcmp(k, "search") != 0 && strcmp(k, "priority") != 0 &&
		    strcmp(k, "tags") != 0 && strcmp(k, "content") != 0) {
			silence_err(err, "matchers", "unknown matcher "
			    "\"%.64s\": use search, priority, tags or content",
			    k);
			return (-1);
		}
	}
	if ((v = json_get(m, "search")) != NULL) {
		if (v->j_type != JSON_ARRAY || json_len(v) == 0 ||
		    json_len(v) > SILENCE_MAX_LIST)
			goto badsearch;
		si->si_searches = xcalloc(json_len(v), sizeof *si->si_searches);
		for (i = 0; i < json_len(v); i++) {
			if (!json_int(json_at(v, i), &id) || id <= 0)
				goto badsearch;
			si->si_searches[si->si_nsearches++] = (uint64_t)id;
		}
	}
	if ((v = json_get(m, "priority")) != NULL &&
	    silence_strings(v, "matchers.priority", 1, &si->si_prios,
	    &si->si_nprios, err) == -1)
		return (-1);
	if ((v = json_get(m, "tags")) != NULL &&
	    silence_strings(v, "matchers.tags", 0, &si->si_tags,
	    &si->si_ntags, err) == -1)
		return (-1);
	if ((v = json_get(m, "content")) != NULL) {
		if (v->j_type != JSON_OBJECT || json_len(v) == 0 ||
		    json_len(v) > SILENCE_MAX_CONTENT) {
			silence_err(err, "matchers.content", "must be an "
			    "object of 1 to %d fields", SILENCE_MAX_CONTENT);
			return (-1);
		}
		si->si_fields = xcalloc(json_len(v), sizeof *si->si_fields);
		for (i = 0; i < json_len(v); i++) {
			si->si_nfields++;
			if (silence_field(&si->si_fields[i], &v->j_u.obj.m[i],
			    err) == -1)
				return (-1);
		}
	}
	si->si_matchers = json_dup(m);
	return (0);
badsearch:
	silence_err(err, "matchers.search", "must be an array of 1 to %d "
	    "search ids", SILENCE_MAX_LIST);
	return (-1);
}

struct silence *
silence_from_json(const struct json *def, const char *creator, int64_t now,
    struct silence_err *err)
{
	static const char *const keys[] = { "matchers", "starts", "ends",
	    "comment", NULL };
	struct silence		*si;
	const struct json	*v;
	size_t			 i, k;

	memset(err, 0, sizeof *err);
	if (def == NULL || def->j_type != JSON_OBJECT) {
		silence_err(err, "", "a silence is a JSON object");
		return (NULL);
	}
	for (i = 0; i < json_len(def); i++) {
		for (k = 0; keys[k] != NULL; k++)
			if (strcmp(def->j_u.obj.m[i].m_key, keys[k]) == 0)
				break;
		if (keys[k] == NULL) {
			silence_err(err, def->j_u.obj.m[i].m_key, "unknown "
			    "field: a silence has matchers, starts, ends, "
			    "comment");
			return (NULL);
		}
	}
	si = xcalloc(1, sizeof *si);
	if (silence_matchers(si, json_get(def, "matchers"), err) == -1)
		goto fail;
	si->si_starts = now;
	if ((v = json_get(def, "starts")) != NULL && v->j_type != JSON_NULL &&
	    silence_time(v, &si->si_starts) == -1) {
		silence_err(err, "starts", "not a time: use RFC 3339 "
		    "(2026-11-23T19:30:00Z) or epoch seconds");
		goto fail;
	}
	if ((v = json_get(def, "ends")) == NULL || v->j_type == JSON_NULL) {
		silence_err(err, "ends", "is required");
		goto fail;
	}
	if (silence_time(v, &si->si_ends) == -1) {
		silence_err(err, "ends", "not a time: use RFC 3339 "
		    "(2026-11-23T19:30:00Z) or epoch seconds");
		goto fail;
	}
	if (si->si_ends <= si->si_starts) {
		silence_err(err, "ends", "must be after starts");
		goto fail;
	}
	if (si->si_ends <= now) {
		silence_err(err, "ends", "must be in the future");
		goto fail;
	}
	if (si->si_ends - si->si_starts > SILENCE_MAX_DURATION) {
		silence_err(err, "ends", "a silence lasts at most 366 days");
		goto fail;
	}
	v = json_get(def, "comment");
	if (v == NULL || json_str(v) == NULL || v->j_u.str.len == 0) {
		silence_err(err, "comment", "is required: a non-empty string "
		    "saying why");
		goto fail;
	}
	if (v->j_u.str.len > SILENCE_MAX_COMMENT) {
		silence_err(err, "comment", "must have at most %d bytes",
		    SILENCE_MAX_COMMENT);
		goto fail;
	}
	si->si_comment = xstrdup(json_str(v));
	si->si_creator = xstrdup(creator != NULL ? creator : "");
	si->si_created = now;
	return (si);
fail:
	silence_free(si);
	return (NULL);
}

void
silence_free(struct silence *si)
{
	size_t	 i;

	if (si == NULL)
		return;
	json_free(si->si_matchers);
	free(si->si_searches);
	for (i = 0; i < si->si_nprios; i++)
		free(si->si_prios[i]);
	free(si->si_prios);
	for (i = 0; i < si->si_ntags; i++)
		free(si->si_tags[i]);
	free(si->si_tags);
	for (i = 0; i < si->si_nfields; i++) {
		free(si->si_fields[i].sf_name);
		free(si->si_fields[i].sf_value);
		free(si->si_fields[i].sf_pat);
		if (si->si_fields[i].sf_re != NULL)
			pcre2_code_free(si->si_fields[i].sf_re);
	}
	free(si->si_fields);
	free(si->si_creator);
	free(si->si_comment);
	free(si);
}

uint64_t
silence_id(const struct silence *si)
{
	return (si->si_id);
}

int
silence_state(const struct silence *si, int64_t now)
{
	if (si->si_expired || si->si_ends <= now)
		return (SILENCE_EXPIRED);
	if (si->si_starts > now)
		return (SILENCE_PENDING);
	return (SILENCE_ACTIVE);
}

void
silence_gen(yajl_gen g, const struct silence *si, int64_t now)
{
	const char	*st;

	switch (silence_state(si, now)) {
	case SILENCE_ACTIVE: st = "active"; break;
	case SILENCE_PENDING: st = "pending"; break;
	default: st = "expired"; break;
	}
	yajl_gen_map_open(g);
	jgen_kint(g, "id", (int64_t)si->si_id);
	jgen_str(g, "matchers");
	json_gen(g, si->si_matchers);
	jgen_ktime(g, "starts", si->si_starts);
	jgen_ktime(g, "ends", si->si_ends);
	jgen_kstr(g, "creator", si->si_creator);
	jgen_kstr(g, "comment", si->si_comment);
	jgen_ktime(g, "created", si->si_created);
	jgen_kbool(g, "expired", si->si_expired);
	jgen_kstr(g, "state", st);
	yajl_gen_map_close(g);
}

/* The stored form: times in ms. */
static char *
silence_to_store(const struct silence *si, size_t *len)
{
	struct json	*j, *m;
	char		*s;

	j = json_new(JSON_OBJECT);
	json_set(j, "id", json_new_int((int64_t)si->si_id));
	m = json_dup(si->si_matchers);
	json_set(j, "matchers", m);
	json_set(j, "starts", json_new_int(si->si_starts));
	json_set(j, "ends", json_new_int(si->si_ends));
	json_set(j, "created", json_new_int(si->si_created));
	json_set(j, "creator", json_new_str(si->si_creator,
	    strlen(si->si_creator)));
	json_set(j, "comment", json_new_str(si->si_comment,
	    strlen(si->si_comment)));
	json_set(j, "expired", json_new_bool(si->si_expired));
	s = json_to_string(j, len);
	json_free(j);
	return (s);
}

/* Parse the stored form; NULL with msg. */
static struct silence *
silence_from_store(const char *p, size_t len, char *msg, size_t msglen)
{
	struct silence		*si;
	struct silence_err	 err;
	struct json		*j;
	int64_t			 id;
	const char		*cr, *co;

	if ((j = json_parse(p, len, msg, msglen)) == NULL)
		return (NULL);
	si = xcalloc(1, sizeof *si);
	memset(&err, 0, sizeof err);
	if (silence_matchers(si, json_get(j, "matchers"), &err) == -1) {
		snprintf(msg, msglen, "%.100s: %.140s", err.se_field,
		    err.se_message);
		goto fail;
	}
	cr = json_str(json_get(j, "creator"));
	co = json_str(json_get(j, "comment"));
	if (!json_int(json_get(j, "id"), &id) || id <= 0 ||
	    !json_int(json_get(j, "starts"), &si->si_starts) ||
	    !json_int(json_get(j, "ends"), &si->si_ends) ||
	    !json_int(json_get(j, "created"), &si->si_created) ||
	    !json_bool(json_get(j, "expired"), &si->si_expired) ||
	    cr == NULL || co == NULL) {
		snprintf(msg, msglen, "a field is missing or of a wrong type");
		goto fail;
	}
	si->si_id = (uint64_t)id;
	si->si_creator = xstrdup(cr);
	si->si_comment = xstrdup(co);
	json_free(j);
	return (si);
fail:
	json_free(j);
	silence_free(si);
	return (NULL);
}

struct silences *
silences_new(struct store *store, char *err, size_t errlen)
{
	struct silences		*ss;
	struct store_txn	*txn;
	struct store_cursor	*cur;
	struct silence		*si;
	const void		*k, *v;
	size_t			 klen, vlen;
	int64_t			 now = util_now_ms();
	char			 msg[256];
	int			 rc;

	ss = xcalloc(1, sizeof *ss);
	ss->ss_store = store;
	TAILQ_INIT(&ss->ss_list);
	ss->ss_md = pcre2_match_data_create(1, NULL);
	ss->ss_mc = pcre2_match_context_create(NULL);
	if (ss->ss_md == NULL || ss->ss_mc == NULL)
		fatalx("pcre2: out of memory");
	pcre2_set_match_limit(ss->ss_mc, SILENCE_MATCH_LIMIT);
	pcre2_set_depth_limit(ss->ss_mc, SILENCE_DEPTH_LIMIT);
	pcre2_set_heap_limit(ss->ss_mc, SILENCE_HEAP_LIMIT);

	if ((txn = store_read(store)) == NULL ||
	    (cur = store_cursor(txn, STORE_SILENCES)) == NULL) {
		store_done(txn);
		snprintf(err, errlen, "silences: the store cannot be read");
		silences_free(ss);
		return (NULL);
	}
	for (rc = store_cursor_seek(cur, NULL, 0, &k, &klen, &v, &vlen);
	    rc == 0; rc = store_cursor_next(cur, &k, &klen, &v, &vlen)) {
		if ((si = silence_from_store(v, vlen, msg, sizeof msg)) ==
		    NULL) {
			log_warnx("silence %llu: not loaded: %s",
			    klen == 8 ? (unsigned long long)util_be64_get(k) :
			    0ULL, msg);
			continue;
		}
		if (silence_state(si, now) == SILENCE_EXPIRED)
			silence_free(si);
		else
			silences_insert(ss, si);
	}
	store_done(txn);
	if (rc == -1) {
		snprintf(err, errlen, "silences: the store cannot be read");
		silences_free(ss);
		return (NULL);
	}
	return (ss);
}

void
silences_free(struct silences *ss)
{
	struct silence	*si;

	if (ss == NULL)
		return;
	while ((si = TAILQ_FIRST(&ss->ss_list)) != NULL) {
		TAILQ_REMOVE(&ss->ss_list, si, si_entry);
		silence_free(si);
	}
	pcre2_match_data_free(ss->ss_md);
	pcre2_match_context_free(ss->ss_mc);
	free(ss);
}

size_t
silences_count(const struct silences *ss)
{
	return (ss->ss_count);
}

/* Keep si (takes it), replacing one with the same id. */
static void
silences_insert(struct silences *ss, struct silence *si)
{
	silences_remove(ss, si->si_id);
	TAILQ_INSERT_TAIL(&ss->ss_list, si, si_entry);
	ss->ss_count++;
}

static void
silences_remove(struct silences *ss, uint64_t id)
{
	struct silence	*si;

	TAILQ_FOREACH(si, &ss->ss_list, si_entry) {
		if (si->si_id == id) {
			TAILQ_REMOVE(&ss->ss_list, si, si_entry);
			ss->ss_count--;
			silence_free(si);
			return;
		}
	}
}

/* The text of a content value, for comparing; NULL for objects. */
static const char *
silence_text(const struct json *v)
{
	switch (v->j_type) {
	case JSON_STRING: return (v->j_u.str.s);
	case JSON_NUMBER: return (v->j_u.num.text);
	case JSON_BOOL: return (v->j_u.b ? "true" : "false");
	case JSON_NULL: return ("null");
	default: return (NULL);
	}
}

/* A content field by name, or by a dotted path into nested objects. */
static const struct json *
silence_lookup(const struct json *c, const char *name)
{
	const struct json	*v;
	const char		*dot;
	char			 part[SILENCE_MAX_FIELD + 1];
	size_t			 n;

	if ((v = json_get(c, name)) != NULL)
		return (v);
	while ((dot = strchr(name, '.')) != NULL) {
		n = (size_t)(dot - name);
		if (n == 0 || n >= sizeof part)
			return (NULL);
		memcpy(part, name, n);
		part[n] = '\0';
		if ((c = json_get(c, part)) == NULL ||
		    c->j_type != JSON_OBJECT)
			return (NULL);
		name = dot + 1;
		if ((v = json_get(c, name)) != NULL)
			return (v);
	}
	return (NULL);
}

/*
 * Whether si (active) matches; *content is the alert's content, parsed
 * on first need (*bad set when it is not JSON).
 */
static int
silence_matches(struct silences *ss, struct silence *si,
    const struct search *s, const struct alert *a, struct json **content,
    int *bad)
{
	const struct json	*v;
	const char		*prio, *t;
	char			 msg[128];
	size_t			 i, k;
	int			 rc;

	if (si->si_nsearches > 0) {
		uint64_t sid = a->a_search_id != 0 ? a->a_search_id :
		    (s != NULL ? s->s_id : 0);

		for (i = 0; i < si->si_nsearches; i++)
			if (si->si_searches[i] == sid)
				break;
		if (i == si->si_nsearches)
			return (0);
	}
	if (si->si_nprios > 0) {
		prio = a->a_priority != NULL ? a->a_priority :
		    (s != NULL ? s->s_priority : NULL);
		if (prio == NULL)
			return (0);
		for (i = 0; i < si->si_nprios; i++)
			if (strcmp(si->si_prios[i], prio) == 0)
				break;
		if (i == si->si_nprios)
			return (0);
	}
	if (si->si_ntags > 0) {
		if (s == NULL)
			return (0);
		for (i = 0; i < si->si_ntags; i++) {
			for (k = 0; k < s->s_ntags; k++)
				if (strcmp(si->si_tags[i], s->s_tags[k]) == 0)
					break;
			if (k < s->s_ntags)
				break;
		}
		if (i == si->si_ntags)
			return (0);
	}
	if (si->si_nfields == 0)
		return (1);
	if (*content == NULL && !*bad) {
		if (a->a_content == NULL || (*content = json_parse(a->a_content,
		    a->a_content_len, msg, sizeof msg)) == NULL ||
		    (*content)->j_type != JSON_OBJECT)
			*bad = 1;
	}
	if (*bad)
		return (0);
	for (i = 0; i < si->si_nfields; i++) {
		struct silence_field *sf = &si->si_fields[i];

		if ((v = silence_lookup(*content, sf->sf_name)) == NULL ||
		    (t = silence_text(v)) == NULL)
			return (0);
		if (sf->sf_re == NULL) {
			if (strcmp(t, sf->sf_value) != 0)
				return (0);
			continue;
		}
		rc = pcre2_match(sf->sf_re, (PCRE2_SPTR)t, strlen(t), 0, 0,
		    ss->ss_md, ss->ss_mc);
		if (rc < 0) {
			if (rc != PCRE2_ERROR_NOMATCH)
				log_debug("%s: silence %llu: /%s/ stopped "
				    "(%d): not silenced", __func__,
				    (unsigned long long)si->si_id, sf->sf_pat,
				    rc);
			return (0);
		}
	}
	return (1);
}

uint64_t
silences_match(struct silences *ss, const struct search *s,
    const struct alert *a, int64_t now)
{
	struct silence	*si, *next;
	struct json	*content = NULL;
	uint64_t	 id = 0;
	int		 bad = 0;

	if (ss == NULL || a == NULL)
		return (0);
	for (si = TAILQ_FIRST(&ss->ss_list); si != NULL; si = next) {
		next = TAILQ_NEXT(si, si_entry);
		if (si->si_ends <= now || si->si_expired) {
			/* Over: it matches nothing any more. */
			TAILQ_REMOVE(&ss->ss_list, si, si_entry);
			ss->ss_count--;
			silence_free(si);
			continue;
		}
		if (si->si_starts > now)
			continue;
		if (silence_matches(ss, si, s, a, &content, &bad)) {
			id = si->si_id;
			break;
		}
	}
	json_free(content);
	return (id);
}

/* Create: write the new silence under the next id. */
static int
silences_create_apply(struct store_txn *txn, void *arg)
{
	struct silence_op	*op = arg;
	uint8_t			 key[8];
	char			*p;
	size_t			 len;
	int			 rc;

	if ((op->op_si->si_id = store_next_id(txn, "silence")) == 0)
		return (-1);
	silence_key(key, op->op_si->si_id);
	p = silence_to_store(op->op_si, &len);
	rc = store_put(txn, STORE_SILENCES, key, sizeof key, p, len);
	free(p);
	return (rc);
}

static void
silences_create_done(void *arg, int ok, const char *reason)
{
	struct silence_op	*op = arg;
	struct silence		*si = op->op_si;

	if (!ok) {
		log_warnx("silence: not stored: %s",
		    reason != NULL ? reason : "store failure");
		op->op_done(op->op_arg, -1, NULL, reason != NULL ? reason :
		    "store failure");
		silence_free(si);
	} else {
		log_info("silence %llu created by %s",
		    (unsigned long long)si->si_id, si->si_creator);
		op->op_done(op->op_arg, 0, si, NULL);
		if (op->op_ss->ss_count < SILENCE_MAX_ACTIVE)
			silences_insert(op->op_ss, si);
		else {
			log_warnx("silence %llu: more than %d silences, not "
			    "matched until a restart",
			    (unsigned long long)si->si_id, SILENCE_MAX_ACTIVE);
			silence_free(si);
		}
	}
	free(op);
}

int
silences_create(struct silences *ss, const struct json *def,
    const char *creator, int64_t now, struct silence_err *err,
    silence_done_cb done, void *arg)
{
	struct silence_op	*op;
	struct silence		*si;

	if ((si = silence_from_json(def, creator, now, err)) == NULL)
		return (-1);
	if (ss->ss_count >= SILENCE_MAX_ACTIVE) {
		silence_err(err, "", "there are %d silences already: expire "
		    "some first", SILENCE_MAX_ACTIVE);
		silence_free(si);
		return (-1);
	}
	op = xcalloc(1, sizeof *op);
	op->op_ss = ss;
	op->op_si = si;
	op->op_now = now;
	op->op_done = done;
	op->op_arg = arg;
	store_write(ss->ss_store, silences_create_apply, silences_create_done,
	    op);
	return (0);
}

/* Expire: read, end now, write back. */
static int
silences_expire_apply(struct store_txn *txn, void *arg)
{
	struct silence_op	*op = arg;
	uint8_t			 key[8];
	const void		*v;
	size_t			 vlen, len;
	char			 msg[256], *p;
	int			 rc;

	silence_free(op->op_old);
	op->op_old = NULL;
	op->op_absent = 0;
	silence_key(key, op->op_id);
	if ((rc = store_get(txn, STORE_SILENCES, key, sizeof key, &v,
	    &vlen)) == 1) {
		op->op_absent = 1;
		store_fail(txn, "no silence %llu",
		    (unsigned long long)op->op_id);
		return (-1);
	}
	if (rc == -1)
		return (-1);
	if ((op->op_old = silence_from_store(v, vlen, msg, sizeof msg)) ==
	    NULL) {
		store_fail(txn, "silence %llu: %s",
		    (unsigned long long)op->op_id, msg);
		return (-1);
	}
	if (silence_state(op->op_old, op->op_now) == SILENCE_EXPIRED)
		return (0);		/* over already: left as it is */
	op->op_old->si_expired = 1;
	if (op->op_old->si_starts > op->op_now)
		op->op_old->si_starts = op->op_now;
	op->op_old->si_ends = op->op_now;
	p = silence_to_store(op->op_old, &len);
	rc = store_put(txn, STORE_SILENCES, key, sizeof key, p, len);
	free(p);
	return (rc);
}

static void
silences_expire_done(void *arg, int ok, const char *reason)
{
	struct silence_op	*op = arg;

	if (!ok && op->op_absent)
		op->op_done(op->op_arg, 1, NULL, reason);
	else if (!ok) {
		log_warnx("silence %llu: not expired: %s",
		    (unsigned long long)op->op_id,
		    reason != NULL ? reason : "store failure");
		op->op_done(op->op_arg, -1, NULL, reason != NULL ? reason :
		    "store failure");
	} else {
		silences_remove(op->op_ss, op->op_id);
		op->op_done(op->op_arg, 0, op->op_old, NULL);
	}
	silence_free(op->op_old);
	free(op);
}

void
silences_expire(struct silences *ss, uint64_t id, int64_t now,
    silence_done_cb done, void *arg)
{
	struct silence_op	*op;

	op = xcalloc(1, sizeof *op);
	op->op_ss = ss;
	op->op_id = id;
	op->op_now = now;
	op->op_done = done;
	op->op_arg = arg;
	store_write(ss->ss_store, silences_expire_apply, silences_expire_done,
	    op);
}

int
silences_get(struct silences *ss, uint64_t id, struct silence **out)
{
	struct store_txn	*txn;
	uint8_t			 key[8];
	const void		*v;
	size_t			 vlen;
	char			 msg[256];
	int			 rc;

	*out = NULL;
	if ((txn = store_read(ss->ss_store)) == NULL)
		return (-1);
	silence_key(key, id);
	rc = store_get(txn, STORE_SILENCES, key, sizeof key, &v, &vlen);
	if (rc == 0 && (*out = silence_from_store(v, vlen, msg,
	    sizeof msg)) == NULL) {
		log_warnx("silence %llu: %s", (unsigned long long)id, msg);
		rc = -1;
	}
	store_done(txn);
	return (rc);
}

int
silences_list(struct silences *ss, int mask, int64_t now, uint64_t before,
    size_t limit, void (*cb)(void *, const struct silence *), void *arg,
    uint64_t *next)
{
	struct store_txn	*txn;
	struct store_cursor	*cur;
	struct silence		*si;
	const void		*k, *v;
	size_t			 klen, vlen, n = 0, scanned = 0;
	uint8_t			 key[8];
	uint64_t		 id = 0;
	char			 msg[256];
	int			 rc;

	*next = 0;
	if ((txn = store_read(ss->ss_store)) == NULL)
		return (-1);
	if ((cur = store_cursor(txn, STORE_SILENCES)) == NULL) {
		store_done(txn);
		return (-1);
	}
	if (before == 0)
		rc = store_cursor_seek_le(cur, NULL, 0, &k, &klen, &v, &vlen);
	else {
		if (before == 1) {
			store_done(txn);
			return (0);
		}
		silence_key(key, before - 1);
		rc = store_cursor_seek_le(cur, key, sizeof key, &k, &klen, &v,
		    &vlen);
	}
	for (; rc == 0; rc = store_cursor_prev(cur, &k, &klen, &v, &vlen)) {
		if (klen != 8)
			continue;
		id = util_be64_get(k);
		if (n == limit || scanned == SILENCE_SCAN_MAX) {
			/* More to read: the next page starts at the last. */
			*next = id + 1;
			break;
		}
		scanned++;
		if ((si = silence_from_store(v, vlen, msg, sizeof msg)) ==
		    NULL) {
			log_warnx("silence %llu: %s", (unsigned long long)id,
			    msg);
			continue;
		}
		if (silence_state(si, now) & mask) {
			cb(arg, si);
			n++;
		}
		silence_free(si);
	}
	store_done(txn);
	return (rc == -1 ? -1 : 0);
}
