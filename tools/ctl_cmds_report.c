/* ctl_cmds_report.c -- reports: the tree with seats against caps, and the audit log. */
#include "ctl.h"
#include "ctl_print.h"
#include "ctl_text.h"
#include "ctl_time.h"
#include "ctl_fake.h"
#include "op.h"

/* A page of the tree (ctl_call_list streams them): the hq line first, then
   one table for a page's branch and hall lines, so their columns line up. */
static void
s_show_tree (ctl_t *ctl, const msgpack_object *result)
{
    const msgpack_object *hq = proto_map_get (result, "hq");
    const msgpack_object *branches = ctl_array (result, "branches");
    uint32_t nbranches = branches? branches->via.array.size: 0;
    uint64_t halls = 0;
    for (uint32_t b = 0; b < nbranches; b++)
        halls += ctl_u (&branches->via.array.ptr [b], "halls");
    //  hq counts the whole tree (a server before paging: this one page)
    if (ctl->page == 0 && proto_map_get (hq, "branches"))
        fprintf (ctl->out, "hq  officers %s  members %s  unplaced %s  branches %s  halls %s\n",
                 ctl_v (hq, "officers"), ctl_v (hq, "members"), ctl_v (hq, "unplaced"),
                 ctl_v (hq, "branches"), ctl_v (hq, "halls"));
    else
    if (ctl->page == 0)
        fprintf (ctl->out, "hq  officers %s  members %s  unplaced %s  branches %u  halls %"
                 PRIu64 "\n", ctl_v (hq, "officers"), ctl_v (hq, "members"),
                 ctl_v (hq, "unplaced"), nbranches, halls);
    ctl_table_t *table = ctl_table_new ();
    for (uint32_t b = 0; b < nbranches; b++) {
        const msgpack_object *branch = &branches->via.array.ptr [b];
        const msgpack_object *node = proto_map_get (branch, "node");
        ctl_table_add (table, "%s (%s)", ctl_v (branch, "name"), ctl_v (branch, "id"));
        ctl_table_add (table, "leader %s", ctl_v (branch, "leader"));
        ctl_table_add (table, "core %s/%s", ctl_v (branch, "core_seats"), ctl_v (branch, "cap"));
        ctl_table_add (table, "halls %s", ctl_v (branch, "halls"));
        ctl_table_add (table, "%s%s", node && node->type == MSGPACK_OBJECT_STR? "node ": "",
                       node && node->type == MSGPACK_OBJECT_STR? ctl_v (branch, "node"): "");
        ctl_table_row (table);
        const msgpack_object *list = ctl_array (branch, "hall_list");
        for (uint32_t h = 0; list && h < list->via.array.size; h++) {
            const msgpack_object *hall = &list->via.array.ptr [h];
            ctl_table_add (table, "  %s (%s)", ctl_v (hall, "name"), ctl_v (hall, "id"));
            ctl_table_add (table, "leader %s", ctl_v (hall, "leader"));
            ctl_table_add (table, "seats %s/%s", ctl_v (hall, "seats"), ctl_v (hall, "cap"));
            ctl_table_row (table);
        }
    }
    ctl_table_print (table, ctl->out);
    ctl_table_destroy (&table);
}

#define CTL_AUDIT_CHANGES 12
#define CTL_AUDIT_MAX     10000     /* the largest limit of audit.list */

static void
s_show_audit (ctl_t *ctl, const msgpack_object *result)
{
    const msgpack_object *entries = ctl_array (result, "entries");
    for (uint32_t i = 0; entries && i < entries->via.array.size; i++) {
        const msgpack_object *entry = &entries->via.array.ptr [i];
        fprintf (ctl->out, "#%s  %s  %s  %s  ", ctl_v (entry, "seq"), ctl_when (entry, "ts"),
                 ctl_v (entry, "actor"), ctl_v (entry, "op"));
        ctl_print_args (ctl->out, proto_map_get (entry, "args"));
        fputc ('\n', ctl->out);
        //  A bulk command changes thousands of records: show the first ones
        //  (--json has them all)
        const msgpack_object *changes = ctl_array (entry, "changes");
        uint32_t count = changes? changes->via.array.size: 0;
        uint32_t shown = count > CTL_AUDIT_CHANGES? CTL_AUDIT_CHANGES: count;
        for (uint32_t c = 0; c < shown; c++)
            ctl_print_change (ctl->out, &changes->via.array.ptr [c]);
        //  A summary's changes are in its detail (PROTOCOL.md 6.8)
        uint64_t total = proto_map_get (entry, "changes_total")?
                         ctl_u (entry, "changes_total"): count;
        if (shown < total)
            fprintf (ctl->out, "  ... and %" PRIu64 " more changes (%s)\n", total - shown,
                     total > count? "kept in the entry's detail, checked by audit verify":
                     "--json lists them all");
    }
    if (ctl->page == 0 && (!entries || entries->via.array.size == 0))
        fprintf (ctl->out, "(no entries)\n");
}

