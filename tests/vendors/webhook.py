"""A generic webhook receiver that verifies our HMAC signature and dedupes on Idempotency-Key."""

from __future__ import annotations

import json
import time

from aiohttp import web

from activities.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from tests.vendors.base import VendorServer


class WebhookReceiver(VendorServer):
    def __init__(self, secret: str = "whsec-test") -> None:
        super().__init__()
        self.secret = secret.encode()
        self.accepted: dict[str, dict] = {}  # idempotency key -> payload
        self.bad_signatures = 0
        self.duplicates = 0

    def routes(self):
        return [web.post("/hook", self._hook)]

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        ok = verify_signature(self.secret, request.headers.get(TIMESTAMP_HEADER, ""), body,
                              request.headers.get(SIGNATURE_HEADER, ""), now=time.time())
        if not ok:
            self.bad_signatures += 1
            return web.Response(status=401, text="bad signature")
        key = request.headers.get("Idempotency-Key", "")
        if key in self.accepted:
            self.duplicates += 1
        self.accepted.setdefault(key, json.loads(body))
        return web.json_response({"ok": True})
