/* AWS Signature Version 4, as pure functions in stages, with time passed in:
 *   canonical request -> string to sign -> signature -> Authorization header.
 * Nothing here does I/O or reads clocks. */
#ifndef KS_AWS_SIGV4_H
#define KS_AWS_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "http/http.h"

typedef struct ks_sigv4_request {
    const char *method;
    const char *path;  /* raw path as sent, e.g. "/" ; URI-encoded by the signer as AWS requires */
    const char *query; /* raw query string without '?', or NULL */
    const ks_http_header *headers; /* headers to sign, must include host and x-amz-date */
    size_t n_headers;
    const void *body;
    size_t body_len;
    int normalize_path; /* 1 for every service but S3 */
} ks_sigv4_request;

typedef struct ks_sigv4_params {
    const char *access_key_id;
    const char *secret_access_key;
    const char *region;
    const char *service;
    int64_t epoch_s; /* signing time */
} ks_sigv4_params;

/* "20150830T123600Z" from epoch seconds. out >= 17 bytes. */
void ks_sigv4_amz_date(int64_t epoch_s, char out[17]);
ks_err ks_sigv4_canonical_request(const ks_sigv4_request *req, ks_buf *out,
                                  ks_buf *signed_headers_out);
ks_err ks_sigv4_string_to_sign(const ks_sigv4_params *p, const char *canonical_request, size_t len,
                               ks_buf *out);
/* Lower-case hex signature, 64 chars + NUL. */
ks_err ks_sigv4_signature(const ks_sigv4_params *p, const char *string_to_sign, size_t len,
                          char out[65]);
/* Full "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." value. */
ks_err ks_sigv4_authorization(const ks_sigv4_params *p, const ks_sigv4_request *req, ks_buf *out);

/* Hex SHA-256 of data, 64 chars + NUL. */
void ks_sha256_hex(const void *data, size_t len, char out[65]);

#endif
