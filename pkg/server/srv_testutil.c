/* Test helpers for pkg/server; see srv_testutil.h. */
#include "server/srv_testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct deadline {
    uv_timer_t timer;
    bool fired;
} deadline;

static void deadline_cb(uv_timer_t *t)
{
    ((deadline *)t->data)->fired = true;
}

static void free_on_close(uv_handle_t *h)
{
    free(h->data);
}

bool ks_srvtest_run_until(uv_loop_t *loop, bool (*cond)(void *ud), void *ud, uint64_t deadline_ms)
{
    deadline *d = calloc(1, sizeof(*d));
    if (!d)
        return false;
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, deadline_cb, deadline_ms, 0);
    uv_unref((uv_handle_t *)&d->timer); /* does not keep an otherwise idle loop alive */
    bool ok = false;
    for (;;) {
        if (cond && cond(ud)) {
            ok = true;
            break;
        }
        if (d->fired)
            break;
        if (!uv_run(loop, UV_RUN_ONCE) && !cond) {
            ok = true;
            break;
        }
    }
    uv_timer_stop(&d->timer);
    uv_close((uv_handle_t *)&d->timer, free_on_close);
    uv_run(loop, UV_RUN_NOWAIT);
    return ok;
}

static void print_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        fprintf(stderr, "open handle: %s\n", uv_handle_type_name(uv_handle_get_type(h)));
}

static void count_handle(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        (*(int *)arg)++;
}

int ks_srvtest_drain(uv_loop_t *loop)
{
    ks_srvtest_run_until(loop, NULL, NULL, 10000);
    int n = 0;
    uv_walk(loop, count_handle, &n);
    if (n)
        uv_walk(loop, print_handle, NULL);
    return n;
}

/* ---------------- HTTP ---------------- */

static void http_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    static char slab[65536];
    *buf = uv_buf_init(slab, sizeof(slab));
}

static void http_finish(ks_srvtest_http *h)
{
    if (h->done)
        return;
    h->done = true;
    uv_read_stop((uv_stream_t *)&h->tcp);
    if (h->resp.data && sscanf(h->resp.data, "HTTP/1.%*d %d", &h->status) != 1)
        h->status = -1;
    const char *b = h->resp.data ? strstr(h->resp.data, "\r\n\r\n") : NULL;
    h->body = b ? b + 4 : "";
}

static void http_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    ks_srvtest_http *h = s->data;
    if (n > 0)
        ks_buf_append(&h->resp, buf->base, (size_t)n);
    else if (n < 0)
        http_finish(h);
}

static void http_written(uv_write_t *w, int status)
{
    (void)w;
    (void)status;
}

static void http_connected(uv_connect_t *c, int status)
{
    ks_srvtest_http *h = c->data;
    if (status < 0) {
        http_finish(h);
        return;
    }
    uv_buf_t b = uv_buf_init(h->req.data, (unsigned)h->req.len);
    uv_write(&h->wr, (uv_stream_t *)&h->tcp, &b, 1, http_written);
    uv_read_start((uv_stream_t *)&h->tcp, http_alloc, http_read);
}

