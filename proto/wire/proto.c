/* proto.c -- DTP/1 codec: strict request/reply decoding and encoding. */
#include "proto.h"

/* Read a big-endian unsigned of `width` bytes. */
static uint64_t
s_be (const uint8_t *p, int width)
{
    uint64_t value = 0;
    for (int i = 0; i < width; i++)
        value = (value << 8) | p [i];
    return value;
}

/* Read the header of one object at p: the number of objects it contains
   (*count, both keys and values of a map) and of payload bytes after the
   header (*skip). Returns the header's size, 0 when truncated, or -1 for a
   type DTP does not use. Never reads at or past end. */
static int
s_head (const uint8_t *p, const uint8_t *end, uint64_t *count, uint64_t *skip, bool *container)
{
    *count = *skip = 0;
    *container = false;
    if (p >= end)
        return 0;
    uint8_t tag = *p;
    int width = 0;
    if (tag <= 0x7f || tag >= 0xe0 || tag == 0xc0 || tag == 0xc2 || tag == 0xc3)
        return 1;                                           /* fixint, nil, bool */
    if (tag >= 0x80 && tag <= 0x8f) {
        *count = 2 * (uint64_t) (tag & 0x0f);
        *container = true;
        return 1;
    }
    if (tag >= 0x90 && tag <= 0x9f) {
        *count = tag & 0x0f;
        *container = true;
        return 1;
    }
    if (tag >= 0xa0 && tag <= 0xbf) {
        *skip = tag & 0x1f;
        return 1;
    }
    switch (tag) {
        case 0xc4: case 0xd9: width = 1; break;             /* bin8, str8 */
        case 0xc5: case 0xda: width = 2; break;
        case 0xc6: case 0xdb: width = 4; break;
        case 0xca: *skip = 4; return 1;                     /* float32 */
        case 0xcb: *skip = 8; return 1;
        case 0xcc: case 0xd0: *skip = 1; return 1;
        case 0xcd: case 0xd1: *skip = 2; return 1;
        case 0xce: case 0xd2: *skip = 4; return 1;
        case 0xcf: case 0xd3: *skip = 8; return 1;
        case 0xdc: case 0xde: width = 2; break;             /* array16, map16 */
        case 0xdd: case 0xdf: width = 4; break;
        default:
            return -1;
    }
    if ((size_t) (end - p - 1) < (size_t) width)
        return 0;
    uint64_t length = s_be (p + 1, width);
    if (tag >= 0xdc) {
        *count = (tag == 0xde || tag == 0xdf)? 2 * length: length;
        *container = true;
    }
    else
        *skip = length;
    return 1 + width;
}

/* Walk one object at *cursor, never past end. The request map is level 1: a
   container at level DT_DEPTH_MAX + 1 (depth DT_DEPTH_MAX) is refused.
   Returns 0, or -1 with err set. */
static int
s_walk (const uint8_t **cursor, const uint8_t *end, int depth, dt_err_t *err)
{
    const uint8_t *p = *cursor;
    uint64_t count, skip;
    bool container;
    int size = s_head (p, end, &count, &skip, &container);
    if (size == 0)
        goto truncated;
    if (size < 0)
        return dt_err_set (err, "MALFORMED", "unsupported msgpack type 0x%02x", *p);
    p += size;
    if (container && depth >= DT_DEPTH_MAX)
        return dt_err_set (err, "MALFORMED", "nesting deeper than %d levels (the request "
                           "map is the first)", DT_DEPTH_MAX);
    if (count > 2 * (uint64_t) DT_LIST_MAX)
        return dt_err_set (err, "TOO_LARGE", "list of %" PRIu64 " elements exceeds %d",
                           count, DT_LIST_MAX);
    if (skip > (uint64_t) (end - p) || count > (uint64_t) (end - p))
        goto truncated;
    p += skip;
    for (uint64_t i = 0; i < count; i++)
        if (s_walk (&p, end, depth + 1, err))
            return -1;
    *cursor = p;
    return 0;
truncated:
    return dt_err_set (err, "MALFORMED", "truncated message");
}

/* Skip one object however deep, without recursion. Returns the byte after
   it, or NULL when the bytes end first or hold a type DTP does not use. */
static const uint8_t *
s_skip (const uint8_t *p, const uint8_t *end)
{
    uint64_t pending = 1;
    while (pending) {
        uint64_t count, skip;
        bool container;
        int size = s_head (p, end, &count, &skip, &container);
        if (size <= 0 || skip > (uint64_t) (end - p - size))
            return NULL;
        p += size + skip;
        pending += count - 1;
        if (pending > (uint64_t) (end - p) + 1)
            return NULL;        /* more objects claimed than bytes left */
    }
    return p;
}

/* The "id" of a request body that failed its checks, if it can be read: a
   map whose "id" (an unsigned) comes before whatever is wrong. 0 if not. */
