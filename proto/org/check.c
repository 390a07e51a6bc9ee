/* check.c -- the tree's invariants over a whole store, with a report per
   violation. Reads the tables directly (not through the tree's indexes) so
   that it can see where the indexes and the records disagree. */
#include "check.h"
#include "scratch.h"

typedef struct {
    store_txn_t *txn;
    check_fn *report;
    void *arg;
    int64_t count;              /* violations so far */
    dt_err_t *err;
    zhashx_t *seated;           /* 'b'|'h' group -> seat index entries (uintptr_t) */
    zhashx_t *entries;          /* member id -> seat index entries naming them */
    zhashx_t *halls;            /* branch id -> branch-hall index entries */
    zhashx_t *led;              /* officer id -> branches naming them */
    uint64_t name_entries;      /* member index: 'n' entries */
    uint64_t unplaced_entries;  /* member index: 'u' entries */
    uint64_t members;           /* member records seen */
    uint64_t unplaced;          /* of which seated nowhere */
} s_check_t;

static void
s_violation (s_check_t *self, const char *format, ...)
{
    char message [DT_ERR_MSG_MAX];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof (message), format, args);
    va_end (args);
    self->count++;
    if (self->report)
        self->report (message, self->arg);
}

static void
s_bump (zhashx_t *counts, const char *key)
{
    uintptr_t count = (uintptr_t) zhashx_lookup (counts, key);
    zhashx_update (counts, key, (void *) (count + 1));
}

static uint32_t
s_tally (zhashx_t *counts, const char *key)
{
    return (uint32_t) (uintptr_t) zhashx_lookup (counts, key);
}

/* "hall h-1", "a core seat of branch b-1" or "no seat": where a member sits. */
static const char *
s_seat_text (seat_kind_t kind, const char *group, char *out, size_t size)
{
    if (kind == SEAT_NONE)
        snprintf (out, size, "no seat");
    else
        snprintf (out, size, kind == SEAT_HALL? "hall %s": "a core seat of branch %s", group);
    return out;
}

/* Split an index key "group \0 id" (after an optional one-byte prefix). */
static bool
s_index_split (const void *key, size_t size, size_t skip, char group [DT_ID_MAX + 1],
               char id [DT_ID_MAX + 1])
{
    const char *bytes = (const char *) key + skip;
    size -= skip;
    const char *nul = memchr (bytes, 0, size);
    if (!nul || nul == bytes || (size_t) (nul - bytes) > DT_ID_MAX)
        return false;
    size_t id_len = size - (nul - bytes) - 1;
    if (id_len == 0 || id_len > DT_ID_MAX)
        return false;
    memcpy (group, bytes, nul - bytes);
    group [nul - bytes] = 0;
    memcpy (id, nul + 1, id_len);
    id [id_len] = 0;
    return true;
}

/* A member by id: 0 found, 1 missing, 2 damaged (the member scan reports
   it), -1 a store error (err set: the check stops). */
static int
s_member (s_check_t *self, const char *id, member_t *member)
{
    int rc = tree_member_get (self->txn, id, member, self->err);
    if (rc == -1 && streq (self->err->code, "INTERNAL")) {
        dt_err_reset (self->err);
        return 2;
    }
    return rc;
}

//  The seat index: each entry against the member it names

static int
s_seat_entry (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) val; (void) val_size;
    s_check_t *self = arg;
    char group [DT_ID_MAX + 1], id [DT_ID_MAX + 1], slot [DT_ID_MAX + 2];
    char prefix = key_size? *(const char *) key: 0;
    if ((prefix != 'b' && prefix != 'h') || !s_index_split (key, key_size, 1, group, id)) {
        s_violation (self, "the seat index holds a damaged entry of %zu bytes", key_size);
        return 0;
    }
    seat_kind_t kind = prefix == 'b'? SEAT_CORE: SEAT_HALL;
    snprintf (slot, sizeof (slot), "%c%s", prefix, group);
    s_bump (self->seated, slot);
    s_bump (self->entries, id);
    char listed [DT_ID_MAX + 32], actual [DT_ID_MAX + 32];
    s_seat_text (kind, group, listed, sizeof (listed));
    member_t member;
    int rc = s_member (self, id, &member);
    if (rc == 1)
        s_violation (self, "the seat index lists member %s in %s, but there is no member %s",
                     id, listed, id);
    else
    if (rc == 0 && (member.seat != kind || !streq (member.group, group)))
        s_violation (self, "the seat index lists member %s in %s, but the member holds %s",
                     id, listed, s_seat_text (member.seat, member.group, actual,
                                                sizeof (actual)));
    return rc == -1? -1: 0;
}

