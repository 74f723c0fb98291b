/* The engine: lease events in, readers out, graceful drain, status. */
#include <stdlib.h>
#include <string.h>

#include "consumer/consumer_internal.h"
#include "core/log.h"

static const double latency_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                         0.5,   1,     2.5,  5,     10,   30,  60};

static void engine_metrics(ks_engine *e)
{
    ks_metrics *m = e->metrics;
    if (!m)
        return;
    e->m_delivered_records =
        ks_metrics_counter(m, "records_delivered_total", "Records acknowledged by the sink.", NULL);
    e->m_delivered_bytes = ks_metrics_counter(m, "bytes_delivered_total",
                                              "Record bytes acknowledged by the sink.", NULL);
    e->m_acked = ks_metrics_counter(m, "batches_acked_total", "Batches acknowledged.", NULL);
    e->m_nacked = ks_metrics_counter(m, "batches_nacked_total",
                                     "Batches rejected or not acknowledged in time.", NULL);
    e->m_dropped = ks_metrics_counter(m, "batches_dropped_total",
                                      "Nacked batches dropped (auto_replay_nacks: false).", NULL);
    e->m_throttles = ks_metrics_counter(m, "getrecords_throttles_total",
                                        "GetRecords calls throttled by Kinesis.", NULL);
    e->m_errors = ks_metrics_counter(m, "kinesis_errors_total",
                                     "Failed Kinesis calls (throttling included).", NULL);
    e->m_expired_iterators = ks_metrics_counter(m, "expired_iterators_total",
                                                "Shard iterators refreshed after expiring.", NULL);
    e->m_lost = ks_metrics_counter(m, "readers_stopped_lease_lost_total",
                                   "Readers stopped because their lease was lost.", NULL);
    e->m_latency = ks_metrics_histogram(
        m, "delivery_latency_seconds", "Time from a batch being built to its acknowledgement.",
        NULL, latency_buckets, sizeof(latency_buckets) / sizeof(latency_buckets[0]));
}

ks_err ks_engine_new(const ks_engine_options *opts, ks_engine **out)
{
    ks_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return KS_ERR_NOMEM;
    e->loop = opts->loop;
    e->config = opts->config;
    e->kinesis = opts->kinesis;
    e->metrics = opts->metrics;
    e->clock = opts->clock ? opts->clock : ks_clock_system();
    const ks_batching_config *bc = &e->config->input.batching;
    if (bc->count > 0 || bc->byte_size > 0 || bc->period_ms > 0 || bc->check ||
        bc->n_processors > 0) {
        char msg[256] = "";
        ks_err err = ks_batch_policy_new(bc, &e->policy, msg, sizeof(msg));
        if (err) {
            ks_log(KS_LOG_ERROR, "invalid batching policy: %s", msg);
            free(e);
            return err;
        }
    }
    uv_timer_init(e->loop, &e->drain_timer);
    e->drain_timer.data = e;
    engine_metrics(e);
    *out = e;
    return KS_OK;
}

static void on_drain_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void ks_engine_destroy(ks_engine *e)
{
    if (!e)
        return;
    e->destroying = true;
    while (e->readers)
        ks_reader_kill(e->readers, "shutting down");
    ks_batch_policy_destroy(e->policy);
    /* The engine struct is freed when its timer handle has closed. */
    uv_close((uv_handle_t *)&e->drain_timer, on_drain_timer_closed);
}

ks_sink_callbacks ks_engine_sink_callbacks(ks_engine *e)
{
    return (ks_sink_callbacks){
        .on_result = ks_engine_on_sink_result, .on_ready = ks_engine_on_sink_ready, .ud = e};
}

static void on_acquired(void *ud, const ks_lease_start *start)
{
    ks_engine *e = ud;
    if (e->draining || e->destroying)
        return;
    if (ks_reader_find(e, start->stream, start->shard_id))
        return;
    ks_err err = ks_reader_start(e, start);
    if (err)
        ks_log_shard(KS_LOG_ERROR, start->stream, start->shard_id, "cannot start reader: %s",
                     ks_err_str(err));
}

