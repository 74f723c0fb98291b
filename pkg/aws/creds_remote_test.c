/* The network sources against the loopback test server: the exact requests sent to STS
 * (AssumeRoleWithWebIdentity, signed AssumeRole), the container endpoint and IMDSv2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aws/creds_provider.h"
#include "aws/creds_testutil.h"
#include "aws/sigv4.h"
#include "core/log.h"
#include "core/testutil.h"
#include "http/testserver.h"

#define DEADLINE_MS 10000
#define T0_WALL 1795685913000LL
#define MIN_MS 60000LL

typedef struct got {
    int calls;
    ks_err err;
    char akid[64];
    char secret[64];
    char token[64];
} got;

static void on_creds(void *ud, ks_err err, const ks_aws_creds *creds)
{
    got *g = ud;
    g->calls++;
    g->err = err;
    g->akid[0] = g->secret[0] = g->token[0] = '\0';
    if (err == KS_OK) {
        snprintf(g->akid, sizeof(g->akid), "%s", creds->access_key_id);
        snprintf(g->secret, sizeof(g->secret), "%s", creds->secret_access_key);
        snprintf(g->token, sizeof(g->token), "%s",
                 creds->session_token ? creds->session_token : "");
    }
}

typedef struct fixture {
    uv_loop_t loop;
    ks_fake_clock clock;
    ks_http *http;
    ks_test_server *srv;
    ks_creds_chain *chain;
    char dir[32];
    char path[3][128];
    ks_test_log log;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    ks_fake_clock_init(&f->clock, 1000000, T0_WALL);
    assert_int_equal(ks_http_new(&f->loop, &f->http), KS_OK);
    assert_int_equal(ks_test_server_start(&f->loop, &f->srv), KS_OK);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ks-creds-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    for (int i = 0; i < 3; i++)
        snprintf(f->path[i], sizeof(f->path[i]), "%s/file%d", f->dir, i);
    ks_test_log_capture(&f->log, KS_LOG_DEBUG);
    ks_test_creds_env_clear();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ks_creds_chain_destroy(f->chain);
    ks_http_destroy(f->http);
    ks_test_server_destroy(f->srv);
    assert_int_equal(ks_test_loop_drain(&f->loop), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    for (int i = 0; i < 3; i++)
        unlink(f->path[i]);
    rmdir(f->dir);
    ks_test_log_release(&f->log);
    free(f);
    ks_test_creds_env_clear();
    return 0;
}

static void new_chain(fixture *f, const ks_credentials_config *cfg, const char *region)
{
    ks_creds_chain_options o = {
        .loop = &f->loop,
        .http = f->http,
        .clock = &f->clock.clock,
        .config = cfg,
        .region = region,
        .sts_endpoint = ks_test_server_url(f->srv),
        .imds_endpoint = ks_test_server_url(f->srv),
    };
    assert_int_equal(ks_creds_chain_new(&o, &f->chain), KS_OK);
}

static int answered(void *ud)
{
    return ((got *)ud)->calls > 0;
}

static void get_wait(fixture *f, got *g)
{
    memset(g, 0, sizeof(*g));
    ks_creds_chain_get(f->chain, on_creds, g);
    assert_true(ks_test_run_until(&f->loop, answered, g, DEADLINE_MS));
    assert_int_equal(g->calls, 1);
}

static void wait_requests(fixture *f, size_t n)
{
    assert_true(ks_test_server_wait_requests(&f->loop, f->srv, n, DEADLINE_MS));
}

typedef struct cond_arg {
    fixture *f;
    const char *s;
} cond_arg;

/* The chain answers synchronously once the background refresh has stored new creds. */
static int chain_has_akid(void *ud)
{
    cond_arg *a = ud;
    got g = {0};
    ks_creds_chain_get(a->f->chain, on_creds, &g);
    return g.calls == 1 && g.err == KS_OK && strcmp(g.akid, a->s) == 0;
}

