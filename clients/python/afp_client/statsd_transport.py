"""statsd / DogStatsD lines over UDP, as the exporter's --statsd.listen-address reads them."""
import socket

from .metrics import METRICS

MAX_DATAGRAM = 1432  # fits one Ethernet frame with IPv4/IPv6 and UDP headers
# A tag value with one of these would end the tag, the field or the line early: the
# exporter would read another label value, or another line, than the one observed.
UNSAFE = frozenset(",|#\n\r")


def line(item):
    metric = item["metric"]
    kind = METRICS[metric][2]
    if kind == "ms":
        value = f"{item['seconds'] * 1000:.6g}|ms"
    elif "seconds" in item:
        value = f"{item['seconds']:.6g}|c"
    else:
        value = f"{item.get('count', 1)}|c"
    tags = ",".join(f"{k}:{v}" for k, v in sorted(item.get("labels", {}).items()))
    return f"afp.{metric}:{value}" + (f"|#{tags}" if tags else "")


class StatsdTransport:
    """Fire and forget: the exporter counts what it refuses, the sender learns nothing, so
    every line handed to the kernel is counted as sent."""

    def __init__(self, host, port):
        self._address = (host, port)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_DGRAM)

    def send(self, batch, stats):
        datagram, lines = b"", 0
        for item in batch:
            unsafe = [v for v in item.get("labels", {}).values() if UNSAFE & set(v)]
            if unsafe:
                stats.add("rejected", 1, f"statsd cannot carry the label value {unsafe[0]!r}")
                continue
            encoded = line(item).encode()
            if datagram and len(datagram) + 1 + len(encoded) > MAX_DATAGRAM:
                self._send(datagram, lines, stats)
                datagram, lines = b"", 0
            datagram = datagram + b"\n" + encoded if datagram else encoded
            lines += 1
        if datagram:
            self._send(datagram, lines, stats)

    def _send(self, datagram, lines, stats):
        try:
            self._socket.sendto(datagram, self._address)
            stats.add("sent", lines)
        except OSError as e:
            stats.add("lost", lines, f"statsd: {e}")

    def close(self):
        self._socket.close()
