#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dynamo/dynamo.h"

static cJSON *parse_buf(const ks_buf *b)
{
    cJSON *j = cJSON_ParseWithLength(b->data, b->len);
    assert_non_null(j);
    return j;
}

/* Compares a parsed request with the expected JSON text (order-insensitive). */
static void assert_json_eq(const cJSON *got, const char *want_text)
{
    cJSON *want = cJSON_Parse(want_text);
    assert_non_null(want);
    if (!cJSON_Compare(got, want, 1)) {
        char *g = cJSON_PrintUnformatted(got);
        fprintf(stderr, "got:  %s\nwant: %s\n", g, want_text);
        cJSON_free(g);
        fail();
    }
    cJSON_Delete(want);
}

static void test_create_table_billing_modes(void **state)
{
    (void)state;
    ks_buf b;
    ks_buf_init(&b);
    ks_table_spec spec = {.table = "leases",
                          .hash_key = "StreamID",
                          .range_key = "ShardID",
                          .billing_mode = KS_BILLING_PAY_PER_REQUEST,
                          .read_capacity_units = 7,
                          .write_capacity_units = 9};
    assert_int_equal(ks_dynamo_encode_create_table(&spec, &b), KS_OK);
    cJSON *j = parse_buf(&b);
    assert_json_eq(j, "{\"TableName\":\"leases\",\"AttributeDefinitions\":["
                      "{\"AttributeName\":\"StreamID\",\"AttributeType\":\"S\"},"
                      "{\"AttributeName\":\"ShardID\",\"AttributeType\":\"S\"}],"
                      "\"KeySchema\":[{\"AttributeName\":\"StreamID\",\"KeyType\":\"HASH\"},"
                      "{\"AttributeName\":\"ShardID\",\"KeyType\":\"RANGE\"}],"
                      "\"BillingMode\":\"PAY_PER_REQUEST\"}");
    cJSON_Delete(j);

    ks_buf_reset(&b);
    spec.billing_mode = KS_BILLING_PROVISIONED;
    assert_int_equal(ks_dynamo_encode_create_table(&spec, &b), KS_OK);
    j = parse_buf(&b);
    assert_string_equal(cJSON_GetObjectItem(j, "BillingMode")->valuestring, "PROVISIONED");
    assert_json_eq(cJSON_GetObjectItem(j, "ProvisionedThroughput"),
                   "{\"ReadCapacityUnits\":7,\"WriteCapacityUnits\":9}");
    cJSON_Delete(j);

    ks_buf_reset(&b);
    spec.read_capacity_units = 0; /* PROVISIONED needs capacity */
    assert_int_equal(ks_dynamo_encode_create_table(&spec, &b), KS_ERR_INVALID);
    spec.billing_mode = KS_BILLING_PAY_PER_REQUEST;
    spec.table = "";
    assert_int_equal(ks_dynamo_encode_create_table(&spec, &b), KS_ERR_INVALID);
    ks_buf_clean_up(&b);
}

static void test_query_encoding(void **state)
{
    (void)state;
    ks_buf b;
    ks_buf_init(&b);
    assert_int_equal(ks_dynamo_encode_query("leases", "StreamID", "orders", NULL, 0, &b), KS_OK);
    cJSON *j = parse_buf(&b);
    assert_json_eq(j, "{\"TableName\":\"leases\",\"KeyConditionExpression\":\"#h = :h\","
                      "\"ExpressionAttributeNames\":{\"#h\":\"StreamID\"},"
                      "\"ExpressionAttributeValues\":{\":h\":{\"S\":\"orders\"}},"
                      "\"ConsistentRead\":true}");
    cJSON_Delete(j);

    /* Next page: ExclusiveStartKey is the previous LastEvaluatedKey, verbatim. */
    cJSON *lek = cJSON_Parse("{\"StreamID\":{\"S\":\"orders\"},\"ShardID\":{\"S\":\"shardId-7\"}}");
    ks_buf_reset(&b);
    assert_int_equal(ks_dynamo_encode_query("leases", "StreamID", "orders", lek, 25, &b), KS_OK);
    j = parse_buf(&b);
    assert_true(cJSON_Compare(cJSON_GetObjectItem(j, "ExclusiveStartKey"), lek, 1));
    assert_int_equal(cJSON_GetObjectItem(j, "Limit")->valueint, 25);
    cJSON_Delete(j);
    cJSON_Delete(lek);
    assert_int_equal(ks_dynamo_encode_query("leases", "StreamID", NULL, NULL, 0, &b),
                     KS_ERR_INVALID);
    ks_buf_clean_up(&b);
}

