/* hub_org.c -- officer, branch and hall writes: create, rename, caps, handover,
   restructuring (move, merge, split, dissolve) and assigning branches to nodes.
   Every FULL / RULE / NOT_EMPTY decision is the rules module's (rules.h). */
#include "hub_ops.h"
#include "rules.h"
#include "check.h"
#include "scratch.h"
#include "repl.h"
#include "uplink.h"

//  Arguments

/* A cap in 1..DT_CAP_MAX; *cap is 0 (the default cap) when absent. */
static int
s_arg_cap (const msgpack_object *args, bool required, uint32_t *cap, dt_err_t *err)
{
    uint64_t value = 0;
    int rc = proto_arg_uint (args, "cap", required, &value, err);
    if (rc == 1 && (value < 1 || value > DT_CAP_MAX))
        return dt_err_set (err, "BAD_ARGS", "argument \"cap\" must be 1..%d", DT_CAP_MAX);
    *cap = (uint32_t) value;
    return rc;
}

/* Where a dissolved group's members go: into (an id, "" when absent) or
   release. Giving both is ambiguous, so it is refused. */
static int
s_arg_where (const msgpack_object *args, char into [DT_ID_MAX + 1], bool *release,
             dt_err_t *err)
{
    int has_into = proto_arg_id (args, "into", false, into, err);
    if (has_into < 0)
        return -1;
    int has_release = proto_arg_bool (args, "release", false, release, err);
    if (has_release < 0)
        return -1;
    if (has_into == 0)
        into [0] = 0;
    if (has_release == 0)
        *release = false;
    if (has_into == 1 && has_release == 1)
        return dt_err_set (err, "BAD_ARGS", "give either \"into\" or \"release\", not both");
    return 0;
}

/* A required array of distinct member ids, at most DT_LIST_MAX long. */
static int
s_arg_ids (const msgpack_object *args, const char *key, const msgpack_object **out,
           dt_err_t *err)
{
    if (proto_arg_array (args, key, true, out, err) < 0)
        return -1;
    const msgpack_object_array *list = &(*out)->via.array;
    if (list->size > DT_LIST_MAX)
        return dt_err_set (err, "TOO_LARGE", "argument \"%s\" has %u elements; at most %d",
                           key, list->size, DT_LIST_MAX);
    zhashx_t *seen = zhashx_new ();
    int rc = 0;
    for (uint32_t i = 0; i < list->size && rc == 0; i++) {
        char id [DT_ID_MAX + 1];
        if (!proto_obj_str (&list->ptr [i], id, DT_ID_MAX) || !dt_id_valid (id, strlen (id)))
            rc = dt_err_set (err, "BAD_ARGS", "argument \"%s\" element %u is not a valid id",
                             key, i);
        else
        if (zhashx_insert (seen, id, (void *) 1))
            rc = dt_err_set (err, "BAD_ARGS", "argument \"%s\" lists %s twice", key, id);
    }
    zhashx_destroy (&seen);
    return rc;
}

//  Lookups

/* 0 if no record of table uses id, else EXISTS. */
static int
s_free_id (op_ctx_t *ctx, store_table_t table, const char *id)
{
    const void *val = NULL;
    size_t size = 0;
    int rc = store_get (ctx->txn, table, id, strlen (id), &val, &size, ctx->err);
    if (rc == 0)
        return dt_err_set (ctx->err, "EXISTS", "%s %s already exists",
                           store_table_name (table), id);
    return rc == 1? 0: -1;
}

/* The branch, if the key may act on it and it exists (scope first, so that
   an out-of-scope key learns nothing about which ids exist). */
static int
s_branch_in_scope (op_ctx_t *ctx, const char *id, branch_t *branch)
{
    return op_allow (ctx, id) || tree_branch_need (ctx->txn, id, branch, ctx->err)? -1: 0;
}

/* The hall, if it exists and the key may act on its branch. */
static int
s_hall_in_scope (op_ctx_t *ctx, const char *id, hall_t *hall)
{
    return tree_hall_need (ctx->txn, id, hall, ctx->err) || op_allow (ctx, hall->branch)? -1: 0;
}

//  Results

static int
s_reply_branch (op_ctx_t *ctx, const char *id)
{
    branch_t branch;
    if (tree_branch_need (ctx->txn, id, &branch, ctx->err))
        return -1;
    record_branch_pack (&branch, tree_branch_cap (ctx->txn, &branch), ctx->pk);
    return 0;
}

static int
s_reply_hall (op_ctx_t *ctx, const char *id)
{
    hall_t hall;
    if (tree_hall_need (ctx->txn, id, &hall, ctx->err))
        return -1;
    record_hall_pack (&hall, tree_hall_cap (ctx->txn, &hall), ctx->pk);
    return 0;
}

static void
s_pack_uint (msgpack_packer *pk, const char *key, uint32_t value)
{
    proto_pack_key (pk, key);
    msgpack_pack_uint32 (pk, value);
}

//  A branch or a hall: what the operations both have (rename, set_cap,
//  handover, dissolve) see of either, so that each is written once.

typedef struct {
    seat_kind_t kind;           /* SEAT_CORE: a branch, SEAT_HALL: a hall */
    branch_t branch;            /* kind SEAT_CORE */
    hall_t hall;                /* kind SEAT_HALL */
} s_group_t;

static const char *
s_noun (seat_kind_t kind)
{
    return kind == SEAT_CORE? "branch": "hall";
}

/* Load the group named id, within the key's scope. */
static int
s_group_load (op_ctx_t *ctx, seat_kind_t kind, const char *id, s_group_t *group)
{
    group->kind = kind;
    return kind == SEAT_CORE? s_branch_in_scope (ctx, id, &group->branch)
                            : s_hall_in_scope (ctx, id, &group->hall);
}

static char *
s_group_name (s_group_t *group)
{
    return group->kind == SEAT_CORE? group->branch.name: group->hall.name;
}

static char *
s_group_leader (s_group_t *group)
{
    return group->kind == SEAT_CORE? group->branch.leader: group->hall.leader;
}

