"""Sample payloads and common request values for the alert source tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

PAYLOADS = Path(__file__).parents[2] / "fixtures" / "payloads"
JSON = {"content-type": "application/json"}
RECEIVED_AT = datetime(2024, 6, 2, 12, 0, tzinfo=UTC)


def payload(name: str) -> bytes:
    """A sample body from tests/fixtures/payloads, as bytes on the wire."""
    return (PAYLOADS / name).read_bytes()
