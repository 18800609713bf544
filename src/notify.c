/*
 * notify.c -- the core of 411-notify: the consumer group on
 * 411:notify:TYPE, the deliveries in flight, retries with back-off,
 * dead letters, results on 411:delivery, and the curl multi that the
 * targets' requests run on.
 *
 * Two Redis connections (WIRE.md 6.1): one only for the blocking
 * XREADGROUP, one for everything else.  On start (and after every
 * reconnect) the worker first re-reads its own pending entries (ID 0),
 * then new ones (>).  Entries idle in another consumer's list for
 * claim_idle are taken over with XAUTOCLAIM; the worker keeps its own
 * entries fresh with XCLAIM ... JUSTID while it waits to retry them, so
 * that nobody takes a delivery that is only waiting.  An entry is
 * acknowledged only after its result is written (and, for a dead one,
 * after the dead letter is).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "config.h"
#include "hmap.h"
#include "json.h"
#include "log.h"
#include "notify.h"
#include "queue.h"
#include "util.h"
#include "xmalloc.h"

#define NOTIFY_READ_COUNT	64	/* entries per XREADGROUP */
#define NOTIFY_BLOCK_MS		"2000"	/* XREADGROUP BLOCK */
#define NOTIFY_CLAIM_COUNT	"32"
#define NOTIFY_AGAIN_MS		1000	/* after a Redis failure */
#define NOTIFY_HTTP_TIMEOUT	30000	/* ms, option "timeout" */
#define NOTIFY_CONNECT_TIMEOUT	10000
#define NOTIFY_MAX_BODY		(1024 * 1024)	/* response bytes kept */
#define NOTIFY_STREAM_MAXLEN	"100000"	/* delivery and dead */
#define NOTIFY_MAX_ALERTS	64	/* alert ids in a result */

enum delivery_phase {
	PH_WORKING,		/* the target has it */
	PH_WAITING,		/* retry timer armed */
	PH_FINISHING,		/* results and XACK on their way */
	PH_DEAD			/* abandoned (stop), or freed */
};

struct nreq;

struct delivery {
	struct notify		*d_n;
	char			*d_sid;		/* stream entry id */
	char			*d_eid;
	char			*d_etype;
	char			*d_raw;		/* payload text */
	size_t			 d_rawlen;
	struct json		*d_payload;
	const struct config_target *d_target;
	const struct target_ops	*d_ops;
	int			 d_attempt;
	enum delivery_phase	 d_phase;
	void			*d_state;
	void			(*d_state_free)(void *);
	struct event		*d_timer;
	/* the end */
	enum delivery_result	 d_result;
	char			*d_ref;
	char			*d_err;
	int			 d_dead;	/* dead-lettered */
	int			 d_acking;	/* result written */
	TAILQ_HEAD(, nreq)	 d_reqs;
	TAILQ_ENTRY(delivery)	 d_entry;
};

struct nreq {
	struct delivery		*r_d;
	CURL			*r_easy;
	struct curl_slist	*r_headers;
	struct curl_slist	*r_rcpt;
	char			*r_body;	/* request body (owned) */
	size_t			 r_blen;
	size_t			 r_bpos;	/* upload position */
	struct buf		 r_resp;
	char			*r_retry_after;
	char			 r_errbuf[CURL_ERROR_SIZE];
	notify_resp_cb		 r_cb;
	void			*r_arg;
	TAILQ_ENTRY(nreq)	 r_entry;
};

TAILQ_HEAD(delivery_list, delivery);

struct notify {
	struct event_base	*n_base;
	const struct config	*n_cfg;
	const struct target_ops	*n_ops;
	char			*n_type;
	char			*n_consumer;
	char			*n_key;		/* PREFIX notify:TYPE */
	char			*n_key_dead;
	char			*n_key_result;
	struct queue		*n_rq;		/* blocking reads */
	struct queue		*n_cq;		/* commands */
	int			 n_group;	/* group exists */
	int			 n_group_sent;
	int			 n_reading;
	int			 n_pending_phase; /* reading ID 0.. */
	char			*n_pending_from;
	char			*n_claim_cursor;
	int			 n_claiming;
	struct event		*n_read_ev;
	struct event		*n_claim_ev;
	struct hmap		*n_map;		/* sid -> delivery */
	struct delivery_list	 n_deliveries;
	size_t			 n_count;
	/* curl */
	CURLM			*n_multi;
	struct event		*n_curl_timer;
	int			 n_running;
	/* stop */
	int			 n_stopping;
	struct event		*n_grace_ev;
	void			(*n_stop_cb)(void *);
	void			*n_stop_arg;
};

static void	notify_read(struct notify *);
static void	notify_entry(struct notify *, redisReply *);
static void	delivery_start(struct delivery *);
static void	delivery_free(struct delivery *);
static void	delivery_finish(struct delivery *);
static void	delivery_ack(struct delivery *);
static void	notify_check_stop(struct notify *);
static void	nreq_free(struct nreq *);

/* The target types.  */
const struct target_ops *
notify_type(const char *name)
{
	size_t	 i;

	for (i = 0; target_types[i] != NULL; i++)
		if (strcmp(target_types[i]->to_type, name) == 0)
			return (target_types[i]);
	return (NULL);
}

int
notify_check(const struct config *cfg, const char *type,
    void (*err)(void *, const char *), void *arg)
{
	const struct config_target	*ct;
	const struct target_ops		*ops;
	char				 msg[512], *line;
	size_t				 i;
	int				 n = 0;

	for (i = 0; i < cfg->c_ntargets; i++) {
		ct = &cfg->c_targets[i];
		if (type != NULL && strcmp(ct->ct_type, type) != 0)
			continue;
		msg[0] = '\0';
		if ((ops = notify_type(ct->ct_type)) == NULL)
			snprintf(msg, sizeof msg, "target %s: unknown type "
			    "\"%s\"", ct->ct_name, ct->ct_type);
		else if (ops->to_check(ct, msg, sizeof msg) == -1) {
			if (msg[0] == '\0')
				snprintf(msg, sizeof msg, "bad options");
		} else
			continue;
		if (strncmp(msg, "target ", 7) == 0)
			line = xprintf("%s:%d: %s", cfg->c_path, ct->ct_line,
			    msg);
		else
			line = xprintf("%s:%d: target %s: %s", cfg->c_path,
			    ct->ct_line, ct->ct_name, msg);
		err(arg, line);
		free(line);
		n++;
	}
	return (n);
}

