/* policy.c -- the organisation's policy record: defaults, checks, storage. */
#include "policy.h"
#include "proto.h"
#include "scratch.h"
#include "repl.h"
#include "dt_time.h"
#include <stddef.h>

//  The fields: one table drives checking, packing and decoding

typedef enum { S_UINT, S_ZONE, S_TOPICS, S_ROLES } s_kind_t;

typedef struct {
    const char *name;
    s_kind_t kind;
    size_t offset;              /* of the value in policy_t */
    uint32_t min, max;          /* of an S_UINT */
    const char *unit;           /* of an S_UINT, for messages: " (percent)" */
} s_field_t;

#define S_AT(member) offsetof (policy_t, member)
#define S_CAP(member)     S_UINT, S_AT (member), 1, DT_CAP_MAX, ""
#define S_COUNT(member)   S_UINT, S_AT (member), 0, POLICY_COUNT_MAX, ""
#define S_PCT(member)     S_UINT, S_AT (member), 0, 100, " (percent)"

static const s_field_t s_fields [] = {
    { "branch_cap",              S_CAP (branch_cap) },
    { "hall_cap",                S_CAP (hall_cap) },
    { "timezone",                S_ZONE,   S_AT (timezone), 0, 0, NULL },
    { "article_per_day",         S_COUNT (article_per_day) },
    { "article_topics",          S_TOPICS, S_AT (article_topics), 0, 0, NULL },
    { "story_per_week",          S_COUNT (story_per_week) },
    { "video_per_week",          S_COUNT (video_per_week) },
    { "video_short_max_s",       S_UINT,   S_AT (video_short_max_s), 1, 86400, " (seconds)" },
    { "gathering_per_month",     S_COUNT (gathering_per_month) },
    { "gathering_min_attendees", S_UINT,   S_AT (gathering_min_attendees), 1,
                                 POLICY_COUNT_MAX, "" },
    { "promo_per_day_max",       S_COUNT (promo_per_day_max) },
    { "promo_share_max_pct",     S_PCT (promo_share_max_pct) },
    { "question_deadline_h",     S_UINT,   S_AT (question_deadline_h), 1, 8760, " (hours)" },
    { "dormant_days",            S_COUNT (dormant_days) },
    { "dead_days",               S_COUNT (dead_days) },
    { "dead_active_ratio_pct",   S_PCT (dead_active_ratio_pct) },
    { "content_roles",           S_ROLES,  S_AT (content_roles), 0, 0, NULL },
    { "promo_roles",             S_ROLES,  S_AT (promo_roles), 0, 0, NULL },
};
#define S_NFIELDS (sizeof (s_fields) / sizeof (s_fields [0]))
_Static_assert (POLICY_ZONE_MAX == DT_TIME_ZONE_MAX, "a policy holds any zone name");

#define S_ROLE_BIT(role) (1u << (role))
#define S_ROLE_NAMES     "leader, admin, lecturer, kol, member"

static uint32_t *
s_uint_at (policy_t *self, const s_field_t *field)
{
    return (uint32_t *) ((char *) self + field->offset);
}

static uint32_t
s_uint_of (const policy_t *self, const s_field_t *field)
{
    return *(const uint32_t *) ((const char *) self + field->offset);
}

static const s_field_t *
s_field_find (const char *name, size_t len)
{
    for (size_t i = 0; i < S_NFIELDS; i++)
        if (strlen (s_fields [i].name) == len && memcmp (s_fields [i].name, name, len) == 0)
            return &s_fields [i];
    return NULL;
}

void
policy_defaults (policy_t *self)
{
    memset (self, 0, sizeof (*self));
    self->branch_cap = DT_BRANCH_CAP_DEFAULT;
    self->hall_cap = DT_HALL_CAP_DEFAULT;
    snprintf (self->timezone, sizeof (self->timezone), "Asia/Shanghai");
    self->article_per_day = 1;
    const char *topics [] = { "酱酒", "侠义", "互联网" };
    for (size_t i = 0; i < 3; i++)
        snprintf (self->article_topics [i], POLICY_TOPIC_MAX + 1, "%s", topics [i]);
    self->narticle_topics = 3;
    self->story_per_week = 1;
    self->video_per_week = 1;
    self->video_short_max_s = 180;
    self->gathering_per_month = 1;
    self->gathering_min_attendees = 3;
    self->question_deadline_h = 24;
    self->promo_per_day_max = 1;
    self->promo_share_max_pct = 30;
    self->dormant_days = 7;
    self->dead_days = 30;
    self->dead_active_ratio_pct = 10;
    self->content_roles = S_ROLE_BIT (ROLE_LEADER) | S_ROLE_BIT (ROLE_ADMIN)
                        | S_ROLE_BIT (ROLE_LECTURER) | S_ROLE_BIT (ROLE_KOL);
    self->promo_roles = S_ROLE_BIT (ROLE_LEADER) | S_ROLE_BIT (ROLE_ADMIN);
}

