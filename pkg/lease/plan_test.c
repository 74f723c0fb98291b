#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"
#include "lease/plan.h"

#define LEASE 30000u
#define COMMIT 5000u
#define GRACE 2000u

/* A test fixture: a stream's shards and rows, my observations on a fake clock. */
typedef struct fx {
    ks_fake_clock clock;
    ks_lease_observer obs;
    ks_shard shards[16];
    size_t n_shards;
    ks_lease_row rows[16];
    size_t n_rows;
    const char *held[16];
    size_t n_held;
    ks_plan_input in;
    ks_plan_result res;
    uint64_t commit_ms; /* commit_period for plan(); 0 = COMMIT */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    ks_fake_clock_init(&f->clock, 1000000, 1700000000000);
    ks_lease_observer_init(&f->obs);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ks_plan_result_clean_up(&f->res);
    ks_lease_observer_clean_up(&f->obs);
    free(f);
    return 0;
}

static ks_shard *shard(fx *f, const char *id, const char *parent, const char *adjacent, bool closed)
{
    ks_shard *s = &f->shards[f->n_shards++];
    *s = (ks_shard){.shard_id = id,
                    .parent_shard_id = parent,
                    .adjacent_parent_shard_id = adjacent,
                    .starting_sequence = "1",
                    .ending_sequence = closed ? "999" : NULL};
    return s;
}

static ks_lease_row *row(fx *f, const char *id, const char *owner, int64_t counter, const char *seq)
{
    ks_lease_row *r = &f->rows[f->n_rows++];
    *r = (ks_lease_row){.shard_id = id,
                        .owner = owner,
                        .counter = counter,
                        .has_counter = true,
                        .lease_timeout = owner ? "2026-01-01T00:00:00.000Z" : NULL,
                        .sequence = seq};
    return r;
}

/* Observes the rows now (as the coordinator does after each Query) and plans. */
static void plan(fx *f)
{
    ks_plan_result_clean_up(&f->res);
    uint64_t now = ks_clock_mono_ms(&f->clock.clock);
    assert_int_equal(ks_lease_observer_update(&f->obs, f->rows, f->n_rows, now), KS_OK);
    f->in.me = "me";
    f->in.rows = f->rows;
    f->in.n_rows = f->n_rows;
    f->in.shards = f->shards;
    f->in.n_shards = f->n_shards;
    f->in.held = f->held;
    f->in.n_held = f->n_held;
    f->in.obs = &f->obs;
    f->in.now_ms = now;
    f->in.lease_period_ms = LEASE;
    f->in.commit_period_ms = f->commit_ms ? f->commit_ms : COMMIT;
    f->in.steal_grace_period_ms = GRACE;
    if (f->in.max_claims == 0)
        f->in.max_claims = 100;
    assert_int_equal(ks_plan(&f->in, &f->res), KS_OK);
}

static size_t count_kind(const fx *f, ks_plan_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < f->res.n_actions; i++)
        n += f->res.actions[i].kind == k;
    return n;
}

static const ks_plan_action *find_action(const fx *f, const char *shard_id)
{
    for (size_t i = 0; i < f->res.n_actions; i++)
        if (strcmp(f->res.actions[i].shard_id, shard_id) == 0)
            return &f->res.actions[i];
    return NULL;
}

static void four_open(fx *f)
{
    shard(f, "s0", NULL, NULL, false);
    shard(f, "s1", NULL, NULL, false);
    shard(f, "s2", NULL, NULL, false);
    shard(f, "s3", NULL, NULL, false);
}

static void test_alone_claims_everything_up_to_cap(void **state)
{
    fx *f = *state;
    four_open(f);
    f->in.max_claims = 3;
    f->in.may_request_handoff = true;
    plan(f);
    assert_int_equal(f->res.claimable, 4);
    assert_int_equal(f->res.live_clients, 1);
    assert_int_equal(f->res.target, 4);
    assert_int_equal(f->res.claims, 3);
    assert_int_equal(count_kind(f, KS_PLAN_CLAIM), 3);
    assert_int_equal(count_kind(f, KS_PLAN_REQUEST_HANDOFF), 0); /* nobody to ask */
    assert_false(f->res.standby_ok);
    for (size_t i = 0; i < f->res.n_actions; i++) {
        assert_null(f->res.actions[i].row); /* new rows */
        assert_non_null(f->res.actions[i].shard);
        assert_false(f->res.actions[i].is_child);
    }
}

