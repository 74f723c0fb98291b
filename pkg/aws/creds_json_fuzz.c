/* libFuzzer target: container-credentials / IMDS JSON answers -> ks_creds_parse_json
 * (with ks_creds_parse_iso8601 on Expiration). Corpus: e2e/fuzz/corpus/creds_json. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/creds_provider.h"
#include "core/fuzz_testutil.h"

KS_FUZZ_QUIET_INIT()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ks_aws_creds creds = {0};
    if (ks_creds_parse_json((const char *)data, size, &creds) == KS_OK) {
        if (!creds.access_key_id || !*creds.access_key_id || !creds.secret_access_key ||
            !*creds.secret_access_key)
            abort(); /* id and secret are required */
        ks_fuzz_sink += strlen(creds.access_key_id) + strlen(creds.secret_access_key) +
                        (creds.session_token ? strlen(creds.session_token) : 0);
    }
    ks_aws_creds_clean_up(&creds);

    /* The timestamp parser on the raw text as well (it takes a C string). */
    char *text = ks_fuzz_strndup(data, size < 63 ? size : 63);
    int64_t ms;
    if (text && ks_creds_parse_iso8601(text, &ms) == KS_OK)
        ks_fuzz_sink += (size_t)ms;
    free(text);
    return 0;
}
