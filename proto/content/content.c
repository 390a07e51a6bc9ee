/* content.c -- the content operations: posts, events, questions, activity,
   historical imports; judged by publish.c, kept by item.c, sent up by
   uplink.c when this server is a node. */
#include "content.h"
#include "publish.h"
#include "uplink.h"
#include "page.h"
#include "dt_time.h"
#include <sodium.h>

#define S_FUTURE_SLACK_MS   60000
#define S_HOUR_MS           3600000LL
#define S_ACTIVITY_MAX      1000000     /* messages of one member in one day */

//  Arguments

/* A text argument: UTF-8 of at most max bytes; line breaks and tabs allowed. */
static int
s_arg_text (const msgpack_object *args, const char *key, bool required, char *out,
            size_t max, dt_err_t *err)
{
    int rc = proto_arg_str (args, key, required, out, max, err);
    if (rc != 1)
        return rc;
    char check [ITEM_TEXT_MAX + 1];
    snprintf (check, sizeof (check), "%s", out);
    for (char *c = check; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t')
            *c = ' ';
    if (*out && !dt_name_valid (check, strlen (check), max))
        return dt_err_set (err, "BAD_ARGS", "argument \"%s\" must be UTF-8 text without "
                           "control characters (line breaks and tabs allowed)", key);
    return 1;
}

/* A list of strings into rows of `stride` bytes (at most max, each 1..len). */
static int
s_arg_strs (const msgpack_object *args, const char *key, char *first, size_t stride,
            uint32_t max, uint32_t *count, dt_err_t *err)
{
    const msgpack_object *list;
    *count = 0;
    int rc = proto_arg_array (args, key, false, &list, err);
    if (rc != 1)
        return rc;
    if (list->via.array.size > max)
        return dt_err_set (err, "TOO_LARGE", "argument \"%s\" lists %u values; at most %u",
                           key, list->via.array.size, max);
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        char *out = first + i * stride;
        const msgpack_object *value = &list->via.array.ptr [i];
        if (value->type != MSGPACK_OBJECT_STR || value->via.str.size == 0)
            return dt_err_set (err, "BAD_ARGS", "argument \"%s\" element %u must be a "
                               "non-empty string", key, i);
        if (!proto_obj_str (value, out, stride - 1))
            return dt_err_set (err, "TOO_LARGE", "argument \"%s\" element %u is longer than "
                               "%zu bytes", key, i, stride - 1);
        if (!dt_name_valid (out, strlen (out), stride - 1))
            return dt_err_set (err, "BAD_ARGS", "argument \"%s\" element %u must be UTF-8 "
                               "without control characters", key, i);
    }
    *count = list->via.array.size;
    return 1;
}

/* An instant: given (>= 0), else now. Not ahead of now unless future_ok. */
static int
s_arg_at (op_ctx_t *ctx, const msgpack_object *args, const char *key, bool required,
          bool future_ok, int64_t *at)
{
    *at = ctx->now;
    int rc = proto_arg_int (args, key, required, at, ctx->err);
    if (rc < 0)
        return -1;
    if (*at < 0)
        return dt_err_set (ctx->err, "BAD_ARGS", "argument \"%s\" must be a time at or after "
                           "1970-01-01 (ms since the epoch)", key);
    if (!future_ok && *at > ctx->now + S_FUTURE_SLACK_MS)
        return dt_err_set (ctx->err, "BAD_ARGS", "argument \"%s\" is %" PRId64 " s in the "
                           "future: content is published now or in the past", key,
                           (*at - ctx->now) / 1000);
    return 0;
}

/* The item id: given and free (EXISTS when taken), else a new random one. */
static int
s_arg_new_id (op_ctx_t *ctx, const msgpack_object *args, const char *prefix, char *id)
{
    int rc = proto_arg_id (args, "id", false, id, ctx->err);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        uint8_t random [10];
        randombytes_buf (random, sizeof (random));
        int len = snprintf (id, DT_ID_MAX + 1, "%s-", prefix);
        for (size_t i = 0; i < sizeof (random); i++)
            len += snprintf (id + len, DT_ID_MAX + 1 - len, "%02x", random [i]);
        return 0;
    }
    const void *val;
    size_t size;
    int found = store_get (ctx->txn, TBL_ITEM, id, strlen (id), &val, &size, ctx->err);
    if (found < 0)
        return -1;
    return found == 0? dt_err_set (ctx->err, "EXISTS", "content item %s already exists", id)
                     : 0;
}

static int
s_arg_kind (op_ctx_t *ctx, const msgpack_object *args, item_type_t type, item_kind_t *kind)
{
    char name [16];
    if (proto_arg_str (args, "kind", true, name, sizeof (name) - 1, ctx->err) < 0)
        return -1;
    if (item_kind_parse (type, name, kind) == 0)
        return 0;
    return dt_err_set (ctx->err, "BAD_ARGS", "argument \"kind\" of a%s %s must be %s", 
                       type == ITEM_EVENT? "n": "", item_type_name (type),
                       type == ITEM_POST? "article, story, video, promo or notice"
                                        : "tasting, sports or other");
}

