#!/usr/bin/python3
"""alertmanager/route.yml and deploy/kubernetes/alertmanagerconfig.yaml in someone else's
Alertmanager, checked with amtool.

    route_yml.py AMTOOL ALERTMANAGER_YML ROUTE_YML ALERTMANAGERCONFIG RULES_YML [--only PART]

PART (all by default):
  same      route.yml is alertmanager.yml's routing: its one route is alertmanager.yml's
            root route plus the matcher alertname=~"Afp.+", and inhibit_rules and receivers
            are equal, item for item; no secret is written in either file; every inhibit
            rule names afp alerts on both sides and none can mute AfpHeartbeat.
  splice    route.yml pasted into a foreign alertmanager.yml (its own global, root route,
            routes that match by severity and component, inhibit rule and receivers):
            `amtool check-config`, then `amtool config routes test` for every alert of the
            rules (each severity and component), AfpHeartbeat (to afp-deadmans-switch only),
            an afp alert of no known severity, and foreign alerts, which must reach the
            foreign receivers and never an afp one; afp alerts never reach a foreign one.
  operator  the AlertmanagerConfig translated as the Prometheus operator does (amcfg.py)
            into the same foreign configuration: `amtool check-config` and the same cases
            with namespace="afp" (receivers named afp/afp/<receiver>; the operator's forced
            `continue: true` lets a foreign route that matches an afp alert notify as well);
            an afp alert without the namespace label misses the subtree.
  equal     the AlertmanagerConfig is route.yml: translated without the operator's changes
            (no receiver prefix, namespace matcher or forced continue) its route, inhibit
            rules and receivers equal route.yml's, secrets (a *_file there, a
            secretKeySelector here) compared as "<secret>", the dead man's switch URL
            (written there, from a Secret here) too.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import amcfg  # noqa: E402

NAMESPACE = "afp"
AFP_MATCHER = 'alertname=~"Afp.+"'

# An Alertmanager someone already runs, afp_exporter's alerts not yet in it. Its routes
# match by severity and by component on purpose: afp alerts carry both labels.
FOREIGN = yaml.safe_load("""
global:
  smtp_smarthost: mail.corp.example:587
  smtp_from: alertmanager@corp.example
  smtp_auth_username: alertmanager@corp.example
  smtp_auth_password_file: /etc/alertmanager/secrets/corp_smtp_password
  resolve_timeout: 5m
templates:
  - /etc/alertmanager/templates/corp-*.tmpl
route:
  receiver: ops-default
  group_by: [alertname, cluster]
  group_wait: 10s
  group_interval: 2m
  repeat_interval: 4h
  routes:
    - receiver: ops-pager
      matchers: ['severity="critical"']
    - receiver: corp-dba
      matchers: ['component="database"']
inhibit_rules:
  - source_matchers: ['alertname="NodeDown"']
    target_matchers: ['severity="warning"']
    equal: [instance]
receivers:
  - name: ops-default
    email_configs:
      - to: ops@corp.example
  - name: ops-pager
    webhook_configs:
      - url: http://pager.corp.example/hook
  - name: corp-dba
    email_configs:
      - to: dba@corp.example
""")


def foreign_receivers(labels):
    """Where FOREIGN's own routes send LABELS (its routes have no `continue`)."""
    if labels.get("severity") == "critical":
        return ["ops-pager"]
    if labels.get("component") == "database":
        return ["corp-dba"]
    return []


failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


# --- matchers, evaluated here for the static checks --------------------------------------

MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')


def matches(matcher, labels):
    m = MATCHER.match(matcher)
    if not m:
        raise ValueError(f"cannot parse matcher {matcher!r}")
    name, op, value = m.group(1), m.group(2), re.sub(r"\\(.)", r"\1", m.group(3))
    got = labels.get(name, "")
    if op == "=":
        return got == value
    if op == "!=":
        return got != value
    hit = re.fullmatch(value, got) is not None
    return hit if op == "=~" else not hit


def names_only_afp(matchers):
    """Some matcher of the list restricts alertname to afp alerts."""
    for m in matchers:
        mm = MATCHER.match(m)
        if mm and mm.group(1) == "alertname" and (
                (mm.group(2) == "=" and mm.group(3).startswith("Afp")) or m == AFP_MATCHER):
            return True
    return False


# --- the parts ----------------------------------------------------------------------------

SECRET_KEYS = {"api_url", "auth_password", "auth_secret", "credentials", "password",
               "bearer_token", "routing_key", "service_key", "api_key", "slack_api_url",
               "smtp_auth_password"}


