/* cadence.c -- quotas judged per period from counters kept as items arrive. */
#include "cadence.h"
#include "publish.h"
#include "uplink.h"
#include "scratch.h"

static const char *s_quota_names [] = { "articles", "stories", "videos", "gatherings" };
static const char *s_status_names [] = { "none", "open", "met", "missed", "awaiting" };
#define S_CLOSE_MAX  1000           /* periods one close walks: the rest next time */

//  Period bounds, computed once: every group of a report, and every item of
//  a day, asks for the same few periods; dt_time's search through the zone
//  is what costs. A few recent spans per period length, keyed by the zone.

#define S_SPANS 8
typedef struct {
    char zone [DT_TIME_ZONE_MAX + 1];
    int64_t start, end;             /* [start, end) */
    char label [16];
} s_span_t;
static s_span_t s_spans [3][S_SPANS];
static int s_span_next [3];

static const s_span_t *
s_span (const char *zone, dt_period_t period, int64_t at)
{
    s_span_t *spans = s_spans [period];
    for (int i = 0; i < S_SPANS; i++)
        if (spans [i].end && at >= spans [i].start && at < spans [i].end
        &&  streq (spans [i].zone, zone))
            return &spans [i];
    s_span_t *span = &spans [s_span_next [period]];
    s_span_next [period] = (s_span_next [period] + 1) % S_SPANS;
    snprintf (span->zone, sizeof (span->zone), "%s", zone);
    span->start = dt_period_start (zone, period, at);
    span->end = dt_period_end (zone, period, at);
    dt_period_label (zone, period, at, span->label, sizeof (span->label));
    return span;
}

const char *
cadence_quota_name (cadence_quota_t quota)
{
    return (unsigned) quota < CADENCE_QUOTAS? s_quota_names [quota]: "?";
}

const char *
cadence_status_name (cadence_status_t status)
{
    return (unsigned) status <= CADENCE_AWAITING? s_status_names [status]: "?";
}

dt_period_t
cadence_quota_period (cadence_quota_t quota)
{
    return quota == CADENCE_ARTICLE? DT_PERIOD_DAY:
           quota == CADENCE_GATHERING? DT_PERIOD_MONTH: DT_PERIOD_WEEK;
}

uint32_t
cadence_quota_need (cadence_quota_t quota, const policy_t *policy)
{
    switch (quota) {
        case CADENCE_ARTICLE:   return policy->article_per_day;
        case CADENCE_STORY:     return policy->story_per_week;
        case CADENCE_VIDEO:     return policy->video_per_week;
        case CADENCE_GATHERING: return policy->gathering_per_month;
        default:                return 0;
    }
}

bool
cadence_quota_applies (cadence_quota_t quota, bool is_hall)
{
    return is_hall == (quota == CADENCE_GATHERING);
}

int64_t
cadence_first (const policy_t *policy, cadence_quota_t quota, int64_t created)
{
    const s_span_t *span = s_span (policy->timezone, cadence_quota_period (quota), created);
    //  A group created at the very first instant of a period has it whole
    return span->start == created? span->start: span->end;
}

//  Keys and values

#define S_KEY_MAX (DT_ID_MAX + 12)

static size_t
s_key (char tag, const char *group, cadence_quota_t quota, int64_t start, bool with_start,
       uint8_t *out)
{
    size_t len = strlen (group);
    out [0] = (uint8_t) tag;
    memcpy (out + 1, group, len + 1);
    out [len + 2] = (uint8_t) quota;
    if (!with_start)
        return len + 3;
    store_seq_key ((uint64_t) (start < 0? 0: start), out + len + 3);
    return len + 11;
}

static void
s_put_u32 (uint8_t *at, uint32_t value)
{
    for (int i = 0; i < 4; i++)
        at [i] = (uint8_t) (value >> (8 * i));
}

static uint32_t
s_get_u32 (const uint8_t *at)
{
    return (uint32_t) at [0] | (uint32_t) at [1] << 8 | (uint32_t) at [2] << 16
         | (uint32_t) at [3] << 24;
}

static void
s_put_u64 (uint8_t *at, uint64_t value)
{
    s_put_u32 (at, (uint32_t) value);
    s_put_u32 (at + 4, (uint32_t) (value >> 32));
}

static uint64_t
s_get_u64 (const uint8_t *at)
{
    return (uint64_t) s_get_u32 (at) | (uint64_t) s_get_u32 (at + 4) << 32;
}

