/* EC2 instance metadata, IMDSv2 only: PUT /latest/api/token (session token, cached for its
 * TTL), GET /latest/meta-data/iam/security-credentials/ (role name), GET .../<role>
 * (JSON credentials). Endpoint: options.imds_endpoint, AWS_EC2_METADATA_SERVICE_ENDPOINT,
 * or http://169.254.169.254. In the default chain it is the last resort and honours
 * AWS_EC2_METADATA_DISABLED=true. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/creds_provider.h"
#include "core/log.h"

#define KS_IMDS_DEFAULT "http://169.254.169.254"
#define KS_IMDS_TIMEOUT_MS 2000
#define KS_IMDS_TOKEN_TTL_S 21600
#define KS_IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"

enum imds_step { STEP_IDLE = 0, STEP_TOKEN, STEP_ROLE, STEP_CREDS };

typedef struct imds_provider {
    ks_creds_provider base;
    int explicit_cfg;
    enum imds_step step;
    int retried; /* one retry with a fresh token after a 401 */
    ks_buf endpoint, token, role, url;
    uint64_t token_expires_mono_ms;
    ks_http_call *call;
    ks_creds_provider_cb cb;
    void *ud;
} imds_provider;

static void answer(imds_provider *ip, ks_err err, const ks_aws_creds *creds)
{
    ks_creds_provider_cb cb = ip->cb;
    ip->cb = NULL;
    ip->call = NULL;
    ip->step = STEP_IDLE;
    cb(ip->ud, err, creds);
}

static void on_response(void *ud, const ks_http_response *resp);

static ks_err send_step(imds_provider *ip, enum imds_step step)
{
    ks_buf_reset(&ip->url);
    ks_err err = ks_buf_append_str(&ip->url, ip->endpoint.data);
    char ttl[16];
    ks_http_header h;
    if (step == STEP_TOKEN) {
        err = err == KS_OK ? ks_buf_append_str(&ip->url, "/latest/api/token") : err;
        snprintf(ttl, sizeof(ttl), "%d", KS_IMDS_TOKEN_TTL_S);
        h = (ks_http_header){"X-aws-ec2-metadata-token-ttl-seconds", ttl};
    } else {
        err = err == KS_OK ? ks_buf_append_str(&ip->url, KS_IMDS_CREDS_PATH) : err;
        if (err == KS_OK && step == STEP_CREDS)
            err = ks_buf_append_str(&ip->url, ip->role.data);
        h = (ks_http_header){"X-aws-ec2-metadata-token", ip->token.data};
    }
    if (err != KS_OK)
        return err;
    ks_http_request req = {
        .method = step == STEP_TOKEN ? "PUT" : "GET",
        .url = ip->url.data,
        .headers = &h,
        .n_headers = 1,
        .timeout_ms = KS_IMDS_TIMEOUT_MS,
        .tcp = ip->base.ctx->tcp,
    };
    ip->step = step;
    return ks_http_send(ip->base.ctx->http, &req, on_response, ip, &ip->call);
}

