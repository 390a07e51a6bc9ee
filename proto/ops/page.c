/* page.c -- paged list replies: limit, cursor, { items, next }. */
#include "page.h"

static const char s_hex [] = "0123456789abcdef";

int
page_open (page_t *self, const msgpack_object *args, dt_err_t *err)
{
    return page_open_range (self, args, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, err);
}

int
page_open_range (page_t *self, const msgpack_object *args, uint32_t dflt, uint32_t max,
                 dt_err_t *err)
{
    memset (self, 0, sizeof (*self));
    msgpack_sbuffer_init (&self->items);
    msgpack_packer_init (&self->pk, &self->items, msgpack_sbuffer_write);
    uint64_t limit = dflt;
    if (proto_arg_uint (args, "limit", false, &limit, err) < 0)
        return -1;
    if (limit < 1 || limit > max)
        return dt_err_set (err, "BAD_ARGS", "argument \"limit\" must be 1..%u, not %" PRIu64,
                           max, limit);
    self->limit = (uint32_t) limit;
    char cursor [PAGE_KEY_MAX * 2 + 1];
    int given = proto_arg_str (args, "cursor", false, cursor, sizeof (cursor) - 1, err);
    if (given < 0)
        return -1;
    size_t len = given? strlen (cursor): 0;
    if (given && (len == 0 || len % 2))
        return dt_err_set (err, "BAD_ARGS", "argument \"cursor\" is not a cursor this server "
                           "gave (take it from \"next\" of the page before)");
    for (size_t i = 0; i < len; i += 2) {
        const char *high = strchr (s_hex, cursor [i]);
        const char *low = strchr (s_hex, cursor [i + 1]);
        if (!cursor [i] || !cursor [i + 1] || !high || !low)
            return dt_err_set (err, "BAD_ARGS", "argument \"cursor\" is not a cursor this "
                               "server gave (take it from \"next\" of the page before)");
        self->after [i / 2] = (uint8_t) ((high - s_hex) << 4 | (low - s_hex));
    }
    self->after_size = len / 2;
    return 0;
}

const void *
page_after (page_t *self, size_t *size)
{
    *size = self->after_size;
    return self->after_size? self->after: NULL;
}

msgpack_packer *
page_item (page_t *self, const void *key, size_t key_size)
{
    if (self->count == self->limit || self->items.size >= PAGE_BYTES_MAX
    ||  key_size > PAGE_KEY_MAX) {
        self->more = true;
        return NULL;
    }
    memcpy (self->last, key, key_size);
    self->last_size = key_size;
    self->count++;
    return &self->pk;
}

int
page_refuse_cursor (page_t *self, dt_err_t *err)
{
    page_release (self);
    return dt_err_set (err, "BAD_ARGS", "argument \"cursor\" is not a cursor of this list "
                       "(take it from \"next\" of the page before)");
}

void
page_pass (page_t *self, const void *key, size_t key_size)
{
    if (key_size <= PAGE_KEY_MAX) {
        memcpy (self->last, key, key_size);
        self->last_size = key_size;
    }
}

void
page_close (page_t *self, msgpack_packer *pk)
{
    msgpack_pack_map (pk, 2);
    page_pack (self, pk, "items");
}

void
page_pack (page_t *self, msgpack_packer *pk, const char *name)
{
    proto_pack_key (pk, name);
    msgpack_pack_array (pk, self->count);
    if (self->items.size)
        pk->callback (pk->data, self->items.data, self->items.size);    //  packed already
    proto_pack_key (pk, "next");
    if (self->more && self->last_size) {
        char cursor [PAGE_KEY_MAX * 2 + 1];
        for (size_t i = 0; i < self->last_size; i++) {
            cursor [2 * i] = s_hex [self->last [i] >> 4];
            cursor [2 * i + 1] = s_hex [self->last [i] & 15];
        }
        cursor [2 * self->last_size] = 0;
        proto_pack_str (pk, cursor);
    }
    else
        msgpack_pack_nil (pk);
    page_release (self);
}

void
page_release (page_t *self)
{
    msgpack_sbuffer_destroy (&self->items);
    msgpack_sbuffer_init (&self->items);
}

//  Self-test

static const msgpack_object *
s_args (msgpack_unpacked *unpacked, msgpack_sbuffer *buf, const char *cursor, int limit)
{
    msgpack_sbuffer_clear (buf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, (cursor? 1: 0) + (limit? 1: 0));
    if (cursor) {
        proto_pack_key (&pk, "cursor");
        proto_pack_str (&pk, cursor);
    }
    if (limit) {
        proto_pack_key (&pk, "limit");
        msgpack_pack_int (&pk, limit);
    }
    size_t offset = 0;
    msgpack_unpack_next (unpacked, buf->data, buf->size, &offset);
    return &unpacked->data;
}

