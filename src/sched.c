/*
 * sched.c -- when each search runs.
 *
 * Every enabled search has one entry.  The entry knows the end of the
 * next window to run (e_end, on the search's grid) and when to start it
 * (e_due = e_end + delay, or at once when overdue).  Entries wait in a
 * min-heap ordered by e_due; one libevent timer is armed for the top.
 * When an entry is due and the global limit and its source's limit allow,
 * its run starts; otherwise it waits in its source's line (FIFO), and
 * lines are served round robin as runs end.  After a run commits the
 * checkpoint moves to its window end and the next window is planned; a
 * failed run is retried, same window, after a jittered exponential
 * backoff (honouring Retry-After).
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config.h"
#include "cron.h"
#include "hmap.h"
#include "log.h"
#include "metrics.h"
#include "run.h"
#include "sched.h"
#include "search.h"
#include "sources.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define SCHED_NOT_IN_HEAP	((size_t)-1)

struct sched_pool;

struct sched_entry {
	uint64_t		 e_id;
	struct search		*e_search;
	int64_t			 e_checkpoint;	/* ms, 0 = none yet */
	int64_t			 e_end;		/* next window end, ms */
	int64_t			 e_due;		/* when to start it, ms */
	size_t			 e_heap;
	struct run		*e_run;		/* in flight, or NULL */
	struct sched_pool	*e_pool;
	int			 e_waiting;
	TAILQ_ENTRY(sched_entry) e_wait;
	int			 e_failures;	/* in a row */
	int			 e_removed;	/* freed when its run ends */
};

/* The waiting line and limit of one source. */
struct sched_pool {
	char			*p_name;
	int			 p_inflight;
	TAILQ_HEAD(, sched_entry) p_waitq;
	size_t			 p_nwait;
	TAILQ_HEAD(, sched_manual) p_manq;	/* manual runs waiting */
	TAILQ_ENTRY(sched_pool)	 p_entry;
};

/* A run started through sched_run_now. */
struct sched_manual {
	struct sched		*m_sched;
	struct run		*m_run;
	struct sched_pool	*m_pool;
	sched_run_cb		 m_cb;
	void			*m_arg;
	int			 m_waiting;
	LIST_ENTRY(sched_manual) m_entry;
	TAILQ_ENTRY(sched_manual) m_wait;
};

struct sched {
	struct run_env		*s_env;
	struct hmap		*s_entries;	/* id -> entry */
	struct sched_entry	**s_heap;
	size_t			 s_nheap;
	size_t			 s_heapcap;
	struct event		*s_timer;
	struct event		*s_grace;
	TAILQ_HEAD(, sched_pool) s_pools;
	LIST_HEAD(, sched_manual) s_manual;
	size_t			 s_inflight;
	size_t			 s_nwait;
	int			 s_draining;
	void			(*s_drained)(void *);
	void			*s_drained_arg;
};

static void	sched_timer_cb(evutil_socket_t, short, void *);
static void	sched_grace_cb(evutil_socket_t, short, void *);
static void	sched_run_done(struct run *, void *);
static void	sched_manual_done(struct run *, void *);
static void	sched_manual_start(struct sched *, struct sched_manual *);
static void	sched_dispatch(struct sched *);
static void	sched_arm(struct sched *);
static void	sched_plan(struct sched *, struct sched_entry *);
static void	sched_try(struct sched *, struct sched_entry *);
static void	sched_check_drained(struct sched *);

/* floor(a / b) for b > 0. */
static int64_t
sched_floordiv(int64_t a, int64_t b)
{
	return (a >= 0 ? a / b : -((-a + b - 1) / b));
}

/*
 * The last grid point of s at or before t (ms): k * every + jitter, or
 * the cron's last fire.
 */
int64_t
sched_grid(const struct search *s, int64_t t)
{
	int64_t	 every = s->s_every * 1000, j = search_jitter(s);

	if (s->s_cron_c != NULL)
		return (cron_prev(s->s_cron_c, t));
	return (sched_floordiv(t - j, every) * every + j);
}

/* The first grid point of s strictly after t (ms). */
static int64_t
sched_next_point(const struct search *s, int64_t t)
{
	if (s->s_cron_c != NULL)
		return (cron_next(s->s_cron_c, t));
	return (sched_grid(s, t) + s->s_every * 1000);
}

