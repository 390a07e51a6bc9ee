/* report.c -- report.compliance, report.health, report.questions, report.streaks:
   groups walked in tree order (branch, then its halls), one page at a time. */
#include "report.h"
#include "cadence.h"
#include "health.h"
#include "uplink.h"
#include "page.h"
#include "scratch.h"
#include "dt_time.h"

//  A walk over the groups a report covers

typedef struct _s_walk_t s_walk_t;
/* One group: pack its row (page_item with key), or skip it. 0 go on, 1 stop, -1 fail. */
typedef int (s_group_fn) (s_walk_t *walk, const publish_group_t *group, const void *key,
                          size_t key_size);

struct _s_walk_t {
    op_ctx_t *ctx;
    policy_t policy;
    page_t page;
    int64_t at;
    bool halls;                     /* visit halls, not only branches */
    s_group_fn *visit;
    const branch_t *branch;         /* the branch being walked */
    int64_t watermark;              /* of its node, at the hub */
    int period;                     /* -1: every quota */
    bool flag;                      /* the report's filter (dying, detail) */
    uint8_t key [PAGE_KEY_MAX];
    size_t key_size;
    //  report.compliance summary: the branch's roll-up
    uint32_t tally [CADENCE_QUOTAS][CADENCE_AWAITING + 1];
    uint32_t silent;
    dt_id_t worst_group;
    cadence_quota_t worst_quota;
    uint32_t worst;
};

/* The position of a group: branch \0 hall ("" for the branch itself). */
static size_t
s_position (const char *branch, const char *hall, uint8_t *out)
{
    size_t blen = strlen (branch), hlen = strlen (hall);
    memcpy (out, branch, blen);
    out [blen] = 0;
    memcpy (out + blen + 1, hall, hlen);
    return blen + 1 + hlen;
}

/* True if key is at or before the page's cursor (already given). */
static bool
s_seen (s_walk_t *walk, const void *key, size_t key_size)
{
    size_t after_size;
    const void *after = page_after (&walk->page, &after_size);
    if (!after)
        return false;
    size_t common = key_size < after_size? key_size: after_size;
    int cmp = memcmp (key, after, common);
    return cmp < 0 || (cmp == 0 && key_size <= after_size);
}

static int
s_visit_hall (const hall_t *hall, void *arg)
{
    s_walk_t *walk = arg;
    publish_group_t group = { .is_hall = true, .branch = *walk->branch, .hall = *hall };
    group.id = group.hall.id;
    uint8_t key [PAGE_KEY_MAX];
    size_t key_size = s_position (hall->branch, hall->id, key);
    if (s_seen (walk, key, key_size))
        return 0;
    return walk->visit (walk, &group, key, key_size);
}

static int
s_visit_branch (s_walk_t *walk, const branch_t *branch)
{
    op_ctx_t *ctx = walk->ctx;
    walk->branch = branch;
    walk->watermark = INT64_MAX;
    //  At the hub, a node-served branch is judged as far as its node delivered
    if (!ctx->node && *branch->node) {
        uplink_state_t state;
        uplink_state (ctx->txn, branch->node, &state);
        walk->watermark = state.watermark;
    }
    publish_group_t group = { .is_hall = false, .branch = *branch };
    group.id = group.branch.id;
    uint8_t key [PAGE_KEY_MAX];
    size_t key_size = s_position (branch->id, "", key);
    int rc = s_seen (walk, key, key_size)? 0: walk->visit (walk, &group, key, key_size);
    if (rc == 0 && walk->halls)
        rc = tree_hall_visit (ctx->txn, branch->id, s_visit_hall, walk, ctx->err);
    return rc;
}

static int
s_branch_entry (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) key; (void) key_size;
    s_walk_t *walk = arg;
    branch_t branch;
    if (record_branch_decode (&branch, val, val_size))
        return dt_err_set (walk->ctx->err, "INTERNAL", "a branch record is damaged");
    if (!op_covers (walk->ctx, branch.id))
        return 0;
    return s_visit_branch (walk, &branch);
}

/* Open the page, read `branch?` and `at?`, walk, close. */
static int
s_walk (op_ctx_t *ctx, const msgpack_object *args, s_walk_t *walk)
{
    walk->ctx = ctx;
    walk->at = ctx->now;
    dt_id_t id = "";
    branch_t branch;
    int rc = page_open (&walk->page, args, ctx->err);
    if (rc == 0)
        rc = proto_arg_int (args, "at", false, &walk->at, ctx->err) < 0
          || proto_arg_id (args, "branch", false, id, ctx->err) < 0
          || policy_get (ctx->txn, &walk->policy, ctx->err)? -1: 0;
    if (rc == 0 && *id)
        rc = tree_branch_need (ctx->txn, id, &branch, ctx->err) || op_allow (ctx, id)
          || s_visit_branch (walk, &branch) < 0? -1: 0;
    else
    if (rc == 0) {
        //  Every branch from the cursor's on
        size_t after_size;
        const uint8_t *after = page_after (&walk->page, &after_size);
        size_t from_size = 0;
        while (after && from_size < after_size && after [from_size])
            from_size++;
        rc = store_scan (ctx->txn, TBL_BRANCH, NULL, 0, after, after? from_size: 0,
                         s_branch_entry, walk, ctx->err) < 0? -1: 0;
    }
    if (rc)
        page_release (&walk->page);
    return rc;
}

