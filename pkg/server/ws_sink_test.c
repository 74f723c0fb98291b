#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "core/log.h"
#include "server/server.h"
#include "server/srv_testutil.h"
#include "server/ws_sink.h"

#define MAX_RESULTS 64

typedef struct result {
    ks_batch *batch;
    ks_delivery d;
    char reason[128];
} result;

typedef struct fx {
    uv_loop_t loop;
    ks_server *srv;
    ks_metrics *metrics;
    ks_sink *sink;
    int port;
    result results[MAX_RESULTS];
    size_t n_results;
    int ready_calls;
    char token_path[64];
} fx;

static void on_result(void *ud, ks_batch *b, ks_delivery d, const char *reason)
{
    fx *f = ud;
    assert_true(f->n_results < MAX_RESULTS);
    result *r = &f->results[f->n_results++];
    r->batch = b;
    r->d = d;
    snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
}

static void on_ready(void *ud)
{
    ((fx *)ud)->ready_calls++;
}

static fx *start(int64_t ack_timeout_ms, int64_t max_in_flight, const char *token)
{
    fx *f = calloc(1, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(ks_metrics_new(&f->metrics), KS_OK);
    ks_server_opts o = {.loop = &f->loop, .admin_address = "127.0.0.1:0", .metrics = f->metrics};
    assert_int_equal(ks_server_new(&o, &f->srv), KS_OK);
    ks_websocket_config wc = {.address = "127.0.0.1:0",
                              .path = "/records",
                              .ack_timeout_ms = ack_timeout_ms,
                              .max_in_flight = max_in_flight};
    if (token) {
        snprintf(f->token_path, sizeof(f->token_path), "/tmp/ks-ws-token-XXXXXX");
        int fd = mkstemp(f->token_path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, token, strlen(token)), (ssize_t)strlen(token));
        close(fd);
        wc.token_file = f->token_path;
    }
    ks_sink_callbacks cb = {on_result, on_ready, f};
    assert_int_equal(ks_ws_sink_new(f->srv, &wc, f->metrics, &cb, &f->sink), KS_OK);
    f->port = ks_ws_sink_port(f->sink);
    assert_true(f->port > 0);
    return f;
}

