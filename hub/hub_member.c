/* hub_member.c -- member writes: add, join, leave, transfer, promote, demote,
   role, and the all-or-nothing member import. Every FULL / LOCKED / RULE
   decision is the rules module's (rules.h). */
#include "dt_idmap.h"
#include "hub_ops.h"
#include "rules.h"
#include "args.h"
#include "check.h"
#include "scratch.h"
#include "query.h"

//  Shared pieces

static int
s_pack (op_ctx_t *ctx, const member_t *member)
{
    record_member_pack (member, ctx->pk);
    return 0;
}

/* 1 if a member id is taken, 0 if free, -1 on a store error. */
static int
s_member_taken (store_txn_t *txn, const char *id, dt_err_t *err)
{
    member_t member;
    int rc = tree_member_get (txn, id, &member, err);
    return rc == -1? -1: rc == 0;
}

/* Read "id" and load that member. */
static int
s_member_load (op_ctx_t *ctx, const msgpack_object *args, member_t *member)
{
    dt_id_t id;
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0)
        return -1;
    return tree_member_need (ctx->txn, id, member, ctx->err);
}

/* The seat a request names with exactly one of "hall" and "branch". */
typedef struct {
    seat_kind_t kind;
    dt_id_t group;
    dt_id_t branch;
} s_target_t;

/* Read the target seat and check that the key covers its branch. */
static int
s_target_read (op_ctx_t *ctx, const msgpack_object *args, s_target_t *target)
{
    dt_id_t hall, branch;
    int has_hall = proto_arg_id (args, "hall", false, hall, ctx->err);
    if (has_hall < 0)
        return -1;
    int has_branch = proto_arg_id (args, "branch", false, branch, ctx->err);
    if (has_branch < 0)
        return -1;
    if (has_hall == has_branch)
        return dt_err_set (ctx->err, "BAD_ARGS", "give exactly one of \"hall\" and \"branch\"");
    if (has_hall) {
        hall_t record;
        if (tree_hall_need (ctx->txn, hall, &record, ctx->err))
            return -1;
        target->kind = SEAT_HALL;
        strcpy (target->group, hall);
        strcpy (target->branch, record.branch);
    }
    else {
        branch_t record;
        if (tree_branch_need (ctx->txn, branch, &record, ctx->err))
            return -1;
        target->kind = SEAT_CORE;
        strcpy (target->group, branch);
        strcpy (target->branch, branch);
    }
    return op_allow (ctx, target->branch);
}

/* Tags are a map of 1..32-byte keys to 0..128-byte values, both UTF-8 without
   control characters (like names), at most DT_TAGS_MAX, no key twice. */