bool
policy_role_in (uint32_t roles, role_t role)
{
    return (unsigned) role <= ROLE_LEADER && (roles & S_ROLE_BIT (role));
}

policy_field_type_t
policy_field_type (const char *name)
{
    const s_field_t *field = s_field_find (name, strlen (name));
    if (!field)
        return POLICY_FIELD_NONE;
    return field->kind == S_ZONE? POLICY_FIELD_STR:
           field->kind == S_TOPICS || field->kind == S_ROLES? POLICY_FIELD_LIST:
           POLICY_FIELD_UINT;
}

//  Checking one field

static int
s_set_uint (policy_t *self, const s_field_t *field, const msgpack_object *value,
            dt_err_t *err)
{
    if (value->type != MSGPACK_OBJECT_POSITIVE_INTEGER
    ||  value->via.u64 < field->min || value->via.u64 > field->max)
        return dt_err_set (err, "BAD_ARGS", "policy field \"%s\" must be a number %" PRIu32
                           "..%" PRIu32 "%s", field->name, field->min, field->max,
                           field->unit);
    *s_uint_at (self, field) = (uint32_t) value->via.u64;
    return 0;
}

/* An IANA zone name as the tz database spells them: "Asia/Shanghai", "UTC",
   "Etc/GMT-8" (whether it exists is dt_time_zone_valid's to say). */