static void test_target_is_ceil_over_live_clients(void **state)
{
    fx *f = *state;
    four_open(f);
    shard(f, "s4", NULL, NULL, false);
    row(f, "s0", "B", 7, "100");
    row(f, "s1", "C", 3, NULL);
    plan(f);
    /* 5 claimable, me + B + C live -> target 2; two free shards claimed. */
    assert_int_equal(f->res.live_clients, 3);
    assert_int_equal(f->res.target, 2);
    assert_int_equal(f->res.claims, 2);
    assert_null(find_action(f, "s0"));
    assert_null(find_action(f, "s1"));
}

static void test_held_count_toward_target(void **state)
{
    fx *f = *state;
    four_open(f);
    row(f, "s0", "me", 2, NULL);
    row(f, "s1", "me", 2, NULL);
    row(f, "s2", "B", 2, NULL);
    f->held[f->n_held++] = "s0";
    f->held[f->n_held++] = "s1";
    plan(f);
    assert_int_equal(f->res.mine, 2);
    assert_int_equal(f->res.target, 2);
    assert_int_equal(f->res.n_actions, 0); /* balanced: s3 stays for B's next cycle */
    assert_false(f->res.standby_ok);
}

static void test_free_before_expired_and_cap(void **state)
{
    fx *f = *state;
    four_open(f);
    row(f, "s0", "B", 5, NULL);
    row(f, "s1", "dead", 9, "100");
    row(f, "s2", NULL, 4, "200"); /* released: free */
    plan(f);
    /* Nothing expired yet: dead counts as live. 4 / 3 -> target 2. */
    assert_int_equal(f->res.live_clients, 3);
    assert_int_equal(count_kind(f, KS_PLAN_TAKE_EXPIRED), 0);
    assert_int_equal(f->res.claims, 2);
    /* lease_period later B renewed, "dead" did not. */
    ks_fake_clock_advance(&f->clock, LEASE);
    f->rows[0].counter = 6;
    f->in.max_claims = 1;
    plan(f);
    assert_int_equal(f->res.live_clients, 2);
    assert_int_equal(f->res.target, 2);
    assert_int_equal(f->res.claims, 1);
    assert_int_equal(count_kind(f, KS_PLAN_CLAIM), 1); /* a free one first */
    assert_int_equal(f->res.actions[0].kind, KS_PLAN_CLAIM);
    assert_string_not_equal(f->res.actions[0].shard_id, "s1");
    f->in.max_claims = 3;
    plan(f);
    assert_int_equal(f->res.claims, 2);
    const ks_plan_action *a = find_action(f, "s1");
    assert_null(a); /* target 2 reached with free shards s2, s3 */
    /* I hold s2 and B took s3: no free shard left, the expired one is taken. */
    f->held[f->n_held++] = "s2";
    f->rows[0].counter = 7;
    row(f, "s3", "B", 1, NULL);
    plan(f);
    assert_int_equal(f->res.mine, 1);
    assert_int_equal(f->res.target, 2);
    assert_int_equal(f->res.n_actions, 1);
    a = find_action(f, "s1");
    assert_non_null(a);
    assert_int_equal(a->kind, KS_PLAN_TAKE_EXPIRED);
    assert_ptr_equal(a->row, &f->rows[1]);
    /* At target, an expired shard is left to the peer below target. */
    f->rows[3].owner = "me";
    f->held[f->n_held++] = "s3";
    plan(f);
    assert_int_equal(f->res.mine, 2);
    assert_null(find_action(f, "s1"));
}

