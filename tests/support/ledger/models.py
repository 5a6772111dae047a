from sqlalchemy import BigInteger, Column, Identity, Integer, MetaData, Table, Text

from shared.db.outbox import inbox_table, outbox_table

metadata = MetaData(schema="ledger")
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
effects = Table(
    "effects",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("event_id", Text, nullable=False),  # deliberately not unique: duplicates must be visible
    Column("key", Text, nullable=False),
    Column("seq", Integer, nullable=False),
)
