/* policy.h -- the organisation's policy: default caps, the time zone and the
   content rules of SPEC "Policy". Set at the hub, versioned, replicated to
   every node (table "policy", key "current"); absent = the defaults. */
#ifndef POLICY_H_INCLUDED
#define POLICY_H_INCLUDED

#include "store.h"
#include "record.h"

#define POLICY_KEY         "current"
#define POLICY_TOPICS_MAX  16
#define POLICY_TOPIC_MAX   64       /* bytes of one topic name */
#define POLICY_ZONE_MAX    64       /* bytes of a time zone name (DT_TIME_ZONE_MAX) */
#define POLICY_COUNT_MAX   1000     /* quotas, anti-spam limits, days */

typedef struct {
    uint64_t version;               /* 0 = never set (the defaults) */
    uint32_t branch_cap;            /* for branches without a cap of their own */
    uint32_t hall_cap;              /* for halls without a cap of their own */
    char timezone [POLICY_ZONE_MAX + 1];    /* calendar periods, e.g. "Asia/Shanghai" */
    uint32_t article_per_day;       /* branch quota */
    char article_topics [POLICY_TOPICS_MAX][POLICY_TOPIC_MAX + 1];
    uint32_t narticle_topics;
    uint32_t story_per_week;        /* branch quota (ISO week) */
    uint32_t video_per_week;        /* branch quota (ISO week) */
    uint32_t video_short_max_s;     /* a short video is at most this long */
    uint32_t gathering_per_month;   /* hall quota */
    uint32_t gathering_min_attendees;   /* a gathering counts with this many */
    uint32_t promo_per_day_max;     /* every group, anti-spam */
    uint32_t promo_share_max_pct;   /* of tracked posts, trailing 7 days */
    uint32_t question_deadline_h;   /* a business question is overdue after */
    uint32_t dormant_days;
    uint32_t dead_days;
    uint32_t dead_active_ratio_pct; /* over 7 days */
    uint32_t content_roles;         /* bit (1 << role_t): may publish article, story, video */
    uint32_t promo_roles;           /* bit (1 << role_t): may publish promo, notice, events */
} policy_t;

/* How a field's value is written: for clients that build policy.set from
   text (the CLI). */
typedef enum {
    POLICY_FIELD_NONE = 0,          /* not a field policy.set takes */
    POLICY_FIELD_UINT,
    POLICY_FIELD_STR,
    POLICY_FIELD_LIST               /* array of str */
} policy_field_type_t;

/* The defaults of SPEC "Policy", version 0. */
void policy_defaults (policy_t *self);

/* Stored form: a msgpack map, the same shape as policy_pack. Decoding starts
   from the defaults, ignores unknown keys and checks every known one as
   policy_set does: 0, or -1 if the bytes are not a valid policy. */
void policy_encode (const policy_t *self, msgpack_sbuffer *out);
int policy_decode (policy_t *self, const void *data, size_t size);

/* The public result shape (PROTOCOL.md 6.11). */
void policy_pack (const policy_t *self, msgpack_packer *pk);

/* Apply changes (a map field -> value) to self, every field checked; on any
   bad, unknown or repeated field BAD_ARGS naming it and self is unchanged.
   The version is the caller's to advance. Returns 0 or -1. */
int policy_set (policy_t *self, const msgpack_object *changes, dt_err_t *err);

/* The policy in force: the stored record, else the defaults. On -1 (a damaged
   record, INTERNAL) *out holds the defaults all the same. */
int policy_get (store_txn_t *txn, policy_t *out, dt_err_t *err);
/* Store the policy, logged for every node (STORE_NODES_ALL). */
int policy_put (store_txn_t *txn, const policy_t *self, dt_err_t *err);

/* True if the role is in a role set (content_roles, promo_roles). */
bool policy_role_in (uint32_t roles, role_t role);
policy_field_type_t policy_field_type (const char *name);

void policy_test (bool verbose);

#endif
