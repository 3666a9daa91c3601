"""What can go wrong while reading a request, as values the route turns into HTTP answers.

Two kinds, on purpose:

* `IngestError` — the *whole request* is unusable (not JSON, wrong content type, too large, the
  envelope has the wrong shape, too many alerts). Nothing from it is stored. It is a client
  error: retrying the same bytes never helps (`retryable` is always False).
* `ItemError` — *one item* of an otherwise good batch is invalid. The batch keeps its valid
  items (per-item results, not all-or-nothing: a sender such as Alertmanager cannot split a batch
  and would otherwise lose every good alert to one bad one). Each rejected item is reported
  with its index in the sender's list and the field path that failed.
"""

from __future__ import annotations

from pydantic_core import ErrorDetails

from workflows.domain.base import Frozen


class ItemError(Frozen):
    """One rejected item: `index` in the sender's list, `field` path such as `alerts[3].labels`."""

    index: int
    field: str
    reason: str


class IngestError(Exception):
    """The whole request is refused; `status_code` is the HTTP answer, `field` what was wrong."""

    retryable = False  # the same bytes fail the same way; the sender must change the request

    def __init__(self, status_code: int, reason: str, field: str = "") -> None:
        super().__init__(f"{status_code} {field + ': ' if field else ''}{reason}")
        self.status_code = status_code
        self.reason = reason
        self.field = field

    def as_json(self) -> dict[str, str | int | bool]:
        """The body the route answers with."""
        return {"error": self.reason, "field": self.field, "retryable": self.retryable}

    @classmethod
    def malformed_json(cls, message: str, line: int, column: int) -> IngestError:
        return cls(400, f"malformed JSON at line {line}, column {column}: {message}", "body")

    @classmethod
    def unsupported_media_type(cls, got: str, expected: str) -> IngestError:
        return cls(415, f"Content-Type must be {expected} (got {got or 'none'})", "content-type")

    @classmethod
    def body_too_large(cls, size: int, limit: int) -> IngestError:
        return cls(413, f"body is {size} bytes; the limit is {limit} bytes", "body")

    @classmethod
    def too_many_alerts(cls, field: str, count: int, limit: int) -> IngestError:
        return cls(413, f"{count} alerts in one request; the limit is {limit}", field)

    @classmethod
    def invalid(cls, field: str, reason: str) -> IngestError:
        return cls(422, reason, field)


def ensure_body_within(size: int, limit: int) -> None:
    """Raise 413 when a body (or its declared Content-Length) exceeds `limit` bytes.

    The route calls this before reading the body when Content-Length is known, and on the
    bytes read otherwise; sources never see an oversized body.
    """
    if size > limit:
        raise IngestError.body_too_large(size, limit)


def field_path(prefix: str, loc: tuple[int | str, ...]) -> str:
    """`("alerts", 3, "labels")` → `alerts[3].labels`; `prefix` is prepended the same way."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def describe(errors: list[ErrorDetails], prefix: str = "") -> tuple[str, str]:
    """(field, reason) for the first pydantic error, noting how many more there were."""
    first = errors[0]
    reason = first["msg"]
    if len(errors) > 1:
        reason += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return field_path(prefix, tuple(first["loc"])), reason
