"""`FootfallApp`: Starlette, plus a direct lane for the two endpoints that carry the load.

`POST /api/event` and `GET /api/v1/realtime` are matched by one dict lookup on (method, path)
and called straight away — still inside the request-context middleware (request id, access
log, the generic 500) — instead of walking Starlette's router and exception middleware, whose
per-request cost was a third of these endpoints' time (measured: see BENCHMARKS.md). Every
other request, and these paths with other methods, go through Starlette as usual, and the
routes stay registered there so OpenAPI and tests see one route table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from footfall.api.middleware import RequestContextMiddleware

Endpoint = Callable[[Request], Awaitable[Response]]


class FootfallApp(Starlette):
    def __init__(
        self, *, hot_paths: Mapping[tuple[str, str], Endpoint], access_log: bool, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._hot_paths = dict(hot_paths)
        self._hot_lane = RequestContextMiddleware(self._dispatch_hot, access_log=access_log)

    def add_hot_path(self, method: str, path: str, endpoint: Endpoint) -> None:
        """Serve `method path` through the direct lane (not listed in the route table)."""
        self._hot_paths[(method, path)] = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"]) in self._hot_paths:
            scope["app"] = self
            await self._hot_lane(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _dispatch_hot(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self._hot_paths[(scope["method"], scope["path"])]
        response = await endpoint(Request(scope, receive, send))
        await response(scope, receive, send)
