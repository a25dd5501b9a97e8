#!/usr/bin/python3
"""The fault matrix, run against scripts/demo as a user would run it, on free ports.

    matrix.py REPO BUILD_DIR [--only SPEC[,SPEC...]] [--quiet-minutes M] [--report FILE]

Starts the demo with its timings shortened further (every duration of the rules times
--scale), waits until it is warm, checks that it stays silent for --quiet-minutes (only
the heartbeat may reach the dead man's switch), then, for each fault of matrix.yml in turn:

  1. `scripts/demo fault SPEC`; within ramp + `for` + two evaluation intervals + group_wait,
     exactly the pages the table lists reach exactly the receivers Alertmanager's routes
     give them (emails by address, Slack by channel); anything else fails the fault;
     then the first command of the page's "Confirm" section in docs/runbook.md runs, and
     its output must show the problem (the table's `confirm`);
  2. the fault stays on for a while longer and nothing else arrives;
  3. `scripts/demo fault clear`; every page is resolved, and only resolutions arrive;
  4. Prometheus settles (nothing firing or pending but the heartbeat) before the next.

Prints what arrived and when, and a summary table; exits 1 if any fault failed.
"""
import argparse
import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "alerting"))
from derive import seconds  # noqa: E402  (one duration parser for the alerting tests)
from readme_table import receivers, routed  # noqa: E402  (the README's table reads routes so)
from runbook_confirm import Confirmer  # noqa: E402

TITLE = re.compile(r"^\[(FIRING|RESOLVED)(?::\d+)?\] (\w+) (\w+)(?: on (\S+))?")
HEARTBEAT = "/webhook/afp-deadmans-switch"


def log(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url, params=None):
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


class Failure(Exception):
    pass


class Demo:
    """scripts/demo in the background, and what it records of itself."""

    def __init__(self, repo, build, tmp, args):
        self.repo, self.tmp = repo, tmp
        self.env = dict(os.environ, AFP_DEMO_STATE=os.path.join(tmp, "state"), BUILD_DIR=build,
                        AFP_DEMO_NO_BUILD="1", AFP_DEMO_SONGS=str(args.songs), AFP_DEMO_RATE="2",
                        AFP_DEMO_INTERVAL=args.interval, AFP_DEMO_SCALE=str(args.scale),
                        AFP_DEMO_FOR=args.max_for, AFP_DEMO_GROUP_WAIT="1s",
                        AFP_DEMO_GROUP_INTERVAL=args.group_interval,
                        AFP_DEMO_PROBE_INTERVAL=args.probe_interval)
        self.proc = None
        self.ignored = {"AfpHeartbeat", *args.ignore_alert}

    def start(self):
        for _ in range(3):
            for var in ("EXPORTER", "PROMETHEUS", "ALERTMANAGER", "WORKLOAD"):
                self.env[f"AFP_DEMO_{var}_PORT"] = str(free_port())
            self.out = open(os.path.join(self.tmp, "demo.out"), "w")
            self.proc = subprocess.Popen([os.path.join(self.repo, "scripts/demo")], env=self.env,
                                         stdout=self.out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
            deadline = time.time() + 300
            while time.time() < deadline:
                text = open(self.out.name).read()
                if "] ready" in text:
                    self.prom = f"http://127.0.0.1:{self.env['AFP_DEMO_PROMETHEUS_PORT']}"
                    self.state = dict(line.split("=", 1) for line in
                                      open(self.env["AFP_DEMO_STATE"]).read().splitlines())
                    self.dir = self.state["dir"]
                    return
                if self.proc.poll() is not None:
                    break
                time.sleep(0.5)
            if "is busy" in open(self.out.name).read():
                log("a chosen port was taken meanwhile; again")
                continue
            raise Failure("the demo did not start:\n" + open(self.out.name).read()[-3000:])
        raise Failure("no set of free ports in three attempts")

    def fault(self, spec):
        r = subprocess.run([os.path.join(self.repo, "scripts/demo"), "fault", spec], env=self.env,
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise Failure(f"scripts/demo fault {spec} exited {r.returncode}: {r.stderr.strip()}")

    def query(self, expr):
        return get_json(self.prom + "/api/v1/query", {"query": expr})["data"]["result"]

    def alerts(self):
        """Alerts Prometheus has firing or pending, the heartbeat left out."""
        return [a for a in get_json(self.prom + "/api/v1/alerts")["data"]["alerts"]
                if a["labels"].get("alertname") not in self.ignored]

    def alive(self):
        if self.proc.poll() is not None:
            raise Failure("the demo exited:\n" + open(self.out.name).read()[-3000:])

    def stop(self):
        """SIGTERM to the demo alone, which stops what it started in order."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


class Inbox:
    """The sinks' messages as notifications: (status, severity, alertname, channel)."""

    def __init__(self, directory, ignored):
        self.dir, self.seen, self.ignored = directory, set(), ignored

    def new(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.dir, "*.json")),
                           key=os.path.getmtime):
            if path in self.seen:
                continue
            self.seen.add(path)
            m = json.load(open(path))
            if "subject" in m:
                title, channel = m["subject"], ("email", ",".join(m["to"]))
            elif m["path"].startswith("/slack"):
                body = m["body"] if isinstance(m["body"], dict) else {}
                title = ((body.get("attachments") or [{}])[0]).get("title", "")
                channel = ("slack", body.get("channel"))
            elif m["path"] == HEARTBEAT:
                continue
            else:
                title, channel = f"webhook {m['path']}", ("webhook", m["path"])
            match = TITLE.match(title)
            status, severity, name = (match.group(1), match.group(2).lower(), match.group(3)) \
                if match else ("?", "?", title)
            if name in self.ignored:
                log(f"  ignored (--ignore-alert) {title}")
                continue
            out.append({"status": status, "severity": severity, "alert": name,
                        "channel": channel, "title": title})
        return out


