/* credentials.role [+ role_external_id]: STS AssumeRole signed (SigV4, service "sts") with
 * the base credentials of an inner chain built from the same configuration minus the role.
 * The inner chain caches and refreshes the base credentials on its own. */
#include <stdlib.h>
#include <string.h>

#include "aws/creds_provider.h"
#include "aws/sigv4.h"
#include "core/log.h"

typedef struct role_provider {
    ks_creds_provider base;
    ks_creds_chain *inner;
    char *role_arn;
    char *external_id;
    int waiting_base;
    ks_creds_sts_call *sts;
    ks_creds_provider_cb cb;
    void *ud;
} role_provider;

static void answer(role_provider *rp, ks_err err, const ks_aws_creds *creds)
{
    ks_creds_provider_cb cb = rp->cb;
    rp->cb = NULL;
    rp->sts = NULL;
    rp->waiting_base = 0;
    cb(rp->ud, err, creds);
}

static void on_sts(void *ud, ks_err err, const ks_aws_creds *creds)
{
    role_provider *rp = ud;
    if (err == KS_ERR_AWS_ACCESS_DENIED)
        ks_creds_chain_invalidate(rp->inner); /* the base credentials may be stale */
    answer(rp, err, creds);
}

static ks_err build_body(role_provider *rp, ks_buf *body)
{
    char session[64];
    ks_creds_session_name(rp->base.ctx->clock, session);
    ks_err err = ks_buf_append_str(body, "Action=AssumeRole&Version=2011-06-15&RoleArn=");
    if (err == KS_OK)
        err = ks_creds_urlencode(body, rp->role_arn);
    if (err == KS_OK)
        err = ks_buf_append_str(body, "&RoleSessionName=");
    if (err == KS_OK)
        err = ks_creds_urlencode(body, session);
    if (err == KS_OK && rp->external_id) {
        err = ks_buf_append_str(body, "&ExternalId=");
        if (err == KS_OK)
            err = ks_creds_urlencode(body, rp->external_id);
    }
    return err;
}

/* Signs and sends AssumeRole with the base credentials. */
static ks_err send_assume_role(role_provider *rp, const ks_aws_creds *base)
{
    const ks_creds_provider_ctx *ctx = rp->base.ctx;
    ks_buf url, body, auth;
    ks_buf_init(&url);
    ks_buf_init(&body);
    ks_buf_init(&auth);
    ks_creds_url u;
    ks_err err = ks_creds_sts_url(ctx, &url);
    if (err == KS_OK)
        err = ks_creds_url_parse(url.data, &u);
    if (err == KS_OK)
        err = build_body(rp, &body);
    if (err != KS_OK)
        goto out;
    const char *path = strstr(url.data, "://") + 3 + strlen(u.authority);
    char path_buf[512];
    size_t plen = strcspn(path, "?#");
    if (plen == 0 || plen >= sizeof(path_buf)) {
        strcpy(path_buf, "/");
    } else {
        memcpy(path_buf, path, plen);
        path_buf[plen] = '\0';
    }
    int64_t now_s = ks_clock_wall_ms(ctx->clock) / 1000;
    char amz_date[17];
    ks_sigv4_amz_date(now_s, amz_date);
    const char *region = ctx->region && *ctx->region ? ctx->region : "us-east-1";
    ks_http_header signed_h[4] = {
        {"content-type", "application/x-www-form-urlencoded; charset=utf-8"},
        {"host", u.authority},
        {"x-amz-date", amz_date},
        {"x-amz-security-token", base->session_token},
    };
    size_t n_signed = base->session_token ? 4 : 3;
    ks_sigv4_request sreq = {
        .method = "POST",
        .path = path_buf,
        .query = NULL,
        .headers = signed_h,
        .n_headers = n_signed,
        .body = body.data,
        .body_len = body.len,
        .normalize_path = 1,
    };
    ks_sigv4_params params = {
        .access_key_id = base->access_key_id,
        .secret_access_key = base->secret_access_key,
        .region = region,
        .service = "sts",
        .epoch_s = now_s,
    };
    err = ks_sigv4_authorization(&params, &sreq, &auth);
    if (err != KS_OK)
        goto out;
    /* Content-Type is added by ks_creds_sts_post with the value signed above. */
    ks_http_header send_h[4] = {
        {"Host", u.authority},
        {"X-Amz-Date", amz_date},
        {"Authorization", auth.data},
        {"X-Amz-Security-Token", base->session_token},
    };
    err = ks_creds_sts_post(ctx, "AssumeRole", url.data, send_h, base->session_token ? 4 : 3,
                            body.data, body.len, on_sts, rp, &rp->sts);
out:
    ks_buf_clean_up(&url);
    ks_buf_clean_up(&body);
    ks_buf_clean_up(&auth);
    return err;
}

