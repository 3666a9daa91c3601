"""Slack Web API: auth.test, chat.postMessage, chat.update, conversations.open."""

from __future__ import annotations

from aiohttp import web

from tests.vendors.base import VendorServer, body_params


class SlackServer(VendorServer):
    def __init__(self, token: str = "xoxb-test") -> None:
        super().__init__()
        self.token = token
        self.messages: dict[tuple[str, str], dict] = {}  # (channel, ts) -> latest message
        self.posts: list[dict] = []
        self.updates: list[dict] = []
        self.responses: list[dict] = []
        self._ts = 1700000000

    def routes(self):
        return [web.post("/api/{method}", self._api),
                web.post("/respond/{id}", self._respond)]

    async def _respond(self, request: web.Request) -> web.Response:
        """A slash command's response_url: Slack accepts a message body and answers "ok"."""
        self.responses.append(await body_params(request))
        return web.Response(text="ok")

    def failure_body(self, status: int) -> dict:
        return {"ok": False, "error": "ratelimited" if status == 429 else "internal_error"}

    async def _api(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        params = await body_params(request)
        method = request.match_info["method"]
        handler = {"auth.test": self._auth_test, "chat.postMessage": self._post,
                   "chat.update": self._update, "conversations.open": self._open}.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        return web.json_response(handler(params))

    def _auth_test(self, _params: dict) -> dict:
        return {"ok": True, "team_id": "T1", "user_id": "UBOT", "bot_id": "B1"}

    def _post(self, params: dict) -> dict:
        if not str(params.get("channel", "")).startswith(("C", "D")):
            return {"ok": False, "error": "channel_not_found"}
        self._ts += 1
        ts = f"{self._ts}.000100"
        message = {**params, "ts": ts}
        self.posts.append(message)
        self.messages[(params["channel"], ts)] = message
        return {"ok": True, "channel": params["channel"], "ts": ts, "message": message}

    def _update(self, params: dict) -> dict:
        key = (params.get("channel"), params.get("ts"))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.messages[key] = {**self.messages[key], **params}
        self.updates.append(params)
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _open(self, params: dict) -> dict:
        users = str(params.get("users", ""))
        if not users.startswith("U"):
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": "D" + users[1:]}}

    def thread_replies(self, channel: str, thread_ts: str) -> list[dict]:
        return [m for m in self.posts if m["channel"] == channel and m.get("thread_ts") == thread_ts]
