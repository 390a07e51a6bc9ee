/* publish.c -- publish-time rules: roles, topics, albums, videos, promo limits,
   attendees, question routing. */
#include "publish.h"
#include "dt_time.h"

#define S_WEEK_MS (7 * 24 * 3600 * 1000LL)

int
publish_group (store_txn_t *txn, const char *id, publish_group_t *out, dt_err_t *err)
{
    memset (out, 0, sizeof (*out));
    int is_hall = tree_hall_get (txn, id, &out->hall, err);
    int is_branch = is_hall < 0? -1: tree_branch_get (txn, id, &out->branch, err);
    if (is_branch < 0)
        return -1;
    if (is_hall == 0 && is_branch == 0)
        return dt_err_set (err, "BAD_ARGS", "group %s names both a hall and a branch", id);
    if (is_hall == 1 && is_branch == 1)
        return dt_err_set (err, "NOT_FOUND", "group %s is neither a hall nor a branch", id);
    if (is_hall == 0) {
        out->is_hall = true;
        out->id = out->hall.id;
        if (tree_branch_get (txn, out->hall.branch, &out->branch, err) != 0)
            return dt_err_is_set (err)? -1:
                   dt_err_set (err, "INTERNAL", "hall %s names branch %s, which is missing",
                               id, out->hall.branch);
    }
    else
        out->id = out->branch.id;
    return 0;
}

/* "hall h-1 (branch b-1)" or "branch b-1". */
static const char *
s_group_text (const publish_group_t *group, char *out, size_t size)
{
    if (group->is_hall)
        snprintf (out, size, "hall %s (branch %s)", group->id, group->branch.id);
    else
        snprintf (out, size, "branch %s", group->id);
    return out;
}

int
publish_authority (const publish_group_t *group, const char *self_node, dt_err_t *err)
{
    char where [DT_ID_MAX * 2 + 20];
    const char *node = group->branch.node;
    if (self_node == NULL && *node == 0)
        return 0;
    if (self_node && streq (node, self_node))
        return 0;
    if (*node)
        return dt_err_set (err, "MOVED", "content of %s is judged by node %s, not by %s%s: "
                           "send it there", s_group_text (group, where, sizeof (where)), node,
                           self_node? "node ": "the hub", self_node? self_node: "");
    return dt_err_set (err, "MOVED", "content of %s is judged by the hub, not by node %s: "
                       "send it there", s_group_text (group, where, sizeof (where)), self_node);
}

int
publish_author_role (store_txn_t *txn, const publish_group_t *group, const char *author,
                     role_t *role, dt_err_t *err)
{
    if (streq (author, group->is_hall? group->hall.leader: group->branch.leader)) {
        *role = ROLE_LEADER;
        return 0;
    }
    member_t member;
    int rc = tree_member_get (txn, author, &member, err);
    if (rc < 0)
        return -1;
    seat_kind_t seat = group->is_hall? SEAT_HALL: SEAT_CORE;
    if (rc == 1 || member.seat != seat || !streq (member.group, group->id))
        return dt_err_set (err, "RULE", "author rule: %s holds no seat in %s %s, so cannot "
                           "publish there", author, group->is_hall? "hall": "branch",
                           group->id);
    *role = member.role;
    return 0;
}

/* "leader, admin" for a role set. */
static const char *
s_roles_text (uint32_t roles, char *out, size_t size)
{
    out [0] = 0;
    size_t used = 0;
    for (int role = ROLE_LEADER; role >= ROLE_MEMBER; role--)
        if (policy_role_in (roles, (role_t) role) && used < size)
            used += snprintf (out + used, size - used, "%s%s", used? ", ": "",
                              record_role_name ((role_t) role));
    if (!*out)
        snprintf (out, size, "nobody");
    return out;
}

static int
s_check_role (const publish_group_t *group, const item_t *item, role_t role,
              uint32_t roles, const char *field, const char *what, dt_err_t *err)
{
    if (policy_role_in (roles, role))
        return 0;
    char allowed [64];
    return dt_err_set (err, "RULE", "role rule: %s holds the role %s in %s; %s may be "
                       "published by %s (policy %s)", item->author, record_role_name (role),
                       group->id, what,
                       s_roles_text (roles, allowed, sizeof (allowed)), field);
}

