/* query.c -- the read operations: lists, shows, the tree, export and audit,
   streamed from the store into the result within the key's scope. Every
   list pages (page.h, PROTOCOL.md 6.0): a reply never grows past its limit. */
#include "query.h"
#include "page.h"
#include "policy.h"
#include "scratch.h"
#include "repl.h"

#define QUERY_AUDIT_LIMIT_DEFAULT 100
#define QUERY_AUDIT_LIMIT_MAX     10000

//  A list inside a show (a hall's members, a branch's halls), streamed into
//  the result. msgpack wants the length first, and the groups' counters
//  (branch.halls, branch.core_seats, hall.seats) give it without holding
//  the list in memory. A store whose counters disagree with its indexes
//  fails the call (the caller drops what was packed) rather than send a
//  malformed reply.

typedef struct {
    op_ctx_t *ctx;
    msgpack_packer *pk;         /* where the items go */
    uint64_t expected;
    uint64_t packed;
    bool over;                  /* the store held more than its counter */
    char what [DT_ID_MAX + 40];
    //  Used by some visitors only
    uint64_t seats;             /* seats of the groups packed */
    const char *leader;         /* member.show: the member whose halls we list */
} s_list_t;

static void
s_list_open (s_list_t *self, op_ctx_t *ctx, msgpack_packer *pk, uint64_t count,
             const char *what, const char *id)
{
    memset (self, 0, sizeof (*self));
    self->ctx = ctx;
    self->pk = pk;
    self->expected = count;
    snprintf (self->what, sizeof (self->what), "%s%s%s", what, *id? " ": "", id);
    msgpack_pack_array (pk, (uint32_t) count);
}

/* True if one more item fits the length packed; else notes the overflow. */
static bool
s_list_take (s_list_t *self)
{
    if (self->packed == self->expected) {
        self->over = true;
        return false;
    }
    self->packed++;
    return true;
}

static int
s_list_close (s_list_t *self)
{
    if (!self->over && self->packed == self->expected)
        return 0;
    return dt_err_set (self->ctx->err, "INTERNAL",
                       "store is inconsistent: %s counts %" PRIu64 ", found %s%" PRIu64,
                       self->what, self->expected, self->over? "more than ": "",
                       self->over? self->expected: self->packed);
}

/* Append bytes that already are msgpack (stored entries) to the result. */
static void
s_pack_raw (msgpack_packer *pk, const void *data, size_t size)
{
    pk->callback (pk->data, (const char *) data, size);
}

static int
s_pack_member (const member_t *member, void *arg)
{
    s_list_t *list = arg;
    if (!s_list_take (list))
        return 1;
    record_member_pack (member, list->pk);
    return 0;
}

static int
s_pack_hall (const hall_t *hall, void *arg)
{
    s_list_t *list = arg;
    if (!s_list_take (list))
        return 1;
    record_hall_pack (hall, tree_hall_cap (list->ctx->txn, hall), list->pk);
    list->seats += hall->seats;
    return 0;
}

/* Members seated in a group, `count` of them by the group's counter. */
static int
s_pack_seats (op_ctx_t *ctx, seat_kind_t kind, const char *group, uint32_t count)
{
    s_list_t list;
    s_list_open (&list, ctx, ctx->pk, count,
                 kind == SEAT_CORE? "core seats of branch": "seats of hall", group);
    if (tree_seat_visit (ctx->txn, kind, group, s_pack_member, &list, ctx->err))
        return -1;
    return s_list_close (&list);
}

/* Halls of a branch into pk. */
static int
s_pack_halls (op_ctx_t *ctx, msgpack_packer *pk, const branch_t *branch)
{
    s_list_t list;
    s_list_open (&list, ctx, pk, branch->halls, "halls of branch", branch->id);
    if (tree_hall_visit (ctx->txn, branch->id, s_pack_hall, &list, ctx->err))
        return -1;
    return s_list_close (&list);
}

//  Pages: a position is the ids that locate an item, joined by \0 (an id
//  never holds one); the cursor of page.h is its hex.

#define S_POS_FIELDS 4

typedef struct {
    op_ctx_t *ctx;
    page_t page;
    bool resume;                /* a cursor was given: `at` holds its fields */
    char at [S_POS_FIELDS][DT_ID_MAX + 1];
    //  Used by some lists only
    char branch [DT_ID_MAX + 1];    /* export: the group being visited */
    char hall [DT_ID_MAX + 1];
    uint64_t line;              /* export: number of the last row packed */
    zhashx_t *led;              /* officer.list: officer id -> branches led */
} s_paged_t;

/* Open a page of fields-field positions; -1 (BAD_ARGS) for a cursor that
   is not one (page_release is done). */
static int
s_paged_open (s_paged_t *self, op_ctx_t *ctx, const msgpack_object *args, size_t fields)
{
    memset (self, 0, sizeof (*self));
    self->ctx = ctx;
    if (page_open (&self->page, args, ctx->err)) {
        page_release (&self->page);
        return -1;
    }
    size_t size;
    const char *after = page_after (&self->page, &size);
    if (!after)
        return 0;
    size_t field = 0, start = 0;
    for (size_t i = 0; i <= size; i++)
        if (i == size || after [i] == 0) {
            if (field == fields || i - start > DT_ID_MAX)
                break;
            memcpy (self->at [field], after + start, i - start);
            self->at [field++][i - start] = 0;
            start = i + 1;
        }
    if (field != fields || !*self->at [fields - 1]) {
        return page_refuse_cursor (&self->page, ctx->err);
    }
    self->resume = true;
    return 0;
}

/* Room for one more item at the position of these fields (NULL ends
   them): its packer, or NULL when the page is full. */
static msgpack_packer *
s_paged_item (s_paged_t *self, const char *first, ...)
{
    char key [PAGE_KEY_MAX];
    size_t size = 0;
    va_list fields;
    va_start (fields, first);
    //  Each field after the first is preceded by its \0, empty or not: an
    //  unplaced member's position starts with two empty fields
    int index = 0;
    for (const char *field = first; field; field = va_arg (fields, const char *)) {
        size_t len = strlen (field);
        if (size + len + 1 > sizeof (key))
            break;
        if (index++)
            key [size++] = 0;
        memcpy (key + size, field, len);
        size += len;
    }
    va_end (fields);
    return page_item (&self->page, key, size);
}

/* The list of a store whose counter says count: wrong only when this page
   holds the whole list. */
static int
s_paged_check (s_paged_t *self, uint64_t count, const char *what)
{
    if (self->resume || self->page.more || self->page.count == count)
        return 0;
    return dt_err_set (self->ctx->err, "INTERNAL", "store is inconsistent: %s counts %"
                       PRIu64 ", found %" PRIu32, what, count, self->page.count);
}

/* Finish a visit: 0 with the page packed as name (and next) into the
   result map, whose other pairs the caller packs; -1 drops it. */
static int
s_paged_close (s_paged_t *self, int rc, const char *name)
{
    if (rc == 0)
        page_pack (&self->page, self->ctx->pk, name);
    else
        page_release (&self->page);
    return rc;
}

//  Scope: the branches a key covers

typedef struct {
    op_ctx_t *ctx;
    tree_branch_fn *visit;
    void *arg;
    page_t *page;
} s_scope_t;

static int
s_scope_branch (const branch_t *branch, void *arg)
{
    s_scope_t *self = arg;
    int rc = op_covers (self->ctx, branch->id)? self->visit (branch, self->arg): 0;
    //  A full page stops the walk, whichever level found it full
    return rc == 0 && self->page && self->page->more? 1: rc;
}

/* Visit the branches in the key's scope in id order, or only `one` when it
   is not "" (NOT_FOUND or DENIED when it is unknown or out of scope). A
   page resumes: after branch `after` (skipped), or at it when `at` (the
   page's position is inside it; a branch gone since is passed). */