//  Where and by whom

/* The group, within the key's scope, whose authority this server is. */
static int
s_group_here (op_ctx_t *ctx, const char *id, publish_group_t *group)
{
    if (publish_group (ctx->txn, id, group, ctx->err)) {
        //  A node holds only its own branches: any other group is elsewhere
        if (ctx->node && streq (ctx->err->code, "NOT_FOUND")) {
            dt_err_reset (ctx->err);
            dt_err_set (ctx->err, "MOVED", "group %s is not in a branch node %s judges: "
                        "send it to the hub, or to the node its branch is assigned to "
                        "(the hub's branch.show names it)", id, ctx->node);
        }
        return -1;
    }
    if (op_allow (ctx, group->branch.id)
    ||  publish_authority (group, ctx->node, ctx->err))
        return -1;
    return 0;
}

/* A group the key may read. */
static int
s_group_readable (op_ctx_t *ctx, const char *id, publish_group_t *group)
{
    if (publish_group (ctx->txn, id, group, ctx->err) || op_allow (ctx, group->branch.id))
        return -1;
    return 0;
}

static int
s_policy (op_ctx_t *ctx, policy_t *policy)
{
    return policy_get (ctx->txn, policy, ctx->err);
}

//  Recording and packing

/* Pack an item's stored map; a question gets where it is routed now and
   whether it is overdue. */
static void
s_pack_item (op_ctx_t *ctx, msgpack_packer *pk, const void *data, size_t size)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    if (msgpack_unpack_next (&unpacked, data, size, &offset) != MSGPACK_UNPACK_SUCCESS
    ||  unpacked.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_pack_nil (pk);
        msgpack_unpacked_destroy (&unpacked);
        return;
    }
    const msgpack_object *map = &unpacked.data;
    char type [16] = "";
    proto_obj_str (proto_map_get (map, "type"), type, sizeof (type) - 1);
    if (!streq (type, "question")) {
        msgpack_pack_object (pk, *map);
        msgpack_unpacked_destroy (&unpacked);
        return;
    }
    item_t item;
    char leader [DT_ID_MAX + 1] = "";
    member_t member;
    dt_err_t err;
    dt_err_init (&err);
    if (item_decode (&item, data, size) == 0) {
        publish_group_t group;
        if (tree_member_get (ctx->txn, item.author, &member, &err) == 0
        &&  publish_route (ctx->txn, &member, leader, &group, &err) != 0)
            *leader = 0;
    }
    dt_err_reset (&err);
    msgpack_pack_map (pk, map->via.map.size + 2);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        msgpack_pack_object (pk, map->via.map.ptr [i].key);
        msgpack_pack_object (pk, map->via.map.ptr [i].val);
    }
    proto_pack_key (pk, "leader");
    proto_pack_str_or_nil (pk, leader);
    proto_pack_key (pk, "overdue");
    if (item.status == STATUS_OPEN && item.deadline < ctx->now)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    item_release (&item);
    msgpack_unpacked_destroy (&unpacked);
}

/* Store the item as accepted now by the acting key, queue it for the hub at
   a node, and pack it as the result. */
