/* Integration driver for pkg/kinesis against a real endpoint (kinesalite in e2e
 * tests).
 *
 *   kinesis_itest ENDPOINT list-shards STREAM
 *   kinesis_itest ENDPOINT summary STREAM
 *   kinesis_itest ENDPOINT read STREAM SHARD TYPE [ARG] [LIMIT]
 *     TYPE: TRIM_HORIZON | LATEST | AT_SEQUENCE_NUMBER | AFTER_SEQUENCE_NUMBER
 * | AT_TIMESTAMP ARG: the sequence number, or epoch ms for AT_TIMESTAMP ("-"
 * for none) Reads until the shard is closed and fully read, or a GetRecords
 * page is empty.
 *
 * Prints one JSON object on stdout ({"error": "..."} on failure, exit 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "aws/client.h"
#include "core/log.h"
#include "itest_util.h"
#include "kinesis/kinesis.h"

typedef struct app {
    uv_loop_t *loop;
    uv_timer_t deadline;
    ks_http *http;
    ks_aws_client *aws;
    ks_kinesis *k;
    const char *cmd;
    const char *stream;
    ks_iterator_request req;
    int limit;
    cJSON *out;
    cJSON *records;
    int calls;
    bool done;
    int rc;
} app;

static void finish(app *a, ks_err err, const char *detail)
{
    if (a->done)
        return;
    a->done = true;
    if (err) {
        cJSON_Delete(a->out);
        a->out = cJSON_CreateObject();
        cJSON_AddStringToObject(a->out, "error", ks_err_str(err));
        if (detail)
            cJSON_AddStringToObject(a->out, "detail", detail);
        a->rc = 1;
    }
    uv_timer_stop(&a->deadline);
}

static void on_deadline(uv_timer_t *t)
{
    app *a = t->data;
    finish(a, KS_ERR_TIMEOUT, "itest deadline");
    ks_aws_client_destroy(a->aws); /* cancels what is pending */
    a->aws = NULL;
}

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static void on_shards(void *ud, ks_err err, const ks_shard *shards, size_t n)
{
    app *a = ud;
    if (err) {
        finish(a, err, "ListShards");
        return;
    }
    cJSON *arr = cJSON_AddArrayToObject(a->out, "shards");
    for (size_t i = 0; i < n; i++) {
        cJSON *s = cJSON_CreateObject();
        add_str(s, "shard_id", shards[i].shard_id);
        add_str(s, "parent_shard_id", shards[i].parent_shard_id);
        add_str(s, "adjacent_parent_shard_id", shards[i].adjacent_parent_shard_id);
        add_str(s, "starting_sequence", shards[i].starting_sequence);
        add_str(s, "ending_sequence", shards[i].ending_sequence);
        add_str(s, "starting_hash_key", shards[i].starting_hash_key);
        add_str(s, "ending_hash_key", shards[i].ending_hash_key);
        cJSON_AddItemToArray(arr, s);
    }
    finish(a, KS_OK, NULL);
}

static void on_summary(void *ud, ks_err err, const ks_stream_summary *s)
{
    app *a = ud;
    if (err) {
        finish(a, err, "DescribeStreamSummary");
        return;
    }
    add_str(a->out, "stream_name", s->stream_name);
    add_str(a->out, "stream_arn", s->stream_arn);
    add_str(a->out, "stream_status", s->stream_status);
    cJSON_AddNumberToObject(a->out, "open_shard_count", (double)s->open_shard_count);
    finish(a, KS_OK, NULL);
}

static void on_records(void *ud, ks_err err, const ks_get_records_result *r);

static void get_records(app *a, const char *iterator)
{
    a->calls++;
    ks_err err = ks_kinesis_get_records(a->k, iterator, a->limit, on_records, a);
    if (err)
        finish(a, err, "GetRecords (start)");
}