static void on_base(void *ud, ks_err err, const ks_aws_creds *creds)
{
    role_provider *rp = ud;
    if (!rp->waiting_base)
        return; /* cancelled meanwhile */
    rp->waiting_base = 0;
    if (err != KS_OK) {
        if (err != KS_ERR_CANCELLED)
            KS_WARN("credentials: no base credentials to assume role %s: %s", rp->role_arn,
                    ks_err_str(err));
        answer(rp, err == KS_ERR_NOT_FOUND ? KS_ERR_AWS_ACCESS_DENIED : err, NULL);
        return;
    }
    err = send_assume_role(rp, creds);
    if (err != KS_OK)
        answer(rp, err, NULL);
}

static ks_err role_fetch(ks_creds_provider *p, ks_creds_provider_cb cb, void *ud)
{
    role_provider *rp = (role_provider *)p;
    rp->cb = cb;
    rp->ud = ud;
    rp->waiting_base = 1;
    ks_creds_chain_get(rp->inner, on_base, rp); /* may answer synchronously */
    return KS_OK;
}

static void role_cancel(ks_creds_provider *p)
{
    role_provider *rp = (role_provider *)p;
    if (!rp->cb)
        return;
    if (rp->waiting_base)
        answer(rp, KS_ERR_CANCELLED, NULL);
    else if (rp->sts)
        ks_creds_sts_cancel(rp->sts);
}

static void role_destroy(ks_creds_provider *p)
{
    role_provider *rp = (role_provider *)p;
    if (!rp)
        return;
    rp->waiting_base = 0;
    ks_creds_chain_destroy(rp->inner); /* its handles close on the loop */
    free(rp->role_arn);
    free(rp->external_id);
    free(rp);
}

static const ks_creds_provider_vtable role_vt = {
    .name = "assume_role",
    .fetch = role_fetch,
    .cancel = role_cancel,
    .destroy = role_destroy,
};

ks_err ks_creds_assume_role_new(const ks_creds_provider_ctx *ctx,
                                const ks_creds_chain_options *opts,
                                const ks_credentials_config *cfg, ks_creds_provider **out)
{
    role_provider *rp = calloc(1, sizeof(*rp));
    if (!rp)
        return KS_ERR_NOMEM;
    rp->base.vt = &role_vt;
    rp->base.ctx = ctx;
    ks_credentials_config base_cfg = *cfg;
    base_cfg.role = NULL;
    base_cfg.role_external_id = NULL;
    ks_creds_chain_options inner_opts = *opts;
    inner_opts.config = &base_cfg;
    rp->role_arn = ks_strdup(cfg->role);
    rp->external_id =
        cfg->role_external_id && *cfg->role_external_id ? ks_strdup(cfg->role_external_id) : NULL;
    ks_err err =
        (!rp->role_arn || (cfg->role_external_id && *cfg->role_external_id && !rp->external_id))
            ? KS_ERR_NOMEM
            : ks_creds_chain_new(&inner_opts, &rp->inner);
    if (err != KS_OK) {
        role_destroy(&rp->base);
        return err;
    }
    *out = &rp->base;
    return KS_OK;
}