static int
s_record (op_ctx_t *ctx, item_t *item, const char *op, bool pack)
{
    if (item->accepted == 0)
        item->accepted = ctx->now;
    if (!*item->by)
        snprintf (item->by, sizeof (item->by), "%s", ctx->key->name);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    item_encode (item, &buf);
    int rc = item_put_raw (ctx->txn, item->id, buf.data, buf.size, ctx->err);
    if (rc == 0 && ctx->node)
        rc = uplink_append (ctx->txn, op, ctx->key->name, UPLINK_ITEM, item->id,
                            strlen (item->id), buf.data, buf.size, ctx->err);
    if (rc == 0 && pack)
        s_pack_item (ctx, ctx->pk, buf.data, buf.size);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

/* The item by id, of the type wanted (NOT_FOUND otherwise). */
static int
s_item_need (op_ctx_t *ctx, const char *id, item_type_t type, item_t *item)
{
    int rc = item_get (ctx->txn, id, item, ctx->err);
    if (rc < 0)
        return -1;
    if (rc == 1 || item->type != type) {
        if (rc == 0)
            item_release (item);
        return dt_err_set (ctx->err, "NOT_FOUND", "no %s %s", item_type_name (type), id);
    }
    return 0;
}

//  Posts

/* Read a post's args (common to post.add and import rows) into post. */
static int
s_post_read (op_ctx_t *ctx, const msgpack_object *args, bool at_required, item_t *post)
{
    memset (post, 0, sizeof (*post));
    post->type = ITEM_POST;
    uint64_t seconds = 0;
    if (proto_arg_id (args, "group", true, post->group, ctx->err) < 0
    ||  s_arg_kind (ctx, args, ITEM_POST, &post->kind)
    ||  proto_arg_name (args, "title", true, post->title, ctx->err) < 0
    ||  proto_arg_id (args, "author", true, post->author, ctx->err) < 0
    ||  s_arg_at (ctx, args, "at", at_required, false, &post->at)
    ||  s_arg_strs (args, "topics", post->topics [0], sizeof (post->topics [0]),
                    ITEM_TOPICS_MAX, &post->ntopics, ctx->err) < 0
    ||  s_arg_text (args, "text", false, post->text, ITEM_TEXT_MAX, ctx->err) < 0
    ||  s_arg_text (args, "link", false, post->link, ITEM_LINK_MAX, ctx->err) < 0
    ||  s_arg_strs (args, "photos", post->photos [0], sizeof (post->photos [0]),
                    ITEM_PHOTOS_MAX, &post->nphotos, ctx->err) < 0
    ||  proto_arg_uint (args, "seconds", false, &seconds, ctx->err) < 0)
        return -1;
    if (seconds > UINT32_MAX)
        return dt_err_set (ctx->err, "BAD_ARGS", "argument \"seconds\" is too large");
    post->seconds = (uint32_t) seconds;
    return s_arg_new_id (ctx, args, "p", post->id);
}

/* Judge and record a post read by s_post_read. */
static int
s_post_accept (op_ctx_t *ctx, item_t *post, bool pack)
{
    publish_group_t group;
    policy_t policy;
    if (s_group_here (ctx, post->group, &group) || s_policy (ctx, &policy))
        return -1;
    snprintf (post->branch, sizeof (post->branch), "%s", group.branch.id);
    if (publish_check_post (ctx->txn, &policy, &group, post, ctx->err))
        return -1;
    return s_record (ctx, post, "post.add", pack);
}

/* POST ADD group kind title author [id] [at] [topics] [text] [link] [photos] [seconds] */
static int
s_post_add (op_ctx_t *ctx, const msgpack_object *args)
{
    item_t post;
    if (s_post_read (ctx, args, false, &post))
        return -1;
    return s_post_accept (ctx, &post, true);
}

/* POST SHOW id / EVENT SHOW id: any item the key may read */
static int
s_item_show (op_ctx_t *ctx, const msgpack_object *args)
{
    dt_id_t id;
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0)
        return -1;
    const void *data;
    size_t size;
    int rc = store_get (ctx->txn, TBL_ITEM, id, strlen (id), &data, &size, ctx->err);
    if (rc < 0)
        return -1;
    item_t item;
    if (rc == 1)
        return dt_err_set (ctx->err, "NOT_FOUND", "no content item %s", id);
    if (item_decode (&item, data, size))
        return dt_err_set (ctx->err, "INTERNAL", "content item %s is damaged in the store",
                           id);
    rc = op_allow (ctx, item.branch);
    item_release (&item);
    if (rc == 0)
        s_pack_item (ctx, ctx->pk, data, size);
    return rc;
}

//  Lists of a group's timeline

typedef struct {
    op_ctx_t *ctx;
    page_t page;
    item_type_t type;
    int kind;                       /* -1: any */
    int status;                     /* -1: any */
    bool overdue;
    int64_t until;
} s_list_t;

static int
s_list_item (const void *key, size_t key_size, const void *data, size_t size, void *arg)
{
    s_list_t *list = arg;
    item_t item;
    if (item_decode (&item, data, size))
        return 0;
    bool wanted = item.type == list->type
               && (list->kind < 0 || (int) item.kind == list->kind)
               && (list->status < 0 || (int) item.status == list->status)
               && (!list->overdue || (item.status == STATUS_OPEN
                                      && item.deadline < list->ctx->now));
    bool past = list->until && item.at >= list->until;
    item_release (&item);
    if (past)
        return 1;
    if (!wanted)
        return 0;
    msgpack_packer *pk = page_item (&list->page, key, key_size);
    if (!pk)
        return 1;
    s_pack_item (list->ctx, pk, data, size);
    return 0;
}

/* Page through a group's items of one type from `since` until `until`. */
static int
s_list_group (op_ctx_t *ctx, const msgpack_object *args, s_list_t *list)
{
    dt_id_t id;
    publish_group_t group;
    int64_t since = 0;
    list->ctx = ctx;
    if (page_open (&list->page, args, ctx->err)
    ||  proto_arg_id (args, "group", true, id, ctx->err) < 0
    ||  proto_arg_int (args, "since", false, &since, ctx->err) < 0
    ||  proto_arg_int (args, "until", false, &list->until, ctx->err) < 0
    ||  s_group_readable (ctx, id, &group)) {
        page_release (&list->page);
        return -1;
    }
    size_t after_size;
    const void *after = page_after (&list->page, &after_size);
    if (item_group_visit (ctx->txn, id, since, after, after_size, s_list_item, list,
                          ctx->err)) {
        page_release (&list->page);
        return -1;
    }
    page_close (&list->page, ctx->pk);
    return 0;
}

