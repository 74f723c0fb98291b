/* Websocket sink: batches to websocket clients with per-batch acknowledgements.
 * See ws_sink.h for the behaviour and docs/websocket.md for the protocol. */
#include "server/ws_sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/log.h"
#include "server/server_internal.h"
#include "sink/codec.h"

#define KS_WS_LATE_IDS 32
#define KS_WS_ID_LEN 48
/* lws-write.h: "LWS_WRITE_CLOSE is handled by lws_close_reason()"; its value is 4. */
#define KS_LWS_WRITE_CLOSE ((enum lws_write_protocol)4)

typedef struct ws_client ws_client;
typedef struct ks_ws_sink ks_ws_sink;

typedef struct ws_entry {
    struct ws_entry *prev, *next; /* the client's in-flight list, in assignment order */
    ks_batch *batch;
    char id[KS_WS_ID_LEN];
    ks_buf msg;  /* encoded message, freed once fully written */
    size_t sent; /* bytes of msg written */
    bool fully_sent;
    uint64_t deadline_ms; /* uv_now() based */
} ws_entry;

struct ws_client {
    ws_client *prev, *next;
    ks_ws_sink *sink; /* NULL once the sink is gone */
    struct lws *wsi;
    ws_entry *head, *tail;
    ws_entry *sending; /* first entry not fully written */
    size_t n_in_flight;
    ks_buf rx;
    bool closing; /* takes no more batches */
    unsigned close_code;
    char close_reason[100];
    char late[KS_WS_LATE_IDS][KS_WS_ID_LEN]; /* timed-out ids: late answers are ignored */
    size_t late_next;
    char peer[64];
};

typedef struct ws_pss {
    ws_client *client;
} ws_pss;

struct ks_ws_sink {
    ks_sink base;
    ks_server *srv;
    char *address;
    char *path;
    char *token;
    uint64_t ack_timeout_ms;
    size_t max_in_flight;
    int port;
    ws_client *clients;
    size_t n_clients;
    size_t n_in_flight;
    uv_timer_t *timer;
    uint64_t timer_due; /* 0 = not armed */
    bool want_ready;
    uint64_t seq;
    unsigned char *scratch; /* LWS_PRE + KS_WS_FRAME_BYTES */
    ks_metrics *metrics;
    ks_metric *m_clients, *m_sent, *m_acks, *m_late;
};

static const char *const k_errors_help = "Websocket client messages refused, by reason.";
static const char *const k_nacks_help = "Websocket batches not acknowledged, by cause.";

static void count_labeled(ks_ws_sink *s, const char *name, const char *help, const char *key,
                          const char *value)
{
    ks_buf l;
    ks_buf_init(&l);
    if (ks_metrics_label(&l, key, value) == KS_OK)
        ks_metric_add(ks_metrics_counter(s->metrics, name, help, l.data), 1);
    ks_buf_clean_up(&l);
}

static uint64_t now_ms(const ks_ws_sink *s)
{
    return uv_now(s->srv->loop);
}

/* ---------------- entries ---------------- */

static void entry_unlink(ws_client *c, ws_entry *e)
{
    if (c->sending == e)
        c->sending = e->next;
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
    c->n_in_flight--;
    if (c->sink)
        c->sink->n_in_flight--;
}

/* Reports the outcome and frees the entry (already unlinked). */
static void entry_finish(ks_ws_sink *s, ws_entry *e, ks_delivery d, const char *reason,
                         const ks_sink_callbacks *cb)
{
    ks_batch *b = e->batch;
    ks_buf_clean_up(&e->msg);
    free(e);
    if (s && d == KS_DELIVERY_NACK)
        count_labeled(s, "websocket_nacks_total", k_nacks_help, "cause",
                      reason && !strncmp(reason, "client", 6) ? "client" : reason);
    if (s && d == KS_DELIVERY_ACK)
        ks_metric_add(s->m_acks, 1);
    if (cb->on_result)
        cb->on_result(cb->ud, b, d, reason);
}

static void maybe_ready(ks_ws_sink *s);

