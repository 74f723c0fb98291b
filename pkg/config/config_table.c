/* The field table: one row per configuration key. It drives parsing (ks_cfg_set_scalar),
 * defaults (ks_config_set_defaults) and documentation (ks_config_reference_markdown). */
#include <stddef.h>
#include <string.h>

#include "config/config_internal.h"

#define OFF(m) offsetof(ks_config, m)

static const ks_cfg_enum billing_modes[] = {{"PAY_PER_REQUEST", KS_BILLING_PAY_PER_REQUEST},
                                            {"PROVISIONED", KS_BILLING_PROVISIONED},
                                            {NULL, 0}};

static const ks_cfg_enum codecs[] = {{"json_lines", KS_CODEC_JSON_LINES},
                                     {"lines", KS_CODEC_LINES},
                                     {"length_prefixed", KS_CODEC_LENGTH_PREFIXED},
                                     {NULL, 0}};

static const ks_cfg_enum log_levels[] = {{"OFF", KS_LOG_OFF},
                                         {"NONE", KS_LOG_OFF},
                                         {"FATAL", KS_LOG_ERROR},
                                         {"ERROR", KS_LOG_ERROR},
                                         {"WARN", KS_LOG_WARN},
                                         {"WARNING", KS_LOG_WARN},
                                         {"INFO", KS_LOG_INFO},
                                         {"DEBUG", KS_LOG_DEBUG},
                                         {"TRACE", KS_LOG_TRACE},
                                         {"ALL", KS_LOG_TRACE},
                                         {NULL, 0}};

static const ks_cfg_enum log_formats[] = {
    {"json", KS_LOG_FORMAT_JSON}, {"logfmt", KS_LOG_FORMAT_LOGFMT}, {NULL, 0}};

#define DOC_TCP                                                                                    \
    "TCP socket-level settings for connections to the service (connect timeout, keep-alive, "      \
    "TCP_USER_TIMEOUT). Most users should keep the defaults."

/* TCP block under key prefix P (string) stored at offset B (a ks_tcp_config). */
#define TCP_FIELDS(P, B)                                                                           \
    {P "tcp", KS_CFG_OBJECT, NULL, DOC_TCP, 0, 0, 0, NULL},                                        \
        {P "tcp.connect_timeout",                                                                  \
         KS_CFG_DURATION,                                                                          \
         "0s",                                                                                     \
         "Maximum amount of time a dial will wait for a connect to complete. Zero disables.",      \
         (B) + offsetof(ks_tcp_config, connect_timeout_ms),                                        \
         0,                                                                                        \
         0,                                                                                        \
         NULL},                                                                                    \
        {P "tcp.keep_alive",                                                                       \
         KS_CFG_OBJECT,                                                                            \
         NULL,                                                                                     \
         "TCP keep-alive probe configuration.",                                                    \
         0,                                                                                        \
         0,                                                                                        \
         0,                                                                                        \
         NULL},                                                                                    \
        {P "tcp.keep_alive.idle",                                                                  \
         KS_CFG_DURATION,                                                                          \
         "15s",                                                                                    \
         "Duration the connection must be idle before sending the first keep-alive probe. Zero "   \
         "defaults to 15s. Negative values disable keep-alive probes.",                            \
         (B) + offsetof(ks_tcp_config, keep_alive_idle_ms),                                        \
         0,                                                                                        \
         0,                                                                                        \
         NULL},                                                                                    \
        {P "tcp.keep_alive.interval",                                                              \
         KS_CFG_DURATION,                                                                          \
         "15s",                                                                                    \
         "Duration between keep-alive probes. Zero defaults to 15s.",                              \
         (B) + offsetof(ks_tcp_config, keep_alive_interval_ms),                                    \
         0,                                                                                        \
         0,                                                                                        \
         NULL},                                                                                    \
        {P "tcp.keep_alive.count",                                                                 \
         KS_CFG_INT,                                                                               \
         "9",                                                                                      \
         "Maximum unanswered keep-alive probes before dropping the connection. Zero defaults to "  \
         "9.",                                                                                     \
         (B) + offsetof(ks_tcp_config, keep_alive_count),                                          \
         0,                                                                                        \
         0,                                                                                        \
         NULL},                                                                                    \
    {                                                                                              \
        P "tcp.tcp_user_timeout", KS_CFG_DURATION, "0s",                                           \
            "Maximum time to wait for acknowledgment of transmitted data before killing the "      \
            "connection (Linux only). When enabled, keep_alive.idle must be greater than this "    \
            "value per RFC 5482. Zero disables.",                                                  \
            (B) + offsetof(ks_tcp_config, tcp_user_timeout_ms), 0, 0, NULL                         \
    }

