/* Shared pieces of the libFuzzer targets (pkg/<mod>/<name>_fuzz.c), implemented in
 * fuzz_testutil.c. Like every *_testutil.c it is built into the fuzz library and the unit
 * tests (which do not use it); nothing here goes into the binary. */
#ifndef KS_CORE_FUZZ_TESTUTIL_H
#define KS_CORE_FUZZ_TESTUTIL_H

#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* The entry points libFuzzer calls (a target defines LLVMFuzzerTestOneInput, and
 * LLVMFuzzerInitialize itself or through KS_FUZZ_QUIET_INIT). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Defines LLVMFuzzerInitialize for a target that needs no set-up but silence: logging
 * off (ks_fuzz_quiet). Use once at file scope: KS_FUZZ_QUIET_INIT() */
#define KS_FUZZ_QUIET_INIT()                                                                       \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                                              \
    {                                                                                              \
        (void)argc;                                                                                \
        (void)argv;                                                                                \
        ks_fuzz_quiet();                                                                           \
        return 0;                                                                                  \
    }

/* Turns logging off (targets run millions of inputs; log lines are noise). */
void ks_fuzz_quiet(void);

/* Targets add what they read here so that the reads are not optimised away. */
extern volatile size_t ks_fuzz_sink;

/* A NUL-terminated heap copy of the first n bytes of data (the caller frees it), or NULL
 * when out of memory. A copy of its own, so reads past its end are caught by ASan. */
char *ks_fuzz_strndup(const uint8_t *data, size_t n);

/* Calls fn on each JSON value of data, read one after another (as successive answers or
 * pages), at most max_values of them; stops at the first text that does not parse. The
 * value is deleted when fn returns. Returns the number of values passed to fn. */
size_t ks_fuzz_each_json(const uint8_t *data, size_t size, size_t max_values,
                         void (*fn)(const cJSON *value, void *ud), void *ud);

#endif
