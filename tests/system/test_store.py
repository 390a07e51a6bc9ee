"""test_store.py -- damaged stores are refused at start, hub and node: a data.mdb
cut short (shorter than its last page), an empty or missing one in a directory
that has held a store. Refused with a message that says what is wrong, never a
crash (SIGBUS) and never an empty organisation beside the old keys.

    DUOTANG_BIN=build/asan /usr/bin/python3 tests/system/test_store.py [TEST...]
"""
import os
import subprocess

from harness import BIN, ENV, Client, Cluster, run, test, wait_for


def start_fails(proc, expect):
    """Start proc's program on its data directory: it must exit non-zero on its
    own (not by a signal) with expect in what it says."""
    done = subprocess.run([os.path.join(BIN, proc.program)] + proc.args,
                          capture_output=True, text=True, env=ENV, timeout=60)
    said = done.stdout + done.stderr
    assert done.returncode > 0, "%s exited with %d: %s" % (proc.program, done.returncode, said)
    assert expect in said, "expected %r in %r" % (expect, said)
    return said


def seed(client):
    """A branch of 200 members: a store of many pages."""
    client.result("officer.add", {"id": "o-1", "name": "张三"})
    client.result("branch.create", {"id": "b-1", "name": "成都分舵", "leader": "o-1"})
    rows = [{"line": i + 1, "id": "m-%d" % i, "name": "粉丝%d" % i, "referrer": "",
             "group": "b-1"} for i in range(200)]
    client.result("import.members", {"rows": rows})
    return client


def damage_and_check(proc):
    """Cut the stopped server's store short, empty it and remove it; each start
    is refused. The intact bytes are put back between the cuts."""
    path = os.path.join(proc.datadir, "data.mdb")
    intact = open(path, "rb").read()
    assert len(intact) > 16384, "store too small to cut: %d" % len(intact)
    for size in (8192, len(intact) // 2):
        with open(path, "r+b") as f:
            f.truncate(size)
        start_fails(proc, "truncated")
        with open(path, "wb") as f:
            f.write(intact)
    with open(path, "r+b") as f:
        f.truncate(0)
    start_fails(proc, "empty")
    os.unlink(path)
    start_fails(proc, "missing")
    with open(path, "wb") as f:
        f.write(intact)
    return proc.start()


@test
def damaged_hub_store_is_refused():
    cluster = Cluster()
    try:
        hub = cluster.hub()
        seed(Client(hub.endpoint)).close()
        assert hub.stop() == 0
        hub = damage_and_check(hub)
        # The intact store serves again, all of it
        client = Client(hub.endpoint)
        assert client.result("branch.show", {"id": "b-1"})["branch"]["core_seats"] == 200
        client.close()
    finally:
        cluster.close()


@test
def damaged_node_store_is_refused():
    cluster = Cluster()
    try:
        hub = cluster.hub()
        client = Client(hub.endpoint)
        client.result("node.add", {"id": "n1"})
        seed(client)
        client.result("branch.assign", {"id": "b-1", "node": "n1"})
        node = cluster.node("n1", hub)
        local = Client(node.endpoint)

        def replicated():
            reply = local.call("branch.show", {"id": "b-1"})
            return reply and reply["ok"] and reply["result"]["branch"]["core_seats"] == 200
        wait_for(replicated, 20, "the node to hold b-1")
        local.close()
        assert node.stop() == 0
        node = damage_and_check(node)
        local = Client(node.endpoint)
        wait_for(replicated, 20, "the restored node to serve b-1")
        local.close()
        client.close()
    finally:
        cluster.close()


if __name__ == "__main__":
    run()
