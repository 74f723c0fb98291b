/* Admin HTTP vhost: probes, metrics, status and operator hooks (docs/admin.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "server/server_internal.h"

#define KS_ADMIN_CHUNK 16384
#define KS_ADMIN_MAX_BODY (64 * 1024) /* request bodies are ignored; larger ones refused */

typedef enum ks_route {
    KS_ROUTE_PING = 0,
    KS_ROUTE_READY,
    KS_ROUTE_METRICS,
    KS_ROUTE_STATUS,
    KS_ROUTE_DRAIN,
    KS_ROUTE_PAUSE,
    KS_ROUTE_RESUME,
    KS_ROUTE_NONE,
} ks_route;

static const struct {
    const char *path;
    const char *method;
} routes[] = {
    [KS_ROUTE_PING] = {"/ping", "GET"},       [KS_ROUTE_READY] = {"/ready", "GET"},
    [KS_ROUTE_METRICS] = {"/metrics", "GET"}, [KS_ROUTE_STATUS] = {"/status", "GET"},
    [KS_ROUTE_DRAIN] = {"/drain", "POST"},    [KS_ROUTE_PAUSE] = {"/pause", "POST"},
    [KS_ROUTE_RESUME] = {"/resume", "POST"},
};

typedef struct ks_admin_pss {
    ks_buf body;     /* response body being sent */
    size_t off;      /* bytes of body already written */
    bool responding; /* headers written, body pending */
    bool awaiting_body;
    bool close_after; /* POST without Content-Length: lws would wait for a body */
    ks_route route;   /* route whose request body is being read */
    size_t rx_body;
} ks_admin_pss;

static const char *method_of(struct lws *wsi)
{
    static const struct {
        enum lws_token_indexes tok;
        const char *name;
    } m[] = {
        {WSI_TOKEN_GET_URI, "GET"},         {WSI_TOKEN_POST_URI, "POST"},
        {WSI_TOKEN_HEAD_URI, "HEAD"},       {WSI_TOKEN_PUT_URI, "PUT"},
        {WSI_TOKEN_DELETE_URI, "DELETE"},   {WSI_TOKEN_PATCH_URI, "PATCH"},
        {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        if (lws_hdr_total_length(wsi, m[i].tok) > 0)
            return m[i].name;
    }
    return "OTHER";
}

static void count_request(ks_server *srv, ks_route route, int status)
{
    ks_buf l;
    ks_buf_init(&l);
    char code[8];
    snprintf(code, sizeof(code), "%d", status);
    if (ks_metrics_label(&l, "path", route == KS_ROUTE_NONE ? "other" : routes[route].path) ==
            KS_OK &&
        ks_metrics_label(&l, "code", code) == KS_OK)
        ks_metric_add(ks_metrics_counter(srv->metrics, "admin_requests_total",
                                         "Admin HTTP requests by path and status code.", l.data),
                      1);
    ks_buf_clean_up(&l);
}

/* Writes the status line and headers now and schedules the body (takes body's memory). */
static int respond(struct lws *wsi, ks_admin_pss *pss, unsigned status, const char *ctype,
                   ks_buf *body, const char *extra_name, const char *extra_value)
{
    unsigned char hbuf[LWS_PRE + 1024];
    unsigned char *start = hbuf + LWS_PRE, *p = start, *end = hbuf + sizeof(hbuf) - 1;
    ks_buf_clean_up(&pss->body);
    pss->body = *body;
    ks_buf_init(body);
    pss->off = 0;
    if (lws_add_http_common_headers(wsi, status, ctype, (lws_filepos_t)pss->body.len, &p, end))
        return -1;
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end))
        return -1;
    if (extra_name && lws_add_http_header_by_name(wsi, (const unsigned char *)extra_name,
                                                  (const unsigned char *)extra_value,
                                                  (int)strlen(extra_value), &p, end))
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    pss->responding = true;
    lws_callback_on_writable(wsi);
    return 0;
}

static int respond_text(struct lws *wsi, ks_admin_pss *pss, unsigned status, const char *ctype,
                        const char *text, const char *extra_name, const char *extra_value)
{
    ks_buf b;
    ks_buf_init(&b);
    if (ks_buf_append_str(&b, text) != KS_OK) {
        ks_buf_clean_up(&b);
        return -1;
    }
    return respond(wsi, pss, status, ctype, &b, extra_name, extra_value);
}

