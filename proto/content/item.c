/* item.c -- content items and activity counts: records, indexes, tallies. */
#include "item.h"
#include "proto.h"
#include "scratch.h"

static const char *s_types [] = { "post", "event", "question" };
static const char *s_kinds [] = {
    "article", "story", "video", "promo", "notice", "tasting", "sports", "other", "question"
};
static const item_type_t s_kind_types [] = {
    ITEM_POST, ITEM_POST, ITEM_POST, ITEM_POST, ITEM_POST,
    ITEM_EVENT, ITEM_EVENT, ITEM_EVENT, ITEM_QUESTION
};
static const char *s_statuses [] = {
    "", "scheduled", "held", "cancelled", "open", "answered"
};

const char *
item_type_name (item_type_t type)
{
    return (unsigned) type <= ITEM_QUESTION? s_types [type]: "?";
}

const char *
item_kind_name (item_kind_t kind)
{
    return (unsigned) kind < KIND_COUNT? s_kinds [kind]: "?";
}

const char *
item_status_name (item_status_t status)
{
    return (unsigned) status <= STATUS_ANSWERED? s_statuses [status]: "?";
}

item_type_t
item_kind_type (item_kind_t kind)
{
    return (unsigned) kind < KIND_COUNT? s_kind_types [kind]: ITEM_POST;
}

int
item_kind_parse (item_type_t type, const char *name, item_kind_t *kind)
{
    for (int i = 0; i < KIND_COUNT; i++)
        if (s_kind_types [i] == type && streq (name, s_kinds [i])) {
            *kind = (item_kind_t) i;
            return 0;
        }
    return -1;
}

//  Record

static void
s_pack_str_list (msgpack_packer *pk, const char *key, const char *first, size_t stride,
                 uint32_t count)
{
    proto_pack_key (pk, key);
    msgpack_pack_array (pk, count);
    for (uint32_t i = 0; i < count; i++)
        proto_pack_str (pk, first + i * stride);
}

void
item_encode (const item_t *self, msgpack_sbuffer *out)
{
    msgpack_packer pk_;
    msgpack_packer_init (&pk_, out, msgpack_sbuffer_write);
    msgpack_packer *pk = &pk_;
    uint32_t fields = 9 + (self->type == ITEM_POST? 7: self->type == ITEM_EVENT? 6: 6);
    msgpack_pack_map (pk, fields);
    record_kv_str (pk, "id", self->id);
    record_kv_str (pk, "type", item_type_name (self->type));
    record_kv_str (pk, "kind", item_kind_name (self->kind));
    record_kv_str (pk, "group", self->group);
    record_kv_str (pk, "branch", self->branch);
    record_kv_str (pk, "author", self->author);
    record_kv_int (pk, "at", self->at);
    record_kv_int (pk, "accepted", self->accepted);
    record_kv_str (pk, "by", self->by);
    if (self->type == ITEM_POST) {
        record_kv_str (pk, "title", self->title);
        s_pack_str_list (pk, "topics", self->topics [0], sizeof (self->topics [0]),
                         self->ntopics);
        record_kv_str (pk, "text", self->text);
        record_kv_str (pk, "link", self->link);
        s_pack_str_list (pk, "photos", self->photos [0], sizeof (self->photos [0]),
                         self->nphotos);
        record_kv_uint (pk, "seconds", self->seconds);
        record_kv_str (pk, "status", "published");
    }
    else
    if (self->type == ITEM_EVENT) {
        record_kv_str (pk, "title", self->title);
        record_kv_str (pk, "place", self->place);
        record_kv_str (pk, "status", item_status_name (self->status));
        s_pack_str_list (pk, "attendees", self->nattendees? self->attendees [0]: "",
                         sizeof (dt_id_t), self->nattendees);
        record_kv_int (pk, "closed_at", self->closed_at);
        record_kv_str (pk, "closed_by", self->closed_by);
    }
    else {
        record_kv_str (pk, "text", self->text);
        record_kv_int (pk, "deadline", self->deadline);
        record_kv_str (pk, "status", item_status_name (self->status));
        record_kv_str (pk, "answer", self->answer);
        record_kv_int (pk, "closed_at", self->closed_at);
        record_kv_str (pk, "closed_by", self->closed_by);
    }
}

