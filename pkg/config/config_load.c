/* YAML (libyaml document API) -> ks_config through the field table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config/config_internal.h"
#include "core/buf.h"

_Static_assert(sizeof(((ks_cfg_lines *)0)->field) / sizeof(int) >= 100, "lines table too small");

typedef struct lctx {
    const char *file;
    ks_config_diags *diags;
    ks_config *c;
    yaml_document_t *doc;
    ks_cfg_lines lines;
    int output_kinds; /* bit 0 fifo, bit 1 websocket */
    int unsupported_output_line;
    bool syntax_error; /* nothing parsed: skip cross-field checks */
    ks_err err;        /* first fatal error (NOMEM) */
} lctx;

static int line_of(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

static void diag(lctx *x, bool warning, int line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void diag(lctx *x, bool warning, int line, const char *path, const char *fmt, ...)
{
    ks_buf msg;
    ks_buf_init(&msg);
    va_list ap;
    va_start(ap, fmt);
    ks_err err = ks_buf_vappendf(&msg, fmt, ap);
    va_end(ap);
    if (!err)
        err = ks_config_diags_add(x->diags, warning, x->file, line, path, "%s", msg.data);
    if (err && !x->err)
        x->err = err;
    ks_buf_clean_up(&msg);
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = (const char *)n->data.scalar.value;
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.';
}

/* ${VAR} and ${VAR:default}; "$${" is a literal "${"; "${!...}" (Bloblang) is untouched.
 * Returns NULL with a diagnostic when a variable is undefined and has no default. */
static char *interpolate(lctx *x, const char *in, int line, const char *path)
{
    ks_buf out;
    ks_buf_init(&out);
    ks_err err = ks_buf_append_str(&out, ""); /* never NULL data */
    const char *p = in;
    while (!err && *p) {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            err = ks_buf_append_str(&out, "${");
            p += 3;
            continue;
        }
        size_t n = 0;
        if (p[0] == '$' && p[1] == '{')
            while (name_char(p[2 + n]))
                n++;
        const char *after = p + 2 + n;
        if (n == 0 || (*after != '}' && *after != ':')) {
            err = ks_buf_append_char(&out, *p++);
            continue;
        }
        const char *def = NULL, *close = after;
        if (*after == ':') {
            def = after + 1;
            close = strchr(def, '}');
            if (!close) {
                err = ks_buf_append_char(&out, *p++);
                continue;
            }
        }
        char *name = ks_strndup(p + 2, n);
        if (!name) {
            err = KS_ERR_NOMEM;
            break;
        }
        const char *val = getenv(name);
        if (def && (!val || !*val))
            err = ks_buf_append(&out, def, (size_t)(close - def));
        else if (val)
            err = ks_buf_append_str(&out, val);
        else
            diag(x, false, line, path,
                 "environment variable %s is not set and has no default "
                 "(write ${%s:default})",
                 name, name);
        bool missing = !val && !def;
        free(name);
        if (missing) {
            ks_buf_clean_up(&out);
            return NULL;
        }
        p = close + 1;
    }
    if (err) {
        if (!x->err)
            x->err = err;
        ks_buf_clean_up(&out);
        return NULL;
    }
    char *s = NULL;
    (void)ks_buf_detach(&out, &s, NULL);
    return s;
}

/* Interpolated text of a scalar; NULL when not a scalar (diagnosed) or on failure. */
static const char *article(const char *noun)
{
    return strchr("aeiou", noun[0]) ? "an" : "a";
}

static char *scalar_text(lctx *x, const yaml_node_t *n, const ks_cfg_field *f, const char *path)
{
    if (n->type != YAML_SCALAR_NODE) {
        const char *t = ks_cfg_type_name(f->type);
        diag(x, false, line_of(n), path, "expected %s %s, got %s", article(t), t, node_kind(n));
        return NULL;
    }
    return interpolate(x, (const char *)n->data.scalar.value, line_of(n), path);
}

static void set_field(lctx *x, const ks_cfg_field *f, const yaml_node_t *n, const char *path)
{
    if (is_null(n))
        return; /* `key:` / `key: null` keeps the default */
    char *text = scalar_text(x, n, f, path);
    if (!text)
        return;
    char why[256] = "";
    ks_err err = ks_cfg_set_scalar(x->c, f, text, why, sizeof(why));
    if (err == KS_ERR_NOMEM) {
        x->err = err;
    } else if (err) {
        if (f->flags & KS_CFG_F_SECRET)
            diag(x, false, line_of(n), path, "%s, got <redacted>", why);
        else
            diag(x, false, line_of(n), path, "%s, got \"%.80s\"", why, text);
    } else if (f->line_offset) {
        *(int *)((char *)x->c + f->line_offset) = line_of(n);
    }
    free(text);
}

static void set_streams(lctx *x, const ks_cfg_field *f, const yaml_node_t *n, const char *path)
{
    if (is_null(n))
        return; /* reported as missing */
    if (n->type != YAML_SEQUENCE_NODE) {
        diag(x, false, line_of(n), path, "expected a %s, got %s", ks_cfg_type_name(f->type),
             node_kind(n));
        return;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        const yaml_node_t *item = yaml_document_get_node(x->doc, *it);
        char *text = scalar_text(x, item, f, path);
        if (!text)
            continue;
        ks_err err = ks_cfg_add_streams(x->c, text, x->diags, x->file, line_of(item));
        if (err && !x->err)
            x->err = err;
        free(text);
    }
}

static const char *const archive_formats[] = {"concatenate", "lines", "json_array", "binary"};

static void add_archive(lctx *x, const yaml_node_t *n, const char *path, int line)
{
    ks_batching_config *b = &x->c->input.batching;
    int format = -1;
    bool seen = false;
    char p[160];
    snprintf(p, sizeof(p), "%s.archive", path);
    if (n->type != YAML_MAPPING_NODE) {
        diag(x, false, line_of(n), p, "expected a mapping with format, got %s", node_kind(n));
        return;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = yaml_document_get_node(x->doc, pr->key);
        const yaml_node_t *v = yaml_document_get_node(x->doc, pr->value);
        const char *key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "?";
        snprintf(p, sizeof(p), "%s.archive.%.40s", path, key);
        if (strcmp(key, "format") != 0) {
            diag(x, false, line_of(k), p, "unknown key (archive supports only format)");
            continue;
        }
        seen = true;
        line = line_of(v);
        if (v->type != YAML_SCALAR_NODE) {
            diag(x, false, line, p, "expected a string, got %s", node_kind(v));
            continue;
        }
        char *text = interpolate(x, (const char *)v->data.scalar.value, line, p);
        if (!text)
            continue;
        for (int i = 0; i < 4; i++)
            if (strcmp(text, archive_formats[i]) == 0)
                format = i;
        if (format < 0)
            diag(x, false, line, p,
                 "must be one of: concatenate, lines, json_array, binary, got \"%.80s\"", text);
        free(text);
    }
    if (!seen) {
        snprintf(p, sizeof(p), "%s.archive.format", path);
        diag(x, false, line, p, "is required (concatenate, lines, json_array or binary)");
    }
    if (format < 0)
        return;
    ks_processor_config *v = realloc(b->processors, (b->n_processors + 1) * sizeof(*v));
    if (!v) {
        x->err = KS_ERR_NOMEM;
        return;
    }
    b->processors = v;
    v[b->n_processors++] =
        (ks_processor_config){KS_PROCESSOR_ARCHIVE, (ks_archive_format)format, line};
}

static void set_processors(lctx *x, const yaml_node_t *n, const char *path)
{
    if (n->type != YAML_SEQUENCE_NODE) {
        diag(x, false, line_of(n), path, "expected a list of processors, got %s", node_kind(n));
        return;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        const yaml_node_t *item = yaml_document_get_node(x->doc, *it);
        int kinds = 0;
        if (item->type != YAML_MAPPING_NODE) {
            diag(x, false, line_of(item), path, "expected a processor (a mapping), got %s",
                 node_kind(item));
            continue;
        }
        for (yaml_node_pair_t *pr = item->data.mapping.pairs.start;
             pr < item->data.mapping.pairs.top; pr++) {
            const yaml_node_t *k = yaml_document_get_node(x->doc, pr->key);
            const char *key =
                k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "?";
            if (strcmp(key, "label") == 0)
                continue;
            kinds++;
            if (strcmp(key, "archive") == 0)
                add_archive(x, yaml_document_get_node(x->doc, pr->value), path, line_of(k));
            else
                diag(x, false, line_of(k), path,
                     "processor \"%.60s\" is not supported (only archive with format "
                     "concatenate, lines, json_array or binary)",
                     key);
        }
        if (kinds != 1)
            diag(x, false, line_of(item), path, "a processor needs exactly one type (got %d)",
                 kinds);
    }
}

/* Redpanda Connect keys we accept but do not act on: warnings, the file still loads. */
static const char *const connect_top[] = {"buffer",
                                          "pipeline",
                                          "metrics",
                                          "tracer",
                                          "resources",
                                          "input_resources",
                                          "processor_resources",
                                          "output_resources",
                                          "cache_resources",
                                          "rate_limit_resources",
                                          "shutdown_delay",
                                          "tests",
                                          "redpanda",
                                          NULL};
static const char *const connect_http[] = {"enabled",  "root_path", "debug_endpoints", "cert_file",
                                           "key_file", "cors",      "basic_auth",      NULL};
static const char *const connect_logger[] = {
    "add_timestamp", "level_name", "timestamp_name", "message_name", "static_fields", "file", NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static void unknown_key(lctx *x, const char *parent, const char *key, const char *path, int line)
{
    if (!*parent && in_list(connect_top, key))
        diag(x, true, line, path, "Redpanda Connect section not supported by the sidecar; ignored");
    else if (strcmp(parent, "http") == 0 && in_list(connect_http, key))
        diag(x, true, line, path, "Redpanda Connect http field not supported; ignored");
    else if (strcmp(parent, "logger") == 0 && in_list(connect_logger, key))
        diag(x, true, line, path, "Redpanda Connect logger field not supported; ignored");
    else if (strcmp(parent, "input") == 0 && strcmp(key, "processors") == 0)
        diag(x, true, line, path, "input processors are not supported; ignored");
    else if (strcmp(parent, "output") == 0 &&
             (strcmp(key, "processors") == 0 || strcmp(key, "label") == 0))
        diag(x, true, line, path, "not supported on the output; ignored");
    else if (strcmp(parent, "output") == 0) {
        diag(x, true, line, path,
             "output \"%.60s\" is not supported (only fifo or websocket); ignored", key);
        if (!x->unsupported_output_line)
            x->unsupported_output_line = line;
    } else if (strcmp(parent, "input") == 0)
        diag(x, false, line, path, "unsupported input \"%.60s\" (only aws_kinesis and label)", key);
    else
        diag(x, false, line, path, "unknown key");
}

static void walk(lctx *x, const yaml_node_t *map, const char *prefix);

static void visit(lctx *x, const char *prefix, const yaml_node_t *k, const yaml_node_t *v)
{
    const char *key = (const char *)k->data.scalar.value;
    if (!*prefix && strcmp(key, "inputs") == 0) {
        /* The seed document's examples open with `inputs:`; read it as `input:`. */
        diag(x, true, line_of(k), "inputs",
             "read as \"input\" (the seed document's spelling; Redpanda Connect wants input)");
        key = "input";
    }
    ks_buf path;
    ks_buf_init(&path);
    ks_err err = ks_buf_appendf(&path, "%s%s%s", prefix, *prefix ? "." : "", key);
    if (err) {
        x->err = err;
        return;
    }
    const ks_cfg_field *f = ks_cfg_find(path.data);
    if (!f) {
        unknown_key(x, prefix, key, path.data, line_of(k));
        goto out;
    }
    x->lines.field[f - ks_cfg_fields] = line_of(k);
    switch (f->type) {
    case KS_CFG_OBJECT:
        if (strcmp(path.data, "output.fifo") == 0 || strcmp(path.data, "output.websocket") == 0) {
            int bit = path.data[7] == 'f' ? 1 : 2;
            x->output_kinds |= bit;
            x->c->output.kind = bit == 1 ? KS_OUTPUT_FIFO : KS_OUTPUT_WEBSOCKET;
            if (x->output_kinds == 3)
                diag(x, false, line_of(k), path.data,
                     "output.fifo and output.websocket are exclusive; set only one");
            x->lines.output_kind = line_of(k);
        }
        if (is_null(v))
            break;
        if (v->type != YAML_MAPPING_NODE)
            diag(x, false, line_of(v), path.data, "expected a mapping, got %s", node_kind(v));
        else
            walk(x, v, path.data);
        break;
    case KS_CFG_STREAMS:
        set_streams(x, f, v, path.data);
        break;
    case KS_CFG_PROCESSORS:
        if (!is_null(v))
            set_processors(x, v, path.data);
        break;
    default:
        set_field(x, f, v, path.data);
        break;
    }
out:
    ks_buf_clean_up(&path);
}

/* Top-level `inputs` (as the seed document writes it) is an alias of `input`. */
static const char *input_alias(const char *prefix, const char *key)
{
    return !*prefix && strcmp(key, "inputs") == 0 ? "input" : key;
}

static void walk(lctx *x, const yaml_node_t *map, const char *prefix)
{
    yaml_node_pair_t *start = map->data.mapping.pairs.start;
    for (yaml_node_pair_t *pr = start; pr < map->data.mapping.pairs.top && !x->err; pr++) {
        const yaml_node_t *k = yaml_document_get_node(x->doc, pr->key);
        const yaml_node_t *v = yaml_document_get_node(x->doc, pr->value);
        if (k->type != YAML_SCALAR_NODE) {
            diag(x, false, line_of(k), prefix, "keys must be strings, got %s", node_kind(k));
            continue;
        }
        bool dup = false;
        const char *name = (const char *)k->data.scalar.value;
        for (yaml_node_pair_t *q = start; q < pr && !dup; q++) {
            const yaml_node_t *k2 = yaml_document_get_node(x->doc, q->key);
            dup = k2->type == YAML_SCALAR_NODE &&
                  strcmp(input_alias(prefix, (const char *)k2->data.scalar.value),
                         input_alias(prefix, name)) == 0;
        }
        if (dup) {
            diag(x, false, line_of(k), prefix, "duplicate key \"%.60s\"%s", name,
                 strcmp(input_alias(prefix, name), name) != 0 ? " (inputs is read as input)" : "");
            continue;
        }
        visit(x, prefix, k, v);
    }
}

static int cmp_diag(const void *a, const void *b)
{
    const ks_config_diag *x = a, *y = b;
    return (x->line > y->line) - (x->line < y->line);
}

/* Stable sort by line of the diagnostics added from index `from` on. */
static void sort_diags(ks_config_diags *d, size_t from)
{
    for (size_t i = from + 1; i < d->len; i++) {
        ks_config_diag t = d->items[i];
        size_t j = i;
        while (j > from && cmp_diag(&d->items[j - 1], &t) > 0) {
            d->items[j] = d->items[j - 1];
            j--;
        }
        d->items[j] = t;
    }
}

static void parse(lctx *x, const char *yaml, size_t len)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        x->err = KS_ERR_NOMEM;
        return;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        const yaml_mark_t *m = parser.problem ? &parser.problem_mark : &parser.mark;
        diag(x, false, (int)m->line + 1, "", "YAML syntax error: %s%s%s",
             parser.problem ? parser.problem : "cannot parse", parser.context ? " " : "",
             parser.context ? parser.context : "");
        x->syntax_error = true;
        yaml_parser_delete(&parser);
        return;
    }
    x->doc = &doc;
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && !is_null(root)) {
        if (root->type != YAML_MAPPING_NODE)
            diag(x, false, line_of(root), "", "expected a mapping at the top level, got %s",
                 node_kind(root));
        else
            walk(x, root, "");
    }
    x->doc = NULL;
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
}

