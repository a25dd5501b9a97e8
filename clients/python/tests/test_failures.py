"""What the client does when the exporter refuses, fails, or is away: it never blocks or
raises into the app, drops only what was refused, and never sends an accepted batch twice."""
import http.server
import socket
import threading
import time

from afp_client import Client
from conftest import TOKEN


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(condition, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.02)
    return condition()


def test_one_bad_label_value_costs_only_its_own_observation(exporter):
    client = Client(exporter.url, TOKEN, batch_size=1000, flush_interval=60)
    for i in range(1000):
        endpoint = "/songs"
        if i == 500:
            endpoint = "/songs\x01"  # a control character: the exporter refuses the batch
        if i == 700:
            endpoint = "/" + "x" * 200  # over the 128-byte label value limit
        client.api_request(0.01, endpoint, "GET", 200)
    assert client.flush(timeout=15)
    key = 'afp_api_request_duration_seconds_count{endpoint="/songs",method="GET",status="200"}'
    assert exporter.value(key) == 998
    stats = client.stats.snapshot()
    assert (stats["sent"], stats["rejected"], stats["lost"]) == (998, 2, 0)
    assert "HTTP 400" in stats["last_error"]
    client.close()


def test_a_wrong_token_is_counted_and_not_retried(exporter):
    client = Client(exporter.url, "not-the-token")
    client.identification("match")
    assert client.flush()
    stats = client.stats.snapshot()
    assert (stats["rejected"], stats["retries"], stats["sent"]) == (1, 0, 0)
    assert "HTTP 401" in stats["last_error"]
    assert "not-the-token" not in stats["last_error"]
    assert exporter.value('afp_ingest_rejected_total{transport="http",reason="unauthorized"}') == 1
    client.close()


def test_a_refused_connection_is_retried_until_the_exporter_is_up(start_exporter):
    port = free_port()
    client = Client(f"http://127.0.0.1:{port}", TOKEN, flush_interval=0.05, max_backoff=0.5)
    for _ in range(10):
        client.identification("no_match")
    assert wait(lambda: client.stats.snapshot()["retries"] >= 2)
    exporter = start_exporter(f"127.0.0.1:{port}")
    assert client.flush(timeout=15)
    assert exporter.value('afp_identifications_total{result="no_match"}') == 10
    stats = client.stats.snapshot()
    assert (stats["sent"], stats["lost"], stats["rejected"]) == (10, 0, 0)
    client.close()


class Sink(http.server.ThreadingHTTPServer):
    """Answers POSTs from a script: an HTTP status, or None to close without answering."""

    def __init__(self, answers):
        self.answers, self.bodies = list(answers), []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(handler):
                body = handler.rfile.read(int(handler.headers["Content-Length"]))
                self.bodies.append(body)
                status = self.answers.pop(0) if self.answers else 200
                if status is None:
                    handler.close_connection = True
                    return
                handler.send_response(status)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", "2")
                handler.end_headers()
                handler.wfile.write(b"{}")

            def log_message(handler, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


def test_a_5xx_is_retried_and_the_accepted_batch_is_never_sent_again():
    sink = Sink([503, 500, 200])
    client = Client(sink.url, TOKEN, flush_interval=0.05, max_backoff=0.2)
    for _ in range(5):
        client.fingerprint_generation(0.1)
    assert client.flush(timeout=10)
    time.sleep(0.3)  # a few more flush rounds: nothing may be sent again
    assert len(sink.bodies) == 3 and len(set(sink.bodies)) == 1
    stats = client.stats.snapshot()
    assert (stats["sent"], stats["retries"], stats["lost"]) == (5, 2, 0)
    client.close()
    sink.shutdown()


def test_no_answer_after_sending_is_not_resent():
    sink = Sink([None])  # the request arrived; whether it was applied is unknown
    client = Client(sink.url, TOKEN, flush_interval=0.05)
    client.identification("error")
    assert client.flush(timeout=10)
    time.sleep(0.3)
    assert len(sink.bodies) == 1
    stats = client.stats.snapshot()
    assert (stats["lost"], stats["sent"], stats["retries"]) == (1, 0, 0)
    client.close()
    sink.shutdown()


def test_a_full_queue_drops_and_counts_without_blocking_or_raising():
    client = Client(f"http://127.0.0.1:{free_port()}", TOKEN, max_queue=100, flush_interval=60)
    for _ in range(10_000):
        client.db_query(0.01, "lookup")
    client.observe("no_such_metric", 1.0)
    client.db_query(float("nan"), "lookup")
    client.observe("db_query", 0.01, operation="lookup", table="songs")  # an unknown label
    stats = client.stats.snapshot()
    assert (stats["queued"], stats["overflow"], stats["invalid"]) == (100, 9900, 3)
    client.close(timeout=2)
