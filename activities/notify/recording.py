"""The recording channel: a real channel that delivers into memory.

The product's own fake: demos and tests run the whole paging path with no vendor account, and
the delivery log (written by `notify.send` for every channel) records these deliveries too.
"""

from __future__ import annotations

from activities.notify.base import Clock, make_receipt, utcnow
from workflows.domain.notifications import DeliveryReceipt, Notification, render_text


class RecordingChannel:
    kind = "recording"

    def __init__(self, clock: Clock = utcnow):
        self._clock = clock
        self.delivered: list[Notification] = []
        self.texts: list[str] = []

    async def send(self, n: Notification) -> DeliveryReceipt:
        self.delivered.append(n)
        self.texts.append(render_text(n))
        return make_receipt(self.kind, n.target, f"rec-{len(self.delivered)}", self._clock,
                            thread_ref=n.thread_ref or f"recording:{n.incident_id}")

    def for_incident(self, incident_id: str) -> list[Notification]:
        return [n for n in self.delivered if n.incident_id == incident_id]
