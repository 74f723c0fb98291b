/* Parsing the answers of credential endpoints (JSON from the container endpoint and IMDS,
 * XML from STS via libxml2), and the STS query-protocol POST both STS sources share. */
#include <cJSON.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

#include "aws/creds_provider.h"
#include "core/log.h"

#define KS_STS_TIMEOUT_MS 10000

static const char *json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && v->valuestring && *v->valuestring ? v->valuestring : NULL;
}

ks_err ks_creds_parse_json(const char *body, size_t len, ks_aws_creds *out)
{
    ks_err err = KS_ERR_PARSE;
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(root))
        goto out;
    const char *code = json_str(root, "Code");
    if (code && strcmp(code, "Success") != 0)
        goto out; /* IMDS reports failures in Code */
    const char *id = json_str(root, "AccessKeyId");
    const char *secret = json_str(root, "SecretAccessKey");
    const char *token = json_str(root, "Token");
    const char *exp = json_str(root, "Expiration");
    int64_t exp_ms = 0;
    if (!id || !secret || (exp && ks_creds_parse_iso8601(exp, &exp_ms) != KS_OK))
        goto out;
    err = ks_creds_set(out, id, secret, token, exp_ms);
out:
    cJSON_Delete(root);
    return err;
}

static xmlDocPtr xml_read(const char *body, size_t len)
{
    if (!body || len == 0 || len > 1024 * 1024)
        return NULL;
    return xmlReadMemory(body, (int)len, NULL, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static xmlNodePtr xml_find(xmlNodePtr n, const char *name)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (strcmp((const char *)n->name, name) == 0)
            return n;
        xmlNodePtr c = xml_find(n->children, name);
        if (c)
            return c;
    }
    return NULL;
}

/* Text of the child element `name` of parent (malloc'd by libxml2) or NULL. */
static xmlChar *xml_child_text(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return xmlNodeGetContent(c);
    }
    return NULL;
}

static void xml_free_secret(xmlChar *s)
{
    if (s) {
        memset(s, 0, strlen((const char *)s));
        xmlFree(s);
    }
}

ks_err ks_creds_parse_sts_xml(const char *body, size_t len, ks_aws_creds *out)
{
    ks_err err = KS_ERR_PARSE;
    xmlChar *id = NULL, *secret = NULL, *token = NULL, *exp = NULL;
    xmlDocPtr doc = xml_read(body, len);
    if (!doc)
        goto out;
    xmlNodePtr creds = xml_find(xmlDocGetRootElement(doc), "Credentials");
    if (!creds)
        goto out;
    id = xml_child_text(creds, "AccessKeyId");
    secret = xml_child_text(creds, "SecretAccessKey");
    token = xml_child_text(creds, "SessionToken");
    exp = xml_child_text(creds, "Expiration");
    int64_t exp_ms = 0;
    if (!id || !secret || !token || !exp ||
        ks_creds_parse_iso8601((const char *)exp, &exp_ms) != KS_OK)
        goto out;
    err = ks_creds_set(out, (const char *)id, (const char *)secret, (const char *)token, exp_ms);
out:
    xmlFree(id);
    xml_free_secret(secret);
    xml_free_secret(token);
    xmlFree(exp);
    xmlFreeDoc(doc);
    return err;
}

static ks_err map_sts_error(const char *code, long status)
{
    static const char *const denied[] = {"AccessDenied",
                                         "ExpiredToken",
                                         "ExpiredTokenException",
                                         "InvalidIdentityToken",
                                         "InvalidClientTokenId",
                                         "SignatureDoesNotMatch",
                                         "UnrecognizedClientException",
                                         "RegionDisabledException",
                                         "IDPRejectedClaim"};
    if (code && *code) {
        if (strcmp(code, "Throttling") == 0 || strcmp(code, "ThrottlingException") == 0 ||
            strcmp(code, "IDPCommunicationError") == 0)
            return KS_ERR_AWS_THROTTLED;
        for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
            if (strcmp(code, denied[i]) == 0)
                return KS_ERR_AWS_ACCESS_DENIED;
        }
        if (strcmp(code, "ValidationError") == 0 || strcmp(code, "MalformedPolicyDocument") == 0)
            return KS_ERR_AWS_VALIDATION;
    }
    if (status >= 500)
        return KS_ERR_AWS_SERVER;
    if (status == 429)
        return KS_ERR_AWS_THROTTLED;
    if (status == 401 || status == 403)
        return KS_ERR_AWS_ACCESS_DENIED;
    return KS_ERR_AWS_OTHER;
}

