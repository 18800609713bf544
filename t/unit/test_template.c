/*
 * test_template.c -- E7 templates: paths, missing fields, every escape
 * kind, hostile values and the output bound.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "tap.h"
#include "template.h"

static struct json	*payload;

/* Render into a static string (the last one). */
static const char *
r(const char *tmpl, enum tmpl_escape esc)
{
	static struct buf	 b = BUF_INIT;

	buf_reset(&b);
	tmpl_render(tmpl, payload, esc, &b);
	return (b.b_data == NULL ? "" : b.b_data);
}

static struct json *
parse(const char *s)
{
	struct json	*j;
	char		 err[256];

	if ((j = json_parse(s, strlen(s), err, sizeof err)) == NULL)
		bail("fixture: %s", err);
	return (j);
}

static void
test_paths(void)
{
	is_string(r("[411] {{search.name}}", TMPL_TEXT),
	    "[411] SSH brute force", "search.name");
	is_string(r("{{alert.content.host}}", TMPL_TEXT), "web01",
	    "alert.content.host");
	is_string(r("{{ alert.content.host }}", TMPL_TEXT), "web01",
	    "spaces inside the braces");
	is_string(r("{{\talert.priority\t}}", TMPL_TEXT), "high",
	    "tabs inside the braces");
	is_string(r("{{alert.id}}", TMPL_TEXT), "81234", "a number");
	is_string(r("{{alert.score}}", TMPL_TEXT), "1.50e3",
	    "a number as written");
	is_string(r("{{alert.escalated}}", TMPL_TEXT), "false", "false");
	is_string(r("{{alert.content.admin}}", TMPL_TEXT), "true", "true");
	is_string(r("[{{alert.resolution}}]", TMPL_TEXT), "[]",
	    "null renders as nothing");
	is_string(r("{{search.tags}}", TMPL_TEXT), "[\"ssh\",\"auth\"]",
	    "an array as compact JSON");
	is_string(r("{{search.tags.1}}", TMPL_TEXT), "auth",
	    "an array element by index");
	is_string(r("{{search.tags.0}}", TMPL_TEXT), "ssh", "element 0");
	is_string(r("[{{search.tags.2}}]", TMPL_TEXT), "[]",
	    "index past the end");
	is_string(r("[{{search.tags.x}}]", TMPL_TEXT), "[]",
	    "index that is not a number");
	is_string(r("[{{search.tags.-1}}]", TMPL_TEXT), "[]",
	    "negative index");
	is_string(r("[{{search.tags.99999999999}}]", TMPL_TEXT), "[]",
	    "huge index");
	is_string(r("{{alert.content.geo}}", TMPL_TEXT),
	    "{\"cc\":\"DE\",\"n\":[1,2]}", "an object as compact JSON");
	is_string(r("{{alert.content.geo.n.1}}", TMPL_TEXT), "2",
	    "deep path through an array");
	is_string(r("{{alert.content.host.name}}", TMPL_TEXT), "web01.ex",
	    "a key holding a dot");
	is_string(r("{{alert.content.a.b.c}}", TMPL_TEXT), "nested",
	    "the dotted key is tried after the plain one fails");
	is_string(r("{{links.alert}}", TMPL_TEXT),
	    "http://411.example/#/alerts/81234", "links.alert");
	is_string(r("{{event_type}}", TMPL_TEXT), "alert.created",
	    "a top-level key");
	is_string(r("a{{alert.content.host}}b{{search.id}}c", TMPL_TEXT),
	    "aweb01b42c", "several tags and text");
	is_string(r("{{alert.content.host}}{{alert.content.user}}",
	    TMPL_TEXT), "web01root", "adjacent tags");
}

