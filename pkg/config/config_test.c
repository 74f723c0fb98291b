/* pkg/config: defaults, the seed's documents, a Redpanda-Connect-shaped config. */
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

static ks_config_diags g_diags;
static char g_out[8192];

/* Loads yaml (name "t.yaml"), keeps the printed diagnostics in g_out. */
static ks_err load(const char *yaml, ks_config **out)
{
    ks_config_diags_clean_up(&g_diags);
    ks_config_diags_init(&g_diags);
    *out = NULL;
    ks_err err = ks_config_load_string("t.yaml", yaml, strlen(yaml), out, &g_diags);
    FILE *f = fmemopen(g_out, sizeof(g_out), "w");
    assert_non_null(f);
    ks_config_diags_print(&g_diags, f);
    fclose(f);
    return err;
}

static const char *testdata(const char *name)
{
    static char path[512];
    const char *dir = getenv("KS_CONFIG_TESTDATA");
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "pkg/config/testdata", name);
    return path;
}

#define MINIMAL "input:\n  aws_kinesis:\n    streams: [s]\n    dynamodb: {table: t}\n"

static void check_tcp_defaults(const ks_tcp_config *t)
{
    assert_int_equal(t->connect_timeout_ms, 0);
    assert_int_equal(t->keep_alive_idle_ms, 15000);
    assert_int_equal(t->keep_alive_interval_ms, 15000);
    assert_int_equal(t->keep_alive_count, 9);
    assert_int_equal(t->tcp_user_timeout_ms, 0);
}

static void check_creds_defaults(const ks_credentials_config *cr)
{
    assert_null(cr->profile);
    assert_null(cr->id);
    assert_null(cr->secret);
    assert_null(cr->token);
    assert_false(cr->from_ec2_role);
    assert_null(cr->role);
    assert_null(cr->role_external_id);
}

/* Every default, against the values documented in the seed and config.h (hand-written). */
static void check_all_defaults(const ks_config *c, bool loaded)
{
    const ks_kinesis_input_config *in = &c->input;
    assert_string_equal(in->label, "");
    if (!loaded) {
        assert_int_equal(in->n_streams, 0);
        assert_string_equal(in->dynamodb.table, "");
    }
    assert_false(in->dynamodb.create);
    assert_int_equal(in->dynamodb.billing_mode, KS_BILLING_PAY_PER_REQUEST);
    assert_int_equal(in->dynamodb.read_capacity_units, 0);
    assert_int_equal(in->dynamodb.write_capacity_units, 0);
    assert_null(in->dynamodb.region);
    assert_null(in->dynamodb.endpoint);
    check_tcp_defaults(&in->dynamodb.tcp);
    check_creds_defaults(&in->dynamodb.credentials);
    assert_int_equal(in->checkpoint_limit, 1024);
    assert_true(in->auto_replay_nacks);
    assert_int_equal(in->commit_period_ms, 5000);
    assert_int_equal(in->steal_grace_period_ms, 2000);
    assert_int_equal(in->rebalance_period_ms, 30000);
    assert_int_equal(in->lease_period_ms, 30000);
    assert_true(in->start_from_oldest);
    assert_null(in->region);
    assert_null(in->endpoint);
    check_tcp_defaults(&in->tcp);
    check_creds_defaults(&in->credentials);
    assert_int_equal(in->batching.count, 0);
    assert_int_equal(in->batching.byte_size, 0);
    assert_int_equal(in->batching.period_ms, 0);
    assert_null(in->batching.check);
    assert_int_equal(in->batching.n_processors, 0);
    assert_int_equal(in->get_records_limit, 10000);
    assert_int_equal(in->idle_poll_max_ms, 1000);
    assert_int_equal(in->max_claims_per_cycle, 4);
    assert_int_equal(c->output.kind, KS_OUTPUT_FIFO);
    assert_string_equal(c->output.fifo.path, "/var/run/kinesis/records");
    assert_int_equal(c->output.fifo.codec, KS_CODEC_JSON_LINES);
    assert_true(c->output.fifo.create);
    assert_int_equal(c->output.fifo.mode, 0600);
    assert_string_equal(c->output.websocket.address, "127.0.0.1:4196");
    assert_string_equal(c->output.websocket.path, "/records");
    assert_int_equal(c->output.websocket.ack_timeout_ms, 30000);
    assert_int_equal(c->output.websocket.max_in_flight, 64);
    assert_null(c->output.websocket.token_file);
    assert_string_equal(c->http.address, "0.0.0.0:4195");
    assert_null(c->http.token_file);
    assert_int_equal(c->logger.level, KS_LOG_INFO);
    assert_int_equal(c->logger.format, KS_LOG_FORMAT_JSON);
    assert_int_equal(c->shutdown_timeout_ms, 20000);
}

