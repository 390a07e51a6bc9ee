/* ctl_fake.h -- a fake DTP server for the CLI's self-tests: it records each
   request as "op {json args}" and answers with a preset result or error, so
   a test can run a command line and check both the request and the output. */
#ifndef CTL_FAKE_H_INCLUDED
#define CTL_FAKE_H_INCLUDED

#include "ctl.h"

typedef struct _ctl_fake_t ctl_fake_t;

ctl_fake_t *ctl_fake_new (void);
void ctl_fake_destroy (ctl_fake_t **self_p);

/* The result of every following request: packed msgpack (NULL = nil), or a
   text-form map (op_args_text). */
void ctl_fake_result (ctl_fake_t *self, const msgpack_sbuffer *result);
void ctl_fake_result_text (ctl_fake_t *self, const char *text);
/* Answer every following request with this error; details is NULL or
   "LINE:message|LINE:message". */
void ctl_fake_error (ctl_fake_t *self, const char *code, const char *message,
                     const char *details);

/* Answer the next request (one) with this result or error, before the one
   set above; several queue up in order. What is left when a run ends is
   dropped. */
void ctl_fake_queue (ctl_fake_t *self, const msgpack_sbuffer *result);
void ctl_fake_queue_text (ctl_fake_t *self, const char *text);
void ctl_fake_queue_error (ctl_fake_t *self, const char *code, const char *message,
                           const char *details);

/* A list page { key: [items...], next } (items in text form, NULL-ended;
   next NULL: the last page): queued, or the standing answer. */
void ctl_fake_page (ctl_fake_t *self, bool queue, const char *key, const char *next,
                    const char **items);

/* Run a command line (split on blanks; no global options) against the fake
   server. Returns the exit code; then ctl_fake_out, _err and _request (the
   request as "op {json}", "" when none was made) hold what happened. */
int ctl_fake_run (ctl_fake_t *self, const char *cmdline);
const char *ctl_fake_out (ctl_fake_t *self);
const char *ctl_fake_err (ctl_fake_t *self);
const char *ctl_fake_request (ctl_fake_t *self);
/* Every request of the last run, each as "op {json}\n", in order. */
const char *ctl_fake_requests (ctl_fake_t *self);

/* Run and assert: exit code, the request, and text that stdout and stderr
   must contain (exactly, when exact). */
void ctl_fake_expect (ctl_fake_t *self, const char *cmdline, int code, const char *request,
                      const char *out, const char *err);

void ctl_fake_test (bool verbose);

#endif