static uint32_t *
s_group_cap (s_group_t *group)
{
    return group->kind == SEAT_CORE? &group->branch.cap: &group->hall.cap;
}

/* Seats the group holds: a branch's core seats, a hall's seats. */
static uint32_t
s_group_seats (const s_group_t *group)
{
    return group->kind == SEAT_CORE? group->branch.core_seats: group->hall.seats;
}

/* The branch a group belongs to (a branch: itself). */
static const char *
s_group_branch (const s_group_t *group)
{
    return group->kind == SEAT_CORE? group->branch.id: group->hall.branch;
}

/* Store the group as changed. */
static int
s_group_put (op_ctx_t *ctx, const s_group_t *group)
{
    return group->kind == SEAT_CORE? tree_branch_put (ctx->txn, &group->branch, ctx->err)
                                   : tree_hall_put (ctx->txn, &group->hall, ctx->err);
}

/* Answer the group as stored. */
static int
s_group_reply (op_ctx_t *ctx, const s_group_t *group)
{
    return group->kind == SEAT_CORE? s_reply_branch (ctx, group->branch.id)
                                   : s_reply_hall (ctx, group->hall.id);
}

//  Seats and roles

/* Give a member the role their halls call for: leader while they lead a hall,
   back to member once they lead none (any other role is theirs to keep). */
static int
s_role_sync (store_txn_t *txn, const char *id, dt_err_t *err)
{
    member_t member;
    int found = tree_member_get (txn, id, &member, err);
    if (found)
        return found == 1? 0: -1;
    char hall [DT_ID_MAX + 1];
    role_t role = tree_member_leads (txn, &member, hall)? ROLE_LEADER
                : member.role == ROLE_LEADER? ROLE_MEMBER: member.role;
    if (role == member.role)
        return 0;
    member.role = role;
    return tree_member_put (txn, &member, err);
}

/* Seat member id in kind/group (SEAT_NONE releases: an unplaced member
   leads nothing). */
static int
s_reseat (store_txn_t *txn, const char *id, seat_kind_t kind, const char *group,
          dt_err_t *err)
{
    member_t member;
    if (tree_member_need (txn, id, &member, err))
        return -1;
    if (kind == SEAT_NONE && member.role == ROLE_LEADER)
        member.role = ROLE_MEMBER;
    return rules_seat (txn, &member, kind, group, err);
}

/* Re-seat everyone seated in kind/from into to_kind/to, adding to *count.
   The ids are copied first because each seat change rewrites the index. */
static int
s_group_move (store_txn_t *txn, seat_kind_t kind, const char *from,
              seat_kind_t to_kind, const char *to, uint32_t *count, dt_err_t *err)
{
    zlistx_t *ids = tree_seat_ids (txn, kind, from, err);
    if (!ids)
        return -1;
    int rc = 0;
    for (char *id = zlistx_first (ids); id && rc == 0; id = zlistx_next (ids)) {
        rc = s_reseat (txn, id, to_kind, to, err);
        (*count)++;
    }
    zlistx_destroy (&ids);
    return rc;
}

/* Empty a hall into another hall (to_kind SEAT_HALL) or release its members
   (SEAT_NONE), delete it, and let its leader's role follow. */
static int
s_hall_remove (store_txn_t *txn, const hall_t *hall, seat_kind_t to_kind, const char *to,
               uint32_t *count, dt_err_t *err)
{
    if (s_group_move (txn, SEAT_HALL, hall->id, to_kind, to, count, err)
    ||  tree_hall_del (txn, hall->id, err))
        return -1;
    return s_role_sync (txn, hall->leader, err);
}

//  Officers

/* OFFICER ADD id name */
static int
s_officer_add (op_ctx_t *ctx, const msgpack_object *args)
{
    officer_t officer = { .created = ctx->now };
    if (proto_arg_id (args, "id", true, officer.id, ctx->err) < 0
    ||  proto_arg_name (args, "name", true, officer.name, ctx->err) < 0
    ||  s_free_id (ctx, TBL_OFFICER, officer.id)
    ||  tree_officer_put (ctx->txn, &officer, ctx->err))
        return -1;
    record_officer_pack (&officer, 0, ctx->pk);
    return 0;
}

//  What branches and halls share

/* BRANCH RENAME id name, HALL RENAME id name */
static int
s_rename (op_ctx_t *ctx, const msgpack_object *args, seat_kind_t kind)
{
    char id [DT_ID_MAX + 1], name [DT_NAME_MAX + 1];
    s_group_t group;
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0
    ||  proto_arg_name (args, "name", true, name, ctx->err) < 0
    ||  s_group_load (ctx, kind, id, &group))
        return -1;
    strcpy (s_group_name (&group), name);
    return s_group_put (ctx, &group) || s_group_reply (ctx, &group)? -1: 0;
}

/* BRANCH SET_CAP id cap, HALL SET_CAP id cap: never below the seats held. */
static int
s_set_cap (op_ctx_t *ctx, const msgpack_object *args, seat_kind_t kind)
{
    char id [DT_ID_MAX + 1];
    uint32_t cap;
    s_group_t group;
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0
    ||  s_arg_cap (args, true, &cap, ctx->err) < 0
    ||  s_group_load (ctx, kind, id, &group)
    ||  rules_cap_allows (kind, id, s_group_seats (&group), cap, ctx->err))
        return -1;
    *s_group_cap (&group) = cap;
    return s_group_put (ctx, &group) || s_group_reply (ctx, &group)? -1: 0;
}

/* BRANCH HANDOVER id to (an officer), HALL HANDOVER id to (a member with a
   core seat of the hall's branch). Only leadership changes hands: the
   group's members stay where they are. The officer handing a branch over
   may then lead nothing (the compliance report lists them); a member
   handing a hall over loses the leader role once they lead none. */
