"""case results in the report status read model; patrol reports found by their inspector

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

S = "intake"


def upgrade() -> None:
    op.add_column("report_status", sa.Column("case_result", sa.Text), schema=S)
    op.add_column("report_status", sa.Column("case_result_at", sa.DateTime(timezone=True)), schema=S)
    op.execute("CREATE INDEX ix_reports_patrol_reporter ON intake.reports ((body->'reporter'->>'id'), received_at) "
               "WHERE channel = 'patrol'")


def downgrade() -> None:
    op.execute("DROP INDEX intake.ix_reports_patrol_reporter")
    op.drop_column("report_status", "case_result_at", schema=S)
    op.drop_column("report_status", "case_result", schema=S)
