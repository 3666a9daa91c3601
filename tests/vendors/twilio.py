"""Twilio REST 2010-04-01: Messages.json and Calls.json with HTTP basic auth."""

from __future__ import annotations

import base64

from aiohttp import web

from tests.vendors.base import VendorServer, body_params


class TwilioServer(VendorServer):
    def __init__(self, account_sid: str = "AC123", auth_token: str = "tw-token") -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict] = []
        self.calls: list[dict] = []

    def failure_body(self, status: int) -> dict:
        return {"code": 20429 if status == 429 else 20500, "message": f"simulated {status}",
                "status": status}

    def routes(self):
        base = "/2010-04-01/Accounts/{sid}/"
        return [web.post(base + "Messages.json", self._message),
                web.post(base + "Calls.json", self._call)]

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return (request.headers.get("Authorization") == f"Basic {expected}"
                and request.match_info["sid"] == self.account_sid)

    def _error(self, status: int, code: int, message: str) -> web.Response:
        return web.json_response({"code": code, "message": message, "status": status},
                                 status=status)

    async def _message(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._error(401, 20003, "Authenticate")
        form = await body_params(request)
        if not str(form.get("To", "")).startswith("+"):
            return self._error(400, 21211, "Invalid 'To' Phone Number")
        self.messages.append(form)
        sid = f"SM{len(self.messages):032d}"
        return web.json_response({"sid": sid, "status": "queued", "to": form["To"],
                                  "from": form.get("From"), "body": form.get("Body"),
                                  "account_sid": self.account_sid}, status=201)

    async def _call(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._error(401, 20003, "Authenticate")
        form = await body_params(request)
        self.calls.append(form)
        sid = f"CA{len(self.calls):032d}"
        return web.json_response({"sid": sid, "status": "queued", "to": form.get("To"),
                                  "account_sid": self.account_sid}, status=201)
