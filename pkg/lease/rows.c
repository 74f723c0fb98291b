#include "lease/rows.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

/* The string of an S (or N) attribute, NULL when absent, null or another type. */
static const char *attr_str(const cJSON *item, const char *name)
{
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(item, name);
    if (!cJSON_IsObject(av))
        return NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(av, "S");
    if (!cJSON_IsString(v))
        v = cJSON_GetObjectItemCaseSensitive(av, "N");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool attr_int(const cJSON *item, const char *name, int64_t *out)
{
    const char *s = attr_str(item, name);
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static ks_err dup_opt(const char *s, const char **out)
{
    *out = NULL;
    if (!s)
        return KS_OK;
    char *d = ks_strdup(s);
    if (!d)
        return KS_ERR_NOMEM;
    *out = d;
    return KS_OK;
}

static ks_err add_parent(char ***v, size_t *n, const char *s, size_t len)
{
    if (len == 0)
        return KS_OK;
    char **nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (!nv)
        return KS_ERR_NOMEM;
    *v = nv;
    if (!(nv[*n] = ks_strndup(s, len)))
        return KS_ERR_NOMEM;
    (*n)++;
    return KS_OK;
}

/* SS, L of S, or a comma-separated S. */
static ks_err decode_parents(const cJSON *item, ks_lease_row *out)
{
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(item, KS_ATTR_PARENTS);
    char **v = NULL;
    size_t n = 0;
    ks_err err = KS_OK;
    if (!cJSON_IsObject(av))
        return KS_OK;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(av, "SS");
    if (!cJSON_IsArray(list))
        list = cJSON_GetObjectItemCaseSensitive(av, "L");
    const cJSON *e;
    if (cJSON_IsArray(list)) {
        cJSON_ArrayForEach(e, list)
        {
            const cJSON *s = e;
            if (cJSON_IsObject(e))
                s = cJSON_GetObjectItemCaseSensitive(e, "S");
            if (cJSON_IsString(s) &&
                (err = add_parent(&v, &n, s->valuestring, strlen(s->valuestring))))
                break;
        }
    } else {
        const char *s = attr_str(item, KS_ATTR_PARENTS);
        while (s && *s && !err) {
            const char *comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            err = add_parent(&v, &n, s, len);
            s = comma ? comma + 1 : NULL;
        }
    }
    out->parents = (const char *const *)v;
    out->n_parents = n;
    return err;
}

ks_err ks_lease_row_decode(const cJSON *item, ks_lease_row *out)
{
    memset(out, 0, sizeof(*out));
    const char *shard = attr_str(item, KS_ATTR_SHARD);
    if (!shard)
        return KS_ERR_PARSE;
    ks_err err;
    if ((err = dup_opt(shard, &out->shard_id)) ||
        (err = dup_opt(attr_str(item, KS_ATTR_OWNER), &out->owner)) ||
        (err = dup_opt(attr_str(item, KS_ATTR_TIMEOUT), &out->lease_timeout)) ||
        (err = dup_opt(attr_str(item, KS_ATTR_SEQUENCE), &out->sequence)) ||
        (err = dup_opt(attr_str(item, KS_ATTR_HANDOFF), &out->handoff_to)) ||
        (err = decode_parents(item, out))) {
        ks_lease_row_clean_up(out);
        return err;
    }
    if (out->owner && !*out->owner) { /* an empty owner is no owner */
        free((char *)out->owner);
        out->owner = NULL;
    }
    out->has_counter = attr_int(item, KS_ATTR_COUNTER, &out->counter);
    if (!out->has_counter)
        out->counter = 0;
    return KS_OK;
}

void ks_lease_row_clean_up(ks_lease_row *r)
{
    if (!r)
        return;
    free((char *)r->shard_id);
    free((char *)r->owner);
    free((char *)r->lease_timeout);
    free((char *)r->sequence);
    free((char *)r->handoff_to);
    for (size_t i = 0; i < r->n_parents; i++)
        free((char *)r->parents[i]);
    free((void *)r->parents);
    memset(r, 0, sizeof(*r));
}

cJSON *ks_lease_av_s(const char *s)
{
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "S", s)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *ks_lease_av_n(int64_t n)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRId64, n);
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "N", buf)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *ks_lease_av_ss(const char *const *v, size_t n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_CreateStringArray(v, (int)n);
    if (!o || !a || !cJSON_AddItemToObject(o, "SS", a)) {
        cJSON_Delete(o);
        cJSON_Delete(a);
        return NULL;
    }
    return o;
}

cJSON *ks_lease_item_key(const char *stream, const char *shard_id)
{
    cJSON *k = cJSON_CreateObject();
    cJSON *a = ks_lease_av_s(stream);
    cJSON *b = ks_lease_av_s(shard_id);
    if (!k || !a || !b) {
        cJSON_Delete(k);
        cJSON_Delete(a);
        cJSON_Delete(b);
        return NULL;
    }
    cJSON_AddItemToObject(k, KS_ATTR_STREAM, a);
    cJSON_AddItemToObject(k, KS_ATTR_SHARD, b);
    return k;
}
