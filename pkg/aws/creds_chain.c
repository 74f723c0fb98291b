/* The credential chain: picks the first configured source (explicit configuration wins,
 * else the AWS SDK default order), caches its answer, refreshes ahead of expiry with a
 * uv timer, queues gets that arrive while nothing usable is cached, keeps the old
 * credentials when a refresh fails (until they expire), and rate-limits invalidation. */
#include <stdlib.h>
#include <string.h>

#include "aws/creds_provider.h"
#include "core/backoff.h"
#include "core/log.h"

#define KS_CREDS_MAX_PROVIDERS 8
#define KS_CREDS_REFRESH_AHEAD_MS (5 * 60 * 1000) /* refresh 5 min before expiry ... */
#define KS_CREDS_REFRESH_PCT 80                   /* ... or at 80% of a short lifetime */
#define KS_CREDS_EXPIRY_MARGIN_MS 10000           /* creds this close to expiry are unusable */
#define KS_CREDS_MIN_REFRESH_MS 1000
#define KS_CREDS_INVALIDATE_MIN_MS 10000 /* at most one forced refresh per 10 s */
#define KS_CREDS_RETRY_BASE_MS 2000
#define KS_CREDS_RETRY_MAX_MS 60000

typedef struct waiter {
    ks_creds_cb cb;
    void *ud;
    struct waiter *next;
} waiter;

struct ks_creds_chain {
    uv_timer_t timer; /* refresh timer; the chain is freed in its close callback */
    ks_creds_provider_ctx ctx;
    ks_tcp_opts tcp;
    char *region, *sts_endpoint, *imds_endpoint;
    ks_creds_provider *providers[KS_CREDS_MAX_PROVIDERS];
    size_t n_providers;
    size_t current; /* provider being asked */

    ks_aws_creds creds;
    int have_creds;
    const char *source;
    int64_t obtained_wall_ms;
    int64_t next_refresh_wall_ms; /* 0 = none planned */

    int fetching;
    int stale; /* invalidated: the next get waits for a refresh */
    int invalidated_before;
    uint64_t last_invalidate_mono_ms;
    ks_backoff retry;

    waiter *head;
    waiter **tail;
    int busy; /* callbacks running: defer freeing */
    int destroying;
    int freed;
};

static int usable(const ks_creds_chain *c, int64_t now)
{
    return c->have_creds && (c->creds.expires_wall_ms == 0 ||
                             c->creds.expires_wall_ms - KS_CREDS_EXPIRY_MARGIN_MS > now);
}

static void chain_free(ks_creds_chain *c);

static void leave(ks_creds_chain *c)
{
    if (--c->busy == 0 && c->destroying && !c->freed)
        chain_free(c);
}

/* Answers every queued get. Callbacks see a snapshot, so a nested refresh cannot free
 * the credentials under them. */
static void dispatch(ks_creds_chain *c, ks_err fail_err)
{
    waiter *w = c->head;
    c->head = NULL;
    c->tail = &c->head;
    if (!w)
        return;
    ks_aws_creds snap = {0};
    ks_err err = fail_err != KS_OK ? fail_err : KS_ERR_NOT_FOUND;
    if (usable(c, ks_clock_wall_ms(c->ctx.clock)))
        err = ks_aws_creds_copy(&c->creds, &snap);
    c->busy++;
    while (w) {
        waiter *next = w->next;
        w->cb(w->ud, err, err == KS_OK ? &snap : NULL);
        free(w);
        w = next;
    }
    ks_aws_creds_clean_up(&snap);
    leave(c);
}

static void on_timer(uv_timer_t *t);

static void plan_refresh(ks_creds_chain *c, int64_t at_wall_ms)
{
    int64_t now = ks_clock_wall_ms(c->ctx.clock);
    if (at_wall_ms < now + KS_CREDS_MIN_REFRESH_MS)
        at_wall_ms = now + KS_CREDS_MIN_REFRESH_MS;
    c->next_refresh_wall_ms = at_wall_ms;
    uv_timer_start(&c->timer, on_timer, (uint64_t)(at_wall_ms - now), 0);
}