static void test_write_encoding(void **state)
{
    (void)state;
    cJSON *key = cJSON_CreateObject();
    cJSON_AddItemToObject(key, "StreamID", ks_ddb_s("orders"));
    cJSON_AddItemToObject(key, "ShardID", ks_ddb_s("shardId-000000000001"));
    cJSON *names = cJSON_CreateObject();
    cJSON_AddStringToObject(names, "#c", "LeaseCounter");
    cJSON *values = cJSON_CreateObject();
    cJSON_AddItemToObject(values, ":n", ks_ddb_n(41));
    cJSON_AddItemToObject(values, ":one", ks_ddb_n(1));
    cJSON_AddItemToObject(values, ":me", ks_ddb_s("client-a"));

    ks_dynamo_write w = {.table = "leases",
                         .key = key,
                         .update_expression = "SET #c = #c + :one",
                         .condition_expression = "ClientID = :me AND #c = :n",
                         .names = names,
                         .values = values,
                         .return_values = "ALL_NEW"};
    ks_buf b;
    ks_buf_init(&b);
    assert_int_equal(ks_dynamo_encode_write(KS_DDB_UPDATE, &w, &b), KS_OK);
    cJSON *j = parse_buf(&b);
    assert_json_eq(j, "{\"TableName\":\"leases\",\"Key\":{\"StreamID\":{\"S\":\"orders\"},"
                      "\"ShardID\":{\"S\":\"shardId-000000000001\"}},"
                      "\"UpdateExpression\":\"SET #c = #c + :one\","
                      "\"ConditionExpression\":\"ClientID = :me AND #c = :n\","
                      "\"ExpressionAttributeNames\":{\"#c\":\"LeaseCounter\"},"
                      "\"ExpressionAttributeValues\":{\":n\":{\"N\":\"41\"},\":one\":{\"N\":\"1\"},"
                      "\":me\":{\"S\":\"client-a\"}},\"ReturnValues\":\"ALL_NEW\"}");
    cJSON_Delete(j);

    /* Delete: no UpdateExpression allowed; NULL fields are omitted. */
    ks_dynamo_write del = {
        .table = "leases", .key = key, .condition_expression = "attribute_exists(ShardID)"};
    ks_buf_reset(&b);
    assert_int_equal(ks_dynamo_encode_write(KS_DDB_DELETE, &del, &b), KS_OK);
    j = parse_buf(&b);
    assert_null(cJSON_GetObjectItem(j, "ReturnValues"));
    assert_null(cJSON_GetObjectItem(j, "ExpressionAttributeNames"));
    assert_non_null(cJSON_GetObjectItem(j, "Key"));
    cJSON_Delete(j);
    assert_int_equal(ks_dynamo_encode_write(KS_DDB_DELETE, &w, &b), KS_ERR_INVALID);

    /* Put: the key is the whole item, sent as Item. */
    ks_dynamo_write put = {
        .table = "leases", .key = key, .condition_expression = "attribute_not_exists(ShardID)"};
    ks_buf_reset(&b);
    assert_int_equal(ks_dynamo_encode_write(KS_DDB_PUT, &put, &b), KS_OK);
    j = parse_buf(&b);
    assert_true(cJSON_Compare(cJSON_GetObjectItem(j, "Item"), key, 1));
    assert_null(cJSON_GetObjectItem(j, "Key"));
    cJSON_Delete(j);

    /* Update without an expression, missing key: invalid. */
    ks_dynamo_write bad = {.table = "leases", .key = key};
    assert_int_equal(ks_dynamo_encode_write(KS_DDB_UPDATE, &bad, &b), KS_ERR_INVALID);
    bad.key = NULL;
    assert_int_equal(ks_dynamo_encode_write(KS_DDB_PUT, &bad, &b), KS_ERR_INVALID);

    ks_buf_reset(&b);
    assert_int_equal(ks_dynamo_encode_get_item("leases", key, true, &b), KS_OK);
    j = parse_buf(&b);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "ConsistentRead")));
    assert_true(cJSON_Compare(cJSON_GetObjectItem(j, "Key"), key, 1));
    cJSON_Delete(j);

    ks_buf_clean_up(&b);
    cJSON_Delete(key);
    cJSON_Delete(names);
    cJSON_Delete(values);
}

