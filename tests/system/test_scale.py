"""test_scale.py -- an organisation larger than one page: every list pages
(PROTOCOL.md 6.0) and gives every record exactly once while writes happen
between pages; duotangctl follows the cursors to the whole list; an
oversized request is answered at once; the audit verifies after a large
import."""
import csv
import io
import json
import os
import re
import time

import msgpack

from harness import Client, Cluster, run, test

BRANCHES = 24
HALLS = 3           # per branch
SEATED = 5          # members per hall


def build(client):
    """BRANCHES branches, each with a leader in its core, HALLS halls and
    SEATED members per hall, imported in one request; plus unplaced ones."""
    client.result("officer.add", {"id": "o-1", "name": "张三"})
    rows, line = [], 1
    for b in range(BRANCHES):
        client.result("branch.create", {"id": "b-%02d" % b, "name": "分舵%d" % b,
                                        "leader": "o-1"})
        client.result("member.add", {"id": "lead-%02d" % b, "name": "堂主"})
        client.result("member.join", {"id": "lead-%02d" % b, "branch": "b-%02d" % b})
        for h in range(HALLS):
            hall = "h-%02d-%d" % (b, h)
            client.result("hall.create", {"id": hall, "name": "堂口", "branch": "b-%02d" % b,
                                          "leader": "lead-%02d" % b})
            for m in range(SEATED):
                line += 1
                rows.append({"line": line, "id": "m-%02d-%d-%d" % (b, h, m), "name": "粉丝",
                             "referrer": "", "group": hall})
    for u in range(30):
        line += 1
        rows.append({"line": line, "id": "u-%02d" % u, "name": "路人", "referrer": "",
                     "group": ""})
    client.result("import.members", {"rows": rows})


def terminal_ctl(endpoint, *args):
    """duotangctl with its stderr on a terminal (a pty): (rc, stdout, stderr)."""
    import pty
    import subprocess
    import harness
    master, slave = pty.openpty()
    env = dict(harness.ENV, DUOTANG_INSECURE="1")
    proc = subprocess.Popen([os.path.join(harness.BIN, "duotangctl"), "-e", endpoint]
                            + list(args), stdout=subprocess.PIPE, stderr=slave, env=env,
                            text=True)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    out = proc.stdout.read()
    rc = proc.wait(120)
    os.close(master)
    return rc, out, err.decode()


def pages(client, op, key, args=None, limit=7, between=None):
    """Every item of a list, page by page; between(n) runs after page n."""
    items, cursor, n = [], None, 0
    while True:
        request = dict(args or {}, limit=limit)
        if cursor:
            request["cursor"] = cursor
        result = client.result(op, request)
        assert len(result[key]) <= limit, (op, len(result[key]))
        items += result[key]
        cursor = result["next"]
        if cursor is None:
            return items, n + 1
        if between:
            between(n)
        n += 1


def once(ids, expected, what):
    """Every expected id exactly once (others may have been added)."""
    seen = {}
    for i in ids:
        seen[i] = seen.get(i, 0) + 1
    twice = [i for i, count in seen.items() if count > 1]
    missing = [i for i in expected if i not in seen]
    assert not twice and not missing, "%s: twice %s, missing %s" % (what, twice[:5],
                                                                     missing[:5])


