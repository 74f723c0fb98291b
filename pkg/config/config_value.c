/* Scalar conversion through the field table, defaults and destruction. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"
#include "core/buf.h"
#include "core/duration.h"

static void *member(ks_config *c, size_t offset)
{
    return (char *)c + offset;
}

static bool parse_int(const char *text, int64_t *out)
{
    char *end = NULL;
    if (!*text || strchr(" \t\n", *text))
        return false;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || *end)
        return false;
    *out = (int64_t)v;
    return true;
}

static bool parse_mode(const char *text, uint32_t *out)
{
    char *end = NULL;
    int base = 10;
    const char *p = text;
    if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
        base = 8;
        p += 2;
    } else if (p[0] == '0' && p[1]) {
        base = 8;
    }
    if (!*p || !strchr("0123456789", *p))
        return false;
    errno = 0;
    unsigned long v = strtoul(p, &end, base);
    if (errno || *end || v > 07777)
        return false;
    *out = (uint32_t)v;
    return true;
}

static void options_list(const ks_cfg_enum *o, char *why, size_t why_len, const char *lead)
{
    size_t n = (size_t)snprintf(why, why_len, "%s", lead);
    for (const ks_cfg_enum *it = o; it && it->name && n < why_len; it++)
        n += (size_t)snprintf(why + n, why_len - n, "%s%s", it == o ? "" : ", ", it->name);
}

ks_err ks_cfg_set_scalar(ks_config *c, const ks_cfg_field *f, const char *text, char *why,
                         size_t why_len)
{
    void *m = member(c, f->offset);
    switch (f->type) {
    case KS_CFG_BOOL:
        if (strcasecmp(text, "true") == 0) {
            *(bool *)m = true;
        } else if (strcasecmp(text, "false") == 0 ||
                   (!*text && (f->flags & KS_CFG_F_EMPTY_FALSE))) {
            *(bool *)m = false;
        } else {
            snprintf(why, why_len, "expected a bool (true or false)");
            return KS_ERR_PARSE;
        }
        return KS_OK;
    case KS_CFG_INT:
        if (!parse_int(text, (int64_t *)m)) {
            snprintf(why, why_len, "expected an integer");
            return KS_ERR_PARSE;
        }
        return KS_OK;
    case KS_CFG_DURATION:
        if (!*text && (f->flags & KS_CFG_F_EMPTY_ZERO)) {
            *(int64_t *)m = 0;
            return KS_OK;
        }
        if (ks_duration_parse(text, (int64_t *)m) != KS_OK) {
            snprintf(why, why_len, "expected a duration such as 500ms, 5s, 1m or 1h30m");
            return KS_ERR_PARSE;
        }
        return KS_OK;
    case KS_CFG_STRING: {
        char *s = NULL;
        if (*text || !(f->flags & KS_CFG_F_OPTIONAL)) {
            s = ks_strdup(text);
            if (!s)
                return KS_ERR_NOMEM;
        }
        free(*(char **)m);
        *(char **)m = s;
        return KS_OK;
    }
    case KS_CFG_ENUM:
        for (const ks_cfg_enum *o = f->options; o && o->name; o++) {
            bool eq = (f->flags & KS_CFG_F_ICASE) ? strcasecmp(o->name, text) == 0
                                                  : strcmp(o->name, text) == 0;
            if (eq) {
                *(int *)m = o->value;
                return KS_OK;
            }
        }
        options_list(f->options, why, why_len, "must be one of: ");
        return KS_ERR_INVALID;
    case KS_CFG_MODE:
        if (!parse_mode(text, (uint32_t *)m)) {
            snprintf(why, why_len,
                     "expected a file mode: an octal string such as \"0600\" or an "
                     "integer up to 4095");
            return KS_ERR_PARSE;
        }
        return KS_OK;
    case KS_CFG_OBJECT:
    case KS_CFG_STREAMS:
    case KS_CFG_PROCESSORS:
        break;
    }
    snprintf(why, why_len, "expected a %s", ks_cfg_type_name(f->type));
    return KS_ERR_INVALID;
}

ks_err ks_config_set_defaults_checked(ks_config *c)
{
    ks_err err = KS_OK;
    char why[256];
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < ks_cfg_n_fields; i++) {
        const ks_cfg_field *f = &ks_cfg_fields[i];
        if (!f->def)
            continue;
        ks_err e = ks_cfg_set_scalar(c, f, f->def, why, sizeof(why));
        if (e && !err)
            err = e;
    }
    c->output.kind = KS_OUTPUT_FIFO;
    return err;
}

void ks_config_set_defaults(ks_config *c)
{
    (void)ks_config_set_defaults_checked(c);
}

void ks_config_clean_up(ks_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < ks_cfg_n_fields; i++)
        if (ks_cfg_fields[i].type == KS_CFG_STRING)
            free(*(char **)member(c, ks_cfg_fields[i].offset));
    for (size_t i = 0; i < c->input.n_streams; i++) {
        free(c->input.streams[i].stream);
        free(c->input.streams[i].shard_id);
    }
    free(c->input.streams);
    free(c->input.batching.processors);
    free(c->path);
    memset(c, 0, sizeof(*c));
}

void ks_config_destroy(ks_config *c)
{
    ks_config_clean_up(c);
    free(c);
}
