"""Tables of the `router` schema: rule-set versions, decisions, open primaries (for 并案) and the dispatch queue."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Double,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db.outbox import inbox_table, outbox_table

metadata = MetaData(schema="router")
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

rulesets = Table(
    "rulesets",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("yaml", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("comment", Text, nullable=False, server_default=""),
    Column("diff", Text, nullable=False, server_default=""),
)

decisions = Table(
    "decisions",
    metadata,
    Column("report_id", Text, primary_key=True),
    Column("outcome", Text, nullable=False),
    Column("category_id", Text),
    Column("department_code", Text),
    Column("rule_id", Text, nullable=False),
    Column("ruleset_version", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)

open_primaries = Table(
    "open_primaries",
    metadata,
    Column("report_id", Text, primary_key=True),
    Column("category_id", Text, nullable=False),
    Column("lon", Double, nullable=False),
    Column("lat", Double, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("case_id", Text),
    Column("open", Boolean, nullable=False, server_default=text("true")),
    Column("closed_at", DateTime(timezone=True)),
    Index("open_primaries_lookup", "category_id", "received_at", postgresql_where=text("open")),
    Index("open_primaries_case", "case_id"),
)

queue = Table(
    "queue",
    metadata,
    Column("report_id", Text, primary_key=True),
    Column("status", Text, nullable=False),
    Column("report", JSONB, nullable=False),
    Column("reason", Text, nullable=False),
    Column("candidates", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("grid", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("lon", Double),
    Column("lat", Double),
    Column("notes", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("queued_at", DateTime(timezone=True), nullable=False),
    Column("claimed_by", Text),
    Column("claimed_at", DateTime(timezone=True)),
    Column("closed_by", Text),
    Column("closed_at", DateTime(timezone=True)),
    Index("queue_status", "status", "queued_at"),
)
