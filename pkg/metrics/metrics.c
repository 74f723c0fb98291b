/* Metrics registry and Prometheus text exposition (format 0.0.4).
 *
 * Families are kept sorted by name and series sorted by label text, so the rendered
 * text does not depend on creation order. Series are allocated one by one so the
 * pointers handed out stay valid while other series come and go. */
#include "metrics/metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KS_METRICS_PREFIX "kinesis_sidecar_"

typedef enum ks_metric_type { KS_MT_COUNTER = 0, KS_MT_GAUGE, KS_MT_HISTOGRAM } ks_metric_type;

typedef struct ks_family ks_family;

struct ks_metric {
    ks_family *family;
    char *labels;      /* "" when none */
    double value;      /* counter/gauge value; histogram sum */
    uint64_t count;    /* histogram observations */
    uint64_t *buckets; /* histogram: per-bucket (non-cumulative) counts, n_buckets */
};

struct ks_family {
    char *name;
    char *help;
    ks_metric_type type;
    double *bounds; /* histogram upper bounds, ascending, +Inf implicit */
    size_t n_bounds;
    ks_metric **series; /* sorted by labels */
    size_t n_series;
    size_t cap_series;
};

struct ks_metrics {
    ks_family **families; /* sorted by name */
    size_t n_families;
    size_t cap_families;
};

ks_err ks_metrics_new(ks_metrics **out)
{
    ks_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return KS_ERR_NOMEM;
    *out = m;
    return KS_OK;
}

static void metric_free(ks_metric *s)
{
    if (!s)
        return;
    free(s->labels);
    free(s->buckets);
    free(s);
}

static void family_free(ks_family *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_series; i++)
        metric_free(f->series[i]);
    free(f->series);
    free(f->bounds);
    free(f->name);
    free(f->help);
    free(f);
}

void ks_metrics_destroy(ks_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_families; i++)
        family_free(m->families[i]);
    free(m->families);
    free(m);
}

