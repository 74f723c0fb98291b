/* FIFO sink, see fifo.h for the contract. */
#include "sink/fifo.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "sink/codec.h"

#define FIFO_DEFAULT_RETRY_MS 150
#define FIFO_DEFAULT_MAX_BATCHES 4
#define FIFO_DEFAULT_MAX_BYTES (8u << 20)

typedef struct fifo_item {
    struct fifo_item *next;
    ks_batch *batch;
    char *data; /* encoded bytes */
    size_t len;
    size_t off; /* bytes already written */
} fifo_item;

typedef struct fifo_sink {
    ks_sink base;
    uv_loop_t *loop;
    char *path;
    ks_codec codec;
    bool create;
    uint32_t mode;
    ks_fifo_sink_options opt;
    uv_timer_t timer;
    uv_poll_t *poll; /* one per attached reader; NULL when none */
    int fd;
    fifo_item *head, *tail;
    int open_handles;     /* handles not yet closed (timer + polls being closed) */
    int cb_depth;         /* > 0 while a user callback runs */
    bool want_ready;      /* a submit was refused: call on_ready when space frees */
    bool destroyed;       /* destroy() done: handles closing */
    bool destroy_pending; /* destroy() called from a callback */
    int last_open_errno;  /* to log each kind of open failure once */
    ks_fifo_sink_stats st;
} fifo_sink;

static const ks_sink_vtable fifo_vt;

static void set_err(char *errbuf, size_t errlen, const char *fmt, const char *path, int e)
{
    if (errbuf && errlen) {
        snprintf(errbuf, errlen, fmt, path, e ? strerror(e) : "");
    }
}

ks_err ks_fifo_ensure(const char *path, uint32_t mode, bool create, char *errbuf, size_t errlen)
{
    struct stat st;
    if (!path || !*path) {
        set_err(errbuf, errlen, "output.fifo.path is empty%s%s", "", 0);
        return KS_ERR_INVALID;
    }
    for (int tries = 0; tries < 2; tries++) {
        if (stat(path, &st) == 0) {
            if (!S_ISFIFO(st.st_mode)) {
                set_err(errbuf, errlen, "%s exists and is not a FIFO%s", path, 0);
                return KS_ERR_INVALID;
            }
            return KS_OK;
        }
        if (errno != ENOENT) {
            set_err(errbuf, errlen, "stat %s: %s", path, errno);
            return KS_ERR_IO;
        }
        if (!create) {
            set_err(errbuf, errlen, "%s does not exist and output.fifo.create is false%s", path, 0);
            return KS_ERR_NOT_FOUND;
        }
        if (mkfifo(path, (mode_t)(mode & 07777)) == 0) {
            /* mkfifo applies the umask: set the configured mode exactly. */
            if (chmod(path, (mode_t)(mode & 07777)) != 0) {
                set_err(errbuf, errlen, "chmod %s: %s", path, errno);
                return KS_ERR_IO;
            }
            ks_log_fields(KS_LOG_INFO, (const ks_log_field[]){{"path", path}}, 1, "created FIFO");
            return KS_OK;
        }
        if (errno != EEXIST) {
            set_err(errbuf, errlen, "mkfifo %s: %s", path, errno);
            return KS_ERR_IO;
        }
        /* Created concurrently: stat again. */
    }
    set_err(errbuf, errlen, "%s: cannot create FIFO%s", path, 0);
    return KS_ERR_IO;
}

/* ---- callbacks to the owner ---------------------------------------------------- */

static void emit_result(fifo_sink *s, ks_batch *b, ks_delivery d, const char *reason)
{
    if (d == KS_DELIVERY_ACK)
        s->st.batches_acked++;
    else
        s->st.batches_nacked++;
    s->cb_depth++;
    s->base.cb.on_result(s->base.cb.ud, b, d, reason);
    s->cb_depth--;
}

