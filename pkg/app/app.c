/* Builds every component from the config on one loop and tears them down in order.
 * Construction order follows the references: http -> credentials -> AWS clients ->
 * Kinesis/DynamoDB -> metrics -> engine -> sink -> lease coordinator -> admin server. */
#include "app/app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "aws/client.h"
#include "aws/creds.h"
#include "consumer/engine.h"
#include "core/backoff.h"
#include "core/log.h"
#include "dynamo/dynamo.h"
#include "http/http.h"
#include "kinesis/kinesis.h"
#include "lease/lease.h"
#include "metrics/metrics.h"
#include "server/server.h"
#include "server/ws_sink.h"
#include "sink/fifo.h"

struct ks_app {
    uv_loop_t *loop;
    const ks_config *config;
    char *client_id;
    char *region;
    char *ddb_region;
    ks_http *http;
    ks_creds_chain *creds;
    ks_creds_chain *ddb_creds; /* NULL: DynamoDB shares `creds` */
    ks_aws_client *kinesis_aws;
    ks_aws_client *ddb_aws;
    ks_kinesis *kinesis;
    ks_dynamo *dynamo;
    ks_metrics *metrics;
    ks_engine *engine;
    ks_sink *sink;
    ks_lease_coordinator *leases;
    ks_server *server;
    uv_signal_t sigterm, sigint;
    uv_timer_t teardown_timer; /* teardown never runs inside a component's callback */
    bool signals_open;
    int closing;           /* handles whose close callback has not run yet */
    bool free_when_closed; /* ks_app_destroy ran while handles were closing */
    bool stopping;         /* teardown requested (signal) */
    bool torn_down;
    bool exit_after_drain;
    int exit_code;
};

char *ks_app_make_client_id(void)
{
    const char *env = getenv("KS_CLIENT_ID");
    if (env && *env)
        return ks_strdup(env);
    char host[256] = "kinesis-sidecar";
    if (gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "kinesis-sidecar");
    host[sizeof(host) - 1] = '\0';
    ks_buf b;
    ks_buf_init(&b);
    if (ks_buf_appendf(&b, "%s-%08x", host, ks_rand32()) != KS_OK) {
        ks_buf_clean_up(&b);
        return NULL;
    }
    char *out = NULL;
    ks_buf_detach(&b, &out, NULL);
    return out;
}

static ks_tcp_opts tcp_opts(const ks_tcp_config *t)
{
    return (ks_tcp_opts){.connect_timeout_ms = t->connect_timeout_ms,
                         .keep_alive_idle_ms = t->keep_alive_idle_ms,
                         .keep_alive_interval_ms = t->keep_alive_interval_ms,
                         .keep_alive_count = t->keep_alive_count,
                         .tcp_user_timeout_ms = t->tcp_user_timeout_ms};
}

static bool creds_configured(const ks_credentials_config *c)
{
    return c->profile || c->id || c->secret || c->token || c->from_ec2_role || c->role;
}

static ks_err make_chain(ks_app *app, const ks_credentials_config *cc, const char *region,
                         const ks_tcp_config *tcp, ks_creds_chain **out)
{
    ks_tcp_opts t = tcp_opts(tcp);
    ks_creds_chain_options o = {.loop = app->loop,
                                .http = app->http,
                                .config = cc,
                                .region = region,
                                .sts_endpoint = getenv("AWS_ENDPOINT_URL_STS") /* the SDKs' name */,
                                .imds_endpoint = NULL,
                                .tcp = &t};
    return ks_creds_chain_new(&o, out);
}

/* --- admin hooks --- */

static void hook_ready(void *ud, ks_buf *json_out, bool *ready_out)
{
    ks_app *app = ud;
    ks_ready_state st = {
        .dynamo_healthy = app->leases && ks_lease_dynamo_healthy(app->leases),
        .draining = app->engine && ks_engine_draining(app->engine),
        .leases_held = app->leases ? ks_lease_held(app->leases) : 0,
        .healthy_standby = app->leases && ks_lease_standby_ok(app->leases),
    };
    ks_admin_ready_eval(&st, json_out, ready_out);
}

