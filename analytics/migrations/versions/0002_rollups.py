"""score rollups (per filing day, month, year and group), handling-time histograms, pending-row indexes, targets

Existing facts are summed into the rollups by the latest revision that changes the measures (0003_levels).

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

S = "analytics"
DIMENSIONS = ("department", "street", "community", "category", "channel")
MEASURES = (
    ("case_rows", False),
    ("dispatch_rows", False),
    ("checkin_rows", False),
    ("cases", False),
    ("withdrawn", False),
    ("closed", False),
    ("open", False),
    ("merged_reports", False),
    ("reopened", False),
    ("extended", False),
    ("escalations", False),
    ("response_rate_num", False),
    ("response_rate_den", False),
    ("on_time_handling_rate_num", False),
    ("on_time_handling_rate_den", False),
    ("closure_rate_num", False),
    ("closure_rate_den", False),
    ("satisfaction_rate_num", False),
    ("satisfaction_rate_den", False),
    ("rework_rate_num", False),
    ("rework_rate_den", False),
    ("same_day_closure_rate_num", False),
    ("same_day_closure_rate_den", False),
    ("mean_handling_hours_sum", True),
    ("mean_handling_hours_n", False),
    ("first_contact_rate_num", False),
    ("first_contact_rate_den", False),
    ("on_time_filing_rate_num", False),
    ("on_time_filing_rate_den", False),
    ("accurate_dispatch_rate_num", False),
    ("accurate_dispatch_rate_den", False),
    ("on_time_closing_rate_num", False),
    ("on_time_closing_rate_den", False),
    ("whistle_checkin_rate_num", False),
    ("whistle_checkin_rate_den", False),
    ("whistle_closure_rate_num", False),
    ("whistle_closure_rate_den", False),
    ("whistle_satisfaction_rate_num", False),
    ("whistle_satisfaction_rate_den", False),
)


def _key() -> list[sa.Column]:
    return [
        sa.Column("grain", sa.Text, primary_key=True),
        sa.Column("period", sa.Date, primary_key=True),
        *(sa.Column(name, sa.Text, primary_key=True) for name in DIMENSIONS),
    ]


def upgrade() -> None:
    op.create_table(
        "score_rollup",
        *_key(),
        *(
            sa.Column(name, sa.Numeric if numeric else sa.BigInteger, nullable=False, server_default="0")
            for name, numeric in MEASURES
        ),
        schema=S,
    )
    op.create_table(
        "handling_histogram",
        *_key(),
        sa.Column("bucket", sa.Integer, primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
        schema=S,
    )
    op.create_table(
        "scoreboard_histogram",
        sa.Column("grain", sa.Text, primary_key=True),
        sa.Column("period", sa.Date, primary_key=True),
        sa.Column("dimension", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, primary_key=True),
        sa.Column("bucket", sa.Integer, primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
        schema=S,
    )
    op.create_index(
        "ix_case_facts_pending_overdue",
        "case_facts",
        ["filed_at"],
        schema=S,
        postgresql_where=sa.text(
            "withdrawn_at IS NULL AND state NOT IN ('closed', 'suspended') AND handled_at IS NULL "
            "AND handle_due_at IS NOT NULL"
        ),
    )
    op.create_index(
        "ix_case_facts_pending_first_contact",
        "case_facts",
        ["filed_at"],
        schema=S,
        postgresql_where=sa.text(
            "withdrawn_at IS NULL AND first_contact_at IS NULL AND first_contact_due_at IS NOT NULL"
        ),
    )
    op.create_index(
        "ix_dispatches_pending_response",
        "dispatches",
        ["filed_at"],
        schema=S,
        postgresql_where=sa.text("responded_at IS NULL AND acknowledge_due_at IS NOT NULL"),
    )
    op.create_index(
        "ix_checkins_pending",
        "checkins",
        ["filed_at"],
        schema=S,
        postgresql_where=sa.text("checked_in_at IS NULL AND due_at IS NOT NULL"),
    )
    op.create_table(
        "targets",
        sa.Column("target_id", sa.Text, primary_key=True),
        sa.Column("score", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("period", sa.Text, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("set_by", sa.Text, nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index("ux_targets_what", "targets", ["score", "scope", "unit", "period"], unique=True, schema=S)
    op.create_table(
        "target_changes",
        sa.Column("change_id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("target_id", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("old_value", sa.Float),
        sa.Column("new_value", sa.Float),
        sa.Column("note", sa.Text),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index("ix_target_changes_target", "target_changes", ["target_id", "change_id"], schema=S)
    # The bulk fill of the rollups from existing facts runs the scoring code of today, which reads columns later
    # revisions add: it runs in the latest revision that changes the measures (0003_levels), not here.


def downgrade() -> None:
    for index, table in (
        ("ix_case_facts_pending_overdue", "case_facts"),
        ("ix_case_facts_pending_first_contact", "case_facts"),
        ("ix_dispatches_pending_response", "dispatches"),
        ("ix_checkins_pending", "checkins"),
    ):
        op.drop_index(index, table_name=table, schema=S)
    op.drop_table("target_changes", schema=S)
    op.drop_table("targets", schema=S)
    op.drop_table("scoreboard_histogram", schema=S)
    op.drop_table("handling_histogram", schema=S)
    op.drop_table("score_rollup", schema=S)
