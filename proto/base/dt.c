/* dt.c -- small helpers every process shares: clock and input validation. */
#include "dt.h"
#include <time.h>

int64_t
dt_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
dt_id_valid (const char *s, size_t len)
{
    if (len == 0 || len > DT_ID_MAX || !isalnum ((unsigned char) s [0]))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s [i];
        if (!isalnum (c) && c != '.' && c != '_' && c != '-')
            return false;
    }
    return true;
}

/* Length of the UTF-8 sequence at s (validating), 0 if invalid. */
static size_t
s_utf8_seq (const unsigned char *s, size_t left)
{
    size_t need;
    uint32_t cp;
    if (s [0] < 0x80)
        return 1;
    else
    if ((s [0] & 0xE0) == 0xC0) { need = 2; cp = s [0] & 0x1F; }
    else
    if ((s [0] & 0xF0) == 0xE0) { need = 3; cp = s [0] & 0x0F; }
    else
    if ((s [0] & 0xF8) == 0xF0) { need = 4; cp = s [0] & 0x07; }
    else
        return 0;
    if (need > left)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s [i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s [i] & 0x3F);
    }
    static const uint32_t min_for [5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < min_for [need] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

bool
dt_name_valid (const char *s, size_t len, size_t max)
{
    if (len == 0 || len > max)
        return false;
    const unsigned char *p = (const unsigned char *) s;
    size_t at = 0;
    while (at < len) {
        if (p [at] < 0x20 || p [at] == 0x7F)
            return false;
        size_t seq = s_utf8_seq (p + at, len - at);
        if (seq == 0)
            return false;
        at += seq;
    }
    return true;
}

void
dt_utf8_sanitize (char *s)
{
    size_t len = strlen (s), at = 0;
    while (at < len) {
        size_t seq = s_utf8_seq ((unsigned char *) s + at, len - at);
        if (seq == 0 || (unsigned char) s [at] < 0x20) {
            s [at++] = '?';
            continue;
        }
        at += seq;
    }
}
