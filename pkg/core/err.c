#include "core/err.h"

static const char *const names[KS_ERR__COUNT] = {
    [KS_OK] = "ok",
    [KS_ERR_NOMEM] = "nomem",
    [KS_ERR_INVALID] = "invalid",
    [KS_ERR_PARSE] = "parse",
    [KS_ERR_IO] = "io",
    [KS_ERR_NOT_FOUND] = "not_found",
    [KS_ERR_TIMEOUT] = "timeout",
    [KS_ERR_AGAIN] = "again",
    [KS_ERR_CLOSED] = "closed",
    [KS_ERR_CANCELLED] = "cancelled",
    [KS_ERR_HTTP] = "http",
    [KS_ERR_AWS_THROTTLED] = "aws_throttled",
    [KS_ERR_AWS_CONDITION_FAILED] = "aws_condition_failed",
    [KS_ERR_AWS_EXPIRED_ITERATOR] = "aws_expired_iterator",
    [KS_ERR_AWS_RESOURCE_NOT_FOUND] = "aws_resource_not_found",
    [KS_ERR_AWS_ACCESS_DENIED] = "aws_access_denied",
    [KS_ERR_AWS_VALIDATION] = "aws_validation",
    [KS_ERR_AWS_IN_USE] = "aws_in_use",
    [KS_ERR_AWS_SERVER] = "aws_server",
    [KS_ERR_AWS_OTHER] = "aws_other",
};

const char *ks_err_str(ks_err err)
{
    if ((unsigned)err >= KS_ERR__COUNT || !names[err])
        return "unknown";
    return names[err];
}

int ks_err_is_retryable(ks_err err)
{
    switch (err) {
    case KS_ERR_TIMEOUT:
    case KS_ERR_HTTP:
    case KS_ERR_AGAIN:
    case KS_ERR_AWS_THROTTLED:
    case KS_ERR_AWS_SERVER:
        return 1;
    default:
        return 0;
    }
}
