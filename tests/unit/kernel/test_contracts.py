"""Event contracts: the published document is the code's, envelopes round-trip, types are versioned."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from shared.contracts import EVENT_TYPES, Envelope, make_envelope, parse_body
from shared.contracts.common import Channel, Reporter
from shared.contracts.registry import asyncapi_document
from shared.contracts.reports import ReportReceived

ASYNCAPI = Path(__file__).resolve().parents[3] / "deploy" / "contracts" / "asyncapi.json"


def test_published_asyncapi_matches_the_contracts_in_code() -> None:
    """An edit to a contract must be deliberate: regenerate with `make contracts` and review the diff."""
    assert orjson.loads(ASYNCAPI.read_bytes()) == orjson.loads(orjson.dumps(asyncapi_document()))


def test_every_event_type_is_versioned_and_on_a_known_topic() -> None:
    for event_type, (_, topic) in EVENT_TYPES.items():
        assert re.fullmatch(r"cityloop\.[a-z]+\.[a-z_]+\.v\d+", event_type)
        assert topic in {"reports.received.v1", "routing.decided.v1", "cases.v1"}


def test_envelope_round_trips_and_carries_correlation_ids() -> None:
    body = ReportReceived(
        report_id="R1",
        channel=Channel.HOTLINE,
        reporter=Reporter(kind="citizen"),
        text="井盖破损",
        received_at=datetime(2026, 11, 23, 9, tzinfo=UTC),
    )
    envelope = make_envelope(body, source="/cityloop/intake", subject="R1")
    again = Envelope.from_bytes(envelope.to_bytes())
    assert again.reportid == "R1"
    assert again.type == "cityloop.report.received.v1"
    assert parse_body(again) == body


def test_a_body_that_breaks_its_contract_is_refused() -> None:
    envelope = Envelope(source="/x", type="cityloop.report.received.v1", subject="R1", data={"report_id": "R1"})
    with pytest.raises(ValidationError):
        parse_body(envelope)
