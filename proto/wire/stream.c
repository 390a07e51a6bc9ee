/* stream.c -- replication stream codec: changes, pushes, sync.hello and sync.ack. */
#include "stream.h"

//  Reading raw msgpack against an end limit. Each reader takes one value of
//  its type or returns false, leaving the caller to say what was wrong.

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} s_reader_t;

static bool
s_have (s_reader_t *r, size_t n)
{
    return (size_t) (r->end - r->p) >= n;
}

static uint64_t
s_be (s_reader_t *r, int width)
{
    uint64_t value = 0;
    for (int i = 0; i < width; i++)
        value = (value << 8) | *r->p++;
    return value;
}

/* Width of the length/value after a tag among (t8, t16, t32[, t64]), 0 if none. */
static int
s_width (uint8_t tag, uint8_t t8, uint8_t t16, uint8_t t32, uint8_t t64)
{
    return tag == t8? 1: tag == t16? 2: tag == t32? 4: (t64 && tag == t64)? 8: 0;
}

static bool
s_container (s_reader_t *r, uint8_t fix, uint8_t t16, uint8_t t32, uint32_t *count)
{
    if (!s_have (r, 1))
        return false;
    uint8_t tag = *r->p;
    if ((tag & 0xf0) == fix) {
        r->p++;
        *count = tag & 0x0f;
        return true;
    }
    int width = s_width (tag, 0xff, t16, t32, 0);
    if (!width || !s_have (r, 1 + width))
        return false;
    r->p++;
    *count = (uint32_t) s_be (r, width);
    //  Every element takes at least one byte: a count beyond what is left lies
    return *count <= (size_t) (r->end - r->p);
}

static bool
s_map (s_reader_t *r, uint32_t *count)
{
    return s_container (r, 0x80, 0xde, 0xdf, count);
}

static bool
s_array (s_reader_t *r, uint32_t *count)
{
    return s_container (r, 0x90, 0xdc, 0xdd, count);
}

static bool
s_nil (s_reader_t *r)
{
    if (!s_have (r, 1) || *r->p != 0xc0)
        return false;
    r->p++;
    return true;
}

/* A str (is_bin false) or bin of any length that fits before end. */
static bool
s_bytes (s_reader_t *r, bool is_bin, const uint8_t **ptr, size_t *len)
{
    if (!s_have (r, 1))
        return false;
    uint8_t tag = *r->p;
    int width = is_bin? s_width (tag, 0xc4, 0xc5, 0xc6, 0): s_width (tag, 0xd9, 0xda, 0xdb, 0);
    if (!is_bin && (tag & 0xe0) == 0xa0) {
        r->p++;
        *len = tag & 0x1f;
    }
    else {
        if (!width || !s_have (r, 1 + width))
            return false;
        r->p++;
        *len = (size_t) s_be (r, width);
    }
    if (!s_have (r, *len))
        return false;
    *ptr = r->p;
    r->p += *len;
    return true;
}

/* A str of min..max bytes, copied NUL-terminated into out. */
static bool
s_str (s_reader_t *r, char *out, size_t min, size_t max)
{
    const uint8_t *ptr;
    size_t len;
    if (!s_bytes (r, false, &ptr, &len) || len < min || len > max)
        return false;
    memcpy (out, ptr, len);
    out [len] = 0;
    return true;
}

static bool
s_uint (s_reader_t *r, uint64_t *out)
{
    if (!s_have (r, 1))
        return false;
    uint8_t tag = *r->p;
    if (tag <= 0x7f) {
        r->p++;
        *out = tag;
        return true;
    }
    int width = s_width (tag, 0xcc, 0xcd, 0xce, 0xcf);
    if (!width || !s_have (r, 1 + width))
        return false;
    r->p++;
    *out = s_be (r, width);
    return true;
}

static bool
s_int (s_reader_t *r, int64_t *out)
{
    if (!s_have (r, 1))
        return false;
    uint8_t tag = *r->p;
    if (tag >= 0xe0) {
        r->p++;
        *out = (int8_t) tag;
        return true;
    }
    int width = s_width (tag, 0xd0, 0xd1, 0xd2, 0xd3);
    if (width) {
        if (!s_have (r, 1 + width))
            return false;
        r->p++;
        uint64_t bits = s_be (r, width);
        //  Sign-extend from the value's width
        int shift = 64 - 8 * width;
        *out = shift? (int64_t) (bits << shift) >> shift: (int64_t) bits;
        return true;
    }
    uint64_t value;
    if (!s_uint (r, &value) || value > INT64_MAX)
        return false;
    *out = (int64_t) value;
    return true;
}