static void test_expiry_on_monotonic_observation(void **state)
{
    fx *f = *state;
    ks_lease_row *r = row(f, "s0", "B", 1, NULL);
    uint64_t t0 = ks_clock_mono_ms(&f->clock.clock);
    assert_int_equal(ks_lease_observer_update(&f->obs, f->rows, 1, t0), KS_OK);
    assert_false(ks_lease_row_expired(&f->obs, r, t0, LEASE)); /* first sighting = now */
    assert_false(ks_lease_row_expired(&f->obs, r, t0 + LEASE - 1, LEASE));
    assert_true(ks_lease_row_expired(&f->obs, r, t0 + LEASE, LEASE));
    /* A counter bump seen later restarts the period from that observation. */
    r->counter = 2;
    assert_int_equal(ks_lease_observer_update(&f->obs, f->rows, 1, t0 + LEASE + 5), KS_OK);
    assert_false(ks_lease_row_expired(&f->obs, r, t0 + LEASE + 5, LEASE));
    assert_int_equal(ks_lease_observer_age(&f->obs, "s0", t0 + LEASE + 10), 5);
    /* An owner change with the same counter is a change too. */
    r->owner = "C";
    assert_int_equal(ks_lease_observer_update(&f->obs, f->rows, 1, t0 + 2 * LEASE + 5), KS_OK);
    assert_false(ks_lease_row_expired(&f->obs, r, t0 + 2 * LEASE + 5, LEASE));
    /* Free rows never expire; vanished rows are forgotten. */
    r->owner = NULL;
    assert_false(ks_lease_row_expired(&f->obs, r, t0 + 10 * LEASE, LEASE));
    assert_int_equal(ks_lease_observer_update(&f->obs, f->rows, 0, t0), KS_OK);
    assert_int_equal(f->obs.len, 0);
    assert_int_equal(ks_lease_observer_age(&f->obs, "s0", t0 + 1), 0);
}

static void test_redpanda_rows(void **state)
{
    fx *f = *state;
    shard(f, "s0", NULL, NULL, false);
    shard(f, "s1", NULL, NULL, false);
    /* Written by Redpanda Connect: no LeaseCounter; one owned (live, rewriting its
     * LeaseTimeout), one released with a checkpoint. */
    ks_lease_row *owned = row(f, "s0", "rp-uuid", 0, "4963000000000000000001");
    owned->has_counter = false;
    owned->lease_timeout = "2026-01-01T00:00:30.000000000Z";
    ks_lease_row *freed = row(f, "s1", NULL, 0, "4963000000000000000002");
    freed->has_counter = false;
    plan(f);
    assert_int_equal(f->res.live_clients, 2);
    assert_int_equal(f->res.target, 1);
    const ks_plan_action *a = find_action(f, "s1");
    assert_non_null(a);
    assert_int_equal(a->kind, KS_PLAN_CLAIM);
    assert_string_equal(a->row->sequence, "4963000000000000000002");
    f->held[f->n_held++] = "s1";
    /* The Redpanda owner keeps rewriting LeaseTimeout: alive. */
    ks_fake_clock_advance(&f->clock, LEASE);
    owned->lease_timeout = "2026-01-01T00:01:00.000000000Z";
    plan(f);
    assert_int_equal(f->res.n_actions, 0);
    assert_true(f->res.standby_ok);
    /* It stops: expired after lease_period of my observation, taken by counter 0. */
    ks_fake_clock_advance(&f->clock, LEASE);
    plan(f);
    assert_int_equal(f->res.live_clients, 1);
    a = find_action(f, "s0");
    assert_non_null(a);
    assert_int_equal(a->kind, KS_PLAN_TAKE_EXPIRED);
    assert_false(a->row->has_counter);
}

