/* Credentials written in the configuration (credentials.id/secret/token). */
#include <stdlib.h>

#include "aws/creds_provider.h"

typedef struct static_provider {
    ks_creds_provider base;
    ks_aws_creds creds;
} static_provider;

static ks_err static_fetch(ks_creds_provider *p, ks_creds_provider_cb cb, void *ud)
{
    static_provider *sp = (static_provider *)p;
    cb(ud, KS_OK, &sp->creds);
    return KS_OK;
}

static void static_cancel(ks_creds_provider *p)
{
    (void)p; /* answers synchronously: never in flight */
}

static void static_destroy(ks_creds_provider *p)
{
    static_provider *sp = (static_provider *)p;
    if (!sp)
        return;
    ks_aws_creds_clean_up(&sp->creds);
    free(sp);
}

static const ks_creds_provider_vtable static_vt = {
    .name = "static",
    .fetch = static_fetch,
    .cancel = static_cancel,
    .destroy = static_destroy,
};

ks_err ks_creds_static_new(const ks_creds_provider_ctx *ctx, const ks_credentials_config *cfg,
                           ks_creds_provider **out)
{
    if (!cfg || !cfg->id || !*cfg->id || !cfg->secret || !*cfg->secret)
        return KS_ERR_INVALID;
    static_provider *sp = calloc(1, sizeof(*sp));
    if (!sp)
        return KS_ERR_NOMEM;
    sp->base.vt = &static_vt;
    sp->base.ctx = ctx;
    ks_err err = ks_creds_set(&sp->creds, cfg->id, cfg->secret, cfg->token, 0);
    if (err != KS_OK) {
        free(sp);
        return err;
    }
    *out = &sp->base;
    return KS_OK;
}