/* The usual gap between grid points (ms): every, or the cron's. */
static int64_t
sched_interval(const struct search *s)
{
	if (s->s_cron_c != NULL)
		return (cron_interval(s->s_cron_c));
	return (s->s_every * 1000);
}

/* Heap helpers: order by due time. */
static void
sched_heap_swap(struct sched *sc, size_t a, size_t b)
{
	struct sched_entry	*t = sc->s_heap[a];

	sc->s_heap[a] = sc->s_heap[b];
	sc->s_heap[b] = t;
	sc->s_heap[a]->e_heap = a;
	sc->s_heap[b]->e_heap = b;
}

static void
sched_heap_up(struct sched *sc, size_t i)
{
	while (i > 0 && sc->s_heap[(i - 1) / 2]->e_due > sc->s_heap[i]->e_due) {
		sched_heap_swap(sc, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
sched_heap_down(struct sched *sc, size_t i)
{
	size_t	 l, r, m;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < sc->s_nheap && sc->s_heap[l]->e_due < sc->s_heap[m]->e_due)
			m = l;
		if (r < sc->s_nheap && sc->s_heap[r]->e_due < sc->s_heap[m]->e_due)
			m = r;
		if (m == i)
			return;
		sched_heap_swap(sc, i, m);
		i = m;
	}
}

/* Put e in the heap (it must not be there). */
static void
sched_heap_push(struct sched *sc, struct sched_entry *e)
{
	if (sc->s_nheap == sc->s_heapcap) {
		sc->s_heapcap = sc->s_heapcap == 0 ? 64 : sc->s_heapcap * 2;
		sc->s_heap = xreallocarray(sc->s_heap, sc->s_heapcap,
		    sizeof *sc->s_heap);
	}
	e->e_heap = sc->s_nheap;
	sc->s_heap[sc->s_nheap++] = e;
	sched_heap_up(sc, e->e_heap);
}

/* Take e out of the heap if it is there. */
static void
sched_heap_remove(struct sched *sc, struct sched_entry *e)
{
	size_t	 i = e->e_heap;

	if (i == SCHED_NOT_IN_HEAP)
		return;
	e->e_heap = SCHED_NOT_IN_HEAP;
	if (i == --sc->s_nheap)
		return;
	sc->s_heap[i] = sc->s_heap[sc->s_nheap];
	sc->s_heap[i]->e_heap = i;
	sched_heap_down(sc, i);
	sched_heap_up(sc, i);
}

/* Take e out of its waiting line if it is in one. */
static void
sched_unwait(struct sched *sc, struct sched_entry *e)
{
	if (!e->e_waiting)
		return;
	TAILQ_REMOVE(&e->e_pool->p_waitq, e, e_wait);
	e->e_pool->p_nwait--;
	sc->s_nwait--;
	e->e_waiting = 0;
}

/* The pool of source name (created on first use). */
static struct sched_pool *
sched_pool(struct sched *sc, const char *name)
{
	struct sched_pool	*p;

	if (name == NULL)
		name = "";
	TAILQ_FOREACH(p, &sc->s_pools, p_entry) {
		if (strcmp(p->p_name, name) == 0)
			return (p);
	}
	p = xcalloc(1, sizeof *p);
	p->p_name = xstrdup(name);
	TAILQ_INIT(&p->p_waitq);
	TAILQ_INIT(&p->p_manq);
	TAILQ_INSERT_TAIL(&sc->s_pools, p, p_entry);
	return (p);
}

/* True when another run may start against pool p. */
static int
sched_pool_open(struct sched *sc, struct sched_pool *p)
{
	struct source_state	*ss;
	int			 limit = INT_MAX;

	if (sc->s_env->re_sources != NULL &&
	    (ss = sources_get(sc->s_env->re_sources, p->p_name)) != NULL)
		limit = ss->ss_limit;
	return (p->p_inflight < limit);
}

/* True when the global limit allows another run. */
static int
sched_global_open(struct sched *sc)
{
	return (sc->s_inflight < (size_t)sc->s_env->re_cfg->c_max_runs);
}

/* Count a run in (delta 1) or out (-1) of pool p. */
static void
sched_count(struct sched *sc, struct sched_pool *p, int delta)
{
	struct source_state	*ss;

	sc->s_inflight += delta;
	p->p_inflight += delta;
	if (sc->s_env->re_sources != NULL &&
	    (ss = sources_get(sc->s_env->re_sources, p->p_name)) != NULL)
		ss->ss_inflight = p->p_inflight;
}

/* The scheduler for runs built on env. */
struct sched *
sched_new(struct run_env *env)
{
	struct sched	*sc;

	sc = xcalloc(1, sizeof *sc);
	sc->s_env = env;
	sc->s_entries = hmap_new();
	sc->s_timer = evtimer_new(env->re_base, sched_timer_cb, sc);
	sc->s_grace = evtimer_new(env->re_base, sched_grace_cb, sc);
	TAILQ_INIT(&sc->s_pools);
	LIST_INIT(&sc->s_manual);
	return (sc);
}

/* Free an entry (not in heap, not waiting, no run). */
static void
sched_entry_free(struct sched_entry *e)
{
	search_unref(e->e_search);
	free(e);
}

/* Free; runs still in flight are freed without committing. */
void
sched_free(struct sched *sc)
{
	struct hmap_iter	 it = { 0 };
	struct sched_entry	*e;
	struct sched_manual	*m;
	struct sched_pool	*p;
	void			*v;

	if (sc == NULL)
		return;
	while (hmap_next(sc->s_entries, &it, NULL, NULL, &v)) {
		e = v;
		run_free(e->e_run);
		sched_entry_free(e);
	}
	hmap_free(sc->s_entries);
	while ((m = LIST_FIRST(&sc->s_manual)) != NULL) {
		LIST_REMOVE(m, m_entry);
		run_free(m->m_run);
		free(m);
	}
	while ((p = TAILQ_FIRST(&sc->s_pools)) != NULL) {
		TAILQ_REMOVE(&sc->s_pools, p, p_entry);
		free(p->p_name);
		free(p);
	}
	free(sc->s_heap);
	event_free(sc->s_timer);
	event_free(sc->s_grace);
	free(sc);
}

/* Read the checkpoint of search id from the store. */
static int64_t
sched_load_checkpoint(struct sched *sc, uint64_t id)
{
	struct store_txn	*txn;
	struct search_state	 st;
	int64_t			 cp = 0;

	if (sc->s_env->re_store == NULL ||
	    (txn = store_read(sc->s_env->re_store)) == NULL)
		return (0);
	if (search_state_load(txn, id, &st) == 0)
		cp = st.ss_checkpoint;
	search_state_clear(&st);
	store_done(txn);
	return (cp);
}

/* Add or replace a search. */
void
sched_put(struct sched *sc, struct search *s)
{
	struct sched_entry	*e;

	if ((e = hmap_get64(sc->s_entries, s->s_id)) == NULL) {
		e = xcalloc(1, sizeof *e);
		e->e_id = s->s_id;
		e->e_heap = SCHED_NOT_IN_HEAP;
		e->e_checkpoint = sched_load_checkpoint(sc, s->s_id);
		hmap_put64(sc->s_entries, s->s_id, e);
	} else
		search_unref(e->e_search);
	e->e_search = search_ref(s);
	e->e_failures = 0;
	if (e->e_run != NULL)
		return;		/* planned again when the run ends */
	sched_heap_remove(sc, e);
	sched_unwait(sc, e);
	e->e_pool = sched_pool(sc, s->s_source);
	if (s->s_enabled && s->s_type != SEARCH_PUSH) {	/* push: on demand */
		sched_plan(sc, e);
		sched_heap_push(sc, e);
	}
	sched_arm(sc);
}

/* Forget a search. */
void
sched_remove(struct sched *sc, uint64_t id)
{
	struct sched_entry	*e;

	if ((e = hmap_del64(sc->s_entries, id)) == NULL)
		return;
	sched_heap_remove(sc, e);
	sched_unwait(sc, e);
	if (e->e_run != NULL) {
		e->e_removed = 1;
		return;
	}
	sched_entry_free(e);
	sched_arm(sc);
}

/* The search with id (borrowed), or NULL. */
struct search *
sched_get(struct sched *sc, uint64_t id)
{
	struct sched_entry	*e;

	e = hmap_get64(sc->s_entries, id);
	return (e == NULL ? NULL : e->e_search);
}

/* When the search runs next (ms), or 0. */
int64_t
sched_next_run(struct sched *sc, uint64_t id)
{
	struct sched_entry	*e;

	if ((e = hmap_get64(sc->s_entries, id)) == NULL ||
	    !e->e_search->s_enabled)
		return (0);
	if (e->e_run != NULL || e->e_waiting)
		return (util_now_ms());
	return (e->e_heap == SCHED_NOT_IN_HEAP ? 0 : e->e_due);
}

/*
 * Plan e's next window from its checkpoint: the window after it, or the
 * latest complete one for a new search; past the catch-up limit the gap
 * is skipped and recorded.
 */
int
sched_window(const struct search *s, int64_t checkpoint, int64_t now,
    int64_t catch_up_ms, int64_t *endp, int64_t *skipto)
{
	int64_t	 delay = s->s_delay * 1000;
	int64_t	 end, first;

	if (checkpoint == 0) {
		*endp = sched_grid(s, now - delay);
		return (0);
	}
	end = sched_next_point(s, checkpoint);
	if (now - delay - end > catch_up_ms) {
		first = sched_next_point(s, now - delay - catch_up_ms);
		if (first > end) {
			*skipto = sched_grid(s, now - delay - catch_up_ms);
			*endp = first;
			return (1);
		}
	}
	*endp = end;
	return (0);
}

static void
sched_plan(struct sched *sc, struct sched_entry *e)
{
	const struct search	*s = e->e_search;
	int64_t			 now = util_now_ms(), delay = s->s_delay * 1000;
	int64_t			 every = sched_interval(s), end, skipto = 0;

	if (sched_window(s, e->e_checkpoint, now,
	    sc->s_env->re_cfg->c_catch_up * 1000, &end, &skipto) == 1) {
		log_warnx("search %llu: windows ending %lld..%lld ms were not "
		    "run: the gap is longer than catch_up",
		    (unsigned long long)s->s_id,
		    (long long)sched_next_point(s, e->e_checkpoint),
		    (long long)skipto);
		/* Exact for every; about right for cron. */
		if (sc->s_env->re_metrics != NULL)
			sc->s_env->re_metrics->m_windows_skipped +=
			    (skipto - sched_grid(s, e->e_checkpoint)) / every;
		run_gap(sc->s_env, e->e_search, e->e_checkpoint, skipto);
		e->e_checkpoint = skipto;
	}
	e->e_end = end;
	e->e_due = end + delay;
	if (e->e_due < now)
		e->e_due = now;
}

/* Arm the timer for the heap's top. */
static void
sched_arm(struct sched *sc)
{
	struct timeval	 tv;
	int64_t		 wait;

	if (sc->s_draining || sc->s_nheap == 0) {
		evtimer_del(sc->s_timer);
		return;
	}
	wait = sc->s_heap[0]->e_due - util_now_ms();
	if (wait < 0)
		wait = 0;
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	evtimer_add(sc->s_timer, &tv);
}

/* Start e's run now. */
static void
sched_start(struct sched *sc, struct sched_entry *e)
{
	const struct search	*s = e->e_search;

	e->e_run = run_new(sc->s_env, e->e_search, e->e_end -
	    s->s_range * 1000, e->e_end, RUN_SCHEDULED);
	sched_count(sc, e->e_pool, 1);
	run_start(e->e_run, sched_run_done, e);
}

/* e is due: start it, or make it wait for a slot. */
static void
sched_try(struct sched *sc, struct sched_entry *e)
{
	if (e->e_run != NULL || e->e_waiting)
		return;
	if (sched_global_open(sc) && sched_pool_open(sc, e->e_pool) &&
	    e->e_pool->p_nwait == 0) {
		sched_start(sc, e);
		return;
	}
	TAILQ_INSERT_TAIL(&e->e_pool->p_waitq, e, e_wait);
	e->e_pool->p_nwait++;
	sc->s_nwait++;
	e->e_waiting = 1;
}

/* Start waiting runs while the limits allow, serving lines in turn. */
static void
sched_dispatch(struct sched *sc)
{
	struct sched_pool	*p;
	struct sched_entry	*e;
	int			 progress = 1;

	if (sc->s_draining)
		return;
	while (progress && sc->s_nwait > 0 && sched_global_open(sc)) {
		progress = 0;
		TAILQ_FOREACH(p, &sc->s_pools, p_entry) {
			if (p->p_nwait == 0 || !sched_pool_open(sc, p))
				continue;
			if (!TAILQ_EMPTY(&p->p_manq))
				/* Someone is waiting for the answer. */
				sched_manual_start(sc, TAILQ_FIRST(&p->p_manq));
			else {
				e = TAILQ_FIRST(&p->p_waitq);
				sched_unwait(sc, e);
				sched_start(sc, e);
			}
			progress = 1;
			if (!sched_global_open(sc))
				break;
		}
	}
}

/* The timer: start everything that is due. */
static void
sched_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sched		*sc = arg;
	struct sched_entry	*e;
	int64_t			 now = util_now_ms();

	while (sc->s_nheap > 0 && sc->s_heap[0]->e_due <= now &&
	    !sc->s_draining) {
		e = sc->s_heap[0];
		sched_heap_remove(sc, e);
		sched_try(sc, e);
	}
	sched_arm(sc);
}

