#!/usr/bin/python3
"""Derives a local copy of deploy/prometheus.yml for the demo and its smoke test.

    derive_prometheus.py SHIPPED OUT --rules GLOB --alertmanager HOST:PORT
                         --target JOB=HOST:PORT [--target ...] [--interval D]

What ships is what runs, with only these changes, printed to stdout:
  - every job's static targets -> the --target given for that job (a job without one is
    dropped); file_sd, TLS and basic auth of the example hosts are dropped with them;
  - rule_files -> GLOB (the demo's derived rules); Alertmanager targets -> --alertmanager
    (alert relabelling kept);
  - global scrape and evaluation interval (and each job's) -> --interval, scrape_timeout at
    most that;
  - remote_write / remote_read dropped (the example's long-term store is not here).
"""
import argparse
import re
import sys

import yaml

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def seconds(duration):
    return sum(float(n) * UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("shipped")
    p.add_argument("out")
    p.add_argument("--rules", required=True)
    p.add_argument("--alertmanager", required=True)
    p.add_argument("--target", action="append", default=[], metavar="JOB=HOST:PORT")
    p.add_argument("--interval", default="5s")
    # Rule evaluation on another period than scrapes: their phases then drift instead of
    # staying locked (the fleet test needs evaluations no scrape straddles).
    p.add_argument("--evaluation-interval", help="default: --interval")
    a = p.parse_args()
    targets = {}
    for t in a.target:
        job, _, address = t.partition("=")
        if not job or not address:
            p.error(f"--target {t!r}: expected JOB=HOST:PORT")
        targets.setdefault(job, []).append(address)

    cfg = yaml.safe_load(open(a.shipped, encoding="utf-8"))
    changes = []

    def timing(node, keys):
        for key in keys:
            if key in node:
                node[key] = a.interval
        if "scrape_timeout" in node and seconds(node["scrape_timeout"]) > seconds(a.interval):
            node["scrape_timeout"] = a.interval

    g = cfg.setdefault("global", {})
    g["scrape_interval"] = a.interval
    g["evaluation_interval"] = a.evaluation_interval or a.interval
    timing(g, ())
    changes.append(f"intervals -> {a.interval}" + (f", evaluation {a.evaluation_interval}"
                                                  if a.evaluation_interval else ""))
    cfg["rule_files"] = [a.rules]
    cfg.setdefault("alerting", {})["alertmanagers"] = [
        {"static_configs": [{"targets": [a.alertmanager]}]}]
    changes.append(f"rule_files -> {a.rules}; alertmanagers -> {a.alertmanager}")
    for key in ("remote_write", "remote_read"):
        if cfg.pop(key, None) is not None:
            changes.append(f"{key} dropped")

    jobs = []
    for job in cfg.get("scrape_configs", []):
        name = job["job_name"]
        if name not in targets:
            changes.append(f"job {name} dropped (no local target)")
            continue
        labels = {}
        for group in job.get("static_configs", []):
            labels.update(group.get("labels", {}))
        for key in ("file_sd_configs", "tls_config", "basic_auth", "authorization"):
            job.pop(key, None)
        job["scheme"] = "http"
        job["static_configs"] = [{"targets": targets.pop(name)}]
        if labels:
            job["static_configs"][0]["labels"] = labels
        timing(job, ("scrape_interval",))
        jobs.append(job)
        changes.append(f"job {name} -> {job['static_configs'][0]['targets']}")
    if targets:
        p.error(f"no job named {', '.join(targets)} in {a.shipped}")
    cfg["scrape_configs"] = jobs
    with open(a.out, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, sort_keys=False, width=1000)
    print("\n".join("derived prometheus.yml: " + c for c in changes))


if __name__ == "__main__":
    sys.exit(main())
