/* A loopback HTTP/1.1 server for unit tests (linked into test binaries only).
 *
 * It runs on the test's libuv loop, listens on 127.0.0.1 with a free port (bind port 0),
 * parses every request (method, target, headers, body by Content-Length), records it so
 * the test can assert the exact requests sent, and answers from a scripted FIFO queue,
 * else from a handler callback, else with "404 no scripted reply". Keep-alive: several
 * requests on one connection are answered in order. Chunked request bodies are not
 * supported (the connection is closed).
 *
 * Typical use:
 *
 *   ks_test_server *srv;
 *   assert_int_equal(ks_test_server_start(loop, &srv), KS_OK);
 *   ks_test_server_push(srv, &(ks_test_reply){.status = 200, .body = "{}"});
 *   ... send a request to ks_test_server_url(srv) ...
 *   assert_true(ks_test_run_until(loop, has_one_request, srv, 5000));
 *   const ks_test_request *r = ks_test_server_request(srv, 0);
 *   assert_string_equal(r->method, "POST");
 *   ks_test_server_destroy(srv);
 *   ks_test_loop_drain(loop);   // closes handles; the server memory is freed then
 *
 * Ownership: everything in a ks_test_reply passed in is copied. Recorded requests stay
 * valid until ks_test_server_destroy(). */
#ifndef KS_HTTP_TESTSERVER_H
#define KS_HTTP_TESTSERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/err.h"
#include "http/http.h"

typedef struct ks_test_server ks_test_server;

/* One recorded request. Strings are NUL-terminated and owned by the server. */
typedef struct ks_test_request {
    char *method;            /* "POST" */
    char *target;            /* path and query as sent: "/a/b?x=1" */
    char *path;              /* "/a/b" */
    char *query;             /* "x=1", or "" when there is none */
    ks_http_header *headers; /* names and values as received (value trimmed), in order */
    size_t n_headers;
    char *body; /* NUL-terminated (body[body_len] == 0); "" when none */
    size_t body_len;
    size_t conn_id; /* 0-based index of the accepted connection it came on */
} ks_test_request;

typedef enum ks_test_action {
    KS_TEST_RESPOND = 0, /* send the reply (after delay_ms) */
    KS_TEST_CLOSE,       /* close the connection without answering (after delay_ms) */
    KS_TEST_HANG,        /* never answer; the connection stays open until destroy */
} ks_test_action;

/* A scripted answer. Content-Length is added unless a header of that name is given. */
typedef struct ks_test_reply {
    ks_test_action action;
    int status; /* 0 = 200 */
    const ks_http_header *headers;
    size_t n_headers;
    const char *body; /* NULL = empty */
    size_t body_len;  /* 0 with a non-NULL body = strlen(body) */
    uint64_t delay_ms;
    int close_after; /* send "Connection: close" and close after the answer */
} ks_test_reply;

/* Called for a request when the scripted queue is empty. Fill *reply (zeroed on entry);
 * pointers in it must stay valid until the handler returns (they are copied). */
typedef void (*ks_test_handler)(void *ud, const ks_test_request *req, ks_test_reply *reply);

ks_err ks_test_server_start(uv_loop_t *loop, ks_test_server **out);
/* Closes the listener and every connection (hung or delayed answers are dropped) and
 * frees everything once the handles have closed: run the loop afterwards (e.g.
 * ks_test_loop_drain). Recorded requests must not be used after this. Accepts NULL. */
void ks_test_server_destroy(ks_test_server *srv);

int ks_test_server_port(const ks_test_server *srv);
/* "http://127.0.0.1:PORT" (no trailing slash); valid until destroy. */
const char *ks_test_server_url(const ks_test_server *srv);

/* Appends a scripted answer to the queue (FIFO, one per request). */
ks_err ks_test_server_push(ks_test_server *srv, const ks_test_reply *reply);
/* Shorthand: status + body (NUL-terminated or NULL). */
ks_err ks_test_server_push_simple(ks_test_server *srv, int status, const char *body);
void ks_test_server_set_handler(ks_test_server *srv, ks_test_handler handler, void *ud);

size_t ks_test_server_n_requests(const ks_test_server *srv);
/* The i-th recorded request (0-based, in arrival order), or NULL. */
const ks_test_request *ks_test_server_request(const ks_test_server *srv, size_t i);
/* Connections accepted so far (connection reuse checks). */
size_t ks_test_server_n_connections(const ks_test_server *srv);
/* Connections currently open. */
size_t ks_test_server_n_open_connections(const ks_test_server *srv);
/* Scripted answers not yet used. */
size_t ks_test_server_n_queued(const ks_test_server *srv);

/* First header of that name (case-insensitive) in a recorded request, or NULL. */
const char *ks_test_request_header(const ks_test_request *req, const char *name);
/* Number of headers of that name (case-insensitive). */
size_t ks_test_request_header_count(const ks_test_request *req, const char *name);

/* Loop helpers for tests (no sleeps as synchronisation).
 * Runs the loop until cond(ud) returns non-zero (checked before each iteration) or
 * deadline_ms passes. Returns 1 when the condition holds, 0 on deadline. A NULL cond
 * runs until the loop has nothing left to do (returns 1) or the deadline. */
int ks_test_run_until(uv_loop_t *loop, int (*cond)(void *ud), void *ud, uint64_t deadline_ms);
/* Runs the loop until srv has recorded at least n requests; 1 then, 0 on deadline. */
int ks_test_server_wait_requests(uv_loop_t *loop, const ks_test_server *srv, size_t n,
                                 uint64_t deadline_ms);
/* Runs the loop until it is idle (deadline 10 s) and returns the number of handles still
 * open (0 = clean). Prints open handles to stderr when not clean. */
int ks_test_loop_drain(uv_loop_t *loop);

#endif
