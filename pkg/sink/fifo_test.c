/* FIFO sink against a real FIFO in a temporary directory. The test process is also
 * the reader (a non-blocking read fd watched by a uv_poll on the same loop). The loop
 * is driven until a condition holds, with a deadline that fails the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "core/log.h"
#include "sink/base64.h"
#include "sink/codec.h"
#include "sink/fifo.h"

#define MAX_EVENTS 64

typedef struct reader {
    uv_poll_t poll;
    int fd;
    bool polling;
    ks_buf got;
    size_t close_after; /* close the fd once this many bytes were read (0 = never) */
    bool closed;        /* poll handle close callback ran */
} reader;

typedef struct ctx {
    uv_loop_t loop;
    char dir[64];
    char path[128];
    ks_sink *sink;
    ks_batch *acked[MAX_EVENTS];
    size_t n_acked;
    ks_batch *nacked[MAX_EVENTS];
    size_t n_nacked;
    char last_reason[128];
    size_t ready_calls;
    bool resubmit_nacks;
    bool destroy_on_ack;
    /* producer for the back-pressure test */
    ks_batch *todo[MAX_EVENTS];
    size_t n_todo, next_todo;
    size_t refused;
    /* what the current reader should end up with */
    reader *rd;
    size_t want_len;
} ctx;

static void on_result(void *ud, ks_batch *b, ks_delivery d, const char *reason)
{
    ctx *c = ud;
    if (d == KS_DELIVERY_ACK) {
        assert_true(c->n_acked < MAX_EVENTS);
        c->acked[c->n_acked++] = b;
        if (c->destroy_on_ack)
            ks_sink_destroy(c->sink);
        return;
    }
    assert_true(c->n_nacked < MAX_EVENTS);
    c->nacked[c->n_nacked++] = b;
    snprintf(c->last_reason, sizeof(c->last_reason), "%s", reason ? reason : "");
    if (c->resubmit_nacks)
        assert_int_equal(ks_sink_submit(c->sink, b), KS_OK);
}

static void pump(ctx *c)
{
    while (c->next_todo < c->n_todo) {
        ks_err err = ks_sink_submit(c->sink, c->todo[c->next_todo]);
        if (err == KS_ERR_AGAIN) {
            c->refused++;
            return;
        }
        assert_int_equal(err, KS_OK);
        c->next_todo++;
    }
}

static void on_ready(void *ud)
{
    ctx *c = ud;
    c->ready_calls++;
    pump(c);
}

/* ---- loop driving ---------------------------------------------------------------- */