/* A closed judgement ('j'): status, count, need, version, end, and the
   streak after it. */
#define S_JUDGED_SIZE 33
typedef struct {
    cadence_status_t status;
    uint32_t count, need;
    uint64_t version;
    int64_t end;
    uint32_t current, longest;
} s_judged_t;

static void
s_judged_encode (const s_judged_t *self, uint8_t *out)
{
    out [0] = (uint8_t) self->status;
    s_put_u32 (out + 1, self->count);
    s_put_u32 (out + 5, self->need);
    s_put_u64 (out + 9, self->version);
    s_put_u64 (out + 17, (uint64_t) self->end);
    s_put_u32 (out + 25, self->current);
    s_put_u32 (out + 29, self->longest);
}

static int
s_judged_decode (s_judged_t *self, const void *data, size_t size)
{
    const uint8_t *in = data;
    if (size != S_JUDGED_SIZE || (in [0] != CADENCE_MET && in [0] != CADENCE_MISSED))
        return -1;
    self->status = (cadence_status_t) in [0];
    self->count = s_get_u32 (in + 1);
    self->need = s_get_u32 (in + 5);
    self->version = s_get_u64 (in + 9);
    self->end = (int64_t) s_get_u64 (in + 17);
    self->current = s_get_u32 (in + 25);
    self->longest = s_get_u32 (in + 29);
    return 0;
}

/* The streak state ('s'): closed until, current, longest, met, missed,
   missing. */
#define S_STATE_SIZE 28
static int
s_state_get (store_txn_t *txn, const char *group, cadence_quota_t quota,
             cadence_streak_t *out, int64_t *closed_until, dt_err_t *err)
{
    memset (out, 0, sizeof (*out));
    *closed_until = 0;
    uint8_t key [S_KEY_MAX];
    const void *val;
    size_t size;
    int rc = store_get (txn, TBL_ITEM_INDEX, key, s_key ('s', group, quota, 0, false, key),
                        &val, &size, err);
    if (rc != 0)
        return rc < 0? -1: 0;
    if (size != S_STATE_SIZE)
        return dt_err_set (err, "INTERNAL", "cadence of %s is damaged in the store", group);
    const uint8_t *in = val;
    *closed_until = (int64_t) s_get_u64 (in);
    out->current = s_get_u32 (in + 8);
    out->longest = s_get_u32 (in + 12);
    out->met = s_get_u32 (in + 16);
    out->missed = s_get_u32 (in + 20);
    out->missing = s_get_u32 (in + 24);
    out->through = *closed_until;
    return 0;
}

static int
s_state_put (store_txn_t *txn, const char *group, cadence_quota_t quota,
             const cadence_streak_t *state, int64_t closed_until, dt_err_t *err)
{
    uint8_t key [S_KEY_MAX], val [S_STATE_SIZE];
    s_put_u64 (val, (uint64_t) closed_until);
    s_put_u32 (val + 8, state->current);
    s_put_u32 (val + 12, state->longest);
    s_put_u32 (val + 16, state->met);
    s_put_u32 (val + 20, state->missed);
    s_put_u32 (val + 24, state->missing);
    return store_put (txn, TBL_ITEM_INDEX, key, s_key ('s', group, quota, 0, false, key),
                      val, sizeof (val), err);
}

static int
s_count_get (store_txn_t *txn, const char *group, cadence_quota_t quota, int64_t start,
             uint32_t *count, dt_err_t *err)
{
    uint8_t key [S_KEY_MAX];
    const void *val;
    size_t size;
    *count = 0;
    int rc = store_get (txn, TBL_ITEM_INDEX, key, s_key ('c', group, quota, start, true, key),
                        &val, &size, err);
    if (rc != 0)
        return rc < 0? -1: 0;
    if (size != 4)
        return dt_err_set (err, "INTERNAL", "a cadence counter of %s is damaged", group);
    *count = s_get_u32 (val);
    return 0;
}

/* Add delta (+1 or -1) to a counter; a counter never goes below 0. */
static int
s_count_add (store_txn_t *txn, const char *group, cadence_quota_t quota, int64_t start,
             int delta, dt_err_t *err)
{
    uint32_t count;
    if (s_count_get (txn, group, quota, start, &count, err))
        return -1;
    count = delta < 0? (count? count - 1: 0): count + 1;
    uint8_t key [S_KEY_MAX], val [4];
    size_t size = s_key ('c', group, quota, start, true, key);
    if (count == 0)
        return store_del (txn, TBL_ITEM_INDEX, key, size, err);
    s_put_u32 (val, count);
    return store_put (txn, TBL_ITEM_INDEX, key, size, val, 4, err);
}

