/* Integration driver for pkg/dynamo against a real endpoint (dynalite in e2e
 * tests).
 *
 *   dynamo_itest ENDPOINT 'JSON array of operations'
 *
 * Runs the operations one after the other and prints {"results":[...]} on
 * stdout, one result per operation: {"err":"ok"|"aws_condition_failed"|...,
 * ...}. Operations:
 *   {"op":"ensure","table":T,"billing":"PAY_PER_REQUEST"|"PROVISIONED","rcu":1,"wcu":1,
 *    "create":true,"timeout_ms":10000}
 *   {"op":"describe","table":T}                                  -> "status"
 *   {"op":"update"|"delete"|"put","table":T,"key":{...},"update":E,"condition":E,
 *    "names":{...},"values":{...},"return":"ALL_NEW"}             -> "item" (or
 * null)
 *   {"op":"get","table":T,"key":{...},"consistent":true}          -> "item" (or
 * null)
 *   {"op":"query","table":T,"hash_key":K,"hash_value":V,"page_limit":N} ->
 * "items" Exit 0 when every operation ran (whatever its AWS outcome), 1 on a
 * harness failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "aws/client.h"
#include "core/log.h"
#include "dynamo/dynamo.h"
#include "itest_util.h"

typedef struct app {
    uv_loop_t *loop;
    uv_timer_t deadline;
    ks_http *http;
    ks_aws_client *aws;
    ks_dynamo *d;
    cJSON *ops;
    cJSON *cur; /* current operation */
    cJSON *results;
    cJSON *out;
    bool done;
    int rc;
} app;

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *obj(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsObject(v) ? v : NULL;
}

static double num(const cJSON *o, const char *k, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static void next_op(app *a);

static cJSON *result(app *a, ks_err err)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "op", str(a->cur, "op"));
    cJSON_AddStringToObject(r, "err", err ? ks_err_str(err) : "ok");
    cJSON_AddItemToArray(a->results, r);
    return r;
}

static void on_done(void *ud, ks_err err)
{
    app *a = ud;
    if (a->done)
        return;
    result(a, err);
    next_op(a);
}

static void on_table(void *ud, ks_err err, const char *status)
{
    app *a = ud;
    if (a->done)
        return;
    cJSON *r = result(a, err);
    if (status)
        cJSON_AddStringToObject(r, "status", status);
    next_op(a);
}

static void on_item(void *ud, ks_err err, const cJSON *item)
{
    app *a = ud;
    if (a->done)
        return;
    cJSON *r = result(a, err);
    cJSON_AddItemToObject(r, "item", item ? cJSON_Duplicate(item, 1) : cJSON_CreateNull());
    next_op(a);
}

static void on_items(void *ud, ks_err err, const cJSON *const *items, size_t n)
{
    app *a = ud;
    if (a->done)
        return;
    cJSON *r = result(a, err);
    cJSON *arr = cJSON_AddArrayToObject(r, "items");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_Duplicate(items[i], 1));
    next_op(a);
}

static ks_err start_op(app *a, const cJSON *op)
{
    const char *name = str(op, "op");
    const char *table = str(op, "table");
    if (!name)
        return KS_ERR_INVALID;
    if (strcmp(name, "ensure") == 0) {
        const char *billing = str(op, "billing");
        ks_table_spec spec = {
            .table = table,
            .hash_key = "StreamID",
            .range_key = "ShardID",
            .billing_mode = billing && strcmp(billing, "PROVISIONED") == 0
                                ? KS_BILLING_PROVISIONED
                                : KS_BILLING_PAY_PER_REQUEST,
            .read_capacity_units = (int64_t)num(op, "rcu", 1),
            .write_capacity_units = (int64_t)num(op, "wcu", 1),
        };
        ks_dynamo_set_poll_interval_ms(a->d, 50);
        return ks_dynamo_ensure_table(a->d, a->loop, &spec,
                                      cJSON_IsTrue(cJSON_GetObjectItem(op, "create")),
                                      (uint64_t)num(op, "timeout_ms", 10000), on_done, a);
    }
    if (strcmp(name, "describe") == 0)
        return ks_dynamo_describe_table(a->d, table, on_table, a);
    if (strcmp(name, "get") == 0)
        return ks_dynamo_get_item(a->d, table, obj(op, "key"),
                                  !cJSON_IsFalse(cJSON_GetObjectItem(op, "consistent")), on_item,
                                  a);
    if (strcmp(name, "query") == 0) {
        ks_dynamo_set_query_page_limit(a->d, (int)num(op, "page_limit", 0));
        return ks_dynamo_query_all(a->d, table, str(op, "hash_key"), str(op, "hash_value"),
                                   on_items, a);
    }
    ks_dynamo_write w = {.table = table,
                         .key = obj(op, "key"),
                         .update_expression = str(op, "update"),
                         .condition_expression = str(op, "condition"),
                         .names = obj(op, "names"),
                         .values = obj(op, "values"),
                         .return_values = str(op, "return")};
    if (strcmp(name, "update") == 0)
        return ks_dynamo_update_item(a->d, &w, on_item, a);
    if (strcmp(name, "delete") == 0)
        return ks_dynamo_delete_item(a->d, &w, on_item, a);
    if (strcmp(name, "put") == 0)
        return ks_dynamo_put_item(a->d, &w, on_item, a);
    return KS_ERR_INVALID;
}

static void next_op(app *a)
{
    a->cur = a->cur ? a->cur->next : a->ops->child;
    if (!a->cur) {
        a->done = true;
        uv_timer_stop(&a->deadline);
        return;
    }
    ks_err err = start_op(a, a->cur);
    if (err) {
        cJSON *r = result(a, err);
        cJSON_AddBoolToObject(r, "start_failed", 1);
        next_op(a);
    }
}

static void on_deadline(uv_timer_t *t)
{
    app *a = t->data;
    a->done = true;
    a->rc = 1;
    cJSON_AddStringToObject(a->out, "error", "timeout");
    ks_aws_client_destroy(a->aws);
    a->aws = NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s ENDPOINT 'JSON operations'\n", argv[0]);
        return 2;
    }
    ks_log_set_level(KS_LOG_WARN);
    app a = {.loop = uv_default_loop()};
    a.ops = cJSON_Parse(argv[2]);
    if (!cJSON_IsArray(a.ops)) {
        fprintf(stderr, "operations must be a JSON array\n");
        cJSON_Delete(a.ops);
        return 2;
    }
    cJSON *out = cJSON_CreateObject();
    a.results = cJSON_AddArrayToObject(out, "results");
    ks_itest_deadline_start(a.loop, &a.deadline, on_deadline, &a, 60000);
    ks_err err = ks_http_new(a.loop, &a.http);
    if (!err)
        err = ks_itest_aws_new(a.http, KS_ITEST_DYNAMODB, argv[1], 20000, &a.aws);
    if (!err)
        err = ks_dynamo_new(a.aws, &a.d);
    if (err) {
        cJSON_AddStringToObject(out, "error", ks_err_str(err));
        a.rc = 1;
    } else {
        next_op(&a);
        ks_itest_run(a.loop, &a.done);
    }
    ks_aws_client_destroy(a.aws);
    ks_http_destroy(a.http);
    ks_itest_deadline_close(a.loop, &a.deadline); /* lets ensure_table timers close too */
    ks_dynamo_destroy(a.d);
    uv_loop_close(a.loop);
    ks_itest_print(out);
    cJSON_Delete(out);
    cJSON_Delete(a.ops);
    return a.rc;
}
