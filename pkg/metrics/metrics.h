/* Counters, gauges and histograms kept in one registry, rendered as Prometheus text.
 * Every name is prefixed "kinesis_sidecar_" at render time. Series are created on
 * first use and the returned pointers stay valid until the registry is destroyed
 * (or the series is removed). Labels are given as pre-formatted label text, e.g.
 * "stream=\"orders\",shard=\"shardId-000000000001\"" (values escaped with
 * ks_metrics_escape_label) or NULL for none. */
#ifndef KS_METRICS_METRICS_H
#define KS_METRICS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

typedef struct ks_metrics ks_metrics;
typedef struct ks_metric ks_metric; /* one series */

ks_err ks_metrics_new(ks_metrics **out);
void ks_metrics_destroy(ks_metrics *m); /* accepts NULL */

/* Get-or-create a series. help is used once per family. NULL on allocation failure;
 * the add/set/observe functions accept NULL and do nothing. Also NULL when the name is not a
 * valid metric name or is already registered with another type. A histogram family keeps
 * the buckets of its first series; +Inf is implicit. Rendering orders families by name and
 * series by label text, so output is stable whatever the creation order. */
ks_metric *ks_metrics_counter(ks_metrics *m, const char *name, const char *help,
                              const char *labels);
ks_metric *ks_metrics_gauge(ks_metrics *m, const char *name, const char *help, const char *labels);
/* Buckets are upper bounds in ascending order (seconds for latency). */
ks_metric *ks_metrics_histogram(ks_metrics *m, const char *name, const char *help,
                                const char *labels, const double *buckets, size_t n_buckets);

void ks_metric_add(ks_metric *c, double v);     /* counters (v >= 0) and gauges */
void ks_metric_set(ks_metric *g, double v);     /* gauges */
void ks_metric_observe(ks_metric *h, double v); /* histograms */
double ks_metric_value(const ks_metric *s);     /* counter/gauge value; histogram count */

/* Removes one series (e.g. per-shard gauges when a lease is lost). */
void ks_metrics_remove(ks_metrics *m, const char *name, const char *labels);

/* Prometheus text exposition format 0.0.4. */
ks_err ks_metrics_render(const ks_metrics *m, ks_buf *out);

/* Appends a label value escaped per the exposition format (\\, \", \n). */
ks_err ks_metrics_escape_label(ks_buf *out, const char *value);

/* Appends key="escaped value" to a label text being built in out, with a leading comma
 * when out is not empty. E.g. two calls give: stream="orders",shard="shardId-1". */
ks_err ks_metrics_label(ks_buf *out, const char *key, const char *value);

/* Formats a sample value as the exposition format writes it: integers without a
 * fraction, others in the shortest form that reads back exactly, NaN, +Inf, -Inf. */
void ks_metrics_format_value(double v, char out[32]);

/* Content-Type of ks_metrics_render() output. */
#define KS_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