static void test_set_defaults(void **state)
{
    (void)state;
    ks_config c;
    assert_int_equal(ks_config_set_defaults_checked(&c), KS_OK);
    check_all_defaults(&c, false);
    ks_config_clean_up(&c);
    ks_config_clean_up(NULL);
    ks_config_destroy(NULL);
}

/* The documented default text of every field, as the seed (and DESIGN.md) write it. The
 * table (and so docs/config.md) must say the same, and cover every field. */
static void test_table_defaults_match_documentation(void **state)
{
    (void)state;
    static const struct {
        const char *suffix, *def;
    } doc[] = {
        {"input.label", ""},
        {"dynamodb.table", ""},
        {"dynamodb.create", "false"},
        {"dynamodb.billing_mode", "PAY_PER_REQUEST"},
        {"dynamodb.read_capacity_units", "0"},
        {"dynamodb.write_capacity_units", "0"},
        {"tcp.connect_timeout", "0s"},
        {"tcp.keep_alive.idle", "15s"},
        {"tcp.keep_alive.interval", "15s"},
        {"tcp.keep_alive.count", "9"},
        {"tcp.tcp_user_timeout", "0s"},
        {"credentials.from_ec2_role", "false"},
        {"aws_kinesis.checkpoint_limit", "1024"},
        {"aws_kinesis.auto_replay_nacks", "true"},
        {"aws_kinesis.commit_period", "5s"},
        {"aws_kinesis.steal_grace_period", "2s"},
        {"aws_kinesis.rebalance_period", "30s"},
        {"aws_kinesis.lease_period", "30s"},
        {"aws_kinesis.start_from_oldest", "true"},
        {"batching.count", "0"},
        {"batching.byte_size", "0"},
        {"batching.period", ""},
        {"batching.check", ""},
        {"aws_kinesis.get_records_limit", "10000"},
        {"aws_kinesis.idle_poll_max", "1s"},
        {"aws_kinesis.max_claims_per_cycle", "4"},
        {"fifo.path", "/var/run/kinesis/records"},
        {"fifo.codec", "json_lines"},
        {"fifo.create", "true"},
        {"fifo.mode", "0600"},
        {"websocket.address", "127.0.0.1:4196"},
        {"websocket.path", "/records"},
        {"websocket.ack_timeout", "30s"},
        {"websocket.max_in_flight", "64"},
        {"http.address", "0.0.0.0:4195"},
        {"logger.level", "INFO"},
        {"logger.format", "json"},
        {"shutdown_timeout", "20s"},
    };
    for (size_t i = 0; i < ks_cfg_n_fields; i++) {
        const ks_cfg_field *f = &ks_cfg_fields[i];
        if (!f->def)
            continue; /* objects, optional strings, lists */
        bool found = false;
        for (size_t j = 0; j < sizeof(doc) / sizeof(doc[0]) && !found; j++) {
            size_t pl = strlen(f->path), sl = strlen(doc[j].suffix);
            if (pl >= sl && strcmp(f->path + pl - sl, doc[j].suffix) == 0 &&
                (pl == sl || f->path[pl - sl - 1] == '.')) {
                if (strcmp(f->def, doc[j].def) != 0)
                    fail_msg("%s: table default \"%s\", documented \"%s\"", f->path, f->def,
                             doc[j].def);
                found = true;
            }
        }
        if (!found)
            fail_msg("%s has a default not in the documented list", f->path);
        assert_non_null(f->doc);
        assert_true(strlen(f->doc) > 10);
    }
    /* Fields without a default: optional strings / lists, and streams is required. */
    const ks_cfg_field *streams = ks_cfg_find("input.aws_kinesis.streams");
    assert_non_null(streams);
    assert_true(streams->flags & KS_CFG_F_REQUIRED);
    assert_true(ks_cfg_find("input.aws_kinesis.dynamodb.credentials.secret")->flags &
                KS_CFG_F_SECRET);
    assert_true(ks_cfg_find("input.aws_kinesis.credentials.token")->flags & KS_CFG_F_SECRET);
}

