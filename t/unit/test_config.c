/*
 * test_config.c -- 411d.conf and 411-notify.conf parsing: every directive,
 * defaults, quoting, and every error with its exact message and line.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tap.h"
#include "xmalloc.h"

/* Parse text as "t.conf" (411d). */
static struct config *
parse(const char *text, struct config_errors *errs)
{
	return (config_parse("t.conf", text, strlen(text), CONFIG_411D, errs));
}

/* Parse text that must fail with exactly one error, which is returned. */
static char *
one_error(const char *text)
{
	struct config_errors	 errs;
	struct config		*c;
	char			*s;

	c = parse(text, &errs);
	if (c != NULL) {
		config_free(c);
		return (xstrdup("(parsed OK)"));
	}
	if (errs.ce_n != 1)
		s = xprintf("(%zu errors; first: %s)", errs.ce_n,
		    errs.ce_n > 0 ? errs.ce_lines[0] : "none");
	else
		s = xstrdup(errs.ce_lines[0]);
	config_errors_free(&errs);
	return (s);
}

/* is_string on one_error's result. */
static void
error_is(const char *text, const char *want, const char *name)
{
	char	*got = one_error(text);

	is_string(want, got, "%s", name);
	free(got);
}

static void
test_defaults(void)
{
	struct config_errors	 errs;
	struct config		*c;

	c = parse("", &errs);
	ok(c != NULL && errs.ce_n == 0, "an empty config parses");
	if (c == NULL)
		bail("empty config refused");
	is_string("t.conf", c->c_path, "path kept");
	ok(c->c_kind == CONFIG_411D, "kind kept");
	is_string("127.0.0.1", c->c_listen_host, "default listen host");
	is_int(4110, c->c_listen_port, "default listen port");
	is_string(CONFIG_DATADIR, c->c_datadir, "default datadir");
	ok(c->c_redis_host == NULL, "default redis: no host");
	is_string("/run/redis/redis.sock", c->c_redis_unix,
	    "default redis socket");
	ok(c->c_redis_password == NULL, "default redis: no password");
	is_string("411:", c->c_redis_prefix, "default redis_prefix");
	ok(c->c_searches_dir == NULL, "default searches_dir none");
	is_int(0, c->c_nsources + c->c_ntargets + c->c_nkeys,
	    "no sources, targets, keys");
	is_int(CONFIG_MAX_RUNS, c->c_max_runs, "default max_runs");
	is_int(CONFIG_MAX_ALERTS, c->c_max_alerts, "default max_alerts");
	is_int(86400, c->c_catch_up, "default catch_up 1d");
	is_int(7 * 86400, c->c_job_retention, "default job_retention 7d");
	is_int(10, c->c_shutdown_grace, "default shutdown_grace 10s");
	is_int(1024 * 1024, c->c_api_max_body, "default api_max_body 1m");
	is_int(30, c->c_api_timeout, "default api_timeout 30s");
	ok(c->c_base_url == NULL && c->c_instance == NULL,
	    "default base_url and instance none");
	is_int(0, c->c_nresolvers, "default no resolver (resolv.conf)");
	ok(config_source(c, "logs") == NULL, "no source logs");
	ok(config_target(c, "x") == NULL, "no target x");
	config_free(c);
	config_errors_free(&errs);

	c = parse("# only comments\n\n   \t\n  # indented\n", &errs);
	ok(c != NULL, "comments and blank lines only");
	config_free(c);
}

