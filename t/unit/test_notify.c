/*
 * test_notify.c -- 411-notify's helpers and target bodies.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "notify.h"
#include "tap.h"

int main(void);

int
main(void)
{
	plan(1);
	ok(notify_type("webhook") != NULL, "webhook type");
	return (test_done());
}