static void test_minimal_loads_with_defaults(void **state)
{
    (void)state;
    ks_config *c;
    assert_int_equal(load(MINIMAL, &c), KS_OK);
    assert_string_equal(g_out, "");
    check_all_defaults(c, true);
    assert_int_equal(c->input.n_streams, 1);
    assert_string_equal(c->input.streams[0].stream, "s");
    assert_null(c->input.streams[0].shard_id);
    assert_string_equal(c->input.dynamodb.table, "t");
    assert_string_equal(c->path, "t.yaml");
    ks_config_destroy(c);
}

static void test_seed_advanced_document_loads(void **state)
{
    (void)state;
    ks_config_diags d;
    ks_config_diags_init(&d);
    ks_config *c = NULL;
    ks_err err = ks_config_load_file(testdata("advanced.yaml"), &c, &d);
    if (err)
        ks_config_diags_print(&d, stderr);
    assert_int_equal(err, KS_OK);
    assert_int_equal(d.len, 0);
    check_all_defaults(c, true);
    assert_string_equal(c->input.dynamodb.table, "kinesis-leases");
    ks_config_destroy(c);
    ks_config_diags_clean_up(&d);
}

static void test_full_config(void **state)
{
    (void)state;
    ks_config *c;
    const char *yaml = MINIMAL "    auto_replay_nacks: false\n"
                               "    steal_grace_period: 0s\n"
                               "    start_from_oldest: false\n"
                               "    region: us-west-2\n"
                               "    endpoint: http://localhost:4566\n"
                               "    get_records_limit: 500\n"
                               "    idle_poll_max: 2s\n"
                               "    max_claims_per_cycle: 1\n"
                               "    tcp: {connect_timeout: 3s, keep_alive: {idle: 0s, count: 0}}\n"
                               "output:\n"
                               "  websocket:\n"
                               "    address: 127.0.0.1:9000\n"
                               "    path: /r\n"
                               "    ack_timeout: 1m\n"
                               "    max_in_flight: 8\n"
                               "    token_file: /etc/tok\n"
                               "http: {address: '127.0.0.1:8080', token_file: /etc/admin}\n"
                               "logger: {level: warn, format: logfmt}\n"
                               "shutdown_timeout: 1h30m\n";
    assert_int_equal(load(yaml, &c), KS_OK);
    assert_string_equal(g_out, "");
    assert_false(c->input.auto_replay_nacks);
    assert_int_equal(c->input.steal_grace_period_ms, 0);
    assert_false(c->input.start_from_oldest);
    assert_string_equal(c->input.region, "us-west-2");
    assert_string_equal(c->input.endpoint, "http://localhost:4566");
    assert_int_equal(c->input.get_records_limit, 500);
    assert_int_equal(c->input.idle_poll_max_ms, 2000);
    assert_int_equal(c->input.max_claims_per_cycle, 1);
    assert_int_equal(c->input.tcp.connect_timeout_ms, 3000);
    /* documented zero values mean the defaults */
    assert_int_equal(c->input.tcp.keep_alive_idle_ms, 15000);
    assert_int_equal(c->input.tcp.keep_alive_count, 9);
    assert_int_equal(c->output.kind, KS_OUTPUT_WEBSOCKET);
    assert_string_equal(c->output.websocket.address, "127.0.0.1:9000");
    assert_string_equal(c->output.websocket.path, "/r");
    assert_int_equal(c->output.websocket.ack_timeout_ms, 60000);
    assert_int_equal(c->output.websocket.max_in_flight, 8);
    assert_string_equal(c->output.websocket.token_file, "/etc/tok");
    assert_string_equal(c->http.address, "127.0.0.1:8080");
    assert_string_equal(c->http.token_file, "/etc/admin");
    assert_int_equal(c->logger.level, KS_LOG_WARN);
    assert_int_equal(c->logger.format, KS_LOG_FORMAT_LOGFMT);
    assert_int_equal(c->shutdown_timeout_ms, 5400000);
    ks_config_destroy(c);
}

