/* Helpers shared by the credential sources: credential structs, environment, async
 * file reads, URLs and address checks, times. */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/creds_provider.h"

void ks_aws_creds_clean_up(ks_aws_creds *c)
{
    if (!c)
        return;
    free(c->access_key_id);
    if (c->secret_access_key) {
        memset(c->secret_access_key, 0, strlen(c->secret_access_key));
        free(c->secret_access_key);
    }
    if (c->session_token) {
        memset(c->session_token, 0, strlen(c->session_token));
        free(c->session_token);
    }
    c->access_key_id = NULL;
    c->secret_access_key = NULL;
    c->session_token = NULL;
    c->expires_wall_ms = 0;
}

ks_err ks_creds_set(ks_aws_creds *c, const char *id, const char *secret, const char *token,
                    int64_t expires_wall_ms)
{
    ks_aws_creds tmp = {0};
    if (!id || !*id || !secret || !*secret)
        return KS_ERR_INVALID;
    tmp.access_key_id = ks_strdup(id);
    tmp.secret_access_key = ks_strdup(secret);
    tmp.session_token = (token && *token) ? ks_strdup(token) : NULL;
    tmp.expires_wall_ms = expires_wall_ms;
    if (!tmp.access_key_id || !tmp.secret_access_key || (token && *token && !tmp.session_token)) {
        ks_aws_creds_clean_up(&tmp);
        return KS_ERR_NOMEM;
    }
    *c = tmp;
    return KS_OK;
}

ks_err ks_aws_creds_copy(const ks_aws_creds *src, ks_aws_creds *dst)
{
    if (!src || !dst)
        return KS_ERR_INVALID;
    return ks_creds_set(dst, src->access_key_id, src->secret_access_key, src->session_token,
                        src->expires_wall_ms);
}

const char *ks_creds_getenv(const char *name)
{
    const char *v = getenv(name);
    return (v && *v) ? v : NULL;
}

void ks_creds_session_name(const ks_clock *clock, char out[64])
{
    snprintf(out, 64, "kinesis-sidecar-%lld", (long long)ks_clock_wall_ms(clock));
}

/* ---- async file read: open -> fstat -> read... -> close, all uv_fs requests ---- */

struct ks_creds_file_read {
    uv_fs_t req;
    uv_loop_t *loop;
    ks_creds_file_cb cb; /* NULL once cancelled or answered */
    void *ud;
    uv_file fd;
    ks_buf data;
    size_t max_len;
    ks_err err;
    char chunk[4096];
};

static void file_read_finish(ks_creds_file_read *r);

static void file_on_close(uv_fs_t *req)
{
    ks_creds_file_read *r = (ks_creds_file_read *)req; /* req is the first member */
    uv_fs_req_cleanup(req);
    if (r->cb) {
        ks_creds_file_cb cb = r->cb;
        r->cb = NULL;
        cb(r->ud, r->err, r->err == KS_OK ? (r->data.data ? r->data.data : "") : NULL,
           r->err == KS_OK ? r->data.len : 0);
    }
    if (r->data.data)
        memset(r->data.data, 0, r->data.len); /* may hold a token */
    ks_buf_clean_up(&r->data);
    free(r);
}

static void file_read_finish(ks_creds_file_read *r)
{
    if (r->fd >= 0) {
        if (uv_fs_close(r->loop, &r->req, r->fd, file_on_close) == 0)
            return;
    }
    file_on_close(&r->req);
}

static void file_on_read(uv_fs_t *req)
{
    ks_creds_file_read *r = (ks_creds_file_read *)req; /* req is the first member */
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    if (n < 0) {
        r->err = KS_ERR_IO;
    } else if (n > 0 && r->cb) {
        if (r->data.len + (size_t)n > r->max_len) {
            r->err = KS_ERR_INVALID;
        } else if (ks_buf_append(&r->data, r->chunk, (size_t)n) != KS_OK) {
            r->err = KS_ERR_NOMEM;
        } else {
            uv_buf_t b = uv_buf_init(r->chunk, sizeof(r->chunk));
            if (uv_fs_read(r->loop, &r->req, r->fd, &b, 1, -1, file_on_read) == 0)
                return;
            r->err = KS_ERR_IO;
        }
    }
    file_read_finish(r);
}

static void file_on_open(uv_fs_t *req)
{
    ks_creds_file_read *r = (ks_creds_file_read *)req; /* req is the first member */
    ssize_t fd = req->result;
    uv_fs_req_cleanup(req);
    if (fd < 0) {
        r->err = (fd == UV_ENOENT || fd == UV_ENOTDIR) ? KS_ERR_NOT_FOUND : KS_ERR_IO;
        file_read_finish(r);
        return;
    }
    r->fd = (uv_file)fd;
    if (!r->cb) {
        file_read_finish(r);
        return;
    }
    uv_buf_t b = uv_buf_init(r->chunk, sizeof(r->chunk));
    if (uv_fs_read(r->loop, &r->req, r->fd, &b, 1, -1, file_on_read) != 0) {
        r->err = KS_ERR_IO;
        file_read_finish(r);
    }
}