static int
s_judged_get (store_txn_t *txn, const char *group, cadence_quota_t quota, int64_t start,
              s_judged_t *out, dt_err_t *err)
{
    uint8_t key [S_KEY_MAX];
    const void *val;
    size_t size;
    int rc = store_get (txn, TBL_ITEM_INDEX, key, s_key ('j', group, quota, start, true, key),
                        &val, &size, err);
    if (rc != 0)
        return rc;
    if (s_judged_decode (out, val, size))
        return dt_err_set (err, "INTERNAL", "a cadence judgement of %s is damaged", group);
    return 0;
}

//  Judging

/* Judge the period containing `of` at `at`. Its count is read only when it
   is needed (open ones: when count_open); its kept judgement only when one
   may exist (maybe_kept: periods from a group's closed_until on never are). */
static int
s_judge (store_txn_t *txn, const policy_t *policy, const cadence_group_t *group,
         cadence_quota_t quota, int64_t of, int64_t at, bool count_open, bool maybe_kept,
         cadence_period_t *out, dt_err_t *err)
{
    memset (out, 0, sizeof (*out));
    const s_span_t *span = s_span (policy->timezone, cadence_quota_period (quota), of);
    out->quota = quota;
    out->start = span->start;
    out->end = span->end;
    memcpy (out->label, span->label, sizeof (out->label));
    out->need = cadence_quota_need (quota, policy);
    out->version = policy->version;
    //  Before the first whole period: periods tile time, so a period starts
    //  before the first one at or after `created` exactly when it starts
    //  before `created`
    bool none = out->start < group->created, open = !none && out->end > at;
    if (!none && !open && maybe_kept) {
        s_judged_t judged;
        int rc = s_judged_get (txn, group->id, quota, out->start, &judged, err);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            out->status = judged.status;
            out->count = judged.count;
            out->need = judged.need;
            out->version = judged.version;
            out->kept = true;
            return 0;
        }
    }
    if ((!open || count_open)
    &&  s_count_get (txn, group->id, quota, out->start, &out->count, err))
        return -1;
    if (none || open)
        out->status = none? CADENCE_NONE: CADENCE_OPEN;
    else
    if (out->end > group->watermark)
        out->status = CADENCE_AWAITING;
    else
        out->status = out->count >= out->need? CADENCE_MET: CADENCE_MISSED;
    return 0;
}

int
cadence_judge (store_txn_t *txn, const policy_t *policy, const cadence_group_t *group,
               cadence_quota_t quota, int64_t of, int64_t at, cadence_period_t *out,
               dt_err_t *err)
{
    return s_judge (txn, policy, group, quota, of, at, true, true, out, err);
}

static void
s_streak_step (cadence_streak_t *streak, cadence_status_t status, int64_t end)
{
    if (status == CADENCE_MET) {
        streak->current++;
        streak->met++;
        streak->missing = 0;
        if (streak->current > streak->longest)
            streak->longest = streak->current;
    }
    else {
        streak->current = 0;
        streak->missed++;
        streak->missing++;
    }
    streak->through = end;
}

typedef struct {
    int64_t at;
    cadence_streak_t *out;
} s_history_t;

static int
s_history_entry (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) key; (void) key_size;
    s_history_t *history = arg;
    s_judged_t judged;
    if (s_judged_decode (&judged, val, val_size) || judged.end > history->at)
        return 1;
    s_streak_step (history->out, judged.status, judged.end);
    return 0;
}

int
cadence_streak (store_txn_t *txn, const policy_t *policy, const cadence_group_t *group,
                cadence_quota_t quota, int64_t at, cadence_streak_t *out, dt_err_t *err)
{
    int64_t closed_until;
    if (s_state_get (txn, group->id, quota, out, &closed_until, err))
        return -1;
    if (closed_until > at) {
        //  A look into the past: replay the kept judgements up to at
        memset (out, 0, sizeof (*out));
        uint8_t prefix [S_KEY_MAX];
        s_history_t history = { at, out };
        return store_scan (txn, TBL_ITEM_INDEX, prefix,
                           s_key ('j', group->id, quota, 0, false, prefix), NULL, 0,
                           s_history_entry, &history, err);
    }
    //  Then the periods closed since, judged now (not kept: reads do not write)
    int64_t start = closed_until? closed_until: cadence_first (policy, quota, group->created);
    while (true) {
        cadence_period_t judged;
        if (s_judge (txn, policy, group, quota, start, at, false, false, &judged, err))
            return -1;
        if (judged.status != CADENCE_MET && judged.status != CADENCE_MISSED)
            break;
        s_streak_step (out, judged.status, judged.end);
        start = judged.end;
    }
    return 0;
}

