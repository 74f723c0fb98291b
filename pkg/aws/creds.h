/* AWS credentials and the provider chain. Each source lives in its own small file
 * (creds_static.c, creds_env.c, creds_profile.c, creds_web_identity.c,
 * creds_container.c, creds_imds.c, creds_assume_role.c) behind one vtable, as in
 * fluent-bit. The chain caches the first credentials found and refreshes them ahead
 * of expiry without blocking the loop; a failed refresh keeps the old credentials
 * until they expire, and is logged.
 *
 * Which source (docs/credentials.md): explicit configuration wins — id/secret (static),
 * else profile, else from_ec2_role (IMDSv2) — otherwise the AWS SDK default order: env,
 * web identity (IRSA), shared files, container endpoint (Pod Identity/ECS), IMDSv2.
 * The first source that is configured answers (its failure is not hidden by falling
 * through to a later one). With `role` set, STS AssumeRole runs on top of that choice.
 * Refresh: 5 min before expiry, or at 80% of a short lifetime; gets arriving while
 * nothing usable is cached are queued and all answered. */
#ifndef KS_AWS_CREDS_H
#define KS_AWS_CREDS_H

#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "core/clock.h"
#include "core/err.h"
#include "http/http.h"

typedef struct ks_aws_creds {
    char *access_key_id;
    char *secret_access_key; /* secret: never log */
    char *session_token;     /* secret: never log; NULL when none */
    int64_t expires_wall_ms; /* 0 = does not expire */
} ks_aws_creds;

void ks_aws_creds_clean_up(ks_aws_creds *c); /* frees members; accepts NULL */
ks_err ks_aws_creds_copy(const ks_aws_creds *src, ks_aws_creds *dst);

typedef struct ks_creds_chain ks_creds_chain;

typedef struct ks_creds_chain_options {
    uv_loop_t *loop;
    ks_http *http;
    const ks_clock *clock;               /* NULL = system */
    const ks_credentials_config *config; /* the `credentials` block (may be all-empty) */
    const char *region;                  /* for STS regional endpoint */
    const char *sts_endpoint;  /* override (tests); NULL = https://sts.<region>.amazonaws.com */
    const char *imds_endpoint; /* override (tests); NULL = http://169.254.169.254 */
    const ks_tcp_opts *tcp;
} ks_creds_chain_options;

/* creds valid only during the callback: copy what you keep. */
typedef void (*ks_creds_cb)(void *ud, ks_err err, const ks_aws_creds *creds);

/* The options' strings are copied; config is read only during the call. Requests go through
 * opts->http, which must outlive the chain. On failure, run the loop once to close the
 * chain's timer handle (as after destroy). */
ks_err ks_creds_chain_new(const ks_creds_chain_options *opts, ks_creds_chain **out);
/* Accepts NULL; pending gets -> CANCELLED (synchronously); the memory is freed when the
 * chain's timer handle has closed: run the loop afterwards. May be called from
 * inside one of the chain's callbacks (freeing is then deferred). */
void ks_creds_chain_destroy(ks_creds_chain *chain);
/* Calls back synchronously when cached credentials are fresh, else after fetching. */
void ks_creds_chain_get(ks_creds_chain *chain, ks_creds_cb cb, void *ud);
/* Forces a refresh on next get (after an ExpiredToken/AccessDenied); rate-limited. */
void ks_creds_chain_invalidate(ks_creds_chain *chain);
/* Name of the source that produced the cached credentials ("static", "env", ...), or NULL. */
const char *ks_creds_chain_source(const ks_creds_chain *chain);

#endif
