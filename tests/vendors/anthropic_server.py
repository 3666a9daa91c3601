"""A local server speaking the Anthropic Messages API (`POST /v1/messages`).

It checks what the official SDK sends (API key as `x-api-key` or bearer token, `anthropic-version`, a forced tool choice,
`cache_control` on the static parts) and answers like the real API: a `tool_use` content block
and `usage` with cache fields. Failure modes: HTTP 500 / 529 (`fail`), a hang (`hang`, for
client timeouts), a malformed tool input (`answer_malformed`), and a 200 whose body is not
JSON at all (`answer_garbled`, as a broken proxy may send).
"""

from __future__ import annotations

import itertools

from aiohttp import web

from tests.vendors.base import VendorServer

API_KEY = "sk-ant-test-key"


def api_key_of(headers) -> str:
    """SDK 2.x sends `Authorization: Bearer <key>`; older ones `x-api-key`. Accept both."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return lowered.get("x-api-key") or lowered.get("authorization", "").removeprefix("Bearer ")


class AnthropicServer(VendorServer):
    def __init__(self, api_key: str = API_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.answers: list[dict] = []  # tool inputs to return, in order; the last one repeats
        self.malformed = False
        self.garbled: str | None = None
        self.usage = {
            "input_tokens": 812,
            "output_tokens": 240,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 1450,
        }
        self._ids = itertools.count(1)

    def answer(self, tool_input: dict) -> None:
        self.answers.append(tool_input)

    def answer_malformed(self) -> None:
        self.malformed = True

    def answer_garbled(self, body: str = '{"id": "msg_1", "content": [') -> None:
        self.garbled = body

    def failure_body(self, status: int) -> dict:
        kind = {529: "overloaded_error", 429: "rate_limit_error"}.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": f"simulated {status}"}}

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1/messages", self._messages)]

    async def _messages(self, request: web.Request) -> web.Response:
        if api_key_of(request.headers) != self.api_key:
            return web.json_response(
                {
                    "type": "error",
                    "error": {"type": "authentication_error", "message": "invalid x-api-key"},
                },
                status=401,
            )
        if not request.headers.get("anthropic-version"):
            return web.json_response(
                {
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error",
                        "message": "anthropic-version missing",
                    },
                },
                status=400,
            )
        body = await request.json()
        problem = self._check(body)
        if problem:
            return web.json_response(
                {"type": "error", "error": {"type": "invalid_request_error", "message": problem}},
                status=400,
            )
        if self.garbled is not None:
            return web.Response(text=self.garbled, content_type="application/json")
        tool = body["tool_choice"]["name"]
        tool_input = (
            {"unexpected": "shape"}
            if self.malformed
            else (self.answers.pop(0) if len(self.answers) > 1 else self.answers[0])
        )
        return web.json_response(
            {
                "id": f"msg_{next(self._ids):06d}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "stop_reason": "tool_use",
                "stop_sequence": None,
                "content": [
                    {"type": "tool_use", "id": "toolu_01", "name": tool, "input": tool_input}
                ],
                "usage": self.usage,
            }
        )

    @staticmethod
    def _check(body: dict) -> str:
        if not body.get("model") or not body.get("max_tokens"):
            return "model and max_tokens are required"
        if body.get("tool_choice", {}).get("type") != "tool":
            return "expected a forced tool choice"
        if not all("cache_control" in part for part in body.get("system", [])):
            return "static system prompt should be cached"
        return ""
