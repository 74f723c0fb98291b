/* Credential parsing without network: INI/profile files, ISO-8601, URL and address
 * checks for container endpoints, credentials JSON, STS XML answers and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aws/creds_provider.h"
#include "core/buf.h"

static const char creds_file[] = "# comment\n"
                                 "[default]\n"
                                 "aws_access_key_id = AKIDDEFAULT\n"
                                 "aws_secret_access_key=secretdefault\n"
                                 "\n"
                                 "[dev]\r\n"
                                 "  aws_access_key_id = AKIDDEV   \r\n"
                                 "aws_secret_access_key = secret/dev+x ; inline comment\r\n"
                                 "aws_session_token = tokendev\r\n"
                                 "[half]\n"
                                 "aws_access_key_id = AKIDHALF\n";

static const char config_file[] = "[default]\n"
                                  "region = eu-west-1\n"
                                  "[profile cfgonly]\n"
                                  "s3 =\n"
                                  "  aws_access_key_id = NESTED_NOT_A_KEY\n"
                                  "aws_access_key_id = AKIDCFG\n"
                                  "aws_secret_access_key = secretcfg\n"
                                  "[cfgonly]\n"
                                  "aws_access_key_id = WRONG_SECTION_STYLE\n"
                                  "[profile  dev ]\n"
                                  "aws_access_key_id = AKIDDEV_FROM_CONFIG\n"
                                  "region = us-west-2\n";

static void test_ini_get(void **state)
{
    (void)state;
    ks_buf v;
    ks_buf_init(&v);
    assert_int_equal(
        ks_creds_ini_get(creds_file, strlen(creds_file), "dev", 0, "aws_secret_access_key", &v),
        KS_OK);
    assert_string_equal(v.data, "secret/dev+x");
    ks_buf_reset(&v);
    assert_int_equal(
        ks_creds_ini_get(creds_file, strlen(creds_file), "dev", 0, "aws_access_key_id", &v), KS_OK);
    assert_string_equal(v.data, "AKIDDEV");
    ks_buf_reset(&v);
    /* config style: "[profile dev]" with odd spacing, "[default]" */
    assert_int_equal(ks_creds_ini_get(config_file, strlen(config_file), "dev", 1, "region", &v),
                     KS_OK);
    assert_string_equal(v.data, "us-west-2");
    ks_buf_reset(&v);
    assert_int_equal(ks_creds_ini_get(config_file, strlen(config_file), "default", 1, "region", &v),
                     KS_OK);
    assert_string_equal(v.data, "eu-west-1");
    ks_buf_reset(&v);
    /* nested sub-properties are not keys of the profile */
    assert_int_equal(
        ks_creds_ini_get(config_file, strlen(config_file), "cfgonly", 1, "aws_access_key_id", &v),
        KS_OK);
    assert_string_equal(v.data, "AKIDCFG");
    ks_buf_reset(&v);
    /* "[cfgonly]" is not a profile section in the config file, but is in credentials */
    assert_int_equal(
        ks_creds_ini_get(config_file, strlen(config_file), "cfgonly", 0, "aws_access_key_id", &v),
        KS_OK);
    assert_string_equal(v.data, "WRONG_SECTION_STYLE");
    assert_int_equal(
        ks_creds_ini_get(creds_file, strlen(creds_file), "nope", 0, "aws_access_key_id", &v),
        KS_ERR_NOT_FOUND);
    assert_int_equal(
        ks_creds_ini_get(creds_file, strlen(creds_file), "default", 0, "aws_session_token", &v),
        KS_ERR_NOT_FOUND);
    ks_buf_clean_up(&v);
}

static void test_profile_resolve(void **state)
{
    (void)state;
    ks_aws_creds c = {0};
    size_t cl = strlen(creds_file), gl = strlen(config_file);
    assert_int_equal(ks_creds_profile_resolve(creds_file, cl, config_file, gl, "dev", &c), KS_OK);
    assert_string_equal(c.access_key_id, "AKIDDEV"); /* credentials file wins */
    assert_string_equal(c.secret_access_key, "secret/dev+x");
    assert_string_equal(c.session_token, "tokendev");
    assert_int_equal(c.expires_wall_ms, 0);
    ks_aws_creds_clean_up(&c);

    assert_int_equal(ks_creds_profile_resolve(creds_file, cl, config_file, gl, "default", &c),
                     KS_OK);
    assert_string_equal(c.access_key_id, "AKIDDEFAULT");
    assert_null(c.session_token);
    ks_aws_creds_clean_up(&c);

    assert_int_equal(ks_creds_profile_resolve(creds_file, cl, config_file, gl, "cfgonly", &c),
                     KS_OK);
    assert_string_equal(c.access_key_id, "AKIDCFG");
    assert_string_equal(c.secret_access_key, "secretcfg");
    ks_aws_creds_clean_up(&c);

    assert_int_equal(ks_creds_profile_resolve(NULL, 0, config_file, gl, "cfgonly", &c), KS_OK);
    ks_aws_creds_clean_up(&c);
    assert_int_equal(ks_creds_profile_resolve(creds_file, cl, NULL, 0, "half", &c), KS_ERR_INVALID);
    assert_int_equal(ks_creds_profile_resolve(creds_file, cl, config_file, gl, "missing", &c),
                     KS_ERR_NOT_FOUND);
    assert_int_equal(ks_creds_profile_resolve(NULL, 0, NULL, 0, "default", &c), KS_ERR_NOT_FOUND);
}

