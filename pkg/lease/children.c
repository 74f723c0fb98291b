/* Child shards reported by GetRecords (ChildShards, at a parent's end on real AWS).
 * ListShards is the source of truth, but its listing can trail a resharding the
 * service already reported; keeping the reported children until the listing shows
 * them lets the next cycle claim them at once (they still wait for their parents). */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "lease/lease_internal.h"

static void child_free(ks_lease_child *ch)
{
    free(ch->shard_id);
    free(ch->parents[0]);
    free(ch->parents[1]);
    memset(ch, 0, sizeof(*ch)); /* no stale pointers left in the slot */
}

void ks_lease_children_clean_up(ks_lease_stream *st)
{
    for (size_t i = 0; i < st->n_children; i++)
        child_free(&st->children[i]);
    free(st->children);
    st->children = NULL;
    st->n_children = 0;
}

static bool known(const ks_lease_stream *st, const char *shard_id)
{
    for (size_t i = 0; i < st->n_children; i++)
        if (strcmp(st->children[i].shard_id, shard_id) == 0)
            return true;
    return false;
}

void ks_lease_note_children(ks_lease_coordinator *c, const char *stream,
                            const ks_child_shard *children, size_t n)
{
    ks_lease_stream *st = NULL;
    for (size_t i = 0; i < c->n_streams && !st; i++)
        if (strcmp(c->streams[i].name, stream) == 0)
            st = &c->streams[i];
    if (!st || n == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (!children[i].shard_id || known(st, children[i].shard_id))
            continue;
        ks_lease_child *grown = realloc(st->children, (st->n_children + 1) * sizeof(*grown));
        if (!grown)
            break;
        st->children = grown;
        ks_lease_child *ch = &st->children[st->n_children];
        memset(ch, 0, sizeof(*ch));
        ch->shard_id = ks_strdup(children[i].shard_id);
        for (size_t p = 0; p < children[i].n_parents && p < 2; p++)
            ch->parents[p] = ks_strdup(children[i].parent_shard_ids[p]);
        if (!ch->shard_id) {
            child_free(ch);
            break;
        }
        st->n_children++;
        ks_log_shard(KS_LOG_DEBUG, stream, ch->shard_id, "child shard reported by GetRecords");
    }
    ks_lease_trigger_rebalance(c);
}

ks_err ks_lease_merge_children(ks_lease_stream *st, ks_shard **shards, size_t *n_shards)
{
    size_t keep = 0;
    for (size_t i = 0; i < st->n_children; i++) {
        bool listed = false;
        for (size_t k = 0; k < *n_shards && !listed; k++)
            listed = strcmp((*shards)[k].shard_id, st->children[i].shard_id) == 0;
        if (listed) {
            child_free(&st->children[i]); /* the listing caught up */
            continue;
        }
        st->children[keep++] = st->children[i];
    }
    st->n_children = keep;
    if (keep == 0)
        return KS_OK;
    ks_shard *grown = realloc(*shards, (*n_shards + keep) * sizeof(*grown));
    if (!grown)
        return KS_ERR_NOMEM;
    *shards = grown;
    for (size_t i = 0; i < keep; i++) {
        const ks_lease_child *ch = &st->children[i];
        ks_shard *d = &grown[(*n_shards)++];
        memset(d, 0, sizeof(*d));
        d->shard_id = ks_strdup(ch->shard_id);
        d->parent_shard_id = ks_strdup(ch->parents[0]);
        d->adjacent_parent_shard_id = ks_strdup(ch->parents[1]);
        if (!d->shard_id)
            return KS_ERR_NOMEM;
    }
    return KS_OK;
}
