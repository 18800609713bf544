/*
 * test_filter_batch.c -- the script filter (C8) through a real event loop,
 * and the enrich filter (C7): options, CIDR longest-prefix matches, maps,
 * table files and what a batch filter without a loop or resolver does.
 * Scripts and tables are names in script_dir and maps_dir (trust.h): both
 * are the test's tmp directory here.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "config.h"
#include "filter.h"
#include "json.h"
#include "record.h"
#include "search.h"
#include "tap.h"
#include "trust.h"
#include "xmalloc.h"

#define T0	1795460400000LL		/* 2026-11-23T19:00:00Z */

static const char	*tmp;
/* A file run_chain writes after validation, before the run. */
static const char	*swap_path, *swap_body;
/* A file run_chain replaces by a symlink after validation. */
static const char	*swap_link, *swap_target;
/* run_chain unsets script_dir and maps_dir after validation. */
static int		 untrust;
/* run_chain frees the chain after one loop turn instead of finishing. */
static int		 cancel_early;

/* What one run of a chain gave. */
struct result {
	int			 finished;
	struct filter_batch	 out;
	uint64_t		 errors;
	char			 error[512];
	char			 summary[512];
	char			 why[512];	/* last per-record change */
};

static void
trace_cb(void *arg, long rec, size_t pos, const char *type,
    const char *what, const char *why)
{
	struct result	*r = arg;

	(void)pos;
	(void)type;
	if (rec == -1 && strcmp(what, "batch") == 0)
		snprintf(r->summary, sizeof r->summary, "%s", why);
	else if (strcmp(what, "changed") == 0)
		snprintf(r->why, sizeof r->why, "%s", why);
}

static void
finish_cb(void *arg, struct filter_batch *b)
{
	struct result	*r = arg;
	size_t		 i;

	/* After the records that passed as they came (streaming filters). */
	r->finished++;
	for (i = 0; i < b->fb_n; i++)
		filter_batch_add(&r->out, b->fb_recs[i]);
	free(b->fb_recs);
}

static struct json *
parse(const char *text)
{
	struct json	*j;
	char		 msg[128];

	if ((j = json_parse(text, strlen(text), msg, sizeof msg)) == NULL)
		bail("bad test JSON %s: %s", text, msg);
	return (j);
}

static struct search *
mksearch(const char *filters)
{
	struct json		*j;
	struct search		*s;
	struct search_err	 err;
	char			*text;

	if (asprintf(&text, "{\"name\":\"f\",\"type\":\"es\",\"source\":"
	    "\"logs\",\"query\":\"*\",\"filters\":%s}", filters) == -1)
		bail("asprintf");
	j = parse(text);
	free(text);
	if ((s = search_from_json(j, NULL, &err)) == NULL)
		bail("search refused: %s: %s (%s)", err.se_field,
		    err.se_message, filters);
	json_free(j);
	s->s_id = 1;
	return (s);
}

/* Records from NDJSON lines (NULL-terminated list). */
static void
mkrecs(struct filter_batch *b, ...)
{
	const char	*l;
	struct record	*r;
	char		 err[128];
	va_list		 ap;

	memset(b, 0, sizeof *b);
	va_start(ap, b);
	while ((l = va_arg(ap, const char *)) != NULL) {
		if ((r = record_from_json(l, strlen(l), err,
		    sizeof err)) == NULL)
			bail("bad record %s: %s", l, err);
		filter_batch_add(b, r);
	}
	va_end(ap);
}

/*
 * Run filters over the records in a (taken) with a loop (or without when
 * loop is 0; dns is passed as is); fills res.
 */
static void
run_chain(const char *filters, struct filter_batch *in, int loop,
    struct result *res)
{
	struct event_base	*base = NULL;
	struct filter_chain	*fc;
	struct filter_env	 fe;
	struct search		*s;
	const char		*first;
	size_t			 i;
	int			 rounds;

	memset(res, 0, sizeof *res);
	if (loop && (base = event_base_new()) == NULL)
		bail("event_base_new");
	s = mksearch(filters);
	if (swap_path != NULL) {
		FILE *fp;

		if ((fp = fopen(swap_path, "w")) == NULL)
			bail("fopen %s", swap_path);
		fputs(swap_body, fp);
		fclose(fp);
		swap_path = NULL;
	}
	if (swap_link != NULL) {
		(void)unlink(swap_link);
		if (symlink(swap_target, swap_link) == -1)
			bail("symlink %s", swap_link);
		swap_link = NULL;
	}
	if (untrust) {
		trust_set_dir(TRUST_SCRIPT, NULL);
		trust_set_dir(TRUST_MAPS, NULL);
		untrust = 0;
	}
	memset(&fe, 0, sizeof fe);
	fe.fe_base = base;
	fe.fe_now = T0;
	fe.fe_search = 1;
	fc = filter_chain_new(s, &fe);
	for (i = 0; i < in->fb_n; i++) {
		switch (filter_chain_record(fc, NULL, in->fb_recs[i], trace_cb,
		    res)) {
		case FILTER_HELD:
			break;
		case FILTER_KEEP:
			filter_batch_add(&res->out, in->fb_recs[i]);
			break;
		default:
			record_free(in->fb_recs[i]);
		}
		in->fb_recs[i] = NULL;
	}
	in->fb_n = 0;
	filter_batch_clear(in);
	filter_chain_finish(fc, NULL, trace_cb, res, finish_cb, res);
	for (rounds = 0; base != NULL && !res->finished && rounds < 100000;
	    rounds++) {
		if (cancel_early) {
			event_base_loop(base, EVLOOP_NONBLOCK);
			break;
		}
		event_base_loop(base, EVLOOP_ONCE);
	}
	res->errors = filter_chain_errors(fc, &first);
	if (first != NULL)
		snprintf(res->error, sizeof res->error, "%s", first);
	filter_chain_free(fc);
	search_unref(s);
	if (base != NULL)
		event_base_free(base);
}