static bool
s_zone_name (const char *zone)
{
    size_t len = strlen (zone);
    if (len == 0 || len > POLICY_ZONE_MAX || !isalpha ((unsigned char) zone [0]))
        return false;
    return strspn (zone, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789/_+-") == len;
}

/* A zone set by policy.set must be in this tz database. One in a stored
   record need only be a name: a node whose tzdata lacks a zone the hub's has
   still holds the policy (and judges that zone as UTC, dt_time.h). */
static int
s_set_zone (policy_t *self, const s_field_t *field, const msgpack_object *value,
            bool stored, dt_err_t *err)
{
    char zone [POLICY_ZONE_MAX + 1] = "";
    if (!proto_obj_str (value, zone, POLICY_ZONE_MAX) || !s_zone_name (zone))
        return dt_err_set (err, "BAD_ARGS", "policy field \"%s\" must be a time zone name "
                           "like Asia/Shanghai: 1..%d of [A-Za-z0-9/_+-]", field->name,
                           POLICY_ZONE_MAX);
    if (!stored && !dt_time_zone_valid (zone))
        return dt_err_set (err, "BAD_ARGS", "unknown time zone \"%s\" (not in the tz "
                           "database)", zone);
    memcpy (self->timezone, zone, sizeof (zone));
    return 0;
}

/* Element i of a list as a string of 1..max bytes, else BAD_ARGS. */
static int
s_list_str (const s_field_t *field, const msgpack_object *list, uint32_t i, char *out,
            size_t max, const char *what, dt_err_t *err)
{
    const msgpack_object *item = &list->via.array.ptr [i];
    if (!proto_obj_str (item, out, max) || !dt_name_valid (out, strlen (out), max))
        return dt_err_set (err, "BAD_ARGS", "policy field \"%s\" element %u must be %s",
                           field->name, i, what);
    return 0;
}

static int
s_set_topics (policy_t *self, const s_field_t *field, const msgpack_object *value,
              dt_err_t *err)
{
    if (value->type != MSGPACK_OBJECT_ARRAY || value->via.array.size > POLICY_TOPICS_MAX)
        return dt_err_set (err, "BAD_ARGS", "policy field \"%s\" must be a list of at most "
                           "%d topics", field->name, POLICY_TOPICS_MAX);
    char topics [POLICY_TOPICS_MAX][POLICY_TOPIC_MAX + 1] = { "" };
    uint32_t count = value->via.array.size;
    for (uint32_t i = 0; i < count; i++) {
        if (s_list_str (field, value, i, topics [i], POLICY_TOPIC_MAX,
                        "a topic name of 1..64 bytes", err))
            return -1;
        for (uint32_t j = 0; j < i; j++)
            if (streq (topics [j], topics [i]))
                return dt_err_set (err, "BAD_ARGS", "policy field \"%s\" lists %s twice",
                                   field->name, topics [i]);
    }
    memcpy (self->article_topics, topics, sizeof (topics));
    self->narticle_topics = count;
    return 0;
}

static int
s_set_roles (policy_t *self, const s_field_t *field, const msgpack_object *value,
             dt_err_t *err)
{
    if (value->type != MSGPACK_OBJECT_ARRAY)
        return dt_err_set (err, "BAD_ARGS", "policy field \"%s\" must be a list of roles "
                           "(%s)", field->name, S_ROLE_NAMES);
    uint32_t roles = 0;
    for (uint32_t i = 0; i < value->via.array.size; i++) {
        char name [16];
        role_t role;
        if (s_list_str (field, value, i, name, sizeof (name) - 1, "a role name", err))
            return -1;
        if (record_role_parse (name, &role))
            return dt_err_set (err, "BAD_ARGS", "policy field \"%s\": %s is not a role (%s)",
                               field->name, name, S_ROLE_NAMES);
        if (roles & S_ROLE_BIT (role))
            return dt_err_set (err, "BAD_ARGS", "policy field \"%s\" lists %s twice",
                               field->name, name);
        roles |= S_ROLE_BIT (role);
    }
    *s_uint_at (self, field) = roles;
    return 0;
}

/* Check and apply one field; stored = read from a record rather than set. */
static int
s_field_set (policy_t *self, const s_field_t *field, const msgpack_object *value,
             bool stored, dt_err_t *err)
{
    switch (field->kind) {
        case S_ZONE:   return s_set_zone (self, field, value, stored, err);
        case S_TOPICS: return s_set_topics (self, field, value, err);
        case S_ROLES:  return s_set_roles (self, field, value, err);
        default:       return s_set_uint (self, field, value, err);
    }
}

/* Rules between fields, checked on the whole result. */
static int
s_coherent (const policy_t *self, dt_err_t *err)
{
    if (self->dormant_days > self->dead_days)
        return dt_err_set (err, "BAD_ARGS", "dormant_days %u is more than dead_days %u: a "
                           "group turns dormant before it is dead", self->dormant_days,
                           self->dead_days);
    return 0;
}

int
policy_set (policy_t *self, const msgpack_object *changes, dt_err_t *err)
{
    if (!changes || changes->type != MSGPACK_OBJECT_MAP)
        return dt_err_set (err, "BAD_ARGS", "argument \"changes\" must be a map of policy "
                           "fields");
    if (changes->via.map.size == 0)
        return dt_err_set (err, "BAD_ARGS", "argument \"changes\" is empty: give at least "
                           "one policy field");
    policy_t updated = *self;
    bool given [S_NFIELDS] = { false };
    for (uint32_t i = 0; i < changes->via.map.size; i++) {
        const msgpack_object *key = &changes->via.map.ptr [i].key;
        if (key->type != MSGPACK_OBJECT_STR)
            return dt_err_set (err, "BAD_ARGS", "policy changes are keyed by field name");
        const char *name = key->via.str.ptr;
        int len = key->via.str.size > 40? 40: (int) key->via.str.size;
        const s_field_t *field = s_field_find (name, key->via.str.size);
        if (!field && key->via.str.size == 7 && memcmp (name, "version", 7) == 0)
            return dt_err_set (err, "BAD_ARGS", "policy field \"version\" is kept by the "
                               "hub and cannot be set");
        if (!field)
            return dt_err_set (err, "BAD_ARGS", "unknown policy field \"%.*s\"", len, name);
        if (given [field - s_fields])
            return dt_err_set (err, "BAD_ARGS", "policy field \"%s\" given twice",
                               field->name);
        given [field - s_fields] = true;
        if (s_field_set (&updated, field, &changes->via.map.ptr [i].val, false, err))
            return -1;
    }
    if (s_coherent (&updated, err))
        return -1;
    *self = updated;
    return 0;
}

//  Packing and storage

static void
s_pack_roles (msgpack_packer *pk, uint32_t roles)
{
    uint32_t count = 0;
    for (int role = ROLE_LEADER; role >= ROLE_MEMBER; role--)
        count += policy_role_in (roles, (role_t) role);
    msgpack_pack_array (pk, count);
    //  Highest first, as people list them: leader, admin, lecturer, kol
    for (int role = ROLE_LEADER; role >= ROLE_MEMBER; role--)
        if (policy_role_in (roles, (role_t) role))
            proto_pack_str (pk, record_role_name ((role_t) role));
}

static void
s_pack_field (const policy_t *self, const s_field_t *field, msgpack_packer *pk)
{
    proto_pack_key (pk, field->name);
    if (field->kind == S_ZONE)
        proto_pack_str (pk, self->timezone);
    else
    if (field->kind == S_TOPICS) {
        msgpack_pack_array (pk, self->narticle_topics);
        for (uint32_t i = 0; i < self->narticle_topics; i++)
            proto_pack_str (pk, self->article_topics [i]);
    }
    else
    if (field->kind == S_ROLES)
        s_pack_roles (pk, s_uint_of (self, field));
    else
        msgpack_pack_uint32 (pk, s_uint_of (self, field));
}

void
policy_pack (const policy_t *self, msgpack_packer *pk)
{
    msgpack_pack_map (pk, 1 + S_NFIELDS);
    proto_pack_key (pk, "version");
    msgpack_pack_uint64 (pk, self->version);
    for (size_t i = 0; i < S_NFIELDS; i++)
        s_pack_field (self, &s_fields [i], pk);
}

void
policy_encode (const policy_t *self, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    policy_pack (self, &pk);
}

/* Every known field of a decoded map, checked as policy_set checks it. */
static int
s_decode_map (policy_t *self, const msgpack_object *map)
{
    dt_err_t err;
    dt_err_init (&err);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr [i].key;
        const msgpack_object *value = &map->via.map.ptr [i].val;
        if (key->type != MSGPACK_OBJECT_STR)
            return -1;
        if (key->via.str.size == 7 && memcmp (key->via.str.ptr, "version", 7) == 0) {
            if (value->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                return -1;
            self->version = value->via.u64;
            continue;
        }
        const s_field_t *field = s_field_find (key->via.str.ptr, key->via.str.size);
        if (field && s_field_set (self, field, value, true, &err))
            return -1;
    }
    return s_coherent (self, &err);
}

int
policy_decode (policy_t *self, const void *data, size_t size)
{
    policy_defaults (self);
    dt_err_t err;
    dt_err_init (&err);
    if (proto_check (data, size, &err))
        return -1;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    int rc = msgpack_unpack_next (&unpacked, data, size, NULL) == MSGPACK_UNPACK_SUCCESS
          && unpacked.data.type == MSGPACK_OBJECT_MAP? s_decode_map (self, &unpacked.data): -1;
    msgpack_unpacked_destroy (&unpacked);
    if (rc)
        policy_defaults (self);
    return rc;
}

int
policy_get (store_txn_t *txn, policy_t *out, dt_err_t *err)
{
    const void *val = NULL;
    size_t size = 0;
    int rc = store_get (txn, TBL_POLICY, POLICY_KEY, strlen (POLICY_KEY), &val, &size, err);
    if (rc == 1) {
        policy_defaults (out);
        return 0;
    }
    if (rc == -1) {
        policy_defaults (out);
        return -1;
    }
    if (policy_decode (out, val, size))
        return dt_err_set (err, "INTERNAL", "stored policy is damaged");
    return 0;
}

int
policy_put (store_txn_t *txn, const policy_t *self, dt_err_t *err)
{
    //  Every node holds the policy, whatever branches it serves (repl.c)
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    policy_encode (self, &buf);
    int rc = repl_record_put (txn, TBL_POLICY, POLICY_KEY, buf.data, buf.size, err);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

//  Self-test

/* True if both policies encode to the same bytes. */
static bool
s_test_same (const policy_t *a, const policy_t *b)
{
    msgpack_sbuffer one, two;
    msgpack_sbuffer_init (&one);
    msgpack_sbuffer_init (&two);
    policy_encode (a, &one);
    policy_encode (b, &two);
    bool same = one.size == two.size && memcmp (one.data, two.data, one.size) == 0;
    msgpack_sbuffer_destroy (&one);
    msgpack_sbuffer_destroy (&two);
    return same;
}

/* Apply the changes map packed in changes; expect code (NULL = success) and
   a message containing `message`. */
static void
s_test_set (policy_t *policy, const msgpack_sbuffer *changes, const char *code,
            const char *message)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, changes->data, changes->size, NULL)
            == MSGPACK_UNPACK_SUCCESS);
    dt_err_t err;
    dt_err_init (&err);
    policy_t before = *policy;
    int rc = policy_set (policy, &unpacked.data, &err);
    bool as_expected = code? rc == -1 && streq (err.code, code)
                          && (!message || strstr (err.message, message)): rc == 0;
    if (!as_expected)
        fprintf (stderr, "\npolicy_set: expected %s (%s), got %s: %s\n", code? code: "success",
                 message? message: "", rc? err.code: "success", err.message);
    assert (as_expected);
    //  All or nothing: a refusal leaves the policy as it was
    if (rc)
        assert (s_test_same (&before, policy));
    msgpack_unpacked_destroy (&unpacked);
}

