/* dt_err.h -- an error with a stable code, a one-line message and line details,
   each message also kept as its template and parameters (PROTOCOL.md 5.2) so
   that a client renders it in its own language. */
#ifndef DT_ERR_H_INCLUDED
#define DT_ERR_H_INCLUDED

#include "dt.h"

#define DT_ERR_MSG_MAX     320
#define DT_ERR_DETAILS_MAX 1000
#define DT_ERR_PARAMS_MAX  16

/* A message as its printf template and each conversion's text, in order:
   rendering the template with the params gives the message back exactly.
   text is "" when the message could not be kept so (a conversion the
   recorder does not know, more than DT_ERR_PARAMS_MAX, a truncated message,
   a message passed on whole as "%s"): then the message is all there is. */
typedef struct {
    char text [DT_ERR_MSG_MAX];
    char params [DT_ERR_MSG_MAX + DT_ERR_PARAMS_MAX];  /* nparams strings, each
                                                           NUL-ended, end to end */
    size_t nparams;
} dt_err_tpl_t;

typedef struct {
    uint32_t line;
    char message [DT_ERR_MSG_MAX];
    dt_err_tpl_t tpl;
} dt_err_detail_t;

typedef struct {
    char code [24];                 /* "" when no error is set */
    char message [DT_ERR_MSG_MAX];
    dt_err_tpl_t tpl;
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
/* Append one line detail that is another error's message (and template). */
void dt_err_detail_from (dt_err_t *self, uint32_t line, const dt_err_t *from);
bool dt_err_is_set (const dt_err_t *self);
/* Make self a copy of from: code, message, template and details. */
void dt_err_copy (dt_err_t *self, const dt_err_t *from);

/* The index-th parameter of a template (index < nparams). */
const char *dt_err_param (const dt_err_tpl_t *tpl, size_t index);
/* Add a parameter (a decoder fills a template so). -1 when it does not fit. */
int dt_err_param_add (dt_err_tpl_t *tpl, const char *param, size_t len);
/* Render format, which is template or a translation of it, with the params:
   every conversion of format is replaced by its param's text (cut to its
   precision, when a 's' has one: "%.0s" leaves a param out), the n-th
   conversion (or %n$, where n counts the template's arguments as printf
   does, '*' included) by the n-th param; "%%" is '%'. Returns 0, or -1
   (out unspecified) when format does not fit the template's conversions,
   the params are not one per conversion, or the result exceeds size. */
int dt_err_render (const char *format, const dt_err_tpl_t *tpl, char *out, size_t size);

/* True for the codes that say "nothing was decided, ask again later" (BUSY,
   UNAVAILABLE, INTERNAL: PROTOCOL.md 5.3); every other code is a final
   answer. A server never records a retryable reply under a rid, and a node
   retries a forwarded write on one and settles it on any other. */
bool dt_err_retryable (const char *code);

void dt_err_test (bool verbose);

#endif