/* The record i of res as JSON, or "" (static buffer). */
static const char *
out_json(struct result *res, size_t i)
{
	static struct buf	 b;

	buf_reset(&b);
	if (i < res->out.fb_n)
		record_to_json(res->out.fb_recs[i], &b);
	return (b.b_data != NULL ? b.b_data : "");
}

/* Write an executable script tmp/name. */
static char *
mkscript(const char *name, const char *body)
{
	char	*path;
	FILE	*fp;

	if (asprintf(&path, "%s/%s", tmp, name) == -1)
		bail("asprintf");
	if ((fp = fopen(path, "w")) == NULL)
		bail("fopen %s", path);
	fprintf(fp, "#!/bin/sh\n%s\n", body);
	fclose(fp);
	chmod(path, 0755);
	return (path);
}

/* Write path with body and mode. */
static void
writefile(const char *path, const char *body, mode_t mode)
{
	FILE	*fp;

	(void)unlink(path);
	if ((fp = fopen(path, "w")) == NULL)
		bail("fopen %s", path);
	fputs(body, fp);
	fclose(fp);
	chmod(path, mode);
}

/* The file name of path. */
static const char *
base(const char *path)
{
	return (strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path);
}

/* Write a plain file tmp/name. */
static char *
mkfile(const char *name, const char *body)
{
	char	*path;
	FILE	*fp;

	if (asprintf(&path, "%s/%s", tmp, name) == -1)
		bail("asprintf");
	if ((fp = fopen(path, "w")) == NULL)
		bail("fopen %s", path);
	fputs(body, fp);
	fclose(fp);
	return (path);
}

/* A script filter over prog (its name in script_dir) with extra options. */
static char *
script_filters(const char *prog, const char *extra)
{
	char	*f;

	if (strrchr(prog, '/') != NULL)
		prog = strrchr(prog, '/') + 1;
	if (asprintf(&f, "[{\"type\":\"script\",\"script\":\"%s\"%s%s}]",
	    prog, extra ? "," : "", extra ? extra : "") == -1)
		bail("asprintf");
	return (f);
}

static void
run_script(const char *prog, const char *extra, struct filter_batch *in,
    struct result *res)
{
	char	*f = script_filters(prog, extra);

	run_chain(f, in, 1, res);
	free(f);
}

struct bad {
	const char	*json;
	const char	*field;
	const char	*msg;
};