/* Parses JSON a component appended to a scratch buffer (NULL on failure). */
static cJSON *component_json(void (*fn)(const void *, ks_buf *), const void *obj)
{
    ks_buf b;
    ks_buf_init(&b);
    fn(obj, &b);
    cJSON *j = b.data ? cJSON_ParseWithLength(b.data, b.len) : NULL;
    ks_buf_clean_up(&b);
    return j;
}

static void lease_status(const void *o, ks_buf *b)
{
    ks_lease_status_json(o, b);
}

static void engine_status(const void *o, ks_buf *b)
{
    ks_engine_status_json(o, b);
}

static void sink_status(const void *o, ks_buf *b)
{
    const ks_sink *sink = o;
    if (sink->vt->status_json)
        sink->vt->status_json(sink, b);
}

/* Adds the reader's view of a shard (delivery state) to the coordinator's lease entry. */
static void merge_reader(cJSON *lease, const cJSON *readers)
{
    const char *stream = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(lease, "stream"));
    const char *shard = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(lease, "shard_id"));
    const cJSON *r;
    cJSON_ArrayForEach(r, readers)
    {
        const char *rs = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "stream"));
        const char *rh = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "shard_id"));
        if (!stream || !shard || !rs || !rh || strcmp(stream, rs) != 0 || strcmp(shard, rh) != 0)
            continue;
        static const char *const keys[] = {"in_flight", "buffered", "last_read_sequence",
                                           "millis_behind_latest"};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, keys[i]);
            if (v)
                cJSON_AddItemToObject(lease, keys[i], cJSON_Duplicate(v, 1));
        }
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(r, "state");
        if (st)
            cJSON_AddItemToObject(lease, "reader_state", cJSON_Duplicate(st, 1));
        return;
    }
    cJSON_AddNumberToObject(lease, "in_flight", 0);
}

/* /status: one document with the coordinator's leases, each merged with its reader. */
static void hook_status(void *ud, ks_buf *out)
{
    ks_app *app = ud;
    cJSON *coord = app->leases ? component_json(lease_status, app->leases) : NULL;
    cJSON *readers = component_json(engine_status, app->engine);
    cJSON *sink = app->sink ? component_json(sink_status, app->sink) : NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "client_id", app->client_id);
    cJSON_AddStringToObject(root, "version", KS_VERSION);
    cJSON_AddBoolToObject(root, "draining", ks_engine_draining(app->engine));
    cJSON_AddBoolToObject(root, "paused", ks_engine_paused(app->engine));
    static const char *const coord_keys[] = {"held", "dynamodb_healthy", "standby_ok"};
    for (size_t i = 0; coord && i < sizeof(coord_keys) / sizeof(coord_keys[0]); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(coord, coord_keys[i]);
        if (v)
            cJSON_AddItemToObject(root, coord_keys[i], cJSON_Duplicate(v, 1));
    }
    cJSON *leases = coord ? cJSON_DetachItemFromObjectCaseSensitive(coord, "leases") : NULL;
    if (!cJSON_IsArray(leases)) {
        cJSON_Delete(leases);
        leases = cJSON_CreateArray();
    }
    cJSON *l;
    cJSON_ArrayForEach(l, leases)
    {
        merge_reader(l, readers);
    }
    cJSON_AddItemToObject(root, "leases", leases);
    cJSON_AddNumberToObject(root, "in_flight", (double)ks_engine_in_flight(app->engine));
    cJSON_AddItemToObject(root, "sink", sink ? sink : cJSON_CreateNull());
    char *text = cJSON_PrintUnformatted(root);
    if (text)
        ks_buf_append_str(out, text);
    else
        ks_buf_append_str(out, "{}");
    free(text);
    cJSON_Delete(root);
    cJSON_Delete(coord);
    cJSON_Delete(readers);
}

static void teardown(ks_app *app);

static void on_teardown_timer(uv_timer_t *t)
{
    teardown(t->data);
}

/* Components call back from inside their own handlers (an admin request, a lease
 * write); tearing them down there would free them under their own feet. */
