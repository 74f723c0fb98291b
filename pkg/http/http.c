/* libcurl multi_socket driven by libuv (the pattern of curl's docs/examples/multi-uv.c).
 *
 * Lifetime: the ks_http owns one CURLM, one uv_timer and one uv_poll per curl socket.
 * ks_http_destroy() cancels every call (callbacks run with KS_ERR_CANCELLED), cleans up
 * the multi handle and closes the uv handles; the struct is freed in the last close
 * callback. Destroy from inside a callback is deferred until curl's stack unwinds. */
#include "http/http.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"

#define KS_HTTP_DEFAULT_KEEPALIVE_MS 15000

typedef struct ks_sock_ctx ks_sock_ctx;

struct ks_http {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    ks_http_call *calls; /* doubly linked list of calls in flight */
    size_t n_calls;
    ks_sock_ctx *socks; /* live socket contexts */
    size_t open_handles;
    int depth;     /* > 0 while inside curl / dispatch code */
    int destroyed; /* ks_http_destroy called */
    int finished;  /* multi cleaned up, handles closing */
};

struct ks_http_call {
    ks_http *http;
    CURL *easy;
    struct curl_slist *req_headers;
    char *body;
    ks_tcp_opts tcp;
    ks_http_done_cb cb;
    void *ud;
    ks_buf resp_body;
    ks_http_header *resp_headers; /* owned strings */
    size_t n_resp_headers, cap_resp_headers;
    char errbuf[CURL_ERROR_SIZE];
    ks_http_call *prev, *next;
};

struct ks_sock_ctx {
    ks_http *http;
    uv_poll_t poll;
    curl_socket_t fd;
    ks_sock_ctx *prev, *next;
};

static ks_http_sockopt_observer g_observer;
static void *g_observer_ud;

void ks_http_set_sockopt_observer(ks_http_sockopt_observer fn, void *ud)
{
    g_observer = fn;
    g_observer_ud = ud;
}

/* ---- global init ------------------------------------------------------------------ */

static int g_curl_ready;

static ks_err curl_global(void)
{
    if (g_curl_ready)
        return KS_OK;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return KS_ERR_IO;
    g_curl_ready = 1;
    return KS_OK;
}

/* ---- handles ---------------------------------------------------------------------- */

static void http_maybe_free(ks_http *http)
{
    if (http->finished && http->open_handles == 0)
        free(http);
}

static void on_timer_closed(uv_handle_t *h)
{
    ks_http *http = h->data;
    http->open_handles--;
    http_maybe_free(http);
}

static void on_poll_closed(uv_handle_t *h)
{
    ks_sock_ctx *sc = h->data;
    ks_http *http = sc->http;
    free(sc);
    http->open_handles--;
    http_maybe_free(http);
}

static void sock_ctx_close(ks_sock_ctx *sc)
{
    ks_http *http = sc->http;
    if (sc->prev)
        sc->prev->next = sc->next;
    else
        http->socks = sc->next;
    if (sc->next)
        sc->next->prev = sc->prev;
    uv_poll_stop(&sc->poll);
    uv_close((uv_handle_t *)&sc->poll, on_poll_closed);
}

/* ---- call bookkeeping ------------------------------------------------------------- */

static void call_unlink(ks_http_call *call)
{
    ks_http *http = call->http;
    if (call->prev)
        call->prev->next = call->next;
    else
        http->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    call->prev = call->next = NULL;
    http->n_calls--;
}

static void call_free(ks_http_call *call)
{
    if (!call)
        return;
    if (call->easy)
        curl_easy_cleanup(call->easy);
    curl_slist_free_all(call->req_headers);
    free(call->body);
    ks_buf_clean_up(&call->resp_body);
    for (size_t i = 0; i < call->n_resp_headers; i++) {
        free((char *)call->resp_headers[i].name);
        free((char *)call->resp_headers[i].value);
    }
    free(call->resp_headers);
    free(call);
}