static int
s_scope_visit_from (op_ctx_t *ctx, const char *one, page_t *page, const char *after, bool at,
                    tree_branch_fn *visit, void *arg)
{
    if (*one) {
        branch_t branch;
        if (tree_branch_need (ctx->txn, one, &branch, ctx->err) || op_allow (ctx, one))
            return -1;
        if (after && *after && !at)
            return 0;           /* the one branch was the last page's */
        return visit (&branch, arg) == -1? -1: 0;
    }
    s_scope_t self = { ctx, visit, arg, page };
    if (after && *after && at) {
        branch_t branch;
        dt_err_t err;
        dt_err_init (&err);
        int found = tree_branch_get (ctx->txn, after, &branch, &err);
        dt_err_reset (&err);
        int rc = found == 0? s_scope_branch (&branch, &self): 0;
        if (rc)
            return rc == -1? -1: 0;
    }
    return tree_branch_visit_after (ctx->txn, after, s_scope_branch, &self, ctx->err);
}

static int
s_scope_visit (op_ctx_t *ctx, const char *one, tree_branch_fn *visit, void *arg)
{
    return s_scope_visit_from (ctx, one, NULL, NULL, false, visit, arg);
}

/* What a list over the scope holds, from the groups' counters. */
typedef struct {
    op_ctx_t *ctx;
    bool hall_seats;            /* also add up the seats of every hall */
    uint64_t branches;
    uint64_t halls;
    uint64_t seated;            /* core seats, plus hall seats if hall_seats */
    zhashx_t *leaders;          /* distinct officers leading them, when not NULL */
} s_tally_t;

static int
s_tally_hall (const hall_t *hall, void *arg)
{
    ((s_tally_t *) arg)->seated += hall->seats;
    return 0;
}

static int
s_tally_branch (const branch_t *branch, void *arg)
{
    s_tally_t *self = arg;
    self->branches++;
    self->halls += branch->halls;
    self->seated += branch->core_seats;
    if (self->leaders)
        zhashx_insert (self->leaders, branch->leader, (void *) 1);
    if (self->hall_seats)
        return tree_hall_visit (self->ctx->txn, branch->id, s_tally_hall, self, self->ctx->err);
    return 0;
}

//  Officers

static int
s_count_led (const branch_t *branch, void *arg)
{
    zhashx_t *led = arg;
    uintptr_t count = (uintptr_t) zhashx_lookup (led, branch->leader);
    zhashx_update (led, branch->leader, (void *) (count + 1));
    return 0;
}

static int
s_page_officer (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    s_paged_t *self = arg;
    officer_t officer;
    if (record_officer_decode (&officer, val, val_size))
        return dt_err_set (self->ctx->err, "INTERNAL", "stored officer %.*s is damaged",
                           (int) (key_size > DT_ID_MAX? DT_ID_MAX: key_size),
                           (const char *) key);
    if (self->resume && streq (officer.id, self->at [0]))
        return 0;
    msgpack_packer *pk = s_paged_item (self, officer.id, NULL);
    if (!pk)
        return 1;
    uintptr_t led = (uintptr_t) zhashx_lookup (self->led, officer.id);
    record_officer_pack (&officer, (uint32_t) led, pk);
    return 0;
}

/* OFFICER LIST limit? cursor? */
static int
s_officer_list (op_ctx_t *ctx, const msgpack_object *args)
{
    s_paged_t self;
    if (s_paged_open (&self, ctx, args, 1))
        return -1;
    //  One walk over the branches counts what every officer leads, where
    //  tree_officer_branches would walk them once per officer.
    self.led = zhashx_new ();
    assert (self.led);
    int rc = tree_branch_visit (ctx->txn, s_count_led, self.led, ctx->err);
    if (rc == 0) {
        const char *from = self.resume? self.at [0]: NULL;
        rc = store_scan (ctx->txn, TBL_OFFICER, NULL, 0, from, from? strlen (from): 0,
                         s_page_officer, &self, ctx->err);
    }
    zhashx_destroy (&self.led);
    if (rc == 0)
        msgpack_pack_map (ctx->pk, 2);
    return s_paged_close (&self, rc, "officers");
}

//  Branches and halls

static int
s_page_branch (const branch_t *branch, void *arg)
{
    s_paged_t *self = arg;
    msgpack_packer *pk = s_paged_item (self, branch->id, NULL);
    if (!pk)
        return 1;
    record_branch_pack (branch, tree_branch_cap (self->ctx->txn, branch), pk);
    return 0;
}

/* BRANCH LIST limit? cursor? */
static int
s_branch_list (op_ctx_t *ctx, const msgpack_object *args)
{
    s_paged_t self;
    if (s_paged_open (&self, ctx, args, 1))
        return -1;
    int rc = s_scope_visit_from (ctx, "", &self.page, self.resume? self.at [0]: NULL, false,
                                 s_page_branch, &self);
    if (rc == 0)
        msgpack_pack_map (ctx->pk, 2);
    return s_paged_close (&self, rc, "branches");
}

/* BRANCH SHOW id */
static int
s_branch_show (op_ctx_t *ctx, const msgpack_object *args)
{
    char id [DT_ID_MAX + 1];
    branch_t branch;
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0
    ||  tree_branch_need (ctx->txn, id, &branch, ctx->err)
    ||  op_allow (ctx, id))
        return -1;
    msgpack_pack_map (ctx->pk, 3);
    proto_pack_key (ctx->pk, "branch");
    record_branch_pack (&branch, tree_branch_cap (ctx->txn, &branch), ctx->pk);
    proto_pack_key (ctx->pk, "halls");
    if (s_pack_halls (ctx, ctx->pk, &branch))
        return -1;
    proto_pack_key (ctx->pk, "core");
    return s_pack_seats (ctx, SEAT_CORE, id, branch.core_seats);
}

static int
s_page_hall (const hall_t *hall, void *arg)
{
    s_paged_t *self = arg;
    msgpack_packer *pk = s_paged_item (self, hall->branch, hall->id, NULL);
    if (!pk)
        return 1;
    record_hall_pack (hall, tree_hall_cap (self->ctx->txn, hall), pk);
    return 0;
}

static int
s_page_branch_halls (const branch_t *branch, void *arg)
{
    s_paged_t *self = arg;
    bool inside = self->resume && streq (branch->id, self->at [0]);
    return tree_hall_visit_after (self->ctx->txn, branch->id, inside? self->at [1]: NULL,
                                  s_page_hall, self, self->ctx->err);
}

/* HALL LIST branch? limit? cursor? */
static int
s_hall_list (op_ctx_t *ctx, const msgpack_object *args)
{
    char one [DT_ID_MAX + 1] = "";
    s_paged_t self;
    if (proto_arg_id (args, "branch", false, one, ctx->err) < 0
    ||  s_paged_open (&self, ctx, args, 2))
        return -1;
    int rc = s_scope_visit_from (ctx, one, &self.page, self.resume? self.at [0]: NULL, true,
                                 s_page_branch_halls, &self);
    if (rc == 0)
        msgpack_pack_map (ctx->pk, 2);
    return s_paged_close (&self, rc, "halls");
}

/* HALL SHOW id */
static int
s_hall_show (op_ctx_t *ctx, const msgpack_object *args)
{
    char id [DT_ID_MAX + 1];
    hall_t hall;
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0
    ||  tree_hall_need (ctx->txn, id, &hall, ctx->err)
    ||  op_allow (ctx, hall.branch))
        return -1;
    msgpack_pack_map (ctx->pk, 2);
    proto_pack_key (ctx->pk, "hall");
    record_hall_pack (&hall, tree_hall_cap (ctx->txn, &hall), ctx->pk);
    proto_pack_key (ctx->pk, "members");
    return s_pack_seats (ctx, SEAT_HALL, id, hall.seats);
}

//  Members

/* Seated members are seen by keys covering their branch; unplaced ones,
   which belong to no branch, by hq-admin keys only. */
