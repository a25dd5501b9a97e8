"""The ASGI middleware in a real FastAPI and a real Starlette app: the route template as
endpoint, the status sent, 500 when the handler raised, "unmatched" for no route."""
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from afp_client import AfpTimingMiddleware, Client
from conftest import TOKEN


def count(exporter, endpoint, status, method="GET"):
    return exporter.value('afp_api_request_duration_seconds_count'
                          f'{{endpoint="{endpoint}",method="{method}",status="{status}"}}')


def exercise(app):
    with TestClient(app, raise_server_exceptions=False) as http:
        assert http.get("/songs/1").status_code == 200
        assert http.get("/songs/2").status_code == 200
        assert http.get("/no/such/route").status_code == 404
        assert http.get("/boom").status_code == 500


def test_fastapi_routes_are_timed_by_template(exporter):
    afp = Client(exporter.url, TOKEN)
    app = FastAPI()
    app.add_middleware(AfpTimingMiddleware, client=afp)

    @app.get("/songs/{song_id}")
    def song(song_id: int):
        return {"id": song_id}

    @app.get("/boom")
    def boom():
        raise RuntimeError("handler failed")

    exercise(app)
    assert afp.flush()
    assert count(exporter, "/songs/{song_id}", 200) == 2
    assert count(exporter, "unmatched", 404) == 1
    assert count(exporter, "/boom", 500) == 1
    afp.close()


def test_starlette_routes_are_timed_by_template(exporter):
    afp = Client(exporter.url, TOKEN)

    def song(request):
        return PlainTextResponse(request.path_params["song_id"])

    def boom(request):
        raise RuntimeError("handler failed")

    app = Starlette(routes=[Route("/songs/{song_id}", song), Route("/boom", boom)])
    app.add_middleware(AfpTimingMiddleware, client=afp)
    exercise(app)
    assert afp.flush()
    assert count(exporter, "/songs/{song_id}", 200) == 2
    assert count(exporter, "unmatched", 404) == 1
    assert count(exporter, "/boom", 500) == 1
    afp.close()
