/* tree.c -- typed tree records with indexes and seat counters. */
#include "tree.h"
#include "policy.h"
#include "proto.h"
#include "scratch.h"
#include "repl.h"

/* The policy in force; a damaged record gives the built-in defaults, which
   is what policy_get leaves in out then. */
static void
s_policy (store_txn_t *txn, policy_t *out)
{
    dt_err_t err;
    dt_err_init (&err);
    policy_get (txn, out, &err);
}

uint32_t
tree_branch_cap (store_txn_t *txn, const branch_t *branch)
{
    if (branch->cap)
        return branch->cap;
    policy_t policy;
    s_policy (txn, &policy);
    return policy.branch_cap;
}

uint32_t
tree_hall_cap (store_txn_t *txn, const hall_t *hall)
{
    if (hall->cap)
        return hall->cap;
    policy_t policy;
    s_policy (txn, &policy);
    return policy.hall_cap;
}

//  Reading

typedef int (s_decode_fn) (void *record, const void *data, size_t size);

static int
s_get (store_txn_t *txn, store_table_t table, const char *id, void *out,
       s_decode_fn *decode, dt_err_t *err)
{
    const void *val = NULL;
    size_t size = 0;
    int rc = store_get (txn, table, id, strlen (id), &val, &size, err);
    if (rc)
        return rc;
    if (decode (out, val, size))
        return dt_err_set (err, "INTERNAL", "stored %s %s is damaged",
                           store_table_name (table), id);
    return 0;
}

static int
s_need (store_txn_t *txn, store_table_t table, const char *id, void *out,
        s_decode_fn *decode, dt_err_t *err)
{
    int rc = s_get (txn, table, id, out, decode, err);
    if (rc == 1)
        return dt_err_set (err, "NOT_FOUND", "unknown %s %s", store_table_name (table), id);
    return rc;
}

