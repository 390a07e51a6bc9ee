/* ctl_import.c -- member CSV files to import.members rows, and back. */
#include "ctl_import.h"
#include "ctl_csv.h"
#include "ctl_print.h"
#include "ctl_json.h"
#include "proto.h"

#define S_HEADER "id,name,referrer,group"

//  The row keys, in the order of the CSV header; an import may also have
//  the columns tags (KEY=VALUE;KEY=VALUE) and role, which export leaves out
enum { S_ID, S_NAME, S_REFERRER, S_GROUP, S_EXPORTED, S_TAGS = S_EXPORTED, S_ROLE, S_KEYS };
static const char *s_keys [S_KEYS] = { "id", "name", "referrer", "group", "tags", "role" };

int
ctl_import_read (const char *path, char **data, size_t *size, dt_err_t *err)
{
    bool is_stdin = streq (path, "-");
    FILE *file = is_stdin? stdin: fopen (path, "rb");
    if (!file)
        return dt_err_set (err, "BAD_ARGS", "cannot open %s: %s", path, strerror (errno));
    *data = NULL;
    *size = 0;
    size_t max = 0, got;
    do {
        if (*size == max) {
            max = max? max * 2: 65536;
            *data = realloc (*data, max);
            assert (*data);
        }
        got = fread (*data + *size, 1, max - *size, file);
        *size += got;
    } while (got);
    int rc = ferror (file)? dt_err_set (err, "BAD_ARGS", "cannot read %s: %s", path,
                                        strerror (errno)): 0;
    if (!is_stdin)
        fclose (file);
    if (rc) {
        free (*data);
        *data = NULL;
    }
    return rc;
}

/* Map the header's columns to row keys: column [i] = S_ID.. */
static int
s_header (ctl_csv_t *csv, int *column, dt_err_t *err)
{
    bool seen [S_KEYS] = { false };
    for (size_t i = 0; i < ctl_csv_count (csv); i++) {
        char name [16];
        const char *field = ctl_csv_field (csv, i);
        field += strspn (field, " ");
        snprintf (name, sizeof (name), "%.*s", (int) strcspn (field, " "), field);
        for (char *p = name; *p; p++)
            *p = tolower ((unsigned char) *p);
        if (streq (name, "hall") || streq (name, "branch"))
            snprintf (name, sizeof (name), "group");
        column [i] = -1;
        for (int key = 0; key < S_KEYS; key++)
            if (streq (name, s_keys [key]))
                column [i] = key;
        if (column [i] == -1 && !seen [S_ID])
            return dt_err_set (err, "BAD_ARGS", "line 1: missing header: the first line "
                               "must be %s", S_HEADER);
        if (column [i] == -1)
            return dt_err_set (err, "BAD_ARGS", "line 1: unknown column \"%s\": the header "
                               "is %s (hall or branch may replace group; tags and "
                               "role may follow)", ctl_csv_field (csv, i), S_HEADER);
        if (seen [column [i]])
            return dt_err_set (err, "BAD_ARGS", "line 1: column %s given twice",
                               s_keys [column [i]]);
        seen [column [i]] = true;
    }
    if (!seen [S_ID] || !seen [S_NAME])
        return dt_err_set (err, "BAD_ARGS", "line 1: missing header: the first line "
                           "must be %s", S_HEADER);
    return 0;
}

/* Pack "KEY=VALUE;KEY=VALUE" as a map; 0, or -1 with err (the row's line). */
static int
s_tags (msgpack_packer *pk, const char *text, size_t line, dt_err_t *err)
{
    uint32_t count = 1;
    for (const char *p = text; *p; p++)
        count += *p == ';';
    msgpack_pack_map (pk, count);
    for (const char *tag = text; count--; tag += strcspn (tag, ";") + (count > 0)) {
        size_t len = strcspn (tag, ";");
        const char *eq = memchr (tag, '=', len);
        if (!eq || eq == tag)
            return dt_err_set (err, "BAD_ARGS", "line %zu: tag \"%.*s\" is not KEY=VALUE "
                               "(tags are KEY=VALUE;KEY=VALUE)", line, (int) len, tag);
        msgpack_pack_str (pk, eq - tag);
        msgpack_pack_str_body (pk, tag, eq - tag);
        msgpack_pack_str (pk, len - (eq + 1 - tag));
        msgpack_pack_str_body (pk, eq + 1, len - (eq + 1 - tag));
    }
    return 0;
}

