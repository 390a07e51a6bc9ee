/* rules.c -- caps, the customer lock, seats, leadership and dissolving, judged
   in one place. */
#include "rules.h"
#include "scratch.h"

//  Caps

int
rules_count (store_txn_t *txn, seat_kind_t kind, const char *group, uint32_t *seats,
         uint32_t *cap, dt_err_t *err)
{
    if (kind == SEAT_CORE) {
        branch_t branch;
        if (tree_branch_need (txn, group, &branch, err))
            return -1;
        *seats = branch.core_seats;
        *cap = tree_branch_cap (txn, &branch);
        return 0;
    }
    hall_t hall;
    if (tree_hall_need (txn, group, &hall, err))
        return -1;
    *seats = hall.seats;
    *cap = tree_hall_cap (txn, &hall);
    return 0;
}

int
rules_free (store_txn_t *txn, seat_kind_t kind, const char *group, uint32_t *room,
            dt_err_t *err)
{
    uint32_t seats, cap;
    if (rules_count (txn, kind, group, &seats, &cap, err))
        return -1;
    *room = seats < cap? cap - seats: 0;
    return 0;
}

/* FULL for `extra` more seats in a group of `seats` under `cap`. One
   template per kind, so that a client can translate each whole (PROTOCOL.md
   5.2.1); xgettext reads one format per call. */
static int
s_full (seat_kind_t kind, const char *group, uint32_t seats, uint32_t cap, uint32_t extra,
        dt_err_t *err)
{
    uint32_t over = (uint32_t) ((uint64_t) seats + extra - cap);
    if (kind == SEAT_CORE && extra == 1)
        return dt_err_set (err, "FULL", "branch %s is full: %u/%u core seats", group, seats,
                           cap);
    if (extra == 1)
        return dt_err_set (err, "FULL", "hall %s is full: %u/%u seats", group, seats, cap);
    if (kind == SEAT_CORE)
        return dt_err_set (err, "FULL", "branch %s cannot take %u more: %u/%u core seats, "
                           "%u over", group, extra, seats, cap, over);
    return dt_err_set (err, "FULL", "hall %s cannot take %u more: %u/%u seats, %u over",
                       group, extra, seats, cap, over);
}

int
rules_room (store_txn_t *txn, seat_kind_t kind, const char *group, uint32_t extra,
            dt_err_t *err)
{
    uint32_t seats, cap;
    if (rules_count (txn, kind, group, &seats, &cap, err))
        return -1;
    if ((uint64_t) seats + extra <= cap)
        return 0;
    return s_full (kind, group, seats, cap, extra, err);
}

int
rules_seat_fits (seat_kind_t kind, const char *group, uint32_t seats, uint32_t cap,
                 int64_t moved, dt_err_t *err)
{
    int64_t now = (int64_t) seats + moved;
    if (now + 1 <= (int64_t) cap)
        return 0;
    //  Seats gone out first: the group as it will then be
    if (moved < 0)
        return s_full (kind, group, (uint32_t) now, cap, 1, err);
    return s_full (kind, group, seats, cap, (uint32_t) moved + 1, err);
}

int
rules_hall_fits (store_txn_t *txn, const char *doing, const hall_t *hall, uint32_t extra,
                 dt_err_t *err)
{
    uint64_t total = (uint64_t) hall->seats + extra;
    uint32_t cap = tree_hall_cap (txn, hall);
    if (total <= cap)
        return 0;
    return dt_err_set (err, "FULL", "%s would put %llu seats in %s (cap %u): %llu over",
                       doing, (unsigned long long) total, hall->id, cap,
                       (unsigned long long) (total - cap));
}

int
rules_cap_allows (seat_kind_t kind, const char *group, uint32_t seats, uint32_t cap,
                  dt_err_t *err)
{
    if (seats <= cap)
        return 0;
    if (kind == SEAT_CORE)
        return dt_err_set (err, "FULL", "branch %s would be over its cap: %u/%u core seats",
                           group, seats, cap);
    return dt_err_set (err, "FULL", "hall %s would be over its cap: %u/%u seats", group,
                       seats, cap);
}