typedef struct {
    msgpack_sbuffer buf;
    msgpack_packer pk;
} s_changes_t;

static msgpack_packer *
s_changes (s_changes_t *self, uint32_t count)
{
    msgpack_sbuffer_clear (&self->buf);
    msgpack_pack_map (&self->pk, count);
    return &self->pk;
}

static void
s_pack_strs (msgpack_packer *pk, const char *key, const char **values, uint32_t count)
{
    proto_pack_key (pk, key);
    msgpack_pack_array (pk, count);
    for (uint32_t i = 0; i < count; i++)
        proto_pack_str (pk, values [i]);
}

static void
s_pack_uint (msgpack_packer *pk, const char *key, uint64_t value)
{
    proto_pack_key (pk, key);
    msgpack_pack_uint64 (pk, value);
}

/* One change map of a single uint field, expected to fail. */
static void
s_test_bad_uint (policy_t *policy, s_changes_t *changes, const char *key, uint64_t value)
{
    s_pack_uint (s_changes (changes, 1), key, value);
    s_test_set (policy, &changes->buf, "BAD_ARGS", key);
}

static void
s_test_refusals (policy_t *policy, s_changes_t *changes)
{
    //  Every number out of its range, by kind
    s_test_bad_uint (policy, changes, "branch_cap", 0);
    s_test_bad_uint (policy, changes, "hall_cap", DT_CAP_MAX + 1);
    s_test_bad_uint (policy, changes, "promo_share_max_pct", 101);
    s_test_bad_uint (policy, changes, "dead_active_ratio_pct", 1000);
    s_test_bad_uint (policy, changes, "article_per_day", POLICY_COUNT_MAX + 1);
    s_test_bad_uint (policy, changes, "dead_days", 5000);
    msgpack_packer *pk = s_changes (changes, 1);
    proto_pack_key (pk, "hall_cap");
    msgpack_pack_int64 (pk, -3);
    s_test_set (policy, &changes->buf, "BAD_ARGS", "must be a number 1..100000");
    pk = s_changes (changes, 1);
    proto_pack_key (pk, "story_per_week");
    proto_pack_str (pk, "2");
    s_test_set (policy, &changes->buf, "BAD_ARGS", "story_per_week");
    s_test_bad_uint (policy, changes, "video_short_max_s", 0);
    s_test_bad_uint (policy, changes, "video_short_max_s", 86401);
    s_test_bad_uint (policy, changes, "gathering_min_attendees", 0);
    s_test_bad_uint (policy, changes, "gathering_min_attendees", POLICY_COUNT_MAX + 1);
    s_test_bad_uint (policy, changes, "question_deadline_h", 0);
    s_pack_uint (s_changes (changes, 1), "question_deadline_h", 8761);
    s_test_set (policy, &changes->buf, "BAD_ARGS",
                "\"question_deadline_h\" must be a number 1..8760 (hours)");

    //  Time zones: short names of the tz database's characters
    const char *zones [] = { "", "Asia/Shang hai", "/etc/passwd", "../etc/passwd",
        "Zone/That/Is/Far/Too/Long/For/Any/Time/Zone/Database/To/Hold/Really" };
    for (size_t i = 0; i < sizeof (zones) / sizeof (zones [0]); i++) {
        pk = s_changes (changes, 1);
        proto_pack_key (pk, "timezone");
        proto_pack_str (pk, zones [i]);
        s_test_set (policy, &changes->buf, "BAD_ARGS", "time zone");
    }
    pk = s_changes (changes, 1);
    s_pack_uint (pk, "timezone", 8);
    s_test_set (policy, &changes->buf, "BAD_ARGS", "time zone");
    //  ... that the tz database holds
    const char *unknown [] = { "Mars/Olympus", "Asia/Beijing", "Asia", "posixrules",
                               "right/UTC" };
    for (size_t i = 0; i < sizeof (unknown) / sizeof (unknown [0]); i++) {
        char message [100];
        snprintf (message, sizeof (message), "unknown time zone \"%s\" (not in the tz "
                  "database)", unknown [i]);
        pk = s_changes (changes, 1);
        proto_pack_key (pk, "timezone");
        proto_pack_str (pk, unknown [i]);
        s_test_set (policy, &changes->buf, "BAD_ARGS", message);
    }

    //  Topics: at most 16 names, each 1..64 bytes, no repeats
    const char *many [17];
    char names [17][16];
    for (int i = 0; i < 17; i++) {
        snprintf (names [i], sizeof (names [i]), "t%d", i);
        many [i] = names [i];
    }
    s_pack_strs (s_changes (changes, 1), "article_topics", many, 17);
    s_test_set (policy, &changes->buf, "BAD_ARGS", "at most 16 topics");
    const char *empty [] = { "酱酒", "" }, *twice [] = { "酱酒", "酱酒" };
    s_pack_strs (s_changes (changes, 1), "article_topics", empty, 2);
    s_test_set (policy, &changes->buf, "BAD_ARGS", "element 1");
    s_pack_strs (s_changes (changes, 1), "article_topics", twice, 2);
    s_test_set (policy, &changes->buf, "BAD_ARGS", "lists 酱酒 twice");
    pk = s_changes (changes, 1);
    proto_pack_key (pk, "article_topics");
    proto_pack_str (pk, "酱酒");
    s_test_set (policy, &changes->buf, "BAD_ARGS", "list of at most 16");

    //  Roles: names of record_role_name, no repeats
    const char *boss [] = { "leader", "boss" }, *admins [] = { "admin", "admin" };
    s_pack_strs (s_changes (changes, 1), "content_roles", boss, 2);
    s_test_set (policy, &changes->buf, "BAD_ARGS", "boss is not a role");
    s_pack_strs (s_changes (changes, 1), "promo_roles", admins, 2);
    s_test_set (policy, &changes->buf, "BAD_ARGS", "lists admin twice");
    pk = s_changes (changes, 1);
    proto_pack_key (pk, "promo_roles");
    proto_pack_str (pk, "admin");
    s_test_set (policy, &changes->buf, "BAD_ARGS", "list of roles");

    //  Unknown, reserved and repeated fields; empty or non-map changes
    s_pack_uint (s_changes (changes, 1), "hall_capp", 3);
    s_test_set (policy, &changes->buf, "BAD_ARGS", "unknown policy field \"hall_capp\"");
    s_pack_uint (s_changes (changes, 1), "version", 9);
    s_test_set (policy, &changes->buf, "BAD_ARGS", "kept by the hub");
    pk = s_changes (changes, 2);
    s_pack_uint (pk, "hall_cap", 5);
    s_pack_uint (pk, "hall_cap", 6);
    s_test_set (policy, &changes->buf, "BAD_ARGS", "\"hall_cap\" given twice");
    s_changes (changes, 0);
    s_test_set (policy, &changes->buf, "BAD_ARGS", "is empty");
    msgpack_sbuffer_clear (&changes->buf);
    msgpack_pack_array (&changes->pk, 0);
    s_test_set (policy, &changes->buf, "BAD_ARGS", "must be a map");
    pk = s_changes (changes, 1);
    msgpack_pack_uint32 (pk, 1);
    msgpack_pack_uint32 (pk, 1);
    s_test_set (policy, &changes->buf, "BAD_ARGS", "keyed by field name");
    //  Between fields: dormant before dead
    s_pack_uint (s_changes (changes, 1), "dormant_days", 31);
    s_test_set (policy, &changes->buf, "BAD_ARGS", "dormant_days 31 is more than dead_days 30");

    //  All or nothing: a good field before a bad one is not applied
    pk = s_changes (changes, 2);
    s_pack_uint (pk, "hall_cap", 12);
    s_pack_uint (pk, "branch_cap", 0);
    s_test_set (policy, &changes->buf, "BAD_ARGS", "branch_cap");
    assert (policy->hall_cap == DT_HALL_CAP_DEFAULT);
}