def load_rules(derived_dir):
    rules = {}
    for path in glob.glob(os.path.join(derived_dir, "rules", "*.yml")):
        for group in yaml.safe_load(open(path))["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    rules[(rule["alert"], rule["labels"].get("severity"))] = rule
    return rules


class Matrix:
    """confirmer: a runbook_confirm.Confirmer, to run each page's first Confirm command while
    it fires; None skips that step (the fleet test, whose stack is not the demo)."""

    def __init__(self, demo, args, confirmer=None):
        self.demo, self.args, self.confirmer = demo, args, confirmer
        derived = os.path.join(demo.dir, "derived")
        self.am_file = os.path.join(derived, "alertmanager.yml")
        self.rules = load_rules(derived)
        self.receivers = receivers(self.am_file)
        self.inbox = Inbox(os.path.join(demo.dir, "inbox"), set(args.ignore_alert))
        self.eval = seconds(args.interval)
        self.results = []
        # Pages delivered and not yet resolved: (alert, severity, channel) -> the fault that
        # sent them. A warning delivered before its critical took over is muted by it; its
        # resolution comes whenever the warning's own condition ends, which may be after the
        # matrix has moved on, or never (Alertmanager drops a resolution while it is muted).
        self.open_pages, self.current = {}, None

    def channels(self, page):
        """Where the routes send this page: {(kind, address)}."""
        component = self.rules[(page["alert"], page["severity"])]["labels"]["component"]
        names = routed(self.am_file, {"alertname": page["alert"], "severity": page["severity"],
                                      "component": component})
        return {channel for name in names for channel in self.receivers[name]}

    def rule_seconds(self, page, key):
        return seconds(self.rules[(page["alert"], page["severity"])].get(key, "0s"))

    def watch(self, seconds_, check, until=None):
        """Reads the inbox for up to seconds_; check(n) raises on an unwanted notification;
        until() ends the wait early. Returns the time waited."""
        start = time.time()
        while time.time() - start < seconds_:
            self.demo.alive()
            for n in self.inbox.new():
                log(f"  arrived {n['channel'][0]} {n['channel'][1]}: {n['title']}")
                if not self.late_resolution(n):
                    check(n)
            if until and until():
                return time.time() - start
            time.sleep(0.5)
        return None

    def late_resolution(self, n):
        """True for the resolution of a page an earlier fault delivered: the end of that
        incident, not a new notification (consumed here, never a failure)."""
        key = (n["alert"], n["severity"], n["channel"])
        fault = self.open_pages.get(key)
        if n["status"] != "RESOLVED" or fault in (None, self.current):
            return False
        del self.open_pages[key]
        log(f"  (the resolution of a page of fault {fault})")
        return True

    def settle(self, limit):
        """Waits until Prometheus has nothing firing or pending; nothing may arrive."""
        def quiet():
            return not self.demo.alerts()

        def nothing(n):
            raise Failure(f"arrived while settling: {n['title']} ({n['channel'][1]})")

        if self.watch(limit, nothing, quiet) is None:
            names = sorted({(a["labels"]["alertname"], a["state"]) for a in self.demo.alerts()})
            raise Failure(f"still firing or pending after {limit:.0f}s: {names}")

    def recover(self, limit):
        """After a failed fault: whatever it still sends is ignored until all is quiet."""
        deadline = time.time() + limit
        while time.time() < deadline:
            self.demo.alive()
            for n in self.inbox.new():
                log(f"  (after the failure) {n['title']}")
            if not self.demo.alerts():
                self.watch(2 * seconds(self.args.group_interval) + 2,
                           lambda n: log(f"  (after the failure) {n['title']}"))
                return
            time.sleep(1)
        raise Failure(f"still firing or pending {limit}s after clear")

    def quiet_period(self, minutes):
        log(f"healthy: {minutes} minute(s) untouched, only the heartbeat may arrive")

        def nothing(n):
            raise Failure(f"arrived while healthy: {n['title']} ({n['channel'][1]})")

        self.watch(minutes * 60, nothing)
        log(f"ok   {minutes} minute(s) healthy and silent")

    def confirm(self, fault):
        """The runbook's first Confirm command of the fault's page, while it fires, must
        show the problem: its output matches matrix.yml's `confirm`."""
        spec, alert = fault["spec"], fault["pages"][0]["alert"]
        firing = [a["labels"] for a in self.demo.alerts()
                  if a["labels"]["alertname"] == alert and a["state"] == "firing"]
        if not firing:
            raise Failure(f"{spec}: {alert} delivered but no longer firing in Prometheus")
        try:
            command, output = self.confirmer.run(alert, firing[0])
        except (KeyError, OSError, subprocess.TimeoutExpired) as e:
            raise Failure(f"{spec}: the runbook's first Confirm command of {alert}: {e}")
        if not re.search(fault["confirm"], output, re.M):
            raise Failure(f"{spec}: the runbook's first Confirm command of {alert} does not "
                          f"show the problem (no match for /{fault['confirm']}/):\n"
                          f"$ {command}\n{output}")
        log(f"ok   {spec}: the runbook's first Confirm command shows it: {command}")

    def run_fault(self, fault):
        spec, pages = fault["spec"], fault["pages"]
        want = {(p["alert"], p["severity"], ch) for p in pages for ch in self.channels(p)}
        optional = {(p["alert"], p["after"], ch) for p in pages if p.get("after")
                    for ch in self.channels({"alert": p["alert"], "severity": p["after"]})}
        names = {p["alert"] for p in pages}
        longest_for = max(self.rule_seconds(p, "for") for p in pages)
        fire_limit = fault.get("ramp", 10) + longest_for + 2 * self.eval + 1 + 15
        got, times = set(), {}

        def during(n):
            key = (n["alert"], n["severity"], n["channel"])
            if n["status"] != "FIRING" or (key not in want and key not in optional):
                raise Failure(f"{spec}: unexpected during the fault: {n['title']} "
                              f"({n['channel'][1]})")
            got.add(key)
            times.setdefault(key, time.time() - t0)
            self.open_pages[key] = spec

        log(f"fault {spec}: expecting " + ", ".join(sorted(f"{a} {s} -> {c[1]}" for a, s, c in want)))
        t0, self.current = time.time(), spec
        self.demo.fault(spec)
        if self.watch(fire_limit, during, lambda: want <= got) is None:
            missing = sorted(f"{a} {s} -> {c[1]}" for a, s, c in want - got)
            raise Failure(f"{spec}: not delivered within {fire_limit:.0f}s: {missing}")
        notified = max(times[k] for k in want)
        log(f"ok   {spec}: every page delivered {notified:.0f}s after the fault")
        if self.confirmer:
            self.confirm(fault)
        self.watch(self.args.hold, during)
        log(f"ok   {spec}: nothing else for {self.args.hold}s more")

        resolved = set()

        def after(n):
            if n["status"] != "RESOLVED" or n["alert"] not in names:
                raise Failure(f"{spec}: after clear, not a resolution: {n['title']} "
                              f"({n['channel'][1]})")
            resolved.add((n["alert"], n["channel"]))
            self.open_pages.pop((n["alert"], n["severity"], n["channel"]), None)

        wanted_resolved = {(a, c) for a, _, c in want}
        longest_keep = max(self.rule_seconds(p, "keep_firing_for") for p in pages)
        resolve_limit = longest_keep + 2 * seconds(self.args.max_for) + 30
        t1 = time.time()
        self.demo.fault("clear")
        if self.watch(resolve_limit, after, lambda: wanted_resolved <= resolved) is None:
            missing = sorted(f"{a} -> {c[1]}" for a, c in wanted_resolved - resolved)
            raise Failure(f"{spec}: not resolved within {resolve_limit:.0f}s of clear: {missing}")
        resolved_after = time.time() - t1
        log(f"ok   {spec}: resolved {resolved_after:.0f}s after clear")
        self.settle(resolve_limit)
        self.watch(2 * seconds(self.args.group_interval), after)
        for alert, severity, channel in sorted(k for k, f in self.open_pages.items() if f == spec):
            log(f"  {alert} {severity} -> {channel[1]}: delivered before the critical muted it; "
                "its resolution may come later, or never if it resolved while muted")
        return {"spec": spec, "notified": notified, "resolved": resolved_after,
                "cost": time.time() - t0,
                "pages": sorted({f"{a} {s}" for a, s, _ in want}),
                "channels": sorted({c[1] for _, _, c in want})}

    def run(self, faults):
        failed = []
        for fault in faults:
            try:
                self.results.append(self.run_fault(fault))
            except Failure as e:
                log(f"FAIL {e}")
                failed.append(fault["spec"])
                self.results.append({"spec": fault["spec"], "failed": str(e)})
                try:
                    self.demo.fault("clear")
                    self.recover(300)
                except Failure as again:
                    log(f"FAIL the demo did not recover: {again}")
                    break
        return failed


def wait_for_queries(demo, checks, deadline, limit):
    """Each (what, PromQL) of checks in turn, until the query returns something; a Failure
    naming it once deadline passes (limit: the seconds that deadline allowed)."""
    for what, expr in checks:
        while not demo.query(expr):
            demo.alive()
            if time.time() > deadline:
                raise Failure(f"warm-up: timed out after {limit:.0f}s waiting for {what}")
            time.sleep(1)
        log(f"ok   warm-up: {what}")


def warm_up(demo, minutes_limit=6):
    """Songs ingested, look-ups flowing, and Prometheus quiet (a cold start may fire)."""
    deadline = time.time() + minutes_limit * 60
    checks = [
        ("the fingerprint table filled",
         'pg_stat_user_tables_n_live_tup{relname="fingerprints"} >= 10000'),
        ("look-ups reported", 'increase(afp_db_query_duration_seconds_count{operation="lookup"}[1m]) > 0'),
        ("the probe succeeding", "afp_probe_success == 1"),
    ]
    wait_for_queries(demo, checks, deadline, minutes_limit * 60)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("repo")
    p.add_argument("build")
    p.add_argument("--only", default="")
    p.add_argument("--no-faults", action="store_true",
                   help="only the healthy period (with --quiet-minutes): a soak")
    p.add_argument("--quiet-minutes", type=float, default=0)
    p.add_argument("--report")
    p.add_argument("--scale", type=float, default=0.025)
    p.add_argument("--interval", default="2s")
    p.add_argument("--max-for", default="90s")
    p.add_argument("--group-interval", default="2s")
    p.add_argument("--probe-interval", default="2s")
    p.add_argument("--songs", type=int, default=100)
    p.add_argument("--hold", type=float, default=20)
    # For a run on a machine that is busy with something else (a build): the host's alerts
    # would be right to fire. Never in CI.
    p.add_argument("--ignore-alert", action="append", default=[])
    a = p.parse_args()

    table = yaml.safe_load(open(os.path.join(HERE, "matrix.yml")))["faults"]
    only = [s for s in a.only.split(",") if s]
    unknown = set(only) - {f["spec"] for f in table}
    if unknown:
        p.error(f"--only: no such fault in matrix.yml: {', '.join(sorted(unknown))}")
    faults = [] if a.no_faults else [f for f in table if not only or f["spec"] in only]
    unconfirmed = [f["spec"] for f in table if not f.get("confirm")]
    if unconfirmed:
        p.error(f"matrix.yml: faults without `confirm`: {', '.join(unconfirmed)}")
    if os.geteuid() != 0:
        for f in [f for f in faults if f.get("root")]:
            log(f"skip {f['spec']}: needs root")
        faults = [f for f in faults if not f.get("root")]

    # A test runner's SIGTERM (a timeout) must still stop the demo, in the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = tempfile.mkdtemp(prefix="afp-matrix.")
    demo = Demo(os.path.abspath(a.repo), os.path.abspath(a.build), tmp, a)
    started = time.time()
    failed, passed = [], 0
    try:
        log("starting scripts/demo")
        demo.start()
        log(f"demo up in {time.time() - started:.0f}s; warming up")
        warm_up(demo)
        matrix = Matrix(demo, a, Confirmer(os.path.join(demo.repo, "docs", "runbook.md"), demo,
                                           demo.state["exporter_bin"], demo.state["probe_port"]))
        matrix.settle(300)
        log(f"ok   warm: nothing firing or pending {time.time() - started:.0f}s after the start")
        if a.quiet_minutes:
            matrix.quiet_period(a.quiet_minutes)
        failed = matrix.run(faults)
        passed = len(faults) - len(failed)
        if faults:
            summary(matrix.results)
        if a.report:
            json.dump(matrix.results, open(a.report, "w"), indent=1)
    except Failure as e:
        log(f"FAIL {e}")
        failed = failed or ["(the demo)"]
    finally:
        demo.stop()
        subprocess.run(["rm", "-rf", tmp])
    log(f"{passed} of {len(faults)} faults passed in "
        f"{time.time() - started:.0f}s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def summary(results):
    print("\n| fault | pages | receivers | notified after | resolved after clear | cost |")
    print("|---|---|---|---|---|---|")
    for r in results:
        if "failed" in r:
            print(f"| {r['spec']} | FAILED: {r['failed']} | | | | |")
        else:
            print(f"| {r['spec']} | {', '.join(r['pages'])} | {', '.join(r['channels'])} | "
                  f"{r['notified']:.0f} s | {r['resolved']:.0f} s | {r['cost']:.0f} s |")
    print()


if __name__ == "__main__":
    sys.exit(main())
