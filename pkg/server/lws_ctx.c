/* The lws context on the caller's libuv loop, vhost creation, and small helpers shared by
 * the admin and websocket vhosts (address parsing, loopback peers, bearer tokens). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"
#include "server/server_internal.h"

static void lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    /* lws prefixes a timestamp and level; keep the line as is, it is for humans. */
    ks_log(level == LLL_ERR ? KS_LOG_ERROR : KS_LOG_WARN, "lws: %.*s", (int)n, line);
}

ks_err ks_server_parse_address(const char *addr, char *host_out, size_t host_len, int *port_out,
                               bool *ipv6_out)
{
    if (!addr || !*addr)
        return KS_ERR_INVALID;
    const char *colon = strrchr(addr, ':');
    if (!colon)
        return KS_ERR_INVALID;
    const char *h = addr;
    size_t hn = (size_t)(colon - addr);
    *ipv6_out = false;
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
        h++;
        hn -= 2;
        *ipv6_out = true;
    } else if (memchr(h, ':', hn)) {
        return KS_ERR_INVALID; /* bare IPv6 must be bracketed */
    }
    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno || port < 0 || port > 65535)
        return KS_ERR_INVALID;
    if (hn >= host_len)
        return KS_ERR_INVALID;
    memcpy(host_out, h, hn);
    host_out[hn] = '\0';
    if (!strcmp(host_out, "0.0.0.0") || !strcmp(host_out, "*") || !strcmp(host_out, "::"))
        host_out[0] = '\0';
    if (!strcmp(host_out, "localhost"))
        snprintf(host_out, host_len, "127.0.0.1");
    *port_out = (int)port;
    return KS_OK;
}

ks_err ks_server_add_vhost(ks_server *srv, const char *name, const char *address,
                           const struct lws_protocols *protocols, void *user,
                           struct lws_vhost **out_vh, int *out_port)
{
    char host[128];
    int port = 0;
    bool v6 = false;
    if (ks_server_parse_address(address, host, sizeof(host), &port, &v6) != KS_OK) {
        KS_ERROR("invalid listen address \"%s\" for %s (want host:port)", address, name);
        return KS_ERR_INVALID;
    }
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.vhost_name = name;
    info.port = port;
    info.iface = host[0] ? host : NULL;
    info.protocols = protocols;
    info.user = user;
    info.keepalive_timeout = 30;
    info.timeout_secs = 30;
    /* An IPv4 literal binds an IPv4 socket; "[::1]" or "[::]" an IPv6 one. */
    if (host[0] && !v6)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    struct lws_vhost *vh = lws_create_vhost(srv->ctx, &info);
    if (!vh) {
        KS_ERROR("cannot listen on %s for %s", address, name);
        return KS_ERR_IO;
    }
    *out_vh = vh;
    *out_port = lws_get_vhost_listen_port(vh);
    KS_INFO("%s listening on %s (port %d)", name, address, *out_port);
    return KS_OK;
}

bool ks_server_peer_is_loopback(struct lws *wsi)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len = sizeof(ss);
    int fd = (int)lws_get_socket_fd(lws_get_network_wsi(wsi));
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return false;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

bool ks_secret_equal(const char *presented, size_t presented_len, const char *expected)
{
    size_t n = strlen(expected);
    unsigned char diff = (unsigned char)(presented_len != n);
    /* Always walks the expected length; no early exit on the first difference. */
    for (size_t i = 0; i < n; i++) {
        unsigned char p = i < presented_len ? (unsigned char)presented[i] : 0;
        diff |= (unsigned char)(p ^ (unsigned char)expected[i]);
    }
    return diff == 0;
}

bool ks_server_bearer_ok(struct lws *wsi, const char *token)
{
    char hdr[1024];
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (!token || n <= 0 || n >= (int)sizeof(hdr))
        return false;
    if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
        return false;
    if (strncasecmp(hdr, "Bearer ", 7) != 0)
        return false;
    const char *v = hdr + 7;
    while (*v == ' ')
        v++;
    size_t vl = strlen(v);
    while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        vl--;
    bool ok = ks_secret_equal(v, vl, token);
    memset(hdr, 0, sizeof(hdr));
    return ok;
}

ks_err ks_read_token_file(const char *path, char **out)
{
    ks_err err = KS_OK;
    ks_buf b;
    ks_buf_init(&b);
    FILE *f = fopen(path, "rb");
    if (!f) {
        KS_ERROR("cannot read token file %s: %s", path, strerror(errno));
        return KS_ERR_NOT_FOUND;
    }
    char chunk[512];
    size_t n;
    while (!err && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        err = b.len + n > 64 * 1024 ? KS_ERR_INVALID : ks_buf_append(&b, chunk, n);
    }
    if (!err && ferror(f))
        err = KS_ERR_IO;
    fclose(f);
    while (!err && b.len && strchr(" \t\r\n", b.data[b.len - 1]))
        b.data[--b.len] = '\0';
    if (!err && (b.len == 0 || strlen(b.data) != b.len)) {
        KS_ERROR("token file %s is empty or not text", path);
        err = KS_ERR_INVALID;
    }
    if (!err)
        err = ks_buf_detach(&b, out, &n);
    if (b.data)
        memset(b.data, 0, b.cap);
    ks_buf_clean_up(&b);
    return err;
}