/* Close a page into out and unpack it into result. */
static void
s_closed (page_t *page, msgpack_sbuffer *out, msgpack_unpacked *result)
{
    msgpack_sbuffer_clear (out);
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    page_close (page, &pk);
    msgpack_unpacked_destroy (result);
    msgpack_unpacked_init (result);
    size_t offset = 0;
    assert (msgpack_unpack_next (result, out->data, out->size, &offset) == MSGPACK_UNPACK_SUCCESS);
}

void
page_test (bool verbose)
{
    (void) verbose;
    msgpack_sbuffer buf, out;
    msgpack_sbuffer_init (&buf);
    msgpack_sbuffer_init (&out);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    dt_err_t err;
    dt_err_init (&err);
    page_t page;

    //  Two items per page: the third makes "more", and next names the second
    assert (page_open (&page, s_args (&unpacked, &buf, NULL, 2), &err) == 0);
    size_t size;
    assert (page_after (&page, &size) == NULL);
    const char *keys [] = { "a", "b\x01", "c" };
    for (int i = 0; i < 3; i++) {
        msgpack_packer *pk = page_item (&page, keys [i], strlen (keys [i]));
        if (!pk)
            break;
        msgpack_pack_int (pk, i);
    }
    assert (page.count == 2 && page.more);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &out, msgpack_sbuffer_write);
    page_close (&page, &pk);
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    size_t offset = 0;
    assert (msgpack_unpack_next (&result, out.data, out.size, &offset) == MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *items = proto_map_get (&result.data, "items");
    assert (items && items->type == MSGPACK_OBJECT_ARRAY && items->via.array.size == 2);
    assert (items->via.array.ptr [1].via.u64 == 1);
    char next [16];
    assert (proto_obj_str (proto_map_get (&result.data, "next"), next, sizeof (next) - 1));
    assert (streq (next, "6201"));

    //  The cursor comes back as the position it named
    assert (page_open (&page, s_args (&unpacked, &buf, next, 0), &err) == 0);
    const uint8_t *after = page_after (&page, &size);
    assert (size == 2 && memcmp (after, "b\x01", 2) == 0 && page.limit == PAGE_LIMIT_DEFAULT);
    page_release (&page);

    //  A page that passed over items it does not show resumes after them
    assert (page_open (&page, s_args (&unpacked, &buf, NULL, 2), &err) == 0);
    msgpack_pack_int (page_item (&page, "a", 1), 0);
    page_pass (&page, "b", 1);
    page.more = true;
    s_closed (&page, &out, &result);
    assert (proto_obj_str (proto_map_get (&result.data, "next"), next, sizeof (next) - 1));
    assert (streq (next, "62"));

    //  A last page says so with nil; bad limits and cursors are refused
    assert (page_open (&page, s_args (&unpacked, &buf, NULL, 0), &err) == 0);
    s_closed (&page, &out, &result);
    assert (proto_map_get (&result.data, "next")->type == MSGPACK_OBJECT_NIL);
    assert (page_open (&page, s_args (&unpacked, &buf, NULL, PAGE_LIMIT_MAX + 1), &err) == -1);
    assert (streq (err.code, "BAD_ARGS"));
    page_release (&page);
    dt_err_reset (&err);
    assert (page_open (&page, s_args (&unpacked, &buf, "zz", 0), &err) == -1);
    page_release (&page);
    dt_err_reset (&err);
    assert (page_open (&page, s_args (&unpacked, &buf, "abc", 0), &err) == -1);
    page_release (&page);
    dt_err_reset (&err);

    //  A page stops once its items pass PAGE_BYTES_MAX, whatever its limit
    assert (page_open (&page, s_args (&unpacked, &buf, NULL, PAGE_LIMIT_MAX), &err) == 0);
    static char blob [200 * 1024];
    uint32_t fitted = 0;
    for (uint32_t i = 0; i < 100; i++) {
        char key [8];
        snprintf (key, sizeof (key), "%03u", i);
        msgpack_packer *item = page_item (&page, key, strlen (key));
        if (!item)
            break;
        msgpack_pack_bin (item, sizeof (blob));
        msgpack_pack_bin_body (item, blob, sizeof (blob));
        fitted++;
    }
    assert (page.more && fitted == PAGE_BYTES_MAX / sizeof (blob) + 1);
    page_release (&page);

    msgpack_unpacked_destroy (&result);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&buf);
    msgpack_sbuffer_destroy (&out);
}
