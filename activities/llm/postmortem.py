"""Local post-mortem drafts: Markdown built only from recorded facts (nothing invented)."""

from __future__ import annotations

from datetime import timedelta

from workflows.domain.analysis import Diagnosis, IncidentFacts, TimelineEntry


def _duration(delta: timedelta | None) -> str:
    if delta is None:
        return "unknown (not resolved)"
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _root_cause(diagnosis: Diagnosis | None) -> list[str]:
    if diagnosis is None or not diagnosis.hypotheses:
        return ["Unknown: no diagnosis was recorded."]
    top = diagnosis.top
    lines = [
        (
            f"**{top.cause}** (service `{top.service or 'n/a'}`, {top.category.value}, "
            f"confidence {top.confidence:.0%}, by the {diagnosis.analyzer} analyzer)"
        ),
        "",
    ]
    lines += [f"- {e.source.value} `{e.ref}`: {e.detail}" for e in top.evidence]
    others = diagnosis.hypotheses[1:]
    if others:
        lines += ["", "Other hypotheses considered:"]
        lines += [f"- {h.cause} ({h.confidence:.0%})" for h in others]
    return lines


def _actions(facts: IncidentFacts, diagnosis: Diagnosis | None) -> list[str]:
    items = []
    if diagnosis and diagnosis.top.cause != "unknown":
        items.append(
            f"- [ ] Fix the root cause in `{diagnosis.top.service}`: "
            f"{diagnosis.top.cause} (owner: TBD)"
        )
    items += [
        f"- [ ] Review runbook `{r.runbook_id}` against what was done (owner: TBD)"
        for r in (diagnosis.runbooks[:1] if diagnosis else [])
    ]
    if facts.acknowledged_at and facts.acknowledged_at - facts.opened_at > timedelta(minutes=5):
        items.append("- [ ] Find out why acknowledgement took more than 5 minutes (owner: TBD)")
    items.append("- [ ] Add or tune an alert that would have caught this earlier (owner: TBD)")
    return items


def draft_postmortem(
    facts: IncidentFacts, timeline: list[TimelineEntry], diagnosis: Diagnosis | None
) -> str:
    """A blameless Markdown draft: summary, root cause, timeline, impact, lessons, actions."""
    ended = facts.resolved_at
    services = facts.affected_services or ([facts.service] if facts.service else [])
    to_ack = facts.acknowledged_at - facts.opened_at if facts.acknowledged_at else None
    lines = [
        f"# Post-mortem: {facts.title}",
        "",
        f"*Draft for incident `{facts.incident_id}` — review before publishing.*",
        "",
        "## Summary",
        f"A {facts.severity.value} ({facts.severity.priority}) {facts.category.value} incident "
        f"affecting {', '.join(services) or 'unknown services'} opened at "
        f"{facts.opened_at:%Y-%m-%d %H:%M} UTC"
        + (f" and was resolved at {ended:%Y-%m-%d %H:%M} UTC." if ended else " and is unresolved."),
        "",
        "## Root cause",
        *_root_cause(diagnosis),
        "",
        "## Timeline (UTC)",
        *[
            f"- {e.at:%H:%M:%S} — {e.summary} ({e.actor})"
            for e in sorted(timeline, key=lambda e: e.at)
        ],
        "",
        "## Impact",
        f"- Duration: {_duration(ended - facts.opened_at if ended else None)}",
        f"- Time to acknowledge: {_duration(to_ack) if to_ack else 'not acknowledged'}",
        f"- Affected services: {', '.join(services) or 'unknown'}",
        f"- Alerts: {facts.alert_count}; pages sent: {facts.pages_sent}",
        "",
        "## Lessons",
        "- What went well: _to fill in_",
        "- What went poorly: _to fill in_",
        "",
        "## Preventive measures",
        *(
            [f"- {s.action} (`{s.command}`, risk {s.risk.value})" for s in diagnosis.remediation]
            if diagnosis and diagnosis.remediation
            else ["- _to fill in_"]
        ),
        "",
        "## Action items",
        *_actions(facts, diagnosis),
    ]
    return "\n".join(lines) + "\n"
