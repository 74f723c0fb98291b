/* libFuzzer target: GetRecords response bodies -> ks_kinesis_decode_get_records.
 * The input may hold several JSON values one after another (as successive responses);
 * each is decoded with the same scratch (array reuse and growth between calls). Every
 * decoded string is read (ASan checks it points into the live tree), record data goes
 * through the sink's base64 fallback, and the next request is encoded from the answer's
 * NextShardIterator and must round-trip. Corpus: e2e/fuzz/corpus/kinesis_records. */
#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fuzz_testutil.h"
#include "kinesis/kinesis.h"
#include "kinesis/kinesis_fuzz_testutil.h"
#include "sink/base64.h"

KS_FUZZ_QUIET_INIT()

static void check_records(const ks_get_records_result *res)
{
    ks_buf b;
    ks_buf_init(&b);
    size_t sum = 0;
    for (size_t i = 0; i < res->n_records; i++) {
        const ks_record *r = &res->records[i];
        if (!r->data_b64 || !r->partition_key || !r->sequence_number)
            abort();
        if (strlen(r->data_b64) != r->data_b64_len)
            abort();
        sum += strlen(r->partition_key) + strlen(r->sequence_number);
        if (r->explicit_hash_key)
            sum += strlen(r->explicit_hash_key);
        ks_err err = KS_OK;
        ks_buf_reset(&b);
        (void)ks_base64_decode_or_raw(r->data_b64, r->data_b64_len, &b, &err);
        sum += b.len;
    }
    for (size_t i = 0; i < res->n_child_shards; i++) {
        const ks_child_shard *c = &res->child_shards[i];
        sum += strlen(c->shard_id);
        for (size_t j = 0; j < c->n_parents; j++)
            sum += strlen(c->parent_shard_ids[j]);
    }
    ks_fuzz_sink += sum;
    ks_buf_clean_up(&b);
}

static void check_answer(const cJSON *json, void *ud)
{
    ks_get_records_result res;
    if (ks_kinesis_decode_get_records(json, ud, &res) == KS_OK) {
        check_records(&res);
        if (res.next_iterator)
            ks_fuzz_check_get_records_request(res.next_iterator, 10000);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ks_get_records_scratch scratch = {0};
    ks_fuzz_each_json(data, size, 8, check_answer, &scratch);
    ks_get_records_scratch_clean_up(&scratch);
    return 0;
}