static int
s_handover (op_ctx_t *ctx, const msgpack_object *args, seat_kind_t kind)
{
    char id [DT_ID_MAX + 1], to [DT_ID_MAX + 1], old [DT_ID_MAX + 1];
    s_group_t group;
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0
    ||  proto_arg_id (args, "to", true, to, ctx->err) < 0
    ||  s_group_load (ctx, kind, id, &group)
    ||  rules_may_lead (ctx->txn, kind, s_group_branch (&group), to, ctx->err))
        return -1;
    strcpy (old, s_group_leader (&group));
    strcpy (s_group_leader (&group), to);
    if (s_group_put (ctx, &group))
        return -1;
    if (kind == SEAT_HALL
    && (s_role_sync (ctx->txn, to, ctx->err) || s_role_sync (ctx->txn, old, ctx->err)))
        return -1;
    return s_group_reply (ctx, &group);
}

typedef struct {
    uint32_t moved_halls;
    uint32_t moved;             /* seats that moved with the group (a branch:
                                   core and hall seats, its moved_members) */
    uint32_t released;
} s_tally_t;

/* Collect the ids of a branch's halls (a copy: the caller changes halls). */
static int
s_collect_hall (const hall_t *hall, void *arg)
{
    zlistx_add_end ((zlistx_t *) arg, (void *) hall->id);
    return 0;
}

static zlistx_t *
s_hall_ids (store_txn_t *txn, const char *branch, dt_err_t *err)
{
    zlistx_t *ids = zlistx_new ();
    zlistx_set_duplicator (ids, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor (ids, (zlistx_destructor_fn *) zstr_free);
    if (tree_hall_visit (txn, branch, s_collect_hall, ids, err))
        zlistx_destroy (&ids);
    return ids;
}

/* Move one hall (its members follow) to another branch. */
static int
s_hall_rehome (store_txn_t *txn, const char *id, const char *branch, s_tally_t *tally,
               dt_err_t *err)
{
    hall_t hall;
    if (tree_hall_need (txn, id, &hall, err))
        return -1;
    strcpy (hall.branch, branch);
    tally->moved += hall.seats;
    return tree_hall_put (txn, &hall, err);
}

/* Empty a branch: halls and core seats go into another branch, or (into "")
   every hall is dissolved and every seated member released. The room in
   the other branch is checked first. */
static int
s_branch_empty (op_ctx_t *ctx, const branch_t *branch, const char *into, s_tally_t *tally)
{
    store_txn_t *txn = ctx->txn;
    dt_err_t *err = ctx->err;
    if (*into && rules_room (txn, SEAT_CORE, into, branch->core_seats, err))
        return -1;
    zlistx_t *halls = s_hall_ids (txn, branch->id, err);
    if (!halls)
        return -1;
    int rc = 0;
    for (char *hall_id = zlistx_first (halls); hall_id && rc == 0;
         hall_id = zlistx_next (halls)) {
        hall_t hall;
        if (*into) {
            rc = s_hall_rehome (txn, hall_id, into, tally, err);
            tally->moved_halls++;
        }
        else
            rc = tree_hall_need (txn, hall_id, &hall, err)
              || s_hall_remove (txn, &hall, SEAT_NONE, "", &tally->released, err)? -1: 0;
    }
    zlistx_destroy (&halls);
    if (rc)
        return -1;
    //  Hall leaders hold core seats: they go with the core
    return s_group_move (txn, SEAT_CORE, branch->id, *into? SEAT_CORE: SEAT_NONE, into,
                         *into? &tally->moved: &tally->released, err)
        || tree_branch_del (txn, branch->id, err)? -1: 0;
}

/* Empty a hall into another hall (room checked first) or release its members. */
static int
s_hall_empty (op_ctx_t *ctx, const hall_t *hall, const char *into, s_tally_t *tally)
{
    hall_t target;
    if (*into
    && (s_hall_in_scope (ctx, into, &target)
    ||  rules_hall_fits (ctx->txn, "dissolve", &target, hall->seats, ctx->err)))
        return -1;
    return s_hall_remove (ctx->txn, hall, *into? SEAT_HALL: SEAT_NONE, into,
                          *into? &tally->moved: &tally->released, ctx->err);
}

/* BRANCH DISSOLVE id [into | release], HALL DISSOLVE id [into | release] */
static int
s_dissolve (op_ctx_t *ctx, const msgpack_object *args, seat_kind_t kind)
{
    char id [DT_ID_MAX + 1], into [DT_ID_MAX + 1];
    bool release;
    s_group_t group;
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0
    ||  s_arg_where (args, into, &release, ctx->err)
    ||  s_group_load (ctx, kind, id, &group))
        return -1;
    if (streq (into, id))
        return dt_err_set (ctx->err, "BAD_ARGS", "cannot dissolve %s %s into itself",
                           s_noun (kind), id);
    s_tally_t tally = { 0 };
    if (rules_dissolvable (kind, id, s_group_seats (&group),
                           kind == SEAT_CORE? group.branch.halls: 0, *into || release,
                           ctx->err)
    ||  (kind == SEAT_CORE? s_branch_empty (ctx, &group.branch, into, &tally)
                          : s_hall_empty (ctx, &group.hall, into, &tally)))
        return -1;
    msgpack_pack_map (ctx->pk, kind == SEAT_CORE? 4: 3);
    proto_pack_key (ctx->pk, "dissolved");
    proto_pack_str (ctx->pk, id);
    if (kind == SEAT_CORE) {
        s_pack_uint (ctx->pk, "moved_halls", tally.moved_halls);
        s_pack_uint (ctx->pk, "moved_members", tally.moved);
    }
    else
        s_pack_uint (ctx->pk, "moved", tally.moved);
    s_pack_uint (ctx->pk, "released", tally.released);
    return 0;
}

//  Branches
//  (Each operation has its handler for the table to bind; the branch and the
//  hall forms of rename, set_cap, handover and dissolve are one function
//  above. The creates stay apart: a branch is led by an officer and needs
//  hq-admin, a hall by a seated member within a branch's scope.)