#define S_GETTERS(name, type, table) \
int tree_##name##_get (store_txn_t *txn, const char *id, type *out, dt_err_t *err) \
{ return s_get (txn, table, id, out, (s_decode_fn *) record_##name##_decode, err); } \
int tree_##name##_need (store_txn_t *txn, const char *id, type *out, dt_err_t *err) \
{ return s_need (txn, table, id, out, (s_decode_fn *) record_##name##_decode, err); }

S_GETTERS (officer, officer_t, TBL_OFFICER)
S_GETTERS (branch, branch_t, TBL_BRANCH)
S_GETTERS (hall, hall_t, TBL_HALL)
S_GETTERS (member, member_t, TBL_MEMBER)

void
tree_branch_node (store_txn_t *txn, const char *branch, char node [DT_ID_MAX + 1])
{
    branch_t record;
    dt_err_t err;
    dt_err_init (&err);
    node [0] = 0;
    if (*branch && tree_branch_get (txn, branch, &record, &err) == 0)
        strcpy (node, record.node);
}

//  Index keys

static size_t
s_index_key (char *key, char prefix, const char *group, const char *id)
{
    size_t at = 0;
    if (prefix)
        key [at++] = prefix;
    size_t len = strlen (group);
    memcpy (key + at, group, len + 1);          /* keeps the \0 separator */
    at += len + 1;
    len = strlen (id);
    memcpy (key + at, id, len);
    return at + len;
}

static int
s_index_set (store_txn_t *txn, store_table_t table, char prefix,
             const char *group, const char *id, bool present, dt_err_t *err)
{
    char key [2 * DT_ID_MAX + 3];
    size_t size = s_index_key (key, prefix, group, id);
    return present? store_put (txn, table, key, size, "", 0, err)
                  : store_del (txn, table, key, size, err);
}

static int s_bulk_index_later (tree_bulk_t *bulk, store_table_t table, const char *key,
                               size_t size);

/* An index entry made present: now, or in a bulk at tree_bulk_finish, in
   key order (see there). */
static int
s_index_add (store_txn_t *txn, tree_bulk_t *bulk, store_table_t table, char prefix,
             const char *group, const char *id, dt_err_t *err)
{
    if (!bulk)
        return s_index_set (txn, table, prefix, group, id, true, err);
    char key [2 * DT_ID_MAX + 3];
    return s_bulk_index_later (bulk, table, key, s_index_key (key, prefix, group, id));
}

static char
s_seat_prefix (seat_kind_t kind)
{
    return kind == SEAT_CORE? 'b': 'h';
}

//  The member index: names for member.find, and the unplaced members, who
//  are in no seat index

static char
s_fold (char c)
{
    return c >= 'A' && c <= 'Z'? c - 'A' + 'a': c;
}

/* name folded into out, at most max bytes, cut at a character boundary
   (never half a UTF-8 sequence); its length. */
static size_t
s_fold_name (const char *name, char *out, size_t max)
{
    size_t len = 0;
    for (; name [len] && len < max; len++)
        out [len] = s_fold (name [len]);
    if (name [len])
        while (len && ((unsigned char) name [len] & 0xc0) == 0x80)
            len--;
    out [len] = 0;
    return len;
}

size_t
tree_name_fold (const char *name, char out [TREE_NAME_KEY_MAX + 1])
{
    return s_fold_name (name, out, TREE_NAME_KEY_MAX);
}

static int
s_member_entries_set (store_txn_t *txn, tree_bulk_t *bulk, const member_t *member,
                      bool present, dt_err_t *err)
{
    char folded [TREE_NAME_KEY_MAX + 1];
    tree_name_fold (member->name, folded);
    if (present? s_index_add (txn, bulk, TBL_MEMBER_INDEX, 'n', folded, member->id, err)
               : s_index_set (txn, TBL_MEMBER_INDEX, 'n', folded, member->id, false, err))
        return -1;
    if (member->seat != SEAT_NONE)
        return 0;
    char key [DT_ID_MAX + 2] = "u";
    strcpy (key + 1, member->id);
    if (present && bulk)
        return s_bulk_index_later (bulk, TBL_MEMBER_INDEX, key, strlen (key));
    return present? store_put (txn, TBL_MEMBER_INDEX, key, strlen (key), "", 0, err)
                  : store_del (txn, TBL_MEMBER_INDEX, key, strlen (key), err);
}

/* Keep the member index as a member goes from was to now (NULL: absent);
   an unchanged name and placement touch nothing. */
static int
s_member_index_update (store_txn_t *txn, tree_bulk_t *bulk, const member_t *was,
                       const member_t *now, dt_err_t *err)
{
    if (was && now && streq (was->name, now->name)
    &&  (was->seat == SEAT_NONE) == (now->seat == SEAT_NONE))
        return 0;
    if (was && s_member_entries_set (txn, NULL, was, false, err))
        return -1;
    return now? s_member_entries_set (txn, bulk, now, true, err): 0;
}

//  Writing

typedef void (s_encode_fn) (const void *record, msgpack_sbuffer *out);

static int
s_write (store_txn_t *txn, store_table_t table, const char *id, const void *record,
         s_encode_fn *encode, const store_scope_t *scope, dt_err_t *err)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    encode (record, &buf);
    int rc = store_record_put (txn, table, id, buf.data, buf.size, scope, err);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

/* Write a record of a replicated table: its scope comes from the registry. */
static int
s_write_replicated (store_txn_t *txn, store_table_t table, const char *id,
                    const void *record, s_encode_fn *encode, dt_err_t *err)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    encode (record, &buf);
    int rc = repl_record_put (txn, table, id, buf.data, buf.size, err);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

int
tree_officer_put (store_txn_t *txn, const officer_t *officer, dt_err_t *err)
{
    return s_write (txn, TBL_OFFICER, officer->id, officer,
                    (s_encode_fn *) record_officer_encode, NULL, err);
}

/* Write a branch exactly as given (counters included). */
static int
s_branch_store (store_txn_t *txn, const branch_t *branch, const char *old_node, dt_err_t *err)
{
    store_scope_t scope = { .branch = branch->id,
                            .nodes = { old_node, branch->node }, .nnodes = 2 };
    return s_write (txn, TBL_BRANCH, branch->id, branch,
                    (s_encode_fn *) record_branch_encode, &scope, err);
}

int
tree_branch_put (store_txn_t *txn, const branch_t *branch, dt_err_t *err)
{
    branch_t old, updated = *branch;
    int found = tree_branch_get (txn, branch->id, &old, err);
    if (found == -1)
        return -1;
    updated.core_seats = found == 0? old.core_seats: 0;
    updated.halls = found == 0? old.halls: 0;
    return s_branch_store (txn, &updated, found == 0? old.node: "", err);
}

int
tree_branch_del (store_txn_t *txn, const char *id, dt_err_t *err)
{
    branch_t old;
    if (tree_branch_need (txn, id, &old, err))
        return -1;
    if (old.core_seats || old.halls)
        return dt_err_set (err, "NOT_EMPTY", "branch %s still has %u core seats and %u halls",
                           id, old.core_seats, old.halls);
    store_scope_t scope = { .branch = "", .nodes = { old.node }, .nnodes = 1 };
    return store_record_put (txn, TBL_BRANCH, id, NULL, 0, &scope, err);
}

/* Add delta to a hall's seat counter (hall as read, written back). */
static int
s_hall_adjust (store_txn_t *txn, hall_t *hall, int delta, dt_err_t *err)
{
    hall->seats += delta;
    return s_write_replicated (txn, TBL_HALL, hall->id, hall,
                               (s_encode_fn *) record_hall_encode, err);
}

/* Add delta to a group's seat counter. */
static int
s_group_adjust (store_txn_t *txn, seat_kind_t kind, const char *group, int delta, dt_err_t *err)
{
    if (kind == SEAT_CORE) {
        branch_t branch;
        if (tree_branch_need (txn, group, &branch, err))
            return -1;
        branch.core_seats += delta;
        return s_branch_store (txn, &branch, branch.node, err);
    }
    hall_t hall;
    if (tree_hall_need (txn, group, &hall, err))
        return -1;
    return s_hall_adjust (txn, &hall, delta, err);
}

static int
s_branch_halls_adjust (store_txn_t *txn, const char *id, int delta, dt_err_t *err)
{
    branch_t branch;
    if (tree_branch_need (txn, id, &branch, err))
        return -1;
    branch.halls += delta;
    return s_branch_store (txn, &branch, branch.node, err);
}

int
tree_hall_put (store_txn_t *txn, const hall_t *hall, dt_err_t *err)
{
    hall_t old, updated = *hall;
    int found = tree_hall_get (txn, hall->id, &old, err);
    if (found == -1)
        return -1;
    updated.seats = found == 0? old.seats: 0;
    bool moved = found == 1 || !streq (old.branch, hall->branch);
    if (moved) {
        if (found == 0
        &&  (s_index_set (txn, TBL_BRANCH_HALL, 0, old.branch, hall->id, false, err)
        ||   s_branch_halls_adjust (txn, old.branch, -1, err)))
            return -1;
        if (s_index_set (txn, TBL_BRANCH_HALL, 0, hall->branch, hall->id, true, err)
        ||  s_branch_halls_adjust (txn, hall->branch, +1, err))
            return -1;
    }
    if (s_write_replicated (txn, TBL_HALL, hall->id, &updated,
                            (s_encode_fn *) record_hall_encode, err))
        return -1;
    if (!moved || found == 1)
        return 0;
    //  A hall's members belong to the hall's branch: follow the hall.
    zlistx_t *ids = tree_seat_ids (txn, SEAT_HALL, hall->id, err);
    if (!ids)
        return -1;
    int rc = 0;
    for (char *id = zlistx_first (ids); id && rc == 0; id = zlistx_next (ids)) {
        member_t member;
        rc = tree_member_need (txn, id, &member, err);
        if (rc == 0)
            rc = tree_member_put (txn, &member, err);
    }
    zlistx_destroy (&ids);
    return rc;
}

int
tree_hall_del (store_txn_t *txn, const char *id, dt_err_t *err)
{
    hall_t old;
    if (tree_hall_need (txn, id, &old, err))
        return -1;
    if (old.seats)
        return dt_err_set (err, "NOT_EMPTY", "hall %s still has %u members", id, old.seats);
    if (s_index_set (txn, TBL_BRANCH_HALL, 0, old.branch, id, false, err)
    ||  s_branch_halls_adjust (txn, old.branch, -1, err))
        return -1;
    return repl_record_put (txn, TBL_HALL, id, NULL, 0, err);
}

//  Members, one at a time or in bulk (an import): a bulk adjusts each
//  group's seat counter once, at tree_bulk_finish, and reads a hall's
//  branch and a branch's node once

struct _tree_bulk_group_t {
    int64_t delta;              /* seats gained in the bulk */
    char branch [DT_ID_MAX + 1];    /* a hall's branch; a branch's own id */
    char node [DT_ID_MAX + 1];      /* the node serving that branch ("" none) */
};

//  An index entry a bulk adds waits for tree_bulk_finish, which adds them
//  all in key order: an import's rows come in no order of its indexes, and
//  a transaction's dirty pages are bounded (LMDB spills them to the file
//  past 128 Ki pages), so one entry after another at random would write
//  every leaf of an index again and again; in key order each once

typedef struct {
    uint64_t prefix [2];        /* the key's first 16 bytes, big-endian, zero
                                   padded: most comparisons end here */
    uint64_t at;                /* where the key is in the arena */
} s_later_t;

typedef struct {
    s_later_t *keys;
    size_t count, max;
    uint8_t *arena;             /* each key: its length (u16), its bytes */
    size_t used, arena_max;
} s_later_index_t;

struct _tree_bulk_t {
    zhashx_t *groups;           /* "b/GROUP" | "h/GROUP" -> tree_bulk_group_t */
    s_later_index_t seat;       /* TBL_SEAT entries to add */
    s_later_index_t names;      /* TBL_MEMBER_INDEX entries to add */
};

tree_bulk_t *
tree_bulk_new (void)
{
    tree_bulk_t *self = (tree_bulk_t *) zmalloc (sizeof (tree_bulk_t));
    self->groups = zhashx_new ();
    zhashx_set_destructor (self->groups, (zhashx_destructor_fn *) zstr_free);
    return self;
}

void
tree_bulk_destroy (tree_bulk_t **self_p)
{
    assert (self_p);
    tree_bulk_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->groups);
        free (self->seat.keys);
        free (self->seat.arena);
        free (self->names.keys);
        free (self->names.arena);
        free (self);
        *self_p = NULL;
    }
}

tree_bulk_group_t *
tree_bulk_group (store_txn_t *txn, tree_bulk_t *bulk, seat_kind_t kind, const char *id,
                 dt_err_t *err)
{
    char key [DT_ID_MAX + 3];
    size_t size = strnlen (id, DT_ID_MAX);
    key [0] = s_seat_prefix (kind);
    key [1] = '/';
    memcpy (key + 2, id, size);
    key [size + 2] = 0;
    tree_bulk_group_t *group = (tree_bulk_group_t *) zhashx_lookup (bulk->groups, key);
    if (group)
        return group;
    tree_bulk_group_t found = { 0 };
    if (kind == SEAT_HALL) {
        hall_t hall;
        if (tree_hall_need (txn, id, &hall, err))
            return NULL;
        strcpy (found.branch, hall.branch);
    }
    else
        snprintf (found.branch, sizeof (found.branch), "%s", id);
    tree_branch_node (txn, found.branch, found.node);
    group = (tree_bulk_group_t *) zmalloc (sizeof (tree_bulk_group_t));
    *group = found;
    zhashx_insert (bulk->groups, key, group);
    return group;
}

static int
s_bulk_index_later (tree_bulk_t *bulk, store_table_t table, const char *key, size_t size)
{
    s_later_index_t *index = table == TBL_SEAT? &bulk->seat: &bulk->names;
    if (index->count == index->max) {
        index->max = index->max? index->max * 2: 4096;
        index->keys = (s_later_t *) realloc (index->keys, index->max * sizeof (s_later_t));
        assert (index->keys);
    }
    if (index->used + 2 + size > index->arena_max) {
        index->arena_max = index->arena_max? index->arena_max * 2: 65536;
        index->arena = (uint8_t *) realloc (index->arena, index->arena_max);
        assert (index->arena);
    }
    s_later_t *later = &index->keys [index->count++];
    uint8_t head [16] = { 0 };
    memcpy (head, key, size < 16? size: 16);
    later->prefix [0] = store_seq_from_key (head);
    later->prefix [1] = store_seq_from_key (head + 8);
    later->at = index->used;
    index->arena [index->used] = (uint8_t) (size >> 8);
    index->arena [index->used + 1] = (uint8_t) size;
    memcpy (index->arena + index->used + 2, key, size);
    index->used += 2 + size;
    return 0;
}

/* qsort_r's order of two entries: LMDB's (store_key_order). */
static int
s_later_compare (const void *a, const void *b, void *arena)
{
    const s_later_t *x = a, *y = b;
    if (x->prefix [0] != y->prefix [0])
        return x->prefix [0] < y->prefix [0]? -1: 1;
    if (x->prefix [1] != y->prefix [1])
        return x->prefix [1] < y->prefix [1]? -1: 1;
    const uint8_t *p = (const uint8_t *) arena + x->at, *q = (const uint8_t *) arena + y->at;
    return store_key_order (p + 2, (size_t) p [0] << 8 | p [1], q + 2,
                            (size_t) q [0] << 8 | q [1]);
}

/* Add the index's entries, in key order. */
static int
s_later_add (store_txn_t *txn, store_table_t table, s_later_index_t *index, dt_err_t *err)
{
    if (index->count)
        qsort_r (index->keys, index->count, sizeof (s_later_t), s_later_compare, index->arena);
    int rc = 0;
    store_last_t last = { .known = false };
    for (size_t i = 0; rc == 0 && i < index->count; i++) {
        const uint8_t *key = index->arena + index->keys [i].at;
        rc = store_put_ordered (txn, table, key + 2, (size_t) key [0] << 8 | key [1], "", 0,
                                &last, err);
    }
    index->count = index->used = 0;
    return rc;
}

/* The node serving a branch ("" none, or no branch). */
static const char *
s_bulk_node (store_txn_t *txn, tree_bulk_t *bulk, const char *branch, dt_err_t *err)
{
    tree_bulk_group_t *group = *branch? tree_bulk_group (txn, bulk, SEAT_CORE, branch, err): NULL;
    return group? group->node: "";
}

/* A group's seat counter moves by delta: now, or summed in the bulk. */
static int
s_bulk_adjust (store_txn_t *txn, tree_bulk_t *bulk, seat_kind_t kind, const char *group,
               int delta, dt_err_t *err)
{
    if (!bulk)
        return s_group_adjust (txn, kind, group, delta, err);
    tree_bulk_group_t *held = tree_bulk_group (txn, bulk, kind, group, err);
    if (!held)
        return -1;
    held->delta += delta;
    return 0;
}

/* Write a member over old (NULL: a new one); see tree_member_put_back. A
   hall read for the member's branch is the one whose counter moves (read
   once); in a bulk the counters move at tree_bulk_finish, and joined is the
   bulk's record of the group a seated member is in (looked up if NULL). */
static int
s_member_store (store_txn_t *txn, tree_bulk_t *bulk, tree_bulk_group_t *joined,
                member_t *member, const member_t *old, dt_err_t *err)
{
    member_t updated = *member;
    hall_t hall;
    bool hall_read = false;
    if (bulk && updated.seat != SEAT_NONE && !joined
    &&  !(joined = tree_bulk_group (txn, bulk, updated.seat, updated.group, err)))
        return -1;
    if (updated.seat == SEAT_NONE)
        updated.group [0] = updated.branch [0] = 0;
    else
    if (updated.seat == SEAT_CORE)
        strcpy (updated.branch, updated.group);
    else
    if (bulk)
        strcpy (updated.branch, joined->branch);
    else {
        if (tree_hall_need (txn, updated.group, &hall, err))
            return -1;
        strcpy (updated.branch, hall.branch);
        hall_read = true;
    }
    if (old) {
        //  Set once: a referrer or first hall stored is kept
        if (*old->referrer)
            strcpy (updated.referrer, old->referrer);
        strcpy (updated.first_hall, old->first_hall);
        updated.created = old->created;
    }
    if (!*updated.first_hall && updated.seat == SEAT_HALL)
        strcpy (updated.first_hall, updated.group);
    bool was_seated = old && old->seat != SEAT_NONE;
    bool reseated = !was_seated || old->seat != updated.seat || !streq (old->group, updated.group);
    if (reseated && was_seated
    && (s_index_set (txn, TBL_SEAT, s_seat_prefix (old->seat), old->group, old->id, false, err)
    ||  s_bulk_adjust (txn, bulk, old->seat, old->group, -1, err)))
        return -1;
    if (reseated && updated.seat != SEAT_NONE
    && (s_index_add (txn, bulk, TBL_SEAT, s_seat_prefix (updated.seat), updated.group,
                     updated.id, err)
    ||  (hall_read? s_hall_adjust (txn, &hall, +1, err):
         bulk?      (joined->delta++, 0)
                  : s_group_adjust (txn, updated.seat, updated.group, +1, err))))
        return -1;
    if (s_member_index_update (txn, bulk, old, &updated, err))
        return -1;
    int rc;
    if (!bulk)
        rc = s_write_replicated (txn, TBL_MEMBER, updated.id, &updated,
                                 (s_encode_fn *) record_member_encode, err);
    else {
        //  The scope repl_record_put gives a member: the nodes of the branch
        //  it leaves and of the branch it joins
        store_scope_t scope = { .branch = updated.branch,
                                .nodes = { s_bulk_node (txn, bulk, old? old->branch: "", err),
                                           joined? joined->node: "" },
                                .nnodes = 2 };
        rc = s_write (txn, TBL_MEMBER, updated.id, &updated,
                      (s_encode_fn *) record_member_encode, &scope, err);
    }
    if (rc == 0)
        *member = updated;
    return rc;
}

int
tree_member_put (store_txn_t *txn, const member_t *member, dt_err_t *err)
{
    member_t updated = *member;
    return tree_member_put_back (txn, &updated, err);
}

int
tree_member_put_back (store_txn_t *txn, member_t *member, dt_err_t *err)
{
    member_t old;
    int found = tree_member_get (txn, member->id, &old, err);
    if (found == -1)
        return -1;
    return s_member_store (txn, NULL, NULL, member, found == 0? &old: NULL, err);
}

int
tree_bulk_member_put (store_txn_t *txn, tree_bulk_t *self, const member_t *member,
                      const member_t *old, tree_bulk_group_t *joined, dt_err_t *err)
{
    assert (self);
    member_t updated = *member;
    return s_member_store (txn, self, member->seat == SEAT_NONE? NULL: joined, &updated, old,
                           err);
}

int
tree_bulk_finish (store_txn_t *txn, tree_bulk_t *self, dt_err_t *err)
{
    if (s_later_add (txn, TBL_SEAT, &self->seat, err)
    ||  s_later_add (txn, TBL_MEMBER_INDEX, &self->names, err))
        return -1;
    for (tree_bulk_group_t *group = (tree_bulk_group_t *) zhashx_first (self->groups); group;
         group = (tree_bulk_group_t *) zhashx_next (self->groups)) {
        const char *key = (const char *) zhashx_cursor (self->groups);
        if (group->delta && s_group_adjust (txn, key [0] == 'b'? SEAT_CORE: SEAT_HALL,
                                            key + 2, (int) group->delta, err))
            return -1;
        group->delta = 0;
    }
    return 0;
}

int
tree_key_put (store_txn_t *txn, const dt_key_t *key, dt_err_t *err)
{
    return s_write_replicated (txn, TBL_KEY, key->name, key,
                               (s_encode_fn *) record_key_encode, err);
}

typedef struct {
    store_txn_t *txn;
    dt_err_t *err;
} s_upgrade_t;

static int
s_index_member (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    s_upgrade_t *self = arg;
    member_t member;
    if (record_member_decode (&member, val, val_size))
        return dt_err_set (self->err, "MALFORMED", "stored member %.*s is damaged",
                           (int) key_size, (const char *) key);
    return s_member_entries_set (self->txn, NULL, &member, true, self->err);
}

int
tree_upgrade (store_t *store, dt_err_t *err)
{
    store_txn_t txn;
    if (store_begin (store, &txn, NULL, true, err))
        return -1;
    uint64_t members = store_count (&txn, TBL_MEMBER);
    if (members == 0 || store_count (&txn, TBL_MEMBER_INDEX) > 0) {
        store_abort (&txn);
        return 0;
    }
    zsys_info ("building the member index of %" PRIu64 " members (a store of an "
               "older version)", members);
    s_upgrade_t self = { &txn, err };
    if (store_scan (&txn, TBL_MEMBER, NULL, 0, NULL, 0, s_index_member, &self, err)) {
        store_abort (&txn);
        return -1;
    }
    return store_commit (&txn, err);
}

//  Visiting

typedef struct {
    store_txn_t *txn;
    size_t prefix_size;
    tree_member_fn *member_fn;
    tree_hall_fn *hall_fn;
    void *arg;
    dt_err_t *err;
    const char *after;          /* the id the scan starts at, skipped */
} s_visit_t;

static int
s_visit_indexed (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) val; (void) val_size;
    s_visit_t *self = arg;
    char id [DT_ID_MAX + 1];
    size_t len = key_size - self->prefix_size;
    if (len == 0 || len > DT_ID_MAX)
        return 0;
    memcpy (id, (const char *) key + self->prefix_size, len);
    id [len] = 0;
    if (self->after && streq (id, self->after))
        return 0;
    if (self->member_fn) {
        member_t member;
        if (tree_member_need (self->txn, id, &member, self->err))
            return -1;
        return self->member_fn (&member, self->arg);
    }
    hall_t hall;
    if (tree_hall_need (self->txn, id, &hall, self->err))
        return -1;
    return self->hall_fn (&hall, self->arg);
}

/* Scan an index from prefix + after (after itself skipped), or the prefix. */
static int
s_visit_index (s_visit_t *self, store_table_t table, const char *prefix, size_t size)
{
    char from [2 * DT_ID_MAX + 3];
    size_t from_size = 0;
    if (self->after && *self->after) {
        from_size = size + strlen (self->after);
        if (from_size > sizeof (from))
            return 0;
        memcpy (from, prefix, size);
        memcpy (from + size, self->after, from_size - size);
    }
    return store_scan (self->txn, table, prefix, size, from_size? from: NULL, from_size,
                       s_visit_indexed, self, self->err);
}

int
tree_seat_visit (store_txn_t *txn, seat_kind_t kind, const char *group,
                 tree_member_fn *visit, void *arg, dt_err_t *err)
{
    return tree_seat_visit_after (txn, kind, group, NULL, visit, arg, err);
}

int
tree_seat_visit_after (store_txn_t *txn, seat_kind_t kind, const char *group, const char *after,
                       tree_member_fn *visit, void *arg, dt_err_t *err)
{
    char prefix [DT_ID_MAX + 3];
    size_t size = s_index_key (prefix, s_seat_prefix (kind), group, "");
    s_visit_t self = { txn, size, visit, NULL, arg, err, after };
    return s_visit_index (&self, TBL_SEAT, prefix, size);
}

int
tree_unplaced_visit_after (store_txn_t *txn, const char *after, tree_member_fn *visit,
                           void *arg, dt_err_t *err)
{
    s_visit_t self = { txn, 1, visit, NULL, arg, err, after };
    return s_visit_index (&self, TBL_MEMBER_INDEX, "u", 1);
}

typedef struct {
    store_txn_t *txn;
    const char *name;           /* the name asked for, folded */
    const void *after;
    size_t after_size;
    tree_name_fn *visit;
    void *arg;
    dt_err_t *err;
} s_name_scan_t;

/* Whether a name starts with a folded prefix (the whole name: the index
   holds its first TREE_NAME_KEY_MAX bytes only). */
static bool
s_name_starts (const char *name, const char *folded)
{
    for (; *folded; name++, folded++)
        if (s_fold (*name) != *folded)
            return false;
    return true;
}

static int
s_name_entry (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) val; (void) val_size;
    s_name_scan_t *self = arg;
    const char *position = (const char *) key + 1;
    size_t size = key_size - 1;
    if (self->after && size == self->after_size && memcmp (position, self->after, size) == 0)
        return 0;
    const char *split = memchr (position, 0, size);
    size_t id_len = split? size - (size_t) (split + 1 - position): 0;
    if (!split || id_len == 0 || id_len > DT_ID_MAX)
        return 0;
    char id [DT_ID_MAX + 1];
    memcpy (id, split + 1, id_len);
    id [id_len] = 0;
    member_t member;
    int found = tree_member_get (self->txn, id, &member, self->err);
    if (found == 1)
        return dt_err_set (self->err, "INTERNAL", "store is inconsistent: the name index "
                           "names member %s, who does not exist", id);
    if (found == -1)
        return -1;
    if (!s_name_starts (member.name, self->name))
        return self->visit (NULL, position, size, self->arg);
    return self->visit (&member, position, size, self->arg);
}

