/* AWS Signature Version 4 in stages; see sigv4.h. Pure: no I/O, no clocks. */
#include "aws/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KS_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

static const char HEX[] = "0123456789abcdef";

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX[in[i] >> 4];
        out[2 * i + 1] = HEX[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void ks_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    static const char empty = 0;
    if (EVP_Digest(data ? data : &empty, len, md, &md_len, EVP_sha256(), NULL) != 1 ||
        md_len != 32) {
        out[0] = '\0';
        return;
    }
    to_hex(md, 32, out);
}

void ks_sigv4_amz_date(int64_t epoch_s, char out[17])
{
    time_t t = (time_t)epoch_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* ---- URI encoding --------------------------------------------------------------------- */

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* Percent-encodes every byte but the unreserved ones (and '/' when keep_slash). */
static ks_err uri_encode(ks_buf *out, const char *s, size_t n, int keep_slash)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        ks_err err;
        if (unreserved(c) || (keep_slash && c == '/')) {
            err = ks_buf_append_char(out, (char)c);
        } else {
            char e[3] = {'%', "0123456789ABCDEF"[c >> 4], "0123456789ABCDEF"[c & 15]};
            err = ks_buf_append(out, e, 3);
        }
        if (err)
            return err;
    }
    return KS_OK;
}

/* Percent-decodes s[0..n) into out ('+' stays '+'). */
static ks_err uri_decode(ks_buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%' && i + 2 < n) {
            int hi = ks_hex_digit(s[i + 1]);
            int lo = ks_hex_digit(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                c = (char)(hi * 16 + lo);
                i += 2;
            }
        }
        ks_err err = ks_buf_append_char(out, c);
        if (err)
            return err;
    }
    return KS_OK;
}

/* ---- canonical URI ------------------------------------------------------------------- */

/* Removes "." and ".." segments and empty segments, keeping a trailing slash. */
static ks_err normalize_path(const char *path, ks_buf *out)
{
    size_t n = strlen(path);
    size_t cap = n / 2 + 2;
    const char **seg = malloc(cap * sizeof(*seg));
    size_t *seg_len = malloc(cap * sizeof(*seg_len));
    size_t nseg = 0;
    int trailing = 0;
    ks_err err = KS_ERR_NOMEM;
    if (!seg || !seg_len)
        goto out;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        const char *e = p;
        while (*e && *e != '/')
            e++;
        size_t len = (size_t)(e - p);
        trailing = 0;
        int dot = len == 1 && p[0] == '.';
        int dotdot = len == 2 && p[0] == '.' && p[1] == '.';
        if (len == 0 || dot || dotdot) {
            /* "" (the path ended with '/'), "." or "..": a directory follows */
            trailing = 1;
            if (dotdot && nseg)
                nseg--;
        } else {
            seg[nseg] = p;
            seg_len[nseg] = len;
            nseg++;
        }
        p = e;
    }
    err = ks_buf_append_char(out, '/');
    for (size_t i = 0; !err && i < nseg; i++) {
        err = ks_buf_append(out, seg[i], seg_len[i]);
        if (!err && (i + 1 < nseg || trailing))
            err = ks_buf_append_char(out, '/');
    }
out:
    free(seg);
    free(seg_len);
    return err;
}

static ks_err canonical_uri(const ks_sigv4_request *req, ks_buf *out)
{
    const char *path = req->path && *req->path ? req->path : "/";
    ks_buf norm;
    ks_buf_init(&norm);
    ks_err err = KS_OK;
    if (req->normalize_path) {
        err = normalize_path(path, &norm);
        path = norm.data;
    }
    if (!err)
        err = uri_encode(out, path, strlen(path), 1);
    ks_buf_clean_up(&norm);
    return err;
}

/* ---- canonical query ----------------------------------------------------------------- */

typedef struct qparam {
    char *key; /* encoded */
    char *value;
} qparam;

