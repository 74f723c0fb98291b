/* The FIFO sink: batches are encoded with the configured codec and written to a
 * named pipe that the main container reads. See docs/delivery.md.
 *
 * - The FIFO is created (mkfifo + chmod to the exact configured mode) when missing
 *   and create is true; a missing path with create=false, or a path that exists but
 *   is not a FIFO, is an error of ks_fifo_sink_new.
 * - It is opened O_WRONLY|O_NONBLOCK. ENXIO means "no reader yet": the sink retries
 *   the open on a uv timer every retry_ms (default 150 ms) — a cheap syscall, no
 *   spinning; Linux has no notification for "a reader opened the FIFO".
 * - Writes are driven by a uv_poll on the fd. A batch is ACKed once all of its bytes
 *   were accepted by write(2), i.e. are in the kernel pipe buffer (not that the reader
 *   processed them). A reader that goes away (EPIPE, or POLLERR while idle) NACKs the
 *   batch being written and every queued one; the fd is closed and the sink waits
 *   for the next reader. The caller resubmits NACKed batches; each is written again
 *   from its first byte.
 * - Back-pressure: at most max_queued_batches batches / max_queued_bytes encoded
 *   bytes are held (a single batch larger than the byte cap is accepted when the
 *   queue is empty). submit() returns KS_ERR_AGAIN when full; on_ready runs once
 *   space frees up. Batches are accepted while no reader is attached (they wait).
 * - SIGPIPE: ks_fifo_sink_new sets SIGPIPE to SIG_IGN if it is at its default
 *   disposition (a write to a pipe without reader must not kill the process).
 * - destroy() NACKs every batch held (synchronously), then closes its handles; run the
 *   loop afterwards so the close callbacks free the memory. destroy() may be called
 *   from inside this sink's callbacks (it is then deferred to the end of the dispatch).
 * - submit() after destroy() returns KS_ERR_CLOSED (the batch stays the caller's). */
#ifndef KS_SINK_FIFO_H
#define KS_SINK_FIFO_H

#include <stdint.h>

#include <uv.h>

#include "config/config.h"
#include "sink/sink.h"

typedef struct ks_fifo_sink_options {
    uint64_t retry_ms;         /* open retry while no reader; 0 -> 150 */
    size_t max_queued_batches; /* 0 -> 4 */
    size_t max_queued_bytes;   /* 0 -> 8 MiB */
} ks_fifo_sink_options;

typedef struct ks_fifo_sink_stats {
    uint64_t open_attempts; /* open(2) calls on the FIFO */
    uint64_t readers;       /* times a reader was attached */
    uint64_t batches_acked;
    uint64_t batches_nacked;
    uint64_t bytes_written;
    uint64_t invalid_base64_records; /* delivered as received text, see codec.h */
    size_t queued_batches;
    size_t queued_bytes;
    bool reader_connected;
} ks_fifo_sink_stats;

/* cfg and cb are copied. On failure the reason is logged and *out is untouched. */
ks_err ks_fifo_sink_new(uv_loop_t *loop, const ks_fifo_config *cfg, const ks_sink_callbacks *cb,
                        ks_sink **out);
/* Same with options (NULL = defaults) and the failure reason in errbuf (may be NULL). */
ks_err ks_fifo_sink_new_ex(uv_loop_t *loop, const ks_fifo_config *cfg,
                           const ks_fifo_sink_options *opts, const ks_sink_callbacks *cb,
                           ks_sink **out, char *errbuf, size_t errlen);

/* s must be a FIFO sink. */
void ks_fifo_sink_get_stats(const ks_sink *s, ks_fifo_sink_stats *out);

/* Creates the FIFO if needed (see above). Exposed for `lint`/preflight checks. */
ks_err ks_fifo_ensure(const char *path, uint32_t mode, bool create, char *errbuf, size_t errlen);

#endif
