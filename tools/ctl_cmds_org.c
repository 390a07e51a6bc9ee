/* ctl_cmds_org.c -- the organisation commands: officer, branch and hall. */
#include "ctl.h"
#include "ctl_print.h"
#include "ctl_fake.h"
#include "op.h"

//  How results are shown

static void
s_show_officer (ctl_t *ctl, const msgpack_object *result)
{
    ctl_print_officer (ctl->out, result);
}

static void
s_show_branch (ctl_t *ctl, const msgpack_object *result)
{
    ctl_print_branch (ctl->out, result);
}

static void
s_show_hall (ctl_t *ctl, const msgpack_object *result)
{
    ctl_print_hall (ctl->out, result);
}

/* hall.move takes the hall leader's core seat along (PROTOCOL.md 6.4): say so,
   it is not only the audit's to know. */
static void
s_show_hall_moved (ctl_t *ctl, const msgpack_object *result)
{
    ctl_print_hall (ctl->out, result);
    fprintf (ctl->out, _("the leader %s's core seat moved with the hall to branch %s\n"),
             ctl_v (result, "leader"), ctl_v (result, "branch"));
}

static void
s_show_branch_dissolved (ctl_t *ctl, const msgpack_object *result)
{
    fprintf (ctl->out, _("branch %s dissolved: %s halls and %s core members moved, "
             "%s members released\n"), ctl_v (result, "dissolved"),
             ctl_v (result, "moved_halls"), ctl_v (result, "moved_members"),
             ctl_v (result, "released"));
}

static void
s_show_branch_detail (ctl_t *ctl, const msgpack_object *result)
{
    const msgpack_object *branch = proto_map_get (result, "branch");
    const msgpack_object *halls = ctl_array (result, "halls");
    const msgpack_object *core = ctl_array (result, "core");
    ctl_print_branch (ctl->out, branch);
    fprintf (ctl->out, _("created %s\n\nhalls (%u):\n"), ctl_when (branch, "created"),
             halls? halls->via.array.size: 0);
    ctl_print_halls (ctl->out, halls);
    fprintf (ctl->out, _("\ncore seats (%u):\n"), core? core->via.array.size: 0);
    ctl_print_members (ctl->out, core);
}

static void
s_show_merged (ctl_t *ctl, const msgpack_object *result)
{
    const msgpack_object *into = proto_map_get (result, "into");
    fprintf (ctl->out, _("hall %s merged into %s: %s members moved\n"), ctl_v (result, "merged"),
             ctl_v (into, "id"), ctl_v (result, "moved"));
    ctl_print_hall (ctl->out, into);
}

static void
s_show_split (ctl_t *ctl, const msgpack_object *result)
{
    const msgpack_object *from = proto_map_get (result, "from");
    const msgpack_object *fresh = proto_map_get (result, "new");
    fprintf (ctl->out, _("hall %s split: %s members moved to %s\n"), ctl_v (from, "id"),
             ctl_v (result, "moved"), ctl_v (fresh, "id"));
    ctl_print_hall (ctl->out, from);
    ctl_print_hall (ctl->out, fresh);
}

static void
s_show_hall_dissolved (ctl_t *ctl, const msgpack_object *result)
{
    fprintf (ctl->out, _("hall %s dissolved: %s members moved, %s members released\n"),
             ctl_v (result, "dissolved"), ctl_v (result, "moved"), ctl_v (result, "released"));
}

static void
s_show_hall_detail (ctl_t *ctl, const msgpack_object *result)
{
    const msgpack_object *hall = proto_map_get (result, "hall");
    const msgpack_object *members = ctl_array (result, "members");
    ctl_print_hall (ctl->out, hall);
    fprintf (ctl->out, _("created %s\n\nmembers (%u):\n"), ctl_when (hall, "created"),
             members? members->via.array.size: 0);
    ctl_print_members (ctl->out, members);
}

//  Shared shapes: "ID NAME", "ID N" (a cap), dissolve's --into | --release

static int
s_id_name (ctl_t *ctl, ctl_line_t *line, const char *op, ctl_show_fn *show)
{
    args_str (&line->req, "id", line->argv [0]);
    args_str (&line->req, "name", line->argv [1]);
    return ctl_call (ctl, line, op, show);
}

