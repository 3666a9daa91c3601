"""Runbooks: Markdown files with YAML front matter, ranked for an incident by TF-IDF.

Front matter keys: `title`, `tags`, `categories`, `services`, `remediation` (a list of
{action, command, expected_outcome, risk}). The body is free Markdown for humans. The starter
set ships in `activities/llm/runbooks/`; `AiSettings.runbooks_dir` points at your own folder.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import Field
from sklearn.feature_extraction.text import TfidfVectorizer

from workflows.domain.analysis import Category, RemediationStep, RunbookRef
from workflows.domain.base import Frozen

STARTER_DIR = Path(__file__).parent / "runbooks"
MIN_SCORE = 0.08  # below this a runbook is not attached: a wrong runbook misleads
CATEGORY_BONUS = 0.15


class RunbookFormatError(ValueError):
    """A runbook file cannot be parsed; fixing the file (not retrying) helps."""


class Runbook(Frozen):
    runbook_id: str
    title: str
    path: str
    tags: list[str] = Field(default_factory=list)
    categories: list[Category] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    remediation: list[RemediationStep] = Field(default_factory=list)
    body: str = ""

    def ref(self, score: float) -> RunbookRef:
        return RunbookRef(runbook_id=self.runbook_id, title=self.title, score=score, path=self.path)


def parse_runbook(path: Path) -> Runbook:
    """One runbook file; raises `RunbookFormatError` naming the file when malformed."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise RunbookFormatError(f"{path}: missing YAML front matter")
    try:
        _, front, body = text.split("---", 2)
        meta = yaml.safe_load(front) or {}
        return Runbook(runbook_id=path.stem, path=path.name, body=body.strip(), **meta)
    except (ValueError, yaml.YAMLError) as exc:
        raise RunbookFormatError(f"{path}: {exc}") from exc


class RunbookLibrary:
    """All runbooks of a folder, indexed for retrieval."""

    def __init__(self, runbooks: list[Runbook]) -> None:
        self.runbooks = sorted(runbooks, key=lambda r: r.runbook_id)
        self._vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        docs = [self._document(r) for r in self.runbooks] or [""]
        self._matrix = self._vectorizer.fit_transform(docs)

    @classmethod
    def load(cls, folder: Path | None = None) -> RunbookLibrary:
        folder = folder or STARTER_DIR
        return cls([parse_runbook(p) for p in sorted(folder.glob("*.md"))])

    @staticmethod
    def _document(r: Runbook) -> str:
        # Title and tags repeated: they say what the runbook is for; the body says how.
        head = " ".join([r.title, *r.tags, *(c.value.replace("_", " ") for c in r.categories)])
        return f"{head} {head} {' '.join(r.services)} {r.body}".lower()

    def search(
        self, text: str, category: Category | None = None, service: str = "", limit: int = 3
    ) -> list[tuple[Runbook, float]]:
        """Runbooks ranked for an incident's text, best first, only those above `MIN_SCORE`."""
        if not self.runbooks:
            return []
        sims = (self._matrix @ self._vectorizer.transform([text.lower()]).T).toarray().ravel()
        ranked = []
        for runbook, sim in zip(self.runbooks, sims, strict=True):
            score = float(sim)
            if category is not None and category in runbook.categories and score > 0:
                score += CATEGORY_BONUS
            if service and service in runbook.services:
                score += 0.05
            if score >= MIN_SCORE:
                ranked.append((runbook, round(min(score, 1.0), 4)))
        ranked.sort(key=lambda pair: (-pair[1], pair[0].runbook_id))
        return ranked[:limit]


def remediation_for(runbook: Runbook, service: str) -> list[RemediationStep]:
    """The runbook's steps with `{service}` filled in; other placeholders stay for a human."""
    return [
        step.model_copy(
            update={"command": step.command.replace("{service}", service or "{service}")}
        )
        for step in runbook.remediation
    ]