static void test_iso8601(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_int_equal(ks_creds_parse_iso8601("2026-11-26T09:38:33Z", &ms), KS_OK);
    assert_int_equal(ms, 1795685913000LL);
    assert_int_equal(ks_creds_parse_iso8601("2026-11-26T09:38:33.250Z", &ms), KS_OK);
    assert_int_equal(ms, 1795685913250LL);
    assert_int_equal(ks_creds_parse_iso8601("2026-11-26T11:38:33+02:00", &ms), KS_OK);
    assert_int_equal(ms, 1795685913000LL);
    assert_int_equal(ks_creds_parse_iso8601("1970-01-01T00:00:00Z", &ms), KS_OK);
    assert_int_equal(ms, 0);
    static const char *bad[] = {"",
                                "2026-11-26",
                                "2026-11-26T09:38:33",
                                "2026-13-26T09:38:33Z",
                                "2026-11-26T09:38Z",
                                "2026-11-26T09:38:33Zjunk",
                                "2026-11-26T09:38:33.Z",
                                "x026-11-26T09:38:33Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ks_creds_parse_iso8601(bad[i], &ms), KS_ERR_PARSE);
}

static void test_container_url_allowed(void **state)
{
    (void)state;
    static const char *ok[] = {"http://127.0.0.1/creds",
                               "http://127.0.0.1:8080/get?x=1",
                               "http://127.1.2.3:80",
                               "http://[::1]:8080/creds",
                               "http://169.254.170.2/v2/credentials/abc",
                               "http://169.254.170.23/v1/credentials",
                               "http://[fd00:ec2::23]/v1/credentials",
                               "https://example.com/creds",
                               "HTTPS://anything.example:8443/x"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (!ks_creds_container_url_allowed(ok[i]))
            fail_msg("should be allowed: %s", ok[i]);
    }
    static const char *bad[] = {"http://127.0.0.1.evil.com/creds",
                                "http://127.0.0.1@evil.com/creds",
                                "http://evil.com:80@127.0.0.1/creds",
                                "http://localhost/creds",
                                "http://169.254.169.254/latest",
                                "http://169.254.170.3/creds",
                                "http://10.0.0.1/creds",
                                "http://[fd00:ec2::24]/creds",
                                "http://[::2]/creds",
                                "http://0x7f000001/creds",
                                "http://127.0.0.1:99999/",
                                "http://127.0.0.1:/",
                                "ftp://127.0.0.1/creds",
                                "127.0.0.1/creds",
                                "http:///creds"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ks_creds_container_url_allowed(bad[i]))
            fail_msg("should be refused: %s", bad[i]);
    }
}

static void test_url_parse(void **state)
{
    (void)state;
    ks_creds_url u;
    assert_int_equal(ks_creds_url_parse("https://sts.eu-west-1.amazonaws.com/", &u), KS_OK);
    assert_string_equal(u.scheme, "https");
    assert_string_equal(u.host, "sts.eu-west-1.amazonaws.com");
    assert_string_equal(u.authority, "sts.eu-west-1.amazonaws.com");
    assert_int_equal(u.port, 0);
    assert_int_equal(ks_creds_url_parse("http://[::1]:4566/x", &u), KS_OK);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.authority, "[::1]:4566");
    assert_int_equal(u.port, 4566);
}

static void test_urlencode(void **state)
{
    (void)state;
    ks_buf b;
    ks_buf_init(&b);
    assert_int_equal(ks_creds_urlencode(&b, "arn:aws:iam::123:role/x y+z~._-"), KS_OK);
    assert_string_equal(b.data, "arn%3Aaws%3Aiam%3A%3A123%3Arole%2Fx%20y%2Bz~._-");
    ks_buf_reset(&b);
    assert_int_equal(ks_creds_urlencode(&b, ""), KS_OK);
    assert_string_equal(b.data, "");
    ks_buf_clean_up(&b);
}

