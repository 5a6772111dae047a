"""case results in the report status read model; patrol reports found by their inspector; WeChat progress

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
    op.create_table(
        "wechat_progress",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("report_id", sa.Text, nullable=False),
        sa.Column("openid", sa.Text, nullable=False),
        sa.Column("step", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("report_id", "step", name="wechat_progress_once_per_step"),
        schema=S,
    )
    op.create_index(
        "ix_wechat_progress_pending",
        "wechat_progress",
        ["next_attempt_at"],
        schema=S,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.execute(
        "CREATE INDEX ix_reports_patrol_reporter ON intake.reports ((body->'reporter'->>'id'), received_at) "
        "WHERE channel = 'patrol'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX intake.ix_reports_patrol_reporter")
    op.drop_table("wechat_progress", schema=S)
    op.drop_column("report_status", "case_result_at", schema=S)
    op.drop_column("report_status", "case_result", schema=S)
