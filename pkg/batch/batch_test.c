/* Batching policy and archive processors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batch/archive.h"
#include "batch/policy.h"
#include "core/log.h"
#include "sink/base64.h"

static void add(ks_batch *b, const char *plain, const char *seq)
{
    ks_buf e;
    ks_buf_init(&e);
    assert_int_equal(ks_base64_encode(plain, strlen(plain), &e), KS_OK);
    assert_int_equal(ks_batch_add(b, e.data ? e.data : "", e.len, "pk", seq, 1000), KS_OK);
    ks_buf_clean_up(&e);
}

static ks_batch *batch_of(const char *const *recs, size_t n)
{
    ks_batch *b = NULL;
    assert_int_equal(ks_batch_new("s", "shardId-1", &b), KS_OK);
    for (size_t i = 0; i < n; i++) {
        char seq[16];
        snprintf(seq, sizeof(seq), "%zu", 100 + i);
        add(b, recs[i], seq);
    }
    return b;
}

static void decoded(const ks_out_record *r, ks_buf *out)
{
    ks_buf_reset(out);
    assert_int_equal(ks_base64_decode(r->data_b64, r->data_b64_len, out), KS_OK);
}

static void test_archive_formats(void **state)
{
    (void)state;
    static const char *const recs[] = {"{\"a\":1}", " [2] \n", "\"x\""};
    static const struct {
        ks_archive_format f;
        const char *want;
        size_t len;
    } cases[] = {
        {KS_ARCHIVE_CONCATENATE, "{\"a\":1} [2] \n\"x\"", 16},
        {KS_ARCHIVE_LINES, "{\"a\":1}\n [2] \n\n\"x\"", 18},
        {KS_ARCHIVE_JSON_ARRAY, "[{\"a\":1},[2],\"x\"]", 17},
        {KS_ARCHIVE_BINARY,
         "\0\0\0\3"
         "\0\0\0\7{\"a\":1}"
         "\0\0\0\6 [2] \n"
         "\0\0\0\3\"x\"",
         4 + 4 + 7 + 4 + 6 + 4 + 3},
    };
    ks_buf out;
    ks_buf_init(&out);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ks_batch *b = batch_of(recs, 3);
        ks_processor_config proc = {.kind = KS_PROCESSOR_ARCHIVE, .archive_format = cases[i].f};
        assert_int_equal(ks_archive_apply(&proc, 1, b), KS_OK);
        assert_int_equal(b->n_records, 1);
        assert_string_equal(ks_batch_last_sequence(b), "102"); /* checkpoint unchanged */
        assert_string_equal(b->records[0].partition_key, "pk");
        decoded(&b->records[0], &out);
        if (out.len != cases[i].len || memcmp(out.data, cases[i].want, out.len) != 0)
            fail_msg("format %s: got %zu bytes '%.*s'", ks_archive_format_name(cases[i].f), out.len,
                     (int)out.len, out.data);
        assert_int_equal(b->data_bytes, cases[i].len);
        assert_int_equal(b->records[0].data_len, cases[i].len);
        ks_batch_destroy(b);
    }
    ks_buf_clean_up(&out);
}

static void test_archive_json_array_rejects_non_json(void **state)
{
    (void)state;
    static const char *const recs[] = {"{\"a\":1}", "not json"};
    ks_batch *b = batch_of(recs, 2);
    ks_processor_config proc = {.kind = KS_PROCESSOR_ARCHIVE,
                                .archive_format = KS_ARCHIVE_JSON_ARRAY};
    char err[256];
    assert_int_equal(ks_archive_apply_ex(&proc, 1, b, err, sizeof(err)), KS_ERR_PARSE);
    assert_non_null(strstr(err, "record 1 (sequence 101) is not JSON"));
    assert_int_equal(b->n_records, 2); /* unchanged */
    ks_batch_destroy(b);
}

static void test_archive_chain_and_empty(void **state)
{
    (void)state;
    static const char *const recs[] = {"a", "b"};
    ks_batch *b = batch_of(recs, 2);
    ks_processor_config procs[] = {
        {.kind = KS_PROCESSOR_ARCHIVE, .archive_format = KS_ARCHIVE_LINES},
        {.kind = KS_PROCESSOR_ARCHIVE, .archive_format = KS_ARCHIVE_BINARY},
    };
    assert_int_equal(ks_archive_apply(procs, 2, b), KS_OK);
    ks_buf out;
    ks_buf_init(&out);
    decoded(&b->records[0], &out);
    assert_int_equal(out.len, 4 + 4 + 3);
    assert_memory_equal(out.data, "\0\0\0\1\0\0\0\3a\nb", 11);
    ks_buf_clean_up(&out);
    ks_batch_destroy(b);
    ks_batch *e = NULL;
    assert_int_equal(ks_batch_new("s", "x", &e), KS_OK);
    assert_int_equal(ks_archive_apply(procs, 2, e), KS_OK);
    assert_int_equal(e->n_records, 0);
    ks_batch_destroy(e);
}

static ks_batch_policy *policy(ks_batching_config *cfg)
{
    ks_batch_policy *p = NULL;
    char err[256];
    if (ks_batch_policy_new(cfg, &p, err, sizeof(err)) != KS_OK)
        fail_msg("policy: %s", err);
    return p;
}

