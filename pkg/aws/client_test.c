/* ks_aws_call against the loopback test server with a fake credentials source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aws/client.h"
#include "aws/sigv4.h"
#include "core/buf.h"
#include "http/testserver.h"

#define DEADLINE_MS 10000
#define PINNED_WALL_MS 1440938160000LL /* 2015-08-30T12:36:00Z */

/* ---- fake credentials ------------------------------------------------------------- */

typedef struct fake_creds {
    int async; /* hold get() callbacks until fake_deliver */
    ks_err err;
    const char *token;
    int gets, invalidations;
    ks_creds_cb cbs[8];
    void *uds[8];
    int n_pending;
} fake_creds;

static void fake_answer(fake_creds *f, ks_creds_cb cb, void *ud)
{
    ks_aws_creds c = {.access_key_id = "AKIDEXAMPLE",
                      .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                      .session_token = (char *)f->token};
    cb(ud, f->err, f->err ? NULL : &c);
}

static void fake_get(void *source_ud, ks_creds_cb cb, void *ud)
{
    fake_creds *f = source_ud;
    f->gets++;
    if (!f->async) {
        fake_answer(f, cb, ud);
        return;
    }
    assert_true(f->n_pending < 8);
    f->cbs[f->n_pending] = cb;
    f->uds[f->n_pending] = ud;
    f->n_pending++;
}

static void fake_deliver(fake_creds *f)
{
    int n = f->n_pending;
    f->n_pending = 0;
    for (int i = 0; i < n; i++)
        fake_answer(f, f->cbs[i], f->uds[i]);
}

static void fake_invalidate(void *source_ud)
{
    ((fake_creds *)source_ud)->invalidations++;
}

/* ---- results ----------------------------------------------------------------------- */

typedef struct result {
    int calls;
    ks_err err;
    long status;
    char *type;
    char *message;
    char *json; /* printed */
} result;

static void result_clean_up(result *r)
{
    free(r->type);
    free(r->message);
    free(r->json);
    memset(r, 0, sizeof(*r));
}

static void on_result(void *ud, const ks_aws_result *res)
{
    result *r = ud;
    r->calls++;
    r->err = res->err;
    r->status = res->http_status;
    free(r->type);
    free(r->message);
    free(r->json);
    r->type = ks_strdup(res->error_type);
    r->message = ks_strdup(res->error_message);
    r->json = res->json ? cJSON_PrintUnformatted(res->json) : NULL;
}

static int done1(void *ud)
{
    return ((result *)ud)->calls > 0;
}

/* ---- fixture ----------------------------------------------------------------------- */

typedef struct fixture {
    uv_loop_t loop;
    ks_test_server *srv;
    ks_http *http;
    ks_fake_clock clock;
    fake_creds creds;
    ks_aws_client *kinesis;
    ks_aws_client *dynamo;
} fixture;

