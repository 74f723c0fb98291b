/* The coordinator's entry points used by the consumer engine and the admin server. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "lease/lease_internal.h"

void ks_lease_checkpoint(ks_lease_coordinator *c, const char *stream, const char *shard_id,
                         const char *sequence)
{
    ks_held *h = ks_lease_find(c, stream, shard_id);
    if (h && sequence && h->phase != KS_HELD_ENDING)
        ks_lease_set_str(&h->checkpoint, sequence);
}

static bool add_waiter(ks_held *h, ks_lease_done_cb cb, void *ud)
{
    if (!cb)
        return true;
    ks_lease_waiter *w = calloc(1, sizeof(*w));
    if (!w)
        return false;
    w->cb = cb;
    w->ud = ud;
    ks_lease_waiter **pp = &h->waiters;
    while (*pp)
        pp = &(*pp)->next;
    *pp = w;
    return true;
}

/* The held lease, with cb queued on it; NULL when it is not held or the waiter cannot be
 * queued, after cb has been answered (KS_ERR_NOT_FOUND, KS_ERR_NOMEM). */
static ks_held *held_with_waiter(ks_lease_coordinator *c, const char *stream, const char *shard_id,
                                 ks_lease_done_cb cb, void *ud)
{
    ks_held *h = ks_lease_find(c, stream, shard_id);
    if (h && add_waiter(h, cb, ud))
        return h;
    if (cb)
        cb(ud, h ? KS_ERR_NOMEM : KS_ERR_NOT_FOUND);
    return NULL;
}

void ks_lease_commit_now(ks_lease_coordinator *c, const char *stream, const char *shard_id,
                         ks_lease_done_cb cb, void *ud)
{
    ks_held *h = held_with_waiter(c, stream, shard_id, cb, ud);
    if (!h)
        return;
    h->commit_now = true;
    h->next_try_ms = 0;
    ks_lease_kick(c, h);
}

void ks_lease_shard_end(ks_lease_coordinator *c, const char *stream, const char *shard_id)
{
    ks_held *h = ks_lease_find(c, stream, shard_id);
    if (!h)
        return;
    h->phase = KS_HELD_ENDING;
    h->next_try_ms = 0;
    ks_lease_kick(c, h);
    ks_lease_trigger_rebalance(c);
}

void ks_lease_release(ks_lease_coordinator *c, const char *stream, const char *shard_id,
                      ks_lease_done_cb cb, void *ud)
{
    ks_held *h = held_with_waiter(c, stream, shard_id, cb, ud);
    if (!h)
        return;
    if (h->phase == KS_HELD_ACTIVE)
        h->phase = KS_HELD_RELEASING;
    h->next_try_ms = 0;
    ks_lease_kick(c, h);
}

static void on_stop_timeout(uv_timer_t *t)
{
    ks_lease_coordinator *c = t->data;
    if (!c->stop_cb)
        return;
    ks_lease_done_cb cb = c->stop_cb;
    c->stop_cb = NULL;
    ks_log(KS_LOG_WARN, "release_all: %zu lease(s) not released in time", c->n_held);
    cb(c->stop_ud, KS_ERR_TIMEOUT);
}

void ks_lease_release_all(ks_lease_coordinator *c, uint64_t timeout_ms, ks_lease_done_cb cb,
                          void *ud)
{
    if (c->stop_cb) {
        if (cb)
            cb(ud, KS_ERR_AGAIN);
        return;
    }
    c->stopping = true;
    c->pending.active = false;
    c->stop_cb = cb;
    c->stop_ud = ud;
    ks_held *next;
    for (ks_held *h = c->held; h; h = next) {
        next = h->next;
        if (h->phase == KS_HELD_ACTIVE)
            h->phase = KS_HELD_RELEASING;
        h->next_try_ms = 0;
        ks_lease_kick(c, h);
    }
    if (c->stop_cb && c->n_held > 0)
        uv_timer_start(&c->stop_timer, on_stop_timeout, timeout_ms, 0);
    ks_lease_check_stopped(c);
}

void ks_lease_pause_claims(ks_lease_coordinator *c, bool paused)
{
    c->paused = paused;
}

bool ks_lease_dynamo_healthy(const ks_lease_coordinator *c)
{
    if (!c->ever_ok || !c->table_ready)
        return false;
    return ks_lease_now(c) - c->last_ok_ms < c->last_ok_window_ms;
}

size_t ks_lease_held(const ks_lease_coordinator *c)
{
    return c->n_held;
}

bool ks_lease_standby_ok(const ks_lease_coordinator *c)
{
    if (!c->table_ready)
        return false;
    for (size_t i = 0; i < c->n_streams; i++)
        if (!c->streams[i].standby_ok)
            return false;
    return true;
}

static void json_str_or_null(ks_buf *out, const char *s)
{
    if (s)
        ks_buf_append_json_str(out, s, strlen(s));
    else
        ks_buf_append_str(out, "null");
}

void ks_lease_status_json(const ks_lease_coordinator *c, ks_buf *out)
{
    uint64_t now = ks_lease_now(c);
    ks_buf_append_str(out, "{\"client_id\":");
    json_str_or_null(out, c->client_id);
    ks_buf_appendf(out, ",\"held\":%zu,\"dynamodb_healthy\":%s,\"standby_ok\":%s,\"leases\":[",
                   c->n_held, ks_lease_dynamo_healthy(c) ? "true" : "false",
                   ks_lease_standby_ok(c) ? "true" : "false");
    for (const ks_held *h = c->held; h; h = h->next) {
        ks_buf_append_str(out, h == c->held ? "{\"stream\":" : ",{\"stream\":");
        json_str_or_null(out, h->st->name);
        ks_buf_append_str(out, ",\"shard_id\":");
        json_str_or_null(out, h->shard_id);
        ks_buf_append_str(out, ",\"checkpoint\":");
        json_str_or_null(out, h->checkpoint ? h->checkpoint : h->committed);
        ks_buf_append_str(out, ",\"committed\":");
        json_str_or_null(out, h->committed);
        ks_buf_appendf(out,
                       ",\"last_commit_age_ms\":%llu,\"counter\":%lld,\"handoff_requested\":%s,"
                       "\"state\":\"%s\"}",
                       (unsigned long long)(now - h->last_commit_ms), (long long)h->counter,
                       h->handoff_seen ? "true" : "false",
                       h->phase == KS_HELD_ACTIVE      ? "active"
                       : h->phase == KS_HELD_RELEASING ? "releasing"
                                                       : "ending");
    }
    ks_buf_append_str(out, "]}");
}