static const struct bad bads[] = {
	{ "{\"type\":\"script\"}", "filters[0].script",
	    "script: is required" },
	{ "{\"type\":\"script\",\"command\":[\"/bin/sh\",\"-c\",\"id\"]}",
	    "filters[0].command", "script: is no longer accepted: a search "
	    "cannot give a command line; name a program the operator put in "
	    "script_dir" },
	{ "{\"type\":\"script\",\"script\":\"cat\",\"command\":[\"/bin/cat\"]}",
	    "filters[0].command", "script: is no longer accepted" },
	{ "{\"type\":\"script\",\"script\":\"cat\",\"env\":{\"A\":\"b\"}}",
	    "filters[0].env", "script: is no longer accepted: the environment" },
	{ "{\"type\":\"script\",\"script\":\"/bin/cat\"}", "filters[0].script",
	    "script: must be a plain file name, not a path" },
	{ "{\"type\":\"script\",\"script\":\"../cat\"}", "filters[0].script",
	    "script: must be a plain file name, not a path" },
	{ "{\"type\":\"script\",\"script\":\"..\"}", "filters[0].script",
	    "script: must not start with '.'" },
	{ "{\"type\":\"script\",\"script\":\".\"}", "filters[0].script",
	    "script: must not start with '.'" },
	{ "{\"type\":\"script\",\"script\":\".hidden\"}", "filters[0].script",
	    "script: must not start with '.'" },
	{ "{\"type\":\"script\",\"script\":\"a\\u0000b\"}", "filters[0].script",
	    "script: must not contain NUL" },
	{ "{\"type\":\"script\",\"script\":\"\"}", "filters[0].script",
	    "script: must be a file name" },
	{ "{\"type\":\"script\",\"script\":[\"cat\"]}", "filters[0].script",
	    "script: must be the name of a file in script_dir" },
	{ "{\"type\":\"script\",\"script\":\"cat\",\"args\":\"-u\"}",
	    "filters[0].args", "script: must be a list" },
	{ "{\"type\":\"script\",\"script\":\"cat\",\"args\":[5]}",
	    "filters[0].args", "script: must be a list of strings" },
	{ "{\"type\":\"script\",\"script\":\"cat\",\"timeout\":\"6m\"}",
	    "filters[0].timeout", "script: must be more than 0 and at most 5m" },
	{ "{\"type\":\"script\",\"script\":\"cat\",\"timeout\":\"x\"}",
	    "filters[0].timeout", "script:" },
	{ "{\"type\":\"script\",\"script\":\"cat\",\"timeout\":[]}",
	    "filters[0].timeout", "script: must be a duration" },
	{ "{\"type\":\"script\",\"script\":\"cat\",\"timeout\":\"5s\","
	    "\"max_cpu\":\"6s\"}", "filters[0].max_cpu",
	    "script: must be at most the timeout" },
	{ "{\"type\":\"script\",\"script\":\"cat\","
	    "\"max_output\":\"12XB\"}", "filters[0].max_output",
	    "script: must be a size" },
	{ "{\"type\":\"script\",\"script\":\"cat\",\"max_output\":0}",
	    "filters[0].max_output", "script: must be a size" },
	{ "{\"type\":\"script\",\"script\":\"cat\",\"max_memory\":\"1MB\"}",
	    "filters[0].max_memory", "script: must be a size from 16MB" },
	{ "{\"type\":\"script\",\"script\":\"cat\",\"max_memory\":\"5GB\"}",
	    "filters[0].max_memory", "script: must be a size from 16MB" },
	{ "{\"type\":\"script\",\"script\":\"cat\",\"shell\":true}",
	    "filters[0].shell", "script: unknown option" },
	{ "{\"type\":\"enrich\",\"cidr\":{}}", "filters[0].field",
	    "enrich: is required" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"s\"}",
	    "filters[0]", "enrich: give one lookup" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"s\","
	    "\"rdns\":false}", "filters[0]", "enrich: give one lookup" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"s\","
	    "\"cidr\":{},\"map\":{}}", "filters[0].map",
	    "enrich: give only one lookup, not both cidr and map" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"s\","
	    "\"map\":{},\"rdns\":true}", "filters[0].rdns",
	    "enrich: give only one lookup" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"cidr\":{}}",
	    "filters[0].target", "enrich: is required" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"\","
	    "\"rdns\":true}", "filters[0].target", "enrich: must be a field" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"s\","
	    "\"cidr\":[]}", "filters[0].cidr", "enrich: must be an object" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"s\","
	    "\"cidr\":{\"10.0.0.0/33\":\"x\"}}", "filters[0].cidr",
	    "enrich: \"10.0.0.0/33\": prefix length must be 0 to 32" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"s\","
	    "\"cidr\":{\"corp\":\"x\"}}", "filters[0].cidr",
	    "enrich: \"corp\": not a network" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"s\","
	    "\"cidr\":{\"::/129\":\"x\"}}", "filters[0].cidr",
	    "prefix length must be 0 to 128" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"s\","
	    "\"map\":{\"a\":1}}", "filters[0].map",
	    "enrich: \"a\": values must be strings" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"s\","
	    "\"map_file\":\"rel/path\"}", "filters[0].map_file",
	    "enrich: must be a plain file name, not a path" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"s\","
	    "\"map_file\":\"/etc/services\"}", "filters[0].map_file",
	    "enrich: must be a plain file name, not a path" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"s\","
	    "\"cidr_file\":\"../411d.conf\"}", "filters[0].cidr_file",
	    "enrich: must be a plain file name, not a path" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"s\","
	    "\"map_file\":\"..\"}", "filters[0].map_file",
	    "enrich: must not start with '.'" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"rdns\":\"yes\"}",
	    "filters[0].rdns", "enrich: must be true or false" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"rdns\":true,"
	    "\"rdns_timeout\":\"2m\"}", "filters[0].rdns_timeout",
	    "enrich: must be more than 0 and at most 1m" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"s\","
	    "\"map\":{},\"rdns_timeout\":\"1s\"}", "filters[0].rdns_timeout",
	    "enrich: goes only with" },
	{ "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"s\","
	    "\"map\":{},\"cache\":1}", "filters[0].cache",
	    "enrich: unknown option" },
};

static void
test_validate(void)
{
	struct search_err	 err;
	struct json		*j;
	char			*text;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		if (asprintf(&text, "[%s]", bads[i].json) == -1)
			bail("asprintf");
		j = parse(text);
		free(text);
		memset(&err, 0, sizeof err);
		rc = filter_validate(j, &err);
		ok(rc == -1 && strcmp(err.se_field, bads[i].field) == 0 &&
		    strstr(err.se_message, bads[i].msg) != NULL &&
		    (strncmp(err.se_message, "script: ", 8) == 0 ||
		    strncmp(err.se_message, "enrich: ", 8) == 0),
		    "%s refused: %s", bads[i].field, err.se_message);
		if (rc == -1 && strcmp(err.se_field, bads[i].field) != 0)
			diag("%s: field %s", bads[i].json, err.se_field);
		json_free(j);
	}
	j = parse("[{\"type\":\"script\",\"script\":\"cat\",\"args\":[\"-u\"],"
	    "\"timeout\":\"30s\",\"max_output\":\"1MB\",\"max_cpu\":\"2s\","
	    "\"max_memory\":\"64MB\"},"
	    "{\"type\":\"enrich\",\"field\":\"ip\",\"target\":\"site\","
	    "\"cidr\":{\"10.0.0.0/8\":\"corp\",\"2001:db8::/32\":\"v6\"}},"
	    "{\"type\":\"enrich\",\"field\":\"ip\",\"rdns\":true,"
	    "\"rdns_timeout\":\"500ms\",\"on_error\":\"drop\"}]");
	rc = filter_validate(j, &err);
	ok(rc == 0, "good script and enrich options accepted");
	if (rc != 0)
		diag("%s: %s", err.se_field, err.se_message);
	json_free(j);
}

