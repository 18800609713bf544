/*
 * fuzz_filter.c -- filter definitions (filter_validate through
 * search_from_json) and, when valid, the chain built from them with
 * records passed through it and the batch finished (src/filter*.c).
 * Script and enrich filters are left out: they run programs and read
 * files, which the fuzzer must not choose.
 *
 * Input: the "filters" array as JSON, optionally "\n--\n" and records,
 * one JSON object a line.
 */
#include "autoconf.h"

#include "buf.h"
#include "filter.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "search.h"
#include "fuzz.h"

#define FUZZ_NOW	1795460400000LL		/* 2026-11-23T19:00:00Z */

static const char fuzz_rec[] = "{\"host\":\"web-1\",\"status\":\"503\","
    "\"user\":\"root\",\"src_ip\":\"10.0.0.1\",\"n\":\"12\"}";

static void
fuzz_finish_cb(void *arg, struct filter_batch *b)
{
	filter_batch_clear(b);
}

/* Refuse filters that would run or read something. */
static int
fuzz_safe(const struct json *f)
{
	const char	*t;
	size_t		 i;

	if (f == NULL || f->j_type != JSON_ARRAY)
		return (1);
	for (i = 0; i < json_len(f); i++) {
		t = json_str(json_get(json_at(f, i), "type"));
		if (t != NULL && (strcmp(t, "script") == 0 ||
		    strcmp(t, "enrich") == 0))
			return (0);
	}
	return (1);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz", 1, 0);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct search_err	 err;
	struct filter_env	 fe;
	struct filter_chain	*fc;
	struct fstate		*fs;
	struct search		*s;
	struct record		*r;
	struct json		*j, *f;
	struct buf		 def = BUF_INIT;
	char			 msg[256], *fj, *recs, *line, *nl;
	size_t			 fjlen, rlen, nrec = 0;

	fuzz_split(data, len, &fj, &fjlen, &recs, &rlen);
	buf_adds(&def, "{\"name\":\"f\",\"type\":\"push\",\"filters\":");
	buf_add(&def, fj, fjlen);
	buf_addc(&def, '}');
	j = json_parse(def.b_data, def.b_len, msg, sizeof msg);
	f = j != NULL ? json_get(j, "filters") : NULL;
	if (j == NULL || !fuzz_safe(f))
		goto done;
	memset(&err, 0, sizeof err);
	if ((s = search_from_json(j, NULL, &err)) == NULL)
		goto done;
	memset(&fe, 0, sizeof fe);
	fe.fe_now = FUZZ_NOW;
	fe.fe_search = 1;
	fe.fe_created = FUZZ_NOW - 86400000;
	fe.fe_updated = FUZZ_NOW - 3600000;
	fe.fe_from = FUZZ_NOW - 60000;
	fe.fe_to = FUZZ_NOW;
	fc = filter_chain_new(s, &fe);
	fs = fstate_new(NULL, 1);
	for (line = recs; *line != '\0' && nrec < 64; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		else
			nl = line + strlen(line);
		if ((r = record_from_json(line, strlen(line), msg,
		    sizeof msg)) == NULL)
			continue;
		r->r_time = FUZZ_NOW - 1000 * (int64_t)nrec++;
		if (filter_chain_record(fc, fs, r, NULL, NULL) != FILTER_HELD)
			record_free(r);
	}
	if (nrec == 0 && (r = record_from_json(fuzz_rec, sizeof fuzz_rec - 1,
	    msg, sizeof msg)) != NULL) {
		r->r_time = FUZZ_NOW;
		if (filter_chain_record(fc, fs, r, NULL, NULL) != FILTER_HELD)
			record_free(r);
	}
	filter_chain_finish(fc, fs, NULL, NULL, fuzz_finish_cb, NULL);
	fstate_free(fs);
	filter_chain_free(fc);
	search_unref(s);
done:
	json_free(j);
	buf_free(&def);
	free(fj);
	free(recs);
	return (0);
}
