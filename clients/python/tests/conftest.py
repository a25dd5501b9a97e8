"""A real afp_exporter (AFP_EXPORTER_BINARY) on free ports, with an ingest token."""
import os
import re
import subprocess
import tempfile
import time
import urllib.request

import pytest

TOKEN = "afp-client-test-token"


class Exporter:
    def __init__(self, binary, listen="127.0.0.1:0"):
        self.dir = tempfile.TemporaryDirectory()
        token_file = os.path.join(self.dir.name, "token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        self.log_path = os.path.join(self.dir.name, "log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [binary, "--collector.disable-defaults", "--collector.pipeline",
             f"--web.listen-address={listen}", "--statsd.listen-address=127.0.0.1:0"],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AFP_INGEST_TOKEN_FILE": token_file},
            stdout=self.log, stderr=self.log)
        self.port = self._logged_port(r'msg=listening .*port=(\d+)')
        self.statsd_port = self._logged_port(r'msg="statsd listener on" .*port=(\d+)')
        self.url = f"http://127.0.0.1:{self.port}"

    def _logged_port(self, pattern):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            match = re.search(pattern, open(self.log_path).read())
            if match:
                return int(match.group(1))
            if self.process.poll() is not None:
                raise RuntimeError("afp_exporter exited: " + open(self.log_path).read())
            time.sleep(0.02)
        raise RuntimeError("afp_exporter logged no port: " + open(self.log_path).read())

    def samples(self):
        """{'name{labels}': value} of one scrape."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def value(self, key):
        return self.samples().get(key, 0.0)

    def wait_for(self, key, want, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.value(key) >= want:
                break
            time.sleep(0.05)
        return self.value(key)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        self.dir.cleanup()


def exporter_binary():
    binary = os.environ.get("AFP_EXPORTER_BINARY")
    if not binary:
        pytest.fail("AFP_EXPORTER_BINARY: the afp_exporter to test against is not set")
    return binary


@pytest.fixture
def exporter():
    running = Exporter(exporter_binary())
    yield running
    running.stop()


@pytest.fixture
def start_exporter():
    """Starts an exporter on a given address when the test asks for it."""
    started = []

    def start(listen):
        started.append(Exporter(exporter_binary(), listen))
        return started[-1]

    yield start
    for running in started:
        running.stop()