/* A list of strings into rows of `stride` bytes; -1 when any does not fit. */
static int
s_read_list (record_reader_t *reader, const char *key, char *first, size_t stride,
             uint32_t max, uint32_t *count)
{
    const msgpack_object *list = proto_map_get (record_reader_map (reader), key);
    *count = 0;
    if (!list || list->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (list->type != MSGPACK_OBJECT_ARRAY || list->via.array.size > max)
        return -1;
    for (uint32_t i = 0; i < list->via.array.size; i++)
        if (!proto_obj_str (&list->via.array.ptr [i], first + i * stride, stride - 1))
            return -1;
    *count = list->via.array.size;
    return 0;
}

int
item_decode (item_t *self, const void *data, size_t size)
{
    memset (self, 0, sizeof (*self));
    record_reader_t reader;
    if (record_reader_open (&reader, data, size))
        return record_reader_close (&reader), -1;
    record_read_str (&reader, "id", self->id, DT_ID_MAX);
    self->type = (item_type_t) record_read_enum (&reader, "type", s_types, 3);
    self->kind = (item_kind_t) record_read_enum (&reader, "kind", s_kinds, KIND_COUNT);
    if (s_kind_types [self->kind] != self->type)
        record_reader_fail (&reader);
    record_read_str (&reader, "group", self->group, DT_ID_MAX);
    record_read_str (&reader, "branch", self->branch, DT_ID_MAX);
    record_read_str (&reader, "author", self->author, DT_ID_MAX);
    self->at = record_read_int (&reader, "at");
    self->accepted = record_read_int (&reader, "accepted");
    record_read_str (&reader, "by", self->by, DT_ID_MAX);
    record_read_str (&reader, "title", self->title, DT_NAME_MAX);
    record_read_str (&reader, "text", self->text, ITEM_TEXT_MAX);
    record_read_str (&reader, "link", self->link, ITEM_LINK_MAX);
    record_read_str (&reader, "place", self->place, DT_NAME_MAX);
    record_read_str (&reader, "answer", self->answer, ITEM_TEXT_MAX);
    record_read_str (&reader, "closed_by", self->closed_by, DT_ID_MAX);
    self->seconds = (uint32_t) record_read_uint (&reader, "seconds");
    self->closed_at = record_read_int (&reader, "closed_at");
    self->deadline = record_read_int (&reader, "deadline");
    if (self->type != ITEM_POST)
        self->status = (item_status_t) record_read_enum (&reader, "status", s_statuses, 6);
    if (s_read_list (&reader, "topics", self->topics [0], sizeof (self->topics [0]),
                     ITEM_TOPICS_MAX, &self->ntopics)
    ||  s_read_list (&reader, "photos", self->photos [0], sizeof (self->photos [0]),
                     ITEM_PHOTOS_MAX, &self->nphotos))
        record_reader_fail (&reader);
    const msgpack_object *attendees = proto_map_get (record_reader_map (&reader), "attendees");
    if (attendees && attendees->type == MSGPACK_OBJECT_ARRAY
    &&  attendees->via.array.size <= ITEM_ATTENDEES_MAX && attendees->via.array.size) {
        self->attendees = (dt_id_t *) zmalloc (attendees->via.array.size * sizeof (dt_id_t));
        if (s_read_list (&reader, "attendees", self->attendees [0], sizeof (dt_id_t),
                         ITEM_ATTENDEES_MAX, &self->nattendees))
            record_reader_fail (&reader);
    }
    else
    if (attendees && attendees->type != MSGPACK_OBJECT_ARRAY)
        record_reader_fail (&reader);
    int rc = record_reader_close (&reader);
    if (rc)
        item_release (self);
    return rc;
}

void
item_release (item_t *self)
{
    free (self->attendees);
    self->attendees = NULL;
    self->nattendees = 0;
}

void
item_set_attendees (item_t *self, const dt_id_t *ids, uint32_t count)
{
    item_release (self);
    if (count) {
        self->attendees = (dt_id_t *) zmalloc (count * sizeof (dt_id_t));
        memcpy (self->attendees, ids, count * sizeof (dt_id_t));
        self->nattendees = count;
    }
}

//  Indexes (TBL_ITEM_INDEX)
//    'g' group \0 at(u64 BE) id  -> kind (1 byte)   the group's timeline
//    'd' deadline(u64 BE) id     -> ""              open questions by deadline
//    'a' member \0 id            -> ""              open questions by asker
//    'A' group \0 day \0 member  -> ""              activity by group

#define S_KEY_MAX (2 + DT_ID_MAX * 2 + 16)

static size_t
s_timeline_prefix (const char *group, uint8_t *out)
{
    size_t len = strlen (group);
    out [0] = 'g';
    memcpy (out + 1, group, len + 1);
    return len + 2;
}

static size_t
s_timeline_key (const char *group, int64_t at, const char *id, uint8_t *out)
{
    size_t size = s_timeline_prefix (group, out);
    store_seq_key ((uint64_t) (at < 0? 0: at), out + size);
    size += 8;
    size_t len = strlen (id);
    memcpy (out + size, id, len);
    return size + len;
}

static size_t
s_deadline_key (int64_t deadline, const char *id, uint8_t *out)
{
    out [0] = 'd';
    store_seq_key ((uint64_t) (deadline < 0? 0: deadline), out + 1);
    size_t len = strlen (id);
    memcpy (out + 9, id, len);
    return 9 + len;
}

static size_t
s_asker_key (const char *member, const char *id, uint8_t *out)
{
    size_t len = strlen (member);
    out [0] = 'a';
    memcpy (out + 1, member, len + 1);
    size_t id_len = strlen (id);
    memcpy (out + len + 2, id, id_len);
    return len + 2 + id_len;
}

/* Add (add true) or remove the index entries of an item. */
static int
s_index (store_txn_t *txn, const item_t *item, bool add, dt_err_t *err)
{
    uint8_t key [S_KEY_MAX];
    size_t size = s_timeline_key (item->group, item->at, item->id, key);
    uint8_t kind = (uint8_t) item->kind;
    int rc = add? store_put (txn, TBL_ITEM_INDEX, key, size, &kind, 1, err)
                : store_del (txn, TBL_ITEM_INDEX, key, size, err);
    if (rc == 0 && item->type == ITEM_QUESTION && item->status == STATUS_OPEN) {
        size = s_deadline_key (item->deadline, item->id, key);
        rc = add? store_put (txn, TBL_ITEM_INDEX, key, size, "", 0, err)
                : store_del (txn, TBL_ITEM_INDEX, key, size, err);
        size = s_asker_key (item->author, item->id, key);
        if (rc == 0)
            rc = add? store_put (txn, TBL_ITEM_INDEX, key, size, "", 0, err)
                    : store_del (txn, TBL_ITEM_INDEX, key, size, err);
    }
    return rc;
}

int
item_get (store_txn_t *txn, const char *id, item_t *out, dt_err_t *err)
{
    const void *val;
    size_t size;
    int rc = store_get (txn, TBL_ITEM, id, strlen (id), &val, &size, err);
    if (rc != 0)
        return rc;
    if (item_decode (out, val, size))
        return dt_err_set (err, "INTERNAL", "content item %s is damaged in the store", id);
    return 0;
}

static item_hook_fn *s_hook = NULL;

void
item_hook_set (item_hook_fn *hook)
{
    s_hook = hook;
}

int
item_put_raw (store_txn_t *txn, const char *id, const void *data, size_t size,
              dt_err_t *err)
{
    item_t fresh, old;
    if (item_decode (&fresh, data, size) || !streq (fresh.id, id))
        return dt_err_set (err, "BAD_ARGS", "content item %s is not a valid item record", id);
    int found = item_get (txn, id, &old, err);
    int rc = found < 0? -1: 0;
    if (rc == 0 && found == 0)
        rc = s_index (txn, &old, false, err);
    if (rc == 0)
        rc = store_record_put (txn, TBL_ITEM, id, data, size, NULL, err);
    if (rc == 0)
        rc = s_index (txn, &fresh, true, err);
    if (rc == 0 && s_hook)
        rc = s_hook (txn, found == 0? &old: NULL, &fresh, err);
    if (found == 0)
        item_release (&old);
    item_release (&fresh);
    return rc;
}

int
item_merge_raw (store_txn_t *txn, const char *id, const void *data, size_t size,
                dt_err_t *err)
{
    item_t fresh, held;
    if (item_decode (&fresh, data, size) || !streq (fresh.id, id))
        return dt_err_set (err, "MALFORMED", "content item %s is not a valid item record", id);
    int found = item_get (txn, id, &held, err);
    //  An item only ever goes on: scheduled or open, then closed once
    bool further = found == 1 || (found == 0 && fresh.closed_at > held.closed_at);
    if (found == 0)
        item_release (&held);
    item_release (&fresh);
    if (found == -1)
        return -1;
    return further? item_put_raw (txn, id, data, size, err): 0;
}

int
item_put (store_txn_t *txn, const item_t *self, dt_err_t *err)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    item_encode (self, &buf);
    int rc = item_put_raw (txn, self->id, buf.data, buf.size, err);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

//  Walks

typedef struct {
    store_txn_t *txn;
    item_visit_fn *visit;
    void *arg;
    size_t id_offset;               /* where the item id starts in the index key */
    size_t skip;                    /* 'a' keys: the id follows the member's \0 */
    dt_err_t *err;
} s_walk_t;

static int
s_walk_entry (const void *key, size_t key_size, const void *val, size_t val_size, void *arg)
{
    (void) val; (void) val_size;
    s_walk_t *walk = arg;
    size_t offset = walk->id_offset;
    if (walk->skip) {
        const char *nul = memchr ((const char *) key + 1, 0, key_size - 1);
        if (!nul)
            return 0;
        offset = (size_t) (nul - (const char *) key) + 1;
    }
    if (offset >= key_size || key_size - offset > DT_ID_MAX)
        return 0;
    char id [DT_ID_MAX + 1];
    memcpy (id, (const char *) key + offset, key_size - offset);
    id [key_size - offset] = 0;
    const void *data;
    size_t size;
    int rc = store_get (walk->txn, TBL_ITEM, id, strlen (id), &data, &size, walk->err);
    if (rc == 1)
        return 0;                   //  an index entry without its item: skip it
    if (rc < 0)
        return -1;
    return walk->visit (key, key_size, data, size, walk->arg);
}

int
item_group_visit (store_txn_t *txn, const char *group, int64_t from,
                  const void *after, size_t after_size,
                  item_visit_fn *visit, void *arg, dt_err_t *err)
{
    uint8_t prefix [S_KEY_MAX], start [S_KEY_MAX];
    size_t prefix_size = s_timeline_prefix (group, prefix);
    size_t start_size = prefix_size;
    memcpy (start, prefix, prefix_size);
    store_seq_key ((uint64_t) (from < 0? 0: from), start + prefix_size);
    start_size += 8;
    //  Resume just past `after`: the smallest key greater than it
    uint8_t resume [S_KEY_MAX + 1];
    if (after && after_size <= S_KEY_MAX
    &&  (after_size > start_size || memcmp (after, start, after_size) >= 0)) {
        memcpy (resume, after, after_size);
        resume [after_size] = 0;
        memcpy (start, resume, after_size + 1);
        start_size = after_size + 1;
    }
    s_walk_t walk = { txn, visit, arg, prefix_size + 8, 0, err };
    return store_scan (txn, TBL_ITEM_INDEX, prefix, prefix_size, start, start_size,
                       s_walk_entry, &walk, err);
}

typedef struct {
    store_txn_t *txn;
    repl_place_t *place;
    tree_record_fn *visit;
    void *arg;
    const char *group;              /* being visited: "" for the core */
    size_t id_offset;               /* where its index keys hold the item id */
    dt_err_t *err;
} s_records_t;

static int
s_record_entry (const void *index_key, size_t index_key_size, const void *data, size_t size,
                void *arg)
{
    s_records_t *self = arg;
    if (self->place->stopped)
        return 1;
    char id [DT_ID_MAX + 1];
    size_t len = index_key_size - self->id_offset;
    if (index_key_size <= self->id_offset || len > DT_ID_MAX)
        return 0;
    memcpy (id, (const char *) index_key + self->id_offset, len);
    id [len] = 0;
    return repl_place_visit (self->place, self->group, TBL_ITEM, id, data, size,
                             self->visit, self->arg);
}

/* A group's items (timeline group: the branch for its core), after item
   `after` of that group when not NULL. */
static int
s_group_records (s_records_t *self, const char *group, const char *timeline,
                 const char *after)
{
    uint8_t key [S_KEY_MAX];
    size_t key_size = 0;
    item_t item;
    int found = after? item_get (self->txn, after, &item, self->err): 1;
    if (found == -1)
        return -1;
    if (found == 0) {
        key_size = s_timeline_key (timeline, item.at, item.id, key);
        item_release (&item);
    }
    uint8_t prefix [S_KEY_MAX];
    self->group = group;
    self->id_offset = s_timeline_prefix (timeline, prefix) + 8;
    return item_group_visit (self->txn, timeline, 0, key_size? key: NULL, key_size,
                             s_record_entry, self, self->err);
}

static int
s_hall_records (const hall_t *hall, void *arg)
{
    s_records_t *self = arg;
    return self->place->stopped? 1: s_group_records (self, hall->id, hall->id, NULL);
}

int
item_branch_records (store_txn_t *txn, const char *branch, repl_place_t *place,
                     tree_record_fn *visit, void *arg, dt_err_t *err)
{
    s_records_t self = { txn, place, visit, arg, "", 0, err };
    char hall [DT_ID_MAX + 1] = "", after [DT_ID_MAX + 1] = "";
    if (place->started) {
        snprintf (hall, sizeof (hall), "%s", place->group);
        snprintf (after, sizeof (after), "%s", place->key);
    }
    int rc = s_group_records (&self, hall, *hall? hall: branch, place->started? after: NULL);
    if (rc == 0 && !place->stopped)
        rc = tree_hall_visit_after (txn, branch, *hall? hall: NULL, s_hall_records, &self,
                                    err);
    return rc == -1? -1: 0;
}

int
item_open_questions_of (store_txn_t *txn, const char *member,
                        item_visit_fn *visit, void *arg, dt_err_t *err)
{
    uint8_t prefix [S_KEY_MAX];
    size_t len = strlen (member);
    prefix [0] = 'a';
    memcpy (prefix + 1, member, len + 1);
    s_walk_t walk = { txn, visit, arg, 0, 1, err };
    return store_scan (txn, TBL_ITEM_INDEX, prefix, len + 2, NULL, 0, s_walk_entry, &walk,
                       err);
}

int
item_open_questions (store_txn_t *txn, const void *after, size_t after_size,
                     item_visit_fn *visit, void *arg, dt_err_t *err)
{
    uint8_t resume [S_KEY_MAX + 1];
    size_t resume_size = 0;
    if (after && after_size <= S_KEY_MAX) {
        memcpy (resume, after, after_size);
        resume [after_size] = 0;
        resume_size = after_size + 1;
    }
    s_walk_t walk = { txn, visit, arg, 9, 0, err };
    return store_scan (txn, TBL_ITEM_INDEX, "d", 1, resume_size? resume: NULL, resume_size,
                       s_walk_entry, &walk, err);
}

//  Tallies

typedef struct {
    int64_t until;
    const item_tally_rules_t *rules;
    item_tally_t *out;
    bool bad;
} s_tally_t;

static bool
s_on_topic (const item_t *item, const item_tally_rules_t *rules)
{
    for (uint32_t i = 0; i < item->ntopics; i++)
        for (uint32_t j = 0; j < rules->ntopics; j++)
            if (streq (item->topics [i], rules->topics [j]))
                return true;
    return false;
}

uint32_t
item_counts (const item_t *item, const item_tally_rules_t *rules)
{
    if (item->type == ITEM_POST) {
        if (item->kind == KIND_ARTICLE && rules && s_on_topic (item, rules))
            return ITEM_COUNTS_ARTICLE;
        if (item->kind == KIND_STORY && item->nphotos > 0)
            return ITEM_COUNTS_STORY;
        if (item->kind == KIND_VIDEO && rules && item->seconds <= rules->short_max)
            return ITEM_COUNTS_VIDEO;
    }
    else
    if (item->type == ITEM_EVENT && item->status == STATUS_HELD
    &&  (!rules || item->nattendees >= rules->attendees_min))
        return ITEM_COUNTS_GATHERING;
    return 0;
}

static int
s_tally_item (const void *key, size_t key_size, const void *data, size_t size, void *arg)
{
    s_tally_t *tally = arg;
    //  The timeline key ends in at(8) id: at sits before the id
    (void) key; (void) key_size;
    item_t item;
    if (item_decode (&item, data, size)) {
        tally->bad = true;
        return 1;
    }
    if (item.at >= tally->until) {
        item_release (&item);
        return 1;
    }
    item_tally_t *out = tally->out;
    uint32_t counts = item_counts (&item, tally->rules);
    out->articles_on_topic += (counts & ITEM_COUNTS_ARTICLE) != 0;
    out->stories_with_album += (counts & ITEM_COUNTS_STORY) != 0;
    out->short_videos += (counts & ITEM_COUNTS_VIDEO) != 0;
    out->gatherings += (counts & ITEM_COUNTS_GATHERING) != 0;
    if (item.type == ITEM_POST) {
        out->posts++;
        out->kinds [item.kind]++;
    }
    else
    if (item.type == ITEM_EVENT && item.status == STATUS_HELD)
        out->kinds [item.kind]++;
    else
    if (item.type == ITEM_QUESTION)
        out->kinds [KIND_QUESTION]++;
    item_release (&item);
    return 0;
}

int
item_tally (store_txn_t *txn, const char *group, int64_t from, int64_t until,
            const item_tally_rules_t *rules, item_tally_t *out, dt_err_t *err)
{
    memset (out, 0, sizeof (*out));
    s_tally_t tally = { until, rules, out, false };
    if (item_group_visit (txn, group, from, NULL, 0, s_tally_item, &tally, err))
        return -1;
    if (tally.bad)
        return dt_err_set (err, "INTERNAL", "a content item of %s is damaged in the store",
                           group);
    return 0;
}

//  Activity

size_t
activity_key (const char *member, const char *day, char *out, size_t size)
{
    int len = snprintf (out, size, "%s%c%s", member, 0, day);
    return len < 0 || (size_t) len >= size? 0: (size_t) len;
}

void
activity_encode (const activity_t *self, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5);
    record_kv_str (&pk, "member", self->member);
    record_kv_str (&pk, "day", self->day);
    record_kv_uint (&pk, "count", self->count);
    record_kv_str (&pk, "group", self->group);
    record_kv_str (&pk, "branch", self->branch);
}