static void
test_missing(void)
{
	struct json	*saved;

	is_string(r("[{{nope}}]", TMPL_TEXT), "[]", "a missing key");
	is_string(r("[{{alert.content.nope}}]", TMPL_TEXT), "[]",
	    "a missing deep key");
	is_string(r("[{{alert.content.host.x.y}}]", TMPL_TEXT), "[]",
	    "a path below a string");
	is_string(r("[{{alert.id.x}}]", TMPL_TEXT), "[]",
	    "a path below a number");
	is_string(r("[{{}}]", TMPL_TEXT), "[]", "an empty tag");
	is_string(r("[{{   }}]", TMPL_TEXT), "[]", "a blank tag");
	is_string(r("[{{.}}]", TMPL_TEXT), "[]", "a lone dot");
	is_string(r("[{{alert..id}}]", TMPL_TEXT), "[]", "an empty segment");
	is_string(r("[{{alert.}}]", TMPL_TEXT), "[]", "a trailing dot");
	is_string(r("[{{error.message}}]", TMPL_TEXT), "[]",
	    "error.* missing on an alert event");
	is_string(r("no tags at all", TMPL_TEXT), "no tags at all",
	    "plain text");
	is_string(r("", TMPL_TEXT), "", "an empty template");
	is_string(r("a {{search.name", TMPL_TEXT), "a {{search.name",
	    "an unclosed tag is text");
	is_string(r("a }} b", TMPL_TEXT), "a }} b", "lone closing braces");
	is_string(r("{ {search.name} }", TMPL_TEXT), "{ {search.name} }",
	    "single braces are text");
	is_string(r("{{{{search.name}}", TMPL_TEXT), "{{search.name}}",
	    "{{{{ writes {{");
	is_string(r("x{{{{", TMPL_TEXT), "x{{", "{{{{ at the end");
	is_string(r("{{{search.name}}}", TMPL_TEXT), "}",
	    "three braces: the path \"{search.name\" is missing");

	saved = payload;
	payload = NULL;
	is_string(r("[{{search.name}}]", TMPL_TEXT), "[]",
	    "a NULL payload renders the text");
	payload = parse("[1,2]");
	is_string(r("[{{search.name}}|{{0}}]", TMPL_TEXT), "[|1]",
	    "an array payload");
	json_free(payload);
	payload = parse("\"str\"");
	is_string(r("[{{a}}]", TMPL_TEXT), "[]", "a string payload");
	json_free(payload);
	payload = saved;
	{
		struct buf	 b = BUF_INIT;

		buf_adds(&b, "keep:");
		tmpl_render("{{search.id}}", payload, TMPL_TEXT, &b);
		is_string(b.b_data, "keep:42", "render appends");
		tmpl_render(NULL, payload, TMPL_TEXT, &b);
		is_string(b.b_data, "keep:42", "a NULL template adds nothing");
		buf_free(&b);
	}
}

static void
test_limits(void)
{
	struct buf	 t = BUF_INIT, out = BUF_INIT;
	struct json	*saved, *deep;
	int		 i;

	/* A path longer than the limit renders nothing. */
	buf_adds(&t, "[{{");
	for (i = 0; i < 600; i++)
		buf_addc(&t, 'a');
	buf_adds(&t, "}}]");
	is_string(r(t.b_data, TMPL_TEXT), "[]", "an over-long path");
	buf_reset(&t);

	/* 40 segments is too deep even when the payload is that deep. */
	saved = payload;
	deep = parse("{\"v\":\"leaf\"}");
	for (i = 0; i < 40; i++) {
		struct json	*o = json_new(JSON_OBJECT);

		json_set(o, "a", deep);
		deep = o;
	}
	payload = deep;
	buf_adds(&t, "[{{");
	for (i = 0; i < 40; i++)
		buf_adds(&t, "a.");
	buf_adds(&t, "v}}]");
	is_string(r(t.b_data, TMPL_TEXT), "[]", "a path of 41 segments");
	buf_reset(&t);
	buf_adds(&t, "[{{");
	for (i = 0; i < 40; i++)
		buf_adds(&t, i < 9 ? "a." : "");
	buf_adds(&t, "a}}]");
	ok(strncmp(r(t.b_data, TMPL_TEXT), "[{\"a\":", 6) == 0,
	    "a path of 10 segments works");
	payload = saved;
	json_free(deep);
	buf_reset(&t);

	/* Output bounded at 1 MiB, cut at a character boundary. */
	for (i = 0; i < 300000; i++)
		buf_adds(&t, "\xc3\xa9{{search.id}}");	/* é42 */
	tmpl_render(t.b_data, payload, TMPL_TEXT, &out);
	ok(out.b_len <= 1024 * 1024 && out.b_len > 1024 * 1000,
	    "literal output bounded at 1 MiB (%zu)", out.b_len);
	buf_reset(&out);
	buf_reset(&t);
	payload = parse("{\"big\":\"\"}");
	{
		struct buf	 v = BUF_INIT;
		char		*js;

		buf_adds(&v, "{\"big\":\"");
		for (i = 0; i < 200000; i++)
			buf_adds(&v, "\\u00e9<>");	/* é<> */
		buf_adds(&v, "\"}");
		json_free(payload);
		payload = parse(v.b_data);
		buf_free(&v);
		tmpl_render("{{big}}{{big}}", payload, TMPL_HTML, &out);
		ok(out.b_len <= 1024 * 1024 && out.b_len > 1024 * 1000,
		    "escaped output bounded (%zu)", out.b_len);
		ok(out.b_len < 2 || !((unsigned char)out.b_data[out.b_len - 1]
		    == 0xc3), "not cut inside a character");
		ok(strstr(out.b_data, "&lt;") != NULL &&
		    strstr(out.b_data, "<") == NULL,
		    "escaping kept to the end");
		js = out.b_data + out.b_len - 4;
		ok(js > out.b_data, "non-empty");
		buf_reset(&out);
		/* Appending to a long buffer: the bound is per render. */
		buf_add(&out, "x", 1);
		for (i = 0; i < 3; i++)
			tmpl_render("{{big}}", payload, TMPL_TEXT, &out);
		ok(out.b_len > 2 * 1024 * 1024,
		    "each render has its own bound");
	}
	json_free(payload);
	payload = saved;
	buf_free(&t);
	buf_free(&out);
}