static int
s_set_cap (ctl_t *ctl, ctl_line_t *line, const char *op, ctl_show_fn *show)
{
    args_str (&line->req, "id", line->argv [0]);
    if (ctl_put_uint (line, "cap", line->argv [1], "cap"))
        return CTL_USAGE;
    return ctl_call (ctl, line, op, show);
}

static int
s_dissolve (ctl_t *ctl, ctl_line_t *line, const char *op, ctl_show_fn *show)
{
    if (ctl_one_of (line, "into", "release", false))
        return CTL_USAGE;
    args_str (&line->req, "id", line->argv [0]);
    args_str (&line->req, "into", ctl_opt (line, "into"));
    if (ctl_opt (line, "release"))
        args_bool (&line->req, "release", true);
    return ctl_call (ctl, line, op, show);
}

/* The id, one option under its request key, and the op. */
static int
s_id_opt (ctl_t *ctl, ctl_line_t *line, const char *key, const char *option, const char *op,
          ctl_show_fn *show)
{
    args_str (&line->req, "id", line->argv [0]);
    args_str (&line->req, key, ctl_opt (line, option));
    return ctl_call (ctl, line, op, show);
}

//  Officers

/* OFFICER ADD id name */
static int
s_officer_add (ctl_t *ctl, ctl_line_t *line)
{
    return s_id_name (ctl, line, "officer.add", s_show_officer);
}

/* OFFICER LIST */
static int
s_officer_list (ctl_t *ctl, ctl_line_t *line)
{
    return ctl_show_zone (ctl)? CTL_FAIL:
           ctl_call_table (ctl, line, "officer.list", "officers", &ctl_officers_table);
}

//  Branches

/* BRANCH CREATE id name --leader officer [--cap n] */
static int
s_branch_create (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "id", line->argv [0]);
    args_str (&line->req, "name", line->argv [1]);
    args_str (&line->req, "leader", ctl_opt (line, "leader"));
    if (ctl_put_uint (line, "cap", ctl_opt (line, "cap"), "--cap"))
        return CTL_USAGE;
    return ctl_call (ctl, line, "branch.create", s_show_branch);
}

/* BRANCH RENAME id name */
static int
s_branch_rename (ctl_t *ctl, ctl_line_t *line)
{
    return s_id_name (ctl, line, "branch.rename", s_show_branch);
}

/* BRANCH SET-CAP id n */
static int
s_branch_set_cap (ctl_t *ctl, ctl_line_t *line)
{
    return s_set_cap (ctl, line, "branch.set_cap", s_show_branch);
}

/* BRANCH HANDOVER id --to officer */
static int
s_branch_handover (ctl_t *ctl, ctl_line_t *line)
{
    return s_id_opt (ctl, line, "to", "to", "branch.handover", s_show_branch);
}

/* BRANCH DISSOLVE id [--into branch | --release] */
static int
s_branch_dissolve (ctl_t *ctl, ctl_line_t *line)
{
    return s_dissolve (ctl, line, "branch.dissolve", s_show_branch_dissolved);
}

/* BRANCH ASSIGN id --node node */
static int
s_branch_assign (ctl_t *ctl, ctl_line_t *line)
{
    return s_id_opt (ctl, line, "node", "node", "branch.assign", s_show_branch);
}

/* BRANCH LIST */
static int
s_branch_list (ctl_t *ctl, ctl_line_t *line)
{
    return ctl_call_table (ctl, line, "branch.list", "branches", &ctl_branches_table);
}

/* BRANCH SHOW id */
static int
s_branch_show (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "id", line->argv [0]);
    return ctl_show_zone (ctl)? CTL_FAIL:
           ctl_call (ctl, line, "branch.show", s_show_branch_detail);
}

//  Halls

/* HALL CREATE id name --branch branch --leader member [--cap n] */
static int
s_hall_create (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "id", line->argv [0]);
    args_str (&line->req, "name", line->argv [1]);
    args_str (&line->req, "branch", ctl_opt (line, "branch"));
    args_str (&line->req, "leader", ctl_opt (line, "leader"));
    if (ctl_put_uint (line, "cap", ctl_opt (line, "cap"), "--cap"))
        return CTL_USAGE;
    return ctl_call (ctl, line, "hall.create", s_show_hall);
}

