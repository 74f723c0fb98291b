/* The lease coordinator: claims, renews, checkpoints, hands off and releases shard
 * leases in the DynamoDB table (DESIGN 5; protocol in docs/leases.md). One instance per
 * process, on the libuv loop, driving ks_dynamo and ks_kinesis.
 *
 * Events are called on the loop; the consumer may call back into the coordinator from
 * inside them. Strings passed to events are valid only during the call.
 *
 * Ownership: the coordinator borrows everything in ks_lease_options (loop, clients,
 * clock, config, metrics) — they must outlive it; client_id is copied. Destroy the
 * coordinator before the dynamo/kinesis clients. */
#ifndef KS_LEASE_LEASE_H
#define KS_LEASE_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "dynamo/dynamo.h"
#include "kinesis/kinesis.h"
#include "metrics/metrics.h"

typedef struct ks_lease_coordinator ks_lease_coordinator;

/* Where reading starts after a claim: a stored sequence -> AFTER_SEQUENCE_NUMBER;
 * otherwise TRIM_HORIZON (start_from_oldest, or a child shard) or AT_TIMESTAMP at the
 * claim time (LATEST resolved and stored in the row by the claim write). */
typedef struct ks_lease_start {
    const char *stream;
    const char *shard_id;
    ks_iterator_type type;
    const char *sequence; /* AFTER_SEQUENCE_NUMBER */
    int64_t timestamp_ms; /* AT_TIMESTAMP */
    bool is_child;
} ks_lease_start;

typedef struct ks_lease_events {
    /* A lease was acquired: start reading. */
    void (*on_acquired)(void *ud, const ks_lease_start *start);
    /* The lease is gone (a conditional write failed, or my renewals failed for
     * lease_period): stop delivering the shard now, drop its in-flight records without
     * committing. Not called for ks_lease_release/ks_lease_shard_end/release_all. */
    void (*on_lost)(void *ud, const char *stream, const char *shard_id, const char *reason);
    /* A peer asked for the shard (HandoffTo): stop fetching, wait for in-flight acks
     * (bounded by steal_grace_period), then ks_lease_release(). Called once per lease. */
    void (*on_handoff_requested)(void *ud, const char *stream, const char *shard_id);
    void *ud;
    /* Optional (may be NULL): the table cannot be used (missing with create: false,
     * access denied); the coordinator keeps retrying every rebalance_period. */
    void (*on_table_error)(void *ud, ks_err err, const char *message);
} ks_lease_events;

typedef struct ks_lease_options {
    uv_loop_t *loop;
    ks_dynamo *dynamo;
    ks_kinesis *kinesis;
    const ks_clock *clock; /* NULL = system */
    const ks_config *config;
    const char *client_id; /* unique per process (copied) */
    ks_lease_events events;
    ks_metrics *metrics; /* may be NULL */
} ks_lease_options;

typedef void (*ks_lease_done_cb)(void *ud, ks_err err);

ks_err ks_lease_coordinator_new(const ks_lease_options *opts, ks_lease_coordinator **out);
/* Stops timers and forgets every lease without writing (a crash, as far as the table is
 * concerned: peers take the shards after lease_period). Pending callbacks of
 * commit_now/release/release_all are called with KS_ERR_CANCELLED. Accepts NULL. */
void ks_lease_coordinator_destroy(ks_lease_coordinator *c);

/* Ensures the table (create per config, wait until ACTIVE; a missing table with
 * create: false is reported through on_table_error and logged), then runs the first
 * rebalance after a small random delay. */
ks_err ks_lease_coordinator_start(ks_lease_coordinator *c);

/* New acknowledged checkpoint (copied); written with the next commit tick (every
 * commit_period, only when it moved; heartbeats run on their own). Unknown leases are
 * ignored. */
void ks_lease_checkpoint(ks_lease_coordinator *c, const char *stream, const char *shard_id,
                         const char *sequence);
/* Writes the checkpoint now (combined with a heartbeat). cb may be NULL. */
void ks_lease_commit_now(ks_lease_coordinator *c, const char *stream, const char *shard_id,
                         ks_lease_done_cb cb, void *ud);
/* Every record of the closed shard is acknowledged: write SequenceNumber = SHARD_END
 * and release. Children become claimable. */
void ks_lease_shard_end(ks_lease_coordinator *c, const char *stream, const char *shard_id);
/* Commit the checkpoint and release the lease (handoff done). cb may be NULL;
 * KS_ERR_NOT_FOUND when the lease is not held. */
void ks_lease_release(ks_lease_coordinator *c, const char *stream, const char *shard_id,
                      ks_lease_done_cb cb, void *ud);
/* Graceful stop: claim nothing more, commit final checkpoints and release every lease
 * (owner removed, counter bumped) so peers take over within one rebalance. cb gets
 * KS_OK when all are released (or lost), KS_ERR_TIMEOUT after timeout_ms. */
void ks_lease_release_all(ks_lease_coordinator *c, uint64_t timeout_ms, ks_lease_done_cb cb,
                          void *ud);
/* Draining: claim nothing and ask for nothing while paused. */
void ks_lease_pause_claims(ks_lease_coordinator *c, bool paused);

/* The last DynamoDB lease/commit write (or, holding nothing, the last table Query)
 * succeeded within lease_period (plus one rebalance_period when holding nothing). */
bool ks_lease_dynamo_healthy(const ks_lease_coordinator *c);
size_t ks_lease_held(const ks_lease_coordinator *c);
/* The last rebalance of every stream found each claimable shard held by a live client. */
bool ks_lease_standby_ok(const ks_lease_coordinator *c);
/* Appends {"client_id":..,"held":n,"dynamodb_healthy":b,"standby_ok":b,"leases":[{"stream",
 * "shard_id","checkpoint","committed","last_commit_age_ms","counter","handoff_requested"}]}. */
void ks_lease_status_json(const ks_lease_coordinator *c, ks_buf *out);
/* Refresh shards and rebalance soon (a reader hit a shard end, a shard vanished). */
void ks_lease_trigger_rebalance(ks_lease_coordinator *c);
/* A reader reached the end of a shard and GetRecords named its children (real AWS
 * sends ChildShards; kinesalite does not): they become claimable at the next cycle
 * even before ListShards lists them. Copied; triggers a rebalance. */
void ks_lease_note_children(ks_lease_coordinator *c, const char *stream,
                            const ks_child_shard *children, size_t n);

#endif
