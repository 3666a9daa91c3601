"""What `lim config check`, `lim apply` and `lim config export` do; the CLI only prints.

Each function returns the text to show. `check_command` also returns the exit code;
`apply_command` raises `ConfigInvalid` (exit 1, fix the file) or `ConfigConflict` (retry).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from infra.config.diff import diff_configs, render_changes
from infra.config.export import export_config
from infra.config.loader import check_config, load_config_file
from infra.config.store import ConfigStore
from workflows.domain.config import ConfigDocument
from workflows.domain.config_types import format_duration
from workflows.domain.schedules import gaps_between

GAP_HORIZON = timedelta(days=14)


def check_command(path: str | Path, now: datetime | None = None) -> tuple[int, str]:
    """(0, summary) for a valid file; (1, one line per problem) otherwise.

    A valid file also gets a warning for each schedule with nobody on call at some point in
    the two weeks from `now` (default: the current time); warnings do not fail the check.
    """
    problems = check_config(path)
    if problems:
        lines = [problem.render(str(path)) for problem in problems]
        noun = "problem" if len(problems) == 1 else "problems"
        return 1, "\n".join([*lines, f"{len(problems)} {noun} in {path}"])
    doc = load_config_file(path)
    warnings = gap_warnings(doc, now or datetime.now(UTC))
    return 0, "\n".join([f"{path}: OK ({summary(doc)})", *warnings])


def gap_warnings(doc: ConfigDocument, start: datetime) -> list[str]:
    """One line per schedule that leaves nobody on call within `GAP_HORIZON` of `start`."""
    warnings = []
    for schedule in doc.schedules:
        gaps = gaps_between(schedule, start, start + GAP_HORIZON)
        if gaps:
            total = sum((gap.end - gap.start for gap in gaps), timedelta(0))
            warnings.append(
                f"warning: schedule {schedule.id!r} has nobody on call for "
                f"{format_duration(total)} in the next {GAP_HORIZON.days} days "
                f"(first gap from {gaps[0].start:%Y-%m-%d %H:%M} UTC)"
            )
    return warnings


def apply_command(engine: Engine, path: str | Path, actor: str, dry_run: bool = False) -> str:
    """Show the diff against the stored configuration, then store the file as a new version.

    With `dry_run` nothing is stored. An unchanged file stores nothing and says so.
    """
    doc = load_config_file(path)
    store = ConfigStore(engine)
    current = store.current()
    changes = diff_configs(current.document if current else ConfigDocument(), doc)
    lines = [render_changes(changes)]
    if dry_run:
        lines.append("Dry run: nothing applied.")
    elif not changes and current is not None:
        lines.append(f"Version {current.version} stays current.")
    else:
        # Based on the version the diff was shown against: someone else's apply in between
        # fails this one (ConfigConflict) instead of being undone unseen.
        version = store.apply(doc, actor, based_on=current.version if current else 0)
        lines.append(f"Applied as version {version} by {actor}.")
    return "\n".join(lines)


def export_command(engine: Engine) -> str:
    """The stored configuration as YAML (an empty document before the first apply)."""
    current = ConfigStore(engine).current()
    return export_config(current.document if current else ConfigDocument())


def summary(doc: ConfigDocument) -> str:
    """`3 users, 2 teams, ...` for the collections that are not empty."""
    counts = [
        (len(doc.users), "user"), (len(doc.teams), "team"), (len(doc.services), "service"),
        (len(doc.schedules), "schedule"), (len(doc.escalation_policies), "escalation policy"),
        (len(doc.routes), "route"), (len(doc.maintenance_windows), "maintenance window"),
        (len(doc.silences), "silence"),
    ]
    parts = [f"{n} {_plural(noun, n)}" for n, noun in counts if n]
    return ", ".join(parts) or "empty"


def _plural(noun: str, count: int) -> str:
    if count == 1:
        return noun
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
