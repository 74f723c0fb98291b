/* Stream list splitting and cross-field validation after parsing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "core/buf.h"

int ks_cfg_line_of(const ks_cfg_lines *lines, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    for (;;) {
        const ks_cfg_field *f = ks_cfg_find(buf);
        if (f && lines->field[f - ks_cfg_fields])
            return lines->field[f - ks_cfg_fields];
        char *dot = strrchr(buf, '.');
        if (!dot)
            return 1;
        *dot = '\0';
    }
}

static ks_err push_stream(ks_config *c, const char *s, size_t n, const char *shard, size_t shard_n)
{
    ks_kinesis_input_config *in = &c->input;
    ks_stream_spec *v = realloc(in->streams, (in->n_streams + 1) * sizeof(*v));
    if (!v)
        return KS_ERR_NOMEM;
    in->streams = v;
    ks_stream_spec spec = {ks_strndup(s, n), shard ? ks_strndup(shard, shard_n) : NULL};
    if (!spec.stream || (shard && !spec.shard_id)) {
        free(spec.stream);
        free(spec.shard_id);
        return KS_ERR_NOMEM;
    }
    in->streams[in->n_streams++] = spec;
    return KS_OK;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

#define STREAMS_PATH "input.aws_kinesis.streams"

/* One comma-separated piece, already trimmed and non-empty. */
static ks_err add_piece(ks_config *c, const char *p, size_t n, ks_config_diags *diags,
                        const char *file, int line)
{
    const char *colon = NULL;
    if (n >= 4 && strncmp(p, "arn:", 4) == 0) {
        /* arn:partition:service:region:account:resource[:shard] */
        const char *q = p;
        int colons = 0;
        for (; q < p + n; q++) {
            if (*q == ':' && ++colons == 6) {
                colon = q;
                break;
            }
        }
        if (colons < 5)
            return ks_config_diags_add(diags, false, file, line, STREAMS_PATH,
                                       "\"%.*s\": malformed ARN (expected "
                                       "arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME)",
                                       (int)n, p);
        const char *res = p;
        for (int k = 0; k < 5; k++)
            res = (const char *)memchr(res, ':', (size_t)(p + n - res)) + 1;
        size_t res_n = (size_t)((colon ? colon : p + n) - res);
        if (res_n <= 7 || strncmp(res, "stream/", 7) != 0)
            return ks_config_diags_add(diags, false, file, line, STREAMS_PATH,
                                       "\"%.*s\": ARN resource must be stream/NAME", (int)n, p);
    } else {
        colon = memchr(p, ':', n);
    }
    if (colon) {
        size_t sn = (size_t)(colon - p), hn = n - sn - 1;
        const char *shard = colon + 1;
        if (sn == 0 || hn == 0)
            return ks_config_diags_add(diags, false, file, line, STREAMS_PATH,
                                       "\"%.*s\": expected STREAM:SHARD with both parts non-empty",
                                       (int)n, p);
        if (memchr(shard, ':', hn))
            return ks_config_diags_add(diags, false, file, line, STREAMS_PATH,
                                       "\"%.*s\": too many ':' (expected STREAM or STREAM:SHARD)",
                                       (int)n, p);
        return push_stream(c, p, sn, shard, hn);
    }
    return push_stream(c, p, n, NULL, 0);
}

ks_err ks_cfg_add_streams(ks_config *c, const char *entry, ks_config_diags *diags, const char *file,
                          int line)
{
    const char *p = entry;
    for (;;) {
        const char *end = strchr(p, ',');
        const char *stop = end ? end : p + strlen(p);
        const char *a = p, *b = stop;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        if (a < b) {
            ks_err err = add_piece(c, a, (size_t)(b - a), diags, file, line);
            if (err)
                return err;
        }
        if (!end)
            return KS_OK;
        p = end + 1;
    }
}

typedef struct vctx {
    const ks_cfg_lines *lines;
    const char *file;
    ks_config_diags *diags;
    ks_err err;
} vctx;