int
notify_check_opts(const struct config_target *ct, const char *const *allowed,
    const char *const *required, char *msg, size_t len)
{
	const char	*v, *errstr;
	int64_t		 ms;
	size_t		 i, k;

	for (i = 0; i < ct->ct_nopts; i++) {
		for (k = 0; allowed[k] != NULL; k++)
			if (strcmp(allowed[k], ct->ct_opts[i].co_name) == 0)
				break;
		if (allowed[k] == NULL) {
			snprintf(msg, len, "unknown option \"%s\"",
			    ct->ct_opts[i].co_name);
			return (-1);
		}
	}
	for (k = 0; required != NULL && required[k] != NULL; k++) {
		v = config_target_opt(ct, required[k]);
		if (v == NULL || *v == '\0') {
			snprintf(msg, len, "option %s is required",
			    required[k]);
			return (-1);
		}
	}
	if ((v = config_target_opt(ct, "timeout")) != NULL &&
	    (util_parse_duration_ms(v, &ms, &errstr) == -1 || ms <= 0)) {
		snprintf(msg, len, "timeout: bad duration \"%s\"", v);
		return (-1);
	}
	if ((v = config_target_opt(ct, "url")) != NULL &&
	    strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
		snprintf(msg, len, "url: want http:// or https://, not \"%s\"",
		    v);
		return (-1);
	}
	return (0);
}

/* Back-off: min * 2^(attempt-1), capped, half of it random. */
int64_t
notify_backoff_ms(int attempt, int64_t min, int64_t max, uint64_t rnd)
{
	int64_t	 d = min;
	int	 i;

	if (min < 1)
		d = min = 1;
	for (i = 1; i < attempt && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	return (d / 2 + (int64_t)(rnd % (uint64_t)(d - d / 2 + 1)));
}

int64_t
notify_retry_after_ms(const char *v, int64_t now_ms)
{
	int64_t	 s;
	time_t	 t;

	if (v == NULL)
		return (-1);
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v == '\0')
		return (-1);
	if (util_parse_int64(v, strcspn(v, " \t\r\n"), &s) == 0)
		return (s < 0 ? 0 : s > INT32_MAX ? (int64_t)INT32_MAX * 1000 :
		    s * 1000);
	if ((t = curl_getdate(v, NULL)) == -1)
		return (-1);
	s = (int64_t)t * 1000 - now_ms;
	return (s < 0 ? 0 : s);
}

void
notify_hmac_hex(const char *key, const void *data, size_t len, char out[65])
{
	uint8_t		 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;

	if (HMAC(EVP_sha256(), key, (int)strlen(key), data, len, md,
	    &mdlen) == NULL || mdlen != 32)
		fatalx("HMAC-SHA256 failed");
	util_hex(md, 32, out);
}

const char *
notify_str(const struct json *j, const char *path)
{
	char		 part[128];
	const char	*p = path, *dot;
	size_t		 n;

	while (j != NULL && *p != '\0') {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof part)
			return (NULL);
		memcpy(part, p, n);
		part[n] = '\0';
		j = json_get(j, part);
		p += n;
		if (*p == '.')
			p++;
	}
	return (j != NULL ? json_str(j) : NULL);
}

size_t
notify_alert_ids(const struct json *p, uint64_t *ids, size_t max)
{
	const struct json	*a;
	int64_t			 v;
	size_t			 i, n = 0;

	if ((a = json_get(p, "alert")) != NULL && n < max &&
	    json_int(json_get(a, "id"), &v) && v > 0)
		ids[n++] = (uint64_t)v;
	a = json_get(p, "alerts");
	for (i = 0; i < json_len(a) && n < max; i++)
		if (json_int(json_get(json_at(a, i), "id"), &v) && v > 0)
			ids[n++] = (uint64_t)v;
	return (n);
}

/* Arm ev in ms. */
static void
notify_timer(struct event *ev, int64_t ms)
{
	struct timeval	 tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/*
 * The curl multi on the loop (curl's hiperfifo pattern, WIRE.md 3).
 */
static void
notify_curl_done(struct notify *n)
{
	CURLMsg			*msg;
	struct nreq		*r;
	struct notify_resp	 nr;
	struct delivery		*d;
	int			 left;

	while ((msg = curl_multi_info_read(n->n_multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		r = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&r);
		if (r == NULL)
			continue;
		memset(&nr, 0, sizeof nr);
		curl_easy_getinfo(r->r_easy, CURLINFO_RESPONSE_CODE,
		    &nr.nr_status);
		if (msg->data.result != CURLE_OK)
			nr.nr_error = r->r_errbuf[0] != '\0' ? r->r_errbuf :
			    curl_easy_strerror(msg->data.result);
		buf_adds(&r->r_resp, "");
		nr.nr_body = r->r_resp.b_data;
		nr.nr_len = r->r_resp.b_len;
		nr.nr_retry_after = r->r_retry_after;
		d = r->r_d;
		TAILQ_REMOVE(&d->d_reqs, r, r_entry);
		curl_multi_remove_handle(n->n_multi, r->r_easy);
		r->r_cb(d, &nr, r->r_arg);
		nreq_free(r);
	}
}

static void
notify_curl_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct notify	*n = arg;

	curl_multi_socket_action(n->n_multi, CURL_SOCKET_TIMEOUT, 0,
	    &n->n_running);
	notify_curl_done(n);
}

static void
notify_curl_sock_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct notify	*n = arg;
	int		 act;

	act = ((kind & EV_READ) ? CURL_CSELECT_IN : 0) |
	    ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	curl_multi_socket_action(n->n_multi, fd, act, &n->n_running);
	/*
	 * No evtimer_del here when nothing runs: a done callback may just
	 * have started the next request (jira: search, create, watchers),
	 * and curl's timer callback (-1) says when the timer must go.
	 */
	notify_curl_done(n);
}