static void request_teardown_after(ks_app *app, uint64_t delay_ms)
{
    if (!app->torn_down)
        uv_timer_start(&app->teardown_timer, on_teardown_timer, delay_ms, 0);
}

static void request_teardown(ks_app *app)
{
    request_teardown_after(app, 0);
}

/* After POST /drain?exit=1 the answer to that request is still being written: give
 * the admin server a moment to flush it before its connections close. */
#define KS_EXIT_LINGER_MS 250

static void on_drained(void *ud, ks_err err)
{
    ks_app *app = ud;
    app->exit_code = err == KS_OK ? 0 : 1;
    ks_log(KS_LOG_INFO, "drain complete%s",
           app->stopping || app->exit_after_drain ? "; exiting" : "; waiting for SIGTERM");
    if (app->stopping)
        request_teardown(app);
    else if (app->exit_after_drain)
        request_teardown_after(app, KS_EXIT_LINGER_MS);
}

static void hook_drain(void *ud)
{
    ks_app *app = ud;
    ks_engine_drain(app->engine, (uint64_t)app->config->shutdown_timeout_ms, on_drained, app);
}

static void hook_drain_exit(void *ud)
{
    ks_app *app = ud;
    app->exit_after_drain = true;
    if (ks_engine_drained(app->engine))
        request_teardown_after(app, KS_EXIT_LINGER_MS);
    else
        hook_drain(app);
}

static void hook_pause(void *ud)
{
    ks_engine_pause(((ks_app *)ud)->engine, true);
}

static void hook_resume(void *ud)
{
    ks_engine_pause(((ks_app *)ud)->engine, false);
}

static void on_signal(uv_signal_t *h, int signum)
{
    ks_app *app = h->data;
    ks_log(KS_LOG_INFO, "received %s: stopping gracefully",
           signum == SIGTERM ? "SIGTERM" : "SIGINT");
    if (app->stopping) {
        if (signum == SIGINT) {
            ks_log(KS_LOG_WARN, "second SIGINT: stopping now without waiting");
            app->exit_code = 1;
            request_teardown(app);
        }
        return;
    }
    ks_app_stop(app);
}

/* --- lifecycle --- */