static bool valid_name(const char *name)
{
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(p != name && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

/* Binary search over n entries sorted by key: cmp(ctx, i, key) compares entry i with key
 * (strcmp order). Returns the index of the match or the insertion point. */
static size_t sorted_find(const void *ctx, size_t n, int (*cmp)(const void *, size_t, const char *),
                          const char *key, bool *found)
{
    size_t lo = 0, hi = n;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp(ctx, mid, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int family_cmp(const void *ctx, size_t i, const char *name)
{
    return strcmp(((const ks_metrics *)ctx)->families[i]->name, name);
}

static int series_cmp(const void *ctx, size_t i, const char *labels)
{
    return strcmp(((const ks_family *)ctx)->series[i]->labels, labels);
}

static size_t family_find(const ks_metrics *m, const char *name, bool *found)
{
    return sorted_find(m, m->n_families, family_cmp, name, found);
}

static size_t series_find(const ks_family *f, const char *labels, bool *found)
{
    return sorted_find(f, f->n_series, series_cmp, labels, found);
}

/* The pointer array items (n used, *cap allocated) with room for one more: as it is, or
 * reallocated to twice the capacity (first_cap at first). NULL when out of memory (items
 * is left as it was). */
static void *room_for_one(void *items, size_t n, size_t *cap, size_t first_cap)
{
    if (items && n < *cap)
        return items;
    size_t c = *cap ? *cap * 2 : first_cap;
    void *p = realloc(items, c * sizeof(void *));
    if (p)
        *cap = c;
    return p;
}

static ks_family *family_get(ks_metrics *m, const char *name, const char *help, ks_metric_type type,
                             const double *bounds, size_t n_bounds)
{
    bool found;
    size_t at = family_find(m, name, &found);
    if (found)
        return m->families[at]->type == type ? m->families[at] : NULL;
    ks_family **families = room_for_one(m->families, m->n_families, &m->cap_families, 16);
    if (!families)
        return NULL;
    m->families = families;
    ks_family *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->type = type;
    f->name = ks_strdup(name);
    f->help = ks_strdup(help ? help : "");
    if (n_bounds) {
        f->bounds = malloc(n_bounds * sizeof(*f->bounds));
        if (f->bounds)
            memcpy(f->bounds, bounds, n_bounds * sizeof(*f->bounds));
        f->n_bounds = n_bounds;
    }
    if (!f->name || !f->help || (n_bounds && !f->bounds)) {
        family_free(f);
        return NULL;
    }
    memmove(&m->families[at + 1], &m->families[at], (m->n_families - at) * sizeof(ks_family *));
    m->families[at] = f;
    m->n_families++;
    return f;
}

static ks_metric *series_get(ks_family *f, const char *labels)
{
    if (!labels)
        labels = "";
    bool found;
    size_t at = series_find(f, labels, &found);
    if (found && f->series)
        return f->series[at];
    ks_metric **series = room_for_one(f->series, f->n_series, &f->cap_series, 4);
    if (!series)
        return NULL;
    f->series = series;
    ks_metric *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->family = f;
    s->labels = ks_strdup(labels);
    if (f->type == KS_MT_HISTOGRAM)
        s->buckets = calloc(f->n_bounds + 1, sizeof(*s->buckets));
    if (!s->labels || (f->type == KS_MT_HISTOGRAM && !s->buckets)) {
        metric_free(s);
        return NULL;
    }
    memmove(&f->series[at + 1], &f->series[at], (f->n_series - at) * sizeof(ks_metric *));
    f->series[at] = s;
    f->n_series++;
    return s;
}

static ks_metric *metric_get(ks_metrics *m, const char *name, const char *help, const char *labels,
                             ks_metric_type type, const double *bounds, size_t n_bounds)
{
    if (!m || !valid_name(name))
        return NULL;
    ks_family *f = family_get(m, name, help, type, bounds, n_bounds);
    return f ? series_get(f, labels) : NULL;
}

ks_metric *ks_metrics_counter(ks_metrics *m, const char *name, const char *help, const char *labels)
{
    return metric_get(m, name, help, labels, KS_MT_COUNTER, NULL, 0);
}

ks_metric *ks_metrics_gauge(ks_metrics *m, const char *name, const char *help, const char *labels)
{
    return metric_get(m, name, help, labels, KS_MT_GAUGE, NULL, 0);
}

ks_metric *ks_metrics_histogram(ks_metrics *m, const char *name, const char *help,
                                const char *labels, const double *buckets, size_t n_buckets)
{
    for (size_t i = 0; i < n_buckets; i++) {
        if (isnan(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1])))
            return NULL; /* bounds must be strictly ascending */
    }
    /* An explicit +Inf bound is implied anyway. */
    if (n_buckets && isinf(buckets[n_buckets - 1]) && buckets[n_buckets - 1] > 0)
        n_buckets--;
    return metric_get(m, name, help, labels, KS_MT_HISTOGRAM, buckets, n_buckets);
}

void ks_metric_add(ks_metric *c, double v)
{
    if (!c || isnan(v))
        return;
    if (c->family->type == KS_MT_GAUGE || (c->family->type == KS_MT_COUNTER && v >= 0))
        c->value += v;
}

void ks_metric_set(ks_metric *g, double v)
{
    if (g && g->family->type == KS_MT_GAUGE)
        g->value = v;
}

void ks_metric_observe(ks_metric *h, double v)
{
    if (!h || h->family->type != KS_MT_HISTOGRAM || isnan(v))
        return;
    const ks_family *f = h->family;
    size_t i = 0;
    while (i < f->n_bounds && v > f->bounds[i])
        i++;
    h->buckets[i]++; /* i == n_bounds is the +Inf bucket */
    h->count++;
    h->value += v;
}

double ks_metric_value(const ks_metric *s)
{
    if (!s)
        return 0;
    return s->family->type == KS_MT_HISTOGRAM ? (double)s->count : s->value;
}

void ks_metrics_remove(ks_metrics *m, const char *name, const char *labels)
{
    if (!m || !name)
        return;
    bool found;
    size_t fi = family_find(m, name, &found);
    if (!found)
        return;
    ks_family *f = m->families[fi];
    size_t si = series_find(f, labels ? labels : "", &found);
    if (!found)
        return;
    metric_free(f->series[si]);
    memmove(&f->series[si], &f->series[si + 1], (f->n_series - si - 1) * sizeof(ks_metric *));
    f->n_series--;
}

/* Prometheus escaping: backslash and newline always, double quote in label values
 * (quote) but not in HELP text. */
static ks_err append_escaped(ks_buf *out, const char *text, bool quote)
{
    ks_err err = KS_OK;
    for (const char *p = text; *p && !err; p++) {
        if (*p == '\\')
            err = ks_buf_append(out, "\\\\", 2);
        else if (quote && *p == '"')
            err = ks_buf_append(out, "\\\"", 2);
        else if (*p == '\n')
            err = ks_buf_append(out, "\\n", 2);
        else
            err = ks_buf_append_char(out, *p);
    }
    return err;
}

ks_err ks_metrics_escape_label(ks_buf *out, const char *value)
{
    return append_escaped(out, value ? value : "", true);
}

ks_err ks_metrics_label(ks_buf *out, const char *key, const char *value)
{
    ks_err err = KS_OK;
    if (out->len)
        err = ks_buf_append_char(out, ',');
    if (!err)
        err = ks_buf_appendf(out, "%s=\"", key);
    if (!err)
        err = ks_metrics_escape_label(out, value);
    if (!err)
        err = ks_buf_append_char(out, '"');
    return err;
}

void ks_metrics_format_value(double v, char out[32])
{
    if (isnan(v)) {
        snprintf(out, 32, "NaN");
    } else if (isinf(v)) {
        snprintf(out, 32, "%s", v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, 32, "%.0f", v);
    } else {
        /* Shortest of %.15g / %.16g / %.17g that reads back exactly. */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, 32, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
}

/* name{labels[,extra]} value\n */
static ks_err append_sample(ks_buf *out, const char *name, const char *suffix, const char *labels,
                            const char *extra, double v)
{
    char num[32];
    ks_metrics_format_value(v, num);
    ks_err err = ks_buf_appendf(out, KS_METRICS_PREFIX "%s%s", name, suffix);
    bool has = labels && *labels;
    if (!err && (has || extra))
        err = ks_buf_appendf(out, "{%s%s%s}", has ? labels : "", has && extra ? "," : "",
                             extra ? extra : "");
    if (!err)
        err = ks_buf_appendf(out, " %s\n", num);
    return err;
}

static ks_err render_histogram(const ks_family *f, const ks_metric *s, ks_buf *out)
{
    ks_err err = KS_OK;
    uint64_t cum = 0;
    for (size_t i = 0; i <= f->n_bounds && !err; i++) {
        char le[48], num[32];
        cum += s->buckets[i];
        if (i < f->n_bounds)
            ks_metrics_format_value(f->bounds[i], num);
        else
            snprintf(num, sizeof(num), "+Inf");
        snprintf(le, sizeof(le), "le=\"%s\"", num);
        err = append_sample(out, f->name, "_bucket", s->labels, le, (double)cum);
    }
    if (!err)
        err = append_sample(out, f->name, "_sum", s->labels, NULL, s->value);
    if (!err)
        err = append_sample(out, f->name, "_count", s->labels, NULL, (double)s->count);
    return err;
}

ks_err ks_metrics_render(const ks_metrics *m, ks_buf *out)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    ks_err err = KS_OK;
    if (!m)
        return KS_ERR_INVALID;
    for (size_t i = 0; i < m->n_families && !err; i++) {
        const ks_family *f = m->families[i];
        if (!f->n_series)
            continue;
        err = ks_buf_appendf(out, "# HELP " KS_METRICS_PREFIX "%s ", f->name);
        if (!err)
            err = append_escaped(out, f->help, false); /* HELP: no quote escaping */
        if (!err)
            err = ks_buf_appendf(out, "\n# TYPE " KS_METRICS_PREFIX "%s %s\n", f->name,
                                 type_names[f->type]);
        for (size_t j = 0; j < f->n_series && !err; j++) {
            const ks_metric *s = f->series[j];
            if (f->type == KS_MT_HISTOGRAM)
                err = render_histogram(f, s, out);
            else
                err = append_sample(out, f->name, "", s->labels, NULL, s->value);
        }
    }
    return err;
}
