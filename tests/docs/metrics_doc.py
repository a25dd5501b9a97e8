#!/usr/bin/python3
"""docs/metrics.md lists every metric family the exporter emits, and only those.

    metrics_doc.py REPO EXPORTER PG_CLUSTER_DIR WORKLOAD

PG_CLUSTER_DIR is the test cluster of tests/integration/pg_cluster.sh (CTest fixture "pg");
the test works in a database of its own there (Dejavu's schema from WORKLOAD, afp_workload
init; a few rows and statements) and drops it at the end.

Runs the real exporter with every collector on: the DSN of that database,
--pg.statements.include-query, a probe of a stand-in for the app served by this script
(it answers with a Server-Timing header), and one pushed observation of each pipeline
kind, so that every labelled family has series. It scrapes /metrics once the output is
settled, and checks against the family tables of docs/metrics.md:
  - every family with samples has a row, with the same type and label names (a row may
    name a set of families, `node_memory_<Field>_bytes`);
  - every row is emitted, unless the doc's "Families not every host has" lists it;
  - every family is emitted by the collector whose section holds its row: the exporter runs
    once more per collector, that collector alone (--collector.disable-defaults);
  - the doc's collector table has exactly the collectors of `afp_exporter --help`, with
    their defaults.
Prints every difference, naming the family; exits 1 if there is one.
"""
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
FAMILY_ROW = re.compile(r"^\| `([A-Za-z_:<>][A-Za-z0-9_:<>]*)` \| (" + "|".join(TYPES) +
                        r") \| ([^|]*) \|")
ALLOWANCE_HEADING = "## Families not every host has"
# A placeholder in a row's name: a field name the kernel decides.
PLACEHOLDER = re.compile(r"<[A-Za-z]+>")
SETTLE_SECONDS = 20
# Everything here is on 127.0.0.1: no proxy from the environment may stand in between.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))

OBSERVATIONS = {"observations": [
    {"metric": "fingerprint_generation", "seconds": 1.84},
    {"metric": "api_request", "seconds": 2.31,
     "labels": {"endpoint": "/identify", "method": "POST", "status": "200"}},
    {"metric": "db_query", "seconds": 0.041, "labels": {"operation": "lookup"}},
    {"metric": "identification", "labels": {"result": "match"}},
    {"metric": "audio_processed", "seconds": 10.0},
    {"metric": "fingerprint_hashes", "count": 4919},
]}


class Row:
    def __init__(self, name, type_, labels, collector, line):
        self.name, self.type, self.labels = name, type_, labels
        self.collector, self.line = collector, line
        literal = PLACEHOLDER.split(name)
        self.literal_length = sum(len(part) for part in literal)
        self.pattern = re.compile("[A-Za-z0-9_]+".join(re.escape(p) for p in literal) + "$")


def parse_doc(path):
    """(rows, collector defaults, allowed-missing names, problems) of docs/metrics.md."""
    rows, defaults, allowed, problems = [], {}, set(), []
    section, collector = None, None
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        if line.startswith("## "):
            section, collector = line.strip(), None
            continue
        if line.startswith("### "):
            match = re.match(r"### `([a-z_]+)`", line)
            collector = match.group(1) if match else None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if section == "## Collectors" and re.fullmatch(r"`[a-z_]+`", cells[0]):
            defaults[cells[0].strip("`")] = cells[1] == "yes"
            continue
        if section == ALLOWANCE_HEADING and re.fullmatch(r"`[A-Za-z0-9_]+`", cells[0]):
            allowed.add(cells[0].strip("`"))
            continue
        match = FAMILY_ROW.match(line)
        if not match:
            continue
        name, type_, labels = match.groups()
        label_set = set(re.findall(r"`([a-z_]+)`", labels))
        if not label_set and labels.strip() != "—":
            problems.append(f"docs/metrics.md:{number}: {name}: labels must be `name`s or —")
        if any(r.name == name for r in rows):
            problems.append(f"docs/metrics.md:{number}: {name} has a second row")
        rows.append(Row(name, type_, label_set, collector, number))
    for name in sorted(allowed - {r.name for r in rows}):
        problems.append(f"docs/metrics.md: {name} is allowed to be missing but has no row")
    return rows, defaults, allowed, problems