typedef struct {
    store_txn_t *txn;
    const policy_t *policy;
    bool branches;              /* branch_cap went down */
    bool halls;                 /* hall_cap went down */
    dt_err_t *err;
} s_defaults_t;

static int
s_hall_within (const hall_t *hall, void *arg)
{
    s_defaults_t *self = arg;
    uint32_t cap = self->policy->hall_cap;
    if (hall->cap || hall->seats <= cap)
        return 0;
    return dt_err_set (self->err, "FULL", "hall %s has %u seats, over the new default hall_cap "
                       "%u by %u: give it a cap of its own or move members first",
                       hall->id, hall->seats, cap, hall->seats - cap);
}

static int
s_branch_within (const branch_t *branch, void *arg)
{
    s_defaults_t *self = arg;
    uint32_t cap = self->policy->branch_cap;
    if (self->branches && !branch->cap && branch->core_seats > cap)
        return dt_err_set (self->err, "FULL", "branch %s has %u core seats, over the new "
                           "default branch_cap %u by %u: give it a cap of its own or move "
                           "members first", branch->id, branch->core_seats, cap,
                           branch->core_seats - cap);
    if (self->halls)
        return tree_hall_visit (self->txn, branch->id, s_hall_within, self, self->err);
    return 0;
}

int
rules_default_caps (store_txn_t *txn, const policy_t *old, const policy_t *policy,
                    dt_err_t *err)
{
    s_defaults_t self = { txn, policy, policy->branch_cap < old->branch_cap,
                          policy->hall_cap < old->hall_cap, err };
    if (!self.branches && !self.halls)
        return 0;
    return tree_branch_visit (txn, s_branch_within, &self, err);
}

//  The customer lock

int
rules_unlocked (const member_t *member, dt_err_t *err)
{
    if (member->seat == SEAT_HALL)
        return dt_err_set (err, "LOCKED", "member %s is locked to hall %s (branch %s)",
                           member->id, member->group, member->branch);
    if (member->seat == SEAT_CORE)
        return dt_err_set (err, "LOCKED", "member %s is locked to a core seat of branch %s",
                           member->id, member->group);
    return 0;
}

int
rules_seat (store_txn_t *txn, member_t *member, seat_kind_t kind, const char *group,
            dt_err_t *err)
{
    bool same = member->seat == kind && (kind == SEAT_NONE || streq (member->group, group));
    if (!same && kind != SEAT_NONE && rules_room (txn, kind, group, 1, err))
        return -1;
    member->seat = kind;
    snprintf (member->group, sizeof (member->group), "%s", kind == SEAT_NONE? "": group);
    return tree_member_put_back (txn, member, err);
}

//  Seats a member operation starts from

int
rules_seated (const member_t *member, const char *hint, dt_err_t *err)
{
    if (member->seat != SEAT_NONE)
        return 0;
    return dt_err_set (err, "RULE", "member %s holds no seat%s", member->id, hint);
}

int
rules_holds (const member_t *member, seat_kind_t kind, const char *doing, dt_err_t *err)
{
    if (member->seat == kind)
        return 0;
    return dt_err_set (err, "RULE", "member %s holds no %s seat to %s from", member->id,
                       kind == SEAT_CORE? "core": "hall", doing);
}

int
rules_sits_in (const member_t *member, const char *hall, dt_err_t *err)
{
    if (member->seat == SEAT_HALL && streq (member->group, hall))
        return 0;
    return dt_err_set (err, "RULE", "member %s is not seated in hall %s", member->id, hall);
}

int
rules_moves (const member_t *member, seat_kind_t kind, const char *group, dt_err_t *err)
{
    if (member->seat != kind || !streq (member->group, group))
        return 0;
    if (kind == SEAT_HALL)
        return dt_err_set (err, "RULE", "member %s already holds hall %s", member->id, group);
    return dt_err_set (err, "RULE", "member %s already holds a core seat of branch %s",
                       member->id, group);
}

