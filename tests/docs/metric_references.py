#!/usr/bin/python3
"""Every metric family the user documentation names is one the exporter emits.

    metric_references.py REPO

Reads the code of README.md and docs/*.md (fenced blocks and `inline spans`, as
doc_references.py does) and checks each metric name in it:
  - a name with a colon is a recording rule: it must be a `record:` of rules/*.yml;
  - any other name must be a family with a row in docs/metrics.md (which the test "docs:
    docs/metrics.md lists every family the exporter emits, and only those" checks against a
    real scrape), or the _bucket, _sum or _count series of a documented histogram or
    summary, or one of the other programs' metrics the docs name on purpose
    (OTHER_PROGRAMS_METRICS).
A metric name is a word with one of the prefixes of METRIC_PREFIXES, not followed by '.',
'/' or '(' (file names, paths, SQL functions) and not ending in '_' (the stem of a set of
families, `node_network_`); the identifiers of NOT_METRICS (binaries, libraries, PostgreSQL
views, roles, labels) are left alone.
Prints each stale name with its file and line; exits 1 if there is one.
"""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from doc_references import code_of  # noqa: E402
from metrics_doc import parse_doc, row_for  # noqa: E402

METRIC_PREFIXES = ("afp_", "node_", "pg_", "process_", "go_", "promhttp_")
# A whole word: a family's name, or a recording rule's level:metric:operations (an image's
# afp_exporter:latest is neither).
_PREFIX = "(?:" + "|".join(METRIC_PREFIXES) + ")"
NAME = re.compile(r"(?<![\w./$:-])([a-z_]+:" + _PREFIX + r"[A-Za-z0-9_]*(?::[A-Za-z0-9_]+)*|" +
                  _PREFIX + r"[A-Za-z0-9_]*)(?![\w./(:-])")
SUFFIXES = ("_bucket", "_sum", "_count")
# Identifiers with a metric prefix that are no metric: the kit's programs, libraries and
# CMake targets, PostgreSQL's views, functions, roles and tools, and label names.
NOT_METRICS = {
    # programs, libraries, CMake targets and roles of this repository
    "afp_exporter", "afp_workload", "afp_client", "afp_app", "afp_cli", "afp_collectors",
    "afp_config", "afp_core", "afp_headers", "afp_http", "afp_log", "afp_maintenance",
    "afp_metric_family_writer", "afp_metrics", "afp_pg", "afp_pg_tests", "afp_pipeline",
    "afp_unit_tests", "afp_web_security", "afp_web_security_builtin", "afp_websec",
    "afp_workload_core", "afp_fuzz_harness_support", "afp_faults",
    # PostgreSQL: views, functions, roles, tools and the extension
    "pg_stat_activity", "pg_stat_database", "pg_stat_user_tables", "pg_stat_user_indexes",
    "pg_stat_statements", "pg_stat_progress_create_index", "pg_locks",
    "pg_monitor", "pg_dump", "pg_isready", "pg_repack", "pg_indexes_size",
    "pg_relation_size", "pg_table_size", "pg_static",
    # the CMake target of the generated build_info.h; an advisor finding's id
    "afp_build_info", "pg_stat_statements_missing",
}
# Metrics of other programs the docs name on purpose: node_exporter's and
# postgres_exporter's that the compatibility notes map to ours or say we do not have,
# and the peers' own health families.
OTHER_PROGRAMS_METRICS = {
    # node_exporter 1.5 families of shared collectors that this exporter does not emit
    # (docs/compatibility.md, docs/metrics.md), and node_exporter's own
    "node_network_address_assign_type", "node_network_receive_nohandler_total",
    "node_disk_info", "node_time_clocksource_available_info",
    "node_time_clocksource_current_info", "node_exporter_build_info",
    "node_scrape_collector_duration_seconds", "node_scrape_collector_success",
    # the node-mixin alerts' metrics, of node_exporter collectors this exporter lacks
    "node_nf_conntrack_entries", "node_nf_conntrack_entries_limit",
    "node_textfile_scrape_error", "node_timex_offset_seconds", "node_timex_sync_status",
    "node_timex_maxerror_seconds", "node_md_disks_required", "node_md_disks",
    "node_systemd_unit_state", "node_systemd_service_restart_total", "node_bonding_slaves",
    "node_bonding_active", "node_hwmon_temp_celsius",
    # postgres_exporter 0.11's default families this exporter does not have
    "pg_database_size_bytes", "pg_locks_count", "pg_stat_activity_count",
    "pg_stat_activity_max_tx_duration",
}


def recording_rules(repo):
    names = set()
    for path in glob.glob(os.path.join(repo, "rules", "*.yml")):
        for line in open(path, encoding="utf-8"):
            match = re.match(r"\s*-?\s*record:\s*['\"]?([A-Za-z0-9_:]+)", line)
            if match:
                names.add(match.group(1))
    return names


def documented(rows, name):
    if row_for(rows, name):
        return True
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            row = row_for(rows, name[:-len(suffix)])
            if row and row.type in ("histogram", "summary"):
                return True
    return False


def main(repo):
    rows, _, _, doc_problems = parse_doc(os.path.join(repo, "docs", "metrics.md"))
    records = recording_rules(repo)
    problems = list(doc_problems)
    docs = [os.path.join(repo, "README.md")] + sorted(glob.glob(os.path.join(repo, "docs", "*.md")))
    checked = 0
    for path in docs:
        where = os.path.relpath(path, repo)
        for line, code in code_of(path):
            for name in NAME.findall(code):
                if name.endswith("_") or name in NOT_METRICS:
                    continue
                checked += 1
                if ":" in name:
                    if name not in records:
                        problems.append(f"{where}:{line}: no recording rule {name} in rules/*.yml")
                elif not documented(rows, name) and name not in OTHER_PROGRAMS_METRICS:
                    problems.append(f"{where}:{line}: no family {name} in docs/metrics.md")
    for p in problems:
        print(p)
    print(f"{checked} metric references in {len(docs)} documents; {len(problems)} stale",
          file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