static int
s_check_topics (const policy_t *policy, const publish_group_t *group, const item_t *post,
                dt_err_t *err)
{
    if (group->is_hall || post->kind != KIND_ARTICLE)
        return 0;
    for (uint32_t i = 0; i < post->ntopics; i++)
        for (uint32_t j = 0; j < policy->narticle_topics; j++)
            if (streq (post->topics [i], policy->article_topics [j]))
                return 0;
    char topics [POLICY_TOPICS_MAX * (POLICY_TOPIC_MAX + 2)] = "";
    size_t used = 0;
    for (uint32_t j = 0; j < policy->narticle_topics; j++)
        used += snprintf (topics + used, sizeof (topics) - used, "%s%s", j? ", ": "",
                          policy->article_topics [j]);
    return dt_err_set (err, "RULE", "topic rule: an article of branch %s carries one of the "
                       "topics %s (policy article_topics); it has %s%s", group->id, topics,
                       post->ntopics? "": "none", post->ntopics? post->topics [0]: "");
}

static int
s_check_kind (const policy_t *policy, const item_t *post, dt_err_t *err)
{
    if (post->kind == KIND_STORY && post->nphotos == 0)
        return dt_err_set (err, "RULE", "album rule: a story carries its photo album of at "
                           "least 1 photo; it has 0");
    if (post->kind == KIND_VIDEO && post->seconds == 0)
        return dt_err_set (err, "RULE", "video rule: a video gives its length in seconds");
    if (post->kind == KIND_VIDEO && post->seconds > policy->video_short_max_s)
        return dt_err_set (err, "RULE", "video rule: a video is at most %u s (policy "
                           "video_short_max_s); this one is %u s", policy->video_short_max_s,
                           post->seconds);
    return 0;
}

/* Promo posts per calendar day, and their share over the trailing 7 days. */
static int
s_check_promo (store_txn_t *txn, const policy_t *policy, const publish_group_t *group,
               const item_t *post, dt_err_t *err)
{
    if (post->kind != KIND_PROMO)
        return 0;
    const char *zone = policy->timezone;
    item_tally_t day;
    if (item_tally (txn, group->id, dt_period_start (zone, DT_PERIOD_DAY, post->at),
                    dt_period_end (zone, DT_PERIOD_DAY, post->at), NULL, &day, err))
        return -1;
    if (day.kinds [KIND_PROMO] >= policy->promo_per_day_max) {
        char label [16];
        dt_period_label (zone, DT_PERIOD_DAY, post->at, label, sizeof (label));
        return dt_err_set (err, "LIMIT", "promo limit: %s already has %u/%u promo posts on "
                           "%s (%s)", group->id, day.kinds [KIND_PROMO],
                           policy->promo_per_day_max, label, zone);
    }
    item_tally_t week;
    if (item_tally (txn, group->id, post->at - S_WEEK_MS + 1, post->at + 1, NULL, &week, err))
        return -1;
    uint32_t promos = week.kinds [KIND_PROMO] + 1, posts = week.posts + 1;
    if ((uint64_t) promos * 100 > (uint64_t) policy->promo_share_max_pct * posts) {
        char until [32];
        dt_time_format (zone, post->at, until, sizeof (until));
        return dt_err_set (err, "LIMIT", "promo share: %s would have %u promo of %u tracked "
                           "posts (%u%%) in the 7 days to %s; at most %u%% (policy "
                           "promo_share_max_pct)", group->id, promos, posts,
                           (unsigned) ((uint64_t) promos * 100 / posts), until,
                           policy->promo_share_max_pct);
    }
    return 0;
}

int
publish_check_post (store_txn_t *txn, const policy_t *policy, const publish_group_t *group,
                    const item_t *post, dt_err_t *err)
{
    role_t role;
    bool promo_like = post->kind == KIND_PROMO || post->kind == KIND_NOTICE;
    char what [32];
    snprintf (what, sizeof (what), "a %s", item_kind_name (post->kind));
    if (publish_author_role (txn, group, post->author, &role, err)
    ||  s_check_role (group, post, role, promo_like? policy->promo_roles: policy->content_roles,
                      promo_like? "promo_roles": "content_roles", what, err)
    ||  s_check_kind (policy, post, err)
    ||  s_check_topics (policy, group, post, err)
    ||  s_check_promo (txn, policy, group, post, err))
        return -1;
    return 0;
}

