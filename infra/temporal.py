"""Temporal client construction and the product's search attributes."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from workflows.search import SEARCH_ATTRIBUTES


async def connect(address: str, namespace: str = "default", runtime: Runtime | None = None) -> Client:
    """A client using the pydantic converter, which every worker, starter and replayer must share."""
    return await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter, runtime=runtime
    )


def runtime_with_metrics(bind_address: str) -> Runtime:
    """A Temporal runtime serving the SDK's Prometheus metrics at http://`bind_address`/metrics.

    One per process (the SDK's rule): build it at the entrypoint, pass it to `connect`.
    """
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))


async def register_search_attributes(client: Client) -> None:
    """Register the product's search attributes (idempotent); the dev server does it at start."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.service import RPCError, RPCStatusCode

    try:
        existing = set((await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace))).custom_attributes)
    except RPCError as err:  # the time-skipping test server cannot list, only add
        if err.status is not RPCStatusCode.UNIMPLEMENTED:
            raise
        existing = set()
    wanted = {k.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for k in SEARCH_ATTRIBUTES
              if k.name not in existing}
    if not wanted:
        return
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(search_attributes=wanted, namespace=client.namespace))
    except RPCError as err:  # registered meanwhile (or earlier, where listing is unsupported)
        if err.status is not RPCStatusCode.ALREADY_EXISTS:
            raise