static void wait_akid(fixture *f, const char *akid)
{
    cond_arg a = {f, akid};
    assert_true(ks_test_run_until(&f->loop, chain_has_akid, &a, DEADLINE_MS));
}

static int log_has(void *ud)
{
    cond_arg *a = ud;
    return strstr(ks_test_log_text(&a->f->log), a->s) != NULL;
}

static void wait_log(fixture *f, const char *text)
{
    cond_arg a = {f, text};
    assert_true(ks_test_run_until(&f->loop, log_has, &a, DEADLINE_MS));
}

static void sts_reply(fixture *f, const char *action, const char *akid, int64_t lifetime_ms)
{
    char exp[25], body[1024];
    ks_format_rfc3339_ms(ks_clock_wall_ms(&f->clock.clock) + lifetime_ms, exp);
    snprintf(body, sizeof(body),
             "<%sResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><%sResult>"
             "<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>secret-%s"
             "</SecretAccessKey><SessionToken>token-%s</SessionToken><Expiration>%s"
             "</Expiration></Credentials></%sResult></%sResponse>",
             action, action, akid, akid, akid, exp, action, action);
    assert_int_equal(ks_test_server_push_simple(f->srv, 200, body), KS_OK);
}

static void json_reply(fixture *f, const char *akid, int64_t lifetime_ms)
{
    char exp[25], body[512];
    ks_format_rfc3339_ms(ks_clock_wall_ms(&f->clock.clock) + lifetime_ms, exp);
    snprintf(body, sizeof(body),
             "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"%s\","
             "\"SecretAccessKey\":\"secret-%s\",\"Token\":\"token-%s\",\"Expiration\":\"%s\"}",
             akid, akid, akid, exp);
    assert_int_equal(ks_test_server_push_simple(f->srv, 200, body), KS_OK);
}

/* ---- web identity (IRSA) ---- */

static void test_web_identity(void **state)
{
    fixture *f = *state;
    ks_test_write_file(f->path[0], "token-one\n");
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/app", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", f->path[0], 1);
    setenv("AWS_ROLE_SESSION_NAME", "my session", 1);
    ks_credentials_config cfg = {0};
    new_chain(f, &cfg, "eu-west-1");
    sts_reply(f, "AssumeRoleWithWebIdentity", "ASIAWEB1", 60 * MIN_MS);
    got g;
    get_wait(f, &g);
    assert_int_equal(g.err, KS_OK);
    assert_string_equal(g.akid, "ASIAWEB1");
    assert_string_equal(g.token, "token-ASIAWEB1");
    assert_string_equal(ks_creds_chain_source(f->chain), "web_identity");
    assert_int_equal(ks_test_server_n_requests(f->srv), 1);
    const ks_test_request *r = ks_test_server_request(f->srv, 0);
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->path, "/");
    assert_string_equal(ks_test_request_header(r, "content-type"),
                        "application/x-www-form-urlencoded; charset=utf-8");
    assert_null(ks_test_request_header(r, "authorization")); /* unsigned */
    assert_string_equal(r->body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
                                 "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fapp"
                                 "&RoleSessionName=my%20session&WebIdentityToken=token-one");

    /* the kubelet rotates the token; the refresh before expiry reads it again */
    ks_test_write_file(f->path[0], "token-two");
    ks_fake_clock_advance(&f->clock, 56 * MIN_MS);
    sts_reply(f, "AssumeRoleWithWebIdentity", "ASIAWEB2", 60 * MIN_MS);
    memset(&g, 0, sizeof(g));
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_int_equal(g.calls, 1); /* answered from the cache while refreshing */
    assert_string_equal(g.akid, "ASIAWEB1");
    wait_requests(f, 2);
    r = ks_test_server_request(f->srv, 1);
    assert_non_null(strstr(r->body, "&WebIdentityToken=token-two"));
    assert_null(strstr(r->body, "token-one"));
    wait_akid(f, "ASIAWEB2");
    assert_null(strstr(ks_test_log_text(&f->log), "token-two"));
    assert_null(strstr(ks_test_log_text(&f->log), "secret-ASIAWEB"));
}

