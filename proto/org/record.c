/* record.c -- msgpack encoding of stored entities and their public shapes. */
#include "record.h"
#include "proto.h"
#include <pthread.h>

static const char *s_roles [] = { "member", "kol", "lecturer", "admin", "leader" };
static const char *s_seats [] = { "none", "core", "hall" };
static const char *s_key_roles [] = { "hq-admin", "node", "leader" };

const char *
record_role_name (role_t role)
{
    return (unsigned) role <= ROLE_LEADER? s_roles [role]: "member";
}

int
record_role_parse (const char *name, role_t *role)
{
    for (int i = 0; i <= ROLE_LEADER; i++)
        if (streq (name, s_roles [i])) {
            *role = (role_t) i;
            return 0;
        }
    return -1;
}

const char *
record_seat_name (seat_kind_t seat)
{
    return (unsigned) seat <= SEAT_HALL? s_seats [seat]: "none";
}

const char *
record_key_role_name (key_role_t role)
{
    return (unsigned) role <= KEY_LEADER? s_key_roles [role]: "leader";
}

int
record_key_role_parse (const char *name, key_role_t *role)
{
    for (int i = 0; i <= KEY_LEADER; i++)
        if (streq (name, s_key_roles [i])) {
            *role = (key_role_t) i;
            return 0;
        }
    return -1;
}

//  Decoding: a record is one msgpack map; fields are looked up by name.

typedef record_reader_t s_reader_t;     /* record.h: other layers read with it too */

//  A decode allocates no memory: each thread keeps a zone per depth of
//  readers open at once (a reader opened while another is open is closed
//  first), cleared, not freed, when its reader closes. The hub decodes a
//  dozen records per member join; a zone each was an 8 KiB malloc and free.
#define S_ZONES 8
#define S_ZONE_CHUNK 2048

typedef struct {
    msgpack_zone *zones [S_ZONES];
    int depth;
} s_zones_t;

static pthread_key_t s_zones_key;
static pthread_once_t s_zones_once = PTHREAD_ONCE_INIT;

static void
s_zones_free (void *arg)
{
    s_zones_t *self = arg;
    for (int i = 0; i < S_ZONES; i++)
        if (self->zones [i])
            msgpack_zone_free (self->zones [i]);
    free (self);
}

static void
s_zones_init (void)
{
    pthread_key_create (&s_zones_key, s_zones_free);
}

/* This thread's next zone, or NULL (too deep: the reader makes its own). */
static msgpack_zone *
s_zone_take (void)
{
    pthread_once (&s_zones_once, s_zones_init);
    s_zones_t *self = pthread_getspecific (s_zones_key);
    if (!self) {
        self = calloc (1, sizeof (s_zones_t));
        if (!self || pthread_setspecific (s_zones_key, self)) {
            free (self);
            return NULL;
        }
    }
    if (self->depth == S_ZONES)
        return NULL;
    msgpack_zone **zone = &self->zones [self->depth];
    if (!*zone && !(*zone = msgpack_zone_new (S_ZONE_CHUNK)))
        return NULL;
    self->depth++;
    return *zone;
}

static void
s_zone_give (msgpack_zone *zone)
{
    s_zones_t *self = pthread_getspecific (s_zones_key);
    assert (self && self->depth > 0 && self->zones [self->depth - 1] == zone);
    msgpack_zone_clear (zone);
    self->depth--;
}

static int
s_reader_open (s_reader_t *self, const void *data, size_t size)
{
    dt_err_t err;
    dt_err_init (&err);
    msgpack_unpacked_init (&self->unpacked);
    self->bad = false;
    self->map = NULL;
    self->zone = NULL;
    if (proto_check (data, size, &err))
        return -1;
    size_t offset = 0;
    self->zone = s_zone_take ();
    if (self->zone) {
        msgpack_unpack_return rc = msgpack_unpack (data, size, &offset, self->zone,
                                                    &self->unpacked.data);
        if (rc != MSGPACK_UNPACK_SUCCESS && rc != MSGPACK_UNPACK_EXTRA_BYTES)
            return -1;
    }
    else
    if (msgpack_unpack_next (&self->unpacked, data, size, &offset) != MSGPACK_UNPACK_SUCCESS)
        return -1;
    if (self->unpacked.data.type != MSGPACK_OBJECT_MAP)
        return -1;
    self->map = &self->unpacked.data;
    return 0;
}

