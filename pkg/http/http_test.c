/* ks_http against the loopback test server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "http/http.h"
#include "http/testserver.h"

#define DEADLINE_MS 10000

typedef struct result {
    int calls;
    ks_err err;
    long status;
    char *body;
    size_t body_len;
    char *content_type;
    char *x_custom;
    size_t n_headers;
    int headers_lower;
} result;

static void result_clean_up(result *r)
{
    free(r->body);
    free(r->content_type);
    free(r->x_custom);
    memset(r, 0, sizeof(*r));
}

static void on_done(void *ud, const ks_http_response *resp)
{
    result *r = ud;
    r->calls++;
    r->err = resp->err;
    r->status = resp->status;
    free(r->body);
    r->body = ks_strndup(resp->body, resp->body_len);
    r->body_len = resp->body_len;
    free(r->content_type);
    r->content_type = ks_strdup(ks_http_response_header(resp, "content-type"));
    free(r->x_custom);
    r->x_custom = ks_strdup(ks_http_response_header(resp, "x-custom"));
    r->n_headers = resp->n_headers;
    r->headers_lower = 1;
    for (size_t i = 0; i < resp->n_headers; i++)
        for (const char *p = resp->headers[i].name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                r->headers_lower = 0;
    if (resp->err != KS_OK)
        assert_non_null(resp->err_msg);
}

static int done1(void *ud)
{
    return ((result *)ud)->calls > 0;
}

typedef struct fixture {
    uv_loop_t loop;
    ks_test_server *srv;
    ks_http *http;
    char url[128];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(ks_test_server_start(&f->loop, &f->srv), KS_OK);
    assert_int_equal(ks_http_new(&f->loop, &f->http), KS_OK);
    snprintf(f->url, sizeof(f->url), "%s/path/x?a=1&b=2", ks_test_server_url(f->srv));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ks_http_destroy(f->http);
    ks_test_server_destroy(f->srv);
    assert_int_equal(ks_test_loop_drain(&f->loop), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    ks_http_set_sockopt_observer(NULL, NULL);
    return 0;
}

static void test_post_roundtrip(void **state)
{
    fixture *f = *state;
    ks_http_header rh[] = {{"Content-Type", "application/x-amz-json-1.1"}, {"X-Custom", "v1"}};
    assert_int_equal(ks_test_server_push(f->srv, &(ks_test_reply){.status = 201,
                                                                  .headers = rh,
                                                                  .n_headers = 2,
                                                                  .body = "{\"ok\":true}"}),
                     KS_OK);
    ks_http_header h[] = {{"X-Amz-Target", "Kinesis_20131202.GetRecords"},
                          {"Content-Type", "application/x-amz-json-1.1"},
                          {"X-Empty", ""}};
    const char *body = "{\"ShardIterator\":\"abc\"}";
    ks_http_request req = {.method = "POST",
                           .url = f->url,
                           .headers = h,
                           .n_headers = 3,
                           .body = body,
                           .body_len = strlen(body),
                           .timeout_ms = 5000};
    result r = {0};
    ks_http_call *call = NULL;
    assert_int_equal(ks_http_send(f->http, &req, on_done, &r, &call), KS_OK);
    assert_non_null(call);
    assert_int_equal(ks_http_pending(f->http), 1);
    assert_true(ks_test_run_until(&f->loop, done1, &r, DEADLINE_MS));
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.err, KS_OK);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "{\"ok\":true}");
    assert_string_equal(r.content_type, "application/x-amz-json-1.1");
    assert_string_equal(r.x_custom, "v1");
    assert_true(r.headers_lower);
    assert_int_equal(ks_http_pending(f->http), 0);

    assert_int_equal(ks_test_server_n_requests(f->srv), 1);
    const ks_test_request *q = ks_test_server_request(f->srv, 0);
    assert_string_equal(q->method, "POST");
    assert_string_equal(q->target, "/path/x?a=1&b=2");
    assert_string_equal(q->body, body);
    assert_string_equal(ks_test_request_header(q, "x-amz-target"), "Kinesis_20131202.GetRecords");
    assert_string_equal(ks_test_request_header(q, "content-type"), "application/x-amz-json-1.1");
    assert_int_equal(ks_test_request_header_count(q, "content-type"), 1);
    assert_non_null(ks_test_request_header(q, "x-empty"));
    assert_string_equal(ks_test_request_header(q, "x-empty"), "");
    assert_null(ks_test_request_header(q, "expect"));
    result_clean_up(&r);
}

static void test_large_post_no_expect(void **state)
{
    fixture *f = *state;
    size_t n = 2u * 1024u * 1024u;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    assert_int_equal(ks_test_server_push_simple(f->srv, 200, "done"), KS_OK);
    ks_http_request req = {
        .method = "POST", .url = f->url, .body = big, .body_len = n, .timeout_ms = 5000};
    result r = {0};
    assert_int_equal(ks_http_send(f->http, &req, on_done, &r, NULL), KS_OK);
    free(big); /* the request was copied */
    assert_true(ks_test_run_until(&f->loop, done1, &r, DEADLINE_MS));
    assert_int_equal(r.err, KS_OK);
    assert_int_equal(r.status, 200);
    const ks_test_request *q = ks_test_server_request(f->srv, 0);
    assert_non_null(q);
    assert_null(ks_test_request_header(q, "expect"));
    assert_int_equal(q->body_len, n);
    for (size_t i = 0; i < n; i += 4099)
        assert_int_equal(q->body[i], (char)('a' + i % 26));
    result_clean_up(&r);
}

