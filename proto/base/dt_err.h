/* dt_err.h -- an error with a stable code, a one-line message and line details. */
#ifndef DT_ERR_H_INCLUDED
#define DT_ERR_H_INCLUDED

#include "dt.h"

#define DT_ERR_MSG_MAX     320
#define DT_ERR_DETAILS_MAX 1000

typedef struct {
    uint32_t line;
    char message [DT_ERR_MSG_MAX];
} dt_err_detail_t;

typedef struct {
    char code [24];                 /* "" when no error is set */
    char message [DT_ERR_MSG_MAX];
    dt_err_detail_t *details;       /* owned; grows on demand */
    size_t ndetails;
    size_t details_dropped;         /* beyond DT_ERR_DETAILS_MAX */
} dt_err_t;

/* Initialise an empty error (no allocation). */
void dt_err_init (dt_err_t *self);
/* Free details and clear. */
void dt_err_reset (dt_err_t *self);
/* Set code and printf-style message; always returns -1 so handlers can
   `return dt_err_set (err, "FULL", "...")`. */
int dt_err_set (dt_err_t *self, const char *code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Append one line detail (import rows). */
void dt_err_detail (dt_err_t *self, uint32_t line, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
bool dt_err_is_set (const dt_err_t *self);

/* True for the codes that say "nothing was decided, ask again later" (BUSY,
   UNAVAILABLE, INTERNAL: PROTOCOL.md 5.3); every other code is a final
   answer. A server never records a retryable reply under a rid, and a node
   retries a forwarded write on one and settles it on any other. */
bool dt_err_retryable (const char *code);

void dt_err_test (bool verbose);

#endif
