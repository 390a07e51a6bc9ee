/* health.c -- a group's activity, fill, dormancy and the action for a dying hall. */
#include "health.h"
#include "rules.h"
#include "dt_time.h"
#include "scratch.h"

#define S_DAY_MS (24 * 3600 * 1000LL)
#define S_ACTIVE_DAYS 7

static const char *s_states [] = { "active", "dormant", "dead" };
static const char *s_actions [] = { "keep", "warn", "merge", "dissolve" };

const char *
health_state_name (health_state_t state)
{
    return (unsigned) state <= HEALTH_DEAD? s_states [state]: "?";
}

const char *
health_action_name (health_action_t action)
{
    return (unsigned) action <= HEALTH_DISSOLVE? s_actions [action]: "?";
}

//  Activity: 'A' group \0 day \0 member (item.c), days in label order

typedef struct {
    size_t prefix_size;
    char today [16], week_first [16];
    char last_day [16];
    zhashx_t *active;               /* members active in the 7 days */
} s_activity_t;

static int
s_activity_entry (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) val; (void) val_size;
    s_activity_t *self = arg;
    const char *day = (const char *) key + self->prefix_size;
    if (key_size < self->prefix_size + 12 || day [10] != 0)
        return 0;
    if (strcmp (day, self->today) > 0)
        return 1;
    memcpy (self->last_day, day, 11);
    if (strcmp (day, self->week_first) >= 0) {
        char member [DT_ID_MAX + 1];
        size_t len = key_size - self->prefix_size - 11;
        if (len > DT_ID_MAX)
            return 0;
        memcpy (member, day + 11, len);
        member [len] = 0;
        zhashx_insert (self->active, member, (void *) 1);
    }
    return 0;
}

typedef struct {
    int64_t at;
    int64_t last;
} s_items_t;

static int
s_item_entry (const void *key, size_t key_size, const void *data, size_t size, void *arg)
{
    (void) key; (void) key_size;
    s_items_t *self = arg;
    item_t item;
    if (item_decode (&item, data, size))
        return 0;
    bool past = item.at > self->at;
    if (!past && item.type != ITEM_QUESTION)
        self->last = item.at;
    item_release (&item);
    return past? 1: 0;
}

//  The action for a hall

typedef struct {
    store_txn_t *txn;
    const hall_t *hall;
    hall_t best;
    uint32_t best_room;
    bool found;
    uint32_t siblings;
} s_sibling_t;

static int
s_sibling (const hall_t *hall, void *arg)
{
    s_sibling_t *self = arg;
    if (streq (hall->id, self->hall->id))
        return 0;
    self->siblings++;
    dt_err_t err;
    dt_err_init (&err);
    //  The same check as hall.merge: the merged seats must fit under the cap
    int fits = rules_hall_fits (self->txn, "merge", hall, self->hall->seats, &err);
    dt_err_reset (&err);
    uint32_t cap = tree_hall_cap (self->txn, hall);
    uint32_t room = cap > hall->seats? cap - hall->seats: 0;
    if (fits == 0 && (!self->found || room > self->best_room)) {
        self->best = *hall;
        self->best_room = room;
        self->found = true;
    }
    return 0;
}

static int
s_recommend (store_txn_t *txn, const hall_t *hall, health_t *out, dt_err_t *err)
{
    if (out->state == HEALTH_DORMANT) {
        out->action = HEALTH_WARN;
        snprintf (out->advice, sizeof (out->advice), "warn leader %s: %s", hall->leader,
                  out->why);
        return 0;
    }
    s_sibling_t walk = { .txn = txn, .hall = hall };
    if (tree_hall_visit (txn, hall->branch, s_sibling, &walk, err))
        return -1;
    if (walk.found) {
        uint32_t cap = tree_hall_cap (txn, &walk.best);
        out->action = HEALTH_MERGE;
        snprintf (out->into, sizeof (out->into), "%s", walk.best.id);
        snprintf (out->advice, sizeof (out->advice),
                  "merge into %s (%s): %u+%u=%u seats fit its cap %u", walk.best.id,
                  walk.best.name, walk.best.seats, hall->seats, walk.best.seats + hall->seats,
                  cap);
    }
    else {
        out->action = HEALTH_DISSOLVE;
        snprintf (out->advice, sizeof (out->advice),
                  "dissolve: none of the %u other halls of %s has room for %u seats",
                  walk.siblings, hall->branch, hall->seats);
    }
    return 0;
}

