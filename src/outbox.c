/*
 * outbox.c -- events committed with the runs, and the pump that moves them
 * to Redis.
 *
 * An outbox entry (STORE_OUTBOX, key be64 seq) is one stream entry to add:
 *
 *	u8  flags (1: also PUBLISH the payload on the events channel)
 *	be64 ms when it was committed (not sent: Redis picks the stream id)
 *	be16 length + the stream name after the prefix ("events",
 *	    "notify:webhook")
 *	be16 length + the event type
 *	be16 length + the event id
 *	the payload (JSON), to the end
 *
 * seq comes from the store's "outbox" counter, which is committed with
 * the entry and never goes back, so a seq is never reused in a datadir.
 *
 * Idempotency (CONTRACT 6).  Each stream has, per datadir, a high-water
 * mark in Redis: the highest seq added to it,
 *
 *	PREFIX "outbox:hwm:" DATADIR_ID ":{" TAG "}"
 *
 * where DATADIR_ID is the store's random id (store_instance(), made with
 * the datadir and kept in it; the default producer.instance) and TAG the
 * part of the stream key Redis Cluster hashes (the whole key "411:events"
 * unless the prefix carries a hash tag such as "{411}:").  The stream
 * names are fixed by the contract and carry no tag of their own, so the
 * mark takes the stream's: both keys of one call are in one hash slot.
 * The mark belongs to the datadir, not to the name given by "instance":
 * renaming an instance keeps its mark, and two datadirs under one name
 * (a mistake, or a datadir made anew) never skip each other's events.
 * One Lua script (outbox_script), run with EVALSHA, does for one entry,
 * atomically: seq <= mark: nothing, answer 0 (a resend after a crash or
 * a lost reply); else XADD with an id Redis picks ("*"), PUBLISH if the
 * entry says so, mark = seq, answer the new stream id.  Nothing is
 * inferred from the stream's ids: other writers (a second 411d, a
 * custom tool) may add what they like.
 *
 * Order.  The pump reads entries in seq order and sends them pipelined,
 * up to OUTBOX_BATCH at a time, on one connection, where Redis runs them
 * in order.  Each carries the seq sent last before it to the same stream
 * in this pass (0 for the first); the script refuses with OUTBOXGAP an
 * entry whose predecessor is above the mark, i.e. was not added (it
 * failed, or met NOSCRIPT): without that, a later entry could raise the
 * mark past an earlier one that would then be skipped for good.  A pass
 * starts from the lowest seq left in the store (at connect, after a
 * retry), so everything before an entry's first predecessor is in.
 *
 * A new pass voids the replies still due to the one before (counted, not
 * acted on); what they added is resent and skipped.  The script is loaded
 * with SCRIPT LOAD on each connection, ahead of the first EVALSHA.  On
 * NOSCRIPT (SCRIPT FLUSH, a failover) the pump starts a pass at once, its
 * first entry sent with EVAL, which caches the script again.  Any other
 * error (WRONGTYPE, OUTBOXGAP, a read-only replica) is logged in Redis's
 * words and blocks the pump for OUTBOX_RETRY_MS, then a pass.
 * Entries Redis added or skipped are deleted in batched transactions;
 * when the connection drops everything not yet deleted is sent again.
 * outbox_sent() counts adds only, outbox_duplicates() the skips.
 *
 * Test hook: with FOUR11_TEST_OUTBOX_KEEP set in the environment, sent
 * entries are never deleted (as if 411d always crashed before the
 * delete), so tests can replay them.  Not for production.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/sha.h>

#include "alert.h"
#include "buf.h"
#include "config.h"
#include "digest.h"
#include "json.h"
#include "log.h"
#include "outbox.h"
#include "queue.h"
#include "search.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define OUTBOX_RETRY_MS		5000	/* after Redis refused an entry */
#define OUTBOX_GAP_TEXT		"OUTBOXGAP"

/*
 * KEYS: the stream, its high-water mark.  ARGV: seq, the seq sent last
 * before it to this stream (0: none), publish ("1"/"0"), the channel,
 * type, event id, payload.  Answers 0 (a duplicate) or the stream id.
 * XADD's own errors are answered as they are (pcall).
 */
