#!/usr/bin/python3
"""Pushes 1,000,000 distinct api_request label sets to an exporter, as an attacker on the
loopback interface could without a token: HTTP batches of 1,000 and statsd lines.

    label_flood.py PORT STATSD_PORT

Prints what the exporter accepted and refused; the caller reads its peak RSS.
"""
import json
import socket
import sys
import urllib.error
import urllib.request

port, statsd_port = int(sys.argv[1]), int(sys.argv[2])
ENDPOINTS = [f"/e{i}" for i in range(100)]
METHODS = [chr(65 + i // 26) + chr(65 + i % 26) for i in range(100)]
STATUSES = [str(100 + i) for i in range(100)]


def label_sets():
    for e in ENDPOINTS:
        for m in METHODS:
            for s in STATUSES:
                yield e, m, s


def push_http(batch):
    body = json.dumps({"observations": [
        {"metric": "api_request", "seconds": 0.1,
         "labels": {"endpoint": e, "method": m, "status": s}} for e, m, s in batch]}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/observations", body,
                                     {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as e:
        return e.code


statuses = {}
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
batch, lines = [], []
for n, (e, m, s) in enumerate(label_sets()):
    # Half over HTTP, half over statsd, interleaved.
    if n % 2 == 0:
        batch.append((e, m, s))
        if len(batch) == 1000:
            code = push_http(batch)
            statuses[code] = statuses.get(code, 0) + 1
            batch = []
    else:
        lines.append(f"afp.api_request:100|ms|#endpoint:{e},method:{m},status:{s}")
        if len(lines) == 20:
            udp.sendto("\n".join(lines).encode(), ("127.0.0.1", statsd_port))
            lines = []
print(f"HTTP answers: {statuses}")
