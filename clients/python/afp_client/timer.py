"""Timing a block or a function into a seconds metric."""
import functools
import inspect
import time


class Timer:
    """Context manager and decorator: observes the elapsed seconds when the block or the
    call ends, exception or not (a failed query took its time too)."""

    def __init__(self, client, metric, labels):
        self._client, self._metric, self._labels = client, metric, labels
        self._start = None

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self._client.observe(self._metric, time.perf_counter() - self._start, **self._labels)
        return False

    def __call__(self, function):
        client, metric, labels = self._client, self._metric, self._labels
        if inspect.iscoroutinefunction(function):
            @functools.wraps(function)
            async def timed_async(*args, **kwargs):
                with Timer(client, metric, labels):
                    return await function(*args, **kwargs)
            return timed_async

        @functools.wraps(function)
        def timed(*args, **kwargs):
            with Timer(client, metric, labels):
                return function(*args, **kwargs)
        return timed
