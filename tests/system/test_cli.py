"""test_cli.py -- duotangctl against a real hub: every restructuring command,
each refusal as one stderr line naming the rule, CSV import/export, the tree,
and acknowledged CLI writes surviving SIGKILL."""
import json
import os
import signal

from harness import Cluster, run, sample_org, test


def seats(cluster, ep, hall):
    return cluster.ok(ep, "hall", "show", hall)["hall"]["seats"]


@test
def joins_caps_and_the_customer_lock():
    cluster = Cluster()
    try:
        ep = cluster.hub().endpoint
        sample_org(cluster, ep)
        cluster.ok(ep, "member", "add", "x-1", "路人")
        cluster.ok(ep, "member", "join", "x-1", "--hall", "h-a")
        cluster.ok(ep, "member", "add", "x-2", "路人乙")
        cluster.fails(ep, "member", "join", "x-2", "--hall", "h-a",
                      expect="hall h-a is full: 4/4 seats")
        cluster.fails(ep, "member", "join", "a-0", "--hall", "h-b",
                      expect="member a-0 is locked to hall h-a (branch b-cd)")
        cluster.fails(ep, "member", "join", "nobody", "--hall", "h-b", expect="nobody")
        cluster.fails(ep, "member", "join", "x-2", "--hall", "h-none", expect="h-none")
        # transfer is the one way to move a seated member; referrer and first hall stay
        cluster.ok(ep, "member", "transfer", "a-0", "--to-hall", "h-b")
        shown = cluster.ok(ep, "member", "show", "a-0")["member"]
        assert shown["group"] == "h-b" and shown["referrer"] == "lead-a", shown
        assert shown["first_hall"] == "h-a" and shown["tags"] == {"city": "成都"}, shown
        assert seats(cluster, ep, "h-a") == 3 and seats(cluster, ep, "h-b") == 3
        # core seats against the branch cap
        for m in ("c-1", "c-2", "c-3", "c-4"):
            cluster.ok(ep, "member", "add", m, m)
        for m in ("c-1", "c-2", "c-3"):
            cluster.ok(ep, "member", "join", m, "--branch", "b-cq")
        cluster.fails(ep, "member", "join", "c-4", "--branch", "b-cq",
                      expect="branch b-cq is full: 3/3 core seats")
        cluster.fails(ep, "branch", "set-cap", "b-cq", "2", expect="3")
        cluster.ok(ep, "member", "promote", "a-1")
        assert cluster.ok(ep, "member", "show", "a-1")["member"]["seat"] == "core"
        cluster.ok(ep, "member", "demote", "a-1", "--hall", "h-a")
        cluster.ok(ep, "member", "role", "a-1", "kol")
        cluster.fails(ep, "member", "role", "a-1", "leader", expect="handover")
        cluster.ok(ep, "member", "leave", "a-2")
        assert cluster.ok(ep, "member", "show", "a-2")["member"]["seat"] == "none"
        cluster.fails(ep, "member", "leave", "lead-a", expect="leads hall h-a")
    finally:
        cluster.close()