/* BRANCH CREATE id name leader [cap] */
static int
s_branch_create (op_ctx_t *ctx, const msgpack_object *args)
{
    branch_t branch = { .created = ctx->now };
    if (proto_arg_id (args, "id", true, branch.id, ctx->err) < 0
    ||  proto_arg_name (args, "name", true, branch.name, ctx->err) < 0
    ||  proto_arg_id (args, "leader", true, branch.leader, ctx->err) < 0
    ||  s_arg_cap (args, false, &branch.cap, ctx->err) < 0
    ||  s_free_id (ctx, TBL_BRANCH, branch.id)
    ||  rules_may_lead (ctx->txn, SEAT_CORE, branch.id, branch.leader, ctx->err)
    ||  tree_branch_put (ctx->txn, &branch, ctx->err))
        return -1;
    return s_reply_branch (ctx, branch.id);
}

/* BRANCH RENAME id name */
static int
s_branch_rename (op_ctx_t *ctx, const msgpack_object *args)
{
    return s_rename (ctx, args, SEAT_CORE);
}

/* BRANCH SET_CAP id cap */
static int
s_branch_set_cap (op_ctx_t *ctx, const msgpack_object *args)
{
    return s_set_cap (ctx, args, SEAT_CORE);
}

/* BRANCH HANDOVER id to */
static int
s_branch_handover (op_ctx_t *ctx, const msgpack_object *args)
{
    return s_handover (ctx, args, SEAT_CORE);
}

/* BRANCH DISSOLVE id [into | release] */
static int
s_branch_dissolve (op_ctx_t *ctx, const msgpack_object *args)
{
    return s_dissolve (ctx, args, SEAT_CORE);
}

/* BRANCH ASSIGN id node */
static int
s_branch_assign (op_ctx_t *ctx, const msgpack_object *args)
{
    char id [DT_ID_MAX + 1], node [DT_ID_MAX + 1];
    branch_t branch;
    const void *val = NULL;
    size_t size = 0;
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0
    ||  proto_arg_id (args, "node", true, node, ctx->err) < 0
    ||  tree_branch_need (ctx->txn, id, &branch, ctx->err))
        return -1;
    int found = store_get (ctx->txn, TBL_NODE, node, strlen (node), &val, &size, ctx->err);
    if (found)
        return found == 1? dt_err_set (ctx->err, "NOT_FOUND", "unknown node %s", node): -1;
    //  Content the old node accepted before now still counts when it arrives
    if (*branch.node && !streq (branch.node, node)
    &&  uplink_handoff (ctx->txn, id, branch.node, ctx->now, ctx->err))
        return -1;
    strcpy (branch.node, node);
    //  The branch record's scope tells the old node to let go; the new node
    //  has none of the branch yet, so it receives it whole.
    if (tree_branch_put (ctx->txn, &branch, ctx->err)
    ||  repl_branch_resend (ctx->txn, id, branch.node, ctx->err))
        return -1;
    return s_reply_branch (ctx, id);
}

//  Halls

/* HALL CREATE id name branch leader [cap] */
static int
s_hall_create (op_ctx_t *ctx, const msgpack_object *args)
{
    hall_t hall = { .created = ctx->now };
    branch_t branch;
    if (proto_arg_id (args, "id", true, hall.id, ctx->err) < 0
    ||  proto_arg_name (args, "name", true, hall.name, ctx->err) < 0
    ||  proto_arg_id (args, "branch", true, hall.branch, ctx->err) < 0
    ||  proto_arg_id (args, "leader", true, hall.leader, ctx->err) < 0
    ||  s_arg_cap (args, false, &hall.cap, ctx->err) < 0
    ||  s_branch_in_scope (ctx, hall.branch, &branch)
    ||  s_free_id (ctx, TBL_HALL, hall.id)
    ||  rules_may_lead (ctx->txn, SEAT_HALL, hall.branch, hall.leader, ctx->err)
    ||  tree_hall_put (ctx->txn, &hall, ctx->err)
    ||  s_role_sync (ctx->txn, hall.leader, ctx->err))
        return -1;
    return s_reply_hall (ctx, hall.id);
}

/* HALL RENAME id name */
static int
s_hall_rename (op_ctx_t *ctx, const msgpack_object *args)
{
    return s_rename (ctx, args, SEAT_HALL);
}

/* HALL SET_CAP id cap */
static int
s_hall_set_cap (op_ctx_t *ctx, const msgpack_object *args)
{
    return s_set_cap (ctx, args, SEAT_HALL);
}

/* HALL MOVE id to
   The leader's core seat goes along, so the hall keeps a leader seated in
   its branch; a leader of several halls there would leave the others
   without one. */
static int
s_hall_move (op_ctx_t *ctx, const msgpack_object *args)
{
    char id [DT_ID_MAX + 1], to [DT_ID_MAX + 1];
    hall_t hall;
    branch_t target;
    member_t leader;
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0
    ||  proto_arg_id (args, "to", true, to, ctx->err) < 0
    ||  s_hall_in_scope (ctx, id, &hall)
    ||  s_branch_in_scope (ctx, to, &target))
        return -1;
    if (streq (hall.branch, to))
        return s_reply_hall (ctx, id);
    if (tree_member_need (ctx->txn, hall.leader, &leader, ctx->err)
    ||  rules_leader_moves (ctx->txn, &leader, &hall, ctx->err))
        return -1;
    strcpy (hall.branch, to);
    if (rules_seat (ctx->txn, &leader, SEAT_CORE, to, ctx->err)
    ||  tree_hall_put (ctx->txn, &hall, ctx->err))
        return -1;
    return s_reply_hall (ctx, id);
}

/* HALL MERGE id into
   The merged hall's leader keeps their core seat. */
