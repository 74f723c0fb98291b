#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lease/tracker.h"

/* A 39-digit (128-bit range) sequence number: prefix + zero-padded n. */
static void seq(char out[64], uint64_t n)
{
    snprintf(out, 64, "4963210987654321098765%017llu", (unsigned long long)n);
}

static void test_seq_cmp(void **state)
{
    (void)state;
    assert_true(ks_seq_cmp("9", "10") < 0);
    assert_true(ks_seq_cmp("10", "9") > 0);
    assert_int_equal(ks_seq_cmp("123", "123"), 0);
    assert_int_equal(ks_seq_cmp("00123", "123"), 0);
    assert_true(ks_seq_cmp("0", "1") < 0);
    assert_int_equal(ks_seq_cmp("0", "000"), 0);
    /* Beyond 2^64 and beyond double precision: differ only in the last digit. */
    assert_true(ks_seq_cmp("49632109876543210987654321098765432101",
                           "49632109876543210987654321098765432102") < 0);
    assert_true(ks_seq_cmp("340282366920938463463374607431768211455",
                           "49632109876543210987654321098765432102") > 0);
    assert_true(ks_seq_cmp(NULL, "1") < 0);
    assert_true(ks_seq_cmp("1", NULL) > 0);
    assert_int_equal(ks_seq_cmp(NULL, NULL), 0);
    assert_true(ks_seq_is_number("0123"));
    assert_false(ks_seq_is_number(""));
    assert_false(ks_seq_is_number(NULL));
    assert_false(ks_seq_is_number("TRIM_HORIZON"));
    assert_false(ks_seq_is_number("12a"));
}

static void test_in_order_acks(void **state)
{
    (void)state;
    ks_tracker *t;
    assert_int_equal(ks_tracker_new(true, NULL, &t), KS_OK);
    assert_null(ks_tracker_checkpoint(t));
    uint64_t a, b;
    assert_int_equal(ks_tracker_dispatch(t, "100", "105", 3, &a), KS_OK);
    assert_int_equal(ks_tracker_dispatch(t, "110", "110", 1, &b), KS_OK);
    assert_int_equal(ks_tracker_in_flight(t), 4);
    assert_int_equal(ks_tracker_unacked(t), 4);
    assert_string_equal(ks_tracker_last_dispatched(t), "110");
    bool adv = false;
    assert_int_equal(ks_tracker_ack(t, a, &adv), KS_OK);
    assert_true(adv);
    assert_string_equal(ks_tracker_checkpoint(t), "105");
    assert_int_equal(ks_tracker_in_flight(t), 1);
    assert_int_equal(ks_tracker_ack(t, b, &adv), KS_OK);
    assert_true(adv);
    assert_string_equal(ks_tracker_checkpoint(t), "110");
    assert_int_equal(ks_tracker_in_flight(t), 0);
    assert_int_equal(ks_tracker_batches(t), 0);
    /* Double ack and unknown ids are rejected. */
    assert_int_equal(ks_tracker_ack(t, a, &adv), KS_ERR_NOT_FOUND);
    assert_int_equal(ks_tracker_ack(t, 999, NULL), KS_ERR_NOT_FOUND);
    ks_tracker_destroy(t);
    ks_tracker_destroy(NULL);
}

static void test_out_of_order_acks_hold_checkpoint(void **state)
{
    (void)state;
    ks_tracker *t;
    assert_int_equal(ks_tracker_new(true, "50", &t), KS_OK);
    assert_string_equal(ks_tracker_checkpoint(t), "50");
    uint64_t id[3];
    assert_int_equal(ks_tracker_dispatch(t, "60", "69", 10, &id[0]), KS_OK);
    assert_int_equal(ks_tracker_dispatch(t, "70", "79", 10, &id[1]), KS_OK);
    assert_int_equal(ks_tracker_dispatch(t, "80", "89", 10, &id[2]), KS_OK);
    bool adv = true;
    assert_int_equal(ks_tracker_ack(t, id[2], &adv), KS_OK);
    assert_false(adv);
    assert_string_equal(ks_tracker_checkpoint(t), "50");
    assert_int_equal(ks_tracker_in_flight(t), 30); /* acked but held back */
    assert_int_equal(ks_tracker_unacked(t), 20);
    assert_int_equal(ks_tracker_ack(t, id[1], &adv), KS_OK);
    assert_false(adv);
    assert_int_equal(ks_tracker_ack(t, id[0], &adv), KS_OK);
    assert_true(adv);
    assert_string_equal(ks_tracker_checkpoint(t), "89"); /* jumps over all three */
    assert_int_equal(ks_tracker_in_flight(t), 0);
    ks_tracker_destroy(t);
}