#define CRED_FIELDS(P, B)                                                                          \
    {P "credentials",                                                                              \
     KS_CFG_OBJECT,                                                                                \
     NULL,                                                                                         \
     "Manually configure the AWS credentials to use (optional). Absent: the default chain "        \
     "(environment, profile, web identity, container, EC2 role).",                                 \
     0,                                                                                            \
     0,                                                                                            \
     0,                                                                                            \
     NULL},                                                                                        \
        {P "credentials.profile",                                                                  \
         KS_CFG_STRING,                                                                            \
         NULL,                                                                                     \
         "The profile from `~/.aws/credentials` to use.",                                          \
         (B) + offsetof(ks_credentials_config, profile),                                           \
         0,                                                                                        \
         KS_CFG_F_OPTIONAL,                                                                        \
         NULL},                                                                                    \
        {P "credentials.id",                                                                       \
         KS_CFG_STRING,                                                                            \
         NULL,                                                                                     \
         "The ID of the AWS credentials to use.",                                                  \
         (B) + offsetof(ks_credentials_config, id),                                                \
         0,                                                                                        \
         KS_CFG_F_OPTIONAL,                                                                        \
         NULL},                                                                                    \
        {P "credentials.secret",                                                                   \
         KS_CFG_STRING,                                                                            \
         NULL,                                                                                     \
         "The secret for the AWS credentials in use. Secret: never printed.",                      \
         (B) + offsetof(ks_credentials_config, secret),                                            \
         0,                                                                                        \
         KS_CFG_F_OPTIONAL | KS_CFG_F_SECRET,                                                      \
         NULL},                                                                                    \
        {P "credentials.token",                                                                    \
         KS_CFG_STRING,                                                                            \
         NULL,                                                                                     \
         "The token for the AWS credentials in use (short-term credentials). Secret: never "       \
         "printed.",                                                                               \
         (B) + offsetof(ks_credentials_config, token),                                             \
         0,                                                                                        \
         KS_CFG_F_OPTIONAL | KS_CFG_F_SECRET,                                                      \
         NULL},                                                                                    \
        {P "credentials.from_ec2_role",                                                            \
         KS_CFG_BOOL,                                                                              \
         "false",                                                                                  \
         "Use the credentials of the host EC2 machine's instance role.",                           \
         (B) + offsetof(ks_credentials_config, from_ec2_role),                                     \
         0,                                                                                        \
         KS_CFG_F_EMPTY_FALSE,                                                                     \
         NULL},                                                                                    \
        {P "credentials.role",                                                                     \
         KS_CFG_STRING,                                                                            \
         NULL,                                                                                     \
         "The role ARN to assume.",                                                                \
         (B) + offsetof(ks_credentials_config, role),                                              \
         0,                                                                                        \
         KS_CFG_F_OPTIONAL,                                                                        \
         NULL},                                                                                    \
    {                                                                                              \
        P "credentials.role_external_id", KS_CFG_STRING, NULL,                                     \
            "An external ID to use when assuming a role.",                                         \
            (B) + offsetof(ks_credentials_config, role_external_id), 0, KS_CFG_F_OPTIONAL, NULL    \
    }

#define AK "input.aws_kinesis."
#define DDB AK "dynamodb."
#define ENDPOINT_DOC                                                                               \
    "A custom endpoint URL for AWS API requests (AWS-compatible services, local emulators)."

