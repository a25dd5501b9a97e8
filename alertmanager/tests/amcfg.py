#!/usr/bin/python3
"""What the Prometheus operator makes of an AlertmanagerConfig (monitoring.coreos.com/v1alpha1):
the plain Alertmanager configuration it generates, for amtool to check.

    amcfg.py ALERTMANAGERCONFIG BASE_CONFIG OUT [--secret NAME/KEY=VALUE]...

Reads the AlertmanagerConfig and a base alertmanager.yml (the Alertmanager's own
configuration), writes the merged configuration to OUT. As the operator does (its
pkg/alertmanager/amcfg.go, matchers v2, the default OnNamespace matcher strategy):
  - every receiver is renamed <namespace>/<name>/<receiver>, routes follow;
  - camelCase fields become the snake_case of alertmanager.yml, matchers become strings
    (name, matchType, value -> name<op>"value"), email headers a map;
  - the top route loses any namespace matcher of its own, gains namespace="<namespace>" and
    `continue: true`, and goes FIRST among the base root route's children;
  - each inhibit rule gains namespace="<namespace>" in its source and target matchers and is
    appended to the base's;
  - a secretKeySelector ({name, key}) is replaced by the Secret's value (the operator reads
    the Secret): --secret NAME/KEY=VALUE supplies it; a missing one is an error.
Only the fields the afp configuration uses are translated; any other is an error, so that
nothing is silently dropped.
"""
import argparse
import re
import sys

import yaml


class Untranslated(Exception):
    pass


def matcher(m):
    op = m.get("matchType", "=")
    if op not in ("=", "!=", "=~", "!~"):
        raise Untranslated(f"matchType {op!r}")
    value = str(m.get("value", "")).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return f'{m["name"]}{op}"{value}"'


