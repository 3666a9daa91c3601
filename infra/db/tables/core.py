"""Ingestion tables: keys, raw alerts, alert identities, the outbox to Temporal, request idempotency."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Index
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import AutoString


class ApiKeyRow(SQLModel, table=True):
    """An integration or admin key. Only the SHA-256 of the secret is stored."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True)
    name: str
    scope: str  # ingest | admin
    secret_hash: str = Field(index=True, unique=True)
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None


class AlertRow(SQLModel, table=True):
    """One alert occurrence as received (redacted). Written once; repeats are counted in
    `alert_counters`, never duplicated."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_dedup_received", "dedup_key", "received_at"),)

    id: str = Field(primary_key=True)
    fingerprint: str = Field(index=True)
    dedup_key: str
    source: str
    status: str
    title: str
    description: str = ""
    labels: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    annotations: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    service: str = ""
    env: str = ""
    severity: str = "medium"
    team: str = ""
    model_id: str = ""
    metric_type: str = ""
    starts_at: datetime
    ends_at: datetime | None = None
    generator_url: str = ""
    received_at: datetime
    key_id: str = ""


class AlertCounterRow(SQLModel, table=True):
    """How often an occurrence was received and when last: all that a repeat writes.

    Kept apart from the wide `alerts` row because updating a row rewrites all of it: in a
    storm of repeats, bumping the count on the row carrying labels and annotations wrote
    ~65 MB/s into SQLite's WAL. Without rowid (SQLite), the row lives in the primary-key
    b-tree itself: a bump touches one b-tree, not an index and a table. Deleting an
    occurrence deletes its counter (the writer notices a vanished occurrence by its counter).
    """

    __tablename__ = "alert_counters"
    __table_args__ = {"sqlite_with_rowid": False}

    alert_id: str = Field(sa_column=Column(
        AutoString, ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True))
    occurrences: int = 1
    last_received_at: datetime


class AlertIdentityRow(SQLModel, table=True):
    """Last material state of an alert identity: decides whether a new occurrence is news."""

    __tablename__ = "alert_identities"

    fingerprint: str = Field(primary_key=True)
    dedup_key: str = Field(index=True)
    status: str
    severity: str
    title: str
    last_alert_id: str
    last_seen_at: datetime
    occurrences: int = 1


class OutboxRow(SQLModel, table=True):
    """A material alert change waiting to be signalled to its incident workflow.

    Written in the same transaction as the alert, so an accepted alert can never miss its
    incident, whatever crashes after the API answered.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "dispatched_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str
    change: dict = Field(sa_column=Column(JSON, nullable=False))
    route: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime
    dispatched_at: datetime | None = None
    attempts: int = 0
    last_error: str = ""


class IngestRequestRow(SQLModel, table=True):
    """The answer given to a request carrying an Idempotency-Key, replayed on repeats."""

    __tablename__ = "ingest_requests"

    key: str = Field(primary_key=True)
    response: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime


class IngestCounterRow(SQLModel, table=True):
    """Monotonic ingestion counters (received, stored, repeats, signals): durable stats."""

    __tablename__ = "ingest_counters"

    name: str = Field(primary_key=True)
    value: int = 0
