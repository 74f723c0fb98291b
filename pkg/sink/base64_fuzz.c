/* libFuzzer target: base64 record data (as Kinesis sends it) -> ks_base64_decoded_len,
 * ks_base64_decode, ks_base64_decode_or_raw, with round-trip checks through
 * ks_base64_encode. Corpus: e2e/fuzz/corpus/base64. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fuzz_testutil.h"
#include "sink/base64.h"

KS_FUZZ_QUIET_INIT()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    ks_buf dec, enc, again;
    ks_buf_init(&dec);
    ks_buf_init(&enc);
    ks_buf_init(&again);

    size_t want = 0;
    bool valid = ks_base64_decoded_len(s, size, &want);
    ks_err err = ks_base64_decode(s, size, &dec);
    if (valid != (err == KS_OK))
        abort(); /* the length check and the decoder agree on validity */
    if (err == KS_OK) {
        if (dec.len != want)
            abort();
        /* canonical re-encoding decodes to the same bytes */
        if (ks_base64_encode(dec.data, dec.len, &enc) != KS_OK ||
            ks_base64_decode(enc.data, enc.len, &again) != KS_OK || again.len != dec.len ||
            (dec.len && memcmp(again.data, dec.data, dec.len) != 0))
            abort();
    } else if (err == KS_ERR_PARSE && dec.len != 0) {
        abort(); /* on KS_ERR_PARSE out is left as it was */
    }

    /* any bytes survive encode -> decode */
    ks_buf_reset(&enc);
    ks_buf_reset(&again);
    if (ks_base64_encode(data, size, &enc) == KS_OK) {
        if (enc.len != (size + 2) / 3 * 4 || ks_base64_decode(enc.data, enc.len, &again) != KS_OK ||
            again.len != size || (size && memcmp(again.data, data, size) != 0))
            abort();
    }

    /* the sink's fallback: decoded bytes, or the text unchanged, appended after a prefix */
    ks_buf_reset(&again);
    if (ks_buf_append_str(&again, "prefix:") == KS_OK) {
        ks_err e2 = KS_OK;
        bool raw = ks_base64_decode_or_raw(s, size, &again, &e2);
        if (e2 == KS_OK) {
            const char *body = again.data + 7;
            size_t blen = again.len - 7;
            if (raw ? (blen != size || (size && memcmp(body, s, size) != 0))
                    : (blen != dec.len || (blen && memcmp(body, dec.data, blen) != 0)))
                abort();
        }
    }
    ks_buf_clean_up(&dec);
    ks_buf_clean_up(&enc);
    ks_buf_clean_up(&again);
    return 0;
}
