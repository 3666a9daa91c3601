"""alert repeat counts move to a narrow alert_counters table

Revision ID: 0005
Revises: 0004

A repeat used to update `occurrences` and `last_received_at` on the wide `alerts` row, which
rewrites the whole row (labels, annotations); now it updates a small row. Existing values are
moved; the old columns are dropped so nothing can read a stale count. Plain (not batch)
ALTERs: SQLite >= 3.35 drops a column in place, whereas a batch copy would drop and recreate
`alerts`, and with foreign keys on, dropping it would cascade-delete the new counters.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_counters',
    sa.Column('alert_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('occurrences', sa.Integer(), nullable=False),
    sa.Column('last_received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('alert_id'),
    sqlite_with_rowid=False,
    )
    op.execute('INSERT INTO alert_counters (alert_id, occurrences, last_received_at) '
               'SELECT id, occurrences, last_received_at FROM alerts')
    op.drop_column('alerts', 'occurrences')
    op.drop_column('alerts', 'last_received_at')


def downgrade() -> None:
    # Defaults only to add the columns to existing rows; every row gets its real values next.
    op.add_column('alerts', sa.Column('occurrences', sa.Integer(), nullable=False,
                                      server_default='1'))
    op.add_column('alerts', sa.Column('last_received_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
    op.execute('UPDATE alerts SET occurrences = COALESCE((SELECT c.occurrences FROM '
               'alert_counters c WHERE c.alert_id = alerts.id), 1), last_received_at = COALESCE('
               '(SELECT c.last_received_at FROM alert_counters c WHERE c.alert_id = alerts.id), '
               'received_at)')
    op.drop_table('alert_counters')
    # Batch: SQLite alters a column by copying the table (nothing references `alerts` now).
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.alter_column('occurrences', existing_type=sa.Integer(), server_default=None)
        batch_op.alter_column('last_received_at',
                              existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False)
