/* rules.h -- the organisation's rules, judged in one place: caps (FULL), the
   customer lock (LOCKED), which seat a member move starts from, who may lead
   what (RULE) and when a group may be dissolved (NOT_EMPTY). Every write
   handler asks here, so that a rule and the message that names it exist once.

   Conventions, for the rules still to come (content publishing, quotas):
   - A rule returns 0 when the action is allowed, else -1 with err set to its
     code and a message naming the group or member and the numbers; the
     caller changes nothing before asking.
   - A rule that depends on time takes `now` (ms since the epoch, the instant
     of the request: op_ctx_t.now) and never reads the clock, so that a
     decision can be judged again, and tested, at any instant.
   - A rule reads the store (txn) only to learn what it judges; the writes
     that follow a decision are the tree's (tree.h), except rules_seat, the
     one write every seat change goes through. */
#ifndef RULES_H_INCLUDED
#define RULES_H_INCLUDED

#include "tree.h"
#include "policy.h"

//  Caps: FULL naming the group and its count

/* Seats still free in a group (kind SEAT_CORE: branch id, SEAT_HALL: hall
   id) under its effective cap (its own, else the policy's default); 0 when
   it is at or over it. Returns 0, or -1 (NOT_FOUND) if there is no group. */
int rules_free (store_txn_t *txn, seat_kind_t kind, const char *group, uint32_t *room,
                dt_err_t *err);

/* A group's seats and effective cap. 0, or -1 (NOT_FOUND). */
int rules_count (store_txn_t *txn, seat_kind_t kind, const char *group, uint32_t *seats,
                 uint32_t *cap, dt_err_t *err);

/* rules_room for one seat in a group of `seats` (as stored) and `cap` once
   `moved` more have come in (negative: gone out) by earlier rows of the
   same judgement (an import), which are not stored yet: FULL counting them,
   "hall h-cd-07 is full: 30/30 seats". */
int rules_seat_fits (seat_kind_t kind, const char *group, uint32_t seats, uint32_t cap,
                     int64_t moved, dt_err_t *err);

/* 0 if `extra` more seats fit in the group, else FULL naming the group and
   its count: "hall h-cd-07 is full: 30/30 seats", or for several
   "hall h-1 cannot take 3 more: 0/2 seats, 1 over". */
int rules_room (store_txn_t *txn, seat_kind_t kind, const char *group, uint32_t extra,
                dt_err_t *err);

/* The same for a restructuring that pours `extra` seats into a hall, in the
   words a person checks it with: "merge would put 34 seats in h-b (cap 30):
   4 over" (doing is "merge", "split", "dissolve"). */
int rules_hall_fits (store_txn_t *txn, const char *doing, const hall_t *hall, uint32_t extra,
                     dt_err_t *err);

/* 0 if a group holding `seats` may take `cap` as its own cap, else FULL:
   "hall h-b would be over its cap: 14/10 seats". */
int rules_cap_allows (seat_kind_t kind, const char *group, uint32_t seats, uint32_t cap,
                      dt_err_t *err);

/* 0 if every group without a cap of its own fits the default caps of
   `policy` (a change from `old`), else FULL naming the first that does not:
   "hall h-1 has 2 seats, over the new default hall_cap 1 by 1: ...". Walks
   the tree only for a default that went down. */
int rules_default_caps (store_txn_t *txn, const policy_t *old, const policy_t *policy,
                        dt_err_t *err);

//  The customer lock: LOCKED naming where the member sits

/* 0 if the member holds no seat, else LOCKED:
   "member m-1 is locked to hall h-cd-02 (branch b-chengdu)". */
int rules_unlocked (const member_t *member, dt_err_t *err);

/* Seat the member in a group (kind SEAT_NONE releases), checking the target's
   cap (rules_room) unless the member already sits there. Updates *member as
   stored. The one write of a seat: join, move and restructuring (an import
   judges its rows with rules_seat_fits and writes them through tree_bulk). */
int rules_seat (store_txn_t *txn, member_t *member, seat_kind_t kind, const char *group,
                dt_err_t *err);

//  The seat a member operation starts from: RULE

/* 0 if the member holds a seat, else RULE "member m-1 holds no seat" with
   `hint` appended (": use member.join", or ""). */
int rules_seated (const member_t *member, const char *hint, dt_err_t *err);

/* 0 if the member holds a seat of `kind` to `doing` from ("promote",
   "demote"), else RULE "member m-1 holds no hall seat to promote from". */
int rules_holds (const member_t *member, seat_kind_t kind, const char *doing, dt_err_t *err);

/* 0 if the member sits in hall, else RULE "member m-1 is not seated in hall h-1". */
int rules_sits_in (const member_t *member, const char *hall, dt_err_t *err);

/* 0 if kind/group is another seat than the member's, else RULE
   "member m-1 already holds hall h-2". */
int rules_moves (const member_t *member, seat_kind_t kind, const char *group, dt_err_t *err);

/* 0 if the member may be demoted into hall (a hall of their own branch),
   else RULE naming both branches. */
int rules_demotes_to (const member_t *member, const hall_t *hall, dt_err_t *err);

//  Leadership: RULE (NOT_FOUND for a leader who does not exist)

/* 0 if `who` may lead a group of kind in branch: a branch is led by an
   officer (NOT_FOUND if none), a hall by a member holding a core seat of the
   hall's branch (NOT_FOUND, or RULE as rules_can_lead). */
int rules_may_lead (store_txn_t *txn, seat_kind_t kind, const char *branch, const char *who,
                    dt_err_t *err);

/* 0 if member holds a core seat of branch (may lead a hall there), else RULE. */
int rules_can_lead (const member_t *member, const char *branch, dt_err_t *err);

/* 0 if the member leads no hall, else RULE naming the hall and `doing`
   ("leave", "transfer out of branch b-1"...). */
int rules_not_leading (store_txn_t *txn, const member_t *member, const char *doing,
                       dt_err_t *err);

/* 0 if the leader of `hall` may take their core seat along when the hall
   moves to another branch (they lead no other hall there), else RULE. */
int rules_leader_moves (store_txn_t *txn, const member_t *leader, const hall_t *hall,
                        dt_err_t *err);

/* 0 if members may be given role (any but leader, which only hall
   leadership gives), else RULE. */
int rules_role_given (role_t role, dt_err_t *err);

//  Dissolving: NOT_EMPTY

/* 0 if a group holding `seats` seats (and, a branch, `halls` halls) may be
   dissolved: it is empty, or the request says where its members go
   (`placed`: into another group, or released). Else NOT_EMPTY. */
int rules_dissolvable (seat_kind_t kind, const char *group, uint32_t seats, uint32_t halls,
                       bool placed, dt_err_t *err);

void rules_test (bool verbose);

#endif