static void
test_every_directive(void)
{
	struct config_errors		 errs;
	struct config			*c;
	const struct config_source	*cs;
	const struct config_target	*ct;
	const char *text =
	    "listen 0.0.0.0:9411\n"
	    "datadir /srv/411\n"
	    "redis 10.0.0.5:6380 password \"s3cret pw\"\n"
	    "redis_prefix \"x:\"\n"
	    "source logs es https://es.example:9200/ index logs-* "
	    "date_field ts user u1 password p1 api_key AK ca_file /ca "
	    "cert_file /c key_file /k link_url http://kib:5601/ "
	    "insecure yes max_concurrency 4 timeout 2m\n"
	    "source metrics graphite http://g:8080\n"
	    "source prom prometheus http://p:9090 tls_verify no\n"
	    "searches_dir /etc/411/searches.d\n"
	    "api_key alice admin 0123456789abcdef\n"
	    "api_key bob viewer bob-key-0123456789\n"
	    "api_key carol editor carol-key-0123456789\n"
	    "target soc webhook url http://h/x secret \"a b\"\n"
	    "target mail email\n"
	    "max_runs 50\n"
	    "max_alerts 7\n"
	    "catch_up 2h\n"
	    "job_retention 3d\n"
	    "shutdown_grace 0\n"
	    "api_max_body 64k\n"
	    "api_timeout 45\n"
	    "base_url https://411.example/\n"
	    "instance node-1\n"
	    "resolver 10.9.9.9\n"
	    "resolver 127.0.0.1:5353 [::1]:53 2001:db8::1\n";

	c = parse(text, &errs);
	ok(c != NULL, "every directive parses");
	if (c == NULL) {
		diag("%s", errs.ce_n > 0 ? errs.ce_lines[0] : "?");
		bail("good config refused");
	}
	is_string("0.0.0.0", c->c_listen_host, "listen host");
	is_int(9411, c->c_listen_port, "listen port");
	is_string("/srv/411", c->c_datadir, "datadir");
	is_string("10.0.0.5", c->c_redis_host, "redis host");
	is_int(6380, c->c_redis_port, "redis port");
	ok(c->c_redis_unix == NULL, "redis: no socket with TCP");
	is_string("s3cret pw", c->c_redis_password, "redis password option");
	is_string("x:", c->c_redis_prefix, "redis_prefix");
	is_int(3, c->c_nsources, "three sources");

	cs = config_source(c, "logs");
	ok(cs != NULL, "source logs found");
	if (cs == NULL)
		bail("no source logs");
	ok(cs->cs_type == SOURCE_ES, "logs is es");
	is_string("https://es.example:9200", cs->cs_url, "url without slash");
	is_string("logs-*", cs->cs_index, "index");
	is_string("ts", cs->cs_date_field, "date_field");
	is_string("u1", cs->cs_user, "user");
	is_string("p1", cs->cs_password, "password");
	is_string("AK", cs->cs_api_key, "api_key");
	is_string("/ca", cs->cs_ca_file, "ca_file");
	is_string("/c", cs->cs_cert_file, "cert_file");
	is_string("/k", cs->cs_key_file, "key_file");
	is_string("http://kib:5601", cs->cs_link_url, "link_url, no slash");
	is_int(1, cs->cs_insecure, "insecure yes");
	is_int(4, cs->cs_max_concurrency, "max_concurrency");
	is_int(120, cs->cs_timeout, "timeout 2m");
	is_int(5, cs->cs_line, "source line");

	cs = config_source(c, "metrics");
	ok(cs != NULL && cs->cs_type == SOURCE_GRAPHITE, "graphite source");
	if (cs != NULL) {
		is_string("*", cs->cs_index, "default index");
		is_string("@timestamp", cs->cs_date_field,
		    "default date_field");
		is_int(32, cs->cs_max_concurrency, "default max_concurrency");
		is_int(60, cs->cs_timeout, "default timeout");
		is_int(0, cs->cs_insecure, "default insecure no");
		ok(cs->cs_user == NULL && cs->cs_link_url == NULL,
		    "no user, no link_url");
	} else
		skip(6, "no graphite source");
	cs = config_source(c, "prom");
	ok(cs != NULL && cs->cs_type == SOURCE_PROMETHEUS &&
	    cs->cs_insecure == 1, "prometheus, tls_verify no = insecure");

	is_string("/etc/411/searches.d", c->c_searches_dir, "searches_dir");
	is_int(3, c->c_nkeys, "three keys");
	if (c->c_nkeys == 3) {
		is_string("alice", c->c_keys[0].ck_name, "key name");
		ok(c->c_keys[0].ck_role == ROLE_ADMIN, "admin role");
		is_string("0123456789abcdef", c->c_keys[0].ck_key,
		    "16-character key accepted");
		ok(c->c_keys[1].ck_role == ROLE_VIEWER, "viewer role");
		ok(c->c_keys[2].ck_role == ROLE_EDITOR, "editor role");
	} else
		skip(5, "wrong number of keys");

	is_int(2, c->c_ntargets, "two targets");
	ct = config_target(c, "soc");
	ok(ct != NULL, "target soc");
	if (ct != NULL) {
		is_string("webhook", ct->ct_type, "target type");
		is_int(2, ct->ct_nopts, "two options");
		is_string("url", ct->ct_opts[0].co_name, "options in order");
		is_string("http://h/x", config_target_opt(ct, "url"),
		    "option url");
		is_string("a b", config_target_opt(ct, "secret"),
		    "quoted option");
		ok(config_target_opt(ct, "nope") == NULL, "missing option");
		is_int(12, ct->ct_line, "target line");
	} else
		skip(7, "no target soc");
	ct = config_target(c, "mail");
	ok(ct != NULL && ct->ct_nopts == 0 &&
	    strcmp(ct->ct_type, "email") == 0, "target with no options");

	is_int(50, c->c_max_runs, "max_runs");
	is_int(7, c->c_max_alerts, "max_alerts");
	is_int(7200, c->c_catch_up, "catch_up 2h");
	is_int(3 * 86400, c->c_job_retention, "job_retention 3d");
	is_int(0, c->c_shutdown_grace, "shutdown_grace 0");
	is_int(65536, c->c_api_max_body, "api_max_body 64k");
	is_int(45, c->c_api_timeout, "api_timeout bare seconds");
	is_string("https://411.example", c->c_base_url, "base_url no slash");
	is_string("node-1", c->c_instance, "instance");
	ok(c->c_nresolvers == 3 &&
	    strcmp(c->c_resolvers[0], "127.0.0.1:5353") == 0 &&
	    strcmp(c->c_resolvers[1], "[::1]:53") == 0 &&
	    strcmp(c->c_resolvers[2], "2001:db8::1") == 0,
	    "resolver: the last line's addresses");
	config_free(c);
	config_errors_free(&errs);
}

