"""Microsoft Teams incoming webhook: POST a message with an Adaptive Card, answered "1"."""

from __future__ import annotations

import json

from aiohttp import web

from tests.vendors.base import VendorServer


class TeamsServer(VendorServer):
    def __init__(self) -> None:
        super().__init__()
        self.cards: list[dict] = []

    def routes(self):
        return [web.post("/webhook/{name}", self._post)]

    async def _post(self, request: web.Request) -> web.Response:
        message = json.loads(await request.read())
        attachments = message.get("attachments") or []
        if message.get("type") != "message" or not attachments or attachments[0].get(
                "contentType") != "application/vnd.microsoft.card.adaptive":
            return web.Response(status=400, text="Bad payload")
        self.cards.append(attachments[0]["content"])
        return web.Response(status=200, text="1")
