"""The applied configuration in the database, as one versioned document.

Each apply appends a row with the next version number inside one transaction; the unique
version column turns a concurrent apply into `ConfigConflict` rather than a lost update.
Applying a document equal to the current one is a no-op that returns the current version.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from infra.config.export import document_json
from infra.db.engine import as_utc
from infra.db.tables.config import ConfigVersionRow
from workflows.domain.base import Frozen
from workflows.domain.config import ConfigDocument


class AppliedConfig(Frozen):
    version: int
    document: ConfigDocument
    applied_at: datetime
    applied_by: str


class ConfigConflict(RuntimeError):
    """Someone applied another version at the same moment; retrying (after a new diff) helps."""


def _now() -> datetime:
    return datetime.now(UTC)


class ConfigStore:
    """Reads and appends configuration versions through `engine`."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _now) -> None:
        self._engine = engine
        self._clock = clock

    def current(self) -> AppliedConfig | None:
        """The latest applied version, or None before the first apply."""
        with Session(self._engine) as session:
            row = session.exec(
                select(ConfigVersionRow).order_by(ConfigVersionRow.version.desc()).limit(1)
            ).first()
            return _applied(row) if row else None

    def get(self, version: int) -> AppliedConfig | None:
        """One historical version, or None if it never existed."""
        with Session(self._engine) as session:
            row = session.exec(
                select(ConfigVersionRow).where(ConfigVersionRow.version == version)
            ).first()
            return _applied(row) if row else None

    def apply(self, doc: ConfigDocument, actor: str, based_on: int | None = None) -> int:
        """Store `doc` as the new current version and return its number (atomic).

        `based_on`: the version `doc` was derived from (0 before the first). If another apply
        landed since, `ConfigConflict`: a compare-and-swap, so an edit made from a stale read
        (two API replicas, two people) can never silently undo someone else's change.
        """
        data = document_json(doc)
        with Session(self._engine) as session:
            latest = session.exec(
                select(ConfigVersionRow).order_by(ConfigVersionRow.version.desc()).limit(1)
            ).first()
            if latest is not None and latest.document == data:
                return latest.version
            current = latest.version if latest is not None else 0
            if based_on is not None and based_on != current:
                raise ConfigConflict(f"the configuration moved from version {based_on} to "
                                     f"{current} meanwhile")
            # The swap itself: `based_on + 1` is unique, so of two writers that both read the
            # same version only one insert succeeds, however their reads and writes interleave.
            version = based_on + 1 if based_on is not None else (
                session.exec(select(func.max(ConfigVersionRow.version))).one() or 0) + 1
            session.add(ConfigVersionRow(version=version, document=data,
                                         applied_at=self._clock(), applied_by=actor))
            try:
                session.commit()
            except IntegrityError as exc:
                session.rollback()
                raise ConfigConflict(f"version {version} was applied concurrently") from exc
            return version


def _applied(row: ConfigVersionRow) -> AppliedConfig:
    return AppliedConfig(version=row.version, document=ConfigDocument.model_validate(row.document),
                         applied_at=as_utc(row.applied_at), applied_by=row.applied_by)
