/* The lease coordinator: lifecycle, timers (heartbeat/commit tick, rebalance), the
 * rebalance cycle (ListShards + consistent Query -> ks_plan -> writes) and the API.
 * Writes and their outcomes live in writes.c. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "lease/lease_internal.h"
#include "lease/rows.h"

uint64_t ks_lease_now(const ks_lease_coordinator *c)
{
    return ks_clock_mono_ms(c->clock);
}

void ks_lease_set_str(char **dst, const char *src)
{
    char *d = src ? ks_strdup(src) : NULL;
    if (src && !d)
        return; /* keep the old value on allocation failure */
    free(*dst);
    *dst = d;
}

ks_lease_op *ks_lease_op_new(ks_lease_coordinator *c, ks_lease_op_kind kind)
{
    ks_lease_op *op = calloc(1, sizeof(*op));
    if (!op)
        return NULL;
    op->c = c;
    op->kind = kind;
    op->next = c->ops;
    if (c->ops)
        c->ops->prev = op;
    c->ops = op;
    return op;
}

void ks_lease_op_free(ks_lease_op *op)
{
    if (!op)
        return;
    if (op->c) {
        if (op->prev)
            op->prev->next = op->next;
        else
            op->c->ops = op->next;
        if (op->next)
            op->next->prev = op->prev;
    }
    free(op->shard_id);
    free(op->peer);
    free(op->seq);
    free(op);
}

ks_held *ks_lease_find(const ks_lease_coordinator *c, const char *stream, const char *shard)
{
    for (ks_held *h = c->held; h; h = h->next)
        if (strcmp(h->shard_id, shard) == 0 && strcmp(h->st->name, stream) == 0)
            return h;
    return NULL;
}

static void held_free(ks_held *h)
{
    free(h->shard_id);
    free(h->committed);
    free(h->checkpoint);
    free(h);
}

void ks_lease_drop(ks_lease_coordinator *c, ks_held *h, ks_err err, const char *lost_reason)
{
    ks_held **pp = &c->held;
    while (*pp && *pp != h)
        pp = &(*pp)->next;
    if (!*pp)
        return;
    *pp = h->next;
    c->n_held--;
    ks_metric_set(c->m_held, (double)c->n_held);
    if (lost_reason)
        ks_log_shard(KS_LOG_WARN, h->st->name, h->shard_id, "lease lost: %s", lost_reason);
    ks_lease_waiters_answer(h, err);
    if (lost_reason && c->ev.on_lost)
        c->ev.on_lost(c->ev.ud, h->st->name, h->shard_id, lost_reason);
    if (h->in_flight) {
        h->detached = true;
        h->next = c->zombies;
        c->zombies = h;
    } else {
        held_free(h);
    }
    ks_lease_check_stopped(c);
}

void ks_lease_count_error(ks_lease_coordinator *c, ks_err err)
{
    ks_metric_add(c->m_ddb_errors, 1);
    if (err == KS_ERR_AWS_THROTTLED)
        ks_metric_add(c->m_throttles, 1);
}

void ks_lease_mark_ok(ks_lease_coordinator *c)
{
    c->ever_ok = true;
    c->last_ok_ms = ks_lease_now(c);
    c->last_ok_window_ms = (uint64_t)c->in->lease_period_ms;
    if (c->n_held == 0)
        c->last_ok_window_ms += (uint64_t)c->in->rebalance_period_ms;
}

void ks_lease_check_stopped(ks_lease_coordinator *c)
{
    if (!c->stopping || !c->stop_cb || c->n_held > 0)
        return;
    ks_lease_done_cb cb = c->stop_cb;
    c->stop_cb = NULL;
    uv_timer_stop(&c->stop_timer);
    cb(c->stop_ud, KS_OK);
}

/* --- metrics --- */