static int
notify_curl_socket(CURL *e, curl_socket_t s, int what, void *arg,
    void *sockp)
{
	struct notify	*n = arg;
	struct event	*ev = sockp;
	short		 k;

	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL)
			event_free(ev);
		curl_multi_assign(n->n_multi, s, NULL);
		return (0);
	}
	k = ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST;
	if (ev != NULL) {
		event_del(ev);
		event_assign(ev, n->n_base, s, k, notify_curl_sock_cb, n);
	} else {
		ev = event_new(n->n_base, s, k, notify_curl_sock_cb, n);
		if (ev == NULL)
			return (-1);
		curl_multi_assign(n->n_multi, s, ev);
	}
	event_add(ev, NULL);
	return (0);
}

static int
notify_curl_timer(CURLM *m, long ms, void *arg)
{
	struct notify	*n = arg;

	if (ms == -1)
		evtimer_del(n->n_curl_timer);
	else
		notify_timer(n->n_curl_timer, ms);
	return (0);
}

static size_t
nreq_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct nreq	*r = arg;
	size_t		 len = size * nmemb;

	if (r->r_resp.b_len + len <= NOTIFY_MAX_BODY)
		util_utf8_append(&r->r_resp, p, len);
	return (len);
}

static size_t
nreq_header_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct nreq	*r = arg;
	size_t		 len = size * nmemb, k = strlen("retry-after:");

	if (len > k && strncasecmp(p, "retry-after:", k) == 0) {
		free(r->r_retry_after);
		r->r_retry_after = xstrndup(p + k, len - k);
		r->r_retry_after[strcspn(r->r_retry_after, "\r\n")] = '\0';
	}
	return (len);
}

static size_t
nreq_read_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct nreq	*r = arg;
	size_t		 len = size * nmemb;

	if (len > r->r_blen - r->r_bpos)
		len = r->r_blen - r->r_bpos;
	memcpy(p, r->r_body + r->r_bpos, len);
	r->r_bpos += len;
	return (len);
}

static void
nreq_free(struct nreq *r)
{
	curl_easy_cleanup(r->r_easy);
	curl_slist_free_all(r->r_headers);
	curl_slist_free_all(r->r_rcpt);
	free(r->r_body);
	buf_free(&r->r_resp);
	free(r->r_retry_after);
	free(r);
}