static int error_json(struct lws *wsi, ks_admin_pss *pss, unsigned status, const char *msg,
                      const char *extra_name, const char *extra_value)
{
    ks_buf b;
    ks_buf_init(&b);
    if (ks_buf_append_str(&b, "{\"error\":") || ks_buf_append_json_str(&b, msg, strlen(msg)) ||
        ks_buf_append_str(&b, "}\n")) {
        ks_buf_clean_up(&b);
        return -1;
    }
    return respond(wsi, pss, status, "application/json", &b, extra_name, extra_value);
}

static int handle_get(ks_server *srv, struct lws *wsi, ks_admin_pss *pss, ks_route route)
{
    ks_buf b;
    ks_buf_init(&b);
    unsigned status = 200;
    const char *ctype = "application/json";
    ks_err err = KS_OK;
    switch (route) {
    case KS_ROUTE_PING:
        ctype = "text/plain";
        err = ks_buf_append_str(&b, "pong\n");
        break;
    case KS_ROUTE_READY: {
        bool ready = false;
        if (srv->hooks.ready)
            srv->hooks.ready(srv->hooks.ud, &b, &ready);
        else
            err = ks_buf_append_str(&b, "{\"ready\":false,\"reasons\":[\"not_wired\"]}");
        status = ready ? 200 : 503;
        break;
    }
    case KS_ROUTE_METRICS:
        ctype = KS_METRICS_CONTENT_TYPE;
        count_request(srv, route, 200); /* counted before rendering so it shows itself */
        err = ks_metrics_render(srv->metrics, &b);
        break;
    case KS_ROUTE_STATUS:
        if (srv->hooks.status)
            srv->hooks.status(srv->hooks.ud, &b);
        break;
    default:
        break;
    }
    if (!err && ctype[0] == 'a' && b.len == 0)
        err = ks_buf_append_str(&b, "{}");
    if (!err && ctype[0] == 'a')
        err = ks_buf_append_char(&b, '\n');
    if (err) {
        ks_buf_clean_up(&b);
        count_request(srv, route, 500);
        return error_json(wsi, pss, 500, "internal error", NULL, NULL);
    }
    if (route != KS_ROUTE_METRICS)
        count_request(srv, route, (int)status);
    return respond(wsi, pss, status, ctype, &b, NULL, NULL);
}

static int handle_post(ks_server *srv, struct lws *wsi, ks_admin_pss *pss, ks_route route)
{
    bool loopback = !srv->untrusted_loopback && ks_server_peer_is_loopback(wsi);
    if (!loopback && !ks_server_bearer_ok(wsi, srv->admin_token)) {
        char peer[64] = "";
        lws_get_peer_simple(wsi, peer, sizeof(peer));
        KS_WARN("admin: refused %s from %s (%s)", routes[route].path, peer,
                srv->admin_token ? "missing or wrong bearer token" : "not loopback");
        if (srv->admin_token) {
            count_request(srv, route, 401);
            return error_json(wsi, pss, 401, "a valid bearer token is required",
                              "www-authenticate:", "Bearer");
        }
        count_request(srv, route, 403);
        return error_json(wsi, pss, 403,
                          "operator hooks are accepted from loopback only (no token configured)",
                          NULL, NULL);
    }
    void (*hook)(void *) = route == KS_ROUTE_DRAIN   ? srv->hooks.drain
                           : route == KS_ROUTE_PAUSE ? srv->hooks.pause
                                                     : srv->hooks.resume;
    char arg[16] = "";
    const char *v = route == KS_ROUTE_DRAIN
                        ? lws_get_urlarg_by_name(wsi, "exit=", arg, (int)sizeof(arg))
                        : NULL;
    bool exit_after = v && (!strcmp(v, "1") || !strcmp(v, "true"));
    if (exit_after && srv->hooks.drain_exit)
        hook = srv->hooks.drain_exit;
    if (!hook) {
        count_request(srv, route, 501);
        return error_json(wsi, pss, 501, "not available", NULL, NULL);
    }
    KS_INFO("admin: %s%s requested", routes[route].path + 1, exit_after ? " (then exit)" : "");
    hook(srv->hooks.ud);
    count_request(srv, route, 202);
    char msg[64];
    snprintf(msg, sizeof(msg), "{\"accepted\":true,\"action\":\"%s\"}\n", routes[route].path + 1);
    return respond_text(wsi, pss, 202, "application/json", msg, NULL, NULL);
}

