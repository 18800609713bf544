/*
 * metrics.c -- helpers for the Prometheus text format (0.0.4).
 *
 * The counters themselves are plain fields of struct metrics that the
 * modules bump; api.c writes /metrics from them with these helpers.
 */
#include "autoconf.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "metrics.h"

/* Append a HELP and TYPE header. */
void
metrics_header(struct buf *b, const char *name, const char *type,
    const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Append one unlabelled family. */
void
metrics_family(struct buf *b, const char *name, const char *type,
    const char *help, double v)
{
	metrics_header(b, name, type, help);
	if (v == floor(v) && fabs(v) < 1e15)
		buf_printf(b, "%s %.0f\n", name, v);
	else
		buf_printf(b, "%s %.6f\n", name, v);
}

/* Append a label value escaped for the text format (\\, \", \n). */
void
metrics_label(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			buf_add(b, "\\\\", 2);
		else if (*s == '"')
			buf_add(b, "\\\"", 2);
		else if (*s == '\n')
			buf_add(b, "\\n", 2);
		else
			buf_addc(b, *s);
	}
}
