/* The chain's caching logic with fake sources and a fake clock (queued gets, refresh
 * ahead of expiry, failed refresh keeping the old credentials, rate-limited invalidation,
 * destroy), and source selection with the real static/env/profile sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aws/creds_provider.h"
#include "aws/creds_testutil.h"
#include "core/log.h"
#include "core/testutil.h"
#include "http/testserver.h"

#define DEADLINE_MS 5000
#define T0_WALL 1795685913000LL
#define MIN_MS 60000LL

/* ---- fake source ---- */

typedef struct fake_state {
    const char *name;
    int not_configured;       /* fetch returns KS_ERR_NOT_FOUND */
    int async_not_configured; /* cb(KS_ERR_NOT_FOUND) */
    int sync;                 /* answer inside fetch with sync_err */
    ks_err sync_err;
    int64_t lifetime_ms; /* 0 = no expiry */
    const ks_clock *clock;
    int fetches;
    int cancels;
    int destroyed;
    int issued; /* credentials handed out: AKID<issued> */
    ks_creds_provider_cb cb;
    void *ud;
} fake_state;

typedef struct fake_provider {
    ks_creds_provider base;
    ks_creds_provider_vtable vt;
    fake_state *st;
} fake_provider;

static void fake_answer(fake_state *st, ks_err err)
{
    ks_aws_creds c = {0};
    char id[32], secret[32];
    if (err == KS_OK) {
        st->issued++;
        snprintf(id, sizeof(id), "AKID%d", st->issued);
        snprintf(secret, sizeof(secret), "SECRET%d", st->issued);
        int64_t exp = st->lifetime_ms ? ks_clock_wall_ms(st->clock) + st->lifetime_ms : 0;
        assert_int_equal(ks_creds_set(&c, id, secret, "TOKEN", exp), KS_OK);
    }
    ks_creds_provider_cb cb = st->cb;
    st->cb = NULL;
    assert_non_null(cb);
    cb(st->ud, err, err == KS_OK ? &c : NULL);
    ks_aws_creds_clean_up(&c);
}

static ks_err fake_fetch(ks_creds_provider *p, ks_creds_provider_cb cb, void *ud)
{
    fake_state *st = ((fake_provider *)p)->st;
    st->fetches++;
    if (st->not_configured)
        return KS_ERR_NOT_FOUND;
    assert_null(st->cb); /* one fetch at a time */
    st->cb = cb;
    st->ud = ud;
    if (st->async_not_configured)
        fake_answer(st, KS_ERR_NOT_FOUND);
    else if (st->sync)
        fake_answer(st, st->sync_err);
    return KS_OK;
}

static void fake_cancel(ks_creds_provider *p)
{
    fake_state *st = ((fake_provider *)p)->st;
    if (st->cb) {
        st->cancels++;
        fake_answer(st, KS_ERR_CANCELLED);
    }
}

static void fake_destroy(ks_creds_provider *p)
{
    fake_provider *fp = (fake_provider *)p;
    fp->st->destroyed++;
    free(fp);
}

static ks_creds_provider *fake_new(fake_state *st)
{
    fake_provider *fp = calloc(1, sizeof(*fp));
    assert_non_null(fp);
    fp->vt = (ks_creds_provider_vtable){st->name, fake_fetch, fake_cancel, fake_destroy};
    fp->base.vt = &fp->vt;
    fp->st = st;
    return &fp->base;
}

/* ---- callbacks ---- */

typedef struct got {
    int calls;
    ks_err err;
    char akid[32];
    char secret[32];
} got;

static void on_creds(void *ud, ks_err err, const ks_aws_creds *creds)
{
    got *g = ud;
    g->calls++;
    g->err = err;
    g->akid[0] = g->secret[0] = '\0';
    if (err == KS_OK) {
        assert_non_null(creds);
        snprintf(g->akid, sizeof(g->akid), "%s", creds->access_key_id);
        snprintf(g->secret, sizeof(g->secret), "%s", creds->secret_access_key);
    } else {
        assert_null(creds);
    }
}

/* ---- fixture ---- */

