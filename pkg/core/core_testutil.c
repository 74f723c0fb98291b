/* Helpers shared by the unit tests of several modules: see testutil.h. */
#include "core/testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/buf.h"

void ks_test_log_capture(ks_test_log *l, ks_log_level level)
{
    l->text = NULL;
    l->len = 0;
    l->f = open_memstream(&l->text, &l->len);
    assert_non_null(l->f);
    ks_log_set_stream(l->f);
    ks_log_set_level(level);
}

const char *ks_test_log_text(ks_test_log *l)
{
    fflush(l->f);
    return l->text ? l->text : "";
}

void ks_test_log_release(ks_test_log *l)
{
    ks_log_set_stream(NULL);
    if (l->f)
        fclose(l->f);
    free(l->text);
    l->f = NULL;
    l->text = NULL;
    l->len = 0;
}

void ks_test_write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

char *ks_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    ks_buf b;
    ks_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(ks_buf_append(&b, chunk, n), KS_OK);
    fclose(f);
    assert_int_equal(ks_buf_append(&b, "", 0), KS_OK); /* allocated and terminated */
    if (len)
        *len = b.len;
    return b.data;
}