//  The member index: counted here, each member's entries looked up below

static int
s_member_index_entry (const void *key, size_t key_size, const void *val, size_t val_size,
                      void *arg)
{
    (void) val; (void) val_size;
    s_check_t *self = arg;
    char prefix = key_size? *(const char *) key: 0;
    if (prefix == 'n')
        self->name_entries++;
    else
    if (prefix == 'u')
        self->unplaced_entries++;
    else
        s_violation (self, "the member index holds a damaged entry of %zu bytes", key_size);
    return 0;
}

/* Whether the member index holds this member's name, and its unplaced
   entry when seated nowhere. */
static int
s_member_indexed (s_check_t *self, const member_t *member)
{
    char key [TREE_NAME_POSITION_MAX + 2] = "n";
    size_t size = 1 + tree_name_fold (member->name, key + 1);
    key [size++] = 0;
    memcpy (key + size, member->id, strlen (member->id));
    size += strlen (member->id);
    const void *entry;
    size_t entry_size;
    int rc = store_get (self->txn, TBL_MEMBER_INDEX, key, size, &entry, &entry_size,
                        self->err);
    if (rc == 1)
        s_violation (self, "member %s is missing from the name index", member->id);
    if (rc == -1 || member->seat != SEAT_NONE)
        return rc == -1? -1: 0;
    self->unplaced++;
    key [0] = 'u';
    strcpy (key + 1, member->id);
    rc = store_get (self->txn, TBL_MEMBER_INDEX, key, strlen (key), &entry, &entry_size,
                    self->err);
    if (rc == 1)
        s_violation (self, "member %s holds no seat, but the member index does not list "
                     "them as unplaced", member->id);
    return rc == -1? -1: 0;
}

//  The branch-hall index: each entry against the hall it names

static int
s_hall_entry (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) val; (void) val_size;
    s_check_t *self = arg;
    char branch [DT_ID_MAX + 1], id [DT_ID_MAX + 1];
    if (!s_index_split (key, key_size, 0, branch, id)) {
        s_violation (self, "the branch-hall index holds a damaged entry of %zu bytes",
                     key_size);
        return 0;
    }
    s_bump (self->halls, branch);
    hall_t hall;
    int rc = tree_hall_get (self->txn, id, &hall, self->err);
    if (rc == 1)
        s_violation (self, "the hall index of branch %s lists hall %s, which does not exist",
                     branch, id);
    else
    if (rc == 0 && !streq (hall.branch, branch))
        s_violation (self, "the hall index of branch %s lists hall %s, which is in branch %s",
                     branch, id, hall.branch);
    else
    if (rc == -1 && streq (self->err->code, "INTERNAL")) {
        dt_err_reset (self->err);       /* reported with the hall records */
        rc = 0;
    }
    return rc == -1? -1: 0;
}

//  Groups: counters, caps, leaders