static int
s_tags_read (const msgpack_object *args, member_t *member, dt_err_t *err)
{
    const msgpack_object *tags = proto_map_get (args, "tags");
    if (!tags || tags->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (tags->type != MSGPACK_OBJECT_MAP)
        return dt_err_set (err, "BAD_ARGS", "argument \"tags\" must be a map of strings");
    if (tags->via.map.size > DT_TAGS_MAX)
        return dt_err_set (err, "TOO_LARGE", "a member carries at most %d tags, got %u",
                           DT_TAGS_MAX, tags->via.map.size);
    for (uint32_t i = 0; i < tags->via.map.size; i++) {
        const msgpack_object *key = &tags->via.map.ptr [i].key;
        const msgpack_object *value = &tags->via.map.ptr [i].val;
        tag_t *tag = &member->tags [i];
        if (key->type != MSGPACK_OBJECT_STR || value->type != MSGPACK_OBJECT_STR)
            return dt_err_set (err, "BAD_ARGS", "argument \"tags\" must map strings to strings");
        if (!proto_obj_str (key, tag->key, DT_TAG_KEY_MAX))
            return dt_err_set (err, "TOO_LARGE", "tag keys are at most %d bytes", DT_TAG_KEY_MAX);
        if (!dt_name_valid (tag->key, key->via.str.size, DT_TAG_KEY_MAX))
            return dt_err_set (err, "BAD_ARGS", "tag keys must be 1-%d bytes of UTF-8 "
                               "without control characters", DT_TAG_KEY_MAX);
        if (!proto_obj_str (value, tag->value, DT_TAG_VAL_MAX))
            return dt_err_set (err, "TOO_LARGE", "tag %s is longer than %d bytes",
                               tag->key, DT_TAG_VAL_MAX);
        if (value->via.str.size
        &&  !dt_name_valid (tag->value, value->via.str.size, DT_TAG_VAL_MAX))
            return dt_err_set (err, "BAD_ARGS", "tag %s must be UTF-8 without control "
                               "characters", tag->key);
        for (uint32_t j = 0; j < i; j++)
            if (streq (member->tags [j].key, tag->key))
                return dt_err_set (err, "BAD_ARGS", "tag %s is given twice", tag->key);
    }
    member->ntags = tags->via.map.size;
    return 0;
}

//  Operations

/* MEMBER ADD id name [referrer] [tags]: an unplaced member belongs to no
   branch yet, so any key may add one. */
static int
s_member_add (op_ctx_t *ctx, const msgpack_object *args)
{
    member_t member = { .seat = SEAT_NONE, .role = ROLE_MEMBER, .created = ctx->now };
    if (proto_arg_id (args, "id", true, member.id, ctx->err) < 0
    ||  proto_arg_name (args, "name", true, member.name, ctx->err) < 0
    ||  proto_arg_id (args, "referrer", false, member.referrer, ctx->err) < 0
    ||  s_tags_read (args, &member, ctx->err))
        return -1;
    int taken = s_member_taken (ctx->txn, member.id, ctx->err);
    if (taken)
        return taken == -1? -1: dt_err_set (ctx->err, "EXISTS", "member %s already exists",
                                            member.id);
    if (*member.referrer) {
        taken = s_member_taken (ctx->txn, member.referrer, ctx->err);
        if (taken != 1)
            return taken == -1? -1: dt_err_set (ctx->err, "NOT_FOUND",
                                                "referrer %s is not a member", member.referrer);
    }
    if (tree_member_put (ctx->txn, &member, ctx->err))
        return -1;
    return s_pack (ctx, &member);
}

/* MEMBER JOIN id hall|branch: the customer lock allows a first seat only. */
static int
s_member_join (op_ctx_t *ctx, const msgpack_object *args)
{
    member_t member;
    s_target_t target;
    if (s_member_load (ctx, args, &member)
    ||  s_target_read (ctx, args, &target)
    ||  rules_unlocked (&member, ctx->err)
    ||  rules_seat (ctx->txn, &member, target.kind, target.group, ctx->err))
        return -1;
    return s_pack (ctx, &member);
}

/* MEMBER LEAVE id */
static int
s_member_leave (op_ctx_t *ctx, const msgpack_object *args)
{
    member_t member;
    if (s_member_load (ctx, args, &member)
    ||  rules_seated (&member, "", ctx->err)
    ||  op_allow (ctx, member.branch)
    ||  rules_not_leading (ctx->txn, &member, "leave", ctx->err)
    ||  rules_seat (ctx->txn, &member, SEAT_NONE, "", ctx->err))
        return -1;
    return s_pack (ctx, &member);
}

/* MEMBER TRANSFER id hall|branch: the one move of a seated member. A hall
   leader must keep the core seat of the hall's branch, so may not move. */
static int
s_member_transfer (op_ctx_t *ctx, const msgpack_object *args)
{
    member_t member;
    s_target_t target;
    if (s_member_load (ctx, args, &member)
    ||  rules_seated (&member, ": use member.join", ctx->err)
    ||  op_allow (ctx, member.branch)
    ||  s_target_read (ctx, args, &target)
    ||  rules_moves (&member, target.kind, target.group, ctx->err))
        return -1;
    char doing [DT_ID_MAX + 48];
    if (streq (member.branch, target.branch))
        snprintf (doing, sizeof (doing), "give up the core seat of branch %s", member.branch);
    else
        snprintf (doing, sizeof (doing), "transfer out of branch %s", member.branch);
    if (rules_not_leading (ctx->txn, &member, doing, ctx->err)
    ||  rules_seat (ctx->txn, &member, target.kind, target.group, ctx->err))
        return -1;
    return s_pack (ctx, &member);
}

/* MEMBER PROMOTE id: hall seat -> core seat of the hall's branch. */
static int
s_member_promote (op_ctx_t *ctx, const msgpack_object *args)
{
    member_t member;
    if (s_member_load (ctx, args, &member)
    ||  rules_holds (&member, SEAT_HALL, "promote", ctx->err))
        return -1;
    dt_id_t branch;
    strcpy (branch, member.branch);
    if (op_allow (ctx, branch)
    ||  rules_seat (ctx->txn, &member, SEAT_CORE, branch, ctx->err))
        return -1;
    return s_pack (ctx, &member);
}

/* MEMBER DEMOTE id hall: core seat -> a hall of the same branch. */
static int
s_member_demote (op_ctx_t *ctx, const msgpack_object *args)
{
    member_t member;
    hall_t hall;
    dt_id_t hall_id;
    if (s_member_load (ctx, args, &member)
    ||  proto_arg_id (args, "hall", true, hall_id, ctx->err) < 0
    ||  rules_holds (&member, SEAT_CORE, "demote", ctx->err)
    ||  op_allow (ctx, member.branch)
    ||  tree_hall_need (ctx->txn, hall_id, &hall, ctx->err)
    ||  rules_demotes_to (&member, &hall, ctx->err)
    ||  rules_not_leading (ctx->txn, &member, "be demoted", ctx->err)
    ||  rules_seat (ctx->txn, &member, SEAT_HALL, hall.id, ctx->err))
        return -1;
    return s_pack (ctx, &member);
}

/* MEMBER ROLE id role: "leader" belongs to hall.handover, and a hall leader
   keeps it while leading. */
static int
s_member_role (op_ctx_t *ctx, const msgpack_object *args)
{
    char name [DT_ID_MAX + 1];
    role_t role;
    member_t member;
    if (proto_arg_str (args, "role", true, name, DT_ID_MAX, ctx->err) < 0
    ||  (record_role_parse (name, &role) && dt_err_set (ctx->err, "BAD_ARGS",
         "argument \"role\" must be one of admin, lecturer, kol, member")))
        return -1;
    if (rules_role_given (role, ctx->err)
    ||  s_member_load (ctx, args, &member)
    ||  (member.seat != SEAT_NONE && op_allow (ctx, member.branch)))
        return -1;
    char doing [DT_ID_MAX + 16];
    snprintf (doing, sizeof (doing), "change role to %s", name);
    if (rules_not_leading (ctx->txn, &member, doing, ctx->err))
        return -1;
    if (member.role != role) {
        member.role = role;
        if (tree_member_put (ctx->txn, &member, ctx->err))
            return -1;
    }
    return s_pack (ctx, &member);
}

//  Import: every row is checked against the store and the rows before it,
//  then either all are written or none (PROTOCOL.md 6.6). A row whose id
//  is stored is an update when the request says "update", else a bad row;
//  a dry run judges every row and writes nothing.

typedef struct {
    uint32_t line;              /* 0 when the row carries none */
    dt_id_t id;
    dt_name_t name;
    dt_id_t referrer;           /* "" = none (an update: as stored) */
    dt_id_t group;              /* hall or branch; "" = unplaced (an update: as stored) */
    const msgpack_object *tags; /* NULL when not given */
    bool has_role;
    role_t role;
} s_row_t;

/* A group rows seat members in, with the seats earlier rows take or give
   up: the store is read once per group, not once per row. */
typedef struct {
    seat_kind_t kind;
    dt_id_t branch;
    uint32_t seats;             /* as stored */
    uint32_t cap;
    int64_t moved;              /* seats taken by earlier rows, minus those left */
    tree_bulk_group_t *bulk;    /* the bulk's record of it */
} s_group_t;

/* A row whose referrer is neither stored nor in the rows before it: it is
   judged once the whole file has been read (an export lists members by
   branch, so a referrer may come on a later line). What the row counts
   for is counted then. */
typedef struct {
    uint32_t line;
    dt_id_t referrer;
    uint8_t counts;             /* S_COUNT_* */
} s_waiting_t;

#define S_COUNT_IMPORTED  1
#define S_COUNT_SEATED    2
#define S_COUNT_UPDATED   4
#define S_COUNT_UNCHANGED 8

typedef struct {
    op_ctx_t *ctx;
    bool update;                /* a stored id updates that member */
    dt_idmap_t *ids;            /* every id the file brings -> its row number (1..) */
    uint32_t *lines;            /* row number - 1 -> line */
    uint8_t *repeats;           /* bit row number - 1: its id came on an earlier row */
    s_waiting_t *later;         /* rows whose referrer may come further on */
    size_t nlater, later_max;
    bool named;                 /* every id of the file is known before the judge */
    s_group_t **seats;          /* row number - 1 -> the group it is seated in */
    uint64_t lines_max;
    dt_idmap_t *group_ids;      /* group id -> its index in groups, + 1 */
    s_group_t **groups;         /* every group the rows name (owned) */
    size_t ngroups, groups_max;
    tree_bulk_t *bulk;
    member_t *member;           /* scratch records: a member_t is large */
    member_t *old;
    uint64_t rows;              /* rows of the file (the judge counts them) */
    uint64_t row;               /* the row a pass is on */
    uint64_t bad;               /* rows rejected */
    uint64_t imported;          /* new members */
    uint64_t seated;            /* new members with a seat */
    uint64_t updated;           /* stored members changed */
    uint64_t unchanged;         /* stored members a row leaves as they are */
} s_import_t;

/* An optional reference: an id or "". */
static int
s_row_ref (const msgpack_object *row, const char *key, char out [DT_ID_MAX + 1],
           dt_err_t *err)
{
    if (proto_arg_str (row, key, true, out, DT_ID_MAX, err) < 0)
        return -1;
    if (*out && !dt_id_valid (out, strlen (out)))
        return dt_err_set (err, "BAD_ARGS", "%s %s is not a valid id", key, out);
    return 0;
}

/* The keys a row may have (proto_args_check's spec is parsed per call, too
   slow for millions of rows). */
static int
s_row_keys (const msgpack_object *row, dt_err_t *err)
{
    static const char *keys [] = { "line", "id", "name", "referrer", "group", "tags", "role" };
    for (uint32_t i = 0; i < row->via.map.size; i++) {
        const msgpack_object *key = &row->via.map.ptr [i].key;
        size_t known = 0;
        while (known < 7 && !(key->type == MSGPACK_OBJECT_STR
                              && key->via.str.size == strlen (keys [known])
                              && memcmp (key->via.str.ptr, keys [known], key->via.str.size) == 0))
            known++;
        if (known == 7)
            return dt_err_set (err, "BAD_ARGS", "unknown key in row: a row has line, id, name, "
                               "referrer, group, tags?, role?");
    }
    return 0;
}

/* Parse one row; out->line is set first so a bad row can still be named. */
static int
s_row_read (const msgpack_object *row, uint32_t index, s_row_t *out, dt_err_t *err)
{
    uint64_t line = 0;
    out->line = 0;
    if (row->type != MSGPACK_OBJECT_MAP
    ||  proto_arg_uint (row, "line", true, &line, err) < 0 || line == 0 || line > UINT32_MAX)
        return dt_err_set (err, "BAD_ARGS", "row %u is not a map with a line number 1..%u",
                           index + 1, UINT32_MAX);
    out->line = (uint32_t) line;
    char role [DT_ID_MAX + 1];
    int has_role;
    if (s_row_keys (row, err)
    ||  proto_arg_id (row, "id", true, out->id, err) < 0
    ||  proto_arg_name (row, "name", true, out->name, err) < 0
    ||  s_row_ref (row, "referrer", out->referrer, err)
    ||  s_row_ref (row, "group", out->group, err)
    ||  (has_role = proto_arg_str (row, "role", false, role, DT_ID_MAX, err)) < 0)
        return -1;
    out->has_role = has_role == 1;
    if (out->has_role && record_role_parse (role, &out->role))
        return dt_err_set (err, "BAD_ARGS", "role %s is not one of admin, lecturer, kol, member",
                           role);
    out->tags = proto_map_get (row, "tags");
    return 0;
}

/* The group a row names, read from the store on first use; NULL with err
   set if it names no group (or, ambiguously, two). */
static s_group_t *
s_group_find (s_import_t *self, const char *id, dt_err_t *err)
{
    uint32_t known = dt_idmap_get (self->group_ids, id, strlen (id));
    if (known)
        return self->groups [known - 1];
    hall_t hall;
    branch_t branch;
    int is_hall = tree_hall_get (self->ctx->txn, id, &hall, err);
    int is_branch = is_hall == -1? -1: tree_branch_get (self->ctx->txn, id, &branch, err);
    if (is_branch == -1)
        return NULL;
    if (is_hall == 1 && is_branch == 1) {
        dt_err_set (err, "NOT_FOUND", "group %s is neither a hall nor a branch", id);
        return NULL;
    }
    if (is_hall == 0 && is_branch == 0) {
        dt_err_set (err, "BAD_ARGS", "group %s names both a hall and a branch", id);
        return NULL;
    }
    s_group_t found = { .kind = is_hall == 0? SEAT_HALL: SEAT_CORE };
    if (rules_count (self->ctx->txn, found.kind, id, &found.seats, &found.cap, err))
        return NULL;
    strcpy (found.branch, is_hall == 0? hall.branch: id);
    found.bulk = tree_bulk_group (self->ctx->txn, self->bulk, found.kind, id, err);
    if (!found.bulk)
        return NULL;
    if (self->ngroups == self->groups_max) {
        self->groups_max = self->groups_max? self->groups_max * 2: 1024;
        self->groups = (s_group_t **) realloc (self->groups,
                                               self->groups_max * sizeof (s_group_t *));
        assert (self->groups);
    }
    s_group_t *group = (s_group_t *) zmalloc (sizeof (s_group_t));
    *group = found;
    self->groups [self->ngroups++] = group;
    dt_idmap_add (self->group_ids, id, strlen (id), (uint32_t) self->ngroups);
    return group;
}

/* A seat for the row in its group, if the key may seat there and the
   group has room after the rows before it; the seat is then counted. */
static int
s_seat_take (s_import_t *self, const char *id, dt_err_t *err)
{
    s_group_t *group = s_group_find (self, id, err);
    if (!group)
        return -1;
    op_ctx_t scoped = *self->ctx;
    scoped.err = err;
    if (op_allow (&scoped, group->branch)
    ||  rules_seat_fits (group->kind, id, group->seats, group->cap, group->moved, err))
        return -1;
    group->moved++;
    self->seats [self->row - 1] = group;
    return 0;
}

/* 0 if a row's referrer is a member or came in the rows before it, 1 if
   it may come further on in the file. */
static int
s_referrer_known (s_import_t *self, const s_row_t *row, dt_err_t *err)
{
    if (streq (row->referrer, row->id))
        return dt_err_set (err, "BAD_ARGS", "member %s cannot be its own referrer", row->id);
    if (dt_idmap_get (self->ids, row->referrer, strlen (row->referrer)))
        return 0;
    int taken = s_member_taken (self->ctx->txn, row->referrer, err);
    if (taken == 0 && self->named)
        return dt_err_set (err, "NOT_FOUND", "referrer %s is neither a member nor in this file",
                           row->referrer);
    return taken == 1? 0: taken == -1? -1: 1;
}

/* Count what a judged row imports, updates or leaves as it is. */
static void
s_counts_add (s_import_t *self, uint8_t counts)
{
    self->imported += (counts & S_COUNT_IMPORTED) != 0;
    self->seated += (counts & S_COUNT_SEATED) != 0;
    self->updated += (counts & S_COUNT_UPDATED) != 0;
    self->unchanged += (counts & S_COUNT_UNCHANGED) != 0;
}

/* Count a judged row, or keep it for the end if its referrer is not known
   yet. */
static void
s_row_count (s_import_t *self, const s_row_t *row, bool referrer_later, uint8_t counts)
{
    if (!referrer_later) {
        s_counts_add (self, counts);
        return;
    }
    if (self->nlater == self->later_max) {
        self->later_max = self->later_max? self->later_max * 2: 1024;
        self->later = (s_waiting_t *) realloc (self->later,
                                               self->later_max * sizeof (s_waiting_t));
        assert (self->later);
    }
    s_waiting_t *later = &self->later [self->nlater++];
    later->line = row->line;
    strcpy (later->referrer, row->referrer);
    later->counts = counts;
}

/* The rows kept for their referrers, now that every id of the file is
   known: true if each one's referrer came. */
static bool
s_import_later (s_import_t *self)
{
    for (size_t i = 0; i < self->nlater; i++) {
        s_waiting_t *later = &self->later [i];
        if (!dt_idmap_get (self->ids, later->referrer, strlen (later->referrer)))
            return false;
        s_counts_add (self, later->counts);
    }
    self->nlater = 0;
    return true;
}

/* The member a row makes of the stored one (old NULL: a new member) into
   *out, checking what an update may change; *changed says if it differs. */
static int
s_row_member (s_import_t *self, const s_row_t *row, const member_t *old, member_t *out,
              bool *changed, dt_err_t *err)
{
    if (old)
        *out = *old;
    else {
        out->seat = SEAT_NONE;
        out->role = ROLE_MEMBER;
        out->created = self->ctx->now;
        out->ntags = 0;
        out->referrer [0] = out->group [0] = out->branch [0] = out->first_hall [0] = 0;
        strcpy (out->id, row->id);
    }
    *changed = !old;
    if (!streq (out->name, row->name)) {
        strcpy (out->name, row->name);
        *changed = true;
    }
    if (*row->referrer && !streq (out->referrer, row->referrer)) {
        if (*out->referrer)
            return dt_err_set (err, "RULE", "member %s was referred by %s, and a referrer "
                               "never changes", row->id, out->referrer);
        strcpy (out->referrer, row->referrer);
        *changed = true;
    }
    if (row->tags) {
        msgpack_object_kv kv = { .key = { .type = MSGPACK_OBJECT_STR,
                                          .via.str = { 4, "tags" } }, .val = *row->tags };
        msgpack_object map = { .type = MSGPACK_OBJECT_MAP, .via.map = { 1, &kv } };
        uint32_t ntags = out->ntags;
        tag_t was [DT_TAGS_MAX];
        memcpy (was, out->tags, ntags * sizeof (tag_t));
        out->ntags = 0;
        if (s_tags_read (&map, out, err))
            return -1;
        *changed |= ntags != out->ntags || memcmp (was, out->tags, ntags * sizeof (tag_t));
    }
    if (row->has_role && row->role != out->role) {
        char doing [DT_ID_MAX + 16];
        snprintf (doing, sizeof (doing), "change role to %s", record_role_name (row->role));
        if (rules_role_given (row->role, err)
        ||  (old && rules_not_leading (self->ctx->txn, old, doing, err)))
            return -1;
        out->role = row->role;
        *changed = true;
    }
    return 0;
}

/* The seat an update row asks of a stored member: none asked, the same, a
   first seat (as member.join), or a move by the rules of member.transfer. */
static int
s_update_seat (s_import_t *self, const s_row_t *row, const member_t *old, member_t *out,
               bool *changed, dt_err_t *err)
{
    if (!*row->group || streq (row->group, old->group))
        return 0;
    s_group_t *target = s_group_find (self, row->group, err);
    if (!target)
        return -1;
    if (old->seat != SEAT_NONE) {
        char doing [DT_ID_MAX + 48];
        if (streq (old->branch, target->branch))
            snprintf (doing, sizeof (doing), "give up the core seat of branch %s", old->branch);
        else
            snprintf (doing, sizeof (doing), "transfer out of branch %s", old->branch);
        s_group_t *from = s_group_find (self, old->group, err);
        op_ctx_t scoped = *self->ctx;
        scoped.err = err;
        if (!from
        ||  op_allow (&scoped, old->branch)
        ||  rules_not_leading (self->ctx->txn, old, doing, err))
            return -1;
        if (s_seat_take (self, row->group, err))
            return -1;
        from->moved--;
    }
    else
    if (s_seat_take (self, row->group, err))
        return -1;
    out->seat = target->kind;
    strcpy (out->group, row->group);
    *changed = true;
    return 0;
}

/* Check one parsed row against the store and the rows before it. */
static int
s_row_check (s_import_t *self, const s_row_t *row, dt_err_t *err)
{
    //  s_row_name marked the rows whose id came before: only those
    //  look the id up again (a lookup per row is a cache miss per row)
    uint64_t at = self->row - 1;
    if (self->repeats [at / 8] & (1 << (at % 8))) {
        uint64_t first = dt_idmap_get (self->ids, row->id, strlen (row->id));
        return dt_err_set (err, "EXISTS", "member %s is already on line %u", row->id,
                           self->lines [first - 1]);
    }
    int found = tree_member_get (self->ctx->txn, row->id, self->old, err);
    if (found == -1)
        return -1;
    if (found == 0 && !self->update)
        return dt_err_set (err, "EXISTS", "member %s already exists", row->id);
    const member_t *old = found == 0? self->old: NULL;
    op_ctx_t scoped = *self->ctx;
    scoped.err = err;
    if (old && old->seat != SEAT_NONE && op_allow (&scoped, old->branch))
        return -1;
    int referrer = *row->referrer && (!old || !streq (old->referrer, row->referrer))?
                   s_referrer_known (self, row, err): 0;
    if (referrer == -1)
        return -1;
    bool changed;
    if (s_row_member (self, row, old, self->member, &changed, err))
        return -1;
    if (old) {
        if (s_update_seat (self, row, old, self->member, &changed, err))
            return -1;
        s_row_count (self, row, referrer == 1, changed? S_COUNT_UPDATED: S_COUNT_UNCHANGED);
        return 0;
    }
    if (*row->group && s_seat_take (self, row->group, err))
        return -1;
    s_row_count (self, row, referrer == 1,
                 S_COUNT_IMPORTED | (*row->group? S_COUNT_SEATED: 0));
    return 0;
}

//  A file imports as one array of rows, or in parts staged at the hub under
//  a stage name and committed by the last part in one transaction
//  (PROTOCOL.md 6.6). Each pass over the rows goes part by part, so a large
//  file is never unpacked whole.

typedef int (s_rows_fn) (s_import_t *self, const msgpack_object *rows);

#define S_STAGE_KEY_MAX (2 * DT_ID_MAX + 16)

/* The id a row brings and its line, kept before the row is judged: the
   first row of an id keeps it, a later one is marked. */
static void
s_row_name (s_import_t *self, const msgpack_object *map)
{
    self->row++;
    if (self->row > self->lines_max) {
        uint64_t old_max = self->lines_max;
        self->lines_max = self->lines_max? self->lines_max * 2: 4096;
        self->lines = (uint32_t *) realloc (self->lines, self->lines_max * sizeof (uint32_t));
        self->seats = (s_group_t **) realloc (self->seats,
                                              self->lines_max * sizeof (s_group_t *));
        self->repeats = (uint8_t *) realloc (self->repeats, self->lines_max / 8);
        assert (self->lines && self->seats && self->repeats);
        memset (self->repeats + old_max / 8, 0, (self->lines_max - old_max) / 8);
    }
    uint64_t at = self->row - 1;
    self->seats [at] = NULL;
    self->lines [at] = 0;
    dt_err_t row_err;
    dt_err_init (&row_err);
    uint64_t line = 0;
    dt_id_t id;
    if (map->type == MSGPACK_OBJECT_MAP
    &&  proto_arg_uint (map, "line", true, &line, &row_err) == 1 && line <= UINT32_MAX
    &&  proto_arg_id (map, "id", true, id, &row_err) == 1) {
        self->lines [at] = (uint32_t) line;
        self->repeats [at / 8] &= (uint8_t) ~(1 << (at % 8));
        if (dt_idmap_add (self->ids, id, strlen (id), (uint32_t) self->row) != self->row)
            self->repeats [at / 8] |= (uint8_t) (1 << (at % 8));
    }
    dt_err_reset (&row_err);
}

/* Every id of the file first, for a judge that names a missing referrer
   on its own line. */
static int
s_import_names (s_import_t *self, const msgpack_object *rows)
{
    for (uint32_t index = 0; index < rows->via.array.size; index++)
        s_row_name (self, &rows->via.array.ptr [index]);
    return 0;
}

/* Forget what a judge found, to judge again. */
static void
s_import_forget (s_import_t *self)
{
    dt_idmap_destroy (&self->ids);
    self->ids = dt_idmap_new ();
    for (size_t i = 0; i < self->ngroups; i++)
        self->groups [i]->moved = 0;
    self->nlater = 0;
    self->rows = self->bad = self->imported = self->seated = 0;
    self->updated = self->unchanged = 0;
    dt_err_reset (self->ctx->err);
}

/* The judge: check every row, collecting one detail per bad row. Unless
   the names pass ran, a row whose referrer has not come yet waits for the
   end (s_import_later). */
static int
s_import_judge (s_import_t *self, const msgpack_object *rows)
{
    dt_err_t *err = self->ctx->err;
    dt_err_t row_err;
    dt_err_init (&row_err);
    for (uint32_t index = 0; index < rows->via.array.size; index++) {
        s_row_t row;
        if (self->named)
            self->row++;
        else
            s_row_name (self, &rows->via.array.ptr [index]);
        if (s_row_read (&rows->via.array.ptr [index], index, &row, &row_err) == 0
        &&  s_row_check (self, &row, &row_err) == 0)
            continue;
        if (streq (row_err.code, "INTERNAL")) {
            dt_err_reset (err);
            return dt_err_set (err, "INTERNAL", "%s", row_err.message);
        }
        dt_err_detail_from (err, row.line, &row_err);
        dt_err_reset (&row_err);
        self->bad++;
    }
    self->rows += rows->via.array.size;
    return 0;
}

/* Last pass: write every (checked) row; the seat counters follow at the end. */
static int
s_import_apply (s_import_t *self, const msgpack_object *rows)
{
    op_ctx_t *ctx = self->ctx;
    for (uint32_t index = 0; index < rows->via.array.size; index++) {
        s_row_t row;
        bool changed;
        if (s_row_read (&rows->via.array.ptr [index], index, &row, ctx->err))
            return -1;
        int found = self->update? tree_member_get (ctx->txn, row.id, self->old, ctx->err): 1;
        const member_t *old = found == 0? self->old: NULL;
        if (found == -1
        ||  s_row_member (self, &row, old, self->member, &changed, ctx->err))
            return -1;
        self->row++;
        s_group_t *group = self->seats [self->row - 1];
        if (group) {                /* the judge gave the row this seat */
            self->member->seat = group->kind;
            strcpy (self->member->group, row.group);
            changed = true;
        }
        if (changed
        &&  tree_bulk_member_put (ctx->txn, self->bulk, self->member, old,
                                  group? group->bulk: NULL, ctx->err))
            return -1;
    }
    return 0;
}

/* The key of a stage's part: "KEYNAME/" then the stage name, \0, the part
   number (u64 BE); 0 when it does not fit. */
static size_t
s_stage_key (op_ctx_t *ctx, const char *stage, uint64_t part, uint8_t *key, size_t size)
{
    size_t length = store_rid_key (ctx->key->name, stage, (char *) key, size);
    if (!length || length + 9 > size)
        return 0;
    key [length] = 0;
    store_seq_key (part, key + length + 1);
    return length + 9;
}

/* Run a pass over the staged parts 1..parts of stage (none when stage is
   NULL), then over rows. */
static int
s_import_each (s_import_t *self, const char *stage, uint64_t parts, const msgpack_object *rows,
               s_rows_fn *pass)
{
    op_ctx_t *ctx = self->ctx;
    int rc = 0;
    self->row = 0;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    for (uint64_t part = 1; rc == 0 && stage && part <= parts; part++) {
        uint8_t key [S_STAGE_KEY_MAX];
        size_t key_size = s_stage_key (ctx, stage, part, key, sizeof (key));
        const void *val;
        size_t size;
        if (store_get (ctx->txn, TBL_STAGE, key, key_size, &val, &size, ctx->err)) {
            rc = dt_err_is_set (ctx->err)? -1:
                 dt_err_set (ctx->err, "BAD_ARGS", "part %" PRIu64 " of stage %s is not "
                             "staged", part, stage);
            break;
        }
        //  The rows point into the part as stored: it stays mapped, and
        //  unchanged, while this request's transaction lasts (the apply pass
        //  writes other tables only)
        if (msgpack_unpack_next (&unpacked, val, size, NULL) != MSGPACK_UNPACK_SUCCESS
        ||  unpacked.data.type != MSGPACK_OBJECT_ARRAY)
            rc = dt_err_set (ctx->err, "INTERNAL", "staged part %" PRIu64 " of %s is damaged",
                             part, stage);
        else
            rc = pass (self, &unpacked.data);
    }
    msgpack_unpacked_destroy (&unpacked);
    return rc? rc: pass (self, rows);
}

/* The parts staged under this key: every stage of it, or their number. A
   key stages one file at a time: part 1 of any stage drops the others. */
typedef struct {
    uint64_t parts;
    zlistx_t *keys;             /* to drop, when not NULL */
} s_stage_walk_t;

static int
s_stage_visit (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) val; (void) val_size;
    s_stage_walk_t *self = arg;
    self->parts++;
    if (self->keys) {
        //  Deleted after the scan, not under its cursor
        zchunk_t *copy = zchunk_new (key, key_size);
        zlistx_add_end (self->keys, copy);
    }
    return 0;
}

