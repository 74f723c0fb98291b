/* Typed configuration: the seed's `input.aws_kinesis` block verbatim (every field,
 * defaulted exactly as documented) plus output/http/logger/shutdown_timeout.
 * Durations are milliseconds (int64_t, field names end in _ms). Strings are owned
 * by the ks_config and freed by ks_config_destroy(); absent optional strings are NULL.
 * Owner of this module: pkg/config. Other modules read these fields; they may be
 * extended, never renamed. */
#ifndef KS_CONFIG_CONFIG_H
#define KS_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"

typedef struct ks_tcp_config {
    int64_t connect_timeout_ms;     /* default 0 = disabled */
    int64_t keep_alive_idle_ms;     /* default 15000; 0 -> 15000; negative disables keep-alive */
    int64_t keep_alive_interval_ms; /* default 15000; 0 -> 15000 */
    int64_t keep_alive_count;       /* default 9; 0 -> 9 */
    int64_t tcp_user_timeout_ms;    /* default 0 = disabled (Linux only) */
} ks_tcp_config;

typedef struct ks_credentials_config {
    char *profile; /* NULL when absent */
    char *id;
    char *secret;       /* secret: never log */
    char *token;        /* secret: never log */
    bool from_ec2_role; /* default false */
    char *role;
    char *role_external_id;
} ks_credentials_config;

typedef enum ks_billing_mode {
    KS_BILLING_PAY_PER_REQUEST = 0,
    KS_BILLING_PROVISIONED
} ks_billing_mode;

typedef struct ks_dynamodb_config {
    char *table;                  /* default "" (required to be non-empty for run) */
    bool create;                  /* default false */
    ks_billing_mode billing_mode; /* default PAY_PER_REQUEST */
    int64_t read_capacity_units;  /* default 0 */
    int64_t write_capacity_units; /* default 0 */
    char *region;                 /* NULL = inherit input region */
    char *endpoint;               /* NULL = inherit input endpoint / AWS default */
    ks_tcp_config tcp;
    ks_credentials_config credentials; /* all-NULL/false = inherit input credentials */
} ks_dynamodb_config;

typedef enum ks_archive_format {
    KS_ARCHIVE_CONCATENATE = 0,
    KS_ARCHIVE_LINES,
    KS_ARCHIVE_JSON_ARRAY,
    KS_ARCHIVE_BINARY,
} ks_archive_format;

typedef enum ks_processor_kind { KS_PROCESSOR_ARCHIVE = 0 } ks_processor_kind;

typedef struct ks_processor_config {
    ks_processor_kind kind;
    ks_archive_format archive_format;
    int line; /* source line, for diagnostics */
} ks_processor_config;

typedef struct ks_batching_config {
    int64_t count;     /* default 0 = disabled */
    int64_t byte_size; /* default 0 = disabled */
    int64_t period_ms; /* default "" -> 0 = disabled */
    char *check;       /* default "" -> NULL = disabled; Bloblang subset, see pkg/batch */
    int check_line;    /* source line of `check`, for diagnostics */
    ks_processor_config *processors;
    size_t n_processors;
} ks_batching_config;

/* One entry of `streams` after splitting on commas: "name", "arn:...", "name:shard". */
typedef struct ks_stream_spec {
    char *stream;   /* name or ARN exactly as written (the table's StreamID) */
    char *shard_id; /* explicit shard, or NULL for balanced consumption of all shards */
} ks_stream_spec;

typedef struct ks_kinesis_input_config {
    char *label;             /* default "" */
    ks_stream_spec *streams; /* required, at least one */
    size_t n_streams;
    ks_dynamodb_config dynamodb;
    int64_t checkpoint_limit;      /* default 1024; must be >= 1 */
    bool auto_replay_nacks;        /* default true */
    int64_t commit_period_ms;      /* default 5s */
    int64_t steal_grace_period_ms; /* default 2s */
    int64_t rebalance_period_ms;   /* default 30s */
    int64_t lease_period_ms;       /* default 30s */
    bool start_from_oldest;        /* default true */
    char *region;                  /* NULL = AWS_REGION / AWS_DEFAULT_REGION / stream ARN */
    char *endpoint;                /* NULL = AWS default endpoint */
    ks_tcp_config tcp;
    ks_credentials_config credentials;
    ks_batching_config batching;
    /* Extensions (documented in README): */
    int64_t get_records_limit;    /* default 10000 (1..10000) */
    int64_t idle_poll_max_ms;     /* default 1s: cap of idle GetRecords back-off (>= 200ms) */
    int64_t max_claims_per_cycle; /* default 4: shards claimed per rebalance cycle */
} ks_kinesis_input_config;

