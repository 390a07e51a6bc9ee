/* cadence.h -- minimum cadence judged per period: for every group and quota
   of the policy (branch: articles on topic per calendar day, stories with an
   album and short videos per ISO week; hall: gatherings held with enough
   attendees per calendar month) each period is met, missed or open, with
   streaks of met periods. Counters per group, quota and period are kept as
   items are written (the item hook of item.h, in the item's transaction);
   judging reads counters, never content.

   Closed periods keep their judgement: when an item of a group is written,
   every period of that group that ended before the item was accepted, and
   before its `at` (an import of history in time order closes a period only
   once it has passed it), and for a branch served by a node before the
   node's watermark at the hub (so a node, which has no watermark of its
   own, judges its periods on reading), is closed under the policy in force then, and stored with that policy's
   version and the streak after it. A period that ended but is not stored yet
   is judged on reading under the policy held now (reads do not write); a
   node-served branch's period whose end is past the node's watermark is
   `awaiting` that node instead of missed. Every function takes the instant
   it judges at.

   Store (TBL_ITEM_INDEX, beside item.c's indexes):
     'c' group \0 quota start(u64 BE)  -> count (u32 LE)     counters
     'j' group \0 quota start(u64 BE)  -> closed judgement  (s_judged_t)
     's' group \0 quota                -> closed_until, streaks after it
   A counter's period is taken in the zone in force when the item is
   written; an item counts by the policy's topics, short-video length and
   attendees minimum of that moment; the quota's number (need) is the one in
   force when the period closes. */
#ifndef CADENCE_H_INCLUDED
#define CADENCE_H_INCLUDED

#include "item.h"
#include "policy.h"
#include "dt_time.h"

typedef enum {
    CADENCE_ARTICLE = 0,            /* branch, per day */
    CADENCE_STORY,                  /* branch, per ISO week */
    CADENCE_VIDEO,                  /* branch, per ISO week */
    CADENCE_GATHERING,              /* hall, per month */
    CADENCE_QUOTAS
} cadence_quota_t;

typedef enum {
    CADENCE_NONE = 0,               /* before the group's first whole period */
    CADENCE_OPEN,                   /* not over yet */
    CADENCE_MET,
    CADENCE_MISSED,
    CADENCE_AWAITING                /* over, but its node has not delivered up to its end */
} cadence_status_t;

/* A group as the judgement needs it. */
typedef struct {
    const char *id;
    bool is_hall;
    int64_t created;
    int64_t watermark;              /* periods ending after this await `node`;
                                       INT64_MAX when nothing is awaited */
    const char *node;               /* the node awaited, "" when none */
} cadence_group_t;

typedef struct {
    cadence_quota_t quota;
    int64_t start, end;             /* [start, end) */
    char label [16];                /* "2026-12-01", "2026-W49", "2026-12" */
    cadence_status_t status;
    uint32_t count, need;
    uint64_t version;               /* the policy it was judged under */
    bool kept;                      /* a stored closed judgement */
} cadence_period_t;

typedef struct {
    uint32_t current;               /* consecutive met periods up to the last judged */
    uint32_t longest;
    uint32_t missing;               /* consecutive missed periods up to the last judged */
    uint32_t met, missed;           /* closed periods judged */
    int64_t through;                /* end of the last period judged (0: none) */
} cadence_streak_t;

const char *cadence_quota_name (cadence_quota_t quota);     /* "articles", ... */
const char *cadence_status_name (cadence_status_t status);  /* "met", ... */
dt_period_t cadence_quota_period (cadence_quota_t quota);
/* The quota's number in the policy. */
uint32_t cadence_quota_need (cadence_quota_t quota, const policy_t *policy);
/* True if the quota applies to the group (branch quotas or the hall's). */
bool cadence_quota_applies (cadence_quota_t quota, bool is_hall);
/* The start of the group's first counted period of the quota's length. */
int64_t cadence_first (const policy_t *policy, cadence_quota_t quota, int64_t created);

/* The period of quota containing instant `of`, judged at `at`. */
int cadence_judge (store_txn_t *txn, const policy_t *policy, const cadence_group_t *group,
                   cadence_quota_t quota, int64_t of, int64_t at, cadence_period_t *out,
                   dt_err_t *err);
/* Streaks of quota at `at`: over every closed period, stored or judged now,
   stopping at the first awaiting one. */
int cadence_streak (store_txn_t *txn, const policy_t *policy, const cadence_group_t *group,
                    cadence_quota_t quota, int64_t at, cadence_streak_t *out, dt_err_t *err);
/* The streaks and the status of the last period of quota closed by `at`
   (met, missed, awaiting or none) in one walk: what a summary needs. */
int cadence_standing (store_txn_t *txn, const policy_t *policy, const cadence_group_t *group,
                      cadence_quota_t quota, int64_t at, cadence_streak_t *streak,
                      cadence_status_t *last, dt_err_t *err);
/* Close and keep every period of the group that ended at or before `until`
   (and before its watermark) under policy. */
int cadence_close (store_txn_t *txn, const policy_t *policy, const cadence_group_t *group,
                   int64_t until, dt_err_t *err);

/* Close every group's ended periods up to `until` (each node-served branch
   and its halls only up to its node's watermark) under policy: what
   policy.set does under the policy it replaces, so that a new policy never
   rejudges a period that ended under the old one. */
int cadence_close_all (store_txn_t *txn, const policy_t *policy, int64_t until,
                       dt_err_t *err);

/* The item hook (item.h): counters from old to fresh, then closing the
   group's periods that ended before fresh was accepted and before its at. */
int cadence_item_hook (store_txn_t *txn, const item_t *old, const item_t *fresh,
                       dt_err_t *err);

void cadence_test (bool verbose);

#endif