static void
test_script(void)
{
	struct filter_batch	 in;
	struct result		 res;
	char			*p, *big, *extra;
	size_t			 i;
	struct buf		 b = BUF_INIT;

	/* Keep a subset. */
	p = mkscript("keep.sh", "exec grep '\"keep\":true'");
	mkrecs(&in, "{\"n\":1,\"keep\":true}", "{\"n\":2,\"keep\":false}",
	    "{\"n\":3,\"keep\":true}", NULL);
	run_script(p, NULL, &in, &res);
	is_int(res.finished, 1, "keep: finished once");
	is_int(res.errors, 0, "keep: no error");
	is_int(res.out.fb_n, 2, "keep: 2 records");
	is_string(out_json(&res, 0), "{\"n\":1,\"keep\":true}", "keep: first");
	is_string(out_json(&res, 1), "{\"n\":3,\"keep\":true}",
	    "keep: second");
	ok(strncmp(res.summary, "script kept 2 of 3 records (exit 0, ",
	    36) == 0, "keep: summary %s", res.summary);
	filter_batch_clear(&res.out);
	free(p);

	/* Rewrite, with a time field and an argument. */
	p = mkscript("rewrite.sh", "sed \"s/\\\"old\\\"/\\\"$1\\\"/\"");
	mkrecs(&in, "{\"v\":\"old\",\"time\":\"2026-11-23T19:00:00Z\"}", NULL);
	run_script(p, "\"args\":[\"new\"]", &in, &res);
	is_int(res.out.fb_n, 1, "rewrite: 1 record");
	is_string(out_json(&res, 0),
	    "{\"v\":\"new\",\"time\":\"2026-11-23T19:00:00Z\"}",
	    "rewrite: changed by the script, argument passed");
	ok(res.out.fb_n == 1 && res.out.fb_recs[0]->r_time == T0,
	    "rewrite: event time from the time field");
	filter_batch_clear(&res.out);
	free(p);

	/* Add records. */
	p = mkscript("add.sh", "cat; echo; echo '{\"added\":1}'");
	mkrecs(&in, "{\"a\":1}", NULL);
	run_script(p, NULL, &in, &res);
	is_int(res.out.fb_n, 2, "add: 2 records (blank line ignored)");
	is_string(out_json(&res, 1), "{\"added\":1}", "add: the new one");
	filter_batch_clear(&res.out);
	free(p);

	/* Drop all. */
	p = mkscript("none.sh", "cat >/dev/null");
	mkrecs(&in, "{\"a\":1}", "{\"a\":2}", NULL);
	run_script(p, NULL, &in, &res);
	is_int(res.errors, 0, "drop all: no error");
	is_int(res.out.fb_n, 0, "drop all: nothing left");
	filter_batch_clear(&res.out);
	free(p);

	/* Non-zero exit: on_error keep, then drop. */
	p = mkscript("fail.sh", "cat >/dev/null; echo 'bad input' >&2; "
	    "echo second >&2; exit 3");
	mkrecs(&in, "{\"a\":1}", "{\"a\":2}", NULL);
	run_script(p, NULL, &in, &res);
	is_int(res.errors, 1, "exit 3: an error");
	is_string(res.error, "filters[0] (script): exited with status 3: "
	    "bad input", "exit 3: status and first stderr line");
	is_int(res.out.fb_n, 2, "exit 3, on_error keep: records as given");
	is_string(out_json(&res, 1), "{\"a\":2}", "exit 3: unchanged");
	filter_batch_clear(&res.out);
	mkrecs(&in, "{\"a\":1}", "{\"a\":2}", NULL);
	run_script(p, "\"on_error\":\"drop\"", &in, &res);
	is_int(res.out.fb_n, 0, "exit 3, on_error drop: none");
	filter_batch_clear(&res.out);
	free(p);

	/* Killed by a signal. */
	p = mkscript("kill.sh", "kill -9 $$");
	mkrecs(&in, "{\"a\":1}", NULL);
	run_script(p, NULL, &in, &res);
	is_string(res.error, "filters[0] (script): killed by signal 9",
	    "killed by a signal");
	filter_batch_clear(&res.out);
	free(p);

	/* Time limit. */
	p = mkscript("sleep.sh", "exec sleep 30");
	mkrecs(&in, "{\"a\":1}", NULL);
	run_script(p, "\"timeout\":\"1s\"", &in, &res);
	is_string(res.error, "filters[0] (script): timed out after 1s",
	    "timeout: killed and reported");
	is_int(res.out.fb_n, 1, "timeout: records kept");
	filter_batch_clear(&res.out);
	free(p);

	/* Too much output. */
	p = mkscript("yes.sh", "exec yes '{\"a\":1}'");
	mkrecs(&in, "{\"a\":1}", NULL);
	run_script(p, "\"max_output\":\"4KB\"", &in, &res);
	is_string(res.error, "filters[0] (script): output larger than 4096 "
	    "bytes", "max_output: killed and reported");
	filter_batch_clear(&res.out);
	free(p);

	/* Garbage lines. */
	p = mkscript("garbage.sh", "cat >/dev/null; echo '{\"a\":1}'; "
	    "echo 'not json'");
	mkrecs(&in, "{\"a\":1}", NULL);
	run_script(p, NULL, &in, &res);
	is_string(res.error, "filters[0] (script): output line 2 is not a "
	    "JSON object", "garbage: line named");
	is_string(out_json(&res, 0), "{\"a\":1}", "garbage: batch as given");
	filter_batch_clear(&res.out);
	free(p);
	p = mkscript("array.sh", "cat >/dev/null; echo '{\"a\":'");
	mkrecs(&in, "{\"a\":1}", NULL);
	run_script(p, NULL, &in, &res);
	ok(strstr(res.error, "filters[0] (script): output line 1 is not a "
	    "JSON object: ") == res.error && strlen(res.error) > 58,
	    "truncated JSON: %s", res.error);
	filter_batch_clear(&res.out);
	free(p);

	/* Writes a lot and never reads: no deadlock. */
	p = mkscript("noread.sh", "i=0; while [ $i -lt 3000 ]; do "
	    "echo '{\"x\":1}'; i=$((i+1)); done");
	for (i = 0; i < 400; i++)
		buf_adds(&b, "0123456789");
	memset(&in, 0, sizeof in);
	for (i = 0; i < 3000; i++) {
		struct record *r = record_new();

		record_add_str(r, "pad", b.b_data, b.b_len);
		filter_batch_add(&in, r);
	}
	buf_free(&b);
	run_script(p, NULL, &in, &res);
	is_int(res.errors, 0, "no reader: no error (%s)", res.error);
	is_int(res.out.fb_n, 3000, "no reader: its 3000 records");
	filter_batch_clear(&res.out);
	free(p);

	/* Freed while the program runs: killed and reaped, done not called. */
	p = mkscript("cancel.sh", "exec sleep 30");
	mkrecs(&in, "{\"a\":1}", NULL);
	cancel_early = 1;
	run_script(p, NULL, &in, &res);
	cancel_early = 0;
	is_int(res.finished, 0, "freed while running: done not called");
	ok(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD,
	    "freed while running: the program was reaped");
	free(p);

	/* Program not found. */
	mkrecs(&in, "{\"a\":1}", NULL);
	run_script("nonexistent-prog", NULL, &in, &res);
	is_string(res.error, "filters[0] (script): cannot run: "
	    "\"nonexistent-prog\": no such file in script_dir",
	    "a missing program reported");
	is_int(res.out.fb_n, 1, "exec failure: records kept");
	filter_batch_clear(&res.out);

	/* No records: not started. */
	p = mkscript("never.sh", "touch \"$0.ran\"");
	memset(&in, 0, sizeof in);
	run_script(p, NULL, &in, &res);
	is_int(res.finished, 1, "0 records: finished");
	is_string(res.summary, "script not started: no records",
	    "0 records: not started");
	if (asprintf(&big, "%s.ran", p) == -1)
		bail("asprintf");
	ok(access(big, F_OK) == -1, "0 records: the program did not run");
	free(big);
	free(p);

	/* No loop. */
	mkrecs(&in, "{\"a\":1}", NULL);
	extra = script_filters("/bin/cat", NULL);
	run_chain(extra, &in, 0, &res);
	free(extra);
	is_string(res.error, "filters[0] (script): no event loop",
	    "no loop: an error");
	is_int(res.out.fb_n, 1, "no loop: records kept");
	filter_batch_clear(&res.out);
}

