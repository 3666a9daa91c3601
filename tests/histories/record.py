"""Re-record the workflow histories that `tests/workflows/test_replay.py` replays.

    .venv/bin/python -m tests.histories.record            # every scenario
    .venv/bin/python -m tests.histories.record lifecycle  # only some

Runs each scenario on the time-skipping test server against the product's own worker wiring
(`Dependencies.from_settings` on a throwaway SQLite database, no vendor credentials) and writes
`tests/histories/<scenario>.json` in Temporal's JSON history format (what `temporal workflow
show --output json` prints). Only re-record a history that never ran in production: see
README.md in this directory.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from infra.db.engine import make_engine
from infra.db.migrate import upgrade
from infra.settings import Settings
from infra.temporal import register_search_attributes
from tests.workflows.helpers import change
from worker.wiring import Dependencies, build_worker
from workflows.cascade_links import LINK_SIGNAL
from workflows.domain.alerts import AlertStatus
from workflows.domain.base import Actor, ActorKind, Severity
from workflows.domain.incidents import (
    Acknowledge,
    AddNote,
    AlertBatch,
    ChangeSeverity,
    IncidentInput,
    LinkToRoot,
    QueuedCommand,
    Reopen,
    Resolve,
    RouteDecision,
)
from workflows.incident import MAX_HISTORY_EVENTS, IncidentWorkflow
from workflows.queued_commands import QUEUED_COMMAND_SIGNAL

HERE = Path(__file__).parent
QUEUE = "history-recording"
ALICE = Actor(kind=ActorKind.USER, id="alice", name="Alice")
FLAP = timedelta(minutes=15)
Scenario = Callable[[Client], Awaitable[dict[str, WorkflowHandle]]]


async def start(client: Client, key: str, *changes, repeats: int = 0) -> WorkflowHandle:
    """Signal-with-start exactly as the API's outbox dispatcher does."""
    return await client.start_workflow(
        IncidentWorkflow.run, IncidentInput(dedup_key=key, route=RouteDecision(), flap_window=FLAP),
        id=f"incident-{key}", task_queue=QUEUE, start_signal="alerts",
        start_signal_args=[AlertBatch(changes=list(changes), repeats=repeats)],
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)


async def lifecycle(client: Client) -> dict[str, WorkflowHandle]:
    """open → repeats → ack → note → severity change → resolve → flap window → closed."""
    h = await start(client, "lifecycle", change(1))
    await start(client, "lifecycle", repeats=250)
    await h.execute_update(IncidentWorkflow.acknowledge, Acknowledge(actor=ALICE, request_id="ack-1"))
    await h.execute_update(IncidentWorkflow.add_note, AddNote(actor=ALICE, text="rolling back"))
    await h.execute_update(IncidentWorkflow.change_severity,
                           ChangeSeverity(actor=ALICE, severity=Severity.CRITICAL, reason="checkout down"))
    await h.execute_update(IncidentWorkflow.resolve, Resolve(actor=ALICE, note="rolled back"))
    await h.result()  # time skips over the flap window
    return {"lifecycle": h}


async def reopened(client: Client) -> dict[str, WorkflowHandle]:
    """Auto-resolved at the source, refired inside the flap window (reopens), resolved by a
    human, reopened by a human, resolved again, then closed."""
    key = "reopened"
    h = await start(client, key, change(1), change(2))
    await start(client, key, change(1, AlertStatus.RESOLVED), change(2, AlertStatus.RESOLVED))
    await start(client, key, change(1).model_copy(update={"alert_id": "a1-refire"}))
    await h.execute_update(IncidentWorkflow.resolve, Resolve(actor=ALICE))
    await h.execute_update(IncidentWorkflow.reopen, Reopen(actor=ALICE, reason="still failing"))
    await h.execute_update(IncidentWorkflow.resolve, Resolve(actor=ALICE, note="fixed for real"))
    await h.result()
    return {"reopened": h}


async def continued(client: Client) -> dict[str, WorkflowHandle]:
    """A chatty incident: notes until it continues-as-new; the new run carries the state."""
    h = await start(client, "continued", change(1))
    first_run = (await h.describe()).run_id
    latest = client.get_workflow_handle(h.id)
    for i in range(MAX_HISTORY_EVENTS):  # each note adds several events; stop once it continued
        await h.execute_update(IncidentWorkflow.add_note,
                               AddNote(actor=ALICE, text=f"note {i}", request_id=f"n{i}"))
        if i % 5 == 4 and (await latest.describe()).run_id != first_run:
            break
    assert (await latest.describe()).run_id != first_run, "the incident did not continue as new"
    await latest.execute_update(IncidentWorkflow.add_note, AddNote(actor=ALICE, text="after"))
    await latest.execute_update(IncidentWorkflow.resolve, Resolve(actor=ALICE))
    await h.result()  # follows the continued run to its close
    # The first run is ~2,000 events of notes (large, adds nothing the others lack); the run that
    # began from carried-over state is the one that proves old state still decodes and replays.
    return {"continued_as_new": latest}


async def queued_and_linked(client: Client) -> dict[str, WorkflowHandle]:
    """Commands queued as signals while no worker answered (one applies, one is refused on the
    timeline, one repeats an applied update), then adopted by a root incident, then resolved."""
    h = await start(client, "queued", change(1))
    ack = Acknowledge(actor=ALICE, request_id="ack-queued", note="on it")
    await h.signal(QUEUED_COMMAND_SIGNAL, QueuedCommand(update="acknowledge",
                                                        command=ack.model_dump(mode="json")))
    await h.execute_update(IncidentWorkflow.acknowledge, ack)  # the abandoned update's twin
    illegal = Reopen(actor=ALICE, request_id="reopen-queued", reason="too early")
    await h.signal(QUEUED_COMMAND_SIGNAL, QueuedCommand(update="reopen",
                                                        command=illegal.model_dump(mode="json")))
    await h.signal(LINK_SIGNAL, LinkToRoot(root_incident_id="inc-root",
                                           root_workflow_id="incident-root",
                                           reason="correlation adopt (rule cascade, 1 hop)"))
    await h.execute_update(IncidentWorkflow.add_note, AddNote(actor=ALICE, text="barrier"))
    await h.execute_update(IncidentWorkflow.resolve, Resolve(actor=ALICE, note="fixed"))
    await h.result()
    return {"queued_and_linked": h}


SCENARIOS: dict[str, Scenario] = {"lifecycle": lifecycle, "reopened": reopened,
                                  "continued": continued, "queued": queued_and_linked}


async def record(names: list[str]) -> None:
    test_server = Path(sys.executable).with_name("temporal-test-server")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(test_server), data_converter=pydantic_data_converter)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/lim.db"
        upgrade(url)
        engine = make_engine(url)
        settings = Settings(_env_file=None, data_dir=Path(tmp), database_url=url)
        try:
            await register_search_attributes(env.client)
            async with build_worker(env.client, Dependencies.from_settings(settings, engine),
                                    task_queue=QUEUE):
                for name in names:
                    for file_stem, handle in (await SCENARIOS[name](env.client)).items():
                        history = await handle.fetch_history()
                        (HERE / f"{file_stem}.json").write_text(history.to_json() + "\n")
                        print(f"{file_stem}.json: {len(history.events)} events")
        finally:
            engine.dispose()
            await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:] or list(SCENARIOS)))