static void test_parents_before_children_split(void **state)
{
    fx *f = *state;
    shard(f, "p", NULL, NULL, true);
    shard(f, "c1", "p", NULL, false);
    shard(f, "c2", "p", NULL, false);
    ks_lease_row *pr = row(f, "p", NULL, 4, "500");
    plan(f);
    assert_int_equal(f->res.claimable, 1); /* the closed parent still has unread data */
    assert_non_null(find_action(f, "p"));
    assert_null(find_action(f, "c1"));
    pr->sequence = KS_SEQ_SHARD_END;
    plan(f);
    assert_int_equal(f->res.claimable, 2);
    assert_null(find_action(f, "p"));
    assert_true(find_action(f, "c1")->is_child);
    assert_true(find_action(f, "c2")->is_child);
}

static void test_parents_before_children_merge(void **state)
{
    fx *f = *state;
    shard(f, "p1", NULL, NULL, true);
    shard(f, "p2", NULL, NULL, true);
    shard(f, "m", "p1", "p2", false);
    row(f, "p1", NULL, 4, KS_SEQ_SHARD_END);
    ks_lease_row *p2 = row(f, "p2", "B", 4, "77");
    plan(f);
    assert_null(find_action(f, "m"));
    assert_int_equal(f->res.claimable, 1); /* p2 only, held by B */
    p2->sequence = KS_SEQ_SHARD_END;
    p2->owner = NULL;
    plan(f);
    const ks_plan_action *a = find_action(f, "m");
    assert_non_null(a);
    assert_true(a->is_child);
}

static void test_parents_gone_from_stream(void **state)
{
    fx *f = *state;
    /* Parent trimmed away, never tracked: the child is a root for the start policy. */
    shard(f, "c", "gone", NULL, false);
    shard(f, "d", "tracked-gone", NULL, false);
    row(f, "tracked-gone", NULL, 3, "42");
    plan(f);
    assert_int_equal(f->res.claimable, 2);
    assert_false(find_action(f, "c")->is_child);
    assert_true(find_action(f, "d")->is_child); /* lineage tracked: TRIM_HORIZON */
}

static void test_closed_shards_and_start_policy(void **state)
{
    fx *f = *state;
    shard(f, "old", NULL, NULL, true);
    shard(f, "child", "old", NULL, false);
    f->in.start_from_oldest = true;
    plan(f);
    /* Oldest: the closed parent is read first, never skipped. */
    assert_non_null(find_action(f, "old"));
    assert_null(find_action(f, "child"));
    /* LATEST: a closed, never-tracked shard holds nothing after "now"; the child is
     * a root (AT_TIMESTAMP now), not a TRIM_HORIZON child. */
    f->in.start_from_oldest = false;
    plan(f);
    assert_null(find_action(f, "old"));
    assert_non_null(find_action(f, "child"));
    assert_false(find_action(f, "child")->is_child);
    /* A tracked closed shard is read even with LATEST. */
    row(f, "old", NULL, 2, "AT_TIMESTAMP:1700000000000");
    plan(f);
    assert_non_null(find_action(f, "old"));
    assert_null(find_action(f, "child"));
}

static void test_handoff_request_most_loaded(void **state)
{
    fx *f = *state;
    four_open(f);
    shard(f, "s4", NULL, NULL, false);
    row(f, "s0", "B", 1, NULL);
    row(f, "s1", "B", 1, NULL);
    row(f, "s2", "B", 1, NULL);
    row(f, "s3", "C", 1, NULL);
    row(f, "s4", "C", 1, NULL);
    f->in.may_request_handoff = true;
    plan(f);
    /* 5 shards / 3 clients -> target 2; B holds 3 >= 0 + 2. */
    assert_int_equal(f->res.target, 2);
    assert_int_equal(f->res.n_actions, 1);
    assert_int_equal(f->res.actions[0].kind, KS_PLAN_REQUEST_HANDOFF);
    assert_string_equal(f->res.actions[0].row->owner, "B");
    /* At most one request in flight. */
    f->in.may_request_handoff = false;
    plan(f);
    assert_int_equal(f->res.n_actions, 0);
    /* Rows already asked for are not asked again. */
    f->in.may_request_handoff = true;
    f->rows[0].handoff_to = "C";
    f->rows[1].handoff_to = "C";
    f->rows[2].handoff_to = "C";
    plan(f);
    assert_int_equal(f->res.n_actions, 0);
}