static void test_status_codes_and_reuse(void **state)
{
    fixture *f = *state;
    static const int codes[] = {200, 204, 400, 403, 404, 500, 503};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        assert_int_equal(ks_test_server_push_simple(f->srv, codes[i], "b"), KS_OK);
        ks_http_request req = {.method = "GET", .url = f->url, .timeout_ms = 5000};
        result r = {0};
        assert_int_equal(ks_http_send(f->http, &req, on_done, &r, NULL), KS_OK);
        assert_true(ks_test_run_until(&f->loop, done1, &r, DEADLINE_MS));
        assert_int_equal(r.calls, 1);
        assert_int_equal(r.err, KS_OK);
        assert_int_equal(r.status, codes[i]);
        assert_string_equal(ks_test_server_request(f->srv, i)->method, "GET");
        result_clean_up(&r);
    }
    /* one keep-alive connection served every request */
    assert_int_equal(ks_test_server_n_connections(f->srv), 1);
}

static void test_timeout(void **state)
{
    fixture *f = *state;
    assert_int_equal(ks_test_server_push(f->srv, &(ks_test_reply){.action = KS_TEST_HANG}), KS_OK);
    ks_http_request req = {
        .method = "POST", .url = f->url, .body = "x", .body_len = 1, .timeout_ms = 300};
    result r = {0};
    uint64_t t0 = uv_now(&f->loop);
    assert_int_equal(ks_http_send(f->http, &req, on_done, &r, NULL), KS_OK);
    assert_true(ks_test_run_until(&f->loop, done1, &r, DEADLINE_MS));
    uv_update_time(&f->loop);
    assert_int_equal(r.err, KS_ERR_TIMEOUT);
    assert_int_equal(r.status, 0);
    assert_true(uv_now(&f->loop) - t0 >= 250);
    assert_int_equal(ks_test_server_n_requests(f->srv), 1);
    result_clean_up(&r);
}

static void test_connection_refused(void **state)
{
    fixture *f = *state;
    /* a port that was just free: start a server, note its port, close it */
    ks_test_server *tmp;
    assert_int_equal(ks_test_server_start(&f->loop, &tmp), KS_OK);
    char url[128];
    snprintf(url, sizeof(url), "%s/", ks_test_server_url(tmp));
    ks_test_server_destroy(tmp);
    /* libuv closes the listening socket synchronously in uv_close */
    ks_http_request req = {.method = "GET", .url = url, .timeout_ms = 5000};
    result r = {0};
    assert_int_equal(ks_http_send(f->http, &req, on_done, &r, NULL), KS_OK);
    assert_true(ks_test_run_until(&f->loop, done1, &r, DEADLINE_MS));
    assert_int_equal(r.err, KS_ERR_HTTP);
    assert_int_equal(r.status, 0);
    result_clean_up(&r);
}

