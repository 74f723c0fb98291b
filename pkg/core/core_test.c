#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/backoff.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/err.h"
#include "core/log.h"

static void test_duration_parse(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t ms;
    } ok[] = {{"0", 0},       {"0s", 0},         {"500ms", 500},
              {"5s", 5000},   {"1m", 60000},     {"1h30m", 5400000},
              {"1.5s", 1500}, {"-1s", -1000},    {"2h45m30s", 9930000},
              {"1500us", 1},  {"1m0.5s", 60500}, {"+3s", 3000}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t ms = -42;
        assert_int_equal(ks_duration_parse(ok[i].in, &ms), KS_OK);
        assert_int_equal(ms, ok[i].ms);
    }
    static const char *bad[] = {"", "5", "s", "5x", "1.2.3s", "-", "5 s", "1h-3m", ".s", "1hm"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms;
        assert_int_equal(ks_duration_parse(bad[i], &ms), KS_ERR_PARSE);
    }
}

static void test_duration_format_roundtrip(void **state)
{
    (void)state;
    int64_t values[] = {0, 1, 500, 1000, 1500, 60000, 5400000, 9930000, -2000};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char out[32];
        int64_t back = -1;
        ks_duration_format(values[i], out);
        assert_int_equal(ks_duration_parse(out, &back), KS_OK);
        assert_int_equal(back, values[i]);
    }
    char out[32];
    ks_duration_format(5400000, out);
    assert_string_equal(out, "1h30m");
}

static void test_buf(void **state)
{
    (void)state;
    ks_buf b;
    ks_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ks_buf_appendf(&b, "%d,", i % 10), KS_OK);
    assert_int_equal(b.len, 2000);
    assert_int_equal(b.data[b.len], '\0');
    ks_buf_reset(&b);
    assert_int_equal(ks_buf_append_json_str(&b, "a\"b\\\n\x01", 6), KS_OK);
    assert_string_equal(b.data, "\"a\\\"b\\\\\\n\\u0001\"");
    ks_buf_reset(&b);
    /* Plain runs around escapes at both ends are copied whole. */
    assert_int_equal(ks_buf_append_json_str(&b, "\tab+/=cd\"", 9), KS_OK);
    assert_string_equal(b.data, "\"\\tab+/=cd\\\"\"");
    ks_buf_reset(&b);
    assert_int_equal(ks_buf_append_json_str(&b, "", 0), KS_OK);
    assert_string_equal(b.data, "\"\"");
    char *out;
    size_t len;
    assert_int_equal(ks_buf_detach(&b, &out, &len), KS_OK);
    assert_null(b.data);
    assert_int_equal(len, strlen(out));
    free(out);
    ks_buf_clean_up(&b);
    ks_buf_clean_up(NULL);
}

static void test_backoff_bounds(void **state)
{
    (void)state;
    ks_backoff b;
    ks_backoff_init(&b, 100, 1000);
    uint64_t expect_ceiling[] = {100, 200, 400, 800, 1000, 1000, 1000};
    for (size_t i = 0; i < sizeof(expect_ceiling) / sizeof(expect_ceiling[0]); i++) {
        uint64_t d = ks_backoff_next(&b, ks_rand32());
        assert_true(d >= expect_ceiling[i] / 2);
        assert_true(d <= expect_ceiling[i]);
    }
    ks_backoff_reset(&b);
    assert_int_equal(ks_backoff_next(&b, 0), 50);
    assert_int_equal(ks_backoff_next(&b, 100), 200);
    for (int i = 0; i < 100; i++) {
        uint64_t j = ks_jitter(1000, 10, ks_rand32());
        assert_true(j >= 900 && j <= 1100);
    }
}

static void test_log_json_line(void **state)
{
    (void)state;
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    ks_log_set_stream(f);
    ks_log_set_level(KS_LOG_INFO);
    KS_DEBUG("hidden");
    ks_log_shard(KS_LOG_WARN, "s1", "shardId-0", "lost \"lease\" %d", 7);
    ks_log_set_stream(NULL);
    fclose(f);
    assert_non_null(strstr(mem, "\"level\":\"WARN\""));
    assert_non_null(strstr(mem, "\"msg\":\"lost \\\"lease\\\" 7\""));
    assert_non_null(strstr(mem, "\"stream\":\"s1\",\"shard\":\"shardId-0\"}"));
    assert_null(strstr(mem, "hidden"));
    assert_int_equal(ks_log_level_parse("warning"), KS_LOG_WARN);
    assert_int_equal(ks_log_level_parse("bogus"), -1);
    free(mem);
}

static void test_rfc3339(void **state)
{
    (void)state;
    char out[25];
    ks_format_rfc3339_ms(1795680681050, out);
    assert_string_equal(out, "2026-11-26T08:11:21.050Z");
    ks_format_rfc3339_ms(1795680681999, out); /* same second: from the cache */
    assert_string_equal(out, "2026-11-26T08:11:21.999Z");
    ks_format_rfc3339_ms(1795680682007, out); /* next second */
    assert_string_equal(out, "2026-11-26T08:11:22.007Z");
    ks_format_rfc3339_ms(-1, out); /* before the epoch */
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    ks_fake_clock fc;
    ks_fake_clock_init(&fc, 10, 20);
    ks_fake_clock_advance(&fc, 5);
    assert_int_equal(ks_clock_mono_ms(&fc.clock), 15);
    assert_int_equal(ks_clock_wall_ms(&fc.clock), 25);
    assert_string_equal(ks_err_str(KS_ERR_AWS_THROTTLED), "aws_throttled");
    assert_true(ks_err_is_retryable(KS_ERR_AWS_SERVER));
    assert_false(ks_err_is_retryable(KS_ERR_AWS_CONDITION_FAILED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_duration_format_roundtrip),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_log_json_line),
        cmocka_unit_test(test_rfc3339),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
