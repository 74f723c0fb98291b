/* ks_batch: the unit of delivery (one shard's records), see sink.h. */
#include <stdlib.h>
#include <string.h>

#include "sink/base64.h"
#include "sink/sink.h"

static uint64_t next_batch_id = 1; /* one thread: a plain counter is enough */

ks_err ks_batch_new(const char *stream, const char *shard_id, ks_batch **out)
{
    ks_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return KS_ERR_NOMEM;
    b->stream = ks_strdup(stream ? stream : "");
    b->shard_id = ks_strdup(shard_id ? shard_id : "");
    if (!b->stream || !b->shard_id) {
        ks_batch_destroy(b);
        return KS_ERR_NOMEM;
    }
    b->id = next_batch_id++;
    *out = b;
    return KS_OK;
}

void ks_out_record_clean_up(ks_out_record *r)
{
    free(r->data_b64); /* the keys live in the same block */
    memset(r, 0, sizeof(*r));
}

ks_err ks_out_record_set(ks_out_record *r, const char *data_b64, size_t data_b64_len,
                         const char *partition_key, const char *sequence_number, int64_t arrival_ms)
{
    if (!data_b64 && data_b64_len)
        return KS_ERR_INVALID;
    const char *pk = partition_key ? partition_key : "";
    const char *seq = sequence_number ? sequence_number : "";
    size_t pk_len = strlen(pk), seq_len = strlen(seq);
    /* data (embedded NULs kept), NUL, key, NUL, sequence, NUL */
    char *block = malloc(data_b64_len + pk_len + seq_len + 3);
    if (!block)
        return KS_ERR_NOMEM;
    memset(r, 0, sizeof(*r));
    if (data_b64_len)
        memcpy(block, data_b64, data_b64_len);
    block[data_b64_len] = '\0';
    r->data_b64 = block;
    r->data_b64_len = data_b64_len;
    r->partition_key = block + data_b64_len + 1;
    memcpy(r->partition_key, pk, pk_len + 1);
    r->sequence_number = r->partition_key + pk_len + 1;
    memcpy(r->sequence_number, seq, seq_len + 1);
    r->arrival_ms = arrival_ms;
    /* Invalid base64 is delivered as the received text (see codec.h), so that is
     * its length then. */
    if (!ks_base64_decoded_len(r->data_b64, data_b64_len, &r->data_len))
        r->data_len = data_b64_len;
    return KS_OK;
}

void ks_batch_destroy(ks_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_records; i++)
        ks_out_record_clean_up(&b->records[i]);
    free(b->records);
    free(b->stream);
    free(b->shard_id);
    free(b);
}

ks_err ks_batch_add(ks_batch *b, const char *data_b64, size_t data_b64_len,
                    const char *partition_key, const char *sequence_number, int64_t arrival_ms)
{
    if (!b)
        return KS_ERR_INVALID;
    if (b->n_records == b->cap_records) {
        size_t cap = b->cap_records ? b->cap_records * 2 : 16;
        ks_out_record *p = realloc(b->records, cap * sizeof(*p));
        if (!p)
            return KS_ERR_NOMEM;
        b->records = p;
        b->cap_records = cap;
    }
    ks_out_record *r = &b->records[b->n_records];
    ks_err err =
        ks_out_record_set(r, data_b64, data_b64_len, partition_key, sequence_number, arrival_ms);
    if (err)
        return err;
    b->n_records++;
    b->data_bytes += r->data_len;
    return KS_OK;
}

const char *ks_batch_last_sequence(const ks_batch *b)
{
    if (!b || b->n_records == 0)
        return NULL;
    return b->records[b->n_records - 1].sequence_number;
}