static int
s_branch_record (const void *key, size_t key_size, const void *val, size_t val_size,
                 void *arg)
{
    s_check_t *self = arg;
    branch_t branch;
    if (record_branch_decode (&branch, val, val_size)) {
        s_violation (self, "stored branch %.*s is damaged", (int) key_size, (const char *) key);
        return 0;
    }
    char slot [DT_ID_MAX + 2];
    snprintf (slot, sizeof (slot), "b%s", branch.id);
    uint32_t seated = s_tally (self->seated, slot), halls = s_tally (self->halls, branch.id);
    if (seated != branch.core_seats)
        s_violation (self, "branch %s counts %u core seats, but %u members hold one",
                     branch.id, branch.core_seats, seated);
    if (halls != branch.halls)
        s_violation (self, "branch %s counts %u halls, but %u halls are in it", branch.id,
                     branch.halls, halls);
    uint32_t cap = tree_branch_cap (self->txn, &branch);
    if (branch.core_seats > cap)
        s_violation (self, "branch %s holds %u core seats, over its cap of %u", branch.id,
                     branch.core_seats, cap);
    officer_t officer;
    int rc = tree_officer_get (self->txn, branch.leader, &officer, self->err);
    if (rc == 1)
        s_violation (self, "branch %s is led by %s, who is not an officer", branch.id,
                     branch.leader);
    else
    if (rc == -1)
        return -1;
    s_bump (self->led, branch.leader);
    if (*branch.node) {
        const void *node = NULL;
        size_t size = 0;
        rc = store_get (self->txn, TBL_NODE, branch.node, strlen (branch.node), &node, &size,
                        self->err);
        if (rc == 1)
            s_violation (self, "branch %s is assigned to node %s, which is not registered",
                         branch.id, branch.node);
        else
        if (rc == -1)
            return -1;
    }
    return 0;
}

static int
s_hall_record (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    s_check_t *self = arg;
    hall_t hall;
    if (record_hall_decode (&hall, val, val_size)) {
        s_violation (self, "stored hall %.*s is damaged", (int) key_size, (const char *) key);
        return 0;
    }
    branch_t branch;
    int rc = tree_branch_get (self->txn, hall.branch, &branch, self->err);
    if (rc == 1)
        s_violation (self, "hall %s is in branch %s, which does not exist", hall.id,
                     hall.branch);
    else
    if (rc == -1 && !streq (self->err->code, "INTERNAL"))
        return -1;
    dt_err_reset (self->err);
    //  The branch's hall index must list it
    char index [2 * DT_ID_MAX + 2];
    size_t branch_len = strlen (hall.branch), id_len = strlen (hall.id);
    memcpy (index, hall.branch, branch_len + 1);
    memcpy (index + branch_len + 1, hall.id, id_len);
    const void *entry = NULL;
    size_t size = 0;
    rc = store_get (self->txn, TBL_BRANCH_HALL, index, branch_len + 1 + id_len, &entry,
                    &size, self->err);
    if (rc == 1)
        s_violation (self, "hall %s is in branch %s, but the branch's hall index does not "
                     "list it", hall.id, hall.branch);
    else
    if (rc == -1)
        return -1;
    char slot [DT_ID_MAX + 2];
    snprintf (slot, sizeof (slot), "h%s", hall.id);
    uint32_t seated = s_tally (self->seated, slot);
    if (seated != hall.seats)
        s_violation (self, "hall %s counts %u seats, but %u members hold one", hall.id,
                     hall.seats, seated);
    uint32_t cap = tree_hall_cap (self->txn, &hall);
    if (hall.seats > cap)
        s_violation (self, "hall %s holds %u seats, over its cap of %u", hall.id, hall.seats,
                     cap);
    //  Its leader: a core seat of the hall's branch, with the leader role
    member_t leader;
    char actual [DT_ID_MAX + 32];
    rc = s_member (self, hall.leader, &leader);
    if (rc == 1)
        s_violation (self, "hall %s is led by %s, who is not a member", hall.id, hall.leader);
    else
    if (rc == 0 && (leader.seat != SEAT_CORE || !streq (leader.group, hall.branch)))
        s_violation (self, "hall %s is led by %s, who holds %s, not a core seat of branch %s",
                     hall.id, leader.id, s_seat_text (leader.seat, leader.group, actual,
                                                       sizeof (actual)), hall.branch);
    else
    if (rc == 0 && leader.role != ROLE_LEADER)
        s_violation (self, "hall %s is led by %s, whose role is %s, not leader", hall.id,
                     leader.id, record_role_name (leader.role));
    return rc == -1? -1: 0;
}

//  Members: one seat each, in the index, in an existing group

