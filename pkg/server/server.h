/* libwebsockets on the process's libuv loop (LWS_SERVER_OPTION_LIBUV + foreign_loops):
 * one lws context, one vhost for the admin HTTP endpoints and, when the websocket
 * output is configured, one vhost for the records websocket (see ws_sink.h).
 *
 * Admin endpoints (docs/admin.md):
 *   GET  /ping     200 "pong" while the loop turns
 *   GET  /ready    200 / 503 with the JSON the ready hook writes
 *   GET  /metrics  Prometheus text of the registry
 *   GET  /status   200 with the JSON the status hook writes
 *   POST /drain, /pause, /resume  202; loopback peers only, or any peer presenting
 *                  "Authorization: Bearer <token>" (token read from token_file at start)
 *   anything else  404; known path with another method 405 (with an Allow header)
 *
 * The server does not know the engine: it calls the hooks below, on the loop thread,
 * once per request. Teardown: ks_server_destroy() (after destroying any sink created
 * on it), then close your own handles, then run the loop until it is idle. */
#ifndef KS_SERVER_SERVER_H
#define KS_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "core/buf.h"
#include "core/err.h"
#include "metrics/metrics.h"

typedef struct ks_server ks_server;

typedef struct ks_admin_hooks {
    /* Appends the /ready body (a JSON object, e.g. from ks_admin_ready_eval) and sets
     * *ready_out. NULL: not ready, reason "not_wired". */
    void (*ready)(void *ud, ks_buf *json_out, bool *ready_out);
    /* Appends the /status body (a JSON object). NULL: {}. */
    void (*status)(void *ud, ks_buf *json_out);
    /* Operator hooks; each may be NULL (then the endpoint answers 501). */
    void (*drain)(void *ud);
    void (*pause)(void *ud);
    void (*resume)(void *ud);
    /* POST /drain?exit=1 (`kinesis-sidecar drain --exit`): drain, then exit the process.
     * NULL: treated as a plain drain. */
    void (*drain_exit)(void *ud);
    void *ud;
} ks_admin_hooks;

typedef struct ks_server_opts {
    uv_loop_t *loop;              /* required; the server joins it */
    const char *admin_address;    /* "host:port"; NULL = "0.0.0.0:4195"; port 0 = any */
    const char *admin_token_file; /* NULL: operator hooks loopback-only */
    ks_admin_hooks hooks;
    ks_metrics *metrics;     /* borrowed, rendered at /metrics; NULL = empty. The server
                                adds its own series (kinesis_sidecar_admin_*). */
    bool untrusted_loopback; /* tests: treat loopback peers like remote ones */
} ks_server_opts;

/* Creates the lws context on opts->loop and starts listening. KS_ERR_IO when the
 * address cannot be bound or the lws libuv plugin is missing; KS_ERR_INVALID for a
 * malformed address; KS_ERR_NOT_FOUND/KS_ERR_INVALID for an unreadable/empty token file. */
ks_err ks_server_new(const ks_server_opts *opts, ks_server **out);
/* Closes every connection and the lws context; accepts NULL. lws finishes closing its
 * libuv handles on the loop: run the loop afterwards until it is idle. */
void ks_server_destroy(ks_server *srv);

/* The admin port actually bound (useful with port 0). */
int ks_server_admin_port(const ks_server *srv);

/* Readiness as DESIGN.md section 7 defines it, as a pure function. */
typedef struct ks_ready_state {
    bool dynamo_healthy;  /* last lease/commit write succeeded within lease_period */
    bool draining;        /* drain requested (SIGTERM, preStop, POST /drain) */
    size_t leases_held;   /* shards this sidecar holds */
    bool healthy_standby; /* every claimable shard is held by a live peer */
} ks_ready_state;

/* Appends {"ready":true,"leases_held":N,"standby":B} or
 * {"ready":false,"reasons":[...],"leases_held":N,"standby":B} and sets *ready_out.
 * Reasons: "dynamodb_unhealthy", "draining", "no_lease_and_not_standby". */
ks_err ks_admin_ready_eval(const ks_ready_state *st, ks_buf *json_out, bool *ready_out);

/* Constant-time comparison of a presented secret with the expected one. */
bool ks_secret_equal(const char *presented, size_t presented_len, const char *expected);

/* Reads a token file (e.g. a mounted Kubernetes secret): trailing whitespace removed.
 * KS_ERR_NOT_FOUND if unreadable, KS_ERR_INVALID if empty. *out is malloc'd. */
ks_err ks_read_token_file(const char *path, char **out);

#endif