static bool
s_bool (s_reader_t *r, bool *out)
{
    if (!s_have (r, 1) || (*r->p != 0xc2 && *r->p != 0xc3))
        return false;
    *out = *r->p++ == 0xc3;
    return true;
}

/* Read a map key; false if it is not a short str. */
static bool
s_key (s_reader_t *r, char key [16])
{
    const uint8_t *ptr;
    size_t len;
    if (!s_bytes (r, false, &ptr, &len))
        return false;
    //  A key we do not know may be long: it is skipped, not copied whole
    snprintf (key, 16, "%.*s", (int) (len < 15? len: 15), (const char *) ptr);
    if (len > 15)
        key [0] = '?';
    return true;
}

static bool
s_skip (s_reader_t *r, dt_err_t *err)
{
    return proto_skip (&r->p, r->end, err) == 0;
}

//  Change records

void
stream_change_encode (msgpack_sbuffer *out, const stream_change_t *change)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, change->end? 8: 7);
    proto_pack_key (&pk, "seq");
    msgpack_pack_uint64 (&pk, change->seq);
    proto_pack_key (&pk, "ts");
    msgpack_pack_int64 (&pk, change->ts);
    proto_pack_key (&pk, "table");
    proto_pack_str (&pk, change->table);
    proto_pack_key (&pk, "key");
    proto_pack_str (&pk, change->key);
    proto_pack_key (&pk, "value");
    if (change->value) {
        msgpack_pack_bin (&pk, change->value_size);
        msgpack_pack_bin_body (&pk, change->value, change->value_size);
    }
    else
        msgpack_pack_nil (&pk);
    proto_pack_key (&pk, "branch");
    proto_pack_str_or_nil (&pk, change->branch);
    proto_pack_key (&pk, "nodes");
    msgpack_pack_array (&pk, change->nnodes);
    for (int i = 0; i < change->nnodes; i++)
        proto_pack_str (&pk, change->nodes [i]);
    if (change->end) {
        proto_pack_key (&pk, "end");
        msgpack_pack_true (&pk);
    }
}

int
stream_change_decode (stream_change_t *self, const void *data, size_t size,
                      size_t *used, dt_err_t *err)
{
    memset (self, 0, sizeof (*self));
    s_reader_t r = { data, (const uint8_t *) data + size };
    const char *why = "is not a map";
    uint32_t count;
    bool has_seq = false, has_table = false, has_key = false, has_value = false;
    if (!s_map (&r, &count))
        goto malformed;
    for (uint32_t i = 0; i < count; i++) {
        char name [16];
        why = "has a key that is not a string";
        if (!s_key (&r, name))
            goto malformed;
        if (streq (name, "seq")) {
            why = "\"seq\" is not an unsigned integer";
            if (!(has_seq = s_uint (&r, &self->seq)))
                goto malformed;
        }
        else
        if (streq (name, "ts")) {
            why = "\"ts\" is not an integer";
            if (!s_int (&r, &self->ts))
                goto malformed;
        }
        else
        if (streq (name, "table")) {
            why = "\"table\" is not a string of 1 to 31 bytes";
            if (!(has_table = s_str (&r, self->table, 1, STREAM_TABLE_MAX)))
                goto malformed;
        }
        else
        if (streq (name, "key")) {
            why = "\"key\" is not a string of 1 to 64 bytes";
            if (!(has_key = s_str (&r, self->key, 1, DT_ID_MAX)))
                goto malformed;
        }
        else
        if (streq (name, "value")) {
            why = "\"value\" is neither bin nor nil";
            const uint8_t *ptr = NULL;
            if (!s_nil (&r) && !s_bytes (&r, true, &ptr, &self->value_size))
                goto malformed;
            self->value = ptr;
            if (!ptr)
                self->value_size = 0;
            has_value = true;
        }
        else
        if (streq (name, "branch")) {
            why = "\"branch\" is neither nil nor a string of 1 to 64 bytes";
            if (!s_nil (&r) && !s_str (&r, self->branch, 1, DT_ID_MAX))
                goto malformed;
        }
        else
        if (streq (name, "nodes")) {
            uint32_t nnodes;
            why = "\"nodes\" is not an array of at most 4 node names";
            if (!s_array (&r, &nnodes) || nnodes > STREAM_NODES_MAX)
                goto malformed;
            self->nnodes = (int) nnodes;
            for (uint32_t j = 0; j < nnodes; j++)
                if (!s_str (&r, self->nodes [j], 1, DT_ID_MAX))
                    goto malformed;
        }
        else
        if (streq (name, "end")) {
            why = "\"end\" is not a boolean";
            if (!s_bool (&r, &self->end))
                goto malformed;
        }
        else {
            why = "has a damaged value";
            if (!s_skip (&r, err))
                goto malformed;
        }
    }
    why = "needs seq, table, key and value";
    if (!has_seq || !has_table || !has_key || !has_value)
        goto malformed;
    why = "is followed by stray bytes";
    if (used)
        *used = (size_t) (r.p - (const uint8_t *) data);
    else
    if (r.p != r.end)
        goto malformed;
    return 0;
malformed:
    return dt_err_set (err, "MALFORMED", "a change %s", why);
}

