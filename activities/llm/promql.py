"""From an alert's Prometheus link to the query worth plotting: pure string work, no I/O.

Alertmanager alerts carry `generatorURL`, Prometheus's graph link for the rule, whose `g0.expr`
parameter is the rule's expression (`http://prom:9090/graph?g0.expr=...&g0.tab=1`). Grafana's
links point at its own alert page and carry no expression: those alerts are skipped.

An alert expression is usually `<series> <comparison> <threshold>`. Querying it as-is returns
only the points where the alert held, so the window before the onset is empty and any baseline
drawn from the result is the surge itself: the anomaly would be invisible. We query the
comparison's series side instead, which has values before and during the incident. Where that
side cannot be separated honestly (a top-level `and`/`or`/`unless` mixes several conditions),
the expression is queried as-is: its baseline is then weak, but never invented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

_OPEN, _CLOSE = "([{", ")]}"
_COMPARISON = re.compile(r"==|!=|>=|<=|>|<")
_SET_OPERATOR = re.compile(r"\b(?:and|or|unless)\b", re.IGNORECASE)
_BOOL = re.compile(r"^\s*bool\b", re.IGNORECASE)


@dataclass(frozen=True)
class SeriesQuery:
    """What to ask Prometheus for, and which direction is bad (the alert's own comparison)."""

    query: str
    higher_is_worse: bool = True


def alert_expression(generator_url: str) -> str:
    """The rule expression in a Prometheus graph link (`g0.expr`); '' when there is none."""
    params = parse_qs(urlsplit(generator_url or "").query)
    return (params.get("g0.expr") or [""])[0].strip()


def series_query(expression: str) -> SeriesQuery:
    """The series an alert expression compares against its threshold (see the module doc)."""
    expr = _unwrapped(expression.strip())
    flat = _top_level(expr)
    found = _COMPARISON.search(flat)
    if found is None or _SET_OPERATOR.search(flat):
        return SeriesQuery(expr)
    left, op = expr[:found.start()].strip(), found.group()
    right = _BOOL.sub("", expr[found.end():]).strip()
    if _is_number(left) and not _is_number(right):  # `5 < rate(...)`: threshold first
        return SeriesQuery(_unwrapped(right), higher_is_worse=op in ("<", "<="))
    # The left side is the alerting series, also when the right is a vector (`a > on() b`).
    return SeriesQuery(_unwrapped(left), higher_is_worse=op not in ("<", "<="))


def _top_level(expr: str) -> str:
    """`expr` with everything inside brackets or string literals blanked out (same length),
    so operators found in it are the expression's own, not a label matcher's or a function's."""
    out, depth = [], 0
    for ch, in_string in _scan(expr):
        if in_string:
            out.append(" ")
            continue
        depth += ch in _OPEN
        out.append(ch if depth == 0 and ch not in _CLOSE else " ")
        depth = max(0, depth - (ch in _CLOSE))
    return "".join(out)


def _scan(expr: str):
    """Each character with whether it belongs to a string literal (quotes and escapes too)."""
    quote, escaped = "", False
    for ch in expr:
        if quote:
            yield ch, True
            if escaped:
                escaped = False
            elif ch == "\\" and quote != "`":  # raw strings (backticks) have no escapes
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
            yield ch, True
        else:
            yield ch, False


def _unwrapped(expr: str) -> str:
    """`(a > 5)` -> `a > 5`, only when the outer parentheses enclose the whole expression."""
    while expr.startswith("(") and expr.endswith(")") and _balanced(expr[1:-1]):
        expr = expr[1:-1].strip()
    return expr


def _balanced(expr: str) -> bool:
    depth = 0
    for ch, in_string in _scan(expr):
        if not in_string:
            depth += (ch in _OPEN) - (ch in _CLOSE)
            if depth < 0:
                return False
    return depth == 0


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
