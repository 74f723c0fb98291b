/* libFuzzer target: container-credentials / IMDS JSON answers -> ks_creds_parse_json
 * (with ks_creds_parse_iso8601 on Expiration). Corpus: e2e/fuzz/corpus/creds_json. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/creds_provider.h"
#include "core/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ks_log_set_level(KS_LOG_OFF);
    return 0;
}

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ks_aws_creds creds = {0};
    if (ks_creds_parse_json((const char *)data, size, &creds) == KS_OK) {
        if (!creds.access_key_id || !*creds.access_key_id || !creds.secret_access_key ||
            !*creds.secret_access_key)
            abort(); /* id and secret are required */
        sink += strlen(creds.access_key_id) + strlen(creds.secret_access_key) +
                (creds.session_token ? strlen(creds.session_token) : 0);
    }
    ks_aws_creds_clean_up(&creds);

    /* The timestamp parser on the raw text as well (it takes a C string). */
    char buf[64];
    size_t n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;
    memcpy(buf, data, n);
    buf[n] = '\0';
    int64_t ms;
    if (ks_creds_parse_iso8601(buf, &ms) == KS_OK)
        sink += (size_t)ms;
    return 0;
}