static void report(vctx *v, bool warning, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(vctx *v, bool warning, const char *path, const char *fmt, ...)
{
    if (v->err)
        return;
    ks_buf msg;
    ks_buf_init(&msg);
    va_list ap;
    va_start(ap, fmt);
    v->err = ks_buf_vappendf(&msg, fmt, ap);
    va_end(ap);
    if (!v->err)
        v->err = ks_config_diags_add(v->diags, warning, v->file, ks_cfg_line_of(v->lines, path),
                                     path, "%s", msg.data);
    ks_buf_clean_up(&msg);
}

#define ERR(path, ...) report(v, false, (path), __VA_ARGS__)
#define WARN(path, ...) report(v, true, (path), __VA_ARGS__)

static void check_tcp(vctx *v, ks_tcp_config *t, const char *prefix)
{
    char p[160];
#define P(s) (snprintf(p, sizeof(p), "%s%s", prefix, (s)), p)
    if (t->connect_timeout_ms < 0)
        ERR(P("tcp.connect_timeout"), "must not be negative");
    if (t->keep_alive_interval_ms < 0)
        ERR(P("tcp.keep_alive.interval"), "must not be negative");
    if (t->keep_alive_count < 0)
        ERR(P("tcp.keep_alive.count"), "must not be negative");
    if (t->tcp_user_timeout_ms < 0)
        ERR(P("tcp.tcp_user_timeout"), "must not be negative");
    /* Documented zero values mean the defaults. */
    if (t->keep_alive_idle_ms == 0)
        t->keep_alive_idle_ms = 15000;
    if (t->keep_alive_interval_ms == 0)
        t->keep_alive_interval_ms = 15000;
    if (t->keep_alive_count == 0)
        t->keep_alive_count = 9;
    if (t->tcp_user_timeout_ms > 0 && t->keep_alive_idle_ms > 0 &&
        t->keep_alive_idle_ms <= t->tcp_user_timeout_ms)
        ERR(P("tcp.keep_alive.idle"),
            "must be greater than tcp.tcp_user_timeout per RFC 5482 (idle %lldms, "
            "tcp_user_timeout %lldms)",
            (long long)t->keep_alive_idle_ms, (long long)t->tcp_user_timeout_ms);
#undef P
}

static void check_creds(vctx *v, const ks_credentials_config *cr, const char *prefix)
{
    char p[160];
    snprintf(p, sizeof(p), "%scredentials.%s", prefix, cr->id ? "id" : "secret");
    if (!cr->id != !cr->secret)
        ERR(p, "is set without credentials.%s (id and secret go together)",
            cr->id ? "secret" : "id");
    snprintf(p, sizeof(p), "%scredentials.token", prefix);
    if (cr->token && !cr->id)
        ERR(p, "a session token needs credentials.id and credentials.secret");
    snprintf(p, sizeof(p), "%scredentials.role_external_id", prefix);
    if (cr->role_external_id && !cr->role)
        WARN(p, "ignored without credentials.role");
    snprintf(p, sizeof(p), "%scredentials.from_ec2_role", prefix);
    if (cr->from_ec2_role && (cr->id || cr->profile))
        WARN(p, "set together with %s; static credentials win", cr->id ? "id" : "profile");
}

#define AK "input.aws_kinesis."

static void check_input(vctx *v, ks_config *c)
{
    ks_kinesis_input_config *in = &c->input;
    if (!in->n_streams)
        ERR(AK "streams", "at least one stream is required");
    if (!in->dynamodb.table || !*in->dynamodb.table)
        ERR(AK "dynamodb.table", "must not be empty (the checkpoint/lease table)");
    const ks_dynamodb_config *d = &in->dynamodb;
    if (d->read_capacity_units < 0)
        ERR(AK "dynamodb.read_capacity_units", "must not be negative");
    if (d->write_capacity_units < 0)
        ERR(AK "dynamodb.write_capacity_units", "must not be negative");
    if (d->create && d->billing_mode == KS_BILLING_PROVISIONED &&
        (d->read_capacity_units <= 0 || d->write_capacity_units <= 0))
        ERR(AK "dynamodb.billing_mode",
            "create: true with PROVISIONED needs read_capacity_units and "
            "write_capacity_units > 0 (got %lld and %lld)",
            (long long)d->read_capacity_units, (long long)d->write_capacity_units);
    if (d->billing_mode == KS_BILLING_PAY_PER_REQUEST &&
        (d->read_capacity_units > 0 || d->write_capacity_units > 0))
        WARN(d->read_capacity_units > 0 ? AK "dynamodb.read_capacity_units"
                                        : AK "dynamodb.write_capacity_units",
             "capacity units are ignored with PAY_PER_REQUEST (read %lld, write %lld)",
             (long long)d->read_capacity_units, (long long)d->write_capacity_units);
    check_tcp(v, &in->tcp, AK);
    check_tcp(v, &in->dynamodb.tcp, AK "dynamodb.");
    check_creds(v, &in->credentials, AK);
    check_creds(v, &in->dynamodb.credentials, AK "dynamodb.");
    if (in->checkpoint_limit < 1)
        ERR(AK "checkpoint_limit", "must be >= 1 (got %lld)", (long long)in->checkpoint_limit);
    static const struct {
        const char *path;
        size_t off;
    } periods[] = {{AK "commit_period", offsetof(ks_kinesis_input_config, commit_period_ms)},
                   {AK "lease_period", offsetof(ks_kinesis_input_config, lease_period_ms)},
                   {AK "rebalance_period", offsetof(ks_kinesis_input_config, rebalance_period_ms)}};
    for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
        int64_t ms = *(const int64_t *)((const char *)in + periods[i].off);
        if (ms <= 0)
            ERR(periods[i].path, "must be positive (got %lldms)", (long long)ms);
    }
    if (in->steal_grace_period_ms < 0)
        ERR(AK "steal_grace_period", "must not be negative");
    if (in->lease_period_ms > 0 && in->commit_period_ms >= in->lease_period_ms)
        WARN(AK "lease_period",
             "is not longer than commit_period (%lldms <= %lldms): leases may expire "
             "between renewals",
             (long long)in->lease_period_ms, (long long)in->commit_period_ms);
    if (in->get_records_limit < 1 || in->get_records_limit > 10000)
        ERR(AK "get_records_limit", "must be within 1..10000 (got %lld)",
            (long long)in->get_records_limit);
    if (in->idle_poll_max_ms < 200)
        ERR(AK "idle_poll_max", "must be at least 200ms (got %lldms)",
            (long long)in->idle_poll_max_ms);
    if (in->max_claims_per_cycle < 1)
        ERR(AK "max_claims_per_cycle", "must be >= 1 (got %lld)",
            (long long)in->max_claims_per_cycle);
    if (in->batching.count < 0)
        ERR(AK "batching.count", "must not be negative");
    if (in->batching.byte_size < 0)
        ERR(AK "batching.byte_size", "must not be negative");
    if (in->batching.period_ms < 0)
        ERR(AK "batching.period", "must not be negative");
    /* As pkg/batch (and Redpanda Connect) require: lint must refuse what run refuses. */
    const ks_batching_config *b = &in->batching;
    if (b->n_processors && b->count <= 0 && b->byte_size <= 0 && b->period_ms <= 0 &&
        !(b->check && *b->check))
        ERR(AK "batching.processors",
            "needs at least one trigger (count, byte_size, period or check)");
    for (size_t i = 0; i < in->n_streams; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(in->streams[i].stream, in->streams[j].stream) == 0 &&
                !in->streams[i].shard_id == !in->streams[j].shard_id &&
                (!in->streams[i].shard_id ||
                 strcmp(in->streams[i].shard_id, in->streams[j].shard_id) == 0)) {
                WARN(AK "streams", "\"%s\" is listed more than once", in->streams[i].stream);
                break;
            }
}

