/* hub_rules.c -- caps, the customer lock and hall leadership, checked in one place. */
#include "hub_rules.h"

int
hub_rules_room (store_txn_t *txn, seat_kind_t kind, const char *group, uint32_t extra,
                dt_err_t *err)
{
    if (kind == SEAT_CORE) {
        branch_t branch;
        if (tree_branch_need (txn, group, &branch, err))
            return -1;
        uint32_t cap = tree_branch_cap (txn, &branch);
        if ((uint64_t) branch.core_seats + extra <= cap)
            return 0;
        if (extra == 1)
            return dt_err_set (err, "FULL", "branch %s is full: %u/%u core seats",
                               group, branch.core_seats, cap);
        return dt_err_set (err, "FULL", "branch %s cannot take %u more: %u/%u core seats, %u over",
                           group, extra, branch.core_seats, cap,
                           (uint32_t) (branch.core_seats + extra - cap));
    }
    hall_t hall;
    if (tree_hall_need (txn, group, &hall, err))
        return -1;
    uint32_t cap = tree_hall_cap (txn, &hall);
    if ((uint64_t) hall.seats + extra <= cap)
        return 0;
    if (extra == 1)
        return dt_err_set (err, "FULL", "hall %s is full: %u/%u seats", group, hall.seats, cap);
    return dt_err_set (err, "FULL", "hall %s cannot take %u more: %u/%u seats, %u over",
                       group, extra, hall.seats, cap, (uint32_t) (hall.seats + extra - cap));
}

int
hub_rules_unlocked (const member_t *member, dt_err_t *err)
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
hub_rules_seat (store_txn_t *txn, member_t *member, seat_kind_t kind, const char *group,
                dt_err_t *err)
{
    bool same = member->seat == kind && (kind == SEAT_NONE || streq (member->group, group));
    if (!same && kind != SEAT_NONE && hub_rules_room (txn, kind, group, 1, err))
        return -1;
    member->seat = kind;
    snprintf (member->group, sizeof (member->group), "%s", kind == SEAT_NONE? "": group);
    if (tree_member_put (txn, member, err))
        return -1;
    return tree_member_need (txn, member->id, member, err);
}

int
hub_rules_can_lead (const member_t *member, const char *branch, dt_err_t *err)
{
    if (member->seat == SEAT_CORE && streq (member->group, branch))
        return 0;
    return dt_err_set (err, "RULE", "member %s cannot lead a hall of branch %s: "
                       "a hall leader must hold a core seat in the hall's branch", member->id,
                       branch);
}

int
hub_rules_not_leading (store_txn_t *txn, const member_t *member, const char *doing,
                       dt_err_t *err)
{
    char hall [DT_ID_MAX + 1];
    uint32_t count = tree_member_leads (txn, member, hall);
    if (count == 0)
        return 0;
    return dt_err_set (err, "RULE", "member %s leads hall %s%s and cannot %s; hand the hall "
                       "over first", member->id, hall, count > 1? " (and others)": "", doing);
}

//  Self-test

void
hub_rules_test (bool verbose)
{
    (void) verbose;
    char dir [] = "/tmp/duotang-rules-test-XXXXXX";
    assert (mkdtemp (dir));
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = store_new (dir, 16, &err);
    assert (store);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    branch_t branch = { .id = "b-1", .name = "成都分舵", .leader = "o-1", .cap = 1 };
    assert (tree_branch_put (&txn, &branch, &err) == 0);
    member_t lead = { .id = "m-lead", .name = "x" }, other = { .id = "m-2", .name = "y" };
    assert (hub_rules_seat (&txn, &lead, SEAT_CORE, "b-1", &err) == 0);
    assert (hub_rules_unlocked (&lead, &err) == -1 && streq (err.code, "LOCKED"));
    assert (strstr (err.message, "core seat of branch b-1"));
    assert (hub_rules_can_lead (&lead, "b-1", &err) == 0);
    assert (hub_rules_can_lead (&other, "b-1", &err) == -1 && streq (err.code, "RULE"));
    assert (hub_rules_seat (&txn, &other, SEAT_CORE, "b-1", &err) == -1);
    assert (streq (err.code, "FULL") && strstr (err.message, "b-1 is full: 1/1"));
    //  Re-seating where one already sits needs no room
    assert (hub_rules_seat (&txn, &lead, SEAT_CORE, "b-1", &err) == 0);
    hall_t hall = { .id = "h-1", .name = "青羊堂口", .branch = "b-1", .leader = "m-lead",
                    .cap = 2 };
    assert (tree_hall_put (&txn, &hall, &err) == 0);
    assert (hub_rules_not_leading (&txn, &lead, "leave", &err) == -1);
    assert (strstr (err.message, "leads hall h-1"));
    assert (hub_rules_seat (&txn, &other, SEAT_HALL, "h-1", &err) == 0);
    assert (hub_rules_unlocked (&other, &err) == -1);
    assert (streq (err.message, "member m-2 is locked to hall h-1 (branch b-1)"));
    assert (hub_rules_room (&txn, SEAT_HALL, "h-1", 3, &err) == -1);
    assert (strstr (err.message, "1/2 seats, 2 over"));
    assert (hub_rules_seat (&txn, &other, SEAT_NONE, "", &err) == 0 && other.seat == SEAT_NONE);
    store_abort (&txn);
    dt_err_reset (&err);
    store_destroy (&store);
    store_remove (dir);
}