static int
s_member_record (const void *key, size_t key_size, const void *val, size_t val_size,
                 void *arg)
{
    s_check_t *self = arg;
    self->members++;
    member_t member;
    if (record_member_decode (&member, val, val_size)) {
        s_violation (self, "stored member %.*s is damaged", (int) key_size,
                     (const char *) key);
        return 0;
    }
    char seat [DT_ID_MAX + 32];
    s_seat_text (member.seat, member.group, seat, sizeof (seat));
    //  Listed exactly there, and nowhere else
    int rc = 0;
    if (member.seat != SEAT_NONE) {
        char index [2 * DT_ID_MAX + 3];
        size_t group_len = strlen (member.group), id_len = strlen (member.id);
        index [0] = member.seat == SEAT_CORE? 'b': 'h';
        memcpy (index + 1, member.group, group_len + 1);
        memcpy (index + group_len + 2, member.id, id_len);
        const void *entry = NULL;
        size_t size = 0;
        rc = store_get (self->txn, TBL_SEAT, index, group_len + 2 + id_len, &entry, &size,
                        self->err);
        if (rc == -1)
            return -1;
        if (rc == 1)
            s_violation (self, "member %s holds %s, but the seat index does not list them "
                         "there", member.id, seat);
    }
    if (s_member_indexed (self, &member))
        return -1;
    uint32_t entries = s_tally (self->entries, member.id);
    if (entries > 1)
        s_violation (self, "member %s is listed in %u seats of the seat index", member.id,
                     entries);
    //  The seat's group, and the branch the member record carries
    rc = 0;
    if (member.seat == SEAT_CORE) {
        branch_t branch;
        rc = tree_branch_get (self->txn, member.group, &branch, self->err);
        if (rc == 1)
            s_violation (self, "member %s holds %s, which does not exist", member.id, seat);
        if (!streq (member.branch, member.group))
            s_violation (self, "member %s holds %s, but records branch %s", member.id, seat,
                         member.branch);
    }
    else
    if (member.seat == SEAT_HALL) {
        hall_t hall;
        rc = tree_hall_get (self->txn, member.group, &hall, self->err);
        if (rc == 1)
            s_violation (self, "member %s holds %s, which does not exist", member.id, seat);
        else
        if (rc == 0 && !streq (member.branch, hall.branch))
            s_violation (self, "member %s holds %s of branch %s, but records branch %s",
                         member.id, seat, hall.branch, member.branch);
    }
    else
    if (*member.group || *member.branch)
        s_violation (self, "member %s holds no seat, but records group \"%s\" and branch "
                     "\"%s\"", member.id, member.group, member.branch);
    if (rc == -1 && !streq (self->err->code, "INTERNAL"))
        return -1;
    dt_err_reset (self->err);
    char hall [DT_ID_MAX + 1];
    if (member.role == ROLE_LEADER && tree_member_leads (self->txn, &member, hall) == 0)
        s_violation (self, "member %s has the leader role, but leads no hall", member.id);
    if (*member.referrer) {
        member_t referrer;
        rc = s_member (self, member.referrer, &referrer);
        if (rc == 1)
            s_violation (self, "member %s was referred by %s, who is not a member", member.id,
                         member.referrer);
        if (rc == -1)
            return -1;
    }
    return 0;
}

//  Officers: the count officer.list reports

static int
s_officer_record (const void *key, size_t key_size, const void *val, size_t val_size,
                  void *arg)
{
    s_check_t *self = arg;
    officer_t officer;
    if (record_officer_decode (&officer, val, val_size)) {
        s_violation (self, "stored officer %.*s is damaged", (int) key_size,
                     (const char *) key);
        return 0;
    }
    uint32_t counted = tree_officer_branches (self->txn, officer.id);
    uint32_t naming = s_tally (self->led, officer.id);
    if (counted != naming)
        s_violation (self, "officer %s is counted as leading %u branches, but %u branches "
                     "name them", officer.id, counted, naming);
    return 0;
}

