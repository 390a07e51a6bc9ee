/* health.h -- the health of a group at an instant: last tracked activity
   (activity reports and items), members active over the 7 calendar days up
   to it, fill, dormant or dead by the policy: dead after dead_days without
   tracked activity, or when some members were active over the 7 days but
   fewer than dead_active_ratio_pct of the seats (a group with no activity
   at all is dormant after dormant_days, until dead_days); for a dead or dormant hall
   the action to take (warn the leader, merge into a sibling hall that has
   room as hall.merge would check it, or dissolve), each with its reason and
   numbers; and the leadership rules a report flags. */
#ifndef HEALTH_H_INCLUDED
#define HEALTH_H_INCLUDED

#include "publish.h"

#define HEALTH_TEXT_MAX 480

typedef enum { HEALTH_ACTIVE = 0, HEALTH_DORMANT, HEALTH_DEAD } health_state_t;
typedef enum { HEALTH_KEEP = 0, HEALTH_WARN, HEALTH_MERGE, HEALTH_DISSOLVE } health_action_t;

typedef struct {
    int64_t last;                   /* last tracked activity (0: none in 2 x dead_days) */
    uint32_t idle_days;             /* whole days since last (or since created) */
    uint32_t seats, cap;
    uint32_t active;                /* members with activity in the 7 days */
    uint32_t active_pct, fill_pct;
    health_state_t state;
    char why [200];              /* the numbers behind state */
    health_action_t action;         /* halls only */
    dt_id_t into;                   /* HEALTH_MERGE: the sibling hall */
    char advice [HEALTH_TEXT_MAX];
    char problem [HEALTH_TEXT_MAX]; /* a hall whose leader lost the core seat: "" if none */
} health_t;

const char *health_state_name (health_state_t state);       /* "active", "dormant", "dead" */
const char *health_action_name (health_action_t action);    /* "keep", "warn", ... */

/* The health of group at `at` under policy, with a hall's recommended
   action. 0 or -1 with err. */
int health_group (store_txn_t *txn, const policy_t *policy, const publish_group_t *group,
                  int64_t at, health_t *out, dt_err_t *err);

void health_test (bool verbose);

#endif
