/* Standard base64 (RFC 4648 alphabet "+/"), as Kinesis sends record data.
 * Decoding accepts padded input and unpadded input whose length is not 1 mod 4;
 * anything else (other characters, whitespace, misplaced '=') is KS_ERR_PARSE. */
#ifndef KS_SINK_BASE64_H
#define KS_SINK_BASE64_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/* Decoded length if s[0..n) is valid base64; false (and *out_len untouched) otherwise. */
bool ks_base64_decoded_len(const char *s, size_t n, size_t *out_len);

/* Appends the decoded bytes to out. On KS_ERR_PARSE out is left as it was. */
ks_err ks_base64_decode(const char *s, size_t n, ks_buf *out);

/* Appends the padded base64 encoding of p[0..n) to out. */
ks_err ks_base64_encode(const void *p, size_t n, ks_buf *out);

/* Record data as delivered by decoding codecs: the decoded bytes, or, when the
 * base64 is invalid, the received text unchanged (never dropped). Returns true when
 * the fallback was used so the caller can log and count it. */
bool ks_base64_decode_or_raw(const char *s, size_t n, ks_buf *out, ks_err *err);

#endif
