/* Per-shard batches: building them (batching policy, or pages split at
 * checkpoint_limit), submitting them in order within the checkpoint_limit window,
 * handling ACK/NACK, and handing the tracker's checkpoint to the lease coordinator. */
#include <stdlib.h>
#include <string.h>

#include "consumer/consumer_internal.h"
#include "core/log.h"

static uint64_t now_ms(const ks_engine *e)
{
    return ks_clock_mono_ms(e->clock);
}

/* Changes the engine's read-ahead total; when it falls back under the budget, readers
 * that waited for it fetch again. */
void ks_engine_account(ks_engine *e, int64_t delta_bytes)
{
    if (delta_bytes < 0 && (size_t)-delta_bytes > e->buffered_bytes)
        e->buffered_bytes = 0;
    else
        e->buffered_bytes = (size_t)((int64_t)e->buffered_bytes + delta_bytes);
    if (delta_bytes >= 0 || e->kicking)
        return;
    e->kicking = true;
    for (ks_reader *r = e->readers; r; r = r->next) {
        if (!r->waiting_budget)
            continue;
        r->waiting_budget = false;
        ks_reader_schedule_fetch(r); /* sets the flag again if still over budget */
    }
    e->kicking = false;
}

static void update_uncommitted(ks_reader *r)
{
    ks_metric_set(r->m_uncommitted, (double)ks_tracker_in_flight(r->tracker));
}

static void unlink_slot(ks_reader *r, ks_slot *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        r->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        r->tail = s->prev;
    if (r->send_cursor == s)
        r->send_cursor = s->next;
    s->prev = s->next = NULL;
    r->n_slots--;
}

/* Registers a built batch with the tracker and queues it for the sink. */
static ks_err append_slot(ks_reader *r, ks_batch *b, const char *first_seq, const char *last_seq,
                          size_t count, size_t bytes)
{
    ks_slot *s = calloc(1, sizeof(*s));
    if (!s)
        return KS_ERR_NOMEM;
    ks_err err = ks_tracker_dispatch(r->tracker, first_seq, last_seq, count, &s->tracker_id);
    if (err) {
        free(s);
        return err;
    }
    s->batch = b;
    s->reader = r;
    s->bytes = bytes;
    s->state = KS_SLOT_QUEUED;
    b->owner_ud = s;
    s->prev = r->tail;
    if (r->tail)
        r->tail->next = s;
    else
        r->head = s;
    r->tail = s;
    if (!r->send_cursor)
        r->send_cursor = s;
    r->n_slots++;
    r->queued_records += b->n_records;
    update_uncommitted(r);
    return KS_OK;
}

static void on_batch_timer(uv_timer_t *t)
{
    ks_reader *r = t->data;
    ks_reader_flush_open(r);
    ks_reader_pump(r);
}

/* Closes the open batch: processors run, then it joins the send queue. */
void ks_reader_flush_open(ks_reader *r)
{
    ks_engine *e = r->engine;
    ks_batch *b = r->open;
    if (!b)
        return;
    size_t bytes = r->open_bytes;
    r->open = NULL;
    r->open_bytes = 0;
    uv_timer_stop(&r->batch_timer);
    if (b->n_records == 0) {
        ks_engine_account(e, -(int64_t)bytes);
        ks_batch_destroy(b);
        return;
    }
    /* The sequence range is taken before processors reshape the batch. */
    char *first = ks_strdup(b->records[0].sequence_number);
    char *last = ks_strdup(b->records[b->n_records - 1].sequence_number);
    size_t count = b->n_records;
    if (e->policy && ks_batch_policy_flush(e->policy, b) != KS_OK)
        ks_log_shard(KS_LOG_WARN, r->stream, r->shard_id,
                     "batch processors failed; delivering the batch unprocessed");
    ks_err err = first && last ? append_slot(r, b, first, last, count, bytes) : KS_ERR_NOMEM;
    if (err) {
        ks_engine_account(e, -(int64_t)bytes);
        /* Not tracked means never delivered: the records are read again after the
         * lease moves. Dropping tracking silently would break at-least-once, so stop
         * reading past this point by forgetting the iterator. */
        ks_log_shard(KS_LOG_ERROR, r->stream, r->shard_id,
                     "cannot track a batch (%s); re-reading from the last queued record",
                     ks_err_str(err));
        free(r->iterator);
        r->iterator = NULL;
        free(r->last_read_sequence);
        r->last_read_sequence = ks_strdup(ks_tracker_last_dispatched(r->tracker));
        ks_batch_destroy(b);
    }
    free(first);
    free(last);
}