static void
test_header(void)
{
	is_string(r("{{alert.content.evil}}", TMPL_HEADER),
	    "xBcc: victim@example.org", "CR and LF dropped in a header");
	ok(strchr(r("Subject {{alert.content.evil}} {{alert.content.ctl}}",
	    TMPL_HEADER), '\r') == NULL &&
	    strchr(r("{{alert.content.evil}}", TMPL_HEADER), '\n') == NULL,
	    "no CR or LF left");
	is_string(r("{{alert.content.ctl}}", TMPL_HEADER), "abcd",
	    "tab, NUL, ESC, DEL dropped");
	is_string(r("{{alert.content.c1}}", TMPL_HEADER), "ab",
	    "C1 control U+0085 dropped");
	is_string(r("{{alert.content.ls}}", TMPL_HEADER), "ab",
	    "U+2028 dropped in a header");
	is_string(r("{{alert.content.utf}}", TMPL_HEADER),
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5",
	    "UTF-8 kept in a header");
	is_string(r("<{{alert.content.html}}>", TMPL_HEADER),
	    "<<script>alert(\"x\")</script>>", "no HTML escaping in headers");
	is_string(r("{{alert.content.geo}}", TMPL_HEADER),
	    "{\"cc\":\"DE\",\"n\":[1,2]}", "an object in a header");
	is_string(r("{{alert.content.multi}}", TMPL_HEADER), "line1line2",
	    "a multi-line value joined");
	is_string(r("{{search.name}}", TMPL_HEADER), "SSH brute force",
	    "a plain value");
}

