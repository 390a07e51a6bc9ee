"""test_node.py -- a hub and a duotang-node as real processes: the replica
follows the hub (also across SIGKILL and hub restarts), reads are served from
it, and membership writes asked of the node reach the hub exactly once, in
order, also when the hub is down when they are asked.

    DUOTANG_BIN=build/asan /usr/bin/python3 tests/system/test_node.py [TEST...]
"""
import os
import signal
import stat
import sys
import time

import zmq

import harness  # noqa: E402
from harness import Client, Cluster, run, test, wait_for  # noqa: E402


def seed(hub):
    """Node n1 serves b-1 (a hall with 5 members, a core member); b-2 is hub-only."""
    hub.result("node.add", {"id": "n1"})
    hub.result("officer.add", {"id": "o-1", "name": "张三"})
    hub.result("branch.create", {"id": "b-1", "name": "成都分舵", "leader": "o-1"})
    hub.result("branch.create", {"id": "b-2", "name": "重庆分舵", "leader": "o-1"})
    hub.result("member.add", {"id": "lead", "name": "堂主"})
    hub.result("member.join", {"id": "lead", "branch": "b-1"})
    hub.result("hall.create", {"id": "h-1", "name": "青羊堂口", "branch": "b-1",
                               "leader": "lead"})
    for i in range(5):
        hub.result("member.add", {"id": "m-%d" % i, "name": "粉丝%d" % i,
                                  "tags": {"city": "成都"}})
        hub.result("member.join", {"id": "m-%d" % i, "hall": "h-1"})
    hub.result("member.add", {"id": "far", "name": "远方"})
    hub.result("member.join", {"id": "far", "branch": "b-2"})
    hub.result("branch.assign", {"id": "b-1", "node": "n1"})


def branch_view(client, where):
    """The b-1 branch of a tree as a comparable value (None if absent)."""
    args = {"branch": "b-1"} if where == "hub" else None
    reply = client.call("tree", args)
    if not reply or not reply["ok"]:
        return None
    branches = [b for b in reply["result"]["branches"] if b["id"] == "b-1"]
    return branches[0] if branches else None


def converged(hub, node):
    """Wait until the node's b-1 and a few member records equal the hub's."""
    def same():
        ours = branch_view(node, "node")
        return ours is not None and ours == branch_view(hub, "hub")
    wait_for(same, 15, "the node's tree to match the hub's")
    for member in ("lead", "m-1", "m-2"):
        assert node.result("member.show", {"id": member}) == \
            hub.result("member.show", {"id": member}), member


def every(client, op, key, args):
    """Every item of a list, following its pages (PROTOCOL.md 6.0)."""
    items, cursor = [], None
    while True:
        result = client.result(op, dict(args, **({"cursor": cursor} if cursor else {})))
        items += result[key]
        cursor = result["next"]
        if cursor is None:
            return items


def audit_count(hub, op, member):
    entries = hub.result("audit.list", {"limit": 10000})["entries"]
    return sum(1 for e in entries if e["op"] == op and e["args"].get("id") == member)


def settle(node, ticket, timeout=20):
    def done():
        status = node.result("request.status", {"ticket": ticket})
        return status if status["state"] != "pending" else None
    return wait_for(done, timeout, "ticket %d to settle" % ticket)


# A random free port (CZMQ's "!"), not the first free one ("*"): a server
# restarted on its port must not find it taken by another suite's server.
RANDOM_PORT = "tcp://127.0.0.1:!"


def keep_port(proc):
    """Restarts of proc bind the port it got the first time."""
    proc.args = [proc.endpoint if a == RANDOM_PORT else a for a in proc.args]
    return proc


def start(secure=False):
    cluster = Cluster(secure=secure)
    hub_proc = keep_port(cluster.hub("-e", RANDOM_PORT))
    hub = Client(hub_proc.endpoint)
    seed(hub)
    node_proc = keep_port(cluster.node("n1", hub_proc, "-e", RANDOM_PORT))
    node = Client(node_proc.endpoint)
    return cluster, hub_proc, hub, node_proc, node