ks_srvtest_http *ks_srvtest_http_start(uv_loop_t *loop, int port, const char *method,
                                       const char *path, const char *extra_headers,
                                       const char *body)
{
    ks_srvtest_http *h = calloc(1, sizeof(*h));
    ks_buf_init(&h->req);
    ks_buf_init(&h->resp);
    ks_buf_appendf(&h->req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s",
                   method, path, port, extra_headers ? extra_headers : "");
    if (body)
        ks_buf_appendf(&h->req, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    else
        ks_buf_append_str(&h->req, "\r\n");
    uv_tcp_init(loop, &h->tcp);
    h->tcp.data = h;
    h->conn.data = h;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", port, &sa);
    uv_tcp_connect(&h->conn, &h->tcp, (const struct sockaddr *)&sa, http_connected);
    return h;
}

static bool http_done(void *ud)
{
    return ((ks_srvtest_http *)ud)->done;
}

bool ks_srvtest_http_wait(uv_loop_t *loop, ks_srvtest_http *h)
{
    return ks_srvtest_run_until(loop, http_done, h, 5000);
}

bool ks_srvtest_http_header(const ks_srvtest_http *h, const char *name, char *out, size_t n)
{
    const char *p = h->resp.data ? strstr(h->resp.data, "\r\n") : NULL;
    size_t nl = strlen(name);
    while (p && p[2] != '\r') {
        p += 2;
        if (!strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t vl = e ? (size_t)(e - v) : strlen(v);
            snprintf(out, n, "%.*s", (int)vl, v);
            return true;
        }
        p = strstr(p, "\r\n");
    }
    return false;
}

static void http_closed(uv_handle_t *hd)
{
    ks_srvtest_http *h = hd->data;
    ks_buf_clean_up(&h->req);
    ks_buf_clean_up(&h->resp);
    free(h);
}

void ks_srvtest_http_free(ks_srvtest_http *h)
{
    if (h)
        uv_close((uv_handle_t *)&h->tcp, http_closed);
}

/* ---------------- Websocket ---------------- */

static void ws_write_done(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

static void ws_send_raw(ks_srvtest_ws *ws, const void *p, size_t n)
{
    if (ws->closed || uv_is_closing((uv_handle_t *)&ws->tcp))
        return;
    uv_write_t *w = calloc(1, sizeof(*w));
    char *copy = malloc(n ? n : 1);
    memcpy(copy, p, n);
    w->data = copy;
    uv_buf_t b = uv_buf_init(copy, (unsigned)n);
    if (uv_write(w, (uv_stream_t *)&ws->tcp, &b, 1, ws_write_done) != 0) {
        free(copy);
        free(w);
    }
}

void ks_srvtest_ws_send_frame(ks_srvtest_ws *ws, int opcode, const void *p, size_t n)
{
    unsigned char *f = malloc(n + 14);
    size_t h = 0;
    f[h++] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        f[h++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        f[h++] = 0x80 | 126;
        f[h++] = (unsigned char)(n >> 8);
        f[h++] = (unsigned char)n;
    } else {
        f[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            f[h++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    memcpy(f + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        f[h + i] = ((const unsigned char *)p)[i] ^ mask[i % 4];
    ws_send_raw(ws, f, h + n);
    free(f);
}

void ks_srvtest_ws_send_text(ks_srvtest_ws *ws, const char *text)
{
    ks_srvtest_ws_send_frame(ws, 1, text, strlen(text));
}

static void ws_push_msg(ks_srvtest_ws *ws)
{
    if (ws->n_msgs == ws->cap_msgs) {
        ws->cap_msgs = ws->cap_msgs ? ws->cap_msgs * 2 : 16;
        ws->msgs = realloc(ws->msgs, ws->cap_msgs * sizeof(*ws->msgs));
    }
    ks_srvtest_msg *m = &ws->msgs[ws->n_msgs++];
    m->len = ws->frag.len;
    m->data = malloc(m->len + 1);
    if (m->len)
        memcpy(m->data, ws->frag.data, m->len);
    m->data[m->len] = '\0';
    ks_buf_reset(&ws->frag);
}

/* Parses complete frames from rx (server frames are unmasked). */
static void ws_parse(ks_srvtest_ws *ws)
{
    size_t off = 0;
    const unsigned char *d = (const unsigned char *)ws->rx.data;
    while (ws->rx.len - off >= 2) {
        size_t h = 2;
        uint64_t len = d[off + 1] & 0x7f;
        if (len == 126) {
            if (ws->rx.len - off < 4)
                break;
            len = ((uint64_t)d[off + 2] << 8) | d[off + 3];
            h = 4;
        } else if (len == 127) {
            if (ws->rx.len - off < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | d[off + 2 + i];
            h = 10;
        }
        if (ws->rx.len - off < h + len)
            break;
        int op = d[off] & 0x0f;
        bool fin = d[off] & 0x80;
        const unsigned char *pl = d + off + h;
        if (op == 8) {
            if (!ws->closed)
                ks_srvtest_ws_send_frame(ws, 8, pl, len >= 2 ? 2 : 0); /* echo the code */
            ws->closed = true;
            if (len >= 2) {
                ws->close_code = (pl[0] << 8) | pl[1];
                snprintf(ws->close_reason, sizeof(ws->close_reason), "%.*s", (int)(len - 2),
                         (const char *)pl + 2);
            }
        } else if (op == 9) {
            ks_srvtest_ws_send_frame(ws, 10, pl, (size_t)len);
        } else if (op == 0 || op == 1 || op == 2) {
            ws->n_frames++;
            ks_buf_append(&ws->frag, pl, (size_t)len);
            if (fin)
                ws_push_msg(ws);
        }
        off += h + (size_t)len;
    }
    if (off) {
        memmove(ws->rx.data, ws->rx.data + off, ws->rx.len - off);
        ws->rx.len -= off;
    }
}

static void ws_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    static char slab[65536];
    *buf = uv_buf_init(slab, sizeof(slab));
}

static void ws_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    ks_srvtest_ws *ws = s->data;
    if (n < 0) {
        ws->closed = true;
        uv_read_stop(s);
        return;
    }
    ks_buf_append(&ws->rx, buf->base, (size_t)n);
    if (!ws->upgraded) {
        char *e = ws->rx.data ? strstr(ws->rx.data, "\r\n\r\n") : NULL;
        if (!e)
            return;
        sscanf(ws->rx.data, "HTTP/1.%*d %d", &ws->http_status);
        if (ws->http_status != 101) {
            ws->closed = true;
            return;
        }
        ws->upgraded = true;
        size_t hl = (size_t)(e + 4 - ws->rx.data);
        memmove(ws->rx.data, ws->rx.data + hl, ws->rx.len - hl);
        ws->rx.len -= hl;
    }
    ws_parse(ws);
}

static void ws_connected(uv_connect_t *c, int status)
{
    ks_srvtest_ws *ws = c->data;
    if (status < 0) {
        ws->closed = true;
        return;
    }
    ws->connected = true;
    uv_read_start((uv_stream_t *)&ws->tcp, ws_alloc, ws_read);
}

ks_srvtest_ws *ks_srvtest_ws_connect(uv_loop_t *loop, int port, const char *path, const char *token)
{
    ks_srvtest_ws *ws = calloc(1, sizeof(*ws));
    ks_buf_init(&ws->rx);
    ks_buf_init(&ws->frag);
    uv_tcp_init(loop, &ws->tcp);
    ws->tcp.data = ws;
    ws->conn.data = ws;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", port, &sa);
    uv_tcp_connect(&ws->conn, &ws->tcp, (const struct sockaddr *)&sa, ws_connected);
    ks_buf req;
    ks_buf_init(&req);
    ks_buf_appendf(&req,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n",
                   path, port);
    if (token)
        ks_buf_appendf(&req, "Authorization: Bearer %s\r\n", token);
    ks_buf_append_str(&req, "\r\n");
    /* uv queues writes issued before the connection completes. */
    ws_send_raw(ws, req.data, req.len);
    ks_buf_clean_up(&req);
    return ws;
}

static bool ws_upgraded_or_closed(void *ud)
{
    ks_srvtest_ws *ws = ud;
    return ws->upgraded || ws->closed;
}

bool ks_srvtest_ws_wait_upgraded(uv_loop_t *loop, ks_srvtest_ws *ws)
{
    return ks_srvtest_run_until(loop, ws_upgraded_or_closed, ws, 5000) && ws->upgraded;
}

static void ws_closed_cb(uv_handle_t *h)
{
    ks_srvtest_ws *ws = h->data;
    ws->handle_closed = true;
    if (!ws->free_requested)
        return;
    for (size_t i = 0; i < ws->n_msgs; i++)
        free(ws->msgs[i].data);
    free(ws->msgs);
    ks_buf_clean_up(&ws->rx);
    ks_buf_clean_up(&ws->frag);
    free(ws);
}

void ks_srvtest_ws_abort(ks_srvtest_ws *ws)
{
    ws->closed = true;
    if (!uv_is_closing((uv_handle_t *)&ws->tcp))
        uv_tcp_close_reset(&ws->tcp, ws_closed_cb);
}

void ks_srvtest_ws_free(ks_srvtest_ws *ws)
{
    if (!ws)
        return;
    ws->free_requested = true;
    if (ws->handle_closed) {
        ws_closed_cb((uv_handle_t *)&ws->tcp);
        return;
    }
    if (!uv_is_closing((uv_handle_t *)&ws->tcp))
        uv_close((uv_handle_t *)&ws->tcp, ws_closed_cb);
}
