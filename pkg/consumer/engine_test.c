/* Dispatch, acknowledgement and checkpoint behaviour of the engine, with a fake sink
 * and a fake clock. Readers are started paused so nothing calls Kinesis; records are
 * handed in as GetRecords would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consumer/consumer_internal.h"

typedef struct fake_sink {
    ks_sink base;
    ks_batch *held[256];
    size_t n_held;
    size_t submitted;
    bool full;
} fake_sink;

static ks_err fake_submit(ks_sink *s, ks_batch *b)
{
    fake_sink *f = (fake_sink *)s;
    if (f->full || f->n_held == 256)
        return KS_ERR_AGAIN;
    f->held[f->n_held++] = b;
    f->submitted++;
    return KS_OK;
}

static bool fake_writable(const ks_sink *s)
{
    return !((const fake_sink *)s)->full;
}

static void fake_destroy(ks_sink *s)
{
    (void)s;
}

static const ks_sink_vtable fake_vt = {
    .name = "fake", .submit = fake_submit, .writable = fake_writable, .destroy = fake_destroy};

/* Answers the held batch at index i (keeps the order of the rest). */
static void answer(fake_sink *f, size_t i, ks_delivery d)
{
    assert_true(i < f->n_held);
    ks_batch *b = f->held[i];
    /* held is an array of batch pointers: move pointers. */
    memmove(&f->held[i], &f->held[i + 1],
            (f->n_held - i - 1) * sizeof(f->held[0])); // NOLINT(bugprone-sizeof-expression)
    f->n_held--;
    f->base.cb.on_result(f->base.cb.ud, b, d, d == KS_DELIVERY_NACK ? "test" : NULL);
}

typedef struct fixture {
    uv_loop_t loop;
    ks_config cfg;
    ks_fake_clock clock;
    ks_engine *engine;
    fake_sink sink;
    char seqs[64][32];
    ks_record recs[64];
} fixture;

static void make_records(fixture *fx, size_t first, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* Long decimal sequences as Kinesis has them. */
        snprintf(fx->seqs[i], sizeof(fx->seqs[i]), "4959%026zu", first + i);
        fx->recs[i] = (ks_record){.data_b64 = "aGVsbG8=",
                                  .data_b64_len = 8,
                                  .partition_key = "pk",
                                  .sequence_number = fx->seqs[i],
                                  .arrival_ms = 1795680681050};
    }
}

static void setup_fx(fixture *fx, int64_t limit, int64_t batch_count, bool replay)
{
    memset(fx, 0, sizeof(*fx));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    ks_config_set_defaults(&fx->cfg);
    fx->cfg.input.checkpoint_limit = limit;
    fx->cfg.input.batching.count = batch_count;
    fx->cfg.input.auto_replay_nacks = replay;
    ks_fake_clock_init(&fx->clock, 1000, 1795680681000);
    ks_engine_options o = {.loop = &fx->loop, .config = &fx->cfg, .clock = &fx->clock.clock};
    assert_int_equal(ks_engine_new(&o, &fx->engine), KS_OK);
    fx->sink.base.vt = &fake_vt;
    fx->sink.base.cb = ks_engine_sink_callbacks(fx->engine);
    ks_engine_attach(fx->engine, &fx->sink.base, NULL);
    fx->engine->paused = true; /* no Kinesis calls */
    ks_lease_start st = {
        .stream = "orders", .shard_id = "shardId-000000000000", .type = KS_ITER_TRIM_HORIZON};
    assert_int_equal(ks_reader_start(fx->engine, &st), KS_OK);
}

static void teardown_fx(fixture *fx)
{
    while (fx->sink.n_held)
        answer(&fx->sink, 0, KS_DELIVERY_NACK);
    ks_engine_destroy(fx->engine);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    ks_config_clean_up(&fx->cfg);
}

static ks_reader *reader(fixture *fx)
{
    return fx->engine->readers;
}

static void feed(fixture *fx, size_t first, size_t n)
{
    make_records(fx, first, n);
    ks_page_sizes sizes = {0};
    assert_int_equal(ks_reader_take_records(reader(fx), fx->recs, n, &sizes), KS_OK);
    assert_int_equal(sizes.records, n);
    assert_int_equal(sizes.decoded_bytes, 5 * n); /* "aGVsbG8=" is "hello" */
    ks_reader_pump(reader(fx));
}

static void test_page_split_and_window(void **state)
{
    (void)state;
    fixture *fx = malloc(sizeof(*fx));
    setup_fx(fx, 4, 0, true);
    feed(fx, 1, 10);
    /* Batches of at most checkpoint_limit; only one fits in the window at a time. */
    assert_int_equal(fx->sink.n_held, 1);
    assert_int_equal(fx->sink.held[0]->n_records, 4);
    assert_null(reader(fx)->checkpoint);
    answer(&fx->sink, 0, KS_DELIVERY_ACK);
    assert_string_equal(reader(fx)->checkpoint, "495900000000000000000000000004");
    assert_int_equal(fx->sink.n_held, 1);
    assert_int_equal(fx->sink.held[0]->n_records, 4);
    answer(&fx->sink, 0, KS_DELIVERY_ACK);
    assert_int_equal(fx->sink.held[0]->n_records, 2);
    answer(&fx->sink, 0, KS_DELIVERY_ACK);
    assert_string_equal(reader(fx)->checkpoint, "495900000000000000000000000010");
    assert_int_equal(ks_engine_in_flight(fx->engine), 0);
    teardown_fx(fx);
    free(fx);
}

