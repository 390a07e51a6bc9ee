/* ctl_cmds_admin.c -- session, keys, nodes and node-local requests. */
#include "ctl.h"
#include "dt_daemon.h"
#include "ctl_print.h"
#include "ctl_text.h"
#include "ctl_fake.h"
#include "keys.h"
#include "op.h"

static void
s_show_hello (ctl_t *ctl, const msgpack_object *result)
{
    const char *role = ctl_v (result, "role");
    char *scope = streq (role, "hq-admin")? strdup (_("all branches")):
        streq (role, "node")? zsys_sprintf (_("node %s: branches %s"), ctl_v (result, "node"),
                                            ctl_v (result, "branches")):
        zsys_sprintf (_("branches %s"), ctl_v (result, "branches"));
    ctl_table_t *table = ctl_table_new ();
    ctl_table_cells (table, _("server"), ctl_v (result, "server"), NULL);
    ctl_table_cells (table, _("protocol"), ctl_v (result, "version"), NULL);
    ctl_table_cells (table, _("key"), ctl_v (result, "key"), NULL);
    ctl_table_cells (table, _("role"), role, NULL);
    ctl_table_cells (table, _("scope"), scope, NULL);
    ctl_table_print (table, ctl->out);
    ctl_table_destroy (&table);
    free (scope);
}

static void
s_show_key (ctl_t *ctl, const msgpack_object *result)
{
    ctl_print_key (ctl->out, result);
}

static void
s_show_node (ctl_t *ctl, const msgpack_object *result)
{
    ctl_print_node (ctl->out, result);
}

/* A result as "  key  value" lines, a map inside a map indented under its
   key: what request status shows of the forwarded request's result. */
static void
s_print_fields (FILE *out, const msgpack_object *value, int depth)
{
    if (value->type != MSGPACK_OBJECT_MAP) {
        fprintf (out, "%*s", depth * 2, "");
        ctl_print_compact (out, value);
        fputc ('\n', out);
        return;
    }
    size_t width = 0;
    for (uint32_t i = 0; i < value->via.map.size; i++)
        if (value->via.map.ptr [i].key.type == MSGPACK_OBJECT_STR
        &&  value->via.map.ptr [i].key.via.str.size > width)
            width = value->via.map.ptr [i].key.via.str.size;
    for (uint32_t i = 0; i < value->via.map.size; i++) {
        const msgpack_object_kv *kv = &value->via.map.ptr [i];
        const char *key = kv->key.type == MSGPACK_OBJECT_STR? kv->key.via.str.ptr: "?";
        int len = kv->key.type == MSGPACK_OBJECT_STR? (int) kv->key.via.str.size: 1;
        if (kv->val.type == MSGPACK_OBJECT_MAP && kv->val.via.map.size) {
            fprintf (out, "%*s%.*s:\n", depth * 2, "", len, key);
            s_print_fields (out, &kv->val, depth + 1);
        }
        else {
            fprintf (out, "%*s%-*.*s  ", depth * 2, "", (int) width, len, key);
            if (kv->val.type == MSGPACK_OBJECT_STR)
                fprintf (out, "%.*s", (int) kv->val.via.str.size, kv->val.via.str.ptr);
            else
                ctl_print_compact (out, &kv->val);
            fputc ('\n', out);
        }
    }
}

static void
s_show_status (ctl_t *ctl, const msgpack_object *result)
{
    const char *state = ctl_v (result, "state");
    const char *meaning = streq (state, "pending")? _("queued at this node, the hub not "
                          "reached yet"): streq (state, "done")? _("the hub applied it"):
                          streq (state, "failed")? _("the hub refused it"): "";
    fprintf (ctl->out, _("ticket %s: %s%s%s%s\n"), ctl_v (result, "ticket"), state,
             *meaning? " (": "", meaning, *meaning? ")": "");
    const msgpack_object *error = proto_map_get (result, "error");
    const msgpack_object *value = proto_map_get (result, "result");
    if (error && error->type == MSGPACK_OBJECT_MAP)
        fprintf (ctl->out, _("error %s: %s\n"), ctl_v (error, "code"), ctl_v (error, "message"));
    else
    if (value && value->type != MSGPACK_OBJECT_NIL)
        s_print_fields (ctl->out, value, 1);
}

static void
s_show_public (ctl_t *ctl, const msgpack_object *result)
{
    fprintf (ctl->out, "%s\n", ctl_v (result, "public_key"));
}