int
rules_demotes_to (const member_t *member, const hall_t *hall, dt_err_t *err)
{
    if (streq (hall->branch, member->branch))
        return 0;
    return dt_err_set (err, "RULE", "hall %s is in branch %s, not in member %s's branch %s: "
                       "use member.transfer", hall->id, hall->branch, member->id,
                       member->branch);
}

//  Leadership

int
rules_may_lead (store_txn_t *txn, seat_kind_t kind, const char *branch, const char *who,
                dt_err_t *err)
{
    if (kind == SEAT_CORE) {
        officer_t officer;
        return tree_officer_need (txn, who, &officer, err);
    }
    member_t member;
    if (tree_member_need (txn, who, &member, err))
        return -1;
    return rules_can_lead (&member, branch, err);
}

int
rules_can_lead (const member_t *member, const char *branch, dt_err_t *err)
{
    if (member->seat == SEAT_CORE && streq (member->group, branch))
        return 0;
    return dt_err_set (err, "RULE", "member %s cannot lead a hall of branch %s: "
                       "a hall leader must hold a core seat in the hall's branch", member->id,
                       branch);
}

int
rules_not_leading (store_txn_t *txn, const member_t *member, const char *doing,
                   dt_err_t *err)
{
    char hall [DT_ID_MAX + 1];
    uint32_t count = tree_member_leads (txn, member, hall);
    if (count == 0)
        return 0;
    return dt_err_set (err, "RULE", "member %s leads hall %s%s and cannot %s; hand the hall "
                       "over first", member->id, hall, count > 1? " (and others)": "", doing);
}

int
rules_leader_moves (store_txn_t *txn, const member_t *leader, const hall_t *hall,
                    dt_err_t *err)
{
    if (rules_can_lead (leader, hall->branch, err))
        return -1;
    char led [DT_ID_MAX + 1];
    uint32_t leads = tree_member_leads (txn, leader, led);
    if (leads <= 1)
        return 0;
    return dt_err_set (err, "RULE", "hall leader %s leads %u halls of branch %s and their "
                       "core seat cannot move with hall %s: hand the others over first",
                       leader->id, leads, hall->branch, hall->id);
}

int
rules_role_given (role_t role, dt_err_t *err)
{
    if (role != ROLE_LEADER)
        return 0;
    return dt_err_set (err, "RULE", "role leader is given only by hall.handover");
}

//  Dissolving

int
rules_dissolvable (seat_kind_t kind, const char *group, uint32_t seats, uint32_t halls,
                   bool placed, dt_err_t *err)
{
    if (placed || (seats == 0 && halls == 0))
        return 0;
    if (kind == SEAT_CORE)
        return dt_err_set (err, "NOT_EMPTY", "branch %s still has %u core seats and %u halls: "
                           "dissolve it into another branch or release them", group, seats,
                           halls);
    return dt_err_set (err, "NOT_EMPTY", "hall %s still has %u members: dissolve it into "
                       "another hall or release them", group, seats);
}

//  Self-test

static void
s_expect (int rc, dt_err_t *err, const char *code, const char *message)
{
    bool as_expected = code? rc == -1 && streq (err->code, code)
                                      && strstr (err->message, message): rc == 0;
    if (!as_expected)
        fprintf (stderr, "\nrules: expected %s \"%s\", got %s \"%s\"\n",
                 code? code: "success", message? message: "", rc? err->code: "success",
                 err->message);
    assert (as_expected);
    dt_err_reset (err);
}