static int
s_stage_walk (op_ctx_t *ctx, const char *stage, bool drop, uint64_t *parts)
{
    char prefix [S_STAGE_KEY_MAX];
    size_t size = store_rid_key (ctx->key->name, stage? stage: "x", prefix, sizeof (prefix));
    if (!stage)
        size -= 1;              /* "KEYNAME/": every stage of the key */
    else
        prefix [size++] = 0;
    s_stage_walk_t walk = { 0, drop? zlistx_new (): NULL };
    int rc = store_scan (ctx->txn, TBL_STAGE, prefix, size, NULL, 0, s_stage_visit, &walk,
                         ctx->err);
    for (zchunk_t *key = walk.keys? zlistx_first (walk.keys): NULL; key;
         key = zlistx_next (walk.keys)) {
        if (rc == 0)
            rc = store_del (ctx->txn, TBL_STAGE, zchunk_data (key), zchunk_size (key),
                            ctx->err);
        zchunk_destroy (&key);
    }
    zlistx_destroy (&walk.keys);
    *parts = walk.parts;
    return rc;
}

/* Stage part `part` of a file; the rows wait for the last part. */
static int
s_import_stage (op_ctx_t *ctx, const char *stage, uint64_t part, const msgpack_object *rows)
{
    uint64_t staged;
    if (s_stage_walk (ctx, part == 1? NULL: stage, part == 1, &staged))
        return -1;
    if (part != 1 && staged != part - 1)
        return dt_err_set (ctx->err, "BAD_ARGS", "part %" PRIu64 " of stage %s comes after "
                           "part %" PRIu64 " (start again with part 1)", part, stage, staged);
    uint8_t key [S_STAGE_KEY_MAX];
    size_t key_size = s_stage_key (ctx, stage, part, key, sizeof (key));
    msgpack_sbuffer packed;
    msgpack_sbuffer_init (&packed);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &packed, msgpack_sbuffer_write);
    msgpack_pack_object (&pk, *rows);
    int rc = store_put (ctx->txn, TBL_STAGE, key, key_size, packed.data, packed.size, ctx->err);
    msgpack_sbuffer_destroy (&packed);
    if (rc == 0) {
        msgpack_pack_map (ctx->pk, 2);
        proto_pack_key (ctx->pk, "staged");
        msgpack_pack_uint64 (ctx->pk, part);
        proto_pack_key (ctx->pk, "rows");
        msgpack_pack_uint32 (ctx->pk, rows->via.array.size);
    }
    return rc;
}

