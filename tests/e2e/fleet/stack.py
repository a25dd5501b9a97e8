"""The fleet's processes: one PostgreSQL with a database per pair, two afp_workload +
afp_exporter pairs, one Prometheus scraping both exporters with the derived (shortened)
rules, one Alertmanager with the shipped routes, and the SMTP / Slack / webhook sinks.

Everything listens on 127.0.0.1 and lives in one temporary directory, laid out as
scripts/demo lays out its own (derived/, inbox/), so that the fault matrix's classes read
it unchanged. Fleet.stop() ends every process it started, by pid, and the PostgreSQL
cluster, whatever happened before.
"""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

PY = "/usr/bin/python3"  # Debian's, with python3-yaml and python3-aiosmtpd
PROBE_INTERVAL = "2s"


class StackError(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def wait_for(seconds, what, ready, alive=lambda: None):
    deadline = time.time() + seconds
    while not ready():
        alive()
        if time.time() > deadline:
            raise StackError(f"timed out after {seconds}s waiting for {what}")
        time.sleep(0.25)


class Pair:
    """One afp_workload and the afp_exporter it reports to, on a database of its own."""

    def __init__(self, name, database):
        self.name, self.database = name, database
        self.dsn_file = self.token_file = None
        self.exporter_port = self.workload_port = self.probe_port = None

    @property
    def instance(self):
        """The `instance` label Prometheus gives the exporter's series."""
        return f"127.0.0.1:{self.exporter_port}"

    @property
    def workload_url(self):
        return f"http://127.0.0.1:{self.workload_port}"


class Fleet:
    def __init__(self, repo, exporter, workload, prometheus, alertmanager, args):
        self.repo, self.args = repo, args
        self.bins = {"exporter": exporter, "workload": workload, "prometheus": prometheus,
                     "alertmanager": alertmanager}
        self.alerting = os.path.join(repo, "tests", "e2e", "alerting")
        self.dir = None
        self.procs = {}  # name -> Popen
        self.pairs = [Pair("a", "fingerprints"), Pair("b", "fingerprints_b")]
        self.pg_dir = None
        self.prom = None

    # ---- processes ----
    def spawn(self, name, argv, env=None):
        log = open(os.path.join(self.dir, f"{name}.log"), "w")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                            env=dict(os.environ, **(env or {})),
                                            start_new_session=True)
        log.close()

    def alive(self):
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise StackError(f"{name} exited ({proc.returncode}):\n{self.tail(name)}")

    def tail(self, name, lines=20):
        try:
            return "".join(open(os.path.join(self.dir, f"{name}.log")).readlines()[-lines:])
        except OSError:
            return ""

    def run(self, argv, what, **kw):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kw)
        if r.returncode != 0:
            raise StackError(f"{what} failed ({r.returncode}): {(r.stderr or r.stdout).strip()}")
        return r.stdout

    # ---- start ----
    def start(self):
        self.dir = tempfile.mkdtemp(prefix="afp-fleet.")
        os.chmod(self.dir, 0o755)
        self.start_postgres()
        self.start_sinks()
        self.derive_alerting()
        self.start_alertmanager()
        for pair in self.pairs:
            self.start_pair(pair)
        self.start_prometheus()

    def start_postgres(self):
        """One cluster; pair a uses its database `fingerprints`, pair b one more, owned by
        the same role, with pg_stat_statements as the exporter's collector wants."""
        self.pg_dir = os.path.join(self.dir, "pg")
        cluster = os.path.join(self.repo, "tests", "integration", "pg_cluster.sh")
        self.run([cluster, "start", self.pg_dir], "pg_cluster.sh start")
        admin = urllib.parse.urlsplit(open(os.path.join(self.pg_dir, "admin_dsn")).read().strip())
        dsn = open(os.path.join(self.pg_dir, "dsn")).read().strip()
        psql = shutil.which("psql") or sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))[-1]
        second = self.pairs[1].database
        # The password in the environment, not on a command line that `ps` shows.
        env = dict(os.environ, PGHOST=admin.hostname, PGPORT=str(admin.port),
                   PGUSER=admin.username, PGPASSWORD=admin.password)
        for database, sql in (("postgres", f"CREATE DATABASE {second} OWNER afp"),
                              (second, "CREATE EXTENSION pg_stat_statements")):
            self.run([psql, "-d", database, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql], sql,
                     env=env)
        for pair in self.pairs:
            pair.dsn_file = os.path.join(self.dir, f"dsn-{pair.name}")
            with open(pair.dsn_file, "w") as f:
                f.write(re.sub(r"/fingerprints$", "/" + pair.database, dsn) + "\n")
            os.chmod(pair.dsn_file, 0o600)

    def start_sinks(self):
        self.inbox = os.path.join(self.dir, "inbox")
        os.makedirs(self.inbox)
        key, cert = os.path.join(self.dir, "sink.key"), os.path.join(self.dir, "ca.pem")
        self.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                  "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                  "-keyout", key, "-out", cert], "openssl (the sinks' certificate)")
        self.smtp_password = os.urandom(12).hex()
        shipped = open(os.path.join(self.repo, "alertmanager", "alertmanager.yml")).read()
        user = re.search(r"^\s*smtp_auth_username:\s*['\"]?([^'\"\s]+)", shipped, re.M).group(1)
        self.spawn("sinks", [PY, os.path.join(self.alerting, "sinks.py"), self.inbox, cert, key,
                             user, self.smtp_password])
        ports_file = os.path.join(self.inbox, "ports")
        wait_for(15, "the sinks to listen", lambda: os.path.exists(ports_file), self.alive)
        ports = dict(kv.split("=") for kv in open(ports_file).read().split())
        self.smtp_port, self.http_port = ports["smtp"], ports["http"]

    def derive_alerting(self):
        """The shipped rules and routes, shortened as the fault matrix shortens them."""
        a = self.args
        self.run([PY, os.path.join(self.alerting, "derive.py"),
                  "--rules-dir", os.path.join(self.repo, "rules"),
                  "--alertmanager", os.path.join(self.repo, "alertmanager", "alertmanager.yml"),
                  "--out", os.path.join(self.dir, "derived"),
                  "--smtp", f"127.0.0.1:{self.smtp_port}",
                  "--slack-url", f"http://127.0.0.1:{self.http_port}/slack",
                  "--smtp-password", self.smtp_password, "--scale", str(a.scale),
                  "--for", a.max_for, "--min-window", a.min_window,
                  "--group-wait", "1s", "--group-interval", a.group_interval], "derive.py")

    def start_alertmanager(self):
        self.am_port = free_port()
        os.makedirs(os.path.join(self.dir, "alertmanager"))
        self.spawn("alertmanager", [
            self.bins["alertmanager"],
            "--config.file=" + os.path.join(self.dir, "derived", "alertmanager.yml"),
            "--storage.path=" + os.path.join(self.dir, "alertmanager"),
            f"--web.listen-address=127.0.0.1:{self.am_port}", "--cluster.listen-address=",
            f"--web.external-url=http://127.0.0.1:{self.am_port}/"],
            env={"SSL_CERT_FILE": os.path.join(self.dir, "ca.pem")})
        wait_for(30, "Alertmanager", lambda: http_ok(f"http://127.0.0.1:{self.am_port}/-/ready"),
                 self.alive)

    def start_pair(self, pair):
        """The exporter first (the workload reports to it), then the workload. The host's
        collectors stay off: both exporters run on this one host, whose CPU, memory and
        disks would page under both instances alike, which is right for a host and says
        nothing about the pairs (the fault matrix judges the host)."""
        pair.token_file = os.path.join(self.dir, f"ingest_token-{pair.name}")
        with open(pair.token_file, "w") as f:
            f.write(os.urandom(24).hex())
        os.chmod(pair.token_file, 0o600)
        pair.workload_port, pair.probe_port = free_port(), free_port()
        probe_wav = os.path.join(self.dir, "probe.wav")
        if not os.path.exists(probe_wav):
            self.run([self.bins["workload"], "synth", "--seed", "1", "--start", "10",
                      "--clip-seconds", "5", "--out", probe_wav], "afp_workload synth")
        env = {"AFP_PG_DSN_FILE": pair.dsn_file, "AFP_INGEST_TOKEN_FILE": pair.token_file}
        name = f"exporter-{pair.name}"
        self.spawn(name, [
            self.bins["exporter"], "--web.listen-address=127.0.0.1:0",
            "--collector.disable-defaults", "--collector.pipeline", "--collector.probe",
            "--collector.postgres", "--collector.pg_stat_database",
            "--collector.pg_stat_user_tables", "--collector.pg_stat_user_indexes",
            "--collector.pg_stat_statements",
            f"--probe.url=http://127.0.0.1:{pair.probe_port}/identify",
            "--probe.audio-file=" + probe_wav, "--probe.interval=" + PROBE_INTERVAL,
            "--probe.timeout=10s"], env)
        listening = re.compile(r"msg=listening .*port=(\d+)")
        wait_for(15, f"{name} to listen",
                 lambda: listening.search(self.tail(name, 200)), self.alive)
        pair.exporter_port = int(listening.search(self.tail(name, 200)).group(1))
        self.spawn(f"workload-{pair.name}", [
            self.bins["workload"], "serve", "--listen", f"127.0.0.1:{pair.workload_port}",
            "--probe-listen", f"127.0.0.1:{pair.probe_port}",
            "--report", f"http://127.0.0.1:{pair.exporter_port}",
            "--songs", str(self.args.songs), "--rate", str(self.args.rate)], env)
        wait_for(60, f"workload-{pair.name}",
                 lambda: http_ok(pair.workload_url + "/healthz"), self.alive)

    def start_prometheus(self):
        """deploy/prometheus.yml with both exporters as targets of the afp job."""
        port = free_port()
        derived = os.path.join(self.dir, "derived")
        targets = [f"--target=afp={p.instance}" for p in self.pairs]
        self.run([PY, os.path.join(self.alerting, "derive_prometheus.py"),
                  os.path.join(self.repo, "deploy", "prometheus.yml"),
                  os.path.join(derived, "prometheus.yml"),
                  "--rules", os.path.join(derived, "rules", "*.yml"),
                  "--alertmanager", f"127.0.0.1:{self.am_port}", "--interval", self.args.interval,
                  "--evaluation-interval", self.args.evaluation_interval,
                  *targets, f"--target=prometheus=127.0.0.1:{port}",
                  f"--target=alertmanager=127.0.0.1:{self.am_port}"], "derive_prometheus.py")
        os.makedirs(os.path.join(self.dir, "prometheus"))
        self.spawn("prometheus", [
            self.bins["prometheus"], "--config.file=" + os.path.join(derived, "prometheus.yml"),
            "--storage.tsdb.path=" + os.path.join(self.dir, "prometheus"),
            f"--web.listen-address=127.0.0.1:{port}"])
        self.prom = f"http://127.0.0.1:{port}"
        wait_for(30, "Prometheus", lambda: http_ok(self.prom + "/-/ready"), self.alive)

    # ---- what fault matrix's Matrix asks of a demo ----
    def fault(self, spec):
        """A fault on pair a, the one the test breaks."""
        self.run([self.bins["workload"], "fault", "--url", self.pairs[0].workload_url, spec],
                 f"afp_workload fault {spec}")

    def get(self, path, params=None):
        url = self.prom + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)["data"]

    def query(self, expr, at=None):
        params = {"query": expr}
        if at is not None:
            params["time"] = repr(at)
        return self.get("/api/v1/query", params)["result"]

    def alerts(self):
        """Alerts Prometheus has firing or pending, the heartbeat left out."""
        return [a for a in self.get("/api/v1/alerts")["alerts"]
                if a["labels"].get("alertname") != "AfpHeartbeat"]

    # ---- stop ----
    def stop(self, failed):
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                proc.terminate()
        for name, proc in self.procs.items():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if failed and self.dir:
            for name in self.procs:
                print(f"----- last lines of {name}.log\n{self.tail(name)}", flush=True)
        if self.pg_dir:
            subprocess.run([os.path.join(self.repo, "tests", "integration", "pg_cluster.sh"),
                            "stop", self.pg_dir], capture_output=True, timeout=60)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
