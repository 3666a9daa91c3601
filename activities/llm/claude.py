"""The Claude path: structured answers through tool use, cached prompts, budget and cost.

LLM output is untrusted input: every answer is a forced tool call parsed into the same frozen
models the local analyzer returns. A parse failure raises `LlmAnswerInvalid` (not retryable:
asking again with the same input mostly gets the same wrong shape; the caller falls back to
the local analyzer and records why). SDK retries are off (`max_retries=0`): Temporal owns
retries, and the fallback owns "the API is down".

Everything sent is passed through `workflows.domain.redaction.redact` first.
"""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
from pydantic import BaseModel, Field, ValidationError

from activities.llm.runbooks import RunbookLibrary, remediation_for
from infra.settings.ai import AiSettings, ModelPrice
from workflows.domain.analysis import (
    Category,
    Classification,
    ClassifyRequest,
    DiagnoseRequest,
    Diagnosis,
    Hypothesis,
    PostmortemDraft,
    PostmortemRequest,
    RemediationStep,
    SeverityFactors,
    TokenUsage,
    severity_for_score,
)
from workflows.domain.redaction import redact

PROMPTS = Path(__file__).parent / "prompts"
CHARS_PER_TOKEN = 3.5  # conservative estimate for the budget pre-check
MIN_OUTPUT_TOKENS = 256


class LlmError(Exception):
    """The LLM could not give a usable answer; `retryable` says whether retrying may help."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason, self.retryable = reason, retryable


class LlmUnavailable(LlmError):
    """Timeout, connection failure, 5xx, 529 overloaded or 429: transient."""


class LlmAnswerInvalid(LlmError):
    """The answer did not parse into the expected model."""


class BudgetExhausted(LlmError):
    """The incident's token budget cannot pay for this call."""


def cost_usd(usage: TokenUsage, price: ModelPrice | None) -> float:
    """Tokens × price per million tokens (0 when the model has no price configured)."""
    if price is None:
        return 0.0
    total = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_creation_input_tokens * price.cache_write
        + usage.cache_read_input_tokens * price.cache_read
    )
    return round(total / 1_000_000, 6)


# ---- the wire shapes Claude fills in (tool input schemas) ----------------------------------


class _ClassificationAnswer(BaseModel):
    category: Category
    factors: SeverityFactors
    service: str = ""
    confidence: float = Field(ge=0, le=1)
    reason: str = ""


class _DiagnosisAnswer(BaseModel):
    hypotheses: list[Hypothesis] = Field(min_length=1, max_length=3)
    remediation: list[RemediationStep] = Field(default_factory=list)
    notes: str = ""


class _PostmortemAnswer(BaseModel):
    markdown: str = Field(min_length=20)


def tool_spec(name: str, model: type[BaseModel], description: str) -> dict:
    return {"name": name, "description": description, "input_schema": model.model_json_schema()}