/* The result: what was done, or for a dry run what would be, with the bad
   rows a real run would reject the file for. */
static void
s_import_result (s_import_t *self, bool dry_run, const dt_err_t *rejected)
{
    msgpack_packer *pk = self->ctx->pk;
    msgpack_pack_map (pk, dry_run? 8: 4);
    proto_pack_key (pk, "imported");
    msgpack_pack_uint64 (pk, self->imported);
    proto_pack_key (pk, "seated");
    msgpack_pack_uint64 (pk, self->seated);
    proto_pack_key (pk, "updated");
    msgpack_pack_uint64 (pk, self->updated);
    proto_pack_key (pk, "unchanged");
    msgpack_pack_uint64 (pk, self->unchanged);
    if (!dry_run)
        return;
    proto_pack_key (pk, "dry_run");
    msgpack_pack_true (pk);
    proto_pack_key (pk, "rejected");
    msgpack_pack_uint64 (pk, self->bad);
    proto_pack_key (pk, "message");
    if (self->bad)
        proto_pack_str (pk, rejected->message);
    else
        msgpack_pack_nil (pk);
    proto_pack_key (pk, "details");
    msgpack_pack_array (pk, (uint32_t) rejected->ndetails);
    for (size_t i = 0; i < rejected->ndetails; i++) {
        msgpack_pack_map (pk, 2);
        proto_pack_key (pk, "line");
        msgpack_pack_uint32 (pk, rejected->details [i].line);
        proto_pack_key (pk, "message");
        proto_pack_str (pk, rejected->details [i].message);
    }
}

/* Judge the whole file (and, unless a dry run, write it). */
static int
s_import_run (s_import_t *self, const char *from, uint64_t parts, const msgpack_object *rows,
              bool dry_run)
{
    op_ctx_t *ctx = self->ctx;
    //  One pass judges a file whose referrers all come: a row refers to a
    //  member, or to a row before it, or to one after it that does come.
    //  A missing referrer is found only at the end, and rows after it were
    //  judged with its seat taken: the file is judged again, its ids first
    int rc = s_import_each (self, from, parts, rows, s_import_judge);
    if (rc == 0 && !s_import_later (self)) {
        s_import_forget (self);
        self->named = true;
        rc = s_import_each (self, from, parts, rows, s_import_names);
        if (rc == 0)
            rc = s_import_each (self, from, parts, rows, s_import_judge);
    }
    if (rc == 0 && self->bad)
        rc = dt_err_set (ctx->err, "IMPORT_REJECTED", "%" PRIu64 " of %" PRIu64
                         " rows rejected", self->bad, self->rows);
    if (dry_run)
        return rc == 0 || streq (ctx->err->code, "IMPORT_REJECTED")? 0: rc;
    if (rc == 0)
        rc = s_import_each (self, from, parts, rows, s_import_apply);
    if (rc == 0)
        rc = tree_bulk_finish (ctx->txn, self->bulk, ctx->err);
    return rc;
}