/* Detaches every entry of c and NACKs them (c takes no more batches). */
static void client_fail_all(ks_ws_sink *s, ws_client *c, const char *reason)
{
    c->closing = true;
    ks_sink_callbacks cb = s->base.cb;
    ws_entry *e = c->head;
    if (c->sink)
        c->sink->n_in_flight -= c->n_in_flight;
    c->head = c->tail = c->sending = NULL;
    c->n_in_flight = 0;
    while (e) {
        ws_entry *next = e->next;
        entry_finish(s, e, KS_DELIVERY_NACK, reason, &cb);
        e = next;
    }
}

/* Starts closing c: it takes no more batches, what it held is NACKed now, once, and the
 * next writeable callback sends the close frame with code and reason as the last thing
 * written (on_writeable), then drops the connection. The client stays in the list until
 * LWS_CALLBACK_CLOSED. */
static void client_close(ks_ws_sink *s, ws_client *c, unsigned code, const char *reason,
                         const char *nack_reason)
{
    c->close_code = code;
    snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason);
    client_fail_all(s, c, nack_reason);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5); /* a client that never reads */
    lws_callback_on_writable(c->wsi);
}

static ks_err encode_batch(ks_ws_sink *s, const ks_batch *b, ws_entry *e)
{
    snprintf(e->id, sizeof(e->id), "%llu-%llu", (unsigned long long)b->id,
             (unsigned long long)++s->seq);
    ks_buf *o = &e->msg;
    ks_err err = ks_buf_appendf(o, "{\"type\":\"batch\",\"id\":\"%s\",\"stream\":", e->id);
    if (!err)
        err = ks_buf_append_json_str(o, b->stream, strlen(b->stream));
    if (!err)
        err = ks_buf_append_str(o, ",\"shard_id\":");
    if (!err)
        err = ks_buf_append_json_str(o, b->shard_id, strlen(b->shard_id));
    if (!err)
        err = ks_buf_append_str(o, ",\"records\":[");
    for (size_t i = 0; i < b->n_records && !err; i++) {
        if (i)
            err = ks_buf_append_char(o, ',');
        if (!err)
            err = ks_codec_record_json(b, &b->records[i], o);
    }
    if (!err)
        err = ks_buf_append_str(o, "]}");
    return err;
}

/* ---------------- ack timeout timer ---------------- */

static void timer_cb(uv_timer_t *t);

static void timer_arm(ks_ws_sink *s, uint64_t due)
{
    if (s->timer_due && s->timer_due <= due)
        return;
    uint64_t now = now_ms(s);
    s->timer_due = due;
    uv_timer_start(s->timer, timer_cb, due > now ? due - now : 0, 0);
}

static void timer_cb(uv_timer_t *t)
{
    ks_ws_sink *s = t->data;
    uint64_t now = now_ms(s), next = 0;
    ks_sink_callbacks cb = s->base.cb;
    s->timer_due = 0;
    bool freed = false;
    for (ws_client *c = s->clients; c; c = c->next) {
        while (c->head && c->head->deadline_ms <= now) {
            ws_entry *e = c->head;
            if (e->sent > 0 && !e->fully_sent) {
                /* Not even read in time: the client is stuck. Close it; that NACKs all. */
                KS_WARN("websocket client %s: batch %s not read within ack_timeout; closing",
                        c->peer, e->id);
                client_close(s, c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "ack timeout", "timeout");
                freed = true;
                break;
            }
            KS_WARN("websocket client %s: no answer for batch %s within %llums (nack)", c->peer,
                    e->id, (unsigned long long)s->ack_timeout_ms);
            if (e->fully_sent) {
                snprintf(c->late[c->late_next], KS_WS_ID_LEN, "%s", e->id);
                c->late_next = (c->late_next + 1) % KS_WS_LATE_IDS;
            }
            entry_unlink(c, e);
            entry_finish(s, e, KS_DELIVERY_NACK, "timeout", &cb);
            freed = true;
        }
        if (c->head && (!next || c->head->deadline_ms < next))
            next = c->head->deadline_ms;
    }
    if (next)
        timer_arm(s, next);
    if (freed)
        maybe_ready(s);
}

/* ---------------- sink vtable ---------------- */