const ks_cfg_field ks_cfg_fields[] = {
    {"input", KS_CFG_OBJECT, NULL,
     "The input: a Redpanda Connect `input:` block (`label` + `aws_kinesis`).", 0, 0, 0, NULL},
    {"input.label", KS_CFG_STRING, "", "An optional label for the input (logs, metrics).",
     OFF(input.label), 0, 0, NULL},
    {"input.aws_kinesis", KS_CFG_OBJECT, NULL, "Receive messages from one or more Kinesis streams.",
     0, 0, 0, NULL},
    {AK "streams", KS_CFG_STREAMS, NULL,
     "One or more Kinesis data streams to consume from, by name or full ARN. Multiple comma "
     "separated streams can be listed in a single element. An explicit shard is given with a "
     "colon after the stream (`foo:0`, `arn:aws:kinesis:us-east-1:123:stream/foo:shardId-0`); "
     "such shards are consumed without balancing.",
     0, 0, KS_CFG_F_REQUIRED, NULL},
    {AK "dynamodb", KS_CFG_OBJECT, NULL,
     "The DynamoDB table storing checkpoints and leases, used to coordinate balanced "
     "consumers.",
     0, 0, 0, NULL},
    {DDB "table", KS_CFG_STRING, "", "The name of the table to access. Must not be empty.",
     OFF(input.dynamodb.table), 0, 0, NULL},
    {DDB "create", KS_CFG_BOOL, "false",
     "Whether, if the table does not exist, it should be created.", OFF(input.dynamodb.create), 0,
     0, NULL},
    {DDB "billing_mode", KS_CFG_ENUM, "PAY_PER_REQUEST",
     "When creating the table determines the billing mode.", OFF(input.dynamodb.billing_mode), 0, 0,
     billing_modes},
    {DDB "read_capacity_units", KS_CFG_INT, "0",
     "Provisioned read capacity when creating the table with `billing_mode: PROVISIONED`.",
     OFF(input.dynamodb.read_capacity_units), 0, 0, NULL},
    {DDB "write_capacity_units", KS_CFG_INT, "0",
     "Provisioned write capacity when creating the table with `billing_mode: PROVISIONED`.",
     OFF(input.dynamodb.write_capacity_units), 0, 0, NULL},
    {DDB "region", KS_CFG_STRING, NULL, "The AWS region of the table. Absent: the input's region.",
     OFF(input.dynamodb.region), 0, KS_CFG_F_OPTIONAL, NULL},
    {DDB "endpoint", KS_CFG_STRING, NULL, ENDPOINT_DOC " Absent: the input's endpoint.",
     OFF(input.dynamodb.endpoint), 0, KS_CFG_F_OPTIONAL, NULL},
    TCP_FIELDS(DDB, OFF(input.dynamodb.tcp)),
    CRED_FIELDS(DDB, OFF(input.dynamodb.credentials)),
    {AK "checkpoint_limit", KS_CFG_INT, "1024",
     "The maximum gap between the in flight sequence and the latest acknowledged sequence of a "
     "shard. 1 means strict lock-step ordering. Must be >= 1.",
     OFF(input.checkpoint_limit), 0, 0, NULL},
    {AK "auto_replay_nacks", KS_CFG_BOOL, "true",
     "Whether rejected (nacked) messages are replayed indefinitely; false drops them.",
     OFF(input.auto_replay_nacks), 0, 0, NULL},
    {AK "commit_period", KS_CFG_DURATION, "5s",
     "The period of time between each update to the checkpoint table. Must be > 0.",
     OFF(input.commit_period_ms), 0, 0, NULL},
    {AK "steal_grace_period", KS_CFG_DURATION, "2s",
     "How long beyond the next commit period a client waits, when stealing a shard, for the "
     "current owner to store a checkpoint. Must be >= 0.",
     OFF(input.steal_grace_period_ms), 0, 0, NULL},
    {AK "rebalance_period", KS_CFG_DURATION, "30s",
     "The period of time between each attempt to rebalance shards across clients. Must be > 0.",
     OFF(input.rebalance_period_ms), 0, 0, NULL},
    {AK "lease_period", KS_CFG_DURATION, "30s",
     "The period after which a client that has failed to update a shard checkpoint is assumed "
     "to be inactive. Must be > 0.",
     OFF(input.lease_period_ms), 0, 0, NULL},
    {AK "start_from_oldest", KS_CFG_BOOL, "true",
     "Whether to consume from the oldest message when a sequence does not yet exist for the "
     "stream (false: from the latest).",
     OFF(input.start_from_oldest), 0, 0, NULL},
    {AK "region", KS_CFG_STRING, NULL,
     "The AWS region to target. Absent: AWS_REGION, AWS_DEFAULT_REGION or the stream ARN.",
     OFF(input.region), 0, KS_CFG_F_OPTIONAL, NULL},
    {AK "endpoint", KS_CFG_STRING, NULL, ENDPOINT_DOC, OFF(input.endpoint), 0, KS_CFG_F_OPTIONAL,
     NULL},
    TCP_FIELDS(AK, OFF(input.tcp)),
    CRED_FIELDS(AK, OFF(input.credentials)),
    {AK "batching", KS_CFG_OBJECT, NULL,
     "Batching policy, applied to each shard separately. All zero/empty: no batching.", 0, 0, 0,
     NULL},
    {AK "batching.count", KS_CFG_INT, "0",
     "A number of messages at which the batch is flushed. 0 disables count based batching.",
     OFF(input.batching.count), 0, 0, NULL},
    {AK "batching.byte_size", KS_CFG_INT, "0",
     "An amount of bytes at which the batch is flushed. 0 disables size based batching.",
     OFF(input.batching.byte_size), 0, 0, NULL},
    {AK "batching.period", KS_CFG_DURATION, "",
     "A period in which an incomplete batch is flushed regardless of its size. \"\" disables.",
     OFF(input.batching.period_ms), 0, KS_CFG_F_EMPTY_ZERO, NULL},
    {AK "batching.check", KS_CFG_STRING, "",
     "A Bloblang query returning a boolean: whether a message ends a batch (the subset "
     "pkg/batch supports). \"\" disables.",
     OFF(input.batching.check), OFF(input.batching.check_line), KS_CFG_F_OPTIONAL, NULL},
    {AK "batching.processors", KS_CFG_PROCESSORS, NULL,
     "Processors applied to a batch as it is flushed. Only `archive` with `format` one of "
     "concatenate, lines, json_array, binary is supported.",
     0, 0, KS_CFG_F_OPTIONAL, NULL},
    {AK "get_records_limit", KS_CFG_INT, "10000",
     "Extension. Maximum records per GetRecords call (1..10000).", OFF(input.get_records_limit), 0,
     KS_CFG_F_EXT, NULL},
    {AK "idle_poll_max", KS_CFG_DURATION, "1s",
     "Extension. Cap of the back-off between GetRecords calls on an idle shard (>= 200ms).",
     OFF(input.idle_poll_max_ms), 0, KS_CFG_F_EXT, NULL},
    {AK "max_claims_per_cycle", KS_CFG_INT, "4",
     "Extension. Shards claimed (or stolen) per rebalance cycle (>= 1).",
     OFF(input.max_claims_per_cycle), 0, KS_CFG_F_EXT, NULL},
    {"output", KS_CFG_OBJECT, NULL,
     "Where records go: exactly one of `fifo` or `websocket`. Absent: the default fifo.", 0, 0,
     KS_CFG_F_EXT, NULL},
    {"output.fifo", KS_CFG_OBJECT, NULL, "Deliver records to a named pipe (FIFO).", 0, 0,
     KS_CFG_F_EXT, NULL},
    {"output.fifo.path", KS_CFG_STRING, "/var/run/kinesis/records", "Path of the FIFO.",
     OFF(output.fifo.path), 0, KS_CFG_F_EXT, NULL},
    {"output.fifo.codec", KS_CFG_ENUM, "json_lines", "How records are framed on the FIFO.",
     OFF(output.fifo.codec), 0, KS_CFG_F_EXT, codecs},
    {"output.fifo.create", KS_CFG_BOOL, "true", "Create the FIFO (mkfifo) when it is missing.",
     OFF(output.fifo.create), 0, KS_CFG_F_EXT, NULL},
    {"output.fifo.mode", KS_CFG_MODE, "0600",
     "Permissions of a created FIFO: an octal string (\"0600\") or an int.", OFF(output.fifo.mode),
     0, KS_CFG_F_EXT, NULL},
    {"output.websocket", KS_CFG_OBJECT, NULL,
     "Serve records on a websocket with per-batch acknowledgements.", 0, 0, KS_CFG_F_EXT, NULL},
    {"output.websocket.address", KS_CFG_STRING, "127.0.0.1:4196", "host:port to listen on.",
     OFF(output.websocket.address), 0, KS_CFG_F_EXT, NULL},
    {"output.websocket.path", KS_CFG_STRING, "/records", "URL path of the websocket.",
     OFF(output.websocket.path), 0, KS_CFG_F_EXT, NULL},
    {"output.websocket.ack_timeout", KS_CFG_DURATION, "30s",
     "Time a client has to acknowledge a batch before it is redelivered (> 0).",
     OFF(output.websocket.ack_timeout_ms), 0, KS_CFG_F_EXT, NULL},
    {"output.websocket.max_in_flight", KS_CFG_INT, "64",
     "Unacknowledged batches per client (>= 1).", OFF(output.websocket.max_in_flight), 0,
     KS_CFG_F_EXT, NULL},
    {"output.websocket.token_file", KS_CFG_STRING, NULL,
     "File holding a bearer token clients must present. Absent: no authentication.",
     OFF(output.websocket.token_file), 0, KS_CFG_F_OPTIONAL | KS_CFG_F_EXT, NULL},
    {"http", KS_CFG_OBJECT, NULL, "Admin HTTP server: probes, metrics, status, operator hooks.", 0,
     0, 0, NULL},
    {"http.address", KS_CFG_STRING, "0.0.0.0:4195", "host:port to listen on.", OFF(http.address), 0,
     0, NULL},
    {"http.token_file", KS_CFG_STRING, NULL,
     "File holding a bearer token for operator hooks. Absent: hooks are loopback-only.",
     OFF(http.token_file), 0, KS_CFG_F_OPTIONAL | KS_CFG_F_EXT, NULL},
    {"logger", KS_CFG_OBJECT, NULL, "Logging (JSON lines or logfmt on stderr).", 0, 0, 0, NULL},
    {"logger.level", KS_CFG_ENUM, "INFO", "Minimum level logged (case-insensitive).",
     OFF(logger.level), 0, KS_CFG_F_ICASE, log_levels},
    {"logger.format", KS_CFG_ENUM, "json", "Log line format.", OFF(logger.format), 0, 0,
     log_formats},
    {"shutdown_timeout", KS_CFG_DURATION, "20s",
     "Maximum time to hand shards over and flush on SIGTERM before exiting.",
     OFF(shutdown_timeout_ms), 0, 0, NULL},
};