/* A request with the options common to HTTP and SMTP. */
static struct nreq *
nreq_new(struct delivery *d, const char *url, notify_resp_cb cb, void *arg)
{
	struct nreq	*r;
	const char	*v, *errstr;
	int64_t		 ms = NOTIFY_HTTP_TIMEOUT;

	r = xcalloc(1, sizeof *r);
	r->r_d = d;
	r->r_cb = cb;
	r->r_arg = arg;
	if ((r->r_easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	if ((v = delivery_opt(d, "timeout")) != NULL &&
	    util_parse_duration_ms(v, &ms, &errstr) == -1)
		ms = NOTIFY_HTTP_TIMEOUT;
	curl_easy_setopt(r->r_easy, CURLOPT_URL, url);
	curl_easy_setopt(r->r_easy, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(r->r_easy, CURLOPT_ERRORBUFFER, r->r_errbuf);
	curl_easy_setopt(r->r_easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->r_easy, CURLOPT_TIMEOUT_MS, (long)ms);
	curl_easy_setopt(r->r_easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(ms < NOTIFY_CONNECT_TIMEOUT ? ms : NOTIFY_CONNECT_TIMEOUT));
	curl_easy_setopt(r->r_easy, CURLOPT_WRITEFUNCTION, nreq_write_cb);
	curl_easy_setopt(r->r_easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->r_easy, CURLOPT_HEADERFUNCTION, nreq_header_cb);
	curl_easy_setopt(r->r_easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(r->r_easy, CURLOPT_PROTOCOLS_STR,
	    "http,https,smtp,smtps");
	if ((v = delivery_opt(d, "ca_file")) != NULL)
		curl_easy_setopt(r->r_easy, CURLOPT_CAINFO, v);
	return (r);
}

/* Start r; on refusal, answer with an error from the loop. */
static void
nreq_start(struct nreq *r)
{
	struct delivery	*d = r->r_d;
	CURLMcode	 mc;

	TAILQ_INSERT_TAIL(&d->d_reqs, r, r_entry);
	if ((mc = curl_multi_add_handle(d->d_n->n_multi, r->r_easy)) !=
	    CURLM_OK) {
		/* Unlikely; make it a transport error on a later turn. */
		log_warnx("notify: curl_multi_add_handle: %s",
		    curl_multi_strerror(mc));
		curl_easy_setopt(r->r_easy, CURLOPT_URL, "http://0.0.0.0:0/");
		(void)curl_multi_add_handle(d->d_n->n_multi, r->r_easy);
	}
}

void
notify_http(struct delivery *d, const char *method, const char *url,
    const char *const *headers, const char *body, size_t blen,
    notify_resp_cb cb, void *arg)
{
	struct nreq	*r;
	size_t		 i;

	r = nreq_new(d, url, cb, arg);
	curl_easy_setopt(r->r_easy, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(r->r_easy, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(r->r_easy, CURLOPT_NOBODY, 1L);
	r->r_headers = curl_slist_append(NULL, "Expect:");
	r->r_headers = curl_slist_append(r->r_headers,
	    "User-Agent: 411-notify/" PACKAGE_VERSION);
	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		r->r_headers = curl_slist_append(r->r_headers, headers[i]);
	curl_easy_setopt(r->r_easy, CURLOPT_HTTPHEADER, r->r_headers);
	if (body != NULL) {
		r->r_body = xmemdup(body, blen + 1);
		r->r_body[blen] = '\0';
		r->r_blen = blen;
		curl_easy_setopt(r->r_easy, CURLOPT_POSTFIELDS, r->r_body);
		curl_easy_setopt(r->r_easy, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)blen);
	}
	nreq_start(r);
}

void
notify_smtp(struct delivery *d, const char *url, const char *from,
    const char *const *rcpt, const char *msg, size_t len,
    notify_resp_cb cb, void *arg)
{
	struct nreq	*r;
	const char	*v;
	char		*s;
	size_t		 i;

	r = nreq_new(d, url, cb, arg);
	s = xprintf("<%s>", from);
	curl_easy_setopt(r->r_easy, CURLOPT_MAIL_FROM, s);
	free(s);
	for (i = 0; rcpt != NULL && rcpt[i] != NULL; i++) {
		s = xprintf("<%s>", rcpt[i]);
		r->r_rcpt = curl_slist_append(r->r_rcpt, s);
		free(s);
	}
	curl_easy_setopt(r->r_easy, CURLOPT_MAIL_RCPT, r->r_rcpt);
	if ((v = delivery_opt(d, "user")) != NULL)
		curl_easy_setopt(r->r_easy, CURLOPT_USERNAME, v);
	if ((v = delivery_opt(d, "password")) != NULL)
		curl_easy_setopt(r->r_easy, CURLOPT_PASSWORD, v);
	v = delivery_opt(d, "starttls");
	if (v != NULL && (strcmp(v, "yes") == 0 || strcmp(v, "on") == 0 ||
	    strcmp(v, "true") == 0))
		curl_easy_setopt(r->r_easy, CURLOPT_USE_SSL,
		    (long)CURLUSESSL_ALL);
	else if (v == NULL || strcmp(v, "no") != 0)
		curl_easy_setopt(r->r_easy, CURLOPT_USE_SSL,
		    (long)CURLUSESSL_TRY);
	r->r_body = xmemdup(msg, len + 1);
	r->r_blen = len;
	curl_easy_setopt(r->r_easy, CURLOPT_READFUNCTION, nreq_read_cb);
	curl_easy_setopt(r->r_easy, CURLOPT_READDATA, r);
	curl_easy_setopt(r->r_easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(r->r_easy, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)len);
	nreq_start(r);
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

/*
 * Accessors.
 */
const struct json *
delivery_payload(const struct delivery *d)
{
	return (d->d_payload);
}

const char *
delivery_event_id(const struct delivery *d)
{
	return (d->d_eid);
}

const char *
delivery_event_type(const struct delivery *d)
{
	return (d->d_etype);
}

const struct config_target *
delivery_target(const struct delivery *d)
{
	return (d->d_target);
}

const char *
delivery_opt(const struct delivery *d, const char *name)
{
	if (d->d_target == NULL)
		return (NULL);
	return (config_target_opt(d->d_target, name));
}

struct event_base *
delivery_base(const struct delivery *d)
{
	return (d->d_n->n_base);
}

int
delivery_attempt(const struct delivery *d)
{
	return (d->d_attempt);
}

void
delivery_set_state(struct delivery *d, void *st, void (*fn)(void *))
{
	if (d->d_state != NULL && d->d_state_free != NULL &&
	    d->d_state != st)
		d->d_state_free(d->d_state);
	d->d_state = st;
	d->d_state_free = fn;
}

void *
delivery_state(const struct delivery *d)
{
	return (d->d_state);
}

/*
 * Redis.
 */
static int
notify_cmd(struct notify *n, queue_reply_cb cb, void *arg, int argc,
    const char **argv)
{
	size_t	*argl;
	int	 i, rc;

	argl = xcalloc(argc, sizeof *argl);
	for (i = 0; i < argc; i++)
		argl[i] = strlen(argv[i]);
	rc = queue_command(n->n_cq, cb, arg, argc, argv, argl);
	free(argl);
	return (rc);
}

/* The result of a delivery on 411:delivery (no answer awaited). */
static int
delivery_report(struct delivery *d, const char *result, int64_t retry_ms)
{
	struct notify	*n = d->d_n;
	yajl_gen	 g;
	struct buf	 b = BUF_INIT;
	uint64_t	 ids[NOTIFY_MAX_ALERTS];
	size_t		 nids, i, argl[14];
	const char	*argv[14];
	char		*rid;
	int		 rc;

	g = jgen_new();
	yajl_gen_map_open(g);
	jgen_kstr(g, "schema", "411.delivery.v1");
	jgen_kstr(g, "event_id", d->d_eid);
	jgen_kstr(g, "event_type", d->d_etype);
	jgen_kstr(g, "result", result);
	jgen_str(g, "target");
	yajl_gen_map_open(g);
	jgen_kstr(g, "name", d->d_target != NULL ? d->d_target->ct_name :
	    notify_str(d->d_payload, "target.name"));
	jgen_kstr(g, "type", n->n_type);
	yajl_gen_map_close(g);
	jgen_kint(g, "attempt", d->d_attempt);
	jgen_kstr(g, "reference", d->d_ref);
	jgen_kstr(g, "error", d->d_err);
	jgen_ktime(g, "at", util_now_ms());
	if (retry_ms >= 0)
		jgen_ktime(g, "retry_at", util_now_ms() + retry_ms);
	jgen_kstr(g, "worker", n->n_consumer);
	jgen_kstr(g, "stream_id", d->d_sid);
	jgen_str(g, "alert_ids");
	yajl_gen_array_open(g);
	nids = notify_alert_ids(d->d_payload, ids, NOTIFY_MAX_ALERTS);
	for (i = 0; i < nids; i++)
		jgen_int(g, (int64_t)ids[i]);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	jgen_take(g, &b);
	yajl_gen_free(g);

	rid = xprintf("%s/%s/%d/%s", d->d_eid, n->n_type, d->d_attempt,
	    result);
	argv[0] = "XADD";	argv[1] = n->n_key_result;
	argv[2] = "MAXLEN";	argv[3] = "~";
	argv[4] = NOTIFY_STREAM_MAXLEN;
	argv[5] = "*";
	argv[6] = "v";		argv[7] = "1";
	argv[8] = "type";	argv[9] = "delivery";
	argv[10] = "id";	argv[11] = rid;
	argv[12] = "payload";	argv[13] = b.b_data;
	for (i = 0; i < 13; i++)
		argl[i] = strlen(argv[i]);
	argl[13] = b.b_len;
	rc = queue_command(n->n_cq, NULL, NULL, 14, argv, argl);
	free(rid);
	buf_free(&b);
	return (rc);
}

static void
delivery_again_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct delivery	*d = arg;

	if (d->d_phase == PH_WAITING)
		delivery_start(d);
	else if (d->d_phase == PH_FINISHING && d->d_acking)
		delivery_ack(d);
	else if (d->d_phase == PH_FINISHING)
		delivery_finish(d);
}

/* XACK answered: the delivery is over. */
static void
delivery_acked_cb(void *arg, redisReply *r, const char *err)
{
	struct delivery	*d = arg;

	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		log_warnx("notify: %s: XACK %s failed: %s", d->d_n->n_type,
		    d->d_sid, r != NULL ? r->str : err);
		if (!d->d_n->n_stopping) {
			notify_timer(d->d_timer, NOTIFY_AGAIN_MS);
			return;
		}
	}
	delivery_free(d);
}

/* The result is written; acknowledge. */
static void
delivery_ack(struct delivery *d)
{
	struct notify	*n = d->d_n;
	const char	*argv[4];

	d->d_acking = 1;
	argv[0] = "XACK";
	argv[1] = n->n_key;
	argv[2] = n->n_type;
	argv[3] = d->d_sid;
	if (notify_cmd(n, delivery_acked_cb, d, 4, argv) == -1) {
		if (n->n_stopping)
			delivery_free(d);
		else
			notify_timer(d->d_timer, NOTIFY_AGAIN_MS);
	}
}

/* The dead letter is written (or not). */
static void
delivery_dead_cb(void *arg, redisReply *r, const char *err)
{
	struct delivery	*d = arg;

	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		log_warnx("notify: %s: dead letter for %s failed: %s",
		    d->d_n->n_type, d->d_sid, r != NULL ? r->str : err);
		if (d->d_n->n_stopping)
			delivery_free(d);
		else
			notify_timer(d->d_timer, NOTIFY_AGAIN_MS);
		return;
	}
	d->d_dead = 1;
	(void)delivery_report(d, "dead", -1);
	delivery_ack(d);
}

/* Write what is left to write for an ended delivery, then XACK. */
static void
delivery_finish(struct delivery *d)
{
	struct notify	*n = d->d_n;
	const char	*argv[20];
	char		 attempts[16];
	int		 argc = 0;

	if (d->d_result == DELIVERY_OK || d->d_result == DELIVERY_SKIPPED) {
		if (delivery_report(d, d->d_result == DELIVERY_OK ?
		    "delivered" : "skipped", -1) == -1) {
			if (n->n_stopping)
				delivery_free(d);
			else
				notify_timer(d->d_timer, NOTIFY_AGAIN_MS);
			return;
		}
		delivery_ack(d);
		return;
	}
	if (d->d_dead) {
		(void)delivery_report(d, "dead", -1);
		delivery_ack(d);
		return;
	}
	snprintf(attempts, sizeof attempts, "%d", d->d_attempt);
	argv[argc++] = "XADD";
	argv[argc++] = n->n_key_dead;
	argv[argc++] = "MAXLEN";
	argv[argc++] = "~";
	argv[argc++] = NOTIFY_STREAM_MAXLEN;
	argv[argc++] = "*";
	argv[argc++] = "v";
	argv[argc++] = "1";
	argv[argc++] = "type";
	argv[argc++] = d->d_etype;
	argv[argc++] = "id";
	argv[argc++] = d->d_eid;
	argv[argc++] = "target";
	argv[argc++] = d->d_target != NULL ? d->d_target->ct_name : "";
	argv[argc++] = "error";
	argv[argc++] = d->d_err != NULL ? d->d_err : "failed";
	argv[argc++] = "attempts";
	argv[argc++] = attempts;
	argv[argc++] = "entry";
	argv[argc++] = d->d_sid;
	{
		const char	*av[22];
		size_t		 al[22];
		int		 i;

		for (i = 0; i < argc; i++) {
			av[i] = argv[i];
			al[i] = strlen(argv[i]);
		}
		av[argc] = "payload";
		al[argc] = 7;
		av[argc + 1] = d->d_raw;
		al[argc + 1] = d->d_rawlen;
		if (queue_command(n->n_cq, delivery_dead_cb, d, argc + 2, av,
		    al) == -1) {
			if (n->n_stopping)
				delivery_free(d);
			else
				notify_timer(d->d_timer, NOTIFY_AGAIN_MS);
		}
	}
}

void
delivery_done(struct delivery *d, enum delivery_result res, const char *ref,
    const char *err, const char *retry_after)
{
	struct notify	*n = d->d_n;
	int64_t		 ms, ra;

	if (d->d_phase != PH_WORKING) {
		log_warnx("notify: %s: delivery_done twice for %s", n->n_type,
		    d->d_sid);
		return;
	}
	{
		char	*nref = ref != NULL ? xstrdup(ref) : NULL;
		char	*nerr = err != NULL ? xstrdup(err) : NULL;

		free(d->d_ref);
		free(d->d_err);
		d->d_ref = nref;
		d->d_err = nerr;
		err = d->d_err;
		ref = d->d_ref;
	}
	d->d_result = res;
	if (res == DELIVERY_RETRY &&
	    d->d_attempt < n->n_cfg->c_notify_retries) {
		ms = notify_backoff_ms(d->d_attempt,
		    n->n_cfg->c_notify_retry_min,
		    n->n_cfg->c_notify_retry_max, util_random());
		ra = notify_retry_after_ms(retry_after, util_now_ms());
		if (ra > ms)
			ms = ra;
		if (ms > n->n_cfg->c_notify_retry_max)
			ms = n->n_cfg->c_notify_retry_max;
		log_info("notify: %s: %s to %s: try %d failed (%s); again "
		    "in %lld ms", n->n_type, d->d_eid, d->d_target->ct_name,
		    d->d_attempt, err != NULL ? err : "error", (long long)ms);
		(void)delivery_report(d, "retrying", ms);
		if (n->n_stopping) {
			/* Left pending for another worker or the next start. */
			delivery_free(d);
			notify_check_stop(n);
			return;
		}
		d->d_phase = PH_WAITING;
		notify_timer(d->d_timer, ms);
		return;
	}
	if (res == DELIVERY_SKIPPED)
		log_info("notify: %s: %s (%s) to %s skipped: %s", n->n_type,
		    d->d_eid, d->d_etype, d->d_target->ct_name,
		    err != NULL ? err : "not for this target");
	else if (res == DELIVERY_OK)
		log_debug("notify: %s: %s delivered to %s%s%s", n->n_type,
		    d->d_eid, d->d_target->ct_name, ref != NULL ? " as " : "",
		    ref != NULL ? ref : "");
	else
		log_warnx("notify: %s: %s to %s: giving up after try %d: %s",
		    n->n_type, d->d_eid, d->d_target != NULL ?
		    d->d_target->ct_name : "?", d->d_attempt,
		    err != NULL ? err : "failed");
	d->d_phase = PH_FINISHING;
	delivery_finish(d);
}

/* A try: hand the job to the target. */
static void
delivery_start(struct delivery *d)
{
	d->d_attempt++;
	d->d_phase = PH_WORKING;
	if (d->d_ops == NULL) {
		delivery_done(d, DELIVERY_FAILED, NULL, d->d_err != NULL ?
		    d->d_err : "bad job", NULL);
		return;
	}
	d->d_ops->to_deliver(d);
}

static void
delivery_free(struct delivery *d)
{
	struct notify	*n = d->d_n;
	struct nreq	*r;

	while ((r = TAILQ_FIRST(&d->d_reqs)) != NULL) {
		TAILQ_REMOVE(&d->d_reqs, r, r_entry);
		curl_multi_remove_handle(n->n_multi, r->r_easy);
		nreq_free(r);
	}
	if (d->d_state != NULL && d->d_state_free != NULL)
		d->d_state_free(d->d_state);
	hmap_del(n->n_map, d->d_sid, strlen(d->d_sid));
	TAILQ_REMOVE(&n->n_deliveries, d, d_entry);
	n->n_count--;
	event_free(d->d_timer);
	json_free(d->d_payload);
	free(d->d_sid);
	free(d->d_eid);
	free(d->d_etype);
	free(d->d_raw);
	free(d->d_ref);
	free(d->d_err);
	free(d);
	if (n->n_stopping)
		notify_check_stop(n);
	else
		notify_read(n);
}

/* A stream entry [id, [field, value, ...]] becomes a delivery. */
static void
notify_entry(struct notify *n, redisReply *e)
{
	struct delivery		*d;
	redisReply		*f;
	const char		*name, *ttype;
	char			 err[256];
	size_t			 i;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (hmap_get(n->n_map, e->element[0]->str, e->element[0]->len) !=
	    NULL)
		return;		/* ours already */
	d = xcalloc(1, sizeof *d);
	d->d_n = n;
	d->d_sid = xstrdup(e->element[0]->str);
	TAILQ_INIT(&d->d_reqs);
	if ((d->d_timer = evtimer_new(n->n_base, delivery_again_cb, d)) ==
	    NULL)
		fatalx("notify: evtimer_new");
	hmap_put(n->n_map, d->d_sid, strlen(d->d_sid), d);
	TAILQ_INSERT_TAIL(&n->n_deliveries, d, d_entry);
	n->n_count++;

	f = e->element[1];
	for (i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements;
	    i += 2) {
		if (f->element[i]->type != REDIS_REPLY_STRING ||
		    f->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(f->element[i]->str, "id") == 0 && d->d_eid == NULL)
			d->d_eid = xstrdup(f->element[i + 1]->str);
		else if (strcmp(f->element[i]->str, "type") == 0 &&
		    d->d_etype == NULL)
			d->d_etype = xstrdup(f->element[i + 1]->str);
		else if (strcmp(f->element[i]->str, "payload") == 0 &&
		    d->d_raw == NULL) {
			d->d_raw = xmemdup(f->element[i + 1]->str,
			    f->element[i + 1]->len + 1);
			d->d_rawlen = f->element[i + 1]->len;
		}
	}
	if (d->d_eid == NULL)
		d->d_eid = xstrdup(d->d_sid);
	if (d->d_etype == NULL)
		d->d_etype = xstrdup("unknown");
	if (d->d_raw == NULL) {
		d->d_raw = xstrdup("");
		d->d_err = xstrdup("entry without a payload");
	} else if ((d->d_payload = json_parse(d->d_raw, d->d_rawlen, err,
	    sizeof err)) == NULL || d->d_payload->j_type != JSON_OBJECT)
		d->d_err = xprintf("payload: %s", d->d_payload == NULL ? err :
		    "not an object");
	else if ((name = notify_str(d->d_payload, "target.name")) == NULL)
		d->d_err = xstrdup("payload without target.name");
	else if ((d->d_target = config_target(n->n_cfg, name)) == NULL)
		d->d_err = xprintf("unknown target \"%s\"", name);
	else if (strcmp(d->d_target->ct_type, n->n_type) != 0 ||
	    ((ttype = notify_str(d->d_payload, "target.type")) != NULL &&
	    strcmp(ttype, n->n_type) != 0)) {
		d->d_err = xprintf("target \"%s\" is not of type %s", name,
		    n->n_type);
		d->d_target = NULL;
	} else
		d->d_ops = n->n_ops;
	if (d->d_payload == NULL)
		d->d_payload = json_new(JSON_OBJECT);
	log_debug("notify: %s: entry %s event %s (%s)", n->n_type, d->d_sid,
	    d->d_eid, d->d_etype);
	delivery_start(d);
}

/* Entries of an XREADGROUP / XAUTOCLAIM list. */
static size_t
notify_entries(struct notify *n, redisReply *list, char **last)
{
	redisReply	*e;
	const char	*argv[4];
	size_t		 i;

	for (i = 0; i < list->elements; i++) {
		e = list->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING)
			continue;
		if (last != NULL) {
			free(*last);
			*last = xstrdup(e->element[0]->str);
		}
		if (e->element[1]->type != REDIS_REPLY_ARRAY) {
			/* Deleted or trimmed while pending: drop it. */
			argv[0] = "XACK";
			argv[1] = n->n_key;
			argv[2] = n->n_type;
			argv[3] = e->element[0]->str;
			(void)notify_cmd(n, NULL, NULL, 4, argv);
			continue;
		}
		notify_entry(n, e);
	}
	return (list->elements);
}

static void
notify_read_cb(void *arg, redisReply *r, const char *err)
{
	struct notify	*n = arg;
	redisReply	*s;
	size_t		 got = 0;

	n->n_reading = 0;
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		if (r != NULL && strncmp(r->str, "NOGROUP", 7) == 0)
			n->n_group = n->n_group_sent = 0;
		if (!n->n_stopping) {
			log_warnx("notify: %s: XREADGROUP: %s", n->n_type,
			    r != NULL ? r->str : err);
			notify_timer(n->n_read_ev, NOTIFY_AGAIN_MS);
		}
		notify_check_stop(n);
		return;
	}
	if (n->n_stopping) {
		/* What came is left pending, in our list. */
		notify_check_stop(n);
		return;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    (s = r->element[0])->type == REDIS_REPLY_ARRAY &&
	    s->elements == 2 && s->element[1]->type == REDIS_REPLY_ARRAY)
		got = notify_entries(n, s->element[1],
		    n->n_pending_phase ? &n->n_pending_from : NULL);
	if (n->n_pending_phase && got == 0) {
		n->n_pending_phase = 0;
		log_debug("notify: %s: own pending entries done", n->n_type);
	}
	notify_read(n);
}

static void
notify_group_cb(void *arg, redisReply *r, const char *err)
{
	struct notify	*n = arg;

	n->n_group_sent = 0;
	if (r == NULL || (r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "BUSYGROUP", 9) != 0)) {
		log_warnx("notify: %s: XGROUP CREATE: %s", n->n_type,
		    r != NULL ? r->str : err);
		notify_timer(n->n_read_ev, NOTIFY_AGAIN_MS);
		return;
	}
	n->n_group = 1;
	notify_read(n);
}