@test
def replica_follows_the_hub():
    cluster, hub_proc, hub, node_proc, node = start()
    try:
        converged(hub, node)
        hello = node.result("hello")
        assert hello["node"] == "n1" and hello["branches"] == ["b-1"], hello
        assert hello["server"].startswith("duotang-node "), hello
        wait_for(lambda: node.result("hello")["hub_connected"], 5, "hub_connected")
        # Only its own branches: b-2 and its member are not in the replica
        assert [b["id"] for b in node.result("branch.list")["branches"]] == ["b-1"]
        assert node.error("member.show", {"id": "far"})[0] == "NOT_FOUND"
        assert node.error("branch.show", {"id": "b-2"})[0] == "NOT_FOUND"
        # ... whatever is asked about it: one code, NOT_FOUND (PROTOCOL.md 6.10)
        for op in ("tree", "hall.list", "member.list", "export.members"):
            assert node.error(op, {"branch": "b-2"})[0] == "NOT_FOUND", op
        # hello honours versions at a node too; sync.* is the hub's
        assert node.error("hello", {"versions": [7]})[0] == "VERSION"
        code, message = node.error("sync.ack", {"applied": 0, "credit": 1, "ts": 0})
        assert code == "DENIED" and "served by the hub" in message, message
        members = node.result("member.list", {"hall": "h-1"})["members"]
        assert sorted(m["id"] for m in members) == ["m-%d" % i for i in range(5)]
        assert node.result("export.members", {"branch": "b-1"}) == \
            hub.result("export.members", {"branch": "b-1"})
        # Changes made at the hub arrive
        hub.result("member.leave", {"id": "m-4"})
        hub.result("hall.rename", {"id": "h-1", "name": "锦江堂口"})
        converged(hub, node)
        assert node.error("member.show", {"id": "m-4"})[0] == "NOT_FOUND"
        # What the node does not serve is refused with a reason
        code, message = node.error("branch.create", {"id": "b-9", "name": "x", "leader": "o-1"})
        assert code == "DENIED" and "served by the hub" in message, message
        assert node.error("audit.list")[0] == "DENIED"
        assert node.error("no.such.op")[0] == "UNKNOWN_OP"
        assert node.error("member.join", {"id": "m-1", "hal": "h-1"})[0] == "BAD_ARGS"
        assert node.error("request.status", {"ticket": 999})[0] == "NOT_FOUND"
        node.send_raw(b"x", b"y")
        assert node.recv()["error"]["code"] == "MALFORMED"
        # The hub sees the node alive and caught up
        def caught_up():
            n1 = [n for n in hub.result("node.list")["nodes"] if n["id"] == "n1"][0]
            return n1["connected"] and n1["lag_changes"] == 0 and n1["applied"] > 0
        wait_for(caught_up, 10, "node.list to show n1 caught up")
    finally:
        cluster.close()


@test
def a_node_finds_members_by_name_in_its_branches():
    cluster, hub_proc, hub, node_proc, node = start()
    try:
        converged(hub, node)

        def found(client, name):
            return sorted(m["id"] for m in client.result("member.find", {"name": name})["members"])
        assert found(node, "粉丝") == ["m-%d" % i for i in range(5)]
        assert found(node, "远方") == [] and found(hub, "远方") == ["far"]
        # The replica's name index follows: a member who leaves is gone from it
        hub.result("member.leave", {"id": "m-4"})
        wait_for(lambda: found(node, "粉丝") == ["m-%d" % i for i in range(4)], 10,
                 "m-4 to leave the node's name index")
        assert found(hub, "粉丝") == ["m-%d" % i for i in range(5)]
        # The CLI, at the node and at the hub (unplaced members there only)
        listed = cluster.ok(node_proc.endpoint, "member", "find", "粉丝")["members"]
        assert [m["id"] for m in listed] == ["m-%d" % i for i in range(4)], listed
        rc, out, err = cluster.ctl(hub_proc.endpoint, "member", "list", "--unplaced")
        assert rc == 0 and "m-4" in out and "m-1" not in out, (rc, out, err)
    finally:
        cluster.close()


@test
def replica_survives_sigkill_and_catches_up():
    cluster, hub_proc, hub, node_proc, node = start()
    try:
        converged(hub, node)
        node_proc.kill(signal.SIGKILL)
        for i in range(5, 8):
            hub.result("member.add", {"id": "m-%d" % i, "name": "新粉丝"})
            hub.result("member.join", {"id": "m-%d" % i, "hall": "h-1"})
        hub.result("member.transfer", {"id": "m-0", "branch": "b-1"})
        node_proc.start()
        node = Client(node_proc.endpoint)
        converged(hub, node)
        assert node.result("member.show", {"id": "m-7"})["member"]["group"] == "h-1"
        assert node.result("member.show", {"id": "m-0"})["member"]["seat"] == "core"
        # A clean stop on SIGTERM
        assert node_proc.stop() == 0
    finally:
        cluster.close()