static void
test_values(void)
{
	struct config_errors	 errs;
	struct config		*c;

	c = parse("redis unix:/tmp/r.sock\nredis_password pw\n"
	    "listen [::1]:0\napi_max_body 2m\nredis_prefix \"\"\n", &errs);
	ok(c != NULL, "unix redis, password directive, v6 listen");
	if (c != NULL) {
		is_string("/tmp/r.sock", c->c_redis_unix, "redis socket");
		ok(c->c_redis_host == NULL && c->c_redis_port == 0,
		    "no redis host with unix");
		is_string("pw", c->c_redis_password, "redis_password");
		is_string("::1", c->c_listen_host, "v6 host without brackets");
		is_int(0, c->c_listen_port, "listen port 0 allowed");
		is_int(2 * 1024 * 1024, c->c_api_max_body, "2m");
		is_string("", c->c_redis_prefix, "empty prefix allowed");
	} else
		skip(7, "refused");
	config_free(c);

	/* A one-off value given twice is refused, both times named. */
	c = parse("max_runs 5\nmax_runs 6\nredis 127.0.0.1:6379\n"
	    "redis unix:/x\n", &errs);
	ok(c == NULL && errs.ce_n == 2, "max_runs and redis twice: refused");
	ok(errs.ce_n == 2 && strstr(errs.ce_lines[1],
	    "t.conf:4: redis: given again (first at line 3)") != NULL,
	    "the second redis named with both lines");
	config_free(c);
	config_errors_free(&errs);

	c = parse("source a elasticsearch http://x\n"
	    "source b opensearch http://y insecure off\n", &errs);
	ok(c != NULL && c->c_sources[0].cs_type == SOURCE_ES &&
	    c->c_sources[1].cs_type == SOURCE_ES &&
	    c->c_sources[1].cs_insecure == 0,
	    "elasticsearch and opensearch mean es");
	config_free(c);
}

static void
test_quoting(void)
{
	struct config_errors	 errs;
	struct config		*c;

	c = parse("datadir \"/path with spaces/# not a comment\"\n"
	    "instance \"a \\\"quoted\\\" \\\\ name\"   # a comment\n"
	    "searches_dir /a\"b c\"d\n"
	    "base_url http://x/#/frag # comment\n"
	    "\tredis_password \"\\n\"\r\n", &errs);
	ok(c != NULL, "quoted strings parse");
	if (c == NULL) {
		diag("%s", errs.ce_n > 0 ? errs.ce_lines[0] : "?");
		skip(5, "refused");
		return;
	}
	is_string("/path with spaces/# not a comment", c->c_datadir,
	    "blanks and # inside quotes");
	is_string("a \"quoted\" \\ name", c->c_instance, "\\\" and \\\\");
	is_string("/ab cd", c->c_searches_dir, "quoted part inside a word");
	is_string("http://x/#/frag", c->c_base_url, "# inside a word is text");
	is_string("\\n", c->c_redis_password,
	    "other backslashes kept; CRLF line ends");
	config_free(c);
}

