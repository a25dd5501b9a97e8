#!/usr/bin/python3
"""The Python half of bench/soak (standard library only, Debian's /usr/bin/python3).

  soak.py load --metrics-url URL --ingest-url URL --token-file FILE --statsd-port PORT
               --status FILE [--scrape-interval S] [--churn-rate N] ...
      The steady load, until SIGTERM: scrapes of /metrics, HTTP ingest batches with the
      bearer token, statsd datagrams, and pg_stat_statements churn (statements that are
      each a new queryid, fed to a psql that takes its connection from the PG* environment
      and is started again whenever a PostgreSQL restart ends it). Every second it rewrites
      STATUS ("key value" lines, replaced atomically) with what it has done so far.

  soak.py judge SAMPLES --duration S --warmup S [--fd-slack N] ...
      Reads the exporter samples ("seconds rss_kb threads fds ..." lines), prints the
      summary table and applies the growth rules (see judge()); exit 1 when one fails, 2
      when a window holds fewer than 2 samples (the run is too short for its sample period).
"""

import argparse
import sys
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

stop = threading.Event()
lock = threading.Lock()
status = {
    "scrapes_ok": 0, "scrapes_failed": 0, "failing_since": 0.0, "longest_failure_s": 0.0,
    "scrape_s_sum": 0.0, "scrape_s_max": 0.0, "scrape_bytes_last": 0, "pg_up_last": -1,
    "pg_up_zero_scrapes": 0, "ingest_ok": 0, "ingest_failed": 0, "ingest_items": 0,
    "statsd_datagrams": 0, "statsd_lines": 0, "churn_statements": 0, "churn_psql_starts": 0,
    "last_scrape_error": "-", "last_ingest_error": "-",
}


def bump(**changes):
    with lock:
        for key, value in changes.items():
            status[key] += value


def periodic(interval, step):
    """Calls step() every interval seconds (on a fixed grid, so the rate stays steady even
    when a call is slow) until stop is set."""
    next_at = time.monotonic()
    while not stop.is_set():
        step()
        next_at += interval
        delay = next_at - time.monotonic()
        if delay < 0:  # far behind (a slow scrape): skip the missed slots, do not burst
            next_at = time.monotonic()
            delay = 0
        stop.wait(delay)


# ---- scrapes -------------------------------------------------------------------------------
def scrape_once(url):
    """One GET on a fresh connection (as a restarted Prometheus would open): an exporter that
    leaks a descriptor per connection shows it in the FD samples."""
    started = time.monotonic()
    try:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("GET", url.path, headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
    except Exception as e:  # any failure counts; the message is kept for the report
        scrape_failed(f"{e!r}")
        return
    scrape_ok(body, time.monotonic() - started)


def scrape_failed(message):
    with lock:
        status["scrapes_failed"] += 1
        status["last_scrape_error"] = message.replace("\n", " ")[:200]
        if not status["failing_since"]:
            status["failing_since"] = time.time()


def scrape_ok(body, seconds):
    pg_up = -1
    for line in body.split(b"\n"):
        if line.startswith(b"pg_up "):
            pg_up = int(float(line.split()[1]))
            break
    with lock:
        if status["failing_since"]:
            streak = time.time() - status["failing_since"]
            status["longest_failure_s"] = max(status["longest_failure_s"], streak)
            status["failing_since"] = 0.0
        status["scrapes_ok"] += 1
        status["scrape_s_sum"] += seconds
        status["scrape_s_max"] = max(status["scrape_s_max"], seconds)
        status["scrape_bytes_last"] = len(body)
        status["pg_up_last"] = pg_up
        status["pg_up_zero_scrapes"] += pg_up == 0


# ---- HTTP ingest ---------------------------------------------------------------------------
# A fixed set of label values: the pushed series stay bounded, so any growth is the exporter's.
ENDPOINTS = ["/identify", "/songs", "/healthz"]
STATUSES = ["200", "404", "500"]
OPERATIONS = ["lookup", "insert", "delete", "other"]
RESULTS = ["match", "no_match", "error"]


def batch_body(items):
    observations = []
    for i in range(items):
        kind = i % 6
        seconds = round(random.uniform(0.001, 3.0), 4)
        if kind == 0:
            item = {"metric": "fingerprint_generation", "seconds": seconds}
        elif kind == 1:
            item = {"metric": "api_request", "seconds": seconds,
                    "labels": {"endpoint": random.choice(ENDPOINTS), "method": "POST",
                               "status": random.choice(STATUSES)}}
        elif kind == 2:
            item = {"metric": "db_query", "seconds": seconds / 50,
                    "labels": {"operation": random.choice(OPERATIONS)}}
        elif kind == 3:
            item = {"metric": "identification", "labels": {"result": random.choice(RESULTS)}}
        elif kind == 4:
            item = {"metric": "audio_processed", "seconds": 5.0}
        else:
            item = {"metric": "fingerprint_hashes", "count": random.randint(100, 5000)}
        observations.append(item)
    return json.dumps({"observations": observations}).encode()


class Ingest:
    """POSTs batches over one keep-alive connection, opened again after any failure."""

    def __init__(self, url, token, items):
        self.url, self.token, self.items, self.conn = url, token, items, None

    def step(self):
        body = batch_body(self.items)
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=10)
            self.conn.request("POST", self.url.path, body=body, headers={
                "Content-Type": "application/json", "Authorization": f"Bearer {self.token}"})
            response = self.conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")
        except Exception as e:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            with lock:
                status["ingest_failed"] += 1
                status["last_ingest_error"] = f"{e!r}"[:200]
            return
        bump(ingest_ok=1, ingest_items=self.items)


