/* Helpers shared by the unit tests of several modules (core_testutil.c, linked into test
 * binaries only; they fail the running cmocka test where noted). */
#ifndef KS_CORE_TESTUTIL_H
#define KS_CORE_TESTUTIL_H

#include <stddef.h>
#include <stdio.h>

#include "core/log.h"

/* The log lines (ks_log) captured in memory, for assertions on what was logged. */
typedef struct ks_test_log {
    FILE *f;
    char *text;
    size_t len;
} ks_test_log;

/* Routes ks_log into l and sets the level. Fails the test when the capture cannot start. */
void ks_test_log_capture(ks_test_log *l, ks_log_level level);
/* Everything logged so far ("" when nothing); valid until the next log line or release. */
const char *ks_test_log_text(ks_test_log *l);
/* Routes ks_log back to stderr and frees the capture. */
void ks_test_log_release(ks_test_log *l);

/* Writes text to path, replacing what is there. Fails the test when it cannot. */
void ks_test_write_file(const char *path, const char *text);
/* The contents of path, NUL-terminated (free() it), with *len (may be NULL) the length
 * without the NUL; NULL when the file cannot be opened. Fails the test when out of memory. */
char *ks_test_read_file(const char *path, size_t *len);

#endif