static void start_fetch(ks_creds_chain *c);

static void on_timer(uv_timer_t *t)
{
    ks_creds_chain *c = (ks_creds_chain *)t;
    if (!c->fetching && !c->destroying)
        start_fetch(c);
}

static void store(ks_creds_chain *c, const ks_aws_creds *creds, const char *name)
{
    int64_t now = ks_clock_wall_ms(c->ctx.clock);
    int changed = !c->have_creds || c->source != name ||
                  strcmp(c->creds.access_key_id, creds->access_key_id) != 0;
    ks_aws_creds_clean_up(&c->creds);
    c->creds = *(const ks_aws_creds *)creds; /* moved in by the caller */
    c->have_creds = 1;
    c->source = name;
    c->obtained_wall_ms = now;
    c->stale = 0;
    ks_backoff_reset(&c->retry);
    char exp[25] = "never";
    if (creds->expires_wall_ms) {
        int64_t life = creds->expires_wall_ms - now;
        int64_t ahead = life - KS_CREDS_REFRESH_AHEAD_MS;
        int64_t pct = life * KS_CREDS_REFRESH_PCT / 100;
        int64_t at = now + (ahead > pct ? ahead : pct);
        if (at > creds->expires_wall_ms - KS_CREDS_EXPIRY_MARGIN_MS)
            at = creds->expires_wall_ms - KS_CREDS_EXPIRY_MARGIN_MS; /* before unusable */
        plan_refresh(c, at);
        ks_format_rfc3339_ms(creds->expires_wall_ms, exp);
    } else {
        c->next_refresh_wall_ms = 0;
        uv_timer_stop(&c->timer);
    }
    if (changed)
        KS_INFO("aws credentials from %s (access key %.4s..., expire %s)", name,
                c->creds.access_key_id, exp);
    else
        KS_DEBUG("aws credentials refreshed from %s (expire %s)", name, exp);
}

static void fetch_done(ks_creds_chain *c, ks_err err, const ks_aws_creds *creds)
{
    const char *name = c->current < c->n_providers ? c->providers[c->current]->vt->name : "chain";
    int64_t now = ks_clock_wall_ms(c->ctx.clock);
    c->fetching = 0;
    if (err == KS_OK && !creds)
        err = KS_ERR_INVALID;
    if (err == KS_OK && creds && creds->expires_wall_ms &&
        creds->expires_wall_ms - KS_CREDS_EXPIRY_MARGIN_MS <= now) {
        KS_WARN("aws credentials from %s are already expired", name);
        err = KS_ERR_AWS_ACCESS_DENIED;
    }
    if (err == KS_OK) {
        ks_aws_creds copy;
        err = ks_aws_creds_copy(creds, &copy);
        if (err == KS_OK)
            store(c, &copy, name);
    }
    if (err != KS_OK) {
        c->stale = 0; /* tried: do not hammer the source on every get */
        if (usable(c, now)) {
            char exp[25] = "never";
            if (c->creds.expires_wall_ms)
                ks_format_rfc3339_ms(c->creds.expires_wall_ms, exp);
            KS_WARN("aws credential refresh from %s failed (%s); keeping the cached "
                    "credentials until they expire at %s",
                    name, ks_err_str(err), exp);
            int64_t at = now + (int64_t)ks_backoff_next(&c->retry, ks_rand32());
            if (c->creds.expires_wall_ms && at > c->creds.expires_wall_ms)
                at = c->creds.expires_wall_ms - KS_CREDS_EXPIRY_MARGIN_MS;
            plan_refresh(c, at);
        } else {
            KS_WARN("no aws credentials: %s failed (%s)", name, ks_err_str(err));
            c->next_refresh_wall_ms = 0;
            uv_timer_stop(&c->timer);
        }
    }
    dispatch(c, err);
}

static void try_from(ks_creds_chain *c);

static void on_fetched(void *ud, ks_err err, const ks_aws_creds *creds)
{
    ks_creds_chain *c = ud;
    if (c->destroying) {
        c->fetching = 0;
        return;
    }
    if (err == KS_ERR_NOT_FOUND) {
        c->current++; /* not configured after all: ask the next source */
        try_from(c);
        return;
    }
    fetch_done(c, err, creds);
}