/* IMPORT MEMBERS rows [stage part last] [update] [dry_run] */
static int
s_import_members (op_ctx_t *ctx, const msgpack_object *args)
{
    const msgpack_object *rows;
    char stage [DT_ID_MAX + 1] = "";
    uint64_t part = 0;
    bool last = false, update = false, dry_run = false;
    int staged = proto_arg_array (args, "rows", true, &rows, ctx->err) < 0? -1:
                 proto_arg_id (args, "stage", false, stage, ctx->err);
    if (staged < 0
    ||  proto_arg_uint (args, "part", staged == 1, &part, ctx->err) < 0
    ||  proto_arg_bool (args, "last", false, &last, ctx->err) < 0
    ||  proto_arg_bool (args, "update", false, &update, ctx->err) < 0
    ||  proto_arg_bool (args, "dry_run", false, &dry_run, ctx->err) < 0)
        return -1;
    if (!staged && (proto_map_get (args, "part") || proto_map_get (args, "last")))
        return dt_err_set (ctx->err, "BAD_ARGS", "\"part\" and \"last\" go with \"stage\"");
    if (staged && part == 0)
        return dt_err_set (ctx->err, "BAD_ARGS", "\"part\" counts from 1");
    if (rows->via.array.size > DT_LIST_MAX)
        return dt_err_set (ctx->err, "TOO_LARGE", "an import takes at most %d rows, got %u",
                           DT_LIST_MAX, rows->via.array.size);
    if (staged && !last)
        return s_import_stage (ctx, stage, part, rows);
    uint64_t parts = 0;
    if (staged && (s_stage_walk (ctx, stage, false, &parts)))
        return -1;
    if (staged && parts != part - 1)
        return dt_err_set (ctx->err, "BAD_ARGS", "the last part %" PRIu64 " of stage %s "
                           "comes after part %" PRIu64 " (start again with part 1)",
                           part, stage, parts);
    s_import_t self = { .ctx = ctx, .update = update, .ids = dt_idmap_new (),
                        .group_ids = dt_idmap_new (), .bulk = tree_bulk_new (),
                        .member = (member_t *) zmalloc (sizeof (member_t)),
                        .old = (member_t *) zmalloc (sizeof (member_t)) };
    int rc = s_import_run (&self, staged? stage: NULL, parts, rows, dry_run);
    //  The staged parts go with the commit, or with a dry run (a rejected
    //  real one keeps them until this key stages again: a failed request
    //  changes nothing)
    if (rc == 0 && staged)
        rc = s_stage_walk (ctx, stage, true, &parts);
    if (rc == 0)
        s_import_result (&self, dry_run, ctx->err);
    if (rc == 0)
        dt_err_reset (ctx->err);
    dt_idmap_destroy (&self.ids);
    dt_idmap_destroy (&self.group_ids);
    for (size_t i = 0; i < self.ngroups; i++)
        free (self.groups [i]);
    free (self.groups);
    tree_bulk_destroy (&self.bulk);
    free (self.lines);
    free (self.repeats);
    free (self.later);
    free (self.seats);
    free (self.member);
    free (self.old);
    return rc;
}

const op_t hub_member_ops [] = {
    { "member.add", s_member_add },
    { "member.join", s_member_join },
    { "member.leave", s_member_leave },
    { "member.transfer", s_member_transfer },
    { "member.promote", s_member_promote },
    { "member.demote", s_member_demote },
    { "member.role", s_member_role },
    { "import.members", s_import_members },
    { NULL, NULL }
};

//  Self-test

/* Seats now counted in a group. */
static uint32_t
s_seats (store_t *store, seat_kind_t kind, const char *group)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    hall_t hall;
    branch_t branch;
    uint32_t seats;
    if (kind == SEAT_HALL) {
        assert (tree_hall_need (&txn, group, &hall, &err) == 0);
        seats = hall.seats;
    }
    else {
        assert (tree_branch_need (&txn, group, &branch, &err) == 0);
        seats = branch.core_seats;
    }
    store_abort (&txn);
    return seats;
}

/* Whether a member is stored. */
static bool
s_exists (store_t *store, const char *id)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    bool taken = s_member_taken (&txn, id, &err) == 1;
    store_abort (&txn);
    return taken;
}

/* Run an op that answers a member, into *member. */
static void
s_member_op (store_t *store, const dt_key_t *key, const char *name, const char *args,
             member_t *member)
{
    dt_err_t err;
    dt_err_init (&err);
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    int rc = op_run (store, hub_member_ops, key, name, args, &result, &err);
    if (rc)
        fprintf (stderr, "\n%s %s: %s: %s\n", name, args, err.code, err.message);
    assert (rc == 0);
    assert (record_member_decode (member, result.data, result.size) == 0);
    msgpack_sbuffer_destroy (&result);
}

/* Run an op that must fail with code and a message containing text. */
static void
s_refused (store_t *store, const dt_key_t *key, const char *name, const char *args,
           const char *code, const char *text)
{
    op_refused (store, hub_member_ops, key, name, args, code, text);
}

/* Pack a row given as "line|id|name|referrer|group|role"; fewer fields leave
   keys out, and "!..." packs a string instead of a map. */
static void
s_pack_row (msgpack_packer *pk, const char *text)
{
    static const char *keys [] = { "line", "id", "name", "referrer", "group", "role" };
    if (*text == '!') {
        proto_pack_str (pk, text);
        return;
    }
    const char *fields [6];
    size_t lengths [6];
    int count = 0;
    for (const char *p = text; count < 6; p += lengths [count - 1] + 1) {
        fields [count] = p;
        lengths [count] = strcspn (p, "|");
        if (!p [lengths [count++]])
            break;
    }
    msgpack_pack_map (pk, count);
    for (int i = 0; i < count; i++) {
        proto_pack_key (pk, keys [i]);
        if (i == 0)
            msgpack_pack_uint64 (pk, strtoull (fields [0], NULL, 10));
        else {
            msgpack_pack_str (pk, lengths [i]);
            msgpack_pack_str_body (pk, fields [i], lengths [i]);
        }
    }
}

/* Run import.members with op_run_packed (the text form has no maps in
   arrays). The rows come from s_pack_row, or from make (i) when rows is NULL. */
typedef const char *(s_row_fn) (size_t index, char *buf, size_t size);
static int
s_import (store_t *store, const dt_key_t *key, const char **rows, s_row_fn *make,
          size_t count, uint32_t *imported, uint32_t *seated, dt_err_t *err)
{
    args_t args;
    args_init (&args);
    msgpack_packer *pk = args_key (&args, "rows");
    msgpack_pack_array (pk, count);
    for (size_t index = 0; index < count; index++) {
        char buf [256];
        s_pack_row (pk, rows? rows [index]: make (index, buf, sizeof (buf)));
    }
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    int rc = op_run_packed (store, hub_member_ops, key, "import.members", args_map (&args),
                            &result, err);
    if (rc == 0) {
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        assert (msgpack_unpack_next (&unpacked, result.data, result.size, NULL)
                == MSGPACK_UNPACK_SUCCESS);
        *imported = (uint32_t) proto_map_get (&unpacked.data, "imported")->via.u64;
        *seated = (uint32_t) proto_map_get (&unpacked.data, "seated")->via.u64;
        msgpack_unpacked_destroy (&unpacked);
    }
    msgpack_sbuffer_destroy (&result);
    args_destroy (&args);
    return rc;
}

/* Send rows first..first+count of make as part `part` of stage (last:
   the commit). 0 or -1 with err; *imported is the rows committed (0 for a
   staged part). */
static int
s_import_part (store_t *store, s_row_fn *make, size_t first, size_t count, const char *stage,
               uint64_t part, bool last, uint64_t *imported, dt_err_t *err)
{
    args_t args;
    args_init (&args);
    msgpack_packer *pk = args_key (&args, "rows");
    msgpack_pack_array (pk, count);
    for (size_t index = first; index < first + count; index++) {
        char buf [256];
        s_pack_row (pk, make (index, buf, sizeof (buf)));
    }
    args_str (&args, "stage", stage);
    args_uint (&args, "part", part);
    if (last)
        args_bool (&args, "last", true);
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    int rc = op_run_packed (store, hub_member_ops, NULL, "import.members", args_map (&args),
                            &result, err);
    *imported = 0;
    if (rc == 0) {
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        assert (msgpack_unpack_next (&unpacked, result.data, result.size, NULL)
                == MSGPACK_UNPACK_SUCCESS);
        const msgpack_object *rows = proto_map_get (&unpacked.data, "imported");
        *imported = rows? rows->via.u64: 0;
        assert (last == (rows != NULL));
        msgpack_unpacked_destroy (&unpacked);
    }
    msgpack_sbuffer_destroy (&result);
    args_destroy (&args);
    return rc;
}

/* Rows of a staged import; row 150 refers to row 250 (a later part). */
static const char *
s_staged_row (size_t index, char *buf, size_t size)
{
    snprintf (buf, size, "%zu|st-%zu|分%zu|%s|%s", index + 2, index, index,
              index == 150? "st-250": "", index % 3? "": "b-big");
    return buf;
}

/* The same rows, one of them (line 252) bad: its group does not exist. */
static const char *
s_staged_bad_row (size_t index, char *buf, size_t size)
{
    s_staged_row (index, buf, size);
    if (index == 250)
        snprintf (buf, size, "252|st-250|分||h-none");
    return buf;
}

/* A file in parts staged at the hub is one import: all or nothing. */
static void
s_test_import_staged (store_t *store)
{
    dt_err_t err;
    dt_err_init (&err);
    uint64_t imported;
    //  A bad row in a later part rejects the whole file, naming its line
    assert (s_import_part (store, s_staged_bad_row, 0, 100, "s1", 1, false, &imported,
                           &err) == 0);
    assert (s_import_part (store, s_staged_bad_row, 100, 100, "s1", 2, false, &imported,
                           &err) == 0);
    assert (!s_exists (store, "st-0"));
    assert (s_import_part (store, s_staged_bad_row, 200, 100, "s1", 3, true, &imported,
                           &err) == -1);
    assert (streq (err.code, "IMPORT_REJECTED") && err.ndetails == 1);
    assert (err.details [0].line == 252 && streq (err.message, "1 of 300 rows rejected"));
    dt_err_reset (&err);
    assert (!s_exists (store, "st-0") && !s_exists (store, "st-299"));
    //  Parts come in order; part 1 starts the file again
    assert (s_import_part (store, s_staged_row, 0, 100, "s2", 1, false, &imported,
                           &err) == 0);
    assert (s_import_part (store, s_staged_row, 200, 100, "s2", 3, true, &imported,
                           &err) == -1 && streq (err.code, "BAD_ARGS"));
    dt_err_reset (&err);
    assert (s_import_part (store, s_staged_row, 100, 100, "s2", 2, false, &imported,
                           &err) == 0);
    assert (s_import_part (store, s_staged_row, 200, 100, "s2", 3, true, &imported,
                           &err) == 0 && imported == 300);
    assert (s_exists (store, "st-0") && s_exists (store, "st-299"));
    //  Nothing stays staged: not s1's parts (dropped by s2's part 1), not s2's
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    member_t member;
    assert (tree_member_get (&txn, "st-150", &member, &err) == 0);
    assert (streq (member.referrer, "st-250") && member.seat == SEAT_CORE);
    assert (store_count (&txn, TBL_STAGE) == 0);
    store_abort (&txn);
    check_assert (store);
}

