/*
 * fuzz_lists.c -- lists (src/lists.c): the text of a list as a server or
 * a file gives it, then a query string naming lists (@NAME) expanded into
 * quoted, escaped terms as the es searches send them.
 *
 * Input: the list's text, optionally "\n--\n" and a query (else a fixed
 * one).
 */
#include "autoconf.h"

#include "../../src/lists.c"
#include "fuzz.h"

static struct lists	 fuzz_ls;
static struct list	 fuzz_l;
static struct list	*fuzz_lp = &fuzz_l;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz", 1, 0);
	fuzz_l.l_owner = &fuzz_ls;
	fuzz_l.l_name = xstrdup("ips");
	fuzz_ls.ls_l = &fuzz_lp;
	fuzz_ls.ls_n = 1;
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct buf	 out = BUF_INIT;
	char		 err[256], *text, *q;
	size_t		 tlen, qlen, i;

	fuzz_split(data, len, &text, &tlen, &q, &qlen);
	(void)list_parse(&fuzz_l, text, tlen);
	(void)lists_expand(&fuzz_ls, qlen > 0 ? q :
	    "src_ip:@ips AND NOT user:@ips OR \"@ips\" x@ips (@ips)", &out,
	    err, sizeof err);
	buf_free(&out);
	for (i = 0; i < fuzz_l.l_n; i++)
		free(fuzz_l.l_vals[i]);
	free(fuzz_l.l_vals);
	fuzz_l.l_vals = NULL;
	fuzz_l.l_n = 0;
	free(fuzz_l.l_error);
	fuzz_l.l_error = NULL;
	free(text);
	free(q);
	return (0);
}
