/* DynamoDB JSON 1.0 request encoders, response decoders and AttributeValue helpers. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamo/dynamo.h"

/* A member that is present and not JSON null. */
static const cJSON *field(const cJSON *obj, const char *name)
{
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static const char *field_str(const cJSON *obj, const char *name)
{
    const cJSON *v = field(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Prints root into out and deletes root (also on failure). */
static ks_err finish(cJSON *root, ks_buf *out)
{
    if (!root)
        return KS_ERR_NOMEM;
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        return KS_ERR_NOMEM;
    ks_err err = ks_buf_append_str(out, s);
    cJSON_free(s);
    return err;
}

/* Adds a deep copy of v (when not NULL) under name; false on allocation failure. */
static bool add_copy(cJSON *obj, const char *name, const cJSON *v)
{
    if (!v)
        return true;
    cJSON *c = cJSON_Duplicate(v, 1);
    return c && cJSON_AddItemToObject(obj, name, c);
}

static bool add_str(cJSON *obj, const char *name, const char *v)
{
    return !v || cJSON_AddStringToObject(obj, name, v) != NULL;
}

static cJSON *attr_def(const char *name)
{
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddStringToObject(o, "AttributeName", name) ||
              !cJSON_AddStringToObject(o, "AttributeType", "S"))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *key_elem(const char *name, const char *type)
{
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddStringToObject(o, "AttributeName", name) ||
              !cJSON_AddStringToObject(o, "KeyType", type))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

ks_err ks_dynamo_encode_create_table(const ks_table_spec *spec, ks_buf *out)
{
    if (!spec || !spec->table || !*spec->table || !spec->hash_key || !*spec->hash_key ||
        !spec->range_key || !*spec->range_key)
        return KS_ERR_INVALID;
    bool prov = spec->billing_mode == KS_BILLING_PROVISIONED;
    if (prov && (spec->read_capacity_units < 1 || spec->write_capacity_units < 1))
        return KS_ERR_INVALID;
    cJSON *root = cJSON_CreateObject();
    cJSON *defs = cJSON_AddArrayToObject(root, "AttributeDefinitions");
    cJSON *keys = cJSON_AddArrayToObject(root, "KeySchema");
    bool ok = root && defs && keys && add_str(root, "TableName", spec->table) &&
              cJSON_AddItemToArray(defs, attr_def(spec->hash_key)) &&
              cJSON_AddItemToArray(defs, attr_def(spec->range_key)) &&
              cJSON_AddItemToArray(keys, key_elem(spec->hash_key, "HASH")) &&
              cJSON_AddItemToArray(keys, key_elem(spec->range_key, "RANGE")) &&
              add_str(root, "BillingMode", prov ? "PROVISIONED" : "PAY_PER_REQUEST");
    if (ok && prov) {
        cJSON *pt = cJSON_AddObjectToObject(root, "ProvisionedThroughput");
        ok = pt &&
             cJSON_AddNumberToObject(pt, "ReadCapacityUnits", (double)spec->read_capacity_units) &&
             cJSON_AddNumberToObject(pt, "WriteCapacityUnits", (double)spec->write_capacity_units);
    }
    if (!ok) {
        cJSON_Delete(root);
        return KS_ERR_NOMEM;
    }
    return finish(root, out);
}

ks_err ks_dynamo_encode_describe_table(const char *table, ks_buf *out)
{
    if (!table || !*table)
        return KS_ERR_INVALID;
    ks_err err = ks_buf_append_str(out, "{\"TableName\":");
    if (!err)
        err = ks_buf_append_json_str(out, table, strlen(table));
    if (!err)
        err = ks_buf_append_char(out, '}');
    return err;
}

ks_err ks_dynamo_encode_query(const char *table, const char *hash_key, const char *hash_value,
                              const cJSON *start_key, int limit, ks_buf *out)
{
    if (!table || !*table || !hash_key || !*hash_key || !hash_value || limit < 0)
        return KS_ERR_INVALID;
    cJSON *root = cJSON_CreateObject();
    cJSON *names = cJSON_AddObjectToObject(root, "ExpressionAttributeNames");
    cJSON *values = cJSON_AddObjectToObject(root, "ExpressionAttributeValues");
    bool ok = root && names && values && add_str(root, "TableName", table) &&
              add_str(root, "KeyConditionExpression", "#h = :h") &&
              add_str(names, "#h", hash_key) &&
              cJSON_AddItemToObject(values, ":h", ks_ddb_s(hash_value)) &&
              cJSON_AddTrueToObject(root, "ConsistentRead") &&
              add_copy(root, "ExclusiveStartKey", start_key) &&
              (limit == 0 || cJSON_AddNumberToObject(root, "Limit", limit));
    if (!ok) {
        cJSON_Delete(root);
        return KS_ERR_NOMEM;
    }
    return finish(root, out);
}

ks_err ks_dynamo_encode_get_item(const char *table, const cJSON *key, bool consistent, ks_buf *out)
{
    if (!table || !*table || !cJSON_IsObject(key))
        return KS_ERR_INVALID;
    cJSON *root = cJSON_CreateObject();
    bool ok = root && add_str(root, "TableName", table) && add_copy(root, "Key", key) &&
              cJSON_AddBoolToObject(root, "ConsistentRead", consistent);
    if (!ok) {
        cJSON_Delete(root);
        return KS_ERR_NOMEM;
    }
    return finish(root, out);
}

ks_err ks_dynamo_encode_write(ks_dynamo_write_kind kind, const ks_dynamo_write *w, ks_buf *out)
{
    if (!w || !w->table || !*w->table || !cJSON_IsObject(w->key))
        return KS_ERR_INVALID;
    if (kind == KS_DDB_UPDATE && (!w->update_expression || !*w->update_expression))
        return KS_ERR_INVALID;
    if (kind != KS_DDB_UPDATE && w->update_expression)
        return KS_ERR_INVALID;
    cJSON *root = cJSON_CreateObject();
    bool ok = root && add_str(root, "TableName", w->table) &&
              add_copy(root, kind == KS_DDB_PUT ? "Item" : "Key", w->key) &&
              add_str(root, "UpdateExpression", w->update_expression) &&
              add_str(root, "ConditionExpression", w->condition_expression) &&
              add_copy(root, "ExpressionAttributeNames", w->names) &&
              add_copy(root, "ExpressionAttributeValues", w->values) &&
              add_str(root, "ReturnValues", w->return_values);
    if (!ok) {
        cJSON_Delete(root);
        return KS_ERR_NOMEM;
    }
    return finish(root, out);
}

ks_err ks_dynamo_decode_table_status(const cJSON *json, const char **status)
{
    *status = field_str(field(json, "Table"), "TableStatus");
    return *status ? KS_OK : KS_ERR_PARSE;
}

ks_err ks_dynamo_check_key_schema(const cJSON *json, const char *hash_key, const char *range_key)
{
    const cJSON *ks = field(field(json, "Table"), "KeySchema");
    if (!cJSON_IsArray(ks))
        return KS_OK;
    const char *h = NULL, *r = NULL;
    const cJSON *e;
    cJSON_ArrayForEach(e, ks)
    {
        const char *type = field_str(e, "KeyType");
        const char *name = field_str(e, "AttributeName");
        if (type && strcmp(type, "HASH") == 0)
            h = name;
        else if (type && strcmp(type, "RANGE") == 0)
            r = name;
    }
    if (!h || strcmp(h, hash_key) != 0 || !r || strcmp(r, range_key) != 0)
        return KS_ERR_INVALID;
    return KS_OK;
}

/* ------------------------------------------------------------ AttributeValue helpers */

static cJSON *typed(const char *type, cJSON *v)
{
    cJSON *o = v ? cJSON_CreateObject() : NULL;
    if (!o || !cJSON_AddItemToObject(o, type, v)) {
        cJSON_Delete(o);
        cJSON_Delete(v);
        return NULL;
    }
    return o;
}

cJSON *ks_ddb_s(const char *s)
{
    return s ? typed("S", cJSON_CreateString(s)) : NULL;
}

cJSON *ks_ddb_n(int64_t n)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRId64, n);
    return typed("N", cJSON_CreateString(buf));
}

cJSON *ks_ddb_ss(const char *const *v, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) {
        cJSON *s = cJSON_CreateString(v[i]);
        if (!s || !cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return typed("SS", arr);
}

const char *ks_ddb_get_s(const cJSON *item, const char *name)
{
    const cJSON *av = field(item, name);
    const char *s = field_str(av, "S");
    return s ? s : field_str(av, "N");
}

bool ks_ddb_get_n(const cJSON *item, const char *name, int64_t *out)
{
    const char *s = field_str(field(item, name), "N");
    if (!s || !*s)
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || !end || *end)
        return false;
    *out = v;
    return true;
}

/* SS array, or L array of {S}; NULL when neither. */
static const cJSON *list_of(const cJSON *item, const char *name, bool *is_l)
{
    const cJSON *av = field(item, name);
    const cJSON *ss = field(av, "SS");
    *is_l = false;
    if (cJSON_IsArray(ss))
        return ss;
    const cJSON *l = field(av, "L");
    if (cJSON_IsArray(l)) {
        *is_l = true;
        return l;
    }
    return NULL;
}

/* i-th comma-separated element of s: start and length; false past the end. */
static bool csv_at(const char *s, size_t i, const char **start, size_t *len)
{
    if (!*s)
        return false;
    for (size_t k = 0;; k++) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (k == i) {
            *start = s;
            *len = n;
            return true;
        }
        if (!comma)
            return false;
        s = comma + 1;
    }
}