static void start_fetch(ks_creds_chain *c)
{
    c->fetching = 1;
    c->current = 0;
    try_from(c);
}

static void try_from(ks_creds_chain *c)
{
    for (; c->current < c->n_providers; c->current++) {
        ks_creds_provider *p = c->providers[c->current];
        ks_err err = p->vt->fetch(p, on_fetched, c);
        if (err == KS_ERR_NOT_FOUND)
            continue;
        if (err != KS_OK)
            fetch_done(c, err, NULL);
        return; /* the first configured source answers for the chain */
    }
    KS_WARN("no aws credentials source is configured (static, env, web identity, profile, "
            "container, ec2 metadata)");
    fetch_done(c, KS_ERR_NOT_FOUND, NULL);
}

void ks_creds_chain_get(ks_creds_chain *c, ks_creds_cb cb, void *ud)
{
    if (!c || c->destroying) {
        cb(ud, KS_ERR_CANCELLED, NULL);
        return;
    }
    int64_t now = ks_clock_wall_ms(c->ctx.clock);
    if (!c->stale && usable(c, now)) {
        if (!c->fetching && c->next_refresh_wall_ms && now >= c->next_refresh_wall_ms)
            start_fetch(c); /* refresh in the background; answer from the cache now */
        ks_aws_creds snap;
        ks_err err = ks_aws_creds_copy(&c->creds, &snap);
        c->busy++;
        cb(ud, err, err == KS_OK ? &snap : NULL);
        ks_aws_creds_clean_up(&snap);
        leave(c);
        return;
    }
    waiter *w = calloc(1, sizeof(*w));
    if (!w) {
        cb(ud, KS_ERR_NOMEM, NULL);
        return;
    }
    w->cb = cb;
    w->ud = ud;
    *c->tail = w;
    c->tail = &w->next;
    if (!c->fetching)
        start_fetch(c);
}

void ks_creds_chain_invalidate(ks_creds_chain *c)
{
    if (!c || c->destroying)
        return;
    uint64_t now = ks_clock_mono_ms(c->ctx.clock);
    if (c->invalidated_before && now - c->last_invalidate_mono_ms < KS_CREDS_INVALIDATE_MIN_MS) {
        KS_DEBUG("aws credentials invalidation ignored (rate-limited)");
        return;
    }
    c->invalidated_before = 1;
    c->last_invalidate_mono_ms = now;
    c->stale = 1;
    KS_INFO("aws credentials invalidated; refreshing from %s on next use",
            c->source ? c->source : "the chain");
}

const char *ks_creds_chain_source(const ks_creds_chain *c)
{
    return c && c->have_creds ? c->source : NULL;
}

int64_t ks_creds_chain_next_refresh_ms(const ks_creds_chain *c)
{
    return c ? c->next_refresh_wall_ms : 0;
}

static void on_close(uv_handle_t *h)
{
    ks_creds_chain *c = (ks_creds_chain *)h;
    free(c->region);
    free(c->sts_endpoint);
    free(c->imds_endpoint);
    free(c);
}

static void chain_free(ks_creds_chain *c)
{
    c->freed = 1;
    for (size_t i = 0; i < c->n_providers; i++)
        c->providers[i]->vt->destroy(c->providers[i]);
    ks_aws_creds_clean_up(&c->creds);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_close);
}

void ks_creds_chain_destroy(ks_creds_chain *c)
{
    if (!c || c->destroying)
        return;
    c->destroying = 1;
    if (c->fetching && c->current < c->n_providers)
        c->providers[c->current]->vt->cancel(c->providers[c->current]);
    c->fetching = 0;
    c->busy++;
    dispatch(c, KS_ERR_CANCELLED);
    c->have_creds = 0;
    leave(c);
}

/* ---- construction ---- */

