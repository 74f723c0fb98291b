#include "lease/plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "lease/tracker.h"

static bool str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static bool opt_str_eq(const char *a, const char *b)
{
    return (!a && !b) || str_eq(a, b);
}

/* --- positions --- */

ks_position_kind ks_lease_parse_position(const char *stored, ks_position *out)
{
    memset(out, 0, sizeof(*out));
    if (!stored || !*stored)
        return KS_POS_NONE;
    if (ks_seq_is_number(stored)) {
        out->type = KS_ITER_AFTER_SEQUENCE_NUMBER;
        out->sequence = stored;
        return KS_POS_OK;
    }
    if (strcmp(stored, KS_SEQ_TRIM_HORIZON) == 0) {
        out->type = KS_ITER_TRIM_HORIZON;
        return KS_POS_OK;
    }
    if (strcmp(stored, KS_SEQ_LATEST) == 0) {
        out->type = KS_ITER_LATEST;
        return KS_POS_OK;
    }
    if (strcmp(stored, KS_SEQ_SHARD_END) == 0)
        return KS_POS_SHARD_END;
    size_t plen = strlen(KS_SEQ_AT_TIMESTAMP);
    if (strncmp(stored, KS_SEQ_AT_TIMESTAMP, plen) == 0 && ks_seq_is_number(stored + plen) &&
        strlen(stored + plen) <= 15) {
        out->type = KS_ITER_AT_TIMESTAMP;
        out->timestamp_ms = strtoll(stored + plen, NULL, 10);
        return KS_POS_OK;
    }
    return KS_POS_NONE;
}

void ks_lease_initial_position(bool start_from_oldest, bool is_child, int64_t wall_ms, char out[48])
{
    if (start_from_oldest || is_child)
        snprintf(out, 48, "%s", KS_SEQ_TRIM_HORIZON);
    else
        snprintf(out, 48, "%s%" PRId64, KS_SEQ_AT_TIMESTAMP, wall_ms);
}

bool ks_lease_row_started(const ks_lease_row *row)
{
    return row && (ks_seq_is_number(row->sequence) || str_eq(row->sequence, KS_SEQ_SHARD_END));
}

/* --- observer --- */

void ks_lease_observer_init(ks_lease_observer *o)
{
    memset(o, 0, sizeof(*o));
}

static void entry_free(ks_lease_obs_entry *e)
{
    free(e->shard_id);
    free(e->owner);
    free(e->lease_timeout);
    e->shard_id = e->owner = e->lease_timeout = NULL;
}

void ks_lease_observer_clean_up(ks_lease_observer *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->len; i++)
        entry_free(&o->items[i]);
    free(o->items);
    memset(o, 0, sizeof(*o));
}

static ks_lease_obs_entry *obs_find(const ks_lease_observer *o, const char *shard_id)
{
    for (size_t i = 0; i < o->len; i++)
        if (strcmp(o->items[i].shard_id, shard_id) == 0)
            return &o->items[i];
    return NULL;
}

static ks_err set_str(char **dst, const char *src)
{
    char *d = NULL;
    if (src && !(d = ks_strdup(src)))
        return KS_ERR_NOMEM;
    free(*dst);
    *dst = d;
    return KS_OK;
}

