#!/usr/bin/python3
"""The runbook's AfpNoObservations push check works on the documented deployment.

    runbook_ingest_token.py REPO EXPORTER

The documented deployment configures an ingest token (README "Secrets": the exporter reads
/etc/afp_exporter/ingest_token), so a push without `Authorization` gets 401. This runs
the `curl` of AfpNoObservations' "Confirm" steps in docs/runbook.md, as written, against an
exporter started with a token file: `<exporter>` becomes its address and the token path a
file of this test's. It must answer what the runbook says, `{"accepted":0}`; the same
command without its Authorization header must not (so the token really is checked).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "faults"))
from runbook_confirm import PLACEHOLDER  # noqa: E402

TOKEN_PATH = "/etc/afp_exporter/ingest_token"
WANT = '{"accepted":0}'


def runbook_curl(runbook):
    """The AfpNoObservations Confirm code span that pushes to the ingest route."""
    text = open(runbook, encoding="utf-8").read()
    section = re.search(r"^## AfpNoObservations\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not section:
        sys.exit("docs/runbook.md: no section AfpNoObservations")
    confirm = section.group(1).split("**Confirm.**", 1)
    if len(confirm) != 2:
        sys.exit("docs/runbook.md: AfpNoObservations has no Confirm steps")
    steps = confirm[1].split("**Fix.**")[0]
    spans = [" ".join(s.split()) for s in re.findall(r"`([^`]+)`", steps)]
    curls = [s for s in spans if s.startswith("curl ") and "/api/v1/observations" in s]
    if len(curls) != 1:
        sys.exit("docs/runbook.md: AfpNoObservations: want one curl to the ingest route, "
                 f"got {curls}")
    return curls[0]


def start_exporter(exporter, token_file, log_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AFP_", "DATA_SOURCE_"))}
    env["AFP_INGEST_TOKEN_FILE"] = token_file
    log = open(log_path, "w")
    proc = subprocess.Popen([exporter, "--log.format=json", "--web.listen-address=127.0.0.1:0",
                             "--collector.disable-defaults", "--collector.pipeline"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                            env=env)
    for _ in range(400):
        for line in open(log_path, encoding="utf-8"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("msg") == "listening" and record.get("port"):
                return proc, int(record["port"])
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    sys.exit("the exporter did not start:\n" + open(log_path, encoding="utf-8").read())


def run(command):
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
    return (done.stdout + done.stderr).strip()


def main():
    repo, exporter = sys.argv[1], sys.argv[2]
    command = runbook_curl(os.path.join(repo, "docs", "runbook.md"))
    if TOKEN_PATH not in command:
        sys.exit(f"the runbook's push check does not send the token of {TOKEN_PATH}: {command}")
    with tempfile.TemporaryDirectory() as tmp:
        token_file = os.path.join(tmp, "ingest_token")
        with open(token_file, "w") as f:
            f.write("0123456789abcdef0123456789abcdef\n")
        proc, port = start_exporter(exporter, token_file, os.path.join(tmp, "exporter.log"))
        try:
            filled = command.replace(TOKEN_PATH, token_file)
            filled = filled.replace("<exporter>", f"127.0.0.1:{port}")
            left = PLACEHOLDER.findall(filled)
            if left:
                sys.exit(f"unfilled placeholders {left} in: {command}")
            got = run(filled)
            without = re.sub(r"""-H "Authorization: [^"]*" """, "", filled)
            if without == filled:
                sys.exit(f"no Authorization header to leave out in: {command}")
            got_without = run(without)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    failures = 0
    if got != WANT:
        print(f"FAIL the runbook's command answered {got!r}, not {WANT!r}:\n  {command}")
        failures += 1
    else:
        print(f"ok   with the token: {got}")
    if got_without == WANT:
        print(f"FAIL without its Authorization header it was accepted too: {got_without!r}")
        failures += 1
    else:
        print(f"ok   without the Authorization header: {got_without}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
