/* Growable byte buffer, always NUL-terminated (data[len] == 0) once non-empty.
 * Owner: whoever calls ks_buf_init() calls ks_buf_clean_up(). */
#ifndef KS_CORE_BUF_H
#define KS_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/err.h"

typedef struct ks_buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
} ks_buf;

void ks_buf_init(ks_buf *b);
void ks_buf_clean_up(ks_buf *b); /* frees; accepts NULL; leaves b empty */
void ks_buf_reset(ks_buf *b);    /* len = 0, keeps memory */
ks_err ks_buf_reserve(ks_buf *b, size_t extra);
ks_err ks_buf_append(ks_buf *b, const void *p, size_t n);
ks_err ks_buf_append_str(ks_buf *b, const char *s);
ks_err ks_buf_append_char(ks_buf *b, char c);
ks_err ks_buf_appendf(ks_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
ks_err ks_buf_vappendf(ks_buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal including the quotes. */
ks_err ks_buf_append_json_str(ks_buf *b, const char *s, size_t n);
/* Gives the memory to the caller (free() it); b becomes empty. Never NULL on KS_OK. */
ks_err ks_buf_detach(ks_buf *b, char **out, size_t *out_len);

/* Small string helpers. ks_strdup(NULL) returns NULL. */
char *ks_strdup(const char *s);
char *ks_strndup(const char *s, size_t n);
/* The value of a hexadecimal digit (either case), or -1 when c is not one. */
int ks_hex_digit(char c);

#endif
