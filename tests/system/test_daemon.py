"""test_daemon.py -- the hub and the node as daemons: SIGHUP reloads and kills
nobody, one server per data directory, the log's format and levels, strict
config files, and -h / usage errors in all three programs."""
import os
import re
import signal
import subprocess

from harness import BIN, ENV, ROOT, Cluster, run, test, wait_for

ISO_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z duotang-(hub|node)\[\d+\] "
                      r"(ERROR|WARNING|NOTICE|INFO|DEBUG): ")


def program(name, *args, timeout=30):
    proc = subprocess.run([os.path.join(BIN, name)] + list(args), capture_output=True,
                          text=True, env=ENV, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def read(path):
    try:
        return open(path, errors="replace").read()
    except OSError:
        return ""


@test
def help_on_stdout_and_usage_errors_exit_2():
    cluster = Cluster()
    try:
        for name in ("duotang-hub", "duotang-node", "duotangctl"):
            for flag in ("-h", "--help"):
                rc, out, err = program(name, flag)
                assert rc == 0 and "usage" in out and err == "", (name, flag, rc, out, err)
            rc, out, err = program(name, "--no-such-flag")
            assert rc == 2 and "usage" in err and out == "", (name, rc, out, err)
        # Every flag the hub's usage lists is one it takes: -h after it is reached
        empty = cluster.path("empty.cfg")
        open(empty, "w").close()
        rc, usage, _ = program("duotang-hub", "-h")
        flags = sorted(set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", usage)))
        assert "-v" in flags and "--log" in flags and "--check" in flags, flags
        for flag in flags:
            takes = re.search(re.escape(flag) + r"[ ,]+(?:--[\w-]+ )?([A-Z][A-Z.]*)", usage)
            value = [empty if flag in ("-c", "--config") else "1"] if takes else []
            rc, out, err = program("duotang-hub", flag, *value, "-h")
            assert rc == 0 and ("usage" in out or flag in ("-V", "--version")), (flag, rc, err)
        # The node without its required flags is a usage error, not a crash
        rc, out, err = program("duotang-node", "-n", "n1")
        assert rc == 2 and "--hub" in err, (rc, err)
    finally:
        cluster.close()


@test
def sighup_reopens_the_log_and_kills_nobody():
    cluster = Cluster()
    try:
        log = cluster.path("hub-file.log")
        config = cluster.path("hub.cfg")
        with open(config, "w") as f:
            f.write("hub\n    log_keep = 5000\n")
        hub = cluster.hub("-l", log, "-c", config)
        assert cluster.ok(hub.endpoint, "hello")["role"] == "hq-admin"
        hub.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "SIGHUP" in read(log), what="the hub to log the SIGHUP")
        assert "log %s reopened" % log in read(log), read(log)
        assert "config %s re-read: no change" % config in read(log), read(log)
        # logrotate moves the file, then signals: the hub writes to a new one
        os.rename(log, log + ".1")
        with open(config, "w") as f:
            f.write("hub\n    log_keep = 6000\n")
        hub.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "SIGHUP" in read(log), what="the hub to reopen its log")
        assert "changed: log_keep" in read(log) and "restart" in read(log), read(log)
        assert hub.proc.poll() is None, "SIGHUP stopped the hub"
        assert cluster.ok(hub.endpoint, "hello")["role"] == "hq-admin"
        cluster.ok(hub.endpoint, "node", "add", "n1")
        node = cluster.node("n1", hub)
        node.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "SIGHUP" in node.tail(), what="the node to log the SIGHUP")
        assert node.proc.poll() is None, "SIGHUP stopped the node"
        assert cluster.ok(node.endpoint, "hello")
        assert hub.stop() == 0 and node.stop() == 0
        assert "stopping" in read(log), read(log)
    finally:
        cluster.close()


@test
def one_server_per_data_directory():
    cluster = Cluster()
    try:
        hub = cluster.hub()
        pid = hub.proc.pid
        assert open(cluster.path("hub", "lock")).read().strip() == str(pid)
        rc, out, err = program("duotang-hub", "-d", cluster.path("hub"), "--insecure",
                               "-e", "tcp://127.0.0.1:*")
        assert rc == 1 and "in use by pid %d" % pid in err and "lock" in err, (rc, err)
        cluster.ok(hub.endpoint, "node", "add", "n1")
        node = cluster.node("n1", hub)
        rc, out, err = program("duotang-node", "-n", "n1", "--hub", hub.endpoint, "--insecure",
                               "-d", cluster.path("node-n1"), "-e", "tcp://127.0.0.1:*")
        assert rc == 1 and "in use by pid %d" % node.proc.pid in err, (rc, err)
        # The lock dies with its holder: a hub killed with -9 restarts at once
        hub.restart()
        assert cluster.ok(hub.endpoint, "hello")
    finally:
        cluster.close()


@test
def log_lines_are_iso_8601_with_levels_on_stderr():
    cluster = Cluster()
    try:
        hub = cluster.hub("-v")
        hub.stop()
        lines = [l for l in hub.tail().splitlines() if l.strip()]
        assert lines and all(ISO_LINE.match(l) for l in lines), lines
        text = "\n".join(lines)
        assert "DEBUG: datadir" in text and "WARNING: insecure" in text, text
        quiet = Cluster()
        try:
            hub = quiet.hub("-q")
            assert quiet.ok(hub.endpoint, "hello")
            hub.stop()
            assert "WARNING: insecure" in hub.tail() and "INFO" not in hub.tail(), hub.tail()
        finally:
            quiet.close()
    finally:
        cluster.close()


