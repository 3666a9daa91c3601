"""Microsoft Teams incoming webhook carrying an Adaptive Card.

`target.address` names a webhook URL configured in `NotifySettings.teams.webhooks` (the URL
embeds its secret, so it never travels through workflow history).
"""

from __future__ import annotations

import httpx
import orjson

from activities.notify.base import Clock, DeliveryError, make_receipt, utcnow
from activities.notify.httpjson import post_json
from activities.notify.render import teams_card
from infra.settings.notify import TeamsSettings
from workflows.domain.notifications import DeliveryReceipt, Notification


class TeamsChannel:
    kind = "teams"

    def __init__(self, http: httpx.AsyncClient, config: TeamsSettings, clock: Clock = utcnow):
        self._http = http
        self._config = config
        self._clock = clock

    async def send(self, n: Notification) -> DeliveryReceipt:
        url = self._config.webhooks.get(n.target.address)
        if url is None:
            raise DeliveryError(f"teams: no webhook named {n.target.address!r}", retryable=False)
        await post_json(self._http, self.kind, url.get_secret_value(),
                        content=orjson.dumps(teams_card(n)),
                        headers={"Idempotency-Key": n.idempotency_key},
                        timeout=self._config.timeout_seconds)
        # Teams answers "1" and no message id: the idempotency key is our only handle.
        return make_receipt(self.kind, n.target, n.idempotency_key, self._clock)