static void
s_pack_group (msgpack_packer *pk, const publish_group_t *group, uint32_t extra)
{
    msgpack_pack_map (pk, 4 + extra);
    record_kv_str (pk, "group", group->id);
    record_kv_str (pk, "name", group->is_hall? group->hall.name: group->branch.name);
    record_kv_str (pk, "branch", group->branch.id);
    record_kv_str (pk, "type", group->is_hall? "hall": "branch");
}

static void
s_cadence_group (s_walk_t *walk, const publish_group_t *group, cadence_group_t *out)
{
    out->id = group->id;
    out->is_hall = group->is_hall;
    out->created = group->is_hall? group->hall.created: group->branch.created;
    out->watermark = walk->watermark;
    out->node = group->branch.node;
}

static bool
s_quota_wanted (s_walk_t *walk, cadence_quota_t quota, bool is_hall)
{
    return cadence_quota_applies (quota, is_hall)
        && (walk->period < 0 || (int) cadence_quota_period (quota) == walk->period);
}

static uint32_t
s_quotas (s_walk_t *walk, bool is_hall)
{
    uint32_t count = 0;
    for (int q = 0; q < CADENCE_QUOTAS; q++)
        count += s_quota_wanted (walk, (cadence_quota_t) q, is_hall);
    return count;
}

//  report.compliance

/* The last period of quota closed by `at`, its open one, and streaks. */
typedef struct {
    cadence_period_t last, open;
    cadence_streak_t streak;
} s_judged_t;

static int
s_judge (s_walk_t *walk, const cadence_group_t *group, cadence_quota_t quota, s_judged_t *out)
{
    store_txn_t *txn = walk->ctx->txn;
    const policy_t *policy = &walk->policy;
    dt_err_t *err = walk->ctx->err;
    if (cadence_judge (txn, policy, group, quota, walk->at, walk->at, &out->open, err))
        return -1;
    return cadence_judge (txn, policy, group, quota, out->open.start - 1, walk->at, &out->last,
                          err)
        || cadence_streak (txn, policy, group, quota, walk->at, &out->streak, err)? -1: 0;
}

static void
s_pack_judged (msgpack_packer *pk, const s_judged_t *judged, const cadence_group_t *group)
{
    const cadence_period_t *last = &judged->last;
    bool awaiting = last->status == CADENCE_AWAITING;
    msgpack_pack_map (pk, 12);
    record_kv_str (pk, "quota", cadence_quota_name (last->quota));
    record_kv_str (pk, "period", last->label);
    record_kv_str (pk, "status", cadence_status_name (last->status));
    record_kv_uint (pk, "count", last->count);
    record_kv_uint (pk, "need", last->need);
    record_kv_uint (pk, "version", last->version);
    proto_pack_key (pk, "node");
    proto_pack_str_or_nil (pk, awaiting? group->node: "");
    record_kv_str (pk, "open", judged->open.label);
    record_kv_uint (pk, "open_count", judged->open.count);
    record_kv_uint (pk, "current", judged->streak.current);
    record_kv_uint (pk, "longest", judged->streak.longest);
    record_kv_uint (pk, "missing", judged->streak.missing);
}

/* One quota of a group's row. */
typedef int (s_quota_fn) (s_walk_t *walk, const cadence_group_t *group, cadence_quota_t quota,
                          msgpack_packer *pk);

/* A group's row: the group and { quotas: [one entry per quota wanted] }. */
static int
s_quota_rows (s_walk_t *walk, const publish_group_t *group, const void *key, size_t key_size,
              s_quota_fn *pack_quota)
{
    if (s_quotas (walk, group->is_hall) == 0)
        return 0;                   //  no quota of that period length
    msgpack_packer *pk = page_item (&walk->page, key, key_size);
    if (!pk)
        return 1;
    cadence_group_t judged_group;
    s_cadence_group (walk, group, &judged_group);
    s_pack_group (pk, group, 1);
    proto_pack_key (pk, "quotas");
    msgpack_pack_array (pk, s_quotas (walk, group->is_hall));
    for (int q = 0; q < CADENCE_QUOTAS; q++)
        if (s_quota_wanted (walk, (cadence_quota_t) q, group->is_hall)
        &&  pack_quota (walk, &judged_group, (cadence_quota_t) q, pk))
            return -1;
    return 0;
}