/* TREE [--branch branch] */
static int
s_tree (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "branch", ctl_opt (line, "branch"));
    return ctl_call_list (ctl, line, "tree", "branches", 0, 0, true, s_show_tree);
}

/* AUDIT [--since time] [--limit n] */
static int
s_audit (ctl_t *ctl, ctl_line_t *line)
{
    const char *since = ctl_opt (line, "since");
    int64_t ms;
    if (since && ctl_time_parse (since, &ms))
        return ctl_usage (line, "--since takes a date (2026-11-23), a time "
                          "(2026-11-23T10:00) or milliseconds since 1970, not '%s'", since);
    if (since)
        args_int (&line->req, "since", ms);
    uint64_t limit;
    if (ctl_limit (line, ctl_opt (line, "limit"), &limit))
        return CTL_USAGE;
    //  A page cut short by its size goes on with the rest of the limit
    return ctl_call_list (ctl, line, "audit.list", "entries", limit, CTL_AUDIT_MAX, true,
                          s_show_audit);
}

/* AUDIT VERIFY */
static int
s_audit_verify (ctl_t *ctl, ctl_line_t *line)
{
    proto_reply_t reply;
    if (ctl_request (ctl, "audit.verify", &line->req, &reply))
        return CTL_FAIL;
    const msgpack_object *result = reply.result;
    const msgpack_object *ok = proto_map_get (result, "ok");
    bool good = ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
    if (ctl->json)
        ctl_result (ctl, result, NULL);
    int rc = CTL_OK;
    if (!good)
        rc = ctl_fail (ctl, "audit log broken at entry %s of %s: %s", ctl_v (result, "first_bad"),
                       ctl_v (result, "entries"), ctl_v (result, "reason"));
    else
    if (!ctl->json)
        fprintf (ctl->out, "OK: %s entries, hash chain intact\n", ctl_v (result, "entries"));
    proto_reply_release (&reply);
    return rc;
}

const ctl_cmd_t ctl_report_cmds [] = {
    { "tree", "", "tree [--branch BRANCH]", "branch:", 0, 0, s_tree,
      "Show the organisation: branches with core seats and halls with seats against caps." },
    { "audit", "", "audit [--since TIME] [--limit N]", "since: limit:", 0, 0, s_audit,
      "List audit entries with their changes (TIME: 2026-11-23, 2026-11-23T10:00, UTC "
      "unless it ends in Z or +08:00, or ms since 1970; N defaults to 100)." },
    { "audit", "verify", "audit verify", NULL, 0, 0, s_audit_verify,
      "Check the audit log's hash chain; exit 1 naming the first bad entry." },
    { NULL }
};

//  Self-test

