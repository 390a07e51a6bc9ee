"""test_check.py -- duotang-hub --check DIR: the tree's invariants over a stopped
hub's store. An organisation built through duotangctl checks clean; a seat
counter altered with the LMDB tools is reported with the group and both
numbers."""
import os
import shutil
import subprocess

import msgpack

from harness import BIN, ENV, Cluster, run, test


def check(datadir):
    proc = subprocess.run([os.path.join(BIN, "duotang-hub"), "--check", datadir],
                          capture_output=True, text=True, env=ENV, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def organisation(cluster, ep):
    """A branch with two halls, a merge, a transfer, a promotion and a release:
    every kind of seat change, so that every counter has moved."""
    cluster.ok(ep, "officer", "add", "o-1", "张三")
    cluster.ok(ep, "branch", "create", "b-cd", "成都分舵", "--leader", "o-1")
    cluster.ok(ep, "branch", "create", "b-cq", "重庆分舵", "--leader", "o-1")
    for m in ("lead-a", "lead-b"):
        cluster.ok(ep, "member", "add", m, "堂主")
        cluster.ok(ep, "member", "join", m, "--branch", "b-cd")
    cluster.ok(ep, "hall", "create", "h-a", "青羊堂口", "--branch", "b-cd", "--leader", "lead-a")
    cluster.ok(ep, "hall", "create", "h-b", "锦江堂口", "--branch", "b-cd", "--leader", "lead-b")
    for i in range(4):
        cluster.ok(ep, "member", "add", "f-%d" % i, "粉丝%d" % i, "--referrer", "lead-a")
        cluster.ok(ep, "member", "join", "f-%d" % i, "--hall", "h-a" if i < 2 else "h-b")
    cluster.ok(ep, "hall", "merge", "h-b", "--into", "h-a")
    cluster.ok(ep, "member", "transfer", "f-0", "--to-branch", "b-cq")
    cluster.ok(ep, "member", "promote", "f-1")
    cluster.ok(ep, "member", "leave", "f-2")


def damage_hall_seats(datadir, hall, delta):
    """Add delta to a hall's stored seat counter, leaving the seats alone."""
    dump = subprocess.run(["mdb_dump", "-s", "hall", datadir], capture_output=True,
                          text=True, check=True).stdout.splitlines()
    i = dump.index(" " + hall.encode().hex())
    record = msgpack.unpackb(bytes.fromhex(dump[i + 1].strip()), raw=False)
    before = record["seats"]
    record["seats"] = before + delta
    dump[i + 1] = " " + msgpack.packb(record, use_bin_type=True).hex()
    subprocess.run(["mdb_load", "-s", "hall", datadir], input="\n".join(dump) + "\n",
                   text=True, check=True, capture_output=True)
    return before


@test
def check_finds_a_damaged_counter():
    cluster = Cluster()
    try:
        hub = cluster.hub()
        ep = hub.endpoint
        organisation(cluster, ep)
        seats = cluster.ok(ep, "hall", "show", "h-a")["hall"]["seats"]
        assert seats == 1, seats          # f-2, f-3 merged in; f-0, f-1, f-2 went
        assert hub.stop() == 0, hub.tail()
        datadir = cluster.path("hub")

        rc, out, err = check(datadir)
        assert rc == 0, (rc, out, err)
        assert "0 violations (2 branches, 1 halls, 6 members checked)" in out, out

        before = damage_hall_seats(datadir, "h-a", +1)
        assert before == 1, before
        rc, out, err = check(datadir)
        assert rc == 1, (rc, out, err)
        lines = out.strip().splitlines()
        assert lines[0] == "hall h-a counts 2 seats, but 1 members hold one", lines
        assert "1 violation (" in lines[-1], lines

        # Repaired, the store checks clean again and the hub serves it
        damage_hall_seats(datadir, "h-a", -1)
        assert check(datadir)[0] == 0
        hub.start()
        assert cluster.ok(hub.endpoint, "hall", "show", "h-a")["hall"]["seats"] == 1
        hub.stop()

        rc, out, err = check(cluster.path("nowhere"))
        assert rc == 2 and "no store" in err, (rc, out, err)
    finally:
        cluster.close()


@test
def a_store_of_an_older_version_gains_the_member_index():
    """A store written before the member index existed (dumped and loaded
    without that table) is given one when the hub opens it."""
    cluster = Cluster()
    try:
        hub = cluster.hub()
        organisation(cluster, hub.endpoint)
        assert hub.stop() == 0, hub.tail()
        old, new = cluster.path("hub"), cluster.path("old")
        dump = subprocess.run(["mdb_dump", "-a", old], capture_output=True, text=True,
                              check=True).stdout
        sections = dump.split("VERSION=")
        kept = [s for s in sections[1:] if "\ndatabase=member_index\n" not in s]
        assert len(kept) == len(sections) - 2, len(kept)
        shutil.copytree(old, new, ignore=shutil.ignore_patterns("data.mdb", "lock.mdb"))
        subprocess.run(["mdb_load", "-f", "/dev/stdin", new], check=True, text=True,
                       input="".join("VERSION=" + s for s in kept), capture_output=True)
        rc, out, err = check(new)
        assert rc == 1 and "is missing from the name index" in out, (rc, out, err)
        hub.datadir = new
        hub.args = [new if a == old else a for a in hub.args]
        hub.start()
        assert "building the member index of 6 members" in hub.tail(), hub.tail()
        found = cluster.ok(hub.endpoint, "member", "find", "粉丝")["members"]
        assert sorted(m["id"] for m in found) == ["f-%d" % i for i in range(4)], found
        unplaced = cluster.ok(hub.endpoint, "member", "list", "--unplaced")["members"]
        assert [m["id"] for m in unplaced] == ["f-2"], unplaced
        assert hub.stop() == 0
        assert check(new)[0] == 0
    finally:
        cluster.close()


if __name__ == "__main__":
    run()