@test
def node_follows_a_restarted_hub():
    cluster, hub_proc, hub, node_proc, node = start()
    try:
        converged(hub, node)
        hub_proc.kill(signal.SIGKILL)
        hub_proc.start()
        hub = Client(hub_proc.endpoint)
        hub.result("member.add", {"id": "late", "name": "迟到"})
        hub.result("member.join", {"id": "late", "hall": "h-1"})
        converged(hub, node)
        assert node.result("member.show", {"id": "late"})["member"]["group"] == "h-1"
        wait_for(lambda: node.result("hello")["hub_connected"], 5, "hub_connected")
    finally:
        cluster.close()


@test
def branch_moves_away_and_back():
    cluster, hub_proc, hub, node_proc, node = start()
    try:
        converged(hub, node)
        hub.result("node.add", {"id": "n2"})
        hub.result("branch.assign", {"id": "b-1", "node": "n2"})
        wait_for(lambda: node.result("branch.list")["branches"] == [], 10,
                 "the node to drop b-1")
        assert node.error("member.show", {"id": "m-1"})[0] == "NOT_FOUND"
        # ... its name index with it
        assert node.result("member.find", {"name": "粉丝"})["members"] == []
        hub.result("branch.assign", {"id": "b-1", "node": "n1"})
        converged(hub, node)
        found = node.result("member.find", {"name": "粉丝"})["members"]
        assert sorted(m["id"] for m in found) == ["m-%d" % i for i in range(5)], found
    finally:
        cluster.close()


@test
def forwarded_writes_are_decided_by_the_hub():
    cluster, hub_proc, hub, node_proc, node = start()
    try:
        converged(hub, node)
        # The hub is up: the caller gets the hub's answer
        added = node.result("member.add", {"id": "m-new", "name": "新人"})
        assert added["id"] == "m-new" and added["seat"] == "none", added
        joined = node.result("member.join", {"id": "m-new", "hall": "h-1"})
        assert joined["group"] == "h-1", joined
        assert hub.result("member.show", {"id": "m-new"})["member"]["group"] == "h-1"
        wait_for(lambda: node.call("member.show", {"id": "m-new"})["ok"], 10,
                 "the write to come back through replication")
        # Refusals come back verbatim
        code, message = node.error("member.join", {"id": "m-1", "branch": "b-1"})
        assert code == "LOCKED" and "h-1" in message, (code, message)
        assert audit_count(hub, "member.add", "m-new") == 1
    finally:
        cluster.close()


@test
def writes_wait_in_the_outbox_while_the_hub_is_down():
    cluster, hub_proc, hub, node_proc, node = start()
    try:
        converged(hub, node)
        hub_proc.stop()
        # Accepted as pending, in order: the join needs the add before it
        started = time.monotonic()
        first = node.result("member.add", {"id": "m-off", "name": "离线"})
        assert time.monotonic() - started < 4, "the node blocked on the hub"
        assert first["state"] == "pending", first
        second = node.result("member.join", {"id": "m-off", "hall": "h-1"})
        third = node.result("member.join", {"id": "m-1", "branch": "b-1"})
        assert second["ticket"] == first["ticket"] + 1 and third["ticket"] == first["ticket"] + 2
        status = node.result("request.status", {"ticket": first["ticket"]})
        assert status["state"] == "pending" and status["error"] is None, status
        assert not node.result("hello")["hub_connected"]
        # Reads keep working from the replica
        assert node.result("member.show", {"id": "m-1"})["member"]["group"] == "h-1"
        hub_proc.start()
        hub = Client(hub_proc.endpoint)
        assert settle(node, first["ticket"])["state"] == "done"
        done = settle(node, second["ticket"])
        assert done["state"] == "done" and done["result"]["group"] == "h-1", done
        failed = settle(node, third["ticket"])
        assert failed["state"] == "failed" and failed["error"]["code"] == "LOCKED", failed
        assert hub.result("member.show", {"id": "m-off"})["member"]["group"] == "h-1"
        assert audit_count(hub, "member.add", "m-off") == 1
        assert audit_count(hub, "member.join", "m-off") == 1
        converged(hub, node)
    finally:
        cluster.close()