# ---- statsd --------------------------------------------------------------------------------
STATSD_LINES = [
    b"afp.fingerprint_generation:1840|ms",
    b"afp.api_request:2310|ms|#endpoint:/identify,method:POST,status:200",
    b"afp.db_query:41|ms|@0.5|#operation:lookup",
    b"afp.identification:1|c|#result:match",
    b"afp.audio_processed:10|c",
    b"afp.fingerprint_hashes:4919|c",
]


def statsd_sender(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    datagram = b"\n".join(STATSD_LINES)

    def step():
        try:
            sock.sendto(datagram, ("127.0.0.1", port))
        except OSError:  # ECONNREFUSED from an earlier datagram; counted as sent anyway
            pass
        bump(statsd_datagrams=1, statsd_lines=len(STATSD_LINES))
    return step


# ---- pg_stat_statements churn --------------------------------------------------------------
def churn_statement(n):
    """Statement n: 24 operators, + or - after the bits of n. pg_stat_statements replaces
    the constants by $n, and ignores aliases, when it computes the queryid, but the operator
    of each OpExpr counts: every n is a new queryid (2^24 of them), so the 500 slots keep
    filling and entries keep being evicted. The aliases only make each text readable."""
    ops = "".join(" + 1" if (n >> bit) & 1 else " - 1" for bit in range(24))
    return f"SELECT 1{ops} AS c_{n} FROM (SELECT 1) AS t_{n};\n"


class Churn:
    """Feeds statements to one long-lived psql; when a PostgreSQL restart ends it (psql
    exits on a lost connection when not interactive), starts another one."""

    def __init__(self, per_tick, log_path):
        self.per_tick, self.n, self.psql = per_tick, random.randrange(1 << 24), None
        self.log = open(log_path, "ab")

    def start_psql(self):
        self.psql = subprocess.Popen(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=0", "-o", "/dev/null", "-f", "-"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.log)
        bump(churn_psql_starts=1)

    def step(self):
        if self.psql is None or self.psql.poll() is not None:
            if self.psql is not None:
                self.psql.wait()
                stop.wait(1)  # the server is restarting: do not spin
            self.start_psql()
        text = "".join(churn_statement((self.n + i) % (1 << 24)) for i in range(self.per_tick))
        try:
            self.psql.stdin.write(text.encode())
            self.psql.stdin.flush()
        except (BrokenPipeError, OSError):
            return  # psql is gone; the next tick starts another
        self.n += self.per_tick
        bump(churn_statements=self.per_tick)

    def close(self):
        if self.psql is not None and self.psql.poll() is None:
            self.psql.kill()
            self.psql.wait()


# ---- status file ---------------------------------------------------------------------------
def write_status(path):
    with lock:
        lines = [f"{key} {value}\n" for key, value in status.items()]
    lines.append(f"now {time.time()}\n")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(lines)
    os.replace(tmp, path)


# ---- judge ---------------------------------------------------------------------------------
# The growth rules. Windows: warm-up [0, W), then thirds of the rest: first, middle, last.
# A leak raises the floor and every peak after it, so the peak of the last third must not
# exceed the peak of the first post-warm-up third, plus what noise may add:
#   threads  last max <= first max + thread_slack (0: the exporter's threads are a fixed set)
#   fds      last max <= first max + fd_slack (connections in flight at the sample moment:
#            a scrape, a probe upload, a PostgreSQL reconnect)
#   rss      last max <= first max x rss_ratio + rss_slack_kb (allocator noise and a scrape's
#            buffers). At ~33 MB that is ~5 MB of headroom over the ~2/3 of the post-warm-up
#            time between the two peaks: a steady leak of more than ~15 kB/s fails a
#            10-minute run, of more than ~2.5 kB/s the default hour. Slower leaks show in
#            the printed slope (kB per minute over the post-warm-up samples), not the verdict.
# Comparing peaks of equally long windows makes transients (a scrape in flight, a restart)
# equally likely on both sides; the warm-up leaves out caches filling up (libpq, the
# pg_stat_statements statement cache, which holds at most 20,000 statements).
METRICS = [("rss_kb", 1), ("threads", 2), ("fds", 3)]


def windows(samples, duration, warmup):
    span = (duration - warmup) / 3
    bounds = {"warm-up": (0, warmup), "first": (warmup, warmup + span),
              "middle": (warmup + span, warmup + 2 * span), "last": (warmup + 2 * span, duration + 1)}
    return {name: [s for s in samples if lo <= s[0] < hi] for name, (lo, hi) in bounds.items()}


def slope_per_minute(samples, column):
    """Least-squares slope of a column over time, per minute."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mt = sum(s[0] for s in samples) / n
    mv = sum(s[column] for s in samples) / n
    var = sum((s[0] - mt) ** 2 for s in samples)
    cov = sum((s[0] - mt) * (s[column] - mv) for s in samples)
    return 60 * cov / var if var else 0.0


def judge(a):
    samples = []
    with open(a.samples) as f:
        for line in f:
            samples.append([float(x) for x in line.split()[:4]])
    parts = windows(samples, a.duration, a.warmup)
    short = [name for name in ("first", "middle", "last") if len(parts[name]) < 2]
    span = (a.duration - a.warmup) / 3
    print(f"windows: warm-up 0-{a.warmup:.0f} s, then thirds of {span:.0f} s "
          f"(first / middle / last: {len(parts['first'])} / {len(parts['middle'])} / "
          f"{len(parts['last'])} samples)")
    if short:
        print(f"too few samples in the {', '.join(short)} window(s) to judge growth: run "
              f"longer or sample more often (AFP_SOAK_SAMPLE_SECONDS)")
        return 2
    limits = {
        "rss_kb": lambda first: first * a.rss_ratio + a.rss_slack_kb,
        "threads": lambda first: first + a.thread_slack,
        "fds": lambda first: first + a.fd_slack,
    }
    print(f"{'':8} {'warm-up max':>11} {'first min-max':>17} {'middle min-max':>17} "
          f"{'last min-max':>17} {'limit':>9}  slope/min  verdict")
    failed = 0
    for name, col in METRICS:
        rng = {w: (min(s[col] for s in parts[w]), max(s[col] for s in parts[w]))
               for w in ("first", "middle", "last")}
        warm = max((s[col] for s in parts["warm-up"]), default=float("nan"))
        limit = limits[name](rng["first"][1])
        ok = rng["last"][1] <= limit
        failed += not ok
        post = parts["first"] + parts["middle"] + parts["last"]
        cells = " ".join(f"{lo:>8.0f}-{hi:<8.0f}" for lo, hi in rng.values())
        print(f"{name:8} {warm:>11.0f} {cells} {limit:>9.0f}  {slope_per_minute(post, col):>+9.1f}"
              f"  {'ok' if ok else 'GROWS'}")
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    lp = sub.add_parser("load")
    lp.add_argument("--metrics-url", required=True)
    lp.add_argument("--ingest-url", required=True)
    lp.add_argument("--token-file", required=True)
    lp.add_argument("--statsd-port", type=int, required=True)
    lp.add_argument("--status", required=True)
    lp.add_argument("--churn-log", default=os.devnull)
    lp.add_argument("--scrape-interval", type=float, default=0.5)
    lp.add_argument("--ingest-interval", type=float, default=0.5)
    lp.add_argument("--ingest-items", type=int, default=120)
    lp.add_argument("--statsd-rate", type=float, default=20, help="datagrams per second")
    lp.add_argument("--churn-rate", type=int, default=200, help="new statements per second")
    jp = sub.add_parser("judge")
    jp.add_argument("samples")
    jp.add_argument("--duration", type=float, required=True)
    jp.add_argument("--warmup", type=float, required=True)
    jp.add_argument("--thread-slack", type=float, default=0)
    jp.add_argument("--fd-slack", type=float, default=4)
    jp.add_argument("--rss-ratio", type=float, default=1.10)
    jp.add_argument("--rss-slack-kb", type=float, default=2048)
    a = p.parse_args()
    if a.command == "judge":
        sys.exit(judge(a))
    load(a)


def load(a):
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with open(a.token_file) as f:
        token = f.read().strip()
    metrics_url = urllib.parse.urlsplit(a.metrics_url)
    ingest = Ingest(urllib.parse.urlsplit(a.ingest_url), token, a.ingest_items)
    churn = Churn(max(1, a.churn_rate // 10), a.churn_log)
    loops = [
        (a.scrape_interval, lambda: scrape_once(metrics_url)),
        (a.ingest_interval, ingest.step),
        (1 / a.statsd_rate, statsd_sender(a.statsd_port)),
        (0.1, churn.step),
    ]
    threads = [threading.Thread(target=periodic, args=loop, daemon=True) for loop in loops]
    for t in threads:
        t.start()
    periodic(1.0, lambda: write_status(a.status))  # in the main thread: it gets the signals
    for t in threads:
        t.join(timeout=15)
    churn.close()
    write_status(a.status)


if __name__ == "__main__":
    main()
