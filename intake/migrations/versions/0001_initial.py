"""intake tables

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

S = "intake"


def _tz(name: str, nullable: bool = False, **kw: object) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kw)


def upgrade() -> None:
    create_messaging_tables(S)
    op.execute(sa.schema.CreateSequence(sa.Sequence("report_no", schema=S, start=1)))
    op.create_table(
        "reports",
        sa.Column("report_id", sa.Text, primary_key=True),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("external_id", sa.Text),
        sa.Column("body", JSONB, nullable=False),
        sa.Column("contact_sealed", sa.LargeBinary),
        _tz("received_at"),
        _tz("created_at", server_default=sa.func.now()),
        schema=S,
    )
    op.create_index("ix_reports_channel_received", "reports", ["channel", "received_at"], schema=S)
    op.create_table(
        "report_status",
        sa.Column("report_id", sa.Text, primary_key=True),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("department_code", sa.Text),
        sa.Column("primary_report_id", sa.Text),
        sa.Column("case_id", sa.Text),
        sa.Column("case_no", sa.Text),
        sa.Column("case_state", sa.Text),
        sa.Column("case_version", sa.Integer),
        _tz("updated_at"),
        schema=S,
    )
    op.create_index("ix_report_status_case", "report_status", ["case_id"], schema=S)
    op.create_index("ix_report_status_primary", "report_status", ["primary_report_id"], schema=S)
    op.create_table(
        "report_updates",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("report_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("body", JSONB, nullable=False),
        _tz("at"),
        schema=S,
    )
    op.create_index("ix_report_updates_report", "report_updates", ["report_id"], schema=S)
    op.create_table(
        "idempotency",
        sa.Column("scope", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("report_id", sa.Text),
        sa.Column("request_hash", sa.Text),
        sa.Column("response", JSONB),
        _tz("created_at", server_default=sa.func.now()),
        schema=S,
    )
    op.create_table(
        "replay_guard",
        sa.Column("signature", sa.Text, primary_key=True),
        _tz("seen_at"),
        schema=S,
    )
    op.create_index("ix_replay_guard_seen", "replay_guard", ["seen_at"], schema=S)
    op.create_table(
        "video_streaks",
        sa.Column("camera_id", sa.Text, primary_key=True),
        sa.Column("algorithm", sa.Text, primary_key=True),
        sa.Column("report_id", sa.Text, nullable=False),
        _tz("first_at"),
        _tz("last_at"),
        sa.Column("count", sa.Integer, nullable=False),
        schema=S,
    )
    op.create_table(
        "wechat_drafts",
        sa.Column("report_id", sa.Text, primary_key=True),
        sa.Column("openid", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        _tz("opened_at"),
        _tz("last_at"),
        sa.Column("draft", JSONB, nullable=False),
        schema=S,
    )
    op.create_index(
        "uq_wechat_drafts_open",
        "wechat_drafts",
        ["openid"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("state = 'open'"),
    )
    op.create_index(
        "ix_wechat_drafts_due", "wechat_drafts", ["last_at"], schema=S, postgresql_where=sa.text("state = 'open'")
    )
    op.create_table(
        "iot_alarms",
        sa.Column("report_id", sa.Text, primary_key=True),
        sa.Column("device_id", sa.Text, nullable=False),
        sa.Column("alarm_type", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        _tz("opened_at"),
        _tz("last_at"),
        _tz("recovered_at", nullable=True),
        sa.Column("count", sa.Integer, nullable=False),
        schema=S,
    )
    op.create_index(
        "uq_iot_alarms_open",
        "iot_alarms",
        ["device_id", "alarm_type"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("state = 'open'"),
    )


def downgrade() -> None:
    for table in (
        "iot_alarms",
        "wechat_drafts",
        "video_streaks",
        "replay_guard",
        "idempotency",
        "report_updates",
        "report_status",
        "reports",
        "inbox",
        "outbox",
    ):
        op.drop_table(table, schema=S)
    op.execute(sa.schema.DropSequence(sa.Sequence("report_no", schema=S)))
