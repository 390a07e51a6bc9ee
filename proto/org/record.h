/* record.h -- the stored entities (officer, branch, hall, member, key, node)
   and their msgpack encoding. Every record is a msgpack map. */
#ifndef RECORD_H_INCLUDED
#define RECORD_H_INCLUDED

#include "dt.h"
#include "dt_err.h"

typedef char dt_id_t [DT_ID_MAX + 1];
typedef char dt_name_t [DT_NAME_MAX + 1];

typedef enum { SEAT_NONE = 0, SEAT_CORE = 1, SEAT_HALL = 2 } seat_kind_t;
typedef enum {
    ROLE_MEMBER = 0, ROLE_KOL, ROLE_LECTURER, ROLE_ADMIN, ROLE_LEADER
} role_t;

typedef struct {
    dt_id_t id;
    dt_name_t name;
    int64_t created;
} officer_t;

typedef struct {
    dt_id_t id;
    dt_name_t name;
    dt_id_t leader;             /* officer */
    uint32_t cap;               /* 0 = default */
    uint32_t core_seats;
    uint32_t halls;
    dt_id_t node;               /* "" = unassigned */
    int64_t created;
} branch_t;

typedef struct {
    dt_id_t id;
    dt_name_t name;
    dt_id_t branch;
    dt_id_t leader;             /* member with a core seat in branch */
    uint32_t cap;               /* 0 = default */
    uint32_t seats;
    int64_t created;
} hall_t;

typedef struct {
    char key [DT_TAG_KEY_MAX + 1];
    char value [DT_TAG_VAL_MAX + 1];
} tag_t;

typedef struct {
    dt_id_t id;
    dt_name_t name;
    dt_id_t referrer;           /* "" = none; never changes */
    tag_t tags [DT_TAGS_MAX];
    uint32_t ntags;
    seat_kind_t seat;
    dt_id_t group;              /* branch (core) or hall id; "" when unplaced */
    dt_id_t branch;             /* branch of the seat; "" when unplaced */
    role_t role;
    dt_id_t first_hall;         /* first hall ever seated in; never changes */
    int64_t created;
} member_t;

typedef enum { KEY_HQ_ADMIN = 0, KEY_NODE, KEY_LEADER } key_role_t;
#define KEY_BRANCHES_MAX 64

typedef struct {
    dt_id_t name;
    char public_key [41];       /* Z85 */
    key_role_t role;
    dt_id_t node;               /* role node */
    dt_id_t branches [KEY_BRANCHES_MAX];    /* role leader */
    uint32_t nbranches;
    bool revoked;
    int64_t created;
} key_t_;
typedef key_t_ dt_key_t;

typedef struct {
    dt_id_t id;
    int64_t created;
} node_t;

/* Encode into out (appends). Decode from stored bytes: 0, or -1 (corrupt). */
void record_officer_encode (const officer_t *self, msgpack_sbuffer *out);
int  record_officer_decode (officer_t *self, const void *data, size_t size);
void record_branch_encode (const branch_t *self, msgpack_sbuffer *out);
int  record_branch_decode (branch_t *self, const void *data, size_t size);
void record_hall_encode (const hall_t *self, msgpack_sbuffer *out);
int  record_hall_decode (hall_t *self, const void *data, size_t size);
void record_member_encode (const member_t *self, msgpack_sbuffer *out);
int  record_member_decode (member_t *self, const void *data, size_t size);
void record_key_encode (const dt_key_t *self, msgpack_sbuffer *out);
int  record_key_decode (dt_key_t *self, const void *data, size_t size);
void record_node_encode (const node_t *self, msgpack_sbuffer *out);
int  record_node_decode (node_t *self, const void *data, size_t size);

/* Pack the public result shapes of PROTOCOL.md section 6 (effective caps are
   passed in because they depend on policy). */
void record_officer_pack (const officer_t *self, uint32_t branches_led, msgpack_packer *pk);
void record_branch_pack (const branch_t *self, uint32_t effective_cap, msgpack_packer *pk);
/* As record_branch_pack, but the map has room for extra_keys more key/value
   pairs, which the caller packs next (the tree's "hall_list"). */
void record_branch_pack_extra (const branch_t *self, uint32_t effective_cap,
                               uint32_t extra_keys, msgpack_packer *pk);
void record_hall_pack (const hall_t *self, uint32_t effective_cap, msgpack_packer *pk);
void record_member_pack (const member_t *self, msgpack_packer *pk);
void record_key_pack (const dt_key_t *self, msgpack_packer *pk);

const char *record_role_name (role_t role);
int record_role_parse (const char *name, role_t *role);      /* 0 or -1 */
const char *record_seat_name (seat_kind_t seat);
const char *record_key_role_name (key_role_t role);
int record_key_role_parse (const char *name, key_role_t *role);

/* Reading and writing record fields, for records kept by other layers
   (proto/content): a record is one msgpack map, fields looked up by name;
   a field of the wrong type marks the reader bad, and close returns -1. */
typedef struct {
    msgpack_unpacked unpacked;
    msgpack_zone *zone;         /* the thread's zone it decoded into, or NULL */
    const msgpack_object *map;
    bool bad;
} record_reader_t;
int record_reader_open (record_reader_t *self, const void *data, size_t size);
int record_reader_close (record_reader_t *self);
const msgpack_object *record_reader_map (record_reader_t *self);
void record_reader_fail (record_reader_t *self);
/* nil or absent gives "" / 0 */
void record_read_str (record_reader_t *self, const char *key, char *out, size_t max);
uint64_t record_read_uint (record_reader_t *self, const char *key);
int64_t record_read_int (record_reader_t *self, const char *key);
/* an enum stored by name: its index in names */
int record_read_enum (record_reader_t *self, const char *key, const char **names, int count);
/* one key/value pair of a map being packed ("" packs nil) */
void record_kv_str (msgpack_packer *pk, const char *key, const char *value);
void record_kv_uint (msgpack_packer *pk, const char *key, uint64_t value);
void record_kv_int (msgpack_packer *pk, const char *key, int64_t value);

void record_test (bool verbose);

#endif
