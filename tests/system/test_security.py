"""test_security.py -- CurveZMQ admission, key roles and scopes, revocation of
open connections, plaintext refusal, the hub's keys enforced at nodes and on
the writes they forward, and the tamper-evident audit chain."""
import os
import stat
import subprocess

import msgpack

from harness import BIN, ENV, Client, Cluster, read_keyfile, run, test, wait_for


def secure_cluster():
    cluster = Cluster(secure=True)
    hub = cluster.hub()
    return cluster, hub


def admin(cluster, hub):
    return Client(hub.endpoint, cluster.admin_key, cluster.path("hub", "hub.pub"))


def seed_two_nodes(client):
    client.result("officer.add", {"id": "o-1", "name": "张三"})
    for node, branch in (("n1", "b-1"), ("n2", "b-2")):
        client.result("node.add", {"id": node})
        client.result("branch.create", {"id": branch, "name": branch, "leader": "o-1"})
        client.result("branch.assign", {"id": branch, "node": node})
    client.result("member.add", {"id": "m-1", "name": "甲"})
    client.result("member.add", {"id": "m-2", "name": "乙"})


@test
def key_files_are_private_and_checked():
    cluster = Cluster()
    try:
        prefix = cluster.new_key("alice")
        mode = stat.S_IMODE(os.stat(prefix + ".key").st_mode)
        assert mode == 0o600, oct(mode)
        public, secret = read_keyfile(prefix + ".key")
        assert public and secret and len(public) == 40
        assert read_keyfile(prefix + ".pub")[1] is None, "public file holds the secret"
        os.chmod(prefix + ".key", 0o644)
        rc, out, err = cluster.ctl_local("-k", prefix + ".key", "-s", prefix + ".pub",
                                         "-e", "tcp://127.0.0.1:9", "hello")
        assert rc != 0 and "accessible by others" in err, err
        rc, out, err = cluster.ctl_local("key", "new", "alice", "--dir", cluster.dir)
        assert rc != 0, "key new overwrote an existing key"
    finally:
        cluster.close()


@test
def unknown_and_plaintext_clients_get_nothing():
    cluster, hub = secure_cluster()
    try:
        stranger = cluster.new_key("stranger")
        client = Client(hub.endpoint, stranger, cluster.path("hub", "hub.pub"), timeout=1500)
        assert client.call("hello") is None, "an unregistered key got an answer"
        plain = Client(hub.endpoint, timeout=1500)
        assert plain.call("hello") is None, "a plaintext client got an answer"
        # The hub still serves its admin
        assert admin(cluster, hub).result("hello")["role"] == "hq-admin"
        code = cluster.fails(hub.endpoint, "hello", key=stranger, timeout=1500)
        assert "no answer" in code, code
    finally:
        cluster.close()


@test
def node_key_is_confined_to_its_branches():
    cluster, hub = secure_cluster()
    try:
        root = admin(cluster, hub)
        seed_two_nodes(root)
        n1 = cluster.new_key("n1key")
        cluster.ok(hub.endpoint, "key", "allow", "n1key", "--role", "node", "--node", "n1",
                   "--public", n1 + ".pub")
        client = Client(hub.endpoint, n1, cluster.path("hub", "hub.pub"))
        assert client.result("member.join", {"id": "m-1", "branch": "b-1"})["seat"] == "core"
        code, message = client.error("member.join", {"id": "m-2", "branch": "b-2"})
        assert code == "DENIED" and "node n1" in message, (code, message)
        code, message = client.error("branch.create", {"id": "b-9", "name": "x", "leader": "o-1"})
        assert code == "DENIED", (code, message)
        code, message = client.error("sync.hello", {"node": "n2", "from": 0, "credit": 1})
        assert code == "DENIED", (code, message)
        assert root.result("member.show", {"id": "m-2"})["member"]["seat"] == "none"
        # sync.ack only on the connection of a session, as its node (PROTOCOL 7.2):
        # not from another node's key, nor a leader's
        ack = {"applied": 0, "credit": 1, "ts": 0}
        n2 = cluster.new_key("n2key")
        cluster.ok(hub.endpoint, "key", "allow", "n2key", "--role", "node", "--node", "n2",
                   "--public", n2 + ".pub")
        lead = cluster.new_key("lead")
        cluster.ok(hub.endpoint, "key", "allow", "lead", "--role", "leader", "--branch", "b-1",
                   "--public", lead + ".pub")
        other = Client(hub.endpoint, n2, cluster.path("hub", "hub.pub"))
        leader = Client(hub.endpoint, lead, cluster.path("hub", "hub.pub"))
        assert client.error("sync.ack", ack)[0] == "DENIED"
        assert other.error("sync.ack", ack)[0] == "DENIED"
        assert leader.error("sync.ack", ack)[0] == "DENIED"
        client.result("sync.hello", {"node": "n1", "from": 0, "credit": 0})
        assert client.result("sync.ack", ack) is None
        assert other.error("sync.ack", ack)[0] == "DENIED"
        other.close()
        leader.close()
    finally:
        cluster.close()


