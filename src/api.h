/*
 * api.h -- the HTTP control endpoint (evhttp): /healthz, /metrics and the
 * /api/v1 routes of CONTRACT.md 5.
 */
#ifndef PROG_API_H
#define PROG_API_H

#include <stddef.h>

struct api;
struct config;
struct outbox;
struct queue;
struct run_env;
struct sched;
struct searches;

/* What the API works on; owned by main, borrowed here. */
struct api_env {
	struct run_env		*ae_run;	/* base, cfg, store, metrics... */
	struct sched		*ae_sched;
	struct queue		*ae_queue;
	struct searches		*ae_searches;
	const char		*ae_version;
};

/*
 * Listen on the config's address.  Returns NULL with err on failure (port
 * taken, bad address).
 */
struct api	*api_new(struct api_env *, char *, size_t);
/* Stop listening and free; accepts NULL. */
void		 api_free(struct api *);
/* The bound address ("127.0.0.1:4110", the real port when 0 was asked). */
const char	*api_address(const struct api *);
/* Switch to a new config (SIGHUP): keys, limits. */
void		 api_reload(struct api *, const struct config *);

#endif
