/* Shared files: ~/.aws/credentials ("[name]") and ~/.aws/config ("[profile name]"), paths
 * from AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE, profile from the configuration,
 * AWS_PROFILE, or "default". Only static keys are read (aws_access_key_id,
 * aws_secret_access_key, aws_session_token); role_arn, sso_* and credential_process are
 * not supported. Files are read with uv_fs requests at every fetch. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/creds_provider.h"
#include "core/log.h"

#define KS_PROFILE_FILE_MAX (1024 * 1024)

/* ---- INI ---- */

typedef struct span {
    const char *p;
    size_t n;
} span;

static span trim(const char *p, size_t n)
{
    while (n && isspace((unsigned char)*p)) {
        p++;
        n--;
    }
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    return (span){p, n};
}

static int span_eq(span s, const char *lit, int nocase)
{
    size_t n = strlen(lit);
    if (s.n != n)
        return 0;
    return nocase ? strncasecmp(s.p, lit, n) == 0 : memcmp(s.p, lit, n) == 0;
}

/* Does the header text inside [...] name the wanted section? */
static int section_matches(span inner, const char *section, int config_style)
{
    if (!config_style)
        return span_eq(inner, section, 0);
    if (inner.n > 7 && memcmp(inner.p, "profile", 7) == 0 && isspace((unsigned char)inner.p[7]))
        return span_eq(trim(inner.p + 8, inner.n - 8), section, 0);
    return strcmp(section, "default") == 0 && span_eq(inner, "default", 0);
}

/* Cuts an inline comment: '#' or ';' preceded by whitespace. */
static span strip_comment(span v)
{
    for (size_t i = 1; i < v.n; i++) {
        if ((v.p[i] == '#' || v.p[i] == ';') && isspace((unsigned char)v.p[i - 1]))
            return trim(v.p, i);
    }
    return v;
}

ks_err ks_creds_ini_get(const char *text, size_t len, const char *section, int config_style,
                        const char *key, ks_buf *out)
{
    if (!text || !section || !key)
        return KS_ERR_NOT_FOUND;
    const char *end = text + len;
    int in_section = 0, nested = 0;
    ks_err found = KS_ERR_NOT_FOUND;
    for (const char *line = text; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t raw_n = nl ? (size_t)(nl - line) : (size_t)(end - line);
        int indented = raw_n && (line[0] == ' ' || line[0] == '\t');
        span l = trim(line, raw_n);
        line = nl ? nl + 1 : end;
        if (l.n == 0 || l.p[0] == '#' || l.p[0] == ';')
            continue;
        if (l.p[0] == '[') {
            nested = 0;
            const char *close = memchr(l.p, ']', l.n);
            in_section = close && section_matches(trim(l.p + 1, (size_t)(close - l.p - 1)), section,
                                                  config_style);
            continue;
        }
        if (indented && nested)
            continue; /* sub-property of a nested key (e.g. "s3 =\n  max_concurrent=1") */
        const char *eq = memchr(l.p, '=', l.n);
        if (!eq)
            continue;
        span k = trim(l.p, (size_t)(eq - l.p));
        span v = strip_comment(trim(eq + 1, (size_t)(l.p + l.n - eq - 1)));
        nested = v.n == 0;
        if (!in_section || !span_eq(k, key, 1))
            continue;
        ks_buf_reset(out); /* the last occurrence wins */
        found = ks_buf_append(out, v.p, v.n);
        if (found != KS_OK)
            return found;
    }
    return found;
}

static int lookup(const char *creds_text, size_t creds_len, const char *config_text,
                  size_t config_len, const char *profile, const char *key, ks_buf *out)
{
    ks_buf_reset(out);
    if (ks_creds_ini_get(creds_text, creds_len, profile, 0, key, out) == KS_OK && out->len)
        return 1;
    ks_buf_reset(out);
    return ks_creds_ini_get(config_text, config_len, profile, 1, key, out) == KS_OK && out->len;
}

