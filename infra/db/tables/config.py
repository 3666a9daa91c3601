"""The applied configuration: one row per version of the whole document, never updated."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel


class ConfigVersionRow(SQLModel, table=True):
    """Version `version` of the configuration, applied by `applied_by`. The highest is current.

    The unique `version` makes two concurrent applies conflict instead of both winning.
    """

    __tablename__ = "config_versions"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True, index=True)
    document: dict = Field(sa_column=Column(JSON, nullable=False))
    applied_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    applied_by: str