static int
s_hall_merge (op_ctx_t *ctx, const msgpack_object *args)
{
    char id [DT_ID_MAX + 1], into [DT_ID_MAX + 1];
    hall_t from, to;
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0
    ||  proto_arg_id (args, "into", true, into, ctx->err) < 0)
        return -1;
    if (streq (id, into))
        return dt_err_set (ctx->err, "BAD_ARGS", "cannot merge hall %s into itself", id);
    uint32_t moved = 0;
    if (s_hall_in_scope (ctx, id, &from)
    ||  s_hall_in_scope (ctx, into, &to)
    ||  rules_hall_fits (ctx->txn, "merge", &to, from.seats, ctx->err)
    ||  s_hall_remove (ctx->txn, &from, SEAT_HALL, into, &moved, ctx->err)
    ||  tree_hall_need (ctx->txn, into, &to, ctx->err))
        return -1;
    msgpack_pack_map (ctx->pk, 3);
    proto_pack_key (ctx->pk, "merged");
    proto_pack_str (ctx->pk, id);
    proto_pack_key (ctx->pk, "into");
    record_hall_pack (&to, tree_hall_cap (ctx->txn, &to), ctx->pk);
    s_pack_uint (ctx->pk, "moved", moved);
    return 0;
}

/* 0 if every listed member sits in hall, else NOT_FOUND / RULE naming the
   first that does not. */
static int
s_seated_in (store_txn_t *txn, const msgpack_object *ids, const char *hall, dt_err_t *err)
{
    for (uint32_t i = 0; i < ids->via.array.size; i++) {
        char id [DT_ID_MAX + 1];
        member_t member;
        proto_obj_str (&ids->via.array.ptr [i], id, DT_ID_MAX);
        if (tree_member_need (txn, id, &member, err)
        ||  rules_sits_in (&member, hall, err))
            return -1;
    }
    return 0;
}

/* HALL SPLIT id new_id new_name leader members */
static int
s_hall_split (op_ctx_t *ctx, const msgpack_object *args)
{
    char id [DT_ID_MAX + 1];
    hall_t from, split = { .created = ctx->now };
    const msgpack_object *ids;
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0
    ||  proto_arg_id (args, "new_id", true, split.id, ctx->err) < 0
    ||  proto_arg_name (args, "new_name", true, split.name, ctx->err) < 0
    ||  proto_arg_id (args, "leader", true, split.leader, ctx->err) < 0
    ||  s_arg_ids (args, "members", &ids, ctx->err)
    ||  s_hall_in_scope (ctx, id, &from)
    ||  s_free_id (ctx, TBL_HALL, split.id)
    ||  rules_may_lead (ctx->txn, SEAT_HALL, from.branch, split.leader, ctx->err)
    ||  s_seated_in (ctx->txn, ids, id, ctx->err)
    ||  rules_hall_fits (ctx->txn, "split", &split, ids->via.array.size, ctx->err))
        return -1;
    strcpy (split.branch, from.branch);
    if (tree_hall_put (ctx->txn, &split, ctx->err)
    ||  s_role_sync (ctx->txn, split.leader, ctx->err))
        return -1;
    for (uint32_t i = 0; i < ids->via.array.size; i++) {
        char member [DT_ID_MAX + 1];
        proto_obj_str (&ids->via.array.ptr [i], member, DT_ID_MAX);
        if (s_reseat (ctx->txn, member, SEAT_HALL, split.id, ctx->err))
            return -1;
    }
    if (tree_hall_need (ctx->txn, id, &from, ctx->err)
    ||  tree_hall_need (ctx->txn, split.id, &split, ctx->err))
        return -1;
    msgpack_pack_map (ctx->pk, 3);
    proto_pack_key (ctx->pk, "from");
    record_hall_pack (&from, tree_hall_cap (ctx->txn, &from), ctx->pk);
    proto_pack_key (ctx->pk, "new");
    record_hall_pack (&split, tree_hall_cap (ctx->txn, &split), ctx->pk);
    s_pack_uint (ctx->pk, "moved", ids->via.array.size);
    return 0;
}

/* HALL HANDOVER id to */
static int
s_hall_handover (op_ctx_t *ctx, const msgpack_object *args)
{
    return s_handover (ctx, args, SEAT_HALL);
}

/* HALL DISSOLVE id [into | release] */
static int
s_hall_dissolve (op_ctx_t *ctx, const msgpack_object *args)
{
    return s_dissolve (ctx, args, SEAT_HALL);
}

const op_t hub_org_ops [] = {
    { "officer.add", s_officer_add },
    { "branch.create", s_branch_create },
    { "branch.rename", s_branch_rename },
    { "branch.set_cap", s_branch_set_cap },
    { "branch.handover", s_branch_handover },
    { "branch.dissolve", s_branch_dissolve },
    { "branch.assign", s_branch_assign },
    { "hall.create", s_hall_create },
    { "hall.rename", s_hall_rename },
    { "hall.set_cap", s_hall_set_cap },
    { "hall.move", s_hall_move },
    { "hall.merge", s_hall_merge },
    { "hall.split", s_hall_split },
    { "hall.handover", s_hall_handover },
    { "hall.dissolve", s_hall_dissolve },
    { NULL, NULL }
};

//  Self-test

/* Seat (or, kind SEAT_NONE, create unplaced) a member straight in the store,
   as member.join would. */
static void
s_seat (store_t *store, const char *id, seat_kind_t kind, const char *group)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    txn.log = true;
    member_t member = { .created = 1 };
    if (tree_member_get (&txn, id, &member, &err) == 1) {
        snprintf (member.id, sizeof (member.id), "%s", id);
        snprintf (member.name, sizeof (member.name), "%s", id);
    }
    assert (rules_seat (&txn, &member, kind, group, &err) == 0);
    assert (store_commit (&txn, &err) == 0);
}

/* Seat count members PREFIX-00.. in a group. */
static void
s_fill (store_t *store, const char *prefix, int count, seat_kind_t kind, const char *group)
{
    for (int i = 0; i < count; i++) {
        char id [DT_ID_MAX + 1];
        snprintf (id, sizeof (id), "%s-%02d", prefix, i);
        s_seat (store, id, kind, group);
    }
}

static member_t
s_member (store_t *store, const char *id)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    member_t member;
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    assert (tree_member_get (&txn, id, &member, &err) == 0);
    store_abort (&txn);
    return member;
}

/* The hall (found) or a hall with an empty id (gone). */
static hall_t
s_hall (store_t *store, const char *id)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    hall_t hall = { .id = "" };
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    if (tree_hall_get (&txn, id, &hall, &err) != 0)
        hall.id [0] = 0;
    store_abort (&txn);
    return hall;
}

