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

/* Copies n bytes exactly (embedded NULs included) and terminates them. */
static char *dup_bytes(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void record_clean_up(ks_out_record *r)
{
    free(r->data_b64);
    free(r->partition_key);
    free(r->sequence_number);
    memset(r, 0, sizeof(*r));
}

void ks_batch_destroy(ks_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_records; i++)
        record_clean_up(&b->records[i]);
    free(b->records);
    free(b->stream);
    free(b->shard_id);
    free(b);
}

ks_err ks_batch_add(ks_batch *b, const char *data_b64, size_t data_b64_len,
                    const char *partition_key, const char *sequence_number, int64_t arrival_ms)
{
    if (!b || (!data_b64 && data_b64_len))
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
    memset(r, 0, sizeof(*r));
    r->data_b64 = dup_bytes(data_b64, data_b64_len);
    r->data_b64_len = data_b64_len;
    r->partition_key = ks_strdup(partition_key ? partition_key : "");
    r->sequence_number = ks_strdup(sequence_number ? sequence_number : "");
    r->arrival_ms = arrival_ms;
    if (!r->data_b64 || !r->partition_key || !r->sequence_number) {
        record_clean_up(r);
        return KS_ERR_NOMEM;
    }
    /* Invalid base64 is delivered as the received text (see codec.h), so that is
     * its length then. */
    if (!ks_base64_decoded_len(r->data_b64, data_b64_len, &r->data_len))
        r->data_len = data_b64_len;
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
