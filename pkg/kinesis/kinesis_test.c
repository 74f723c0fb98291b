#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kinesis/kinesis.h"

/* Parses an encoded request body; the test owns the result. */
static cJSON *parse_buf(const ks_buf *b)
{
    cJSON *j = cJSON_ParseWithLength(b->data, b->len);
    assert_non_null(j);
    return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_stream_name_or_arn(void **state)
{
    (void)state;
    ks_buf b;
    ks_buf_init(&b);
    assert_int_equal(ks_kinesis_encode_describe_stream_summary("orders", &b), KS_OK);
    assert_string_equal(b.data, "{\"StreamName\":\"orders\"}");
    ks_buf_reset(&b);
    const char *arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/orders";
    assert_int_equal(ks_kinesis_encode_describe_stream_summary(arn, &b), KS_OK);
    cJSON *j = parse_buf(&b);
    assert_string_equal(jstr(j, "StreamARN"), arn);
    assert_null(jstr(j, "StreamName"));
    cJSON_Delete(j);
    ks_buf_reset(&b);
    assert_int_equal(ks_kinesis_encode_describe_stream_summary("", &b), KS_ERR_INVALID);
    ks_buf_clean_up(&b);
}

static void test_encode_iterator_types(void **state)
{
    (void)state;
    static const struct {
        ks_iterator_type type;
        const char *name;
        const char *seq_key;
    } cases[] = {
        {KS_ITER_TRIM_HORIZON, "TRIM_HORIZON", NULL},
        {KS_ITER_LATEST, "LATEST", NULL},
        {KS_ITER_AT_SEQUENCE_NUMBER, "AT_SEQUENCE_NUMBER", "StartingSequenceNumber"},
        {KS_ITER_AFTER_SEQUENCE_NUMBER, "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ks_buf b;
        ks_buf_init(&b);
        ks_iterator_request req = {.stream = "s\"q",
                                   .shard_id = "shardId-000000000001",
                                   .type = cases[i].type,
                                   .sequence_number =
                                       "4959000000000000000000000000000000000000001"};
        assert_int_equal(ks_kinesis_encode_get_shard_iterator(&req, &b), KS_OK);
        cJSON *j = parse_buf(&b);
        assert_string_equal(jstr(j, "StreamName"), "s\"q");
        assert_string_equal(jstr(j, "ShardId"), "shardId-000000000001");
        assert_string_equal(jstr(j, "ShardIteratorType"), cases[i].name);
        if (cases[i].seq_key)
            assert_string_equal(jstr(j, "StartingSequenceNumber"), req.sequence_number);
        else
            assert_null(cJSON_GetObjectItem(j, "StartingSequenceNumber"));
        assert_null(cJSON_GetObjectItem(j, "Timestamp"));
        cJSON_Delete(j);
        ks_buf_clean_up(&b);
    }
}

static void test_encode_at_timestamp(void **state)
{
    (void)state;
    ks_buf b;
    ks_buf_init(&b);
    ks_iterator_request req = {.stream = "s",
                               .shard_id = "shardId-0",
                               .type = KS_ITER_AT_TIMESTAMP,
                               .timestamp_ms = 1795680681050};
    assert_int_equal(ks_kinesis_encode_get_shard_iterator(&req, &b), KS_OK);
    assert_non_null(strstr(b.data, "\"Timestamp\":1795680681.050"));
    cJSON *j = parse_buf(&b);
    int64_t ms = 0;
    assert_true(ks_kinesis_decode_epoch_ms(cJSON_GetObjectItem(j, "Timestamp"), &ms));
    assert_int_equal(ms, 1795680681050);
    cJSON_Delete(j);
    ks_buf_clean_up(&b);
}

static void test_encode_invalid(void **state)
{
    (void)state;
    ks_buf b;
    ks_buf_init(&b);
    ks_iterator_request no_seq = {
        .stream = "s", .shard_id = "x", .type = KS_ITER_AFTER_SEQUENCE_NUMBER};
    assert_int_equal(ks_kinesis_encode_get_shard_iterator(&no_seq, &b), KS_ERR_INVALID);
    ks_iterator_request no_shard = {.stream = "s", .type = KS_ITER_LATEST};
    assert_int_equal(ks_kinesis_encode_get_shard_iterator(&no_shard, &b), KS_ERR_INVALID);
    ks_iterator_request bad_type = {.stream = "s", .shard_id = "x", .type = (ks_iterator_type)99};
    assert_int_equal(ks_kinesis_encode_get_shard_iterator(&bad_type, &b), KS_ERR_INVALID);
    assert_int_equal(ks_kinesis_encode_get_records(NULL, 10, &b), KS_ERR_INVALID);
    assert_int_equal(ks_kinesis_encode_get_records("it", 10001, &b), KS_ERR_INVALID);
    ks_buf_reset(&b);
    assert_int_equal(ks_kinesis_encode_get_records("AAA/b+c=", 10000, &b), KS_OK);
    assert_string_equal(b.data, "{\"ShardIterator\":\"AAA/b+c=\",\"Limit\":10000}");
    ks_buf_reset(&b);
    assert_int_equal(ks_kinesis_encode_get_records("it", 0, &b), KS_OK);
    assert_string_equal(b.data, "{\"ShardIterator\":\"it\"}");
    ks_buf_clean_up(&b);
}

static void test_epoch_ms(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        bool ok;
        int64_t ms;
    } cases[] = {
        {"1795680681.05", true, 1795680681050},
        {"1795680681", true, 1795680681000},
        {"1795680681.0999", true, 1795680681100},
        {"\"1795680681.5\"", true, 1795680681500},
        {"null", false, 0},
        {"-5", false, 0},
        {"\"abc\"", false, 0},
        {"true", false, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *j = cJSON_Parse(cases[i].json);
        assert_non_null(j);
        int64_t ms = -1;
        assert_int_equal(ks_kinesis_decode_epoch_ms(j, &ms), cases[i].ok);
        if (cases[i].ok)
            assert_int_equal(ms, cases[i].ms);
        cJSON_Delete(j);
    }
    assert_false(ks_kinesis_decode_epoch_ms(NULL, &(int64_t){0}));
}

static const char *records_page =
    "{\"Records\":["
    "{\"SequenceNumber\":\"49590338271490256608559692538361571095921575989136588898\","
    "\"ApproximateArrivalTimestamp\":1795680681.05,\"Data\":\"aGVsbG8=\","
    "\"PartitionKey\":\"pk-1\",\"EncryptionType\":null,\"SomethingNew\":{\"x\":[1,2]}},"
    "{\"SequenceNumber\":\"2\",\"ApproximateArrivalTimestamp\":null,\"Data\":\"\","
    "\"PartitionKey\":\"pk-2\",\"ExplicitHashKey\":\"123\"}],"
    "\"NextShardIterator\":\"AAAA-next\",\"MillisBehindLatest\":1500,\"ChildShards\":null}";

static void test_decode_records(void **state)
{
    (void)state;
    cJSON *j = cJSON_Parse(records_page);
    assert_non_null(j);
    ks_get_records_scratch s = {0};
    ks_get_records_result r;
    assert_int_equal(ks_kinesis_decode_get_records(j, &s, &r), KS_OK);
    assert_int_equal(r.n_records, 2);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "Records"), 0);
    /* No copy: the data points into the parsed tree. */
    assert_ptr_equal(r.records[0].data_b64, cJSON_GetObjectItem(first, "Data")->valuestring);
    assert_int_equal(r.records[0].data_b64_len, 8);
    assert_string_equal(r.records[0].partition_key, "pk-1");
    assert_string_equal(r.records[0].sequence_number,
                        "49590338271490256608559692538361571095921575989136588898");
    assert_int_equal(r.records[0].arrival_ms, 1795680681050);
    assert_null(r.records[0].explicit_hash_key);
    assert_int_equal(r.records[1].arrival_ms, 0);
    assert_int_equal(r.records[1].data_b64_len, 0);
    assert_string_equal(r.records[1].explicit_hash_key, "123");
    assert_string_equal(r.next_iterator, "AAAA-next");
    assert_int_equal(r.millis_behind_latest, 1500);
    assert_int_equal(r.n_child_shards, 0);
    assert_null(r.child_shards);
    assert_true(r.response_bytes >= 8);
    cJSON_Delete(j);
    ks_get_records_scratch_clean_up(&s);
}

