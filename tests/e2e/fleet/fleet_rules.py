"""The fleet recording rules (group afp-fleet.recording) against the same quantities queried
over the raw series of every instance, at one of the rules' evaluation timestamps.

The reference queries are written here by hand, not copied from the rules: a rule that
summed by instance, missed a label or divided the wrong sums differs from them. Their
window is the one the derived (shortened) rules use.
"""
import math
import re

import yaml

GROUP = "afp-fleet.recording"
SELECTOR = 'job="afp"'
REFERENCE = {
    "cluster:afp_fingerprint_generation_seconds:p95_rate5m":
        "histogram_quantile(0.95, sum by (le) (rate(afp_fingerprint_generation_seconds_bucket{%s}[W])))",
    "cluster:afp_fingerprint_generation_seconds_count:rate5m":
        "sum(rate(afp_fingerprint_generation_seconds_count{%s}[W]))",
    "cluster:afp_api_request_duration_seconds:p95_rate5m":
        "histogram_quantile(0.95, sum by (le) (rate(afp_api_request_duration_seconds_bucket{%s}[W])))",
    "cluster_endpoint:afp_api_request_duration_seconds:p95_rate5m":
        "histogram_quantile(0.95, sum by (endpoint, le) (rate(afp_api_request_duration_seconds_bucket{%s}[W])))",
    "cluster_endpoint:afp_api_request_duration_seconds_count:rate5m":
        "sum by (endpoint) (rate(afp_api_request_duration_seconds_count{%s}[W]))",
    "cluster:afp_db_query_duration_seconds:p95_rate5m":
        "histogram_quantile(0.95, sum by (le) (rate(afp_db_query_duration_seconds_bucket{%s}[W])))",
    "cluster_operation:afp_db_query_duration_seconds_count:rate5m":
        "sum by (operation) (rate(afp_db_query_duration_seconds_count{%s}[W]))",
    "cluster:afp_identifications:rate5m":
        "sum(rate(afp_identifications_total{%s}[W]))",
    "cluster:afp_identification_errors_per_identifications:ratio_rate5m":
        "sum(rate(afp_identifications_total{%s, result=\"error\"}[W]))"
        " / sum(rate(afp_identifications_total{%s}[W]))",
    "cluster:afp_ingest_observations:rate5m":
        "sum(rate(afp_ingest_observations_total{%s}[W]))",
}
# The counters behind the rules: each must be moving on both instances in the window, or
# the equality would prove nothing about summing over instances.
TRAFFIC = ["afp_fingerprint_generation_seconds_count", "afp_api_request_duration_seconds_count",
           "afp_db_query_duration_seconds_count", "afp_identifications_total",
           "afp_ingest_observations_total"]
RANGE = re.compile(r"\[(\d+s)\]")
# Sums over series may add in another order in a rule than in a query.
RELATIVE_TOLERANCE = 1e-9
# A scrape is appended once its body is read: one still running at an evaluation timestamp
# is in a later query over that timestamp but was not in the rule's evaluation.
APPEND_MARGIN = 0.25
LOOK_BACK = 90


class Mismatch(Exception):
    pass


def fleet_windows(derived_recording_file):
    """{rule name: its range in the derived rules}; every rule of the group must have a
    reference query here and every reference a rule."""
    doc = yaml.safe_load(open(derived_recording_file, encoding="utf-8"))
    rules = [r for g in doc["groups"] if g["name"] == GROUP for r in g["rules"]]
    names = {r["record"] for r in rules}
    if names != set(REFERENCE):
        raise Mismatch(f"{GROUP} records {sorted(names)}, the test knows {sorted(REFERENCE)}: "
                       "give each fleet rule a reference query in fleet_rules.py")
    windows = {}
    for rule in rules:
        found = set(RANGE.findall(rule["expr"]))
        if len(found) != 1:
            raise Mismatch(f"{rule['record']}: expected one range in {rule['expr']!r}")
        windows[rule["record"]] = found.pop()
    return windows


def reference(name, window):
    return REFERENCE[name].replace("%s", SELECTOR).replace("[W]", f"[{window}]")


def samples_of(result):
    """{labels without __name__: value} of an instant vector."""
    out = {}
    for series in result:
        labels = tuple(sorted((k, v) for k, v in series["metric"].items() if k != "__name__"))
        out[labels] = float(series["value"][1])
    return out


def clean_evaluation(fleet, rule, around):
    """The latest evaluation of `rule` at or before `around` that no scrape of the afp job
    straddled (see APPEND_MARGIN), as a Unix time."""
    # A loaded host scrapes slowly and often: look back far enough for a clear moment.
    evaluations = sorted({float(t) for s in fleet.query(f"{rule}[{LOOK_BACK}s]", at=around)
                          for t, _ in s["values"]}, reverse=True)
    scrapes = {}
    for s in fleet.query(f"scrape_duration_seconds{{{SELECTOR}}}[{LOOK_BACK + 10}s]",
                         at=around + 10):
        scrapes[s["metric"]["instance"]] = [(float(t), float(v)) for t, v in s["values"]]
    if len(scrapes) < 2:
        raise Mismatch(f"scrapes of {len(scrapes)} instance(s) around {around:.0f}, want 2")
    for t0 in evaluations:
        if all(not (start <= t0 < start + duration + APPEND_MARGIN)
               for runs in scrapes.values() for start, duration in runs):
            return t0
    raise Mismatch(f"no evaluation of {rule} in the {LOOK_BACK} s before {around:.0f} clear "
                   "of scrapes")


def check_traffic(fleet, window, t0):
    for metric in TRAFFIC:
        moving = fleet.query(f"sum by (instance) (rate({metric}{{{SELECTOR}}}[{window}])) > 0", at=t0)
        if len(moving) != 2:
            raise Mismatch(f"{metric}: moving on {len(moving)} instance(s) at {t0}, want 2")


def close(a, b):
    """Equal up to float rounding; NaN (a p95 of a window without observations, e.g. of a
    rarely called endpoint) equals only NaN."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= RELATIVE_TOLERANCE * max(abs(a), abs(b))


def compare(fleet, windows, around, log):
    """Every fleet rule's value at one evaluation timestamp near `around` against its
    reference query at that timestamp; raises Mismatch on the first difference."""
    first = next(iter(windows))
    t0 = clean_evaluation(fleet, first, around)
    check_traffic(fleet, windows[first], t0)
    for name, window in windows.items():
        stamps = {float(s["value"][1]) for s in fleet.query(f"timestamp({name})", at=t0)}
        if stamps != {t0}:
            raise Mismatch(f"{name}: no sample of the evaluation at {t0} (found {sorted(stamps)})")
        recorded = samples_of(fleet.query(name, at=t0))
        expr = reference(name, window)
        raw = samples_of(fleet.query(expr, at=t0))
        if not any(math.isfinite(v) for v in recorded.values()) or not raw:
            raise Mismatch(f"{name} at {t0}: recorded {recorded or 'nothing'}, "
                           f"raw {expr} {raw or 'nothing'}: no value to compare")
        if set(recorded) != set(raw) or not all(close(recorded[k], raw[k]) for k in recorded):
            raise Mismatch(f"{name} at {t0}: recorded {recorded} != raw {expr} {raw}")
        shown = ", ".join(f"{dict(k) or ''}{v:.6g}" for k, v in sorted(recorded.items()))
        log(f"  = {name} {shown}")
    return t0
