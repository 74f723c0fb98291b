/* pkg/config: every class of diagnostic, with its exact FILE:LINE: key.path; secrets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"

static char g_out[8192];

/* Loads yaml as "t.yaml"; returns the error, printed diagnostics in g_out. */
static ks_err load_print(const char *yaml, size_t *n_errors)
{
    ks_config_diags d;
    ks_config_diags_init(&d);
    ks_config *c = (ks_config *)&d; /* must stay untouched on failure */
    ks_config *before = c;
    ks_err err = ks_config_load_string("t.yaml", yaml, strlen(yaml), &c, &d);
    FILE *f = fmemopen(g_out, sizeof(g_out), "w");
    assert_non_null(f);
    ks_config_diags_print(&d, f);
    fclose(f);
    if (err == KS_OK)
        ks_config_destroy(c);
    else
        assert_ptr_equal(c, before);
    if (n_errors)
        *n_errors = ks_config_diags_errors(&d);
    ks_config_diags_clean_up(&d);
    return err;
}

#define HEAD "input:\n  aws_kinesis:\n    streams: [s]\n    dynamodb:\n      table: t\n"
/* line 6 onwards is free for the case */

static const struct {
    const char *yaml;
    const char *want; /* an exact diagnostic line */
} cases[] = {
    /* unknown keys */
    {HEAD "    comit_period: 5s\n", "t.yaml:6: input.aws_kinesis.comit_period: unknown key"},
    {HEAD "      tcp:\n        keep_alive: {idel: 1s}\n",
     "t.yaml:7: input.aws_kinesis.dynamodb.tcp.keep_alive.idel: unknown key"},
    {HEAD "outptu: {}\n", "t.yaml:6: outptu: unknown key"},
    {HEAD "http: {adress: x}\n", "t.yaml:6: http.adress: unknown key"},
    {"input:\n  kafka: {}\n",
     "t.yaml:2: input.kafka: unsupported input \"kafka\" (only aws_kinesis and label)"},
    {HEAD "    commit_period: 5s\n    commit_period: 6s\n",
     "t.yaml:7: input.aws_kinesis: duplicate key \"commit_period\""},
    /* wrong types */
    {HEAD "    checkpoint_limit: many\n",
     "t.yaml:6: input.aws_kinesis.checkpoint_limit: expected an integer, got \"many\""},
    {HEAD "    checkpoint_limit: 1.5\n",
     "t.yaml:6: input.aws_kinesis.checkpoint_limit: expected an integer, got \"1.5\""},
    {HEAD "    auto_replay_nacks: maybe\n",
     "t.yaml:6: input.aws_kinesis.auto_replay_nacks: expected a bool (true or false), got "
     "\"maybe\""},
    {HEAD "    region: [a, b]\n",
     "t.yaml:6: input.aws_kinesis.region: expected a string, got a list"},
    {HEAD "    tcp: 5\n", "t.yaml:6: input.aws_kinesis.tcp: expected a mapping, got a scalar"},
    {"input:\n  aws_kinesis:\n    streams: s\n",
     "t.yaml:3: input.aws_kinesis.streams: expected a list of strings, got a scalar"},
    {HEAD "    streams2: 1\n", "t.yaml:6: input.aws_kinesis.streams2: unknown key"},
    {"- a\n- b\n", "t.yaml:1: expected a mapping at the top level, got a list"},
    /* bad durations */
    {HEAD "    commit_period: 5\n",
     "t.yaml:6: input.aws_kinesis.commit_period: expected a duration such as 500ms, 5s, 1m or "
     "1h30m, got \"5\""},
    {HEAD "    batching: {period: soon}\n",
     "t.yaml:6: input.aws_kinesis.batching.period: expected a duration such as 500ms, 5s, 1m or "
     "1h30m, got \"soon\""},
    {HEAD "shutdown_timeout: 1x\n",
     "t.yaml:6: shutdown_timeout: expected a duration such as 500ms, 5s, 1m or 1h30m, got "
     "\"1x\""},
    /* required fields */
    {"logger: {level: INFO}\n", "t.yaml:1: input.aws_kinesis.streams: at least one stream is "
                                "required"},
    {"input:\n  label: x\n  aws_kinesis:\n    dynamodb: {table: t}\n",
     "t.yaml:3: input.aws_kinesis.streams: at least one stream is required"},
    {"input:\n  aws_kinesis:\n    streams: []\n    dynamodb: {table: t}\n",
     "t.yaml:3: input.aws_kinesis.streams: at least one stream is required"},
    {"input:\n  aws_kinesis:\n    streams:\n    dynamodb: {table: t}\n",
     "t.yaml:3: input.aws_kinesis.streams: at least one stream is required"},
    {"input:\n  aws_kinesis:\n    streams: [a]\n    dynamodb:\n      table: \"\"\n",
     "t.yaml:5: input.aws_kinesis.dynamodb.table: must not be empty (the checkpoint/lease table)"},
    {"input:\n  aws_kinesis:\n    streams: [a]\n",
     "t.yaml:2: input.aws_kinesis.dynamodb.table: must not be empty (the checkpoint/lease table)"},
    /* enums */
    {HEAD "      billing_mode: ON_DEMAND\n",
     "t.yaml:6: input.aws_kinesis.dynamodb.billing_mode: must be one of: PAY_PER_REQUEST, "
     "PROVISIONED, got \"ON_DEMAND\""},
    {HEAD "output: {fifo: {codec: csv}}\n",
     "t.yaml:6: output.fifo.codec: must be one of: json_lines, lines, length_prefixed, got "
     "\"csv\""},
    {HEAD "logger: {level: LOUD}\n", "t.yaml:6: logger.level: must be one of: OFF, NONE, FATAL, "
                                     "ERROR, WARN, WARNING, INFO, DEBUG, TRACE, ALL, got \"LOUD\""},
    {HEAD "logger: {format: xml}\n",
     "t.yaml:6: logger.format: must be one of: json, logfmt, got \"xml\""},
    /* impossible combinations */
    {HEAD "output:\n  fifo: {}\n  websocket: {}\n",
     "t.yaml:8: output.websocket: output.fifo and output.websocket are exclusive; set only one"},
    {HEAD "    tcp:\n      tcp_user_timeout: 20s\n",
     "t.yaml:6: input.aws_kinesis.tcp.keep_alive.idle: must be greater than tcp.tcp_user_timeout "
     "per RFC 5482 (idle 15000ms, tcp_user_timeout 20000ms)"},
    {HEAD "      tcp:\n        keep_alive:\n          idle: 10s\n        tcp_user_timeout: 10s\n",
     "t.yaml:8: input.aws_kinesis.dynamodb.tcp.keep_alive.idle: must be greater than "
     "tcp.tcp_user_timeout per RFC 5482 (idle 10000ms, tcp_user_timeout 10000ms)"},
    {HEAD "      create: true\n      billing_mode: PROVISIONED\n      read_capacity_units: 5\n",
     "t.yaml:7: input.aws_kinesis.dynamodb.billing_mode: create: true with PROVISIONED needs "
     "read_capacity_units and write_capacity_units > 0 (got 5 and 0)"},
    {HEAD "    credentials:\n      id: AKIDEXAMPLE\n",
     "t.yaml:7: input.aws_kinesis.credentials.id: is set without credentials.secret (id and "
     "secret go together)"},
    {HEAD "      credentials:\n        secret: hunter2\n",
     "t.yaml:7: input.aws_kinesis.dynamodb.credentials.secret: is set without credentials.id (id "
     "and secret go together)"},
    {HEAD "    credentials: {token: tok}\n",
     "t.yaml:6: input.aws_kinesis.credentials.token: a session token needs credentials.id and "
     "credentials.secret"},
    {HEAD "    checkpoint_limit: 0\n",
     "t.yaml:6: input.aws_kinesis.checkpoint_limit: must be >= 1 (got 0)"},
    {HEAD "    commit_period: 0s\n",
     "t.yaml:6: input.aws_kinesis.commit_period: must be positive (got 0ms)"},
    {HEAD "    lease_period: -1s\n",
     "t.yaml:6: input.aws_kinesis.lease_period: must be positive (got -1000ms)"},
    {HEAD "    rebalance_period: 0s\n",
     "t.yaml:6: input.aws_kinesis.rebalance_period: must be positive (got 0ms)"},
    {HEAD "    steal_grace_period: -2s\n",
     "t.yaml:6: input.aws_kinesis.steal_grace_period: must not be negative"},
    {HEAD "    get_records_limit: 10001\n",
     "t.yaml:6: input.aws_kinesis.get_records_limit: must be within 1..10000 (got 10001)"},
    {HEAD "    get_records_limit: 0\n",
     "t.yaml:6: input.aws_kinesis.get_records_limit: must be within 1..10000 (got 0)"},
    {HEAD "    idle_poll_max: 100ms\n",
     "t.yaml:6: input.aws_kinesis.idle_poll_max: must be at least 200ms (got 100ms)"},
    {HEAD "    max_claims_per_cycle: 0\n",
     "t.yaml:6: input.aws_kinesis.max_claims_per_cycle: must be >= 1 (got 0)"},
    {HEAD "    batching: {count: -1}\n",
     "t.yaml:6: input.aws_kinesis.batching.count: must not be negative"},
    {HEAD "output:\n  websocket:\n    max_in_flight: 0\n",
     "t.yaml:8: output.websocket.max_in_flight: must be >= 1 (got 0)"},
    {HEAD "output:\n  websocket:\n    address: localhost\n",
     "t.yaml:8: output.websocket.address: \"localhost\": expected HOST:PORT"},
    {HEAD "http:\n  address: 0.0.0.0:99999\n",
     "t.yaml:7: http.address: \"0.0.0.0:99999\": expected HOST:PORT"},
    /* processors */
    {HEAD "    batching:\n      processors:\n        - bloblang: root = this\n",
     "t.yaml:8: input.aws_kinesis.batching.processors: processor \"bloblang\" is not supported "
     "(only archive with format concatenate, lines, json_array or binary)"},
    {HEAD "    batching:\n      processors:\n        - archive: {format: tar}\n",
     "t.yaml:8: input.aws_kinesis.batching.processors.archive.format: must be one of: "
     "concatenate, lines, json_array, binary, got \"tar\""},
    {HEAD "    batching:\n      processors:\n        - archive: {format: lines}\n",
     "t.yaml:7: input.aws_kinesis.batching.processors: needs at least one trigger (count, "
     "byte_size, period or check)"},
    {HEAD "    batching:\n      processors:\n        - archive: {}\n",
     "t.yaml:8: input.aws_kinesis.batching.processors.archive.format: is required (concatenate, "
     "lines, json_array or binary)"},
    /* streams */
    {"input:\n  aws_kinesis:\n    dynamodb: {table: t}\n    streams: [\"foo:\"]\n",
     "t.yaml:4: input.aws_kinesis.streams: \"foo:\": expected STREAM:SHARD with both parts "
     "non-empty"},
    {"input:\n  aws_kinesis:\n    streams:\n      - ok\n      - arn:aws:kinesis:us-east-1\n"
     "    dynamodb: {table: t}\n",
     "t.yaml:5: input.aws_kinesis.streams: \"arn:aws:kinesis:us-east-1\": malformed ARN "
     "(expected arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME)"},
    /* YAML syntax */
    {"input:\n  aws_kinesis:\n    streams: [a\n  x: 1\n",
     "t.yaml:4: YAML syntax error: did not find expected ',' or ']'"},
    {HEAD "    region: \"unterminated\n", "t.yaml:7: YAML syntax error: "},
};

