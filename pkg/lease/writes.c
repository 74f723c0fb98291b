/* The conditional writes of the lease protocol and what their outcomes mean. Every
 * ownership or checkpoint write is conditional on ClientID = me AND LeaseCounter = n
 * (DESIGN 5.1); a failed condition means the lease is lost. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "lease/lease_internal.h"
#include "lease/rows.h"
#include "lease/tracker.h"

static const struct {
    const char *ph;
    const char *attr;
} names_tab[] = {{"#o", KS_ATTR_OWNER},    {"#n", KS_ATTR_COUNTER}, {"#t", KS_ATTR_TIMEOUT},
                 {"#s", KS_ATTR_SEQUENCE}, {"#p", KS_ATTR_PARENTS}, {"#h", KS_ATTR_HANDOFF},
                 {"#k", KS_ATTR_SHARD}};

/* A placeholder used as a whole token in any of the expressions. */
static bool uses(const char *ph, const char *e1, const char *e2)
{
    const char *es[2] = {e1, e2};
    size_t n = strlen(ph);
    for (int i = 0; i < 2; i++)
        for (const char *p = es[i]; p && (p = strstr(p, ph)); p += n)
            if (!isalnum((unsigned char)p[n]) && p[n] != '_')
                return true;
    return false;
}

typedef struct wvals {
    const char *me, *peer, *old, *seq, *start, *to;
    int64_t cnt, next;
    const char *const *parents;
    size_t n_parents;
} wvals;

static void add_val(cJSON *values, const char *ph, cJSON *v, const char *e1, const char *e2)
{
    if (v && uses(ph, e1, e2))
        cJSON_AddItemToObject(values, ph, v);
    else
        cJSON_Delete(v);
}

static ks_err build(const char *update, const char *cond, const wvals *v, cJSON **names_out,
                    cJSON **values_out)
{
    cJSON *names = cJSON_CreateObject(), *values = cJSON_CreateObject();
    if (!names || !values) {
        cJSON_Delete(names);
        cJSON_Delete(values);
        return KS_ERR_NOMEM;
    }
    for (size_t i = 0; i < sizeof(names_tab) / sizeof(names_tab[0]); i++)
        if (uses(names_tab[i].ph, update, cond))
            cJSON_AddStringToObject(names, names_tab[i].ph, names_tab[i].attr);
    if (v->me)
        add_val(values, ":me", ks_lease_av_s(v->me), update, cond);
    if (v->peer)
        add_val(values, ":peer", ks_lease_av_s(v->peer), update, cond);
    if (v->old)
        add_val(values, ":old", ks_lease_av_s(v->old), update, cond);
    if (v->seq)
        add_val(values, ":seq", ks_lease_av_s(v->seq), update, cond);
    if (v->start)
        add_val(values, ":start", ks_lease_av_s(v->start), update, cond);
    if (v->to)
        add_val(values, ":to", ks_lease_av_s(v->to), update, cond);
    if (v->n_parents)
        add_val(values, ":par", ks_lease_av_ss(v->parents, v->n_parents), update, cond);
    add_val(values, ":cnt", ks_lease_av_n(v->cnt), update, cond);
    add_val(values, ":next", ks_lease_av_n(v->next), update, cond);
    *names_out = names;
    *values_out = values;
    return KS_OK;
}

static void on_item(void *ud, ks_err err, const cJSON *item);
static void write_done(ks_lease_coordinator *c, ks_lease_op *op, ks_err err, const cJSON *item);

/* Sends an UpdateItem (or DeleteItem when update is NULL); on a synchronous failure the
 * completion runs at once with that error. */
static void send_write(ks_lease_op *op, const char *stream, const char *shard, const char *update,
                       const char *cond, const wvals *v, const char *rv)
{
    ks_lease_coordinator *c = op->c;
    cJSON *names = NULL, *values = NULL;
    cJSON *key = ks_lease_item_key(stream, shard);
    ks_err err = key ? build(update, cond, v, &names, &values) : KS_ERR_NOMEM;
    if (!err) {
        ks_dynamo_write w = {.table = c->in->dynamodb.table,
                             .key = key,
                             .update_expression = update,
                             .condition_expression = cond,
                             .names = names,
                             .values = cJSON_GetArraySize(values) ? values : NULL,
                             .return_values = rv};
        err = update ? ks_dynamo_update_item(c->dynamo, &w, on_item, op)
                     : ks_dynamo_delete_item(c->dynamo, &w, on_item, op);
    }
    cJSON_Delete(key);
    cJSON_Delete(names);
    cJSON_Delete(values);
    if (err)
        on_item(op, err, NULL);
}

