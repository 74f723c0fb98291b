/* Per-shard reader: iterator resolution, GetRecords pacing (at most 5 calls per
 * second per shard, immediately again while records flow, idle back-off when the
 * shard is empty), error back-off, expired-iterator refresh after the last READ
 * record, and shard end detection. */
#include <stdlib.h>
#include <string.h>

#include "consumer/consumer_internal.h"
#include "core/log.h"

#define KS_MIN_FETCH_INTERVAL_MS 200 /* AWS: 5 GetRecords per shard per second */
#define KS_ERROR_BACKOFF_BASE_MS 250
#define KS_ERROR_BACKOFF_MAX_MS 10000
/* Bytes of record data one GetRecords call may bring in, per shard. A whole page sits
 * in memory until the sink takes it, so the page size is sized from this budget and the
 * shard's average record size (AWS serves at most 2 MB/s per shard in at most 5 calls,
 * so 512 KiB per call never holds a shard back on AWS). */
#define KS_READ_AHEAD_BYTES (512 * 1024)
#define KS_MIN_PAGE_RECORDS 10
/* All shards together: fetches wait while this much is read and not yet handed over. */
#define KS_READ_AHEAD_TOTAL_BYTES (2 * 1024 * 1024)

static uint64_t now_ms(const ks_engine *e)
{
    return ks_clock_mono_ms(e->clock);
}

ks_reader *ks_reader_find(ks_engine *e, const char *stream, const char *shard_id)
{
    for (ks_reader *r = e->readers; r; r = r->next)
        if (strcmp(r->stream, stream) == 0 && strcmp(r->shard_id, shard_id) == 0)
            return r;
    return NULL;
}

void ks_reader_ref(ks_reader *r)
{
    r->refs++;
}

static void reader_free(ks_reader *r)
{
    ks_tracker_destroy(r->tracker);
    free(r->stream);
    free(r->shard_id);
    free(r->start_sequence);
    free(r->iterator);
    free(r->last_read_sequence);
    free(r->checkpoint);
    free(r);
}

void ks_reader_unref(ks_reader *r)
{
    if (--r->refs == 0)
        reader_free(r);
}

static void on_timer_closed(uv_handle_t *h)
{
    ks_reader_unref(h->data);
}

static void shard_labels(ks_buf *b, const char *stream, const char *shard)
{
    ks_buf_append_str(b, "stream=\"");
    ks_metrics_escape_label(b, stream);
    ks_buf_append_str(b, "\",shard=\"");
    ks_metrics_escape_label(b, shard);
    ks_buf_append_str(b, "\"");
}

static void reader_metrics(ks_reader *r, bool create)
{
    ks_engine *e = r->engine;
    if (!e->metrics)
        return;
    ks_buf labels;
    ks_buf_init(&labels);
    shard_labels(&labels, r->stream, r->shard_id);
    if (create) {
        r->m_records = ks_metrics_counter(e->metrics, "records_received_total",
                                          "Records read from Kinesis.", labels.data);
        r->m_bytes = ks_metrics_counter(e->metrics, "bytes_received_total",
                                        "Record payload bytes read from Kinesis.", labels.data);
        r->m_behind = ks_metrics_gauge(e->metrics, "millis_behind_latest",
                                       "MillisBehindLatest of the last GetRecords.", labels.data);
        r->m_uncommitted =
            ks_metrics_gauge(e->metrics, "uncommitted_records",
                             "Records dispatched but not yet checkpointed.", labels.data);
    } else {
        ks_metrics_remove(e->metrics, "millis_behind_latest", labels.data);
        ks_metrics_remove(e->metrics, "uncommitted_records", labels.data);
        r->m_behind = r->m_uncommitted = NULL;
    }
    ks_buf_clean_up(&labels);
}

static void on_iterator(void *ud, ks_err err, const char *iterator);
static void on_records(void *ud, ks_err err, const ks_get_records_result *res);

static void request_iterator(ks_reader *r)
{
    ks_iterator_request req = {.stream = r->stream, .shard_id = r->shard_id};
    if (r->last_read_sequence) {
        req.type = KS_ITER_AFTER_SEQUENCE_NUMBER;
        req.sequence_number = r->last_read_sequence;
    } else {
        req.type = r->start_type;
        req.sequence_number = r->start_sequence;
        req.timestamp_ms = r->start_timestamp_ms;
    }
    r->fetch_pending = true;
    ks_reader_ref(r);
    ks_err err = ks_kinesis_get_shard_iterator(r->engine->kinesis, &req, on_iterator, r);
    if (err) {
        /* Could not even start the call: treat like a failed call. */
        on_iterator(r, err, NULL);
    }
}

