/* Kinesis Data Streams client over ks_aws_client: request encoding and tolerant
 * response decoding (explicit null = absent, fractional epoch timestamps, unknown
 * fields ignored). A stream argument that starts with "arn:" is sent as StreamARN,
 * anything else as StreamName.
 *
 * Results passed to callbacks are valid only during the callback. */
#ifndef KS_KINESIS_KINESIS_H
#define KS_KINESIS_KINESIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/client.h"
#include "core/err.h"

typedef struct ks_kinesis ks_kinesis;

ks_err ks_kinesis_new(ks_aws_client *aws, ks_kinesis **out); /* does not own aws */
void ks_kinesis_destroy(ks_kinesis *k);

typedef struct ks_shard {
    const char *shard_id;
    const char *parent_shard_id;          /* NULL if none */
    const char *adjacent_parent_shard_id; /* NULL if none */
    const char *starting_sequence;
    const char *ending_sequence; /* NULL while the shard is open */
    const char *starting_hash_key;
    const char *ending_hash_key;
} ks_shard;

typedef void (*ks_kinesis_shards_cb)(void *ud, ks_err err, const ks_shard *shards, size_t n);
/* ListShards, following NextToken until it is absent (all pages merged). */
ks_err ks_kinesis_list_shards(ks_kinesis *k, const char *stream, ks_kinesis_shards_cb cb,
                              void *ud);

typedef enum ks_iterator_type {
    KS_ITER_TRIM_HORIZON = 0,
    KS_ITER_LATEST,
    KS_ITER_AT_SEQUENCE_NUMBER,
    KS_ITER_AFTER_SEQUENCE_NUMBER,
    KS_ITER_AT_TIMESTAMP,
} ks_iterator_type;

typedef struct ks_iterator_request {
    const char *stream;
    const char *shard_id;
    ks_iterator_type type;
    const char *sequence_number; /* AT/AFTER_SEQUENCE_NUMBER */
    int64_t timestamp_ms;        /* AT_TIMESTAMP (sent as fractional epoch seconds) */
} ks_iterator_request;

typedef void (*ks_kinesis_iterator_cb)(void *ud, ks_err err, const char *iterator);
ks_err ks_kinesis_get_shard_iterator(ks_kinesis *k, const ks_iterator_request *req,
                                     ks_kinesis_iterator_cb cb, void *ud);

typedef struct ks_record {
    const char *data_b64; /* base64 exactly as AWS sent it; not decoded */
    size_t data_b64_len;
    const char *partition_key;
    const char *sequence_number;
    int64_t arrival_ms; /* ApproximateArrivalTimestamp in epoch ms; 0 if absent */
    const char *explicit_hash_key; /* rarely present; NULL if absent */
} ks_record;

typedef struct ks_child_shard {
    const char *shard_id;
    const char *const *parent_shard_ids;
    size_t n_parents;
} ks_child_shard;

typedef struct ks_get_records_result {
    const ks_record *records;
    size_t n_records;
    const char *next_iterator;    /* NULL when the shard is closed and fully read */
    int64_t millis_behind_latest; /* -1 if absent */
    const ks_child_shard *child_shards; /* present on real AWS at shard end */
    size_t n_child_shards;
    size_t response_bytes; /* size of the HTTP body, for metrics */
} ks_get_records_result;

typedef void (*ks_kinesis_records_cb)(void *ud, ks_err err, const ks_get_records_result *res);
ks_err ks_kinesis_get_records(ks_kinesis *k, const char *iterator, int limit,
                              ks_kinesis_records_cb cb, void *ud);

typedef struct ks_stream_summary {
    const char *stream_name;
    const char *stream_arn;
    const char *stream_status;
    int64_t open_shard_count;
} ks_stream_summary;

typedef void (*ks_kinesis_summary_cb)(void *ud, ks_err err, const ks_stream_summary *s);
ks_err ks_kinesis_describe_stream_summary(ks_kinesis *k, const char *stream,
                                          ks_kinesis_summary_cb cb, void *ud);

#endif