static void test_out_of_order_acks(void **state)
{
    (void)state;
    fixture *fx = malloc(sizeof(*fx));
    setup_fx(fx, 100, 2, true);
    feed(fx, 1, 6); /* three batches of two */
    assert_int_equal(fx->sink.n_held, 3);
    answer(&fx->sink, 2, KS_DELIVERY_ACK); /* the last one first */
    answer(&fx->sink, 1, KS_DELIVERY_ACK);
    assert_null(reader(fx)->checkpoint); /* the first is still out */
    assert_int_equal(ks_engine_in_flight(fx->engine), 6);
    answer(&fx->sink, 0, KS_DELIVERY_ACK);
    assert_string_equal(reader(fx)->checkpoint, "495900000000000000000000000006");
    teardown_fx(fx);
    free(fx);
}

static void test_nack_replays_in_order(void **state)
{
    (void)state;
    fixture *fx = malloc(sizeof(*fx));
    setup_fx(fx, 2, 2, true);
    feed(fx, 1, 6);
    assert_int_equal(fx->sink.n_held, 1);
    uint64_t first_id = fx->sink.held[0]->id;
    answer(&fx->sink, 0, KS_DELIVERY_NACK);
    /* Not resent before the back-off passes; later batches wait behind it. */
    assert_int_equal(fx->sink.n_held, 0);
    ks_fake_clock_advance(&fx->clock, 10000);
    ks_reader_pump(reader(fx));
    assert_int_equal(fx->sink.n_held, 1);
    assert_int_equal(fx->sink.held[0]->id, first_id);
    assert_int_equal(fx->sink.held[0]->attempts, 2);
    answer(&fx->sink, 0, KS_DELIVERY_ACK);
    assert_string_equal(reader(fx)->checkpoint, "495900000000000000000000000002");
    assert_int_equal(fx->sink.n_held, 1);
    assert_string_equal(fx->sink.held[0]->records[0].sequence_number,
                        "495900000000000000000000000003");
    teardown_fx(fx);
    free(fx);
}

static void test_nack_dropped_without_replay(void **state)
{
    (void)state;
    fixture *fx = malloc(sizeof(*fx));
    setup_fx(fx, 100, 2, false);
    feed(fx, 1, 4);
    assert_int_equal(fx->sink.n_held, 2);
    answer(&fx->sink, 0, KS_DELIVERY_NACK);
    assert_string_equal(reader(fx)->checkpoint, "495900000000000000000000000002");
    answer(&fx->sink, 0, KS_DELIVERY_ACK);
    assert_string_equal(reader(fx)->checkpoint, "495900000000000000000000000004");
    assert_int_equal(fx->sink.submitted, 2); /* never resent */
    teardown_fx(fx);
    free(fx);
}

static void test_back_pressure_from_sink(void **state)
{
    (void)state;
    fixture *fx = malloc(sizeof(*fx));
    setup_fx(fx, 100, 1, true);
    fx->sink.full = true;
    feed(fx, 1, 3);
    assert_int_equal(fx->sink.n_held, 0);
    assert_int_equal(reader(fx)->queued_records, 3);
    fx->sink.full = false;
    fx->sink.base.cb.on_ready(fx->sink.base.cb.ud);
    assert_int_equal(fx->sink.n_held, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(fx->sink.held[i]->records[0].sequence_number, fx->seqs[i]);
    teardown_fx(fx);
    free(fx);
}

static int drained_calls;

static void on_drained(void *ud, ks_err err)
{
    (void)ud;
    assert_int_equal(err, KS_OK);
    drained_calls++;
}

static void test_drain_waits_for_in_flight(void **state)
{
    (void)state;
    fixture *fx = malloc(sizeof(*fx));
    setup_fx(fx, 2, 2, true);
    feed(fx, 1, 6);
    assert_int_equal(fx->sink.n_held, 1);
    drained_calls = 0;
    ks_engine_drain(fx->engine, 60000, on_drained, NULL);
    assert_true(ks_engine_draining(fx->engine));
    assert_int_equal(drained_calls, 0);
    answer(&fx->sink, 0, KS_DELIVERY_ACK);
    assert_int_equal(drained_calls, 1);
    assert_int_equal(fx->sink.submitted, 1); /* nothing more was sent while draining */
    assert_int_equal(ks_engine_readers(fx->engine), 0);
    teardown_fx(fx);
    free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_split_and_window),
        cmocka_unit_test(test_out_of_order_acks),
        cmocka_unit_test(test_nack_replays_in_order),
        cmocka_unit_test(test_nack_dropped_without_replay),
        cmocka_unit_test(test_back_pressure_from_sink),
        cmocka_unit_test(test_drain_waits_for_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
