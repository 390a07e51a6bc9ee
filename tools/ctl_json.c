/* ctl_json.c -- msgpack to JSON, for --json output. */
#include "ctl_json.h"
#include "ctl_text.h"
#include <math.h>

void
ctl_json_string (FILE *out, const char *s, size_t len)
{
    fputc ('"', out);
    while (len) {
        uint32_t cp;
        size_t seq = dt_utf8_decode (s, len, &cp);
        if (seq == 0) {
            fputs ("\\ufffd", out);
            seq = 1;
        }
        else
        if (cp == '"' || cp == '\\')
            fprintf (out, "\\%c", (char) cp);
        else
        if (cp == '\n')
            fputs ("\\n", out);
        else
        if (cp == '\r')
            fputs ("\\r", out);
        else
        if (cp == '\t')
            fputs ("\\t", out);
        else
        if (cp < 0x20 || cp == 0x7F)
            fprintf (out, "\\u%04x", (unsigned) cp);
        else
            fwrite (s, 1, seq, out);
        s += seq;
        len -= seq;
    }
    fputc ('"', out);
}

static void
s_hex (FILE *out, const char *data, size_t size)
{
    fputc ('"', out);
    for (size_t i = 0; i < size; i++)
        fprintf (out, "%02x", (unsigned char) data [i]);
    fputc ('"', out);
}

static void
s_key (FILE *out, const msgpack_object *key)
{
    if (key->type == MSGPACK_OBJECT_STR) {
        ctl_json_string (out, key->via.str.ptr, key->via.str.size);
        return;
    }
    char *text = NULL;
    size_t size = 0;
    FILE *buffer = open_memstream (&text, &size);
    assert (buffer);
    ctl_json_print (buffer, key);
    fclose (buffer);
    ctl_json_string (out, text, size);
    free (text);
}

void
ctl_json_print (FILE *out, const msgpack_object *obj)
{
    switch (obj->type) {
        case MSGPACK_OBJECT_NIL:
            fputs ("null", out);
            break;
        case MSGPACK_OBJECT_BOOLEAN:
            fputs (obj->via.boolean? "true": "false", out);
            break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            fprintf (out, "%" PRIu64, obj->via.u64);
            break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            fprintf (out, "%" PRId64, obj->via.i64);
            break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            if (isfinite (obj->via.f64))
                fprintf (out, "%.17g", obj->via.f64);
            else
                fputs ("null", out);
            break;
        case MSGPACK_OBJECT_STR:
            ctl_json_string (out, obj->via.str.ptr, obj->via.str.size);
            break;
        case MSGPACK_OBJECT_BIN:
            s_hex (out, obj->via.bin.ptr, obj->via.bin.size);
            break;
        case MSGPACK_OBJECT_EXT:
            s_hex (out, obj->via.ext.ptr, obj->via.ext.size);
            break;
        case MSGPACK_OBJECT_ARRAY:
            fputc ('[', out);
            for (uint32_t i = 0; i < obj->via.array.size; i++) {
                if (i)
                    fputc (',', out);
                ctl_json_print (out, &obj->via.array.ptr [i]);
            }
            fputc (']', out);
            break;
        case MSGPACK_OBJECT_MAP:
            fputc ('{', out);
            for (uint32_t i = 0; i < obj->via.map.size; i++) {
                if (i)
                    fputc (',', out);
                s_key (out, &obj->via.map.ptr [i].key);
                fputc (':', out);
                ctl_json_print (out, &obj->via.map.ptr [i].val);
            }
            fputc ('}', out);
            break;
    }
}

//  Self-test

static void
s_expect (const msgpack_sbuffer *packed, const char *expected)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, packed->data, packed->size, NULL)
            == MSGPACK_UNPACK_SUCCESS);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    ctl_json_print (out, &unpacked.data);
    fclose (out);
    if (!streq (text, expected)) {
        fprintf (stderr, "\njson: expected %s\n           got %s\n", expected, text);
        assert (false);
    }
    free (text);
    msgpack_unpacked_destroy (&unpacked);
}

static void
s_str (msgpack_packer *pk, const char *s, size_t len)
{
    msgpack_pack_str (pk, len);
    msgpack_pack_str_body (pk, s, len);
}

void
ctl_json_test (bool verbose)
{
    (void) verbose;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);

    //  Every string escape, UTF-8 kept, invalid bytes replaced
    static const char escapes [] = "q\"b\\n\nr\rt\t\x01\x1f\x7f/青羊";
    s_str (&pk, escapes, sizeof (escapes) - 1);
    s_expect (&buffer, "\"q\\\"b\\\\n\\nr\\rt\\t\\u0001\\u001f\\u007f/青羊\"");
    msgpack_sbuffer_clear (&buffer);
    s_str (&pk, "a\xff" "b\xe4\xbd", 5);
    s_expect (&buffer, "\"a\\ufffdb\\ufffd\\ufffd\"");
    msgpack_sbuffer_clear (&buffer);
    s_str (&pk, "nul\0x", 5);
    s_expect (&buffer, "\"nul\\u0000x\"");
    msgpack_sbuffer_clear (&buffer);

    //  Scalars, bin as hex, nesting, non-string keys
    msgpack_pack_map (&pk, 7);
    s_str (&pk, "n", 1); msgpack_pack_nil (&pk);
    s_str (&pk, "t", 1); msgpack_pack_true (&pk);
    s_str (&pk, "u", 1); msgpack_pack_uint64 (&pk, UINT64_MAX);
    s_str (&pk, "i", 1); msgpack_pack_int64 (&pk, -1732000000000LL);
    s_str (&pk, "b", 1); msgpack_pack_bin (&pk, 3); msgpack_pack_bin_body (&pk, "\x00\xab\xff", 3);
    s_str (&pk, "a", 1); msgpack_pack_array (&pk, 3);
        msgpack_pack_double (&pk, 0.5); msgpack_pack_double (&pk, NAN);
        msgpack_pack_array (&pk, 0);
    msgpack_pack_uint8 (&pk, 7); msgpack_pack_map (&pk, 1);
        s_str (&pk, "k\"", 2); msgpack_pack_false (&pk);
    s_expect (&buffer, "{\"n\":null,\"t\":true,\"u\":18446744073709551615,"
              "\"i\":-1732000000000,\"b\":\"00abff\",\"a\":[0.5,null,[]],"
              "\"7\":{\"k\\\"\":false}}");
    msgpack_sbuffer_destroy (&buffer);
}