/* HALL RENAME id name */
static int
s_hall_rename (ctl_t *ctl, ctl_line_t *line)
{
    return s_id_name (ctl, line, "hall.rename", s_show_hall);
}

/* HALL SET-CAP id n */
static int
s_hall_set_cap (ctl_t *ctl, ctl_line_t *line)
{
    return s_set_cap (ctl, line, "hall.set_cap", s_show_hall);
}

/* HALL MOVE id --to branch */
static int
s_hall_move (ctl_t *ctl, ctl_line_t *line)
{
    return s_id_opt (ctl, line, "to", "to", "hall.move", s_show_hall_moved);
}

/* HALL MERGE id --into hall */
static int
s_hall_merge (ctl_t *ctl, ctl_line_t *line)
{
    return s_id_opt (ctl, line, "into", "into", "hall.merge", s_show_merged);
}

/* HALL SPLIT id --new id2 name2 --leader member --members m1,m2,... */
static int
s_hall_split (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "id", line->argv [0]);
    args_str (&line->req, "new_id", ctl_opt (line, "new"));
    args_str (&line->req, "new_name", line->argv [1]);
    args_str (&line->req, "leader", ctl_opt (line, "leader"));
    ctl_put_list (line, "members", "members");
    return ctl_call (ctl, line, "hall.split", s_show_split);
}

/* HALL HANDOVER id --to member */
static int
s_hall_handover (ctl_t *ctl, ctl_line_t *line)
{
    return s_id_opt (ctl, line, "to", "to", "hall.handover", s_show_hall);
}

/* HALL DISSOLVE id [--into hall | --release] */
static int
s_hall_dissolve (ctl_t *ctl, ctl_line_t *line)
{
    return s_dissolve (ctl, line, "hall.dissolve", s_show_hall_dissolved);
}

/* HALL LIST [--branch branch] */
static int
s_hall_list (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "branch", ctl_opt (line, "branch"));
    return ctl_call_table (ctl, line, "hall.list", "halls", &ctl_halls_table);
}

/* HALL SHOW id */
static int
s_hall_show (ctl_t *ctl, ctl_line_t *line)
{
    args_str (&line->req, "id", line->argv [0]);
    return ctl_show_zone (ctl)? CTL_FAIL: ctl_call (ctl, line, "hall.show", s_show_hall_detail);
}

