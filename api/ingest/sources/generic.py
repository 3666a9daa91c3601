"""The generic JSON alert: our own documented format (docs/ingestion.md), one object or a list.

```json
{"title": "Checkout p99 above 2s", "status": "firing", "severity": "critical",
 "service": "checkout", "env": "prod", "labels": {"region": "eu"},
 "annotations": {"runbook_url": "https://..."}, "description": "...",
 "starts_at": "2024-05-01T10:00:00Z", "ends_at": null, "dedup_key": "...",
 "source": "my-cron", "generator_url": "https://..."}
```

Only `title` is required. Because we define this format, unknown fields are refused (a typo such
as `severty` is reported instead of silently losing the severity).

Identity: labels are the sender's `labels` plus `alertname` (the redacted title), `service` and
`env` where the sender did not set them; `fingerprint = fingerprint_of(labels)`. An explicit
`dedup_key` (or `fingerprint`) wins: the identity is then `fingerprint_of({"dedup_key": key})`,
so the same key always means the same alert, and the raw key is kept as `source.dedup_key`.
`severity` is not a label (raising it must not make a new alert); it sets the severity tag.
Without `starts_at` the receive time is used: send `starts_at` or an `Idempotency-Key` header if
retries of the same alert must not be stored twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal, NamedTuple

from pydantic import Field, TypeAdapter

from api.ingest.base import IngestLimits, ParsedBatch
from api.ingest.errors import IngestError
from api.ingest.normalise import build_alert, first_text, with_source_annotations
from api.ingest.wire import (
    OwnModel,
    WireTime,
    check_batch_size,
    decode_json,
    require_media_type,
    validate,
    validate_items,
)
from workflows.domain.alerts import Alert, fingerprint_of
from workflows.domain.redaction import redact
from workflows.domain.tags import severity_from_text

Status = Literal["firing", "resolved"]


class GenericAlert(OwnModel):
    title: str = Field(min_length=1, max_length=1024)
    status: Status = "firing"
    severity: str = ""
    service: str = ""
    env: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    description: str = ""
    starts_at: WireTime | None = None
    ends_at: WireTime | None = None
    dedup_key: str = Field(default="", max_length=255)
    fingerprint: str = Field(default="", max_length=255)
    source: str = ""
    generator_url: str = ""


_ALERTS = TypeAdapter(list[GenericAlert])


class Envelope(NamedTuple):
    """What a wrapper around a generic-shaped item knows (CloudEvents attributes).

    `title`, `status` and `starts_at` are used when the item leaves them out; `annotations` are
    added as `source.<name>` annotations and redacted like the item's own.
    """

    title: str = ""
    status: Status | Literal[""] = ""
    starts_at: datetime | None = None
    annotations: tuple[tuple[str, str], ...] = ()


NO_ENVELOPE = Envelope()


class GenericSource:
    """`POST /api/v1/alerts`: one generic alert object, or a JSON list of them."""

    kind = "generic"

    def __init__(self, limits: IngestLimits) -> None:
        self.limits = limits

    def parse(
        self, body: bytes, headers: Mapping[str, str], received_at: datetime
    ) -> ParsedBatch:
        require_media_type(headers, ("application/json",))
        data = decode_json(body)
        if isinstance(data, dict):
            item = validate(GenericAlert, data)
            alert = generic_alert(item, self.kind, received_at, {})
            return ParsedBatch(alerts=[alert], rejected=[])
        if not isinstance(data, list):
            raise IngestError.invalid("body", "expected an alert object or a list of them")
        check_batch_size(data, "body", self.limits.max_batch_alerts)
        valid, rejected = validate_items(_ALERTS, GenericAlert, data, "")
        alerts = [generic_alert(item, self.kind, received_at, {}) for _, item in valid]
        return ParsedBatch(alerts=alerts, rejected=rejected)


def generic_alert(
    item: GenericAlert,
    kind: str,
    received_at: datetime,
    identifiers: Mapping[str, str],
    occurrence: str = "",
    envelope: Envelope = NO_ENVELOPE,
) -> Alert:
    """Map one generic-shaped alert (also CloudEvents `data`) by the rules in the docstring.

    `envelope` supplies what a wrapper knows (see `Envelope`); `identifiers` are added
    unredacted as `source.<name>` annotations (see normalise.py).
    """
    title = redact(item.title or envelope.title)
    status = item.status
    if envelope.status and "status" not in item.model_fields_set:
        status = envelope.status
    labels = dict(item.labels)
    labels.setdefault("alertname", title)
    if item.service:
        labels.setdefault("service", item.service)
    if item.env:
        labels.setdefault("env", item.env)
    explicit_key = item.dedup_key or item.fingerprint
    context = {"sender": item.source, "dedup_key": explicit_key, **dict(envelope.annotations)}
    return build_alert(
        source=kind,
        status=status,
        labels=labels,
        annotations=with_source_annotations(item.annotations, context),
        title=title,
        description=item.description
        or first_text(item.annotations, "description", "summary", "message"),
        starts_at=item.starts_at or envelope.starts_at or received_at,
        ends_at=item.ends_at,
        generator_url=item.generator_url,
        fingerprint=fingerprint_of({"dedup_key": explicit_key}) if explicit_key else "",
        occurrence=occurrence,
        severity=severity_from_text(item.severity) if item.severity else None,
        identifiers=identifiers,
    )