/* POST LIST group [kind] [since] [until] [limit] [cursor] */
static int
s_post_list (op_ctx_t *ctx, const msgpack_object *args)
{
    s_list_t list = { .type = ITEM_POST, .kind = -1, .status = -1 };
    if (proto_map_get (args, "kind")) {
        item_kind_t kind;
        if (s_arg_kind (ctx, args, ITEM_POST, &kind))
            return -1;
        list.kind = kind;
    }
    return s_list_group (ctx, args, &list);
}

//  Events

/* The status argument of a list, for a type. */
static int
s_arg_status (op_ctx_t *ctx, const msgpack_object *args, item_type_t type, int *status)
{
    char name [16];
    int rc = proto_arg_str (args, "status", false, name, sizeof (name) - 1, ctx->err);
    *status = -1;
    if (rc != 1)
        return rc;
    item_status_t first = type == ITEM_EVENT? STATUS_SCHEDULED: STATUS_OPEN;
    item_status_t last = type == ITEM_EVENT? STATUS_CANCELLED: STATUS_ANSWERED;
    for (item_status_t s = first; s <= last; s++)
        if (streq (name, item_status_name (s))) {
            *status = (int) s;
            return 1;
        }
    return dt_err_set (ctx->err, "BAD_ARGS", "argument \"status\" of an %s list must be %s",
                       item_type_name (type), type == ITEM_EVENT?
                       "scheduled, held or cancelled": "open or answered");
}

static int
s_event_read (op_ctx_t *ctx, const msgpack_object *args, item_t *event)
{
    memset (event, 0, sizeof (*event));
    event->type = ITEM_EVENT;
    event->status = STATUS_SCHEDULED;
    if (proto_arg_id (args, "group", true, event->group, ctx->err) < 0
    ||  s_arg_kind (ctx, args, ITEM_EVENT, &event->kind)
    ||  proto_arg_name (args, "title", true, event->title, ctx->err) < 0
    ||  s_arg_at (ctx, args, "at", true, true, &event->at)
    ||  proto_arg_name (args, "place", true, event->place, ctx->err) < 0
    ||  proto_arg_id (args, "author", true, event->author, ctx->err) < 0)
        return -1;
    return s_arg_new_id (ctx, args, "e", event->id);
}

static int
s_event_accept (op_ctx_t *ctx, item_t *event, publish_group_t *group, bool pack)
{
    policy_t policy;
    if (s_group_here (ctx, event->group, group) || s_policy (ctx, &policy))
        return -1;
    snprintf (event->branch, sizeof (event->branch), "%s", group->branch.id);
    if (publish_check_event (ctx->txn, &policy, group, event, ctx->err))
        return -1;
    return s_record (ctx, event, "event.schedule", pack);
}

/* EVENT SCHEDULE group kind title at place author [id] */
static int
s_event_schedule (op_ctx_t *ctx, const msgpack_object *args)
{
    item_t event;
    publish_group_t group;
    if (s_event_read (ctx, args, &event))
        return -1;
    return s_event_accept (ctx, &event, &group, true);
}

/* A scheduled event of a group this server judges, and an author allowed to
   report on it. */
static int
s_event_open (op_ctx_t *ctx, const msgpack_object *args, item_t *event,
              publish_group_t *group, const char *verb)
{
    dt_id_t id, author;
    policy_t policy;
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0
    ||  proto_arg_id (args, "author", true, author, ctx->err) < 0
    ||  s_item_need (ctx, id, ITEM_EVENT, event))
        return -1;
    if (s_group_here (ctx, event->group, group) || s_policy (ctx, &policy))
        return -1;
    if (event->status != STATUS_SCHEDULED)
        return dt_err_set (ctx->err, "RULE", "event %s is %s; only a scheduled event can be "
                           "%s", id, item_status_name (event->status), verb);
    item_t reporter = *event;
    reporter.attendees = NULL;
    snprintf (reporter.author, sizeof (reporter.author), "%s", author);
    if (publish_check_event (ctx->txn, &policy, group, &reporter, ctx->err))
        return -1;
    snprintf (event->closed_by, sizeof (event->closed_by), "%s", author);
    event->closed_at = ctx->now;
    return 0;
}

