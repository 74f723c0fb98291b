/* Signed AWS JSON-protocol calls over ks_http; see client.h.
 *
 * A call goes: credentials (ks_creds_source.get, maybe synchronous) -> build + sign ->
 * ks_http_send -> parse + map errors -> callback once. The callback never runs before
 * ks_aws_call() returns: a failure found synchronously is returned instead. */
#include "aws/client.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/sigv4.h"
#include "core/buf.h"
#include "core/log.h"

#define KS_AWS_DEFAULT_TIMEOUT_MS 30000
#define KS_AWS_INVALIDATE_INTERVAL_MS 10000

typedef struct aws_call aws_call;

struct ks_aws_client {
    ks_http *http;
    ks_creds_source creds;
    const ks_clock *clock;
    char *service;
    char *region;
    char *url;  /* full request URL */
    char *host; /* Host header: the URL's authority */
    char *path; /* path to sign */
    char *target_prefix;
    char *content_type;
    ks_tcp_opts tcp;
    uint64_t default_timeout_ms;
    aws_call *calls; /* in flight (waiting for credentials or HTTP) */
    int invalidated;
    uint64_t last_invalidate_ms;
};

struct aws_call {
    ks_aws_client *c; /* NULL once orphaned by destroy while credentials are pending */
    char *op;
    char *body;
    size_t body_len;
    uint64_t timeout_ms;
    ks_aws_cb cb;
    void *ud;
    ks_http_call *http_call;
    int in_start;    /* inside ks_aws_call: report failures by return value */
    ks_err sync_err; /* failure found while in_start */
    aws_call *prev, *next;
};

/* ---- helpers ------------------------------------------------------------------------ */

static void call_link(ks_aws_client *c, aws_call *call)
{
    call->next = c->calls;
    if (c->calls)
        c->calls->prev = call;
    c->calls = call;
}

static void call_unlink(ks_aws_client *c, aws_call *call)
{
    if (call->prev)
        call->prev->next = call->next;
    else if (c->calls == call)
        c->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    call->prev = call->next = NULL;
}

static void call_free(aws_call *call)
{
    if (!call)
        return;
    free(call->op);
    free(call->body);
    free(call);
}

/* Delivers a result: unlinks, runs the callback once, frees. Touches nothing after. */
static void call_complete(aws_call *call, const ks_aws_result *res)
{
    if (call->c)
        call_unlink(call->c, call);
    ks_aws_cb cb = call->cb;
    void *ud = call->ud;
    call_free(call);
    cb(ud, res);
}

static void call_fail(aws_call *call, ks_err err)
{
    if (call->in_start) {
        call->sync_err = err; /* ks_aws_call returns it; no callback */
        return;
    }
    ks_aws_result res = {.err = err};
    call_complete(call, &res);
}

static void maybe_invalidate(ks_aws_client *c)
{
    if (!c->creds.invalidate)
        return;
    uint64_t now = ks_clock_mono_ms(c->clock);
    if (c->invalidated && now - c->last_invalidate_ms < KS_AWS_INVALIDATE_INTERVAL_MS)
        return;
    c->invalidated = 1;
    c->last_invalidate_ms = now;
    KS_INFO("aws: credentials rejected by %s; forcing a refresh", c->service);
    c->creds.invalidate(c->creds.source_ud);
}

/* ---- error mapping ------------------------------------------------------------------ */