def literal_secrets(node, where=""):
    """Paths of keys that hold a secret in the file itself rather than in a *_file."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SECRET_KEYS:
                found.append(f"{where}/{key}")
            found += literal_secrets(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += literal_secrets(item, f"{where}[{i}]")
    return found


def check_same(am, route):
    check(len(route.get("routes", [])) == 1, "route.yml has exactly one route")
    sub = dict(route["routes"][0])
    check(sub.pop("matchers", None) == [AFP_MATCHER],
          f"route.yml's route matches afp alerts only: [{AFP_MATCHER}]")
    check("continue" not in sub, "route.yml's route has no `continue` (afp alerts stop there)")
    check(sub == am["route"], "route.yml's route is alertmanager.yml's root route "
          "(receiver, grouping, intervals, every child route)")
    check(route.get("inhibit_rules") == am.get("inhibit_rules"),
          "route.yml's inhibit_rules are alertmanager.yml's")
    check(route.get("receivers") == am.get("receivers"),
          "route.yml's receivers are alertmanager.yml's")
    check(set(route) == {"routes", "inhibit_rules", "receivers"},
          "route.yml has routes, inhibit_rules and receivers, nothing else")
    names = {r["name"] for r in route["receivers"]}
    check(all(n.startswith("afp-") for n in names), "every receiver is named afp-*")
    for name, doc in (("alertmanager.yml", am), ("route.yml", route)):
        found = literal_secrets(doc)
        check(not found, f"{name}: no secret written in the file {found or ''}".rstrip())
    for i, rule in enumerate(route["inhibit_rules"]):
        check(names_only_afp(rule["source_matchers"]) and names_only_afp(rule["target_matchers"]),
              f"inhibit rule {i}: afp alerts only, on both sides")
        for component in (None, "system", "pipeline", "database", "exporter"):
            beat = {"alertname": "AfpHeartbeat", "severity": "none"}
            if component:
                beat["component"] = component
            check(not all(matches(m, beat) for m in rule["target_matchers"]),
                  f"inhibit rule {i}: cannot mute AfpHeartbeat (component={component})")
    dms = [r for r in route["receivers"] if r["name"] == "afp-deadmans-switch"]
    check(len(dms) == 1 and set(dms[0]) == {"name", "webhook_configs"}
          and dms[0]["webhook_configs"][0].get("send_resolved") is False,
          "afp-deadmans-switch is a webhook only (no email, no Slack), never sends 'resolved'")


def rule_alerts(rules_path):
    """(alertname, severity, component) of every alert rule."""
    doc = yaml.safe_load(open(rules_path, encoding="utf-8"))
    out = set()
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                labels = rule.get("labels", {})
                out.add((rule["alert"], labels.get("severity", ""), labels.get("component", "")))
    return sorted(out)


def afp_receivers(severity, component, alertname):
    if alertname == "AfpHeartbeat":
        return ["afp-deadmans-switch"]
    want = {"critical": ["afp-oncall-critical"], "warning": ["afp-slack-warning"],
            "info": ["afp-low-priority"]}.get(severity)
    if component == "database":
        return ["afp-database-team-email"] + (want or [])
    return want or ["afp-slack-warning"]


def cases(rules_path):
    """(labels, afp receivers or None for a foreign alert)."""
    out = []
    for alertname, severity, component in rule_alerts(rules_path):
        labels = {"alertname": alertname, "severity": severity, "component": component,
                  "instance": "h:9793", "job": "afp"}
        out.append((labels, afp_receivers(severity, component, alertname)))
    for component in (None, "database", "exporter"):
        labels = {"alertname": "AfpHeartbeat", "severity": "none"}
        if component:
            labels["component"] = component
        out.append((labels, ["afp-deadmans-switch"]))
    out.append(({"alertname": "AfpSomethingNew", "component": "pipeline"}, ["afp-slack-warning"]))
    out.append(({"alertname": "AfpSomethingNew", "severity": "page", "component": "database"},
                ["afp-database-team-email"]))
    for labels in ({"alertname": "NodeDown", "severity": "critical"},
                   {"alertname": "PostgresReplicationLag", "severity": "warning",
                    "component": "database"},
                   {"alertname": "DiskFull", "severity": "warning"},
                   {"alertname": "Watchdog", "severity": "none"},
                   {"alertname": "afpLowercase", "severity": "critical", "component": "system"}):
        out.append((labels, None))
    return out


class Amtool:
    def __init__(self, amtool):
        self.amtool = amtool

    def check_config(self, path, what):
        r = subprocess.run([self.amtool, "check-config", path], capture_output=True, text=True)
        check(r.returncode == 0, f"{what}: amtool check-config")
        if r.returncode != 0:
            print(r.stdout + r.stderr)
        return r.returncode == 0

    def routes(self, path, labels):
        args = [f"{k}={v}" for k, v in labels.items()]
        r = subprocess.run([self.amtool, "config", "routes", "test", f"--config.file={path}"] + args,
                           capture_output=True, text=True)
        return r.stdout.strip()


def expect_routes(amtool, path, what, labels, want):
    got = amtool.routes(path, labels)
    shown = " ".join(f"{k}={v}" for k, v in labels.items())
    check(got == ",".join(want), f"{what}: {shown} -> {got or '(nothing)'}"
          + ("" if got == ",".join(want) else f", want {','.join(want)}"))


def splice(foreign, route, templates):
    cfg = yaml.safe_load(yaml.safe_dump(foreign))
    cfg["route"]["routes"] = route["routes"] + cfg["route"].get("routes", [])
    cfg["inhibit_rules"] = cfg.get("inhibit_rules", []) + route["inhibit_rules"]
    cfg["receivers"] = cfg["receivers"] + route["receivers"]
    cfg["templates"] = cfg.get("templates", []) + templates
    return cfg


def write(cfg, directory, name):
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, sort_keys=False, width=1000)
    return path


def check_splice(amtool, route, templates, rules, tmp):
    path = write(splice(FOREIGN, route, templates), tmp, "spliced.yml")
    if not amtool.check_config(path, "route.yml spliced into a foreign alertmanager.yml"):
        return
    for labels, afp in cases(rules):
        want = afp if afp is not None else (foreign_receivers(labels) or ["ops-default"])
        expect_routes(amtool, path, "spliced", labels, want)


def check_operator(amtool, amc, templates, rules, tmp):
    secrets = {"afp-alertmanager/slack-api-url": "https://hooks.slack.com/services/T0/B0/test",
               "afp-alertmanager/deadmans-switch-url": "https://hc-ping.example.com/test-uuid",
               "afp-alertmanager/deadmans-switch-token": "test-token"}
    base = dict(FOREIGN)
    base["templates"] = FOREIGN["templates"] + templates
    try:
        cfg = amcfg.generate(amc, base, secrets)
    except amcfg.Untranslated as e:
        check(False, f"the AlertmanagerConfig translates: {e}")
        return
    top = cfg["route"]["routes"][0]
    check(f'namespace="{NAMESPACE}"' in top.get("matchers", []) and top.get("continue") is True,
          f'the operator\'s top route has namespace="{NAMESPACE}" and continue: true')
    path = write(cfg, tmp, "operator.yml")
    if not amtool.check_config(path, "the AlertmanagerConfig as the operator generates it"):
        return
    prefix = f"{NAMESPACE}/{amc['metadata']['name']}/"
    for labels, afp in cases(rules):
        if afp is None:
            want = foreign_receivers(labels) or ["ops-default"]
        else:
            labels = dict(labels, namespace=NAMESPACE)
            want = [prefix + r for r in afp] + foreign_receivers(labels)
        expect_routes(amtool, path, "operator", labels, want)
    # The namespace matcher: without the label, an afp alert is just a foreign alert.
    for labels in ({"alertname": "AfpHeartbeat", "severity": "none"},
                   {"alertname": "AfpExporterDown", "severity": "critical", "component": "exporter",
                    "namespace": "other"}):
        expect_routes(amtool, path, "operator, not namespace=afp", labels,
                      foreign_receivers(labels) or ["ops-default"])


def neutral_plain(node):
    """route.yml's receivers with every secret, and the webhook URLs, as "<secret>"."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key.endswith("_file"):
                out[key[:-len("_file")]] = "<secret>"
            else:
                out[key] = neutral_plain(value)
        return out
    if isinstance(node, list):
        return [neutral_plain(v) for v in node]
    return node