/* Set an event's attendees from an args list; checked against the group. */
static int
s_event_attendees (op_ctx_t *ctx, const msgpack_object *args, bool required, item_t *event,
                   const publish_group_t *group)
{
    const msgpack_object *list;
    int rc = proto_arg_array (args, "attendees", required, &list, ctx->err);
    if (rc != 1)
        return rc;
    if (list->via.array.size > ITEM_ATTENDEES_MAX)
        return dt_err_set (ctx->err, "TOO_LARGE", "argument \"attendees\" lists %u members; "
                           "at most %d", list->via.array.size, ITEM_ATTENDEES_MAX);
    uint32_t count = list->via.array.size;
    dt_id_t *ids = (dt_id_t *) zmalloc ((count? count: 1) * sizeof (dt_id_t));
    rc = 0;
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        const msgpack_object *value = &list->via.array.ptr [i];
        if (!proto_obj_str (value, ids [i], DT_ID_MAX) || !dt_id_valid (ids [i], strlen (ids [i])))
            rc = dt_err_set (ctx->err, "BAD_ARGS", "argument \"attendees\" element %u is not "
                             "a member id", i);
    }
    if (rc == 0)
        rc = publish_check_attendees (ctx->txn, group, ids, count, ctx->err);
    if (rc == 0) {
        item_set_attendees (event, ids, count);
        event->status = STATUS_HELD;
    }
    free (ids);
    return rc;
}

/* EVENT HELD id attendees author */
static int
s_event_held (op_ctx_t *ctx, const msgpack_object *args)
{
    item_t event;
    publish_group_t group;
    if (s_event_open (ctx, args, &event, &group, "held"))
        return -1;
    int rc = s_event_attendees (ctx, args, true, &event, &group);
    if (rc == 0)
        rc = s_record (ctx, &event, "event.held", true);
    item_release (&event);
    return rc;
}

/* EVENT CANCEL id author */
static int
s_event_cancel (op_ctx_t *ctx, const msgpack_object *args)
{
    item_t event;
    publish_group_t group;
    if (s_event_open (ctx, args, &event, &group, "cancelled"))
        return -1;
    event.status = STATUS_CANCELLED;
    int rc = s_record (ctx, &event, "event.cancel", true);
    item_release (&event);
    return rc;
}

/* EVENT LIST group [status] [since] [until] [limit] [cursor] */
static int
s_event_list (op_ctx_t *ctx, const msgpack_object *args)
{
    s_list_t list = { .type = ITEM_EVENT, .kind = -1 };
    if (s_arg_status (ctx, args, ITEM_EVENT, &list.status) < 0)
        return -1;
    return s_list_group (ctx, args, &list);
}

//  Questions

static int
s_question_read (op_ctx_t *ctx, const msgpack_object *args, bool at_required,
                 item_t *question)
{
    memset (question, 0, sizeof (*question));
    question->type = ITEM_QUESTION;
    question->kind = KIND_QUESTION;
    question->status = STATUS_OPEN;
    if (proto_arg_id (args, "member", true, question->author, ctx->err) < 0
    ||  s_arg_text (args, "text", true, question->text, ITEM_TEXT_MAX, ctx->err) < 0
    ||  s_arg_at (ctx, args, "at", at_required, false, &question->at))
        return -1;
    if (!*question->text)
        return dt_err_set (ctx->err, "BAD_ARGS", "argument \"text\" is empty");
    return s_arg_new_id (ctx, args, "q", question->id);
}

/* Route a question to its asker's leader, in a group this server judges. */
static int
s_question_accept (op_ctx_t *ctx, item_t *question, bool pack)
{
    member_t member;
    char leader [DT_ID_MAX + 1];
    publish_group_t group;
    policy_t policy;
    if (tree_member_need (ctx->txn, question->author, &member, ctx->err)
    ||  publish_route (ctx->txn, &member, leader, &group, ctx->err)
    ||  op_allow (ctx, group.branch.id)
    ||  publish_authority (&group, ctx->node, ctx->err)
    ||  s_policy (ctx, &policy))
        return -1;
    snprintf (question->group, sizeof (question->group), "%s", group.id);
    snprintf (question->branch, sizeof (question->branch), "%s", group.branch.id);
    question->deadline = question->at + (int64_t) policy.question_deadline_h * S_HOUR_MS;
    return s_record (ctx, question, "question.ask", pack);
}

/* QUESTION ASK member text [id] [at] */
static int
s_question_ask (op_ctx_t *ctx, const msgpack_object *args)
{
    item_t question;
    if (s_question_read (ctx, args, false, &question))
        return -1;
    return s_question_accept (ctx, &question, true);
}