static void arm_fetch(ks_reader *r, uint64_t delay_ms)
{
    uv_timer_stop(&r->fetch_timer);
    r->next_fetch_not_before_ms = now_ms(r->engine) + delay_ms;
    ks_reader_schedule_fetch(r);
}

static void on_iterator(void *ud, ks_err err, const char *iterator)
{
    ks_reader *r = ud;
    r->fetch_pending = false;
    if (r->state == KS_READER_DEAD) {
        ks_reader_unref(r);
        return;
    }
    if (err) {
        if (err == KS_ERR_AWS_VALIDATION && r->last_read_sequence == NULL &&
            r->start_type == KS_ITER_AFTER_SEQUENCE_NUMBER) {
            /* The stored sequence is no longer in the stream (trimmed by retention):
             * the oldest record still there is the next one after it. */
            ks_log_shard(KS_LOG_WARN, r->stream, r->shard_id,
                         "stored checkpoint %s rejected by Kinesis; starting at TRIM_HORIZON",
                         r->start_sequence);
            r->start_type = KS_ITER_TRIM_HORIZON;
        }
        if (err == KS_ERR_AWS_RESOURCE_NOT_FOUND && r->engine->leases)
            ks_lease_trigger_rebalance(r->engine->leases);
        uint64_t delay = ks_backoff_next(&r->error_backoff, ks_rand32());
        ks_log_shard(KS_LOG_WARN, r->stream, r->shard_id,
                     "GetShardIterator failed (%s); retrying in %llu ms", ks_err_str(err),
                     (unsigned long long)delay);
        ks_metric_add(r->engine->m_errors, 1);
        free(r->iterator);
        r->iterator = NULL;
        arm_fetch(r, delay);
        ks_reader_unref(r);
        return;
    }
    ks_backoff_reset(&r->error_backoff);
    free(r->iterator);
    r->iterator = ks_strdup(iterator);
    if (r->state == KS_READER_STARTING)
        r->state = KS_READER_READING;
    arm_fetch(r, 0);
    ks_reader_unref(r);
}

static void do_fetch(ks_reader *r)
{
    if (!r->iterator) {
        request_iterator(r);
        return;
    }
    r->fetch_pending = true;
    r->last_fetch_mono_ms = now_ms(r->engine);
    ks_reader_ref(r);
    int limit = (int)r->engine->config->input.get_records_limit;
    uint64_t avg = r->avg_record_b64 ? r->avg_record_b64 : 1024;
    uint64_t fit = KS_READ_AHEAD_BYTES / avg;
    if (fit < KS_MIN_PAGE_RECORDS)
        fit = KS_MIN_PAGE_RECORDS;
    if (fit < (uint64_t)limit)
        limit = (int)fit;
    r->reserved_bytes = (size_t)limit * avg;
    ks_engine_account(r->engine, (int64_t)r->reserved_bytes);
    ks_err err = ks_kinesis_get_records(r->engine->kinesis, r->iterator, limit, on_records, r);
    if (err)
        on_records(r, err, NULL);
}

static void on_fetch_timer(uv_timer_t *t)
{
    ks_reader *r = t->data;
    ks_reader_schedule_fetch(r);
}

void ks_reader_schedule_fetch(ks_reader *r)
{
    ks_engine *e = r->engine;
    if (r->fetch_pending || e->paused || e->draining || e->destroying)
        return;
    if (r->state != KS_READER_READING && r->state != KS_READER_STARTING)
        return;
    if (r->at_end)
        return;
    /* Back-pressure: fetch only when everything already read has been dispatched
     * and the shard's in-flight window has room. Memory stays at one page. */
    if (r->queued_records > 0)
        return;
    if (r->in_sink_records >= (size_t)e->config->input.checkpoint_limit)
        return;
    if (e->buffered_bytes >= KS_READ_AHEAD_TOTAL_BYTES) {
        r->waiting_budget = true; /* ks_engine_account kicks it when there is room */
        return;
    }
    uint64_t now = now_ms(e);
    uint64_t at = r->next_fetch_not_before_ms;
    uint64_t min_at = r->last_fetch_mono_ms ? r->last_fetch_mono_ms + KS_MIN_FETCH_INTERVAL_MS : 0;
    if (min_at > at)
        at = min_at;
    if (at > now) {
        if (!uv_is_active((uv_handle_t *)&r->fetch_timer))
            uv_timer_start(&r->fetch_timer, on_fetch_timer, at - now, 0);
        return;
    }
    uv_timer_stop(&r->fetch_timer);
    if (r->state == KS_READER_STARTING && !r->iterator)
        request_iterator(r);
    else
        do_fetch(r);
}