static const char outbox_script[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local hwm = tonumber(redis.call('GET', KEYS[2]) or '0') or 0\n"
    "if tonumber(ARGV[1]) <= hwm then return 0 end\n"
    "if tonumber(ARGV[2]) > hwm then\n"
    "  return redis.error_reply('" OUTBOX_GAP_TEXT " entry ' .. ARGV[2] ..\n"
    "    ' of ' .. KEYS[1] .. ' is not in: ' .. ARGV[1] .. ' waits')\n"
    "end\n"
    "local id = redis.pcall('XADD', KEYS[1], '*', 'v', '1', 'type',\n"
    "  ARGV[5], 'id', ARGV[6], 'payload', ARGV[7])\n"
    "if type(id) == 'table' then return id end\n"
    "redis.call('SET', KEYS[2], ARGV[1])\n"
    "if ARGV[3] == '1' then redis.call('PUBLISH', ARGV[4], ARGV[7]) end\n"
    "return id\n";

struct outbox_send {
	struct outbox	*s_ob;
	uint64_t	 s_seq;
	uint32_t	 s_gen;		/* pass generation */
};

/* One stream written to, and what this pass sent to it last. */
struct outbox_stream {
	char		*os_key;	/* PREFIX + name */
	char		*os_hwm;	/* its high-water mark key */
	uint64_t	 os_last;	/* seq sent last in this pass, or 0 */
};

struct outbox {
	struct event_base	*o_base;
	struct store		*o_store;
	struct queue		*o_queue;
	char			*o_prefix;
	char			*o_instance;
	char			*o_base_url;
	const struct config	*o_cfg;
	struct event		*o_pump_ev;
	struct event		*o_retry_ev;
	uint64_t		 o_cursor;	/* next seq to send */
	size_t			 o_inflight;
	uint32_t		 o_gen;
	int			 o_blocked;	/* waiting after a refusal */
	int			 o_eval;	/* next one with EVAL */
	int			 o_keep;	/* test hook: never delete */
	char			 o_sha[SHA_DIGEST_LENGTH * 2 + 1];
	struct outbox_stream	*o_streams;
	size_t			 o_nstreams;
	uint64_t		*o_done;	/* sent, to delete */
	size_t			 o_ndone;
	size_t			 o_donecap;
	int			 o_deleting;
	uint64_t		 o_added;	/* entries Redis added */
	uint64_t		 o_dups;	/* ... and skipped as resent */
};

static void	outbox_pump_cb(evutil_socket_t, short, void *);
static void	outbox_retry_cb(evutil_socket_t, short, void *);
static void	outbox_reply_cb(void *, redisReply *, const char *);
static void	outbox_flush_done(struct outbox *);
static void	outbox_mark_sent(struct outbox *, uint64_t);
static struct outbox_stream *outbox_stream(struct outbox *, const char *,
		    size_t);

/* A pump for store, sending through q. */
struct outbox *
outbox_new(struct event_base *base, struct store *store, struct queue *q,
    const struct outbox_opts *opts)
{
	struct outbox	*ob;
	uint8_t		 sha[SHA_DIGEST_LENGTH];

	ob = xcalloc(1, sizeof *ob);
	ob->o_base = base;
	ob->o_store = store;
	ob->o_queue = q;
	ob->o_prefix = xstrdup(opts->oo_prefix != NULL ? opts->oo_prefix :
	    "411:");
	ob->o_instance = xstrdup(opts->oo_instance != NULL ?
	    opts->oo_instance : store_instance(store));
	if (opts->oo_base_url != NULL)
		ob->o_base_url = xstrdup(opts->oo_base_url);
	ob->o_cfg = opts->oo_cfg;
	ob->o_pump_ev = event_new(base, -1, 0, outbox_pump_cb, ob);
	ob->o_retry_ev = evtimer_new(base, outbox_retry_cb, ob);
	SHA1((const unsigned char *)outbox_script, strlen(outbox_script),
	    sha);
	util_hex(sha, sizeof sha, ob->o_sha);
	ob->o_keep = getenv("FOUR11_TEST_OUTBOX_KEEP") != NULL;
	(void)outbox_stream(ob, "events", 6);	/* warns now if need be */
	return (ob);
}

/* Free; entries not yet sent stay in the store. */
void
outbox_free(struct outbox *ob)
{
	size_t	 i;

	if (ob == NULL)
		return;
	event_free(ob->o_pump_ev);
	event_free(ob->o_retry_ev);
	free(ob->o_prefix);
	free(ob->o_instance);
	free(ob->o_base_url);
	free(ob->o_done);
	for (i = 0; i < ob->o_nstreams; i++) {
		free(ob->o_streams[i].os_key);
		free(ob->o_streams[i].os_hwm);
	}
	free(ob->o_streams);
	free(ob);
}

/* Switch to a new config (targets) after a reload. */
void
outbox_reload(struct outbox *ob, const struct config *cfg,
    const char *base_url)
{
	const char	*inst;

	ob->o_cfg = cfg;
	free(ob->o_base_url);
	ob->o_base_url = base_url != NULL ? xstrdup(base_url) : NULL;
	/* A new name is safe at once: the marks go by the datadir's id. */
	inst = cfg->c_instance != NULL ? cfg->c_instance :
	    store_instance(ob->o_store);
	if (strcmp(inst, ob->o_instance) != 0) {
		log_info("instance is now %s (was %s)", inst, ob->o_instance);
		free(ob->o_instance);
		ob->o_instance = xstrdup(inst);
	}
}

/* Append a be16-length-prefixed string. */
static void
outbox_put_str(struct buf *b, const char *s)
{
	size_t	 n = strlen(s);
	uint8_t	 len[2];

	if (n > 0xffff)
		n = 0xffff;
	len[0] = n >> 8;
	len[1] = n & 0xff;
	buf_add(b, len, 2);
	buf_add(b, s, n);
}

/* Add one entry inside txn. */
static int
outbox_put(struct store_txn *txn, const char *stream, const char *type,
    const char *eid, uint64_t seq, int publish, const char *payload,
    size_t plen)
{
	struct buf	 b = BUF_INIT;
	uint8_t		 key[8], ms[8], flags = publish ? 1 : 0;
	const void	*v;
	size_t		 vlen;
	int64_t		 now = util_now_ms(), last = 0;
	int		 rc;

	if (store_get(txn, STORE_META, "outbox_ms", 9, &v, &vlen) == 0 &&
	    vlen == 8)
		last = (int64_t)util_be64_get(v);
	if (now < last)
		now = last;
	util_be64_put(ms, (uint64_t)now);
	if (store_put(txn, STORE_META, "outbox_ms", 9, ms, 8) == -1)
		return (-1);
	buf_add(&b, &flags, 1);
	buf_add(&b, ms, 8);
	outbox_put_str(&b, stream);
	outbox_put_str(&b, type);
	outbox_put_str(&b, eid);
	buf_add(&b, payload, plen);
	util_be64_put(key, seq);
	rc = store_put(txn, STORE_OUTBOX, key, sizeof key, b.b_data, b.b_len);
	buf_free(&b);
	return (rc);
}

/* The payload members every event starts with. */
static void
outbox_gen_head(struct outbox *ob, yajl_gen g, const char *eid,
    const char *type, const struct search *s)
{
	size_t	 i;

	yajl_gen_map_open(g);
	jgen_kstr(g, "schema", "411.event.v1");
	jgen_kstr(g, "event_id", eid);
	jgen_kstr(g, "event_type", type);
	jgen_ktime(g, "occurred_at", util_now_ms());
	jgen_str(g, "producer");
	yajl_gen_map_open(g);
	jgen_kstr(g, "instance", ob->o_instance);
	jgen_kstr(g, "version", PACKAGE_VERSION);
	/* base_url: Alertmanager-format webhooks send it as externalURL. */
	jgen_kstr(g, "base_url", ob->o_base_url);
	yajl_gen_map_close(g);
	if (s == NULL)
		return;		/* the weekly summary: about every search */
	jgen_str(g, "search");
	yajl_gen_map_open(g);
	jgen_kint(g, "id", (int64_t)s->s_id);
	jgen_kstr(g, "name", s->s_name);
	jgen_kstr(g, "priority", s->s_priority);
	jgen_kstr(g, "category", s->s_category);
	jgen_str(g, "tags");
	yajl_gen_array_open(g);
	for (i = 0; i < s->s_ntags; i++)
		jgen_str(g, s->s_tags[i]);
	yajl_gen_array_close(g);
	jgen_kstr(g, "owner", s->s_owner);
	yajl_gen_map_close(g);
}

/* A new event id: this store's instance and a counter. */
static int
outbox_event_id(struct store_txn *txn, struct store *store, char *out,
    size_t len, uint64_t *seqp)
{
	uint64_t	 n;

	if ((n = store_next_id(txn, "event")) == 0)
		return (-1);
	snprintf(out, len, "%s-%llu", store_instance(store),
	    (unsigned long long)n);
	if (seqp != NULL)
		*seqp = n;
	return (0);
}

/* ,"target":{"name":…,"type":…,"params":{…}} of a delivery job. */
static void
outbox_add_target(struct buf *p, const struct search_target *st)
{
	char	*params;

	buf_adds(p, ",\"target\":{\"name\":");
	json_append_string(p, st->st_name, strlen(st->st_name));
	buf_adds(p, ",\"type\":");
	json_append_string(p, st->st_type, strlen(st->st_type));
	buf_adds(p, ",\"params\":");
	params = json_to_string(st->st_params, NULL);
	buf_adds(p, params);
	free(params);
	buf_addc(p, '}');
}

/* True when a target gets new alerts in digests rather than one by one. */
static int
outbox_digested(const struct search_target *st)
{
	return (st->st_digest != SEARCH_DIGEST_NONE &&
	    strcmp(st->st_type, "email") == 0);
}

/* True when a target gets alert.resolved jobs. */
static int
outbox_resolves(const struct search_target *st)
{
	return (strcmp(st->st_type, "pagerduty") == 0 ||
	    strcmp(st->st_type, "webhook") == 0);
}

/* Record an alert event and its delivery jobs. */
int
outbox_alert_event(struct outbox *ob, struct store_txn *txn,
    const char *type, const struct search *s, const struct alert *a)
{
	yajl_gen	 g;
	struct buf	 head = BUF_INIT, p = BUF_INIT, stream = BUF_INIT;
	const struct search_target *st;
	char		 eid[64];
	uint64_t	 seq;
	size_t		 i;
	int		 rc = -1;

	if (outbox_event_id(txn, ob->o_store, eid, sizeof eid, NULL) == -1)
		return (-1);
	g = jgen_new();
	outbox_gen_head(ob, g, eid, type, s);
	jgen_str(g, "alert");
	alert_gen(g, a);
	jgen_str(g, "links");
	yajl_gen_map_open(g);
	jgen_str(g, "alert");
	if (ob->o_base_url != NULL) {
		char *link = xprintf("%s/#/alerts/%llu", ob->o_base_url,
		    (unsigned long long)a->a_id);

		jgen_str(g, link);
		free(link);
	} else
		jgen_null(g);
	jgen_kstr(g, "source", a->a_source_url);
	yajl_gen_map_close(g);
	jgen_take(g, &head);	/* an open object: events close it */

	buf_add(&p, head.b_data, head.b_len);
	buf_addc(&p, '}');
	if ((seq = store_next_id(txn, "outbox")) == 0 ||
	    outbox_put(txn, "events", type, eid, seq, 1, p.b_data,
	    p.b_len) == -1)
		goto done;
	/*
	 * One delivery job per target, for new alerts; for resolved ones
	 * to the targets that close what they opened: pagerduty, and
	 * webhooks (whose worker drops them for a target with
	 * send_resolved no).
	 */
	if (strcmp(type, "alert.created") == 0 ||
	    strcmp(type, "alert.resolved") == 0) {
		for (i = 0; i < s->s_ntargets; i++) {
			st = &s->s_targets[i];
			if (strcmp(type, "alert.resolved") == 0 &&
			    !outbox_resolves(st))
				continue;
			/* Digest targets get it later, with the others. */
			if (strcmp(type, "alert.created") == 0 &&
			    outbox_digested(st)) {
				if (digest_pending_add(txn, s->s_id,
				    st->st_name, a->a_id, util_now_ms()) == -1)
					goto done;
				continue;
			}
			buf_reset(&p);
			buf_add(&p, head.b_data, head.b_len);
			outbox_add_target(&p, st);
			buf_addc(&p, '}');
			buf_reset(&stream);
			buf_printf(&stream, "notify:%s", st->st_type);
			if ((seq = store_next_id(txn, "outbox")) == 0 ||
			    outbox_put(txn, stream.b_data, type, eid, seq, 0,
			    p.b_data, p.b_len) == -1)
				goto done;
		}
	}
	rc = 0;
done:
	yajl_gen_free(g);
	buf_free(&head);
	buf_free(&p);
	buf_free(&stream);
	return (rc);
}

/* One delivery job for a to one target. */
int
outbox_alert_job(struct outbox *ob, struct store_txn *txn, const char *type,
    const struct search *s, const struct alert *a, const char *name,
    const char *ttype, const char *params)
{
	yajl_gen	 g;
	struct buf	 p = BUF_INIT, stream = BUF_INIT;
	char		 eid[64];
	uint64_t	 seq;
	int		 rc = -1;

	if (outbox_event_id(txn, ob->o_store, eid, sizeof eid, NULL) == -1)
		return (-1);
	g = jgen_new();
	outbox_gen_head(ob, g, eid, type, s);
	jgen_kstr(g, "action", "send");
	jgen_str(g, "alert");
	alert_gen(g, a);
	jgen_str(g, "links");
	yajl_gen_map_open(g);
	jgen_str(g, "alert");
	if (ob->o_base_url != NULL) {
		char *link = xprintf("%s/#/alerts/%llu", ob->o_base_url,
		    (unsigned long long)a->a_id);

		jgen_str(g, link);
		free(link);
	} else
		jgen_null(g);
	jgen_kstr(g, "source", a->a_source_url);
	yajl_gen_map_close(g);
	jgen_take(g, &p);	/* an open object */
	buf_adds(&p, ",\"target\":{\"name\":");
	json_append_string(&p, name, strlen(name));
	buf_adds(&p, ",\"type\":");
	json_append_string(&p, ttype, strlen(ttype));
	buf_adds(&p, ",\"params\":");
	buf_adds(&p, params != NULL ? params : "{}");
	buf_adds(&p, "}}");
	buf_printf(&stream, "notify:%s", ttype);
	if ((seq = store_next_id(txn, "outbox")) != 0 &&
	    outbox_put(txn, stream.b_data, type, eid, seq, 0, p.b_data,
	    p.b_len) == 0)
		rc = 0;
	yajl_gen_free(g);
	buf_free(&p);
	buf_free(&stream);
	return (rc);
}

/* The "digest" object and the links of a digest or summary job. */
static void
outbox_gen_digest(struct outbox *ob, yajl_gen g, const struct search *s,
    const struct outbox_digest *od, size_t listed)
{
	char	*link;

	jgen_str(g, "digest");
	yajl_gen_map_open(g);
	jgen_kstr(g, "period", od->od_period);
	jgen_ktime(g, "from", od->od_from);
	jgen_ktime(g, "to", od->od_to);
	jgen_kint(g, "count", (int64_t)od->od_count);
	jgen_kint(g, "listed", (int64_t)listed);
	jgen_kint(g, "more", (int64_t)(od->od_count > listed ?
	    od->od_count - listed : 0));
	yajl_gen_map_close(g);
	jgen_str(g, "links");
	yajl_gen_map_open(g);
	jgen_str(g, s != NULL ? "search" : "alerts");
	if (ob->o_base_url == NULL)
		jgen_null(g);
	else {
		if (s != NULL)
			link = xprintf("%s/#/searches/%llu", ob->o_base_url,
			    (unsigned long long)s->s_id);
		else
			link = xprintf("%s/#/alerts", ob->o_base_url);
		jgen_str(g, link);
		free(link);
	}
	yajl_gen_map_close(g);
}

/* Add a finished digest job payload p for target st to its stream. */
static int
outbox_digest_put(struct store_txn *txn, const struct search_target *st,
    const char *eid, struct buf *p)
{
	struct buf	 stream = BUF_INIT;
	uint64_t	 seq;
	int		 rc = -1;

	outbox_add_target(p, st);
	buf_addc(p, '}');
	buf_printf(&stream, "notify:%s", st->st_type);
	if ((seq = store_next_id(txn, "outbox")) != 0 &&
	    outbox_put(txn, stream.b_data, "digest", eid, seq, 0, p->b_data,
	    p->b_len) == 0)
		rc = 0;
	buf_free(&stream);
	return (rc);
}

/* One digest job: the alerts of od for target st of search s. */
int
outbox_digest_job(struct outbox *ob, struct store_txn *txn,
    const struct search *s, const struct search_target *st,
    const struct outbox_digest *od)
{
	yajl_gen	 g;
	struct buf	 p = BUF_INIT;
	struct alert	*a;
	uint64_t	*ids;
	size_t		 i, n = 0;
	char		*link;
	int		 rc;

	g = jgen_new();
	outbox_gen_head(ob, g, od->od_event_id, "digest", s);
	/* The alerts as they are now: one resolved since shows resolved. */
	ids = xcalloc(od->od_nids + 1, sizeof *ids);
	jgen_str(g, "alerts");
	yajl_gen_array_open(g);
	for (i = 0; i < od->od_nids; i++) {
		if (alert_get(txn, od->od_ids[i], &a) != 0)
			continue;	/* deleted (or damaged) since */
		alert_gen(g, a);
		alert_free(a);
		ids[n++] = od->od_ids[i];
	}
	yajl_gen_array_close(g);
	outbox_gen_digest(ob, g, s, od, n);
	/* alert_links: one per alert listed, in order. */
	jgen_str(g, "alert_links");
	yajl_gen_array_open(g);
	for (i = 0; i < n; i++) {
		if (ob->o_base_url == NULL) {
			jgen_null(g);
			continue;
		}
		link = xprintf("%s/#/alerts/%llu", ob->o_base_url,
		    (unsigned long long)ids[i]);
		jgen_str(g, link);
		free(link);
	}
	yajl_gen_array_close(g);
	free(ids);
	jgen_take(g, &p);	/* an open object */
	yajl_gen_free(g);
	rc = outbox_digest_put(txn, st, od->od_event_id, &p);
	buf_free(&p);
	return (rc);
}

/* The weekly summary job to target st (no search). */
int
outbox_summary_job(struct outbox *ob, struct store_txn *txn,
    const struct search_target *st, const struct outbox_digest *od,
    const char *summary)
{
	yajl_gen	 g;
	struct buf	 p = BUF_INIT;
	int		 rc;

	g = jgen_new();
	outbox_gen_head(ob, g, od->od_event_id, "digest", NULL);
	outbox_gen_digest(ob, g, NULL, od, 0);
	jgen_take(g, &p);	/* an open object */
	yajl_gen_free(g);
	buf_adds(&p, ",\"summary\":");
	buf_adds(&p, summary);
	rc = outbox_digest_put(txn, st, od->od_event_id, &p);
	buf_free(&p);
	return (rc);
}

/*
 * Record a search.failed / search.recovered event, and one delivery job
 * per target of the search (run.c has throttled them already).  A gap
 * (windows skipped) goes to the events stream only: it is no state that a
 * search.recovered would ever close.
 */
int
outbox_search_event(struct outbox *ob, struct store_txn *txn,
    const char *type, const struct search *s,
    const struct outbox_search_error *se)
{
	yajl_gen	 g;
	struct buf	 p = BUF_INIT, head = BUF_INIT, stream = BUF_INIT;
	char		 eid[64];
	uint64_t	 seq;
	size_t		 i;
	int		 rc;

	if (outbox_event_id(txn, ob->o_store, eid, sizeof eid, NULL) == -1)
		return (-1);
	g = jgen_new();
	outbox_gen_head(ob, g, eid, type, s);
	jgen_str(g, "error");
	yajl_gen_map_open(g);
	jgen_kstr(g, "message", se->se_message);
	jgen_str(g, "window");
	yajl_gen_map_open(g);
	jgen_ktime(g, "from", se->se_from);
	jgen_ktime(g, "to", se->se_to);
	yajl_gen_map_close(g);
	jgen_ktime(g, "since", se->se_since);
	if (se->se_gap)
		jgen_kbool(g, "gap", 1);
	yajl_gen_map_close(g);
	jgen_take(g, &head);	/* an open object */
	yajl_gen_free(g);
	buf_add(&p, head.b_data, head.b_len);
	buf_addc(&p, '}');
	if ((seq = store_next_id(txn, "outbox")) == 0)
		rc = -1;
	else
		rc = outbox_put(txn, "events", type, eid, seq, 1, p.b_data,
		    p.b_len);
	for (i = 0; rc == 0 && !se->se_gap && i < s->s_ntargets; i++) {
		buf_reset(&p);
		buf_add(&p, head.b_data, head.b_len);
		outbox_add_target(&p, &s->s_targets[i]);
		buf_addc(&p, '}');
		buf_reset(&stream);
		buf_printf(&stream, "notify:%s", s->s_targets[i].st_type);
		if ((seq = store_next_id(txn, "outbox")) == 0 ||
		    outbox_put(txn, stream.b_data, type, eid, seq, 0,
		    p.b_data, p.b_len) == -1)
			rc = -1;
	}
	buf_free(&p);
	buf_free(&head);
	buf_free(&stream);
	return (rc);
}

/* After a commit that added entries: wake the pump. */
void
outbox_kick(struct outbox *ob)
{
	if (!event_pending(ob->o_pump_ev, EV_TIMEOUT, NULL))
		event_active(ob->o_pump_ev, EV_TIMEOUT, 0);
}

/*
 * Start a pass from the top: the lowest seq left in the store.  Replies
 * to the pass before are void (they are counted, not acted on): what it
 * added is sent again and skipped as a duplicate.
 */
static void
outbox_restart(struct outbox *ob)
{
	size_t	 i;

	ob->o_gen++;
	ob->o_inflight = 0;
	ob->o_cursor = 0;
	for (i = 0; i < ob->o_nstreams; i++)
		ob->o_streams[i].os_last = 0;
}

/* The SCRIPT LOAD answer: the sha, or an error to log. */
static void
outbox_load_cb(void *arg, redisReply *reply, const char *err)
{
	struct outbox	*ob = arg;

	if (reply == NULL)
		return;		/* connection lost: loaded on the next */
	if (reply->type == REDIS_REPLY_ERROR)
		log_warnx("outbox: redis refused SCRIPT LOAD: %s", reply->str);
	else if (reply->type != REDIS_REPLY_STRING ||
	    strcmp(reply->str, ob->o_sha) != 0)
		log_warnx("outbox: SCRIPT LOAD answered another sha1 than %s",
		    ob->o_sha);
	else
		log_debug("outbox: script %s loaded", ob->o_sha);
}

/* The queue came up or went down. */
void
outbox_queue_state(struct outbox *ob, int up)
{
	const char	*argv[3];
	size_t		 argl[3];

	/* Replies of the old connection are void: start from the top. */
	ob->o_blocked = 0;
	ob->o_eval = 0;
	outbox_restart(ob);
	evtimer_del(ob->o_retry_ev);
	if (!up)
		return;
	/* Ahead of every EVALSHA on this connection. */
	argv[0] = "SCRIPT";	argl[0] = 6;
	argv[1] = "LOAD";	argl[1] = 4;
	argv[2] = outbox_script; argl[2] = strlen(outbox_script);
	if (queue_command(ob->o_queue, outbox_load_cb, ob, 3, argv, argl) == -1)
		ob->o_eval = 1;
	outbox_kick(ob);
}

/* Read a be16-length string at *p; returns 0 or -1. */
static int
outbox_get_str(const uint8_t **p, const uint8_t *end, const char **s,
    size_t *n)
{
	if (end - *p < 2)
		return (-1);
	*n = (size_t)(*p)[0] << 8 | (*p)[1];
	*p += 2;
	if ((size_t)(end - *p) < *n)
		return (-1);
	*s = (const char *)*p;
	*p += *n;
	return (0);
}

/* The part of key that Redis Cluster hashes: its hash tag, or all of it. */
static void
outbox_slot_part(const char *key, const char **p, size_t *n)
{
	const char	*o, *c;

	*p = key;
	*n = strlen(key);
	if ((o = strchr(key, '{')) != NULL &&
	    (c = strchr(o + 1, '}')) != NULL && c > o + 1) {
		*p = o + 1;
		*n = c - o - 1;
	}
}

/* The stream PREFIX + name (n bytes), with its mark key; made once. */
static struct outbox_stream *
outbox_stream(struct outbox *ob, const char *name, size_t n)
{
	struct outbox_stream	*os;
	const char		*tag, *tag2;
	size_t			 i, tlen, tlen2;
	size_t			 plen = strlen(ob->o_prefix);

	for (i = 0; i < ob->o_nstreams; i++) {
		os = &ob->o_streams[i];
		if (strlen(os->os_key) == plen + n &&
		    memcmp(os->os_key + plen, name, n) == 0)
			return (os);
	}
	ob->o_streams = xreallocarray(ob->o_streams, ob->o_nstreams + 1,
	    sizeof *ob->o_streams);
	os = &ob->o_streams[ob->o_nstreams++];
	os->os_key = xprintf("%s%.*s", ob->o_prefix, (int)n, name);
	outbox_slot_part(os->os_key, &tag, &tlen);
	os->os_hwm = xprintf("%soutbox:hwm:%s:{%.*s}", ob->o_prefix,
	    store_instance(ob->o_store), (int)tlen, tag);
	os->os_last = 0;
	outbox_slot_part(os->os_hwm, &tag2, &tlen2);
	if (tlen != tlen2 || memcmp(tag, tag2, tlen) != 0)
		log_warnx("outbox: %s and %s hash to different slots "
		    "(the braces of redis_prefix): Redis Cluster would refuse "
		    "them", os->os_key, os->os_hwm);
	return (os);
}

/* Send one stored entry. */
static int
outbox_send_entry(struct outbox *ob, uint64_t seq, const uint8_t *v,
    size_t vlen)
{
	const uint8_t		*p = v, *end = v + vlen;
	const char		*stream, *type, *eid, *argv[12];
	size_t			 slen, tlen, elen, argl[12];
	struct outbox_send	*snd;
	struct outbox_stream	*os;
	char			 sseq[24], sprev[24], chan[300];
	int			 publish;

	if (vlen < 9)
		return (-1);
	publish = p[0] & 1;
	p += 9;
	if (outbox_get_str(&p, end, &stream, &slen) == -1 ||
	    outbox_get_str(&p, end, &type, &tlen) == -1 ||
	    outbox_get_str(&p, end, &eid, &elen) == -1)
		return (-1);
	os = outbox_stream(ob, stream, slen);
	snprintf(sseq, sizeof sseq, "%llu", (unsigned long long)seq);
	snprintf(sprev, sizeof sprev, "%llu", (unsigned long long)os->os_last);
	snprintf(chan, sizeof chan, "%sevents", ob->o_prefix);
	if (ob->o_eval) {
		argv[0] = "EVAL";	argl[0] = 4;
		argv[1] = outbox_script; argl[1] = strlen(outbox_script);
	} else {
		argv[0] = "EVALSHA";	argl[0] = 7;
		argv[1] = ob->o_sha;	argl[1] = strlen(ob->o_sha);
	}
	argv[2] = "2";		argl[2] = 1;
	argv[3] = os->os_key;	argl[3] = strlen(os->os_key);
	argv[4] = os->os_hwm;	argl[4] = strlen(os->os_hwm);
	argv[5] = sseq;		argl[5] = strlen(sseq);
	argv[6] = sprev;	argl[6] = strlen(sprev);
	argv[7] = publish ? "1" : "0"; argl[7] = 1;
	argv[8] = chan;		argl[8] = strlen(chan);
	argv[9] = type;		argl[9] = tlen;
	argv[10] = eid;		argl[10] = elen;
	argv[11] = (const char *)p; argl[11] = end - p;
	snd = xcalloc(1, sizeof *snd);
	snd->s_ob = ob;
	snd->s_seq = seq;
	snd->s_gen = ob->o_gen;
	if (queue_command(ob->o_queue, outbox_reply_cb, snd, 12, argv,
	    argl) == -1) {
		free(snd);
		return (1);
	}
	ob->o_eval = 0;		/* EVAL cached it for the ones after */
	os->os_last = seq;
	ob->o_inflight++;
	return (0);
}

/* Send entries from the cursor while the window allows. */
static void
outbox_pump_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct outbox		*ob = arg;
	struct store_txn	*txn;
	struct store_cursor	*c;
	const void		*k, *v;
	size_t			 klen, vlen;
	uint8_t			 start[8];
	uint64_t		 seq;
	int			 rc;

	if (ob->o_blocked || !queue_up(ob->o_queue) ||
	    ob->o_inflight >= OUTBOX_BATCH)
		return;
	if ((txn = store_read(ob->o_store)) == NULL)
		return;
	if ((c = store_cursor(txn, STORE_OUTBOX)) == NULL) {
		store_done(txn);
		return;
	}
	util_be64_put(start, ob->o_cursor);
	for (rc = store_cursor_seek(c, start, 8, &k, &klen, &v, &vlen);
	    rc == 0 && ob->o_inflight < OUTBOX_BATCH;
	    rc = store_cursor_next(c, &k, &klen, &v, &vlen)) {
		if (klen != 8)
			continue;
		seq = util_be64_get(k);
		switch (outbox_send_entry(ob, seq, v, vlen)) {
		case -1:
			log_warnx("outbox: entry %llu is damaged; dropping it",
			    (unsigned long long)seq);
			outbox_mark_sent(ob, seq);
			outbox_flush_done(ob);
			break;
		case 1:
			goto out;	/* the connection went down */
		}
		ob->o_cursor = seq + 1;
	}
out:
	store_cursor_free(c);
	store_done(txn);
}