typedef struct fixture {
    uv_loop_t loop;
    ks_fake_clock clock;
    ks_creds_chain *chain;
    ks_test_log log;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    ks_fake_clock_init(&f->clock, 1000000, T0_WALL);
    ks_test_log_capture(&f->log, KS_LOG_DEBUG);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ks_creds_chain_destroy(f->chain);
    assert_int_equal(ks_test_loop_drain(&f->loop), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    ks_test_log_release(&f->log);
    free(f);
    return 0;
}

static void new_chain(fixture *f, fake_state **st, size_t n)
{
    ks_creds_provider *p[4];
    for (size_t i = 0; i < n; i++) {
        st[i]->clock = &f->clock.clock;
        p[i] = fake_new(st[i]);
    }
    ks_creds_chain_options o = {.loop = &f->loop, .clock = &f->clock.clock};
    assert_int_equal(ks_creds_chain_new_with(&o, p, n, &f->chain), KS_OK);
}

/* ---- tests ---- */

static void test_concurrent_gets_queued(void **state)
{
    fixture *f = *state;
    fake_state a = {.name = "fake", .lifetime_ms = 60 * MIN_MS};
    fake_state *sts[] = {&a};
    new_chain(f, sts, 1);
    got g[3] = {0};
    for (int i = 0; i < 3; i++)
        ks_creds_chain_get(f->chain, on_creds, &g[i]);
    assert_int_equal(a.fetches, 1); /* one fetch for all three */
    assert_null(ks_creds_chain_source(f->chain));
    for (int i = 0; i < 3; i++)
        assert_int_equal(g[i].calls, 0);
    fake_answer(&a, KS_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].err, KS_OK);
        assert_string_equal(g[i].akid, "AKID1");
    }
    assert_string_equal(ks_creds_chain_source(f->chain), "fake");
    /* fresh: answered synchronously from the cache */
    got h = {0};
    ks_creds_chain_get(f->chain, on_creds, &h);
    assert_int_equal(h.calls, 1);
    assert_string_equal(h.akid, "AKID1");
    assert_int_equal(a.fetches, 1);
    /* the secret never reaches the log */
    assert_null(strstr(ks_test_log_text(&f->log), "SECRET1"));
    assert_non_null(strstr(ks_test_log_text(&f->log), "from fake"));
}

static void test_refresh_ahead_of_expiry(void **state)
{
    fixture *f = *state;
    fake_state a = {.name = "fake", .sync = 1, .lifetime_ms = 60 * MIN_MS};
    fake_state *sts[] = {&a};
    new_chain(f, sts, 1);
    got g = {0};
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_string_equal(g.akid, "AKID1");
    /* one hour: refresh 5 minutes before expiry */
    assert_int_equal(ks_creds_chain_next_refresh_ms(f->chain), T0_WALL + 55 * MIN_MS);
    ks_fake_clock_advance(&f->clock, 54 * MIN_MS);
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_int_equal(a.fetches, 1);
    assert_string_equal(g.akid, "AKID1");
    ks_fake_clock_advance(&f->clock, 2 * MIN_MS);
    a.sync = 0;
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_int_equal(g.calls, 3); /* still answered at once, from the cache */
    assert_string_equal(g.akid, "AKID1");
    assert_int_equal(a.fetches, 2); /* and a background refresh started */
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_int_equal(a.fetches, 2); /* not a second one */
    a.lifetime_ms = 10 * MIN_MS;
    fake_answer(&a, KS_OK);
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_string_equal(g.akid, "AKID2");
    /* short-lived (10 min): refresh at 80% of the lifetime */
    int64_t now = ks_clock_wall_ms(&f->clock.clock);
    assert_int_equal(ks_creds_chain_next_refresh_ms(f->chain), now + 8 * MIN_MS);
}

static int fetched_twice(void *ud)
{
    return ((fake_state *)ud)->fetches >= 2;
}