int
activity_decode (activity_t *self, const void *data, size_t size)
{
    memset (self, 0, sizeof (*self));
    record_reader_t reader;
    if (record_reader_open (&reader, data, size))
        return record_reader_close (&reader), -1;
    record_read_str (&reader, "member", self->member, DT_ID_MAX);
    record_read_str (&reader, "day", self->day, sizeof (self->day) - 1);
    self->count = (uint32_t) record_read_uint (&reader, "count");
    record_read_str (&reader, "group", self->group, DT_ID_MAX);
    record_read_str (&reader, "branch", self->branch, DT_ID_MAX);
    return record_reader_close (&reader);
}

static size_t
s_activity_index_key (const activity_t *self, uint8_t *out)
{
    int len = snprintf ((char *) out, S_KEY_MAX + 12, "A%s%c%s%c%s", self->group, 0,
                        self->day, 0, self->member);
    return (size_t) len;
}

int
activity_put_raw (store_txn_t *txn, const char *key, const void *data, size_t size,
                  dt_err_t *err)
{
    (void) key;
    activity_t fresh;
    if (activity_decode (&fresh, data, size) || !*fresh.member || strlen (fresh.day) != 10)
        return dt_err_set (err, "BAD_ARGS", "not a valid activity record");
    char record_key [DT_ID_MAX + 16];
    size_t key_size = activity_key (fresh.member, fresh.day, record_key, sizeof (record_key));
    const void *old_data;
    size_t old_size;
    int found = store_get (txn, TBL_ACTIVITY, record_key, key_size, &old_data, &old_size, err);
    if (found < 0)
        return -1;
    uint8_t index [S_KEY_MAX + 12];
    activity_t old;
    if (found == 0 && activity_decode (&old, old_data, old_size) == 0
    &&  store_del (txn, TBL_ITEM_INDEX, index, s_activity_index_key (&old, index), err))
        return -1;
    //  The record key holds a \0, so it is written as raw bytes; the audit
    //  shows the activity report itself (its op and rows)
    if (store_put (txn, TBL_ACTIVITY, record_key, key_size, data, size, err))
        return -1;
    return store_put (txn, TBL_ITEM_INDEX, index, s_activity_index_key (&fresh, index),
                      "", 0, err);
}