static void timeout_str(ks_lease_coordinator *c, char out[25])
{
    ks_format_rfc3339_ms(ks_clock_wall_ms(c->clock) + c->in->lease_period_ms, out);
}

void ks_lease_waiters_answer(ks_held *h, ks_err err)
{
    ks_lease_waiter *w = h->waiters;
    h->waiters = NULL;
    while (w) {
        ks_lease_waiter *next = w->next;
        if (w->cb)
            w->cb(w->ud, err);
        free(w);
        w = next;
    }
}

static bool checkpoint_moved(const ks_held *h)
{
    return h->checkpoint && (!h->committed || strcmp(h->checkpoint, h->committed) != 0);
}

void ks_lease_kick(ks_lease_coordinator *c, ks_held *h)
{
    uint64_t now = ks_lease_now(c);
    if (h->in_flight || h->detached || now < h->next_try_ms)
        return;
    const ks_kinesis_input_config *in = c->in;
    ks_lease_op_kind kind;
    if (h->phase == KS_HELD_ENDING)
        kind = KS_OP_SHARD_END;
    else if (h->phase == KS_HELD_RELEASING)
        kind = KS_OP_RELEASE;
    else if (h->commit_now ||
             (checkpoint_moved(h) && now - h->last_commit_ms >= (uint64_t)in->commit_period_ms) ||
             now - h->last_ok_ms >= (uint64_t)in->lease_period_ms / 3)
        kind = KS_OP_RENEW;
    else
        return;
    ks_lease_op *op = ks_lease_op_new(c, kind);
    const char *seq = kind == KS_OP_SHARD_END ? KS_SEQ_SHARD_END
                      : checkpoint_moved(h)   ? h->checkpoint
                                              : NULL;
    if (!op || (seq && !(op->seq = ks_strdup(seq)))) {
        ks_lease_op_free(op);
        h->next_try_ms = now + ks_backoff_next(&h->backoff, ks_rand32());
        return;
    }
    op->held = h;
    op->st = h->st;
    op->counter = h->counter + 1;
    h->in_flight = true;
    h->commit_now = false;
    char to[25];
    timeout_str(c, to);
    wvals v = {
        .me = c->client_id, .cnt = h->counter, .next = h->counter + 1, .to = to, .seq = op->seq};
    const char *cond = "#o = :me AND #n = :cnt";
    const char *upd;
    if (kind == KS_OP_SHARD_END)
        upd = "SET #n = :next, #s = :seq REMOVE #o, #t, #h";
    else if (kind == KS_OP_RELEASE)
        upd = seq ? "SET #n = :next, #s = :seq REMOVE #o, #t" : "SET #n = :next REMOVE #o, #t";
    else
        upd = seq ? "SET #n = :next, #t = :to, #s = :seq" : "SET #n = :next, #t = :to";
    send_write(op, h->st->name, h->shard_id, upd, cond, &v,
               kind == KS_OP_RENEW ? "ALL_NEW" : "NONE");
}

