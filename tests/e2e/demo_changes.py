#!/usr/bin/python3
"""The demo's list of what it changed names every change of its copies, and nothing else.

    demo_changes.py REPO

Sources scripts/lib/demo.sh, runs its derive_configs into a temporary directory (the demo's
own derive.py and derive_prometheus.py arguments and defaults, sinks on made-up ports) and
its demo_changes, which prints the block the demo's banner ends with. Then compares the
derived files with the shipped ones, read as YAML:
  - rules/*.yml: a file is listed ("rules NAME: ...") if and only if it differs;
  - alertmanager/alertmanager.yml: every difference is listed and every listed change is
    made: the SMTP smarthost, each secret file moved, each webhook URL, group_wait and
    group_interval (relative template paths made absolute are the same files);
  - deploy/prometheus.yml: the intervals, rule files and Alertmanager targets, each job
    kept (its targets) or dropped, remote_write/remote_read dropped;
  - every file under derived/ is one of these, a secret file a listed line names, or the
    demo's own (timings.txt, smtp_user);
  - the timings: each alert's changed for, keep_firing_for and ranges, shipped -> derived,
    are its line's (per severity), and the recording rules' changed ranges are the
    "(recording rules)" lines; no line for what did not change.
Prints each difference; exits 1 if there is one.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

import yaml

RANGE = re.compile(r"\[((?:\d+(?:ms|s|m|h|d|w|y))+)(?::[^\]]*)?\]")
OFFSET = re.compile(r"\boffset\s+((?:\d+(?:ms|s|m|h|d|w|y))+)")
JOB_LISTED = {"static_configs", "scheme", "file_sd_configs", "tls_config", "basic_auth",
              "authorization"}
SCRIPT = """set -euo pipefail
repo_dir=$1
source "$repo_dir/scripts/lib/demo.sh"
dir=$2 smtp_port=2525 webhook_port=8025 smtp_password=demo-changes-test
derive_configs
demo_changes
"""


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def printed(out):
    """(change lines, timing lines) of demo_changes' output, without their indent."""
    lines = out.splitlines()
    start = next(i for i, l in enumerate(lines) if l.endswith("changed as follows and in nothing else:"))
    end = next(i for i, l in enumerate(lines) if l.startswith("Rule timings are shortened"))
    shipped = next(i for i, l in enumerate(lines) if l.endswith("Shipped -> this demo:"))
    return ([l.strip() for l in lines[start + 1:end]],
            [l.strip() for l in lines[shipped + 1:] if l.strip()])


def durations(expr):
    return [m for m in RANGE.findall(expr)] + OFFSET.findall(expr)


def rule_claims(shipped, derived):
    """The set of changes of one rule: ("for", a, b), ("keep_firing_for", a, b), ("range", a, b)."""
    claims = {(k, str(shipped[k]), str(derived.get(k))) for k in ("for", "keep_firing_for")
              if k in shipped and str(shipped[k]) != str(derived.get(k))}
    claims |= {("range", a, b) for a, b in zip(durations(shipped["expr"]), durations(derived["expr"]))
               if a != b}
    return claims


def parse_change(text):
    claims = set()
    for part in re.split(r", (?=for |keep_firing_for |ranges )", text):
        key, _, rest = part.partition(" ")
        if key == "ranges":
            for pair in rest.split(", "):
                a, _, b = pair.partition(" -> ")
                claims.add(("range", a, b))
        else:
            a, _, b = rest.partition(" -> ")
            claims.add((key, a, b))
    return claims


