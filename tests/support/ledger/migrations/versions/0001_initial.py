"""ledger tables

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db.migrations import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables("ledger")
    op.create_table(
        "effects",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        schema="ledger",
    )


def downgrade() -> None:
    for table in ("effects", "inbox", "outbox"):
        op.drop_table(table, schema="ledger")