static void init_metrics(ks_lease_coordinator *c)
{
    ks_metrics *m = c->metrics;
    if (!m)
        return;
    c->m_held = ks_metrics_gauge(m, "leases_held", "Shard leases held by this process.", NULL);
    c->m_claims = ks_metrics_counter(m, "lease_claims_total", "Leases acquired.", NULL);
    c->m_losses =
        ks_metrics_counter(m, "lease_losses_total", "Leases lost to a failed condition.", NULL);
    c->m_hreq = ks_metrics_counter(m, "handoffs_requested_total",
                                   "Handoff requests written to peers' rows.", NULL);
    c->m_hin = ks_metrics_counter(m, "handoffs_in_total", "Shards received by handoff.", NULL);
    c->m_hout = ks_metrics_counter(m, "handoffs_out_total", "Shards handed over to peers.", NULL);
    const char *h = "Lease/checkpoint writes by result.";
    c->m_commit_ok = ks_metrics_counter(m, "commits_total", h, "result=\"ok\"");
    c->m_commit_conflict = ks_metrics_counter(m, "commits_total", h, "result=\"conflict\"");
    c->m_commit_error = ks_metrics_counter(m, "commits_total", h, "result=\"error\"");
    c->m_ddb_errors =
        ks_metrics_counter(m, "dynamodb_errors_total", "Failed DynamoDB calls.", NULL);
    c->m_throttles =
        ks_metrics_counter(m, "dynamodb_throttles_total", "Throttled DynamoDB calls.", NULL);
}

/* --- streams --- */

static ks_err init_streams(ks_lease_coordinator *c)
{
    const ks_kinesis_input_config *in = c->in;
    c->streams = calloc(in->n_streams ? in->n_streams : 1, sizeof(*c->streams));
    if (!c->streams)
        return KS_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < in->n_streams; i++) {
        const ks_stream_spec *sp = &in->streams[i];
        ks_lease_stream *st = NULL;
        for (size_t j = 0; j < n && !st; j++)
            if (strcmp(c->streams[j].name, sp->stream) == 0)
                st = &c->streams[j];
        if (!st) {
            char *name = ks_strdup(sp->stream);
            if (!name)
                return KS_ERR_NOMEM;
            st = &c->streams[n++];
            c->n_streams = n;
            ks_lease_observer_init(&st->obs);
            st->name = name;
        }
        if (!sp->shard_id)
            continue;
        char **nv = realloc(st->explicit_ids, (st->n_explicit + 1) * sizeof(*nv));
        if (!nv)
            return KS_ERR_NOMEM;
        st->explicit_ids = nv;
        if (!(nv[st->n_explicit] = ks_strdup(sp->shard_id)))
            return KS_ERR_NOMEM;
        st->n_explicit++;
    }
    /* A stream listed both whole and by shard is consumed whole. */
    for (size_t i = 0; i < in->n_streams; i++) {
        if (in->streams[i].shard_id)
            continue;
        for (size_t j = 0; j < c->n_streams; j++) {
            ks_lease_stream *st = &c->streams[j];
            if (strcmp(st->name, in->streams[i].stream) != 0)
                continue;
            for (size_t k = 0; k < st->n_explicit; k++)
                free(st->explicit_ids[k]);
            st->n_explicit = 0;
        }
    }
    return KS_OK;
}

static void free_shards(ks_lease_coordinator *c)
{
    for (size_t i = 0; i < c->n_shards; i++) {
        free((char *)c->shards[i].shard_id);
        free((char *)c->shards[i].parent_shard_id);
        free((char *)c->shards[i].adjacent_parent_shard_id);
        free((char *)c->shards[i].ending_sequence);
    }
    free(c->shards);
    c->shards = NULL;
    c->n_shards = 0;
}

/* --- the rebalance cycle --- */

static void cycle_next(ks_lease_coordinator *c);
static void on_cb_op_items(void *ud, ks_err err, const cJSON *const *items, size_t n);

static void on_rebalance_timer(uv_timer_t *t);

