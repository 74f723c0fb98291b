/* DynamoDB calls over ks_aws_client: table management (ensure_table polls with a uv
 * timer), paginated consistent Query, GetItem and conditional writes. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "dynamo/dynamo.h"

/* Guards against a server that never stops paging. */
#define KS_QUERY_MAX_PAGES 100000

struct ks_dynamo {
    ks_aws_client *aws;
    uint64_t timeout_ms;
    int query_page_limit;
    uint64_t poll_interval_ms;
};

ks_err ks_dynamo_new(ks_aws_client *aws, ks_dynamo **out)
{
    *out = NULL;
    if (!aws)
        return KS_ERR_INVALID;
    ks_dynamo *d = calloc(1, sizeof(*d));
    if (!d)
        return KS_ERR_NOMEM;
    d->aws = aws;
    d->poll_interval_ms = 250;
    *out = d;
    return KS_OK;
}

void ks_dynamo_destroy(ks_dynamo *d)
{
    free(d);
}

void ks_dynamo_set_timeout_ms(ks_dynamo *d, uint64_t timeout_ms)
{
    d->timeout_ms = timeout_ms;
}

void ks_dynamo_set_query_page_limit(ks_dynamo *d, int limit)
{
    d->query_page_limit = limit > 0 ? limit : 0;
}

void ks_dynamo_set_poll_interval_ms(ks_dynamo *d, uint64_t interval_ms)
{
    d->poll_interval_ms = interval_ms ? interval_ms : 1;
}

static ks_err send_buf(ks_dynamo *d, const char *op, ks_buf *body, ks_aws_cb cb, void *ctx)
{
    ks_err err = ks_aws_call(d->aws, op, body->data, body->len, d->timeout_ms, cb, ctx);
    ks_buf_clean_up(body);
    return err;
}

static const cJSON *member(const cJSON *json, const char *name)
{
    const cJSON *v = json ? cJSON_GetObjectItemCaseSensitive(json, name) : NULL;
    return v && !cJSON_IsNull(v) ? v : NULL;
}

/* ------------------------------------------------------------------ simple calls */

typedef union simple_cb {
    ks_dynamo_done_cb done;
    ks_dynamo_table_cb table;
    ks_dynamo_item_cb item;
} simple_cb;

typedef struct simple_ctx {
    simple_cb cb;
    void *ud;
    const char *member; /* response member passed to item callbacks */
} simple_ctx;

static ks_err simple_start(ks_dynamo *d, const char *op, ks_buf *body, ks_aws_cb done, simple_cb cb,
                           void *ud, const char *member_name)
{
    simple_ctx *c = malloc(sizeof(*c));
    if (!c) {
        ks_buf_clean_up(body);
        return KS_ERR_NOMEM;
    }
    c->cb = cb;
    c->ud = ud;
    c->member = member_name;
    ks_err err = send_buf(d, op, body, done, c);
    if (err)
        free(c);
    return err;
}

static void done_cb(void *ud, const ks_aws_result *res)
{
    simple_ctx *c = ud;
    c->cb.done(c->ud, res->err);
    free(c);
}

static void table_cb(void *ud, const ks_aws_result *res)
{
    simple_ctx *c = ud;
    const char *status = NULL;
    ks_err err = res->err;
    if (!err)
        err = ks_dynamo_decode_table_status(res->json, &status);
    c->cb.table(c->ud, err, err ? NULL : status);
    free(c);
}

static void item_cb(void *ud, const ks_aws_result *res)
{
    simple_ctx *c = ud;
    const cJSON *item = res->err ? NULL : member(res->json, c->member);
    c->cb.item(c->ud, res->err, cJSON_IsObject(item) ? item : NULL);
    free(c);
}

ks_err ks_dynamo_create_table(ks_dynamo *d, const ks_table_spec *spec, ks_dynamo_done_cb cb,
                              void *ud)
{
    if (!d || !cb)
        return KS_ERR_INVALID;
    ks_buf body;
    ks_buf_init(&body);
    ks_err err = ks_dynamo_encode_create_table(spec, &body);
    if (err) {
        ks_buf_clean_up(&body);
        return err;
    }
    return simple_start(d, "CreateTable", &body, done_cb, (simple_cb){.done = cb}, ud, NULL);
}