static uint64_t
s_peek_id (const void *data, size_t size)
{
    const uint8_t *p = data, *end = p + size;
    uint64_t count, skip;
    bool container;
    int head = s_head (p, end, &count, &skip, &container);
    if (head <= 0 || !container || (*p & 0xf0) == 0x90 || *p == 0xdc || *p == 0xdd)
        return 0;               /* not a map */
    p += head;
    for (uint64_t pair = 0; pair < count / 2 && p; pair++) {
        bool is_id = end - p >= 3 && p [0] == 0xa2 && p [1] == 'i' && p [2] == 'd';
        p = s_skip (p, end);
        if (p && is_id) {
            if (p < end && *p <= 0x7f)
                return *p;
            int width = p < end? (*p == 0xcc? 1: *p == 0xcd? 2: *p == 0xce? 4: *p == 0xcf? 8: 0): 0;
            if (width && end - p > width)
                return s_be (p + 1, width);
            return 0;
        }
        p = p? s_skip (p, end): NULL;
    }
    return 0;
}

int
proto_skip (const uint8_t **cursor, const uint8_t *end, dt_err_t *err)
{
    return s_walk (cursor, end, 1, err);
}

int
proto_check (const void *data, size_t size, dt_err_t *err)
{
    if (size > DT_MAX_BODY)
        return dt_err_set (err, "TOO_LARGE", "message of %zu bytes exceeds %d",
                           size, DT_MAX_BODY);
    const uint8_t *p = data;
    const uint8_t *end = p + size;
    if (size == 0)
        return dt_err_set (err, "MALFORMED", "empty message");
    if (s_walk (&p, end, 0, err))
        return -1;
    if (p != end)
        return dt_err_set (err, "MALFORMED", "%zu trailing bytes after the message",
                           (size_t) (end - p));
    return 0;
}

const msgpack_object *
proto_map_get (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t key_len = strlen (key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr [i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == key_len
        &&  memcmp (k->via.str.ptr, key, key_len) == 0)
            return &map->via.map.ptr [i].val;
    }
    return NULL;
}

bool
proto_obj_str (const msgpack_object *obj, char *out, size_t max)
{
    if (!obj || obj->type != MSGPACK_OBJECT_STR || obj->via.str.size > max)
        return false;
    memcpy (out, obj->via.str.ptr, obj->via.str.size);
    out [obj->via.str.size] = 0;
    return true;
}

/* Unpack a checked body into `unpacked`; the root must be a map. */
static int
s_unpack_map (msgpack_unpacked *unpacked, const void *data, size_t size, dt_err_t *err)
{
    msgpack_unpacked_init (unpacked);
    if (proto_check (data, size, err))
        return -1;
    size_t offset = 0;
    if (msgpack_unpack_next (unpacked, data, size, &offset) != MSGPACK_UNPACK_SUCCESS)
        return dt_err_set (err, "MALFORMED", "message is not valid msgpack");
    if (unpacked->data.type != MSGPACK_OBJECT_MAP)
        return dt_err_set (err, "MALFORMED", "message is not a msgpack map");
    for (uint32_t i = 0; i < unpacked->data.via.map.size; i++)
        if (unpacked->data.via.map.ptr [i].key.type != MSGPACK_OBJECT_STR)
            return dt_err_set (err, "MALFORMED", "map key is not a string");
    return 0;
}

