"""test_i18n.py -- duotangctl speaks the locale's language: real commands against
a real hub under LANG=zh_CN.UTF-8 (LC_ALL unset) print Chinese usage errors,
server errors rendered from their template and params (PROTOCOL.md 5.2.1),
table headers and connection diagnoses; under LANG=C the same in English; and
--json stays English and machine-readable, its error carrying text + params."""
import json
import os
import subprocess

from harness import BIN, ENV, Cluster, run, test, wait_for

ZH = "zh_CN.UTF-8"


def ctl(cluster, ep, lang, *args, stdin=None):
    """duotangctl in a language: LANG alone chooses it (no LC_ALL, no LANGUAGE)."""
    env = {k: v for k, v in ENV.items() if not k.startswith("LC_") and k != "LANGUAGE"}
    env.update(LANG=lang, DUOTANG_INSECURE="1")
    proc = subprocess.run([os.path.join(BIN, "duotangctl"), "-e", ep] + list(args),
                          capture_output=True, text=True, env=env, timeout=60, input=stdin)
    return proc.returncode, proc.stdout, proc.stderr


def zh_locale_present():
    out = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower()
    assert "zh_cn.utf8" in out.split(), \
        "no zh_CN.UTF-8 locale: tools/install-deps.sh generates it"


def full_branch(cluster, ep):
    """b-1 with a cap of 1 core seat, taken by m-1; m-2 unplaced."""
    cluster.ok(ep, "officer", "add", "o-1", "张三")
    cluster.ok(ep, "branch", "create", "b-1", "成都分舵", "--leader", "o-1", "--cap", "1")
    for m in ("m-1", "m-2"):
        cluster.ok(ep, "member", "add", m, "粉丝" + m[-1])
    cluster.ok(ep, "member", "join", "m-1", "--branch", "b-1")


@test
def usage_errors_speak_the_locale():
    zh_locale_present()
    cluster = Cluster()
    try:
        ep = cluster.hub().endpoint
        rc, out, err = ctl(cluster, ep, ZH, "hall", "merge", "h-1")
        assert rc == 2 and out == "", (rc, out, err)
        assert err.splitlines() == ["duotangctl: 缺少 --into",
                                    "用法：duotangctl hall merge ID --into HALL"], err
        rc, out, err = ctl(cluster, ep, "C", "hall", "merge", "h-1")
        assert rc == 2 and err.splitlines() == ["duotangctl: missing --into",
                                                "usage: duotangctl hall merge ID --into HALL"], err
        rc, _, err = ctl(cluster, ep, ZH, "hall", "frobnicate")
        assert rc == 2 and "未知的命令 'hall frobnicate'" in err, err
        rc, out, _ = ctl(cluster, ep, ZH, "--help")
        assert rc == 0 and "选项（写在命令之前）" in out and "hall merge ID --into HALL" in out, out
        rc, out, _ = ctl(cluster, ep, ZH, "hall", "merge", "--help")
        assert rc == 0 and "把一个堂口并入另一个堂口" in out, out
        # --json: the usage error stays English on stdout, Chinese on stderr
        rc, out, err = ctl(cluster, ep, ZH, "hall", "merge", "h-1", "--json")
        assert rc == 2 and json.loads(out) == {"error": {"code": "USAGE",
                                                         "message": "missing --into"}}, out
        assert "缺少 --into" in err, err
    finally:
        cluster.close()


