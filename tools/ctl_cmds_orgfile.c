/* ctl_cmds_orgfile.c -- export org / import org: the whole tree as the
   duotangctl commands that rebuild it on a fresh hub.

   The file is a script a person can read and a shell can run: officers,
   nodes and branches; members (a referrer before those it referred, with
   tags); the core seats of hall leaders; halls; every other seat, reached
   through the member's first hall when that differs (join, then transfer or
   leave), so that first halls survive; roles; node assignments. Exporting
   the hub it was imported into gives the same file. */
#include "ctl.h"
#include "ctl_print.h"
#include "ctl_fake.h"

/* What the export keeps of a member between requests (a reply's strings
   live only until the next request). */
typedef struct {
    char *id, *name, *referrer, *group, *seat, *role, *first_hall;
    char **tags;                /* "k=v", ntags of them */
    size_t ntags;
    bool added;
} s_member_t;

static void
s_member_destroy (s_member_t **self_p)
{
    s_member_t *self = *self_p;
    if (self) {
        free (self->id); free (self->name); free (self->referrer); free (self->group);
        free (self->seat); free (self->role); free (self->first_hall);
        for (size_t i = 0; i < self->ntags; i++)
            free (self->tags [i]);
        free (self->tags);
        free (self);
        *self_p = NULL;
    }
}

/* map[key] as a new string, "" when absent, nil or not a string. */
static char *
s_dup (const msgpack_object *map, const char *key)
{
    const msgpack_object *value = proto_map_get (map, key);
    char *copy = value && value->type == MSGPACK_OBJECT_STR?
                 strndup (value->via.str.ptr, value->via.str.size): strdup ("");
    assert (copy);
    return copy;
}

/* One word of a command line, single-quoted unless it is plainly safe. */
static void
s_word (FILE *out, const char *word)
{
    bool plain = *word != 0;
    for (const char *p = word; *p && plain; p++)
        plain = isalnum ((unsigned char) *p) || strchr ("._,=:/@+-", *p)
             || (unsigned char) *p >= 0x80;
    fputc (' ', out);
    if (plain) {
        fputs (word, out);
        return;
    }
    fputc ('\'', out);
    for (const char *p = word; *p; p++)
        if (*p == '\'')
            fputs ("'\\''", out);
        else
            fputc (*p, out);
    fputc ('\'', out);
}

/* "duotangctl" and the words, then a newline; a NULL word ends them. */
static void
s_line (FILE *out, const char *first, ...)
{
    fputs ("duotangctl", out);
    va_list args;
    va_start (args, first);
    for (const char *word = first; word; word = va_arg (args, const char *))
        s_word (out, word);
    va_end (args);
    fputc ('\n', out);
}

/* The members, read through export.members and one member.show each. */
static int
s_read_members (ctl_t *ctl, zlistx_t *members, zhashx_t *by_id)
{
    proto_reply_t reply;
    args_t args;
    args_init (&args);
    int rc = ctl_request (ctl, "export.members", &args, &reply);
    args_destroy (&args);
    if (rc)
        return rc;
    const msgpack_object *rows = ctl_array (reply.result, "rows");
    for (uint32_t i = 0; rows && i < rows->via.array.size; i++) {
        s_member_t *member = (s_member_t *) zmalloc (sizeof (s_member_t));
        member->id = s_dup (&rows->via.array.ptr [i], "id");
        zlistx_add_end (members, member);
        zhashx_insert (by_id, member->id, member);
    }
    proto_reply_release (&reply);
    for (s_member_t *member = zlistx_first (members); member && rc == 0;
         member = zlistx_next (members)) {
        args_init (&args);
        args_str (&args, "id", member->id);
        rc = ctl_request (ctl, "member.show", &args, &reply);
        args_destroy (&args);
        if (rc)
            break;
        const msgpack_object *shown = proto_map_get (reply.result, "member");
        member->name = s_dup (shown, "name");
        member->referrer = s_dup (shown, "referrer");
        member->group = s_dup (shown, "group");
        member->seat = s_dup (shown, "seat");
        member->role = s_dup (shown, "role");
        member->first_hall = s_dup (shown, "first_hall");
        const msgpack_object *tags = proto_map_get (shown, "tags");
        uint32_t ntags = tags && tags->type == MSGPACK_OBJECT_MAP? tags->via.map.size: 0;
        member->tags = (char **) calloc (ntags + 1, sizeof (char *));
        for (uint32_t t = 0; t < ntags; t++) {
            const msgpack_object_kv *kv = &tags->via.map.ptr [t];
            if (kv->key.type == MSGPACK_OBJECT_STR && kv->val.type == MSGPACK_OBJECT_STR)
                member->tags [member->ntags++] = zsys_sprintf ("%.*s=%.*s",
                    (int) kv->key.via.str.size, kv->key.via.str.ptr,
                    (int) kv->val.via.str.size, kv->val.via.str.ptr);
        }
        proto_reply_release (&reply);
    }
    return rc;
}

