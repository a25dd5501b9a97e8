#!/usr/bin/python3
"""Are the system calls in an `strace -f` log allowed by a unit's system call filters?

    syscall_filter.py SYSTEMD_ANALYZE UNIT STRACE_LOG

The allowed set is computed as systemd 252 builds it: the first SystemCallFilter= without
`~` starts an allow list of its groups (expanded with `systemd-analyze syscall-filter`,
recursively), later ones add, `~` ones remove, and the settings that imply a filter
(PrivateDevices, ProtectClock, ProtectKernelModules, ProtectKernelLogs, ProtectHostname)
remove theirs. A call outside it would fail with SystemCallErrorNumber= in production.
Two argument filters are checked on the decoded arguments: MemoryDenyWriteExecute= (no
mmap both writable and executable, no mprotect to executable) and RestrictNamespaces= (no
CLONE_NEW* flag, no unshare or setns). systemd makes clone3 fail with ENOSYS under
RestrictNamespaces=, and glibc then falls back to clone, which is checked.
"""
import re
import subprocess
import sys

IMPLIED_DENIALS = {
    "PrivateDevices": ["@raw-io"],
    "ProtectClock": ["@clock"],
    "ProtectKernelModules": ["@module"],
    "ProtectKernelLogs": ["syslog"],
    "ProtectHostname": ["sethostname", "setdomainname"],
}


def syscall_groups(analyze):
    """{"@group": [member, ...]} from `systemd-analyze syscall-filter`."""
    out = subprocess.run([analyze, "syscall-filter", "--no-pager"], check=True,
                         capture_output=True, text=True).stdout
    groups, current = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            current = line.strip()
            groups[current] = []
        elif current and line.strip() and not line.strip().startswith("#"):
            groups[current].append(line.strip())
    return groups


def expand(names, groups, seen=None):
    seen = set() if seen is None else seen
    calls = set()
    for name in names:
        if not name.startswith("@"):
            calls.add(name)
        elif name not in seen:
            if name not in groups:
                raise SystemExit(f"unknown syscall group {name}")
            seen.add(name)
            calls |= expand(groups[name], groups, seen)
    return calls


def service_settings(unit):
    settings = []
    with open(unit, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and line[0] not in "#;[" and "=" in line:
                key, value = line.split("=", 1)
                settings.append((key.strip(), value.strip()))
    return settings


def allowed_calls(settings, groups):
    allowed = None
    for key, value in settings:
        if key != "SystemCallFilter" or not value:
            continue
        deny = value.startswith("~")
        calls = expand(value.lstrip("~").split(), groups)
        if allowed is None:
            if deny:
                raise SystemExit("a deny-list filter: this check expects an allow list")
            allowed = calls
        elif deny:
            allowed -= calls
        else:
            allowed |= calls
    if allowed is None:
        raise SystemExit("the unit has no SystemCallFilter=")
    for key, value in settings:
        if key in IMPLIED_DENIALS and value == "yes":
            allowed -= expand(IMPLIED_DENIALS[key], groups)
    return allowed


CALL = re.compile(r"^\d+\s+([a-z0-9_]+)\((.*)$")
ARGUMENT_RULES = {
    "MemoryDenyWriteExecute": [
        (("mmap", "mmap2"), re.compile(r"PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE")),
        (("mprotect", "pkey_mprotect"), re.compile(r"PROT_EXEC")),
    ],
    "RestrictNamespaces": [
        (("clone", "clone3"), re.compile(r"CLONE_NEW")),
        (("unshare", "setns"), re.compile(r"")),
    ],
}


def used_calls(log):
    """{name: count} and the lines, from `strace -f` output ("PID name(args) = result")."""
    calls, lines = {}, []
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = CALL.match(line)
            if m:
                calls[m.group(1)] = calls.get(m.group(1), 0) + 1
                lines.append((m.group(1), m.group(2)))
    return calls, lines


def argument_violations(settings, lines):
    on = {key for key, value in settings if value == "yes"}
    found = []
    for key, rules in ARGUMENT_RULES.items():
        if key not in on:
            continue
        for names, pattern in rules:
            for name, args in lines:
                if name in names and pattern.search(args):
                    found.append(f"{key}= refuses {name}({args.strip()}")
    return found


def main():
    analyze, unit, log = sys.argv[1:4]
    settings = service_settings(unit)
    allowed = allowed_calls(settings, syscall_groups(analyze))
    used, lines = used_calls(log)
    if not used:
        print(f"{log}: no system calls recorded", file=sys.stderr)
        return 1
    denied = sorted(set(used) - allowed)
    for name in denied:
        print(f"{name} ({used[name]} calls) is not allowed by {unit}'s SystemCallFilter",
              file=sys.stderr)
    violations = argument_violations(settings, lines)
    for v in violations[:20]:
        print(v, file=sys.stderr)
    if denied or violations:
        return 1
    print(f"{len(used)} distinct system calls, {sum(used.values())} in all, every one allowed "
          f"({len(allowed)} allowed by the unit), none refused by its argument filters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
