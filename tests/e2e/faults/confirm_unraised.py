#!/usr/bin/python3
"""The runbook's first Confirm command of each alert the fault matrix never raises, run while
that alert fires on a demo (scripts/demo on free ports).

    confirm_unraised.py REPO BUILD_DIR

For each alert of unraised.yml: makes its condition true (the conditions of one phase at
the same time), waits until Prometheus has ALERTS{alertname, alertstate="firing"} with the
table's labels, runs the first command of its "Confirm" section in docs/runbook.md with that
alert's labels (runbook_confirm.Confirmer) and checks that the output matches the table's
`confirm`; then undoes the conditions, and finally waits until none of them fires any more.
Only Prometheus is judged, never the host: it runs beside other tests. Exits 1 on a failure.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from matrix import Demo, Failure, get_json, log, warm_up  # noqa: E402
from runbook_confirm import PLACEHOLDER, Confirmer  # noqa: E402

FIRE_LIMIT = 150  # seconds from a phase's start; the longest `for` is the demo's 30 s cap
SETTLE_LIMIT = 150


def demo_args():
    """The fault matrix's demo timings (matrix.py's defaults), with `for` capped at 30 s:
    AfpPostgresIndexUnused's 24 h would otherwise be the cap of 90 s."""
    return argparse.Namespace(songs=100, interval="2s", scale=0.025, max_for="30s",
                              group_interval="2s", probe_interval="2s", ignore_alert=[])


