/* libFuzzer target: DynamoDB Query responses and the lease items in them. The page
 * handling of ks_dynamo_query_all (query_done in dynamo.c) is static, so this target
 * repeats its steps on the parsed body: Items must be an array, LastEvaluatedKey is
 * re-sent through ks_dynamo_encode_query (and must come back as an object). Every item goes through
 * the AttributeValue readers (ks_ddb_get_*), the lease row decoder (pkg/lease rows.c),
 * the stored-position parser, and the GetShardIterator request built from a position.
 * Corpus: e2e/fuzz/corpus/dynamo_query. */
#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fuzz_testutil.h"
#include "dynamo/dynamo.h"
#include "kinesis/kinesis.h"
#include "lease/plan.h"
#include "lease/rows.h"

KS_FUZZ_QUIET_INIT()

static void check_position(const char *stored)
{
    ks_position pos;
    if (ks_lease_parse_position(stored, &pos) != KS_POS_OK)
        return;
    ks_iterator_request req = {.stream = "fuzz-stream",
                               .shard_id = "shardId-000000000000",
                               .type = pos.type,
                               .sequence_number = pos.sequence,
                               .timestamp_ms = pos.timestamp_ms};
    ks_buf b;
    ks_buf_init(&b);
    if (ks_kinesis_encode_get_shard_iterator(&req, &b) == KS_OK) {
        cJSON *j = cJSON_ParseWithLength(b.data, b.len);
        if (!cJSON_IsObject(j))
            abort(); /* the request we send must be JSON */
        cJSON_Delete(j);
    }
    ks_buf_clean_up(&b);
}

static void check_item(const cJSON *item)
{
    static const char *const names[] = {KS_ATTR_STREAM,  KS_ATTR_SHARD,   KS_ATTR_OWNER,
                                        KS_ATTR_COUNTER, KS_ATTR_TIMEOUT, KS_ATTR_SEQUENCE,
                                        KS_ATTR_PARENTS, KS_ATTR_HANDOFF};
    size_t sum = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *s = ks_ddb_get_s(item, names[i]);
        sum += s ? strlen(s) : 0;
        int64_t n;
        sum += ks_ddb_get_n(item, names[i], &n) ? (size_t)n : 0;
        size_t len = ks_ddb_get_ss_len(item, names[i]);
        for (size_t k = 0; k < len && k < 64; k++) {
            const char *e = ks_ddb_get_ss_at(item, names[i], k);
            if (!e)
                abort(); /* every index below the length has an element */
            sum += strlen(e);
        }
        if (ks_ddb_get_ss_at(item, names[i], len))
            abort(); /* and none at the length */
    }
    ks_lease_row row;
    if (ks_lease_row_decode(item, &row) == KS_OK) {
        if (!row.shard_id || (row.owner && !*row.owner))
            abort();
        for (size_t i = 0; i < row.n_parents; i++)
            sum += strlen(row.parents[i]);
        sum += ks_lease_row_started(&row);
        check_position(row.sequence);
        ks_lease_row_clean_up(&row);
    }
    ks_fuzz_sink += sum;
}

static void check_start_key(const cJSON *lek)
{
    ks_buf b;
    ks_buf_init(&b);
    if (ks_dynamo_encode_query("fuzz-table", KS_ATTR_STREAM, "fuzz-stream", lek, 10, &b) == KS_OK) {
        cJSON *req = cJSON_ParseWithLength(b.data, b.len);
        const cJSON *sent = cJSON_GetObjectItemCaseSensitive(req, "ExclusiveStartKey");
        /* (not cJSON_Compare: a number like 1e999 is sent as null by cJSON, harmlessly) */
        if (!cJSON_IsObject(sent) || cJSON_GetArraySize(sent) != cJSON_GetArraySize(lek))
            abort();
        cJSON_Delete(req);
    }
    ks_buf_clean_up(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *json = cJSON_ParseWithLength((const char *)data, size);
    if (!json)
        return 0;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(json, "Items");
    if (cJSON_IsArray(items)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, items)
        {
            check_item(it);
        }
    }
    const cJSON *lek = cJSON_GetObjectItemCaseSensitive(json, "LastEvaluatedKey");
    if (cJSON_IsObject(lek) && lek->child)
        check_start_key(lek);
    /* GetItem / UpdateItem answers carry one item in Item / Attributes. */
    check_item(cJSON_GetObjectItemCaseSensitive(json, "Item"));
    check_item(cJSON_GetObjectItemCaseSensitive(json, "Attributes"));
    cJSON_Delete(json);
    return 0;
}
