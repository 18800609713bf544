/*
 * mock_notify.c -- a test-only core for notify.h: a delivery built by the
 * test, requests made with blocking libcurl easy handles when the test
 * runs them (never inside the target's call, as in the real core), and
 * delivery_done recorded for the test to check.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "buf.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "notify.h"
#include "xmalloc.h"

struct delivery {
	const struct config_target *d_target;
	struct json	*d_payload;
	char		*d_id;
	char		*d_type;
	int		 d_attempt;
	void		*d_state;
	void		(*d_state_free)(void *);
	/* The one request waiting to be made. */
	int		 d_pending;
	int		 d_smtp;
	char		*d_method;
	char		*d_url;
	struct curl_slist *d_hdrs;		/* or the recipients */
	char		*d_from;
	char		*d_body;
	size_t		 d_blen;
	notify_resp_cb	 d_cb;
	void		*d_arg;
	/* What the test looks at. */
	int		 d_requests;
	int		 d_done;
	enum delivery_result d_result;
	char		*d_ref;
	char		*d_err;
	char		*d_retry_after;
};

struct delivery	*mock_delivery_new(const struct config_target *, const char *,
		    const char *, const char *, int);
int		 mock_delivery_run(struct delivery *);
int		 mock_delivery_done(const struct delivery *,
		    enum delivery_result *, const char **, const char **,
		    const char **);
void		 mock_delivery_free(struct delivery *);

struct mock_read {
	const char	*r_p;
	size_t		 r_left;
};

/* A delivery of the event (payload JSON text) for the target. */
struct delivery *
mock_delivery_new(const struct config_target *ct, const char *payload,
    const char *id, const char *type, int attempt)
{
	struct delivery	*d;
	char		 err[256];

	d = xcalloc(1, sizeof *d);
	d->d_target = ct;
	if ((d->d_payload = json_parse(payload, strlen(payload), err,
	    sizeof err)) == NULL)
		fatalx("mock_delivery_new: %s", err);
	d->d_id = xstrdup(id);
	d->d_type = xstrdup(type);
	d->d_attempt = attempt;
	return (d);
}

static void
mock_request_clear(struct delivery *d)
{
	free(d->d_method);
	free(d->d_url);
	free(d->d_from);
	free(d->d_body);
	curl_slist_free_all(d->d_hdrs);
	d->d_method = d->d_url = d->d_from = d->d_body = NULL;
	d->d_hdrs = NULL;
	d->d_pending = 0;
}

void
mock_delivery_free(struct delivery *d)
{
	if (d == NULL)
		return;
	mock_request_clear(d);
	if (d->d_state_free != NULL)
		d->d_state_free(d->d_state);
	json_free(d->d_payload);
	free(d->d_id);
	free(d->d_type);
	free(d->d_ref);
	free(d->d_err);
	free(d->d_retry_after);
	free(d);
}

static size_t
mock_write_cb(char *p, size_t size, size_t n, void *arg)
{
	buf_add(arg, p, size * n);
	return (size * n);
}

static size_t
mock_header_cb(char *p, size_t size, size_t n, void *arg)
{
	char	**ra = arg;
	size_t	  len = size * n, k = 12;

	if (len > k && strncasecmp(p, "Retry-After:", k) == 0) {
		while (k < len && p[k] == ' ')
			k++;
		while (len > k && (p[len - 1] == '\r' || p[len - 1] == '\n'))
			len--;
		free(*ra);
		*ra = xstrndup(p + k, len - k);
	}
	return (size * n);
}

static size_t
mock_read_cb(char *p, size_t size, size_t n, void *arg)
{
	struct mock_read	*r = arg;
	size_t			 k = size * n;

	if (k > r->r_left)
		k = r->r_left;
	memcpy(p, r->r_p, k);
	r->r_p += k;
	r->r_left -= k;
	return (k);
}

/* Make the waiting requests until there are none; returns how many. */
int
mock_delivery_run(struct delivery *d)
{
	CURL			*c;
	CURLcode		 rc;
	struct buf		 body = BUF_INIT;
	struct mock_read	 rd;
	struct notify_resp	 nr;
	char			 errbuf[CURL_ERROR_SIZE], *ra = NULL;
	const char		*v;
	notify_resp_cb		 cb;
	void			*arg;
	int			 n = 0;

	while (d->d_pending && n < 50) {
		n++;
		d->d_requests++;
		c = curl_easy_init();
		errbuf[0] = '\0';
		curl_easy_setopt(c, CURLOPT_URL, d->d_url);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mock_write_cb);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, mock_header_cb);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &ra);
		if (d->d_smtp) {
			curl_easy_setopt(c, CURLOPT_MAIL_FROM, d->d_from);
			curl_easy_setopt(c, CURLOPT_MAIL_RCPT, d->d_hdrs);
			rd.r_p = d->d_body;
			rd.r_left = d->d_blen;
			curl_easy_setopt(c, CURLOPT_READFUNCTION, mock_read_cb);
			curl_easy_setopt(c, CURLOPT_READDATA, &rd);
			curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
			if ((v = delivery_opt(d, "user")) != NULL)
				curl_easy_setopt(c, CURLOPT_USERNAME, v);
			if ((v = delivery_opt(d, "password")) != NULL)
				curl_easy_setopt(c, CURLOPT_PASSWORD, v);
			if ((v = delivery_opt(d, "starttls")) != NULL &&
			    strcmp(v, "yes") == 0)
				curl_easy_setopt(c, CURLOPT_USE_SSL,
				    (long)CURLUSESSL_ALL);
		} else {
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, d->d_method);
			curl_easy_setopt(c, CURLOPT_HTTPHEADER, d->d_hdrs);
			if (d->d_body != NULL) {
				curl_easy_setopt(c, CURLOPT_POSTFIELDS,
				    d->d_body);
				curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
				    (long)d->d_blen);
			}
		}
		rc = curl_easy_perform(c);
		memset(&nr, 0, sizeof nr);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &nr.nr_status);
		if (rc != CURLE_OK)
			nr.nr_error = errbuf[0] != '\0' ? errbuf :
			    curl_easy_strerror(rc);
		buf_add(&body, "", 0);
		nr.nr_body = body.b_data;
		nr.nr_len = body.b_len;
		nr.nr_retry_after = ra;
		curl_easy_cleanup(c);
		cb = d->d_cb;
		arg = d->d_arg;
		mock_request_clear(d);
		cb(d, &nr, arg);
		buf_free(&body);
		free(ra);
		ra = NULL;
	}
	return (n);
}

