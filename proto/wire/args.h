/* args.h -- a request's args map built key by key; the map header is written
   when the count is known. The one builder of argument maps: the CLI builds
   its requests from the command line with it, op_args_text from its text
   form, the bench and the self-tests from values. */
#ifndef ARGS_H_INCLUDED
#define ARGS_H_INCLUDED

#include "dt.h"
#include "dt_err.h"

typedef struct {
    msgpack_sbuffer body;       /* the key/value pairs so far */
    msgpack_packer pk;
    uint32_t count;
    msgpack_sbuffer map;        /* the finished map, made by args_map */
} args_t;

void args_init (args_t *self);
void args_destroy (args_t *self);

/* Add a key; the caller packs exactly one value with the returned packer. */
msgpack_packer *args_key (args_t *self, const char *key);
/* The same for a key of len bytes (not NUL-terminated). */
msgpack_packer *args_key_len (args_t *self, const char *key, size_t len);
/* Add a string; nothing when value is NULL (an option not given). */
void args_str (args_t *self, const char *key, const char *value);
void args_uint (args_t *self, const char *key, uint64_t value);
void args_int (args_t *self, const char *key, int64_t value);
void args_bool (args_t *self, const char *key, bool value);
/* Add an array of strings from values that may each be comma-separated
   lists ("m-1,m-2" "m-3"); empty items are dropped. */
void args_list (args_t *self, const char *key, const char **values, size_t count);
/* The array args_list adds, packed as one value with pk. */
void args_pack_list (msgpack_packer *pk, const char **values, size_t count);
/* Add a map of tags from "K=V" values (a later K replaces an earlier one).
   Returns 0, or -1 with err BAD_ARGS if a value has no '=' or an empty K. */
int args_tags (args_t *self, const char *key, const char **values, size_t count,
                   dt_err_t *err);
/* The finished map, appended to out. */
void args_finish (args_t *self, msgpack_sbuffer *out);
/* The finished map, held by self (valid until self changes or is destroyed). */
const msgpack_sbuffer *args_map (args_t *self);

void args_test (bool verbose);

#endif