bool
stream_change_for (const stream_change_t *self, const char *node)
{
    for (int i = 0; i < self->nnodes; i++)
        if (streq (self->nodes [i], node) || streq (self->nodes [i], STREAM_NODES_ALL))
            return true;
    return false;
}

int
stream_entries_next (const void *entries, size_t size, size_t *offset,
                     stream_change_t *change, dt_err_t *err)
{
    if (*offset >= size)
        return 0;
    size_t used;
    if (stream_change_decode (change, (const uint8_t *) entries + *offset, size - *offset,
                              &used, err))
        return -1;
    *offset += used;
    return 1;
}

//  Pushes

#define S_ENTRIES 1
#define S_UPTO    2
#define S_HEAD    4

static const struct {
    stream_kind_t kind;
    const char *name;
    int fields;                     /* what the kind carries, all required */
} s_kinds [] = {
    { STREAM_CHANGES,        "changes",        S_ENTRIES | S_UPTO },
    { STREAM_SNAPSHOT_BEGIN, "snapshot_begin", S_UPTO },
    { STREAM_SNAPSHOT,       "snapshot",       S_ENTRIES },
    { STREAM_SNAPSHOT_END,   "snapshot_end",   S_UPTO },
    { STREAM_HEARTBEAT,      "heartbeat",      S_HEAD },
};
#define S_KINDS (sizeof (s_kinds) / sizeof (s_kinds [0]))

void
stream_push_encode (msgpack_sbuffer *out, const stream_push_t *push)
{
    size_t at = 0;
    while (at < S_KINDS && s_kinds [at].kind != push->kind)
        at++;
    assert (at < S_KINDS);          /* the hub sends only kinds it knows */
    int fields = s_kinds [at].fields;
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2 + !!(fields & S_ENTRIES) + !!(fields & S_UPTO)
                                 + !!(fields & S_HEAD));
    proto_pack_key (&pk, "v");
    msgpack_pack_uint32 (&pk, DT_PROTO_VERSION);
    proto_pack_key (&pk, "push");
    proto_pack_str (&pk, s_kinds [at].name);
    if (fields & S_ENTRIES) {
        proto_pack_key (&pk, "entries");
        msgpack_pack_array (&pk, push->nentries);
        msgpack_sbuffer_write (out, push->entries, push->entries_size);
    }
    if (fields & S_UPTO) {
        proto_pack_key (&pk, "upto");
        msgpack_pack_uint64 (&pk, push->upto);
    }
    if (fields & S_HEAD) {
        proto_pack_key (&pk, "head");
        msgpack_pack_uint64 (&pk, push->head);
    }
}