static ks_err chain_alloc(const ks_creds_chain_options *opts, ks_creds_chain **out)
{
    if (!opts || !opts->loop)
        return KS_ERR_INVALID;
    ks_creds_chain *c = calloc(1, sizeof(*c));
    if (!c)
        return KS_ERR_NOMEM;
    c->tail = &c->head;
    c->region = ks_strdup(opts->region);
    c->sts_endpoint = ks_strdup(opts->sts_endpoint);
    c->imds_endpoint = ks_strdup(opts->imds_endpoint);
    if ((opts->region && !c->region) || (opts->sts_endpoint && !c->sts_endpoint) ||
        (opts->imds_endpoint && !c->imds_endpoint)) {
        on_close((uv_handle_t *)c);
        return KS_ERR_NOMEM;
    }
    if (opts->tcp)
        c->tcp = *opts->tcp;
    c->ctx = (ks_creds_provider_ctx){
        .loop = opts->loop,
        .http = opts->http,
        .clock = opts->clock ? opts->clock : ks_clock_system(),
        .tcp = opts->tcp ? &c->tcp : NULL,
        .region = c->region,
        .sts_endpoint = c->sts_endpoint,
        .imds_endpoint = c->imds_endpoint,
    };
    ks_backoff_init(&c->retry, KS_CREDS_RETRY_BASE_MS, KS_CREDS_RETRY_MAX_MS);
    uv_timer_init(opts->loop, &c->timer);
    uv_unref((uv_handle_t *)&c->timer); /* a planned refresh alone keeps no loop alive */
    *out = c;
    return KS_OK;
}

ks_err ks_creds_chain_new_with(const ks_creds_chain_options *opts, ks_creds_provider **providers,
                               size_t n, ks_creds_chain **out)
{
    ks_creds_chain *c = NULL;
    ks_err err = n > KS_CREDS_MAX_PROVIDERS ? KS_ERR_INVALID : chain_alloc(opts, &c);
    if (err != KS_OK) {
        for (size_t i = 0; i < n; i++)
            providers[i]->vt->destroy(providers[i]);
        return err;
    }
    for (size_t i = 0; i < n; i++)
        c->providers[c->n_providers++] = providers[i];
    *out = c;
    return KS_OK;
}

static int set(const char *s)
{
    return s && *s;
}

ks_err ks_creds_chain_new(const ks_creds_chain_options *opts, ks_creds_chain **out)
{
    ks_creds_chain *c = NULL;
    ks_err err = chain_alloc(opts, &c);
    if (err != KS_OK)
        return err;
    static const ks_credentials_config empty = {0};
    const ks_credentials_config *cfg = opts->config ? opts->config : &empty;
    ks_creds_provider **p = c->providers;
    const ks_creds_provider_ctx *ctx = &c->ctx;
    if (set(cfg->role)) {
        err = ks_creds_assume_role_new(ctx, opts, cfg, &p[c->n_providers++]);
    } else if (set(cfg->id) || set(cfg->secret)) {
        err = ks_creds_static_new(ctx, cfg, &p[c->n_providers++]);
        if (err == KS_ERR_INVALID)
            KS_ERROR("credentials: id and secret must be set together");
    } else if (set(cfg->profile)) {
        err = ks_creds_profile_new(ctx, cfg->profile, &p[c->n_providers++]);
    } else if (cfg->from_ec2_role) {
        err = ks_creds_imds_new(ctx, 1, &p[c->n_providers++]);
    } else {
        err = ks_creds_env_new(ctx, &p[c->n_providers++]);
        if (err == KS_OK)
            err = ks_creds_web_identity_new(ctx, &p[c->n_providers++]);
        if (err == KS_OK)
            err = ks_creds_profile_new(ctx, NULL, &p[c->n_providers++]);
        if (err == KS_OK)
            err = ks_creds_container_new(ctx, &p[c->n_providers++]);
        if (err == KS_OK)
            err = ks_creds_imds_new(ctx, 0, &p[c->n_providers++]);
    }
    if (err != KS_OK) {
        c->n_providers--; /* the failed constructor left no provider */
        c->destroying = 1;
        chain_free(c);
        return err;
    }
    *out = c;
    return KS_OK;
}