static void
test_errors(void)
{
	error_is("bogus 1\n", "t.conf:1: unknown directive \"bogus\"",
	    "unknown directive");
	error_is("\n\nlisten\n", "t.conf:3: listen: missing argument",
	    "missing argument");
	error_is("datadir a b\n", "t.conf:1: datadir: too many arguments",
	    "too many arguments");
	error_is("datadir \"\"\n", "t.conf:1: datadir: empty path",
	    "empty datadir");
	error_is("max_runs abc\n",
	    "t.conf:1: max_runs: bad number \"abc\" (want 1 to 2147483647)",
	    "bad number");
	error_is("max_alerts 0\n",
	    "t.conf:1: max_alerts: bad number \"0\" (want 1 to 2147483647)",
	    "number below range");
	error_is("max_runs 99999999999\n",
	    "t.conf:1: max_runs: bad number \"99999999999\" (want 1 to "
	    "2147483647)", "number above range");
	error_is("catch_up 5x\n",
	    "t.conf:1: catch_up: bad duration \"5x\": unknown duration unit "
	    "(use ms, s, m, h, d or w)", "bad duration unit");
	error_is("job_retention 0\n",
	    "t.conf:1: job_retention: bad duration \"0\": must be more "
	    "than 0", "zero job_retention");
	error_is("api_timeout 1500ms\n",
	    "t.conf:1: api_timeout: bad duration \"1500ms\": duration must be "
	    "a whole number of seconds", "sub-second duration");
	error_is("api_max_body 12q\n",
	    "t.conf:1: api_max_body: bad size \"12q\" (want 1 to 1g, as "
	    "bytes or with k, m or g)", "bad size");
	error_is("api_max_body 2g\n",
	    "t.conf:1: api_max_body: bad size \"2g\" (want 1 to 1g, as "
	    "bytes or with k, m or g)", "size too big");
	error_is("listen 127.0.0.1:99999\n",
	    "t.conf:1: listen: port out of range \"99999\" (want 0 to 65535)",
	    "listen port out of range");
	error_is("redis 127.0.0.1:0\n",
	    "t.conf:1: redis: port out of range \"0\" (want 1 to 65535)",
	    "redis port 0");
	error_is("listen nowhere\n",
	    "t.conf:1: listen: bad address \"nowhere\" (want HOST:PORT)",
	    "listen without port");
	error_is("listen host:http\n",
	    "t.conf:1: listen: bad port \"http\"", "port not a number");
	error_is("redis unix:\n",
	    "t.conf:1: redis: bad address \"unix:\" (want unix:/path or "
	    "HOST:PORT)", "empty unix path");
	error_is("redis 127.0.0.1:6379 passwd x\n",
	    "t.conf:1: redis: unknown option \"passwd\" (want password)",
	    "redis unknown option");
	error_is("redis 127.0.0.1:6379 password\n",
	    "t.conf:1: redis: option password needs a value",
	    "redis password without value");
	error_is("source logs es http://a\nsource logs es http://b\n",
	    "t.conf:2: source logs: duplicate source name (first at line 1)",
	    "duplicate source name");
	error_is("source m solr http://x\n",
	    "t.conf:1: source m: unknown source type \"solr\" (want es, "
	    "graphite or prometheus)", "unknown source type");
	error_is("source m es http://x colour red\n",
	    "t.conf:1: source m: unknown source option \"colour\"",
	    "unknown source option");
	error_is("source m es http://x timeout\n",
	    "t.conf:1: source m: option timeout needs a value",
	    "source option without value");
	error_is("source m es http://x timeout forever\n",
	    "t.conf:1: source m: timeout: bad duration \"forever\": "
	    "duration must start with a number", "bad source timeout");
	error_is("source m es http://x max_concurrency -1\n",
	    "t.conf:1: source m: max_concurrency: bad number \"-1\" (want 1 "
	    "to 2147483647)",
	    "bad max_concurrency");
	error_is("source m es http://x insecure maybe\n",
	    "t.conf:1: source m: insecure: bad value \"maybe\" (want yes "
	    "or no)", "bad insecure");
	error_is("source m es http://x link_url kibana\n",
	    "t.conf:1: source m: link_url: bad URL \"kibana\" (want http:// "
	    "or https://)", "bad link_url");
	error_is("source m es http://x index \"\"\n",
	    "t.conf:1: source m: index: empty value", "empty index");
	error_is("source m es http://x index a index b\n",
	    "t.conf:1: source m: option index given twice",
	    "source option twice");
	error_is("source m graphite http://x index a\n",
	    "t.conf:1: source m: option index is only for es sources",
	    "es option on graphite");
	error_is("source m es ftp://x\n",
	    "t.conf:1: source m: bad URL \"ftp://x\" (want http:// or "
	    "https://)", "bad source URL");
	error_is("source m es http://u:secret@x\n",
	    "t.conf:1: source m: credentials in the URL (use user and "
	    "password)", "userinfo refused, not echoed");
	error_is("source \"a b\" es http://x\n",
	    "t.conf:1: source: bad name \"a b\" (use letters, digits, '-', "
	    "'_' and '.')", "bad source name");
	error_is("source m es\n", "t.conf:1: source: missing argument",
	    "source without URL");
	error_is("api_key k superuser 0123456789abcdef0123\n",
	    "t.conf:1: api_key k: unknown role \"superuser\" (want viewer, "
	    "editor or admin)", "unknown role");
	error_is("api_key k viewer 0123456789abcde\n",
	    "t.conf:1: api_key k: key too short (16 characters at least)",
	    "15-character key refused");
	error_is("api_key k viewer 0123456789abcdef\n"
	    "api_key k admin fedcba9876543210\n",
	    "t.conf:2: api_key k: duplicate key name (first at line 1)",
	    "duplicate key name");
	error_is("api_key k viewer 0123456789abcdef\n"
	    "api_key j admin 0123456789abcdef\n",
	    "t.conf:2: api_key j: duplicate key (the same as api_key k at "
	    "line 1)", "duplicate key");
	error_is("api_key k viewer\n", "t.conf:1: api_key: missing argument",
	    "api_key missing key");
	error_is("target t webhook\ntarget t email\n",
	    "t.conf:2: target t: duplicate target name (first at line 1)",
	    "duplicate target name");
	error_is("target t webhook url\n",
	    "t.conf:1: target t: option url needs a value",
	    "target option without value");
	error_is("target t webhook url a url b\n",
	    "t.conf:1: target t: option url given twice",
	    "target option twice");
	error_is("target t web/hook\n",
	    "t.conf:1: target t: bad type \"web/hook\" (use letters, digits, "
	    "'-', '_' and '.')", "bad target type");
	error_is("base_url 411.example\n",
	    "t.conf:1: base_url: bad URL \"411.example\" (want http:// or "
	    "https://)", "bad base_url");
	error_is("instance \"a\n", "t.conf:1: unterminated quoted string",
	    "unterminated quote");
	error_is("resolver 127.0.0.1 dns.example\n",
	    "t.conf:1: resolver: \"dns.example\" is not an address "
	    "(\"127.0.0.1\", \"10.0.0.2:5353\", \"[::1]:53\")",
	    "resolver: a name refused");
	error_is("resolver 127.0.0.1:0\n",
	    "t.conf:1: resolver: \"127.0.0.1:0\" is not an address "
	    "(\"127.0.0.1\", \"10.0.0.2:5353\", \"[::1]:53\")",
	    "resolver: port 0 refused");
	error_is("resolver [::1\n",
	    "t.conf:1: resolver: \"[::1\" is not an address "
	    "(\"127.0.0.1\", \"10.0.0.2:5353\", \"[::1]:53\")",
	    "resolver: unclosed bracket refused");
}