typedef enum ks_output_kind { KS_OUTPUT_FIFO = 0, KS_OUTPUT_WEBSOCKET } ks_output_kind;

typedef enum ks_codec {
    KS_CODEC_JSON_LINES = 0,
    KS_CODEC_LINES,
    KS_CODEC_LENGTH_PREFIXED,
} ks_codec;

typedef struct ks_fifo_config {
    char *path;     /* default /var/run/kinesis/records */
    ks_codec codec; /* default json_lines */
    bool create;    /* default true */
    uint32_t mode;  /* default 0600 (YAML string "0600" or int) */
} ks_fifo_config;

typedef struct ks_websocket_config {
    char *address;          /* default 127.0.0.1:4196 */
    char *path;             /* default /records */
    int64_t ack_timeout_ms; /* default 30s */
    int64_t max_in_flight;  /* default 64 batches per client */
    char *token_file;       /* NULL = no auth */
} ks_websocket_config;

typedef struct ks_output_config {
    ks_output_kind kind; /* default fifo when no output block */
    ks_fifo_config fifo;
    ks_websocket_config websocket;
} ks_output_config;

typedef struct ks_http_server_config {
    char *address;    /* default 0.0.0.0:4195 */
    char *token_file; /* NULL: operator hooks loopback-only */
} ks_http_server_config;

typedef struct ks_logger_config {
    ks_log_level level;   /* default INFO */
    ks_log_format format; /* default json */
} ks_logger_config;

typedef struct ks_config {
    char *path; /* file it was loaded from */
    ks_kinesis_input_config input;
    ks_output_config output;
    ks_http_server_config http;
    ks_logger_config logger;
    int64_t shutdown_timeout_ms; /* default 20s */
} ks_config;

/* One problem found while loading: printed as "FILE:LINE: key.path: message". */
typedef struct ks_config_diag {
    char *file;
    int line;       /* 1-based; 0 when the problem has no line (e.g. file unreadable) */
    char *key_path; /* e.g. "input.aws_kinesis.dynamodb.billing_mode"; "" for syntax errors */
    char *message;  /* never contains a secret value */
    bool warning;   /* true: reported, but the file still loads */
} ks_config_diag;

typedef struct ks_config_diags {
    ks_config_diag *items;
    size_t len;
    size_t cap;
} ks_config_diags;

/* Fills c (which must own no memory yet: it is overwritten) with every documented
 * default, taken from the field table. Strings are allocated; free with
 * ks_config_destroy() (heap) or ks_config_clean_up() (embedded). On allocation failure
 * some default strings stay NULL and ks_config_set_defaults_checked() says KS_ERR_NOMEM. */
void ks_config_set_defaults(ks_config *c);
ks_err ks_config_set_defaults_checked(ks_config *c);
void ks_config_clean_up(ks_config *c); /* frees owned memory; accepts NULL */

/* Parse + default + validate. Every problem goes to diags (which the caller inits and
 * cleans up; warnings included). Returns KS_ERR_INVALID when any error diag was added,
 * KS_ERR_IO when the file cannot be read, KS_ERR_NOMEM; *out is set (caller destroys)
 * only on KS_OK. `name` is the file name printed in diagnostics. Environment variables
 * are read for ${VAR} / ${VAR:default} interpolation. Blocking: call before the loop. */
ks_err ks_config_load_file(const char *path, ks_config **out, ks_config_diags *diags);
ks_err ks_config_load_string(const char *name, const char *yaml, size_t len, ks_config **out,
                             ks_config_diags *diags);
void ks_config_destroy(ks_config *c); /* accepts NULL */

void ks_config_diags_init(ks_config_diags *d);
void ks_config_diags_clean_up(ks_config_diags *d); /* accepts NULL */
ks_err ks_config_diags_add(ks_config_diags *d, bool warning, const char *file, int line,
                           const char *key_path, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* One line each: "FILE:LINE: key.path: message" ("FILE:LINE: key.path: warning: message"
 * for warnings), in the order they were added (loading sorts them by line). */
void ks_config_diags_print(const ks_config_diags *d, FILE *f);
size_t ks_config_diags_errors(const ks_config_diags *d);
size_t ks_config_diags_warnings(const ks_config_diags *d);

/* Markdown reference generated from the field table (path, type, default, doc, options).
 * Appends to out. */
ks_err ks_config_reference_markdown(ks_buf *out);

/* Name of an enum value as written in YAML ("json_lines", "PROVISIONED", ...). */
const char *ks_codec_name(ks_codec c);
const char *ks_billing_mode_name(ks_billing_mode m);
const char *ks_archive_format_name(ks_archive_format f);

#endif