/* Removes the call from the multi and the list, runs its callback once, frees it. */
static void call_finish(ks_http_call *call, ks_err err, long status, const char *err_msg)
{
    ks_http *http = call->http;
    curl_multi_remove_handle(http->multi, call->easy);
    call_unlink(call);
    ks_http_response resp = {
        .err = err,
        .err_msg = err_msg,
        .status = status,
        .body = call->resp_body.data ? call->resp_body.data : "",
        .body_len = call->resp_body.len,
        .headers = call->resp_headers,
        .n_headers = call->n_resp_headers,
    };
    http->depth++;
    call->cb(call->ud, &resp);
    http->depth--;
    call_free(call);
}

static void finish_destroy(ks_http *http);

/* Leaves a dispatch section; completes a destroy requested from inside it. */
static void leave(ks_http *http)
{
    if (--http->depth == 0 && http->destroyed && !http->finished)
        finish_destroy(http);
}

static ks_err map_curl_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return KS_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return KS_ERR_TIMEOUT;
    case CURLE_OUT_OF_MEMORY:
        return KS_ERR_NOMEM;
    default:
        return KS_ERR_HTTP;
    }
}

static void check_multi_info(ks_http *http)
{
    CURLMsg *msg;
    int left;
    while (!http->destroyed && (msg = curl_multi_info_read(http->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        ks_http_call *call = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
        CURLcode rc = msg->data.result;
        long status = 0;
        curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
        ks_err err = map_curl_error(rc);
        const char *detail = NULL;
        if (err != KS_OK) {
            detail = call->errbuf[0] ? call->errbuf : curl_easy_strerror(rc);
            KS_DEBUG("http: transfer failed: %s", detail);
        }
        call_finish(call, err, status, detail);
    }
}

/* ---- curl <-> libuv glue ------------------------------------------------------------ */

static void on_poll(uv_poll_t *p, int status, int events)
{
    ks_sock_ctx *sc = p->data;
    ks_http *http = sc->http;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    http->depth++;
    curl_multi_socket_action(http->multi, sc->fd, flags, &running);
    check_multi_info(http);
    leave(http);
}

static void on_timer(uv_timer_t *t)
{
    ks_http *http = t->data;
    int running;
    http->depth++;
    curl_multi_socket_action(http->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(http);
    leave(http);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    ks_http *http = userp;
    (void)multi;
    if (http->finished)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&http->timer);
    else
        uv_timer_start(&http->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    ks_http *http = userp;
    ks_sock_ctx *sc = socketp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (sc) {
            sock_ctx_close(sc);
            curl_multi_assign(http->multi, s, NULL);
        }
        return 0;
    }
    if (!sc) {
        sc = calloc(1, sizeof(*sc));
        if (!sc)
            return -1;
        if (uv_poll_init_socket(http->loop, &sc->poll, s) != 0) {
            free(sc);
            return -1;
        }
        sc->http = http;
        sc->fd = s;
        sc->poll.data = sc;
        sc->next = http->socks;
        if (http->socks)
            http->socks->prev = sc;
        http->socks = sc;
        http->open_handles++;
        curl_multi_assign(http->multi, s, sc);
        if (g_observer) /* a new connection: every socket option is applied by now */
            g_observer(g_observer_ud, (int)s);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&sc->poll, events, on_poll);
    return 0;
}

/* ---- per-transfer callbacks --------------------------------------------------------- */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    ks_http_call *call = ud;
    size_t n = size * nmemb;
    if (ks_buf_append(&call->resp_body, ptr, n) != KS_OK)
        return 0; /* curl aborts with CURLE_WRITE_ERROR */
    return n;
}

static void resp_headers_reset(ks_http_call *call)
{
    for (size_t i = 0; i < call->n_resp_headers; i++) {
        free((char *)call->resp_headers[i].name);
        free((char *)call->resp_headers[i].value);
    }
    call->n_resp_headers = 0;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    ks_http_call *call = ud;
    size_t n = size * nitems;
    if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        resp_headers_reset(call); /* a new response (after 1xx or a redirect) */
        return n;
    }
    const char *colon = memchr(buf, ':', n);
    if (!colon)
        return n; /* blank line or folded continuation: ignored */
    const char *v = colon + 1;
    const char *end = buf + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (call->n_resp_headers == call->cap_resp_headers) {
        size_t cap = call->cap_resp_headers ? call->cap_resp_headers * 2 : 16;
        ks_http_header *nh = realloc(call->resp_headers, cap * sizeof(*nh));
        if (!nh)
            return 0;
        call->resp_headers = nh;
        call->cap_resp_headers = cap;
    }
    char *name = ks_strndup(buf, (size_t)(colon - buf));
    char *value = ks_strndup(v, (size_t)(end - v));
    if (!name || !value) {
        free(name);
        free(value);
        return 0;
    }
    for (char *p = name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    call->resp_headers[call->n_resp_headers].name = name;
    call->resp_headers[call->n_resp_headers].value = value;
    call->n_resp_headers++;
    /* Reserve the announced body once instead of doubling up to it: with many shards
     * reading large pages at once, doubling can hold nearly twice the data. Capped so a
     * bogus length cannot make us allocate much up front. */
    if (strcmp(name, "content-length") == 0 && call->resp_body.len == 0) {
        char *endp = NULL;
        unsigned long long len = strtoull(value, &endp, 10);
        if (endp && *endp == '\0' && len > 0 && len <= 16ull * 1024 * 1024 &&
            ks_buf_reserve(&call->resp_body, (size_t)len) != KS_OK)
            return 0;
    }
    return n;
}

static int sockopt_cb(void *ud, curl_socket_t fd, curlsocktype purpose)
{
    ks_http_call *call = ud;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKOPT_OK;
    const ks_tcp_opts *t = &call->tcp;
    if (t->keep_alive_idle_ms >= 0 && t->keep_alive_count > 0) {
        int cnt = t->keep_alive_count > 1000 ? 1000 : (int)t->keep_alive_count;
        if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) != 0)
            KS_WARN("http: setsockopt TCP_KEEPCNT failed");
    }
