#!/usr/bin/python3
"""One path and one permission rule per secret, used everywhere.

    secret_files.py REPO

The README's "Secrets" table gives each secret file its path, owner:group and mode. This
checks every text file of the repository that users read or install (README.md, docs/,
deploy/, alertmanager/, packaging/, compose.yaml, Dockerfile):
  - a file under a `secrets/` directory of /etc (Prometheus', Alertmanager's) is one of the
    table's, or one of the few OTHER_SECRETS that are named only as examples of what a site
    may add (deploy/kubernetes/ is left out: its paths are inside the pod);
  - a line that names one of the table's files and states a mode (`0640`, `-m 0600`) or a
    group (`-g G`, `group G`, `root:G`, `chgrp G`) states one the table gives that file.
A table cell may give a second rule in parentheses, for the Debian package's unit, which
reads the files itself; any rule the table does not give fails.
Prints each disagreement with its file and line; exits 1 if there is one.
"""
import os
import re
import sys

# Secrets the docs name only as an example of what a site may add (prometheus.yml's
# commented remote_write), never as part of the kit.
OTHER_SECRETS = {"/etc/prometheus/secrets/remote_write_password"}

READ = ["README.md", "compose.yaml", "Dockerfile"]
TREES = ["docs", "deploy", "alertmanager", "packaging"]
SKIP_DIRS = {"tests", "__pycache__"}  # the tests' own inputs name made-up paths on purpose
# Paths inside a container, where a Kubernetes Secret is mounted: not the host's files.
CONTAINER_TREES = ("deploy/kubernetes/",)

SECRET_DIR_PATH = re.compile(r"/etc/[\w.-]+/secrets/[\w.-]+")
MODE = re.compile(r"(?<![\w.])0[0-7]{3}\b")
GROUP = re.compile(r"(?:-g |group |chgrp |root:)([a-z_][\w-]*)")


def table(readme):
    """{path: (modes, groups)} from the README's Secrets table."""
    text = open(readme, encoding="utf-8").read()
    section = text.split("\n### Secrets\n", 1)
    if len(section) != 2:
        sys.exit("README.md: no section \"### Secrets\"")
    rules = {}
    for line in section[1].splitlines():
        if line.startswith("#"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3:
            continue
        path = re.fullmatch(r"`(/etc/[^`]+)`", cells[1])
        if not path:
            continue
        modes = set(MODE.findall(cells[2]))
        groups = set(re.findall(r"\w+:([a-z_][\w-]*)", cells[2]))
        if not modes or not groups:
            sys.exit(f"README.md Secrets table: {path.group(1)}: no owner:group and mode")
        rules[path.group(1)] = (modes, groups)
    if not rules:
        sys.exit("README.md: the Secrets table has no rows")
    return rules


def files(repo):
    for name in READ:
        if os.path.exists(os.path.join(repo, name)):
            yield name
    for tree in TREES:
        for root, dirs, names in os.walk(os.path.join(repo, tree)):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for name in sorted(names):
                yield os.path.relpath(os.path.join(root, name), repo)


def main():
    repo = sys.argv[1]
    rules = table(os.path.join(repo, "README.md"))
    problems = []
    for rel in files(repo):
        try:
            lines = open(os.path.join(repo, rel), encoding="utf-8").read().splitlines()
        except (UnicodeDecodeError, IsADirectoryError):
            continue
        for number, line in enumerate(lines, 1):
            where = f"{rel}:{number}"
            for path in SECRET_DIR_PATH.findall(line):
                if rel.startswith(CONTAINER_TREES):
                    continue
                if path not in rules and path not in OTHER_SECRETS:
                    problems.append(f"{where}: {path} is not in the README's Secrets table")
            named = [p for p in rules if re.search(re.escape(p) + r"(?![\w.-])", line)]
            if not named or (rel == "README.md" and line.startswith("|")):
                continue
            for path in named:
                modes, groups = rules[path]
                for mode in MODE.findall(line):
                    if mode not in modes:
                        problems.append(f"{where}: {path} with mode {mode}; the README's "
                                        f"Secrets table gives {', '.join(sorted(modes))}")
                for group in GROUP.findall(line):
                    if group not in groups:
                        problems.append(f"{where}: {path} with group {group}; the README's "
                                        f"Secrets table gives {', '.join(sorted(groups))}")
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"{len(rules)} secret files, one path and one rule each, everywhere")
    return 0


if __name__ == "__main__":
    sys.exit(main())