/* An enrich filter over in, without a loop. */
static void
run_enrich(const char *opts, struct filter_batch *in, struct result *res,
    int loop)
{
	char	*f;

	if (asprintf(&f, "[{\"type\":\"enrich\",\"field\":\"ip\",%s}]",
	    opts) == -1)
		bail("asprintf");
	run_chain(f, in, loop, res);
	free(f);
}

static void
test_enrich(void)
{
	struct filter_batch	 in;
	struct result		 res;
	struct search_err	 err;
	struct json		*j;
	char			*p, *opts, *text;
	static const char	*cidr = "\"target\":\"site\",\"cidr\":{"
	    "\"10.0.0.0/8\":\"corp\",\"10.1.0.0/16\":\"corp-b\","
	    "\"10.1.2.0/24\":\"lab\",\"0.0.0.0/0\":\"internet\","
	    "\"2001:db8::/32\":\"v6\",\"2001:db8:1::/48\":\"v6-lab\","
	    "\"192.168.1.7\":\"host\"}";

	mkrecs(&in, "{\"ip\":\"10.9.9.9\"}", "{\"ip\":\"10.1.9.9\"}",
	    "{\"ip\":\"10.1.2.3\"}", "{\"ip\":\"8.8.8.8\"}",
	    "{\"ip\":\"2001:db8:2::1\"}", "{\"ip\":\"2001:db8:1:5::1\"}",
	    "{\"ip\":\"2001:db9::1\"}", "{\"ip\":\"192.168.1.7\"}",
	    "{\"ip\":\"192.168.1.8\"}", "{\"other\":1}",
	    "{\"ip\":\"not an address\"}",
	    "{\"ip\":\"10.1.2.200\",\"site\":\"old\"}", NULL);
	run_enrich(cidr, &in, &res, 0);
	is_int(res.errors, 0, "cidr: no error");
	is_int(res.out.fb_n, 12, "cidr: every record passes");
	is_string(out_json(&res, 0), "{\"ip\":\"10.9.9.9\",\"site\":\"corp\"}",
	    "cidr: /8");
	is_string(out_json(&res, 1),
	    "{\"ip\":\"10.1.9.9\",\"site\":\"corp-b\"}", "cidr: /16 beats /8");
	is_string(out_json(&res, 2), "{\"ip\":\"10.1.2.3\",\"site\":\"lab\"}",
	    "cidr: /24 beats /16");
	is_string(out_json(&res, 3),
	    "{\"ip\":\"8.8.8.8\",\"site\":\"internet\"}", "cidr: /0");
	is_string(out_json(&res, 4),
	    "{\"ip\":\"2001:db8:2::1\",\"site\":\"v6\"}", "cidr: v6 /32");
	is_string(out_json(&res, 5),
	    "{\"ip\":\"2001:db8:1:5::1\",\"site\":\"v6-lab\"}",
	    "cidr: v6 /48 beats /32");
	is_string(out_json(&res, 6), "{\"ip\":\"2001:db9::1\"}",
	    "cidr: v6 outside every network (v4 /0 does not match)");
	is_string(out_json(&res, 7),
	    "{\"ip\":\"192.168.1.7\",\"site\":\"host\"}", "cidr: one address");
	is_string(out_json(&res, 8),
	    "{\"ip\":\"192.168.1.8\",\"site\":\"internet\"}",
	    "cidr: next address");
	is_string(out_json(&res, 9), "{\"other\":1}", "cidr: no field");
	is_string(out_json(&res, 10), "{\"ip\":\"not an address\"}",
	    "cidr: not an address");
	is_string(out_json(&res, 11),
	    "{\"ip\":\"10.1.2.200\",\"site\":\"lab\"}",
	    "cidr: target replaced");
	is_string(res.why, "added site=lab", "cidr: why");
	filter_batch_clear(&res.out);

	/* Map inline. */
	mkrecs(&in, "{\"ip\":\"alice\"}", "{\"ip\":\"bob\"}", "{\"ip\":5}",
	    NULL);
	run_enrich("\"target\":\"team\",\"map\":{\"alice\":\"ops\","
	    "\"5\":\"five\"}", &in, &res, 0);
	is_string(out_json(&res, 0), "{\"ip\":\"alice\",\"team\":\"ops\"}",
	    "map: found");
	is_string(out_json(&res, 1), "{\"ip\":\"bob\"}", "map: not found");
	is_string(out_json(&res, 2), "{\"ip\":5,\"team\":\"five\"}",
	    "map: a number's text");
	filter_batch_clear(&res.out);

	/* Files. */
	p = mkfile("nets.txt", "# networks\n10.0.0.0/8 first\n\n"
	    "10.1.2.3/8   corp site\n  fd00::/8\tula  \n");
	if (asprintf(&opts, "\"target\":\"site\",\"cidr_file\":\"%s\"",
	    base(p)) == -1)
		bail("asprintf");
	mkrecs(&in, "{\"ip\":\"10.0.0.1\"}", "{\"ip\":\"fd12::1\"}", NULL);
	run_enrich(opts, &in, &res, 0);
	is_string(out_json(&res, 0),
	    "{\"ip\":\"10.0.0.1\",\"site\":\"corp site\"}",
	    "cidr_file: value with a space, host bits masked, the last "
	    "of a network given twice");
	is_string(out_json(&res, 1), "{\"ip\":\"fd12::1\",\"site\":\"ula\"}",
	    "cidr_file: v6, tab");
	filter_batch_clear(&res.out);
	/* Changed file: read again (size differs). */
	free(mkfile("nets.txt", "10.0.0.0/8 corporate\n"));
	mkrecs(&in, "{\"ip\":\"10.0.0.1\"}", NULL);
	run_enrich(opts, &in, &res, 0);
	is_string(out_json(&res, 0),
	    "{\"ip\":\"10.0.0.1\",\"site\":\"corporate\"}",
	    "cidr_file: a changed file is read again");
	filter_batch_clear(&res.out);
	free(opts);

	/* A bad line: FILE:LINE at validation, an error at run time. */
	free(mkfile("nets.txt", "10.0.0.0/8 corp\n\n10.0.0.0/99 x\n"));
	if (asprintf(&text, "[{\"type\":\"enrich\",\"field\":\"ip\","
	    "\"target\":\"site\",\"cidr_file\":\"%s\"}]", base(p)) == -1)
		bail("asprintf");
	j = parse(text);
	ok(filter_validate(j, &err) == -1 &&
	    strcmp(err.se_field, "filters[0].cidr_file") == 0 &&
	    strncmp(err.se_message, "enrich: ", 8) == 0 &&
	    strstr(err.se_message, "nets.txt:3: prefix length") != NULL,
	    "cidr_file: bad line named: %s", err.se_message);
	json_free(j);
	free(mkfile("nets.txt", "10.0.0.0/8 corp\n"));
	swap_path = p;
	swap_body = "10.0.0.0/8 corp\n\n10.0.0.0/99 x\n";
	mkrecs(&in, "{\"ip\":\"10.0.0.1\"}", NULL);
	run_chain(text, &in, 0, &res);
	ok(res.errors == 1 && strstr(res.error, "nets.txt:3:") != NULL,
	    "cidr_file: bad at run time: %s", res.error);
	is_string(out_json(&res, 0), "{\"ip\":\"10.0.0.1\"}",
	    "cidr_file: bad, record kept (on_error keep)");
	filter_batch_clear(&res.out);
	free(text);
	free(p);

	p = mkfile("users.txt", "alice ops team\nbob\n");
	if (asprintf(&text, "[{\"type\":\"enrich\",\"field\":\"ip\","
	    "\"target\":\"t\",\"map_file\":\"%s\"}]", base(p)) == -1)
		bail("asprintf");
	j = parse(text);
	ok(filter_validate(j, &err) == -1 &&
	    strstr(err.se_message, "users.txt:2: expected \"KEY VALUE\"") !=
	    NULL, "map_file: bad line named: %s", err.se_message);
	json_free(j);
	free(mkfile("users.txt", " {\"alice\": \"ops\", \"bob\": \"dev\"}\n"));
	mkrecs(&in, "{\"ip\":\"bob\"}", NULL);
	run_chain(text, &in, 0, &res);
	is_string(out_json(&res, 0), "{\"ip\":\"bob\",\"t\":\"dev\"}",
	    "map_file: a JSON object file");
	filter_batch_clear(&res.out);
	free(mkfile("users.txt", "{\"alice\": 1}"));
	j = parse(text);
	ok(filter_validate(j, &err) == -1 &&
	    strstr(err.se_message, "\"alice\": values must be strings") !=
	    NULL, "map_file: bad JSON value: %s", err.se_message);
	json_free(j);
	free(text);
	free(p);

	/* Missing file: accepted, an error at run time. */
	mkrecs(&in, "{\"ip\":\"bob\"}", NULL);
	run_enrich("\"target\":\"t\",\"map_file\":\"nonexistent-m\","
	    "\"on_error\":\"drop\"", &in, &res, 0);
	ok(res.errors == 1 && strstr(res.error, "\"nonexistent-m\": no such "
	    "file in maps_dir") != NULL, "missing file: %s", res.error);
	is_int(res.out.fb_n, 0, "missing file, on_error drop: dropped");
	filter_batch_clear(&res.out);

	/* rdns without a loop or a resolver. */
	mkrecs(&in, "{\"ip\":\"10.0.0.1\"}", NULL);
	run_enrich("\"rdns\":true", &in, &res, 0);
	is_string(res.error, "filters[0] (enrich): no event loop",
	    "rdns without a loop");
	filter_batch_clear(&res.out);
	mkrecs(&in, "{\"ip\":\"10.0.0.1\"}", NULL);
	run_enrich("\"rdns\":true", &in, &res, 1);
	is_string(res.error, "filters[0] (enrich): no resolver",
	    "rdns without a resolver");
	is_string(out_json(&res, 0), "{\"ip\":\"10.0.0.1\"}",
	    "rdns without a resolver: record kept");
	filter_batch_clear(&res.out);
}

