/* Kinesis JSON 1.1 request encoders and tolerant response decoders (pure functions). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kinesis/kinesis.h"

/* A member that is present and not JSON null. */
static const cJSON *field(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static const char *field_str(const cJSON *obj, const char *name)
{
    const cJSON *v = field(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool field_int(const cJSON *obj, const char *name, int64_t *out)
{
    const cJSON *v = field(obj, name);
    if (cJSON_IsNumber(v) && fabs(v->valuedouble) < 9e18) { /* else not an int64 */
        *out = (int64_t)v->valuedouble;
        return true;
    }
    if (cJSON_IsString(v) && v->valuestring[0]) {
        char *end = NULL;
        errno = 0;
        long long n = strtoll(v->valuestring, &end, 10);
        if (errno == 0 && end && *end == '\0') {
            *out = n;
            return true;
        }
    }
    return false;
}

static ks_err append_str(ks_buf *out, const char *s)
{
    return ks_buf_append_json_str(out, s, strlen(s));
}

const char *ks_iterator_type_name(ks_iterator_type t)
{
    switch (t) {
    case KS_ITER_TRIM_HORIZON:
        return "TRIM_HORIZON";
    case KS_ITER_LATEST:
        return "LATEST";
    case KS_ITER_AT_SEQUENCE_NUMBER:
        return "AT_SEQUENCE_NUMBER";
    case KS_ITER_AFTER_SEQUENCE_NUMBER:
        return "AFTER_SEQUENCE_NUMBER";
    case KS_ITER_AT_TIMESTAMP:
        return "AT_TIMESTAMP";
    }
    return NULL;
}

ks_err ks_kinesis_encode_stream_field(const char *stream, ks_buf *out)
{
    if (!stream || !*stream)
        return KS_ERR_INVALID;
    ks_err err = ks_buf_append_str(out, strncmp(stream, "arn:", 4) == 0 ? "\"StreamARN\":"
                                                                        : "\"StreamName\":");
    return err ? err : append_str(out, stream);
}

ks_err ks_kinesis_encode_get_shard_iterator(const ks_iterator_request *req, ks_buf *out)
{
    const char *type = req ? ks_iterator_type_name(req->type) : NULL;
    if (!type || !req->shard_id || !*req->shard_id)
        return KS_ERR_INVALID;
    bool needs_seq =
        req->type == KS_ITER_AT_SEQUENCE_NUMBER || req->type == KS_ITER_AFTER_SEQUENCE_NUMBER;
    if (needs_seq && (!req->sequence_number || !*req->sequence_number))
        return KS_ERR_INVALID;
    if (req->type == KS_ITER_AT_TIMESTAMP && req->timestamp_ms < 0)
        return KS_ERR_INVALID;
    ks_err err = ks_buf_append_char(out, '{');
    if (!err)
        err = ks_kinesis_encode_stream_field(req->stream, out);
    if (!err)
        err = ks_buf_append_str(out, ",\"ShardId\":");
    if (!err)
        err = append_str(out, req->shard_id);
    if (!err)
        err = ks_buf_appendf(out, ",\"ShardIteratorType\":\"%s\"", type);
    if (!err && needs_seq) {
        err = ks_buf_append_str(out, ",\"StartingSequenceNumber\":");
        if (!err)
            err = append_str(out, req->sequence_number);
    }
    if (!err && req->type == KS_ITER_AT_TIMESTAMP)
        err =
            ks_buf_appendf(out, ",\"Timestamp\":%lld.%03lld", (long long)(req->timestamp_ms / 1000),
                           (long long)(req->timestamp_ms % 1000));
    if (!err)
        err = ks_buf_append_char(out, '}');
    return err;
}

ks_err ks_kinesis_encode_get_records(const char *iterator, int limit, ks_buf *out)
{
    if (!iterator || !*iterator || limit < 0 || limit > 10000)
        return KS_ERR_INVALID;
    ks_err err = ks_buf_append_str(out, "{\"ShardIterator\":");
    if (!err)
        err = append_str(out, iterator);
    if (!err && limit > 0)
        err = ks_buf_appendf(out, ",\"Limit\":%d", limit);
    if (!err)
        err = ks_buf_append_char(out, '}');
    return err;
}

ks_err ks_kinesis_encode_describe_stream_summary(const char *stream, ks_buf *out)
{
    ks_err err = ks_buf_append_char(out, '{');
    if (!err)
        err = ks_kinesis_encode_stream_field(stream, out);
    if (!err)
        err = ks_buf_append_char(out, '}');
    return err;
}

bool ks_kinesis_decode_epoch_ms(const cJSON *v, int64_t *out_ms)
{
    double secs;
    if (!v || cJSON_IsNull(v))
        return false;
    if (cJSON_IsNumber(v)) {
        secs = v->valuedouble;
    } else if (cJSON_IsString(v) && v->valuestring[0]) {
        char *end = NULL;
        secs = strtod(v->valuestring, &end);
        if (!end || *end != '\0')
            return false;
    } else {
        return false;
    }
    if (!isfinite(secs) || secs < 0 || secs > 1e11)
        return false;
    *out_ms = (int64_t)llround(secs * 1000.0);
    return true;
}

void ks_get_records_scratch_clean_up(ks_get_records_scratch *s)
{
    if (!s)
        return;
    free(s->records);
    free(s->children);
    free((void *)s->parents);
    memset(s, 0, sizeof(*s));
}

/* The array p (*cap elements of elem bytes) with room for need elements: p itself, or p
 * reallocated (capacity doubling from 16). NULL when out of memory (p is left as it was),
 * and when nothing is needed and nothing was allocated. */
static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap && (p || need == 0))
        return p;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(p, n * elem);
    if (q)
        *cap = n;
    return q;
}

static ks_err decode_child_shards(const cJSON *arr, ks_get_records_scratch *s,
                                  ks_get_records_result *out)
{
    size_t n = 0, n_parents = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        const cJSON *ps = field(c, "ParentShards");
        n++;
        n_parents += cJSON_IsArray(ps) ? (size_t)cJSON_GetArraySize(ps) : 0;
    }
    ks_child_shard *children = grow(s->children, &s->children_cap, n, sizeof(*s->children));
    if (n && !children)
        return KS_ERR_NOMEM;
    s->children = children;
    const char **parents = grow(s->parents, &s->parents_cap, n_parents, sizeof(*s->parents));
    if (n_parents && !parents)
        return KS_ERR_NOMEM;
    s->parents = parents;
    size_t i = 0, pi = 0;
    cJSON_ArrayForEach(c, arr)
    {
        const char *id = field_str(c, "ShardId");
        if (!id)
            return KS_ERR_PARSE;
        ks_child_shard *cs = &s->children[i++];
        cs->shard_id = id;
        cs->parent_shard_ids = s->parents ? s->parents + pi : NULL; /* none allocated yet */
        cs->n_parents = 0;
        const cJSON *ps = field(c, "ParentShards");
        const cJSON *p;
        if (cJSON_IsArray(ps)) {
            cJSON_ArrayForEach(p, ps)
            {
                if (cJSON_IsString(p) && pi < n_parents) { /* counted above */
                    s->parents[pi++] = p->valuestring;
                    cs->n_parents++;
                }
            }
        }
    }
    out->child_shards = s->children;
    out->n_child_shards = n;
    return KS_OK;
}

