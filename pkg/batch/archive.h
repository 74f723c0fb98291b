/* batching.processors: `archive` applied to a batch when it is flushed (Benthos
 * semantics, see docs/delivery.md). Each archive replaces the batch's records with a
 * single record whose data is the base64 of the archive and whose sequence number,
 * partition key and arrival time are those of the batch's last record (so the
 * checkpoint moves exactly as for the unarchived batch). Formats, on decoded bytes:
 *   concatenate  the records' bytes back to back
 *   lines        the records' bytes joined with "\n" (no trailing newline)
 *   json_array   "[" + the records' JSON texts (trimmed, verbatim) joined by "," + "]";
 *                every record must be JSON, else KS_ERR_PARSE and the batch is unchanged
 *   binary       4-byte big-endian record count, then per record a 4-byte big-endian
 *                length and the bytes (Benthos' binary archive format)
 * Invalid base64 counts as the received text (as in the codecs). An empty batch is
 * left as is. */
#ifndef KS_BATCH_ARCHIVE_H
#define KS_BATCH_ARCHIVE_H

#include <stddef.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "sink/sink.h"

/* Appends the archive of b's records (decoded) to out. */
ks_err ks_archive_encode(ks_archive_format format, const ks_batch *b, ks_buf *out, char *err,
                         size_t errlen);

/* Applies the processors in order. On error b is unchanged (earlier processors of the
 * list may have been applied) and err says why. */
ks_err ks_archive_apply_ex(const ks_processor_config *procs, size_t n, ks_batch *b, char *err,
                           size_t errlen);
ks_err ks_archive_apply(const ks_processor_config *procs, size_t n, ks_batch *b);

/* ks_archive_format_name() is in config/config.h. */

#endif