/* HELLO */
static int
s_hello (ctl_t *ctl, ctl_line_t *line)
{
    msgpack_packer *pk = args_key (&line->req, "versions");
    msgpack_pack_array (pk, 1);
    msgpack_pack_uint32 (pk, DT_PROTO_VERSION);
    return ctl_call (ctl, line, "hello", s_show_hello);
}

/* KEY NEW name [--dir dir] -- local: no request */
static int
s_key_new (ctl_t *ctl, ctl_line_t *line)
{
    const char *name = line->argv [0];
    const char *dir = ctl_opt (line, "dir")? ctl_opt (line, "dir"): ".";
    if (!dt_id_valid (name, strlen (name)))
        return ctl_usage (line, "key name '%s' is not an id ([A-Za-z0-9._-], "
                          "first alphanumeric, at most %d)", name, DT_ID_MAX);
    char prefix [PATH_MAX], path [PATH_MAX + 8];
    snprintf (prefix, sizeof (prefix), "%s/%s", dir, name);
    snprintf (path, sizeof (path), "%s.pub", prefix);
    dt_err_t err;
    dt_err_init (&err);
    zcert_t *cert = NULL;
    //  --dir ~/.duotang on a fresh machine: the directory is made, private
    if (dt_daemon_mkdirs (dir))
        dt_err_set (&err, "INTERNAL", "directory %s cannot be created: %s", dir,
                    strerror (errno));
    else
    if (keys_create (prefix, name, &err) == 0)
        cert = keys_load_public (path, &err);
    int rc = cert? CTL_OK: ctl_fail (ctl, "%s", ctl_lang_of (&err));
    if (cert) {
        //  The result has the same shape in both output modes
        args_str (&line->req, "name", name);
        args_str (&line->req, "public_key", zcert_public_txt (cert));
        args_str (&line->req, "public_file", path);
        snprintf (path, sizeof (path), "%s.key", prefix);
        args_str (&line->req, "secret_file", path);
        msgpack_sbuffer packed;
        msgpack_sbuffer_init (&packed);
        args_finish (&line->req, &packed);
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        msgpack_unpack_next (&unpacked, packed.data, packed.size, NULL);
        ctl_result (ctl, &unpacked.data, s_show_public);
        msgpack_unpacked_destroy (&unpacked);
        msgpack_sbuffer_destroy (&packed);
    }
    zcert_destroy (&cert);
    dt_err_reset (&err);
    return rc;
}

/* KEY ALLOW name --role role [--node node] [--branch branch ...] --public file|z85 */
static int
s_key_allow (ctl_t *ctl, ctl_line_t *line)
{
    dt_err_t err;
    dt_err_init (&err);
    zcert_t *cert = keys_load_public (ctl_opt (line, "public"), &err);
    if (!cert) {
        ctl_fail (ctl, "%s", ctl_lang_of (&err));
        dt_err_reset (&err);
        return CTL_FAIL;
    }
    args_str (&line->req, "name", line->argv [0]);
    args_str (&line->req, "public_key", zcert_public_txt (cert));
    args_str (&line->req, "role", ctl_opt (line, "role"));
    args_str (&line->req, "node", ctl_opt (line, "node"));
    if (ctl_opt (line, "branch"))
        ctl_put_list (line, "branches", "branch");
    zcert_destroy (&cert);
    return ctl_call (ctl, line, "key.allow", s_show_key);
}

/* KEY REVOKE name */
static int
s_key_revoke (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "name", line->argv [0]);
    return ctl_call (ctl, line, "key.revoke", s_show_key);
}

/* KEY LIST */
static int
s_key_list (ctl_t *ctl, ctl_line_t *line)
{
    return ctl_show_zone (ctl)? CTL_FAIL:
           ctl_call_table (ctl, line, "key.list", "keys", &ctl_keys_table);
}

/* NODE ADD id */
static int
s_node_add (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "id", line->argv [0]);
    return ctl_call (ctl, line, "node.add", s_show_node);
}

/* NODE LIST */
static int
s_node_list (ctl_t *ctl, ctl_line_t *line)
{
    return ctl_show_zone (ctl)? CTL_FAIL:
           ctl_call_table (ctl, line, "node.list", "nodes", &ctl_nodes_table);
}

/* REQUEST STATUS ticket -- asked of a node */
static int
s_request_status (ctl_t *ctl, ctl_line_t *line)
{
    if (ctl_put_uint (line, "ticket", line->argv [0], "TICKET"))
        return CTL_USAGE;
    return ctl_call (ctl, line, "request.status", s_show_status);
}