/* Import rows that must be rejected on exactly the given lines. */
static void
s_import_rejected (store_t *store, const dt_key_t *key, const char **rows, size_t count,
                   const uint32_t *lines, size_t nlines, const char *text)
{
    dt_err_t err;
    dt_err_init (&err);
    uint32_t imported, seated;
    assert (s_import (store, key, rows, NULL, count, &imported, &seated, &err) == -1);
    char message [64];
    snprintf (message, sizeof (message), "%zu of %zu rows rejected", nlines, count);
    bool as_expected = streq (err.code, "IMPORT_REJECTED") && streq (err.message, message)
                    && err.ndetails == nlines;
    for (size_t i = 0; i < err.ndetails; i++) {
        as_expected &= i < nlines && err.details [i].line == lines [i];
        if (text && i == 0)
            as_expected &= strstr (err.details [i].message, text) != NULL;
    }
    if (!as_expected) {
        fprintf (stderr, "\nimport: %s: %s\n", err.code, err.message);
        for (size_t i = 0; i < err.ndetails; i++)
            fprintf (stderr, "  line %u: %s\n", err.details [i].line, err.details [i].message);
    }
    assert (as_expected);
    dt_err_reset (&err);
}

/* Officer, branches b-1, b-2 (cap 3), b-big (cap 20000), halls h-1 (b-1),
   h-2 (b-1, cap 3), h-4 (b-1, cap 2), h-3 (b-2, cap 2), led by m-lead
   (core b-1) and m-lead2 (core b-2). */
static void
s_setup (store_t *store)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    officer_t officer = { .id = "o-1", .name = "舵主" };
    assert (tree_officer_put (&txn, &officer, &err) == 0);
    branch_t branches [] = {
        { .id = "b-1", .name = "成都分舵", .leader = "o-1" },
        { .id = "b-2", .name = "重庆分舵", .leader = "o-1", .cap = 3 },
        { .id = "b-big", .name = "大分舵", .leader = "o-1", .cap = 20000 } };
    for (size_t i = 0; i < sizeof (branches) / sizeof (branches [0]); i++)
        assert (tree_branch_put (&txn, &branches [i], &err) == 0);
    member_t lead = { .id = "m-lead", .name = "堂主", .role = ROLE_LEADER };
    member_t lead2 = { .id = "m-lead2", .name = "堂主二", .role = ROLE_LEADER };
    assert (rules_seat (&txn, &lead, SEAT_CORE, "b-1", &err) == 0);
    assert (rules_seat (&txn, &lead2, SEAT_CORE, "b-2", &err) == 0);
    hall_t halls [] = {
        { .id = "h-1", .name = "青羊堂口", .branch = "b-1", .leader = "m-lead" },
        { .id = "h-2", .name = "锦江堂口", .branch = "b-1", .leader = "m-lead", .cap = 3 },
        { .id = "h-4", .name = "武侯堂口", .branch = "b-1", .leader = "m-lead", .cap = 2 },
        { .id = "h-3", .name = "渝中堂口", .branch = "b-2", .leader = "m-lead2", .cap = 2 } };
    for (size_t i = 0; i < sizeof (halls) / sizeof (halls [0]); i++)
        assert (tree_hall_put (&txn, &halls [i], &err) == 0);
    assert (store_commit (&txn, &err) == 0);
}

/* Rows of the large import: a referral chain, every other row seated. */
static const char *
s_big_row (size_t index, char *buf, size_t size)
{
    char referrer [32] = "";
    if (index)
        snprintf (referrer, sizeof (referrer), "s-%zu", index - 1);
    snprintf (buf, size, "%zu|s-%zu|成员%zu|%s|%s", index + 2, index, index, referrer,
              index % 2? "": "b-big");
    return buf;
}

static void
s_test_add (store_t *store)
{
    member_t member;
    op_expect (store, hub_member_ops, "member.add", "id=m-1 name=Alice", NULL);
    s_member_op (store, NULL, "member.add",
                 "id=m-2 name=Bob referrer=m-1 tags={city=成都,tier=gold}", &member);
    assert (streq (member.referrer, "m-1") && member.ntags == 2 && member.seat == SEAT_NONE);
    assert (streq (member.tags [0].value, "成都") && member.role == ROLE_MEMBER);
    assert (member.created > 0 && !*member.group && !*member.first_hall);
    s_refused (store, NULL, "member.add", "id=m-1 name=again", "EXISTS", "m-1 already exists");
    s_refused (store, NULL, "member.add", "id=m-3 name=C referrer=m-9", "NOT_FOUND",
               "referrer m-9");
    s_refused (store, NULL, "member.add", "id=-x name=X", "BAD_ARGS", "\"id\"");
    s_refused (store, NULL, "member.add", "id=m-3 name=X bogus=1", "BAD_ARGS", "bogus");
    //  Tag limits: count, key and value lengths, UTF-8, duplicates
    char args [1024] = "id=m-3 name=C tags={";
    for (int i = 0; i < DT_TAGS_MAX + 1; i++)
        snprintf (args + strlen (args), sizeof (args) - strlen (args), "%sk%d=v", i? ",": "", i);
    strcat (args, "}");
    s_refused (store, NULL, "member.add", args, "TOO_LARGE", "at most 16 tags");
    char key [DT_TAG_KEY_MAX + 2], value [DT_TAG_VAL_MAX + 2];
    memset (key, 'k', sizeof (key) - 1);
    key [sizeof (key) - 1] = 0;
    memset (value, 'v', sizeof (value) - 1);
    value [sizeof (value) - 1] = 0;
    snprintf (args, sizeof (args), "id=m-3 name=C tags={%s=v}", key);
    s_refused (store, NULL, "member.add", args, "TOO_LARGE", "tag keys");
    snprintf (args, sizeof (args), "id=m-3 name=C tags={k=%s}", value);
    s_refused (store, NULL, "member.add", args, "TOO_LARGE", "tag k is longer");
    s_refused (store, NULL, "member.add", "id=m-3 name=C tags={=v}", "BAD_ARGS", "tag keys");
    s_refused (store, NULL, "member.add", "id=m-3 name=C tags={k=\xff}", "BAD_ARGS", "UTF-8");
    s_refused (store, NULL, "member.add", "id=m-3 name=C tags={k=a,k=b}", "BAD_ARGS", "twice");
    key [DT_TAG_KEY_MAX] = value [DT_TAG_VAL_MAX] = 0;
    snprintf (args, sizeof (args), "id=m-3 name=C tags={%s=%s,empty=}", key, value);
    s_member_op (store, NULL, "member.add", args, &member);
    assert (member.ntags == 2 && strlen (member.tags [0].value) == DT_TAG_VAL_MAX);
    assert (!*member.tags [1].value);
    assert (!s_exists (store, "m-9"));
    check_assert (store);
}

static void
s_test_join_leave (store_t *store, const dt_key_t *leader_b1)
{
    member_t member;
    s_member_op (store, NULL, "member.join", "id=m-1 hall=h-1", &member);
    assert (member.seat == SEAT_HALL && streq (member.group, "h-1"));
    assert (streq (member.branch, "b-1") && streq (member.first_hall, "h-1"));
    s_refused (store, NULL, "member.join", "id=m-1 hall=h-2", "LOCKED",
               "member m-1 is locked to hall h-1 (branch b-1)");
    s_refused (store, NULL, "member.join", "id=m-2 hall=h-1 branch=b-1", "BAD_ARGS",
               "exactly one");
    s_refused (store, NULL, "member.join", "id=m-2", "BAD_ARGS", "exactly one");
    s_refused (store, NULL, "member.join", "id=m-2 hall=h-9", "NOT_FOUND", "h-9");
    s_refused (store, NULL, "member.join", "id=m-9 hall=h-1", "NOT_FOUND", "m-9");
    s_member_op (store, NULL, "member.join", "id=m-2 branch=b-1", &member);
    assert (member.seat == SEAT_CORE && streq (member.branch, "b-1") && !*member.first_hall);
    s_refused (store, NULL, "member.join", "id=m-2 branch=b-1", "LOCKED",
               "core seat of branch b-1");
    assert (s_seats (store, SEAT_CORE, "b-1") == 2);
    check_assert (store);

    //  Hall h-1 fills at its cap of 30, and says so with the count
    for (int i = 1; i <= 30; i++) {
        char args [64];
        snprintf (args, sizeof (args), "id=m-f%d name=Fan%d", i, i);
        op_expect (store, hub_member_ops, "member.add", args, NULL);
        snprintf (args, sizeof (args), "id=m-f%d hall=h-1", i);
        if (i < 30)
            op_expect (store, hub_member_ops, "member.join", args, NULL);
        else
            s_refused (store, NULL, "member.join", args, "FULL",
                       "hall h-1 is full: 30/30 seats");
    }
    assert (s_seats (store, SEAT_HALL, "h-1") == 30);
    check_assert (store);

    //  A leader key acts only in its branches
    s_refused (store, leader_b1, "member.join", "id=m-f30 hall=h-3", "DENIED",
               "branch b-2 is out of scope");
    s_member_op (store, leader_b1, "member.join", "id=m-f30 hall=h-2", &member);
    assert (streq (member.group, "h-2"));

    s_member_op (store, NULL, "member.leave", "id=m-1", &member);
    assert (member.seat == SEAT_NONE && !*member.group && !*member.branch);
    assert (streq (member.first_hall, "h-1"));
    s_refused (store, NULL, "member.leave", "id=m-1", "RULE", "member m-1 holds no seat");
    s_refused (store, NULL, "member.leave", "id=m-lead", "RULE", "leads hall h-1");
    assert (s_seats (store, SEAT_HALL, "h-1") == 29);
    check_assert (store);
}