static int
s_compliance_quota (s_walk_t *walk, const cadence_group_t *group, cadence_quota_t quota,
                    msgpack_packer *pk)
{
    s_judged_t judged;
    if (s_judge (walk, group, quota, &judged))
        return -1;
    s_pack_judged (pk, &judged, group);
    return 0;
}

static int
s_compliance_group (s_walk_t *walk, const publish_group_t *group, const void *key,
                    size_t key_size)
{
    return s_quota_rows (walk, group, key, key_size, s_compliance_quota);
}

/* The summary: one branch's groups rolled up into the walk's tally. */
static int
s_rollup_group (s_walk_t *walk, const publish_group_t *group, const void *key,
                size_t key_size)
{
    (void) key; (void) key_size;
    cadence_group_t judged_group;
    s_cadence_group (walk, group, &judged_group);
    uint32_t quotas = 0, missed = 0;
    for (int q = 0; q < CADENCE_QUOTAS; q++) {
        cadence_quota_t quota = (cadence_quota_t) q;
        if (!s_quota_wanted (walk, quota, group->is_hall))
            continue;
        cadence_streak_t streak;
        cadence_status_t last;
        if (cadence_standing (walk->ctx->txn, &walk->policy, &judged_group, quota, walk->at,
                              &streak, &last, walk->ctx->err))
            return -1;
        walk->tally [q][last]++;
        quotas++;
        missed += last == CADENCE_MISSED;
        if (streak.missing > walk->worst) {
            walk->worst = streak.missing;
            walk->worst_quota = quota;
            snprintf (walk->worst_group, sizeof (walk->worst_group), "%s", group->id);
        }
    }
    walk->silent += quotas && missed == quotas;
    return 0;
}

static int
s_summary_branch (s_walk_t *walk, const publish_group_t *group, const void *key,
                  size_t key_size)
{
    if (group->is_hall)
        return 0;
    //  The branch's row is complete only after its halls: roll them up now
    memset (walk->tally, 0, sizeof (walk->tally));
    walk->silent = walk->worst = 0;
    *walk->worst_group = 0;
    s_walk_t sub = *walk;
    sub.visit = s_rollup_group;
    if (s_rollup_group (&sub, group, key, key_size)
    ||  tree_hall_visit (walk->ctx->txn, group->branch.id, s_visit_hall, &sub, walk->ctx->err))
        return -1;
    msgpack_packer *pk = page_item (&walk->page, key, key_size);
    if (!pk)
        return 1;
    msgpack_pack_map (pk, 7);
    record_kv_str (pk, "branch", group->branch.id);
    record_kv_str (pk, "name", group->branch.name);
    proto_pack_key (pk, "node");
    proto_pack_str_or_nil (pk, group->branch.node);
    record_kv_uint (pk, "halls", group->branch.halls);
    proto_pack_key (pk, "quotas");
    msgpack_pack_map (pk, s_quotas (walk, false) + s_quotas (walk, true));
    for (int q = 0; q < CADENCE_QUOTAS; q++) {
        if (!s_quota_wanted (walk, (cadence_quota_t) q, q == CADENCE_GATHERING))
            continue;
        proto_pack_key (pk, cadence_quota_name ((cadence_quota_t) q));
        msgpack_pack_map (pk, 4);
        record_kv_uint (pk, "met", sub.tally [q][CADENCE_MET]);
        record_kv_uint (pk, "missed", sub.tally [q][CADENCE_MISSED]);
        record_kv_uint (pk, "awaiting", sub.tally [q][CADENCE_AWAITING]);
        record_kv_uint (pk, "uncounted", sub.tally [q][CADENCE_NONE]);
    }
    record_kv_uint (pk, "silent", sub.silent);
    proto_pack_key (pk, "worst");
    if (sub.worst) {
        msgpack_pack_map (pk, 3);
        record_kv_str (pk, "group", sub.worst_group);
        record_kv_str (pk, "quota", cadence_quota_name (sub.worst_quota));
        record_kv_uint (pk, "missing", sub.worst);
    }
    else
        msgpack_pack_nil (pk);
    return 0;
}

static int
s_period_arg (op_ctx_t *ctx, const msgpack_object *args, int *period)
{
    char name [16] = "";
    *period = -1;
    if (proto_arg_str (args, "period", false, name, sizeof (name) - 1, ctx->err) < 0)
        return -1;
    dt_period_t parsed;
    if (*name && dt_period_parse (name, &parsed))
        return dt_err_set (ctx->err, "BAD_ARGS", "period \"%s\" is not day, week or month",
                           name);
    if (*name)
        *period = (int) parsed;
    return 0;
}

/* REPORT COMPLIANCE [branch] [period] [at] [detail] [limit] [cursor]
   Without branch or detail: one row per branch, its groups rolled up. */