static int
s_member_allow (op_ctx_t *ctx, const member_t *member)
{
    if (member->seat != SEAT_NONE)
        return op_allow (ctx, member->branch);
    char what [DT_ID_MAX + 32];
    snprintf (what, sizeof (what), "seeing unplaced member %s", member->id);
    return op_allow_hq (ctx, what);
}

static int
s_pack_led (const hall_t *hall, void *arg)
{
    s_list_t *list = arg;
    if (!streq (hall->leader, list->leader))
        return 0;
    if (!s_list_take (list))
        return 1;
    proto_pack_str (list->pk, hall->id);
    return 0;
}

/* MEMBER SHOW id */
static int
s_member_show (op_ctx_t *ctx, const msgpack_object *args)
{
    char id [DT_ID_MAX + 1];
    member_t member;
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0
    ||  tree_member_need (ctx->txn, id, &member, ctx->err)
    ||  s_member_allow (ctx, &member))
        return -1;
    msgpack_pack_map (ctx->pk, 2);
    proto_pack_key (ctx->pk, "member");
    record_member_pack (&member, ctx->pk);
    proto_pack_key (ctx->pk, "leads");
    char first [DT_ID_MAX + 1];
    uint32_t count = tree_member_leads (ctx->txn, &member, first);
    if (count <= 1) {
        //  The usual case needs no second walk over the branch's halls
        msgpack_pack_array (ctx->pk, count);
        if (count)
            proto_pack_str (ctx->pk, first);
        return 0;
    }
    s_list_t list;
    s_list_open (&list, ctx, ctx->pk, count, "halls led by member", id);
    list.leader = id;
    if (tree_hall_visit (ctx->txn, member.branch, s_pack_led, &list, ctx->err))
        return -1;
    return s_list_close (&list);
}

static int
s_page_member (const member_t *member, void *arg)
{
    s_paged_t *self = arg;
    msgpack_packer *pk = s_paged_item (self, member->id, NULL);
    if (!pk)
        return 1;
    record_member_pack (member, pk);
    return 0;
}

/* Members seated nowhere: every member has one seat index entry or none. */
static uint64_t
s_unplaced_count (store_txn_t *txn)
{
    uint64_t members = store_count (txn, TBL_MEMBER), seated = store_count (txn, TBL_SEAT);
    return members > seated? members - seated: 0;
}

/* The unplaced members, for hq-admin keys: a page of them. */
static int
s_member_list_unplaced (op_ctx_t *ctx, const msgpack_object *args)
{
    s_paged_t self;
    if (op_allow_hq (ctx, "listing unplaced members") || s_paged_open (&self, ctx, args, 1))
        return -1;
    int rc = tree_unplaced_visit_after (ctx->txn, self.resume? self.at [0]: NULL,
                                        s_page_member, &self, ctx->err);
    if (rc == 0) {
        rc = s_paged_check (&self, s_unplaced_count (ctx->txn), "unplaced members");
    }
    if (rc == 0)
        msgpack_pack_map (ctx->pk, 2);
    return s_paged_close (&self, rc, "members");
}

/* MEMBER LIST hall? | branch? | unplaced? limit? cursor? */
static int
s_member_list (op_ctx_t *ctx, const msgpack_object *args)
{
    char hall_id [DT_ID_MAX + 1], branch_id [DT_ID_MAX + 1];
    bool unplaced = false;
    int by_hall = proto_arg_id (args, "hall", false, hall_id, ctx->err);
    int by_branch = by_hall < 0? -1: proto_arg_id (args, "branch", false, branch_id, ctx->err);
    if (by_hall < 0 || by_branch < 0
    ||  proto_arg_bool (args, "unplaced", false, &unplaced, ctx->err) < 0)
        return -1;
    if (by_hall + by_branch + unplaced != 1)
        return dt_err_set (ctx->err, "BAD_ARGS", "member.list takes exactly one of \"hall\", "
                           "\"branch\" or \"unplaced\": true");
    if (unplaced)
        return s_member_list_unplaced (ctx, args);
    uint32_t count;
    if (by_hall) {
        hall_t hall;
        if (tree_hall_need (ctx->txn, hall_id, &hall, ctx->err) || op_allow (ctx, hall.branch))
            return -1;
        count = hall.seats;
    }
    else {
        branch_t branch;
        if (tree_branch_need (ctx->txn, branch_id, &branch, ctx->err)
        ||  op_allow (ctx, branch_id))
            return -1;
        count = branch.core_seats;
    }
    s_paged_t self;
    if (s_paged_open (&self, ctx, args, 1))
        return -1;
    const char *group = by_hall? hall_id: branch_id;
    int rc = tree_seat_visit_after (ctx->txn, by_hall? SEAT_HALL: SEAT_CORE, group,
                                    self.resume? self.at [0]: NULL, s_page_member, &self,
                                    ctx->err);
    if (rc == 0)
        rc = s_paged_check (&self, count, by_hall? "seats of hall": "core seats of branch");
    if (rc == 0)
        msgpack_pack_map (ctx->pk, 2);
    return s_paged_close (&self, rc, "members");
}

/* A page of member.find: the members a key may see whose name starts with
   the name asked; a page passes over at most S_FIND_PASS_MAX entries it may
   not show, so that a narrow key's search costs a bounded time per page
   (such a page may hold fewer items than the limit, and still a next). */
#define S_FIND_PASS_MAX 20000

typedef struct {
    op_ctx_t *ctx;
    page_t page;
    uint32_t passed;
} s_find_t;

static int
s_find_entry (const member_t *member, const void *position, size_t size, void *arg)
{
    s_find_t *self = arg;
    //  As s_member_allow, without an error for each member passed over
    bool visible = member && (member->seat == SEAT_NONE
                              ? self->ctx->key->role == KEY_HQ_ADMIN
                              : op_covers (self->ctx, member->branch));
    if (visible) {
        msgpack_packer *pk = page_item (&self->page, position, size);
        if (!pk)
            return 1;
        record_member_pack (member, pk);
        return 0;
    }
    if (++self->passed > S_FIND_PASS_MAX) {
        self->page.more = true;
        return 1;
    }
    page_pass (&self->page, position, size);
    return 0;
}

/* MEMBER FIND name limit? cursor? */
static int
s_member_find (op_ctx_t *ctx, const msgpack_object *args)
{
    char name [DT_NAME_MAX + 1];
    if (proto_arg_name (args, "name", true, name, ctx->err) < 0)
        return -1;
    s_find_t self = { .ctx = ctx };
    if (page_open (&self.page, args, ctx->err)) {
        page_release (&self.page);
        return -1;
    }
    size_t size;
    const char *after = page_after (&self.page, &size);
    const char *split = after? memchr (after, 0, size): NULL;
    if (after && (size > TREE_NAME_POSITION_MAX || !split || split + 1 == after + size)) {
        return page_refuse_cursor (&self.page, ctx->err);
    }
    if (tree_name_visit_after (ctx->txn, name, after, size, s_find_entry, &self, ctx->err)) {
        page_release (&self.page);
        return -1;
    }
    msgpack_pack_map (ctx->pk, 2);
    page_pack (&self.page, ctx->pk, "members");
    return 0;
}

//  The tree

static int
s_page_tree_branch (const branch_t *branch, void *arg)
{
    s_paged_t *self = arg;
    msgpack_packer *pk = s_paged_item (self, branch->id, NULL);
    if (!pk)
        return 1;
    record_branch_pack_extra (branch, tree_branch_cap (self->ctx->txn, branch), 1, pk);
    proto_pack_key (pk, "hall_list");
    return s_pack_halls (self->ctx, pk, branch);
}

static void
s_pack_hq (msgpack_packer *pk, uint64_t officers, uint64_t members, uint64_t unplaced,
           const s_tally_t *tally)
{
    msgpack_pack_map (pk, 5);
    proto_pack_key (pk, "officers");
    msgpack_pack_uint64 (pk, officers);
    proto_pack_key (pk, "members");
    msgpack_pack_uint64 (pk, members);
    proto_pack_key (pk, "unplaced");
    msgpack_pack_uint64 (pk, unplaced);
    proto_pack_key (pk, "branches");
    msgpack_pack_uint64 (pk, tally->branches);
    proto_pack_key (pk, "halls");
    msgpack_pack_uint64 (pk, tally->halls);
}

