"""SendGrid v3 `POST /v3/mail/send`: Bearer auth, JSON body, 202 + X-Message-Id."""

from __future__ import annotations

import json

from aiohttp import web

from tests.vendors.base import VendorServer


class SendGridServer(VendorServer):
    def __init__(self, api_key: str = "SG.test") -> None:
        super().__init__()
        self.api_key = api_key
        self.mails: list[dict] = []

    def failure_body(self, status: int) -> dict:
        return {"errors": [{"message": f"simulated {status}", "field": None}]}

    def routes(self):
        return [web.post("/v3/mail/send", self._send)]

    async def _send(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"errors": [{"message": "unauthorized"}]}, status=401)
        mail = json.loads(await request.read())
        if not mail.get("personalizations") or not mail.get("from") or not mail.get("content"):
            return web.json_response({"errors": [{"message": "bad request"}]}, status=400)
        self.mails.append(mail)
        return web.Response(status=202, headers={"X-Message-Id": f"sg-{len(self.mails)}"})