static ks_err open_batch(ks_reader *r)
{
    ks_err err = ks_batch_new(r->stream, r->shard_id, &r->open);
    if (err)
        return err;
    r->open->created_mono_ms = now_ms(r->engine);
    int64_t period = r->engine->config->input.batching.period_ms;
    if (r->engine->policy && period > 0)
        uv_timer_start(&r->batch_timer, on_batch_timer, (uint64_t)period, 0);
    return KS_OK;
}

ks_err ks_reader_take_records(ks_reader *r, const ks_record *recs, size_t n, ks_page_sizes *sizes)
{
    ks_engine *e = r->engine;
    size_t limit = (size_t)e->config->input.checkpoint_limit;
    for (size_t i = 0; i < n; i++) {
        if (!r->open) {
            ks_err err = open_batch(r);
            if (err)
                return err;
        }
        const ks_record *rec = &recs[i];
        ks_err err = ks_batch_add(r->open, rec->data_b64, rec->data_b64_len, rec->partition_key,
                                  rec->sequence_number, rec->arrival_ms);
        if (err)
            return err;
        size_t bytes = rec->data_b64_len + KS_RECORD_OVERHEAD_BYTES;
        r->open_bytes += bytes;
        ks_engine_account(e, (int64_t)bytes);
        sizes->records++;
        sizes->decoded_bytes += r->open->records[r->open->n_records - 1].data_len;
        sizes->read_ahead_bytes += bytes;
        bool flush;
        if (e->policy)
            flush = ks_batch_policy_should_flush(e->policy, r->open,
                                                 &r->open->records[r->open->n_records - 1]);
        else
            flush = i + 1 == n; /* one batch per page ... */
        /* ... and never more than checkpoint_limit records in one batch. */
        if (r->open->n_records >= limit)
            flush = true;
        if (flush)
            ks_reader_flush_open(r);
    }
    return KS_OK;
}

/* Frees the open batch and every QUEUED slot: they were never delivered, so the
 * tracker keeps them as unacknowledged and the checkpoint stops before them. */
void ks_reader_drop_open(ks_reader *r)
{
    if (!r->open)
        return;
    uv_timer_stop(&r->batch_timer);
    ks_batch_destroy(r->open);
    r->open = NULL;
    ks_engine_account(r->engine, -(int64_t)r->open_bytes);
    r->open_bytes = 0;
}

void ks_reader_drop_unsent(ks_reader *r)
{
    ks_reader_drop_open(r);
    for (ks_slot *s = r->head, *next; s; s = next) {
        next = s->next;
        if (s->state != KS_SLOT_QUEUED)
            continue;
        r->queued_records -= s->batch->n_records;
        unlink_slot(r, s);
        ks_engine_account(r->engine, -(int64_t)s->bytes);
        ks_batch_destroy(s->batch);
        free(s);
    }
    r->send_cursor = NULL;
}

/* Gives up waiting for the sink's results (grace or shutdown timeout): the batches
 * stay unacknowledged in the tracker, so the checkpoint stays before them; when
 * their results arrive later they are just freed. */
void ks_reader_orphan_in_sink(ks_reader *r)
{
    for (ks_slot *s = r->head, *next; s; s = next) {
        next = s->next;
        if (s->state != KS_SLOT_IN_SINK)
            continue;
        unlink_slot(r, s);
        s->orphan = true;
    }
    r->in_sink_records = 0;
}

