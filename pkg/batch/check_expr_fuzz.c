/* libFuzzer target: batching.check expressions -> ks_check_compile, then ks_check_eval_ex
 * on records. Input: "<expression>\0<record bytes>"; without a NUL byte the whole input
 * is the expression and it is evaluated on a few fixed records (JSON object, array,
 * string, number, plain text, empty). Corpus: e2e/fuzz/corpus/check_expr. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch/check.h"
#include "core/fuzz_testutil.h"

KS_FUZZ_QUIET_INIT()

static const char *const fixed_records[] = {
    "{\"type\":\"end_of_transaction\",\"a\":{\"b\":[1,\"x\",null,true]},\"n\":-1.5,\"s\":\"END\"}",
    "[\"a\",\"END BATCH\",{\"k\":\"v\"},3]",
    "\"json string END BATCH\"",
    "42",
    "plain text, END BATCH",
    "",
};

static void eval(const ks_check *c, const char *rec, size_t len)
{
    bool out = true;
    char err[128];
    err[0] = '\0';
    ks_err e = ks_check_eval_ex(c, rec, len, &out, err, sizeof(err));
    if (e != KS_OK && (out || !err[0]))
        abort(); /* a runtime error leaves *out false and says why */
    if (e != KS_OK && e != KS_ERR_INVALID && e != KS_ERR_NOMEM)
        abort();
    if (memchr(err, '\0', sizeof(err)) == NULL)
        abort(); /* the message is terminated within the buffer */
    bool again = !out;
    if (ks_check_eval(c, rec, len, &again) != e || again != out)
        abort(); /* evaluation is deterministic */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nul = memchr(in, '\0', size);
    size_t elen = nul ? (size_t)(nul - in) : size;
    char *expr = ks_fuzz_strndup(data, elen);
    if (!expr)
        return 0;

    ks_check *c = NULL;
    char err[160];
    err[0] = '\0';
    ks_err e = ks_check_compile(expr, &c, err, sizeof(err));
    if (e == KS_OK) {
        if (!c)
            abort();
        (void)ks_check_uses_this(c);
        if (nul) {
            /* the record in its own allocation, so reads past its end are caught */
            size_t rlen = size - elen - 1;
            char *rec = malloc(rlen ? rlen : 1);
            if (rec) {
                memcpy(rec, nul + 1, rlen);
                eval(c, rec, rlen);
                free(rec);
            }
        } else {
            for (size_t i = 0; i < sizeof(fixed_records) / sizeof(fixed_records[0]); i++)
                eval(c, fixed_records[i], strlen(fixed_records[i]));
        }
    } else if (c || (e == KS_ERR_PARSE && !err[0])) {
        abort(); /* a compile error sets no check and has a message */
    }
    ks_check_destroy(c);
    free(expr);
    return 0;
}
