"""router tables: rule-set versions, decisions, open primaries, dispatch queue, outbox and inbox

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.db.migrations import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

S = "router"


def ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    create_messaging_tables(S)
    op.create_table(
        "rulesets",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("yaml", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        ts("created_at", nullable=False),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("diff", sa.Text, nullable=False, server_default=""),
        schema=S,
    )
    op.create_table(
        "decisions",
        sa.Column("report_id", sa.Text, primary_key=True),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("category_id", sa.Text),
        sa.Column("department_code", sa.Text),
        sa.Column("rule_id", sa.Text, nullable=False),
        sa.Column("ruleset_version", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("decided_by", sa.Text),
        ts("decided_at", nullable=False),
        schema=S,
    )
    op.create_table(
        "open_primaries",
        sa.Column("report_id", sa.Text, primary_key=True),
        sa.Column("category_id", sa.Text, nullable=False),
        sa.Column("lon", sa.Double, nullable=False),
        sa.Column("lat", sa.Double, nullable=False),
        ts("received_at", nullable=False),
        sa.Column("case_id", sa.Text),
        sa.Column("open", sa.Boolean, nullable=False, server_default=sa.text("true")),
        ts("closed_at"),
        schema=S,
    )
    op.create_index(
        "open_primaries_lookup",
        "open_primaries",
        ["category_id", "received_at"],
        schema=S,
        postgresql_where=sa.text("open"),
    )
    op.create_index("open_primaries_case", "open_primaries", ["case_id"], schema=S)
    op.create_table(
        "queue",
        sa.Column("report_id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("report", JSONB, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("candidates", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("grid", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("lon", sa.Double),
        sa.Column("lat", sa.Double),
        sa.Column("notes", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        ts("queued_at", nullable=False),
        sa.Column("claimed_by", sa.Text),
        ts("claimed_at"),
        sa.Column("closed_by", sa.Text),
        ts("closed_at"),
        schema=S,
    )
    op.create_index("queue_status", "queue", ["status", "queued_at"], schema=S)


def downgrade() -> None:
    for table in ("queue", "open_primaries", "decisions", "rulesets", "inbox", "outbox"):
        op.drop_table(table, schema=S)
