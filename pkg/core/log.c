#include "core/log.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"

static ks_log_level g_level = KS_LOG_INFO;
static ks_log_format g_format = KS_LOG_FORMAT_JSON;
static FILE *g_stream;

static const char *const level_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"};

void ks_log_set_level(ks_log_level level)
{
    g_level = level;
}

ks_log_level ks_log_get_level(void)
{
    return g_level;
}

void ks_log_set_format(ks_log_format format)
{
    g_format = format;
}

void ks_log_set_stream(FILE *f)
{
    g_stream = f;
}

const char *ks_log_level_name(ks_log_level level)
{
    return (unsigned)level <= KS_LOG_OFF ? level_names[level] : "?";
}

int ks_log_level_parse(const char *s)
{
    static const struct {
        const char *name;
        ks_log_level level;
    } map[] = {{"TRACE", KS_LOG_TRACE}, {"DEBUG", KS_LOG_DEBUG},  {"INFO", KS_LOG_INFO},
               {"WARN", KS_LOG_WARN},   {"WARNING", KS_LOG_WARN}, {"ERROR", KS_LOG_ERROR},
               {"FATAL", KS_LOG_ERROR}, {"OFF", KS_LOG_OFF},      {"NONE", KS_LOG_OFF},
               {"ALL", KS_LOG_TRACE}};
    if (!s)
        return -1;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcasecmp(s, map[i].name) == 0)
            return (int)map[i].level;
    return -1;
}

static void append_time(ks_buf *b)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    ks_buf_appendf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void append_kv(ks_buf *b, const char *key, const char *value, size_t vlen)
{
    if (g_format == KS_LOG_FORMAT_JSON) {
        ks_buf_appendf(b, ",\"%s\":", key);
        ks_buf_append_json_str(b, value, vlen);
    } else {
        ks_buf_appendf(b, " %s=", key);
        ks_buf_append_json_str(b, value, vlen);
    }
}

void ks_log_fields(ks_log_level level, const ks_log_field *fields, size_t n_fields, const char *fmt,
                   ...)
{
    if (level < g_level || level >= KS_LOG_OFF)
        return;
    ks_buf msg, line;
    ks_buf_init(&msg);
    ks_buf_init(&line);
    va_list ap;
    va_start(ap, fmt);
    ks_buf_vappendf(&msg, fmt, ap);
    va_end(ap);

    if (g_format == KS_LOG_FORMAT_JSON) {
        ks_buf_append_str(&line, "{\"time\":\"");
        append_time(&line);
        ks_buf_appendf(&line, "\",\"level\":\"%s\"", level_names[level]);
        append_kv(&line, "msg", msg.data ? msg.data : "", msg.len);
    } else {
        ks_buf_append_str(&line, "time=");
        append_time(&line);
        ks_buf_appendf(&line, " level=%s", level_names[level]);
        append_kv(&line, "msg", msg.data ? msg.data : "", msg.len);
    }
    for (size_t i = 0; i < n_fields; i++)
        if (fields[i].value)
            append_kv(&line, fields[i].key, fields[i].value, strlen(fields[i].value));
    ks_buf_append_str(&line, g_format == KS_LOG_FORMAT_JSON ? "}\n" : "\n");

    FILE *out = g_stream ? g_stream : stderr;
    if (line.data) {
        fwrite(line.data, 1, line.len, out);
        fflush(out);
    }
    ks_buf_clean_up(&msg);
    ks_buf_clean_up(&line);
}