static int
s_report_compliance (op_ctx_t *ctx, const msgpack_object *args)
{
    s_walk_t *walk = (s_walk_t *) zmalloc (sizeof (s_walk_t));
    bool detail = false;
    int rc = s_period_arg (ctx, args, &walk->period)
          || proto_arg_bool (args, "detail", false, &detail, ctx->err) < 0? -1: 0;
    if (rc == 0) {
        bool summary = !detail && !proto_map_get (args, "branch");
        walk->halls = !summary;
        walk->visit = summary? s_summary_branch: s_compliance_group;
        rc = s_walk (ctx, args, walk);
        if (rc == 0)
            page_close (&walk->page, ctx->pk);
    }
    free (walk);
    return rc;
}

static int
s_streak_quota (s_walk_t *walk, const cadence_group_t *group, cadence_quota_t quota,
                msgpack_packer *pk)
{
    cadence_streak_t streak;
    if (cadence_streak (walk->ctx->txn, &walk->policy, group, quota, walk->at, &streak,
                        walk->ctx->err))
        return -1;
    msgpack_pack_map (pk, 7);
    record_kv_str (pk, "quota", cadence_quota_name (quota));
    record_kv_uint (pk, "current", streak.current);
    record_kv_uint (pk, "longest", streak.longest);
    record_kv_uint (pk, "missing", streak.missing);
    record_kv_uint (pk, "met", streak.met);
    record_kv_uint (pk, "missed", streak.missed);
    record_kv_int (pk, "through", streak.through);
    return 0;
}

static int
s_streak_group (s_walk_t *walk, const publish_group_t *group, const void *key,
                size_t key_size)
{
    return s_quota_rows (walk, group, key, key_size, s_streak_quota);
}

/* REPORT STREAKS [branch] [period] [at] [limit] [cursor] */
static int
s_report_streaks (op_ctx_t *ctx, const msgpack_object *args)
{
    s_walk_t *walk = (s_walk_t *) zmalloc (sizeof (s_walk_t));
    int rc = s_period_arg (ctx, args, &walk->period);
    if (rc == 0) {
        walk->halls = true;
        walk->visit = s_streak_group;
        rc = s_walk (ctx, args, walk);
        if (rc == 0)
            page_close (&walk->page, ctx->pk);
    }
    free (walk);
    return rc;
}

//  report.health

static int
s_health_group (s_walk_t *walk, const publish_group_t *group, const void *key,
                size_t key_size)
{
    health_t health;
    if (health_group (walk->ctx->txn, &walk->policy, group, walk->at, &health, walk->ctx->err))
        return -1;
    if (walk->flag && health.state == HEALTH_ACTIVE && !*health.problem)
        return 0;
    msgpack_packer *pk = page_item (&walk->page, key, key_size);
    if (!pk)
        return 1;
    s_pack_group (pk, group, 15);
    record_kv_uint (pk, "seats", health.seats);
    record_kv_uint (pk, "cap", health.cap);
    record_kv_uint (pk, "fill_pct", health.fill_pct);
    record_kv_int (pk, "last", health.last);
    record_kv_uint (pk, "idle_days", health.idle_days);
    record_kv_uint (pk, "active", health.active);
    record_kv_uint (pk, "active_pct", health.active_pct);
    record_kv_str (pk, "state", health_state_name (health.state));
    proto_pack_key (pk, "why");
    proto_pack_str_or_nil (pk, health.why);
    record_kv_str (pk, "action", health_action_name (health.action));
    proto_pack_key (pk, "into");
    proto_pack_str_or_nil (pk, health.into);
    proto_pack_key (pk, "advice");
    proto_pack_str_or_nil (pk, health.advice);
    proto_pack_key (pk, "problem");
    proto_pack_str_or_nil (pk, health.problem);
    record_kv_str (pk, "leader", group->is_hall? group->hall.leader: group->branch.leader);
    proto_pack_key (pk, "officer");
    msgpack_pack_nil (pk);
    return 0;
}

/* Officers who lead no branch: after every group ("\xff" officer id). */
static int
s_officer_entry (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) key; (void) key_size;
    s_walk_t *walk = arg;
    officer_t officer;
    if (record_officer_decode (&officer, val, val_size))
        return 0;
    if (tree_officer_branches (walk->ctx->txn, officer.id) > 0)
        return 0;
    uint8_t position [PAGE_KEY_MAX];
    size_t len = strlen (officer.id);
    position [0] = 0xff;
    memcpy (position + 1, officer.id, len);
    if (s_seen (walk, position, len + 1))
        return 0;
    msgpack_packer *pk = page_item (&walk->page, position, len + 1);
    if (!pk)
        return 1;
    msgpack_pack_map (pk, 6);
    proto_pack_key (pk, "group");
    msgpack_pack_nil (pk);
    record_kv_str (pk, "name", officer.name);
    proto_pack_key (pk, "branch");
    msgpack_pack_nil (pk);
    record_kv_str (pk, "type", "officer");
    record_kv_str (pk, "officer", officer.id);
    char problem [DT_ID_MAX + 40];
    snprintf (problem, sizeof (problem), "officer %s leads no branch", officer.id);
    record_kv_str (pk, "problem", problem);
    return 0;
}

