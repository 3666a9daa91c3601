"""Settings for escalation and on-call.

The severity table is the domain's `SeverityAdjustments`, so the defaults documented there are
the defaults here; override one field with e.g. `LIM_ESCALATION__SEVERITY__HIGH__CADENCE=15m`.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

from workflows.domain.escalation import SeverityAdjustments


class EscalationSettings(BaseModel):
    # Cycles of a policy's ladder when the policy does not say (`repeat`).
    default_repeat: int = 3
    # The policy used when neither a route nor the alert's service names one; "" = none.
    default_policy_id: str = ""
    severity: SeverityAdjustments = Field(default_factory=SeverityAdjustments)
    # How often the low-severity digest is sent to the people it names.
    digest_interval: timedelta = timedelta(hours=1)