static bool fifo_writable(const ks_sink *base)
{
    const fifo_sink *s = (const fifo_sink *)base;
    if (s->destroyed || s->destroy_pending)
        return false;
    if (s->st.queued_batches == 0)
        return true;
    return s->st.queued_batches < s->opt.max_queued_batches &&
           s->st.queued_bytes < s->opt.max_queued_bytes;
}

static void maybe_ready(fifo_sink *s)
{
    if (!s->want_ready || !fifo_writable(&s->base))
        return;
    s->want_ready = false;
    if (s->base.cb.on_ready) {
        s->cb_depth++;
        s->base.cb.on_ready(s->base.cb.ud);
        s->cb_depth--;
    }
}

static void free_item(fifo_item *it)
{
    free(it->data);
    free(it);
}

/* Takes the whole queue out (so callbacks may submit again) and NACKs it in order. */
static void nack_all(fifo_sink *s, const char *reason)
{
    fifo_item *it = s->head;
    s->head = s->tail = NULL;
    s->st.queued_batches = 0;
    s->st.queued_bytes = 0;
    while (it) {
        fifo_item *next = it->next;
        ks_batch *b = it->batch;
        free_item(it);
        emit_result(s, b, KS_DELIVERY_NACK, reason);
        it = next;
    }
}

/* ---- handles ------------------------------------------------------------------- */