ks_err ks_dynamo_describe_table(ks_dynamo *d, const char *table, ks_dynamo_table_cb cb, void *ud)
{
    if (!d || !cb)
        return KS_ERR_INVALID;
    ks_buf body;
    ks_buf_init(&body);
    ks_err err = ks_dynamo_encode_describe_table(table, &body);
    if (err) {
        ks_buf_clean_up(&body);
        return err;
    }
    return simple_start(d, "DescribeTable", &body, table_cb, (simple_cb){.table = cb}, ud, NULL);
}

ks_err ks_dynamo_get_item(ks_dynamo *d, const char *table, const cJSON *key, bool consistent,
                          ks_dynamo_item_cb cb, void *ud)
{
    if (!d || !cb)
        return KS_ERR_INVALID;
    ks_buf body;
    ks_buf_init(&body);
    ks_err err = ks_dynamo_encode_get_item(table, key, consistent, &body);
    if (err) {
        ks_buf_clean_up(&body);
        return err;
    }
    return simple_start(d, "GetItem", &body, item_cb, (simple_cb){.item = cb}, ud, "Item");
}

static ks_err write_call(ks_dynamo *d, ks_dynamo_write_kind kind, const char *op,
                         const ks_dynamo_write *w, ks_dynamo_item_cb cb, void *ud)
{
    if (!d || !cb)
        return KS_ERR_INVALID;
    ks_buf body;
    ks_buf_init(&body);
    ks_err err = ks_dynamo_encode_write(kind, w, &body);
    if (err) {
        ks_buf_clean_up(&body);
        return err;
    }
    return simple_start(d, op, &body, item_cb, (simple_cb){.item = cb}, ud, "Attributes");
}

ks_err ks_dynamo_update_item(ks_dynamo *d, const ks_dynamo_write *w, ks_dynamo_item_cb cb, void *ud)
{
    return write_call(d, KS_DDB_UPDATE, "UpdateItem", w, cb, ud);
}

ks_err ks_dynamo_delete_item(ks_dynamo *d, const ks_dynamo_write *w, ks_dynamo_item_cb cb, void *ud)
{
    return write_call(d, KS_DDB_DELETE, "DeleteItem", w, cb, ud);
}

ks_err ks_dynamo_put_item(ks_dynamo *d, const ks_dynamo_write *w, ks_dynamo_item_cb cb, void *ud)
{
    return write_call(d, KS_DDB_PUT, "PutItem", w, cb, ud);
}

/* ------------------------------------------------------------------ Query (all pages) */

typedef struct query_ctx {
    ks_dynamo *d;
    char *table;
    char *hash_key;
    char *hash_value;
    cJSON *start_key; /* LastEvaluatedKey of the previous page (owned) */
    cJSON *items;     /* array of copies of every item so far (owned) */
    int pages;
    ks_dynamo_items_cb cb;
    void *ud;
} query_ctx;

static void query_free(query_ctx *c)
{
    free(c->table);
    free(c->hash_key);
    free(c->hash_value);
    cJSON_Delete(c->start_key);
    cJSON_Delete(c->items);
    free(c);
}

static void query_finish(query_ctx *c, ks_err err)
{
    size_t n = err ? 0 : (size_t)cJSON_GetArraySize(c->items);
    const cJSON **v = NULL;
    if (n) {
        v = calloc(n, sizeof(cJSON *));
        if (!v) {
            err = KS_ERR_NOMEM;
            n = 0;
        }
    }
    size_t i = 0;
    for (const cJSON *e = n ? c->items->child : NULL; e && i < n; e = e->next)
        v[i++] = e;
    c->cb(c->ud, err, err ? NULL : (const cJSON *const *)v, err ? 0 : n);
    free((void *)v);
    query_free(c);
}

static ks_err query_send(query_ctx *c);