static void on_aux_timer(uv_timer_t *t)
{
    ks_reader_pump(t->data);
}

void ks_reader_pump(ks_reader *r)
{
    ks_engine *e = r->engine;
    if (r->state == KS_READER_DEAD || r->state == KS_READER_DRAINING || !e->sink)
        return;
    size_t limit = (size_t)e->config->input.checkpoint_limit;
    ks_reader_ref(r); /* results may arrive synchronously */
    while (r->queued_records > 0 && r->state != KS_READER_DEAD && r->state != KS_READER_DRAINING) {
        ks_slot *s = r->send_cursor ? r->send_cursor : r->head;
        while (s && s->state != KS_SLOT_QUEUED)
            s = s->next;
        r->send_cursor = s;
        if (!s)
            break;
        if (s->batch->attempts > 0 && now_ms(e) < r->replay_not_before_ms) {
            uv_timer_start(&r->aux_timer, on_aux_timer, r->replay_not_before_ms - now_ms(e), 0);
            break;
        }
        size_t n = s->batch->n_records;
        if (r->in_sink_records > 0 && r->in_sink_records + n > limit)
            break;
        s->state = KS_SLOT_IN_SINK;
        r->queued_records -= n;
        r->in_sink_records += n;
        s->batch->attempts++;
        ks_reader_ref(r); /* held by the sink until the result */
        ks_err err = ks_sink_submit(e->sink, s->batch);
        if (err == KS_OK) {
            ks_engine_account(e, -(int64_t)s->bytes); /* the sink holds it now */
            continue;
        }
        /* Refused: put it back. KS_ERR_AGAIN waits for on_ready. */
        s->state = KS_SLOT_QUEUED;
        s->batch->attempts--;
        r->queued_records += n;
        r->in_sink_records -= n;
        ks_reader_unref(r);
        if (err != KS_ERR_AGAIN)
            ks_log_shard(KS_LOG_ERROR, r->stream, r->shard_id, "sink refused a batch: %s",
                         ks_err_str(err));
        break;
    }
    if (r->state != KS_READER_DEAD)
        ks_reader_schedule_fetch(r);
    ks_reader_unref(r);
}

static void publish_checkpoint(ks_reader *r)
{
    const char *cp = ks_tracker_checkpoint(r->tracker);
    if (!cp || (r->checkpoint && strcmp(cp, r->checkpoint) == 0))
        return;
    char *dup = ks_strdup(cp);
    if (!dup)
        return;
    free(r->checkpoint);
    r->checkpoint = dup;
    if (r->engine->leases)
        ks_lease_checkpoint(r->engine->leases, r->stream, r->shard_id, r->checkpoint);
}

static void on_handoff_released(void *ud, ks_err err)
{
    ks_reader *r = ud;
    if (r->state != KS_READER_DEAD) {
        if (err)
            ks_log_shard(KS_LOG_WARN, r->stream, r->shard_id, "handoff release failed: %s",
                         ks_err_str(err));
        ks_reader_kill(r, "handed over");
    }
    ks_reader_unref(r);
}

/* Finishes a reader whose work is done: shard end, or a drained handoff. */
void ks_reader_check_finished(ks_reader *r)
{
    ks_engine *e = r->engine;
    if (r->state == KS_READER_ENDED && !r->open && r->n_slots == 0 && !r->fetch_pending &&
        ks_tracker_batches(r->tracker) == 0) {
        ks_log_shard(KS_LOG_INFO, r->stream, r->shard_id,
                     "every record of the closed shard is acknowledged: SHARD_END");
        if (e->leases)
            ks_lease_shard_end(e->leases, r->stream, r->shard_id);
        ks_reader_kill(r, "shard ended");
        if (e->leases)
            ks_lease_trigger_rebalance(e->leases);
        return;
    }
    if (r->state == KS_READER_DRAINING && r->handoff && r->in_sink_records == 0 &&
        !r->fetch_pending && !e->draining) {
        uv_timer_stop(&r->aux_timer);
        r->handoff = false; /* release once */
        ks_reader_ref(r);
        if (e->leases)
            ks_lease_release(e->leases, r->stream, r->shard_id, on_handoff_released, r);
        else
            on_handoff_released(r, KS_OK);
        return;
    }
    if (e->draining)
        ks_engine_check_drained(e);
}