ks_err ks_app_new(const ks_app_options *opts, ks_app **out)
{
    const ks_config *cfg = opts->config;
    const ks_kinesis_input_config *in = &cfg->input;
    ks_err err = KS_ERR_NOMEM;
    ks_app *app = calloc(1, sizeof(*app));
    if (!app)
        return KS_ERR_NOMEM;
    app->loop = opts->loop;
    app->config = cfg;
    uv_timer_init(app->loop, &app->teardown_timer);
    app->teardown_timer.data = app;
    uv_signal_init(app->loop, &app->sigterm);
    uv_signal_init(app->loop, &app->sigint);
    app->sigterm.data = app->sigint.data = app;
    app->signals_open = true;
    app->client_id = opts->client_id ? ks_strdup(opts->client_id) : ks_app_make_client_id();
    if (!app->client_id)
        goto fail;
    app->region = ks_aws_resolve_region(in->region, in->n_streams ? in->streams[0].stream : NULL);
    if (!app->region) {
        ks_log(KS_LOG_ERROR, "no AWS region: set input.aws_kinesis.region, AWS_REGION or use a "
                             "stream ARN");
        err = KS_ERR_INVALID;
        goto fail;
    }
    app->ddb_region = in->dynamodb.region ? ks_strdup(in->dynamodb.region) : ks_strdup(app->region);
    if (!app->ddb_region)
        goto fail;
    if ((err = ks_http_new(app->loop, &app->http)))
        goto fail;
    if ((err = make_chain(app, &in->credentials, app->region, &in->tcp, &app->creds)))
        goto fail;
    if (creds_configured(&in->dynamodb.credentials) &&
        (err = make_chain(app, &in->dynamodb.credentials, app->ddb_region, &in->dynamodb.tcp,
                          &app->ddb_creds)))
        goto fail;

    ks_aws_client_options ko = {.http = app->http,
                                .creds = ks_creds_source_from_chain(app->creds),
                                .service = "kinesis",
                                .region = app->region,
                                .endpoint = in->endpoint,
                                .target_prefix = "Kinesis_20131202",
                                .content_type = "application/x-amz-json-1.1",
                                .tcp = tcp_opts(&in->tcp),
                                .default_timeout_ms = 30000};
    if ((err = ks_aws_client_new(&ko, &app->kinesis_aws)))
        goto fail;
    /* DynamoDB inherits the input's endpoint when it has none of its own, as the
     * seed's single AWS session does (one endpoint for LocalStack-style setups). */
    ks_aws_client_options dopts = {
        .http = app->http,
        .creds = ks_creds_source_from_chain(app->ddb_creds ? app->ddb_creds : app->creds),
        .service = "dynamodb",
        .region = app->ddb_region,
        .endpoint = in->dynamodb.endpoint ? in->dynamodb.endpoint : in->endpoint,
        .target_prefix = "DynamoDB_20120810",
        .content_type = "application/x-amz-json-1.0",
        .tcp = tcp_opts(&in->dynamodb.tcp),
        .default_timeout_ms = 10000};
    if ((err = ks_aws_client_new(&dopts, &app->ddb_aws)))
        goto fail;
    if ((err = ks_kinesis_new(app->kinesis_aws, &app->kinesis)))
        goto fail;
    if ((err = ks_dynamo_new(app->ddb_aws, &app->dynamo)))
        goto fail;
    if ((err = ks_metrics_new(&app->metrics)))
        goto fail;

    ks_engine_options eo = {
        .loop = app->loop, .config = cfg, .kinesis = app->kinesis, .metrics = app->metrics};
    if ((err = ks_engine_new(&eo, &app->engine)))
        goto fail;

    ks_admin_hooks hooks = {.ready = hook_ready,
                            .status = hook_status,
                            .drain = hook_drain,
                            .pause = hook_pause,
                            .resume = hook_resume,
                            .drain_exit = hook_drain_exit,
                            .ud = app};
    ks_server_opts so = {.loop = app->loop,
                         .admin_address = cfg->http.address,
                         .admin_token_file = cfg->http.token_file,
                         .hooks = hooks,
                         .metrics = app->metrics};
    if ((err = ks_server_new(&so, &app->server))) {
        ks_log(KS_LOG_ERROR, "cannot start the admin server on %s: %s", cfg->http.address,
               ks_err_str(err));
        goto fail;
    }

    ks_sink_callbacks scb = ks_engine_sink_callbacks(app->engine);
    if (cfg->output.kind == KS_OUTPUT_WEBSOCKET) {
        err = ks_ws_sink_new(app->server, &cfg->output.websocket, app->metrics, &scb, &app->sink);
    } else {
        char msg[256] = "";
        /* The pipe buffer is 64 KiB: 1 MiB of encoded batches waiting keeps it full
         * without holding every shard's page twice (decoded and encoded). */
        ks_fifo_sink_options fo = {.max_queued_batches = 4, .max_queued_bytes = 1024 * 1024};
        err = ks_fifo_sink_new_ex(app->loop, &cfg->output.fifo, &fo, &scb, &app->sink, msg,
                                  sizeof(msg));
        if (err)
            ks_log(KS_LOG_ERROR, "cannot set up the FIFO %s: %s", cfg->output.fifo.path, msg);
    }
    if (err)
        goto fail;

    ks_lease_options lo = {.loop = app->loop,
                           .dynamo = app->dynamo,
                           .kinesis = app->kinesis,
                           .config = cfg,
                           .client_id = app->client_id,
                           .events = ks_engine_lease_events(app->engine),
                           .metrics = app->metrics};
    if ((err = ks_lease_coordinator_new(&lo, &app->leases)))
        goto fail;
    ks_engine_attach(app->engine, app->sink, app->leases);

    *out = app;
    return KS_OK;
fail:
    teardown(app);
    *out = NULL;
    ks_app_destroy(app); /* the caller runs the loop so closing handles finish */
    return err ? err : KS_ERR_NOMEM;
}