static void
test_many_errors(void)
{
	struct config_errors	 errs;
	struct config		*c;
	char			*text2;
	size_t			 i;
	const char		*text =
	    "listen 127.0.0.1:99999\n"
	    "datadir\n"
	    "nonsense 1 2\n"
	    "source logs es http://127.0.0.1:9200 timeout forever\n"
	    "source logs es http://127.0.0.1:9201\n"
	    "# a comment\n"
	    "source m zzz http://x\n"
	    "api_key k superuser 0123456789abcdef0123\n"
	    "api_key k2 viewer short\n"
	    "max_runs 10\n";

	c = parse(text, &errs);
	ok(c == NULL, "a bad config gives no struct");
	is_int(8, errs.ce_n, "eight errors in one pass");
	if (errs.ce_n == 8) {
		ok(strncmp(errs.ce_lines[0], "t.conf:1: listen:", 17) == 0,
		    "first on line 1");
		is_string("t.conf:2: datadir: missing "
		    "argument", errs.ce_lines[1], "then line 2");
		ok(strncmp(errs.ce_lines[2], "t.conf:3: ", 10) == 0,
		    "then line 3");
		ok(strncmp(errs.ce_lines[3], "t.conf:4: source logs: timeout: "
		    "bad duration", 44) == 0, "then line 4");
		ok(strncmp(errs.ce_lines[4], "t.conf:5: source logs: "
		    "duplicate", 32) == 0, "then line 5");
		ok(strncmp(errs.ce_lines[5], "t.conf:7: ", 10) == 0,
		    "comment line counted");
		ok(strncmp(errs.ce_lines[6], "t.conf:8: ", 10) == 0,
		    "then line 8");
		is_string("t.conf:9: api_key k2: key too "
		    "short (16 characters at least)", errs.ce_lines[7],
		    "last on line 9");
	} else
		skip(8, "wrong count");
	config_errors_free(&errs);
	ok(errs.ce_n == 0 && errs.ce_lines == NULL, "errors freed");

	/* Several errors on one line are all reported. */
	c = parse("api_key \"bad name\" root short\n", &errs);
	is_int(3, errs.ce_n, "three errors on one line");
	config_errors_free(&errs);

	/* A runaway file stops at a bounded count. */
	text2 = xmalloc(500 * 3 + 1);
	for (i = 0; i < 500; i++)
		memcpy(text2 + i * 3, "xx\n", 3);
	text2[500 * 3] = '\0';
	c = parse(text2, &errs);
	ok(c == NULL && errs.ce_n == 101 && strcmp(errs.ce_lines[100],
	    "t.conf: too many errors, giving up") == 0, "errors stop at 100");
	config_errors_free(&errs);
	free(text2);
}