class Psql:
    """A psql session running a script of statements in the background, as the app's role."""

    def __init__(self, dsn, statements, log_path):
        self.proc = subprocess.Popen(["psql", dsn, "-qAt", "-v", "ON_ERROR_STOP=1"],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=open(log_path, "w"), text=True)
        self.writer = threading.Thread(target=self._feed, args=(statements,), daemon=True)
        self.writer.start()

    def _feed(self, statements):
        try:
            for _ in range(2000):
                self.proc.stdin.write(statements)
                self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # stopped

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def psql(dsn, sql):
    r = subprocess.run(["psql", dsn, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise Failure(f"psql {sql!r}: {r.stderr.strip()}")


class Exporter:
    """A second afp_exporter of this test's, on a port it picks itself."""

    def __init__(self, binary, flags, env, log_path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AFP_")} | env
        self.log_path = log_path
        self.proc = subprocess.Popen([binary, "--log.format=json",
                                      "--web.listen-address=127.0.0.1:0", *flags],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(log_path, "w"), env=env)
        self.address = f"127.0.0.1:{self._port()}"

    def _port(self):
        for _ in range(300):
            for line in open(self.log_path, encoding="utf-8"):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("msg") == "listening" and record.get("port"):
                    return record["port"]
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise Failure("a second exporter did not start:\n" + open(self.log_path).read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


class Conditions:
    """Each condition of unraised.yml's `raise`: start() makes it true, stop() undoes it."""

    def __init__(self, demo, tmp):
        self.demo, self.tmp = demo, tmp
        self.dsn = open(os.path.join(demo.dir, "pg", "dsn")).read().strip()
        self.admin_dsn = open(os.path.join(demo.dir, "pg", "admin_dsn")).read().strip()
        self.prom_config = os.path.join(demo.dir, "derived", "prometheus.yml")
        self.instances = {"demo": f"127.0.0.1:{demo.env['AFP_DEMO_EXPORTER_PORT']}"}
        self.running = {}  # name -> what stop() undoes
        self.targets = {}  # job -> its targets in its file
        self.discover_from_files()

    def start(self, name):
        if name not in self.running:
            self.running[name] = getattr(self, "start_" + name.replace("-", "_"))()

    def stop(self, name):
        undo = self.running.pop(name, None)
        if undo:
            undo()

    def stop_all(self):
        for name in list(self.running)[::-1]:
            try:
                self.stop(name)
            except (Failure, OSError, subprocess.SubprocessError) as e:
                log(f"     could not undo {name}: {e}")

    def start_nothing(self):
        return None

    def start_bad_pushes(self):
        """Five pushes a second that are not JSON, with the right token: reason malformed."""
        token = open(os.path.join(self.demo.dir, "ingest_token")).read().strip()
        url = f"http://{self.instances['demo']}/api/v1/observations"
        done = threading.Event()

        def push():
            while not done.wait(0.2):
                request = urllib.request.Request(
                    url, data=b'{"observations": [', method="POST",
                    headers={"Authorization": f"Bearer {token}",
                             "Content-Type": "application/json"})
                try:
                    urllib.request.urlopen(request, timeout=5).read()
                except (urllib.error.URLError, OSError):
                    pass  # the 400 is the point

        threading.Thread(target=push, daemon=True).start()
        return done.set

    def start_slow_fingerprint(self):
        self.demo.fault("slow-fingerprint")
        return lambda: self.demo.fault("clear")

    def start_unused_index(self):
        psql(self.admin_dsn, "CREATE INDEX afp_confirm_unused ON fingerprints (date_modified)")
        return lambda: psql(self.admin_dsn, "DROP INDEX IF EXISTS afp_confirm_unused")

    def start_slow_statement(self):
        session = Psql(self.dsn, "SELECT pg_sleep(1.5);\n", os.path.join(self.tmp, "slow.log"))
        return session.stop

    def start_cold_reads(self):
        """A table over a quarter of shared_buffers (128 MB) is scanned through a ring of 256
        kB: most blocks are reads, not hits. The pause is a statement of its own, so that it
        does not join pg_sleep(1.5)'s mean."""
        psql(self.dsn, "CREATE TABLE afp_confirm_cold AS SELECT g AS id, repeat('x', 500) AS pad"
                       " FROM generate_series(1, 120000) g")
        # Frozen, the scans dirty no page (hint bits): a dirty page in the ring would be
        # passed over for a buffer of the pool, and the table would end up cached.
        psql(self.dsn, "VACUUM FREEZE afp_confirm_cold")
        session = Psql(self.dsn, "SELECT count(*) FROM afp_confirm_cold;\n"
                                 "SELECT 'pause', pg_sleep(0.3);\n",
                       os.path.join(self.tmp, "cold.log"))

        def undo():
            session.stop()
            psql(self.dsn, "DROP TABLE IF EXISTS afp_confirm_cold")

        return undo

    def start_second_exporter(self):
        """An exporter that probes the app as the demo's does, and to which nothing is pushed:
        the app reporting to another exporter. (The demo's own workload cannot stop pushing
        and still answer the probe.)"""
        exporter = Exporter(
            self.demo.state["exporter_bin"],
            ["--collector.disable-defaults", "--collector.pipeline", "--collector.probe",
             f"--probe.url=http://127.0.0.1:{self.demo.state['probe_port']}/identify",
             f"--probe.audio-file={os.path.join(self.demo.dir, 'probe.wav')}",
             "--probe.interval=2s", "--probe.timeout=10s"],
            {"AFP_INGEST_TOKEN_FILE": os.path.join(self.demo.dir, "ingest_token")},
            os.path.join(self.tmp, "second.log"))
        self.instances["second"] = exporter.address
        return self.scraped("afp", exporter)

    def start_hung_postgres(self):
        """An exporter whose PostgreSQL accepts the connection and never answers, in the job
        afp-hung (labelled job="afp"), scraped every 20 s with a 1 s timeout: each scrape's
        deadline passes before the collection (connect timeout 5 s) ends, and the
        collection's late result is older than its 9 s budget by the next scrape, so no
        scrape has pg_up. At the demo's 2 s interval the next scrape would take the late
        result (pg_up 0), and the alert's condition would come and go."""
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # never accepted: the kernel completes the handshake, nobody speaks
        dsn_file = os.path.join(self.tmp, "hung_dsn")
        with open(os.open(dsn_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(f"postgresql://afp:unused@127.0.0.1:{silent.getsockname()[1]}/fingerprints\n")
        exporter = Exporter(
            self.demo.state["exporter_bin"],
            ["--collector.disable-defaults", "--collector.postgres",
             "--collector.pg_stat_database"],
            {"AFP_PG_DSN_FILE": dsn_file}, os.path.join(self.tmp, "hung.log"))
        self.instances["hung"] = exporter.address
        undo = self.scraped("afp-hung", exporter)

        def both():
            undo()
            silent.close()

        return both

    def start_job_gone(self):
        """The demo's exporter gone from the job's discovered targets."""
        self.set_targets("afp", [])
        return lambda: self.set_targets("afp", [self.instances["demo"]])

    def scraped(self, job, exporter):
        """Adds exporter to job's targets; undone: removed, then stopped."""
        self.set_targets(job, self.targets[job] + [exporter.address])

        def undo():
            self.set_targets(job, [t for t in self.targets[job] if t != exporter.address])
            exporter.stop()

        return undo

    def discover_from_files(self):
        """Once, before any condition: the demo's job afp finds its targets in a file instead
        of static_configs (the shipped configuration's alternative), and a job afp-hung waits
        with none. Targets that leave a file are marked stale at once; targets that leave
        with a reload are not (Prometheus 2.42), and would linger for 5 minutes."""
        config = yaml.safe_load(open(self.prom_config))
        jobs = config["scrape_configs"]
        afp = next(j for j in jobs if j["job_name"] == "afp")
        afp.pop("static_configs")
        afp["file_sd_configs"] = [{"files": [self.sd_file("afp")], "refresh_interval": "2s"}]
        jobs.append({"job_name": "afp-hung", "scrape_interval": "20s", "scrape_timeout": "1s",
                     "file_sd_configs": [{"files": [self.sd_file("afp-hung")],
                                          "refresh_interval": "2s"}],
                     "relabel_configs": [{"target_label": "job", "replacement": "afp"}]})
        self.set_targets("afp", [self.instances["demo"]], wait=False)
        self.set_targets("afp-hung", [], wait=False)
        with open(self.prom_config, "w") as f:
            yaml.safe_dump(config, f, sort_keys=False)
        before = get_json(self.demo.prom + "/api/v1/status/runtimeinfo")["data"]["lastConfigTime"]
        os.kill(int(self.demo.state["pid_prometheus"]), signal.SIGHUP)
        self.until(lambda: get_json(self.demo.prom + "/api/v1/status/runtimeinfo")["data"]
                   ["lastConfigTime"] != before, "Prometheus to reload its configuration")
        if not get_json(self.demo.prom + "/api/v1/status/runtimeinfo")["data"]["reloadConfigSuccess"]:
            raise Failure("Prometheus refused the configuration with file discovery")
        self.until(lambda: self.scraping("afp") == {self.instances["demo"]},
                   "Prometheus to find the demo's exporter in its file")

    def sd_file(self, job):
        return os.path.join(self.tmp, f"targets-{job}.json")

    def set_targets(self, job, targets, wait=True):
        self.targets[job] = targets
        path = self.sd_file(job)
        with open(path + ".new", "w") as f:
            json.dump([{"targets": targets}] if targets else [], f)
        os.rename(path + ".new", path)
        if wait:
            self.until(lambda: self.scraping(job) == set(targets),
                       f"Prometheus to scrape {sorted(targets)} in job {job}")

    def scraping(self, job):
        targets = get_json(self.demo.prom + "/api/v1/targets", {"state": "active"})["data"]
        return {t["discoveredLabels"]["__address__"] for t in targets["activeTargets"]
                if t["scrapePool"] == job}

    @staticmethod
    def until(check, what, limit=30):
        deadline = time.time() + limit
        while not check():
            if time.time() > deadline:
                raise Failure(f"timed out after {limit}s waiting for {what}")
            time.sleep(0.5)


def firing(demo, alert, want):
    """The labels of a firing series of alert with every label of want, or None."""
    for a in get_json(demo.prom + "/api/v1/alerts")["data"]["alerts"]:
        labels = a["labels"]
        if labels.get("alertname") == alert and a["state"] == "firing" and \
                all(labels.get(k) == v for k, v in want.items()):
            return labels
    return None


def expected(pattern, labels):
    """The table's regex with each <label> replaced by that label's value, escaped."""
    return PLACEHOLDER.sub(lambda m: re.escape(labels[m.group(1)]), pattern)


def confirm(confirmer, row, labels):
    try:
        command, output = confirmer.run(row["alert"], labels)
    except (KeyError, OSError, subprocess.TimeoutExpired) as e:
        raise Failure(f"{row['alert']}: the runbook's first Confirm command: {e}")
    pattern = expected(row["confirm"], labels)
    match = re.search(pattern, output, re.M)
    if not match:
        raise Failure(f"{row['alert']}: the runbook's first Confirm command does not show the "
                      f"problem (no match for /{pattern}/):\n$ {command}\n{output[-4000:]}")
    shown = output[output.rfind("\n", 0, match.end() - 1) + 1:].split("\n", 1)[0]
    log(f"ok   {row['alert']}: {command}\n       {shown}")


def run_phase(demo, conditions, confirmer, rows):
    """Raises the rows' conditions together; confirms each alert as soon as it fires."""
    for name in dict.fromkeys(r["raise"] for r in rows):
        log(f"raise {name}")
        conditions.start(name)
    waiting, failed, start = list(rows), [], time.time()
    while waiting and time.time() - start < FIRE_LIMIT:
        demo.alive()
        for row in list(waiting):
            want = {k: conditions.instances.get(v, v) if k == "instance" else v
                    for k, v in (row.get("labels") or {}).items()}
            labels = firing(demo, row["alert"], want)
            if labels is None:
                continue
            waiting.remove(row)
            log(f"     {row['alert']} fires {time.time() - start:.0f}s after the phase began")
            try:
                confirm(confirmer, row, labels)
            except Failure as e:
                log(f"FAIL {e}")
                failed.append(row["alert"])
        time.sleep(1)
    for row in waiting:
        log(f"FAIL {row['alert']}: not firing {FIRE_LIMIT}s after its condition "
            f"({row['how']}) began")
        failed.append(row["alert"])
    for name in list(conditions.running)[::-1]:
        log(f"undo  {name}")
        conditions.stop(name)
    return failed


def settle(demo, names):
    """After every undo, none of the alerts fires any more (the heartbeat aside)."""
    deadline = time.time() + SETTLE_LIMIT
    while True:
        left = sorted({a["labels"]["alertname"] for a in
                       get_json(demo.prom + "/api/v1/alerts")["data"]["alerts"]
                       if a["labels"]["alertname"] in names})
        if not left:
            log("ok   every condition undone: none of them fires")
            return
        if time.time() > deadline:
            raise Failure(f"still firing or pending {SETTLE_LIMIT}s after the undo: {left}")
        time.sleep(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("repo")
    p.add_argument("build")
    a = p.parse_args()
    rows = yaml.safe_load(open(os.path.join(HERE, "unraised.yml")))["unraised"]
    for row in rows:
        if not hasattr(Conditions, "start_" + row["raise"].replace("-", "_")):
            p.error(f"unraised.yml: {row['alert']}: no condition {row['raise']}")

    # A test runner's SIGTERM (a timeout) must still stop the demo, in the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = tempfile.mkdtemp(prefix="afp-unraised.")
    demo = Demo(os.path.abspath(a.repo), os.path.abspath(a.build), tmp, demo_args())
    conditions, failed, started = None, [], time.time()
    try:
        log("starting scripts/demo")
        demo.start()
        log(f"demo up in {time.time() - started:.0f}s; warming up")
        warm_up(demo)
        confirmer = Confirmer(os.path.join(demo.repo, "docs", "runbook.md"), demo,
                              demo.state["exporter_bin"], demo.state["probe_port"])
        conditions = Conditions(demo, tmp)
        for phase in sorted({r["phase"] for r in rows}):
            log(f"phase {phase}")
            failed += run_phase(demo, conditions, confirmer, [r for r in rows if r["phase"] == phase])
        settle(demo, {r["alert"] for r in rows} - {"AfpHeartbeat"})
    except Failure as e:
        log(f"FAIL {e}")
        failed.append("(the demo)")
    finally:
        if conditions:
            conditions.stop_all()
        demo.stop()
        subprocess.run(["rm", "-rf", tmp])
    log(f"{len(rows) - len(set(failed) & {r['alert'] for r in rows})} of {len(rows)} alerts "
        f"confirmed in {time.time() - started:.0f}s" +
        (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
