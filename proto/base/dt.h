/* dt.h -- project-wide includes, version and protocol limits. */
#ifndef DT_H_INCLUDED
#define DT_H_INCLUDED

#include <czmq.h>
#include <lmdb.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

/* Marks a message for people that is not a dt_err_set format, so that
   xgettext puts it in duotangctl's catalogue (tools/po, make po). */
#define DT_N_(text) (text)

#define DT_VERSION        "0.1.0"
#define DT_PROTO_VERSION  1

/* Limits of PROTOCOL.md section 4. */
#define DT_MAX_BODY       (4 * 1024 * 1024)
#define DT_ID_MAX         64
#define DT_NAME_MAX       200
#define DT_TAG_KEY_MAX    32
#define DT_TAG_VAL_MAX    128
#define DT_TAGS_MAX       16
#define DT_LIST_MAX       100000
#define DT_DEPTH_MAX      8
#define DT_CAP_MAX        100000
#define DT_RATE_MAX       2000

#define DT_BRANCH_CAP_DEFAULT 200
#define DT_HALL_CAP_DEFAULT   30

/* Milliseconds since the Unix epoch (UTC). */
int64_t dt_now_ms (void);

/* True if s is a valid id: 1..64 of [A-Za-z0-9._-], first alphanumeric. */
bool dt_id_valid (const char *s, size_t len);

/* Decode the UTF-8 sequence at s (at most left bytes, left >= 1) into *cp.
   Returns its length (1..4), or 0 when the bytes are not valid UTF-8
   (truncated, overlong, a surrogate, beyond U+10FFFF): then *cp is the first
   byte. The one decoder: validation, sanitizing and display widths use it. */
size_t dt_utf8_decode (const char *s, size_t left, uint32_t *cp);

/* True if s is valid UTF-8 of 1..max bytes without control characters. */
bool dt_name_valid (const char *s, size_t len, size_t max);

/* Replace each byte that does not start a valid UTF-8 sequence (and each
   control character) with '?', in place: messages echo peer input. */
void dt_utf8_sanitize (char *s);

void dt_test (bool verbose);

#endif
