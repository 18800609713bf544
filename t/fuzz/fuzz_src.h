/*
 * fuzz_src.h -- drive a source driver (src_es.c, src_prom.c,
 * src_graphite.c) over answers taken from the fuzz input, without a
 * network or a run.
 *
 * A target includes this header, then the driver's .c: the macros below
 * make the driver call the stand-ins of fuzz_src.c for the run (run_*)
 * and for HTTP (httpc_*).  fuzz_src_run then starts a run of a search
 * and answers each request the driver sends with the next part of the
 * input, until the driver finishes the run.
 *
 * Input of fuzz_src_run: one byte of flags (FUZZ_SRC_*), one byte
 * choosing the search, then answers separated by "\n--\n", each: a byte
 * choosing the status, a byte choosing the chunk size and Content-Type,
 * then the body.
 */
#ifndef FUZZ_FUZZ_SRC_H
#define FUZZ_FUZZ_SRC_H

#include <stddef.h>
#include <stdint.h>

#define run_driver	fuzz_run_driver
#define run_env		fuzz_run_env
#define run_finish	fuzz_run_finish
#define run_from	fuzz_run_from
#define run_record	fuzz_run_record
#define run_search	fuzz_run_search
#define run_set_driver	fuzz_run_set_driver
#define run_source	fuzz_run_source
#define run_to		fuzz_run_to
#define run_total	fuzz_run_total
#define run_warn	fuzz_run_warn
#define httpc_req_new	fuzz_httpc_req_new
#define httpc_req_header fuzz_httpc_req_header
#define httpc_req_body	fuzz_httpc_req_body
#define httpc_req_opts	fuzz_httpc_req_opts
#define httpc_req_start	fuzz_httpc_req_start
#define httpc_req_cancel fuzz_httpc_req_cancel
#define httpc_req_free	fuzz_httpc_req_free

struct src_ops;

#define FUZZ_SRC_IDENTITY	0x01	/* es: the identity is known */
#define FUZZ_SRC_OPENSEARCH	0x02	/* ... as OpenSearch */
#define FUZZ_SRC_OLD		0x04	/* ... as Elasticsearch 5 */
#define FUZZ_SRC_LIMIT		0x08	/* the run has enough after 3 */

/*
 * Set up once: a config with the sources logs (es), prom and gr, and the
 * searches (definitions as JSON, NULL-terminated) fuzz_src_run chooses
 * from.
 */
void	fuzz_src_init(const char *const *);
/* One run of ops over the answers in data. */
void	fuzz_src_run(const struct src_ops *, const uint8_t *, size_t);

#endif
