/* libFuzzer target: GetShardIterator and DescribeStreamSummary response bodies
 * (ks_kinesis_decode_shard_iterator, ks_kinesis_decode_stream_summary) and the epoch
 * timestamp decoder on every top-level member. Corpus: e2e/fuzz/corpus/kinesis_iterator. */
#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fuzz_testutil.h"
#include "kinesis/kinesis.h"
#include "kinesis/kinesis_fuzz_testutil.h"

KS_FUZZ_QUIET_INIT()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *json = cJSON_ParseWithLength((const char *)data, size);
    if (!json)
        return 0;
    const char *it = NULL;
    if (ks_kinesis_decode_shard_iterator(json, &it) == KS_OK) {
        if (!it || !*it)
            abort();
        ks_fuzz_check_get_records_request(it, 1);
    }
    ks_stream_summary sum;
    if (ks_kinesis_decode_stream_summary(json, &sum) == KS_OK) {
        size_t n = 0;
        n += sum.stream_name ? strlen(sum.stream_name) : 0;
        n += sum.stream_arn ? strlen(sum.stream_arn) : 0;
        n += sum.stream_status ? strlen(sum.stream_status) : 0;
        ks_fuzz_sink += n;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, json)
    {
        int64_t ms = -1;
        if (ks_kinesis_decode_epoch_ms(m, &ms) && ms < 0)
            abort(); /* negative times are refused */
    }
    cJSON_Delete(json);
    return 0;
}