/*
 * The retry delay after n failures in a row, the last of class fail,
 * honouring Retry-After.
 */
int64_t
sched_backoff(const struct search *s, int n, int fail,
    const char *retry_after)
{
	int64_t	 d, cap, ra;
	uint64_t jit;

	cap = sched_interval(s);
	if (cap < 60000)
		cap = 60000;
	if (cap > SCHED_RETRY_MAX_MS)
		cap = SCHED_RETRY_MAX_MS;
	if (fail == SOURCE_FAIL_FINAL)
		d = cap;
	else {
		d = sched_interval(s) / 4;
		if (d > SCHED_RETRY_MIN_MS)
			d = SCHED_RETRY_MIN_MS;
		if (d < SCHED_RETRY_FLOOR_MS)
			d = SCHED_RETRY_FLOOR_MS;
		while (--n > 0 && d < cap)
			d *= 2;
		if (d > cap)
			d = cap;
	}
	/* Jitter: 80% to 120%. */
	jit = util_random() % 41;
	d = d * (80 + (int64_t)jit) / 100;
	if (retry_after != NULL && util_parse_int64(retry_after,
	    strlen(retry_after), &ra) == 0 && ra > 0) {
		ra *= 1000;
		if (ra > SCHED_RETRY_AFTER_MAX_MS)
			ra = SCHED_RETRY_AFTER_MAX_MS;
		if (ra > d)
			d = ra;
	}
	return (d);
}

