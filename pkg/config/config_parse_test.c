/* pkg/config: interpolation, durations, scalars, stream list splitting, the reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/config_internal.h"
#include "core/buf.h"
#include "core/testutil.h"

static char g_out[8192];

static ks_err load(const char *yaml, ks_config **out)
{
    ks_config_diags d;
    ks_config_diags_init(&d);
    *out = NULL;
    ks_err err = ks_config_load_string("t.yaml", yaml, strlen(yaml), out, &d);
    FILE *f = fmemopen(g_out, sizeof(g_out), "w");
    assert_non_null(f);
    ks_config_diags_print(&d, f);
    fclose(f);
    ks_config_diags_clean_up(&d);
    return err;
}

#define HEAD "input:\n  aws_kinesis:\n    streams: [s]\n    dynamodb:\n      table: t\n"

static void test_interpolation(void **state)
{
    (void)state;
    setenv("KS_T_REGION", "eu-central-1", 1);
    setenv("KS_T_LIMIT", "77", 1);
    setenv("KS_T_EMPTY", "", 1);
    setenv("KS_T_STREAMS", "a, b:shardId-1", 1);
    unsetenv("KS_T_UNSET");
    ks_config *c;
    assert_int_equal(load("input:\n  aws_kinesis:\n    streams: [\"${KS_T_STREAMS}\", c]\n"
                          "    dynamodb:\n      table: ${KS_T_UNSET:leases}-${KS_T_REGION}\n"
                          "      endpoint: ${KS_T_UNSET:http://localhost:4566}\n"
                          "    region: ${KS_T_REGION}\n"
                          "    checkpoint_limit: ${KS_T_LIMIT}\n"
                          "    commit_period: ${KS_T_EMPTY:3s}\n"
                          "    endpoint: \"$${KS_T_REGION}\"\n"
                          "    batching:\n      check: '${! this.end }'\n"
                          "    label_typo_free: x\n",
                          &c),
                     KS_ERR_INVALID); /* the last key is unknown: still check the rest */
    assert_non_null(strstr(g_out, "t.yaml:13: input.aws_kinesis.label_typo_free: unknown key"));
    assert_int_equal(load("input:\n  aws_kinesis:\n    streams: [\"${KS_T_STREAMS}\", c]\n"
                          "    dynamodb:\n      table: ${KS_T_UNSET:leases}-${KS_T_REGION}\n"
                          "      endpoint: ${KS_T_UNSET:http://localhost:4566}\n"
                          "    region: ${KS_T_REGION}\n"
                          "    checkpoint_limit: ${KS_T_LIMIT}\n"
                          "    commit_period: ${KS_T_EMPTY:3s}\n"
                          "    endpoint: \"$${KS_T_REGION}\"\n"
                          "    batching:\n      check: '${! this.end }'\n"
                          "    credentials: {profile: \"${KS_T_EMPTY}\"}\n",
                          &c),
                     KS_OK);
    assert_int_equal(c->input.n_streams, 3);
    assert_string_equal(c->input.streams[0].stream, "a");
    assert_string_equal(c->input.streams[1].stream, "b");
    assert_string_equal(c->input.streams[1].shard_id, "shardId-1");
    assert_string_equal(c->input.streams[2].stream, "c");
    assert_string_equal(c->input.dynamodb.table, "leases-eu-central-1");
    assert_string_equal(c->input.dynamodb.endpoint, "http://localhost:4566");
    assert_string_equal(c->input.region, "eu-central-1");
    assert_int_equal(c->input.checkpoint_limit, 77);
    assert_int_equal(c->input.commit_period_ms, 3000); /* set but empty: the default */
    assert_string_equal(c->input.endpoint, "${KS_T_REGION}");
    assert_string_equal(c->input.batching.check, "${! this.end }");
    assert_null(c->input.credentials.profile); /* empty optional string = absent */
    ks_config_destroy(c);

    assert_int_equal(load(HEAD "    region: ${KS_T_UNSET}\n    lease_period: ${KS_T_UNSET}s\n", &c),
                     KS_ERR_INVALID);
    assert_non_null(strstr(g_out, "t.yaml:6: input.aws_kinesis.region: environment variable "
                                  "KS_T_UNSET is not set and has no default"));
    assert_non_null(strstr(g_out, "t.yaml:7: input.aws_kinesis.lease_period: environment "
                                  "variable KS_T_UNSET is not set"));
    /* an interpolated value is type-checked like a literal one */
    setenv("KS_T_BAD", "soon", 1);
    assert_int_equal(load(HEAD "    commit_period: ${KS_T_BAD}\n", &c), KS_ERR_INVALID);
    assert_non_null(strstr(g_out, "t.yaml:6: input.aws_kinesis.commit_period: expected a "
                                  "duration such as 500ms, 5s, 1m or 1h30m, got \"soon\""));
    unsetenv("KS_T_REGION");
    unsetenv("KS_T_LIMIT");
    unsetenv("KS_T_EMPTY");
    unsetenv("KS_T_STREAMS");
    unsetenv("KS_T_BAD");
}

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } ok[] = {{"500ms", 500}, {"5s", 5000},          {"1m", 60000}, {"1h30m", 5400000},
              {"1.5s", 1500}, {"\"2m30s\"", 150000}, {"0", 0},      {"'250ms'", 250}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char yaml[512];
        snprintf(yaml, sizeof(yaml),
                 HEAD "    steal_grace_period: %s\n    batching:\n"
                      "      period: %s\n",
                 ok[i].text, ok[i].text);
        ks_config *c;
        assert_int_equal(load(yaml, &c), KS_OK);
        assert_int_equal(c->input.steal_grace_period_ms, ok[i].ms);
        assert_int_equal(c->input.batching.period_ms, ok[i].ms);
        ks_config_destroy(c);
    }
    /* "" disables batching.period, but is not a duration elsewhere */
    ks_config *c;
    assert_int_equal(load(HEAD "    batching: {period: \"\"}\n", &c), KS_OK);
    assert_int_equal(c->input.batching.period_ms, 0);
    ks_config_destroy(c);
    assert_int_equal(load(HEAD "    commit_period: \"\"\n", &c), KS_ERR_INVALID);
    assert_non_null(strstr(g_out, "t.yaml:6: input.aws_kinesis.commit_period: expected a "
                                  "duration such as 500ms, 5s, 1m or 1h30m, got \"\""));
    /* a null value keeps the default */
    assert_int_equal(load(HEAD "    commit_period:\n    rebalance_period: ~\n", &c), KS_OK);
    assert_int_equal(c->input.commit_period_ms, 5000);
    assert_int_equal(c->input.rebalance_period_ms, 30000);
    ks_config_destroy(c);
}

