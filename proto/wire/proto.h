/* proto.h -- DTP/1 codec: requests, replies and pushes as msgpack bodies. */
#ifndef PROTO_H_INCLUDED
#define PROTO_H_INCLUDED

#include "dt.h"
#include "dt_err.h"

/* A request's rid is 1..128 bytes (PROTOCOL.md 5.1). */
#define PROTO_RID_MAX 128

/* A decoded request. Strings point into `unpacked` and live as long as it. */
typedef struct {
    uint64_t id;
    char op [48];
    const msgpack_object *args;     /* a map, or NULL when absent */
    char rid [PROTO_RID_MAX + 1];   /* "" when absent */
    char as [DT_ID_MAX + 1];        /* key a node forwards for; "" when absent */
    msgpack_unpacked unpacked;      /* owns every object above */
} proto_req_t;

/* A decoded reply or push. */
typedef struct {
    uint64_t id;
    bool ok;
    char push [24];                 /* "" unless this body is a push */
    const msgpack_object *result;   /* reply result, or the push map itself */
    char code [24];                 /* error code when !ok */
    char message [DT_ERR_MSG_MAX];
    dt_err_tpl_t tpl;               /* the message's template and params; text
                                       "" when the reply has none (5.2) */
    const msgpack_object *details;  /* array or NULL; each detail's template
                                       is checked, read it with proto_tpl_decode */
    msgpack_unpacked unpacked;
} proto_reply_t;

/* Check that data..data+size is exactly one msgpack object within the limits
   (depth, list lengths, string lengths <= DT_MAX_BODY). Returns 0 or -1 with
   err set (MALFORMED / TOO_LARGE). Walks raw bytes; never trusts a length. */
int proto_check (const void *data, size_t size, dt_err_t *err);

/* Step over one msgpack object at *cursor, never past end, with the checks
   of proto_check (as one level below the root): the stream codec skips
   keys it does not know with it. Returns 0, or -1 with err set. */
int proto_skip (const uint8_t **cursor, const uint8_t *end, dt_err_t *err);

/* Decode a request body. On failure err is set and self->id holds the request
   id if it could be read (else 0). Call proto_req_release afterwards always. */
int proto_req_decode (proto_req_t *self, const void *data, size_t size, dt_err_t *err);
void proto_req_release (proto_req_t *self);

/* Encode a request. args is a packed msgpack map or NULL; rid NULL or "" for
   none. */
void proto_req_encode (msgpack_sbuffer *out, uint64_t id, const char *op,
                       const msgpack_sbuffer *args, const char *rid);
/* As proto_req_encode, with "as" (NULL or "" for none): the key a node
   forwards the request for (PROTOCOL.md 5.1, 7.3). */
void proto_req_encode_as (msgpack_sbuffer *out, uint64_t id, const char *op,
                          const msgpack_sbuffer *args, const char *rid, const char *as);

/* Encode a reply: the result (packed msgpack, NULL = nil) when err is NULL or
   unset, else the error with its details. */
void proto_reply_encode (msgpack_sbuffer *out, uint64_t id,
                         const msgpack_sbuffer *result, const dt_err_t *err);

/* Decode a reply or push. Call proto_reply_release afterwards always. */
int proto_reply_decode (proto_reply_t *self, const void *data, size_t size, dt_err_t *err);
void proto_reply_release (proto_reply_t *self);
/* The "text" and "params" of an error or detail map into tpl (text "" when
   absent, or when the params do not fit the template's conversions: the
   message is then all there is). -1 when they are of the wrong type or over
   their limits (DT_ERR_MSG_MAX - 1 bytes, DT_ERR_PARAMS_MAX params). */
int proto_tpl_decode (const msgpack_object *map, dt_err_tpl_t *tpl);
/* Set err to a decoded error reply: code, message, template and details (a
   server replaying a recorded reply). Returns -1. */
int proto_reply_err (const proto_reply_t *self, dt_err_t *err);

/* Map lookup by string key; NULL if map is NULL, not a map, or key absent. */
const msgpack_object *proto_map_get (const msgpack_object *map, const char *key);

/* Verify a request's args against a spec "id name cap? members[]?" : every
   name without '?' must be present, and no other key may appear (BAD_ARGS). */
int proto_args_check (const msgpack_object *args, const char *spec, dt_err_t *err);

/* Typed argument getters. Return 1 when present and valid (value copied),
   0 when absent and !required, -1 with err set (BAD_ARGS / TOO_LARGE). */
int proto_arg_id   (const msgpack_object *args, const char *key, bool required,
                    char out [DT_ID_MAX + 1], dt_err_t *err);
int proto_arg_name (const msgpack_object *args, const char *key, bool required,
                    char out [DT_NAME_MAX + 1], dt_err_t *err);
int proto_arg_uint (const msgpack_object *args, const char *key, bool required,
                    uint64_t *out, dt_err_t *err);
int proto_arg_int  (const msgpack_object *args, const char *key, bool required,
                    int64_t *out, dt_err_t *err);
int proto_arg_bool (const msgpack_object *args, const char *key, bool required,
                    bool *out, dt_err_t *err);
/* A string of at most max bytes, UTF-8 validated when utf8 is true. */
int proto_arg_str  (const msgpack_object *args, const char *key, bool required,
                    char *out, size_t max, dt_err_t *err);
/* An array (returned by pointer into the request) of at most DT_LIST_MAX. */
int proto_arg_array (const msgpack_object *args, const char *key, bool required,
                     const msgpack_object **out, dt_err_t *err);
/* Copy a msgpack str object into out (NUL-terminated) if it fits in max. */
bool proto_obj_str (const msgpack_object *obj, char *out, size_t max);

/* Packing helpers for results. */
void proto_pack_str (msgpack_packer *pk, const char *s);
void proto_pack_str_or_nil (msgpack_packer *pk, const char *s);   /* "" -> nil */
void proto_pack_key (msgpack_packer *pk, const char *key);         /* map key */

void proto_test (bool verbose);

#endif
