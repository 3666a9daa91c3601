"""`lim eval classify FILE.jsonl`: how well the local classifier does on labelled alerts.

Each line: {"alertname", "labels", "annotations", "category", "severity"} (`category` or
`severity` may be missing, not both; that half is then skipped). The classifier is fitted on the
shipped labelled set minus every alert whose name appears in FILE, so figures measure
generalisation. A file that cannot be read, or a line that is not a valid row, raises
`EvalInputError` naming the file and the line, so the CLI can say so in one line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pydantic import Field
from sklearn.metrics import confusion_matrix, f1_score

from activities.llm.classifier import LocalClassifier, normalised_name, request_from_row
from workflows.domain.analysis import Category
from workflows.domain.base import Frozen, Severity


class EvalInputError(ValueError):
    """An evaluation file that cannot be used as given; retrying will not help, fixing it will.

    `str()` is one line: the file, the line number when there is one, and what is wrong.
    """

    def __init__(self, path: str | Path, problem: str, line: int | None = None) -> None:
        where = f"{path} line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")
        self.path, self.line, self.problem = str(path), line, problem


def read_jsonl(path: str | Path, check: Callable[[dict], str | None]) -> list[dict]:
    """The JSON objects of `path`, one per non-blank line; `check(row)` returns a problem or None.

    Raises `EvalInputError` for a missing/unreadable file, a line that is not a JSON object, or
    a row `check` rejects.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvalInputError(path, "no such file") from None
    except IsADirectoryError:
        raise EvalInputError(path, "is a directory, not a JSONL file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalInputError(path, f"cannot read ({exc})") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalInputError(path, f"not JSON ({exc.msg} at column {exc.colno})", number) from None
        if not isinstance(row, dict):
            raise EvalInputError(path, f"expected a JSON object, got {type(row).__name__}", number)
        problem = check(row)
        if problem:
            raise EvalInputError(path, problem, number)
        rows.append(row)
    if not rows:
        raise EvalInputError(path, "no rows (the file is empty)")
    return rows


_CATEGORIES = {c.value for c in Category}
_SEVERITIES = {s.value for s in Severity}


def labelled_row_problem(row: dict) -> str | None:
    """Why `row` is not a usable labelled alert, or None."""
    labels = row.get("labels", {})
    if not isinstance(labels, dict):
        return 'field "labels" must be an object'
    if not isinstance(row.get("annotations", {}), dict):
        return 'field "annotations" must be an object'
    if not (row.get("alertname") or labels.get("alertname")):
        return 'missing field "alertname" (or labels.alertname)'
    if "category" not in row and "severity" not in row:
        return 'missing field "category" (and "severity"; at least one is needed)'
    if "category" in row and row["category"] not in _CATEGORIES:
        return f'unknown category {row["category"]!r} (expected one of {sorted(_CATEGORIES)})'
    if "severity" in row and row["severity"] not in _SEVERITIES:
        return f'unknown severity {row["severity"]!r} (expected one of {sorted(_SEVERITIES)})'
    return None


class Confusion(Frozen):
    labels: list[str]
    matrix: list[list[int]]  # rows = truth, columns = predicted


class AxisReport(Frozen):
    n: int = 0
    accuracy: float = 0.0
    macro_f1: float = 0.0
    within_one: float | None = None  # severity only: predicted at most one level away
    confusion: Confusion = Confusion(labels=[], matrix=[])


class EvalReport(Frozen):
    path: str
    rows: int
    category: AxisReport
    severity: AxisReport
    mistakes: list[str] = Field(default_factory=list)


def _axis(truth: list[str], pred: list[str], labels: list[str]) -> AxisReport:
    if not truth:
        return AxisReport()
    present = [lbl for lbl in labels if lbl in truth or lbl in pred]
    matrix = confusion_matrix(truth, pred, labels=present).tolist()
    return AxisReport(
        n=len(truth),
        accuracy=round(sum(t == p for t, p in zip(truth, pred, strict=True)) / len(truth), 4),
        macro_f1=round(
            float(
                f1_score(truth, pred, labels=sorted(set(truth)), average="macro", zero_division=0)
            ),
            4,
        ),
        confusion=Confusion(labels=present, matrix=matrix),
    )


def evaluate_classifier(path: str | Path, classifier: LocalClassifier | None = None) -> EvalReport:
    """Classify every row of `path` and compare with its labels; `EvalInputError` if unusable."""
    rows = read_jsonl(path, labelled_row_problem)
    clf = classifier or LocalClassifier.shipped({normalised_name(r) for r in rows})
    cat_t, cat_p, sev_t, sev_p, mistakes = [], [], [], [], []
    for row in rows:
        result = clf.classify(request_from_row(row))
        if row.get("category"):
            cat_t.append(row["category"])
            cat_p.append(result.category.value)
            if row["category"] != result.category.value and len(mistakes) < 25:
                mistakes.append(
                    f"{row.get('alertname')}: {row['category']} → {result.category.value}"
                )
        if row.get("severity"):
            sev_t.append(row["severity"])
            sev_p.append(result.severity.value)
    severity = _axis(sev_t, sev_p, [s.value for s in Severity])
    if sev_t:
        close = sum(
            abs(Severity(t).rank - Severity(p).rank) <= 1 for t, p in zip(sev_t, sev_p, strict=True)
        )
        severity = severity.model_copy(update={"within_one": round(close / len(sev_t), 4)})
    return EvalReport(
        path=str(path),
        rows=len(rows),
        category=_axis(cat_t, cat_p, [c.value for c in Category]),
        severity=severity,
        mistakes=mistakes,
    )


def _matrix_text(conf: Confusion) -> list[str]:
    short = [lbl[:6] for lbl in conf.labels]
    lines = ["truth \\ pred".ljust(22) + " ".join(s.rjust(6) for s in short)]
    for label, row in zip(conf.labels, conf.matrix, strict=True):
        lines.append(label[:21].ljust(22) + " ".join(str(v).rjust(6) for v in row))
    return lines


def render_report(report: EvalReport) -> str:
    """Human-readable figures and confusion matrices."""
    out = [f"file: {report.path} ({report.rows} alerts)", ""]
    for name, axis in (("category", report.category), ("severity", report.severity)):
        if not axis.n:
            continue
        head = f"{name}: n={axis.n} accuracy={axis.accuracy:.3f} macro-F1={axis.macro_f1:.3f}"
        if axis.within_one is not None:
            head += f" within-one-level={axis.within_one:.3f}"
        out += [head, *_matrix_text(axis.confusion), ""]
    if report.mistakes:
        out += ["some category mistakes:", *(f"  {m}" for m in report.mistakes)]
    return "\n".join(out)