static void
s_test_transfer (store_t *store, const dt_key_t *leader_b1, const dt_key_t *leader_b2)
{
    //  m-2: core seat of b-1, referred by m-1, never in a hall yet
    member_t member;
    s_member_op (store, NULL, "member.transfer", "id=m-2 hall=h-3", &member);
    assert (streq (member.group, "h-3") && streq (member.branch, "b-2"));
    assert (streq (member.referrer, "m-1") && streq (member.first_hall, "h-3"));
    assert (s_seats (store, SEAT_CORE, "b-1") == 1 && s_seats (store, SEAT_HALL, "h-3") == 1);
    s_member_op (store, NULL, "member.transfer", "id=m-2 hall=h-2", &member);
    assert (streq (member.group, "h-2") && streq (member.branch, "b-1"));
    assert (streq (member.referrer, "m-1") && streq (member.first_hall, "h-3"));
    assert (s_seats (store, SEAT_HALL, "h-3") == 0 && s_seats (store, SEAT_HALL, "h-2") == 2);
    check_assert (store);
    s_refused (store, NULL, "member.transfer", "id=m-1 hall=h-1", "RULE",
               "holds no seat: use member.join");
    s_refused (store, NULL, "member.transfer", "id=m-2 hall=h-2", "RULE",
               "already holds hall h-2");
    s_refused (store, NULL, "member.transfer", "id=m-2", "BAD_ARGS", "exactly one");
    s_refused (store, NULL, "member.transfer", "id=m-lead branch=b-2", "RULE",
               "leads hall h-1 (and others) and cannot transfer out of branch b-1");
    s_refused (store, NULL, "member.transfer", "id=m-lead hall=h-2", "RULE",
               "give up the core seat of branch b-1");
    op_expect (store, hub_member_ops, "member.transfer", "id=m-f1 hall=h-2", NULL);
    s_refused (store, NULL, "member.transfer", "id=m-f2 hall=h-2", "FULL",
               "hall h-2 is full: 3/3 seats");
    s_refused (store, leader_b1, "member.transfer", "id=m-f2 hall=h-3", "DENIED", "b-2");
    s_refused (store, leader_b2, "member.transfer", "id=m-f2 hall=h-3", "DENIED", "b-1");
    s_refused (store, leader_b2, "member.leave", "id=m-f2", "DENIED", "b-1");
    assert (s_seats (store, SEAT_HALL, "h-1") == 28 && s_seats (store, SEAT_HALL, "h-2") == 3);
    check_assert (store);
}

static void
s_test_promote_demote (store_t *store)
{
    member_t member;
    s_member_op (store, NULL, "member.promote", "id=m-f1", &member);
    assert (member.seat == SEAT_CORE && streq (member.group, "b-1"));
    assert (streq (member.first_hall, "h-1"));
    s_refused (store, NULL, "member.promote", "id=m-f1", "RULE", "no hall seat");
    s_refused (store, NULL, "member.promote", "id=m-1", "RULE", "no hall seat");
    //  b-2 (cap 3): m-lead2, then m-c2 and m-c3 fill it; m-c1 cannot rise
    const char *setup [] = { "id=m-c1 name=C1", "id=m-c2 name=C2", "id=m-c3 name=C3" };
    for (int i = 0; i < 3; i++)
        op_expect (store, hub_member_ops, "member.add", setup [i], NULL);
    op_expect (store, hub_member_ops, "member.join", "id=m-c1 hall=h-3", NULL);
    op_expect (store, hub_member_ops, "member.join", "id=m-c2 branch=b-2", NULL);
    op_expect (store, hub_member_ops, "member.join", "id=m-c3 branch=b-2", NULL);
    s_refused (store, NULL, "member.promote", "id=m-c1", "FULL",
               "branch b-2 is full: 3/3 core seats");
    check_assert (store);

    s_refused (store, NULL, "member.demote", "id=m-f1 hall=h-3", "RULE",
               "hall h-3 is in branch b-2");
    s_member_op (store, NULL, "member.demote", "id=m-f1 hall=h-1", &member);
    assert (member.seat == SEAT_HALL && streq (member.group, "h-1"));
    s_refused (store, NULL, "member.demote", "id=m-f1 hall=h-1", "RULE", "no core seat");
    s_refused (store, NULL, "member.demote", "id=m-lead hall=h-1", "RULE",
               "cannot be demoted");
    op_expect (store, hub_member_ops, "member.demote", "id=m-c2 hall=h-3", NULL);
    s_refused (store, NULL, "member.demote", "id=m-c3 hall=h-3", "FULL",
               "hall h-3 is full: 2/2 seats");
    assert (s_seats (store, SEAT_CORE, "b-2") == 2 && s_seats (store, SEAT_HALL, "h-1") == 29);
    check_assert (store);
}

static void
s_test_role (store_t *store)
{
    member_t member;
    s_member_op (store, NULL, "member.role", "id=m-f1 role=kol", &member);
    assert (member.role == ROLE_KOL && streq (member.group, "h-1"));
    s_refused (store, NULL, "member.role", "id=m-f1 role=leader", "RULE",
               "role leader is given only by hall.handover");
    s_refused (store, NULL, "member.role", "id=m-f1 role=boss", "BAD_ARGS", "role");
    s_refused (store, NULL, "member.role", "id=m-lead role=admin", "RULE",
               "leads hall h-1 (and others) and cannot change role to admin");
    s_member_op (store, NULL, "member.role", "id=m-1 role=lecturer", &member);
    assert (member.role == ROLE_LECTURER && member.seat == SEAT_NONE);
    check_assert (store);
}

static void
s_test_import (store_t *store, const dt_key_t *leader_b1, bool verbose)
{
    dt_err_t err;
    dt_err_init (&err);
    uint32_t imported, seated;
    //  h-1 has one seat left, taken by i-1
    const char *good [] = { "2|i-1|甲||h-1", "3|i-2|乙|i-1|b-1", "4|i-3|丙|m-1|",
                            "5|i-4|丁|i-2|h-4" };
    assert (s_import (store, NULL, good, NULL, 4, &imported, &seated, &err) == 0);
    assert (imported == 4 && seated == 3);
    member_t member;
    s_member_op (store, NULL, "member.promote", "id=i-4", &member);
    assert (streq (member.referrer, "i-2") && streq (member.first_hall, "h-4"));
    assert (s_seats (store, SEAT_HALL, "h-1") == 30 && s_seats (store, SEAT_HALL, "h-4") == 0);
    check_assert (store);

    //  Bad rows: duplicate id (3), unknown group (4), unknown referrer (5),
    //  h-4 (cap 2) overflowing by earlier rows (7), bad id (8), full hall (12),
    //  existing id (13); a referrer on a later line (10) is fine; nothing is imported
    const char *bad [] = { "2|j-1|A||h-4", "3|j-1|B||", "4|j-2|C||h-nope", "5|j-3|D|m-nope|",
                           "6|j-4|E||h-4", "7|j-5|F|j-1|h-4", "8|-bad|G||", "9|j-6|H|j-4|b-1",
                           "10|j-7|I|j-8|", "11|j-8|J||", "12|j-9|K||h-1", "13|i-1|L||" };
    const uint32_t bad_lines [] = { 3, 4, 5, 7, 8, 12, 13 };
    s_import_rejected (store, NULL, bad, 12, bad_lines, 7, "already on line 2");
    assert (!s_exists (store, "j-1") && !s_exists (store, "j-8"));
    assert (s_seats (store, SEAT_HALL, "h-4") == 0);
    check_assert (store);
    s_import_rejected (store, NULL, bad + 5, 1, bad_lines + 3, 1, "j-1 is neither");
    const char *overflow [] = { "2|j-1|A||h-4", "3|j-2|B||h-4", "4|j-3|C||h-4" };
    const uint32_t overflow_lines [] = { 4 };
    s_import_rejected (store, NULL, overflow, 3, overflow_lines, 1,
                       "hall h-4 cannot take 3 more: 0/2 seats, 1 over");

    //  Rows that are not rows
    const char *broken [] = { "!x", "3|k-1", "0|k-3|L||", "5|k-4|M||", "6|k-5|N|k-4|-x" };
    const uint32_t broken_lines [] = { 0, 3, 0, 6 };
    s_import_rejected (store, NULL, broken, 5, broken_lines, 4, "row 1 is not a map");
    op_expect (store, hub_member_ops, "import.members", "rows=x", "BAD_ARGS");
    op_expect (store, hub_member_ops, "import.members", "", "BAD_ARGS");

    //  A leader key imports only into its branches
    const char *scoped [] = { "2|l-1|A||h-3", "3|l-2|B||h-4", "4|l-3|C||" };
    const uint32_t scoped_lines [] = { 2 };
    s_import_rejected (store, leader_b1, scoped, 3, scoped_lines, 1, "b-2 is out of scope");
    assert (s_import (store, leader_b1, scoped + 1, NULL, 2, &imported, &seated, &err) == 0);
    assert (imported == 2 && seated == 1 && s_seats (store, SEAT_HALL, "h-4") == 1);

    //  A large file imports whole (its speed is for make bench, not a test)
    int64_t start = zclock_mono ();
    assert (s_import (store, NULL, NULL, s_big_row, 10000, &imported, &seated, &err) == 0);
    int64_t elapsed = zclock_mono () - start;
    if (verbose)
        printf ("10000-row import in %" PRId64 " ms ", elapsed);
    assert (imported == 10000 && seated == 5000);
    assert (s_seats (store, SEAT_CORE, "b-big") == 5000);
    s_member_op (store, NULL, "member.leave", "id=s-9998", &member);
    assert (streq (member.referrer, "s-9997"));
    check_assert (store);
    dt_err_reset (&err);
}

/* Rows of the largest import: every one seated in b-huge's core. */
static const char *
s_huge_row (size_t index, char *buf, size_t size)
{
    snprintf (buf, size, "%zu|x-%zu|成员%zu||b-huge", index + 2, index, index);
    return buf;
}

/* The audit chain and the details of its summaries: 0 intact, else the
   first bad entry. */
static uint64_t
s_audit_bad (store_t *store, char *reason)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    uint64_t entries, first_bad;
    int rc = store_audit_verify (&txn, &entries, &first_bad, reason, DT_ERR_MSG_MAX);
    store_abort (&txn);
    return rc? first_bad: 0;
}

/* Flip one byte of a stored audit record (entry or detail part). */
static void
s_audit_flip (store_t *store, const uint8_t *key, size_t key_size, size_t at)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    const void *val;
    size_t size;
    assert (store_get (&txn, TBL_AUDIT, key, key_size, &val, &size, &err) == 0);
    char *altered = malloc (size);
    assert (altered && at < size);
    memcpy (altered, val, size);
    altered [at] ^= 1;
    assert (store_put (&txn, TBL_AUDIT, key, key_size, altered, size, &err) == 0);
    free (altered);
    assert (store_commit (&txn, &err) == 0);
}

