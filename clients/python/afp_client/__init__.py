"""Push an audio-fingerprinting service's timings to afp_exporter.

    from afp_client import Client, AfpTimingMiddleware
    afp = Client.from_env()  # AFP_EXPORTER, AFP_INGEST_TOKEN or AFP_INGEST_TOKEN_FILE
    app.add_middleware(AfpTimingMiddleware, client=afp)

Observations are queued and sent by a background thread; nothing here blocks or raises
into the app (see Client).
"""
from .client import Client
from .middleware import AfpTimingMiddleware
from .timer import Timer

__version__ = "0.1.0"
__all__ = ["Client", "AfpTimingMiddleware", "Timer", "__version__"]