static void on_response(void *ud, const ks_http_response *resp)
{
    imds_provider *ip = ud;
    static const char *const names[] = {"", "token", "role", "credentials"};
    enum imds_step step = ip->step;
    ks_aws_creds creds = {0};
    ks_err err = resp->err;
    ip->call = NULL;
    if (err != KS_OK) {
        if (err != KS_ERR_CANCELLED)
            KS_WARN("credentials: ec2 metadata %s request to %s failed: %s (%s)", names[step],
                    ip->endpoint.data, ks_err_str(err), resp->err_msg ? resp->err_msg : "");
        goto fail;
    }
    if (resp->status == 401 && step != STEP_TOKEN && !ip->retried) {
        ip->retried = 1; /* the session token expired: get a new one */
        ks_buf_reset(&ip->token);
        err = send_step(ip, STEP_TOKEN);
        if (err != KS_OK)
            goto fail;
        return;
    }
    if (resp->status != 200) {
        KS_WARN("credentials: ec2 metadata %s request: HTTP %ld", names[step], resp->status);
        err = resp->status == 404   ? KS_ERR_NOT_FOUND
              : resp->status >= 500 ? KS_ERR_AWS_SERVER
                                    : KS_ERR_AWS_ACCESS_DENIED;
        if (err == KS_ERR_NOT_FOUND)
            err = KS_ERR_AWS_OTHER; /* no instance profile: a failure, not "unconfigured" */
        goto fail;
    }
    if (step == STEP_TOKEN) {
        size_t n = strcspn(resp->body, "\r\n");
        ks_buf_reset(&ip->token);
        if (n == 0 || (err = ks_buf_append(&ip->token, resp->body, n)) != KS_OK) {
            err = err != KS_OK ? err : KS_ERR_PARSE;
            goto fail;
        }
        ip->token_expires_mono_ms =
            ks_clock_mono_ms(ip->base.ctx->clock) + (KS_IMDS_TOKEN_TTL_S - 60) * 1000ull;
        err = send_step(ip, STEP_ROLE);
    } else if (step == STEP_ROLE) {
        const char *b = resp->body;
        b += strspn(b, " \r\n");
        size_t n = strcspn(b, " \r\n");
        ks_buf_reset(&ip->role);
        if (n == 0 || memchr(b, '/', n) || (err = ks_buf_append(&ip->role, b, n)) != KS_OK) {
            KS_WARN("credentials: ec2 metadata lists no instance profile role");
            err = err != KS_OK ? err : KS_ERR_AWS_OTHER;
            goto fail;
        }
        err = send_step(ip, STEP_CREDS);
    } else {
        err = ks_creds_parse_json(resp->body, resp->body_len, &creds);
        if (err != KS_OK) {
            KS_WARN("credentials: ec2 metadata answer for role %s has no credentials",
                    ip->role.data);
            goto fail;
        }
        answer(ip, KS_OK, &creds);
        ks_aws_creds_clean_up(&creds);
        return;
    }
    if (err == KS_OK)
        return;
fail:
    answer(ip, err, NULL);
}

static ks_err imds_fetch(ks_creds_provider *p, ks_creds_provider_cb cb, void *ud)
{
    imds_provider *ip = (imds_provider *)p;
    const char *disabled = ks_creds_getenv("AWS_EC2_METADATA_DISABLED");
    if (!ip->explicit_cfg && disabled && strcasecmp(disabled, "true") == 0)
        return KS_ERR_NOT_FOUND;
    const char *ep = p->ctx->imds_endpoint ? p->ctx->imds_endpoint
                                           : ks_creds_getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    ks_buf_reset(&ip->endpoint);
    if (ks_buf_append_str(&ip->endpoint, ep ? ep : KS_IMDS_DEFAULT) != KS_OK)
        return KS_ERR_NOMEM;
    while (ip->endpoint.len && ip->endpoint.data[ip->endpoint.len - 1] == '/')
        ip->endpoint.data[--ip->endpoint.len] = '\0';
    ip->cb = cb;
    ip->ud = ud;
    ip->retried = 0;
    int have_token = ip->token.len && ks_clock_mono_ms(p->ctx->clock) < ip->token_expires_mono_ms;
    if (!have_token)
        ip->retried = 1; /* a fresh token gets no second chance */
    ks_err err = send_step(ip, have_token ? STEP_ROLE : STEP_TOKEN);
    if (err != KS_OK) {
        ip->cb = NULL;
        ip->step = STEP_IDLE;
    }
    return err;
}

static void imds_cancel(ks_creds_provider *p)
{
    imds_provider *ip = (imds_provider *)p;
    if (ip->cb && ip->call)
        ks_http_cancel(ip->call);
}

static void imds_destroy(ks_creds_provider *p)
{
    imds_provider *ip = (imds_provider *)p;
    if (!ip)
        return;
    ks_buf_clean_up(&ip->endpoint);
    if (ip->token.data)
        memset(ip->token.data, 0, ip->token.len);
    ks_buf_clean_up(&ip->token);
    ks_buf_clean_up(&ip->role);
    ks_buf_clean_up(&ip->url);
    free(ip);
}

static const ks_creds_provider_vtable imds_vt = {
    .name = "ec2_metadata",
    .fetch = imds_fetch,
    .cancel = imds_cancel,
    .destroy = imds_destroy,
};

ks_err ks_creds_imds_new(const ks_creds_provider_ctx *ctx, int explicit_cfg,
                         ks_creds_provider **out)
{
    imds_provider *ip = calloc(1, sizeof(*ip));
    if (!ip)
        return KS_ERR_NOMEM;
    ip->base.vt = &imds_vt;
    ip->base.ctx = ctx;
    ip->explicit_cfg = explicit_cfg;
    ks_buf_init(&ip->endpoint);
    ks_buf_init(&ip->token);
    ks_buf_init(&ip->role);
    ks_buf_init(&ip->url);
    *out = &ip->base;
    return KS_OK;
}
