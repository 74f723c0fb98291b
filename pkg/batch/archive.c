#include "batch/archive.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "sink/base64.h"

static ks_err append_u32be(ks_buf *out, size_t v)
{
    if (v > UINT32_MAX)
        return KS_ERR_INVALID;
    unsigned char p[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    return ks_buf_append(out, p, 4);
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Appends the trimmed JSON text in d[0..n) if it is one valid JSON document. */
static bool append_json(ks_buf *out, const char *d, size_t n, ks_err *err)
{
    while (n && is_ws(*d)) {
        d++;
        n--;
    }
    while (n && is_ws(d[n - 1]))
        n--;
    if (!n)
        return false;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(d, n, &end, false);
    bool ok = j && end == d + n;
    cJSON_Delete(j);
    if (ok)
        *err = ks_buf_append(out, d, n);
    return ok;
}

ks_err ks_archive_encode(ks_archive_format format, const ks_batch *b, ks_buf *out, char *err,
                         size_t errlen)
{
    ks_err rc = KS_OK;
    ks_buf rec;
    ks_buf_init(&rec);
    if (format == KS_ARCHIVE_BINARY)
        rc = append_u32be(out, b->n_records);
    else if (format == KS_ARCHIVE_JSON_ARRAY)
        rc = ks_buf_append_char(out, '[');
    for (size_t i = 0; i < b->n_records && !rc; i++) {
        const ks_out_record *r = &b->records[i];
        ks_buf_reset(&rec);
        ks_base64_decode_or_raw(r->data_b64, r->data_b64_len, &rec, &rc);
        if (rc)
            break;
        const char *d = rec.data ? rec.data : "";
        switch (format) {
        case KS_ARCHIVE_CONCATENATE:
            rc = ks_buf_append(out, d, rec.len);
            break;
        case KS_ARCHIVE_LINES:
            if (i > 0)
                rc = ks_buf_append_char(out, '\n');
            if (!rc)
                rc = ks_buf_append(out, d, rec.len);
            break;
        case KS_ARCHIVE_JSON_ARRAY:
            if (i > 0)
                rc = ks_buf_append_char(out, ',');
            if (!rc && !append_json(out, d, rec.len, &rc)) {
                if (err && errlen)
                    snprintf(err, errlen,
                             "archive json_array: record %zu (sequence %s) is not JSON", i,
                             r->sequence_number);
                rc = KS_ERR_PARSE;
            }
            break;
        case KS_ARCHIVE_BINARY:
            rc = append_u32be(out, rec.len);
            if (!rc)
                rc = ks_buf_append(out, d, rec.len);
            break;
        default:
            rc = KS_ERR_INVALID;
            break;
        }
    }
    if (!rc && format == KS_ARCHIVE_JSON_ARRAY)
        rc = ks_buf_append_char(out, ']');
    ks_buf_clean_up(&rec);
    return rc;
}

/* Replaces b's records by one record carrying the archive bytes. */
static ks_err replace_records(ks_batch *b, const ks_buf *archive)
{
    ks_buf b64;
    ks_buf_init(&b64);
    ks_err rc = ks_base64_encode(archive->data ? archive->data : "", archive->len, &b64);
    const ks_out_record *last = &b->records[b->n_records - 1];
    ks_out_record nr;
    if (!rc)
        rc = ks_out_record_set(&nr, b64.data ? b64.data : "", b64.len, last->partition_key,
                               last->sequence_number, last->arrival_ms);
    ks_buf_clean_up(&b64);
    if (rc)
        return rc;
    nr.data_len = archive->len;
    for (size_t i = 0; i < b->n_records; i++)
        ks_out_record_clean_up(&b->records[i]);
    b->records[0] = nr;
    b->n_records = 1;
    b->data_bytes = nr.data_len;
    return KS_OK;
}

ks_err ks_archive_apply_ex(const ks_processor_config *procs, size_t n, ks_batch *b, char *err,
                           size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    ks_err rc = KS_OK;
    ks_buf out;
    ks_buf_init(&out);
    for (size_t i = 0; i < n && !rc && b->n_records > 0; i++) {
        if (procs[i].kind != KS_PROCESSOR_ARCHIVE) {
            rc = KS_ERR_INVALID;
            break;
        }
        ks_buf_reset(&out);
        rc = ks_archive_encode(procs[i].archive_format, b, &out, err, errlen);
        if (!rc)
            rc = replace_records(b, &out);
    }
    if (rc && err && errlen && !err[0])
        snprintf(err, errlen, "archive failed: %s", ks_err_str(rc));
    ks_buf_clean_up(&out);
    return rc;
}

ks_err ks_archive_apply(const ks_processor_config *procs, size_t n, ks_batch *b)
{
    return ks_archive_apply_ex(procs, n, b, NULL, 0);
}