static void
test_html(void)
{
	is_string(r("<b>{{alert.content.html}}</b>", TMPL_HTML),
	    "<b>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</b>",
	    "<script> escaped, the template's own tags kept");
	is_string(r("{{alert.content.amp}}", TMPL_HTML),
	    "a &amp; b &amp;amp; &#39;c&#39;", "& and ' escaped");
	is_string(r("<a href=\"{{alert.content.attr}}\">", TMPL_HTML),
	    "<a href=\"&quot; onmouseover=&quot;x\">",
	    "a quote cannot leave an attribute");
	is_string(r("{{alert.content.utf}}", TMPL_HTML),
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5", "UTF-8 kept in HTML");
	is_string(r("{{alert.content.multi}}", TMPL_HTML),
	    "line1\r\nline2", "line ends kept in HTML text");
	is_string(r("{{alert.content.geo}}", TMPL_HTML),
	    "{&quot;cc&quot;:&quot;DE&quot;,&quot;n&quot;:[1,2]}",
	    "an object's JSON escaped");
	is_string(r("{{alert.content.ctl}}", TMPL_HTML), "a\tb\033c\177d",
	    "NUL dropped in HTML");
	is_string(r("{{{{x}}", TMPL_HTML), "{{x}}", "{{{{ in HTML");
	is_string(r("{{alert.content.jira}}", TMPL_HTML),
	    "{code}x{code} [link|http://x] *bold* a|b",
	    "JIRA specials untouched in HTML");
}

static void
test_json(void)
{
	struct json	*j;
	struct buf	 b = BUF_INIT;
	char		 err[128];

	is_string(r("{{alert.content.quote}}", TMPL_JSON),
	    "say \\\"hi\\\" \\\\ back\\\\slash", "quote and backslash");
	is_string(r("{{alert.content.multi}}", TMPL_JSON),
	    "line1\\r\\nline2", "CR LF escaped");
	is_string(r("{{alert.content.ctl}}", TMPL_JSON),
	    "a\\tb\\u001bc\\u007fd", "tab, ESC and DEL escaped, NUL dropped");
	is_string(r("{{alert.content.bf}}", TMPL_JSON), "\\b\\f\\u0001",
	    "backspace, form feed, U+0001");
	is_string(r("{{alert.content.ls}}", TMPL_JSON), "a\\u2028b",
	    "U+2028 escaped in JSON");
	is_string(r("{{alert.content.utf}}", TMPL_JSON),
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5", "UTF-8 kept in JSON");
	is_string(r("{{alert.content.geo}}", TMPL_JSON),
	    "{\\\"cc\\\":\\\"DE\\\",\\\"n\\\":[1,2]}",
	    "an object's JSON escaped into a string");
	is_string(r("{{alert.content.html}}", TMPL_JSON),
	    "<script>alert(\\\"x\\\")</script>", "HTML only quoted in JSON");
	/* Whatever the values, the result is a valid JSON string. */
	buf_adds(&b, "{\"t\":\"");
	tmpl_render("{{alert.content}} lit {{search}}", payload,
	    TMPL_JSON, &b);
	buf_adds(&b, "\"}");
	j = json_parse(b.b_data, b.b_len, err, sizeof err);
	ok(j != NULL, "a rendered JSON string parses: %s",
	    j == NULL ? err : "ok");
	ok(j != NULL && json_str(json_get(j, "t")) != NULL &&
	    strstr(json_str(json_get(j, "t")), "<script>") != NULL,
	    "and holds the value");
	json_free(j);
	buf_free(&b);
}

static void
test_jira(void)
{
	is_string(r("{{alert.content.jira}}", TMPL_JIRA),
	    "\\{code\\}x\\{code\\} \\[link\\|http://x\\] \\*bold\\* a\\|b",
	    "{code}, [link|x], *bold* and | escaped");
	is_string(r("{{alert.content.jira2}}", TMPL_JIRA),
	    "\\_u\\_ \\+i\\+ \\^s\\^ \\~t\\~ \\!img.png\\! \\# \\-x\\- "
	    "\\?\\?c\\?\\? \\(y\\)",
	    "_ + ^ ~ ! # - ? ( ) escaped");
	is_string(r("{{alert.content.quote}}", TMPL_JIRA),
	    "say \"hi\" &#92; back&#92;slash",
	    "a backslash is no line break");
	is_string(r("{{alert.content.multi}}", TMPL_JIRA), "line1\nline2",
	    "CR dropped, LF kept");
	is_string(r("||{{search.name}}||\n|{{alert.content.host}}|",
	    TMPL_JIRA), "||SSH brute force||\n|web01|",
	    "the template's own markup kept");
	is_string(r("{{alert.content.html}}", TMPL_JIRA),
	    "<script>alert\\(\"x\"\\)</script>", "HTML only () escaped");
	is_string(r("{{alert.content.utf}}", TMPL_JIRA),
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5", "UTF-8 kept in JIRA");
	is_string(r("{{alert.content.ctl}}", TMPL_JIRA), "a\tb\033c\177d",
	    "NUL dropped in JIRA");
	is_string(r("{{alert.content.host}}", TMPL_JIRA), "web01",
	    "a plain value");
	is_string(r("{{alert.content.geo}}", TMPL_JIRA),
	    "\\{\"cc\":\"DE\",\"n\":\\[1,2\\]\\}", "an object in JIRA");
}

static void
test_text(void)
{
	is_string(r("{{alert.content.html}}", TMPL_TEXT),
	    "<script>alert(\"x\")</script>", "text is as is");
	is_string(r("{{alert.content.multi}}", TMPL_TEXT), "line1\r\nline2",
	    "line ends kept in text");
	is_string(r("{{alert.content.ctl}}", TMPL_TEXT), "a\tb\033c\177d",
	    "NUL dropped in text");
	is_string(r("{{alert.content.quote}}", TMPL_TEXT),
	    "say \"hi\" \\ back\\slash", "quotes in text");
	is_string(r("{{alert.content.jira}}", TMPL_TEXT),
	    "{code}x{code} [link|http://x] *bold* a|b", "JIRA specials in text");
	is_string(r("{{alert.content.tmpl}}", TMPL_TEXT), "{{search.name}}",
	    "a value that looks like a tag is not expanded");
	is_string(r("{{alert.content.tmpl}}", TMPL_HTML), "{{search.name}}",
	    "nor in HTML");
}

/* Every mode over the same hostile payload never crashes. */
static void
test_all_modes(void)
{
	static const char *const tmpls[] = {
		"{{alert}}", "{{search}}", "{{links}}", "{{alert.content}}",
		"{{{{}}}}", "{{{{{{", "}}{{", "{{a}}}}{{", "{{ . . }}",
		"{{alert.content.\xff\xfe}}", "\xc3{{alert.id}}\xa9",
	};
	enum tmpl_escape	 modes[] = { TMPL_TEXT, TMPL_HEADER, TMPL_HTML,
	    TMPL_JSON, TMPL_JIRA };
	size_t			 i, m, n = 0;
	struct buf		 b = BUF_INIT;

	for (m = 0; m < sizeof modes / sizeof modes[0]; m++)
		for (i = 0; i < sizeof tmpls / sizeof tmpls[0]; i++) {
			buf_reset(&b);
			tmpl_render(tmpls[i], payload, modes[m], &b);
			if (b.b_len == 0 || strlen(b.b_data) == b.b_len)
				n++;
		}
	is_int(n, 55, "55 renders over hostile templates, no NUL in output");
	buf_reset(&b);
	tmpl_render("{{alert.content}}", payload, TMPL_HEADER, &b);
	ok(strchr(b.b_data, '\n') == NULL && strchr(b.b_data, '\r') == NULL,
	    "a whole object in header mode has no line end");
	buf_free(&b);
}

int
main(void)
{
	plan(104);
	payload = parse(
	    "{\"schema\":\"411.event.v1\",\"event_id\":\"ev-1\","
	    "\"event_type\":\"alert.created\","
	    "\"search\":{\"id\":42,\"name\":\"SSH brute force\","
	    "\"priority\":\"high\",\"tags\":[\"ssh\",\"auth\"]},"
	    "\"alert\":{\"id\":81234,\"priority\":\"high\","
	    "\"score\":1.50e3,\"escalated\":false,\"resolution\":null,"
	    "\"content\":{\"host\":\"web01\",\"user\":\"root\","
	    "\"admin\":true,\"host.name\":\"web01.ex\","
	    "\"a\":{\"x\":1},\"a.b\":{\"c\":\"nested\"},"
	    "\"geo\":{\"cc\":\"DE\",\"n\":[1,2]},"
	    "\"evil\":\"x\\r\\nBcc: victim@example.org\","
	    "\"ctl\":\"a\\tb\\u0000\\u001bc\\u007fd\","
	    "\"c1\":\"a\\u0085b\",\"ls\":\"a\\u2028b\","
	    "\"bf\":\"\\b\\f\\u0001\","
	    "\"utf\":\"caf\\u00e9 \\u20ac \\ud83d\\udd25\","
	    "\"html\":\"<script>alert(\\\"x\\\")</script>\","
	    "\"amp\":\"a & b &amp; 'c'\","
	    "\"attr\":\"\\\" onmouseover=\\\"x\","
	    "\"multi\":\"line1\\r\\nline2\","
	    "\"quote\":\"say \\\"hi\\\" \\\\ back\\\\slash\","
	    "\"jira\":\"{code}x{code} [link|http://x] *bold* a|b\","
	    "\"jira2\":\"_u_ +i+ ^s^ ~t~ !img.png! # -x- ??c?? (y)\","
	    "\"tmpl\":\"{{search.name}}\"}},"
	    "\"links\":{\"alert\":\"http://411.example/#/alerts/81234\"}}");
	test_paths();
	test_missing();
	test_limits();
	test_header();
	test_html();
	test_json();
	test_jira();
	test_text();
	test_all_modes();
	json_free(payload);
	return (test_done());
}