static branch_t
s_branch (store_t *store, const char *id)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    branch_t branch = { .id = "" };
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    if (tree_branch_get (&txn, id, &branch, &err) != 0)
        branch.id [0] = 0;
    store_abort (&txn);
    return branch;
}

static uint64_t
s_log_head (store_t *store)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    uint64_t head = store_log_head (&txn);
    store_abort (&txn);
    return head;
}

/* Run an op as key (NULL = hq-admin), expecting failure with code and a
   message containing text. */
static void
s_refused (store_t *store, const dt_key_t *key, const char *name, const char *args,
           const char *code, const char *text)
{
    op_refused (store, hub_org_ops, key, name, args, code, text);
}

/* Run an op as hq-admin, expecting success; return the unsigned result
   field (0 if none is asked for). */
static uint64_t
s_result (store_t *store, const char *name, const char *args, const char *field)
{
    dt_err_t err;
    dt_err_init (&err);
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    int rc = op_run (store, hub_org_ops, NULL, name, args, &result, &err);
    if (rc)
        fprintf (stderr, "\n%s %s: %s: %s\n", name, args, err.code, err.message);
    assert (rc == 0);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, result.data, result.size, NULL)
            == MSGPACK_UNPACK_SUCCESS);
    assert (unpacked.data.type == MSGPACK_OBJECT_MAP);
    uint64_t value = 0;
    if (field) {
        const msgpack_object *obj = proto_map_get (&unpacked.data, field);
        assert (obj && obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
        value = obj->via.u64;
    }
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&result);
    return value;
}

static void
s_add_node (store_t *store, const char *id)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    node_t node = { .created = 1 };
    snprintf (node.id, sizeof (node.id), "%s", id);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    record_node_encode (&node, &buf);
    assert (store_put (&txn, TBL_NODE, id, strlen (id), buf.data, buf.size, &err) == 0);
    msgpack_sbuffer_destroy (&buf);
    assert (store_commit (&txn, &err) == 0);
}