static void handle_fetch_error(ks_reader *r, ks_err err)
{
    ks_engine *e = r->engine;
    uint64_t delay;
    switch (err) {
    case KS_ERR_AWS_EXPIRED_ITERATOR:
        /* Refresh after the last record READ (not the last committed one). */
        ks_metric_add(e->m_expired_iterators, 1);
        ks_log_shard(KS_LOG_INFO, r->stream, r->shard_id,
                     "shard iterator expired; refreshing after sequence %s",
                     r->last_read_sequence ? r->last_read_sequence : "(start position)");
        free(r->iterator);
        r->iterator = NULL;
        arm_fetch(r, 0);
        return;
    case KS_ERR_AWS_THROTTLED:
        ks_metric_add(e->m_throttles, 1);
        break;
    case KS_ERR_AWS_RESOURCE_NOT_FOUND:
        if (e->leases)
            ks_lease_trigger_rebalance(e->leases);
        break;
    case KS_ERR_AWS_VALIDATION:
        /* e.g. an iterator the service no longer accepts: get a fresh one. */
        free(r->iterator);
        r->iterator = NULL;
        break;
    default:
        break;
    }
    ks_metric_add(e->m_errors, 1);
    delay = ks_backoff_next(&r->error_backoff, ks_rand32());
    ks_log_shard(err == KS_ERR_AWS_THROTTLED ? KS_LOG_DEBUG : KS_LOG_WARN, r->stream, r->shard_id,
                 "GetRecords failed (%s); retrying in %llu ms", ks_err_str(err),
                 (unsigned long long)delay);
    arm_fetch(r, delay);
}

static void on_records(void *ud, ks_err err, const ks_get_records_result *res)
{
    ks_reader *r = ud;
    ks_engine *e = r->engine;
    r->fetch_pending = false;
    size_t reserved = r->reserved_bytes;
    r->reserved_bytes = 0;
    ks_engine_account(e, -(int64_t)reserved);
    if (r->state == KS_READER_DEAD) {
        ks_reader_unref(r);
        return;
    }
    if (r->state != KS_READER_READING) {
        /* Draining: whatever arrived is not dispatched; the next owner reads it. */
        ks_reader_check_finished(r);
        ks_reader_unref(r);
        return;
    }
    if (err) {
        handle_fetch_error(r, err);
        ks_reader_unref(r);
        return;
    }
    ks_backoff_reset(&r->error_backoff);
    r->millis_behind_latest = res->millis_behind_latest;
    ks_metric_set(r->m_behind,
                  res->millis_behind_latest < 0 ? 0 : (double)res->millis_behind_latest);
    if (res->n_records > 0) {
        free(r->last_read_sequence);
        r->last_read_sequence = ks_strdup(res->records[res->n_records - 1].sequence_number);
        ks_page_sizes sizes = {0};
        ks_err took = ks_reader_take_records(r, res->records, res->n_records, &sizes);
        /* What was read counts even if it could not all be kept. */
        ks_metric_add(r->m_records, (double)res->n_records);
        ks_metric_add(r->m_bytes, (double)sizes.decoded_bytes);
        if (sizes.records)
            r->avg_record_b64 = sizes.read_ahead_bytes / sizes.records;
        if (took != KS_OK) {
            ks_log_shard(KS_LOG_ERROR, r->stream, r->shard_id,
                         "out of memory taking %zu records; re-reading them", res->n_records);
            /* Re-read after the last record queued for delivery; what the open batch
             * holds comes again, so it must go (or it would be delivered twice). */
            ks_reader_drop_open(r);
            free(r->last_read_sequence);
            r->last_read_sequence = ks_strdup(ks_tracker_last_dispatched(r->tracker));
            free(r->iterator);
            r->iterator = NULL;
            arm_fetch(r, ks_backoff_next(&r->error_backoff, ks_rand32()));
            ks_reader_unref(r);
            return;
        }
    }
    free(r->iterator);
    r->iterator = ks_strdup(res->next_iterator);
    if (!res->next_iterator) {
        if (res->n_child_shards > 0 && e->leases)
            ks_lease_note_children(e->leases, r->stream, res->child_shards, res->n_child_shards);
        r->at_end = true;
        r->state = KS_READER_ENDED;
        ks_log_shard(KS_LOG_INFO, r->stream, r->shard_id,
                     "reached the end of the shard; finishing its records");
        ks_reader_flush_open(r);
        ks_reader_pump(r);
        ks_reader_check_finished(r);
        ks_reader_unref(r);
        return;
    }
    if (res->n_records == 0) {
        /* Idle shard: back off up to the cap, but stay quick while behind. */
        uint64_t cap = (uint64_t)e->config->input.idle_poll_max_ms;
        if (res->millis_behind_latest > 0) {
            r->idle_delay_ms = 0;
        } else {
            r->idle_delay_ms = r->idle_delay_ms ? r->idle_delay_ms * 2 : KS_MIN_FETCH_INTERVAL_MS;
            if (r->idle_delay_ms > cap)
                r->idle_delay_ms = cap;
        }
        r->next_fetch_not_before_ms = now_ms(e) + r->idle_delay_ms;
    } else {
        r->idle_delay_ms = 0;
        r->next_fetch_not_before_ms = 0;
    }
    ks_reader_pump(r);
    ks_reader_schedule_fetch(r);
    ks_reader_unref(r);
}