static void test_refresh_timer_fires(void **state)
{
    fixture *f = *state;
    /* 1.5 s of lifetime: the timer (not a get) must start the refresh after ~1.2 s */
    fake_state a = {.name = "fake", .sync = 1, .lifetime_ms = 1500 + 10000};
    fake_state *sts[] = {&a};
    new_chain(f, sts, 1);
    got g = {0};
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_int_equal(a.fetches, 1);
    int64_t planned = ks_creds_chain_next_refresh_ms(f->chain) - ks_clock_wall_ms(&f->clock.clock);
    /* usable until 10 s before expiry: the refresh comes before that */
    assert_true(planned >= 1000 && planned <= 1500);
    a.lifetime_ms = 60 * MIN_MS;
    /* real time passes but the fake clock does not: only the uv timer can fire */
    assert_true(ks_test_run_until(&f->loop, fetched_twice, &a, (uint64_t)planned + DEADLINE_MS));
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_string_equal(g.akid, "AKID2");
}

static void test_failed_refresh_keeps_old(void **state)
{
    fixture *f = *state;
    fake_state a = {.name = "fake", .sync = 1, .lifetime_ms = 60 * MIN_MS};
    fake_state *sts[] = {&a};
    new_chain(f, sts, 1);
    got g = {0};
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_string_equal(g.akid, "AKID1");
    ks_fake_clock_advance(&f->clock, 56 * MIN_MS);
    a.sync_err = KS_ERR_AWS_SERVER;
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_int_equal(a.fetches, 2);
    assert_int_equal(g.err, KS_OK);
    assert_string_equal(g.akid, "AKID1");
    assert_non_null(strstr(ks_test_log_text(&f->log), "keeping the cached credentials"));
    assert_non_null(strstr(ks_test_log_text(&f->log), "\"WARN\""));
    assert_null(strstr(ks_test_log_text(&f->log), "SECRET1"));
    /* a retry is planned (back-off), before the expiry */
    int64_t now = ks_clock_wall_ms(&f->clock.clock);
    int64_t next = ks_creds_chain_next_refresh_ms(f->chain);
    assert_true(next > now && next < T0_WALL + 60 * MIN_MS);
    /* gets before the retry time do not hammer the source */
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_int_equal(a.fetches, 2);
    assert_string_equal(g.akid, "AKID1");
    /* once expired, the old credentials are no longer handed out */
    ks_fake_clock_advance(&f->clock, 4 * MIN_MS);
    int calls = g.calls;
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_int_equal(g.calls, calls + 1);
    assert_int_equal(g.err, KS_ERR_AWS_SERVER);
    assert_int_equal(a.fetches, 3);
    /* and a later success recovers */
    a.sync_err = KS_OK;
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_int_equal(g.err, KS_OK);
    assert_string_equal(g.akid, "AKID2");
}

static void test_invalidate_rate_limited(void **state)
{
    fixture *f = *state;
    fake_state a = {.name = "fake", .sync = 1}; /* static-like: never expires */
    fake_state *sts[] = {&a};
    new_chain(f, sts, 1);
    got g = {0};
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_int_equal(ks_creds_chain_next_refresh_ms(f->chain), 0);
    ks_creds_chain_invalidate(f->chain);
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_int_equal(a.fetches, 2);
    assert_string_equal(g.akid, "AKID2");
    ks_creds_chain_invalidate(f->chain); /* too soon: ignored */
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_int_equal(a.fetches, 2);
    assert_string_equal(g.akid, "AKID2");
    ks_fake_clock_advance(&f->clock, 10001);
    ks_creds_chain_invalidate(f->chain);
    a.sync = 0;
    got q = {0};
    ks_creds_chain_get(f->chain, on_creds, &q);
    assert_int_equal(q.calls, 0); /* waits for the forced refresh */
    assert_int_equal(a.fetches, 3);
    fake_answer(&a, KS_OK);
    assert_int_equal(q.calls, 1);
    assert_string_equal(q.akid, "AKID3");
}

static void test_destroy_cancels_pending(void **state)
{
    fixture *f = *state;
    fake_state a = {.name = "fake", .lifetime_ms = 60 * MIN_MS};
    fake_state *sts[] = {&a};
    new_chain(f, sts, 1);
    got g[2] = {0};
    ks_creds_chain_get(f->chain, on_creds, &g[0]);
    ks_creds_chain_get(f->chain, on_creds, &g[1]);
    ks_creds_chain_destroy(f->chain);
    f->chain = NULL;
    assert_int_equal(a.cancels, 1);
    assert_int_equal(a.destroyed, 1);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].err, KS_ERR_CANCELLED);
    }
}