ks_err ks_kinesis_decode_get_records(const cJSON *json, ks_get_records_scratch *s,
                                     ks_get_records_result *out)
{
    memset(out, 0, sizeof(*out));
    out->millis_behind_latest = -1;
    if (!cJSON_IsObject(json))
        return KS_ERR_PARSE;
    const cJSON *recs = field(json, "Records");
    if (recs && !cJSON_IsArray(recs))
        return KS_ERR_PARSE;
    size_t n = recs ? (size_t)cJSON_GetArraySize(recs) : 0;
    ks_record *records = grow(s->records, &s->records_cap, n, sizeof(*s->records));
    if (n && !records)
        return KS_ERR_NOMEM;
    s->records = records;
    size_t i = 0, bytes = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, recs)
    {
        ks_record *rec = &s->records[i];
        const char *seq = field_str(r, "SequenceNumber");
        if (!seq)
            return KS_ERR_PARSE;
        const char *data = field_str(r, "Data");
        rec->data_b64 = data ? data : "";
        rec->data_b64_len = data ? strlen(data) : 0;
        rec->partition_key = field_str(r, "PartitionKey");
        if (!rec->partition_key)
            rec->partition_key = "";
        rec->sequence_number = seq;
        if (!ks_kinesis_decode_epoch_ms(field(r, "ApproximateArrivalTimestamp"), &rec->arrival_ms))
            rec->arrival_ms = 0;
        rec->explicit_hash_key = field_str(r, "ExplicitHashKey");
        bytes += rec->data_b64_len + strlen(rec->partition_key) + strlen(seq);
        i++;
    }
    out->records = s->records;
    out->n_records = n;
    out->next_iterator = field_str(json, "NextShardIterator");
    if (out->next_iterator && !*out->next_iterator)
        out->next_iterator = NULL;
    int64_t mbl;
    if (field_int(json, "MillisBehindLatest", &mbl))
        out->millis_behind_latest = mbl;
    const cJSON *children = field(json, "ChildShards");
    if (cJSON_IsArray(children)) {
        ks_err err = decode_child_shards(children, s, out);
        if (err)
            return err;
    }
    out->response_bytes = bytes;
    return KS_OK;
}

ks_err ks_kinesis_decode_shard_iterator(const cJSON *json, const char **iterator)
{
    const char *it = cJSON_IsObject(json) ? field_str(json, "ShardIterator") : NULL;
    *iterator = it;
    return it && *it ? KS_OK : KS_ERR_PARSE;
}