//  Leadership: a hall's leader holds a core seat in its branch

static void
s_leader_check (store_txn_t *txn, const hall_t *hall, health_t *out)
{
    member_t leader;
    dt_err_t err;
    dt_err_init (&err);
    int rc = tree_member_get (txn, hall->leader, &leader, &err);
    dt_err_reset (&err);
    if (rc != 0)
        snprintf (out->problem, sizeof (out->problem), "leader %s of %s is not a member",
                  hall->leader, hall->id);
    else
    if (leader.seat != SEAT_CORE || !streq (leader.branch, hall->branch))
        snprintf (out->problem, sizeof (out->problem),
                  "leader %s of %s holds no core seat in %s (seat %s%s%s)", hall->leader,
                  hall->id, hall->branch, record_seat_name (leader.seat),
                  *leader.group? " in ": "", leader.group);
}

int
health_group (store_txn_t *txn, const policy_t *policy, const publish_group_t *group,
              int64_t at, health_t *out, dt_err_t *err)
{
    memset (out, 0, sizeof (*out));
    const char *zone = policy->timezone;
    //  Looked back twice the longer of the two, so that a dead group's last
    //  activity is still shown when it is not long past
    uint32_t window = 2 * (policy->dead_days > policy->dormant_days? policy->dead_days
                                                                    : policy->dormant_days);
    int64_t since = at - (int64_t) window * S_DAY_MS;
    int64_t created = group->is_hall? group->hall.created: group->branch.created;
    out->seats = group->is_hall? group->hall.seats: group->branch.core_seats;
    out->cap = group->is_hall? tree_hall_cap (txn, &group->hall)
                             : tree_branch_cap (txn, &group->branch);
    out->fill_pct = out->cap? (uint32_t) ((uint64_t) out->seats * 100 / out->cap): 0;

    //  Activity reports over the window; members active in the 7 days
    s_activity_t activity = { 0 };
    activity.active = zhashx_new ();
    uint8_t prefix [DT_ID_MAX + 2], from [DT_ID_MAX + 16];
    size_t len = strlen (group->id);
    prefix [0] = 'A';
    memcpy (prefix + 1, group->id, len + 1);
    activity.prefix_size = len + 2;
    dt_period_label (zone, DT_PERIOD_DAY, at, activity.today, sizeof (activity.today));
    dt_period_label (zone, DT_PERIOD_DAY, at - (S_ACTIVE_DAYS - 1) * S_DAY_MS,
                     activity.week_first, sizeof (activity.week_first));
    char first [16];
    dt_period_label (zone, DT_PERIOD_DAY, since, first, sizeof (first));
    memcpy (from, prefix, len + 2);
    memcpy (from + len + 2, first, 11);
    int rc = store_scan (txn, TBL_ITEM_INDEX, prefix, len + 2, from, len + 12,
                         s_activity_entry, &activity, err);
    out->active = (uint32_t) zhashx_size (activity.active);
    zhashx_destroy (&activity.active);
    if (rc)
        return -1;
    if (*activity.last_day) {
        int64_t day;
        if (dt_time_parse (zone, activity.last_day, &day) == 0)
            out->last = day;
    }
    //  Items over the window
    s_items_t items = { at, 0 };
    if (item_group_visit (txn, group->id, since, NULL, 0, s_item_entry, &items, err))
        return -1;
    if (items.last > out->last)
        out->last = items.last;
    out->active_pct = out->seats? out->active * 100 / out->seats: 0;

    //  Dormant, dead: idle days since the last activity, or since created
    int64_t idle_from = out->last > created? out->last: created;
    out->idle_days = at > idle_from? (uint32_t) ((at - idle_from) / S_DAY_MS): 0;
    bool week_old = at - created >= S_ACTIVE_DAYS * S_DAY_MS;
    if (out->idle_days >= policy->dead_days) {
        out->state = HEALTH_DEAD;
        snprintf (out->why, sizeof (out->why), "no tracked activity for %u days "
                  "(dead after %u)", out->idle_days, policy->dead_days);
    }
    else
    if (week_old && out->active && out->active_pct < policy->dead_active_ratio_pct) {
        out->state = HEALTH_DEAD;
        snprintf (out->why, sizeof (out->why), "%u of %u members active over 7 days (%u%%); "
                  "dead below %u%%", out->active, out->seats, out->active_pct,
                  policy->dead_active_ratio_pct);
    }
    else
    if (out->idle_days >= policy->dormant_days) {
        out->state = HEALTH_DORMANT;
        snprintf (out->why, sizeof (out->why), "no tracked activity for %u days "
                  "(dormant after %u)", out->idle_days, policy->dormant_days);
    }
    if (group->is_hall) {
        s_leader_check (txn, &group->hall, out);
        if (out->state != HEALTH_ACTIVE && s_recommend (txn, &group->hall, out, err))
            return -1;
    }
    return 0;
}