int64_t
check_store (store_txn_t *txn, check_fn *report, void *arg, dt_err_t *err)
{
    s_check_t self = { .txn = txn, .report = report, .arg = arg, .err = err,
                       .seated = zhashx_new (), .entries = zhashx_new (),
                       .halls = zhashx_new (), .led = zhashx_new () };
    //  The indexes first: the record checks compare with their tallies
    int rc = store_scan (txn, TBL_SEAT, NULL, 0, NULL, 0, s_seat_entry, &self, err);
    if (rc == 0)
        rc = store_scan (txn, TBL_BRANCH_HALL, NULL, 0, NULL, 0, s_hall_entry, &self, err);
    if (rc == 0)
        rc = store_scan (txn, TBL_BRANCH, NULL, 0, NULL, 0, s_branch_record, &self, err);
    if (rc == 0)
        rc = store_scan (txn, TBL_HALL, NULL, 0, NULL, 0, s_hall_record, &self, err);
    if (rc == 0)
        rc = store_scan (txn, TBL_MEMBER, NULL, 0, NULL, 0, s_member_record, &self, err);
    if (rc == 0)
        rc = store_scan (txn, TBL_OFFICER, NULL, 0, NULL, 0, s_officer_record, &self, err);
    if (rc == 0)
        rc = store_scan (txn, TBL_MEMBER_INDEX, NULL, 0, NULL, 0, s_member_index_entry, &self,
                         err);
    if (rc == 0 && self.name_entries != self.members)
        s_violation (&self, "the name index holds %" PRIu64 " entries for %" PRIu64
                     " members", self.name_entries, self.members);
    if (rc == 0 && self.unplaced_entries != self.unplaced)
        s_violation (&self, "the member index lists %" PRIu64 " unplaced members, but %"
                     PRIu64 " hold no seat", self.unplaced_entries, self.unplaced);
    zhashx_destroy (&self.seated);
    zhashx_destroy (&self.entries);
    zhashx_destroy (&self.halls);
    zhashx_destroy (&self.led);
    return rc? -1: self.count;
}

static void
s_print (const char *message, void *arg)
{
    (void) arg;
    fprintf (stderr, "\ncheck: %s", message);
}

void
check_assert_txn (store_txn_t *txn)
{
    dt_err_t err;
    dt_err_init (&err);
    int64_t violations = check_store (txn, s_print, NULL, &err);
    if (violations)
        fprintf (stderr, "\ncheck: %" PRId64 " violations %s\n", violations, err.message);
    assert (violations == 0);
    dt_err_reset (&err);
}

void
check_assert (store_t *store)
{
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, false, &err) == 0);
    check_assert_txn (&txn);
    store_abort (&txn);
    dt_err_reset (&err);
}

//  Self-test: a clean tree, then each invariant broken by a raw write

typedef struct {
    zlistx_t *messages;
} s_seen_t;

static void
s_collect (const char *message, void *arg)
{
    zlistx_add_end (((s_seen_t *) arg)->messages, (void *) message);
}

