"""Temporal activities for triage, diagnosis and post-mortems (names are public API).

    llm.classify   ClassifyRequest    -> Classification
    llm.diagnose   DiagnoseRequest    -> Diagnosis
    llm.postmortem PostmortemRequest  -> PostmortemDraft

The analyzer falls back to the local engine on every LLM failure, so these activities only
fail when the local engine does (a bug). A broken runbook folder fails at worker start
(`build_analyzer` raises `RunbookFormatError`), not mid-incident.
"""

from __future__ import annotations

from temporalio import activity

from activities.llm.fallback import Analyzer
from workflows.domain.analysis import (
    Classification,
    ClassifyRequest,
    DiagnoseRequest,
    Diagnosis,
    PostmortemDraft,
    PostmortemRequest,
)


class AnalysisActivities:
    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer

    @activity.defn(name="llm.classify")
    async def classify(self, req: ClassifyRequest) -> Classification:
        return await self.analyzer.classify(req)

    @activity.defn(name="llm.diagnose")
    async def diagnose(self, req: DiagnoseRequest) -> Diagnosis:
        return await self.analyzer.diagnose(req)

    @activity.defn(name="llm.postmortem")
    async def postmortem(self, req: PostmortemRequest) -> PostmortemDraft:
        return await self.analyzer.postmortem(req)
