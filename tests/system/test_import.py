"""test_import.py -- member import with --dry-run and --update (PROTOCOL.md
6.6): a dry run judges a file as the import would (the same bad rows, the
same counts) and changes nothing -- export, audit and staged parts are as
before; --update changes exactly the fields a row names, and moves a seat by
the rules of a transfer; both through a node, which forwards import.members."""
import os
import re
import subprocess

from harness import Cluster, run, sample_org, test, wait_for


def state(cluster, ep):
    """What a dry run must leave as it was: every member, the audit log."""
    rc, export, err = cluster.ctl(ep, "export", "members")
    assert rc == 0, err
    return export, cluster.ok(ep, "audit", "--limit", "10000")


def staged_parts(cluster):
    """Entries of the hub's stage table (mdb_stat reads a live store)."""
    out = subprocess.run(["mdb_stat", "-s", "stage", cluster.path("hub")],
                         capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Entries: (\d+)", out).group(1))


def write(cluster, name, text):
    path = cluster.path(name)
    with open(path, "w") as out:
        out.write(text)
    return path


def same_judgement(cluster, ep, path, *flags):
    """A dry run and the real run of a bad file: exit 1 and the same lines."""
    rc, out, dry = cluster.ctl(ep, "import", "members", path, "--dry-run", *flags)
    assert rc == 1 and out == "", (out, dry)
    rc, out, real = cluster.ctl(ep, "import", "members", path, *flags)
    assert rc == 1, (out, real)
    dry, real = dry.splitlines(), real.splitlines()
    assert dry[0] == real[0] + " (dry run: nothing changed)", (dry, real)
    assert dry[1:] == real[1:] and len(real) > 1, (dry, real)
    return real


@test
def a_dry_run_judges_as_the_import_would_and_changes_nothing():
    cluster = Cluster()
    try:
        ep = cluster.hub().endpoint
        sample_org(cluster, ep)
        before = state(cluster, ep)
        bad = write(cluster, "bad.csv", "id,name,referrer,group\n"
                    "n-1,王一,,h-b\n"             # fine
                    "n-1,王二,,h-b\n"             # duplicate id
                    "n-3,王三,ghost,h-b\n"        # unknown referrer
                    "a-0,重名,,\n"                # exists (no --update)
                    "n-5,王五,,h-b\n"             # fine: h-b's last seat
                    "n-6,王六,,h-b\n")            # h-b full by the rows before
        real = same_judgement(cluster, ep, bad)
        assert real[0] == "duotangctl: 4 of 6 rows rejected", real
        assert "line 7: hall h-b is full" in real[-1] or "cannot take" in real[-1], real
        assert state(cluster, ep) == before

        good = write(cluster, "good.csv", "id,name,referrer,group\n"
                     "g-1,\"赵,一\",,h-b\ng-2,赵二,g-1,b-cd\ng-3,赵三,g-2,\n")
        rc, out, err = cluster.ctl(ep, "import", "members", good, "--dry-run")
        assert rc == 0 and out == "dry run: would import 3 members, 2 seated; update 0, " \
            "0 unchanged; nothing changed\n", (out, err)
        judged = cluster.ok(ep, "import", "members", good, "--dry-run")
        assert judged["dry_run"] is True and judged["rejected"] == 0, judged
        assert state(cluster, ep) == before
        done = cluster.ok(ep, "import", "members", good)
        assert {k: judged[k] for k in done} == done, (judged, done)
        assert state(cluster, ep) != before

        # A file in parts: judged whole, and its staged parts do not stay
        rows = 60000            # two parts of 50 000 rows at most
        cluster.ok(ep, "branch", "create", "b-big", "大分舵", "--leader", "o-1",
                   "--cap", str(rows))
        lines = ["id,name,referrer,group"] + ["s-%d,成员%d,,b-big" % (i, i)
                                               for i in range(rows)]
        big = write(cluster, "big.csv", "\n".join(lines) + "\n")
        before = state(cluster, ep)
        judged = cluster.ok(ep, "import", "members", big, "--dry-run")
        assert judged["imported"] == rows and judged["seated"] == rows, judged
        assert state(cluster, ep) == before and staged_parts(cluster) == 0
        lines[-1] = "s-0,重复,,b-big"
        big_bad = write(cluster, "big-bad.csv", "\n".join(lines) + "\n")
        rc, out, err = cluster.ctl(ep, "import", "members", big_bad, "--dry-run")
        assert rc == 1 and "line %d: member s-0 is already on line 2" % (rows + 1) in err, err
        assert state(cluster, ep) == before and staged_parts(cluster) == 0
        rc, out, err = cluster.ctl(ep, "audit", "verify")
        assert rc == 0 and out.startswith("OK: "), (out, err)
    finally:
        cluster.close()


def member(cluster, ep, mid):
    return cluster.ok(ep, "member", "show", mid)["member"]


@test
def update_changes_exactly_the_fields_a_row_names():
    cluster = Cluster()
    try:
        ep = cluster.hub().endpoint
        sample_org(cluster, ep)
        cluster.ok(ep, "member", "add", "u-1", "路人")
        ids = ("a-0", "a-1", "b-0", "u-1", "a-2", "lead-a")
        before = {mid: member(cluster, ep, mid) for mid in ids}
        update = write(cluster, "update.csv", "id,name,tags,role,group,referrer\n"
                       "a-0,新名字,,,,\n"                      # the name
                       "a-1,粉丝1,city=重庆;age=30,kol,,\n"      # tags and role
                       "b-0,酒友0,,,h-a,\n"                    # a transfer h-b -> h-a
                       "u-1,路人,,,b-cd,a-0\n"                 # a first seat, a referrer
                       "a-2,粉丝2,,,h-a,lead-a\n"              # as it is
                       "n-1,新人,,,h-b,\n")                    # new: b-0's seat
        # Without --update a stored id is a bad row
        real = same_judgement(cluster, ep, update)
        assert "line 2: member a-0 already exists" in real, real
        judged = cluster.ok(ep, "import", "members", update, "--update", "--dry-run")
        assert {member(cluster, ep, mid) == before[mid] for mid in ids} == {True}
        done = cluster.ok(ep, "import", "members", update, "--update")
        assert done == {"imported": 1, "seated": 1, "updated": 4, "unchanged": 1}, done
        assert {k: judged[k] for k in done} == done, judged

        def changed(mid):
            after = member(cluster, ep, mid)
            return {k: after[k] for k in after if after[k] != before[mid].get(k)}
        assert changed("a-0") == {"name": "新名字"}
        assert changed("a-1") == {"tags": {"city": "重庆", "age": "30"}, "role": "kol"}
        assert changed("b-0") == {"group": "h-a"}, changed("b-0")
        assert member(cluster, ep, "b-0")["first_hall"] == "h-b"
        assert changed("u-1") == {"seat": "core", "group": "b-cd", "branch": "b-cd",
                                  "referrer": "a-0"}, changed("u-1")
        assert changed("a-2") == {} and changed("lead-a") == {}
        assert member(cluster, ep, "n-1")["group"] == "h-b"
        assert cluster.ok(ep, "hall", "show", "h-a")["hall"]["seats"] == 4

        # What the rules refuse, named by line, in dry run and real run alike
        refused = write(cluster, "refused.csv", "id,name,referrer,group,role\n"
                        "a-0,新名字,lead-b,,\n"          # a referrer never changes
                        "lead-a,堂主a,,h-b,\n"           # a hall leader keeps the core seat
                        "a-1,粉丝1,,,leader\n"           # leader comes with a hall only
                        "b-1,酒友1,,h-a,\n")             # h-a is full
        real = same_judgement(cluster, ep, refused, "--update")
        assert real[1] == "line 2: member a-0 was referred by lead-a, and a referrer never " \
            "changes", real
        assert "line 3: member lead-a leads hall h-a" in real[2], real
        assert "line 4: role leader is given only by hall.handover" == real[3], real
        assert "line 5: hall h-a is full: 4/4 seats" == real[4], real
        entry = cluster.ok(ep, "audit", "--limit", "1")["entries"][-1]
        assert entry["op"] == "import.members", entry
        rc, out, err = cluster.ctl(ep, "audit", "verify")
        assert rc == 0 and out.startswith("OK: "), (out, err)
    finally:
        cluster.close()


@test
def a_node_forwards_dry_runs_and_updates_to_the_hub():
    cluster = Cluster()
    try:
        hub = cluster.hub()
        ep = hub.endpoint
        sample_org(cluster, ep)
        cluster.ok(ep, "node", "add", "n1")
        cluster.ok(ep, "branch", "assign", "b-cd", "--node", "n1")
        node = cluster.node("n1", hub).endpoint
        wait_for(lambda: cluster.ctl(node, "member", "show", "a-0")[0] == 0, 15,
                 "the node's replica of b-cd")
        before = state(cluster, ep)
        update = write(cluster, "update.csv", "id,name,group\na-0,新名字,\nb-0,酒友0,h-a\n")
        judged = cluster.ok(node, "import", "members", update, "--update", "--dry-run")
        assert judged["updated"] == 2 and judged["rejected"] == 0, judged
        assert state(cluster, ep) == before
        done = cluster.ok(node, "import", "members", update, "--update")
        assert done["updated"] == 2, done
        assert member(cluster, ep, "b-0")["group"] == "h-a"
        wait_for(lambda: cluster.ok(node, "member", "show", "a-0")["member"]["name"] ==
                 "新名字", 15, "the update at the node")
    finally:
        cluster.close()


if __name__ == "__main__":
    run()