@test
def halls_merge_split_move_handover_and_dissolve():
    cluster = Cluster()
    try:
        ep = cluster.hub().endpoint
        sample_org(cluster, ep)
        # h-a has 3, h-b has 2, caps 4: merge overflows by one
        cluster.fails(ep, "hall", "merge", "h-a", "--into", "h-b",
                      expect="merge would put 5 seats in h-b (cap 4): 1 over")
        assert seats(cluster, ep, "h-a") == 3 and seats(cluster, ep, "h-b") == 2
        cluster.ok(ep, "hall", "set-cap", "h-b", "30")
        result = cluster.ok(ep, "hall", "merge", "h-a", "--into", "h-b")
        assert result["moved"] == 3 and result["into"]["seats"] == 5, result
        cluster.fails(ep, "hall", "show", "h-a", expect="h-a")
        # split by a member list; the new leader needs a core seat
        cluster.fails(ep, "hall", "split", "h-b", "--new", "h-c", "新堂口", "--leader", "a-0",
                      "--members", "a-1,a-2", expect="core seat")
        result = cluster.ok(ep, "hall", "split", "h-b", "--new", "h-c", "新堂口",
                            "--leader", "lead-c", "--members", "a-1,a-2")
        assert result["moved"] == 2 and result["new"]["seats"] == 2, result
        # handover keeps the hall's members; the new leader needs a core seat
        cluster.fails(ep, "hall", "handover", "h-c", "--to", "a-0", expect="core seat")
        cluster.ok(ep, "hall", "handover", "h-c", "--to", "lead-a")
        assert cluster.ok(ep, "hall", "show", "h-c")["hall"]["leader"] == "lead-a"
        assert seats(cluster, ep, "h-c") == 2
        # move a hall to another branch: its leader's core seat goes along
        cluster.ok(ep, "hall", "move", "h-c", "--to", "b-cq")
        assert cluster.ok(ep, "member", "show", "a-1")["member"]["branch"] == "b-cq"
        assert cluster.ok(ep, "member", "show", "lead-a")["member"]["group"] == "b-cq"
        # dissolving a non-empty hall needs a destination
        cluster.fails(ep, "hall", "dissolve", "h-c", expect="still has")
        result = cluster.ok(ep, "hall", "dissolve", "h-c", "--release")
        assert result["released"] == 2, result
        assert cluster.ok(ep, "member", "show", "a-1")["member"]["seat"] == "none"
    finally:
        cluster.close()


@test
def branches_handover_assign_and_dissolve():
    cluster = Cluster()
    try:
        ep = cluster.hub().endpoint
        sample_org(cluster, ep)
        cluster.fails(ep, "branch", "create", "b-x", "无名", "--leader", "o-none", expect="o-none")
        cluster.fails(ep, "branch", "create", "b-cd", "重复", "--leader", "o-1", expect="b-cd")
        cluster.ok(ep, "branch", "rename", "b-cq", "重庆老友分舵")
        cluster.ok(ep, "branch", "handover", "b-cq", "--to", "o-1")
        officers = {o["id"]: o for o in cluster.ok(ep, "officer", "list")["officers"]}
        assert officers["o-2"]["branches"] == 0 and officers["o-1"]["branches"] == 2, officers
        cluster.fails(ep, "branch", "assign", "b-cq", "--node", "n-none", expect="n-none")
        cluster.ok(ep, "node", "add", "n1")
        assert cluster.ok(ep, "branch", "assign", "b-cq", "--node", "n1")["node"] == "n1"
        cluster.fails(ep, "branch", "dissolve", "b-cd", expect="still has")
        cluster.ok(ep, "branch", "set-cap", "b-cq", "200")
        result = cluster.ok(ep, "branch", "dissolve", "b-cd", "--into", "b-cq")
        assert result["moved_halls"] == 2, result
        tree = cluster.ok(ep, "tree")
        assert [b["id"] for b in tree["branches"]] == ["b-cq"], tree
        assert tree["branches"][0]["core_seats"] == 3
    finally:
        cluster.close()


@test
def usage_errors_and_help():
    cluster = Cluster()
    try:
        rc, out, err = cluster.ctl_local("--help")
        assert rc == 0 and "hall merge" in out + err
        rc, out, err = cluster.ctl_local("hall", "merge", "--help")
        assert rc == 0 and "--into" in out + err
        rc, out, err = cluster.ctl_local("-V")
        assert rc == 0 and "duotangctl" in out
        for args in (["hall", "frobnicate"], ["member", "join", "m-1"],
                     ["hall", "set-cap", "h-1", "lots"], ["nonsense"]):
            rc, out, err = cluster.ctl_local(*args)
            assert rc == 2 and ("usage" in err or "unknown command" in err), (args, rc, err)
        rc, out, err = cluster.ctl_local("-e", "tcp://127.0.0.1:9", "--insecure", "-t", "300",
                                         "tree")
        assert rc == 1 and len(err.strip().splitlines()) == 1 and "no answer" in err, err
    finally:
        cluster.close()