/* A scheduled run is over (committed or failed). */
static void
sched_run_done(struct run *r, void *arg)
{
	struct sched_entry	*e = arg;
	struct sched		*sc = NULL;
	struct metrics		*m;

	/* Find our scheduler through the run's environment. */
	sc = (struct sched *)run_env(r)->re_sched;
	e->e_run = NULL;
	sched_count(sc, e->e_pool, -1);
	if (e->e_removed) {
		run_free(r);
		sched_entry_free(e);
		sched_dispatch(sc);
		sched_check_drained(sc);
		return;
	}
	if (run_state(r) == RUN_SUCCEEDED) {
		if (run_to(r) > e->e_checkpoint)
			e->e_checkpoint = run_to(r);
		e->e_failures = 0;
		e->e_pool = sched_pool(sc, e->e_search->s_source);
		if (e->e_search->s_enabled) {
			sched_plan(sc, e);
			sched_heap_push(sc, e);
		}
	} else {
		e->e_failures++;
		m = sc->s_env->re_metrics;
		if (m != NULL)
			m->m_runs_retried++;
		e->e_pool = sched_pool(sc, e->e_search->s_source);
		if (e->e_search->s_enabled) {
			/* The same window again, later. */
			e->e_due = util_now_ms() + sched_backoff(e->e_search,
			    e->e_failures, run_retryable(r),
			    run_retry_after(r));
			sched_heap_push(sc, e);
		}
	}
	run_free(r);
	sched_dispatch(sc);
	sched_arm(sc);
	sched_check_drained(sc);
}

