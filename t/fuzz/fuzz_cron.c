/*
 * fuzz_cron.c -- cron expressions (src/cron.c): compile, then walk a few
 * fire times forward and back.
 *
 * Input: one byte choosing the time zone, then the expression.
 */
#include "autoconf.h"

#include "cron.h"
#include "log.h"
#include "fuzz.h"

static const char *const fuzz_zones[] = { NULL, "UTC", "Europe/Berlin",
    "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
    "America/Santiago", "Pacific/Chatham" };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz", 1, 0);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct cron	*c;
	const char	*tz;
	char		 err[256], *spec;
	int64_t		 t, t0 = 1764806400000LL;	/* 2025-12-04 */
	int		 i, what;

	if (len < 1)
		return (0);
	tz = fuzz_zones[data[0] % (sizeof fuzz_zones / sizeof fuzz_zones[0])];
	spec = fuzz_str(data + 1, len - 1);
	if ((c = cron_new(spec, tz, &what, err, sizeof err)) != NULL) {
		for (t = t0, i = 0; i < 4 && t != -1; i++)
			t = cron_next(c, t);
		for (t = t0, i = 0; i < 4 && t != -1; i++)
			t = cron_prev(c, t);
		(void)cron_interval(c);
		cron_free(c);
	}
	free(spec);
	return (0);
}