static void test_cancel(void **state)
{
    fixture *f = *state;
    assert_int_equal(ks_test_server_push(f->srv, &(ks_test_reply){.action = KS_TEST_HANG}), KS_OK);
    assert_int_equal(ks_test_server_push_simple(f->srv, 200, "second"), KS_OK);
    ks_http_request req = {.method = "GET", .url = f->url, .timeout_ms = 5000};
    result r = {0};
    ks_http_call *call = NULL;
    assert_int_equal(ks_http_send(f->http, &req, on_done, &r, &call), KS_OK);
    assert_true(ks_test_server_wait_requests(&f->loop, f->srv, 1, DEADLINE_MS));
    ks_http_cancel(call);
    assert_int_equal(r.calls, 1); /* synchronously */
    assert_int_equal(r.err, KS_ERR_CANCELLED);
    assert_int_equal(ks_http_pending(f->http), 0);
    /* the client keeps working afterwards; the cancelled callback never runs again */
    result r2 = {0};
    assert_int_equal(ks_http_send(f->http, &req, on_done, &r2, NULL), KS_OK);
    assert_true(ks_test_run_until(&f->loop, done1, &r2, DEADLINE_MS));
    assert_int_equal(r2.err, KS_OK);
    assert_string_equal(r2.body, "second");
    assert_int_equal(r.calls, 1);
    result_clean_up(&r);
    result_clean_up(&r2);
}

static void test_destroy_with_pending(void **state)
{
    fixture *f = *state;
    result r[3] = {{0}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ks_test_server_push(f->srv, &(ks_test_reply){.action = KS_TEST_HANG}),
                         KS_OK);
        ks_http_request req = {.method = "GET", .url = f->url, .timeout_ms = 60000};
        assert_int_equal(ks_http_send(f->http, &req, on_done, &r[i], NULL), KS_OK);
    }
    assert_int_equal(ks_http_pending(f->http), 3);
    ks_http_destroy(f->http);
    f->http = NULL;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].err, KS_ERR_CANCELLED);
        result_clean_up(&r[i]);
    }
    /* teardown drains the loop and asserts every handle closed */
}

typedef struct chain_ctx {
    ks_http *http;
    fixture *f;
    int stage;
    result last;
} chain_ctx;

/* Sends a new request from inside a callback, then destroys from inside the next. */
static void on_chain(void *ud, const ks_http_response *resp)
{
    chain_ctx *c = ud;
    c->stage++;
    if (c->stage == 1) {
        assert_int_equal(resp->err, KS_OK);
        ks_http_request req = {.method = "GET", .url = c->f->url, .timeout_ms = 5000};
        assert_int_equal(ks_http_send(c->http, &req, on_chain, c, NULL), KS_OK);
        assert_int_equal(ks_http_send(c->http, &req, on_done, &c->last, NULL), KS_OK);
    } else if (c->stage == 2) {
        assert_int_equal(resp->err, KS_OK);
        ks_http_destroy(c->http); /* the other call is cancelled */
        assert_int_equal(c->last.calls, 1);
        assert_int_equal(c->last.err, KS_ERR_CANCELLED);
    }
}

static int chain_done(void *ud)
{
    return ((chain_ctx *)ud)->stage >= 2;
}

static void test_reentrancy(void **state)
{
    fixture *f = *state;
    assert_int_equal(ks_test_server_push_simple(f->srv, 200, "1"), KS_OK);
    assert_int_equal(ks_test_server_push_simple(f->srv, 200, "2"), KS_OK);
    assert_int_equal(ks_test_server_push(f->srv, &(ks_test_reply){.action = KS_TEST_HANG}), KS_OK);
    assert_int_equal(ks_test_server_push(f->srv, &(ks_test_reply){.action = KS_TEST_HANG}), KS_OK);
    chain_ctx c = {.http = f->http, .f = f};
    f->http = NULL;
    ks_http_request req = {.method = "GET", .url = f->url, .timeout_ms = 5000};
    assert_int_equal(ks_http_send(c.http, &req, on_chain, &c, NULL), KS_OK);
    assert_true(ks_test_run_until(&f->loop, chain_done, &c, DEADLINE_MS));
    assert_int_equal(c.stage, 2);
    result_clean_up(&c.last);
}

