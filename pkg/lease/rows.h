/* Lease table items <-> ks_lease_row (DynamoDB AttributeValue JSON, plain cJSON so this
 * file needs nothing but core). Internal to pkg/lease. */
#ifndef KS_LEASE_ROWS_H
#define KS_LEASE_ROWS_H

#include <cJSON.h>

#include "core/err.h"
#include "lease/plan.h"

#define KS_ATTR_STREAM "StreamID"
#define KS_ATTR_SHARD "ShardID"
#define KS_ATTR_OWNER "ClientID"
#define KS_ATTR_COUNTER "LeaseCounter"
#define KS_ATTR_TIMEOUT "LeaseTimeout"
#define KS_ATTR_SEQUENCE "SequenceNumber"
#define KS_ATTR_PARENTS "ParentShardIDs"
#define KS_ATTR_HANDOFF "HandoffTo"

/* Decodes an item; every string is copied (free with ks_lease_row_clean_up).
 * KS_ERR_PARSE when ShardID is missing. A missing LeaseCounter reads as 0 with
 * has_counter false (rows written by Redpanda Connect); NULL values count as absent. */
ks_err ks_lease_row_decode(const cJSON *item, ks_lease_row *out);
void ks_lease_row_clean_up(ks_lease_row *r);

/* AttributeValue builders; NULL on allocation failure. */
cJSON *ks_lease_av_s(const char *s);
cJSON *ks_lease_av_n(int64_t n);
cJSON *ks_lease_av_ss(const char *const *v, size_t n);
/* {"StreamID":{"S":stream},"ShardID":{"S":shard}} */
cJSON *ks_lease_item_key(const char *stream, const char *shard_id);

#endif