/* Runs a rebalance in delay_ms unless one is due sooner. */
static void schedule_rebalance(ks_lease_coordinator *c, uint64_t delay_ms)
{
    if (c->destroyed)
        return;
    if (uv_is_active((uv_handle_t *)&c->rebalance_timer) &&
        uv_timer_get_due_in(&c->rebalance_timer) <= delay_ms)
        return;
    uv_timer_start(&c->rebalance_timer, on_rebalance_timer, delay_ms, 0);
}

/* An operation of the rebalance cycle on stream st; NULL when out of memory, after the
 * cycle has moved on to the next stream. */
static ks_lease_op *cycle_op_new(ks_lease_coordinator *c, ks_lease_op_kind kind,
                                 ks_lease_stream *st)
{
    ks_lease_op *op = ks_lease_op_new(c, kind);
    if (!op) {
        c->cycle_stream++;
        cycle_next(c);
        return NULL;
    }
    op->st = st;
    return op;
}

static void query_stream(ks_lease_coordinator *c, ks_lease_stream *st)
{
    ks_lease_op *op = cycle_op_new(c, KS_OP_QUERY, st);
    if (!op)
        return;
    ks_err err = ks_dynamo_query_all(c->dynamo, c->in->dynamodb.table, KS_ATTR_STREAM, st->name,
                                     on_cb_op_items, op);
    if (err)
        on_cb_op_items(op, err, NULL, 0);
}

static void on_shards(void *ud, ks_err err, const ks_shard *shards, size_t n)
{
    ks_lease_op *op = ud;
    ks_lease_coordinator *c = op->c;
    ks_lease_stream *st = op->st;
    ks_lease_op_free(op);
    if (!c)
        return;
    free_shards(c);
    if (err) {
        ks_log_shard(KS_LOG_WARN, st->name, NULL, "ListShards failed: %s", ks_err_str(err));
        c->cycle_stream++;
        cycle_next(c);
        return;
    }
    c->shards = calloc(n ? n : 1, sizeof(*c->shards));
    for (size_t i = 0; c->shards && i < n; i++) {
        ks_shard *d = &c->shards[c->n_shards++];
        d->shard_id = ks_strdup(shards[i].shard_id);
        d->parent_shard_id = ks_strdup(shards[i].parent_shard_id);
        d->adjacent_parent_shard_id = ks_strdup(shards[i].adjacent_parent_shard_id);
        d->ending_sequence = ks_strdup(shards[i].ending_sequence);
        if (!d->shard_id) {
            free_shards(c);
            break;
        }
    }
    if (!c->shards || ks_lease_merge_children(st, &c->shards, &c->n_shards) != KS_OK) {
        c->cycle_stream++;
        cycle_next(c);
        return;
    }
    query_stream(c, st);
}