static void stop(fx *f)
{
    ks_sink_destroy(f->sink);
    ks_server_destroy(f->srv);
    assert_int_equal(ks_srvtest_drain(&f->loop), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    ks_metrics_destroy(f->metrics);
    for (size_t i = 0; i < f->n_results; i++)
        ks_batch_destroy(f->results[i].batch);
    if (f->token_path[0])
        unlink(f->token_path);
    free(f);
}

static ks_batch *batch(const char *shard, int n_records, size_t data_len)
{
    ks_batch *b = NULL;
    assert_int_equal(ks_batch_new("orders", shard, &b), KS_OK);
    char *data = malloc(data_len + 1);
    memset(data, 'Q', data_len);
    data[data_len] = '\0';
    for (int i = 0; i < n_records; i++) {
        char seq[32];
        snprintf(seq, sizeof(seq), "4959%04d", i);
        assert_int_equal(ks_batch_add(b, data, data_len, "pk-1", seq, 1790000000123LL), KS_OK);
    }
    free(data);
    return b;
}

typedef struct wait_msgs {
    ks_srvtest_ws *ws;
    size_t n;
} wait_msgs;

static bool have_msgs(void *ud)
{
    wait_msgs *w = ud;
    return w->ws->n_msgs >= w->n || w->ws->closed;
}

static void expect_msgs(fx *f, ks_srvtest_ws *ws, size_t n)
{
    wait_msgs w = {ws, n};
    assert_true(ks_srvtest_run_until(&f->loop, have_msgs, &w, 5000));
    assert_int_equal(ws->n_msgs, n);
}

typedef struct wait_results {
    fx *f;
    size_t n;
} wait_results;

static bool have_results(void *ud)
{
    wait_results *w = ud;
    return w->f->n_results >= w->n;
}

static void expect_results(fx *f, size_t n)
{
    wait_results w = {f, n};
    assert_true(ks_srvtest_run_until(&f->loop, have_results, &w, 5000));
    assert_int_equal(f->n_results, n);
}

static bool is_closed(void *ud)
{
    return ((ks_srvtest_ws *)ud)->closed;
}

static char *msg_id(const ks_srvtest_msg *m)
{
    cJSON *j = cJSON_Parse(m->data);
    assert_non_null(j);
    char *id = strdup(cJSON_GetObjectItem(j, "id")->valuestring);
    cJSON_Delete(j);
    return id;
}

static void answer(ks_srvtest_ws *ws, const ks_srvtest_msg *m, const char *type)
{
    char *id = msg_id(m);
    char buf[256];
    snprintf(buf, sizeof(buf), "{\"type\":\"%s\",\"id\":\"%s\",\"reason\":\"bad record\"}", type,
             id);
    ks_srvtest_ws_send_text(ws, buf);
    free(id);
}

static ks_srvtest_ws *connect_client(fx *f, const char *token)
{
    ks_srvtest_ws *ws = ks_srvtest_ws_connect(&f->loop, f->port, "/records", token);
    assert_true(ks_srvtest_ws_wait_upgraded(&f->loop, ws));
    return ws;
}

static bool n_clients_is(fx *f, size_t n);

typedef struct wait_clients {
    fx *f;
    size_t n;
} wait_clients;

static bool clients_reached(void *ud)
{
    wait_clients *w = ud;
    return ks_ws_sink_clients(w->f->sink) == w->n;
}

static bool n_clients_is(fx *f, size_t n)
{
    wait_clients w = {f, n};
    return ks_srvtest_run_until(&f->loop, clients_reached, &w, 5000);
}

static double metric(fx *f, const char *name, const char *labels)
{
    return ks_metric_value(ks_metrics_counter(f->metrics, name, NULL, labels));
}

static void test_ack_and_message_format(void **state)
{
    (void)state;
    fx *f = start(30000, 64, NULL);
    ks_batch *none = batch("shardId-000000000000", 1, 4);
    assert_int_equal(ks_sink_submit(f->sink, none), KS_ERR_AGAIN); /* nobody connected */
    assert_false(f->sink->vt->connected(f->sink));
    ks_srvtest_ws *ws = connect_client(f, NULL);
    assert_true(n_clients_is(f, 1));
    assert_int_equal(f->ready_calls, 1);
    assert_int_equal(ks_sink_submit(f->sink, none), KS_OK);
    ks_batch *b2 = batch("shardId-000000000001", 2, 8);
    assert_int_equal(ks_sink_submit(f->sink, b2), KS_OK);
    expect_msgs(f, ws, 2);

    cJSON *j = cJSON_Parse(ws->msgs[1].data);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "batch");
    assert_string_equal(cJSON_GetObjectItem(j, "stream")->valuestring, "orders");
    assert_string_equal(cJSON_GetObjectItem(j, "shard_id")->valuestring, "shardId-000000000001");
    const cJSON *recs = cJSON_GetObjectItem(j, "records");
    assert_int_equal(cJSON_GetArraySize(recs), 2);
    const cJSON *r = cJSON_GetArrayItem(recs, 1);
    assert_string_equal(cJSON_GetObjectItem(r, "data")->valuestring, "QQQQQQQQ");
    assert_string_equal(cJSON_GetObjectItem(r, "partition_key")->valuestring, "pk-1");
    assert_string_equal(cJSON_GetObjectItem(r, "sequence_number")->valuestring, "49590001");
    assert_string_equal(cJSON_GetObjectItem(r, "shard_id")->valuestring, "shardId-000000000001");
    assert_string_equal(cJSON_GetObjectItem(r, "stream")->valuestring, "orders");
    assert_string_equal(cJSON_GetObjectItem(r, "arrival_timestamp")->valuestring,
                        "2026-09-21T14:13:20.123Z");
    assert_int_equal(cJSON_GetArraySize(r), 6);
    cJSON_Delete(j);

    assert_int_equal(f->n_results, 0); /* nothing acknowledged yet */
    answer(ws, &ws->msgs[1], "ack");
    expect_results(f, 1);
    assert_ptr_equal(f->results[0].batch, b2);
    assert_int_equal(f->results[0].d, KS_DELIVERY_ACK);
    answer(ws, &ws->msgs[0], "ack");
    expect_results(f, 2);
    assert_ptr_equal(f->results[1].batch, none);
    assert_int_equal(f->results[1].d, KS_DELIVERY_ACK);
    assert_int_equal(ks_ws_sink_in_flight(f->sink), 0);
    assert_true(metric(f, "websocket_acks_total", NULL) == 2);

    ks_buf st;
    ks_buf_init(&st);
    f->sink->vt->status_json(f->sink, &st);
    cJSON *sj = cJSON_Parse(st.data);
    assert_non_null(sj);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(sj, "clients")), 1);
    cJSON_Delete(sj);
    ks_buf_clean_up(&st);
    ks_srvtest_ws_free(ws);
    stop(f);
}