/* TREE branch? limit? cursor?
   A page of branches, each with all its halls; "hq" on every page counts
   the whole list. For an hq-admin key "hq" counts the whole organisation,
   from table sizes (every seated member has exactly one seat index
   entry). Other keys see hq only through their branches: the officers
   leading them, the members seated in them, and no unplaced members. */
static int
s_tree (op_ctx_t *ctx, const msgpack_object *args)
{
    char one [DT_ID_MAX + 1] = "";
    s_paged_t self;
    if (proto_arg_id (args, "branch", false, one, ctx->err) < 0
    ||  s_paged_open (&self, ctx, args, 1))
        return -1;
    bool admin = ctx->key->role == KEY_HQ_ADMIN;
    s_tally_t tally = { .ctx = ctx, .hall_seats = !admin,
                        .leaders = admin? NULL: zhashx_new () };
    int rc = s_scope_visit (ctx, one, s_tally_branch, &tally);
    if (rc == 0)
        rc = s_scope_visit_from (ctx, one, &self.page, self.resume? self.at [0]: NULL, false,
                                 s_page_tree_branch, &self);
    if (rc == 0) {
        msgpack_pack_map (ctx->pk, 3);
        proto_pack_key (ctx->pk, "hq");
        if (admin)
            s_pack_hq (ctx->pk, store_count (ctx->txn, TBL_OFFICER),
                       store_count (ctx->txn, TBL_MEMBER), s_unplaced_count (ctx->txn), &tally);
        else
            s_pack_hq (ctx->pk, zhashx_size (tally.leaders), tally.seated, 0, &tally);
    }
    zhashx_destroy (&tally.leaders);
    return s_paged_close (&self, rc, "branches");
}

//  Export: the rows import.members reads, at positions branch, hall ("" for
//  the core seats), member and the row's line (branch "" for the unplaced)

static int
s_export_row (const member_t *member, void *arg)
{
    s_paged_t *self = arg;
    char line [24];
    snprintf (line, sizeof (line), "%" PRIu64, self->line + 1);
    msgpack_packer *pk = s_paged_item (self, self->branch, self->hall, member->id, line, NULL);
    if (!pk)
        return 1;
    msgpack_pack_map (pk, 5);
    proto_pack_key (pk, "line");
    msgpack_pack_uint64 (pk, ++self->line);
    proto_pack_key (pk, "id");
    proto_pack_str (pk, member->id);
    proto_pack_key (pk, "name");
    proto_pack_str (pk, member->name);
    proto_pack_key (pk, "referrer");
    proto_pack_str (pk, member->referrer);
    proto_pack_key (pk, "group");
    proto_pack_str (pk, member->group);
    return 0;
}

/* The seats of one group, after member `after` (NULL: all). */
static int
s_export_seats (s_paged_t *self, seat_kind_t kind, const char *group, const char *after)
{
    int rc = tree_seat_visit_after (self->ctx->txn, kind, group, after, s_export_row, self,
                                    self->ctx->err);
    return rc? -1: self->page.more? 1: 0;
}

static int
s_export_hall (const hall_t *hall, void *arg)
{
    s_paged_t *self = arg;
    snprintf (self->hall, sizeof (self->hall), "%s", hall->id);
    return s_export_seats (self, SEAT_HALL, hall->id, NULL);
}

static int
s_export_branch (const branch_t *branch, void *arg)
{
    s_paged_t *self = arg;
    op_ctx_t *ctx = self->ctx;
    bool inside = self->resume && streq (branch->id, self->at [0]);
    const char *hall = inside? self->at [1]: "";
    const char *member = inside? self->at [2]: NULL;
    snprintf (self->branch, sizeof (self->branch), "%s", branch->id);
    *self->hall = 0;
    int rc = 0;
    if (!*hall)
        rc = s_export_seats (self, SEAT_CORE, branch->id, member);
    else {
        //  Resuming inside a hall: the rest of its seats, if it is still here
        hall_t resumed;
        dt_err_t err;
        dt_err_init (&err);
        if (tree_hall_get (ctx->txn, hall, &resumed, &err) == 0
        &&  streq (resumed.branch, branch->id)) {
            snprintf (self->hall, sizeof (self->hall), "%s", hall);
            rc = s_export_seats (self, SEAT_HALL, hall, member);
        }
        dt_err_reset (&err);
    }
    if (rc == 0)
        rc = tree_hall_visit_after (ctx->txn, branch->id, *hall? hall: NULL, s_export_hall,
                                    self, ctx->err);
    return rc == -1? -1: self->page.more? 1: 0;
}

/* EXPORT MEMBERS branch? limit? cursor?
   Rows go branch by branch: core seats, then each hall's seats. Without a
   branch an hq-admin key gets every member, the unplaced ones last. */
static int
s_export_members (op_ctx_t *ctx, const msgpack_object *args)
{
    char one [DT_ID_MAX + 1] = "";
    s_paged_t self;
    if (proto_arg_id (args, "branch", false, one, ctx->err) < 0
    ||  s_paged_open (&self, ctx, args, 4))
        return -1;
    bool everyone = !*one && ctx->key->role == KEY_HQ_ADMIN;
    bool unplaced = self.resume && !*self.at [0];
    uint64_t expected = 0;
    int rc = 0;
    if (self.resume)
        self.line = strtoull (self.at [3], NULL, 10);
    else
    if (everyone)
        expected = store_count (ctx->txn, TBL_MEMBER);
    else {
        s_tally_t tally = { .ctx = ctx, .hall_seats = true };
        rc = s_scope_visit (ctx, one, s_tally_branch, &tally);
        expected = tally.seated;
    }
    if (rc == 0 && !unplaced)
        rc = s_scope_visit_from (ctx, one, &self.page, self.resume? self.at [0]: NULL, true,
                                 s_export_branch, &self);
    if (rc == 0 && everyone && !self.page.more) {
        const char *from = unplaced? self.at [2]: NULL;
        *self.branch = *self.hall = 0;
        rc = tree_unplaced_visit_after (ctx->txn, from, s_export_row, &self, ctx->err);
    }
    if (rc == 0)
        rc = s_paged_check (&self, expected, "members in scope of key");
    if (rc == 0)
        msgpack_pack_map (ctx->pk, 2);
    return s_paged_close (&self, rc, "rows");
}

//  Audit

/* A stored entry as the public entry: its own map plus "hash", the
   BLAKE2b-256 of the stored bytes. The entry has passed proto_check. */
static void
s_pack_entry (msgpack_packer *pk, const uint8_t *data, size_t size)
{
    uint32_t keys;
    size_t header;
    if (data [0] == 0xde) {
        keys = (uint32_t) data [1] << 8 | data [2];
        header = 3;
    }
    else
    if (data [0] == 0xdf) {
        keys = (uint32_t) data [1] << 24 | (uint32_t) data [2] << 16
             | (uint32_t) data [3] << 8 | data [4];
        header = 5;
    }
    else {
        keys = data [0] & 0x0f;
        header = 1;
    }
    uint8_t hash [32];
    crypto_generichash (hash, sizeof (hash), data, size, NULL, 0);
    msgpack_pack_map (pk, keys + 1);
    s_pack_raw (pk, data + header, size - header);
    proto_pack_key (pk, "hash");
    msgpack_pack_bin (pk, sizeof (hash));
    msgpack_pack_bin_body (pk, hash, sizeof (hash));
}

typedef struct {
    int64_t since;
    page_t page;
} s_audit_t;

