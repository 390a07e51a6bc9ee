/* ctl_args.h -- build a request's args map from command-line values: keys are
   added one by one and the map header is written when the count is known. */
#ifndef CTL_ARGS_H_INCLUDED
#define CTL_ARGS_H_INCLUDED

#include "dt.h"
#include "dt_err.h"

typedef struct {
    msgpack_sbuffer body;       /* the key/value pairs so far */
    msgpack_packer pk;
    uint32_t count;
} ctl_args_t;

void ctl_args_init (ctl_args_t *self);
void ctl_args_destroy (ctl_args_t *self);

/* Add a key; the caller packs exactly one value with the returned packer. */
msgpack_packer *ctl_args_key (ctl_args_t *self, const char *key);
/* Add a string; nothing when value is NULL (an option not given). */
void ctl_args_str (ctl_args_t *self, const char *key, const char *value);
void ctl_args_uint (ctl_args_t *self, const char *key, uint64_t value);
void ctl_args_int (ctl_args_t *self, const char *key, int64_t value);
void ctl_args_bool (ctl_args_t *self, const char *key, bool value);
/* Add an array of strings from values that may each be comma-separated
   lists ("m-1,m-2" "m-3"); empty items are dropped. */
void ctl_args_list (ctl_args_t *self, const char *key, const char **values, size_t count);
/* Add a map of tags from "K=V" values (a later K replaces an earlier one).
   Returns 0, or -1 with err BAD_ARGS if a value has no '=' or an empty K. */
int ctl_args_tags (ctl_args_t *self, const char *key, const char **values, size_t count,
                   dt_err_t *err);
/* The finished map, appended to out. */
void ctl_args_finish (ctl_args_t *self, msgpack_sbuffer *out);

void ctl_args_test (bool verbose);

#endif
