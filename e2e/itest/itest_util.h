/* What the e2e/itest drivers share: static fake credentials, an AWS client for Kinesis or
 * DynamoDB at a given endpoint, the run-with-a-deadline loop and the JSON printed at the
 * end. Every e2e/itest/<name>.c is built into its own program (Makefile ITEST_BINS), so
 * this is a header of static inline functions rather than a translation unit. */
#ifndef KS_E2E_ITEST_UTIL_H
#define KS_E2E_ITEST_UTIL_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "aws/client.h"
#include "http/http.h"

typedef enum ks_itest_service { KS_ITEST_KINESIS = 0, KS_ITEST_DYNAMODB } ks_itest_service;

/* A ks_creds_source get: static credentials that every emulator accepts. */
static inline void ks_itest_fake_creds(void *source_ud, ks_creds_cb cb, void *ud)
{
    (void)source_ud;
    ks_aws_creds c = {.access_key_id = "AKIDEXAMPLE", .secret_access_key = "fake-secret"};
    cb(ud, KS_OK, &c);
}

/* An AWS client on http for service at endpoint (region us-east-1, fake credentials). */
static inline ks_err ks_itest_aws_new(ks_http *http, ks_itest_service service, const char *endpoint,
                                      uint64_t timeout_ms, ks_aws_client **out)
{
    bool dynamo = service == KS_ITEST_DYNAMODB;
    ks_aws_client_options o = {
        .http = http,
        .creds = {.get = ks_itest_fake_creds},
        .service = dynamo ? "dynamodb" : "kinesis",
        .region = "us-east-1",
        .endpoint = endpoint,
        .target_prefix = dynamo ? "DynamoDB_20120810" : "Kinesis_20131202",
        .content_type = dynamo ? "application/x-amz-json-1.0" : "application/x-amz-json-1.1",
        .default_timeout_ms = timeout_ms,
    };
    return ks_aws_client_new(&o, out);
}

/* Starts the driver's deadline: cb runs after ms with t->data = data. */
static inline void ks_itest_deadline_start(uv_loop_t *loop, uv_timer_t *t, uv_timer_cb cb,
                                           void *data, uint64_t ms)
{
    uv_timer_init(loop, t);
    t->data = data;
    uv_timer_start(t, cb, ms, 0);
}

/* Runs the loop until *done or it has nothing left to do. */
static inline void ks_itest_run(uv_loop_t *loop, const bool *done)
{
    while (!*done && uv_run(loop, UV_RUN_ONCE))
        ;
}

/* Closes the deadline timer and runs the loop until every closing handle has closed. */
static inline void ks_itest_deadline_close(uv_loop_t *loop, uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
}

/* Prints out as one line of JSON on stdout (a fixed error object when out of memory). */
static inline void ks_itest_print(const cJSON *out)
{
    char *text = cJSON_PrintUnformatted(out);
    printf("%s\n", text ? text : "{\"error\":\"nomem\"}");
    cJSON_free(text);
}

#endif