static void on_records(void *ud, ks_err err, const ks_get_records_result *r)
{
    app *a = ud;
    if (a->done)
        return;
    if (err) {
        finish(a, err, "GetRecords");
        return;
    }
    for (size_t i = 0; i < r->n_records; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "sequence_number", r->records[i].sequence_number);
        cJSON_AddStringToObject(o, "partition_key", r->records[i].partition_key);
        char *data = strndup(r->records[i].data_b64, r->records[i].data_b64_len);
        cJSON_AddStringToObject(o, "data_b64", data ? data : "");
        free(data);
        cJSON_AddNumberToObject(o, "arrival_ms", (double)r->records[i].arrival_ms);
        cJSON_AddItemToArray(a->records, o);
    }
    cJSON_ReplaceItemInObject(a->out, "millis_behind_latest",
                              cJSON_CreateNumber((double)r->millis_behind_latest));
    cJSON_ReplaceItemInObject(a->out, "calls", cJSON_CreateNumber(a->calls));
    if (!r->next_iterator) {
        cJSON_ReplaceItemInObject(a->out, "closed", cJSON_CreateTrue());
        finish(a, KS_OK, NULL);
        return;
    }
    if (r->n_records == 0) {
        finish(a, KS_OK, NULL); /* caught up */
        return;
    }
    get_records(a, r->next_iterator);
}

static void on_iterator(void *ud, ks_err err, const char *iterator)
{
    app *a = ud;
    if (err) {
        finish(a, err, "GetShardIterator");
        return;
    }
    get_records(a, iterator);
}

static int parse_type(const char *s, ks_iterator_type *t)
{
    for (int i = KS_ITER_TRIM_HORIZON; i <= KS_ITER_AT_TIMESTAMP; i++) {
        if (strcmp(s, ks_iterator_type_name((ks_iterator_type)i)) == 0) {
            *t = (ks_iterator_type)i;
            return 0;
        }
    }
    return -1;
}

static ks_err start(app *a, int argc, char **argv)
{
    if (strcmp(a->cmd, "list-shards") == 0)
        return ks_kinesis_list_shards(a->k, a->stream, on_shards, a);
    if (strcmp(a->cmd, "summary") == 0)
        return ks_kinesis_describe_stream_summary(a->k, a->stream, on_summary, a);
    if (strcmp(a->cmd, "read") != 0 || argc < 6 || parse_type(argv[5], &a->req.type) != 0)
        return KS_ERR_INVALID;
    a->req.stream = a->stream;
    a->req.shard_id = argv[4];
    const char *arg = argc > 6 && strcmp(argv[6], "-") != 0 ? argv[6] : NULL;
    if (a->req.type == KS_ITER_AT_TIMESTAMP)
        a->req.timestamp_ms = arg ? strtoll(arg, NULL, 10) : 0;
    else
        a->req.sequence_number = arg;
    a->limit = argc > 7 ? atoi(argv[7]) : 0;
    a->records = cJSON_AddArrayToObject(a->out, "records");
    cJSON_AddFalseToObject(a->out, "closed");
    cJSON_AddNumberToObject(a->out, "millis_behind_latest", -1);
    cJSON_AddNumberToObject(a->out, "calls", 0);
    return ks_kinesis_get_shard_iterator(a->k, &a->req, on_iterator, a);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s ENDPOINT list-shards|summary|read STREAM ...\n", argv[0]);
        return 2;
    }
    ks_log_set_level(KS_LOG_WARN);
    app a = {.loop = uv_default_loop(), .cmd = argv[2], .stream = argv[3]};
    a.out = cJSON_CreateObject();
    ks_itest_deadline_start(a.loop, &a.deadline, on_deadline, &a, 60000);
    ks_err err = ks_http_new(a.loop, &a.http);
    if (!err)
        err = ks_itest_aws_new(a.http, KS_ITEST_KINESIS, argv[1], 20000, &a.aws);
    if (!err)
        err = ks_kinesis_new(a.aws, &a.k);
    if (!err)
        err = start(&a, argc, argv);
    if (err)
        finish(&a, err, "start");
    else
        ks_itest_run(a.loop, &a.done);
    ks_aws_client_destroy(a.aws);
    ks_kinesis_destroy(a.k);
    ks_http_destroy(a.http);
    ks_itest_deadline_close(a.loop, &a.deadline);
    uv_loop_close(a.loop);
    ks_itest_print(a.out);
    cJSON_Delete(a.out);
    return a.rc;
}