static int
s_audit_entry (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    s_audit_t *self = arg;
    size_t after_size;
    const void *after = page_after (&self->page, &after_size);
    //  The parts of a summary's detail (16-byte keys) are for audit.verify
    if (key_size != 8
    || (after && after_size == key_size && memcmp (after, key, key_size) == 0))
        return 0;
    dt_err_t err;
    dt_err_init (&err);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    const msgpack_object *ts = NULL;
    if (proto_check (val, val_size, &err) == 0
    &&  msgpack_unpack_next (&unpacked, val, val_size, NULL) == MSGPACK_UNPACK_SUCCESS
    &&  unpacked.data.type == MSGPACK_OBJECT_MAP)
        ts = proto_map_get (&unpacked.data, "ts");
    //  An unreadable entry is left out here; audit.verify names it.
    bool wanted = ts && (ts->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                     ||  ts->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                     && ts->via.i64 >= self->since;
    msgpack_unpacked_destroy (&unpacked);
    if (!wanted)
        return 0;
    msgpack_packer *pk = page_item (&self->page, key, key_size);
    if (!pk)
        return 1;
    s_pack_entry (pk, val, val_size);
    return 0;
}

/* AUDIT LIST since? limit? cursor?
   Oldest first: from the first entry with ts >= since when since is given,
   else the newest `limit` entries; a cursor goes on after its entry. */
static int
s_audit_list (op_ctx_t *ctx, const msgpack_object *args)
{
    s_audit_t audit = { .since = INT64_MIN };
    if (page_open_range (&audit.page, args, QUERY_AUDIT_LIMIT_DEFAULT, QUERY_AUDIT_LIMIT_MAX,
                         ctx->err)
    ||  proto_arg_int (args, "since", false, &audit.since, ctx->err) < 0) {
        page_release (&audit.page);
        return -1;
    }
    size_t after_size;
    const void *after = page_after (&audit.page, &after_size);
    if (after && after_size != 8) {
        return page_refuse_cursor (&audit.page, ctx->err);
    }
    uint8_t from [8];
    uint64_t head = store_meta_uint (ctx->txn, "audit_seq");
    uint64_t limit = audit.page.limit;
    store_seq_key (proto_map_get (args, "since") || head <= limit? 1: head - limit + 1, from);
    int rc = store_scan (ctx->txn, TBL_AUDIT, NULL, 0, after? after: from, sizeof (from),
                         s_audit_entry, &audit, ctx->err);
    if (rc == 0)
        msgpack_pack_map (ctx->pk, 2);
    if (rc == 0)
        page_pack (&audit.page, ctx->pk, "entries");
    else
        page_release (&audit.page);
    return rc;
}

/* AUDIT VERIFY */
static int
s_audit_verify (op_ctx_t *ctx, const msgpack_object *args)
{
    (void) args;
    uint64_t entries, first_bad;
    char reason [DT_ERR_MSG_MAX];
    bool ok = store_audit_verify (ctx->txn, &entries, &first_bad, reason, sizeof (reason)) == 0;
    msgpack_packer *pk = ctx->pk;
    msgpack_pack_map (pk, 4);
    proto_pack_key (pk, "ok");
    if (ok)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    proto_pack_key (pk, "entries");
    msgpack_pack_uint64 (pk, entries);
    proto_pack_key (pk, "first_bad");
    if (ok)
        msgpack_pack_nil (pk);
    else
        msgpack_pack_uint64 (pk, first_bad);
    proto_pack_key (pk, "reason");
    proto_pack_str_or_nil (pk, ok? "": reason);
    return 0;
}

//  Policy

/* POLICY SHOW -- the same for every branch, so any key may read it */
static int
s_policy_show (op_ctx_t *ctx, const msgpack_object *args)
{
    (void) args;
    policy_t policy;
    if (policy_get (ctx->txn, &policy, ctx->err))
        return -1;
    policy_pack (&policy, ctx->pk);
    return 0;
}

const op_t query_ops [] = {
    { "officer.list", s_officer_list },
    { "branch.list", s_branch_list },
    { "branch.show", s_branch_show },
    { "hall.list", s_hall_list },
    { "hall.show", s_hall_show },
    { "member.show", s_member_show },
    { "member.list", s_member_list },
    { "member.find", s_member_find },
    { "tree", s_tree },
    { "export.members", s_export_members },
    { "audit.list", s_audit_list },
    { "audit.verify", s_audit_verify },
    { "policy.show", s_policy_show },
    { NULL, NULL }
};

//  --------------------------------------------------------------------------
//  Self-test

typedef struct {
    store_t *store;
    msgpack_sbuffer buf;
    msgpack_unpacked unpacked;
    dt_err_t err;
} s_test_t;

/* Run an op: its result (checked to be exactly one well-formed object), or
   NULL with the error in self->err. Valid until the next call. */
static const msgpack_object *
s_query (s_test_t *self, const dt_key_t *key, const char *op, const char *args)
{
    msgpack_sbuffer_clear (&self->buf);
    msgpack_unpacked_destroy (&self->unpacked);
    msgpack_unpacked_init (&self->unpacked);
    dt_err_reset (&self->err);
    if (op_run (self->store, query_ops, key, op, args, &self->buf, &self->err))
        return NULL;
    dt_err_t err;
    dt_err_init (&err);
    size_t offset = 0;
    assert (proto_check (self->buf.data, self->buf.size, &err) == 0);
    assert (msgpack_unpack_next (&self->unpacked, self->buf.data, self->buf.size, &offset)
            == MSGPACK_UNPACK_SUCCESS);
    assert (offset == self->buf.size);
    assert (self->unpacked.data.type == MSGPACK_OBJECT_MAP);
    return &self->unpacked.data;
}

static void
s_expect_error (s_test_t *self, const dt_key_t *key, const char *op, const char *args,
                const char *code)
{
    bool failed = s_query (self, key, op, args) == NULL;
    if (!failed || !streq (self->err.code, code))
        fprintf (stderr, "\n%s %s: expected %s, got %s\n", op, args, code,
                 failed? self->err.code: "success");
    assert (failed && streq (self->err.code, code));
}

static uint64_t
s_uint (const msgpack_object *map, const char *key)
{
    const msgpack_object *obj = proto_map_get (map, key);
    assert (obj && obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
    return obj->via.u64;
}

static const msgpack_object_array *
s_array (const msgpack_object *map, const char *key)
{
    const msgpack_object *obj = proto_map_get (map, key);
    assert (obj && obj->type == MSGPACK_OBJECT_ARRAY);
    return &obj->via.array;
}

static bool
s_str_is (const msgpack_object *obj, const char *expected)
{
    return obj && obj->type == MSGPACK_OBJECT_STR
        && obj->via.str.size == strlen (expected)
        && memcmp (obj->via.str.ptr, expected, obj->via.str.size) == 0;
}

static bool
s_field_is (const msgpack_object *map, const char *key, const char *expected)
{
    return s_str_is (proto_map_get (map, key), expected);
}

/* Size of the list under key in the result of op. */
static uint32_t
s_count (s_test_t *self, const dt_key_t *key, const char *op, const char *args,
         const char *list)
{
    const msgpack_object *result = s_query (self, key, op, args);
    if (!result)
        fprintf (stderr, "\n%s %s: %s %s\n", op, args, self->err.code, self->err.message);
    assert (result);
    return s_array (result, list)->size;
}

static void
s_test_member (store_txn_t *txn, const char *id, const char *name, seat_kind_t seat,
               const char *group, const char *referrer)
{
    dt_err_t err;
    dt_err_init (&err);
    member_t member = { .seat = seat, .created = 10 };
    strcpy (member.id, id);
    strcpy (member.name, name);
    strcpy (member.group, group);
    strcpy (member.referrer, referrer);
    if (streq (id, "m-2")) {
        member.ntags = 1;
        strcpy (member.tags [0].key, "城市");
        strcpy (member.tags [0].value, "成都");
    }
    assert (tree_member_put (txn, &member, &err) == 0);
}

static void
s_test_hall (store_txn_t *txn, const char *id, const char *name, const char *branch,
             const char *leader, uint32_t cap)
{
    dt_err_t err;
    dt_err_init (&err);
    hall_t hall = { .cap = cap, .created = 20 };
    strcpy (hall.id, id);
    strcpy (hall.name, name);
    strcpy (hall.branch, branch);
    strcpy (hall.leader, leader);
    assert (tree_hall_put (txn, &hall, &err) == 0);
}

/* Two branches b-1 (node n1) and b-2 (node n2), three halls, seven seated
   members and two unplaced ones, written in three audited steps. */
static void
s_test_build (store_t *store)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    txn.log = txn.audit = true;
    officer_t officers [] = { { "o-1", "张三", 1 }, { "o-2", "李四", 2 }, { "o-3", "王五", 3 } };
    for (size_t i = 0; i < 3; i++)
        assert (tree_officer_put (&txn, &officers [i], &err) == 0);
    assert (store_audit_append (&txn, "admin", "officer.add", "\x80", 1, &err) == 0);
    branch_t b1 = { .id = "b-1", .name = "成都分舵", .leader = "o-1", .node = "n1" };
    branch_t b2 = { .id = "b-2", .name = "重庆分舵", .leader = "o-2", .node = "n2", .cap = 150 };
    assert (tree_branch_put (&txn, &b1, &err) == 0 && tree_branch_put (&txn, &b2, &err) == 0);
    assert (store_audit_append (&txn, "admin", "branch.create", "\x80", 1, &err) == 0);
    s_test_member (&txn, "m-lead1", "赵一", SEAT_CORE, "b-1", "");
    s_test_member (&txn, "m-core2", "钱二", SEAT_CORE, "b-1", "m-lead1");
    s_test_hall (&txn, "h-1", "青羊堂口", "b-1", "m-lead1", 0);
    s_test_hall (&txn, "h-2", "锦江堂口", "b-1", "m-lead1", 40);
    s_test_member (&txn, "m-1", "孙三", SEAT_HALL, "h-1", "");
    s_test_member (&txn, "m-2", "李四娃", SEAT_HALL, "h-1", "m-1");
    s_test_member (&txn, "m-3", "周五", SEAT_HALL, "h-2", "");
    s_test_member (&txn, "m-lead2", "吴六", SEAT_CORE, "b-2", "");
    s_test_hall (&txn, "h-3", "渝中堂口", "b-2", "m-lead2", 0);
    s_test_member (&txn, "m-4", "郑七", SEAT_HALL, "h-3", "m-lead2");
    s_test_member (&txn, "u-1", "王八", SEAT_NONE, "", "m-1");
    s_test_member (&txn, "u-2", "冯九", SEAT_NONE, "", "");
    assert (store_audit_append (&txn, "admin", "import.members", "\x80", 1, &err) == 0);
    assert (store_commit (&txn, &err) == 0);
}

static int
s_test_mirror (store_table_t table, const char *key, const void *val, size_t size, void *arg)
{
    dt_err_t err;
    dt_err_init (&err);
    return repl_apply ((store_txn_t *) arg, "n1", store_table_name (table), key, val, size,
                       &err);
}

/* A replica of node n1 fed with every record of both branches. */
static void
s_test_replica (store_t *store, store_t *replica)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn, rtxn;
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    assert (store_begin (replica, &rtxn, NULL, true, &err) == 0);
    assert (repl_branch_records (&txn, "b-1", s_test_mirror, &rtxn, &err) == 0);
    assert (repl_branch_records (&txn, "b-2", s_test_mirror, &rtxn, &err) == 0);
    assert (store_commit (&rtxn, &err) == 0);
    store_abort (&txn);
}

