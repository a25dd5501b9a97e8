#!/usr/bin/python3
"""The Debian package's afp_exporter.service, made from deploy/afp_exporter.service so
both keep one sandbox: the same unit with a system user instead of a dynamic one (the
package owns /var/lib/afp_exporter, as Debian's prometheus-* packages own theirs), flags
from /etc/default/afp-exporter, the binary in /usr/bin, and the secrets read from files the
user's group may read, named in /etc/default/afp-exporter.

    package_unit.py DEPLOY_UNIT OUTPUT

Exits 1 naming the passage of DEPLOY_UNIT it no longer finds, so a change there cannot
slip past the package.
"""
import re
import sys

HEADER = """\
# systemd unit of the afp-exporter Debian package. Flags and secret files:
# /etc/default/afp-exporter; configuration: /etc/afp_exporter/afp_exporter.json.
# `systemctl reload afp_exporter` re-reads both files it names (SIGHUP).
"""

USER = """\
# The user: afp_exporter, a system user the package creates, owner of the state directory
# /var/lib/afp_exporter and member of the group that may read the secret files.
User=afp_exporter
Group=afp_exporter
StateDirectory=afp_exporter
"""

SECRETS = """\
# Secrets: never on the command line (ps shows it) nor in this file (world-readable).
# /etc/default/afp-exporter names them as AFP_PG_DSN_FILE and AFP_INGEST_TOKEN_FILE: files
# owned by root, group afp_exporter, mode 0640.
"""

# (what, pattern in the deploy unit, replacement)
EDITS = [
    ("the header comment", r"\A(#[^\n]*\n)+", HEADER),
    ("ExecStart", r"^ExecStart=/usr/local/bin/afp_exporter (--config\.file=\S+)$",
     r"EnvironmentFile=-/etc/default/afp-exporter\nExecStart=/usr/bin/afp_exporter \1 $ARGS"),
    ("the dynamic user", r"^# The user: a dynamic one.*?^Group=afp_exporter\n", USER),
    ("the credentials", r"^# Secrets: never on the command line.*?"
     r"^Environment=AFP_INGEST_TOKEN_FILE=%d/ingest_token\n", SECRETS),
]


def main(source, output):
    text = open(source, encoding="utf-8").read()
    for what, pattern, replacement in EDITS:
        text, n = re.subn(pattern, replacement, text, count=1, flags=re.M | re.S)
        if n != 1:
            sys.exit(f"package_unit.py: {source} has no {what} to adapt")
    for word in ("DynamicUser", "LoadCredential", "/usr/local"):
        if word in text:
            sys.exit(f"package_unit.py: {word} is left in the package's unit")
    with open(output, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