@test
def leader_key_is_confined_and_revocation_cuts_open_connections():
    cluster, hub = secure_cluster()
    try:
        root = admin(cluster, hub)
        seed_two_nodes(root)
        lead = cluster.new_key("lead")
        cluster.ok(hub.endpoint, "key", "allow", "lead", "--role", "leader", "--branch", "b-2",
                   "--public", lead + ".pub")
        client = Client(hub.endpoint, lead, cluster.path("hub", "hub.pub"))
        assert client.result("member.join", {"id": "m-2", "branch": "b-2"})["seat"] == "core"
        code, message = client.error("member.join", {"id": "m-1", "branch": "b-1"})
        assert code == "DENIED" and "b-2" in message, (code, message)
        branches = client.result("branch.list")["branches"]
        assert [b["id"] for b in branches] == ["b-2"], branches
        code, _ = client.error("key.list")
        assert code == "DENIED"
        # Revoke while the connection is open: the very next request is refused
        cluster.ok(hub.endpoint, "key", "revoke", "lead")
        code, message = client.error("hello")
        assert code == "UNAUTHENTICATED" and "revoked" in message, (code, message)
        fresh = Client(hub.endpoint, lead, cluster.path("hub", "hub.pub"), timeout=1500)
        assert fresh.call("hello") is None, "a revoked key completed a new handshake"
        keys = {k["name"]: k for k in cluster.ok(hub.endpoint, "key", "list")["keys"]}
        assert keys["lead"]["revoked"] is True
    finally:
        cluster.close()


@test
def audit_records_the_acting_key_and_tampering_is_found():
    cluster, hub = secure_cluster()
    try:
        root = admin(cluster, hub)
        root.result("officer.add", {"id": "o-1", "name": "张三"})
        root.result("officer.add", {"id": "o-2", "name": "李四"})
        root.result("officer.add", {"id": "o-3", "name": "王五"})
        entries = cluster.ok(hub.endpoint, "audit")["entries"]
        adds = [e for e in entries if e["op"] == "officer.add"]
        assert len(adds) == 3 and all(e["actor"] == "admin" for e in adds), adds
        assert cluster.ok(hub.endpoint, "audit", "verify")["ok"] is True
        hub.stop()
        # Alter one byte of the second officer.add entry with the LMDB tools
        target = adds[1]["seq"]
        dump = subprocess.run(["mdb_dump", "-s", "audit", cluster.path("hub")],
                              capture_output=True, text=True, check=True).stdout.splitlines()
        key_hex = "%016x" % target
        i = dump.index(" " + key_hex)
        value = dump[i + 1]
        pos = value.index("e69d8e")      # "李" in the stored officer name
        dump[i + 1] = value[:pos] + "e69d8f" + value[pos + 6:]
        subprocess.run(["mdb_load", "-s", "audit", cluster.path("hub")],
                       input="\n".join(dump) + "\n", text=True, check=True, capture_output=True)
        hub.start()
        rc, out, err = cluster.ctl(hub.endpoint, "audit", "verify")
        assert rc != 0, "audit verify missed the altered entry"
        assert str(target) in out + err, (out, err)
    finally:
        cluster.close()