static void on_deadline(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

static void on_closed_flag(uv_handle_t *h)
{
    *(bool *)h->data = true;
}

typedef bool (*cond_fn)(ctx *c);

/* Runs the loop until cond holds or timeout_ms passes; returns cond. */
static bool run_until(ctx *c, cond_fn cond, uint64_t timeout_ms)
{
    bool expired = false, closed = false;
    uv_timer_t t;
    uv_timer_init(&c->loop, &t);
    t.data = &expired;
    uv_timer_start(&t, on_deadline, timeout_ms, 0);
    while (!(cond && cond(c)) && !expired)
        uv_run(&c->loop, UV_RUN_ONCE);
    t.data = &closed;
    uv_close((uv_handle_t *)&t, on_closed_flag);
    while (!closed)
        uv_run(&c->loop, UV_RUN_NOWAIT);
    return cond && cond(c);
}

/* ---- reader ---------------------------------------------------------------------- */

static void on_reader_closed(uv_handle_t *h)
{
    ((reader *)h->data)->closed = true;
}

/* May run inside the reader's own callback: the handle memory stays valid until
 * reader_wait_closed(). */
static void reader_close(reader *r)
{
    if (r->polling) {
        uv_close((uv_handle_t *)&r->poll, on_reader_closed);
        r->polling = false;
    }
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    reader *r = p->data;
    char buf[16384];
    for (;;) {
        size_t want = sizeof(buf);
        if (r->close_after && r->close_after - r->got.len < want)
            want = r->close_after - r->got.len;
        ssize_t n = read(r->fd, buf, want);
        if (n > 0) {
            ks_buf_append(&r->got, buf, (size_t)n);
            if (r->close_after && r->got.len >= r->close_after) {
                reader_close(r);
                return;
            }
            continue;
        }
        if (n == 0 || errno != EINTR)
            return; /* EOF (no writer) or EAGAIN */
    }
}

static void reader_open(ctx *c, reader *r, bool start_reading)
{
    memset(r, 0, sizeof(*r));
    ks_buf_init(&r->got);
    assert_int_equal(ks_fifo_ensure(c->path, 0600, true, NULL, 0), KS_OK);
    r->fd = open(c->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    assert_true(r->fd >= 0);
    assert_int_equal(uv_poll_init(&c->loop, &r->poll, r->fd), 0);
    r->poll.data = r;
    r->polling = true;
    if (start_reading)
        assert_int_equal(uv_poll_start(&r->poll, UV_READABLE, on_readable), 0);
}

static void reader_done(ctx *c, reader *r)
{
    reader_close(r);
    while (!r->closed)
        uv_run(&c->loop, UV_RUN_NOWAIT);
    ks_buf_clean_up(&r->got);
}

static void reader_start(reader *r)
{
    assert_int_equal(uv_poll_start(&r->poll, UV_READABLE, on_readable), 0);
}

/* ---- fixtures -------------------------------------------------------------------- */

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    assert_int_equal(uv_loop_init(&c->loop), 0);
    snprintf(c->dir, sizeof(c->dir), "/tmp/ks-fifo-XXXXXX");
    assert_non_null(mkdtemp(c->dir));
    snprintf(c->path, sizeof(c->path), "%s/records", c->dir);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx *c = *state;
    ks_sink_destroy(c->sink);
    uv_run(&c->loop, UV_RUN_DEFAULT); /* close callbacks */
    assert_int_equal(uv_loop_close(&c->loop), 0);
    for (size_t i = 0; i < c->n_todo; i++)
        ks_batch_destroy(c->todo[i]);
    unlink(c->path);
    rmdir(c->dir);
    free(c);
    return 0;
}

static ks_sink *new_sink(ctx *c, ks_codec codec, size_t max_batches)
{
    ks_fifo_config cfg = {.path = c->path, .codec = codec, .create = true, .mode = 0600};
    ks_fifo_sink_options opt = {.retry_ms = 20, .max_queued_batches = max_batches};
    ks_sink_callbacks cb = {.on_result = on_result, .on_ready = on_ready, .ud = c};
    char err[256];
    assert_int_equal(ks_fifo_sink_new_ex(&c->loop, &cfg, &opt, &cb, &c->sink, err, sizeof(err)),
                     KS_OK);
    return c->sink;
}

/* A batch of n records, each `size` decoded bytes derived from seed. */
static ks_batch *make_batch(size_t n, size_t size, unsigned seed)
{
    ks_batch *b = NULL;
    assert_int_equal(ks_batch_new("orders", "shardId-000000000000", &b), KS_OK);
    unsigned char *raw = malloc(size + 1);
    assert_non_null(raw);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < size; j++)
            raw[j] = (unsigned char)('a' + (seed * 7 + i * 3 + j) % 26);
        ks_buf b64;
        ks_buf_init(&b64);
        assert_int_equal(ks_base64_encode(raw, size, &b64), KS_OK);
        char seq[32];
        snprintf(seq, sizeof(seq), "%u%06zu", seed, i);
        assert_int_equal(ks_batch_add(b, b64.data, b64.len, "pk", seq, 1764149913123), KS_OK);
        ks_buf_clean_up(&b64);
    }
    free(raw);
    return b;
}

static void append_encoding(ks_codec codec, const ks_batch *b, ks_buf *out)
{
    assert_int_equal(ks_codec_encode(codec, b, out, NULL), KS_OK);
}