static void test_nack_and_timeout(void **state)
{
    (void)state;
    fx *f = start(300, 64, NULL);
    ks_srvtest_ws *ws = connect_client(f, NULL);
    assert_true(n_clients_is(f, 1));
    ks_batch *a = batch("shardId-a", 1, 4), *b = batch("shardId-b", 1, 4);
    assert_int_equal(ks_sink_submit(f->sink, a), KS_OK);
    assert_int_equal(ks_sink_submit(f->sink, b), KS_OK);
    expect_msgs(f, ws, 2);
    answer(ws, &ws->msgs[0], "nack");
    expect_results(f, 1);
    assert_ptr_equal(f->results[0].batch, a);
    assert_int_equal(f->results[0].d, KS_DELIVERY_NACK);
    assert_string_equal(f->results[0].reason, "client nack: bad record");
    /* b is never answered: NACK after ack_timeout; the client stays connected. */
    expect_results(f, 2);
    assert_ptr_equal(f->results[1].batch, b);
    assert_int_equal(f->results[1].d, KS_DELIVERY_NACK);
    assert_string_equal(f->results[1].reason, "timeout");
    /* A late ack for it is ignored, not a protocol error. */
    answer(ws, &ws->msgs[1], "ack");
    ks_batch *c = batch("shardId-c", 1, 4);
    assert_int_equal(ks_sink_submit(f->sink, c), KS_OK);
    expect_msgs(f, ws, 3);
    answer(ws, &ws->msgs[2], "ack");
    expect_results(f, 3);
    assert_int_equal(f->results[2].d, KS_DELIVERY_ACK);
    assert_false(ws->closed);
    assert_true(metric(f, "websocket_late_answers_total", NULL) == 1);
    assert_true(metric(f, "websocket_nacks_total", "cause=\"timeout\"") == 1);
    assert_true(metric(f, "websocket_nacks_total", "cause=\"client\"") == 1);
    ks_srvtest_ws_free(ws);
    stop(f);
}

static void test_disconnect_nacks_all(void **state)
{
    (void)state;
    fx *f = start(30000, 64, NULL);
    ks_srvtest_ws *ws = connect_client(f, NULL);
    assert_true(n_clients_is(f, 1));
    ks_batch *bs[3] = {batch("s1", 1, 4), batch("s1", 1, 4), batch("s2", 1, 4)};
    for (int i = 0; i < 3; i++)
        assert_int_equal(ks_sink_submit(f->sink, bs[i]), KS_OK);
    expect_msgs(f, ws, 3);
    answer(ws, &ws->msgs[0], "ack");
    expect_results(f, 1);
    ks_srvtest_ws_abort(ws);
    expect_results(f, 3);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(f->results[i].d, KS_DELIVERY_NACK);
        assert_string_equal(f->results[i].reason, "disconnect");
    }
    assert_true(n_clients_is(f, 0));
    /* Back-pressure again until someone reconnects, then the replay goes there. */
    assert_int_equal(ks_sink_submit(f->sink, bs[1]), KS_ERR_AGAIN);
    ks_srvtest_ws *ws2 = connect_client(f, NULL);
    assert_true(n_clients_is(f, 1));
    assert_true(f->ready_calls >= 1);
    assert_int_equal(ks_sink_submit(f->sink, bs[1]), KS_OK);
    expect_msgs(f, ws2, 1);
    f->results[1].batch = NULL; /* resubmitted: owned by the new result below */
    answer(ws2, &ws2->msgs[0], "ack");
    expect_results(f, 4);
    assert_ptr_equal(f->results[3].batch, bs[1]);
    assert_int_equal(f->results[3].d, KS_DELIVERY_ACK);
    ks_srvtest_ws_free(ws);
    ks_srvtest_ws_free(ws2);
    stop(f);
}

static bool four_msgs(void *ud)
{
    ks_srvtest_ws **p = ud;
    return p[0]->n_msgs + p[1]->n_msgs == 4;
}