int
publish_check_event (store_txn_t *txn, const policy_t *policy, const publish_group_t *group,
                     const item_t *event, dt_err_t *err)
{
    role_t role;
    if (publish_author_role (txn, group, event->author, &role, err)
    ||  s_check_role (group, event, role, policy->promo_roles, "promo_roles", "an event", err))
        return -1;
    return 0;
}

int
publish_check_attendees (store_txn_t *txn, const publish_group_t *group,
                         const dt_id_t *ids, uint32_t count, dt_err_t *err)
{
    for (uint32_t i = 0; i < count; i++) {
        for (uint32_t j = 0; j < i; j++)
            if (streq (ids [i], ids [j]))
                return dt_err_set (err, "BAD_ARGS", "attendee %s is listed twice", ids [i]);
        role_t role;
        if (publish_author_role (txn, group, ids [i], &role, err)) {
            dt_err_reset (err);
            return dt_err_set (err, "RULE", "attendee rule: %s is not a member of %s %s",
                               ids [i], group->is_hall? "hall": "branch", group->id);
        }
    }
    return 0;
}

int
publish_route (store_txn_t *txn, const member_t *member, char leader [DT_ID_MAX + 1],
               publish_group_t *group, dt_err_t *err)
{
    if (member->seat == SEAT_NONE)
        return dt_err_set (err, "RULE", "question rule: %s holds no seat, so has no leader "
                           "to ask", member->id);
    if (publish_group (txn, member->group, group, err))
        return -1;
    snprintf (leader, DT_ID_MAX + 1, "%s",
              group->is_hall? group->hall.leader: group->branch.leader);
    return 0;
}

//  Self-test: each rule and its refusal, at explicit instants

#include "op.h"
#include "scratch.h"

static store_t *
s_test_store (void)
{
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = scratch_new ("publish", 64);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    officer_t officer = { .id = "o-1", .name = "o", .created = 1 };
    assert (tree_officer_put (&txn, &officer, &err) == 0);
    branch_t branch = { .id = "b-1", .name = "b", .leader = "o-1", .created = 1 };
    assert (tree_branch_put (&txn, &branch, &err) == 0);
    const char *members [] = { "m-lead", "m-kol", "m-fan" };
    for (int i = 0; i < 3; i++) {
        member_t member = { .created = 1, .seat = i == 2? SEAT_HALL: SEAT_CORE,
                            .role = i == 0? ROLE_LEADER: i == 1? ROLE_KOL: ROLE_MEMBER };
        snprintf (member.id, sizeof (member.id), "%s", members [i]);
        snprintf (member.name, sizeof (member.name), "%s", members [i]);
        snprintf (member.group, sizeof (member.group), "%s", i == 2? "h-1": "b-1");
        snprintf (member.branch, sizeof (member.branch), "b-1");
        if (i == 2) {
            hall_t hall = { .id = "h-1", .name = "h", .branch = "b-1", .leader = "m-lead",
                            .created = 1 };
            assert (tree_hall_put (&txn, &hall, &err) == 0);
        }
        assert (tree_member_put (&txn, &member, &err) == 0);
    }
    assert (store_commit (&txn, &err) == 0);
    return store;
}

static item_t
s_post (const char *id, const char *group, const char *author, item_kind_t kind, int64_t at)
{
    item_t post = { .type = ITEM_POST, .kind = kind, .at = at };
    snprintf (post.id, sizeof (post.id), "%s", id);
    snprintf (post.group, sizeof (post.group), "%s", group);
    snprintf (post.branch, sizeof (post.branch), "b-1");
    snprintf (post.author, sizeof (post.author), "%s", author);
    return post;
}

