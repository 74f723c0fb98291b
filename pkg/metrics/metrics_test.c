#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"

static char *render(const ks_metrics *m)
{
    ks_buf b;
    ks_buf_init(&b);
    assert_int_equal(ks_metrics_render(m, &b), KS_OK);
    char *s = NULL;
    size_t n = 0;
    if (!b.data)
        return ks_strdup("");
    assert_int_equal(ks_buf_detach(&b, &s, &n), KS_OK);
    return s;
}

static void test_empty_registry(void **state)
{
    (void)state;
    ks_metrics *m = NULL;
    assert_int_equal(ks_metrics_new(&m), KS_OK);
    char *s = render(m);
    assert_string_equal(s, "");
    free(s);
    ks_metrics_destroy(m);
    ks_metrics_destroy(NULL);
}

static void test_counters_and_gauges(void **state)
{
    (void)state;
    ks_metrics *m = NULL;
    assert_int_equal(ks_metrics_new(&m), KS_OK);
    /* Created out of order on purpose: output is sorted by family, then labels. */
    ks_metric *g = ks_metrics_gauge(m, "leases_held", "Leases held by this sidecar.", NULL);
    ks_metric *b = ks_metrics_counter(m, "records_received_total", "Records read from Kinesis.",
                                      "stream=\"s\",shard=\"shardId-2\"");
    ks_metric *a = ks_metrics_counter(m, "records_received_total", "ignored later help",
                                      "stream=\"s\",shard=\"shardId-1\"");
    assert_non_null(g);
    assert_non_null(a);
    assert_non_null(b);
    ks_metric_add(a, 3);
    ks_metric_add(a, 2);
    ks_metric_add(a, -7); /* counters never go down */
    ks_metric_add(b, 0.5);
    ks_metric_set(g, 4);
    ks_metric_add(g, -1);
    ks_metric_set(a, 100); /* set is for gauges only */
    assert_true(ks_metric_value(a) == 5);
    assert_true(ks_metric_value(g) == 3);
    /* get-or-create returns the same series */
    assert_ptr_equal(
        ks_metrics_counter(m, "records_received_total", NULL, "stream=\"s\",shard=\"shardId-1\""),
        a);
    char *s = render(m);
    assert_string_equal(s, "# HELP kinesis_sidecar_leases_held Leases held by this sidecar.\n"
                           "# TYPE kinesis_sidecar_leases_held gauge\n"
                           "kinesis_sidecar_leases_held 3\n"
                           "# HELP kinesis_sidecar_records_received_total Records read from "
                           "Kinesis.\n"
                           "# TYPE kinesis_sidecar_records_received_total counter\n"
                           "kinesis_sidecar_records_received_total{stream=\"s\",shard=\"shardId-"
                           "1\"} 5\n"
                           "kinesis_sidecar_records_received_total{stream=\"s\",shard=\"shardId-"
                           "2\"} 0.5\n");
    free(s);
    ks_metrics_destroy(m);
}

static void test_type_conflict_and_bad_names(void **state)
{
    (void)state;
    ks_metrics *m = NULL;
    assert_int_equal(ks_metrics_new(&m), KS_OK);
    assert_non_null(ks_metrics_counter(m, "x_total", "x", NULL));
    assert_null(ks_metrics_gauge(m, "x_total", "x", NULL));
    assert_null(ks_metrics_counter(m, "", "x", NULL));
    assert_null(ks_metrics_counter(m, "9lives", "x", NULL));
    assert_null(ks_metrics_counter(m, "with space", "x", NULL));
    assert_null(ks_metrics_counter(NULL, "ok", "x", NULL));
    const double bad[] = {1, 0.5};
    assert_null(ks_metrics_histogram(m, "h", "h", NULL, bad, 2));
    /* NULL series are accepted by every mutator */
    ks_metric_add(NULL, 1);
    ks_metric_set(NULL, 1);
    ks_metric_observe(NULL, 1);
    assert_true(ks_metric_value(NULL) == 0);
    ks_metrics_destroy(m);
}

