/* Go-style durations as the seed documents them: "500ms", "5s", "1m", "1h30m", "0",
 * "-1s", "1.5s". Units: ns us µs ms s m h. Result in milliseconds (sub-ms rounds down). */
#ifndef KS_CORE_DURATION_H
#define KS_CORE_DURATION_H

#include <stdint.h>

#include "core/err.h"

/* KS_ERR_PARSE on malformed text (the empty string included). */
ks_err ks_duration_parse(const char *s, int64_t *out_ms);

/* Formats ms as the shortest Go-style string ("1h30m", "500ms", "0s"). out >= 32 bytes. */
void ks_duration_format(int64_t ms, char out[32]);

#endif