static bool client_has_room(const ks_ws_sink *s, const ws_client *c)
{
    return !c->closing && c->n_in_flight < s->max_in_flight;
}

static bool ws_writable(const ks_sink *base)
{
    const ks_ws_sink *s = (const ks_ws_sink *)base;
    for (const ws_client *c = s->clients; c; c = c->next) {
        if (client_has_room(s, c))
            return true;
    }
    return false;
}

static bool ws_connected(const ks_sink *base)
{
    const ks_ws_sink *s = (const ks_ws_sink *)base;
    for (const ws_client *c = s->clients; c; c = c->next) {
        if (!c->closing)
            return true;
    }
    return false;
}

static void maybe_ready(ks_ws_sink *s)
{
    if (s->want_ready && ws_writable(&s->base)) {
        s->want_ready = false;
        if (s->base.cb.on_ready)
            s->base.cb.on_ready(s->base.cb.ud);
    }
}

static ws_client *client_for(ks_ws_sink *s, const ks_batch *b, bool *held)
{
    *held = false;
    for (ws_client *c = s->clients; c; c = c->next) {
        for (ws_entry *e = c->head; e; e = e->next) {
            if (!strcmp(e->batch->shard_id, b->shard_id) && !strcmp(e->batch->stream, b->stream)) {
                *held = true;
                return c;
            }
        }
    }
    ws_client *best = NULL;
    for (ws_client *c = s->clients; c; c = c->next) {
        if (client_has_room(s, c) && (!best || c->n_in_flight < best->n_in_flight))
            best = c;
    }
    return best;
}

static ks_err ws_submit(ks_sink *base, ks_batch *b)
{
    ks_ws_sink *s = (ks_ws_sink *)base;
    bool held = false;
    ws_client *c = client_for(s, b, &held);
    if (!c || !client_has_room(s, c)) {
        s->want_ready = true;
        return KS_ERR_AGAIN;
    }
    ws_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return KS_ERR_NOMEM;
    ks_buf_init(&e->msg);
    ks_err err = encode_batch(s, b, e);
    if (err) {
        ks_buf_clean_up(&e->msg);
        free(e);
        return err;
    }
    e->batch = b;
    e->deadline_ms = now_ms(s) + s->ack_timeout_ms;
    e->prev = c->tail;
    if (c->tail)
        c->tail->next = e;
    else
        c->head = e;
    c->tail = e;
    if (!c->sending)
        c->sending = e;
    c->n_in_flight++;
    s->n_in_flight++;
    timer_arm(s, e->deadline_ms);
    lws_callback_on_writable(c->wsi);
    return KS_OK;
}

static void ws_status_json(const ks_sink *base, ks_buf *out)
{
    const ks_ws_sink *s = (const ks_ws_sink *)base;
    ks_buf_append_str(out, "{\"type\":\"websocket\",\"address\":");
    ks_buf_append_json_str(out, s->address, strlen(s->address));
    ks_buf_append_str(out, ",\"path\":");
    ks_buf_append_json_str(out, s->path, strlen(s->path));
    ks_buf_appendf(out, ",\"port\":%d,\"max_in_flight\":%zu,\"in_flight\":%zu,\"clients\":[",
                   s->port, s->max_in_flight, s->n_in_flight);
    for (const ws_client *c = s->clients; c; c = c->next) {
        ks_buf_appendf(out, "%s{\"peer\":", c == s->clients ? "" : ",");
        ks_buf_append_json_str(out, c->peer, strlen(c->peer));
        ks_buf_appendf(out, ",\"in_flight\":%zu,\"closing\":%s}", c->n_in_flight,
                       c->closing ? "true" : "false");
    }
    ks_buf_append_str(out, "]}");
}

static void timer_closed(uv_handle_t *h)
{
    free(h);
}