static void test_histogram(void **state)
{
    (void)state;
    ks_metrics *m = NULL;
    assert_int_equal(ks_metrics_new(&m), KS_OK);
    const double buckets[] = {0.005, 0.1, 1, 2.5};
    ks_metric *h =
        ks_metrics_histogram(m, "delivery_latency_seconds", "Time from read to acknowledgement.",
                             "sink=\"websocket\"", buckets, 4);
    assert_non_null(h);
    ks_metric_observe(h, 0.004);
    ks_metric_observe(h, 0.1); /* le is inclusive */
    ks_metric_observe(h, 0.75);
    ks_metric_observe(h, 30);
    ks_metric_observe(h, NAN); /* ignored */
    assert_true(ks_metric_value(h) == 4);
    char *s = render(m);
    assert_string_equal(
        s, "# HELP kinesis_sidecar_delivery_latency_seconds Time from read to acknowledgement.\n"
           "# TYPE kinesis_sidecar_delivery_latency_seconds histogram\n"
           "kinesis_sidecar_delivery_latency_seconds_bucket{sink=\"websocket\",le=\"0.005\"} 1\n"
           "kinesis_sidecar_delivery_latency_seconds_bucket{sink=\"websocket\",le=\"0.1\"} 2\n"
           "kinesis_sidecar_delivery_latency_seconds_bucket{sink=\"websocket\",le=\"1\"} 3\n"
           "kinesis_sidecar_delivery_latency_seconds_bucket{sink=\"websocket\",le=\"2.5\"} 3\n"
           "kinesis_sidecar_delivery_latency_seconds_bucket{sink=\"websocket\",le=\"+Inf\"} 4\n"
           "kinesis_sidecar_delivery_latency_seconds_sum{sink=\"websocket\"} 30.854\n"
           "kinesis_sidecar_delivery_latency_seconds_count{sink=\"websocket\"} 4\n");
    free(s);
    ks_metrics_destroy(m);
}

static void test_histogram_without_labels(void **state)
{
    (void)state;
    ks_metrics *m = NULL;
    assert_int_equal(ks_metrics_new(&m), KS_OK);
    const double buckets[] = {1, INFINITY}; /* explicit +Inf is folded into the implicit one */
    ks_metric *h = ks_metrics_histogram(m, "h", "H.", NULL, buckets, 2);
    ks_metric_observe(h, 2);
    char *s = render(m);
    assert_string_equal(s, "# HELP kinesis_sidecar_h H.\n"
                           "# TYPE kinesis_sidecar_h histogram\n"
                           "kinesis_sidecar_h_bucket{le=\"1\"} 0\n"
                           "kinesis_sidecar_h_bucket{le=\"+Inf\"} 1\n"
                           "kinesis_sidecar_h_sum 2\n"
                           "kinesis_sidecar_h_count 1\n");
    free(s);
    ks_metrics_destroy(m);
}

static void test_escaping(void **state)
{
    (void)state;
    ks_buf labels;
    ks_buf_init(&labels);
    assert_int_equal(ks_metrics_label(&labels, "stream", "a\"b\\c\nd"), KS_OK);
    assert_int_equal(ks_metrics_label(&labels, "shard", "shardId-1"), KS_OK);
    assert_string_equal(labels.data, "stream=\"a\\\"b\\\\c\\nd\",shard=\"shardId-1\"");

    ks_metrics *m = NULL;
    assert_int_equal(ks_metrics_new(&m), KS_OK);
    ks_metric *c =
        ks_metrics_counter(m, "c_total", "Help with \\ and\nnewline \"quoted\".", labels.data);
    ks_metric_add(c, 1);
    char *s = render(m);
    assert_string_equal(s,
                        "# HELP kinesis_sidecar_c_total Help with \\\\ and\\nnewline "
                        "\"quoted\".\n"
                        "# TYPE kinesis_sidecar_c_total counter\n"
                        "kinesis_sidecar_c_total{stream=\"a\\\"b\\\\c\\nd\",shard=\"shardId-1\"} "
                        "1\n");
    free(s);
    ks_metrics_destroy(m);
    ks_buf_clean_up(&labels);
}