int
cadence_standing (store_txn_t *txn, const policy_t *policy, const cadence_group_t *group,
                  cadence_quota_t quota, int64_t at, cadence_streak_t *streak,
                  cadence_status_t *last, dt_err_t *err)
{
    if (cadence_streak (txn, policy, group, quota, at, streak, err))
        return -1;
    dt_period_t period = cadence_quota_period (quota);
    int64_t open = s_span (policy->timezone, period, at)->start;
    const s_span_t *span = s_span (policy->timezone, period, open - 1);
    //  The streak walked every closed period up to the first awaited one
    if (span->start < group->created)
        *last = CADENCE_NONE;
    else
    if (streak->through >= span->end)
        *last = streak->missing? CADENCE_MISSED: CADENCE_MET;
    else
        *last = CADENCE_AWAITING;
    return 0;
}

int
cadence_close (store_txn_t *txn, const policy_t *policy, const cadence_group_t *group,
               int64_t until, dt_err_t *err)
{
    for (int q = 0; q < CADENCE_QUOTAS; q++) {
        cadence_quota_t quota = (cadence_quota_t) q;
        if (!cadence_quota_applies (quota, group->is_hall))
            continue;
        cadence_streak_t state;
        int64_t closed_until;
        if (s_state_get (txn, group->id, quota, &state, &closed_until, err))
            return -1;
        int64_t start = closed_until? closed_until: cadence_first (policy, quota, group->created);
        int64_t first = start;
        //  Most writes close nothing: the period after the last closed is open
        if (s_span (policy->timezone, cadence_quota_period (quota), start)->end > until)
            continue;
        for (int walked = 0; walked < S_CLOSE_MAX; walked++) {
            cadence_period_t judged;
            if (s_judge (txn, policy, group, quota, start, until, false, false, &judged, err))
                return -1;
            if (judged.status != CADENCE_MET && judged.status != CADENCE_MISSED)
                break;
            s_streak_step (&state, judged.status, judged.end);
            {
                s_judged_t keep = { judged.status, judged.count, judged.need, judged.version,
                                    judged.end, state.current, state.longest };
                uint8_t key [S_KEY_MAX], val [S_JUDGED_SIZE];
                s_judged_encode (&keep, val);
                if (store_put (txn, TBL_ITEM_INDEX, key,
                               s_key ('j', group->id, quota, judged.start, true, key),
                               val, sizeof (val), err))
                    return -1;
            }
            start = judged.end;
        }
        if (start != first && s_state_put (txn, group->id, quota, &state, start, err))
            return -1;
    }
    return 0;
}

//  The item hook

static void
s_rules (const policy_t *policy, item_tally_rules_t *rules)
{
    rules->topics = (char (*)[ITEM_TOPIC_MAX + 1]) policy->article_topics;
    rules->ntopics = policy->narticle_topics;
    rules->short_max = policy->video_short_max_s;
    rules->attendees_min = policy->gathering_min_attendees;
}

static int
s_count_item (store_txn_t *txn, const policy_t *policy, const item_t *item, int delta,
              dt_err_t *err)
{
    item_tally_rules_t rules;
    s_rules (policy, &rules);
    uint32_t counts = item_counts (item, &rules);
    for (int q = 0; q < CADENCE_QUOTAS; q++)
        if (counts & (1u << q)) {
            cadence_quota_t quota = (cadence_quota_t) q;
            int64_t start = s_span (policy->timezone, cadence_quota_period (quota),
                                    item->at)->start;
            if (s_count_add (txn, item->group, quota, start, delta, err))
                return -1;
        }
    return 0;
}

