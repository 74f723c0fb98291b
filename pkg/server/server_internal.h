/* Internal to pkg/server: the lws context shared by the admin and websocket vhosts. */
#ifndef KS_SERVER_INTERNAL_H
#define KS_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <libwebsockets.h>

#include "server/server.h"

/* Lets ws vhost callbacks find their sink; owned by the server so that it outlives a
 * destroyed sink (sink == NULL then) until the context goes away. */
typedef struct ks_ws_ref {
    void *sink;
} ks_ws_ref;

/* Finishes lws context destruction on a foreign libuv loop: lws 4.1 closes its static
 * handles on the loop after the first lws_context_destroy() and frees the context on a
 * second call once they are gone. Allocated at creation, frees itself. */
typedef struct ks_lws_reaper {
    uv_idle_t idle;
    struct lws_context *ctx; /* lws writes NULL here when fully destroyed (pcontext) */
    const void *handles[8];  /* libuv handles lws created with the context */
    size_t n_handles;
    ks_ws_ref ws_ref; /* vhost user of the websocket vhost; lives as long as the context */
} ks_lws_reaper;

struct ks_server {
    uv_loop_t *loop;
    struct lws_context *ctx;
    ks_lws_reaper *reaper;
    struct lws_vhost *admin_vh;
    struct lws_vhost *ws_vh;
    ks_ws_ref *ws_ref;
    ks_admin_hooks hooks;
    ks_metrics *metrics;
    ks_metrics *own_metrics; /* when opts->metrics was NULL */
    char *admin_token;       /* NULL: loopback only */
    bool untrusted_loopback;
    int admin_port;
};

/* Splits "host:port" / "[v6]:port" / ":port". host_out gets "" for any-address
 * ("", "0.0.0.0", "::", "*"). KS_ERR_INVALID when malformed. */
ks_err ks_server_parse_address(const char *addr, char *host_out, size_t host_len, int *port_out,
                               bool *ipv6_out);

/* Creates a listening vhost on the server's context. user is the vhost user pointer. */
ks_err ks_server_add_vhost(ks_server *srv, const char *name, const char *address,
                           const struct lws_protocols *protocols, void *user,
                           struct lws_vhost **out_vh, int *out_port);

/* True when the peer of wsi is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x). */
bool ks_server_peer_is_loopback(struct lws *wsi);

/* Checks "Authorization: Bearer <token>" on wsi against token (constant time). */
bool ks_server_bearer_ok(struct lws *wsi, const char *token);

/* Admin protocol list (admin.c). */
extern const struct lws_protocols ks_admin_protocols[];

#endif