def check_equal(route, amc):
    try:
        sub, inhibit_rules, receivers = amcfg.Translator(amc, {}, neutral=True).parts()
    except amcfg.Untranslated as e:
        check(False, f"the AlertmanagerConfig translates: {e}")
        return
    check(amc["metadata"].get("namespace") == NAMESPACE,
          f"the AlertmanagerConfig is in namespace {NAMESPACE}")
    check(sub == route["routes"][0], "AlertmanagerConfig route == route.yml's route (every child)")
    check(inhibit_rules == route["inhibit_rules"],
          "AlertmanagerConfig inhibitRules == route.yml's inhibit_rules")
    plain = neutral_plain(route["receivers"])
    for r in plain:
        for w in r.get("webhook_configs", []):
            if r["name"] == "afp-deadmans-switch":
                w["url"] = "<secret>"  # a Secret there (urlSecret), written here
    check(receivers == plain, "AlertmanagerConfig receivers == route.yml's receivers "
          "(secrets compared as <secret>)")
    if receivers != plain:
        print(yaml.safe_dump({"alertmanagerconfig": receivers, "route.yml": plain}, width=1000))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("amtool")
    p.add_argument("alertmanager_yml")
    p.add_argument("route_yml")
    p.add_argument("alertmanagerconfig")
    p.add_argument("rules_yml")
    p.add_argument("--only", choices=["same", "splice", "operator", "equal"])
    a = p.parse_args()
    am = yaml.safe_load(open(a.alertmanager_yml, encoding="utf-8"))
    route = yaml.safe_load(open(a.route_yml, encoding="utf-8"))
    amc = amcfg.load_amc(a.alertmanagerconfig)
    amtool = Amtool(a.amtool)
    templates = [os.path.join(os.path.dirname(os.path.abspath(a.alertmanager_yml)), t)
                 for t in am.get("templates", [])]
    with tempfile.TemporaryDirectory() as tmp:
        if a.only in (None, "same"):
            check_same(am, route)
        if a.only in (None, "splice"):
            check_splice(amtool, route, templates, a.rules_yml, tmp)
        if a.only in (None, "operator"):
            check_operator(amtool, amc, templates, a.rules_yml, tmp)
        if a.only in (None, "equal"):
            check_equal(route, amc)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("all checks pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
