"""The SMS rate window per phone number, shared by every worker through the database.

One conditional write claims a window: move `last_sent_at` to now only if the window it holds
has passed, else insert the first row for the address; if neither wrote, someone sent within
the window and the caller holds its page. Two workers racing for one address: exactly one of
the UPDATE/INSERT pair succeeds (row lock on PostgreSQL, the database lock on SQLite).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from infra.db.tables.notify import ContactWindowRow
from infra.db.upsert import insert_for

WINDOWS = ContactWindowRow.__table__


class SqlSendWindows:
    """`activities.notify.guards.SendWindows` over the `notify_contact_windows` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def reserve(self, address: str, now: datetime, window: timedelta) -> datetime | None:
        return await asyncio.to_thread(self._reserve, address, now, window)

    async def release(self, address: str, at: datetime) -> None:
        await asyncio.to_thread(self._release, address, at)

    def _reserve(self, address: str, now: datetime, window: timedelta) -> datetime | None:
        with self._engine.begin() as conn:
            moved = conn.execute(update(WINDOWS).where(
                WINDOWS.c.address == address, WINDOWS.c.last_sent_at <= now - window,
            ).values(last_sent_at=now).returning(WINDOWS.c.address)).first()
            if moved is not None or _insert_first(conn, address, now):
                return None
            return conn.execute(select(WINDOWS.c.last_sent_at)
                                .where(WINDOWS.c.address == address)).scalar_one()

    def _release(self, address: str, at: datetime) -> None:
        # Only our own reservation: a later one (another worker's) stays.
        with self._engine.begin() as conn:
            conn.execute(WINDOWS.delete().where(WINDOWS.c.address == address,
                                                WINDOWS.c.last_sent_at == at))


def _insert_first(conn: Connection, address: str, now: datetime) -> bool:
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING here.
    stmt = insert_for(conn, WINDOWS).values(address=address, last_sent_at=now)
    stmt = stmt.on_conflict_do_nothing(index_elements=["address"]).returning(WINDOWS.c.address)
    return conn.execute(stmt).first() is not None
