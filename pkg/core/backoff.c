#include "core/backoff.h"

#include <time.h>
#include <unistd.h>

void ks_backoff_init(ks_backoff *b, uint64_t base_ms, uint64_t max_ms)
{
    b->base_ms = base_ms ? base_ms : 1;
    b->max_ms = max_ms < b->base_ms ? b->base_ms : max_ms;
    b->attempt = 0;
}

uint64_t ks_backoff_next(ks_backoff *b, uint32_t rnd)
{
    uint64_t ceiling = b->base_ms;
    for (uint32_t i = 0; i < b->attempt && ceiling < b->max_ms; i++)
        ceiling *= 2;
    if (ceiling > b->max_ms)
        ceiling = b->max_ms;
    if (b->attempt < 63)
        b->attempt++;
    uint64_t floor = ceiling / 2;
    uint64_t span = ceiling - floor;
    return floor + (span ? (uint64_t)rnd % (span + 1) : 0);
}

void ks_backoff_reset(ks_backoff *b)
{
    b->attempt = 0;
}

uint64_t ks_jitter(uint64_t period_ms, unsigned pct, uint32_t rnd)
{
    if (pct > 100)
        pct = 100;
    uint64_t spread = period_ms * pct / 100;
    if (!spread)
        return period_ms;
    uint64_t off = (uint64_t)rnd % (2 * spread + 1);
    return period_ms - spread + off;
}

uint32_t ks_rand32(void)
{
    static uint32_t state;
    if (!state) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        state = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16) ^ 0x9e3779b9u;
        if (!state)
            state = 1;
    }
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}
