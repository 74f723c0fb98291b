/* libFuzzer target: STS XML answers (AssumeRole, AssumeRoleWithWebIdentity) ->
 * ks_creds_parse_sts_xml, and STS error XML -> ks_creds_sts_error.
 * Corpus: e2e/fuzz/corpus/sts_xml. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/creds_provider.h"
#include "core/buf.h"
#include "core/fuzz_testutil.h"

KS_FUZZ_QUIET_INIT()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    ks_aws_creds creds = {0};
    if (ks_creds_parse_sts_xml(body, size, &creds) == KS_OK) {
        /* STS answers always carry all four fields */
        if (!creds.access_key_id || !creds.secret_access_key || !creds.session_token)
            abort();
        ks_fuzz_sink += strlen(creds.access_key_id) + strlen(creds.secret_access_key) +
                        strlen(creds.session_token) + (size_t)(creds.expires_wall_ms != 0);
    }
    ks_aws_creds_clean_up(&creds);

    static const long statuses[] = {400, 403, 500};
    ks_buf code, msg;
    ks_buf_init(&code);
    ks_buf_init(&msg);
    ks_err err = ks_creds_sts_error(body, size, statuses[size % 3], &code, &msg);
    if (err == KS_OK || !ks_err_str(err))
        abort(); /* an error answer never maps to success */
    ks_fuzz_sink += code.len + msg.len;
    ks_buf_clean_up(&code);
    ks_buf_clean_up(&msg);
    return 0;
}
