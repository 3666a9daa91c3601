"""Recorded incident histories still replay on today's IncidentWorkflow.

Incidents stay open across deploys, so a worker running new code must produce exactly the
commands the old code recorded. A failure here means the change is not deterministic for
in-flight incidents: put it behind `workflow.patched(...)` (see tests/histories/README.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.incident import IncidentWorkflow

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))


def test_there_are_recorded_histories_to_replay():
    assert {p.stem for p in HISTORIES} >= {"lifecycle", "reopened", "continued_as_new"}


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_a_recorded_history_replays_without_nondeterminism(path: Path):
    history = WorkflowHistory.from_json(f"incident-{path.stem}", path.read_text())
    replayer = Replayer(workflows=[IncidentWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