const ctl_cmd_t ctl_admin_cmds [] = {
    { "hello", "", "hello", NULL, 0, 0, s_hello,
      N_("Show the server, its protocol version, and this key's role and scope.")},
    { "key", "new", "key new NAME [--dir DIR]", "dir:", 1, 1, s_key_new,
      N_("Create a key pair DIR/NAME.pub and DIR/NAME.key (mode 0600) here, no server "
      "needed; print the public key.")},
    { "key", "allow", "key allow NAME --role hq-admin|node|leader [--node NODE] "
      "[--branch BRANCH ...] --public FILE|Z85", "role:! node: branch:* public:!", 1, 1,
      s_key_allow, N_("Admit a public key with a role: hq-admin (everything), node (bound to "
      "--node) or leader (the --branch list).")},
    { "key", "revoke", "key revoke NAME", NULL, 1, 1, s_key_revoke,
      N_("Revoke a key: its every further request fails.")},
    { "key", "list", "key list", NULL, 0, 0, s_key_list, N_("List keys with role and scope.")},
    { "node", "add", "node add NODE", NULL, 1, 1, s_node_add,
      N_("Register a node (then: branch assign, and key allow --role node).")},
    { "node", "list", "node list", NULL, 0, 0, s_node_list,
      N_("List nodes with connection, replication lag and outbox.")},
    { "request", "status", "request status TICKET", NULL, 1, 1, s_request_status,
      N_("Ask a node what became of a request it queued while the hub was away.")},
    { NULL }
};

//  Self-test

