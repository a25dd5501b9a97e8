"""Every metric, over HTTP and statsd, into the real exporter; the timers."""
import asyncio

import pytest

from afp_client import Client
from conftest import TOKEN

EXPECTED = {
    "afp_fingerprint_generation_seconds_count": 1,
    "afp_fingerprint_generation_seconds_sum": 0.25,
    'afp_api_request_duration_seconds_count{endpoint="/identify",method="POST",status="200"}': 1,
    'afp_db_query_duration_seconds_count{operation="lookup"}': 1,
    'afp_db_query_duration_seconds_sum{operation="lookup"}': 0.5,
    'afp_identifications_total{result="match"}': 1,
    "afp_audio_processed_seconds_total": 30,
    "afp_fingerprint_hashes_total": 4919,
}


def observe_each_metric(client):
    client.fingerprint_generation(0.25)
    client.api_request(1.5, "/identify", "POST", 200)
    client.db_query(0.5, "lookup")
    client.identification("match")
    client.audio_processed(30)
    client.fingerprint_hashes(4919)


def test_http_pushes_every_metric(exporter):
    client = Client(exporter.url, TOKEN)
    observe_each_metric(client)
    assert client.flush()
    samples = exporter.samples()
    assert {k: samples.get(k) for k in EXPECTED} == EXPECTED
    assert samples['afp_ingest_observations_total{transport="http"}'] == 6
    stats = client.stats.snapshot()
    assert (stats["queued"], stats["sent"], stats["rejected"], stats["lost"]) == (6, 6, 0, 0)
    client.close()


def test_statsd_sends_every_metric_as_the_readme_lines(exporter):
    client = Client(f"statsd://127.0.0.1:{exporter.statsd_port}")
    observe_each_metric(client)
    assert client.flush()
    assert exporter.wait_for('afp_ingest_observations_total{transport="statsd"}', 6) == 6
    samples = exporter.samples()
    assert {k: samples.get(k) for k in EXPECTED} == EXPECTED
    rejected = {k: v for k, v in samples.items()
                if k.startswith('afp_ingest_rejected_total{transport="statsd"') and v}
    assert rejected == {}
    client.close()


def test_statsd_refuses_a_label_value_that_would_break_the_line(exporter):
    client = Client(f"statsd://127.0.0.1:{exporter.statsd_port}")
    client.api_request(0.1, "/songs,status:500", "GET", 200)  # would smuggle a tag
    client.api_request(0.1, "/songs", "GET", 200)
    assert client.flush()
    key = 'afp_api_request_duration_seconds_count{endpoint="/songs",method="GET",status="200"}'
    assert exporter.wait_for(key, 1) == 1
    stats = client.stats.snapshot()
    assert (stats["sent"], stats["rejected"]) == (1, 1)
    assert exporter.value('afp_ingest_observations_total{transport="statsd"}') == 1
    client.close()


def test_timers_as_context_manager_and_decorator(exporter):
    client = Client(exporter.url, TOKEN)

    with client.time_fingerprint_generation():
        pass

    @client.time_db_query("lookup")
    def lookup():
        return "row"

    @client.time_db_query("insert")
    async def insert():
        return "inserted"

    @client.time_db_query("delete")
    def failing_delete():
        raise RuntimeError("deadlock")

    assert lookup() == "row"
    assert asyncio.run(insert()) == "inserted"
    with pytest.raises(RuntimeError):
        failing_delete()  # the query's time is observed, the error still reaches the app
    assert client.flush()
    samples = exporter.samples()
    assert samples["afp_fingerprint_generation_seconds_count"] == 1
    for operation in ("lookup", "insert", "delete"):
        assert samples[f'afp_db_query_duration_seconds_count{{operation="{operation}"}}'] == 1
    client.close()