def check_rules(repo, derived_dir, changes, timings, problems):
    expected_alerts, expected_recorded = {}, set()
    for path in sorted(glob.glob(os.path.join(repo, "rules", "*.yml"))):
        name = os.path.basename(path)
        ours = os.path.join(derived_dir, "rules", name)
        if not os.path.exists(ours):
            problems.append(f"rules/{name}: no derived copy")
            continue
        shipped, derived = load(path), load(ours)
        listed = any(c.startswith(f"rules {name}:") for c in changes)
        if (shipped != derived) != listed:
            problems.append(f"rules/{name}: " + ("changed but not listed" if not listed
                                                 else "listed but unchanged"))
        for sg, dg in zip(shipped["groups"], derived["groups"]):
            for sr, dr in zip(sg["rules"], dg["rules"]):
                claims = rule_claims(sr, dr)
                if "alert" in sr:
                    severity = sr.get("labels", {}).get("severity", "-")
                    if claims:
                        expected_alerts[(sr["alert"], severity)] = claims
                else:
                    expected_recorded |= claims
    listed_alerts, listed_recorded = {}, set()
    for line in timings:
        if line.startswith("(recording rules)"):
            listed_recorded |= parse_change(line[len("(recording rules)"):].strip())
            continue
        name, severities, change = line.split(None, 2)
        for severity in severities.split("/"):
            if (name, severity) in listed_alerts:
                problems.append(f"timings: {name} {severity} has a second line")
            listed_alerts[(name, severity)] = parse_change(change)
    for key in sorted(set(expected_alerts) | set(listed_alerts)):
        want, got = expected_alerts.get(key, set()), listed_alerts.get(key, set())
        for c in sorted(want - got):
            problems.append(f"timings: {' '.join(key)}: {c[0]} {c[1]} -> {c[2]} not listed")
        for c in sorted(got - want):
            problems.append(f"timings: {' '.join(key)}: lists {c[0]} {c[1]} -> {c[2]}, not a change")
    for c in sorted(expected_recorded - listed_recorded):
        problems.append(f"timings: recording rules: range {c[1]} -> {c[2]} not listed")
    for c in sorted(listed_recorded - expected_recorded):
        problems.append(f"timings: recording rules: lists range {c[1]} -> {c[2]}, not a change")