def row_for(rows, family):
    """The row that documents a family: its own, else the most specific pattern."""
    exact = [r for r in rows if r.name == family]
    if exact:
        return exact[0]
    patterns = [r for r in rows if PLACEHOLDER.search(r.name) and r.pattern.match(family)]
    return max(patterns, key=lambda r: r.literal_length, default=None)


def label_names(text):
    """The label names of a sample's `{...}` part, whose values may hold any escaped text."""
    names, i = [], 0
    while i < len(text) and text[i] != "}":
        eq = text.index("=", i)
        names.append(text[i:eq].strip(" ,"))
        i = eq + 2  # past ="
        while text[i] != '"':
            i += 2 if text[i] == "\\" else 1
        i += 1
        while i < len(text) and text[i] in ", ":
            i += 1
    return names


def parse_scrape(text):
    """{family: (type, label names, samples)} of the families that have samples."""
    families, current = {}, None
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, type_ = line.split(" ", 3)
            current = name
            families[name] = (type_, set(), 0)
            continue
        if not line or line.startswith("#"):
            continue
        name = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0)
        if current is None or not name.startswith(current):
            raise ValueError(f"sample outside its family: {line[:80]}")
        type_, labels, samples = families[current]
        if line[len(name):].startswith("{"):
            labels |= set(label_names(line[len(name) + 1:])) - {"le"}
        families[current] = (type_, labels, samples + 1)
    return {k: v for k, v in families.items() if v[2] > 0}


def help_collectors(exporter):
    """{collector: on by default} from afp_exporter --help."""
    text = subprocess.run([exporter, "--help"], capture_output=True, text=True,
                          timeout=30).stdout.splitlines()
    out = {}
    for flag, description in zip(text, text[1:] + [""]):
        match = re.match(r"\s+--\[no-\]collector\.([a-z_]+)$", flag)
        default = re.search(r"\(default: (on|off)\)$", description)
        if match and default:
            out[match.group(1)] = default.group(1) == "on"
    return out


class App(http.server.BaseHTTPRequestHandler):
    """A stand-in for the app's identify endpoint: what the probe needs of it."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Server-Timing", "decode;dur=12, fingerprint;dur=230, db;dur=41")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"match": true}')

    def log_message(self, *args):
        pass


def psql(dsn, sql):
    subprocess.run(["psql", dsn, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True,
                   capture_output=True, text=True, timeout=60)


class Setting:
    """What the exporter needs around it, all on 127.0.0.1, removed on leaving the block: a
    database of this test's own in the test cluster with what every PostgreSQL family
    reports on, a stand-in app for the probe, and the reference audio."""

    def __init__(self, cluster, workload):
        def read(name):
            with open(os.path.join(cluster, name), encoding="utf-8") as f:
                return f.read().strip()
        self.admin, self.app_dsn = read("admin_dsn"), read("dsn")
        self.database = f"afp_metrics_doc_{os.getpid()}"
        self.admin_postgres = self.admin.rsplit("/", 1)[0] + "/postgres"
        self.workload = workload

    def __enter__(self):
        self.workdir = tempfile.mkdtemp(prefix="afp-metrics-doc.")
        self.app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), App)
        threading.Thread(target=self.app.serve_forever, daemon=True).start()
        try:
            self.dsn_file = self.create_database()
            self.audio = os.path.join(self.workdir, "probe.wav")
            with open(self.audio, "wb") as f:
                f.write(os.urandom(4096))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        self.app.shutdown()
        try:
            psql(self.admin_postgres, f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
        except subprocess.CalledProcessError as e:
            print(f"could not drop {self.database}: {e.stderr}", file=sys.stderr)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def create_database(self):
        psql(self.admin_postgres, f"CREATE DATABASE {self.database} OWNER afp")
        psql(self.admin.rsplit("/", 1)[0] + "/" + self.database,
             "CREATE EXTENSION pg_stat_statements")
        dsn = self.app_dsn.rsplit("/", 1)[0] + "/" + self.database
        # The reference service's own schema: songs, fingerprints and the hash index.
        subprocess.run([self.workload, "init"], check=True, capture_output=True, text=True,
                       timeout=60, env={"AFP_PG_DSN": dsn, "PATH": "/usr/bin:/bin"})
        psql(dsn, "INSERT INTO songs (song_name) "
                  "SELECT 'song ' || g FROM generate_series(1, 10) g; "
                  "INSERT INTO fingerprints (hash, song_id, \"offset\") "
                  "SELECT decode(md5(g::text), 'hex'), 1 + g % 10, g "
                  "FROM generate_series(1, 1000) g; ANALYZE songs, fingerprints; "
                  "SELECT song_id FROM fingerprints WHERE hash IN (decode(md5('1'), 'hex'))")
        dsn_file = os.path.join(self.workdir, "dsn")
        with open(dsn_file, "w", encoding="utf-8") as f:
            f.write(dsn + "\n")
        return dsn_file

    def environment(self):
        """The caller's environment without DSNs, tokens or proxies, with this DSN file."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AFP_", "DATA_SOURCE_"))
               and not k.lower().endswith("_proxy")}
        env["AFP_PG_DSN_FILE"] = self.dsn_file
        return env

    def flags(self):
        return ["--pg.statements.include-query",
                f"--probe.url=http://127.0.0.1:{self.app.server_address[1]}/identify",
                f"--probe.audio-file={self.audio}", "--probe.interval=1s", "--probe.timeout=5s"]


