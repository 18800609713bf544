/*
 * fuzz_es.c -- Elasticsearch and OpenSearch answers of every kind (src/
 * src_es.c over src/jstream.c): GET / (the identity), searches with hits,
 * counts and aggregation buckets, opening a point in time, scroll pages,
 * error bodies, partial results -- a whole run, page after page.
 *
 * Input: see fuzz_src.h.
 */
#include "autoconf.h"

#include "fuzz_src.h"
#include "../../src/src_es.c"
#include "fuzz.h"

static const char *const fuzz_defs[] = {
	"{\"name\":\"hits\",\"type\":\"es\",\"source\":\"logs\","
	    "\"query\":\"status:5*\",\"result\":\"fields\","
	    "\"threshold\":[1,null],\"schedule\":{\"every\":\"5m\"},"
	    "\"range\":\"5m\"}",
	"{\"name\":\"count\",\"type\":\"es\",\"source\":\"logs\","
	    "\"query\":\"*\",\"result\":\"count\",\"threshold\":[4,null],"
	    "\"schedule\":{\"every\":\"5m\"},\"range\":\"5m\"}",
	"{\"name\":\"terms\",\"type\":\"es\",\"source\":\"logs\","
	    "\"query\":\"*\",\"result\":\"fields\",\"threshold\":[2,null],"
	    "\"aggregation\":{\"terms\":\"host\",\"size\":10},"
	    "\"schedule\":{\"every\":\"5m\"},\"range\":\"5m\"}",
	"{\"name\":\"nested\",\"type\":\"es\",\"source\":\"logs\","
	    "\"query\":\"*\",\"result\":\"fields\",\"threshold\":[1,5],"
	    "\"aggregation\":{\"terms\":\"host\",\"size\":5,"
	    "\"nested\":{\"terms\":\"user\",\"size\":3},"
	    "\"metric\":{\"avg\":\"bytes\"}},"
	    "\"schedule\":{\"every\":\"5m\"},\"range\":\"5m\"}",
	"{\"name\":\"dated\",\"type\":\"es\",\"source\":\"logs\","
	    "\"index\":\"logs-%{+yyyy.MM.dd}\",\"query\":\"*\","
	    "\"result\":\"fields\",\"threshold\":[1,null],"
	    "\"schedule\":{\"every\":\"5m\"},\"range\":\"2d\"}",
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
	fuzz_src_run(&src_es_ops, data, len);
	return (0);
}
