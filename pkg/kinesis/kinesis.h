/* Kinesis Data Streams client over ks_aws_client: request encoding and tolerant
 * response decoding (explicit null = absent, fractional epoch timestamps, unknown
 * fields ignored). A stream argument that starts with "arn:" is sent as StreamARN,
 * anything else as StreamName.
 *
 * Results passed to callbacks are valid only during the callback. */
#ifndef KS_KINESIS_KINESIS_H
#define KS_KINESIS_KINESIS_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/client.h"
#include "core/buf.h"
#include "core/err.h"

typedef struct ks_kinesis ks_kinesis;

ks_err ks_kinesis_new(ks_aws_client *aws, ks_kinesis **out); /* does not own aws */
/* Call with no request pending: destroy the aws client first (its pending calls complete
 * with KS_ERR_CANCELLED through this client), then this. Accepts NULL. */
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
ks_err ks_kinesis_list_shards(ks_kinesis *k, const char *stream, ks_kinesis_shards_cb cb, void *ud);

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
    int64_t arrival_ms;            /* ApproximateArrivalTimestamp in epoch ms; 0 if absent */
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
    const char *next_iterator;          /* NULL when the shard is closed and fully read */
    int64_t millis_behind_latest;       /* -1 if absent */
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

/* Per-call timeout for every request of this client (0 = the aws client's default).
 * GetShardIterator AT_TIMESTAMP can hang on some emulators: keep a timeout. */
void ks_kinesis_set_timeout_ms(ks_kinesis *k, uint64_t timeout_ms);
/* MaxResults sent with every ListShards page (default 1000, AWS allows 1..10000). */
void ks_kinesis_set_list_page_size(ks_kinesis *k, int max_results);

/* --- Pure request encoders and response decoders (unit-tested with canned JSON). --- */

/* Appends "StreamARN":"..." or "StreamName":"..." (no braces) to out. */
ks_err ks_kinesis_encode_stream_field(const char *stream, ks_buf *out);
ks_err ks_kinesis_encode_get_shard_iterator(const ks_iterator_request *req, ks_buf *out);
ks_err ks_kinesis_encode_get_records(const char *iterator, int limit, ks_buf *out);
ks_err ks_kinesis_encode_describe_stream_summary(const char *stream, ks_buf *out);
const char *ks_iterator_type_name(ks_iterator_type t);

/* Fractional epoch seconds (number, or numeric string) -> epoch ms; false if absent/bad. */
bool ks_kinesis_decode_epoch_ms(const cJSON *v, int64_t *out_ms);

/* Decoding scratch for GetRecords: arrays reused between calls (no per-record malloc).
 * The decoded result points into the cJSON tree (no record data is copied): it is valid
 * while both the tree and the scratch are. */
typedef struct ks_get_records_scratch {
    ks_record *records;
    size_t records_cap;
    ks_child_shard *children;
    size_t children_cap;
    const char **parents;
    size_t parents_cap;
} ks_get_records_scratch;

void ks_get_records_scratch_clean_up(ks_get_records_scratch *s); /* accepts NULL */
/* KS_ERR_PARSE when json is not an object, Records is not an array, or a record lacks a
 * SequenceNumber. Explicit nulls are absent; unknown fields are ignored. */
ks_err ks_kinesis_decode_get_records(const cJSON *json, ks_get_records_scratch *scratch,
                                     ks_get_records_result *out);
/* *iterator points into json. KS_ERR_PARSE when ShardIterator is missing. */
ks_err ks_kinesis_decode_shard_iterator(const cJSON *json, const char **iterator);
/* Strings point into json. KS_ERR_PARSE when StreamDescriptionSummary is missing. */
ks_err ks_kinesis_decode_stream_summary(const cJSON *json, ks_stream_summary *out);

/* ListShards pagination: the first request names the stream, every later one carries only
 * NextToken + MaxResults (AWS rejects StreamName together with NextToken). Shards of all
 * pages are merged; their strings are owned by the state. */
typedef struct ks_list_shards_state {
    char *stream;
    char *next_token; /* NULL before the first page and after the last */
    int max_results;
    ks_shard *shards;
    size_t n_shards;
    size_t cap;
    int pages; /* pages consumed so far */
    bool done; /* a page without NextToken was consumed */
} ks_list_shards_state;

ks_err ks_list_shards_state_init(ks_list_shards_state *st, const char *stream, int max_results);
void ks_list_shards_state_clean_up(ks_list_shards_state *st); /* accepts NULL */
ks_err ks_list_shards_encode(const ks_list_shards_state *st, ks_buf *out);
/* Appends the page's shards, updates next_token/done. KS_ERR_PARSE on a malformed page
 * (not an object, Shards not an array, a shard without ShardId). */
ks_err ks_list_shards_consume(ks_list_shards_state *st, const cJSON *page);

#endif
