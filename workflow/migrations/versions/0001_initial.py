"""workflow tables: cases, audit trail, deadlines, durable timers, outbox and inbox

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

S = "workflow"


def ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def jsonb(name: str, default: str) -> sa.Column:
    return sa.Column(name, JSONB, nullable=False, server_default=sa.text(f"'{default}'::jsonb"))


def upgrade() -> None:
    create_messaging_tables(S)
    op.create_table(
        "cases",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("case_no", sa.Text, nullable=False, unique=True),
        sa.Column("report_id", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("category_scheme", sa.Text, nullable=False),
        sa.Column("category_code", sa.Text, nullable=False),
        sa.Column("category_name", sa.Text),
        sa.Column("category_kind", sa.Text, nullable=False),
        sa.Column("priority", sa.Text, nullable=False),
        sa.Column("deadline_profile", sa.Text, nullable=False),
        sa.Column("district_code", sa.Text),
        sa.Column("street_code", sa.Text),
        sa.Column("community_code", sa.Text),
        sa.Column("cell_code", sa.Text),
        sa.Column("lon", sa.Double),
        sa.Column("lat", sa.Double),
        sa.Column("address", sa.Text),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("department_code", sa.Text),
        ts("received_at", False),
        ts("filed_at", False),
        ts("updated_at", False),
        ts("closed_at"),
        sa.Column("suspended_from", sa.Text),
        sa.Column("extension_days", sa.Integer),
        sa.Column("extension_reason", sa.Text),
        ts("first_contact_at"),
        sa.Column("last_satisfaction", sa.Text),
        sa.Column("result", sa.Text),
        jsonb("photos", "[]"),
        jsonb("warnings", "[]"),
        schema=S,
    )
    op.create_index("cases_department_idx", "cases", ["department_code"], schema=S)
    op.create_index("cases_street_idx", "cases", ["street_code"], schema=S)
    op.create_index("cases_state_idx", "cases", ["state"], schema=S)
    op.create_index("cases_filed_idx", "cases", ["filed_at", "id"], schema=S)

    op.create_table(
        "case_departments",
        sa.Column("case_id", sa.Text, sa.ForeignKey(f"{S}.cases.id"), primary_key=True),
        sa.Column("department_code", sa.Text, primary_key=True),
        sa.Column("relation", sa.Text, nullable=False),
        ts("since", False),
        schema=S,
    )
    op.create_index("case_departments_department_idx", "case_departments", ["department_code"], schema=S)
    op.create_table(
        "case_reports",
        sa.Column("report_id", sa.Text, primary_key=True),
        sa.Column("case_id", sa.Text, sa.ForeignKey(f"{S}.cases.id"), nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("is_primary", sa.Boolean, nullable=False),
        ts("attached_at", False),
        ts("withdrawn_at"),
        schema=S,
    )
    op.create_index("case_reports_case_idx", "case_reports", ["case_id"], schema=S)
    op.create_table(
        "parked_events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("awaits_report_id", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("body", JSONB, nullable=False),
        ts("parked_at", False),
        schema=S,
    )
    op.create_index("ix_workflow_parked_events_awaits_report_id", "parked_events", ["awaits_report_id"], schema=S)
    op.create_table(
        "audit",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("case_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        ts("at", False),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("actor_role", sa.Text, nullable=False),
        sa.Column("actor_unit", sa.Text),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("from_state", sa.Text),
        sa.Column("to_state", sa.Text),
        sa.Column("reason", sa.Text),
        jsonb("payload", "{}"),
        sa.Column("event_id", sa.Text),
        schema=S,
    )
    op.create_index("audit_case_idx", "audit", ["case_id", "id"], schema=S)
    op.create_table(
        "whistles",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("case_id", sa.Text, sa.ForeignKey(f"{S}.cases.id"), nullable=False),
        sa.Column("street_code", sa.Text),
        ts("blown_at", False),
        sa.Column("blown_by", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        schema=S,
    )
    op.create_index("ix_workflow_whistles_case_id", "whistles", ["case_id"], schema=S)
    op.create_table(
        "deadlines",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("case_id", sa.Text, sa.ForeignKey(f"{S}.cases.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("department_code", sa.Text),
        sa.Column("whistle_id", sa.BigInteger, sa.ForeignKey(f"{S}.whistles.id")),
        sa.Column("basis", sa.Text, nullable=False),
        ts("start_at", False),
        ts("due_at", False),
        sa.Column("paused", sa.Interval, nullable=False, server_default=sa.text("'0'::interval")),
        ts("paused_at"),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        ts("met_at"),
        sa.Column("on_time", sa.Boolean),
        jsonb("warnings", "[]"),
        schema=S,
    )
    op.create_index("deadlines_case_idx", "deadlines", ["case_id", "status"], schema=S)
    op.create_table(
        "timers",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("case_id", sa.Text, nullable=False),
        sa.Column("deadline_id", sa.BigInteger, sa.ForeignKey(f"{S}.deadlines.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("fire_kind", sa.Text, nullable=False),
        ts("due_at", False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        ts("fired_at"),
        sa.UniqueConstraint("deadline_id", "fire_kind", name="timers_one_per_deadline_and_step"),
        schema=S,
    )
    op.create_index("timers_due_idx", "timers", ["due_at"], schema=S, postgresql_where=sa.text("status = 'pending'"))
    op.create_table(
        "case_counters",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
        schema=S,
    )


def downgrade() -> None:
    for table in (
        "case_counters",
        "timers",
        "deadlines",
        "whistles",
        "audit",
        "parked_events",
        "case_reports",
        "case_departments",
        "cases",
        "inbox",
        "outbox",
    ):
        op.drop_table(table, schema=S)
