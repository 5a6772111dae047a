"""Tables of the `intake` schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Sequence,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db.outbox import inbox_table, outbox_table

SCHEMA = "intake"
metadata = MetaData(schema=SCHEMA)
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

report_no = Sequence("report_no", metadata=metadata, start=1)
"""Feeds the readable report number (R + local date + sequence) that citizens are told."""

reports = Table(
    "reports",
    metadata,
    Column("report_id", Text, primary_key=True),
    Column("channel", Text, nullable=False),
    Column("external_id", Text),
    Column("body", JSONB, nullable=False, comment="the ReportReceived event as published (phones masked)"),
    Column("contact_sealed", LargeBinary, comment="AES-GCM of the caller's phone/email, bound to report_id"),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_reports_channel_received", "channel", "received_at"),
    Index(
        "ix_reports_patrol_reporter",
        text("((body -> 'reporter'::text) ->> 'id'::text)"),  # as PostgreSQL spells it back
        "received_at",
        postgresql_where=text("channel = 'patrol'"),
    ),
)

report_status = Table(
    "report_status",
    metadata,
    Column("report_id", Text, primary_key=True),
    Column("stage", Text, nullable=False, comment="received | routed | merged | queued"),
    Column("reason", Text),
    Column("department_code", Text),
    Column("primary_report_id", Text),
    Column("case_id", Text),
    Column("case_no", Text),
    Column("case_state", Text),
    Column("case_version", Integer),
    Column("case_result", Text, comment="the department's handling result (办理结果), latest first"),
    Column("case_result_at", DateTime(timezone=True)),
    Column("street_code", Text, comment="the street the router located the report in"),
    Column("closed_at", DateTime(timezone=True), comment="when its case closed (or was withdrawn); NULL while open"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_report_status_case", "case_id"),
    Index("ix_report_status_closed", "closed_at", postgresql_where=text("closed_at IS NOT NULL")),
    Index("ix_report_status_primary", "primary_report_id"),
)

case_units = Table(
    "case_units",
    metadata,
    Column("case_id", Text, primary_key=True),
    Column("kind", Text, primary_key=True, comment="department (ever assigned or summoned) | street"),
    Column("unit", Text, primary_key=True),
    comment="who may read a case's reports, learnt from cases.v1 events (never from workflow's schema)",
)

report_photos = Table(
    "report_photos",
    metadata,
    Column("name", Text, primary_key=True, comment="<sha256>.<ext>, as in /v1/media/<name>"),
    Column("report_id", Text, primary_key=True),
    Index("ix_report_photos_report", "report_id"),
)

photo_uploads = Table(
    "photo_uploads",
    metadata,
    Column("name", Text, primary_key=True),
    Column("uploaded_by", Text, primary_key=True),
    comment="photos people uploaded for case commands (POST /v1/media): the uploader may read them back",
)

report_keys = Table(
    "report_keys",
    metadata,
    Column("report_id", Text, primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False, comment="the report's data key, AES-GCM under the PII key"),
    comment="one key per report: deleting the row erases the report's contact details (crypto-shredding)",
)

pii_erasures = Table(
    "pii_erasures",
    metadata,
    Column("report_id", Text, primary_key=True),
    Column("case_id", Text),
    Column("closed_at", DateTime(timezone=True)),
    Column("erased_at", DateTime(timezone=True), nullable=False, comment="city clock"),
    Column("retention_days", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    comment="audit: every erasure of a reporter's phone and name, when and under which retention",
)

report_updates = Table(
    "report_updates",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("report_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("body", JSONB, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_report_updates_report", "report_id"),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("scope", Text, primary_key=True, comment="hotline-ticket, patrol, video-alert, wechat-msg…"),
    Column("key", Text, primary_key=True),
    Column("report_id", Text),
    Column("request_hash", Text),
    Column("response", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

replay_guard = Table(
    "replay_guard",
    metadata,
    Column("signature", Text, primary_key=True),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    Index("ix_replay_guard_seen", "seen_at"),
)

video_streaks = Table(
    "video_streaks",
    metadata,
    Column("camera_id", Text, primary_key=True),
    Column("algorithm", Text, primary_key=True),
    Column("report_id", Text, nullable=False),
    Column("first_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    Column("count", Integer, nullable=False),
)

wechat_drafts = Table(
    "wechat_drafts",
    metadata,
    Column("report_id", Text, primary_key=True, comment="reserved when the draft opens, told to the citizen"),
    Column("openid", Text, nullable=False),
    Column("state", Text, nullable=False, comment="open | filed | cancelled"),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    Column("draft", JSONB, nullable=False),
    Index("uq_wechat_drafts_open", "openid", unique=True, postgresql_where=text("state = 'open'")),
    Index("ix_wechat_drafts_due", "last_at", postgresql_where=text("state = 'open'")),
)

iot_alarms = Table(
    "iot_alarms",
    metadata,
    Column("report_id", Text, primary_key=True),
    Column("device_id", Text, nullable=False),
    Column("alarm_type", Text, nullable=False),
    Column("state", Text, nullable=False, comment="open | recovered"),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    Column("recovered_at", DateTime(timezone=True)),
    Column("count", Integer, nullable=False),
    Index("uq_iot_alarms_open", "device_id", "alarm_type", unique=True, postgresql_where=text("state = 'open'")),
)

wechat_progress = Table(
    "wechat_progress",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("report_id", Text, nullable=False),
    Column("openid", Text, nullable=False),
    Column("step", Text, nullable=False, comment="accepted | dispatched | handled | closed"),
    Column("text", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="pending", comment="pending | sent | failed"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("case_no", Text),
    Column("via", Text, comment="custom | template: the API that delivered it"),
    UniqueConstraint("report_id", "step", name="wechat_progress_once_per_step"),
    Index("ix_wechat_progress_pending", "next_attempt_at", postgresql_where=text("status = 'pending'")),
)
"""Progress messages owed to WeChat citizens, written with the case event that causes them, sent by a worker."""

wechat_contacts = Table(
    "wechat_contacts",
    metadata,
    Column("openid", Text, primary_key=True),
    Column("last_message_at", DateTime(timezone=True), nullable=False),
)
"""When each citizen last wrote to the account: customer-service messages reach them only within 48 h of it."""