static void plan_stream(ks_lease_coordinator *c, ks_lease_stream *st, ks_lease_row *rows, size_t n)
{
    uint64_t now = ks_lease_now(c);
    if (ks_lease_observer_update(&st->obs, rows, n, now) != KS_OK)
        return;
    const char **held = calloc(c->n_held ? c->n_held : 1, sizeof(*held));
    if (!held)
        return;
    size_t n_held = 0;
    for (ks_held *h = c->held; h; h = h->next)
        if (h->st == st)
            held[n_held++] = h->shard_id;
    ks_plan_handoff ph = {c->pending.shard_id, c->pending.peer, c->pending.requested_ms};
    bool mine = c->pending.active && c->pending.st == st;
    const ks_kinesis_input_config *in = c->in;
    ks_plan_input pin = {
        .me = c->client_id,
        .rows = rows,
        .n_rows = n,
        .shards = c->shards,
        .n_shards = c->n_shards,
        .explicit_shards = (const char *const *)st->explicit_ids,
        .n_explicit = st->n_explicit,
        .held = held,
        .n_held = n_held,
        .obs = &st->obs,
        .now_ms = now,
        .lease_period_ms = (uint64_t)in->lease_period_ms,
        .commit_period_ms = (uint64_t)in->commit_period_ms,
        .steal_grace_period_ms = (uint64_t)in->steal_grace_period_ms,
        .start_from_oldest = in->start_from_oldest,
        .max_claims = c->cycle_budget,
        .paused = c->paused || c->stopping,
        .may_request_handoff = !c->pending.active,
        .pending = mine ? &ph : NULL,
        .seed = ks_rand32(),
    };
    ks_plan_result res;
    if (ks_plan(&pin, &res) == KS_OK) {
        st->standby_ok = res.standby_ok;
        c->cycle_budget -= res.claims < c->cycle_budget ? res.claims : c->cycle_budget;
        if (mine && res.drop_pending)
            c->pending.active = false;
        else if (mine && res.pending_deadline_ms > now)
            schedule_rebalance(c, res.pending_deadline_ms - now + 5);
        ks_log(KS_LOG_DEBUG,
               "rebalance %s: claimable %zu, live %zu, target %zu, mine %zu, %zu actions", st->name,
               res.claimable, res.live_clients, res.target, res.mine, res.n_actions);
        for (size_t i = 0; i < res.n_actions; i++)
            ks_lease_execute(c, st, &res.actions[i]);
        ks_plan_result_clean_up(&res);
    }
    free(held);
}

static void on_cb_op_items(void *ud, ks_err err, const cJSON *const *items, size_t n)
{
    ks_lease_op *op = ud;
    ks_lease_coordinator *c = op->c;
    ks_lease_stream *st = op->st;
    ks_lease_op_free(op);
    if (!c)
        return;
    if (err) {
        ks_lease_count_error(c, err);
        ks_log_shard(KS_LOG_WARN, st->name, NULL, "lease table Query failed: %s", ks_err_str(err));
    } else {
        if (c->n_held == 0)
            ks_lease_mark_ok(c);
        ks_lease_row *rows = calloc(n ? n : 1, sizeof(*rows));
        size_t m = 0;
        for (size_t i = 0; rows && i < n; i++)
            if (ks_lease_row_decode(items[i], &rows[m]) == KS_OK)
                m++;
        if (rows)
            plan_stream(c, st, rows, m);
        for (size_t i = 0; i < m; i++)
            ks_lease_row_clean_up(&rows[i]);
        free(rows);
    }
    free_shards(c);
    c->cycle_stream++;
    cycle_next(c);
}

static void cycle_next(ks_lease_coordinator *c)
{
    if (c->cycle_stream >= c->n_streams) {
        c->cycle_running = false;
        uint64_t delay =
            c->rerun ? 50 : ks_jitter((uint64_t)c->in->rebalance_period_ms, 10, ks_rand32());
        c->rerun = false;
        schedule_rebalance(c, delay);
        return;
    }
    ks_lease_stream *st = &c->streams[c->cycle_stream];
    if (st->n_explicit > 0) {
        query_stream(c, st);
        return;
    }
    ks_lease_op *op = cycle_op_new(c, KS_OP_LIST, st);
    if (!op)
        return;
    ks_err err = ks_kinesis_list_shards(c->kinesis, st->name, on_shards, op);
    if (err)
        on_shards(op, err, NULL, 0);
}

static void on_rebalance_timer(uv_timer_t *t)
{
    ks_lease_coordinator *c = t->data;
    if (!c->table_ready || c->destroyed)
        return;

    if (c->cycle_running) {
        c->rerun = true;
        return;
    }
    c->cycle_running = true;
    c->cycle_stream = 0;
    c->cycle_budget = c->in->max_claims_per_cycle > 0 ? (size_t)c->in->max_claims_per_cycle : 1;
    cycle_next(c);
}

/* --- heartbeats, commits, self-fencing --- */

