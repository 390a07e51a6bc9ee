/* args.c -- a request's args map built key by key. */
#include "args.h"
#include "proto.h"

void
args_init (args_t *self)
{
    msgpack_sbuffer_init (&self->body);
    msgpack_sbuffer_init (&self->map);
    msgpack_packer_init (&self->pk, &self->body, msgpack_sbuffer_write);
    self->count = 0;
}

void
args_destroy (args_t *self)
{
    msgpack_sbuffer_destroy (&self->body);
    msgpack_sbuffer_destroy (&self->map);
    self->count = 0;
}

msgpack_packer *
args_key (args_t *self, const char *key)
{
    return args_key_len (self, key, strlen (key));
}

msgpack_packer *
args_key_len (args_t *self, const char *key, size_t len)
{
    msgpack_pack_str (&self->pk, len);
    msgpack_pack_str_body (&self->pk, key, len);
    self->count++;
    return &self->pk;
}

void
args_str (args_t *self, const char *key, const char *value)
{
    if (value)
        proto_pack_str (args_key (self, key), value);
}

void
args_uint (args_t *self, const char *key, uint64_t value)
{
    msgpack_pack_uint64 (args_key (self, key), value);
}

void
args_int (args_t *self, const char *key, int64_t value)
{
    msgpack_pack_int64 (args_key (self, key), value);
}

void
args_bool (args_t *self, const char *key, bool value)
{
    msgpack_packer *pk = args_key (self, key);
    if (value)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
}

typedef struct {
    const char *ptr;
    size_t len;
} s_span_t;

void
args_list (args_t *self, const char *key, const char **values, size_t count)
{
    args_pack_list (args_key (self, key), values, count);
}

void
args_pack_list (msgpack_packer *pk, const char **values, size_t count)
{
    size_t nitems = 0, max = 0;
    s_span_t *items = NULL;
    for (size_t i = 0; i < count; i++)
        for (const char *p = values [i]; *p; ) {
            size_t len = strcspn (p, ",");
            if (len) {
                if (nitems == max) {
                    max = max? max * 2: 16;
                    items = realloc (items, max * sizeof (s_span_t));
                    assert (items);
                }
                items [nitems++] = (s_span_t) { p, len };
            }
            p += len + (p [len] == ',');
        }
    msgpack_pack_array (pk, nitems);
    for (size_t i = 0; i < nitems; i++) {
        msgpack_pack_str (pk, items [i].len);
        msgpack_pack_str_body (pk, items [i].ptr, items [i].len);
    }
    free (items);
}

int
args_tags (args_t *self, const char *key, const char **values, size_t count,
               dt_err_t *err)
{
    s_span_t *keys = calloc (count + 1, sizeof (s_span_t));
    const char **vals = calloc (count + 1, sizeof (char *));
    assert (keys && vals);
    size_t ntags = 0;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        const char *eq = strchr (values [i], '=');
        if (!eq || eq == values [i]) {
            rc = dt_err_set (err, "BAD_ARGS", "tag %s is not KEY=VALUE", values [i]);
            break;
        }
        s_span_t tag = { values [i], eq - values [i] };
        size_t at = 0;
        while (at < ntags && (keys [at].len != tag.len || memcmp (keys [at].ptr, tag.ptr, tag.len)))
            at++;
        keys [at] = tag;
        vals [at] = eq + 1;
        ntags += at == ntags;
    }
    if (rc == 0) {
        msgpack_packer *pk = args_key (self, key);
        msgpack_pack_map (pk, ntags);
        for (size_t i = 0; i < ntags; i++) {
            msgpack_pack_str (pk, keys [i].len);
            msgpack_pack_str_body (pk, keys [i].ptr, keys [i].len);
            proto_pack_str (pk, vals [i]);
        }
    }
    free (keys);
    free (vals);
    return rc;
}

void
args_finish (args_t *self, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, self->count);
    msgpack_sbuffer_write (out, self->body.data, self->body.size);
}

const msgpack_sbuffer *
args_map (args_t *self)
{
    msgpack_sbuffer_clear (&self->map);
    args_finish (self, &self->map);
    return &self->map;
}

//  Self-test

void
args_test (bool verbose)
{
    (void) verbose;
    dt_err_t err;
    dt_err_init (&err);
    args_t args;
    args_init (&args);
    args_str (&args, "id", "h-1");
    args_str (&args, "into", NULL);
    args_uint (&args, "cap", 30);
    args_int (&args, "since", -5);
    args_bool (&args, "release", true);
    const char *members [] = { "m-1,m-2", ",m-3,,", "m-4" };
    args_list (&args, "members", members, 3);
    args_list (&args, "branches", NULL, 0);
    const char *tags [] = { "city=成都", "age=30", "city=重庆", "note=" };
    assert (args_tags (&args, "tags", tags, 4, &err) == 0);
    const char *bad [] = { "ok=1", "=x" };
    assert (args_tags (&args, "tags", bad, 2, &err) == -1);
    assert (streq (err.code, "BAD_ARGS") && strstr (err.message, "=x"));
    assert (args_tags (&args, "tags", (const char *[]) { "novalue" }, 1, &err) == -1);

    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    args_finish (&args, &out);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, out.data, out.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *map = &unpacked.data;
    assert (map->type == MSGPACK_OBJECT_MAP && map->via.map.size == 7);
    char text [64];
    assert (proto_obj_str (proto_map_get (map, "id"), text, sizeof (text) - 1)
            && streq (text, "h-1"));
    assert (proto_map_get (map, "into") == NULL);
    assert (proto_map_get (map, "cap")->via.u64 == 30);
    assert (proto_map_get (map, "since")->via.i64 == -5);
    assert (proto_map_get (map, "release")->via.boolean);
    const msgpack_object *list = proto_map_get (map, "members");
    assert (list->type == MSGPACK_OBJECT_ARRAY && list->via.array.size == 4);
    assert (proto_obj_str (&list->via.array.ptr [2], text, sizeof (text) - 1)
            && streq (text, "m-3"));
    assert (proto_obj_str (&list->via.array.ptr [3], text, sizeof (text) - 1)
            && streq (text, "m-4"));
    assert (proto_map_get (map, "branches")->via.array.size == 0);
    const msgpack_object *tagmap = proto_map_get (map, "tags");
    assert (tagmap->type == MSGPACK_OBJECT_MAP && tagmap->via.map.size == 3);
    assert (proto_obj_str (proto_map_get (tagmap, "city"), text, sizeof (text) - 1)
            && streq (text, "重庆"));
    assert (proto_obj_str (proto_map_get (tagmap, "note"), text, sizeof (text) - 1)
            && streq (text, ""));
    //  The map the builder holds is the same; a key of given length
    const msgpack_sbuffer *map_buf = args_map (&args);
    assert (map_buf->size == out.size && memcmp (map_buf->data, out.data, out.size) == 0);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&out);
    args_destroy (&args);
    args_init (&args);
    msgpack_pack_true (args_key_len (&args, "flag=1", 4));
    map_buf = args_map (&args);
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, map_buf->data, map_buf->size, NULL)
            == MSGPACK_UNPACK_SUCCESS);
    assert (unpacked.data.via.map.size == 1 && proto_map_get (&unpacked.data, "flag")
            && proto_map_get (&unpacked.data, "flag")->via.boolean);
    msgpack_unpacked_destroy (&unpacked);
    args_destroy (&args);
    dt_err_reset (&err);
}