#ifdef TCP_USER_TIMEOUT
    if (t->tcp_user_timeout_ms > 0) {
        unsigned int ut = t->tcp_user_timeout_ms > (int64_t)UINT32_MAX
                              ? UINT32_MAX
                              : (unsigned int)t->tcp_user_timeout_ms;
        if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut)) != 0)
            KS_WARN("http: setsockopt TCP_USER_TIMEOUT failed");
    }
#endif
    return CURL_SOCKOPT_OK;
}

static long ms_to_s_ceil(int64_t ms)
{
    if (ms <= 0)
        return 1;
    return (long)((ms + 999) / 1000);
}

/* ---- request setup ------------------------------------------------------------------ */

static ks_err call_setup(ks_http_call *call, const ks_http_request *req)
{
    CURL *e = call->easy;
    ks_err err = KS_ERR_NOMEM;
    struct curl_slist *l = NULL;
    ks_buf line;
    ks_buf_init(&line);
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *v = req->headers[i].value ? req->headers[i].value : "";
        ks_buf_reset(&line);
        /* "Name;" is curl's way to send a header with an empty value */
        if (*v ? ks_buf_appendf(&line, "%s: %s", req->headers[i].name, v)
               : ks_buf_appendf(&line, "%s;", req->headers[i].name))
            goto out;
        struct curl_slist *nl = curl_slist_append(l, line.data);
        if (!nl)
            goto out;
        l = nl;
    }
    /* No "Expect: 100-continue": a server that ignores it costs a 1 s stall. */
    struct curl_slist *nl = curl_slist_append(l, "Expect:");
    if (!nl)
        goto out;
    l = nl;
    call->req_headers = l;
    l = NULL;

    const char *method = req->method ? req->method : "GET";
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->req_headers);
    if (req->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        size_t blen = req->body ? req->body_len : 0;
        call->body = malloc(blen + 1);
        if (!call->body)
            goto out;
        if (blen)
            memcpy(call->body, req->body, blen);
        call->body[blen] = '\0';
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(e, CURLOPT_PRIVATE, call);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, call);
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
    curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, call);
    if (req->timeout_ms)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);

    if (req->tcp)
        call->tcp = *req->tcp;
    const ks_tcp_opts *t = &call->tcp;
    if (t->connect_timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)t->connect_timeout_ms);
    if (t->keep_alive_idle_ms < 0) {
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 0L);
    } else {
        int64_t idle = t->keep_alive_idle_ms ? t->keep_alive_idle_ms : KS_HTTP_DEFAULT_KEEPALIVE_MS;
        int64_t intvl = t->keep_alive_interval_ms > 0 ? t->keep_alive_interval_ms
                                                      : KS_HTTP_DEFAULT_KEEPALIVE_MS;
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, ms_to_s_ceil(idle));
        curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, ms_to_s_ceil(intvl));
    }
    err = KS_OK;