/* Validate filters (JSON array text): NULL, or err's "field: message". */
static const char *
refused(const char *filters)
{
	static char		 out[512];
	struct search_err	 err;
	struct json		*j;
	int			 rc;

	j = parse(filters);
	memset(&err, 0, sizeof err);
	rc = filter_validate(j, &err);
	json_free(j);
	if (rc == 0)
		return (NULL);
	snprintf(out, sizeof out, "%s: %s", err.se_field, err.se_message);
	return (out);
}

/*
 * The trust boundary: names only, inside the directories, symlinks out
 * refused, nothing without the directive; the child's environment, user
 * and limits.
 */
static void
test_trust(void)
{
	struct filter_batch	 in;
	struct result		 res;
	const char		*e;
	char			*p, *outside, *link;

	/* A sibling of tmp: outside script_dir and maps_dir. */
	outside = xprintf("%s-outside", tmp);
	if (mkdir(outside, 0755) == -1 && errno != EEXIST)
		bail("mkdir %s", outside);

	/* A symlink leaving script_dir: refused at validation and run. */
	p = xprintf("%s/evil.sh", outside);
	writefile(p, "#!/bin/sh\ncat >/dev/null\necho '{\"evil\":1}'\n", 0755);
	link = xprintf("%s/evil", tmp);
	(void)unlink(link);
	if (symlink(p, link) == -1)
		bail("symlink");
	e = refused("[{\"type\":\"script\",\"script\":\"evil\"}]");
	ok(e != NULL && strstr(e, "filters[0].script: script: \"evil\" leads "
	    "outside script_dir") == e, "symlink out of script_dir refused: %s",
	    e ? e : "accepted");
	ok(e != NULL && strstr(e, outside) == NULL,
	    "... without telling where it leads");
	/* Made a symlink out after validation (a stored search). */
	writefile(link, "#!/bin/sh\ncat\n", 0755);
	swap_link = link;
	swap_target = p;
	mkrecs(&in, "{\"a\":1}", NULL);
	run_script("evil", NULL, &in, &res);
	ok(strstr(res.error, "leads outside script_dir") != NULL,
	    "symlink out: refused at run time too: %s", res.error);
	is_string(out_json(&res, 0), "{\"a\":1}",
	    "symlink out: the program never ran (records as given)");
	free(link);
	filter_batch_clear(&res.out);

	/* A symlink inside the directory is fine. */
	free(mkscript("real.sh", "cat"));
	link = xprintf("%s/alias", tmp);
	(void)unlink(link);
	if (symlink("real.sh", link) == -1)
		bail("symlink");
	free(link);
	ok(refused("[{\"type\":\"script\",\"script\":\"alias\"}]") == NULL,
	    "a symlink staying inside script_dir accepted");

	/* Not a regular file, not executable. */
	link = xprintf("%s/adir", tmp);
	if (mkdir(link, 0755) == -1 && errno != EEXIST)
		bail("mkdir %s", link);
	free(link);
	e = refused("[{\"type\":\"script\",\"script\":\"adir\"}]");
	ok(e != NULL && strstr(e, "is not a regular file") != NULL,
	    "a directory refused: %s", e ? e : "accepted");
	free(mkfile("noexec.sh", "#!/bin/sh\ncat\n"));
	mkrecs(&in, "{\"a\":1}", NULL);
	run_script("noexec.sh", NULL, &in, &res);
	is_string(res.error, "filters[0] (script): cannot run \"noexec.sh\": "
	    "not executable", "a file that is not executable");
	filter_batch_clear(&res.out);

	/* Environment and user. */
	free(mkscript("env.sh", "cat >/dev/null; printf '{\"env\":\"%s\","
	    "\"uid\":\"%s\"}\\n' \"$(env | grep -v '^PWD=' | sort | "
	    "tr '\\n' ' ')\" \"$(id -u)\""));
	setenv("FOUR11_TEST_SECRET", "leak", 1);
	mkrecs(&in, "{\"a\":1}", NULL);
	run_script("env.sh", NULL, &in, &res);
	is_string(out_json(&res, 0), geteuid() == 0 ?
	    "{\"env\":\"FOUR11_DRY_RUN=0 FOUR11_FROM=0 FOUR11_SEARCH_ID=1 "
	    "FOUR11_TO=0 LANG=C PATH=/usr/bin:/bin \",\"uid\":\"65534\"}" :
	    "{\"env\":\"FOUR11_DRY_RUN=0 FOUR11_FROM=0 FOUR11_SEARCH_ID=1 "
	    "FOUR11_TO=0 LANG=C PATH=/usr/bin:/bin \"}",
	    "only PATH, LANG and FOUR11_* in the environment%s",
	    geteuid() == 0 ? "; as nobody (65534) under root" : "");
	unsetenv("FOUR11_TEST_SECRET");
	filter_batch_clear(&res.out);

	/* CPU time limit: a busy loop is killed by it, not the timeout. */
	free(mkscript("busy.sh", "cat >/dev/null; while :; do :; done"));
	mkrecs(&in, "{\"a\":1}", NULL);
	run_script("busy.sh", "\"max_cpu\":\"1s\",\"timeout\":\"5m\"", &in,
	    &res);
	ok(strstr(res.error, "killed: over its CPU time limit (max_cpu "
	    "1000ms)") != NULL, "busy loop: killed at max_cpu: %s", res.error);
	is_int(res.out.fb_n, 1, "busy loop: records kept (on_error keep)");
	filter_batch_clear(&res.out);

	/* Memory limit. */
	free(mkscript("mem.sh", "cat >/dev/null; exec perl -e "
	    "'$x = \"x\" x (200*1024*1024); print qq({\"n\":1}\\n)'"));
	mkrecs(&in, "{\"a\":1}", NULL);
	run_script("mem.sh", "\"max_memory\":\"64MB\"", &in, &res);
	ok(res.errors == 1, "over max_memory: the program fails: %s",
	    res.error);
	filter_batch_clear(&res.out);

	/* As root: a script_user that does not exist, or root, refuses. */
	if (geteuid() == 0) {
		struct config	 c;

		memset(&c, 0, sizeof c);
		c.c_script_dir = (char *)tmp;
		c.c_maps_dir = (char *)tmp;
		c.c_script_user = "no-such-user-411";
		trust_set(&c);
		e = refused("[{\"type\":\"script\",\"script\":\"keep.sh\"}]");
		ok(e != NULL && strcmp(e, "filters[0].script: script: "
		    "script_user \"no-such-user-411\": no such user") == 0,
		    "script_user missing: refused: %s", e ? e : "accepted");
		c.c_script_user = "root";
		trust_set(&c);
		e = refused("[{\"type\":\"script\",\"script\":\"keep.sh\"}]");
		ok(e != NULL && strstr(e, "script_user \"root\" is root: "
		    "refused") != NULL, "script_user root: refused: %s",
		    e ? e : "accepted");
		c.c_script_user = "nobody";
		trust_set(&c);
	} else
		skip(2, "not root");

	/* Without the directories: refused, saying why. */
	trust_set_dir(TRUST_SCRIPT, NULL);
	trust_set_dir(TRUST_MAPS, NULL);
	e = refused("[{\"type\":\"script\",\"script\":\"keep.sh\"}]");
	ok(e != NULL && strcmp(e, "filters[0].script: script: script_dir is "
	    "not set in 411d.conf: the operator has allowed no such files") ==
	    0, "no script_dir: refused: %s", e ? e : "accepted");
	e = refused("[{\"type\":\"enrich\",\"field\":\"ip\",\"target\":"
	    "\"t\",\"map_file\":\"users.txt\"}]");
	ok(e != NULL && strcmp(e, "filters[0].map_file: enrich: maps_dir is "
	    "not set in 411d.conf: the operator has allowed no such files") ==
	    0, "no maps_dir: refused: %s", e ? e : "accepted");
	trust_set_dir(TRUST_SCRIPT, tmp);
	trust_set_dir(TRUST_MAPS, tmp);
	/* A stored search after the directive went away. */
	untrust = 1;
	mkrecs(&in, "{\"a\":1}", NULL);
	run_script("keep.sh", NULL, &in, &res);
	ok(strstr(res.error, "script_dir is not set") != NULL,
	    "no script_dir: a stored search fails at run time: %s",
	    res.error);
	filter_batch_clear(&res.out);
	trust_set_dir(TRUST_SCRIPT, tmp);
	trust_set_dir(TRUST_MAPS, tmp);

	/* A map file through a symlink out of maps_dir. */
	free(p);
	p = xprintf("%s/secret.txt", outside);
	writefile(p, "api_key SECRET\n", 0644);
	link = xprintf("%s/secret", tmp);
	(void)unlink(link);
	if (symlink(p, link) == -1)
		bail("symlink");
	free(link);
	e = refused("[{\"type\":\"enrich\",\"field\":\"ip\",\"target\":"
	    "\"t\",\"map_file\":\"secret\"}]");
	ok(e != NULL && strstr(e, "leads outside maps_dir") != NULL,
	    "map_file symlink out of maps_dir refused: %s",
	    e ? e : "accepted");
	link = xprintf("%s/secret", tmp);
	writefile(link, "x y\n", 0644);
	swap_link = link;
	swap_target = p;
	mkrecs(&in, "{\"ip\":\"api_key\"}", NULL);
	run_enrich("\"target\":\"t\",\"map_file\":\"secret\"", &in, &res,
	    0);
	free(link);
	ok(strstr(res.error, "leads outside maps_dir") != NULL,
	    "map_file symlink out at run time: %s", res.error);
	is_string(out_json(&res, 0), "{\"ip\":\"api_key\"}",
	    "map_file symlink out: nothing read at run time");
	filter_batch_clear(&res.out);
	free(p);
	free(outside);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	tmp = test_tmpdir();
	/* script_dir and maps_dir; a script running as nobody enters it. */
	chmod(tmp, 0755);
	trust_set_dir(TRUST_SCRIPT, tmp);
	trust_set_dir(TRUST_MAPS, tmp);
	plan(131);
	test_validate();
	test_script();
	test_enrich();
	test_trust();
	return (test_done());
}
