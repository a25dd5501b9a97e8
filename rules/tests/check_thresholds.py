#!/usr/bin/python3
"""Keeps the alerting rules' thresholds equal to exporter/src/core/thresholds.h.

    check_thresholds.py RULES_YML THRESHOLDS_H

Reads every `inline constexpr Threshold kName{"name", "what", Unit::X, warning, critical
[, Direction::Y]}` of the header (a value may name another threshold's, as
`kDbQueryP95.warning`), and for each row of MAPPING finds the alert's rules: one per
severity (warning and critical; critical alone when both levels are equal, as for pg_up),
each comparing the mapped series with exactly one number. The comparison must be `>=` for
a higher-is-worse threshold and `<` for a lower-is-worse one (thresholds.h's level_of), the
number must equal the header's, and the description must quote it ("70%", "3s").
Every threshold of the header must appear in MAPPING, so a new one cannot be forgotten.

The guards that decide whether a reading is judged at all (the header's scalar constants
and kUnjudgedDatabases) are held the same way: each row of GUARDS names a constant, an
alert and the comparison in its expression that must carry the constant's value, so
`status`, `db report` and the rules exclude the same databases and want the same volume.
Every guard of the header must appear in GUARDS.

RULES_YML is rendered by mixin/render from mixin/alerts.libsonnet, whose thresholds and
descriptions come from `thresholds` in mixin/config.libsonnet. Changing a threshold: edit
thresholds.h and that key, re-render, and update the rule's promtool tests in rules/tests/
(their "just below" and "at the threshold" cases).
"""
import math
import re
import sys

import yaml

# (thresholds.h name, alert name, the series the rule compares with the threshold)
MAPPING = [
    ("cpu_busy", "AfpHostCpuBusy", "instance:node_cpu_busy:ratio_rate5m"),
    ("memory_used", "AfpHostMemoryUsed", "instance:node_memory_used:ratio"),
    ("disk_used", "AfpFilesystemUsed", "instance_mountpoint:node_filesystem_used:ratio"),
    ("fingerprint_generation_p95", "AfpFingerprintGenerationSlow",
     "instance:afp_fingerprint_generation_seconds:p95_rate5m"),
    ("api_processing_p95", "AfpApiRequestsSlow",
     "instance_endpoint:afp_api_request_duration_seconds:p95_rate5m"),
    ("db_query_p95", "AfpDbQueriesSlow",
     "instance_operation:afp_db_query_duration_seconds:p95_rate5m"),
    ("fingerprint_generation_p95", "AfpProbeStageSlow",
     'instance_stage:afp_probe_stage_duration_seconds:median10m{stage="fingerprint"}'),
    ("db_query_p95", "AfpProbeStageSlow",
     'instance_stage:afp_probe_stage_duration_seconds:median10m{stage="db"}'),
    ("identification_error_ratio", "AfpIdentificationErrors",
     "instance:afp_identification_errors_per_identifications:ratio_rate5m"),
    ("pg_up", "AfpPostgresDown", "pg_up"),
    ("pg_statement_mean_time", "AfpPostgresStatementSlow",
     "instance_queryid:pg_stat_statements_seconds:mean5m"),
    ("pg_cache_hit_ratio", "AfpPostgresCacheHitLow",
     "instance_datname:pg_stat_database_blks_hit:ratio_rate5m"),
    ("pg_dead_row_ratio", "AfpPostgresDeadRows", "instance_relname:pg_stat_user_tables_dead_tup:ratio"),
]