static void test_fifo_output_and_mode(void **state)
{
    (void)state;
    static const struct {
        const char *mode;
        uint32_t want;
    } modes[] = {{"\"0600\"", 0600}, {"0640", 0640}, {"384", 0600}, {"0o755", 0755}, {"0", 0}};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        char yaml[512];
        snprintf(yaml, sizeof(yaml),
                 MINIMAL "output:\n  fifo: {path: /tmp/f, codec: length_prefixed, create: false, "
                         "mode: %s}\n",
                 modes[i].mode);
        ks_config *c;
        assert_int_equal(load(yaml, &c), KS_OK);
        assert_int_equal(c->output.kind, KS_OUTPUT_FIFO);
        assert_string_equal(c->output.fifo.path, "/tmp/f");
        assert_int_equal(c->output.fifo.codec, KS_CODEC_LENGTH_PREFIXED);
        assert_false(c->output.fifo.create);
        assert_int_equal(c->output.fifo.mode, modes[i].want);
        ks_config_destroy(c);
    }
    ks_config *c;
    assert_int_equal(load(MINIMAL "output: {fifo: {mode: \"0800\"}}\n", &c), KS_ERR_INVALID);
    assert_non_null(strstr(g_out, "t.yaml:5: output.fifo.mode: expected a file mode"));
    assert_int_equal(load(MINIMAL "output: {fifo: {mode: 99999}}\n", &c), KS_ERR_INVALID);
    assert_non_null(strstr(g_out, "t.yaml:5: output.fifo.mode: "));
}

/* The three batching examples of the seed document. */
static void test_seed_batching_examples(void **state)
{
    (void)state;
    ks_config *c;
    assert_int_equal(
        load(MINIMAL "    batching:\n      byte_size: 5000\n      count: 0\n      period: 1s\n",
             &c),
        KS_OK);
    assert_int_equal(c->input.batching.byte_size, 5000);
    assert_int_equal(c->input.batching.count, 0);
    assert_int_equal(c->input.batching.period_ms, 1000);
    assert_null(c->input.batching.check);
    ks_config_destroy(c);

    assert_int_equal(load(MINIMAL "    batching:\n      count: 10\n      period: 1s\n", &c), KS_OK);
    assert_int_equal(c->input.batching.count, 10);
    assert_int_equal(c->input.batching.period_ms, 1000);
    ks_config_destroy(c);

    assert_int_equal(load(MINIMAL "    batching:\n      check: this.contains(\"END BATCH\")\n"
                                  "      count: 0\n      period: 1m\n",
                          &c),
                     KS_OK);
    assert_string_equal(c->input.batching.check, "this.contains(\"END BATCH\")");
    assert_int_equal(c->input.batching.check_line, 6);
    assert_int_equal(c->input.batching.period_ms, 60000);
    ks_config_destroy(c);

    /* the processors examples (with a trigger: processors alone are an error) */
    static const char *formats[] = {"concatenate", "lines", "json_array", "binary"};
    for (size_t i = 0; i < 4; i++) {
        char yaml[512];
        snprintf(yaml, sizeof(yaml),
                 MINIMAL "    batching:\n      processors:\n        - archive:\n"
                         "            format: %s\n      count: 10\n",
                 formats[i]);
        assert_int_equal(load(yaml, &c), KS_OK);
        assert_int_equal(c->input.batching.n_processors, 1);
        assert_int_equal(c->input.batching.processors[0].kind, KS_PROCESSOR_ARCHIVE);
        assert_int_equal(c->input.batching.processors[0].archive_format, i);
        assert_int_equal(c->input.batching.processors[0].line, 8);
        assert_string_equal(ks_archive_format_name(c->input.batching.processors[0].archive_format),
                            formats[i]);
        ks_config_destroy(c);
    }
}

