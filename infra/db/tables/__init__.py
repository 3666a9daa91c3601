"""Every table, imported here so that `SQLModel.metadata` (and Alembic) sees them all.

One module per area; add a line for a new module.
"""

from infra.db.tables import analysis  # noqa: F401
from infra.db.tables import changes  # noqa: F401
from infra.db.tables import config  # noqa: F401
from infra.db.tables import core  # noqa: F401
from infra.db.tables import incidents  # noqa: F401
from infra.db.tables import notify  # noqa: F401
