"""POST /api/v1/observations: what each answer means for the batch."""
import http.client
import json
import socket
import urllib.error
import urllib.request


# The exporter's answers are a few dozen bytes; a larger one is not worth reading whole.
MAX_ANSWER = 64 * 1024


class RetryLater(Exception):
    """Nothing was applied (a 5xx, or no connection): the same batch may be sent again."""


class HttpTransport:
    def __init__(self, base_url, token=None, timeout=2.0):
        self.url = base_url.rstrip("/") + "/api/v1/observations"
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout = timeout

    def send(self, batch, stats):
        """Sends batch; counts each item as sent, rejected or lost in stats. Raises
        RetryLater, with nothing counted, when the whole batch may be sent again."""
        items = list(batch)
        # One 400 names one item and applies nothing: drop it, send the rest again. Each
        # round removes an item, so this ends.
        while items:
            status, body = self._post(items, stats)
            if status is None:
                return
            if status == 200:
                stats.add("sent", len(items))
                return
            if status >= 500:
                raise RetryLater(f"HTTP {status}")
            index = body.get("index") if status == 400 and isinstance(body, dict) else None
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(items):
                stats.add("rejected", len(items), f"HTTP {status}: {body.get('error', '') if isinstance(body, dict) else ''}")
                return
            stats.add("rejected", 1, f"HTTP 400: {body.get('error', '')}")
            del items[index]

    def _post(self, items, stats):
        """(status, parsed body); (None, None) after counting the items as lost when the
        server may have applied them (no answer after the request went out)."""
        data = json.dumps({"observations": items}, separators=(",", ":")).encode()
        request = urllib.request.Request(self.url, data, self._headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return response.status, _json(response.read(MAX_ANSWER))
        except urllib.error.HTTPError as e:
            return e.code, _json(e.read(MAX_ANSWER))
        except urllib.error.URLError as e:
            # No connection was made (refused, unreachable, unknown host): nothing applied.
            raise RetryLater(str(e.reason)) from None
        except (socket.timeout, TimeoutError, http.client.HTTPException, ConnectionError) as e:
            # The request may have been applied: sending it again could count it twice.
            stats.add("lost", len(items), f"no answer: {e!r}")
            return None, None


def _json(raw):
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return {}
