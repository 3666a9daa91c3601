"""POST JSON with httpx and turn every failure into a DeliveryError that says if retrying helps."""

from __future__ import annotations

import httpx

from activities.notify.base import DeliveryError, error_for_status, timeout_error


async def post_json(
    http: httpx.AsyncClient, channel: str, url: str, *, content: bytes,
    headers: dict[str, str] | None = None, timeout: float = 10.0,
) -> httpx.Response:
    """POST `content` (already-serialised JSON); 2xx returns the response, anything else raises."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    try:
        response = await http.post(url, content=content, headers=all_headers, timeout=timeout)
    except httpx.TimeoutException as exc:
        raise timeout_error(channel, exc) from exc
    except httpx.TransportError as exc:
        raise DeliveryError(f"{channel}: transport error: {exc}", retryable=True) from exc
    if response.status_code >= 300:
        err = error_for_status(response.status_code, response.text,
                               response.headers.get("Retry-After"))
        err.message = f"{channel}: {err.message}"
        raise err
    return response
