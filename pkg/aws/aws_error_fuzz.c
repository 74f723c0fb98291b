/* libFuzzer target: AWS JSON-protocol error answers -> ks_aws_map_error.
 * The body handling lives in on_http_done (client.c, static, needs a live ks_http call),
 * so this target repeats its steps on the input: "__type" (after the last '#') or else
 * the x-amzn-errortype header up to ':' into a 256-byte buffer, "message"/"Message", and
 * the mapping, with its invariants (a non-2xx answer is never KS_OK).
 * Input: "<status> <x-amzn-errortype header>\n<body>"; anything else is all body with
 * status 400. Corpus: e2e/fuzz/corpus/aws_error. */
#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "core/fuzz_testutil.h"

KS_FUZZ_QUIET_INIT()

static const char *json_str(const cJSON *obj, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    long status = 400;
    char header[512] = "";
    const char *body = in;
    size_t body_len = size;
    const char *nl = memchr(in, '\n', size);
    if (nl && size >= 4 && in[0] >= '1' && in[0] <= '5' && in[1] >= '0' && in[1] <= '9' &&
        in[2] >= '0' && in[2] <= '9' && (in[3] == ' ' || in + 3 == nl)) {
        status = (in[0] - '0') * 100 + (in[1] - '0') * 10 + (in[2] - '0');
        size_t hlen = in + 3 == nl ? 0 : (size_t)(nl - (in + 4));
        if (hlen >= sizeof(header))
            hlen = sizeof(header) - 1;
        if (hlen)
            memcpy(header, in + 4, hlen);
        header[hlen] = '\0';
        body = nl + 1;
        body_len = size - (size_t)(body - in);
    }

    cJSON *json = body_len ? cJSON_ParseWithLength(body, body_len) : NULL;
    char type[256] = "";
    const char *t = json_str(json, "__type");
    if (t) {
        const char *hash = strrchr(t, '#');
        snprintf(type, sizeof(type), "%s", hash ? hash + 1 : t);
    } else if (header[0]) {
        snprintf(type, sizeof(type), "%.*s", (int)strcspn(header, ":"), header);
    }
    const char *error_type = type[0] ? type : NULL;
    const char *msg = json_str(json, "message");
    if (!msg)
        msg = json_str(json, "Message");
    ks_fuzz_sink += msg ? strlen(msg) : 0;

    ks_err err = ks_aws_map_error(error_type, status);
    if (err == KS_OK && (status < 200 || status >= 300 || error_type))
        abort(); /* only a 2xx without an error name maps to KS_OK */
    if (status >= 500 && err != KS_ERR_AWS_SERVER && !error_type)
        abort();
    if (!ks_err_str(err))
        abort();
    ks_fuzz_sink += (size_t)ks_err_is_retryable(err);
    /* the name as sent (with a namespace prefix) maps like the bare name (error answers) */
    if (t && error_type && (status < 200 || status >= 300) && ks_aws_map_error(t, status) != err)
        abort();
    cJSON_Delete(json);
    return 0;
}