/* Answer an open question as `by`, who must be where it is routed now. */
static int
s_question_close (op_ctx_t *ctx, item_t *question, const char *by, const char *answer,
                  int64_t at, bool pack)
{
    member_t member;
    char leader [DT_ID_MAX + 1];
    publish_group_t group;
    if (question->status != STATUS_OPEN)
        return dt_err_set (ctx->err, "RULE", "question %s is answered already", question->id);
    if (tree_member_need (ctx->txn, question->author, &member, ctx->err)
    ||  publish_route (ctx->txn, &member, leader, &group, ctx->err)
    ||  op_allow (ctx, group.branch.id)
    ||  publish_authority (&group, ctx->node, ctx->err))
        return -1;
    if (!streq (by, leader))
        return dt_err_set (ctx->err, "RULE", "question rule: %s of %s is routed to %s "
                           "(leader of %s %s); %s cannot answer it", question->id,
                           question->author, leader, group.is_hall? "hall": "branch",
                           group.id, by);
    question->status = STATUS_ANSWERED;
    snprintf (question->answer, sizeof (question->answer), "%s", answer);
    snprintf (question->closed_by, sizeof (question->closed_by), "%s", by);
    question->closed_at = at;
    return s_record (ctx, question, "question.answer", pack);
}

/* QUESTION ANSWER id by text */
static int
s_question_answer (op_ctx_t *ctx, const msgpack_object *args)
{
    dt_id_t id, by;
    char text [ITEM_TEXT_MAX + 1];
    item_t question;
    if (proto_arg_id (args, "id", true, id, ctx->err) < 0
    ||  proto_arg_id (args, "by", true, by, ctx->err) < 0
    ||  s_arg_text (args, "text", true, text, ITEM_TEXT_MAX, ctx->err) < 0)
        return -1;
    if (!*text)
        return dt_err_set (ctx->err, "BAD_ARGS", "argument \"text\" is empty");
    if (s_item_need (ctx, id, ITEM_QUESTION, &question))
        return -1;
    return s_question_close (ctx, &question, by, text, ctx->now, true);
}

typedef struct {
    op_ctx_t *ctx;
    page_t page;
    const char *leader;             /* NULL: any */
    bool overdue;
} s_open_t;

static int
s_open_item (const void *key, size_t key_size, const void *data, size_t size, void *arg)
{
    s_open_t *walk = arg;
    item_t item;
    if (item_decode (&item, data, size))
        return 0;
    item_release (&item);
    if (walk->overdue && item.deadline >= walk->ctx->now)
        return 1;                   //  deadline order: none after this is overdue
    if (!op_covers (walk->ctx, item.branch))
        return 0;
    if (walk->leader) {
        member_t member;
        char leader [DT_ID_MAX + 1];
        publish_group_t group;
        dt_err_t err;
        dt_err_init (&err);
        bool routed = tree_member_get (walk->ctx->txn, item.author, &member, &err) == 0
                   && publish_route (walk->ctx->txn, &member, leader, &group, &err) == 0
                   && streq (leader, walk->leader);
        dt_err_reset (&err);
        if (!routed)
            return 0;
    }
    msgpack_packer *pk = page_item (&walk->page, key, key_size);
    if (!pk)
        return 1;
    s_pack_item (walk->ctx, pk, data, size);
    return 0;
}

/* QUESTION LIST [group] [leader] [open] [overdue] [limit] [cursor] */
static int
s_question_list (op_ctx_t *ctx, const msgpack_object *args)
{
    bool open = false, overdue = false;
    dt_id_t leader = "";
    if (proto_arg_bool (args, "open", false, &open, ctx->err) < 0
    ||  proto_arg_bool (args, "overdue", false, &overdue, ctx->err) < 0
    ||  proto_arg_id (args, "leader", false, leader, ctx->err) < 0)
        return -1;
    if (proto_map_get (args, "group")) {
        if (*leader)
            return dt_err_set (ctx->err, "BAD_ARGS", "give \"group\" or \"leader\", not both");
        s_list_t list = { .type = ITEM_QUESTION, .kind = -1, .overdue = overdue,
                          .status = open || overdue? STATUS_OPEN: -1 };
        return s_list_group (ctx, args, &list);
    }
    //  Every open question, in deadline order
    s_open_t walk = { .ctx = ctx, .leader = *leader? leader: NULL, .overdue = overdue };
    if (page_open (&walk.page, args, ctx->err)) {
        page_release (&walk.page);
        return -1;
    }
    size_t after_size;
    const void *after = page_after (&walk.page, &after_size);
    if (item_open_questions (ctx->txn, after, after_size, s_open_item, &walk, ctx->err)) {
        page_release (&walk.page);
        return -1;
    }
    page_close (&walk.page, ctx->pk);
    return 0;
}

//  Activity

