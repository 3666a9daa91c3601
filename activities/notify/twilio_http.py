"""An AsyncHttpClient for the Twilio SDK built on httpx.

Why not the SDK's aiohttp client: we need (1) the API base URL configurable (tests and relays
point the SDK at another host; the SDK hard-codes https://*.twilio.com), (2) no retries
(Temporal owns them) and (3) the 429 `Retry-After` header, which the SDK's exception drops.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

import httpx
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

from activities.notify.base import DeliveryError, parse_retry_after, timeout_error


class TwilioHttpClient(AsyncHttpClient):
    def __init__(self, http: httpx.AsyncClient, base_url: str, timeout: float = 10.0):
        super().__init__(logging.getLogger("lim.notify.twilio"), True, timeout)
        self._http = http
        self._base = urlsplit(base_url)

    def _rewrite(self, url: str) -> str:
        parts = urlsplit(url)
        return urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, ""))

    async def request(self, method: str, url: str, params=None, data=None, headers=None,
                      auth=None, timeout=None, allow_redirects=False) -> Response:
        """Send one request; 429 becomes a retryable DeliveryError carrying Retry-After."""
        try:
            response = await self._http.request(
                method.upper(), self._rewrite(url), params=params, data=data, headers=headers,
                auth=auth, timeout=timeout or self.timeout, follow_redirects=allow_redirects)
        except httpx.TimeoutException as exc:
            raise timeout_error("twilio", exc) from exc
        except httpx.TransportError as exc:
            raise DeliveryError(f"twilio: transport error: {exc}", retryable=True) from exc
        if response.status_code == 429:
            raise DeliveryError("twilio: HTTP 429 too many requests", retryable=True,
                                retry_after=parse_retry_after(response.headers.get("Retry-After")))
        return Response(response.status_code, response.text, dict(response.headers))
