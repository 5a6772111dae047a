"""WeChat progress beyond 48 h: when each citizen last wrote, and which API delivered each progress message

Revision ID: 0004_wechat_contacts
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_wechat_contacts"
down_revision = "0003"
branch_labels = None
depends_on = None

S = "intake"


def upgrade() -> None:
    op.create_table(
        "wechat_contacts",
        sa.Column("openid", sa.Text, primary_key=True),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    # A citizen's last draft message is the best record of their window an existing deployment has.
    op.execute(
        "INSERT INTO intake.wechat_contacts (openid, last_message_at) "
        "SELECT openid, max(last_at) FROM intake.wechat_drafts GROUP BY openid"
    )
    op.add_column("wechat_progress", sa.Column("case_no", sa.Text), schema=S)
    op.add_column(
        "wechat_progress",
        sa.Column("via", sa.Text, comment="custom | template: the API that delivered it"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_column("wechat_progress", "via", schema=S)
    op.drop_column("wechat_progress", "case_no", schema=S)
    op.drop_table("wechat_contacts", schema=S)