ks_err ks_creds_sts_error(const char *body, size_t len, long status, ks_buf *code, ks_buf *msg)
{
    xmlDocPtr doc = xml_read(body, len);
    xmlNodePtr err_node = doc ? xml_find(xmlDocGetRootElement(doc), "Error") : NULL;
    xmlChar *c = xml_child_text(err_node, "Code");
    xmlChar *m = xml_child_text(err_node, "Message");
    ks_buf_append_str(code, c ? (const char *)c : "");
    ks_buf_append_str(msg, m ? (const char *)m : "");
    ks_err err = map_sts_error(c ? (const char *)c : NULL, status);
    xmlFree(c);
    xmlFree(m);
    xmlFreeDoc(doc);
    return err;
}

ks_err ks_creds_sts_url(const ks_creds_provider_ctx *ctx, ks_buf *out)
{
    if (ctx->sts_endpoint && *ctx->sts_endpoint)
        return ks_buf_append_str(out, ctx->sts_endpoint);
    if (ctx->region && *ctx->region) {
        const char *suffix =
            strncmp(ctx->region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
        return ks_buf_appendf(out, "https://sts.%s.%s", ctx->region, suffix);
    }
    return ks_buf_append_str(out, "https://sts.amazonaws.com");
}

struct ks_creds_sts_call {
    const char *action; /* static string */
    ks_creds_provider_cb cb;
    void *ud;
    ks_http_call *http_call;
};

static void sts_on_response(void *ud, const ks_http_response *resp)
{
    ks_creds_sts_call *call = ud;
    ks_aws_creds creds = {0};
    ks_err err = resp->err;
    if (err != KS_OK) {
        if (err != KS_ERR_CANCELLED)
            KS_WARN("sts %s: request failed: %s (%s)", call->action, ks_err_str(err),
                    resp->err_msg ? resp->err_msg : "");
    } else if (resp->status >= 200 && resp->status < 300) {
        err = ks_creds_parse_sts_xml(resp->body, resp->body_len, &creds);
        if (err != KS_OK)
            KS_WARN("sts %s: HTTP %ld but no credentials in the answer", call->action,
                    resp->status);
    } else {
        ks_buf code, msg;
        ks_buf_init(&code);
        ks_buf_init(&msg);
        err = ks_creds_sts_error(resp->body, resp->body_len, resp->status, &code, &msg);
        KS_WARN("sts %s failed: HTTP %ld %s: %s", call->action, resp->status,
                code.data && *code.data ? code.data : "(no code)", msg.data ? msg.data : "");
        ks_buf_clean_up(&code);
        ks_buf_clean_up(&msg);
    }
    ks_creds_provider_cb cb = call->cb;
    void *cb_ud = call->ud;
    free(call);
    cb(cb_ud, err, err == KS_OK ? &creds : NULL);
    ks_aws_creds_clean_up(&creds);
}

ks_err ks_creds_sts_post(const ks_creds_provider_ctx *ctx, const char *action, const char *url,
                         const ks_http_header *headers, size_t n_headers, const char *body,
                         size_t body_len, ks_creds_provider_cb cb, void *ud,
                         ks_creds_sts_call **out)
{
    ks_http_header all[8];
    if (n_headers + 1 > sizeof(all) / sizeof(all[0]))
        return KS_ERR_INVALID;
    all[0] = (ks_http_header){"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"};
    for (size_t i = 0; i < n_headers; i++)
        all[i + 1] = headers[i];
    ks_creds_sts_call *call = calloc(1, sizeof(*call));
    if (!call)
        return KS_ERR_NOMEM;
    call->action = action;
    call->cb = cb;
    call->ud = ud;
    *out = call;
    ks_http_request req = {
        .method = "POST",
        .url = url,
        .headers = all,
        .n_headers = n_headers + 1,
        .body = body,
        .body_len = body_len,
        .timeout_ms = KS_STS_TIMEOUT_MS,
        .tcp = ctx->tcp,
    };
    ks_err err = ks_http_send(ctx->http, &req, sts_on_response, call, &call->http_call);
    if (err != KS_OK) {
        *out = NULL;
        free(call);
    }
    return err;
}

void ks_creds_sts_cancel(ks_creds_sts_call *call)
{
    if (call && call->http_call)
        ks_http_cancel(call->http_call); /* sts_on_response runs and frees call */
}
