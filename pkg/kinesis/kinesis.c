/* Kinesis Data Streams calls over ks_aws_client: one small context per call, decoded
 * with the pure functions of kinesis_codec.c. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "kinesis/kinesis.h"

/* Far more pages than any stream has; guards against a server that never stops paging. */
#define KS_LIST_SHARDS_MAX_PAGES 10000

struct ks_kinesis {
    ks_aws_client *aws;
    uint64_t timeout_ms;
    int list_page_size;
    ks_get_records_scratch scratch; /* reused by GetRecords decoding */
    bool scratch_busy;
};

ks_err ks_kinesis_new(ks_aws_client *aws, ks_kinesis **out)
{
    *out = NULL;
    if (!aws)
        return KS_ERR_INVALID;
    ks_kinesis *k = calloc(1, sizeof(*k));
    if (!k)
        return KS_ERR_NOMEM;
    k->aws = aws;
    k->list_page_size = 1000;
    *out = k;
    return KS_OK;
}

void ks_kinesis_destroy(ks_kinesis *k)
{
    if (!k)
        return;
    ks_get_records_scratch_clean_up(&k->scratch);
    free(k);
}

void ks_kinesis_set_timeout_ms(ks_kinesis *k, uint64_t timeout_ms)
{
    k->timeout_ms = timeout_ms;
}

void ks_kinesis_set_list_page_size(ks_kinesis *k, int max_results)
{
    k->list_page_size = max_results;
}

static ks_err call(ks_kinesis *k, const char *op, ks_buf *body, ks_aws_cb cb, void *ctx)
{
    return ks_aws_call(k->aws, op, body->data, body->len, k->timeout_ms, cb, ctx);
}

/* ------------------------------------------------------------------ ListShards */

typedef struct list_ctx {
    ks_kinesis *k;
    ks_list_shards_state st;
    ks_kinesis_shards_cb cb;
    void *ud;
} list_ctx;

static void list_finish(list_ctx *c, ks_err err)
{
    c->cb(c->ud, err, err ? NULL : c->st.shards, err ? 0 : c->st.n_shards);
    ks_list_shards_state_clean_up(&c->st);
    free(c);
}

static ks_err list_send(list_ctx *c);

static void list_done(void *ud, const ks_aws_result *res)
{
    list_ctx *c = ud;
    ks_err err = res->err;
    if (err) {
        ks_log_fields(KS_LOG_DEBUG, (const ks_log_field[]){{"stream", c->st.stream}}, 1,
                      "ListShards failed: %s %s", ks_err_str(err),
                      res->error_type ? res->error_type : "");
        list_finish(c, err);
        return;
    }
    err = ks_list_shards_consume(&c->st, res->json);
    if (!err && !c->st.done && c->st.pages >= KS_LIST_SHARDS_MAX_PAGES)
        err = KS_ERR_PARSE;
    if (!err && !c->st.done) {
        err = list_send(c);
        if (!err)
            return; /* c now belongs to the next page's callback */
    }
    list_finish(c, err);
}

static ks_err list_send(list_ctx *c)
{
    ks_buf body;
    ks_buf_init(&body);
    ks_err err = ks_list_shards_encode(&c->st, &body);
    if (!err)
        err = call(c->k, "ListShards", &body, list_done, c);
    ks_buf_clean_up(&body);
    return err;
}

ks_err ks_kinesis_list_shards(ks_kinesis *k, const char *stream, ks_kinesis_shards_cb cb, void *ud)
{
    if (!k || !cb)
        return KS_ERR_INVALID;
    list_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return KS_ERR_NOMEM;
    c->k = k;
    c->cb = cb;
    c->ud = ud;
    ks_err err = ks_list_shards_state_init(&c->st, stream, k->list_page_size);
    if (!err)
        err = list_send(c);
    if (err) {
        ks_list_shards_state_clean_up(&c->st);
        free(c);
    }
    return err;
}

/* ------------------------------------------------------------------ GetShardIterator */

typedef union simple_cb {
    ks_kinesis_iterator_cb iterator;
    ks_kinesis_records_cb records;
    ks_kinesis_summary_cb summary;
} simple_cb;