static void test_table_status_and_schema(void **state)
{
    (void)state;
    cJSON *j = cJSON_Parse("{\"Table\":{\"TableName\":\"t\",\"TableStatus\":\"CREATING\","
                           "\"KeySchema\":[{\"AttributeName\":\"ShardID\",\"KeyType\":\"RANGE\"},"
                           "{\"AttributeName\":\"StreamID\",\"KeyType\":\"HASH\"}],"
                           "\"BillingModeSummary\":null}}");
    const char *status = NULL;
    assert_int_equal(ks_dynamo_decode_table_status(j, &status), KS_OK);
    assert_string_equal(status, "CREATING");
    assert_int_equal(ks_dynamo_check_key_schema(j, "StreamID", "ShardID"), KS_OK);
    assert_int_equal(ks_dynamo_check_key_schema(j, "ShardID", "StreamID"), KS_ERR_INVALID);
    cJSON_Delete(j);
    j = cJSON_Parse("{\"Table\":{\"TableStatus\":null}}");
    assert_int_equal(ks_dynamo_decode_table_status(j, &status), KS_ERR_PARSE);
    cJSON_Delete(j);
    j = cJSON_Parse("{\"Table\":{\"TableStatus\":\"ACTIVE\",\"KeySchema\":"
                    "[{\"AttributeName\":\"StreamID\",\"KeyType\":\"HASH\"}]}}");
    assert_int_equal(ks_dynamo_check_key_schema(j, "StreamID", "ShardID"), KS_ERR_INVALID);
    cJSON_Delete(j);
}

static void test_attribute_helpers(void **state)
{
    (void)state;
    const char *parents[] = {"shardId-0", "shardId-1"};
    cJSON *item = cJSON_CreateObject();
    cJSON_AddItemToObject(item, "ClientID", ks_ddb_s("client-a"));
    cJSON_AddItemToObject(item, "LeaseCounter", ks_ddb_n(-9007199254740993LL));
    cJSON_AddItemToObject(item, "ParentShardIDs", ks_ddb_ss(parents, 2));
    char *text = cJSON_PrintUnformatted(item);
    assert_string_equal(text, "{\"ClientID\":{\"S\":\"client-a\"},\"LeaseCounter\":"
                              "{\"N\":\"-9007199254740993\"},\"ParentShardIDs\":"
                              "{\"SS\":[\"shardId-0\",\"shardId-1\"]}}");
    cJSON_free(text);

    assert_string_equal(ks_ddb_get_s(item, "ClientID"), "client-a");
    assert_string_equal(ks_ddb_get_s(item, "LeaseCounter"), "-9007199254740993");
    assert_null(ks_ddb_get_s(item, "ParentShardIDs"));
    assert_null(ks_ddb_get_s(item, "Missing"));
    int64_t n = 0;
    assert_true(ks_ddb_get_n(item, "LeaseCounter", &n));
    assert_int_equal(n, -9007199254740993LL);
    assert_false(ks_ddb_get_n(item, "ClientID", &n));
    assert_false(ks_ddb_get_n(item, "Missing", &n));
    assert_int_equal(ks_ddb_get_ss_len(item, "ParentShardIDs"), 2);
    assert_string_equal(ks_ddb_get_ss_at(item, "ParentShardIDs", 1), "shardId-1");
    assert_null(ks_ddb_get_ss_at(item, "ParentShardIDs", 2));
    assert_int_equal(ks_ddb_get_ss_len(item, "Missing"), 0);
    cJSON_Delete(item);

    /* Rows written by other tools: L of S, comma-separated S, explicit null, bad numbers. */
    item = cJSON_Parse("{\"A\":{\"L\":[{\"S\":\"x\"},{\"N\":\"1\"},{\"S\":\"y\"}]},"
                       "\"B\":{\"S\":\"p,q,r\"},\"C\":null,\"D\":{\"N\":\"12abc\"},"
                       "\"E\":{\"S\":\"\"},\"F\":{\"NULL\":true}}");
    assert_int_equal(ks_ddb_get_ss_len(item, "A"), 2);
    assert_string_equal(ks_ddb_get_ss_at(item, "A", 1), "y");
    assert_int_equal(ks_ddb_get_ss_len(item, "B"), 3);
    assert_string_equal(ks_ddb_get_ss_at(item, "B", 0), "p");
    assert_string_equal(ks_ddb_get_ss_at(item, "B", 2), "r");
    assert_null(ks_ddb_get_ss_at(item, "B", 3));
    assert_null(ks_ddb_get_s(item, "C"));
    assert_int_equal(ks_ddb_get_ss_len(item, "C"), 0);
    assert_false(ks_ddb_get_n(item, "D", &n));
    assert_int_equal(ks_ddb_get_ss_len(item, "E"), 0);
    assert_null(ks_ddb_get_s(item, "F"));
    cJSON_Delete(item);
    assert_null(ks_ddb_s(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_table_billing_modes),
        cmocka_unit_test(test_query_encoding),
        cmocka_unit_test(test_write_encoding),
        cmocka_unit_test(test_table_status_and_schema),
        cmocka_unit_test(test_attribute_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
