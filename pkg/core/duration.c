#include "core/duration.h"

#include <stdio.h>
#include <string.h>

static int unit_ns(const char *s, size_t *ulen, double *ns)
{
    static const struct {
        const char *u;
        double ns;
    } units[] = {{"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
                 {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    size_t best = 0;
    int found = -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        size_t n = strlen(units[i].u);
        if (strncmp(s, units[i].u, n) == 0 && n > best) {
            best = n;
            found = (int)i;
        }
    }
    if (found < 0)
        return -1;
    *ulen = best;
    *ns = units[found].ns;
    return 0;
}

ks_err ks_duration_parse(const char *s, int64_t *out_ms)
{
    if (!s || !*s)
        return KS_ERR_PARSE;
    int neg = 0;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0) {
        *out_ms = 0;
        return KS_OK;
    }
    if (!*s)
        return KS_ERR_PARSE;
    double total_ns = 0;
    while (*s) {
        if (!((*s >= '0' && *s <= '9') || *s == '.'))
            return KS_ERR_PARSE;
        double v = 0, scale = 1;
        int digits = 0, dot = 0;
        while ((*s >= '0' && *s <= '9') || *s == '.') {
            if (*s == '.') {
                if (dot++)
                    return KS_ERR_PARSE;
            } else {
                digits++;
                if (dot) {
                    scale /= 10;
                    v += (*s - '0') * scale;
                } else {
                    v = v * 10 + (*s - '0');
                }
            }
            s++;
        }
        if (!digits)
            return KS_ERR_PARSE;
        size_t ulen;
        double ns;
        if (unit_ns(s, &ulen, &ns) != 0)
            return KS_ERR_PARSE;
        s += ulen;
        total_ns += v * ns;
        if (total_ns > 9.2e18)
            return KS_ERR_PARSE;
    }
    int64_t ms = (int64_t)(total_ns / 1e6);
    *out_ms = neg ? -ms : ms;
    return KS_OK;
}

void ks_duration_format(int64_t ms, char out[32])
{
    if (ms == 0) {
        snprintf(out, 32, "0s");
        return;
    }
    const char *sign = ms < 0 ? "-" : "";
    uint64_t v = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    unsigned long long h = v / 3600000, m = (v / 60000) % 60, s = (v / 1000) % 60, r = v % 1000;
    char hs[24] = "", mstr[8] = "", ss[16] = "";
    if (h)
        snprintf(hs, sizeof(hs), "%lluh", h);
    if (m)
        snprintf(mstr, sizeof(mstr), "%llum", m);
    if (s || (r && (h || m))) {
        if (r)
            snprintf(ss, sizeof(ss), "%llu.%03llus", s, r);
        else
            snprintf(ss, sizeof(ss), "%llus", s);
    } else if (r) {
        snprintf(ss, sizeof(ss), "%llums", r);
    }
    char tmp[80];
    snprintf(tmp, sizeof(tmp), "%s%s%s%s", sign, hs, mstr, ss);
    snprintf(out, 32, "%.31s", tmp); /* at most "-2562047788015h59m59.999s" */
}