const size_t ks_cfg_n_fields = sizeof(ks_cfg_fields) / sizeof(ks_cfg_fields[0]);
_Static_assert(sizeof(ks_cfg_fields) / sizeof(ks_cfg_fields[0]) <=
                   sizeof(((ks_cfg_lines *)0)->field) / sizeof(int),
               "grow ks_cfg_lines.field");

const ks_cfg_field *ks_cfg_find(const char *path)
{
    for (size_t i = 0; i < ks_cfg_n_fields; i++) {
        if (strcmp(ks_cfg_fields[i].path, path) == 0)
            return &ks_cfg_fields[i];
    }
    return NULL;
}

const char *ks_cfg_type_name(ks_cfg_type t)
{
    switch (t) {
    case KS_CFG_OBJECT:
        return "object";
    case KS_CFG_BOOL:
        return "bool";
    case KS_CFG_INT:
        return "int";
    case KS_CFG_STRING:
        return "string";
    case KS_CFG_DURATION:
        return "duration";
    case KS_CFG_ENUM:
        return "enum";
    case KS_CFG_MODE:
        return "file mode";
    case KS_CFG_STREAMS:
        return "list of strings";
    case KS_CFG_PROCESSORS:
        return "list of processors";
    }
    return "?";
}

const char *ks_cfg_enum_name(const ks_cfg_enum *options, int value)
{
    for (; options && options->name; options++)
        if (options->value == value)
            return options->name;
    return "?";
}

