/* Container credentials (EKS Pod Identity, ECS): GET AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 * on http://169.254.170.2, or AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to a
 * loopback / documented link-local IP literal only), with an Authorization header from
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read every time) or
 * AWS_CONTAINER_AUTHORIZATION_TOKEN. Answer: JSON AccessKeyId/SecretAccessKey/Token/Expiration. */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "aws/creds_provider.h"
#include "core/log.h"

#define KS_CONTAINER_TIMEOUT_MS 5000
#define KS_CONTAINER_TOKEN_MAX (16 * 1024)
#define KS_CONTAINER_HOST "http://169.254.170.2"

typedef struct container_provider {
    ks_creds_provider base;
    ks_buf url, token_path;
    ks_creds_file_read *read;
    ks_http_call *call;
    ks_creds_provider_cb cb;
    void *ud;
} container_provider;

static void answer(container_provider *cp, ks_err err, const ks_aws_creds *creds)
{
    ks_creds_provider_cb cb = cp->cb;
    cp->cb = NULL;
    cp->call = NULL;
    cp->read = NULL;
    cb(cp->ud, err, creds);
}

static void on_response(void *ud, const ks_http_response *resp)
{
    container_provider *cp = ud;
    ks_aws_creds creds = {0};
    ks_err err = resp->err;
    if (err != KS_OK) {
        if (err != KS_ERR_CANCELLED)
            KS_WARN("credentials: container endpoint %s: %s (%s)", cp->url.data, ks_err_str(err),
                    resp->err_msg ? resp->err_msg : "");
    } else if (resp->status == 200) {
        err = ks_creds_parse_json(resp->body, resp->body_len, &creds);
        if (err != KS_OK)
            KS_WARN("credentials: container endpoint %s: no credentials in the answer",
                    cp->url.data);
    } else {
        cJSON *j = cJSON_ParseWithLength(resp->body, resp->body_len);
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "code");
        KS_WARN("credentials: container endpoint %s: HTTP %ld %s %s", cp->url.data, resp->status,
                cJSON_IsString(c) ? c->valuestring : "", cJSON_IsString(m) ? m->valuestring : "");
        cJSON_Delete(j);
        err = resp->status >= 500                            ? KS_ERR_AWS_SERVER
              : resp->status == 429                          ? KS_ERR_AWS_THROTTLED
              : (resp->status == 401 || resp->status == 403) ? KS_ERR_AWS_ACCESS_DENIED
                                                             : KS_ERR_AWS_OTHER;
    }
    answer(cp, err, err == KS_OK ? &creds : NULL);
    ks_aws_creds_clean_up(&creds);
}

static ks_err send_request(container_provider *cp, const char *auth)
{
    if (auth && strpbrk(auth, "\r\n")) {
        KS_WARN("credentials: container authorization token contains a line break");
        return KS_ERR_INVALID;
    }
    ks_http_header h = {"Authorization", auth};
    ks_http_request req = {
        .method = "GET",
        .url = cp->url.data,
        .headers = &h,
        .n_headers = auth ? 1 : 0,
        .timeout_ms = KS_CONTAINER_TIMEOUT_MS,
        .tcp = cp->base.ctx->tcp,
    };
    return ks_http_send(cp->base.ctx->http, &req, on_response, cp, &cp->call);
}

static void on_token(void *ud, ks_err err, const char *data, size_t len)
{
    container_provider *cp = ud;
    cp->read = NULL;
    if (err == KS_OK) {
        while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
            len--;
        char *token = ks_strndup(data, len);
        err = token ? send_request(cp, token) : KS_ERR_NOMEM;
        if (token) {
            memset(token, 0, len);
            free(token);
        }
    } else if (err != KS_ERR_CANCELLED) {
        KS_WARN("credentials: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s",
                cp->token_path.data, ks_err_str(err));
        err = KS_ERR_IO;
    }
    if (err != KS_OK)
        answer(cp, err, NULL);
}

static ks_err container_fetch(ks_creds_provider *p, ks_creds_provider_cb cb, void *ud)
{
    container_provider *cp = (container_provider *)p;
    const char *rel = ks_creds_getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = ks_creds_getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (!rel && !full)
        return KS_ERR_NOT_FOUND;
    ks_buf_reset(&cp->url);
    ks_err err =
        rel ? ks_buf_appendf(&cp->url, "%s%s%s", KS_CONTAINER_HOST, rel[0] == '/' ? "" : "/", rel)
            : ks_buf_append_str(&cp->url, full);
    if (err != KS_OK)
        return err;
    if (!rel && !ks_creds_container_url_allowed(full)) {
        KS_WARN("credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI %s refused: plain http is only "
                "allowed to a loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23",
                full);
        return KS_ERR_INVALID;
    }
    const char *path = ks_creds_getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    cp->cb = cb;
    cp->ud = ud;
    if (path) {
        ks_buf_reset(&cp->token_path);
        err = ks_buf_append_str(&cp->token_path, path);
        if (err == KS_OK)
            err = ks_creds_file_read_start(p->ctx->loop, path, KS_CONTAINER_TOKEN_MAX, on_token, cp,
                                           &cp->read);
    } else {
        err = send_request(cp, ks_creds_getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
    }
    if (err != KS_OK)
        cp->cb = NULL;
    return err;
}

static void container_cancel(ks_creds_provider *p)
{
    container_provider *cp = (container_provider *)p;
    if (!cp->cb)
        return;
    if (cp->read)
        ks_creds_file_read_cancel(cp->read);
    else if (cp->call)
        ks_http_cancel(cp->call);
}

static void container_destroy(ks_creds_provider *p)
{
    container_provider *cp = (container_provider *)p;
    if (!cp)
        return;
    ks_buf_clean_up(&cp->url);
    ks_buf_clean_up(&cp->token_path);
    free(cp);
}

static const ks_creds_provider_vtable container_vt = {
    .name = "container",
    .fetch = container_fetch,
    .cancel = container_cancel,
    .destroy = container_destroy,
};

ks_err ks_creds_container_new(const ks_creds_provider_ctx *ctx, ks_creds_provider **out)
{
    container_provider *cp = calloc(1, sizeof(*cp));
    if (!cp)
        return KS_ERR_NOMEM;
    cp->base.vt = &container_vt;
    cp->base.ctx = ctx;
    ks_buf_init(&cp->url);
    ks_buf_init(&cp->token_path);
    *out = &cp->base;
    return KS_OK;
}
