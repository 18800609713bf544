/*
 * template.h -- E7: subject and text templates of notifications.
 *
 *   "[411] {{search.name}}: {{alert.content.host}} ({{alert.priority}})"
 *
 * {{a.b.c}} is the value at that path of the event payload (CONTRACT.md 6:
 * event_type, search.*, alert.*, alert.content.*, links.*, error.*);
 * a string is written as is, a number or boolean as JSON text, an object
 * or array as compact JSON; a missing path renders as nothing, never an
 * error.  {{{{ writes "{{".  Every value is escaped for where it goes.
 */
#ifndef PROG_TEMPLATE_H
#define PROG_TEMPLATE_H

struct buf;
struct json;

enum tmpl_escape {
	TMPL_TEXT,	/* as is (plain text bodies) */
	TMPL_HEADER,	/* a mail header: CR, LF and other controls dropped */
	TMPL_HTML,	/* & < > " ' escaped */
	TMPL_JSON,	/* inside a JSON string: " \ and controls escaped */
	TMPL_JIRA	/* JIRA wiki markup: its specials escaped */
};

/* Render tmpl over the payload into out (appended). */
void	tmpl_render(const char *, const struct json *, enum tmpl_escape,
	    struct buf *);
/*
 * Append one value as a {{tag}} renders it, escaped for esc (nothing for
 * NULL); and a string of n bytes, escaped for esc.
 */
void	tmpl_put_value(const struct json *, enum tmpl_escape, struct buf *);
void	tmpl_put_str(const char *, size_t, enum tmpl_escape, struct buf *);

#endif
