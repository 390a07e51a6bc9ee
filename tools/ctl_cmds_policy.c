/* ctl_cmds_policy.c -- the organisation's policy: show it, change fields of it. */
#include "ctl.h"
#include "ctl_print.h"
#include "ctl_text.h"
#include "ctl_fake.h"
#include "policy.h"

/* Every field in the order the server gives them, version first. */
static void
s_show_policy (ctl_t *ctl, const msgpack_object *result)
{
    ctl_table_t *table = ctl_table_new ();
    for (uint32_t i = 0; result && result->type == MSGPACK_OBJECT_MAP
                         && i < result->via.map.size; i++)
        ctl_table_cells (table, ctl_print_text (&result->via.map.ptr [i].key),
                         ctl_print_text (&result->via.map.ptr [i].val), NULL);
    ctl_table_print (table, ctl->out);
    ctl_table_destroy (&table);
}

/* POLICY SHOW */
static int
s_policy_show (ctl_t *ctl, ctl_line_t *line)
{
    return ctl_call (ctl, line, "policy.show", s_show_policy);
}

/* Length of the FIELD of "FIELD=VALUE", or 0 if the text is not of that form. */
static size_t
s_field_len (const char *text)
{
    const char *eq = strchr (text, '=');
    return eq? (size_t) (eq - text): 0;
}

/* Add one FIELD=VALUE to changes, typed as the field wants it: a number, a
   comma-separated list, or text. A field this CLI does not know goes as a
   number if it is one, else as text: the hub judges it. */
static int
s_change (ctl_line_t *line, args_t *changes, const char *text)
{
    size_t len = s_field_len (text);
    if (len == 0 || len > 63)
        return ctl_usage (line, "'%s' is not FIELD=VALUE", text);
    char field [64];
    snprintf (field, sizeof (field), "%.*s", (int) len, text);
    const char *value = text + len + 1;
    policy_field_type_t type = policy_field_type (field);
    bool number = *value && strspn (value, "0123456789") == strlen (value);
    if (type == POLICY_FIELD_UINT && !number)
        return ctl_usage (line, "%s takes a number, not '%s'", field, value);
    if (type == POLICY_FIELD_LIST)
        args_list (changes, field, &value, 1);
    else
    if (type == POLICY_FIELD_UINT || (type == POLICY_FIELD_NONE && number)) {
        errno = 0;
        unsigned long long n = strtoull (value, NULL, 10);
        if (errno)
            return ctl_usage (line, "%s takes a number, not '%s'", field, value);
        args_uint (changes, field, n);
    }
    else
        args_str (changes, field, value);
    return CTL_OK;
}

/* POLICY SET FIELD=VALUE ... */
static int
s_policy_set (ctl_t *ctl, ctl_line_t *line)
{
    for (int i = 0; i < line->argc; i++)
        for (int j = 0; j < i; j++) {
            size_t len = s_field_len (line->argv [i]);
            if (len && len == s_field_len (line->argv [j])
            &&  memcmp (line->argv [i], line->argv [j], len) == 0)
                return ctl_usage (line, "%.*s given twice", (int) len, line->argv [i]);
        }
    args_t changes;
    args_init (&changes);
    int rc = CTL_OK;
    for (int i = 0; i < line->argc && rc == CTL_OK; i++)
        rc = s_change (line, &changes, line->argv [i]);
    if (rc == CTL_OK) {
        msgpack_sbuffer packed;
        msgpack_sbuffer_init (&packed);
        args_finish (&changes, &packed);
        msgpack_packer *pk = args_key (&line->req, "changes");
        pk->callback (pk->data, packed.data, packed.size);
        msgpack_sbuffer_destroy (&packed);
    }
    args_destroy (&changes);
    return rc == CTL_OK? ctl_call (ctl, line, "policy.set", s_show_policy): rc;
}

const ctl_cmd_t ctl_policy_cmds [] = {
    { "policy", "show", "policy show", NULL, 0, 0, s_policy_show,
      N_("Show the organisation's policy and its version: default caps, time zone, content "
      "quotas and who may publish.")},
    { "policy", "set", "policy set FIELD=VALUE ...", NULL, 1, 32, s_policy_set,
      N_("Change policy fields at the hub, all or none (lists as a,b,c; FIELD= for an empty "
      "list); every node receives the new version.")},
    { NULL }
};

//  Self-test

