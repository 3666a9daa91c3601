"""One running stack per database kind for the whole session (starting one costs seconds).

Tests that use `stack` run once on SQLite and once on PostgreSQL; pytest groups them by kind,
so only one stack runs at a time.
"""

from __future__ import annotations

import pytest

from tests.e2e.stack import fresh_postgres_database, running_stack


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def stack(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"e2e-{request.param}")
    if request.param == "sqlite":
        with running_stack("sqlite", f"sqlite:///{root}/lim.db", root) as running:
            yield running
        return
    server_url = request.getfixturevalue("postgres_server_url")
    with fresh_postgres_database(server_url) as url, running_stack("postgres", url, root) as running:
        yield running