/* Run import.members over rows with the flags "update" and/or "dry_run"
   (space separated); the result's counts "imported seated updated
   unchanged rejected" as text into out, or the error. */
static void
s_import_flags (store_t *store, const dt_key_t *key, const char **rows, size_t count,
                const char *flags, char *out, size_t size)
{
    args_t args;
    args_init (&args);
    msgpack_packer *pk = args_key (&args, "rows");
    msgpack_pack_array (pk, count);
    for (size_t index = 0; index < count; index++)
        s_pack_row (pk, rows [index]);
    if (strstr (flags, "update"))
        args_bool (&args, "update", true);
    if (strstr (flags, "dry_run"))
        args_bool (&args, "dry_run", true);
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    dt_err_t err;
    dt_err_init (&err);
    if (op_run_packed (store, hub_member_ops, key, "import.members", args_map (&args),
                       &result, &err) == 0) {
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        assert (msgpack_unpack_next (&unpacked, result.data, result.size, NULL)
                == MSGPACK_UNPACK_SUCCESS);
        const msgpack_object *map = &unpacked.data, *rejected = proto_map_get (map, "rejected");
        const msgpack_object *details = proto_map_get (map, "details");
        snprintf (out, size, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "%s%.*s",
                  proto_map_get (map, "imported")->via.u64,
                  proto_map_get (map, "seated")->via.u64,
                  proto_map_get (map, "updated")->via.u64,
                  proto_map_get (map, "unchanged")->via.u64,
                  rejected? rejected->via.u64: 0, details && details->via.array.size? " ": "",
                  details && details->via.array.size? (int) proto_map_get (
                      &details->via.array.ptr [0], "message")->via.str.size: 0,
                  details && details->via.array.size? proto_map_get (
                      &details->via.array.ptr [0], "message")->via.str.ptr: "");
        msgpack_unpacked_destroy (&unpacked);
    }
    else
        snprintf (out, size, "%s %.150s%s%.150s", err.code, err.message, err.ndetails? ": ": "",
                  err.ndetails? err.details [0].message: "");
    dt_err_reset (&err);
    msgpack_sbuffer_destroy (&result);
    args_destroy (&args);
}

static void
s_expect_import (store_t *store, const char **rows, size_t count, const char *flags,
                 const char *expected)
{
    char got [512];
    s_import_flags (store, NULL, rows, count, flags, got, sizeof (got));
    if (!strstr (got, expected)) {
        fprintf (stderr, "\nimport [%s]: expected %s, got %s\n", flags, expected, got);
        assert (false);
    }
}

/* A member as stored. */
static void
s_stored (store_t *store, const char *id, member_t *member)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    assert (tree_member_need (&txn, id, member, &err) == 0);
    store_abort (&txn);
}

static uint64_t
s_audit_seq (store_t *store)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    uint64_t seq = store_audit_seq (&txn) * 1000000 + store_log_head (&txn);
    store_abort (&txn);
    return seq;
}

/* --update and --dry-run: a stored id updates its member by the rules of
   the single operations; a dry run judges the same and writes nothing. */
static void
s_test_import_update (store_t *store)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    hall_t hall = { .id = "h-u", .name = "更新堂口", .branch = "b-1", .leader = "m-lead",
                    .cap = 3 };
    assert (tree_hall_put (&txn, &hall, &err) == 0);
    assert (store_commit (&txn, &err) == 0);
    const char *first [] = { "2|u-1|甲||h-u", "3|u-2|乙||", "4|u-3|丙|u-1|h-u" };
    s_expect_import (store, first, 3, "", "3 2 0 0 0");
    //  Without update a stored id is a bad row
    s_expect_import (store, first, 1, "", "IMPORT_REJECTED 1 of 1 rows rejected: "
                     "member u-1 already exists");
    //  A dry run judges as the import would, and changes nothing
    const char *update [] = { "2|u-1|甲改||", "3|u-2|乙||h-u|kol", "4|u-3|丙|u-1|h-u",
                              "5|u-4|丁|u-2|" };
    uint64_t before = s_audit_seq (store);
    s_expect_import (store, update, 4, "update dry_run", "1 0 2 1 0");
    assert (s_audit_seq (store) == before);
    member_t member;
    s_stored (store, "u-2", &member);
    assert (member.seat == SEAT_NONE && member.role == ROLE_MEMBER);
    assert (!s_exists (store, "u-4") && s_seats (store, SEAT_HALL, "h-u") == 2);
    //  The same rows for real: exactly the named fields change
    s_expect_import (store, update, 4, "update", "1 0 2 1 0");
    assert (s_audit_seq (store) != before);
    s_stored (store, "u-1", &member);
    assert (streq (member.name, "甲改") && streq (member.group, "h-u"));
    s_stored (store, "u-2", &member);
    assert (member.seat == SEAT_HALL && streq (member.group, "h-u") && member.role == ROLE_KOL);
    assert (streq (member.first_hall, "h-u") && s_seats (store, SEAT_HALL, "h-u") == 3);
    s_stored (store, "u-4", &member);
    assert (streq (member.referrer, "u-2") && member.seat == SEAT_NONE);
    check_assert (store);
    //  A move is a transfer: a seat an earlier row gives up is free for a
    //  later one; a full hall, a hall leader, a referrer change, role leader
    //  are bad rows, in dry run and real run alike
    const char *full [] = { "2|u-9|新||h-u" };
    s_expect_import (store, full, 1, "update", "hall h-u is full: 3/3 seats");
    s_expect_import (store, full, 1, "update dry_run", "0 0 0 0 1 hall h-u is full: 3/3 seats");
    const char *moves [] = { "2|u-1|甲改||b-1", "3|u-9|新||h-u" };
    s_expect_import (store, moves, 2, "update dry_run", "1 1 1 0 0");
    s_expect_import (store, moves, 2, "update", "1 1 1 0 0");
    s_stored (store, "u-1", &member);
    assert (member.seat == SEAT_CORE && streq (member.group, "b-1"));
    assert (streq (member.first_hall, "h-u") && s_seats (store, SEAT_HALL, "h-u") == 3);
    check_assert (store);
    const char *leader [] = { "2|m-lead|堂主||h-1" };
    s_expect_import (store, leader, 1, "update dry_run", "leads hall");
    const char *referrer [] = { "2|u-3|丙|u-2|" };
    s_expect_import (store, referrer, 1, "update", "referred by u-1");
    const char *role [] = { "2|u-3|丙|||leader" };
    s_expect_import (store, role, 1, "update", "role leader is given only by hall.handover");
    //  An unplaced member of no branch is changed by any key; a seated one
    //  only in the key's scope
    before = s_audit_seq (store);
    const char *same [] = { "2|u-3|丙|u-1|h-u" };
    s_expect_import (store, same, 1, "update", "0 0 0 1 0");
    assert (s_audit_seq (store) == before);
}

/* An import of 100 000 seated rows is audited as a summary whose detail
   verifies; the verifier fails only when an entry or a part is altered. */
static void
s_test_audit_at_size (store_t *store)
{
    dt_err_t err;
    dt_err_init (&err);
    char reason [DT_ERR_MSG_MAX];
    assert (s_audit_bad (store, reason) == 0);      /* after the 10 000-row import too */
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    branch_t huge = { .id = "b-huge", .name = "特大分舵", .leader = "o-1", .cap = 100000 };
    assert (tree_branch_put (&txn, &huge, &err) == 0);
    assert (store_commit (&txn, &err) == 0);
    uint32_t imported, seated;
    assert (s_import (store, NULL, NULL, s_huge_row, 100000, &imported, &seated, &err) == 0);
    assert (imported == 100000 && seated == 100000);
    assert (s_audit_bad (store, reason) == 0);

    //  audit.list shows the summary: the first changes and their number
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    assert (op_run (store, query_ops, NULL, "audit.list", "limit:=1", &result, &err) == 0);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, result.data, result.size, NULL)
            == MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *entries = proto_map_get (&unpacked.data, "entries");
    assert (entries && entries->via.array.size == 1);
    const msgpack_object *entry = &entries->via.array.ptr [0];
    //  One change per member, and one per group its seat counter moved in
    assert (proto_map_get (entry, "changes_total")->via.u64 == 100001);
    assert (proto_map_get (entry, "changes")->via.array.size == STORE_AUDIT_SHOWN);
    uint64_t seq = proto_map_get (entry, "seq")->via.u64;
    uint64_t parts = proto_map_get (entry, "detail_parts")->via.u64;
    assert (parts > 1);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&result);

    //  A byte changed in a part of the detail, or in the summary, is found
    uint8_t key [16];
    store_seq_key (seq, key);
    store_seq_key (parts / 2, key + 8);
    s_audit_flip (store, key, 16, 100);
    assert (s_audit_bad (store, reason) == seq && strstr (reason, "detail"));
    s_audit_flip (store, key, 16, 100);
    assert (s_audit_bad (store, reason) == 0);
    s_audit_flip (store, key, 8, 20);
    assert (s_audit_bad (store, reason) != 0);
    s_audit_flip (store, key, 8, 20);
    assert (s_audit_bad (store, reason) == 0);
    dt_err_reset (&err);
}

void
hub_member_test (bool verbose)
{
    store_t *store = scratch_new ("member-test", 256);
    s_setup (store);
    check_assert (store);
    dt_key_t leader_b1 = { .name = "lk1", .role = KEY_LEADER, .branches = { "b-1" },
                           .nbranches = 1 };
    dt_key_t leader_b2 = { .name = "lk2", .role = KEY_LEADER, .branches = { "b-2" },
                           .nbranches = 1 };
    s_test_add (store);
    s_test_join_leave (store, &leader_b1);
    s_test_transfer (store, &leader_b1, &leader_b2);
    s_test_promote_demote (store);
    s_test_role (store);
    s_test_import (store, &leader_b1, verbose);
    s_test_import_staged (store);
    s_test_import_update (store);
    s_test_audit_at_size (store);
    scratch_destroy (&store);
}
