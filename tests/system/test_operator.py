"""test_operator.py -- what an operator reads from duotangctl: fixed table
columns, negative numbers read as values, invalid ids echoed, hall move
naming the seat it moved, times in the policy's zone."""
import re

from harness import Cluster, run, test


@test
def cli_fixes_an_operator_asked_for():
    cluster = Cluster()
    try:
        ep = cluster.hub().endpoint
        cluster.ok(ep, "officer", "add", "o-1", "张三")
        cluster.ok(ep, "officer", "add", "o-2", "李四 二")
        cluster.ok(ep, "branch", "create", "b-1", "成都分舵", "--leader", "o-1")
        cluster.ok(ep, "branch", "create", "b-2", "重庆分舵", "--leader", "o-1")
        rc, out, err = cluster.ctl(ep, "officer", "list")
        rows = out.strip().splitlines()
        assert rc == 0 and rows[0].split()[-1] == "COMPLIANT", out
        assert rows[1].split()[-1] == "yes" and rows[2].split()[-1] == "no", out
        # A negative number is the value it looks like, not an option
        rc, out, err = cluster.ctl(ep, "branch", "set-cap", "b-1", "-5")
        assert rc == 2 and "cannot be negative: '-5'" in err, err
        # An invalid id is named in its error
        line = cluster.fails(ep, "member", "show", "bad id!")
        assert "'bad id!'" in line, line
        # hall move says that the leader's core seat went along
        cluster.ok(ep, "member", "add", "m-1", "堂主")
        cluster.ok(ep, "member", "join", "m-1", "--branch", "b-1")
        cluster.ok(ep, "hall", "create", "h-1", "青羊堂口", "--branch", "b-1", "--leader", "m-1")
        rc, out, err = cluster.ctl(ep, "hall", "move", "h-1", "--to", "b-2")
        assert rc == 0 and "the leader m-1's core seat moved with the hall to branch b-2" in out, \
            (out, err)
    finally:
        cluster.close()


@test
def times_are_local_to_the_policy_zone_with_their_offset():
    cluster = Cluster()
    try:
        ep = cluster.hub().endpoint
        cluster.ok(ep, "policy", "set", "timezone=Asia/Shanghai")
        cluster.ok(ep, "officer", "add", "o-1", "张三")
        cluster.ok(ep, "branch", "create", "b-1", "成都分舵", "--leader", "o-1")
        local = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00")
        for args in (["branch", "show", "b-1"], ["officer", "list"], ["audit"]):
            rc, out, err = cluster.ctl(ep, *args)
            assert rc == 0 and local.search(out), (args, out, err)
            assert not re.search(r"\d\d:\d\d:\d\dZ", out), (args, out)
        rc, out, err = cluster.ctl(ep, "audit")
        # The audit's records show their instants as times too, never raw ms
        assert not re.search(r"created=\d{10,}", out) and "created=" in out, out
        # JSON keeps milliseconds
        shown = cluster.ok(ep, "branch", "show", "b-1")
        assert isinstance(shown["branch"]["created"], int), shown
    finally:
        cluster.close()


