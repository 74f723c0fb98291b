/* Internal to pkg/config: the field table that parses, defaults and documents every
 * configuration field, and the helpers the loader and validator share. */
#ifndef KS_CONFIG_CONFIG_INTERNAL_H
#define KS_CONFIG_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

typedef enum ks_cfg_type {
    KS_CFG_OBJECT = 0, /* a mapping; documentation + key validation only */
    KS_CFG_BOOL,       /* bool */
    KS_CFG_INT,        /* int64_t */
    KS_CFG_STRING,     /* char * (owned) */
    KS_CFG_DURATION,   /* int64_t milliseconds */
    KS_CFG_ENUM,       /* C enum (int-sized) */
    KS_CFG_MODE,       /* uint32_t file mode: octal string "0600" or int */
    KS_CFG_STREAMS,    /* list of strings -> ks_stream_spec[] */
    KS_CFG_PROCESSORS, /* list of processors -> ks_processor_config[] */
} ks_cfg_type;

enum {
    KS_CFG_F_SECRET = 1u << 0,     /* value never printed */
    KS_CFG_F_OPTIONAL = 1u << 1,   /* string: absent or "" -> NULL */
    KS_CFG_F_EXT = 1u << 2,        /* our extension (not in the seed) */
    KS_CFG_F_EMPTY_ZERO = 1u << 3, /* duration: "" means 0 (disabled) */
    KS_CFG_F_ICASE = 1u << 4,      /* enum: case-insensitive */
    KS_CFG_F_REQUIRED = 1u << 5,   /* no default: must be given */
    KS_CFG_F_EMPTY_FALSE = 1u << 6 /* bool: "" means false (the seed's from_ec2_role: "") */
};

typedef struct ks_cfg_enum {
    const char *name;
    int value;
} ks_cfg_enum;

/* Field order follows the table rows for readability (a few padding bytes in a const table). */
/* NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding) */
typedef struct ks_cfg_field {
    const char *path; /* full key path, e.g. "input.aws_kinesis.dynamodb.table" */
    ks_cfg_type type;
    const char *def; /* default as YAML text; NULL = none */
    const char *doc;
    size_t offset;      /* into ks_config (unused for KS_CFG_OBJECT) */
    size_t line_offset; /* != 0: int member receiving the value's source line */
    unsigned flags;
    const ks_cfg_enum *options; /* KS_CFG_ENUM: terminated by {NULL, 0} */
} ks_cfg_field;

extern const ks_cfg_field ks_cfg_fields[];
extern const size_t ks_cfg_n_fields;

/* Exact path lookup; NULL when unknown. */
const ks_cfg_field *ks_cfg_find(const char *path);
const char *ks_cfg_type_name(ks_cfg_type t);
const char *ks_cfg_enum_name(const ks_cfg_enum *options, int value);

/* Converts text (already interpolated) into the field's member of c. On failure returns
 * KS_ERR_PARSE / KS_ERR_INVALID and writes a message (never containing the value of a
 * secret field) to why; KS_ERR_NOMEM on allocation failure. Strings are replaced
 * (the old value freed). */
ks_err ks_cfg_set_scalar(ks_config *c, const ks_cfg_field *f, const char *text, char *why,
                         size_t why_len);

/* Splits one `streams` entry ("a, b", "arn:...:stream/x:shardId-0", "name:shard") and
 * appends to c->input.streams. Bad pieces are reported through diags at (file, line). */
ks_err ks_cfg_add_streams(ks_config *c, const char *entry, ks_config_diags *diags, const char *file,
                          int line);

/* Where things were found, for cross-field diagnostics. */
typedef struct ks_cfg_lines {
    int field[128];  /* per ks_cfg_fields index: source line, 0 = not given */
    int output_kind; /* line of output.fifo / output.websocket */
} ks_cfg_lines;

/* Cross-field checks and normalisation (keep-alive zeros -> defaults) after parsing. */
ks_err ks_cfg_validate(ks_config *c, const ks_cfg_lines *lines, const char *file,
                       ks_config_diags *diags);

/* Line for a diagnostic about path: where it (or its nearest given ancestor) appeared. */
int ks_cfg_line_of(const ks_cfg_lines *lines, const char *path);

#endif