static void on_lost(void *ud, const char *stream, const char *shard_id, const char *reason)
{
    ks_engine *e = ud;
    ks_reader *r = ks_reader_find(e, stream, shard_id);
    if (!r)
        return;
    ks_log_shard(KS_LOG_WARN, stream, shard_id,
                 "lease lost (%s): stopping delivery, dropping %zu uncommitted records",
                 reason ? reason : "unknown", ks_tracker_unacked(r->tracker));
    ks_metric_add(e->m_lost, 1);
    ks_reader_kill(r, "lease lost");
    if (e->draining)
        ks_engine_check_drained(e);
}

static void on_handoff_grace(uv_timer_t *t)
{
    ks_reader *r = t->data;
    if (r->state != KS_READER_DRAINING || !r->handoff)
        return;
    ks_log_shard(KS_LOG_WARN, r->stream, r->shard_id,
                 "steal_grace_period passed with %zu records unacknowledged; handing over "
                 "at the last checkpoint",
                 r->in_sink_records);
    /* The unacknowledged batches will be read again by the new owner. */
    ks_reader_orphan_in_sink(r);
    ks_reader_check_finished(r);
}

static void on_handoff_requested(void *ud, const char *stream, const char *shard_id)
{
    ks_engine *e = ud;
    ks_reader *r = ks_reader_find(e, stream, shard_id);
    if (!r || r->state == KS_READER_DRAINING)
        return;
    ks_log_shard(KS_LOG_INFO, stream, shard_id,
                 "a peer asked for this shard: draining %zu in-flight records", r->in_sink_records);
    r->state = KS_READER_DRAINING;
    r->handoff = true;
    uv_timer_stop(&r->fetch_timer);
    ks_reader_drop_unsent(r);
    uv_timer_start(&r->aux_timer, on_handoff_grace,
                   (uint64_t)e->config->input.steal_grace_period_ms, 0);
    ks_reader_check_finished(r);
}

ks_lease_events ks_engine_lease_events(ks_engine *e)
{
    return (ks_lease_events){.on_acquired = on_acquired,
                             .on_lost = on_lost,
                             .on_handoff_requested = on_handoff_requested,
                             .ud = e};
}

void ks_engine_attach(ks_engine *e, ks_sink *sink, ks_lease_coordinator *leases)
{
    e->sink = sink;
    e->leases = leases;
}

void ks_engine_pause(ks_engine *e, bool paused)
{
    if (e->paused == paused)
        return;
    e->paused = paused;
    ks_log(KS_LOG_INFO,
           paused ? "paused: no new records are read; leases are kept" : "resumed reading");
    if (!paused)
        for (ks_reader *r = e->readers; r; r = r->next)
            ks_reader_schedule_fetch(r);
}

bool ks_engine_paused(const ks_engine *e)
{
    return e->paused;
}

static void finish_drain(ks_engine *e, ks_err err)
{
    if (e->drained)
        return;
    e->drained = true;
    uv_timer_stop(&e->drain_timer);
    ks_engine_done_cb cb = e->drain_cb;
    e->drain_cb = NULL;
    if (cb)
        cb(e->drain_ud, err);
}

static void on_released_all(void *ud, ks_err err)
{
    ks_engine *e = ud;
    if (err)
        ks_log(KS_LOG_WARN, "releasing leases finished with %s", ks_err_str(err));
    else
        ks_log(KS_LOG_INFO, "every lease released");
    while (e->readers)
        ks_reader_kill(e->readers, "drained");
    finish_drain(e, err);
}

static void release_all(ks_engine *e)
{
    uv_timer_stop(&e->drain_timer);
    if (e->leases)
        ks_lease_release_all(e->leases, (uint64_t)e->config->input.commit_period_ms + 5000,
                             on_released_all, e);
    else
        on_released_all(e, KS_OK);
}

void ks_engine_check_drained(ks_engine *e)
{
    if (!e->draining || e->drained || e->destroying)
        return;
    for (ks_reader *r = e->readers; r; r = r->next)
        if (r->in_sink_records > 0)
            return;
    if (e->releasing)
        return; /* the release is already under way */
    e->releasing = true;
    release_all(e);
}