def diff_paths(a, b, where=""):
    """Paths (a/b/0/c) at which two YAML trees differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in list(a) + [k for k in b if k not in a]:
            out += diff_paths(a.get(key), b.get(key), f"{where}/{key}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff_paths(x, y, f"{where}/{i}")
        return out
    return [] if a == b else [where]


def get(tree, path):
    for key in path.strip("/").split("/"):
        tree = tree[int(key)] if isinstance(tree, list) else tree.get(key) if tree else None
    return tree


def check_alertmanager(repo, derived_dir, changes, problems):
    shipped_path = os.path.join(repo, "alertmanager", "alertmanager.yml")
    shipped, derived = load(shipped_path), load(os.path.join(derived_dir, "alertmanager.yml"))
    base = os.path.dirname(os.path.abspath(shipped_path))
    shipped["templates"] = [t if os.path.isabs(t) else os.path.join(base, t)
                            for t in shipped.get("templates", [])]
    group_line = next((c for c in changes if c.startswith("group_wait -> ")), None)
    used = set()
    for path in diff_paths(shipped, derived):
        old, new = get(shipped, path), get(derived, path)
        key = path.rsplit("/", 1)[-1]
        if path == "/global/smtp_smarthost":
            line = f"smtp_smarthost {old} -> {new}"
        elif key.endswith("_file"):
            line = f"secret file {old} -> {new}"
        elif key == "url" and "/webhook_configs/" in path:
            receiver = get(shipped, path.split("/webhook_configs/")[0])["name"]
            line = f"webhook {receiver} {old} -> {new}"
        elif key in ("group_wait", "group_interval") and group_line:
            line = group_line
            if f"{key} -> {new}" not in group_line:
                problems.append(f"alertmanager.yml {path}: {old} -> {new}, the list says: {line}")
        else:
            problems.append(f"alertmanager.yml {path}: {old} -> {new} not listed")
            continue
        if line not in changes:
            problems.append(f"alertmanager.yml {path}: {old} -> {new} not listed")
        used.add(line)
    return used


def check_prometheus(repo, derived_dir, changes, problems):
    shipped = load(os.path.join(repo, "deploy", "prometheus.yml"))
    derived = load(os.path.join(derived_dir, "prometheus.yml"))
    ours = [c[len("prometheus.yml: "):] for c in changes if c.startswith("prometheus.yml: ")]
    used = set()

    def listed(text, what):
        if text in ours:
            used.add("prometheus.yml: " + text)
        else:
            problems.append(f"prometheus.yml: {what} changed, not listed as: {text}")

    interval = derived["global"]["scrape_interval"]
    if diff_paths(shipped.get("global"), derived["global"]):
        listed(f"intervals -> {interval}", "global")
    targets = [t for am in derived["alerting"]["alertmanagers"]
               for g in am.get("static_configs", []) for t in g["targets"]]
    if (shipped.get("rule_files") != derived.get("rule_files")
            or shipped.get("alerting", {}).get("alertmanagers") != derived["alerting"]["alertmanagers"]):
        listed(f"rule_files -> {derived['rule_files'][0]}; alertmanagers -> {', '.join(targets)}",
               "rule_files/alertmanagers")
    if diff_paths({k: v for k, v in shipped.get("alerting", {}).items() if k != "alertmanagers"},
                  {k: v for k, v in derived["alerting"].items() if k != "alertmanagers"}):
        problems.append("prometheus.yml: alerting changed beyond its alertmanagers, not listed")
    for key in ("remote_write", "remote_read"):
        if key in shipped and key not in derived:
            listed(f"{key} dropped", key)
    others = set(shipped) | set(derived)
    others -= {"global", "rule_files", "alerting", "remote_write", "remote_read", "scrape_configs"}
    for key in sorted(others):
        if shipped.get(key) != derived.get(key):
            problems.append(f"prometheus.yml: {key} changed, not listed")
    kept = {j["job_name"]: j for j in derived.get("scrape_configs", [])}
    for job in shipped.get("scrape_configs", []):
        name = job["job_name"]
        if name not in kept:
            listed(f"job {name} dropped (no local target)", f"job {name}")
        elif job != kept[name]:
            listed(f"job {name} -> {kept[name]['static_configs'][0]['targets']}", f"job {name}")
            # What "job NAME -> TARGETS" stands for (derive_prometheus.py): the targets, plain
            # HTTP without the example hosts' service discovery and credentials, the intervals.
            for key in sorted(set(job) | set(kept[name])):
                if key in JOB_LISTED or job.get(key) == kept[name].get(key):
                    continue
                if key in ("scrape_interval", "scrape_timeout") and kept[name][key] == interval:
                    continue
                problems.append(f"prometheus.yml: job {name}: {key} {job.get(key)} -> "
                                f"{kept[name].get(key)} not listed")
    return used


def main(repo):
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run(["bash", "-c", SCRIPT, "demo_changes", repo, tmp],
                             capture_output=True, text=True, timeout=120)
        if run.returncode != 0:
            print(run.stdout + run.stderr)
            return 1
        changes, timings = printed(run.stdout)
        derived_dir = os.path.join(tmp, "derived")
        problems = []
        check_rules(repo, derived_dir, changes, timings, problems)
        used = {c for c in changes if c.startswith("rules ")}
        used |= check_alertmanager(repo, derived_dir, changes, problems)
        used |= check_prometheus(repo, derived_dir, changes, problems)
        for c in changes:
            if c not in used:
                problems.append(f"listed, but no such change in the derived files: {c}")
        secrets = {c.rsplit(" -> ", 1)[1] for c in changes if c.startswith("secret file ")}
        shipped_names = {"alertmanager.yml", "prometheus.yml", "timings.txt", "smtp_user"}
        shipped_names |= {os.path.join("rules", os.path.basename(p))
                          for p in glob.glob(os.path.join(repo, "rules", "*.yml"))}
        for root, _, files in os.walk(derived_dir):
            for f in files:
                path = os.path.join(root, f)
                if os.path.relpath(path, derived_dir) not in shipped_names and path not in secrets:
                    problems.append(f"derived/{os.path.relpath(path, derived_dir)}: not listed")
    for p in problems:
        print(p)
    print(f"{len(changes)} changes and {len(timings)} timing lines checked; "
          f"{len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(os.path.abspath(sys.argv[1])))
