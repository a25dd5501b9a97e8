#!/usr/bin/python3
"""Derives the test copies of the shipped rules and Alertmanager configuration.

    derive.py --rules-dir DIR --alertmanager FILE --out DIR --smtp HOST:PORT --slack-url URL
              [--scale F [--min-window D]] [--for D] [--keep-firing-for D]
              [--group-wait D] [--group-interval D] [--smtp-password P] [--webhook-token T]
              [--timings FILE]

Never a hand-kept copy: the tests run what ships, with only these changes, printed to stdout.
  rules (OUT/rules/*.yml), so that a test needs seconds, not minutes:
    without --scale: every alert's `for` and `keep_firing_for` capped at --for and
      --keep-firing-for (default 2s each); nothing else.
    with --scale F: the whole timeline shrinks by F, so what happens first in production
      still happens first. Every `for` and `keep_firing_for` is multiplied by F (then capped
      at --for / --keep-firing-for if given), and so is every range and offset of 15 minutes
      or less in the alerting and recording expressions (never below --min-window). Longer
      ranges and offsets are kept: they demand history (an hour of samples behind a
      trend, yesterday's traffic), which no shortened timing may fake. Capping
      keep_firing_for alone would break the ordering the inhibitions rely on: a cause
      must keep firing until its symptoms' windows have emptied.
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
  --timings FILE: every rule's changed durations, shipped -> derived, one line per alert
  (its severities together when they changed alike), then the recording rules' ranges.
"""
import argparse
import copy
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


def duration(secs):
    """Prometheus duration text of a positive number of seconds, rounded to the second."""
    return f"{max(1, round(secs))}s"


# A range selector [D] or subquery [D:R], or an offset, with D a Prometheus duration.
RANGE = re.compile(r"\[((?:\d+(?:ms|s|m|h|d|w|y))+)(:[^\]]*)?\]")
OFFSET = re.compile(r"\boffset\s+((?:\d+(?:ms|s|m|h|d|w|y))+)")
SCALED_UP_TO = 15 * 60


def scale_expr(expr, factor, min_window):
    def scaled(text):
        secs = seconds(text)
        if secs > SCALED_UP_TO:
            return text
        return duration(max(secs * factor, min_window))

    expr = RANGE.sub(lambda m: f"[{scaled(m.group(1))}{m.group(2) or ''}]", expr)
    return OFFSET.sub(lambda m: f"offset {scaled(m.group(1))}", expr)


def shorten_rule(rule, a):
    """Returns how many of the rule's durations changed."""
    changed = 0
    if a.scale is None:
        for key, limit in (("for", a.for_ or "2s"), ("keep_firing_for", a.keep_firing_for or "2s")):
            if "alert" in rule and key in rule and seconds(rule[key]) > seconds(limit):
                rule[key] = limit
                changed += 1
        return changed
    expr = scale_expr(rule["expr"], a.scale, seconds(a.min_window))
    if expr != rule["expr"]:
        rule["expr"] = expr
        changed += 1
    for key, limit in (("for", a.for_), ("keep_firing_for", a.keep_firing_for)):
        if "alert" in rule and key in rule:
            secs = seconds(rule[key]) * a.scale
            if limit is not None:
                secs = min(secs, seconds(limit))
            rule[key] = duration(secs)
            changed += 1
    return changed


def timing_change(shipped, derived):
    """What derive changed in one rule, e.g. "for 10m -> 60s, ranges [5m] -> [30s]"."""
    parts = [f"{key} {shipped[key]} -> {derived[key]}" for key in ("for", "keep_firing_for")
             if key in shipped and shipped[key] != derived[key]]
    pairs = zip(RANGE.findall(shipped["expr"]) + OFFSET.findall(shipped["expr"]),
                RANGE.findall(derived["expr"]) + OFFSET.findall(derived["expr"]))
    ranges = sorted({(a if isinstance(a, str) else a[0], b if isinstance(b, str) else b[0])
                     for a, b in pairs}, key=lambda r: seconds(r[0]))
    changed = [f"{a} -> {b}" for a, b in ranges if a != b]
    if changed:
        parts.append("ranges " + ", ".join(changed))
    return ", ".join(parts)


def timings_table(changed_rules):
    """Lines for --timings from [(shipped rule, derived rule)], alerts first."""
    alerts, recorded = {}, set()
    for shipped, derived in changed_rules:
        change = timing_change(shipped, derived)
        if not change:
            continue
        if "alert" in shipped:
            key = (shipped["alert"], change)
            alerts.setdefault(key, []).append(shipped.get("labels", {}).get("severity", "-"))
        else:
            recorded.add(change)
    width = max((len(name) for name, _ in alerts), default=0)
    lines = [f"{name:<{width}}  {'/'.join(sev):<16}  {change}"
             for (name, change), sev in alerts.items()]
    lines += [f"{'(recording rules)':<{width}}  {'':<16}  {change}" for change in sorted(recorded)]
    return lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rules-dir", required=True)
    p.add_argument("--alertmanager", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--smtp", required=True)
    p.add_argument("--slack-url", required=True)
    p.add_argument("--smtp-password", default="test-password")
    p.add_argument("--webhook-token", default="test-webhook-token")
    p.add_argument("--for", dest="for_")
    p.add_argument("--keep-firing-for")
    p.add_argument("--scale", type=float)
    p.add_argument("--min-window", default="4s")
    p.add_argument("--group-wait", default="1s")
    p.add_argument("--group-interval", default="2s")
    p.add_argument("--timings")
    a = p.parse_args()
    if a.scale is not None and not 0 < a.scale <= 1:
        p.error(f"--scale {a.scale}: a factor in (0, 1]")

    os.makedirs(os.path.join(a.out, "rules"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "secrets"), exist_ok=True)
    changes, changed_rules = [], []

    for path in sorted(glob.glob(os.path.join(a.rules_dir, "*.yml")), key=lambda p: "record" in p):
        doc = yaml.safe_load(open(path, encoding="utf-8"))
        shortened = 0
        for group in doc["groups"]:
            for rule in group["rules"]:
                shipped = copy.deepcopy(rule)
                shortened += shorten_rule(rule, a)
                changed_rules.append((shipped, rule))
        out = os.path.join(a.out, "rules", os.path.basename(path))
        with open(out, "w", encoding="utf-8") as f:
            yaml.safe_dump(doc, f, sort_keys=False, allow_unicode=True, width=1000)
        if shortened and a.scale is None:
            changes.append(f"rules {os.path.basename(path)}: {shortened} durations shortened to "
                           f"for <= {a.for_ or '2s'}, keep_firing_for <= {a.keep_firing_for or '2s'}")
        elif shortened:
            changes.append(f"rules {os.path.basename(path)}: {shortened} rules' durations and "
                           f"ranges up to 15m scaled by {a.scale:g} (ranges >= {a.min_window}; "
                           f"for <= {a.for_ or 'any'}, keep_firing_for <= {a.keep_firing_for or 'any'})")

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
    if a.timings:
        with open(a.timings, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in timings_table(changed_rules)))


if __name__ == "__main__":
    sys.exit(main())
