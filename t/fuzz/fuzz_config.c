/*
 * fuzz_config.c -- the config parser (src/config.c) of 411d and of
 * 411-notify, which share it.
 *
 * Input: one byte choosing the kind (even: 411d.conf, odd:
 * 411-notify.conf), then the file's text.
 */
#include "autoconf.h"

#include "config.h"
#include "log.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz", 1, 0);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct config_errors	 errs;
	struct config		*cfg;
	enum config_kind	 kind;
	char			*text;

	if (len < 1)
		return (0);
	kind = data[0] & 1 ? CONFIG_NOTIFY : CONFIG_411D;
	text = fuzz_str(data + 1, len - 1);
	memset(&errs, 0, sizeof errs);
	cfg = config_parse("fuzz.conf", text, len - 1, kind, &errs);
	config_free(cfg);
	config_errors_free(&errs);
	free(text);
	return (0);
}