typedef struct simple_ctx {
    ks_kinesis *k;
    simple_cb cb;
    void *ud;
} simple_ctx;

static ks_err simple_start(ks_kinesis *k, const char *op, ks_buf *body, ks_aws_cb done,
                           simple_cb cb, void *ud)
{
    simple_ctx *c = malloc(sizeof(*c));
    if (!c)
        return KS_ERR_NOMEM;
    c->k = k;
    c->cb = cb;
    c->ud = ud;
    ks_err err = call(k, op, body, done, c);
    if (err)
        free(c);
    return err;
}

static void iterator_done(void *ud, const ks_aws_result *res)
{
    simple_ctx *c = ud;
    ks_kinesis_iterator_cb cb = c->cb.iterator;
    const char *it = NULL;
    ks_err err = res->err;
    if (!err)
        err = ks_kinesis_decode_shard_iterator(res->json, &it);
    cb(c->ud, err, err ? NULL : it);
    free(c);
}

ks_err ks_kinesis_get_shard_iterator(ks_kinesis *k, const ks_iterator_request *req,
                                     ks_kinesis_iterator_cb cb, void *ud)
{
    if (!k || !req || !cb)
        return KS_ERR_INVALID;
    ks_buf body;
    ks_buf_init(&body);
    ks_err err = ks_kinesis_encode_get_shard_iterator(req, &body);
    if (!err)
        err = simple_start(k, "GetShardIterator", &body, iterator_done, (simple_cb){.iterator = cb},
                           ud);
    ks_buf_clean_up(&body);
    return err;
}

/* ------------------------------------------------------------------ GetRecords */

static void records_done(void *ud, const ks_aws_result *res)
{
    simple_ctx *c = ud;
    ks_kinesis *k = c->k;
    ks_kinesis_records_cb cb = c->cb.records;
    ks_get_records_result out;
    ks_err err = res->err;
    memset(&out, 0, sizeof(out));
    out.millis_behind_latest = -1;
    if (!err) {
        /* The shared scratch is reused unless a callback is still using it. */
        ks_get_records_scratch local = {0};
        ks_get_records_scratch *s = k->scratch_busy ? &local : &k->scratch;
        bool owner = !k->scratch_busy;
        k->scratch_busy = true;
        err = ks_kinesis_decode_get_records(res->json, s, &out);
        cb(c->ud, err, err ? NULL : &out);
        if (owner)
            k->scratch_busy = false;
        ks_get_records_scratch_clean_up(&local);
    } else {
        cb(c->ud, err, NULL);
    }
    free(c);
}

ks_err ks_kinesis_get_records(ks_kinesis *k, const char *iterator, int limit,
                              ks_kinesis_records_cb cb, void *ud)
{
    if (!k || !cb)
        return KS_ERR_INVALID;
    ks_buf body;
    ks_buf_init(&body);
    ks_err err = ks_kinesis_encode_get_records(iterator, limit, &body);
    if (!err)
        err = simple_start(k, "GetRecords", &body, records_done, (simple_cb){.records = cb}, ud);
    ks_buf_clean_up(&body);
    return err;
}

/* ------------------------------------------------------------------ DescribeStreamSummary */

static void summary_done(void *ud, const ks_aws_result *res)
{
    simple_ctx *c = ud;
    ks_kinesis_summary_cb cb = c->cb.summary;
    ks_stream_summary s;
    ks_err err = res->err;
    if (!err)
        err = ks_kinesis_decode_stream_summary(res->json, &s);
    cb(c->ud, err, err ? NULL : &s);
    free(c);
}

ks_err ks_kinesis_describe_stream_summary(ks_kinesis *k, const char *stream,
                                          ks_kinesis_summary_cb cb, void *ud)
{
    if (!k || !cb)
        return KS_ERR_INVALID;
    ks_buf body;
    ks_buf_init(&body);
    ks_err err = ks_kinesis_encode_describe_stream_summary(stream, &body);
    if (!err)
        err = simple_start(k, "DescribeStreamSummary", &body, summary_done,
                           (simple_cb){.summary = cb}, ud);
    ks_buf_clean_up(&body);
    return err;
}
