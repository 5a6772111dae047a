"""report scope (case units, photos), per-report PII keys and the erasure audit

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "intake"


def upgrade() -> None:
    op.add_column("report_status", sa.Column("street_code", sa.Text), schema=S)
    op.add_column("report_status", sa.Column("closed_at", sa.DateTime(timezone=True)), schema=S)
    op.create_index(
        "ix_report_status_closed",
        "report_status",
        ["closed_at"],
        schema=S,
        postgresql_where=sa.text("closed_at IS NOT NULL"),
    )
    op.create_table(
        "case_units",
        sa.Column("case_id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("unit", sa.Text, primary_key=True),
        schema=S,
        comment="who may read a case's reports, learnt from cases.v1 events (never from workflow's schema)",
    )
    # Cases known before this revision: the department routing named is the one the case was filed to.
    # Later redispatches and summons of those cases were not recorded and are not recovered.
    op.execute(
        f"INSERT INTO {S}.case_units (case_id, kind, unit) SELECT DISTINCT case_id, 'department', department_code "
        f"FROM {S}.report_status WHERE case_id IS NOT NULL AND department_code IS NOT NULL ON CONFLICT DO NOTHING"
    )
    op.create_table(
        "report_photos",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("report_id", sa.Text, primary_key=True),
        schema=S,
    )
    op.create_index("ix_report_photos_report", "report_photos", ["report_id"], schema=S)
    # Photos of reports received before this revision: their names are in the stored event bodies.
    op.execute(
        f"INSERT INTO {S}.report_photos (name, report_id) "
        f"SELECT DISTINCT regexp_replace(p->>'uri', '^.*/', ''), r.report_id FROM {S}.reports r, "
        f"jsonb_array_elements(coalesce(r.body->'photos', '[]'::jsonb)) p "
        f"WHERE p->>'uri' LIKE '/v1/media/%' ON CONFLICT DO NOTHING"
    )
    op.create_table(
        "photo_uploads",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("uploaded_by", sa.Text, primary_key=True),
        schema=S,
        comment="photos people uploaded for case commands (POST /v1/media): the uploader may read them back",
    )
    op.create_table(
        "report_keys",
        sa.Column("report_id", sa.Text, primary_key=True),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        schema=S,
        comment="one key per report: deleting the row erases the report's contact details (crypto-shredding)",
    )
    op.create_table(
        "pii_erasures",
        sa.Column("report_id", sa.Text, primary_key=True),
        sa.Column("case_id", sa.Text),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retention_days", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        schema=S,
        comment="audit: every erasure of a reporter's phone and name, when and under which retention",
    )


def downgrade() -> None:
    for table in ("pii_erasures", "report_keys", "photo_uploads", "report_photos", "case_units"):
        op.drop_table(table, schema=S)
    op.drop_index("ix_report_status_closed", "report_status", schema=S)
    op.drop_column("report_status", "closed_at", schema=S)
    op.drop_column("report_status", "street_code", schema=S)