static int on_http(ks_server *srv, struct lws *wsi, ks_admin_pss *pss, const char *path)
{
    const char *method = method_of(wsi);
    pss->close_after =
        strcmp(method, "GET") != 0 && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0;
    ks_route route = KS_ROUTE_NONE;
    for (size_t i = 0; i < KS_ROUTE_NONE; i++) {
        if (!strcmp(path, routes[i].path))
            route = (ks_route)i;
    }
    if (route == KS_ROUTE_NONE) {
        count_request(srv, route, 404);
        return error_json(wsi, pss, 404, "not found", NULL, NULL);
    }
    if (strcmp(method, routes[route].method) != 0) {
        count_request(srv, route, 405);
        return error_json(wsi, pss, 405, "method not allowed", "allow:", routes[route].method);
    }
    if (route < KS_ROUTE_DRAIN)
        return handle_get(srv, wsi, pss, route);
    char cl[24] = "";
    if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 && atol(cl) > 0) {
        if (atol(cl) > KS_ADMIN_MAX_BODY) {
            count_request(srv, route, 413);
            /* lws must not read the body: answer and close. */
            lws_return_http_status(wsi, 413, "request body too large");
            return -1;
        }
        pss->awaiting_body = true; /* answer once the (ignored) body has been read */
        pss->route = route;
        pss->rx_body = 0;
        return 0;
    }
    return handle_post(srv, wsi, pss, route);
}

static int on_writeable(struct lws *wsi, ks_admin_pss *pss)
{
    if (!pss->responding)
        return 0;
    unsigned char buf[LWS_PRE + KS_ADMIN_CHUNK];
    size_t left = pss->body.len - pss->off;
    size_t n = left < KS_ADMIN_CHUNK ? left : KS_ADMIN_CHUNK;
    bool final = n == left;
    if (n)
        memcpy(buf + LWS_PRE, pss->body.data + pss->off, n);
    if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
        return -1;
    pss->off += n;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    pss->responding = false;
    ks_buf_clean_up(&pss->body);
    if (pss->close_after)
        return -1; /* lws flushes what is still buffered before closing */
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int admin_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len)
{
    ks_admin_pss *pss = user;
    struct lws_vhost *vh = lws_get_vhost(wsi);
    ks_server *srv = vh ? lws_vhost_user(vh) : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (!srv || !pss)
            return -1;
        memset(pss, 0, sizeof(*pss));
        return on_http(srv, wsi, pss, in ? (const char *)in : "");
    case LWS_CALLBACK_HTTP_BODY:
        if (pss) {
            pss->rx_body += len;
            if (pss->rx_body > KS_ADMIN_MAX_BODY)
                return -1;
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!srv || !pss || !pss->awaiting_body)
            return -1;
        pss->awaiting_body = false;
        return handle_post(srv, wsi, pss, pss->route);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return pss ? on_writeable(wsi, pss) : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss) {
            ks_buf_clean_up(&pss->body);
            pss->responding = false;
        }
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols ks_admin_protocols[] = {
    {"ks-admin", admin_callback, sizeof(ks_admin_pss), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

ks_err ks_admin_ready_eval(const ks_ready_state *st, ks_buf *out, bool *ready_out)
{
    const char *reasons[3];
    size_t n = 0;
    if (!st->dynamo_healthy)
        reasons[n++] = "dynamodb_unhealthy";
    if (st->draining)
        reasons[n++] = "draining";
    if (st->leases_held == 0 && !st->healthy_standby)
        reasons[n++] = "no_lease_and_not_standby";
    *ready_out = n == 0;
    ks_err err = ks_buf_append_str(out, n ? "{\"ready\":false,\"reasons\":[" : "{\"ready\":true");
    for (size_t i = 0; i < n && !err; i++)
        err = ks_buf_appendf(out, "%s\"%s\"", i ? "," : "", reasons[i]);
    if (!err)
        err = ks_buf_appendf(out, "%s,\"leases_held\":%zu,\"standby\":%s}", n ? "]" : "",
                             st->leases_held,
                             st->leases_held == 0 && st->healthy_standby ? "true" : "false");
    return err;
}