ks_err ks_aws_map_error(const char *error_type, long http_status)
{
    static const struct {
        const char *name;
        ks_err err;
    } table[] = {
        {"ProvisionedThroughputExceededException", KS_ERR_AWS_THROTTLED},
        {"LimitExceededException", KS_ERR_AWS_THROTTLED},
        {"ThrottlingException", KS_ERR_AWS_THROTTLED},
        {"Throttling", KS_ERR_AWS_THROTTLED},
        {"RequestLimitExceeded", KS_ERR_AWS_THROTTLED},
        {"TooManyRequestsException", KS_ERR_AWS_THROTTLED},
        {"ConditionalCheckFailedException", KS_ERR_AWS_CONDITION_FAILED},
        {"ExpiredIteratorException", KS_ERR_AWS_EXPIRED_ITERATOR},
        {"ResourceNotFoundException", KS_ERR_AWS_RESOURCE_NOT_FOUND},
        {"AccessDeniedException", KS_ERR_AWS_ACCESS_DENIED},
        {"AccessDenied", KS_ERR_AWS_ACCESS_DENIED},
        {"ExpiredTokenException", KS_ERR_AWS_ACCESS_DENIED},
        {"ExpiredToken", KS_ERR_AWS_ACCESS_DENIED},
        {"UnrecognizedClientException", KS_ERR_AWS_ACCESS_DENIED},
        {"InvalidSignatureException", KS_ERR_AWS_ACCESS_DENIED},
        {"IncompleteSignature", KS_ERR_AWS_ACCESS_DENIED},
        {"ValidationException", KS_ERR_AWS_VALIDATION},
        {"InvalidArgumentException", KS_ERR_AWS_VALIDATION},
        {"SerializationException", KS_ERR_AWS_VALIDATION},
        {"ResourceInUseException", KS_ERR_AWS_IN_USE},
        {"InternalFailure", KS_ERR_AWS_SERVER},
        {"InternalServerError", KS_ERR_AWS_SERVER},
        {"ServiceUnavailable", KS_ERR_AWS_SERVER},
        {"ServiceUnavailableException", KS_ERR_AWS_SERVER},
    };
    if (error_type && *error_type) {
        const char *hash = strrchr(error_type, '#');
        const char *name = hash ? hash + 1 : error_type;
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
            if (strcmp(name, table[i].name) == 0)
                return table[i].err;
    }
    if (http_status >= 500)
        return KS_ERR_AWS_SERVER;
    if (http_status == 429)
        return KS_ERR_AWS_THROTTLED;
    if (http_status >= 200 && http_status < 300 && !(error_type && *error_type))
        return KS_OK;
    return KS_ERR_AWS_OTHER;
}

