"""Generic outgoing webhook, signed so the receiver can prove it came from us.

Request: `POST <endpoint url>` with `Content-Type: application/json` and headers

    X-LIM-Timestamp: <unix seconds>
    X-LIM-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed by the secret>
    Idempotency-Key: <the notification's idempotency key; the same on every retry>

Body (version 1):

    {"version": 1, "idempotency_key": "...", "kind": "page|update|resolved|digest",
     "incident": {"id": "...", "number": 42, "title": "...", "severity": "critical",
                  "status": "triggered", "summary": "..."},
     "text": "<rendered plain text>", "links": [{"label": "...", "url": "..."}],
     "target": {"kind": "webhook", "address": "<endpoint name>", "user_id": "..."},
     "sent_at": <unix seconds>}

Receivers should reject timestamps older than 5 minutes (replay) and dedupe on
Idempotency-Key. Any 2xx is success; 429/5xx are retried (Retry-After honoured); other 4xx are
final. `verify_signature` is the reference check, used by the tests' receiver.
"""

from __future__ import annotations

import hashlib
import hmac

import httpx
import orjson

from activities.notify.base import Clock, DeliveryError, make_receipt, utcnow
from activities.notify.httpjson import post_json
from infra.settings.notify import WebhookSettings
from workflows.domain.notifications import DeliveryReceipt, Notification, render_text

SIGNATURE_HEADER = "X-LIM-Signature"
TIMESTAMP_HEADER = "X-LIM-Timestamp"
MAX_SKEW_SECONDS = 300


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: bytes, timestamp: str, body: bytes, signature: str,
                     now: float) -> bool:
    """True when `signature` is ours for this body and the timestamp is fresh."""
    try:
        fresh = abs(now - int(timestamp)) <= MAX_SKEW_SECONDS
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def payload(n: Notification, sent_at: int) -> dict:
    return {
        "version": 1, "idempotency_key": n.idempotency_key, "kind": n.kind.value,
        "incident": {"id": n.incident_id, "number": n.incident_number, "title": n.title,
                     "severity": n.severity.value, "status": n.status.value,
                     "summary": n.summary},
        "text": render_text(n),
        "links": [link.model_dump() for link in n.links],
        "target": {"kind": n.target.kind.value, "address": n.target.address,
                   "user_id": n.target.user_id},
        "sent_at": sent_at,
    }


class WebhookChannel:
    kind = "webhook"

    def __init__(self, http: httpx.AsyncClient, config: WebhookSettings, clock: Clock = utcnow):
        self._http = http
        self._config = config
        self._clock = clock

    async def send(self, n: Notification) -> DeliveryReceipt:
        endpoint = self._config.endpoints.get(n.target.address)
        if endpoint is None:
            raise DeliveryError(f"webhook: no endpoint named {n.target.address!r}",
                                retryable=False)
        timestamp = str(int(self._clock().timestamp()))
        body = orjson.dumps(payload(n, int(timestamp)))
        headers = {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(endpoint.secret.get_secret_value().encode(), timestamp, body),
            "Idempotency-Key": n.idempotency_key,
        }
        await post_json(self._http, self.kind, endpoint.url, content=body, headers=headers,
                        timeout=self._config.timeout_seconds)
        return make_receipt(self.kind, n.target, n.idempotency_key, self._clock)
