"""test_hub.py -- the hub as a process: durability across SIGKILL, clean
shutdown, idempotent requests, and hostile or broken input over the wire."""
import os
import signal
import threading

import msgpack

from harness import Client, Cluster, run, test, wait_for


def seed(client, halls=2):
    client.result("officer.add", {"id": "o-1", "name": "张三"})
    client.result("branch.create", {"id": "b-1", "name": "成都分舵", "leader": "o-1"})
    client.result("member.add", {"id": "lead", "name": "堂主"})
    client.result("member.join", {"id": "lead", "branch": "b-1"})
    for i in range(halls):
        client.result("hall.create", {"id": "h-%d" % i, "name": "青羊堂口%d" % i,
                                      "branch": "b-1", "leader": "lead"})


@test
def acknowledged_writes_survive_sigkill():
    cluster = Cluster()
    try:
        hub = cluster.hub()
        setup = Client(hub.endpoint)
        seed(setup, halls=10)
        acked = []
        lock = threading.Lock()

        def writer(n):
            # Pipelined: many requests in flight, so the hub commits them in groups
            client = Client(hub.endpoint)
            for i in range(60):
                member = "m-%d-%d" % (n, i)
                client.send_raw(b"", msgpack.packb({"v": 1, "id": 2 * i + 1, "op": "member.add",
                                                    "args": {"id": member, "name": "粉丝"}}))
                client.send_raw(b"", msgpack.packb({"v": 1, "id": 2 * i + 2, "op": "member.join",
                                                    "args": {"id": member, "hall": "h-%d" % (i % 10)}}))
            for _ in range(120):
                reply = client.recv()
                assert reply and reply["ok"], reply
                if reply["id"] % 2 == 0:
                    with lock:
                        acked.append("m-%d-%d" % (n, reply["id"] // 2 - 1))
            client.close()
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(acked) == 240
        hub.kill(signal.SIGKILL)
        hub.start()
        check = Client(hub.endpoint)
        for member in acked:
            shown = check.result("member.show", {"id": member})["member"]
            assert shown["seat"] == "hall", shown
        tree = check.result("tree")
        seats = sum(h["seats"] for b in tree["branches"] for h in b["hall_list"])
        assert seats == 240, seats
        assert check.result("audit.verify")["ok"]
    finally:
        cluster.close()


@test
def sigterm_shuts_down_cleanly_and_restarts():
    cluster = Cluster()
    try:
        hub = cluster.hub()
        client = Client(hub.endpoint)
        client.result("officer.add", {"id": "o-1", "name": "张三"})
        client.close()
        assert hub.stop() == 0, hub.tail()
        hub.start()
        client = Client(hub.endpoint)
        assert client.result("officer.list")["officers"][0]["id"] == "o-1"
        assert hub.kill(signal.SIGINT) == 0, hub.tail()
    finally:
        cluster.close()


@test
def repeated_rid_applies_once():
    cluster = Cluster()
    try:
        hub = cluster.hub()
        client = Client(hub.endpoint)
        seed(client, halls=1)
        client.result("member.add", {"id": "m-1", "name": "甲"})
        first = client.call("member.join", {"id": "m-1", "hall": "h-0"}, rid="n1:1")
        again = client.call("member.join", {"id": "m-1", "hall": "h-0"}, rid="n1:1")
        assert first["ok"] and again["ok"], (first, again)
        assert first["result"] == again["result"]
        # A different rid is a new request: the customer lock refuses it
        code, message = client.error("member.join", {"id": "m-1", "hall": "h-0"}, rid="n1:2")
        assert code == "LOCKED", (code, message)
        hall = client.result("hall.show", {"id": "h-0"})["hall"]
        assert hall["seats"] == 1, hall
    finally:
        cluster.close()


@test
def malformed_messages_get_errors_and_change_nothing():
    cluster = Cluster()
    try:
        hub = cluster.hub()
        client = Client(hub.endpoint)
        seed(client, halls=1)
        before = client.result("audit.verify")["entries"]
        cases = [
            (b"\xc1", "MALFORMED"),                                     # never used byte
            (b"\x93\x01\x02\x03", "MALFORMED"),                         # not a map
            (msgpack.packb({"v": 1, "id": 5, "op": "tree"})[:-2], "MALFORMED"),   # truncated
            (msgpack.packb({"v": 1, "id": 5, "op": "tree"}) + b"\x00", "MALFORMED"),
            (msgpack.packb({"v": 2, "id": 5, "op": "tree"}), "VERSION"),
            (msgpack.packb({"v": 1, "id": 5, "op": "no.such"}), "UNKNOWN_OP"),
            (msgpack.packb({"v": 1, "id": 5, "op": "member.add",
                            "args": {"id": 7, "name": "x"}}), "BAD_ARGS"),
            (msgpack.packb({"v": 1, "id": 5, "op": "member.add",
                            "args": {"id": "m-x", "name": "x", "typo": 1}}), "BAD_ARGS"),
            (msgpack.packb({"v": 1, "id": 5, "op": "member.add",
                            "args": {"id": "m-x", "name": "x" * 300}}), "TOO_LARGE"),
            (msgpack.packb({"v": 1, "id": 5, "op": "member.add",
                            "args": {"id": "bad id!", "name": "x"}}), "BAD_ARGS"),
            (msgpack.packb({"v": 1, "id": 5, "op": "member.add",
                            "args": {"id": "m-x", "name": "PLACEHOLDER"}}).replace(
                                b"PLACEHOLDER", b"\xff\xfe" + b"x" * 9), "BAD_ARGS"),  # bad UTF-8
            (b"\xdd\xff\xff\xff\xff", "TOO_LARGE"),                     # huge array claim
            (b"\x91" * 64, "MALFORMED"),                                # nesting bomb
            (b"\x00" * (4 * 1024 * 1024 + 10), "TOO_LARGE"),            # body over 4 MiB
        ]
        for body, code in cases:
            client.send_raw(b"", body)
            reply = client.recv()
            assert reply is not None, "no reply to %r" % body[:20]
            assert not reply["ok"], (body[:40], reply)
            assert reply["error"]["code"] == code, (body[:40], reply)
        # Bad framing: no delimiter, extra frames
        client.send_raw(msgpack.packb({"v": 1, "id": 9, "op": "tree"}))
        reply = client.recv()
        assert reply and reply["error"]["code"] == "MALFORMED", reply
        client.send_raw(b"", b"\x80", b"\x80")
        reply = client.recv()
        assert reply and reply["error"]["code"] == "MALFORMED", reply
        # Between 4 and 16 MiB is TOO_LARGE (above); beyond 16 MiB the body is not
        # read: the hub drops the connection (PROTOCOL.md 4), the client's socket
        # connects again, and what it asks next is answered
        huge = Client(hub.endpoint, timeout=1000)
        huge.send_raw(b"", b"\x00" * (16 * 1024 * 1024 + 1))
        assert huge.recv() is None
        wait_for(lambda: huge.call("hello", timeout=500), 20, "an answer after the drop")
        huge.close()
        # Nothing was changed, and the hub still serves
        assert client.result("audit.verify")["entries"] == before
        other = Client(hub.endpoint)
        assert other.result("hello")["version"] == 1
    finally:
        cluster.close()


@test
def the_hub_does_what_protocol_md_says_at_its_edges():
    """PROTOCOL.md 4, 5 and 6 where a client had to guess: rid lengths, the id
    of a refused body, nesting counted from the request map, one rule for
    over-long values, hello's versions, a node's operation at the hub."""
    cluster = Cluster()
    try:
        hub = cluster.hub()
        client = Client(hub.endpoint)
        seed(client, halls=1)
        before = client.result("audit.verify")["entries"]
        member = {"id": "m-r", "name": "x"}
        for rid in ("", "r" * 129):
            body = msgpack.packb({"v": 1, "id": 41, "op": "member.add", "args": member, "rid": rid})
            client.send_raw(b"", body)
            reply = client.recv()
            assert reply["error"]["code"] == "MALFORMED" and reply["id"] == 41, reply
            assert "1..128" in reply["error"]["message"], reply
        assert client.result("member.add", member, rid="r" * 128)["id"] == "m-r"
        # The request map is level 1 of 8; the id comes back even when refused
        def nested(levels):
            value = 1
            for _ in range(levels - 2):
                value = [value]
            return {"v": 1, "id": 42, "op": "tree", "args": {"branch": value}}
        client.send_raw(b"", msgpack.packb(nested(8)))
        reply = client.recv()
        assert reply["id"] == 42 and reply["error"]["code"] == "BAD_ARGS", reply
        client.send_raw(b"", msgpack.packb(nested(9)))
        reply = client.recv()
        assert reply["id"] == 42 and reply["error"]["code"] == "MALFORMED", reply
        assert "nesting" in reply["error"]["message"], reply
        # Over its limit is TOO_LARGE, ids as names; of the wrong form BAD_ARGS
        assert client.error("member.add", {"id": "m" * 65, "name": "x"})[0] == "TOO_LARGE"
        assert client.error("member.add", {"id": "m-x", "name": "x" * 201})[0] == "TOO_LARGE"
        assert client.error("member.add", {"id": "-m", "name": "x"})[0] == "BAD_ARGS"
        # A missing v is MALFORMED, another v VERSION; hello honours versions
        client.send_raw(b"", msgpack.packb({"id": 43, "op": "tree"}))
        reply = client.recv()
        assert reply["id"] == 43 and reply["error"]["code"] == "MALFORMED", reply
        assert client.error("hello", {"versions": [2, 3]})[0] == "VERSION"
        assert client.result("hello", {"versions": [2, 1]})["version"] == 1
        # An operation only a node answers is refused naming who does
        code, message = client.error("request.status", {"ticket": 1})
        assert code == "DENIED" and "served by a node" in message, message
        # member.role leader is RULE; hall.set_cap below the seats is FULL
        client.result("member.add", {"id": "m-s", "name": "x"})
        client.result("member.join", {"id": "m-s", "hall": "h-0"})
        assert client.error("member.role", {"id": "m-s", "role": "leader"})[0] == "RULE"
        assert client.error("hall.set_cap", {"id": "h-0", "cap": 0})[0] == "BAD_ARGS"
        client.result("member.add", {"id": "m-t", "name": "y"})
        client.result("member.join", {"id": "m-t", "hall": "h-0"})
        assert client.error("hall.set_cap", {"id": "h-0", "cap": 1})[0] == "FULL"
        assert client.error("member.promote", {"id": "lead"})[0] == "RULE"
        assert client.error("member.transfer", {"id": "m-r", "branch": "b-1"})[0] == "RULE"
        # export: unplaced members with "" for group and referrer, lines from 1
        rows = client.result("export.members")["rows"]
        assert [row["line"] for row in rows] == list(range(1, len(rows) + 1)), rows
        unplaced = [row for row in rows if row["id"] == "m-r"]
        assert unplaced == [{"line": unplaced[0]["line"], "id": "m-r", "name": "x",
                             "referrer": "", "group": ""}], rows
        assert client.result("audit.verify")["entries"] == before + 5
    finally:
        cluster.close()


@test
def fuzz_corpus_and_mutations_never_stop_the_hub():
    import random
    cluster = Cluster()
    try:
        hub = cluster.hub()
        client = Client(hub.endpoint)
        seed(client, halls=1)
        corpus_dir = os.path.join(os.path.dirname(__file__), "..", "fuzz", "corpus")
        bodies = [open(os.path.join(corpus_dir, f), "rb").read() for f in sorted(os.listdir(corpus_dir))]
        rng = random.Random(7)
        hostile = Client(hub.endpoint)
        sent = 0
        for body in bodies:
            for _ in range(40):
                mutated = bytearray(body)
                for _ in range(rng.randint(1, 4)):
                    if mutated:
                        mutated[rng.randrange(len(mutated))] = rng.randrange(256)
                hostile.send_raw(b"", bytes(mutated))
                sent += 1
        answered = 0
        while hostile.recv(timeout=3000) is not None:
            answered += 1
            if answered == sent:
                break
        assert answered == sent, "%d of %d hostile messages answered" % (answered, sent)
        assert client.result("hello")["version"] == 1
        assert hub.proc.poll() is None, hub.tail()
    finally:
        cluster.close()


@test
def a_flooding_peer_gets_busy_and_others_are_served():
    cluster = Cluster()
    try:
        hub = cluster.hub()
        flood = Client(hub.endpoint)
        body = msgpack.packb({"v": 1, "id": 1, "op": "hello"})
        for _ in range(6000):
            flood.send_raw(b"", body)
        calm = Client(hub.endpoint)
        assert calm.result("hello")["version"] == 1
        codes = {}
        for _ in range(6000):
            reply = flood.recv()
            assert reply is not None
            code = "ok" if reply["ok"] else reply["error"]["code"]
            codes[code] = codes.get(code, 0) + 1
        assert codes.get("BUSY", 0) > 0, codes
        assert calm.result("hello")["version"] == 1
    finally:
        cluster.close()


@test
def bad_command_lines_are_refused_with_a_reason():
    import subprocess
    from harness import BIN, ENV
    cluster = Cluster()
    try:
        # A usage error exits 2 (issue 13), a start that fails 1
        cases = [(["duotang-hub", "--log-keep", "abc"], "--log-keep", 2),
                 (["duotang-hub", "--log-keep", "0"], "--log-keep", 2),
                 (["duotang-hub", "--bogus"], "usage", 2),
                 (["duotang-hub", "-c", cluster.path("missing.cfg")], "missing.cfg", 1),
                 (["duotang-hub", "stray"], "usage", 2)]
        for argv, expect, status in cases:
            proc = subprocess.run([os.path.join(BIN, argv[0])] + argv[1:] +
                                  ["-d", cluster.path("hub"), "--insecure"],
                                  capture_output=True, text=True, env=ENV, timeout=30)
            assert proc.returncode == status, (argv, proc.returncode, proc.stderr)
            assert expect in proc.stderr, (argv, proc.stderr)
        version = subprocess.run([os.path.join(BIN, "duotang-hub"), "-V"],
                                 capture_output=True, text=True, env=ENV, timeout=30)
        assert version.returncode == 0 and "duotang-hub" in version.stdout
    finally:
        cluster.close()


@test
def bad_config_files_are_refused_naming_key_and_value():
    import subprocess
    from harness import BIN, ENV
    cluster = Cluster()
    try:
        cases = [("hub\n    log_keep = -5\n", 'hub/log_keep = "-5"'),
                 ("hub\n    mapsize_mb = abc\n", 'hub/mapsize_mb = "abc"'),
                 ("hub\n    mapsize_mb = 0\n", 'hub/mapsize_mb = "0"'),
                 ("hub\n    log_keep = 18446744073709551611\n", "hub/log_keep"),
                 ("hub\n    insecure = yes\n", 'hub/insecure = "yes"'),
                 ("hub\n    rid_keep = 0\n", 'hub/rid_keep = "0"'),
                 ("hub\n    log_kep = 5\n", "unknown key hub/log_kep"),
                 ("node\n    id = n1\n", "line 1: unknown key node")]
        config = cluster.path("hub.cfg")
        for text, expect in cases:
            with open(config, "w") as f:
                f.write(text)
            proc = subprocess.run([os.path.join(BIN, "duotang-hub"), "-c", config,
                                   "-d", cluster.path("hub"), "--insecure"],
                                  capture_output=True, text=True, env=ENV, timeout=30)
            assert proc.returncode == 1, (text, proc.returncode, proc.stderr)
            assert expect in proc.stderr, (text, proc.stderr)
        # Every documented setting, insecure included, is taken
        with open(config, "w") as f:
            f.write("hub\n    datadir = %s\n    endpoint = tcp://127.0.0.1:!\n"
                    "    insecure = 1\n    log_keep = 1000\n    mapsize_mb = 64\n"
                    "    rid_keep = 5000\n"
                    % cluster.path("hub"))
        from harness import Process
        hub = Process("duotang-hub", cluster.path("hub"), ["-c", config]).start()
        cluster.procs.append(hub)
        client = Client(hub.endpoint)
        assert client.result("hello")["role"] == "hq-admin"
        client.close()
    finally:
        cluster.close()


if __name__ == "__main__":
    run()