static void free_sink(fifo_sink *s)
{
    free(s->path);
    free(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    fifo_sink *s = h->data;
    if (h->type == UV_POLL)
        free(h);
    if (--s->open_handles == 0 && s->destroyed)
        free_sink(s);
}

static void close_reader(fifo_sink *s)
{
    if (s->poll) {
        uv_close((uv_handle_t *)s->poll, on_handle_closed); /* stops it first */
        s->poll = NULL;
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    s->st.reader_connected = false;
}

static void on_timer(uv_timer_t *t);
static void on_poll(uv_poll_t *p, int status, int events);

static void schedule_open(fifo_sink *s)
{
    if (!s->destroyed)
        uv_timer_start(&s->timer, on_timer, s->opt.retry_ms, 0);
}

static void update_poll(fifo_sink *s)
{
    if (!s->poll)
        return;
    int events = UV_DISCONNECT | (s->head ? UV_WRITABLE : 0);
    int rc = uv_poll_start(s->poll, events, on_poll);
    if (rc != 0)
        KS_ERROR("FIFO: uv_poll_start failed: %s", uv_strerror(rc));
}

static void reader_lost(fifo_sink *s, const char *reason)
{
    ks_log_fields(KS_LOG_INFO, (const ks_log_field[]){{"path", s->path}, {"reason", reason}}, 2,
                  "FIFO reader went away; waiting for the next reader");
    close_reader(s);
    schedule_open(s);
    nack_all(s, reason);
    maybe_ready(s);
}

/* One open attempt; on success the reader is attached and writes start. */
static void try_open(fifo_sink *s)
{
    s->st.open_attempts++;
    int fd = open(s->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT && s->create) {
            char err[256];
            if (ks_fifo_ensure(s->path, s->mode, true, err, sizeof(err)) != KS_OK &&
                e != s->last_open_errno)
                KS_WARN("FIFO: %s", err);
        } else if (e != ENXIO && e != s->last_open_errno) {
            ks_log_fields(KS_LOG_WARN, (const ks_log_field[]){{"path", s->path}}, 1,
                          "FIFO: open failed (will retry): %s", strerror(e));
        }
        if (e != s->last_open_errno && e == ENXIO)
            ks_log_fields(KS_LOG_INFO, (const ks_log_field[]){{"path", s->path}}, 1,
                          "waiting for a FIFO reader");
        s->last_open_errno = e;
        schedule_open(s);
        return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
        if (s->last_open_errno != -1)
            ks_log_fields(KS_LOG_ERROR, (const ks_log_field[]){{"path", s->path}}, 1,
                          "FIFO path is no longer a FIFO; not writing to it");
        s->last_open_errno = -1;
        close(fd);
        schedule_open(s);
        return;
    }
    uv_poll_t *p = malloc(sizeof(*p));
    if (!p || uv_poll_init(s->loop, p, fd) != 0) {
        free(p);
        close(fd);
        KS_ERROR("FIFO: cannot watch the FIFO fd");
        schedule_open(s);
        return;
    }
    p->data = s;
    s->open_handles++;
    s->poll = p;
    s->fd = fd;
    s->last_open_errno = 0;
    s->st.readers++;
    s->st.reader_connected = true;
    ks_log_fields(KS_LOG_INFO, (const ks_log_field[]){{"path", s->path}}, 1,
                  "FIFO reader attached");
    update_poll(s);
}

/* Writes queued bytes until the pipe is full or the queue is empty. */
static void flush(fifo_sink *s)
{
    while (s->head && s->fd >= 0) {
        fifo_item *it = s->head;
        if (it->off < it->len) {
            ssize_t n = write(s->fd, it->data + it->off, it->len - it->off);
            if (n < 0) {
                int e = errno;
                if (e == EINTR)
                    continue;
                if (e == EAGAIN || e == EWOULDBLOCK)
                    break;
                reader_lost(s, e == EPIPE ? "reader closed the FIFO" : strerror(e));
                return;
            }
            it->off += (size_t)n;
            s->st.bytes_written += (uint64_t)n;
            if (it->off < it->len)
                continue;
        }
        s->head = it->next;
        if (!s->head)
            s->tail = NULL;
        s->st.queued_batches--;
        s->st.queued_bytes -= it->len;
        ks_batch *b = it->batch;
        free_item(it);
        emit_result(s, b, KS_DELIVERY_ACK, NULL);
        if (s->destroy_pending)
            return;
    }
    update_poll(s);
    maybe_ready(s);
}

static void fifo_destroy_now(fifo_sink *s);

static void after_dispatch(fifo_sink *s)
{
    if (s->destroy_pending && s->cb_depth == 0)
        fifo_destroy_now(s);
}

static void on_timer(uv_timer_t *t)
{
    fifo_sink *s = t->data;
    if (s->fd < 0)
        try_open(s);
    after_dispatch(s);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    fifo_sink *s = p->data;
    if (p != s->poll)
        return; /* stale handle of a previous reader */
    if (status < 0 || (events & UV_DISCONNECT))
        reader_lost(s, "reader closed the FIFO");
    else if (events & UV_WRITABLE)
        flush(s);
    after_dispatch(s);
}

/* ---- vtable -------------------------------------------------------------------- */

static ks_err fifo_submit(ks_sink *base, ks_batch *b)
{
    fifo_sink *s = (fifo_sink *)base;
    if (s->destroyed || s->destroy_pending)
        return KS_ERR_CLOSED;
    if (!fifo_writable(base)) {
        s->want_ready = true;
        return KS_ERR_AGAIN;
    }
    fifo_item *it = calloc(1, sizeof(*it));
    if (!it)
        return KS_ERR_NOMEM;
    ks_buf buf;
    ks_buf_init(&buf);
    size_t bad = 0;
    ks_err err = ks_codec_encode(s->codec, b, &buf, &bad);
    if (!err && buf.len == 0)
        err = ks_buf_reserve(&buf, 0); /* empty batch: still a valid (empty) item */
    if (err) {
        ks_buf_clean_up(&buf);
        free(it);
        return err;
    }
    s->st.invalid_base64_records += bad;
    it->batch = b;
    it->data = buf.data;
    it->len = buf.len;
    if (s->tail)
        s->tail->next = it;
    else
        s->head = it;
    s->tail = it;
    s->st.queued_batches++;
    s->st.queued_bytes += it->len;
    update_poll(s); /* the write happens on the loop, never inside submit */
    return KS_OK;
}

static bool fifo_connected(const ks_sink *base)
{
    return ((const fifo_sink *)base)->fd >= 0;
}

static void fifo_status_json(const ks_sink *base, ks_buf *out)
{
    const fifo_sink *s = (const fifo_sink *)base;
    ks_buf_append_str(out, "{\"type\":\"fifo\",\"path\":");
    ks_buf_append_json_str(out, s->path, strlen(s->path));
    ks_buf_appendf(out, ",\"reader_connected\":%s,\"queued_batches\":%zu}",
                   s->fd >= 0 ? "true" : "false", s->st.queued_batches);
}

static void fifo_destroy_now(fifo_sink *s)
{
    s->destroy_pending = false;
    s->destroyed = true;
    close_reader(s);
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_handle_closed);
    nack_all(s, "sink destroyed");
}

