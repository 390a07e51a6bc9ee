/* ctl_args.c -- a request's args map built from command-line values. */
#include "ctl_args.h"
#include "proto.h"

void
ctl_args_init (ctl_args_t *self)
{
    msgpack_sbuffer_init (&self->body);
    msgpack_packer_init (&self->pk, &self->body, msgpack_sbuffer_write);
    self->count = 0;
}

void
ctl_args_destroy (ctl_args_t *self)
{
    msgpack_sbuffer_destroy (&self->body);
    self->count = 0;
}

msgpack_packer *
ctl_args_key (ctl_args_t *self, const char *key)
{
    proto_pack_key (&self->pk, key);
    self->count++;
    return &self->pk;
}

void
ctl_args_str (ctl_args_t *self, const char *key, const char *value)
{
    if (value)
        proto_pack_str (ctl_args_key (self, key), value);
}

void
ctl_args_uint (ctl_args_t *self, const char *key, uint64_t value)
{
    msgpack_pack_uint64 (ctl_args_key (self, key), value);
}

void
ctl_args_int (ctl_args_t *self, const char *key, int64_t value)
{
    msgpack_pack_int64 (ctl_args_key (self, key), value);
}

void
ctl_args_bool (ctl_args_t *self, const char *key, bool value)
{
    msgpack_packer *pk = ctl_args_key (self, key);
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
ctl_args_list (ctl_args_t *self, const char *key, const char **values, size_t count)
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
    msgpack_packer *pk = ctl_args_key (self, key);
    msgpack_pack_array (pk, nitems);
    for (size_t i = 0; i < nitems; i++) {
        msgpack_pack_str (pk, items [i].len);
        msgpack_pack_str_body (pk, items [i].ptr, items [i].len);
    }
    free (items);
}

int
ctl_args_tags (ctl_args_t *self, const char *key, const char **values, size_t count,
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
        msgpack_packer *pk = ctl_args_key (self, key);
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
ctl_args_finish (ctl_args_t *self, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, self->count);
    msgpack_sbuffer_write (out, self->body.data, self->body.size);
}

//  Self-test

void
ctl_args_test (bool verbose)
{
    (void) verbose;
    dt_err_t err;
    dt_err_init (&err);
    ctl_args_t args;
    ctl_args_init (&args);
    ctl_args_str (&args, "id", "h-1");
    ctl_args_str (&args, "into", NULL);
    ctl_args_uint (&args, "cap", 30);
    ctl_args_int (&args, "since", -5);
    ctl_args_bool (&args, "release", true);
    const char *members [] = { "m-1,m-2", ",m-3,,", "m-4" };
    ctl_args_list (&args, "members", members, 3);
    ctl_args_list (&args, "branches", NULL, 0);
    const char *tags [] = { "city=成都", "age=30", "city=重庆", "note=" };
    assert (ctl_args_tags (&args, "tags", tags, 4, &err) == 0);
    const char *bad [] = { "ok=1", "=x" };
    assert (ctl_args_tags (&args, "tags", bad, 2, &err) == -1);
    assert (streq (err.code, "BAD_ARGS") && strstr (err.message, "=x"));
    assert (ctl_args_tags (&args, "tags", (const char *[]) { "novalue" }, 1, &err) == -1);

    msgpack_sbuffer out;
    msgpack_sbuffer_init (&out);
    ctl_args_finish (&args, &out);
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
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&out);
    ctl_args_destroy (&args);
    dt_err_reset (&err);
}