static void test_web_identity_sts_error(void **state)
{
    fixture *f = *state;
    ks_test_write_file(f->path[0], "expired-token");
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/app", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", f->path[0], 1);
    new_chain(f, NULL, "eu-west-1");
    ks_test_server_push_simple(f->srv, 400,
                               "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                               "<Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
                               "<Message>Token is expired</Message></Error>"
                               "<RequestId>r-1</RequestId></ErrorResponse>");
    got g;
    get_wait(f, &g);
    assert_int_equal(g.err, KS_ERR_AWS_ACCESS_DENIED);
    const char *log = ks_test_log_text(&f->log);
    assert_non_null(strstr(log, "InvalidIdentityToken"));
    assert_non_null(strstr(log, "Token is expired"));
    assert_null(strstr(log, "expired-token"));
    /* a session name is generated when AWS_ROLE_SESSION_NAME is absent */
    const ks_test_request *r = ks_test_server_request(f->srv, 0);
    assert_non_null(strstr(r->body, "&RoleSessionName=kinesis-sidecar-1795685913000&"));

    /* a missing token file is a failure of this source, not a fall-through */
    unlink(f->path[0]);
    ks_fake_clock_advance(&f->clock, 10001);
    get_wait(f, &g);
    assert_int_equal(g.err, KS_ERR_IO);
    assert_int_equal(ks_test_server_n_requests(f->srv), 1);
}

/* ---- container credentials (EKS Pod Identity, ECS) ---- */

static void test_container(void **state)
{
    fixture *f = *state;
    char uri[160];
    snprintf(uri, sizeof(uri), "%s/v1/credentials?a=1", ks_test_server_url(f->srv));
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
    ks_test_write_file(f->path[1], "Bearer-one\n");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", f->path[1], 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored-when-file-set", 1);
    new_chain(f, NULL, "eu-west-1");
    json_reply(f, "ASIAPOD1", 60 * MIN_MS);
    got g;
    get_wait(f, &g);
    assert_int_equal(g.err, KS_OK);
    assert_string_equal(g.akid, "ASIAPOD1");
    assert_string_equal(g.secret, "secret-ASIAPOD1");
    assert_string_equal(g.token, "token-ASIAPOD1");
    assert_string_equal(ks_creds_chain_source(f->chain), "container");
    const ks_test_request *r = ks_test_server_request(f->srv, 0);
    assert_string_equal(r->method, "GET");
    assert_string_equal(r->target, "/v1/credentials?a=1");
    assert_string_equal(ks_test_request_header(r, "authorization"), "Bearer-one");

    /* token file re-read on the next fetch (forced by invalidate) */
    ks_test_write_file(f->path[1], "Bearer-two");
    ks_creds_chain_invalidate(f->chain);
    json_reply(f, "ASIAPOD2", 60 * MIN_MS);
    get_wait(f, &g);
    assert_string_equal(g.akid, "ASIAPOD2");
    r = ks_test_server_request(f->srv, 1);
    assert_string_equal(ks_test_request_header(r, "authorization"), "Bearer-two");

    /* without the file: AWS_CONTAINER_AUTHORIZATION_TOKEN */
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    ks_fake_clock_advance(&f->clock, 10001);
    ks_creds_chain_invalidate(f->chain);
    ks_test_server_push_simple(f->srv, 403, "{\"code\":\"AccessDenied\",\"message\":\"nope\"}");
    get_wait(f, &g);
    r = ks_test_server_request(f->srv, 2);
    assert_string_equal(ks_test_request_header(r, "authorization"), "ignored-when-file-set");
    /* the refresh failed but the cached credentials are still valid */
    assert_int_equal(g.err, KS_OK);
    assert_string_equal(g.akid, "ASIAPOD2");
    assert_non_null(strstr(ks_test_log_text(&f->log), "HTTP 403 AccessDenied nope"));
    assert_null(strstr(ks_test_log_text(&f->log), "Bearer-"));
}

