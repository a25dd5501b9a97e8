#!/usr/bin/python3
"""A fleet of two afp_workload + afp_exporter pairs under one Prometheus and one Alertmanager.

    fleet.py REPO EXPORTER WORKLOAD PROMETHEUS ALERTMANAGER [--quiet-seconds S] [--fault SPEC]

Starts the fleet (stack.py) with the shipped rules and routes shortened as the fault matrix
shortens them, waits until both pairs are warm and Prometheus is quiet, then checks:

  1. healthy for --quiet-seconds: nothing but the heartbeat arrives;
  2. the fleet recording rules equal their reference queries over both instances' raw
     series, at one evaluation timestamp (fleet_rules.py);
  3. --fault (a fault of tests/e2e/faults/matrix.yml, default slow-fingerprint) on pair a
     delivers exactly the pages matrix.yml lists for it, each naming pair a's instance, and
     after clear only their resolutions (the fault matrix's own procedure);
  4. the fleet rules again, at an evaluation while the fault was on;
  5. no message the sinks received names pair b's instance.

Exits 1 on the first failure; every process is stopped either way.
"""
import argparse
import glob
import json
import os
import re
import signal
import sys
import time
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
FAULTS = os.path.join(HERE, "..", "faults")
sys.path.insert(0, FAULTS)
from matrix import HEARTBEAT, TITLE, Failure, Inbox, Matrix, log, wait_for_queries  # noqa: E402
import fleet_rules  # noqa: E402
from stack import Fleet, StackError  # noqa: E402


class PairInbox(Inbox):
    """The fault matrix's inbox, refusing any notification that names no instance or
    another than the broken pair's."""

    def __init__(self, directory, ignored, instance):
        super().__init__(directory, ignored)
        self.instance = instance

    def new(self):
        arrived = super().new()
        for n in arrived:
            match = TITLE.match(n["title"])
            # An email's subject goes on after the instance with ": <summary>".
            named = match.group(4).rstrip(":") if match and match.group(4) else None
            if named != self.instance:
                raise Failure(f"{n['title']}: names {named or 'no instance'}, but only "
                              f"{self.instance} is broken")
        return arrived


def ingested(pair):
    """The workload has stored (or found stored) every song it was asked to ingest."""
    with urllib.request.urlopen(pair.workload_url + "/stats", timeout=5) as r:
        counts = json.load(r)["ingest"]
    if counts["failed"]:
        raise Failure(f"workload {pair.name}: {counts['failed']} songs failed to ingest")
    return counts["stored"] + counts["skipped"] == counts["total"]


def moving_on_both(counter):
    return f"count(sum by (instance) (increase({counter}[30s])) > 0) == 2"


def warm_up(fleet, limit):
    """Both pairs' songs stored, and both identifying, looking up, probed and connected."""
    deadline = time.time() + limit
    for pair in fleet.pairs:
        while not ingested(pair):
            fleet.alive()
            if time.time() > deadline:
                raise Failure(f"warm-up: workload {pair.name} still ingesting after {limit}s")
            time.sleep(1)
    log("ok   warm-up: both workloads stored their songs")
    checks = [
        ("PostgreSQL up for both exporters", 'count(pg_up{job="afp"} == 1) == 2'),
        ("both probes succeeding", 'count(afp_probe_success{job="afp"} == 1) == 2'),
        ("fingerprints reported by both workloads",
         moving_on_both('afp_fingerprint_generation_seconds_count{job="afp"}')),
        ("look-ups reported by both workloads",
         moving_on_both('afp_db_query_duration_seconds_count{job="afp", operation="lookup"}')),
    ]
    wait_for_queries(fleet, checks, deadline, limit)


def matrix_fault(spec):
    table = yaml.safe_load(open(os.path.join(FAULTS, "matrix.yml")))["faults"]
    for fault in table:
        if fault["spec"] == spec:
            return fault
    raise SystemExit(f"--fault {spec}: no such fault in tests/e2e/faults/matrix.yml")


