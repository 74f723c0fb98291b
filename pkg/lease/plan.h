/* Lease decisions as pure functions over (table rows, shard list, my observations, a
 * monotonic "now"). No I/O, no clocks read here: pkg/lease/coordinator.c feeds them.
 *
 * Liveness without clocks (DESIGN 5.2): a peer's lease is expired when the row's
 * (ClientID, LeaseCounter, LeaseTimeout) has not changed for lease_period on MY monotonic
 * clock. The first sighting of an owned row counts as "renewed now". LeaseTimeout is
 * compared only as an opaque string, so rows written by Redpanda Connect (no
 * LeaseCounter) show liveness through their rewritten LeaseTimeout.
 *
 * Strings in inputs are borrowed; actions point into the inputs (rows, shards). */
#ifndef KS_LEASE_PLAN_H
#define KS_LEASE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "kinesis/kinesis.h"

#define KS_SEQ_TRIM_HORIZON "TRIM_HORIZON"
#define KS_SEQ_SHARD_END "SHARD_END"
#define KS_SEQ_AT_TIMESTAMP "AT_TIMESTAMP:"
#define KS_SEQ_LATEST "LATEST"

/* One item of the lease table, decoded (see rows.c). */
typedef struct ks_lease_row {
    const char *shard_id;
    const char *owner;          /* ClientID; NULL = free */
    int64_t counter;            /* LeaseCounter; 0 when absent */
    bool has_counter;           /* false for rows written by Redpanda Connect */
    const char *lease_timeout;  /* LeaseTimeout (informational), NULL when absent */
    const char *sequence;       /* SequenceNumber, NULL when absent */
    const char *handoff_to;     /* HandoffTo, NULL when absent */
    const char *const *parents; /* ParentShardIDs */
    size_t n_parents;
} ks_lease_row;

/* --- start positions --- */
typedef enum ks_position_kind {
    KS_POS_NONE = 0,  /* nothing stored (or unreadable): apply the start policy */
    KS_POS_OK,        /* a position to read from */
    KS_POS_SHARD_END, /* the shard was read to its end */
} ks_position_kind;

typedef struct ks_position {
    ks_iterator_type type;
    const char *sequence; /* AFTER_SEQUENCE_NUMBER: points into the parsed string */
    int64_t timestamp_ms; /* AT_TIMESTAMP */
} ks_position;

/* Parses a stored SequenceNumber: a number -> AFTER it; TRIM_HORIZON; AT_TIMESTAMP:<ms>;
 * LATEST; SHARD_END. */
ks_position_kind ks_lease_parse_position(const char *stored, ks_position *out);
/* The position written into a row that holds none: TRIM_HORIZON for a child shard or
 * with start_from_oldest, else LATEST anchored now as "AT_TIMESTAMP:<wall_ms>". */
void ks_lease_initial_position(bool start_from_oldest, bool is_child, int64_t wall_ms,
                               char out[48]);
/* A shard has "started" once its row holds a real sequence or SHARD_END. */
bool ks_lease_row_started(const ks_lease_row *row);

/* --- observations --- */
typedef struct ks_lease_obs_entry {
    char *shard_id;
    char *owner;
    int64_t counter;
    char *lease_timeout;
    uint64_t changed_ms; /* my monotonic time of the last change seen */
} ks_lease_obs_entry;

typedef struct ks_lease_observer {
    ks_lease_obs_entry *items;
    size_t len;
    size_t cap;
} ks_lease_observer;

void ks_lease_observer_init(ks_lease_observer *o);
void ks_lease_observer_clean_up(ks_lease_observer *o);
/* Records a complete, consistent listing of one stream's rows seen at now_ms. Entries
 * of rows no longer present are forgotten. */
ks_err ks_lease_observer_update(ks_lease_observer *o, const ks_lease_row *rows, size_t n,
                                uint64_t now_ms);
/* Milliseconds since the row last changed as I observed it; 0 if never observed. */
uint64_t ks_lease_observer_age(const ks_lease_observer *o, const char *shard_id, uint64_t now_ms);
/* An owned row unchanged for lease_period_ms. Free rows are never "expired". */
bool ks_lease_row_expired(const ks_lease_observer *o, const ks_lease_row *row, uint64_t now_ms,
                          uint64_t lease_period_ms);

/* --- the balancing plan for one stream --- */
typedef struct ks_plan_handoff {
    const char *shard_id;  /* my outstanding HandoffTo request in this stream */
    const char *peer;      /* owner asked */
    uint64_t requested_ms; /* monotonic time of the request */
} ks_plan_handoff;

typedef struct ks_plan_input {
    const char *me;
    const ks_lease_row *rows; /* every row of the stream (consistent Query) */
    size_t n_rows;
    const ks_shard *shards; /* ListShards (balanced mode) */
    size_t n_shards;
    const char *const *explicit_shards; /* explicit mode when n_explicit > 0 */
    size_t n_explicit;
    const char *const *held; /* shards of this stream I hold (locally, not lost) */
    size_t n_held;
    const ks_lease_observer *obs; /* updated with these rows */
    uint64_t now_ms;
    uint64_t lease_period_ms;
    uint64_t commit_period_ms;
    uint64_t steal_grace_period_ms;
    bool start_from_oldest;
    size_t max_claims;              /* claims left in this cycle */
    bool paused;                    /* draining: claim nothing, ask for nothing */
    bool may_request_handoff;       /* false while any request of mine is outstanding */
    const ks_plan_handoff *pending; /* my request in this stream, or NULL */
    uint32_t seed; /* rotates the choice among equal candidates (peer contention) */
} ks_plan_input;

typedef enum ks_plan_kind {
    KS_PLAN_CLAIM = 0,       /* a new shard, a free row, or my own row I do not hold */
    KS_PLAN_TAKE_EXPIRED,    /* row->owner's lease expired: take it by its counter */
    KS_PLAN_REQUEST_HANDOFF, /* set HandoffTo = me on row (owned by the most loaded peer) */
    KS_PLAN_FORCE_TAKE,      /* my handoff request timed out: take by the counter seen */
    KS_PLAN_DELETE_ROW,      /* shard gone from the stream and its children started */
} ks_plan_kind;

typedef struct ks_plan_action {
    ks_plan_kind kind;
    const char *shard_id;
    const ks_lease_row *row; /* NULL for a shard without a row (new row) */
    const ks_shard *shard;   /* NULL in explicit mode or for a shard gone from the stream */
    bool is_child;           /* a parent is tracked in the table: start at TRIM_HORIZON */
} ks_plan_action;

typedef struct ks_plan_result {
    ks_plan_action *actions;
    size_t n_actions;
    size_t cap;
    size_t claimable;             /* shards that may be read now */
    size_t live_clients;          /* distinct live owners + me */
    size_t target;                /* ceil(claimable / live_clients) */
    size_t mine;                  /* claimable shards I hold */
    size_t claims;                /* CLAIM + TAKE_EXPIRED actions (counted against the cap) */
    bool standby_ok;              /* every claimable shard is held by a live client */
    bool drop_pending;            /* my pending request is resolved or abandoned */
    uint64_t pending_deadline_ms; /* when the pending request may be forced; 0 if none */
} ks_plan_result;

ks_err ks_plan(const ks_plan_input *in, ks_plan_result *out);
void ks_plan_result_clean_up(ks_plan_result *r); /* accepts NULL */
const char *ks_plan_kind_str(ks_plan_kind k);

#endif
