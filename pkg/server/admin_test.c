#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "server/server.h"
#include "server/server_internal.h"
#include "server/srv_testutil.h"

typedef struct fixture {
    uv_loop_t loop;
    ks_server *srv;
    ks_metrics *metrics;
    ks_ready_state ready;
    int drains, pauses, resumes, drain_exits;
    char token_path[64];
} fixture;

static void hook_ready(void *ud, ks_buf *out, bool *ready)
{
    fixture *f = ud;
    assert_int_equal(ks_admin_ready_eval(&f->ready, out, ready), KS_OK);
}

static void hook_status(void *ud, ks_buf *out)
{
    (void)ud;
    ks_buf_append_str(out, "{\"client_id\":\"pod-1\",\"leases\":[]}");
}

static void hook_drain(void *ud)
{
    ((fixture *)ud)->drains++;
}

static void hook_drain_exit(void *ud)
{
    ((fixture *)ud)->drain_exits++;
}

static void hook_pause(void *ud)
{
    ((fixture *)ud)->pauses++;
}

static void hook_resume(void *ud)
{
    ((fixture *)ud)->resumes++;
}

static fixture *start(bool untrusted_loopback, const char *token)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(ks_metrics_new(&f->metrics), KS_OK);
    ks_server_opts o = {
        .loop = &f->loop,
        .admin_address = "127.0.0.1:0",
        .hooks = {hook_ready, hook_status, hook_drain, hook_pause, hook_resume, hook_drain_exit, f},
        .metrics = f->metrics,
        .untrusted_loopback = untrusted_loopback,
    };
    if (token) {
        snprintf(f->token_path, sizeof(f->token_path), "/tmp/ks-admin-token-XXXXXX");
        int fd = mkstemp(f->token_path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, token, strlen(token)), (ssize_t)strlen(token));
        close(fd);
        o.admin_token_file = f->token_path;
    }
    assert_int_equal(ks_server_new(&o, &f->srv), KS_OK);
    assert_true(ks_server_admin_port(f->srv) > 0);
    return f;
}