/* Check a post; on success store it. Returns the error code or NULL. */
static const char *
s_try (store_txn_t *txn, const policy_t *policy, item_t *post, char *message)
{
    static dt_err_t err;
    dt_err_reset (&err);
    dt_err_init (&err);
    publish_group_t group;
    assert (publish_group (txn, post->group, &group, &err) == 0);
    if (publish_check_post (txn, policy, &group, post, &err)) {
        if (message)
            snprintf (message, DT_ERR_MSG_MAX, "%s", err.message);
        return err.code;
    }
    assert (item_put (txn, post, &err) == 0);
    return NULL;
}

void
publish_test (bool verbose)
{
    (void) verbose;
    store_t *store = s_test_store ();
    dt_err_t err;
    dt_err_init (&err);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);
    policy_t policy;
    policy_defaults (&policy);
    char message [DT_ERR_MSG_MAX];
    //  2026-12-01 12:00 +08:00
    const int64_t noon = 1796097600000LL;
    const int64_t hour = 3600000LL;

    //  Authority: a branch with no node is the hub's; one with a node, the node's
    publish_group_t group;
    assert (publish_group (&txn, "h-1", &group, &err) == 0 && group.is_hall);
    assert (publish_authority (&group, NULL, &err) == 0);
    assert (publish_authority (&group, "n-1", &err) == -1 && streq (err.code, "MOVED"));
    dt_err_reset (&err);
    snprintf (group.branch.node, sizeof (group.branch.node), "n-1");
    assert (publish_authority (&group, "n-1", &err) == 0);
    assert (publish_authority (&group, NULL, &err) == -1);
    assert (strstr (err.message, "node n-1"));
    dt_err_reset (&err);
    assert (publish_group (&txn, "nowhere", &group, &err) == -1);
    dt_err_reset (&err);

    //  Roles: a fan may not publish, a kol may write but not promote
    item_t post = s_post ("p-1", "h-1", "m-fan", KIND_ARTICLE, noon);
    assert (streq (s_try (&txn, &policy, &post, message), "RULE"));
    assert (strstr (message, "m-fan holds the role member in h-1"));
    post = s_post ("p-1", "b-1", "m-kol", KIND_PROMO, noon);
    assert (streq (s_try (&txn, &policy, &post, message), "RULE"));
    assert (strstr (message, "leader, admin (policy promo_roles)"));
    post = s_post ("p-1", "b-1", "m-nobody", KIND_ARTICLE, noon);
    assert (streq (s_try (&txn, &policy, &post, NULL), "RULE"));

    //  Topics: a branch article needs one of the policy's; a hall article not
    post = s_post ("p-1", "b-1", "m-kol", KIND_ARTICLE, noon);
    snprintf (post.topics [0], sizeof (post.topics [0]), "美食");
    post.ntopics = 1;
    assert (streq (s_try (&txn, &policy, &post, message), "RULE"));
    assert (strstr (message, "酱酒, 侠义, 互联网") && strstr (message, "美食"));
    snprintf (post.topics [0], sizeof (post.topics [0]), "侠义");
    assert (s_try (&txn, &policy, &post, NULL) == NULL);
    post = s_post ("p-2", "h-1", "m-lead", KIND_ARTICLE, noon);
    assert (s_try (&txn, &policy, &post, NULL) == NULL);

    //  Albums and videos
    post = s_post ("p-3", "b-1", "o-1", KIND_STORY, noon);
    assert (streq (s_try (&txn, &policy, &post, message), "RULE"));
    assert (strstr (message, "album"));
    post.nphotos = 1;
    assert (s_try (&txn, &policy, &post, NULL) == NULL);
    post = s_post ("p-4", "b-1", "o-1", KIND_VIDEO, noon);
    post.seconds = 181;
    assert (streq (s_try (&txn, &policy, &post, message), "RULE"));
    assert (strstr (message, "at most 180 s") && strstr (message, "181 s"));
    post.seconds = 180;
    assert (s_try (&txn, &policy, &post, NULL) == NULL);

    //  Promo share over 7 days: 1 of 4 is 25% (ok); then the day's limit
    post = s_post ("p-5", "b-1", "o-1", KIND_PROMO, noon + hour);
    assert (s_try (&txn, &policy, &post, NULL) == NULL);
    post = s_post ("p-6", "b-1", "o-1", KIND_NOTICE, noon + 2 * hour);
    assert (s_try (&txn, &policy, &post, NULL) == NULL);
    post = s_post ("p-7", "b-1", "o-1", KIND_PROMO, noon + 3 * hour);
    assert (streq (s_try (&txn, &policy, &post, message), "LIMIT"));
    assert (streq (message, "promo limit: b-1 already has 1/1 promo posts on 2026-12-01 "
                            "(Asia/Shanghai)"));
    //  23:59 is still that day; 00:01 is the next, where the share rule speaks:
    //  2 of 6 posts is 33%
    const int64_t midnight = 1796140800000LL;      //  2026-12-02 00:00 +08:00
    post = s_post ("p-7", "b-1", "o-1", KIND_PROMO, midnight - 60000);
    assert (streq (s_try (&txn, &policy, &post, NULL), "LIMIT"));
    post.at = midnight + 60000;
    assert (streq (s_try (&txn, &policy, &post, message), "LIMIT"));
    assert (strstr (message, "promo share: b-1 would have 2 promo of 6 tracked posts (33%)"));
    assert (strstr (message, "2026-12-02 00:01 +08:00"));
    policy.promo_share_max_pct = 40;
    assert (s_try (&txn, &policy, &post, NULL) == NULL);
    //  In New York the same instants are one calendar day
    policy_t ny = policy;
    snprintf (ny.timezone, sizeof (ny.timezone), "America/New_York");
    post = s_post ("p-8", "b-1", "o-1", KIND_PROMO, midnight + 2 * hour);
    assert (streq (s_try (&txn, &ny, &post, message), "LIMIT"));
    assert (strstr (message, "on 2026-12-01 (America/New_York)"));

    //  A daylight-saving switch day in New York is 23 hours long: 00:30 EST and
    //  23:30 EDT are one day, 00:10 EDT the next
    ny.promo_share_max_pct = 100;
    post = s_post ("p-9", "h-1", "m-lead", KIND_PROMO, 1772947800000LL);
    assert (s_try (&txn, &ny, &post, NULL) == NULL);
    post = s_post ("p-10", "h-1", "m-lead", KIND_PROMO, 1773027000000LL);
    assert (streq (s_try (&txn, &ny, &post, message), "LIMIT"));
    assert (strstr (message, "on 2026-03-08 (America/New_York)"));
    post.at = 1773029400000LL;
    assert (s_try (&txn, &ny, &post, NULL) == NULL);

    //  Events: created by leaders and admins; attendees seated in the group
    item_t event = { .type = ITEM_EVENT, .kind = KIND_TASTING, .at = noon };
    snprintf (event.author, sizeof (event.author), "m-kol");
    assert (publish_group (&txn, "b-1", &group, &err) == 0);
    assert (publish_check_event (&txn, &policy, &group, &event, &err) == -1);
    dt_err_reset (&err);
    snprintf (event.author, sizeof (event.author), "m-lead");
    assert (publish_check_event (&txn, &policy, &group, &event, &err) == 0);
    dt_id_t attendees [3] = { "m-lead", "m-kol", "m-fan" };
    assert (publish_check_attendees (&txn, &group, attendees, 2, &err) == 0);
    assert (publish_check_attendees (&txn, &group, attendees, 3, &err) == -1);
    assert (strstr (err.message, "m-fan is not a member of branch b-1"));
    dt_err_reset (&err);
    dt_id_t twice [2] = { "m-kol", "m-kol" };
    assert (publish_check_attendees (&txn, &group, twice, 2, &err) == -1);
    dt_err_reset (&err);

    //  Questions go to the member's own leader
    member_t fan, kol;
    char leader [DT_ID_MAX + 1];
    assert (tree_member_get (&txn, "m-fan", &fan, &err) == 0);
    assert (publish_route (&txn, &fan, leader, &group, &err) == 0 && streq (leader, "m-lead"));
    assert (tree_member_get (&txn, "m-kol", &kol, &err) == 0);
    assert (publish_route (&txn, &kol, leader, &group, &err) == 0 && streq (leader, "o-1"));
    kol.seat = SEAT_NONE;
    assert (publish_route (&txn, &kol, leader, &group, &err) == -1);
    dt_err_reset (&err);

    store_abort (&txn);
    scratch_destroy (&store);
}