static ks_aws_client *make_client(fixture *f, int dynamo)
{
    ks_aws_client_options o = {
        .http = f->http,
        .creds = {.get = fake_get, .invalidate = fake_invalidate, .source_ud = &f->creds},
        .clock = &f->clock.clock,
        .service = dynamo ? "dynamodb" : "kinesis",
        .region = "us-east-1",
        .endpoint = ks_test_server_url(f->srv),
        .target_prefix = dynamo ? "DynamoDB_20120810" : "Kinesis_20131202",
        .content_type = dynamo ? "application/x-amz-json-1.0" : "application/x-amz-json-1.1",
    };
    ks_aws_client *c = NULL;
    assert_int_equal(ks_aws_client_new(&o, &c), KS_OK);
    return c;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(ks_test_server_start(&f->loop, &f->srv), KS_OK);
    assert_int_equal(ks_http_new(&f->loop, &f->http), KS_OK);
    ks_fake_clock_init(&f->clock, 1000000, PINNED_WALL_MS);
    f->kinesis = make_client(f, 0);
    f->dynamo = make_client(f, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ks_aws_client_destroy(f->kinesis);
    ks_aws_client_destroy(f->dynamo);
    ks_http_destroy(f->http);
    ks_test_server_destroy(f->srv);
    assert_int_equal(ks_test_loop_drain(&f->loop), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

static void call_and_wait(fixture *f, ks_aws_client *c, const char *op, const char *body, result *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(ks_aws_call(c, op, body, strlen(body), 5000, on_result, r), KS_OK);
    assert_int_equal(r->calls, 0); /* never before ks_aws_call returns */
    assert_true(ks_test_run_until(&f->loop, done1, r, DEADLINE_MS));
    assert_int_equal(r->calls, 1);
}

/* Recomputes the signature of a recorded request with our signer, from the headers
 * the Authorization header says were signed, and checks it matches. */
static void verify_signature(const ks_test_request *q, const char *service,
                             const char *want_signed_headers)
{
    const char *auth = ks_test_request_header(q, "authorization");
    assert_non_null(auth);
    char want_prefix[256];
    snprintf(want_prefix, sizeof(want_prefix),
             "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/%s/aws4_request, "
             "SignedHeaders=%s, Signature=",
             service, want_signed_headers);
    assert_int_equal(strncmp(auth, want_prefix, strlen(want_prefix)), 0);

    ks_http_header hs[8];
    size_t n = 0;
    char *list = ks_strdup(want_signed_headers);
    char *save = NULL;
    for (char *name = strtok_r(list, ";", &save); name; name = strtok_r(NULL, ";", &save)) {
        assert_int_equal(ks_test_request_header_count(q, name), 1);
        hs[n].name = name;
        hs[n].value = ks_test_request_header(q, name);
        n++;
    }
    ks_sigv4_request sr = {.method = q->method,
                           .path = q->path,
                           .query = q->query,
                           .headers = hs,
                           .n_headers = n,
                           .body = q->body,
                           .body_len = q->body_len,
                           .normalize_path = 1};
    ks_sigv4_params p = {.access_key_id = "AKIDEXAMPLE",
                         .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                         .region = "us-east-1",
                         .service = service,
                         .epoch_s = PINNED_WALL_MS / 1000};
    ks_buf b;
    ks_buf_init(&b);
    assert_int_equal(ks_sigv4_authorization(&p, &sr, &b), KS_OK);
    assert_string_equal(b.data, auth);
    ks_buf_clean_up(&b);
    free(list);
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_kinesis_request(void **state)
{
    fixture *f = *state;
    assert_int_equal(
        ks_test_server_push_simple(
            f->srv, 200, "{\"Records\":[],\"NextShardIterator\":null,\"MillisBehindLatest\":0}"),
        KS_OK);
    const char *body = "{\"ShardIterator\":\"AAAA/+b==\",\"Limit\":10000}";
    result r;
    call_and_wait(f, f->kinesis, "GetRecords", body, &r);
    assert_int_equal(r.err, KS_OK);
    assert_int_equal(r.status, 200);
    assert_null(r.type);
    assert_string_equal(r.json,
                        "{\"Records\":[],\"NextShardIterator\":null,\"MillisBehindLatest\":0}");

    assert_int_equal(ks_test_server_n_requests(f->srv), 1);
    const ks_test_request *q = ks_test_server_request(f->srv, 0);
    char host[64];
    snprintf(host, sizeof(host), "127.0.0.1:%d", ks_test_server_port(f->srv));
    assert_string_equal(q->method, "POST");
    assert_string_equal(q->target, "/");
    assert_string_equal(q->body, body);
    assert_string_equal(ks_test_request_header(q, "host"), host);
    assert_string_equal(ks_test_request_header(q, "x-amz-date"), "20150830T123600Z");
    assert_string_equal(ks_test_request_header(q, "x-amz-target"), "Kinesis_20131202.GetRecords");
    assert_string_equal(ks_test_request_header(q, "content-type"), "application/x-amz-json-1.1");
    assert_null(ks_test_request_header(q, "x-amz-security-token"));
    assert_null(ks_test_request_header(q, "expect"));
    assert_int_equal(ks_test_request_header_count(q, "host"), 1);
    verify_signature(q, "kinesis", "content-type;host;x-amz-date;x-amz-target");
    assert_int_equal(f->creds.gets, 1);
    result_clean_up(&r);
}

static void test_dynamodb_session_token(void **state)
{
    fixture *f = *state;
    f->creds.token = "FQoGZXIvYXdzEXAMPLE//token+with/slashes==";
    assert_int_equal(ks_test_server_push_simple(f->srv, 200, "{\"Attributes\":{}}"), KS_OK);
    const char *body = "{\"TableName\":\"leases\",\"Key\":{\"leaseKey\":{\"S\":\"s-0\"}}}";
    result r;
    call_and_wait(f, f->dynamo, "UpdateItem", body, &r);
    assert_int_equal(r.err, KS_OK);
    const ks_test_request *q = ks_test_server_request(f->srv, 0);
    assert_string_equal(ks_test_request_header(q, "x-amz-target"), "DynamoDB_20120810.UpdateItem");
    assert_string_equal(ks_test_request_header(q, "content-type"), "application/x-amz-json-1.0");
    assert_string_equal(ks_test_request_header(q, "x-amz-security-token"), f->creds.token);
    verify_signature(q, "dynamodb",
                     "content-type;host;x-amz-date;x-amz-security-token;x-amz-target");
    result_clean_up(&r);
}

static void test_map_error_table(void **state)
{
    (void)state;
    static const struct {
        const char *type;
        long status;
        ks_err want;
    } cases[] = {
        {"ProvisionedThroughputExceededException", 400, KS_ERR_AWS_THROTTLED},
        {"LimitExceededException", 400, KS_ERR_AWS_THROTTLED},
        {"ThrottlingException", 400, KS_ERR_AWS_THROTTLED},
        {"RequestLimitExceeded", 400, KS_ERR_AWS_THROTTLED},
        {"TooManyRequestsException", 429, KS_ERR_AWS_THROTTLED},
        {"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", 400,
         KS_ERR_AWS_THROTTLED},
        {"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", 400,
         KS_ERR_AWS_CONDITION_FAILED},
        {"ConditionalCheckFailedException", 400, KS_ERR_AWS_CONDITION_FAILED},
        {"ExpiredIteratorException", 400, KS_ERR_AWS_EXPIRED_ITERATOR},
        {"ResourceNotFoundException", 400, KS_ERR_AWS_RESOURCE_NOT_FOUND},
        {"com.amazon.coral.service#AccessDeniedException", 400, KS_ERR_AWS_ACCESS_DENIED},
        {"ExpiredTokenException", 400, KS_ERR_AWS_ACCESS_DENIED},
        {"UnrecognizedClientException", 400, KS_ERR_AWS_ACCESS_DENIED},
        {"InvalidSignatureException", 403, KS_ERR_AWS_ACCESS_DENIED},
        {"IncompleteSignature", 403, KS_ERR_AWS_ACCESS_DENIED},
        {"ValidationException", 400, KS_ERR_AWS_VALIDATION},
        {"InvalidArgumentException", 400, KS_ERR_AWS_VALIDATION},
        {"SerializationException", 400, KS_ERR_AWS_VALIDATION},
        {"ResourceInUseException", 400, KS_ERR_AWS_IN_USE},
        {"InternalFailure", 500, KS_ERR_AWS_SERVER},
        {"ServiceUnavailable", 503, KS_ERR_AWS_SERVER},
        {"SomethingNew", 500, KS_ERR_AWS_SERVER},
        {NULL, 502, KS_ERR_AWS_SERVER},
        {"", 503, KS_ERR_AWS_SERVER},
        {"SomethingNew", 400, KS_ERR_AWS_OTHER},
        {"KMSDisabledException", 400, KS_ERR_AWS_OTHER},
        {NULL, 400, KS_ERR_AWS_OTHER},
        {"prefix#", 400, KS_ERR_AWS_OTHER},
        {"ThrottlingExceptionX", 400, KS_ERR_AWS_OTHER},
        {NULL, 200, KS_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ks_err got = ks_aws_map_error(cases[i].type, cases[i].status);
        if (got != cases[i].want)
            fail_msg("%s/%ld: got %s want %s", cases[i].type ? cases[i].type : "(null)",
                     cases[i].status, ks_err_str(got), ks_err_str(cases[i].want));
    }
}

typedef struct err_case { // NOLINT(clang-analyzer-optin.performance.Padding): test table
    int status;
    const char *body;
    const ks_http_header *headers;
    size_t n_headers;
    ks_err want;
    const char *want_type;    /* NULL = absent */
    const char *want_message; /* NULL = absent */
} err_case;

static void test_error_responses(void **state)
{
    fixture *f = *state;
    static const ks_http_header typed[] = {
        {"x-amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/"}};
    const err_case cases[] = {
        {400,
         "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\","
         "\"message\":\"The conditional request failed\"}",
         NULL, 0, KS_ERR_AWS_CONDITION_FAILED, "ConditionalCheckFailedException",
         "The conditional request failed"},
        {400, "{\"__type\":\"ResourceNotFoundException\",\"message\":\"Stream s not found\"}", NULL,
         0, KS_ERR_AWS_RESOURCE_NOT_FOUND, "ResourceNotFoundException", "Stream s not found"},
        {400, "{\"__type\":\"ValidationException\",\"Message\":\"capital M\"}", NULL, 0,
         KS_ERR_AWS_VALIDATION, "ValidationException", "capital M"},
        {400, "{\"__type\":\"ExpiredIteratorException\",\"message\":null,\"Message\":null}", NULL,
         0, KS_ERR_AWS_EXPIRED_ITERATOR, "ExpiredIteratorException", NULL},
        {400, "{\"__type\":null,\"message\":\"m\"}", NULL, 0, KS_ERR_AWS_OTHER, NULL, "m"},
        {400,
         "{\"__type\":\"ProvisionedThroughputExceededException\",\"message\":\"Rate exceeded\"}",
         NULL, 0, KS_ERR_AWS_THROTTLED, "ProvisionedThroughputExceededException", "Rate exceeded"},
        {500, "", NULL, 0, KS_ERR_AWS_SERVER, NULL, NULL},
        {503, "<html>not json</html>", NULL, 0, KS_ERR_AWS_SERVER, NULL, NULL},
        {500, "{\"__type\":\"InternalFailure\"}", NULL, 0, KS_ERR_AWS_SERVER, "InternalFailure",
         NULL},
        {400, "{}", typed, 1, KS_ERR_AWS_VALIDATION, "ValidationException", NULL},
        {404, "", NULL, 0, KS_ERR_AWS_OTHER, NULL, NULL},
        {200, "not json", NULL, 0, KS_ERR_PARSE, NULL, NULL},
        {200, "", NULL, 0, KS_ERR_PARSE, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const err_case *e = &cases[i];
        assert_int_equal(ks_test_server_push(f->srv, &(ks_test_reply){.status = e->status,
                                                                      .body = e->body,
                                                                      .headers = e->headers,
                                                                      .n_headers = e->n_headers}),
                         KS_OK);
        result r;
        call_and_wait(f, f->kinesis, "DescribeStreamSummary", "{\"StreamName\":\"s\"}", &r);
        if (r.err != e->want)
            fail_msg("case %zu: got %s want %s", i, ks_err_str(r.err), ks_err_str(e->want));
        assert_int_equal(r.status, e->status);
        if (e->want_type)
            assert_string_equal(r.type, e->want_type);
        else
            assert_null(r.type);
        if (e->want_message)
            assert_string_equal(r.message, e->want_message);
        else
            assert_null(r.message);
        result_clean_up(&r);
    }
    assert_int_equal(f->creds.invalidations, 0);
}

static void test_access_denied_refresh_rate_limited(void **state)
{
    fixture *f = *state;
    static const char *denied[] = {
        "{\"__type\":\"ExpiredTokenException\",\"message\":\"expired\"}",
        "{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException\"}",
        "{\"__type\":\"AccessDeniedException\"}",
    };
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(ks_test_server_push_simple(f->srv, 400, denied[i]), KS_OK);
    result r;
    call_and_wait(f, f->kinesis, "ListShards", "{}", &r);
    assert_int_equal(r.err, KS_ERR_AWS_ACCESS_DENIED);
    assert_int_equal(f->creds.invalidations, 1);
    result_clean_up(&r);
    ks_fake_clock_advance(&f->clock, 9999);
    call_and_wait(f, f->kinesis, "ListShards", "{}", &r);
    assert_int_equal(r.err, KS_ERR_AWS_ACCESS_DENIED);
    assert_int_equal(f->creds.invalidations, 1); /* rate-limited */
    result_clean_up(&r);
    ks_fake_clock_advance(&f->clock, 1);
    call_and_wait(f, f->kinesis, "ListShards", "{}", &r);
    assert_int_equal(r.err, KS_ERR_AWS_ACCESS_DENIED);
    assert_int_equal(f->creds.invalidations, 2);
    result_clean_up(&r);
}

static void test_creds_errors(void **state)
{
    fixture *f = *state;
    /* synchronous failure: returned, no callback, nothing sent */
    f->creds.err = KS_ERR_NOT_FOUND;
    result r = {0};
    assert_int_equal(ks_aws_call(f->kinesis, "ListShards", "{}", 2, 0, on_result, &r),
                     KS_ERR_NOT_FOUND);
    assert_int_equal(r.calls, 0);
    /* asynchronous failure: one callback with the error */
    f->creds.async = 1;
    assert_int_equal(ks_aws_call(f->kinesis, "ListShards", "{}", 2, 0, on_result, &r), KS_OK);
    assert_int_equal(r.calls, 0);
    fake_deliver(&f->creds);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.err, KS_ERR_NOT_FOUND);
    assert_int_equal(ks_test_server_n_requests(f->srv), 0);
    result_clean_up(&r);
    /* asynchronous success */
    f->creds.err = KS_OK;
    assert_int_equal(ks_test_server_push_simple(f->srv, 200, "{\"Shards\":[]}"), KS_OK);
    assert_int_equal(ks_aws_call(f->kinesis, "ListShards", "{}", 2, 0, on_result, &r), KS_OK);
    fake_deliver(&f->creds);
    assert_true(ks_test_run_until(&f->loop, done1, &r, DEADLINE_MS));
    assert_int_equal(r.err, KS_OK);
    assert_string_equal(r.json, "{\"Shards\":[]}");
    result_clean_up(&r);
}

static void test_timeout(void **state)
{
    fixture *f = *state;
    assert_int_equal(ks_test_server_push(f->srv, &(ks_test_reply){.action = KS_TEST_HANG}), KS_OK);
    result r = {0};
    assert_int_equal(ks_aws_call(f->kinesis, "GetRecords", "{}", 2, 200, on_result, &r), KS_OK);
    assert_true(ks_test_run_until(&f->loop, done1, &r, DEADLINE_MS));
    assert_int_equal(r.err, KS_ERR_TIMEOUT);
    assert_int_equal(r.status, 0);
    result_clean_up(&r);
}

static void test_destroy_with_pending(void **state)
{
    fixture *f = *state;
    assert_int_equal(ks_test_server_push(f->srv, &(ks_test_reply){.action = KS_TEST_HANG}), KS_OK);
    result in_http = {0}, in_creds = {0};
    assert_int_equal(ks_aws_call(f->kinesis, "GetRecords", "{}", 2, 0, on_result, &in_http), KS_OK);
    assert_true(ks_test_server_wait_requests(&f->loop, f->srv, 1, DEADLINE_MS));
    f->creds.async = 1;
    assert_int_equal(ks_aws_call(f->kinesis, "GetRecords", "{}", 2, 0, on_result, &in_creds),
                     KS_OK);
    ks_aws_client_destroy(f->kinesis);
    f->kinesis = NULL;
    assert_int_equal(in_http.calls, 1);
    assert_int_equal(in_http.err, KS_ERR_CANCELLED);
    assert_int_equal(in_creds.calls, 1);
    assert_int_equal(in_creds.err, KS_ERR_CANCELLED);
    /* the credentials arrive after the client is gone: no second callback, no leak */
    fake_deliver(&f->creds);
    assert_int_equal(in_creds.calls, 1);
    result_clean_up(&in_http);
    result_clean_up(&in_creds);
}

static void test_endpoints(void **state)
{
    fixture *f = *state;
    ks_aws_client_options o = {
        .http = f->http,
        .creds = {.get = fake_get, .source_ud = &f->creds},
        .service = "kinesis",
        .region = "eu-west-1",
        .target_prefix = "Kinesis_20131202",
        .content_type = "application/x-amz-json-1.1",
    };
    ks_aws_client *c = NULL;
    assert_int_equal(ks_aws_client_new(&o, &c), KS_OK);
    assert_string_equal(ks_aws_client_url(c), "https://kinesis.eu-west-1.amazonaws.com/");
    ks_aws_client_destroy(c);

    char ep[128];
    snprintf(ep, sizeof(ep), "%s/base", ks_test_server_url(f->srv));
    o.endpoint = ep;
    assert_int_equal(ks_aws_client_new(&o, &c), KS_OK);
    assert_string_equal(ks_aws_client_url(c), ep);
    assert_int_equal(ks_test_server_push_simple(f->srv, 200, "{}"), KS_OK);
    result r;
    call_and_wait(f, c, "ListShards", "{}", &r);
    assert_int_equal(r.err, KS_OK);
    assert_string_equal(ks_test_server_request(f->srv, 0)->target, "/base");
    result_clean_up(&r);
    ks_aws_client_destroy(c);

    o.endpoint = "127.0.0.1:4567"; /* no scheme */
    assert_int_equal(ks_aws_client_new(&o, &c), KS_ERR_INVALID);
    assert_null(c);
    o.endpoint = NULL;
    o.region = NULL;
    assert_int_equal(ks_aws_client_new(&o, &c), KS_ERR_INVALID);
}

static void test_resolve_region(void **state)
{
    (void)state;
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    const char *arn = "arn:aws:kinesis:ap-south-1:123456789012:stream/orders";
    char *r = ks_aws_resolve_region(NULL, arn);
    assert_string_equal(r, "ap-south-1");
    free(r);
    assert_null(ks_aws_resolve_region(NULL, "orders"));
    assert_null(ks_aws_resolve_region("", NULL));
    assert_null(ks_aws_resolve_region(NULL, "arn:aws:kinesis"));
    setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
    r = ks_aws_resolve_region(NULL, arn);
    assert_string_equal(r, "us-west-2");
    free(r);
    setenv("AWS_REGION", "eu-central-1", 1);
    r = ks_aws_resolve_region(NULL, arn);
    assert_string_equal(r, "eu-central-1");
    free(r);
    r = ks_aws_resolve_region("us-east-2", arn);
    assert_string_equal(r, "us-east-2");
    free(r);
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kinesis_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dynamodb_session_token, setup, teardown),
        cmocka_unit_test(test_map_error_table),
        cmocka_unit_test_setup_teardown(test_error_responses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_denied_refresh_rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_creds_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_with_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endpoints, setup, teardown),
        cmocka_unit_test(test_resolve_region),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
