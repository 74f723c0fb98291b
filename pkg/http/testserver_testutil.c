/* Loopback HTTP/1.1 test server; see testserver.h. */
#include "http/testserver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"

#define TS_MAX_REQUEST (64u * 1024u * 1024u)

typedef struct ts_reply {
    ks_test_action action;
    int status;
    ks_http_header *headers; /* owned copies */
    size_t n_headers;
    char *body;
    size_t body_len;
    uint64_t delay_ms;
    int close_after;
} ts_reply;

typedef struct ts_conn ts_conn;

struct ks_test_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    int port;
    char url[64];
    int destroyed;
    size_t open_handles; /* listener + per connection (tcp + timer) */
    ts_reply *queue;
    size_t n_queue, cap_queue, queue_head;
    ks_test_handler handler;
    void *handler_ud;
    ks_test_request **reqs;
    size_t n_reqs, cap_reqs;
    size_t n_accepted;
    ts_conn *conns; /* open connections */
};

struct ts_conn {
    ks_test_server *srv;
    uv_tcp_t tcp;
    uv_timer_t timer;
    ks_buf in;
    size_t id;
    int busy;    /* an answer is pending (delayed or hung) */
    int closing; /* uv_close called */
    int open;    /* handles still open (tcp + timer) */
    ts_reply pending;
    ts_conn *next;
};

typedef struct ts_write {
    uv_write_t req;
    char *data;
    ts_conn *conn;
    int close_after;
} ts_write;