static void test_decode_closed_shard_with_children(void **state)
{
    (void)state;
    /* End of a closed shard on real AWS: no NextShardIterator, ChildShards present. */
    const char *page = "{\"Records\":[],\"MillisBehindLatest\":0,\"ChildShards\":["
                       "{\"ShardId\":\"shardId-000000000002\",\"ParentShards\":"
                       "[\"shardId-000000000000\"],\"HashKeyRange\":{\"StartingHashKey\":\"0\","
                       "\"EndingHashKey\":\"1\"}},"
                       "{\"ShardId\":\"shardId-000000000003\",\"ParentShards\":"
                       "[\"shardId-000000000000\",\"shardId-000000000001\"]}]}";
    cJSON *j = cJSON_Parse(page);
    ks_get_records_scratch s = {0};
    ks_get_records_result r;
    assert_int_equal(ks_kinesis_decode_get_records(j, &s, &r), KS_OK);
    assert_int_equal(r.n_records, 0);
    assert_null(r.next_iterator);
    assert_int_equal(r.millis_behind_latest, 0);
    assert_int_equal(r.n_child_shards, 2);
    assert_string_equal(r.child_shards[0].shard_id, "shardId-000000000002");
    assert_int_equal(r.child_shards[0].n_parents, 1);
    assert_string_equal(r.child_shards[0].parent_shard_ids[0], "shardId-000000000000");
    assert_int_equal(r.child_shards[1].n_parents, 2);
    assert_string_equal(r.child_shards[1].parent_shard_ids[1], "shardId-000000000001");
    cJSON_Delete(j);

    /* kinesalite at the end of a closed shard: no iterator, no children, explicit nulls. */
    j = cJSON_Parse("{\"Records\":null,\"NextShardIterator\":null,\"MillisBehindLatest\":null}");
    assert_int_equal(ks_kinesis_decode_get_records(j, &s, &r), KS_OK);
    assert_int_equal(r.n_records, 0);
    assert_null(r.next_iterator);
    assert_int_equal(r.millis_behind_latest, -1);
    assert_int_equal(r.n_child_shards, 0);
    cJSON_Delete(j);
    ks_get_records_scratch_clean_up(&s);
}

