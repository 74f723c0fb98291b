/* Internal to pkg/aws: one credential source behind a small vtable (fluent-bit style),
 * plus the helpers the sources share (async file reads, URL/host checks, STS XML and
 * credentials JSON parsing, ISO-8601 times). Only the creds_*.c files include this. */
#ifndef KS_AWS_CREDS_PROVIDER_H
#define KS_AWS_CREDS_PROVIDER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "aws/creds.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "http/http.h"

/* What every source may use; owned by the chain, outlives its providers. */
typedef struct ks_creds_provider_ctx {
    uv_loop_t *loop;
    ks_http *http;
    const ks_clock *clock;
    const ks_tcp_opts *tcp;
    const char *region;        /* may be NULL */
    const char *sts_endpoint;  /* may be NULL */
    const char *imds_endpoint; /* may be NULL */
} ks_creds_provider_ctx;

typedef struct ks_creds_provider ks_creds_provider;

/* creds valid only during the callback (the receiver copies). */
typedef void (*ks_creds_provider_cb)(void *ud, ks_err err, const ks_aws_creds *creds);

typedef struct ks_creds_provider_vtable {
    const char *name; /* "static", "env", "web_identity", ... */
    /* KS_ERR_NOT_FOUND (no callback): source not configured here; the chain tries the next.
     * KS_OK: cb runs exactly once, possibly synchronously; cb with KS_ERR_NOT_FOUND also
     * means "not configured" (found out asynchronously, e.g. no profile file). Any other
     * error, returned or passed to cb: the source is configured but failed, and its
     * answer is the chain's. One fetch at a time per provider. */
    ks_err (*fetch)(ks_creds_provider *p, ks_creds_provider_cb cb, void *ud);
    /* Cancels an in-flight fetch: cb runs synchronously with KS_ERR_CANCELLED. No-op
     * when idle. */
    void (*cancel)(ks_creds_provider *p);
    /* Frees an idle provider (cancel first). */
    void (*destroy)(ks_creds_provider *p);
} ks_creds_provider_vtable;

struct ks_creds_provider {
    const ks_creds_provider_vtable *vt;
    const ks_creds_provider_ctx *ctx;
};

/* Constructors (ctx and the strings they are given must outlive the provider; they copy
 * what they keep). */
ks_err ks_creds_static_new(const ks_creds_provider_ctx *ctx, const ks_credentials_config *cfg,
                           ks_creds_provider **out);
ks_err ks_creds_env_new(const ks_creds_provider_ctx *ctx, ks_creds_provider **out);
ks_err ks_creds_web_identity_new(const ks_creds_provider_ctx *ctx, ks_creds_provider **out);
/* profile: explicit profile name (config), or NULL for AWS_PROFILE / "default". */
ks_err ks_creds_profile_new(const ks_creds_provider_ctx *ctx, const char *profile,
                            ks_creds_provider **out);
ks_err ks_creds_container_new(const ks_creds_provider_ctx *ctx, ks_creds_provider **out);
/* explicit: configured by from_ec2_role (ignores AWS_EC2_METADATA_DISABLED). */
ks_err ks_creds_imds_new(const ks_creds_provider_ctx *ctx, int explicit_cfg,
                         ks_creds_provider **out);
/* Wraps a base chain built from base_cfg (role fields ignored) and calls STS AssumeRole. */
ks_err ks_creds_assume_role_new(const ks_creds_provider_ctx *ctx,
                                const ks_creds_chain_options *opts,
                                const ks_credentials_config *cfg, ks_creds_provider **out);

/* A chain over the given providers (ownership moves to the chain, also on failure):
 * the seam the tests use to drive the caching logic with a fake source. */
ks_err ks_creds_chain_new_with(const ks_creds_chain_options *opts, ks_creds_provider **providers,
                               size_t n, ks_creds_chain **out);
/* Wall time of the next planned refresh (ms since epoch), 0 when none. */
int64_t ks_creds_chain_next_refresh_ms(const ks_creds_chain *chain);

/* INI text (AWS shared files): value of key in [section] into out. KS_ERR_NOT_FOUND when
 * the section or key is absent. Sections match "[name]", or "[profile name]" when
 * config_style (where "[default]" also matches "default"). */
ks_err ks_creds_ini_get(const char *text, size_t len, const char *section, int config_style,
                        const char *key, ks_buf *out);