static void query_done(void *ud, const ks_aws_result *res)
{
    query_ctx *c = ud;
    ks_err err = res->err;
    const cJSON *page = NULL;
    if (!err) {
        page = member(res->json, "Items");
        if (page && !cJSON_IsArray(page))
            err = KS_ERR_PARSE;
    }
    const cJSON *src = err ? NULL : page;
    const cJSON *it;
    cJSON_ArrayForEach(it, src)
    {
        cJSON *copy = cJSON_Duplicate(it, 1);
        if (!copy || !cJSON_AddItemToArray(c->items, copy)) {
            cJSON_Delete(copy);
            err = KS_ERR_NOMEM;
            break;
        }
    }
    cJSON_Delete(c->start_key);
    c->start_key = NULL;
    const cJSON *lek = err ? NULL : member(res->json, "LastEvaluatedKey");
    if (lek && cJSON_IsObject(lek) && lek->child) {
        c->start_key = cJSON_Duplicate(lek, 1);
        if (!c->start_key)
            err = KS_ERR_NOMEM;
        else if (++c->pages >= KS_QUERY_MAX_PAGES)
            err = KS_ERR_PARSE;
        if (!err) {
            err = query_send(c);
            if (!err)
                return;
        }
    }
    query_finish(c, err);
}

static ks_err query_send(query_ctx *c)
{
    ks_buf body;
    ks_buf_init(&body);
    ks_err err = ks_dynamo_encode_query(c->table, c->hash_key, c->hash_value, c->start_key,
                                        c->d->query_page_limit, &body);
    if (err) {
        ks_buf_clean_up(&body);
        return err;
    }
    return send_buf(c->d, "Query", &body, query_done, c);
}

ks_err ks_dynamo_query_all(ks_dynamo *d, const char *table, const char *hash_key,
                           const char *hash_value, ks_dynamo_items_cb cb, void *ud)
{
    if (!d || !cb || !table || !hash_key || !hash_value)
        return KS_ERR_INVALID;
    query_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return KS_ERR_NOMEM;
    c->d = d;
    c->cb = cb;
    c->ud = ud;
    c->table = ks_strdup(table);
    c->hash_key = ks_strdup(hash_key);
    c->hash_value = ks_strdup(hash_value);
    c->items = cJSON_CreateArray();
    ks_err err = c->table && c->hash_key && c->hash_value && c->items ? KS_OK : KS_ERR_NOMEM;
    if (!err)
        err = query_send(c);
    if (err)
        query_free(c);
    return err;
}

/* ------------------------------------------------------------------ ensure_table */

typedef struct ensure_ctx {
    ks_dynamo *d;
    uv_timer_t timer;
    ks_table_spec spec;
    char *table;
    char *hash_key;
    char *range_key;
    bool create;
    bool created;         /* CreateTable sent (or a peer was creating it) */
    uint64_t deadline_ms; /* uv_now() based */
    ks_dynamo_done_cb cb;
    void *ud;
} ensure_ctx;

static void ensure_closed(uv_handle_t *h)
{
    ensure_ctx *c = h->data;
    free(c->table);
    free(c->hash_key);
    free(c->range_key);
    free(c);
}

static void ensure_finish(ensure_ctx *c, ks_err err)
{
    c->cb(c->ud, err);
    uv_close((uv_handle_t *)&c->timer, ensure_closed);
}

static void ensure_describe(ensure_ctx *c);

static void ensure_tick(uv_timer_t *t)
{
    ensure_ctx *c = t->data;
    if (uv_now(t->loop) >= c->deadline_ms) {
        ks_log_fields(KS_LOG_ERROR, (const ks_log_field[]){{"table", c->table}}, 1,
                      "DynamoDB table did not become ACTIVE in time");
        ensure_finish(c, KS_ERR_TIMEOUT);
        return;
    }
    ensure_describe(c);
}

static void ensure_later(ensure_ctx *c)
{
    if (uv_timer_start(&c->timer, ensure_tick, c->d->poll_interval_ms, 0) != 0)
        ensure_finish(c, KS_ERR_IO);
}

static void ensure_created(void *ud, ks_err err)
{
    ensure_ctx *c = ud;
    if (err == KS_ERR_AWS_IN_USE)
        err = KS_OK; /* another replica is creating it: wait for ACTIVE like it does */
    if (err) {
        ks_log_fields(KS_LOG_ERROR, (const ks_log_field[]){{"table", c->table}}, 1,
                      "DynamoDB CreateTable failed: %s", ks_err_str(err));
        ensure_finish(c, err);
        return;
    }
    ks_log_fields(KS_LOG_INFO, (const ks_log_field[]){{"table", c->table}}, 1,
                  "DynamoDB table created, waiting for ACTIVE");
    c->created = true;
    ensure_later(c);
}