static int
s_reader_close (s_reader_t *self)
{
    if (self->zone)
        s_zone_give (self->zone);
    self->zone = NULL;
    msgpack_unpacked_destroy (&self->unpacked);
    return self->bad? -1: 0;
}

/* String field; nil or absent gives "". */
static void
s_read_str (s_reader_t *self, const char *key, char *out, size_t max)
{
    const msgpack_object *obj = proto_map_get (self->map, key);
    out [0] = 0;
    if (!obj || obj->type == MSGPACK_OBJECT_NIL)
        return;
    if (!proto_obj_str (obj, out, max))
        self->bad = true;
}

static uint64_t
s_read_uint (s_reader_t *self, const char *key)
{
    const msgpack_object *obj = proto_map_get (self->map, key);
    if (!obj)
        return 0;
    if (obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return obj->via.u64;
    self->bad = true;
    return 0;
}

static int64_t
s_read_int (s_reader_t *self, const char *key)
{
    const msgpack_object *obj = proto_map_get (self->map, key);
    if (!obj)
        return 0;
    if (obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER || obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return obj->via.i64;
    self->bad = true;
    return 0;
}

/* Enum stored by name. */
static int
s_read_enum (s_reader_t *self, const char *key, const char **names, int count)
{
    char name [32];
    s_read_str (self, key, name, sizeof (name) - 1);
    for (int i = 0; i < count; i++)
        if (streq (name, names [i]))
            return i;
    self->bad = true;
    return 0;
}

//  Encoding helpers

static void
s_kv_str (msgpack_packer *pk, const char *key, const char *value)
{
    proto_pack_key (pk, key);
    proto_pack_str_or_nil (pk, value);
}

static void
s_kv_uint (msgpack_packer *pk, const char *key, uint64_t value)
{
    proto_pack_key (pk, key);
    msgpack_pack_uint64 (pk, value);
}

static void
s_kv_int (msgpack_packer *pk, const char *key, int64_t value)
{
    proto_pack_key (pk, key);
    msgpack_pack_int64 (pk, value);
}

#define S_PACKER(out) \
    msgpack_packer pk_; msgpack_packer_init (&pk_, (out), msgpack_sbuffer_write); \
    msgpack_packer *pk = &pk_

//  Officer

void
record_officer_pack (const officer_t *self, uint32_t branches_led, msgpack_packer *pk)
{
    msgpack_pack_map (pk, 4);
    s_kv_str (pk, "id", self->id);
    s_kv_str (pk, "name", self->name);
    s_kv_int (pk, "created", self->created);
    s_kv_uint (pk, "branches", branches_led);
}

void
record_officer_encode (const officer_t *self, msgpack_sbuffer *out)
{
    S_PACKER (out);
    msgpack_pack_map (pk, 3);
    s_kv_str (pk, "id", self->id);
    s_kv_str (pk, "name", self->name);
    s_kv_int (pk, "created", self->created);
}

int
record_officer_decode (officer_t *self, const void *data, size_t size)
{
    s_reader_t reader;
    memset (self, 0, sizeof (*self));
    if (s_reader_open (&reader, data, size))
        return s_reader_close (&reader), -1;
    s_read_str (&reader, "id", self->id, DT_ID_MAX);
    s_read_str (&reader, "name", self->name, DT_NAME_MAX);
    self->created = s_read_int (&reader, "created");
    return s_reader_close (&reader);
}

//  Branch

/* Opens a map with room for `extra` more keys, which the caller packs. */
static void
s_branch_fields (const branch_t *self, uint32_t cap, uint32_t extra, msgpack_packer *pk)
{
    msgpack_pack_map (pk, 8 + extra);
    s_kv_str (pk, "id", self->id);
    s_kv_str (pk, "name", self->name);
    s_kv_str (pk, "leader", self->leader);
    s_kv_uint (pk, "cap", cap);
    s_kv_uint (pk, "core_seats", self->core_seats);
    s_kv_uint (pk, "halls", self->halls);
    s_kv_str (pk, "node", self->node);
    s_kv_int (pk, "created", self->created);
}

void
record_branch_pack (const branch_t *self, uint32_t effective_cap, msgpack_packer *pk)
{
    s_branch_fields (self, effective_cap, 0, pk);
}

void
record_branch_pack_extra (const branch_t *self, uint32_t effective_cap, uint32_t extra_keys,
                          msgpack_packer *pk)
{
    s_branch_fields (self, effective_cap, extra_keys, pk);
}

void
record_branch_encode (const branch_t *self, msgpack_sbuffer *out)
{
    S_PACKER (out);
    s_branch_fields (self, self->cap, 0, pk);
}

int
record_branch_decode (branch_t *self, const void *data, size_t size)
{
    s_reader_t reader;
    memset (self, 0, sizeof (*self));
    if (s_reader_open (&reader, data, size))
        return s_reader_close (&reader), -1;
    s_read_str (&reader, "id", self->id, DT_ID_MAX);
    s_read_str (&reader, "name", self->name, DT_NAME_MAX);
    s_read_str (&reader, "leader", self->leader, DT_ID_MAX);
    self->cap = (uint32_t) s_read_uint (&reader, "cap");
    self->core_seats = (uint32_t) s_read_uint (&reader, "core_seats");
    self->halls = (uint32_t) s_read_uint (&reader, "halls");
    s_read_str (&reader, "node", self->node, DT_ID_MAX);
    self->created = s_read_int (&reader, "created");
    return s_reader_close (&reader);
}

//  Hall

static void
s_hall_fields (const hall_t *self, uint32_t cap, msgpack_packer *pk)
{
    msgpack_pack_map (pk, 7);
    s_kv_str (pk, "id", self->id);
    s_kv_str (pk, "name", self->name);
    s_kv_str (pk, "branch", self->branch);
    s_kv_str (pk, "leader", self->leader);
    s_kv_uint (pk, "cap", cap);
    s_kv_uint (pk, "seats", self->seats);
    s_kv_int (pk, "created", self->created);
}

void
record_hall_pack (const hall_t *self, uint32_t effective_cap, msgpack_packer *pk)
{
    s_hall_fields (self, effective_cap, pk);
}

void
record_hall_encode (const hall_t *self, msgpack_sbuffer *out)
{
    S_PACKER (out);
    s_hall_fields (self, self->cap, pk);
}

int
record_hall_decode (hall_t *self, const void *data, size_t size)
{
    s_reader_t reader;
    memset (self, 0, sizeof (*self));
    if (s_reader_open (&reader, data, size))
        return s_reader_close (&reader), -1;
    s_read_str (&reader, "id", self->id, DT_ID_MAX);
    s_read_str (&reader, "name", self->name, DT_NAME_MAX);
    s_read_str (&reader, "branch", self->branch, DT_ID_MAX);
    s_read_str (&reader, "leader", self->leader, DT_ID_MAX);
    self->cap = (uint32_t) s_read_uint (&reader, "cap");
    self->seats = (uint32_t) s_read_uint (&reader, "seats");
    self->created = s_read_int (&reader, "created");
    return s_reader_close (&reader);
}

//  Member: stored and public shapes are the same

void
record_member_pack (const member_t *self, msgpack_packer *pk)
{
    msgpack_pack_map (pk, 10);
    s_kv_str (pk, "id", self->id);
    s_kv_str (pk, "name", self->name);
    s_kv_str (pk, "referrer", self->referrer);
    proto_pack_key (pk, "tags");
    msgpack_pack_map (pk, self->ntags);
    for (uint32_t i = 0; i < self->ntags; i++) {
        proto_pack_str (pk, self->tags [i].key);
        proto_pack_str (pk, self->tags [i].value);
    }
    s_kv_str (pk, "seat", record_seat_name (self->seat));
    s_kv_str (pk, "group", self->group);
    s_kv_str (pk, "branch", self->branch);
    s_kv_str (pk, "role", record_role_name (self->role));
    s_kv_str (pk, "first_hall", self->first_hall);
    s_kv_int (pk, "created", self->created);
}

void
record_member_encode (const member_t *self, msgpack_sbuffer *out)
{
    S_PACKER (out);
    record_member_pack (self, pk);
}

int
record_member_decode (member_t *self, const void *data, size_t size)
{
    s_reader_t reader;
    memset (self, 0, sizeof (*self));
    if (s_reader_open (&reader, data, size))
        return s_reader_close (&reader), -1;
    s_read_str (&reader, "id", self->id, DT_ID_MAX);
    s_read_str (&reader, "name", self->name, DT_NAME_MAX);
    s_read_str (&reader, "referrer", self->referrer, DT_ID_MAX);
    const msgpack_object *tags = proto_map_get (reader.map, "tags");
    if (tags && (tags->type != MSGPACK_OBJECT_MAP || tags->via.map.size > DT_TAGS_MAX))
        reader.bad = true;
    else
    if (tags) {
        self->ntags = tags->via.map.size;
        for (uint32_t i = 0; i < self->ntags; i++)
            if (!proto_obj_str (&tags->via.map.ptr [i].key, self->tags [i].key, DT_TAG_KEY_MAX)
            ||  !proto_obj_str (&tags->via.map.ptr [i].val, self->tags [i].value, DT_TAG_VAL_MAX))
                reader.bad = true;
    }
    self->seat = (seat_kind_t) s_read_enum (&reader, "seat", s_seats, 3);
    s_read_str (&reader, "group", self->group, DT_ID_MAX);
    s_read_str (&reader, "branch", self->branch, DT_ID_MAX);
    self->role = (role_t) s_read_enum (&reader, "role", s_roles, 5);
    s_read_str (&reader, "first_hall", self->first_hall, DT_ID_MAX);
    self->created = s_read_int (&reader, "created");
    return s_reader_close (&reader);
}

//  Key

void
record_key_pack (const dt_key_t *self, msgpack_packer *pk)
{
    msgpack_pack_map (pk, 7);
    s_kv_str (pk, "name", self->name);
    s_kv_str (pk, "public_key", self->public_key);
    s_kv_str (pk, "role", record_key_role_name (self->role));
    s_kv_str (pk, "node", self->node);
    proto_pack_key (pk, "branches");
    msgpack_pack_array (pk, self->nbranches);
    for (uint32_t i = 0; i < self->nbranches; i++)
        proto_pack_str (pk, self->branches [i]);
    s_kv_int (pk, "created", self->created);
    proto_pack_key (pk, "revoked");
    if (self->revoked)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
}

void
record_key_encode (const dt_key_t *self, msgpack_sbuffer *out)
{
    S_PACKER (out);
    record_key_pack (self, pk);
}

int
record_key_decode (dt_key_t *self, const void *data, size_t size)
{
    s_reader_t reader;
    memset (self, 0, sizeof (*self));
    if (s_reader_open (&reader, data, size))
        return s_reader_close (&reader), -1;
    s_read_str (&reader, "name", self->name, DT_ID_MAX);
    s_read_str (&reader, "public_key", self->public_key, 40);
    self->role = (key_role_t) s_read_enum (&reader, "role", s_key_roles, 3);
    s_read_str (&reader, "node", self->node, DT_ID_MAX);
    const msgpack_object *branches = proto_map_get (reader.map, "branches");
    if (branches && (branches->type != MSGPACK_OBJECT_ARRAY
                 ||  branches->via.array.size > KEY_BRANCHES_MAX))
        reader.bad = true;
    else
    if (branches) {
        self->nbranches = branches->via.array.size;
        for (uint32_t i = 0; i < self->nbranches; i++)
            if (!proto_obj_str (&branches->via.array.ptr [i], self->branches [i], DT_ID_MAX))
                reader.bad = true;
    }
    self->created = s_read_int (&reader, "created");
    const msgpack_object *revoked = proto_map_get (reader.map, "revoked");
    self->revoked = revoked && revoked->type == MSGPACK_OBJECT_BOOLEAN && revoked->via.boolean;
    return s_reader_close (&reader);
}

//  Node (registration; live status is kept in memory by the hub)

void
record_node_encode (const node_t *self, msgpack_sbuffer *out)
{
    S_PACKER (out);
    msgpack_pack_map (pk, 2);
    s_kv_str (pk, "id", self->id);
    s_kv_int (pk, "created", self->created);
}

int
record_node_decode (node_t *self, const void *data, size_t size)
{
    s_reader_t reader;
    memset (self, 0, sizeof (*self));
    if (s_reader_open (&reader, data, size))
        return s_reader_close (&reader), -1;
    s_read_str (&reader, "id", self->id, DT_ID_MAX);
    self->created = s_read_int (&reader, "created");
    return s_reader_close (&reader);
}

//  --------------------------------------------------------------------------
//  Self test

void
record_test (bool verbose)
{
    if (verbose)
        printf (" * record: ");
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);

    member_t member = { .seat = SEAT_HALL, .role = ROLE_KOL, .ntags = 1, .created = 17 };
    strcpy (member.id, "m-1");
    strcpy (member.name, "张三");
    strcpy (member.group, "h-qy");
    strcpy (member.branch, "b-cd");
    strcpy (member.first_hall, "h-qy");
    strcpy (member.tags [0].key, "city");
    strcpy (member.tags [0].value, "成都");
    record_member_encode (&member, &buf);
    member_t copy;
    assert (record_member_decode (&copy, buf.data, buf.size) == 0);
    assert (memcmp (&copy, &member, sizeof (member)) == 0);
    //  A damaged record is reported, not trusted
    for (size_t cut = 0; cut < buf.size; cut++)
        assert (record_member_decode (&copy, buf.data, cut) == -1);

    msgpack_sbuffer_clear (&buf);
    branch_t branch = { .cap = 0, .core_seats = 3, .halls = 2, .created = 5 };
    strcpy (branch.id, "b-cd");
    strcpy (branch.name, "成都分舵");
    strcpy (branch.leader, "o-1");
    record_branch_encode (&branch, &buf);
    branch_t branch_copy;
    assert (record_branch_decode (&branch_copy, buf.data, buf.size) == 0);
    assert (memcmp (&branch_copy, &branch, sizeof (branch)) == 0);

    msgpack_sbuffer_clear (&buf);
    dt_key_t key = { .role = KEY_LEADER, .nbranches = 2 };
    strcpy (key.name, "lee");
    strcpy (key.public_key, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    strcpy (key.branches [0], "b-1");
    strcpy (key.branches [1], "b-2");
    record_key_encode (&key, &buf);
    dt_key_t key_copy;
    assert (record_key_decode (&key_copy, buf.data, buf.size) == 0);
    assert (memcmp (&key_copy, &key, sizeof (key)) == 0);

    role_t role;
    assert (record_role_parse ("lecturer", &role) == 0 && role == ROLE_LECTURER);
    assert (record_role_parse ("boss", &role) == -1);
    msgpack_sbuffer_destroy (&buf);
    if (verbose)
        printf ("OK\n");
}

//  Field access for records of other layers (content items): the same
//  reader and writer the records above use

int
record_reader_open (record_reader_t *self, const void *data, size_t size)
{
    s_reader_t *reader = (s_reader_t *) self;
    return s_reader_open (reader, data, size);
}

int
record_reader_close (record_reader_t *self)
{
    return s_reader_close ((s_reader_t *) self);
}

const msgpack_object *
record_reader_map (record_reader_t *self)
{
    return ((s_reader_t *) self)->map;
}

void
record_reader_fail (record_reader_t *self)
{
    ((s_reader_t *) self)->bad = true;
}

void
record_read_str (record_reader_t *self, const char *key, char *out, size_t max)
{
    s_read_str ((s_reader_t *) self, key, out, max);
}

uint64_t
record_read_uint (record_reader_t *self, const char *key)
{
    return s_read_uint ((s_reader_t *) self, key);
}

int64_t
record_read_int (record_reader_t *self, const char *key)
{
    return s_read_int ((s_reader_t *) self, key);
}

int
record_read_enum (record_reader_t *self, const char *key, const char **names, int count)
{
    return s_read_enum ((s_reader_t *) self, key, names, count);
}

void
record_kv_str (msgpack_packer *pk, const char *key, const char *value)
{
    s_kv_str (pk, key, value);
}

void
record_kv_uint (msgpack_packer *pk, const char *key, uint64_t value)
{
    s_kv_uint (pk, key, value);
}

void
record_kv_int (msgpack_packer *pk, const char *key, int64_t value)
{
    s_kv_int (pk, key, value);
}
