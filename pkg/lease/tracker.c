#include "lease/tracker.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

typedef enum ks_tbatch_state {
    KS_TB_PENDING = 0, /* dispatched (or being replayed), no answer yet */
    KS_TB_DONE,        /* acknowledged, or nacked and dropped */
} ks_tbatch_state;

typedef struct ks_tbatch {
    char *first;
    char *last;
    size_t count;
    ks_tbatch_state state;
} ks_tbatch;

struct ks_tracker {
    bool auto_replay_nacks;
    ks_tbatch *ring; /* circular buffer of cap entries; head is the oldest batch */
    size_t cap;
    size_t head;
    size_t len;
    uint64_t head_id; /* id of ring[head]; ids are contiguous */
    char *checkpoint;
    char *last_dispatched;
    size_t in_flight;
    size_t unacked;
    uint64_t nacked_total;
    uint64_t dropped_total;
};

static const char *skip_zeros(const char *s, size_t *len)
{
    size_t n = strlen(s);
    while (n > 1 && *s == '0') {
        s++;
        n--;
    }
    *len = n;
    return s;
}

int ks_seq_cmp(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    size_t la, lb;
    a = skip_zeros(a, &la);
    b = skip_zeros(b, &lb);
    if (la != lb)
        return la < lb ? -1 : 1;
    int c = memcmp(a, b, la);
    return (c > 0) - (c < 0);
}

bool ks_seq_is_number(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

ks_err ks_tracker_new(bool auto_replay_nacks, const char *initial_checkpoint, ks_tracker **out)
{
    ks_tracker *t = calloc(1, sizeof(*t));
    if (!t)
        return KS_ERR_NOMEM;
    t->auto_replay_nacks = auto_replay_nacks;
    t->head_id = 1;
    if (initial_checkpoint && !(t->checkpoint = ks_strdup(initial_checkpoint))) {
        free(t);
        return KS_ERR_NOMEM;
    }
    /* Records come after a numeric checkpoint. */
    if (ks_seq_is_number(initial_checkpoint) &&
        !(t->last_dispatched = ks_strdup(initial_checkpoint))) {
        free(t->checkpoint);
        free(t);
        return KS_ERR_NOMEM;
    }
    *out = t;
    return KS_OK;
}

static ks_tbatch *at(const ks_tracker *t, size_t i)
{
    return &t->ring[(t->head + i) % t->cap];
}

static void batch_free(ks_tbatch *b)
{
    free(b->first);
    free(b->last);
    b->first = b->last = NULL;
}

void ks_tracker_clear(ks_tracker *t)
{
    for (size_t i = 0; i < t->len; i++)
        batch_free(at(t, i));
    t->head_id += t->len;
    t->head = 0;
    t->len = 0;
    t->in_flight = 0;
    t->unacked = 0;
    /* Reading resumes after the checkpoint: sequences above it may come again. */
    free(t->last_dispatched);
    t->last_dispatched = ks_seq_is_number(t->checkpoint) ? ks_strdup(t->checkpoint) : NULL;
}

void ks_tracker_destroy(ks_tracker *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->len; i++)
        batch_free(at(t, i));
    free(t->ring);
    free(t->checkpoint);
    free(t->last_dispatched);
    free(t);
}

static ks_err grow(ks_tracker *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 16;
    ks_tbatch *nr = calloc(ncap, sizeof(*nr));
    if (!nr)
        return KS_ERR_NOMEM;
    for (size_t i = 0; i < t->len; i++)
        nr[i] = *at(t, i);
    free(t->ring);
    t->ring = nr;
    t->cap = ncap;
    t->head = 0;
    return KS_OK;
}

ks_err ks_tracker_dispatch(ks_tracker *t, const char *first_seq, const char *last_seq, size_t count,
                           uint64_t *id_out)
{
    if (!ks_seq_is_number(first_seq) || !ks_seq_is_number(last_seq) || count == 0 ||
        ks_seq_cmp(first_seq, last_seq) > 0)
        return KS_ERR_INVALID;
    if (t->last_dispatched && ks_seq_cmp(first_seq, t->last_dispatched) <= 0)
        return KS_ERR_INVALID;
    if (t->len == t->cap) {
        ks_err err = grow(t);
        if (err)
            return err;
    }
    char *first = ks_strdup(first_seq);
    char *last = ks_strdup(last_seq);
    char *last2 = ks_strdup(last_seq);
    if (!first || !last || !last2) {
        free(first);
        free(last);
        free(last2);
        return KS_ERR_NOMEM;
    }
    ks_tbatch *b = &t->ring[(t->head + t->len) % t->cap];
    b->first = first;
    b->last = last;
    b->count = count;
    b->state = KS_TB_PENDING;
    *id_out = t->head_id + t->len;
    t->len++;
    t->in_flight += count;
    t->unacked += count;
    free(t->last_dispatched);
    t->last_dispatched = last2;
    return KS_OK;
}

static ks_tbatch *find(ks_tracker *t, uint64_t id)
{
    if (id < t->head_id || id - t->head_id >= t->len)
        return NULL;
    ks_tbatch *b = at(t, (size_t)(id - t->head_id));
    return b->state == KS_TB_PENDING ? b : NULL;
}

/* Pops finished batches off the head; returns whether the checkpoint moved. */
static bool advance(ks_tracker *t)
{
    bool moved = false;
    while (t->len > 0 && at(t, 0)->state == KS_TB_DONE) {
        ks_tbatch *b = at(t, 0);
        free(t->checkpoint);
        t->checkpoint = b->last; /* take ownership */
        b->last = NULL;
        t->in_flight -= b->count;
        batch_free(b);
        t->head = (t->head + 1) % t->cap;
        t->len--;
        t->head_id++;
        moved = true;
    }
    return moved;
}

ks_err ks_tracker_ack(ks_tracker *t, uint64_t id, bool *advanced)
{
    ks_tbatch *b = find(t, id);
    if (!b)
        return KS_ERR_NOT_FOUND;
    b->state = KS_TB_DONE;
    t->unacked -= b->count;
    bool moved = advance(t);
    if (advanced)
        *advanced = moved;
    return KS_OK;
}

ks_err ks_tracker_nack(ks_tracker *t, uint64_t id, bool *replay, bool *advanced)
{
    ks_tbatch *b = find(t, id);
    if (!b)
        return KS_ERR_NOT_FOUND;
    t->nacked_total++;
    bool moved = false;
    if (t->auto_replay_nacks) {
        if (replay)
            *replay = true;
    } else {
        if (replay)
            *replay = false;
        b->state = KS_TB_DONE;
        t->unacked -= b->count;
        t->dropped_total += b->count;
        moved = advance(t);
    }
    if (advanced)
        *advanced = moved;
    return KS_OK;
}

const char *ks_tracker_checkpoint(const ks_tracker *t)
{
    return t->checkpoint;
}

size_t ks_tracker_in_flight(const ks_tracker *t)
{
    return t->in_flight;
}

size_t ks_tracker_unacked(const ks_tracker *t)
{
    return t->unacked;
}

size_t ks_tracker_batches(const ks_tracker *t)
{
    return t->len;
}

uint64_t ks_tracker_nacked_total(const ks_tracker *t)
{
    return t->nacked_total;
}

uint64_t ks_tracker_dropped_total(const ks_tracker *t)
{
    return t->dropped_total;
}

const char *ks_tracker_last_dispatched(const ks_tracker *t)
{
    return t->last_dispatched;
}
