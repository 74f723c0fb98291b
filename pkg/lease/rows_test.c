#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lease/rows.h"

static ks_lease_row decode(const char *json, ks_err want)
{
    cJSON *item = cJSON_Parse(json);
    assert_non_null(item);
    ks_lease_row r;
    assert_int_equal(ks_lease_row_decode(item, &r), want);
    cJSON_Delete(item);
    return r;
}

static void test_decode_ours(void **state)
{
    (void)state;
    ks_lease_row r =
        decode("{\"StreamID\":{\"S\":\"orders\"},\"ShardID\":{\"S\":\"shardId-1\"},"
               "\"ClientID\":{\"S\":\"me\"},\"LeaseCounter\":{\"N\":\"42\"},"
               "\"LeaseTimeout\":{\"S\":\"2026-01-01T00:00:00.000Z\"},"
               "\"SequenceNumber\":{\"S\":\"49630000000000000000000000000000000000001\"},"
               "\"ParentShardIDs\":{\"SS\":[\"shardId-0\",\"shardId-9\"]},"
               "\"HandoffTo\":{\"S\":\"peer\"},\"Unknown\":{\"BOOL\":true}}",
               KS_OK);
    assert_string_equal(r.shard_id, "shardId-1");
    assert_string_equal(r.owner, "me");
    assert_true(r.has_counter);
    assert_int_equal(r.counter, 42);
    assert_string_equal(r.sequence, "49630000000000000000000000000000000000001");
    assert_string_equal(r.handoff_to, "peer");
    assert_int_equal(r.n_parents, 2);
    assert_string_equal(r.parents[1], "shardId-9");
    ks_lease_row_clean_up(&r);
    ks_lease_row_clean_up(NULL);
}

static void test_decode_redpanda_row(void **state)
{
    (void)state;
    /* Redpanda Connect writes only these (all S). */
    ks_lease_row r = decode("{\"StreamID\":{\"S\":\"s\"},\"ShardID\":{\"S\":\"shardId-0\"},"
                            "\"ClientID\":{\"S\":\"0b5c-uuid\"},"
                            "\"LeaseTimeout\":{\"S\":\"2026-01-01T00:00:30.123456789Z\"},"
                            "\"SequenceNumber\":{\"S\":\"123\"}}",
                            KS_OK);
    assert_false(r.has_counter);
    assert_int_equal(r.counter, 0);
    assert_string_equal(r.owner, "0b5c-uuid");
    assert_string_equal(r.lease_timeout, "2026-01-01T00:00:30.123456789Z");
    assert_null(r.handoff_to);
    assert_int_equal(r.n_parents, 0);
    ks_lease_row_clean_up(&r);
    /* Released by Redpanda: keys + SequenceNumber only. */
    r = decode("{\"StreamID\":{\"S\":\"s\"},\"ShardID\":{\"S\":\"x\"},"
               "\"SequenceNumber\":{\"S\":\"7\"}}",
               KS_OK);
    assert_null(r.owner);
    ks_lease_row_clean_up(&r);
}

static void test_decode_tolerant(void **state)
{
    (void)state;
    ks_lease_row r = decode("{\"ShardID\":{\"S\":\"x\"},\"ClientID\":{\"NULL\":true},"
                            "\"LeaseCounter\":{\"N\":\"nope\"},\"SequenceNumber\":null,"
                            "\"ParentShardIDs\":{\"S\":\"a,b\"}}",
                            KS_OK);
    assert_null(r.owner);
    assert_false(r.has_counter);
    assert_null(r.sequence);
    assert_int_equal(r.n_parents, 2);
    assert_string_equal(r.parents[0], "a");
    assert_string_equal(r.parents[1], "b");
    ks_lease_row_clean_up(&r);
    r = decode("{\"ShardID\":{\"S\":\"x\"},\"ClientID\":{\"S\":\"\"},"
               "\"ParentShardIDs\":{\"L\":[{\"S\":\"p\"}]}}",
               KS_OK);
    assert_null(r.owner);
    assert_int_equal(r.n_parents, 1);
    ks_lease_row_clean_up(&r);
    decode("{\"StreamID\":{\"S\":\"s\"}}", KS_ERR_PARSE);
}

static void test_builders(void **state)
{
    (void)state;
    cJSON *k = ks_lease_item_key("arn:aws:kinesis:eu-west-1:1:stream/x", "shardId-7");
    char *s = cJSON_PrintUnformatted(k);
    assert_string_equal(s, "{\"StreamID\":{\"S\":\"arn:aws:kinesis:eu-west-1:1:stream/x\"},"
                           "\"ShardID\":{\"S\":\"shardId-7\"}}");
    free(s);
    cJSON_Delete(k);
    cJSON *n = ks_lease_av_n(9007199254740993LL);
    s = cJSON_PrintUnformatted(n);
    assert_string_equal(s, "{\"N\":\"9007199254740993\"}");
    free(s);
    cJSON_Delete(n);
    const char *ps[] = {"a", "b"};
    cJSON *ss = ks_lease_av_ss(ps, 2);
    s = cJSON_PrintUnformatted(ss);
    assert_string_equal(s, "{\"SS\":[\"a\",\"b\"]}");
    free(s);
    cJSON_Delete(ss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_ours),
        cmocka_unit_test(test_decode_redpanda_row),
        cmocka_unit_test(test_decode_tolerant),
        cmocka_unit_test(test_builders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