void
rules_test (bool verbose)
{
    (void) verbose;
    store_t *store = scratch_new ("rules-test", 16);
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    officer_t officer = { .id = "o-1", .name = "舵主" };
    assert (tree_officer_put (&txn, &officer, &err) == 0);
    branch_t branch = { .id = "b-1", .name = "成都分舵", .leader = "o-1", .cap = 1 };
    assert (tree_branch_put (&txn, &branch, &err) == 0);
    member_t lead = { .id = "m-lead", .name = "x" }, other = { .id = "m-2", .name = "y" };
    s_expect (rules_seated (&lead, ": use member.join", &err), &err, "RULE",
              "member m-lead holds no seat: use member.join");
    s_expect (rules_seat (&txn, &lead, SEAT_CORE, "b-1", &err), &err, NULL, NULL);
    s_expect (rules_seated (&lead, "", &err), &err, NULL, NULL);
    s_expect (rules_unlocked (&lead, &err), &err, "LOCKED", "core seat of branch b-1");
    s_expect (rules_can_lead (&lead, "b-1", &err), &err, NULL, NULL);
    s_expect (rules_can_lead (&other, "b-1", &err), &err, "RULE",
              "must hold a core seat in the hall's branch");
    s_expect (rules_may_lead (&txn, SEAT_CORE, "b-1", "o-1", &err), &err, NULL, NULL);
    s_expect (rules_may_lead (&txn, SEAT_CORE, "b-1", "o-9", &err), &err, "NOT_FOUND", "o-9");
    s_expect (rules_may_lead (&txn, SEAT_HALL, "b-1", "m-lead", &err), &err, NULL, NULL);
    s_expect (rules_may_lead (&txn, SEAT_HALL, "b-1", "m-9", &err), &err, "NOT_FOUND", "m-9");
    s_expect (rules_seat (&txn, &other, SEAT_CORE, "b-1", &err), &err, "FULL",
              "branch b-1 is full: 1/1 core seats");
    s_expect (rules_room (&txn, SEAT_CORE, "b-9", 1, &err), &err, "NOT_FOUND", "b-9");
    //  Re-seating where one already sits needs no room
    s_expect (rules_seat (&txn, &lead, SEAT_CORE, "b-1", &err), &err, NULL, NULL);
    s_expect (rules_moves (&lead, SEAT_CORE, "b-1", &err), &err, "RULE",
              "member m-lead already holds a core seat of branch b-1");
    s_expect (rules_holds (&lead, SEAT_HALL, "promote", &err), &err, "RULE",
              "member m-lead holds no hall seat to promote from");
    s_expect (rules_holds (&lead, SEAT_CORE, "demote", &err), &err, NULL, NULL);

    hall_t hall = { .id = "h-1", .name = "青羊堂口", .branch = "b-1", .leader = "m-lead",
                    .cap = 2 };
    assert (tree_hall_put (&txn, &hall, &err) == 0);
    s_expect (rules_not_leading (&txn, &lead, "leave", &err), &err, "RULE",
              "member m-lead leads hall h-1 and cannot leave");
    s_expect (rules_leader_moves (&txn, &lead, &hall, &err), &err, NULL, NULL);
    hall_t second = hall;
    strcpy (second.id, "h-2");
    assert (tree_hall_put (&txn, &second, &err) == 0);
    s_expect (rules_leader_moves (&txn, &lead, &hall, &err), &err, "RULE",
              "hall leader m-lead leads 2 halls of branch b-1");
    s_expect (rules_seat (&txn, &other, SEAT_HALL, "h-1", &err), &err, NULL, NULL);
    s_expect (rules_unlocked (&other, &err), &err, "LOCKED",
              "member m-2 is locked to hall h-1 (branch b-1)");
    s_expect (rules_sits_in (&other, "h-1", &err), &err, NULL, NULL);
    s_expect (rules_sits_in (&other, "h-2", &err), &err, "RULE",
              "member m-2 is not seated in hall h-2");
    s_expect (rules_moves (&other, SEAT_HALL, "h-2", &err), &err, NULL, NULL);
    s_expect (rules_demotes_to (&lead, &second, &err), &err, NULL, NULL);
    hall_t far = { .id = "h-9", .branch = "b-9" };
    s_expect (rules_demotes_to (&lead, &far, &err), &err, "RULE",
              "hall h-9 is in branch b-9, not in member m-lead's branch b-1");

    //  Counts: one seat taken of h-1's two
    uint32_t room = 0;
    assert (rules_free (&txn, SEAT_HALL, "h-1", &room, &err) == 0 && room == 1);
    assert (rules_free (&txn, SEAT_CORE, "b-1", &room, &err) == 0 && room == 0);
    s_expect (rules_room (&txn, SEAT_HALL, "h-1", 3, &err), &err, "FULL",
              "hall h-1 cannot take 3 more: 1/2 seats, 2 over");
    assert (tree_hall_need (&txn, "h-1", &hall, &err) == 0);
    s_expect (rules_hall_fits (&txn, "merge", &hall, 1, &err), &err, NULL, NULL);
    s_expect (rules_hall_fits (&txn, "merge", &hall, 3, &err), &err, "FULL",
              "merge would put 4 seats in h-1 (cap 2): 2 over");
    s_expect (rules_cap_allows (SEAT_HALL, "h-1", 1, 1, &err), &err, NULL, NULL);
    s_expect (rules_cap_allows (SEAT_CORE, "b-1", 3, 2, &err), &err, "FULL",
              "branch b-1 would be over its cap: 3/2 core seats");

    //  Default caps: only groups without a cap of their own, only downwards
    policy_t old, lower;
    policy_defaults (&old);
    lower = old;
    lower.hall_cap = 1;
    s_expect (rules_default_caps (&txn, &old, &lower, &err), &err, NULL, NULL);
    hall_t open = { .id = "h-3", .name = "x", .branch = "b-1", .leader = "m-lead" };
    assert (tree_hall_put (&txn, &open, &err) == 0);
    member_t third = { .id = "m-3", .name = "z" }, fourth = { .id = "m-4", .name = "w" };
    s_expect (rules_seat (&txn, &third, SEAT_HALL, "h-3", &err), &err, NULL, NULL);
    s_expect (rules_seat (&txn, &fourth, SEAT_HALL, "h-3", &err), &err, NULL, NULL);
    s_expect (rules_default_caps (&txn, &old, &lower, &err), &err, "FULL",
              "hall h-3 has 2 seats, over the new default hall_cap 1 by 1");
    s_expect (rules_default_caps (&txn, &lower, &old, &err), &err, NULL, NULL);
    lower = old;
    lower.branch_cap = 0;
    assert (tree_branch_need (&txn, "b-1", &branch, &err) == 0);
    branch.cap = 0;
    assert (tree_branch_put (&txn, &branch, &err) == 0);
    s_expect (rules_default_caps (&txn, &old, &lower, &err), &err, "FULL",
              "branch b-1 has 1 core seats, over the new default branch_cap 0 by 1");

    //  Roles and dissolving
    s_expect (rules_role_given (ROLE_KOL, &err), &err, NULL, NULL);
    s_expect (rules_role_given (ROLE_LEADER, &err), &err, "RULE", "only by hall.handover");
    s_expect (rules_dissolvable (SEAT_HALL, "h-1", 0, 0, false, &err), &err, NULL, NULL);
    s_expect (rules_dissolvable (SEAT_HALL, "h-1", 3, 0, true, &err), &err, NULL, NULL);
    s_expect (rules_dissolvable (SEAT_HALL, "h-1", 3, 0, false, &err), &err, "NOT_EMPTY",
              "hall h-1 still has 3 members");
    s_expect (rules_dissolvable (SEAT_CORE, "b-1", 0, 2, false, &err), &err, "NOT_EMPTY",
              "branch b-1 still has 0 core seats and 2 halls");

    s_expect (rules_seat (&txn, &other, SEAT_NONE, "", &err), &err, NULL, NULL);
    assert (other.seat == SEAT_NONE && !*other.group);
    store_abort (&txn);
    dt_err_reset (&err);
    scratch_destroy (&store);
}