static void ensure_described(void *ud, const ks_aws_result *res)
{
    ensure_ctx *c = ud;
    ks_err err = res->err;
    if (err == KS_ERR_AWS_RESOURCE_NOT_FOUND && c->created) {
        ensure_later(c); /* DescribeTable may lag CreateTable on AWS */
        return;
    }
    if (err == KS_ERR_AWS_RESOURCE_NOT_FOUND && c->create) {
        err = ks_dynamo_create_table(c->d, &c->spec, ensure_created, c);
        if (err)
            ensure_finish(c, err);
        return;
    }
    if (err == KS_ERR_AWS_RESOURCE_NOT_FOUND) {
        ks_log_fields(KS_LOG_ERROR, (const ks_log_field[]){{"table", c->table}}, 1,
                      "DynamoDB table does not exist and dynamodb.create is false");
        ensure_finish(c, err);
        return;
    }
    if (err && ks_err_is_retryable(err) && uv_now(c->timer.loop) < c->deadline_ms) {
        ensure_later(c);
        return;
    }
    const char *status = NULL;
    if (!err)
        err = ks_dynamo_decode_table_status(res->json, &status);
    if (!err && ks_dynamo_check_key_schema(res->json, c->hash_key, c->range_key) != KS_OK) {
        ks_log_fields(KS_LOG_ERROR, (const ks_log_field[]){{"table", c->table}}, 1,
                      "DynamoDB table key schema is not HASH %s, RANGE %s", c->hash_key,
                      c->range_key);
        err = KS_ERR_INVALID;
    }
    if (err) {
        ensure_finish(c, err);
        return;
    }
    if (strcmp(status, "ACTIVE") == 0 || strcmp(status, "UPDATING") == 0) {
        ensure_finish(c, KS_OK);
        return;
    }
    if (strcmp(status, "CREATING") != 0) {
        ks_log_fields(KS_LOG_ERROR, (const ks_log_field[]){{"table", c->table}}, 1,
                      "DynamoDB table is %s", status);
        ensure_finish(c, KS_ERR_AWS_OTHER);
        return;
    }
    ensure_later(c);
}

static void ensure_describe(ensure_ctx *c)
{
    ks_buf body;
    ks_buf_init(&body);
    ks_err err = ks_dynamo_encode_describe_table(c->table, &body);
    if (!err)
        err = send_buf(c->d, "DescribeTable", &body, ensure_described, c);
    else
        ks_buf_clean_up(&body);
    if (err)
        ensure_finish(c, err);
}

ks_err ks_dynamo_ensure_table(ks_dynamo *d, uv_loop_t *loop, const ks_table_spec *spec, bool create,
                              uint64_t timeout_ms, ks_dynamo_done_cb cb, void *ud)
{
    if (!d || !loop || !spec || !spec->table || !*spec->table || !spec->hash_key ||
        !spec->range_key || !cb)
        return KS_ERR_INVALID;
    ensure_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return KS_ERR_NOMEM;
    c->d = d;
    c->cb = cb;
    c->ud = ud;
    c->create = create;
    c->table = ks_strdup(spec->table);
    c->hash_key = ks_strdup(spec->hash_key);
    c->range_key = ks_strdup(spec->range_key);
    if (!c->table || !c->hash_key || !c->range_key || uv_timer_init(loop, &c->timer) != 0) {
        free(c->table);
        free(c->hash_key);
        free(c->range_key);
        free(c);
        return KS_ERR_NOMEM;
    }
    c->timer.data = c;
    c->spec = *spec;
    c->spec.table = c->table;
    c->spec.hash_key = c->hash_key;
    c->spec.range_key = c->range_key;
    c->deadline_ms = uv_now(loop) + (timeout_ms ? timeout_ms : 60000);
    ks_buf body;
    ks_buf_init(&body);
    ks_err err = ks_dynamo_encode_describe_table(c->table, &body);
    if (!err)
        err = send_buf(d, "DescribeTable", &body, ensure_described, c);
    else
        ks_buf_clean_up(&body);
    if (err) /* the timer handle is initialised: close it before freeing */
        uv_close((uv_handle_t *)&c->timer, ensure_closed);
    return err;
}