/* Pack one row map from the current record: the four columns of an export
   always, tags and role when given. 0, or -1 with err. */
static int
s_row (msgpack_packer *pk, ctl_csv_t *csv, const int *column, size_t line, dt_err_t *err)
{
    const char *values [S_KEYS] = { "", "", "", "", "", "" };
    for (size_t i = 0; i < ctl_csv_count (csv); i++)
        values [column [i]] = ctl_csv_field (csv, i);
    msgpack_pack_map (pk, 1 + S_EXPORTED + (*values [S_TAGS] != 0) + (*values [S_ROLE] != 0));
    proto_pack_key (pk, "line");
    msgpack_pack_uint64 (pk, line);
    for (int key = 0; key < S_KEYS; key++) {
        if (key >= S_EXPORTED && !*values [key])
            continue;
        proto_pack_key (pk, s_keys [key]);
        if (key == S_TAGS) {
            if (s_tags (pk, values [key], line, err))
                return -1;
        }
        else
            proto_pack_str (pk, values [key]);
    }
    return 0;
}

struct _ctl_import_reader_t {
    ctl_csv_t *csv;
    size_t size;                /* of the file */
    int column [S_KEYS];        /* column -> row key */
    size_t columns;
    size_t part_rows;
    bool ended;
};

ctl_import_reader_t *
ctl_import_reader_new (const char *data, size_t size, size_t part_rows, dt_err_t *err)
{
    ctl_import_reader_t *self = (ctl_import_reader_t *) zmalloc (sizeof (*self));
    self->csv = ctl_csv_new (data, size);
    self->size = size;
    self->part_rows = part_rows;
    size_t line;
    int rc = ctl_csv_next (self->csv, &line, err);
    if (rc == 0)
        rc = dt_err_set (err, "BAD_ARGS", "line 1: missing header: the file is empty");
    else
    if (rc == 1 && ctl_csv_count (self->csv) > S_KEYS)
        rc = dt_err_set (err, "BAD_ARGS", "line %zu: %zu columns: the header is %s",
                         line, ctl_csv_count (self->csv), S_HEADER);
    else
    if (rc == 1) {
        self->columns = ctl_csv_count (self->csv);
        rc = s_header (self->csv, self->column, err);
    }
    if (rc)
        ctl_import_reader_destroy (&self);
    return self;
}

void
ctl_import_reader_destroy (ctl_import_reader_t **self_p)
{
    assert (self_p);
    ctl_import_reader_t *self = *self_p;
    if (self) {
        ctl_csv_destroy (&self->csv);
        free (self);
        *self_p = NULL;
    }
}

int
ctl_import_next (ctl_import_reader_t *self, ctl_import_part_t *part, dt_err_t *err)
{
    msgpack_sbuffer_clear (&part->rows);
    part->count = part->first_line = 0;
    msgpack_packer pk;
    msgpack_packer_init (&pk, &part->rows, msgpack_sbuffer_write);
    //  A part ends when full, by rows or by bytes, before the next record
    while (!self->ended && part->count < self->part_rows
       &&  part->rows.size < CTL_IMPORT_PART_BYTES) {
        size_t line;
        int rc = ctl_csv_next (self->csv, &line, err);
        if (rc == -1)
            return -1;
        if (rc == 0) {
            self->ended = true;
            break;
        }
        if (ctl_csv_count (self->csv) != self->columns)
            return dt_err_set (err, "BAD_ARGS", "line %zu: %zu fields, the header has %zu",
                               line, ctl_csv_count (self->csv), self->columns);
        if (part->count == 0)
            part->first_line = line;
        if (s_row (&pk, self->csv, self->column, line, err))
            return -1;
        part->count++;
    }
    return part->count > 0;
}

int
ctl_import_read_percent (ctl_import_reader_t *self)
{
    return self->size? (int) (ctl_csv_offset (self->csv) * 100 / self->size): 100;
}

