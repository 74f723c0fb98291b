/* The per-shard batching policy of `input.aws_kinesis.batching` (Benthos semantics):
 * a batch is flushed when it reaches `count` records, when its decoded size reaches
 * `byte_size`, when `check` is true for the record just added, or when `period` has
 * passed since its first record (the timer belongs to the caller: period_ms()).
 * `processors` (archive) are applied to a batch as it is flushed.
 *
 * A config with no trigger and no processors (or only count: 1) is a no-op policy:
 * enabled() is false and the caller batches per GetRecords page (DESIGN.md section 6).
 * Processors without any trigger are a configuration error (as in Benthos). */
#ifndef KS_BATCH_POLICY_H
#define KS_BATCH_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/err.h"
#include "sink/sink.h"

typedef struct ks_batch_policy ks_batch_policy;

/* cfg is copied (check compiled once). KS_ERR_INVALID / KS_ERR_PARSE with a message
 * in err ("batching.check: unsupported function 'now()' at column 1"). */
ks_err ks_batch_policy_new(const ks_batching_config *cfg, ks_batch_policy **out, char *err,
                           size_t errlen);
void ks_batch_policy_destroy(ks_batch_policy *p); /* accepts NULL */

bool ks_batch_policy_enabled(const ks_batch_policy *p);
int64_t ks_batch_policy_period_ms(const ks_batch_policy *p); /* 0 = no period */

/* Call after adding just_added to b: true when b must be flushed now. A check that
 * fails at runtime counts as false (logged: the first failure, then every 1000th). */
bool ks_batch_policy_should_flush(ks_batch_policy *p, const ks_batch *b,
                                  const ks_out_record *just_added);

/* Applies the processors to b as it is flushed. On failure (json_array over non-JSON
 * records) the batch is left unarchived, the reason is logged, and the error returned:
 * the caller delivers b as it is (nothing is lost). */
ks_err ks_batch_policy_flush(ks_batch_policy *p, ks_batch *b);

uint64_t ks_batch_policy_check_errors(const ks_batch_policy *p);

#endif