ks_err ks_lease_observer_update(ks_lease_observer *o, const ks_lease_row *rows, size_t n,
                                uint64_t now_ms)
{
    /* Forget shards whose rows are gone. */
    for (size_t i = 0; i < o->len;) {
        bool present = false;
        for (size_t j = 0; j < n && !present; j++)
            present = strcmp(rows[j].shard_id, o->items[i].shard_id) == 0;
        if (present) {
            i++;
            continue;
        }
        entry_free(&o->items[i]);
        o->len--;
        if (i < o->len)
            o->items[i] = o->items[o->len];
        memset(&o->items[o->len], 0, sizeof(o->items[0]));
    }
    for (size_t j = 0; j < n; j++) {
        const ks_lease_row *r = &rows[j];
        ks_lease_obs_entry *e = obs_find(o, r->shard_id);
        if (!e) {
            if (o->len == o->cap) {
                size_t ncap = o->cap ? o->cap * 2 : 16;
                ks_lease_obs_entry *ni = realloc(o->items, ncap * sizeof(*ni));
                if (!ni)
                    return KS_ERR_NOMEM;
                o->items = ni;
                o->cap = ncap;
            }
            e = &o->items[o->len];
            memset(e, 0, sizeof(*e));
            if (!(e->shard_id = ks_strdup(r->shard_id)))
                return KS_ERR_NOMEM;
            o->len++;
        } else if (opt_str_eq(e->owner, r->owner) && e->counter == r->counter &&
                   opt_str_eq(e->lease_timeout, r->lease_timeout)) {
            continue; /* unchanged */
        }
        /* First sighting or a change: "renewed now". */
        e->counter = r->counter;
        e->changed_ms = now_ms;
        if (set_str(&e->owner, r->owner) || set_str(&e->lease_timeout, r->lease_timeout))
            return KS_ERR_NOMEM;
    }
    return KS_OK;
}

uint64_t ks_lease_observer_age(const ks_lease_observer *o, const char *shard_id, uint64_t now_ms)
{
    const ks_lease_obs_entry *e = obs_find(o, shard_id);
    if (!e || now_ms < e->changed_ms)
        return 0;
    return now_ms - e->changed_ms;
}

bool ks_lease_row_expired(const ks_lease_observer *o, const ks_lease_row *row, uint64_t now_ms,
                          uint64_t lease_period_ms)
{
    if (!row->owner)
        return false;
    return ks_lease_observer_age(o, row->shard_id, now_ms) >= lease_period_ms;
}

/* --- plan --- */

static const ks_lease_row *row_find(const ks_plan_input *in, const char *shard_id)
{
    for (size_t i = 0; i < in->n_rows; i++)
        if (str_eq(in->rows[i].shard_id, shard_id))
            return &in->rows[i];
    return NULL;
}

static const ks_shard *shard_find(const ks_plan_input *in, const char *shard_id)
{
    for (size_t i = 0; i < in->n_shards; i++)
        if (str_eq(in->shards[i].shard_id, shard_id))
            return &in->shards[i];
    return NULL;
}

static bool is_held(const ks_plan_input *in, const char *shard_id)
{
    for (size_t i = 0; i < in->n_held; i++)
        if (str_eq(in->held[i], shard_id))
            return true;
    return false;
}

/* Closed, never tracked, and LATEST semantics: nothing in it is after "now". */
static bool skipped_by_latest(const ks_plan_input *in, const ks_shard *s, const ks_lease_row *r)
{
    return !in->start_from_oldest && !r && s->ending_sequence;
}

/* A parent no longer holds unread data for us. */
static bool parent_done(const ks_plan_input *in, const char *parent)
{
    const ks_shard *s = shard_find(in, parent);
    if (!s)
        return true; /* gone from the stream (trimmed) */
    const ks_lease_row *r = row_find(in, parent);
    if (r && str_eq(r->sequence, KS_SEQ_SHARD_END))
        return true;
    return skipped_by_latest(in, s, r);
}

static bool is_child_shard(const ks_plan_input *in, const ks_shard *s)
{
    const char *ps[2] = {s->parent_shard_id, s->adjacent_parent_shard_id};
    for (int i = 0; i < 2; i++)
        if (ps[i] && row_find(in, ps[i]))
            return true;
    return false;
}

typedef struct cand {
    const char *shard_id;
    const ks_lease_row *row;
    const ks_shard *shard;
} cand;

typedef struct plan_ctx {
    const ks_plan_input *in;
    ks_plan_result *out;
    cand *claimable;
    size_t n_claimable;
} plan_ctx;