/* Credentials of a profile from the shared credentials file text and the config file text
 * (either may be NULL); the credentials file wins. KS_ERR_NOT_FOUND when the profile is in
 * neither or has no keys; KS_ERR_INVALID when only one of id/secret is set. */
ks_err ks_creds_profile_resolve(const char *creds_text, size_t creds_len, const char *config_text,
                                size_t config_len, const char *profile, ks_aws_creds *out);

/* ---- shared helpers (creds_util.c) ---- */

/* Non-empty environment variable or NULL. */
const char *ks_creds_getenv(const char *name);

/* Reads a whole (small) file with uv_fs_* requests, never blocking the loop. cb gets the
 * contents (NUL-terminated, valid during cb) or an error (KS_ERR_NOT_FOUND when missing,
 * KS_ERR_CANCELLED after ks_creds_file_read_cancel). */
typedef struct ks_creds_file_read ks_creds_file_read;
typedef void (*ks_creds_file_cb)(void *ud, ks_err err, const char *data, size_t len);
ks_err ks_creds_file_read_start(uv_loop_t *loop, const char *path, size_t max_len,
                                ks_creds_file_cb cb, void *ud, ks_creds_file_read **out);
/* cb runs synchronously with KS_ERR_CANCELLED; the request frees itself later. */
void ks_creds_file_read_cancel(ks_creds_file_read *r);

/* Appends s percent-encoded (RFC 3986 unreserved kept) to out. */
ks_err ks_creds_urlencode(ks_buf *out, const char *s);

/* Splits "scheme://authority/path" into parts; host without brackets. out strings are
 * written into the caller's buffers. KS_ERR_INVALID when malformed or userinfo present. */
typedef struct ks_creds_url {
    char scheme[8];
    char host[256];
    char authority[300]; /* host[:port] as written (brackets kept), for the Host header */
    int port;            /* 0 when absent */
} ks_creds_url;
ks_err ks_creds_url_parse(const char *url, ks_creds_url *out);

/* 1 when url may serve container credentials: https, or http to a loopback IP literal
 * (127.0.0.0/8, ::1) or 169.254.170.2, 169.254.170.23, fd00:ec2::23. */
int ks_creds_container_url_allowed(const char *url);

/* ISO-8601 / RFC 3339 UTC time ("2026-11-26T09:38:33Z", fractions and +hh:mm allowed). */
ks_err ks_creds_parse_iso8601(const char *s, int64_t *out_epoch_ms);

/* Credentials JSON (container endpoint, IMDS): AccessKeyId, SecretAccessKey, Token,
 * Expiration. On success *out owns copies. */
ks_err ks_creds_parse_json(const char *body, size_t len, ks_aws_creds *out);

/* STS XML answer: the <Credentials> element anywhere in the document. */
ks_err ks_creds_parse_sts_xml(const char *body, size_t len, ks_aws_creds *out);
/* STS error XML: Code and Message into bufs (empty when absent). Maps to a ks_err. */
ks_err ks_creds_sts_error(const char *body, size_t len, long status, ks_buf *code, ks_buf *msg);

/* Sets the credentials' required fields (strdup); NULL token allowed. */
ks_err ks_creds_set(ks_aws_creds *c, const char *id, const char *secret, const char *token,
                    int64_t expires_wall_ms);

/* Generates a session name "kinesis-sidecar-<epoch ms>" into out (>= 64 bytes). */
void ks_creds_session_name(const ks_clock *clock, char out[64]);

/* Posts an STS query-protocol form and parses the credentials answer; the common half
 * of web identity and AssumeRole. headers are extra (signing) headers. */
typedef struct ks_creds_sts_call ks_creds_sts_call;
ks_err ks_creds_sts_post(const ks_creds_provider_ctx *ctx, const char *action, const char *url,
                         const ks_http_header *headers, size_t n_headers, const char *body,
                         size_t body_len, ks_creds_provider_cb cb, void *ud,
                         ks_creds_sts_call **out);
void ks_creds_sts_cancel(ks_creds_sts_call *call);
/* The STS endpoint URL into out: ctx->sts_endpoint, or https://sts.<region>.amazonaws.com
 * (https://sts.amazonaws.com without a region). */
ks_err ks_creds_sts_url(const ks_creds_provider_ctx *ctx, ks_buf *out);

#endif
