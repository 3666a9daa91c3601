"""The shared harness: an aiohttp server on 127.0.0.1:0 with switchable failure modes."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from aiohttp import web


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, str] = field(default_factory=dict)

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


@dataclass
class _Failure:
    status: int | None  # None = hang until the server stops
    remaining: int | None  # None = until healthy() is called
    retry_after: str | None = None


class VendorServer:
    """Subclasses add routes in `routes()` and may override `failure_body`."""

    def __init__(self) -> None:
        self.received: list[Received] = []  # requests that reached a handler
        self.refused: list[Received] = []  # requests answered by a failure mode
        self._failure: _Failure | None = None
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ---- failure modes ----

    def fail(self, status: int = 500, times: int | None = None,
             retry_after: float | None = None) -> None:
        """Answer `status` to the next `times` requests (all, if None), then recover."""
        self._failure = _Failure(status, times, None if retry_after is None else str(retry_after))

    def hang(self, times: int | None = None) -> None:
        """Accept requests and never answer (until the server stops)."""
        self._failure = _Failure(None, times)

    def healthy(self) -> None:
        self._failure = None

    def failure_body(self, status: int) -> dict:
        return {"error": f"simulated {status}"}

    # ---- lifecycle ----

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        self._release.set()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self):
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        body = await request.read()
        seen = Received(request.method, request.path, dict(request.headers), body,
                        dict(request.query))
        failure = self._take_failure()
        if failure is None:
            self.received.append(seen)
            return await handler(request)
        self.refused.append(seen)
        if failure.status is None:
            await self._release.wait()
            raise web.HTTPServiceUnavailable()
        headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
        return web.json_response(self.failure_body(failure.status), status=failure.status,
                                 headers=headers)

    def _take_failure(self) -> _Failure | None:
        failure = self._failure
        if failure is None:
            return None
        if failure.remaining is not None:
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failure = None
        return failure


async def body_params(request: web.Request) -> dict:
    """JSON or form body, as the SDKs send either."""
    raw = await request.read()
    if request.content_type == "application/json":
        return {**request.query, **json.loads(raw or b"{}")}
    return {**request.query, **dict(parse_qsl(raw.decode()))}