static int qparam_cmp(const void *a, const void *b)
{
    const qparam *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

static ks_err encode_component(const char *s, size_t n, char **out)
{
    ks_buf dec, enc;
    ks_buf_init(&dec);
    ks_buf_init(&enc);
    ks_err err = uri_decode(&dec, s, n);
    if (!err)
        err = ks_buf_append(&enc, "", 0);
    if (!err)
        err = uri_encode(&enc, dec.data ? dec.data : "", dec.len, 0);
    size_t len;
    if (!err)
        err = ks_buf_detach(&enc, out, &len);
    ks_buf_clean_up(&dec);
    ks_buf_clean_up(&enc);
    return err;
}

static ks_err canonical_query(const char *query, ks_buf *out)
{
    if (!query || !*query)
        return KS_OK;
    size_t cap = 1;
    for (const char *p = query; *p; p++)
        cap += *p == '&';
    qparam *ps = calloc(cap, sizeof(*ps));
    if (!ps)
        return KS_ERR_NOMEM;
    size_t n = 0;
    ks_err err = KS_OK;
    for (const char *p = query; *p && !err;) {
        const char *amp = strchr(p, '&');
        const char *end = amp ? amp : p + strlen(p);
        if (end > p) {
            const char *eq = memchr(p, '=', (size_t)(end - p));
            const char *kend = eq ? eq : end;
            err = encode_component(p, (size_t)(kend - p), &ps[n].key);
            if (!err)
                err = eq ? encode_component(eq + 1, (size_t)(end - eq - 1), &ps[n].value)
                         : encode_component("", 0, &ps[n].value);
            n++;
        }
        p = amp ? amp + 1 : end;
    }
    if (!err) {
        qsort(ps, n, sizeof(*ps), qparam_cmp);
        for (size_t i = 0; i < n && !err; i++)
            err = ks_buf_appendf(out, "%s%s=%s", i ? "&" : "", ps[i].key, ps[i].value);
    }
    for (size_t i = 0; i < n; i++) {
        free(ps[i].key);
        free(ps[i].value);
    }
    free(ps);
    return err;
}

/* ---- canonical headers --------------------------------------------------------------- */

typedef struct chdr {
    char *name;   /* lower-case */
    char *value;  /* trimmed, sequential spaces collapsed */
    size_t order; /* original position (stable sort keeps value order) */
} chdr;

static int chdr_cmp(const void *a, const void *b)
{
    const chdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static char *lower_dup(const char *s)
{
    char *d = ks_strdup(s);
    for (char *p = d; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

static char *trim_collapse(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    size_t o = 0;
    int space = 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = 1;
            continue;
        }
        if (space && o > 0)
            d[o++] = ' ';
        space = 0;
        d[o++] = c;
    }
    d[o] = '\0';
    return d;
}

static ks_err canonical_headers(const ks_sigv4_request *req, ks_buf *out, ks_buf *signed_out)
{
    size_t n = req->n_headers;
    chdr *hs = calloc(n ? n : 1, sizeof(*hs));
    if (!hs)
        return KS_ERR_NOMEM;
    ks_err err = KS_OK;
    for (size_t i = 0; i < n; i++) {
        hs[i].name = lower_dup(req->headers[i].name);
        hs[i].value = trim_collapse(req->headers[i].value ? req->headers[i].value : "");
        hs[i].order = i;
        if (!hs[i].name || !hs[i].value) {
            err = KS_ERR_NOMEM;
            goto out;
        }
    }
    qsort(hs, n, sizeof(*hs), chdr_cmp);
    for (size_t i = 0; i < n && !err; i++) {
        if (i > 0 && strcmp(hs[i].name, hs[i - 1].name) == 0) {
            /* repeated header: values joined with ',' in the order given */
            if (out->len && out->data[out->len - 1] == '\n')
                out->len--;
            err = ks_buf_appendf(out, ",%s\n", hs[i].value);
            continue;
        }
        err = ks_buf_appendf(out, "%s:%s\n", hs[i].name, hs[i].value);
        if (!err && signed_out)
            err = ks_buf_appendf(signed_out, "%s%s", signed_out->len ? ";" : "", hs[i].name);
    }
out:
    for (size_t i = 0; i < n; i++) {
        free(hs[i].name);
        free(hs[i].value);
    }
    free(hs);
    return err;
}

/* ---- stages -------------------------------------------------------------------------- */

ks_err ks_sigv4_canonical_request(const ks_sigv4_request *req, ks_buf *out,
                                  ks_buf *signed_headers_out)
{
    if (!req || !req->method || !out)
        return KS_ERR_INVALID;
    ks_buf signed_headers;
    ks_buf_init(&signed_headers);
    char body_hash[65];
    ks_err err = ks_buf_appendf(out, "%s\n", req->method);
    if (!err)
        err = canonical_uri(req, out);
    if (!err)
        err = ks_buf_append_char(out, '\n');
    if (!err)
        err = canonical_query(req->query, out);
    if (!err)
        err = ks_buf_append_char(out, '\n');
    if (!err)
        err = canonical_headers(req, out, &signed_headers);
    if (!err)
        err = ks_buf_appendf(out, "\n%s\n", signed_headers.data ? signed_headers.data : "");
    if (!err) {
        ks_sha256_hex(req->body, req->body ? req->body_len : 0, body_hash);
        err = ks_buf_append_str(out, body_hash);
    }
    if (!err && signed_headers_out)
        err = ks_buf_append(signed_headers_out, signed_headers.data ? signed_headers.data : "",
                            signed_headers.len);
    ks_buf_clean_up(&signed_headers);
    return err;
}

static ks_err scope(const ks_sigv4_params *p, ks_buf *out)
{
    char date[17];
    ks_sigv4_amz_date(p->epoch_s, date);
    return ks_buf_appendf(out, "%.8s/%s/%s/aws4_request", date, p->region, p->service);
}

ks_err ks_sigv4_string_to_sign(const ks_sigv4_params *p, const char *canonical_request, size_t len,
                               ks_buf *out)
{
    if (!p || !p->region || !p->service || !canonical_request || !out)
        return KS_ERR_INVALID;
    char date[17], hash[65];
    ks_sigv4_amz_date(p->epoch_s, date);
    ks_sha256_hex(canonical_request, len, hash);
    ks_err err = ks_buf_appendf(out, KS_SIGV4_ALGORITHM "\n%s\n", date);
    if (!err)
        err = scope(p, out);
    if (!err)
        err = ks_buf_appendf(out, "\n%s", hash);
    return err;
}

static int hmac(const void *key, size_t key_len, const void *msg, size_t msg_len,
                unsigned char out[32])
{
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &n) || n != 32)
        return -1;
    return 0;
}

