"""tiered handling: the level holding each case (district, street, community) and its unit

Revision ID: 0004_levels
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_levels"
down_revision = "0003_callers"
branch_labels = None
depends_on = None

S = "workflow"


def upgrade() -> None:
    op.add_column("cases", sa.Column("level", sa.Text, nullable=False, server_default="district"), schema=S)
    op.add_column("cases", sa.Column("level_unit", sa.Text), schema=S)
    op.create_index("cases_level_queue_idx", "cases", ["level", "level_unit", "state"], schema=S)


def downgrade() -> None:
    op.drop_index("cases_level_queue_idx", table_name="cases", schema=S)
    op.drop_column("cases", "level_unit", schema=S)
    op.drop_column("cases", "level", schema=S)
