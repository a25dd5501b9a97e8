#!/usr/bin/python3
"""Lints the alerting rules against the conventions of rules/afp-alerts.yml and checks that
docs/runbook.md explains every alert.

    check_rules.py RULES_YML RUNBOOK_MD

Every alert has `for`; labels severity (critical | warning | info) and component (system |
pipeline | database | exporter); annotations summary, description, value, runbook_url (an
absolute URL ending in docs/runbook.md#<alert name in lower case>) and dashboard_url (an
absolute URL of /d/<one of the four dashboard uids>). Alerts of one name share the
component and differ in severity. The heartbeat (AfpHeartbeat) is the exception: it always
fires, so it has no `for`, severity none and no value. The runbook has a `## <AlertName>`
section for every alert, with the parts "Meaning", "Confirm" and "Fix", and no section for
an alert that does not exist.
"""
import re
import sys

import yaml

SEVERITIES = {"critical", "warning", "info"}
COMPONENTS = {"system", "pipeline", "database", "exporter"}
DASHBOARDS = {"afp-overview", "afp-system", "afp-database", "afp-exporter"}
ANNOTATIONS = {"summary", "description", "value", "runbook_url", "dashboard_url"}
HEARTBEAT = "AfpHeartbeat"
RUNBOOK_PARTS = ("Meaning", "Confirm", "Fix")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rules = [r for g in yaml.safe_load(open(sys.argv[1], encoding="utf-8"))["groups"]
             for r in g["rules"] if "alert" in r]
    runbook = open(sys.argv[2], encoding="utf-8").read()
    errors = []
    by_name = {}
    for r in rules:
        name = r["alert"]
        where = f"{name} ({r.get('labels', {}).get('severity')})"
        by_name.setdefault(name, []).append(r)
        if name == HEARTBEAT:
            if r.get("expr") != "vector(1)" or "for" in r or r.get("labels", {}).get("severity") != "none":
                errors.append(f"{where}: the heartbeat must be vector(1), without `for`, severity none")
            continue
        if "for" not in r:
            errors.append(f"{where}: no `for`")
        labels = r.get("labels", {})
        if labels.get("severity") not in SEVERITIES:
            errors.append(f"{where}: severity {labels.get('severity')!r}")
        if labels.get("component") not in COMPONENTS:
            errors.append(f"{where}: component {labels.get('component')!r}")
        ann = r.get("annotations", {})
        missing = ANNOTATIONS - set(ann)
        if missing:
            errors.append(f"{where}: annotations missing: {', '.join(sorted(missing))}")
        runbook_url = ann.get("runbook_url", "")
        if not re.match(r"https?://[^/\s]+/\S*docs/runbook\.md#" + re.escape(name.lower()) + "$", runbook_url):
            errors.append(f"{where}: runbook_url {runbook_url!r} is not an absolute URL of "
                          f"docs/runbook.md#{name.lower()}")
        m = re.match(r"https?://[^/\s]+(/\S*?)?/d/([a-z0-9-]+)(\?|$)", ann.get("dashboard_url", ""))
        if not m or m.group(2) not in DASHBOARDS:
            errors.append(f"{where}: dashboard_url {ann.get('dashboard_url')!r} is not an absolute URL "
                          f"of /d/<{'|'.join(sorted(DASHBOARDS))}>")
        if "$value" not in ann.get("description", "") or "$value" not in ann.get("value", ""):
            errors.append(f"{where}: description and value must show $value")
    for name, copies in by_name.items():
        severities = [c.get("labels", {}).get("severity") for c in copies]
        if len(set(severities)) != len(severities):
            errors.append(f"{name}: two rules with the same severity {severities}")
        if len({c.get("labels", {}).get("component") for c in copies}) != 1:
            errors.append(f"{name}: copies in different components")

    sections = {}
    for m in re.finditer(r"^## (\S+)\n(.*?)(?=^## |\Z)", runbook, re.S | re.M):
        sections[m.group(1)] = m.group(2)
    for name in sorted(by_name):
        body = sections.get(name)
        if body is None:
            errors.append(f"docs/runbook.md has no `## {name}` section")
            continue
        for part in RUNBOOK_PARTS:
            if not re.search(rf"^\*\*{part}", body, re.M):
                errors.append(f"docs/runbook.md `## {name}` has no **{part}** part")
    for name in sorted(set(sections) - set(by_name)):
        if name.startswith("Afp"):
            errors.append(f"docs/runbook.md has a section for {name}, which no rule defines")

    if errors:
        print("\n".join("FAIL " + e for e in errors), file=sys.stderr)
        return 1
    print(f"{len(rules)} rules of {len(by_name)} alerts follow the conventions; "
          f"docs/runbook.md explains each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
