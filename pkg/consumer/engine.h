/* The consumer engine: one reader per leased shard (GetRecords pacing, back-off,
 * expired iterators, shard ends), batching per shard, dispatch to a sink with the
 * checkpoint_limit bound, acknowledgement tracking, and the graceful handoff and
 * shutdown paths. Leases come from pkg/lease (the coordinator calls the engine's
 * ks_lease_events); deliveries go to any ks_sink.
 *
 * Wiring order (the pieces point at each other):
 *   ks_engine_new() -> ks_engine_sink_callbacks() for the sink constructor ->
 *   ks_engine_lease_events() for the coordinator -> ks_engine_attach(sink, coordinator).
 * The engine owns neither the sink nor the coordinator. */
#ifndef KS_CONSUMER_ENGINE_H
#define KS_CONSUMER_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "kinesis/kinesis.h"
#include "lease/lease.h"
#include "metrics/metrics.h"
#include "sink/sink.h"

typedef struct ks_engine ks_engine;

typedef struct ks_engine_options {
    uv_loop_t *loop;
    const ks_config *config;
    ks_kinesis *kinesis;
    ks_metrics *metrics;   /* may be NULL */
    const ks_clock *clock; /* NULL = system */
} ks_engine_options;

ks_err ks_engine_new(const ks_engine_options *opts, ks_engine **out);
/* Stops every reader at once (no commits) and frees. Accepts NULL. */
void ks_engine_destroy(ks_engine *e);

ks_sink_callbacks ks_engine_sink_callbacks(ks_engine *e);
ks_lease_events ks_engine_lease_events(ks_engine *e);
void ks_engine_attach(ks_engine *e, ks_sink *sink, ks_lease_coordinator *leases);

/* Operator hooks. Pause stops fetching new records (leases stay alive). */
void ks_engine_pause(ks_engine *e, bool paused);
bool ks_engine_paused(const ks_engine *e);

/* Graceful stop: stop fetching, wait for in-flight acknowledgements up to timeout_ms,
 * commit, release every lease; then cb(ud, err). Idempotent (a second call only
 * registers nothing and returns). */
typedef void (*ks_engine_done_cb)(void *ud, ks_err err);
void ks_engine_drain(ks_engine *e, uint64_t timeout_ms, ks_engine_done_cb cb, void *ud);
bool ks_engine_draining(const ks_engine *e);
bool ks_engine_drained(const ks_engine *e);

/* Readers currently running, and records dispatched but not committed in total. */
size_t ks_engine_readers(const ks_engine *e);
size_t ks_engine_in_flight(const ks_engine *e);

/* Appends a JSON array of shards: stream, shard_id, state, in_flight, buffered,
 * last_read_sequence, checkpoint, millis_behind_latest. */
void ks_engine_status_json(const ks_engine *e, ks_buf *out);

#endif
