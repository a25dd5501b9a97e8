#!/usr/bin/python3
"""The shape of deploy/prometheus.yml that the rules, the dashboards and the demo rely on.

    check_prometheus.py SHIPPED_PROMETHEUS_YML RULES_ALERTS_YML

- every job="..." the alert rules select is a scrape job, and the jobs afp, prometheus and
  alertmanager exist once each with exactly one static_configs group (the demo's
  tests/e2e/alerting/derive_prometheus.py swaps that group's targets for local ones);
- afp scrapes several exporters, inside Prometheus' 15 s interval;
- Prometheus sends alerts to every Alertmanager it scrapes, and to more than one;
- external_labels name the site and the replica, and the replica label is dropped from
  alerts (HA pairs then send identical alerts, which Alertmanager deduplicates);
- example host names only (example.internal, localhost).
"""
import re
import sys

import yaml

EXAMPLE_HOST = re.compile(r"^(localhost|[a-z0-9.-]+\.example\.internal):\d+$")
REQUIRED_JOBS = ("afp", "prometheus", "alertmanager")

problems = []


def check(ok, message):
    if not ok:
        problems.append(message)


def seconds(duration):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration))


def single_group_targets(job):
    groups = job.get("static_configs") or []
    check(len(groups) == 1, f"job {job['job_name']}: {len(groups)} static_configs groups, want 1")
    return groups[0].get("targets", []) if groups else []


def check_jobs(cfg, rules_text):
    jobs = {}
    for job in cfg.get("scrape_configs") or []:
        name = job["job_name"]
        check(name not in jobs, f"job {name} defined twice")
        jobs[name] = job
    for name in REQUIRED_JOBS:
        check(name in jobs, f"no scrape job named {name}")
    for name in sorted(set(re.findall(r'\bjob="([^"]+)"', rules_text))):
        check(name in jobs, f'the rules select job="{name}", which no scrape job is named')
    targets = {name: single_group_targets(job) for name, job in jobs.items()}
    for name, addresses in targets.items():
        for address in addresses:
            check(EXAMPLE_HOST.match(address), f"job {name}: {address} is not an example host")
    return jobs, targets


def check_afp_job(cfg, job, targets):
    check(len(targets) >= 2, "job afp: one exporter per host, so several targets")
    interval = job.get("scrape_interval", cfg["global"].get("scrape_interval", "1m"))
    timeout = job.get("scrape_timeout", cfg["global"].get("scrape_timeout", "10s"))
    check(seconds(timeout) < seconds(interval), "job afp: scrape_timeout must be below the interval")


def check_alerting(cfg, alertmanager_targets):
    alerting = cfg.get("alerting") or {}
    sent_to = []
    for am in alerting.get("alertmanagers") or []:
        for group in am.get("static_configs") or []:
            sent_to += group.get("targets", [])
    check(len(sent_to) >= 2, "alerting: a cluster of Alertmanagers, every member listed")
    check(sorted(sent_to) == sorted(alertmanager_targets),
          "alerting: send to exactly the Alertmanagers the alertmanager job scrapes")
    drops = [r for r in alerting.get("alert_relabel_configs") or []
             if r.get("action") == "labeldrop" and re.fullmatch(r.get("regex", ""), "replica")]
    check(drops, "alerting: alert_relabel_configs must drop the replica label")


def check_global(cfg):
    g = cfg.get("global") or {}
    check(g.get("scrape_interval") == "15s", "global scrape_interval is not 15s")
    check(g.get("evaluation_interval") == "15s", "global evaluation_interval is not 15s")
    labels = g.get("external_labels") or {}
    for name in ("cluster", "replica"):
        check(name in labels, f"external_labels has no {name}")


def main():
    shipped, alerts = sys.argv[1], sys.argv[2]
    with open(shipped, encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    with open(alerts, encoding="utf-8") as f:
        rules_text = f.read()
    check_global(cfg)
    jobs, targets = check_jobs(cfg, rules_text)
    if "afp" in jobs:
        check_afp_job(cfg, jobs["afp"], targets["afp"])
    check_alerting(cfg, targets.get("alertmanager", []))
    for p in problems:
        print(f"{shipped}: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"{shipped}: jobs {', '.join(jobs)}; {len(targets['afp'])} exporters; "
          f"alerts to {len(targets['alertmanager'])} Alertmanagers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