/* Issue the next read if there is room. */
static void
notify_read(struct notify *n)
{
	const char	*argv[12];
	char		 count[16];
	int		 argc = 0;
	size_t		 room, argl[12], i;

	if (n->n_stopping || n->n_reading)
		return;
	if (!n->n_group) {
		if (n->n_group_sent || !queue_up(n->n_cq))
			return;
		argv[0] = "XGROUP";	argv[1] = "CREATE";
		argv[2] = n->n_key;	argv[3] = n->n_type;
		argv[4] = "0";		argv[5] = "MKSTREAM";
		if (notify_cmd(n, notify_group_cb, n, 6, argv) == 0)
			n->n_group_sent = 1;
		return;
	}
	if (!queue_up(n->n_rq))
		return;
	if (n->n_count >= (size_t)n->n_cfg->c_notify_concurrency)
		return;
	room = n->n_cfg->c_notify_concurrency - n->n_count;
	snprintf(count, sizeof count, "%zu",
	    room < NOTIFY_READ_COUNT ? room : NOTIFY_READ_COUNT);
	argv[argc++] = "XREADGROUP";
	argv[argc++] = "GROUP";
	argv[argc++] = n->n_type;
	argv[argc++] = n->n_consumer;
	argv[argc++] = "COUNT";
	argv[argc++] = count;
	if (!n->n_pending_phase) {
		argv[argc++] = "BLOCK";
		argv[argc++] = NOTIFY_BLOCK_MS;
	}
	argv[argc++] = "STREAMS";
	argv[argc++] = n->n_key;
	argv[argc++] = n->n_pending_phase ? n->n_pending_from : ">";
	for (i = 0; i < (size_t)argc; i++)
		argl[i] = strlen(argv[i]);
	if (queue_command(n->n_rq, notify_read_cb, n, argc, argv, argl) == 0)
		n->n_reading = 1;
}