static void test_remove(void **state)
{
    (void)state;
    ks_metrics *m = NULL;
    assert_int_equal(ks_metrics_new(&m), KS_OK);
    ks_metric_set(ks_metrics_gauge(m, "lag", "Lag.", "shard=\"a\""), 1);
    ks_metric_set(ks_metrics_gauge(m, "lag", "Lag.", "shard=\"b\""), 2);
    ks_metrics_remove(m, "lag", "shard=\"a\"");
    ks_metrics_remove(m, "lag", "shard=\"zzz\""); /* absent: no-op */
    ks_metrics_remove(m, "nope", NULL);
    char *s = render(m);
    assert_string_equal(s, "# HELP kinesis_sidecar_lag Lag.\n"
                           "# TYPE kinesis_sidecar_lag gauge\n"
                           "kinesis_sidecar_lag{shard=\"b\"} 2\n");
    free(s);
    /* A family without series renders nothing. */
    ks_metrics_remove(m, "lag", "shard=\"b\"");
    s = render(m);
    assert_string_equal(s, "");
    free(s);
    /* and can be re-created */
    assert_non_null(ks_metrics_gauge(m, "lag", "Lag.", "shard=\"a\""));
    ks_metrics_destroy(m);
}

static void test_format_value(void **state)
{
    (void)state;
    char out[32];
    ks_metrics_format_value(0, out);
    assert_string_equal(out, "0");
    ks_metrics_format_value(-12, out);
    assert_string_equal(out, "-12");
    ks_metrics_format_value(0.1, out);
    assert_string_equal(out, "0.1");
    ks_metrics_format_value(1.0 / 3.0, out);
    assert_true(strtod(out, NULL) == 1.0 / 3.0);
    ks_metrics_format_value(1e20, out);
    assert_string_equal(out, "1e+20");
    ks_metrics_format_value(NAN, out);
    assert_string_equal(out, "NaN");
    ks_metrics_format_value(INFINITY, out);
    assert_string_equal(out, "+Inf");
    ks_metrics_format_value(-INFINITY, out);
    assert_string_equal(out, "-Inf");
}

static void test_many_series_stay_valid(void **state)
{
    (void)state;
    ks_metrics *m = NULL;
    assert_int_equal(ks_metrics_new(&m), KS_OK);
    ks_metric *first = ks_metrics_counter(m, "n_total", "N.", "i=\"000\"");
    for (int i = 1; i < 200; i++) {
        char l[32];
        snprintf(l, sizeof(l), "i=\"%03d\"", i);
        ks_metric_add(ks_metrics_counter(m, "n_total", "N.", l), i);
        char fam[32];
        snprintf(fam, sizeof(fam), "f%03d", 199 - i);
        assert_non_null(ks_metrics_gauge(m, fam, "F.", NULL));
    }
    ks_metric_add(first, 7); /* pointer survived reallocations */
    assert_true(ks_metric_value(ks_metrics_counter(m, "n_total", NULL, "i=\"000\"")) == 7);
    assert_true(ks_metric_value(ks_metrics_counter(m, "n_total", NULL, "i=\"150\"")) == 150);
    char *s = render(m);
    /* families sorted: f000 first, n_total last */
    assert_true(strncmp(s, "# HELP kinesis_sidecar_f000 ", 28) == 0);
    assert_non_null(strstr(s, "kinesis_sidecar_n_total{i=\"000\"} 7\nkinesis_sidecar_n_total{i="
                              "\"001\"} 1\n"));
    free(s);
    ks_metrics_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_registry),
        cmocka_unit_test(test_counters_and_gauges),
        cmocka_unit_test(test_type_conflict_and_bad_names),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_histogram_without_labels),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_format_value),
        cmocka_unit_test(test_many_series_stay_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
