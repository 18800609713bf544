/*
 * fuzz_graphite.c -- Graphite /render answers (src/src_graphite.c over
 * src/jstream.c): series with datapoints and tags, thresholds, errors.
 *
 * Input: see fuzz_src.h.
 */
#include "autoconf.h"

#include "fuzz_src.h"
#include "../../src/src_graphite.c"
#include "fuzz.h"

static const char *const fuzz_defs[] = {
	"{\"name\":\"g\",\"type\":\"graphite\",\"source\":\"gr\","
	    "\"query\":\"servers.*.cpu\",\"schedule\":{\"every\":\"1h\"},"
	    "\"range\":\"5m\"}",
	"{\"name\":\"g2\",\"type\":\"graphite\",\"source\":\"gr\","
	    "\"query\":\"seriesByTag('name=x')\",\"above\":90,\"below\":1,"
	    "\"schedule\":{\"every\":\"1h\"},\"range\":\"5m\"}",
	NULL
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_src_init(fuzz_defs);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	fuzz_src_run(&src_graphite_ops, data, len);
	return (0);
}