static void test_each_error_class(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t errors = 0;
        ks_err err = load_print(cases[i].yaml, &errors);
        if (err != KS_ERR_INVALID || errors == 0)
            fail_msg("case %zu: expected KS_ERR_INVALID, got %d:\n%s", i, err, g_out);
        if (!strstr(g_out, cases[i].want))
            fail_msg("case %zu: missing\n  %s\nin\n%s", i, cases[i].want, g_out);
    }
}

static void test_warnings_do_not_fail(void **state)
{
    (void)state;
    size_t errors = 1;
    assert_int_equal(load_print(HEAD "      read_capacity_units: 3\n"
                                     "    lease_period: 5s\n"
                                     "    credentials: {role_external_id: x}\n"
                                     "pipeline: {processors: []}\n",
                                &errors),
                     KS_OK);
    assert_int_equal(errors, 0);
    assert_non_null(strstr(g_out,
                           "t.yaml:6: input.aws_kinesis.dynamodb.read_capacity_units: warning: "
                           "capacity units are ignored with PAY_PER_REQUEST"));
    assert_non_null(strstr(g_out, "t.yaml:7: input.aws_kinesis.lease_period: warning: "));
    assert_non_null(strstr(g_out, "t.yaml:8: input.aws_kinesis.credentials.role_external_id: "
                                  "warning: ignored without credentials.role"));
    assert_non_null(strstr(g_out, "t.yaml:9: pipeline: warning: "));
}

