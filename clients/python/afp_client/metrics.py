"""The metrics the exporter takes (its /api/v1/observations wire format v1), checked before
they are queued so that a typo is found in the app, not as a rejected batch."""
import math

# metric -> (value field, required labels, statsd type)
METRICS = {
    "fingerprint_generation": ("seconds", (), "ms"),
    "api_request": ("seconds", ("endpoint", "method", "status"), "ms"),
    "db_query": ("seconds", ("operation",), "ms"),
    "identification": (None, ("result",), "c"),
    "audio_processed": ("seconds", (), "c"),
    "fingerprint_hashes": ("count", (), "c"),
}


def make_item(metric, seconds=None, count=None, labels=None):
    """The wire item for one observation; ValueError naming what is wrong."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r} (one of {', '.join(sorted(METRICS))})")
    field, required, _ = METRICS[metric]
    item = {"metric": metric}
    given = {"seconds": seconds, "count": count}
    for name, value in given.items():
        if value is not None and name != field:
            raise ValueError(f"{metric} takes no {name}")
    if field == "seconds":
        if (not isinstance(seconds, (int, float)) or isinstance(seconds, bool)
                or not math.isfinite(seconds) or seconds < 0):
            raise ValueError(f"{metric}: seconds must be a finite number >= 0, not {seconds!r}")
        item["seconds"] = float(seconds)
    elif field == "count":
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"{metric}: count must be an integer >= 0, not {count!r}")
        item["count"] = count
    labels = {k: str(v) for k, v in (labels or {}).items()}
    missing = [name for name in required if not labels.get(name)]
    if missing:
        raise ValueError(f"{metric}: missing label(s) {', '.join(missing)}")
    extra = sorted(set(labels) - set(required))
    if extra:
        raise ValueError(f"{metric}: unknown label(s) {', '.join(extra)}")
    if labels:
        item["labels"] = labels
    return item