/* Check one activity row and fill act. */
static int
s_activity_row (op_ctx_t *ctx, const policy_t *policy, const msgpack_object *row,
                activity_t *act)
{
    memset (act, 0, sizeof (*act));
    if (!row || row->type != MSGPACK_OBJECT_MAP)
        return dt_err_set (ctx->err, "BAD_ARGS", "a row is a map { member, day, count }");
    uint64_t count;
    char day [16];
    if (proto_args_check (row, "member day count", ctx->err)
    ||  proto_arg_id (row, "member", true, act->member, ctx->err) < 0
    ||  proto_arg_str (row, "day", true, day, sizeof (day) - 1, ctx->err) < 0
    ||  proto_arg_uint (row, "count", true, &count, ctx->err) < 0)
        return -1;
    int64_t start;
    char label [16] = "";
    if (strlen (day) == 10 && dt_time_parse (policy->timezone, day, &start) == 0)
        dt_period_label (policy->timezone, DT_PERIOD_DAY, start, label, sizeof (label));
    if (!streq (label, day))
        return dt_err_set (ctx->err, "BAD_ARGS", "day \"%s\" is not a date YYYY-MM-DD", day);
    if (count > S_ACTIVITY_MAX)
        return dt_err_set (ctx->err, "BAD_ARGS", "count %" PRIu64 " of %s is more than %d "
                           "messages a day", count, act->member, S_ACTIVITY_MAX);
    memcpy (act->day, day, sizeof (act->day));
    act->count = (uint32_t) count;
    member_t member;
    publish_group_t group;
    char leader [DT_ID_MAX + 1];
    if (tree_member_need (ctx->txn, act->member, &member, ctx->err))
        return -1;
    if (member.seat == SEAT_NONE)
        return dt_err_set (ctx->err, "RULE", "member %s holds no seat: activity counts for "
                           "the group a member sits in", act->member);
    if (publish_route (ctx->txn, &member, leader, &group, ctx->err)
    ||  op_allow (ctx, group.branch.id)
    ||  publish_authority (&group, ctx->node, ctx->err))
        return -1;
    snprintf (act->group, sizeof (act->group), "%s", group.id);
    snprintf (act->branch, sizeof (act->branch), "%s", group.branch.id);
    return 0;
}

static int
s_activity_record (op_ctx_t *ctx, const activity_t *act)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    activity_encode (act, &buf);
    char key [DT_ID_MAX + 16];
    size_t key_size = activity_key (act->member, act->day, key, sizeof (key));
    int rc = activity_put_raw (ctx->txn, key, buf.data, buf.size, ctx->err);
    if (rc == 0 && ctx->node)
        rc = uplink_append (ctx->txn, "activity.report", ctx->key->name, UPLINK_ACTIVITY,
                            key, key_size, buf.data, buf.size, ctx->err);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

/* Run each row through check (and apply, when it passes), collecting one
   detail per bad row; IMPORT_REJECTED when any was bad. */
typedef int (s_row_fn) (op_ctx_t *ctx, const msgpack_object *row, void *arg);

static int
s_rows (op_ctx_t *ctx, const msgpack_object *args, s_row_fn *each, void *arg)
{
    const msgpack_object *rows;
    if (proto_arg_array (args, "rows", true, &rows, ctx->err) < 0)
        return -1;
    dt_err_t *err = ctx->err;
    dt_err_t row_err;
    dt_err_init (&row_err);
    op_ctx_t row_ctx = *ctx;
    row_ctx.err = &row_err;
    uint32_t bad = 0;
    for (uint32_t i = 0; i < rows->via.array.size; i++) {
        dt_err_reset (&row_err);
        if (each (&row_ctx, &rows->via.array.ptr [i], arg) == 0)
            continue;
        if (streq (row_err.code, "INTERNAL")) {
            dt_err_set (err, "INTERNAL", "%s", row_err.message);
            dt_err_reset (&row_err);
            return -1;
        }
        dt_err_detail_from (err, i + 1, &row_err);
        bad++;
    }
    dt_err_reset (&row_err);
    if (bad)
        return dt_err_set (err, "IMPORT_REJECTED", "%u of %u rows rejected", bad,
                           rows->via.array.size);
    return 0;
}

static int
s_activity_each (op_ctx_t *ctx, const msgpack_object *row, void *arg)
{
    activity_t act;
    if (s_activity_row (ctx, arg, row, &act))
        return -1;
    return s_activity_record (ctx, &act);
}

/* ACTIVITY REPORT rows */
static int
s_activity_report (op_ctx_t *ctx, const msgpack_object *args)
{
    policy_t policy;
    if (s_policy (ctx, &policy) || s_rows (ctx, args, s_activity_each, &policy))
        return -1;
    const msgpack_object *rows = proto_map_get (args, "rows");
    msgpack_pack_map (ctx->pk, 1);
    proto_pack_key (ctx->pk, "rows");
    msgpack_pack_uint32 (ctx->pk, rows->via.array.size);
    return 0;
}

//  Historical import: each row as if published at its `at`

typedef struct {
    uint32_t posts, events, questions;
} s_import_t;