static void test_dispatch_order_enforced(void **state)
{
    (void)state;
    ks_tracker *t;
    uint64_t id;
    assert_int_equal(ks_tracker_new(true, "100", &t), KS_OK);
    assert_int_equal(ks_tracker_dispatch(t, "100", "101", 2, &id), KS_ERR_INVALID); /* <= ckpt */
    assert_int_equal(ks_tracker_dispatch(t, "105", "103", 2, &id), KS_ERR_INVALID);
    assert_int_equal(ks_tracker_dispatch(t, "105", "106", 0, &id), KS_ERR_INVALID);
    assert_int_equal(ks_tracker_dispatch(t, "TRIM_HORIZON", "106", 1, &id), KS_ERR_INVALID);
    assert_int_equal(ks_tracker_dispatch(t, "105", "106", 2, &id), KS_OK);
    assert_int_equal(ks_tracker_dispatch(t, "106", "107", 2, &id), KS_ERR_INVALID);
    /* Length-first: 1000 > 999 even though "1000" < "999" lexically. */
    assert_int_equal(ks_tracker_dispatch(t, "999", "999", 1, &id), KS_OK);
    assert_int_equal(ks_tracker_dispatch(t, "1000", "1000", 1, &id), KS_OK);
    assert_int_equal(ks_tracker_in_flight(t), 4);
    ks_tracker_destroy(t);
}

static void test_nack_replay_blocks(void **state)
{
    (void)state;
    ks_tracker *t;
    uint64_t a, b;
    assert_int_equal(ks_tracker_new(true, NULL, &t), KS_OK);
    assert_int_equal(ks_tracker_dispatch(t, "1", "5", 5, &a), KS_OK);
    assert_int_equal(ks_tracker_dispatch(t, "6", "9", 4, &b), KS_OK);
    bool replay = false, adv = true;
    assert_int_equal(ks_tracker_nack(t, a, &replay, &adv), KS_OK);
    assert_true(replay);
    assert_false(adv);
    assert_int_equal(ks_tracker_ack(t, b, &adv), KS_OK);
    assert_false(adv);
    assert_null(ks_tracker_checkpoint(t));
    /* Nacked again on the replay, then acked on the next one. */
    assert_int_equal(ks_tracker_nack(t, a, &replay, &adv), KS_OK);
    assert_true(replay);
    assert_int_equal(ks_tracker_ack(t, a, &adv), KS_OK);
    assert_true(adv);
    assert_string_equal(ks_tracker_checkpoint(t), "9");
    assert_int_equal(ks_tracker_nacked_total(t), 2);
    assert_int_equal(ks_tracker_dropped_total(t), 0);
    ks_tracker_destroy(t);
}

static void test_nack_drop(void **state)
{
    (void)state;
    ks_tracker *t;
    uint64_t a, b, c;
    assert_int_equal(ks_tracker_new(false, NULL, &t), KS_OK);
    assert_int_equal(ks_tracker_dispatch(t, "1", "5", 5, &a), KS_OK);
    assert_int_equal(ks_tracker_dispatch(t, "6", "9", 4, &b), KS_OK);
    assert_int_equal(ks_tracker_dispatch(t, "10", "10", 1, &c), KS_OK);
    bool replay = true, adv = false;
    assert_int_equal(ks_tracker_nack(t, b, &replay, &adv), KS_OK);
    assert_false(replay);
    assert_false(adv); /* a still pending */
    assert_int_equal(ks_tracker_unacked(t), 6);
    assert_int_equal(ks_tracker_ack(t, a, &adv), KS_OK);
    assert_true(adv);
    assert_string_equal(ks_tracker_checkpoint(t), "9"); /* the dropped batch counts as done */
    assert_int_equal(ks_tracker_dropped_total(t), 4);
    assert_int_equal(ks_tracker_nacked_total(t), 1);
    assert_int_equal(ks_tracker_nack(t, b, &replay, &adv), KS_ERR_NOT_FOUND);
    assert_int_equal(ks_tracker_in_flight(t), 1);
    ks_tracker_destroy(t);
}