/* Check that export rows carry exactly the members' fields, in order. */
static void
s_test_rows (store_t *store, const msgpack_object_array *rows, const char **ids)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    for (uint32_t i = 0; i < rows->size; i++) {
        const msgpack_object *row = &rows->ptr [i];
        assert (row->type == MSGPACK_OBJECT_MAP && row->via.map.size == 5);
        assert (s_uint (row, "line") == i + 1);
        assert (s_field_is (row, "id", ids [i]));
        member_t member;
        assert (tree_member_get (&txn, ids [i], &member, &err) == 0);
        assert (s_field_is (row, "name", member.name));
        assert (s_field_is (row, "referrer", member.referrer));
        assert (s_field_is (row, "group", member.group));
    }
    assert (ids [rows->size] == NULL);
    store_abort (&txn);
}

static void
s_test_scopes (s_test_t *self)
{
    dt_key_t node1 = { .name = "nk1", .role = KEY_NODE, .node = "n1" };
    dt_key_t lead2 = { .name = "lk2", .role = KEY_LEADER, .branches = { "b-2" }, .nbranches = 1 };

    assert (s_count (self, &node1, "branch.list", "", "branches") == 1);
    assert (s_field_is (&s_array (&self->unpacked.data, "branches")->ptr [0], "id", "b-1"));
    assert (s_count (self, &lead2, "branch.list", "", "branches") == 1);
    assert (s_field_is (&s_array (&self->unpacked.data, "branches")->ptr [0], "id", "b-2"));
    assert (s_count (self, &node1, "hall.list", "", "halls") == 2);
    assert (s_count (self, &lead2, "hall.list", "", "halls") == 1);
    assert (s_count (self, &lead2, "hall.show", "id=h-3", "members") == 1);
    assert (s_count (self, &node1, "member.list", "branch=b-1", "members") == 2);
    s_expect_error (self, &node1, "hall.show", "id=h-3", "DENIED");
    s_expect_error (self, &node1, "hall.list", "branch=b-2", "DENIED");
    s_expect_error (self, &node1, "branch.show", "id=b-2", "DENIED");
    s_expect_error (self, &node1, "member.show", "id=m-4", "DENIED");
    s_expect_error (self, &node1, "member.list", "hall=h-3", "DENIED");
    s_expect_error (self, &node1, "tree", "branch=b-2", "DENIED");
    s_expect_error (self, &node1, "export.members", "branch=b-2", "DENIED");
    s_expect_error (self, &lead2, "hall.show", "id=h-1", "DENIED");
    s_expect_error (self, &lead2, "member.show", "id=u-1", "DENIED");
    s_expect_error (self, &node1, "officer.list", "", "DENIED");
    s_expect_error (self, &node1, "audit.list", "", "DENIED");
    s_expect_error (self, &lead2, "audit.verify", "", "DENIED");
    //  A search passes over what the key may not see
    assert (s_count (self, &lead2, "member.find", "name=郑", "members") == 1);
    assert (s_count (self, &lead2, "member.find", "name=孙", "members") == 0);
    assert (s_count (self, &lead2, "member.find", "name=王", "members") == 0);
    assert (s_count (self, &node1, "member.find", "name=孙", "members") == 1);
    s_expect_error (self, &lead2, "member.list", "unplaced:=true", "DENIED");

    //  A scoped tree: hq shows only what the key's branches hold
    const msgpack_object *tree = s_query (self, &node1, "tree", "");
    assert (tree && s_array (tree, "branches")->size == 1);
    const msgpack_object *hq = proto_map_get (tree, "hq");
    assert (s_uint (hq, "officers") == 1 && s_uint (hq, "members") == 5);
    assert (s_uint (hq, "unplaced") == 0);
    tree = s_query (self, &lead2, "tree", "branch=b-2");
    assert (tree && s_uint (proto_map_get (tree, "hq"), "members") == 2);

    //  Scoped exports hold only their branches, never unplaced members
    const char *b1_ids [] = { "m-core2", "m-lead1", "m-1", "m-2", "m-3", NULL };
    const msgpack_object *export = s_query (self, &node1, "export.members", "");
    assert (export);
    s_test_rows (self->store, s_array (export, "rows"), b1_ids);
    const char *b2_ids [] = { "m-lead2", "m-4", NULL };
    export = s_query (self, &lead2, "export.members", "");
    assert (export);
    s_test_rows (self->store, s_array (export, "rows"), b2_ids);
}