static ks_err push(ks_plan_result *out, ks_plan_kind kind, const cand *c, bool is_child)
{
    if (out->n_actions == out->cap) {
        size_t ncap = out->cap ? out->cap * 2 : 8;
        ks_plan_action *na = realloc(out->actions, ncap * sizeof(*na));
        if (!na)
            return KS_ERR_NOMEM;
        out->actions = na;
        out->cap = ncap;
    }
    out->actions[out->n_actions++] = (ks_plan_action){
        .kind = kind,
        .shard_id = c->shard_id,
        .row = c->row,
        .shard = c->shard,
        .is_child = is_child,
    };
    return KS_OK;
}

static ks_err build_claimable(plan_ctx *p)
{
    const ks_plan_input *in = p->in;
    size_t n = in->n_explicit > 0 ? in->n_explicit : in->n_shards;
    p->claimable = calloc(n ? n : 1, sizeof(cand));
    if (!p->claimable)
        return KS_ERR_NOMEM;
    if (in->n_explicit > 0) {
        for (size_t i = 0; i < in->n_explicit; i++) {
            const ks_lease_row *r = row_find(in, in->explicit_shards[i]);
            if (r && str_eq(r->sequence, KS_SEQ_SHARD_END))
                continue;
            p->claimable[p->n_claimable++] =
                (cand){in->explicit_shards[i], r, shard_find(in, in->explicit_shards[i])};
        }
        return KS_OK;
    }
    for (size_t i = 0; i < in->n_shards; i++) {
        const ks_shard *s = &in->shards[i];
        const ks_lease_row *r = row_find(in, s->shard_id);
        if (r && str_eq(r->sequence, KS_SEQ_SHARD_END))
            continue;
        if (skipped_by_latest(in, s, r))
            continue;
        if ((s->parent_shard_id && !parent_done(in, s->parent_shard_id)) ||
            (s->adjacent_parent_shard_id && !parent_done(in, s->adjacent_parent_shard_id)))
            continue;
        bool parents_ok = true;
        for (size_t k = 0; r && k < r->n_parents && parents_ok; k++)
            parents_ok = parent_done(in, r->parents[k]);
        if (!parents_ok)
            continue;
        p->claimable[p->n_claimable++] = (cand){s->shard_id, r, s};
    }
    return KS_OK;
}

static bool cand_is_child(const plan_ctx *p, const cand *c)
{
    return c->shard && p->in->n_explicit == 0 && is_child_shard(p->in, c->shard);
}

/* Live peers and their load over claimable shards. */
typedef struct peer {
    const char *owner;
    size_t load;
} peer;

static size_t peer_index(peer *peers, size_t *n, const char *owner)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(peers[i].owner, owner) == 0)
            return i;
    peers[*n] = (peer){owner, 0};
    return (*n)++;
}

static bool reserved_for_other(const plan_ctx *p, const ks_lease_row *r)
{
    /* Released for a peer that asked: leave it to that peer unless it stays free for
     * lease_period (the requester died). */
    return r && !r->owner && r->handoff_to && !str_eq(r->handoff_to, p->in->me) &&
           ks_lease_observer_age(p->in->obs, r->shard_id, p->in->now_ms) < p->in->lease_period_ms;
}

