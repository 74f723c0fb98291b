/* Tests of the loopback test server itself, with a raw libuv TCP client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "http/testserver.h"

typedef struct raw_client {
    uv_tcp_t tcp;
    uv_connect_t conn;
    uv_write_t wr;
    ks_buf in;
    const char *payload;
    int eof;
    int closed;
} raw_client;

static void rc_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    raw_client *c = h->data;
    assert_int_equal(ks_buf_reserve(&c->in, suggested), KS_OK);
    *buf = uv_buf_init(c->in.data + c->in.len, (unsigned)suggested);
}

static void rc_closed(uv_handle_t *h)
{
    ((raw_client *)h->data)->closed = 1;
}

static void rc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    raw_client *c = s->data;
    (void)buf;
    if (n < 0) {
        c->eof = 1;
        uv_close((uv_handle_t *)&c->tcp, rc_closed);
        return;
    }
    c->in.len += (size_t)n;
    c->in.data[c->in.len] = '\0';
}

static void rc_written(uv_write_t *w, int status)
{
    (void)w;
    assert_int_equal(status, 0);
}

static void rc_connected(uv_connect_t *req, int status)
{
    raw_client *c = req->data;
    assert_int_equal(status, 0);
    uv_buf_t b = uv_buf_init((char *)c->payload, (unsigned)strlen(c->payload));
    assert_int_equal(uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, rc_written), 0);
    assert_int_equal(uv_read_start((uv_stream_t *)&c->tcp, rc_alloc, rc_read), 0);
}

static void rc_start(raw_client *c, uv_loop_t *loop, int port, const char *payload)
{
    memset(c, 0, sizeof(*c));
    ks_buf_init(&c->in);
    c->payload = payload;
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    c->conn.data = c;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", port, &a);
    assert_int_equal(uv_tcp_connect(&c->conn, &c->tcp, (const struct sockaddr *)&a, rc_connected),
                     0);
}

static int rc_has(void *ud)
{
    raw_client *c = ud;
    return c->eof || (c->in.data && strstr(c->in.data, "second"));
}

static int rc_eof(void *ud)
{
    return ((raw_client *)ud)->closed;
}

static void test_pipelined_requests(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    ks_test_server *srv;
    assert_int_equal(ks_test_server_start(&loop, &srv), KS_OK);
    assert_true(ks_test_server_port(srv) > 0);
    ks_http_header h[] = {{"X-Answer", "42"}};
    assert_int_equal(ks_test_server_push(srv, &(ks_test_reply){.status = 201,
                                                               .headers = h,
                                                               .n_headers = 1,
                                                               .body = "first",
                                                               .delay_ms = 20}),
                     KS_OK);
    assert_int_equal(ks_test_server_push_simple(srv, 503, "second"), KS_OK);
    raw_client c;
    rc_start(&c, &loop, ks_test_server_port(srv),
             "POST /a/b?x=1&y=2 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-T:  v v \r\n\r\n"
             "hello"
             "GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_true(ks_test_run_until(&loop, rc_has, &c, 5000));
    assert_false(c.eof);
    const char *first = strstr(c.in.data, "HTTP/1.1 201 ");
    const char *second = strstr(c.in.data, "HTTP/1.1 503 ");
    assert_non_null(first);
    assert_non_null(second);
    assert_true(first < second);
    assert_non_null(strstr(c.in.data, "X-Answer: 42\r\n"));
    assert_non_null(strstr(c.in.data, "Content-Length: 5\r\n\r\nfirst"));

    assert_int_equal(ks_test_server_n_requests(srv), 2);
    assert_int_equal(ks_test_server_n_connections(srv), 1);
    assert_int_equal(ks_test_server_n_queued(srv), 0);
    const ks_test_request *r = ks_test_server_request(srv, 0);
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->target, "/a/b?x=1&y=2");
    assert_string_equal(r->path, "/a/b");
    assert_string_equal(r->query, "x=1&y=2");
    assert_string_equal(r->body, "hello");
    assert_int_equal(r->body_len, 5);
    assert_string_equal(ks_test_request_header(r, "x-t"), "v v");
    assert_int_equal(ks_test_request_header_count(r, "HOST"), 1);
    r = ks_test_server_request(srv, 1);
    assert_string_equal(r->method, "GET");
    assert_string_equal(r->query, "");
    assert_string_equal(r->body, "");
    assert_null(ks_test_server_request(srv, 2));

    ks_test_server_destroy(srv);
    assert_true(ks_test_run_until(&loop, rc_eof, &c, 5000));
    assert_int_equal(ks_test_loop_drain(&loop), 0);
    ks_buf_clean_up(&c.in);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void handler(void *ud, const ks_test_request *req, ks_test_reply *reply)
{
    int *calls = ud;
    (*calls)++;
    reply->status = 200;
    reply->body = req->path;
}

static void test_handler_close_hang(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    ks_test_server *srv;
    assert_int_equal(ks_test_server_start(&loop, &srv), KS_OK);

    /* handler answers when the queue is empty */
    int calls = 0;
    ks_test_server_set_handler(srv, handler, &calls);
    raw_client c;
    rc_start(&c, &loop, ks_test_server_port(srv), "GET /second HTTP/1.1\r\n\r\n");
    assert_true(ks_test_run_until(&loop, rc_has, &c, 5000));
    assert_int_equal(calls, 1);
    assert_non_null(strstr(c.in.data, "HTTP/1.1 200 OK\r\n"));
    uv_close((uv_handle_t *)&c.tcp, rc_closed);
    assert_true(ks_test_run_until(&loop, rc_eof, &c, 5000));
    ks_buf_clean_up(&c.in);

    /* close without answering */
    assert_int_equal(ks_test_server_push(srv, &(ks_test_reply){.action = KS_TEST_CLOSE}), KS_OK);
    rc_start(&c, &loop, ks_test_server_port(srv), "GET / HTTP/1.1\r\n\r\n");
    assert_true(ks_test_run_until(&loop, rc_eof, &c, 5000));
    assert_int_equal(c.in.len, 0);
    ks_buf_clean_up(&c.in);

    /* hang: recorded, never answered, closed by destroy */
    assert_int_equal(ks_test_server_push(srv, &(ks_test_reply){.action = KS_TEST_HANG}), KS_OK);
    rc_start(&c, &loop, ks_test_server_port(srv), "GET /hang HTTP/1.1\r\n\r\n");
    assert_false(ks_test_run_until(&loop, rc_eof, &c, 200));
    assert_int_equal(ks_test_server_n_requests(srv), 3);
    assert_string_equal(ks_test_server_request(srv, 2)->path, "/hang");
    assert_int_equal(ks_test_server_n_open_connections(srv), 1);
    ks_test_server_destroy(srv);
    assert_true(ks_test_run_until(&loop, rc_eof, &c, 5000));
    assert_int_equal(c.in.len, 0);
    ks_buf_clean_up(&c.in);
    assert_int_equal(ks_test_loop_drain(&loop), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipelined_requests),
        cmocka_unit_test(test_handler_close_hang),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
