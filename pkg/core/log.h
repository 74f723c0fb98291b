/* JSON-lines logger on stderr (or a test sink). One line per event:
 *   {"time":"2026-11-26T09:38:33.123Z","level":"INFO","msg":"...","stream":"s","shard":"x"}
 * Never pass secrets: the logger does not know which strings are secret. */
#ifndef KS_CORE_LOG_H
#define KS_CORE_LOG_H

#include <stdio.h>

typedef enum ks_log_level {
    KS_LOG_TRACE = 0,
    KS_LOG_DEBUG,
    KS_LOG_INFO,
    KS_LOG_WARN,
    KS_LOG_ERROR,
    KS_LOG_OFF,
} ks_log_level;

typedef enum ks_log_format { KS_LOG_FORMAT_JSON = 0, KS_LOG_FORMAT_LOGFMT } ks_log_format;

/* Optional extra key/value fields; values are strings (NULL values are skipped). */
typedef struct ks_log_field {
    const char *key;
    const char *value;
} ks_log_field;

void ks_log_set_level(ks_log_level level);
ks_log_level ks_log_get_level(void);
void ks_log_set_format(ks_log_format format);
/* Redirect output (tests); NULL restores stderr. */
void ks_log_set_stream(FILE *f);
/* Parses "TRACE", "debug", "WARN", "warning", "NONE"/"OFF", ...; returns -1 when unknown. */
int ks_log_level_parse(const char *s);
const char *ks_log_level_name(ks_log_level level);

void ks_log_fields(ks_log_level level, const ks_log_field *fields, size_t n_fields, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

#define ks_log(level, ...) ks_log_fields((level), NULL, 0, __VA_ARGS__)
/* stream/shard may be NULL. */
#define ks_log_shard(level, stream, shard, ...)                                                    \
    ks_log_fields((level), (const ks_log_field[]){{"stream", (stream)}, {"shard", (shard)}}, 2,    \
                  __VA_ARGS__)

#define KS_TRACE(...) ks_log(KS_LOG_TRACE, __VA_ARGS__)
#define KS_DEBUG(...) ks_log(KS_LOG_DEBUG, __VA_ARGS__)
#define KS_INFO(...) ks_log(KS_LOG_INFO, __VA_ARGS__)
#define KS_WARN(...) ks_log(KS_LOG_WARN, __VA_ARGS__)
#define KS_ERROR(...) ks_log(KS_LOG_ERROR, __VA_ARGS__)

#endif
