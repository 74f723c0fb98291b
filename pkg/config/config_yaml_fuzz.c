/* libFuzzer target: YAML config text -> ks_config_load_string (parse, defaults, validation,
 * ${VAR} interpolation) and the diagnostics printer. Corpus: e2e/fuzz/corpus/config_yaml. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config.h"
#include "core/fuzz_testutil.h"
#include "core/log.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "w");
    ks_log_set_stream(devnull); /* log formatting still runs; nothing is printed */
    ks_log_set_level(KS_LOG_TRACE);
    setenv("KS_FUZZ_STREAM", "orders", 1);
    setenv("KS_FUZZ_EMPTY", "", 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ks_config_diags diags;
    ks_config_diags_init(&diags);
    ks_config *cfg = NULL;
    ks_err err = ks_config_load_string("fuzz.yaml", (const char *)data, size, &cfg, &diags);
    if (err == KS_OK && !cfg)
        abort(); /* KS_OK must come with a config */
    if (err != KS_OK && cfg)
        abort(); /* *out is set only on KS_OK */
    if (err == KS_ERR_INVALID && ks_config_diags_errors(&diags) == 0)
        abort(); /* KS_ERR_INVALID means at least one error diagnostic */
    if (devnull)
        ks_config_diags_print(&diags, devnull);
    ks_config_destroy(cfg);
    ks_config_diags_clean_up(&diags);
    return 0;
}