def snake(name):
    special = {"apiURL": "api_url", "requireTLS": "require_tls", "urlSecret": "url"}
    if name in special:
        return special[name]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Translator:
    def __init__(self, amc, secrets, neutral=False):
        self.ns = amc["metadata"]["namespace"]
        self.name = amc["metadata"]["name"]
        self.spec = amc["spec"]
        self.secrets = secrets
        # neutral: no operator changes at all (no prefixes, no namespace matcher, no forced
        # `continue`, secrets as "<secret>"), to compare with alertmanager/route.yml.
        self.neutral = neutral

    def receiver_name(self, name):
        return name if self.neutral else f"{self.ns}/{self.name}/{name}"

    def secret(self, ref):
        if self.neutral:
            return "<secret>"
        key = f'{ref["name"]}/{ref["key"]}'
        if key not in self.secrets:
            raise Untranslated(f"no value for secret {key} (--secret {key}=...)")
        return self.secrets[key]

    def route(self, r):
        known = {"receiver", "matchers", "groupBy", "groupWait", "groupInterval",
                 "repeatInterval", "continue", "routes"}
        unknown = set(r) - known
        if unknown:
            raise Untranslated(f"route fields {sorted(unknown)}")
        out = {}
        if "receiver" in r:
            out["receiver"] = self.receiver_name(r["receiver"])
        if r.get("matchers"):
            out["matchers"] = [matcher(m) for m in r["matchers"]]
        for camel in ("groupBy", "groupWait", "groupInterval", "repeatInterval"):
            if camel in r:
                out[snake(camel)] = r[camel]
        if r.get("continue"):
            out["continue"] = True
        if r.get("routes"):
            out["routes"] = [self.route(child) for child in r["routes"]]
        return out

    def http_config(self, h):
        out = {}
        for key, value in h.items():
            if key == "authorization":
                auth = {}
                if "type" in value:
                    auth["type"] = value["type"]
                if "credentials" in value:
                    auth["credentials"] = self.secret(value["credentials"])
                out["authorization"] = auth
            else:
                raise Untranslated(f"httpConfig.{key}")
        return out

    def integration(self, kind, c):
        secret_fields = {"apiURL", "authPassword", "urlSecret"}
        plain_fields = {"to", "from", "smarthost", "authUsername", "text", "html", "requireTLS",
                        "sendResolved", "channel", "title", "color", "fallback", "url",
                        "maxAlerts"}
        out = {}
        for key, value in c.items():
            if key in secret_fields:
                out[snake(key)] = self.secret(value)
            elif key == "headers":
                out["headers"] = {kv["key"]: kv["value"] for kv in value}
            elif key == "httpConfig":
                out["http_config"] = self.http_config(value)
            elif key in plain_fields:
                out[snake(key)] = value
            else:
                raise Untranslated(f"{kind}.{key}")
        if "urlSecret" in c and "url" in c:
            out["url"] = self.secret(c["urlSecret"])  # urlSecret takes precedence
        return out

    def receiver(self, r):
        out = {"name": self.receiver_name(r["name"])}
        for key, value in r.items():
            if key == "name":
                continue
            if key not in ("emailConfigs", "slackConfigs", "webhookConfigs"):
                raise Untranslated(f"receiver {r['name']}: {key}")
            out[snake(key)] = [self.integration(key, c) for c in value]
        return out

    def inhibit_rule(self, ir):
        unknown = set(ir) - {"sourceMatch", "targetMatch", "equal"}
        if unknown:
            raise Untranslated(f"inhibit rule fields {sorted(unknown)}")
        out = {"source_matchers": [matcher(m) for m in ir.get("sourceMatch", [])],
               "target_matchers": [matcher(m) for m in ir.get("targetMatch", [])]}
        if not self.neutral:
            ns = f'namespace="{self.ns}"'
            for side in ("source_matchers", "target_matchers"):
                if ns not in out[side]:
                    out[side].append(ns)
        if "equal" in ir:
            out["equal"] = list(ir["equal"])
        return out

    def top_route(self):
        r = self.route(self.spec["route"])
        if not self.neutral:
            r["matchers"] = [m for m in r.get("matchers", [])
                             if not re.match(r'^namespace(=|=~)"', m)]
            r["matchers"].append(f'namespace="{self.ns}"')
            r["continue"] = True
        return r

    def parts(self):
        unknown = set(self.spec) - {"route", "receivers", "inhibitRules"}
        if unknown:
            raise Untranslated(f"spec fields {sorted(unknown)}")
        return (self.top_route(),
                [self.inhibit_rule(ir) for ir in self.spec.get("inhibitRules", [])],
                [self.receiver(r) for r in self.spec.get("receivers", [])])


def generate(amc, base, secrets):
    """The configuration the operator generates from BASE and one AlertmanagerConfig."""
    route, inhibit_rules, receivers = Translator(amc, secrets).parts()
    out = dict(base)
    out["route"] = dict(base["route"])
    out["route"]["routes"] = [route] + list(base["route"].get("routes", []))
    out["inhibit_rules"] = list(base.get("inhibit_rules", [])) + inhibit_rules
    out["receivers"] = list(base.get("receivers", [])) + receivers
    return out


def load_amc(path):
    docs = [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d]
    amcs = [d for d in docs if d.get("kind") == "AlertmanagerConfig"]
    if len(amcs) != 1 or amcs[0].get("apiVersion") != "monitoring.coreos.com/v1alpha1":
        raise Untranslated(f"{path}: expected one monitoring.coreos.com/v1alpha1 AlertmanagerConfig")
    return amcs[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("alertmanagerconfig")
    p.add_argument("base")
    p.add_argument("out")
    p.add_argument("--secret", action="append", default=[], metavar="NAME/KEY=VALUE")
    a = p.parse_args()
    secrets = dict(s.split("=", 1) for s in a.secret)
    try:
        cfg = generate(load_amc(a.alertmanagerconfig),
                       yaml.safe_load(open(a.base, encoding="utf-8")), secrets)
    except Untranslated as e:
        print(f"amcfg.py: cannot translate: {e}", file=sys.stderr)
        return 1
    with open(a.out, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, sort_keys=False, allow_unicode=True, width=1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