@test
def server_errors_render_from_text_and_params():
    zh_locale_present()
    cluster = Cluster()
    try:
        ep = cluster.hub().endpoint
        full_branch(cluster, ep)
        rc, out, err = ctl(cluster, ep, ZH, "member", "join", "m-2", "--branch", "b-1")
        assert rc == 1 and out == "", (rc, out, err)
        assert err == "duotangctl: 分舵 b-1 已满：核心席位 1/1\n", err
        rc, _, err = ctl(cluster, ep, "C", "member", "join", "m-2", "--branch", "b-1")
        assert rc == 1 and err == "duotangctl: branch b-1 is full: 1/1 core seats\n", err
        # --json: the same reply's error object, its message English, with the
        # template and a param per conversion
        rc, out, err = ctl(cluster, ep, ZH, "member", "join", "m-2", "--branch", "b-1", "--json")
        assert rc == 1 and err == "duotangctl: 分舵 b-1 已满：核心席位 1/1\n", err
        assert json.loads(out) == {"error": {
            "code": "FULL", "message": "branch b-1 is full: 1/1 core seats",
            "text": "branch %s is full: %u/%u core seats", "params": ["b-1", "1", "1"]}}, out
        # A translation that reorders its conversions (%3$s ... %1$s), with a
        # param that is a server word translated too
        cluster.ok(ep, "hall", "create", "h-a", "青羊堂口", "--branch", "b-1", "--leader", "m-1",
                   "--cap", "1")
        cluster.ok(ep, "branch", "set-cap", "b-1", "10")
        cluster.ok(ep, "member", "join", "m-2", "--branch", "b-1")
        cluster.ok(ep, "hall", "create", "h-b", "锦江堂口", "--branch", "b-1", "--leader", "m-2",
                   "--cap", "1")
        for m in ("m-3", "m-4"):
            cluster.ok(ep, "member", "add", m, "酒友")
        cluster.ok(ep, "member", "join", "m-3", "--hall", "h-a")
        cluster.ok(ep, "member", "join", "m-4", "--hall", "h-b")
        cluster.ok(ep, "member", "add", "m-9", "酒友")
        rc, _, err = ctl(cluster, ep, ZH, "member", "join", "m-9", "--hall", "h-a")
        assert rc == 1 and err == "duotangctl: 堂口 h-a 已满：席位 1/1\n", err
        rc, _, err = ctl(cluster, ep, ZH, "hall", "merge", "h-a", "--into", "h-b")
        assert rc == 1 and err == "duotangctl: 合并后堂口 h-b 将有 2 个席位（上限 1）：超出 1 个\n", err
        rc, _, err = ctl(cluster, ep, "C", "hall", "merge", "h-a", "--into", "h-b")
        assert err == "duotangctl: merge would put 2 seats in h-b (cap 1): 1 over\n", err
        # Each detail of an import is rendered the same way, at its file line
        csv = "id,name,referrer,group\nm-5,新人,,h-x\nm-6,新人,,\n"
        rc, _, err = ctl(cluster, ep, ZH, "import", "members", "-", stdin=csv)
        lines = err.splitlines()
        assert rc == 1 and lines[0] == "duotangctl: 2 行中有 1 行被拒绝", err
        assert lines[1:] == ["第 2 行：群组 h-x 既不是堂口也不是分舵"], err
        rc, _, err = ctl(cluster, ep, "C", "import", "members", "-", stdin=csv)
        assert err.splitlines() == ["duotangctl: 1 of 2 rows rejected",
                                    "line 2: group h-x is neither a hall nor a branch"], err
    finally:
        cluster.close()


@test
def tables_and_diagnoses_speak_the_locale():
    zh_locale_present()
    cluster = Cluster()
    try:
        ep = cluster.hub().endpoint
        full_branch(cluster, ep)
        rc, out, err = ctl(cluster, ep, ZH, "branch", "list")
        assert rc == 0, err
        header = out.splitlines()[0].split()
        assert header == ["ID", "名称", "负责人", "核心席位", "堂口数", "节点"], out
        assert "成都分舵" in out and "1/1" in out, out
        rc, out, _ = ctl(cluster, ep, "C", "branch", "list")
        assert out.splitlines()[0].split() == ["ID", "NAME", "LEADER", "CORE", "HALLS", "NODE"], out
        # --json is the same document whatever the language
        _, zh_json, _ = ctl(cluster, ep, ZH, "branch", "list", "--json")
        _, c_json, _ = ctl(cluster, ep, "C", "branch", "list", "--json")
        assert zh_json == c_json and json.loads(zh_json), zh_json
        cluster.hub_proc.stop()
        rc, out, err = ctl(cluster, ep, ZH, "-t", "500", "branch", "list")
        assert rc == 1 and err.startswith("duotangctl: %s " % ep), err
        assert "没有应答" in err and "连接被拒绝" in err or "中心服务器（hub）是否在运行" in err, err
        rc, out, err = ctl(cluster, ep, ZH, "-t", "500", "branch", "list", "--json")
        assert json.loads(out)["error"]["message"].startswith("no answer from " + ep), out
    finally:
        cluster.close()


@test
def a_node_renders_the_same_its_own_errors_and_the_hubs_it_passes_on():
    zh_locale_present()
    cluster = Cluster()
    try:
        hub = cluster.hub()
        cluster.ok(hub.endpoint, "node", "add", "n1")
        full_branch(cluster, hub.endpoint)
        cluster.ok(hub.endpoint, "branch", "assign", "b-1", "--node", "n1")
        node = cluster.node("n1", hub).endpoint
        wait_for(lambda: ctl(cluster, node, "C", "member", "show", "m-1")[0] == 0, 15,
                 "the node's replica of m-1")
        rc, _, err = ctl(cluster, node, ZH, "member", "show", "m-9")
        assert rc == 1 and err == "duotangctl: 未知的成员 m-9\n", err
        # A membership write the node forwards: the hub's refusal, passed on whole
        rc, out, err = ctl(cluster, node, ZH, "member", "join", "m-2", "--branch", "b-1",
                           "--json")
        assert rc == 1 and err == "duotangctl: 分舵 b-1 已满：核心席位 1/1\n", err
        assert json.loads(out)["error"]["params"] == ["b-1", "1", "1"], out
    finally:
        cluster.close()


if __name__ == "__main__":
    run()