ks_err ks_kinesis_decode_stream_summary(const cJSON *json, ks_stream_summary *out)
{
    memset(out, 0, sizeof(*out));
    const cJSON *sum = cJSON_IsObject(json) ? field(json, "StreamDescriptionSummary") : NULL;
    if (!cJSON_IsObject(sum))
        return KS_ERR_PARSE;
    out->stream_name = field_str(sum, "StreamName");
    out->stream_arn = field_str(sum, "StreamARN");
    out->stream_status = field_str(sum, "StreamStatus");
    if (!field_int(sum, "OpenShardCount", &out->open_shard_count))
        out->open_shard_count = -1;
    return KS_OK;
}

/* ------------------------------------------------------------ ListShards pagination */

ks_err ks_list_shards_state_init(ks_list_shards_state *st, const char *stream, int max_results)
{
    memset(st, 0, sizeof(*st));
    if (!stream || !*stream)
        return KS_ERR_INVALID;
    st->max_results = max_results > 0 && max_results <= 10000 ? max_results : 1000;
    st->stream = ks_strdup(stream);
    return st->stream ? KS_OK : KS_ERR_NOMEM;
}

static void shard_free(ks_shard *s)
{
    free((void *)s->shard_id);
    free((void *)s->parent_shard_id);
    free((void *)s->adjacent_parent_shard_id);
    free((void *)s->starting_sequence);
    free((void *)s->ending_sequence);
    free((void *)s->starting_hash_key);
    free((void *)s->ending_hash_key);
}

void ks_list_shards_state_clean_up(ks_list_shards_state *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n_shards; i++)
        shard_free(&st->shards[i]);
    free(st->shards);
    free(st->stream);
    free(st->next_token);
    memset(st, 0, sizeof(*st));
}

ks_err ks_list_shards_encode(const ks_list_shards_state *st, ks_buf *out)
{
    ks_err err = ks_buf_append_char(out, '{');
    if (!err && st->next_token) {
        err = ks_buf_append_str(out, "\"NextToken\":");
        if (!err)
            err = append_str(out, st->next_token);
    } else if (!err) {
        err = ks_kinesis_encode_stream_field(st->stream, out);
    }
    if (!err)
        err = ks_buf_appendf(out, ",\"MaxResults\":%d}", st->max_results);
    return err;
}

/* strdup of an optional string; *ok becomes false on allocation failure. */
static const char *dup_opt(const char *s, bool *ok)
{
    if (!s)
        return NULL;
    char *d = ks_strdup(s);
    if (!d)
        *ok = false;
    return d;
}

ks_err ks_list_shards_consume(ks_list_shards_state *st, const cJSON *page)
{
    if (!cJSON_IsObject(page))
        return KS_ERR_PARSE;
    const cJSON *arr = field(page, "Shards");
    if (arr && !cJSON_IsArray(arr))
        return KS_ERR_PARSE;
    const cJSON *sh;
    cJSON_ArrayForEach(sh, arr)
    {
        if (!field_str(sh, "ShardId"))
            return KS_ERR_PARSE;
    }
    size_t n = arr ? (size_t)cJSON_GetArraySize(arr) : 0;
    ks_shard *shards = grow(st->shards, &st->cap, st->n_shards + n, sizeof(*st->shards));
    if (st->n_shards + n && !shards)
        return KS_ERR_NOMEM;
    st->shards = shards;
    cJSON_ArrayForEach(sh, arr)
    {
        const cJSON *seq = field(sh, "SequenceNumberRange");
        const cJSON *hash = field(sh, "HashKeyRange");
        ks_shard s;
        bool ok = true;
        s.shard_id = dup_opt(field_str(sh, "ShardId"), &ok);
        s.parent_shard_id = dup_opt(field_str(sh, "ParentShardId"), &ok);
        s.adjacent_parent_shard_id = dup_opt(field_str(sh, "AdjacentParentShardId"), &ok);
        s.starting_sequence = dup_opt(field_str(seq, "StartingSequenceNumber"), &ok);
        s.ending_sequence = dup_opt(field_str(seq, "EndingSequenceNumber"), &ok);
        s.starting_hash_key = dup_opt(field_str(hash, "StartingHashKey"), &ok);
        s.ending_hash_key = dup_opt(field_str(hash, "EndingHashKey"), &ok);
        if (!ok) {
            shard_free(&s);
            return KS_ERR_NOMEM;
        }
        st->shards[st->n_shards++] = s;
    }
    free(st->next_token);
    st->next_token = NULL;
    const char *tok = field_str(page, "NextToken");
    if (tok && *tok) {
        st->next_token = ks_strdup(tok);
        if (!st->next_token)
            return KS_ERR_NOMEM;
    }
    st->pages++;
    st->done = st->next_token == NULL;
    return KS_OK;
}