static void test_no_handoff_without_two_more(void **state)
{
    fx *f = *state;
    four_open(f);
    shard(f, "s4", NULL, NULL, false);
    row(f, "s0", "B", 1, NULL);
    row(f, "s1", "B", 1, NULL);
    row(f, "s2", "B", 1, NULL);
    row(f, "s3", "me", 1, NULL);
    row(f, "s4", "me", 1, NULL);
    f->held[f->n_held++] = "s3";
    f->held[f->n_held++] = "s4";
    f->in.may_request_handoff = true;
    plan(f);
    /* 5 / 2 -> target 3, I hold 2, B holds 3 < 2 + 2: stable, no ping-pong. */
    assert_int_equal(f->res.target, 3);
    assert_int_equal(f->res.n_actions, 0);
    assert_true(f->res.standby_ok);
}

/* Asks B for s2 and checks the forced takeover comes exactly `wait` after asking. */
static void check_forced_takeover_after(fx *f, uint64_t wait)
{
    four_open(f);
    for (int i = 0; i < 4; i++)
        row(f, f->shards[i].shard_id, "B", 10, "1");
    f->rows[2].handoff_to = "me";
    uint64_t asked = ks_clock_mono_ms(&f->clock.clock);
    ks_plan_handoff h = {"s2", "B", asked};
    f->in.pending = &h;
    f->in.may_request_handoff = false;
    plan(f);
    assert_int_equal(f->res.n_actions, 0);
    assert_false(f->res.drop_pending);
    assert_int_equal(f->res.pending_deadline_ms, asked + wait);
    /* B keeps heartbeating; one ms before the deadline nothing happens. */
    ks_fake_clock_advance(&f->clock, wait - 1);
    f->rows[2].counter = 11;
    plan(f);
    assert_int_equal(f->res.n_actions, 0);
    ks_fake_clock_advance(&f->clock, 1);
    f->rows[2].counter = 12;
    plan(f);
    assert_int_equal(f->res.n_actions, 1);
    assert_int_equal(f->res.actions[0].kind, KS_PLAN_FORCE_TAKE);
    assert_int_equal(f->res.actions[0].row->counter, 12); /* by the counter last seen */
    assert_true(f->res.drop_pending);
}

static void test_forced_takeover_timing(void **state)
{
    /* Defaults: an idle owner writes next at its heartbeat (lease_period/3 = 10 s), later
     * than commit_period (5 s): the grace counts from there. */
    check_forced_takeover_after(*state, LEASE / 3 + GRACE);
}

static void test_forced_takeover_timing_long_commit(void **state)
{
    fx *f = *state;
    f->commit_ms = LEASE / 2; /* commits are the owner's next write */
    check_forced_takeover_after(f, LEASE / 2 + GRACE);
}

static void test_handoff_released_and_abandoned(void **state)
{
    fx *f = *state;
    four_open(f);
    for (int i = 0; i < 4; i++)
        row(f, f->shards[i].shard_id, "B", 10, "1");
    ks_plan_handoff h = {"s1", "B", ks_clock_mono_ms(&f->clock.clock)};
    f->in.pending = &h;
    /* B released it for me: claimed at once, outside the per-cycle cap. */
    f->rows[1].owner = NULL;
    f->rows[1].handoff_to = "me";
    f->in.max_claims = 1;
    plan(f);
    const ks_plan_action *a = find_action(f, "s1");
    assert_non_null(a);
    assert_int_equal(a->kind, KS_PLAN_CLAIM);
    assert_true(f->res.drop_pending);
    /* Taken by someone else meanwhile: abandoned, no action on it. */
    f->rows[1].owner = "C";
    f->rows[1].handoff_to = NULL;
    plan(f);
    assert_null(find_action(f, "s1"));
    assert_true(f->res.drop_pending);
}