size_t ks_ddb_get_ss_len(const cJSON *item, const char *name)
{
    bool is_l;
    const cJSON *arr = list_of(item, name, &is_l);
    if (arr) {
        size_t n = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, arr)
        {
            if (is_l ? field_str(e, "S") != NULL : cJSON_IsString(e))
                n++;
        }
        return n;
    }
    const char *s = field_str(field(item, name), "S");
    if (!s)
        return 0;
    size_t n = 0;
    const char *start;
    size_t len;
    while (csv_at(s, n, &start, &len))
        n++;
    return n;
}

const char *ks_ddb_get_ss_at(const cJSON *item, const char *name, size_t i)
{
    static char buf[256];
    bool is_l;
    const cJSON *arr = list_of(item, name, &is_l);
    if (arr) {
        size_t n = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, arr)
        {
            const char *s = is_l ? field_str(e, "S") : (cJSON_IsString(e) ? e->valuestring : NULL);
            if (s && n++ == i)
                return s;
        }
        return NULL;
    }
    const char *s = field_str(field(item, name), "S");
    const char *start;
    size_t len;
    if (!s || !csv_at(s, i, &start, &len))
        return NULL;
    if (len >= sizeof(buf))
        len = sizeof(buf) - 1;
    memcpy(buf, start, len);
    buf[len] = '\0';
    return buf;
}