static void
s_test_defaults (void)
{
    policy_t policy;
    policy_defaults (&policy);
    assert (policy.version == 0 && policy.branch_cap == 200 && policy.hall_cap == 30);
    assert (streq (policy.timezone, "Asia/Shanghai"));
    assert (policy.article_per_day == 1 && policy.narticle_topics == 3);
    assert (streq (policy.article_topics [0], "酱酒"));
    assert (streq (policy.article_topics [2], "互联网"));
    assert (policy.story_per_week == 1 && policy.video_per_week == 1);
    assert (policy.gathering_per_month == 1 && policy.promo_per_day_max == 1);
    assert (policy.promo_share_max_pct == 30 && policy.dormant_days == 7);
    assert (policy.dead_days == 30 && policy.dead_active_ratio_pct == 10);
    assert (policy.video_short_max_s == 180 && policy.gathering_min_attendees == 3);
    assert (policy.question_deadline_h == 24);
    assert (policy_role_in (policy.content_roles, ROLE_KOL));
    assert (policy_role_in (policy.content_roles, ROLE_LECTURER));
    assert (!policy_role_in (policy.content_roles, ROLE_MEMBER));
    assert (policy_role_in (policy.promo_roles, ROLE_ADMIN));
    assert (!policy_role_in (policy.promo_roles, ROLE_KOL));
    assert (policy_field_type ("hall_cap") == POLICY_FIELD_UINT);
    assert (policy_field_type ("timezone") == POLICY_FIELD_STR);
    assert (policy_field_type ("promo_roles") == POLICY_FIELD_LIST);
    assert (policy_field_type ("article_topics") == POLICY_FIELD_LIST);
    assert (policy_field_type ("version") == POLICY_FIELD_NONE);

    //  The public shape: roles by name, highest first
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    policy_encode (&policy, &buf);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, buf.data, buf.size, NULL)
            == MSGPACK_UNPACK_SUCCESS);
    assert (unpacked.data.via.map.size == 19);
    assert (proto_map_get (&unpacked.data, "video_short_max_s")->via.u64 == 180);
    assert (proto_map_get (&unpacked.data, "gathering_min_attendees")->via.u64 == 3);
    assert (proto_map_get (&unpacked.data, "question_deadline_h")->via.u64 == 24);
    const msgpack_object *roles = proto_map_get (&unpacked.data, "content_roles");
    assert (roles && roles->type == MSGPACK_OBJECT_ARRAY && roles->via.array.size == 4);
    const char *expected [] = { "leader", "admin", "lecturer", "kol" };
    for (int i = 0; i < 4; i++) {
        char name [16];
        assert (proto_obj_str (&roles->via.array.ptr [i], name, 15));
        assert (streq (name, expected [i]));
    }
    assert (proto_map_get (&unpacked.data, "hall_cap")->via.u64 == 30);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&buf);
}