const char *ks_codec_name(ks_codec c)
{
    return ks_cfg_enum_name(codecs, (int)c);
}

const char *ks_billing_mode_name(ks_billing_mode m)
{
    return ks_cfg_enum_name(billing_modes, (int)m);
}

const char *ks_archive_format_name(ks_archive_format f)
{
    static const char *names[] = {"concatenate", "lines", "json_array", "binary"};
    return (unsigned)f < 4 ? names[f] : "?";
}

ks_err ks_config_reference_markdown(ks_buf *out)
{
    ks_err err = KS_OK;
    for (size_t i = 0; i < ks_cfg_n_fields && !err; i++) {
        const ks_cfg_field *f = &ks_cfg_fields[i];
        err = ks_buf_appendf(out, "### `%s`\n\n", f->path);
        if (!err)
            err = ks_buf_appendf(out, "%s\n\n", f->doc);
        if (!err)
            err = ks_buf_appendf(out, "- Type: `%s`%s%s\n", ks_cfg_type_name(f->type),
                                 (f->flags & KS_CFG_F_EXT) ? " (extension)" : "",
                                 (f->flags & KS_CFG_F_SECRET) ? " (secret)" : "");
        if (!err && f->type != KS_CFG_OBJECT) {
            if (f->flags & KS_CFG_F_REQUIRED)
                err = ks_buf_append_str(out, "- Default: none (required)\n");
            else if (f->def)
                err = ks_buf_appendf(out, "- Default: `%s`\n", *f->def ? f->def : "\"\"");
            else
                err = ks_buf_append_str(out, "- Default: none (optional)\n");
        }
        if (!err && f->options) {
            err = ks_buf_append_str(out, "- Options:");
            for (const ks_cfg_enum *o = f->options; o->name && !err; o++)
                err = ks_buf_appendf(out, "%s `%s`", o == f->options ? "" : ",", o->name);
            if (!err)
                err = ks_buf_append_char(out, '\n');
        }
        if (!err)
            err = ks_buf_append_char(out, '\n');
    }
    return err;
}