static void test_decode_records_malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "[]",
        "\"x\"",
        "{\"Records\":{}}",
        "{\"Records\":[{\"Data\":\"AA==\"}]}",
        "{\"Records\":[{\"SequenceNumber\":null,\"Data\":\"AA==\"}]}",
        "{\"Records\":[],\"ChildShards\":[{\"ParentShards\":[]}]}",
    };
    ks_get_records_scratch s = {0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *j = cJSON_Parse(bad[i]);
        assert_non_null(j);
        ks_get_records_result r;
        assert_int_equal(ks_kinesis_decode_get_records(j, &s, &r), KS_ERR_PARSE);
        cJSON_Delete(j);
    }
    ks_get_records_result r;
    assert_int_equal(ks_kinesis_decode_get_records(NULL, &s, &r), KS_ERR_PARSE);
    ks_get_records_scratch_clean_up(&s);
}

static void test_decode_records_scratch_grows(void **state)
{
    (void)state;
    ks_get_records_scratch s = {0};
    for (int n = 1; n <= 2000; n *= 7) {
        cJSON *root = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(root, "Records");
        for (int i = 0; i < n; i++) {
            cJSON *r = cJSON_CreateObject();
            char seq[32];
            snprintf(seq, sizeof(seq), "%d", i);
            cJSON_AddStringToObject(r, "SequenceNumber", seq);
            cJSON_AddStringToObject(r, "Data", "QUJD");
            cJSON_AddStringToObject(r, "PartitionKey", "k");
            cJSON_AddNumberToObject(r, "ApproximateArrivalTimestamp", 1700000000.123);
            cJSON_AddItemToArray(arr, r);
        }
        ks_get_records_result res;
        assert_int_equal(ks_kinesis_decode_get_records(root, &s, &res), KS_OK);
        assert_int_equal(res.n_records, (size_t)n);
        char last[32];
        snprintf(last, sizeof(last), "%d", n - 1);
        assert_string_equal(res.records[n - 1].sequence_number, last);
        assert_int_equal(res.records[n - 1].arrival_ms, 1700000000123);
        assert_true(s.records_cap >= (size_t)n);
        cJSON_Delete(root);
    }
    ks_get_records_scratch_clean_up(&s);
    assert_null(s.records);
}

