"""Every table, imported here so that `SQLModel.metadata` (and Alembic) sees them all.

One module per area; add a line for a new module.
"""

from infra.db.tables import (
    analysis,  # noqa: F401
    changes,  # noqa: F401
    config,  # noqa: F401
    core,  # noqa: F401
    incidents,  # noqa: F401
    notify,  # noqa: F401
)