static void fifo_destroy(ks_sink *base)
{
    fifo_sink *s = (fifo_sink *)base;
    if (s->destroyed || s->destroy_pending)
        return;
    if (s->cb_depth > 0) {
        s->destroy_pending = true; /* finished by after_dispatch() */
        return;
    }
    fifo_destroy_now(s);
}

static const ks_sink_vtable fifo_vt = {
    .name = "fifo",
    .submit = fifo_submit,
    .writable = fifo_writable,
    .connected = fifo_connected,
    .status_json = fifo_status_json,
    .destroy = fifo_destroy,
};

static void ignore_sigpipe(void)
{
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGPIPE, &sa, NULL);
    }
}

ks_err ks_fifo_sink_new_ex(uv_loop_t *loop, const ks_fifo_config *cfg,
                           const ks_fifo_sink_options *opts, const ks_sink_callbacks *cb,
                           ks_sink **out, char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!loop || !cfg || !cb || !cb->on_result || !out) {
        set_err(errbuf, errlen, "invalid argument%s%s", "", 0);
        return KS_ERR_INVALID;
    }
    ks_err err = ks_fifo_ensure(cfg->path, cfg->mode, cfg->create, errbuf, errlen);
    if (err)
        return err;
    fifo_sink *s = calloc(1, sizeof(*s));
    if (!s || !(s->path = ks_strdup(cfg->path))) {
        free(s);
        return KS_ERR_NOMEM;
    }
    s->base.vt = &fifo_vt;
    s->base.cb = *cb;
    s->loop = loop;
    s->codec = cfg->codec;
    s->create = cfg->create;
    s->mode = cfg->mode;
    s->fd = -1;
    if (opts)
        s->opt = *opts;
    if (!s->opt.retry_ms)
        s->opt.retry_ms = FIFO_DEFAULT_RETRY_MS;
    if (!s->opt.max_queued_batches)
        s->opt.max_queued_batches = FIFO_DEFAULT_MAX_BATCHES;
    if (!s->opt.max_queued_bytes)
        s->opt.max_queued_bytes = FIFO_DEFAULT_MAX_BYTES;
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    s->open_handles = 1;
    ignore_sigpipe();
    try_open(s);
    *out = &s->base;
    return KS_OK;
}

ks_err ks_fifo_sink_new(uv_loop_t *loop, const ks_fifo_config *cfg, const ks_sink_callbacks *cb,
                        ks_sink **out)
{
    char err[512];
    ks_err e = ks_fifo_sink_new_ex(loop, cfg, NULL, cb, out, err, sizeof(err));
    if (e)
        ks_log_fields(KS_LOG_ERROR,
                      (const ks_log_field[]){{"path", cfg && cfg->path ? cfg->path : ""}}, 1,
                      "FIFO sink: %s", err[0] ? err : ks_err_str(e));
    return e;
}

void ks_fifo_sink_get_stats(const ks_sink *base, ks_fifo_sink_stats *out)
{
    const fifo_sink *s = (const fifo_sink *)base;
    *out = s->st;
    out->reader_connected = s->fd >= 0;
}