static void test_decode_iterator_and_summary(void **state)
{
    (void)state;
    cJSON *j = cJSON_Parse("{\"ShardIterator\":\"AAAAiter\",\"Extra\":1}");
    const char *it = NULL;
    assert_int_equal(ks_kinesis_decode_shard_iterator(j, &it), KS_OK);
    assert_string_equal(it, "AAAAiter");
    cJSON_Delete(j);
    j = cJSON_Parse("{\"ShardIterator\":null}");
    assert_int_equal(ks_kinesis_decode_shard_iterator(j, &it), KS_ERR_PARSE);
    cJSON_Delete(j);

    j = cJSON_Parse("{\"StreamDescriptionSummary\":{\"StreamName\":\"orders\","
                    "\"StreamARN\":\"arn:aws:kinesis:us-east-1:0:stream/orders\","
                    "\"StreamStatus\":\"ACTIVE\",\"OpenShardCount\":4,"
                    "\"StreamCreationTimestamp\":1795680681.5,\"ConsumerCount\":null}}");
    ks_stream_summary s;
    assert_int_equal(ks_kinesis_decode_stream_summary(j, &s), KS_OK);
    assert_string_equal(s.stream_name, "orders");
    assert_string_equal(s.stream_arn, "arn:aws:kinesis:us-east-1:0:stream/orders");
    assert_string_equal(s.stream_status, "ACTIVE");
    assert_int_equal(s.open_shard_count, 4);
    cJSON_Delete(j);
    j = cJSON_Parse("{\"StreamDescriptionSummary\":null}");
    assert_int_equal(ks_kinesis_decode_stream_summary(j, &s), KS_ERR_PARSE);
    cJSON_Delete(j);
}