static void test_clear_keeps_checkpoint(void **state)
{
    (void)state;
    ks_tracker *t;
    uint64_t a, b;
    assert_int_equal(ks_tracker_new(true, NULL, &t), KS_OK);
    assert_int_equal(ks_tracker_dispatch(t, "1", "5", 5, &a), KS_OK);
    assert_int_equal(ks_tracker_dispatch(t, "6", "9", 4, &b), KS_OK);
    assert_int_equal(ks_tracker_ack(t, a, NULL), KS_OK);
    ks_tracker_clear(t);
    assert_string_equal(ks_tracker_checkpoint(t), "5");
    assert_int_equal(ks_tracker_in_flight(t), 0);
    assert_int_equal(ks_tracker_ack(t, b, NULL), KS_ERR_NOT_FOUND);
    /* Reading resumes after the checkpoint: 6..9 may be dispatched again. */
    assert_int_equal(ks_tracker_dispatch(t, "6", "9", 4, &b), KS_OK);
    assert_int_equal(ks_tracker_ack(t, b, NULL), KS_OK);
    assert_string_equal(ks_tracker_checkpoint(t), "9");
    ks_tracker_destroy(t);
}

/* Random permutations of acks over many batches (ring growth and wrap-around) against a
 * reference: the checkpoint is the last sequence of the longest acked prefix. */
static void test_random_permutations(void **state)
{
    (void)state;
    enum { N = 300 };
    srand(12345);
    for (int round = 0; round < 20; round++) {
        ks_tracker *t;
        assert_int_equal(ks_tracker_new(round % 2 == 0, NULL, &t), KS_OK);
        uint64_t ids[N];
        bool done[N] = {false};
        size_t counts[N];
        int order[N];
        uint64_t next = 1;
        char first[64], last[64];
        int dispatched = 0, prefix = 0;
        for (int i = 0; i < N; i++)
            order[i] = i;
        for (int i = N - 1; i > 0; i--) {
            int j = rand() % (i + 1);
            int tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        uint64_t lasts[N];
        /* Interleave: dispatch in chunks, ack pending ones in the shuffled order. */
        for (int k = 0; k < N; k++) {
            while (dispatched <= order[k]) {
                counts[dispatched] = (size_t)(rand() % 5) + 1;
                seq(first, next);
                next += counts[dispatched] - 1;
                seq(last, next);
                lasts[dispatched] = next;
                next += (uint64_t)(rand() % 3) + 1;
                assert_int_equal(
                    ks_tracker_dispatch(t, first, last, counts[dispatched], &ids[dispatched]),
                    KS_OK);
                dispatched++;
            }
            int i = order[k];
            bool adv;
            if (round % 2 == 1 && rand() % 4 == 0) {
                bool replay;
                assert_int_equal(ks_tracker_nack(t, ids[i], &replay, &adv), KS_OK);
                assert_false(replay);
            } else {
                assert_int_equal(ks_tracker_ack(t, ids[i], &adv), KS_OK);
            }
            done[i] = true;
            int old_prefix = prefix;
            while (prefix < N && done[prefix])
                prefix++;
            assert_int_equal(adv, prefix != old_prefix);
            if (prefix > 0) {
                char want[64];
                seq(want, lasts[prefix - 1]);
                assert_string_equal(ks_tracker_checkpoint(t), want);
            } else {
                assert_null(ks_tracker_checkpoint(t));
            }
            size_t in_flight = 0;
            for (int j = prefix; j < dispatched; j++)
                in_flight += counts[j];
            assert_int_equal(ks_tracker_in_flight(t), in_flight);
        }
        assert_int_equal(ks_tracker_in_flight(t), 0);
        assert_int_equal(ks_tracker_batches(t), 0);
        ks_tracker_destroy(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seq_cmp),
        cmocka_unit_test(test_in_order_acks),
        cmocka_unit_test(test_out_of_order_acks_hold_checkpoint),
        cmocka_unit_test(test_dispatch_order_enforced),
        cmocka_unit_test(test_nack_replay_blocks),
        cmocka_unit_test(test_nack_drop),
        cmocka_unit_test(test_clear_keeps_checkpoint),
        cmocka_unit_test(test_random_permutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