static ks_fifo_sink_stats stats(ctx *c)
{
    ks_fifo_sink_stats st;
    ks_fifo_sink_get_stats(c->sink, &st);
    return st;
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_create_and_path_errors(void **state)
{
    ctx *c = *state;
    ks_fifo_config cfg = {.path = c->path, .codec = KS_CODEC_LINES, .create = false, .mode = 0666};
    ks_sink_callbacks cb = {.on_result = on_result, .ud = c};
    char err[256];
    ks_sink *s = NULL;
    assert_int_equal(ks_fifo_sink_new_ex(&c->loop, &cfg, NULL, &cb, &s, err, sizeof(err)),
                     KS_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "create is false"));
    assert_null(s);

    FILE *f = fopen(c->path, "w");
    assert_non_null(f);
    fclose(f);
    cfg.create = true;
    assert_int_equal(ks_fifo_sink_new_ex(&c->loop, &cfg, NULL, &cb, &s, err, sizeof(err)),
                     KS_ERR_INVALID);
    assert_non_null(strstr(err, "not a FIFO"));
    unlink(c->path);

    mode_t old = umask(022);
    assert_int_equal(ks_fifo_sink_new_ex(&c->loop, &cfg, NULL, &cb, &c->sink, err, sizeof(err)),
                     KS_OK);
    umask(old);
    struct stat st;
    assert_int_equal(stat(c->path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0666); /* exactly, despite the umask */
    assert_false(c->sink->vt->connected(c->sink));
}

/* Every batch acked and the reader has read all the expected bytes. */
static bool got_all(ctx *c)
{
    return c->n_acked >= c->n_todo && c->rd->got.len >= c->want_len;
}

static bool has_ack1(ctx *c)
{
    return c->n_acked >= 1;
}

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void test_waits_for_reader_without_spinning(void **state)
{
    ctx *c = *state;
    new_sink(c, KS_CODEC_LINES, 4);
    ks_batch *b = make_batch(3, 10, 1);
    c->todo[c->n_todo++] = b;
    pump(c);
    assert_int_equal(c->next_todo, 1); /* accepted while no reader: it waits queued */

    /* Observe 500 ms without a reader: retries every 20 ms means ~25 opens; a spinning
     * implementation would make thousands and burn the CPU. */
    double cpu0 = cpu_ms();
    uint64_t t0 = uv_now(&c->loop);
    run_until(c, NULL, 500);
    uint64_t elapsed = uv_now(&c->loop) - t0;
    double cpu = cpu_ms() - cpu0;
    ks_fifo_sink_stats st = stats(c);
    assert_true(st.open_attempts >= 5);
    assert_true(st.open_attempts <= elapsed / 20 + 3);
    assert_true(cpu < 250.0);
    assert_false(c->sink->vt->connected(c->sink));
    assert_int_equal(c->n_acked + c->n_nacked, 0);

    ks_buf status;
    ks_buf_init(&status);
    c->sink->vt->status_json(c->sink, &status);
    char want[300];
    snprintf(want, sizeof(want),
             "{\"type\":\"fifo\",\"path\":\"%s\",\"reader_connected\":false,\"queued_batches\":1}",
             c->path);
    assert_string_equal(status.data, want);

    reader r;
    reader_open(c, &r, true);
    ks_buf want_bytes;
    ks_buf_init(&want_bytes);
    append_encoding(KS_CODEC_LINES, b, &want_bytes);
    c->rd = &r;
    c->want_len = want_bytes.len;
    assert_true(run_until(c, got_all, 5000));
    assert_ptr_equal(c->acked[0], b);
    assert_true(c->sink->vt->connected(c->sink));
    assert_int_equal(r.got.len, want_bytes.len);
    assert_memory_equal(r.got.data, want_bytes.data, r.got.len);
    ks_buf_reset(&status);
    c->sink->vt->status_json(c->sink, &status);
    assert_non_null(strstr(status.data, "\"reader_connected\":true,\"queued_batches\":0}"));
    ks_buf_clean_up(&status);
    ks_buf_clean_up(&want_bytes);
    reader_done(c, &r);
}

static void test_delivers_in_order(void **state)
{
    ctx *c = *state;
    reader r;
    reader_open(c, &r, true);
    new_sink(c, KS_CODEC_JSON_LINES, 8);
    assert_true(c->sink->vt->connected(c->sink));
    ks_buf want;
    ks_buf_init(&want);
    for (unsigned i = 0; i < 5; i++) {
        c->todo[c->n_todo++] = make_batch(4 + i, 100 * i + 1, i);
        append_encoding(KS_CODEC_JSON_LINES, c->todo[i], &want);
    }
    pump(c);
    assert_int_equal(c->n_acked, 0); /* never synchronously inside submit */
    c->rd = &r;
    c->want_len = want.len;
    assert_true(run_until(c, got_all, 5000));
    for (size_t i = 0; i < c->n_todo; i++)
        assert_ptr_equal(c->acked[i], c->todo[i]);
    assert_int_equal(r.got.len, want.len);
    assert_memory_equal(r.got.data, want.data, want.len);
    ks_buf_clean_up(&want);
    reader_done(c, &r);
}

static int pipe_capacity(int fd)
{
    int cap = fcntl(fd, F_GETPIPE_SZ);
    assert_true(cap > 0);
    return cap;
}

static size_t g_cap;
/* The pipe is full (to within the last partially used page) and the queue too. */
static bool stalled(ctx *c)
{
    ks_fifo_sink_stats st = stats(c);
    return st.bytes_written + 4096 > g_cap && st.queued_batches == 3;
}

static void test_back_pressure(void **state)
{
    ctx *c = *state;
    reader r;
    reader_open(c, &r, false); /* attached, but does not read */
    g_cap = (size_t)pipe_capacity(r.fd);
    new_sink(c, KS_CODEC_LENGTH_PREFIXED, 3);
    ks_buf want;
    ks_buf_init(&want);
    const size_t per = 30000; /* decoded bytes per batch (3 records of 10000) */
    for (unsigned i = 0; i < 12; i++) {
        c->todo[c->n_todo++] = make_batch(3, per / 3, i);
        append_encoding(KS_CODEC_LENGTH_PREFIXED, c->todo[i], &want);
    }
    pump(c);
    assert_int_equal(c->next_todo, 3);
    assert_int_equal(c->refused, 1);
    assert_false(c->sink->vt->writable(c->sink));
    /* The sink fills the pipe, acks what fit, and refills its queue from on_ready;
     * then everything stalls: queue full, nothing more accepted. */
    assert_true(run_until(c, stalled, 5000));
    ks_fifo_sink_stats st0 = stats(c);
    run_until(c, NULL, 100); /* nothing may move while the reader does not read */
    ks_fifo_sink_stats st = stats(c);
    assert_int_equal(st.bytes_written, st0.bytes_written);
    assert_true(st.bytes_written <= g_cap);
    assert_true(st.queued_batches <= 3);
    assert_true(st.queued_bytes <= 3 * (per + 12));
    assert_true(c->next_todo < c->n_todo);
    assert_int_equal(c->next_todo, c->n_acked + st.queued_batches);
    assert_false(c->sink->vt->writable(c->sink));
    size_t ready_before = c->ready_calls;

    reader_start(&r); /* drain */
    c->rd = &r;
    c->want_len = want.len;
    assert_true(run_until(c, got_all, 10000));
    assert_int_equal(c->next_todo, c->n_todo);
    assert_true(c->ready_calls > ready_before);
    for (size_t i = 0; i < c->n_todo; i++)
        assert_ptr_equal(c->acked[i], c->todo[i]);
    assert_int_equal(r.got.len, want.len);
    assert_memory_equal(r.got.data, want.data, want.len);
    ks_buf_clean_up(&want);
    reader_done(c, &r);
}

static bool has_nack(ctx *c)
{
    return c->n_nacked >= 1;
}

static void test_reader_leaves_mid_batch(void **state)
{
    ctx *c = *state;
    reader r1;
    reader_open(c, &r1, false);
    r1.close_after = 10000;
    reader_start(&r1);
    new_sink(c, KS_CODEC_LENGTH_PREFIXED, 4);
    c->resubmit_nacks = true;                 /* what the consumer does with auto_replay_nacks */
    ks_batch *big = make_batch(10, 30000, 9); /* ~300 KB: larger than the pipe */
    c->todo[c->n_todo++] = big;
    ks_buf want;
    ks_buf_init(&want);
    append_encoding(KS_CODEC_LENGTH_PREFIXED, big, &want);
    pump(c);
    assert_true(run_until(c, has_nack, 5000));
    assert_ptr_equal(c->nacked[0], big);
    assert_int_equal(c->n_acked, 0);
    assert_non_null(strstr(c->last_reason, "reader"));
    assert_false(c->sink->vt->connected(c->sink));
    assert_int_equal(r1.got.len, 10000);
    assert_int_equal(stats(c).queued_batches, 1); /* resubmitted, waiting for a reader */

    reader r2;
    reader_open(c, &r2, true);
    c->rd = &r2;
    c->want_len = want.len;
    assert_true(run_until(c, got_all, 5000));
    assert_ptr_equal(c->acked[0], big);
    assert_int_equal(c->n_nacked, 1);
    /* the next reader got the whole batch from its first byte */
    assert_int_equal(r2.got.len, want.len);
    assert_memory_equal(r2.got.data, want.data, want.len);
    assert_int_equal(stats(c).readers, 2);
    ks_buf_clean_up(&want);
    reader_done(c, &r1);
    reader_done(c, &r2);
}

static bool disconnected(ctx *c)
{
    return !c->sink->vt->connected(c->sink);
}

static void test_idle_reader_disconnect_detected(void **state)
{
    ctx *c = *state;
    reader r;
    reader_open(c, &r, true);
    new_sink(c, KS_CODEC_LINES, 4);
    assert_true(c->sink->vt->connected(c->sink));
    reader_close(&r);
    assert_true(run_until(c, disconnected, 5000));
    assert_int_equal(c->n_nacked, 0);
    reader_done(c, &r);
}

static void test_destroy_nacks_everything(void **state)
{
    ctx *c = *state;
    new_sink(c, KS_CODEC_LINES, 4);
    c->todo[c->n_todo++] = make_batch(1, 5, 1);
    c->todo[c->n_todo++] = make_batch(1, 5, 2);
    pump(c);
    ks_sink_destroy(c->sink);
    assert_int_equal(c->n_nacked, 2);
    assert_ptr_equal(c->nacked[0], c->todo[0]);
    assert_ptr_equal(c->nacked[1], c->todo[1]);
    assert_string_equal(c->last_reason, "sink destroyed");
    c->sink = NULL;
}

static bool sink_gone(ctx *c)
{
    return c->sink == NULL;
}

static void test_destroy_from_callback(void **state)
{
    ctx *c = *state;
    reader r;
    reader_open(c, &r, true);
    new_sink(c, KS_CODEC_LINES, 4);
    c->destroy_on_ack = true;
    c->todo[c->n_todo++] = make_batch(1, 5, 1);
    c->todo[c->n_todo++] = make_batch(1, 5, 2);
    pump(c);
    assert_true(run_until(c, has_ack1, 5000));
    /* destroyed inside the first ACK: the second batch is NACKed, not written */
    assert_int_equal(c->n_acked, 1);
    assert_int_equal(c->n_nacked, 1);
    assert_ptr_equal(c->nacked[0], c->todo[1]);
    c->sink = NULL;
    assert_true(sink_gone(c));
    reader_done(c, &r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    ks_log_set_level(KS_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_path_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waits_for_reader_without_spinning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivers_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_back_pressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_leaves_mid_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_reader_disconnect_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_nacks_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_from_callback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
