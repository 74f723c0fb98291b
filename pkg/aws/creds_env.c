/* AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN], read at every fetch. */
#include <stdlib.h>

#include "aws/creds_provider.h"
#include "core/log.h"

static ks_err env_fetch(ks_creds_provider *p, ks_creds_provider_cb cb, void *ud)
{
    (void)p;
    const char *id = ks_creds_getenv("AWS_ACCESS_KEY_ID");
    const char *secret = ks_creds_getenv("AWS_SECRET_ACCESS_KEY");
    if (!id && !secret)
        return KS_ERR_NOT_FOUND;
    if (!id || !secret) {
        KS_WARN("credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
        return KS_ERR_INVALID;
    }
    ks_aws_creds creds = {0};
    ks_err err = ks_creds_set(&creds, id, secret, ks_creds_getenv("AWS_SESSION_TOKEN"), 0);
    if (err != KS_OK)
        return err;
    cb(ud, KS_OK, &creds);
    ks_aws_creds_clean_up(&creds);
    return KS_OK;
}

static void env_cancel(ks_creds_provider *p)
{
    (void)p;
}

static void env_destroy(ks_creds_provider *p)
{
    free(p);
}

static const ks_creds_provider_vtable env_vt = {
    .name = "env",
    .fetch = env_fetch,
    .cancel = env_cancel,
    .destroy = env_destroy,
};

ks_err ks_creds_env_new(const ks_creds_provider_ctx *ctx, ks_creds_provider **out)
{
    ks_creds_provider *p = calloc(1, sizeof(*p));
    if (!p)
        return KS_ERR_NOMEM;
    p->vt = &env_vt;
    p->ctx = ctx;
    *out = p;
    return KS_OK;
}
