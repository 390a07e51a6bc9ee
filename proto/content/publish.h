/* publish.h -- the publish-time rules of SPEC "Policy", checked in one place
   by whichever server is the authority for a group: who may publish what,
   branch article topics, albums, short videos, the promo limits, attendees,
   and where a member's questions go. Every check takes the instant it
   judges at and the policy the server holds; a refusal names the rule and
   the numbers, and the caller records nothing. */
#ifndef PUBLISH_H_INCLUDED
#define PUBLISH_H_INCLUDED

#include "item.h"
#include "policy.h"

/* A group as content sees it: a branch, or a hall of a branch. */
typedef struct {
    bool is_hall;
    branch_t branch;
    hall_t hall;                    /* when is_hall */
    const char *id;                 /* the group's id (into branch or hall) */
} publish_group_t;

/* Find a group by id: 0, or -1 with NOT_FOUND (or BAD_ARGS when the id names
   both a hall and a branch). */
int publish_group (store_txn_t *txn, const char *id, publish_group_t *out, dt_err_t *err);

/* One authority per group (PROTOCOL.md 6.12): the node a branch is assigned
   to, else the hub. self_node is this server's node id, or NULL at the hub.
   0 when this server is the authority, else -1 with MOVED naming the one
   that is. */
int publish_authority (const publish_group_t *group, const char *self_node, dt_err_t *err);

/* The role the author holds in the group: the branch's leader (an officer)
   and a hall's leader are "leader"; a member seated in the group holds the
   role of their seat. -1 with RULE when the author holds no seat there. */
int publish_author_role (store_txn_t *txn, const publish_group_t *group, const char *author,
                         role_t *role, dt_err_t *err);

/* Every rule for a new post in group, judged at post->at: the author's role
   for the kind, topics for a branch article, a story's album, a video's
   length, the promo limits per day and over the trailing 7 days. */
int publish_check_post (store_txn_t *txn, const policy_t *policy,
                        const publish_group_t *group, const item_t *post, dt_err_t *err);
/* The author may create events in the group. */
int publish_check_event (store_txn_t *txn, const policy_t *policy,
                         const publish_group_t *group, const item_t *event, dt_err_t *err);
/* Every attendee is seated in the group (or leads it), none twice. */
int publish_check_attendees (store_txn_t *txn, const publish_group_t *group,
                             const dt_id_t *ids, uint32_t count, dt_err_t *err);

/* Where a member's questions go, now: the leader of the member's hall, or
   for a core member the branch's leader. Fills leader, and group with the
   member's current group. -1 with RULE when the member holds no seat. */
int publish_route (store_txn_t *txn, const member_t *member, char leader [DT_ID_MAX + 1],
                   publish_group_t *group, dt_err_t *err);

void publish_test (bool verbose);

#endif