ks_err ks_creds_file_read_start(uv_loop_t *loop, const char *path, size_t max_len,
                                ks_creds_file_cb cb, void *ud, ks_creds_file_read **out)
{
    ks_creds_file_read *r = calloc(1, sizeof(*r));
    if (!r)
        return KS_ERR_NOMEM;
    r->loop = loop;
    r->cb = cb;
    r->ud = ud;
    r->fd = -1;
    r->max_len = max_len;
    ks_buf_init(&r->data);
    if (uv_fs_open(loop, &r->req, path, O_RDONLY | O_CLOEXEC, 0, file_on_open) != 0) {
        free(r);
        return KS_ERR_IO;
    }
    if (out)
        *out = r;
    return KS_OK;
}

void ks_creds_file_read_cancel(ks_creds_file_read *r)
{
    if (!r || !r->cb)
        return;
    ks_creds_file_cb cb = r->cb;
    r->cb = NULL;
    cb(r->ud, KS_ERR_CANCELLED, NULL, 0);
}

/* ---- URLs ---- */

ks_err ks_creds_urlencode(ks_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        ks_err err;
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            err = ks_buf_append_char(out, (char)*p);
        } else {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            err = ks_buf_append(out, enc, 3);
        }
        if (err != KS_OK)
            return err;
    }
    if (!out->data)
        return ks_buf_append(out, "", 0);
    return KS_OK;
}

ks_err ks_creds_url_parse(const char *url, ks_creds_url *out)
{
    memset(out, 0, sizeof(*out));
    const char *sep = strstr(url, "://");
    if (!sep || sep == url || (size_t)(sep - url) >= sizeof(out->scheme))
        return KS_ERR_INVALID;
    for (size_t i = 0; url + i < sep; i++)
        out->scheme[i] = (char)tolower((unsigned char)url[i]);
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    if (alen == 0 || alen >= sizeof(out->authority))
        return KS_ERR_INVALID;
    memcpy(out->authority, auth, alen);
    if (memchr(auth, '@', alen))
        return KS_ERR_INVALID; /* userinfo: "http://127.0.0.1@evil.com/" */
    const char *host = auth;
    size_t hlen;
    const char *rest;
    if (*host == '[') {
        const char *close = memchr(host, ']', alen);
        if (!close)
            return KS_ERR_INVALID;
        host++;
        hlen = (size_t)(close - host);
        rest = close + 1;
    } else {
        const char *colon = memchr(host, ':', alen);
        hlen = colon ? (size_t)(colon - host) : alen;
        rest = host + hlen;
    }
    if (hlen == 0 || hlen >= sizeof(out->host))
        return KS_ERR_INVALID;
    memcpy(out->host, host, hlen);
    if (rest < auth + alen) {
        if (*rest != ':' || rest + 1 == auth + alen)
            return KS_ERR_INVALID;
        long port = 0;
        for (const char *p = rest + 1; p < auth + alen; p++) {
            if (!isdigit((unsigned char)*p))
                return KS_ERR_INVALID;
            port = port * 10 + (*p - '0');
            if (port > 65535)
                return KS_ERR_INVALID;
        }
        out->port = (int)port;
    }
    return KS_OK;
}

int ks_creds_container_url_allowed(const char *url)
{
    ks_creds_url u;
    if (ks_creds_url_parse(url, &u) != KS_OK)
        return 0;
    if (strcmp(u.scheme, "https") == 0)
        return 1;
    if (strcmp(u.scheme, "http") != 0)
        return 0;
    unsigned char a4[4];
    unsigned char a6[16];
    if (inet_pton(AF_INET, u.host, a4) == 1) {
        if (a4[0] == 127)
            return 1;
        return a4[0] == 169 && a4[1] == 254 && a4[2] == 170 && (a4[3] == 2 || a4[3] == 23);
    }
    if (inet_pton(AF_INET6, u.host, a6) == 1) {
        static const unsigned char loop6[16] = {[15] = 1};
        unsigned char eks6[16];
        inet_pton(AF_INET6, "fd00:ec2::23", eks6);
        return memcmp(a6, loop6, 16) == 0 || memcmp(a6, eks6, 16) == 0;
    }
    return 0; /* host names are never trusted over plain http */
}

/* ---- times ---- */

static int parse_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

ks_err ks_creds_parse_iso8601(const char *s, int64_t *out_epoch_ms)
{
    if (!s)
        return KS_ERR_PARSE;
    while (isspace((unsigned char)*s))
        s++;
    int y, mo, d, h, mi, sec, ms = 0;
    const char *p = s;
    if (parse_digits(&p, 4, &y) || *p++ != '-' || parse_digits(&p, 2, &mo) || *p++ != '-' ||
        parse_digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return KS_ERR_PARSE;
    p++;
    if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &mi) || *p++ != ':' ||
        parse_digits(&p, 2, &sec))
        return KS_ERR_PARSE;
    if (*p == '.') {
        p++;
        int scale = 100, any = 0;
        while (isdigit((unsigned char)*p)) {
            ms += (*p - '0') * scale;
            scale /= 10;
            p++;
            any = 1;
        }
        if (!any)
            return KS_ERR_PARSE;
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (parse_digits(&p, 2, &oh))
            return KS_ERR_PARSE;
        if (*p == ':')
            p++;
        if (parse_digits(&p, 2, &om))
            return KS_ERR_PARSE;
        offset_s = sign * (oh * 3600 + om * 60);
    } else {
        return KS_ERR_PARSE;
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return KS_ERR_PARSE;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    *out_epoch_ms = ((int64_t)t - offset_s) * 1000 + ms;
    return KS_OK;
}
