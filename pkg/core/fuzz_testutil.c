/* Shared pieces of the libFuzzer targets: see fuzz_testutil.h. */
#include "core/fuzz_testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

volatile size_t ks_fuzz_sink;

void ks_fuzz_quiet(void)
{
    ks_log_set_level(KS_LOG_OFF);
}

char *ks_fuzz_strndup(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

size_t ks_fuzz_each_json(const uint8_t *data, size_t size, size_t max_values,
                         void (*fn)(const cJSON *value, void *ud), void *ud)
{
    const char *p = (const char *)data;
    const char *end = p + size;
    size_t n = 0;
    while (p < end && n < max_values) {
        const char *stop = NULL;
        cJSON *json = cJSON_ParseWithLengthOpts(p, (size_t)(end - p), &stop, 0);
        if (!json)
            break;
        fn(json, ud);
        n++;
        cJSON_Delete(json);
        if (!stop || stop <= p)
            break;
        p = stop;
    }
    return n;
}
