/* Websocket delivery (docs/websocket.md): a ks_sink whose batches go to websocket clients
 * of a vhost on the server's lws context, one text message per batch:
 *
 *   {"type":"batch","id":"<id>","stream":"..","shard_id":"..","records":[<json_lines object>...]}
 *
 * Clients answer {"type":"ack","id":".."} or {"type":"nack","id":"..","reason":".."}.
 * - ACK -> KS_DELIVERY_ACK; nack, no answer within ack_timeout, or the client going away
 *   -> KS_DELIVERY_NACK (the consumer replays it; it may go to another client).
 * - Shard affinity: while a client holds batches of a shard, that shard's next batches go
 *   to the same client (per-shard order); otherwise the least-loaded client with fewer than
 *   max_in_flight batches. No client, or no capacity: submit() returns KS_ERR_AGAIN and
 *   on_ready fires when capacity appears.
 * - Malformed JSON, binary frames, messages over KS_WS_MAX_MESSAGE_BYTES, unknown message
 *   types and unknown ids close the connection with a reason (1008/1003/1009) and are
 *   counted. An answer for a batch that already timed out is ignored (counted as late).
 * - With token_file, the handshake must carry "Authorization: Bearer <token>"; otherwise
 *   it is refused with 401 (a wrong path gets 404).
 * Large messages are sent as several frames, one per writeable callback. */
#ifndef KS_SERVER_WS_SINK_H
#define KS_SERVER_WS_SINK_H

#include <stddef.h>

#include "config/config.h"
#include "core/err.h"
#include "metrics/metrics.h"
#include "server/server.h"
#include "sink/sink.h"

#define KS_WS_MAX_MESSAGE_BYTES (1024 * 1024) /* largest client message accepted */
#define KS_WS_FRAME_BYTES (64 * 1024)         /* payload per frame when sending */

/* cfg fields: address (NULL = 127.0.0.1:4196), path (NULL = /records), ack_timeout_ms
 * (<= 0 = 30s), max_in_flight (<= 0 = 64), token_file (NULL = no auth). Nothing in cfg is
 * kept. metrics is borrowed (may be NULL). One websocket sink per server. Destroy the sink
 * (ks_sink_destroy: NACKs what clients hold, closes them) before the server. */
ks_err ks_ws_sink_new(ks_server *srv, const ks_websocket_config *cfg, ks_metrics *metrics,
                      const ks_sink_callbacks *cb, ks_sink **out);

/* The port the websocket vhost listens on (useful with port 0). */
int ks_ws_sink_port(const ks_sink *s);
/* Clients connected (handshake done) and batches they hold. */
size_t ks_ws_sink_clients(const ks_sink *s);
size_t ks_ws_sink_in_flight(const ks_sink *s);

#endif
