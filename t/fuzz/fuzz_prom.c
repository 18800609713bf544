/*
 * fuzz_prom.c -- Prometheus answers (src/src_prom.c over src/jstream.c):
 * vector, matrix, scalar and string results, error bodies, HTML from a
 * proxy.
 *
 * Input: see fuzz_src.h.
 */
#include "autoconf.h"

#include "fuzz_src.h"
#include "../../src/src_prom.c"
#include "fuzz.h"

static const char *const fuzz_defs[] = {
	"{\"name\":\"p\",\"type\":\"prometheus\",\"source\":\"prom\","
	    "\"query\":\"up == 0\",\"schedule\":{\"every\":\"1m\"}}",
	"{\"name\":\"p2\",\"type\":\"prometheus\",\"source\":\"prom\","
	    "\"query\":\"rate(x[5m])\",\"threshold\":[1,null],"
	    "\"schedule\":{\"every\":\"1m\"}}",
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
	fuzz_src_run(&src_prom_ops, data, len);
	return (0);
}