ks_err ks_config_load_string(const char *name, const char *yaml, size_t len, ks_config **out,
                             ks_config_diags *diags)
{
    ks_err err = KS_OK;
    size_t first = diags->len;
    lctx x = {0};
    x.file = name ? name : "<config>";
    x.diags = diags;
    x.c = calloc(1, sizeof(*x.c));
    if (!x.c)
        return KS_ERR_NOMEM;
    err = ks_config_set_defaults_checked(x.c);
    if (!err)
        err = (x.c->path = ks_strdup(x.file)) ? KS_OK : KS_ERR_NOMEM;
    if (err)
        goto fail;
    parse(&x, yaml, len);
    if (x.err) {
        err = x.err;
        goto fail;
    }
    if (x.syntax_error)
        goto fail_invalid;
    if (x.unsupported_output_line && !x.output_kinds)
        diag(&x, true, x.unsupported_output_line, "output",
             "no supported output configured; using the default fifo at %s", x.c->output.fifo.path);
    err = x.err ? x.err : ks_cfg_validate(x.c, &x.lines, x.file, diags);
    if (err)
        goto fail;
    sort_diags(diags, first);
    for (size_t i = first; i < diags->len; i++)
        if (!diags->items[i].warning)
            err = KS_ERR_INVALID;
    if (err)
        goto fail;
    *out = x.c;
    return KS_OK;
fail_invalid:
    err = KS_ERR_INVALID;
fail:
    ks_config_destroy(x.c);
    return err;
}

ks_err ks_config_load_file(const char *path, ks_config **out, ks_config_diags *diags)
{
    ks_err err = KS_OK;
    ks_buf b;
    ks_buf_init(&b);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        err = ks_config_diags_add(diags, false, path, 0, "", "cannot open: %s", strerror(e));
        return err ? err : (e == ENOENT ? KS_ERR_NOT_FOUND : KS_ERR_IO);
    }
    char chunk[8192];
    size_t n;
    while (!err && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        err = ks_buf_append(&b, chunk, n);
        if (!err && b.len > (4u << 20)) {
            err = ks_config_diags_add(diags, false, path, 0, "", "file larger than 4 MiB");
            if (!err)
                err = KS_ERR_INVALID;
        }
    }
    if (!err && ferror(f)) {
        err = ks_config_diags_add(diags, false, path, 0, "", "read error");
        if (!err)
            err = KS_ERR_IO;
    }
    fclose(f);
    if (!err)
        err = ks_config_load_string(path, b.data ? b.data : "", b.len, out, diags);
    ks_buf_clean_up(&b);
    return err;
}
