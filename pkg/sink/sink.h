/* Delivery to the main container. A sink takes whole batches (one shard each) and
 * reports each batch's outcome exactly once: ACK (fully delivered / acknowledged by
 * the client) or NACK (must be replayed or dropped per auto_replay_nacks).
 *
 * Ownership: the batch belongs to the caller (the consumer) from ks_batch_new() to
 * ks_batch_destroy(); a sink only borrows it between submit() and the result
 * callback. The result callback may run synchronously inside submit() only for a
 * NACK caused by the sink being closed; otherwise later, on the loop.
 * On destroy, every batch still held is reported as NACK first. */
#ifndef KS_SINK_SINK_H
#define KS_SINK_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* A record as delivered. data is base64 exactly as Kinesis sent it (json_lines and
 * the websocket pass it through untouched; lines/length_prefixed decode it). */
typedef struct ks_out_record {
    char *data_b64;
    size_t data_b64_len;
    char *partition_key;
    char *sequence_number;
    int64_t arrival_ms;
    size_t data_len; /* decoded byte length (for byte_size batching and metrics) */
} ks_out_record;

typedef struct ks_batch {
    uint64_t id;  /* unique per process */
    char *stream; /* as written in the config (StreamID) */
    char *shard_id;
    ks_out_record *records;
    size_t n_records;
    size_t cap_records;
    size_t data_bytes;        /* sum of data_len */
    uint64_t created_mono_ms; /* for delivery latency */
    void *owner_ud;           /* free for the consumer's use */
    uint32_t attempts;        /* delivery attempts so far */
} ks_batch;

ks_err ks_batch_new(const char *stream, const char *shard_id, ks_batch **out);
void ks_batch_destroy(ks_batch *b); /* accepts NULL */
/* Copies the record's strings into the batch. */
ks_err ks_batch_add(ks_batch *b, const char *data_b64, size_t data_b64_len,
                    const char *partition_key, const char *sequence_number, int64_t arrival_ms);
const char *ks_batch_last_sequence(const ks_batch *b); /* NULL if empty */

/* A record's three strings live in ONE allocation owned by data_b64 (partition_key and
 * sequence_number point into it): one malloc per record on the hot path. These two
 * functions are the only way to fill or free a record. */
ks_err ks_out_record_set(ks_out_record *r, const char *data_b64, size_t data_b64_len,
                         const char *partition_key, const char *sequence_number,
                         int64_t arrival_ms);
void ks_out_record_clean_up(ks_out_record *r);

typedef enum ks_delivery { KS_DELIVERY_ACK = 0, KS_DELIVERY_NACK } ks_delivery;

typedef struct ks_sink ks_sink;

/* Result of one batch; reason is a short text for logs on NACK (may be NULL). */
typedef void (*ks_sink_result_cb)(void *ud, ks_batch *batch, ks_delivery result,
                                  const char *reason);
/* The sink can take batches again after having refused with KS_ERR_AGAIN. */
typedef void (*ks_sink_ready_cb)(void *ud);

typedef struct ks_sink_callbacks {
    ks_sink_result_cb on_result;
    ks_sink_ready_cb on_ready;
    void *ud;
} ks_sink_callbacks;

typedef struct ks_sink_vtable {
    const char *name; /* "fifo", "websocket" */
    /* KS_OK: accepted (result comes later). KS_ERR_AGAIN: full, retry after on_ready. */
    ks_err (*submit)(ks_sink *s, ks_batch *batch);
    /* True if a submit now would be accepted. */
    bool (*writable)(const ks_sink *s);
    /* True if someone is there to receive (a FIFO reader, a websocket client). */
    bool (*connected)(const ks_sink *s);
    /* Appends a JSON object describing the sink state (for /status). */
    void (*status_json)(const ks_sink *s, ks_buf *out);
    void (*destroy)(ks_sink *s);
} ks_sink_vtable;

struct ks_sink {
    const ks_sink_vtable *vt;
    ks_sink_callbacks cb;
};

static inline ks_err ks_sink_submit(ks_sink *s, ks_batch *b)
{
    return s->vt->submit(s, b);
}

static inline bool ks_sink_writable(const ks_sink *s)
{
    return s->vt->writable(s);
}

static inline void ks_sink_destroy(ks_sink *s)
{
    if (s)
        s->vt->destroy(s);
}

#endif