@test
def every_list_pages_and_gives_each_record_once_while_writes_happen():
    cluster = Cluster()
    try:
        hub = cluster.hub()
        client = Client(hub.endpoint)
        writer = Client(hub.endpoint)
        build(client)
        branches = ["b-%02d" % b for b in range(BRANCHES)]
        halls = ["h-%02d-%d" % (b, h) for b in range(BRANCHES) for h in range(HALLS)]
        members = ["lead-%02d" % b for b in range(BRANCHES)] + \
                  ["m-%02d-%d-%d" % (b, h, m) for b in range(BRANCHES) for h in range(HALLS)
                   for m in range(SEATED)] + ["u-%02d" % u for u in range(30)]
        added = []

        def write(n):
            # Records before and behind the cursor, and a new branch
            tag = "%s-%d" % (len(added), n)
            writer.result("member.add", {"id": "a-" + tag, "name": "新"})
            writer.result("member.join", {"id": "a-" + tag, "hall": "h-00-0"
                                          if n % 2 else "h-%02d-2" % (BRANCHES - 1)})
            writer.result("branch.create", {"id": "b-00-%s" % tag, "name": "新分舵",
                                            "leader": "o-1"})
            added.append(tag)

        got, n = pages(client, "branch.list", "branches", between=write)
        assert n > 3, n
        once([b["id"] for b in got], branches, "branch.list")
        got, n = pages(client, "hall.list", "halls", between=write)
        assert n > 10, n
        once([h["id"] for h in got], halls, "hall.list")
        got, n = pages(client, "tree", "branches", limit=5, between=write)
        once([b["id"] for b in got], branches, "tree")
        once([h["id"] for b in got for h in b["hall_list"]], halls, "tree halls")
        got, n = pages(client, "export.members", "rows", limit=50, between=write)
        assert n > 8, n
        once([r["id"] for r in got], members, "export.members")
        assert [r["line"] for r in got] == list(range(1, len(got) + 1))
        got, _ = pages(client, "member.list", "members", {"hall": "h-03-1"}, limit=2,
                       between=write)
        once([m["id"] for m in got], ["m-03-1-%d" % m for m in range(SEATED)], "member.list")
        got, n = pages(client, "member.find", "members", {"name": "粉丝"}, limit=25,
                       between=write)
        assert n > 2, n
        once([m["id"] for m in got], [m for m in members if m.startswith("m-")],
             "member.find")
        got, _ = pages(client, "member.list", "members", {"unplaced": True}, limit=4)
        once([m["id"] for m in got], ["u-%02d" % u for u in range(30)], "unplaced")
        got, _ = pages(client, "officer.list", "officers", limit=1)
        assert [o["id"] for o in got] == ["o-1"]
        seqs = [e["seq"] for e in pages(client, "audit.list", "entries", {"since": 0},
                                        limit=9)[0]]
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 50, seqs[:5]
        got, _ = pages(client, "key.list", "keys", limit=1)
        got, _ = pages(client, "node.list", "nodes", limit=1)
        # A cursor of another list, or made up, is refused
        cursor = client.result("branch.list", {"limit": 1})["next"]
        assert client.error("export.members", {"cursor": cursor})[0] == "BAD_ARGS"
        assert client.error("branch.list", {"cursor": "zz"})[0] == "BAD_ARGS"

        # duotangctl follows the cursors: whole lists, CSV with one header
        listed = cluster.ok(hub.endpoint, "branch", "list")["branches"]
        assert len(listed) == len(branches) + len(added), len(listed)
        once([b["id"] for b in listed], branches, "branch list")
        rc, out, err = cluster.ctl(hub.endpoint, "export", "members")
        assert rc == 0, err
        rows = list(csv.reader(io.StringIO(out)))
        assert rows[0] == ["id", "name", "referrer", "group"] and rows.count(rows[0]) == 1
        once([r[0] for r in rows[1:]], members, "export members")
        assert len(rows) - 1 > 100
        rc, out, err = cluster.ctl(hub.endpoint, "tree")
        assert rc == 0 and out.count("\nhq ") == 0 and out.startswith("hq "), out[:200]
        assert "branches %d " % (BRANCHES + len(added)) in out.splitlines()[0], out[:200]
        rc, out, err = cluster.ctl(hub.endpoint, "export", "members", "--jsonl")
        assert rc == 0, err
        lines = [json.loads(text) for text in out.splitlines()]
        once([r["id"] for r in lines], members, "export members --jsonl")
        tree = cluster.ok(hub.endpoint, "tree")
        once([h["id"] for b in tree["branches"] for h in b["hall_list"]], halls, "tree --json")
        if tree["hq"]["members"] != len(members) + len(added):
            known = set(members) | {"a-" + tag for tag in added}
            rows = pages(client, "export.members", "rows", limit=1000)[0]
            extra = [r for r in rows if r["id"] not in known]
            assert False, (tree["hq"], len(added), extra[:5])
    finally:
        cluster.close()


@test
def a_narrow_search_pages_past_what_the_key_may_not_see():
    """A leader's member.find over 25,000 namesakes it may not see: each page
    does bounded work (PROTOCOL.md 6.5), so the first pages may be empty with
    a next, and following next finds the leader's own members."""
    cluster = Cluster(secure=True)
    try:
        hub = cluster.hub()
        root = Client(hub.endpoint, cluster.admin_key, cluster.path("hub", "hub.pub"))
        root.result("officer.add", {"id": "o-1", "name": "张三"})
        root.result("branch.create", {"id": "b-1", "name": "成都分舵", "leader": "o-1"})
        rows = [{"line": i + 2, "id": "u-%05d" % i, "name": "粉丝", "referrer": "",
                 "group": ""} for i in range(25000)]
        rows += [{"line": 25002 + i, "id": "s-%d" % i, "name": "粉丝乙", "referrer": "",
                  "group": "b-1"} for i in range(3)]
        root.result("import.members", {"rows": rows}, timeout=60000)
        lead = cluster.new_key("lead")
        cluster.ok(hub.endpoint, "key", "allow", "lead", "--role", "leader", "--branch", "b-1",
                   "--public", lead + ".pub")
        leader = Client(hub.endpoint, lead, cluster.path("hub", "hub.pub"))
        first = leader.result("member.find", {"name": "粉丝"})
        assert first["members"] == [] and first["next"], first
        got, n = pages(leader, "member.find", "members", {"name": "粉丝"}, limit=100)
        assert sorted(m["id"] for m in got) == ["s-0", "s-1", "s-2"] and n == 2, (got, n)
        # hq sees them all, a full page at a time
        assert len(root.result("member.find", {"name": "粉丝", "limit": 1000})["members"]) == 1000
    finally:
        cluster.close()