typedef struct destroyer {
    fixture *f;
    got g;
} destroyer;

static void on_creds_destroy(void *ud, ks_err err, const ks_aws_creds *creds)
{
    destroyer *d = ud;
    on_creds(&d->g, err, creds);
    ks_creds_chain_destroy(d->f->chain);
    d->f->chain = NULL;
}

static void test_destroy_inside_callback(void **state)
{
    fixture *f = *state;
    fake_state a = {.name = "fake", .lifetime_ms = 60 * MIN_MS};
    fake_state *sts[] = {&a};
    new_chain(f, sts, 1);
    destroyer d = {.f = f};
    got g2 = {0};
    ks_creds_chain_get(f->chain, on_creds_destroy, &d);
    ks_creds_chain_get(f->chain, on_creds, &g2);
    fake_answer(&a, KS_OK);
    assert_int_equal(d.g.calls, 1);
    assert_string_equal(d.g.akid, "AKID1");
    assert_int_equal(g2.calls, 1); /* answered exactly once */
    assert_null(f->chain);
    assert_int_equal(a.destroyed, 1);
    /* synchronous source, destroyed from the synchronous answer */
    fake_state b = {.name = "sync", .sync = 1};
    fake_state *sts2[] = {&b};
    new_chain(f, sts2, 1);
    memset(&d.g, 0, sizeof(d.g));
    ks_creds_chain_get(f->chain, on_creds_destroy, &d);
    assert_int_equal(d.g.calls, 1);
    assert_int_equal(b.destroyed, 1);
}

static void test_first_configured_source_answers(void **state)
{
    fixture *f = *state;
    fake_state a = {.name = "a", .not_configured = 1};
    fake_state b = {.name = "b", .async_not_configured = 1};
    fake_state c = {.name = "c", .sync = 1};
    fake_state d = {.name = "d", .sync = 1};
    fake_state *sts[] = {&a, &b, &c, &d};
    new_chain(f, sts, 4);
    got g = {0};
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_int_equal(g.err, KS_OK);
    assert_string_equal(ks_creds_chain_source(f->chain), "c");
    assert_int_equal(d.fetches, 0);
    /* a configured source that fails is the chain's answer: no fall-through */
    ks_creds_chain_destroy(f->chain);
    f->chain = NULL;
    fake_state e = {.name = "e", .sync = 1, .sync_err = KS_ERR_AWS_ACCESS_DENIED};
    fake_state h = {.name = "h", .sync = 1};
    fake_state *sts2[] = {&a, &e, &h};
    new_chain(f, sts2, 3);
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_int_equal(g.err, KS_ERR_AWS_ACCESS_DENIED);
    assert_int_equal(h.fetches, 0);
    assert_null(ks_creds_chain_source(f->chain));
    /* nothing configured at all */
    ks_creds_chain_destroy(f->chain);
    f->chain = NULL;
    fake_state *sts3[] = {&a, &b};
    new_chain(f, sts3, 2);
    ks_creds_chain_get(f->chain, on_creds, &g);
    assert_int_equal(g.err, KS_ERR_NOT_FOUND);
}

/* ---- real sources: static, env, profile ---- */

static void clear_env(void)
{
    ks_test_creds_env_clear();
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1); /* no IMDS probe from these tests */
}

static int got_answer(void *ud)
{
    return ((got *)ud)->calls > 0;
}

static void real_chain(fixture *f, const ks_credentials_config *cfg, got *g)
{
    ks_creds_chain_options o = {.loop = &f->loop, .clock = &f->clock.clock, .config = cfg};
    assert_int_equal(ks_creds_chain_new(&o, &f->chain), KS_OK);
    memset(g, 0, sizeof(*g));
    ks_creds_chain_get(f->chain, on_creds, g);
    assert_true(ks_test_run_until(&f->loop, got_answer, g, DEADLINE_MS));
}