static void
s_test_reads (s_test_t *self)
{
    //  Officers: branches led, 0 for the one leading none
    const msgpack_object *result = s_query (self, NULL, "officer.list", "");
    assert (result);
    const msgpack_object_array *officers = s_array (result, "officers");
    assert (officers->size == 3);
    assert (s_field_is (&officers->ptr [0], "name", "张三"));
    assert (s_uint (&officers->ptr [0], "branches") == 1);
    assert (s_uint (&officers->ptr [2], "branches") == 0);

    //  Branches, with effective caps and counters
    result = s_query (self, NULL, "branch.list", "");
    assert (result);
    const msgpack_object_array *branches = s_array (result, "branches");
    assert (branches->size == 2);
    assert (s_uint (&branches->ptr [0], "cap") == DT_BRANCH_CAP_DEFAULT);
    assert (s_uint (&branches->ptr [1], "cap") == 150);
    assert (s_uint (&branches->ptr [0], "core_seats") == 2);
    assert (s_uint (&branches->ptr [0], "halls") == 2);
    result = s_query (self, NULL, "branch.show", "id=b-1");
    assert (result && s_field_is (proto_map_get (result, "branch"), "name", "成都分舵"));
    assert (s_array (result, "halls")->size == 2 && s_array (result, "core")->size == 2);
    s_expect_error (self, NULL, "branch.show", "id=b-9", "NOT_FOUND");

    //  Halls
    assert (s_count (self, NULL, "hall.list", "", "halls") == 3);
    result = s_query (self, NULL, "hall.list", "branch=b-1");
    assert (result && s_array (result, "halls")->size == 2);
    assert (s_uint (&s_array (result, "halls")->ptr [1], "cap") == 40);
    s_expect_error (self, NULL, "hall.list", "branch=b-9", "NOT_FOUND");
    result = s_query (self, NULL, "hall.show", "id=h-1");
    assert (result && s_field_is (proto_map_get (result, "hall"), "name", "青羊堂口"));
    assert (s_uint (proto_map_get (result, "hall"), "cap") == DT_HALL_CAP_DEFAULT);
    const msgpack_object_array *members = s_array (result, "members");
    assert (members->size == 2 && s_field_is (&members->ptr [1], "name", "李四娃"));
    assert (s_field_is (&members->ptr [1], "referrer", "m-1"));
    assert (s_field_is (proto_map_get (&members->ptr [1], "tags"), "城市", "成都"));
    s_expect_error (self, NULL, "hall.show", "id=h-9", "NOT_FOUND");

    //  Members
    result = s_query (self, NULL, "member.show", "id=m-lead1");
    assert (result && s_field_is (proto_map_get (result, "member"), "seat", "core"));
    const msgpack_object_array *leads = s_array (result, "leads");
    assert (leads->size == 2 && s_str_is (&leads->ptr [0], "h-1")
            && s_str_is (&leads->ptr [1], "h-2"));
    assert (s_count (self, NULL, "member.show", "id=m-lead2", "leads") == 1);
    assert (s_count (self, NULL, "member.show", "id=m-1", "leads") == 0);
    result = s_query (self, NULL, "member.show", "id=u-1");
    assert (result && s_field_is (proto_map_get (result, "member"), "seat", "none"));
    s_expect_error (self, NULL, "member.show", "id=m-9", "NOT_FOUND");
    assert (s_count (self, NULL, "member.list", "hall=h-1", "members") == 2);
    assert (s_count (self, NULL, "member.list", "branch=b-1", "members") == 2);
    assert (s_count (self, NULL, "member.list", "branch=b-2", "members") == 1);
    s_expect_error (self, NULL, "member.list", "", "BAD_ARGS");
    s_expect_error (self, NULL, "member.list", "hall=h-1 branch=b-1", "BAD_ARGS");
    s_expect_error (self, NULL, "member.list", "hall=h-9", "NOT_FOUND");
    s_expect_error (self, NULL, "member.list", "hall=h-1 bogus=1", "BAD_ARGS");
    assert (s_count (self, NULL, "member.list", "unplaced:=true", "members") == 2);
    assert (s_count (self, NULL, "member.list", "unplaced:=true limit:=1", "members") == 1);
    s_expect_error (self, NULL, "member.list", "hall=h-1 unplaced:=true", "BAD_ARGS");
    //  By name: the start of it; unplaced members are found by hq-admin keys
    assert (s_count (self, NULL, "member.find", "name=李", "members") == 1);
    assert (s_count (self, NULL, "member.find", "name=李四娃", "members") == 1);
    assert (s_count (self, NULL, "member.find", "name=李四娃娃", "members") == 0);
    assert (s_count (self, NULL, "member.find", "name=王", "members") == 1);
    result = s_query (self, NULL, "member.find", "name=孙");
    assert (result && s_field_is (&s_array (result, "members")->ptr [0], "id", "m-1"));
    s_expect_error (self, NULL, "member.find", "", "BAD_ARGS");
    s_expect_error (self, NULL, "member.find", "name=李 cursor=00", "BAD_ARGS");

    //  The whole tree, with hq counted from table sizes
    result = s_query (self, NULL, "tree", "");
    assert (result);
    const msgpack_object *hq = proto_map_get (result, "hq");
    assert (s_uint (hq, "officers") == 3 && s_uint (hq, "members") == 9);
    assert (s_uint (hq, "unplaced") == 2);
    branches = s_array (result, "branches");
    assert (branches->size == 2 && branches->ptr [0].via.map.size == 9);
    assert (s_uint (&branches->ptr [0], "core_seats") == 2);
    assert (s_array (&branches->ptr [0], "hall_list")->size == 2);
    assert (s_field_is (&s_array (&branches->ptr [1], "hall_list")->ptr [0], "name", "渝中堂口"));
    assert (s_count (self, NULL, "tree", "branch=b-2", "branches") == 1);

    //  Export: branch by branch, core seats then halls, unplaced last
    const char *all_ids [] = { "m-core2", "m-lead1", "m-1", "m-2", "m-3",
                               "m-lead2", "m-4", "u-1", "u-2", NULL };
    result = s_query (self, NULL, "export.members", "");
    assert (result);
    s_test_rows (self->store, s_array (result, "rows"), all_ids);
    const char *b2_ids [] = { "m-lead2", "m-4", NULL };
    result = s_query (self, NULL, "export.members", "branch=b-2");
    assert (result);
    s_test_rows (self->store, s_array (result, "rows"), b2_ids);
}

static const msgpack_object *
s_test_bin32 (const msgpack_object *map, const char *key)
{
    const msgpack_object *obj = proto_map_get (map, key);
    assert (obj && obj->type == MSGPACK_OBJECT_BIN && obj->via.bin.size == 32);
    return obj;
}