ks_err ks_reader_start(ks_engine *e, const ks_lease_start *start)
{
    ks_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return KS_ERR_NOMEM;
    r->engine = e;
    r->stream = ks_strdup(start->stream);
    r->shard_id = ks_strdup(start->shard_id);
    r->start_type = start->type;
    r->start_sequence = ks_strdup(start->sequence);
    r->start_timestamp_ms = start->timestamp_ms;
    r->is_child = start->is_child;
    r->millis_behind_latest = -1;
    if (!r->stream || !r->shard_id || (start->sequence && !r->start_sequence)) {
        reader_free(r);
        return KS_ERR_NOMEM;
    }
    if (start->type == KS_ITER_AFTER_SEQUENCE_NUMBER)
        r->checkpoint = ks_strdup(start->sequence);
    if (ks_tracker_new(e->config->input.auto_replay_nacks, r->checkpoint, &r->tracker) != KS_OK) {
        reader_free(r);
        return KS_ERR_NOMEM;
    }
    ks_backoff_init(&r->error_backoff, KS_ERROR_BACKOFF_BASE_MS, KS_ERROR_BACKOFF_MAX_MS);
    ks_backoff_init(&r->nack_backoff, 100, 5000);
    uv_timer_init(e->loop, &r->fetch_timer);
    uv_timer_init(e->loop, &r->batch_timer);
    uv_timer_init(e->loop, &r->aux_timer);
    r->fetch_timer.data = r->batch_timer.data = r->aux_timer.data = r;
    r->refs = 4; /* list + three timers */
    r->next = e->readers;
    e->readers = r;
    e->n_readers++;
    reader_metrics(r, true);
    ks_log_shard(KS_LOG_INFO, r->stream, r->shard_id, "starting reader");
    ks_reader_schedule_fetch(r);
    return KS_OK;
}

void ks_reader_kill(ks_reader *r, const char *why)
{
    ks_engine *e = r->engine;
    if (r->state == KS_READER_DEAD)
        return;
    ks_log_shard(KS_LOG_INFO, r->stream, r->shard_id, "stopping reader: %s", why);
    r->state = KS_READER_DEAD;
    for (ks_reader **pp = &e->readers; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            e->n_readers--;
            break;
        }
    }
    ks_reader_drop_unsent(r);
    /* Slots still in the sink come back through on_result and are freed there. */
    for (ks_slot *s = r->head, *next; s; s = next) {
        next = s->next;
        s->orphan = true;
        s->prev = s->next = NULL;
        if (s->state != KS_SLOT_IN_SINK) {
            ks_batch_destroy(s->batch);
            free(s);
        }
    }
    ks_tracker_clear(r->tracker);
    r->head = r->tail = r->send_cursor = NULL;
    r->n_slots = 0;
    reader_metrics(r, false);
    uv_close((uv_handle_t *)&r->fetch_timer, on_timer_closed);
    uv_close((uv_handle_t *)&r->batch_timer, on_timer_closed);
    uv_close((uv_handle_t *)&r->aux_timer, on_timer_closed);
    ks_reader_unref(r); /* list membership */
}