static void test_policy_count_and_bytes(void **state)
{
    (void)state;
    ks_batching_config cfg = {.count = 3};
    ks_batch_policy *p = policy(&cfg);
    assert_true(ks_batch_policy_enabled(p));
    ks_batch *b = NULL;
    assert_int_equal(ks_batch_new("s", "x", &b), KS_OK);
    bool flushed[4];
    for (int i = 0; i < 4; i++) {
        add(b, "abcd", "1");
        flushed[i] = ks_batch_policy_should_flush(p, b, &b->records[b->n_records - 1]);
    }
    assert_false(flushed[0]);
    assert_false(flushed[1]);
    assert_true(flushed[2]);
    ks_batch_policy_destroy(p);
    ks_batch_destroy(b);

    ks_batching_config cfg2 = {.byte_size = 10, .period_ms = 1000};
    p = policy(&cfg2);
    assert_int_equal(ks_batch_policy_period_ms(p), 1000);
    assert_int_equal(ks_batch_new("s", "x", &b), KS_OK);
    add(b, "abcd", "1");
    assert_false(ks_batch_policy_should_flush(p, b, &b->records[0]));
    add(b, "efgh", "2");
    assert_false(ks_batch_policy_should_flush(p, b, &b->records[1]));
    add(b, "ij", "3"); /* 10 decoded bytes */
    assert_true(ks_batch_policy_should_flush(p, b, &b->records[2]));
    ks_batch_policy_destroy(p);
    ks_batch_destroy(b);
}

static void test_policy_check(void **state)
{
    (void)state;
    ks_log_set_level(KS_LOG_OFF);
    char check[] = "this.type == \"end_of_transaction\"";
    ks_batching_config cfg = {.check = check, .period_ms = 60000};
    ks_batch_policy *p = policy(&cfg);
    ks_batch *b = NULL;
    assert_int_equal(ks_batch_new("s", "x", &b), KS_OK);
    add(b, "{\"type\":\"item\"}", "1");
    assert_false(ks_batch_policy_should_flush(p, b, &b->records[0]));
    add(b, "plain text", "2");
    assert_false(ks_batch_policy_should_flush(p, b, &b->records[1]));
    add(b, "{\"type\":\"end_of_transaction\"}", "3");
    assert_true(ks_batch_policy_should_flush(p, b, &b->records[2]));
    assert_int_equal(ks_batch_policy_check_errors(p), 0);
    ks_batch_policy_destroy(p);
    ks_batch_destroy(b);

    char check2[] = "this.n > 1"; /* runtime error on a string: not a flush, counted */
    ks_batching_config cfg2 = {.check = check2};
    p = policy(&cfg2);
    assert_int_equal(ks_batch_new("s", "x", &b), KS_OK);
    add(b, "{\"n\":\"str\"}", "1");
    assert_false(ks_batch_policy_should_flush(p, b, &b->records[0]));
    assert_int_equal(ks_batch_policy_check_errors(p), 1);
    add(b, "{\"n\":2}", "2");
    assert_true(ks_batch_policy_should_flush(p, b, &b->records[1]));
    ks_batch_policy_destroy(p);
    ks_batch_destroy(b);
    ks_log_set_level(KS_LOG_INFO);
}

static void test_policy_errors_and_noop(void **state)
{
    (void)state;
    char err[256];
    ks_batch_policy *p = NULL;
    char bad[] = "this.a.uppercase() == \"X\"";
    ks_batching_config cfg = {.check = bad};
    assert_int_equal(ks_batch_policy_new(&cfg, &p, err, sizeof(err)), KS_ERR_PARSE);
    assert_non_null(strstr(err, "batching.check: unsupported method '.uppercase()'"));
    assert_null(p);

    ks_processor_config proc = {.kind = KS_PROCESSOR_ARCHIVE};
    ks_batching_config only_procs = {.processors = &proc, .n_processors = 1};
    assert_int_equal(ks_batch_policy_new(&only_procs, &p, err, sizeof(err)), KS_ERR_INVALID);
    assert_non_null(strstr(err, "at least one trigger"));

    ks_batching_config neg = {.count = -1};
    assert_int_equal(ks_batch_policy_new(&neg, &p, err, sizeof(err)), KS_ERR_INVALID);
    assert_non_null(strstr(err, "count"));

    ks_batching_config none = {0};
    p = policy(&none);
    assert_false(ks_batch_policy_enabled(p));
    ks_batch_policy_destroy(p);
    ks_batching_config one = {.count = 1};
    p = policy(&one);
    assert_false(ks_batch_policy_enabled(p)); /* as Benthos: count 1 is no batching */
    ks_batch_policy_destroy(p);
}

static void test_policy_flush_archives(void **state)
{
    (void)state;
    ks_log_set_level(KS_LOG_OFF);
    ks_processor_config proc = {.kind = KS_PROCESSOR_ARCHIVE,
                                .archive_format = KS_ARCHIVE_JSON_ARRAY};
    ks_batching_config cfg = {.count = 2, .processors = &proc, .n_processors = 1};
    ks_batch_policy *p = policy(&cfg);
    static const char *const recs[] = {"1", "2"};
    ks_batch *b = batch_of(recs, 2);
    assert_int_equal(ks_batch_policy_flush(p, b), KS_OK);
    ks_buf out;
    ks_buf_init(&out);
    decoded(&b->records[0], &out);
    assert_string_equal(out.data, "[1,2]");
    ks_batch_destroy(b);
    static const char *const bad[] = {"1", "x"};
    b = batch_of(bad, 2);
    assert_int_equal(ks_batch_policy_flush(p, b), KS_ERR_PARSE);
    assert_int_equal(b->n_records, 2); /* delivered unarchived */
    ks_batch_destroy(b);
    ks_buf_clean_up(&out);
    ks_batch_policy_destroy(p);
    ks_log_set_level(KS_LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_archive_formats),
        cmocka_unit_test(test_archive_json_array_rejects_non_json),
        cmocka_unit_test(test_archive_chain_and_empty),
        cmocka_unit_test(test_policy_count_and_bytes),
        cmocka_unit_test(test_policy_check),
        cmocka_unit_test(test_policy_errors_and_noop),
        cmocka_unit_test(test_policy_flush_archives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
