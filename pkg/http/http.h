/* Asynchronous HTTP client: libcurl's multi_socket API driven by a libuv loop
 * (the pattern of curl's docs/examples/multi-uv.c). No blocking calls, no threads.
 *
 * Ownership: ks_http_send() copies everything in the request; the response passed to
 * the callback is valid only during the callback. The callback runs exactly once per
 * successfully started request, on the loop thread — including on ks_http_destroy()
 * (err = KS_ERR_CANCELLED) and on ks_http_cancel(). */
#ifndef KS_HTTP_HTTP_H
#define KS_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "core/err.h"

typedef struct ks_http ks_http;
typedef struct ks_http_call ks_http_call;

/* TCP socket options applied to every connection made for a request. Semantics as the
 * seed documents `tcp.*`: keep_alive_idle_ms < 0 disables keep-alive; 0 means default
 * (15 s idle and interval; seconds, rounded up). keep_alive_count > 0 sets TCP_KEEPCNT.
 * Connections are pooled per ks_http and reused: options apply when a connection is
 * made, so use one ks_http per set of options when they differ. */
typedef struct ks_tcp_opts {
    int64_t connect_timeout_ms; /* 0 = libcurl default */
    int64_t keep_alive_idle_ms;
    int64_t keep_alive_interval_ms;
    int64_t keep_alive_count;
    int64_t tcp_user_timeout_ms; /* 0 = off; Linux TCP_USER_TIMEOUT */
} ks_tcp_opts;

typedef struct ks_http_header {
    const char *name;
    const char *value;
} ks_http_header;

typedef struct ks_http_request {
    const char *method; /* "GET", "POST", "PUT", ... */
    const char *url;
    const ks_http_header *headers;
    size_t n_headers;
    const void *body; /* may be NULL */
    size_t body_len;
    uint64_t timeout_ms;    /* whole-request deadline; 0 = none (avoid) */
    const ks_tcp_opts *tcp; /* NULL = defaults */
} ks_http_request;

typedef struct ks_http_response {
    ks_err err;          /* KS_OK when an HTTP response arrived (any status) */
    const char *err_msg; /* transport error detail when err != KS_OK */
    long status;         /* HTTP status, 0 if none */
    const char *body;    /* NUL-terminated; "" if none */
    size_t body_len;
    /* Response headers, lower-cased names, in arrival order. */
    const ks_http_header *headers;
    size_t n_headers;
} ks_http_response;

typedef void (*ks_http_done_cb)(void *ud, const ks_http_response *resp);

ks_err ks_http_new(uv_loop_t *loop, ks_http **out);
/* Cancels every pending request (callbacks run with KS_ERR_CANCELLED), then frees.
 * Accepts NULL. Handles close asynchronously: run the loop afterwards until it is idle. */
void ks_http_destroy(ks_http *http);

/* Starts a request. out_call (optional) receives a handle valid until the callback runs. */
ks_err ks_http_send(ks_http *http, const ks_http_request *req, ks_http_done_cb cb, void *ud,
                    ks_http_call **out_call);
/* Cancels a pending request; its callback runs synchronously with KS_ERR_CANCELLED. */
void ks_http_cancel(ks_http_call *call);

/* Number of requests in flight (for shutdown and tests). */
size_t ks_http_pending(const ks_http *http);

/* Looks up a response header by lower-case name; NULL if absent. */
const char *ks_http_response_header(const ks_http_response *resp, const char *name);

/* Test-only hook: called with the file descriptor of every new connection once libcurl
 * hands it to the loop (every socket option is applied by then), so tests can read the
 * options back with getsockopt(). Process-wide; NULL removes it. */
typedef void (*ks_http_sockopt_observer)(void *ud, int fd);
void ks_http_set_sockopt_observer(ks_http_sockopt_observer fn, void *ud);

#endif