int
proto_req_decode (proto_req_t *self, const void *data, size_t size, dt_err_t *err)
{
    memset (self, 0, sizeof (*self) - sizeof (self->unpacked));
    if (s_unpack_map (&self->unpacked, data, size, err)) {
        //  A pipelining client matches replies by id: echo it if it can be read
        self->id = s_peek_id (data, size);
        return -1;
    }
    const msgpack_object *root = &self->unpacked.data;
    const msgpack_object *id = proto_map_get (root, "id");
    if (!id || id->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return dt_err_set (err, "MALFORMED", "request has no unsigned \"id\"");
    self->id = id->via.u64;
    const msgpack_object *version = proto_map_get (root, "v");
    if (!version || version->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return dt_err_set (err, "MALFORMED", "request has no unsigned \"v\"");
    if (version->via.u64 != DT_PROTO_VERSION)
        return dt_err_set (err, "VERSION", "protocol version %" PRIu64
                           " not supported; supported: 1", version->via.u64);
    if (!proto_obj_str (proto_map_get (root, "op"), self->op, sizeof (self->op) - 1))
        return dt_err_set (err, "MALFORMED", "request has no string \"op\" (max %zu bytes)",
                           sizeof (self->op) - 1);
    self->args = proto_map_get (root, "args");
    if (self->args && self->args->type == MSGPACK_OBJECT_NIL)
        self->args = NULL;
    if (self->args && self->args->type != MSGPACK_OBJECT_MAP)
        return dt_err_set (err, "MALFORMED", "\"args\" is not a map");
    const msgpack_object *rid = proto_map_get (root, "rid");
    if (rid && (!proto_obj_str (rid, self->rid, PROTO_RID_MAX) || !*self->rid))
        return dt_err_set (err, "MALFORMED", "\"rid\" is not a string of 1..%d bytes",
                           PROTO_RID_MAX);
    const msgpack_object *as = proto_map_get (root, "as");
    if (as && (!proto_obj_str (as, self->as, sizeof (self->as) - 1)
           ||  !dt_id_valid (self->as, strlen (self->as))))
        return dt_err_set (err, "MALFORMED", "\"as\" is not a key name (1-%d of A-Z a-z "
                           "0-9 . _ -, starting alphanumeric)", DT_ID_MAX);
    return 0;
}

void
proto_req_release (proto_req_t *self)
{
    msgpack_unpacked_destroy (&self->unpacked);
}

void
proto_pack_str (msgpack_packer *pk, const char *s)
{
    size_t len = strlen (s);
    msgpack_pack_str (pk, len);
    msgpack_pack_str_body (pk, s, len);
}

void
proto_pack_str_or_nil (msgpack_packer *pk, const char *s)
{
    if (s && *s)
        proto_pack_str (pk, s);
    else
        msgpack_pack_nil (pk);
}

void
proto_pack_key (msgpack_packer *pk, const char *key)
{
    proto_pack_str (pk, key);
}

void
proto_req_encode (msgpack_sbuffer *out, uint64_t id, const char *op,
                  const msgpack_sbuffer *args, const char *rid)
{
    proto_req_encode_as (out, id, op, args, rid, NULL);
}

void
proto_req_encode_as (msgpack_sbuffer *out, uint64_t id, const char *op,
                     const msgpack_sbuffer *args, const char *rid, const char *as)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    bool has_rid = rid && *rid, has_as = as && *as;
    msgpack_pack_map (&pk, 3 + (args? 1: 0) + (has_rid? 1: 0) + (has_as? 1: 0));
    proto_pack_key (&pk, "v");
    msgpack_pack_uint32 (&pk, DT_PROTO_VERSION);
    proto_pack_key (&pk, "id");
    msgpack_pack_uint64 (&pk, id);
    proto_pack_key (&pk, "op");
    proto_pack_str (&pk, op);
    if (args) {
        proto_pack_key (&pk, "args");
        msgpack_sbuffer_write (out, args->data, args->size);
    }
    if (has_rid) {
        proto_pack_key (&pk, "rid");
        proto_pack_str (&pk, rid);
    }
    if (has_as) {
        proto_pack_key (&pk, "as");
        proto_pack_str (&pk, as);
    }
}

/* "message", and "text" + "params" when the message has a template (5.2). */
static void
s_pack_message (msgpack_packer *pk, const char *message, const dt_err_tpl_t *tpl)
{
    proto_pack_key (pk, "message");
    proto_pack_str (pk, message);
    if (!*tpl->text)
        return;
    proto_pack_key (pk, "text");
    proto_pack_str (pk, tpl->text);
    proto_pack_key (pk, "params");
    msgpack_pack_array (pk, tpl->nparams);
    for (size_t i = 0; i < tpl->nparams; i++)
        proto_pack_str (pk, dt_err_param (tpl, i));
}

void
proto_reply_encode (msgpack_sbuffer *out, uint64_t id,
                    const msgpack_sbuffer *result, const dt_err_t *err)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    bool failed = err && dt_err_is_set (err);
    msgpack_pack_map (&pk, 4);
    proto_pack_key (&pk, "v");
    msgpack_pack_uint32 (&pk, DT_PROTO_VERSION);
    proto_pack_key (&pk, "id");
    msgpack_pack_uint64 (&pk, id);
    proto_pack_key (&pk, "ok");
    if (failed)
        msgpack_pack_false (&pk);
    else
        msgpack_pack_true (&pk);
    if (!failed) {
        proto_pack_key (&pk, "result");
        if (result && result->size)
            msgpack_sbuffer_write (out, result->data, result->size);
        else
            msgpack_pack_nil (&pk);
        return;
    }
    proto_pack_key (&pk, "error");
    bool has_details = err->ndetails > 0;
    msgpack_pack_map (&pk, 2 + (*err->tpl.text? 2: 0) + (has_details? 1: 0));
    proto_pack_key (&pk, "code");
    proto_pack_str (&pk, err->code);
    s_pack_message (&pk, err->message, &err->tpl);
    if (has_details) {
        proto_pack_key (&pk, "details");
        msgpack_pack_array (&pk, err->ndetails);
        for (size_t i = 0; i < err->ndetails; i++) {
            const dt_err_detail_t *detail = &err->details [i];
            msgpack_pack_map (&pk, 2 + (*detail->tpl.text? 2: 0));
            proto_pack_key (&pk, "line");
            msgpack_pack_uint32 (&pk, detail->line);
            s_pack_message (&pk, detail->message, &detail->tpl);
        }
    }
}

int
proto_tpl_decode (const msgpack_object *map, dt_err_tpl_t *tpl)
{
    memset (tpl, 0, sizeof (*tpl));
    const msgpack_object *text = proto_map_get (map, "text");
    const msgpack_object *params = proto_map_get (map, "params");
    if (!text && !params)
        return 0;
    if (!text || text->type != MSGPACK_OBJECT_STR || text->via.str.size >= sizeof (tpl->text)
    ||  memchr (text->via.str.ptr, 0, text->via.str.size)
    ||  !params || params->type != MSGPACK_OBJECT_ARRAY
    ||  params->via.array.size > DT_ERR_PARAMS_MAX)
        goto malformed;
    for (uint32_t i = 0; i < params->via.array.size; i++) {
        const msgpack_object *param = &params->via.array.ptr [i];
        if (param->type != MSGPACK_OBJECT_STR
        ||  dt_err_param_add (tpl, param->via.str.ptr, param->via.str.size))
            goto malformed;
    }
    memcpy (tpl->text, text->via.str.ptr, text->via.str.size);
    //  Well formed, but not one param per conversion: only the message is usable
    char rendered [DT_ERR_MSG_MAX];
    if (dt_err_render (tpl->text, tpl, rendered, sizeof (rendered)))
        memset (tpl, 0, sizeof (*tpl));
    return 0;
malformed:
    memset (tpl, 0, sizeof (*tpl));
    return -1;
}

