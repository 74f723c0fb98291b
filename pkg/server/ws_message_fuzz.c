/* libFuzzer target: websocket client messages (ack/nack) through the real sink.
 * The parser (handle_message in ws_sink.c) is static and works on a live client, so
 * each input goes the whole way: a raw websocket client (srv_testutil) connects to a
 * ks_ws_sink on loopback, one batch is submitted and received, and the input is sent
 * as one text frame, with every "$ID" replaced by that batch's id so that acks and
 * nacks of a held batch are reachable. The run ends when the batch has a result or the
 * server closed the connection; then the client goes away (what it held is nacked).
 * Checked: an ACK result only for a JSON object {"type":"ack","id":<that id>}; exactly
 * one result per batch; the sink keeps serving. Corpus: e2e/fuzz/corpus/ws_message. */
#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/buf.h"
#include "core/fuzz_testutil.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "server/server.h"
#include "server/srv_testutil.h"
#include "server/ws_sink.h"
#include "sink/sink.h"

#define DEADLINE_MS 5000

typedef struct fx {
    uv_loop_t loop;
    ks_metrics *metrics;
    ks_server *srv;
    ks_sink *sink;
    int port;
    ks_batch *batch; /* submitted, no result yet */
    int results;     /* results for the current batch */
    ks_delivery last;
} fx;

static fx *g;

static void on_result(void *ud, ks_batch *b, ks_delivery d, const char *reason)
{
    fx *f = ud;
    (void)reason;
    if (b != f->batch)
        abort(); /* a result for a batch nobody submitted */
    f->results++;
    f->last = d;
}

static void on_ready(void *ud)
{
    (void)ud;
}

static void teardown(void)
{
    if (!g)
        return;
    ks_sink_destroy(g->sink);
    ks_server_destroy(g->srv);
    ks_srvtest_drain(&g->loop);
    uv_loop_close(&g->loop);
    ks_metrics_destroy(g->metrics);
    ks_batch_destroy(g->batch);
    free(g);
    g = NULL;
}

static void setup(void)
{
    fx *f = calloc(1, sizeof(*f));
    if (!f || uv_loop_init(&f->loop) != 0 || ks_metrics_new(&f->metrics) != KS_OK)
        abort();
    ks_server_opts o = {.loop = &f->loop, .admin_address = "127.0.0.1:0", .metrics = f->metrics};
    if (ks_server_new(&o, &f->srv) != KS_OK)
        abort();
    ks_websocket_config wc = {
        .address = "127.0.0.1:0", .path = "/records", .ack_timeout_ms = 60000, .max_in_flight = 4};
    ks_sink_callbacks cb = {on_result, on_ready, f};
    if (ks_ws_sink_new(f->srv, &wc, f->metrics, &cb, &f->sink) != KS_OK)
        abort();
    f->port = ks_ws_sink_port(f->sink);
    g = f;
    atexit(teardown); /* runs before LeakSanitizer's exit check */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ks_log_set_level(KS_LOG_OFF);
    setup();
    return 0;
}

static bool clients_zero(void *ud)
{
    return ks_ws_sink_clients(((fx *)ud)->sink) == 0;
}

static bool clients_one(void *ud)
{
    return ks_ws_sink_clients(((fx *)ud)->sink) == 1;
}

typedef struct wait_ctx {
    fx *f;
    ks_srvtest_ws *ws;
} wait_ctx;

static bool have_msg(void *ud)
{
    wait_ctx *w = ud;
    return w->ws->n_msgs > 0 || w->ws->closed;
}

static bool answered_or_closed(void *ud)
{
    wait_ctx *w = ud;
    return w->f->results > 0 || w->ws->closed;
}

/* The id of the batch message, or NULL. */
static char *batch_id(const ks_srvtest_msg *m)
{
    cJSON *j = cJSON_ParseWithLength(m->data, m->len);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    char *s = cJSON_IsString(id) ? strdup(id->valuestring) : NULL;
    cJSON_Delete(j);
    return s;
}

/* data with every "$ID" replaced by id. */
static bool substitute(const uint8_t *data, size_t size, const char *id, ks_buf *out)
{
    size_t idlen = strlen(id);
    for (size_t i = 0; i < size;) {
        ks_err err;
        if (i + 3 <= size && memcmp(data + i, "$ID", 3) == 0) {
            err = ks_buf_append(out, id, idlen);
            i += 3;
        } else {
            err = ks_buf_append(out, data + i, 1);
            i++;
        }
        if (err)
            return false;
    }
    return true;
}

static bool is_ack_of(const ks_buf *msg, const char *id)
{
    cJSON *j = cJSON_ParseWithLength(msg->data ? msg->data : "", msg->len);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(j, "id");
    bool ok = cJSON_IsObject(j) && cJSON_IsString(type) && strcmp(type->valuestring, "ack") == 0 &&
              cJSON_IsString(jid) && strcmp(jid->valuestring, id) == 0;
    cJSON_Delete(j);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fx *f = g;
    if (size > 64 * 1024)
        return 0;
    ks_srvtest_ws *ws = ks_srvtest_ws_connect(&f->loop, f->port, "/records", NULL);
    if (!ks_srvtest_ws_wait_upgraded(&f->loop, ws) ||
        !ks_srvtest_run_until(&f->loop, clients_one, f, DEADLINE_MS))
        abort(); /* the sink stopped serving */
    f->results = 0;
    if (ks_batch_new("orders", "shardId-000000000001", &f->batch) != KS_OK ||
        ks_batch_add(f->batch, "eyJrIjoxfQ==", 12, "pk-1", "49590000000000000001",
                     1790000000123LL) != KS_OK ||
        ks_sink_submit(f->sink, f->batch) != KS_OK)
        abort();
    wait_ctx w = {f, ws};
    if (!ks_srvtest_run_until(&f->loop, have_msg, &w, DEADLINE_MS) || ws->n_msgs != 1)
        abort(); /* the batch was not delivered */
    char *id = batch_id(&ws->msgs[0]);
    if (!id)
        abort();

    ks_buf msg;
    ks_buf_init(&msg);
    if (!substitute(data, size, id, &msg))
        abort();
    ks_srvtest_ws_send_frame(ws, 1, msg.data ? msg.data : "", msg.len);
    /* A late or ignored answer leaves both open: the deadline ends the wait then. */
    (void)ks_srvtest_run_until(&f->loop, answered_or_closed, &w, 200);
    if (f->results > 1)
        abort();
    if (f->results == 1 && f->last == KS_DELIVERY_ACK && !is_ack_of(&msg, id))
        abort(); /* acknowledged by something that is not an ack of this batch */
    ks_srvtest_ws_free(ws);
    if (!ks_srvtest_run_until(&f->loop, clients_zero, f, DEADLINE_MS))
        abort();
    if (f->results != 1)
        abort(); /* a batch ends with exactly one result (the disconnect nacks it) */
    ks_batch_destroy(f->batch);
    f->batch = NULL;
    ks_buf_clean_up(&msg);
    free(id);
    return 0;
}