void ks_lease_execute(ks_lease_coordinator *c, ks_lease_stream *st, const ks_plan_action *a)
{
    static const ks_lease_op_kind kinds[] = {[KS_PLAN_CLAIM] = KS_OP_CLAIM,
                                             [KS_PLAN_TAKE_EXPIRED] = KS_OP_CLAIM,
                                             [KS_PLAN_REQUEST_HANDOFF] = KS_OP_HANDOFF,
                                             [KS_PLAN_FORCE_TAKE] = KS_OP_CLAIM,
                                             [KS_PLAN_DELETE_ROW] = KS_OP_DELETE};
    ks_lease_op *op = ks_lease_op_new(c, kinds[a->kind]);
    const ks_lease_row *r = a->row;
    if (!op || !(op->shard_id = ks_strdup(a->shard_id)) ||
        (r && r->owner && !(op->peer = ks_strdup(r->owner)))) {
        ks_lease_op_free(op);
        return;
    }
    op->st = st;
    op->is_child = a->is_child;
    op->handoff = a->kind == KS_PLAN_FORCE_TAKE || (c->pending.active && c->pending.st == st &&
                                                    strcmp(c->pending.shard_id, a->shard_id) == 0);
    ks_log_shard(KS_LOG_DEBUG, st->name, a->shard_id, "lease %s (owner %s, counter %lld)",
                 ks_plan_kind_str(a->kind), r && r->owner ? r->owner : "-",
                 (long long)(r ? r->counter : 0));
    char to[25], start[48];
    timeout_str(c, to);
    ks_lease_initial_position(c->in->start_from_oldest, a->is_child, ks_clock_wall_ms(c->clock),
                              start);
    const char *ps[2];
    size_t np = 0;
    if (a->shard && a->shard->parent_shard_id)
        ps[np++] = a->shard->parent_shard_id;
    if (a->shard && a->shard->adjacent_parent_shard_id)
        ps[np++] = a->shard->adjacent_parent_shard_id;
    wvals v = {.me = c->client_id,
               .old = r ? r->owner : NULL,
               .peer = r ? r->owner : NULL,
               .cnt = r ? r->counter : 0,
               .next = (r ? r->counter : 0) + 1,
               .to = to,
               .start = start,
               .parents = ps,
               .n_parents = np};
    op->counter = v.next;
    char cond[160];
    snprintf(cond, sizeof(cond), "%s AND %s",
             r && r->owner ? "#o = :old" : "attribute_not_exists(#o)",
             r && r->has_counter ? "#n = :cnt" : "attribute_not_exists(#n)");
    switch (a->kind) {
    case KS_PLAN_REQUEST_HANDOFF:
        send_write(op, st->name, a->shard_id, "SET #h = :me",
                   "#o = :peer AND attribute_not_exists(#h)", &v, "NONE");
        return;
    case KS_PLAN_DELETE_ROW:
        send_write(op, st->name, a->shard_id, NULL, cond, &v, "NONE");
        return;
    default:
        break;
    }
    if (!r) {
        send_write(op, st->name, a->shard_id,
                   np ? "SET #o = :me, #n = :next, #t = :to, #s = :start, #p = :par"
                      : "SET #o = :me, #n = :next, #t = :to, #s = :start",
                   "attribute_not_exists(#k)", &v, "ALL_NEW");
        return;
    }
    send_write(op, st->name, a->shard_id,
               np ? "SET #o = :me, #n = :next, #t = :to, #s = if_not_exists(#s, :start), "
                    "#p = :par REMOVE #h"
                  : "SET #o = :me, #n = :next, #t = :to, #s = if_not_exists(#s, :start) "
                    "REMOVE #h",
               cond, &v, "ALL_NEW");
}

/* A claim write succeeded: the lease is mine from the counter it set. */
static void claimed(ks_lease_coordinator *c, ks_lease_op *op, const cJSON *item)
{
    ks_lease_row row = {0};
    if (item && ks_lease_row_decode(item, &row) != KS_OK)
        memset(&row, 0, sizeof(row));
    ks_held *h = calloc(1, sizeof(*h));
    if (!h || !(h->shard_id = ks_strdup(op->shard_id))) {
        free(h);
        ks_lease_row_clean_up(&row);
        return; /* expires in the table after lease_period */
    }
    uint64_t now = ks_lease_now(c);
    h->st = op->st;
    h->counter = row.has_counter ? row.counter : op->counter;
    ks_lease_set_str(&h->committed, row.sequence);
    h->last_ok_ms = h->last_commit_ms = now;
    ks_backoff_init(&h->backoff, 100, (uint64_t)c->in->lease_period_ms / 3);
    h->next = c->held;
    c->held = h;
    c->n_held++;
    ks_metric_set(c->m_held, (double)c->n_held);
    ks_metric_add(c->m_claims, 1);
    if (op->handoff)
        ks_metric_add(c->m_hin, 1);
    if (c->pending.active && c->pending.st == op->st &&
        strcmp(c->pending.shard_id, op->shard_id) == 0)
        c->pending.active = false;
    ks_position pos;
    ks_position_kind pk = ks_lease_parse_position(row.sequence, &pos);
    if (pk == KS_POS_SHARD_END || c->stopping) {
        h->phase = KS_HELD_RELEASING; /* nothing to read, or stopping: give it back */
        ks_lease_row_clean_up(&row);
        ks_lease_kick(c, h);
        return;
    }
    char start[48];
    if (pk == KS_POS_NONE) {
        ks_lease_initial_position(c->in->start_from_oldest, op->is_child,
                                  ks_clock_wall_ms(c->clock), start);
        ks_lease_parse_position(start, &pos);
    }
    ks_log_shard(KS_LOG_INFO, op->st->name, op->shard_id, "lease acquired (counter %lld, from %s)",
                 (long long)h->counter, row.sequence ? row.sequence : "policy");
    ks_lease_start s = {.stream = op->st->name,
                        .shard_id = op->shard_id,
                        .type = pos.type,
                        .sequence = pos.sequence,
                        .timestamp_ms = pos.timestamp_ms,
                        .is_child = op->is_child};
    if (c->ev.on_acquired)
        c->ev.on_acquired(c->ev.ud, &s);
    ks_lease_row_clean_up(&row);
}