/* REPORT HEALTH [branch] [at] [dying] [limit] [cursor] */
static int
s_report_health (op_ctx_t *ctx, const msgpack_object *args)
{
    s_walk_t *walk = (s_walk_t *) zmalloc (sizeof (s_walk_t));
    walk->period = -1;
    int rc = proto_arg_bool (args, "dying", false, &walk->flag, ctx->err) < 0? -1: 0;
    if (rc == 0) {
        walk->halls = true;
        walk->visit = s_health_group;
        rc = s_walk (ctx, args, walk);
        //  The whole organisation, at the hub: then the officers out of rule
        //  (officers are hq's to read: other keys get the groups only)
        if (rc == 0 && !proto_map_get (args, "branch") && !ctx->node && !walk->page.more
        &&  ctx->key->role == KEY_HQ_ADMIN && !ctx->via)
            rc = store_scan (ctx->txn, TBL_OFFICER, NULL, 0, NULL, 0, s_officer_entry, walk,
                             ctx->err) < 0? -1: 0;
        if (rc == 0)
            page_close (&walk->page, ctx->pk);
        else
        if (walk->page.items.data)
            page_release (&walk->page);
    }
    free (walk);
    return rc;
}

//  report.questions

typedef struct {
    op_ctx_t *ctx;
    page_t page;
    int64_t at;
    const char *branch;
    const char *leader;
} s_overdue_t;

static int
s_overdue_entry (const void *key, size_t key_size, const void *data, size_t size, void *arg)
{
    s_overdue_t *self = arg;
    item_t item;
    if (item_decode (&item, data, size))
        return 0;
    item_release (&item);
    if (item.deadline >= self->at)
        return 1;                   //  deadline order: none later is overdue
    if (!op_covers (self->ctx, item.branch)
    ||  (self->branch && !streq (item.branch, self->branch)))
        return 0;
    //  Routed now: the asker's hall leader, or the branch's leader
    char leader [DT_ID_MAX + 1] = "";
    member_t member;
    publish_group_t group;
    dt_err_t err;
    dt_err_init (&err);
    if (tree_member_get (self->ctx->txn, item.author, &member, &err) == 0)
        publish_route (self->ctx->txn, &member, leader, &group, &err);
    dt_err_reset (&err);
    if (self->leader && !streq (leader, self->leader))
        return 0;
    msgpack_packer *pk = page_item (&self->page, key, key_size);
    if (!pk)
        return 1;
    msgpack_pack_map (pk, 9);
    record_kv_str (pk, "id", item.id);
    record_kv_str (pk, "member", item.author);
    record_kv_str (pk, "group", item.group);
    record_kv_str (pk, "branch", item.branch);
    proto_pack_key (pk, "leader");
    proto_pack_str_or_nil (pk, leader);
    record_kv_int (pk, "asked", item.at);
    record_kv_int (pk, "deadline", item.deadline);
    record_kv_int (pk, "age", self->at - item.at);
    record_kv_str (pk, "text", item.text);
    return 0;
}

/* REPORT QUESTIONS [branch] [leader] [at] [limit] [cursor]
   Open questions past their deadline at `at`, in deadline order. */
static int
s_report_questions (op_ctx_t *ctx, const msgpack_object *args)
{
    s_overdue_t self = { .ctx = ctx, .at = ctx->now };
    dt_id_t branch = "", leader = "";
    branch_t record;
    if (page_open (&self.page, args, ctx->err)
    ||  proto_arg_int (args, "at", false, &self.at, ctx->err) < 0
    ||  proto_arg_id (args, "branch", false, branch, ctx->err) < 0
    ||  proto_arg_id (args, "leader", false, leader, ctx->err) < 0
    ||  (*branch && (tree_branch_need (ctx->txn, branch, &record, ctx->err)
                     || op_allow (ctx, branch)))) {
        page_release (&self.page);
        return -1;
    }
    self.branch = *branch? branch: NULL;
    self.leader = *leader? leader: NULL;
    size_t after_size;
    const void *after = page_after (&self.page, &after_size);
    if (item_open_questions (ctx->txn, after, after_size, s_overdue_entry, &self, ctx->err)) {
        page_release (&self.page);
        return -1;
    }
    page_close (&self.page, ctx->pk);
    return 0;
}

const op_t report_ops [] = {
    { "report.compliance", s_report_compliance },
    { "report.health",     s_report_health },
    { "report.questions",  s_report_questions },
    { "report.streaks",    s_report_streaks },
    { NULL, NULL }
};

//  Self-test

