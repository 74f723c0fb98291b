/* Checks the kinesis fuzz targets share: see kinesis_fuzz_testutil.h. */
#include "kinesis/kinesis_fuzz_testutil.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "kinesis/kinesis.h"

void ks_fuzz_check_get_records_request(const char *iterator, int limit)
{
    ks_buf b;
    ks_buf_init(&b);
    if (ks_kinesis_encode_get_records(iterator, limit, &b) == KS_OK) {
        cJSON *req = cJSON_ParseWithLength(b.data, b.len);
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(req, "ShardIterator");
        if (!cJSON_IsString(it) || strcmp(it->valuestring, iterator) != 0)
            abort();
        cJSON_Delete(req);
    }
    ks_buf_clean_up(&b);
}
