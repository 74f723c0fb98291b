/* Signed AWS JSON-protocol calls (Kinesis: application/x-amz-json-1.1, DynamoDB: 1.0)
 * with error mapping. The response body is parsed with cJSON once here.
 *
 * Errors: __type is matched on the part after any '#'; "message" or "Message"; JSON
 * null is treated as absent. AccessDenied/ExpiredToken force one (rate-limited)
 * credential refresh. */
#ifndef KS_AWS_CLIENT_H
#define KS_AWS_CLIENT_H

#include <cJSON.h>
#include <stdint.h>
#include <uv.h>

#include "aws/creds.h"
#include "core/clock.h"
#include "core/err.h"
#include "http/http.h"

typedef struct ks_aws_client ks_aws_client;

/* Where the client gets credentials: normally ks_creds_chain_get/_invalidate on a
 * chain (see ks_aws_client_use_chain), a fake in tests. */
typedef struct ks_creds_source {
    void (*get)(void *source_ud, ks_creds_cb cb, void *ud);
    void (*invalidate)(void *source_ud); /* may be NULL */
    void *source_ud;
} ks_creds_source;

/* A ks_creds_source backed by a chain (the chain must outlive the client). */
ks_creds_source ks_creds_source_from_chain(ks_creds_chain *chain);

typedef struct ks_aws_client_options {
    ks_http *http;
    ks_creds_source creds;
    const ks_clock *clock;     /* NULL = system (used for x-amz-date) */
    const char *service;       /* signing name: "kinesis" or "dynamodb" */
    const char *region;        /* required */
    const char *endpoint;      /* NULL = https://<service>.<region>.amazonaws.com */
    const char *target_prefix; /* "Kinesis_20131202" or "DynamoDB_20120810" */
    const char *content_type;  /* "application/x-amz-json-1.1" or "...-1.0" */
    ks_tcp_opts tcp;
    uint64_t default_timeout_ms; /* per call when the call passes 0; default 30000 */
} ks_aws_client_options;

typedef struct ks_aws_result {
    ks_err err; /* KS_OK only for 2xx with a parseable body */
    long http_status;
    const char *error_type;    /* e.g. "ConditionalCheckFailedException", or NULL */
    const char *error_message; /* or NULL */
    cJSON *json;               /* parsed body on success; owned by the client; valid in cb */
} ks_aws_result;

typedef void (*ks_aws_cb)(void *ud, const ks_aws_result *res);

ks_err ks_aws_client_new(const ks_aws_client_options *opts, ks_aws_client **out);
void ks_aws_client_destroy(ks_aws_client *c); /* accepts NULL; pending calls -> CANCELLED */

/* Calls operation `op` (e.g. "GetRecords") with a JSON body. The body is copied.
 * timeout_ms 0 = the client's default. On KS_OK the callback runs exactly once, never
 * before ks_aws_call returns (also with KS_ERR_CANCELLED from ks_aws_client_destroy);
 * on any other return value it never runs (e.g. credentials failed synchronously).
 * Headers sent and signed: Host, X-Amz-Date, X-Amz-Target (<prefix>.<op>),
 * Content-Type, and X-Amz-Security-Token when the credentials have a session token. */
ks_err ks_aws_call(ks_aws_client *c, const char *op, const char *body, size_t body_len,
                   uint64_t timeout_ms, ks_aws_cb cb, void *ud);

/* The URL requests go to (endpoint override or https://<service>.<region>.amazonaws.com/);
 * valid while the client lives. For logs and tests. */
const char *ks_aws_client_url(const ks_aws_client *c);

/* Maps an AWS error name (after '#') and HTTP status to ks_err. Pure; unit-tested. */
ks_err ks_aws_map_error(const char *error_type, long http_status);

/* Region resolution: explicit config, then AWS_REGION, AWS_DEFAULT_REGION, then the
 * region field of a stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME). Returns a
 * malloc'd string or NULL when nothing is set. */
char *ks_aws_resolve_region(const char *configured, const char *stream_or_arn);

#endif
