"""Tables of the `workflow` schema: cases, their audit trail, deadlines and the durable timers."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Interval,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db.outbox import inbox_table, outbox_table

metadata = MetaData(schema="workflow")
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


def _ts(name: str, nullable: bool = True) -> Column:  # type: ignore[type-arg]
    return Column(name, DateTime(timezone=True), nullable=nullable)


cases = Table(
    "cases",
    metadata,
    Column("id", Text, primary_key=True),
    Column("case_no", Text, nullable=False, unique=True),
    Column("report_id", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("channel", Text, nullable=False),
    Column("category_scheme", Text, nullable=False),
    Column("category_code", Text, nullable=False),
    Column("category_name", Text),
    Column("category_kind", Text, nullable=False),
    Column("priority", Text, nullable=False),
    Column("deadline_profile", Text, nullable=False),
    Column("district_code", Text),
    Column("street_code", Text),
    Column("community_code", Text),
    Column("cell_code", Text),
    Column("lon", Double),
    Column("lat", Double),
    Column("address", Text),
    Column("description", Text, nullable=False, server_default=""),
    Column("department_code", Text),
    _ts("received_at", False),
    _ts("filed_at", False),
    _ts("updated_at", False),
    _ts("closed_at"),
    Column("suspended_from", Text),
    Column("extension_days", Integer),
    Column("extension_reason", Text),
    _ts("first_contact_at"),
    Column("last_satisfaction", Text),
    Column("result", Text),
    Column("photos", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("warnings", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("level", Text, nullable=False, server_default="district"),
    Column("level_unit", Text),
    Index("cases_department_idx", "department_code"),
    Index("cases_street_idx", "street_code"),
    Index("cases_state_idx", "state"),
    Index("cases_filed_idx", "filed_at", "id"),
    Index("cases_level_queue_idx", "level", "level_unit", "state"),
)
"""`level` is the handling level holding the case (district | street | community); `level_unit` its street or
community code below the district (workflow/levels.py)."""

case_departments = Table(
    "case_departments",
    metadata,
    Column("case_id", Text, ForeignKey("workflow.cases.id"), primary_key=True),
    Column("department_code", Text, primary_key=True),
    Column("relation", Text, nullable=False),
    _ts("since", False),
    Index("case_departments_department_idx", "department_code"),
)
"""Every department the case was ever assigned to or summoned by a whistle: their data scope."""

case_reports = Table(
    "case_reports",
    metadata,
    Column("report_id", Text, primary_key=True),
    Column("case_id", Text, ForeignKey("workflow.cases.id"), nullable=False),
    Column("channel", Text, nullable=False),
    Column("is_primary", Boolean, nullable=False),
    Column("external_id", Text),
    _ts("attached_at", False),
    _ts("withdrawn_at"),
    Column("deadline_profile", Text),
    Column("hotline_class", Text),
    _ts("received_at"),
    _ts("first_contact_at"),
    _ts("result_due_at"),
    Index("case_reports_case_idx", "case_id"),
)
"""The reports of a case; a merged caller's row also holds what that caller is owed (`workflow.callers`)."""

parked_events = Table(
    "parked_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("awaits_report_id", Text, nullable=False, index=True),
    Column("event_type", Text, nullable=False),
    Column("body", JSONB, nullable=False),
    _ts("parked_at", False),
)
"""Events about a report that has no case yet (they travel on other partitions): applied once it has one."""

audit = Table(
    "audit",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("case_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    _ts("at", False),
    Column("actor_id", Text, nullable=False),
    Column("actor_role", Text, nullable=False),
    Column("actor_unit", Text),
    Column("action", Text, nullable=False),
    Column("from_state", Text),
    Column("to_state", Text),
    Column("reason", Text),
    Column("payload", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("event_id", Text),
    Index("audit_case_idx", "case_id", "id"),
)
"""Append-only trail of every change. No foreign key: a timer sweep appends hundreds of rows, and a key
check would lock (and write to) each case row; the rows are only ever written next to their case."""

whistles = Table(
    "whistles",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("case_id", Text, ForeignKey("workflow.cases.id"), nullable=False, index=True),
    Column("street_code", Text),
    _ts("blown_at", False),
    Column("blown_by", Text, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
)

deadlines = Table(
    "deadlines",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("case_id", Text, ForeignKey("workflow.cases.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("department_code", Text),
    Column("whistle_id", BigInteger, ForeignKey("workflow.whistles.id")),
    Column("basis", Text, nullable=False),
    _ts("start_at", False),
    _ts("due_at", False),
    Column("paused", Interval, nullable=False, server_default=text("'0'::interval")),
    _ts("paused_at"),
    Column("status", Text, nullable=False, server_default="active"),
    _ts("met_at"),
    Column("on_time", Boolean),
    Column("warnings", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Index("deadlines_case_idx", "case_id", "status"),
)
"""One clock of a case: first_contact, acknowledge, handle, verify or checkin:<dept>; active → met | cancelled."""

timers = Table(
    "timers",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("case_id", Text, nullable=False),
    Column("deadline_id", BigInteger, ForeignKey("workflow.deadlines.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("fire_kind", Text, nullable=False),
    _ts("due_at", False),
    Column("status", Text, nullable=False, server_default="pending"),
    _ts("fired_at"),
    UniqueConstraint("deadline_id", "fire_kind", name="timers_one_per_deadline_and_step"),
    Index("timers_due_idx", "due_at", postgresql_where=text("status = 'pending'")),
)
"""A durable timer: pending → fired (once, in the transaction of its event) | paused | cancelled.

The unique (deadline_id, fire_kind) constraint is what makes every warning, reminder and supervision
level of one deadline happen at most once, whatever crashes or replays happen.
"""

case_counters = Table(
    "case_counters",
    metadata,
    Column("day", Date, primary_key=True),
    Column("last", Integer, nullable=False),
)
"""Daily sequence behind human-readable case numbers (DC + yyyymmdd + 6 digits)."""
