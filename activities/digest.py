"""`digest.collect`: who gets which low-severity incidents in one digest period.

Reads the timeline events the escalation ladder records for a digest severity (kind `paged`,
details `{"mode": "digest", "users": "alice, bob"}`) at `since` <= at < `until`, joins their
incidents, and looks up each named person's email method in the applied configuration. Returns
ids, numbers, titles and a few fields only, so workflow history stays small. Read-only: Temporal
may retry it freely.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.engine import Engine
from temporalio import activity

from infra.config.store import ConfigStore
from infra.db.engine import as_utc
from infra.db.repositories.incidents import INCIDENTS, TIMELINE
from workflows import side_effects as fx
from workflows.digest import DigestBatch, DigestEntry, DigestRequest, UserDigest
from workflows.domain.base import Severity
from workflows.domain.config import ConfigDocument, ContactKind
from workflows.domain.lifecycle import IncidentStatus
from workflows.domain.timeline import EventKind

NOBODY = "nobody"  # what the ladder writes when the digest names no one


class DigestActivities:
    def __init__(self, engine: Engine, store: ConfigStore) -> None:
        self._engine = engine
        self._store = store

    @activity.defn(name=fx.DIGEST_COLLECT.name)
    async def collect(self, request: DigestRequest) -> DigestBatch:
        return await asyncio.to_thread(self.build, request)

    def build(self, request: DigestRequest) -> DigestBatch:
        """Per named person (sorted by id), their incidents of the period in the order put in."""
        per_user: dict[str, dict[str, DigestEntry]] = {}
        for users, entry in self._digest_events(request):
            for user_id in users:
                per_user.setdefault(user_id, {}).setdefault(entry.incident_id, entry)
        applied = self._store.current()
        doc = applied.document if applied else ConfigDocument()
        return DigestBatch(users=[_user_digest(doc, user_id, list(entries.values()))
                                  for user_id, entries in sorted(per_user.items())])

    def _digest_events(self, request: DigestRequest) -> list[tuple[list[str], DigestEntry]]:
        # The details JSON is filtered here, not in SQL: JSON operators differ between SQLite
        # and PostgreSQL, and one period holds few `paged` events.
        query = (select(TIMELINE.c.details, INCIDENTS)
                 .join(INCIDENTS, INCIDENTS.c.id == TIMELINE.c.incident_id)
                 .where(TIMELINE.c.kind == EventKind.PAGED.value,
                        TIMELINE.c.at >= as_utc(request.since), TIMELINE.c.at < as_utc(request.until))
                 .order_by(TIMELINE.c.at, TIMELINE.c.id))
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [(_named(row["details"].get("users", "")), _entry(row)) for row in rows
                if (row["details"] or {}).get("mode") == "digest"]


def _named(users: str) -> list[str]:
    return [u for u in (part.strip() for part in users.split(",")) if u and u != NOBODY]


def _entry(row) -> DigestEntry:
    return DigestEntry(incident_id=row["id"], number=row["number"] or 0, title=row["title"],
                       service=row["service"] or "", severity=Severity(row["severity"]),
                       status=IncidentStatus(row["status"]), opened_at=as_utc(row["opened_at"]))


def _user_digest(doc: ConfigDocument, user_id: str, entries: list[DigestEntry]) -> UserDigest:
    user = doc.user(user_id)
    method = next((m for m in (user.contact_methods if user else [])
                   if m.kind is ContactKind.EMAIL), None)
    if method is None:
        return UserDigest(user_id=user_id, entries=entries)
    return UserDigest(user_id=user_id, email=method.address, contact_method_id=method.id,
                      entries=entries)