static void ws_destroy(ks_sink *base)
{
    ks_ws_sink *s = (ks_ws_sink *)base;
    if (s->srv && s->srv->ws_ref)
        s->srv->ws_ref->sink = NULL; /* the vhost refuses new clients from now on */
    for (ws_client *c = s->clients; c; c = c->next)
        c->closing = true; /* a submit from a NACK callback below gets KS_ERR_AGAIN */
    s->want_ready = false;
    while (s->clients) {
        ws_client *c = s->clients;
        s->clients = c->next;
        client_close(s, c, LWS_CLOSE_STATUS_GOINGAWAY, "shutting down", "sink destroyed");
        c->sink = NULL;
        c->prev = c->next = NULL;
    }
    if (s->timer) {
        uv_timer_stop(s->timer);
        uv_close((uv_handle_t *)s->timer, timer_closed);
    }
    free(s->scratch);
    free(s->address);
    free(s->path);
    if (s->token)
        memset(s->token, 0, strlen(s->token));
    free(s->token);
    free(s);
}

static const ks_sink_vtable ws_vtable = {
    .name = "websocket",
    .submit = ws_submit,
    .writable = ws_writable,
    .connected = ws_connected,
    .status_json = ws_status_json,
    .destroy = ws_destroy,
};

/* ---------------- lws protocol ---------------- */

/* Closes c with a code and reason after a client protocol error. Returns 0: the close
 * goes through client_close(), not through lws (lws_close_reason() plus -1 from the
 * receive callback), which would leave c a candidate for batches until
 * LWS_CALLBACK_CLOSED and write them after the close frame. */
static int refuse(ks_ws_sink *s, ws_client *c, unsigned code, const char *counter_reason,
                  const char *reason)
{
    KS_WARN("websocket client %s: closing (%u): %s", c->peer, code, reason);
    count_labeled(s, "websocket_protocol_errors_total", k_errors_help, "reason", counter_reason);
    client_close(s, c, code, reason, "disconnect");
    maybe_ready(s);
    return 0;
}

static bool is_late(const ws_client *c, const char *id)
{
    for (size_t i = 0; i < KS_WS_LATE_IDS; i++) {
        if (c->late[i][0] && !strcmp(c->late[i], id))
            return true;
    }
    return false;
}