/* How many delivery_done calls; the last one's result. */
int
mock_delivery_done(const struct delivery *d, enum delivery_result *res,
    const char **ref, const char **err, const char **retry_after)
{
	if (res != NULL)
		*res = d->d_result;
	if (ref != NULL)
		*ref = d->d_ref;
	if (err != NULL)
		*err = d->d_err;
	if (retry_after != NULL)
		*retry_after = d->d_retry_after;
	return (d->d_done);
}

const struct json *
delivery_payload(const struct delivery *d)
{
	return (d->d_payload);
}

const char *
delivery_event_id(const struct delivery *d)
{
	return (d->d_id);
}

const char *
delivery_event_type(const struct delivery *d)
{
	return (d->d_type);
}

const struct config_target *
delivery_target(const struct delivery *d)
{
	return (d->d_target);
}

const char *
delivery_opt(const struct delivery *d, const char *name)
{
	return (config_target_opt(d->d_target, name));
}

int
delivery_attempt(const struct delivery *d)
{
	return (d->d_attempt);
}

void
delivery_set_state(struct delivery *d, void *state, void (*fn)(void *))
{
	if (d->d_state_free != NULL)
		d->d_state_free(d->d_state);
	d->d_state = state;
	d->d_state_free = fn;
}

void *
delivery_state(const struct delivery *d)
{
	return (d->d_state);
}

static void
mock_queue(struct delivery *d, const char *url, const char *body,
    size_t len, notify_resp_cb cb, void *arg)
{
	if (d->d_pending)
		fatalx("mock: a second request while one waits");
	if (d->d_done)
		fatalx("mock: a request after delivery_done");
	d->d_pending = 1;
	d->d_url = xstrdup(url);
	if (body != NULL) {
		d->d_body = xmalloc(len + 1);
		memcpy(d->d_body, body, len);
		d->d_body[len] = '\0';
	}
	d->d_blen = len;
	d->d_cb = cb;
	d->d_arg = arg;
}

void
notify_http(struct delivery *d, const char *method, const char *url,
    const char *const *hdrs, const char *body, size_t len,
    notify_resp_cb cb, void *arg)
{
	size_t	 i;

	mock_queue(d, url, body, len, cb, arg);
	d->d_smtp = 0;
	d->d_method = xstrdup(method);
	for (i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
		d->d_hdrs = curl_slist_append(d->d_hdrs, hdrs[i]);
}

void
notify_smtp(struct delivery *d, const char *url, const char *from,
    const char *const *rcpt, const char *msg, size_t len,
    notify_resp_cb cb, void *arg)
{
	size_t	 i;

	mock_queue(d, url, msg, len, cb, arg);
	d->d_smtp = 1;
	d->d_from = xprintf("<%s>", from);
	for (i = 0; rcpt != NULL && rcpt[i] != NULL; i++) {
		char	*s = xprintf("<%s>", rcpt[i]);

		d->d_hdrs = curl_slist_append(d->d_hdrs, s);
		free(s);
	}
}

void
delivery_done(struct delivery *d, enum delivery_result res, const char *ref,
    const char *err, const char *retry_after)
{
	d->d_done++;
	d->d_result = res;
	free(d->d_ref);
	free(d->d_err);
	free(d->d_retry_after);
	d->d_ref = ref != NULL ? xstrdup(ref) : NULL;
	d->d_err = err != NULL ? xstrdup(err) : NULL;
	d->d_retry_after = retry_after != NULL ? xstrdup(retry_after) : NULL;
}

enum delivery_result
notify_http_verdict(const struct notify_resp *nr)
{
	if (nr->nr_error != NULL || nr->nr_status == 0)
		return (DELIVERY_RETRY);
	if (nr->nr_status >= 200 && nr->nr_status < 300)
		return (DELIVERY_OK);
	if (nr->nr_status == 408 || nr->nr_status == 425 ||
	    nr->nr_status == 429 || nr->nr_status >= 500)
		return (DELIVERY_RETRY);
	return (DELIVERY_FAILED);
}