/* Delete the sent entries. */
static int
outbox_delete_apply(struct store_txn *txn, void *arg)
{
	struct outbox	*ob = arg;
	uint8_t		 key[8];
	size_t		 i;

	for (i = 0; i < ob->o_ndone; i++) {
		util_be64_put(key, ob->o_done[i]);
		if (store_del(txn, STORE_OUTBOX, key, sizeof key) == -1)
			return (-1);
	}
	return (0);
}

/* The deletes are committed. */
static void
outbox_delete_done(void *arg, int ok, const char *err)
{
	struct outbox	*ob = arg;

	ob->o_deleting = 0;
	if (!ok)
		log_warnx("outbox: could not delete sent entries: %s "
		    "(they will be sent again and skipped as duplicates)",
		    err);
	ob->o_ndone = 0;
	outbox_flush_done(ob);
	outbox_kick(ob);
}

/* Queue a delete of what was sent, unless one is under way. */
static void
outbox_flush_done(struct outbox *ob)
{
	if (ob->o_keep)
		ob->o_ndone = 0;	/* test hook: a crash before it */
	if (ob->o_deleting || ob->o_ndone == 0)
		return;
	ob->o_deleting = 1;
	store_write(ob->o_store, outbox_delete_apply, outbox_delete_done, ob);
}

