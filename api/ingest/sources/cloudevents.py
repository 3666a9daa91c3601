"""CloudEvents 1.0 over HTTP: structured, batched and binary content modes.

* structured: `Content-Type: application/cloudevents+json`, the body is one event;
* batched: `Content-Type: application/cloudevents-batch+json`, the body is a JSON list of events
  (per-item results: a bad event is reported by index, the good ones are kept);
* binary: the attributes are `ce-*` headers (`ce-specversion`, `ce-id`, `ce-source`, `ce-type`,
  optional `ce-time`, `ce-subject`), the body is the event `data` and `Content-Type` its
  `datacontenttype`, which must be JSON (`application/json` or `*/*+json`).

Required attributes `specversion` ("1.0"), `id`, `source` and `type` are validated. `data` (or
`data_base64` holding JSON) is an object in the generic alert shape (docs/ingestion.md), every
field optional here: title falls back to `subject`, then `type`; status falls back to `resolved`
when `type` ends in `.resolved`, else `firing`; `starts_at` falls back to `time`, then the
receive time. Unknown data fields are ignored (producers enrich events).

Occurrence identity is the event's `source` + `id` (the spec says that pair is unique per
event), so a redelivered event is the same alert id whatever its timestamps; the alert identity
(`fingerprint`) follows the generic rules, so the same alert from CloudEvents and from
Alertmanager-style labels is the same alert. Attributes are kept as `source.ce_*` annotations.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import ConfigDict, Field, ValidationError

from api.ingest.base import IngestLimits, ParsedBatch
from api.ingest.errors import IngestError, describe
from api.ingest.sources.generic import Envelope, GenericAlert, generic_alert
from api.ingest.wire import (
    ItemInvalid,
    VendorModel,
    WireTime,
    check_batch_size,
    decode_json,
    item_error,
    lower_keys,
    media_type,
)
from workflows.domain.alerts import Alert

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


class CloudEvent(VendorModel):
    specversion: Literal["1.0"]
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str = ""
    time: WireTime | None = None
    datacontenttype: str = ""
    data: Any = None
    data_base64: str | None = None


class CloudEventAlertData(GenericAlert):
    """The generic alert shape with every field optional and unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    title: str = Field(default="", max_length=1024)


class CloudEventsSource:
    """`POST /api/v1/alerts/cloudevents`: any CloudEvents 1.0 HTTP producer."""

    kind = "cloudevents"

    def __init__(self, limits: IngestLimits) -> None:
        self.limits = limits

    def parse(
        self, body: bytes, headers: Mapping[str, str], received_at: datetime
    ) -> ParsedBatch:
        found = media_type(headers)
        if found == STRUCTURED:
            return self._single(decode_json(body), received_at, binary=False)
        if found == BATCH:
            return self._batch(decode_json(body), received_at)
        names = lower_keys(headers)
        if "ce-specversion" in names:
            if not (found == "application/json" or found.endswith("+json")):
                raise IngestError.unsupported_media_type(found, "application/json (binary mode)")
            event = {key[3:]: value for key, value in names.items() if key.startswith("ce-")}
            event |= {"datacontenttype": found, "data": decode_json(body)}
            return self._single(event, received_at, binary=True)
        raise IngestError.unsupported_media_type(
            found, f"{STRUCTURED}, {BATCH}, or JSON with ce-* headers (binary mode)"
        )

    def _single(self, raw: Any, received_at: datetime, binary: bool) -> ParsedBatch:
        try:
            alert = self._alert(raw, received_at)
        except ItemInvalid as exc:
            field = f"ce-{exc.field}" if binary and not exc.field.startswith("data") else exc.field
            raise IngestError.invalid(field or "body", exc.reason) from None
        return ParsedBatch(alerts=[alert], rejected=[])

    def _batch(self, raw: Any, received_at: datetime) -> ParsedBatch:
        if not isinstance(raw, list):
            raise IngestError.invalid("body", "a batch must be a JSON list of events")
        check_batch_size(raw, "body", self.limits.max_batch_alerts)
        alerts: list[Alert] = []
        rejected = []
        for index, item in enumerate(raw):
            try:
                alerts.append(self._alert(item, received_at))
            except ItemInvalid as exc:
                field = f"[{index}].{exc.field}" if exc.field else f"[{index}]"
                rejected.append(item_error(index, field, exc.reason))
        return ParsedBatch(alerts=alerts, rejected=rejected)

    def _alert(self, raw: Any, received_at: datetime) -> Alert:
        event = _validated(CloudEvent, raw, "")
        data = _validated(CloudEventAlertData, _data_of(event), "data")
        envelope = Envelope(
            title=event.subject or event.type,
            status="resolved" if event.type.endswith(".resolved") else "",
            starts_at=event.time,
            annotations=(("ce_source", event.source), ("ce_subject", event.subject)),
        )
        identifiers = {"ce_id": event.id, "ce_type": event.type}
        return generic_alert(
            data, self.kind, received_at, identifiers, cloudevent_id(event), envelope
        )


def cloudevent_id(event: CloudEvent) -> str:
    """Occurrence id from the event's `source` + `id`, in the same `al_…` form as other ids."""
    raw = f"cloudevent\x1f{event.source}\x1f{event.id}"
    return "al_" + hashlib.sha256(raw.encode()).hexdigest()[:20]


def _data_of(event: CloudEvent) -> Any:
    if event.data_base64 is not None:
        try:
            return orjson.loads(base64.b64decode(event.data_base64, validate=True))
        except (binascii.Error, orjson.JSONDecodeError):
            raise ItemInvalid("data_base64", "must be base64 of a JSON object") from None
    if event.data is None:
        raise ItemInvalid("data", "required: the alert object (docs/ingestion.md)")
    return event.data


def _validated(model: type[Any], raw: Any, prefix: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        field, reason = describe(exc.errors(include_url=False), prefix)
        raise ItemInvalid(field, reason) from None