static void test_diagnostics_sorted_and_counted(void **state)
{
    (void)state;
    size_t errors = 0;
    assert_int_equal(load_print("input:\n  aws_kinesis:\n    checkpoint_limit: 0\n"
                                "    dynamodb: {table: t, bogus: 1}\n",
                                &errors),
                     KS_ERR_INVALID);
    assert_int_equal(errors, 3);
    const char *a = strstr(g_out, "t.yaml:2: input.aws_kinesis.streams");
    const char *b = strstr(g_out, "t.yaml:3: input.aws_kinesis.checkpoint_limit");
    const char *c = strstr(g_out, "t.yaml:4: input.aws_kinesis.dynamodb.bogus");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c);
}

static void test_missing_file(void **state)
{
    (void)state;
    ks_config_diags d;
    ks_config_diags_init(&d);
    ks_config *c = NULL;
    assert_int_equal(ks_config_load_file("/nonexistent/ks.yaml", &c, &d), KS_ERR_NOT_FOUND);
    assert_null(c);
    assert_int_equal(ks_config_diags_errors(&d), 1);
    assert_string_equal(d.items[0].file, "/nonexistent/ks.yaml");
    ks_config_diags_clean_up(&d);
}

#define SECRET "wJalrXUtnFEMI-K7MDENG-SECRETVALUE"