class ClaudeClient:
    """One forced tool call per question, with prompt caching and token accounting."""

    def __init__(self, settings: AiSettings, client: anthropic.AsyncAnthropic | None = None):
        if settings.anthropic_api_key is None and client is None:
            raise ValueError("ClaudeClient needs an API key; use the local analyzer without one")
        self.settings = settings
        self.client = client or anthropic.AsyncAnthropic(
            api_key=settings.anthropic_api_key.get_secret_value(),
            base_url=settings.anthropic_base_url,
            max_retries=0,
            timeout=settings.timeout_seconds,
        )

    async def ask(
        self, prompt: str, tool: dict, payload: dict, budget_left: int
    ) -> tuple[dict, TokenUsage]:
        """Send the redacted payload, force `tool`, return its raw input and the usage."""
        system = (PROMPTS / f"{prompt}.md").read_text(encoding="utf-8")
        body = redact(json.dumps(payload, default=str, sort_keys=True))
        estimate = int((len(system) + len(body) + len(json.dumps(tool))) / CHARS_PER_TOKEN)
        max_tokens = min(self.settings.max_output_tokens, budget_left - estimate)
        if max_tokens < MIN_OUTPUT_TOKENS:
            raise BudgetExhausted(
                f"token budget left {budget_left} cannot pay ~{estimate} input tokens plus "
                f"{MIN_OUTPUT_TOKENS} output",
                retryable=False,
            )
        response = await self._create(system, tool, body, max_tokens)
        usage = self._usage(response)
        block = next((b for b in response.content if b.type == "tool_use"), None)
        if block is None or block.name != tool["name"]:
            raise LlmAnswerInvalid(f"no {tool['name']} tool call in the answer", retryable=False)
        return dict(block.input), usage

    async def _create(self, system: str, tool: dict, body: str, max_tokens: int):
        try:
            return await self.client.messages.create(
                model=self.settings.model,
                max_tokens=max_tokens,
                # Static parts (instructions, tool schema) are cached; only the payload varies.
                system=[{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
                tools=[{**tool, "cache_control": {"type": "ephemeral"}}],
                tool_choice={"type": "tool", "name": tool["name"]},
                messages=[{"role": "user", "content": body}],
            )
        except anthropic.APITimeoutError as exc:
            raise LlmUnavailable(
                f"timed out after {self.settings.timeout_seconds}s", retryable=True
            ) from exc
        except anthropic.APIConnectionError as exc:
            raise LlmUnavailable(f"connection failed: {exc}", retryable=True) from exc
        except anthropic.APIStatusError as exc:
            transient = exc.status_code in (408, 409, 429) or exc.status_code >= 500
            kind = LlmUnavailable if transient else LlmError
            raise kind(f"HTTP {exc.status_code}: {exc.message}", retryable=transient) from exc
        except (anthropic.APIResponseValidationError, json.JSONDecodeError) as exc:
            # A 200 whose body is not a Message (a broken proxy, a truncated body): the SDK
            # raises the raw decode error. Asking again at once is unlikely to help.
            raise LlmAnswerInvalid(f"response body unreadable: {exc}", retryable=False) from exc

    def _usage(self, response) -> TokenUsage:
        u = response.usage
        usage = TokenUsage(
            input_tokens=u.input_tokens or 0,
            output_tokens=u.output_tokens or 0,
            cache_creation_input_tokens=getattr(u, "cache_creation_input_tokens", 0) or 0,
            cache_read_input_tokens=getattr(u, "cache_read_input_tokens", 0) or 0,
        )
        price = self.settings.prices.get(self.settings.model)
        return usage.model_copy(update={"cost_usd": cost_usd(usage, price)})


def parse_answer(model: type[BaseModel], raw: dict) -> BaseModel:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise LlmAnswerInvalid(
            f"answer did not parse: {where}: {first['msg']}", retryable=False
        ) from exc


class ClaudeAnalyzer:
    """The `Analyzer` answering through Claude."""

    kind = "llm"

    def __init__(self, client: ClaudeClient, runbooks: RunbookLibrary, budget: int) -> None:
        self.client, self.runbooks, self.budget = client, runbooks, budget

    async def classify(self, req: ClassifyRequest) -> Classification:
        tool = tool_spec(
            "report_classification", _ClassificationAnswer, "Report the triage result."
        )
        raw, usage = await self.client.ask(
            "classify", tool, req.model_dump(mode="json"), self.budget - req.tokens_spent
        )
        answer = parse_answer(_ClassificationAnswer, raw)
        return Classification(
            category=answer.category,
            severity=severity_for_score(answer.factors.score),
            score=answer.factors.score,
            factors=answer.factors,
            service=answer.service or req.service,
            confidence=answer.confidence,
            classifier="llm",
            reason=answer.reason,
            tokens=usage,
        )

    async def diagnose(self, req: DiagnoseRequest) -> Diagnosis:
        found = self.runbooks.search(f"{req.title} " + " ".join(a.title for a in req.bundle.alerts))
        payload = req.model_dump(mode="json")
        payload["candidate_runbooks"] = [
            {
                "ref": rb.runbook_id,
                "title": rb.title,
                "score": score,
                "remediation": [
                    s.model_dump(mode="json") for s in remediation_for(rb, req.service)
                ],
            }
            for rb, score in found
        ]
        tool = tool_spec("report_diagnosis", _DiagnosisAnswer, "Report ranked hypotheses.")
        raw, usage = await self.client.ask(
            "diagnose", tool, payload, self.budget - req.tokens_spent
        )
        answer = parse_answer(_DiagnosisAnswer, raw)
        cited = [h for h in answer.hypotheses if h.evidence or h.cause == "unknown"]
        if not cited:
            raise LlmAnswerInvalid("no hypothesis cites evidence", retryable=False)
        dropped = len(answer.hypotheses) - len(cited)
        notes = answer.notes + (f" ({dropped} uncited hypothesis dropped)" if dropped else "")
        return Diagnosis(
            hypotheses=cited,
            remediation=answer.remediation,
            runbooks=[rb.ref(s) for rb, s in found],
            analyzer="llm",
            notes=notes.strip(),
            tokens=usage,
        )

    async def postmortem(self, req: PostmortemRequest) -> PostmortemDraft:
        tool = tool_spec("report_postmortem", _PostmortemAnswer, "Report the post-mortem draft.")
        raw, usage = await self.client.ask(
            "postmortem", tool, req.model_dump(mode="json"), self.budget - req.tokens_spent
        )
        answer = parse_answer(_PostmortemAnswer, raw)
        return PostmortemDraft(
            incident_id=req.facts.incident_id,
            markdown=answer.markdown,
            generator="llm",
            tokens=usage,
        )