/* Run a search now, outside its schedule. */
int
sched_run_now(struct sched *sc, struct search *s, int64_t from, int64_t to,
    enum run_mode mode, void *input, sched_run_cb cb, void *arg, char *err,
    size_t errlen)
{
	struct sched_manual	*m;

	if (sc->s_draining) {
		snprintf(err, errlen, "411d is shutting down");
		return (-1);
	}
	m = xcalloc(1, sizeof *m);
	m->m_sched = sc;
	m->m_cb = cb;
	m->m_arg = arg;
	m->m_pool = sched_pool(sc, s->s_source);
	m->m_run = run_new(sc->s_env, s, from, to, mode);
	if (input != NULL)
		run_set_driver(m->m_run, input);
	LIST_INSERT_HEAD(&sc->s_manual, m, m_entry);
	/* The same limits as scheduled runs: wait in line when full. */
	if (sched_global_open(sc) && sched_pool_open(sc, m->m_pool) &&
	    m->m_pool->p_nwait == 0 && TAILQ_EMPTY(&m->m_pool->p_manq)) {
		sched_manual_start(sc, m);
		return (0);
	}
	TAILQ_INSERT_TAIL(&m->m_pool->p_manq, m, m_wait);
	m->m_waiting = 1;
	m->m_pool->p_nwait++;
	sc->s_nwait++;
	return (0);
}

