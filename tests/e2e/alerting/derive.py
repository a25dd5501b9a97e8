#!/usr/bin/python3
"""Derives the test copies of the shipped rules and Alertmanager configuration.

    derive.py --rules-dir DIR --alertmanager FILE --out DIR --smtp HOST:PORT --slack-url URL
              [--for D] [--keep-firing-for D] [--group-wait D] [--group-interval D]
              [--smtp-password P] [--webhook-token T]

Never a hand-kept copy: the tests run what ships, with only these changes, printed to stdout.
  rules (OUT/rules/*.yml): every alert's `for` and `keep_firing_for` shortened to at most
      --for and --keep-firing-for (so a test needs seconds, not minutes); nothing else.
  alertmanager (OUT/alertmanager.yml):
    - global.smtp_smarthost -> --smtp (the SMTP sink);
    - the Slack URL -> --slack-url, written to OUT/secrets/<the shipped file's name>; the
      other secret files (the SMTP password, the webhooks' credentials: --webhook-token)
      are written there too and the `*_file` paths point there, since the test cannot use
      /etc;
    - every webhook URL (the dead man's switch, the generic webhook) -> the sink beside
      the Slack one: <scheme://host:port of --slack-url>/webhook/<receiver name>;
    - `templates` -> the shipped templates' absolute paths;
    - group_wait / group_interval of every route that sets them -> --group-wait /
      --group-interval. repeat_interval is NOT changed: no repeat may arrive in a test.
  OUT/smtp_user holds the shipped smtp_auth_username, for the sink to accept.
"""
import argparse
import glob
import os
import re
import sys
import urllib.parse

import yaml

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(duration):
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)", str(duration)):
        total += float(number) * UNITS[unit]
    return total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rules-dir", required=True)
    p.add_argument("--alertmanager", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--smtp", required=True)
    p.add_argument("--slack-url", required=True)
    p.add_argument("--smtp-password", default="test-password")
    p.add_argument("--webhook-token", default="test-webhook-token")
    p.add_argument("--for", dest="for_", default="2s")
    p.add_argument("--keep-firing-for", default="2s")
    p.add_argument("--group-wait", default="1s")
    p.add_argument("--group-interval", default="2s")
    a = p.parse_args()

    os.makedirs(os.path.join(a.out, "rules"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "secrets"), exist_ok=True)
    changes = []

    for path in sorted(glob.glob(os.path.join(a.rules_dir, "*.yml"))):
        doc = yaml.safe_load(open(path, encoding="utf-8"))
        shortened = 0
        for group in doc["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                for key, limit in (("for", a.for_), ("keep_firing_for", a.keep_firing_for)):
                    if key in rule and seconds(rule[key]) > seconds(limit):
                        rule[key] = limit
                        shortened += 1
        out = os.path.join(a.out, "rules", os.path.basename(path))
        with open(out, "w", encoding="utf-8") as f:
            yaml.safe_dump(doc, f, sort_keys=False, allow_unicode=True, width=1000)
        if shortened:
            changes.append(f"rules {os.path.basename(path)}: {shortened} durations shortened to "
                           f"for <= {a.for_}, keep_firing_for <= {a.keep_firing_for}")

    shipped_dir = os.path.dirname(os.path.abspath(a.alertmanager))
    cfg = yaml.safe_load(open(a.alertmanager, encoding="utf-8"))
    glob_ = cfg.setdefault("global", {})
    changes.append(f"smtp_smarthost {glob_.get('smtp_smarthost')} -> {a.smtp}")
    glob_["smtp_smarthost"] = a.smtp

    def secret(path, content):
        local = os.path.join(os.path.abspath(a.out), "secrets", os.path.basename(path))
        with open(local, "w", encoding="utf-8") as f:
            f.write(content)  # no newline: Alertmanager 0.25 sends the file as it is
        os.chmod(local, 0o600)
        changes.append(f"secret file {path} -> {local}")
        return local

    def walk(node, where):
        """Every *_file secret (Slack URL, SMTP password) moves to OUT/secrets."""
        if isinstance(node, dict):
            for key, value in list(node.items()):
                if key in ("slack_api_url_file", "api_url_file"):
                    node[key] = secret(value, a.slack_url)
                elif key in ("smtp_auth_password_file", "auth_password_file"):
                    node[key] = secret(value, a.smtp_password)
                elif key in ("credentials_file", "password_file", "bearer_token_file"):
                    node[key] = secret(value, a.webhook_token)
                elif key == "slack_api_url" or (key == "api_url" and "slack" in where):
                    node[key] = a.slack_url
                else:
                    walk(value, where + "/" + str(key))
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(cfg, "")
    sink = urllib.parse.urlsplit(a.slack_url)
    for receiver in cfg.get("receivers", []):
        for hook in receiver.get("webhook_configs", []):
            url = f"{sink.scheme}://{sink.netloc}/webhook/{receiver['name']}"
            changes.append(f"webhook {receiver['name']} {hook.get('url')} -> {url}")
            hook["url"] = url
    cfg["templates"] = [t if os.path.isabs(t) else os.path.join(shipped_dir, t)
                        for t in cfg.get("templates", [])]

    def routes(route):
        for key, value in (("group_wait", a.group_wait), ("group_interval", a.group_interval)):
            if key in route:
                route[key] = value
        for child in route.get("routes", []):
            routes(child)

    routes(cfg["route"])
    changes.append(f"group_wait -> {a.group_wait}, group_interval -> {a.group_interval} "
                   f"(repeat_interval kept: {cfg['route'].get('repeat_interval')})")
    with open(os.path.join(a.out, "alertmanager.yml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, sort_keys=False, allow_unicode=True, width=1000)
    with open(os.path.join(a.out, "smtp_user"), "w", encoding="utf-8") as f:
        f.write(str(glob_.get("smtp_auth_username", "")) + "\n")
    print("\n".join("derived: " + c for c in changes))


if __name__ == "__main__":
    sys.exit(main())