static void test_parse_json(void **state)
{
    (void)state;
    ks_aws_creds c = {0};
    const char *ok = "{\"Code\":\"Success\",\"AccessKeyId\":\"ASIA1\",\"SecretAccessKey\":\"s1\","
                     "\"Token\":\"t1\",\"Expiration\":\"2026-11-26T09:38:33Z\"}";
    assert_int_equal(ks_creds_parse_json(ok, strlen(ok), &c), KS_OK);
    assert_string_equal(c.access_key_id, "ASIA1");
    assert_string_equal(c.secret_access_key, "s1");
    assert_string_equal(c.session_token, "t1");
    assert_int_equal(c.expires_wall_ms, 1795685913000LL);
    ks_aws_creds_clean_up(&c);
    assert_null(c.access_key_id);
    static const char *bad[] = {
        "", "[]", "{\"AccessKeyId\":\"A\"}",
        "{\"Code\":\"Failure\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\"}",
        "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Expiration\":\"soon\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ks_creds_parse_json(bad[i], strlen(bad[i]), &c), KS_ERR_PARSE);
}

static const char sts_ok[] =
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleWithWebIdentityResult>\n"
    "    <SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</SubjectFromWebIdentityToken>\n"
    "    <AssumedRoleUser><Arn>arn:aws:sts::123:assumed-role/r/s</Arn>"
    "<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <AccessKeyId>ASIAWEB</AccessKeyId>\n"
    "      <SecretAccessKey>webSecret</SecretAccessKey>\n"
    "      <SessionToken>webToken</SessionToken>\n"
    "      <Expiration>2026-11-26T10:38:33Z</Expiration>\n"
    "    </Credentials>\n"
    "  </AssumeRoleWithWebIdentityResult>\n"
    "  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>\n"
    "</AssumeRoleWithWebIdentityResponse>\n";

static void test_parse_sts(void **state)
{
    (void)state;
    ks_aws_creds c = {0};
    assert_int_equal(ks_creds_parse_sts_xml(sts_ok, strlen(sts_ok), &c), KS_OK);
    assert_string_equal(c.access_key_id, "ASIAWEB");
    assert_string_equal(c.secret_access_key, "webSecret");
    assert_string_equal(c.session_token, "webToken");
    assert_int_equal(c.expires_wall_ms, 1795685913000LL + 3600000);
    ks_aws_creds_clean_up(&c);
    const char *no_creds = "<AssumeRoleResponse><AssumeRoleResult/></AssumeRoleResponse>";
    assert_int_equal(ks_creds_parse_sts_xml(no_creds, strlen(no_creds), &c), KS_ERR_PARSE);
    assert_int_equal(ks_creds_parse_sts_xml("not xml <", 9, &c), KS_ERR_PARSE);

    const char *err_xml = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                          "<Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
                          "<Message>Token expired</Message></Error>"
                          "<RequestId>r-2</RequestId></ErrorResponse>";
    ks_buf code, msg;
    ks_buf_init(&code);
    ks_buf_init(&msg);
    assert_int_equal(ks_creds_sts_error(err_xml, strlen(err_xml), 400, &code, &msg),
                     KS_ERR_AWS_ACCESS_DENIED);
    assert_string_equal(code.data, "InvalidIdentityToken");
    assert_string_equal(msg.data, "Token expired");
    ks_buf_reset(&code);
    ks_buf_reset(&msg);
    const char *thr = "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded"
                      "</Message></Error></ErrorResponse>";
    assert_int_equal(ks_creds_sts_error(thr, strlen(thr), 400, &code, &msg), KS_ERR_AWS_THROTTLED);
    ks_buf_reset(&code);
    ks_buf_reset(&msg);
    assert_int_equal(ks_creds_sts_error("", 0, 503, &code, &msg), KS_ERR_AWS_SERVER);
    assert_string_equal(code.data, "");
    ks_buf_clean_up(&code);
    ks_buf_clean_up(&msg);
}

static void test_creds_copy(void **state)
{
    (void)state;
    ks_aws_creds a = {0}, b = {0};
    assert_int_equal(ks_creds_set(&a, "AKID", "sec", NULL, 42), KS_OK);
    assert_int_equal(ks_aws_creds_copy(&a, &b), KS_OK);
    assert_string_equal(b.access_key_id, "AKID");
    assert_ptr_not_equal(b.access_key_id, a.access_key_id);
    assert_null(b.session_token);
    assert_int_equal(b.expires_wall_ms, 42);
    ks_aws_creds_clean_up(&a);
    ks_aws_creds_clean_up(&b);
    ks_aws_creds_clean_up(NULL);
    assert_int_equal(ks_creds_set(&a, "AKID", "", NULL, 0), KS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ini_get),    cmocka_unit_test(test_profile_resolve),
        cmocka_unit_test(test_iso8601),    cmocka_unit_test(test_container_url_allowed),
        cmocka_unit_test(test_url_parse),  cmocka_unit_test(test_urlencode),
        cmocka_unit_test(test_parse_json), cmocka_unit_test(test_parse_sts),
        cmocka_unit_test(test_creds_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