static void test_list_shards_pagination(void **state)
{
    (void)state;
    ks_list_shards_state st;
    assert_int_equal(ks_list_shards_state_init(&st, "orders", 2), KS_OK);
    ks_buf b;
    ks_buf_init(&b);

    /* First page names the stream. */
    assert_int_equal(ks_list_shards_encode(&st, &b), KS_OK);
    cJSON *req = parse_buf(&b);
    assert_string_equal(jstr(req, "StreamName"), "orders");
    assert_int_equal(cJSON_GetObjectItem(req, "MaxResults")->valueint, 2);
    assert_null(cJSON_GetObjectItem(req, "NextToken"));
    cJSON_Delete(req);

    cJSON *p1 = cJSON_Parse(
        "{\"Shards\":[{\"ShardId\":\"shardId-000000000000\",\"HashKeyRange\":"
        "{\"StartingHashKey\":\"0\",\"EndingHashKey\":\"170141183460469231731687303715884105727\"},"
        "\"SequenceNumberRange\":{\"StartingSequenceNumber\":\"100\","
        "\"EndingSequenceNumber\":\"200\"}},"
        "{\"ShardId\":\"shardId-000000000001\",\"ParentShardId\":null}],"
        "\"NextToken\":\"tok-1\"}");
    assert_int_equal(ks_list_shards_consume(&st, p1), KS_OK);
    cJSON_Delete(p1); /* the state keeps copies */
    assert_false(st.done);
    assert_int_equal(st.n_shards, 2);

    /* Later pages carry only NextToken + MaxResults. */
    ks_buf_reset(&b);
    assert_int_equal(ks_list_shards_encode(&st, &b), KS_OK);
    req = parse_buf(&b);
    assert_string_equal(jstr(req, "NextToken"), "tok-1");
    assert_int_equal(cJSON_GetObjectItem(req, "MaxResults")->valueint, 2);
    assert_int_equal(cJSON_GetArraySize(req), 2);
    cJSON_Delete(req);

    cJSON *p2 = cJSON_Parse("{\"Shards\":[{\"ShardId\":\"shardId-000000000002\","
                            "\"ParentShardId\":\"shardId-000000000000\","
                            "\"AdjacentParentShardId\":\"shardId-000000000001\"}],"
                            "\"NextToken\":null}");
    assert_int_equal(ks_list_shards_consume(&st, p2), KS_OK);
    cJSON_Delete(p2);
    assert_true(st.done);
    assert_int_equal(st.pages, 2);
    assert_int_equal(st.n_shards, 3);
    assert_string_equal(st.shards[0].shard_id, "shardId-000000000000");
    assert_string_equal(st.shards[0].starting_sequence, "100");
    assert_string_equal(st.shards[0].ending_sequence, "200");
    assert_string_equal(st.shards[0].ending_hash_key, "170141183460469231731687303715884105727");
    assert_null(st.shards[1].parent_shard_id);
    assert_null(st.shards[1].ending_sequence);
    assert_string_equal(st.shards[2].parent_shard_id, "shardId-000000000000");
    assert_string_equal(st.shards[2].adjacent_parent_shard_id, "shardId-000000000001");

    /* A malformed page is an error and adds nothing. */
    cJSON *bad = cJSON_Parse("{\"Shards\":[{\"ShardId\":\"x\"},{\"ParentShardId\":\"y\"}]}");
    assert_int_equal(ks_list_shards_consume(&st, bad), KS_ERR_PARSE);
    assert_int_equal(st.n_shards, 3);
    cJSON_Delete(bad);

    ks_buf_clean_up(&b);
    ks_list_shards_state_clean_up(&st);
    ks_list_shards_state_clean_up(NULL);
}

static void test_list_shards_arn_and_defaults(void **state)
{
    (void)state;
    ks_list_shards_state st;
    const char *arn = "arn:aws:kinesis:us-east-1:123456789012:stream/orders";
    assert_int_equal(ks_list_shards_state_init(&st, arn, 0), KS_OK);
    ks_buf b;
    ks_buf_init(&b);
    assert_int_equal(ks_list_shards_encode(&st, &b), KS_OK);
    cJSON *req = parse_buf(&b);
    assert_string_equal(jstr(req, "StreamARN"), arn);
    assert_int_equal(cJSON_GetObjectItem(req, "MaxResults")->valueint, 1000);
    cJSON_Delete(req);
    /* An empty stream page without a token ends the listing. */
    cJSON *p = cJSON_Parse("{\"Shards\":[]}");
    assert_int_equal(ks_list_shards_consume(&st, p), KS_OK);
    assert_true(st.done);
    assert_int_equal(st.n_shards, 0);
    cJSON_Delete(p);
    ks_buf_clean_up(&b);
    ks_list_shards_state_clean_up(&st);
    assert_int_equal(ks_list_shards_state_init(&st, "", 10), KS_ERR_INVALID);
    ks_list_shards_state_clean_up(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_name_or_arn),
        cmocka_unit_test(test_encode_iterator_types),
        cmocka_unit_test(test_encode_at_timestamp),
        cmocka_unit_test(test_encode_invalid),
        cmocka_unit_test(test_epoch_ms),
        cmocka_unit_test(test_decode_records),
        cmocka_unit_test(test_decode_closed_shard_with_children),
        cmocka_unit_test(test_decode_records_malformed),
        cmocka_unit_test(test_decode_records_scratch_grows),
        cmocka_unit_test(test_decode_iterator_and_summary),
        cmocka_unit_test(test_list_shards_pagination),
        cmocka_unit_test(test_list_shards_arn_and_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