# (constant of thresholds.h, alert, regular expression of the expression's comparison whose
# captured number must equal the constant, possibly through a factor: `7 * 86400` is days)
GUARDS = [
    ("kCacheHitMinBlocksPerSecond", "AfpPostgresCacheHitLow",
     r"instance_datname:pg_stat_database_blks:rate5m >= (\S+)", 1),
    ("kDeadRowMinRows", "AfpPostgresDeadRows", r"pg_stat_user_tables_n_dead_tup\{[^}]*\} >= (\S+)", 1),
    ("kStaleModifiedRatio", "AfpPostgresStatisticsStale",
     r"n_mod_since_analyze\{[^}]*\} > (\S+) \* pg_stat_user_tables_n_live_tup", 1),
    ("kStaleMinRows", "AfpPostgresStatisticsStale",
     r"n_mod_since_analyze\{[^}]*\} >= (\S+)", 1),
    ("kStaleMinRows", "AfpPostgresStatisticsStale",
     r"pg_stat_user_tables_n_live_tup\{[^}]*\} >= (\S+) and pg_stat_user_tables_last_analyze", 1),
    ("kStaleAnalyzeAgeDays", "AfpPostgresStatisticsStale", r"\) > (\S+) \* 86400", 1),
    ("kSeqScanMinLiveRows", "AfpFingerprintSeqScans",
     r"pg_stat_user_tables_n_live_tup\{[^}]*\} >= (\S+)", 1),
]

NUMBER = r"[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"


def split_args(body):
    """Splits a brace initializer's arguments at top-level commas, keeping strings whole."""
    args, cur, quoted = [], "", False
    for ch in body:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            args.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        args.append(cur.strip())
    return args


def parse_header(path):
    text = re.sub(r"//[^\n]*", "", open(path, encoding="utf-8").read())
    by_ident, by_name = {}, {}
    for ident, body in re.findall(r"inline constexpr Threshold\s+(\w+)\s*\{(.*?)\};", text, re.S):
        args = split_args(" ".join(body.split()))
        if len(args) not in (5, 6):
            sys.exit(f"thresholds.h: cannot read {ident}: {args}")

        def value(arg):
            m = re.fullmatch(r"(\w+)\.(warning|critical)", arg)
            if m:
                return by_ident[m.group(1)][m.group(2)]
            return float(arg)

        t = {
            "ident": ident,
            "name": args[0].strip('"'),
            "unit": args[2].split("::")[-1],
            "warning": value(args[3]),
            "critical": value(args[4]),
            "direction": args[5].split("::")[-1] if len(args) == 6 else "HigherIsWorse",
        }
        by_ident[ident] = t
        by_name[t["name"]] = t
    if not by_name:
        sys.exit(f"{path}: no `inline constexpr Threshold` found")
    return by_name


def parse_guards(path):
    """The header's scalar constants {name: number} and kUnjudgedDatabases [names]."""
    text = re.sub(r"//[^\n]*", "", open(path, encoding="utf-8").read())
    scalars = {name: float(value) for name, value in re.findall(
        r"inline constexpr (?:double|std::int64_t)\s+(k\w+)\s*=\s*(" + NUMBER + r");", text)}
    m = re.search(r"kUnjudgedDatabases\s*\{([^}]*)\}", text)
    if not m:
        sys.exit(f"{path}: no kUnjudgedDatabases")
    return scalars, re.findall(r'"([^"]+)"', m.group(1))


def check_guards(header_path, rules):
    """Errors and the number of guards checked: GUARDS, and the unjudged databases."""
    scalars, unjudged = parse_guards(header_path)
    errors, checked = [], 0
    for name in sorted(set(scalars) - {g[0] for g in GUARDS}):
        errors.append(f"guard {name} of thresholds.h has no alert in GUARDS")
    for name, alert, pattern, factor in GUARDS:
        exprs = [" ".join(r["expr"].split()) for r in rules if r["alert"] == alert]
        if name not in scalars or not exprs:
            errors.append(f"GUARDS: {name} or {alert} does not exist")
            continue
        for expr in exprs:
            found = re.findall(pattern, expr)
            if len(found) != 1:
                errors.append(f"{alert}: want one /{pattern}/ in: {expr}")
            elif not math.isclose(float(found[0]) * factor, scalars[name], abs_tol=1e-12):
                errors.append(f"{alert}: {found[0]} where thresholds.h's {name} is {scalars[name]:g}")
            else:
                checked += 1
                print(f"ok  {alert} vs {name}: {found[0]}")
    cache_exprs = [r["expr"] for r in rules if r["alert"] == "AfpPostgresCacheHitLow"]
    want = 'datname!~"' + "|".join(unjudged) + '"'
    for expr in cache_exprs:
        if want not in expr:
            errors.append(f"AfpPostgresCacheHitLow: want {want} (kUnjudgedDatabases) in: {expr}")
        else:
            checked += 1
            print(f"ok  AfpPostgresCacheHitLow vs kUnjudgedDatabases: {want}")
    return errors, checked


