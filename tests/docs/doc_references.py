#!/usr/bin/python3
"""Every afp_exporter flag and repository file the user documentation names exists.

    doc_references.py REPO EXPORTER WORKLOAD

Reads the code of README.md and docs/*.md (fenced blocks and `inline spans`) and checks:
  - a command line of afp_exporter (or of its subcommands status, profile, db report,
    db optimize, web hash-password), of afp_workload or of mixin/render uses only flags
    that the command's own --help lists;
  - a flag named alone (`--probe.url`) is a flag of afp_exporter or afp_workload, unless
    it is one of the other programs' flags the docs name on purpose (OTHER_PROGRAMS_FLAGS);
  - a path into the repository (`rules/afp-alerts.yml`, `grafana/dashboards/*.json`)
    exists.
Prints each stale reference with its file and line; exits 1 if there is one.
"""
import glob
import os
import re
import subprocess
import sys

# A flag, but not the stem of a pattern such as --no-collector.<name> or --collector.NAME.
FLAG = re.compile(r"(?<![\w-])--(?:\[no-\])?[a-z][a-z0-9.-]*[a-z0-9](?![\w.-]*[A-Z<])")
# Flags of other programs that the docs quote on their own: Prometheus, Alertmanager,
# promtool, amtool and Thanos; the peers node_exporter and postgres_exporter (the
# compatibility notes); curl, systemctl, ps, du, journalctl, kubectl, docker.
OTHER_PROGRAMS_FLAGS = {
    "--config.file", "--alertmanager.url", "--web.external-url", "--storage.tsdb.path",
    "--web.enable-lifecycle", "--cluster.peer", "--query.replica-label",
    "--collector.disable-defaults", "--collector.vmstat.fields",
    "--collector.netclass.ignored-devices", "--collector.database", "--collector.bgwriter",
    "--disable-default-metrics", "--disable-settings-metrics", "--extend.query-path",
    "--cacert", "--now", "--sort", "--max-depth", "--vacuum-size", "--from-file",
    "--network", "--pid", "--name", "--grep",
}
SUBCOMMANDS = [("db", "report"), ("db", "optimize"), ("web", "hash-password"), ("status",),
               ("profile",)]


def code_of(path):
    """(line number, code text) of each fenced line and each inline span."""
    out, fenced, text_lines = [], False, []
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            out.append((number, line.rstrip("\n")))
        else:
            text_lines.append((number, line))
    # Inline spans may wrap: search paragraph by paragraph.
    paragraph, start = [], 0
    for number, line in text_lines + [(0, "\n")]:
        if line.strip():
            start = start or number
            paragraph.append(line.strip())
            continue
        for span in re.findall(r"`([^`]+)`", " ".join(paragraph)):
            out.append((start, span))
        paragraph, start = [], 0
    return out


def help_flags(argv):
    r = subprocess.run(argv + ["--help"], capture_output=True, text=True, timeout=30)
    flags = set(FLAG.findall(r.stdout + r.stderr))
    for f in list(flags):
        if f.startswith("--[no-]"):
            flags |= {"--" + f[7:], "--no-" + f[7:]}
        elif f.startswith("--collector."):
            flags.add("--no-" + f[2:])
    return flags


def workload_commands(workload):
    """The commands afp_workload's --help lists under "commands:"."""
    text = subprocess.run([workload, "--help"], capture_output=True, text=True).stdout
    block = text.split("commands:", 1)[1].split("\n\n", 1)[0]
    return [(line.split()[0],) for line in block.splitlines() if line.strip()]


def command_flags(exporter, workload, render):
    """{(program, subcommand words...): its flags}."""
    known = {("afp_exporter",): help_flags([exporter]), ("afp_workload",): help_flags([workload])}
    for sub in SUBCOMMANDS:
        known[("afp_exporter",) + sub] = help_flags([exporter, *sub])
    for sub in workload_commands(workload):
        known[("afp_workload",) + sub] = help_flags([workload, *sub])
    known[("mixin/render",)] = help_flags([render])
    return known


def invocations(code):
    """(command key, flags used) for each afp_exporter/afp_workload command line in code."""
    for segment in re.split(r"\|\||&&|[|;]", code):
        words = segment.split()
        for i, word in enumerate(words):
            program = "mixin/render" if word.endswith("mixin/render") else os.path.basename(word)
            if program not in ("afp_exporter", "afp_workload", "mixin/render"):
                continue
            rest = words[i + 1:]
            key = (program,)
            if program == "afp_exporter":
                for sub in sorted(SUBCOMMANDS, key=len, reverse=True):
                    if tuple(rest[:len(sub)]) == sub:
                        key += sub
                        break
            elif program == "afp_workload" and rest and not rest[0].startswith("-"):
                key += (rest[0],)
            yield key, FLAG.findall(" ".join(rest))
            break


def repo_paths(code, top_dirs):
    for token in re.findall(r"[\w.*-]+(?:/[\w.*{},-]+)+/?", code):
        if token.split("/")[0] in top_dirs and "example" not in token:
            yield token.rstrip("/.,")


def main(repo, exporter, workload):
    known = command_flags(exporter, workload, os.path.join(repo, "mixin", "render"))
    all_ours = set().union(*known.values())
    top_dirs = {d for d in os.listdir(repo)
                if os.path.isdir(os.path.join(repo, d)) and not d.startswith(".")
                and d != "build"}
    problems = []
    docs = [os.path.join(repo, "README.md")] + sorted(glob.glob(os.path.join(repo, "docs", "*.md")))
    checked = 0
    for path in docs:
        where = os.path.relpath(path, repo)
        for line, code in code_of(path):
            named = set()
            for key, flags in invocations(code):
                if key not in known:
                    problems.append(f"{where}:{line}: no such command: {' '.join(key)}")
                    continue
                allowed = known[key]
                for flag in flags:
                    checked += 1
                    named.add(flag)
                    if flag.split("=")[0] not in allowed:
                        problems.append(f"{where}:{line}: `{' '.join(key)}` has no flag {flag}")
            for flag in set(FLAG.findall(code)) - named:
                checked += 1
                if flag not in all_ours and flag not in OTHER_PROGRAMS_FLAGS:
                    problems.append(f"{where}:{line}: no program of the kit has the flag {flag}")
            for rel in repo_paths(code, top_dirs):
                checked += 1
                pattern = re.sub(r"\{[^}]*\}", "*", rel)
                if not glob.glob(os.path.join(repo, pattern)):
                    problems.append(f"{where}:{line}: no such file in the repository: {rel}")
    for p in problems:
        print(p)
    print(f"{checked} flag and path references in {len(docs)} documents; "
          f"{len(problems)} stale", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
