"""analytics read models (case facts, dispatches, whistle check-ins, escalations, reports), outbox and inbox

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from shared.db.migrations import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

S = "analytics"


def upgrade() -> None:
    create_messaging_tables(S)
    op.create_table(
        "case_facts",
        sa.Column("case_id", sa.Text, primary_key=True),
        sa.Column("case_no", sa.Text, nullable=False),
        sa.Column("report_id", sa.Text),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True)),
        sa.Column("department_code", sa.Text, comment="department of the latest dispatch"),
        sa.Column("district_code", sa.Text),
        sa.Column("street_code", sa.Text),
        sa.Column("community_code", sa.Text),
        sa.Column("cell_code", sa.Text),
        sa.Column("category_scheme", sa.Text),
        sa.Column("category_code", sa.Text),
        sa.Column("category_name", sa.Text),
        sa.Column("category_kind", sa.Text),
        sa.Column("channel", sa.Text),
        sa.Column("priority", sa.Text),
        sa.Column("deadline_profile", sa.Text),
        sa.Column("received_at", sa.DateTime(timezone=True)),
        sa.Column("filed_at", sa.DateTime(timezone=True)),
        sa.Column("first_dispatched_at", sa.DateTime(timezone=True)),
        sa.Column("dispatched_at", sa.DateTime(timezone=True)),
        sa.Column("dispatch_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("return_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("acknowledge_due_at", sa.DateTime(timezone=True)),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
        sa.Column("first_contact_due_at", sa.DateTime(timezone=True)),
        sa.Column("first_contact_at", sa.DateTime(timezone=True)),
        sa.Column("first_contact_on_time", sa.Boolean),
        sa.Column("handle_due_at", sa.DateTime(timezone=True)),
        sa.Column("handled_at", sa.DateTime(timezone=True)),
        sa.Column("first_handled_at", sa.DateTime(timezone=True)),
        sa.Column("handle_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("verify_due_at", sa.DateTime(timezone=True)),
        sa.Column("failed_verification_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("first_closed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("reopen_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
        sa.Column("extension_requested_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("extension_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("extension_days", sa.Integer, nullable=False, server_default="0"),
        sa.Column("suspension_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("suspended_since", sa.DateTime(timezone=True)),
        sa.Column("suspended_seconds", sa.Float, nullable=False, server_default="0"),
        sa.Column("merged_report_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("callback_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("satisfaction", sa.Text),
        sa.Column("callback_at", sa.DateTime(timezone=True)),
        sa.Column("warning_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("breach_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("escalation_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_escalation_level", sa.Integer, nullable=False, server_default="0"),
        sa.Column("whistle_count", sa.Integer, nullable=False, server_default="0"),
        schema=S,
    )
    op.create_index(
        "ix_case_facts_filed_at",
        "case_facts",
        ["filed_at"],
        schema=S,
        postgresql_include=[
            "case_id",
            "withdrawn_at",
            "state",
            "department_code",
            "satisfaction",
            "closed_at",
            "suspended_seconds",
        ],
    )
    op.create_index(
        "ix_case_facts_recurrence", "case_facts", ["cell_code", "category_code", "first_closed_at"], schema=S
    )
    op.create_table(
        "dispatches",
        sa.Column("case_id", sa.Text, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("department_code", sa.Text),
        sa.Column("dispatched_at", sa.DateTime(timezone=True)),
        sa.Column("redispatch", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("acknowledge_due_at", sa.DateTime(timezone=True)),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
        sa.Column("responded_at", sa.DateTime(timezone=True)),
        sa.Column("returned_at", sa.DateTime(timezone=True)),
        sa.Column("filed_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index("ix_dispatches_filed_at", "dispatches", ["filed_at"], schema=S)
    op.create_table(
        "checkins",
        sa.Column("case_id", sa.Text, primary_key=True),
        sa.Column("whistle_seq", sa.Integer, primary_key=True),
        sa.Column("department_code", sa.Text, primary_key=True),
        sa.Column("street_code", sa.Text),
        sa.Column("whistle_at", sa.DateTime(timezone=True)),
        sa.Column("due_at", sa.DateTime(timezone=True)),
        sa.Column("checked_in_at", sa.DateTime(timezone=True)),
        sa.Column("missed_at", sa.DateTime(timezone=True)),
        sa.Column("filed_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index("ix_checkins_filed_at", "checkins", ["filed_at"], schema=S)
    op.create_table(
        "escalations",
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("case_id", sa.Text, nullable=False),
        sa.Column("department_code", sa.Text),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True)),
        sa.Column("due_at", sa.DateTime(timezone=True)),
        sa.Column("escalated_to", sa.Text),
        schema=S,
    )
    op.create_index("ix_escalations_at", "escalations", ["at"], schema=S)
    op.create_table(
        "reports",
        sa.Column("report_id", sa.Text, primary_key=True),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index("ix_reports_received_at", "reports", ["received_at"], schema=S)


def downgrade() -> None:
    op.drop_table("reports", schema=S)
    op.drop_table("escalations", schema=S)
    op.drop_table("checkins", schema=S)
    op.drop_table("dispatches", schema=S)
    op.drop_table("case_facts", schema=S)
    op.drop_table("inbox", schema=S)
    op.drop_table("outbox", schema=S)