void
ctl_import_part_init (ctl_import_part_t *part)
{
    memset (part, 0, sizeof (*part));
    msgpack_sbuffer_init (&part->rows);
}

void
ctl_import_part_destroy (ctl_import_part_t *part)
{
    msgpack_sbuffer_destroy (&part->rows);
    memset (part, 0, sizeof (*part));
}

void
ctl_import_part_put (const ctl_import_part_t *part, args_t *args)
{
    msgpack_pack_array (args_key (args, "rows"), (uint32_t) part->count);
    if (part->rows.size)
        msgpack_sbuffer_write (&args->body, part->rows.data, part->rows.size);
}

int
ctl_import_rows (const char *data, size_t size, args_t *args, size_t *count,
                 dt_err_t *err)
{
    ctl_import_reader_t *reader = ctl_import_reader_new (data, size, DT_LIST_MAX, err);
    if (!reader)
        return -1;
    ctl_import_part_t first, second;
    ctl_import_part_init (&first);
    ctl_import_part_init (&second);
    int rc = ctl_import_next (reader, &first, err) < 0
          || ctl_import_next (reader, &second, err) < 0? -1: 0;
    if (rc == 0 && second.count && first.count == DT_LIST_MAX)
        rc = dt_err_set (err, "TOO_LARGE", "line %zu: one import takes at most %d rows: "
                         "split the file", second.first_line, DT_LIST_MAX);
    else
    if (rc == 0 && second.count)
        rc = dt_err_set (err, "TOO_LARGE", "line %zu: the rows before it fill one request: "
                         "split the file", second.first_line);
    else
    if (rc == 0) {
        ctl_import_part_put (&first, args);
        *count = first.count;
    }
    ctl_import_part_destroy (&first);
    ctl_import_part_destroy (&second);
    ctl_import_reader_destroy (&reader);
    return rc;
}

void
ctl_import_export (FILE *out, const msgpack_object *rows)
{
    ctl_import_export_rows (out, rows, true);
}

void
ctl_import_export_rows (FILE *out, const msgpack_object *rows, bool header)
{
    if (header)
        ctl_csv_write (out, s_keys, S_EXPORTED);
    for (uint32_t i = 0; rows && rows->type == MSGPACK_OBJECT_ARRAY && i < rows->via.array.size;
         i++) {
        const char *values [S_EXPORTED];
        for (int key = 0; key < S_EXPORTED; key++) {
            const msgpack_object *value = proto_map_get (&rows->via.array.ptr [i], s_keys [key]);
            values [key] = !value || value->type == MSGPACK_OBJECT_NIL? "":
                           ctl_print_text (value);
        }
        ctl_csv_write (out, values, S_EXPORTED);
    }
}

//  Self-test

/* Import text; on success return the JSON of the args map, else the error. */
static char *
s_import (const char *text, size_t *count)
{
    dt_err_t err;
    dt_err_init (&err);
    args_t args;
    args_init (&args);
    char *result = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&result, &size);
    if (ctl_import_rows (text, strlen (text), &args, count, &err) == 0) {
        msgpack_sbuffer packed;
        msgpack_sbuffer_init (&packed);
        args_finish (&args, &packed);
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        assert (msgpack_unpack_next (&unpacked, packed.data, packed.size, NULL)
                == MSGPACK_UNPACK_SUCCESS);
        ctl_json_print (out, &unpacked.data);
        msgpack_unpacked_destroy (&unpacked);
        msgpack_sbuffer_destroy (&packed);
    }
    else {
        assert (args.count == 0);
        fprintf (out, "ERROR %s", err.message);
    }
    fclose (out);
    args_destroy (&args);
    dt_err_reset (&err);
    return result;
}

static void
s_expect (const char *text, const char *expected)
{
    size_t count;
    char *got = s_import (text, &count);
    if (!streq (got, expected)) {
        fprintf (stderr, "\nimport %s\n expected %s\n      got %s\n", text, expected, got);
        assert (false);
    }
    free (got);
}