static bool valid_address(const char *a)
{
    const char *colon = a ? strrchr(a, ':') : NULL;
    if (!colon || colon[1] == '\0')
        return false;
    long port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        port = port * 10 + (*p - '0');
        if (port > 65535)
            return false;
    }
    return true;
}

ks_err ks_cfg_validate(ks_config *c, const ks_cfg_lines *lines, const char *file,
                       ks_config_diags *diags)
{
    vctx ctx = {lines, file, diags, KS_OK};
    vctx *v = &ctx;
    check_input(v, c);
    if (c->output.kind == KS_OUTPUT_WEBSOCKET) {
        const ks_websocket_config *w = &c->output.websocket;
        if (!valid_address(w->address))
            ERR("output.websocket.address", "\"%s\": expected HOST:PORT", w->address);
        if (!w->path || w->path[0] != '/')
            ERR("output.websocket.path", "must start with '/'");
        if (w->ack_timeout_ms <= 0)
            ERR("output.websocket.ack_timeout", "must be positive");
        if (w->max_in_flight < 1)
            ERR("output.websocket.max_in_flight", "must be >= 1 (got %lld)",
                (long long)w->max_in_flight);
    } else if (!c->output.fifo.path || !*c->output.fifo.path) {
        ERR("output.fifo.path", "must not be empty");
    }
    if (!valid_address(c->http.address))
        ERR("http.address", "\"%s\": expected HOST:PORT", c->http.address);
    if (c->shutdown_timeout_ms < 0)
        ERR("shutdown_timeout", "must not be negative");
    return ctx.err;
}