const ctl_cmd_t ctl_org_cmds [] = {
    { "officer", "add", "officer add ID NAME", NULL, 2, 2, s_officer_add,
      N_("Add an officer (舵主) to hq; every officer must then lead a branch.")},
    { "officer", "list", "officer list", NULL, 0, 0, s_officer_list,
      N_("List officers with the number of branches each leads (0 = non-compliant).")},
    { "branch", "create", "branch create ID NAME --leader OFFICER [--cap N]", "leader:! cap:",
      2, 2, s_branch_create, N_("Create a branch (分舵) led by an officer; cap defaults to 200.")},
    { "branch", "rename", "branch rename ID NAME", NULL, 2, 2, s_branch_rename,
      N_("Rename a branch.")},
    { "branch", "set-cap", "branch set-cap ID N", NULL, 2, 2, s_branch_set_cap,
      N_("Set a branch's cap on core seats (refused below the seats taken).")},
    { "branch", "handover", "branch handover ID --to OFFICER", "to:!", 1, 1, s_branch_handover,
      N_("Hand a branch over to another officer.")},
    { "branch", "dissolve", "branch dissolve ID [--into BRANCH | --release]", "into: release",
      1, 1, s_branch_dissolve, N_("Dissolve a branch; its halls and core seats move into "
      "another branch, or are released (halls dissolved, members unplaced).")},
    { "branch", "assign", "branch assign ID --node NODE", "node:!", 1, 1, s_branch_assign,
      N_("Assign a branch to the node that serves it.")},
    { "branch", "list", "branch list", NULL, 0, 0, s_branch_list,
      N_("List branches with core seats against caps.")},
    { "branch", "show", "branch show ID", NULL, 1, 1, s_branch_show,
      N_("Show a branch, its halls and its core members.")},
    { "hall", "create", "hall create ID NAME --branch BRANCH --leader MEMBER [--cap N]",
      "branch:! leader:! cap:", 2, 2, s_hall_create, N_("Create a hall (堂口) in a branch, led "
      "by a member with a core seat there; cap defaults to 30.")},
    { "hall", "rename", "hall rename ID NAME", NULL, 2, 2, s_hall_rename, N_("Rename a hall.")},
    { "hall", "set-cap", "hall set-cap ID N", NULL, 2, 2, s_hall_set_cap,
      N_("Set a hall's cap on seats.")},
    { "hall", "move", "hall move ID --to BRANCH", "to:!", 1, 1, s_hall_move,
      N_("Move a hall, and its leader's core seat, to another branch.")},
    { "hall", "merge", "hall merge ID --into HALL", "into:!", 1, 1, s_hall_merge,
      N_("Merge a hall into another (refused when the seats would exceed its cap).")},
    { "hall", "split", "hall split ID --new ID2 NAME2 --leader MEMBER --members M1,M2,...",
      "new:! leader:! members:!*", 2, 2, s_hall_split,
      N_("Split the listed members off into a new hall of the same branch.")},
    { "hall", "handover", "hall handover ID --to MEMBER", "to:!", 1, 1, s_hall_handover,
      N_("Hand a hall over to a new leader; its members stay, untouched.")},
    { "hall", "dissolve", "hall dissolve ID [--into HALL | --release]", "into: release",
      1, 1, s_hall_dissolve, N_("Dissolve a hall; its members move into another hall, or are "
      "released to unplaced.")},
    { "hall", "list", "hall list [--branch BRANCH]", "branch:", 0, 0, s_hall_list,
      N_("List halls with seats against caps.")},
    { "hall", "show", "hall show ID", NULL, 1, 1, s_hall_show,
      N_("Show a hall and its members.")},
    { NULL }
};

//  Self-test: each command's request, and how results print

/* A table list prints each page as it arrives (memory of one page): the
   rows of the pages before one that fails are out already, and a later
   page's wider cell widens its column from then on. */
static void
s_test_table_streams (ctl_fake_t *fake)
{
    ctl_fake_page (fake, true, "branches", "c-1", (const char *[]) {
        "id=b-1 name=成都 leader=o-1 core_seats:=2 cap:=200 halls:=1 node=n-1", NULL });
    ctl_fake_page (fake, true, "branches", "c-2", (const char *[]) {
        "id=b-a-much-longer-id name=x leader=o-2 core_seats:=0 cap:=200 halls:=0 node=", NULL });
    ctl_fake_queue_error (fake, "UNAVAILABLE", "the hub went away", NULL);
    ctl_fake_expect (fake, "branch list", CTL_FAIL, NULL,
        "ID   NAME  LEADER   CORE  HALLS  NODE\n"
        "b-1  成都  o-1     2/200      1  n-1\n"
        "b-a-much-longer-id  x     o-2     0/200      0\n", NULL);
    assert (streq (ctl_fake_requests (fake), "branch.list {}\n"
        "branch.list {\"limit\":1000,\"cursor\":\"c-1\"}\n"
        "branch.list {\"limit\":1000,\"cursor\":\"c-2\"}\n"));
}