static void
s_test_round_trip (policy_t *policy, s_changes_t *changes)
{
    msgpack_packer *pk = s_changes (changes, 9);
    s_pack_uint (pk, "hall_cap", 2);
    s_pack_uint (pk, "video_short_max_s", 86400);
    s_pack_uint (pk, "gathering_min_attendees", 1);
    s_pack_uint (pk, "question_deadline_h", 8760);
    s_pack_uint (pk, "promo_share_max_pct", 0);
    proto_pack_key (pk, "timezone");
    proto_pack_str (pk, "Etc/GMT-8");
    s_pack_strs (pk, "article_topics", (const char *[]) { "酱酒" }, 1);
    s_pack_strs (pk, "content_roles", (const char *[]) { "member", "leader" }, 2);
    s_pack_strs (pk, "promo_roles", NULL, 0);
    s_test_set (policy, &changes->buf, NULL, NULL);
    assert (policy->hall_cap == 2 && policy->promo_share_max_pct == 0);
    assert (policy->narticle_topics == 1 && streq (policy->timezone, "Etc/GMT-8"));
    assert (policy_role_in (policy->content_roles, ROLE_MEMBER));
    assert (!policy_role_in (policy->content_roles, ROLE_KOL));
    assert (policy->promo_roles == 0);
    assert (policy->video_short_max_s == 86400 && policy->gathering_min_attendees == 1);
    assert (policy->question_deadline_h == 8760);
    policy->version = 7;

    //  Encoded and decoded, the policy is the same
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    policy_encode (policy, &buf);
    policy_t copy;
    assert (policy_decode (&copy, buf.data, buf.size) == 0);
    assert (s_test_same (&copy, policy));
    msgpack_sbuffer_clear (&buf);

    //  A newer record: unknown keys are ignored, missing keys take defaults
    msgpack_packer rec;
    msgpack_packer_init (&rec, &buf, msgpack_sbuffer_write);
    msgpack_pack_map (&rec, 3);
    s_pack_uint (&rec, "version", 9);
    s_pack_uint (&rec, "hall_cap", 12);
    s_pack_uint (&rec, "quiet_hours", 3);
    assert (policy_decode (&copy, buf.data, buf.size) == 0);
    assert (copy.version == 9 && copy.hall_cap == 12 && copy.branch_cap == 200);
    assert (copy.narticle_topics == 3 && copy.dead_days == 30);
    assert (copy.video_short_max_s == 180 && copy.question_deadline_h == 24);
    //  A stored zone this tz database lacks is kept: the record is not damaged
    msgpack_sbuffer_clear (&buf);
    msgpack_pack_map (&rec, 1);
    proto_pack_key (&rec, "timezone");
    proto_pack_str (&rec, "Mars/Olympus");
    assert (policy_decode (&copy, buf.data, buf.size) == 0);
    assert (streq (copy.timezone, "Mars/Olympus"));
    //  A damaged one is refused, and leaves the defaults
    msgpack_sbuffer_clear (&buf);
    msgpack_pack_map (&rec, 1);
    s_pack_uint (&rec, "hall_cap", 0);
    assert (policy_decode (&copy, buf.data, buf.size) == -1 && copy.hall_cap == 30);
    assert (policy_decode (&copy, "\x81", 1) == -1);
    assert (policy_decode (&copy, "\x90", 1) == -1);
    msgpack_sbuffer_destroy (&buf);
}