@test
def a_rewritten_audit_head_is_caught_through_a_nodes_witness():
    """Alter the newest audit entry and rewrite the stored head to match, with
    the LMDB tools: the chain alone is consistent again, but the checkpoint
    the node witnessed (signed by the hub, kept outside its store) is not."""
    import hashlib
    cluster = Cluster()
    try:
        hub = cluster.hub()
        root = Client(hub.endpoint)
        root.result("node.add", {"id": "n1"})
        for officer, name in (("o-1", "张三"), ("o-2", "李四"), ("o-3", "王五")):
            root.result("officer.add", {"id": officer, "name": name})
        target = max(e["seq"] for e in root.result("audit.list", {"limit": 100})["entries"])
        node = cluster.node("n1", hub)

        def caught_up():
            nodes = root.result("node.list")["nodes"]
            return any(n["id"] == "n1" and n["connected"] and n["applied"] == n["head"]
                       for n in nodes)
        wait_for(caught_up, 20, "the node to apply the checkpoint")
        assert root.result("audit.verify")["ok"] is True
        root.close()
        hub.stop()

        def dump(table):
            return subprocess.run(["mdb_dump", "-s", table, cluster.path("hub")],
                                  capture_output=True, text=True, check=True).stdout.splitlines()

        def load(table, lines):
            subprocess.run(["mdb_load", "-s", table, cluster.path("hub")],
                           input="\n".join(lines) + "\n", text=True, check=True,
                           capture_output=True)
        audit = dump("audit")
        i = audit.index(" %016x" % target)
        value = audit[i + 1].strip()
        pos = value.index("e78e8b")      # "王" in the newest entry's officer name
        forged = value[:pos] + "e78e8c" + value[pos + 6:]
        audit[i + 1] = " " + forged
        load("audit", audit)
        meta = dump("meta")
        j = meta.index(" " + b"audit_head".hex())
        meta[j + 1] = " " + hashlib.blake2b(bytes.fromhex(forged), digest_size=32).hexdigest()
        load("meta", meta)
        hub.start()
        root = Client(hub.endpoint)

        def refused():
            result = root.result("audit.verify")
            return result if not result["ok"] else None
        # The node says hello again (with its witness) once it misses the hub
        result = wait_for(refused, 30, "audit.verify to hold the chain against the witness")
        assert result["first_bad"] == target, result
        assert "node n1" in result["reason"], result
        rc, out, err = cluster.ctl(hub.endpoint, "audit", "verify")
        assert rc != 0 and str(target) in out + err, (out, err)
        root.close()
    finally:
        cluster.close()


@test
def one_key_flooding_from_many_connections_slows_only_itself():
    """Fair share per key (PROTOCOL.md 4): the rate is counted per key when
    requests arrive, however many connections carry them; another key is
    answered meanwhile; what a flooder that vanished had queued is bounded."""
    import time
    cluster, hub = secure_cluster()
    try:
        root = admin(cluster, hub)
        flood_key = cluster.new_key("flood")
        cluster.ok(hub.endpoint, "key", "allow", "flood", "--role", "hq-admin",
                   "--public", flood_key + ".pub")
        server_pub = cluster.path("hub", "hub.pub")
        conns = [Client(hub.endpoint, flood_key, server_pub) for _ in range(20)]
        for c in conns:
            assert c.result("hello")["key"] == "flood"
        # 20 connections, 150 writes each: 3,000 in a burst, 150 per connection
        for n, c in enumerate(conns):
            for i in range(150):
                c.send_raw(b"", msgpack.packb({"v": 1, "id": 10 + i, "op": "officer.add",
                                               "args": {"id": "f-%d-%d" % (n, i), "name": "F"}}))
        root.timeout = 1000
        wait_for(lambda: (root.call("hello") or {}).get("ok"), 20, "the other key's answer")
        codes = {}
        for c in conns:
            for _ in range(150):
                reply = c.recv(timeout=10000)
                assert reply is not None, codes
                code = "ok" if reply["ok"] else reply["error"]["code"]
                codes[code] = codes.get(code, 0) + 1
        assert codes.get("BUSY", 0) > 0, codes        # counted per key, not per connection
        root.timeout = 10000
        # Again, and the flooder vanishes at once: at most its queue (one second
        # of its rate) and what arrived in that second are run, not all it sent
        before = len(root.result("officer.list")["officers"])
        for n, c in enumerate(conns):
            for i in range(500):
                c.send_raw(b"", msgpack.packb({"v": 1, "id": 1000 + i, "op": "officer.add",
                                               "args": {"id": "g-%d-%d" % (n, i), "name": "G"}}))
            c.close()

        def settled():
            first = len(root.result("officer.list")["officers"])
            time.sleep(0.5)
            return first if first == len(root.result("officer.list")["officers"]) else None
        after = wait_for(settled, 60, "the vanished flooder's writes to stop")
        assert after - before <= 2 * 2000, (before, after)
        assert after - before < 20 * 500, (before, after)
        root.close()
    finally:
        cluster.close()


