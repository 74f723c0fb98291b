/* Injectable clocks. Lease liveness uses only the monotonic clock (never compare
 * wall clocks across hosts); wall time is for AWS signing and informational fields. */
#ifndef KS_CORE_CLOCK_H
#define KS_CORE_CLOCK_H

#include <stdint.h>

typedef struct ks_clock {
    uint64_t (*mono_ms)(void *ud); /* milliseconds on a monotonic clock */
    int64_t (*wall_ms)(void *ud);  /* milliseconds since the Unix epoch */
    void *ud;
} ks_clock;

/* Process-wide real clocks; never NULL. */
const ks_clock *ks_clock_system(void);

static inline uint64_t ks_clock_mono_ms(const ks_clock *c)
{
    return c->mono_ms(c->ud);
}

static inline int64_t ks_clock_wall_ms(const ks_clock *c)
{
    return c->wall_ms(c->ud);
}

/* A manual clock for tests: advance it by hand. */
typedef struct ks_fake_clock {
    ks_clock clock; /* pass &fake.clock */
    uint64_t mono;
    int64_t wall;
} ks_fake_clock;

void ks_fake_clock_init(ks_fake_clock *fc, uint64_t mono_ms, int64_t wall_ms);
void ks_fake_clock_advance(ks_fake_clock *fc, uint64_t ms);

/* Formats epoch milliseconds as RFC 3339 UTC with milliseconds, e.g.
 * "2026-11-26T09:38:33.123Z". out must hold 25 bytes. */
void ks_format_rfc3339_ms(int64_t epoch_ms, char out[25]);

#endif