int
activity_put (store_txn_t *txn, const activity_t *self, dt_err_t *err)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    activity_encode (self, &buf);
    int rc = activity_put_raw (txn, self->member, buf.data, buf.size, err);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

//  Self-test

void
item_test (bool verbose)
{
    (void) verbose;
    //  The index counts below are this module's alone: no report counters
    item_hook_fn *hook = s_hook;
    item_hook_set (NULL);
    dt_err_t err;
    dt_err_init (&err);
    store_t *store = scratch_new ("item", 64);
    store_txn_t txn;
    assert (store_begin (store, &txn, NULL, true, &err) == 0);

    //  Round trip of each type, and the kind table
    item_kind_t kind;
    assert (item_kind_parse (ITEM_POST, "promo", &kind) == 0 && kind == KIND_PROMO);
    assert (item_kind_parse (ITEM_POST, "tasting", &kind) == -1);
    assert (item_kind_parse (ITEM_EVENT, "tasting", &kind) == 0 && kind == KIND_TASTING);
    item_t post = { .type = ITEM_POST, .kind = KIND_STORY, .at = 1000, .accepted = 1001,
                    .ntopics = 1, .nphotos = 2 };
    snprintf (post.id, sizeof (post.id), "p-1");
    snprintf (post.group, sizeof (post.group), "b-1");
    snprintf (post.branch, sizeof (post.branch), "b-1");
    snprintf (post.author, sizeof (post.author), "o-1");
    snprintf (post.title, sizeof (post.title), "酒缘");
    snprintf (post.topics [0], sizeof (post.topics [0]), "酱酒");
    snprintf (post.photos [0], sizeof (post.photos [0]), "a.jpg");
    snprintf (post.photos [1], sizeof (post.photos [1]), "b.jpg");
    assert (item_put (&txn, &post, &err) == 0);
    item_t back;
    assert (item_get (&txn, "p-1", &back, &err) == 0);
    assert (back.type == ITEM_POST && back.kind == KIND_STORY && back.nphotos == 2);
    assert (streq (back.photos [1], "b.jpg") && streq (back.topics [0], "酱酒"));
    assert (back.at == 1000 && streq (back.title, "酒缘"));
    item_release (&back);

    item_t event = { .type = ITEM_EVENT, .kind = KIND_TASTING, .at = 2000,
                     .status = STATUS_HELD };
    snprintf (event.id, sizeof (event.id), "e-1");
    snprintf (event.group, sizeof (event.group), "h-1");
    snprintf (event.branch, sizeof (event.branch), "b-1");
    dt_id_t people [3] = { "m-1", "m-2", "m-3" };
    item_set_attendees (&event, people, 3);
    assert (item_put (&txn, &event, &err) == 0);
    assert (item_get (&txn, "e-1", &back, &err) == 0);
    assert (back.nattendees == 3 && streq (back.attendees [2], "m-3"));
    assert (back.status == STATUS_HELD);
    item_release (&back);

    //  Tallies count within [from, until) only, with the rules' thresholds
    char topics [1][ITEM_TOPIC_MAX + 1] = { "酱酒" };
    item_tally_rules_t rules = { topics, 1, 180, 3 };
    item_tally_t tally;
    assert (item_tally (&txn, "h-1", 0, 3000, &rules, &tally, &err) == 0);
    assert (tally.gatherings == 1 && tally.kinds [KIND_TASTING] == 1);
    assert (item_tally (&txn, "h-1", 0, 2000, &rules, &tally, &err) == 0);
    assert (tally.gatherings == 0);
    rules.attendees_min = 4;
    assert (item_tally (&txn, "h-1", 0, 3000, &rules, &tally, &err) == 0);
    assert (tally.gatherings == 0 && tally.kinds [KIND_TASTING] == 1);
    assert (item_tally (&txn, "b-1", 0, 3000, &rules, &tally, &err) == 0);
    assert (tally.posts == 1 && tally.stories_with_album == 1);

    //  Re-putting an item moves its index entries: cancelled events are not held
    event.status = STATUS_CANCELLED;
    event.at = 2500;
    assert (item_put (&txn, &event, &err) == 0);
    assert (item_tally (&txn, "h-1", 0, 3000, &rules, &tally, &err) == 0);
    assert (tally.kinds [KIND_TASTING] == 0);
    item_release (&event);

    //  Open questions: by asker and by deadline, gone once answered
    item_t question = { .type = ITEM_QUESTION, .kind = KIND_QUESTION, .at = 10,
                        .deadline = 5000, .status = STATUS_OPEN };
    snprintf (question.id, sizeof (question.id), "q-1");
    snprintf (question.group, sizeof (question.group), "h-1");
    snprintf (question.author, sizeof (question.author), "m-9");
    assert (item_put (&txn, &question, &err) == 0);
    int count = 0;
    item_visit_fn *counter = NULL;
    (void) counter;
    assert (store_count (&txn, TBL_ITEM_INDEX) == 5);     //  3 timeline + 2 question
    question.status = STATUS_ANSWERED;
    assert (item_put (&txn, &question, &err) == 0);
    assert (store_count (&txn, TBL_ITEM_INDEX) == 3);
    (void) count;

    //  Activity replaces the day's count; the group index follows the record
    activity_t act = { .member = "m-1", .day = "2026-12-01", .count = 5, .group = "h-1",
                       .branch = "b-1" };
    assert (activity_put (&txn, &act, &err) == 0);
    act.count = 7;
    snprintf (act.group, sizeof (act.group), "h-2");
    assert (activity_put (&txn, &act, &err) == 0);
    assert (store_count (&txn, TBL_ACTIVITY) == 1);
    assert (store_count (&txn, TBL_ITEM_INDEX) == 4);

    //  A damaged record is refused, not trusted
    assert (item_put_raw (&txn, "x", "\x81\xa2id\xa1x", 6, &err) == -1);
    dt_err_reset (&err);
    store_abort (&txn);
    scratch_destroy (&store);
    item_hook_set (hook);
}