typedef struct sockopts {
    int seen;
    int keepalive, idle_s, intvl_s, cnt;
    unsigned int user_timeout_ms;
} sockopts;

static void observe(void *ud, int fd)
{
    sockopts *o = ud;
    socklen_t len = sizeof(int);
    o->seen++;
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &o->keepalive, &len), 0);
    len = sizeof(int);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &o->idle_s, &len), 0);
    len = sizeof(int);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &o->intvl_s, &len), 0);
    len = sizeof(int);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &o->cnt, &len), 0);
    len = sizeof(o->user_timeout_ms);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &o->user_timeout_ms, &len), 0);
}

static void send_with_opts(fixture *f, const ks_tcp_opts *tcp, sockopts *o)
{
    memset(o, 0, sizeof(*o));
    ks_http_set_sockopt_observer(observe, o);
    /* close after the answer so the next request opens a new connection */
    assert_int_equal(ks_test_server_push(f->srv, &(ks_test_reply){.close_after = 1}), KS_OK);
    ks_http_request req = {.method = "GET", .url = f->url, .timeout_ms = 5000, .tcp = tcp};
    result r = {0};
    assert_int_equal(ks_http_send(f->http, &req, on_done, &r, NULL), KS_OK);
    assert_true(ks_test_run_until(&f->loop, done1, &r, DEADLINE_MS));
    assert_int_equal(r.err, KS_OK);
    assert_int_equal(o->seen, 1);
    result_clean_up(&r);
    ks_http_set_sockopt_observer(NULL, NULL);
}

static void test_tcp_opts(void **state)
{
    fixture *f = *state;
    sockopts o;
    ks_tcp_opts t = {.connect_timeout_ms = 2000,
                     .keep_alive_idle_ms = 7000,
                     .keep_alive_interval_ms = 3000,
                     .keep_alive_count = 4,
                     .tcp_user_timeout_ms = 12345};
    send_with_opts(f, &t, &o);
    assert_int_equal(o.keepalive, 1);
    assert_int_equal(o.idle_s, 7);
    assert_int_equal(o.intvl_s, 3);
    assert_int_equal(o.cnt, 4);
    assert_int_equal(o.user_timeout_ms, 12345);

    /* defaults: keep-alive on with 15 s idle and interval, no user timeout */
    ks_tcp_opts d = {0};
    send_with_opts(f, &d, &o);
    assert_int_equal(o.keepalive, 1);
    assert_int_equal(o.idle_s, 15);
    assert_int_equal(o.intvl_s, 15);
    assert_int_equal(o.user_timeout_ms, 0);
    send_with_opts(f, NULL, &o);
    assert_int_equal(o.keepalive, 1);
    assert_int_equal(o.idle_s, 15);

    /* negative idle disables keep-alive */
    ks_tcp_opts off = {.keep_alive_idle_ms = -1, .keep_alive_count = 5}; /* kernel default is 9 */
    send_with_opts(f, &off, &o);
    assert_int_equal(o.keepalive, 0);
    assert_int_not_equal(o.cnt, 5);
    assert_int_equal(ks_test_server_n_connections(f->srv), 4);
}

static void test_bad_args(void **state)
{
    fixture *f = *state;
    result r = {0};
    ks_http_request req = {.method = "GET", .url = NULL};
    ks_http_call *call = (ks_http_call *)&r;
    assert_int_equal(ks_http_send(f->http, &req, on_done, &r, &call), KS_ERR_INVALID);
    assert_null(call);
    assert_int_equal(r.calls, 0);
    assert_int_equal(ks_http_pending(f->http), 0);
    ks_http_destroy(NULL);
    ks_http_cancel(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_post_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_post_no_expect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_codes_and_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_with_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reentrancy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_opts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