static void on_reread(void *ud, ks_err err, const cJSON *item);

/* A conditional failure right after a write that got no answer: that write may have been
 * applied (then the counter is exactly mine + 1). Read the row consistently to decide. */
static void reread(ks_lease_coordinator *c, ks_held *h, ks_lease_op_kind orig)
{
    ks_lease_op *op = ks_lease_op_new(c, KS_OP_REREAD);
    cJSON *key = ks_lease_item_key(h->st->name, h->shard_id);
    ks_err err = op && key ? KS_OK : KS_ERR_NOMEM;
    if (!err) {
        op->held = h;
        op->orig = orig;
        h->in_flight = true;
        err = ks_dynamo_get_item(c->dynamo, c->in->dynamodb.table, key, true, on_reread, op);
    }
    cJSON_Delete(key);
    if (err) {
        h->in_flight = false;
        ks_lease_op_free(op);
        h->uncertain = false;
        h->next_try_ms = ks_lease_now(c) + ks_backoff_next(&h->backoff, ks_rand32());
    }
}

static void on_reread(void *ud, ks_err err, const cJSON *item)
{
    ks_lease_op *op = ud;
    ks_lease_coordinator *c = op->c;
    ks_held *h = op->held;
    if (!c) {
        ks_lease_op_free(op);
        return;
    }
    h->in_flight = false;
    h->uncertain = false;
    if (h->detached) {
        ks_lease_op_free(op);
        write_done(c, &(ks_lease_op){.held = h, .kind = op->orig}, KS_OK, NULL);
        return;
    }
    if (err) { /* unknown still: retry the write later; self-fencing bounds this */
        ks_lease_count_error(c, err);
        h->uncertain = true;
        h->next_try_ms = ks_lease_now(c) + ks_backoff_next(&h->backoff, ks_rand32());
        ks_lease_op_free(op);
        return;
    }
    ks_lease_row row = {0};
    bool landed = false;
    if (item && ks_lease_row_decode(item, &row) == KS_OK && row.has_counter &&
        row.counter == h->counter + 1) {
        if (op->orig == KS_OP_RENEW)
            landed = row.owner && strcmp(row.owner, c->client_id) == 0;
        else if (op->orig == KS_OP_RELEASE)
            landed = !row.owner;
        else
            landed = !row.owner && row.sequence && strcmp(row.sequence, KS_SEQ_SHARD_END) == 0;
    }
    ks_lease_op_kind orig = op->orig;
    ks_lease_op_free(op);
    if (landed) {
        ks_log_shard(KS_LOG_INFO, h->st->name, h->shard_id,
                     "an unanswered lease write had landed (counter %lld): lease kept",
                     (long long)row.counter);
        ks_lease_row_clean_up(&row);
        if (orig == KS_OP_RENEW) {
            h->counter++; /* adopt it; the checkpoint is rewritten by the next write */
            h->next_try_ms = 0;
            ks_lease_kick(c, h);
        } else {
            write_done(c, &(ks_lease_op){.held = h, .kind = orig, .counter = h->counter + 1}, KS_OK,
                       NULL);
        }
        return;
    }
    ks_lease_row_clean_up(&row);
    write_done(c, &(ks_lease_op){.held = h, .kind = orig}, KS_ERR_AWS_CONDITION_FAILED, NULL);
}

