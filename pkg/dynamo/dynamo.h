/* DynamoDB client over ks_aws_client. Items are cJSON objects in DynamoDB's
 * AttributeValue JSON ({"ShardID":{"S":"x"},"LeaseCounter":{"N":"3"}}). Requests are
 * built with the small helpers below; conditional writes report
 * KS_ERR_AWS_CONDITION_FAILED.
 *
 * Items passed to callbacks are valid only during the callback. */
#ifndef KS_DYNAMO_DYNAMO_H
#define KS_DYNAMO_DYNAMO_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/client.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"

typedef struct ks_dynamo ks_dynamo;

ks_err ks_dynamo_new(ks_aws_client *aws, ks_dynamo **out); /* does not own aws */
/* Call with no request pending: destroy the aws client first (pending calls complete with
 * KS_ERR_CANCELLED), let ensure_table timers close (run the loop), then this. Accepts NULL. */
void ks_dynamo_destroy(ks_dynamo *d);

/* --- table management --- */
typedef struct ks_table_spec {
    const char *table;
    const char *hash_key;  /* "StreamID" (S) */
    const char *range_key; /* "ShardID" (S) */
    ks_billing_mode billing_mode;
    int64_t read_capacity_units;  /* PROVISIONED only */
    int64_t write_capacity_units; /* PROVISIONED only */
} ks_table_spec;

typedef void (*ks_dynamo_done_cb)(void *ud, ks_err err);
/* status_out: "ACTIVE", "CREATING", ... valid only in the callback. */
typedef void (*ks_dynamo_table_cb)(void *ud, ks_err err, const char *status);

ks_err ks_dynamo_create_table(ks_dynamo *d, const ks_table_spec *spec, ks_dynamo_done_cb cb,
                              void *ud);
ks_err ks_dynamo_describe_table(ks_dynamo *d, const char *table, ks_dynamo_table_cb cb, void *ud);
/* Describe; create if missing and `create`; poll until ACTIVE (timer on the loop). */
ks_err ks_dynamo_ensure_table(ks_dynamo *d, uv_loop_t *loop, const ks_table_spec *spec, bool create,
                              uint64_t timeout_ms, ks_dynamo_done_cb cb, void *ud);

/* --- items --- */
typedef void (*ks_dynamo_item_cb)(void *ud, ks_err err, const cJSON *item /* NULL if none */);
typedef void (*ks_dynamo_items_cb)(void *ud, ks_err err, const cJSON *const *items, size_t n);

/* Query all items with hash key = value, following LastEvaluatedKey (paginated), with
 * ConsistentRead. */
ks_err ks_dynamo_query_all(ks_dynamo *d, const char *table, const char *hash_key,
                           const char *hash_value, ks_dynamo_items_cb cb, void *ud);
ks_err ks_dynamo_get_item(ks_dynamo *d, const char *table, const cJSON *key, bool consistent,
                          ks_dynamo_item_cb cb, void *ud);

/* A write with an expression. NULL fields are omitted. names/values are
 * ExpressionAttributeNames/Values objects (cJSON, not consumed). return_values:
 * "NONE", "ALL_NEW", "ALL_OLD", "UPDATED_NEW" or NULL. The callback's item is the
 * returned Attributes (or NULL). */
typedef struct ks_dynamo_write {
    const char *table;
    const cJSON *key;
    const char *update_expression; /* UpdateItem only */
    const char *condition_expression;
    const cJSON *names;
    const cJSON *values;
    const char *return_values;
} ks_dynamo_write;

ks_err ks_dynamo_update_item(ks_dynamo *d, const ks_dynamo_write *w, ks_dynamo_item_cb cb,
                             void *ud);
ks_err ks_dynamo_delete_item(ks_dynamo *d, const ks_dynamo_write *w, ks_dynamo_item_cb cb,
                             void *ud);
/* PutItem with a condition (e.g. attribute_not_exists(ShardID)); w->key is the full item. */
ks_err ks_dynamo_put_item(ks_dynamo *d, const ks_dynamo_write *w, ks_dynamo_item_cb cb, void *ud);

/* --- AttributeValue helpers --- */
cJSON *ks_ddb_s(const char *s);                   /* {"S": s} */
cJSON *ks_ddb_n(int64_t n);                       /* {"N": "n"} */
cJSON *ks_ddb_ss(const char *const *v, size_t n); /* {"SS": [...]} */
/* Reads attribute `name` of an item: string of S (or N), NULL if absent/other type. */
const char *ks_ddb_get_s(const cJSON *item, const char *name);
/* Reads an N attribute; returns false if absent or not a number. */
bool ks_ddb_get_n(const cJSON *item, const char *name, int64_t *out);
/* SS or L-of-S or comma-separated S: count and i-th element (NULL past the end). */
size_t ks_ddb_get_ss_len(const cJSON *item, const char *name);
/* For SS / L the pointer is into the item; for a comma-separated S it is a static buffer
 * valid until the next call (elements longer than 255 bytes are truncated). */
const char *ks_ddb_get_ss_at(const cJSON *item, const char *name, size_t i);

/* Per-call timeout (0 = the aws client's default). */
void ks_dynamo_set_timeout_ms(ks_dynamo *d, uint64_t timeout_ms);
/* Limit sent with every Query page (0 = none, the default); tests use it to force paging. */
void ks_dynamo_set_query_page_limit(ks_dynamo *d, int limit);
/* Interval between DescribeTable polls in ensure_table (default 250 ms). */
void ks_dynamo_set_poll_interval_ms(ks_dynamo *d, uint64_t interval_ms);

/* --- Pure request encoders and response decoders (unit-tested). --- */
typedef enum ks_dynamo_write_kind {
    KS_DDB_UPDATE = 0,
    KS_DDB_DELETE,
    KS_DDB_PUT,
} ks_dynamo_write_kind;

ks_err ks_dynamo_encode_create_table(const ks_table_spec *spec, ks_buf *out);
ks_err ks_dynamo_encode_describe_table(const char *table, ks_buf *out);
/* Query hash_key = hash_value with ConsistentRead; start_key (LastEvaluatedKey of the previous
 * page) may be NULL; limit 0 = none. */
ks_err ks_dynamo_encode_query(const char *table, const char *hash_key, const char *hash_value,
                              const cJSON *start_key, int limit, ks_buf *out);
ks_err ks_dynamo_encode_get_item(const char *table, const cJSON *key, bool consistent, ks_buf *out);
ks_err ks_dynamo_encode_write(ks_dynamo_write_kind kind, const ks_dynamo_write *w, ks_buf *out);
/* Table.TableStatus (points into json); KS_ERR_PARSE when absent. */
ks_err ks_dynamo_decode_table_status(const cJSON *json, const char **status);
/* KS_OK when the described table has HASH hash_key and RANGE range_key (or no KeySchema in
 * the answer); KS_ERR_INVALID when the schema differs. */
ks_err ks_dynamo_check_key_schema(const cJSON *json, const char *hash_key, const char *range_key);

#endif
