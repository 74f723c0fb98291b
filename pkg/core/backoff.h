/* Exponential back-off with full jitter: delay = rand in [base*2^n / 2, min(cap, base*2^n)].
 * The random source is a parameter so tests are deterministic. */
#ifndef KS_CORE_BACKOFF_H
#define KS_CORE_BACKOFF_H

#include <stdint.h>

typedef struct ks_backoff {
    uint64_t base_ms;
    uint64_t max_ms;
    uint32_t attempt; /* failures since the last reset */
} ks_backoff;

void ks_backoff_init(ks_backoff *b, uint64_t base_ms, uint64_t max_ms);
/* Next delay after a failure; rnd is any uniformly random 32-bit value. */
uint64_t ks_backoff_next(ks_backoff *b, uint32_t rnd);
void ks_backoff_reset(ks_backoff *b);

/* Jitters period_ms by +-pct percent (0..100) using rnd. */
uint64_t ks_jitter(uint64_t period_ms, unsigned pct, uint32_t rnd);

/* A process-wide xorshift PRNG seeded from the clock and pid (not for crypto). */
uint32_t ks_rand32(void);

#endif