static void write_done(ks_lease_coordinator *c, ks_lease_op *op, ks_err err, const cJSON *item)
{
    ks_held *h = op->held;
    h->in_flight = false;
    if (h->detached) {
        /* Dropped while the write was out: already reported; free it now. */
        ks_held **pp = &c->zombies;
        while (*pp && *pp != h)
            pp = &(*pp)->next;
        if (*pp)
            *pp = h->next;
        free(h->shard_id);
        free(h->committed);
        free(h->checkpoint);
        free(h);
        return;
    }
    uint64_t now = ks_lease_now(c);
    if (!err) {
        ks_lease_mark_ok(c);
        ks_metric_add(c->m_commit_ok, 1);
        ks_backoff_reset(&h->backoff);
        h->uncertain = false;
        h->counter = op->counter;
        h->last_ok_ms = now;
        if (op->seq) {
            ks_lease_set_str(&h->committed, op->seq);
            h->last_commit_ms = now;
        }
        if (op->kind != KS_OP_RENEW) {
            if (h->handoff_seen)
                ks_metric_add(c->m_hout, 1);
            ks_log_shard(KS_LOG_INFO, h->st->name, h->shard_id, "lease %s",
                         op->kind == KS_OP_SHARD_END ? "finished (SHARD_END)" : "released");
            ks_lease_drop(c, h, KS_OK, NULL);
            return;
        }
        const char *to = item ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                                    cJSON_GetObjectItemCaseSensitive(item, KS_ATTR_HANDOFF), "S"))
                              : NULL;
        bool handoff = to && *to && strcmp(to, c->client_id) != 0 && !h->handoff_seen &&
                       h->phase == KS_HELD_ACTIVE;
        h->handoff_seen = h->handoff_seen || handoff;
        ks_lease_waiters_answer(h, KS_OK);
        ks_lease_kick(c, h);
        if (handoff) {
            ks_log_shard(KS_LOG_INFO, h->st->name, h->shard_id, "handoff requested by %s", to);
            if (c->ev.on_handoff_requested)
                c->ev.on_handoff_requested(c->ev.ud, h->st->name, h->shard_id);
        }
        return;
    }
    if (err == KS_ERR_AWS_CONDITION_FAILED && h->uncertain) {
        reread(c, h, op->kind); /* did my unanswered write land after all? */
        return;
    }
    if (err == KS_ERR_AWS_CONDITION_FAILED) {
        ks_metric_add(c->m_commit_conflict, 1);
        ks_metric_add(c->m_losses, 1);
        ks_lease_drop(c, h, err,
                      h->phase == KS_HELD_ACTIVE ? "lease taken over (conditional write failed)"
                                                 : NULL);
        return;
    }
    ks_metric_add(c->m_commit_error, 1);
    ks_lease_count_error(c, err);
    h->uncertain = true;
    ks_log_shard(KS_LOG_WARN, h->st->name, h->shard_id, "lease write failed: %s", ks_err_str(err));
    h->next_try_ms = now + ks_backoff_next(&h->backoff, ks_rand32());
    if (op->kind == KS_OP_RENEW)
        ks_lease_waiters_answer(h, err); /* commit_now: report; release waiters are kept */
}

static void on_item(void *ud, ks_err err, const cJSON *item)
{
    ks_lease_op *op = ud;
    ks_lease_coordinator *c = op->c;
    if (!c) {
        ks_lease_op_free(op);
        return;
    }
    switch (op->kind) {
    case KS_OP_RENEW:
    case KS_OP_RELEASE:
    case KS_OP_SHARD_END:
        write_done(c, op, err, item);
        break;
    case KS_OP_CLAIM:
        if (!err) {
            ks_lease_mark_ok(c);
            claimed(c, op, item);
        } else if (err == KS_ERR_AWS_CONDITION_FAILED) {
            ks_log_shard(KS_LOG_DEBUG, op->st->name, op->shard_id, "claim lost a race");
        } else {
            ks_lease_count_error(c, err);
            ks_log_shard(KS_LOG_WARN, op->st->name, op->shard_id, "claim failed: %s",
                         ks_err_str(err));
        }
        break;
    case KS_OP_HANDOFF:
        if (!err) {
            ks_lease_mark_ok(c);
            ks_metric_add(c->m_hreq, 1);
            free(c->pending.shard_id);
            free(c->pending.peer);
            c->pending.shard_id = op->shard_id;
            c->pending.peer = op->peer;
            op->shard_id = op->peer = NULL;
            c->pending.st = op->st;
            c->pending.requested_ms = ks_lease_now(c);
            c->pending.active = true;
            ks_log_shard(KS_LOG_INFO, op->st->name, c->pending.shard_id,
                         "asked %s to hand the shard over", c->pending.peer);
        } else if (err != KS_ERR_AWS_CONDITION_FAILED) {
            ks_lease_count_error(c, err);
        }
        break;
    case KS_OP_DELETE:
        if (!err)
            ks_log_shard(KS_LOG_INFO, op->st->name, op->shard_id,
                         "row deleted: shard gone from the stream, children started");
        else if (err != KS_ERR_AWS_CONDITION_FAILED)
            ks_lease_count_error(c, err);
        break;
    default:
        break;
    }
    ks_lease_op_free(op);
}