static int
s_import_post (op_ctx_t *ctx, const msgpack_object *row)
{
    item_t post;
    if (proto_args_check (row, "type group kind title author at id? topics? text? link? "
                          "photos? seconds?", ctx->err)
    ||  s_post_read (ctx, row, true, &post))
        return -1;
    return s_post_accept (ctx, &post, false);
}

static int
s_import_event (op_ctx_t *ctx, const msgpack_object *row)
{
    item_t event;
    publish_group_t group;
    char status [16] = "scheduled";
    if (proto_args_check (row, "type group kind title at place author id? attendees? "
                          "status?", ctx->err)
    ||  proto_arg_str (row, "status", false, status, sizeof (status) - 1, ctx->err) < 0
    ||  s_event_read (ctx, row, &event))
        return -1;
    bool held = proto_map_get (row, "attendees") != NULL;
    bool cancelled = streq (status, "cancelled");
    if (!proto_map_get (row, "status") && held)
        snprintf (status, sizeof (status), "held");
    if (streq (status, "held") != held || (!cancelled && !held && !streq (status, "scheduled")))
        return dt_err_set (ctx->err, "BAD_ARGS", "an event row is scheduled, held (and lists "
                           "its attendees) or cancelled, not \"%s\"%s", status,
                           held? " with attendees": "");
    if (s_group_here (ctx, event.group, &group))
        return -1;
    int rc = s_event_attendees (ctx, row, false, &event, &group);
    if (rc == 0 && cancelled)
        event.status = STATUS_CANCELLED;
    if (rc == 0 && event.status != STATUS_SCHEDULED) {
        event.closed_at = event.at;
        snprintf (event.closed_by, sizeof (event.closed_by), "%s", event.author);
    }
    if (rc == 0)
        rc = s_event_accept (ctx, &event, &group, false);
    item_release (&event);
    return rc;
}

static int
s_import_question (op_ctx_t *ctx, const msgpack_object *row)
{
    item_t question;
    char answer [ITEM_TEXT_MAX + 1] = "";
    dt_id_t by = "";
    if (proto_args_check (row, "type member text at id? answer? by?", ctx->err)
    ||  s_arg_text (row, "answer", false, answer, ITEM_TEXT_MAX, ctx->err) < 0
    ||  proto_arg_id (row, "by", false, by, ctx->err) < 0
    ||  s_question_read (ctx, row, true, &question))
        return -1;
    if (!*answer != !*by)
        return dt_err_set (ctx->err, "BAD_ARGS", "an answered question row gives both "
                           "\"answer\" and \"by\"");
    if (s_question_accept (ctx, &question, false))
        return -1;
    return *answer? s_question_close (ctx, &question, by, answer, question.at, false): 0;
}

static int
s_import_each (op_ctx_t *ctx, const msgpack_object *row, void *arg)
{
    s_import_t *counts = arg;
    char type [16];
    if (!row || row->type != MSGPACK_OBJECT_MAP)
        return dt_err_set (ctx->err, "BAD_ARGS", "a row is a map with \"type\"");
    if (proto_arg_str (row, "type", true, type, sizeof (type) - 1, ctx->err) < 0)
        return -1;
    if (streq (type, "post"))
        return s_import_post (ctx, row)? -1: (counts->posts++, 0);
    if (streq (type, "event"))
        return s_import_event (ctx, row)? -1: (counts->events++, 0);
    if (streq (type, "question"))
        return s_import_question (ctx, row)? -1: (counts->questions++, 0);
    return dt_err_set (ctx->err, "BAD_ARGS", "type \"%s\" must be post, event or question",
                       type);
}

/* IMPORT CONTENT rows */
static int
s_import_content (op_ctx_t *ctx, const msgpack_object *args)
{
    s_import_t counts = { 0 };
    if (s_rows (ctx, args, s_import_each, &counts))
        return -1;
    msgpack_pack_map (ctx->pk, 3);
    proto_pack_key (ctx->pk, "posts");
    msgpack_pack_uint32 (ctx->pk, counts.posts);
    proto_pack_key (ctx->pk, "events");
    msgpack_pack_uint32 (ctx->pk, counts.events);
    proto_pack_key (ctx->pk, "questions");
    msgpack_pack_uint32 (ctx->pk, counts.questions);
    return 0;
}

const op_t content_ops [] = {
    { "post.add",        s_post_add },
    { "post.show",       s_item_show },
    { "post.list",       s_post_list },
    { "event.schedule",  s_event_schedule },
    { "event.held",      s_event_held },
    { "event.cancel",    s_event_cancel },
    { "event.show",      s_item_show },
    { "event.list",      s_event_list },
    { "question.ask",    s_question_ask },
    { "question.answer", s_question_answer },
    { "question.show",   s_item_show },
    { "question.list",   s_question_list },
    { "activity.report", s_activity_report },
    { "import.content",  s_import_content },
    { NULL, NULL }
};