static void on_drain_timeout(uv_timer_t *t)
{
    ks_engine *e = t->data;
    size_t left = ks_engine_in_flight(e);
    ks_log(KS_LOG_WARN,
           "shutdown_timeout passed with %zu records unacknowledged; committing what is "
           "acknowledged",
           left);
    for (ks_reader *r = e->readers; r; r = r->next)
        ks_reader_orphan_in_sink(r);
    ks_engine_check_drained(e);
}

void ks_engine_drain(ks_engine *e, uint64_t timeout_ms, ks_engine_done_cb cb, void *ud)
{
    if (e->draining) {
        if (cb && !e->drain_cb && !e->drained) {
            e->drain_cb = cb;
            e->drain_ud = ud;
        } else if (cb && e->drained) {
            cb(ud, KS_OK);
        }
        return;
    }
    ks_log(KS_LOG_INFO, "draining: no new records; waiting up to %llu ms for %zu in flight",
           (unsigned long long)timeout_ms, ks_engine_in_flight(e));
    e->draining = true;
    e->drain_cb = cb;
    e->drain_ud = ud;
    if (e->leases)
        ks_lease_pause_claims(e->leases, true);
    for (ks_reader *r = e->readers; r; r = r->next) {
        uv_timer_stop(&r->fetch_timer);
        uv_timer_stop(&r->aux_timer);
        r->handoff = false;
        r->state = KS_READER_DRAINING;
        ks_reader_drop_unsent(r);
    }
    uv_timer_start(&e->drain_timer, on_drain_timeout, timeout_ms, 0);
    ks_engine_check_drained(e);
}

bool ks_engine_draining(const ks_engine *e)
{
    return e->draining;
}

bool ks_engine_drained(const ks_engine *e)
{
    return e->drained;
}

size_t ks_engine_readers(const ks_engine *e)
{
    return e->n_readers;
}

size_t ks_engine_in_flight(const ks_engine *e)
{
    size_t n = 0;
    for (const ks_reader *r = e->readers; r; r = r->next)
        n += ks_tracker_in_flight(r->tracker) + (r->open ? r->open->n_records : 0);
    return n;
}

static const char *state_name(ks_reader_state s)
{
    switch (s) {
    case KS_READER_STARTING:
        return "starting";
    case KS_READER_READING:
        return "reading";
    case KS_READER_ENDED:
        return "shard_end";
    case KS_READER_DRAINING:
        return "draining";
    default:
        return "stopped";
    }
}

void ks_engine_status_json(const ks_engine *e, ks_buf *out)
{
    ks_buf_append_char(out, '[');
    for (const ks_reader *r = e->readers; r; r = r->next) {
        if (r != e->readers)
            ks_buf_append_char(out, ',');
        ks_buf_append_str(out, "{\"stream\":");
        ks_buf_append_json_str(out, r->stream, strlen(r->stream));
        ks_buf_append_str(out, ",\"shard_id\":");
        ks_buf_append_json_str(out, r->shard_id, strlen(r->shard_id));
        ks_buf_appendf(out, ",\"state\":\"%s\",\"in_flight\":%zu,\"buffered\":%zu",
                       state_name(r->state), r->in_sink_records,
                       r->queued_records + (r->open ? r->open->n_records : 0));
        ks_buf_append_str(out, ",\"last_read_sequence\":");
        if (r->last_read_sequence)
            ks_buf_append_json_str(out, r->last_read_sequence, strlen(r->last_read_sequence));
        else
            ks_buf_append_str(out, "null");
        ks_buf_append_str(out, ",\"checkpoint\":");
        if (r->checkpoint)
            ks_buf_append_json_str(out, r->checkpoint, strlen(r->checkpoint));
        else
            ks_buf_append_str(out, "null");
        ks_buf_appendf(out, ",\"millis_behind_latest\":%lld}", (long long)r->millis_behind_latest);
    }
    ks_buf_append_char(out, ']');
}