/* A usage error, caught before any request, giving `why`. */
static void
s_test_usage (ctl_fake_t *fake, const char *cmdline, const char *why)
{
    ctl_fake_expect (fake, cmdline, CTL_USAGE, "", "", NULL);
    if (!strstr (ctl_fake_err (fake), why))
        fprintf (stderr, "\n%s: expected \"%s\" in [%s]\n", cmdline, why, ctl_fake_err (fake));
    assert (strstr (ctl_fake_err (fake), why));
    assert (strstr (ctl_fake_err (fake), "usage: duotangctl policy set FIELD=VALUE ...\n"));
}

void
ctl_cmds_policy_test (bool verbose)
{
    (void) verbose;
    ctl_fake_t *fake = ctl_fake_new ();
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    policy_t policy;
    policy_defaults (&policy);
    policy.version = 3;
    policy.hall_cap = 2;
    policy.promo_roles = 0;
    policy_encode (&policy, &result);
    ctl_fake_result (fake, &result);

    //  Every field on a line of its own, lists joined, an empty one as "-"
    ctl_fake_expect (fake, "policy show", CTL_OK, "policy.show {}",
        "version                  3\n"
        "branch_cap               200\n"
        "hall_cap                 2\n"
        "timezone                 Asia/Shanghai\n"
        "article_per_day          1\n"
        "article_topics           酱酒,侠义,互联网\n"
        "story_per_week           1\n"
        "video_per_week           1\n"
        "video_short_max_s        180\n"
        "gathering_per_month      1\n"
        "gathering_min_attendees  3\n"
        "promo_per_day_max        1\n"
        "promo_share_max_pct      30\n"
        "question_deadline_h      24\n"
        "dormant_days             7\n"
        "dead_days                30\n"
        "dead_active_ratio_pct    10\n"
        "content_roles            leader,admin,lecturer,kol\n"
        "promo_roles              -\n", "");
    ctl_fake_expect (fake, "policy show --json", CTL_OK, "policy.show {}", NULL, "");
    assert (strstr (ctl_fake_out (fake), "{\"version\":3,\"branch_cap\":200,\"hall_cap\":2,"));

    //  Numbers as numbers, lists as lists (one item or none), text as text
    ctl_fake_expect (fake, "policy set hall_cap=2 article_topics=酱酒,侠义 promo_roles=leader "
                     "content_roles= timezone=Asia/Chongqing", CTL_OK,
        "policy.set {\"changes\":{\"hall_cap\":2,\"article_topics\":[\"酱酒\",\"侠义\"],"
        "\"promo_roles\":[\"leader\"],\"content_roles\":[],\"timezone\":\"Asia/Chongqing\"}}",
        NULL, "");
    assert (strstr (ctl_fake_out (fake), "\nhall_cap                 2\n"));
    //  A field this CLI does not know goes as it looks; the hub judges it
    ctl_fake_expect (fake, "policy set quiet_hours=3 motto=侠义", CTL_OK,
        "policy.set {\"changes\":{\"quiet_hours\":3,\"motto\":\"侠义\"}}", NULL, "");

    //  Usage errors are caught before any request
    s_test_usage (fake, "policy set", "needs 1 argument");
    s_test_usage (fake, "policy set hall_cap", "'hall_cap' is not FIELD=VALUE");
    s_test_usage (fake, "policy set =3", "'=3' is not FIELD=VALUE");
    s_test_usage (fake, "policy set hall_cap=lots", "hall_cap takes a number, not 'lots'");
    s_test_usage (fake, "policy set hall_cap=-2", "hall_cap takes a number, not '-2'");
    s_test_usage (fake, "policy set question_deadline_h=1d",
                  "question_deadline_h takes a number, not '1d'");
    s_test_usage (fake, "policy set dead_days=99999999999999999999999",
                  "dead_days takes a number");
    s_test_usage (fake, "policy set hall_cap=2 dead_days=3 hall_cap=4", "hall_cap given twice");

    //  The hub's refusal, one line
    ctl_fake_error (fake, "FULL", "hall h-1 has 3 seats, over the new default hall_cap 2 by 1: "
                    "give it a cap of its own or move members first", NULL);
    ctl_fake_expect (fake, "policy set hall_cap=2", CTL_FAIL,
        "policy.set {\"changes\":{\"hall_cap\":2}}", "",
        "duotangctl: hall h-1 has 3 seats, over the new default hall_cap 2 by 1: give it a "
        "cap of its own or move members first\n");
    msgpack_sbuffer_destroy (&result);
    ctl_fake_destroy (&fake);
}
