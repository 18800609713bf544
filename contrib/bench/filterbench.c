/*
 * filterbench.c -- records per second through each filter, on one core.
 *
 *   filterbench [-n RECORDS] [-r ROUNDS] ['FILTERS_JSON' ...]
 *
 * Each argument (or, without any, each entry of a built-in list covering
 * every filter type) is the "filters" array of a search.  For each, the
 * program builds the chain as 411d does for a run (filter_chain_new),
 * passes RECORDS synthetic log records through it (filter_chain_record),
 * ends the run (filter_chain_finish, dispatching the event loop for
 * filters that work on the whole run), and reports the CPU time of the
 * process per record and records per second of CPU.  The filter state
 * lives in the run's in-memory overlay (no LMDB commit), so the figures
 * are the filters' own cost; the best of ROUNDS rounds is kept.
 *
 * Records look like sshd / nginx log hits: 9 fields (host of 50, user of
 * 1000, src_ip of 65536, a 60-90 byte message, status, bytes, ...).
 * Specs that do not validate (a filter type this build lacks) are
 * reported as skipped with the reason.  script_dir is /usr/bin here, so a
 * script filter may name "cat".
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "filter.h"
#include "json.h"
#include "record.h"
#include "search.h"
#include "trust.h"
#include "util.h"

static const char *const default_specs[] = {
	"[]",
	"[{\"type\":\"dedupe\",\"key\":[\"src_ip\",\"user\"],\"within\":\"1h\"}]",
	"[{\"type\":\"dedupe\",\"within\":\"1h\"}]",
	"[{\"type\":\"throttle\",\"count\":1000000,\"per\":\"1h\","
	    "\"key\":[\"host\"]}]",
	"[{\"type\":\"regex\",\"key\":\"message\",\"pattern\":"
	    "\"Failed password for (invalid user )?\\\\w+\"}]",
	"[{\"type\":\"regex\",\"pattern\":\"^10\\\\.1\\\\.\"}]",
	"[{\"type\":\"hash\",\"hashes\":[\"sha256:"
	    "0000000000000000000000000000000000000000000000000000000000000000"
	    "\"]}]",
	"[{\"type\":\"newterm\",\"key\":[\"user\",\"host\"]}]",
	"[{\"type\":\"change\",\"field\":\"status\",\"key\":[\"host\"]}]",
	"[{\"type\":\"expression\",\"expr\":\"status >= 500 or "
	    "(startswith(lower(user), 'u1') and cidr(src_ip, '10.1.0.0/16'))\"}]",
	"[{\"type\":\"mapkey\",\"map\":{\"src_ip\":\"source.ip\"}}]",
	"[{\"type\":\"mapvalue\",\"field\":\"user\",\"expr\":\"upper(user)\"}]",
	"[{\"type\":\"enrich\",\"field\":\"src_ip\",\"target\":\"site\","
	    "\"cidr\":{\"10.0.0.0/8\":\"corp\",\"10.1.0.0/16\":\"lab\","
	    "\"192.168.0.0/16\":\"home\"}}]",
	"[{\"type\":\"spike\",\"key\":[\"host\"],\"ratio\":3}]",
	"[{\"type\":\"script\",\"script\":\"cat\"}]",	/* /usr/bin */
	NULL
};

/* Record i of the synthetic stream. */
static struct record *
mkrecord(unsigned i, int64_t t)
{
	struct record	*r;
	char		 v[160];
	static const char *const prog[] = { "sshd", "nginx", "sudo" };

	r = record_new();
	r->r_time = t;
	snprintf(v, sizeof v, "web%u", i % 50);
	record_add_str(r, "host", v, strlen(v));
	snprintf(v, sizeof v, "u%u", (i * 7) % 1000);
	record_add_str(r, "user", v, strlen(v));
	snprintf(v, sizeof v, "10.%u.%u.%u", (i >> 16) & 3, (i >> 8) & 255,
	    i & 255);
	record_add_str(r, "src_ip", v, strlen(v));
	record_add_str(r, "program", prog[i % 3], strlen(prog[i % 3]));
	snprintf(v, sizeof v, "%s password for %su%u from 10.%u.%u.%u port "
	    "%u ssh2", i % 4 ? "Failed" : "Accepted",
	    i % 5 ? "" : "invalid user ", (i * 7) % 1000, (i >> 16) & 3,
	    (i >> 8) & 255, i & 255, 1024 + i % 60000);
	record_add_str(r, "message", v, strlen(v));
	record_add_int(r, "status", i % 17 ? 200 : 503);
	record_add_int(r, "bytes", (int64_t)(i * 37) % 100000);
	record_add_str(r, "method", "GET", 3);
	record_add_str(r, "path", "/index.html", 11);
	return (r);
}