static void test_container_refuses_non_loopback(void **state)
{
    fixture *f = *state;
    char uri[160];
    /* resolves nowhere near loopback: must be refused without any request */
    snprintf(uri, sizeof(uri), "http://127.0.0.1.evil.com:%d/creds", ks_test_server_port(f->srv));
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "secret-auth", 1);
    new_chain(f, NULL, "eu-west-1");
    got g;
    get_wait(f, &g);
    assert_int_equal(g.err, KS_ERR_INVALID);
    assert_non_null(strstr(ks_test_log_text(&f->log), "refused"));
    ks_creds_chain_destroy(f->chain);
    f->chain = NULL;
    snprintf(uri, sizeof(uri), "http://127.0.0.1@evil.com:%d/creds", ks_test_server_port(f->srv));
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
    new_chain(f, NULL, "eu-west-1");
    get_wait(f, &g);
    assert_int_equal(g.err, KS_ERR_INVALID);
    assert_int_equal(ks_test_server_n_requests(f->srv), 0);
}

/* ---- IMDSv2 ---- */

static void check_imds(const ks_test_request *r, const char *method, const char *path,
                       const char *token)
{
    assert_string_equal(r->method, method);
    assert_string_equal(r->path, path);
    if (token) {
        assert_string_equal(ks_test_request_header(r, "x-aws-ec2-metadata-token"), token);
        assert_null(ks_test_request_header(r, "x-aws-ec2-metadata-token-ttl-seconds"));
    } else {
        assert_string_equal(ks_test_request_header(r, "x-aws-ec2-metadata-token-ttl-seconds"),
                            "21600");
        assert_null(ks_test_request_header(r, "x-aws-ec2-metadata-token"));
    }
}

#define IMDS_ROLE_PATH "/latest/meta-data/iam/security-credentials/"

static void test_imds(void **state)
{
    fixture *f = *state;
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1); /* from_ec2_role is explicit: env ignored */
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    ks_credentials_config cfg = {.from_ec2_role = true};
    new_chain(f, &cfg, "eu-west-1");
    ks_test_server_push_simple(f->srv, 200, "imds-token-1");
    ks_test_server_push_simple(f->srv, 200, "my-role\n");
    json_reply(f, "ASIAEC2A", 6 * 60 * MIN_MS);
    got g;
    get_wait(f, &g);
    assert_int_equal(g.err, KS_OK);
    assert_string_equal(g.akid, "ASIAEC2A");
    assert_string_equal(ks_creds_chain_source(f->chain), "ec2_metadata");
    assert_int_equal(ks_test_server_n_requests(f->srv), 3);
    check_imds(ks_test_server_request(f->srv, 0), "PUT", "/latest/api/token", NULL);
    check_imds(ks_test_server_request(f->srv, 1), "GET", IMDS_ROLE_PATH, "imds-token-1");
    check_imds(ks_test_server_request(f->srv, 2), "GET", IMDS_ROLE_PATH "my-role", "imds-token-1");

    /* refresh: the session token is reused */
    ks_creds_chain_invalidate(f->chain);
    ks_test_server_push_simple(f->srv, 200, "my-role");
    json_reply(f, "ASIAEC2B", 6 * 60 * MIN_MS);
    get_wait(f, &g);
    assert_string_equal(g.akid, "ASIAEC2B");
    assert_int_equal(ks_test_server_n_requests(f->srv), 5);
    check_imds(ks_test_server_request(f->srv, 3), "GET", IMDS_ROLE_PATH, "imds-token-1");

    /* a 401 (session token expired) gets a new token and retries */
    ks_fake_clock_advance(&f->clock, 10001);
    ks_creds_chain_invalidate(f->chain);
    ks_test_server_push_simple(f->srv, 401, "");
    ks_test_server_push_simple(f->srv, 200, "imds-token-2");
    ks_test_server_push_simple(f->srv, 200, "my-role");
    json_reply(f, "ASIAEC2C", 6 * 60 * MIN_MS);
    get_wait(f, &g);
    assert_string_equal(g.akid, "ASIAEC2C");
    assert_int_equal(ks_test_server_n_requests(f->srv), 9);
    check_imds(ks_test_server_request(f->srv, 5), "GET", IMDS_ROLE_PATH, "imds-token-1");
    check_imds(ks_test_server_request(f->srv, 6), "PUT", "/latest/api/token", NULL);
    check_imds(ks_test_server_request(f->srv, 8), "GET", IMDS_ROLE_PATH "my-role", "imds-token-2");
}