static void
s_test_audit (s_test_t *self)
{
    dt_err_t err;
    dt_err_init (&err);
    const msgpack_object *result = s_query (self, NULL, "audit.verify", "");
    assert (result && proto_map_get (result, "ok")->via.boolean);
    assert (s_uint (result, "entries") == 3);
    assert (proto_map_get (result, "first_bad")->type == MSGPACK_OBJECT_NIL);
    assert (proto_map_get (result, "reason")->type == MSGPACK_OBJECT_NIL);

    //  Entries oldest first, each hash the next one's prev
    result = s_query (self, NULL, "audit.list", "");
    assert (result);
    const msgpack_object_array *entries = s_array (result, "entries");
    assert (entries->size == 3);
    for (uint32_t i = 0; i < 3; i++) {
        const msgpack_object *entry = &entries->ptr [i];
        assert (s_uint (entry, "seq") == i + 1 && s_field_is (entry, "actor", "admin"));
        assert (s_array (entry, "changes")->size > 0);
        if (i)
            assert (memcmp (s_test_bin32 (&entries->ptr [i - 1], "hash")->via.bin.ptr,
                            s_test_bin32 (entry, "prev")->via.bin.ptr, 32) == 0);
    }
    assert (s_field_is (&entries->ptr [1], "op", "branch.create"));
    char args [64];
    snprintf (args, sizeof (args), "since:=%" PRIu64, s_uint (&entries->ptr [2], "ts"));
    result = s_query (self, NULL, "audit.list", args);
    assert (result && s_array (result, "entries")->size >= 1);
    entries = s_array (result, "entries");
    assert (s_uint (&entries->ptr [entries->size - 1], "seq") == 3);
    result = s_query (self, NULL, "audit.list", "limit:=2");
    assert (result && s_array (result, "entries")->size == 2);
    assert (s_uint (&s_array (result, "entries")->ptr [0], "seq") == 2);
    assert (s_count (self, NULL, "audit.list", "since:=-5", "entries") == 3);
    snprintf (args, sizeof (args), "since:=%" PRId64, dt_now_ms () + 3600000);
    assert (s_count (self, NULL, "audit.list", args, "entries") == 0);
    s_expect_error (self, NULL, "audit.list", "limit:=0", "BAD_ARGS");
    s_expect_error (self, NULL, "audit.list", "limit:=10001", "BAD_ARGS");

    //  Altering entry 2 breaks the chain there
    store_txn_t txn;
    assert (store_begin (self->store, &txn, NULL, true, &err) == 0);
    uint8_t key [8];
    store_seq_key (2, key);
    const void *val;
    size_t size;
    assert (store_get (&txn, TBL_AUDIT, key, 8, &val, &size, &err) == 0);
    char *altered = malloc (size);
    assert (altered);
    memcpy (altered, val, size);
    char *actor = memmem (altered, size, "admin", 5);
    assert (actor);
    actor [4] = 'N';
    assert (store_put (&txn, TBL_AUDIT, key, 8, altered, size, &err) == 0);
    free (altered);
    assert (store_commit (&txn, &err) == 0);
    result = s_query (self, NULL, "audit.verify", "");
    assert (result && !proto_map_get (result, "ok")->via.boolean);
    assert (s_uint (result, "first_bad") == 2);
    assert (proto_map_get (result, "reason")->type == MSGPACK_OBJECT_STR);
    result = s_query (self, NULL, "audit.list", "");
    assert (result && s_field_is (&s_array (result, "entries")->ptr [1], "actor", "admiN"));
}

/* Counters that disagree with the indexes fail the call, never the format. */
static void
s_test_damage (s_test_t *self, uint32_t seats)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (self->store, &txn, NULL, true, &err) == 0);
    hall_t hall;
    assert (tree_hall_get (&txn, "h-2", &hall, &err) == 0);
    hall.seats = seats;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    record_hall_encode (&hall, &buf);
    assert (store_put (&txn, TBL_HALL, "h-2", 3, buf.data, buf.size, &err) == 0);
    msgpack_sbuffer_destroy (&buf);
    assert (store_commit (&txn, &err) == 0);
    s_expect_error (self, NULL, "hall.show", "id=h-2", "INTERNAL");
    s_expect_error (self, NULL, "member.list", "hall=h-2", "INTERNAL");
    s_expect_error (self, NULL, "export.members", "branch=b-1", "INTERNAL");
}

/* The policy a replica holds: its version, and its default caps in the
   effective caps of groups without their own. */
static void
s_test_policy (s_test_t *self, store_t *hub, const dt_key_t *key)
{
    const msgpack_object *policy = s_query (self, key, "policy.show", "");
    assert (policy && s_uint (policy, "version") == 0 && s_uint (policy, "hall_cap") == 30);
    assert (s_field_is (policy, "timezone", "Asia/Shanghai"));
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn, rtxn;
    assert (store_begin (hub, &txn, NULL, true, &err) == 0);
    policy_t changed;
    policy_defaults (&changed);
    changed.version = 4;
    changed.hall_cap = 3;
    assert (policy_put (&txn, &changed, &err) == 0);
    assert (store_begin (self->store, &rtxn, NULL, true, &err) == 0);
    const void *val;
    size_t size;
    assert (store_get (&txn, TBL_POLICY, POLICY_KEY, strlen (POLICY_KEY), &val, &size, &err)
            == 0);
    assert (repl_apply (&rtxn, "n1", "policy", POLICY_KEY, val, size, &err) == 0);
    assert (store_commit (&rtxn, &err) == 0);
    store_abort (&txn);
    policy = s_query (self, key, "policy.show", "");
    assert (policy && s_uint (policy, "version") == 4 && s_uint (policy, "hall_cap") == 3);
    const msgpack_object *result = s_query (self, key, "hall.list", "branch=b-1");
    assert (result && s_uint (&s_array (result, "halls")->ptr [0], "cap") == 3);
    assert (s_uint (&s_array (result, "halls")->ptr [1], "cap") == 40);
}

/* Every member exactly once, a row a page, unplaced ones (their positions
   begin with two empty fields) included. */
static void
s_test_export_pages (s_test_t *self)
{
    char args [PAGE_KEY_MAX * 2 + 32] = "limit:=1";
    zhashx_t *seen = zhashx_new ();
    size_t pages = 0;
    while (true) {
        const msgpack_object *result = s_query (self, NULL, "export.members", args);
        assert (result);
        const msgpack_object *rows = proto_map_get (result, "rows");
        assert (rows && rows->via.array.size <= 1);
        char id [DT_ID_MAX + 1];
        if (rows->via.array.size) {
            assert (proto_obj_str (proto_map_get (&rows->via.array.ptr [0], "id"), id,
                                   DT_ID_MAX));
            assert (zhashx_insert (seen, id, (void *) 1) == 0);
        }
        pages++;
        const msgpack_object *next = proto_map_get (result, "next");
        if (!next || next->type != MSGPACK_OBJECT_STR)
            break;
        snprintf (args, sizeof (args), "limit:=1 cursor=%.*s", (int) next->via.str.size,
                  next->via.str.ptr);
    }
    store_txn_t txn;
    assert (store_begin (self->store, &txn, NULL, false, &self->err) == 0);
    assert (zhashx_size (seen) == store_count (&txn, TBL_MEMBER));
    store_abort (&txn);
    assert (pages >= zhashx_size (seen));
    zhashx_destroy (&seen);
}

void
query_test (bool verbose)
{
    (void) verbose;
    s_test_t self;
    dt_err_init (&self.err);
    msgpack_sbuffer_init (&self.buf);
    msgpack_unpacked_init (&self.unpacked);
    self.store = scratch_new ("query-test", 64);
    store_t *replica = scratch_new ("query-rep", 64);
    s_test_build (self.store);
    s_test_replica (self.store, replica);

    s_test_reads (&self);
    s_test_scopes (&self);
    s_test_export_pages (&self);

    //  Node n1 answers from its replica, which holds b-1 only
    store_t *hub = self.store;
    self.store = replica;
    dt_key_t node1 = { .name = "nk1", .role = KEY_NODE, .node = "n1" };
    assert (s_count (&self, &node1, "branch.list", "", "branches") == 1);
    assert (s_count (&self, &node1, "export.members", "", "rows") == 5);
    assert (s_count (&self, &node1, "member.show", "id=m-lead1", "leads") == 2);
    const msgpack_object *tree = s_query (&self, &node1, "tree", "");
    assert (tree && s_uint (proto_map_get (tree, "hq"), "members") == 5);
    s_expect_error (&self, &node1, "hall.show", "id=h-3", "NOT_FOUND");
    s_expect_error (&self, &node1, "member.show", "id=u-1", "NOT_FOUND");
    s_test_policy (&self, hub, &node1);
    self.store = hub;

    s_test_audit (&self);
    s_test_damage (&self, 3);
    s_test_damage (&self, 0);

    msgpack_unpacked_destroy (&self.unpacked);
    msgpack_sbuffer_destroy (&self.buf);
    dt_err_reset (&self.err);
    scratch_destroy (&self.store);
    scratch_destroy (&replica);
}