static void
s_test_store (void)
{
    store_t *store = scratch_new ("policy-test", 16);
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    txn.log = true;
    policy_t policy;
    policy.version = 99;
    assert (policy_get (&txn, &policy, &err) == 0 && policy.version == 0);
    policy.hall_cap = 5;
    policy.version = 1;
    assert (policy_put (&txn, &policy, &err) == 0);
    policy_t stored;
    assert (policy_get (&txn, &stored, &err) == 0);
    assert (stored.version == 1 && stored.hall_cap == 5);
    //  Logged for every node
    uint8_t seq [8];
    store_seq_key (store_log_head (&txn), seq);
    const void *val;
    size_t size;
    assert (store_get (&txn, TBL_LOG, seq, 8, &val, &size, &err) == 0);
    assert (memmem (val, size, "policy", 6) && memmem (val, size, "\x91\xa1*", 3));
    //  A damaged record reads as INTERNAL, with the defaults in hand
    assert (store_put (&txn, TBL_POLICY, POLICY_KEY, strlen (POLICY_KEY), "\x80\x01", 2,
                       &err) == 0);
    assert (policy_get (&txn, &stored, &err) == -1 && streq (err.code, "INTERNAL"));
    assert (stored.hall_cap == 30);
    store_abort (&txn);
    scratch_destroy (&store);
}

void
policy_test (bool verbose)
{
    (void) verbose;
    s_test_defaults ();
    s_changes_t changes;
    msgpack_sbuffer_init (&changes.buf);
    msgpack_packer_init (&changes.pk, &changes.buf, msgpack_sbuffer_write);
    policy_t policy;
    policy_defaults (&policy);
    s_test_refusals (&policy, &changes);
    s_test_round_trip (&policy, &changes);
    s_test_store ();
    msgpack_sbuffer_destroy (&changes.buf);
}
