/* Internal to pkg/lease: coordinator state shared by coordinator.c (lifecycle, timers,
 * rebalance, API) and writes.c (the conditional writes and their outcomes). */
#ifndef KS_LEASE_INTERNAL_H
#define KS_LEASE_INTERNAL_H

#include "core/backoff.h"
#include "lease/lease.h"
#include "lease/plan.h"

/* A child shard learned from GetRecords' ChildShards at a parent's end, kept until
 * ListShards shows it (AWS's listing can lag the resharding it reports). */
typedef struct ks_lease_child {
    char *shard_id;
    char *parents[2];
} ks_lease_child;

typedef struct ks_lease_stream {
    char *name; /* StreamID: the stream as written in the config */
    char **explicit_ids;
    size_t n_explicit;
    ks_lease_observer obs;
    bool standby_ok;
    ks_lease_child *children;
    size_t n_children;
} ks_lease_stream;

typedef struct ks_lease_waiter {
    ks_lease_done_cb cb;
    void *ud;
    struct ks_lease_waiter *next;
} ks_lease_waiter;

typedef enum ks_held_phase {
    KS_HELD_ACTIVE = 0,
    KS_HELD_RELEASING, /* final commit + REMOVE ClientID */
    KS_HELD_ENDING,    /* SequenceNumber = SHARD_END + REMOVE ClientID */
} ks_held_phase;

typedef struct ks_held {
    struct ks_held *next;
    ks_lease_stream *st;
    char *shard_id;
    int64_t counter;  /* the LeaseCounter my last successful write left */
    char *committed;  /* SequenceNumber in the table */
    char *checkpoint; /* newest acknowledged checkpoint, NULL when none given */
    ks_held_phase phase;
    bool in_flight;
    bool detached; /* dropped while a write was out: freed when it completes */
    bool handoff_seen;
    bool commit_now;
    bool uncertain;          /* the last write failed without an answer: it may have landed */
    uint64_t last_ok_ms;     /* last successful write (renewal) */
    uint64_t last_commit_ms; /* last write that carried a checkpoint, or the claim */
    uint64_t next_try_ms;    /* back-off after a failed write */
    ks_backoff backoff;
    ks_lease_waiter *waiters; /* commit_now / release callbacks */
} ks_held;

typedef enum ks_lease_op_kind {
    KS_OP_ENSURE = 0,
    KS_OP_LIST,
    KS_OP_QUERY,
    KS_OP_RENEW,
    KS_OP_RELEASE,
    KS_OP_SHARD_END,
    KS_OP_CLAIM,
    KS_OP_HANDOFF,
    KS_OP_DELETE,
    KS_OP_REREAD, /* consistent GetItem after a conditional failure following an uncertain write */
} ks_lease_op_kind;

/* One outstanding asynchronous call. After destroy, c is NULL and the completion only
 * frees the op. */
typedef struct ks_lease_op {
    struct ks_lease_op *prev, *next;
    ks_lease_coordinator *c;
    ks_lease_op_kind kind;
    ks_lease_stream *st;
    ks_held *held;
    char *shard_id;
    char *peer;
    char *seq;       /* sequence written (RENEW/RELEASE) */
    int64_t counter; /* counter the write sets */
    bool is_child;
    bool handoff;          /* a claim completing my handoff request */
    ks_lease_op_kind orig; /* REREAD: the write whose condition failed */
} ks_lease_op;

struct ks_lease_coordinator {
    uv_loop_t *loop;
    ks_dynamo *dynamo;
    ks_kinesis *kinesis;
    const ks_clock *clock;
    const ks_config *config;
    const ks_kinesis_input_config *in;
    char *client_id;
    ks_lease_events ev;
    ks_metrics *metrics;

    ks_lease_stream *streams;
    size_t n_streams;
    ks_held *held;
    size_t n_held;
    ks_held *zombies; /* detached, waiting for their write to complete */
    ks_lease_op *ops;

    uv_timer_t rebalance_timer, tick_timer, stop_timer;
    int open_handles;
    bool destroyed, started, table_ready, paused, stopping;
    bool cycle_running, rerun;
    size_t cycle_stream;
    size_t cycle_budget;
    ks_shard *shards; /* the current stream's listing during a cycle (deep copy) */
    size_t n_shards;
    ks_backoff table_backoff;

    struct {
        bool active;
        ks_lease_stream *st;
        char *shard_id;
        char *peer;
        uint64_t requested_ms;
    } pending;

    bool ever_ok;
    uint64_t last_ok_ms; /* last successful DynamoDB write (or Query) */
    /* How long that success vouches for the DynamoDB path, fixed when it happened:
     * lease_period for a write while holding leases, plus rebalance_period for a standby
     * (which only queries, once per cycle). Fixing it then keeps self-fencing (which
     * drops every lease when DynamoDB is gone) from stretching the window afterwards. */
    uint64_t last_ok_window_ms;
    ks_lease_done_cb stop_cb;
    void *stop_ud;

    ks_metric *m_held, *m_claims, *m_losses, *m_hreq, *m_hin, *m_hout;
    ks_metric *m_commit_ok, *m_commit_conflict, *m_commit_error, *m_ddb_errors, *m_throttles;
};

/* coordinator.c */
uint64_t ks_lease_now(const ks_lease_coordinator *c);
ks_lease_op *ks_lease_op_new(ks_lease_coordinator *c, ks_lease_op_kind kind);
void ks_lease_op_free(ks_lease_op *op); /* unlinks */
ks_held *ks_lease_find(const ks_lease_coordinator *c, const char *stream, const char *shard);
/* Unlinks h, answers its waiters with err, optionally tells the consumer (on_lost). */
void ks_lease_drop(ks_lease_coordinator *c, ks_held *h, ks_err err, const char *lost_reason);
void ks_lease_count_error(ks_lease_coordinator *c, ks_err err);
void ks_lease_mark_ok(ks_lease_coordinator *c);
void ks_lease_check_stopped(ks_lease_coordinator *c);
void ks_lease_set_str(char **dst, const char *src);

/* writes.c */
void ks_lease_kick(ks_lease_coordinator *c, ks_held *h); /* the next due write, if any */
void ks_lease_execute(ks_lease_coordinator *c, ks_lease_stream *st, const ks_plan_action *a);
void ks_lease_waiters_answer(ks_held *h, ks_err err);

/* children.c */
ks_err ks_lease_merge_children(ks_lease_stream *st, ks_shard **shards, size_t *n_shards);
void ks_lease_children_clean_up(ks_lease_stream *st);

#endif