static void
test_notify(void)
{
	struct config_errors	 errs;
	struct config		*c;
	const char		*t = "redis unix:/r.sock\nredis_prefix p:\n"
	    "target jira-sec jira url https://j project SEC token \"t k\"\n";

	c = config_parse("n.conf", t, strlen(t), CONFIG_NOTIFY, &errs);
	ok(c != NULL && c->c_kind == CONFIG_NOTIFY, "a notify config parses");
	ok(c != NULL && c->c_ntargets == 1 && strcmp(config_target_opt(
	    &c->c_targets[0], "token"), "t k") == 0, "with target options");
	config_free(c);

	c = config_parse("n.conf", "listen 1.2.3.4:5\n", 17, CONFIG_NOTIFY,
	    &errs);
	ok(c == NULL && errs.ce_n == 1 && strcmp(errs.ce_lines[0],
	    "n.conf:1: listen: not a directive of 411-notify.conf") == 0,
	    "411d directives refused in 411-notify.conf");
	config_errors_free(&errs);

	/* config_parse uses the length, not a terminator. */
	c = config_parse("n.conf", "max_runs 5garbage", 10, CONFIG_411D,
	    &errs);
	ok(c != NULL && c->c_max_runs == 5, "length respected");
	config_free(c);
	c = config_parse("n.conf", "max_runs 5\0x\n", 12, CONFIG_411D, &errs);
	ok(c == NULL && errs.ce_n == 1 && strcmp(errs.ce_lines[0],
	    "n.conf:1: NUL byte in the line") == 0, "NUL byte refused");
	config_errors_free(&errs);
}

static void
test_load(void)
{
	struct config_errors	 errs;
	struct config		*c;
	char			*path, *want;
	FILE			*f;

	path = xprintf("%s/411d.conf", test_tmpdir());
	c = config_load(path, CONFIG_411D, &errs);
	want = xprintf("%s: cannot read: No such file or directory", path);
	ok(c == NULL && errs.ce_n == 1 &&
	    strcmp(errs.ce_lines[0], want) == 0, "missing file: %s",
	    errs.ce_n > 0 ? errs.ce_lines[0] : "no error");
	config_errors_free(&errs);
	free(want);

	if ((f = fopen(path, "w")) == NULL)
		bail("cannot write %s", path);
	fprintf(f, "listen 127.0.0.1:9411\nmax_runs x\n");
	fclose(f);
	c = config_load(path, CONFIG_411D, &errs);
	want = xprintf("%s:2: max_runs: bad number \"x\" (want 1 to "
	    "2147483647)", path);
	ok(c == NULL && errs.ce_n == 1 &&
	    strcmp(errs.ce_lines[0], want) == 0, "file errors name the path");
	config_errors_free(&errs);
	free(want);

	if ((f = fopen(path, "w")) == NULL)
		bail("cannot write %s", path);
	fprintf(f, "listen 127.0.0.1:9411\nmax_runs 3");	/* no newline */
	fclose(f);
	c = config_load(path, CONFIG_411D, &errs);
	ok(c != NULL && c->c_max_runs == 3 && c->c_listen_port == 9411 &&
	    strcmp(c->c_path, path) == 0, "config_load reads a file");
	config_free(c);
	config_errors_free(&errs);
	config_free(NULL);
	free(path);
}