int
proto_reply_err (const proto_reply_t *self, dt_err_t *err)
{
    dt_err_reset (err);
    dt_err_set (err, self->code, "%s", self->message);
    err->tpl = self->tpl;
    const msgpack_object *details = self->details;
    for (uint32_t i = 0; details && i < details->via.array.size; i++) {
        const msgpack_object *detail = &details->via.array.ptr [i];
        const msgpack_object *line = proto_map_get (detail, "line");
        dt_err_t one;
        dt_err_init (&one);
        proto_obj_str (proto_map_get (detail, "message"), one.message, sizeof (one.message) - 1);
        proto_tpl_decode (detail, &one.tpl);
        dt_err_detail_from (err, line && line->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                                 && line->via.u64 <= UINT32_MAX? (uint32_t) line->via.u64: 0,
                            &one);
    }
    return -1;
}

int
proto_reply_decode (proto_reply_t *self, const void *data, size_t size, dt_err_t *err)
{
    memset (self, 0, sizeof (*self) - sizeof (self->unpacked));
    if (s_unpack_map (&self->unpacked, data, size, err))
        return -1;
    const msgpack_object *root = &self->unpacked.data;
    const msgpack_object *push = proto_map_get (root, "push");
    if (push) {
        if (!proto_obj_str (push, self->push, sizeof (self->push) - 1))
            return dt_err_set (err, "MALFORMED", "\"push\" is not a short string");
        self->ok = true;
        self->result = root;
        return 0;
    }
    const msgpack_object *id = proto_map_get (root, "id");
    const msgpack_object *ok = proto_map_get (root, "ok");
    if (!id || id->type != MSGPACK_OBJECT_POSITIVE_INTEGER
    ||  !ok || ok->type != MSGPACK_OBJECT_BOOLEAN)
        return dt_err_set (err, "MALFORMED", "reply lacks \"id\" or \"ok\"");
    self->id = id->via.u64;
    self->ok = ok->via.boolean;
    if (self->ok) {
        self->result = proto_map_get (root, "result");
        return 0;
    }
    const msgpack_object *error = proto_map_get (root, "error");
    if (!proto_obj_str (proto_map_get (error, "code"), self->code, sizeof (self->code) - 1)
    ||  !proto_obj_str (proto_map_get (error, "message"), self->message,
                        sizeof (self->message) - 1))
        return dt_err_set (err, "MALFORMED", "error reply lacks \"code\" or \"message\"");
    if (proto_tpl_decode (error, &self->tpl))
        goto malformed;
    self->details = proto_map_get (error, "details");
    if (self->details && self->details->type != MSGPACK_OBJECT_ARRAY)
        self->details = NULL;
    for (uint32_t i = 0; self->details && i < self->details->via.array.size; i++) {
        dt_err_tpl_t tpl;
        if (proto_tpl_decode (&self->details->via.array.ptr [i], &tpl))
            goto malformed;
    }
    return 0;
malformed:
    return dt_err_set (err, "MALFORMED", "error reply has a \"text\" or \"params\" of "
                       "the wrong type or over its limit (%d bytes, %d params)",
                       DT_ERR_MSG_MAX - 1, DT_ERR_PARAMS_MAX);
}

void
proto_reply_release (proto_reply_t *self)
{
    msgpack_unpacked_destroy (&self->unpacked);
}

int
proto_args_check (const msgpack_object *args, const char *spec, dt_err_t *err)
{
    char names [32][48];
    bool optional [32];
    int count = 0;
    const char *p = spec;
    while (*p && count < 32) {
        while (*p == ' ')
            p++;
        size_t len = strcspn (p, " ");
        if (len == 0)
            break;
        assert (len < sizeof (names [0]));      /* spec is programmer input */
        memcpy (names [count], p, len);
        names [count][len] = 0;
        optional [count] = names [count][len - 1] == '?';
        if (optional [count])
            names [count][len - 1] = 0;
        count++;
        p += len;
    }
    for (int i = 0; i < count; i++)
        if (!optional [i] && !proto_map_get (args, names [i]))
            return dt_err_set (err, "BAD_ARGS", "missing argument \"%s\"", names [i]);
    uint32_t size = args? args->via.map.size: 0;
    for (uint32_t i = 0; i < size; i++) {
        const msgpack_object *key = &args->via.map.ptr [i].key;
        //  Only a string key has a name to compare (the union holds no
        //  string for the others)
        if (key->type != MSGPACK_OBJECT_STR)
            return dt_err_set (err, "BAD_ARGS", "argument %u has a key that is not a string",
                               i + 1);
        bool known = false;
        for (int j = 0; j < count && !known; j++)
            known = key->via.str.size == strlen (names [j])
                 && memcmp (key->via.str.ptr, names [j], key->via.str.size) == 0;
        if (!known)
            return dt_err_set (err, "BAD_ARGS", "unknown argument \"%.*s\"",
                               (int) (key->via.str.size > 40? 40: key->via.str.size),
                               key->via.str.ptr);
    }
    return 0;
}