static ks_err plan_pending(plan_ctx *p, size_t *claimed_pending)
{
    const ks_plan_input *in = p->in;
    ks_plan_result *out = p->out;
    const ks_plan_handoff *h = in->pending;
    *claimed_pending = 0;
    if (!h)
        return KS_OK;
    const ks_lease_row *r = row_find(in, h->shard_id);
    cand c = {h->shard_id, r, shard_find(in, h->shard_id)};
    out->drop_pending = true;
    if (!r || str_eq(r->owner, in->me) || str_eq(r->sequence, KS_SEQ_SHARD_END))
        return KS_OK;
    if (!r->owner) {
        if (in->paused || (r->handoff_to && !str_eq(r->handoff_to, in->me)))
            return KS_OK;
        *claimed_pending = 1;
        return push(out, KS_PLAN_CLAIM, &c, cand_is_child(p, &c));
    }
    if (!str_eq(r->owner, h->peer) || !str_eq(r->handoff_to, in->me))
        return KS_OK; /* taken by someone else or the request was cleared: abandon */
    /* The owner sees HandoffTo on its next write: a commit, or for an idle shard the
     * next heartbeat (every lease_period/3). Forcing earlier would take the shard from an
     * owner that never had the chance to hand it over. */
    uint64_t next_write = in->commit_period_ms;
    if (in->lease_period_ms / 3 > next_write)
        next_write = in->lease_period_ms / 3;
    uint64_t deadline = h->requested_ms + next_write + in->steal_grace_period_ms;
    if (!in->paused && (in->now_ms >= deadline ||
                        ks_lease_row_expired(in->obs, r, in->now_ms, in->lease_period_ms))) {
        *claimed_pending = 1;
        return push(out, KS_PLAN_FORCE_TAKE, &c, cand_is_child(p, &c));
    }
    out->drop_pending = false;
    out->pending_deadline_ms = deadline;
    return KS_OK;
}

static ks_err plan_claims(plan_ctx *p, const peer *peers, size_t n_peers)
{
    const ks_plan_input *in = p->in;
    ks_plan_result *out = p->out;
    size_t claimed_pending;
    ks_err err = plan_pending(p, &claimed_pending);
    if (err || in->paused)
        return err;
    size_t have = out->mine + claimed_pending;
    size_t n = p->n_claimable;
    size_t rot = n ? in->seed % n : 0;
    /* Pass 0: my own rows I do not hold; 1: free or new; 2: expired. */
    for (int pass = 0; pass < 3; pass++) {
        for (size_t k = 0; k < n; k++) {
            if (have >= out->target || out->claims >= in->max_claims)
                return KS_OK;
            const cand *c = &p->claimable[(k + rot) % n];
            const ks_lease_row *r = c->row;
            if (is_held(in, c->shard_id) ||
                (in->pending && str_eq(in->pending->shard_id, c->shard_id)))
                continue;
            bool take;
            ks_plan_kind kind = KS_PLAN_CLAIM;
            if (pass == 0)
                take = r && str_eq(r->owner, in->me);
            else if (pass == 1)
                take = (!r || !r->owner) && !reserved_for_other(p, r);
            else {
                take = r && r->owner && !str_eq(r->owner, in->me) &&
                       ks_lease_row_expired(in->obs, r, in->now_ms, in->lease_period_ms);
                kind = KS_PLAN_TAKE_EXPIRED;
            }
            if (!take)
                continue;
            if ((err = push(out, kind, c, cand_is_child(p, c))))
                return err;
            out->claims++;
            have++;
        }
    }
    /* Still below target: ask the most loaded peer for one shard. */
    if (have >= out->target || !in->may_request_handoff || in->pending)
        return KS_OK;
    const peer *best = NULL;
    for (size_t i = 0; i < n_peers; i++)
        if (!best || peers[i].load > best->load ||
            (peers[i].load == best->load && strcmp(peers[i].owner, best->owner) < 0))
            best = &peers[i];
    if (!best || best->load < have + 2)
        return KS_OK;
    for (size_t k = 0; k < n; k++) {
        const cand *c = &p->claimable[(k + rot) % n];
        const ks_lease_row *r = c->row;
        if (r && str_eq(r->owner, best->owner) && !r->handoff_to &&
            !ks_lease_row_expired(in->obs, r, in->now_ms, in->lease_period_ms))
            return push(out, KS_PLAN_REQUEST_HANDOFF, c, false);
    }
    return KS_OK;
}

