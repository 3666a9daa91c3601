"""PagerDuty Events API v2 `POST /v2/enqueue`, tracking alert state per dedup_key."""

from __future__ import annotations

import json

from aiohttp import web

from tests.vendors.base import VendorServer


class PagerDutyServer(VendorServer):
    def __init__(self, routing_keys: set[str] | None = None) -> None:
        super().__init__()
        self.routing_keys = routing_keys or {"R0UTINGKEY"}
        self.events: list[dict] = []
        self.alerts: dict[str, str] = {}  # dedup_key -> triggered | acknowledged | resolved

    def failure_body(self, status: int) -> dict:
        return {"status": "throttle event" if status == 429 else "error",
                "message": f"simulated {status}"}

    def routes(self):
        return [web.post("/v2/enqueue", self._enqueue)]

    async def _enqueue(self, request: web.Request) -> web.Response:
        event = json.loads(await request.read())
        action = event.get("event_action")
        if event.get("routing_key") not in self.routing_keys:
            return web.json_response({"status": "invalid event", "message": "Event object is "
                                      "invalid", "errors": ["Invalid routing key"]}, status=400)
        if action not in {"trigger", "acknowledge", "resolve"} or (
                action == "trigger" and not event.get("payload", {}).get("summary")):
            return web.json_response({"status": "invalid event", "message": "invalid"},
                                     status=400)
        self.events.append(event)
        dedup = event.get("dedup_key") or f"pd-{len(self.events)}"
        state = {"trigger": "triggered", "acknowledge": "acknowledged", "resolve": "resolved"}
        self.alerts[dedup] = state[action]
        return web.json_response({"status": "success", "message": "Event processed",
                                  "dedup_key": dedup}, status=202)
