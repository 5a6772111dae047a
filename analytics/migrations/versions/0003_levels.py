"""tiered handling: each case's level and its moves between levels, the streets' ratings of departments (考核);
the rollup columns of their scores

Cases filed before tiered handling were all the district's: the defaults say so. The rollups are then
rebuilt from the stored facts with today's scoring code (the bulk path of analytics/rollup.py), which needs
every column it reads to exist: a later revision that adds measures moves this step into itself.

Revision ID: 0003_levels
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_levels"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "analytics"
FACTS = (
    sa.Column("level", sa.Text, nullable=False, server_default="district", comment="handling level holding it now"),
    sa.Column("ever_community", sa.Boolean, nullable=False, server_default="false"),
    sa.Column("ever_below_district", sa.Boolean, nullable=False, server_default="false"),
    sa.Column("reported_up_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reported_up_from_community", sa.Boolean, nullable=False, server_default="false"),
    sa.Column("delegated_count", sa.Integer, nullable=False, server_default="0"),
)
RATED = {
    "dispatches": "the street's latest rating of this handling (考核)",
    "checkins": "the street's latest rating of this summoned department (考核)",
}
MEASURES = tuple(
    f"{score}_{part}"
    for score in (
        "street_rating_rate",
        "whistle_rating_rate",
        "community_closure_rate",
        "report_up_rate",
        "delegation_rate",
    )
    for part in ("num", "den")
)


def upgrade() -> None:
    for column in FACTS:
        op.add_column("case_facts", column, schema=S)
    for table, comment in RATED.items():
        op.add_column(table, sa.Column("street_rating", sa.Text, comment=comment), schema=S)
    for name in MEASURES:
        op.add_column("score_rollup", sa.Column(name, sa.BigInteger, nullable=False, server_default="0"), schema=S)
    from analytics.config import default_scoring
    from analytics.rollup import ALL_SQL, params

    op.execute("TRUNCATE analytics.score_rollup, analytics.handling_histogram, analytics.scoreboard_histogram")
    op.get_bind().execute(sa.text(ALL_SQL), params(default_scoring(), 1))


def downgrade() -> None:
    for name in MEASURES:
        op.drop_column("score_rollup", name, schema=S)
    for column in FACTS:
        op.drop_column("case_facts", column.name, schema=S)
    for table in RATED:
        op.drop_column(table, "street_rating", schema=S)