/* A string member, or NULL when absent, not a string, or JSON null. */
static const char *json_str(const cJSON *obj, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* ---- response ---------------------------------------------------------------------- */

static void on_http_done(void *ud, const ks_http_response *resp)
{
    aws_call *call = ud;
    ks_aws_client *c = call->c;
    call->http_call = NULL;
    ks_aws_result res = {.err = resp->err, .http_status = resp->status};
    cJSON *json = NULL;
    char type[256] = "";
    if (resp->err != KS_OK) {
        KS_DEBUG("aws: %s %s: %s", c->service, call->op, ks_err_str(resp->err));
        call_complete(call, &res);
        return;
    }
    if (resp->body_len)
        json = cJSON_ParseWithLength(resp->body, resp->body_len);
    if (resp->status >= 200 && resp->status < 300) {
        res.err = json ? KS_OK : KS_ERR_PARSE;
        res.json = json;
        call_complete(call, &res);
        cJSON_Delete(json);
        return;
    }
    const char *t = json_str(json, "__type");
    if (t) {
        const char *hash = strrchr(t, '#');
        snprintf(type, sizeof(type), "%s", hash ? hash + 1 : t);
    } else {
        /* some services name the error only in a header: "Type:http://..." */
        const char *h = ks_http_response_header(resp, "x-amzn-errortype");
        if (h)
            snprintf(type, sizeof(type), "%.*s", (int)strcspn(h, ":"), h);
    }
    res.error_type = type[0] ? type : NULL;
    res.error_message = json_str(json, "message");
    if (!res.error_message)
        res.error_message = json_str(json, "Message");
    res.err = ks_aws_map_error(res.error_type, resp->status);
    if (res.err == KS_OK)
        res.err = KS_ERR_AWS_OTHER; /* non-2xx is never success */
    res.json = json;
    KS_DEBUG("aws: %s %s: HTTP %ld %s", c->service, call->op, resp->status,
             res.error_type ? res.error_type : "");
    if (res.err == KS_ERR_AWS_ACCESS_DENIED)
        maybe_invalidate(c);
    call_complete(call, &res);
    cJSON_Delete(json);
}

/* ---- request ------------------------------------------------------------------------ */

static void on_creds(void *ud, ks_err err, const ks_aws_creds *creds)
{
    aws_call *call = ud;
    ks_aws_client *c = call->c;
    if (!c) { /* the client was destroyed meanwhile; the callback already ran */
        call_free(call);
        return;
    }
    if (err != KS_OK || !creds || !creds->access_key_id || !creds->secret_access_key) {
        KS_WARN("aws: no credentials for %s %s: %s", c->service, call->op,
                ks_err_str(err ? err : KS_ERR_NOT_FOUND));
        call_fail(call, err ? err : KS_ERR_NOT_FOUND);
        return;
    }
    char amz_date[17], target[256];
    int64_t now_s = ks_clock_wall_ms(c->clock) / 1000;
    ks_sigv4_amz_date(now_s, amz_date);
    snprintf(target, sizeof(target), "%s.%s", c->target_prefix, call->op);
    int has_token = creds->session_token && *creds->session_token;
    ks_http_header hs[6] = {{"Host", c->host},
                            {"X-Amz-Date", amz_date},
                            {"X-Amz-Target", target},
                            {"Content-Type", c->content_type},
                            {"X-Amz-Security-Token", creds->session_token},
                            {"Authorization", NULL}};
    size_t n_signed = has_token ? 5 : 4;
    ks_sigv4_request sr = {.method = "POST",
                           .path = c->path,
                           .headers = hs,
                           .n_headers = n_signed,
                           .body = call->body,
                           .body_len = call->body_len,
                           .normalize_path = 1};
    ks_sigv4_params sp = {.access_key_id = creds->access_key_id,
                          .secret_access_key = creds->secret_access_key,
                          .region = c->region,
                          .service = c->service,
                          .epoch_s = now_s};
    ks_buf auth;
    ks_buf_init(&auth);
    err = ks_sigv4_authorization(&sp, &sr, &auth);
    if (err) {
        ks_buf_clean_up(&auth);
        call_fail(call, err);
        return;
    }
    hs[n_signed].name = "Authorization";
    hs[n_signed].value = auth.data;
    ks_http_request hr = {.method = "POST",
                          .url = c->url,
                          .headers = hs,
                          .n_headers = n_signed + 1,
                          .body = call->body,
                          .body_len = call->body_len,
                          .timeout_ms = call->timeout_ms,
                          .tcp = &c->tcp};
    err = ks_http_send(c->http, &hr, on_http_done, call, &call->http_call);
    ks_buf_clean_up(&auth);
    if (err)
        call_fail(call, err);
}

ks_err ks_aws_call(ks_aws_client *c, const char *op, const char *body, size_t body_len,
                   uint64_t timeout_ms, ks_aws_cb cb, void *ud)
{
    if (!c || !op || !cb || (!body && body_len))
        return KS_ERR_INVALID;
    aws_call *call = calloc(1, sizeof(*call));
    if (!call)
        return KS_ERR_NOMEM;
    call->c = c;
    call->cb = cb;
    call->ud = ud;
    call->timeout_ms = timeout_ms ? timeout_ms : c->default_timeout_ms;
    call->op = ks_strdup(op);
    call->body = malloc(body_len + 1);
    if (!call->op || !call->body) {
        call_free(call);
        return KS_ERR_NOMEM;
    }
    if (body_len)
        memcpy(call->body, body, body_len);
    call->body[body_len] = '\0';
    call->body_len = body_len;
    call_link(c, call);
    call->in_start = 1;
    c->creds.get(c->creds.source_ud, on_creds, call);
    call->in_start = 0;
    if (call->sync_err) {
        ks_err err = call->sync_err;
        call_unlink(c, call);
        call_free(call);
        return err;
    }
    return KS_OK;
}

/* ---- construction -------------------------------------------------------------------- */

static ks_err parse_endpoint(ks_aws_client *c, const char *endpoint)
{
    ks_buf url;
    ks_buf_init(&url);
    ks_err err;
    if (endpoint && *endpoint)
        err = ks_buf_append_str(&url, endpoint);
    else
        err = ks_buf_appendf(&url, "https://%s.%s.amazonaws.com/", c->service, c->region);
    if (err)
        goto out;
    const char *p = strstr(url.data, "://");
    if (!p || p == url.data) {
        err = KS_ERR_INVALID;
        goto out;
    }
    const char *auth = p + 3;
    const char *slash = strchr(auth, '/');
    size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
    if (alen == 0 || memchr(auth, '?', alen) || memchr(auth, '@', alen)) {
        err = KS_ERR_INVALID;
        goto out;
    }
    c->host = ks_strndup(auth, alen);
    if (!slash) {
        c->path = ks_strdup("/");
        err = ks_buf_append_char(&url, '/');
        if (err)
            goto out;
    } else {
        c->path = ks_strdup(slash);
    }
    if (!c->host || !c->path) {
        err = KS_ERR_NOMEM;
        goto out;
    }
    if (strchr(c->path, '?')) {
        err = KS_ERR_INVALID; /* no query on JSON-protocol endpoints */
        goto out;
    }
    size_t len;
    err = ks_buf_detach(&url, &c->url, &len);
out:
    ks_buf_clean_up(&url);
    return err;
}

ks_err ks_aws_client_new(const ks_aws_client_options *opts, ks_aws_client **out)
{
    *out = NULL;
    if (!opts || !opts->http || !opts->creds.get || !opts->service || !*opts->service ||
        !opts->region || !*opts->region || !opts->target_prefix || !opts->content_type)
        return KS_ERR_INVALID;
    ks_aws_client *c = calloc(1, sizeof(*c));
    if (!c)
        return KS_ERR_NOMEM;
    c->http = opts->http;
    c->creds = opts->creds;
    c->clock = opts->clock ? opts->clock : ks_clock_system();
    c->tcp = opts->tcp;
    c->default_timeout_ms =
        opts->default_timeout_ms ? opts->default_timeout_ms : KS_AWS_DEFAULT_TIMEOUT_MS;
    c->service = ks_strdup(opts->service);
    c->region = ks_strdup(opts->region);
    c->target_prefix = ks_strdup(opts->target_prefix);
    c->content_type = ks_strdup(opts->content_type);
    ks_err err = KS_ERR_NOMEM;
    if (!c->service || !c->region || !c->target_prefix || !c->content_type)
        goto fail;
    err = parse_endpoint(c, opts->endpoint);
    if (err)
        goto fail;
    *out = c;
    return KS_OK;
fail:
    ks_aws_client_destroy(c);
    return err;
}

void ks_aws_client_destroy(ks_aws_client *c)
{
    if (!c)
        return;
    while (c->calls) {
        aws_call *call = c->calls;
        if (call->http_call) {
            /* runs on_http_done synchronously with KS_ERR_CANCELLED, which frees call */
            ks_http_cancel(call->http_call);
            continue;
        }
        /* waiting for credentials: answer now, free when the credentials arrive */
        call_unlink(c, call);
        call->c = NULL;
        ks_aws_result res = {.err = KS_ERR_CANCELLED};
        call->cb(call->ud, &res);
    }
    free(c->service);
    free(c->region);
    free(c->url);
    free(c->host);
    free(c->path);
    free(c->target_prefix);
    free(c->content_type);
    free(c);
}

const char *ks_aws_client_url(const ks_aws_client *c)
{
    return c->url;
}

/* ---- credentials and region ---------------------------------------------------------- */

static void chain_get(void *source_ud, ks_creds_cb cb, void *ud)
{
    ks_creds_chain_get(source_ud, cb, ud);
}

static void chain_invalidate(void *source_ud)
{
    ks_creds_chain_invalidate(source_ud);
}

ks_creds_source ks_creds_source_from_chain(ks_creds_chain *chain)
{
    ks_creds_source s = {.get = chain_get, .invalidate = chain_invalidate, .source_ud = chain};
    return s;
}

char *ks_aws_resolve_region(const char *configured, const char *stream_or_arn)
{
    if (configured && *configured)
        return ks_strdup(configured);
    static const char *envs[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = getenv(envs[i]);
        if (v && *v)
            return ks_strdup(v);
    }
    /* arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE */
    if (stream_or_arn && strncmp(stream_or_arn, "arn:", 4) == 0) {
        const char *p = stream_or_arn;
        for (int field = 0; field < 3; field++) {
            p = strchr(p, ':');
            if (!p)
                return NULL;
            p++;
        }
        size_t n = strcspn(p, ":");
        if (n > 0 && p[n] == ':')
            return ks_strndup(p, n);
    }
    return NULL;
}
