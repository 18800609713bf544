/*
 * search.c -- a search definition: JSON <-> struct, validation with
 * field-level errors, reference counting, and the stored run state.
 *
 * Validation refuses the whole definition at the first problem and names
 * the field by its JSON path ("schedule.every", "filters[1].within").
 * Unknown fields are refused too: a typo must not silently become a
 * default.
 */
#include "autoconf.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "cron.h"
#include "filter.h"
#include "json.h"
#include "log.h"
#include "search.h"
#include "src.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

static int	search_fail(struct search_err *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	search_duration(const struct json *, const char *, int64_t,
		    int64_t *, struct search_err *);
static int	search_string(const struct json *, const char *, size_t,
		    char **, struct search_err *);
static int	search_strings(const struct json *, const char *, size_t,
		    char ***, size_t *, struct search_err *);
static int	search_parse_cron(struct search *, const struct json *,
		    struct search_err *);
static int	search_parse_threshold(struct search *, const struct json *,
		    struct search_err *);
static int	search_parse_targets(struct search *, const struct json *,
		    const struct config *, struct search_err *);
static void	search_free(struct search *);

static const char *search_type_names[SEARCH_NTYPES] = {
	"es", "graphite", "http", "prometheus", "push", "alert", "tcp"
};

/* Keys a definition may have; server fields are ignored, not refused. */
static const char *search_keys[] = {
	"name", "description", "type", "source", "query", "query_dsl",
	"index", "result", "threshold", "fields", "schedule", "range",
	"delay", "priority", "category", "tags", "owner", "assignee",
	"enabled", "autoclose", "notify", "filters", "targets", "max_alerts",
	"timeout", "aggregation",
	/* tcp, http */
	"host", "port", "url", "method", "expect_status", "match",
	"max_latency", "cert_expiry_days", "ca_file",
	/* alert */
	"alerts",
	/* graphite */
	"above", "below", NULL
};
static const char *search_server_keys[] = {
	"id", "created", "updated", "version", "origin", "status",
	"change_note", "file", NULL
};

/* Fill err and return -1. */
static int
search_fail(struct search_err *err, const char *field, const char *fmt, ...)
{
	va_list	 ap;

	snprintf(err->se_field, sizeof err->se_field, "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->se_message, sizeof err->se_message, fmt, ap);
	va_end(ap);
	return (-1);
}

/* True when key is in a NULL-terminated list. */
static int
search_in(const char *const *list, const char *key)
{
	for (; *list != NULL; list++) {
		if (strcmp(*list, key) == 0)
			return (1);
	}
	return (0);
}

/*
 * A duration member: a string ("5m") or a whole number of seconds.  Absent
 * gives def; returns 0 or -1.
 */
static int
search_duration(const struct json *j, const char *field, int64_t def,
    int64_t *out, struct search_err *err)
{
	const char	*e;
	int64_t		 v;

	if (j == NULL) {
		*out = def;
		return (0);
	}
	if (j->j_type == JSON_NUMBER) {
		if (!json_int(j, &v) || v < 0)
			return (search_fail(err, field,
			    "must be a duration such as \"5m\" or whole seconds"));
		*out = v;
		return (0);
	}
	if (j->j_type != JSON_STRING)
		return (search_fail(err, field,
		    "must be a duration such as \"5m\", not %s",
		    json_type_name(j->j_type)));
	if (util_parse_duration(json_str(j), &v, &e) == -1)
		return (search_fail(err, field, "%s", e));
	*out = v;
	return (0);
}

/* An optional string member of at most max bytes (0: no limit). */
static int
search_string(const struct json *j, const char *field, size_t max, char **out,
    struct search_err *err)
{
	*out = NULL;
	if (j == NULL || j->j_type == JSON_NULL)
		return (0);
	if (j->j_type != JSON_STRING)
		return (search_fail(err, field, "must be a string, not %s",
		    json_type_name(j->j_type)));
	if (max > 0 && j->j_u.str.len > max)
		return (search_fail(err, field, "longer than %zu bytes", max));
	*out = xstrdup(json_str(j));
	return (0);
}

/* An optional array of non-empty strings (at most max). */
static int
search_strings(const struct json *j, const char *field, size_t max,
    char ***out, size_t *n, struct search_err *err)
{
	size_t	 i;
	char	 f[160];

	*out = NULL;
	*n = 0;
	if (j == NULL || j->j_type == JSON_NULL)
		return (0);
	if (j->j_type != JSON_ARRAY)
		return (search_fail(err, field, "must be an array of strings"));
	if (json_len(j) > max)
		return (search_fail(err, field, "more than %zu entries", max));
	if (json_len(j) == 0)
		return (0);
	*out = xcalloc(json_len(j), sizeof **out);
	for (i = 0; i < json_len(j); i++) {
		snprintf(f, sizeof f, "%s[%zu]", field, i);
		if (json_at(j, i)->j_type != JSON_STRING ||
		    json_at(j, i)->j_u.str.len == 0)
			return (search_fail(err, f,
			    "must be a non-empty string"));
		(*out)[(*n)++] = xstrdup(json_str(json_at(j, i)));
	}
	return (0);
}

/* "schedule": {"cron": SPEC, "tz": ZONE}; s_every stays 0. */
static int
search_parse_cron(struct search *s, const struct json *sch,
    struct search_err *err)
{
	char	 msg[256];
	int	 what;

	if (search_string(json_get(sch, "cron"), "schedule.cron", 256,
	    &s->s_cron, err) == -1 ||
	    search_string(json_get(sch, "tz"), "schedule.tz", 256, &s->s_tz,
	    err) == -1)
		return (-1);
	if (s->s_cron == NULL)
		return (search_fail(err, "schedule.cron", "must be a string"));
	s->s_every = 0;
	s->s_cron_c = cron_new(s->s_cron, s->s_tz, &what, msg, sizeof msg);
	if (s->s_cron_c == NULL)
		return (search_fail(err, what == CRON_ERR_TZ ? "schedule.tz" :
		    "schedule.cron", "%s", msg));
	return (0);
}

/* "threshold": [lo, hi], either end null. */
static int
search_parse_threshold(struct search *s, const struct json *j,
    struct search_err *err)
{
	const struct json	*lo, *hi;

	/* Default: alert when at least one thing matched. */
	s->s_has_lo = 1;
	s->s_lo = 1;
	s->s_has_hi = 0;
	if (s->s_result == RESULT_NO_RESULTS) {
		if (j != NULL && j->j_type != JSON_NULL)
			return (search_fail(err, "threshold",
			    "does not apply to result \"no_results\" "
			    "(it alerts when nothing matched)"));
		s->s_lo = s->s_hi = 0;
		s->s_has_hi = 1;
		return (0);
	}
	if (j == NULL || j->j_type == JSON_NULL)
		return (0);
	if (j->j_type != JSON_ARRAY || json_len(j) != 2)
		return (search_fail(err, "threshold",
		    "must be [lo, hi] with numbers or null"));
	lo = json_at(j, 0);
	hi = json_at(j, 1);
	s->s_has_lo = lo->j_type != JSON_NULL;
	s->s_has_hi = hi->j_type != JSON_NULL;
	if ((s->s_has_lo && !json_num(lo, &s->s_lo)) ||
	    (s->s_has_hi && !json_num(hi, &s->s_hi)))
		return (search_fail(err, "threshold",
		    "must be [lo, hi] with numbers or null"));
	if (s->s_has_lo && s->s_has_hi && s->s_lo > s->s_hi)
		return (search_fail(err, "threshold",
		    "lo (%g) is greater than hi (%g)", s->s_lo, s->s_hi));
	if (!s->s_has_lo)
		s->s_lo = 0;
	return (0);
}

/* "targets": [{"target": NAME, ...params}]. */
static int
search_parse_targets(struct search *s, const struct json *j,
    const struct config *cfg, struct search_err *err)
{
	const struct config_target	*ct;
	const struct json		*t, *name, *dg;
	struct search_target		*st;
	char				 f[64];
	size_t				 i, k;

	if (j == NULL || j->j_type == JSON_NULL)
		return (0);
	if (j->j_type != JSON_ARRAY)
		return (search_fail(err, "targets",
		    "must be an array of {\"target\": NAME, ...}"));
	if (json_len(j) > 64)
		return (search_fail(err, "targets", "more than 64 targets"));
	if (json_len(j) == 0)
		return (0);
	s->s_targets = xcalloc(json_len(j), sizeof *s->s_targets);
	for (i = 0; i < json_len(j); i++) {
		t = json_at(j, i);
		snprintf(f, sizeof f, "targets[%zu]", i);
		if (t->j_type != JSON_OBJECT)
			return (search_fail(err, f, "must be an object"));
		snprintf(f, sizeof f, "targets[%zu].target", i);
		name = json_get(t, "target");
		if (json_str(name) == NULL || name->j_u.str.len == 0)
			return (search_fail(err, f,
			    "must name a target of the config"));
		for (k = 0; k < s->s_ntargets; k++) {
			if (strcmp(s->s_targets[k].st_name,
			    json_str(name)) == 0)
				return (search_fail(err, f,
				    "target \"%s\" is named twice",
				    json_str(name)));
		}
		st = &s->s_targets[s->s_ntargets++];
		st->st_name = xstrdup(json_str(name));
		if (cfg != NULL) {
			if ((ct = config_target(cfg, json_str(name))) == NULL)
				return (search_fail(err, f,
				    "no target \"%s\" in the config",
				    json_str(name)));
			st->st_type = xstrdup(ct->ct_type);
		} else
			st->st_type = xstrdup("unknown");
		st->st_params = json_dup(t);
		json_del(st->st_params, "target");
		if ((dg = json_get(t, "digest")) == NULL ||
		    dg->j_type == JSON_NULL)
			continue;
		snprintf(f, sizeof f, "targets[%zu].digest", i);
		if (json_str(dg) != NULL && strcmp(json_str(dg), "hourly") == 0)
			st->st_digest = SEARCH_DIGEST_HOURLY;
		else if (json_str(dg) != NULL &&
		    strcmp(json_str(dg), "daily") == 0)
			st->st_digest = SEARCH_DIGEST_DAILY;
		else
			return (search_fail(err, f,
			    "must be \"hourly\" or \"daily\""));
		if (cfg != NULL && strcmp(st->st_type, "email") != 0)
			return (search_fail(err, f, "target \"%s\" is of type "
			    "%s: only email targets take digests",
			    st->st_name, st->st_type));
	}
	return (0);
}

/* Build a search from a definition object. */
struct search *
search_from_json(const struct json *def, const struct config *cfg,
    struct search_err *err)
{
	struct search		*s;
	const struct json	*j, *sch;
	const struct src_ops	*ops;
	const char		*str;
	size_t			 i;
	int64_t			 v;
	int			 b;

	memset(err, 0, sizeof *err);
	if (def == NULL || def->j_type != JSON_OBJECT) {
		search_fail(err, "", "a search must be a JSON object");
		return (NULL);
	}
	for (i = 0; i < def->j_u.obj.n; i++) {
		str = def->j_u.obj.m[i].m_key;
		if (!search_in(search_keys, str) &&
		    !search_in(search_server_keys, str)) {
			search_fail(err, str, "unknown field");
			return (NULL);
		}
	}
	s = xcalloc(1, sizeof *s);
	s->s_refs = 1;
	s->s_enabled = 1;

	/* name */
	j = json_get(def, "name");
	if (json_str(j) == NULL || j->j_u.str.len == 0) {
		search_fail(err, "name", "is required (a non-empty string)");
		goto fail;
	}
	if (search_string(j, "name", SEARCH_NAME_MAX, &s->s_name, err) == -1)
		goto fail;

	/* type and its own keys */
	j = json_get(def, "type");
	if (json_str(j) == NULL) {
		search_fail(err, "type", "is required: one of es, graphite, "
		    "http, prometheus, push, alert, tcp");
		goto fail;
	}
	if (search_type_parse(json_str(j), &s->s_type) == -1) {
		search_fail(err, "type", "unknown type \"%s\" (one of es, "
		    "graphite, http, prometheus, push, alert, tcp)",
		    json_str(j));
		goto fail;
	}
	if ((ops = src_find(s->s_type)) == NULL) {
		search_fail(err, "type", "type \"%s\" is not available in "
		    "this version of 411", json_str(j));
		goto fail;
	}
	if (search_string(json_get(def, "source"), "source", 200, &s->s_source,
	    err) == -1 ||
	    search_string(json_get(def, "query"), "query", 64 * 1024,
	    &s->s_query, err) == -1 ||
	    search_string(json_get(def, "index"), "index", 1024, &s->s_index,
	    err) == -1)
		goto fail;
	j = json_get(def, "query_dsl");
	if (j != NULL && j->j_type != JSON_NULL) {
		if (j->j_type != JSON_OBJECT) {
			search_fail(err, "query_dsl",
			    "must be a query object");
			goto fail;
		}
		s->s_query_dsl = json_dup(j);
	}

	/* result and threshold */
	j = json_get(def, "result");
	if (j == NULL || j->j_type == JSON_NULL)
		s->s_result = RESULT_FIELDS;
	else if (json_str(j) != NULL && strcmp(json_str(j), "fields") == 0)
		s->s_result = RESULT_FIELDS;
	else if (json_str(j) != NULL && strcmp(json_str(j), "count") == 0)
		s->s_result = RESULT_COUNT;
	else if (json_str(j) != NULL &&
	    strcmp(json_str(j), "no_results") == 0)
		s->s_result = RESULT_NO_RESULTS;
	else {
		search_fail(err, "result",
		    "must be \"fields\", \"count\" or \"no_results\"");
		goto fail;
	}
	if (search_parse_threshold(s, json_get(def, "threshold"), err) == -1)
		goto fail;
	if (search_strings(json_get(def, "fields"), "fields", SEARCH_MAX_FIELDS,
	    &s->s_fields, &s->s_nfields, err) == -1)
		goto fail;

	/* schedule */
	sch = json_get(def, "schedule");
	if (sch == NULL || sch->j_type == JSON_NULL)
		s->s_every = SEARCH_DEFAULT_EVERY;
	else if (sch->j_type != JSON_OBJECT) {
		search_fail(err, "schedule",
		    "must be {\"every\": DURATION} or {\"cron\": ..., \"tz\": ...}");
		goto fail;
	} else {
		for (i = 0; i < sch->j_u.obj.n; i++) {
			str = sch->j_u.obj.m[i].m_key;
			if (strcmp(str, "every") != 0 &&
			    strcmp(str, "cron") != 0 &&
			    strcmp(str, "tz") != 0) {
				snprintf(err->se_field, sizeof err->se_field,
				    "schedule.%s", str);
				snprintf(err->se_message,
				    sizeof err->se_message, "unknown field");
				goto fail;
			}
		}
		if (json_get(sch, "cron") != NULL &&
		    json_get(sch, "every") != NULL) {
			search_fail(err, "schedule", "give either every or "
			    "cron, not both");
			goto fail;
		}
		if (json_get(sch, "tz") != NULL &&
		    json_get(sch, "cron") == NULL) {
			search_fail(err, "schedule.tz", "only with cron");
			goto fail;
		}
		if (json_get(sch, "cron") != NULL) {
			if (search_parse_cron(s, sch, err) == -1)
				goto fail;
		} else if (json_get(sch, "every") == NULL) {
			search_fail(err, "schedule.every", "is required");
			goto fail;
		} else if (search_duration(json_get(sch, "every"),
		    "schedule.every", 0, &s->s_every, err) == -1)
			goto fail;
	}
	if (s->s_cron_c == NULL &&
	    (s->s_every < 1 || s->s_every > 31 * 86400)) {
		search_fail(err, "schedule.every",
		    "must be between 1s and 31d");
		goto fail;
	}
	/* With cron, range is required: fires need not be evenly spaced. */
	if (s->s_cron_c != NULL && json_get(def, "range") == NULL) {
		search_fail(err, "range", "is required with a cron schedule");
		goto fail;
	}
	if (search_duration(json_get(def, "range"), "range", s->s_every,
	    &s->s_range, err) == -1)
		goto fail;
	if (s->s_range < 1 || s->s_range > 366 * 86400) {
		search_fail(err, "range", "must be between 1s and 366d");
		goto fail;
	}
	if (search_duration(json_get(def, "delay"), "delay", 0, &s->s_delay,
	    err) == -1)
		goto fail;
	if (s->s_delay > 7 * 86400) {
		search_fail(err, "delay", "must be at most 7d");
		goto fail;
	}

	/* who and what */
	if (search_string(json_get(def, "priority"), "priority", 0,
	    &s->s_priority, err) == -1)
		goto fail;
	if (s->s_priority == NULL)
		s->s_priority = xstrdup("low");
	if (strcmp(s->s_priority, "low") != 0 &&
	    strcmp(s->s_priority, "medium") != 0 &&
	    strcmp(s->s_priority, "high") != 0 &&
	    strcmp(s->s_priority, "critical") != 0) {
		search_fail(err, "priority",
		    "must be \"low\", \"medium\", \"high\" or \"critical\"");
		goto fail;
	}
	if (search_string(json_get(def, "category"), "category", 100,
	    &s->s_category, err) == -1 ||
	    search_string(json_get(def, "owner"), "owner", 200, &s->s_owner,
	    err) == -1 ||
	    search_string(json_get(def, "assignee"), "assignee", 200,
	    &s->s_assignee, err) == -1 ||
	    search_strings(json_get(def, "tags"), "tags", 50, &s->s_tags,
	    &s->s_ntags, err) == -1)
		goto fail;
	if (s->s_category == NULL)
		s->s_category = xstrdup("general");
	for (i = 0; i < s->s_ntags; i++) {
		for (str = s->s_tags[i]; *str != '\0'; str++) {
			if (!isalnum((unsigned char)*str) &&
			    strchr("_-.:", *str) == NULL)
				break;
		}
		if (*str != '\0' || strlen(s->s_tags[i]) > 64) {
			snprintf(err->se_field, sizeof err->se_field,
			    "tags[%zu]", i);
			snprintf(err->se_message, sizeof err->se_message,
			    "tags are up to 64 letters, digits, _ - . or :");
			goto fail;
		}
	}
	j = json_get(def, "description");
	if (j != NULL && j->j_type != JSON_NULL && j->j_type != JSON_STRING) {
		search_fail(err, "description", "must be a string");
		goto fail;
	}
	j = json_get(def, "enabled");
	if (j != NULL && j->j_type != JSON_NULL) {
		if (!json_bool(j, &b)) {
			search_fail(err, "enabled", "must be true or false");
			goto fail;
		}
		s->s_enabled = b;
	}
	if (search_duration(json_get(def, "autoclose"), "autoclose", 0,
	    &s->s_autoclose, err) == -1)
		goto fail;
	j = json_get(def, "notify");
	if (j != NULL && j->j_type != JSON_NULL) {
		const struct json *m = json_get(j, "mode");
		const struct json *f = json_get(j, "format");

		if (j->j_type != JSON_OBJECT) {
			search_fail(err, "notify", "must be an object");
			goto fail;
		}
		for (i = 0; i < j->j_u.obj.n; i++) {
			str = j->j_u.obj.m[i].m_key;
			if (strcmp(str, "mode") != 0 &&
			    strcmp(str, "format") != 0) {
				snprintf(err->se_field, sizeof err->se_field,
				    "notify.%s", str);
				snprintf(err->se_message,
				    sizeof err->se_message, "unknown field");
				goto fail;
			}
		}
		if (m != NULL && (json_str(m) == NULL ||
		    (strcmp(json_str(m), "immediate") != 0 &&
		    strcmp(json_str(m), "hourly") != 0 &&
		    strcmp(json_str(m), "daily") != 0 &&
		    strcmp(json_str(m), "none") != 0))) {
			search_fail(err, "notify.mode", "must be \"immediate\", "
			    "\"hourly\", \"daily\" or \"none\"");
			goto fail;
		}
		if (f != NULL && (json_str(f) == NULL ||
		    (strcmp(json_str(f), "full") != 0 &&
		    strcmp(json_str(f), "content") != 0))) {
			search_fail(err, "notify.format",
			    "must be \"full\" or \"content\"");
			goto fail;
		}
	}
	j = json_get(def, "max_alerts");
	s->s_max_alerts = cfg != NULL ? cfg->c_max_alerts : CONFIG_MAX_ALERTS;
	if (j != NULL && j->j_type != JSON_NULL) {
		if (!json_int(j, &v) || v < 1 || v > 1000000) {
			search_fail(err, "max_alerts",
			    "must be a whole number from 1 to 1000000");
			goto fail;
		}
		s->s_max_alerts = (int)v;
	}
	if (search_duration(json_get(def, "timeout"), "timeout", 0,
	    &s->s_timeout, err) == -1)
		goto fail;
	if (s->s_timeout > 3600) {
		search_fail(err, "timeout", "must be at most 1h");
		goto fail;
	}

	/* filters and targets */
	j = json_get(def, "filters");
	if (j != NULL && j->j_type != JSON_NULL) {
		if (filter_validate(j, err) == -1)
			goto fail;
		s->s_filters = json_dup(j);
	}
	if (search_parse_targets(s, json_get(def, "targets"), cfg, err) == -1)
		goto fail;

	/* the type's own checks last: they may look at everything above */
	if (ops->so_validate != NULL && ops->so_validate(def, cfg, err) == -1)
		goto fail;

	s->s_def = json_dup(def);
	for (i = 0; search_server_keys[i] != NULL; i++)
		json_del(s->s_def, search_server_keys[i]);
	return (s);
fail:
	search_free(s);
	return (NULL);
}

/* Parse a stored search. */
struct search *
search_from_store(const char *text, size_t len, const struct config *cfg,
    struct search_err *err)
{
	struct json	*j;
	struct search	*s;
	const char	*origin;
	char		 msg[128];
	int64_t		 v;

	memset(err, 0, sizeof *err);
	if ((j = json_parse(text, len, msg, sizeof msg)) == NULL) {
		search_fail(err, "", "stored search is not JSON: %s", msg);
		return (NULL);
	}
	if ((s = search_from_json(json_get(j, "def"), cfg, err)) == NULL) {
		json_free(j);
		return (NULL);
	}
	if (json_int(json_get(j, "id"), &v))
		s->s_id = (uint64_t)v;
	if (json_int(json_get(j, "version"), &v))
		s->s_version = (uint64_t)v;
	if (json_int(json_get(j, "created"), &v))
		s->s_created = v;
	if (json_int(json_get(j, "updated"), &v))
		s->s_updated = v;
	origin = json_str(json_get(j, "origin"));
	s->s_origin = origin != NULL && strcmp(origin, "file") == 0 ?
	    ORIGIN_FILE : ORIGIN_API;
	if (json_str(json_get(j, "file")) != NULL)
		s->s_file = xstrdup(json_str(json_get(j, "file")));
	json_free(j);
	return (s);
}

/* Serialize for STORE_SEARCHES. */
char *
search_to_store(const struct search *s, size_t *lenp)
{
	yajl_gen	 g;
	struct buf	 b = BUF_INIT;

	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_kint(g, "id", (int64_t)s->s_id);
	jgen_kint(g, "version", (int64_t)s->s_version);
	jgen_kint(g, "created", s->s_created);
	jgen_kint(g, "updated", s->s_updated);
	jgen_kstr(g, "origin", s->s_origin == ORIGIN_FILE ? "file" : "api");
	if (s->s_file != NULL)
		jgen_kstr(g, "file", s->s_file);
	jgen_str(g, "def");
	json_gen(g, s->s_def);
	yajl_gen_map_close(g);
	jgen_take(g, &b);
	yajl_gen_free(g);
	return (buf_steal(&b, lenp));
}

/* Write the API form, leaving the object open. */
void
search_gen_open(yajl_gen g, const struct search *s)
{
	size_t	 i;

	yajl_gen_map_open(g);
	jgen_kint(g, "id", (int64_t)s->s_id);
	for (i = 0; i < s->s_def->j_u.obj.n; i++) {
		jgen_str(g, s->s_def->j_u.obj.m[i].m_key);
		json_gen(g, s->s_def->j_u.obj.m[i].m_val);
	}
	jgen_ktime(g, "created", s->s_created);
	jgen_ktime(g, "updated", s->s_updated);
	jgen_kint(g, "version", (int64_t)s->s_version);
	jgen_kstr(g, "origin", s->s_origin == ORIGIN_FILE ? "file" : "api");
	if (s->s_file != NULL)
		jgen_kstr(g, "file", s->s_file);
}

/* Take a reference. */
struct search *
search_ref(struct search *s)
{
	s->s_refs++;
	return (s);
}

/* Drop a reference; frees at zero. */
void
search_unref(struct search *s)
{
	if (s == NULL)
		return;
	if (--s->s_refs > 0)
		return;
	search_free(s);
}

/* Free everything a search holds. */
static void
search_free(struct search *s)
{
	size_t	 i;

	free(s->s_file);
	free(s->s_name);
	free(s->s_source);
	free(s->s_query);
	json_free(s->s_query_dsl);
	free(s->s_index);
	for (i = 0; i < s->s_nfields; i++)
		free(s->s_fields[i]);
	free(s->s_fields);
	free(s->s_cron);
	free(s->s_tz);
	cron_free(s->s_cron_c);
	free(s->s_priority);
	free(s->s_category);
	free(s->s_owner);
	free(s->s_assignee);
	for (i = 0; i < s->s_ntags; i++)
		free(s->s_tags[i]);
	free(s->s_tags);
	json_free(s->s_filters);
	for (i = 0; i < s->s_ntargets; i++) {
		free(s->s_targets[i].st_name);
		free(s->s_targets[i].st_type);
		json_free(s->s_targets[i].st_params);
	}
	free(s->s_targets);
	json_free(s->s_def);
	free(s);
}

/* Name of a type. */
const char *
search_type_name(enum search_type t)
{
	if ((int)t < 0 || t >= SEARCH_NTYPES)
		return ("unknown");
	return (search_type_names[t]);
}

/* Type from its name; 0 or -1. */
int
search_type_parse(const char *name, enum search_type *t)
{
	int	 i;

	for (i = 0; i < SEARCH_NTYPES; i++) {
		if (strcmp(name, search_type_names[i]) == 0) {
			*t = (enum search_type)i;
			return (0);
		}
	}
	return (-1);
}

/* Name of a result kind. */
const char *
search_result_name(enum search_result r)
{
	switch (r) {
	case RESULT_FIELDS:
		return ("fields");
	case RESULT_COUNT:
		return ("count");
	case RESULT_NO_RESULTS:
		return ("no_results");
	}
	return ("?");
}

/* True when count lies inside the search's threshold. */
int
search_threshold_ok(const struct search *s, double count)
{
	if (s->s_has_lo && count < s->s_lo)
		return (0);
	if (s->s_has_hi && count > s->s_hi)
		return (0);
	return (1);
}

/* Deterministic jitter in [0, every) ms, from the id. */
int64_t
search_jitter(const struct search *s)
{
	int64_t	 every = s->s_every * 1000;

	if (every <= 1000)
		return (0);
	return ((int64_t)(util_mix64(s->s_id) % (uint64_t)every));
}

/* Read the state of search id (zeroed when none). */
int
search_state_load(struct store_txn *txn, uint64_t id, struct search_state *st)
{
	uint8_t		 key[8];
	const void	*val;
	size_t		 vlen;
	struct json	*j;
	char		 msg[128];
	int64_t		 v;
	int		 rc, b;

	memset(st, 0, sizeof *st);
	util_be64_put(key, id);
	rc = store_get(txn, STORE_SEARCH_STATE, key, sizeof key, &val, &vlen);
	if (rc == 1)
		return (0);
	if (rc == -1)
		return (-1);
	if ((j = json_parse(val, vlen, msg, sizeof msg)) == NULL) {
		log_warnx("search %llu: bad stored state: %s",
		    (unsigned long long)id, msg);
		return (-1);
	}
	if (json_int(json_get(j, "checkpoint"), &v))
		st->ss_checkpoint = v;
	if (json_int(json_get(j, "last_run"), &v))
		st->ss_last_run = v;
	if (json_int(json_get(j, "last_success"), &v))
		st->ss_last_success = v;
	if (json_int(json_get(j, "last_failure"), &v))
		st->ss_last_failure = v;
	if (json_str(json_get(j, "last_error")) != NULL)
		st->ss_last_error = xstrdup(json_str(json_get(j,
		    "last_error")));
	if (json_bool(json_get(j, "failing"), &b))
		st->ss_failing = b;
	if (json_int(json_get(j, "failing_since"), &v))
		st->ss_failing_since = v;
	if (json_int(json_get(j, "last_job"), &v))
		st->ss_last_job = (uint64_t)v;
	if (json_bool(json_get(j, "announced"), &b))
		st->ss_announced = b;
	if (json_int(json_get(j, "failed_event_at"), &v))
		st->ss_failed_event_at = v;
	if (json_int(json_get(j, "history"), &v))
		st->ss_history = (uint32_t)v;
	if (json_int(json_get(j, "nhistory"), &v) && v >= 0 &&
	    v <= SEARCH_FLAP_RUNS)
		st->ss_nhistory = (int)v;
	if (json_bool(json_get(j, "flapping"), &b))
		st->ss_flapping = b;
	json_free(j);
	return (0);
}

/* Write the state of search id. */
int
search_state_save(struct store_txn *txn, uint64_t id,
    const struct search_state *st)
{
	uint8_t		 key[8];
	yajl_gen	 g;
	struct buf	 b = BUF_INIT;
	int		 rc;

	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_kint(g, "checkpoint", st->ss_checkpoint);
	jgen_kint(g, "last_run", st->ss_last_run);
	jgen_kint(g, "last_success", st->ss_last_success);
	jgen_kint(g, "last_failure", st->ss_last_failure);
	jgen_kstr(g, "last_error", st->ss_last_error);
	jgen_kbool(g, "failing", st->ss_failing);
	jgen_kint(g, "failing_since", st->ss_failing_since);
	jgen_kint(g, "last_job", (int64_t)st->ss_last_job);
	jgen_kbool(g, "announced", st->ss_announced);
	jgen_kint(g, "failed_event_at", st->ss_failed_event_at);
	jgen_kint(g, "history", (int64_t)st->ss_history);
	jgen_kint(g, "nhistory", st->ss_nhistory);
	jgen_kbool(g, "flapping", st->ss_flapping);
	yajl_gen_map_close(g);
	jgen_take(g, &b);
	yajl_gen_free(g);
	util_be64_put(key, id);
	rc = store_put(txn, STORE_SEARCH_STATE, key, sizeof key, b.b_data,
	    b.b_len);
	buf_free(&b);
	return (rc);
}

double
search_flap_rate(uint32_t h, int n)
{
	double	 w, sum = 0, changes = 0;
	int	 i;

	if (n < 2)
		return (0);
	/* i = 1 is the oldest pair, n - 1 the newest. */
	for (i = 1; i < n; i++) {
		w = n == 2 ? 1.0 : 0.8 + 0.4 * (double)(i - 1) / (n - 2);
		sum += w;
		if (((h >> (n - i)) & 1) != ((h >> (n - i - 1)) & 1))
			changes += w;
	}
	return (changes / sum);
}

/* Free what a loaded state holds. */
void
search_state_clear(struct search_state *st)
{
	free(st->ss_last_error);
	st->ss_last_error = NULL;
}