int
stream_push_decode (stream_push_t *self, const void *data, size_t size, dt_err_t *err)
{
    memset (self, 0, sizeof (*self));
    if (size > DT_MAX_BODY)
        return dt_err_set (err, "TOO_LARGE", "a push of %zu bytes exceeds %d", size,
                           DT_MAX_BODY);
    s_reader_t r = { data, (const uint8_t *) data + size };
    const char *why = "is not a map";
    char kind [24] = "";
    int fields = 0;
    uint32_t count;
    if (!s_map (&r, &count))
        goto malformed;
    for (uint32_t i = 0; i < count; i++) {
        char name [16];
        why = "has a key that is not a string";
        if (!s_key (&r, name))
            goto malformed;
        if (streq (name, "push")) {
            why = "names its kind in more than 23 bytes";
            if (!s_str (&r, kind, 1, sizeof (kind) - 1))
                goto malformed;
        }
        else
        if (streq (name, "entries")) {
            why = "has \"entries\" that are not an array of changes";
            if (!s_array (&r, &self->nentries) || self->nentries > DT_LIST_MAX)
                goto malformed;
            self->entries = r.p;
            //  Every entry decoded once here: whoever walks them later may
            //  trust their shape
            for (uint32_t j = 0; j < self->nentries; j++) {
                stream_change_t change;
                size_t used;
                if (stream_change_decode (&change, r.p, (size_t) (r.end - r.p), &used, err))
                    return -1;
                r.p += used;
            }
            self->entries_size = (size_t) (r.p - (const uint8_t *) self->entries);
            fields |= S_ENTRIES;
        }
        else
        if (streq (name, "upto")) {
            why = "has an \"upto\" that is not an unsigned integer";
            if (!s_uint (&r, &self->upto))
                goto malformed;
            fields |= S_UPTO;
        }
        else
        if (streq (name, "head")) {
            why = "has a \"head\" that is not an unsigned integer";
            if (!s_uint (&r, &self->head))
                goto malformed;
            fields |= S_HEAD;
        }
        else {
            //  "v", and what a reply or a newer push carries
            why = "has a damaged value";
            if (!s_skip (&r, err))
                goto malformed;
        }
    }
    why = "is followed by stray bytes";
    if (r.p != r.end)
        goto malformed;
    if (!*kind)
        return 0;                   /* STREAM_NONE: a reply */
    self->kind = STREAM_OTHER;
    for (size_t at = 0; at < S_KINDS; at++)
        if (streq (kind, s_kinds [at].name)) {
            self->kind = s_kinds [at].kind;
            why = "lacks a field its kind needs (entries, upto or head)";
            if ((fields & s_kinds [at].fields) != s_kinds [at].fields)
                goto malformed;
        }
    return 0;
malformed:
    return dt_err_set (err, "MALFORMED", "a push %s", why);
}

//  sync.hello, sync.ack

void
stream_hello_encode (msgpack_sbuffer *args, const stream_hello_t *hello)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, args, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, hello->witness_size? 4: 3);
    proto_pack_key (&pk, "node");
    proto_pack_str (&pk, hello->node);
    proto_pack_key (&pk, "from");
    msgpack_pack_uint64 (&pk, hello->from);
    proto_pack_key (&pk, "credit");
    msgpack_pack_uint64 (&pk, hello->credit);
    if (hello->witness_size) {
        proto_pack_key (&pk, "witness");
        msgpack_pack_bin (&pk, hello->witness_size);
        msgpack_pack_bin_body (&pk, hello->witness, hello->witness_size);
    }
}

int
stream_hello_decode (stream_hello_t *self, const msgpack_object *args, dt_err_t *err)
{
    memset (self, 0, sizeof (*self));
    if (proto_args_check (args, STREAM_HELLO_ARGS, err)
    ||  proto_arg_id (args, "node", true, self->node, err) < 0
    ||  proto_arg_uint (args, "from", true, &self->from, err) < 0
    ||  proto_arg_uint (args, "credit", true, &self->credit, err) < 0)
        return -1;
    const msgpack_object *witness = proto_map_get (args, "witness");
    if (witness && witness->type != MSGPACK_OBJECT_BIN)
        return dt_err_set (err, "BAD_ARGS", "witness must be bin");
    if (witness && witness->via.bin.size > STREAM_WITNESS_MAX)
        return dt_err_set (err, "TOO_LARGE", "witness of %u bytes exceeds %d",
                           witness->via.bin.size, STREAM_WITNESS_MAX);
    if (witness) {
        memcpy (self->witness, witness->via.bin.ptr, witness->via.bin.size);
        self->witness_size = witness->via.bin.size;
    }
    return 0;
}

