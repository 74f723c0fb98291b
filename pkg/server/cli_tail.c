/* `kinesis-sidecar tail`: a websocket client of the records endpoint that prints every
 * record and acks every batch (see cli.h). It runs in its own process on lws's event
 * loop. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>

#include "core/buf.h"
#include "server/cli.h"
#include "server/server.h"
#include "server/server_internal.h"
#include "sink/base64.h"

typedef struct tail_state {
    bool json;
    char *token;
    ks_buf rx;
    ks_buf acks; /* ack messages waiting to be written, NUL-separated */
    bool finished;
    int rc;
} tail_state;

static volatile sig_atomic_t tail_interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    tail_interrupted = 1;
}

static void print_batch(tail_state *t, const cJSON *records)
{
    const cJSON *r;
    ks_buf out;
    ks_buf_init(&out);
    cJSON_ArrayForEach(r, records)
    {
        if (t->json) {
            char *s = cJSON_PrintUnformatted(r);
            if (s)
                printf("%s\n", s);
            free(s);
            continue;
        }
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "data");
        if (!cJSON_IsString(d))
            continue;
        ks_buf_reset(&out);
        if (ks_base64_decode(d->valuestring, strlen(d->valuestring), &out) != KS_OK)
            ks_buf_append_str(&out, d->valuestring); /* not base64: print as received */
        fwrite(out.data ? out.data : "", 1, out.len, stdout);
        fputc('\n', stdout);
    }
    fflush(stdout);
    ks_buf_clean_up(&out);
}

/* Handles one complete message; queues the ack. */
static int on_message(struct lws *wsi, tail_state *t)
{
    cJSON *j = cJSON_ParseWithLength(t->rx.data ? t->rx.data : "", t->rx.len);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "batch") != 0 || !cJSON_IsString(id)) {
        fprintf(stderr, "tail: unexpected message ignored\n");
        cJSON_Delete(j);
        return 0;
    }
    print_batch(t, cJSON_GetObjectItemCaseSensitive(j, "records"));
    ks_buf_append_str(&t->acks, "{\"type\":\"ack\",\"id\":");
    ks_buf_append_json_str(&t->acks, id->valuestring, strlen(id->valuestring));
    ks_buf_append(&t->acks, "}", 2); /* keeps the NUL as separator */
    cJSON_Delete(j);
    lws_callback_on_writable(wsi);
    return 0;
}

static int write_acks(struct lws *wsi, tail_state *t)
{
    size_t off = 0;
    while (off < t->acks.len) {
        const char *m = t->acks.data + off;
        size_t n = strlen(m);
        unsigned char buf[LWS_PRE + 256];
        if (n < 256) {
            memcpy(buf + LWS_PRE, m, n + 1); /* with its NUL; lws sends n bytes */
            if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
                return -1;
        }
        off += n + 1;
    }
    ks_buf_reset(&t->acks);
    return 0;
}

static int tail_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    tail_state *t = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        if (t && t->token) {
            unsigned char **p = in, *end = *p + len;
            char v[600];
            snprintf(v, sizeof(v), "Bearer %s", t->token);
            if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, (unsigned char *)v,
                                             (int)strlen(v), p, end))
                return -1;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        fprintf(stderr, "tail: connected\n");
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "tail: connection failed: %s\n", in ? (const char *)in : "unknown");
        t->finished = true;
        t->rc = 2;
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (ks_buf_append(&t->rx, in, len) != KS_OK)
            return -1;
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
            return 0;
        on_message(wsi, t);
        ks_buf_reset(&t->rx);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return write_acks(wsi, t);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2) {
            const unsigned char *p = in;
            fprintf(stderr, "tail: server closed (%d) %.*s\n", (p[0] << 8) | p[1], (int)(len - 2),
                    (const char *)in + 2);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        t->finished = true;
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols tail_protocols[] = {
    {"kinesis-sidecar-tail", tail_callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int ks_cli_tail(int argc, char **argv)
{
    const char *address = "127.0.0.1:4196", *path = "/records", *token_file = NULL;
    tail_state t;
    memset(&t, 0, sizeof(t));
    for (int i = 1; i < argc; i++) {
        bool has_val = i + 1 < argc;
        if (!strcmp(argv[i], "--address") && has_val) {
            address = argv[++i];
        } else if (!strcmp(argv[i], "--path") && has_val) {
            path = argv[++i];
        } else if (!strcmp(argv[i], "--token-file") && has_val) {
            token_file = argv[++i];
        } else if (!strcmp(argv[i], "--json")) {
            t.json = true;
        } else {
            fprintf(stderr, "usage: kinesis-sidecar tail [--address HOST:PORT] [--path P] "
                            "[--token-file F] [--json]\n");
            return 2;
        }
    }
    char host[128];
    int port = 0;
    bool v6 = false;
    if (ks_server_parse_address(address, host, sizeof(host), &port, &v6) != KS_OK || !port) {
        fprintf(stderr, "tail: invalid --address \"%s\"\n", address);
        return 2;
    }
    if (!host[0])
        snprintf(host, sizeof(host), "127.0.0.1");
    if (token_file && ks_read_token_file(token_file, &t.token) != KS_OK)
        return 2;
    ks_buf_init(&t.rx);
    ks_buf_init(&t.acks);
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = tail_protocols;
    info.user = &t;
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx) {
        fprintf(stderr, "tail: cannot create the lws context\n");
        t.rc = 2;
        goto out;
    }
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = ctx;
    ci.address = host;
    ci.port = port;
    ci.path = path;
    ci.host = host;
    ci.origin = host;
    ci.protocol = NULL; /* the server's default protocol */
    ci.local_protocol_name = tail_protocols[0].name;
    if (!lws_client_connect_via_info(&ci)) {
        fprintf(stderr, "tail: cannot connect to %s\n", address);
        t.rc = 2;
    } else {
        signal(SIGINT, on_sigint);
        signal(SIGTERM, on_sigint);
        while (!t.finished && !tail_interrupted && lws_service(ctx, 0) >= 0)
            ;
    }
    lws_context_destroy(ctx);
out:
    ks_buf_clean_up(&t.rx);
    ks_buf_clean_up(&t.acks);
    if (t.token)
        memset(t.token, 0, strlen(t.token));
    free(t.token);
    return t.rc;
}