static int64_t
s_at (const char *text)
{
    int64_t at;
    assert (dt_time_parse ("Asia/Shanghai", text, &at) == 0);
    return at;
}

/* Run a report and return its items (valid until the next call). */
static const msgpack_object *
s_report (store_t *store, const dt_key_t *key, const char *name, const char *args,
          const char **next)
{
    static msgpack_sbuffer result;
    static msgpack_unpacked unpacked;
    static bool ready = false;
    if (ready) {
        msgpack_sbuffer_destroy (&result);
        msgpack_unpacked_destroy (&unpacked);
    }
    ready = name != NULL;
    if (!name)
        return NULL;
    msgpack_sbuffer_init (&result);
    msgpack_unpacked_init (&unpacked);
    dt_err_t err;
    dt_err_init (&err);
    int rc = op_run (store, report_ops, key, name, args, &result, &err);
    if (rc)
        fprintf (stderr, "%s %s: %s\n", name, args, err.message);
    assert (rc == 0);
    size_t offset = 0;
    assert (msgpack_unpack_next (&unpacked, result.data, result.size, &offset)
            == MSGPACK_UNPACK_SUCCESS);
    static char cursor [PAGE_KEY_MAX * 2 + 1];
    const msgpack_object *more = proto_map_get (&unpacked.data, "next");
    *cursor = 0;
    if (more && more->type == MSGPACK_OBJECT_STR)
        proto_obj_str (more, cursor, sizeof (cursor) - 1);
    if (next)
        *next = *cursor? cursor: NULL;
    return proto_map_get (&unpacked.data, "items");
}

static const char *
s_str (const msgpack_object *map, const char *key)
{
    static char text [4][256];
    static int turn = 0;
    turn = (turn + 1) % 4;
    const msgpack_object *value = proto_map_get (map, key);
    if (!value || !proto_obj_str (value, text [turn], 255))
        return "";
    return text [turn];
}

static uint64_t
s_uint (const msgpack_object *map, const char *key)
{
    const msgpack_object *value = proto_map_get (map, key);
    return value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER? value->via.u64: 0;
}