//  Self-test

static void
s_member (store_txn_t *txn, const char *id, seat_kind_t seat, const char *group,
          const char *branch)
{
    member_t member = { .seat = seat };
    snprintf (member.id, sizeof (member.id), "%s", id);
    snprintf (member.name, sizeof (member.name), "成员%s", id);
    snprintf (member.group, sizeof (member.group), "%s", group);
    snprintf (member.branch, sizeof (member.branch), "%s", branch);
    dt_err_t err;
    dt_err_init (&err);
    assert (tree_member_put (txn, &member, &err) == 0);
}

static void
s_hall (store_txn_t *txn, const char *id, const char *leader, uint32_t members, uint32_t cap)
{
    hall_t hall = { .cap = cap, .created = 0 };
    snprintf (hall.id, sizeof (hall.id), "%s", id);
    snprintf (hall.name, sizeof (hall.name), "堂口%s", id);
    snprintf (hall.branch, sizeof (hall.branch), "b-1");
    snprintf (hall.leader, sizeof (hall.leader), "%s", leader);
    dt_err_t err;
    dt_err_init (&err);
    assert (tree_hall_put (txn, &hall, &err) == 0);
    for (uint32_t i = 0; i < members; i++) {
        char member [32];
        snprintf (member, sizeof (member), "m-%s-%u", id, i);
        s_member (txn, member, SEAT_HALL, id, "b-1");
    }
}

static void
s_health (store_txn_t *txn, const policy_t *policy, const char *id, int64_t at, health_t *out)
{
    publish_group_t group;
    dt_err_t err;
    dt_err_init (&err);
    assert (publish_group (txn, id, &group, &err) == 0);
    assert (health_group (txn, policy, &group, at, out, &err) == 0);
}

