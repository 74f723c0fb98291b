/* `kinesis-sidecar drain` and `kinesis-sidecar status`: admin API clients on a private
 * libuv loop (ks_http), see cli.h. */
#include "server/cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "core/duration.h"
#include "core/log.h"
#include "http/http.h"
#include "server/server.h"

typedef struct cli_opts {
    const char *address;
    const char *token_file;
    int64_t timeout_ms;
    bool exit_after;
} cli_opts;

typedef struct cli_call {
    bool done;
    long status;
    ks_err err;
    ks_buf body;
} cli_call;

typedef struct cli_state {
    uv_loop_t loop;
    ks_http *http;
    char *token;
    const cli_opts *o;
    char auth[512];
} cli_state;

static int parse_opts(int argc, char **argv, bool drain, cli_opts *o)
{
    o->address = "127.0.0.1:4195";
    o->token_file = NULL;
    o->timeout_ms = 30000;
    o->exit_after = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(a, "--address") && has_val) {
            o->address = argv[++i];
        } else if (!strcmp(a, "--token-file") && has_val) {
            o->token_file = argv[++i];
        } else if (drain && !strcmp(a, "--timeout") && has_val) {
            if (ks_duration_parse(argv[++i], &o->timeout_ms) != KS_OK || o->timeout_ms < 0) {
                fprintf(stderr, "%s: invalid --timeout \"%s\" (e.g. 30s, 2m)\n", argv[0], argv[i]);
                return -1;
            }
        } else if (drain && !strcmp(a, "--exit")) {
            o->exit_after = true;
        } else {
            fprintf(stderr,
                    drain ? "usage: kinesis-sidecar drain [--address HOST:PORT] [--timeout D] "
                            "[--exit] [--token-file F]\n"
                          : "usage: kinesis-sidecar status [--address HOST:PORT] "
                            "[--token-file F]\n");
            return -1;
        }
    }
    return 0;
}

static void on_done(void *ud, const ks_http_response *resp)
{
    cli_call *c = ud;
    c->done = true;
    c->err = resp->err;
    c->status = resp->status;
    if (resp->err == KS_OK && resp->body_len)
        ks_buf_append(&c->body, resp->body, resp->body_len);
    else if (resp->err != KS_OK)
        fprintf(stderr, "request failed: %s\n",
                resp->err_msg ? resp->err_msg : ks_err_str(resp->err));
}

/* Runs one request to completion on the private loop. */
static void call(cli_state *st, const char *method, const char *path, cli_call *c)
{
    char url[512];
    snprintf(url, sizeof(url), "http://%s%s", st->o->address, path);
    ks_http_header hdrs[1] = {{"Authorization", st->auth}};
    ks_http_request req = {.method = method,
                           .url = url,
                           .headers = hdrs,
                           .n_headers = st->token ? 1 : 0,
                           /* A small body: Content-Length is explicit for every client. */
                           .body = strcmp(method, "POST") ? NULL : "{}",
                           .body_len = strcmp(method, "POST") ? 0 : 2,
                           .timeout_ms = 10000};
    memset(c, 0, sizeof(*c));
    ks_buf_init(&c->body);
    if (ks_http_send(st->http, &req, on_done, c, NULL) != KS_OK) {
        c->done = true;
        c->err = KS_ERR_INVALID;
        return;
    }
    while (!c->done && uv_run(&st->loop, UV_RUN_ONCE))
        ;
}

static int cli_open(cli_state *st, const cli_opts *o)
{
    memset(st, 0, sizeof(*st));
    st->o = o;
    ks_log_set_level(KS_LOG_WARN);
    if (o->token_file) {
        if (ks_read_token_file(o->token_file, &st->token) != KS_OK)
            return -1;
        snprintf(st->auth, sizeof(st->auth), "Bearer %s", st->token);
    }
    if (uv_loop_init(&st->loop) != 0)
        return -1;
    if (ks_http_new(&st->loop, &st->http) != KS_OK) {
        uv_loop_close(&st->loop);
        return -1;
    }
    return 0;
}