/* member add, a referrer before the members it referred. */
static void
s_add_member (FILE *out, s_member_t *member, zhashx_t *by_id, int depth)
{
    if (member->added)
        return;
    member->added = true;
    s_member_t *referrer = *member->referrer? zhashx_lookup (by_id, member->referrer): NULL;
    if (referrer && depth < 10000)
        s_add_member (out, referrer, by_id, depth + 1);
    fputs ("duotangctl", out);
    s_word (out, "member");
    s_word (out, "add");
    s_word (out, member->id);
    s_word (out, member->name);
    if (*member->referrer) {
        s_word (out, "--referrer");
        s_word (out, member->referrer);
    }
    for (size_t t = 0; t < member->ntags; t++) {
        s_word (out, "--tag");
        s_word (out, member->tags [t]);
    }
    fputc ('\n', out);
}

/* EXPORT ORG */
static int
s_export_org (ctl_t *ctl, ctl_line_t *line)
{
    (void) line;
    zlistx_t *members = zlistx_new ();
    zlistx_set_destructor (members, (czmq_destructor *) s_member_destroy);
    zhashx_t *by_id = zhashx_new ();
    zhashx_t *halls = zhashx_new ();        //  hall id -> its branch
    zhashx_set_destructor (halls, (zhashx_destructor_fn *) zstr_free);
    zhashx_t *leaders = zhashx_new ();      //  hall leaders: core seats made first
    //  The tree and officers first: their replies are printed before the next
    char *text = NULL;
    size_t size = 0;
    FILE *head = open_memstream (&text, &size);
    proto_reply_t reply;
    args_t args;
    args_init (&args);
    int rc = ctl_request (ctl, "officer.list", &args, &reply);
    if (rc == 0) {
        fprintf (head, "# duotang organisation, written by duotangctl export org; "
                 "duotangctl import org FILE rebuilds it on a fresh hub\n");
        const msgpack_object *officers = ctl_array (reply.result, "officers");
        for (uint32_t i = 0; officers && i < officers->via.array.size; i++)
            s_line (head, "officer", "add", ctl_v (&officers->via.array.ptr [i], "id"),
                    ctl_v (&officers->via.array.ptr [i], "name"), NULL);
        proto_reply_release (&reply);
        rc = ctl_request (ctl, "tree", &args, &reply);
    }
    char *tail_text = NULL;
    size_t tail_size = 0;
    FILE *tail = open_memstream (&tail_text, &tail_size);
    char *hall_text = NULL;
    size_t hall_size = 0;
    FILE *hall_lines = open_memstream (&hall_text, &hall_size);
    if (rc == 0) {
        const msgpack_object *branches = ctl_array (reply.result, "branches");
        zhashx_t *nodes = zhashx_new ();
        for (uint32_t b = 0; branches && b < branches->via.array.size; b++) {
            const msgpack_object *branch = &branches->via.array.ptr [b];
            char *node = s_dup (branch, "node");
            if (*node && !zhashx_lookup (nodes, node)) {
                zhashx_insert (nodes, node, (void *) 1);
                s_line (head, "node", "add", node, NULL);
            }
            s_line (head, "branch", "create", ctl_v (branch, "id"), ctl_v (branch, "name"),
                    "--leader", ctl_v (branch, "leader"), "--cap", ctl_v (branch, "cap"), NULL);
            if (*node)
                s_line (tail, "branch", "assign", ctl_v (branch, "id"), "--node", node, NULL);
            free (node);
            const msgpack_object *list = ctl_array (branch, "hall_list");
            for (uint32_t h = 0; list && h < list->via.array.size; h++) {
                const msgpack_object *hall = &list->via.array.ptr [h];
                zhashx_update (halls, ctl_v (hall, "id"), strdup (ctl_v (branch, "id")));
                zhashx_update (leaders, ctl_v (hall, "leader"), (void *) 1);
                s_line (hall_lines, "hall", "create", ctl_v (hall, "id"), ctl_v (hall, "name"),
                        "--branch", ctl_v (branch, "id"), "--leader", ctl_v (hall, "leader"),
                        "--cap", ctl_v (hall, "cap"), NULL);
            }
        }
        zhashx_destroy (&nodes);
        proto_reply_release (&reply);
        rc = s_read_members (ctl, members, by_id);
    }
    args_destroy (&args);
    fclose (hall_lines);
    fclose (head);
    if (rc == 0) {
        fputs (text? text: "", ctl->out);
        for (s_member_t *m = zlistx_first (members); m; m = zlistx_next (members))
            s_add_member (ctl->out, m, by_id, 0);
        //  Hall leaders hold core seats in their branch before their hall exists
        for (s_member_t *m = zlistx_first (members); m; m = zlistx_next (members))
            if (zhashx_lookup (leaders, m->id) && streq (m->seat, "core"))
                s_line (ctl->out, "member", "join", m->id, "--branch", m->group, NULL);
        fputs (hall_text? hall_text: "", ctl->out);
        for (s_member_t *m = zlistx_first (members); m; m = zlistx_next (members)) {
            bool core = streq (m->seat, "core"), hall = streq (m->seat, "hall");
            if (core && zhashx_lookup (leaders, m->id))
                continue;
            //  A first hall that still exists is where the member is seated
            //  first, then moved on, as happened
            bool via_first = *m->first_hall && zhashx_lookup (halls, m->first_hall)
                          && !(hall && streq (m->group, m->first_hall));
            if (via_first)
                s_line (ctl->out, "member", "join", m->id, "--hall", m->first_hall, NULL);
            if (via_first && !core && !hall)
                s_line (ctl->out, "member", "leave", m->id, NULL);
            else
            if (core || hall)
                s_line (ctl->out, "member", via_first? "transfer": "join", m->id,
                        via_first? (core? "--to-branch": "--to-hall"): (core? "--branch": "--hall"),
                        m->group, NULL);
        }
        for (s_member_t *m = zlistx_first (members); m; m = zlistx_next (members))
            if (*m->role && !streq (m->role, "member") && !streq (m->role, "leader"))
                s_line (ctl->out, "member", "role", m->id, m->role, NULL);
        fclose (tail);
        fputs (tail_text? tail_text: "", ctl->out);
    }
    else
        fclose (tail);
    free (text);
    free (hall_text);
    free (tail_text);
    zhashx_destroy (&leaders);
    zhashx_destroy (&halls);
    zhashx_destroy (&by_id);
    zlistx_destroy (&members);
    return rc;
}

