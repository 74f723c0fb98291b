#include "sink/base64.h"

#include <stdint.h>

static const char enc_tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63 for alphabet characters, 255 otherwise. */
static const uint8_t dec_tab[256] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 62,  255, 255, 255, 63,  52,  53,  54,  55,  56,  57,  58,  59,  60,
    61,  255, 255, 255, 255, 255, 255, 255, 0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,
    11,  12,  13,  14,  15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25,  255, 255, 255, 255,
    255, 255, 26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,  41,  42,
    43,  44,  45,  46,  47,  48,  49,  50,  51,  255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255,
};

static bool is_alpha64(unsigned char c)
{
    return dec_tab[c] != 255;
}

/* Validates and returns the number of data characters (without padding). */
static bool scan(const char *s, size_t n, size_t *data_chars)
{
    size_t pad = 0;
    if (n >= 1 && s[n - 1] == '=')
        pad++;
    if (n >= 2 && s[n - 2] == '=')
        pad++;
    if (pad && n % 4 != 0)
        return false;
    size_t m = n - pad;
    if (m % 4 == 1)
        return false;
    for (size_t i = 0; i < m; i++) {
        if (!is_alpha64((unsigned char)s[i]))
            return false;
    }
    *data_chars = m;
    return true;
}

bool ks_base64_decoded_len(const char *s, size_t n, size_t *out_len)
{
    size_t m;
    if (!scan(s, n, &m))
        return false;
    *out_len = m / 4 * 3 + (m % 4 ? m % 4 - 1 : 0);
    return true;
}

ks_err ks_base64_decode(const char *s, size_t n, ks_buf *out)
{
    size_t m, len;
    if (!scan(s, n, &m))
        return KS_ERR_PARSE;
    len = m / 4 * 3 + (m % 4 ? m % 4 - 1 : 0);
    ks_err err = ks_buf_reserve(out, len);
    if (err)
        return err;
    const unsigned char *in = (const unsigned char *)s;
    unsigned char *o = (unsigned char *)out->data + out->len;
    size_t i = 0;
    for (; i + 4 <= m; i += 4) {
        uint32_t v = (uint32_t)dec_tab[in[i]] << 18 | (uint32_t)dec_tab[in[i + 1]] << 12 |
                     (uint32_t)dec_tab[in[i + 2]] << 6 | (uint32_t)dec_tab[in[i + 3]];
        *o++ = (unsigned char)(v >> 16);
        *o++ = (unsigned char)(v >> 8);
        *o++ = (unsigned char)v;
    }
    size_t rest = m - i;
    if (rest >= 2) {
        uint32_t v = (uint32_t)dec_tab[in[i]] << 18 | (uint32_t)dec_tab[in[i + 1]] << 12;
        if (rest == 3)
            v |= (uint32_t)dec_tab[in[i + 2]] << 6;
        *o++ = (unsigned char)(v >> 16);
        if (rest == 3)
            *o++ = (unsigned char)(v >> 8);
    }
    out->len += len;
    out->data[out->len] = '\0';
    return KS_OK;
}

ks_err ks_base64_encode(const void *p, size_t n, ks_buf *out)
{
    ks_err err = ks_buf_reserve(out, (n + 2) / 3 * 4);
    if (err)
        return err;
    const unsigned char *in = p;
    char *o = out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = enc_tab[v >> 18];
        *o++ = enc_tab[(v >> 12) & 63];
        *o++ = enc_tab[(v >> 6) & 63];
        *o++ = enc_tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *o++ = enc_tab[v >> 18];
        *o++ = enc_tab[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *o++ = enc_tab[v >> 18];
        *o++ = enc_tab[(v >> 12) & 63];
        *o++ = enc_tab[(v >> 6) & 63];
        *o++ = '=';
    }
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
    return KS_OK;
}

bool ks_base64_decode_or_raw(const char *s, size_t n, ks_buf *out, ks_err *err)
{
    ks_err e = ks_base64_decode(s, n, out);
    if (e == KS_ERR_PARSE) {
        *err = ks_buf_append(out, s, n);
        return true;
    }
    *err = e;
    return false;
}