static void
test_names(void)
{
	is_string("viewer", config_role_name(ROLE_VIEWER), "viewer");
	is_string("editor", config_role_name(ROLE_EDITOR), "editor");
	is_string("admin", config_role_name(ROLE_ADMIN), "admin");
	is_string("none", config_role_name(ROLE_NONE), "none");
	ok(config_role("admin") == ROLE_ADMIN &&
	    config_role("editor") == ROLE_EDITOR &&
	    config_role("viewer") == ROLE_VIEWER, "roles by name");
	ok(config_role("root") == ROLE_NONE && config_role(NULL) == ROLE_NONE,
	    "unknown role");
	is_string("es", config_source_type_name(SOURCE_ES), "es");
	is_string("graphite", config_source_type_name(SOURCE_GRAPHITE),
	    "graphite");
	is_string("prometheus", config_source_type_name(SOURCE_PROMETHEUS),
	    "prometheus");
}

/* trusted_proxy CIDR HEADER: parsing, errors, matching. */
static void
test_trusted_proxy(void)
{
	struct config_errors	 errs;
	struct config		*c;
	const char		*good = "trusted_proxy 127.0.0.1/32 X-User\n"
	    "trusted_proxy 10.0.0.0/8 X-Forwarded-User\n"
	    "trusted_proxy ::1 X-V6-User\n"
	    "trusted_proxy 192.168.1.7 X-One\n";
	static const char *const bad[][2] = {
		{ "trusted_proxy 10.0.0.1/8 X-User", "not a network" },
		{ "trusted_proxy 10.0.0.0/33 X-User", "not a network" },
		{ "trusted_proxy nowhere X-User", "not a network" },
		{ "trusted_proxy 10.0.0.0/8 \"X User\"", "bad header name" },
		{ "trusted_proxy 10.0.0.0/8 Authorization", "carries keys" },
		{ "trusted_proxy 10.0.0.0/8", "" },
	};
	size_t			 i;

	c = config_parse("t.conf", good, strlen(good), CONFIG_411D, &errs);
	ok(c != NULL && errs.ce_n == 0, "trusted_proxy lines parse");
	if (c == NULL)
		bail("trusted_proxy: %s", errs.ce_lines[0]);
	is_int(4, (int64_t)c->c_nproxies, "four trusted proxies");
	is_string("X-User", config_proxy_header(c, "127.0.0.1"),
	    "127.0.0.1 is in 127.0.0.1/32");
	ok(config_proxy_header(c, "127.0.0.2") == NULL,
	    "127.0.0.2 is not in 127.0.0.1/32");
	is_string("X-Forwarded-User", config_proxy_header(c, "10.200.3.4"),
	    "10.200.3.4 is in 10.0.0.0/8");
	ok(config_proxy_header(c, "11.0.0.1") == NULL,
	    "11.0.0.1 is not in 10.0.0.0/8");
	is_string("X-Forwarded-User", config_proxy_header(c,
	    "::ffff:10.1.1.1"), "a v4-mapped v6 address counts as v4");
	is_string("X-V6-User", config_proxy_header(c, "::1"), "::1 is ::1/128");
	ok(config_proxy_header(c, "::2") == NULL, "::2 is not");
	is_string("X-One", config_proxy_header(c, "192.168.1.7"),
	    "a bare address is a /32");
	ok(config_proxy_header(c, "192.168.1.8") == NULL, "... only it");
	ok(config_proxy_header(c, "garbage") == NULL &&
	    config_proxy_header(c, NULL) == NULL, "no address, no header");
	config_free(c);
	config_errors_free(&errs);

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		c = config_parse("t.conf", bad[i][0], strlen(bad[i][0]),
		    CONFIG_411D, &errs);
		ok(c == NULL && errs.ce_n == 1 &&
		    strstr(errs.ce_lines[0], bad[i][1]) != NULL,
		    "refused: %s", bad[i][0]);
		if (errs.ce_n > 0)
			diag("%s", errs.ce_lines[0]);
		config_free(c);
		config_errors_free(&errs);
	}
	c = config_parse("t.conf", "listen 127.0.0.1:1\n", 19, CONFIG_411D,
	    &errs);
	ok(c != NULL && c->c_nproxies == 0 &&
	    config_proxy_header(c, "127.0.0.1") == NULL,
	    "no trusted_proxy: no header is honoured");
	config_free(c);
	config_errors_free(&errs);
}