void
stream_ack_encode (msgpack_sbuffer *args, const stream_ack_t *ack)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, args, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 4);
    proto_pack_key (&pk, "applied");
    msgpack_pack_uint64 (&pk, ack->applied);
    proto_pack_key (&pk, "credit");
    msgpack_pack_uint64 (&pk, ack->credit);
    proto_pack_key (&pk, "ts");
    msgpack_pack_int64 (&pk, ack->ts);
    proto_pack_key (&pk, "outbox");
    msgpack_pack_uint64 (&pk, ack->outbox);
}

int
stream_ack_decode (stream_ack_t *self, const msgpack_object *args, dt_err_t *err)
{
    memset (self, 0, sizeof (*self));
    if (proto_args_check (args, STREAM_ACK_ARGS, err)
    ||  proto_arg_uint (args, "applied", true, &self->applied, err) < 0
    ||  proto_arg_uint (args, "credit", true, &self->credit, err) < 0
    ||  proto_arg_int (args, "ts", true, &self->ts, err) < 0
    ||  proto_arg_uint (args, "outbox", false, &self->outbox, err) < 0)
        return -1;
    return 0;
}

void
stream_hello_ok_pack (msgpack_packer *pk, const stream_hello_ok_t *ok)
{
    msgpack_pack_map (pk, 2);
    proto_pack_key (pk, "head");
    msgpack_pack_uint64 (pk, ok->head);
    proto_pack_key (pk, "snapshot");
    if (ok->snapshot)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
}

int
stream_hello_ok_decode (stream_hello_ok_t *self, const msgpack_object *result,
                        dt_err_t *err)
{
    memset (self, 0, sizeof (*self));
    if (proto_arg_uint (result, "head", true, &self->head, err) < 0
    ||  proto_arg_bool (result, "snapshot", true, &self->snapshot, err) < 0)
        return dt_err_set (err, "MALFORMED", "the sync.hello result needs head and snapshot");
    return 0;
}

//  --------------------------------------------------------------------------
//  Self test

static void
s_test_refused (const void *data, size_t size, const char *code)
{
    dt_err_t err;
    dt_err_init (&err);
    stream_push_t push;
    assert (stream_push_decode (&push, data, size, &err) == -1);
    if (!streq (err.code, code))
        printf ("\nexpected %s, got %s: %s\n", code, err.code, err.message);
    assert (streq (err.code, code));
}

/* Encode a changes push of two changes (the second one deleting and ending a
   commit) into body. */
static void
s_test_changes (msgpack_sbuffer *body)
{
    stream_change_t one = { .seq = 7, .ts = -5, .table = "hall", .key = "h-1", .value = "\x80",
                            .value_size = 1, .branch = "b-1", .nodes = { "n1", "n2" },
                            .nnodes = 2 };
    stream_change_t two = { .seq = 8, .ts = 1764547200000, .table = "key", .key = "zhang",
                            .nodes = { STREAM_NODES_ALL }, .nnodes = 1, .end = true };
    msgpack_sbuffer entries;
    msgpack_sbuffer_init (&entries);
    stream_change_encode (&entries, &one);
    stream_change_encode (&entries, &two);
    stream_push_t push = { .kind = STREAM_CHANGES, .upto = 9, .entries = entries.data,
                           .entries_size = entries.size, .nentries = 2 };
    stream_push_encode (body, &push);
    msgpack_sbuffer_destroy (&entries);
}