void
ctl_import_test (bool verbose)
{
    (void) verbose;
    //  Rows carry their file line, quoted fields and all
    s_expect ("\xEF\xBB\xBFid,name,referrer,group\r\nm-1,张三,,h-1\r\n\r\n"
              "m-2,\"李,\"\"四\"\"\nsecond\",m-1,\r\n",
              "{\"rows\":[{\"line\":2,\"id\":\"m-1\",\"name\":\"张三\",\"referrer\":\"\","
              "\"group\":\"h-1\"},{\"line\":4,\"id\":\"m-2\",\"name\":\"李,\\\"四\\\"\\nsecond\","
              "\"referrer\":\"m-1\",\"group\":\"\"}]}");
    //  hall or branch may name the group column; columns may be reordered or left out
    s_expect ("ID, Name ,hall\nm-1,a,h-1\n",
              "{\"rows\":[{\"line\":2,\"id\":\"m-1\",\"name\":\"a\",\"referrer\":\"\","
              "\"group\":\"h-1\"}]}");
    s_expect ("name,id,branch\nb,m-2,b-1\n",
              "{\"rows\":[{\"line\":2,\"id\":\"m-2\",\"name\":\"b\",\"referrer\":\"\","
              "\"group\":\"b-1\"}]}");
    s_expect ("id,name,referrer,group\n", "{\"rows\":[]}");
    //  tags and role, when given, only then
    s_expect ("id,name,tags,role\nm-1,a,city=成都;age=30,kol\nm-2,b,,\n",
              "{\"rows\":[{\"line\":2,\"id\":\"m-1\",\"name\":\"a\",\"referrer\":\"\","
              "\"group\":\"\",\"tags\":{\"city\":\"成都\",\"age\":\"30\"},\"role\":\"kol\"},"
              "{\"line\":3,\"id\":\"m-2\",\"name\":\"b\",\"referrer\":\"\",\"group\":\"\"}]}");
    s_expect ("id,name,tags\nm-1,a,city\n", "ERROR line 2: tag \"city\" is not KEY=VALUE "
              "(tags are KEY=VALUE;KEY=VALUE)");
    //  Syntax errors: nothing is added, the line is named
    s_expect ("", "ERROR line 1: missing header: the file is empty");
    s_expect ("m-1,张三,,h-1\n", "ERROR line 1: missing header: the first line must be "
              "id,name,referrer,group");
    s_expect ("id,name,city\n", "ERROR line 1: unknown column \"city\": the header is "
              "id,name,referrer,group (hall or branch may replace group; tags and role may "
              "follow)");
    s_expect ("id,name,hall,branch\n", "ERROR line 1: column group given twice");
    s_expect ("id,referrer\n", "ERROR line 1: missing header: the first line must be "
              "id,name,referrer,group");
    s_expect ("id,name,referrer,group\nm-1,a,,\nm-2,b,\n",
              "ERROR line 3: 3 fields, the header has 4");
    s_expect ("id,name,referrer,group\nm-1,\"a\n\nm-2,b,,\n",
              "ERROR line 2: unterminated quoted field");

    //  Export writes the same CSV back; importing it gives the same rows
    const char *text = "id,name,referrer,group\nm-1,\"张,三\",m-0,h-1\nm-2,\"say \"\"x\"\"\",,\n";
    size_t count;
    char *first = s_import (text, &count);
    assert (count == 2);
    msgpack_sbuffer packed;
    msgpack_sbuffer_init (&packed);
    args_t args;
    args_init (&args);
    dt_err_t err;
    dt_err_init (&err);
    assert (ctl_import_rows (text, strlen (text), &args, &count, &err) == 0);
    args_finish (&args, &packed);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    assert (msgpack_unpack_next (&unpacked, packed.data, packed.size, NULL)
            == MSGPACK_UNPACK_SUCCESS);
    char *csv = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&csv, &size);
    ctl_import_export (out, proto_map_get (&unpacked.data, "rows"));
    fclose (out);
    assert (streq (csv, text));
    char *second = s_import (csv, &count);
    assert (streq (first, second));
    free (first);
    free (second);
    free (csv);
    ctl_print_release ();
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&packed);
    args_destroy (&args);
    dt_err_reset (&err);
}
