/* Configuration diagnostics: "FILE:LINE: key.path: message". */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/buf.h"

void ks_config_diags_init(ks_config_diags *d)
{
    d->items = NULL;
    d->len = 0;
    d->cap = 0;
}

void ks_config_diags_clean_up(ks_config_diags *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->len; i++) {
        free(d->items[i].file);
        free(d->items[i].key_path);
        free(d->items[i].message);
    }
    free(d->items);
    ks_config_diags_init(d);
}

ks_err ks_config_diags_add(ks_config_diags *d, bool warning, const char *file, int line,
                           const char *key_path, const char *fmt, ...)
{
    ks_err err = KS_OK;
    ks_buf msg;
    ks_buf_init(&msg);
    ks_config_diag item = {0};
    if (!d)
        return KS_ERR_INVALID;
    if (d->len == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        ks_config_diag *items = realloc(d->items, cap * sizeof(*items));
        if (!items)
            return KS_ERR_NOMEM;
        d->items = items;
        d->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    err = ks_buf_vappendf(&msg, fmt, ap);
    va_end(ap);
    if (err)
        goto fail;
    item.warning = warning;
    item.line = line;
    item.file = ks_strdup(file ? file : "<config>");
    item.key_path = ks_strdup(key_path ? key_path : "");
    err = ks_buf_detach(&msg, &item.message, NULL);
    if (err || !item.file || !item.key_path) {
        err = KS_ERR_NOMEM;
        goto fail;
    }
    d->items[d->len++] = item;
    return KS_OK;
fail:
    ks_buf_clean_up(&msg);
    free(item.file);
    free(item.key_path);
    free(item.message);
    return err;
}

void ks_config_diags_print(const ks_config_diags *d, FILE *f)
{
    for (size_t i = 0; d && i < d->len; i++) {
        const ks_config_diag *it = &d->items[i];
        fprintf(f, "%s:%d: ", it->file, it->line);
        if (it->key_path[0])
            fprintf(f, "%s: ", it->key_path);
        fprintf(f, "%s%s\n", it->warning ? "warning: " : "", it->message);
    }
}

size_t ks_config_diags_errors(const ks_config_diags *d)
{
    size_t n = 0;
    for (size_t i = 0; d && i < d->len; i++)
        n += !d->items[i].warning;
    return n;
}

size_t ks_config_diags_warnings(const ks_config_diags *d)
{
    return d ? d->len - ks_config_diags_errors(d) : 0;
}