/* Check txn, expecting exactly `count` violations, one containing `text`. */
static void
s_expect (store_txn_t *txn, int64_t count, const char *text)
{
    dt_err_t err;
    dt_err_init (&err);
    s_seen_t seen = { zlistx_new () };
    zlistx_set_duplicator (seen.messages, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor (seen.messages, (zlistx_destructor_fn *) zstr_free);
    int64_t found = check_store (txn, s_collect, &seen, &err);
    bool named = text == NULL;
    for (char *message = zlistx_first (seen.messages); message;
         message = zlistx_next (seen.messages))
        named |= text && strstr (message, text) != NULL;
    if (found != count || !named) {
        fprintf (stderr, "\ncheck: expected %" PRId64 " violations naming \"%s\", got %" PRId64
                 " (%s)\n", count, text? text: "", found, err.message);
        for (char *message = zlistx_first (seen.messages); message;
             message = zlistx_next (seen.messages))
            fprintf (stderr, "  %s\n", message);
    }
    assert (found == count && named);
    zlistx_destroy (&seen.messages);
    dt_err_reset (&err);
}

static void
s_put_raw (store_txn_t *txn, store_table_t table, const char *key, size_t key_size,
           const void *val, size_t val_size)
{
    dt_err_t err;
    dt_err_init (&err);
    assert (store_put (txn, table, key, key_size, val, val_size, &err) == 0);
}

void
check_test (bool verbose)
{
    (void) verbose;
    store_t *store = scratch_new ("check-test", 16);
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    s_expect (&txn, 0, NULL);

    //  A clean tree: b-1 with lead in its core leading h-1, m-1 and m-2 in h-1
    officer_t officer = { .id = "o-1", .name = "舵主" };
    branch_t branch = { .id = "b-1", .name = "成都分舵", .leader = "o-1" };
    assert (tree_officer_put (&txn, &officer, &err) == 0);
    assert (tree_branch_put (&txn, &branch, &err) == 0);
    member_t lead = { .id = "lead", .name = "堂主", .seat = SEAT_CORE, .group = "b-1",
                      .role = ROLE_LEADER };
    assert (tree_member_put (&txn, &lead, &err) == 0);
    hall_t hall = { .id = "h-1", .name = "青羊堂口", .branch = "b-1", .leader = "lead" };
    assert (tree_hall_put (&txn, &hall, &err) == 0);
    member_t m1 = { .id = "m-1", .name = "甲", .seat = SEAT_HALL, .group = "h-1" };
    member_t m2 = { .id = "m-2", .name = "乙", .seat = SEAT_HALL, .group = "h-1",
                    .referrer = "m-1" };
    assert (tree_member_put (&txn, &m1, &err) == 0);
    assert (tree_member_put (&txn, &m2, &err) == 0);
    s_expect (&txn, 0, NULL);
    check_assert_txn (&txn);

    //  Each damage below is undone by a nested transaction's abort
    store_txn_t bad;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);

    //  A counter that disagrees with the seats
    assert (store_begin (store, &bad, &txn, true, &err) == 0);
    assert (tree_hall_need (&bad, "h-1", &hall, &err) == 0);
    hall.seats = 3;
    record_hall_encode (&hall, &buf);
    s_put_raw (&bad, TBL_HALL, "h-1", 3, buf.data, buf.size);
    s_expect (&bad, 1, "hall h-1 counts 3 seats, but 2 members hold one");
    store_abort (&bad);
    msgpack_sbuffer_clear (&buf);
    assert (store_begin (store, &bad, &txn, true, &err) == 0);
    assert (tree_branch_need (&bad, "b-1", &branch, &err) == 0);
    branch.core_seats = 0;
    branch.halls = 2;
    record_branch_encode (&branch, &buf);
    s_put_raw (&bad, TBL_BRANCH, "b-1", 3, buf.data, buf.size);
    s_expect (&bad, 2, "branch b-1 counts 0 core seats, but 1 members hold one");
    s_expect (&bad, 2, "branch b-1 counts 2 halls, but 1 halls are in it");
    store_abort (&bad);
    msgpack_sbuffer_clear (&buf);

    //  Over a cap; led by nobody; an unknown node
    assert (store_begin (store, &bad, &txn, true, &err) == 0);
    assert (tree_hall_need (&bad, "h-1", &hall, &err) == 0);
    hall.cap = 1;
    record_hall_encode (&hall, &buf);
    s_put_raw (&bad, TBL_HALL, "h-1", 3, buf.data, buf.size);
    msgpack_sbuffer_clear (&buf);
    assert (tree_branch_need (&bad, "b-1", &branch, &err) == 0);
    strcpy (branch.leader, "o-9");
    strcpy (branch.node, "n-9");
    record_branch_encode (&branch, &buf);
    s_put_raw (&bad, TBL_BRANCH, "b-1", 3, buf.data, buf.size);
    //  o-1 is now counted for no branch, which officer.list reports as 0 too
    s_expect (&bad, 3, "hall h-1 holds 2 seats, over its cap of 1");
    s_expect (&bad, 3, "branch b-1 is led by o-9, who is not an officer");
    s_expect (&bad, 3, "branch b-1 is assigned to node n-9, which is not registered");
    store_abort (&bad);
    msgpack_sbuffer_clear (&buf);

    //  A member in two seats: a stray index entry
    assert (store_begin (store, &bad, &txn, true, &err) == 0);
    s_put_raw (&bad, TBL_SEAT, "bb-1\0m-1", 8, "", 0);
    s_expect (&bad, 3, "member m-1 is listed in 2 seats of the seat index");
    s_expect (&bad, 3, "the seat index lists member m-1 in a core seat of branch b-1, but the "
                       "member holds hall h-1");
    s_expect (&bad, 3, "branch b-1 counts 1 core seats, but 2 members hold one");
    store_abort (&bad);

    //  A member record that left its seat behind, and one the index misses
    assert (store_begin (store, &bad, &txn, true, &err) == 0);
    member_t moved = m2;
    assert (tree_member_need (&bad, "m-2", &moved, &err) == 0);
    strcpy (moved.group, "h-9");
    record_member_encode (&moved, &buf);
    s_put_raw (&bad, TBL_MEMBER, "m-2", 3, buf.data, buf.size);
    s_expect (&bad, 3, "member m-2 holds hall h-9, which does not exist");
    s_expect (&bad, 3, "member m-2 holds hall h-9, but the seat index does not list them");
    s_expect (&bad, 3, "the seat index lists member m-2 in hall h-1, but the member holds "
                       "hall h-9");
    store_abort (&bad);
    msgpack_sbuffer_clear (&buf);

    //  A hall leader who lost the core seat and the role; a stray leader role
    assert (store_begin (store, &bad, &txn, true, &err) == 0);
    member_t m3 = { .id = "m-3", .name = "丙", .role = ROLE_LEADER, .referrer = "m-9" };
    assert (tree_member_put (&bad, &m3, &err) == 0);
    assert (tree_member_need (&bad, "lead", &lead, &err) == 0);
    lead.role = ROLE_KOL;
    assert (tree_member_put (&bad, &lead, &err) == 0);
    s_expect (&bad, 3, "hall h-1 is led by lead, whose role is kol, not leader");
    s_expect (&bad, 3, "member m-3 has the leader role, but leads no hall");
    s_expect (&bad, 3, "member m-3 was referred by m-9, who is not a member");
    lead.seat = SEAT_NONE;
    assert (tree_member_put (&bad, &lead, &err) == 0);
    s_expect (&bad, 3, "hall h-1 is led by lead, who holds no seat, not a core seat of "
                       "branch b-1");
    store_abort (&bad);

    //  A hall whose branch is gone, missing from the index; damaged records
    assert (store_begin (store, &bad, &txn, true, &err) == 0);
    assert (store_del (&bad, TBL_BRANCH, "b-1", 3, &err) == 0);
    s_expect (&bad, 2, "hall h-1 is in branch b-1, which does not exist");
    s_expect (&bad, 2, "member lead holds a core seat of branch b-1, which does not exist");
    store_abort (&bad);
    assert (store_begin (store, &bad, &txn, true, &err) == 0);
    assert (store_del (&bad, TBL_BRANCH_HALL, "b-1\0h-1", 7, &err) == 0);
    //  ... and so its leader seems to lead nothing
    s_expect (&bad, 3, "hall h-1 is in branch b-1, but the branch's hall index does not "
                       "list it");
    s_expect (&bad, 3, "branch b-1 counts 1 halls, but 0 halls are in it");
    s_expect (&bad, 3, "member lead has the leader role, but leads no hall");
    s_put_raw (&bad, TBL_MEMBER, "m-2", 3, "\x01", 1);
    s_put_raw (&bad, TBL_SEAT, "x", 1, "", 0);
    s_expect (&bad, 5, "stored member m-2 is damaged");
    s_expect (&bad, 5, "the seat index holds a damaged entry of 1 bytes");
    store_abort (&bad);

    //  The member index missing a name, and an unplaced member
    assert (store_begin (store, &bad, &txn, true, &err) == 0);
    member_t m4 = { .id = "m-4", .name = "Ding" };
    assert (tree_member_put (&bad, &m4, &err) == 0);
    s_expect (&bad, 0, NULL);
    assert (store_del (&bad, TBL_MEMBER_INDEX, "nding\0m-4", 9, &err) == 0);
    assert (store_del (&bad, TBL_MEMBER_INDEX, "um-4", 4, &err) == 0);
    s_expect (&bad, 4, "member m-4 is missing from the name index");
    s_expect (&bad, 4, "member m-4 holds no seat, but the member index does not list them "
                       "as unplaced");
    s_expect (&bad, 4, "the name index holds 3 entries for 4 members");
    s_expect (&bad, 4, "the member index lists 0 unplaced members, but 1 hold no seat");
    store_abort (&bad);

    s_expect (&txn, 0, NULL);
    msgpack_sbuffer_destroy (&buf);
    store_abort (&txn);
    dt_err_reset (&err);
    scratch_destroy (&store);
}