typedef struct handle_snap {
    const void *seen[32];
    size_t n;
    ks_lws_reaper *r; /* when set: record handles not in seen */
} handle_snap;

static void snap_walk(uv_handle_t *h, void *arg)
{
    handle_snap *s = arg;
    if (!s->r) {
        if (s->n < sizeof(s->seen) / sizeof(s->seen[0]))
            s->seen[s->n++] = h;
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->seen[i] == h)
            return;
    }
    if (s->r->n_handles < sizeof(s->r->handles) / sizeof(s->r->handles[0]))
        s->r->handles[s->r->n_handles++] = h;
}

typedef struct reaper_probe {
    const ks_lws_reaper *r;
    bool found;
} reaper_probe;

static void probe_walk(uv_handle_t *h, void *arg)
{
    reaper_probe *p = arg;
    for (size_t i = 0; i < p->r->n_handles; i++) {
        if (p->r->handles[i] == h)
            p->found = true;
    }
}

static void reaper_closed(uv_handle_t *h)
{
    free(h->data);
}

static void reaper_tick(uv_idle_t *idle)
{
    ks_lws_reaper *r = idle->data;
    reaper_probe p = {r, false};
    uv_walk(idle->loop, probe_walk, &p);
    if (p.found)
        return; /* lws is still closing its handles */
    if (r->ctx)
        lws_context_destroy(r->ctx); /* final stage; lws sets r->ctx = NULL when done */
    if (r->ctx)
        return;
    uv_idle_stop(idle);
    uv_close((uv_handle_t *)idle, reaper_closed);
}

ks_err ks_server_new(const ks_server_opts *opts, ks_server **out)
{
    ks_err err = KS_OK;
    if (!opts || !opts->loop || !out)
        return KS_ERR_INVALID;
    ks_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return KS_ERR_NOMEM;
    srv->loop = opts->loop;
    srv->hooks = opts->hooks;
    srv->untrusted_loopback = opts->untrusted_loopback;
    srv->metrics = opts->metrics;
    if (!srv->metrics) {
        err = ks_metrics_new(&srv->own_metrics);
        if (err)
            goto fail;
        srv->metrics = srv->own_metrics;
    }
    if (opts->admin_token_file) {
        err = ks_read_token_file(opts->admin_token_file, &srv->admin_token);
        if (err)
            goto fail;
    }
    srv->reaper = calloc(1, sizeof(*srv->reaper));
    if (!srv->reaper) {
        err = KS_ERR_NOMEM;
        goto fail;
    }

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    void *loops[1] = {opts->loop};
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.foreign_loops = loops;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.user = srv;
    info.server_string = "kinesis-sidecar";
    info.pcontext = &srv->reaper->ctx;
    handle_snap snap = {.n = 0, .r = NULL};
    uv_walk(opts->loop, snap_walk, &snap);
    srv->ctx = lws_create_context(&info);
    srv->reaper->ctx = srv->ctx;
    srv->ws_ref = &srv->reaper->ws_ref;
    snap.r = srv->reaper;
    uv_walk(opts->loop, snap_walk, &snap);
    if (!srv->ctx) {
        KS_ERROR("cannot create the libwebsockets context on the libuv loop "
                 "(is the libwebsockets-evlib-uv plugin installed?)");
        err = KS_ERR_IO;
        goto fail;
    }
    err = ks_server_add_vhost(srv, "admin",
                              opts->admin_address ? opts->admin_address : "0.0.0.0:4195",
                              ks_admin_protocols, srv, &srv->admin_vh, &srv->admin_port);
    if (err)
        goto fail;
    *out = srv;
    return KS_OK;
fail:
    ks_server_destroy(srv);
    return err;
}

void ks_server_destroy(ks_server *srv)
{
    if (!srv)
        return;
    if (srv->ws_ref)
        srv->ws_ref->sink = NULL; /* a sink still alive is not reachable from lws any more */
    srv->ws_ref = NULL;
    if (srv->ctx && srv->reaper) {
        /* Closes every connection now (callbacks run synchronously); lws then closes its
         * libuv handles on the loop, and the reaper completes the destruction. */
        lws_context_destroy(srv->ctx);
        ks_lws_reaper *r = srv->reaper;
        srv->reaper = NULL;
        if (r->ctx) {
            uv_idle_init(srv->loop, &r->idle);
            r->idle.data = r;
            uv_idle_start(&r->idle, reaper_tick);
        } else {
            free(r);
        }
    }
    srv->ctx = NULL;
    free(srv->reaper);
    if (srv->admin_token)
        memset(srv->admin_token, 0, strlen(srv->admin_token));
    free(srv->admin_token);
    ks_metrics_destroy(srv->own_metrics);
    free(srv);
}

int ks_server_admin_port(const ks_server *srv)
{
    return srv ? srv->admin_port : -1;
}