@test
def unknown_config_keys_are_refused_with_key_and_line():
    cluster = Cluster()
    try:
        config = cluster.path("hub.cfg")
        with open(config, "w") as f:
            f.write("#   duotang hub\nhub\n    datadir = \"%s\"\n    endpont = tcp://*:1\n"
                    % cluster.path("hub"))
        rc, out, err = program("duotang-hub", "-c", config, "--insecure")
        assert rc == 1 and "line 4" in err and "hub/endpont" in err, (rc, err)
        assert not os.path.exists(cluster.path("hub", "data.mdb"))
    finally:
        cluster.close()


@test
def failures_explain_themselves():
    import json
    cluster = Cluster(secure=True)
    try:
        hub = cluster.hub()
        stranger = cluster.new_key("stranger")
        other = cluster.new_key("other")
        line = cluster.fails(hub.endpoint, "hello", key=stranger)
        assert "no answer" in line and "handshake failed" in line, line
        assert "not registered" in line, line
        line = cluster.fails(hub.endpoint, "hello", server_key=other + ".pub")
        assert "handshake failed" in line and "wrong server key" in line, line
        rc, out, err = cluster.ctl_local("-e", hub.endpoint, "--insecure", "hello")
        assert rc == 1 and "handshake failed" in err, err
        wait_for(lambda: "refused a handshake from tcp://127.0.0.1:" in hub.tail(),
                 what="the hub to log the refused handshake")
        # Nothing listens: said at once, not after the timeout
        rc, out, err = cluster.ctl_local("-e", "tcp://127.0.0.1:9", "--insecure", "--json",
                                         "hello")
        assert rc == 1 and "nothing listens there" in err, err
        assert json.loads(out)["error"]["reason"] == "refused", out
        # A hub that does not answer in time is slow, not absent
        hub.proc.send_signal(signal.SIGSTOP)
        try:
            rc, out, err = cluster.ctl(hub.endpoint, "hello", timeout=500, json_out=True)
        finally:
            hub.proc.send_signal(signal.SIGCONT)
        assert rc == 1 and "slow" in err and "-t" in err, err
        assert json.loads(out)["error"]["code"] == "UNAVAILABLE", out
        # Usage errors are JSON with --json, wherever it stands
        for args in (["--json", "--bogus", "hello"], ["hall", "set-cap", "h", "x", "--json"],
                     ["--json", "nonsense"]):
            rc, out, err = cluster.ctl_local(*args)
            assert rc == 2 and json.loads(out)["error"]["code"] == "USAGE", (args, out)
    finally:
        cluster.close()


def readme_commands(section, stop):
    """The indented commands of a README section, in order."""
    text = open(os.path.join(ROOT, "README.md")).read()
    text = text[text.index(section):]
    text = text[:text.index(stop)]
    return [l.strip().split("  #")[0].strip() for l in text.splitlines()
            if l.startswith("       ") and l.strip().split(" ")[0] in
            ("duotangctl", "duotang-hub", "export")]


@test
def the_readme_first_steps_work_as_written():
    cluster = Cluster()
    try:
        steps = readme_commands("## Keys: how headquarters", "4. Rotate a key")
        assert steps[0].startswith("duotangctl key new hq --dir ~/.duotang"), steps
        home = cluster.path("home")
        os.makedirs(home)
        srv = cluster.path("srv")
        env = dict(ENV, HOME=home, PATH=os.path.abspath(BIN) + ":" + os.environ["PATH"])
        # What the leaders run on their machines, as the text says
        for name in ("n-chengdu", "zhang"):
            subprocess.run(["duotangctl", "key", "new", name], cwd=cluster.dir, env=env,
                           check=True, capture_output=True, timeout=30)
        hub = None
        try:
            for step in steps:
                step = step.replace("/srv/duotang", srv + "/duotang")
                if step.startswith("duotang-hub"):
                    # The README's hub, on a free port (others may hold 7700)
                    log = open(cluster.path("readme-hub.log"), "w")
                    hub = subprocess.Popen(["bash", "-c", "exec " + step +
                                            " -e 'tcp://127.0.0.1:*'"], cwd=cluster.dir,
                                           env=env, stdout=log, stderr=log)
                    endpoint_file = os.path.join(srv, "duotang", "endpoint")
                    wait_for(lambda: os.path.exists(endpoint_file) and
                             open(endpoint_file).read().strip(), what="the README's hub")
                    env["DUOTANG_ENDPOINT"] = open(endpoint_file).read().strip()
                    continue
                if step.startswith("export "):
                    for assignment in step[len("export "):].split():
                        name, value = assignment.split("=", 1)
                        env[name] = value.replace("~", home)
                    continue
                proc = subprocess.run(["bash", "-c", step], cwd=cluster.dir, env=env,
                                      capture_output=True, text=True, timeout=60)
                assert proc.returncode == 0, (step, proc.stdout, proc.stderr)
                if step.startswith("duotangctl key new hq"):
                    assert os.path.exists(os.path.join(home, ".duotang", "hq.key")), step
            assert hub is not None, steps
            proc = subprocess.run(["duotangctl", "--json", "key", "list"], cwd=cluster.dir,
                                  env=env, capture_output=True, text=True, timeout=60)
            assert proc.returncode == 0 and "zhang" in proc.stdout, proc.stderr
        finally:
            if hub:
                hub.terminate()
                hub.wait(20)
        # The error of a key file that cannot be written names that file
        blocked = cluster.path("blocked")
        open(blocked, "w").close()
        rc, out, err = cluster.ctl_local("key", "new", "hq", "--dir", blocked)
        assert rc == 1 and "blocked" in err, err
        if os.geteuid() != 0:       # root writes anywhere
            os.makedirs(cluster.path("ro"), mode=0o500)
            rc, out, err = cluster.ctl_local("key", "new", "hq", "--dir", cluster.path("ro"))
            assert rc == 1 and "hq.key" in err, err
    finally:
        cluster.close()


if __name__ == "__main__":
    run()