class Exporter:
    """The exporter on a free port of 127.0.0.1, stopped on leaving the block."""

    def __init__(self, exporter, flags, env, workdir, name):
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.argv = [exporter, "--web.listen-address=127.0.0.1:0"] + flags
        self.env, self.proc, self.port = env, None, None

    def __enter__(self):
        self.log = open(self.log_path, "w+", encoding="utf-8")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=self.log)
        for _ in range(200):
            match = re.search(r"msg=listening .*port=(\d+)", open(self.log_path).read())
            if match:
                self.port = int(match.group(1))
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"the exporter did not start:\n{open(self.log_path).read()}")

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def push(self):
        request = urllib.request.Request(self.url("/api/v1/observations"),
                                         json.dumps(OBSERVATIONS).encode(),
                                         {"Content-Type": "application/json"})
        with HTTP.open(request, timeout=10) as answer:
            accepted = json.load(answer).get("accepted")
        if accepted != len(OBSERVATIONS["observations"]):
            raise RuntimeError(f"the exporter accepted {accepted} observations")

    def settled_scrape(self, wait_for):
        """The families once two scrapes in a row agree and `wait_for` are all there."""
        previous, deadline = None, time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            with HTTP.open(self.url("/metrics"), timeout=30) as answer:
                families = parse_scrape(answer.read().decode("utf-8"))
            # Sample counts may still move (statements, probe stages); the families not.
            shape = {name: (type_, labels) for name, (type_, labels, _) in families.items()}
            if shape == previous and wait_for <= families.keys():
                return families
            previous = shape
            time.sleep(0.2)
        raise RuntimeError(f"the scrape did not settle within {SETTLE_SECONDS} s "
                           f"(waiting for {sorted(wait_for - (previous or {}).keys())})")


def compare(rows, allowed, families, problems):
    """Every family documented with its type and labels, every row emitted."""
    matched = set()
    for name, (type_, labels, _) in sorted(families.items()):
        row = row_for(rows, name)
        if row is None:
            problems.append(f"{name} ({type_}) is emitted but has no row in docs/metrics.md")
            continue
        matched.add(row.name)
        if row.type != type_:
            problems.append(f"{name}: emitted as {type_}, docs/metrics.md:{row.line} says "
                            f"{row.type}")
        if row.labels != labels:
            problems.append(f"{name}: emitted with labels {sorted(labels) or 'none'}, "
                            f"docs/metrics.md:{row.line} says {sorted(row.labels) or 'none'}")
    for row in rows:
        if row.name not in matched and row.name not in allowed:
            problems.append(f"{row.name} (docs/metrics.md:{row.line}) was never emitted")