/* Fetch key; returns the object, or NULL with *rc set to 0 (absent, optional)
   or -1 (absent, required). A nil value counts as absent. */
static const msgpack_object *
s_arg (const msgpack_object *args, const char *key, bool required, int *rc, dt_err_t *err)
{
    const msgpack_object *obj = proto_map_get (args, key);
    if (obj && obj->type != MSGPACK_OBJECT_NIL)
        return obj;
    *rc = required? dt_err_set (err, "BAD_ARGS", "missing argument \"%s\"", key): 0;
    return NULL;
}

int
proto_arg_str (const msgpack_object *args, const char *key, bool required,
               char *out, size_t max, dt_err_t *err)
{
    int rc;
    const msgpack_object *obj = s_arg (args, key, required, &rc, err);
    if (!obj)
        return rc;
    if (obj->type != MSGPACK_OBJECT_STR)
        return dt_err_set (err, "BAD_ARGS", "argument \"%s\" must be a string", key);
    if (obj->via.str.size > max)
        return dt_err_set (err, "TOO_LARGE", "argument \"%s\" is longer than %zu bytes",
                           key, max);
    memcpy (out, obj->via.str.ptr, obj->via.str.size);
    out [obj->via.str.size] = 0;
    return 1;
}

int
proto_arg_id (const msgpack_object *args, const char *key, bool required,
              char out [DT_ID_MAX + 1], dt_err_t *err)
{
    //  Longer than 64 bytes is TOO_LARGE, as for every string (PROTOCOL.md 4)
    int rc = proto_arg_str (args, key, required, out, DT_ID_MAX, err);
    if (rc == 1 && !dt_id_valid (out, strlen (out))) {
        //  Echo what was sent, so that its author sees which value it was
        dt_utf8_sanitize (out);
        return dt_err_set (err, "BAD_ARGS", "argument \"%s\": '%s' is not a valid id "
                           "(1-64 of A-Z a-z 0-9 . _ -, starting alphanumeric)", key, out);
    }
    return rc;
}

int
proto_arg_name (const msgpack_object *args, const char *key, bool required,
                char out [DT_NAME_MAX + 1], dt_err_t *err)
{
    int rc = proto_arg_str (args, key, required, out, DT_NAME_MAX, err);
    if (rc == 1 && !dt_name_valid (out, strlen (out), DT_NAME_MAX))
        return dt_err_set (err, "BAD_ARGS", "argument \"%s\" must be 1-%d bytes of "
                           "UTF-8 without control characters", key, DT_NAME_MAX);
    return rc;
}