void ks_engine_on_sink_result(void *ud, ks_batch *batch, ks_delivery result, const char *reason)
{
    ks_engine *e = ud;
    ks_slot *s = batch->owner_ud;
    ks_reader *r = s->reader;
    if (s->orphan) {
        /* The lease was lost or the reader gave up waiting: nothing to commit. */
        ks_batch_destroy(batch);
        free(s);
        ks_reader_unref(r);
        return;
    }
    size_t n = batch->n_records;
    r->in_sink_records -= n;
    bool finished = false;
    if (result == KS_DELIVERY_ACK) {
        ks_tracker_ack(r->tracker, s->tracker_id, NULL);
        finished = true;
        ks_metric_add(e->m_acked, 1);
        ks_metric_add(e->m_delivered_records, (double)n);
        ks_metric_add(e->m_delivered_bytes, (double)batch->data_bytes);
        ks_metric_observe(e->m_latency, (double)(now_ms(e) - batch->created_mono_ms) / 1000.0);
        ks_backoff_reset(&r->nack_backoff);
    } else {
        bool replay = false;
        ks_metric_add(e->m_nacked, 1);
        ks_tracker_nack(r->tracker, s->tracker_id, &replay, NULL);
        if (!replay) {
            finished = true;
            ks_metric_add(e->m_dropped, 1);
            ks_log_shard(KS_LOG_WARN, r->stream, r->shard_id,
                         "batch %llu of %zu records nacked (%s) and dropped "
                         "(auto_replay_nacks: false)",
                         (unsigned long long)batch->id, n, reason ? reason : "no reason");
        } else if (r->state == KS_READER_DRAINING) {
            s->state = KS_SLOT_FAILED; /* blocks the checkpoint; the next owner re-reads it */
        } else {
            s->state = KS_SLOT_QUEUED;
            r->queued_records += n;
            ks_engine_account(e, (int64_t)s->bytes);
            r->send_cursor = r->head;
            r->replay_not_before_ms = now_ms(e) + ks_backoff_next(&r->nack_backoff, ks_rand32());
            ks_log_shard(KS_LOG_DEBUG, r->stream, r->shard_id, "batch %llu nacked (%s); replaying",
                         (unsigned long long)batch->id, reason ? reason : "no reason");
        }
    }
    if (finished) {
        unlink_slot(r, s);
        ks_batch_destroy(batch);
        free(s);
    }
    publish_checkpoint(r);
    update_uncommitted(r);
    ks_reader_check_finished(r);
    if (r->state != KS_READER_DEAD)
        ks_reader_pump(r);
    ks_reader_unref(r); /* the sink's reference */
}

void ks_engine_on_sink_ready(void *ud)
{
    ks_engine *e = ud;
    size_t n = e->n_readers;
    if (!n)
        return;
    /* An array of reader pointers (not readers). */
    ks_reader **list = calloc(n, sizeof(*list)); // NOLINT(bugprone-sizeof-expression)
    if (!list)
        return;
    size_t i = 0;
    for (ks_reader *r = e->readers; r && i < n; r = r->next) {
        list[i++] = r;
        ks_reader_ref(r);
    }
    /* Round robin: a different reader goes first each time. */
    for (size_t k = 0; k < i; k++) {
        ks_reader *r = list[(e->rr_start + k) % i];
        if (r->state != KS_READER_DEAD)
            ks_reader_pump(r);
    }
    e->rr_start++;
    for (size_t k = 0; k < i; k++)
        ks_reader_unref(list[k]);
    free(list);
}