def check_collector(rows, collector, families, scraper_families, problems):
    for name in sorted(families.keys() - scraper_families):
        row = row_for(rows, name)
        if row is not None and row.collector != collector:
            where = f"`{row.collector}`" if row.collector else "the scraper's section"
            problems.append(f"{name} is emitted by the collector `{collector}`, "
                            f"docs/metrics.md:{row.line} lists it under {where}")


def collector_failures(exporter):
    """Collectors that report success 0 in a fresh scrape."""
    with HTTP.open(exporter.url("/metrics"), timeout=30) as answer:
        text = answer.read().decode("utf-8")
    return re.findall(r'^afp_exporter_scrape_collector_success\{collector="([a-z_]+)"\} 0$',
                      text, re.M)


def doc_problems(rows, defaults, collectors):
    """The doc's collector table and sections against `afp_exporter --help`."""
    problems = []
    if defaults != collectors:
        problems.append(f"docs/metrics.md's collector table {sorted(defaults.items())} is not "
                        f"`afp_exporter --help`'s {sorted(collectors.items())}")
    for row in rows:
        if row.collector is not None and row.collector not in collectors:
            problems.append(f"docs/metrics.md:{row.line}: {row.name} is under `{row.collector}`, "
                            "which is not a collector of `afp_exporter --help`")
    return problems


# The probe writes nothing before its first run has ended.
PROBE_DONE = {"afp_probe_success", "afp_probe_stage_duration_seconds"}


def scrape_everything(exporter, setting, problems):
    """The families of one exporter with every collector on."""
    with Exporter(exporter, setting.flags(), setting.environment(), setting.workdir, "all") as e:
        e.push()
        families = e.settled_scrape(PROBE_DONE)
        for name in collector_failures(e):
            problems.append(f"the collector `{name}` failed on this machine "
                            f"(log: {open(e.log_path).read()[-2000:]})")
    print(f"one exporter, every collector: {len(families)} families, "
          f"{sum(v[2] for v in families.values())} samples")
    return families


def check_each_collector(exporter, setting, collectors, rows, problems):
    """Each collector alone emits only the families of its section (and the scraper's)."""
    scraper_families = {r.name for r in rows if r.collector is None}
    for collector in sorted(collectors):
        flags = setting.flags() + ["--collector.disable-defaults", f"--collector.{collector}"]
        with Exporter(exporter, flags, setting.environment(), setting.workdir, collector) as e:
            e.push()
            families = e.settled_scrape(PROBE_DONE if collector == "probe" else set())
            for name in collector_failures(e):
                problems.append(f"the collector `{name}` failed when run alone")
        check_collector(rows, collector, families, scraper_families, problems)
    print(f"each of the {len(collectors)} collectors alone: every family under its section")


def main(repo, exporter, cluster, workload):
    if not os.path.isfile(os.path.join(cluster, "admin_dsn")):
        print(f"metrics_doc.py: no test cluster in {cluster}: it is the CTest fixture \"pg\", "
              "run with ctest -R 'pg: |docs:'", file=sys.stderr)
        return 2
    rows, defaults, allowed, problems = parse_doc(os.path.join(repo, "docs", "metrics.md"))
    collectors = help_collectors(exporter)
    problems += doc_problems(rows, defaults, collectors)
    with Setting(cluster, workload) as setting:
        compare(rows, allowed, scrape_everything(exporter, setting, problems), problems)
        check_each_collector(exporter, setting, collectors, rows, problems)

    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} difference(s) between docs/metrics.md and the exporter",
              file=sys.stderr)
        return 1
    print(f"docs/metrics.md: {len(rows)} rows, every one emitted or allowed to be missing "
          f"({len(allowed)} may be), and nothing emitted undocumented")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