static void
notify_read_ev_cb(evutil_socket_t fd, short ev, void *arg)
{
	notify_read(arg);
}

static void
notify_rq_state(void *arg, int up)
{
	struct notify	*n = arg;

	if (up) {
		/* After every (re)connect: our own pending entries first. */
		n->n_pending_phase = 1;
		free(n->n_pending_from);
		n->n_pending_from = xstrdup("0");
		log_info("notify: %s: redis connected", n->n_type);
		notify_read(n);
	} else
		log_warnx("notify: %s: redis: %s", n->n_type,
		    queue_error(n->n_rq) != NULL ? queue_error(n->n_rq) :
		    "disconnected");
}

static void
notify_cq_state(void *arg, int up)
{
	struct notify	*n = arg;

	if (up) {
		n->n_group_sent = 0;
		notify_read(n);
	}
}

static void
notify_claim_cb(void *arg, redisReply *r, const char *err)
{
	struct notify	*n = arg;

	n->n_claiming = 0;
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		if (r != NULL && strncmp(r->str, "NOGROUP", 7) == 0)
			n->n_group = 0;
		log_debug("notify: %s: XAUTOCLAIM: %s", n->n_type,
		    r != NULL ? r->str : err);
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return;
	free(n->n_claim_cursor);
	n->n_claim_cursor = xstrdup(r->element[0]->str);
	if (n->n_stopping)
		return;		/* they stay pending, now ours */
	if (r->element[1]->type == REDIS_REPLY_ARRAY &&
	    r->element[1]->elements > 0) {
		log_info("notify: %s: took over %zu idle entries", n->n_type,
		    r->element[1]->elements);
		notify_entries(n, r->element[1], NULL);
	}
	/* r->element[2] (7.0): ids deleted while pending, already dropped. */
}