static void test_shard_affinity_two_clients(void **state)
{
    (void)state;
    fx *f = start(30000, 64, NULL);
    ks_srvtest_ws *c1 = connect_client(f, NULL);
    ks_srvtest_ws *c2 = connect_client(f, NULL);
    assert_true(n_clients_is(f, 2));
    ks_batch *a1 = batch("A", 1, 4), *b1 = batch("B", 1, 4), *a2 = batch("A", 1, 4),
             *a3 = batch("A", 1, 4);
    assert_int_equal(ks_sink_submit(f->sink, a1), KS_OK);
    assert_int_equal(ks_sink_submit(f->sink, b1), KS_OK); /* least loaded: the other one */
    assert_int_equal(ks_sink_submit(f->sink, a2), KS_OK);
    assert_int_equal(ks_sink_submit(f->sink, a3), KS_OK); /* A stays put although busier */
    ks_srvtest_ws *pair[2] = {c1, c2};
    assert_true(ks_srvtest_run_until(&f->loop, four_msgs, pair, 5000));
    ks_srvtest_ws *ca = c1->n_msgs == 3 ? c1 : c2, *cb = ca == c1 ? c2 : c1;
    assert_int_equal(ca->n_msgs, 3);
    assert_int_equal(cb->n_msgs, 1);
    for (size_t i = 0; i < 3; i++) {
        cJSON *j = cJSON_Parse(ca->msgs[i].data);
        assert_string_equal(cJSON_GetObjectItem(j, "shard_id")->valuestring, "A");
        cJSON_Delete(j);
    }
    /* In order, with the submission order preserved. */
    char *id0 = msg_id(&ca->msgs[0]), *id2 = msg_id(&ca->msgs[2]);
    char want0[32], want2[32];
    snprintf(want0, sizeof(want0), "%llu-", (unsigned long long)a1->id);
    snprintf(want2, sizeof(want2), "%llu-", (unsigned long long)a3->id);
    assert_true(!strncmp(id0, want0, strlen(want0)));
    assert_true(!strncmp(id2, want2, strlen(want2)));
    free(id0);
    free(id2);
    for (size_t i = 0; i < 3; i++)
        answer(ca, &ca->msgs[i], "ack");
    answer(cb, &cb->msgs[0], "ack");
    expect_results(f, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(f->results[i].d, KS_DELIVERY_ACK);
    ks_srvtest_ws_free(c1);
    ks_srvtest_ws_free(c2);
    stop(f);
}

static void test_max_in_flight_back_pressure(void **state)
{
    (void)state;
    fx *f = start(30000, 2, NULL);
    ks_srvtest_ws *ws = connect_client(f, NULL);
    assert_true(n_clients_is(f, 1));
    ks_batch *b[3] = {batch("s1", 1, 4), batch("s2", 1, 4), batch("s3", 1, 4)};
    assert_int_equal(ks_sink_submit(f->sink, b[0]), KS_OK);
    assert_int_equal(ks_sink_submit(f->sink, b[1]), KS_OK);
    assert_false(ks_sink_writable(f->sink));
    assert_int_equal(ks_sink_submit(f->sink, b[2]), KS_ERR_AGAIN);
    int ready_before = f->ready_calls;
    expect_msgs(f, ws, 2);
    assert_int_equal(f->ready_calls, ready_before); /* still full */
    answer(ws, &ws->msgs[0], "ack");
    expect_results(f, 1);
    assert_int_equal(f->ready_calls, ready_before + 1);
    assert_true(ks_sink_writable(f->sink));
    assert_int_equal(ks_sink_submit(f->sink, b[2]), KS_OK);
    expect_msgs(f, ws, 3);
    answer(ws, &ws->msgs[1], "ack");
    answer(ws, &ws->msgs[2], "ack");
    expect_results(f, 3);
    ks_srvtest_ws_free(ws);
    stop(f);
}

typedef struct bad_case {
    const char *text; /* NULL: oversized */
    const char *reason_prefix;
    const char *counter;
    int opcode;
    int code;
} bad_case;

static void test_bad_client_messages(void **state)
{
    (void)state;
    const bad_case cases[] = {
        {"not json", "malformed message", "malformed", 1, 1008},
        {"[1,2]", "malformed message", "malformed", 1, 1008},
        {"{\"type\":\"hello\",\"id\":\"1\"}", "unknown message type \"hello\"", "unknown_type", 1,
         1008},
        {"{\"type\":\"ack\",\"id\":\"999-999\"}", "unknown batch id", "unknown_id", 1, 1008},
        {"{\"type\":\"ack\"}", "malformed message", "malformed", 1, 1008},
        {"{\"type\":\"ack\",\"id\":\"1\"}", "binary messages", "binary", 2, 1003},
        {NULL, "message too big", "oversized", 1, 1009},
    };
    fx *f = start(30000, 64, NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ks_srvtest_ws *ws = connect_client(f, NULL);
        assert_true(n_clients_is(f, 1));
        ks_batch *held = batch("s", 1, 4);
        assert_int_equal(ks_sink_submit(f->sink, held), KS_OK);
        expect_msgs(f, ws, 1);
        size_t before = f->n_results;
        if (cases[i].text) {
            ks_srvtest_ws_send_frame(ws, cases[i].opcode, cases[i].text, strlen(cases[i].text));
        } else {
            size_t n = KS_WS_MAX_MESSAGE_BYTES + 10;
            char *big = malloc(n);
            memset(big, ' ', n);
            ks_srvtest_ws_send_frame(ws, 1, big, n);
            free(big);
        }
        assert_true(ks_srvtest_run_until(&f->loop, is_closed, ws, 5000));
        assert_int_equal(ws->close_code, cases[i].code);
        assert_true(
            !strncmp(ws->close_reason, cases[i].reason_prefix, strlen(cases[i].reason_prefix)));
        expect_results(f, before + 1); /* what it held is nacked */
        assert_int_equal(f->results[before].d, KS_DELIVERY_NACK);
        assert_true(n_clients_is(f, 0));
        char l[64];
        snprintf(l, sizeof(l), "reason=\"%s\"", cases[i].counter);
        assert_true(metric(f, "websocket_protocol_errors_total", l) >= 1);
        ks_srvtest_ws_free(ws);
    }
    /* The server keeps serving. */
    ks_srvtest_ws *ok = connect_client(f, NULL);
    assert_true(n_clients_is(f, 1));
    size_t before = f->n_results;
    assert_int_equal(ks_sink_submit(f->sink, batch("s", 1, 4)), KS_OK);
    expect_msgs(f, ok, 1);
    answer(ok, &ok->msgs[0], "ack");
    expect_results(f, before + 1);
    assert_int_equal(f->results[before].d, KS_DELIVERY_ACK);
    ks_srvtest_ws_free(ok);
    stop(f);
}

typedef struct wait_metric {
    fx *f;
    const char *name, *labels;
    double v;
} wait_metric;

static bool metric_reached(void *ud)
{
    wait_metric *w = ud;
    return metric(w->f, w->name, w->labels) >= w->v;
}

/* A refused client stays in the client list until lws reports it closed. In between it
 * must take no batch: what it held is NACKed once, and the close frame with the code and
 * reason is the last thing it receives. */
static void test_refused_client_takes_no_batch(void **state)
{
    (void)state;
    fx *f = start(30000, 64, NULL);
    ks_srvtest_ws *ws = connect_client(f, NULL);
    assert_true(n_clients_is(f, 1));
    ks_batch *held = batch("s", 1, 4);
    assert_int_equal(ks_sink_submit(f->sink, held), KS_OK);
    expect_msgs(f, ws, 1);
    ks_srvtest_ws_send_text(ws, "not json");
    wait_metric w = {f, "websocket_protocol_errors_total", "reason=\"malformed\"", 1};
    assert_true(ks_srvtest_run_until(&f->loop, metric_reached, &w, 5000));
    /* Refused: what it held is NACKed now, and it is no longer a candidate. */
    assert_int_equal(f->n_results, 1);
    assert_ptr_equal(f->results[0].batch, held);
    assert_int_equal(f->results[0].d, KS_DELIVERY_NACK);
    assert_int_equal(ks_ws_sink_in_flight(f->sink), 0);
    assert_false(ks_sink_writable(f->sink));
    assert_false(f->sink->vt->connected(f->sink));
    ks_batch *next = batch("s", 1, 4);  /* same shard: no affinity to the refused client */
    ks_batch *other = batch("t", 1, 4); /* another shard: no least-loaded pick either */
    assert_int_equal(ks_sink_submit(f->sink, next), KS_ERR_AGAIN);
    assert_int_equal(ks_sink_submit(f->sink, other), KS_ERR_AGAIN);
    assert_true(ks_srvtest_run_until(&f->loop, is_closed, ws, 5000));
    assert_int_equal(ws->close_code, 1008);
    assert_string_equal(ws->close_reason, "malformed message: not a JSON object");
    assert_true(n_clients_is(f, 0));
    assert_int_equal(ws->n_msgs, 1);   /* nothing written after the refusal */
    assert_int_equal(f->n_results, 1); /* NACKed once, not again on LWS_CALLBACK_CLOSED */
    assert_true(metric(f, "websocket_nacks_total", "cause=\"disconnect\"") == 1);

    /* The next client gets both batches. */
    ks_srvtest_ws *ok = connect_client(f, NULL);
    assert_true(n_clients_is(f, 1));
    assert_int_equal(ks_sink_submit(f->sink, next), KS_OK);
    assert_int_equal(ks_sink_submit(f->sink, other), KS_OK);
    expect_msgs(f, ok, 2);
    answer(ok, &ok->msgs[0], "ack");
    answer(ok, &ok->msgs[1], "ack");
    expect_results(f, 3);
    assert_int_equal(f->results[1].d, KS_DELIVERY_ACK);
    assert_int_equal(f->results[2].d, KS_DELIVERY_ACK);
    ks_srvtest_ws_free(ws);
    ks_srvtest_ws_free(ok);
    stop(f);
}

static void test_token_and_path(void **state)
{
    (void)state;
    fx *f = start(30000, 64, "tok-123\n");
    ks_srvtest_ws *none = ks_srvtest_ws_connect(&f->loop, f->port, "/records", NULL);
    assert_false(ks_srvtest_ws_wait_upgraded(&f->loop, none));
    assert_int_equal(none->http_status, 401);
    ks_srvtest_ws *wrong = ks_srvtest_ws_connect(&f->loop, f->port, "/records", "tok-124");
    assert_false(ks_srvtest_ws_wait_upgraded(&f->loop, wrong));
    assert_int_equal(wrong->http_status, 401);
    ks_srvtest_ws *path = ks_srvtest_ws_connect(&f->loop, f->port, "/other", "tok-123");
    assert_false(ks_srvtest_ws_wait_upgraded(&f->loop, path));
    assert_int_equal(path->http_status, 404);
    assert_int_equal(ks_ws_sink_clients(f->sink), 0);
    assert_true(metric(f, "websocket_handshakes_refused_total", "reason=\"token\"") == 2);
    ks_srvtest_ws *good = connect_client(f, "tok-123");
    assert_true(n_clients_is(f, 1));
    ks_srvtest_ws_free(none);
    ks_srvtest_ws_free(wrong);
    ks_srvtest_ws_free(path);
    ks_srvtest_ws_free(good);
    stop(f);
}

static void test_large_batch_fragmented(void **state)
{
    (void)state;
    fx *f = start(30000, 64, NULL);
    ks_srvtest_ws *ws = connect_client(f, NULL);
    assert_true(n_clients_is(f, 1));
    ks_batch *b = batch("big", 40, 10000); /* ~400 KB message */
    assert_int_equal(ks_sink_submit(f->sink, b), KS_OK);
    expect_msgs(f, ws, 1);
    assert_true(ws->msgs[0].len > 400000);
    assert_true(ws->n_frames > 1);
    cJSON *j = cJSON_Parse(ws->msgs[0].data);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "records")), 40);
    cJSON_Delete(j);
    answer(ws, &ws->msgs[0], "ack");
    expect_results(f, 1);
    assert_int_equal(f->results[0].d, KS_DELIVERY_ACK);
    ks_srvtest_ws_free(ws);
    stop(f);
}

