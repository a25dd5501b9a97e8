#!/usr/bin/python3
"""AfpFilesystemFillingUp fires in a real Prometheus, once per device, only with an hour of
history, and the runbook's first Confirm command, filled from the firing alert, shows it.

    runbook_filling_up.py REPO PROMETHEUS PROMTOOL

The alert needs samples an hour old (`offset 1h`) and a 6-hour trend, which no test can
wait for: the history is backfilled instead. Two hours of node_filesystem_* series,
written as OpenMetrics and turned into TSDB blocks by `promtool tsdb create-blocks-from
openmetrics`, ending now:
  - instance A: one device (/dev/sdb1) bind-mounted twice, its free space falling
    steadily, plus a root filesystem (/dev/sda1) that does not change;
  - instance B: the same device falling just as fast, with only the last 30 minutes.
Prometheus then evaluates the shipped rules (recording ones included: they only read the
raw series at evaluation time, so they need no backfill), with every `for` shortened by
tests/e2e/alerting/derive.py as the demo does it (ranges and offsets over 15 minutes, the
trend and the history guard, are kept: the alert's expression must be the shipped one).
Nothing is scraped: the last backfilled samples stay current for Prometheus' 5-minute
lookback, which the few seconds to the first firing evaluation are well within.

Checked: exactly one alert fires, for A's device, without a mountpoint label and with both
mountpoints in its summary; B's device, as full and as fast-filling, fires nothing (the
history guard); the first Confirm command of docs/runbook.md, its placeholders filled from
the firing alert's labels alone, returns the falling free space of both mountpoints.
"""
import glob
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "faults"))
from runbook_confirm import first_commands, fill, is_shell, promql_result  # noqa: E402

ALERT = "AfpFilesystemFillingUp"
JOB = "afp"
A, B = "db-a.example.internal:9793", "db-b.example.internal:9793"
DEVICE, ROOT_DEVICE = "/dev/sdb1", "/dev/sda1"
BIND_MOUNTS = ("/srv/afp", "/var/lib/postgresql")
SIZE = 100e9
FREE_NOW = 34e9  # 66 % used
FALL_PER_HOUR = 3e9  # full in about 11 hours
STEP = 30  # seconds between backfilled samples
EVALUATION = "1s"


class Failure(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def filesystem(instance, device, mountpoint, fstype="ext4"):
    return {"device": device, "fstype": fstype, "instance": instance, "job": JOB,
            "mountpoint": mountpoint}


def series_plan():
    """[(labels, seconds of history, free bytes lost per hour)]."""
    plan = [(filesystem(A, DEVICE, m), 2 * 3600, FALL_PER_HOUR) for m in BIND_MOUNTS]
    plan.append((filesystem(A, ROOT_DEVICE, "/"), 2 * 3600, 0.0))
    plan.append((filesystem(B, DEVICE, BIND_MOUNTS[0]), 30 * 60, FALL_PER_HOUR))
    return plan


def label_text(labels):
    return ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))


def openmetrics(now):
    """The backfill: every series of series_plan() up to now, a sample every STEP seconds."""
    families = {"node_filesystem_avail_bytes": [], "node_filesystem_size_bytes": [],
                "node_filesystem_readonly": []}
    for labels, history, fall in series_plan():
        for t in range(int(now) - history, int(now) + 1, STEP):
            free = FREE_NOW + fall * (now - t) / 3600
            sample = {"node_filesystem_avail_bytes": free, "node_filesystem_size_bytes": SIZE,
                      "node_filesystem_readonly": 0}
            for name, value in sample.items():
                families[name].append(f"{name}{{{label_text(labels)}}} {value:.0f} {t}")
    lines = []
    for name, samples in families.items():
        lines.append(f"# TYPE {name} gauge")
        lines.extend(samples)
    return "\n".join(lines) + "\n# EOF\n"


def run(argv, what):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise Failure(f"{what} failed (exit {r.returncode}):\n{r.stdout}{r.stderr}")
    return r.stdout


def derive_rules(repo, tmp):
    """The shipped rules with the demo's scaling and every `for` at most 2s."""
    out = os.path.join(tmp, "derived")
    run([sys.executable, os.path.join(repo, "tests", "e2e", "alerting", "derive.py"),
         "--rules-dir", os.path.join(repo, "rules"),
         "--alertmanager", os.path.join(repo, "alertmanager", "alertmanager.yml"),
         "--out", out, "--smtp", "127.0.0.1:9", "--slack-url", "http://127.0.0.1:9/slack",
         "--scale", "0.1", "--for", "2s"], "derive.py")
    rules = os.path.join(out, "rules")
    shipped, derived = (alert_rules(os.path.join(d, "*.yml"))
                        for d in (os.path.join(repo, "rules"), rules))
    if len(derived) != 1 or derived[0]["expr"] != shipped[0]["expr"]:
        raise Failure(f"derive.py changed {ALERT}'s trend or history guard: {derived}")
    return os.path.join(rules, "*.yml")


def alert_rules(pattern):
    return [r for path in glob.glob(pattern) for g in yaml.safe_load(open(path))["groups"]
            for r in g["rules"] if r.get("alert") == ALERT]