ks_err ks_sigv4_signature(const ks_sigv4_params *p, const char *string_to_sign, size_t len,
                          char out[65])
{
    out[0] = '\0';
    if (!p || !p->secret_access_key || !p->region || !p->service || !string_to_sign)
        return KS_ERR_INVALID;
    ks_buf key;
    ks_buf_init(&key);
    ks_err err = ks_buf_appendf(&key, "AWS4%s", p->secret_access_key);
    if (err)
        goto out;
    char date[17];
    ks_sigv4_amz_date(p->epoch_s, date);
    unsigned char k_date[32], k_region[32], k_service[32], k_signing[32], sig[32];
    err = KS_ERR_INVALID;
    if (hmac(key.data, key.len, date, 8, k_date) != 0 ||
        hmac(k_date, 32, p->region, strlen(p->region), k_region) != 0 ||
        hmac(k_region, 32, p->service, strlen(p->service), k_service) != 0 ||
        hmac(k_service, 32, "aws4_request", 12, k_signing) != 0 ||
        hmac(k_signing, 32, string_to_sign, len, sig) != 0)
        goto out;
    to_hex(sig, 32, out);
    err = KS_OK;
out:
    if (key.data)
        OPENSSL_cleanse(key.data, key.cap);
    ks_buf_clean_up(&key);
    return err;
}

ks_err ks_sigv4_authorization(const ks_sigv4_params *p, const ks_sigv4_request *req, ks_buf *out)
{
    if (!p || !p->access_key_id || !req || !out)
        return KS_ERR_INVALID;
    ks_buf creq, sh, sts;
    ks_buf_init(&creq);
    ks_buf_init(&sh);
    ks_buf_init(&sts);
    char sig[65];
    ks_err err = ks_sigv4_canonical_request(req, &creq, &sh);
    if (!err)
        err = ks_sigv4_string_to_sign(p, creq.data, creq.len, &sts);
    if (!err)
        err = ks_sigv4_signature(p, sts.data, sts.len, sig);
    if (!err)
        err = ks_buf_appendf(out, KS_SIGV4_ALGORITHM " Credential=%s/", p->access_key_id);
    if (!err)
        err = scope(p, out);
    if (!err)
        err = ks_buf_appendf(out, ", SignedHeaders=%s, Signature=%s", sh.data ? sh.data : "", sig);
    ks_buf_clean_up(&creq);
    ks_buf_clean_up(&sh);
    ks_buf_clean_up(&sts);
    return err;
}