void
health_test (bool verbose)
{
    (void) verbose;
    const char *zone = "Asia/Shanghai";
    store_t *store = scratch_new ("health", 64);
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    policy_t policy;
    policy_defaults (&policy);
    snprintf (policy.timezone, sizeof (policy.timezone), "%s", zone);
    int64_t at;
    assert (dt_time_parse (zone, "2026-12-31 12:00", &at) == 0);

    branch_t branch = { .id = "b-1", .name = "成都分舵", .leader = "o-1" };
    assert (tree_branch_put (&txn, &branch, &err) == 0);
    s_member (&txn, "m-lead-a", SEAT_CORE, "b-1", "b-1");
    s_member (&txn, "m-lead-b", SEAT_CORE, "b-1", "b-1");
    s_member (&txn, "m-lead-c", SEAT_CORE, "b-1", "b-1");
    s_hall (&txn, "h-a", "m-lead-a", 10, 30);      //  goes dead
    s_hall (&txn, "h-b", "m-lead-b", 22, 30);      //  room for 8: not enough
    s_hall (&txn, "h-c", "m-lead-c", 18, 30);      //  room for 12: the merge

    //  h-c is active: every member reported today; h-b dormant for 8 days
    for (int i = 0; i < 18; i++) {
        activity_t act = { .count = 3, .group = "h-c", .branch = "b-1" };
        snprintf (act.member, sizeof (act.member), "m-h-c-%d", i);
        dt_period_label (zone, DT_PERIOD_DAY, at, act.day, sizeof (act.day));
        assert (activity_put (&txn, &act, &err) == 0);
    }
    for (int i = 0; i < 22; i++) {
        activity_t act = { .count = 1, .group = "h-b", .branch = "b-1" };
        snprintf (act.member, sizeof (act.member), "m-h-b-%d", i);
        dt_period_label (zone, DT_PERIOD_DAY, at - 8 * 24 * 3600 * 1000LL, act.day,
                         sizeof (act.day));
        assert (activity_put (&txn, &act, &err) == 0);
    }
    //  h-a: one post 31 days ago, nothing since
    item_t post = { .type = ITEM_POST, .kind = KIND_NOTICE, .at = at - 31 * 24 * 3600 * 1000LL };
    snprintf (post.id, sizeof (post.id), "p-1");
    snprintf (post.group, sizeof (post.group), "h-a");
    assert (item_put (&txn, &post, &err) == 0);

    health_t health;
    s_health (&txn, &policy, "h-c", at, &health);
    assert (health.state == HEALTH_ACTIVE && health.active == 18 && health.active_pct == 100);
    assert (health.fill_pct == 60 && health.action == HEALTH_KEEP && !*health.problem);
    s_health (&txn, &policy, "h-b", at, &health);
    assert (health.state == HEALTH_DORMANT && health.idle_days == 8 && health.active == 0);
    assert (health.action == HEALTH_WARN && strstr (health.advice, "warn leader m-lead-b"));
    //  Dead: the dormant day count passes dead_days; the post 31 days ago is its last
    s_health (&txn, &policy, "h-a", at, &health);
    assert (health.state == HEALTH_DEAD && health.idle_days == 31);
    assert (health.action == HEALTH_MERGE && streq (health.into, "h-c"));
    assert (strstr (health.advice, "18+10=28 seats fit its cap 30"));
    //  Dead by the ratio: 1 of 22 members active over the 7 days is below
    //  10%; h-c's 12 free seats are not enough, the new empty h-d has room
    s_hall (&txn, "h-d", "m-lead-c", 0, 30);
    activity_t one = { .member = "m-h-b-0", .count = 1, .group = "h-b", .branch = "b-1" };
    dt_period_label (zone, DT_PERIOD_DAY, at, one.day, sizeof (one.day));
    assert (activity_put (&txn, &one, &err) == 0);
    s_health (&txn, &policy, "h-b", at, &health);
    assert (health.state == HEALTH_DEAD && health.idle_days == 0);
    assert (strstr (health.why, "1 of 22 members active over 7 days (4%)"));
    assert (health.action == HEALTH_MERGE && streq (health.into, "h-d"));
    //  No sibling with room: dissolve
    hall_t full;
    assert (tree_hall_get (&txn, "h-d", &full, &err) == 0);
    full.cap = 5;
    assert (tree_hall_put (&txn, &full, &err) == 0);
    s_health (&txn, &policy, "h-b", at, &health);
    assert (health.action == HEALTH_DISSOLVE && strstr (health.advice, "room for 22 seats"));
    //  A hall whose leader lost the core seat (and leads h-d as well)
    s_member (&txn, "m-lead-c", SEAT_HALL, "h-a", "b-1");
    s_health (&txn, &policy, "h-c", at, &health);
    assert (strstr (health.problem, "holds no core seat in b-1 (seat hall in h-a)"));

    store_abort (&txn);
    scratch_destroy (&store);
}