static void test_redpanda_connect_config_loads(void **state)
{
    (void)state;
    ks_config_diags d;
    ks_config_diags_init(&d);
    ks_config *c = NULL;
    const char *path = testdata("connect.yaml");
    assert_int_equal(ks_config_load_file(path, &c, &d), KS_OK);
    assert_int_equal(ks_config_diags_errors(&d), 0);
    char out[4096];
    FILE *f = fmemopen(out, sizeof(out), "w");
    ks_config_diags_print(&d, f);
    fclose(f);
    /* every unsupported part named, as warnings, with its line */
    static const char *want[] = {
        ":4: http.enabled: warning: ",
        ":6: http.root_path: warning: ",
        ":7: http.debug_endpoints: warning: ",
        ":36: buffer: warning: ",
        ":39: pipeline: warning: ",
        ":45: output.label: warning: ",
        ":46: output.kafka: warning: output \"kafka\" is not supported",
        ":46: output: warning: no supported output configured; using the default fifo",
        ":53: logger.add_timestamp: warning: ",
        ":54: logger.static_fields: warning: ",
        ":57: metrics: warning: ",
        ":60: tracer: warning: ",
        ":63: shutdown_delay: warning: ",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(out, want[i]))
            fail_msg("missing \"%s\" in:\n%s", want[i], out);
    assert_int_equal(ks_config_diags_warnings(&d), sizeof(want) / sizeof(want[0]));
    assert_string_equal(c->input.label, "orders_in");
    assert_int_equal(c->input.n_streams, 2);
    assert_string_equal(c->input.streams[1].stream,
                        "arn:aws:kinesis:eu-west-1:111122223333:stream/payments");
    assert_true(c->input.dynamodb.create);
    assert_int_equal(c->input.dynamodb.billing_mode, KS_BILLING_PROVISIONED);
    assert_int_equal(c->input.dynamodb.read_capacity_units, 5);
    assert_string_equal(c->input.dynamodb.region, "eu-west-1");
    assert_int_equal(c->input.checkpoint_limit, 256);
    assert_int_equal(c->input.commit_period_ms, 1000);
    assert_false(c->input.start_from_oldest);
    assert_string_equal(c->input.credentials.role, "arn:aws:iam::111122223333:role/consumer");
    assert_int_equal(c->input.batching.count, 100);
    assert_int_equal(c->input.batching.period_ms, 500);
    assert_int_equal(c->input.batching.processors[0].archive_format, KS_ARCHIVE_JSON_ARRAY);
    assert_int_equal(c->output.kind, KS_OUTPUT_FIFO);
    assert_int_equal(c->logger.level, KS_LOG_DEBUG);
    assert_int_equal(c->logger.format, KS_LOG_FORMAT_LOGFMT);
    assert_int_equal(c->shutdown_timeout_ms, 20000);
    ks_config_destroy(c);
    ks_config_diags_clean_up(&d);
}

/* The seed document's examples open with `inputs:`: read as `input:`, with a warning. */
static void test_seed_inputs_spelling(void **state)
{
    (void)state;
    ks_config *c;
    assert_int_equal(load("inputs:\n  label: \"\"\n  aws_kinesis:\n    streams: [s]\n"
                          "    dynamodb: {table: t}\n    checkpoint_limit: 7\n",
                          &c),
                     KS_OK);
    assert_non_null(strstr(g_out, "t.yaml:1: inputs: warning: read as \"input\""));
    assert_int_equal(ks_config_diags_warnings(&g_diags), 1);
    assert_int_equal(c->input.checkpoint_limit, 7);
    assert_string_equal(c->input.dynamodb.table, "t");
    ks_config_destroy(c);

    /* errors inside it name the input path */
    assert_int_equal(load("inputs:\n  aws_kinesis:\n    streams: [s]\n    dynamodb: {table: t}\n"
                          "    comit_period: 1s\n",
                          &c),
                     KS_ERR_INVALID);
    assert_non_null(strstr(g_out, "t.yaml:5: input.aws_kinesis.comit_period: unknown key"));

    /* both spellings: a duplicate */
    assert_int_equal(load(MINIMAL "inputs:\n  label: x\n", &c), KS_ERR_INVALID);
    assert_non_null(strstr(g_out, "t.yaml:5: duplicate key \"inputs\""));

    /* only at the top level */
    assert_int_equal(load("input:\n  inputs: {}\n"
                          "  aws_kinesis:\n    streams: [s]\n"
                          "    dynamodb: {table: t}\n",
                          &c),
                     KS_ERR_INVALID);
    assert_non_null(strstr(g_out, "t.yaml:2: input.inputs: unsupported input"));
}

static int teardown(void **state)
{
    (void)state;
    ks_config_diags_clean_up(&g_diags);
    return 0;
}

int main(void)
{
    ks_config_diags_init(&g_diags);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_defaults),
        cmocka_unit_test(test_table_defaults_match_documentation),
        cmocka_unit_test(test_minimal_loads_with_defaults),
        cmocka_unit_test(test_seed_advanced_document_loads),
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_fifo_output_and_mode),
        cmocka_unit_test(test_seed_batching_examples),
        cmocka_unit_test(test_redpanda_connect_config_loads),
        cmocka_unit_test(test_seed_inputs_spelling),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
