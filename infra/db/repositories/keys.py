"""Integration and admin keys. Only a SHA-256 of each secret is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from infra.db.tables.core import ApiKeyRow

KEYS = ApiKeyRow.__table__
SCOPES = ("ingest", "admin")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(engine: Engine, name: str, scope: str) -> tuple[str, str]:
    """Create a key; returns (key id, secret). The secret is shown once and never stored."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    key_id = "key_" + secrets.token_hex(6)
    secret = "lim_" + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(KEYS.insert().values(id=key_id, name=name, scope=scope,
                                          secret_hash=hash_secret(secret), prefix=secret[:8],
                                          created_at=datetime.now(UTC)))
    return key_id, secret


def list_keys(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(KEYS.c.id, KEYS.c.name, KEYS.c.scope, KEYS.c.prefix,
                                   KEYS.c.created_at, KEYS.c.revoked_at)
                            .order_by(KEYS.c.created_at)).mappings().all()
    return [dict(r) for r in rows]


def revoke_key(engine: Engine, key_id: str) -> bool:
    with engine.begin() as conn:
        result = conn.execute(update(KEYS).where(KEYS.c.id == key_id, KEYS.c.revoked_at.is_(None))
                              .values(revoked_at=datetime.now(UTC)))
    return result.rowcount == 1


def verify(engine: Engine, secret: str) -> dict | None:
    """The live key for `secret`, or None when unknown or revoked."""
    with engine.connect() as conn:
        row = conn.execute(select(KEYS.c.id, KEYS.c.name, KEYS.c.scope)
                           .where(KEYS.c.secret_hash == hash_secret(secret),
                                  KEYS.c.revoked_at.is_(None))).mappings().first()
    return dict(row) if row else None