struct done {
	int			 called;
	size_t			 kept;
	struct event_base	*base;
};

static void
finish_cb(void *arg, struct filter_batch *b)
{
	struct done	*d = arg;

	d->called = 1;
	d->kept += b->fb_n;
	filter_batch_clear(b);
	if (d->base != NULL)
		event_base_loopbreak(d->base);
}

/* One round of spec: CPU us, or -1 (skipped, reason printed). */
static int64_t
round_of(const char *spec, unsigned n, struct event_base *base,
    size_t *kept)
{
	struct json		*j;
	struct search		*s;
	struct search_err	 err;
	struct filter_env	 fe;
	struct filter_chain	*fc;
	struct fstate		*fs;
	struct record		*r;
	struct done		 d;
	char			*text, msg[128];
	int64_t			 t0, now;
	unsigned		 i;

	if (asprintf(&text, "{\"name\":\"bench\",\"type\":\"es\",\"source\":"
	    "\"logs\",\"query\":\"*\",\"filters\":%s}", spec) == -1)
		return (-1);
	j = json_parse(text, strlen(text), msg, sizeof msg);
	free(text);
	if (j == NULL) {
		printf("  skipped: bad JSON: %s\n", msg);
		return (-1);
	}
	s = search_from_json(j, NULL, &err);
	json_free(j);
	if (s == NULL) {
		printf("  skipped: %s: %s\n", err.se_field, err.se_message);
		return (-1);
	}
	s->s_id = 1;
	now = util_now_ms();
	memset(&fe, 0, sizeof fe);
	fe.fe_base = base;
	fe.fe_now = now;
	fe.fe_to = now;
	fe.fe_from = now - 3600 * 1000;
	fe.fe_search = 1;
	memset(&d, 0, sizeof d);
	d.base = base;

	t0 = util_cpu_us();
	fc = filter_chain_new(s, &fe);
	fs = fstate_new(NULL, 1);
	for (i = 0; i < n; i++) {
		r = mkrecord(i, now - 1000 - (int64_t)(n - i));
		switch (filter_chain_record(fc, fs, r, NULL, NULL)) {
		case FILTER_HELD:
			break;
		case FILTER_KEEP:
			d.kept++;
			/* FALLTHROUGH */
		default:
			record_free(r);
		}
	}
	if (filter_chain_has_batch(fc)) {
		filter_chain_finish(fc, fs, NULL, NULL, finish_cb, &d);
		if (!d.called)
			event_base_dispatch(base);
	}
	filter_chain_free(fc);
	fstate_free(fs);
	t0 = util_cpu_us() - t0;
	search_unref(s);
	*kept = d.kept;
	return (t0);
}

int
main(int argc, char *argv[])
{
	const char *const	*specs = default_specs;
	struct event_base	*base;
	unsigned long		 n = 100000, rounds = 3, k;
	int64_t			 best, us, base_us = -1;
	size_t			 kept = 0;
	int			 ch, i;

	while ((ch = getopt(argc, argv, "n:r:")) != -1) {
		switch (ch) {
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			rounds = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: filterbench [-n RECORDS] "
			    "[-r ROUNDS] ['FILTERS_JSON' ...]\n");
			return (2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0)
		specs = (const char *const *)argv;
	if (n == 0 || rounds == 0)
		return (2);
	trust_set_dir(TRUST_SCRIPT, "/usr/bin");
	base = event_base_new();
	printf("%lu records, best of %lu rounds, CPU time of one process\n",
	    n, rounds);
	for (i = 0; specs[i] != NULL; i++) {
		printf("%s\n", specs[i]);
		best = -1;
		for (k = 0; k < rounds; k++) {
			if ((us = round_of(specs[i], (unsigned)n, base,
			    &kept)) == -1)
				break;
			if (best == -1 || us < best)
				best = us;
		}
		if (best == -1)
			continue;
		if (base_us == -1 && strcmp(specs[i], "[]") == 0)
			base_us = best;
		printf("  %.3f us/record, %.0f records/s, kept %zu",
		    (double)best / n, best > 0 ? n * 1e6 / best : 0.0, kept);
		if (base_us >= 0 && strcmp(specs[i], "[]") != 0)
			printf(", filter alone %.3f us/record",
			    (double)(best - base_us) / n);
		printf("\n");
	}
	event_base_free(base);
	return (0);
}
