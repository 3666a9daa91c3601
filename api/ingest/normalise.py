"""From a source's fields to a complete `Alert`: times in UTC, identity, tags, redaction.

Every source ends in `build_alert`, so the rules below hold whatever the wire format:

* times are timezone-aware UTC; a naive timestamp is read as UTC; Go's zero time
  (`0001-01-01T00:00:00Z`, Alertmanager's and Grafana's "unset") becomes `None`;
* a *firing* alert has no `ends_at`: for a firing alert Alertmanager/Prometheus send an expiry
  estimate that moves on every re-send, and keeping it would give each repeat a new occurrence id;
* `fingerprint` is `fingerprint_of(labels)` unless the source supplies an identity (generic
  `dedup_key`/`fingerprint`), so the same label set is the same alert from every source;
* `id` is `occurrence_id(fingerprint, status, starts_at, ends_at)` unless the source has its own
  occurrence identity (CloudEvents `source` + `id`);
* tags come from labels and the *redacted* annotations, so a tag can never carry a secret that
  redaction removed from the text;
* title, description and annotation values are redacted (labels are identity: see redaction.py),
  except `identifiers`: machine identifiers a source adds as `source.<name>` annotations
  (vendor fingerprint, receiver name, group key, event id). They are opaque ids or are built from
  labels, which are not redacted either, and skipping them saves a third of redaction's cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple

from workflows.domain.alerts import Alert, AlertStatus, fingerprint_of, occurrence_id
from workflows.domain.base import Severity
from workflows.domain.redaction import redact, redact_annotations
from workflows.domain.tags import tags_from_labels

_STATUS = {"firing": AlertStatus.FIRING, "resolved": AlertStatus.RESOLVED}
SOURCE_ANNOTATION_PREFIX = "source."
"""Annotations we add for traceability (vendor fingerprint, dashboard URL...) use this prefix."""
NO_IDENTIFIERS: Mapping[str, str] = MappingProxyType({})


def to_utc(moment: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def optional_utc(moment: datetime | None) -> datetime | None:
    """`to_utc`, with `None` and Go's zero time (year 1) meaning "not set"."""
    if moment is None or moment.year <= 1:
        return None
    return to_utc(moment)


class AlertDraft(NamedTuple):
    """Everything an alert is built from, hashable (labels and annotations as item tuples)."""

    source: str
    status: str
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str
    fingerprint: str
    occurrence: str
    severity: Severity | None
    identifiers: tuple[tuple[str, str], ...]


def build_alert(
    *,
    source: str,
    status: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    title: str,
    description: str,
    starts_at: datetime,
    ends_at: datetime | None,
    generator_url: str = "",
    fingerprint: str = "",
    occurrence: str = "",
    severity: Severity | None = None,
    identifiers: Mapping[str, str] = NO_IDENTIFIERS,
) -> Alert:
    """A complete alert (see module docstring); empty `identifiers` values are left out."""
    return _normalised(
        AlertDraft(
            source, status, tuple(labels.items()), tuple(annotations.items()), title,
            description, starts_at, ends_at, generator_url, fingerprint, occurrence, severity,
            tuple((SOURCE_ANNOTATION_PREFIX + k, v) for k, v in identifiers.items() if v),
        )
    )


# Storms are mostly exact repeats (Alertmanager re-sends every firing alert of a group on each
# group_interval), and the result is a pure function of the draft, so repeats are served from a
# bounded cache: about 4x cheaper than normalising again. `Alert` is frozen, so sharing one
# instance between requests is safe.
@lru_cache(maxsize=4096)
def _normalised(draft: AlertDraft) -> Alert:
    alert_status = _STATUS[draft.status]
    starts = to_utc(draft.starts_at)
    ends = optional_utc(draft.ends_at) if alert_status is AlertStatus.RESOLVED else None
    labels = dict(draft.labels)
    identity = draft.fingerprint or fingerprint_of(labels)
    annotations = redact_annotations(dict(draft.annotations))
    annotations.update(draft.identifiers)
    tags = tags_from_labels(labels, annotations)
    if draft.severity is not None:
        tags = tags.model_copy(update={"severity": draft.severity})
    # Plain validation, not model_construct: measured on pydantic 2.14, model_construct (pure
    # Python) is slower than validating these already-typed values in pydantic-core, and
    # validation keeps the model's guarantees.
    return Alert(
        id=draft.occurrence or occurrence_id(identity, alert_status, starts, ends),
        fingerprint=identity,
        source=draft.source,
        status=alert_status,
        title=redact(draft.title),
        description=redact(draft.description),
        labels=labels,
        annotations=annotations,
        starts_at=starts,
        ends_at=ends,
        generator_url=draft.generator_url,
        tags=tags,
    )


def first_text(mapping: Mapping[str, str], *keys: str) -> str:
    """The first non-blank value among `keys`, stripped; empty when none."""
    for key in keys:
        value = mapping.get(key)
        if value and (stripped := value.strip()):
            return stripped
    return ""


def with_source_annotations(
    annotations: Mapping[str, str], extra: Mapping[str, str]
) -> dict[str, str]:
    """A copy of `annotations` plus `source.<name>` for each non-empty value in `extra`."""
    merged = dict(annotations)
    for name, value in extra.items():
        if value:
            merged[SOURCE_ANNOTATION_PREFIX + name] = value
    return merged