@test
def a_live_backup_restores_onto_a_fresh_hub():
    import os
    import subprocess
    from harness import BIN, ENV, Process
    cluster = Cluster(secure=True)
    try:
        hub = cluster.hub()
        ep = hub.endpoint
        cluster.ok(ep, "officer", "add", "o-1", "张三")
        cluster.ok(ep, "branch", "create", "b-1", "成都分舵", "--leader", "o-1")
        cluster.ok(ep, "member", "add", "m-1", "粉丝", "--tag", "city=成都")
        cluster.ok(ep, "member", "join", "m-1", "--branch", "b-1")
        before = cluster.ok(ep, "tree")
        backup = cluster.path("backup")
        proc = subprocess.run([os.path.join(BIN, "duotang-hub"), "-d", cluster.path("hub"),
                               "--backup", backup], capture_output=True, text=True, env=ENV,
                              timeout=60)
        assert proc.returncode == 0 and "restore with" in proc.stdout, proc.stderr
        assert hub.proc.poll() is None, "the backup stopped the hub"
        # Written after the backup: not in it
        cluster.ok(ep, "member", "add", "m-2", "后来")
        again = subprocess.run([os.path.join(BIN, "duotang-hub"), "-d", cluster.path("hub"),
                                "--backup", backup], capture_output=True, text=True, env=ENV,
                               timeout=60)
        assert again.returncode == 1 and "already holds a store" in again.stderr, again.stderr
        # Restore: a hub on the copy, with the same key pair and keys
        restored = Process("duotang-hub", backup, ["-d", backup, "-e", "tcp://127.0.0.1:!"])
        restored.start()
        cluster.procs.append(restored)
        rep = restored.endpoint
        assert cluster.ok(rep, "tree") == before
        member = cluster.ok(rep, "member", "show", "m-1")["member"]
        assert member["tags"] == {"city": "成都"} and member["group"] == "b-1", member
        cluster.fails(rep, "member", "show", "m-2", expect="m-2")
        check = subprocess.run([os.path.join(BIN, "duotang-hub"), "--check", backup],
                               capture_output=True, text=True, env=ENV, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        cluster.close()


@test
def make_install_puts_programs_man_pages_units_completion_and_translations_under_destdir():
    import os
    import shutil
    import subprocess
    from harness import BIN, ENV, ROOT
    cluster = Cluster()
    try:
        root = cluster.path("root")
        proc = subprocess.run(["make", "--no-print-directory", "install", "DESTDIR=" + root,
                               "PREFIX=/opt/dt", "INSTALL_FROM=" + os.path.abspath(BIN)],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        prefix = os.path.join(root, "opt", "dt")
        for path in ("bin/duotangctl", "sbin/duotang-hub", "sbin/duotang-node"):
            assert os.access(os.path.join(prefix, path), os.X_OK), path
        pages = ["share/man/man1/duotangctl.1", "share/man/man8/duotang-hub.8",
                 "share/man/man8/duotang-node.8"]
        if shutil.which("man"):
            for page in pages:
                shown = subprocess.run(["man", "--warnings", "-l", os.path.join(prefix, page)],
                                       capture_output=True, text=True, timeout=60,
                                       env=dict(ENV, MANWIDTH="80", MAN_KEEP_STDERR="1",
                                                LC_ALL="C.UTF-8"))
                assert shown.returncode == 0 and shown.stderr == "", (page, shown.stderr)
                assert "SYNOPSIS" in shown.stdout, page
        # The CLI's catalogue, found beside the installed program (bin/../share/locale)
        assert os.path.isfile(os.path.join(prefix, "share/locale/zh_CN/LC_MESSAGES/duotangctl.mo"))
        env = {k: v for k, v in ENV.items() if not k.startswith("LC_")}
        spoken = subprocess.run([os.path.join(prefix, "bin/duotangctl"), "hall", "merge", "h-1"],
                                capture_output=True, text=True, timeout=60,
                                env=dict(env, LANG="zh_CN.UTF-8"))
        assert spoken.returncode == 2 and "缺少 --into" in spoken.stderr, spoken.stderr
        hub_unit = open(os.path.join(prefix, "lib/systemd/system/duotang-hub.service")).read()
        for setting in ("ExecStart=/opt/dt/sbin/duotang-hub ", "ProtectSystem=strict",
                        "NoNewPrivileges=yes", "StateDirectory=duotang/hub",
                        "ExecReload=/bin/kill -HUP $MAINPID"):
            assert setting in hub_unit, setting
        node_unit = open(os.path.join(prefix, "lib/systemd/system/duotang-node@.service")).read()
        assert "ExecStart=/opt/dt/sbin/duotang-node -n %i" in node_unit, node_unit
        # Bash completion: nouns, verbs and options from duotangctl --help
        script = os.path.join(prefix, "share/bash-completion/completions/duotangctl")
        for words, expect in (("duotangctl ha", "hall"), ("duotangctl hall m", "move merge"),
                              ("duotangctl -e x hall merge h-1 --i", "--into")):
            done = subprocess.run(["bash", "-c", 'source "$0"; read -ra COMP_WORDS <<< "$1"; '
                                   'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _duotangctl; '
                                   'echo "${COMPREPLY[*]}"', script, words],
                                  capture_output=True, text=True, timeout=60,
                                  env=dict(ENV, PATH=os.path.abspath(BIN) + ":" +
                                           os.environ["PATH"]))
            assert done.stdout.strip() == expect, (words, done.stdout, done.stderr)
    finally:
        cluster.close()


@test
def export_org_reimports_to_an_equal_state_on_a_fresh_hub():
    import json
    cluster = Cluster()
    try:
        ep = cluster.hub().endpoint
        cluster.ok(ep, "officer", "add", "o-1", "张三")
        cluster.ok(ep, "officer", "add", "o-2", "O'Brien 李")
        cluster.ok(ep, "node", "add", "n-1")
        cluster.ok(ep, "branch", "create", "b-1", "成都分舵", "--leader", "o-1", "--cap", "50")
        cluster.ok(ep, "branch", "create", "b-2", "重庆 分舵", "--leader", "o-2")
        cluster.ok(ep, "branch", "assign", "b-1", "--node", "n-1")
        for m in ("lead-a", "lead-b"):
            cluster.ok(ep, "member", "add", m, "堂主 " + m)
            cluster.ok(ep, "member", "join", m, "--branch", "b-1")
        cluster.ok(ep, "hall", "create", "h-a", "青羊堂口", "--branch", "b-1", "--leader", "lead-a",
                   "--cap", "5")
        cluster.ok(ep, "hall", "create", "h-b", "锦江堂口", "--branch", "b-1", "--leader", "lead-b")
        # m-2 was referred by m-3, which is added after it: the file orders them
        cluster.ok(ep, "member", "add", "m-3", "推荐人", "--tag", "city=成都", "--tag", "vip=yes")
        cluster.ok(ep, "member", "add", "m-2", "粉丝 '二'", "--referrer", "m-3")
        cluster.ok(ep, "member", "join", "m-2", "--hall", "h-a")
        cluster.ok(ep, "member", "transfer", "m-2", "--to-hall", "h-b")      # first hall h-a
        cluster.ok(ep, "member", "join", "m-3", "--hall", "h-a")
        cluster.ok(ep, "member", "transfer", "m-3", "--to-branch", "b-2")    # core, first h-a
        cluster.ok(ep, "member", "add", "m-4", "走了")
        cluster.ok(ep, "member", "join", "m-4", "--hall", "h-b")
        cluster.ok(ep, "member", "leave", "m-4")                              # unplaced, h-b
        cluster.ok(ep, "member", "add", "m-5", "无")
        cluster.ok(ep, "member", "role", "m-3", "kol")
        rc, exported, err = cluster.ctl(ep, "export", "org")
        assert rc == 0 and exported.startswith("# duotang organisation"), err
        path = cluster.path("org.sh")
        with open(path, "w") as f:
            f.write(exported)
        fresh = Cluster()
        try:
            ep2 = fresh.hub().endpoint
            rc, out, err = fresh.ctl(ep2, "import", "org", path)
            assert rc == 0 and "commands" in out, (out, err)
            rc, again, err = fresh.ctl(ep2, "export", "org")
            assert rc == 0 and again == exported, (exported, again)

            def state(c, e):
                """Everything but the creation times, which the import makes anew."""
                def strip(value):
                    if isinstance(value, dict):
                        return {k: strip(v) for k, v in value.items() if k != "created"}
                    if isinstance(value, list):
                        return [strip(v) for v in value]
                    return value
                members = {m: c.ok(e, "member", "show", m)["member"]
                           for m in ("lead-a", "lead-b", "m-2", "m-3", "m-4", "m-5")}
                return json.dumps(strip([members, c.ok(e, "tree"), c.ok(e, "officer", "list")]),
                                  sort_keys=True)
            assert state(cluster, ep) == state(fresh, ep2)
            m2 = fresh.ok(ep2, "member", "show", "m-2")["member"]
            assert m2["first_hall"] == "h-a" and m2["group"] == "h-b", m2
            # Re-importing onto a hub that has it stops at the first command, with its line
            rc, out, err = fresh.ctl(ep2, "import", "org", path)
            assert rc == 1 and "line 2: stopped after 0 commands" in err, err
        finally:
            fresh.close()
    finally:
        cluster.close()


if __name__ == "__main__":
    run()
