"""Bearer-key authentication. Every API route needs a key except health checks."""

from __future__ import annotations

import asyncio
import time

from fastapi import HTTPException, Request

from infra.db.repositories import keys
from workflows.domain.base import Actor, ActorKind

CACHE_SECONDS = 5.0  # a revoked key stops working within this long on every replica


class KeyCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, dict | None]] = {}

    async def verify(self, engine, secret: str) -> dict | None:
        hit = self._entries.get(secret)
        now = time.monotonic()
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        key = await asyncio.to_thread(keys.verify, engine, secret)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[secret] = (now, key)
        return key


def require(scope: str = "ingest"):
    """A dependency that returns the caller as an `Actor`, or answers 401/403.

    `admin` keys may do everything; `ingest` keys only what needs the ingest scope.
    """

    async def dependency(request: Request) -> Actor:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer ") or not header[7:].strip():
            raise HTTPException(401, "missing bearer key: send 'Authorization: Bearer <key>'",
                                headers={"WWW-Authenticate": "Bearer"})
        state = request.app.state.lim
        key = await state.keys.verify(state.engine, header[7:].strip())
        if key is None:
            raise HTTPException(401, "unknown or revoked key", headers={"WWW-Authenticate": "Bearer"})
        if scope == "admin" and key["scope"] != "admin":
            raise HTTPException(403, f"key {key['id']} has scope {key['scope']}; this needs admin")
        return Actor(kind=ActorKind.KEY, id=key["id"], name=key["name"])

    return dependency
