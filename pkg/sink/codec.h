/* Byte encodings of records for the FIFO (and the JSON record object the websocket
 * sink reuses). See docs/delivery.md for examples.
 *
 *   lines            decoded data + "\n" per record
 *   json_lines       one JSON object per record + "\n":
 *                    {"data":<base64 as received>,"partition_key":..,"sequence_number":..,
 *                     "shard_id":..,"stream":..,"arrival_timestamp":"2026-...123Z"}
 *   length_prefixed  4-byte big-endian length + decoded data per record
 *
 * Invalid base64 (never sent by Kinesis, but it comes from the network): the decoding
 * codecs deliver the received text unchanged as the record's bytes, log a WARN naming
 * stream, shard and sequence number, and count it (n_invalid). The record is neither
 * dropped nor allowed to stall the shard. json_lines passes data through untouched. */
#ifndef KS_SINK_CODEC_H
#define KS_SINK_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "sink/sink.h"

/* ks_codec_name() is in config/config.h. */

/* Appends one record's JSON object (no newline) with exactly the keys listed above. */
ks_err ks_codec_record_json(const ks_batch *b, const ks_out_record *r, ks_buf *out);

/* Appends one record in the given codec. *invalid (may be NULL) is set to whether the
 * record's base64 was invalid (and already logged). */
ks_err ks_codec_encode_record(ks_codec codec, const ks_batch *b, const ks_out_record *r,
                              ks_buf *out, bool *invalid);

/* Appends every record of b. *n_invalid (may be NULL) receives the number of records
 * with invalid base64. On error out may hold a partial encoding: reset it. */
ks_err ks_codec_encode(ks_codec codec, const ks_batch *b, ks_buf *out, size_t *n_invalid);

#endif
