/* libFuzzer target: ListShards pages -> ks_list_shards_consume. The input holds one or
 * more JSON values, consumed as successive pages of one listing (merge, NextToken
 * handling); after each page the next request is encoded and must round-trip the token.
 * Corpus: e2e/fuzz/corpus/kinesis_shards. */
#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fuzz_testutil.h"
#include "kinesis/kinesis.h"

KS_FUZZ_QUIET_INIT()

static void check_state(const ks_list_shards_state *st)
{
    size_t sum = 0;
    for (size_t i = 0; i < st->n_shards; i++) {
        const ks_shard *s = &st->shards[i];
        if (!s->shard_id)
            abort(); /* pages with a shard lacking ShardId are refused */
        const char *opt[] = {s->parent_shard_id, s->adjacent_parent_shard_id, s->starting_sequence,
                             s->ending_sequence, s->starting_hash_key,        s->ending_hash_key};
        sum += strlen(s->shard_id);
        for (size_t j = 0; j < sizeof(opt) / sizeof(opt[0]); j++)
            sum += opt[j] ? strlen(opt[j]) : 0;
    }
    if (st->done != (st->next_token == NULL))
        abort();
    ks_fuzz_sink += sum;
}

static void check_next_request(const ks_list_shards_state *st)
{
    ks_buf b;
    ks_buf_init(&b);
    if (ks_list_shards_encode(st, &b) == KS_OK) {
        cJSON *req = cJSON_ParseWithLength(b.data, b.len);
        if (!cJSON_IsObject(req))
            abort();
        const cJSON *tok = cJSON_GetObjectItemCaseSensitive(req, "NextToken");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(req, "StreamName");
        if (st->next_token) {
            if (!cJSON_IsString(tok) || strcmp(tok->valuestring, st->next_token) != 0 || name)
                abort(); /* AWS refuses StreamName together with NextToken */
        } else if (!cJSON_IsString(name) || tok) {
            abort();
        }
        cJSON_Delete(req);
    }
    ks_buf_clean_up(&b);
}

static void check_page(const cJSON *page, void *ud)
{
    ks_list_shards_state *st = ud;
    if (ks_list_shards_consume(st, page) == KS_OK) {
        check_state(st);
        check_next_request(st);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ks_list_shards_state st;
    if (ks_list_shards_state_init(&st, "fuzz-stream", 100) != KS_OK)
        return 0;
    ks_fuzz_each_json(data, size, 8, check_page, &st);
    ks_list_shards_state_clean_up(&st);
    return 0;
}