static void cli_close(cli_state *st)
{
    ks_http_destroy(st->http);
    uv_run(&st->loop, UV_RUN_DEFAULT);
    uv_loop_close(&st->loop);
    if (st->token)
        memset(st->token, 0, strlen(st->token));
    free(st->token);
    memset(st->auth, 0, sizeof(st->auth));
}

/* Number of leases /status reports; -1 if it cannot tell. /status has a top-level
 * "leases" array; sidecars built before that (for a few commits) nested it one level down
 * ({"leases":{"held":n,"leases":[...]}}), which is still accepted. */
static int leases_in_status(const char *body)
{
    cJSON *j = cJSON_Parse(body);
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "leases");
    if (cJSON_IsObject(l))
        l = cJSON_GetObjectItemCaseSensitive(l, "leases");
    int n = cJSON_IsArray(l) ? cJSON_GetArraySize(l) : -1;
    cJSON_Delete(j);
    return n;
}

static void wait_done(uv_timer_t *t)
{
    uv_timer_stop(t);
}

static void wait_ms(uv_loop_t *loop, uint64_t ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, wait_done, ms, 0);
    while (uv_is_active((uv_handle_t *)&t) && uv_run(loop, UV_RUN_ONCE))
        ;
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

int ks_cli_drain(int argc, char **argv)
{
    cli_opts o;
    cli_state st;
    if (parse_opts(argc, argv, true, &o) != 0)
        return 2;
    if (cli_open(&st, &o) != 0)
        return 2;
    int rc = 2;
    cli_call c;
    call(&st, "POST", o.exit_after ? "/drain?exit=1" : "/drain", &c);
    if (c.err != KS_OK || c.status != 202) {
        if (c.err == KS_OK)
            fprintf(stderr, "drain refused: HTTP %ld %s\n", c.status,
                    c.body.data ? c.body.data : "");
        ks_buf_clean_up(&c.body);
        goto out;
    }
    ks_buf_clean_up(&c.body);
    uint64_t deadline = uv_now(&st.loop) + (uint64_t)o.timeout_ms;
    for (;;) {
        call(&st, "GET", "/status", &c);
        int n =
            c.err == KS_OK && c.status == 200 && c.body.data ? leases_in_status(c.body.data) : -1;
        ks_buf_clean_up(&c.body);
        if (n == 0) {
            fprintf(stderr, "drained: no lease held\n");
            rc = 0;
            break;
        }
        if (c.err != KS_OK && o.exit_after) {
            /* The sidecar exited after draining: its leases are released. */
            fprintf(stderr, "drained: sidecar has exited\n");
            rc = 0;
            break;
        }
        uv_update_time(&st.loop);
        if (uv_now(&st.loop) >= deadline) {
            fprintf(stderr, "drain timed out with %d lease(s) still held\n", n);
            rc = 1;
            break;
        }
        wait_ms(&st.loop, 250);
    }
out:
    cli_close(&st);
    return rc;
}

int ks_cli_status(int argc, char **argv)
{
    cli_opts o;
    cli_state st;
    if (parse_opts(argc, argv, false, &o) != 0)
        return 2;
    if (cli_open(&st, &o) != 0)
        return 2;
    cli_call c;
    call(&st, "GET", "/status", &c);
    int rc = 2;
    if (c.err == KS_OK && c.status == 200) {
        cJSON *j = cJSON_Parse(c.body.data ? c.body.data : "");
        char *pretty = j ? cJSON_Print(j) : NULL;
        printf("%s\n", pretty ? pretty : (c.body.data ? c.body.data : ""));
        free(pretty);
        cJSON_Delete(j);
        rc = 0;
    } else if (c.err == KS_OK) {
        fprintf(stderr, "status: HTTP %ld %s\n", c.status, c.body.data ? c.body.data : "");
    }
    ks_buf_clean_up(&c.body);
    cli_close(&st);
    return rc;
}