ks_err ks_app_start(ks_app *app)
{
    uv_signal_start(&app->sigterm, on_signal, SIGTERM);
    uv_signal_start(&app->sigint, on_signal, SIGINT);
    ks_log_fields(KS_LOG_INFO, (const ks_log_field[]){{"client_id", app->client_id}}, 1,
                  "kinesis-sidecar %s starting: %zu stream spec(s), output %s, admin on %s",
                  KS_VERSION, app->config->input.n_streams,
                  app->config->output.kind == KS_OUTPUT_WEBSOCKET ? "websocket" : "fifo",
                  app->config->http.address);
    return ks_lease_coordinator_start(app->leases);
}

void ks_app_stop(ks_app *app)
{
    if (app->stopping)
        return;
    app->stopping = true;
    if (ks_engine_drained(app->engine))
        request_teardown(app);
    else
        ks_engine_drain(app->engine, (uint64_t)app->config->shutdown_timeout_ms, on_drained, app);
}

static void app_free(ks_app *app);

static void on_handle_closed(uv_handle_t *h)
{
    ks_app *app = h->data;
    if (--app->closing == 0 && app->free_when_closed)
        app_free(app);
}

/* Destroys components in reverse order; handles finish closing as the loop runs. */
static void teardown(ks_app *app)
{
    if (app->torn_down)
        return;
    app->torn_down = true;
    ks_lease_coordinator_destroy(app->leases);
    app->leases = NULL;
    ks_engine_destroy(app->engine);
    app->engine = NULL;
    ks_sink_destroy(app->sink);
    app->sink = NULL;
    ks_server_destroy(app->server);
    app->server = NULL;
    ks_dynamo_destroy(app->dynamo);
    app->dynamo = NULL;
    ks_kinesis_destroy(app->kinesis);
    app->kinesis = NULL;
    ks_aws_client_destroy(app->ddb_aws);
    app->ddb_aws = NULL;
    ks_aws_client_destroy(app->kinesis_aws);
    app->kinesis_aws = NULL;
    ks_creds_chain_destroy(app->ddb_creds);
    app->ddb_creds = NULL;
    ks_creds_chain_destroy(app->creds);
    app->creds = NULL;
    ks_http_destroy(app->http);
    app->http = NULL;
    if (app->signals_open) {
        app->closing += 3;
        uv_close((uv_handle_t *)&app->sigterm, on_handle_closed);
        uv_close((uv_handle_t *)&app->sigint, on_handle_closed);
        uv_close((uv_handle_t *)&app->teardown_timer, on_handle_closed);
        app->signals_open = false;
    }
}

static void app_free(ks_app *app)
{
    ks_metrics_destroy(app->metrics);
    free(app->client_id);
    free(app->region);
    free(app->ddb_region);
    free(app);
}

void ks_app_destroy(ks_app *app)
{
    if (!app)
        return;
    teardown(app);
    if (app->closing > 0)
        app->free_when_closed = true; /* the last close callback frees it */
    else
        app_free(app);
}

int ks_app_exit_code(const ks_app *app)
{
    return app->exit_code;
}

int ks_app_run(const ks_config *config)
{
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0)
        return 1;
    ks_app *app = NULL;
    ks_app_options o = {.loop = &loop, .config = config};
    ks_err err = ks_app_new(&o, &app);
    int code = 1;
    if (err == KS_OK) {
        err = ks_app_start(app);
        if (err) {
            ks_log(KS_LOG_ERROR, "cannot start: %s", ks_err_str(err));
            ks_app_stop(app);
        }
        uv_run(&loop, UV_RUN_DEFAULT);
        code = err ? 1 : ks_app_exit_code(app);
        ks_app_destroy(app);
    } else {
        ks_log(KS_LOG_ERROR, "cannot start: %s", ks_err_str(err));
    }
    /* Let every closing handle finish, then close the loop. */
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        ks_log(KS_LOG_DEBUG, "loop closed with handles still open");
    return code;
}