ks_err ks_creds_profile_resolve(const char *creds_text, size_t creds_len, const char *config_text,
                                size_t config_len, const char *profile, ks_aws_creds *out)
{
    ks_buf id, secret, token;
    ks_buf_init(&id);
    ks_buf_init(&secret);
    ks_buf_init(&token);
    int has_id =
        lookup(creds_text, creds_len, config_text, config_len, profile, "aws_access_key_id", &id);
    int has_secret = lookup(creds_text, creds_len, config_text, config_len, profile,
                            "aws_secret_access_key", &secret);
    int has_token = lookup(creds_text, creds_len, config_text, config_len, profile,
                           "aws_session_token", &token);
    ks_err err;
    if (!has_id && !has_secret)
        err = KS_ERR_NOT_FOUND;
    else if (!has_id || !has_secret)
        err = KS_ERR_INVALID;
    else
        err = ks_creds_set(out, id.data, secret.data, has_token ? token.data : NULL, 0);
    if (secret.data)
        memset(secret.data, 0, secret.len);
    if (token.data)
        memset(token.data, 0, token.len);
    ks_buf_clean_up(&id);
    ks_buf_clean_up(&secret);
    ks_buf_clean_up(&token);
    return err;
}

/* ---- provider ---- */

typedef struct profile_provider {
    ks_creds_provider base;
    char *configured; /* from credentials.profile, or NULL */
    ks_buf name;      /* profile of the fetch in flight */
    int explicit_name;
    ks_buf creds_path, config_path;
    ks_buf creds_text;
    int have_creds_text;
    ks_creds_file_read *read;
    ks_creds_provider_cb cb;
    void *ud;
} profile_provider;

static void answer(profile_provider *pp, ks_err err, const ks_aws_creds *creds)
{
    ks_creds_provider_cb cb = pp->cb;
    pp->cb = NULL;
    pp->read = NULL;
    if (pp->creds_text.data)
        memset(pp->creds_text.data, 0, pp->creds_text.len);
    ks_buf_reset(&pp->creds_text);
    cb(pp->ud, err, creds);
}

static void on_config_file(void *ud, ks_err err, const char *data, size_t len)
{
    profile_provider *pp = ud;
    if (err == KS_ERR_CANCELLED) {
        answer(pp, err, NULL);
        return;
    }
    if (err != KS_OK && err != KS_ERR_NOT_FOUND)
        KS_WARN("credentials: cannot read %s: %s", pp->config_path.data, ks_err_str(err));
    ks_aws_creds creds = {0};
    ks_err rerr = ks_creds_profile_resolve(pp->have_creds_text ? pp->creds_text.data : NULL,
                                           pp->creds_text.len, err == KS_OK ? data : NULL,
                                           err == KS_OK ? len : 0, pp->name.data, &creds);
    if (rerr == KS_ERR_INVALID) {
        KS_WARN("credentials: profile %s sets only one of aws_access_key_id and "
                "aws_secret_access_key",
                pp->name.data);
    } else if (rerr == KS_ERR_NOT_FOUND && pp->explicit_name) {
        KS_WARN("credentials: profile %s has no aws_access_key_id/aws_secret_access_key in %s "
                "or %s (role_arn, sso and credential_process are not supported)",
                pp->name.data, pp->creds_path.data, pp->config_path.data);
        rerr = KS_ERR_INVALID; /* asked for explicitly: fail, do not fall through */
    }
    answer(pp, rerr, rerr == KS_OK ? &creds : NULL);
    ks_aws_creds_clean_up(&creds);
}

static void on_creds_file(void *ud, ks_err err, const char *data, size_t len)
{
    profile_provider *pp = ud;
    pp->read = NULL;
    if (err == KS_ERR_CANCELLED) {
        answer(pp, err, NULL);
        return;
    }
    if (err == KS_OK) {
        pp->have_creds_text = 1;
        err = ks_buf_append(&pp->creds_text, data, len);
        if (err != KS_OK) {
            answer(pp, err, NULL);
            return;
        }
    } else if (err != KS_ERR_NOT_FOUND) {
        KS_WARN("credentials: cannot read %s: %s", pp->creds_path.data, ks_err_str(err));
    }
    err = ks_creds_file_read_start(pp->base.ctx->loop, pp->config_path.data, KS_PROFILE_FILE_MAX,
                                   on_config_file, pp, &pp->read);
    if (err != KS_OK)
        on_config_file(pp, KS_ERR_NOT_FOUND, NULL, 0);
}

