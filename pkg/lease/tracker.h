/* Per-shard checkpoint tracker (pure, no I/O).
 *
 * Batches are dispatched in shard order (each with its first and last sequence number
 * and a record count) and acknowledged in any order. The checkpoint is the last
 * sequence of the longest prefix of finished batches: every record at or below it is
 * acknowledged (or dropped by policy). Nacked batches either stay blocking the
 * checkpoint until acknowledged on a replay (auto_replay_nacks: true) or count as
 * finished and are tallied as dropped (false).
 *
 * "In flight" is the number of records dispatched and not yet below the checkpoint
 * (unacknowledged records plus acknowledged ones held back by an older unacknowledged
 * batch): compare it with checkpoint_limit before dispatching more.
 *
 * Kinesis sequence numbers are decimal strings of up to 128 bits: ks_seq_cmp compares
 * them by length then lexically (leading zeros ignored); they are never converted to
 * numbers. Ownership: the tracker copies every string it is given. */
#ifndef KS_LEASE_TRACKER_H
#define KS_LEASE_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* <0, 0, >0 like strcmp, for decimal sequence numbers. NULL sorts first. */
int ks_seq_cmp(const char *a, const char *b);
/* True when s is a non-empty string of decimal digits (a real sequence number,
 * not a sentinel such as TRIM_HORIZON). */
bool ks_seq_is_number(const char *s);

typedef struct ks_tracker ks_tracker;

/* initial_checkpoint: the stored checkpoint the shard resumes after (copied), or NULL. */
ks_err ks_tracker_new(bool auto_replay_nacks, const char *initial_checkpoint, ks_tracker **out);
void ks_tracker_destroy(ks_tracker *t); /* accepts NULL */

/* Records a batch handed to the sink. Sequences must increase: first <= last and first
 * greater than the previous batch's last (KS_ERR_INVALID otherwise). count >= 1.
 * *id_out identifies the batch in ack/nack. */
ks_err ks_tracker_dispatch(ks_tracker *t, const char *first_seq, const char *last_seq, size_t count,
                           uint64_t *id_out);

/* The batch was acknowledged. *advanced (may be NULL) tells whether the checkpoint
 * moved. KS_ERR_NOT_FOUND for an unknown or already finished batch. */
ks_err ks_tracker_ack(ks_tracker *t, uint64_t id, bool *advanced);

/* The batch was rejected. With auto_replay_nacks the batch keeps blocking the
 * checkpoint and *replay is set: deliver it again, then ack/nack the same id. Without,
 * it counts as finished (dropped) and *replay is false. *advanced as for ack. */
ks_err ks_tracker_nack(ks_tracker *t, uint64_t id, bool *replay, bool *advanced);

/* Current checkpoint (valid until the next call on t), NULL when none yet. */
const char *ks_tracker_checkpoint(const ks_tracker *t);
/* Records dispatched and not yet below the checkpoint. */
size_t ks_tracker_in_flight(const ks_tracker *t);
/* Records dispatched and neither acknowledged nor dropped. */
size_t ks_tracker_unacked(const ks_tracker *t);
size_t ks_tracker_batches(const ks_tracker *t);         /* batches not yet below the checkpoint */
uint64_t ks_tracker_nacked_total(const ks_tracker *t);  /* nacks seen (batches) */
uint64_t ks_tracker_dropped_total(const ks_tracker *t); /* records dropped by policy */
/* Last sequence dispatched (NULL when nothing was): where reading continues. */
const char *ks_tracker_last_dispatched(const ks_tracker *t);

/* Forgets every batch (lease lost or handed over); the checkpoint is kept. */
void ks_tracker_clear(ks_tracker *t);

#endif