/* Rows of shards gone from the stream whose children have all started. */
static ks_err plan_deletes(plan_ctx *p)
{
    const ks_plan_input *in = p->in;
    if (in->n_explicit > 0 || in->n_shards == 0)
        return KS_OK; /* an empty listing is never trusted for deletion */
    for (size_t i = 0; i < in->n_rows; i++) {
        const ks_lease_row *r = &in->rows[i];
        if (shard_find(in, r->shard_id))
            continue;
        if (r->owner && (str_eq(r->owner, in->me) ||
                         !ks_lease_row_expired(in->obs, r, in->now_ms, in->lease_period_ms)))
            continue;
        bool all_started = true;
        for (size_t j = 0; j < in->n_shards && all_started; j++) {
            const ks_shard *s = &in->shards[j];
            if (str_eq(s->parent_shard_id, r->shard_id) ||
                str_eq(s->adjacent_parent_shard_id, r->shard_id))
                all_started = ks_lease_row_started(row_find(in, s->shard_id));
        }
        for (size_t j = 0; j < in->n_rows && all_started; j++)
            for (size_t k = 0; k < in->rows[j].n_parents; k++)
                if (str_eq(in->rows[j].parents[k], r->shard_id))
                    all_started = all_started && ks_lease_row_started(&in->rows[j]);
        if (!all_started)
            continue;
        cand c = {r->shard_id, r, NULL};
        ks_err err = push(p->out, KS_PLAN_DELETE_ROW, &c, false);
        if (err)
            return err;
    }
    return KS_OK;
}

ks_err ks_plan(const ks_plan_input *in, ks_plan_result *out)
{
    memset(out, 0, sizeof(*out));
    plan_ctx p = {.in = in, .out = out};
    peer *peers = NULL;
    ks_err err = build_claimable(&p);
    if (err)
        goto out;
    peers = calloc(in->n_rows ? in->n_rows : 1, sizeof(*peers));
    if (!peers) {
        err = KS_ERR_NOMEM;
        goto out;
    }
    size_t n_peers = 0;
    for (size_t i = 0; i < in->n_rows; i++) {
        const ks_lease_row *r = &in->rows[i];
        if (!r->owner || str_eq(r->owner, in->me) ||
            ks_lease_row_expired(in->obs, r, in->now_ms, in->lease_period_ms))
            continue;
        peer_index(peers, &n_peers, r->owner);
    }
    out->standby_ok = true;
    for (size_t k = 0; k < p.n_claimable; k++) {
        const cand *c = &p.claimable[k];
        if (is_held(in, c->shard_id)) {
            out->mine++;
            continue;
        }
        const ks_lease_row *r = c->row;
        if (r && r->owner && !str_eq(r->owner, in->me) &&
            !ks_lease_row_expired(in->obs, r, in->now_ms, in->lease_period_ms)) {
            peers[peer_index(peers, &n_peers, r->owner)].load++;
            continue;
        }
        out->standby_ok = false;
    }
    out->claimable = p.n_claimable;
    out->live_clients = n_peers + 1;
    out->target = (p.n_claimable + out->live_clients - 1) / out->live_clients;
    if ((err = plan_claims(&p, peers, n_peers)))
        goto out;
    err = plan_deletes(&p);
out:
    free(peers);
    free(p.claimable);
    if (err)
        ks_plan_result_clean_up(out);
    return err;
}

void ks_plan_result_clean_up(ks_plan_result *r)
{
    if (!r)
        return;
    free(r->actions);
    memset(r, 0, sizeof(*r));
}

const char *ks_plan_kind_str(ks_plan_kind k)
{
    switch (k) {
    case KS_PLAN_CLAIM:
        return "claim";
    case KS_PLAN_TAKE_EXPIRED:
        return "take_expired";
    case KS_PLAN_REQUEST_HANDOFF:
        return "request_handoff";
    case KS_PLAN_FORCE_TAKE:
        return "force_take";
    case KS_PLAN_DELETE_ROW:
        return "delete_row";
    }
    return "unknown";
}