int
proto_arg_uint (const msgpack_object *args, const char *key, bool required,
                uint64_t *out, dt_err_t *err)
{
    int rc;
    const msgpack_object *obj = s_arg (args, key, required, &rc, err);
    if (!obj)
        return rc;
    if (obj->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return dt_err_set (err, "BAD_ARGS", "argument \"%s\" must be an unsigned integer", key);
    *out = obj->via.u64;
    return 1;
}

int
proto_arg_int (const msgpack_object *args, const char *key, bool required,
               int64_t *out, dt_err_t *err)
{
    int rc;
    const msgpack_object *obj = s_arg (args, key, required, &rc, err);
    if (!obj)
        return rc;
    if (obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = obj->via.i64;
    else
    if (obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER && obj->via.u64 <= INT64_MAX)
        *out = (int64_t) obj->via.u64;
    else
        return dt_err_set (err, "BAD_ARGS", "argument \"%s\" must be an integer", key);
    return 1;
}

int
proto_arg_bool (const msgpack_object *args, const char *key, bool required,
                bool *out, dt_err_t *err)
{
    int rc;
    const msgpack_object *obj = s_arg (args, key, required, &rc, err);
    if (!obj)
        return rc;
    if (obj->type != MSGPACK_OBJECT_BOOLEAN)
        return dt_err_set (err, "BAD_ARGS", "argument \"%s\" must be a boolean", key);
    *out = obj->via.boolean;
    return 1;
}

int
proto_arg_array (const msgpack_object *args, const char *key, bool required,
                 const msgpack_object **out, dt_err_t *err)
{
    int rc;
    const msgpack_object *obj = s_arg (args, key, required, &rc, err);
    if (!obj)
        return rc;
    if (obj->type != MSGPACK_OBJECT_ARRAY)
        return dt_err_set (err, "BAD_ARGS", "argument \"%s\" must be an array", key);
    *out = obj;
    return 1;
}

//  --------------------------------------------------------------------------
//  Self test

static void
s_expect_malformed (const char *bytes, size_t size, const char *code)
{
    dt_err_t err;
    dt_err_init (&err);
    proto_req_t req;
    assert (proto_req_decode (&req, bytes, size, &err) == -1);
    proto_req_release (&req);
    if (!streq (err.code, code))
        fprintf (stderr, "expected %s, got %s: %s\n", code, err.code, err.message);
    assert (streq (err.code, code));
}

void
proto_test (bool verbose)
{
    if (verbose)
        printf (" * proto: ");
    dt_err_t err;
    dt_err_init (&err);

    //  Round trip a request
    msgpack_sbuffer args, body;
    msgpack_sbuffer_init (&args);
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    proto_pack_key (&pk, "id");
    proto_pack_str (&pk, "h-cd-07");
    proto_pack_key (&pk, "cap");
    msgpack_pack_uint32 (&pk, 30);
    proto_req_encode (&body, 42, "hall.set_cap", &args, "n1:7");
    proto_req_t req;
    assert (proto_req_decode (&req, body.data, body.size, &err) == 0);
    assert (req.id == 42 && streq (req.op, "hall.set_cap") && streq (req.rid, "n1:7"));
    assert (streq (req.as, ""));
    char id [DT_ID_MAX + 1];
    uint64_t cap;
    assert (proto_args_check (req.args, "id cap into?", &err) == 0);
    assert (proto_args_check (req.args, "id", &err) == -1 && streq (err.code, "BAD_ARGS"));
    assert (proto_args_check (req.args, "id cap name", &err) == -1);
    assert (proto_arg_id (req.args, "id", true, id, &err) == 1 && streq (id, "h-cd-07"));
    assert (proto_arg_uint (req.args, "cap", true, &cap, &err) == 1 && cap == 30);
    assert (proto_arg_uint (req.args, "id", true, &cap, &err) == -1);
    assert (proto_arg_id (req.args, "into", false, id, &err) == 0);
    assert (proto_arg_id (req.args, "into", true, id, &err) == -1);

    //  Every truncation of a valid body is refused, never crashes
    for (size_t cut = 0; cut < body.size; cut++)
        s_expect_malformed (body.data, cut, "MALFORMED");
    proto_req_release (&req);

    //  Trailing bytes, wrong root type, unsupported type, bad version
    char trailing [256];
    memcpy (trailing, body.data, body.size);
    trailing [body.size] = (char) 0xc0;
    s_expect_malformed (trailing, body.size + 1, "MALFORMED");
    s_expect_malformed ("\x93\x01\x02\x03", 4, "MALFORMED");
    s_expect_malformed ("\xc1", 1, "MALFORMED");
    s_expect_malformed ("\xd4\x01\x01", 3, "MALFORMED");                 /* ext */
    s_expect_malformed ("\x83\xa1v\x02\xa2id\x01\xa2op\xa1x", 13, "VERSION");
    s_expect_malformed ("\x82\xa1v\x01\xa2id\x01", 8, "MALFORMED");      /* no op */
    s_expect_malformed ("\x81\x01\x02", 3, "MALFORMED");                 /* int key */
    //  A tiny body claiming a huge array is refused before allocation
    s_expect_malformed ("\xdd\xff\xff\xff\xff", 5, "TOO_LARGE");
    s_expect_malformed ("\xdd\x00\x01\x00\x00", 5, "MALFORMED");
    s_expect_malformed ("\xdb\xff\xff\xff\x00", 5, "MALFORMED");
    //  Nesting bomb
    char deep [64];
    memset (deep, 0x91, sizeof (deep));
    s_expect_malformed (deep, sizeof (deep), "MALFORMED");

    //  "as" names the key a node forwards for: a key name, or the request is malformed
    msgpack_sbuffer_clear (&body);
    proto_req_encode_as (&body, 43, "member.join", &args, "n1:8@1", "zhang");
    assert (proto_req_decode (&req, body.data, body.size, &err) == 0);
    assert (req.id == 43 && streq (req.rid, "n1:8@1") && streq (req.as, "zhang"));
    assert (req.args && req.args->via.map.size == 2);
    proto_req_release (&req);
    s_expect_malformed ("\x84\xa1v\x01\xa2id\x01\xa2op\xa1x\xa2" "as\xa3-no", 20, "MALFORMED");
    s_expect_malformed ("\x84\xa1v\x01\xa2id\x01\xa2op\xa1x\xa2" "as\x07", 17, "MALFORMED");
    s_expect_malformed ("\x84\xa1v\x01\xa2id\x01\xa2op\xa1x\xa2" "as\xa0", 17, "MALFORMED");

    //  rid is 1..128 bytes: empty and 129 bytes are malformed, 128 is fine
    char long_rid [PROTO_RID_MAX + 2];
    memset (long_rid, 'r', sizeof (long_rid) - 1);
    long_rid [PROTO_RID_MAX + 1] = 0;
    msgpack_sbuffer_clear (&body);
    proto_req_encode (&body, 44, "tree", NULL, long_rid);
    assert (proto_req_decode (&req, body.data, body.size, &err) == -1);
    assert (streq (err.code, "MALFORMED") && strstr (err.message, "1..128") && req.id == 44);
    proto_req_release (&req);
    long_rid [PROTO_RID_MAX] = 0;
    msgpack_sbuffer_clear (&body);
    proto_req_encode (&body, 45, "tree", NULL, long_rid);
    assert (proto_req_decode (&req, body.data, body.size, &err) == 0);
    assert (strlen (req.rid) == PROTO_RID_MAX);
    proto_req_release (&req);
    s_expect_malformed ("\x84\xa1v\x01\xa2id\x01\xa2op\xa1x\xa3rid\xa0", 18, "MALFORMED");

    //  Nesting: the request map is level 1, level 8 is the deepest allowed;
    //  the id of a refused request is echoed whenever it can be read
    uint8_t nest [64];
    size_t at = 0;
    static const char head [] = "\x84\xa1v\x01\xa2id\x07\xa2op\xa1x\xa4" "args";
    memcpy (nest, head, sizeof (head) - 1);
    at = sizeof (head) - 1;
    nest [at++] = 0x81;                                     /* args, level 2 */
    nest [at++] = 0xa1;
    nest [at++] = 'k';
    for (int level = 3; level <= 8; level++)
        nest [at++] = 0x91;                                 /* levels 3..8 */
    nest [at++] = 0x01;
    assert (proto_req_decode (&req, nest, at, &err) == 0 && req.id == 7);
    proto_req_release (&req);
    nest [at - 1] = 0x91;                                   /* level 9 */
    nest [at++] = 0x01;
    assert (proto_req_decode (&req, nest, at, &err) == -1);
    assert (streq (err.code, "MALFORMED") && strstr (err.message, "nesting deeper than 8"));
    assert (req.id == 7);
    proto_req_release (&req);
    //  ... and after a body cut short or a list too long, if "id" came first
    assert (proto_req_decode (&req, "\x83\xa2id\xcd\x01\x02\xa1v\x01\xa2op\xdd\xff", 16,
                              &err) == -1 && req.id == 258);
    proto_req_release (&req);
    assert (proto_req_decode (&req, "\x83\xa1v\xdd\xff\xff\xff\xff\xa2id\x05", 12, &err) == -1);
    assert (streq (err.code, "TOO_LARGE") && req.id == 0);
    proto_req_release (&req);
    assert (proto_req_decode (&req, "\x82\xa2id\x09\xa1v\xdd\xff\xff\xff\xff", 12, &err) == -1);
    assert (streq (err.code, "TOO_LARGE") && req.id == 9);
    proto_req_release (&req);

    //  An id or a name over its limit is TOO_LARGE; an id of the wrong form BAD_ARGS
    msgpack_sbuffer_clear (&args);
    msgpack_packer_init (&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    proto_pack_key (&pk, "long");
    char long_id [DT_ID_MAX + 2];
    memset (long_id, 'a', DT_ID_MAX + 1);
    long_id [DT_ID_MAX + 1] = 0;
    proto_pack_str (&pk, long_id);
    proto_pack_key (&pk, "bad");
    proto_pack_str (&pk, "-x");
    msgpack_unpacked loose;
    msgpack_unpacked_init (&loose);
    assert (msgpack_unpack_next (&loose, args.data, args.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    assert (proto_arg_id (&loose.data, "long", true, id, &err) == -1 && streq (err.code, "TOO_LARGE"));
    assert (proto_arg_id (&loose.data, "bad", true, id, &err) == -1 && streq (err.code, "BAD_ARGS"));
    msgpack_unpacked_destroy (&loose);

    //  Replies: ok and error with details
    msgpack_sbuffer_clear (&body);
    dt_err_set (&err, "IMPORT_REJECTED", "2 bad rows");
    dt_err_detail (&err, 3, "unknown hall h-x");
    dt_err_detail (&err, 9, "duplicate id m-1");
    proto_reply_encode (&body, 7, NULL, &err);
    dt_err_reset (&err);
    proto_reply_t reply;
    assert (proto_reply_decode (&reply, body.data, body.size, &err) == 0);
    assert (reply.id == 7 && !reply.ok && streq (reply.code, "IMPORT_REJECTED"));
    assert (reply.details && reply.details->via.array.size == 2);
    proto_reply_release (&reply);

    //  The template and params travel next to the message, for the top-level
    //  error and each detail, and come back as they were sent
    msgpack_sbuffer_clear (&body);
    dt_err_set (&err, "FULL", "branch %s is full: %u/%u members", "b-1", 3u, 3u);
    dt_err_detail (&err, 4, "unknown hall %s", "h-x");
    proto_reply_encode (&body, 9, NULL, &err);
    dt_err_reset (&err);
    assert (proto_reply_decode (&reply, body.data, body.size, &err) == 0);
    assert (streq (reply.message, "branch b-1 is full: 3/3 members")
         && streq (reply.tpl.text, "branch %s is full: %u/%u members")
         && reply.tpl.nparams == 3 && streq (dt_err_param (&reply.tpl, 0), "b-1")
         && streq (dt_err_param (&reply.tpl, 2), "3"));
    dt_err_tpl_t tpl;
    assert (proto_tpl_decode (&reply.details->via.array.ptr [0], &tpl) == 0
         && streq (tpl.text, "unknown hall %s") && streq (dt_err_param (&tpl, 0), "h-x"));
    //  A server replaying a recorded reply sends it whole again
    assert (proto_reply_err (&reply, &err) == -1 && streq (err.code, "FULL")
         && streq (err.tpl.text, reply.tpl.text) && err.ndetails == 1
         && err.details [0].line == 4 && streq (err.details [0].tpl.text, "unknown hall %s"));
    proto_reply_release (&reply);
    msgpack_sbuffer_clear (&body);
    proto_reply_encode (&body, 10, NULL, &err);
    assert (proto_reply_decode (&reply, body.data, body.size, &err) == 0
         && streq (reply.tpl.text, "branch %s is full: %u/%u members")
         && reply.details && reply.details->via.array.size == 1);
    proto_reply_release (&reply);
    dt_err_reset (&err);
    //  A message with no template has neither key
    dt_err_set (&err, "X", "%s %Lf", "a", (long double) 2);
    msgpack_sbuffer_clear (&body);
    proto_reply_encode (&body, 11, NULL, &err);
    assert (!memmem (body.data, body.size, "params", 6));
    assert (proto_reply_decode (&reply, body.data, body.size, &err) == 0 && !*reply.tpl.text);
    proto_reply_release (&reply);
    //  Every type and length is checked: text and params come together, a
    //  text under 320 bytes, at most 16 params of str, each detail's too
    for (int fault = 0; fault < 9; fault++) {
        msgpack_sbuffer_clear (&body);
        msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, 4);
        proto_pack_key (&pk, "v");
        msgpack_pack_uint32 (&pk, 1);
        proto_pack_key (&pk, "id");
        msgpack_pack_uint32 (&pk, 12);
        proto_pack_key (&pk, "ok");
        msgpack_pack_false (&pk);
        proto_pack_key (&pk, "error");
        //  7, 8: in a detail, the second one bad
        bool in_detail = fault >= 7;
        msgpack_pack_map (&pk, in_detail? 3: fault == 5? 3: 4);
        proto_pack_key (&pk, "code");
        proto_pack_str (&pk, "FULL");
        proto_pack_key (&pk, "message");
        proto_pack_str (&pk, "x 1");
        if (in_detail) {
            proto_pack_key (&pk, "details");
            msgpack_pack_array (&pk, 2);
            msgpack_pack_map (&pk, 2);
            proto_pack_key (&pk, "line");
            msgpack_pack_uint32 (&pk, 1);
            proto_pack_key (&pk, "message");
            proto_pack_str (&pk, "x 1");
            msgpack_pack_map (&pk, 4);
            proto_pack_key (&pk, "line");
            msgpack_pack_uint32 (&pk, 2);
            proto_pack_key (&pk, "message");
            proto_pack_str (&pk, "x 1");
        }
        char text [DT_ERR_MSG_MAX + 1];
        memset (text, 'x', sizeof (text) - 1);
        text [fault == 4? DT_ERR_MSG_MAX: 4] = 0;
        memcpy (text + 1, " %s", 3);
        proto_pack_key (&pk, "text");
        if (fault == 1)
            msgpack_pack_uint32 (&pk, 1);
        else
            proto_pack_str (&pk, text);
        if (fault != 5) {
            proto_pack_key (&pk, "params");
            int count = fault == 3? 17: 1;
            if (fault == 2)
                proto_pack_str (&pk, "1");
            else {
                msgpack_pack_array (&pk, count);
                for (int i = 0; i < count; i++)
                    if (fault == 6 || fault == 7)
                        msgpack_pack_uint32 (&pk, 1);
                    else
                        proto_pack_str (&pk, "1");
            }
        }
        int rc = proto_reply_decode (&reply, body.data, body.size, &err);
        if (fault == 0)
            assert (rc == 0 && streq (reply.tpl.text, "x %s"));
        else
        if (fault == 8)
            assert (rc == 0 && !*reply.tpl.text && reply.details->via.array.size == 2);
        else
            assert (rc == -1 && streq (err.code, "MALFORMED") && strstr (err.message, "params"));
        proto_reply_release (&reply);
    }
    //  Well formed but not one param per conversion: the message alone
    msgpack_sbuffer_clear (&body);
    dt_err_set (&err, "FULL", "%s and %s", "a", "b");
    err.tpl.nparams = 1;
    proto_reply_encode (&body, 13, NULL, &err);
    assert (proto_reply_decode (&reply, body.data, body.size, &err) == 0
         && streq (reply.message, "a and b") && !*reply.tpl.text && reply.tpl.nparams == 0);
    proto_reply_release (&reply);
    dt_err_reset (&err);
    msgpack_sbuffer_clear (&body);
    proto_reply_encode (&body, 8, &args, NULL);
    assert (proto_reply_decode (&reply, body.data, body.size, &err) == 0);
    assert (reply.ok && reply.result && reply.result->type == MSGPACK_OBJECT_MAP);
    proto_reply_release (&reply);

    msgpack_sbuffer_destroy (&args);
    msgpack_sbuffer_destroy (&body);
    dt_err_reset (&err);
    if (verbose)
        printf ("OK\n");
}