int
tree_name_visit_after (store_txn_t *txn, const char *name, const void *after,
                       size_t after_size, tree_name_fn *visit, void *arg, dt_err_t *err)
{
    char folded [DT_NAME_MAX + 1], prefix [TREE_NAME_KEY_MAX + 2] = "n";
    s_fold_name (name, folded, DT_NAME_MAX);
    size_t prefix_size = 1 + tree_name_fold (folded, prefix + 1);
    char from [TREE_NAME_KEY_MAX + DT_ID_MAX + 3] = "n";
    bool resume = after && after_size && after_size + 1 <= sizeof (from);
    if (resume)
        memcpy (from + 1, after, after_size);
    s_name_scan_t self = { txn, folded, resume? after: NULL, after_size, visit, arg, err };
    return store_scan (txn, TBL_MEMBER_INDEX, prefix, prefix_size, resume? from: NULL,
                       resume? after_size + 1: 0, s_name_entry, &self, err);
}

int
tree_hall_visit (store_txn_t *txn, const char *branch,
                 tree_hall_fn *visit, void *arg, dt_err_t *err)
{
    return tree_hall_visit_after (txn, branch, NULL, visit, arg, err);
}

int
tree_hall_visit_after (store_txn_t *txn, const char *branch, const char *after,
                       tree_hall_fn *visit, void *arg, dt_err_t *err)
{
    char prefix [DT_ID_MAX + 3];
    size_t size = s_index_key (prefix, 0, branch, "");
    s_visit_t self = { txn, size, NULL, visit, arg, err, after };
    return s_visit_index (&self, TBL_BRANCH_HALL, prefix, size);
}