void
hub_org_test (bool verbose)
{
    (void) verbose;
    store_t *store = scratch_new ("org-test", 64);
    dt_err_t err;
    dt_err_init (&err);
    const op_t *ops = hub_org_ops;
    dt_key_t lk = { .name = "lk", .role = KEY_LEADER, .branches = { "b-1" }, .nbranches = 1 };

    //  Officers and branches
    op_expect (store, ops, "officer.add", "id=o-1 name=张三", NULL);
    op_expect (store, ops, "officer.add", "id=o-2 name=李四", NULL);
    op_expect (store, ops, "officer.add", "id=o-1 name=again", "EXISTS");
    op_expect (store, ops, "officer.add", "id=-bad name=x", "BAD_ARGS");
    op_expect (store, ops, "officer.add", "id=o-3", "BAD_ARGS");
    op_expect (store, ops, "branch.create", "id=b-1 name=成都分舵 leader=o-1", NULL);
    op_expect (store, ops, "branch.create", "id=b-2 name=重庆分舵 leader=o-1 cap:=3", NULL);
    op_expect (store, ops, "branch.create", "id=b-1 name=x leader=o-1", "EXISTS");
    op_expect (store, ops, "branch.create", "id=b-9 name=x leader=o-9", "NOT_FOUND");
    op_expect (store, ops, "branch.create", "id=b-9 name=x leader=o-1 cap:=0", "BAD_ARGS");
    op_expect (store, ops, "branch.create", "id=b-9 name=x leader=o-1 cap:=100001", "BAD_ARGS");
    op_expect (store, ops, "branch.rename", "id=b-1 name=成华分舵", NULL);
    op_expect (store, ops, "branch.rename", "id=b-9 name=x", "NOT_FOUND");
    assert (streq (s_branch (store, "b-1").name, "成华分舵"));
    assert (s_branch (store, "b-2").cap == 3);
    s_refused (store, &lk, "branch.create", "id=b-8 name=x leader=o-1", "DENIED", "hq-admin");
    s_refused (store, &lk, "officer.add", "id=o-8 name=x", "DENIED", "hq-admin");
    s_refused (store, &lk, "branch.set_cap", "id=b-2 cap:=10", "DENIED", "only on branch b-1");
    s_refused (store, &lk, "branch.rename", "id=b-2 name=x", "DENIED", "b-2 is out of scope");

    //  Halls need a leader with a core seat in their branch
    s_fill (store, "m-l", 4, SEAT_CORE, "b-1");
    s_seat (store, "m-l9", SEAT_CORE, "b-2");
    s_seat (store, "m-x", SEAT_NONE, "");
    op_expect (store, ops, "hall.create", "id=h-a name=青羊堂口 branch=b-1 leader=m-l-00", NULL);
    op_expect (store, ops, "hall.create", "id=h-b name=武侯堂口 branch=b-1 leader=m-l-01", NULL);
    assert (s_member (store, "m-l-00").role == ROLE_LEADER);
    s_refused (store, NULL, "hall.create", "id=h-c name=x branch=b-1 leader=m-x", "RULE",
               "must hold a core seat");
    s_refused (store, NULL, "hall.create", "id=h-c name=x branch=b-1 leader=m-l9", "RULE",
               "m-l9 cannot lead a hall of branch b-1");
    op_expect (store, ops, "hall.create", "id=h-a name=x branch=b-1 leader=m-l-00", "EXISTS");
    op_expect (store, ops, "hall.create", "id=h-c name=x branch=b-9 leader=m-l-00", "NOT_FOUND");
    op_expect (store, ops, "hall.create", "id=h-c name=x branch=b-1 leader=m-9", "NOT_FOUND");
    op_expect (store, ops, "hall.create", "id=h-c name=x branch=b-1 leader=m-l-00 cap:=0",
               "BAD_ARGS");
    s_refused (store, &lk, "hall.create", "id=h-c name=x branch=b-2 leader=m-l9", "DENIED",
               "b-2");
    op_expect (store, ops, "hall.rename", "id=h-a name=锦江堂口", NULL);
    op_expect (store, ops, "hall.rename", "id=h-9 name=x", "NOT_FOUND");
    assert (streq (s_hall (store, "h-a").name, "锦江堂口"));
    s_fill (store, "a", 20, SEAT_HALL, "h-a");
    s_fill (store, "b", 14, SEAT_HALL, "h-b");
    check_assert (store);

    //  Merge: refused with the overflow, then whole
    s_refused (store, NULL, "hall.merge", "id=h-a into=h-b", "FULL",
               "merge would put 34 seats in h-b (cap 30): 4 over");
    op_expect (store, ops, "hall.merge", "id=h-a into=h-a", "BAD_ARGS");
    op_expect (store, ops, "hall.merge", "id=h-a into=h-9", "NOT_FOUND");
    s_refused (store, NULL, "hall.set_cap", "id=h-b cap:=10", "FULL", "h-b would be over its "
               "cap: 14/10 seats");
    op_expect (store, ops, "hall.set_cap", "id=h-b cap:=0", "BAD_ARGS");
    op_expect (store, ops, "hall.set_cap", "id=h-9 cap:=10", "NOT_FOUND");
    op_expect (store, ops, "hall.set_cap", "id=h-b cap:=40", NULL);
    assert (s_result (store, "hall.merge", "id=h-a into=h-b", "moved") == 20);
    assert (!*s_hall (store, "h-a").id && s_hall (store, "h-b").seats == 34);
    assert (streq (s_member (store, "a-07").group, "h-b"));
    assert (streq (s_member (store, "a-07").first_hall, "h-a"));
    member_t member = s_member (store, "m-l-00");
    assert (member.seat == SEAT_CORE && member.role == ROLE_MEMBER);
    assert (s_branch (store, "b-1").halls == 1);
    check_assert (store);

    //  Split by a member list
    const char *split = "id=h-b new_id=h-s new_name=金牛堂口 leader=m-l-00 ";
    char args [1024];
    snprintf (args, sizeof (args), "%smembers=[a-00,a-01,a-00]", split);
    s_refused (store, NULL, "hall.split", args, "BAD_ARGS", "a-00 twice");
    snprintf (args, sizeof (args), "%smembers=[a-00,m-x]", split);
    s_refused (store, NULL, "hall.split", args, "RULE", "m-x is not seated in hall h-b");
    snprintf (args, sizeof (args), "%smembers=[a-00,m-9]", split);
    s_refused (store, NULL, "hall.split", args, "NOT_FOUND", "m-9");
    op_expect (store, ops, "hall.split", "id=h-b new_id=h-s new_name=x leader=m-l9 members=[a-00]",
               "RULE");
    op_expect (store, ops, "hall.split", "id=h-b new_id=h-b new_name=x leader=m-l-00 "
               "members=[a-00]", "EXISTS");
    op_expect (store, ops, "hall.split", "id=h-b new_id=h-s new_name=x leader=m-l-00", "BAD_ARGS");
    int at = snprintf (args, sizeof (args), "%smembers=[", split);
    for (int i = 0; i < 20; i++)
        at += snprintf (args + at, sizeof (args) - at, "a-%02d,", i);
    for (int i = 0; i < 14; i++)
        at += snprintf (args + at, sizeof (args) - at, "b-%02d%s", i, i < 13? ",": "]");
    s_refused (store, NULL, "hall.split", args, "FULL",
               "split would put 34 seats in h-s (cap 30): 4 over");
    snprintf (args, sizeof (args), "%smembers=[a-00,a-01,a-02]", split);
    assert (s_result (store, "hall.split", args, "moved") == 3);
    assert (s_hall (store, "h-b").seats == 31 && s_hall (store, "h-s").seats == 3);
    assert (streq (s_hall (store, "h-s").branch, "b-1"));
    assert (streq (s_member (store, "a-01").group, "h-s"));
    assert (s_member (store, "m-l-00").role == ROLE_LEADER);
    check_assert (store);

    //  Handover: leadership only; the old leader leads nothing any more
    s_refused (store, NULL, "hall.handover", "id=h-s to=m-x", "RULE", "core seat");
    op_expect (store, ops, "hall.handover", "id=h-s to=m-9", "NOT_FOUND");
    op_expect (store, ops, "hall.handover", "id=h-s to=m-l-02", NULL);
    assert (s_member (store, "m-l-02").role == ROLE_LEADER);
    assert (s_member (store, "m-l-00").role == ROLE_MEMBER);
    assert (s_hall (store, "h-s").seats == 3);
    check_assert (store);

    //  Move: the leader's core seat goes along
    op_expect (store, ops, "hall.create", "id=h-c name=x branch=b-1 leader=m-l-01", NULL);
    s_refused (store, NULL, "hall.move", "id=h-b to=b-2", "RULE", "leads 2 halls of branch b-1");
    op_expect (store, ops, "hall.dissolve", "id=h-c", NULL);
    assert (s_member (store, "m-l-01").role == ROLE_LEADER);
    s_fill (store, "c2", 2, SEAT_CORE, "b-2");
    s_refused (store, NULL, "hall.move", "id=h-b to=b-2", "FULL", "branch b-2 is full: 3/3");
    s_refused (store, NULL, "branch.set_cap", "id=b-2 cap:=2", "FULL", "3/2 core seats");
    op_expect (store, ops, "branch.set_cap", "id=b-2 cap:=5", NULL);
    op_expect (store, ops, "hall.move", "id=h-b to=b-9", "NOT_FOUND");
    op_expect (store, ops, "hall.move", "id=h-9 to=b-2", "NOT_FOUND");
    s_refused (store, &lk, "hall.move", "id=h-b to=b-2", "DENIED", "b-2");
    op_expect (store, ops, "hall.move", "id=h-b to=b-2", NULL);
    branch_t b1 = s_branch (store, "b-1"), b2 = s_branch (store, "b-2");
    assert (b1.core_seats == 3 && b1.halls == 1);
    assert (b2.core_seats == 4 && b2.halls == 1);
    assert (streq (s_member (store, "b-05").branch, "b-2"));
    assert (streq (s_member (store, "m-l-01").group, "b-2"));
    assert (streq (s_hall (store, "h-b").branch, "b-2"));
    check_assert (store);
    s_refused (store, &lk, "hall.rename", "id=h-b name=x", "DENIED", "b-2");
    assert (op_run (store, ops, &lk, "hall.rename", "id=h-s name=新都堂口", NULL, &err) == 0);

    //  Hall dissolve: refused while it has members, else into or released
    s_refused (store, NULL, "hall.dissolve", "id=h-s", "NOT_EMPTY", "h-s still has 3 members");
    op_expect (store, ops, "hall.dissolve", "id=h-s into=h-s", "BAD_ARGS");
    op_expect (store, ops, "hall.dissolve", "id=h-s into=h-b release:=true", "BAD_ARGS");
    op_expect (store, ops, "hall.dissolve", "id=h-s into=h-9", "NOT_FOUND");
    s_refused (store, &lk, "hall.dissolve", "id=h-s into=h-b", "DENIED", "b-2");
    op_expect (store, ops, "hall.set_cap", "id=h-b cap:=32", NULL);
    s_refused (store, NULL, "hall.dissolve", "id=h-s into=h-b", "FULL",
               "dissolve would put 34 seats in h-b (cap 32): 2 over");
    op_expect (store, ops, "hall.create", "id=h-d name=x branch=b-1 leader=m-l-03", NULL);
    s_fill (store, "d", 1, SEAT_HALL, "h-d");
    assert (s_result (store, "hall.dissolve", "id=h-d into=h-b", "moved") == 1);
    assert (streq (s_member (store, "d-00").branch, "b-2"));
    assert (s_member (store, "m-l-03").role == ROLE_MEMBER);
    assert (s_result (store, "hall.dissolve", "id=h-s release:=true", "released") == 3);
    member = s_member (store, "a-00");
    assert (member.seat == SEAT_NONE && !*member.branch);
    assert (s_member (store, "m-l-02").role == ROLE_MEMBER);
    assert (s_branch (store, "b-1").halls == 0);
    check_assert (store);

    //  Branch dissolve: into another branch (room checked first) or released
    s_refused (store, NULL, "branch.dissolve", "id=b-2", "NOT_EMPTY", "4 core seats and 1 halls");
    op_expect (store, ops, "branch.dissolve", "id=b-2 into=b-2", "BAD_ARGS");
    op_expect (store, ops, "branch.dissolve", "id=b-2 into=b-1 release:=true", "BAD_ARGS");
    op_expect (store, ops, "branch.dissolve", "id=b-2 into=b-9", "NOT_FOUND");
    op_expect (store, ops, "branch.dissolve", "id=b-9 release:=true", "NOT_FOUND");
    s_refused (store, &lk, "branch.dissolve", "id=b-1 release:=true", "DENIED", "hq-admin");
    op_expect (store, ops, "branch.set_cap", "id=b-1 cap:=6", NULL);
    s_refused (store, NULL, "branch.dissolve", "id=b-2 into=b-1", "FULL", "1 over");
    op_expect (store, ops, "branch.set_cap", "id=b-1 cap:=7", NULL);
    assert (s_result (store, "branch.dissolve", "id=b-2 into=b-1", "moved_members") == 4 + 32);
    assert (!*s_branch (store, "b-2").id);
    b1 = s_branch (store, "b-1");
    assert (b1.core_seats == 7 && b1.halls == 1);
    assert (streq (s_hall (store, "h-b").branch, "b-1"));
    assert (streq (s_member (store, "b-05").branch, "b-1"));
    assert (s_member (store, "m-l-01").role == ROLE_LEADER);
    check_assert (store);

    op_expect (store, ops, "branch.create", "id=b-3 name=绵阳分舵 leader=o-2", NULL);
    s_fill (store, "m3", 2, SEAT_CORE, "b-3");
    op_expect (store, ops, "hall.create", "id=h-3 name=x branch=b-3 leader=m3-00", NULL);
    s_fill (store, "h3", 5, SEAT_HALL, "h-3");
    assert (s_result (store, "branch.dissolve", "id=b-3 release:=true", "released") == 7);
    assert (!*s_branch (store, "b-3").id && !*s_hall (store, "h-3").id);
    member = s_member (store, "m3-00");
    assert (member.seat == SEAT_NONE && member.role == ROLE_MEMBER);
    assert (s_member (store, "h3-04").seat == SEAT_NONE);
    check_assert (store);
    op_expect (store, ops, "branch.create", "id=b-4 name=x leader=o-2", NULL);
    op_expect (store, ops, "branch.dissolve", "id=b-4", NULL);

    //  Branch handover: the officer handing over may end up leading nothing
    op_expect (store, ops, "branch.handover", "id=b-1 to=o-9", "NOT_FOUND");
    op_expect (store, ops, "branch.handover", "id=b-9 to=o-2", "NOT_FOUND");
    s_refused (store, &lk, "branch.handover", "id=b-1 to=o-2", "DENIED", "hq-admin");
    op_expect (store, ops, "branch.handover", "id=b-1 to=o-2", NULL);
    b1 = s_branch (store, "b-1");
    assert (streq (b1.leader, "o-2") && b1.core_seats == 7 && b1.halls == 1);

    //  Assign: the new node receives the branch whole through the log
    s_refused (store, NULL, "branch.assign", "id=b-1 node=n-9", "NOT_FOUND", "unknown node n-9");
    op_expect (store, ops, "branch.assign", "id=b-9 node=n-9", "NOT_FOUND");
    s_add_node (store, "n-1");
    uint64_t head = s_log_head (store);
    hall_t hall = s_hall (store, "h-b");
    op_expect (store, ops, "branch.assign", "id=b-1 node=n-1", NULL);
    //  The branch record, then it again with its core, its hall and the hall's members
    assert (s_log_head (store) == head + 2 + b1.core_seats + 1 + hall.seats);
    assert (streq (s_branch (store, "b-1").node, "n-1"));
    check_assert (store);

    dt_err_reset (&err);
    scratch_destroy (&store);
}
