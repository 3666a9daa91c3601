"""Shutting the API down ends every background loop, even with Temporal unreachable."""

from __future__ import annotations

import asyncio

from tests.api.conftest import make_settings, running_api


async def test_shutdown_ends_every_background_loop_even_while_temporal_is_unreachable(
        tmp_path, api_engine):
    async with running_api(make_settings(tmp_path), api_engine) as http:
        tasks = list(http.app.state.lim.background)
        await asyncio.sleep(6)  # the dispatcher has failed to connect and is retrying
    for _ in range(100):  # a loop that survived shutdown would keep a test session busy forever
        if all(t.done() for t in tasks):
            break
        await asyncio.sleep(0.1)
    assert all(t.done() for t in tasks), [t.get_name() for t in tasks if not t.done()]
