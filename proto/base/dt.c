/* dt.c -- small helpers every process shares: clock and input validation. */
#include "dt.h"
#include <time.h>

/* DUOTANG_CLOCK_OFFSET_MS=N, read once: this process's clock runs N ms
   ahead of the system's. For system tests only, so that they judge the end
   of a calendar day without waiting for one (tests/system/test_report.py). */
static int64_t
s_clock_offset (void)
{
    static bool read = false;
    static int64_t offset = 0;
    if (!read) {
        const char *text = getenv ("DUOTANG_CLOCK_OFFSET_MS");
        offset = text? strtoll (text, NULL, 10): 0;
        read = true;
    }
    return offset;
}

int64_t
dt_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + s_clock_offset ();
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

size_t
dt_utf8_decode (const char *s, size_t left, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *) s;
    *cp = p [0];
    size_t need = p [0] < 0x80? 1: (p [0] & 0xE0) == 0xC0? 2:
                  (p [0] & 0xF0) == 0xE0? 3: (p [0] & 0xF8) == 0xF0? 4: 0;
    if (need == 0 || need > left)
        return 0;
    if (need == 1)
        return 1;
    uint32_t value = p [0] & (0x7F >> need);
    for (size_t i = 1; i < need; i++) {
        if ((p [i] & 0xC0) != 0x80)
            return 0;
        value = (value << 6) | (p [i] & 0x3F);
    }
    static const uint32_t min_for [5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (value < min_for [need] || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
        return 0;
    *cp = value;
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
        uint32_t cp;
        size_t seq = dt_utf8_decode (s + at, len - at, &cp);
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
        uint32_t cp;
        size_t seq = dt_utf8_decode (s + at, len - at, &cp);
        if (seq == 0 || (unsigned char) s [at] < 0x20) {
            s [at++] = '?';
            continue;
        }
        at += seq;
    }
}

//  Self-test

void
dt_test (bool verbose)
{
    (void) verbose;
    uint32_t cp;
    assert (dt_utf8_decode ("a", 1, &cp) == 1 && cp == 'a');
    assert (dt_utf8_decode ("\xc3\xa9", 2, &cp) == 2 && cp == 0xE9);
    assert (dt_utf8_decode ("舵", 3, &cp) == 3 && cp == 0x8235);
    assert (dt_utf8_decode ("\xf0\x9f\x8e\x89", 4, &cp) == 4 && cp == 0x1F389);
    assert (dt_utf8_decode ("\xc0\xaf", 2, &cp) == 0 && cp == 0xC0);     /* overlong */
    assert (dt_utf8_decode ("\xed\xa0\x80", 3, &cp) == 0);                /* surrogate */
    assert (dt_utf8_decode ("\xf4\x90\x80\x80", 4, &cp) == 0);           /* > U+10FFFF */
    assert (dt_utf8_decode ("\xe8\x88", 2, &cp) == 0);                     /* truncated */
    assert (dt_utf8_decode ("\xe8\x41\x41", 3, &cp) == 0);                /* bad continuation */
    assert (dt_utf8_decode ("\xff", 1, &cp) == 0 && cp == 0xFF);

    assert (dt_name_valid ("成都分舵", strlen ("成都分舵"), DT_NAME_MAX));
    assert (!dt_name_valid ("a\tb", 3, DT_NAME_MAX));
    assert (!dt_name_valid ("\xed\xa0\x80", 3, DT_NAME_MAX));
    assert (!dt_name_valid ("abc", 3, 2) && !dt_name_valid ("", 0, 2));
    char text [] = "ok\xff\x01舵\xe8";
    dt_utf8_sanitize (text);
    assert (streq (text, "ok??舵?"));
    assert (dt_id_valid ("b-1.x_y", 7) && !dt_id_valid ("-b", 2) && !dt_id_valid ("a b", 3));
}
