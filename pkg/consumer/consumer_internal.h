/* Internal to pkg/consumer: the engine, per-shard readers and their batch slots. */
#ifndef KS_CONSUMER_INTERNAL_H
#define KS_CONSUMER_INTERNAL_H

#include "batch/policy.h"
#include "consumer/engine.h"
#include "core/backoff.h"
#include "lease/tracker.h"

/* Where a built, unfinished batch is. Slots form a per-shard list in dispatch
 * (sequence) order; finished batches leave the list at once. The checkpoint itself is
 * computed by the shard's ks_tracker (pkg/lease/tracker.h), which knows every batch
 * dispatched and which ones are finished. */
typedef enum ks_slot_state {
    KS_SLOT_QUEUED = 0, /* built, not (or no longer) in the sink */
    KS_SLOT_IN_SINK,    /* submitted, result pending */
    KS_SLOT_FAILED,     /* nacked while draining: blocks the checkpoint, never resent */
} ks_slot_state;

typedef struct ks_reader ks_reader;

/* Read-ahead bytes counted per record on top of its base64 data: its key, sequence
 * number, record struct and allocation overhead (measured: ~150-200 bytes). */
#define KS_RECORD_OVERHEAD_BYTES 160

typedef struct ks_slot {
    ks_batch *batch;
    ks_slot_state state;
    bool orphan; /* the reader is gone: on result just free */
    uint64_t tracker_id;
    size_t bytes; /* read-ahead bytes it holds while QUEUED (see ks_engine.buffered_bytes) */
    ks_reader *reader;
    struct ks_slot *prev, *next;
} ks_slot;

typedef enum ks_reader_state {
    KS_READER_STARTING = 0, /* resolving an iterator */
    KS_READER_READING,
    KS_READER_ENDED,    /* read to the shard's end; waiting for acks, then SHARD_END */
    KS_READER_DRAINING, /* handoff or shutdown: no fetching, waiting for in-flight acks */
    KS_READER_DEAD,     /* removed; freed when the last reference goes */
} ks_reader_state;

struct ks_reader {
    ks_engine *engine;
    char *stream;
    char *shard_id;
    ks_reader_state state;
    bool handoff; /* DRAINING because a peer asked for the shard */
    bool is_child;

    /* Start position from the lease. */
    ks_iterator_type start_type;
    char *start_sequence;
    int64_t start_timestamp_ms;

    char *iterator;
    char *last_read_sequence; /* for expired-iterator refresh */
    char *checkpoint;         /* last sequence handed to the lease coordinator */
    bool fetch_pending;       /* a GetRecords or GetShardIterator call is out */
    bool at_end;              /* GetRecords said there is no next iterator */
    uint64_t last_fetch_mono_ms;
    uint64_t next_fetch_not_before_ms;
    uint64_t idle_delay_ms;
    ks_backoff error_backoff;
    ks_backoff nack_backoff;
    uint64_t replay_not_before_ms;
    int64_t millis_behind_latest;
    uint64_t avg_record_b64; /* bytes per record of the last page: sizes the next one */

    /* Batches. */
    ks_tracker *tracker;
    ks_slot *head, *tail;
    ks_slot *send_cursor; /* no QUEUED slot before this one */
    size_t n_slots;
    size_t queued_records;  /* QUEUED slots' records */
    size_t in_sink_records; /* IN_SINK slots' records: bounded by checkpoint_limit */

    ks_batch *open;        /* batch being filled by the batching policy */
    size_t open_bytes;     /* read-ahead bytes of the open batch */
    size_t reserved_bytes; /* read-ahead reserved by the GetRecords call in flight */
    bool waiting_budget;   /* a fetch waits for the engine's read-ahead budget */

    uv_timer_t fetch_timer;
    uv_timer_t batch_timer; /* batching.period */
    uv_timer_t aux_timer;   /* replay back-off and handoff grace */
    int refs;               /* list membership + async calls + slots in sink + open timers */

    /* Metric series (owned by the registry). */
    ks_metric *m_records, *m_bytes, *m_behind, *m_uncommitted;

    ks_reader *next;
};

struct ks_engine {
    uv_loop_t *loop;
    const ks_config *config;
    const ks_clock *clock;
    ks_kinesis *kinesis;
    ks_metrics *metrics;
    ks_sink *sink;
    ks_lease_coordinator *leases;
    ks_batch_policy *policy; /* NULL when no batching policy is configured */
    ks_reader *readers;
    size_t n_readers;
    size_t rr_start; /* round robin over readers when the sink frees up */
    /* Read-ahead: bytes fetched (or being fetched) and not yet handed to the sink, over
     * all shards. Fetches wait while it is over the budget, so memory does not grow with
     * the number of shards. */
    size_t buffered_bytes;
    bool kicking;
    bool paused;
    bool draining;
    bool drained;
    bool destroying;
    ks_engine_done_cb drain_cb;
    void *drain_ud;
    bool releasing; /* release_all is under way */
    uv_timer_t drain_timer;

    ks_metric *m_delivered_records, *m_delivered_bytes, *m_acked, *m_nacked, *m_dropped,
        *m_throttles, *m_errors, *m_expired_iterators, *m_latency, *m_lost;
};

/* reader.c: fetching */
ks_reader *ks_reader_find(ks_engine *e, const char *stream, const char *shard_id);
ks_err ks_reader_start(ks_engine *e, const ks_lease_start *start);
void ks_reader_schedule_fetch(ks_reader *r);
void ks_reader_kill(ks_reader *r, const char *why);
void ks_reader_ref(ks_reader *r);
void ks_reader_unref(ks_reader *r);

/* Sizes of a page taken by ks_reader_take_records (records actually kept). */
typedef struct ks_page_sizes {
    size_t records;
    size_t decoded_bytes;    /* payload bytes (bytes_received_total) */
    size_t read_ahead_bytes; /* base64 + KS_RECORD_OVERHEAD_BYTES per record */
} ks_page_sizes;

/* dispatch.c: batches, sink results, checkpoints */
void ks_engine_account(ks_engine *e, int64_t delta_bytes);
ks_err ks_reader_take_records(ks_reader *r, const ks_record *recs, size_t n, ks_page_sizes *sizes);
void ks_reader_drop_open(ks_reader *r);
void ks_reader_flush_open(ks_reader *r);
void ks_reader_pump(ks_reader *r);
void ks_reader_drop_unsent(ks_reader *r);
void ks_reader_orphan_in_sink(ks_reader *r);
void ks_reader_check_finished(ks_reader *r);
void ks_engine_on_sink_result(void *ud, ks_batch *batch, ks_delivery result, const char *reason);
void ks_engine_on_sink_ready(void *ud);

/* engine.c */
void ks_engine_check_drained(ks_engine *e);

#endif