static ks_err path_or_home(ks_buf *out, const char *env, const char *home_rel)
{
    ks_buf_reset(out);
    const char *v = ks_creds_getenv(env);
    if (v)
        return ks_buf_append_str(out, v);
    const char *home = ks_creds_getenv("HOME");
    if (!home)
        return KS_ERR_NOT_FOUND;
    return ks_buf_appendf(out, "%s/%s", home, home_rel);
}

static ks_err profile_fetch(ks_creds_provider *p, ks_creds_provider_cb cb, void *ud)
{
    profile_provider *pp = (profile_provider *)p;
    const char *env_profile = ks_creds_getenv("AWS_PROFILE");
    ks_buf_reset(&pp->name);
    if (ks_buf_append_str(&pp->name, pp->configured ? pp->configured
                                     : env_profile  ? env_profile
                                                    : "default") != KS_OK)
        return KS_ERR_NOMEM;
    pp->explicit_name = pp->configured || env_profile;
    ks_err e1 = path_or_home(&pp->creds_path, "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
    ks_err e2 = path_or_home(&pp->config_path, "AWS_CONFIG_FILE", ".aws/config");
    if (e1 == KS_ERR_NOMEM || e2 == KS_ERR_NOMEM)
        return KS_ERR_NOMEM;
    if (e1 != KS_OK || e2 != KS_OK) {
        if (!pp->explicit_name)
            return KS_ERR_NOT_FOUND;
        KS_WARN("credentials: profile %s requested but HOME is not set", pp->name.data);
        return KS_ERR_INVALID;
    }
    pp->cb = cb;
    pp->ud = ud;
    pp->have_creds_text = 0;
    ks_buf_reset(&pp->creds_text);
    ks_err err = ks_creds_file_read_start(p->ctx->loop, pp->creds_path.data, KS_PROFILE_FILE_MAX,
                                          on_creds_file, pp, &pp->read);
    if (err != KS_OK)
        pp->cb = NULL;
    return err;
}

static void profile_cancel(ks_creds_provider *p)
{
    profile_provider *pp = (profile_provider *)p;
    if (pp->cb && pp->read)
        ks_creds_file_read_cancel(pp->read); /* answers with KS_ERR_CANCELLED */
}

static void profile_destroy(ks_creds_provider *p)
{
    profile_provider *pp = (profile_provider *)p;
    if (!pp)
        return;
    free(pp->configured);
    ks_buf_clean_up(&pp->name);
    ks_buf_clean_up(&pp->creds_path);
    ks_buf_clean_up(&pp->config_path);
    ks_buf_clean_up(&pp->creds_text);
    free(pp);
}

static const ks_creds_provider_vtable profile_vt = {
    .name = "profile",
    .fetch = profile_fetch,
    .cancel = profile_cancel,
    .destroy = profile_destroy,
};

ks_err ks_creds_profile_new(const ks_creds_provider_ctx *ctx, const char *profile,
                            ks_creds_provider **out)
{
    profile_provider *pp = calloc(1, sizeof(*pp));
    if (!pp)
        return KS_ERR_NOMEM;
    pp->base.vt = &profile_vt;
    pp->base.ctx = ctx;
    ks_buf_init(&pp->name);
    ks_buf_init(&pp->creds_path);
    ks_buf_init(&pp->config_path);
    ks_buf_init(&pp->creds_text);
    if (profile && *profile && !(pp->configured = ks_strdup(profile))) {
        free(pp);
        return KS_ERR_NOMEM;
    }
    *out = &pp->base;
    return KS_OK;
}