typedef struct {
    tree_branch_fn *visit;
    void *arg;
    const char *after;
} s_branch_visit_t;

static int
s_visit_branch (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    s_branch_visit_t *self = arg;
    if (self->after && strlen (self->after) == key_size
    &&  memcmp (key, self->after, key_size) == 0)
        return 0;
    branch_t branch;
    if (record_branch_decode (&branch, val, val_size))
        return -1;
    return self->visit (&branch, self->arg);
}

int
tree_branch_visit (store_txn_t *txn, tree_branch_fn *visit, void *arg, dt_err_t *err)
{
    return tree_branch_visit_after (txn, NULL, visit, arg, err);
}

int
tree_branch_visit_after (store_txn_t *txn, const char *after, tree_branch_fn *visit, void *arg,
                         dt_err_t *err)
{
    s_branch_visit_t self = { visit, arg, after && *after? after: NULL };
    return store_scan (txn, TBL_BRANCH, NULL, 0, self.after, self.after? strlen (after): 0,
                       s_visit_branch, &self, err);
}

static int
s_collect_id (const member_t *member, void *arg)
{
    zlistx_add_end ((zlistx_t *) arg, (void *) member->id);
    return 0;
}

zlistx_t *
tree_seat_ids (store_txn_t *txn, seat_kind_t kind, const char *group, dt_err_t *err)
{
    zlistx_t *ids = zlistx_new ();
    zlistx_set_duplicator (ids, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor (ids, (zlistx_destructor_fn *) zstr_free);
    if (tree_seat_visit (txn, kind, group, s_collect_id, ids, err))
        zlistx_destroy (&ids);
    return ids;
}

typedef struct {
    const char *id;
    uint32_t count;
    char *first;
} s_count_t;

static int
s_count_led_branch (const branch_t *branch, void *arg)
{
    s_count_t *self = arg;
    if (streq (branch->leader, self->id))
        self->count++;
    return 0;
}

uint32_t
tree_officer_branches (store_txn_t *txn, const char *officer)
{
    s_count_t count = { officer, 0, NULL };
    dt_err_t err;
    dt_err_init (&err);
    tree_branch_visit (txn, s_count_led_branch, &count, &err);
    return count.count;
}

static int
s_count_led_hall (const hall_t *hall, void *arg)
{
    s_count_t *self = arg;
    if (streq (hall->leader, self->id)) {
        if (self->count == 0)
            strcpy (self->first, hall->id);
        self->count++;
    }
    return 0;
}

uint32_t
tree_member_leads (store_txn_t *txn, const member_t *member, char out [DT_ID_MAX + 1])
{
    out [0] = 0;
    if (member->seat != SEAT_CORE)
        return 0;
    s_count_t count = { member->id, 0, out };
    dt_err_t err;
    dt_err_init (&err);
    tree_hall_visit (txn, member->branch, s_count_led_hall, &count, &err);
    return count.count;
}

//  Replica indexes (registered in repl.c)

int
tree_hall_index (store_txn_t *txn, const char *key, const void *old, size_t old_size,
                 const void *val, size_t size, dt_err_t *err)
{
    hall_t was, hall;
    bool had = old && record_hall_decode (&was, old, old_size) == 0;
    if (val && record_hall_decode (&hall, val, size))
        return dt_err_set (err, "MALFORMED", "damaged hall record %s in change log", key);
    if (had && s_index_set (txn, TBL_BRANCH_HALL, 0, was.branch, key, false, err))
        return -1;
    return val? s_index_set (txn, TBL_BRANCH_HALL, 0, hall.branch, key, true, err): 0;
}

int
tree_member_index (store_txn_t *txn, const char *key, const void *old, size_t old_size,
                   const void *val, size_t size, dt_err_t *err)
{
    member_t was, member;
    bool known = old && record_member_decode (&was, old, old_size) == 0;
    bool had = known && was.seat != SEAT_NONE;
    if (val && record_member_decode (&member, val, size))
        return dt_err_set (err, "MALFORMED", "damaged member record %s in change log", key);
    if (s_member_index_update (txn, NULL, known? &was: NULL, val? &member: NULL, err))
        return -1;
    if (had && s_index_set (txn, TBL_SEAT, s_seat_prefix (was.seat), was.group, key, false,
                            err))
        return -1;
    if (val && member.seat != SEAT_NONE)
        return s_index_set (txn, TBL_SEAT, s_seat_prefix (member.seat), member.group, key,
                            true, err);
    return 0;
}

/* Delete every member seated in a group (ids collected first: no deletes
   under an open cursor). */
static int
s_drop_members (store_txn_t *txn, seat_kind_t kind, const char *group, dt_err_t *err)
{
    zlistx_t *ids = tree_seat_ids (txn, kind, group, err);
    if (!ids)
        return -1;
    int rc = 0;
    for (char *id = zlistx_first (ids); id && rc == 0; id = zlistx_next (ids)) {
        member_t member;
        rc = tree_member_need (txn, id, &member, err)
          || s_member_index_update (txn, NULL, &member, NULL, err)
          || s_index_set (txn, TBL_SEAT, s_seat_prefix (kind), group, id, false, err)
          || store_del (txn, TBL_MEMBER, id, strlen (id), err)? -1: 0;
    }
    zlistx_destroy (&ids);
    return rc;
}

static int
s_collect_hall (const hall_t *hall, void *arg)
{
    zlistx_add_end ((zlistx_t *) arg, (void *) hall->id);
    return 0;
}

int
tree_drop_branch (store_txn_t *txn, const char *branch, dt_err_t *err)
{
    zlistx_t *halls = zlistx_new ();
    zlistx_set_duplicator (halls, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor (halls, (zlistx_destructor_fn *) zstr_free);
    int rc = s_drop_members (txn, SEAT_CORE, branch, err)
          || tree_hall_visit (txn, branch, s_collect_hall, halls, err)? -1: 0;
    for (char *id = zlistx_first (halls); id && rc == 0; id = zlistx_next (halls))
        rc = s_drop_members (txn, SEAT_HALL, id, err)
          || s_index_set (txn, TBL_BRANCH_HALL, 0, branch, id, false, err)
          || store_del (txn, TBL_HALL, id, strlen (id), err)? -1: 0;
    zlistx_destroy (&halls);
    return rc? -1: store_del (txn, TBL_BRANCH, branch, strlen (branch), err);
}

//  Self-test

static void
s_test_member (store_txn_t *txn, const char *id, seat_kind_t seat, const char *group)
{
    dt_err_t err;
    dt_err_init (&err);
    member_t member = { .seat = seat, .created = 1 };
    strcpy (member.id, id);
    strcpy (member.name, id);
    strcpy (member.group, group);
    assert (tree_member_put (txn, &member, &err) == 0);
}

static void
s_test_records (store_txn_t *txn, store_table_t table, const char *key, void *arg)
{
    //  Mirror one record of the authority into a replica transaction
    const void *val = NULL;
    size_t size = 0;
    dt_err_t err;
    dt_err_init (&err);
    int found = store_get (txn, table, key, strlen (key), &val, &size, &err);
    assert (found >= 0);
    assert (repl_apply ((store_txn_t *) arg, "n1", store_table_name (table), key,
                        found == 0? val: NULL, size, &err) == 0);
}

/* The newest log entry is the record `name` of table, meant for every node. */
static void
s_test_logged_for_all (store_txn_t *txn, const char *table, const char *name)
{
    uint8_t seq [8];
    store_seq_key (store_log_head (txn), seq);
    const void *val = NULL;
    size_t size = 0;
    dt_err_t err;
    dt_err_init (&err);
    assert (store_get (txn, TBL_LOG, seq, 8, &val, &size, &err) == 0);
    stream_change_t change;
    assert (stream_change_decode (&change, val, size, NULL, &err) == 0);
    assert (streq (change.table, table) && streq (change.key, name));
    assert (change.nnodes == 1 && streq (change.nodes [0], STORE_NODES_ALL));
}

/* The policy is logged for every node and kept by every replica; its
   default caps apply to groups without caps of their own, there and here. */
static void
s_test_policy (store_txn_t *txn, store_txn_t *rtxn)
{
    dt_err_t err;
    dt_err_init (&err);
    hall_t hall = { .id = "h-x", .branch = "b-2" };
    branch_t branch = { .id = "b-x", .cap = 0 };
    assert (tree_hall_cap (txn, &hall) == DT_HALL_CAP_DEFAULT);
    assert (tree_branch_cap (txn, &branch) == DT_BRANCH_CAP_DEFAULT);
    policy_t policy;
    policy_defaults (&policy);
    policy.version = 1;
    policy.hall_cap = 3;
    policy.branch_cap = 150;
    assert (policy_put (txn, &policy, &err) == 0);
    s_test_logged_for_all (txn, "policy", POLICY_KEY);
    assert (tree_hall_cap (txn, &hall) == 3 && tree_branch_cap (txn, &branch) == 150);
    hall.cap = 40;
    assert (tree_hall_cap (txn, &hall) == 40);
    hall.cap = 0;

    //  The replica applies it; a damaged or misnamed record is refused
    assert (tree_hall_cap (rtxn, &hall) == DT_HALL_CAP_DEFAULT);
    s_test_records (txn, TBL_POLICY, POLICY_KEY, rtxn);
    policy_t copy;
    assert (policy_get (rtxn, &copy, &err) == 0 && copy.version == 1 && copy.hall_cap == 3);
    assert (tree_hall_cap (rtxn, &hall) == 3 && tree_branch_cap (rtxn, &branch) == 150);
    assert (repl_apply (rtxn, "n1", "policy", POLICY_KEY, "\x81\xa8hall_cap\x00", 11, &err)
            == -1 && streq (err.code, "MALFORMED"));
    msgpack_sbuffer record;
    msgpack_sbuffer_init (&record);
    policy_encode (&policy, &record);
    assert (repl_apply (rtxn, "n1", "policy", "other", record.data, record.size, &err) == -1);
    assert (streq (err.code, "MALFORMED"));
    msgpack_sbuffer_destroy (&record);
    assert (policy_get (rtxn, &copy, &err) == 0 && copy.version == 1);
    assert (repl_apply (rtxn, "n1", "policy", POLICY_KEY, NULL, 0, &err) == 0);
    assert (policy_get (rtxn, &copy, &err) == 0 && copy.version == 0);
    assert (tree_hall_cap (rtxn, &hall) == DT_HALL_CAP_DEFAULT);
}

void
tree_test (bool verbose)
{
    if (verbose)
        printf ("\n");
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = scratch_new ("tree-test", 64);
    store_t *replica = scratch_new ("tree-replica", 64);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    txn.log = true;

    officer_t officer = { .id = "o-1", .name = "张三", .created = 1 };
    assert (tree_officer_put (&txn, &officer, &err) == 0);
    branch_t b1 = { .id = "b-1", .name = "成都分舵", .leader = "o-1", .node = "n1" };
    branch_t b2 = { .id = "b-2", .name = "重庆分舵", .leader = "o-1", .node = "n2" };
    assert (tree_branch_put (&txn, &b1, &err) == 0 && tree_branch_put (&txn, &b2, &err) == 0);
    assert (tree_officer_branches (&txn, "o-1") == 2);
    s_test_member (&txn, "m-lead", SEAT_CORE, "b-1");
    hall_t hall = { .id = "h-1", .name = "青羊堂口", .branch = "b-1", .leader = "m-lead" };
    assert (tree_hall_put (&txn, &hall, &err) == 0);
    s_test_member (&txn, "m-1", SEAT_HALL, "h-1");
    s_test_member (&txn, "m-2", SEAT_HALL, "h-1");

    //  Counters and indexes follow every seat change
    branch_t branch;
    assert (tree_branch_get (&txn, "b-1", &branch, &err) == 0);
    assert (branch.core_seats == 1 && branch.halls == 1);
    assert (tree_hall_get (&txn, "h-1", &hall, &err) == 0 && hall.seats == 2);
    member_t member;
    assert (tree_member_get (&txn, "m-1", &member, &err) == 0);
    assert (streq (member.branch, "b-1") && streq (member.first_hall, "h-1"));
    char led [DT_ID_MAX + 1];
    assert (tree_member_get (&txn, "m-lead", &member, &err) == 0);
    assert (tree_member_leads (&txn, &member, led) == 1 && streq (led, "h-1"));
    assert (tree_branch_del (&txn, "b-1", &err) == -1 && streq (err.code, "NOT_EMPTY"));
    assert (tree_member_need (&txn, "nobody", &member, &err) == -1
            && streq (err.code, "NOT_FOUND"));
    dt_err_reset (&err);

    //  Names are indexed folded, cut at a character boundary
    char folded [TREE_NAME_KEY_MAX + 1], long_name [DT_NAME_MAX + 1] = "";
    assert (tree_name_fold ("Li LEI 李", folded) == 10 && streq (folded, "li lei 李"));
    while (strlen (long_name) + 3 <= DT_NAME_MAX)
        strcat (long_name, "张");
    assert (tree_name_fold (long_name, folded) == 126 && strncmp (folded, long_name, 126) == 0);

    //  A replica of node n1 holds b-1 with its hall and members, nothing of b-2
    store_txn_t rtxn;
    assert (store_begin (replica, &rtxn, NULL, true, &err) == 0);
    const char *keys [][2] = { { "branch", "b-1" }, { "branch", "b-2" }, { "hall", "h-1" },
                               { "member", "m-lead" }, { "member", "m-1" }, { "member", "m-2" } };
    for (size_t i = 0; i < sizeof (keys) / sizeof (keys [0]); i++)
        s_test_records (&txn, streq (keys [i][0], "branch")? TBL_BRANCH:
                              streq (keys [i][0], "hall")? TBL_HALL: TBL_MEMBER,
                        keys [i][1], &rtxn);
    assert (tree_branch_get (&rtxn, "b-2", &branch, &err) == 1);
    assert (tree_hall_get (&rtxn, "h-1", &hall, &err) == 0);
    zlistx_t *ids = tree_seat_ids (&rtxn, SEAT_HALL, "h-1", &err);
    assert (ids && zlistx_size (ids) == 2);
    zlistx_destroy (&ids);

    //  A hall moved to b-2 takes its members along; the replica lets go of them
    s_test_member (&txn, "m-lead", SEAT_CORE, "b-2");
    assert (tree_hall_get (&txn, "h-1", &hall, &err) == 0);
    strcpy (hall.branch, "b-2");
    assert (tree_hall_put (&txn, &hall, &err) == 0);
    assert (tree_member_get (&txn, "m-2", &member, &err) == 0 && streq (member.branch, "b-2"));
    assert (tree_branch_get (&txn, "b-1", &branch, &err) == 0);
    assert (branch.halls == 0 && branch.core_seats == 0);
    assert (tree_branch_get (&txn, "b-2", &branch, &err) == 0);
    assert (branch.halls == 1 && branch.core_seats == 1);
    for (size_t i = 2; i < sizeof (keys) / sizeof (keys [0]); i++)
        s_test_records (&txn, streq (keys [i][0], "hall")? TBL_HALL: TBL_MEMBER,
                        keys [i][1], &rtxn);
    assert (tree_hall_get (&rtxn, "h-1", &hall, &err) == 1);
    assert (tree_member_get (&rtxn, "m-1", &member, &err) == 1);
    assert (tree_branch_get (&rtxn, "b-1", &branch, &err) == 0);

    //  Reassigning the branch drops it whole from the replica
    assert (repl_apply (&rtxn, "n1", "branch", "b-1", NULL, 0, &err) == 0);
    assert (tree_branch_get (&rtxn, "b-1", &branch, &err) == 1);
    assert (repl_apply (&rtxn, "n1", "bogus", "b-1", NULL, 0, &err) == -1);
    assert (streq (err.code, "MALFORMED"));

    //  A key record is logged for every node, and every replica keeps it
    dt_key_t key = { .name = "lk", .public_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
                     .role = KEY_LEADER, .branches = { "b-2" }, .nbranches = 1 };
    assert (tree_key_put (&txn, &key, &err) == 0);
    s_test_logged_for_all (&txn, "key", "lk");
    s_test_records (&txn, TBL_KEY, "lk", &rtxn);
    const void *val = NULL;
    size_t size = 0;
    assert (store_get (&rtxn, TBL_KEY, "lk", 2, &val, &size, &err) == 0);
    dt_key_t copy;
    assert (record_key_decode (&copy, val, size) == 0 && copy.role == KEY_LEADER);
    assert (repl_apply (&rtxn, "n1", "key", "lk", NULL, 0, &err) == 0);
    assert (store_get (&rtxn, TBL_KEY, "lk", 2, &val, &size, &err) == 1);
    assert (repl_apply (&rtxn, "n1", "key", "lk", "\x81", 1, &err) == -1);
    assert (streq (err.code, "MALFORMED"));
    msgpack_sbuffer record;
    msgpack_sbuffer_init (&record);
    record_key_encode (&key, &record);
    assert (repl_apply (&rtxn, "n1", "key", "other", record.data, record.size, &err) == -1);
    assert (streq (err.code, "MALFORMED"));
    msgpack_sbuffer_destroy (&record);
    s_test_policy (&txn, &rtxn);
    store_abort (&rtxn);

    //  Every change was logged
    assert (store_log_head (&txn) > 10);
    store_abort (&txn);
    scratch_destroy (&store);
    scratch_destroy (&replica);
}
