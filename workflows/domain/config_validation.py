"""Cross-reference checks over a `ConfigDocument`: what a schema alone cannot see.

Each problem carries the path of the offending value in the document (`("routes", 2,
"escalation_policy")`), so the config tooling can point at the YAML line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from workflows.domain.base import Frozen
from workflows.domain.config import ConfigDocument, Target
from workflows.domain.schedule_model import Schedule

Path = tuple[str | int, ...]


class ConfigProblem(Frozen):
    """One thing wrong with a document, at `path` (keys and list indexes from the top)."""

    path: Path
    message: str


def validate_references(doc: ConfigDocument) -> list[ConfigProblem]:
    """Every dangling reference, duplicate id and overlapping override, in document order."""
    checks = (_duplicates, _users, _teams, _services, _schedules, _policies, _routes, _windows)
    return [problem for check in checks for problem in check(doc)]


_COLLECTIONS = {
    "users": "user",
    "teams": "team",
    "services": "service",
    "schedules": "schedule",
    "escalation_policies": "escalation policy",
    "routes": "route",
    "maintenance_windows": "maintenance window",
    "silences": "silence",
}


def _duplicates(doc: ConfigDocument) -> Iterator[ConfigProblem]:
    for name, noun in _COLLECTIONS.items():
        ids = [(i, item.id) for i, item in enumerate(getattr(doc, name)) if item.id]
        yield from _repeated(ids, (name,), noun)
    methods = [
        ((u, "contact_methods", m), method.id)
        for u, user in enumerate(doc.users)
        for m, method in enumerate(user.contact_methods)
    ]
    seen: dict[str, Path] = {}
    for (u, field, m), method_id in methods:
        if method_id in seen:
            yield ConfigProblem(path=("users", u, field, m, "id"),
                                message=f"duplicate contact method id {method_id!r}; contact "
                                "method ids must be unique across all users")
        seen.setdefault(method_id, ("users", u, field, m))


def _repeated(ids: Iterable[tuple[int, str]], prefix: Path, noun: str) -> Iterator[ConfigProblem]:
    ids = list(ids)
    counts = Counter(item_id for _, item_id in ids)
    first_seen: set[str] = set()
    for index, item_id in ids:
        if counts[item_id] > 1 and item_id in first_seen:
            yield ConfigProblem(path=(*prefix, index, "id"), message=f"duplicate {noun} id "
                                f"{item_id!r}")
        first_seen.add(item_id)


def _users(doc: ConfigDocument) -> Iterator[ConfigProblem]:
    for u, user in enumerate(doc.users):
        own = {method.id for method in user.contact_methods}
        for r, rule in enumerate(user.notification_rules):
            if rule.method not in own:
                yield ConfigProblem(
                    path=("users", u, "notification_rules", r, "method"),
                    message=f"user {user.id!r} has no contact method {rule.method!r}",
                )


def _teams(doc: ConfigDocument) -> Iterator[ConfigProblem]:
    users = {user.id for user in doc.users}
    for t, team in enumerate(doc.teams):
        for m, member in enumerate(team.members):
            if member not in users:
                yield ConfigProblem(path=("teams", t, "members", m),
                                    message=f"team {team.id!r} names unknown user {member!r}")
        if team.fallback is not None:
            yield from _target(doc, team.fallback, ("teams", t, "fallback"))


def _services(doc: ConfigDocument) -> Iterator[ConfigProblem]:
    service_ids = {service.id for service in doc.services}
    for s, service in enumerate(doc.services):
        here: Path = ("services", s)
        if service.team and doc.team(service.team) is None:
            yield ConfigProblem(path=(*here, "team"), message=f"unknown team {service.team!r}")
        if service.escalation_policy and doc.policy(service.escalation_policy) is None:
            yield ConfigProblem(path=(*here, "escalation_policy"),
                                message=f"unknown escalation policy {service.escalation_policy!r}")
        for d, dependency in enumerate(service.depends_on):
            if dependency not in service_ids or dependency == service.id:
                what = "itself" if dependency == service.id else f"unknown service {dependency!r}"
                yield ConfigProblem(path=(*here, "depends_on", d),
                                    message=f"service {service.id!r} depends on {what}")
    yield from _dependency_cycles(doc)


def _dependency_cycles(doc: ConfigDocument) -> Iterator[ConfigProblem]:
    graph = {service.id: set(service.depends_on) for service in doc.services}
    for s, service in enumerate(doc.services):
        stack, seen = list(graph[service.id] - {service.id}), set()
        while stack:
            current = stack.pop()
            if current == service.id:
                yield ConfigProblem(path=("services", s, "depends_on"),
                                    message=f"service {service.id!r} is part of a dependency cycle")
                break
            if current not in seen:
                seen.add(current)
                stack.extend(graph.get(current, ()))


def _schedules(doc: ConfigDocument) -> Iterator[ConfigProblem]:
    users = {user.id for user in doc.users}
    for s, schedule in enumerate(doc.schedules):
        yield from _repeated(((i, layer.id) for i, layer in enumerate(schedule.layers)),
                             ("schedules", s, "layers"), "layer")
        for i, layer in enumerate(schedule.layers):
            for p, person in enumerate(layer.participants):
                if person not in users:
                    yield ConfigProblem(path=("schedules", s, "layers", i, "participants", p),
                                        message=f"unknown user {person!r}")
        for o, override in enumerate(schedule.overrides):
            if override.user not in users:
                yield ConfigProblem(path=("schedules", s, "overrides", o, "user"),
                                    message=f"unknown user {override.user!r}")
            if override.layer and override.layer not in {layer.id for layer in schedule.layers}:
                yield ConfigProblem(path=("schedules", s, "overrides", o, "layer"),
                                    message=f"schedule {schedule.id!r} has no layer "
                                    f"{override.layer!r}")
        yield from _overlapping_overrides(schedule, s)


def _overlapping_overrides(schedule: Schedule, s: int) -> Iterator[ConfigProblem]:
    overrides = list(enumerate(schedule.overrides))
    for o, override in overrides:
        for earlier_index, earlier in overrides[:o]:
            same_layer = earlier.layer == override.layer
            if same_layer and earlier.start < override.end and override.start < earlier.end:
                on_layer = f" on layer {override.layer!r}" if override.layer else ""
                yield ConfigProblem(
                    path=("schedules", s, "overrides", o),
                    message=f"override overlaps override #{earlier_index + 1} of schedule "
                    f"{schedule.id!r}{on_layer}",
                )
                break


def _policies(doc: ConfigDocument) -> Iterator[ConfigProblem]:
    for p, policy in enumerate(doc.escalation_policies):
        for s, step in enumerate(policy.steps):
            for t, target in enumerate(step.notify):
                yield from _target(doc, target, ("escalation_policies", p, "steps", s, "notify",
                                                 t))


def _target(doc: ConfigDocument, target: Target, path: Path) -> Iterator[ConfigProblem]:
    lookups = {"schedule": doc.schedule, "user": doc.user, "team": doc.team}
    if lookups[target.kind](target.ref) is None:
        yield ConfigProblem(path=(*path, target.kind),
                            message=f"unknown {target.kind} {target.ref!r}")


def _routes(doc: ConfigDocument) -> Iterator[ConfigProblem]:
    if doc.default_escalation_policy and doc.policy(doc.default_escalation_policy) is None:
        yield ConfigProblem(path=("default_escalation_policy",),
                            message=f"unknown escalation policy {doc.default_escalation_policy!r}")
    for r, route in enumerate(doc.routes):
        if route.escalation_policy and doc.policy(route.escalation_policy) is None:
            yield ConfigProblem(path=("routes", r, "escalation_policy"),
                                message=f"unknown escalation policy {route.escalation_policy!r}")


def _windows(doc: ConfigDocument) -> Iterator[ConfigProblem]:
    for w, window in enumerate(doc.maintenance_windows):
        for s, service in enumerate(window.services):
            if doc.service(service) is None:
                yield ConfigProblem(path=("maintenance_windows", w, "services", s),
                                    message=f"unknown service {service!r}")