static void test_destroy_nacks_and_closes(void **state)
{
    (void)state;
    fx *f = start(30000, 64, NULL);
    ks_srvtest_ws *ws = connect_client(f, NULL);
    assert_true(n_clients_is(f, 1));
    assert_int_equal(ks_sink_submit(f->sink, batch("s", 1, 4)), KS_OK);
    expect_msgs(f, ws, 1);
    ks_sink_destroy(f->sink);
    f->sink = NULL;
    assert_int_equal(f->n_results, 1);
    assert_int_equal(f->results[0].d, KS_DELIVERY_NACK);
    assert_true(ks_srvtest_run_until(&f->loop, is_closed, ws, 5000));
    assert_int_equal(ws->close_code, 1001);
    ks_srvtest_ws_free(ws);
    stop(f);
}

int main(void)
{
    ks_log_set_level(KS_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ack_and_message_format),
        cmocka_unit_test(test_nack_and_timeout),
        cmocka_unit_test(test_disconnect_nacks_all),
        cmocka_unit_test(test_shard_affinity_two_clients),
        cmocka_unit_test(test_max_in_flight_back_pressure),
        cmocka_unit_test(test_bad_client_messages),
        cmocka_unit_test(test_refused_client_takes_no_batch),
        cmocka_unit_test(test_token_and_path),
        cmocka_unit_test(test_large_batch_fragmented),
        cmocka_unit_test(test_destroy_nacks_and_closes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