/* Keep ours fresh, take over what others left idle. */
static void
notify_claim_ev_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct notify	*n = arg;
	struct delivery	*d;
	const char	**argv;
	char		 idle[32];
	size_t		 argc, max;

	if (n->n_stopping || !n->n_group || !queue_up(n->n_cq))
		return;
	if (n->n_count > 0) {
		max = n->n_count + 6;
		argv = xcalloc(max, sizeof *argv);
		argc = 0;
		argv[argc++] = "XCLAIM";
		argv[argc++] = n->n_key;
		argv[argc++] = n->n_type;
		argv[argc++] = n->n_consumer;
		argv[argc++] = "0";
		TAILQ_FOREACH(d, &n->n_deliveries, d_entry)
			argv[argc++] = d->d_sid;
		argv[argc++] = "JUSTID";
		(void)notify_cmd(n, NULL, NULL, (int)argc, argv);
		free(argv);
	}
	if (n->n_claiming ||
	    n->n_count >= (size_t)n->n_cfg->c_notify_concurrency)
		return;
	snprintf(idle, sizeof idle, "%lld",
	    (long long)n->n_cfg->c_notify_claim_idle);
	{
		const char *av[] = { "XAUTOCLAIM", n->n_key, n->n_type,
		    n->n_consumer, idle, n->n_claim_cursor, "COUNT",
		    NOTIFY_CLAIM_COUNT };

		if (notify_cmd(n, notify_claim_cb, n, 8, av) == 0)
			n->n_claiming = 1;
	}
}