@test
def a_storage_fault_at_the_hub_delays_a_forwarded_write():
    cluster, hub_proc, hub, node_proc, node = start()
    try:
        converged(hub, node)
        hub.result("member.add", {"id": "m-disk", "name": "磁盘"})
        # The hub comes back with its next 5 write commits failing, as on a
        # failing disk: each try of the forwarded write hears INTERNAL
        hub_proc.stop()
        harness.ENV["DUOTANG_FAULT_COMMITS"] = "5"
        try:
            hub_proc.start()
        finally:
            del harness.ENV["DUOTANG_FAULT_COMMITS"]
        hub = Client(hub_proc.endpoint)
        first = node.result("member.join", {"id": "m-disk", "hall": "h-1"})
        assert first["state"] == "pending", first
        # INTERNAL decided nothing: the node tries the same rid again, and
        # once the fault has cleared the write is applied, once
        done = settle(node, first["ticket"])
        assert done["state"] == "done" and done["result"]["group"] == "h-1", done
        assert "with INTERNAL" in node_proc.tail(), node_proc.tail()
        assert hub.result("member.show", {"id": "m-disk"})["member"]["group"] == "h-1"
        assert audit_count(hub, "member.join", "m-disk") == 1
        # Nothing is pinned: the next write goes straight through
        left = node.result("member.leave", {"id": "m-disk"})
        assert left.get("state") != "pending" and left["seat"] == "none", left
        converged(hub, node)
    finally:
        cluster.close()


@test
def outbox_survives_node_sigkill():
    cluster, hub_proc, hub, node_proc, node = start()
    try:
        converged(hub, node)
        hub_proc.stop()
        tickets = []
        for i in range(3):
            reply = node.result("member.add", {"id": "k-%d" % i, "name": "坚持"})
            assert reply["state"] == "pending", reply
            tickets.append(reply["ticket"])
        node_proc.kill(signal.SIGKILL)
        node_proc.start()
        node = Client(node_proc.endpoint)
        assert node.result("request.status", {"ticket": tickets[0]})["state"] == "pending"
        hub_proc.start()
        hub = Client(hub_proc.endpoint)
        for ticket in tickets:
            assert settle(node, ticket)["state"] == "done"
        for i in range(3):
            assert audit_count(hub, "member.add", "k-%d" % i) == 1
        # The node is killed again right after delivery: nothing is sent twice
        node_proc.kill(signal.SIGKILL)
        node_proc.start()
        node = Client(node_proc.endpoint)
        time.sleep(1.5)
        for i in range(3):
            assert audit_count(hub, "member.add", "k-%d" % i) == 1
        for ticket in tickets:
            assert node.result("request.status", {"ticket": ticket})["state"] == "done"
    finally:
        cluster.close()


@test
def a_repeated_client_rid_is_queued_once():
    cluster, hub_proc, hub, node_proc, node = start()
    try:
        converged(hub, node)
        hub_proc.stop()
        first = node.result("member.add", {"id": "r-1", "name": "重试"}, rid="c-1")
        again = node.result("member.add", {"id": "r-1", "name": "重试"}, rid="c-1")
        assert first["ticket"] == again["ticket"], (first, again)
        hub_proc.start()
        hub = Client(hub_proc.endpoint)
        settle(node, first["ticket"])
        reply = node.call("member.add", {"id": "r-1", "name": "重试"}, rid="c-1")
        assert reply["ok"] and reply["result"]["id"] == "r-1", reply
        assert audit_count(hub, "member.add", "r-1") == 1
    finally:
        cluster.close()


