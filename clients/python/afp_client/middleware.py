"""ASGI middleware (Starlette, FastAPI) timing every HTTP request as api_request."""
import time


class AfpTimingMiddleware:
    """app.add_middleware(AfpTimingMiddleware, client=afp)

    The endpoint label is the route's template (/songs/{song_id}), never the raw path, so
    the series stay bounded; a request no route matched is "unmatched". The status is the
    one sent, or 500 when the app raised before answering."""

    def __init__(self, app, client):
        self.app, self.client = app, client

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def send_and_note_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            self.client.api_request(time.perf_counter() - start, route_template(scope),
                                    scope.get("method", "GET"), status)


def route_template(scope):
    """FastAPI puts the matched route in scope["route"]; Starlette's router leaves the
    matched endpoint in scope["endpoint"], whose route the router lists."""
    route = scope.get("route")
    if route is None and "endpoint" in scope:
        router = scope.get("router")
        route = next((r for r in getattr(router, "routes", ())
                      if getattr(r, "endpoint", None) is scope["endpoint"]), None)
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"