/* Split a line of the export into words: bare words, '...' quoting and
   \x escapes, as a shell reads them. Returns the count, -1 if unterminated. */
static int
s_split (char *text, char **words, int max)
{
    int count = 0;
    char *in = text;
    while (*in) {
        while (*in == ' ' || *in == '\t')
            in++;
        if (!*in)
            break;
        if (count == max)
            return -1;
        char *out = in;
        words [count++] = out;
        while (*in && *in != ' ' && *in != '\t') {
            if (*in == '\'') {
                for (in++; *in && *in != '\''; )
                    *out++ = *in++;
                if (*in != '\'')
                    return -1;
                in++;
            }
            else
            if (*in == '\\' && in [1]) {
                *out++ = in [1];
                in += 2;
            }
            else
                *out++ = *in++;
        }
        char *next = *in? in + 1: in;
        *out = 0;
        in = next;
    }
    return count;
}

/* IMPORT ORG file -- one command after another; the first failure stops */
static int
s_import_org (ctl_t *ctl, ctl_line_t *line)
{
    const char *path = line->argv [0];
    FILE *file = streq (path, "-")? stdin: fopen (path, "r");
    if (!file)
        return ctl_fail (ctl, "%s cannot be read: %s", path, strerror (errno));
    FILE *out = ctl->out;
    FILE *quiet = fopen ("/dev/null", "w");
    bool json = ctl->json;
    char *text = NULL;
    size_t room = 0;
    ssize_t got;
    int number = 0, done = 0, rc = CTL_OK;
    while (rc == CTL_OK && (got = getline (&text, &room, file)) >= 0) {
        number++;
        while (got > 0 && (text [got - 1] == '\n' || text [got - 1] == '\r'))
            text [--got] = 0;
        char *words [64];
        int count = s_split (text, words, 64);
        if (count == 0 || words [0][0] == '#')
            continue;
        if (count < 3 || !streq (words [0], "duotangctl")) {
            rc = ctl_fail (ctl, "%s line %d: not a duotangctl command", path, number);
            break;
        }
        //  Each command's own output is not this one's
        ctl->out = quiet? quiet: out;
        ctl->json = false;
        rc = ctl_run (ctl, count - 1, words + 1);
        ctl->out = out;
        if (rc != CTL_OK)
            rc = ctl_fail (ctl, "%s line %d: stopped after %d commands (fix it, then run "
                           "the rest)", path, number, done);
        else
            done++;
    }
    ctl->json = json;
    free (text);
    if (quiet)
        fclose (quiet);
    if (file != stdin)
        fclose (file);
    if (rc == CTL_OK) {
        if (ctl->json)
            fprintf (ctl->out, "{\"commands\":%d}\n", done);
        else
            fprintf (ctl->out, _("imported %s: %d commands\n"), path, done);
    }
    return rc == CTL_USAGE? CTL_FAIL: rc;
}

const ctl_cmd_t ctl_orgfile_cmds [] = {
    { "export", "org", "export org", NULL, 0, 0, s_export_org,
      N_("Write the whole tree (officers, nodes, branches, halls, members with tags, roles, "
      "referrers and first halls) as the duotangctl commands that rebuild it.")},
    { "import", "org", "import org FILE", NULL, 1, 1, s_import_org,
      N_("Run an export org file against a fresh hub, one command after another.")},
    { NULL }
};

//  Self-test

void
ctl_cmds_orgfile_test (bool verbose)
{
    (void) verbose;
    char text [] = "duotangctl member add m-1 '张 三'\\''s' --tag city=成都  ";
    char *words [8];
    assert (s_split (text, words, 8) == 7);
    assert (streq (words [4], "张 三's") && streq (words [6], "city=成都"));
    char bad [] = "duotangctl 'open";
    assert (s_split (bad, words, 8) == -1);
    char *out = NULL;
    size_t size = 0;
    FILE *file = open_memstream (&out, &size);
    s_line (file, "member", "add", "m-1", "张 三's", "--tag", "k=v w", NULL);
    fclose (file);
    assert (streq (out, "duotangctl member add m-1 '张 三'\\''s' --tag 'k=v w'\n"));
    free (out);
}