int
cadence_item_hook (store_txn_t *txn, const item_t *old, const item_t *fresh, dt_err_t *err)
{
    policy_t policy;
    if (policy_get (txn, &policy, err))
        return -1;
    if ((old && s_count_item (txn, &policy, old, -1, err))
    ||  s_count_item (txn, &policy, fresh, +1, err))
        return -1;
    //  Close what ended before this item was accepted. A node-served
    //  branch closes only up to its node's watermark at the hub (none at the
    //  node itself, which judges on reading)
    publish_group_t group;
    if (publish_group (txn, fresh->group, &group, err)) {
        dt_err_reset (err);         //  a group gone since: counters only
        return 0;
    }
    cadence_group_t judged = { group.id, group.is_hall,
                               group.is_hall? group.hall.created: group.branch.created,
                               INT64_MAX, group.branch.node };
    //  Up to the item's own time, when earlier: an import of history
    //  (explicit `at`, in time order) closes each period only once the
    //  import has passed it
    int64_t until = fresh->at < fresh->accepted? fresh->at: fresh->accepted;
    if (*group.branch.node) {
        uplink_state_t state;
        uplink_state (txn, group.branch.node, &state);
        judged.watermark = state.watermark;
        if (state.watermark < until)
            until = state.watermark;
    }
    return cadence_close (txn, &policy, &judged, until, err);
}

typedef struct {
    store_txn_t *txn;
    const policy_t *policy;
    int64_t until;
    const branch_t *branch;
    int64_t watermark;
    dt_err_t *err;
} s_close_all_t;

static int
s_close_hall (const hall_t *hall, void *arg)
{
    s_close_all_t *walk = arg;
    cadence_group_t judged = { hall->id, true, hall->created, walk->watermark,
                               walk->branch->node };
    return cadence_close (walk->txn, walk->policy, &judged, walk->until, walk->err);
}

static int
s_close_branch (const branch_t *branch, void *arg)
{
    s_close_all_t *walk = arg;
    walk->branch = branch;
    walk->watermark = INT64_MAX;
    if (*branch->node) {
        uplink_state_t state;
        uplink_state (walk->txn, branch->node, &state);
        walk->watermark = state.watermark;
    }
    int64_t until = walk->watermark < walk->until? walk->watermark: walk->until;
    cadence_group_t judged = { branch->id, false, branch->created, walk->watermark,
                               branch->node };
    if (cadence_close (walk->txn, walk->policy, &judged, until, walk->err))
        return -1;
    return tree_hall_visit (walk->txn, branch->id, s_close_hall, walk, walk->err);
}

int
cadence_close_all (store_txn_t *txn, const policy_t *policy, int64_t until, dt_err_t *err)
{
    s_close_all_t walk = { txn, policy, until, NULL, INT64_MAX, err };
    return tree_branch_visit (txn, s_close_branch, &walk, err);
}

static void __attribute__ ((constructor))
s_register (void)
{
    item_hook_set (cadence_item_hook);
}

//  Self-test

#define S_DAY (24 * 3600 * 1000LL)

static int64_t
s_at (const char *zone, const char *text)
{
    int64_t at;
    assert (dt_time_parse (zone, text, &at) == 0);
    return at;
}

static int
s_seq = 0;

/* Write one item of kind into group at `at`, accepted at `accepted`. */
static void
s_item (store_txn_t *txn, const char *group, item_kind_t kind, int64_t at, int64_t accepted,
        uint32_t attendees)
{
    item_t item = { .type = item_kind_type (kind), .kind = kind, .at = at,
                    .accepted = accepted };
    snprintf (item.id, sizeof (item.id), "i-%d", ++s_seq);
    snprintf (item.group, sizeof (item.group), "%s", group);
    snprintf (item.author, sizeof (item.author), "o-1");
    if (kind == KIND_ARTICLE) {
        snprintf (item.topics [0], sizeof (item.topics [0]), "酱酒");
        item.ntopics = 1;
    }
    if (kind == KIND_STORY) {
        snprintf (item.photos [0], sizeof (item.photos [0]), "a.jpg");
        item.nphotos = 1;
    }
    if (kind == KIND_VIDEO)
        item.seconds = 60;
    dt_id_t people [5] = { "m-1", "m-2", "m-3", "m-4", "m-5" };
    if (item.type == ITEM_EVENT) {
        item.status = STATUS_HELD;
        item_set_attendees (&item, people, attendees);
    }
    dt_err_t err;
    dt_err_init (&err);
    assert (item_put (txn, &item, &err) == 0);
    item_release (&item);
}

static cadence_status_t
s_status (store_txn_t *txn, const policy_t *policy, const cadence_group_t *group,
          cadence_quota_t quota, int64_t of, int64_t at)
{
    cadence_period_t judged;
    dt_err_t err;
    dt_err_init (&err);
    assert (cadence_judge (txn, policy, group, quota, of, at, &judged, &err) == 0);
    return judged.status;
}