static void test_imds_last_resort_env_endpoint(void **state)
{
    fixture *f = *state;
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ks_test_server_url(f->srv), 1);
    ks_creds_chain_options o = {.loop = &f->loop, .http = f->http, .clock = &f->clock.clock};
    assert_int_equal(ks_creds_chain_new(&o, &f->chain), KS_OK);
    ks_test_server_push_simple(f->srv, 200, "tok");
    ks_test_server_push_simple(f->srv, 200, "role-x");
    json_reply(f, "ASIALAST", 60 * MIN_MS);
    got g;
    get_wait(f, &g);
    assert_int_equal(g.err, KS_OK);
    assert_string_equal(ks_creds_chain_source(f->chain), "ec2_metadata");
    check_imds(ks_test_server_request(f->srv, 2), "GET", IMDS_ROLE_PATH "role-x", "tok");
    ks_creds_chain_destroy(f->chain);
    f->chain = NULL;
    /* AWS_EC2_METADATA_DISABLED keeps the default chain off IMDS */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    assert_int_equal(ks_creds_chain_new(&o, &f->chain), KS_OK);
    get_wait(f, &g);
    assert_int_equal(g.err, KS_ERR_NOT_FOUND);
    assert_int_equal(ks_test_server_n_requests(f->srv), 3);
}

/* ---- AssumeRole ---- */

/* Recomputes the SigV4 Authorization of a recorded request with the given secret. */
static void check_signature(const ks_test_request *r, const char *akid, const char *secret,
                            const char *region, int with_token)
{
    const char *amz_date = ks_test_request_header(r, "x-amz-date");
    assert_non_null(amz_date);
    ks_http_header h[4] = {
        {"content-type", ks_test_request_header(r, "content-type")},
        {"host", ks_test_request_header(r, "host")},
        {"x-amz-date", amz_date},
        {"x-amz-security-token", ks_test_request_header(r, "x-amz-security-token")},
    };
    ks_sigv4_request sreq = {
        .method = r->method,
        .path = r->path,
        .headers = h,
        .n_headers = with_token ? 4 : 3,
        .body = r->body,
        .body_len = r->body_len,
        .normalize_path = 1,
    };
    char date[9];
    memcpy(date, amz_date, 8);
    date[8] = '\0';
    ks_sigv4_params p = {akid, secret, region, "sts", T0_WALL / 1000};
    ks_buf want;
    ks_buf_init(&want);
    assert_int_equal(ks_sigv4_authorization(&p, &sreq, &want), KS_OK);
    assert_string_equal(ks_test_request_header(r, "authorization"), want.data);
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "AWS4-HMAC-SHA256 Credential=%s/%s/%s/sts/aws4_request", akid,
             date, region);
    assert_memory_equal(want.data, prefix, strlen(prefix));
    ks_buf_clean_up(&want);
}

static void test_assume_role_static_base(void **state)
{
    fixture *f = *state;
    ks_credentials_config cfg = {.id = "AKIDBASE",
                                 .secret = "basesecret",
                                 .role = "arn:aws:iam::123456789012:role/target",
                                 .role_external_id = "ext-1"};
    new_chain(f, &cfg, "eu-west-1");
    sts_reply(f, "AssumeRole", "ASIAROLE1", 60 * MIN_MS);
    got g;
    get_wait(f, &g);
    assert_int_equal(g.err, KS_OK);
    assert_string_equal(g.akid, "ASIAROLE1");
    assert_string_equal(g.token, "token-ASIAROLE1");
    assert_string_equal(ks_creds_chain_source(f->chain), "assume_role");
    const ks_test_request *r = ks_test_server_request(f->srv, 0);
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->body, "Action=AssumeRole&Version=2011-06-15"
                                 "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Ftarget"
                                 "&RoleSessionName=kinesis-sidecar-1795685913000"
                                 "&ExternalId=ext-1");
    assert_string_equal(ks_test_request_header(r, "x-amz-date"), "20261126T093833Z");
    assert_null(ks_test_request_header(r, "x-amz-security-token"));
    check_signature(r, "AKIDBASE", "basesecret", "eu-west-1", 0);
    assert_null(strstr(ks_test_log_text(&f->log), "basesecret"));
}

