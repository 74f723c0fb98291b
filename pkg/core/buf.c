#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ks_buf_init(ks_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void ks_buf_clean_up(ks_buf *b)
{
    if (!b)
        return;
    free(b->data);
    ks_buf_init(b);
}

void ks_buf_reset(ks_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

ks_err ks_buf_reserve(ks_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (b->data && need <= b->cap) /* cap without data is not room */
        return KS_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return KS_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return KS_OK;
}

ks_err ks_buf_append(ks_buf *b, const void *p, size_t n)
{
    ks_err err = ks_buf_reserve(b, n);
    if (err)
        return err;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return KS_OK;
}

ks_err ks_buf_append_str(ks_buf *b, const char *s)
{
    return ks_buf_append(b, s, strlen(s));
}

ks_err ks_buf_append_char(ks_buf *b, char c)
{
    return ks_buf_append(b, &c, 1);
}

ks_err ks_buf_vappendf(ks_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return KS_ERR_INVALID;
    ks_err err = ks_buf_reserve(b, (size_t)n);
    if (err)
        return err;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return KS_OK;
}

ks_err ks_buf_appendf(ks_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ks_err err = ks_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return err;
}

/* The hot path of json_lines: base64 data and sequence numbers need no escaping, so
 * runs of plain bytes are copied with one memcpy and only the rare escapes go slowly. */
ks_err ks_buf_append_json_str(ks_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    ks_err err = ks_buf_reserve(b, n + 2);
    if (err)
        return err;
    b->data[b->len++] = '"';
    size_t run = 0; /* start of the current run of plain bytes */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        if ((err = ks_buf_append(b, s + run, i - run)) || (err = ks_buf_append(b, esc, elen)))
            return err;
        run = i + 1;
    }
    if ((err = ks_buf_append(b, s + run, n - run)))
        return err;
    return ks_buf_append_char(b, '"');
}

ks_err ks_buf_detach(ks_buf *b, char **out, size_t *out_len)
{
    if (!b->data) {
        ks_err err = ks_buf_append(b, "", 0); /* allocates and terminates */
        if (err)
            return err;
    }
    *out = b->data;
    if (out_len)
        *out_len = b->len;
    ks_buf_init(b);
    return KS_OK;
}

char *ks_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

char *ks_strndup(const char *s, size_t n)
{
    return s ? strndup(s, n) : NULL;
}

int ks_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
