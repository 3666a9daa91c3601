"""The delivery log: every attempt, and at most one delivery per idempotency key.

Contract: check `delivered()` before sending, `record_delivery()` after. The insert is
`ON CONFLICT DO NOTHING` on SQLite and PostgreSQL, so two workers racing on one key leave one
row and the loser learns it was a duplicate. A crash between the provider's accept and the
insert can still resend once on retry; providers that take our key (PagerDuty dedup_key,
webhook Idempotency-Key, SendGrid/SMTP Message-ID) absorb that too.

Sync SQLModel sessions run in a thread so the event loop never blocks on the database.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from activities.notify.base import Clock, utcnow
from infra.db.tables.notify import DeliveryAttemptRow, DeliveryRow
from workflows.domain.notifications import DeliveryReceipt, Notification


class DeliveryLedger:
    def __init__(self, engine: Engine, clock: Clock = utcnow):
        self._engine = engine
        self._clock = clock

    async def delivered(self, idempotency_key: str) -> DeliveryRow | None:
        """The delivery already recorded for this key, if any."""
        return await asyncio.to_thread(self._get, idempotency_key)

    async def record_attempt(
        self, n: Notification, channel: str, result: str, latency_ms: float = 0.0, *,
        provider_message_id: str = "", error: str = "", retryable: bool | None = None,
    ) -> None:
        row = DeliveryAttemptRow(
            idempotency_key=n.idempotency_key, incident_id=n.incident_id, channel=channel,
            target_kind=n.target.kind.value, target_address=n.target.address,
            user_id=n.target.user_id, result=result, provider_message_id=provider_message_id,
            latency_ms=latency_ms, error=error[:2000], retryable=retryable,
            attempted_at=self._clock(),
        )
        await asyncio.to_thread(self._add, row)

    async def record_delivery(
        self, n: Notification, receipt: DeliveryReceipt, bundled_into: str | None = None
    ) -> bool:
        """Insert the delivery of `n`; False when the key was already delivered."""
        values = {
            "idempotency_key": n.idempotency_key, "incident_id": n.incident_id,
            "incident_number": n.incident_number, "channel": receipt.channel,
            "target_kind": n.target.kind.value, "target_address": n.target.address,
            "provider_message_id": receipt.provider_message_id, "thread_ref": receipt.thread_ref,
            "delivered_at": receipt.delivered_at, "bundled_into": bundled_into,
        }
        return await asyncio.to_thread(self._insert_ignore, values)

    async def latest_page_to(self, address: str) -> str | None:
        """Incident id of the newest page delivered to `address` (for a bare SMS "ack")."""
        return await asyncio.to_thread(self._latest_page, address)

    # ---- sync halves, run in a worker thread ----

    def _get(self, key: str) -> DeliveryRow | None:
        with Session(self._engine) as session:
            return session.get(DeliveryRow, key)

    def _add(self, row: Any) -> None:
        with Session(self._engine) as session:
            session.add(row)
            session.commit()

    def _insert_ignore(self, values: dict[str, Any]) -> bool:
        dialect = self._engine.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING.
        stmt = insert(DeliveryRow).values(**values).on_conflict_do_nothing(
            index_elements=["idempotency_key"]
        ).returning(DeliveryRow.idempotency_key)
        with Session(self._engine) as session:
            inserted = session.exec(stmt).first()  # type: ignore[call-overload]
            session.commit()
            return inserted is not None

    def _latest_page(self, address: str) -> str | None:
        stmt = (
            select(DeliveryRow.incident_id)
            .where(DeliveryRow.target_address == address)
            # Ties within one bundled SMS: the page that carried the bundle is the newest.
            .order_by(col(DeliveryRow.delivered_at).desc(),
                      col(DeliveryRow.bundled_into).is_not(None))
            .limit(1)
        )
        with Session(self._engine) as session:
            return session.exec(stmt).first()