static void on_tick(uv_timer_t *t)
{
    ks_lease_coordinator *c = t->data;
    uint64_t now = ks_lease_now(c);
    ks_held *next;
    for (ks_held *h = c->held; h; h = next) {
        next = h->next;
        if (now - h->last_ok_ms >= (uint64_t)c->in->lease_period_ms) {
            /* Self-fencing: my renewals failed for lease_period; a peer may own it now. */
            ks_metric_add(c->m_losses, 1);
            ks_lease_drop(c, h, KS_ERR_TIMEOUT,
                          h->phase == KS_HELD_ACTIVE ? "renewal failed for lease_period" : NULL);
            continue;
        }
        ks_lease_kick(c, h);
    }
}

/* --- table --- */

static void on_table(void *ud, ks_err err);

static void ensure_table(ks_lease_coordinator *c)
{
    const ks_dynamodb_config *d = &c->in->dynamodb;
    ks_table_spec spec = {.table = d->table,
                          .hash_key = KS_ATTR_STREAM,
                          .range_key = KS_ATTR_SHARD,
                          .billing_mode = d->billing_mode,
                          .read_capacity_units = d->read_capacity_units,
                          .write_capacity_units = d->write_capacity_units};
    ks_lease_op *op = ks_lease_op_new(c, KS_OP_ENSURE);
    if (!op)
        return;
    ks_err err = ks_dynamo_ensure_table(c->dynamo, c->loop, &spec, d->create, 120000, on_table, op);
    if (err)
        on_table(op, err);
}

static void on_table_retry(uv_timer_t *t)
{
    ks_lease_coordinator *c = t->data;
    if (!c->table_ready && !c->destroyed)
        ensure_table(c);
    else
        on_rebalance_timer(t);
}

static void on_table(void *ud, ks_err err)
{
    ks_lease_op *op = ud;
    ks_lease_coordinator *c = op->c;
    ks_lease_op_free(op);
    if (!c)
        return;
    if (err) {
        char msg[300];
        if (err == KS_ERR_AWS_RESOURCE_NOT_FOUND && !c->in->dynamodb.create)
            snprintf(msg, sizeof(msg),
                     "DynamoDB table %s does not exist and dynamodb.create is false: create it "
                     "(string HASH key StreamID, string RANGE key ShardID) or set "
                     "dynamodb.create: true",
                     c->in->dynamodb.table);
        else
            snprintf(msg, sizeof(msg), "DynamoDB table %s is not usable: %s", c->in->dynamodb.table,
                     ks_err_str(err));
        ks_log(KS_LOG_ERROR, "%s", msg);
        ks_lease_count_error(c, err);
        if (c->ev.on_table_error)
            c->ev.on_table_error(c->ev.ud, err, msg);
        uint64_t delay = ks_backoff_next(&c->table_backoff, ks_rand32());
        uv_timer_start(&c->rebalance_timer, on_table_retry, delay, 0);
        return;
    }
    c->table_ready = true;
    ks_lease_mark_ok(c);
    uint64_t first = (uint64_t)c->in->rebalance_period_ms / 2;
    if (first > 500)
        first = 500;
    uv_timer_start(&c->rebalance_timer, on_rebalance_timer, first ? ks_rand32() % first : 0, 0);
}

/* --- lifecycle --- */

