#include "core/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static uint64_t sys_mono_ms(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int64_t sys_wall_ms(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const ks_clock system_clock = {sys_mono_ms, sys_wall_ms, NULL};

const ks_clock *ks_clock_system(void)
{
    return &system_clock;
}

static uint64_t fake_mono_ms(void *ud)
{
    return ((ks_fake_clock *)ud)->mono;
}

static int64_t fake_wall_ms(void *ud)
{
    return ((ks_fake_clock *)ud)->wall;
}

void ks_fake_clock_init(ks_fake_clock *fc, uint64_t mono_ms, int64_t wall_ms)
{
    fc->clock.mono_ms = fake_mono_ms;
    fc->clock.wall_ms = fake_wall_ms;
    fc->clock.ud = fc;
    fc->mono = mono_ms;
    fc->wall = wall_ms;
}

void ks_fake_clock_advance(ks_fake_clock *fc, uint64_t ms)
{
    fc->mono += ms;
    fc->wall += (int64_t)ms;
}

/* Called once per delivered record: the date part is cached per second (records of
 * a page mostly share it) and the milliseconds are written by hand. */
void ks_format_rfc3339_ms(int64_t epoch_ms, char out[25])
{
    static _Thread_local time_t cached_sec = (time_t)-1;
    static _Thread_local char cached[20]; /* "YYYY-MM-DDTHH:MM:SS" */
    time_t secs = (time_t)(epoch_ms / 1000);
    int ms = (int)(epoch_ms % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    if (secs != cached_sec) {
        struct tm tm;
        gmtime_r(&secs, &tm);
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d", (tm.tm_year + 1900) % 10000,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        memcpy(cached, tmp, 19);
        cached[19] = '\0';
        cached_sec = secs;
    }
    memcpy(out, cached, 19);
    out[19] = '.';
    out[20] = (char)('0' + ms / 100);
    out[21] = (char)('0' + ms / 10 % 10);
    out[22] = (char)('0' + ms % 10);
    out[23] = 'Z';
    out[24] = '\0';
}