static void test_released_for_other_is_reserved(void **state)
{
    fx *f = *state;
    shard(f, "s0", NULL, NULL, false);
    ks_lease_row *r = row(f, "s0", NULL, 3, "1");
    r->handoff_to = "X";
    plan(f);
    assert_int_equal(f->res.n_actions, 0); /* X asked for it */
    ks_fake_clock_advance(&f->clock, LEASE);
    plan(f);
    assert_non_null(find_action(f, "s0")); /* X never came */
}

static void test_paused_claims_nothing(void **state)
{
    fx *f = *state;
    four_open(f);
    f->in.paused = true;
    f->in.may_request_handoff = true;
    plan(f);
    assert_int_equal(f->res.n_actions, 0);
    assert_int_equal(f->res.target, 4);
}

static void test_my_stale_rows_first(void **state)
{
    fx *f = *state;
    four_open(f);
    row(f, "s3", "me", 8, "123"); /* e.g. before a restart with the same client id */
    f->in.max_claims = 1;
    plan(f);
    assert_int_equal(f->res.n_actions, 1);
    assert_string_equal(f->res.actions[0].shard_id, "s3");
    assert_int_equal(f->res.actions[0].kind, KS_PLAN_CLAIM);
    assert_string_equal(f->res.actions[0].row->owner, "me");
}

static void test_explicit_shards(void **state)
{
    fx *f = *state;
    const char *ex[] = {"0", "1"};
    f->in.explicit_shards = ex;
    f->in.n_explicit = 2;
    row(f, "0", "B", 1, "55");
    row(f, "other", "B", 1, NULL); /* not listed: ignored */
    plan(f);
    assert_int_equal(f->res.claimable, 2);
    assert_int_equal(f->res.target, 1);
    assert_int_equal(f->res.n_actions, 1);
    assert_string_equal(f->res.actions[0].shard_id, "1");
    assert_null(f->res.actions[0].shard);
    /* B dies: its explicit lease still expires. */
    f->held[f->n_held++] = "1";
    ks_fake_clock_advance(&f->clock, LEASE);
    plan(f);
    const ks_plan_action *a = find_action(f, "0");
    assert_non_null(a);
    assert_int_equal(a->kind, KS_PLAN_TAKE_EXPIRED);
    assert_int_equal(count_kind(f, KS_PLAN_DELETE_ROW), 0); /* no GC in explicit mode */
}

static void test_row_deletion_rule(void **state)
{
    fx *f = *state;
    shard(f, "c1", "p", NULL, false);
    shard(f, "c2", "p", NULL, false);
    row(f, "p", NULL, 9, KS_SEQ_SHARD_END); /* parent trimmed from the stream */
    ks_lease_row *c1 = row(f, "c1", "B", 2, "1000");
    ks_lease_row *c2 = row(f, "c2", "B", 2, KS_SEQ_TRIM_HORIZON);
    row(f, "lonely", "B", 2, "5"); /* gone, owned by a live peer: kept */
    plan(f);
    assert_int_equal(count_kind(f, KS_PLAN_DELETE_ROW), 0); /* c2 has not started */
    c2->sequence = "2000";
    plan(f);
    assert_int_equal(count_kind(f, KS_PLAN_DELETE_ROW), 1);
    assert_int_equal(find_action(f, "p")->kind, KS_PLAN_DELETE_ROW);
    c1->sequence = KS_SEQ_SHARD_END;
    c2->sequence = "AT_TIMESTAMP:5";
    plan(f);
    assert_int_equal(count_kind(f, KS_PLAN_DELETE_ROW), 0);
    /* The lonely row's owner died: deleted once expired (no children). */
    c2->sequence = "3000";
    ks_fake_clock_advance(&f->clock, LEASE);
    c1->counter = 3;
    c2->counter = 3;
    plan(f);
    assert_int_equal(count_kind(f, KS_PLAN_DELETE_ROW), 2);
    assert_non_null(find_action(f, "lonely"));
    /* An empty listing never deletes anything. */
    f->n_shards = 0;
    plan(f);
    assert_int_equal(count_kind(f, KS_PLAN_DELETE_ROW), 0);
}

