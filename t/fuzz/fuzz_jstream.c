/*
 * fuzz_jstream.c -- the streaming JSON reader (src/jstream.c) with the
 * capture patterns of the sources (Elasticsearch hits and buckets,
 * Prometheus series, Graphite series), fed in chunks as curl would.
 *
 * Input: one byte choosing the patterns, one byte the chunk size, then
 * the body.
 */
#include "autoconf.h"

#include "jstream.h"
#include "log.h"
#include "record.h"
#include "fuzz.h"

static const char *const fuzz_es[] = { "hits.hits[]",
    "aggregations.a.buckets[]", NULL };
static const char *const fuzz_prom[] = { "data.result[]", NULL };
static const char *const fuzz_graphite[] = { "[]", NULL };
static const char *const fuzz_none[] = { NULL };
static const char *const *const fuzz_patterns[] = { fuzz_es, fuzz_prom,
    fuzz_graphite, fuzz_none };

static int
fuzz_record_cb(void *arg, int pattern, struct record *rec)
{
	size_t	 i, n, klen, vlen;

	(*(size_t *)arg)++;
	n = record_count(rec);
	for (i = 0; i < n; i++) {
		(void)record_key(rec, i, &klen);
		(void)record_val(rec, i, &vlen);
	}
	(void)record_get(rec, "_id", &vlen);
	record_free(rec);
	return (*(size_t *)arg > 100000 ? -1 : 0);
}

static int
fuzz_scalar_cb(void *arg, const char *path, enum json_type type,
    const char *text, size_t len)
{
	(void)strlen(path);
	if (len > 0 && text[len - 1] == '\x01')
		return (-1);	/* a cancel, now and then */
	return (0);
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
	struct jstream	*js;
	size_t		 n, chunk, off, count = 0;
	int		 rc = 0;

	if (len < 2)
		return (0);
	js = jstream_new(fuzz_patterns[data[0] % 4], fuzz_record_cb,
	    fuzz_scalar_cb, &count);
	chunk = data[1] == 0 ? len : data[1];
	data += 2;
	len -= 2;
	for (off = 0; off < len && rc == 0; off += n) {
		n = len - off < chunk ? len - off : chunk;
		rc = jstream_feed(js, (const char *)data + off, n);
	}
	if (rc == 0)
		rc = jstream_finish(js);
	if (rc == -1)
		(void)strlen(jstream_error(js));
	(void)jstream_bytes(js);
	(void)jstream_records(js);
	jstream_free(js);
	return (0);
}