static void test_static_and_env_precedence(void **state)
{
    fixture *f = *state;
    clear_env();
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    ks_credentials_config cfg = {.id = "AKIDSTATIC", .secret = "staticsecret"};
    got g;
    real_chain(f, &cfg, &g); /* explicit configuration wins over the environment */
    assert_int_equal(g.err, KS_OK);
    assert_string_equal(g.akid, "AKIDSTATIC");
    assert_string_equal(ks_creds_chain_source(f->chain), "static");
    ks_creds_chain_destroy(f->chain);

    ks_credentials_config empty = {0};
    setenv("AWS_SESSION_TOKEN", "envtoken", 1);
    real_chain(f, &empty, &g);
    assert_int_equal(g.err, KS_OK);
    assert_string_equal(g.akid, "AKIDENV");
    assert_string_equal(g.secret, "envsecret");
    assert_string_equal(ks_creds_chain_source(f->chain), "env");
    ks_creds_chain_destroy(f->chain);

    /* half-set environment: an error, not a silent fall-through to later sources */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    real_chain(f, &empty, &g);
    assert_int_equal(g.err, KS_ERR_INVALID);
    ks_creds_chain_destroy(f->chain);

    /* nothing anywhere (IMDS disabled, no HOME files) */
    unsetenv("AWS_ACCESS_KEY_ID");
    real_chain(f, &empty, &g);
    assert_int_equal(g.err, KS_ERR_NOT_FOUND);
    ks_creds_chain_destroy(f->chain);
    f->chain = NULL;

    /* id without secret in the configuration is refused at construction */
    ks_credentials_config half = {.id = "AKID"};
    ks_creds_chain_options o = {.loop = &f->loop, .config = &half};
    ks_creds_chain *c = NULL;
    assert_int_equal(ks_creds_chain_new(&o, &c), KS_ERR_INVALID);
    assert_null(c);
    clear_env();
}

static void test_profile_files(void **state)
{
    fixture *f = *state;
    clear_env();
    char dir[] = "/tmp/ks-creds-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cpath[128], gpath[128];
    snprintf(cpath, sizeof(cpath), "%s/credentials", dir);
    snprintf(gpath, sizeof(gpath), "%s/config", dir);
    ks_test_write_file(cpath, "[default]\naws_access_key_id=AKIDDEF\naws_secret_access_key=def\n"
                              "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = dev\n");
    ks_test_write_file(gpath,
                       "[profile ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = ops\n"
                       "[profile sso]\nsso_start_url = https://x\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", cpath, 1);
    setenv("AWS_CONFIG_FILE", gpath, 1);
    ks_credentials_config empty = {0};
    got g;
    real_chain(f, &empty, &g);
    assert_int_equal(g.err, KS_OK);
    assert_string_equal(g.akid, "AKIDDEF");
    assert_string_equal(ks_creds_chain_source(f->chain), "profile");
    ks_creds_chain_destroy(f->chain);

    setenv("AWS_PROFILE", "ops", 1);
    real_chain(f, &empty, &g);
    assert_string_equal(g.akid, "AKIDOPS");
    ks_creds_chain_destroy(f->chain);

    /* credentials.profile beats AWS_PROFILE and the environment keys */
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    ks_credentials_config prof = {.profile = "dev"};
    real_chain(f, &prof, &g);
    assert_string_equal(g.akid, "AKIDDEV");
    ks_creds_chain_destroy(f->chain);

    /* env keys beat the shared files in the default chain */
    real_chain(f, &empty, &g);
    assert_string_equal(g.akid, "AKIDENV");
    ks_creds_chain_destroy(f->chain);

    /* a named profile without keys is an error */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_PROFILE", "sso", 1);
    real_chain(f, &empty, &g);
    assert_int_equal(g.err, KS_ERR_INVALID);
    assert_non_null(strstr(ks_test_log_text(&f->log), "profile sso has no aws_access_key_id"));
    ks_creds_chain_destroy(f->chain);
    f->chain = NULL;

    unlink(cpath);
    unlink(gpath);
    rmdir(dir);
    clear_env();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent_gets_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_ahead_of_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_timer_fires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_refresh_keeps_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalidate_rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_cancels_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_inside_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_configured_source_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_and_env_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
