"""Which analyzer answers: Claude when a key is set and budget remains, else the local one.

Every answer says who answered (`classifier` / `analyzer` / `generator`) and, when the local
analyzer stood in, why (`fallback_reason`): no key, budget exhausted, timeout, HTTP error,
unparseable answer. Nothing is retried here: a transient failure falls back at once, because
a triage answer now beats a better one in a minute; Temporal retries the activity only if the
local analyzer itself fails.
"""

from __future__ import annotations

from typing import Protocol

from activities.llm.analyzer import LocalAnalyzer
from activities.llm.classifier import LocalClassifier
from activities.llm.claude import ClaudeAnalyzer, ClaudeClient, LlmError
from activities.llm.postmortem import draft_postmortem
from activities.llm.runbooks import RunbookLibrary
from infra.settings.ai import AiSettings
from workflows.domain.analysis import (
    Classification,
    ClassifyRequest,
    DiagnoseRequest,
    Diagnosis,
    PostmortemDraft,
    PostmortemRequest,
)


class Analyzer(Protocol):
    """Answers the three questions with the shared models."""

    kind: str

    async def classify(self, req: ClassifyRequest) -> Classification: ...

    async def diagnose(self, req: DiagnoseRequest) -> Diagnosis: ...

    async def postmortem(self, req: PostmortemRequest) -> PostmortemDraft: ...


class LocalEngine:
    """The offline `Analyzer`: local classifier, local analyzer, template post-mortem."""

    kind = "local"

    def __init__(self, classifier: LocalClassifier, analyzer: LocalAnalyzer) -> None:
        self.classifier, self.analyzer = classifier, analyzer

    async def classify(self, req: ClassifyRequest) -> Classification:
        return self.classifier.classify(req)

    async def diagnose(self, req: DiagnoseRequest) -> Diagnosis:
        return self.analyzer.diagnose(req)

    async def postmortem(self, req: PostmortemRequest) -> PostmortemDraft:
        markdown = draft_postmortem(req.facts, req.timeline, req.diagnosis)
        return PostmortemDraft(incident_id=req.facts.incident_id, markdown=markdown)


class FallbackAnalyzer:
    """Claude first (if configured and affordable), the local engine on any LLM failure."""

    kind = "fallback"

    def __init__(self, local: LocalEngine, claude: Analyzer | None, budget: int) -> None:
        self.local, self.claude, self.budget = local, claude, budget

    def _skip_reason(self, tokens_spent: int) -> str:
        if self.claude is None:
            return "no Anthropic API key configured"
        if tokens_spent >= self.budget:
            return f"token budget exhausted ({tokens_spent} of {self.budget} spent)"
        return ""

    async def _answer(self, question: str, req, tokens_spent: int):
        reason = self._skip_reason(tokens_spent)
        if not reason:
            try:
                return await getattr(self.claude, question)(req)
            except LlmError as exc:
                reason = f"{type(exc).__name__}: {exc.reason}"
        answer = await getattr(self.local, question)(req)
        return answer.model_copy(update={"fallback_reason": reason})

    async def classify(self, req: ClassifyRequest) -> Classification:
        return await self._answer("classify", req, req.tokens_spent)

    async def diagnose(self, req: DiagnoseRequest) -> Diagnosis:
        return await self._answer("diagnose", req, req.tokens_spent)

    async def postmortem(self, req: PostmortemRequest) -> PostmortemDraft:
        return await self._answer("postmortem", req, req.tokens_spent)


def build_local_engine(settings: AiSettings) -> LocalEngine:
    """The offline engine; fits the classifier (about a second), so build it once."""
    runbooks = RunbookLibrary.load(settings.runbooks_dir)
    return LocalEngine(LocalClassifier.shipped(), LocalAnalyzer(runbooks))


def build_analyzer(
    settings: AiSettings, client: ClaudeClient | None = None, local: LocalEngine | None = None
) -> FallbackAnalyzer:
    """The composition the worker and API use: built once from settings at the edge."""
    local = local or build_local_engine(settings)
    if client is None and settings.anthropic_api_key is not None:
        client = ClaudeClient(settings)
    claude = None
    if client is not None:
        runbooks = local.analyzer.runbooks
        claude = ClaudeAnalyzer(client, runbooks, settings.incident_token_budget)
    return FallbackAnalyzer(local, claude, settings.incident_token_budget)