@test
def bulk_changes_replicate_in_order():
    cluster, hub_proc, hub, node_proc, node = start()
    try:
        converged(hub, node)
        for h in range(2, 12):
            hub.result("hall.create", {"id": "h-%d" % h, "name": "堂口%d" % h, "branch": "b-1",
                                       "leader": "lead"})
        # Through the node: one import of 250 rows, forwarded and decided at the hub
        rows = [{"line": i + 2, "id": "imp-%d" % i, "name": "导入%d" % i, "referrer": "",
                 "group": "h-%d" % (2 + i % 10)} for i in range(250)]
        result = node.result("import.members", {"rows": rows}, timeout=20000)
        assert result.get("imported") == 250 or result.get("state") == "pending", result
        # And many single changes at the hub, pipelined
        import msgpack
        for i in range(40):
            hub.send_raw(b"", msgpack.packb({"v": 1, "id": 1000 + i, "op": "member.transfer",
                                             "args": {"id": "imp-%d" % i, "hall": "h-1" if i < 20 else "h-11"}}))
        replies = [hub.recv() for _ in range(40)]
        assert all(r and r["id"] >= 1000 for r in replies), replies
        # h-1 takes all 20; h-11 (25 seats) fills up on the way
        assert sum(1 for r in replies if r["ok"]) >= 25, replies
        assert all(r["ok"] or r["error"]["code"] in ("FULL", "RULE") for r in replies), replies
        converged(hub, node)
        assert len(every(node, "export.members", "rows", {"branch": "b-1"})) == 1 + 5 + 250
        # More changes than the node's credit (4096): the stream goes on as it acks
        for h in range(100, 200):
            hub.send_raw(b"", msgpack.packb({"v": 1, "id": 2000 + h, "op": "hall.create",
                                             "args": {"id": "h-%d" % h, "name": "大堂%d" % h,
                                                      "branch": "b-1", "leader": "lead"}}))
        assert all(hub.recv()["ok"] for _ in range(100))
        rows = [{"line": i + 2, "id": "big-%d" % i, "name": "大%d" % i, "referrer": "",
                 "group": "h-%d" % (100 + i % 100)} for i in range(3000)]
        assert hub.result("import.members", {"rows": rows}, timeout=60000)["imported"] == 3000
        converged(hub, node)
        assert len(every(node, "export.members", "rows", {"branch": "b-1"})) == 3256
    finally:
        cluster.close()


#   Secure mode: CURVE keys written the way CZMQ writes certificates

def write_cert(prefix, name):
    public, secret = zmq.curve_keypair()
    header = "#   ZeroMQ CURVE %s Certificate\n\nmetadata\n    name = \"%s\"\ncurve\n"
    with open(prefix + ".pub", "w") as f:
        f.write(header % ("Public", name) + "    public-key = \"%s\"\n" % public.decode())
    with open(prefix + ".key", "w") as f:
        f.write(header % ("**Secret**", name) + "    public-key = \"%s\"\n" % public.decode()
                + "    secret-key = \"%s\"\n" % secret.decode())
    os.chmod(prefix + ".key", stat.S_IRUSR | stat.S_IWUSR)
    return public.decode()


@test
def secure_node_admits_only_its_keys():
    cluster = Cluster()
    try:
        admin = cluster.path("admin")
        write_cert(admin, "admin")
        stranger = cluster.path("stranger")
        write_cert(stranger, "stranger")
        node_key = cluster.path("n1")
        node_public = write_cert(node_key, "n1")
        from harness import Process
        hub_proc = Process("duotang-hub", cluster.path("hub"),
                           ["-d", cluster.path("hub"), "-e", RANDOM_PORT,
                            "--admin", admin + ".pub"]).start()
        cluster.procs.append(hub_proc)
        hub_pub = cluster.path("hub", "hub.pub")
        hub = Client(hub_proc.endpoint, admin, hub_pub)
        seed(hub)
        hub.result("key.allow", {"name": "n1", "public_key": node_public, "role": "node",
                                 "node": "n1"})
        node_proc = Process("duotang-node", cluster.path("node-n1"),
                            ["-n", "n1", "--hub", hub_proc.endpoint, "-d",
                             cluster.path("node-n1"), "-e", RANDOM_PORT,
                             "-k", node_key + ".key", "--hub-key", hub_pub,
                             "--admin", admin + ".pub"]).start()
        cluster.procs.append(node_proc)
        node_pub = cluster.path("node-n1", "node.pub")
        node = Client(node_proc.endpoint, admin, node_pub)
        converged(hub, node)
        assert node.result("hello")["role"] == "hq-admin"
        # The node key writes through the hub within its branches
        assert node.result("member.transfer", {"id": "m-4", "branch": "b-1"})["seat"] == "core"
        assert node.result("member.add", {"id": "s-1", "name": "安全"})["id"] == "s-1"
        # ... and the hub holds the node key to its branches
        code, message = node.error("member.join", {"id": "s-1", "branch": "b-2"})
        assert code == "DENIED" and "n1" in message, (code, message)
        # A key the node does not know gets nothing at all
        other = Client(node_proc.endpoint, stranger, node_pub, timeout=1000)
        assert other.call("hello") is None
        other.close()
        assert node_proc.stop() == 0
    finally:
        cluster.close()


if __name__ == "__main__":
    run()