@test
def an_oversized_request_is_answered_at_once():
    cluster = Cluster()
    try:
        hub = cluster.hub()
        client = Client(hub.endpoint)
        # The hub reads the id at the front of a body over 4 MiB and echoes it
        body = msgpack.packb({"v": 1, "id": 77, "op": "import.members",
                              "args": {"rows": ["x" * 1000] * 5000}})
        assert len(body) > 4 * 1024 * 1024
        client.send_raw(b"", body)
        reply = client.recv(5000)
        assert reply and reply["id"] == 77 and reply["error"]["code"] == "TOO_LARGE", reply
        assert client.result("hello")["version"] == 1
        # duotangctl refuses one at once, with one line naming the limit
        path = cluster.path("big.jsonl")
        with open(path, "w") as out:
            for i in range(12000):
                out.write(json.dumps({"type": "post", "group": "h-1", "kind": "notice",
                                      "title": "t" * 200, "author": "lead", "at": i,
                                      "text": "x" * 200}) + "\n")
        started = time.monotonic()
        rc, out, err = cluster.ctl(hub.endpoint, "import", "content", path, timeout=60)
        assert rc == 1 and "4194304" in err and len(err.strip().splitlines()) == 1, err
        assert time.monotonic() - started < 30, "the CLI waited for its timeout"
    finally:
        cluster.close()


@test
def a_large_file_imports_in_parts_all_or_nothing_and_the_audit_verifies():
    cluster = Cluster()
    try:
        ep = cluster.hub().endpoint
        cluster.ok(ep, "officer", "add", "o-1", "张三")
        cluster.ok(ep, "branch", "create", "b-big", "大分舵", "--leader", "o-1",
                   "--cap", "100000")
        rows = 45000            # parts of 3 MiB at most

        def write(path, bad_line=None):
            with open(path, "w") as out:
                out.write("id,name,referrer,group\n")
                for i in range(rows):
                    group = "h-none" if i + 2 == bad_line else "b-big"
                    out.write("m-%d,成员%d%s,%s,%s\n" % (i, i, "x" * 100,
                                                          "m-%d" % (i + 1) if i < rows - 1
                                                          else "", group))
            assert os.path.getsize(path) > 4 * 1024 * 1024      # more than one request
        bad = cluster.path("bad.csv")
        write(bad, bad_line=rows)          # in the last part
        rc, out, err = cluster.ctl(ep, "import", "members", bad)
        assert rc == 1 and "line %d" % rows in err and "1 of %d rows" % rows in err, err
        assert "\r" not in err, err        # no progress line off a terminal
        assert cluster.ok(ep, "tree")["hq"]["members"] == 0
        good = cluster.path("good.csv")
        write(good)
        rc, out, err = terminal_ctl(ep, "import", "members", good)
        assert rc == 0 and out == "imported %d members, %d seated\n" % (rows, rows), (out, err)
        # On a terminal, a progress line rewritten in place
        assert re.search(r"\rimport members: 0 rows sent \(\d+% of the file\)\r", err), err
        assert (" rows sent (100%% of the file), importing\rimport members: %d rows imported\r\n"
                % rows) in err, err
        hq = cluster.ok(ep, "tree")["hq"]
        assert hq["members"] == rows and hq["unplaced"] == 0, hq
        assert cluster.ok(ep, "member", "show", "m-0")["member"]["referrer"] == "m-1"
        rc, out, err = cluster.ctl(ep, "audit", "verify")
        assert rc == 0 and out.startswith("OK: "), (out, err)
        entry = cluster.ok(ep, "audit", "--limit", "1")["entries"][0]
        assert entry["op"] == "import.members" and entry["changes_total"] == rows + 1, entry
        # A file read part by part: a broken row in its third part stops the
        # import there, naming the line, after two parts were staged
        broken = cluster.path("broken.csv")
        with open(broken, "w") as out:
            out.write("id,name,referrer,group\n")
            for i in range(80000):
                out.write("n-%d,成员%d%s,,\n" % (i, i, "x" * 100))
            out.write("n-x,too,many,fields,here\n")
        assert os.path.getsize(broken) > 8 * 1024 * 1024
        rc, out, err = cluster.ctl(ep, "import", "members", broken)
        assert rc == 1 and "line 80002: 5 fields, the header has 4" in err, err
        assert cluster.ok(ep, "tree")["hq"]["members"] == rows
    finally:
        cluster.close()


if __name__ == "__main__":
    run()