static void test_scalars(void **state)
{
    (void)state;
    ks_config *c;
    assert_int_equal(load(HEAD "      create: True\n      billing_mode: PROVISIONED\n"
                               "      read_capacity_units: 10\n      write_capacity_units: +2\n"
                               "      credentials:\n        from_ec2_role: \"\"\n"
                               "    auto_replay_nacks: FALSE\n"
                               "    credentials: {from_ec2_role: true}\n"
                               "    checkpoint_limit: \"1\"\n"
                               "logger: {level: debug}\n",
                          &c),
                     KS_OK);
    assert_true(c->input.dynamodb.create);
    assert_int_equal(c->input.dynamodb.billing_mode, KS_BILLING_PROVISIONED);
    assert_int_equal(c->input.dynamodb.read_capacity_units, 10);
    assert_int_equal(c->input.dynamodb.write_capacity_units, 2);
    assert_false(c->input.dynamodb.credentials.from_ec2_role);
    assert_true(c->input.credentials.from_ec2_role);
    assert_false(c->input.auto_replay_nacks);
    assert_int_equal(c->input.checkpoint_limit, 1);
    assert_int_equal(c->logger.level, KS_LOG_DEBUG);
    ks_config_destroy(c);
    /* "" is false only for from_ec2_role (the seed writes it that way) */
    assert_int_equal(load(HEAD "    start_from_oldest: \"\"\n", &c), KS_ERR_INVALID);
    assert_non_null(strstr(g_out, "t.yaml:6: input.aws_kinesis.start_from_oldest: expected a "
                                  "bool"));
    /* billing_mode is case-sensitive (passed to DynamoDB as is) */
    assert_int_equal(load(HEAD "      billing_mode: provisioned\n", &c), KS_ERR_INVALID);
    /* anchors and aliases work (document API) */
    assert_int_equal(load(HEAD "    commit_period: &p 7s\n    lease_period: *p\n", &c), KS_OK);
    assert_int_equal(c->input.commit_period_ms, 7000);
    assert_int_equal(c->input.lease_period_ms, 7000);
    assert_non_null(strstr(g_out, "t.yaml:7: input.aws_kinesis.lease_period: warning: "));
    ks_config_destroy(c);
    assert_int_equal(load("x-common: &p 7s\n" HEAD, &c), KS_ERR_INVALID);
    assert_non_null(strstr(g_out, "t.yaml:1: x-common: unknown key"));
}