@test
def node_enforces_leader_scope_locally():
    cluster, hub = secure_cluster()
    try:
        root = admin(cluster, hub)
        seed_two_nodes(root)
        n1key = cluster.new_key("n1key")
        cluster.ok(hub.endpoint, "key", "allow", "n1key", "--role", "node", "--node", "n1",
                   "--public", n1key + ".pub")
        lead = cluster.new_key("lead")
        cluster.ok(hub.endpoint, "key", "allow", "lead", "--role", "leader", "--branch", "b-1",
                   "--public", lead + ".pub")
        far = cluster.new_key("far")
        cluster.ok(hub.endpoint, "key", "allow", "far", "--role", "leader", "--branch", "b-2",
                   "--public", far + ".pub")
        n1 = cluster.node("n1", hub, key=n1key)
        n1_pub = cluster.path("node-n1", "node.pub")

        # n1 admits the leader key once it has replicated the key and b-1
        def admitted():
            probe = Client(n1.endpoint, lead, n1_pub, timeout=500)
            reply = probe.call("hello")
            probe.close()
            return reply
        hello = wait_for(admitted, 20, "n1 to admit the leader key")["result"]
        assert hello["role"] == "leader" and hello["key"] == "lead", hello
        assert hello["branches"] == ["b-1"], hello
        as_lead = dict(key=lead, server_key=n1_pub)
        tree = cluster.ok(n1.endpoint, "tree", **as_lead)
        assert [b["id"] for b in tree["branches"]] == ["b-1"], tree
        # A write asked at n1 is decided at the hub in the leader's scope
        joined = cluster.ok(n1.endpoint, "member", "join", "m-1", "--branch", "b-1", **as_lead)
        assert joined["seat"] == "core" and joined["branch"] == "b-1", joined
        entries = root.result("audit.list", {"limit": 1000})["entries"]
        joins = [e for e in entries if e["op"] == "member.join" and e["args"]["id"] == "m-1"]
        assert [e["actor"] for e in joins] == ["n1key/lead"], joins
        client = Client(n1.endpoint, lead, n1_pub)
        code, message = client.error("member.join", {"id": "m-2", "branch": "b-2"})
        assert code == "DENIED" and "lead" in message, (code, message)
        assert root.result("member.show", {"id": "m-2"})["member"]["seat"] == "none"
        # A leader of another node's branch, and an unknown key, get nothing at n1
        for key in (far, cluster.new_key("stranger")):
            other = Client(n1.endpoint, key, n1_pub, timeout=1500)
            assert other.call("hello") is None, "n1 answered " + key
            other.close()
        # Revoked at the hub: n1 refuses the open connection's next request
        # once the revocation has replicated, and admits no new one
        cluster.ok(hub.endpoint, "key", "revoke", "lead")

        def refused():
            reply = client.call("hello")
            return reply and not reply["ok"] and reply["error"]
        error = wait_for(refused, 20, "n1 to refuse the revoked leader key")
        assert error["code"] == "UNAUTHENTICATED" and "revoked" in error["message"], error
        fresh = Client(n1.endpoint, lead, n1_pub, timeout=1500)
        assert fresh.call("hello") is None, "a revoked key completed a new handshake at n1"
        assert n1.stop() == 0
    finally:
        cluster.close()


def call_as(client, op, args, asker):
    """A request carrying "as", the way a node forwards a local client's write."""
    request = {"v": 1, "id": client.next_id, "op": op, "args": args, "as": asker}
    client.next_id += 1
    client.send_raw(b"", msgpack.packb(request))
    reply = client.recv()
    assert reply is not None and reply["id"] == request["id"], reply
    return reply