/* Remember that seq was sent. */
static void
outbox_mark_sent(struct outbox *ob, uint64_t seq)
{
	if (ob->o_ndone == ob->o_donecap) {
		ob->o_donecap = ob->o_donecap == 0 ? 256 : ob->o_donecap * 2;
		ob->o_done = xreallocarray(ob->o_done, ob->o_donecap,
		    sizeof *ob->o_done);
	}
	ob->o_done[ob->o_ndone++] = seq;
}

/* Retry after Redis refused an entry. */
static void
outbox_retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct outbox	*ob = arg;

	ob->o_blocked = 0;
	outbox_restart(ob);
	outbox_kick(ob);
}

/* Redis ran the script for an entry (or the connection failed). */
static void
outbox_reply_cb(void *arg, redisReply *reply, const char *err)
{
	struct outbox_send	*snd = arg;
	struct outbox		*ob = snd->s_ob;
	struct timeval		 tv;

	if (snd->s_gen != ob->o_gen) {
		/* An answer from a connection or pass that is gone. */
		if (reply != NULL && reply->type == REDIS_REPLY_STRING)
			ob->o_added++;
		else if (reply != NULL && reply->type == REDIS_REPLY_INTEGER)
			ob->o_dups++;
		goto out;
	}
	ob->o_inflight--;
	if (reply == NULL)
		goto out;	/* outbox_queue_state restarts from the top */
	if (reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0) {
		/*
		 * The script left Redis's cache.  What follows in this pass
		 * may or may not have run: void it, send again from the top
		 * with EVAL first.
		 */
		log_info("outbox: redis has lost the script (NOSCRIPT); "
		    "sending it again");
		ob->o_eval = 1;
		outbox_restart(ob);
	} else if (reply->type == REDIS_REPLY_ERROR) {
		if (!ob->o_blocked) {
			log_warnx("outbox: redis refused entry %llu: %s; "
			    "retrying in %ds", (unsigned long long)snd->s_seq,
			    reply->str, OUTBOX_RETRY_MS / 1000);
			ob->o_blocked = 1;
			tv.tv_sec = OUTBOX_RETRY_MS / 1000;
			tv.tv_usec = 0;
			evtimer_add(ob->o_retry_ev, &tv);
		}
	} else if (reply->type == REDIS_REPLY_INTEGER) {
		/* At or below the mark: added before a crash or lost reply. */
		ob->o_dups++;
		outbox_mark_sent(ob, snd->s_seq);
	} else {
		ob->o_added++;
		outbox_mark_sent(ob, snd->s_seq);
	}
	if (ob->o_inflight == 0 || ob->o_ndone >= OUTBOX_BATCH)
		outbox_flush_done(ob);
	outbox_kick(ob);
out:
	free(snd);
}

/* Entries committed and not yet acknowledged by Redis. */
uint64_t
outbox_depth(struct outbox *ob)
{
	struct store_txn	*txn;
	uint64_t		 n;

	if ((txn = store_read(ob->o_store)) == NULL)
		return (0);
	n = store_count(txn, STORE_OUTBOX);
	store_done(txn);
	return (n);
}

/* Entries Redis added to a stream since start. */
uint64_t
outbox_sent(const struct outbox *ob)
{
	return (ob->o_added);
}

/* Entries Redis skipped as added before (resent) since start. */
uint64_t
outbox_duplicates(const struct outbox *ob)
{
	return (ob->o_dups);
}