void
ctl_cmds_report_test (bool verbose)
{
    (void) verbose;
    ctl_fake_t *fake = ctl_fake_new ();
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &result, msgpack_sbuffer_write);

    //  The tree: wide names count two columns, so the columns line up
    msgpack_pack_map (&pk, 2);
    proto_pack_key (&pk, "hq");
    op_args_text ("officers:=3 members:=1200 unplaced:=50", &result);
    proto_pack_key (&pk, "branches");
    msgpack_pack_array (&pk, 2);
    msgpack_pack_map (&pk, 8);
    proto_pack_key (&pk, "id"); proto_pack_str (&pk, "b-chengdu");
    proto_pack_key (&pk, "name"); proto_pack_str (&pk, "成都分舵");
    proto_pack_key (&pk, "leader"); proto_pack_str (&pk, "o-1");
    proto_pack_key (&pk, "cap"); msgpack_pack_uint32 (&pk, 200);
    proto_pack_key (&pk, "core_seats"); msgpack_pack_uint32 (&pk, 12);
    proto_pack_key (&pk, "halls"); msgpack_pack_uint32 (&pk, 2);
    proto_pack_key (&pk, "node"); proto_pack_str (&pk, "n-1");
    proto_pack_key (&pk, "hall_list"); msgpack_pack_array (&pk, 2);
    op_args_text ("id=h-cd-01 name=青羊堂口 leader=m-7 seats:=28 cap:=30", &result);
    op_args_text ("id=h-cd-02 name=Wuhou leader=m-8 seats:=3 cap:=30", &result);
    msgpack_pack_map (&pk, 7);
    proto_pack_key (&pk, "id"); proto_pack_str (&pk, "b-x");
    proto_pack_key (&pk, "name"); proto_pack_str (&pk, "X");
    proto_pack_key (&pk, "leader"); proto_pack_str (&pk, "o-22");
    proto_pack_key (&pk, "cap"); msgpack_pack_uint32 (&pk, 200);
    proto_pack_key (&pk, "core_seats"); msgpack_pack_uint32 (&pk, 0);
    proto_pack_key (&pk, "halls"); msgpack_pack_uint32 (&pk, 0);
    proto_pack_key (&pk, "node"); msgpack_pack_nil (&pk);
    ctl_fake_result (fake, &result);
    ctl_fake_expect (fake, "tree", CTL_OK, "tree {}",
        "hq  officers 3  members 1200  unplaced 50  branches 2  halls 2\n"
        "成都分舵 (b-chengdu)  leader o-1   core 12/200  halls 2  node n-1\n"
        "  青羊堂口 (h-cd-01)  leader m-7   seats 28/30\n"
        "  Wuhou (h-cd-02)     leader m-8   seats 3/30\n"
        "X (b-x)               leader o-22  core 0/200   halls 0\n", "");
    ctl_fake_expect (fake, "tree --branch b-x", CTL_OK, "tree {\"branch\":\"b-x\"}", NULL, "");

    //  Audit: TIME forms, the entry line and its changes
    msgpack_sbuffer_clear (&result);
    msgpack_pack_map (&pk, 1);
    proto_pack_key (&pk, "entries");
    msgpack_pack_array (&pk, 1);
    msgpack_pack_map (&pk, 6);
    proto_pack_key (&pk, "seq"); msgpack_pack_uint32 (&pk, 12);
    proto_pack_key (&pk, "ts"); msgpack_pack_int64 (&pk, 1795428030000LL);
    proto_pack_key (&pk, "actor"); proto_pack_str (&pk, "alice");
    proto_pack_key (&pk, "op"); proto_pack_str (&pk, "hall.rename");
    proto_pack_key (&pk, "args"); op_args_text ("id=h-1 name=新名", &result);
    proto_pack_key (&pk, "changes"); msgpack_pack_array (&pk, 1);
    msgpack_pack_map (&pk, 4);
    proto_pack_key (&pk, "table"); proto_pack_str (&pk, "hall");
    proto_pack_key (&pk, "key"); proto_pack_str (&pk, "h-1");
    proto_pack_key (&pk, "before"); op_args_text ("id=h-1 name=旧名 seats:=3", &result);
    proto_pack_key (&pk, "after"); op_args_text ("id=h-1 name=新名 seats:=3", &result);
    ctl_fake_result (fake, &result);
    const char *listing = "#12  2026-11-23T10:00:30Z  alice  hall.rename  id=h-1 name=新名\n"
                          "  ~ hall h-1  name 旧名→新名\n";
    ctl_fake_expect (fake, "audit --since 2026-11-23 --limit 5", CTL_OK,
        "audit.list {\"since\":1795392000000,\"limit\":5}", listing, "");
    ctl_fake_expect (fake, "audit --since 2026-11-23T10:00", CTL_OK,
        "audit.list {\"since\":1795428000000}", listing, "");
    ctl_fake_expect (fake, "audit --since 1795428000000", CTL_OK,
        "audit.list {\"since\":1795428000000}", listing, "");
    ctl_fake_expect (fake, "audit", CTL_OK, "audit.list {}", listing, "");
    ctl_fake_expect (fake, "audit --since yesterday", CTL_USAGE, "", "", NULL);
    ctl_fake_expect (fake, "audit --limit -1", CTL_USAGE, "", "", NULL);

    //  Verify: OK, or the first bad entry and exit 1
    ctl_fake_result_text (fake, "ok:=true entries:=1234");
    ctl_fake_expect (fake, "audit verify", CTL_OK, "audit.verify {}",
        "OK: 1234 entries, hash chain intact\n", "");
    ctl_fake_result_text (fake, "ok:=false entries:=1234 first_bad:=57 reason=hash_mismatch");
    ctl_fake_expect (fake, "audit verify", CTL_FAIL, "audit.verify {}", "",
        "duotangctl: audit log broken at entry 57 of 1234: hash_mismatch\n");
    ctl_fake_expect (fake, "audit verify --json", CTL_FAIL, "audit.verify {}",
        "{\"ok\":false,\"entries\":1234,\"first_bad\":57,\"reason\":\"hash_mismatch\"}\n", NULL);
    msgpack_sbuffer_destroy (&result);
    ctl_fake_destroy (&fake);
}