@test
def hub_judges_forwarded_writes_in_the_asking_keys_scope():
    cluster, hub = secure_cluster()
    try:
        root = admin(cluster, hub)
        seed_two_nodes(root)
        root.result("member.add", {"id": "m-3", "name": "丙"})
        keys = {}
        for name, extra in (("n1key", ["--role", "node", "--node", "n1"]),
                            ("n2key", ["--role", "node", "--node", "n2"]),
                            ("lead", ["--role", "leader", "--branch", "b-1"])):
            keys[name] = cluster.new_key(name)
            cluster.ok(hub.endpoint, "key", "allow", name, *extra,
                       "--public", keys[name] + ".pub")
        node = Client(hub.endpoint, keys["n1key"], cluster.path("hub", "hub.pub"))
        reply = call_as(node, "member.join", {"id": "m-1", "branch": "b-1"}, "lead")
        assert reply["ok"] and reply["result"]["seat"] == "core", reply
        entries = root.result("audit.list", {"limit": 1000})["entries"]
        assert entries[-1]["op"] == "member.join" and entries[-1]["actor"] == "n1key/lead"
        # The asking key's scope, within the node key's: an hq-admin asking at
        # n1 still writes only n1's branches
        for asker, needle in (("lead", "leader key lead"), ("admin", "node n1")):
            reply = call_as(node, "member.join", {"id": "m-2", "branch": "b-2"}, asker)
            error = reply["error"]
            assert error["code"] == "DENIED" and needle in error["message"], (asker, error)
        for asker, code in (("nobody", "UNAUTHENTICATED"), ("n2key", "DENIED")):
            reply = call_as(node, "member.join", {"id": "m-3", "branch": "b-1"}, asker)
            assert reply["error"]["code"] == code, (asker, reply)
        reply = call_as(node, "officer.add", {"id": "o-9", "name": "x"}, "admin")
        assert reply["error"]["code"] == "DENIED", reply
        reply = call_as(root, "member.join", {"id": "m-3", "branch": "b-1"}, "lead")
        assert reply["error"]["code"] == "DENIED", reply
        reply = call_as(node, "member.join", {"id": "m-3", "branch": "b-1"}, "not an id")
        assert reply["error"]["code"] == "MALFORMED", reply
        cluster.ok(hub.endpoint, "key", "revoke", "lead")
        reply = call_as(node, "member.join", {"id": "m-3", "branch": "b-1"}, "lead")
        assert reply["error"]["code"] == "UNAUTHENTICATED", reply
        assert root.result("member.show", {"id": "m-3"})["member"]["seat"] == "none"
        assert root.result("member.show", {"id": "m-2"})["member"]["seat"] == "none"
    finally:
        cluster.close()


@test
def insecure_mode_is_loopback_only_and_says_so():
    cluster = Cluster()
    try:
        for program, extra in (("duotang-hub", []),
                               ("duotang-node", ["-n", "n1", "--hub", "tcp://127.0.0.1:9"])):
            proc = subprocess.run([os.path.join(BIN, program), "--insecure",
                                   "-d", cluster.path(program), "-e", "tcp://0.0.0.0:!"] + extra,
                                  capture_output=True, text=True, env=ENV, timeout=30)
            assert proc.returncode != 0, (program, proc.stderr)
            assert "loopback" in proc.stderr, (program, proc.stderr)
        rc, out, err = cluster.ctl_local("--insecure", "-e", "tcp://192.0.2.1:7700", "hello")
        assert rc != 0 and "loopback" in err, err
        hub = cluster.hub()           # insecure on 127.0.0.1: allowed, with a warning
        assert "WARNING" in hub.tail() and "insecure" in hub.tail().lower(), hub.tail()
    finally:
        cluster.close()


@test
def strangers_holding_half_open_connections_do_not_lock_keys_out():
    """1,100 raw TCP connections that send 2 bytes and hold on, against a hub
    started with the common default of 1,024 file descriptors: it raises its
    budget to the hard limit at start and drops handshakes that do not finish,
    so a registered admin is still answered."""
    import resource
    import socket
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        print("SKIP: hard file limit %d too low for the test" % hard)
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))     # the hub inherits it
    try:
        cluster, hub = secure_cluster()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    strangers = []
    try:
        if soft != resource.RLIM_INFINITY and soft < 4096:
            resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
        host, port = hub.endpoint[len("tcp://"):].rsplit(":", 1)
        for _ in range(1100):
            s = socket.create_connection((host, int(port)), timeout=5)
            s.sendall(b"\xff\x00")
            strangers.append(s)
        root = admin(cluster, hub)
        root.timeout = 1000

        def answered():
            reply = root.call("hello")
            return reply and reply["ok"]
        # Within less than the handshake timeout (5 s): answered while the
        # strangers still hold their connections, not after they were dropped
        wait_for(answered, 4, "an answer to a registered key")
        root.close()
    finally:
        for s in strangers:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        cluster.close()


if __name__ == "__main__":
    run()
