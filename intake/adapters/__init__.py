"""Pure adapters: each channel's own format → the `ReportReceived` / `ReportUpdated` contracts.

No I/O here (no database, no clock, no network): ids and times come in as arguments, so every adapter
can be property-tested on arbitrary input. Bad input raises `shared.errors.Invalid` naming the field.
"""
