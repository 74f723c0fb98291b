/* Integration driver for pkg/lease: runs several lease coordinators in one libuv loop
 * against DynamoDB/Kinesis endpoints (dynalite + kinesalite in e2e/lease.test.mjs) with
 * fake static credentials, prints one JSON event per line on stdout and takes commands
 * on stdin, one per line: "kill <client>" (destroy without releasing: a crash),
 * "release_all <client>", "status <client>", "quit".
 *
 * usage: lease_itest --dynamo URL --kinesis URL --table T --stream S
 *          [--lease-ms N] [--rebalance-ms N] [--commit-ms N] [--grace-ms N]
 *          [--max-claims N] CLIENT...
 * A peer asked for a shard (HandoffTo) gets it back at once: the fake consumer releases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "aws/client.h"
#include "core/buf.h"
#include "core/log.h"
#include "dynamo/dynamo.h"
#include "http/http.h"
#include "itest_util.h"
#include "kinesis/kinesis.h"
#include "lease/lease.h"

#define MAX_CLIENTS 8

typedef struct client {
    char *id;
    ks_aws_client *aws;
    ks_dynamo *dynamo;
    ks_lease_coordinator *coord;
    struct itest *it;
} client;

typedef struct itest {
    uv_loop_t *loop;
    ks_http *http;
    ks_aws_client *kaws;
    ks_kinesis *kinesis;
    ks_config config;
    ks_stream_spec spec;
    client clients[MAX_CLIENTS];
    size_t n_clients;
    uv_pipe_t in;
    ks_buf line;
    bool quitting;
} itest;

static void emit(const char *event, const char *client_id, const char *stream, const char *shard,
                 const char *extra)
{
    ks_buf b;
    ks_buf_init(&b);
    ks_buf_appendf(&b, "{\"event\":\"%s\",\"client\":", event);
    ks_buf_append_json_str(&b, client_id, strlen(client_id));
    if (stream) {
        ks_buf_append_str(&b, ",\"stream\":");
        ks_buf_append_json_str(&b, stream, strlen(stream));
    }
    if (shard) {
        ks_buf_append_str(&b, ",\"shard\":");
        ks_buf_append_json_str(&b, shard, strlen(shard));
    }
    if (extra)
        ks_buf_appendf(&b, ",%s", extra);
    ks_buf_append_str(&b, "}\n");
    fputs(b.data, stdout);
    fflush(stdout);
    ks_buf_clean_up(&b);
}

static ks_aws_client *aws_new(itest *it, const char *endpoint, ks_itest_service service)
{
    ks_aws_client *c = NULL;
    return ks_itest_aws_new(it->http, service, endpoint, 5000, &c) == KS_OK ? c : NULL;
}

static void on_acquired(void *ud, const ks_lease_start *s)
{
    client *cl = ud;
    char extra[160];
    snprintf(extra, sizeof(extra), "\"type\":%d,\"child\":%s", (int)s->type,
             s->is_child ? "true" : "false");
    emit("acquired", cl->id, s->stream, s->shard_id, extra);
}

static void on_lost(void *ud, const char *stream, const char *shard, const char *reason)
{
    client *cl = ud;
    ks_buf b;
    ks_buf_init(&b);
    ks_buf_append_str(&b, "\"reason\":");
    ks_buf_append_json_str(&b, reason, strlen(reason));
    emit("lost", cl->id, stream, shard, b.data);
    ks_buf_clean_up(&b);
}

typedef struct release_ctx {
    client *cl;
    char *stream, *shard;
} release_ctx;

static void on_released(void *ud, ks_err err)
{
    release_ctx *r = ud;
    char extra[80];
    snprintf(extra, sizeof(extra), "\"err\":\"%s\"", ks_err_str(err));
    emit("released", r->cl->id, r->stream, r->shard, extra);
    free(r->stream);
    free(r->shard);
    free(r);
}

static void on_handoff(void *ud, const char *stream, const char *shard)
{
    client *cl = ud;
    emit("handoff_requested", cl->id, stream, shard, NULL);
    release_ctx *r = calloc(1, sizeof(*r));
    if (!r)
        return;
    r->cl = cl;
    r->stream = ks_strdup(stream);
    r->shard = ks_strdup(shard);
    ks_lease_release(cl->coord, stream, shard, on_released, r);
}

static void on_table_error(void *ud, ks_err err, const char *msg)
{
    client *cl = ud;
    (void)msg;
    char extra[80];
    snprintf(extra, sizeof(extra), "\"err\":\"%s\"", ks_err_str(err));
    emit("table_error", cl->id, NULL, NULL, extra);
}

static void on_released_all(void *ud, ks_err err)
{
    client *cl = ud;
    char extra[80];
    snprintf(extra, sizeof(extra), "\"err\":\"%s\",\"held\":%zu", ks_err_str(err),
             cl->coord ? ks_lease_held(cl->coord) : 0);
    emit("released_all", cl->id, NULL, NULL, extra);
}

static client *find_client(itest *it, const char *id)
{
    for (size_t i = 0; i < it->n_clients; i++)
        if (strcmp(it->clients[i].id, id) == 0)
            return &it->clients[i];
    return NULL;
}

static void client_kill(client *cl)
{
    ks_lease_coordinator_destroy(cl->coord);
    cl->coord = NULL;
    ks_dynamo_destroy(cl->dynamo);
    cl->dynamo = NULL;
    ks_aws_client_destroy(cl->aws);
    cl->aws = NULL;
}

static void shutdown_all(itest *it)
{
    it->quitting = true;
    for (size_t i = 0; i < it->n_clients; i++)
        client_kill(&it->clients[i]);
    ks_kinesis_destroy(it->kinesis);
    it->kinesis = NULL;
    ks_aws_client_destroy(it->kaws);
    it->kaws = NULL;
    ks_http_destroy(it->http);
    it->http = NULL;
    if (!uv_is_closing((uv_handle_t *)&it->in))
        uv_close((uv_handle_t *)&it->in, NULL);
}

static void command(itest *it, char *line)
{
    char *verb = strtok(line, " \t\r");
    char *who = strtok(NULL, " \t\r");
    if (!verb)
        return;
    if (strcmp(verb, "quit") == 0) {
        shutdown_all(it);
        return;
    }
    client *cl = who ? find_client(it, who) : NULL;
    if (!cl || !cl->coord) {
        emit("error", who ? who : "", NULL, NULL, "\"message\":\"unknown client\"");
        return;
    }
    if (strcmp(verb, "kill") == 0) {
        client_kill(cl);
        emit("killed", cl->id, NULL, NULL, NULL);
    } else if (strcmp(verb, "release_all") == 0) {
        ks_lease_release_all(cl->coord, 5000, on_released_all, cl);
    } else if (strcmp(verb, "status") == 0) {
        ks_buf b;
        ks_buf_init(&b);
        ks_buf_append_str(&b, "\"status\":");
        ks_lease_status_json(cl->coord, &b);
        emit("status", cl->id, NULL, NULL, b.data);
        ks_buf_clean_up(&b);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(suggested);
    buf->len = buf->base ? suggested : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    itest *it = s->data;
    if (n < 0) {
        free(buf->base);
        if (!it->quitting)
            shutdown_all(it);
        return;
    }
    ks_buf_append(&it->line, buf->base, (size_t)n);
    free(buf->base);
    char *nl;
    while (!it->quitting && it->line.data && (nl = memchr(it->line.data, '\n', it->line.len))) {
        size_t len = (size_t)(nl - it->line.data);
        char *cmd = ks_strndup(it->line.data, len);
        memmove(it->line.data, nl + 1, it->line.len - len - 1);
        it->line.len -= len + 1;
        it->line.data[it->line.len] = 0;
        if (cmd)
            command(it, cmd);
        free(cmd);
    }
}

static int64_t arg_ms(const char *v)
{
    return strtoll(v, NULL, 10);
}

int main(int argc, char **argv)
{
    const char *dynamo_url = NULL, *kinesis_url = NULL, *table = NULL, *stream = NULL;
    itest it;
    memset(&it, 0, sizeof(it));
    ks_kinesis_input_config *in = &it.config.input;
    in->lease_period_ms = 2000;
    in->rebalance_period_ms = 500;
    in->commit_period_ms = 500;
    in->steal_grace_period_ms = 200;
    in->max_claims_per_cycle = 4;
    in->start_from_oldest = true;
    in->checkpoint_limit = 1024;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strncmp(a, "--", 2) == 0 && !v) {
            fprintf(stderr, "missing value for %s\n", a);
            return 2;
        }
        if (strcmp(a, "--dynamo") == 0)
            dynamo_url = argv[++i];
        else if (strcmp(a, "--kinesis") == 0)
            kinesis_url = argv[++i];
        else if (strcmp(a, "--table") == 0)
            table = argv[++i];
        else if (strcmp(a, "--stream") == 0)
            stream = argv[++i];
        else if (strcmp(a, "--lease-ms") == 0)
            in->lease_period_ms = arg_ms(argv[++i]);
        else if (strcmp(a, "--rebalance-ms") == 0)
            in->rebalance_period_ms = arg_ms(argv[++i]);
        else if (strcmp(a, "--commit-ms") == 0)
            in->commit_period_ms = arg_ms(argv[++i]);
        else if (strcmp(a, "--grace-ms") == 0)
            in->steal_grace_period_ms = arg_ms(argv[++i]);
        else if (strcmp(a, "--max-claims") == 0)
            in->max_claims_per_cycle = arg_ms(argv[++i]);
        else if (it.n_clients < MAX_CLIENTS)
            it.clients[it.n_clients++].id = argv[i];
    }
    if (!dynamo_url || !kinesis_url || !table || !stream || it.n_clients == 0) {
        fprintf(stderr, "usage: lease_itest --dynamo URL --kinesis URL --table T --stream S "
                        "[--lease-ms N] [--rebalance-ms N] [--commit-ms N] [--grace-ms N] "
                        "[--max-claims N] CLIENT...\n");
        return 2;
    }
    ks_log_set_level(getenv("KS_ITEST_DEBUG") ? KS_LOG_DEBUG : KS_LOG_WARN);
    it.spec.stream = (char *)stream;
    in->streams = &it.spec;
    in->n_streams = 1;
    in->dynamodb.table = (char *)table;
    in->dynamodb.create = true;
    it.loop = uv_default_loop();
    if (ks_http_new(it.loop, &it.http) != KS_OK ||
        !(it.kaws = aws_new(&it, kinesis_url, KS_ITEST_KINESIS)) ||
        ks_kinesis_new(it.kaws, &it.kinesis) != KS_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    for (size_t i = 0; i < it.n_clients; i++) {
        client *cl = &it.clients[i];
        cl->it = &it;
        ks_lease_options o = {
            .loop = it.loop,
            .kinesis = it.kinesis,
            .config = &it.config,
            .client_id = cl->id,
            .events = {.on_acquired = on_acquired,
                       .on_lost = on_lost,
                       .on_handoff_requested = on_handoff,
                       .ud = cl,
                       .on_table_error = on_table_error},
        };
        if (!(cl->aws = aws_new(&it, dynamo_url, KS_ITEST_DYNAMODB)) ||
            ks_dynamo_new(cl->aws, &cl->dynamo) != KS_OK ||
            !(o.dynamo = cl->dynamo, ks_lease_coordinator_new(&o, &cl->coord) == KS_OK) ||
            ks_lease_coordinator_start(cl->coord) != KS_OK) {
            fprintf(stderr, "coordinator %s: setup failed\n", cl->id);
            return 1;
        }
        emit("started", cl->id, NULL, NULL, NULL);
    }
    ks_buf_init(&it.line);
    uv_pipe_init(it.loop, &it.in, 0);
    it.in.data = &it;
    uv_pipe_open(&it.in, 0);
    uv_read_start((uv_stream_t *)&it.in, on_alloc, on_read);
    uv_run(it.loop, UV_RUN_DEFAULT);
    ks_buf_clean_up(&it.line);
    int rc = uv_loop_close(it.loop);
    emit("exit", "", NULL, NULL, rc == 0 ? "\"clean\":true" : "\"clean\":false");
    return 0;
}