static void reply_clean_up(ts_reply *r)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        free((char *)r->headers[i].name);
        free((char *)r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static ks_err reply_copy(const ks_test_reply *in, ts_reply *out)
{
    memset(out, 0, sizeof(*out));
    out->action = in->action;
    out->status = in->status ? in->status : 200;
    out->delay_ms = in->delay_ms;
    out->close_after = in->close_after;
    size_t blen = in->body ? (in->body_len ? in->body_len : strlen(in->body)) : 0;
    out->body = malloc(blen + 1);
    if (!out->body)
        goto fail;
    if (blen)
        memcpy(out->body, in->body, blen);
    out->body[blen] = '\0';
    out->body_len = blen;
    if (in->n_headers) {
        out->headers = calloc(in->n_headers, sizeof(*out->headers));
        if (!out->headers)
            goto fail;
        for (size_t i = 0; i < in->n_headers; i++) {
            out->headers[i].name = ks_strdup(in->headers[i].name);
            out->headers[i].value = ks_strdup(in->headers[i].value ? in->headers[i].value : "");
            out->n_headers = i + 1;
            if (!out->headers[i].name || !out->headers[i].value)
                goto fail;
        }
    }
    return KS_OK;
fail:
    reply_clean_up(out);
    return KS_ERR_NOMEM;
}

static void request_free(ks_test_request *r)
{
    if (!r)
        return;
    free(r->method);
    free(r->target);
    free(r->path);
    free(r->query);
    for (size_t i = 0; i < r->n_headers; i++) {
        free((char *)r->headers[i].name);
        free((char *)r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    free(r);
}

static void server_maybe_free(ks_test_server *srv)
{
    if (!srv->destroyed || srv->open_handles)
        return;
    for (size_t i = srv->queue_head; i < srv->n_queue; i++)
        reply_clean_up(&srv->queue[i]);
    free(srv->queue);
    for (size_t i = 0; i < srv->n_reqs; i++)
        request_free(srv->reqs[i]);
    free(srv->reqs);
    free(srv);
}

/* ---- connections ---------------------------------------------------------------- */

static void conn_handle_closed(uv_handle_t *h)
{
    ts_conn *c = h->data;
    ks_test_server *srv = c->srv;
    srv->open_handles--;
    if (--c->open > 0)
        return;
    for (ts_conn **p = &srv->conns; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    ks_buf_clean_up(&c->in);
    reply_clean_up(&c->pending);
    free(c);
    server_maybe_free(srv);
}

static void conn_close(ts_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void conn_process(ts_conn *c);

static void on_written(uv_write_t *req, int status)
{
    ts_write *w = (ts_write *)req;
    ts_conn *c = w->conn;
    int close_after = w->close_after;
    free(w->data);
    free(w);
    if (status == UV_ECANCELED)
        return; /* the connection is closing; c may be gone after this */
    if (status < 0 || close_after)
        conn_close(c);
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

static void conn_send(ts_conn *c, const ts_reply *r)
{
    ks_buf out;
    ks_buf_init(&out);
    int has_len = 0;
    ks_err err = ks_buf_appendf(&out, "HTTP/1.1 %d %s\r\n", r->status, reason(r->status));
    for (size_t i = 0; !err && i < r->n_headers; i++) {
        if (strcasecmp(r->headers[i].name, "content-length") == 0)
            has_len = 1;
        err = ks_buf_appendf(&out, "%s: %s\r\n", r->headers[i].name, r->headers[i].value);
    }
    if (!err && !has_len)
        err = ks_buf_appendf(&out, "Content-Length: %zu\r\n", r->body_len);
    if (!err && r->close_after)
        err = ks_buf_append_str(&out, "Connection: close\r\n");
    if (!err)
        err = ks_buf_append_str(&out, "\r\n");
    if (!err)
        err = ks_buf_append(&out, r->body, r->body_len);
    ts_write *w = err ? NULL : calloc(1, sizeof(*w));
    if (!w) {
        ks_buf_clean_up(&out);
        conn_close(c);
        return;
    }
    w->conn = c;
    w->close_after = r->close_after;
    size_t len = out.len;
    w->data = out.data; /* owned by w now */
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(w->data);
        free(w);
        conn_close(c);
    }
}

static void conn_answer(ts_conn *c)
{
    ts_reply r = c->pending;
    memset(&c->pending, 0, sizeof(c->pending));
    c->busy = 0;
    if (r.action == KS_TEST_CLOSE) {
        reply_clean_up(&r);
        conn_close(c);
        return;
    }
    conn_send(c, &r);
    int close_after = r.close_after;
    reply_clean_up(&r);
    if (!close_after && !c->closing)
        conn_process(c); /* a pipelined request may already be buffered */
}

static void on_delay(uv_timer_t *t)
{
    conn_answer(t->data);
}

static char *dup_range(const char *p, size_t n)
{
    return ks_strndup(p, n);
}

/* Parses one complete request at the start of c->in. Returns 1 when a request was
 * taken (and removed from the buffer), 0 when more bytes are needed, -1 on garbage. */
static int parse_request(ts_conn *c, ks_test_request **out)
{
    *out = NULL;
    char *data = c->in.data;
    if (!data)
        return 0;
    char *end = memmem(data, c->in.len, "\r\n\r\n", 4);
    if (!end)
        return c->in.len > TS_MAX_REQUEST ? -1 : 0;
    size_t head_len = (size_t)(end - data) + 4;
    ks_test_request *r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    /* request line */
    char *line_end = strstr(data, "\r\n");
    char *sp1 = memchr(data, ' ', (size_t)(line_end - data));
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1)) : NULL;
    if (!sp1 || !sp2)
        goto fail;
    r->method = dup_range(data, (size_t)(sp1 - data));
    r->target = dup_range(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    if (!r->method || !r->target)
        goto fail;
    char *q = strchr(r->target, '?');
    r->path = q ? dup_range(r->target, (size_t)(q - r->target)) : ks_strdup(r->target);
    r->query = ks_strdup(q ? q + 1 : "");
    if (!r->path || !r->query)
        goto fail;
    /* headers */
    size_t cap = 0;
    long long content_length = 0;
    for (char *p = line_end + 2; p < end;) {
        char *eol = strstr(p, "\r\n");
        char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon)
            goto fail;
        char *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        char *ve = eol;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        if (r->n_headers == cap) {
            cap = cap ? cap * 2 : 16;
            ks_http_header *nh = realloc(r->headers, cap * sizeof(*nh));
            if (!nh)
                goto fail;
            r->headers = nh;
        }
        ks_http_header *h = &r->headers[r->n_headers];
        h->name = dup_range(p, (size_t)(colon - p));
        h->value = dup_range(v, (size_t)(ve - v));
        r->n_headers++;
        if (!h->name || !h->value)
            goto fail;
        if (strcasecmp(h->name, "content-length") == 0)
            content_length = strtoll(h->value, NULL, 10);
        if (strcasecmp(h->name, "transfer-encoding") == 0)
            goto fail; /* chunked bodies are not supported */
        p = eol + 2;
    }
    if (content_length < 0 || (unsigned long long)content_length > TS_MAX_REQUEST)
        goto fail;
    if (c->in.len < head_len + (size_t)content_length) {
        request_free(r);
        return 0;
    }
    r->body = dup_range(data + head_len, (size_t)content_length);
    if (!r->body)
        goto fail;
    r->body_len = (size_t)content_length;
    r->conn_id = c->id;
    size_t used = head_len + (size_t)content_length;
    memmove(c->in.data, c->in.data + used, c->in.len - used + 1);
    c->in.len -= used;
    *out = r;
    return 1;
fail:
    request_free(r);
    return -1;
}

static void conn_process(ts_conn *c)
{
    ks_test_server *srv = c->srv;
    while (!c->busy && !c->closing) {
        ks_test_request *r;
        int rc = parse_request(c, &r);
        if (rc == 0)
            return;
        if (rc < 0) {
            conn_close(c);
            return;
        }
        if (srv->n_reqs == srv->cap_reqs) {
            size_t cap = srv->cap_reqs ? srv->cap_reqs * 2 : 16;
            ks_test_request **nr = realloc(srv->reqs, cap * sizeof(ks_test_request *));
            if (!nr) {
                request_free(r);
                conn_close(c);
                return;
            }
            srv->reqs = nr;
            srv->cap_reqs = cap;
        }
        srv->reqs[srv->n_reqs++] = r;

        ks_err err = KS_OK;
        if (srv->queue_head < srv->n_queue) {
            c->pending = srv->queue[srv->queue_head];
            memset(&srv->queue[srv->queue_head], 0, sizeof(ts_reply));
            srv->queue_head++;
        } else if (srv->handler) {
            ks_test_reply rep;
            memset(&rep, 0, sizeof(rep));
            srv->handler(srv->handler_ud, r, &rep);
            err = reply_copy(&rep, &c->pending);
        } else {
            err = reply_copy(&(ks_test_reply){.status = 404, .body = "no scripted reply"},
                             &c->pending);
        }
        if (err) {
            conn_close(c);
            return;
        }
        c->busy = 1;
        if (c->pending.action == KS_TEST_HANG)
            return;
        if (c->pending.delay_ms) {
            uv_timer_start(&c->timer, on_delay, c->pending.delay_ms, 0);
            return;
        }
        conn_answer(c);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    ts_conn *c = h->data;
    if (ks_buf_reserve(&c->in, suggested) != KS_OK) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init(c->in.data + c->in.len, (unsigned)suggested);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    ts_conn *c = s->data;
    (void)buf;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    c->in.len += (size_t)nread;
    c->in.data[c->in.len] = '\0';
    conn_process(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    ks_test_server *srv = server->data;
    if (status < 0 || srv->destroyed)
        return;
    ts_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->srv = srv;
    c->id = srv->n_accepted;
    ks_buf_init(&c->in);
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open = 2;
    srv->open_handles += 2;
    c->next = srv->conns;
    srv->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_close(c);
        return;
    }
    srv->n_accepted++;
}

/* ---- server --------------------------------------------------------------------- */

static void listener_closed(uv_handle_t *h)
{
    ks_test_server *srv = h->data;
    srv->open_handles--;
    server_maybe_free(srv);
}

ks_err ks_test_server_start(uv_loop_t *loop, ks_test_server **out)
{
    *out = NULL;
    ks_test_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return KS_ERR_NOMEM;
    srv->loop = loop;
    uv_tcp_init(loop, &srv->listener);
    srv->listener.data = srv;
    srv->open_handles = 1;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    if (uv_tcp_bind(&srv->listener, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&srv->listener, 128, on_connection) != 0 ||
        uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &len) != 0) {
        ks_test_server_destroy(srv);
        return KS_ERR_IO;
    }
    srv->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    snprintf(srv->url, sizeof(srv->url), "http://127.0.0.1:%d", srv->port);
    *out = srv;
    return KS_OK;
}

void ks_test_server_destroy(ks_test_server *srv)
{
    if (!srv || srv->destroyed)
        return;
    srv->destroyed = 1;
    uv_close((uv_handle_t *)&srv->listener, listener_closed);
    for (ts_conn *c = srv->conns; c; c = c->next)
        conn_close(c);
}

int ks_test_server_port(const ks_test_server *srv)
{
    return srv->port;
}

const char *ks_test_server_url(const ks_test_server *srv)
{
    return srv->url;
}

ks_err ks_test_server_push(ks_test_server *srv, const ks_test_reply *reply)
{
    if (srv->n_queue == srv->cap_queue) {
        size_t cap = srv->cap_queue ? srv->cap_queue * 2 : 16;
        ts_reply *nq = realloc(srv->queue, cap * sizeof(*nq));
        if (!nq)
            return KS_ERR_NOMEM;
        srv->queue = nq;
        srv->cap_queue = cap;
    }
    ks_err err = reply_copy(reply, &srv->queue[srv->n_queue]);
    if (err)
        return err;
    srv->n_queue++;
    return KS_OK;
}

ks_err ks_test_server_push_simple(ks_test_server *srv, int status, const char *body)
{
    return ks_test_server_push(srv, &(ks_test_reply){.status = status, .body = body});
}

void ks_test_server_set_handler(ks_test_server *srv, ks_test_handler handler, void *ud)
{
    srv->handler = handler;
    srv->handler_ud = ud;
}

size_t ks_test_server_n_requests(const ks_test_server *srv)
{
    return srv->n_reqs;
}

const ks_test_request *ks_test_server_request(const ks_test_server *srv, size_t i)
{
    return i < srv->n_reqs ? srv->reqs[i] : NULL;
}

size_t ks_test_server_n_connections(const ks_test_server *srv)
{
    return srv->n_accepted;
}

size_t ks_test_server_n_open_connections(const ks_test_server *srv)
{
    size_t n = 0;
    for (const ts_conn *c = srv->conns; c; c = c->next)
        n += !c->closing;
    return n;
}

size_t ks_test_server_n_queued(const ks_test_server *srv)
{
    return srv->n_queue - srv->queue_head;
}

const char *ks_test_request_header(const ks_test_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

size_t ks_test_request_header_count(const ks_test_request *req, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < req->n_headers; i++)
        n += strcasecmp(req->headers[i].name, name) == 0;
    return n;
}

/* ---- loop helpers ----------------------------------------------------------------- */

typedef struct run_state {
    int expired;
    int closed;
} run_state;

static void on_deadline(uv_timer_t *t)
{
    run_state *st = t->data;
    st->expired = 1;
    uv_stop(t->loop);
}

static void on_deadline_closed(uv_handle_t *h)
{
    ((run_state *)h->data)->closed = 1;
}

static void deadline_close(uv_timer_t *t, run_state *st)
{
    uv_close((uv_handle_t *)t, on_deadline_closed);
    while (!st->closed)
        uv_run(t->loop, UV_RUN_NOWAIT);
}

int ks_test_run_until(uv_loop_t *loop, int (*cond)(void *ud), void *ud, uint64_t deadline_ms)
{
    run_state st = {0, 0};
    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = &st;
    uv_timer_start(&t, on_deadline, deadline_ms, 0);
    int ok = 0;
    if (!cond) {
        uv_unref((uv_handle_t *)&t);
        ok = uv_run(loop, UV_RUN_DEFAULT) == 0 && !st.expired;
    } else {
        while (!(ok = cond(ud) != 0) && !st.expired)
            uv_run(loop, UV_RUN_ONCE);
    }
    deadline_close(&t, &st);
    return ok;
}

typedef struct requests_wait {
    const ks_test_server *srv;
    size_t n;
} requests_wait;

static int has_requests(void *ud)
{
    const requests_wait *w = ud;
    return ks_test_server_n_requests(w->srv) >= w->n;
}

int ks_test_server_wait_requests(uv_loop_t *loop, const ks_test_server *srv, size_t n,
                                 uint64_t deadline_ms)
{
    requests_wait w = {srv, n};
    return ks_test_run_until(loop, has_requests, &w, deadline_ms);
}

static void print_handle(uv_handle_t *h, void *arg)
{
    int *n = arg;
    if (uv_is_closing(h))
        return;
    (*n)++;
    fprintf(stderr, "open libuv handle: %s %p active=%d\n", uv_handle_type_name(h->type), (void *)h,
            uv_is_active(h));
}

int ks_test_loop_drain(uv_loop_t *loop)
{
    int idle = ks_test_run_until(loop, NULL, NULL, 10000);
    int n = 0;
    if (!idle)
        uv_walk(loop, print_handle, &n);
    return idle ? 0 : (n ? n : 1);
}