void
report_test (bool verbose)
{
    (void) verbose;
    store_t *store = scratch_new ("report", 64);
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    policy_t policy;
    policy_defaults (&policy);
    snprintf (policy.timezone, sizeof (policy.timezone), "Asia/Shanghai");
    policy.version = 3;
    assert (policy_put (&txn, &policy, &err) == 0);
    officer_t idle = { .id = "o-idle", .name = "闲官" };
    officer_t lead = { .id = "o-1", .name = "张三" };
    assert (tree_officer_put (&txn, &idle, &err) == 0 && tree_officer_put (&txn, &lead, &err) == 0);
    const char *branches [] = { "b-1", "b-2" };
    for (int b = 0; b < 2; b++) {
        branch_t branch = { .leader = "o-1", .created = s_at ("2026-11-01") };
        snprintf (branch.id, sizeof (branch.id), "%s", branches [b]);
        snprintf (branch.name, sizeof (branch.name), "分舵%d", b + 1);
        assert (tree_branch_put (&txn, &branch, &err) == 0);
        member_t leader = { .seat = SEAT_CORE };
        snprintf (leader.id, sizeof (leader.id), "m-lead-%d", b + 1);
        snprintf (leader.group, sizeof (leader.group), "%s", branches [b]);
        snprintf (leader.branch, sizeof (leader.branch), "%s", branches [b]);
        assert (tree_member_put (&txn, &leader, &err) == 0);
        hall_t hall = { .created = s_at ("2026-10-01") };
        snprintf (hall.id, sizeof (hall.id), "h-%d", b + 1);
        snprintf (hall.name, sizeof (hall.name), "青羊堂口%d", b + 1);
        snprintf (hall.branch, sizeof (hall.branch), "%s", branches [b]);
        snprintf (hall.leader, sizeof (hall.leader), "%s", leader.id);
        assert (tree_hall_put (&txn, &hall, &err) == 0);
        member_t member = { .seat = SEAT_HALL };
        snprintf (member.id, sizeof (member.id), "m-%d", b + 1);
        snprintf (member.group, sizeof (member.group), "%s", hall.id);
        snprintf (member.branch, sizeof (member.branch), "%s", branches [b]);
        assert (tree_member_put (&txn, &member, &err) == 0);
    }
    //  b-1 posts its article on 12-01 and 12-02, b-2 only on 12-02;
    //  h-1 held its November gathering
    int seq = 0;
    const char *posts [][2] = { { "b-1", "2026-12-01 09:00" }, { "b-1", "2026-12-02 09:00" },
                                { "b-2", "2026-12-02 10:00" } };
    for (int i = 0; i < 3; i++) {
        item_t post = { .type = ITEM_POST, .kind = KIND_ARTICLE, .ntopics = 1,
                        .at = s_at (posts [i][1]), .accepted = s_at (posts [i][1]) };
        snprintf (post.id, sizeof (post.id), "p-%d", ++seq);
        snprintf (post.group, sizeof (post.group), "%s", posts [i][0]);
        snprintf (post.branch, sizeof (post.branch), "%s", posts [i][0]);
        snprintf (post.topics [0], sizeof (post.topics [0]), "酱酒");
        assert (item_put (&txn, &post, &err) == 0);
    }
    item_t event = { .type = ITEM_EVENT, .kind = KIND_TASTING, .status = STATUS_HELD,
                     .at = s_at ("2026-11-20 19:00"), .accepted = s_at ("2026-11-20 22:00") };
    snprintf (event.id, sizeof (event.id), "e-1");
    snprintf (event.group, sizeof (event.group), "h-1");
    snprintf (event.branch, sizeof (event.branch), "b-1");
    dt_id_t people [3] = { "m-1", "m-lead-1", "m-x" };
    item_set_attendees (&event, people, 3);
    assert (item_put (&txn, &event, &err) == 0);
    item_release (&event);
    //  m-2 asked 30 hours before; its deadline (24 h) is past
    item_t question = { .type = ITEM_QUESTION, .kind = KIND_QUESTION, .status = STATUS_OPEN,
                        .at = s_at ("2026-12-02 04:00"), .deadline = s_at ("2026-12-03 04:00") };
    snprintf (question.id, sizeof (question.id), "q-1");
    snprintf (question.group, sizeof (question.group), "h-2");
    snprintf (question.branch, sizeof (question.branch), "b-2");
    snprintf (question.author, sizeof (question.author), "m-2");
    snprintf (question.text, sizeof (question.text), "酒什么时候到?");
    assert (item_put (&txn, &question, &err) == 0);
    assert (store_commit (&txn, &err) == 0);

    //  The summary at 12-03 10:00: the last closed day is 12-02, both met;
    //  November's gathering met by h-1, missed by h-2
    char args [200];
    int64_t at = s_at ("2026-12-03 10:00");
    snprintf (args, sizeof (args), "at:=%" PRId64, at);
    const msgpack_object *items = s_report (store, NULL, "report.compliance", args, NULL);
    assert (items->via.array.size == 2);
    const msgpack_object *b1 = &items->via.array.ptr [0];
    const msgpack_object *quotas = proto_map_get (b1, "quotas");
    assert (streq (s_str (b1, "branch"), "b-1") && s_uint (b1, "halls") == 1);
    assert (s_uint (proto_map_get (quotas, "articles"), "met") == 1);
    assert (s_uint (proto_map_get (quotas, "gatherings"), "met") == 1);
    quotas = proto_map_get (&items->via.array.ptr [1], "quotas");
    assert (s_uint (proto_map_get (quotas, "gatherings"), "missed") == 1);
    //  At 12-02 10:00 the last closed day is 12-01: b-2 missed it
    snprintf (args, sizeof (args), "at:=%" PRId64 " period=day", s_at ("2026-12-02 10:00"));
    items = s_report (store, NULL, "report.compliance", args, NULL);
    quotas = proto_map_get (&items->via.array.ptr [1], "quotas");
    assert (s_uint (proto_map_get (quotas, "articles"), "missed") == 1);
    assert (!proto_map_get (quotas, "gatherings"));

    //  The detail of b-1, paged one group at a time
    const char *next;
    snprintf (args, sizeof (args), "branch=b-1 at:=%" PRId64 " limit:=1", at);
    items = s_report (store, NULL, "report.compliance", args, &next);
    assert (items->via.array.size == 1 && next);
    const msgpack_object *row = &items->via.array.ptr [0];
    assert (streq (s_str (row, "group"), "b-1"));
    quotas = proto_map_get (row, "quotas");
    assert (quotas->via.array.size == 3);
    const msgpack_object *articles = &quotas->via.array.ptr [0];
    assert (streq (s_str (articles, "period"), "2026-12-02")
            && streq (s_str (articles, "status"), "met") && s_uint (articles, "version") == 3);
    assert (s_uint (articles, "current") == 2 && s_uint (articles, "longest") == 2);
    assert (streq (s_str (articles, "open"), "2026-12-03") && s_uint (articles, "need") == 1);
    snprintf (args, sizeof (args), "branch=b-1 at:=%" PRId64 " limit:=1 cursor=%s", at, next);
    items = s_report (store, NULL, "report.compliance", args, &next);
    assert (items->via.array.size == 1 && !next);
    assert (streq (s_str (&items->via.array.ptr [0], "group"), "h-1"));
    //  The full detail pages through every group, each once
    snprintf (args, sizeof (args), "detail:=true at:=%" PRId64 " limit:=3", at);
    items = s_report (store, NULL, "report.compliance", args, &next);
    assert (items->via.array.size == 3 && next);
    assert (streq (s_str (&items->via.array.ptr [2], "group"), "b-2"));
    snprintf (args, sizeof (args), "detail:=true at:=%" PRId64 " limit:=3 cursor=%s", at, next);
    items = s_report (store, NULL, "report.compliance", args, &next);
    assert (items->via.array.size == 1 && !next);
    assert (streq (s_str (&items->via.array.ptr [0], "group"), "h-2"));

    //  A leader key sees its branch only
    dt_key_t leader = { .name = "zhang", .role = KEY_LEADER, .nbranches = 1 };
    snprintf (leader.branches [0], sizeof (leader.branches [0]), "b-2");
    snprintf (args, sizeof (args), "at:=%" PRId64, at);
    items = s_report (store, &leader, "report.compliance", args, NULL);
    assert (items->via.array.size == 1 && streq (s_str (&items->via.array.ptr [0], "branch"), "b-2"));
    op_refused (store, report_ops, &leader, "report.compliance", "branch=b-1", "DENIED", "b-2");
    op_refused (store, report_ops, NULL, "report.compliance", "period=year", "BAD_ARGS", "year");
    op_refused (store, report_ops, NULL, "report.health", "branch=b-9", "NOT_FOUND", "b-9");

    //  Streaks: b-2's articles met once after missing every day since 11-01
    snprintf (args, sizeof (args), "branch=b-2 period=day at:=%" PRId64, at);
    items = s_report (store, NULL, "report.streaks", args, NULL);
    assert (items->via.array.size == 1);
    quotas = proto_map_get (&items->via.array.ptr [0], "quotas");
    assert (s_uint (&quotas->via.array.ptr [0], "current") == 1
            && s_uint (&quotas->via.array.ptr [0], "missing") == 0
            && s_uint (&quotas->via.array.ptr [0], "missed") == 31);

    //  Questions overdue at `at`, by leader, with their age; none before the deadline
    snprintf (args, sizeof (args), "at:=%" PRId64, at);
    items = s_report (store, NULL, "report.questions", args, NULL);
    assert (items->via.array.size == 1);
    row = &items->via.array.ptr [0];
    assert (streq (s_str (row, "leader"), "m-lead-2") && s_uint (row, "age") == 30 * 3600000ULL);
    snprintf (args, sizeof (args), "at:=%" PRId64, s_at ("2026-12-03 03:59"));
    assert (s_report (store, NULL, "report.questions", args, NULL)->via.array.size == 0);
    snprintf (args, sizeof (args), "leader=m-lead-1 at:=%" PRId64, at);
    assert (s_report (store, NULL, "report.questions", args, NULL)->via.array.size == 0);

    //  Health, dying only, a month on: every group idle; the officer who
    //  leads no branch comes last
    snprintf (args, sizeof (args), "dying:=true at:=%" PRId64, s_at ("2027-01-20"));
    items = s_report (store, NULL, "report.health", args, NULL);
    assert (items->via.array.size == 5);
    row = &items->via.array.ptr [1];
    assert (streq (s_str (row, "group"), "h-1") && streq (s_str (row, "state"), "dead"));
    assert (streq (s_str (row, "action"), "dissolve"));
    row = &items->via.array.ptr [4];
    assert (streq (s_str (row, "type"), "officer") && streq (s_str (row, "officer"), "o-idle"));
    snprintf (args, sizeof (args), "dying:=true at:=%" PRId64 " limit:=4", s_at ("2027-01-20"));
    items = s_report (store, NULL, "report.health", args, &next);
    assert (items->via.array.size == 4 && next);
    snprintf (args, sizeof (args), "dying:=true at:=%" PRId64 " limit:=4 cursor=%s",
              s_at ("2027-01-20"), next);
    items = s_report (store, NULL, "report.health", args, &next);
    assert (items->via.array.size == 1 && !next);
    assert (streq (s_str (&items->via.array.ptr [0], "officer"), "o-idle"));
    //  ... at 12-03 the branches posted; h-1 met 13 days ago (dormant: warn),
    //  h-2 never did anything since 10-01 (dead: merge into h-1? another
    //  branch's hall is no sibling: dissolve)
    snprintf (args, sizeof (args), "dying:=true at:=%" PRId64, at);
    items = s_report (store, NULL, "report.health", args, NULL);
    assert (items->via.array.size == 3);
    row = &items->via.array.ptr [0];
    assert (streq (s_str (row, "group"), "h-1") && streq (s_str (row, "state"), "dormant"));
    assert (streq (s_str (row, "action"), "warn") && s_uint (row, "idle_days") == 12);
    row = &items->via.array.ptr [1];
    assert (streq (s_str (row, "group"), "h-2") && streq (s_str (row, "state"), "dead"));
    assert (strstr (s_str (row, "why"), "no tracked activity for 63 days (dead after 30)"));

    s_report (NULL, NULL, NULL, NULL, NULL);
    scratch_destroy (&store);
}
