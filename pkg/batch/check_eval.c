/* Evaluator of compiled check expressions (see check.h). */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "batch/check.h"
#include "batch/check_int.h"

typedef enum vtype { V_NULL = 0, V_BOOL, V_NUM, V_STR, V_ARRAY, V_OBJECT } vtype;

typedef struct val {
    vtype t;
    bool b;
    double n;
    const char *s;
    size_t len;
    const cJSON *j; /* V_ARRAY / V_OBJECT */
} val;

typedef struct env {
    const char *data;
    size_t len;
    const cJSON *root; /* NULL: the record is not JSON */
    char *err;
    size_t errlen;
} env;

static const char *type_name(vtype t)
{
    static const char *const names[] = {"null", "bool", "number", "string", "array", "object"};
    return names[t];
}

static ks_err fail(env *e, const ks_cnode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ks_err fail(env *e, const ks_cnode *n, const char *fmt, ...)
{
    if (e->err && e->errlen) {
        char msg[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(e->err, e->errlen, "%s (column %d)", msg, n->col);
    }
    return KS_ERR_INVALID;
}

static val from_json(const cJSON *j)
{
    val v = {0};
    if (!j || cJSON_IsNull(j))
        v.t = V_NULL;
    else if (cJSON_IsBool(j)) {
        v.t = V_BOOL;
        v.b = cJSON_IsTrue(j);
    } else if (cJSON_IsNumber(j)) {
        v.t = V_NUM;
        v.n = j->valuedouble;
    } else if (cJSON_IsString(j)) {
        v.t = V_STR;
        v.s = j->valuestring;
        v.len = strlen(j->valuestring);
    } else if (cJSON_IsArray(j)) {
        v.t = V_ARRAY;
        v.j = j;
    } else {
        v.t = V_OBJECT;
        v.j = j;
    }
    return v;
}

static bool equal(const val *x, const val *y)
{
    if (x->t != y->t)
        return false;
    switch (x->t) {
    case V_NULL:
        return true;
    case V_BOOL:
        return x->b == y->b;
    case V_NUM:
        return x->n == y->n;
    case V_STR:
        return x->len == y->len && (x->len == 0 || memcmp(x->s, y->s, x->len) == 0);
    case V_ARRAY:
    case V_OBJECT:
        return cJSON_Compare(x->j, y->j, true);
    }
    return false;
}

static val field(const val *x, const char *name)
{
    if (x->t == V_OBJECT)
        return from_json(cJSON_GetObjectItemCaseSensitive(x->j, name));
    if (x->t == V_ARRAY) {
        char *end = NULL;
        long i = strtol(name, &end, 10);
        if (end != name && *end == '\0' && i >= 0 && i <= INT_MAX)
            return from_json(cJSON_GetArrayItem(x->j, (int)i));
    }
    return (val){.t = V_NULL};
}

static bool str_contains(const val *h, const val *n)
{
    if (n->len == 0)
        return true;
    return h->len >= n->len && memmem(h->s, h->len, n->s, n->len) != NULL;
}

static ks_err eval(env *e, const ks_cnode *n, val *out);

static ks_err eval_bool(env *e, const ks_cnode *n, bool *out, const char *what)
{
    val v;
    ks_err err = eval(e, n, &v);
    if (err)
        return err;
    if (v.t != V_BOOL)
        return fail(e, n, "%s expects a bool, got %s", what, type_name(v.t));
    *out = v.b;
    return KS_OK;
}

static ks_err eval_method(env *e, const ks_cnode *n, const val *x, const val *arg, val *out)
{
    out->t = V_BOOL;
    if (n->kind == KS_CN_CONTAINS) {
        if (x->t == V_STR) {
            if (arg->t != V_STR)
                return fail(e, n, "contains on a string expects a string, got %s",
                            type_name(arg->t));
            out->b = str_contains(x, arg);
            return KS_OK;
        }
        if (x->t == V_ARRAY || x->t == V_OBJECT) {
            out->b = false;
            for (const cJSON *it = x->j->child; it && !out->b; it = it->next) {
                val v = from_json(it);
                out->b = equal(&v, arg);
            }
            return KS_OK;
        }
        return fail(e, n, "contains expects a string, array or object, got %s", type_name(x->t));
    }
    const char *name = n->kind == KS_CN_HAS_PREFIX ? "has_prefix" : "has_suffix";
    if (x->t != V_STR || arg->t != V_STR)
        return fail(e, n, "%s expects strings, got %s and %s", name, type_name(x->t),
                    type_name(arg->t));
    if (arg->len > x->len) {
        out->b = false;
        return KS_OK;
    }
    const char *at = n->kind == KS_CN_HAS_PREFIX ? x->s : x->s + x->len - arg->len;
    out->b = arg->len == 0 || memcmp(at, arg->s, arg->len) == 0;
    return KS_OK;
}

static ks_err eval_order(env *e, const ks_cnode *n, const val *x, const val *y, val *out)
{
    int c;
    if (x->t == V_NUM && y->t == V_NUM) {
        c = x->n < y->n ? -1 : x->n > y->n ? 1 : 0;
    } else if (x->t == V_STR && y->t == V_STR) {
        size_t m = x->len < y->len ? x->len : y->len;
        c = m ? memcmp(x->s, y->s, m) : 0;
        if (c == 0)
            c = x->len < y->len ? -1 : x->len > y->len ? 1 : 0;
    } else {
        return fail(e, n, "cannot compare %s with %s", type_name(x->t), type_name(y->t));
    }
    out->t = V_BOOL;
    switch (n->kind) {
    case KS_CN_LT:
        out->b = c < 0;
        break;
    case KS_CN_LE:
        out->b = c <= 0;
        break;
    case KS_CN_GT:
        out->b = c > 0;
        break;
    default:
        out->b = c >= 0;
        break;
    }
    return KS_OK;
}

static ks_err eval(env *e, const ks_cnode *n, val *out)
{
    ks_err err;
    val x = {0}, y = {0};
    *out = (val){0};
    switch (n->kind) {
    case KS_CN_THIS:
        if (e->root)
            *out = from_json(e->root);
        else
            *out = (val){.t = V_STR, .s = e->data, .len = e->len};
        return KS_OK;
    case KS_CN_CONTENT:
        *out = (val){.t = V_STR, .s = e->data, .len = e->len};
        return KS_OK;
    case KS_CN_NULL:
        return KS_OK;
    case KS_CN_BOOL:
        *out = (val){.t = V_BOOL, .b = n->bval};
        return KS_OK;
    case KS_CN_NUM:
        *out = (val){.t = V_NUM, .n = n->num};
        return KS_OK;
    case KS_CN_STR:
        *out = (val){.t = V_STR, .s = n->str ? n->str : "", .len = n->len};
        return KS_OK;
    case KS_CN_FIELD:
        if ((err = eval(e, n->a, &x)))
            return err;
        *out = field(&x, n->str);
        return KS_OK;
    case KS_CN_NOT:
        out->t = V_BOOL;
        if ((err = eval_bool(e, n->a, &out->b, "'!'")))
            return err;
        out->b = !out->b;
        return KS_OK;
    case KS_CN_AND:
    case KS_CN_OR: {
        bool l = false, r = false;
        const char *what = n->kind == KS_CN_AND ? "'&&'" : "'||'";
        out->t = V_BOOL;
        if ((err = eval_bool(e, n->a, &l, what)))
            return err;
        if (n->kind == KS_CN_AND ? !l : l) { /* short-circuit */
            out->b = l;
            return KS_OK;
        }
        if ((err = eval_bool(e, n->b, &r, what)))
            return err;
        out->b = r;
        return KS_OK;
    }
    default:
        break;
    }
    if ((err = eval(e, n->a, &x)) || (err = eval(e, n->b, &y)))
        return err;
    switch (n->kind) {
    case KS_CN_EQ:
    case KS_CN_NE:
        *out = (val){.t = V_BOOL, .b = equal(&x, &y) == (n->kind == KS_CN_EQ)};
        return KS_OK;
    case KS_CN_LT:
    case KS_CN_LE:
    case KS_CN_GT:
    case KS_CN_GE:
        return eval_order(e, n, &x, &y, out);
    default:
        return eval_method(e, n, &x, &y, out);
    }
}

/* Parses data as one JSON document (surrounding whitespace allowed); NULL if it is not. */
static cJSON *parse_json(const char *data, size_t len)
{
    if (len == 0)
        return NULL;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(data, len, &end, false);
    if (!j)
        return NULL;
    for (const char *p = end; p < data + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(j);
            return NULL;
        }
    }
    return j;
}

ks_err ks_check_eval_ex(const ks_check *c, const char *data, size_t len, bool *out, char *err,
                        size_t errlen)
{
    *out = false;
    if (err && errlen)
        err[0] = '\0';
    cJSON *root = c->uses_this ? parse_json(data, len) : NULL;
    env e = {.data = data ? data : "",
             .len = data ? len : 0,
             .root = root,
             .err = err,
             .errlen = errlen};
    val v;
    ks_err rc = eval(&e, c->root, &v);
    if (!rc && v.t != V_BOOL)
        rc = fail(&e, c->root, "check must return a bool, got %s", type_name(v.t));
    if (!rc)
        *out = v.b;
    cJSON_Delete(root);
    return rc;
}

ks_err ks_check_eval(const ks_check *c, const char *data, size_t len, bool *out)
{
    return ks_check_eval_ex(c, data, len, out, NULL, 0);
}
