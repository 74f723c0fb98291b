/* libFuzzer target: DynamoDB DescribeTable/CreateTable responses
 * (ks_dynamo_decode_table_status, ks_dynamo_check_key_schema).
 * Corpus: e2e/fuzz/corpus/dynamo_table. */
#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fuzz_testutil.h"
#include "dynamo/dynamo.h"

KS_FUZZ_QUIET_INIT()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *json = cJSON_ParseWithLength((const char *)data, size);
    if (!json)
        return 0;
    const char *status = NULL;
    if (ks_dynamo_decode_table_status(json, &status) == KS_OK) {
        if (!status)
            abort();
        ks_fuzz_sink += strlen(status);
    }
    ks_err err = ks_dynamo_check_key_schema(json, "StreamID", "ShardID");
    if (err != KS_OK && err != KS_ERR_INVALID)
        abort();
    cJSON_Delete(json);
    return 0;
}