void
ctl_cmds_org_test (bool verbose)
{
    (void) verbose;
    ctl_fake_t *fake = ctl_fake_new ();
    ctl_fake_result_text (fake, "id=o-1 name=张三 branches:=0");
    ctl_fake_expect (fake, "officer add o-1 张三", CTL_OK,
        "officer.add {\"id\":\"o-1\",\"name\":\"张三\"}",
        "officer o-1 张三: leads no branch yet (every officer must lead one)\n", "");

    const char *branch = "id=b-cd name=成都分舵 leader=o-1 cap:=200 core_seats:=12 halls:=3 "
                         "created:=0";
    const char *branch_line = "branch b-cd 成都分舵: leader o-1, core 12/200, halls 3, node -\n";
    ctl_fake_result_text (fake, branch);
    ctl_fake_expect (fake, "branch create b-cd 成都分舵 --leader o-1 --cap 200", CTL_OK,
        "branch.create {\"id\":\"b-cd\",\"name\":\"成都分舵\",\"leader\":\"o-1\",\"cap\":200}",
        branch_line, "");
    ctl_fake_expect (fake, "branch create b-cd 成都分舵 --leader o-1", CTL_OK,
        "branch.create {\"id\":\"b-cd\",\"name\":\"成都分舵\",\"leader\":\"o-1\"}", NULL, "");
    ctl_fake_expect (fake, "branch rename b-cd 新名", CTL_OK,
        "branch.rename {\"id\":\"b-cd\",\"name\":\"新名\"}", branch_line, "");
    ctl_fake_expect (fake, "branch set-cap b-cd 250", CTL_OK,
        "branch.set_cap {\"id\":\"b-cd\",\"cap\":250}", branch_line, "");
    ctl_fake_expect (fake, "branch handover b-cd --to o-2", CTL_OK,
        "branch.handover {\"id\":\"b-cd\",\"to\":\"o-2\"}", branch_line, "");
    ctl_fake_expect (fake, "branch assign b-cd --node n-1", CTL_OK,
        "branch.assign {\"id\":\"b-cd\",\"node\":\"n-1\"}", branch_line, "");
    ctl_fake_result_text (fake, "dissolved=b-cd moved_halls:=3 moved_members:=12 released:=0");
    ctl_fake_expect (fake, "branch dissolve b-cd --into b-cq", CTL_OK,
        "branch.dissolve {\"id\":\"b-cd\",\"into\":\"b-cq\"}",
        "branch b-cd dissolved: 3 halls and 12 core members moved, 0 members released\n", "");
    ctl_fake_expect (fake, "branch dissolve b-cd --release", CTL_OK,
        "branch.dissolve {\"id\":\"b-cd\",\"release\":true}", NULL, "");
    ctl_fake_expect (fake, "branch dissolve b-cd", CTL_OK,
        "branch.dissolve {\"id\":\"b-cd\"}", NULL, "");
    ctl_fake_expect (fake, "branch list", CTL_OK, "branch.list {}", NULL, "");
    s_test_table_streams (fake);

    const char *hall = "id=h-1 name=青羊堂口 branch=b-cd leader=m-7 cap:=30 seats:=28 created:=0";
    const char *hall_line = "hall h-1 青羊堂口: branch b-cd, leader m-7, seats 28/30\n";
    ctl_fake_result_text (fake, hall);
    ctl_fake_expect (fake, "hall create h-1 青羊堂口 --branch b-cd --leader m-7", CTL_OK,
        "hall.create {\"id\":\"h-1\",\"name\":\"青羊堂口\",\"branch\":\"b-cd\",\"leader\":\"m-7\"}",
        hall_line, "");
    ctl_fake_expect (fake, "hall create h-1 x --branch b-cd --leader m-7 --cap 40", CTL_OK,
        "hall.create {\"id\":\"h-1\",\"name\":\"x\",\"branch\":\"b-cd\",\"leader\":\"m-7\","
        "\"cap\":40}", hall_line, "");
    ctl_fake_expect (fake, "hall rename h-1 y", CTL_OK,
        "hall.rename {\"id\":\"h-1\",\"name\":\"y\"}", hall_line, "");
    ctl_fake_expect (fake, "hall set-cap h-1 40", CTL_OK,
        "hall.set_cap {\"id\":\"h-1\",\"cap\":40}", hall_line, "");
    ctl_fake_expect (fake, "hall move h-1 --to b-cq", CTL_OK,
        "hall.move {\"id\":\"h-1\",\"to\":\"b-cq\"}", "hall h-1 青羊堂口: branch b-cd, "
        "leader m-7, seats 28/30\nthe leader m-7's core seat moved with the hall to branch "
        "b-cd\n", "");
    ctl_fake_expect (fake, "hall handover h-1 --to m-9", CTL_OK,
        "hall.handover {\"id\":\"h-1\",\"to\":\"m-9\"}", hall_line, "");
    ctl_fake_expect (fake, "hall list --branch b-cd", CTL_OK,
        "hall.list {\"branch\":\"b-cd\"}", NULL, "");
    ctl_fake_expect (fake, "hall list", CTL_OK, "hall.list {}", NULL, "");
    ctl_fake_expect (fake, "hall split h-1 --new h-2 新堂 --leader m-3 --members m-4,m-5 "
        "--members m-6", CTL_OK, "hall.split {\"id\":\"h-1\",\"new_id\":\"h-2\","
        "\"new_name\":\"新堂\",\"leader\":\"m-3\",\"members\":[\"m-4\",\"m-5\",\"m-6\"]}",
        NULL, "");
    ctl_fake_result_text (fake, "dissolved=h-1 moved:=0 released:=5");
    ctl_fake_expect (fake, "hall dissolve h-1 --release", CTL_OK,
        "hall.dissolve {\"id\":\"h-1\",\"release\":true}",
        "hall h-1 dissolved: 0 members moved, 5 members released\n", "");

    //  Results with nested records
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &result, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3);
    proto_pack_key (&pk, "merged"); proto_pack_str (&pk, "h-2");
    proto_pack_key (&pk, "into"); op_args_text (hall, &result);
    proto_pack_key (&pk, "moved"); msgpack_pack_uint32 (&pk, 5);
    ctl_fake_result (fake, &result);
    ctl_fake_expect (fake, "hall merge h-2 --into h-1", CTL_OK,
        "hall.merge {\"id\":\"h-2\",\"into\":\"h-1\"}",
        "hall h-2 merged into h-1: 5 members moved\n"
        "hall h-1 青羊堂口: branch b-cd, leader m-7, seats 28/30\n", "");

    msgpack_sbuffer_clear (&result);
    msgpack_pack_map (&pk, 3);
    proto_pack_key (&pk, "branch"); op_args_text (branch, &result);
    proto_pack_key (&pk, "halls"); msgpack_pack_array (&pk, 1); op_args_text (hall, &result);
    proto_pack_key (&pk, "core"); msgpack_pack_array (&pk, 1);
    op_args_text ("id=m-7 name=李四 seat=core group=b-cd branch=b-cd role=leader", &result);
    ctl_fake_result (fake, &result);
    ctl_fake_expect (fake, "branch show b-cd", CTL_OK, "branch.show {\"id\":\"b-cd\"}",
        "branch b-cd 成都分舵: leader o-1, core 12/200, halls 3, node -\n"
        "created 1970-01-01T00:00:00Z\n\n"
        "halls (1):\n"
        "ID   NAME      BRANCH  LEADER  SEATS\n"
        "h-1  青羊堂口  b-cd    m-7     28/30\n\n"
        "core seats (1):\n"
        "ID   NAME  SEAT  GROUP  BRANCH  ROLE    REFERRER\n"
        "m-7  李四  core  b-cd   b-cd    leader  -\n", "");

    //  Errors: the server's message, one line, exit 1
    ctl_fake_error (fake, "FULL", "merge would put 34 seats in h-1 (cap 30): 4 over", NULL);
    ctl_fake_expect (fake, "hall merge h-2 --into h-1", CTL_FAIL, NULL, "",
        "duotangctl: merge would put 34 seats in h-1 (cap 30): 4 over\n");
    ctl_fake_expect (fake, "hall merge h-2 --into h-1 --json", CTL_FAIL, NULL,
        "{\"error\":{\"code\":\"FULL\",\"message\":\"merge would put 34 seats in h-1 "
        "(cap 30): 4 over\"}}\n", "duotangctl: merge would put 34 seats in h-1 (cap 30): 4 over\n");
    //  Usage errors send nothing
    ctl_fake_expect (fake, "hall split h-1 --new h-2 --leader m-3 --members m-4", CTL_USAGE,
        "", "", NULL);
    ctl_fake_expect (fake, "branch create b-1 x --leader o-1 --cap many", CTL_USAGE, "", "",
        "duotangctl: --cap must be a number, not 'many'\n"
        "usage: duotangctl branch create ID NAME --leader OFFICER [--cap N]\n");
    msgpack_sbuffer_destroy (&result);
    ctl_fake_destroy (&fake);
}
