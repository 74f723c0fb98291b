#include "batch/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/archive.h"
#include "batch/check.h"
#include "core/log.h"
#include "sink/base64.h"

struct ks_batch_policy {
    int64_t count;
    int64_t byte_size;
    int64_t period_ms;
    ks_check *check;
    ks_processor_config *procs;
    size_t n_procs;
    ks_buf scratch; /* decoded record for the check */
    uint64_t check_errors;
};

ks_err ks_batch_policy_new(const ks_batching_config *cfg, ks_batch_policy **out, char *err,
                           size_t errlen)
{
    char msg[256] = "";
    ks_err rc = KS_OK;
    if (err && errlen)
        err[0] = '\0';
    ks_batch_policy *p = calloc(1, sizeof(*p));
    if (!p)
        return KS_ERR_NOMEM;
    ks_buf_init(&p->scratch);
    if (cfg->count < 0 || cfg->byte_size < 0 || cfg->period_ms < 0) {
        snprintf(msg, sizeof(msg), "batching: %s must not be negative",
                 cfg->count < 0       ? "count"
                 : cfg->byte_size < 0 ? "byte_size"
                                      : "period");
        rc = KS_ERR_INVALID;
        goto fail;
    }
    p->count = cfg->count;
    p->byte_size = cfg->byte_size;
    p->period_ms = cfg->period_ms;
    if (cfg->check && cfg->check[0]) {
        char cerr[200];
        rc = ks_check_compile(cfg->check, &p->check, cerr, sizeof(cerr));
        if (rc) {
            snprintf(msg, sizeof(msg), "batching.check: %s", cerr);
            goto fail;
        }
    }
    if (cfg->n_processors) {
        if (!p->count && !p->byte_size && !p->period_ms && !p->check) {
            snprintf(msg, sizeof(msg),
                     "batching.processors needs at least one trigger (count, byte_size, "
                     "period or check)");
            rc = KS_ERR_INVALID;
            goto fail;
        }
        p->procs = calloc(cfg->n_processors, sizeof(*p->procs));
        if (!p->procs) {
            rc = KS_ERR_NOMEM;
            goto fail;
        }
        memcpy(p->procs, cfg->processors, cfg->n_processors * sizeof(*p->procs));
        p->n_procs = cfg->n_processors;
    }
    *out = p;
    return KS_OK;
fail:
    if (err && errlen)
        snprintf(err, errlen, "%s", msg[0] ? msg : ks_err_str(rc));
    ks_batch_policy_destroy(p);
    return rc;
}

void ks_batch_policy_destroy(ks_batch_policy *p)
{
    if (!p)
        return;
    ks_check_destroy(p->check);
    free(p->procs);
    ks_buf_clean_up(&p->scratch);
    free(p);
}

bool ks_batch_policy_enabled(const ks_batch_policy *p)
{
    return p->count > 1 || p->byte_size > 0 || p->period_ms > 0 || p->check || p->n_procs;
}

int64_t ks_batch_policy_period_ms(const ks_batch_policy *p)
{
    return p->period_ms;
}

bool ks_batch_policy_should_flush(ks_batch_policy *p, const ks_batch *b,
                                  const ks_out_record *just_added)
{
    if (p->count > 0 && b->n_records >= (size_t)p->count)
        return true;
    if (p->byte_size > 0 && b->data_bytes >= (size_t)p->byte_size)
        return true;
    if (!p->check || !just_added)
        return false;
    ks_buf_reset(&p->scratch);
    ks_err rc = KS_OK;
    ks_base64_decode_or_raw(just_added->data_b64, just_added->data_b64_len, &p->scratch, &rc);
    if (rc)
        return false;
    bool res = false;
    char err[200];
    rc = ks_check_eval_ex(p->check, p->scratch.data ? p->scratch.data : "", p->scratch.len, &res,
                          err, sizeof(err));
    if (rc) {
        if (p->check_errors++ % 1000 == 0)
            ks_log_fields(KS_LOG_WARN,
                          (const ks_log_field[]){{"stream", b->stream},
                                                 {"shard", b->shard_id},
                                                 {"sequence_number", just_added->sequence_number}},
                          3, "batching.check failed (the record does not end the batch): %s", err);
        return false;
    }
    return res;
}

ks_err ks_batch_policy_flush(ks_batch_policy *p, ks_batch *b)
{
    if (!p->n_procs || b->n_records == 0)
        return KS_OK;
    char err[256];
    ks_err rc = ks_archive_apply_ex(p->procs, p->n_procs, b, err, sizeof(err));
    if (rc)
        ks_log_fields(KS_LOG_WARN,
                      (const ks_log_field[]){{"stream", b->stream}, {"shard", b->shard_id}}, 2,
                      "batching.processors: %s; delivering the batch unarchived", err);
    return rc;
}

uint64_t ks_batch_policy_check_errors(const ks_batch_policy *p)
{
    return p->check_errors;
}
