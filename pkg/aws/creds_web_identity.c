/* EKS IRSA: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE [+ AWS_ROLE_SESSION_NAME] ->
 * STS AssumeRoleWithWebIdentity (unsigned, query protocol). The token file is re-read at
 * every fetch: the kubelet rotates it. */
#include <stdlib.h>
#include <string.h>

#include "aws/creds_provider.h"
#include "core/log.h"

#define KS_WEB_TOKEN_MAX (64 * 1024)

typedef struct web_provider {
    ks_creds_provider base;
    ks_buf role_arn, session, token_path;
    ks_creds_file_read *read;
    ks_creds_sts_call *sts;
    ks_creds_provider_cb cb;
    void *ud;
} web_provider;

static void on_sts(void *ud, ks_err err, const ks_aws_creds *creds)
{
    web_provider *wp = ud;
    ks_creds_provider_cb cb = wp->cb;
    wp->sts = NULL;
    wp->cb = NULL;
    cb(wp->ud, err, creds);
}

static void on_token(void *ud, ks_err err, const char *data, size_t len)
{
    web_provider *wp = ud;
    wp->read = NULL;
    ks_buf body, url;
    ks_buf_init(&body);
    ks_buf_init(&url);
    if (err != KS_OK) {
        if (err != KS_ERR_CANCELLED) {
            KS_WARN("credentials: cannot read AWS_WEB_IDENTITY_TOKEN_FILE %s: %s",
                    wp->token_path.data, ks_err_str(err));
            err = KS_ERR_IO;
        }
        goto fail;
    }
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
        len--;
    if (len == 0) {
        KS_WARN("credentials: AWS_WEB_IDENTITY_TOKEN_FILE %s is empty", wp->token_path.data);
        err = KS_ERR_INVALID;
        goto fail;
    }
    char *token = ks_strndup(data, len);
    err = token ? KS_OK : KS_ERR_NOMEM;
    if (err == KS_OK)
        err = ks_buf_appendf(&body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=");
    if (err == KS_OK)
        err = ks_creds_urlencode(&body, wp->role_arn.data);
    if (err == KS_OK)
        err = ks_buf_append_str(&body, "&RoleSessionName=");
    if (err == KS_OK)
        err = ks_creds_urlencode(&body, wp->session.data);
    if (err == KS_OK)
        err = ks_buf_append_str(&body, "&WebIdentityToken=");
    if (err == KS_OK)
        err = ks_creds_urlencode(&body, token);
    if (token) {
        memset(token, 0, len);
        free(token);
    }
    if (err == KS_OK)
        err = ks_creds_sts_url(wp->base.ctx, &url);
    if (err == KS_OK)
        err = ks_creds_sts_post(wp->base.ctx, "AssumeRoleWithWebIdentity", url.data, NULL, 0,
                                body.data, body.len, on_sts, wp, &wp->sts);
    if (err != KS_OK)
        goto fail;
    goto out;
fail:
    on_sts(wp, err, NULL);
out:
    if (body.data)
        memset(body.data, 0, body.len);
    ks_buf_clean_up(&body);
    ks_buf_clean_up(&url);
}

static ks_err web_fetch(ks_creds_provider *p, ks_creds_provider_cb cb, void *ud)
{
    web_provider *wp = (web_provider *)p;
    const char *arn = ks_creds_getenv("AWS_ROLE_ARN");
    const char *path = ks_creds_getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    if (!arn && !path)
        return KS_ERR_NOT_FOUND;
    if (!arn || !path) {
        KS_WARN("credentials: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE must be set together");
        return KS_ERR_INVALID;
    }
    const char *session = ks_creds_getenv("AWS_ROLE_SESSION_NAME");
    char generated[64];
    if (!session) {
        ks_creds_session_name(p->ctx->clock, generated);
        session = generated;
    }
    ks_buf_reset(&wp->role_arn);
    ks_buf_reset(&wp->session);
    ks_buf_reset(&wp->token_path);
    if (ks_buf_append_str(&wp->role_arn, arn) != KS_OK ||
        ks_buf_append_str(&wp->session, session) != KS_OK ||
        ks_buf_append_str(&wp->token_path, path) != KS_OK)
        return KS_ERR_NOMEM;
    wp->cb = cb;
    wp->ud = ud;
    ks_err err =
        ks_creds_file_read_start(p->ctx->loop, path, KS_WEB_TOKEN_MAX, on_token, wp, &wp->read);
    if (err != KS_OK)
        wp->cb = NULL;
    return err;
}

static void web_cancel(ks_creds_provider *p)
{
    web_provider *wp = (web_provider *)p;
    if (!wp->cb)
        return;
    if (wp->read)
        ks_creds_file_read_cancel(wp->read);
    else if (wp->sts)
        ks_creds_sts_cancel(wp->sts);
}

static void web_destroy(ks_creds_provider *p)
{
    web_provider *wp = (web_provider *)p;
    if (!wp)
        return;
    ks_buf_clean_up(&wp->role_arn);
    ks_buf_clean_up(&wp->session);
    ks_buf_clean_up(&wp->token_path);
    free(wp);
}

static const ks_creds_provider_vtable web_vt = {
    .name = "web_identity",
    .fetch = web_fetch,
    .cancel = web_cancel,
    .destroy = web_destroy,
};

ks_err ks_creds_web_identity_new(const ks_creds_provider_ctx *ctx, ks_creds_provider **out)
{
    web_provider *wp = calloc(1, sizeof(*wp));
    if (!wp)
        return KS_ERR_NOMEM;
    wp->base.vt = &web_vt;
    wp->base.ctx = ctx;
    ks_buf_init(&wp->role_arn);
    ks_buf_init(&wp->session);
    ks_buf_init(&wp->token_path);
    *out = &wp->base;
    return KS_OK;
}