static void test_stream_splitting(void **state)
{
    (void)state;
    static const char *entries =
        "      - foo\n"
        "      - \" bar , baz:0 ,, \"\n"
        "      - arn:aws:kinesis:us-east-1:123456789012:stream/orders\n"
        "      - \"arn:aws:kinesis:us-east-1:123456789012:stream/orders:shardId-000000000000\"\n"
        "      - arn:aws-cn:kinesis:cn-north-1:1:stream/x:shardId-7, qux:shardId-000000000002\n"
        "      - \"arn:aws:kinesis:*:111122223333:stream/my-stream\"\n";
    static const struct {
        const char *stream, *shard;
    } want[] = {
        {"foo", NULL},
        {"bar", NULL},
        {"baz", "0"},
        {"arn:aws:kinesis:us-east-1:123456789012:stream/orders", NULL},
        {"arn:aws:kinesis:us-east-1:123456789012:stream/orders", "shardId-000000000000"},
        {"arn:aws-cn:kinesis:cn-north-1:1:stream/x", "shardId-7"},
        {"qux", "shardId-000000000002"},
        {"arn:aws:kinesis:*:111122223333:stream/my-stream", NULL},
    };
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "input:\n  aws_kinesis:\n    dynamodb: {table: t}\n"
             "    streams:\n%s",
             entries);
    ks_config *c;
    assert_int_equal(load(yaml, &c), KS_OK);
    assert_int_equal(c->input.n_streams, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < c->input.n_streams; i++) {
        assert_string_equal(c->input.streams[i].stream, want[i].stream);
        if (want[i].shard)
            assert_string_equal(c->input.streams[i].shard_id, want[i].shard);
        else
            assert_null(c->input.streams[i].shard_id);
    }
    ks_config_destroy(c);

    static const struct {
        const char *entry, *want;
    } bad[] = {
        {"a:b:c", "\"a:b:c\": too many ':' (expected STREAM or STREAM:SHARD)"},
        {":0", "\":0\": expected STREAM:SHARD with both parts non-empty"},
        {"arn:aws:kinesis:us-east-1:1:stream/s:shard:x", "too many ':'"},
        {"arn:aws:kinesis:us-east-1:1:table/s", "ARN resource must be stream/NAME"},
        {"arn:aws:kinesis:us-east-1:1:stream/", "ARN resource must be stream/NAME"},
        {"arn:aws:kinesis", "malformed ARN"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(yaml, sizeof(yaml),
                 "input:\n  aws_kinesis:\n    dynamodb: {table: t}\n"
                 "    streams:\n      - ok\n      - \"%s\"\n",
                 bad[i].entry);
        assert_int_equal(load(yaml, &c), KS_ERR_INVALID);
        if (!strstr(g_out, "t.yaml:6: input.aws_kinesis.streams: ") || !strstr(g_out, bad[i].want))
            fail_msg("%s: got\n%s", bad[i].entry, g_out);
    }
    /* duplicates are a warning */
    assert_int_equal(load("input:\n  aws_kinesis:\n    dynamodb: {table: t}\n"
                          "    streams: [\"a,a\"]\n",
                          &c),
                     KS_OK);
    assert_non_null(strstr(g_out, "t.yaml:4: input.aws_kinesis.streams: warning: \"a\" is listed "
                                  "more than once"));
    ks_config_destroy(c);
}

#define BEGIN_MARK "<!-- BEGIN GENERATED REFERENCE -->\n"
#define END_MARK "<!-- END GENERATED REFERENCE -->"

/* docs/config.md carries the reference generated from the table, verbatim.
 * KS_CONFIG_WRITE_DOCS=1 rewrites that part of the file instead of checking it. */
static void test_reference_matches_docs(void **state)
{
    (void)state;
    ks_buf ref;
    ks_buf_init(&ref);
    assert_int_equal(ks_config_reference_markdown(&ref), KS_OK);
    for (size_t i = 0; i < ks_cfg_n_fields; i++) {
        char heading[256];
        snprintf(heading, sizeof(heading), "### `%s`\n", ks_cfg_fields[i].path);
        assert_non_null(strstr(ref.data, heading));
    }
    assert_non_null(strstr(ref.data, "- Options: `PAY_PER_REQUEST`, `PROVISIONED`\n"));
    assert_non_null(strstr(ref.data, "### `input.aws_kinesis.commit_period`\n\nThe period of "
                                     "time between each update to the checkpoint table. Must be "
                                     "> 0.\n\n- Type: `duration`\n- Default: `5s`\n"));
    const char *docs = getenv("KS_CONFIG_DOCS") ? getenv("KS_CONFIG_DOCS") : "docs/config.md";
    char *md = ks_test_read_file(docs, NULL);
    if (!md) {
        fail_msg("cannot read %s (run from the repository root)", docs);
        return;
    }
    char *b = strstr(md, BEGIN_MARK), *e = strstr(md, END_MARK);
    assert_non_null(b);
    assert_non_null(e);
    b += strlen(BEGIN_MARK);
    if (getenv("KS_CONFIG_WRITE_DOCS")) {
        FILE *f = fopen(docs, "wb");
        assert_non_null(f);
        fwrite(md, 1, (size_t)(b - md), f);
        fwrite(ref.data, 1, ref.len, f);
        fputs(e, f);
        fclose(f);
    } else if ((size_t)(e - b) != ref.len || memcmp(b, ref.data, ref.len) != 0) {
        fail_msg("%s is out of date with the field table: run KS_CONFIG_WRITE_DOCS=1 "
                 "build/tests/config/config_parse_test",
                 docs);
    }
    free(md);
    ks_buf_clean_up(&ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interpolation),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_stream_splitting),
        cmocka_unit_test(test_reference_matches_docs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