static int handle_message(ks_ws_sink *s, ws_client *c)
{
    int rc = 0;
    cJSON *root = cJSON_ParseWithLength(c->rx.data ? c->rx.data : "", c->rx.len);
    if (!cJSON_IsObject(root)) {
        rc = refuse(s, c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "malformed",
                    "malformed message: not a JSON object");
        goto out;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (!cJSON_IsString(type)) {
        rc = refuse(s, c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "malformed",
                    "malformed message: \"type\" must be a string");
        goto out;
    }
    bool ack = !strcmp(type->valuestring, "ack");
    if (!ack && strcmp(type->valuestring, "nack") != 0) {
        char why[100];
        snprintf(why, sizeof(why), "unknown message type \"%.40s\"", type->valuestring);
        rc = refuse(s, c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "unknown_type", why);
        goto out;
    }
    if (!cJSON_IsString(id)) {
        rc = refuse(s, c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "malformed",
                    "malformed message: \"id\" must be a string");
        goto out;
    }
    ws_entry *e = c->head;
    while (e && strcmp(e->id, id->valuestring) != 0)
        e = e->next;
    if (!e || !e->fully_sent) {
        if (!e && is_late(c, id->valuestring)) {
            KS_INFO("websocket client %s: late answer for batch %s ignored", c->peer,
                    id->valuestring);
            ks_metric_add(s->m_late, 1);
            goto out;
        }
        char why[100];
        snprintf(why, sizeof(why), "unknown batch id \"%.40s\"", id->valuestring);
        rc = refuse(s, c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "unknown_id", why);
        goto out;
    }
    char reason[160] = "client nack";
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(root, "reason");
    if (!ack && cJSON_IsString(why))
        snprintf(reason, sizeof(reason), "client nack: %.120s", why->valuestring);
    entry_unlink(c, e);
    ks_sink_callbacks cb = s->base.cb;
    entry_finish(s, e, ack ? KS_DELIVERY_ACK : KS_DELIVERY_NACK, ack ? NULL : reason, &cb);
    maybe_ready(s);
out:
    cJSON_Delete(root);
    return rc;
}

static int on_receive(ks_ws_sink *s, ws_client *c, const void *in, size_t len)
{
    struct lws *wsi = c->wsi;
    if (c->closing)
        return 0;
    if (lws_frame_is_binary(wsi))
        return refuse(s, c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "binary",
                      "binary messages are not supported; send JSON text");
    if (c->rx.len + len > KS_WS_MAX_MESSAGE_BYTES)
        return refuse(s, c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "oversized",
                      "message too big (limit 1048576 bytes)");
    if (ks_buf_append(&c->rx, in, len) != KS_OK)
        return -1;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return 0;
    int rc = handle_message(s, c);
    ks_buf_reset(&c->rx);
    return rc;
}

static int on_writeable(ks_ws_sink *s, ws_client *c)
{
    if (c->close_code) {
        /* Send the close frame ourselves: from this callback, lws would send it without
         * the status and reason set by lws_close_reason(). */
        unsigned char buf[LWS_PRE + 125];
        size_t rl = strlen(c->close_reason);
        buf[LWS_PRE] = (unsigned char)(c->close_code >> 8);
        buf[LWS_PRE + 1] = (unsigned char)(c->close_code & 0xff);
        memcpy(buf + LWS_PRE + 2, c->close_reason, rl);
        lws_write(c->wsi, buf + LWS_PRE, rl + 2, KS_LWS_WRITE_CLOSE);
        return -1;
    }
    ws_entry *e = s ? c->sending : NULL;
    if (!e)
        return 0;
    size_t left = e->msg.len - e->sent;
    size_t n = left < KS_WS_FRAME_BYTES ? left : KS_WS_FRAME_BYTES;
    bool final = n == left;
    memcpy(s->scratch + LWS_PRE, e->msg.data + e->sent, n);
    int flags = lws_write_ws_flags(LWS_WRITE_TEXT, e->sent == 0, final);
    if (lws_write(c->wsi, s->scratch + LWS_PRE, n, (enum lws_write_protocol)flags) < (int)n)
        return -1;
    e->sent += n;
    if (final) {
        e->fully_sent = true;
        ks_buf_clean_up(&e->msg);
        c->sending = e->next;
        ks_metric_add(s->m_sent, 1);
    }
    if (c->sending)
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* Token and path check before the upgrade; >0 = refused with an HTTP status. */
static int confirm_upgrade(ks_ws_sink *s, struct lws *wsi)
{
    char uri[256] = "";
    if (!s) {
        lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "shutting down");
        return 1;
    }
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0 || strcmp(uri, s->path) != 0) {
        count_labeled(s, "websocket_handshakes_refused_total", "Websocket handshakes refused.",
                      "reason", "path");
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "unknown websocket path");
        return 1;
    }
    if (s->token && !ks_server_bearer_ok(wsi, s->token)) {
        char peer[64] = "";
        lws_get_peer_simple(wsi, peer, sizeof(peer));
        KS_WARN("websocket: refused a client from %s: missing or wrong bearer token", peer);
        count_labeled(s, "websocket_handshakes_refused_total", "Websocket handshakes refused.",
                      "reason", "token");
        lws_return_http_status(wsi, HTTP_STATUS_UNAUTHORIZED, "a valid bearer token is required");
        return 1;
    }
    return 0;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    ws_pss *pss = user;
    struct lws_vhost *vh = lws_get_vhost(wsi);
    ks_ws_ref *ref = vh ? lws_vhost_user(vh) : NULL;
    ks_ws_sink *s = ref ? ref->sink : NULL;
    ws_client *c = pss ? pss->client : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(s, wsi);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return s ? 0 : -1;
    case LWS_CALLBACK_HTTP:
        lws_return_http_status(wsi, 426, "websocket upgrade required");
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_ESTABLISHED:
        if (!s || !pss)
            return -1;
        c = calloc(1, sizeof(*c));
        if (!c)
            return -1;
        c->sink = s;
        c->wsi = wsi;
        ks_buf_init(&c->rx);
        lws_get_peer_simple(wsi, c->peer, sizeof(c->peer));
        c->next = s->clients;
        if (s->clients)
            s->clients->prev = c;
        s->clients = c;
        s->n_clients++;
        pss->client = c;
        ks_metric_set(s->m_clients, (double)s->n_clients);
        KS_INFO("websocket client %s connected (%zu clients)", c->peer, s->n_clients);
        maybe_ready(s);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return c && c->sink ? on_receive(c->sink, c, in, len) : 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c ? on_writeable(c->sink, c) : 0;
    case LWS_CALLBACK_CLOSED:
        if (!c)
            return 0;
        pss->client = NULL;
        if (c->sink) {
            ks_ws_sink *cs = c->sink;
            if (c->prev)
                c->prev->next = c->next;
            else
                cs->clients = c->next;
            if (c->next)
                c->next->prev = c->prev;
            cs->n_clients--;
            ks_metric_set(cs->m_clients, (double)cs->n_clients);
            KS_INFO("websocket client %s disconnected, %zu batches nacked", c->peer,
                    c->n_in_flight);
            client_fail_all(cs, c, "disconnect");
            maybe_ready(cs);
        }
        ks_buf_clean_up(&c->rx);
        free(c);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols ws_protocols[] = {
    {"kinesis-sidecar", ws_callback, sizeof(ws_pss), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

ks_err ks_ws_sink_new(ks_server *srv, const ks_websocket_config *cfg, ks_metrics *metrics,
                      const ks_sink_callbacks *cb, ks_sink **out)
{
    ks_err err = KS_OK;
    if (!srv || !cfg || !cb || !out)
        return KS_ERR_INVALID;
    if (srv->ws_vh || !srv->ws_ref) {
        KS_ERROR("websocket sink: only one per server");
        return KS_ERR_INVALID;
    }
    ks_ws_sink *s = calloc(1, sizeof(*s));
    if (!s)
        return KS_ERR_NOMEM;
    s->base.vt = &ws_vtable;
    s->base.cb = *cb;
    s->srv = srv;
    s->address = ks_strdup(cfg->address ? cfg->address : "127.0.0.1:4196");
    s->path = ks_strdup(cfg->path ? cfg->path : "/records");
    s->ack_timeout_ms = cfg->ack_timeout_ms > 0 ? (uint64_t)cfg->ack_timeout_ms : 30000;
    s->max_in_flight = cfg->max_in_flight > 0 ? (size_t)cfg->max_in_flight : 64;
    s->scratch = malloc(LWS_PRE + KS_WS_FRAME_BYTES);
    s->timer = calloc(1, sizeof(*s->timer));
    if (!s->address || !s->path || !s->scratch || !s->timer) {
        free(s->timer);
        s->timer = NULL;
        err = KS_ERR_NOMEM;
        goto fail;
    }
    uv_timer_init(srv->loop, s->timer);
    s->timer->data = s;
    if (cfg->token_file && (err = ks_read_token_file(cfg->token_file, &s->token)))
        goto fail;
    s->metrics = metrics ? metrics : srv->metrics;
    s->m_clients =
        ks_metrics_gauge(s->metrics, "websocket_clients", "Websocket clients connected.", NULL);
    ks_metric_set(s->m_clients, 0);
    s->m_sent = ks_metrics_counter(s->metrics, "websocket_batches_sent_total",
                                   "Batches written to websocket clients.", NULL);
    s->m_acks = ks_metrics_counter(s->metrics, "websocket_acks_total",
                                   "Batches acknowledged by websocket clients.", NULL);
    s->m_late = ks_metrics_counter(s->metrics, "websocket_late_answers_total",
                                   "Answers received after the batch had timed out.", NULL);
    srv->ws_ref->sink = s;
    err = ks_server_add_vhost(srv, "websocket", s->address, ws_protocols, srv->ws_ref, &srv->ws_vh,
                              &s->port);
    if (err)
        goto fail;
    *out = &s->base;
    return KS_OK;
fail:
    ws_destroy(&s->base);
    return err;
}

int ks_ws_sink_port(const ks_sink *s)
{
    return s ? ((const ks_ws_sink *)s)->port : -1;
}

size_t ks_ws_sink_clients(const ks_sink *s)
{
    return s ? ((const ks_ws_sink *)s)->n_clients : 0;
}

size_t ks_ws_sink_in_flight(const ks_sink *s)
{
    return s ? ((const ks_ws_sink *)s)->n_in_flight : 0;
}
