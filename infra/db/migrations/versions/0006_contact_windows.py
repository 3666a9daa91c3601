"""SMS rate windows shared by every worker

Revision ID: 0006
Revises: 0005

The one-message-per-window rule per phone number lived in each worker's memory, so N workers
could send N messages inside one window. The reservation is now one conditional write here.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notify_contact_windows',
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('last_sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('address'),
    )


def downgrade() -> None:
    op.drop_table('notify_contact_windows')