struct notify *
notify_new(struct event_base *base, const struct config *cfg,
    const char *type, const char *consumer)
{
	struct notify		*n;
	struct queue_opts	 qo;
	struct timeval		 tv;
	int64_t			 every;
	char			*name;

	n = xcalloc(1, sizeof *n);
	n->n_base = base;
	n->n_cfg = cfg;
	n->n_ops = notify_type(type);
	n->n_type = xstrdup(type);
	n->n_consumer = xstrdup(consumer);
	n->n_key = xprintf("%snotify:%s", cfg->c_redis_prefix, type);
	n->n_key_dead = xprintf("%snotify:dead", cfg->c_redis_prefix);
	n->n_key_result = xprintf("%sdelivery", cfg->c_redis_prefix);
	n->n_map = hmap_new();
	TAILQ_INIT(&n->n_deliveries);
	n->n_pending_phase = 1;
	n->n_pending_from = xstrdup("0");
	n->n_claim_cursor = xstrdup("0-0");

	if ((n->n_multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	curl_multi_setopt(n->n_multi, CURLMOPT_SOCKETFUNCTION,
	    notify_curl_socket);
	curl_multi_setopt(n->n_multi, CURLMOPT_SOCKETDATA, n);
	curl_multi_setopt(n->n_multi, CURLMOPT_TIMERFUNCTION,
	    notify_curl_timer);
	curl_multi_setopt(n->n_multi, CURLMOPT_TIMERDATA, n);
	n->n_curl_timer = evtimer_new(base, notify_curl_timeout_cb, n);
	n->n_read_ev = evtimer_new(base, notify_read_ev_cb, n);
	n->n_claim_ev = event_new(base, -1, EV_PERSIST, notify_claim_ev_cb,
	    n);
	if (n->n_curl_timer == NULL || n->n_read_ev == NULL ||
	    n->n_claim_ev == NULL)
		fatalx("notify: cannot create events");

	memset(&qo, 0, sizeof qo);
	qo.qo_host = cfg->c_redis_host;
	qo.qo_port = cfg->c_redis_port;
	qo.qo_unix = cfg->c_redis_unix;
	qo.qo_password = cfg->c_redis_password;
	name = xprintf("411-notify-%s-%s-read", type, consumer);
	qo.qo_name = name;
	n->n_rq = queue_new(base, &qo, notify_rq_state, n);
	free(name);
	name = xprintf("411-notify-%s-%s", type, consumer);
	qo.qo_name = name;
	n->n_cq = queue_new(base, &qo, notify_cq_state, n);
	free(name);

	every = cfg->c_notify_claim_idle / 2;
	if (every < 200)
		every = 200;
	if (every > 30000)
		every = 30000;
	tv.tv_sec = every / 1000;
	tv.tv_usec = (every % 1000) * 1000;
	event_add(n->n_claim_ev, &tv);
	return (n);
}

void
notify_set_config(struct notify *n, const struct config *cfg)
{
	n->n_cfg = cfg;
	notify_read(n);
}

/* Stopping: done when no try is under way and no result in flight. */
static void
notify_check_stop(struct notify *n)
{
	struct delivery	*d, *next;
	void		(*cb)(void *);

	if (!n->n_stopping || n->n_stop_cb == NULL)
		return;
	/* Deliveries only waiting to retry stay pending. */
	for (d = TAILQ_FIRST(&n->n_deliveries); d != NULL; d = next) {
		next = TAILQ_NEXT(d, d_entry);
		if (d->d_phase == PH_WAITING) {
			evtimer_del(d->d_timer);
			d->d_phase = PH_DEAD;
			delivery_free(d);
			return;		/* delivery_free called us again */
		}
	}
	if (n->n_count > 0 || n->n_reading)
		return;
	cb = n->n_stop_cb;
	n->n_stop_cb = NULL;
	cb(n->n_stop_arg);
}

static void
notify_grace_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct notify	*n = arg;
	void		(*cb)(void *);

	if (n->n_stop_cb == NULL)
		return;
	log_warnx("notify: %s: %zu deliveries unfinished at the deadline; "
	    "they stay pending", n->n_type, n->n_count);
	cb = n->n_stop_cb;
	n->n_stop_cb = NULL;
	cb(n->n_stop_arg);
}

void
notify_stop(struct notify *n, int64_t grace_ms, void (*cb)(void *),
    void *arg)
{
	n->n_stopping = 1;
	n->n_stop_cb = cb;
	n->n_stop_arg = arg;
	event_del(n->n_claim_ev);
	evtimer_del(n->n_read_ev);
	n->n_grace_ev = evtimer_new(n->n_base, notify_grace_cb, n);
	notify_timer(n->n_grace_ev, grace_ms);
	/*
	 * A blocked XREADGROUP answers within NOTIFY_BLOCK_MS; what it
	 * brings is left pending (in our list, for the next start or for
	 * XAUTOCLAIM elsewhere).
	 */
	notify_check_stop(n);
}

void
notify_free(struct notify *n)
{
	struct delivery	*d;

	if (n == NULL)
		return;
	n->n_stopping = 1;
	n->n_stop_cb = NULL;
	/* The queues call back with "queue closed": n must still be whole. */
	queue_free(n->n_rq);
	n->n_rq = NULL;
	queue_free(n->n_cq);
	n->n_cq = NULL;
	while ((d = TAILQ_FIRST(&n->n_deliveries)) != NULL)
		delivery_free(d);
	curl_multi_cleanup(n->n_multi);
	event_free(n->n_curl_timer);
	event_free(n->n_read_ev);
	event_free(n->n_claim_ev);
	if (n->n_grace_ev != NULL)
		event_free(n->n_grace_ev);
	hmap_free(n->n_map);
	free(n->n_type);
	free(n->n_consumer);
	free(n->n_key);
	free(n->n_key_dead);
	free(n->n_key_result);
	free(n->n_pending_from);
	free(n->n_claim_cursor);
	free(n);
}
