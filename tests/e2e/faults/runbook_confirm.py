"""The first command of each alert's "Confirm" section in docs/runbook.md, run against the demo.

The fault matrix runs it while the alert fires and checks that its output shows the
problem (matrix.yml's `confirm`), so the runbook's first step cannot rot: a renamed row of
`status`, a flag that no longer exists or PromQL over a series that is gone fails the test.

A command is the first code span of the first bullet under **Confirm.** It is a shell
command when it starts with a program (afp_exporter, curl, journalctl, ...); anything else is
PromQL, sent to the demo's Prometheus. Placeholders in angle brackets are filled from the
alert's labels (`<instance>`, `<mountpoint>`, ...) and from the demo (`<identify URL>`,
`<reference.wav>`, `<exporter>`); one left unfilled is an error, not a guess.

The demo runs its rules on a shortened timeline (AFP_DEMO_SCALE): PromQL ranges and offsets
of 15 minutes or less are shortened the same way as the demo's rules (derive.py's
scale_expr), so that `increase(x[10m])` looks at the stretch the demo's alert judged.
"""
import math
import os
import re
import shlex
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "alerting"))
from derive import scale_expr, seconds  # noqa: E402  (the demo's rules are shortened so)

PROGRAMS = ("afp_exporter", "curl", "journalctl", "systemctl", "psql", "amtool", "promtool",
            "df", "free", "top", "pg_isready")
PLACEHOLDER = re.compile(r"<([A-Za-z][\w. ]*)>")


def first_commands(runbook_path):
    """{alert name: its first Confirm command}, whitespace of wrapped lines collapsed."""
    commands = {}
    text = open(runbook_path).read()
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        name = section.split("\n", 1)[0].strip()
        confirm = re.search(r"^\*\*Confirm\.\*\*\s*\n- (.*?)(?=\n- |\n\n|\Z)", section,
                            re.S | re.M)
        if not confirm:
            continue
        code = re.search(r"`([^`]+)`", confirm.group(1))
        if code:
            commands[name] = " ".join(code.group(1).split())
    return commands


def is_shell(command):
    return command.split()[0] in PROGRAMS


def fill(command, values):
    def one(m):
        key = m.group(1)
        if key not in values:
            raise KeyError(f"the demo has no value for <{key}> in `{command}`")
        return values[key]

    return PLACEHOLDER.sub(one, command)


class Confirmer:
    """Runs first Confirm commands as an operator of the demo would."""

    def __init__(self, runbook_path, demo, exporter_bin, probe_port):
        self.commands = first_commands(runbook_path)
        self.demo = demo
        self.demo_values = {
            "exporter": f"127.0.0.1:{demo.env['AFP_DEMO_EXPORTER_PORT']}",
            "identify URL": f"http://127.0.0.1:{probe_port}/identify",
            "reference.wav": os.path.join(demo.dir, "probe.wav"),
        }
        # `afp_exporter` on PATH is the build's, as after installing the package; in the
        # matrix's directory, which it removes when it ends.
        self.bin_dir = tempfile.mkdtemp(prefix="afp-confirm.", dir=demo.tmp)
        os.symlink(exporter_bin, os.path.join(self.bin_dir, "afp_exporter"))
        self.env = dict(os.environ, PATH=self.bin_dir + os.pathsep + os.environ["PATH"],
                        AFP_PG_DSN_FILE=os.path.join(demo.dir, "pg", "dsn"))
        # scripts/demo's defaults, and its shortest window: four evaluation intervals.
        self.scale = float(demo.env.get("AFP_DEMO_SCALE", "0.1"))
        self.min_window = 4 * seconds(demo.env.get("AFP_DEMO_INTERVAL", "5s"))

    def command_for(self, alert, labels):
        if alert not in self.commands:
            raise KeyError(f"docs/runbook.md has no Confirm command for {alert}")
        return fill(self.commands[alert], {**labels, **self.demo_values})

    def run(self, alert, labels):
        """(the command as run, its output: stdout and stderr, or PromQL's result lines)."""
        command = self.command_for(alert, labels)
        if not is_shell(command):
            return scale_expr(command, self.scale, self.min_window), self.promql(command)
        argv = shlex.split(command)
        # The demo listens on a free port, not status's default 9793.
        if argv[:2] == ["afp_exporter", "status"] and "--url" not in argv:
            argv += ["--url", f"http://{self.demo_values['exporter']}/metrics"]
        # ...and its AfpPostgresCacheHitLow waits the scaled 15 minutes after PostgreSQL's
        # start, as scripts/demo status does; status and db report are told so.
        judges_cache = argv[:2] in (["afp_exporter", "status"], ["afp_exporter", "db"])
        if judges_cache and "--pg.cache-settle" not in argv:
            argv += ["--pg.cache-settle", f"{math.ceil(900 * self.scale)}s"]
        r = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=120)
        return shlex.join(argv), f"{r.stdout}{r.stderr}(exit {r.returncode})\n"

    def promql(self, expr):
        return promql_result(self.demo.query, scale_expr(expr, self.scale, self.min_window))


def promql_result(query, expr):
    """expr's instant vector as text, one `{labels} value` line per series.

    query: expr -> the result list of Prometheus' /api/v1/query (the demo's, or any other).
    """
    lines = []
    for series in query(expr):
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(series["metric"].items()))
        lines.append(f"{{{labels}}} {series['value'][1]}")
    return "\n".join(lines) + "\n" if lines else "(empty result)\n"