void
ctl_cmds_admin_test (bool verbose)
{
    (void) verbose;
    ctl_fake_t *fake = ctl_fake_new ();
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);

    ctl_fake_result_text (fake, "version:=1 server=duotang-hub role=leader key=alice "
                          "branches=[b-1,b-2]");
    ctl_fake_expect (fake, "hello", CTL_OK, "hello {\"versions\":[1]}",
        "server    duotang-hub\nprotocol  1\nkey       alice\nrole      leader\n"
        "scope     branches b-1,b-2\n", "");

    //  key new is local; allow sends the Z85 text of a file or of the argument
    char dir [] = "/tmp/ctl-keys-XXXXXX";
    assert (mkdtemp (dir));
    char cmdline [256];
    snprintf (cmdline, sizeof (cmdline), "key new alice --dir %s", dir);
    ctl_fake_expect (fake, cmdline, CTL_OK, "", NULL, "");
    char z85 [41];
    snprintf (z85, sizeof (z85), "%s", ctl_fake_out (fake));
    assert (strlen (ctl_fake_out (fake)) == 41 && ctl_fake_out (fake) [40] == '\n');
    ctl_fake_expect (fake, cmdline, CTL_FAIL, "", "", NULL);
    assert (strstr (ctl_fake_err (fake), "already exist"));
    snprintf (cmdline, sizeof (cmdline), "key new bob --dir %s --json", dir);
    ctl_fake_expect (fake, cmdline, CTL_OK, "", NULL, "");
    assert (strstr (ctl_fake_out (fake), "\"secret_file\":\"/tmp/ctl-keys-"));
    //  A directory that does not exist yet is made
    snprintf (cmdline, sizeof (cmdline), "key new carol --dir %s/sub/dir", dir);
    ctl_fake_expect (fake, cmdline, CTL_OK, "", NULL, "");
    snprintf (cmdline, sizeof (cmdline), "%s/sub/dir/carol.key", dir);
    assert (zsys_file_exists (cmdline));
    unlink (cmdline);
    snprintf (cmdline, sizeof (cmdline), "%s/sub/dir/carol.pub", dir);
    unlink (cmdline);
    snprintf (cmdline, sizeof (cmdline), "%s/sub/dir", dir);
    rmdir (cmdline);
    snprintf (cmdline, sizeof (cmdline), "%s/sub", dir);
    rmdir (cmdline);
    ctl_fake_expect (fake, "key new -bad", CTL_USAGE, "", "", NULL);
    ctl_fake_expect (fake, "key new ../x", CTL_USAGE, "", "", NULL);

    ctl_fake_result_text (fake, "name=alice public_key=K role=leader branches=[b-1,b-2]");
    snprintf (cmdline, sizeof (cmdline), "key allow alice --role leader --branch b-1 "
              "--branch b-2 --public %s/alice.pub", dir);
    char expected [256];
    snprintf (expected, sizeof (expected), "key.allow {\"name\":\"alice\",\"public_key\":"
              "\"%s\",\"role\":\"leader\",\"branches\":[\"b-1\",\"b-2\"]}", z85);
    ctl_fake_expect (fake, cmdline, CTL_OK, expected,
        "key alice: role leader, branches b-1,b-2, public key K\n", "");
    snprintf (cmdline, sizeof (cmdline), "key allow n1 --role node --node n-1 --public %s", z85);
    snprintf (expected, sizeof (expected), "key.allow {\"name\":\"n1\",\"public_key\":"
              "\"%s\",\"role\":\"node\",\"node\":\"n-1\"}", z85);
    ctl_fake_expect (fake, cmdline, CTL_OK, expected, NULL, "");
    ctl_fake_expect (fake, "key allow x --role node --public /no/such.pub", CTL_FAIL, "", "",
        "duotangctl: /no/such.pub is neither a public key file nor a Z85 key\n");
    snprintf (cmdline, sizeof (cmdline), "%s/alice.pub", dir);
    unlink (cmdline);
    snprintf (cmdline, sizeof (cmdline), "%s/alice.key", dir);
    unlink (cmdline);
    snprintf (cmdline, sizeof (cmdline), "%s/bob.pub", dir);
    unlink (cmdline);
    snprintf (cmdline, sizeof (cmdline), "%s/bob.key", dir);
    unlink (cmdline);
    rmdir (dir);

    ctl_fake_result_text (fake, "name=alice public_key=K role=hq-admin revoked:=true");
    ctl_fake_expect (fake, "key revoke alice", CTL_OK, "key.revoke {\"name\":\"alice\"}",
        "key alice: role hq-admin, all branches, public key K, revoked\n", "");

    msgpack_packer pk;
    msgpack_packer_init (&pk, &result, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    proto_pack_key (&pk, "nodes");
    msgpack_pack_array (&pk, 2);
    op_args_text ("id=n-1 connected:=true last_seen:=1795428030000 applied:=120 head:=125 "
                  "lag_changes:=5 lag_ms:=40 outbox:=0 content_items:=17 content_waiting:=0 "
                  "branches=[b-1,b-2]", &result);
    op_args_text ("id=n-22 connected:=false applied:=0 head:=125 lag_changes:=125 "
                  "lag_ms:=0 outbox:=3 content_items:=0 content_waiting:=250 branches=[]",
                  &result);
    ctl_fake_result (fake, &result);
    ctl_fake_expect (fake, "node list", CTL_OK, "node.list {}",
        "ID    CONNECTED  LAST SEEN             APPLIED  LAG CHANGES  LAG MS  OUTBOX  CONTENT  WAITING UP  BRANCHES\n"
        "n-1   yes        2026-11-23T10:00:30Z      120            5      40       0       17           0  b-1,b-2\n"
        "n-22  no         never                       0          125       0       3        0         250  -\n", "");
    ctl_fake_expect (fake, "node add n-1", CTL_OK, "node.add {\"id\":\"n-1\"}", NULL, "");

    ctl_fake_result_text (fake, "ticket:=7 state=done result={id=m-1}");
    ctl_fake_expect (fake, "request status 7", CTL_OK, "request.status {\"ticket\":7}",
        "ticket 7: done (the hub applied it)\n  id  m-1\n", "");
    ctl_fake_result_text (fake, "ticket:=9 state=failed error={code=FULL,message=full}");
    ctl_fake_expect (fake, "request status 9", CTL_OK, "request.status {\"ticket\":9}",
        "ticket 9: failed (the hub refused it)\nerror FULL: full\n", "");
    ctl_fake_expect (fake, "request status seven", CTL_USAGE, "", "", NULL);

    //  A node's answer while the hub is away: a ticket instead of the result
    ctl_fake_result_text (fake, "state=pending ticket:=8");
    ctl_fake_expect (fake, "member leave m-1", CTL_OK, "member.leave {\"id\":\"m-1\"}",
        NULL, "");
    //  The hint reaches the node the command reached
    const char *hint = ctl_fake_out (fake);
    assert (strstr (hint, "pending: the node has queued this request for the hub; follow "
                    "it with: duotangctl -e inproc://ctl-fake-"));
    assert (strstr (hint, " --insecure request status 8\n"));
    msgpack_sbuffer_destroy (&result);
    ctl_fake_destroy (&fake);
}