def compare_fleet_rules(fleet, windows, around, when):
    try:
        t0 = fleet_rules.compare(fleet, windows, around, log)
    except fleet_rules.Mismatch as e:
        raise Failure(f"fleet rules {when}: {e}")
    log(f"ok   fleet rules {when}: each equals its query over both instances at {t0:.3f}")


def nothing_names(inbox_dir, instance):
    """Every message but the heartbeat, whole (subject, text, JSON), searched for instance
    (not followed by a digit: 127.0.0.1:6553 is no mention of 127.0.0.1:65530)."""
    mention = re.compile(re.escape(instance) + r"(?!\d)")
    for path in sorted(glob.glob(os.path.join(inbox_dir, "*.json"))):
        message = json.load(open(path))
        if message.get("path") == HEARTBEAT:
            continue
        if mention.search(json.dumps(message)):
            title = message.get("subject") or message.get("path")
            raise Failure(f"{os.path.basename(path)} ({title}) names {instance}, which was healthy")


def run(fleet, a):
    started = time.time()
    log("starting the fleet: PostgreSQL, sinks, Alertmanager, two pairs, Prometheus")
    fleet.start()
    broken, healthy = fleet.pairs
    log(f"fleet up in {time.time() - started:.0f}s: pair a {broken.instance}, "
        f"pair b {healthy.instance}")
    warm_up(fleet, 180)
    matrix = Matrix(fleet, a)
    matrix.inbox = PairInbox(os.path.join(fleet.dir, "inbox"), set(), broken.instance)
    matrix.settle(120)
    log(f"ok   warm: nothing firing or pending {time.time() - started:.0f}s after the start")
    matrix.quiet_period(a.quiet_seconds / 60)

    windows = fleet_rules.fleet_windows(os.path.join(fleet.dir, "derived", "rules",
                                                     "afp-recording.yml"))
    # Three seconds back: every scrape that started before then has been appended.
    compare_fleet_rules(fleet, windows, time.time() - 3, "while healthy")

    fault_on = time.time()
    result = matrix.run_fault(matrix_fault(a.fault))
    compare_fleet_rules(fleet, windows, fault_on + result["notified"], f"during {a.fault}")
    nothing_names(fleet.inbox, healthy.instance)
    log(f"ok   no message names pair b ({healthy.instance})")
    log(f"passed in {time.time() - started:.0f}s")


def main():
    p = argparse.ArgumentParser()
    for name in ("repo", "exporter", "workload", "prometheus", "alertmanager"):
        p.add_argument(name)
    p.add_argument("--fault", default="slow-fingerprint")
    p.add_argument("--quiet-seconds", type=float, default=60)
    p.add_argument("--hold", type=float, default=10)
    # Per pair, as many songs as the fault matrix's demo (300,000 fingerprint rows), for the
    # planner to look hashes up by the index (a small table is scanned, which an unused
    # index and sequential scans of fingerprints rightly report), and half its identify
    # rate, so that the host carries the load it carries in the fault matrix.
    p.add_argument("--songs", type=int, default=100)
    p.add_argument("--rate", type=float, default=1)
    # The fault matrix's timings (matrix.py's defaults).
    p.add_argument("--scale", type=float, default=0.025)
    p.add_argument("--interval", default="2s")
    # Scrapes every 2 s and evaluations every 2.3 s: with equal periods their phases stay
    # locked, and when each evaluation falls inside a scrape of either pair, no evaluation
    # is clear of scrapes for fleet_rules.compare (a run failed so on a quiet host).
    p.add_argument("--evaluation-interval", default="2300ms")
    p.add_argument("--min-window", default="8s")
    p.add_argument("--max-for", default="90s")
    p.add_argument("--group-interval", default="2s")
    a = p.parse_args()
    a.ignore_alert = []
    matrix_fault(a.fault)

    # A test runner's SIGTERM (a timeout) must still stop the fleet, in the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    fleet = Fleet(os.path.abspath(a.repo), a.exporter, a.workload, a.prometheus,
                  a.alertmanager, a)
    failed = True
    try:
        run(fleet, a)
        failed = False
    except (Failure, StackError) as e:
        log(f"FAIL {e}")
    finally:
        fleet.stop(failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