void
cadence_test (bool verbose)
{
    (void) verbose;
    const char *zone = "Asia/Shanghai";
    store_t *store = scratch_new ("cadence", 64);
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    policy_t policy;
    policy_defaults (&policy);
    snprintf (policy.timezone, sizeof (policy.timezone), "%s", zone);
    policy.version = 1;
    assert (policy_put (&txn, &policy, &err) == 0);

    //  A branch created mid-day: its first counted day is the next whole one
    int64_t created = s_at (zone, "2026-12-01 10:00");
    cadence_group_t branch = { "b-1", false, created, INT64_MAX, "" };
    branch_t record = { .id = "b-1", .name = "成都分舵", .leader = "o-1", .created = created };
    assert (tree_branch_put (&txn, &record, &err) == 0);
    int64_t later = s_at (zone, "2027-03-01");
    assert (cadence_first (&policy, CADENCE_ARTICLE, created) == s_at (zone, "2026-12-02"));
    assert (cadence_first (&policy, CADENCE_ARTICLE, s_at (zone, "2026-12-02"))
            == s_at (zone, "2026-12-02"));
    assert (s_status (&txn, &policy, &branch, CADENCE_ARTICLE, created, later) == CADENCE_NONE);
    //  2026-12-01 is a Tuesday: the first whole week is W50 (Monday 12-07);
    //  the first whole month is January
    assert (cadence_first (&policy, CADENCE_STORY, created) == s_at (zone, "2026-12-07"));
    assert (cadence_first (&policy, CADENCE_GATHERING, created) == s_at (zone, "2027-01-01"));

    //  Day boundaries in the zone: 23:59:59 belongs to the day, 00:00 to the next
    int64_t d2 = s_at (zone, "2026-12-02");
    s_item (&txn, "b-1", KIND_ARTICLE, s_at (zone, "2026-12-02 23:59:59"), d2, 0);
    s_item (&txn, "b-1", KIND_ARTICLE, s_at (zone, "2026-12-04 00:00"), d2, 0);
    assert (s_status (&txn, &policy, &branch, CADENCE_ARTICLE, d2, d2 + S_DAY - 1)
            == CADENCE_OPEN);
    assert (s_status (&txn, &policy, &branch, CADENCE_ARTICLE, d2, d2 + S_DAY) == CADENCE_MET);
    assert (s_status (&txn, &policy, &branch, CADENCE_ARTICLE, d2 + S_DAY, later)
            == CADENCE_MISSED);
    assert (s_status (&txn, &policy, &branch, CADENCE_ARTICLE, d2 + 2 * S_DAY, later)
            == CADENCE_MET);
    //  An article off topic does not count (counted by the policy's topics)
    item_t off = { .type = ITEM_POST, .kind = KIND_ARTICLE, .at = d2 + 3 * S_DAY + 5,
                   .accepted = d2, .ntopics = 1 };
    snprintf (off.id, sizeof (off.id), "off-1");
    snprintf (off.group, sizeof (off.group), "b-1");
    snprintf (off.topics [0], sizeof (off.topics [0]), "美食");
    assert (item_put (&txn, &off, &err) == 0);
    assert (s_status (&txn, &policy, &branch, CADENCE_ARTICLE, d2 + 3 * S_DAY, later)
            == CADENCE_MISSED);

    //  Streaks: met (12-02), missed (12-03), met (12-04), missed (12-05)
    cadence_streak_t streak;
    assert (cadence_streak (&txn, &policy, &branch, CADENCE_ARTICLE, d2 + 3 * S_DAY, &streak,
                            &err) == 0);
    assert (streak.current == 1 && streak.longest == 1 && streak.met == 2 && streak.missed == 1);
    //  ... resumed on 12-06..12-08: a run of 3 beats the runs of 1
    for (int day = 4; day < 7; day++)
        s_item (&txn, "b-1", KIND_ARTICLE, d2 + day * S_DAY + 3600000, d2, 0);
    assert (cadence_streak (&txn, &policy, &branch, CADENCE_ARTICLE, d2 + 7 * S_DAY, &streak,
                            &err) == 0);
    assert (streak.current == 3 && streak.longest == 3 && streak.missed == 2);
    //  ... broken on 12-09
    assert (cadence_streak (&txn, &policy, &branch, CADENCE_ARTICLE, d2 + 8 * S_DAY, &streak,
                            &err) == 0);
    assert (streak.current == 0 && streak.longest == 3 && streak.missing == 1);

    //  Closing keeps the judgement under the policy in force then: an item
    //  accepted on 12-10 closes up to it; a later change of the quota does
    //  not rewrite 12-02, but judges 12-10 (closed after it)
    s_item (&txn, "b-1", KIND_ARTICLE, d2 + 8 * S_DAY + 1, d2 + 8 * S_DAY + 2, 0);
    policy.article_per_day = 2;
    policy.version = 2;
    cadence_period_t judged;
    assert (cadence_judge (&txn, &policy, &branch, CADENCE_ARTICLE, d2, later, &judged,
                           &err) == 0);
    assert (judged.status == CADENCE_MET && judged.kept && judged.version == 1
            && judged.need == 1 && judged.count == 1);
    //  A policy change mid-period: 12-10 is open under version 1 with 1
    //  article, and closes under version 2 with 2 needed
    assert (cadence_judge (&txn, &policy, &branch, CADENCE_ARTICLE, d2 + 8 * S_DAY, later,
                           &judged, &err) == 0);
    assert (judged.status == CADENCE_MISSED && judged.need == 2 && judged.version == 2
            && !judged.kept);
    assert (cadence_streak (&txn, &policy, &branch, CADENCE_ARTICLE, d2 + 9 * S_DAY, &streak,
                            &err) == 0);
    assert (streak.current == 0 && streak.longest == 3);
    //  Looking back before what is kept replays history
    assert (cadence_streak (&txn, &policy, &branch, CADENCE_ARTICLE, d2 + 7 * S_DAY, &streak,
                            &err) == 0);
    assert (streak.current == 3 && streak.longest == 3 && streak.met == 5);
    policy.article_per_day = 1;

    //  A silent branch: nothing arrives to close its days, so policy.set
    //  closes them under the policy it replaces (cadence_close_all), and the
    //  new one judges only what ends after
    branch_t quiet = { .id = "b-3", .name = "静默分舵", .leader = "o-1",
                       .created = s_at (zone, "2026-11-01 10:00") };
    assert (tree_branch_put (&txn, &quiet, &err) == 0);
    cadence_group_t silent = { "b-3", false, quiet.created, INT64_MAX, "" };
    policy_t before = policy;
    before.version = 3;
    assert (cadence_close_all (&txn, &before, s_at (zone, "2026-11-20"), &err) == 0);
    policy_t after = before;
    after.version = 4;
    after.article_per_day = 0;
    assert (cadence_judge (&txn, &after, &silent, CADENCE_ARTICLE, s_at (zone, "2026-11-05"),
                           later, &judged, &err) == 0);
    assert (judged.status == CADENCE_MISSED && judged.kept && judged.version == 3
            && judged.need == 1);
    assert (cadence_judge (&txn, &after, &silent, CADENCE_ARTICLE, s_at (zone, "2026-11-25"),
                           later, &judged, &err) == 0);
    assert (!judged.kept && judged.version == 4 && judged.need == 0);

    //  ISO weeks across a year end: 2026-12-28 .. 2027-01-03 is 2026-W53,
    //  2027-01-04 starts 2027-W01
    cadence_group_t old = { "b-2", false, s_at (zone, "2026-01-01"), INT64_MAX, "" };
    s_item (&txn, "b-2", KIND_STORY, s_at (zone, "2027-01-03 23:59:59"), 0, 0);
    s_item (&txn, "b-2", KIND_VIDEO, s_at (zone, "2027-01-04 00:00"), 0, 0);
    assert (cadence_judge (&txn, &policy, &old, CADENCE_STORY, s_at (zone, "2026-12-28"), later,
                           &judged, &err) == 0);
    assert (judged.status == CADENCE_MET && streq (judged.label, "2026-W53"));
    assert (s_status (&txn, &policy, &old, CADENCE_VIDEO, s_at (zone, "2026-12-31"), later)
            == CADENCE_MISSED);
    assert (cadence_judge (&txn, &policy, &old, CADENCE_VIDEO, s_at (zone, "2027-01-10"), later,
                           &judged, &err) == 0);
    assert (judged.status == CADENCE_MET && streq (judged.label, "2027-W01"));
    assert (s_status (&txn, &policy, &old, CADENCE_STORY, s_at (zone, "2027-01-04"), later)
            == CADENCE_MISSED);

    //  Months of 28, 29, 30 and 31 days: the gathering on the last day at
    //  23:59:59 counts, the one at 00:00 of the next counts there; a
    //  gathering short of attendees does not count
    cadence_group_t hall = { "h-1", true, s_at (zone, "2027-01-15"), INT64_MAX, "" };
    const char *lasts [] = { "2027-02-28", "2028-02-29", "2027-04-30", "2027-03-31" };
    for (int i = 0; i < 4; i++) {
        char text [32];
        snprintf (text, sizeof (text), "%s 23:59:59", lasts [i]);
        int64_t last = s_at (zone, text);
        assert (s_status (&txn, &policy, &hall, CADENCE_GATHERING, last, later + 400 * S_DAY)
                == CADENCE_MISSED);
        s_item (&txn, "h-1", KIND_TASTING, last, 0, 3);
        assert (s_status (&txn, &policy, &hall, CADENCE_GATHERING, last, last) == CADENCE_OPEN);
        assert (s_status (&txn, &policy, &hall, CADENCE_GATHERING, last, last + 1000)
                == CADENCE_MET);
        //  the next month starts at 00:00: nothing of it counted yet
        assert (s_status (&txn, &policy, &hall, CADENCE_GATHERING, last + 1000,
                          later + 400 * S_DAY) == (i == 3? CADENCE_MET: CADENCE_MISSED));
    }
    s_item (&txn, "h-1", KIND_SPORTS, s_at (zone, "2027-05-10"), 0, 2);
    assert (s_status (&txn, &policy, &hall, CADENCE_GATHERING, s_at (zone, "2027-05-10"),
                      later + 400 * S_DAY) == CADENCE_MISSED);
    //  The hall was created 2027-01-15: January is not counted
    assert (s_status (&txn, &policy, &hall, CADENCE_GATHERING, s_at (zone, "2027-01-20"),
                      later) == CADENCE_NONE);

    //  A node-served branch: a day past the node's watermark is awaited,
    //  judged once the watermark passes its end
    cadence_group_t served = { "b-3", false, s_at (zone, "2026-11-01"),
                               s_at (zone, "2026-12-02 12:00"), "n-1" };
    assert (s_status (&txn, &policy, &served, CADENCE_ARTICLE, s_at (zone, "2026-12-01"), later)
            == CADENCE_MISSED);
    assert (s_status (&txn, &policy, &served, CADENCE_ARTICLE, s_at (zone, "2026-12-02"), later)
            == CADENCE_AWAITING);
    assert (cadence_streak (&txn, &policy, &served, CADENCE_ARTICLE, later, &streak, &err) == 0);
    assert (streak.through == s_at (zone, "2026-12-02"));
    served.watermark = s_at (zone, "2026-12-03");
    s_item (&txn, "b-3", KIND_ARTICLE, s_at (zone, "2026-12-02 20:00"), 0, 0);
    assert (s_status (&txn, &policy, &served, CADENCE_ARTICLE, s_at (zone, "2026-12-02"), later)
            == CADENCE_MET);

    //  Counters follow an item rewritten: a scheduled event held counts once
    item_t event = { .type = ITEM_EVENT, .kind = KIND_TASTING, .status = STATUS_SCHEDULED,
                     .at = s_at (zone, "2027-06-10") };
    snprintf (event.id, sizeof (event.id), "e-9");
    snprintf (event.group, sizeof (event.group), "h-1");
    assert (item_put (&txn, &event, &err) == 0);
    assert (s_status (&txn, &policy, &hall, CADENCE_GATHERING, event.at, later + 400 * S_DAY)
            == CADENCE_MISSED);
    dt_id_t people [3] = { "m-1", "m-2", "m-3" };
    item_set_attendees (&event, people, 3);
    event.status = STATUS_HELD;
    assert (item_put (&txn, &event, &err) == 0);
    assert (item_put (&txn, &event, &err) == 0);
    assert (cadence_judge (&txn, &policy, &hall, CADENCE_GATHERING, event.at, later + 400 * S_DAY,
                           &judged, &err) == 0);
    assert (judged.status == CADENCE_MET && judged.count == 1);
    event.status = STATUS_CANCELLED;
    assert (item_put (&txn, &event, &err) == 0);
    assert (s_status (&txn, &policy, &hall, CADENCE_GATHERING, event.at, later + 400 * S_DAY)
            == CADENCE_MISSED);
    item_release (&event);

    store_abort (&txn);
    scratch_destroy (&store);
}