ks_err ks_lease_coordinator_new(const ks_lease_options *opts, ks_lease_coordinator **out)
{
    if (!opts || !opts->loop || !opts->dynamo || !opts->config || !opts->client_id ||
        !*opts->client_id || !opts->config->input.dynamodb.table ||
        !*opts->config->input.dynamodb.table)
        return KS_ERR_INVALID;
    ks_lease_coordinator *c = calloc(1, sizeof(*c));
    if (!c)
        return KS_ERR_NOMEM;
    c->loop = opts->loop;
    c->dynamo = opts->dynamo;
    c->kinesis = opts->kinesis;
    c->clock = opts->clock ? opts->clock : ks_clock_system();
    c->config = opts->config;
    c->in = &opts->config->input;
    c->ev = opts->events;
    c->metrics = opts->metrics;
    ks_backoff_init(&c->table_backoff, 500, (uint64_t)c->in->rebalance_period_ms);
    init_metrics(c);
    ks_err err = KS_ERR_NOMEM;
    if (!(c->client_id = ks_strdup(opts->client_id)) || (err = init_streams(c)) != KS_OK)
        goto fail;
    uv_timer_t *timers[] = {&c->rebalance_timer, &c->tick_timer, &c->stop_timer};
    for (size_t i = 0; i < 3; i++) {
        uv_timer_init(c->loop, timers[i]);
        timers[i]->data = c;
        c->open_handles++;
    }
    *out = c;
    return KS_OK;
fail:
    c->destroyed = true;
    ks_lease_coordinator_destroy(c);
    return err;
}

static void free_all(ks_lease_coordinator *c)
{
    for (size_t i = 0; i < c->n_streams; i++) {
        free(c->streams[i].name);
        for (size_t k = 0; k < c->streams[i].n_explicit; k++)
            free(c->streams[i].explicit_ids[k]);
        free(c->streams[i].explicit_ids);
        ks_lease_observer_clean_up(&c->streams[i].obs);
        ks_lease_children_clean_up(&c->streams[i]);
    }
    free(c->streams);
    free(c->pending.shard_id);
    free(c->pending.peer);
    free(c->client_id);
    free_shards(c);
    free(c);
}

static void on_closed(uv_handle_t *h)
{
    ks_lease_coordinator *c = h->data;
    if (--c->open_handles == 0)
        free_all(c);
}

void ks_lease_coordinator_destroy(ks_lease_coordinator *c)
{
    if (!c)
        return;
    c->destroyed = true;
    for (ks_lease_op *op = c->ops; op; op = op->next)
        op->c = NULL; /* completions only free the op */
    c->ops = NULL;
    while (c->held) {
        ks_held *h = c->held;
        c->held = h->next;
        ks_lease_waiters_answer(h, KS_ERR_CANCELLED);
        held_free(h);
    }
    while (c->zombies) {
        ks_held *h = c->zombies;
        c->zombies = h->next;
        held_free(h);
    }
    c->n_held = 0;
    if (c->stop_cb) {
        ks_lease_done_cb cb = c->stop_cb;
        c->stop_cb = NULL;
        cb(c->stop_ud, KS_ERR_CANCELLED);
    }
    if (c->open_handles == 0) {
        free_all(c);
        return;
    }
    uv_close((uv_handle_t *)&c->rebalance_timer, on_closed);
    uv_close((uv_handle_t *)&c->tick_timer, on_closed);
    uv_close((uv_handle_t *)&c->stop_timer, on_closed);
}

ks_err ks_lease_coordinator_start(ks_lease_coordinator *c)
{
    if (c->started)
        return KS_ERR_INVALID;
    if (!c->kinesis) {
        for (size_t i = 0; i < c->n_streams; i++)
            if (c->streams[i].n_explicit == 0)
                return KS_ERR_INVALID; /* balanced mode needs ListShards */
    }
    c->started = true;
    uint64_t lease = (uint64_t)c->in->lease_period_ms;
    uint64_t commit = (uint64_t)c->in->commit_period_ms;
    uint64_t tick = (commit < lease / 3 ? commit : lease / 3) / 5;
    tick = tick < 20 ? 20 : tick > 1000 ? 1000 : tick;
    uv_timer_start(&c->tick_timer, on_tick, tick, tick);
    ensure_table(c);
    return KS_OK;
}

void ks_lease_trigger_rebalance(ks_lease_coordinator *c)
{
    if (!c->table_ready)
        return; /* the table retry owns the timer until then */
    if (c->cycle_running)
        c->rerun = true;
    else
        schedule_rebalance(c, 100);
}
