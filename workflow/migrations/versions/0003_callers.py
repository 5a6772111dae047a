"""per-caller obligations of a case's reports: each merged 12345 caller's profile, class, first contact and result due

Revision ID: 0003_callers
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_callers"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "workflow"


def upgrade() -> None:
    op.add_column("case_reports", sa.Column("deadline_profile", sa.Text), schema=S)
    op.add_column("case_reports", sa.Column("hotline_class", sa.Text), schema=S)
    op.add_column("case_reports", sa.Column("received_at", sa.DateTime(timezone=True)), schema=S)
    op.add_column("case_reports", sa.Column("first_contact_at", sa.DateTime(timezone=True)), schema=S)
    op.add_column("case_reports", sa.Column("result_due_at", sa.DateTime(timezone=True)), schema=S)


def downgrade() -> None:
    for column in ("result_due_at", "first_contact_at", "received_at", "hotline_class", "deadline_profile"):
        op.drop_column("case_reports", column, schema=S)