/* Issue 11: reading past a word, one-off directives, echo, trust dirs. */
static void
test_hardening(void)
{
	struct config_errors	 errs;
	struct config		*c;
	char			*junk, *want, *got;
	size_t			 i;

	/* an empty quoted word first: the word is "" (ASAN found a read
	   past an unterminated buffer here) */
	error_is("\"\" x\n", "t.conf:1: unknown directive \"\"",
	    "an empty quoted directive is named, not stale bytes");
	error_is("listen \"\"\n",
	    "t.conf:1: listen: bad address \"\" (want HOST:PORT)",
	    "an empty quoted argument");
	/* a one-off directive given twice */
	error_is("listen 127.0.0.1:1\nlisten 127.0.0.1:2\n",
	    "t.conf:2: listen: given again (first at line 1); it may appear "
	    "once", "a second listen is refused");
	error_is("datadir /a\n#\ndatadir /b\n",
	    "t.conf:3: datadir: given again (first at line 1); it may "
	    "appear once", "a second datadir is refused");
	error_is("redis_prefix a:\nredis_prefix b:\n",
	    "t.conf:2: redis_prefix: given again (first at line 1); it may "
	    "appear once", "a second redis_prefix is refused");
	error_is("max_runs 1\nmax_runs 2\n",
	    "t.conf:2: max_runs: given again (first at line 1); it may "
	    "appear once", "a second max_runs is refused");
	error_is("redis 127.0.0.1:1\nredis 127.0.0.1:2\n",
	    "t.conf:2: redis: given again (first at line 1); it may "
	    "appear once", "a second redis is refused");
	c = parse("api_key a admin 0123456789abcdef\n"
	    "api_key b viewer 0123456789abcdeg\n"
	    "target x webhook\ntarget y webhook\n", &errs);
	ok(c != NULL, "api_key and target may repeat");
	config_free(c);
	config_errors_free(&errs);
	/* an unknown directive's echo is cut and control bytes shown */
	junk = xmalloc(5001);
	for (i = 0; i < 5000; i++)
		junk[i] = 'A' + (i % 26);
	junk[5000] = '\0';
	want = xprintf("t.conf:1: unknown directive \"%.64s...\"", junk);
	got = xprintf("%s x\n", junk);
	error_is(got, want, "a 5 KB unknown directive is cut to 64 bytes");
	free(junk);
	free(want);
	free(got);
	error_is("a\x01\x1b[2J\"q\" 1\n",
	    "t.conf:1: unknown directive \"a\\x01\\x1b[2Jq\"",
	    "control bytes in an unknown directive are escaped");
	/* trust directories */
	c = parse("script_dir /usr/lib/411/scripts/\nmaps_dir /etc/411/maps\n"
	    "certs_dir /etc/411/certs\nscript_user daemon\n"
	    "api_max_connections 100\napi_request_timeout 20s\n", &errs);
	ok(c != NULL, "trust directories parse");
	if (c != NULL) {
		is_string("/usr/lib/411/scripts", c->c_script_dir,
		    "script_dir, trailing slash dropped");
		is_string("/etc/411/maps", c->c_maps_dir, "maps_dir");
		is_string("/etc/411/certs", c->c_certs_dir, "certs_dir");
		is_string("daemon", c->c_script_user, "script_user");
		is_int(100, c->c_api_max_connections, "api_max_connections");
		is_int(20, c->c_api_request_timeout, "api_request_timeout");
	}
	config_free(c);
	config_errors_free(&errs);
	c = parse("", &errs);
	ok(c != NULL && c->c_script_dir == NULL && c->c_maps_dir == NULL &&
	    c->c_certs_dir == NULL, "no trust directory by default");
	if (c != NULL) {
		is_string(CONFIG_SCRIPT_USER, c->c_script_user,
		    "default script_user");
		is_int(CONFIG_API_MAX_CONNECTIONS, c->c_api_max_connections,
		    "default api_max_connections");
	}
	config_free(c);
	config_errors_free(&errs);
	error_is("script_dir scripts\n",
	    "t.conf:1: script_dir: \"scripts\" is not an absolute path",
	    "a relative script_dir is refused");
}

int
main(void)
{
	plan(180 + 19 + 21);
	test_defaults();
	test_every_directive();
	test_values();
	test_quoting();
	test_errors();
	test_many_errors();
	test_notify();
	test_load();
	test_names();
	test_trusted_proxy();
	test_hardening();
	return (test_done());
}