void
stream_test (bool verbose)
{
    if (verbose)
        printf (" * stream: ");
    dt_err_t err;
    dt_err_init (&err);

    //  What the hub encodes, the node decodes: a changes push of two changes
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    s_test_changes (&body);
    stream_push_t push;
    assert (stream_push_decode (&push, body.data, body.size, &err) == 0);
    assert (push.kind == STREAM_CHANGES && push.upto == 9 && push.nentries == 2);
    stream_change_t change;
    size_t offset = 0;
    assert (stream_entries_next (push.entries, push.entries_size, &offset, &change, &err) == 1);
    assert (change.seq == 7 && change.ts == -5 && streq (change.table, "hall"));
    assert (streq (change.key, "h-1") && change.value_size == 1
            && memcmp (change.value, "\x80", 1) == 0);
    assert (streq (change.branch, "b-1") && change.nnodes == 2 && !change.end);
    assert (stream_change_for (&change, "n2") && !stream_change_for (&change, "n3"));
    assert (stream_entries_next (push.entries, push.entries_size, &offset, &change, &err) == 1);
    assert (change.seq == 8 && change.ts == 1764547200000 && !change.value);
    assert (!*change.branch && change.end && stream_change_for (&change, "n9"));
    assert (stream_entries_next (push.entries, push.entries_size, &offset, &change, &err) == 0);

    //  Markers carry upto or head; a kind of a newer protocol is OTHER
    stream_push_t sent [] = { { .kind = STREAM_SNAPSHOT_BEGIN, .upto = 3 },
                              { .kind = STREAM_SNAPSHOT_END, .upto = 3 },
                              { .kind = STREAM_HEARTBEAT, .head = 12 },
                              { .kind = STREAM_SNAPSHOT } };
    for (size_t i = 0; i < sizeof (sent) / sizeof (sent [0]); i++) {
        msgpack_sbuffer marker;
        msgpack_sbuffer_init (&marker);
        stream_push_encode (&marker, &sent [i]);
        assert (stream_push_decode (&push, marker.data, marker.size, &err) == 0);
        assert (push.kind == sent [i].kind && push.upto == sent [i].upto
                && push.head == sent [i].head && push.nentries == 0);
        msgpack_sbuffer_destroy (&marker);
    }
    assert (stream_push_decode (&push, "\x82\xa4push\xa5later\xa1x\x91\x01", 16, &err) == 0);
    assert (push.kind == STREAM_OTHER);
    //  A reply is no push: nested results are stepped over
    const char reply [] = "\x83\xa2id\x01\xa2ok\xc3\xa6result\x81\xa4head\x92\x01\x80";
    assert (stream_push_decode (&push, reply, sizeof (reply) - 1, &err) == 0);
    assert (push.kind == STREAM_NONE);

    //  Truncated anywhere: refused
    for (size_t size = 0; size < body.size; size++)
        s_test_refused (body.data, size, "MALFORMED");
    //  Stray bytes after the push
    msgpack_sbuffer_write (&body, "\xc0", 1);
    s_test_refused (body.data, body.size, "MALFORMED");
    msgpack_sbuffer_destroy (&body);
    //  Over-long: a key of 65 bytes, a table of 32, five nodes
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    for (int round = 0; round < 2; round++) {
        char text [DT_ID_MAX + 2];
        memset (text, 'k', sizeof (text) - 1);
        text [round? STREAM_TABLE_MAX + 1: DT_ID_MAX + 1] = 0;
        msgpack_sbuffer_clear (&body);
        msgpack_pack_map (&pk, 4);
        proto_pack_key (&pk, "seq");
        msgpack_pack_uint64 (&pk, 1);
        proto_pack_key (&pk, "table");
        proto_pack_str (&pk, round? text: "hall");
        proto_pack_key (&pk, "key");
        proto_pack_str (&pk, round? "k": text);
        proto_pack_key (&pk, "value");
        msgpack_pack_nil (&pk);
        assert (stream_change_decode (&change, body.data, body.size, NULL, &err) == -1);
        text [round? STREAM_TABLE_MAX: DT_ID_MAX] = 0;         /* at the limit: fine */
        msgpack_sbuffer_clear (&body);
        msgpack_pack_map (&pk, 4);
        proto_pack_key (&pk, "seq");
        msgpack_pack_uint64 (&pk, 1);
        proto_pack_key (&pk, "table");
        proto_pack_str (&pk, round? text: "hall");
        proto_pack_key (&pk, "key");
        proto_pack_str (&pk, round? "k": text);
        proto_pack_key (&pk, "value");
        msgpack_pack_nil (&pk);
        assert (stream_change_decode (&change, body.data, body.size, NULL, &err) == 0);
    }
    msgpack_sbuffer_destroy (&body);
    const char wide [] = "\x85\xa3seq\x01\xa5table\xa1t\xa3key\xa1k\xa5value\xc0"
                         "\xa5nodes\x95\xa1" "a\xa1" "b\xa1" "c\xa1" "d\xa1" "e";
    assert (stream_change_decode (&change, wide, sizeof (wide) - 1, NULL, &err) == -1);
    //  Wrong types: seq a string, value a string, table an integer, nodes a map
    const char *wrong [] = {
        ("\x84\xa3seq\xa1" "1\xa5table\xa1t\xa3key\xa1k\xa5value\xc0"),
        "\x84\xa3seq\x01\xa5table\xa1t\xa3key\xa1k\xa5value\xa1v",
        "\x84\xa3seq\x01\xa5table\x01\xa3key\xa1k\xa5value\xc0",
        "\x85\xa3seq\x01\xa5table\xa1t\xa3key\xa1k\xa5value\xc0\xa5nodes\x80",
        "\x83\xa3seq\x01\xa5table\xa1t\xa3key\xa1k",                 /* no value */
    };
    for (size_t i = 0; i < sizeof (wrong) / sizeof (wrong [0]); i++) {
        assert (stream_change_decode (&change, wrong [i], strlen (wrong [i]),
                                      NULL, &err) == -1);
        assert (streq (err.code, "MALFORMED"));
    }
    //  A well-formed change with a key of a newer hub decodes
    const char newer [] = "\x85\xa3seq\x01\xa5table\xa1t\xa3key\xa1k\xa5value\xc0"
                          "\xa5later\x91\x81\xa1x\x01";
    assert (stream_change_decode (&change, newer, sizeof (newer) - 1, NULL, &err) == 0);
    //  A push lacking what its kind needs, or claiming more entries than it has
#define S_REFUSED(bytes) s_test_refused (bytes, sizeof (bytes) - 1, "MALFORMED")
    S_REFUSED ("\x82\xa4push\xa7" "changes\xa7" "entries\x90");
    S_REFUSED ("\x81\xa4push\xaesnapshot_begin");
    S_REFUSED ("\x82\xa4push\xa8snapshot\xa7" "entries\x93\x80");
    S_REFUSED ("\x82\xa4push\xa9heartbeat\xa4head\xa1x");
    S_REFUSED ("\x82\xa4push\xa8snapshot\xa7" "entries\xdd\x7f\xff\xff\xff");
    S_REFUSED ("\x91\x01");
#undef S_REFUSED

    //  sync.hello and sync.ack arguments, and the hello result, round-trip
    msgpack_sbuffer args;
    msgpack_sbuffer_init (&args);
    stream_hello_t hello = { .node = "n-chengdu", .from = 41, .credit = 4096 }, hello_in;
    stream_hello_encode (&args, &hello);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, args.data, args.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    assert (stream_hello_decode (&hello_in, &unpacked.data, &err) == 0);
    assert (streq (hello_in.node, "n-chengdu") && hello_in.from == 41
            && hello_in.credit == 4096);
    stream_ack_t ack = { .applied = 9, .credit = 2, .ts = 5, .outbox = 3 }, ack_in;
    msgpack_sbuffer_clear (&args);
    stream_ack_encode (&args, &ack);
    assert (msgpack_unpack_next (&unpacked, args.data, args.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    assert (stream_ack_decode (&ack_in, &unpacked.data, &err) == 0);
    assert (ack_in.applied == 9 && ack_in.credit == 2 && ack_in.ts == 5 && ack_in.outbox == 3);
    assert (stream_hello_decode (&hello_in, &unpacked.data, &err) == -1);
    assert (streq (err.code, "BAD_ARGS"));
    msgpack_sbuffer_clear (&args);
    msgpack_packer_init (&pk, &args, msgpack_sbuffer_write);
    stream_hello_ok_t ok = { .head = 77, .snapshot = true }, ok_in;
    stream_hello_ok_pack (&pk, &ok);
    assert (msgpack_unpack_next (&unpacked, args.data, args.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    assert (stream_hello_ok_decode (&ok_in, &unpacked.data, &err) == 0);
    assert (ok_in.head == 77 && ok_in.snapshot);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&args);
    dt_err_reset (&err);
    if (verbose)
        printf ("OK\n");
}
