/* Error codes returned by value from every fallible ks_ function. Results go
 * through out-parameters. Keep this list small: callers switch on it. */
#ifndef KS_CORE_ERR_H
#define KS_CORE_ERR_H

typedef enum ks_err {
    KS_OK = 0,
    KS_ERR_NOMEM,     /* allocation failed */
    KS_ERR_INVALID,   /* bad argument or invalid value */
    KS_ERR_PARSE,     /* malformed input (JSON, YAML, XML, duration, ...) */
    KS_ERR_IO,        /* system call failed; errno-level detail is logged */
    KS_ERR_NOT_FOUND, /* local lookup found nothing (file, key, profile) */
    KS_ERR_TIMEOUT,   /* deadline passed */
    KS_ERR_AGAIN,     /* try again later (back-pressure, not ready) */
    KS_ERR_CLOSED,    /* peer or resource closed */
    KS_ERR_CANCELLED, /* operation cancelled by shutdown/destroy */
    KS_ERR_HTTP,      /* transport failure: connect, reset, TLS */
    /* AWS errors, mapped from __type / HTTP status (see pkg/aws). */
    KS_ERR_AWS_THROTTLED,          /* ProvisionedThroughputExceeded, LimitExceeded, Throttling */
    KS_ERR_AWS_CONDITION_FAILED,   /* ConditionalCheckFailedException */
    KS_ERR_AWS_EXPIRED_ITERATOR,   /* ExpiredIteratorException */
    KS_ERR_AWS_RESOURCE_NOT_FOUND, /* ResourceNotFoundException */
    KS_ERR_AWS_ACCESS_DENIED,      /* AccessDenied, ExpiredToken, UnrecognizedClient, ... */
    KS_ERR_AWS_VALIDATION,         /* ValidationException, InvalidArgumentException, ... */
    KS_ERR_AWS_IN_USE,             /* ResourceInUseException */
    KS_ERR_AWS_SERVER,             /* 5xx, InternalFailure, ServiceUnavailable */
    KS_ERR_AWS_OTHER,              /* any other AWS error */
    KS_ERR__COUNT
} ks_err;

/* Stable lower_snake name of an error, e.g. "aws_throttled". Never NULL. */
const char *ks_err_str(ks_err err);

/* True for errors worth retrying with back-off (throttling, 5xx, transport, timeout). */
int ks_err_is_retryable(ks_err err);

#endif
