/*
 * fuzz_expr.c -- the expression language (src/expr.c): compile the
 * source, then evaluate it over a record.
 *
 * Input: SOURCE, optionally "\n--\n" and a record as a JSON object (else
 * a fixed record).
 */
#include "autoconf.h"

#include "buf.h"
#include "expr.h"
#include "log.h"
#include "record.h"
#include "fuzz.h"

static const char fuzz_rec[] = "{\"host\":\"web-1\",\"status\":503,"
    "\"bytes\":1234.5,\"msg\":\"GET /x HTTP/1.1\",\"tags\":[\"a\",\"b\"],"
    "\"user\":{\"name\":\"root\",\"id\":0},\"ok\":false,\"none\":null}";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz", 1, 0);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct expr	*e;
	struct record	*rec;
	struct expr_val	 v;
	struct buf	 out = BUF_INIT;
	char		 err[256], *src, *rj;
	size_t		 srclen, rjlen;

	fuzz_split(data, len, &src, &srclen, &rj, &rjlen);
	rec = NULL;
	if (rjlen > 0)
		rec = record_from_json(rj, rjlen, err, sizeof err);
	if (rec == NULL)
		rec = record_from_json(fuzz_rec, sizeof fuzz_rec - 1, err,
		    sizeof err);
	if (rec == NULL)
		abort();
	if ((e = expr_compile(src, err, sizeof err)) != NULL) {
		memset(&v, 0, sizeof v);
		if (expr_eval(e, rec, &v, err, sizeof err) == 0) {
			(void)expr_val_truthy(&v);
			expr_val_json(&v, &out);
		}
		expr_val_free(&v);
		(void)expr_truthy(e, rec, err, sizeof err);
		(void)expr_eval_json(e, rec, &out, err, sizeof err);
		(void)expr_source(e);
		expr_free(e);
	}
	buf_free(&out);
	record_free(rec);
	free(src);
	free(rj);
	return (0);
}
