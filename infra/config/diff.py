"""What applying a new configuration would change, object by object.

Objects are matched by `id` (or by position, `#3`, for routes, windows and silences without
one). A changed object lists the fields that differ; scalar fields show old and new values.
Route order matters (first match wins), so a reordering is reported as a change of its own.
"""

from __future__ import annotations

from enum import StrEnum

from workflows.domain.base import Frozen
from workflows.domain.config import ConfigDocument

COLLECTIONS = {
    "users": "user",
    "teams": "team",
    "services": "service",
    "schedules": "schedule",
    "escalation_policies": "escalation policy",
    "routes": "route",
    "maintenance_windows": "maintenance window",
    "silences": "silence",
}
_SYMBOL = {"added": "+", "removed": "-", "changed": "~"}


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


class Change(Frozen):
    kind: ChangeKind
    object_type: str
    id: str
    detail: str = ""

    def render(self) -> str:
        text = f"{_SYMBOL[self.kind.value]} {self.object_type} {self.id}"
        return f"{text}: {self.detail}" if self.detail else text


def diff_configs(old: ConfigDocument, new: ConfigDocument) -> list[Change]:
    """Every added, removed and changed object, collection by collection, in document order."""
    changes = _top_level(old, new)
    for name, object_type in COLLECTIONS.items():
        before, after = _keyed(old, name), _keyed(new, name)
        for key in [k for k in before if k not in after]:
            changes.append(Change(kind=ChangeKind.REMOVED, object_type=object_type, id=key))
        for key, data in after.items():
            if key not in before:
                changes.append(Change(kind=ChangeKind.ADDED, object_type=object_type, id=key))
            elif data != before[key]:
                changes.append(Change(kind=ChangeKind.CHANGED, object_type=object_type, id=key,
                                      detail=_fields_changed(before[key], data)))
    changes.extend(_route_order(old, new))
    return changes


def render_changes(changes: list[Change]) -> str:
    """One line per change (`+ service x`, `- user y`, `~ route z: group_by`), or `No changes.`"""
    if not changes:
        return "No changes."
    return "\n".join(change.render() for change in changes)


def _keyed(doc: ConfigDocument, name: str) -> dict[str, dict[str, object]]:
    items = getattr(doc, name)
    return {
        (item.id or f"#{index + 1}"): item.model_dump(mode="json", by_alias=True)
        for index, item in enumerate(items)
    }


def _fields_changed(before: dict[str, object], after: dict[str, object]) -> str:
    parts = []
    for key in after.keys() | before.keys():
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict | list) or isinstance(new, dict | list):
            parts.append(f"{key} changed")
        else:
            parts.append(f"{key} {old!r} -> {new!r}")
    return "; ".join(sorted(parts))


def _top_level(old: ConfigDocument, new: ConfigDocument) -> list[Change]:
    changes = []
    for key in ("version", "default_escalation_policy"):
        before, after = getattr(old, key), getattr(new, key)
        if before != after:
            changes.append(Change(kind=ChangeKind.CHANGED, object_type="setting", id=key,
                                  detail=f"{before!r} -> {after!r}"))
    return changes


def _route_order(old: ConfigDocument, new: ConfigDocument) -> list[Change]:
    before = [r.id for r in old.routes if r.id]
    after = [r.id for r in new.routes if r.id]
    common_before = [r for r in before if r in after]
    common_after = [r for r in after if r in before]
    if common_before == common_after:
        return []
    detail = f"order {', '.join(common_before)} -> {', '.join(common_after)}"
    return [Change(kind=ChangeKind.CHANGED, object_type="routes", id="(order)", detail=detail)]
