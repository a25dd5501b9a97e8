"""The client: a bounded queue in front of a transport, drained by one background thread."""
import atexit
import logging
import os
import threading
import time
import urllib.parse

from .http_transport import HttpTransport, RetryLater
from .metrics import make_item
from .statsd_transport import StatsdTransport
from .timer import Timer

log = logging.getLogger("afp_client")


class Stats:
    """Counts per outcome, safe across threads. queued: accepted by observe; sent: the
    exporter took them (HTTP 200, or handed to the kernel for statsd); rejected: refused
    by the exporter (a 4xx), never resent; overflow: dropped because the queue was full;
    invalid: refused by observe itself; lost: given up on, either because no answer came
    after sending (it may have been counted, so it is not resent) or because the exporter
    was still unavailable at close(); retries: batches sent again after a 5xx or no
    connection."""

    NAMES = ("queued", "sent", "rejected", "overflow", "invalid", "lost", "retries")

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(self.NAMES, 0)
        self.last_error = None

    def add(self, name, n=1, error=None):
        with self._lock:
            self._counts[name] += n
            if error:
                self.last_error = error
        if error:
            log.warning("afp_client: %d observation(s) %s: %s", n, name, error)

    def snapshot(self):
        with self._lock:
            return dict(self._counts, last_error=self.last_error)


class Client:
    """Queues observations and pushes them in batches from a daemon thread.

    Never blocks or raises into the app: observe() only appends to a bounded queue (a full
    queue drops the observation and counts it), a bad call is logged and counted. The
    flush thread retries a batch on a 5xx or a refused connection with exponential
    backoff; on a 400 that names an item it drops that item and sends the rest again; it
    never resends a batch the exporter accepted, nor one that may have been accepted.

    url: http(s)://HOST:PORT of the exporter, or statsd://HOST:PORT.
    """

    def __init__(self, url="http://127.0.0.1:9793", token=None, *, max_queue=10000,
                 batch_size=1000, flush_interval=1.0, timeout=2.0, max_backoff=30.0):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme == "statsd":
            self._transport = StatsdTransport(parsed.hostname or "127.0.0.1", parsed.port or 8125)
        elif parsed.scheme in ("http", "https"):
            self._transport = HttpTransport(url, token, timeout)
        else:
            raise ValueError(f"afp_client: unsupported URL {url!r} (http://, https:// or statsd://)")
        self.stats = Stats()
        self._max_queue, self._batch_size = max_queue, batch_size
        self._flush_interval, self._max_backoff = flush_interval, max_backoff
        self._pending, self._lock, self._sending = [], threading.Condition(), False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="afp_client", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    @classmethod
    def from_env(cls, **options):
        """AFP_EXPORTER (default http://127.0.0.1:9793), and the token from
        AFP_INGEST_TOKEN or the file AFP_INGEST_TOKEN_FILE names."""
        token = os.environ.get("AFP_INGEST_TOKEN")
        token_file = os.environ.get("AFP_INGEST_TOKEN_FILE")
        if not token and token_file:
            with open(token_file, encoding="utf-8") as f:
                token = f.read().strip()
        return cls(os.environ.get("AFP_EXPORTER", "http://127.0.0.1:9793"), token, **options)

    # --- observations -------------------------------------------------------------------
    def observe(self, metric, seconds=None, count=None, **labels):
        try:
            item = make_item(metric, seconds, count, labels)
        except ValueError as e:
            self.stats.add("invalid", 1, str(e))
            return
        with self._lock:
            if len(self._pending) >= self._max_queue:
                self.stats.add("overflow")
                return
            self._pending.append(item)
            if len(self._pending) >= self._batch_size:
                self._lock.notify()
        self.stats.add("queued")

    def fingerprint_generation(self, seconds):
        self.observe("fingerprint_generation", seconds)

    def api_request(self, seconds, endpoint, method, status):
        self.observe("api_request", seconds, endpoint=endpoint, method=method, status=status)

    def db_query(self, seconds, operation):
        self.observe("db_query", seconds, operation=operation)

    def identification(self, result):
        self.observe("identification", result=result)

    def audio_processed(self, seconds):
        self.observe("audio_processed", seconds)

    def fingerprint_hashes(self, count):
        self.observe("fingerprint_hashes", count=count)

    def time_fingerprint_generation(self):
        """with client.time_fingerprint_generation(): ... or as a decorator."""
        return Timer(self, "fingerprint_generation", {})

    def time_db_query(self, operation):
        """with client.time_db_query("lookup"): ... or as a decorator."""
        return Timer(self, "db_query", {"operation": operation})

    # --- the flush thread ---------------------------------------------------------------
    def flush(self, timeout=5.0):
        """Waits until the queue is empty (sent, or given up on), up to timeout seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._lock.notify()
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending and not self._sending:
                    return True
            time.sleep(0.01)
        return False

    def close(self, timeout=5.0):
        """Sends what is queued (one attempt), then stops the thread."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        with self._lock:
            self._lock.notify()
        self._thread.join(timeout)
        if isinstance(self._transport, StatsdTransport):
            self._transport.close()

    def _take(self):
        with self._lock:
            if len(self._pending) < self._batch_size and not self._stopping.is_set():
                self._lock.wait(self._flush_interval)
            batch, self._pending[:] = self._pending[:self._batch_size], self._pending[self._batch_size:]
            self._sending = bool(batch)
            return batch

    def _run(self):
        while True:
            batch = self._take()
            if batch:
                self._deliver(batch)
            with self._lock:
                self._sending = False
                if self._stopping.is_set() and not self._pending:
                    return

    def _deliver(self, batch):
        backoff = 0.25
        while True:
            try:
                self._transport.send(batch, self.stats)
                return
            except RetryLater as e:
                if self._stopping.is_set():
                    self.stats.add("lost", len(batch), f"not delivered at close: {e}")
                    return
                self.stats.add("retries", 1)
                log.info("afp_client: exporter unavailable (%s); retrying in %.2fs", e, backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff)
            except Exception as e:  # never let the thread die: the app keeps observing
                self.stats.add("lost", len(batch), f"unexpected: {e!r}")
                return