/* Start a manual run now. */
static void
sched_manual_start(struct sched *sc, struct sched_manual *m)
{
	if (m->m_waiting) {
		TAILQ_REMOVE(&m->m_pool->p_manq, m, m_wait);
		m->m_waiting = 0;
		m->m_pool->p_nwait--;
		sc->s_nwait--;
	}
	sched_count(sc, m->m_pool, 1);
	run_start(m->m_run, sched_manual_done, m);
}

/* A manual run is over: hand it to its caller. */
static void
sched_manual_done(struct run *r, void *arg)
{
	struct sched_manual	*m = arg;
	struct sched		*sc = m->m_sched;

	LIST_REMOVE(m, m_entry);
	sched_count(sc, m->m_pool, -1);
	m->m_cb(r, m->m_arg);
	free(m);
	sched_dispatch(sc);
	sched_check_drained(sc);
}

/* Stop scheduling; calls done once no run is in flight. */
void
sched_drain(struct sched *sc, int64_t grace_ms, void (*done)(void *),
    void *arg)
{
	struct timeval		 tv;
	struct sched_pool	*p;
	struct sched_manual	*m;

	sc->s_draining = 1;
	/* Manual runs still in line start now, under the grace period. */
	TAILQ_FOREACH(p, &sc->s_pools, p_entry) {
		while ((m = TAILQ_FIRST(&p->p_manq)) != NULL)
			sched_manual_start(sc, m);
	}
	sc->s_drained = done;
	sc->s_drained_arg = arg;
	evtimer_del(sc->s_timer);
	tv.tv_sec = grace_ms / 1000;
	tv.tv_usec = (grace_ms % 1000) * 1000;
	evtimer_add(sc->s_grace, &tv);
	sched_check_drained(sc);
}

/* The grace period is over: abort what still runs. */
static void
sched_grace_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sched		*sc = arg;
	struct hmap_iter	 it = { 0 };
	struct sched_manual	*m;
	struct sched_entry	*e;
	void			*v;

	log_warnx("shutdown: aborting %zu runs still in flight",
	    sc->s_inflight);
	while (hmap_next(sc->s_entries, &it, NULL, NULL, &v)) {
		e = v;
		if (e->e_run != NULL)
			run_abort(e->e_run, "411d is shutting down");
	}
	LIST_FOREACH(m, &sc->s_manual, m_entry)
		run_abort(m->m_run, "411d is shutting down");
}

/* When draining and nothing runs, say so (once). */
static void
sched_check_drained(struct sched *sc)
{
	void	(*cb)(void *);

	if (!sc->s_draining || sc->s_inflight > 0 || sc->s_drained == NULL)
		return;
	evtimer_del(sc->s_grace);
	cb = sc->s_drained;
	sc->s_drained = NULL;
	cb(sc->s_drained_arg);
}

/* Runs in flight. */
size_t
sched_inflight(const struct sched *sc)
{
	return (sc->s_inflight);
}

/* Runs waiting for a slot. */
size_t
sched_waiting(const struct sched *sc)
{
	return (sc->s_nwait);
}

/* Searches known. */
size_t
sched_searches(const struct sched *sc)
{
	return (hmap_count(sc->s_entries));
}

/* How late the most overdue run is, ms. */
int64_t
sched_lag(const struct sched *sc)
{
	struct sched_pool	*p;
	int64_t			 now = util_now_ms(), oldest = INT64_MAX;

	if (sc->s_nheap > 0)
		oldest = sc->s_heap[0]->e_due;
	TAILQ_FOREACH(p, &sc->s_pools, p_entry) {
		if (!TAILQ_EMPTY(&p->p_waitq) &&
		    TAILQ_FIRST(&p->p_waitq)->e_due < oldest)
			oldest = TAILQ_FIRST(&p->p_waitq)->e_due;
	}
	if (oldest == INT64_MAX || oldest >= now)
		return (0);
	return (now - oldest);
}