out:
    curl_slist_free_all(l);
    ks_buf_clean_up(&line);
    return err;
}

/* ---- public API --------------------------------------------------------------------- */

ks_err ks_http_new(uv_loop_t *loop, ks_http **out)
{
    *out = NULL;
    ks_err err = curl_global();
    if (err)
        return err;
    ks_http *http = calloc(1, sizeof(*http));
    if (!http)
        return KS_ERR_NOMEM;
    http->loop = loop;
    http->multi = curl_multi_init();
    if (!http->multi) {
        free(http);
        return KS_ERR_NOMEM;
    }
    uv_timer_init(loop, &http->timer);
    http->timer.data = http;
    http->open_handles = 1;
    curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(http->multi, CURLMOPT_SOCKETDATA, http);
    curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(http->multi, CURLMOPT_TIMERDATA, http);
    *out = http;
    return KS_OK;
}

static void finish_destroy(ks_http *http)
{
    http->finished = 1;
    /* may call socket_cb(CURL_POLL_REMOVE) for cached connections */
    curl_multi_cleanup(http->multi);
    http->multi = NULL;
    while (http->socks)
        sock_ctx_close(http->socks);
    uv_timer_stop(&http->timer);
    uv_close((uv_handle_t *)&http->timer, on_timer_closed);
}

void ks_http_destroy(ks_http *http)
{
    if (!http || http->destroyed)
        return;
    http->destroyed = 1;
    http->depth++;
    while (http->calls)
        call_finish(http->calls, KS_ERR_CANCELLED, 0, "cancelled");
    leave(http);
}

ks_err ks_http_send(ks_http *http, const ks_http_request *req, ks_http_done_cb cb, void *ud,
                    ks_http_call **out_call)
{
    if (out_call)
        *out_call = NULL;
    if (!http || !req || !req->url || !cb)
        return KS_ERR_INVALID;
    if (http->destroyed)
        return KS_ERR_CANCELLED;
    ks_http_call *call = calloc(1, sizeof(*call));
    if (!call)
        return KS_ERR_NOMEM;
    call->http = http;
    call->cb = cb;
    call->ud = ud;
    ks_buf_init(&call->resp_body);
    ks_err err = KS_ERR_NOMEM;
    call->easy = curl_easy_init();
    if (!call->easy)
        goto fail;
    err = call_setup(call, req);
    if (err)
        goto fail;
    http->depth++;
    CURLMcode mrc = curl_multi_add_handle(http->multi, call->easy);
    http->depth--;
    if (mrc != CURLM_OK) {
        err = mrc == CURLM_OUT_OF_MEMORY ? KS_ERR_NOMEM : KS_ERR_HTTP;
        goto fail;
    }
    call->next = http->calls;
    if (http->calls)
        http->calls->prev = call;
    http->calls = call;
    http->n_calls++;
    if (out_call)
        *out_call = call;
    return KS_OK;
fail:
    call_free(call);
    return err;
}

void ks_http_cancel(ks_http_call *call)
{
    if (!call)
        return;
    ks_http *http = call->http;
    http->depth++;
    call_finish(call, KS_ERR_CANCELLED, 0, "cancelled");
    leave(http);
}

size_t ks_http_pending(const ks_http *http)
{
    return http ? http->n_calls : 0;
}

const char *ks_http_response_header(const ks_http_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->n_headers; i++)
        if (strcmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}