def quoted(value, unit):
    """How a description writes the threshold: 70% or 3s."""
    if unit == "Ratio":
        return f"{round(value * 100, 6):g}%"
    return f"{value:g}s"


def described_threshold(description, series):
    """The threshold a description quotes, following the {{ if eq $labels.stage "db" }} branch
    for the probe's stages."""
    text = " ".join(description.split())
    m = re.search(r'threshold of \{\{ if eq \$labels\.stage "(\w+)" \}\}(\S+?)\{\{ else \}\}(\S+?)\{\{ end \}\}', text)
    if m:
        stage = re.search(r'stage="(\w+)"', series)
        return m.group(2) if stage and stage.group(1) == m.group(1) else m.group(3)
    m = re.search(r"threshold of (\S+?)[.:,]?(?: |$)", text)
    return m.group(1) if m else None


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rules_path, header_path = sys.argv[1], sys.argv[2]
    thresholds = parse_header(header_path)
    rules = [r for g in yaml.safe_load(open(rules_path, encoding="utf-8"))["groups"]
             for r in g["rules"] if "alert" in r]
    errors, checked = [], 0

    unmapped = set(thresholds) - {name for name, _, _ in MAPPING}
    for name in sorted(unmapped):
        errors.append(f"threshold {name} of thresholds.h has no alert in MAPPING")

    for name, alert, series in MAPPING:
        t = thresholds.get(name)
        if t is None:
            errors.append(f"MAPPING names {name}, which thresholds.h does not define")
            continue
        op = "<" if t["direction"] == "LowerIsWorse" else ">="
        levels = ["critical"] if t["warning"] == t["critical"] else ["warning", "critical"]
        by_severity = {}
        for r in rules:
            if r["alert"] == alert:
                by_severity.setdefault(r.get("labels", {}).get("severity"), []).append(r)
        for level in levels:
            found = by_severity.get(level, [])
            if len(found) != 1:
                errors.append(f"{alert}: {len(found)} rules with severity {level}, want 1")
                continue
            rule = found[0]
            expr = " ".join(rule["expr"].split())
            comparisons = re.findall(r"(?<![\w:])" + re.escape(series) + r"(?:\{[^}]*\})?\s*(>=|<=|==|!=|>|<)\s*(" + NUMBER + r")(?![\w.])", expr)
            if len(comparisons) != 1:
                errors.append(f"{alert} ({level}): want one `{series}[{{matchers}}] {op} N` in the expression, "
                              f"found {len(comparisons)}: {expr}")
                continue
            got_op, got_value = comparisons[0][0], float(comparisons[0][1])
            want = t[level]
            where = f"{alert} ({level}) vs {t['ident']}.{level}"
            if got_op != op:
                errors.append(f"{where}: compares with {got_op}, want {op} ({t['direction']})")
            if not math.isclose(got_value, want, rel_tol=0, abs_tol=1e-12):
                errors.append(f"{where}: threshold {got_value:g}, thresholds.h says {want:g}")
            if t["unit"] != "Up":
                said = described_threshold(rule["annotations"]["description"], series)
                if said != quoted(want, t["unit"]):
                    errors.append(f"{where}: description says threshold {said}, want {quoted(want, t['unit'])}")
            checked += 1
            print(f"ok  {where}: {series} {got_op} {got_value:g}")

    guard_errors, guards_checked = check_guards(header_path, rules)
    errors += guard_errors
    if errors:
        print("\n".join("FAIL " + e for e in errors), file=sys.stderr)
        return 1
    print(f"{checked} thresholds of {len(MAPPING)} mappings and {guards_checked} guards equal "
          f"to {header_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