static void test_standby_ok(void **state)
{
    fx *f = *state;
    shard(f, "s0", NULL, NULL, false);
    shard(f, "s1", NULL, NULL, false);
    row(f, "s0", "B", 1, NULL);
    row(f, "s1", "C", 1, NULL);
    plan(f);
    assert_true(f->res.standby_ok);
    assert_int_equal(f->res.target, 1);
    ks_fake_clock_advance(&f->clock, LEASE);
    f->rows[0].counter = 2;
    plan(f);
    assert_false(f->res.standby_ok); /* C expired */
}

static void test_positions(void **state)
{
    (void)state;
    ks_position p;
    assert_int_equal(ks_lease_parse_position("49630000000000000000000000000000000000001", &p),
                     KS_POS_OK);
    assert_int_equal(p.type, KS_ITER_AFTER_SEQUENCE_NUMBER);
    assert_string_equal(p.sequence, "49630000000000000000000000000000000000001");
    assert_int_equal(ks_lease_parse_position("TRIM_HORIZON", &p), KS_POS_OK);
    assert_int_equal(p.type, KS_ITER_TRIM_HORIZON);
    assert_int_equal(ks_lease_parse_position("LATEST", &p), KS_POS_OK);
    assert_int_equal(p.type, KS_ITER_LATEST);
    assert_int_equal(ks_lease_parse_position("AT_TIMESTAMP:1700000000123", &p), KS_POS_OK);
    assert_int_equal(p.type, KS_ITER_AT_TIMESTAMP);
    assert_int_equal(p.timestamp_ms, 1700000000123);
    assert_int_equal(ks_lease_parse_position("SHARD_END", &p), KS_POS_SHARD_END);
    assert_int_equal(ks_lease_parse_position(NULL, &p), KS_POS_NONE);
    assert_int_equal(ks_lease_parse_position("", &p), KS_POS_NONE);
    assert_int_equal(ks_lease_parse_position("AT_TIMESTAMP:x", &p), KS_POS_NONE);
    assert_int_equal(ks_lease_parse_position("garbage", &p), KS_POS_NONE);
    char out[48];
    ks_lease_initial_position(true, false, 5, out);
    assert_string_equal(out, "TRIM_HORIZON");
    ks_lease_initial_position(false, true, 5, out);
    assert_string_equal(out, "TRIM_HORIZON"); /* children always from the start */
    ks_lease_initial_position(false, false, 1700000000123, out);
    assert_string_equal(out, "AT_TIMESTAMP:1700000000123");
    ks_lease_row r = {.shard_id = "x", .sequence = "TRIM_HORIZON"};
    assert_false(ks_lease_row_started(&r));
    r.sequence = "12";
    assert_true(ks_lease_row_started(&r));
    r.sequence = "SHARD_END";
    assert_true(ks_lease_row_started(&r));
    assert_false(ks_lease_row_started(NULL));
    assert_string_equal(ks_plan_kind_str(KS_PLAN_FORCE_TAKE), "force_take");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_alone_claims_everything_up_to_cap),
        T(test_target_is_ceil_over_live_clients),
        T(test_held_count_toward_target),
        T(test_free_before_expired_and_cap),
        T(test_expiry_on_monotonic_observation),
        T(test_redpanda_rows),
        T(test_parents_before_children_split),
        T(test_parents_before_children_merge),
        T(test_parents_gone_from_stream),
        T(test_closed_shards_and_start_policy),
        T(test_handoff_request_most_loaded),
        T(test_no_handoff_without_two_more),
        T(test_forced_takeover_timing),
        T(test_forced_takeover_timing_long_commit),
        T(test_handoff_released_and_abandoned),
        T(test_released_for_other_is_reserved),
        T(test_paused_claims_nothing),
        T(test_my_stale_rows_first),
        T(test_explicit_shards),
        T(test_row_deletion_rule),
        T(test_standby_ok),
        cmocka_unit_test(test_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
