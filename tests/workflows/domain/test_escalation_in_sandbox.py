"""The planner and schedule resolution run inside the Temporal workflow sandbox, on workflow time.

Uses the real time-skipping test server: the workflow sleeps to a step's offset, then resolves
who is on call at `workflow.now()`.
"""

import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import workflow
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    # Passed through, as the incident workflow does: zoneinfo is proxied inside the sandbox.
    from infra.config.loader import load_config_file
    from workflows.domain.base import Severity
    from workflows.domain.config import ConfigDocument
    from workflows.domain.escalation import contact_plan, plan_ladder, resolve_targets

EXAMPLE = Path(__file__).parents[3] / "examples" / "lim.yaml"


@workflow.defn(name="EscalationPlannerProbe")
class EscalationPlannerProbe:
    @workflow.run
    async def run(self, doc: ConfigDocument) -> list[str]:
        started = workflow.now()
        second = plan_ladder(doc.policy("ml-default"), Severity.CRITICAL)[1]
        await workflow.sleep(started + second.offset - workflow.now())
        fired = []
        for user_id in resolve_targets(second.targets, doc, workflow.now()):
            plan = contact_plan(doc.user(user_id), Severity.CRITICAL, workflow.now())
            fired.append(f"{user_id}:{len(plan)}")
        return [str(workflow.now() - started >= second.offset), *fired]


async def test_planner_resolves_targets_at_the_moment_a_step_fires_inside_a_workflow(temporal_env):
    doc = load_config_file(EXAMPLE)
    queue = f"probe-{uuid.uuid4().hex[:8]}"
    async with Worker(temporal_env.client, task_queue=queue,
                      workflows=[EscalationPlannerProbe]):
        result = await temporal_env.client.execute_workflow(
            EscalationPlannerProbe.run, doc, id=f"probe-{uuid.uuid4()}", task_queue=queue,
            execution_timeout=timedelta(minutes=10),
        )
    assert result[0] == "True"
    # Step 2 names the secondary schedule (one person) and the lead (PagerDuty only).
    assert len(result) == 3 and result[2] == "lead:1"
