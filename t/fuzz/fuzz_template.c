/*
 * fuzz_template.c -- message templates (src/template.c) over an event
 * payload, in every escaping.
 *
 * Input: TEMPLATE, optionally "\n--\n" and the payload as JSON (else a
 * fixed alert payload).
 */
#include "autoconf.h"

#include "buf.h"
#include "json.h"
#include "log.h"
#include "template.h"
#include "fuzz.h"

static const char fuzz_payload[] = "{\"type\":\"alert.new\",\"id\":\"7-0\","
    "\"instance\":\"i\",\"search\":{\"id\":3,\"name\":\"ssh <fail>\","
    "\"priority\":\"high\"},\"alerts\":[{\"id\":1,\"state\":\"new\","
    "\"content\":{\"host\":\"a&b\",\"n\":5,\"l\":[1,\"x\",null]}},"
    "{\"id\":2,\"content\":{}}],\"count\":2,\"link\":\"http://x/?a=1&b\"}";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz", 1, 0);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct json	*p = NULL;
	struct buf	 out = BUF_INIT;
	char		 err[256], *tmpl, *pj;
	size_t		 tlen, plen;
	int		 esc;

	fuzz_split(data, len, &tmpl, &tlen, &pj, &plen);
	if (plen > 0)
		p = json_parse(pj, plen, err, sizeof err);
	if (p == NULL)
		p = json_parse(fuzz_payload, sizeof fuzz_payload - 1, err,
		    sizeof err);
	if (p == NULL)
		abort();
	for (esc = TMPL_TEXT; esc <= TMPL_JIRA; esc++) {
		tmpl_render(tmpl, p, (enum tmpl_escape)esc, &out);
		tmpl_put_value(p, (enum tmpl_escape)esc, &out);
		tmpl_put_str(tmpl, tlen, (enum tmpl_escape)esc, &out);
		buf_reset(&out);
	}
	buf_free(&out);
	json_free(p);
	free(tmpl);
	free(pj);
	return (0);
}
