/* Test helpers for pkg/server (linked into test binaries only): a loop driver with a
 * deadline, a raw HTTP/1.1 client and a raw websocket client on uv_tcp, so tests control
 * every byte (bad frames, oversized messages, abrupt disconnects). Loopback only. */
#ifndef KS_SERVER_SRV_TESTUTIL_H
#define KS_SERVER_SRV_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"

/* Runs the loop until cond(ud) is true (checked before every iteration) or deadline_ms
 * passes; true when the condition held. A NULL cond waits for the loop to be idle. */
bool ks_srvtest_run_until(uv_loop_t *loop, bool (*cond)(void *ud), void *ud, uint64_t deadline_ms);
/* Runs the loop until idle (10 s cap); returns the number of handles still open. */
int ks_srvtest_drain(uv_loop_t *loop);

/* ---- HTTP: one request per connection ("Connection: close" is added). ---- */
typedef struct ks_srvtest_http {
    uv_tcp_t tcp;
    uv_connect_t conn;
    uv_write_t wr;
    ks_buf req;
    ks_buf resp;
    bool done; /* EOF or error */
    int status;
    const char *body; /* into resp, valid when done */
} ks_srvtest_http;

/* method/path/extra_headers ("Name: v\r\n..." or NULL)/body (NULL = none). */
ks_srvtest_http *ks_srvtest_http_start(uv_loop_t *loop, int port, const char *method,
                                       const char *path, const char *extra_headers,
                                       const char *body);
/* Runs the loop until the answer is complete (5 s deadline); false on deadline. */
bool ks_srvtest_http_wait(uv_loop_t *loop, ks_srvtest_http *h);
/* Response header value (case-insensitive name), copied into out; false if absent. */
bool ks_srvtest_http_header(const ks_srvtest_http *h, const char *name, char *out, size_t n);
void ks_srvtest_http_free(ks_srvtest_http *h); /* closes; memory freed on the loop */

/* ---- Websocket client ---- */
typedef struct ks_srvtest_msg {
    char *data;
    size_t len;
} ks_srvtest_msg;

typedef struct ks_srvtest_ws {
    uv_tcp_t tcp;
    uv_connect_t conn;
    ks_buf rx;
    bool connected;  /* TCP up */
    bool upgraded;   /* 101 received */
    int http_status; /* status of the handshake answer */
    bool closed;     /* EOF / error / close frame received */
    int close_code;  /* from the server's close frame, 0 if none */
    char close_reason[128];
    ks_buf frag; /* text message being reassembled */
    ks_srvtest_msg *msgs;
    size_t n_msgs;
    size_t cap_msgs;
    size_t n_frames; /* data frames received (fragmentation checks) */
    bool handle_closed;
    bool free_requested;
} ks_srvtest_ws;

/* Connects and sends the upgrade request for path, with "Authorization: Bearer token"
 * when token is not NULL. */
ks_srvtest_ws *ks_srvtest_ws_connect(uv_loop_t *loop, int port, const char *path,
                                     const char *token);
bool ks_srvtest_ws_wait_upgraded(uv_loop_t *loop, ks_srvtest_ws *ws);
/* Sends one masked frame (opcode 1 text, 2 binary, 8 close). */
void ks_srvtest_ws_send_frame(ks_srvtest_ws *ws, int opcode, const void *p, size_t n);
void ks_srvtest_ws_send_text(ks_srvtest_ws *ws, const char *text);
/* Drops the TCP connection without a close frame. */
void ks_srvtest_ws_abort(ks_srvtest_ws *ws);
void ks_srvtest_ws_free(ks_srvtest_ws *ws); /* closes if open; memory freed on the loop */

#endif
