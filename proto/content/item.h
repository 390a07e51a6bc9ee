/* item.h -- tracked content items (posts, events, questions) and activity
   counts: their records, their indexes and the counts the rules judge by.
   Every item is one msgpack map in TBL_ITEM; that map is also its public
   shape (PROTOCOL.md 6.12). */
#ifndef ITEM_H_INCLUDED
#define ITEM_H_INCLUDED

#include "tree.h"
#include "repl.h"

#define ITEM_TOPICS_MAX     8
#define ITEM_TOPIC_MAX      64      /* bytes, as a policy topic */
#define ITEM_TEXT_MAX       2000    /* bytes of text, a question or an answer */
#define ITEM_LINK_MAX       512
#define ITEM_PHOTOS_MAX     30      /* photos in a story's album */
#define ITEM_PHOTO_MAX      200     /* bytes of one photo reference */
#define ITEM_ATTENDEES_MAX  1000

typedef enum { ITEM_POST = 0, ITEM_EVENT, ITEM_QUESTION } item_type_t;
typedef enum {
    KIND_ARTICLE = 0, KIND_STORY, KIND_VIDEO, KIND_PROMO, KIND_NOTICE,     /* posts */
    KIND_TASTING, KIND_SPORTS, KIND_OTHER,                                 /* events */
    KIND_QUESTION,
    KIND_COUNT
} item_kind_t;
typedef enum {
    STATUS_NONE = 0,                /* posts */
    STATUS_SCHEDULED, STATUS_HELD, STATUS_CANCELLED,                       /* events */
    STATUS_OPEN, STATUS_ANSWERED                                           /* questions */
} item_status_t;

typedef struct {
    dt_id_t id;
    item_type_t type;
    item_kind_t kind;
    dt_id_t group;                  /* a branch or a hall */
    dt_id_t branch;                 /* the group's branch */
    dt_id_t author;                 /* member or officer who published, asked, scheduled */
    int64_t at;                     /* published / takes place / asked (UTC ms) */
    int64_t accepted;               /* when the authority accepted it */
    dt_id_t by;                     /* the key that sent it */
    dt_name_t title;                /* posts, events */
    char topics [ITEM_TOPICS_MAX][ITEM_TOPIC_MAX + 1];
    uint32_t ntopics;
    char text [ITEM_TEXT_MAX + 1];  /* post text, question */
    char link [ITEM_LINK_MAX + 1];
    char photos [ITEM_PHOTOS_MAX][ITEM_PHOTO_MAX + 1];
    uint32_t nphotos;
    uint32_t seconds;               /* video length */
    dt_name_t place;                /* events */
    item_status_t status;
    dt_id_t *attendees;             /* events held: owned, item_release frees */
    uint32_t nattendees;
    int64_t closed_at;              /* held / cancelled / answered */
    dt_id_t closed_by;              /* member or officer who answered */
    char answer [ITEM_TEXT_MAX + 1];
    int64_t deadline;               /* questions */
} item_t;

typedef struct {
    dt_id_t member;
    char day [11];                  /* "2026-12-01" in the policy's zone */
    uint32_t count;                 /* messages that day */
    dt_id_t group;                  /* where the member sat when it was reported */
    dt_id_t branch;
} activity_t;

const char *item_type_name (item_type_t type);
const char *item_kind_name (item_kind_t kind);
const char *item_status_name (item_status_t status);
/* The kind by name, for a type: 0, or -1 when it is not a kind of that type. */
int item_kind_parse (item_type_t type, const char *name, item_kind_t *kind);
item_type_t item_kind_type (item_kind_t kind);

/* Encode (appends the map to out) and decode stored bytes (0, or -1 when
   corrupt). A decoded item may own attendees: item_release it always. */
void item_encode (const item_t *self, msgpack_sbuffer *out);
int item_decode (item_t *self, const void *data, size_t size);
void item_release (item_t *self);
/* Copy attendees into the item (replacing any). */
void item_set_attendees (item_t *self, const dt_id_t *ids, uint32_t count);

/* Store: 0 found, 1 not found, -1 error; put keeps the indexes. */
int item_get (store_txn_t *txn, const char *id, item_t *out, dt_err_t *err);
int item_put (store_txn_t *txn, const item_t *self, dt_err_t *err);
/* The same, from a record's stored bytes (content arriving from a node). */
int item_put_raw (store_txn_t *txn, const char *id, const void *data, size_t size,
                  dt_err_t *err);

