"""webhook subscriptions, their durable deliveries and the attempt log; hotline ticket numbers of case reports

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

S = "workflow"


def ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("case_reports", sa.Column("external_id", sa.Text), schema=S)
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("event_types", JSONB, nullable=False),
        sa.Column("department_code", sa.Text),
        sa.Column("street_code", sa.Text),
        sa.Column("channel", sa.Text),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("scheme", sa.Text, nullable=False, server_default="standard"),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("previous_secret", sa.Text),
        ts("previous_secret_until"),
        ts("created_at", False),
        ts("deleted_at"),
        schema=S,
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("subscription_id", sa.Text, sa.ForeignKey(f"{S}.webhook_subscriptions.id"), nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("ordering_key", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        ts("next_attempt_at", False),
        ts("leased_until"),
        ts("created_at", False),
        ts("delivered_at"),
        ts("dead_at"),
        ts("acknowledged_at"),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("subscription_id", "event_id", name="webhook_deliveries_once_per_event"),
        schema=S,
    )
    op.create_index(
        "webhook_deliveries_pending_idx",
        "webhook_deliveries",
        ["subscription_id", "ordering_key", "id"],
        schema=S,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("webhook_deliveries_log_idx", "webhook_deliveries", ["subscription_id", "id"], schema=S)
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("delivery_id", sa.BigInteger, sa.ForeignKey(f"{S}.webhook_deliveries.id"), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        ts("at", False),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        schema=S,
    )
    op.create_index("ix_workflow_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"], schema=S)


def downgrade() -> None:
    op.drop_table("webhook_attempts", schema=S)
    op.drop_table("webhook_deliveries", schema=S)
    op.drop_table("webhook_subscriptions", schema=S)
    op.drop_column("case_reports", "external_id", schema=S)