static void test_assume_role_on_web_identity(void **state)
{
    fixture *f = *state;
    ks_test_write_file(f->path[0], "jwt-1");
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", f->path[0], 1);
    setenv("AWS_ROLE_SESSION_NAME", "s1", 1);
    ks_credentials_config cfg = {.role = "arn:aws:iam::999999999999:role/cross"};
    new_chain(f, &cfg, "us-east-2");
    sts_reply(f, "AssumeRoleWithWebIdentity", "ASIABASE", 60 * MIN_MS);
    sts_reply(f, "AssumeRole", "ASIACROSS", 60 * MIN_MS);
    got g;
    get_wait(f, &g);
    assert_int_equal(g.err, KS_OK);
    assert_string_equal(g.akid, "ASIACROSS");
    assert_int_equal(ks_test_server_n_requests(f->srv), 2);
    const ks_test_request *r0 = ks_test_server_request(f->srv, 0);
    assert_non_null(strstr(r0->body, "Action=AssumeRoleWithWebIdentity&"));
    assert_non_null(strstr(r0->body, "&WebIdentityToken=jwt-1"));
    assert_null(ks_test_request_header(r0, "authorization"));
    const ks_test_request *r1 = ks_test_server_request(f->srv, 1);
    assert_non_null(strstr(r1->body, "Action=AssumeRole&"));
    assert_null(strstr(r1->body, "ExternalId"));
    /* signed with the web identity credentials, their session token included */
    assert_string_equal(ks_test_request_header(r1, "x-amz-security-token"), "token-ASIABASE");
    check_signature(r1, "ASIABASE", "secret-ASIABASE", "us-east-2", 1);

    /* STS refuses the base: clear error, the old role credentials stay in use */
    ks_fake_clock_advance(&f->clock, 56 * MIN_MS);
    ks_test_server_push_simple(f->srv, 403,
                               "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                               "<Message>not authorized to perform sts:AssumeRole</Message>"
                               "</Error></ErrorResponse>");
    memset(&g, 0, sizeof(g));
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_string_equal(g.akid, "ASIACROSS");
    wait_log(f, "keeping the cached credentials");
    assert_int_equal(ks_test_server_n_requests(f->srv), 3);
    assert_non_null(strstr(ks_test_server_request(f->srv, 2)->body, "Action=AssumeRole&"));
    get_wait(f, &g);
    assert_string_equal(g.akid, "ASIACROSS");
    assert_non_null(strstr(ks_test_log_text(&f->log),
                           "AccessDenied: not authorized to perform sts:AssumeRole"));
}

static void test_destroy_during_fetch(void **state)
{
    fixture *f = *state;
    ks_credentials_config cfg = {.from_ec2_role = true};
    new_chain(f, &cfg, "eu-west-1");
    ks_test_server_push(f->srv, &(ks_test_reply){.action = KS_TEST_HANG});
    got g = {0};
    ks_creds_chain_get(f->chain, on_creds, &g);
    wait_requests(f, 1);
    assert_int_equal(g.calls, 0);
    ks_creds_chain_destroy(f->chain);
    f->chain = NULL;
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.err, KS_ERR_CANCELLED);
    assert_int_equal(ks_http_pending(f->http), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_web_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_web_identity_sts_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container_refuses_non_loopback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imds_last_resort_env_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assume_role_static_base, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assume_role_on_web_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_during_fetch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
