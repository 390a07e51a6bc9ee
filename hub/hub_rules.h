/* hub_rules.h -- the invariants of the tree as the hub enforces them: caps,
   the customer lock and hall leadership. Shared by every write handler. */
#ifndef HUB_RULES_H_INCLUDED
#define HUB_RULES_H_INCLUDED

#include "op.h"

/* 0 if `extra` more seats fit in the group, else FULL naming the group and
   its count: "hall h-cd-07 is full: 30/30 seats". */
int hub_rules_room (store_txn_t *txn, seat_kind_t kind, const char *group, uint32_t extra,
                    dt_err_t *err);

/* 0 if the member holds no seat, else LOCKED naming where the member sits:
   "member m-1 is locked to hall h-cd-02 (branch b-chengdu)". */
int hub_rules_unlocked (const member_t *member, dt_err_t *err);

/* Seat the member in a group (kind SEAT_NONE releases), checking the target's
   cap unless the member already sits there. Updates *member as stored. */
int hub_rules_seat (store_txn_t *txn, member_t *member, seat_kind_t kind, const char *group,
                    dt_err_t *err);

/* 0 if member holds a core seat of branch (may lead a hall there), else RULE. */
int hub_rules_can_lead (const member_t *member, const char *branch, dt_err_t *err);

/* 0 if the member leads no hall, else RULE naming the hall and `doing`
   ("leave", "transfer out of branch b-1"...). */
int hub_rules_not_leading (store_txn_t *txn, const member_t *member, const char *doing,
                           dt_err_t *err);

void hub_rules_test (bool verbose);

#endif
