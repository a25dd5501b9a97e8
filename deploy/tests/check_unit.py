#!/usr/bin/python3
"""The directives deploy/afp_exporter.service must keep, each with the reason.

    check_unit.py UNIT

systemd-analyze security scores the sandbox as a whole; this names what may not be lost
(or added) without breaking the exporter or leaking its secrets.
"""
import re
import sys

REQUIRED = {
    "ProtectSystem": ("strict", "the whole file system read-only"),
    "NoNewPrivileges": ("yes", "no setuid escalation"),
    "CapabilityBoundingSet": ("", "no capabilities at all"),
    "PrivateTmp": ("yes", "no shared /tmp"),
    "PrivateDevices": ("yes", "no device nodes"),
    "ProtectKernelTunables": ("yes", "/proc/sys and /sys read-only"),
    "ProtectKernelModules": ("yes", "no module loading"),
    "ProtectKernelLogs": ("yes", "no kernel log"),
    "ProtectControlGroups": ("yes", "cgroups read-only"),
    "ProtectClock": ("yes", "no clock changes"),
    "ProtectHostname": ("yes", "no hostname changes"),
    "RestrictNamespaces": ("yes", "no namespaces"),
    "RestrictRealtime": ("yes", "no realtime scheduling"),
    "RestrictSUIDSGID": ("yes", "no setuid files"),
    "LockPersonality": ("yes", "no personality changes"),
    "MemoryDenyWriteExecute": ("yes", "no writable and executable memory"),
    "SystemCallArchitectures": ("native", "no 32-bit syscall entry"),
    "UMask": ("0077", "nothing it creates is readable by others"),
    "Restart": ("on-failure", "back after a crash"),
    "LimitCORE": ("0", "no core file holding the DSN or the token"),
    # statfs("/home") under ProtectHome=yes/tmpfs reports the empty directory mounted over
    # /home, not the home file system.
    "ProtectHome": ("read-only", "/home read-only but statfs still sees its file system"),
    # The filesystem collector reads /proc/1/mounts; the system collectors /proc/stat etc.
    "ProtectProc": ("default", "/proc/1/mounts visible (invisible/noaccess hide PID 1)"),
    "ProcSubset": ("all", "/proc/stat, meminfo, diskstats, loadavg, net/dev visible"),
}
FORBIDDEN = {
    "PrivateNetwork": "netdev must see the host's interfaces and Prometheus must reach it",
    "PrivateUsers": "untested: /proc/1/mounts from a user namespace",
    "EnvironmentFile": "secrets come as credentials, not environment files",
    "PassEnvironment": "secrets come as credentials, not inherited variables",
}
SECRET_FLAGS = re.compile(r"(dsn|token|password|secret)", re.IGNORECASE)

problems = []


def parse(path):
    """[(section, key, value)] with continuation lines joined and comments dropped."""
    entries, section, pending = [], None, ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = pending + raw.rstrip("\n")
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
            elif "=" in line:
                key, value = line.split("=", 1)
                entries.append((section, key.strip(), value.strip()))
    return entries


def values(entries, key):
    return [v for s, k, v in entries if s == "Service" and k == key]


def last(entries, key):
    found = values(entries, key)
    return found[-1] if found else None


def check(ok, message):
    if not ok:
        problems.append(message)


def check_user(entries):
    user = last(entries, "User")
    dynamic = last(entries, "DynamicUser") == "yes"
    check(dynamic or user not in (None, "", "root", "0"),
          "runs as root: set DynamicUser=yes or a User= other than root")
    check(user not in ("root", "0"), "User=root")


def check_secrets(entries):
    for line in values(entries, "ExecStart") + values(entries, "ExecReload"):
        for arg in line.split():
            check(not (arg.startswith("--") and SECRET_FLAGS.search(arg.split("=")[0])
                       and "file" not in arg),
                  f"a secret on the command line: {arg}")
    env = " ".join(values(entries, "Environment"))
    for name in re.findall(r"\b(AFP_\w+)=", env):
        check(name.endswith("_FILE"), f"Environment= sets {name}: a secret in the unit file")
    credentials = {v.split(":", 1)[0]: v.split(":", 1)[1] for v in values(entries, "LoadCredential")}
    for variable, cred_id in (("AFP_PG_DSN_FILE", "pg_dsn"), ("AFP_INGEST_TOKEN_FILE", "ingest_token")):
        check(f"{variable}=%d/{cred_id}" in env, f"Environment= must set {variable}=%d/{cred_id}")
        check(cred_id in credentials, f"no LoadCredential={cred_id}:...")
    for cred_id, path in credentials.items():
        check(path.startswith("/etc/afp_exporter/"), f"credential {cred_id} not under /etc/afp_exporter")


def check_filters(entries):
    filters = values(entries, "SystemCallFilter")
    check(filters[:1] == ["@system-service"], "SystemCallFilter= must start from @system-service")
    denied = " ".join(f[1:] for f in filters if f.startswith("~")).split()
    for group in ("@privileged", "@resources"):
        check(group in denied, f"SystemCallFilter= must deny {group}")
    families = " ".join(values(entries, "RestrictAddressFamilies")).split()
    check(sorted(families) == ["AF_INET", "AF_INET6", "AF_UNIX"],
          "RestrictAddressFamilies= must be AF_INET AF_INET6 AF_UNIX")
    check(last(entries, "MemoryMax") is not None, "no MemoryMax=")
    check(last(entries, "TasksMax") is not None, "no TasksMax=")
    check(last(entries, "ExecReload") == "/bin/kill -HUP $MAINPID", "ExecReload= must send SIGHUP")


def main():
    path = sys.argv[1]
    entries = parse(path)
    for key, (want, why) in REQUIRED.items():
        got = last(entries, key)
        check(got == want, f"{key}={got if got is not None else '(unset)'}, want {want!r}: {why}")
    for key, why in FORBIDDEN.items():
        check(last(entries, key) in (None, "", "no"), f"{key}= is set: {why}")
    check_user(entries)
    check_secrets(entries)
    check_filters(entries)
    for p in problems:
        print(f"{path}: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"{path}: {len(REQUIRED)} required settings, no forbidden one, secrets as credentials")
    return 0


if __name__ == "__main__":
    sys.exit(main())