class Prometheus:
    def __init__(self, binary, tmp, data, rules):
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as f:
            yaml.safe_dump({"global": {"evaluation_interval": EVALUATION},
                            "rule_files": [rules]}, f)
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = os.path.join(tmp, "prometheus.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={data}",
                 f"--web.listen-address={self.url[len('http://'):]}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def get(self, path, params=None):
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)["data"]

    def query(self, expr):
        return self.get("/api/v1/query", {"query": expr})["result"]

    def wait(self, what, ready, seconds=120):
        deadline = time.time() + seconds
        while True:
            if self.proc.poll() is not None:
                raise Failure(f"Prometheus exited:\n{open(self.log).read()[-3000:]}")
            try:
                result = ready()
                if result:
                    return result
            except OSError:
                pass
            if time.time() > deadline:
                raise Failure(f"timed out after {seconds}s waiting for {what}")
            time.sleep(0.5)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def firing(prom, instance=None):
    selector = f'alertname="{ALERT}",alertstate="firing"'
    if instance:
        selector += f',instance="{instance}"'
    return prom.query(f"ALERTS{{{selector}}}")


def check_one_alert(prom):
    """The alert's labels, after it fired for A's device alone, once for both bind mounts."""
    prom.wait(f"{ALERT} firing", lambda: firing(prom))
    # Three evaluations firing: B, judged in the same evaluations, had its chances.
    prom.wait("three evaluations firing", lambda: prom.query(
        f'count_over_time(ALERTS{{alertname="{ALERT}",alertstate="firing"}}[10m]) >= 3'))
    alerts = [s["metric"] for s in firing(prom)]
    if len(alerts) != 1:
        raise Failure(f"want one firing {ALERT}, got {alerts}")
    labels = alerts[0]
    if labels.get("instance") != A or labels.get("device") != DEVICE or "mountpoint" in labels:
        raise Failure(f"want the alert of {A} {DEVICE} without a mountpoint, got {labels}")
    print(f"ok   one {ALERT} for {len(BIND_MOUNTS)} bind mounts of {DEVICE}: {labels}")
    never_b = prom.query(f'ALERTS{{alertname="{ALERT}",instance="{B}"}}[10m]')
    if never_b:
        raise Failure(f"{B} has 30 minutes of history and still alerted: {never_b}")
    print(f"ok   {B}, with 30 minutes of history, was never pending or firing")
    return labels


def check_b_fills_as_fast(prom):
    """B misses nothing but the history: as full as A and as soon full."""
    def by_instance(expr):
        return {s["metric"]["instance"]: float(s["value"][1]) for s in prom.query(expr)}

    sel = f'device="{DEVICE}",mountpoint="{BIND_MOUNTS[0]}"'
    for what, expr in (
            ("used ratio", f"instance_mountpoint:node_filesystem_used:ratio{{{sel}}}"),
            ("time to full", f"node_filesystem_avail_bytes{{{sel}}}"
                             f" / -deriv(node_filesystem_avail_bytes{{{sel}}}[6h])")):
        got = by_instance(expr)
        if set(got) != {A, B} or abs(got[A] - got[B]) > 1e-6 * abs(got[A]):
            raise Failure(f"{what}: want equal values for {A} and {B}, got {got}")
        print(f"ok   {what} of {B} equals {A}'s: {got[B]:g}")


def check_summary(prom):
    """The summary lists the mountpoints the alert's labels no longer have."""
    alerts = [a for a in prom.get("/api/v1/alerts")["alerts"]
              if a["labels"]["alertname"] == ALERT and a["state"] == "firing"]
    want = ", ".join(sorted(BIND_MOUNTS))
    for a in alerts:
        for key in ("summary", "description"):
            if f"{want} " not in a["annotations"][key]:
                raise Failure(f"{key} does not name {want}: {a['annotations'][key]!r}")
    print(f"ok   summary and description name {want}: {alerts[0]['annotations']['summary']!r}")


def check_confirm(prom, runbook, labels):
    """The runbook's first Confirm command, filled from the alert's labels, shows both
    mountpoints of the device losing free space, and nothing else."""
    command = first_commands(runbook).get(ALERT)
    if command is None or is_shell(command):
        raise Failure(f"want a PromQL first Confirm command for {ALERT}, got {command!r}")
    try:
        expr = fill(command, labels)
    except KeyError as e:
        raise Failure(f"the firing alert's labels {sorted(labels)} cannot fill it: {e}")
    output = promql_result(prom.query, expr)
    print(f"     {expr}\n" + "".join(f"     {line}\n" for line in output.splitlines()))
    rows = prom.query(expr)
    mounts = sorted(r["metric"].get("mountpoint", "") for r in rows)
    if mounts != sorted(BIND_MOUNTS) or any(r["metric"].get("instance") != A for r in rows):
        raise Failure(f"want one row per bind mount of {A} {DEVICE}, got:\n{output}")
    if any(float(r["value"][1]) >= 0 for r in rows):
        raise Failure(f"want the falling free space (negative values), got:\n{output}")
    print("ok   the first Confirm command shows the free space falling on both bind mounts")


def main():
    repo, prometheus, promtool = sys.argv[1:4]
    with tempfile.TemporaryDirectory(prefix="afp-filling-up.") as tmp:
        rules = derive_rules(repo, tmp)
        data = os.path.join(tmp, "data")
        backfill = os.path.join(tmp, "backfill.om")
        with open(backfill, "w") as f:
            f.write(openmetrics(time.time()))
        run([promtool, "tsdb", "create-blocks-from", "openmetrics", backfill, data],
            "promtool tsdb create-blocks-from openmetrics")
        prom = Prometheus(prometheus, tmp, data, rules)
        try:
            prom.wait("Prometheus ready", lambda: urllib.request.urlopen(
                prom.url + "/-/ready", timeout=2).status == 200)
            labels = check_one_alert(prom)
            check_b_fills_as_fast(prom)
            check_summary(prom)
            check_confirm(prom, os.path.join(repo, "docs", "runbook.md"), labels)
        except Failure as e:
            print(f"FAIL {e}\n----- Prometheus log\n{open(prom.log).read()[-3000:]}")
            return 1
        finally:
            prom.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