static void stop(fixture *f)
{
    ks_server_destroy(f->srv);
    assert_int_equal(ks_srvtest_drain(&f->loop), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    ks_metrics_destroy(f->metrics);
    if (f->token_path[0])
        unlink(f->token_path);
    free(f);
}

/* One request; returns the finished client (free it). */
static ks_srvtest_http *req(fixture *f, const char *method, const char *path, const char *hdrs,
                            const char *body)
{
    ks_srvtest_http *h =
        ks_srvtest_http_start(&f->loop, ks_server_admin_port(f->srv), method, path, hdrs, body);
    if (!ks_srvtest_http_wait(&f->loop, h))
        fail_msg("no complete answer to %s %s; got: %s", method, path,
                 h->resp.data ? h->resp.data : "(nothing)");
    return h;
}

static void test_ping_and_unknown(void **state)
{
    (void)state;
    fixture *f = start(false, NULL);
    ks_srvtest_http *h = req(f, "GET", "/ping", NULL, NULL);
    assert_int_equal(h->status, 200);
    assert_string_equal(h->body, "pong\n");
    ks_srvtest_http_free(h);

    h = req(f, "GET", "/nope", NULL, NULL);
    assert_int_equal(h->status, 404);
    assert_string_equal(h->body, "{\"error\":\"not found\"}\n");
    ks_srvtest_http_free(h);

    char allow[32];
    h = req(f, "POST", "/ping", NULL, NULL);
    assert_int_equal(h->status, 405);
    assert_true(ks_srvtest_http_header(h, "Allow", allow, sizeof(allow)));
    assert_string_equal(allow, "GET");
    ks_srvtest_http_free(h);

    h = req(f, "GET", "/drain", NULL, NULL);
    assert_int_equal(h->status, 405);
    assert_true(ks_srvtest_http_header(h, "Allow", allow, sizeof(allow)));
    assert_string_equal(allow, "POST");
    ks_srvtest_http_free(h);
    assert_int_equal(f->drains, 0);

    h = req(f, "DELETE", "/status", NULL, NULL);
    assert_int_equal(h->status, 405);
    ks_srvtest_http_free(h);
    stop(f);
}

static void test_ready(void **state)
{
    (void)state;
    fixture *f = start(false, NULL);
    f->ready = (ks_ready_state){.dynamo_healthy = true, .leases_held = 3};
    ks_srvtest_http *h = req(f, "GET", "/ready", NULL, NULL);
    assert_int_equal(h->status, 200);
    assert_string_equal(h->body, "{\"ready\":true,\"leases_held\":3,\"standby\":false}\n");
    ks_srvtest_http_free(h);

    f->ready = (ks_ready_state){.dynamo_healthy = true, .healthy_standby = true};
    h = req(f, "GET", "/ready", NULL, NULL);
    assert_int_equal(h->status, 200);
    assert_string_equal(h->body, "{\"ready\":true,\"leases_held\":0,\"standby\":true}\n");
    ks_srvtest_http_free(h);

    f->ready = (ks_ready_state){.dynamo_healthy = false, .draining = true};
    h = req(f, "GET", "/ready", NULL, NULL);
    assert_int_equal(h->status, 503);
    assert_string_equal(h->body,
                        "{\"ready\":false,\"reasons\":[\"dynamodb_unhealthy\",\"draining\","
                        "\"no_lease_and_not_standby\"],\"leases_held\":0,\"standby\":"
                        "false}\n");
    char ct[64];
    assert_true(ks_srvtest_http_header(h, "content-type", ct, sizeof(ct)));
    assert_string_equal(ct, "application/json");
    ks_srvtest_http_free(h);

    f->ready = (ks_ready_state){.dynamo_healthy = true, .draining = true, .leases_held = 1};
    h = req(f, "GET", "/ready", NULL, NULL);
    assert_int_equal(h->status, 503);
    assert_string_equal(
        h->body,
        "{\"ready\":false,\"reasons\":[\"draining\"],\"leases_held\":1,\"standby\":false}\n");
    ks_srvtest_http_free(h);
    stop(f);
}

static void test_status_and_metrics(void **state)
{
    (void)state;
    fixture *f = start(false, NULL);
    ks_srvtest_http *h = req(f, "GET", "/status", NULL, NULL);
    assert_int_equal(h->status, 200);
    assert_string_equal(h->body, "{\"client_id\":\"pod-1\",\"leases\":[]}\n");
    ks_srvtest_http_free(h);

    ks_metric_add(
        ks_metrics_counter(f->metrics, "records_received_total", "Records read.", "stream=\"s\""),
        42);
    /* Enough series to need several body chunks. */
    for (int i = 0; i < 800; i++) {
        char l[64];
        snprintf(l, sizeof(l), "shard=\"shardId-%012d\"", i);
        ks_metric_set(ks_metrics_gauge(f->metrics, "millis_behind_latest", "Lag.", l), i);
    }
    h = req(f, "GET", "/metrics", NULL, NULL);
    assert_int_equal(h->status, 200);
    char ct[96];
    assert_true(ks_srvtest_http_header(h, "content-type", ct, sizeof(ct)));
    assert_string_equal(ct, KS_METRICS_CONTENT_TYPE);
    assert_true(strlen(h->body) > 32768);
    assert_non_null(strstr(h->body, "# TYPE kinesis_sidecar_records_received_total counter\n"
                                    "kinesis_sidecar_records_received_total{stream=\"s\"} 42\n"));
    assert_non_null(strstr(
        h->body, "kinesis_sidecar_millis_behind_latest{shard=\"shardId-000000000799\"} 799\n"));
    /* The request counter of the earlier /status call is exposed too. */
    assert_non_null(strstr(h->body, "kinesis_sidecar_admin_requests_total{path=\"/status\","
                                    "code=\"200\"} 1\n"));
    /* Complete body: the rendering ends with the last family's last series. */
    ks_buf expect;
    ks_buf_init(&expect);
    assert_int_equal(ks_metrics_render(f->metrics, &expect), KS_OK);
    assert_int_equal(strlen(h->body), expect.len);
    ks_buf_clean_up(&expect);
    ks_srvtest_http_free(h);
    stop(f);
}

static void test_operator_hooks_loopback(void **state)
{
    (void)state;
    fixture *f = start(false, NULL);
    ks_srvtest_http *h = req(f, "POST", "/drain", NULL, NULL);
    assert_int_equal(h->status, 202);
    assert_string_equal(h->body, "{\"accepted\":true,\"action\":\"drain\"}\n");
    ks_srvtest_http_free(h);
    assert_int_equal(f->drains, 1);

    h = req(f, "POST", "/drain?exit=1", NULL, "");
    assert_int_equal(h->status, 202);
    ks_srvtest_http_free(h);
    assert_int_equal(f->drains, 1);
    assert_int_equal(f->drain_exits, 1);

    h = req(f, "POST", "/pause", NULL, "{}");
    assert_int_equal(h->status, 202);
    ks_srvtest_http_free(h);
    assert_int_equal(f->pauses, 1);

    h = req(f, "POST", "/resume", NULL, "");
    assert_int_equal(h->status, 202);
    ks_srvtest_http_free(h);
    assert_int_equal(f->resumes, 1);
    stop(f);
}

static void test_operator_hooks_remote_without_token(void **state)
{
    (void)state;
    fixture *f = start(true, NULL);
    ks_srvtest_http *h = req(f, "POST", "/drain", "Authorization: Bearer anything\r\n", NULL);
    assert_int_equal(h->status, 403);
    ks_srvtest_http_free(h);
    assert_int_equal(f->drains, 0);
    /* GET endpoints stay open to everyone (kubelet probes). */
    h = req(f, "GET", "/ping", NULL, NULL);
    assert_int_equal(h->status, 200);
    ks_srvtest_http_free(h);
    stop(f);
}

static void test_operator_hooks_token(void **state)
{
    (void)state;
    fixture *f = start(true, "s3cret-token\n");
    ks_srvtest_http *h = req(f, "POST", "/drain", NULL, NULL);
    assert_int_equal(h->status, 401);
    char www[32];
    assert_true(ks_srvtest_http_header(h, "www-authenticate", www, sizeof(www)));
    assert_string_equal(www, "Bearer");
    ks_srvtest_http_free(h);

    h = req(f, "POST", "/drain", "Authorization: Bearer s3cret-tokeX\r\n", NULL);
    assert_int_equal(h->status, 401);
    ks_srvtest_http_free(h);
    h = req(f, "POST", "/drain", "Authorization: Bearer s3cret-token-longer\r\n", NULL);
    assert_int_equal(h->status, 401);
    ks_srvtest_http_free(h);
    h = req(f, "POST", "/drain", "Authorization: Basic s3cret-token\r\n", NULL);
    assert_int_equal(h->status, 401);
    ks_srvtest_http_free(h);
    assert_int_equal(f->drains, 0);

    h = req(f, "POST", "/drain", "Authorization: Bearer s3cret-token\r\n", NULL);
    assert_int_equal(h->status, 202);
    ks_srvtest_http_free(h);
    assert_int_equal(f->drains, 1);
    stop(f);
}

static void test_bad_config(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    ks_server *srv = NULL;
    ks_server_opts o = {.loop = &loop, .admin_address = "127.0.0.1"};
    assert_int_equal(ks_server_new(&o, &srv), KS_ERR_INVALID);
    o.admin_address = "127.0.0.1:0";
    o.admin_token_file = "/nonexistent/token";
    assert_int_equal(ks_server_new(&o, &srv), KS_ERR_NOT_FOUND);
    assert_null(srv);
    assert_int_equal(ks_srvtest_drain(&loop), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_helpers(void **state)
{
    (void)state;
    char host[64];
    int port;
    bool v6;
    assert_int_equal(ks_server_parse_address("127.0.0.1:4196", host, sizeof(host), &port, &v6),
                     KS_OK);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 4196);
    assert_false(v6);
    assert_int_equal(ks_server_parse_address("0.0.0.0:4195", host, sizeof(host), &port, &v6),
                     KS_OK);
    assert_string_equal(host, "");
    assert_int_equal(ks_server_parse_address(":80", host, sizeof(host), &port, &v6), KS_OK);
    assert_string_equal(host, "");
    assert_int_equal(ks_server_parse_address("[::1]:9", host, sizeof(host), &port, &v6), KS_OK);
    assert_string_equal(host, "::1");
    assert_true(v6);
    const char *bad[] = {"", "4195", "h:", "h:x", "h:70000", "::1:80", "h:-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ks_server_parse_address(bad[i], host, sizeof(host), &port, &v6),
                         KS_ERR_INVALID);

    assert_true(ks_secret_equal("abc", 3, "abc"));
    assert_false(ks_secret_equal("abd", 3, "abc"));
    assert_false(ks_secret_equal("ab", 2, "abc"));
    assert_false(ks_secret_equal("abcd", 4, "abc"));
    assert_false(ks_secret_equal("", 0, "abc"));
}

int main(void)
{
    ks_log_set_level(KS_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping_and_unknown),
        cmocka_unit_test(test_ready),
        cmocka_unit_test(test_status_and_metrics),
        cmocka_unit_test(test_operator_hooks_loopback),
        cmocka_unit_test(test_operator_hooks_remote_without_token),
        cmocka_unit_test(test_operator_hooks_token),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