/* Secrets never appear in a diagnostic, whatever goes wrong around them. */
static void test_secrets_never_printed(void **state)
{
    (void)state;
    static const char *yamls[] = {
        HEAD "    credentials:\n      secret: " SECRET "\n",
        HEAD "      credentials:\n        secret: " SECRET "\n",
        HEAD "    credentials:\n      token: " SECRET "\n",
        HEAD "      credentials: {token: " SECRET ", bogus: 1}\n",
        HEAD "    credentials:\n      secret: [" SECRET "]\n",
        HEAD "    credentials:\n      secret: {" SECRET ": 1}\n",
        HEAD "    credentials:\n      id: " SECRET "\n      secret: " SECRET "\n"
             "      token: " SECRET "\n    checkpoint_limit: x\n",
        HEAD "    credentials:\n      secret: \"${KS_TEST_SECRET_VAR}\"\n",
        HEAD "    credentials:\n      secret: \"${KS_TEST_NOT_SET_VAR}\"\n",
    };
    setenv("KS_TEST_SECRET_VAR", SECRET, 1);
    unsetenv("KS_TEST_NOT_SET_VAR");
    for (size_t i = 0; i < sizeof(yamls) / sizeof(yamls[0]); i++) {
        (void)load_print(yamls[i], NULL);
        if (strstr(g_out, "SECRETVALUE"))
            fail_msg("case %zu printed a secret:\n%s", i, g_out);
    }
    /* id given, secret missing: says so without any value */
    (void)load_print(HEAD "    credentials:\n      id: " SECRET "\n", NULL);
    assert_non_null(strstr(g_out, "credentials.id: is set without credentials.secret"));
    /* a secret that fails a type conversion is shown as <redacted> */
    ks_config_diags d;
    ks_config_diags_init(&d);
    assert_int_equal(ks_config_diags_add(&d, false, "f", 1, "k", "x, got <redacted>"), KS_OK);
    assert_int_equal(ks_config_diags_add(&d, true, "f", 2, "", "w"), KS_OK);
    FILE *f = fmemopen(g_out, sizeof(g_out), "w");
    ks_config_diags_print(&d, f);
    fclose(f);
    assert_string_equal(g_out, "f:1: k: x, got <redacted>\nf:2: warning: w\n");
    assert_int_equal(ks_config_diags_errors(&d), 1);
    assert_int_equal(ks_config_diags_warnings(&d), 1);
    ks_config_diags_clean_up(&d);
    ks_config_diags_clean_up(NULL);
    unsetenv("KS_TEST_SECRET_VAR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_error_class),
        cmocka_unit_test(test_warnings_do_not_fail),
        cmocka_unit_test(test_diagnostics_sorted_and_counted),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_secrets_never_printed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
