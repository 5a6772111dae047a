"""Read models of the analytics schema, built only from events (`cases.v1`, `reports.received.v1`).

Everything here can be dropped and rebuilt by replaying the topics from offset zero (`analytics.rebuild`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    text,
)

from analytics.scores import MEASURES, PENDING
from shared.db.outbox import inbox_table, outbox_table

metadata = MetaData(schema="analytics")
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


SCOREBOARD_CASE_COLUMNS = (
    "case_id",
    "withdrawn_at",
    "state",
    "department_code",
    "satisfaction",
    "closed_at",
    "suspended_seconds",
)


def _ts(name: str) -> Column[object]:
    return Column(name, DateTime(timezone=True))


def _count(name: str) -> Column[int]:
    return Column(name, Integer, nullable=False, server_default="0")


case_facts = Table(
    "case_facts",
    metadata,
    Column("case_id", Text, primary_key=True),
    Column("case_no", Text, nullable=False),
    Column("report_id", Text),
    Column("state", Text, nullable=False),
    Column("version", Integer, nullable=False),
    _ts("last_event_at"),
    Column("department_code", Text, comment="department of the latest dispatch"),
    Column("district_code", Text),
    Column("street_code", Text),
    Column("community_code", Text),
    Column("cell_code", Text),
    Column("category_scheme", Text),
    Column("category_code", Text),
    Column("category_name", Text),
    Column("category_kind", Text),
    Column("channel", Text),
    Column("priority", Text),
    Column("deadline_profile", Text),
    _ts("received_at"),
    _ts("filed_at"),
    _ts("first_dispatched_at"),
    _ts("dispatched_at"),
    _count("dispatch_count"),
    _count("return_count"),
    _ts("acknowledge_due_at"),
    _ts("acknowledged_at"),
    _ts("first_contact_due_at"),
    _ts("first_contact_at"),
    Column("first_contact_on_time", Boolean),
    _ts("handle_due_at"),
    _ts("handled_at"),
    _ts("first_handled_at"),
    _count("handle_count"),
    _ts("verify_due_at"),
    _count("failed_verification_count"),
    _ts("first_closed_at"),
    _ts("closed_at"),
    _count("reopen_count"),
    _ts("withdrawn_at"),
    _count("extension_requested_count"),
    _count("extension_count"),
    _count("extension_days"),
    _count("suspension_count"),
    _ts("suspended_since"),
    Column("suspended_seconds", Float, nullable=False, server_default="0"),
    _count("merged_report_count"),
    _count("callback_count"),
    Column("satisfaction", Text),
    _ts("callback_at"),
    _count("warning_count"),
    _count("breach_count"),
    _count("escalation_count"),
    _count("max_escalation_level"),
    _count("whistle_count"),
    Column("level", Text, nullable=False, server_default="district", comment="handling level holding it now"),
    Column("ever_community", Boolean, nullable=False, server_default="false"),
    Column("ever_below_district", Boolean, nullable=False, server_default="false"),
    _count("reported_up_count"),
    Column("reported_up_from_community", Boolean, nullable=False, server_default="false"),
    _count("delegated_count"),
    # covering: the dispatch, check-in and median parts of the scoreboard read only these columns, so they
    # scan this narrow index over the period instead of the wide rows
    Index("ix_case_facts_filed_at", "filed_at", postgresql_include=list(SCOREBOARD_CASE_COLUMNS)),
    Index("ix_case_facts_recurrence", "cell_code", "category_code", "first_closed_at"),
    # the "as of now" parts of the scores read only the rows still waiting (see scores.PENDING)
    Index(
        "ix_case_facts_pending_overdue",
        "filed_at",
        postgresql_where=text(PENDING["overdue"].condition.replace("f.", "")),
    ),
    Index(
        "ix_case_facts_pending_first_contact",
        "filed_at",
        postgresql_where=text(PENDING["first_contact"].condition.replace("f.", "")),
    ),
)

dispatches = Table(
    "dispatches",
    metadata,
    Column("case_id", Text, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("department_code", Text),
    _ts("dispatched_at"),
    Column("redispatch", Boolean, nullable=False, server_default="false"),
    _ts("acknowledge_due_at"),
    _ts("acknowledged_at"),
    _ts("responded_at"),
    _ts("returned_at"),
    _ts("filed_at"),
    Column("street_rating", Text, comment="the street's latest rating of this handling (考核)"),
    Index("ix_dispatches_filed_at", "filed_at"),
    Index(
        "ix_dispatches_pending_response",
        "filed_at",
        postgresql_where=text(PENDING["response"].condition.replace("d.", "")),
    ),
)

checkins = Table(
    "checkins",
    metadata,
    Column("case_id", Text, primary_key=True),
    Column("whistle_seq", Integer, primary_key=True),
    Column("department_code", Text, primary_key=True),
    Column("street_code", Text),
    _ts("whistle_at"),
    _ts("due_at"),
    _ts("checked_in_at"),
    _ts("missed_at"),
    _ts("filed_at"),
    Column("street_rating", Text, comment="the street's latest rating of this summoned department (考核)"),
    Index("ix_checkins_filed_at", "filed_at"),
    Index("ix_checkins_pending", "filed_at", postgresql_where=text(PENDING["checkin"].condition.replace("w.", ""))),
)

escalations = Table(
    "escalations",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("case_id", Text, nullable=False),
    Column("department_code", Text),
    Column("kind", Text, nullable=False),
    Column("level", Integer, nullable=False),
    _ts("at"),
    _ts("due_at"),
    Column("escalated_to", Text),
    Index("ix_escalations_at", "at"),
)

reports = Table(
    "reports",
    metadata,
    Column("report_id", Text, primary_key=True),
    Column("channel", Text, nullable=False),
    _ts("received_at"),
    Index("ix_reports_received_at", "received_at"),
)


def _rollup_key() -> list[Column[Any]]:
    """grain: d, m or y (a local filing day, month or year); period: its first day; dimensions: '' when none."""
    return [
        Column("grain", Text, primary_key=True),
        Column("period", Date, primary_key=True),
        *(
            Column(name, Text, primary_key=True)
            for name in ("department", "street", "community", "category", "channel")
        ),
    ]


# sums of scores.MEASURES per filing period and group, kept by the fold (analytics/rollup.py)
score_rollup = Table(
    "score_rollup",
    metadata,
    *_rollup_key(),
    *(Column(m.name, Numeric if m.numeric else BigInteger, nullable=False, server_default="0") for m in MEASURES),
)

# closed live cases per handling-time bucket (scores.HANDLING_BUCKET), for the median
handling_histogram = Table(
    "handling_histogram",
    metadata,
    *_rollup_key(),
    Column("bucket", Integer, primary_key=True),
    Column("n", BigInteger, nullable=False),
)

# handling_histogram summed per single dimension (or 'total'): the medians of the unfiltered scoreboards
scoreboard_histogram = Table(
    "scoreboard_histogram",
    metadata,
    Column("grain", Text, primary_key=True),
    Column("period", Date, primary_key=True),
    Column("dimension", Text, primary_key=True),
    Column("value", Text, primary_key=True),
    Column("bucket", Integer, primary_key=True),
    Column("n", BigInteger, nullable=False),
)

READ_MODELS = (
    case_facts,
    dispatches,
    checkins,
    escalations,
    reports,
    score_rollup,
    handling_histogram,
    scoreboard_histogram,
)


# Operator input, not a projection: never truncated by a rebuild (not in READ_MODELS).
targets = Table(
    "targets",
    metadata,
    Column("target_id", Text, primary_key=True),
    Column("score", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("value", Float, nullable=False),
    Column("note", Text),
    Column("set_by", Text, nullable=False),
    _ts("set_at"),
    Index("ux_targets_what", "score", "scope", "unit", "period", unique=True),
)

target_changes = Table(
    "target_changes",
    metadata,
    Column("change_id", BigInteger, primary_key=True, autoincrement=True),
    Column("target_id", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("old_value", Float),
    Column("new_value", Float),
    Column("note", Text),
    Column("actor", Text, nullable=False),
    _ts("at"),
    Index("ix_target_changes_target", "target_id", "change_id"),
)
