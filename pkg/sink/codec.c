#include "sink/codec.h"

#include <stdint.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "sink/base64.h"

ks_err ks_codec_record_json(const ks_batch *b, const ks_out_record *r, ks_buf *out)
{
    char ts[25];
    ks_format_rfc3339_ms(r->arrival_ms, ts);
    ks_err err = ks_buf_append_str(out, "{\"data\":");
    if (!err)
        err = ks_buf_append_json_str(out, r->data_b64, r->data_b64_len);
    if (!err)
        err = ks_buf_append_str(out, ",\"partition_key\":");
    if (!err)
        err = ks_buf_append_json_str(out, r->partition_key, strlen(r->partition_key));
    if (!err)
        err = ks_buf_append_str(out, ",\"sequence_number\":");
    if (!err)
        err = ks_buf_append_json_str(out, r->sequence_number, strlen(r->sequence_number));
    if (!err)
        err = ks_buf_append_str(out, ",\"shard_id\":");
    if (!err)
        err = ks_buf_append_json_str(out, b->shard_id, strlen(b->shard_id));
    if (!err)
        err = ks_buf_append_str(out, ",\"stream\":");
    if (!err)
        err = ks_buf_append_json_str(out, b->stream, strlen(b->stream));
    if (!err)
        err = ks_buf_append_str(out, ",\"arrival_timestamp\":\"");
    if (!err)
        err = ks_buf_append(out, ts, 24);
    if (!err)
        err = ks_buf_append(out, "\"}", 2);
    return err;
}

/* Appends the record's decoded bytes (or its raw text when the base64 is invalid). */
static ks_err append_decoded(const ks_batch *b, const ks_out_record *r, ks_buf *out, bool *invalid)
{
    ks_err err = KS_OK;
    bool bad = ks_base64_decode_or_raw(r->data_b64, r->data_b64_len, out, &err);
    if (bad) {
        ks_log_fields(KS_LOG_WARN,
                      (const ks_log_field[]){{"stream", b->stream},
                                             {"shard", b->shard_id},
                                             {"sequence_number", r->sequence_number}},
                      3, "record data is not valid base64; delivering the received text as is");
    }
    if (invalid)
        *invalid = bad;
    return err;
}

ks_err ks_codec_encode_record(ks_codec codec, const ks_batch *b, const ks_out_record *r,
                              ks_buf *out, bool *invalid)
{
    ks_err err;
    if (invalid)
        *invalid = false;
    switch (codec) {
    case KS_CODEC_JSON_LINES:
        err = ks_codec_record_json(b, r, out);
        return err ? err : ks_buf_append_char(out, '\n');
    case KS_CODEC_LINES:
        err = append_decoded(b, r, out, invalid);
        return err ? err : ks_buf_append_char(out, '\n');
    case KS_CODEC_LENGTH_PREFIXED: {
        size_t at = out->len;
        err = ks_buf_append(out, "\0\0\0\0", 4);
        if (!err)
            err = append_decoded(b, r, out, invalid);
        if (err)
            return err;
        size_t n = out->len - at - 4;
        if (n > UINT32_MAX)
            return KS_ERR_INVALID;
        unsigned char *p = (unsigned char *)out->data + at;
        p[0] = (unsigned char)(n >> 24);
        p[1] = (unsigned char)(n >> 16);
        p[2] = (unsigned char)(n >> 8);
        p[3] = (unsigned char)n;
        return KS_OK;
    }
    }
    return KS_ERR_INVALID;
}

ks_err ks_codec_encode(ks_codec codec, const ks_batch *b, ks_buf *out, size_t *n_invalid)
{
    size_t bad = 0;
    ks_err err = KS_OK;
    /* One reservation for the common case (decoded data is smaller than base64). */
    size_t guess = b->data_bytes + b->n_records * (codec == KS_CODEC_JSON_LINES ? 160 : 5);
    if (codec == KS_CODEC_JSON_LINES)
        guess += b->data_bytes / 3 + 4;
    err = ks_buf_reserve(out, guess);
    for (size_t i = 0; i < b->n_records && !err; i++) {
        bool inv = false;
        err = ks_codec_encode_record(codec, b, &b->records[i], out, &inv);
        bad += inv;
    }
    if (n_invalid)
        *n_invalid = bad;
    return err;
}