/* A copy of an item from the hub (a node taking its branch over): stored
   when this server does not hold the item or holds an earlier state of it
   (still scheduled or open where the copy is closed), else left alone, so
   that a node's own newer record is never replaced. MALFORMED for bytes
   that are not an item. */
int item_merge_raw (store_txn_t *txn, const char *id, const void *data, size_t size,
                    dt_err_t *err);
/* Every item of a branch (its core's timeline, then each hall's) as stored
   records, from place on: a snapshot's records function (repl.h). */
int item_branch_records (store_txn_t *txn, const char *branch, repl_place_t *place,
                         tree_record_fn *visit, void *arg, dt_err_t *err);

/* Counts over a group's timeline, items with from <= at < until. */
typedef struct {
    uint32_t kinds [KIND_COUNT];    /* items of each kind (events: held only) */
    uint32_t posts;                 /* posts of every kind */
    uint32_t articles_on_topic;     /* articles carrying a topic of `topics` */
    uint32_t stories_with_album;
    uint32_t short_videos;          /* at most `short_max` seconds */
    uint32_t gatherings;            /* held with at least `attendees_min` */
} item_tally_t;
typedef struct {
    char (*topics)[ITEM_TOPIC_MAX + 1];     /* the policy's article topics */
    uint32_t ntopics;
    uint32_t short_max;
    uint32_t attendees_min;
} item_tally_rules_t;
int item_tally (store_txn_t *txn, const char *group, int64_t from, int64_t until,
                const item_tally_rules_t *rules, item_tally_t *out, dt_err_t *err);

/* What an item counts toward under rules (the quotas of SPEC "Policy"), one
   of these bits or 0: the same test item_tally counts by. */
enum {
    ITEM_COUNTS_ARTICLE   = 1 << 0,     /* an article on topic */
    ITEM_COUNTS_STORY     = 1 << 1,     /* a story with an album */
    ITEM_COUNTS_VIDEO     = 1 << 2,     /* a short video */
    ITEM_COUNTS_GATHERING = 1 << 3      /* held with enough attendees */
};
uint32_t item_counts (const item_t *item, const item_tally_rules_t *rules);

/* The one hook on every item write: item_put_raw calls it after storing
   fresh (old: the record it replaced, or NULL), in the same transaction, at
   hub and node alike. The report layer (proto/report/cadence.c) registers
   it when the program starts, to keep per-period counters; NULL = none.
   A failing hook fails the write. */
typedef int (item_hook_fn) (store_txn_t *txn, const item_t *old, const item_t *fresh,
                            dt_err_t *err);
void item_hook_set (item_hook_fn *hook);

/* Visit a group's items in time order from `from` (inclusive, at >= from),
   starting after index key `after` when not NULL. The callback gets the
   item's index key (for paging) and stored bytes; returns 0 go on, 1 stop. */
typedef int (item_visit_fn) (const void *index_key, size_t index_key_size,
                             const void *data, size_t size, void *arg);
int item_group_visit (store_txn_t *txn, const char *group, int64_t from,
                      const void *after, size_t after_size,
                      item_visit_fn *visit, void *arg, dt_err_t *err);
/* Visit every open question asked by member, oldest first. */
int item_open_questions_of (store_txn_t *txn, const char *member,
                            item_visit_fn *visit, void *arg, dt_err_t *err);
/* Visit every open question in deadline order (from the earliest), after
   index key `after` when not NULL. */
int item_open_questions (store_txn_t *txn, const void *after, size_t after_size,
                         item_visit_fn *visit, void *arg, dt_err_t *err);

/* Activity: one count per member and day (a report replaces the day's count). */
void activity_encode (const activity_t *self, msgpack_sbuffer *out);
int activity_decode (activity_t *self, const void *data, size_t size);
int activity_put (store_txn_t *txn, const activity_t *self, dt_err_t *err);
int activity_put_raw (store_txn_t *txn, const char *key, const void *data, size_t size,
                      dt_err_t *err);
/* The store key of a member's day: "member\0day" (returns its size). */
size_t activity_key (const char *member, const char *day, char *out, size_t size);

void item_test (bool verbose);

#endif
