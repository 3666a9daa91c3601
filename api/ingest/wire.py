"""Reading request bytes: content type, JSON (orjson), and schema validation with field paths.

Wire schemas are pydantic models with `VendorModel` config: strict types (a label value that is a
number is an error, not silently converted), `extra="ignore"` because vendors add fields in minor
releases, and required fields enforced. Timestamps are the one lax type: RFC 3339 strings are
what every source sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from api.ingest.errors import IngestError, ItemError, describe

WireTime = Annotated[datetime, Field(strict=False)]
"""An RFC 3339 timestamp; nanosecond fractions (Go) are truncated to microseconds."""

Model = TypeVar("Model", bound=BaseModel)


class VendorModel(BaseModel):
    """A payload defined by someone else: strict types, unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class OwnModel(BaseModel):
    """A payload we define and document: strict types, unknown fields refused (typos surface)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class ItemInvalid(Exception):
    """Raised while normalising one item; becomes an `ItemError` for that index."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def media_type(headers: Mapping[str, str]) -> str:
    """The lower-cased media type of the request, without parameters such as charset."""
    value = headers.get("content-type") or headers.get("Content-Type") or ""
    return value.split(";", 1)[0].strip().lower()


def require_media_type(headers: Mapping[str, str], accepted: tuple[str, ...]) -> str:
    """Return the request's media type, or raise 415 naming what is accepted."""
    found = media_type(headers)
    if found not in accepted:
        raise IngestError.unsupported_media_type(found, " or ".join(accepted))
    return found


def decode_json(body: bytes) -> Any:
    """Parse JSON with orjson; 400 naming line and column when it is not JSON."""
    if not body.strip():
        raise IngestError(400, "empty body; expected JSON", "body")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise IngestError.malformed_json(exc.msg, exc.lineno, exc.colno) from None


def validate(model: type[Model], data: Any, prefix: str = "") -> Model:
    """Validate a whole-request object; 422 naming the first failing field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        field, reason = describe(exc.errors(include_url=False), prefix)
        raise IngestError.invalid(field or prefix or "body", reason) from None


def check_batch_size(items: list[Any], field: str, limit: int) -> None:
    if len(items) > limit:
        raise IngestError.too_many_alerts(field, len(items), limit)


def validate_items(
    adapter: TypeAdapter[list[Model]], model: type[Model], items: list[Any], prefix: str,
    indexes: list[int] | None = None,
) -> tuple[list[tuple[int, Model]], list[ItemError]]:
    """Validate every item; the valid ones with their index, and one `ItemError` per bad one.

    `indexes` are the items' positions in the request when `items` is a subset of it (errors
    must name the field the sender sent). Fast path: one pydantic call over the whole list (the
    common, all-valid case). Only when it fails are items validated one by one, to keep the good
    ones.
    """
    positions = indexes if indexes is not None else range(len(items))
    try:
        return list(zip(positions, adapter.validate_python(items))), []
    except ValidationError:
        pass
    valid: list[tuple[int, Model]] = []
    rejected: list[ItemError] = []
    for index, item in zip(positions, items):
        try:
            valid.append((index, model.model_validate(item)))
        except ValidationError as exc:
            field, reason = describe(exc.errors(include_url=False), f"{prefix}[{index}]")
            rejected.append(item_error(index, field, reason))
    return valid, rejected


def item_error(index: int, field: str, reason: str) -> ItemError:
    return ItemError(index=index, field=field, reason=reason)


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lower-cased (Starlette's already are; plain dicts in callers may not be)."""
    return {key.lower(): value for key, value in headers.items()}