@test
def csv_import_checks_every_row_and_export_round_trips():
    cluster = Cluster()
    try:
        ep = cluster.hub().endpoint
        sample_org(cluster, ep)
        bad = cluster.path("bad.csv")
        with open(bad, "w") as f:
            f.write("id,name,referrer,group\n"
                    "n-1,王一,,h-b\n"             # line 2 fine
                    "n-1,王二,,h-b\n"             # line 3 duplicate id
                    "n-3,王三,ghost,h-b\n"        # line 4 unknown referrer
                    "n-4,\"王,四\",,h-zz\n"       # line 5 unknown group
                    "n 5,王五,,\n"                # line 6 bad id
                    "n-6,王六,n-1,b-cd\n")        # line 7 fine
        rc, out, err = cluster.ctl(ep, "import", "members", bad)
        assert rc == 1, (out, err)
        for line in (3, 4, 5, 6):
            assert "line %d:" % line in err, err
        assert "line 2:" not in err and "line 7:" not in err, err
        cluster.fails(ep, "member", "show", "n-1", expect="n-1")     # nothing imported
        broken = cluster.path("broken.csv")
        with open(broken, "w") as f:
            f.write("id,name,referrer,group\nq-1,\"unterminated,,\n")
        cluster.fails(ep, "import", "members", broken, expect="line 2")
        good = cluster.path("good.csv")
        with open(good, "w") as f:
            f.write("id,name,referrer,group\n"
                    "g-1,\"赵,一\",,h-b\n"
                    "g-2,赵二,g-1,b-cd\n"
                    "g-3,赵三,g-2,\n")
        out = cluster.ok(ep, "import", "members", good)
        assert out["imported"] == 3 and out["seated"] == 2, out
        rc, csv_text, err = cluster.ctl(ep, "export", "members", "--branch", "b-cd")
        assert rc == 0, err
        lines = csv_text.strip().splitlines()
        assert lines[0] == "id,name,referrer,group", lines
        assert '"赵,一"' in csv_text and "g-2,赵二,g-1,b-cd" in lines, csv_text
    finally:
        cluster.close()


@test
def tree_aligns_chinese_names():
    cluster = Cluster()
    try:
        ep = cluster.hub().endpoint
        sample_org(cluster, ep)
        rc, out, err = cluster.ctl(ep, "tree")
        assert rc == 0, err
        assert "成都分舵" in out and "青羊堂口" in out and "3/4" in out, out

        def width(text):
            import unicodedata
            return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
        hall_lines = [l for l in out.splitlines() if "堂口" in l]
        assert len(hall_lines) == 2, out
        # the column after the name starts at the same display column on every hall line
        cols = [width(l[:l.index("(h-")]) for l in hall_lines]
        assert len(set(cols)) == 1, (cols, hall_lines)
    finally:
        cluster.close()


@test
def cli_writes_survive_sigkill_and_audit_says_who():
    cluster = Cluster()
    try:
        hub = cluster.hub()
        sample_org(cluster, hub.endpoint)
        cluster.ok(hub.endpoint, "hall", "rename", "h-b", "锦江老友堂口")
        hub.kill(signal.SIGKILL)
        hub.start()
        shown = cluster.ok(hub.endpoint, "hall", "show", "h-b")
        assert shown["hall"]["name"] == "锦江老友堂口" and len(shown["members"]) == 2, shown
        entries = cluster.ok(hub.endpoint, "audit", "--limit", "1")["entries"]
        assert entries[-1]["op"] == "hall.rename", entries
        change = entries[-1]["changes"][0]
        assert change["before"]["name"] == "锦江堂口" and change["after"]["name"] == "锦江老友堂口"
        rc, out, err = cluster.ctl(hub.endpoint, "audit", "verify")
        assert rc == 0 and "OK" in out, (out, err)
    finally:
        cluster.close()


if __name__ == "__main__":
    run()
